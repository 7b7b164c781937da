"""``vxsum demo`` (``make demo``): the seed bug, made and explained by vxsum itself.

The kernel model produces the
frames (no capture is shipped): a flannel TCP SYN from a host to a service, on three
clusters. :func:`vxsum.classify` parses each frame back and says, for every
checksum field, whether it is right and, if not, why.
"""

from __future__ import annotations

import time

import numpy as np

from . import checksums
from .classify import Label, classify
from .scenario import Cluster, PacketTrace, run

CASES = [
    (
        "kernel 5.4.40, kube-proxy 1.18.5, flannel.1 noudpcsum, on the wire",
        Cluster.flannel("5.4.40", "1.18.5", udp_csum=False, txrehash=False),
        "wire",
    ),
    (
        "kernel 6.18 (fixed), kube-proxy 1.18.5, udpcsum on, NIC offload off, on the wire",
        Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False),
        "wire",
    ),
    (
        "kernel 6.18, kube-proxy 1.18.6 (PR 92035), tcpdump on the sender before the NIC",
        Cluster.flannel("6.18", "1.18.6"),
        "sender",
    ),
]


def _show(title: str, packet: PacketTrace, tap: str) -> None:
    frame = packet.wire if tap == "wire" else packet.sender
    print(f"\n{title}")
    for v in classify(frame):
        due = "-" if v.expected is None else f"0x{v.expected:04x}"
        line = f"  depth {v.depth} {v.layer:<5} 0x{v.value:04x} (should be {due}) {v.verdict}"
        if v.verdict not in (Label.GOOD, Label.NO_CHECKSUM):
            line += f" [{'harmless' if v.harmless else 'harmful'}]: {v.detail}"
        print(line)
    fate = packet.fate
    print(f"  node B: {'delivered' if fate.delivered else 'dropped, ' + str(fate.counter)}")


def main() -> None:
    print("vxsum demo: a flannel TCP SYN to a service, made by the kernel model and parsed back")
    for title, cluster, tap in CASES:
        scenario = run(cluster, "tcp")
        _show(title, scenario.packets[0], tap)
        print(f"  connect completes after {scenario.delivered_at:.0f} s")

    n = 200_000
    rng = np.random.default_rng(0)
    sizes = rng.choice(np.array([66, 150, 1450]), size=n, p=[0.4, 0.3, 0.3])
    buf = rng.integers(0, 256, size=int(sizes.sum()), dtype=np.uint8).tobytes()
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    t0 = time.perf_counter()
    checksums(buf, offsets, sizes)
    seconds = time.perf_counter() - t0
    print(f"\nBatch core: {n:,} packets ({len(buf) / 1e6:.0f} MB) checksummed in {seconds:.3f} s")


if __name__ == "__main__":
    main()
