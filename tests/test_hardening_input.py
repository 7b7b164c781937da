"""Hostile and unusual input (issue 14): every test here failed before its fix.

Bad records are counted by kind with a few examples kept, so memory stays flat however
many there are (peak RSS is measured in a fresh process); a conntrack file is read line
by line, bad lines skipped and named; named pipes are read, and what cannot be read says
why; the wrong argument types raise TypeError; big pcapng blocks are read, options that
run past their block are refused; a captured length over the snap length is read and
noted; xz, bzip2 and zstd captures are read.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import struct
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

import vxsum
from vxsum.capture import iter_records, read_batches
from vxsum.capture.problems import EXAMPLES, KINDS, OTHER, ProblemLog, kind_of
from vxsum.capture.reader import CaptureReader
from vxsum.errors import CaptureError
from vxsum.kernel.conntrack import Conntrack, ConntrackError
from vxsum.report.analysis import Summary, analyze_file

DATA = Path(vxsum.__file__).parent / "data" / "flannel-5.4.40-noudpcsum-wire.pcap"
ROOT = Path(__file__).parent.parent


# --- writers --------------------------------------------------------------------------------


def pcap_header(linktype: int = 1, snaplen: int = 262144) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_records(count: int, data: bytes, wirelen: int | None = None) -> bytes:
    """``count`` identical records of ``data`` (a whole file's body, built at C speed)."""
    head = struct.pack(
        "<IIII", 1_700_000_000, 0, len(data), len(data) if wirelen is None else wirelen
    )
    return (head + data) * count


def block(btype: int, body: bytes, length: int | None = None) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body) if length is None else length
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


SHB = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype: int = 1, snaplen: int = 0, options: bytes = b"") -> bytes:
    return block(1, struct.pack("<HHI", linktype, 0, snaplen) + options)


def epb(data: bytes, iface: int = 0) -> bytes:
    return block(6, struct.pack("<5I", iface, 0, 0, len(data), len(data)) + data)


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``vxsum ARGS`` in a fresh process (what a user sees: exit status, stdout, stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "vxsum", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


# The peak is VmHWM, the high-water mark of the process's own memory: ru_maxrss would
# include the test process's, which a child inherits through exec.
PEAK = """
import sys
from vxsum.report.analysis import analyze_file
report = analyze_file(sys.argv[1], keep_going=True)
status = open("/proc/self/status").read().split("VmHWM:")[1].split()
print(report.packets, len(report.problems), status[0])
"""


def peak_rss_mb(path: Path) -> tuple[int, int, float]:
    """Packets, problems and the peak RSS (MB) of analysing ``path`` in a fresh process."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("peak RSS is read from /proc/self/status (Linux)")
    out = subprocess.run(
        [sys.executable, "-c", PEAK, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    packets, problems, kb = out.stdout.split()
    return int(packets), int(problems), int(kb) / 1024


# --- 1. bad records: counted by kind, a few kept, memory flat ------------------------------


def test_problem_log_counts_everything_and_keeps_a_few() -> None:
    log: ProblemLog[str] = ProblemLog()
    log.add("a", (f"a{i}" for i in range(10**9)), 10**9)  # a lazy iterator: only 10 drawn
    for i in range(25):
        log.add("b", [f"b{i}"])
    assert len(log) == 10**9 + 25 and log.counts == {"a": 10**9, "b": 25}
    assert log.examples == [f"a{i}" for i in range(EXAMPLES)] + [f"b{i}" for i in range(EXAMPLES)]
    assert log.more == 10**9 + 25 - 2 * EXAMPLES
    for k in range(KINDS + 5):  # kinds are bounded too
        log.add(f"kind {k}", ["x"])
    assert len(log.counts) == KINDS + 1 and log.counts[OTHER] == 7
    total: ProblemLog[str] = ProblemLog()
    total.update(log)
    total.update(log)
    assert len(total) == 2 * len(log) and total.counts["a"] == 2 * 10**9
    assert total.examples[:EXAMPLES] == log.examples[:EXAMPLES]
    assert kind_of("captured length 300 is over 256 (type 0x6) ipv4") == (
        "captured length N is over N (type N) ipv4"
    )


@pytest.fixture(scope="module")
def unsupported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50,000 records of link type 147 (a user-defined type, never supported)."""
    path = tmp_path_factory.mktemp("bad") / "lt147.pcap"
    path.write_bytes(pcap_header(147) + pcap_records(50_000, b"abcd"))
    return path


def test_bad_records_are_counted_with_a_few_examples(unsupported: Path) -> None:
    report = analyze_file(unsupported)
    assert report.packets == 50_000 and len(report.problems) == 50_000
    assert dict(report.problems.counts) == {"link: unsupported link type N": 50_000}
    assert report.problems.examples == [
        f"{unsupported}: record {n} (file byte {24 + 20 * (n - 1)}): "
        "link at byte 0: unsupported link type 147"
        for n in range(1, EXAMPLES + 1)
    ]
    summary = Summary.of([report, report])
    assert len(summary.problems) == 100_000 and len(summary.problems.examples) == EXAMPLES
    as_json = summary.to_dict()
    assert as_json["problem_total"] == 100_000 and len(as_json["problems"]) == EXAMPLES  # type: ignore[arg-type]


def test_the_summary_says_how_many_more(unsupported: Path) -> None:
    done = run_cli("analyze", str(unsupported))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "records not parsed or not read: 50,000" in lines
    assert "  ... and 49,990 more" in lines
    assert sum("unsupported link type 147" in line for line in lines) == EXAMPLES


def test_records_that_fail_alike_are_parsed_once(
    unsupported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common bad cases (an unsupported link type, an empty record) cost no Python
    step per record: 10 million of them took 60 s before."""
    from vxsum.report import analysis

    calls = []
    real = analysis.parse

    def counting(*args: object, **kw: object) -> object:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "parse", counting)
    report = analyze_file(unsupported)
    assert len(report.problems) == 50_000 and len(calls) < 50


@pytest.mark.parametrize("linktype", [0, 1, 12, 14, 101, 113, 147, 228, 276])
def test_the_shortcut_gives_the_per_record_lines(tmp_path: Path, linktype: int) -> None:
    """Records the shortcut reports (empty ones, unsupported link types) get exactly the
    lines parsing each would give, whatever their original length."""
    path = tmp_path / "empty.pcap"
    body = b"".join(pcap_records(1, b"", wirelen) for wirelen in (0, 14, 60, 1500, 70000))
    path.write_bytes(pcap_header(linktype) + body)
    report = analyze_file(path, keep_going=True)
    want = []
    for k, wirelen in enumerate((0, 14, 60, 1500, 70000)):
        with pytest.raises(vxsum.ParseError) as err:
            vxsum.parse(b"", linktype, wire_length=wirelen)
        want.append(f"{path}: record {k + 1} (file byte {24 + 16 * k}): {err.value}")
    assert report.problems.examples[: len(want)] == want


def _bad_capture(tmp_path: Path, case: str) -> Path:
    """About a million bad records of one kind (10^7 is measured by hand: docs/reliability.md)."""
    path = tmp_path / f"{case}.pcap"
    if case == "unsupported":  # link type 147, 4-byte records
        path.write_bytes(pcap_header(147) + pcap_records(1_000_000, b"abcd"))
    elif case == "empty":  # zero-length Ethernet records
        path.write_bytes(pcap_header(1) + pcap_records(1_000_000, b""))
    elif case == "over-snaplen":  # a note each (read, counted), and link type 147 as well
        path.write_bytes(pcap_header(147, snaplen=1) + pcap_records(1_000_000, b"ab"))
    else:  # pcapng packet blocks of an interface that does not exist (skipped, counted)
        path.write_bytes(SHB + idb() + epb(b"", iface=9) * 500_000)
    return path


@pytest.mark.parametrize("case", ["unsupported", "empty", "over-snaplen", "pcapng-no-interface"])
def test_memory_stays_flat_with_bad_records(tmp_path: Path, case: str) -> None:
    """Peak RSS of analysing a million bad records stays near that of a small file; every
    problem string was kept before (a million took 350 to 450 MB, ten million 2.1 GB)."""
    path = _bad_capture(tmp_path, case)
    packets, problems, peak = peak_rss_mb(path)
    want = {
        "unsupported": (10**6, 10**6),
        "empty": (10**6, 10**6),
        "over-snaplen": (10**6, 2 * 10**6),
        "pcapng-no-interface": (0, 500_000),
    }
    assert (packets, problems) == want[case]
    assert peak < 200, f"{case}: {peak:.0f} MB"


def test_a_compressed_run_of_zeros_stays_flat(tmp_path: Path) -> None:
    """A small .pcap.gz of a header and 128 MiB of zeros (8 million empty records): it
    passed 1 GB before (512 MiB of zeros took 6.6 GB and 190 s)."""
    import gzip

    path = tmp_path / "zeros.pcap.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(pcap_header())
        zeros = bytes(1 << 20)
        for _ in range(128):
            out.write(zeros)
    packets, problems, peak = peak_rss_mb(path)
    assert packets == problems == 128 << 16
    assert peak < 200, f"{peak:.0f} MB"


# --- 16. captured length over the snap length: read, noted ----------------------------------


def test_caplen_over_snaplen_is_read_and_noted() -> None:
    raw = pcap_header(1, snaplen=64) + pcap_records(1, b"a" * 60) + pcap_records(1, b"b" * 70)
    assert [len(r.data) for r in iter_records(io.BytesIO(raw))] == [60, 70]
    with CaptureReader(io.BytesIO(raw)) as reader:
        assert len(list(reader)) == 2 and reader.complete
        (note,) = reader.problems
        assert (note.record, note.offset) == (2, 24 + 16 + 60)
        assert note.reason == "captured length 70 is over the snap length 64 (kept whole)"
    ng = SHB + idb(1, snaplen=100) + epb(b"x" * 50) + epb(b"y" * 101)
    with CaptureReader(io.BytesIO(ng)) as reader:
        assert [len(r.data) for r in reader] == [50, 101] and reader.complete
        assert [p.record for p in reader.problems] == [2]


def test_many_notes_are_counted_not_kept() -> None:
    raw = pcap_header(1, snaplen=1) + pcap_records(5000, b"ab")
    with CaptureReader(io.BytesIO(raw), block_size=4096) as reader:
        assert sum(1 for _ in reader) == 5000
        assert len(reader.problem_log) == 5000 and len(reader.problems) == EXAMPLES
    ng = SHB + idb() + epb(b"z", iface=3) * 3000
    with CaptureReader(io.BytesIO(ng), keep_going=True, block_size=4096) as reader:
        assert list(reader) == [] and reader.complete
        assert len(reader.problem_log) == 3000 and len(reader.problems) == EXAMPLES
        assert dict(reader.problem_log.counts) == {"no interface N in this section": 3000}


# --- 4, 6, 17. conntrack: bad lines skipped and named, streamed, /proc format ---------------

GOOD_LINE = (
    "udp      17 28 src=198.18.0.1 dst=198.18.0.2 sport=50109 dport=8472 [UNREPLIED] "
    "src=198.18.0.2 dst=198.18.0.1 sport=8472 dport=35809 mark=0 use=1"
)
BAD_LINE = GOOD_LINE.replace("src=198.18.0.1 dst", "src=999.1.1.1 dst")


def test_a_bad_conntrack_line_is_skipped_and_named(tmp_path: Path) -> None:
    text = "\n".join([GOOD_LINE] * 6 + [BAD_LINE, GOOD_LINE]) + "\n"
    table = Conntrack.parse(text)
    assert len(table.entries) == 7
    assert table.problems == ("line 7: bad address src=999.1.1.1, skipped",)
    path = tmp_path / "ct.txt"
    path.write_text(text)
    assert Conntrack.from_file(path) == table
    done = run_cli("analyze", "--conntrack", str(path), str(DATA))
    assert done.returncode == 0 and "packets read: 7" in done.stdout
    assert done.stderr == f"{path}: line 7: bad address src=999.1.1.1, skipped\n"


def test_bad_ports_and_marks_are_named_and_many_bad_lines_counted() -> None:
    text = "\n".join(
        [GOOD_LINE.replace("sport=50109", "sport=99999"), GOOD_LINE.replace("mark=0", "mark=x")]
        + [BAD_LINE] * 20
    )
    table = Conntrack.parse(text)
    assert table.problems[:2] == (
        "line 1: bad port sport=99999, skipped",
        "line 2: bad mark mark=x, skipped",
    )
    assert table.problems[-2:] == ("12 more bad lines skipped", "0 of 22 lines parsed")


def test_proc_net_nf_conntrack_lines() -> None:
    line = (
        "ipv4     2 udp      17 29 src=198.18.0.1 dst=198.18.0.2 sport=50109 dport=8472 "
        "src=198.18.0.2 dst=198.18.0.1 sport=8472 dport=35809 mark=0 zone=0 use=2"
    )
    (entry,) = Conntrack.parse(line).entries
    assert entry.proto == "udp" and entry.reply.dport == 35809 and entry.source_nat
    assert Conntrack.parse(line.replace("ipv4", "ipv6", 1)).entries[0].proto == "udp"


def test_garbage_and_binary_conntrack_files_warn(tmp_path: Path) -> None:
    assert Conntrack.parse("hello\nworld\n").problems == ("0 of 2 lines parsed",)
    assert Conntrack.parse("").problems == ()
    path = tmp_path / "ct.bin"
    path.write_bytes(bytes(range(256)) * 64)
    table = Conntrack.from_file(path)
    assert table.entries == ()
    assert table.problems == ("0 of 65 lines parsed (binary data: not conntrack -L text)",)


def test_a_line_without_end_is_an_error_not_a_memory_hog(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_bytes(GOOD_LINE.encode() + b"\n" + b"x" * (1 << 20))
    with pytest.raises(ConntrackError, match=r"long.txt: line 2: over 65536 bytes"):
        Conntrack.from_file(path)
    done = run_cli("analyze", "--conntrack", "/dev/zero", str(DATA), timeout=20)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == (
        "vxsum analyze: /dev/zero: line 1: over 65536 bytes: not conntrack -L text\n"
    )


def test_conntrack_from_a_named_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "ct.fifo"
    os.mkfifo(fifo)
    with _feeding(fifo, (GOOD_LINE + "\n").encode()):
        (entry,) = Conntrack.from_file(fifo).entries
    assert entry.reply.dport == 35809


# --- 10. named pipes and process substitution; what cannot be read says why -----------------


class _feeding:
    """Writes ``data`` into the named pipe ``path`` from a thread while the block runs."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.thread = threading.Thread(target=lambda: path.write_bytes(data), daemon=True)

    def __enter__(self) -> None:
        self.thread.start()

    def __exit__(self, *exc: object) -> None:
        self.thread.join(10)


def test_a_named_pipe_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat {DATA} > {fifo}"])
    try:
        done = run_cli("analyze", str(fifo), timeout=30)
    finally:
        writer.wait(10)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("packets read: 7\n")


def test_process_substitution_is_read() -> None:
    """``vxsum analyze <(zcat x.pcap.gz)``: a /dev/fd path to a pipe."""
    read, write = os.pipe()
    writer = subprocess.Popen(["cat", str(DATA)], stdout=write)
    os.close(write)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vxsum", "analyze", f"/dev/fd/{read}"],
            capture_output=True,
            text=True,
            timeout=30,
            pass_fds=(read,),
            cwd=ROOT,
        )
    finally:
        os.close(read)
        writer.wait(10)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("packets read: 7\n")


def test_what_cannot_be_read_says_why(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(loop)
    for path, why in (
        (tmp_path, "is a directory"),
        (loop, "too many levels of symbolic links"),
        (tmp_path / "missing.pcap", "no such file"),
    ):
        done = run_cli("analyze", str(path))
        assert done.returncode == 2
        assert done.stderr == f"vxsum analyze: cannot read {path}: {why}\n"


# --- 12. wrong argument types are TypeError -------------------------------------------------


@pytest.mark.parametrize("source", [None, b"\xd4\xc3\xb2\xa1", bytearray(4), 42, io.StringIO("x")])
def test_wrong_source_types_are_type_errors(source: object) -> None:
    with pytest.raises(TypeError, match="source"):
        iter_records(source)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="source"):
        read_batches(source)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="source"):
        CaptureReader(source)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="source"):
        analyze_file(source)  # type: ignore[arg-type]


# --- 15. big pcapng blocks; option lengths past the block -----------------------------------


def test_a_70_mib_block_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.pcapng"
    with open(path, "wb") as out:
        out.write(SHB + idb() + epb(b"first"))
        out.write(block(0xBAD, bytes(70 << 20)))  # a custom block of 70 MiB
        out.write(epb(b"last"))
    assert [bytes(r.data) for r in iter_records(path)] == [b"first", b"last"]


def test_a_lying_block_length_costs_no_memory_before_its_bytes() -> None:
    """A block that claims 250 MiB in a file of 100 bytes: the buffer grows with the
    bytes that arrive, it is not allocated on the length field's word."""
    raw = SHB + idb() + struct.pack("<II", 0xBAD, 250 << 20) + b"\0" * 40
    tracemalloc.start()
    try:
        with pytest.raises(CaptureError, match="file ends inside a block") as err:
            list(iter_records(io.BytesIO(raw), block_size=1 << 16))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.value.offset == len(SHB + idb())
    assert peak < 8 << 20, peak


def test_an_option_past_its_interface_block_is_refused() -> None:
    opt = struct.pack("<HH", 2, 200) + b"eth0"  # if_name claims 200 bytes, has 4
    raw = SHB + idb(options=opt) + epb(b"x")
    with pytest.raises(CaptureError) as err:
        list(iter_records(io.BytesIO(raw)))
    assert err.value.record is None and err.value.offset == len(SHB)
    assert err.value.reason == (
        f"interface block: option 2 at byte {len(SHB) + 16} has length 200, "
        "past the block's end (4 bytes left)"
    )
    with CaptureReader(io.BytesIO(raw), keep_going=True) as reader:
        assert list(reader) == [] and not reader.complete
        assert [str(p) for p in reader.problems] == [str(err.value)]
    good = struct.pack("<HH", 2, 4) + b"eth0" + struct.pack("<HH", 0, 0)
    assert len(list(iter_records(io.BytesIO(SHB + idb(options=good) + epb(b"x"))))) == 1


# --- 21. xz, bzip2 and zstd captures --------------------------------------------------------


def _zstd() -> object:
    return pytest.importorskip("zstandard", reason="the zstd extra (zstandard) is not installed")


def _compressed(kind: str, raw: bytes) -> bytes:
    if kind == "xz":
        return lzma.compress(raw)
    if kind == "bzip2":
        return bz2.compress(raw)
    zstd = _zstd()
    frame = zstd.ZstdCompressor().compress  # type: ignore[attr-defined]
    skippable = struct.pack("<II", 0x184D2A50, 3) + b"abc"
    return skippable + frame(raw[:1000]) + frame(raw[1000:])  # frames one after another


@pytest.mark.parametrize("kind", ["xz", "bzip2", "zstd"])
def test_compressed_captures_are_read(tmp_path: Path, kind: str) -> None:
    raw = DATA.read_bytes()
    path = tmp_path / f"capture.{kind}"
    path.write_bytes(_compressed(kind, raw))
    want = [(r.number, bytes(r.data)) for r in iter_records(DATA)]
    with CaptureReader(path) as reader:
        assert reader.compression == kind and reader.compressed
        assert [(r.number, bytes(r.data)) for r in reader] == want and reader.complete
    assert analyze_file(path).packets == len(want) == 7


@pytest.mark.parametrize("kind", ["xz", "bzip2", "zstd"])
def test_a_truncated_compressed_capture_is_named(kind: str) -> None:
    data = _compressed(kind, pcap_header() + pcap_records(2000, bytes(range(100))))
    with pytest.raises(CaptureError, match=f"corrupt or truncated {kind} stream"):
        list(iter_records(io.BytesIO(data[: len(data) - 7])))


def test_zstd_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import zstandard fails
    data = b"\x28\xb5\x2f\xfd" + bytes(20)
    with pytest.raises(CaptureError) as err:
        CaptureReader(io.BytesIO(data))
    assert str(err.value) == (
        "<stream>: byte 0: zstd-compressed; install vxsum[zstd] (the zstandard package) to read it"
    )


def test_a_zstd_bomb_stays_flat(tmp_path: Path) -> None:
    """64 MiB of zeros in a few KB: each step's output stays small."""
    zstd = _zstd()
    path = tmp_path / "zeros.pcap.zst"
    with open(path, "wb") as f, zstd.ZstdCompressor().stream_writer(f) as w:  # type: ignore[attr-defined]
        w.write(pcap_header())
        for _ in range(64):
            w.write(bytes(1 << 20))
    assert path.stat().st_size < 100_000
    packets, problems, peak = peak_rss_mb(path)
    assert packets == problems == 64 << 16
    assert peak < 200, f"{peak:.0f} MB"


def test_not_a_capture_names_the_compressions_it_knows() -> None:
    with pytest.raises(CaptureError, match=r"magic 67617262; not gzip, xz, bzip2 or zstd"):
        CaptureReader(io.BytesIO(b"garbage" * 10))
