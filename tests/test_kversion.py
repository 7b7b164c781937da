"""Kernel versions map to the right NAT and VXLAN behaviour."""

from __future__ import annotations

import pytest

from vxsum.kernel.versions import Kernel, KernelVersionError


@pytest.mark.parametrize(
    ("version", "fixed"),
    [
        ("5.4.40", False),
        ("5.4.41", True),
        ("4.19.122", False),
        ("4.19.123", True),
        ("4.14.180", False),
        ("4.14.181", True),
        ("5.6.12", False),
        ("5.6.13", True),
        ("5.5.19", False),  # the 5.5 series ended before the fix
        ("5.7", True),
        ("6.18.44-fc-v669", True),
        ("3.10.0-1160.el7", False),
        ("4.9.337", False),
    ],
)
def test_nat_fix_by_version(version: str, fixed: bool) -> None:
    assert Kernel.parse(version).nat_skips_zero_udp_checksum is fixed


def test_vxlan_outer_checksum_default() -> None:
    assert not Kernel.parse("3.10").vxlan_udp_csum_default
    assert Kernel.parse("4.6").vxlan_udp_csum_default


def test_bad_version_strings() -> None:
    for text in ("", "five", "5", "linux-5.4"):
        with pytest.raises(KernelVersionError, match="not a kernel version"):
            Kernel.parse(text)
    assert str(Kernel.parse("v5.4")) == "5.4.0"
    assert Kernel.parse("5.4.40") < Kernel.parse("5.4.41")
