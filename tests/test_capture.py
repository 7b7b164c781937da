"""The capture reader against dpkt's readers, tshark's counts, hand-made files and fuzzing.

Oracles: dpkt.pcap.Reader and dpkt.pcapng.Reader on files written by dpkt, scapy and
this file's own small writers (big-endian pcap, several pcapng sections and interfaces,
Simple and obsolete Packet Blocks); the shared corpus (``../shared/corpus``, every file
compared with dpkt, and the packet counts, link types and formats that SOURCES.md lists
from tshark). Then gzip, every way a file can be bad, and hypothesis feeding the reader
arbitrary and mutated bytes, which must give records or a CaptureError, nothing else
(``HYPOTHESIS_PROFILE=fuzz`` runs those longer).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import struct
from pathlib import Path
from typing import Any

import dpkt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vxsum
from vxsum.capture.reader import (
    NO_TIMESTAMP,
    CaptureReader,
    CaptureRecord,
    iter_records,
    read_batches,
)
from vxsum.errors import CaptureError, VxsumError


def shared_dir() -> Path:
    """``$VXSUM_SHARED``, or ``shared/`` next to the repository root."""
    env = os.environ.get("VXSUM_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


CORPUS = shared_dir() / "corpus"
CORPUS_FILES = (
    sorted(p for p in (CORPUS / "pcaps").rglob("*") if p.is_file())
    if (CORPUS / "pcaps").is_dir()
    else []
)
NO_CORPUS = f"capture corpus not found at {CORPUS / 'pcaps'} (set VXSUM_SHARED to shared/)"

Rec = tuple[int, int, bytes, int, int]  # number, linktype, data, wirelen, timestamp (ns)


def records(source: object, **kw: int) -> list[Rec]:
    with CaptureReader(source, **kw) as reader:  # type: ignore[arg-type]
        return [(r.number, r.linktype, bytes(r.data), r.wirelen, r.timestamp) for r in reader]


# --- small writers: pcap in any byte order and precision, pcapng block by block ------------


def pcap(
    packets: list[tuple[int, int, bytes, int]],
    order: str = "<",
    nano: bool = False,
    snaplen: int = 65535,
    linktype: int = 1,
) -> bytes:
    """A pcap file of (seconds, fraction, data, wire length) records."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for sec, frac, data, wirelen in packets:
        out.append(struct.pack(order + "IIII", sec, frac, len(data), wirelen) + data)
    return b"".join(out)


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def block(order: str, btype: int, body: bytes) -> bytes:
    body = _pad(body)
    n = 12 + len(body)
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def shb(order: str) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def option(order: str, code: int, value: bytes) -> bytes:
    return _pad(struct.pack(order + "HH", code, len(value)) + value)


def idb(order: str, linktype: int, snaplen: int = 0, options: bytes = b"") -> bytes:
    if options:
        options += b"\0\0\0\0"  # opt_endofopt
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + options)


def epb(order: str, iface: int, ticks: int, data: bytes, wirelen: int | None = None) -> bytes:
    hi, lo = ticks >> 32, ticks & 0xFFFFFFFF
    wl = len(data) if wirelen is None else wirelen
    return block(order, 6, struct.pack(order + "5I", iface, hi, lo, len(data), wl) + data)


def opb(order: str, iface: int, ticks: int, data: bytes) -> bytes:
    hi, lo = ticks >> 32, ticks & 0xFFFFFFFF
    head = struct.pack(order + "HH4I", iface, 0, hi, lo, len(data), len(data))
    return block(order, 2, head + data)


def spb(order: str, data: bytes, wirelen: int) -> bytes:
    return block(order, 3, struct.pack(order + "I", wirelen) + data)


def frames(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    sizes = rng.choice([0, 1, 14, 60, 61, 150, 1514, 9000], size=n)
    return [rng.integers(0, 256, size=int(k), dtype=np.uint8).tobytes() for k in sizes]


def dpkt_read(data: bytes) -> tuple[int, list[tuple[float, bytes]]]:
    """dpkt's link type and (timestamp, bytes) records for a pcap or pcapng file."""
    f = io.BytesIO(data)
    reader = dpkt.pcapng.Reader(f) if data[:4] == b"\n\r\r\n" else dpkt.pcap.Reader(f)
    return reader.datalink() & 0xFFFF, [(float(ts), bytes(buf)) for ts, buf in reader]


def assert_same_as_dpkt(data: bytes, **kw: int) -> list[Rec]:
    linktype, ref = dpkt_read(data)
    mine = records(io.BytesIO(data), **kw)
    assert [r[2] for r in mine] == [buf for _, buf in ref]
    assert [r[0] for r in mine] == list(range(1, len(ref) + 1))
    assert {r[1] for r in mine} <= {linktype}
    for (ts, _), r in zip(ref, mine, strict=True):
        assert r[4] / 1e9 == pytest.approx(ts, abs=2e-6)
    return mine


# --- against dpkt on generated files -------------------------------------------------------


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("block_size", [1, 100, 4096, 1 << 24])
def test_dpkt_pcap_writer(nano: bool, block_size: int) -> None:
    f = io.BytesIO()
    writer = dpkt.pcap.Writer(f, snaplen=65535, linktype=dpkt.pcap.DLT_LINUX_SLL, nano=nano)
    for i, data in enumerate(frames(300)):
        writer.writepkt(data, ts=1_700_000_000 + i / 7)
    mine = assert_same_as_dpkt(f.getvalue(), block_size=block_size)
    assert {r[1] for r in mine} == {113}
    assert [r[3] for r in mine] == [len(r[2]) for r in mine]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_precisions(order: str, nano: bool) -> None:
    data = frames(50, seed=3)
    packets = [(1_600_000_000 + i, i * 999, d, len(d) + i) for i, d in enumerate(data)]
    raw = pcap(packets, order=order, nano=nano, linktype=101)
    mine = assert_same_as_dpkt(raw, block_size=64)
    scale = 1 if nano else 1000
    assert mine == [
        (i + 1, 101, d, len(d) + i, (1_600_000_000 + i) * 10**9 + i * 999 * scale)
        for i, d in enumerate(data)
    ]
    with CaptureReader(io.BytesIO(raw)) as reader:
        assert reader.format == ("pcap-ns" if nano else "pcap")
        assert (reader.linktype, reader.snaplen, reader.compressed) == (101, 65535, False)


def test_scapy_wrpcap(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    pkts = [Ether() / IP(dst="10.0.0.1") / UDP(dport=4789) / (b"x" * n) for n in range(0, 300, 7)]
    path = tmp_path / "scapy.pcap"
    wrpcap(str(path), pkts)
    mine = assert_same_as_dpkt(path.read_bytes())
    assert [r[2] for r in records(path)] == [bytes(p) for p in pkts]
    assert {r[1] for r in mine} == {1}


@pytest.mark.parametrize("little", [True, False])
def test_dpkt_pcapng_blocks(little: bool) -> None:
    """Files of dpkt's pcapng block classes (its Writer writes only the host's byte order)."""
    ng = dpkt.pcapng
    suffix = "LE" if little else ""
    parts = [
        bytes(getattr(ng, "SectionHeaderBlock" + suffix)()),
        bytes(getattr(ng, "InterfaceDescriptionBlock" + suffix)(snaplen=65535, linktype=1)),
    ]
    epb_cls = getattr(ng, "EnhancedPacketBlock" + suffix)
    for i, data in enumerate(frames(200, seed=5)):
        ts = 1_700_000_000_000_000 + i * 333_333
        parts.append(
            bytes(
                epb_cls(
                    ts_high=ts >> 32,
                    ts_low=ts & 0xFFFFFFFF,
                    caplen=len(data),
                    pkt_len=len(data),
                    pkt_data=data,
                )
            )
        )
    raw = b"".join(parts)
    mine = assert_same_as_dpkt(raw, block_size=333)
    with CaptureReader(io.BytesIO(raw)) as reader:
        assert reader.format == "pcapng" and reader.linktype is None and reader.snaplen is None
        assert len(list(reader)) == len(mine) == 200


def test_pcapng_sections_interfaces_and_block_kinds() -> None:
    """Two sections of opposite byte order; interfaces, resolutions, SPB, OPB, other blocks."""
    le, be = "<", ">"
    ns_res = option(le, 9, b"\x09")
    pow2 = option(be, 9, b"\x8a") + option(be, 14, struct.pack(">q", 100))
    raw = b"".join(
        [
            shb(le),
            idb(le, 1, 65535),
            idb(le, 113, 0, ns_res),
            epb(le, 0, 1_500_000_000_123_456, b"first", 60),
            block(le, 4, b"\x00\x00\x00\x00"),  # a name resolution block: skipped
            epb(le, 1, 1_500_000_000_123_456_789, b"second"),
            block(le, 0xBAD, b"unknown block"),  # skipped
            opb(le, 1, 42, b"old"),
            shb(be),  # a new section: interfaces start again
            idb(be, 101, 4, pow2),
            spb(be, b"abcd", 10),
            epb(be, 0, 3 * 1024 + 512, b"xyz"),
        ]
    )
    got = records(io.BytesIO(raw), block_size=50)
    assert got == [
        (1, 1, b"first", 60, 1_500_000_000_123_456_000),
        (2, 113, b"second", 6, 1_500_000_000_123_456_789),
        (3, 113, b"old", 3, 42),
        (4, 101, b"abcd", 10, NO_TIMESTAMP),
        (5, 101, b"xyz", 3, 100 * 10**9 + 3_500_000_000),
    ]


def test_batches_feed_the_checksum_core() -> None:
    f = io.BytesIO()
    writer = dpkt.pcap.Writer(f, snaplen=65535)
    data = frames(400, seed=9)
    for d in data:
        writer.writepkt(d, ts=0)
    batches = list(read_batches(io.BytesIO(f.getvalue()), block_size=20000))
    assert len(batches) > 3
    assert sum(len(b) for b in batches) == len(data)
    expected = iter(data)
    for b in batches:
        columns = (b.numbers, b.offsets, b.caplens, b.wirelens, b.linktypes, b.timestamps)
        assert all(c.dtype == np.int64 and c.flags.c_contiguous for c in columns)
        sums = vxsum.checksums(b.buffer, b.offsets, b.caplens)
        for k, rec in enumerate(b):
            assert bytes(rec.data) == next(expected)
            assert sums[k] == vxsum.checksum(bytes(rec.data))
            assert b.file_offsets[k] == rec.offset


def test_record_type() -> None:
    raw = pcap([(1, 2, b"abc", 3), (1, 2, b"de", 90)])
    recs = list(iter_records(io.BytesIO(raw)))
    assert isinstance(recs[0], CaptureRecord)
    assert (recs[0].number, recs[0].caplen, recs[0].offset, recs[0].truncated) == (1, 3, 24, False)
    assert (recs[1].number, recs[1].caplen, recs[1].offset, recs[1].truncated) == (2, 2, 43, True)
    assert recs[0] == CaptureRecord(1, 1, memoryview(b"abc"), 3, 3, 1_000_002_000, 24)
    with pytest.raises(AttributeError):
        recs[0].number = 5  # type: ignore[misc]


@given(
    data=st.lists(st.binary(max_size=300), max_size=30),
    order=st.sampled_from("<>"),
    nano=st.booleans(),
    block_size=st.integers(1, 2000),
)
def test_random_pcaps_match_dpkt(
    data: list[bytes], order: str, nano: bool, block_size: int
) -> None:
    raw = pcap([(i, i, d, len(d)) for i, d in enumerate(data)], order=order, nano=nano)
    assert len(assert_same_as_dpkt(raw, block_size=block_size)) == len(data)


# --- the shared corpus ------------------------------------------------------------------


def _sources() -> dict[str, tuple[str, int, int]]:
    """SOURCES.md: file -> (format, link type, packets), as tshark read them."""
    table: dict[str, tuple[str, int, int]] = {}
    for line in (CORPUS / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and re.match(r"^\w+/\S+$", cells[0]) and cells[5].isdigit():
            fmt = {"pcap (ns)": "pcap-ns"}.get(cells[3], cells[3])
            table[cells[0]] = (fmt, int(cells[4].split()[0]), int(cells[5]))
    return table


@pytest.mark.skipif(not CORPUS_FILES, reason=NO_CORPUS)
@pytest.mark.parametrize(
    "path", CORPUS_FILES, ids=[p.relative_to(CORPUS / "pcaps").as_posix() for p in CORPUS_FILES]
)
def test_corpus_against_dpkt_and_tshark(path: Path, tmp_path: Path) -> None:
    raw = path.read_bytes()
    mine = assert_same_as_dpkt(raw)
    fmt, linktype, packets = _sources()[path.relative_to(CORPUS / "pcaps").as_posix()]
    with CaptureReader(path) as reader:
        assert len(list(reader)) == packets == len(mine)
        assert reader.format == fmt and reader.complete and not reader.problems
    assert {r[1] for r in mine} == {linktype}
    assert [r[3] for r in mine] == _wire_lengths(raw)
    gz = tmp_path / "capture.bin"  # no .gz in the name: detected by magic
    gz.write_bytes(gzip.compress(raw))
    with CaptureReader(gz, block_size=997) as reader:
        assert [(r[0], r[1], r[2], r[3], r[4]) for r in _rows(reader)] == mine
        assert reader.compressed


def _rows(reader: CaptureReader) -> list[Rec]:
    return [(r.number, r.linktype, bytes(r.data), r.wirelen, r.timestamp) for r in reader]


def _wire_lengths(raw: bytes) -> list[int]:
    """Original lengths, read with dpkt's header classes."""
    if raw[:4] == b"\n\r\r\n":
        le = raw[8:12] == b"\x4d\x3c\x2b\x1a"
        out, pos = [], 0
        while pos + 8 <= len(raw):
            btype, blen = struct.unpack_from("<II" if le else ">II", raw, pos)
            kind = {6: "EnhancedPacketBlock", 2: "PacketBlock"}.get(btype)
            if kind:
                cls = getattr(dpkt.pcapng, kind + ("LE" if le else ""))
                out.append(cls(raw[pos : pos + blen]).pkt_len)
            pos += blen
        return out
    le = raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    hdr = dpkt.pcap.LEPktHdr if le else dpkt.pcap.PktHdr
    out, pos = [], 24
    while pos + 16 <= len(raw):
        ph = hdr(raw[pos : pos + 16])
        out.append(ph.len)
        pos += 16 + ph.caplen
    return out


@pytest.mark.skipif(not CORPUS_FILES, reason=NO_CORPUS)
def test_corpus_totals() -> None:
    total = sum(len(list(iter_records(p))) for p in CORPUS_FILES)
    assert total == sum(n for _, _, n in _sources().values()) == 2495


# --- gzip -------------------------------------------------------------------------------


def test_gzip_file_and_stream(tmp_path: Path) -> None:
    raw = pcap([(i, 0, bytes([i]) * i, i) for i in range(100)], order=">", nano=True)
    path = tmp_path / "plain-name.pcap"
    path.write_bytes(gzip.compress(raw))
    assert records(path) == records(io.BytesIO(raw))
    assert records(io.BytesIO(gzip.compress(raw)), block_size=10) == records(io.BytesIO(raw))
    path2 = tmp_path / "named.pcap.gz"  # a gz name on a plain file does not matter
    path2.write_bytes(raw)
    with CaptureReader(path2) as reader:
        assert not reader.compressed and len(list(reader)) == 100


def test_gzip_two_members() -> None:
    raw = pcap([(1, 0, b"x" * 50, 50)] * 10)
    two = gzip.compress(raw[:100]) + gzip.compress(raw[100:])
    assert len(records(io.BytesIO(two))) == 10


@pytest.mark.parametrize("keep_going", [False, True])
def test_gzip_truncated_and_corrupt(keep_going: bool) -> None:
    raw = pcap([(1, 0, os.urandom(200), 200) for _ in range(200)])
    packed = gzip.compress(raw)
    bad_crc = packed[:-8] + bytes(4) + packed[-4:]
    for bad, full in ((packed[:-3000], False), (bad_crc, True)):
        reader = CaptureReader(io.BytesIO(bad), keep_going=keep_going, block_size=4096)
        got: list[int] = []
        if keep_going:
            got.extend(r.number for r in reader)
            assert "gzip" in reader.problems[-1].reason and len(reader.problems) == 1
        else:
            with pytest.raises(CaptureError, match="gzip"):
                got.extend(r.number for r in reader)
        assert not reader.complete and reader.records == len(got)
        assert len(got) == 200 if full else 0 < len(got) < 200


# --- bad input --------------------------------------------------------------------------


GOOD = [(1, 0, b"a" * 20, 20), (2, 0, b"b" * 30, 30), (3, 0, b"c" * 40, 40)]


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "only 0 bytes"),
        (b"\xd4\xc3", "only 2 bytes"),
        (b"GIF89a" + b"\0" * 40, "not a pcap or pcapng file"),
        (pcap([])[:20], "truncated pcap file header"),
        (struct.pack("<IHH", 0xA1B2C3D4, 1, 0) + b"\0" * 16, "unsupported pcap version 1.0"),
    ],
)
def test_bad_file_header(raw: bytes, match: str) -> None:
    with pytest.raises(CaptureError, match=match) as info:
        CaptureReader(io.BytesIO(raw), keep_going=True)
    assert info.value.record is None and info.value.offset == 0
    assert isinstance(info.value, VxsumError)


def test_error_attributes_and_message(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    path.write_bytes(pcap(GOOD)[:-5])
    reader = CaptureReader(path)
    got: list[int] = []
    with pytest.raises(CaptureError) as info:
        got.extend(r.number for r in reader)
    err = info.value
    assert got == [1, 2] and reader.records == 2
    assert (err.path, err.record, err.offset) == (str(path), 3, 24 + 36 + 46)
    assert err.reason == "file ends inside the record (35 of 40 bytes)"
    assert str(err) == f"{path}: record 3 at byte 106: file ends inside the record (35 of 40 bytes)"
    again = pickle.loads(pickle.dumps(err))  # e.g. from a worker process
    assert (again.path, again.record, again.offset, again.reason) == (err.path, 3, 106, err.reason)


@pytest.mark.parametrize("cut", [1, 10, 15, 16, 17, 50])
def test_truncated_last_record_keep_going(cut: int) -> None:
    raw = pcap(GOOD)
    reader = CaptureReader(io.BytesIO(raw[: len(raw) - cut]), keep_going=True, block_size=7)
    assert [r.number for r in reader] == ([1, 2] if cut <= 56 else [1])
    (problem,) = reader.problems
    assert problem.record == 3 and problem.offset == 106 and not reader.complete
    assert "header" in problem.reason if cut > 40 else "40 bytes" in problem.reason


def test_empty_capture_is_complete() -> None:
    with CaptureReader(io.BytesIO(pcap([]))) as reader:
        assert list(reader) == [] and reader.complete and reader.records == 0


@pytest.mark.parametrize("keep_going", [False, True])
def test_caplen_over_snaplen_and_wirelen(keep_going: bool) -> None:
    packets = [*GOOD, (4, 0, b"d" * 70, 70), (5, 0, b"e" * 10, 5), (6, 0, b"f", 1)]
    raw = pcap(packets, snaplen=64)
    reader = CaptureReader(io.BytesIO(raw), keep_going=keep_going)
    if keep_going:
        assert [r.number for r in reader] == [1, 2, 3, 4, 5, 6] and reader.complete
        assert [(p.record, p.offset) for p in reader.problems] == [(4, 162), (5, 248)]
        assert "over the snap length 64" in reader.problems[0].reason
        assert "over the original length 5" in reader.problems[1].reason
    else:
        got: list[int] = []  # over the snap length is a note (read, as tcpdump does)
        with pytest.raises(CaptureError, match="record 5 at byte 248: captured length 10"):
            got.extend(r.number for r in reader)
        assert got == [1, 2, 3, 4]
        assert [p.record for p in reader.problems] == [4, 5]


@pytest.mark.parametrize("keep_going", [False, True])
@pytest.mark.parametrize("block_size", [20, 1 << 20])
def test_absurd_length_stops(keep_going: bool, block_size: int) -> None:
    raw = bytearray(pcap([*GOOD, (4, 0, b"d" * 10, 10)], snaplen=0))
    struct.pack_into("<I", raw, 106 + 8, 1 << 20)  # record 3 claims a 1 MiB capture
    reader = CaptureReader(io.BytesIO(bytes(raw)), keep_going=keep_going, block_size=block_size)
    got: list[int] = []
    if keep_going:
        got.extend(r.number for r in reader)
    else:
        with pytest.raises(CaptureError, match="record 3 at byte 106: captured length 1048576"):
            got.extend(r.number for r in reader)
    assert got == [1, 2] and not reader.complete
    assert [p.record for p in reader.problems] == [3]
    assert "cannot be resynchronised" in reader.problems[0].reason


def test_max_caplen_is_configurable() -> None:
    raw = pcap(GOOD, snaplen=0)
    assert len(records(io.BytesIO(raw), max_caplen=40)) == 3
    with pytest.raises(CaptureError, match=r"record 3 .* over 35 bytes"):
        records(io.BytesIO(raw), max_caplen=35)


def _ng(*blocks: bytes) -> bytes:
    return shb("<") + idb("<", 1, 100) + b"".join(blocks)


@pytest.mark.parametrize(
    ("bad", "match", "record"),
    [
        (epb("<", 7, 0, b"x"), "no interface 7", 2),
        (epb("<", 0, 0, b"x" * 10, 9), "over the original length 9", 2),
        (block("<", 6, b"\0" * 8), "packet block too short", 2),
        (block("<", 6, struct.pack("<5I", 0, 0, 0, 50, 50)), "over the block's 0 bytes", 2),
        (block("<", 1, b""), "interface block too short", None),
    ],
)
def test_pcapng_bad_blocks(bad: bytes, match: str, record: int | None) -> None:
    raw = _ng(epb("<", 0, 0, b"a"), bad, epb("<", 0, 0, b"c"))
    with pytest.raises(CaptureError, match=match) as info:
        records(io.BytesIO(raw))
    assert info.value.record == record and info.value.offset == 28 + 20 + 36
    reader = CaptureReader(io.BytesIO(raw), keep_going=True)
    numbers = [r.number for r in reader]
    assert [p.reason for p in reader.problems] == [info.value.reason]
    if record is None:  # a bad interface block stops the section
        assert numbers == [1] and not reader.complete
    else:  # a bad packet block is skipped (or kept, for a soft length problem)
        kept = "original length" in match
        assert numbers == ([1, 2, 3] if kept else [1, 3]) and reader.complete


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b[:-2], "file ends inside a block"),
        (lambda b: b[:-40], "file ends inside a block"),
        (lambda b: b[:-4] + b"\x99\0\0\0", "does not match its trailing copy"),
        (lambda b: b + struct.pack("<II", 6, 13) + b"\0" * 8, "bad block length 13"),
        (lambda b: b + shb(">")[:8] + b"\1\2\3\4" + shb(">")[12:], "byte-order magic"),
        (lambda b: b + block("<", 0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 2, 0, -1)), "2.0"),
    ],
)
def test_pcapng_bad_framing_stops(mutate: object, match: str) -> None:
    raw = mutate(_ng(epb("<", 0, 0, b"a"), epb("<", 0, 0, b"b" * 20)))  # type: ignore[operator]
    reader = CaptureReader(io.BytesIO(raw), keep_going=True, block_size=16)
    numbers = [r.number for r in reader]
    assert numbers in ([1], [1, 2])
    assert len(reader.problems) == 1 and match in reader.problems[0].reason
    assert not reader.complete
    with pytest.raises(CaptureError, match=match):
        records(io.BytesIO(raw))


def test_read_once_and_stream_without_peek(tmp_path: Path) -> None:
    reader = CaptureReader(io.BytesIO(pcap(GOOD)))
    assert len(list(reader.batches())) == 1
    with pytest.raises(RuntimeError):
        list(reader.batches())
    path = tmp_path / "x.pcap"
    path.write_bytes(pcap(GOOD))
    with path.open("rb") as f:
        assert len(records(f)) == 3 and not f.closed
    with pytest.raises(ValueError):
        CaptureReader(io.BytesIO(pcap(GOOD)), block_size=0)

    class Pipe(io.RawIOBase):  # neither seekable nor able to peek
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            return self.data.readinto(buffer)

    with pytest.raises(TypeError, match="peek"):
        CaptureReader(Pipe(pcap(GOOD)))  # type: ignore[arg-type]
    assert len(records(io.BufferedReader(Pipe(gzip.compress(pcap(GOOD)))))) == 3


def test_batches_stay_valid_writable_and_separate(tmp_path: Path) -> None:
    """Batch buffers outlive later batches and the reader; writing into one (all of it,
    the bytes of the next block's records too) changes neither the file nor another batch."""
    data = frames(400, seed=12)
    raw = pcap([(0, 0, d, len(d)) for d in data])
    path = tmp_path / "x.pcap"
    path.write_bytes(raw)
    with CaptureReader(path, block_size=5000) as reader:
        batches = list(reader.batches())
    assert len(batches) > 10
    assert [bytes(r.data) for b in batches for r in b] == data
    for k in (0, 5):
        assert batches[k].buffer.flags.writeable
        batches[k].buffer[:] = 0xEE
    assert path.read_bytes() == raw
    for k, b in enumerate(batches):
        if k not in (0, 5):
            assert [bytes(r.data) for r in b] == [data[n - 1] for n in b.numbers.tolist()]


# --- fuzzing: arbitrary and mutated bytes give records or CaptureError, never a crash -------

MAGICS = [
    b"",
    b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00",
    b"\xa1\xb2\x3c\x4d\x00\x02\x00\x04",
    b"\x0a\x0d\x0d\x0a",
    b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00",
    b"\x1f\x8b",
]
SEED_PCAP = pcap([(i, i, bytes(range(i * 5)), i * 5 - i % 2) for i in range(8)], snaplen=20)
SEED_NG = (
    _ng(epb("<", 0, 5, b"abc"), block("<", 4, b""), spb("<", b"spb!", 9), opb("<", 0, 1, b"op"))
    + shb(">")
    + idb(">", 113, 0, option(">", 9, b"\x83"))
    + epb(">", 0, 1 << 40, b"z" * 9)
)


def _read_all(raw: bytes, keep_going: bool, block_size: int) -> None:
    try:
        with CaptureReader(io.BytesIO(raw), keep_going=keep_going, block_size=block_size) as r:
            n = 0
            for batch in r.batches():
                n += len(batch)
                assert (batch.offsets + batch.caplens <= len(batch.buffer)).all()
                assert (batch.offsets >= 0).all() and (batch.caplens >= 0).all()
                for rec in batch:
                    assert len(rec.data) == rec.caplen
            assert n == r.records
            if keep_going and not r.complete:
                assert r.problems
    except CaptureError as err:
        assert err.offset >= 0 and err.reason


@given(
    prefix=st.sampled_from(MAGICS),
    body=st.binary(max_size=400),
    keep_going=st.booleans(),
    block_size=st.integers(1, 512),
)
def test_fuzz_arbitrary_bytes(
    prefix: bytes, body: bytes, keep_going: bool, block_size: int
) -> None:
    _read_all(prefix + body, keep_going, block_size)


@given(
    seed=st.sampled_from([SEED_PCAP, SEED_NG, pcap(GOOD, order=">", nano=True)]),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 10_000),
    keep_going=st.booleans(),
    block_size=st.integers(1, 300),
    compress=st.booleans(),
)
def test_fuzz_mutated_files(
    seed: bytes,
    edits: list[tuple[int, int]],
    cut: int,
    keep_going: bool,
    block_size: int,
    compress: bool,
) -> None:
    raw = bytearray(seed)
    for at, value in edits:
        raw[at % len(raw)] = value
    data = bytes(raw[: len(raw) - cut % 50]) if cut % 3 == 0 else bytes(raw)
    if compress:
        data = gzip.compress(data)
        if cut % 2:
            data = data[: len(data) - cut % 30]
    _read_all(data, keep_going, block_size)


def test_seed_files_read_cleanly() -> None:
    assert len(records(io.BytesIO(SEED_NG))) == 4
    reader = CaptureReader(io.BytesIO(SEED_PCAP), keep_going=True)
    assert len(list(reader)) == 8 and reader.complete
    assert [p.record for p in reader.problems] == [2, 4, 6, 7, 8]
