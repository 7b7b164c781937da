"""The base of every parsed header: where it sits in the frame, and how deep.

Every header is a frozen, slotted dataclass that keeps its ``offset`` and ``length``
in the original buffer (zero-copy: checksums are recomputed over the captured bytes,
never over a re-serialisation) *and* every field value, so a builder can write the
header back. ``depth`` counts the IP headers before this one in the frame, as the
corpus README defines it (0 for the outer link layer and IP header, 1 inside one
tunnel, ...), and ``quoted`` marks headers quoted inside an ICMP error.

Each header class has a ``decode`` class method that reads it from a
:class:`~vxsum.frames.wire.Reader`, which raises :class:`~vxsum.errors.ParseError` when
the bytes run out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from .wire import Reader

__all__ = ["Fixed", "Layer", "Truncated"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """Common part of every parsed header: where it is and how deep."""

    offset: int
    """Byte offset of the header in the frame buffer."""
    length: int
    """Header length in bytes (the payload is not included)."""
    depth: int = 0
    quoted: bool = False

    @property
    def name(self) -> str:
        """Short lower-case layer name, e.g. ``"ethernet"``."""
        return type(self).__name__.lower()

    @property
    def end(self) -> int:
        """Offset just past the header."""
        return self.offset + self.length


@dataclass(frozen=True, slots=True, kw_only=True)
class Truncated(Layer):
    """A header cut short (by the snap length or a lying length field): it did not fit.

    ``layer`` names the header that was expected; ``needed`` and ``available`` are
    the byte counts from the bounded reader.
    """

    layer: str
    needed: int
    available: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixed(Layer):
    """A header that is one fixed-size struct, read field for field: the items of
    ``FORMAT`` are the dataclass fields named in ``FIELDS``, in order (a test checks that
    they name every field); ``LAYER`` names the header in errors."""

    LAYER: ClassVar[str]
    FORMAT: ClassVar[struct.Struct]
    FIELDS: ClassVar[tuple[str, ...]]

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, quoted: bool = False) -> Self:
        r.layer = cls.LAYER
        start = r.pos
        values = dict(zip(cls.FIELDS, r.unpack(cls.FORMAT), strict=True))
        return cls(offset=start, length=cls.FORMAT.size, depth=depth, quoted=quoted, **values)
