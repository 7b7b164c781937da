"""Misuse of the API is a TypeError or ValueError, never a wrong answer (issue 14).

The rule (vxsum/errors.py): a wrong argument type is a ``TypeError``, a value outside
the documented domain a ``ValueError``; ``bool`` is not an int anywhere. Items 5, 12,
19 and 20 of issue 14.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import reference_checksum

import vxsum
from vxsum.core import ones_add, ones_sums, update32, update_span
from vxsum.frames.config import ParseConfig

BUF = b"..\x45\x00\x01"
NOT_INTS = [1.5, 2.0, "1", None, True, False, np.float64(2.0), np.True_, b"\x01"]
HUGE = [2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**70]


def _fold_reference(x: int) -> int:
    """End-around carry, the way RFC 1071 section 4.1 writes it."""
    while x >> 16:
        x = (x & 0xFFFF) + (x >> 16)
    return x


# --- checksums(): spans must not wrap around (item 5, item 19) -------------------------


@pytest.mark.parametrize(
    ("offsets", "lengths"),
    [
        ([2], [2**63 - 1]),  # offset + length wraps to a negative int64
        ([2**62], [2**62]),  # ... and to exactly -2**63
        ([2**63 - 1], [2**63 - 1]),
        ([0, 2], [1, 2**63 - 1]),
        ([2], 2**63 - 1),  # a scalar length, broadcast
    ],
)
def test_checksums_refuses_spans_whose_end_wraps_around(
    offsets: list[int], lengths: list[int] | int
) -> None:
    with pytest.raises(ValueError, match="outside the 5-byte buffer"):
        vxsum.checksums(BUF, offsets, lengths)


@pytest.mark.parametrize("huge", [2**63, 2**64 - 1, 2**64, 2**100, -(2**63) - 1])
def test_checksums_offsets_beyond_int64_are_value_errors(huge: int) -> None:
    for offsets, lengths in (([huge], [1]), ([1], [huge]), ([-1, huge], [1, 1])):
        with pytest.raises(ValueError):
            vxsum.checksums(BUF, offsets, lengths)
    with pytest.raises(ValueError):
        vxsum.checksums(BUF, [0], [1], initial=huge)


@pytest.mark.parametrize(
    "bad", [[2.0], [2.7], np.array([2.0]), [True], np.array([1, 0], dtype=bool), ["2"], [None]]
)
def test_checksums_refuses_non_integer_offsets_lengths_and_initial(bad: object) -> None:
    n = len(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="offsets"):
        vxsum.checksums(BUF, bad, [1] * n)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lengths"):
        vxsum.checksums(BUF, [0] * n, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="initial"):
        vxsum.checksums(BUF, [0] * n, [1] * n, initial=bad)  # type: ignore[arg-type]


def test_checksums_still_takes_integers_of_any_dtype_and_empty_lists() -> None:
    expected = [reference_checksum(BUF[2:4]), reference_checksum(BUF[4:5])]
    for dtype in (np.int8, np.int32, np.uint16, np.uint32, np.int64, np.uint64):
        offs, lens = np.array([2, 4], dtype=dtype), np.array([2, 1], dtype=dtype)
        assert vxsum.checksums(BUF, offs, lens).tolist() == expected, dtype
    assert vxsum.checksums(BUF, [], []).tolist() == []
    assert vxsum.checksums(BUF, np.array([], dtype=float), []).tolist() == []


@pytest.mark.parametrize("threads", [1.5, True, "2", None])
def test_checksums_threads_must_be_an_int(threads: object) -> None:
    with pytest.raises(TypeError, match="threads"):
        ones_sums(BUF, [0], [1], threads=threads)  # type: ignore[arg-type]


int_anywhere = st.one_of(
    st.integers(-8, 16), st.sampled_from(HUGE + [-h for h in HUGE]), st.integers()
)


@given(st.binary(max_size=40), st.lists(st.tuples(int_anywhere, int_anywhere), max_size=6))
def test_checksums_answers_the_reference_or_raises_value_error(
    data: bytes, spans: list[tuple[int, int]]
) -> None:
    """For any int offsets and lengths: the reference checksum of each span, or a
    ValueError when some span is outside the buffer, never a number that wrapped."""
    offsets = [o for o, _ in spans]
    lengths = [n for _, n in spans]
    inside = all(o >= 0 and n >= 0 and o + n <= len(data) for o, n in spans)
    if inside:
        got = vxsum.checksums(data, offsets, lengths).tolist()
        assert got == [reference_checksum(data[o : o + n]) for o, n in spans]
    else:
        with pytest.raises(ValueError):
            vxsum.checksums(data, offsets, lengths)


# --- the 16-bit functions: ints in their documented range (item 19) -------------------


@pytest.mark.parametrize("bad", NOT_INTS)
def test_scalar_functions_refuse_non_ints_and_bool(bad: object) -> None:
    calls = [
        lambda: vxsum.fold(bad),
        lambda: ones_add(bad),
        lambda: ones_add(1, bad),
        lambda: vxsum.update16(bad, 0, 1),
        lambda: vxsum.update16(0, bad, 1),
        lambda: vxsum.update16(0, 0, bad),
        lambda: update32(bad, b"\0" * 4, b"\0" * 4),
        lambda: update_span(bad, 0, b"\0", b"\1"),
        lambda: update_span(0, bad, b"\0", b"\1"),
        lambda: vxsum.pseudo_header_sum_v4(b"\0" * 4, b"\0" * 4, bad, 8),
        lambda: vxsum.pseudo_header_sum_v6(b"\0" * 16, b"\0" * 16, 17, bad),
        lambda: vxsum.checksum(b"ab", bad),
        lambda: vxsum.ones_sum(b"ab", bad),
    ]
    for i, call in enumerate(calls):
        with pytest.raises(TypeError, match="must be an int"):
            call()
            pytest.fail(f"call {i} accepted {bad!r}")


@pytest.mark.parametrize("bad", [False, 0.0, np.float64(0)])
def test_checksum_refuses_a_falsy_non_int_initial(bad: object) -> None:
    with pytest.raises(TypeError, match="initial"):
        vxsum.checksum(b"ab", bad)  # type: ignore[arg-type]


def test_fold_of_a_float_is_no_longer_returned_as_is() -> None:
    with pytest.raises(TypeError):
        vxsum.fold(1.5)  # type: ignore[arg-type]


def test_ones_add_refuses_what_fold_refuses() -> None:
    """ones_add(-1, 1) summed to 0 while fold(-1) raised: each value is 16-bit now."""
    with pytest.raises(ValueError, match="16-bit"):
        ones_add(-1, 1)
    with pytest.raises(ValueError, match="16-bit"):
        ones_add(0x10000)
    with pytest.raises(ValueError):
        vxsum.fold(-1)


@given(st.integers(), st.integers(), st.integers())
def test_16_bit_functions_answer_in_range_and_raise_value_error_outside(
    a: int, b: int, c: int
) -> None:
    in16 = [0 <= v <= 0xFFFF for v in (a, b, c)]
    if all(in16):
        assert ones_add(a, b, c) == _fold_reference(a + b + c)
        expected = 0xFFFF ^ _fold_reference((0xFFFF ^ a) + (0xFFFF ^ b) + c)
        assert vxsum.update16(a, b, c) == expected
    else:
        with pytest.raises(ValueError):
            ones_add(a, b, c)
        with pytest.raises(ValueError):
            vxsum.update16(a, b, c)
    if a >= 0:
        assert vxsum.fold(a) == _fold_reference(a)
    else:
        with pytest.raises(ValueError):
            vxsum.fold(a)


def test_numpy_integers_are_ints() -> None:
    """Values read out of numpy arrays still work, and give plain Python ints."""
    assert vxsum.fold(np.int64(0x12345)) == vxsum.fold(0x12345)
    assert type(vxsum.fold(np.uint32(0x12345))) is int
    assert ones_add(np.uint16(0xFFFF), np.int64(1)) == 1
    assert vxsum.update16(np.uint16(0x1234), 0, np.uint16(1)) == vxsum.update16(0x1234, 0, 1)
    assert vxsum.checksum(b"\x00\x00", np.int64(0)) == 0xFFFF  # a zero initial, still +0
    with pytest.raises(ValueError):
        vxsum.update16(np.int64(-1), 0, 0)


# --- pseudo_header_sum: the family of the addresses (item 20) -------------------------


V4 = ("192.0.2.1", "192.0.2.2")
V6 = ("2001:db8::1", "2001:db8::2")


def test_pseudo_header_sum_parses_text_addresses_of_either_family() -> None:
    p6 = [ipaddress.ip_address(a).packed for a in V6]
    p4 = [ipaddress.ip_address(a).packed for a in V4]
    assert vxsum.pseudo_header_sum(*V6, 17, 8) == vxsum.pseudo_header_sum_v6(*p6, 17, 8)
    assert vxsum.pseudo_header_sum(*V4, 17, 8) == vxsum.pseudo_header_sum_v4(*p4, 17, 8)
    # Short IPv6 text ("::1" is 3 characters) and packed forms of every kind agree.
    assert vxsum.pseudo_header_sum("::1", "::2", 6, 20) == vxsum.pseudo_header_sum_v6(
        "::1", "::2", 6, 20
    )
    objects = [ipaddress.ip_address(a) for a in V6]
    for src, dst in ((*p6,), (*objects,), (bytearray(p6[0]), memoryview(p6[1]))):
        assert vxsum.pseudo_header_sum(src, dst, 17, 8) == vxsum.pseudo_header_sum(*V6, 17, 8)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (V4[0], V6[1]),
        (V6[0], V4[1]),
        (bytes(4), bytes(16)),
        (ipaddress.ip_address(V4[0]), V6[1]),
    ],
)
def test_pseudo_header_sum_refuses_mixed_families(src: object, dst: object) -> None:
    with pytest.raises(ValueError, match="different families"):
        vxsum.pseudo_header_sum(src, dst, 17, 8)  # type: ignore[arg-type]


def test_pseudo_header_sum_refuses_what_has_no_family() -> None:
    with pytest.raises(ValueError, match="4- or 16-byte"):
        vxsum.pseudo_header_sum(bytes(5), bytes(5), 17, 8)
    with pytest.raises(ValueError, match="dst must be a 4- or 16-byte"):
        vxsum.pseudo_header_sum(bytes(4), bytes(7), 17, 8)
    with pytest.raises(ValueError):
        vxsum.pseudo_header_sum("not an address", V4[1], 17, 8)
    for bad in (1, True, None, 1.5):
        with pytest.raises(TypeError, match="src"):
            vxsum.pseudo_header_sum(bad, V4[1], 17, 8)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        vxsum.pseudo_header_sum_v4(True, 2, 17, 8)


# --- parse(): argument types (item 12) ------------------------------------------------

FRAME = bytes.fromhex("4500001e00010000401166cc0a0000010a00000204d20035000a12346869")


@pytest.mark.parametrize("linktype", ["101", "1", 101.0, True, b"e"])  # None: inferred
def test_parse_refuses_a_linktype_that_is_not_an_int(linktype: object) -> None:
    with pytest.raises(TypeError, match="linktype"):
        vxsum.parse(FRAME, linktype)  # type: ignore[arg-type]


def test_parse_still_takes_int_enum_and_numpy_linktypes() -> None:
    by_enum = vxsum.parse(FRAME, vxsum.LinkType.RAW)
    assert by_enum.linktype is vxsum.LinkType.RAW
    by_numpy = vxsum.parse(FRAME, np.uint32(101))  # type: ignore[arg-type]
    assert by_numpy.checksums == by_enum.checksums
    with pytest.raises(vxsum.ParseError, match="unsupported link type 2"):
        vxsum.parse(FRAME, 2)  # an int the parser does not read is a data error


@pytest.mark.parametrize("data", [None, "45000014", 12, [0x45, 0]])
def test_parse_refuses_data_that_is_not_bytes_like(data: object) -> None:
    with pytest.raises(TypeError, match="data must be bytes-like"):
        vxsum.parse(data, 101)  # type: ignore[arg-type]


def test_parse_checks_wire_length_and_config_types() -> None:
    with pytest.raises(TypeError, match="wire_length"):
        vxsum.parse(FRAME, 101, wire_length="60")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wire_length"):
        vxsum.parse(FRAME, 101, wire_length=True)
    with pytest.raises(TypeError, match="config"):
        vxsum.parse(FRAME, 101, config={"strict": True})  # type: ignore[arg-type]


# --- ParseConfig: ports are 1..65535 ints (item 19) -----------------------------------

PORT_FIELDS = [
    "vxlan_ports",
    "vxlan_gpe_ports",
    "geneve_ports",
    "teredo_ports",
    "mpls_ports",
    "l2tp_ports",
    "ipv6_zero_checksum_ports",
]


@pytest.mark.parametrize("field", PORT_FIELDS)
def test_parse_config_ports_must_be_udp_port_numbers(field: str) -> None:
    for bad in (70000, 65536, 0, -1):
        with pytest.raises(ValueError, match=field):
            ParseConfig(**{field: frozenset({4789, bad})})  # type: ignore[arg-type]
    for bad_item in (True, 4789.0, "4789"):
        with pytest.raises(TypeError, match=field):
            ParseConfig(**{field: [bad_item]})  # type: ignore[arg-type]
    for not_a_set in (4789, "4789", None):
        with pytest.raises(TypeError, match=field):
            ParseConfig(**{field: not_a_set})  # type: ignore[arg-type]
    cfg = ParseConfig(**{field: [1, 65535, np.uint16(4789)]})  # type: ignore[arg-type]
    assert getattr(cfg, field) == frozenset({1, 65535, 4789})
    assert isinstance(getattr(cfg, field), frozenset)
    hash(cfg)  # a frozen config stays hashable whatever iterable it was given


def test_parse_config_bounds_and_strict_have_their_types() -> None:
    for name in ("max_depth", "max_tags"):
        with pytest.raises(TypeError, match=name):
            ParseConfig(**{name: 2.5})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=name):
            ParseConfig(**{name: True})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="strict"):
        ParseConfig(strict="no")  # type: ignore[arg-type]
    assert ParseConfig(max_depth=np.int64(4)).max_depth == 4  # type: ignore[arg-type]
