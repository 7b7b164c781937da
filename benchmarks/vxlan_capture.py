"""A VXLAN capture like the one issue 6 measures with, written with vxsum's own builder.

Outer Ethernet / IPv4 / UDP 4789 or 8472 / VXLAN / inner Ethernet / IPv4 / TCP or UDP;
inner frames 40% 66 B, 30% 150 B, 30% 1450 B; half the outer UDP checksums 0; 1% of
outer checksums broken (one byte flipped). ``python benchmarks/vxlan_capture.py N OUT``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from vxsum import Checksum, EthernetSpec, IPv4Spec, TCPSpec, UDPSpec, VxlanSpec, build
from vxsum.kernel.repro import write_pcap


def write_vxlan_capture(path: Path, packets: int, seed: int = 1) -> int:
    """Write the capture; returns how many outer checksums were broken on purpose."""
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


if __name__ == "__main__":
    print(write_vxlan_capture(Path(sys.argv[2]), int(sys.argv[1])), "broken")
