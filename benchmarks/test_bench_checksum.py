"""Checksum speed: vxsum against dpkt, scapy, a plain Python loop and a C loop, in one run.

`make bench` runs these for real and prints the ratios (benchmarks/report.py);
`make test` runs each once on small inputs, as a check that they still work.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import dpkt
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from scapy.utils import checksum as scapy_checksum
from workloads import Batch, CLoop

import vxsum
from vxsum.testing.reference import reference_checksum

SIZES = [20, 64, 576, 1500, 9000, 65535]


def plain_loop(data: bytes) -> int:
    """RFC 1071 section 4.1 in plain Python: the slowest honest baseline."""
    return reference_checksum(data)


SINGLE = {
    "vxsum": vxsum.checksum,
    "dpkt": dpkt.in_cksum,
    "scapy": scapy_checksum,
    "plain-loop": plain_loop,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("impl", list(SINGLE))
def test_single_buffer(benchmark: BenchmarkFixture, impl: str, size: int) -> None:
    data = os.urandom(size)
    benchmark.group = f"single {size:>5} B"
    result = benchmark(SINGLE[impl], data)
    assert result == vxsum.checksum(data)


def test_batch_vxsum(benchmark: BenchmarkFixture, batch: Batch) -> None:
    benchmark.group = "batch"
    result = benchmark.pedantic(
        vxsum.checksums, args=(batch.buffer, batch.offsets, batch.lengths), rounds=10
    )
    picks = np.random.default_rng(1).integers(0, len(batch.offsets), 500)
    for k in picks:
        o, n = int(batch.offsets[k]), int(batch.lengths[k])
        assert result[k] == dpkt.in_cksum(batch.buffer[o : o + n])


def test_batch_vxsum_2_threads(benchmark: BenchmarkFixture, batch: Batch) -> None:
    benchmark.group = "batch"
    args = (batch.buffer, batch.offsets, batch.lengths)
    result = benchmark.pedantic(vxsum.checksums, args=args, kwargs={"threads": 2}, rounds=10)
    assert np.array_equal(result, vxsum.checksums(*args))


def test_batch_c_loop(benchmark: BenchmarkFixture, batch: Batch, c_loop: CLoop) -> None:
    benchmark.group = "batch"
    result = benchmark.pedantic(
        c_loop, args=(batch.buffer, batch.offsets, batch.lengths), rounds=10
    )
    assert np.array_equal(result, vxsum.checksums(batch.buffer, batch.offsets, batch.lengths))


def _per_packet(fn: Callable[[bytes], int], batch: Batch) -> list[int]:
    buf = batch.buffer
    return [
        fn(buf[o : o + n])
        for o, n in zip(batch.offsets.tolist(), batch.lengths.tolist(), strict=True)
    ]


def test_batch_dpkt_loop(benchmark: BenchmarkFixture, batch: Batch) -> None:
    benchmark.group = "batch"
    result = benchmark.pedantic(_per_packet, args=(dpkt.in_cksum, batch), rounds=3)
    assert (
        result[:1000] == vxsum.checksums(batch.buffer, batch.offsets, batch.lengths)[:1000].tolist()
    )


def test_batch_vxsum_scalar_loop(benchmark: BenchmarkFixture, batch: Batch) -> None:
    benchmark.group = "batch"
    result = benchmark.pedantic(_per_packet, args=(vxsum.checksum, batch), rounds=3)
    assert len(result) == len(batch.offsets)
