"""nf_nat rewriting: table g of kernel-model.md (outer UDP rows), TCP/UDP/ICMP, IPv4/IPv6."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import reference_udp_due

import vxsum
from vxsum.kernel.csum import IpSummed
from vxsum.kernel.nat import Manip, nat_rewrite
from vxsum.kernel.versions import Kernel

PRE_FIX, FIXED = Kernel.parse("5.4.40"), Kernel.parse("5.4.41")
OLD_SRC, DST = ipaddress.IPv4Address("10.0.0.11").packed, ipaddress.IPv4Address("10.0.0.13").packed
NEW_SRC = ipaddress.IPv4Address("10.0.0.99").packed
OLD_PORT, NEW_PORT = 60142, 50024


def ipv4_udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, check: int) -> bytes:
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    udp += (8 + len(payload)).to_bytes(2, "big") + check.to_bytes(2, "big") + payload
    hdr = bytearray(b"\x45\x00" + (20 + len(udp)).to_bytes(2, "big") + b"\x12\x34\x40\x00\x40\x11")
    hdr += b"\x00\x00" + src + dst
    hdr[10:12] = vxsum.checksum(bytes(hdr)).to_bytes(2, "big")
    return bytes(hdr) + udp


def udp_check(packet: bytes) -> int:
    return int.from_bytes(packet[26:28], "big")


def with_checksum(target: int) -> bytes:
    """A VXLAN-like outer packet (table g's sample addresses) whose correct checksum is target."""
    payload = bytearray(b"\x08\x00\x00\x00\x00\x00\x01\x00" + bytes(range(50)) + b"\x00\x00")
    base = ipv4_udp(OLD_SRC, DST, OLD_PORT, 8472, bytes(payload), 0)
    filler = vxsum.core.ones_add(0xFFFF ^ target, reference_udp_due(base, ip_offset=0))
    payload[-2:] = filler.to_bytes(2, "big")
    pkt = ipv4_udp(OLD_SRC, DST, OLD_PORT, 8472, bytes(payload), 0)
    assert reference_udp_due(pkt, ip_offset=0) == target
    return ipv4_udp(OLD_SRC, DST, OLD_PORT, 8472, bytes(payload), target)


def snat(
    pkt: bytes, kernel: Kernel, state: IpSummed, addr: bytes | None, port: int | None
) -> bytes:
    return nat_rewrite(
        pkt, Manip.SRC, kernel=kernel, ip_summed=state, new_addr=addr, new_port=port
    ).packet


def test_address_delta_of_the_sample() -> None:
    delta = vxsum.fold(
        (0xFFFFFFFF ^ int.from_bytes(OLD_SRC, "big")) + int.from_bytes(NEW_SRC, "big")
    )
    assert delta == 0x0058


# Table g, outer checksum off (a 0 field): (NAT, state, pre-fix value, fixed value)
ZERO_ROWS = [
    ("port only", IpSummed.PARTIAL, None, NEW_PORT, 0xFFFF, 0),
    ("address only", IpSummed.PARTIAL, NEW_SRC, None, 0x0058, 0),
    ("address+port", IpSummed.PARTIAL, NEW_SRC, NEW_PORT, 0x0058, 0),
    ("port only", IpSummed.NONE, None, NEW_PORT, 0, 0),
    ("address+port", IpSummed.NONE, NEW_SRC, NEW_PORT, 0, 0),
    ("address+port", IpSummed.UNNECESSARY, NEW_SRC, NEW_PORT, 0, 0),
]


@pytest.mark.parametrize(("row", "state", "addr", "port", "buggy", "fixed"), ZERO_ROWS)
def test_table_g_outer_checksum_off(
    row: str, state: IpSummed, addr: bytes | None, port: int | None, buggy: int, fixed: int
) -> None:
    pkt = ipv4_udp(OLD_SRC, DST, OLD_PORT, 8472, b"\x08" + bytes(40), 0)
    assert udp_check(snat(pkt, PRE_FIX, state, addr, port)) == buggy, row
    assert udp_check(snat(pkt, FIXED, state, addr, port)) == fixed, row


# Table g, outer checksum on, inner pending: the field holds L (an LCO value, a complete
# checksum), the skb is PARTIAL for the inner header. (NAT, field after NAT, correct C)
LCO_ROWS = [
    ("port only", None, NEW_PORT, 0x8912, 0xB098),
    ("address only", NEW_SRC, None, 0x896A, 0x88BA),
    ("address+port", NEW_SRC, NEW_PORT, 0x896A, 0xB040),
]


@pytest.mark.parametrize(("row", "addr", "port", "on_wire", "correct"), LCO_ROWS)
def test_table_g_outer_checksum_on_broken_in_both_kernels(
    row: str, addr: bytes | None, port: int | None, on_wire: int, correct: int
) -> None:
    pkt = with_checksum(0x8912)
    for kernel in (PRE_FIX, FIXED):
        out = snat(pkt, kernel, IpSummed.PARTIAL, addr, port)
        assert udp_check(out) == on_wire, (row, kernel)
        assert reference_udp_due(out, ip_offset=0) == correct, (row, kernel)
        # With the checksum complete (NONE) the same rewrite keeps it right.
        ok = snat(pkt, kernel, IpSummed.NONE, addr, port)
        assert udp_check(ok) == reference_udp_due(ok, ip_offset=0) == correct


def test_lab_address_rewrite_is_off_by_twice_the_delta() -> None:
    # real-kernel-lab.md: SNAT 198.18.0.1 -> 198.18.0.11 of an LCO outer checksum gave
    # 'bad udp cksum 0x7078 -> 0x7064': the field moved +0x0a, the correct value -0x0a.
    lab_src = ipaddress.IPv4Address("198.18.0.1").packed
    new = ipaddress.IPv4Address("198.18.0.11").packed
    pkt = ipv4_udp(lab_src, DST, 40000, 8472, b"\x08" + bytes(60), 0)
    pkt = pkt[:26] + reference_udp_due(pkt, ip_offset=0).to_bytes(2, "big") + pkt[28:]
    out = snat(pkt, FIXED, IpSummed.PARTIAL, new, None)
    assert vxsum.core.ones_add(udp_check(out), 0xFFFF ^ udp_check(pkt)) == 0x000A
    assert (
        vxsum.core.ones_add(udp_check(pkt), 0xFFFF ^ reference_udp_due(out, ip_offset=0)) == 0x000A
    )


def test_identity_mapping_never_touches_the_checksum() -> None:
    pkt = ipv4_udp(OLD_SRC, DST, OLD_PORT, 8472, bytes(20), 0)
    out = nat_rewrite(pkt, Manip.SRC, kernel=PRE_FIX, ip_summed=IpSummed.PARTIAL, new_port=OLD_PORT)
    assert not out.manipulated and out.packet == pkt


@given(
    st.binary(min_size=4, max_size=4),
    st.integers(0, 65535),
    st.binary(max_size=80),
    st.sampled_from([Manip.SRC, Manip.DST]),
    st.sampled_from([IpSummed.NONE, IpSummed.UNNECESSARY, IpSummed.COMPLETE]),
)
def test_complete_checksums_stay_right_for_udp(
    addr: bytes, port: int, payload: bytes, manip: Manip, state: IpSummed
) -> None:
    pkt = ipv4_udp(OLD_SRC, DST, OLD_PORT, 8472, payload, 0)
    pkt = pkt[:26] + reference_udp_due(pkt, ip_offset=0).to_bytes(2, "big") + pkt[28:]
    for kernel in (PRE_FIX, FIXED):
        out = nat_rewrite(pkt, manip, kernel=kernel, ip_summed=state, new_addr=addr, new_port=port)
        assert udp_check(out.packet) == reference_udp_due(out.packet, ip_offset=0)
        assert vxsum.checksum(out.packet[:20]) == 0  # the IPv4 header checksum too


@given(
    st.binary(min_size=4, max_size=4),
    st.integers(0, 65535),
    st.binary(max_size=80),
    st.sampled_from([Manip.SRC, Manip.DST]),
)
def test_pending_tcp_seed_follows_the_rewrite(
    addr: bytes, port: int, payload: bytes, manip: Manip
) -> None:
    """PARTIAL TCP: the seed stays the pseudo-header sum of the rewritten packet."""
    tcp = bytearray(b"\x9c\x40\x00\x35" + bytes(8) + b"\x50\x02\xff\xff\x00\x00\x00\x00" + payload)
    hdr = bytearray(b"\x45\x00" + (20 + len(tcp)).to_bytes(2, "big") + b"\x00\x01\x40\x00\x40\x06")
    hdr += b"\x00\x00" + OLD_SRC + DST
    hdr[10:12] = vxsum.checksum(bytes(hdr)).to_bytes(2, "big")
    seed = vxsum.pseudo_header_sum_v4(OLD_SRC, DST, 6, len(tcp))
    tcp[16:18] = seed.to_bytes(2, "big")
    out = nat_rewrite(
        bytes(hdr + tcp),
        manip,
        kernel=FIXED,
        ip_summed=IpSummed.PARTIAL,
        new_addr=addr,
        new_port=port,
    ).packet
    want = vxsum.pseudo_header_sum_v4(out[12:16], out[16:20], 6, len(tcp))
    got = int.from_bytes(out[36:38], "big")
    assert got == want
    assert out[20 + (0 if manip is Manip.SRC else 2) :][:2] == port.to_bytes(2, "big")


def ipv6_udp(src: bytes, dst: bytes, payload: bytes, check: int, ext: bytes = b"") -> bytes:
    udp = b"\x30\x39\x21\x18" + (8 + len(payload)).to_bytes(2, "big") + check.to_bytes(2, "big")
    udp += payload
    nh = 0 if ext else 17
    return (
        b"\x60\x00\x00\x00"
        + (len(ext) + len(udp)).to_bytes(2, "big")
        + bytes([nh, 64])
        + src
        + dst
        + ext
        + udp
    )


@given(st.binary(min_size=16, max_size=16), st.binary(max_size=40), st.booleans())
def test_ipv6_udp_through_extension_headers(new: bytes, payload: bytes, hop_by_hop: bool) -> None:
    src = ipaddress.IPv6Address("2001:db8:7::1").packed
    dst = ipaddress.IPv6Address("2001:db8:7::2").packed
    ext = b"\x11\x00" + bytes(6) if hop_by_hop else b""
    pkt = ipv6_udp(src, dst, payload, 0, ext)
    l4 = 40 + len(ext)
    udp = pkt[l4:]
    check = vxsum.checksum(udp, vxsum.pseudo_header_sum_v6(src, dst, 17, len(udp))) or 0xFFFF
    pkt = pkt[: l4 + 6] + check.to_bytes(2, "big") + pkt[l4 + 8 :]
    out = nat_rewrite(pkt, Manip.SRC, kernel=FIXED, ip_summed=IpSummed.NONE, new_addr=new).packet
    assert out[8:24] == new
    assert vxsum.verify(out[l4:], vxsum.pseudo_header_sum_v6(new, dst, 17, len(udp)))


def test_icmp_echo_id_rewrite_keeps_checksum_right() -> None:
    icmp = bytearray(b"\x08\x00\x00\x00\x12\x34\x00\x01" + b"ping" * 8)
    icmp[2:4] = vxsum.checksum(bytes(icmp)).to_bytes(2, "big")
    hdr = bytearray(b"\x45\x00" + (20 + len(icmp)).to_bytes(2, "big") + b"\x00\x01\x40\x00\x40\x01")
    hdr += b"\x00\x00" + OLD_SRC + DST
    hdr[10:12] = vxsum.checksum(bytes(hdr)).to_bytes(2, "big")
    out = snat(bytes(hdr + icmp), FIXED, IpSummed.NONE, NEW_SRC, 0x4321)
    assert out[24:26] == b"\x43\x21"
    assert vxsum.checksum(out[20:]) == 0
    assert vxsum.checksum(out[:20]) == 0


def test_too_short_packets_are_refused() -> None:
    with pytest.raises(ValueError):
        nat_rewrite(b"\x45" + bytes(10), Manip.SRC, kernel=FIXED, ip_summed=IpSummed.NONE)
    pkt = ipv4_udp(OLD_SRC, DST, 1, 2, b"", 0)[:22]
    with pytest.raises(ValueError, match="cut off"):
        nat_rewrite(pkt, Manip.DST, kernel=FIXED, ip_summed=IpSummed.NONE, new_port=5)


def test_udplite_always_updates_even_on_a_fixed_kernel() -> None:
    """UDP-Lite has no 'no checksum' 0, so do_csum is always true (kernel-model.md c)."""
    lite = b"\x30\x39\x21\x18\x00\x08\x00\x00" + b"payload!"  # coverage 8: the header only
    hdr = bytearray(b"\x45\x00" + (20 + len(lite)).to_bytes(2, "big") + b"\x00\x01\x40\x00\x40\x88")
    hdr += b"\x00\x00" + OLD_SRC + DST
    hdr[10:12] = vxsum.checksum(bytes(hdr)).to_bytes(2, "big")
    ph = vxsum.pseudo_header_sum_v4(OLD_SRC, DST, 136, len(lite))
    check = vxsum.checksum(lite[:8], ph)
    pkt = bytes(hdr) + lite[:6] + check.to_bytes(2, "big") + lite[8:]
    out = snat(pkt, FIXED, IpSummed.NONE, NEW_SRC, NEW_PORT)
    new_ph = vxsum.pseudo_header_sum_v4(NEW_SRC, DST, 136, len(lite))
    assert vxsum.verify(out[20:28], new_ph)  # still right over its coverage
    zero = bytes(hdr) + lite[:6] + b"\x00\x00" + lite[8:]
    assert snat(zero, FIXED, IpSummed.PARTIAL, NEW_SRC, None)[26:28] != b"\x00\x00"


def test_icmpv6_echo_rewrite_keeps_checksum_right() -> None:
    src = ipaddress.IPv6Address("2001:db8::1").packed
    dst = ipaddress.IPv6Address("2001:db8::2").packed
    new = ipaddress.IPv6Address("2001:db8::99").packed
    body = bytearray(b"\x80\x00\x00\x00\x12\x34\x00\x01" + b"ping" * 4)
    body[2:4] = vxsum.checksum(
        bytes(body), vxsum.pseudo_header_sum_v6(src, dst, 58, len(body))
    ).to_bytes(2, "big")
    pkt = b"\x60\x00\x00\x00" + len(body).to_bytes(2, "big") + b"\x3a\x40" + src + dst + bytes(body)
    out = nat_rewrite(
        pkt, Manip.SRC, kernel=FIXED, ip_summed=IpSummed.NONE, new_addr=new, new_port=0x4321
    ).packet
    assert out[44:46] == b"\x43\x21"
    assert vxsum.verify(out[40:], vxsum.pseudo_header_sum_v6(new, dst, 58, len(body)))
