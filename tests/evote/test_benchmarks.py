"""Every benchmark `evote bench` lists still runs, in quick mode (tiny sizes).

Benchmarks are run by hand, rarely; without this a change to the server or the
record format breaks one silently (an authorization missing a new field did,
and so did moving the command's package) and the next person who measures
finds out. Quick-mode figures mean nothing and are marked so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evote.cli.bench_cli import BENCH_DIRECTORY, NAMES

NEEDS_POSTGRES = {"intake", "national"}


def test_every_listed_benchmark_has_its_script() -> None:
    assert sorted(path.stem for path in BENCH_DIRECTORY.glob("bench_*.py")) == sorted(
        f"bench_{name}" for name in NAMES
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_benchmark_runs_and_prints_one_json_line(name: str) -> None:
    if name in NEEDS_POSTGRES and not os.environ.get("EVOTE_TEST_DATABASE_URL"):
        pytest.skip("its figures need PostgreSQL: set EVOTE_TEST_DATABASE_URL")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "evote"), "bench", name],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "EVOTE_BENCH_QUICK": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, result.stdout
    figures = json.loads(lines[0])
    assert figures["bench"] == name
    assert figures["quick"] is True
