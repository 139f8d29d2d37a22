"""Command line: ``evote trustee …``, ``evote tally …`` and ``evote verify``.

Thin wrappers over tally.ceremony, tally.pipeline and tally.verifier so that
the demo (Python API) and an operator (CLI) run exactly the same code. Every
failure is one line naming what and where, with a non-zero exit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from crypto.canonical import canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope
from evote.errors import ModelError
from tally import ceremony
from tally.errors import ComplaintFiled, TallyError, VerificationFailure
from tally.keystore import KDF_STRENGTHS
from tally.pipeline import finish_tally, load_totals, write_totals
from tally.record import Record
from tally.totals import EncryptedTotals
from tally.verifier import Pins, verify_record

PASSPHRASE_ENV: Final = "EVOTE_TRUSTEE_PASSPHRASE"
COMPLAINT_EXIT: Final = 3
Command = TypeVar("Command", bound=Callable[..., Any])


class _Hex32(click.ParamType):
    """64 hex digits (a key or a hash), as HQ publishes them; spaces and case forgiven."""

    name = "HEX"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = "".join(str(value).split()).lower()
        if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
            self.fail(f"{value!r} is not 64 hex digits", param, ctx)
        return text


_HEX32 = _Hex32()


def _one_line_errors(function: Command) -> Command:
    """Turn the package's typed errors into one-line CLI failures."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ComplaintFiled as error:
            click.echo(
                f"complaint filed ({error.code}): {error} → {error.complaint_path}", err=True
            )
            sys.exit(COMPLAINT_EXIT)
        except (TallyError, CryptoError, ModelError) as error:
            raise click.ClickException(f"{error.code}: {error}") from error

    return wrapper  # type: ignore[return-value]


def _passphrase(passphrase_file: Path | None, *, confirm: bool) -> bytes:
    """From a file, else the environment, else a hidden prompt: never from argv."""
    if passphrase_file is not None:
        return passphrase_file.read_bytes().rstrip(b"\r\n")
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV].encode("utf-8")
    text = click.prompt("passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    return str(text).encode("utf-8")


def _workspace(index: int, private: Path | None, exchange: Path) -> ceremony.Workspace:
    return ceremony.Workspace(index, private or Path(f"trustee-{index}"), exchange)


def _common(function: Command) -> Command:
    options = [
        click.option("--index", type=click.IntRange(1, 255), required=True, help="Trustee number."),
        click.option(
            "--private",
            type=click.Path(file_okay=False, path_type=Path),
            help="This trustee's private directory (default ./trustee-INDEX).",
        ),
        click.option(
            "--exchange",
            "--out",
            "exchange",
            type=click.Path(file_okay=False, path_type=Path),
            required=True,
            help="The directory shared between trustees (published files).",
        ),
        click.option(
            "--passphrase-file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help=f"Read the passphrase from this file (else ${PASSPHRASE_ENV}, else a prompt).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group()
def trustee() -> None:
    """Key ceremony steps (generate, share, receive, confirm) and decryption shares."""


@trustee.command()
@_common
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The manifest (signed envelope or plain document).",
)
@click.option("--kdf", type=click.Choice(sorted(KDF_STRENGTHS)), default="moderate")
@_one_line_errors
def generate(
    index: int,
    private: Path | None,
    exchange: Path,
    passphrase_file: Path | None,
    manifest: Path,
    kdf: str,
) -> None:
    """Create this trustee's polynomial and keys; publish commitments and proofs."""
    document = parse_json(manifest.read_bytes())
    if isinstance(document, dict) and set(document) == {"kind", "payload", "signer", "signature"}:
        document = SignedEnvelope.from_json(document).verify("manifest")
    workspace = _workspace(index, private, exchange)
    keys = ceremony.generate(workspace, document, _passphrase(passphrase_file, confirm=True), kdf)
    click.echo(f"trustee {keys.index}: published {len(keys.commitments)} commitments")


@trustee.command()
@_common
@_one_line_errors
def share(index: int, private: Path | None, exchange: Path, passphrase_file: Path | None) -> None:
    """Seal this trustee's share for every other trustee into the exchange."""
    workspace = _workspace(index, private, exchange)
    written = ceremony.share(workspace, _passphrase(passphrase_file, confirm=False))
    click.echo(f"trustee {index}: sealed {len(written)} shares")


@trustee.command()
@_common
@click.option("--kdf", type=click.Choice(sorted(KDF_STRENGTHS)), default="moderate")
@_one_line_errors
def receive(
    index: int, private: Path | None, exchange: Path, passphrase_file: Path | None, kdf: str
) -> None:
    """Open and check every share addressed here; complain (exit 3) about a bad one."""
    workspace = _workspace(index, private, exchange)
    ceremony.receive(workspace, _passphrase(passphrase_file, confirm=False), kdf)
    click.echo(f"trustee {index}: all shares valid, combined share stored encrypted")


@trustee.command()
@_common
@_one_line_errors
def confirm(index: int, private: Path | None, exchange: Path, passphrase_file: Path | None) -> None:
    """Publish a signed confirmation of the joint key and this trustee's public share."""
    workspace = _workspace(index, private, exchange)
    path = ceremony.confirm(workspace, _passphrase(passphrase_file, confirm=False))
    click.echo(f"trustee {index}: confirmed ({path})")


@trustee.command()
@_common
@click.option(
    "--totals",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="tally/encrypted_totals.json from HQ.",
)
@click.option("--shares-out", type=click.Path(dir_okay=False, path_type=Path), required=False)
@_one_line_errors
def decrypt(
    index: int,
    private: Path | None,
    exchange: Path,
    passphrase_file: Path | None,
    totals: Path,
    shares_out: Path | None,
) -> None:
    """Write signed decryption shares with proofs (default EXCHANGE/decryption-INDEX.json)."""
    document = EncryptedTotals.from_json(parse_json(totals.read_bytes()))
    workspace = _workspace(index, private, exchange)
    envelope = ceremony.decrypt(workspace, _passphrase(passphrase_file, confirm=False), document)
    target = shares_out or exchange / f"decryption-{index}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(canonical_json(envelope.to_json()) + b"\n")
    click.echo(f"trustee {index}: {len(envelope.payload['shares'])} decryption shares → {target}")


@click.group()
def tally() -> None:
    """HQ: encrypted totals from a record, then decryption and results."""


_RECORD = click.argument("record", type=click.Path(file_okay=False, exists=True, path_type=Path))
_PROVISIONAL = click.option(
    "--provisional",
    is_flag=True,
    help="Tally although stations are still open; every file written is marked provisional.",
)


_WORKERS = click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    help="Work on a Dask LocalCluster of this many processes (1: in this process).",
)
_SCHEDULER = click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:8786",
    help="Work on this running Dask cluster (RECORD at the same path on its workers).",
)


@tally.command()
@_RECORD
@_PROVISIONAL
@_WORKERS
@_SCHEDULER
@_one_line_errors
def totals(record: Path, provisional: bool, workers: int, scheduler: str | None) -> None:
    """Sum the cast ballots per station and up the hierarchy → tally/encrypted_totals.json."""
    result = write_totals(
        Record(record), provisional=provisional, workers=workers, scheduler=scheduler
    )
    click.echo(f"encrypted totals for {len(result.units)} units written")


@tally.command(name="decrypt")
@_RECORD
@click.argument(
    "shares", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@_PROVISIONAL
@_one_line_errors
def tally_decrypt(record: Path, shares: tuple[Path, ...], provisional: bool) -> None:
    """Combine trustees' SHARES files (any quorum) and write results/*."""
    opened = Record(record)
    load_totals(opened)
    envelopes = [SignedEnvelope.from_json(parse_json(path.read_bytes())) for path in shares]
    results = finish_tally(opened, envelopes, provisional=provisional)
    for item in results["rejected_shares"]:
        click.echo(
            f"rejected: trustee {item['trustee_index']} {item['label']}: {item['reason']}", err=True
        )
    for outcome in results["outcomes"]:
        click.echo(
            f"{outcome['contest_id']}: elected {outcome['elected']} runoff {outcome['runoff']}"
        )


@click.command()
@_RECORD
@_WORKERS
@_SCHEDULER
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr.")
@click.option(
    "--hq-key",
    type=_HEX32,
    help="HQ's public key as published before election day; the record must rest on it.",
)
@click.option(
    "--manifest-hash", type=_HEX32, help="The published manifest hash the record must carry."
)
def verify(
    record: Path,
    workers: int,
    scheduler: str | None,
    progress: bool,
    hq_key: str | None,
    manifest_hash: str | None,
) -> None:
    """Recompute everything from the election RECORD; exit 0 only if every check passes."""
    try:
        verify_record(
            record,
            workers=workers,
            echo=click.echo,
            progress=progress,
            pins=Pins(hq_key, manifest_hash),
            scheduler=scheduler,
        )
    except VerificationFailure as failure:
        click.echo(f"FAIL  {failure}  [{failure.code}]", err=True)
        sys.exit(1)
    click.echo("record verified")
