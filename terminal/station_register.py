"""The station's one offline register, shared by its booths over the station's LAN.

Offline, each booth knows its own check-ins; a voter could walk from one booth
to the next. So one machine of the station (a booth or the desk, started with
``--station-register-listen``) holds the station register: the snapshot tags of
every voter checked in offline at the station, with the minute. Every booth of
the station claims a voter's tag there before it issues a provisional
authorization; a tag already claimed is ``already_voted`` at every booth. A
booth that cannot reach the register refuses (``station_register_unreachable``)
instead of deciding alone: a station register out of reach may cost a wait,
never a double vote. The server plays no part: the register works with the
uplink down.

Who may claim: the booths of the station, and only they, hold the snapshot's
tag key (it is sealed to each of them, ``evote/roll_snapshot.py``). Requests
and answers carry a MAC under a key derived from it (keyed BLAKE2b, its own
personalisation), the answer's bound to the request's fresh nonce: a machine on
the LAN without the key can neither claim voters nor forge a "checked in"
(a replayed answer names another nonce). The register stores only tag and
minute, as the booths' own registers do (``offline_station.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from crypto.canonical import canonical_json
from evote.roll_snapshot import RollSnapshot
from terminal.errors import ConfigurationError
from terminal.offline_roll import OfflineRefused

CLAIM_PATH = "/station-register/claim"
TAG_TABLES = """
CREATE TABLE IF NOT EXISTS snapshot (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    snapshot_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS check_ins (
    voter_tag BLOB PRIMARY KEY,
    checked_in_minute INTEGER NOT NULL
) WITHOUT ROWID;
"""
CHECKED_IN = "checked_in"
ALREADY = "already_voted"
MAX_BODY = 4096


class Register(Protocol):
    """Where a booth claims a voter's tag for the whole station."""

    def claim(self, tag: bytes, minute: int) -> None:
        """Record the tag, or raise OfflineRefused (``already_voted``, or why not)."""


def register_key(snapshot: RollSnapshot) -> bytes:
    """The MAC key of the station's register traffic, derived from the snapshot's tag key."""
    return hashlib.blake2b(
        b"station-register", key=snapshot.tag_key, digest_size=32, person=b"evote-st-reg-v1"
    ).digest()


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    return hashlib.blake2b(canonical_json(fields), key=key, digest_size=32).hexdigest()


def _sealed(key: bytes, fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "mac": _mac(key, fields)}


def _opened(key: bytes, message: object, names: set[str]) -> dict[str, Any] | None:
    """The message's fields when it has exactly ``names`` and ``mac`` and the MAC holds."""
    if not isinstance(message, dict) or set(message) != names | {"mac"}:
        return None
    fields = {name: message[name] for name in names}
    mac = message["mac"]
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, fields)):
        return None
    return fields


def open_tag_register(path: Path, snapshot_id: str) -> sqlite3.Connection:
    """A register file of voter tags (a booth's own, or the station's): WAL and
    ``synchronous=FULL``, so a check-in answered is a check-in kept across a power cut.

    Check-ins are tags under one snapshot's key: another snapshot could not see
    them, so it is refused while any exist (and adopted when there are none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(TAG_TABLES)
    row = db.execute("SELECT snapshot_id FROM snapshot").fetchone()
    made = db.execute("SELECT 1 FROM check_ins LIMIT 1").fetchone() is not None
    if made and row is not None and row[0] != snapshot_id:
        db.close()
        raise ConfigurationError(
            f"{path}: offline check-ins were made under roll snapshot {row[0]}; "
            f"load that snapshot, not {snapshot_id}",
            code="roll_snapshot_changed",
        )
    db.execute(
        "INSERT INTO snapshot (singleton, snapshot_id) VALUES (1, ?)"
        " ON CONFLICT(singleton) DO UPDATE SET snapshot_id = excluded.snapshot_id",
        (snapshot_id,),
    )
    return db


class RegisterStore:
    """The station register itself: one row per voter tag, in ``station-register.sqlite``."""

    def __init__(self, path: Path, snapshot: RollSnapshot) -> None:
        self.snapshot = snapshot
        self._lock = threading.Lock()
        self._db = open_tag_register(path, snapshot.snapshot_id)

    def claim(self, tag: bytes, minute: int) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO check_ins (voter_tag, checked_in_minute) VALUES (?, ?)",
                    (tag, minute),
                )
            except sqlite3.IntegrityError as error:
                raise OfflineRefused("checked in at this station before", code=ALREADY) from error

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM check_ins").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def create_register_app(store: RegisterStore) -> Flask:
    """``POST /station-register/claim``: ``{tag, minute, nonce, mac}`` in,
    ``{nonce, result, mac}`` out; anything without a valid MAC is a 403 and claims nothing."""
    app = Flask("station-register")
    key = register_key(store.snapshot)

    @app.post(CLAIM_PATH)
    def claim() -> Response | tuple[Response, int]:
        if (request.content_length or 0) > MAX_BODY:
            return jsonify({"error": "request_too_large"}), 413
        fields = _opened(key, request.get_json(silent=True), {"tag", "minute", "nonce"})
        if fields is None:
            return jsonify({"error": "register_mac_invalid"}), 403
        tag, minute, nonce = fields["tag"], fields["minute"], fields["nonce"]
        try:
            tag_bytes = bytes.fromhex(tag) if isinstance(tag, str) else b""
        except ValueError:
            tag_bytes = b""
        if not store.snapshot.lists(tag_bytes) or type(minute) is not int:
            return jsonify({"error": "bad_claim"}), 400
        try:
            store.claim(tag_bytes, minute)
            result = CHECKED_IN
        except OfflineRefused:
            result = ALREADY
        return jsonify(_sealed(key, {"nonce": nonce, "result": result}))

    return app


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (port 0: any free port) or ConfigurationError."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ConfigurationError(f"station register address {listen!r}: expected HOST:PORT")
    return host, int(port)


def serve_register(store: RegisterStore, host: str, port: int) -> BaseWSGIServer:
    """The register's HTTP server on the station LAN (the caller runs serve_forever)."""
    return make_server(host, port, create_register_app(store), threaded=True)


class RemoteRegister:
    """A booth's view of the station register on another machine of the station."""

    def __init__(self, url: str, snapshot: RollSnapshot, timeout_s: float = 3.0) -> None:
        self.url = url.rstrip("/") + CLAIM_PATH
        self.key = register_key(snapshot)
        self.timeout_s = timeout_s

    def claim(self, tag: bytes, minute: int) -> None:
        nonce = os.urandom(16).hex()
        body = canonical_json(
            _sealed(self.key, {"tag": tag.hex(), "minute": minute, "nonce": nonce})
        )
        post = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(post, timeout=self.timeout_s) as answer:
                message = json.loads(answer.read(MAX_BODY))
        except (OSError, ValueError) as error:  # URLError, timeouts, refused, bad JSON
            raise OfflineRefused(
                f"station register {self.url}: {error}", code="station_register_unreachable"
            ) from error
        fields = _opened(self.key, message, {"nonce", "result"})
        if (
            fields is None
            or fields["nonce"] != nonce
            or fields["result"] not in (CHECKED_IN, ALREADY)
        ):
            raise OfflineRefused(
                "the station register's answer does not verify",
                code="station_register_unreachable",
            )
        if fields["result"] == ALREADY:
            raise OfflineRefused("checked in at this station before", code=ALREADY)
