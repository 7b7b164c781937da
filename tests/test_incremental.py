"""RFC 1624 incremental updates equal a full recompute."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import vxsum


def _with_span(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


@st.composite
def edits(
    draw: st.DrawFn, width: int | None = None, even: bool = False
) -> tuple[bytes, int, bytes]:
    size = width or draw(st.integers(1, 64))
    data = draw(st.binary(min_size=size, max_size=2000))
    offset = draw(st.integers(0, len(data) - size))
    if even:
        assume(offset % 2 == 0)
    new = draw(st.binary(min_size=size, max_size=size))
    return data, offset, new


@given(edits())
def test_update_span_equals_recompute_at_any_offset(edit: tuple[bytes, int, bytes]) -> None:
    data, offset, new = edit
    after = _with_span(data, offset, new)
    assume(any(after))  # all-zero data: see test_all_zero_result_is_the_other_zero
    old = data[offset : offset + len(new)]
    updated = vxsum.update_span(vxsum.checksum(data), offset, old, new)
    assert updated == vxsum.checksum(after)


@given(edits(width=2, even=True))
def test_update16_equals_recompute(edit: tuple[bytes, int, bytes]) -> None:
    data, offset, new = edit
    after = _with_span(data, offset, new)
    assume(any(after))
    old = int.from_bytes(data[offset : offset + 2], "big")
    assert vxsum.update16(vxsum.checksum(data), old, int.from_bytes(new, "big")) == (
        vxsum.checksum(after)
    )


@given(edits(width=4, even=True))
def test_update32_equals_recompute(edit: tuple[bytes, int, bytes]) -> None:
    data, offset, new = edit
    after = _with_span(data, offset, new)
    assume(any(after))
    old = data[offset : offset + 4]
    assert vxsum.core.update32(vxsum.checksum(data), old, new) == vxsum.checksum(after)
    as_ints = vxsum.core.update32(
        vxsum.checksum(data), int.from_bytes(old, "big"), int(new.hex(), 16)
    )
    assert as_ints == vxsum.checksum(after)


@given(edits(width=16, even=True))
def test_update128_equals_recompute(edit: tuple[bytes, int, bytes]) -> None:
    data, offset, new = edit
    after = _with_span(data, offset, new)
    assume(any(after))
    old = ipaddress.IPv6Address(data[offset : offset + 16])
    assert vxsum.core.update128(vxsum.checksum(data), old, new) == vxsum.checksum(after)


@given(st.binary(min_size=2, max_size=64).filter(lambda b: len(b) % 2 == 0 and any(b)))
def test_all_zero_result_is_the_other_zero(data: bytes) -> None:
    """Zeroing everything: a recompute gives 0xFFFF, eqn. 3 gives 0x0000 (the other zero)."""
    zero = bytes(len(data))
    assert vxsum.checksum(zero) == 0xFFFF
    assert vxsum.update_span(vxsum.checksum(data), 0, data, zero) == 0x0000


def test_rfc1624_section3_example() -> None:
    # RFC 1624 section 3: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000 with eqn. 3
    # (eqn. 2 would give 0xFFFF, -0, which a full recompute never produces here).
    assert vxsum.update16(0xDD2F, 0x5555, 0x3285) == 0x0000


def test_update_span_rejects_mismatched_spans() -> None:
    with pytest.raises(ValueError):
        vxsum.update_span(0x1234, 0, b"\x00\x01", b"\x00")
    with pytest.raises(ValueError):
        vxsum.update_span(0x1234, -1, b"\x00", b"\x01")
    with pytest.raises(ValueError):
        vxsum.update16(0x10000, 0, 0)
