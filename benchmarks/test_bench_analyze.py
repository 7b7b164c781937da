"""`vxsum analyze` against `tcpdump -vv` on the same VXLAN capture (issue 6's comparison).

Both run as processes, so vxsum's interpreter start-up and imports count, as they do
for a user. The capture is issue 6's mix (benchmarks/vxlan_capture.py) with
``min(VXSUM_BENCH_PACKETS, ANALYZE_PACKETS)`` packets; ``make bench`` uses 1,000,000.
The tests check that both find the same wrong checksums.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture
from vxlan_capture import write_vxlan_capture

PACKETS = min(BATCH_PACKETS, int(os.environ.get("VXSUM_ANALYZE_PACKETS", "1000000")))
VXSUM = [sys.executable, "-m", "vxsum"]
GROUP = f"analyze ({PACKETS} VXLAN packets)"


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("vx") / "vxlan.pcap"
    return path, write_vxlan_capture(path, PACKETS)


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=True)


def test_analyze_jsonl(
    benchmark: BenchmarkFixture, capture: tuple[Path, int], tmp_path: Path
) -> None:
    benchmark.group = GROUP
    path, broken = capture
    out = tmp_path / "out.jsonl"
    cmd = [*VXSUM, "analyze", str(path), "--format", "jsonl", "-o", str(out)]
    benchmark.pedantic(_run, args=(cmd,), rounds=3)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == broken  # one row per broken outer checksum
    assert {(r["layer"], r["depth"]) for r in rows} == {("udp", 0)}


def test_analyze_all_fields(
    benchmark: BenchmarkFixture, capture: tuple[Path, int], tmp_path: Path
) -> None:
    benchmark.group = GROUP
    path, _ = capture
    out = tmp_path / "all.jsonl"
    cmd = [*VXSUM, "analyze", str(path), "--all-fields", "--format", "jsonl", "-o", str(out)]
    benchmark.pedantic(_run, args=(cmd,), rounds=3)
    with out.open() as f:
        lines = sum(1 for _ in f)
    assert lines == 4 * PACKETS  # outer IPv4 and UDP, inner IPv4 and TCP or UDP


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_vv(benchmark: BenchmarkFixture, capture: tuple[Path, int]) -> None:
    benchmark.group = GROUP
    path, broken = capture
    cmd = ["tcpdump", "-nn", "-vv", "-r", str(path)]

    def to_null() -> None:  # as issue 6 times it: tcpdump -nn -vv -r FILE > /dev/null
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)

    benchmark.pedantic(to_null, rounds=3)
    assert _run(cmd).stdout.count("bad udp cksum") == broken  # untimed: the same findings
