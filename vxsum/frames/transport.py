"""Transport headers that carry a checksum: UDP, UDP-Lite, TCP, ICMP, ICMPv6, IGMP.

Each class exposes ``checksum_offset``, the offset of its checksum field inside the
header, which :mod:`vxsum.frames.frame` uses to build the checksum-field record (also when
the header itself was cut short but the field was captured, as tshark does).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .layer import Fixed, Layer
from .wire import Reader

__all__ = ["ICMP", "IGMP", "TCP", "UDP", "ICMPv6", "UDPLite"]

_UDP = struct.Struct("!HHHH")
_TCP = struct.Struct("!HHIIHHHH")
_ICMP = struct.Struct("!BBH4s")


@dataclass(frozen=True, slots=True, kw_only=True)
class UDP(Fixed):
    """UDP header (RFC 768); 8 bytes. ``length_field`` covers header and data."""

    LAYER: ClassVar[str] = "udp"
    FORMAT: ClassVar[struct.Struct] = _UDP
    FIELDS: ClassVar[tuple[str, ...]] = ("src_port", "dst_port", "length_field", "checksum")

    checksum_offset: ClassVar[int] = 6
    src_port: int
    dst_port: int
    length_field: int
    checksum: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UDPLite(Fixed):
    """UDP-Lite header (RFC 3828, IP protocol 136); 8 bytes.

    ``coverage`` is the checksum coverage: bytes from the header start that the
    checksum covers; 0 means the whole datagram (section 3.1).
    """

    LAYER: ClassVar[str] = "udplite"
    FORMAT: ClassVar[struct.Struct] = _UDP
    FIELDS: ClassVar[tuple[str, ...]] = ("src_port", "dst_port", "coverage", "checksum")

    checksum_offset: ClassVar[int] = 6
    src_port: int
    dst_port: int
    coverage: int
    checksum: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TCP(Layer):
    """TCP header (RFC 9293 section 3.1) with options; ``length`` is ``data_offset * 4``.

    ``flags`` holds the 12 bits after the data offset (reserved/AE bits included).
    """

    checksum_offset: ClassVar[int] = 16
    src_port: int
    dst_port: int
    seq: int
    ack: int
    data_offset: int
    flags: int
    window: int
    checksum: int
    urgent: int
    options: bytes

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, quoted: bool = False) -> TCP:
        r.layer = "tcp"
        start = r.pos
        sport, dport, seq, ack, off_flags, win, csum, urg = r.unpack(_TCP)
        doff = off_flags >> 12
        if doff < 5:
            raise r.fail(f"data offset {doff * 4} below 20", start)
        options = r.take(doff * 4 - 20)
        return cls(
            offset=start,
            length=doff * 4,
            depth=depth,
            quoted=quoted,
            src_port=sport,
            dst_port=dport,
            seq=seq,
            ack=ack,
            data_offset=doff,
            flags=off_flags & 0xFFF,
            window=win,
            checksum=csum,
            urgent=urg,
            options=options,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _IcmpHeader(Fixed):
    """The 8 bytes ICMP (RFC 792) and ICMPv6 (RFC 4443) share: type, code, checksum, rest."""

    FORMAT: ClassVar[struct.Struct] = _ICMP
    FIELDS: ClassVar[tuple[str, ...]] = ("type", "code", "checksum", "rest")

    checksum_offset: ClassVar[int] = 2
    type: int
    code: int
    checksum: int
    rest: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ICMP(_IcmpHeader):
    """ICMP header (RFC 792): type, code, checksum and the 4-byte rest of header."""

    LAYER: ClassVar[str] = "icmp"
    ERRORS: ClassVar[frozenset[int]] = frozenset({3, 4, 5, 11, 12})
    """Types that quote the offending datagram (unreachable, quench, redirect, time, param)."""

    @property
    def is_error(self) -> bool:
        return self.type in self.ERRORS


@dataclass(frozen=True, slots=True, kw_only=True)
class ICMPv6(_IcmpHeader):
    """ICMPv6 header (RFC 4443): type, code, checksum and the 4-byte rest of header."""

    LAYER: ClassVar[str] = "icmpv6"

    @property
    def is_error(self) -> bool:
        """Types 1-4 (unreachable, too big, time exceeded, parameter problem) quote a packet."""
        return 1 <= self.type <= 4


@dataclass(frozen=True, slots=True, kw_only=True)
class IGMP(Fixed):
    """IGMP header (RFC 2236 / RFC 3376): the common first 8 bytes.

    Version 3 queries and reports carry more after these; the checksum covers the
    whole IGMP message (the IP payload).
    """

    LAYER: ClassVar[str] = "igmp"
    FORMAT: ClassVar[struct.Struct] = _ICMP
    FIELDS: ClassVar[tuple[str, ...]] = ("type", "max_response", "checksum", "group")

    checksum_offset: ClassVar[int] = 2
    type: int
    max_response: int
    checksum: int
    group: bytes
