"""Link-layer headers: Ethernet, VLAN, MPLS, PPPoE, MACsec, Linux SLL and SLL2, BSD null.

Every header is a frozen, slotted dataclass that keeps its ``offset`` and ``length``
in the original buffer (zero-copy: checksums are recomputed over the captured bytes,
never over a re-serialisation) *and* every field value, so a builder can write the
header back. ``depth`` counts the IP headers before this one in the frame, as the
corpus README defines it (0 for the outer link layer and IP header, 1 inside one
tunnel, ...), and ``quoted`` marks headers quoted inside an ICMP error.

Each class has a ``decode`` class method that reads the header from a
:class:`~vxsum.frames.wire.Reader`, which raises :class:`~vxsum.errors.ParseError` when
the bytes run out. IP headers live in :mod:`vxsum.frames.ip`, transports in
:mod:`vxsum.frames.transport`, tunnel headers in :mod:`vxsum.frames.tunnels`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .layer import Fixed, Layer
from .wire import Reader

__all__ = [
    "ETH_8021AD",
    "ETH_8021Q",
    "ETH_IPV4",
    "ETH_IPV6",
    "ETH_MPLS",
    "ETH_PPPOE",
    "PPP",
    "VLAN_TPIDS",
    "Ethernet",
    "LinuxSLL",
    "LinuxSLL2",
    "MacSec",
    "Mpls",
    "Null",
    "PPPoE",
    "Vlan",
]

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_8021Q = 0x8100
ETH_8021AD = 0x88A8
ETH_MPLS = 0x8847
ETH_MPLS_MC = 0x8848
ETH_PPPOE = 0x8864
ETH_MACSEC = 0x88E5
VLAN_TPIDS = frozenset({ETH_8021Q, ETH_8021AD, 0x9100, 0x9200})
"""802.1Q, 802.1ad and the pre-standard QinQ tag protocol identifiers."""

_ETH = struct.Struct("!6s6sH")
_SLL = struct.Struct("!HHH8sH")
_SLL2 = struct.Struct("!HHIHBB8s")
_PPPOE = struct.Struct("!BBHHH")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ethernet(Fixed):
    """Ethernet II header (a length below 0x600 is an 802.3 frame: not decoded further)."""

    LAYER: ClassVar[str] = "ethernet"
    FORMAT: ClassVar[struct.Struct] = _ETH
    FIELDS: ClassVar[tuple[str, ...]] = ("dst", "src", "ethertype")

    dst: bytes
    src: bytes
    ethertype: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Vlan(Layer):
    """An 802.1Q or 802.1ad (QinQ) tag: the TPID that announced it, TCI and next type."""

    tpid: int
    pcp: int
    dei: int
    vid: int
    ethertype: int

    @classmethod
    def decode(cls, r: Reader, tpid: int, depth: int = 0) -> Vlan:
        r.layer = "vlan"
        start = r.pos
        tci = r.u16()
        etype = r.u16()
        return cls(
            offset=start,
            length=4,
            depth=depth,
            tpid=tpid,
            pcp=tci >> 13,
            dei=(tci >> 12) & 1,
            vid=tci & 0xFFF,
            ethertype=etype,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MacSec(Layer):
    """MACsec SecTAG (IEEE 802.1AE section 9.3), with the clear EtherType when not encrypted.

    ``ethertype`` is ``None`` when the E or C bit says the user data is encrypted or
    changed; then the walk stops. ``icv_length`` (16 with the default cipher suite)
    is the integrity check value at the end of the frame, not part of the payload.
    """

    tci_an: int
    short_length: int
    packet_number: int
    sci: bytes | None
    ethertype: int | None
    icv_length: int = 16

    @property
    def encrypted(self) -> bool:
        return bool(self.tci_an & 0x0C)

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> MacSec:
        r.layer = "macsec"
        start = r.pos
        tci = r.u8()
        sl = r.u8() & 0x3F
        pn = r.u32()
        sci = r.take(8) if tci & 0x20 else None
        etype = None if tci & 0x0C else r.u16()
        return cls(
            offset=start,
            length=r.pos - start,
            depth=depth,
            tci_an=tci,
            short_length=sl,
            packet_number=pn,
            sci=sci,
            ethertype=etype,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Mpls(Layer):
    """One MPLS label stack entry (RFC 3032)."""

    label: int
    tc: int
    bottom: bool
    ttl: int

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> Mpls:
        r.layer = "mpls"
        start = r.pos
        word = r.u32()
        return cls(
            offset=start,
            length=4,
            depth=depth,
            label=word >> 12,
            tc=(word >> 9) & 7,
            bottom=bool(word & 0x100),
            ttl=word & 0xFF,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PPP(Layer):
    """A PPP header in HDLC-like framing (RFC 1662): the address and control bytes
    (0xFF 0x03) unless compressed away, and the protocol, one byte when compressed (an odd
    first byte, RFC 1661 section 6.5). LINKTYPE_PPP (9) and PPTP's GRE payload carry it."""

    protocol: int

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> PPP:
        r.layer = "ppp"
        start = r.pos
        r.need(1)
        if r.remaining >= 2 and r.buf[r.pos] == 0xFF and r.buf[r.pos + 1] == 0x03:
            r.skip(2)
        r.need(1)
        protocol = r.u8() if r.buf[r.pos] & 1 else r.u16()
        return cls(offset=start, length=r.pos - start, depth=depth, protocol=protocol)


@dataclass(frozen=True, slots=True, kw_only=True)
class PPPoE(Layer):
    """PPPoE session header plus the 2-byte PPP protocol (RFC 2516); 8 bytes."""

    version: int
    type: int
    code: int
    session_id: int
    payload_length: int
    protocol: int

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> PPPoE:
        r.layer = "pppoe"
        start = r.pos
        vt, code, sid, plen, proto = r.unpack(_PPPOE)
        return cls(
            offset=start,
            length=8,
            depth=depth,
            version=vt >> 4,
            type=vt & 0xF,
            code=code,
            session_id=sid,
            payload_length=plen,
            protocol=proto,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LinuxSLL(Fixed):
    """Linux "cooked" capture header v1 (LINKTYPE_LINUX_SLL, 113); 16 bytes."""

    LAYER: ClassVar[str] = "sll"
    FORMAT: ClassVar[struct.Struct] = _SLL
    FIELDS: ClassVar[tuple[str, ...]] = (
        "packet_type",
        "arphrd_type",
        "address_length",
        "address",
        "protocol",
    )

    packet_type: int
    arphrd_type: int
    address_length: int
    address: bytes
    protocol: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LinuxSLL2(Fixed):
    """Linux "cooked" capture header v2 (LINKTYPE_LINUX_SLL2, 276); 20 bytes."""

    LAYER: ClassVar[str] = "sll2"
    FORMAT: ClassVar[struct.Struct] = _SLL2
    FIELDS: ClassVar[tuple[str, ...]] = (
        "protocol",
        "reserved",
        "interface_index",
        "arphrd_type",
        "packet_type",
        "address_length",
        "address",
    )

    protocol: int
    reserved: int
    interface_index: int
    arphrd_type: int
    packet_type: int
    address_length: int
    address: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Null(Layer):
    """BSD null/loopback header (LINKTYPE_NULL, 0): a 4-byte address family.

    The family is in the *capturing* host's byte order, so both orders are tried;
    ``byteorder`` records which one matched so a builder can write it back.
    """

    family: int
    byteorder: str

    @classmethod
    def decode(cls, r: Reader) -> Null:
        r.layer = "null"
        start = r.pos
        raw = r.take(4)
        little = int.from_bytes(raw, "little")
        if little <= 0xFFFF:
            return cls(offset=start, length=4, family=little, byteorder="little")
        return cls(offset=start, length=4, family=int.from_bytes(raw, "big"), byteorder="big")
