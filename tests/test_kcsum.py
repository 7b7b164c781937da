"""The kernel's checksum primitives against the vxsum core and against the C formulas."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

import vxsum
from vxsum.kernel.csum import (
    IpSummed,
    csum16_add,
    csum_add,
    csum_fold,
    csum_replace2,
    csum_replace4,
    inet_proto_csum_replace2,
    inet_proto_csum_replace4,
    inet_proto_csum_replace16,
)

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


def c_csum_fold(csum: int) -> int:
    """include/asm-generic/checksum.h, transcribed: sum += ror(sum, 16); return ~(sum >> 16)."""
    s = csum & 0xFFFFFFFF
    s = (s + (((s >> 16) | (s << 16)) & 0xFFFFFFFF)) & 0xFFFFFFFF
    return ~(s >> 16) & 0xFFFF


@given(u32)
def test_csum_fold_equals_the_generic_c_code(csum: int) -> None:
    assert csum_fold(csum) == c_csum_fold(csum)


@given(u32, u32)
def test_csum_add_is_ones_complement_addition(a: int, b: int) -> None:
    s = csum_add(a, b)
    assert vxsum.fold(s) == vxsum.core.ones_add(vxsum.fold(a), vxsum.fold(b))
    assert (s == 0) == (a == 0 and b == 0)  # end-around carry: +0 only from +0 + +0


@given(u16, u16)
def test_csum16_add(a: int, b: int) -> None:
    assert csum16_add(a, b) == vxsum.core.ones_add(a, b)


@given(u16, u16, u16)
def test_csum_replace2_is_rfc1624_eqn3(check: int, old: int, new: int) -> None:
    assert csum_replace2(check, old, new) == vxsum.update16(check, old, new)


@given(u16, u32, u32)
def test_csum_replace4_is_rfc1624_eqn3(check: int, old: int, new: int) -> None:
    assert csum_replace4(check, old, new) == vxsum.core.update32(check, old, new)


@st.composite
def udp_segments(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    src, dst = draw(st.binary(min_size=4, max_size=4)), draw(st.binary(min_size=4, max_size=4))
    payload = draw(st.binary(max_size=64))
    ports = draw(st.binary(min_size=4, max_size=4))
    length = (8 + len(payload)).to_bytes(2, "big")
    return src, dst, ports + length + b"\x00\x00" + payload


@given(udp_segments(), st.binary(min_size=4, max_size=4))
def test_replace4_keeps_a_complete_checksum_right(
    seg: tuple[bytes, bytes, bytes], new_src: bytes
) -> None:
    src, dst, udp = seg
    full = vxsum.checksum(udp, vxsum.pseudo_header_sum_v4(src, dst, 17, len(udp)))
    for state in (IpSummed.NONE, IpSummed.UNNECESSARY, IpSummed.COMPLETE):
        check, _ = inet_proto_csum_replace4(
            full, state, 0, int.from_bytes(src, "big"), int.from_bytes(new_src, "big"), True
        )
        assert check == vxsum.checksum(udp, vxsum.pseudo_header_sum_v4(new_src, dst, 17, len(udp)))


@given(udp_segments(), st.binary(min_size=4, max_size=4))
def test_replace4_moves_a_pending_seed_to_the_new_pseudo_header(
    seg: tuple[bytes, bytes, bytes], new_src: bytes
) -> None:
    src, dst, udp = seg
    seed = vxsum.pseudo_header_sum_v4(src, dst, 17, len(udp))
    check, _ = inet_proto_csum_replace4(
        seed, IpSummed.PARTIAL, 0, int.from_bytes(src, "big"), int.from_bytes(new_src, "big"), True
    )
    assert check == vxsum.pseudo_header_sum_v4(new_src, dst, 17, len(udp))


@given(u16, u16, u16, st.sampled_from(list(IpSummed)))
def test_replace2_of_a_port_leaves_a_pending_field_alone(
    check: int, old: int, new: int, state: IpSummed
) -> None:
    got, _ = inet_proto_csum_replace2(check, state, 0, old, new, False)
    if state == IpSummed.PARTIAL:
        assert got == check  # the device will sum the new port itself
    else:
        # Zero extension adds ~0 = 0xFFFF words to the 32-bit sum, so the sum is never +0:
        # where 16-bit eqn. 3 gives a field of 0xFFFF, the kernel writes 0x0000.
        expected = csum_replace2(check, old, new)
        assert got == expected or (expected == 0xFFFF and got == 0)


@given(u32)
def test_zero_field_partial_same_address_gives_ffff(addr: int) -> None:
    # kernel-model.md section b: fold(0 + ~a + a) = 0xFFFF for any a.
    check, _ = inet_proto_csum_replace4(0, IpSummed.PARTIAL, 0, addr, addr, True)
    assert check == 0xFFFF


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16), u16)
def test_replace16_complete_and_pending(old: bytes, new: bytes, check: int) -> None:
    done = inet_proto_csum_replace16(check, IpSummed.NONE, old, new, True)
    assert done == vxsum.core.update128(check, old, new)
    seed = inet_proto_csum_replace16(check, IpSummed.PARTIAL, old, new, True)
    assert vxsum.fold(seed) == vxsum.core.ones_add(
        check, 0xFFFF ^ vxsum.ones_sum(old), vxsum.ones_sum(new)
    )
    assert inet_proto_csum_replace16(check, IpSummed.PARTIAL, old, new, False) == check


def test_complete_skb_csum_follows_the_packet() -> None:
    """CHECKSUM_COMPLETE: skb->csum stays the sum of the packet through an SNAT rewrite."""
    from vxsum.kernel.nat import Manip, nat_rewrite
    from vxsum.kernel.versions import Kernel

    for _ in range(200):
        payload = os.urandom(os.urandom(1)[0])
        src, dst, new = os.urandom(4), os.urandom(4), os.urandom(4)
        udp = b"\x30\x39\x00\x35" + (8 + len(payload)).to_bytes(2, "big") + b"\0\0" + payload
        check = vxsum.checksum(udp, vxsum.pseudo_header_sum_v4(src, dst, 17, len(udp))) or 0xFFFF
        udp = udp[:6] + check.to_bytes(2, "big") + udp[8:]
        hdr = bytearray(b"\x45\x00" + (20 + len(udp)).to_bytes(2, "big") + bytes(6) + b"\0\0")
        hdr[8:10] = b"\x40\x11"
        hdr += src + dst
        hdr[10:12] = vxsum.checksum(bytes(hdr)).to_bytes(2, "big")
        pkt = bytes(hdr) + udp
        if new == src:
            continue
        skb_csum = vxsum.ones_sum(pkt)
        out = nat_rewrite(
            pkt,
            Manip.SRC,
            kernel=Kernel.parse("6.1"),
            ip_summed=IpSummed.COMPLETE,
            new_addr=new,
            skb_csum=skb_csum,
        )
        assert vxsum.fold(out.skb_csum) == vxsum.ones_sum(out.packet)
