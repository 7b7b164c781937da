"""Checking the common VXLAN layout for a whole batch of records at once.

Most packets of a cluster capture share one layout: Ethernet / IPv4 (no options, not a
fragment) / UDP to a VXLAN port / VXLAN / Ethernet / IPv4 (no options, not a
fragment) / TCP or UDP, with lengths that agree with the record. For those, every
field offset is fixed, so numpy can read the headers of all of them at once and
:func:`vxsum.checksums` can verify their four checksum fields in four vectorised calls.
A record that does not fit the layout, or has any field that is not right, goes to
the per-packet parser and classifier, which explain it; the rest are counted.

This is the path ``vxsum analyze`` takes to be faster than tcpdump: Python runs per
packet only for the packets that need explaining.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .batch import ones_sums

__all__ = ["FAST_FIELDS", "FastResult", "check_vxlan_batch"]

FAST_FIELDS = (("ipv4", 0), ("udp", 0), ("ipv4", 1), ("l4", 1))
"""The four checksum fields of the layout: outer IPv4 header, outer UDP, inner IPv4
header, inner TCP or UDP (``l4``: the protocol is in :attr:`FastResult.inner_proto`)."""

_OUTER_IP, _OUTER_UDP, _INNER_IP = 14, 34, 64
_INNER_L4 = 84
_MIN = _INNER_L4 + 8  # at least an inner UDP header


@dataclass(frozen=True, slots=True)
class FastResult:
    """Per record of a batch: does it fit the layout, and is every field right?"""

    fits: npt.NDArray[np.bool_]
    """The record has the layout (so the four fields below are its checksum fields)."""
    good: npt.NDArray[np.bool_]
    """It fits and every field is right (the outer UDP field may be 0: no checksum)."""
    outer_zero: npt.NDArray[np.bool_]
    """Its outer UDP checksum is 0 (no checksum), among the good ones."""
    inner_proto: npt.NDArray[np.uint8]
    """6 (TCP) or 17 (UDP) for records that fit."""


def _u16(buf: npt.NDArray[np.uint8], at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return (buf[at].astype(np.int64) << 8) | buf[at + 1]


def _addr_sum(buf: npt.NDArray[np.uint8], at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The sum of the 16-bit words of the two IPv4 addresses at ``at`` (src) and ``at + 4``."""
    return sum((_u16(buf, at + k) for k in range(0, 8, 2)), np.zeros(len(at), dtype=np.int64))


def check_vxlan_batch(
    buffer: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    caplens: npt.NDArray[np.int64],
    wirelens: npt.NDArray[np.int64],
    linktypes: npt.NDArray[np.int64],
    vxlan_ports: frozenset[int],
) -> FastResult:
    """Check every record of a capture batch that has the common VXLAN layout."""
    n = len(offsets)
    fits = (linktypes == 1) & (caplens == wirelens) & (caplens >= _MIN)
    idx = np.flatnonzero(fits)
    o = offsets[idx]
    cap = caplens[idx]
    ok = (
        (_u16(buffer, o + 12) == 0x0800)
        & (buffer[o + _OUTER_IP] == 0x45)
        & (_u16(buffer, o + _OUTER_IP + 2) == cap - _OUTER_IP)
        & ((_u16(buffer, o + _OUTER_IP + 6) & 0x3FFF) == 0)
        & (buffer[o + _OUTER_IP + 9] == 17)
        & np.isin(_u16(buffer, o + _OUTER_UDP + 2), list(vxlan_ports))
        & (_u16(buffer, o + _OUTER_UDP + 4) == cap - _OUTER_UDP)
        & (buffer[o + _OUTER_UDP + 8] == 0x08)
        & (_u16(buffer, o + _INNER_IP - 2) == 0x0800)
        & (buffer[o + _INNER_IP] == 0x45)
        & (_u16(buffer, o + _INNER_IP + 2) == cap - _INNER_IP)
        & ((_u16(buffer, o + _INNER_IP + 6) & 0x3FFF) == 0)
    )
    proto = buffer[o + _INNER_IP + 9]
    l4_len = cap - _INNER_L4
    tcp = (proto == 6) & (l4_len >= 20)
    doff = buffer[np.where(tcp, o + _INNER_L4 + 12, o)].astype(np.int64) >> 4  # read in bounds
    tcp &= (doff >= 5) & (doff * 4 <= l4_len)
    udp = (proto == 17) & (_u16(buffer, o + _INNER_L4 + 4) == l4_len)
    ok &= tcp | udp
    idx, o, cap, proto, l4_len = idx[ok], o[ok], cap[ok], proto[ok], l4_len[ok]
    fits = np.zeros(n, dtype=bool)
    fits[idx] = True

    udp_len = cap - _OUTER_UDP
    outer_zero = _u16(buffer, o + _OUTER_UDP + 6) == 0
    outer_ph = _addr_sum(buffer, o + _OUTER_IP + 12) + 17 + udp_len
    inner_ph = _addr_sum(buffer, o + _INNER_IP + 12) + proto + l4_len
    twenty = np.full(len(o), 20, dtype=np.int64)
    right = ones_sums(buffer, o + _OUTER_IP, twenty) == 0xFFFF
    right &= ones_sums(buffer, o + _INNER_IP, twenty) == 0xFFFF
    right &= outer_zero | (ones_sums(buffer, o + _OUTER_UDP, udp_len, initial=outer_ph) == 0xFFFF)
    inner_zero_udp = (proto == 17) & (_u16(buffer, o + _INNER_L4 + 6) == 0)
    right &= inner_zero_udp | (ones_sums(buffer, o + _INNER_L4, l4_len, initial=inner_ph) == 0xFFFF)
    good = np.zeros(n, dtype=bool)
    good[idx[right]] = True
    zero = np.zeros(n, dtype=bool)
    zero[idx[right & outer_zero]] = True
    protos = np.zeros(n, dtype=np.uint8)
    protos[idx] = proto
    # An inner UDP field of 0 is "no checksum" too, but the fast path leaves such
    # records to the parser so that their counts are exact.
    good[idx[inner_zero_udp & right]] = False
    return FastResult(fits, good, zero, protos)
