"""The README's walkthrough is a script; running it proves every role's commands work."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.sh"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(
    shutil.which("curl") is None, reason="the walkthrough drives the kiosk with curl"
)
def test_every_role_walkthrough_command_runs_and_the_record_verifies(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SERVER_PORT": str(free_port()),
        "KIOSK_PORT": str(free_port()),
    }
    environment.pop("EVOTE_DATABASE_URL", None)
    environment.pop("EVOTE_REGISTRY_DATABASE_URL", None)
    result = subprocess.run(
        [str(SCRIPT), str(tmp_path / "walk")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.rstrip().endswith("record verified")
    assert (tmp_path / "walk" / "receipts").is_dir()
