"""The tests' oracle: :mod:`vxsum.testing.reference` (plain RFC 1071, no vxsum.core)."""

from vxsum.testing.reference import reference_checksum, reference_sum, reference_udp_due

__all__ = ["reference_checksum", "reference_sum", "reference_udp_due"]
