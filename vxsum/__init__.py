"""vxsum: explain bad packet checksums.

The public API lives here; submodules are implementation detail unless documented.

* checksum core (:mod:`vxsum.checksum`): :func:`checksum`, :func:`ones_sum`,
  :func:`verify`, pseudo-header sums and RFC 1624 incremental updates;
* batch core (:mod:`vxsum.batch`): :func:`checksums` and :func:`ones_sums` for many
  packets at once.
"""

from __future__ import annotations

from .batch import checksums, ones_sums
from .checksum import (
    Address,
    Buffer,
    checksum,
    fold,
    ones_add,
    ones_sum,
    pseudo_header_sum_v4,
    pseudo_header_sum_v6,
    update16,
    update32,
    update128,
    update_span,
    verify,
)
from .errors import VxsumError

__version__ = "0.1.0.dev0"

__all__ = [
    "Address",
    "Buffer",
    "VxsumError",
    "__version__",
    "checksum",
    "checksums",
    "fold",
    "ones_add",
    "ones_sum",
    "ones_sums",
    "pseudo_header_sum_v4",
    "pseudo_header_sum_v6",
    "update16",
    "update32",
    "update128",
    "update_span",
    "verify",
]
