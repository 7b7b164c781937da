"""Each rule recognises the frames the kernel model makes for its mechanism."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from reference import reference_udp_due

import vxsum
from vxsum.frames.facts import layer_code
from vxsum.kernel.encap import EPHEMERAL_PORTS, udp_flow_src_port
from vxsum.kernel.scenario import Cluster, run
from vxsum.verdicts import rules

L4 = 14 + 20  # outer UDP in an IPv4-underlay frame
INNER = L4 + 8 + 8 + 14  # inner IPv4 header
INNER_TCP_CHECK = INNER + 20 + 16
TCP = layer_code("tcp")


def u16(frame: bytes, off: int) -> int:
    return int.from_bytes(frame[off : off + 2], "big")


def inner_seed_and_due(frame: bytes) -> tuple[int, int]:
    ip = frame[INNER:]
    seg = ip[20:]
    ph = vxsum.pseudo_header_sum_v4(ip[12:16], ip[16:20], 6, len(seg))
    return ph, vxsum.checksum(seg[:16] + b"\0\0" + seg[18:], ph)


def lco_value(frame: bytes) -> int:
    """What the outer field must hold to be local checksum offload's value."""
    seed, due = inner_seed_and_due(frame)
    offset = INNER_TCP_CHECK - L4
    return int(rules.due_after_fill(reference_udp_due(frame), True, seed, due, offset))


def test_sender_side_capture_shows_seed_and_lco() -> None:
    p = run(Cluster.flannel("6.18", "1.18.6", underlay_is_veth=True)).packets[0]
    seed, _ = inner_seed_and_due(p.sender)
    assert rules.seed(TCP, u16(p.sender, INNER_TCP_CHECK), seed)
    assert not rules.seed(TCP, u16(p.sender, INNER_TCP_CHECK), seed ^ 1)
    outer = u16(p.sender, L4 + 6)
    assert rules.lco(outer, lco_value(p.sender), True)
    assert not rules.lco(outer, lco_value(p.sender), False)  # nothing pending: no LCO
    # Not an LCO value once the outer was rewritten behind the checksum's back:
    broken = run(Cluster.flannel("6.18", "1.18.5", underlay_is_veth=True)).packets[0]
    assert not rules.lco(u16(broken.sender, L4 + 6), lco_value(broken.sender), True)


def test_pre_fix_zero_field() -> None:
    p = run(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False)).packets[0]
    assert rules.zero_mangled(u16(p.wire, L4 + 6))
    assert not rules.zero_mangled(0x1234)


def test_stale_lco_gives_back_the_pre_nat_port() -> None:
    """Fixed kernel, udpcsum on, pre-92035: the wire value is right for the old port."""
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False, txrehash=False)
    for seed in range(20):
        s = run(cluster, seed=seed, attempts=1)
        wire = s.packets[0].wire
        assert s.packets[0].outer_nat
        old = rules.port_before_nat(u16(wire, L4 + 6), reference_udp_due(wire), u16(wire, L4))
        unnatted = run(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False), seed=seed)
        assert old == u16(unnatted.packets[0].wire, L4)  # same flow hash, no second NAT
        assert EPHEMERAL_PORTS[0] <= old <= EPHEMERAL_PORTS[1]
        assert rules.stale(old, u16(wire, L4))


@given(st.integers(0, 2**32 - 1), st.integers(1, 65535), st.integers(0, 0xFFFF))
def test_port_before_nat_inverts_update16(flow_hash: int, new: int, check: int) -> None:
    old = udp_flow_src_port(flow_hash)
    due = vxsum.update16(check, old, new)
    assert rules.port_before_nat(check, due, new) == old
