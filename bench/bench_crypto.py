"""Crypto core benchmark on the standard ballot, optionally side by side with ElectionGuard.

Prints ONE JSON line. Standard ballot: contest A "1 of 8", contest B "up to 3 of
10" (18 selections, plus one blank indicator per contest). One core (the
process pins itself to one CPU). Measured with time.perf_counter:

* encrypt_ms_per_ballot: encrypt_ballot (ciphertexts, 0/1 proofs, blank
  indicators, limit proofs) for random legal ballots;
* verify_ms_per_ballot: verify_ballot on decoded ballots; and
  verify_with_decode_ms_per_ballot adds EncryptedBallot.from_json (the point
  validation an intake server pays for every ballot it receives);
* add_us_per_ballot: adding one ballot's 20 ciphertexts into running totals;
* decrypt_ms: the 18 selection totals, each up to 10^7, decrypted by trustees
  1 and 3 of 3 (quorum 2): partial decryptions with proofs, every proof checked,
  Lagrange combination, discrete log; dlog_table_ms is the one-off table build.

With ElectionGuard 1.4.0 available (EVOTE_PEER_PYTHON, or /tmp/eg/bin/python, a
Python that has it installed), ../shared/peers/electionguard_bench.py runs in the
same invocation, interleaved with ours in ``--rounds`` alternating rounds (ours
then the peer, then the peer then ours, …) so that a machine that gets busier
or quieter during the run weighs on both alike; each figure is the median of its
rounds. The ratios are honest ones (null when the peer is unavailable):
``verify_speedup`` compares ElectionGuard's verify, which checks group
membership of what it reads, with ours including point decoding
(``verify_with_decode_ms_per_ballot``); ``decrypt_speedup`` includes our one-off
discrete-log table build, ``decrypt_speedup_amortized`` leaves it out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sizes import marked, size

from crypto.ballot import (
    ContestSpec,
    ElectionContext,
    EncryptedBallot,
    encrypt_ballot,
    verify_ballot,
)
from crypto.elgamal import Ciphertext, DiscreteLogTable, encrypt, sum_ciphertexts
from crypto.group import random_scalar
from crypto.hashing import hash_bytes
from crypto.threshold import (
    combine_secret_share,
    decrypt_with_shares,
    generate_trustee,
    joint_public_key,
    partial_decrypt,
    public_share,
)

STANDARD_CONTESTS = (
    ContestSpec("A", tuple(f"A{number}" for number in range(1, 9)), 1),
    ContestSpec("B", tuple(f"B{number}" for number in range(1, 11)), 3),
)
MAX_TOTAL = 10**7
ADD_ROUNDS = 10
"""Additions are quick: the ballots are added this many times over for a stable figure."""
TRUSTEES, QUORUM, DECRYPTING = 3, 2, (1, 3)
PEER_SCRIPT = Path(__file__).resolve().parents[2] / "shared" / "peers" / "electionguard_bench.py"
DEFAULT_PEER_PYTHON = Path("/tmp/eg/bin/python")


def _random_choices(generator: random.Random) -> dict[str, list[str]]:
    return {
        contest.contest_id: generator.sample(
            contest.selection_ids, generator.randint(0, contest.votes_allowed)
        )
        for contest in STANDARD_CONTESTS
    }


def _ballot_ciphertexts(ballot: EncryptedBallot) -> list[Ciphertext]:
    return [
        ciphertext
        for contest in ballot.contests
        for ciphertext in (*(item.ciphertext for item in contest.selections), contest.blank)
    ]


def _per_item_ms(action: Callable[[], object], items: int) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1e3 / items


def measure(ballots: int, seed: int) -> dict[str, object]:
    """Our figures; the ceremony and the plaintexts are set up outside the timings."""
    ceremony_hash = hash_bytes("evote/bench/ceremony", str(seed))
    generated = [generate_trustee(index, QUORUM, ceremony_hash) for index in range(1, 4)]
    published = [public for _, public in generated]
    secret_shares = {
        recipient.index: combine_secret_share(
            {sender.index: sender.evaluate(recipient.index) for sender, _ in generated}
        )
        for recipient, _ in generated
    }
    public_shares = {index: public_share(published, index) for index in secret_shares}
    context = ElectionContext(
        hash_bytes("evote/bench/base", str(seed)), joint_public_key(published)
    )
    generator = random.Random(seed)
    plaintexts = [_random_choices(generator) for _ in range(ballots)]

    encrypted: list[EncryptedBallot] = []
    encrypt_ms = _per_item_ms(
        lambda: encrypted.extend(
            encrypt_ballot(context, "style", STANDARD_CONTESTS, choices)[0]
            for choices in plaintexts
        ),
        ballots,
    )
    documents = [ballot.to_json() for ballot in encrypted]
    verify_ms = _per_item_ms(
        lambda: [verify_ballot(context, STANDARD_CONTESTS, ballot) for ballot in encrypted], ballots
    )
    verify_with_decode_ms = _per_item_ms(
        lambda: [
            verify_ballot(context, STANDARD_CONTESTS, EncryptedBallot.from_json(document))
            for document in documents
        ],
        ballots,
    )
    positions = [_ballot_ciphertexts(ballot) for ballot in encrypted]
    totals = [sum_ciphertexts([]) for _ in positions[0]]

    def add_all() -> None:
        for _ in range(ADD_ROUNDS):
            for ballot in positions:
                for index, ciphertext in enumerate(ballot):
                    totals[index] = totals[index] + ciphertext

    add_ms = _per_item_ms(add_all, ballots * ADD_ROUNDS)

    counts = [MAX_TOTAL] + [generator.randint(0, MAX_TOTAL) for _ in range(17)]
    large_totals = [encrypt(count, context.public_key, random_scalar()) for count in counts]
    table_start = time.perf_counter()
    table = DiscreteLogTable(MAX_TOTAL)
    dlog_table_ms = (time.perf_counter() - table_start) * 1e3

    labels = [f"total/{index}" for index in range(len(large_totals))]
    start = time.perf_counter()
    shares = [
        [
            partial_decrypt(index, secret_shares[index], total, context.base_hash, label)
            for index in DECRYPTING
        ]
        for total, label in zip(large_totals, labels, strict=True)
    ]
    shares_done = time.perf_counter()
    elements = [
        decrypt_with_shares(total, total_shares, public_shares, QUORUM, context.base_hash, label)
        for total, total_shares, label in zip(large_totals, shares, labels, strict=True)
    ]
    checks_done = time.perf_counter()
    decrypted = [table.log(element) for element in elements]
    end = time.perf_counter()
    if decrypted != counts:
        raise AssertionError("decrypted totals differ from the plaintext totals")

    return {
        "ballots": ballots,
        "encrypt_ms_per_ballot": round(encrypt_ms, 3),
        "verify_ms_per_ballot": round(verify_ms, 3),
        "verify_with_decode_ms_per_ballot": round(verify_with_decode_ms, 3),
        "add_us_per_ballot": round(add_ms * 1e3, 2),
        "decrypt_ms": round((end - start) * 1e3, 2),
        "decrypt_shares_ms": round((shares_done - start) * 1e3, 2),
        "decrypt_checks_ms": round((checks_done - shares_done) * 1e3, 2),
        "decrypt_dlog_ms": round((end - checks_done) * 1e3, 2),
        "decrypt_totals": len(counts),
        "max_total": MAX_TOTAL,
        "dlog_table_ms": round(dlog_table_ms, 1),
        "dlog_baby_steps": table.baby_steps,
        "trustees": TRUSTEES,
        "quorum": QUORUM,
    }


def _peer_python() -> Path | None:
    configured = os.environ.get("EVOTE_PEER_PYTHON")
    candidate = Path(configured) if configured else DEFAULT_PEER_PYTHON
    return candidate if candidate.exists() and PEER_SCRIPT.exists() else None


def run_peer(ballots: int) -> dict[str, object] | None:
    """ElectionGuard's figures from its last JSON line, or None when it cannot run."""
    python = _peer_python()
    if python is None:
        return None
    result = subprocess.run(
        [str(python), str(PEER_SCRIPT), "--ballots", str(ballots)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        print(f"peer failed: {result.stderr[-1000:]}", file=sys.stderr)
        return None
    figures: dict[str, object] = json.loads(lines[-1])
    return figures


def _number(value: object) -> float:
    if not isinstance(value, int | float):
        raise ValueError(f"peer figure {value!r} is not a number")
    return float(value)


def _ratio(peer: float | None, ours: object) -> float | None:
    if peer is None or not isinstance(ours, float) or ours <= 0:
        return None
    return round(peer / ours, 1)


def compare(ours: dict[str, object], peer: dict[str, object] | None) -> dict[str, object]:
    """Peer figures per ballot (tally per ballot) and speed-ups = peer time / our time."""
    figures: dict[str, float | None] = {
        "peer_encrypt_ms_per_ballot": None,
        "peer_verify_ms_per_ballot": None,
        "peer_add_us_per_ballot": None,
        "peer_decrypt_ms": None,
    }
    if peer is not None:
        peer_ballots = _number(peer["ballots"])
        figures = {
            "peer_encrypt_ms_per_ballot": _number(peer["encrypt_ms_per_ballot"]),
            "peer_verify_ms_per_ballot": _number(peer["verify_ms_per_ballot"]),
            "peer_add_us_per_ballot": _number(peer["tally_ms"]) * 1e3 / peer_ballots,
            "peer_decrypt_ms": _number(peer["decrypt_ms"]),
        }
    return {
        "peer": None if peer is None else f"electionguard {peer.get('version')}",
        **{key: None if value is None else round(value, 2) for key, value in figures.items()},
        "encrypt_speedup": _ratio(
            figures["peer_encrypt_ms_per_ballot"], ours["encrypt_ms_per_ballot"]
        ),
        "verify_speedup": _ratio(
            figures["peer_verify_ms_per_ballot"], ours["verify_with_decode_ms_per_ballot"]
        ),
        "add_speedup": _ratio(figures["peer_add_us_per_ballot"], ours["add_us_per_ballot"]),
        "decrypt_speedup": _ratio(
            figures["peer_decrypt_ms"], _number(ours["decrypt_ms"]) + _number(ours["dlog_table_ms"])
        ),
        "decrypt_speedup_amortized": _ratio(figures["peer_decrypt_ms"], ours["decrypt_ms"]),
    }


def _medians(rounds: list[dict[str, object]]) -> dict[str, object]:
    """Each numeric figure's median over the rounds; other fields from the first."""
    merged = dict(rounds[0])
    for key, value in rounds[0].items():
        if isinstance(value, float):
            merged[key] = statistics.median(_number(item[key]) for item in rounds)
        elif isinstance(value, int) and not isinstance(value, bool):
            merged[key] = statistics.median_low(int(_number(item[key])) for item in rounds)
    return merged


def interleaved(
    rounds: int, ballots: int, seed: int, peer_ballots: int, with_peer: bool
) -> tuple[dict[str, object], dict[str, object] | None]:
    """Ours (``ballots`` split over the rounds) and the peer in alternating rounds;
    the medians of each."""
    ours_rounds: list[dict[str, object]] = []
    peer_rounds: list[dict[str, object] | None] = []
    per_round = max(1, -(-ballots // rounds))
    for number in range(rounds):
        steps = [
            lambda n=number: ours_rounds.append(measure(per_round, seed + n)),
            lambda: peer_rounds.append(run_peer(peer_ballots) if with_peer else None),
        ]
        for step in steps if number % 2 == 0 else reversed(steps):
            step()
    peers = [item for item in peer_rounds if item is not None]
    peer = _medians(peers) if with_peer and len(peers) == rounds else None
    return _medians(ours_rounds), peer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ballots", type=int, default=size(300, 4))
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--peer-ballots", type=int, default=size(20, 2))
    parser.add_argument("--no-peer", action="store_true", help="skip ElectionGuard")
    parser.add_argument("--rounds", type=int, default=size(3, 1), help="alternating rounds of each")
    arguments = parser.parse_args(argv)
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        # The highest CPU: other benchmarks (and the peer script) pin to the lowest.
        # The peer inherits this one-CPU affinity, so both run on the same core.
        pinned = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})
    ours, peer = interleaved(
        arguments.rounds,
        arguments.ballots,
        arguments.seed,
        arguments.peer_ballots,
        not arguments.no_peer,
    )
    line = {
        "rounds": arguments.rounds,
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "bench": "crypto",
        **ours,
        **compare(ours, peer),
        "python": platform.python_version(),
        "pinned_cpu": pinned,
    }
    print(json.dumps(marked(line)))


if __name__ == "__main__":
    main()
