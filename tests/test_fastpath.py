"""The batch layouts give the same checksum-field facts as the per-frame parser."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from corpus import shared_dir
from hypothesis import given, settings
from hypothesis import strategies as st

import vxsum
from vxsum.capture.reader import read_batches
from vxsum.frames.builder import (
    Checksum,
    EthernetSpec,
    IPv4Spec,
    IPv6Spec,
    TCPSpec,
    UDPSpec,
    VlanSpec,
    VxlanSpec,
    build,
)
from vxsum.frames.config import ParseConfig
from vxsum.frames.facts import FACT, facts_of, gather
from vxsum.frames.layouts import common_facts
from vxsum.kernel.repro import TAPS
from vxsum.kernel.scenario import Cluster, run
from vxsum.testing.strategies import clusters, labelled_frames, seeds

CONFIG = ParseConfig()


def agree(
    buffer: np.ndarray,
    offsets: np.ndarray,
    caplens: np.ndarray,
    wirelens: np.ndarray,
    linktypes: np.ndarray,
    config: ParseConfig = CONFIG,
) -> int:
    """Every fitting record's facts equal the per-frame parser's, field by field, byte by
    byte (so the rules, which see only facts, judge them alike); returns how many fit."""
    numbers = np.arange(len(offsets), dtype=np.int64)  # "frame" = the batch index here
    fits, table = common_facts(buffer, offsets, caplens, wirelens, linktypes, numbers, config)
    facts = gather(table, FACT)
    for k in range(len(offsets)):
        o, n = int(offsets[k]), int(caplens[k])
        data = buffer[o : o + n].tobytes()
        mine = facts[facts["frame"] == k]
        if not fits[k]:
            assert not len(mine)
            continue
        frame = vxsum.parse(data, int(linktypes[k]), wire_length=int(wirelens[k]), config=config)
        slow = facts_of(frame, k)
        assert mine.tobytes() == slow.tobytes(), (data.hex(), _diff(mine, slow))
    return int(fits.sum())


def _diff(fast: np.ndarray, slow: np.ndarray) -> list[str]:
    """The columns in which two fact arrays differ (for a failure message)."""
    if len(fast) != len(slow):
        return [f"{len(fast)} fields against {len(slow)}"]
    names = fast.dtype.names or ()
    return [
        f"{n}: {fast[n].tolist()} != {slow[n].tolist()}"
        for n in names
        if (fast[n] != slow[n]).any()
    ]


def agree_frames(
    frames: Sequence[bytes],
    config: ParseConfig = CONFIG,
    linktypes: int | Sequence[int] = 1,
    wirelens: Sequence[int] | None = None,
) -> int:
    """:func:`agree` for frames back to back in one buffer (Ethernet unless ``linktypes``
    says otherwise; ``wirelens`` longer than a frame make it a snap-length cut)."""
    lens = np.array([len(f) for f in frames], dtype=np.int64)
    offs = np.zeros(len(frames), dtype=np.int64)
    np.cumsum(lens[:-1], out=offs[1:])
    buf = np.frombuffer(b"".join(frames) or b"\0", dtype=np.uint8)
    types = np.broadcast_to(np.asarray(linktypes, dtype=np.int64), lens.shape)
    wire = lens if wirelens is None else np.array(wirelens, dtype=np.int64)
    return agree(buf, offs, lens, wire, types, config)


@settings(max_examples=40, deadline=None)
@given(
    cluster=clusters(),
    seed=seeds(),
    proto=st.sampled_from(["tcp", "udp"]),
    tap=st.sampled_from(TAPS),
    flip=st.none() | st.tuples(st.integers(0, 400), st.integers(1, 255)),
)
def test_model_frames(
    cluster: Cluster, seed: int, proto: str, tap: str, flip: tuple[int, int] | None
) -> None:
    frames = [getattr(p, tap) for p in run(cluster, proto, seed=seed).packets]
    frames = [f for f in frames if f is not None]
    if flip is not None:  # corrupt one byte somewhere in the first frame
        first = bytearray(frames[0])
        first[flip[0] % len(first)] ^= flip[1]
        frames[0] = bytes(first)
    fitting = agree_frames(frames)
    if flip is None and frames and frames[0][12:14] in (b"\x08\x00", b"\x86\xdd"):
        assert fitting > 0


_MODES = st.sampled_from([Checksum.CORRECT, Checksum.ZERO, Checksum.SEED]) | st.integers(0, 0xFFFF)


@st.composite
def tunnel_frames(draw: st.DrawFn) -> bytes:
    """The common layout in all its variants, with any checksum values."""

    def ip(v6: bool, a: int) -> IPv4Spec | IPv6Spec:
        if v6:
            return IPv6Spec(src=f"2001:db8::{a}", dst="2001:db8::ff")
        mode = draw(st.sampled_from([Checksum.CORRECT, Checksum.ZERO]) | st.integers(0, 0xFFFF))
        return IPv4Spec(src=f"10.0.{a}.1", dst="10.0.0.2", checksum=mode)

    def eth() -> list[object]:
        return [EthernetSpec(), VlanSpec(vid=7)] if draw(st.booleans()) else [EthernetSpec()]

    ports = st.integers(1, 65535)
    inner_l4: TCPSpec | UDPSpec
    if draw(st.booleans()):
        inner_l4 = TCPSpec(src_port=draw(ports), dst_port=draw(ports), checksum=draw(_MODES))
    else:
        inner_l4 = UDPSpec(src_port=draw(ports), dst_port=draw(ports), checksum=draw(_MODES))
    outer = UDPSpec(
        src_port=draw(st.integers(1, 65535)),
        dst_port=draw(st.sampled_from([4789, 8472])),
        checksum=draw(_MODES),
    )
    stack = [
        *eth(),
        ip(draw(st.booleans()), draw(st.integers(1, 250))),
        outer,
        VxlanSpec(vni=1),
        *eth(),
        ip(draw(st.booleans()), draw(st.integers(1, 250))),
        inner_l4,
        draw(st.binary(max_size=64)),
    ]
    return build(stack)


@settings(max_examples=300, deadline=None)
@given(st.lists(tunnel_frames(), min_size=1, max_size=4))
def test_layout_variants(frames: list[bytes]) -> None:
    agree_frames(frames)


@settings(max_examples=150, deadline=None)
@given(st.lists(labelled_frames(), min_size=1, max_size=4))
def test_labelled_frames(frames: list[object]) -> None:
    agree_frames([f.data for f in frames])  # type: ignore[attr-defined]


def test_ipv6_zero_ports_config() -> None:
    cfg = ParseConfig(ipv6_zero_checksum_ports=frozenset({4789}))
    frame = build(
        [
            EthernetSpec(),
            IPv6Spec(),
            UDPSpec(src_port=40000, dst_port=4789, checksum=Checksum.ZERO),
            VxlanSpec(vni=1),
            EthernetSpec(),
            IPv4Spec(),
            TCPSpec(),
        ]
    )
    assert agree_frames([frame], cfg) == 0  # left to the parser: the config decides


def test_clean_traffic_is_cleared() -> None:
    wire = run(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False), "tcp").packets[0].wire
    assert agree_frames([wire] * 3) == 3


def test_corpus_captures() -> None:
    """Every record of the shared corpus through both paths: the plain and tunnel layouts
    take most of them (1,936 of 2,495 when written), each with the parser's facts."""
    pcaps = shared_dir() / "corpus" / "pcaps"
    if not pcaps.is_dir():
        pytest.skip(f"the shared corpus is not at {pcaps}")
    fitting = records = 0
    for path in sorted(p for p in pcaps.rglob("*") if p.is_file()):
        for b in read_batches(path, max_caplen=1 << 18):
            fitting += agree(b.buffer, b.offsets, b.caplens, b.wirelens, b.linktypes)
            records += len(b.offsets)
    assert fitting > records / 2


@pytest.mark.parametrize("outer_tag", [False, True])
@pytest.mark.parametrize("outer_v6", [False, True])
@pytest.mark.parametrize("inner_tag", [False, True])
@pytest.mark.parametrize("inner_v6", [False, True])
@pytest.mark.parametrize("tcp", [False, True])
def test_every_layout_takes_the_batch_path(
    outer_tag: bool, outer_v6: bool, inner_tag: bool, inner_v6: bool, tcp: bool
) -> None:
    """All 16 offset sets, with TCP or UDP inside, fit (so the random tests compare)."""

    def eth(tag: bool) -> list[object]:
        return [EthernetSpec(), VlanSpec(vid=7)] if tag else [EthernetSpec()]

    def ip(v6: bool) -> IPv4Spec | IPv6Spec:
        return IPv6Spec() if v6 else IPv4Spec()

    inner = TCPSpec(src_port=40000, dst_port=80) if tcp else UDPSpec(src_port=40000, dst_port=53)
    frame = build(
        [
            *eth(outer_tag),
            ip(outer_v6),
            UDPSpec(src_port=50000, dst_port=8472),
            VxlanSpec(vni=1),
            *eth(inner_tag),
            ip(inner_v6),
            inner,
            b"payload",
        ]
    )
    assert agree_frames([frame]) == 1
