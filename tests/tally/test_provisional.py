"""No results from an open election unless every output says they are provisional."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from record_tampering import append_audit_event, failure, read_document

from crypto.canonical import canonical_json
from tally.cli import tally
from tally.errors import RecordError
from tally.pipeline import SHARES_FORMAT
from tally.provisional import (
    BANNER,
    PROVISIONAL,
    PollsOpen,
    open_stations,
    refuse_unless_provisional,
)
from tally.record import (
    POLL_TAPES,
    REPORT_HTML,
    RESULTS_CSV,
    RESULTS_JSON,
    SHARES,
    TOTALS,
    Record,
)
from tally.testing import RecordKeys
from tally.verify_audit import AUDIT_LOG


def _reopen(root: Path, keys: RecordKeys, station_id: str) -> None:
    """A signed ``poll.reopened`` event at the end of the log, as HQ reopening a station."""
    append_audit_event(root, keys.server, "poll.reopened", {"station_id": station_id})


def test_a_record_whose_last_poll_event_reopens_a_station_shows_it_open(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    assert open_stations(Record(record_copy)) == []
    _reopen(record_copy, record_keys, "S-002")
    assert open_stations(Record(record_copy)) == ["S-002"]


def test_open_stations_are_refused_without_provisional_and_provisional_without_them() -> None:
    with pytest.raises(PollsOpen, match="S-002"):
        refuse_unless_provisional(["S-002"], provisional=False)
    with pytest.raises(PollsOpen, match="final"):
        refuse_unless_provisional([], provisional=True)
    assert refuse_unless_provisional(["S-002"], provisional=True) == {"open_stations": ["S-002"]}
    assert refuse_unless_provisional([], provisional=False) is None


def test_a_malformed_audit_line_is_named_when_looking_for_open_stations(
    record_copy: Path,
) -> None:
    (record_copy / AUDIT_LOG).write_text('{"event_id":"poll.opened","fields":[]}\n', "utf-8")
    with pytest.raises(RecordError, match=f"{AUDIT_LOG}:1"):
        open_stations(Record(record_copy))


def test_tally_refuses_an_open_station_and_marks_every_output_when_provisional(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    _reopen(record_copy, record_keys, "S-002")
    runner = CliRunner()
    refused = runner.invoke(tally, ["totals", str(record_copy)])
    assert refused.exit_code == 1
    assert "polls_open" in refused.output and "S-002" in refused.output
    done = runner.invoke(tally, ["totals", str(record_copy), "--provisional"])
    assert done.exit_code == 0, done.output
    mark = {"open_stations": ["S-002"]}
    assert read_document(record_copy, TOTALS)[PROVISIONAL] == mark
    shares = record_copy.parent / "shares"
    shares.mkdir()
    for index, envelope in enumerate(read_document(record_copy, SHARES)["envelopes"]):
        (shares / f"{index}.json").write_bytes(canonical_json(envelope))
    files = [str(path) for path in sorted(shares.iterdir())]
    refused = runner.invoke(tally, ["decrypt", str(record_copy), *files])
    assert refused.exit_code == 1 and "polls_open" in refused.output
    tape = (record_copy / POLL_TAPES / "S-001.png").read_bytes()
    done = runner.invoke(tally, ["decrypt", str(record_copy), *files, "--provisional"])
    assert done.exit_code == 0, done.output
    assert read_document(record_copy, RESULTS_JSON)[PROVISIONAL] == mark
    shares_document = read_document(record_copy, SHARES)
    assert (shares_document["format"], shares_document[PROVISIONAL]) == (SHARES_FORMAT, mark)
    csv_text = (record_copy / RESULTS_CSV).read_text("utf-8")
    assert csv_text.startswith(f"# {BANNER['en']}: S-002\n")
    html = (record_copy / REPORT_HTML).read_text("utf-8")
    assert BANNER["fa"] in html and BANNER["en"] in html
    assert "<bdi>S-002</bdi>" in html  # a Latin id kept whole inside Persian text
    assert (record_copy / POLL_TAPES / "S-001.png").read_bytes() != tape
    found = failure(record_copy)
    assert (found.code, found.location) == ("polls_open", AUDIT_LOG)
