"""Roll snapshot benchmark: a county of 500,000 voters, offline.

``build_s``: the registry's side after its query (tags, sort, digest, signature,
the tag key sealed to 8 terminals); ``size_bytes``: the file; ``load_s``: the
terminal's side, read from disk, signature and table digest checked, tag key
unsealed, the table indexed (median of 3); ``check_in_ms``: one offline
check-in — card certificate checked against the registry key, the card's
signature over a fresh challenge, revocation and roll lookups (median of 2000,
cards held in memory: the card's own time over the serial line is
``bench_devices``' ``card_session_ms``). Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from sizes import marked, size

from crypto.signing import SignedEnvelope, SigningKey
from evote.national_code import complete_national_code
from evote.roll_snapshot import SnapshotOpener, build_snapshot
from firmware_sim.cards import RollRow, holder_file, issue_card
from terminal.devices.holder import parse_holder
from terminal.offline_roll import check_card_offline, load_station_snapshot

VOTERS = size(500_000, 2_000)
TERMINALS = 8
CHECK_INS = size(2000, 100)


def voters(rng: random.Random) -> list[tuple[str, str]]:
    return [
        (
            complete_national_code(f"{index + 10_000_000:09d}"),
            f"13{rng.randint(0, 65):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 29):02d}",
        )
        for index in range(VOTERS)
    ]


def main() -> None:
    rng = random.Random(1404)
    roll = voters(rng)
    registry = SigningKey.generate()
    terminals = {f"T{index}": SigningKey.generate() for index in range(TERMINALS)}
    started = time.perf_counter()
    data = build_snapshot(
        registry,
        election_id="E-1404",
        station_id="S-101",
        ballot_style_id="tehran-1",
        as_of=int(time.time()),
        voters=roll,
        revoked_card_ids=[f"card-lost-{index}" for index in range(5000)],
        terminal_keys={name: key.public_key for name, key in terminals.items()},
    )
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "S-101.snapshot"
        path.write_bytes(data)
        loads = []
        opener = SnapshotOpener(registry.public_key, "E-1404", "S-101", "T3", terminals["T3"])
        for _ in range(3):
            started = time.perf_counter()
            snapshot = load_station_snapshot(path, opener)
            loads.append(time.perf_counter() - started)
    holders = []
    for code, birth in rng.sample(roll, 20):
        image = issue_card(
            registry,
            RollRow(code, "رأی‌دهنده", "Voter", birth, "voter", None, "1234"),
            f"card-{code}",
        )
        card_key = SigningKey(bytes.fromhex(image["private_key_seed"]))
        holder = parse_holder(
            holder_file(image["holder"], SignedEnvelope.from_json(image["certificate"]))
        )
        holders.append((holder, card_key))
    timings = []
    for index in range(CHECK_INS):
        holder, card_key = holders[index % len(holders)]
        challenge = os.urandom(32)
        signature = card_key.sign_bytes(challenge)
        started = time.perf_counter()
        check_card_offline(snapshot, registry.public_key, holder, challenge, signature)
        timings.append(time.perf_counter() - started)
    print(
        json.dumps(
            marked(
                {
                    "bench": "roll_snapshot",
                    "voters": VOTERS,
                    "size_bytes": len(data),
                    "build_s": round(build_s, 3),
                    "load_s": round(statistics.median(loads), 3),
                    "check_in_ms": round(statistics.median(timings) * 1000, 4),
                    "check_in_p99_ms": round(sorted(timings)[int(CHECK_INS * 0.99)] * 1000, 4),
                    "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                }
            )
        )
    )


if __name__ == "__main__":
    main()
