"""The per-frame path (issue 15, item 2): vxsum's parser against a dpkt parse-and-verify loop.

Frames the batch layouts do not take (ICMP errors, IPv6 extension headers, GRE, MPLS, ...)
go through :func:`vxsum.parse` one at a time, and :func:`vxsum.classify` parses every
frame it is given. Both loops here get the same frames, already in memory (the plain
capture of ``test_bench_plain.py``: Ethernet / IPv4 or IPv6 / TCP, UDP or ICMP, 1% of the
transport checksums broken), so neither the file reading nor the batch path is timed:

* ``vxsum-parse``: :func:`vxsum.frames.parse` of every frame (it verifies every field);
* ``vxsum-facts``: the same and the frames' facts, as ``analyze`` judges them
  (:func:`vxsum.frames.facts.fact_tuples`, one array for all);
* ``dpkt-loop``: ``dpkt.ethernet.Ethernet`` and ``dpkt.in_cksum`` of the IPv4 header and
  of the transport segment with its pseudo-header, as ``test_bench_plain.dpkt_loop``.

Each finds the same number of wrong checksums (checked untimed). ``min(VXSUM_BENCH_PACKETS,
50000)`` frames; the ratios to dpkt's median go into ``extra_info``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture
from test_bench_plain import dpkt_verify, plain_capture

from vxsum.capture.reader import read_batches
from vxsum.frames import Status, parse
from vxsum.frames.facts import FACT, fact_tuples, status_code

FRAMES = min(BATCH_PACKETS, 50_000)
GROUP = f"per-frame parse and verify ({FRAMES} frames)"
_SEEN: dict[str, float] = {}
Frames = list[tuple[bytes, int]]


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> tuple[Frames, int]:
    path = tmp_path_factory.mktemp("perframe") / "plain.pcap"
    broken = plain_capture(path, FRAMES)
    out = []
    for b in read_batches(path):
        for o, n, lt in zip(
            b.offsets.tolist(), b.caplens.tolist(), b.linktypes.tolist(), strict=True
        ):
            out.append((bytes(b.buffer[o : o + n]), lt))
    return out, broken


_BAD = (Status.BAD, Status.ILLEGAL_ZERO)


def vxsum_parse(frames: Frames) -> int:
    return sum(c.status in _BAD for data, lt in frames for c in parse(data, lt).checksums)


def vxsum_facts(frames: Frames) -> int:
    rows: list[tuple[object, ...]] = []
    for number, (data, lt) in enumerate(frames, 1):
        rows += fact_tuples(parse(data, lt), number)
    table = np.array(rows, dtype=FACT)
    return int(np.isin(table["status"], [status_code(s) for s in _BAD]).sum())


def dpkt_loop(frames: Frames) -> int:
    return dpkt_verify(data for data, _ in frames)


def _timed(
    benchmark: BenchmarkFixture, name: str, run: Callable[[Frames], int], frames: Frames
) -> int:
    benchmark.group = GROUP
    found: int = benchmark.pedantic(run, args=(frames,), rounds=5)
    if benchmark.stats is None:  # --benchmark-disable
        return found
    median = _SEEN[name] = benchmark.stats.stats.median
    benchmark.extra_info["us_per_frame"] = round(median / len(frames) * 1e6, 2)
    if "dpkt-loop" in _SEEN:
        benchmark.extra_info["this_time_over_dpkt"] = round(median / _SEEN["dpkt-loop"], 2)
    return found


def test_dpkt_loop(benchmark: BenchmarkFixture, frames: tuple[Frames, int]) -> None:
    assert _timed(benchmark, "dpkt-loop", dpkt_loop, frames[0]) == frames[1]


def test_vxsum_parse(benchmark: BenchmarkFixture, frames: tuple[Frames, int]) -> None:
    assert _timed(benchmark, "vxsum-parse", vxsum_parse, frames[0]) == frames[1]


def test_vxsum_facts(benchmark: BenchmarkFixture, frames: tuple[Frames, int]) -> None:
    assert _timed(benchmark, "vxsum-facts", vxsum_facts, frames[0]) == frames[1]


def test_read_the_frames_as_the_file_holds_them(frames: tuple[Frames, int]) -> None:
    """Untimed: every frame is one the loops above read whole (Ethernet, IPv4 or IPv6)."""
    assert all(lt == 1 and data[12:14] in (b"\x08\x00", b"\x86\xdd") for data, lt in frames[0])
    assert len(frames[0]) == FRAMES
