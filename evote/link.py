"""A TCP forwarder whose link can be cut, healed, and made to misbehave on demand.

The demo puts one in front of the ballot server for a station, so a network
outage is real: the terminal's connections are refused or dropped exactly as
on a failed mobile link, and store-and-forward has to heal it. The fault
suite (``tests/faults/``) also injects the failures a link or a proxy in front
of a dying worker produces, one connection at a time (``inject``):

* ``reset``: the connection is reset (RST) before the request reaches the server.
* ``stall``: the connection is accepted and then nothing happens; the request
  never reaches the server and the client's timeout has to end it.
* ``drop_answer``: the request reaches the server, which answers; the answer
  is thrown away and the connection closed (the classic lost answer).
* ``cut_short``: the server's answer is delivered but for its last byte, then
  the connection closes (headers promise more body than arrives).

Every connection carries one HTTP request (the clients send
``Connection: close``), so a fault hits exactly one request.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass

FAULT_KINDS = ("reset", "stall", "drop_answer", "cut_short")
FIRST_CHUNK_TIMEOUT_S = 10.0
ANSWER_TIMEOUT_S = 60.0


@dataclass
class _Fault:
    kind: str
    path_contains: str | None
    skip: int = 0


class CuttableLink:
    """Forwards 127.0.0.1:<port> to a target address until ``cut()``; injects faults."""

    def __init__(self, target_host: str, target_port: int, *, stall_s: float = 30.0) -> None:
        self._target = (target_host, target_port)
        self.stall_s = stall_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self.applied: Counter[str] = Counter()
        self._closed = threading.Event()
        threading.Thread(target=self._accept_loop, name="link-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def retarget(self, target_host: str, target_port: int) -> None:
        """Forward new connections elsewhere (a restarted server on a new port)."""
        self._target = (target_host, target_port)

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._up.clear()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def heal(self) -> None:
        self._up.set()

    def inject(self, kind: str, *, path_contains: str | None = None, skip: int = 0) -> None:
        """The next connection whose request line contains ``path_contains`` gets ``kind``;
        with ``skip``, only after that many such connections went through (the second of
        two requests to one path: a countersignature right after the close)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        with self._lock:
            self._faults.append(_Fault(kind, path_contains, skip))

    def clear_faults(self) -> None:
        """Forget faults not yet applied: the path is healthy again."""
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._listener.close()

    # --- connections -----------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._open.update(sockets)

    def _take_fault(self, request_line: bytes) -> str | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.path_contains is None or fault.path_contains.encode() in request_line:
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    del self._faults[index]
                    self.applied[fault.kind] += 1
                    return fault.kind
        return None

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(FIRST_CHUNK_TIMEOUT_S)
            first = client.recv(65536)
            client.settimeout(None)
        except OSError:
            _close(client)
            return
        fault = self._take_fault(first.split(b"\r\n", 1)[0]) if first else None
        if fault == "reset":
            self._forget(client)
            _reset(client)
            return
        if fault == "stall":
            self._closed.wait(self.stall_s)
            self._forget(client)
            _close(client)
            return
        try:
            upstream = socket.create_connection(self._target, timeout=5)
            upstream.settimeout(None)
            upstream.sendall(first)
        except OSError:
            self._forget(client)
            _close(client)
            return
        self._track(upstream)
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        if fault is None:
            self._pump(upstream, client)
            return
        answer = _read_to_end(upstream)
        if fault == "cut_short" and len(answer) > 1:
            with contextlib.suppress(OSError):
                client.sendall(answer[:-1])
        self._forget(client, upstream)
        _close(client)
        _close(upstream)

    def _forget(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._open.difference_update(sockets)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open.discard(source)


def _read_to_end(sock: socket.socket) -> bytes:
    """The server's whole answer (it closes after one request), or what came in time."""
    chunks: list[bytes] = []
    sock.settimeout(ANSWER_TIMEOUT_S)
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a RST, not an orderly FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
