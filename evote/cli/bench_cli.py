"""`evote bench`: run the benchmarks in bench/, each printing one JSON line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

BENCH_DIRECTORY = Path(__file__).resolve().parents[2] / "bench"
NAMES = (
    "crypto",
    "intake",
    "devices",
    "terminal",
    "tally",
    "roll_snapshot",
    "national",
    "proofs",
)


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(NAMES))
def bench(names: tuple[str, ...]) -> None:
    """Run NAMES (default: all) and print their JSON lines.

    Each benchmark runs in its own process so that one's caches and threads
    cannot flatter another's figures.
    """
    if not BENCH_DIRECTORY.is_dir():
        raise click.ClickException(f"no bench/ directory next to the package ({BENCH_DIRECTORY})")
    failed = []
    for name in names or NAMES:
        script = BENCH_DIRECTORY / f"bench_{name}.py"
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=False
        )
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if result.returncode != 0 or not lines:
            failed.append(name)
            click.echo(f"bench {name} failed:\n{result.stderr[-2000:]}", err=True)
            continue
        click.echo(lines[-1])
    if failed:
        raise click.ClickException(f"benchmarks failed: {', '.join(failed)}")
