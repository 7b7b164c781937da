"""Kernel versions map to the right NAT and VXLAN behaviour."""

from __future__ import annotations

import warnings

import pytest

from vxsum.kernel.versions import DistributionKernelWarning, Kernel, KernelVersionError


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
@pytest.mark.filterwarnings("ignore::vxsum.kernel.versions.DistributionKernelWarning")
def test_nat_fix_by_version(version: str, fixed: bool) -> None:
    assert Kernel.parse(version).nat_skips_zero_udp_checksum is fixed


@pytest.mark.parametrize(
    ("version", "upstream", "suffix"),
    [("5.4.0-42-generic", "5.4.0", "-42-generic"), ("4.18.0-305.el8", "4.18.0", "-305.el8")],
)
def test_distribution_kernel_may_carry_the_fix(version: str, upstream: str, suffix: str) -> None:
    """Its version says "no fix", but a distribution backports: say so, and let the user
    say which it is."""
    with pytest.warns(DistributionKernelWarning, match=f"{version} is a distribution kernel"):
        kernel = Kernel.parse(version)
    assert (str(kernel), kernel.suffix) == (upstream, suffix)
    assert kernel.nat_fix_uncertain and not kernel.nat_skips_zero_udp_checksum
    assert "never update the UDP checksum when it's 0" in kernel.uncertainty()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for said in (True, False):
            told = Kernel.parse(version, nat_fix=said)
            assert told.nat_skips_zero_udp_checksum is said and not told.nat_fix_uncertain
            assert told.uncertainty() == ""
        # The version decides when it can: a fixed series, or no suffix to doubt it by.
        for sure in ("6.1.0-18-amd64", "5.4.41-1-generic", "5.4.40", "6.18.44-fc-v669"):
            assert not Kernel.parse(sure).nat_fix_uncertain
    assert Kernel.parse("5.4.40", nat_fix=True).nat_skips_zero_udp_checksum  # a patched build


def test_kernels_order_by_version_and_equal_by_every_field() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DistributionKernelWarning)
        rhel = Kernel.parse("4.18.0-305.el8")
    assert rhel != Kernel.parse("4.18.0") and not rhel < Kernel.parse("4.18.0")
    assert rhel != Kernel.parse("4.18.0-305.el8", nat_fix=True)
    assert Kernel(4, 14, 181) < rhel <= Kernel(4, 18) < Kernel(5, 4, 41)
    assert sorted([Kernel(6, 1), rhel, Kernel(3, 10)]) == [Kernel(3, 10), rhel, Kernel(6, 1)]
    with pytest.raises(TypeError):
        _ = Kernel(5, 4) < (5, 4, 1)  # type: ignore[operator]


def test_vxlan_outer_checksum_default() -> None:
    assert not Kernel.parse("3.10").vxlan_udp_csum_default
    assert Kernel.parse("4.6").vxlan_udp_csum_default


def test_bad_version_strings() -> None:
    for text in ("", "five", "5", "linux-5.4"):
        with pytest.raises(KernelVersionError, match="not a kernel version"):
            Kernel.parse(text)
    assert str(Kernel.parse("v5.4")) == "5.4.0"
    assert Kernel.parse("5.4.40") < Kernel.parse("5.4.41")
