"""vxsum analyze against tcpdump -vv on the same VXLAN capture (issue 6's comparison).

analyze runs in-process here (no interpreter start-up or import, about 0.3 s, which
docs/performance.md's wall-clock numbers include); tcpdump runs as a process.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture
from vxlan_capture import write_vxlan_capture

from vxsum.cli import main

PACKETS = min(BATCH_PACKETS, 100_000)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("vx") / "vxlan.pcap"
    return path, write_vxlan_capture(path, PACKETS)


def test_analyze_jsonl(
    benchmark: BenchmarkFixture, capture: tuple[Path, int], tmp_path: Path
) -> None:
    benchmark.group = f"analyze ({PACKETS} VXLAN packets)"
    path, broken = capture
    out = tmp_path / "out.jsonl"

    def analyze() -> int:
        with redirect_stderr(io.StringIO()):
            return main(["analyze", str(path), "--format", "jsonl", "-o", str(out)])

    assert benchmark.pedantic(analyze, rounds=3) == 0
    assert len(out.read_text().splitlines()) == broken  # one row per broken outer checksum


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_vv(benchmark: BenchmarkFixture, capture: tuple[Path, int]) -> None:
    benchmark.group = f"analyze ({PACKETS} VXLAN packets)"
    path, broken = capture

    def tcpdump() -> str:
        return subprocess.run(
            ["tcpdump", "-nn", "-vv", "-r", str(path)], capture_output=True, text=True, check=True
        ).stdout

    text = benchmark.pedantic(tcpdump, rounds=3)
    assert text.count("bad udp cksum") == broken
