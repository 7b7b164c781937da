"""A plain reference implementation of RFC 1071: the oracle for the checksum tests."""

from __future__ import annotations


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
