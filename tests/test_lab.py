"""The real-kernel lab: the whole matrix must agree with the model byte for byte.

Needs root, Linux and iproute2, iptables, conntrack, ethtool, tcpdump (``.ci/run``
installs them); skipped, saying why, where they are missing. About a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vxsum.lab.check import MATRIX_SNAT, MATRIX_V4, MATRIX_V6, LabCheck, check_run, markdown_table
from vxsum.lab.run import LabConfig, lab_unavailable, run_lab

pytestmark = pytest.mark.skipif(lab_unavailable() is not None, reason=str(lab_unavailable()))


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[LabConfig, LabCheck]:
    root: Path = tmp_path_factory.mktemp("lab")
    return {
        cfg: check_run(run_lab(cfg, root / f"run-{k:02d}"))
        for k, cfg in enumerate(MATRIX_V4 + MATRIX_V6 + MATRIX_SNAT)
    }


def test_every_cell_agrees_with_the_model(matrix: dict[LabConfig, LabCheck]) -> None:
    table = markdown_table(list(matrix.values()))
    for cfg, check in matrix.items():
        assert check.fields > 0, cfg.label
        assert check.agrees, f"{cfg.label}: {check.mismatches[:5]}\n{table}"


@pytest.mark.parametrize("v6", [False, True])
def test_the_fixed_kernel_still_drops_tcp_with_udpcsum_on(
    matrix: dict[LabConfig, LabCheck], v6: bool
) -> None:
    """udpcsum on, pre-92035 rules, inner checksum pending, software fill on the underlay."""
    check = matrix[LabConfig(udp_csum=True, post_92035=False, underlay_tx=False, ipv6_underlay=v6)]
    counter = "Udp6InCsumErrors" if v6 else "UdpInCsumErrors"
    assert check.counters[counter] == 4  # every first SYN
    assert check.tcp == ["1 s"] * 4  # the retransmission, re-hashed to a new outer port
    assert check.udp_ok == 4  # UDP left complete by its socket survives
    assert check.example  # a captured outer field that is wrong


def test_the_mitigations_deliver_at_once(matrix: dict[LabConfig, LabCheck]) -> None:
    for cfg in (
        LabConfig(udp_csum=True, post_92035=True, underlay_tx=False),
        LabConfig(udp_csum=True, vxlan_tx=False, underlay_tx=False),
        LabConfig(udp_csum=False, underlay_tx=False),
    ):
        check = matrix[cfg]
        errors = {k: v for k, v in check.counters.items() if "CsumErr" in k and v}
        assert check.tcp == ["0 s"] * 4 and not errors, cfg.label


@pytest.mark.parametrize("v6", [False, True])
def test_an_outer_address_rewrite_breaks_tcp_even_after_pr_92035(
    matrix: dict[LabConfig, LabCheck], v6: bool
) -> None:
    """real-kernel-lab.md: an extra SNAT of the outer packets, udpcsum on: off by twice the
    address delta (198.18.0.1 -> .11 adds 0x000a, 2001:db8:7::1 -> ::11 adds 0x0010: the
    field moves up by it, the right value down)."""
    cfg = LabConfig(
        udp_csum=True, post_92035=True, underlay_tx=False, ipv6_underlay=v6, outer_snat=True
    )
    check = matrix[cfg]
    assert check.tcp == ["failed"] * 4  # every SYN, retransmissions too, is rewritten
    stored, due = (int(x, 16) for x in check.example.split(" -> "))
    assert (stored - due) & 0xFFFF == (0x20 if v6 else 0x14)
    zero = matrix[
        LabConfig(
            udp_csum=False, post_92035=True, underlay_tx=False, ipv6_underlay=v6, outer_snat=True
        )
    ]
    assert zero.tcp == ["0 s"] * 4  # noudpcsum: the zero field is left alone
