"""An incremental parser for the ESC/POS subset thermal receipt printers speak.

Bytes go in as they arrive; complete commands come out. Unknown commands are
skipped by their documented argument counts, and every length a command
announces is bounded, so random bytes can never make the parser hang, grow
without limit, or raise.
"""

from __future__ import annotations

from dataclasses import dataclass

ESC, GS, DLE, FS, LF = 0x1B, 0x1D, 0x10, 0x1C, 0x0A
MAX_RASTER_WIDTH_BYTES = 256
MAX_RASTER_HEIGHT = 4096
MAX_BLOCK_BYTES = 8192

# Commands with a fixed number of argument bytes that this printer accepts and ignores.
_ESC_IGNORED = {
    ord("!"): 1, ord("-"): 1, ord("M"): 1, ord("t"): 1, ord("2"): 0, ord("3"): 1,
    ord("J"): 1, ord("G"): 1, ord("V"): 1, ord("{"): 1, ord("R"): 1, ord("p"): 3,
    ord(" "): 1, ord("U"): 1, ord("c"): 2, ord("$"): 2, ord("\\"): 2, ord("D"): 0,
}  # fmt: skip
_GS_IGNORED = {
    ord("!"): 1, ord("B"): 1, ord("b"): 1, ord("h"): 1, ord("w"): 1, ord("H"): 1,
    ord("f"): 1, ord("L"): 2, ord("W"): 2, ord("P"): 2, ord("a"): 1, ord("r"): 1,
    ord("I"): 1, ord("$"): 2, ord("\\"): 2, ord("*"): 2,
}  # fmt: skip


@dataclass(frozen=True)
class Command:
    """One parsed command: a ``name`` and its arguments or payload."""

    name: str
    argument: int = 0
    data: bytes = b""
    width_bytes: int = 0
    height: int = 0


class NeedMore(Exception):
    """The buffer ends inside a command."""


class EscPosParser:
    """Feed bytes, get commands: text, lf, feed, align, bold, raster, qr-*, cut, status, ..."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Command]:
        self._buffer.extend(data)
        commands: list[Command] = []
        while self._buffer:
            try:
                command, consumed = self._parse_one()
            except NeedMore:
                break
            del self._buffer[:consumed]
            if command is not None:
                commands.append(command)
        return commands

    def _need(self, count: int) -> None:
        if len(self._buffer) < count:
            raise NeedMore()

    def _parse_one(self) -> tuple[Command | None, int]:
        buffer = self._buffer
        first = buffer[0]
        if first >= 0x20 or first == 0x09:
            end = 1
            while end < len(buffer) and (buffer[end] >= 0x20 or buffer[end] == 0x09):
                end += 1
            return Command("text", data=bytes(buffer[:end])), end
        if first == LF:
            return Command("lf"), 1
        if first == ESC:
            return self._escape()
        if first == GS:
            return self._group_separator()
        if first == DLE:
            self._need(3)
            if buffer[1] == 0x04:
                return Command("status", argument=buffer[2]), 3
            if buffer[1] == 0x05:
                return Command("recover", argument=buffer[2]), 3
            if buffer[1] == 0x14:
                self._need(5)
                return None, 5
            return None, 1
        if first == FS:
            self._need(2)
            return None, 2
        return None, 1

    def _escape(self) -> tuple[Command | None, int]:
        self._need(2)
        code = self._buffer[1]
        if code == ord("@"):
            return Command("init"), 2
        if code in (ord("a"), ord("E"), ord("d")):
            self._need(3)
            name = {ord("a"): "align", ord("E"): "bold", ord("d"): "feed"}[code]
            return Command(name, argument=self._buffer[2]), 3
        if code in (ord("i"), ord("m")):
            return Command("cut"), 2
        arguments = _ESC_IGNORED.get(code)
        if arguments is None:
            return None, 2
        self._need(2 + arguments)
        return None, 2 + arguments

    def _group_separator(self) -> tuple[Command | None, int]:
        self._need(2)
        buffer = self._buffer
        code = buffer[1]
        if code == ord("V"):
            self._need(3)
            return Command("cut", argument=buffer[2]), 4 if buffer[2] >= 0x41 else 3
        if code == ord("v"):
            return self._raster()
        if code == ord("("):
            self._need(5)
            length = buffer[3] | (buffer[4] << 8)
            if length > MAX_BLOCK_BYTES:
                return None, 2
            self._need(5 + length)
            block = bytes(buffer[5 : 5 + length])
            return self._function_block(buffer[2], block), 5 + length
        if code == ord("k"):
            return self._barcode()
        arguments = _GS_IGNORED.get(code)
        if arguments is None:
            return None, 2
        self._need(2 + arguments)
        return None, 2 + arguments

    def _raster(self) -> tuple[Command | None, int]:
        self._need(8)
        buffer = self._buffer
        if buffer[2] not in (0x30, 0x00) or buffer[3] & 0x0F > 3:
            return None, 2
        width_bytes = buffer[4] | (buffer[5] << 8)
        height = buffer[6] | (buffer[7] << 8)
        if not 0 < width_bytes <= MAX_RASTER_WIDTH_BYTES or not 0 < height <= MAX_RASTER_HEIGHT:
            return None, 8
        size = width_bytes * height
        self._need(8 + size)
        data = bytes(buffer[8 : 8 + size])
        return Command("raster", buffer[3] & 0x03, data, width_bytes, height), 8 + size

    def _barcode(self) -> tuple[Command | None, int]:
        self._need(3)
        kind = self._buffer[2]
        if kind <= 6:
            end = self._buffer.find(b"\x00", 3, 3 + 256)
            if end < 0:
                if len(self._buffer) >= 3 + 256:
                    return None, 3
                raise NeedMore()
            return None, end + 1
        self._need(4)
        return None, 4 + self._buffer[3]

    @staticmethod
    def _function_block(group: int, block: bytes) -> Command | None:
        """GS ( k: QR code functions (cn 0x31); other GS ( groups are skipped."""
        if group != ord("k") or len(block) < 2 or block[0] != 0x31:
            return None
        function, rest = block[1], block[2:]
        if function == 0x43 and rest:
            return Command("qr-module", argument=rest[0])
        if function == 0x45 and rest:
            return Command("qr-error", argument=rest[0])
        if function == 0x50 and rest[:1] == b"\x30":
            return Command("qr-store", data=rest[1:])
        if function == 0x51:
            return Command("qr-print")
        return None
