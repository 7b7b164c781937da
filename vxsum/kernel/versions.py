"""Which checksum behaviour a Linux version has (kernel-model.md sections c, d and 8).

A user writes ``Kernel.parse("5.4.40")`` and gets the behaviour of that release:

* the NAT fix "netfilter: nat: never update the UDP checksum when it's 0"
  (upstream ea64d8d6c675 in v5.7; stable 5.6.13, 5.4.41, 4.19.123, 4.14.181). Stable
  series that ended before May 2020 (5.5, 5.3, 4.20, ...) never received it; for
  series older than 4.14 no backport is known to the sources, so they count as pre-fix;
* the VXLAN outer UDP checksum default for a device created without the
  ``IFLA_VXLAN_UDP_CSUM`` attribute: off before Alexander Duyck's series "GENEVE/VXLAN:
  Enable outer Tx checksum by default", on after it. The release is v4.6 by
  inference from the merge date (kernel-model.md section 8, point 4: not checked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import VxsumError

__all__ = ["Kernel", "KernelVersionError"]

# First stable release of each series that carries the NAT fix.
_NAT_FIX_BACKPORTS = {(5, 6): 13, (5, 4): 41, (4, 19): 123, (4, 14): 181}
_NAT_FIX_MAINLINE = (5, 7)
_VXLAN_CSUM_DEFAULT_ON = (4, 6)  # [I] kernel-model.md section d / 8.4

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~._].*)?\s*$")


class KernelVersionError(VxsumError, ValueError):
    """A kernel version string vxsum cannot read."""


@dataclass(frozen=True, slots=True, order=True)
class Kernel:
    """A Linux release, by ``major.minor.patch``; its properties answer behaviour questions."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Kernel:
        """Read ``"5.4.40"``, ``"v4.19"``, ``"5.4.0-52-generic"`` (distribution suffixes ignored).

        A distribution kernel's suffix says nothing about backports: Ubuntu's
        5.4.0-52 is read as 5.4.0, i.e. without the fix, which matches reports of it
        (kubernetes#96868) only by luck. Pass the upstream stable version when you know it.
        """
        match = _VERSION.match(text)
        if match is None:
            raise KernelVersionError(f"not a kernel version: {text!r} (expected e.g. '5.4.40')")
        major, minor, patch = (int(g) if g else 0 for g in match.groups())
        return cls(major, minor, patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def series(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def nat_skips_zero_udp_checksum(self) -> bool:
        """True if NAT leaves a UDP checksum of 0 alone whatever ``ip_summed`` is (the fix)."""
        if self.series >= _NAT_FIX_MAINLINE:
            return True
        first_fixed = _NAT_FIX_BACKPORTS.get(self.series)
        return first_fixed is not None and self.patch >= first_fixed

    @property
    def vxlan_udp_csum_default(self) -> bool:
        """True if a VXLAN device created without ``udpcsum``/``noudpcsum`` sums its outer UDP."""
        return self.series >= _VXLAN_CSUM_DEFAULT_ON
