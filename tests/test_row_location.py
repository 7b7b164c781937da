"""Where a row's frame is: the ``time``, ``record_offset`` and ``display_filter`` columns.

The captures are written here byte by byte (pcap, gzip'd pcap, and pcapng with two
interfaces and a Simple Packet Block), so each frame's timestamp and record offset are
known from how the file was built, never from vxsum's own output. Every output format is
checked: jsonl (listed fields, and ``--all-fields``, whose good rows take the writer's
fast path), csv, parquet and :func:`vxsum.scan`; tshark, where installed, checks that
the display filter selects the frame.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import struct
import subprocess
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest
from corpus import read_records

import vxsum
from vxsum.capture import NO_TIMESTAMP
from vxsum.cli import main

SHIPPED = files("vxsum") / "data" / "flannel-5.4.40-noudpcsum-wire.pcap"
_PCAP = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


@dataclass(frozen=True)
class Built:
    """A capture written here, with each frame's time (ns, None: none) and record offset."""

    path: Path
    times: list[int | None]
    offsets: list[int]


def _frames() -> list[bytes]:
    """The frames of the shipped microsecond little-endian pcap (six harmful, one not)."""
    return [record.data for record in read_records(SHIPPED)]


def _pcap(folder: Path) -> Built:
    """A microsecond pcap: 24-byte file header, 16-byte record headers; frames of
    different lengths (one cut short), so the offsets do not step evenly."""
    blob = bytearray(_PCAP.pack(0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    times, offsets = [], []
    for k, frame in enumerate(_frames()):
        kept = frame[: len(frame) - 3 * k] if k % 2 else frame  # snap-length cuts
        seconds, micros = 1_700_000_000 + 7 * k, 123_456 + k
        times.append(seconds * 10**9 + micros * 1000)
        offsets.append(len(blob))
        blob += _RECORD.pack(seconds, micros, len(kept), len(frame)) + kept
    path = folder / "built.pcap"
    path.write_bytes(bytes(blob))
    return Built(path, times, offsets)


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def _pcapng(folder: Path) -> Built:
    """A pcapng file with two Ethernet interfaces (microseconds, and nanoseconds by
    ``if_tsresol``), Enhanced Packet Blocks on both in turn, and a Simple Packet Block
    (no timestamp) in the middle."""
    blob = bytearray(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    blob += _block(1, struct.pack("<HHI", 1, 0, 0))
    tsresol = struct.pack("<HHB", 9, 1, 9) + b"\0" * 3 + struct.pack("<HH", 0, 0)
    blob += _block(1, struct.pack("<HHI", 1, 0, 0) + tsresol)
    times: list[int | None] = []
    offsets = []
    for k, frame in enumerate(_frames()):
        offsets.append(len(blob))
        if k == 3:
            blob += _block(3, struct.pack("<I", len(frame)) + frame)
            times.append(None)
            continue
        interface = k % 2
        ns = (1_700_000_000 + k) * 10**9 + 987_654_000 + k * 1000 + interface * 321
        ticks = ns if interface else ns // 1000
        head = struct.pack(
            "<5I", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)
        )
        blob += _block(6, head + frame)
        times.append(ns)
    path = folder / "built.pcapng"
    path.write_bytes(bytes(blob))
    return Built(path, times, offsets)


def _gzipped(folder: Path) -> Built:
    """The pcap, gzip'd: offsets are in the decompressed stream."""
    plain = _pcap(folder)
    path = folder / "built.pcap.gz"
    path.write_bytes(gzip.compress(plain.path.read_bytes()))
    return Built(path, plain.times, plain.offsets)


BUILDERS = {"pcap": _pcap, "pcapng": _pcapng, "pcap.gz": _gzipped}


@pytest.fixture(params=sorted(BUILDERS))
def built(request: pytest.FixtureRequest, tmp_path: Path) -> Built:
    return BUILDERS[request.param](tmp_path)


def _check(rows: list[dict[str, object]], capture: Built) -> None:
    """Each row names its frame's time, record offset and display filter."""
    assert rows
    for row in rows:
        frame = row["frame"]
        assert isinstance(frame, int)
        assert row["time"] == capture.times[frame - 1], row
        assert row["record_offset"] == capture.offsets[frame - 1], row
        assert row["display_filter"] == f"frame.number == {frame}"


def _analyze(capture: Built, fmt: str, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / f"rows.{fmt}"
    assert main(["analyze", str(capture.path), "--format", fmt, "-o", str(out), *extra]) == 0
    return out


@pytest.mark.parametrize("extra", [(), ("--all-fields",)])
def test_jsonl(built: Built, tmp_path: Path, extra: tuple[str, ...]) -> None:
    out = _analyze(built, "jsonl", tmp_path, *extra)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    _check(rows, built)
    assert {r["frame"] for r in rows} == set(range(1, 8)) or not extra
    assert all(list(r)[12:15] == ["time", "record_offset", "display_filter"] for r in rows)


def test_csv(built: Built, tmp_path: Path) -> None:
    out = _analyze(built, "csv", tmp_path, "--all-fields")
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    rows: list[dict[str, object]] = [
        {
            "frame": int(r["frame"]),
            "time": int(r["time"]) if r["time"] else None,
            "record_offset": int(r["record_offset"]),
            "display_filter": r["display_filter"],
        }
        for r in table
    ]
    _check(rows, built)
    assert None not in built.times or any(r["time"] == "" for r in table)


def test_parquet_and_scan(built: Built, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    written = pq.read_table(_analyze(built, "parquet", tmp_path, "--all-fields"))
    scanned = pa.Table.from_batches(vxsum.scan(str(built.path), all_fields=True))
    for table in (written, scanned):
        assert table.schema.field("time").type == pa.int64()
        assert table.schema.field("record_offset").type == pa.int64()
        _check(
            table.select(["frame", "time", "record_offset", "display_filter"]).to_pylist(), built
        )
    assert written.to_pylist() == scanned.to_pylist()  # dictionaries may be laid out apart


def test_a_frame_judged_alone_has_no_place() -> None:
    """classify() knows no capture: no time, no record offset."""
    verdicts = vxsum.classify(_frames()[0])
    assert verdicts and all(v.row["time"] == NO_TIMESTAMP for v in verdicts)
    assert all(v.row["record_offset"] == -1 for v in verdicts)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_selects_the_frame_of_each_display_filter(built: Built, tmp_path: Path) -> None:
    """Wireshark numbers frames as the rows do, in pcapng with two interfaces too, and
    its time for the frame is the row's."""
    out = _analyze(built, "jsonl", tmp_path, "--all-fields")
    rows = {json.loads(line)["frame"]: json.loads(line) for line in out.read_text().splitlines()}
    fields = ["-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch"]
    for frame, row in sorted(rows.items()):
        args = ["tshark", "-r", str(built.path), "-Y", str(row["display_filter"]), *fields]
        found = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
        assert found[0] == str(frame) and len(found) <= 2  # that frame alone
        if row["time"] is not None:
            seconds, _, fraction = found[1].partition(".")
            assert int(seconds) * 10**9 + int(fraction.ljust(9, "0")[:9]) == row["time"]
