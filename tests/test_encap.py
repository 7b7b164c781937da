"""Sender seeds, VXLAN encapsulation with LCO, and filling the pending checksum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import vxsum
from vxsum.core.buffer import pseudo_header_sum
from vxsum.kernel.csum import IpSummed
from vxsum.kernel.encap import udp_flow_src_port, vxlan_encapsulate
from vxsum.kernel.sender import tcp_segment, udp_datagram
from vxsum.kernel.skb import Skb, fill_pending

ports = st.integers(1, 65535)
v4 = st.binary(min_size=4, max_size=4)
v6 = st.binary(min_size=16, max_size=16)

OUTER_L4 = 14 + 20  # outer Ethernet + IPv4 header
INNER_L3 = OUTER_L4 + 8 + 8 + 14  # + outer UDP + VXLAN + inner Ethernet


def outer_udp_ok(frame: bytes, ip_len: int = 20) -> bool:
    ip = frame[14 : 14 + ip_len]
    src, dst = (ip[12:16], ip[16:20]) if ip_len == 20 else (ip[8:24], ip[24:40])
    udp = frame[14 + ip_len :]
    return vxsum.verify(udp, pseudo_header_sum(src, dst, 17, len(udp)))


def l4_ok(packet: bytes, proto: int) -> bool:
    seg = packet[20:]
    return vxsum.verify(seg, pseudo_header_sum(packet[12:16], packet[16:20], proto, len(seg)))


def test_tcp_always_leaves_the_seed() -> None:
    skb = tcp_segment("172.30.44.4", "172.30.17.0", 40000, 53, options=bytes(20))
    assert skb.ip_summed == IpSummed.PARTIAL
    assert skb.field(skb.pending_field or 0) == 0x956F  # kernel-model.md section a
    assert l4_ok(fill_pending(skb).data, 6)


@given(v4, v4, ports, ports, st.binary(max_size=200))
def test_udp_seed_only_with_offload(src: bytes, dst: bytes, sp: int, dp: int, data: bytes) -> None:
    pending = udp_datagram(src, dst, sp, dp, data, offload=True)
    assert pending.ip_summed == IpSummed.PARTIAL
    assert pending.field(26) == vxsum.pseudo_header_sum_v4(src, dst, 17, 8 + len(data))
    done = udp_datagram(src, dst, sp, dp, data, offload=False)
    assert done.ip_summed == IpSummed.NONE and done.field(26) != 0
    assert l4_ok(done.data, 17)
    assert fill_pending(pending).data == done.data  # hardware and software agree


@given(v4, v4, ports, st.binary(max_size=300), st.booleans(), st.booleans())
def test_outer_checksum_is_right_once_everything_is_filled(
    src: bytes, dst: bytes, sport: int, data: bytes, inner_tcp: bool, device_tx: bool
) -> None:
    inner = (
        tcp_segment("10.244.0.5", "10.244.1.7", 40000, 80, payload=data)
        if inner_tcp
        else udp_datagram("10.244.0.5", "10.244.1.7", 40000, 53, data, offload=True)
    )
    outer = vxlan_encapsulate(
        inner, outer_src=src, outer_dst=dst, sport=sport, device_tx_csum=device_tx
    )
    if device_tx:  # LCO: outer complete now, inner still pending
        assert outer.csum_start == INNER_L3 + 20
    else:  # inner filled first; the outer checksum is the pending one, holding its seed
        assert outer.csum_start == OUTER_L4
        length = len(outer.data) - OUTER_L4
        assert outer.field(OUTER_L4 + 6) == vxsum.pseudo_header_sum_v4(src, dst, 17, length)
    wire = fill_pending(outer).data
    assert outer_udp_ok(wire)
    assert l4_ok(wire[INNER_L3:], 6 if inner_tcp else 17)


def test_lco_is_right_for_the_filled_inner() -> None:
    inner = tcp_segment("172.30.44.4", "172.30.17.0", 40000, 53, options=bytes(20))
    outer = vxlan_encapsulate(inner, outer_src="10.0.0.11", outer_dst="10.0.0.13", sport=60142)
    lco = outer.field(OUTER_L4 + 6)
    assert outer.field(INNER_L3 + 36) == 0x956F  # the inner seed is still there
    assert not outer_udp_ok(outer.data)  # a sender-side tcpdump calls it bad...
    assert fill_pending(outer).data[OUTER_L4 + 6 : OUTER_L4 + 8] == lco.to_bytes(2, "big")
    assert outer_udp_ok(fill_pending(outer).data)  # ...but it is right on the wire


def test_lco_moves_by_minus_8_for_8_more_bytes() -> None:
    # kernel-model.md section 7: 0x4A95 = 0x4A9D - 8 for a packet 8 bytes longer.
    def lco(options: bytes) -> int:
        inner = tcp_segment("192.168.189.3", "10.244.1.2", 40000, 80, options=options, ident=7)
        outer = vxlan_encapsulate(
            inner, outer_src="192.168.189.3", outer_dst="192.168.189.4", sport=33333, ident=9
        )
        return outer.field(OUTER_L4 + 6)

    short, long = lco(bytes(12)), lco(bytes(20))
    assert vxsum.core.ones_add(long, 8) == short


def test_outer_checksum_off_and_ipv6_underlay() -> None:
    inner = tcp_segment("10.244.0.5", "10.244.1.7", 40000, 80)
    off = vxlan_encapsulate(
        inner, outer_src="10.0.0.1", outer_dst="10.0.0.2", sport=1, udp_csum=False
    )
    assert off.field(OUTER_L4 + 6) == 0 and off.ip_summed == IpSummed.PARTIAL
    six = vxlan_encapsulate(
        inner, outer_src="2001:db8:7::1", outer_dst="2001:db8:7::2", sport=40554
    )
    assert six.data[12:14] == b"\x86\xdd"
    assert outer_udp_ok(fill_pending(six).data, ip_len=40)


def test_flow_src_port_stays_in_range() -> None:
    got = {udp_flow_src_port(h) for h in range(0, 2**32, 2**32 // 997)}
    assert min(got) >= 32768 and max(got) <= 60999
    assert udp_flow_src_port(0) == 32768


def test_skb_rejects_incoherent_state() -> None:
    with pytest.raises(ValueError):
        Skb(b"\x00" * 10, IpSummed.PARTIAL)
    with pytest.raises(ValueError):
        Skb(b"\x00" * 10, IpSummed.PARTIAL, csum_start=8, csum_offset=6)
