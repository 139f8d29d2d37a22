"""What the verifier tests share: run verify as the CLI does, and edit a record as an attacker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crypto.canonical import canonical_json
from crypto.signing import SigningKey
from tally.cli import verify
from tally.errors import VerificationFailure
from tally.verifier import verify_record
from tally.verify_audit import AUDIT_LOG, audit_entry_hash


def failure(root: Path, workers: int = 1) -> VerificationFailure:
    with pytest.raises(VerificationFailure) as caught:
        verify_record(root, workers=workers)
    return caught.value


def cli_verify(root: Path, *options: str) -> Result:
    """``evote verify`` as a person runs it (catch_exceptions off: a traceback fails the test)."""
    return CliRunner().invoke(
        verify, [str(root), "--no-progress", *options], catch_exceptions=False
    )


def one_fail_line(result: Result) -> str:
    """The CLI's single FAIL line; the run must have failed with exactly that."""
    assert result.exit_code == 1, result.output
    fails = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1, result.output
    assert "Traceback" not in result.output
    return fails[0]


def read_lines(root: Path, relative: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / relative).read_text("utf-8").splitlines()]


def write_lines(root: Path, relative: str, items: list[Any]) -> None:
    text = "".join(canonical_json(item).decode("utf-8") + "\n" for item in items)
    (root / relative).write_text(text, encoding="utf-8")


def read_document(root: Path, relative: str) -> Any:
    return json.loads((root / relative).read_text("utf-8"))


def write_document(root: Path, relative: str, value: Any) -> None:
    (root / relative).write_bytes(canonical_json(value))


def append_audit_event(
    root: Path, server: SigningKey, event_id: str, fields: dict[str, Any], at: int | None = None
) -> int:
    """Append an event signed with the server key, as its holder could (a second after
    the last one unless ``at``); returns its line."""
    entries = read_lines(root, AUDIT_LOG)
    last = entries[-1]
    position, at = last["position"] + 1, last["at"] + 1 if at is None else at
    previous = bytes.fromhex(last["entry_hash"])
    digest = audit_entry_hash(previous, position, event_id, at, fields)
    entries.append(
        {
            "position": position,
            "event_id": event_id,
            "at": at,
            "fields": fields,
            "previous_hash": previous.hex(),
            "entry_hash": digest.hex(),
            "signature": server.sign_bytes(digest).hex(),
        }
    )
    write_lines(root, AUDIT_LOG, entries)
    return position + 1
