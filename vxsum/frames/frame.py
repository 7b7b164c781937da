"""The frame parser: link type -> headers -> checksum-field records.

``parse(data, linktype)`` walks one captured frame and returns a :class:`Frame`
holding the headers (zero-copy: each keeps its offset and length in ``data``), one
:class:`~vxsum.frames.fields.ChecksumField` per checksum field, and the unparsed rest.

Truncation policy. A link header that does not fit raises
:class:`~vxsum.errors.ParseError` (there is no frame to speak of). Past it, a header
cut short ends the walk like tcpdump's ``[|tcp]``: the frame keeps the headers that
fit, a :class:`~vxsum.frames.link.Truncated` marker, and ``Frame.error`` holds the
:class:`ParseError`; a checksum field that was captured is still reported,
``unverifiable``. A bad field value (IPv4 header length below 20, say) ends the
walk the same way. ``ParseConfig(strict=True)`` raises these instead, except inside
an ICMP error, whose quote is short by design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from ..capture.linktypes import SUPPORTED, LinkType
from ..core.buffer import Buffer, as_int, byte_view
from ..errors import ParseError
from .config import DEFAULT_CONFIG, ParseConfig
from .fields import ChecksumField
from .ip import IPv4, IPv6
from .layer import Layer
from .transport import TCP, UDP
from .walk import Walker

__all__ = ["Frame", "parse"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One parsed frame."""

    data: memoryview
    """The captured bytes (the buffer every offset refers to)."""
    linktype: int
    layers: tuple[Layer, ...]
    checksums: tuple[ChecksumField, ...]
    remainder_offset: int
    """Where the unparsed rest starts: payload, or bytes after a header the walk stopped at."""
    wire_length: int
    """Length on the wire; larger than ``captured_length`` when the snap length cut the frame."""
    error: ParseError | None = field(default=None)
    """Why the walk stopped early (a cut or malformed header), if it did."""

    @property
    def captured_length(self) -> int:
        return len(self.data)

    @property
    def truncated(self) -> bool:
        """True if the capture's snap length cut this frame."""
        return self.captured_length < self.wire_length

    @property
    def remainder(self) -> memoryview:
        """The bytes after the last parsed header (zero-copy)."""
        return self.data[self.remainder_offset :]

    def headers_at(self, depth: int) -> tuple[IPv4 | IPv6 | None, UDP | TCP | None]:
        """The IP header at ``depth`` and the UDP or TCP header it carries, where present."""
        ip: IPv4 | IPv6 | None = None
        for layer in self.layers:
            if isinstance(layer, IPv4 | IPv6) and layer.depth == depth:
                ip = layer
            elif isinstance(layer, UDP | TCP) and layer.depth == depth and ip is not None:
                return ip, layer
        return ip, None


def parse(
    data: Buffer | object,
    linktype: int | None = None,
    *,
    wire_length: int | None = None,
    config: ParseConfig | None = None,
) -> Frame:
    """Parse one captured frame of the given pcap link type.

    ``wire_length`` is the original length from the capture record (default: the
    captured length); it tells a snap-length cut from a lying length field.
    ``data`` is bytes-like (bytes, memoryview, a numpy uint8 array) or a dpkt or scapy
    packet object (its bytes). Without ``linktype``: a packet object's link type follows
    from its class (Ethernet, IP, IP6, SLL, SLL2, loopback); bytes are Ethernet, unless
    they are exactly one IPv4 or IPv6 packet (version, header and total length agree with
    the buffer) whose first bytes are no Ethernet header vxsum reads: then raw IP, so
    ``classify(ip_bytes)`` does not silently find nothing.
    Raises :class:`ParseError` for an unsupported link type or a link header that
    does not fit, and (with ``config.strict``) for any cut or malformed header.
    Misuse is a ``TypeError``: ``data`` not bytes-like, ``linktype`` or
    ``wire_length`` not an int (``bool`` included), ``config`` not a ParseConfig.

    >>> frame = parse(bytes.fromhex(
    ...     "4500001e00010000401166cc0a0000010a000002" "04d20035000a1234" "6869"), LinkType.RAW)
    >>> [type(layer).__name__ for layer in frame.layers]
    ['IPv4', 'UDP']
    >>> [(c.layer, str(c.status), hex(c.stored), hex(c.expected or 0)) for c in frame.checksums]
    [('ipv4', 'good', '0x66cc', '0x66cc'), ('udp', 'bad', '0x1234', '0x7e67')]
    """
    packet = _packet(data)
    if packet is not None:
        data, inferred = packet
        linktype = inferred if linktype is None else linktype
    if linktype is not None and type(linktype) is not int and not isinstance(linktype, LinkType):
        linktype = as_int("linktype", linktype)
    if wire_length is not None and type(wire_length) is not int:
        wire_length = as_int("wire_length", wire_length)
    if config is not None and not isinstance(config, ParseConfig):
        raise TypeError(f"config must be a ParseConfig, not {type(config).__name__}")
    try:
        buf = byte_view(cast(Buffer, data))  # not bytes-like: TypeError below
    except TypeError:
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}") from None
    if wire_length is None or wire_length < len(buf):
        wire_length = len(buf)
    if linktype is None:
        linktype = LinkType.RAW if _raw_ip(buf) else LinkType.ETHERNET
    if linktype not in SUPPORTED:
        raise ParseError("link", 0, f"unsupported link type {linktype}")
    walker = Walker(buf, wire_length, config or DEFAULT_CONFIG)
    walker.link(linktype)
    return Frame(
        data=buf,
        linktype=linktype,
        layers=tuple(walker.layers),
        checksums=tuple(walker.fields),
        remainder_offset=walker.rest,
        wire_length=wire_length,
        error=walker.error,
    )


_PACKET_LINKS = {
    "dpkt.ethernet.Ethernet": LinkType.ETHERNET,
    "dpkt.ip.IP": LinkType.RAW,
    "dpkt.ip6.IP6": LinkType.RAW,
    "dpkt.sll.SLL": LinkType.LINUX_SLL,
    "dpkt.sll2.SLL2": LinkType.LINUX_SLL2,
    "dpkt.loopback.Loopback": LinkType.NULL,
    "scapy.layers.l2.Ether": LinkType.ETHERNET,
    "scapy.layers.inet.IP": LinkType.RAW,
    "scapy.layers.inet6.IPv6": LinkType.RAW,
    "scapy.layers.l2.CookedLinux": LinkType.LINUX_SLL,
    "scapy.layers.l2.CookedLinuxV2": LinkType.LINUX_SLL2,
    "scapy.layers.l2.Loopback": LinkType.NULL,
}
"""dpkt's and scapy's packet classes that start a frame, by module and name (neither
library is imported to look them up), and the link type of their bytes."""

_ETHERTYPES = frozenset(
    {0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x9100, 0x8847, 0x8848, 0x8863, 0x8864, 0x88E5}
)


def _packet(data: object) -> tuple[bytes, LinkType] | None:
    """A dpkt or scapy packet object's bytes and link type (None: not one of those)."""
    kind = type(data)
    link = _PACKET_LINKS.get(f"{kind.__module__}.{kind.__qualname__}")
    return None if link is None else (bytes(data), link)  # type: ignore[call-overload]


def _raw_ip(buf: memoryview) -> bool:
    """Bytes that are exactly one IPv4 or IPv6 packet and no Ethernet frame vxsum reads."""
    n = len(buf)
    if n >= 14 and int.from_bytes(buf[12:14], "big") in _ETHERTYPES:
        return False
    version = buf[0] >> 4 if n else 0
    if version == 4 and n >= 20:
        return buf[0] & 0xF >= 5 and int.from_bytes(buf[2:4], "big") == n
    if version == 6 and n >= 40:
        return int.from_bytes(buf[4:6], "big") + 40 == n
    return False
