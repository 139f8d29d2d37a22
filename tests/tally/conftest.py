"""Fixtures for the tally tests: one ceremony and one exported record per session.

The ceremony runs through the same files as ``evote trustee`` (cheap KDF);
the record is written by tally.testing from the crypto core, tallied with
trustees 1 and 3, and each test that tampers with it gets its own copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from insider import ServerInsider

from crypto.group import scalar_from_hex
from evote.manifest import Manifest
from tally.ceremony import CeremonyResult, decrypt_with_trustees, run_ceremony
from tally.keystore import read_secret
from tally.pipeline import finish_tally, write_totals
from tally.record import Record
from tally.testing import RecordKeys, build_record, random_votes, synthetic_manifest

PASSPHRASES = {1: b"first trustee", 2: b"second trustee", 3: b"third trustee"}


@pytest.fixture(scope="session")
def passphrases() -> dict[int, bytes]:
    return dict(PASSPHRASES)


@pytest.fixture(scope="session")
def manifest_document() -> dict[str, Any]:
    return synthetic_manifest(stations=4)


@pytest.fixture(scope="session")
def ceremony(
    tmp_path_factory: pytest.TempPathFactory, manifest_document: dict[str, Any]
) -> CeremonyResult:
    return run_ceremony(
        manifest_document, PASSPHRASES, tmp_path_factory.mktemp("ceremony"), strength="interactive"
    )


@pytest.fixture(scope="session")
def secret_shares(ceremony: CeremonyResult) -> dict[int, int]:
    """Each trustee's combined secret share, for tests that decrypt in memory."""
    return {
        index: scalar_from_hex(
            read_secret(workspace.private / "share.json", PASSPHRASES[index])["secret_share"]
        )
        for index, workspace in ceremony.workspaces.items()
    }


@pytest.fixture(scope="session")
def record_keys() -> RecordKeys:
    """The keys that signed the pristine record, for tests that forge a consistent change."""
    return RecordKeys()


@pytest.fixture(scope="session")
def pristine_record(
    tmp_path_factory: pytest.TempPathFactory,
    ceremony: CeremonyResult,
    manifest_document: dict[str, Any],
    record_keys: RecordKeys,
) -> Path:
    root = tmp_path_factory.mktemp("record") / "record"
    votes = random_votes(Manifest.from_json(manifest_document), 16, challenged_every=6)
    build_record(
        root, ceremony, manifest_document, votes, terminals_per_station=2, keys=record_keys
    )
    record = Record(root)
    totals = write_totals(record)
    envelopes = decrypt_with_trustees(ceremony, {1: PASSPHRASES[1], 3: PASSPHRASES[3]}, totals)
    finish_tally(record, envelopes)
    return root


@pytest.fixture
def record_copy(pristine_record: Path, tmp_path: Path) -> Path:
    target = tmp_path / "record"
    shutil.copytree(pristine_record, target)
    return target


@pytest.fixture
def server_insider(record_keys: RecordKeys, ceremony: CeremonyResult) -> ServerInsider:
    return ServerInsider(record_keys, ceremony, dict(PASSPHRASES))
