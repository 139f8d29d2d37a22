"""``evote server …``: set up an election and run the ballot server (HQ's commands).

Errors end with exit status 1 and one line saying what and where.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from ballot_server.config import SERVICES, ServerConfig, parse_services
from ballot_server.errors import ServerError, SetupError
from ballot_server.keys import KeyProblem, KeySet, load_keys, save_keys
from ballot_server.state import ServerState
from crypto.errors import CryptoError
from crypto.signing import VerifyKey
from crypto.threshold import TrusteePublicKeys
from evote.certificates import read_trustee_signers
from evote.errors import ModelError

DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evote-data"),
    show_default=True,
    help="Holds keys/ and the SQLite files (EVOTE_DATABASE_URL etc. override the files).",
)


def _fail(message: str, problems: list[str] | None = None) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    for problem in problems or []:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


def _state(data_dir: Path) -> ServerState:
    """HQ's view for setup and reports: the intake (and, as always, the registry)."""
    if not (data_dir / "keys" / "server.key").exists():
        _fail(f"{data_dir}/keys: no keys; run `evote server init` first")
    try:
        return ServerState(ServerConfig.for_data_dir(data_dir, services=("intake",)))
    except KeyProblem as error:
        _fail(f"{data_dir}/keys: {error}")


def _trustee_signers(directory: Path, trustees: list[TrusteePublicKeys]) -> dict[int, str]:
    """The signing keys the trustees bound in the ceremony, for HQ to certify."""
    try:
        return read_trustee_signers(directory, (trustee.index for trustee in trustees))
    except (OSError, ValueError, CryptoError) as error:
        _fail(f"trustee signer bindings: {error}")


def _load_trustees(directory: Path) -> list[TrusteePublicKeys]:
    trustees = []
    # The ceremony's exchange directory also holds signer bindings and
    # confirmations; the public keys are exactly trustee-<index>.json.
    for path in sorted(directory.glob("trustee-*.json")):
        if not re.fullmatch(r"trustee-[0-9]+\.json", path.name):
            continue
        try:
            trustees.append(TrusteePublicKeys.from_json(json.loads(path.read_text("utf-8"))))
        except (ValueError, CryptoError) as error:
            _fail(f"{path}: {error}")
    return trustees


@click.group(name="server")
def server() -> None:
    """Ballot server: election setup, terminals, roll, run, turnout, record export."""


@server.command()
@DATA_DIR
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--services",
    help=f"What this process serves, some of {','.join(SERVICES)} (default: EVOTE_SERVICES, "
    "else both); the inquiry needs only the registry database.",
)
def run(data_dir: Path, host: str, port: int, services: str | None) -> None:
    """Run the development server (use gunicorn in production, docs/server.md)."""
    from ballot_server.app import create_app

    if not (data_dir / "keys" / "hq.pub").exists():
        _fail(f"{data_dir}/keys: no keys; run `evote server init` first")
    try:
        chosen = {} if services is None else {"services": parse_services(services)}
        app = create_app(ServerConfig.for_data_dir(data_dir, **chosen))
    except KeyProblem as error:
        _fail(f"{data_dir}/keys: {error}")
    except ValueError as error:
        _fail(str(error))
    app.run(host=host, port=port, threaded=True)


@server.command()
@DATA_DIR
@click.option("--manifest", "manifest_path", required=True, type=click.Path(path_type=Path))
@click.option("--trustees", "trustees_dir", required=True, type=click.Path(path_type=Path))
@click.option("--roll", "roll_path", type=click.Path(path_type=Path))
@click.option("--keys-from", type=click.Path(path_type=Path), help="Existing key dir to use.")
def init(
    data_dir: Path,
    manifest_path: Path,
    trustees_dir: Path,
    roll_path: Path | None,
    keys_from: Path | None,
) -> None:
    """Create the election: signed manifest (or a plain one signed with keys/hq.key),
    trustees' public keys (a dir of trustee-*.json) and optionally the roll CSV."""
    from ballot_server.setup import create_election, sign_manifest

    keys = load_keys(keys_from) if keys_from else KeySet.generate()
    if (data_dir / "keys" / "hq.pub").exists():  # any key dir: never overwritten
        keys = load_keys(data_dir / "keys")
    try:
        document: Any = json.loads(manifest_path.read_text("utf-8"))
        roll = roll_path.read_text("utf-8") if roll_path else None
    except (OSError, ValueError) as error:
        _fail(f"{error}")
    if not isinstance(document, dict):
        _fail(f"{manifest_path}: expected a JSON object")
    if "signature" not in document:
        if keys.hq is None:
            _fail(f"{manifest_path}: not signed and no HQ key to sign it")
        try:
            document = sign_manifest(keys.hq, document)
        except ModelError as error:
            _fail(f"{manifest_path}: {error}")
    trustees = _load_trustees(trustees_dir)
    # Keys are written only once the inputs have been read and checked.
    save_keys(data_dir / "keys", keys)
    try:
        election_id = create_election(
            _state(data_dir), document, trustees, roll, _trustee_signers(trustees_dir, trustees)
        )
    except SetupError as error:
        _fail(str(error), error.problems)
    click.echo(f"election {election_id} created in {data_dir}")


@server.command("import-roll")
@DATA_DIR
@click.argument("roll_path", type=click.Path(exists=True, path_type=Path))
def import_roll_command(data_dir: Path, roll_path: Path) -> None:
    """Import a roll CSV (all rows or none; bad rows reported by line)."""
    from ballot_server.setup import import_roll

    try:
        count = import_roll(_state(data_dir), roll_path.read_text("utf-8"))
    except (SetupError, ServerError) as error:
        _fail(f"{roll_path}: {error}", getattr(error, "problems", None))
    click.echo(f"{count} voters imported")


@server.command("register-terminal")
@DATA_DIR
@click.argument("terminal_id")
@click.argument("station_id")
@click.argument("public_key_hex")
def register_terminal_command(
    data_dir: Path, terminal_id: str, station_id: str, public_key_hex: str
) -> None:
    """Bind a terminal's Ed25519 public key (hex) to a station."""
    from ballot_server.setup import register_terminal

    try:
        key = VerifyKey.from_hex(public_key_hex)
        register_terminal(_state(data_dir), terminal_id, station_id, key)
    except (SetupError, ServerError, CryptoError) as error:
        _fail(str(error))
    click.echo(f"terminal {terminal_id} registered to {station_id}")


@server.command("revoke-terminal")
@DATA_DIR
@click.argument("terminal_id")
@click.option("--reason", required=True, help="Why (audited and exported with the record).")
@click.option(
    "--abandon-backlog",
    is_flag=True,
    help="Revoke although it declared ballots not yet delivered (its journal is lost).",
)
def revoke_terminal_command(
    data_dir: Path, terminal_id: str, reason: str, abandon_backlog: bool
) -> None:
    """Revoke a terminal: every request it signs is refused, by every server worker
    within seconds (docs/server.md, "Revoking a terminal")."""
    from ballot_server.setup import revoke_terminal

    try:
        revoked_at = revoke_terminal(
            _state(data_dir), terminal_id, reason, abandon_backlog=abandon_backlog
        )
    except SetupError as error:
        _fail(str(error))
    click.echo(f"terminal {terminal_id} revoked at {revoked_at}")


@server.command("host-keys")
@DATA_DIR
@click.option(
    "--services", required=True, help=f"What the host runs: some of {','.join(SERVICES)}."
)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def host_keys(data_dir: Path, services: str, out_dir: Path) -> None:
    """Write the key dir a host running SERVICES needs: every public key and only its
    services' private keys (never HQ's or the registry's)."""
    if out_dir.exists() and any(out_dir.iterdir()):
        _fail(f"{out_dir}: not empty; a host's key dir is written whole, into a new directory")
    try:
        chosen = parse_services(services)
        keys = load_keys(data_dir / "keys")
    except (ValueError, OSError, CryptoError, KeyProblem) as error:
        _fail(str(error))
    save_keys(out_dir, keys.for_services(chosen))
    click.echo(f"keys for {','.join(chosen)} written to {out_dir}")


@server.command("sync-inquiry")
@DATA_DIR
def sync_inquiry_command(data_dir: Path) -> None:
    """Copy the signed manifest and terminal keys to the inquiry's tables (registry
    database) where they are missing: after an interrupted setup or a rebuilt registry."""
    from ballot_server.setup import sync_inquiry

    try:
        written = sync_inquiry(_state(data_dir))
    except SetupError as error:
        _fail(str(error))
    click.echo(f"{written} copies written to the registry database")


@server.command()
@DATA_DIR
@click.argument("station_id")
def reopen(data_dir: Path, station_id: str) -> None:
    """HQ only: reopen a station's closed polls, as paused."""
    from ballot_server.polls import hq_reopen

    try:
        click.echo(f"{station_id}: {hq_reopen(_state(data_dir), station_id)}")
    except ServerError as error:
        _fail(str(error))


@server.command()
@DATA_DIR
@click.option("--json", "as_json", is_flag=True, help="The turnout figures as JSON instead.")
def turnout(data_dir: Path, as_json: bool) -> None:
    """Print live turnout: per station poll state, check-ins, ballots cast and waiting,
    terminals last seen (the HQ page at / shows the same)."""
    if as_json:
        from ballot_server.turnout import turnout as compute

        click.echo(json.dumps(compute(_state(data_dir)), ensure_ascii=False, indent=1))
        return
    from ballot_server.hq_overview import overview, turnout_table

    for line in turnout_table(overview(_state(data_dir))):
        click.echo(line)


@server.command()
@DATA_DIR
@click.argument("record_dir", type=click.Path(file_okay=False, path_type=Path))
def export(data_dir: Path, record_dir: Path) -> None:
    """Write the server's part of the election record (docs/record.md)."""
    from ballot_server.record import export_record

    click.echo(f"record written to {export_record(_state(data_dir), record_dir)}")


@server.command("roll-snapshot")
@DATA_DIR
@click.argument("station_id")
@click.argument("out_path", type=click.Path(dir_okay=False, path_type=Path))
def roll_snapshot_command(data_dir: Path, station_id: str, out_path: Path) -> None:
    """Write STATION_ID's signed roll snapshot for offline check-in (docs/offline.md);
    needs keys/registry.key and the station's terminals registered."""
    from ballot_server.snapshot import station_snapshot

    try:
        data, voters = station_snapshot(_state(data_dir), station_id)
    except (SetupError, ServerError, KeyProblem) as error:
        _fail(str(error))
    out_path.write_bytes(data)
    click.echo(f"roll snapshot for {station_id}: {voters} voters, {len(data)} bytes in {out_path}")


@server.command()
@DATA_DIR
def reconcile(data_dir: Path) -> None:
    """Decide every provisional ballot on the board (counted or excluded, docs/offline.md),
    check the counted voters in and store the registry-signed resolution; needs
    keys/registry.key. Run after the stations have synced, and again after any late sync."""
    from sqlalchemy.exc import IntegrityError

    from ballot_server.reconciliation import reconcile as run

    try:
        envelope = run(_state(data_dir))
    except KeyProblem as error:
        _fail(str(error))
    except IntegrityError:
        _fail("a voter checked in online while reconciling; run it again")
    payload = envelope.payload
    assert isinstance(payload, dict)
    decisions = payload["decisions"]
    counted = sum(1 for item in decisions if item["decision"] == "counted")
    click.echo(f"provisional: {counted} counted, {len(decisions) - counted} excluded")
