"""`evote record`: assemble the published election record from its two sources.

The server's database holds the board, reports and audit log; the trustees'
ceremony exchange holds their keys, signer bindings and confirmations. HQ
publishes both together, so a verifier needs nothing but this one directory.
"""

from __future__ import annotations

from pathlib import Path

import click

from ballot_server.config import ServerConfig
from ballot_server.keys import KeyProblem
from ballot_server.polls import open_station_ids
from ballot_server.record import export_record
from ballot_server.state import ServerState
from tally.errors import RecordError
from tally.provisional import BANNER, PROVISIONAL_FILE, PollsOpen, refuse_unless_provisional
from tally.record import Record, add_trustees


@click.group()
def record() -> None:
    """The election record (layout: docs/record.md)."""


@record.command()
@click.argument("record_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evote-data"),
    show_default=True,
    help="The ballot server's data directory (keys/ and, by default, its SQLite files).",
)
@click.option(
    "--exchange",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The trustees' ceremony exchange directory (public keys and confirmations).",
)
@click.option(
    "--provisional",
    is_flag=True,
    help="Export although stations are still open; the record gets a PROVISIONAL file.",
)
def export(record_dir: Path, data_dir: Path, exchange: Path, provisional: bool) -> None:
    """Write RECORD_DIR: the server's part (manifest, board, reports, audit log)
    and the trustees' public part. Then run `evote tally totals RECORD_DIR`.

    Refused while any station is open, unless --provisional."""
    if not (data_dir / "keys" / "server.key").exists():
        raise click.ClickException(f"{data_dir}/keys: no server keys (run `evote server init`)")
    try:
        state = ServerState(ServerConfig.for_data_dir(data_dir, services=("intake",)))
    except KeyProblem as error:
        raise click.ClickException(f"{data_dir}/keys: {error}") from error
    try:
        mark = refuse_unless_provisional(open_station_ids(state), provisional)
        export_record(state, record_dir)
        add_trustees(record_dir, exchange, Record(record_dir).manifest.trustee_count)
        if mark:
            stations = " ".join(mark["open_stations"])
            (record_dir / PROVISIONAL_FILE).write_text(
                f"{BANNER['en']}: {stations}\n{BANNER['fa']}\n", encoding="utf-8"
            )
    except (RecordError, PollsOpen) as error:
        raise click.ClickException(f"{error.code}: {error}") from error
    finally:
        state.dispose()
    click.echo(f"record written to {record_dir}")
