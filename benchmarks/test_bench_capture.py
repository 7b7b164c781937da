"""Capture reading speed: vxsum.capture against dpkt.pcap.Reader and a plain struct loop.

The file holds VXLAN-sized frames (the checksum benchmark's 66/150/1450-byte packets plus
50 bytes of VXLAN encapsulation): 116 B (40%), 200 B (30%) and 1500 B (30%). Its size
is VXSUM_BENCH_PACKETS records (`make test` runs each benchmark once on 20,000).

A second group times the record walk alone on the file's first block (16 MiB, or the
whole file if smaller): vxsum's numpy walk (:func:`vxsum.capture.formats.pcap_record_starts`)
against the plain per-record loop it replaced, which gives the same positions.

A third reads the same frames as pcapng (one section, one interface, Enhanced Packet
Blocks, as dumpcap writes them): vxsum's batches, vxsum's per-block loop alone (the numpy
runs switched off; the same results), and dpkt.pcapng.Reader.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import dpkt
import numpy as np
import numpy.typing as npt
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from vxsum.capture.pcap import pcap_record_starts
from vxsum.capture.pcapng import PcapngWalker, _NgTuning
from vxsum.capture.reader import DEFAULT_BLOCK_SIZE, CaptureReader, read_batches

PACKETS = int(os.environ.get("VXSUM_BENCH_PACKETS", "1000000"))
_RECORD = struct.Struct("<IIII")
_U32 = struct.Struct("<I")


def _frames() -> tuple[list[int], bytes]:
    rng = np.random.default_rng(7)
    lengths = rng.choice(np.array([116, 200, 1500]), size=PACKETS, p=[0.4, 0.3, 0.3])
    return lengths.tolist(), rng.integers(0, 256, size=1500, dtype=np.uint8).tobytes()


@pytest.fixture(scope="session")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A little-endian microsecond pcap of PACKETS frames, written in one go."""
    lengths, payload = _frames()
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, n in enumerate(lengths):
        parts.append(_RECORD.pack(1_700_000_000 + i // 1000, i % 1000, n, n))
        parts.append(payload[:n])
    path = tmp_path_factory.mktemp("bench") / "vxlan-sized.pcap"
    path.write_bytes(b"".join(parts))
    return path


@pytest.fixture(scope="session")
def capture_ng(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same frames as a little-endian pcapng: a section, an interface, then EPBs."""
    lengths, payload = _frames()
    parts = [
        struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28),
        struct.pack("<IIHHII", 1, 20, 1, 0, 0, 20),
    ]
    epb = struct.Struct("<7I")
    for i, n in enumerate(lengths):
        ticks = (1_700_000_000 + i // 1000) * 1_000_000 + i % 1000
        size = 32 + (n + 3) // 4 * 4
        parts.append(epb.pack(6, size, 0, ticks >> 32, ticks & 0xFFFFFFFF, n, n))
        parts.append(payload[:n] + b"\0" * (-n % 4) + _U32.pack(size))
    path = tmp_path_factory.mktemp("bench") / "vxlan-sized.pcapng"
    path.write_bytes(b"".join(parts))
    return path


def vxsum_batches(path: Path) -> int:
    """Records found, as batches: what the analysis uses."""
    return sum(len(batch) for batch in read_batches(path))


def vxsum_records(path: Path) -> int:
    """Records one by one (CaptureRecord objects with memoryview data)."""
    with CaptureReader(path) as reader:
        return sum(1 for _ in reader)


def dpkt_reader(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in dpkt.pcap.Reader(f))


def struct_loop(path: Path) -> int:
    """The plainest honest reader: the whole file in memory, one unpack per record."""
    data = path.read_bytes()
    unpack, pos, n, end = _RECORD.unpack_from, 24, 0, len(data)
    while pos + 16 <= end:
        _sec, _frac, caplen, _wirelen = unpack(data, pos)
        pos += 16 + caplen
        n += 1
    return n


READERS = {  # benchmarks/report.py takes "vxsum" as the base of its ratios
    "vxsum": vxsum_batches,
    "vxsum-records": vxsum_records,
    "dpkt": dpkt_reader,
    "struct-loop": struct_loop,
}


# Test ids end in the size, as in test_bench_checksum.py, for benchmarks/report.py.
@pytest.mark.parametrize("impl", list(READERS), ids=[f"{k}-{PACKETS}" for k in READERS])
def test_read_pcap(benchmark: BenchmarkFixture, capture: Path, impl: str) -> None:
    benchmark.group = f"read pcap ({PACKETS} records, {capture.stat().st_size >> 20} MiB)"
    benchmark.extra_info["records"] = PACKETS
    benchmark.extra_info["bytes"] = capture.stat().st_size
    assert benchmark.pedantic(READERS[impl], args=(capture,), rounds=3) == PACKETS


@pytest.fixture(scope="session")
def first_block(capture: Path) -> npt.NDArray[np.uint8]:
    """The capture's first block as the reader sees it (file header included)."""
    return np.fromfile(capture, dtype=np.uint8, count=DEFAULT_BLOCK_SIZE)


def numpy_walk(block: npt.NDArray[np.uint8]) -> int:
    return len(pcap_record_starts(block, 24, "<")[0])


def loop_walk(block: npt.NDArray[np.uint8]) -> int:
    """The loop PcapWalker.walk ran before: one unpack and one append per record."""
    view = memoryview(block)  # type: ignore[arg-type]
    unpack, starts = _U32.unpack_from, []
    append, pos, limit = starts.append, 24, len(block) - 16
    while pos <= limit:
        append(pos)
        pos += 16 + unpack(view, pos + 8)[0]
    return len(np.array(starts, dtype=np.int64))


WALKS = {"vxsum": numpy_walk, "plain-loop": loop_walk}


@pytest.mark.parametrize("impl", list(WALKS), ids=[f"{k}-{PACKETS}" for k in WALKS])
def test_walk_pcap_block(
    benchmark: BenchmarkFixture, first_block: npt.NDArray[np.uint8], impl: str
) -> None:
    expected = loop_walk(first_block)
    benchmark.group = f"walk pcap block ({len(first_block) >> 20} MiB, {expected} records)"
    assert benchmark.pedantic(WALKS[impl], args=(first_block,), rounds=5) == expected


def vxsum_block_loop(path: Path) -> int:
    """vxsum's pcapng walker with its numpy runs switched off: the per-block loop alone."""
    with CaptureReader(path) as reader:
        walker = reader._walker
        assert isinstance(walker, PcapngWalker)
        walker.tuning = _NgTuning(least=1 << 62)
        return sum(len(batch) for batch in reader.batches())


def dpkt_pcapng_reader(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in dpkt.pcapng.Reader(f))


NG_READERS = {
    "vxsum": vxsum_batches,
    "vxsum-block-loop": vxsum_block_loop,
    "dpkt": dpkt_pcapng_reader,
}


@pytest.mark.parametrize("impl", list(NG_READERS), ids=[f"{k}-{PACKETS}" for k in NG_READERS])
def test_read_pcapng(benchmark: BenchmarkFixture, capture_ng: Path, impl: str) -> None:
    benchmark.group = f"read pcapng ({PACKETS} records, {capture_ng.stat().st_size >> 20} MiB)"
    benchmark.extra_info["records"] = PACKETS
    benchmark.extra_info["bytes"] = capture_ng.stat().st_size
    assert benchmark.pedantic(NG_READERS[impl], args=(capture_ng,), rounds=3) == PACKETS
