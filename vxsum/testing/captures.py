"""Generated captures with a known make-up, for benchmarks and measurements.

Each generator writes a pcap file with vxsum's own builder (and kernel model), from a
seed, so that the same arguments give the same bytes on every machine; what it damaged
on purpose is returned, so that a measurement can compare the verdicts with how the
capture was built.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from ..capture.pcap import write_pcap
from ..frames.builder import Checksum, EthernetSpec, IPv4Spec, TCPSpec, UDPSpec, VxlanSpec, build
from ..kernel.encap import udp_flow_src_port
from ..kernel.scenario import Cluster, run

__all__ = [
    "Generated",
    "damage_capture",
    "flows_capture",
    "stale_capture",
    "syn_capture",
    "vxlan_capture",
]


def vxlan_capture(path: str | Path, packets: int, seed: int = 1) -> int:
    """A VXLAN capture like a cluster node's: returns how many outer checksums it broke.

    Outer Ethernet / IPv4 / UDP 4789 or 8472 / VXLAN / inner Ethernet / IPv4 / TCP or
    UDP; inner frames 40% 66 B, 30% 150 B, 30% 1450 B; half the outer UDP checksums 0;
    1% of the frames have one byte of the outer UDP checksum flipped (XOR 0x5A).
    """
    rng = random.Random(seed)
    frames, broken = [], 0
    for i in range(packets):
        size = rng.choices([66, 150, 1450], [0.4, 0.3, 0.3])[0]
        tcp = rng.random() < 0.5
        sport = rng.randrange(1024, 65535)
        inner = (
            TCPSpec(src_port=sport, dst_port=80) if tcp else UDPSpec(src_port=sport, dst_port=53)
        )
        payload = rng.randbytes(size - 14 - 20 - (20 if tcp else 8))
        mode = Checksum.ZERO if rng.random() < 0.5 else Checksum.CORRECT
        outer = UDPSpec(
            src_port=rng.randrange(32768, 61000), dst_port=rng.choice([4789, 8472]), checksum=mode
        )
        frame = bytearray(
            build(
                [
                    EthernetSpec(),
                    IPv4Spec(src="10.0.0.11", dst="10.0.0.13"),
                    outer,
                    VxlanSpec(vni=1),
                    EthernetSpec(),
                    IPv4Spec(src="10.244.0.5", dst="10.244.1.7"),
                    inner,
                    payload,
                ]
            )
        )
        if rng.random() < 0.01:
            frame[34 + 6] ^= 0x5A
            broken += 1
        frames.append((i * 1e-5, bytes(frame)))
    write_pcap(path, frames)
    return broken


@dataclass(frozen=True, slots=True)
class Generated:
    """A generated capture and what it was made of: the truth a measurement compares with."""

    packets: int
    stale: frozenset[int]
    """Frame numbers whose outer checksum a second NAT left stale (the kernel model's)."""
    damaged: frozenset[int]
    """Frame numbers whose outer checksum was damaged at random (XOR with a non-zero value)."""
    conntrack: str
    """``conntrack -L`` lines of the NAT bindings that made the stale fields."""
    before: tuple[tuple[float, bytes], ...]
    """The same packets as a capture before NAT would hold them (and before any damage)."""


def _traffic(rng: random.Random, packets: int) -> list[list[bytes]]:
    """Ordinary tunnel traffic: flows between two nodes, outer checksum on. A third of the
    flows are one UDP datagram (DNS-like); the others TCP connections of 2 to 40 segments,
    a SYN first. Each flow's outer source port comes from its inner flow, as on Linux."""
    flows: list[list[bytes]] = []
    total = 0
    while total < packets:
        sport, client = rng.randrange(1024, 65535), f"10.244.0.{rng.randrange(2, 250)}"
        outer = UDPSpec(src_port=udp_flow_src_port(rng.getrandbits(32)), dst_port=8472)
        inner: list[TCPSpec | UDPSpec]
        if rng.random() < 1 / 3:
            inner = [UDPSpec(src_port=sport, dst_port=53)]
            sizes = [rng.randrange(20, 120)]
        else:
            n = min(rng.randrange(2, 41), packets - total)
            inner = [
                TCPSpec(src_port=sport, dst_port=80, seq=k, flags=0x010 if k else 0x002)
                for k in range(n)
            ]
            sizes = [0 if k == 0 else rng.choice([0, 100, 1400]) for k in range(n)]
        flow = [
            build(
                [
                    EthernetSpec(),
                    IPv4Spec(src="10.0.0.11", dst="10.0.0.13", identification=rng.getrandbits(16)),
                    outer,
                    VxlanSpec(vni=1),
                    EthernetSpec(),
                    IPv4Spec(src=client, dst="10.244.1.7"),
                    l4,
                    rng.randbytes(size),
                ]
            )
            for l4, size in zip(inner, sizes, strict=True)
        ]
        flows.append(flow)
        total += len(flow)
    return flows


def _interleave(
    rng: random.Random, flows: list[list[bytes]], span: float
) -> list[tuple[float, bytes]]:
    """The packets of ``flows`` on one timeline of ``span`` seconds, each flow in order."""
    timed = []
    for flow in flows:
        start = rng.uniform(0, span)
        timed += [(start + 0.01 * k, frame) for k, frame in enumerate(flow)]
    timed.sort(key=lambda item: item[0])
    return timed


def _damage(frame: bytes, rng: random.Random) -> bytes:
    """The frame with its outer UDP checksum XORed with a random non-zero value."""
    out = bytearray(frame)
    value = int.from_bytes(out[40:42], "big") ^ rng.randrange(1, 0x10000)
    out[40:42] = value.to_bytes(2, "big")
    return bytes(out)


def _write(
    path: str | Path,
    timed: list[tuple[float, bytes, bytes, str]],
    rng: random.Random,
    rate: float,
    conntrack: str,
) -> Generated:
    """Write ``(time, frame, frame before NAT, kind)`` packets, damaging a share ``rate`` of
    the ordinary ones (kind ""); kind "stale" marks the model's stale packets."""
    frames, before, stale, damaged = [], [], set(), set()
    for number, (t, frame, pre, kind) in enumerate(sorted(timed, key=lambda x: x[0]), 1):
        if kind == "stale":
            stale.add(number)
        elif rng.random() < rate:
            frame = _damage(frame, rng)
            damaged.add(number)
        frames.append((t, frame))
        before.append((t, pre))
    write_pcap(path, frames)
    return Generated(len(frames), frozenset(stale), frozenset(damaged), conntrack, tuple(before))


def damage_capture(
    path: str | Path, packets: int = 200_000, rate: float = 0.01, seed: int = 1
) -> Generated:
    """Ordinary tunnel traffic (see :func:`_traffic`) where a share ``rate`` of the outer
    UDP checksums are damaged at random: no NAT anywhere, nothing but damage."""
    rng = random.Random(seed)
    timed = [(t, f, f, "") for t, f in _interleave(rng, _traffic(rng, packets), 60.0)]
    return _write(path, timed, rng, rate, "")


def stale_capture(
    path: str | Path,
    stale_flows: int = 200,
    packets: int = 20_000,
    rate: float = 0.01,
    seed: int = 1,
) -> Generated:
    """Ordinary tunnel traffic with random damage on a share ``rate`` of it, and
    ``stale_flows`` outer flows from the kernel model that a second MASQUERADE left stale:
    kernel 6.18, kube-proxy 1.18.5, udpcsum on, underlay offload off, txrehash off, so every
    retransmitted SYN of a connection stays in its masqueraded outer flow. A flow has 2 to 6
    packets: the model's SYN schedule (0, 1, 3, 7, 15, 31 s) ends there, since the outer
    conntrack entry expires before the SYN at 63 s."""
    rng = random.Random(seed)
    timed = [(t, f, f, "") for t, f in _interleave(rng, _traffic(rng, packets), 120.0)]
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False, txrehash=False)
    lines: list[str] = []
    used: set[bytes] = set()
    model_seed = 0
    while len(lines) < stale_flows:
        model_seed += 1
        scenario = run(cluster, "tcp", attempts=rng.randrange(2, 7), seed=model_seed)
        natted = [p for p in scenario.packets if p.outer_nat]
        port = natted[0].wire[34:36]
        if port in used:  # two connections in one outer flow would be one flow of both
            continue
        used.add(port)
        start = rng.uniform(0, 60.0)
        timed += [(start + p.time, p.wire, p.prenat, "stale") for p in natted]
        lines.append(scenario.conntrack())
    return _write(path, timed, rng, rate, "".join(lines))


def syn_capture(
    path: str | Path, connects: int = 8, packets: int = 2_000, seed: int = 1
) -> Generated:
    """The real bug as the lab saw it (real-kernel-lab.md, the "1-second" variant) among
    ordinary tunnel traffic: ``connects`` TCP connects to a service, each losing its first
    SYN to a stale outer checksum (kernel 6.18, kube-proxy 1.18.5, udpcsum on, underlay
    offload off) and retransmitted a second later from another outer source port
    (txrehash), with a right checksum. Each bad field is the only packet of its flow."""
    rng = random.Random(seed)
    timed = [(t, f, f, "") for t, f in _interleave(rng, _traffic(rng, packets), 60.0)]
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False)
    lines = []
    for k in range(connects):
        scenario = run(cluster, "tcp", attempts=2, seed=1000 + seed * 100 + k)
        start = rng.uniform(0, 60.0)
        for p in scenario.packets:
            timed.append((start + p.time, p.wire, p.prenat, "stale" if p.outer_nat else "model"))
        lines.append(scenario.conntrack())
    return _write(path, timed, rng, 0.0, "".join(lines))


def flows_capture(path: str | Path, flows: int, seed: int = 1) -> None:
    """One VXLAN packet in each of ``flows`` outer flows (outer source 11.0.0.0 counting
    up), each outer UDP checksum a random non-zero value: as many harmful flows as
    packets, the worst case for per-flow state. Written with numpy (10^6 flows: 138 MB,
    about a second)."""
    import numpy as np  # the other generators need none of it

    template = np.frombuffer(
        build(
            [
                EthernetSpec(),
                IPv4Spec(src="10.0.0.11", dst="10.0.0.13"),
                UDPSpec(src_port=40000, dst_port=8472, checksum=Checksum.CORRECT),
                VxlanSpec(vni=1),
                EthernetSpec(),
                IPv4Spec(src="10.244.0.5", dst="10.244.1.7"),
                UDPSpec(src_port=5000, dst_port=53),
                b"x" * 30,
            ]
        ),
        np.uint8,
    )
    size = len(template)
    records = np.empty((flows, 16 + size), np.uint8)
    records[:, :16] = np.array([0, 0, size, size], "<u4").view(np.uint8)
    frame = records[:, 16:]
    frame[:] = template
    sources = (np.arange(flows, dtype=np.uint32) + (11 << 24)).astype(">u4")
    frame[:, 26:30] = sources.view(np.uint8).reshape(-1, 4)
    header = frame[:, 14:34].astype(np.uint32)
    header[:, 10:12] = 0  # the IPv4 header checksum, recomputed for the new source
    total = ((header[:, 0::2] << 8) | header[:, 1::2]).sum(axis=1)
    while (total >> 16).any():
        total = (total & 0xFFFF) + (total >> 16)
    frame[:, 24:26] = (~total & 0xFFFF).astype(">u2").view(np.uint8).reshape(-1, 2)
    values = np.random.default_rng(seed).integers(1, 0x10000, flows).astype(">u2")
    frame[:, 40:42] = values.view(np.uint8).reshape(-1, 2)
    with open(path, "wb") as out:
        out.write(np.array([0xA1B2C3D4, 0x00040002, 0, 0, 65535, 1], "<u4").tobytes())
        out.write(records.tobytes())
