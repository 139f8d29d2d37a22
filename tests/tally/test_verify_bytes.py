"""The verifier's shortcuts compute exactly what the crypto core defines.

It encodes each board entry once and cuts the signed request and the ballot
out of those bytes; these tests pin that to ``signing_message``,
``EncryptedBallot.canonical_bytes`` and ``tracking_code`` on a real record.
"""

from __future__ import annotations

from pathlib import Path

from crypto.ballot import TRACKING_DOMAIN, EncryptedBallot, tracking_code
from crypto.canonical import canonical_json, canonical_member, parse_json
from crypto.hashing import hash_bytes
from crypto.signing import SIGNATURE_DOMAIN, signing_message
from evote.manifest import Manifest
from tally.record import ENTRIES, Record
from tally.totals import StationAccumulator


def test_bytes_cut_from_an_entry_are_the_signed_and_tracked_bytes(pristine_record: Path) -> None:
    for _, text in Record(pristine_record).lines(ENTRIES):
        payload = parse_json(text)["payload"]
        request = payload["payload"]
        request_bytes = canonical_member(canonical_json(payload), payload, "payload")
        assert SIGNATURE_DOMAIN + b"terminal-request\x00" + request_bytes == signing_message(
            payload["kind"], request
        )
        body = request["body"]
        ballot_bytes = canonical_member(
            canonical_member(request_bytes, request, "body"), body, "ballot"
        )
        ballot = EncryptedBallot.from_json(body["ballot"])
        assert ballot_bytes == ballot.canonical_bytes()
        previous = bytes.fromhex(body["previous_tracking_code"])
        assert hash_bytes(TRACKING_DOMAIN, previous, ballot_bytes) == tracking_code(
            ballot, previous
        )


def test_summing_decoded_or_raw_ballots_gives_the_same_totals(pristine_record: Path) -> None:
    record = Record(pristine_record)
    raw, decoded = StationAccumulator(), StationAccumulator()
    for _, text in record.lines(ENTRIES):
        entry = parse_json(text)
        if entry["kind"] == "ballot":
            body = entry["payload"]["payload"]["body"]
            raw.add_ballot(body["station_id"], body["ballot"])
            decoded.add_encrypted(body["station_id"], EncryptedBallot.from_json(body["ballot"]))
    manifest: Manifest = record.manifest
    assert [unit.to_json() for unit in raw.station_units(manifest)] == [
        unit.to_json() for unit in decoded.station_units(manifest)
    ]
