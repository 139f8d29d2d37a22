"""Hypothesis strategies shared by the whole test suite (import as ``strategies``).

One module, so every package's tests draw ballots, scalars and points the same
way. Nonces and keys inside the crypto core still come from the OS: the
strategies only choose what a test is about (plaintexts, shapes, orders).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from crypto.ballot import ContestSpec
from crypto.group import ORDER, Point, base_mul

STANDARD_CONTESTS = (
    ContestSpec("A", tuple(f"A{number}" for number in range(1, 9)), 1),
    ContestSpec("B", tuple(f"B{number}" for number in range(1, 11)), 3),
)
"""The project's standard ballot: contest A "1 of 8", contest B "up to 3 of 10"."""

scalars = st.integers(min_value=1, max_value=ORDER - 1)
"""Nonzero scalars below the group order."""

small_messages = st.integers(min_value=0, max_value=1000)
"""Plaintexts of the size a tally produces in a test."""


@st.composite
def points(draw: st.DrawFn) -> Point:
    """A random element of the group (never the identity)."""
    return base_mul(draw(scalars))


@st.composite
def contest_choices(draw: st.DrawFn, contest: ContestSpec) -> list[str]:
    """A legal choice for one contest: 0..votes_allowed distinct selections."""
    count = draw(st.integers(min_value=0, max_value=contest.votes_allowed))
    chosen = draw(st.permutations(contest.selection_ids))[:count]
    return sorted(chosen)


@st.composite
def ballot_choices(
    draw: st.DrawFn, contests: tuple[ContestSpec, ...] = STANDARD_CONTESTS
) -> dict[str, list[str]]:
    """A legal plaintext ballot: contest id → chosen selection ids."""
    return {contest.contest_id: draw(contest_choices(contest)) for contest in contests}


@st.composite
def contest_specs(draw: st.DrawFn) -> ContestSpec:
    """A small contest: 1..5 selections, 1..n votes allowed."""
    size = draw(st.integers(min_value=1, max_value=5))
    allowed = draw(st.integers(min_value=1, max_value=size))
    return ContestSpec("C", tuple(f"S{number}" for number in range(size)), allowed)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=70),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=12).filter(lambda key: key.isprintable()), children, max_size=4
        )
    ),
    max_leaves=20,
)
"""Any value canonical JSON can hold (no floats, no lone surrogates)."""


@dataclass(frozen=True)
class KeyPair:
    """An election key pair for tests (the secret kept out of reprs)."""

    secret: int = field(repr=False)
    public: Point
