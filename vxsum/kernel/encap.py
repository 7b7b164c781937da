"""VXLAN encapsulation and its outer UDP checksum (kernel-model.md section d).

``vxlan_xmit`` → ``vxlan_build_skb`` → ``udp_tunnel_xmit_skb`` → ``udp_set_csum``
(``udp6_set_csum`` over IPv6), then ``iptunnel_xmit``. What the outer UDP field holds
depends on the outer checksum setting (``udpcsum`` / ``udp6zerocsumtx``) and on the
inner packet's state when it reaches the VXLAN device:

* checksum off: 0, and the skb keeps the inner state;
* inner pending (CHECKSUM_PARTIAL, the device offers ``tx-checksum-ip-generic``):
  **local checksum offload**, ``lco_csum``: the outer field gets the *complete*
  outer checksum, computed as if the inner field already held its final value
  (``~seed`` stands in for the inner L4 bytes), while the inner one stays pending;
* inner complete: the outer checksum becomes the pending one, with its own seed.

The outer source port comes from the inner flow hash (``udp_flow_src_port``), the
mark survives encapsulation within one namespace (``skb_scrub_packet``), and the
outer packet leaves through IP output and netfilter like any other.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.buffer import Address, ones_sum, pseudo_header_sum
from .csum import CSUM_MANGLED_0, IpSummed, csum_add, csum_fold, csum_unfold
from .sender import ip_header, packed
from .skb import Skb, fill_pending

__all__ = ["EPHEMERAL_PORTS", "ETH_HEADER", "ethernet", "udp_flow_src_port", "vxlan_encapsulate"]

ETH_HEADER = 14
EPHEMERAL_PORTS = (32768, 60999)
"""Linux's default ``ip_local_port_range``, from which ``udp_flow_src_port`` draws
tunnel source ports (both ends inclusive)."""
_ETH_IPV4, _ETH_IPV6 = b"\x08\x00", b"\x86\xdd"


def ethernet(skb: Skb, dst_mac: bytes, src_mac: bytes) -> Skb:
    """Prepend an Ethernet II header to an IP packet, moving ``csum_start`` with it."""
    ethertype = _ETH_IPV6 if skb.data[0] >> 4 == 6 else _ETH_IPV4
    start = None if skb.csum_start is None else skb.csum_start + ETH_HEADER
    return replace(skb, data=dst_mac + src_mac + ethertype + skb.data, csum_start=start)


def udp_flow_src_port(
    flow_hash: int, low: int = EPHEMERAL_PORTS[0], high: int = EPHEMERAL_PORTS[1]
) -> int:
    """The outer source port for an inner flow hash (``udp_flow_src_port``).

    ``low`` and ``high`` are ``ip_local_port_range`` (both inclusive: the kernel adds
    one to ``high``). The hash itself (``skb_get_hash``, keyed by a per-boot
    random seed) cannot be predicted; scenarios pick one.
    """
    h = flow_hash & 0xFFFFFFFF
    h ^= (h << 16) & 0xFFFFFFFF
    return ((h * (high + 1 - low)) >> 32) + low


def vxlan_encapsulate(
    inner: Skb,
    *,
    outer_src: Address,
    outer_dst: Address,
    sport: int,
    dport: int = 8472,
    vni: int = 1,
    udp_csum: bool = True,
    device_tx_csum: bool = True,
    ident: int = 0,
    inner_macs: tuple[bytes, bytes] = (b"\x0a" * 6, b"\x0b" * 6),
    outer_macs: tuple[bytes, bytes] = (b"\x02" * 6, b"\x04" * 6),
) -> Skb:
    """Encapsulate an inner IP packet (starting at its IP header) the way Linux VXLAN does.

    ``device_tx_csum`` is the VXLAN device's ``tx-checksum-ip-generic``: when off,
    ``validate_xmit_skb`` fills the inner pending checksum in software before the
    device sees the packet. Returns the outer frame, from the outer Ethernet header on.
    """
    if not device_tx_csum:
        inner = fill_pending(inner)
    inner_l2 = ethernet(inner, *inner_macs)
    vxlan = b"\x08\x00\x00\x00" + (vni << 8).to_bytes(4, "big")
    body = vxlan + inner_l2.data
    s, d = packed(outer_src), packed(outer_dst)
    length = 8 + len(body)
    udp_head = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + length.to_bytes(2, "big")
    outer_ip = ip_header(s, d, 17, length, ident=ident)
    l4 = ETH_HEADER + len(outer_ip)
    seed = pseudo_header_sum(s, d, 17, length)
    state, start, offset = inner_l2.ip_summed, inner_l2.csum_start, inner_l2.csum_offset
    if start is not None:
        start += l4 + 8 + len(vxlan)
    if not udp_csum:
        check = 0
    elif inner_l2.ip_summed == IpSummed.PARTIAL:
        # lco_csum: ~inner seed, plus our headers from the outer UDP header up to the
        # inner csum_start with the outer field at 0, plus the outer pseudo-header.
        assert inner_l2.csum_start is not None and inner_l2.pending_field is not None
        inner_seed = inner_l2.field(inner_l2.pending_field)
        headers = udp_head + b"\x00\x00" + vxlan + inner_l2.data[: inner_l2.csum_start]
        partial = csum_add(~csum_unfold(inner_seed) & 0xFFFFFFFF, ones_sum(headers))
        check = csum_fold(csum_add(partial, seed)) or CSUM_MANGLED_0
    else:
        check, state, start, offset = seed, IpSummed.PARTIAL, l4, 6
    udp = udp_head + check.to_bytes(2, "big")
    frame = outer_macs[0] + outer_macs[1] + (_ETH_IPV6 if len(s) == 16 else _ETH_IPV4)
    frame += outer_ip + udp + body
    return Skb(frame, state, csum_start=start, csum_offset=offset, mark=inner.mark)
