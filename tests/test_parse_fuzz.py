"""Property tests: arbitrary and mutated frames give a Frame or a ParseError, nothing else.

Part of the default suite (a few hundred examples per link type); ``fuzz/`` has
the longer run. The invariants checked on every frame: offsets inside the buffer,
records whose status and expected value agree, no exception other than
:class:`vxsum.ParseError`.
"""

from __future__ import annotations

from frames import seeds
from hypothesis import given, settings
from hypothesis import strategies as st

import vxsum
from vxsum.frames import Truncated

SEEDS = seeds()
LINKTYPES = sorted(SEEDS)


def check(data: bytes, linktype: int, strict: bool = False) -> None:
    config = vxsum.ParseConfig(strict=strict)
    try:
        frame = vxsum.parse(data, linktype, config=config)
    except vxsum.ParseError as err:
        assert 0 <= err.offset <= len(data)
        assert err.layer in str(err)
        return
    n = len(data)
    for layer in frame.layers:
        assert 0 <= layer.offset <= n
        if not isinstance(layer, Truncated):
            assert layer.end <= n
    assert 0 <= frame.remainder_offset <= n
    for c in frame.checksums:
        assert c.field_offset + 2 <= n
        assert c.span_offset <= c.field_offset
        assert c.captured_length <= c.span_length or c.span_length < 0
        if c.status in ("good", "bad"):
            assert c.expected is not None and c.reason is None
            if c.status == "good":
                assert c.expected == c.stored or {c.expected, c.stored} == {0, 0xFFFF}
            else:
                assert c.expected != c.stored
        if c.status == "unverifiable":
            assert c.reason is not None


@given(st.sampled_from(LINKTYPES), st.binary(max_size=200), st.booleans())
def test_arbitrary_bytes(linktype: int, data: bytes, strict: bool) -> None:
    check(data, linktype, strict)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[int, bytes]:
    linktype = draw(st.sampled_from(LINKTYPES))
    frame = bytearray(draw(st.sampled_from(SEEDS[linktype])))
    for _ in range(draw(st.integers(0, 6))):
        if not frame:
            break
        i = draw(st.integers(0, len(frame) - 1))
        frame[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(frame)))
    if draw(st.booleans()):
        frame = frame[:cut]
    return linktype, bytes(frame)


@settings(max_examples=600)
@given(mutated(), st.booleans())
def test_mutated_frames(case: tuple[int, bytes], strict: bool) -> None:
    linktype, data = case
    check(data, linktype, strict)


def test_seeds_parse_cleanly() -> None:
    """Every unmutated seed parses without error and with only good or expected verdicts."""
    for linktype, frames in SEEDS.items():
        for data in frames:
            frame = vxsum.parse(data, linktype, config=vxsum.ParseConfig(strict=True))
            assert frame.error is None
            assert all(c.status != "bad" for c in frame.checksums), (linktype, frame.checksums)
