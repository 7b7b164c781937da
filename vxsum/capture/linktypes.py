"""The link types vxsum knows: the one table of pcap ``LINKTYPE_*`` numbers.

A pcap file header or a pcapng interface names the link layer of its frames by these
numbers (tcpdump.org's link-layer header types); the frame parser
(:func:`vxsum.frames.frame.parse`) reads the :data:`SUPPORTED` ones.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["SUPPORTED", "LinkType"]


class LinkType(IntEnum):
    """Link-layer header types (``LINKTYPE_*``)."""

    NULL = 0
    """BSD loopback: a 4-byte address family in the capturing host's byte order."""
    ETHERNET = 1
    PPP = 9
    """PPP in HDLC-like framing (RFC 1662)."""
    RAW = 101
    """Raw IP: the frame starts with an IPv4 or IPv6 header."""
    LINUX_SLL = 113
    """Linux "cooked" capture, version 1 (``tcpdump -i any``)."""
    IPV4 = 228
    """Raw IPv4 (the frame starts with an IPv4 header)."""
    IPV6 = 229
    """Raw IPv6."""
    NFLOG = 239
    """``tcpdump -i nflog:N``: an NFLOG header and TLVs around an IP packet."""
    LINUX_SLL2 = 276
    """Linux "cooked" capture, version 2."""


SUPPORTED = frozenset({0, 1, 9, 12, 14, 101, 113, 228, 229, 276})
"""The link types the frame parser reads; 12 and 14 are raw IP under the DLT numbers some
systems write instead of 101, and 228 and 229 raw IPv4 and IPv6 (read, like 101, by the
version nibble)."""
