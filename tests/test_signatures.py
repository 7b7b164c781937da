"""Each mechanism's fingerprint recognises the frames the kernel model makes for it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from reference import reference_udp_due

import vxsum
from vxsum.kernel.encap import udp_flow_src_port
from vxsum.kernel.scenario import Cluster, run
from vxsum.verdicts.signatures import (
    EPHEMERAL_PORTS,
    lco_pending,
    offload_seed,
    port_before_rewrite,
    zero_mangled,
)

L4 = 14 + 20  # outer UDP in an IPv4-underlay frame
INNER = L4 + 8 + 8 + 14  # inner IPv4 header
INNER_TCP_CHECK = INNER + 20 + 16


def u16(frame: bytes, off: int) -> int:
    return int.from_bytes(frame[off : off + 2], "big")


def inner_seed_and_due(frame: bytes) -> tuple[int, int]:
    ip = frame[INNER:]
    seg = ip[20:]
    ph = vxsum.pseudo_header_sum_v4(ip[12:16], ip[16:20], 6, len(seg))
    return ph, vxsum.checksum(seg[:16] + b"\0\0" + seg[18:], ph)


def test_sender_side_capture_shows_seed_and_lco() -> None:
    p = run(Cluster.flannel("6.18", "1.18.6", underlay_is_veth=True)).packets[0]
    seed, due = inner_seed_and_due(p.sender)
    assert offload_seed(u16(p.sender, INNER_TCP_CHECK), seed)
    assert not offload_seed(u16(p.sender, INNER_TCP_CHECK), seed ^ 1)
    offset = INNER_TCP_CHECK - L4
    got = lco_pending(u16(p.sender, L4 + 6), reference_udp_due(p.sender), seed, due, offset)
    assert got == u16(p.sender, L4 + 6)
    # Not an LCO value once the outer was rewritten behind the checksum's back:
    broken = run(Cluster.flannel("6.18", "1.18.5", underlay_is_veth=True)).packets[0]
    seed_b, due_b = inner_seed_and_due(broken.sender)
    assert (
        lco_pending(
            u16(broken.sender, L4 + 6), reference_udp_due(broken.sender), seed_b, due_b, offset
        )
        is None
    )


def test_pre_fix_zero_field() -> None:
    p = run(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False)).packets[0]
    assert zero_mangled(u16(p.wire, L4 + 6)) == "port-only rewrite"
    assert zero_mangled(0x1234) is None
    old, new = bytes([10, 0, 0, 11]), bytes([10, 0, 0, 99])
    assert zero_mangled(0x0058, old, new) == "address rewrite"  # kernel-model.md table g
    assert zero_mangled(0xFFFF, old, new) is None


def test_stale_lco_gives_back_the_pre_nat_port() -> None:
    """Fixed kernel, udpcsum on, pre-92035: the wire value is right for the old port."""
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False, txrehash=False)
    for seed in range(20):
        s = run(cluster, seed=seed, attempts=1)
        wire = s.packets[0].wire
        assert s.packets[0].outer_nat
        old = port_before_rewrite(u16(wire, L4 + 6), reference_udp_due(wire), u16(wire, L4))
        unnatted = run(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False), seed=seed)
        assert old == u16(unnatted.packets[0].wire, L4)  # same flow hash, no second NAT
        assert EPHEMERAL_PORTS[0] <= old <= EPHEMERAL_PORTS[1]


@given(st.integers(0, 2**32 - 1), st.integers(1, 65535), st.integers(0, 0xFFFF))
def test_port_before_rewrite_inverts_update16(flow_hash: int, new: int, check: int) -> None:
    old = udp_flow_src_port(flow_hash)
    due = vxsum.update16(check, old, new)
    assert port_before_rewrite(check, due, new) == old
