"""``python -m vxsum.demo`` (``make demo``): the seed bug, made and explained by vxsum itself.

A stop-gap until ``vxsum demo`` and the classifier exist. The kernel model produces the
frames (no capture is shipped): a flannel TCP SYN from a host to a service, on three
clusters. :func:`vxsum.parse` reads each frame back, every checksum field is checked,
and the mechanism fingerprints of :mod:`vxsum.signatures` say why a wrong one is wrong.
"""

from __future__ import annotations

import time

import numpy as np

from . import checksums, parse
from .fields import ChecksumField, Status
from .scenario import Cluster, PacketTrace, run
from .signatures import EPHEMERAL_PORTS, lco_pending, port_before_rewrite, zero_mangled

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


def _explain(f: ChecksumField, fields: list[ChecksumField], frame: bytes) -> str:
    """Why a field is wrong, from the fingerprints (the classifier will do this properly)."""
    if f.status != Status.BAD:
        return ""
    if f.stored == f.pseudo_sum:
        return "the pseudo-header seed: the NIC has not filled it yet (harmless)"
    if f.layer != "udp" or f.depth != 0:
        return "unexplained"
    if zero_mangled(f.stored):
        return "a zero 'no checksum' field turned into 0xFFFF by a pre-fix kernel's NAT"
    inner = next((x for x in fields if x.depth == 1 and x.layer in ("tcp", "udp")), None)
    if inner is not None and inner.stored == inner.pseudo_sum and inner.expected is not None:
        offset = inner.field_offset - (f.span_offset)
        assert f.expected is not None
        if lco_pending(f.stored, f.expected, inner.stored, inner.expected, offset):
            return "local checksum offload: right once the inner seed is filled (harmless)"
    sport = int.from_bytes(frame[f.span_offset : f.span_offset + 2], "big")
    assert f.expected is not None
    old = port_before_rewrite(f.stored, f.expected, sport)
    in_range = EPHEMERAL_PORTS[0] <= old <= EPHEMERAL_PORTS[1]
    return (
        f"stale: right for source port {old} before NAT rewrote it to {sport}"
        f"{' (a VXLAN flow port: consistent)' if in_range else ''}; receivers drop it"
    )


def _show(title: str, packet: PacketTrace, tap: str) -> None:
    frame = packet.wire if tap == "wire" else packet.sender
    parsed = parse(frame)
    fields = list(parsed.checksums)
    print(f"\n{title}")
    for f in fields:
        due = "-" if f.expected is None else f"0x{f.expected:04x}"
        line = f"  depth {f.depth} {f.layer:<5} 0x{f.stored:04x} (should be {due}) {f.status}"
        why = _explain(f, fields, frame)
        print(line + (f": {why}" if why else ""))
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
