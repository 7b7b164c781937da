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
import warnings
from dataclasses import dataclass

from ..errors import VxsumError

__all__ = ["DistributionKernelWarning", "Kernel", "KernelVersionError"]

# First stable release of each series that carries the NAT fix.
_NAT_FIX_BACKPORTS = {(5, 6): 13, (5, 4): 41, (4, 19): 123, (4, 14): 181}
_NAT_FIX_MAINLINE = (5, 7)
_VXLAN_CSUM_DEFAULT_ON = (4, 6)  # [I] kernel-model.md section d / 8.4

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?([-+~._].*?)?\s*$")

NAT_FIX = "netfilter: nat: never update the UDP checksum when it's 0"
"""The title of the NAT fix (upstream ea64d8d6c675, v5.7; stable 5.6.13, 5.4.41, 4.19.123,
4.14.181)."""


class KernelVersionError(VxsumError, ValueError):
    """A kernel version string vxsum cannot read."""


class DistributionKernelWarning(UserWarning):
    """A distribution kernel (``5.4.0-42-generic``, ``4.18.0-305.el8``) whose upstream
    version lacks the NAT fix: distributions backport fixes without changing that version,
    so it may have it. :meth:`Kernel.parse` warns; pass ``nat_fix=`` to say which."""


@dataclass(frozen=True, slots=True)
class Kernel:
    """A Linux release, by ``major.minor.patch``; its properties answer behaviour questions.

    ``suffix`` is what followed the version in the release string (``"-42-generic"``,
    ``"-305.el8"``; ``""`` for an upstream version). ``nat_fix`` says whether the kernel
    has the NAT fix when its version cannot (True, False; None: decided by the version).
    Kernels compare by version; two are equal only if every field is.
    """

    major: int
    minor: int
    patch: int = 0
    suffix: str = ""
    nat_fix: bool | None = None

    @classmethod
    def parse(cls, text: str, *, nat_fix: bool | None = None) -> Kernel:
        """Read ``"5.4.40"``, ``"v4.19"``, ``"5.4.0-52-generic"``, ``"4.18.0-305.el8"``.

        A distribution kernel's suffix says nothing about backports: Ubuntu's 5.4.0-52 is
        modelled as upstream 5.4.0, without the fix, and RHEL's 4.18.0-305.el8 as 4.18.0,
        though either may carry it. Where the version says "no fix" and a suffix follows
        it, :attr:`nat_fix_uncertain` is true and this warns
        (:class:`DistributionKernelWarning`) unless ``nat_fix`` says which it is.
        """
        match = _VERSION.match(text)
        if match is None:
            raise KernelVersionError(f"not a kernel version: {text!r} (expected e.g. '5.4.40')")
        *numbers, suffix = match.groups()
        major, minor, patch = (int(g) if g else 0 for g in numbers)
        kernel = cls(major, minor, patch, suffix or "", nat_fix)
        if kernel.nat_fix_uncertain:
            say = "say which with Kernel.parse(..., nat_fix=True or False)"
            warnings.warn(DistributionKernelWarning(f"{kernel.uncertainty()}; {say}"), stacklevel=2)
        return kernel

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def version(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``: what kernels are ordered by."""
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: object) -> bool:
        return self.version < other.version if isinstance(other, Kernel) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.version <= other.version if isinstance(other, Kernel) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.version > other.version if isinstance(other, Kernel) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.version >= other.version if isinstance(other, Kernel) else NotImplemented

    @property
    def series(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def _upstream_fix(self) -> bool:
        if self.series >= _NAT_FIX_MAINLINE:
            return True
        first_fixed = _NAT_FIX_BACKPORTS.get(self.series)
        return first_fixed is not None and self.patch >= first_fixed

    @property
    def nat_skips_zero_udp_checksum(self) -> bool:
        """True if NAT leaves a UDP checksum of 0 alone whatever ``ip_summed`` is (the fix):
        :attr:`nat_fix` when given, else what the upstream version says."""
        return self._upstream_fix if self.nat_fix is None else self.nat_fix

    @property
    def nat_fix_uncertain(self) -> bool:
        """True if the version says "no NAT fix" but a distribution suffix follows it (the
        kernel may carry a backport) and :attr:`nat_fix` does not say."""
        return self.nat_fix is None and bool(self.suffix) and not self._upstream_fix

    def uncertainty(self) -> str:
        """Why :attr:`nat_fix_uncertain` holds, in one sentence ("" when it does not)."""
        if not self.nat_fix_uncertain:
            return ""
        return (
            f"{self}{self.suffix} is a distribution kernel, which may carry backports: its "
            f"upstream version {self} lacks '{NAT_FIX}' (5.7; stable 5.6.13, 5.4.41, "
            "4.19.123, 4.14.181), so it is modelled without it"
        )

    @property
    def vxlan_udp_csum_default(self) -> bool:
        """True if a VXLAN device created without ``udpcsum``/``noudpcsum`` sums its outer UDP."""
        return self.series >= _VXLAN_CSUM_DEFAULT_ON
