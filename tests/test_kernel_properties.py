"""The seed bug and its fixes, stated over every generated configuration.

These are the properties of issue 7, on the kernel model: hypothesis draws kernels on
both sides of the NAT fix, kube-proxy releases on both sides of PR 92035, and the
offload settings, and the model must behave as the kernel notes and the lab say.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from reference import reference_udp_due

from vxsum.kernel.scenario import Cluster, run
from vxsum.testing.strategies import clusters, kernels, seeds

L4 = 14 + 20


def outer_field(frame: bytes) -> int:
    return int.from_bytes(frame[L4 + 6 : L4 + 8], "big")


@given(
    clusters(kernel=kernels(fixed=False), udp_csum=False, unmarks=False, vxlan_tx=True),
    seeds(),
    st.sampled_from(["tcp", "udp"]),
)
def test_pre_fix_kernel_mangles_a_zero_outer_checksum(
    cluster: Cluster, seed: int, proto: str
) -> None:
    p = run(cluster, proto, attempts=1, seed=seed).packets[0]
    pending = proto == "tcp" or cluster.underlay_tx_csum  # UDP pends only with offload
    if p.outer_nat and pending:
        assert outer_field(p.wire) == 0xFFFF  # port-only rewrite of 0 in CHECKSUM_PARTIAL
        assert outer_field(p.wire) != reference_udp_due(p.wire)
    else:
        assert outer_field(p.wire) == 0


@given(
    clusters(kernel=kernels(fixed=True), udp_csum=False), seeds(), st.sampled_from(["tcp", "udp"])
)
def test_fixed_kernel_never_touches_a_zero_outer_checksum(
    cluster: Cluster, seed: int, proto: str
) -> None:
    for p in run(cluster, proto, seed=seed).packets:
        assert outer_field(p.wire) == 0
        assert p.fate.delivered or p.fate.counter != "UdpInCsumErrors"


@given(clusters(udp_csum=True, unmarks=False, vxlan_tx=True, veth=False), seeds())
def test_outer_checksum_on_and_inner_pending_is_wrong_in_both_kernels(
    cluster: Cluster, seed: int
) -> None:
    p = run(cluster, "tcp", attempts=1, seed=seed).packets[0]
    if p.outer_nat:  # always, unless random-fully drew the same port
        assert outer_field(p.wire) != reference_udp_due(p.wire)
        assert p.fate.counter == "UdpInCsumErrors"


@given(
    st.one_of(
        clusters(unmarks=True, veth=False),
        clusters(vxlan_tx=False, veth=False),
    ),
    seeds(),
    st.sampled_from(["tcp", "udp"]),
)
def test_pr_92035_or_tx_checksum_off_avoids_it(cluster: Cluster, seed: int, proto: str) -> None:
    kernel_breaks_zero = (
        not cluster.kernel.nat_skips_zero_udp_checksum and not cluster.outer_udp_csum
    )
    s = run(cluster, proto, seed=seed)
    if cluster.kube_proxy.unmarks_before_masquerade or not kernel_breaks_zero:
        assert s.delivered_at == 0.0
        assert outer_field(s.packets[0].wire) in (0, reference_udp_due(s.packets[0].wire))
