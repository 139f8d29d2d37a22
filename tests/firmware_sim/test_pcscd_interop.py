"""A host stack nobody here wrote: pcscd + libccidtwin (GemPC Twin serial) + pyscard.

pcscd always listens on /run/pcscd/pcscd.comm (Debian's 1.9.9 daemon ignores
PCSCLITE_CSOCK_NAME; only the client library reads it), so the daemon runs in
a private mount namespace with a temporary directory bound over /run/pcscd.
The pyscard client runs in a subprocess with PCSCLITE_CSOCK_NAME pointing at
that directory's socket, leaving any system pcscd alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.signing import SigningKey
from firmware_sim.card import APPLICATION_AID
from firmware_sim.reader import ReaderSimulator
from terminal.devices.holder import holder_total_length, parse_holder

TWIN_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libccidtwin.so")

CLIENT = r"""
import json, sys, time
from smartcard.System import readers

aid = bytes.fromhex(sys.argv[1])
deadline = time.monotonic() + 6
while True:
    found = readers()
    if found:
        try:
            connection = found[0].createConnection()
            connection.connect()
            break
        except Exception:
            pass
    if time.monotonic() > deadline:
        raise SystemExit("no reader with a card appeared in pcscd")
    time.sleep(0.1)

def send(apdu):
    data, sw1, sw2 = connection.transmit(list(apdu))
    return bytes(data), (sw1 << 8) | sw2

result = {"reader": str(found[0]), "atr": bytes(connection.getATR()).hex(), "sw": {}}
result["sw"]["select_app"] = send(b"\x00\xa4\x04\x00" + bytes([len(aid)]) + aid)[1]
result["sw"]["select_ef"] = send(b"\x00\xa4\x02\x0c\x02\x01\x01")[1]
holder = b""
while True:
    data, sw = send(bytes([0, 0xB0, len(holder) >> 8, len(holder) & 0xFF, 0x80]))
    holder += data
    if sw != 0x9000 or not data:
        break
result["holder"] = holder.hex()
result["sw"]["verify_wrong"] = send(b"\x00\x20\x00\x81\x08" + b"0000".ljust(8, b"\xff"))[1]
result["sw"]["verify_query"] = send(b"\x00\x20\x00\x81")[1]
result["sw"]["verify_right"] = send(b"\x00\x20\x00\x81\x08" + b"1234".ljust(8, b"\xff"))[1]
challenge = bytes(range(32))
first, sw = send(b"\x00\x88\x00\x00\x20" + challenge)
result["sw"]["authenticate"] = sw
signature, sw = send(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
result["sw"]["get_response"] = sw
result["signature"] = (first + signature).hex()
connection.disconnect()
print(json.dumps(result))
"""


@pytest.fixture
def pcscd(tmp_path: Path, card_file: Path) -> Iterator[tuple[Path, ReaderSimulator]]:
    pytest.importorskip("smartcard", reason="pyscard is not installed")
    if shutil.which("pcscd") is None or not TWIN_DRIVER.exists():
        pytest.skip("Debian packages pcscd and libccid (libccidtwin.so) are not installed")
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to give pcscd a private /run/pcscd")
    simulator = ReaderSimulator()
    path = simulator.start()
    simulator.insert(card_file)
    run_dir, config_dir = tmp_path / "run", tmp_path / "reader.conf.d"
    run_dir.mkdir()
    config_dir.mkdir()
    (config_dir / "evote-sim").write_text(
        f'FRIENDLYNAME "evote sim"\nDEVICENAME {path}\nLIBPATH {TWIN_DRIVER}\n'
    )
    log_path = tmp_path / "pcscd.log"
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f"mkdir -p /run/pcscd && mount --bind {run_dir} /run/pcscd && "
             f"exec pcscd --foreground --debug "
             f"--config {config_dir}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 5
        while not (run_dir / "pcscd.comm").exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"pcscd did not start here: {log_path.read_text()[-500:]}")
            time.sleep(0.05)
        yield run_dir / "pcscd.comm", simulator
    finally:
        daemon.terminate()
        daemon.wait(timeout=5)
        simulator.stop()


def test_pcscd_with_the_gempc_twin_driver_talks_to_the_simulated_card(
    pcscd: tuple[Path, ReaderSimulator], registry: SigningKey
) -> None:
    socket_path, simulator = pcscd
    completed = subprocess.run(
        [sys.executable, "-c", CLIENT, APPLICATION_AID.hex()],
        env=dict(os.environ, PCSCLITE_CSOCK_NAME=str(socket_path)),
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["reader"].startswith("evote sim")
    assert bytes.fromhex(result["atr"]) == b"\x3b\x08EVOTE-ID"
    assert result["sw"] == {
        "select_app": 0x9000,
        "select_ef": 0x9000,
        "verify_wrong": 0x63C2,
        "verify_query": 0x63C2,
        "verify_right": 0x9000,
        "authenticate": 0x6140,
        "get_response": 0x9000,
    }
    holder_bytes = bytes.fromhex(result["holder"])
    holder = parse_holder(holder_bytes[: holder_total_length(holder_bytes)])
    holder.certificate.verify("card-certificate", registry.public_key)
    holder.card_public_key.verify_bytes(bytes(range(32)), bytes.fromhex(result["signature"]))
    # The driver's start-up escapes reached the reader: firmware query, then sync notifications.
    assert [message[10:] for message in simulator.received_messages if message[0] == 0x6B][:2] == [
        b"\x02",
        b"\x01\x01\x01",
    ]
