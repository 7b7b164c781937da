"""Reading the shared oracle corpus (``../shared/corpus``) and comparing vxsum with tshark.

Test helper, not part of the package. Capture records are read with dpkt's pcap and
pcapng header classes (a fast own reader comes later); the wire length is kept so a
snap-length cut can be told from a lying length field.
"""

from __future__ import annotations

import json
import os
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dpkt

import vxsum

STATUS = {
    "good": "good",
    "bad": "bad",
    "unverified": "unverifiable",
    "not present": "no-checksum",
    "illegal": "illegal-zero",
}
LAYER = {"ipv4": "ip"}
_NOT_IN_CORPUS_JSON = {"udplite", "gre", "pim", "vrrp", "icmpext"}
"""vxsum's layers the corpus's tshark JSON leaves out (it keeps ip, udp, tcp, icmp, icmpv6
and igmp)."""


def shared_dir() -> Path:
    """``$VXSUM_SHARED``, or ``shared/`` next to the repository root."""
    env = os.environ.get("VXSUM_SHARED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared"


@dataclass(frozen=True)
class Record:
    number: int
    linktype: int
    data: bytes
    wire_length: int


def read_records(path: Path) -> Iterator[Record]:
    """Every packet record of a pcap (µs or ns) or pcapng file, with its link type."""
    raw = path.read_bytes()
    if raw[:4] == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng(raw)
        return
    magic = raw[:4]
    le = magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    fh = (dpkt.pcap.LEFileHdr if le else dpkt.pcap.FileHdr)(raw[:24])
    # The top bits of the link type field carry FCS information (pcap format spec).
    hdr_cls = dpkt.pcap.LEPktHdr if le else dpkt.pcap.PktHdr
    pos, number = 24, 0
    while pos + 16 <= len(raw):
        ph = hdr_cls(raw[pos : pos + 16])
        pos += 16
        number += 1
        yield Record(number, fh.linktype & 0x0FFFFFFF, raw[pos : pos + ph.caplen], ph.len)
        pos += ph.caplen


def _pcapng(raw: bytes) -> Iterator[Record]:
    pos, number = 0, 0
    le = True
    linktypes: list[int] = []
    while pos + 8 <= len(raw):
        if raw[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
            le = raw[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a"
            linktypes = []
        fmt = "<II" if le else ">II"
        btype, blen = struct.unpack_from(fmt, raw, pos)
        block = raw[pos : pos + blen]
        if btype == dpkt.pcapng.PCAPNG_BT_IDB:
            cls = (
                dpkt.pcapng.InterfaceDescriptionBlockLE
                if le
                else dpkt.pcapng.InterfaceDescriptionBlock
            )
            linktypes.append(cls(block).linktype)
        elif btype == dpkt.pcapng.PCAPNG_BT_EPB:
            cls = dpkt.pcapng.EnhancedPacketBlockLE if le else dpkt.pcapng.EnhancedPacketBlock
            epb = cls(block)
            number += 1
            yield Record(number, linktypes[epb.iface_id], bytes(epb.pkt_data), epb.pkt_len)
        elif btype == dpkt.pcapng.PCAPNG_BT_PB:  # the obsolete Packet Block
            pcls = dpkt.pcapng.PacketBlockLE if le else dpkt.pcapng.PacketBlock
            pb = pcls(block)
            number += 1
            yield Record(number, linktypes[pb.iface_id], bytes(pb.pkt_data), pb.pkt_len)
        pos += blen


@dataclass
class Deviation:
    key: tuple[str, int, str, int]
    """(capture, frame, layer, depth)"""
    detail: str


@dataclass
class Result:
    files: int = 0
    frames: int = 0
    compared: int = 0
    agreeing: int = 0
    deviations: list[Deviation] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def _vx_entries(frame: vxsum.Frame) -> list[dict[str, object]]:
    out = []
    for c in frame.checksums:
        if c.layer in _NOT_IN_CORPUS_JSON:
            continue  # test_coverage.py compares these with tshark itself
        out.append(
            {
                "layer": LAYER.get(c.layer, c.layer),
                "depth": c.depth,
                "quoted": c.quoted,
                "value": c.stored,
                "status": str(c.status),
                "computed": c.expected,
            }
        )
    return out


def compare(corpus: Path, config: vxsum.ParseConfig | None = None) -> Result:
    """Parse every capture and compare each tshark checksum entry with vxsum's."""
    result = Result()
    pcaps = corpus / "pcaps"
    for path in sorted(p for p in pcaps.rglob("*") if p.is_file()):
        rel = path.relative_to(pcaps).as_posix()
        expected = json.loads((corpus / "expected" / (rel + ".json")).read_text())
        by_frame = {e["frame"]: e["checksums"] for e in expected}
        result.files += 1
        for rec in read_records(path):
            result.frames += 1
            try:
                frame = vxsum.parse(
                    rec.data, rec.linktype, wire_length=rec.wire_length, config=config
                )
                mine = _vx_entries(frame)
            except vxsum.ParseError as err:
                result.errors[f"{rel}#{rec.number}: {err}"] += 1
                mine = []
            _compare_frame(rel, rec.number, by_frame.get(rec.number, []), mine, result)
    return result


def _compare_frame(
    rel: str,
    number: int,
    theirs: list[dict[str, object]],
    mine: list[dict[str, object]],
    result: Result,
) -> None:
    unused = list(mine)
    for t in theirs:
        result.compared += 1
        key = (rel, number, str(t["layer"]), int(t["depth"]))  # type: ignore[call-overload]
        quoted = bool(t.get("quoted"))
        match = next(
            (
                m
                for m in unused
                if m["layer"] == t["layer"] and m["depth"] == t["depth"] and m["quoted"] == quoted
            ),
            None,
        )
        if match is None:
            result.deviations.append(Deviation(key, f"missing in vxsum: {t}"))
            continue
        unused.remove(match)
        status = STATUS[str(t["status"])]
        problems = []
        if match["value"] != t["value"]:
            problems.append(f"value {match['value']} != {t['value']}")
        if match["status"] != status:
            problems.append(f"status {match['status']} != {status}")
        elif "computed" in t and match["computed"] != t["computed"]:
            problems.append(f"computed {match['computed']} != {t['computed']}")
        if problems:
            result.deviations.append(Deviation(key, "; ".join(problems)))
        else:
            result.agreeing += 1
    for m in unused:
        key = (rel, number, str(m["layer"]), int(m["depth"]))  # type: ignore[call-overload]
        result.deviations.append(Deviation(key, f"extra in vxsum: {m}"))
