"""The vectorised check of the common VXLAN layout agrees with the parser and classifier."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from corpus import shared_dir
from hypothesis import given, settings
from hypothesis import strategies as st

import vxsum
from vxsum.capture import read_batches
from vxsum.fastpath import check_vxlan_batch
from vxsum.repro import write_pcap
from vxsum.scenario import Cluster, run
from vxsum.strategies import clusters, seeds

PORTS = frozenset({4789, 8472})
FINE = {"good", "no-checksum"}


def agree(path: Path) -> int:
    """Check every record of a capture both ways; returns how many fit the layout."""
    fitting = 0
    for batch in read_batches(path):
        fast = check_vxlan_batch(
            batch.buffer, batch.offsets, batch.caplens, batch.wirelens, batch.linktypes, PORTS
        )
        for k in range(len(batch.offsets)):
            o, n = int(batch.offsets[k]), int(batch.caplens[k])
            frame = vxsum.parse(
                batch.buffer[o : o + n].tobytes(),
                int(batch.linktypes[k]),
                wire_length=int(batch.wirelens[k]),
            )
            verdicts = vxsum.classify(frame)
            all_fine = all(str(v.verdict) in FINE for v in verdicts)
            fitting += bool(fast.fits[k])
            if fast.good[k]:
                layers = [(v.layer, v.depth) for v in verdicts]
                assert layers[:3] == [("ipv4", 0), ("udp", 0), ("ipv4", 1)] and len(layers) == 4
                assert all_fine, (path, k, verdicts)
                assert (verdicts[1].value == 0) == bool(fast.outer_zero[k])
            elif fast.fits[k]:
                assert not all_fine or any(
                    v.layer == "udp" and v.depth == 1 and v.value == 0 for v in verdicts
                )
    return fitting


@settings(max_examples=40)
@given(
    cluster=clusters(),
    seed=seeds(),
    proto=st.sampled_from(["tcp", "udp"]),
    tap=st.sampled_from(["sender", "wire"]),
    data=st.data(),
)
def test_model_captures(
    cluster: Cluster, seed: int, proto: str, tap: str, data: st.DataObject, tmp_path_factory: object
) -> None:
    frames = [(p.time, getattr(p, tap)) for p in run(cluster, proto, seed=seed).packets]
    flip = data.draw(st.none() | st.integers(0, 200))
    if flip is not None:  # corrupt one byte somewhere in the first frame
        first = bytearray(frames[0][1])
        first[flip % len(first)] ^= 0x41
        frames[0] = (frames[0][0], bytes(first))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.pcap"
        write_pcap(path, frames)
        fitting = agree(path)
    if flip is None:  # the model's frames all have the common layout
        assert fitting == len(frames)


def test_clean_traffic_is_cleared() -> None:
    wire = run(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False), "tcp").packets[0].wire
    buf = np.frombuffer(wire * 3, dtype=np.uint8)
    n = len(wire)
    offs, lens = np.arange(3, dtype=np.int64) * n, np.full(3, n, dtype=np.int64)
    fast = check_vxlan_batch(buf, offs, lens, lens, np.ones(3, dtype=np.int64), PORTS)
    assert fast.good.all() and fast.fits.all() and (fast.inner_proto == 6).all()


def test_corpus_vxlan_captures() -> None:
    pcaps = shared_dir() / "corpus" / "pcaps"
    if not pcaps.is_dir():
        import pytest

        pytest.skip(f"the shared corpus is not at {pcaps}")
    for path in sorted(p for p in pcaps.rglob("*") if p.is_file()):
        agree(path)
