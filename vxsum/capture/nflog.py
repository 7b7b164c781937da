"""NFLOG captures (``tcpdump -i nflog:N``, link type 239): the packet inside each record.

An NFLOG record is a 4-byte header (address family, version, resource id) and TLVs; the
packet, from its IP header on, is the NFULA_PAYLOAD TLV. An NFLOG rule in the mangle
table's POSTROUTING chain captures packets before the nat table rewrites them, which
makes such a capture the context :mod:`vxsum.verdicts.prenat` reads.
"""

from __future__ import annotations

import struct

__all__ = ["NFULA_PAYLOAD", "nflog_payload", "nflog_span"]

NFULA_PAYLOAD = 9
"""The TLV type of the packet."""


def nflog_span(data: memoryview | bytes) -> tuple[int, int] | None:
    """Where the packet inside an NFLOG record starts and how long it is (the
    NFULA_PAYLOAD TLV), or None.

    The TLVs' length and type are in the capturing host's byte order (LINKTYPE_NFLOG);
    it is told from the first TLV, whose type is small in the right order.
    """
    if len(data) < 8:
        return None
    order = "<" if data[6] < 0x40 and data[7] == 0 else ">"
    tlv = struct.Struct(order + "HH")
    pos = 4
    while pos + 4 <= len(data):
        length, kind = tlv.unpack_from(data, pos)
        if length < 4 or pos + length > len(data):
            return None
        if kind & 0x3FFF == NFULA_PAYLOAD:  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER
            return pos + 4, length - 4
        pos += (length + 3) & ~3
    return None


def nflog_payload(data: memoryview) -> memoryview | None:
    """The packet inside an NFLOG record (see :func:`nflog_span`), or None."""
    span = nflog_span(data)
    return None if span is None else data[span[0] : span[0] + span[1]]
