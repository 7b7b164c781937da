"""Precision at full size: generated captures whose make-up is known (issue 13).

The captures come from :mod:`vxsum.testing.captures`, with their seeds here: (a) 200,000
packets of ordinary tunnel traffic with 1% of the outer checksums damaged at random, no NAT;
(b) the same traffic with 200 stale outer flows from the kernel model among it. Each run of
``vxsum analyze`` is timed (one round: the numbers that matter are the counts), and the
counts go into the benchmark's ``extra_info``: how many damaged fields got a cause label,
and nat-stale's precision and recall. ``min(VXSUM_BENCH_PACKETS, 200000)`` packets; ``make
test`` runs it small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture

from vxsum.report.analysis import analyze_file
from vxsum.testing.captures import Generated, damage_capture, stale_capture
from vxsum.verdicts import LABELS, ROW, Label

PACKETS = min(BATCH_PACKETS, 200_000)
CAUSES = [LABELS.index(x) for x in (Label.OFFLOAD_SEED, Label.LCO_PENDING)] + [
    LABELS.index(x) for x in (Label.NAT_ZERO_MANGLED, Label.NAT_STALE)
]


def _outer_labels(path: Path) -> dict[int, int]:
    rows: list[np.ndarray] = []
    analyze_file(path, sink=lambda _, r: rows.append(r))
    table = np.concatenate(rows, dtype=ROW)
    outer = table[(table["layer"] == 1) & (table["depth"] == 0)]
    return dict(zip(outer["frame"].tolist(), outer["label"].tolist(), strict=True))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Generated]:
    path = tmp_path_factory.mktemp("precision") / "damage.pcap"
    return path, damage_capture(path, packets=PACKETS, rate=0.01, seed=1)


@pytest.fixture(scope="module")
def mixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Generated]:
    path = tmp_path_factory.mktemp("precision") / "mixture.pcap"
    flows = max(20, PACKETS // 1000)
    return path, stale_capture(path, stale_flows=flows, packets=PACKETS, rate=0.01, seed=1)


def test_random_damage(benchmark: BenchmarkFixture, damaged: tuple[Path, Generated]) -> None:
    benchmark.group = f"precision ({PACKETS} packets)"
    path, generated = damaged
    labels = benchmark.pedantic(_outer_labels, args=(path,), rounds=1)
    named = sum(labels.get(f) in CAUSES for f in generated.damaged)
    benchmark.extra_info.update(damaged=len(generated.damaged), named=named)
    assert named <= 0.005 * len(generated.damaged)


def test_stale_flows_among_damage(
    benchmark: BenchmarkFixture, mixture: tuple[Path, Generated]
) -> None:
    benchmark.group = f"precision ({PACKETS} packets)"
    path, generated = mixture
    labels = benchmark.pedantic(_outer_labels, args=(path,), rounds=1)
    stale = {f for f, label in labels.items() if label == LABELS.index(Label.NAT_STALE)}
    hit = len(stale & generated.stale)
    precision, recall = hit / max(len(stale), 1), hit / len(generated.stale)
    benchmark.extra_info.update(
        stale=len(generated.stale),
        damaged=len(generated.damaged),
        named_stale=len(stale),
        precision=precision,
        recall=recall,
    )
    assert precision >= 0.95 and recall >= 0.90
