"""Run the server in-process on a loopback port (tests, the demo)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from ballot_server.app import create_app
from ballot_server.config import ServerConfig
from ballot_server.state import ServerState
from evote.serving import serve_in_thread


@dataclass
class RunningServer:
    url: str
    app: Flask
    _server: BaseWSGIServer
    _thread: threading.Thread

    @property
    def state(self) -> ServerState:
        state: ServerState = self.app.extensions["evote"]
        return state

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self.state.dispose()


def start_server(config: ServerConfig, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start a threaded WSGI server in a background thread; ``port=0`` picks a free port."""
    app = create_app(config)
    server = make_server(host, port, app, threaded=True)
    thread = serve_in_thread(server, "ballot-server")
    thread.start()
    return RunningServer(f"http://{host}:{server.server_port}", app, server, thread)
