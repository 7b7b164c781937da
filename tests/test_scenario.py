"""Scenarios reproduce real-kernel-lab.md and the delays of kernel-model.md section f."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference import reference_udp_due

import vxsum
from vxsum.kernel.scenario import Cluster, KubeProxy, run

L4 = 14 + 20  # outer UDP header offset in an IPv4-underlay frame


def outer_check(frame: bytes) -> int:
    return int.from_bytes(frame[L4 + 6 : L4 + 8], "big")


def outer_sport(frame: bytes) -> int:
    return int.from_bytes(frame[L4 : L4 + 2], "big")


@pytest.mark.parametrize(("txrehash", "delay", "sent"), [(False, 63.0, 7), (True, 1.0, 2)])
def test_pre_fix_kernel_zero_checksum_becomes_ffff(txrehash: bool, delay: float, sent: int) -> None:
    s = run(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False, txrehash=txrehash))
    assert s.delivered_at == delay and len(s.packets) == sent
    for lost in s.packets[:-1]:
        assert outer_check(lost.sender) == outer_check(lost.wire) == 0xFFFF
        assert lost.outer_nat and lost.fate.counter == "UdpInCsumErrors"
    assert outer_check(s.packets[-1].wire) == 0 and not s.packets[-1].outer_nat


def test_same_setup_on_a_fixed_kernel_is_delivered_at_once() -> None:
    s = run(Cluster.flannel("5.4.41", "1.18.5", udp_csum=False))
    assert s.delivered_at == 0.0
    assert s.packets[0].outer_nat and outer_check(s.packets[0].wire) == 0


def test_lab_fixed_kernel_udpcsum_on_still_breaks_tcp() -> None:
    """The lab's row 'on / pre-92035 / underlay offload off': TCP 0/4, UDP fine."""
    cluster = Cluster.flannel("6.18.44", "1.18.5", underlay_tx_csum=False, txrehash=False)
    tcp = run(cluster, "tcp", attempts=4)
    assert tcp.delivered_at is None
    first = tcp.packets[0]
    assert first.fate.counter == "UdpInCsumErrors"
    stale, due = outer_check(first.wire), reference_udp_due(first.wire)
    assert stale != due
    # Evidence the classifier will use: the stale value is the LCO value of the header
    # before the port rewrite, i.e. right for the pre-NAT source port.
    pre_nat = run(Cluster.flannel("6.18.44", "1.18.6", underlay_tx_csum=False), "tcp").packets[0]
    assert stale == outer_check(pre_nat.wire)
    assert vxsum.update16(stale, outer_sport(pre_nat.wire), outer_sport(first.wire)) == due
    udp = run(cluster, "udp", attempts=4)
    assert udp.delivered_at == 0.0 and udp.packets[0].outer_nat


def test_lab_other_rows_deliver() -> None:
    rows = {
        "post-92035": Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False),
        "veth offload on": Cluster.flannel("6.18", "1.18.5", underlay_is_veth=True),
        "ethtool workaround": Cluster.flannel(
            "6.18", "1.18.5", underlay_tx_csum=False, vxlan_tx_csum=False
        ),
        "noudpcsum": Cluster.flannel("6.18", "1.18.5", udp_csum=False, underlay_tx_csum=False),
    }
    for name, cluster in rows.items():
        assert run(cluster, "tcp").delivered_at == 0.0, name


def test_veth_capture_shows_lco_value_that_is_not_checked() -> None:
    s = run(Cluster.flannel("6.18", "1.18.6", underlay_is_veth=True))
    p = s.packets[0]
    assert p.fate.delivered and "trusted" in p.fate.reason
    assert outer_check(p.sender) != reference_udp_due(p.sender)  # tcpdump says bad


def test_calico_one_second_variant_and_mitigation() -> None:
    s = run(Cluster.calico("6.1.0", "1.18.5", underlay_tx_csum=False))
    assert s.delivered_at == 1.0
    assert outer_sport(s.packets[0].wire) != outer_sport(s.packets[1].wire)
    assert s.packets[0].wire[L4 + 2 : L4 + 4] == (4789).to_bytes(2, "big")
    mitigated = run(Cluster.calico("5.4.40", "1.18.5"))  # Felix turns offload off < 5.7
    assert mitigated.delivered_at == 0.0
    p = mitigated.packets[0]
    # The sender-side capture shows the outer seed; the wire carries the right value.
    assert outer_check(p.sender) != reference_udp_due(p.sender)
    assert outer_check(p.wire) == reference_udp_due(p.wire)


def test_inner_packets_are_rewritten_by_kube_proxy() -> None:
    s = run(Cluster.flannel("6.18", "1.18.6"))
    inner = s.packets[0].inner
    assert inner[12:16] == bytes([100, 96, 0, 0]) and inner[16:20] == bytes([100, 96, 1, 2])
    seed = vxsum.pseudo_header_sum_v4(inner[12:16], inner[16:20], 6, len(inner) - 20)
    assert int.from_bytes(inner[36:38], "big") == seed  # still pending, seed follows NAT


def test_kube_proxy_versions() -> None:
    assert not KubeProxy.parse("1.18.5").unmarks_before_masquerade
    assert KubeProxy.parse("1.18.6").unmarks_before_masquerade
    assert KubeProxy.parse("1.17.9").unmarks_before_masquerade
    assert not KubeProxy.parse("1.16.12").unmarks_before_masquerade
    assert KubeProxy.parse("v1.29.0").unmarks_before_masquerade
    assert not KubeProxy.parse("1.15.3").random_fully
    with pytest.raises(ValueError):
        KubeProxy.parse("latest")


def test_without_random_fully_the_second_masquerade_is_the_identity() -> None:
    s = run(Cluster.flannel("5.4.40", "1.15.12", udp_csum=False))
    assert s.delivered_at == 0.0 and not s.packets[0].outer_nat


def test_same_seed_same_packets() -> None:
    c = Cluster.flannel("5.4.40", "1.18.5", udp_csum=False)
    assert [p.wire for p in run(c, seed=3).packets] == [p.wire for p in run(c, seed=3).packets]


def test_ipv6_underlay() -> None:
    """real-kernel-lab.md: over IPv6 the same mechanism shows up as Udp6InCsumErrors."""
    v6 = {"node_a": "2001:db8:7::1", "node_b": "2001:db8:7::2"}
    broken = run(Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False, **v6))
    assert broken.delivered_at == 1.0
    assert broken.packets[0].fate.counter == "Udp6InCsumErrors"
    assert broken.packets[0].wire[12:14] == b"\x86\xdd"
    zero = run(Cluster.flannel("6.18", "1.18.5", udp_csum=False, underlay_tx_csum=False, **v6))
    assert zero.delivered_at == 0.0  # udp6zerocsumtx/rx: 0 stays 0 and is accepted
    pre_fix = run(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False, txrehash=False, **v6))
    assert pre_fix.packets[0].wire[14 + 40 + 6 : 14 + 40 + 8] == b"\xff\xff"
    assert pre_fix.delivered_at == 63.0


def test_cluster_options_are_checked() -> None:
    """Cluster.flannel/calico take the other fields by name: a typo is a TypeError at run
    time and an error of mypy --strict (ClusterOptions), not a silently ignored setting."""
    from dataclasses import fields

    from vxsum.kernel.scenario import ClusterOptions

    named = {f.name for f in fields(Cluster)} - {"kernel", "kube_proxy"}
    assert set(ClusterOptions.__optional_keys__) == named
    for maker in (Cluster.flannel, Cluster.calico):
        with pytest.raises(TypeError, match=r"unknown options \['udp_csun'\]"):
            maker("5.4.40", "1.18.5", udp_csun=False)  # type: ignore[call-arg]
    calico = Cluster.calico("5.4.40", "1.18.5", vxlan_port=4790)
    assert (calico.vxlan_port, calico.vni, calico.vxlan_tx_csum) == (4790, 4096, False)


def test_mypy_catches_a_misspelt_cluster_option(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    code = tmp_path / "typo.py"
    code.write_text(
        "from vxsum.kernel.scenario import Cluster\n"
        'Cluster.flannel("5.4.40", "1.18.5", udp_csum=False, txrehash=True)\n'
        'Cluster.flannel("5.4.40", "1.18.5", udp_csun=False)\n'
        'Cluster.calico("5.4.40", "1.18.5", txrehash="no")\n'
    )
    out, _, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), str(code)])
    assert status == 1
    errors = [line.split(": ", 1)[1] for line in out.splitlines() if ": error:" in line]
    assert errors == [
        'error: Unexpected keyword argument "udp_csun" for "flannel" of "Cluster"; '
        'did you mean "udp_csum"?  [call-arg]',
        'error: Argument "txrehash" to "calico" of "Cluster" has incompatible type "str"; '
        'expected "bool"  [arg-type]',
    ]


def test_a_distribution_kernel_with_the_fix_said() -> None:
    """Cluster.flannel takes a Kernel too: a distribution kernel whose fix the user knows."""
    from vxsum.kernel.versions import DistributionKernelWarning, Kernel

    with pytest.warns(DistributionKernelWarning):
        guessed = run(Cluster.flannel("4.18.0-305.el8", "1.18.5", udp_csum=False, txrehash=False))
    assert guessed.delivered_at == 63.0  # modelled as upstream 4.18.0, without the fix
    said = Kernel.parse("4.18.0-305.el8", nat_fix=True)
    fixed = run(Cluster.flannel(said, "1.18.5", udp_csum=False, txrehash=False))
    assert fixed.delivered_at == 0.0 and fixed.cluster.kernel is said
