"""The national roots over the board's shards (docs/record.md, "National roots").

Two passes. First the roots alone: each signed by the server, each larger
than the one before, and each pair of successive roots joined by an RFC 9162
consistency proof — so two roots that are not consistent fail here, before
anything else, whatever the entries say. Then the roots against the shards:
the leaves each root adds are the entries of the stations it names, from the
length the previous root held up to the length and head it signs; a shard
that is shorter, or whose entry at that length hashes differently, has lost a
ballot or been rewritten under a signed root. Rebuilding every root from the
entries and finding the last one covering every entry proves each entry's
inclusion (stronger than checking one inclusion proof per entry, and cheaper).

A root names every station that advanced since the one before: one a minute
over a polling day, at tens of thousands of stations, names tens of millions
of shards in all, as many as the board has entries within a small factor. So
the roots are read from the record again for each pass, one at a time, never
held together; the entry hashes come from the ``EntryStore``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from crypto.canonical import parse_json
from crypto.errors import CryptoError
from crypto.merkle import Frontier, leaf_hash, verify_consistency
from crypto.signing import VerifyKey
from tally.entry_store import EntryStore
from tally.errors import VerificationFailure
from tally.record import CONSISTENCY, ENTRIES, ROOTS, Record
from tally.verify_board import Shards, signed_lines

ROOT_KIND = "board-root"
CHECK = "national roots"


@dataclass(frozen=True)
class Root:
    location: str
    tree_size: int
    root_hash: bytes
    shards: list[dict[str, Any]]


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(CHECK, location, message, code=code)


def _root(location: str, payload: Any) -> Root:
    try:
        size, root_hash, shards = payload["tree_size"], payload["root_hash"], payload["shards"]
        valid = type(size) is int and isinstance(shards, list) and len(root_hash) == 64
        digest = bytes.fromhex(root_hash)
    except (KeyError, TypeError, ValueError) as error:
        raise _fail(location, f"not a root ({error})", "malformed_root") from error
    if not valid:
        raise _fail(location, "not a root", "malformed_root")
    return Root(location, size, digest, shards)


@dataclass(frozen=True)
class SignedRoots:
    """Every signed root, in order, each larger than the last: read from the record
    at each iteration."""

    record: Record
    server_key: VerifyKey

    def __iter__(self) -> Iterator[Root]:
        previous: int | None = None
        for location, payload in signed_lines(self.record, ROOTS, ROOT_KIND, self.server_key):
            root = _root(location, payload)
            if previous is not None and root.tree_size <= previous:
                raise _fail(location, "a root no larger than the one before", "bad_root_order")
            previous = root.tree_size
            yield root


def load_roots(record: Record, server_key: VerifyKey) -> SignedRoots:
    """The signed roots, every one checked (signature, form, order) before any is
    used: a bad root is named before an inconsistency between earlier ones."""
    roots = SignedRoots(record, server_key)
    for _ in roots:
        pass  # each root is checked as it is read
    return roots


def check_consistency(record: Record, roots: Iterable[Root]) -> int:
    """Each root extends the one before it (RFC 9162 §2.1.4.2)."""
    proofs: dict[tuple[int, int], tuple[str, list[bytes]]] = {}
    for line, text in record.lines(CONSISTENCY):
        location = f"{CONSISTENCY}:{line}"
        try:
            item = parse_json(text)
            pair = (item["first"], item["second"])
            proofs[pair] = (location, [bytes.fromhex(node) for node in item["proof"]])
        except (CryptoError, KeyError, TypeError, ValueError) as error:
            raise _fail(
                location, f"not a consistency proof ({error})", "malformed_proof"
            ) from error
    pairs = 0
    for before, after in pairwise(roots):
        pairs += 1
        found = proofs.get((before.tree_size, after.tree_size))
        if found is None:
            raise _fail(
                after.location,
                f"no consistency proof from the root of {before.tree_size}",
                "missing_consistency",
            )
        try:
            verify_consistency(
                before.tree_size, after.tree_size, before.root_hash, after.root_hash, found[1]
            )
        except CryptoError as error:
            raise _fail(
                after.location,
                f"not consistent with the root of {before.tree_size} at {before.location}: {error}",
                "inconsistent_roots",
            ) from error
    return pairs


def check_roots_against_shards(roots: Iterable[Root], store: EntryStore, shards: Shards) -> int:
    """Rebuild every root from the shards; the last must hold every entry."""
    frontier = Frontier()
    published: dict[str, int] = {}
    for root in roots:
        previous_station = ""
        for shard in root.shards:
            if not isinstance(shard, dict) or set(shard) != {"station_id", "length", "head_hash"}:
                raise _fail(root.location, f"bad shard {shard!r}", "malformed_root")
            station, length, head = shard["station_id"], shard["length"], shard["head_hash"]
            if (
                not isinstance(station, str)
                or station <= previous_station
                or type(length) is not int
            ):
                raise _fail(root.location, f"bad shard {shard!r}", "malformed_root")
            start = published.get(station, 0)
            previous_station = station
            if length <= start:
                raise _fail(
                    root.location, f"station {station}: shard does not advance", "malformed_root"
                )
            last_line = shards.line(station, length - 1)
            if last_line is None:
                raise _fail(
                    root.location,
                    f"station {station}: the root signs {length} entries, the shard holds "
                    f"{shards.lengths.get(station, 0)} (a ballot missing from the shard)",
                    "shard_head_mismatch",
                )
            # The leaves this root adds for the station: one station's entries since
            # its previous root (a minute of them), read in one query with the head.
            added = list(store.entry_hashes(shards.first_lines[station] + start, last_line))
            if added[-1] != head:
                raise _fail(
                    root.location,
                    f"station {station}: the shard's entry {length - 1} ({ENTRIES}:{last_line}) "
                    "is not the head this root signed (the shard changed under the root)",
                    "shard_head_mismatch",
                )
            for entry_hash in added:
                frontier.append(leaf_hash(bytes.fromhex(entry_hash)))
            published[station] = length
        if frontier.size != root.tree_size or frontier.root() != root.root_hash:
            raise _fail(
                root.location,
                f"the entries it names give another tree ({frontier.size} leaves)",
                "root_mismatch",
            )
    for station, length in sorted(shards.lengths.items()):
        if published.get(station, 0) != length:
            first = store.at_line(shards.first_lines[station] + published.get(station, 0))
            raise _fail(
                f"{ENTRIES}:{first.line}",
                f"station {station}: entries from position {first.position} are in no signed root",
                "entry_not_in_root",
            )
    return frontier.size
