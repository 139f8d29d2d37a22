"""A failed connection names the URL tried and the reason, and never quotes a server that
did not answer ("server says …" only when one did)."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from crypto.signing import SigningKey
from evote.cli.main import main
from evote.client import BallotServerClient, ServerUnreachable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unknown_host_names_the_url_and_says_the_name_was_not_found() -> None:
    client = BallotServerClient("http://no-such-host.invalid:8765", "T-1", SigningKey.generate())
    try:
        client.election()
    except ServerUnreachable as error:
        message = str(error)
    else:
        raise AssertionError("an unknown host answered")
    assert message.startswith("http://no-such-host.invalid:8765/api/v1/election: ")
    assert "host name not found" in message


def test_a_port_nobody_listens_on_says_connection_refused_with_the_url() -> None:
    port = _closed_port()
    client = BallotServerClient(f"http://127.0.0.1:{port}", "T-1", SigningKey.generate())
    try:
        client.election()
    except ServerUnreachable as error:
        assert error.url == f"http://127.0.0.1:{port}/api/v1/election"
        assert error.kind == "connection_refused"
        assert str(error).startswith(f"{error.url}: connection refused")
    else:
        raise AssertionError("a closed port answered")


def test_terminal_run_with_a_bad_server_url_says_no_answer_not_server_says(
    tmp_path: Path,
) -> None:
    key = tmp_path / "terminal.key"
    key.write_text(SigningKey.generate().seed.hex() + "\n", encoding="ascii")
    result = CliRunner().invoke(
        main,
        [
            "terminal", "run", "--reader", "/dev/null", "--printer", "/dev/null",
            "--server", "http://no-such-host.invalid:8765", "--data-dir", str(tmp_path / "t"),
            "--terminal-id", "T-1", "--terminal-key", str(key),
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "server says" not in result.output
    assert "no answer from http://no-such-host.invalid:8765/api/v1/election" in result.output
    assert "host name not found" in result.output
