"""Golden outputs: what ``vxsum`` prints and writes, byte for byte, on fixed inputs.

The inputs are the demo's shipped captures, captures the kernel model writes (``vxsum
repro``) with their context (a capture before NAT, a conntrack table), a generated VXLAN
capture with random damage (the batch path), and the shared corpus (skipped when
``../shared`` is absent). The outputs are those of the command line: the text summary,
jsonl (listed fields and ``--all-fields``), csv, parquet (its rows as JSON) and
``explain`` for every frame of the small captures.

A change that alters an output on purpose regenerates the files and commits them with
the change: ``VXSUM_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import ipaddress
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from corpus import shared_dir
from reference import reference_udp_due

from vxsum.cli.app import main

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("VXSUM_UPDATE_GOLDEN") == "1"
CORPUS = shared_dir() / "corpus" / "pcaps"  # $VXSUM_SHARED, or ../shared
REPO = Path(__file__).resolve().parents[1]
DEMO = [
    "flannel-5.4.40-noudpcsum-wire.pcap",
    "flannel-6.18-udpcsum-wire.pcap",
    "flannel-6.18-pr92035-sender.pcap",
]
_PCAP = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


def _frames(path: Path) -> list[bytes]:
    """The frames of a microsecond little-endian pcap (what ``vxsum repro`` writes)."""
    data = path.read_bytes()
    out, at = [], _PCAP.size
    while at < len(data):
        _, _, caplen, _ = _RECORD.unpack_from(data, at)
        out.append(data[at + 16 : at + 16 + caplen])
        at += 16 + caplen
    return out


def _write(path: Path, frames: list[bytes]) -> None:
    with path.open("wb") as f:
        f.write(_PCAP.pack(0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for k, frame in enumerate(frames):
            f.write(_RECORD.pack(1_700_000_000 + k, 0, len(frame), len(frame)) + frame)


def _conntrack_line(frame: bytes, pre_port: int) -> str:
    """The ``conntrack -L`` line of a source NAT from ``pre_port`` to the frame's port."""
    src, dst = (str(ipaddress.ip_address(frame[k : k + 4])) for k in (26, 30))
    sport, dport = (int.from_bytes(frame[k : k + 2], "big") for k in (34, 36))
    return (
        f"udp 17 29 src={src} dst={dst} sport={pre_port} dport={dport} [UNREPLIED] "
        f"src={dst} dst={src} sport={dport} dport={sport} mark=16384 use=1\n"
    )


def _run(*args: str) -> str:
    """``vxsum ARGS``: its exit status, standard output and standard error, as one text."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return f"$ vxsum {' '.join(args)}\nexit {status}\n{out.getvalue()}{err.getvalue()}"


def _analyze(name: str, *extra: str, fmt: str = "text", all_fields: bool = False) -> str:
    """The output of ``vxsum analyze`` in ``fmt``, written to a file and read back."""
    target = f"out.{fmt}"
    args = ["analyze", name, *extra, "--format", fmt, "-o", target]
    if all_fields:
        args.append("--all-fields")
    shown = _run(*args)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(target).to_pylist()
        body = "".join(json.dumps(r) + "\n" for r in rows)
        body = f"{pq.read_schema(target)}\n{body}"
    else:
        body = Path(target).read_text()
    Path(target).unlink()
    return f"{shown}--- {target}\n{body}"


def _every_format(name: str, *extra: str) -> str:
    parts = [_analyze(name, *extra)]
    for fmt in ("jsonl", "csv", "parquet"):
        parts.append(_analyze(name, *extra, fmt=fmt))
    parts.append(_analyze(name, *extra, fmt="jsonl", all_fields=True))
    return "\n".join(parts)


def _explain_all(name: str) -> str:
    count = len(_frames(Path(name)))
    return "\n".join(_run("explain", name, "--frame", str(k)) for k in range(1, count + 1))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding every input, so that outputs name files without a directory."""
    tmp = tmp_path_factory.mktemp("golden")
    for name in DEMO:
        (tmp / name).write_bytes((files("vxsum") / "data" / name).read_bytes())
    here = Path.cwd()
    os.chdir(tmp)
    try:
        stale = ["--kernel", "6.18", "--kube-proxy", "1.18.5", "--txrehash", "off"]
        for tap in ("prenat", "wire"):
            assert main(["repro", *stale, "--tap", tap, "-o", f"stale-{tap}.pcap"]) == 0
        pre_fix = ["--kernel", "5.4.40", "--kube-proxy", "1.18.5", "--udpcsum", "off"]
        assert main(["repro", *pre_fix, "--attempts", "2", "-o", "zero.pcap"]) == 0
        lco = ["--kernel", "6.18", "--kube-proxy", "1.18.5", "--underlay-tx", "off"]
        assert main(["repro", *lco, "--attempts", "2", "-o", "lco.pcap"]) == 0
    finally:
        os.chdir(here)
    # conntrack lines: the right pre-NAT port for the first packet of each capture, a
    # wrong one for nothing else (the stale capture's second packet has its own flow).
    zero, lco_frames = _frames(tmp / "zero.pcap"), _frames(tmp / "lco.pcap")
    (tmp / "zero.conntrack").write_text(_conntrack_line(zero[0], 40000))
    (tmp / "lco.conntrack").write_text(_conntrack_line(lco_frames[0], 50109))
    wire, prenat = _frames(tmp / "stale-wire.pcap"), _frames(tmp / "stale-prenat.pcap")
    pre_port = int.from_bytes(prenat[0][34:36], "big")
    (tmp / "stale.conntrack").write_text(_conntrack_line(wire[0], pre_port))
    # The stale flow of six packets, alone and with one right checksum in the same flow.
    _write(tmp / "flow-alone.pcap", wire)
    fixed = bytearray(wire[0])
    fixed[40:42] = reference_udp_due(wire[0]).to_bytes(2, "big")  # right, same flow
    _write(tmp / "flow-mixed.pcap", [*wire, bytes(fixed)])
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "vxlan_capture.py"), "3000", "vxlan.pcap"],
        cwd=tmp,
        check=True,
        capture_output=True,
    )
    return tmp


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    here = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


CASES: dict[str, Callable[[], str]] = {
    **{f"demo-{n.removesuffix('.pcap')}": (lambda n=n: _every_format(n)) for n in DEMO},
    **{f"explain-{n.removesuffix('.pcap')}": (lambda n=n: _explain_all(n)) for n in DEMO},
    "before-nat": lambda: _every_format("stale-wire.pcap", "--before-nat", "stale-prenat.pcap"),
    "conntrack-zero": lambda: _every_format("zero.pcap", "--conntrack", "zero.conntrack"),
    "conntrack-lco": lambda: _every_format("lco.pcap", "--conntrack", "lco.conntrack"),
    "conntrack-stale": lambda: _every_format("stale-wire.pcap", "--conntrack", "stale.conntrack"),
    "flow-alone": lambda: _analyze("flow-alone.pcap", fmt="jsonl"),
    "flow-mixed": lambda: _every_format("flow-mixed.pcap"),
    "vxlan-generated": lambda: "\n".join(
        [
            _analyze("vxlan.pcap"),
            _analyze("vxlan.pcap", fmt="jsonl"),
            _analyze("vxlan.pcap", fmt="csv", all_fields=True),
        ]
    ),
    "demo-command": lambda: _run("demo"),
}


def _check(name: str, got: str) -> None:
    path = GOLDEN / f"{name}.txt.gz"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(gzip.compress(got.encode(), mtime=0))
        return
    want = gzip.decompress(path.read_bytes()).decode()
    if got != want:
        got_lines, want_lines = got.splitlines(), want.splitlines()
        first = next(
            (k for k, (a, b) in enumerate(zip(got_lines, want_lines, strict=False)) if a != b),
            min(len(got_lines), len(want_lines)),
        )
        pytest.fail(
            f"{name}: output differs from {path.name} at line {first + 1}:\n"
            f"  want: {want_lines[first] if first < len(want_lines) else '<end>'}\n"
            f"  got:  {got_lines[first] if first < len(got_lines) else '<end>'}"
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, inputs: Path) -> None:
    with _inside(inputs):
        _check(name, CASES[name]())


def test_golden_corpus(tmp_path: Path) -> None:
    """Every field of the shared corpus, and the summary of it all."""
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is absent ({CORPUS}): nothing to compare")
    names = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file())
    with _inside(CORPUS):
        text = _run("analyze", *names, "--keep-going", "-o", str(tmp_path / "summary.txt"))
        text += (tmp_path / "summary.txt").read_text()
        rows = tmp_path / "rows.jsonl"
        args = ["analyze", *names, "--keep-going", "--all-fields", "--format", "jsonl"]
        text += _run(*args, "-o", str(rows))
    text = text.replace(str(tmp_path), "TMP")
    _check("corpus", text + rows.read_text())
