"""What netfilter NAT writes into a packet: ``nf_nat_*_manip_pkt`` and its L4 helpers.

Modelled on ``net/netfilter/nf_nat_proto.c`` (5.1 onwards; the 4.x files
``nf_nat_proto_{udp,tcp}.c`` and ``nf_nat_l3proto_ipv4.c`` compute the same values),
kernel-model.md section c:

1. An identity mapping never reaches this code: ``nf_nat_setup_info`` sets
   IPS_SRC_NAT / IPS_DST_NAT only when the chosen tuple differs.
2. The L4 header is rewritten **first**, while the IP header still holds the old
   address: the address part of the pseudo-header goes through
   ``inet_proto_csum_replace4/16`` (pseudohdr), the port through
   ``inet_proto_csum_replace2`` (not pseudohdr).
3. UDP updates its checksum only if ``do_csum``: ``check != 0`` on a fixed kernel,
   ``check != 0 or ip_summed == PARTIAL`` before the fix; afterwards a result of 0
   becomes CSUM_MANGLED_0 (0xFFFF). UDP-Lite always updates. TCP always updates,
   unless fewer than 20 bytes of its header are present (then only the port).
   ICMP echo-type messages get their id rewritten (not pseudohdr); ICMPv6 echo too,
   after the address step.
4. Then the IPv4 header: ``csum_replace4`` on its checksum, and the new address.
   IPv6 has no header checksum; its L4 step is skipped for a non-first fragment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .csum import (
    CSUM_MANGLED_0,
    IpSummed,
    csum_replace4,
    inet_proto_csum_replace2,
    inet_proto_csum_replace4,
    inet_proto_csum_replace16,
)
from .versions import Kernel

__all__ = ["Manip", "NatResult", "nat_rewrite"]

TCP, UDP, UDPLITE, ICMP, ICMPV6 = 6, 17, 136, 1, 58
_ICMP_ID_TYPES = {0, 8, 13, 14, 15, 16, 17, 18}  # echo, timestamp, info, address mask
_ICMPV6_ECHO = {128, 129}
_IPV6_EXT = {0, 43, 60}  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT = 44


class Manip(Enum):
    """Which end of the tuple NAT rewrites."""

    SRC = "snat"  # SNAT, MASQUERADE: source address and port
    DST = "dnat"  # DNAT: destination address and port


@dataclass(frozen=True, slots=True)
class NatResult:
    """A packet after NAT: its bytes, ``skb->csum`` and whether any manip ran at all."""

    packet: bytes
    skb_csum: int
    manipulated: bool


def _u16(buf: bytearray, off: int) -> int:
    return int.from_bytes(buf[off : off + 2], "big")


def _put16(buf: bytearray, off: int, value: int) -> None:
    buf[off : off + 2] = value.to_bytes(2, "big")


def _ipv6_l4(buf: bytearray) -> tuple[int, int] | None:
    """(protocol, L4 offset) after IPv6 extension headers, or None for a non-first fragment."""
    nexthdr, off = buf[6], 40
    while nexthdr in _IPV6_EXT or nexthdr == _IPV6_FRAGMENT:
        if off + 8 > len(buf):
            raise ValueError(f"IPv6 extension header at byte {off} is cut off")
        if nexthdr == _IPV6_FRAGMENT:
            if _u16(buf, off + 2) & 0xFFF8:
                return None
            nexthdr, off = buf[off], off + 8
        else:
            nexthdr, off = buf[off], off + (buf[off + 1] + 1) * 8
    return nexthdr, off


def nat_rewrite(
    packet: bytes,
    manip: Manip,
    *,
    kernel: Kernel,
    ip_summed: IpSummed,
    new_addr: bytes | None = None,
    new_port: int | None = None,
    skb_csum: int = 0,
) -> NatResult:
    """Rewrite one IPv4 or IPv6 ``packet`` (starting at its IP header) as nf_nat would.

    ``new_addr`` / ``new_port`` default to the current ones; for ICMP and ICMPv6 echo
    messages ``new_port`` is the new identifier. ``ip_summed`` is the skb's checksum
    state, which decides how the L4 field is updated (see :mod:`vxsum.kernel.csum`);
    ``skb_csum`` is ``skb->csum`` for CHECKSUM_COMPLETE.
    """
    buf = bytearray(packet)
    if len(buf) < 20 or buf[0] >> 4 not in (4, 6) or (buf[0] >> 4 == 6 and len(buf) < 40):
        raise ValueError("not an IPv4 or IPv6 packet")
    v6 = buf[0] >> 4 == 6
    size = 16 if v6 else 4
    addr_off = (8 if v6 else 12) + (0 if manip is Manip.SRC else size)
    old_addr = bytes(buf[addr_off : addr_off + size])
    addr = old_addr if new_addr is None else bytes(new_addr)
    if len(addr) != size:
        raise ValueError(f"new address must be {size} bytes")
    located = _ipv6_l4(buf) if v6 else (buf[9], (buf[0] & 0x0F) * 4)
    proto, l4 = located if located is not None else (-1, len(buf))
    port_off = l4 + (0 if manip is Manip.SRC else 2)
    if proto in (ICMP, ICMPV6):
        port_off = l4 + 4
    has_port = proto in (TCP, UDP, UDPLITE) or (
        (proto == ICMP and l4 + 8 <= len(buf) and buf[l4] in _ICMP_ID_TYPES)
        or (proto == ICMPV6 and l4 + 8 <= len(buf) and buf[l4] in _ICMPV6_ECHO)
    )
    if has_port and port_off + 2 > len(buf):
        raise ValueError(f"L4 header at byte {l4} is cut off: the kernel drops this packet")
    old_port = _u16(buf, port_off) if has_port else None
    port = old_port if new_port is None or old_port is None else new_port
    if addr == old_addr and port == old_port:
        return NatResult(bytes(buf), skb_csum, manipulated=False)

    def address_step(check: int, csum: int) -> tuple[int, int]:
        if v6:
            return inet_proto_csum_replace16(check, ip_summed, old_addr, addr, True), csum
        old, new = int.from_bytes(old_addr, "big"), int.from_bytes(addr, "big")
        return inet_proto_csum_replace4(check, ip_summed, csum, old, new, True)

    if proto in (UDP, UDPLITE):
        check = _u16(buf, l4 + 6)
        if proto == UDPLITE or check != 0:
            do_csum = True
        else:
            do_csum = not kernel.nat_skips_zero_udp_checksum and ip_summed == IpSummed.PARTIAL
        if do_csum:
            check, skb_csum = address_step(check, skb_csum)
            assert old_port is not None and port is not None
            check, skb_csum = inet_proto_csum_replace2(
                check, ip_summed, skb_csum, old_port, port, False
            )
            _put16(buf, l4 + 6, check or CSUM_MANGLED_0)
        assert port is not None
        _put16(buf, port_off, port)
    elif proto == TCP:
        assert old_port is not None and port is not None
        _put16(buf, port_off, port)
        if l4 + 20 <= len(buf):
            check, skb_csum = address_step(_u16(buf, l4 + 16), skb_csum)
            check, skb_csum = inet_proto_csum_replace2(
                check, ip_summed, skb_csum, old_port, port, False
            )
            _put16(buf, l4 + 16, check)
    elif proto == ICMP and has_port:
        assert old_port is not None and port is not None
        check, skb_csum = inet_proto_csum_replace2(
            _u16(buf, l4 + 2), ip_summed, skb_csum, old_port, port, False
        )
        _put16(buf, l4 + 2, check)
        _put16(buf, port_off, port)
    elif proto == ICMPV6 and l4 + 4 <= len(buf):
        check, skb_csum = address_step(_u16(buf, l4 + 2), skb_csum)
        if has_port:
            assert old_port is not None and port is not None
            check, skb_csum = inet_proto_csum_replace2(
                check, ip_summed, skb_csum, old_port, port, False
            )
            _put16(buf, port_off, port)
        _put16(buf, l4 + 2, check)

    if not v6:
        old32, new32 = int.from_bytes(old_addr, "big"), int.from_bytes(addr, "big")
        _put16(buf, 10, csum_replace4(_u16(buf, 10), old32, new32))
    buf[addr_off : addr_off + size] = addr
    return NatResult(bytes(buf), skb_csum, manipulated=True)
