"""RFC 1071 written as plainly as possible: an oracle for tests, vxsum's and yours.

Nothing here uses :mod:`vxsum.core`: a loop over 16-bit words, end-around carries folded
in, and the IPv4 UDP pseudo-header written out as bytes (RFC 768). vxsum's tests and
benchmarks compare the library with it.
"""

from __future__ import annotations

__all__ = ["reference_checksum", "reference_sum", "reference_udp_due"]


def reference_sum(data: bytes) -> int:
    """RFC 1071 section 4.1, written as plainly as possible: the oracle for everything."""
    total = 0
    for i in range(0, len(data) - 1, 2):
        total += (data[i] << 8) | data[i + 1]
    if len(data) % 2:
        total += data[-1] << 8
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def reference_checksum(data: bytes) -> int:
    return ~reference_sum(data) & 0xFFFF


def reference_udp_due(packet: bytes, ip_offset: int = 14) -> int:
    """What the UDP field of an IPv4/UDP packet at ``ip_offset`` should hold, by the plain loop.

    The pseudo-header is written out as bytes (RFC 768) rather than summed by vxsum, and a
    computed 0 is sent as 0xFFFF. ``ip_offset`` is 14 for an Ethernet frame, 0 for a packet.
    """
    ip = packet[ip_offset:]
    ihl = (ip[0] & 0x0F) * 4
    udp = ip[ihl : ihl + 6] + b"\x00\x00" + ip[ihl + 8 :]
    pseudo = ip[12:20] + b"\x00\x11" + len(udp).to_bytes(2, "big")
    return reference_checksum(pseudo + udp) or 0xFFFF
