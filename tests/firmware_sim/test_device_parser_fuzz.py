"""Random bytes into the simulators' parsers: no crash, no hang, bounded memory, no false frame."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.escpos import (
    MAX_BLOCK_BYTES,
    MAX_RASTER_HEIGHT,
    MAX_RASTER_WIDTH_BYTES,
    Command,
    EscPosParser,
)
from firmware_sim.reader import ReaderSimulator, frame
from firmware_sim.scanner import ScannerSimulator

FUZZ = settings(max_examples=150, deadline=None)
LARGEST_COMMAND = 8 + MAX_RASTER_WIDTH_BYTES * MAX_RASTER_HEIGHT


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_reader_executes_only_well_framed_commands(chunks: list[bytes]) -> None:
    reader = ReaderSimulator()
    for chunk in chunks:
        reader.on_bytes(chunk)
    stream = b"".join(chunks)
    for message in reader.received_messages:
        assert frame(message) in stream


def _merge_text(commands: list[Command]) -> list[Command]:
    """Text may arrive split differently; its concatenation must not depend on chunking."""
    merged: list[Command] = []
    for command in commands:
        if command.name == "text" and merged and merged[-1].name == "text":
            merged[-1] = Command("text", data=merged[-1].data + command.data)
        else:
            merged.append(command)
    return merged


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_escpos_parser_is_total_bounded_and_chunking_independent(chunks: list[bytes]) -> None:
    chunked = EscPosParser()
    commands = [command for chunk in chunks for command in chunked.feed(chunk)]
    whole = EscPosParser().feed(b"".join(chunks))
    assert _merge_text(commands) == _merge_text(whole)
    assert len(chunked._buffer) <= max(LARGEST_COMMAND, MAX_BLOCK_BYTES + 5)
    for command in commands:
        if command.name == "raster":
            assert len(command.data) == command.width_bytes * command.height


def test_escpos_parser_reads_the_documented_subset() -> None:
    stream = (
        b"\x1b@\x1ba\x01\x1bE\x01Hello\n\x1bd\x02"
        b"\x1d(k\x03\x001C\x06\x1d(k\x03\x001E1\x1d(k\x06\x001P0ABC\x1d(k\x03\x001Q0"
        b"\x1dv0\x00\x01\x00\x02\x00\xff\x00\x10\x04\x04\x1dV\x01"
    )
    names = [command.name for command in EscPosParser().feed(stream)]
    assert names == [
        "init", "align", "bold", "text", "lf", "feed", "qr-module", "qr-error", "qr-store",
        "qr-print", "raster", "status", "cut",
    ]  # fmt: skip


@FUZZ
@given(st.binary(max_size=400))
def test_scanner_survives_any_host_bytes(noise: bytes) -> None:
    scanner = ScannerSimulator()
    scanner.on_bytes(noise)
    assert len(scanner._buffer) <= 16
