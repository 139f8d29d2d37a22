"""A booth dies for good with a voter's check-in; HQ revokes it; the voter votes elsewhere.

Real processes (``fault_station.py``): gunicorn, two ``evote terminal run``
booths of one station with simulated card readers and printers, a trustees'
ceremony. Booth 0 checks a voter in and is SIGKILLed on the ballot screen, never
to start again (its journal, the only other copy of the release key, is gone
with it). At booth 1 the voter is refused ``already_voted`` until HQ revokes
booth 0 (the server refuses the void, ``holder_not_revoked``); then booth 1 recovers the
check-in with the voter's card, and the voter votes, once. The polls close
without an override, the closing report reconciles, and the exported, tallied
record passes ``evote verify`` with the void for the revoked booth in it.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_station import BIN, STATION_ID, FaultStation, passphrases  # noqa: E402

from ballot_server.app import create_app  # noqa: E402
from ballot_server.config import ServerConfig  # noqa: E402
from ballot_server.record import export_record  # noqa: E402
from ballot_server.setup import revoke_terminal  # noqa: E402
from evote import protocol  # noqa: E402
from evote.cli.demo_plan import random_choices  # noqa: E402
from tally.ceremony import decrypt_with_trustees  # noqa: E402
from tally.pipeline import finish_tally, write_totals  # noqa: E402
from tally.record import Record, add_trustees  # noqa: E402


def test_a_voter_whose_booth_died_votes_at_another_once_hq_revoked_it(tmp_path: Path) -> None:
    station = FaultStation(tmp_path, terminals=2, roll_size=60)
    try:
        dead, other = station.terminals
        dead_kiosk, kiosk = dead.start(), other.start()
        station.official_action(other, kiosk, "open")
        voter = station.eligible_voters()[0]
        station.insert_card(dead, voter)
        dead_kiosk.wait_for("pin")
        dead_kiosk.enter_pin(voter.pin)
        dead_kiosk.wait_for("ballot", timeout_s=30)
        dead.kill()  # the booth dies with the session: nothing gives the check-in up
        shutil.rmtree(dead.data_dir)  # and its storage with it
        station.remove_card(dead)

        def try_at_the_other_booth() -> dict[str, object]:
            kiosk.wait_for("idle")
            station.insert_card(other, voter)
            kiosk.wait_for("pin")
            kiosk.enter_pin(voter.pin)
            view: dict[str, object] = kiosk.wait_for("ballot", "refused", timeout_s=30)
            return view

        refused = try_at_the_other_booth()  # not until HQ revoked the dead booth
        assert refused["notice"]["code"] == "already_voted"  # type: ignore[index]
        station.remove_card(other)

        hq = create_app(ServerConfig.for_data_dir(station.server_dir)).extensions["evote"]
        revoke_terminal(hq, dead.terminal_id, "booth dead: power supply burnt")

        assert try_at_the_other_booth()["state"] == "ballot"
        style = station.manifest.station(STATION_ID).ballot_style_id
        code = kiosk.vote(random_choices(station.manifest, style, random.Random(11)))
        station.remove_card(other)
        again = try_at_the_other_booth()
        assert again["notice"]["code"] == "already_voted"  # type: ignore[index]
        station.remove_card(other)

        station.official_action(other, kiosk, "close")
        kiosk.wait_for("idle")
        assert kiosk.state()["polls_state"] == "closed"
        other.stop()
        station.server.stop()
        record = tmp_path / "record"
        export_record(hq, record)
        add_trustees(record, station.ceremony.exchange, station.manifest.trustee_count)
        totals = write_totals(Record(record))
        decrypting = {index: p for index, p in passphrases().items() if index in (1, 2)}
        finish_tally(Record(record), decrypt_with_trustees(station.ceremony, decrypting, totals))

        board = [json.loads(line) for line in (record / "board" / "entries.jsonl").open()]
        assert [entry["payload"]["payload"]["body"]["tracking_code"] for entry in board] == [code]
        voids = [json.loads(line)["payload"] for line in (record / "board" / "voids.jsonl").open()]
        assert [(v["terminal_id"], v["reason"], protocol.void_holder(v)) for v in voids] == [
            (other.terminal_id, protocol.REVOKED_HOLDER, dead.terminal_id)
        ]
        report = json.loads((record / "reports" / f"{STATION_ID}-closing.json").read_text())
        counts = report["payload"]
        assert (counts["check_ins"], counts["authorizations_issued"]) == (1, 2)
        assert (counts["authorizations_released"], counts["ballots_cast"]) == (1, 1)
        assert counts["authorizations_unused"] == 0 and counts["reconciled"] is True
        result = subprocess.run(
            [str(BIN / "evote"), "verify", str(record), "--no-progress"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        station.close()
