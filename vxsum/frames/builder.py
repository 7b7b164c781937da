"""Build frames from layer specifications: the inverse of :func:`vxsum.parse`.

A *specification* is a parsed header without its place in a buffer: each ``*Spec``
class has the field names of the parser's dataclass it mirrors (``IPv4Spec`` and
:class:`~vxsum.frames.ip.IPv4`, ...), minus ``offset``, ``length``, ``depth`` and ``quoted``.
The fields a sender derives are computed unless the caller pins them, and pinning
a wrong value is allowed (that is how tests make length mismatches):

* ``None`` lengths: IPv4 ``ihl`` and ``total_length``, IPv6 ``payload_length``,
  extension ``header_length``, UDP ``length_field``, TCP ``data_offset``, Geneve
  ``options_length``. A packet extends to the end of the frame, or to the end its
  enclosing header claims if that is shorter (pin an IPv4 total length to leave an
  Ethernet trailer outside the packet);
* ``None`` next-protocol fields (EtherType, IP protocol, next header, Geneve
  protocol) from the type of the next specification; a VLAN's ``tpid`` is written
  by the header before it. A UDP ``dst_port`` of ``None`` is the tunnel's IANA port
  (VXLAN 4789, Geneve 6081) or 9 (discard) before anything else;
* checksums by :class:`Checksum` mode, one per checksum-bearing header.

Addresses and MACs may be given as text; a specification stores them packed, as the
parser does, so specifications compare equal field by field with parsed headers.

:func:`build` takes the specifications outermost first; ``bytes`` items are copied
as they are (the payload at the end, or a header this module does not know). A
tunnel's inner frame is just more specifications after the VXLAN or Geneve header.
Options are padded to their header's alignment (zeros for IPv4 and TCP, RFC 791
section 3.1 and RFC 9293 section 3.1; Pad1/PadN for IPv6, RFC 8200 section 4.2),
and the parser returns the padded options. :func:`spec_of` turns a parsed header
back into a specification with every field pinned, so
``build([*map(spec_of, frame.layers), bytes(frame.remainder)])`` gives the captured
bytes back.

Checksums are computed over the final bytes, innermost first, so an outer UDP
checksum covers the inner packet's final checksum values. They cover what the
parser checks (:mod:`vxsum.frames.ipwalk`): the IPv4 header (``ihl * 4`` bytes); UDP by its
length field (RFC 768); TCP, ICMP and ICMPv6 to the end of the IP packet; with the
RFC 768/793 pseudo-header over IPv4 and the RFC 8200 section 8.1 one over IPv6,
whose destination is a routing header's final destination and whose source is a
Home Address option's address (RFC 6275 section 6.3), both read with the parser's
own decoders.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Literal, TypeAlias

from ..core.buffer import Address, _packed, checksum, ones_add, pseudo_header_sum_v4
from ..core.buffer import pseudo_header_sum_v6 as _pseudo_v6
from ..errors import ParseError
from .ip import (
    EXT_DSTOPTS,
    EXT_FRAGMENT,
    EXT_HOPOPTS,
    EXT_ROUTING,
    IPv4,
    IPv6,
    IPv6Fragment,
    IPv6Options,
    IPv6Routing,
)
from .layer import Layer
from .link import ETH_8021Q, ETH_IPV4, ETH_IPV6, Ethernet, Vlan
from .transport import ICMP, TCP, UDP, ICMPv6
from .tunnels import Geneve, GeneveOption, Vxlan
from .wire import Reader

__all__ = [
    "Checksum",
    "ChecksumMode",
    "EthernetSpec",
    "GeneveSpec",
    "ICMPSpec",
    "ICMPv6Spec",
    "IPv4Spec",
    "IPv6FragmentSpec",
    "IPv6OptionsSpec",
    "IPv6RoutingSpec",
    "IPv6Spec",
    "Spec",
    "TCPSpec",
    "UDPSpec",
    "VlanSpec",
    "VxlanSpec",
    "build",
    "spec_of",
]

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_FRAG6 = struct.Struct("!BBHI")
_PORTS = struct.Struct("!HHHH")
_TCP = struct.Struct("!HHIIHHHH")
_ICMP = struct.Struct("!BBH4s")
_VXLAN = struct.Struct("!BHBHBB")
_GENEVE = struct.Struct("!BBHHBB")
_GENEVE_OPT = struct.Struct("!HBB")
_ETH_TEB = 0x6558  # transparent Ethernet bridging: Ethernet inside Geneve
VXLAN_PORT, GENEVE_PORT, DISCARD_PORT = 4789, 6081, 9


class Checksum(StrEnum):
    """How :func:`build` fills a checksum field; an ``int`` instead pins the value."""

    CORRECT = "correct"
    """The checksum of the final bytes; a computed 0 is written 0xFFFF in UDP (RFC 768,
    RFC 8200 section 8.1), whose zero field means "no checksum"."""
    ZERO = "zero"
    """0x0000: no checksum for UDP over IPv4, an illegal zero over IPv6, else bad."""
    SEED = "seed"
    """The folded pseudo-header sum, not complemented: what a Linux sender leaves for
    its NIC with CHECKSUM_PARTIAL. Only UDP, TCP and ICMPv6 have a pseudo-header."""


ChecksumMode: TypeAlias = "Checksum | Literal['correct', 'zero', 'seed'] | int"
"""A :class:`Checksum` member, its string value, or a 16-bit value to write as is."""


def _mode(value: ChecksumMode, seed_ok: bool = True) -> Checksum | int:
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"checksum value {value} is not a 16-bit value")
        return value
    mode = Checksum(value)
    if mode is Checksum.SEED and not seed_ok:
        raise ValueError("a seed needs a pseudo-header: only UDP, TCP and ICMPv6 have one")
    return mode


def _mac(value: bytes | str) -> bytes:
    raw = (
        bytes.fromhex(value.replace(":", "").replace("-", "")) if isinstance(value, str) else value
    )
    if len(raw) != 6:
        raise ValueError(f"a MAC address has 6 bytes, got {len(raw)}")
    return bytes(raw)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass in __post_init__


@dataclass(frozen=True, slots=True, kw_only=True)
class EthernetSpec:
    """Ethernet II header; MACs as 6 bytes or ``"02:00:00:00:00:01"`` text."""

    dst: bytes | str = b"\x02\x00\x00\x00\x00\x02"
    src: bytes | str = b"\x02\x00\x00\x00\x00\x01"
    ethertype: int | None = None

    def __post_init__(self) -> None:
        _set(self, "dst", _mac(self.dst))
        _set(self, "src", _mac(self.src))


@dataclass(frozen=True, slots=True, kw_only=True)
class VlanSpec:
    """An 802.1Q/802.1ad tag; ``tpid`` goes into the EtherType field of the header before."""

    tpid: int = ETH_8021Q
    pcp: int = 0
    dei: int = 0
    vid: int = 0
    ethertype: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv4Spec:
    """IPv4 header (RFC 791); addresses in any :data:`~vxsum.core.buffer.Address` form."""

    src: Address = "192.0.2.1"
    dst: Address = "192.0.2.2"
    version: int = 4
    ihl: int | None = None
    tos: int = 0
    total_length: int | None = None
    """``None`` to compute; pin 0 for a TSO / BIG TCP capture (the parser's length-zero)."""
    identification: int = 0
    flags: int = 0
    fragment_offset: int = 0
    ttl: int = 64
    protocol: int | None = None
    checksum: ChecksumMode = Checksum.CORRECT
    options: bytes = b""

    def __post_init__(self) -> None:
        _set(self, "src", _packed(self.src, 4))
        _set(self, "dst", _packed(self.dst, 4))
        _set(self, "checksum", _mode(self.checksum, seed_ok=False))


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6Spec:
    """IPv6 fixed header (RFC 8200 section 3)."""

    src: Address = "2001:db8::1"
    dst: Address = "2001:db8::2"
    version: int = 6
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int | None = None
    next_header: int | None = None
    hop_limit: int = 64

    def __post_init__(self) -> None:
        _set(self, "src", _packed(self.src, 16))
        _set(self, "dst", _packed(self.dst, 16))


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6OptionsSpec:
    """Hop-by-hop (``kind`` 0) or destination options (60) header (RFC 8200 4.3, 4.6).

    ``options`` holds ``(type, data)`` pairs; ``(0, b"")`` is Pad1.
    """

    kind: int = EXT_HOPOPTS
    next_header: int | None = None
    header_length: int | None = None
    options: tuple[tuple[int, bytes], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6RoutingSpec:
    """Routing header (RFC 8200 section 4.4).

    ``data`` (everything after the first 4 bytes) is written as given, ``addresses``
    then only telling :func:`spec_of` what the parser read; it is built from them when
    ``None``: 4 reserved bytes and the list for types 0 and 2, the segment routing
    fields (last entry, flags, tag) and the list for type 4 (RFC 8754, segment 0
    first: the final destination). ``segments_left`` defaults to the list's length
    (one less for type 4).
    """

    next_header: int | None = None
    header_length: int | None = None
    routing_type: int = 0
    segments_left: int | None = None
    data: bytes | None = None
    addresses: tuple[Address, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "addresses", tuple(_packed(a, 16) for a in self.addresses))


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6FragmentSpec:
    """Fragment header (RFC 8200 section 4.5); the default is an atomic fragment."""

    next_header: int | None = None
    reserved: int = 0
    fragment_offset: int = 0
    flags: int = 0
    identification: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UDPSpec:
    """UDP header (RFC 768); ``length_field`` covers header and data."""

    src_port: int = 49152
    dst_port: int | None = None
    length_field: int | None = None
    checksum: ChecksumMode = Checksum.CORRECT

    def __post_init__(self) -> None:
        _set(self, "checksum", _mode(self.checksum))


@dataclass(frozen=True, slots=True, kw_only=True)
class TCPSpec:
    """TCP header (RFC 9293 section 3.1); ``flags`` are the 12 bits after the offset."""

    src_port: int = 49152
    dst_port: int = 80
    seq: int = 0
    ack: int = 0
    data_offset: int | None = None
    flags: int = 0x002
    window: int = 65535
    checksum: ChecksumMode = Checksum.CORRECT
    urgent: int = 0
    options: bytes = b""

    def __post_init__(self) -> None:
        _set(self, "checksum", _mode(self.checksum))


@dataclass(frozen=True, slots=True, kw_only=True)
class ICMPSpec:
    """ICMP header (RFC 792): type, code, checksum and the 4-byte rest of header."""

    type: int = 8
    code: int = 0
    checksum: ChecksumMode = Checksum.CORRECT
    rest: bytes = bytes(4)

    def __post_init__(self) -> None:
        _set(self, "checksum", _mode(self.checksum, seed_ok=False))


@dataclass(frozen=True, slots=True, kw_only=True)
class ICMPv6Spec:
    """ICMPv6 header (RFC 4443), checksummed with the IPv6 pseudo-header."""

    type: int = 128
    code: int = 0
    checksum: ChecksumMode = Checksum.CORRECT
    rest: bytes = bytes(4)

    def __post_init__(self) -> None:
        _set(self, "checksum", _mode(self.checksum))


@dataclass(frozen=True, slots=True, kw_only=True)
class VxlanSpec:
    """VXLAN header (RFC 7348 section 5); the I flag (0x08) set by default."""

    flags: int = 0x08
    reserved1: int = 0
    vni: int = 0
    reserved2: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneveSpec:
    """Geneve header and options (RFC 8926 sections 3.4, 3.5); option data in 4-byte units."""

    version: int = 0
    options_length: int | None = None
    oam: bool = False
    critical: bool = False
    reserved1: int = 0
    protocol: int | None = None
    vni: int = 0
    reserved2: int = 0
    options: tuple[GeneveOption, ...] = ()


Spec: TypeAlias = (
    "EthernetSpec | VlanSpec | IPv4Spec | IPv6Spec | IPv6OptionsSpec | IPv6RoutingSpec"
    " | IPv6FragmentSpec | UDPSpec | TCPSpec | ICMPSpec | ICMPv6Spec | VxlanSpec | GeneveSpec"
)
"""Any layer specification :func:`build` accepts."""

_SPEC_OF: dict[type[Layer], type[Spec]] = {
    Ethernet: EthernetSpec,
    Vlan: VlanSpec,
    IPv4: IPv4Spec,
    IPv6: IPv6Spec,
    IPv6Options: IPv6OptionsSpec,
    IPv6Routing: IPv6RoutingSpec,
    IPv6Fragment: IPv6FragmentSpec,
    UDP: UDPSpec,
    TCP: TCPSpec,
    ICMP: ICMPSpec,
    ICMPv6: ICMPv6Spec,
    Vxlan: VxlanSpec,
    Geneve: GeneveSpec,
}

_SPECS = tuple(_SPEC_OF.values())


def spec_of(layer: Layer) -> Spec:
    """The specification of a parsed header, every field pinned (checksums as values).

    Raises ``TypeError`` for headers :func:`build` does not write (MPLS, GRE, ...).
    """
    cls = _SPEC_OF.get(type(layer))
    if cls is None:
        raise TypeError(f"no specification for {type(layer).__name__} headers")
    return cls(**{f.name: getattr(layer, f.name) for f in fields(cls)})


# --- serialising ------------------------------------------------------------------------


def _pad(data: bytes, unit: int) -> bytes:
    return data + bytes(-len(data) % unit)


def _bits(value: int, width: int, name: str) -> int:
    if not 0 <= value < 1 << width:
        raise ValueError(f"{name} {value} does not fit in {width} bits")
    return value


def _ipv6_options(spec: IPv6OptionsSpec) -> bytes:
    """The TLVs after next header and length, padded with Pad1/PadN to 8n - 2 bytes."""
    body = b"".join(bytes([t, len(d)]) + d if t else b"\0" for t, d in spec.options)
    need = -(len(body) + 2) % 8
    return body + (b"\0" if need == 1 else bytes([1, need - 2]) + bytes(need - 2) if need else b"")


def _routing_data(spec: IPv6RoutingSpec) -> bytes:
    if spec.data is not None:
        if (len(spec.data) + 4) % 8:
            raise ValueError(f"routing header data of {len(spec.data)} bytes is not 8n + 4")
        return spec.data
    addrs = b"".join(a for a in spec.addresses if isinstance(a, bytes))
    if spec.routing_type == 4:
        return bytes([max(len(spec.addresses) - 1, 0), 0, 0, 0]) + addrs
    return bytes(4) + addrs


def _geneve_options(spec: GeneveSpec) -> bytes:
    out = b""
    for opt in spec.options:
        if len(opt.data) % 4 or len(opt.data) > 124:
            raise ValueError(f"Geneve option data of {len(opt.data)} bytes: 4n, at most 124")
        flags_len = (_bits(opt.flags, 3, "Geneve option flags") << 5) | len(opt.data) // 4
        out += _GENEVE_OPT.pack(opt.option_class, opt.type, flags_len) + opt.data
    return out


def _size(item: Spec | bytes) -> int:
    """Bytes the item takes in the frame (what is written, whatever lengths are pinned)."""
    if isinstance(item, bytes):
        return len(item)
    if isinstance(item, IPv4Spec | TCPSpec):
        return 20 + len(_pad(item.options, 4))
    if isinstance(item, IPv6OptionsSpec):
        return 2 + len(_ipv6_options(item))
    if isinstance(item, IPv6RoutingSpec):
        return 4 + len(_routing_data(item))
    if isinstance(item, GeneveSpec):
        return 8 + len(_geneve_options(item))
    sizes = {EthernetSpec: 14, VlanSpec: 4, IPv6Spec: 40}
    return sizes.get(type(item), 8)  # fragment, UDP, ICMP, ICMPv6, VXLAN


def _ethertype(nxt: Spec | bytes | None) -> int | None:
    """The EtherType announcing the next specification, if it has one."""
    if isinstance(nxt, VlanSpec):
        return nxt.tpid
    return {IPv4Spec: ETH_IPV4, IPv6Spec: ETH_IPV6, EthernetSpec: _ETH_TEB}.get(type(nxt))


def _protocol(nxt: Spec | bytes | None) -> int | None:
    """The IP protocol / IPv6 next header announcing the next specification."""
    if isinstance(nxt, IPv6OptionsSpec):
        return nxt.kind
    numbers: dict[type, int] = {
        UDPSpec: 17,
        TCPSpec: 6,
        ICMPSpec: 1,
        ICMPv6Spec: 58,
        IPv4Spec: 4,
        IPv6Spec: 41,
        IPv6RoutingSpec: EXT_ROUTING,
        IPv6FragmentSpec: EXT_FRAGMENT,
    }
    return numbers.get(type(nxt))


def _given(value: int | None, derived: int | None, what: str) -> int:
    if value is not None:
        return value
    if derived is None:
        raise ValueError(f"{what} cannot be told from the next layer: pin it")
    return derived


@dataclass(frozen=True, slots=True)
class _Packet:
    """The enclosing IP packet, as a transport's checksum sees it."""

    version: int
    src: bytes
    dst: bytes
    claimed_end: int
    """End by the IP length fields (pinned ones included)."""
    end: int
    """``claimed_end`` clipped to the bytes there."""

    def pseudo(self, proto: int, length: int) -> int:
        length = max(length, 0)
        if self.version == 6:
            return _pseudo_v6(self.src, self.dst, proto, min(length, 0xFFFFFFFF))
        # A pinned (TSO) length past 0xFFFF is summed as a 32-bit value, as Linux does.
        base = pseudo_header_sum_v4(self.src, self.dst, proto, 0)
        return ones_add(base, length >> 16, length & 0xFFFF)


@dataclass(frozen=True, slots=True)
class _Job:
    """One checksum field to fill once the bytes it covers are final."""

    field: int
    start: int
    end: int
    pseudo: int
    mode: Checksum | int
    udp: bool = False


class _Writer:
    """State of one :func:`build`: the buffer, the enclosing packet, the checksum jobs."""

    def __init__(self, items: list[Spec | bytes]) -> None:
        self.buf = bytearray(sum(map(_size, items)))
        self.limit = len(self.buf)  # end of the innermost container by its length fields
        self.packet: _Packet | None = None
        self.jobs: list[_Job] = []

    def transport(self, pos: int, mode: ChecksumMode, proto: int, udp_length: int = 0) -> None:
        p = self.packet
        if p is None:
            raise ValueError("a transport header needs an IP header before it")
        end, length = p.end, p.claimed_end - pos
        if proto == 17:
            end, length = min(pos + udp_length, self.limit), udp_length
        pseudo = p.pseudo(proto, length) if proto != 1 else 0
        field = pos + {6: TCP.checksum_offset, 17: UDP.checksum_offset}.get(proto, 2)
        self.jobs.append(_Job(field, pos, end, pseudo, _mode(mode), udp=proto == 17))

    def write(self, pos: int, item: Spec | bytes, nxt: Spec | bytes | None) -> None:
        buf, size = self.buf, _size(item)
        if isinstance(item, bytes):
            buf[pos : pos + size] = item
        elif isinstance(item, EthernetSpec):
            etype = _given(item.ethertype, _ethertype(nxt), "the EtherType")
            struct.pack_into("!6s6sH", buf, pos, item.dst, item.src, etype)
        elif isinstance(item, VlanSpec):
            tci = _bits(item.pcp, 3, "PCP") << 13 | _bits(item.dei, 1, "DEI") << 12
            tci |= _bits(item.vid, 12, "VID")
            etype = _given(item.ethertype, _ethertype(nxt), "the EtherType")
            struct.pack_into("!HH", buf, pos, tci, etype)
        elif isinstance(item, IPv4Spec):
            self.ipv4(pos, item, nxt, size)
        elif isinstance(item, IPv6Spec):
            self.ipv6(pos, item, nxt)
        elif isinstance(item, IPv6OptionsSpec | IPv6RoutingSpec):
            self.extension(pos, item, nxt, size)
        elif isinstance(item, IPv6FragmentSpec):
            nh = _given(item.next_header, _protocol(nxt), "the next header")
            off = _bits(item.fragment_offset, 13, "fragment offset") << 3
            off |= _bits(item.flags, 3, "fragment flags")
            _FRAG6.pack_into(buf, pos, nh, item.reserved, off, item.identification)
        elif isinstance(item, UDPSpec):
            port = {VxlanSpec: VXLAN_PORT, GeneveSpec: GENEVE_PORT}.get(type(nxt), DISCARD_PORT)
            dport = item.dst_port if item.dst_port is not None else port
            ulen = _given(item.length_field, self.limit - pos, "")
            _PORTS.pack_into(buf, pos, item.src_port, dport, ulen, 0)
            self.transport(pos, item.checksum, 17, ulen)
            self.limit = min(self.limit, pos + ulen)
        elif isinstance(item, TCPSpec):
            doff = _bits(_given(item.data_offset, size // 4, ""), 4, "data offset")
            flags = doff << 12 | _bits(item.flags, 12, "TCP flags")
            hdr = (item.src_port, item.dst_port, item.seq, item.ack, flags, item.window)
            _TCP.pack_into(buf, pos, *hdr, 0, item.urgent)
            buf[pos + 20 : pos + size] = _pad(item.options, 4)
            self.transport(pos, item.checksum, 6)
        elif isinstance(item, ICMPSpec | ICMPv6Spec):
            if len(item.rest) != 4:
                raise ValueError(f"the rest of an ICMP header has 4 bytes, not {len(item.rest)}")
            _ICMP.pack_into(buf, pos, item.type, item.code, 0, item.rest)
            self.transport(pos, item.checksum, 1 if isinstance(item, ICMPSpec) else 58)
        elif isinstance(item, VxlanSpec):
            r1, vni = _bits(item.reserved1, 24, "reserved"), _bits(item.vni, 24, "VNI")
            hdr = (item.flags, r1 >> 8, r1 & 0xFF, vni >> 8, vni & 0xFF, item.reserved2)
            _VXLAN.pack_into(buf, pos, *hdr)
        else:
            opts = _geneve_options(item)
            olen = _bits(_given(item.options_length, len(opts) // 4, ""), 6, "options length")
            flags = item.oam << 7 | item.critical << 6 | _bits(item.reserved1, 6, "reserved")
            proto = _given(item.protocol, _ethertype(nxt), "the Geneve protocol")
            vni = _bits(item.vni, 24, "VNI")
            ver = _bits(item.version, 2, "version") << 6
            _GENEVE.pack_into(
                buf, pos, ver | olen, flags, proto, vni >> 8, vni & 0xFF, item.reserved2
            )
            buf[pos + 8 : pos + size] = opts

    def ipv4(self, pos: int, ip: IPv4Spec, nxt: Spec | bytes | None, size: int) -> None:
        ihl = _bits(_given(ip.ihl, size // 4, ""), 4, "IHL")
        tlen = _given(ip.total_length, self.limit - pos, "")
        claimed = pos + tlen if tlen else self.limit  # 0: TSO, the length is the capture's
        frag = _bits(ip.flags, 3, "IPv4 flags") << 13 | _bits(ip.fragment_offset, 13, "offset")
        proto = _given(ip.protocol, _protocol(nxt), "the IP protocol")
        head = (_bits(ip.version, 4, "version") << 4 | ihl, ip.tos, tlen, ip.identification)
        _IPV4.pack_into(self.buf, pos, *head, frag, ip.ttl, proto, 0, ip.src, ip.dst)
        self.buf[pos + 20 : pos + size] = _pad(ip.options, 4)
        assert isinstance(ip.src, bytes) and isinstance(ip.dst, bytes)  # by __post_init__
        self.enter(_Packet(4, ip.src, ip.dst, claimed, min(claimed, self.limit)))
        mode = _mode(ip.checksum, seed_ok=False)
        self.jobs.append(_Job(pos + 10, pos, min(pos + ihl * 4, len(self.buf)), 0, mode))

    def ipv6(self, pos: int, ip: IPv6Spec, nxt: Spec | bytes | None) -> None:
        plen = _given(ip.payload_length, self.limit - pos - 40, "")
        claimed = pos + 40 + plen if plen else self.limit  # 0: a jumbogram or BIG TCP
        nh = _given(ip.next_header, _protocol(nxt), "the next header")
        vtf = _bits(ip.version, 4, "version") << 28 | _bits(ip.traffic_class, 8, "class") << 20
        vtf |= _bits(ip.flow_label, 20, "flow label")
        _IPV6.pack_into(self.buf, pos, vtf, plen, nh, ip.hop_limit, ip.src, ip.dst)
        assert isinstance(ip.src, bytes) and isinstance(ip.dst, bytes)  # by __post_init__
        self.enter(_Packet(6, ip.src, ip.dst, claimed, min(claimed, self.limit)))

    def enter(self, packet: _Packet) -> None:
        self.packet = packet
        self.limit = packet.end

    def extension(
        self, pos: int, ext: IPv6OptionsSpec | IPv6RoutingSpec, nxt: Spec | bytes | None, size: int
    ) -> None:
        """A hop-by-hop, destination options or routing header; the pseudo-header's
        addresses change as the parser's walk changes them (RFC 8200 section 8.1)."""
        nh = _given(ext.next_header, _protocol(nxt), "the next header")
        hlen = _given(ext.header_length, size // 8 - 1, "")
        self.buf[pos : pos + 2] = bytes([nh, _bits(hlen, 8, "header length")])
        if isinstance(ext, IPv6OptionsSpec):
            self.buf[pos + 2 : pos + size] = _ipv6_options(ext)
        else:
            left = ext.segments_left
            if left is None:
                left = len(ext.addresses) - (ext.routing_type == 4)
            self.buf[pos + 2 : pos + 4] = bytes([ext.routing_type, max(left, 0)])
            self.buf[pos + 4 : pos + size] = _routing_data(ext)
        if self.packet is None or self.packet.version != 6:
            return
        reader = Reader(memoryview(bytes(self.buf[pos : pos + size])))
        src, dst = self.packet.src, self.packet.dst
        try:
            if isinstance(ext, IPv6RoutingSpec):
                dst = IPv6Routing.decode(reader).final_destination or dst
            elif ext.kind == EXT_DSTOPTS:
                src = IPv6Options.decode(reader, kind=ext.kind).home_address or src
        except ParseError:
            return  # a pinned length that the parser cannot follow either
        p = self.packet
        self.packet = _Packet(6, src, dst, p.claimed_end, p.end)

    def fill(self) -> None:
        """Fill the checksum fields, innermost first: an outer span covers inner fields."""
        buf = self.buf
        for job in reversed(self.jobs):
            if job.mode is Checksum.CORRECT:
                value = checksum(bytes(buf[job.start : job.end]), job.pseudo)
                if value == 0 and job.udp:
                    value = 0xFFFF
            elif job.mode is Checksum.ZERO:
                value = 0
            elif job.mode is Checksum.SEED:
                value = job.pseudo
            else:
                value = int(job.mode)
            struct.pack_into("!H", buf, job.field, value)


def build(layers: Iterable[Spec | bytes]) -> bytes:
    """Serialise layer specifications, outermost first, into one frame.

    Lengths, next-protocol fields and checksums are derived as the module docstring
    says unless pinned. Raises ``ValueError`` for a field out of range or one that
    cannot be derived (the IP protocol before raw ``bytes``, say).

    >>> from vxsum import parse
    >>> frame = build([EthernetSpec(), IPv4Spec(), UDPSpec(dst_port=53), b"hi"])
    >>> [(c.layer, str(c.status)) for c in parse(frame).checksums]
    [('ipv4', 'good'), ('udp', 'good')]
    """
    items = list(layers)
    for item in items:
        if not isinstance(item, (bytes, *_SPECS)):
            raise TypeError(f"not a layer specification or bytes: {type(item).__name__}")
    writer = _Writer(items)
    pos = 0
    for i, item in enumerate(items):
        nxt = items[i + 1] if i + 1 < len(items) else None
        try:
            writer.write(pos, item, nxt)
        except (ValueError, struct.error) as err:
            raise ValueError(f"layer {i} ({type(item).__name__}): {err}") from err
        pos += _size(item)
    writer.fill()
    return bytes(writer.buf)
