"""vxsum.checksums of a Python list of packets against the same packets as one buffer with
offsets (issue 16: within 4x for 64-byte packets, 2.5x for mixed sizes). 100,000 packets,
or ``VXSUM_BENCH_PACKETS`` if fewer."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture

import vxsum

PACKETS = min(BATCH_PACKETS, 100_000)
rng = random.Random(1)
SIZES = {
    "64B": [64] * PACKETS,
    "mixed": [rng.choice([64, 576, 1500]) for _ in range(PACKETS)],
}


@pytest.mark.parametrize("sizes", sorted(SIZES))
@pytest.mark.parametrize("given_as", ["list", "buffer"])
def test_list_against_buffer(benchmark: BenchmarkFixture, sizes: str, given_as: str) -> None:
    benchmark.group = f"checksums of {PACKETS} packets ({sizes})"
    packets = [rng.randbytes(n) for n in SIZES[sizes]]
    lengths = np.array(SIZES[sizes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths[:-1])])
    buffer = b"".join(packets)
    if given_as == "list":
        got = benchmark(vxsum.checksums, packets)
    else:
        got = benchmark(vxsum.checksums, buffer, offsets, lengths)
    assert got.tolist() == vxsum.checksums(buffer, offsets, lengths).tolist()
