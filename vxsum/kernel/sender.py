"""What a sending socket leaves in its checksum field (kernel-model.md a; real-kernel-lab.md).

* TCP always hands its segments down pending: ``__tcp_v4_send_check`` /
  ``__tcp_v6_send_check`` store the pseudo-header seed and set CHECKSUM_PARTIAL.
* UDP does so only when the device of the route it used at send time offers
  checksum offload (``udp_send_skb`` → ``udp4_hwcsum``); otherwise it computes the
  full checksum in software and writes 0xFFFF for a computed 0 (RFC 768).

The packets start at the IP header; :mod:`vxsum.kernel.encap` adds the link layer.
"""

from __future__ import annotations

import ipaddress

from ..core.buffer import Address, checksum, pseudo_header_sum
from .csum import CSUM_MANGLED_0, IpSummed
from .skb import Skb

__all__ = ["ip_header", "packed", "tcp_segment", "udp_datagram"]

TCP_SYN, TCP_ACK, TCP_PSH = 0x02, 0x10, 0x08


def packed(value: Address) -> bytes:
    """An IPv4 or IPv6 address as packed bytes (an int below 2**32 is IPv4)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value.packed
    return ipaddress.ip_address(value).packed


def ip_header(
    src: Address, dst: Address, proto: int, payload_len: int, *, ident: int = 0, ttl: int = 64
) -> bytes:
    """An IPv4 (20 bytes, DF set, header checksum filled) or IPv6 header, by address size."""
    s, d = packed(src), packed(dst)
    if len(s) != len(d) or len(s) not in (4, 16):
        raise ValueError("source and destination must both be IPv4 or both IPv6")
    if len(s) == 16:
        return b"\x60\x00\x00\x00" + payload_len.to_bytes(2, "big") + bytes([proto, ttl]) + s + d
    hdr = bytearray(b"\x45\x00" + (20 + payload_len).to_bytes(2, "big"))
    hdr += ident.to_bytes(2, "big") + b"\x40\x00" + bytes([ttl, proto]) + b"\x00\x00" + s + d
    hdr[10:12] = checksum(bytes(hdr)).to_bytes(2, "big")
    return bytes(hdr)


def udp_datagram(
    src: Address,
    dst: Address,
    sport: int,
    dport: int,
    payload: bytes,
    *,
    offload: bool,
    ident: int = 0,
    mark: int = 0,
) -> Skb:
    """A UDP datagram as the socket layer emits it; ``offload`` is the route device's offer."""
    s, d = packed(src), packed(dst)
    length = 8 + len(payload)
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + length.to_bytes(2, "big")
    seed = pseudo_header_sum(s, d, 17, length)
    hdr = ip_header(s, d, 17, length, ident=ident)
    if offload:
        data = hdr + udp + seed.to_bytes(2, "big") + payload
        return Skb(data, IpSummed.PARTIAL, csum_start=len(hdr), csum_offset=6, mark=mark)
    value = checksum(udp + b"\x00\x00" + payload, seed) or CSUM_MANGLED_0
    return Skb(hdr + udp + value.to_bytes(2, "big") + payload, IpSummed.NONE, mark=mark)


def tcp_segment(
    src: Address,
    dst: Address,
    sport: int,
    dport: int,
    *,
    seq: int = 1,
    ack: int = 0,
    flags: int = TCP_SYN,
    window: int = 64240,
    options: bytes = b"",
    payload: bytes = b"",
    ident: int = 0,
    mark: int = 0,
) -> Skb:
    """A TCP segment as ``tcp_transmit_skb`` emits it: always CHECKSUM_PARTIAL with the seed."""
    if len(options) % 4:
        raise ValueError("TCP options must be padded to a multiple of 4 bytes")
    s, d = packed(src), packed(dst)
    head = 20 + len(options)
    length = head + len(payload)
    tcp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + seq.to_bytes(4, "big")
    tcp += ack.to_bytes(4, "big") + bytes([(head // 4) << 4, flags]) + window.to_bytes(2, "big")
    tcp += pseudo_header_sum(s, d, 6, length).to_bytes(2, "big") + b"\x00\x00" + options + payload
    hdr = ip_header(s, d, 6, length, ident=ident)
    return Skb(hdr + tcp, IpSummed.PARTIAL, csum_start=len(hdr), csum_offset=16, mark=mark)
