"""Generated captures with a known make-up, for benchmarks and measurements.

Each generator writes a pcap file with vxsum's own builder (and kernel model), from a
seed, so that the same arguments give the same bytes on every machine; what it damaged
on purpose is returned, so that a measurement can compare the verdicts with how the
capture was built.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..capture.pcap import write_pcap
from ..frames.builder import Checksum, EthernetSpec, IPv4Spec, TCPSpec, UDPSpec, VxlanSpec, build

__all__ = ["vxlan_capture"]


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
