"""vxsum.scan drained, against analyze_file writing jsonl, on the same VXLAN capture.

Issue 16's target: draining the record batches of the 1M-packet capture takes at most
1.2x the time of ``vxsum analyze --format jsonl`` with the same field selection. Both run
in this process (no start-up), with and without ``all_fields``; the rows are the same
(tests/test_arrow.py), so the two differ only in how the words and numbers are laid out.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture
from vxlan_capture import write_vxlan_capture

import vxsum
from vxsum.report.writers import JsonlWriter

pytest.importorskip("pyarrow")
PACKETS = min(BATCH_PACKETS, 1_000_000)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scan") / "vxlan.pcap"
    write_vxlan_capture(path, PACKETS)
    return path


def _scan(path: Path, all_fields: bool) -> int:
    return sum(batch.num_rows for batch in vxsum.scan(str(path), all_fields=all_fields))


def _jsonl(path: Path, all_fields: bool) -> int:
    out = io.BytesIO()
    writer = JsonlWriter(out)
    report = vxsum.analyze_file(str(path), all_fields=all_fields, sink=writer)
    writer.close()
    return report.rows


@pytest.mark.parametrize("all_fields", [False, True], ids=["listed", "all-fields"])
@pytest.mark.parametrize("how", ["scan", "jsonl"])
def test_scan_against_jsonl(
    benchmark: BenchmarkFixture, capture: Path, how: str, all_fields: bool
) -> None:
    benchmark.group = f"scan ({PACKETS} VXLAN packets, {'all' if all_fields else 'listed'})"
    run = _scan if how == "scan" else _jsonl
    rows = benchmark.pedantic(run, args=(capture, all_fields), rounds=3, iterations=1)
    assert rows == (_jsonl if how == "scan" else _scan)(capture, all_fields)
