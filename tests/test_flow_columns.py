"""Rows say which flow and which tunnel (row contract version 3): the columns ``src`` to
``inner_protocol`` equal the addresses, ports and VNI a capture was built with, in every
format, on the batch path and on the per-frame parser's."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from contract import CONTRACT
from scapy.contrib.geneve import GENEVE
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import wrpcap

import vxsum
from vxsum.cli import main
from vxsum.frames.config import DEFAULT_CONFIG
from vxsum.frames.layouts import common_facts

FLOW = tuple(CONTRACT[CONTRACT.index("src") :])  # the flow and tunnel columns (version 3)
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
INNER_ETH = Ether(src="0a:00:00:00:00:01", dst="0a:00:00:00:00:02")

# frame number: (outer packet, tunnel, inner packet, whether the batch layouts take it)
BUILT: dict[int, dict[str, Any]] = {
    1: {
        "outer": ("192.0.2.1", "192.0.2.2", 40000, 8472),
        "vni": 4242,
        "inner": ("10.244.1.5", "10.244.2.7", 33333, 80, 6),
        "batch": True,
    },
    2: {
        "outer": ("fd00::1", "fd00::2", 51000, 4789),
        "vni": 0xABCDEF,
        "inner": ("2001:db8::5", "2001:db8::7", 5353, 53, 17),
        "batch": True,
    },
    3: {  # Geneve: the per-frame parser's
        "outer": ("198.51.100.1", "198.51.100.2", 41000, 6081),
        "vni": 777,
        "inner": ("10.1.0.1", "10.1.0.2", 1234, 4321, 17),
        "batch": False,
    },
    4: {  # VXLAN carrying ICMP: the per-frame parser's, no inner ports
        "outer": ("192.0.2.3", "192.0.2.4", 42000, 4789),
        "vni": 1,
        "inner": ("10.2.0.1", "10.2.0.2", None, None, None),
        "batch": False,
    },
}
PLAIN = ("203.0.113.1", "203.0.113.2", 1111, 443)  # frame 5: no tunnel


def _frames() -> list[bytes]:
    out = []
    for spec in BUILT.values():
        src, dst, sport, dport = spec["outer"]
        isrc, idst, isport, idport, iproto = spec["inner"]
        ip = IPv6 if ":" in src else IP
        iip = IPv6 if ":" in isrc else IP
        if iproto == 6:
            l4: Any = TCP(sport=isport, dport=idport, flags="S")
        elif iproto == 17:
            l4 = UDP(sport=isport, dport=idport) / b"payload"
        else:
            l4 = ICMP() / b"ping"
        inner = INNER_ETH / iip(src=isrc, dst=idst) / l4
        tunnel: Any = (
            GENEVE(vni=spec["vni"], proto=0x6558)
            if dport == 6081
            else VXLAN(vni=spec["vni"], flags=0x08)
        )
        out.append(
            bytes(ETH / ip(src=src, dst=dst) / UDP(sport=sport, dport=dport) / tunnel / inner)
        )
    src, dst, sport, dport = PLAIN
    out.append(bytes(ETH / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport) / b"x"))
    return out


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flow") / "flow.pcap"
    wrpcap(str(path), [Ether(f) for f in _frames()])
    return path


def _want(frame: int, depth: int, layer: str) -> dict[str, object]:
    """The flow columns of a row, from what the frame was built with."""
    if frame == 5:
        src, dst, sport, dport = PLAIN
        return dict(zip(FLOW, [src, dst, sport, dport, 6, *[None] * 6], strict=True))
    spec = BUILT[frame]
    src, dst, sport, dport = spec["outer"]
    isrc, idst, isport, idport, iproto = spec["inner"]
    if depth == 1:
        return dict(zip(FLOW, [isrc, idst, isport, idport, iproto, *[None] * 6], strict=True))
    inner = [isrc, idst, isport, idport, iproto] if layer == "udp" else [None] * 5
    vni = spec["vni"] if layer == "udp" else None
    return dict(zip(FLOW, [src, dst, sport, dport, 17, vni, *inner], strict=True))


def _check(rows: list[dict[str, object]], tunnels: tuple[int, ...] = tuple(BUILT)) -> None:
    seen = set()
    for row in rows:
        frame, depth, layer = row["frame"], row["depth"], row["layer"]
        assert isinstance(frame, int) and isinstance(depth, int) and isinstance(layer, str)
        assert {k: row[k] for k in FLOW} == _want(frame, depth, layer), row
        seen.add((frame, layer, depth))
    assert {(f, "udp", 0) for f in tunnels} <= seen  # every tunnel row was checked


def test_the_layouts_take_what_they_should(capture: Path) -> None:
    records = list(vxsum.iter_records(capture))
    data = [bytes(r.data) for r in records]
    buffer = np.frombuffer(b"".join(data), dtype=np.uint8)
    lengths = np.array([len(d) for d in data], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    numbers = np.arange(1, len(data) + 1, dtype=np.int64)
    linktypes = np.ones(len(data), dtype=np.int64)
    fits, _ = common_facts(buffer, offsets, lengths, lengths, linktypes, numbers, DEFAULT_CONFIG)
    assert fits[:4].tolist() == [spec["batch"] for spec in BUILT.values()]


def test_jsonl(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    assert main(["analyze", str(capture), "--all-fields", "--format", "jsonl", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    _check(rows)
    assert all(list(r)[15:26] == list(FLOW) for r in rows)


def test_csv(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    assert main(["analyze", str(capture), "--all-fields", "--format", "csv", "-o", str(out)]) == 0
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    ints = {"frame", "depth", "sport", "dport", "protocol", "vni"}
    ints |= {"inner_sport", "inner_dport", "inner_protocol"}
    rows: list[dict[str, object]] = [
        {
            k: (None if v == "" else int(v) if k in ints else v)
            for k, v in r.items()
            if k in ints or k in FLOW or k == "layer"
        }
        for r in table
    ]
    _check(rows)


def test_parquet_and_scan(capture: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "rows.parquet"
    args = ["analyze", str(capture), "--all-fields", "--format", "parquet", "-o", str(out)]
    assert main(args) == 0
    written = pq.read_table(out)
    scanned = pa.Table.from_batches(vxsum.scan(str(capture), all_fields=True))
    assert written.to_pylist() == scanned.to_pylist()  # dictionaries may be laid out apart
    assert scanned.schema.metadata == {b"vxsum.schema_version": b"4"}
    assert scanned.schema.field("vni").type == pa.int32()
    _check(scanned.to_pylist())


def test_the_per_frame_classifier(capture: Path) -> None:
    rows = []
    for number, data in enumerate(_frames(), 1):
        for verdict in vxsum.classify(data):
            rows.append({"frame": number, **verdict.to_dict()})
    _check(rows)


def test_harmful_rows_only(capture: Path, tmp_path: Path) -> None:
    """Without --all-fields, a listed tunnel row keeps its inner packet's columns."""
    data = bytearray(_frames()[0])
    data[40] ^= 0x55  # the outer UDP checksum of frame 1 (14 + 20 + 6)
    path = tmp_path / "bad.pcap"
    wrpcap(str(path), [Ether(bytes(data))])
    out = tmp_path / "rows.jsonl"
    assert main(["analyze", str(path), "--format", "jsonl", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["layer"], r["depth"]) for r in rows] == [("udp", 0)]
    _check(rows, (1,))


@pytest.mark.skipif(shutil.which("tshark") is None, reason="no tshark")
def test_tshark_agrees(capture: Path) -> None:
    for frame in (1, 3):
        fields = ["-e", "vxlan.vni", "-e", "geneve.vni", "-e", "ip.src", "-E", "occurrence=a"]
        command = ["tshark", "-r", str(capture), "-Y", f"frame.number == {frame}", "-T", "fields"]
        command += [*fields, "-d", "udp.port==8472,vxlan"]
        got = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        got = got.split("\t")
        spec = BUILT[frame]
        vni = got[0] or got[1]
        assert int(vni, 0) == spec["vni"]
        assert got[2].strip().split(",") == [spec["outer"][0], spec["inner"][0]]
