"""The single-buffer checksum core against a reference loop, dpkt and scapy."""

from __future__ import annotations

import ipaddress
import random

import dpkt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import reference_checksum, reference_sum
from scapy.utils import checksum as scapy_checksum

import vxsum
from vxsum.core.buffer import NUMPY_MIN_BYTES, field_checksum


def test_every_length_up_to_2000_matches_all_oracles() -> None:
    rng = random.Random(1071)
    for n in range(2001):
        data = rng.randbytes(n)
        expected = reference_checksum(data)
        assert vxsum.checksum(data) == expected, n
        assert dpkt.in_cksum(data) == expected, n
        assert scapy_checksum(data) == expected, n
        assert vxsum.ones_sum(data) == reference_sum(data), n


@given(st.binary(max_size=65536))
def test_random_buffers_match_reference_and_dpkt(data: bytes) -> None:
    assert vxsum.checksum(data) == reference_checksum(data) == dpkt.in_cksum(data)


@given(st.binary(max_size=4096))
def test_random_buffers_match_scapy(data: bytes) -> None:
    assert vxsum.checksum(data) == scapy_checksum(data)


@given(st.binary(max_size=3000), st.integers(0, 7))
def test_every_buffer_type_gives_the_same_answer(data: bytes, start: int) -> None:
    expected = reference_checksum(data)
    padded = bytes(start) + data
    assert vxsum.checksum(bytearray(data)) == expected
    assert vxsum.checksum(memoryview(padded)[start:]) == expected
    assert vxsum.checksum(np.frombuffer(padded, dtype=np.uint8)[start:]) == expected
    # A non-contiguous view is read in its logical order.
    doubled = bytes(b for pair in zip(data, data, strict=True) for b in pair)
    assert vxsum.checksum(memoryview(doubled)[::2]) == expected


def test_multibyte_formats_are_read_as_raw_bytes() -> None:
    data = bytes(range(200)) * 10
    assert vxsum.checksum(np.frombuffer(data, dtype=">u2")) == reference_checksum(data)
    assert vxsum.checksum(memoryview(data).cast("I")) == reference_checksum(data)
    assert vxsum.checksum(np.frombuffer(data, np.uint8).reshape(40, 50)) == reference_checksum(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0xFFFF),
        (b"\x01", 0xFEFF),  # padded to 0x0100
        (b"\x00" * 64, 0xFFFF),  # only all-zero data checksums to 0xFFFF
        (b"\xff" * 64, 0x0000),  # sum is -0 (0xFFFF): checksum +0
        (b"\xff", 0x00FF),
        (b"\x00" * 65535, 0xFFFF),
        (b"\xff" * 65535, 0x00FF),  # 32767 words of 0xFFFF (-0) plus 0xFF00
    ],
)
def test_edge_cases(data: bytes, expected: int) -> None:
    assert vxsum.checksum(data) == expected == reference_checksum(data)


def test_rfc1071_example() -> None:
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
    assert vxsum.ones_sum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert vxsum.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_both_size_paths_agree_at_the_threshold() -> None:
    rng = random.Random(7)
    for n in range(NUMPY_MIN_BYTES - 9, NUMPY_MIN_BYTES + 9):
        data = rng.randbytes(n)
        assert vxsum.checksum(data) == vxsum.checksum(bytearray(data)) == reference_checksum(data)


# --- fold, zero and negative zero -----------------------------------------------------


@given(st.integers(0, 2**80))
def test_fold_equals_repeated_end_around_carry(value: int) -> None:
    x = value
    while x > 0xFFFF:
        x = (x & 0xFFFF) + (x >> 16)
    assert vxsum.fold(value) == x


def test_fold_zero_and_negative_zero() -> None:
    assert vxsum.fold(0) == 0
    assert vxsum.fold(0xFFFF) == 0xFFFF
    assert vxsum.fold(0x1FFFE) == 0xFFFF
    assert vxsum.core.ones_add(0x1234, 0xEDCB) == 0xFFFF  # x + ~x is -0, never +0
    with pytest.raises(ValueError):
        vxsum.fold(-1)


@given(st.binary(min_size=2, max_size=200).filter(lambda b: any(b)))
def test_a_correct_field_verifies_and_its_other_zero_does_too(data: bytes) -> None:
    body = bytearray(data[: len(data) // 2 * 2]) + b"\x00\x00"
    field = vxsum.checksum(body)
    body[-2:] = field.to_bytes(2, "big")
    assert vxsum.verify(body)
    if field in (0x0000, 0xFFFF):
        # +0 and -0 add the same amount: a ones'-complement check cannot tell them apart.
        body[-2:] = (field ^ 0xFFFF).to_bytes(2, "big")
        assert vxsum.verify(body)
    else:
        body[-2:] = ((field + 1) & 0xFFFF).to_bytes(2, "big")
        assert not vxsum.verify(body)


def test_verify_rejects_all_zero_data() -> None:
    # The sum of all-zero data is +0, not -0: an all-zero field is wrong here.
    assert not vxsum.verify(bytes(20))


# --- pseudo-headers -------------------------------------------------------------------


def test_worked_seed_from_the_kernel_model() -> None:
    # kernel-model.md section a: 172.30.44.4 -> 172.30.17.0, TCP, length 40 seeds 0x956F.
    assert vxsum.pseudo_header_sum_v4("172.30.44.4", "172.30.17.0", 6, 40) == 0x956F
    assert vxsum.checksum(b"", 0x956F) == 0x6A90  # the complemented form


def test_address_forms_are_equivalent() -> None:
    forms = [
        "10.0.0.1",
        ipaddress.IPv4Address("10.0.0.1"),
        b"\x0a\x00\x00\x01",
        0x0A000001,
        memoryview(b"\x0a\x00\x00\x01"),
    ]
    values = {vxsum.pseudo_header_sum_v4(f, "10.0.0.2", 17, 8) for f in forms}
    assert len(values) == 1
    with pytest.raises(ValueError):
        vxsum.pseudo_header_sum_v4(b"\x01\x02\x03", "10.0.0.2", 17, 8)
    with pytest.raises(ValueError):
        vxsum.pseudo_header_sum_v4("10.0.0.1", "10.0.0.2", 17, 70000)


@given(
    st.binary(min_size=4, max_size=4),
    st.binary(min_size=4, max_size=4),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.binary(max_size=300),
)
def test_udp_over_ipv4_matches_dpkt(
    src: bytes, dst: bytes, sport: int, dport: int, payload: bytes
) -> None:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload, sum=0)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=src, dst=dst, p=17, data=udp)
    raw_ip = bytes(ip)  # dpkt fills in the UDP checksum here (0 becomes 0xFFFF)
    seg = raw_ip[20:]
    stored = int.from_bytes(seg[6:8], "big")
    zeroed = seg[:6] + b"\x00\x00" + seg[8:]
    mine = vxsum.checksum(zeroed, vxsum.pseudo_header_sum_v4(src, dst, 17, len(seg)))
    assert (mine or 0xFFFF) == stored  # RFC 768: a computed 0 is sent as 0xFFFF
    assert vxsum.verify(seg, vxsum.pseudo_header_sum_v4(src, dst, 17, len(seg)))
    assert vxsum.checksum(raw_ip[:20]) == 0  # the IPv4 header checksum verifies too


@given(
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=16, max_size=16),
    st.binary(max_size=300),
)
def test_tcp_over_ipv6_matches_scapy(src: bytes, dst: bytes, payload: bytes) -> None:
    from scapy.layers.inet import TCP
    from scapy.layers.inet6 import IPv6

    s6, d6 = str(ipaddress.IPv6Address(src)), str(ipaddress.IPv6Address(dst))
    raw = bytes(IPv6(src=s6, dst=d6) / TCP(sport=1, dport=2) / payload)
    seg = raw[40:]
    initial = vxsum.pseudo_header_sum_v6(src, dst, 6, len(seg))
    assert vxsum.verify(seg, initial)
    zeroed = seg[:16] + b"\x00\x00" + seg[18:]
    assert vxsum.checksum(zeroed, initial) == int.from_bytes(seg[16:18], "big")


def test_ipv6_length_is_a_32_bit_value() -> None:
    a, b = "2001:db8::1", "2001:db8::2"
    base = vxsum.pseudo_header_sum_v6(a, b, 17, 0)
    assert vxsum.pseudo_header_sum_v6(a, b, 17, 0x10000) == vxsum.core.ones_add(base, 1)


@given(st.integers(0, 65536), st.randoms(use_true_random=False))
def test_large_random_buffers_match_reference(size: int, rnd: random.Random) -> None:
    data = rnd.randbytes(size)
    assert vxsum.checksum(data) == reference_checksum(data) == dpkt.in_cksum(data)


def test_numpy_path_does_not_overflow_32_bits() -> None:
    # 0xFFFFFFFF words: numpy must accumulate uint32 in 64 bits for this to be right.
    data = b"\xff" * (NUMPY_MIN_BYTES * 64)
    assert vxsum.checksum(data) == reference_checksum(data) == 0
    data = b"\xff\xff\xff\xfe" * (NUMPY_MIN_BYTES * 16)
    assert vxsum.checksum(data) == reference_checksum(data)


@given(
    st.binary(min_size=2, max_size=2048).filter(lambda b: len(b) >= 2),
    st.integers(0, 0xFFFF),
    st.integers(0, 2000),
    st.sampled_from([0, 0xFFFF, 0xFFFE, 1]) | st.integers(0, 0xFFFF),
)
def test_field_checksum_is_checksum_and_verify_in_one_pass(
    data: bytes, pseudo: int, at: int, stored: int
) -> None:
    """The parser's one-pass helper gives what the two public calls give, zero fields,
    all-zero spans and -0 included."""
    at = min(at, len(data) - 2) & ~1
    span = data[:at] + stored.to_bytes(2, "big") + data[at + 2 :]
    for initial in (0, pseudo):
        cancelled = vxsum.checksum(span, initial + (0xFFFF ^ stored))
        due = (cancelled, vxsum.verify(span, initial))
        assert field_checksum(span, initial, stored) == due
        assert field_checksum(memoryview(span), initial, stored) == due
        assert field_checksum(np.frombuffer(span, np.uint8), initial, stored) == due
        assert field_checksum(bytes(len(span)), initial, 0) == (
            vxsum.checksum(bytes(len(span)), initial + 0xFFFF),
            vxsum.verify(bytes(len(span)), initial),
        )
