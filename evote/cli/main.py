"""The `evote` command: one entry point, a subcommand per role.

Subcommands live in the packages that own them and are imported only when
invoked, so `evote verify` on an auditor's laptop never imports the server,
and a broken terminal install cannot stop HQ from tallying.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

COMMANDS: dict[str, tuple[str, str, str]] = {
    "server": ("ballot_server.cli", "server", "HQ: run the ballot server and inquiry service."),
    "terminal": ("terminal.cli", "terminal", "Polling station: run a booth terminal."),
    "desk": ("terminal.cli", "desk", "Polling station: run a check-in desk (QR passes)."),
    "firmware-sim": (
        "firmware_sim.cli",
        "firmware_sim",
        "Simulated card reader, QR scanner and receipt printer on ptys.",
    ),
    "trustee": ("tally.cli", "trustee", "Trustee: key ceremony and decryption shares."),
    "tally": ("tally.cli", "tally", "HQ: homomorphic tally, decryption and results."),
    "record": ("evote.cli.record_cli", "record", "HQ: export the election record."),
    "verify": ("tally.cli", "verify", "Anyone: verify a published election record."),
    "check-slip": (
        "evote.cli.check_slip_cli",
        "check_slip_command",
        "Voter: check a challenge slip against the bulletin board.",
    ),
    "demo": ("evote.cli.demo_cli", "demo", "Run a complete simulated election on this machine."),
    "bench": ("evote.cli.bench_cli", "bench", "Run the benchmarks in bench/ (one JSON line each)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="evote")
def main() -> None:
    """evote: polling-station elections with encrypted, verifiable ballots.

    Voters vote at terminals that read national ID cards; ballots are encrypted
    (exponential ElGamal with zero-knowledge proofs) and posted to a hash-chained
    bulletin board; a quorum of trustees decrypts only the totals; anyone can
    verify the published record with `evote verify RECORD`.

    Start with `evote demo` for a complete simulated election.
    """
