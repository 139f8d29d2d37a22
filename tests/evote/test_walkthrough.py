"""The README's walkthrough runs as written: every role's commands, in order, in a fresh
directory (docs/walkthrough.sh extracts the README's sh blocks and runs them), the
check-in desk and HQ's page included: what the page was given (``hq.json``) shows the
booth and the desk heard from, the desk's pass issued and redeemed, and the refusal.

The README names fixed ports, so the script runs in a private network namespace
(``unshare``, root) where they are free whatever else runs on this machine; its
PID namespace (with its own /proc, which Dask reads when `evote verify --workers 2`
starts its workers) also ends every process the walkthrough left in the background.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "walkthrough.sh"
ISOLATE = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", "--"]


def _can_isolate() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run([*ISOLATE, "true"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _can_isolate(), reason="needs unshare (root) for a private loopback with the README's ports"
)


def run_walkthrough(
    directory: Path, readme: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    for name in ("EVOTE_DATABASE_URL", "EVOTE_REGISTRY_DATABASE_URL", "EVOTE_TRUSTEE_PASSPHRASE"):
        environment.pop(name, None)
    script = SCRIPT
    if readme is not None:  # the same script beside another README, to see it fail
        (readme.parent / "docs").mkdir()
        script = readme.parent / "docs" / "walkthrough.sh"
        shutil.copy(SCRIPT, script)
    return subprocess.run(
        [
            *ISOLATE,
            "bash",
            "-c",
            'ip link set lo up && exec "$0" "$1"',
            str(script),
            str(directory),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Walkthrough, role by role", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_walkthrough_runs_as_written_and_the_record_verifies(tmp_path: Path) -> None:
    result = run_walkthrough(tmp_path / "walk")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ran = [line[2:] for line in result.stdout.splitlines() if line.startswith("$ ")]
    assert ran == [block.splitlines()[0] for block in readme_blocks()]
    assert "record verified" in result.stdout
    assert result.stdout.rstrip().endswith("walkthrough completed")
    assert re.search(r"^receipt — tracking code [0-9a-f]{64}$", result.stdout, re.MULTILINE)
    assert sorted(p.name for p in (tmp_path / "walk" / "receipts").glob("*.png"))
    assert '<html lang="fa" dir="rtl">' in (tmp_path / "walk" / "hq.html").read_text("utf-8")
    hq = json.loads((tmp_path / "walk" / "hq.json").read_text(encoding="utf-8"))
    station = next(s for s in hq["stations"] if s["station_id"] == "S-101")
    assert station["poll_state"] == "open" and station["ballots_cast"] == 2
    assert station["passes"] == {"issued": 1, "redeemed": 1}
    assert station["refusals"] == {"already_voted": 1}
    terminals = station["terminals"]
    roles = {t["terminal_id"]: (t["role"], t["last_seen"] is not None) for t in terminals}
    assert roles == {"T-S-101-1": ("booth", True), "T-S-101-DESK": ("desk", True)}


def test_a_failing_step_names_the_command_and_quotes_the_log_line_with_the_real_cause(
    tmp_path: Path,
) -> None:
    readme = tmp_path / "project" / "README.md"
    readme.parent.mkdir()
    readme.write_text(
        "## Walkthrough, role by role\n\n```sh\n"
        "evote server run --data-dir hq --port 8765 > server.log 2>&1 &\n"
        "evote terminal touch wait idle --timeout 3\n"
        "```\n\n## After\n",
        encoding="utf-8",
    )
    result = run_walkthrough(tmp_path / "walk", readme)
    assert result.returncode != 0
    assert "walkthrough failed (exit 1) at: evote terminal touch wait idle" in result.stderr
    cause = result.stderr.split("--- cause, as server.log says it:\n", 1)[1]
    assert cause.startswith("1:error: hq/keys: no keys; run `evote server init` first")
