"""The vectorised pcap record walk against the plain sequential loop it replaces.

:func:`vxsum.capture.pcap.pcap_record_starts` must give exactly the positions, and the final
position, of :func:`reference_walk` for any bytes whatsoever: well-formed records,
records whose payloads hold record headers of their own (a pcap inside a pcap), zero-length
records, lying lengths, junk, both byte orders, any start and a block cut anywhere. The
small ``spacing``/``window``/``min_lanes`` values used here put many chains into blocks of
a few hundred bytes, so the chain starting, lockstep walking and stitching all run.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vxsum.capture import pcap as pcapfmt
from vxsum.capture import walking
from vxsum.capture.pcap import PcapWalker, pcap_record_starts
from vxsum.capture.reader import CaptureReader
from vxsum.capture.walking import MAX_CAPLEN

SEC = 1_700_000_000


def reference_walk(block: bytes, start: int, order: str) -> tuple[list[int], int]:
    """The sequential loop that PcapWalker.walk used to run (kept verbatim in spirit)."""
    caplen_at = struct.Struct(order + "I").unpack_from
    starts: list[int] = []
    pos, limit = start, len(block) - 16
    while pos <= limit:
        starts.append(pos)
        pos += 16 + caplen_at(block, pos + 8)[0]
    return starts, pos


def walk(block: bytes, start: int, order: str, **kw: Any) -> tuple[list[int], int]:
    positions, stop = pcap_record_starts(np.frombuffer(block, dtype=np.uint8), start, order, **kw)
    assert positions.dtype == np.int64
    return positions.tolist(), stop


def header(order: str, sec: int, frac: int, caplen: int, wirelen: int) -> bytes:
    return struct.pack(order + "IIII", sec, frac, caplen, wirelen)


def file_header(order: str) -> bytes:
    return struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


# --- inputs ---------------------------------------------------------------------------------

# One piece of a block: kind, then what it needs (see build()).
PIECES = st.one_of(
    st.tuples(st.just("record"), st.binary(max_size=120)),
    st.tuples(st.just("zeros"), st.integers(1, 12)),  # zero-length records
    # a record whose payload is a pcap of its own (with or without the file header)
    st.tuples(st.just("nested"), st.lists(st.binary(max_size=40), max_size=6), st.booleans()),
    # a record whose captured length lies (anything up to 2**32 - 1)
    st.tuples(st.just("liar"), st.integers(0, 2**32 - 1), st.binary(max_size=40)),
    st.tuples(st.just("junk"), st.binary(max_size=40)),  # bytes that are no record
)


def build(order: str, pieces: list[tuple[Any, ...]]) -> bytes:
    out: list[bytes] = []
    for i, (kind, *args) in enumerate(pieces):
        sec, frac = SEC + i, (i * 7919) % 1_000_000
        if kind == "record":
            (data,) = args
            out.append(header(order, sec, frac, len(data), len(data) + i % 3) + data)
        elif kind == "zeros":
            out.extend(header(order, sec, frac, 0, 0) for _ in range(args[0]))
        elif kind == "nested":
            inner, with_file_header = args
            payload = (file_header(order) if with_file_header else b"") + b"".join(
                header(order, sec, frac, len(d), len(d)) + d for d in inner
            )
            out.append(header(order, sec, frac, len(payload), len(payload)) + payload)
        elif kind == "liar":
            caplen, data = args
            out.append(header(order, sec, frac, caplen, max(caplen, len(data))) + data)
        else:
            out.append(args[0])
    return b"".join(out)


TUNING = st.fixed_dictionaries(
    {
        "spacing": st.sampled_from([16, 17, 40, 64, 200, 1024]),
        "window": st.integers(1, 16),
        "min_lanes": st.integers(1, 4),
        "max_caplen": st.sampled_from([MAX_CAPLEN, 100, 1]),
        "nanosecond": st.booleans(),
    }
)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[bytes, int, str]:
    """A block of pieces (in the file's byte order), maybe cut anywhere, and a start."""
    order = draw(st.sampled_from("<>"))
    raw = build(order, draw(st.lists(PIECES, max_size=40)))
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]  # the block ends mid-record
    start = draw(st.one_of(st.just(0), st.integers(0, len(raw) + 20)))
    return raw, start, order


# --- the property ---------------------------------------------------------------------------


@given(case=blocks(), tuning=TUNING)
def test_same_walk_as_the_loop(case: tuple[bytes, int, str], tuning: dict[str, Any]) -> None:
    raw, start, order = case
    assert walk(raw, start, order, **tuning) == reference_walk(raw, start, order)


@given(case=blocks())
def test_same_walk_with_default_tuning(case: tuple[bytes, int, str]) -> None:
    raw, start, order = case
    assert walk(raw, start, order) == reference_walk(raw, start, order)


@given(
    raw=st.binary(max_size=3000),
    start=st.integers(0, 3000),
    order=st.sampled_from("<>"),
    tuning=TUNING,
)
def test_same_walk_on_arbitrary_bytes(
    raw: bytes, start: int, order: str, tuning: dict[str, Any]
) -> None:
    assert walk(raw, start, order, **tuning) == reference_walk(raw, start, order)


@given(
    lengths=st.lists(st.integers(0, 1600), min_size=1, max_size=2000),
    order=st.sampled_from("<>"),
    seed=st.integers(0, 2**32 - 1),
    cut=st.integers(0, 4000),
)
def test_same_walk_on_large_blocks(lengths: list[int], order: str, seed: int, cut: int) -> None:
    """Blocks of many records with the default tuning (chains every 32 KiB), some of whose
    payloads are copies of earlier stretches of the block: false record headers."""
    rng = np.random.default_rng(seed)
    parts: list[bytes] = []
    size = 0
    for i, n in enumerate(lengths):
        data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        if i % 7 == 3 and size > n:  # a payload that is an earlier piece of the capture
            at = int(rng.integers(0, size - n + 1))
            data = b"".join(parts)[at : at + n]
        parts.append(header(order, SEC + i // 100, i % 1_000_000, n, n) + data)
        size += 16 + n
    raw = b"".join(parts)
    raw = raw[: max(0, len(raw) - cut)]
    assert walk(raw, 0, order) == reference_walk(raw, 0, order)


# --- edge cases -----------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(
    ("raw", "start"),
    [
        (b"", 0),
        (b"\0" * 15, 0),  # shorter than one header
        (b"\0" * 16, 0),  # one zero-length record, exactly
        (b"\0" * 16, 1),
        (b"\0" * 40, 24),  # a start at the last possible header
        (b"\0" * 40, 25),  # a start past it
        (b"\0" * 40, 100),
        (b"\xff" * 64, 0),  # a length of 2**32 - 1
    ],
)
def test_small_blocks(raw: bytes, start: int, order: str) -> None:
    for tuning in ({}, {"spacing": 16, "window": 1, "min_lanes": 1}):
        assert walk(raw, start, order, **tuning) == reference_walk(raw, start, order)


def test_records_ending_exactly_at_the_block_end() -> None:
    raw = build("<", [("record", b"x" * n) for n in range(0, 200, 3)])
    positions, stop = walk(raw, 0, "<", spacing=64, window=32, min_lanes=1)
    assert stop == len(raw) and (positions, stop) == reference_walk(raw, 0, "<")


def test_bad_tuning_is_refused() -> None:
    block = np.zeros(100, dtype=np.uint8)
    for tuning in ({"window": 0}, {"window": 65, "spacing": 64}, {"min_lanes": 0}):
        with pytest.raises(ValueError):
            pcap_record_starts(block, 0, "<", **tuning)


def test_non_contiguous_block() -> None:
    raw = build("<", [("record", b"ab" * n) for n in range(50)])
    doubled = np.repeat(np.frombuffer(raw, dtype=np.uint8), 2)[::2]  # a strided view
    positions, stop = pcap_record_starts(doubled, 0, "<", spacing=32, window=8, min_lanes=1)
    assert (positions.tolist(), stop) == reference_walk(raw, 0, "<")


# --- which way the walk went: speed, not results --------------------------------------------


def _capture(order: str, records: int, seed: int = 0) -> bytes:
    """An ordinary capture: VXLAN-sized records, timestamps that rise."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice(np.array([116, 200, 1500]), size=records, p=[0.4, 0.3, 0.3])
    payload = rng.integers(0, 256, size=1500, dtype=np.uint8).tobytes()
    return b"".join(
        header(order, SEC + i // 1000, i % 1000, int(n), int(n)) + payload[:n]
        for i, n in enumerate(lengths.tolist())
    )


@pytest.mark.parametrize("order", ["<", ">"])
def test_an_ordinary_capture_takes_the_fast_path(
    order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a normal capture every window finds a true record and every chain links to
    the next: no stitching. (A speed guard: the result would be right either way.)"""

    def no_stitch(*args: object) -> None:
        raise AssertionError("stitched")

    raw = _capture(order, 4000)  # about 2.3 MB: 70 chains at the default spacing
    block = np.frombuffer(raw, dtype=np.uint8)
    firsts = pcapfmt._chain_starts(block, 0, order, MAX_CAPLEN, False, 1 << 15, 2048)
    assert len(firsts) == len(range(1 << 15, len(raw) - 2048 - 14, 1 << 15)) + 1
    monkeypatch.setattr(walking, "stitch", no_stitch)
    assert walk(raw, 0, order) == reference_walk(raw, 0, order)


def test_false_chain_starts_are_stitched_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """A capture of records whose payloads are captures themselves: chains start at inner
    records, do not link, and the stitching follows the true walk past them."""
    inner = _capture("<", 40, seed=1)
    pieces = [("nested", [inner[k : k + 600] for k in range(0, 3000, 600)], True)] * 30
    raw = build("<", [*pieces, *(("record", inner[:300]) for _ in range(30))])
    calls: list[int] = []
    real = walking.stitch

    def spy(*args: Any) -> tuple[Any, int]:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(walking, "stitch", spy)
    assert walk(raw, 0, "<", spacing=512, window=256) == reference_walk(raw, 0, "<")
    assert calls


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("tail", [0, 1, 15, 16, 40])
def test_a_jump_over_every_chain_onto_the_last_header(order: str, tail: int) -> None:
    """The first record's payload is all fake one-byte records (every chain starts in
    it); the walk jumps from the first record over all of them to a last record that
    starts at, or near, the last position a header fits."""
    fakes = (header(order, SEC, 0, 1, 1) + b"f") * 40
    raw = build(order, [("record", fakes), ("record", b"z" * tail)])
    tuning = {"spacing": 64, "window": 32, "min_lanes": 2}
    assert len(pcapfmt._chain_starts(np.frombuffer(raw, np.uint8), 0, order, 99, False, 64, 32)) > 2
    assert walk(raw, 0, order, **tuning) == reference_walk(raw, 0, order)
    assert walk(raw[:-1], 0, order, **tuning) == reference_walk(raw[:-1], 0, order)


# --- through the walker and the reader ------------------------------------------------------


@given(case=blocks(), eof=st.booleans(), keep_going=st.booleans())
def test_walker_as_with_the_loop(case: tuple[bytes, int, str], eof: bool, keep_going: bool) -> None:
    """PcapWalker.walk gives the same Walked whether it walks with numpy or the loop."""
    raw, start, order = case
    file_head = file_header(order)
    block = np.frombuffer(raw, dtype=np.uint8)

    def run(starts: Any) -> walking.Walked:
        walker = PcapWalker(file_head, "x.pcap", 300, keep_going)
        original = pcapfmt.pcap_record_starts
        pcapfmt.pcap_record_starts = starts
        try:
            return walker.walk(block, start, 1000, eof)
        finally:
            pcapfmt.pcap_record_starts = original

    def loop_starts(block: Any, start: int, order: str, **kw: Any) -> tuple[Any, int]:
        positions, stop = reference_walk(block.tobytes(), start, order)
        return np.array(positions, dtype=np.int64), stop

    mine, theirs = run(pcap_record_starts), run(loop_starts)
    for field in walking.Walked.__dataclass_fields__:
        a, b = getattr(mine, field), getattr(theirs, field)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.tolist() == b.tolist(), field
        elif field == "problems":
            assert [str(p) for p in a] == [str(p) for p in b]
        else:
            assert a == b, field


@pytest.mark.parametrize("block_size", [1 << 20, 16 << 20])
def test_reader_on_a_larger_capture(block_size: int) -> None:
    """A few MB through CaptureReader: the records are those of the loop over the file."""
    body = _capture("<", 6000, seed=3)
    nested = build("<", [("nested", [body[k : k + 500] for k in range(0, 5000, 500)], True)])
    raw = file_header("<") + body + nested + body
    expected, _ = reference_walk(raw, 24, "<")
    with CaptureReader(io.BytesIO(raw), block_size=block_size) as reader:
        found = [int(o) for b in reader.batches() for o in b.file_offsets]
        assert reader.complete
    assert found == expected
