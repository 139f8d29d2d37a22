"""The demo's cuttable link really refuses traffic while cut and forwards it when healed."""

from __future__ import annotations

import http.server
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from evote.link import CuttableLink
from evote.serving import serve_in_thread


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def link() -> Iterator[CuttableLink]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    serve_in_thread(server, "hello").start()
    forwarder = CuttableLink("127.0.0.1", server.server_address[1])
    yield forwarder
    forwarder.close()
    server.shutdown()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


def test_traffic_flows_while_up_fails_while_cut_and_flows_again_when_healed(
    link: CuttableLink,
) -> None:
    assert fetch(link.url) == b"hello"
    link.cut()
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        fetch(link.url)
    link.heal()
    assert fetch(link.url) == b"hello"
