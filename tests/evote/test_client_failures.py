"""Every way a call to the server can fail is one of two things: refused, or retry later.

A raw TCP server plays each failure byte for byte (the client cannot tell it
from a real proxy or a dying worker), and the client must classify it without
letting any other exception out: the terminal's durability depends on it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from crypto.signing import SigningKey
from evote.client import BallotServerClient, ServerRefused, ServerUnreachable

Behaviour = Callable[[socket.socket], None]


def http_answer(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def answering(raw: bytes) -> Behaviour:
    def behave(connection: socket.socket) -> None:
        connection.sendall(raw)

    return behave


def reset(connection: socket.socket) -> None:
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def hang_up(connection: socket.socket) -> None:
    return


def stall(connection: socket.socket) -> None:
    connection.recv(1)  # blocks until the client gives up


REFUSAL = json.dumps(
    {"code": "already_voted", "message_fa": "قبلاً", "message_en": "Already voted"}
).encode()
PROXY_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class CannedServer:
    """Accepts connections, reads the request, then behaves as told."""

    def __init__(self, behave: Behaviour) -> None:
        self.behave = behave
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError):
                connection.settimeout(5)
                connection.recv(65536)
                self.behave(connection)
            connection.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], BallotServerClient]]:
    servers: list[CannedServer] = []

    def start(behave: Behaviour) -> BallotServerClient:
        server = CannedServer(behave)
        servers.append(server)
        return BallotServerClient(server.url, "T-1", SigningKey.generate(), timeout_s=0.5)

    yield start
    for server in servers:
        server.close()


UNREACHABLE = {
    "connection_reset": reset,
    "hung_up_without_answer": hang_up,
    "stalled": stall,
    "cut_short_body": answering(http_answer("200 OK", b'{"state": "open"}')[:-1]),
    "cut_short_refusal": answering(http_answer("409 Conflict", REFUSAL)[:-3]),
    "garbage_body": answering(http_answer("200 OK", b"\x00\xff not json")),
    "json_but_not_an_object": answering(http_answer("200 OK", b"[1, 2]")),
    "proxy_html_502": answering(http_answer("502 Bad Gateway", PROXY_PAGE, "text/html")),
    "proxy_html_403": answering(http_answer("403 Forbidden", PROXY_PAGE, "text/html")),
    "json_500": answering(http_answer("500 Internal Server Error", REFUSAL)),
    "json_503": answering(http_answer("503 Service Unavailable", b"{}")),
    "too_many_requests": answering(http_answer("429 Too Many Requests", REFUSAL)),
    "refusal_missing_messages": answering(http_answer("409 Conflict", b'{"code": "x"}')),
    "not_http_at_all": answering(b"SSH-2.0-OpenSSH_9.2\r\n"),
}


@pytest.mark.parametrize("failure", sorted(UNREACHABLE))
def test_every_transport_failure_is_unreachable_never_another_exception(
    serve: Callable[[Behaviour], BallotServerClient], failure: str
) -> None:
    client = serve(UNREACHABLE[failure])
    with pytest.raises(ServerUnreachable) as raised:
        client.poll_status("S-1")
    assert raised.value.kind in {
        "connection_refused",
        "connection_reset",
        "timeout",
        "incomplete_answer",
        "tls_error",
        "server_error",
        "not_the_server",
        "malformed_answer",
        "network_error",
    }


def test_a_cut_short_answer_is_named_incomplete(
    serve: Callable[[Behaviour], BallotServerClient],
) -> None:
    client = serve(UNREACHABLE["cut_short_body"])
    with pytest.raises(ServerUnreachable) as raised:
        client.poll_status("S-1")
    assert raised.value.kind == "incomplete_answer"


def test_a_closed_port_is_connection_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    client = BallotServerClient(f"http://127.0.0.1:{port}", "T-1", SigningKey.generate())
    with pytest.raises(ServerUnreachable) as raised:
        client.poll_status("S-1")
    assert raised.value.kind == "connection_refused"


def test_tls_to_a_plain_server_is_a_tls_error_and_retried(
    serve: Callable[[Behaviour], BallotServerClient],
) -> None:
    plain = serve(answering(http_answer("200 OK", b"{}")))
    client = BallotServerClient(
        plain.base_url.replace("http://", "https://"), "T-1", SigningKey.generate(), timeout_s=2
    )
    with pytest.raises(ServerUnreachable) as raised:
        client.poll_status("S-1")
    assert raised.value.kind == "tls_error"


def test_only_the_servers_own_refusal_is_definitive(
    serve: Callable[[Behaviour], BallotServerClient],
) -> None:
    client = serve(answering(http_answer("409 Conflict", REFUSAL)))
    with pytest.raises(ServerRefused) as raised:
        client.poll_status("S-1")
    assert (raised.value.code, raised.value.status) == ("already_voted", 409)


def test_a_receipt_that_is_not_one_is_retried_not_accepted(
    serve: Callable[[Behaviour], BallotServerClient],
) -> None:
    client = serve(answering(http_answer("200 OK", b'{"receipt": {"kind": "receipt"}}')))
    with pytest.raises(ServerUnreachable) as raised:
        client.submit_cast({"payload": {}})
    assert raised.value.kind == "malformed_answer"
