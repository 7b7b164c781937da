"""Classifying the common tunnel layout for a whole batch of records at once.

Most packets of a cluster capture share one layout: Ethernet (one optional 802.1Q tag)
/ IPv4 or IPv6 / UDP on a VXLAN port / VXLAN / Ethernet (optional tag) / IPv4 or IPv6
/ TCP or UDP, with no IP options, extension headers or fragments, and lengths that agree
with the record. For those, every header sits at one of 16 fixed offset sets, so their
checksum fields can be verified *and classified* with a few array operations per set:
:func:`classify_batch`.

The rules are those of :mod:`vxsum.verdicts.verdict`, written over arrays (the tests check the
two against each other, field by field and word by word, on frames the kernel model
makes and on random frames):

* IPv4 header: wrong and 0 is ``offload-seed`` (header checksum offload), else
  ``corrupt``;
* inner TCP or UDP: its own pseudo-header sum is ``offload-seed``, so is TCP's sum
  without the length (TSO); else ``corrupt``;
* outer UDP: the seed is ``offload-seed``; right once a pending inner field is filled
  is ``lco-pending``; 0xFFFF is ``nat-zero-mangled``; right for an earlier source port
  in the ephemeral range is ``nat-stale`` (one packet's evidence); else ``corrupt``.
  A zero outer or inner UDP field over IPv4 is ``no-checksum``.

Left to the per-frame parser (``fits`` is False): everything else, including zero UDP
fields over IPv6 (their verdict depends on the configured tunnel ports), inner UDP on a
tunnel port (a nested tunnel).

How it is fast: the first 152 bytes of every record are copied into one (records, 152)
array with a single gather, so header fields are column slices. Sums are taken modulo
0xFFFF, where a big-endian 32- or 64-bit value is congruent to the sum of its 16-bit
words (2**16 = 1 mod 0xFFFF), so a 20-byte header is three reads, not ten. The only
pass over whole packets is the inner transport span (:func:`vxsum.ones_sums`); the outer
UDP sum is that span's sum plus the headers between. Modulo 0xFFFF is exact here
because no covered data is all zero (every span holds a version or protocol byte).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..core.batch import ones_sums
from ..verdicts.labels import Label
from ..verdicts.signatures import EPHEMERAL_PORTS
from .config import ParseConfig

__all__ = ["DETAILS", "FLOW_POWERS", "LABELS", "LAYERS", "FastBatch", "Slot", "classify_batch"]

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
B = npt.NDArray[np.bool_]

LAYERS = ("ipv4", "udp", "udplite", "tcp", "icmp", "icmpv6", "igmp")
"""Layer names by code."""
LABELS = tuple(Label)
"""Labels by code."""
DETAILS = ("", "no-checksum", "seed", "ip-zero", "tso", "lco", "zero-mangled", "stale", "corrupt")
"""Evidence templates by code (:mod:`vxsum.verdicts.text` has their words)."""

_IPV4, _UDP, _TCP = LAYERS.index("ipv4"), LAYERS.index("udp"), LAYERS.index("tcp")
_L = {label: LABELS.index(label) for label in Label}
_D = {name: code for code, name in enumerate(DETAILS)}
_MOD = 0xFFFF
_GOOD, _NOCS = _L[Label.GOOD], _L[Label.NO_CHECKSUM]
_SEED, _CORRUPT = _L[Label.OFFLOAD_SEED], _L[Label.CORRUPT]
_BAD = _D["corrupt"]
FLOW_POWERS = np.cumprod(np.full(19, 0x9E3779B97F4A7C15, dtype=np.uint64))
"""Multipliers of the 19 words of a flow key in :func:`vxsum.report.rows.flow_hash` (mod 2**64)."""
_UDP_WORD = np.uint64(17 * int(FLOW_POWERS[18]) % (1 << 64))
_BLOCK = 152  # bytes of each record copied: the deepest header read ends before this
_MIN = 92  # the shortest record with the layout (all IPv4, no tags, inner UDP)


@dataclass(frozen=True, slots=True)
class Slot:
    """One checksum field of every fitting record (arrays with one entry per record)."""

    present: B
    """The record has this field (IPv6 has no header checksum)."""
    depth: int
    layer: I64
    """Code into :data:`LAYERS`."""
    value: I64
    expected: I64
    label: I64
    """Code into :data:`LABELS`."""
    detail: I64
    """Code into :data:`DETAILS`."""
    pseudo: I64
    """The pseudo-header sum (0 for IPv4 headers)."""
    sport: I64
    """The source port of the packet at this depth."""
    old_port: I64
    """``nat-stale``: the source port the field is right for; else -1."""
    note_layer: I64
    """An outer UDP field with a pending inner field: the inner layer's code; else -1."""
    note_stored: I64
    note_expected: I64


@dataclass(frozen=True, slots=True)
class FastBatch:
    """The checksum fields of the records of a batch that have the common layout.

    ``slots`` are the four fields in the parser's order (outer IPv4 header, outer UDP,
    inner IPv4 header, inner TCP or UDP); their arrays are indexed like ``record``.
    """

    fits: B
    """Per record of the batch: it has the layout (its fields are in ``slots``)."""
    record: I64
    """Batch index of each fitting record."""
    slots: tuple[Slot, Slot, Slot, Slot]
    ip_at: tuple[I64, I64]
    """Buffer offsets of the outer and inner IP headers (for flow keys)."""
    v6: tuple[B, B]
    proto: I64
    """The inner transport protocol (6 or 17)."""
    outer_hash: I64
    """:func:`vxsum.report.rows.flow_hash` of the outer flow (uint64 bits as int64)."""
    buffer: U8

    def flow_keys(self, slot: int, which: I64) -> list[bytes]:
        """Flow keys (:func:`vxsum.report.rows.flow_key`) of the packets at ``slot``'s depth."""
        inner = slot >= 2
        at, v6 = self.ip_at[inner][which], self.v6[inner][which]
        buf = self.buffer
        l4 = at + np.where(v6, 40, 20)
        keys = []
        for a, six, p, proto in zip(
            at.tolist(),
            v6.tolist(),
            l4.tolist(),
            (self.proto[which] if inner else np.full(len(which), 17)).tolist(),
            strict=True,
        ):
            size, first = (16, a + 8) if six else (4, a + 12)
            src = buf[first : first + size].tobytes()
            dst = buf[first + size : first + 2 * size].tobytes()
            sport, dport = int(self._u16(p)), int(self._u16(p + 2))
            keys.append(flow_key(src, dst, sport, dport, proto))
        return keys

    def _u16(self, at: int) -> int:
        return (int(self.buffer[at]) << 8) | int(self.buffer[at + 1])

    def without(self, records: I64) -> FastBatch:
        """The same batch with ``records`` (batch indices) left to the per-frame path."""
        fits = self.fits.copy()
        fits[records] = False
        keep = fits[self.record]

        def cut(s: Slot) -> Slot:
            columns = {f: getattr(s, f) for f in Slot.__dataclass_fields__}
            return Slot(**{k: v if k == "depth" else v[keep] for k, v in columns.items()})

        a, b, c, d = (cut(s) for s in self.slots)
        return FastBatch(
            fits,
            self.record[keep],
            (a, b, c, d),
            (self.ip_at[0][keep], self.ip_at[1][keep]),
            (self.v6[0][keep], self.v6[1][keep]),
            self.proto[keep],
            self.outer_hash[keep],
            self.buffer,
        )


def flow_key(src: bytes, dst: bytes, sport: int, dport: int, proto: int) -> bytes:
    """A flow's key: addresses (4 or 16 bytes, zero-padded to 16), ports and protocol as
    19 big-endian words, the layout :data:`FLOW_POWERS` hashes."""
    return (
        src.ljust(16, b"\0")
        + dst.ljust(16, b"\0")
        + sport.to_bytes(2, "big")
        + dport.to_bytes(2, "big")
        + proto.to_bytes(2, "big")
    )


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


def _layout(blk: _Block) -> tuple[I64, B]:
    """Per record, its offset set (outer tag, outer IPv6, inner tag, inner IPv6 as bits
    0-3), and whether the two EtherTypes are IP at all."""

    def ethertype(at: int) -> tuple[I64, B]:
        """The EtherType at ``at`` or past one 802.1Q tag there, and whether tagged."""
        t = blk.u16(at)
        tagged = t == 0x8100
        if tagged.any():
            t = np.where(tagged, blk.u16(at + 4), t)
        return t, tagged

    et, otag = ethertype(12)
    ov6 = et == 0x86DD
    ok = (et == 0x0800) | ov6
    l4 = 14 + 4 * otag + np.where(ov6, 40, 20)
    # The inner EtherType is 28 bytes into the UDP header: at 62, 66, 82 or 86.
    places = (np.flatnonzero(np.bincount(l4 - 34, minlength=25)) + 34).tolist()
    if len(places) == 1:  # the usual case: one outer layout for the whole batch
        inner_type, tagged = ethertype(places[0] + 28)
    else:
        inner_type = np.zeros(len(l4), dtype=np.int64)
        tagged = np.zeros(len(l4), dtype=bool)
        for pos in places:
            here = l4 == pos
            t, tag = ethertype(pos + 28)
            inner_type = np.where(here, t, inner_type)
            tagged |= here & tag
    iv6 = inner_type == 0x86DD
    ok &= (inner_type == 0x0800) | iv6
    code = otag.astype(np.int64) | ov6 << 1 | tagged << 2 | iv6 << 3
    return code, ok


@dataclass
class _Fields:
    """Per-record results of one offset set, before they are gathered into slots."""

    fits: B
    columns: dict[str, I64]


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
) -> _Fields:
    """Check and classify the records that share one offset set.

    Values, expected values and verdicts are computed for every record; the
    explanations of wrong fields (the classifier's rules) only for the wrong ones.
    """
    otag, ov6, itag, iv6 = (bool(code >> k & 1) for k in range(4))
    l3 = 14 + 4 * otag
    l4 = l3 + (40 if ov6 else 20)
    il3 = l4 + 16 + 14 + 4 * itag
    il4 = il3 + (40 if iv6 else 20)
    fits = cap >= il4 + 8
    fits &= _ip_ok(blk, l3, ov6, cap - l3, [17])
    sport, dport, o_stored = blk.u16(l4), blk.u16(l4 + 2), blk.u16(l4 + 6)
    fits &= (blk.u16(l4 + 4) == cap - l4) & (_member(dport, vxlan) | _member(sport, vxlan))
    if ov6:
        fits &= o_stored != 0  # a zero over IPv6: its verdict depends on the config
    fits &= _ip_ok(blk, il3, iv6, cap - il3, [6, 17])
    proto = blk.u8(il3 + (6 if iv6 else 9))
    seg = cap - il4
    tcp = proto == 6
    isport, idport = blk.u16(il4), blk.u16(il4 + 2)
    i_stored = np.where(tcp, blk.u16(il4 + 16), blk.u16(il4 + 6))
    i_zero = ~tcp & (i_stored == 0)
    tcp_ok = (seg >= 20) & (blk.u8(il4 + 12) >= 0x50) & ((blk.u8(il4 + 12) >> 4) * 4 <= seg)
    udp_ok = blk.u16(il4 + 4) == seg
    udp_ok &= ~(_member(isport, tunnel_ports) | _member(idport, tunnel_ports))
    if iv6:
        udp_ok &= ~i_zero  # a zero over IPv6: its verdict depends on the config
    fits &= np.where(tcp, tcp_ok, udp_ok)
    c: dict[str, I64] = {"proto": proto, "ip_at_0": o + l3, "ip_at_1": o + il3}
    c["outer_hash"] = _outer_hash(blk, l3, ov6, sport, dport)

    o_hdr, o_addr = blk.ip_sums(l3, ov6)
    i_hdr, i_addr = blk.ip_sums(il3, iv6)
    if not ov6:
        _ip_field(c, "oip_", blk.u16(l3 + 10), o_hdr)
    if not iv6:
        _ip_field(c, "iip_", blk.u16(il3 + 10), i_hdr)

    # The inner transport span: the one sum over whole packets (only where the layout
    # holds, since a wrong length could run past the record).
    span = np.zeros(len(o), dtype=np.int64)
    where = np.flatnonzero(fits)
    span[where] = ones_sums(buffer, o[where] + il4, seg[where], threads=2)
    i_pseudo = _fold(i_addr + proto + seg)
    i_expected, in_label, in_detail = _verify(span, i_stored, i_pseudo, ~tcp)
    c["in_value"], c["in_expected"], c["in_pseudo"], c["in_sport"] = (
        i_stored,
        i_expected,
        i_pseudo,
        isport,
    )
    c["in_layer"] = np.where(tcp, _TCP, _UDP)
    c["in_label"], c["in_detail"] = in_label, in_detail
    bad = np.flatnonzero(in_label == _CORRUPT)
    i_seed = i_stored[bad] == i_pseudo[bad]
    i_tso = tcp[bad] & (i_stored[bad] == _fold(i_pseudo[bad] + (0xFFFF ^ seg[bad])))
    in_label[bad] = np.where(i_seed | i_tso, _SEED, _CORRUPT)
    in_detail[bad] = np.select([i_seed, i_tso], [_D["seed"], _D["tso"]], _BAD)
    pending = np.zeros(len(o), dtype=bool)
    pending[bad[i_seed]] = True

    # The outer UDP span: the inner span plus the headers between.
    mid = blk.m64(l4) + blk.m64(l4 + 8) + blk.m64(l4 + 16) + blk.m32(l4 + 24) + blk.u16(l4 + 28)
    if itag:
        mid += blk.m32(l4 + 30)
    o_pseudo = _fold(o_addr + 17 + (cap - l4))
    udp = np.ones(len(o), dtype=bool)
    o_expected, out_label, out_detail = _verify(span + mid + i_hdr, o_stored, o_pseudo, udp)
    c["out_value"], c["out_expected"], c["out_pseudo"], c["out_sport"] = (
        o_stored,
        o_expected,
        o_pseudo,
        sport,
    )
    c["out_label"], c["out_detail"] = out_label, out_detail
    c["out_old"] = np.full(len(o), -1, dtype=np.int64)
    c["out_note_layer"] = np.full(len(o), -1, dtype=np.int64)
    c["out_note_stored"], c["out_note_expected"] = i_stored, i_expected
    bad = np.flatnonzero(out_label == _CORRUPT)
    label, detail, old, note = _explain_outer(
        o_stored[bad],
        o_expected[bad],
        o_pseudo[bad],
        sport[bad],
        pending[bad],
        i_stored[bad],
        i_expected[bad],
    )
    out_label[bad], out_detail[bad], c["out_old"][bad] = label, detail, old
    c["out_note_layer"][bad] = np.where(note, c["in_layer"][bad], -1)
    return _Fields(fits, c)


def _outer_hash(blk: _Block, l3: int, v6: bool, sport: I64, dport: I64) -> I64:
    """:func:`vxsum.report.rows.flow_hash` of each record's outer flow, from the header columns
    (the key's zero words add nothing). Returned as int64 bits."""
    at = [(l3 + 8 + 2 * k, k) for k in range(16)] if v6 else []
    if not v6:  # the source address is key words 0-1, the destination 8-9
        at = [(l3 + 12, 0), (l3 + 14, 1), (l3 + 16, 8), (l3 + 18, 9)]
    h = np.zeros(len(sport), dtype=np.uint64)
    columns = [(blk.u16(pos), k) for pos, k in at] + [(sport, 16), (dport, 17)]
    for words, k in columns:
        h += words.astype(np.uint64) * FLOW_POWERS[k]
    h += _UDP_WORD  # the protocol, 17
    return h.view(np.int64)


def _verify(total: I64, stored: I64, pseudo: I64, udp: B) -> tuple[I64, I64, I64]:
    """Expected value, label and detail codes of TCP or UDP fields whose covered bytes
    sum to ``total`` (the stored field included): a computed 0 is written 0xFFFF in UDP,
    where a stored 0 is ``no-checksum``; wrong fields are ``corrupt`` until explained."""
    expected = _csum(total - stored + pseudo)
    expected[udp & (expected == 0)] = 0xFFFF
    good = (total + pseudo) % _MOD == 0
    zero = udp & (stored == 0)
    label = np.where(zero, _NOCS, np.where(good, _GOOD, _CORRUPT))
    detail = np.where(zero, _D["no-checksum"], np.where(good, 0, _BAD))
    return expected, label, detail


def _ip_field(c: dict[str, I64], prefix: str, stored: I64, total: I64) -> None:
    """Value, expected value, label and detail codes of IPv4 header checksums."""
    ok = total % _MOD == 0
    c[prefix + "value"], c[prefix + "expected"] = stored, _csum(total - stored)
    wrong = np.where(stored == 0, _SEED, _CORRUPT)
    c[prefix + "label"] = np.where(ok, _GOOD, wrong)
    c[prefix + "detail"] = np.where(ok, 0, np.where(stored == 0, _D["ip-zero"], _BAD))


def _explain_outer(
    stored: I64,
    expected: I64,
    pseudo: I64,
    sport: I64,
    pending: B,
    i_stored: I64,
    i_expected: I64,
) -> tuple[I64, I64, I64, B]:
    """Label, detail, pre-NAT port (-1) and whether to mention the pending inner field,
    for wrong, non-zero outer UDP fields (:func:`vxsum.verdicts.verdict._explain_bad`)."""
    # The value once a pending inner field is filled (RFC 1624; the inner field is at an
    # even offset of the outer span), and the source port the field would be right for.
    delta = _fold((0xFFFF ^ i_stored) + i_expected)
    due = np.where(pending, 0xFFFF ^ _fold((0xFFFF ^ expected) + delta), expected)
    due[due == 0] = 0xFFFF
    old = _fold(due + (0xFFFF ^ stored) + sport)
    old[old == 0xFFFF] = 0
    low, high = EPHEMERAL_PORTS
    seed = stored == pseudo
    conditions = [
        seed,
        pending & (stored == due),
        stored == 0xFFFF,
        (old >= low) & (old <= high) & (old != sport),
    ]
    labels = [Label.OFFLOAD_SEED, Label.LCO_PENDING, Label.NAT_ZERO_MANGLED, Label.NAT_STALE]
    label = np.select(conditions, [_L[x] for x in labels], _CORRUPT)
    detail = np.select(conditions, [_D[k] for k in ("seed", "lco", "zero-mangled", "stale")], _BAD)
    return label, detail, np.where(label == _L[Label.NAT_STALE], old, -1), pending & ~seed


def _rows(buffer: U8) -> U8:
    """Every run of ``_BLOCK`` bytes of ``buffer``, as a (positions, _BLOCK) view."""
    count = max(len(buffer) - _BLOCK + 1, 0)
    return np.lib.stride_tricks.as_strided(buffer, shape=(count, _BLOCK), strides=(1, 1))


def _first_bytes(buffer: U8, at: I64) -> U8:
    """The ``_BLOCK`` bytes from each of ``at`` (zero-padded past the buffer's end)."""
    near = at + _BLOCK > len(buffer)
    if not near.any():
        return _rows(buffer)[at]
    out = np.empty((len(at), _BLOCK), dtype=np.uint8)
    out[~near] = _rows(buffer)[at[~near]]
    start = int(at[near].min())
    tail = np.zeros(len(buffer) - start + _BLOCK, dtype=np.uint8)
    tail[: len(buffer) - start] = buffer[start:]
    out[near] = _rows(tail)[at[near] - start]
    return out


def classify_batch(
    buffer: U8,
    offsets: I64,
    caplens: I64,
    wirelens: I64,
    linktypes: I64,
    config: ParseConfig,
) -> FastBatch:
    """Verify and classify every checksum field of the records with the common layout."""
    n = len(offsets)
    cand = np.flatnonzero((linktypes == 1) & (caplens == wirelens) & (caplens >= _MIN))
    blk = _Block(_first_bytes(buffer, offsets[cand]))
    code, ok = _layout(blk)
    m0 = len(cand)
    fits = np.zeros(m0, dtype=bool)
    cols: dict[str, I64] = {}
    vxlan = np.array(sorted(config.vxlan_ports), dtype=np.int64)
    tunnel_ports = _tunnel_ports(config)
    present = np.zeros((2, m0), dtype=bool)  # outer, inner IPv4 header present
    for c in np.flatnonzero(np.bincount(code[ok], minlength=16)).tolist():
        sel = np.flatnonzero(ok & (code == c))
        whole = len(sel) == m0  # the usual case: one layout for the whole batch
        part = blk if whole else _Block(blk.h[sel])
        o, cap = offsets[cand[sel]], caplens[cand[sel]]
        got = _one_layout(part, c, o, cap, buffer, vxlan, tunnel_ports)
        fits[sel] = got.fits
        present[0, sel] = not c & 2
        present[1, sel] = not c & 8
        if whole:
            cols = got.columns
            break
        for name, values in got.columns.items():
            if name not in cols:
                cols[name] = np.zeros(m0, dtype=np.int64)
            cols[name][sel] = values
    keep = np.flatnonzero(fits)
    record = cand[keep]
    all_fits = np.zeros(n, dtype=bool)
    all_fits[record] = True
    m = len(keep)

    every = m == m0  # all candidates fit: no gathering needed

    def col(name: str) -> I64:
        if name not in cols:
            return np.zeros(m, dtype=np.int64)
        return cols[name] if every else cols[name][keep]

    none = np.full(m, -1, dtype=np.int64)
    zero = np.zeros(m, dtype=np.int64)

    def ip_slot(prefix: str, depth: int, has: B) -> Slot:
        return Slot(
            has,
            depth,
            np.full(m, _IPV4, dtype=np.int64),
            col(prefix + "value"),
            col(prefix + "expected"),
            col(prefix + "label"),
            col(prefix + "detail"),
            zero,
            zero,
            none,
            none,
            zero,
            zero,
        )

    slots = (
        ip_slot("oip_", 0, present[0, keep]),
        Slot(
            np.ones(m, dtype=bool),
            0,
            np.full(m, _UDP, dtype=np.int64),
            col("out_value"),
            col("out_expected"),
            col("out_label"),
            col("out_detail"),
            col("out_pseudo"),
            col("out_sport"),
            col("out_old"),
            col("out_note_layer"),
            col("out_note_stored"),
            col("out_note_expected"),
        ),
        ip_slot("iip_", 1, present[1, keep]),
        Slot(
            np.ones(m, dtype=bool),
            1,
            col("in_layer"),
            col("in_value"),
            col("in_expected"),
            col("in_label"),
            col("in_detail"),
            col("in_pseudo"),
            col("in_sport"),
            none,
            none,
            zero,
            zero,
        ),
    )
    return FastBatch(
        all_fits,
        record,
        slots,
        (col("ip_at_0"), col("ip_at_1")),
        (~present[0, keep], ~present[1, keep]),
        col("proto"),
        col("outer_hash"),
        buffer,
    )
