"""The common tunnel layout, read for a whole batch of records at once: facts in bulk.

Most packets of a cluster capture share one layout: Ethernet (one optional 802.1Q tag)
/ IPv4 or IPv6 / UDP on a VXLAN port / VXLAN / Ethernet (optional tag) / IPv4 or IPv6
/ TCP or UDP, with no IP options, extension headers or fragments, and lengths that agree
with the record. For those, every header sits at one of 16 fixed offset sets, so the
facts of their checksum fields (:data:`vxsum.frames.facts.FACT`, the same rows that
:func:`vxsum.frames.facts.facts_of` makes from a parsed frame) are a few array operations
per set: :func:`common_facts`. This module only recognises the layout and reads columns;
the rules are :mod:`vxsum.verdicts.rules`.

Left to the per-frame parser (``fits`` is False): everything else, including zero UDP
fields over IPv6 (their status depends on the configured tunnel ports) and inner UDP on
a tunnel port (a nested tunnel).

How it is fast: the first 152 bytes of every record are copied into one (records, 152)
array with a single gather, so header fields are column slices. Sums are taken modulo
0xFFFF, where a big-endian 32- or 64-bit value is congruent to the sum of its 16-bit
words (2**16 = 1 mod 0xFFFF), so a 20-byte header is three reads, not ten. The only
pass over whole packets is the inner transport span (:func:`vxsum.ones_sums`); the outer
UDP sum is that span's sum plus the headers between. Modulo 0xFFFF is exact here
because no covered data is all zero (every span holds a version or protocol byte).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..capture.linktypes import LinkType
from ..core.batch import ones_sums
from .config import ParseConfig
from .facts import FACT, Columns, columns, layer_code, status_code
from .fields import Status

__all__ = ["common_facts"]

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
B = npt.NDArray[np.bool_]

_IPV4, _UDP, _TCP = layer_code("ipv4"), layer_code("udp"), layer_code("tcp")
_GOOD, _BAD = status_code(Status.GOOD), status_code(Status.BAD)
_NOCS = status_code(Status.NO_CHECKSUM)
_MOD = 0xFFFF
_BLOCK = 152  # bytes of each record copied: the deepest header read ends before this
_MIN = 78  # the fewest bytes from the outer IP header on (all IPv4, no tag, inner UDP)
_RAW = [int(LinkType.RAW), 12, 14]  # raw IP, also under its older DLT numbers


class _Block:
    """The first bytes of many records as a (records, 152) array: fields are columns."""

    def __init__(self, h: U8) -> None:
        self.h = h

    def u8(self, at: int) -> I64:
        return self.h[:, at].astype(np.int64)

    def u16(self, at: int) -> I64:
        return (self.h[:, at].astype(np.int64) << 8) | self.h[:, at + 1]

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


def _tunnel_ports(config: ParseConfig) -> I64:
    ports = config.vxlan_ports | config.vxlan_gpe_ports | config.geneve_ports
    ports |= config.teredo_ports | config.mpls_ports | config.l2tp_ports
    return np.array(sorted(ports), dtype=np.int64)


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


def _link(buffer: U8, offsets: I64, caplens: I64, linktypes: I64) -> tuple[I64, B]:
    """Where each record's outer IP header starts (-1: a link layer left to the parser,
    or too short for the layout), and whether it is IPv6: Ethernet with at most one
    802.1Q tag, or raw IP."""
    l3 = np.full(len(offsets), -1, dtype=np.int64)
    v6 = np.zeros(len(offsets), dtype=bool)
    eth = np.flatnonzero((linktypes == LinkType.ETHERNET) & (caplens >= 14 + _MIN))
    if len(eth):
        o = offsets[eth]

        def u16(at: int) -> I64:
            return (buffer[o + at].astype(np.int64) << 8) | buffer[o + at + 1]

        ethertype = u16(12)
        tagged = ethertype == 0x8100
        if tagged.any():
            ethertype = np.where(tagged, u16(16), ethertype)
        ip = (ethertype == 0x0800) | (ethertype == 0x86DD)
        l3[eth] = np.where(ip, 14 + 4 * tagged, -1)
        v6[eth] = ethertype == 0x86DD
    raw = np.flatnonzero(np.isin(linktypes, _RAW) & (caplens >= _MIN))
    if len(raw):
        version = buffer[offsets[raw]] >> 4
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


def _one_layout(
    blk: _Block,
    code: int,
    o: I64,
    cap: I64,
    buffer: U8,
    vxlan: I64,
    tunnel_ports: I64,
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
    udp_ok &= ~(_member(isport, tunnel_ports) | _member(idport, tunnel_ports))
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


def _transport(total: I64, stored: I64, pseudo: I64, udp: B) -> dict[str, object]:
    """Status, expected value and pseudo-header sum of TCP or UDP fields whose covered
    bytes sum to ``total`` (the stored field included): a computed 0 is written 0xFFFF in
    UDP, where a stored 0 means no checksum."""
    expected = _csum(total - stored + pseudo)
    expected[udp & (expected == 0)] = 0xFFFF
    good = (total + pseudo) % _MOD == 0
    status = np.where(udp & (stored == 0), _NOCS, np.where(good, _GOOD, _BAD))
    return {"stored": stored, "expected": expected, "pseudo": pseudo, "status": status}


def _ip_header(stored: I64, total: I64, at: int) -> dict[str, object]:
    """The facts of IPv4 header checksums whose header sums to ``total``."""
    good = total % _MOD == 0
    return {
        "layer": _IPV4,
        "field_offset": at + 10,
        "span_offset": at,
        "span_length": 20,
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
    """Which records of a batch have the common layout, and the facts of their checksum
    fields in record order, as columns (``numbers`` go into the ``frame`` column)."""
    n = len(offsets)
    fits = np.zeros(n, dtype=bool)
    if config.max_depth < 2:  # the parser would not read the inner packet
        return fits, columns(np.zeros(0, dtype=FACT))
    l3, ov6 = _link(buffer, offsets, caplens, linktypes)
    cand = np.flatnonzero((l3 >= 0) & (caplens == wirelens) & (caplens - l3 >= _MIN))
    l3, ov6 = l3[cand], ov6[cand]
    blk = _Block(_first_bytes(buffer, offsets[cand] + l3))
    code, ok = _layout(blk, ov6)
    vxlan = np.array(sorted(config.vxlan_ports), dtype=np.int64)
    tunnel_ports = _tunnel_ports(config)
    parts: list[Columns] = []
    for c in np.flatnonzero(np.bincount(code[ok], minlength=8)).tolist():
        sel = np.flatnonzero(ok & (code == c))
        part = blk if len(sel) == len(cand) else _Block(blk.h[sel])
        records = cand[sel]
        base = l3[sel]
        got, fields = _one_layout(
            part, c, offsets[records] + base, caplens[records] - base, buffer, vxlan, tunnel_ports
        )
        for columns_of in fields:  # offsets from the frame's start
            for name in ("field_offset", "span_offset"):
                columns_of[name] = base + columns_of[name]  # type: ignore[operator]
        keep = np.flatnonzero(got)
        fits[records[keep]] = True
        parts.append(_interleave(fields, keep, numbers[records]))
    if not parts:
        return fits, columns(np.zeros(0, dtype=FACT))
    if len(parts) == 1:
        return fits, parts[0]
    table = {name: np.concatenate([p[name] for p in parts]) for name in FACT.names or ()}
    order = np.argsort(table["frame"], kind="stable")  # several layouts: record order again
    return fits, {name: column[order] for name, column in table.items()}


def _interleave(fields: list[dict[str, object]], keep: I64, frames: I64) -> Columns:
    """The columns of the fields of the records ``keep``, field after field of each record."""
    every = len(keep) == len(frames)  # the usual case: no record to leave out
    table: Columns = {}
    for name in FACT.names or ():
        dtype, shape = FACT.fields[name][0].base, FACT.fields[name][0].shape  # type: ignore[index]
        default = -1 if name == "inner_at" else 0  # no inner field but the outer UDP one's
        out = np.empty((len(keep), len(fields), *shape), dtype=dtype)
        for k, columns_of in enumerate(fields):
            value = frames if name == "frame" else columns_of.get(name, default)
            if isinstance(value, np.ndarray) and not every:
                value = value[keep]
            out[:, k] = value
        table[name] = out.reshape(-1, *shape)
    return table
