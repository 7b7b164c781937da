"""The vectorised batch core equals the single-buffer core, one span at a time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_checksum

import vxsum


@given(st.lists(st.binary(max_size=3000), max_size=40))
def test_batch_of_buffers_equals_one_by_one(buffers: list[bytes]) -> None:
    got = vxsum.checksums(buffers)
    assert got.dtype == np.uint16
    assert got.tolist() == [reference_checksum(b) for b in buffers]
    assert vxsum.core.ones_sums(buffers).tolist() == [vxsum.ones_sum(b) for b in buffers]


@st.composite
def spans(draw: st.DrawFn) -> tuple[bytes, list[int], list[int]]:
    data = draw(st.binary(min_size=1, max_size=5000))
    n = draw(st.integers(0, 30))
    offsets = [draw(st.integers(0, len(data))) for _ in range(n)]
    lengths = [draw(st.integers(0, len(data) - o)) for o in offsets]
    return data, offsets, lengths


@given(spans(), st.integers(0, 7))
def test_spans_at_any_offset_in_any_order(
    case: tuple[bytes, list[int], list[int]], lead: int
) -> None:
    data, offsets, lengths = case
    expected = [reference_checksum(data[o : o + n]) for o, n in zip(offsets, lengths, strict=True)]
    assert vxsum.checksums(data, offsets, lengths).tolist() == expected
    # The same through a view that starts at an unaligned address.
    shifted = memoryview(bytes(lead) + data)[lead:]
    assert vxsum.checksums(shifted, offsets, lengths).tolist() == expected
    as_array = np.frombuffer(data, dtype=np.uint8)
    assert vxsum.checksums(as_array, np.array(offsets), np.array(lengths)).tolist() == expected


@given(spans(), st.data())
def test_initial_values_per_span(
    case: tuple[bytes, list[int], list[int]], draw: st.DataObject
) -> None:
    data, offsets, lengths = case
    initial = [draw.draw(st.integers(0, 2**20)) for _ in offsets]
    got = vxsum.checksums(data, offsets, lengths, initial=initial)
    expected = [
        vxsum.checksum(data[o : o + n], i)
        for o, n, i in zip(offsets, lengths, initial, strict=True)
    ]
    assert got.tolist() == expected


def test_scalar_initial_and_negative_zero() -> None:
    # 0xFFFF as initial is -0: with empty data the sum stays -0, the checksum +0.
    assert vxsum.checksums([b"", b"\x00\x00"], initial=0xFFFF).tolist() == [0, 0]
    assert vxsum.checksums([b"", b"\x00\x00"]).tolist() == [0xFFFF, 0xFFFF]
    assert vxsum.core.ones_sums([b"\xff\xff" * 5000]).tolist() == [0xFFFF]


def test_spans_longer_than_the_vector_limit() -> None:
    rng = np.random.default_rng(5)
    big = rng.integers(0, 256, size=600_001, dtype=np.uint8).tobytes()
    got = vxsum.checksums(big, [0, 1, 3], [600_001, 600_000, 100])
    assert got.tolist() == [
        vxsum.checksum(big),
        vxsum.checksum(big[1:]),
        vxsum.checksum(big[3:103]),
    ]


def test_many_packets_in_one_buffer_cross_chunk_boundaries() -> None:
    rng = np.random.default_rng(6)
    sizes = rng.choice(np.array([66, 150, 1450]), size=20_000, p=[0.4, 0.3, 0.3])
    buf = rng.integers(0, 256, size=int(sizes.sum()) + 3, dtype=np.uint8).tobytes()
    offsets = np.concatenate(([3], 3 + np.cumsum(sizes)[:-1]))
    got = vxsum.checksums(buf, offsets, sizes)
    picks = rng.integers(0, len(sizes), 300)
    for k in picks:
        o, n = int(offsets[k]), int(sizes[k])
        assert got[k] == reference_checksum(buf[o : o + n])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"span 1 .*outside"):
        vxsum.checksums(b"abcd", [0, 3], [2, 2])
    with pytest.raises(ValueError):
        vxsum.checksums(b"abcd", [-1], [1])
    with pytest.raises(TypeError):
        vxsum.checksums(b"abcd")
    with pytest.raises(TypeError):
        vxsum.checksums(b"abcd", [0])
    with pytest.raises(ValueError):
        vxsum.checksums(b"abcd", [0, 1], [1, 1], initial=[1, 2, 3])
    with pytest.raises(ValueError):
        vxsum.checksums(b"abcd", [0], [1], initial=-1)
    assert vxsum.checksums([]).tolist() == []
    assert vxsum.checksums(b"", [], []).tolist() == []


def test_threads_give_the_same_sums() -> None:
    rng = np.random.default_rng(8)
    sizes = rng.integers(0, 200, size=120_000)
    buf = rng.integers(0, 256, size=int(sizes.sum()) + 1, dtype=np.uint8).tobytes()
    offsets = np.concatenate(([1], 1 + np.cumsum(sizes)[:-1]))
    one = vxsum.checksums(buf, offsets, sizes)
    for threads in (2, 3, 7):
        assert np.array_equal(vxsum.checksums(buf, offsets, sizes, threads=threads), one)
    with pytest.raises(ValueError, match="threads"):
        vxsum.checksums(buf, offsets, sizes, threads=0)


@settings(max_examples=60, deadline=None)
@given(
    packets=st.lists(st.binary(max_size=40), max_size=40),
    chunk=st.integers(1, 8),
    per_span=st.booleans(),
    data=st.data(),
)
def test_long_lists_are_summed_in_chunks_alike(
    packets: list[bytes], chunk: int, per_span: bool, data: st.DataObject
) -> None:
    """Lists longer than the chunk are joined a chunk at a time: the same sums, with a
    scalar or a per-span initial value, and the same error for a wrong-sized one."""
    import vxsum.core.batch as batch

    initial: object = (
        data.draw(st.lists(st.integers(0, 2**40), min_size=len(packets), max_size=len(packets)))
        if per_span
        else data.draw(st.integers(0, 2**40))
    )
    want = [
        vxsum.ones_sum(p, i)
        for p, i in zip(packets, initial if per_span else [initial] * len(packets), strict=True)  # type: ignore[arg-type]
    ]
    old = batch._LIST_CHUNK
    batch._LIST_CHUNK = chunk
    try:
        assert batch.ones_sums(packets, initial=initial).tolist() == want  # type: ignore[arg-type]
        if len(packets) > chunk:
            with pytest.raises(ValueError, match="one value per span"):
                batch.ones_sums(packets, initial=[1] * (len(packets) + 1))
    finally:
        batch._LIST_CHUNK = old
