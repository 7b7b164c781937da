"""The classifier's stable labels, and which of them do no harm.

Kept apart from :mod:`vxsum.verdicts.verdict` so that the batch path and the writers can use them
without importing the frame parser.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["HARMLESS", "Label"]


class Label(StrEnum):
    """The classifier's stable labels; finer detail goes into :attr:`Verdict.detail`."""

    GOOD = "good"
    NO_CHECKSUM = "no-checksum"
    ILLEGAL_ZERO = "illegal-zero"
    OFFLOAD_SEED = "offload-seed"
    LCO_PENDING = "lco-pending"
    NAT_ZERO_MANGLED = "nat-zero-mangled"
    NAT_STALE = "nat-stale"
    NEGATIVE_ZERO = "negative-zero"
    UNVERIFIABLE = "unverifiable"
    CORRUPT = "corrupt"


HARMLESS = frozenset(
    {Label.GOOD, Label.NO_CHECKSUM, Label.OFFLOAD_SEED, Label.LCO_PENDING, Label.UNVERIFIABLE}
)
