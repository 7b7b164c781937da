"""The classifier gives every frame the kernel model makes the cause the model knows.

Issue 5's accuracy requirement: for generated clusters (both sides of the NAT fix and
of PR 92035, every offload setting), at the sender's tap and on the wire, the outer
UDP and inner L4 fields get exactly the label their mechanism implies.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from vxsum.kernel.scenario import Cluster, run
from vxsum.testing.strategies import clusters, seeds
from vxsum.verdicts.verdict import Label, classify


def truth(cluster: Cluster, proto: str, natted: bool, filled: bool) -> tuple[Label, Label]:
    """(outer UDP label, inner L4 label) from the settings that made the packet."""
    pending = cluster.vxlan_tx_csum and (proto == "tcp" or cluster.underlay_tx_csum)
    if not cluster.outer_udp_csum:
        pre_fix = not cluster.kernel.nat_skips_zero_udp_checksum
        outer = Label.NAT_ZERO_MANGLED if natted and pre_fix and pending else Label.NO_CHECKSUM
    elif pending:
        outer = Label.NAT_STALE if natted else Label.GOOD if filled else Label.LCO_PENDING
    else:
        outer = Label.GOOD if filled else Label.OFFLOAD_SEED
    inner = Label.OFFLOAD_SEED if pending and not filled else Label.GOOD
    return outer, inner


@given(clusters(), seeds(), st.sampled_from(["tcp", "udp"]))
def test_model_frames_get_their_true_cause(cluster: Cluster, seed: int, proto: str) -> None:
    for p in run(cluster, proto, seed=seed).packets:
        taps = {"sender": (p.sender, not cluster.underlay_tx_csum)}
        taps["wire"] = (p.wire, not cluster.underlay_is_veth or not cluster.underlay_tx_csum)
        for tap, (frame, filled) in taps.items():
            verdicts = classify(frame)
            by_layer = {(v.depth, v.layer): v for v in verdicts}
            outer, inner = truth(cluster, proto, p.outer_nat, filled)
            assert by_layer[(0, "ipv4")].verdict == Label.GOOD
            assert by_layer[(1, "ipv4")].verdict == Label.GOOD
            assert by_layer[(0, "udp")].verdict == outer, (tap, by_layer[(0, "udp")])
            assert by_layer[(1, proto)].verdict == inner, (tap, by_layer[(1, proto)])


def test_verdicts_serialise_to_json() -> None:
    p = run(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False)).packets[0]
    rows = [json.loads(json.dumps(v.to_dict())) for v in classify(p.wire)]
    outer = next(r for r in rows if r["layer"] == "udp")
    assert outer["verdict"] == "nat-zero-mangled" and outer["harmless"] is False
    assert outer["value"] == 0xFFFF and isinstance(outer["expected"], int)
    assert set(rows[0]) == {
        "layer",
        "depth",
        "quoted",
        "value",
        "expected",
        "verdict",
        "harmless",
        "detail",
    }


def test_plain_corruption_is_corrupt() -> None:
    p = run(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False)).packets[0]
    frame = bytearray(p.wire)
    frame[-1] ^= 0x5A  # flip bits in the inner TCP header's last byte
    labels = {(v.depth, v.layer): v.verdict for v in classify(bytes(frame))}
    assert labels[(1, "tcp")] == Label.CORRUPT
    assert labels[(0, "udp")] in (Label.CORRUPT, Label.NAT_STALE)  # one frame alone: ambiguous
