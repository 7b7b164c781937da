"""The checksum core: the Internet checksum of one buffer and of many at once.

:mod:`~vxsum.core.buffer` holds one buffer's sums (RFC 1071), pseudo-headers (RFC 768,
RFC 8200 section 8.1) and incremental updates (RFC 1624); :mod:`~vxsum.core.batch` the
same for many packets of one buffer, vectorised with numpy. Everything else in vxsum
computes checksums through these.
"""

from .batch import checksums, ones_sums
from .buffer import (
    Address,
    Buffer,
    checksum,
    fold,
    ones_add,
    ones_sum,
    pseudo_header_sum,
    pseudo_header_sum_v4,
    pseudo_header_sum_v6,
    update16,
    update32,
    update128,
    update_span,
    verify,
)

__all__ = [
    "Address",
    "Buffer",
    "checksum",
    "checksums",
    "fold",
    "ones_add",
    "ones_sum",
    "ones_sums",
    "pseudo_header_sum",
    "pseudo_header_sum_v4",
    "pseudo_header_sum_v6",
    "update16",
    "update32",
    "update128",
    "update_span",
    "verify",
]
