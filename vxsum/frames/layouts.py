"""The common layouts, read for a whole batch of records at once: facts in bulk.

Most packets of a capture share one of a few layouts, and for those every header sits at
one of a few fixed offset sets, so the facts of their checksum fields
(:data:`vxsum.frames.facts.FACT`, the same rows that :func:`vxsum.frames.facts.facts_of`
makes from a parsed frame) are a few array operations per set: :func:`common_facts`.
This module only recognises the layouts and reads columns; the rules are
:mod:`vxsum.verdicts.rules`. The link layer (:func:`_link`, the one place that knows
link layers) says where the IP header starts: Ethernet or Linux cooked (SLL, SLL2) with
at most two VLAN tags (802.1Q, or QinQ: any tag protocol identifier the parser knows), BSD
null/loopback, or raw IP. From the IP header on there are two layouts:

* plain (:func:`_plain_layout`): IPv4 (with or without options) or IPv6 without
  extension headers, carrying TCP, UDP off the tunnel ports, ICMP (not an error, which
  quotes a packet) or ICMPv6 (likewise). An offset set per IPv4 header length and one for
  IPv6. What the parser says about a first fragment, a later one (no transport header),
  Ethernet padding, a length field that claims more than there is, a snap-length cut, a
  zero UDP field (over IPv6 by ``ipv6_zero_checksum_ports``) and a TCP data offset below
  5 (no transport field) is said here too, column by column;
* tunnel (:func:`_one_layout`): IPv4 without options or IPv6 / UDP on a VXLAN port /
  VXLAN / Ethernet (optional tag) / IPv4 or IPv6 / TCP or UDP, with no IP options,
  extension headers or fragments, and lengths that agree with the record: 16 offset sets.

Left to the per-frame parser (``fits`` is False): everything else, including a transport
header cut short (its checksum field may still be there), IPv4 total length 0 or IPv6
payload length 0 (TSO / BIG TCP), an ICMP message whose rest and data are all zero (or
sum to -0: only the bytes can tell which, see :func:`vxsum.frames.fields.evaluate`),
zero UDP fields over IPv6 in a tunnel (their status depends on the configured tunnel
ports) and inner UDP on a tunnel port (a nested tunnel).

How it is fast: the first 152 bytes from every record's IP header are copied into one
(records, 152) array with a single gather, so header fields are column slices. Sums are
taken modulo 0xFFFF, where a big-endian 32- or 64-bit value is congruent to the sum of its
16-bit words (2**16 = 1 mod 0xFFFF), so a 20-byte header is three reads, not ten. The only
pass over whole packets is the (inner) transport span (:func:`vxsum.ones_sums`); a tunnel's
outer UDP sum is that span's sum plus the headers between. Modulo 0xFFFF is exact here
because no covered data is all zero (every span holds a version or protocol byte, or a
pseudo-header with the protocol in it), which is why the one span without a pseudo-header,
ICMP's, goes to the parser when its bytes other than the field sum to 0 modulo 0xFFFF.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..capture.linktypes import LinkType
from ..core.batch import ones_sums
from .config import ParseConfig
from .facts import FACT, Columns, columns, layer_code, status_code
from .fields import REASONS, Reason, Status
from .link import ETH_IPV4, ETH_IPV6, VLAN_TPIDS

__all__ = ["common_facts"]

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
B = npt.NDArray[np.bool_]

_IPV4, _UDP, _TCP = layer_code("ipv4"), layer_code("udp"), layer_code("tcp")
_ICMP, _ICMPV6 = layer_code("icmp"), layer_code("icmpv6")
_GOOD, _BAD = status_code(Status.GOOD), status_code(Status.BAD)
_NOCS, _ILLEGAL = status_code(Status.NO_CHECKSUM), status_code(Status.ILLEGAL_ZERO)
_UNVERIFIABLE = status_code(Status.UNVERIFIABLE)
_SNAPLEN, _FRAGMENT, _MISMATCH = (
    REASONS.index(r) for r in (Reason.SNAPLEN, Reason.FRAGMENT, Reason.LENGTH_MISMATCH)
)
_MOD = 0xFFFF
_BLOCK = 152  # bytes of each record copied: the deepest header read ends before this
_MIN = 78  # the fewest bytes from the outer IP header on (all IPv4, no tag, inner UDP)
_RAW = [int(LinkType.RAW), 12, 14, 228, 229]  # raw IP, under all its numbers
_ETHERTYPE_AT = {  # link layers that end in an EtherType: where it is, where they end
    LinkType.ETHERNET: (12, 14),
    LinkType.LINUX_SLL: (14, 16),
    LinkType.LINUX_SLL2: (0, 20),
}
_TAGS = 2  # VLAN tags read here (802.1Q, or QinQ); more are left to the parser
_TPIDS = np.array(sorted(VLAN_TPIDS), dtype=np.int64)
_NULL_IPV6 = np.array([24, 28, 30])  # AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS


def _lookup(values: Iterable[int], size: int) -> B:
    """Whether each number below ``size`` is one of ``values``: ``table[x]`` is a set
    membership test that costs one gather (``np.isin`` sorts)."""
    table = np.zeros(size, dtype=bool)
    table[list(values)] = True
    return table


# IP protocols the parser reads past an IPv4 header (the others end the walk there).
_READ_V4 = _lookup([1, 2, 4, 6, 17, 41, 47, 50, 51, 103, 112, 136], 256)
# ICMP messages for the parser: errors quote a packet (ICMPv6's: types 1-4), and an extended
# echo request (42; ICMPv6's 160, RFC 8335) carries an extension structure with a checksum
_ICMP_ERRORS = _lookup([3, 4, 5, 11, 12, 42], 256)


class _Block:
    """The first bytes of many records as a (records, 152) array: fields are columns."""

    def __init__(self, h: U8) -> None:
        self.h = h

    def u8(self, at: int) -> I64:
        return self.h[:, at].astype(np.int64)

    def u16(self, at: int) -> I64:
        return self.h[:, at : at + 2].view(">u2")[:, 0].astype(np.int64)

    def m32(self, at: int) -> I64:
        """The 4 bytes at ``at`` as a value congruent to their word sum mod 0xFFFF."""
        return self.h[:, at : at + 4].view(">u4")[:, 0].astype(np.int64)

    def m64(self, at: int) -> I64:
        """The 8 bytes at ``at``, reduced to a value congruent to their word sum."""
        x = self.h[:, at : at + 8].view(">u8")[:, 0].astype(np.uint64)
        return ((x >> np.uint64(32)) + (x & np.uint64(0xFFFFFFFF))).astype(np.int64)

    def ip_sums(self, at: int, v6: bool) -> tuple[I64, I64]:
        """(Header sum, address sum) of the IP header at ``at``, modulo 0xFFFF congruent."""
        if v6:
            addr = self.m64(at + 8) + self.m64(at + 16) + self.m64(at + 24) + self.m64(at + 32)
            return self.m64(at) + addr, addr
        addr = self.m64(at + 12)
        return self.m64(at) + self.m32(at + 8) + addr, addr


def _fold(x: I64) -> I64:
    """Ones'-complement fold of non-negative values: mod 0xFFFF, but -0 for non-zero."""
    return np.where(x == 0, 0, (x - 1) % _MOD + 1)


def _csum(total: I64) -> I64:
    """The checksum for a non-zero data sum ``total``: 0 when it sums to -0."""
    m = total % _MOD
    return np.where(m == 0, 0, 0xFFFF ^ m)


def _tunnel_ports(config: ParseConfig) -> B:
    """The UDP ports the parser reads a tunnel on, as a lookup table."""
    ports = config.vxlan_ports | config.vxlan_gpe_ports | config.geneve_ports
    ports |= config.teredo_ports | config.mpls_ports | config.l2tp_ports | config.gtpu_ports
    return _lookup(ports, 0x10000)


def _pick(a: npt.NDArray[Any], index: I64) -> npt.NDArray[Any]:
    """``a[index]`` along the first axis, for a contiguous array: ``np.take`` is several
    times faster than indexing there (16 times for the (n, 8) big-endian addresses)."""
    return np.take(a, index, axis=0)


def _ip_ok(blk: _Block, at: int, v6: bool, left: I64, protos: list[int]) -> B:
    """IPv4 without options or fragments, or IPv6 without extension headers, carrying
    one of ``protos``, whose length field says it fills the ``left`` bytes."""
    ok: B
    if v6:
        ok = ((blk.u8(at) >> 4) == 6) & (blk.u16(at + 4) == left - 40) & (left > 40)
        ok &= _member(blk.u8(at + 6), np.array(protos))
    else:
        ok = (blk.u8(at) == 0x45) & (blk.u16(at + 2) == left)
        ok &= ((blk.u16(at + 6) & 0x3FFF) == 0) & _member(blk.u8(at + 9), np.array(protos))
    return ok


def _layout(blk: _Block, ov6: B) -> tuple[I64, B]:
    """Per record (its block starting at the outer IP header, IPv6 where ``ov6``), its
    offset set (outer IPv6, inner tag, inner IPv6 as bits 0-2), and whether the inner
    EtherType is IP at all."""
    l4 = np.where(ov6, 40, 20)
    # The inner EtherType is 28 bytes into the UDP header, past at most one 802.1Q tag.
    inner_type = np.zeros(len(l4), dtype=np.int64)
    tagged = np.zeros(len(l4), dtype=bool)
    for pos in (np.flatnonzero(np.bincount(l4, minlength=41)) + 28).tolist():
        here = l4 + 28 == pos
        t = blk.u16(pos)
        tag = t == 0x8100
        t = np.where(tag, blk.u16(pos + 4), t)
        inner_type = np.where(here, t, inner_type)
        tagged |= here & tag
    iv6 = inner_type == 0x86DD
    ok = (inner_type == 0x0800) | iv6
    code = ov6.astype(np.int64) | tagged << 1 | iv6 << 2
    return code, ok


def _link(buffer: U8, offsets: I64, linktypes: I64, max_tags: int) -> tuple[I64, B]:
    """Where each record's IP header starts (-1: a link layer left to the parser), and
    whether the link layer says IPv6: Ethernet or Linux cooked (SLL, SLL2) with up to two
    VLAN tags (``max_tags`` allowing), BSD null/loopback (the address family in either
    byte order, as :class:`~vxsum.frames.link.Null` reads it), or raw IP (by the version).
    Reads past a short record are clipped to the buffer: the layouts take only records
    with all the bytes they read."""
    l3 = np.full(len(offsets), -1, dtype=np.int64)
    v6 = np.zeros(len(offsets), dtype=bool)
    if not len(buffer):
        return l3, v6
    last = len(buffer) - 1

    def u8(at: I64) -> I64:
        return buffer[np.minimum(at, last)].astype(np.int64)

    def u16(at: I64) -> I64:
        return (u8(at) << 8) | u8(at + 1)

    for linktype, (at, size) in _ETHERTYPE_AT.items():
        rec = np.flatnonzero(linktypes == linktype)
        if not len(rec):
            continue
        o = offsets[rec]
        ethertype, pos = u16(o + at), np.full(len(rec), size, dtype=np.int64)
        for _ in range(min(max_tags, _TAGS)):
            tag = _member(ethertype, _TPIDS)
            if not tag.any():
                break
            ethertype = np.where(tag, u16(o + pos + 2), ethertype)
            pos += 4 * tag
        l3[rec] = np.where((ethertype == ETH_IPV4) | (ethertype == ETH_IPV6), pos, -1)
        v6[rec] = ethertype == ETH_IPV6
    null = np.flatnonzero(linktypes == LinkType.NULL)
    if len(null):
        b = [u8(offsets[null] + k) for k in range(4)]
        little = b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
        family = np.where(little <= 0xFFFF, little, b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3])
        ipv6 = _member(family, _NULL_IPV6)
        l3[null] = np.where((family == 2) | ipv6, 4, -1)
        v6[null] = ipv6
    raw = np.flatnonzero(np.isin(linktypes, _RAW))
    if len(raw):
        version = u8(offsets[raw]) >> 4
        l3[raw] = np.where((version == 4) | (version == 6), 0, -1)
        v6[raw] = version == 6
    return l3, v6


def _member(x: I64, values: I64) -> B:
    """``np.isin`` for the few ports of a configuration (comparisons are faster)."""
    if len(values) > 4:
        out: B = np.isin(x, values)
        return out
    hit = np.zeros(len(x), dtype=bool)
    for v in values.tolist():
        hit |= x == v
    return hit


def _udp_ports(blk: _Block, v6: B) -> tuple[B, I64, I64]:
    """Whether each record's IP header (IPv4 without options, or IPv6) says UDP, and the
    two ports where that UDP header would be."""
    proto = np.where(v6, blk.u8(6), blk.u8(9))
    sport, dport = (np.where(v6, blk.u16(40 + k), blk.u16(20 + k)) for k in (0, 2))
    return proto == 17, sport, dport


def _plain_key(blk: _Block, v6: B) -> I64:
    """Each record's plain offset set: the IPv4 header length (20 to 60), 1 for IPv6 (as
    the link layer says), 0 where the version disagrees or the IPv4 header length is
    below 20."""
    version, ihl = blk.h[:, 0] >> 4, (blk.h[:, 0] & 15).astype(np.int64)
    v4 = ~v6 & (version == 4) & (ihl >= 5)
    return np.where(v6 & (version == 6), 1, np.where(v4, 4 * ihl, 0))


def _plain_layout(
    blk: _Block, key: int, o: I64, cap: I64, snapped: B, buffer: U8, config: ParseConfig
) -> tuple[B, list[dict[str, object]]]:
    """The records of one plain offset set (``key`` from :func:`_plain_key`): which fit,
    and the fact columns of the IPv4 header field (unless IPv6) and of the transport field
    (where there is one), indexed like the records. ``o`` is where each record's IP header
    is in ``buffer``, ``cap`` how many bytes of it there are, ``snapped`` whether the snap
    length cut the record; offsets are from the IP header. Each rule of the parser
    (:class:`~vxsum.frames.ipwalk.IpMixin`) is a column here, in its order."""
    v6 = key == 1
    l4 = 40 if v6 else key
    n = len(o)
    if v6:  # payload length 0 (a jumbogram, BIG TCP) and extension headers: the parser
        claimed, proto = 40 + blk.u16(4), blk.u8(6)
        more = later = np.zeros(n, dtype=bool)  # no fragment header
        fits = (claimed > 40) & _member(proto, np.array([6, 17, 58]))
        read = np.ones(n, dtype=bool)  # whether the parser reads a transport header
    else:  # total length 0 (TSO) or below the header: the parser
        claimed, proto, frag = blk.u16(2), blk.u8(9), blk.u16(6)
        more, later = (frag & 0x2000) != 0, (frag & 0x1FFF) != 0  # first fragment, later one
        fits = claimed >= l4
        read = ~later & _member(proto, np.array([1, 6, 17]))
        fits &= read | later | ~_READ_V4[proto]  # else a header only
    fits &= cap >= l4
    end = np.minimum(claimed, cap)  # the end of the packet's bytes that are there
    tcp, udp = proto == 6, proto == 17
    icmp = ~tcp & ~udp
    fits &= ~read | (end - l4 >= np.where(tcp, 20, 8))  # a cut transport header: the parser
    doff = (blk.u8(l4 + 12) >> 4) * 4
    fits &= ~(read & tcp & (doff >= 20) & (doff > end - l4))  # TCP options cut: the parser
    short = read & tcp & (doff < 20)  # a data offset below 5 ends the walk: no transport field
    fits &= ~(short & config.strict)  # (and is an error in strict mode)
    read &= ~short
    kind = blk.u8(l4)
    error = ((kind >= 1) & (kind <= 4)) | (kind == 160) if v6 else _ICMP_ERRORS[kind]
    fits &= ~(read & icmp & error)  # an ICMP error quotes a packet: the parser
    sport, dport = blk.u16(l4), blk.u16(l4 + 2)
    tunnel = _tunnel_ports(config)
    fits &= ~(read & udp & (tunnel[sport] | tunnel[dport]))

    ulen = blk.u16(l4 + 4)
    length = np.where(udp, ulen, claimed - l4)  # what the length fields say is covered
    stored = np.where(tcp, blk.u16(l4 + 16), np.where(udp, blk.u16(l4 + 6), blk.u16(l4 + 2)))
    # Why the field cannot be verified, in the parser's order (_udp, then _short).
    reason = np.where(l4 + length > end, np.where(snapped, _SNAPLEN, _MISMATCH), 0)
    reason = np.where(udp & ((ulen < 8) | (l4 + ulen > claimed)), _MISMATCH, reason)
    reason = np.where(more, _FRAGMENT, reason)
    hdr, addr = blk.ip_sums(0, v6)
    pseudo = _fold(addr + proto + length)
    if not v6:
        for at in range(20, l4, 4):  # IPv4 options
            hdr += blk.m32(at)
        pseudo[icmp] = 0  # ICMP has no pseudo-header
    total = np.zeros(n, dtype=np.int64)
    where = np.flatnonzero(fits & read & (reason == 0))
    total[where] = ones_sums(buffer, o[where] + l4, length[where], threads=2)
    if not v6:  # ICMP bytes (the field aside) summing to 0 mod 0xFFFF: see the module doc
        fits[where] &= ~(icmp[where] & ((total[where] - stored[where]) % _MOD == 0))
    zero: I64 | int = _NOCS  # a zero UDP field: no checksum over IPv4, over IPv6 by ports
    if v6:
        allowed = _lookup(config.ipv6_zero_checksum_ports, 0x10000)
        zero = np.where(allowed[sport] | allowed[dport], _NOCS, _ILLEGAL)
    transport = _transport(total, stored, pseudo, udp, zero, reason)
    layer = np.where(tcp, _TCP, np.where(udp, _UDP, _ICMPV6 if v6 else _ICMP))
    field_at = l4 + np.where(tcp, 16, np.where(udp, 6, 2))
    transport.update(layer=layer, field_offset=field_at, span_offset=l4, span_length=length)
    transport["present"] = read
    has_ports = read & ~icmp  # facts_of takes ports, protocol and flags from TCP and UDP
    packet = dict(
        _addresses(blk, 0, v6),
        sport=np.where(has_ports, sport, 0),
        dport=np.where(has_ports, dport, 0),
        proto=np.where(has_ports, proto, 0),
        v6=v6,
        depth=0,
        flags=np.where(read & tcp, blk.u16(l4 + 12) & 0xFFF, 0),
    )
    fields = [] if v6 else [packet | _ip_header(blk.u16(10), hdr, 0, l4)]
    return fits, [*fields, packet | transport]


def _one_layout(
    blk: _Block,
    code: int,
    o: I64,
    cap: I64,
    buffer: U8,
    vxlan: I64,
    tunnel_ports: B,
) -> tuple[B, list[dict[str, object]]]:
    """The records that share one offset set: which fit, and the fact columns of each of
    their checksum fields (outer IPv4 header unless IPv6, outer UDP, inner IPv4 header
    unless IPv6, inner TCP or UDP), indexed like the records. ``o`` is where each record's
    outer IP header is in ``buffer``, ``cap`` how many bytes of it there are; offsets in
    the facts are from the IP header (the caller adds the link layer's length)."""
    ov6, itag, iv6 = (bool(code >> k & 1) for k in range(3))
    l3 = 0
    l4 = l3 + (40 if ov6 else 20)
    il3 = l4 + 16 + 14 + 4 * itag
    il4 = il3 + (40 if iv6 else 20)
    n = len(o)
    fits = cap >= il4 + 8
    fits &= _ip_ok(blk, l3, ov6, cap - l3, [17])
    sport, dport, o_stored = blk.u16(l4), blk.u16(l4 + 2), blk.u16(l4 + 6)
    fits &= (blk.u16(l4 + 4) == cap - l4) & (_member(dport, vxlan) | _member(sport, vxlan))
    if ov6:
        fits &= o_stored != 0  # a zero over IPv6: its status depends on the config
    fits &= _ip_ok(blk, il3, iv6, cap - il3, [6, 17])
    proto = blk.u8(il3 + (6 if iv6 else 9))
    seg = cap - il4
    tcp = proto == 6
    isport, idport = blk.u16(il4), blk.u16(il4 + 2)
    i_check = np.where(tcp, il4 + 16, il4 + 6)
    i_stored = np.where(tcp, blk.u16(il4 + 16), blk.u16(il4 + 6))
    tcp_ok = (seg >= 20) & (blk.u8(il4 + 12) >= 0x50) & ((blk.u8(il4 + 12) >> 4) * 4 <= seg)
    udp_ok = blk.u16(il4 + 4) == seg
    udp_ok &= ~(tunnel_ports[isport] | tunnel_ports[idport])
    if iv6:
        udp_ok &= ~(~tcp & (i_stored == 0))  # a zero over IPv6: depends on the config
    fits &= np.where(tcp, tcp_ok, udp_ok)

    o_hdr, o_addr = blk.ip_sums(l3, ov6)
    i_hdr, i_addr = blk.ip_sums(il3, iv6)
    # The inner transport span: the one sum over whole packets (only where the layout
    # holds, since a wrong length could run past the record).
    span = np.zeros(n, dtype=np.int64)
    where = np.flatnonzero(fits)
    span[where] = ones_sums(buffer, o[where] + il4, seg[where], threads=2)
    i_pseudo = _fold(i_addr + proto + seg)
    i_layer = np.where(tcp, _TCP, _UDP)
    inner = _transport(span, i_stored, i_pseudo, ~tcp)
    inner.update(layer=i_layer, field_offset=i_check, span_offset=il4, span_length=seg)
    # The outer UDP span: the inner span plus the headers between.
    mid = blk.m64(l4) + blk.m64(l4 + 8) + blk.m64(l4 + 16) + blk.m32(l4 + 24) + blk.u16(l4 + 28)
    if itag:
        mid += blk.m32(l4 + 30)
    o_pseudo = _fold(o_addr + 17 + (cap - l4))
    outer = _transport(span + mid + i_hdr, o_stored, o_pseudo, np.ones(n, dtype=bool))
    outer.update(layer=_UDP, field_offset=l4 + 6, span_offset=l4, span_length=cap - l4)
    outer.update(tunnel=1, inner_at=i_check - l4, inner_layer=i_layer)
    outer.update(inner_status=inner["status"], inner_stored=i_stored)
    outer.update(inner_expected=inner["expected"], inner_pseudo=i_pseudo)
    packets = (
        dict(_addresses(blk, l3, ov6), sport=sport, dport=dport, proto=17, v6=ov6, depth=0),
        dict(
            _addresses(blk, il3, iv6),
            sport=isport,
            dport=idport,
            proto=proto,
            v6=iv6,
            depth=1,
            flags=np.where(tcp, blk.u16(il4 + 12) & 0xFFF, 0),
        ),
    )
    # The VNI (bytes 4 to 6 of the VXLAN header, after the outer UDP header), and the
    # packet the tunnel carries.
    outer.update(vni=blk.u16(l4 + 12) << 8 | blk.u8(l4 + 14), inner_ip=6 if iv6 else 4)
    outer.update(inner_src=packets[1]["src"], inner_dst=packets[1]["dst"])
    outer.update(inner_sport=isport, inner_dport=idport, inner_proto=proto)
    fields = []
    if not ov6:
        fields.append(packets[0] | _ip_header(blk.u16(l3 + 10), o_hdr, l3))
    fields.append(packets[0] | outer)
    if not iv6:
        fields.append(packets[1] | _ip_header(blk.u16(il3 + 10), i_hdr, il3))
    fields.append(packets[1] | inner)
    return fits, fields


def _addresses(blk: _Block, at: int, v6: bool) -> dict[str, object]:
    """The source and destination address of the IP header at ``at``, as 8 words each."""
    size, first = (16, at + 8) if v6 else (4, at + 12)
    out: dict[str, object] = {}
    for name, start in (("src", first), ("dst", first + size)):
        words = np.zeros((len(blk.h), 8), dtype=">u2")
        words[:, : size // 2] = blk.h[:, start : start + size].view(">u2")
        out[name] = words
    return out


def _transport(
    total: I64,
    stored: I64,
    pseudo: I64,
    udp: B,
    zero: I64 | int = _NOCS,
    reason: I64 | None = None,
) -> dict[str, object]:
    """Status, expected value and pseudo-header sum of transport fields whose covered
    bytes sum to ``total`` (the stored field included): a computed 0 is written 0xFFFF in
    UDP, where a stored 0 has the status ``zero`` (no checksum, or an illegal zero). A
    ``reason`` (a code of :data:`~vxsum.frames.fields.REASONS`) makes a field unverifiable
    and leaves it no expected value; a zero UDP field keeps its status."""
    expected = _csum(total - stored + pseudo)
    expected[udp & (expected == 0)] = 0xFFFF
    good = (total + pseudo) % _MOD == 0
    zero_udp = udp & (stored == 0)
    status = np.where(zero_udp, zero, np.where(good, _GOOD, _BAD))
    out: dict[str, object] = {"stored": stored, "pseudo": pseudo}
    if reason is None:
        return out | {"expected": expected, "status": status}
    unverifiable = (reason != 0) & ~zero_udp
    return out | {
        "expected": np.where(reason != 0, -1, expected),
        "status": np.where(unverifiable, _UNVERIFIABLE, status),
        "reason": np.where(unverifiable, reason, 0),
    }


def _ip_header(stored: I64, total: I64, at: int, length: int = 20) -> dict[str, object]:
    """The facts of IPv4 header checksums whose ``length``-byte header sums to ``total``."""
    good = total % _MOD == 0
    return {
        "layer": _IPV4,
        "field_offset": at + 10,
        "span_offset": at,
        "span_length": length,
        "stored": stored,
        "expected": _csum(total - stored),
        "status": np.where(good, _GOOD, _BAD),
    }


def _rows(buffer: U8, width: int) -> U8:
    """Every run of ``width`` bytes of ``buffer``, as a (positions, width) view."""
    count = max(len(buffer) - width + 1, 0)
    return np.lib.stride_tricks.as_strided(buffer, shape=(count, width), strides=(1, 1))


def _first_bytes(buffer: U8, at: I64, width: int = _BLOCK) -> U8:
    """The ``width`` bytes from each of ``at`` (zero-padded past the buffer's end)."""
    near = at + width > len(buffer)
    if not near.any():
        return _rows(buffer, width)[at]
    out = np.empty((len(at), width), dtype=np.uint8)
    out[~near] = _rows(buffer, width)[at[~near]]
    start = int(at[near].min())
    tail = np.zeros(len(buffer) - start + width, dtype=np.uint8)
    tail[: len(buffer) - start] = buffer[start:]
    out[near] = _rows(tail, width)[at[near] - start]
    return out


def common_facts(
    buffer: U8,
    offsets: I64,
    caplens: I64,
    wirelens: I64,
    linktypes: I64,
    numbers: I64,
    config: ParseConfig,
) -> tuple[B, Columns]:
    """Which records of a batch have a common layout, and the facts of their checksum
    fields in record order, as columns (``numbers`` go into the ``frame`` column)."""
    fits = np.zeros(len(offsets), dtype=bool)
    l3, v6 = _link(buffer, offsets, linktypes, config.max_tags)
    cand = np.flatnonzero((l3 >= 0) & (caplens - l3 >= 20))
    base, v6 = l3[cand], v6[cand]
    o, cap = offsets[cand] + base, caplens[cand] - base
    blk = _Block(_first_bytes(buffer, o))
    parts: list[Columns] = []

    def add(sel: I64, got: B, fields: list[dict[str, object]]) -> None:
        """Take the facts of the records ``sel`` (of ``cand``) that ``got`` says fit."""
        for columns_of in fields:  # offsets from the frame's start
            for name in ("field_offset", "span_offset"):
                columns_of[name] = base[sel] + columns_of[name]  # type: ignore[operator]
        keep = np.flatnonzero(got)
        fits[cand[sel[keep]]] = True
        parts.append(_interleave(fields, keep, numbers[cand[sel]]))

    def part(sel: I64) -> _Block:
        return blk if len(sel) == len(cand) else _Block(_pick(blk.h, sel))

    snapped = caplens[cand] < wirelens[cand]
    # UDP on a tunnel port (in an IPv4 header without options or IPv6) is never plain:
    # routed here, so that tunnel traffic costs the plain layout nothing.
    key = _plain_key(blk, v6)
    udp, sport, dport = _udp_ports(blk, v6)
    tunnel_ports = _tunnel_ports(config)
    udp &= (key == 1) | (key == 20)
    key[udp & (tunnel_ports[sport] | tunnel_ports[dport])] = 0
    for k in np.flatnonzero(np.bincount(key, minlength=2)[1:]).tolist():
        sel = np.flatnonzero(key == k + 1)
        add(sel, *_plain_layout(part(sel), k + 1, o[sel], cap[sel], snapped[sel], buffer, config))

    if config.max_depth >= 2:  # else the parser would not read the inner packet
        vxlan = np.array(sorted(config.vxlan_ports), dtype=np.int64)
        udp &= ~snapped & (cap >= _MIN) & (_member(sport, vxlan) | _member(dport, vxlan))
        tunnel = np.flatnonzero(udp)
        code, ok = _layout(part(tunnel), v6[tunnel])
        for c in np.flatnonzero(np.bincount(code[ok], minlength=8)).tolist():
            sel = tunnel[ok & (code == c)]
            got, fields = _one_layout(part(sel), c, o[sel], cap[sel], buffer, vxlan, tunnel_ports)
            add(sel, got, fields)
    return fits, _merge(parts)


def _merge(parts: list[Columns]) -> Columns:
    """One table of the parts' rows in record order (each part is, and holds its records
    whole)."""
    if not parts:
        return columns(np.zeros(0, dtype=FACT))
    if len(parts) == 1:
        return parts[0]
    table = {name: np.concatenate([p[name] for p in parts]) for name in FACT.names or ()}
    order = np.argsort(table["frame"], kind="stable")  # several layouts: record order again
    return {name: _pick(column, order) for name, column in table.items()}


_NONE = ("inner_at", "vni")  # columns whose "none" is -1


def _interleave(fields: list[dict[str, object]], keep: I64, frames: I64) -> Columns:
    """The columns of the fields of the records ``keep``, field after field of each record
    (a field with a ``present`` column only where that holds)."""
    every = len(keep) == len(frames)  # the usual case: no record to leave out
    present = np.ones((len(keep), len(fields)), dtype=bool)
    for k, columns_of in enumerate(fields):
        here = columns_of.get("present")
        if isinstance(here, np.ndarray):
            present[:, k] = here if every else here[keep]
    rows = None if present.all() else present.reshape(-1)
    table: Columns = {}
    for name in FACT.names or ():
        dtype, shape = FACT.fields[name][0].base, FACT.fields[name][0].shape  # type: ignore[index]
        default = -1 if name in _NONE else 0  # none but the outer UDP field's
        out = np.empty((len(keep), len(fields), *shape), dtype=dtype)
        for k, columns_of in enumerate(fields):
            value = frames if name == "frame" else columns_of.get(name, default)
            if isinstance(value, np.ndarray) and not every:
                value = _pick(value, keep)
            out[:, k] = value
        table[name] = out.reshape(-1, *shape) if rows is None else out.reshape(-1, *shape)[rows]
    return table
