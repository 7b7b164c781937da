"""One bounded reader for all header parsing (the idea of dnspython's wire ``Parser``).

A :class:`Reader` is a cursor over a memoryview with a readable end. Every read
checks the end first and raises :class:`~vxsum.errors.ParseError` naming the layer,
the offset and the bytes needed and available; so truncation and lying length
fields are caught here, in one place, and ``struct.error`` or ``IndexError`` never
escape from the header decoders. :meth:`Reader.restrict` narrows the end to a
length field, as a header's own length says where its contents stop.
"""

from __future__ import annotations

import struct
from typing import Any

from ..errors import ParseError

__all__ = ["Reader"]


class Reader:
    """A cursor over ``buf[pos:end]``; reads advance ``pos`` and never pass ``end``."""

    __slots__ = ("buf", "end", "layer", "pos")

    def __init__(self, buf: memoryview, pos: int = 0, end: int | None = None) -> None:
        if not 0 <= pos <= len(buf):
            raise ValueError(f"position {pos} outside the buffer of {len(buf)} bytes")
        self.buf = buf
        self.pos = pos
        # An end before pos (a length field smaller than the header) reads as empty.
        self.end = len(buf) if end is None else max(pos, min(end, len(buf)))
        self.layer = "frame"

    @property
    def remaining(self) -> int:
        """Bytes readable from the cursor to the end."""
        return self.end - self.pos

    def need(self, n: int) -> None:
        """Raise :class:`ParseError` unless ``n`` more bytes are readable."""
        if n > self.end - self.pos:
            raise ParseError(
                self.layer,
                self.pos,
                "header cut short",
                needed=n,
                available=self.end - self.pos,
            )

    def fail(self, reason: str, offset: int | None = None) -> ParseError:
        """A :class:`ParseError` for a bad field value of the current layer (to raise)."""
        return ParseError(self.layer, self.pos if offset is None else offset, reason)

    def unpack(self, fmt: struct.Struct) -> tuple[Any, ...]:
        """Read ``fmt.size`` bytes and unpack them (bounds checked first)."""
        self.need(fmt.size)
        values = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return values

    def u8(self) -> int:
        self.need(1)
        self.pos += 1
        return self.buf[self.pos - 1]

    def u16(self) -> int:
        self.need(2)
        self.pos += 2
        return (self.buf[self.pos - 2] << 8) | self.buf[self.pos - 1]

    def u32(self) -> int:
        self.need(4)
        self.pos += 4
        return int.from_bytes(self.buf[self.pos - 4 : self.pos], "big")

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes, copied (header fields are small)."""
        self.need(n)
        self.pos += n
        return bytes(self.buf[self.pos - n : self.pos])

    def skip(self, n: int) -> None:
        self.need(n)
        self.pos += n

    def restrict(self, length: int) -> Reader:
        """A reader over the next ``length`` bytes, for a region a length field bounds.

        Reads inside it fail at the region's end (an option that claims to run past
        its header), not at the buffer's. Check the region fits with :meth:`need` first.
        """
        sub = Reader(self.buf, self.pos, min(self.pos + max(length, 0), self.end))
        sub.layer = self.layer
        return sub
