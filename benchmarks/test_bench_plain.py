"""`analyze_file` on a plain capture (no tunnels) against a dpkt loop over the same packets.

The capture (:func:`plain_capture`, built with vxsum's builder from a seed): Ethernet /
IPv4 (70%) or IPv6 / TCP (50%), UDP (30%) or ICMP and ICMPv6 echo requests (20%), frames
of 60 to 1500 bytes, every checksum right except the transport checksum of 1% of the
frames (XORed with 0x5A5A). The dpkt loop is what a careful script does: parse each record
with ``dpkt.ethernet.Ethernet`` and verify the IPv4 header and the transport checksum (with
its pseudo-header) over the captured bytes with ``dpkt.in_cksum``. Both run in this
process, so start-up and imports are not counted. The VXLAN capture of the analyze
benchmarks (:func:`vxsum.testing.captures.vxlan_capture`) with as many packets is timed in
the same group, for the time per packet of the tunnel layouts.

``min(VXSUM_BENCH_PACKETS, 200000)`` packets; ``make test`` runs it small. Untimed checks:
both find the same wrong checksums, and no record of the plain capture is left to the
per-frame parser (the share on that path goes into ``extra_info``).
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import dpkt
import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture

from vxsum.capture.pcap import write_pcap
from vxsum.capture.reader import read_batches
from vxsum.frames.builder import (
    EthernetSpec,
    ICMPSpec,
    ICMPv6Spec,
    IPv4Spec,
    IPv6Spec,
    TCPSpec,
    UDPSpec,
    build,
)
from vxsum.frames.config import DEFAULT_CONFIG
from vxsum.frames.layouts import common_facts
from vxsum.report.analysis import analyze_file
from vxsum.testing.captures import vxlan_capture

PACKETS = min(BATCH_PACKETS, 200_000)
GROUP = f"plain analyze ({PACKETS} packets)"
_SEEN: dict[str, float] = {}  # median seconds of the tests run so far, for the ratios


def plain_capture(path: str | Path, packets: int, seed: int = 1) -> int:
    """Write the plain capture described above; returns how many checksums it broke."""
    rng = random.Random(seed)
    frames, broken = [], 0
    for i in range(packets):
        v6 = rng.random() < 0.3
        kind = rng.choices(["tcp", "udp", "icmp"], [0.5, 0.3, 0.2])[0]
        host = rng.randrange(1, 250)
        ip: IPv4Spec | IPv6Spec = (
            IPv6Spec(src=f"2001:db8::{host:x}", dst="2001:db8::1:7")
            if v6
            else IPv4Spec(src=f"10.1.0.{host}", dst="10.1.1.7", identification=i & 0xFFFF)
        )
        sport = rng.randrange(32768, 61000)  # ephemeral: no tunnel port
        l4: TCPSpec | UDPSpec | ICMPSpec | ICMPv6Spec
        if kind == "tcp":
            l4 = TCPSpec(src_port=sport, dst_port=rng.choice([80, 443]), seq=i, flags=0x018)
        elif kind == "udp":
            l4 = UDPSpec(src_port=sport, dst_port=rng.choice([53, 123, 5353]))
        else:
            rest = (i & 0xFFFF).to_bytes(2, "big") + rng.randbytes(2)
            l4 = ICMPv6Spec(rest=rest) if v6 else ICMPSpec(rest=rest)
        headers = 14 + (40 if v6 else 20) + (20 if kind == "tcp" else 8)
        size = rng.randrange(60, 1501)
        frame = bytearray(build([EthernetSpec(), ip, l4, rng.randbytes(max(size - headers, 0))]))
        if rng.random() < 0.01:  # break the transport checksum
            at = 14 + (40 if v6 else 20) + {"tcp": 16, "udp": 6, "icmp": 2}[kind]
            value = int.from_bytes(frame[at : at + 2], "big") ^ 0x5A5A
            frame[at : at + 2] = (value or 1).to_bytes(2, "big")  # not 0: "no checksum" in UDP
            broken += 1
        frames.append((i * 1e-5, bytes(frame)))
    write_pcap(path, frames)
    return broken


def dpkt_loop(path: Path) -> int:
    """How many IPv4 header and transport checksums of the capture are wrong, by dpkt."""
    with open(path, "rb") as f:
        return dpkt_verify(buf for _, buf in dpkt.pcap.Reader(f))


def dpkt_verify(frames: Iterable[bytes]) -> int:
    """How many IPv4 header and transport checksums of these Ethernet frames are wrong,
    by ``dpkt.ethernet.Ethernet`` and ``dpkt.in_cksum``."""
    bad = 0
    for buf in frames:
        ip = dpkt.ethernet.Ethernet(buf).data
        if isinstance(ip, dpkt.ip.IP):
            header = ip.hl * 4
            packet = buf[14 : 14 + ip.len]
            bad += dpkt.in_cksum(packet[:header]) != 0
            segment, proto = packet[header:], ip.p
            if proto == 1:
                bad += dpkt.in_cksum(segment) != 0
                continue
            pseudo = struct.pack(">4s4sxBH", ip.src, ip.dst, proto, len(segment))
        elif isinstance(ip, dpkt.ip6.IP6):
            segment, proto = buf[54 : 54 + ip.plen], ip.nxt
            pseudo = struct.pack(">16s16sI3xB", ip.src, ip.dst, len(segment), proto)
        else:
            continue
        if proto == 17 and isinstance(ip, dpkt.ip.IP) and segment[6:8] == b"\0\0":
            continue  # no checksum
        if proto in (6, 17, 58):
            bad += dpkt.in_cksum(pseudo + segment) != 0
    return bad


def _wrong(path: Path) -> int:
    """How many fields ``analyze_file`` finds wrong (neither right nor without checksum)."""
    fields = analyze_file(path).fields
    return sum(n for (_, _, label), n in fields.items() if label not in ("good", "no-checksum"))


def per_frame_share(path: Path) -> float:
    """The share of the capture's records that the batch layouts leave to the parser."""
    left = total = 0
    for b in read_batches(path):
        fits, _ = common_facts(
            b.buffer, b.offsets, b.caplens, b.wirelens, b.linktypes, b.numbers, DEFAULT_CONFIG
        )
        left += int((~fits).sum())
        total += len(fits)
    return left / total


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("plain") / "plain.pcap"
    return path, plain_capture(path, PACKETS)


@pytest.fixture(scope="module")
def vxlan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plain") / "vxlan.pcap"
    vxlan_capture(path, PACKETS)
    return path


def _timed(benchmark: BenchmarkFixture, name: str, run: Callable[[Path], int], path: Path) -> int:
    """``run(path)`` timed (five rounds, one for the slow dpkt loop); its median per packet,
    and the ratios to the medians of the tests before it, go into ``extra_info``."""
    benchmark.group = GROUP
    found: int = benchmark.pedantic(run, args=(path,), rounds=1 if name == "dpkt-loop" else 5)
    if benchmark.stats is None:  # --benchmark-disable: nothing was timed
        return found
    median = _SEEN[name] = benchmark.stats.stats.median
    benchmark.extra_info["us_per_packet"] = round(median / PACKETS * 1e6, 3)
    if name == "vxsum-vxlan" and "vxsum" in _SEEN:
        benchmark.extra_info["plain_time_over_this"] = round(_SEEN["vxsum"] / median, 2)
    if name == "dpkt-loop" and "vxsum" in _SEEN:
        benchmark.extra_info["this_time_over_plain"] = round(median / _SEEN["vxsum"], 1)
    return found


def test_plain_layouts_take_the_batch_path(plain: tuple[Path, int]) -> None:
    """A correctness property, not a timing: every record of the capture fits a layout."""
    assert per_frame_share(plain[0]) == 0


def test_vxsum(benchmark: BenchmarkFixture, plain: tuple[Path, int]) -> None:
    path, broken = plain
    assert _timed(benchmark, "vxsum", _wrong, path) == broken
    share = benchmark.extra_info["per_frame_share"] = per_frame_share(path)
    assert share == 0


def test_vxsum_vxlan(benchmark: BenchmarkFixture, vxlan: Path) -> None:
    """The VXLAN capture of as many packets: the tunnel layouts' time per packet."""
    assert _timed(benchmark, "vxsum-vxlan", lambda p: analyze_file(p).packets, vxlan) == PACKETS


def test_dpkt_loop(benchmark: BenchmarkFixture, plain: tuple[Path, int]) -> None:
    path, broken = plain
    assert _timed(benchmark, "dpkt-loop", dpkt_loop, path) == broken


def test_same_findings_by_layer(plain: tuple[Path, int]) -> None:
    """Untimed: the broken fields are transport fields, and every IPv4 header is counted."""
    path, broken = plain
    fields = analyze_file(path).fields
    wrong: Counter[str] = Counter()
    for (layer, _, label), n in fields.items():
        if label != "good":
            wrong[layer] += n
    assert sum(wrong.values()) == broken
    assert set(wrong) <= {"tcp", "udp", "icmp", "icmpv6"}
    with open(path, "rb") as f:
        ipv4 = sum(buf[12:14] == b"\x08\x00" for _, buf in dpkt.pcap.Reader(f))
    assert sum(n for (layer, _, _), n in fields.items() if layer == "ipv4") == ipv4
