"""The classifier's codes: labels, evidence and context, and the verdict row that holds them.

A verdict is data: a :data:`ROW` is a checksum-field fact (:data:`vxsum.frames.facts.FACT`)
plus the codes and numbers the rules and the context gave it. Words are made from them
only at the edge (:mod:`vxsum.verdicts.text`).

* :class:`Label`: the stable name of what happened to the field;
* :class:`Evidence`: what the field's own bytes show (the fingerprint that matched);
* :class:`Context`: what other packets, a conntrack table or a capture taken before NAT
  said about it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

import numpy as np

from ..frames.facts import FACT

__all__ = [
    "CONFIRMED_BY",
    "HARMLESS",
    "HYPOTHESES",
    "LABELS",
    "ROW",
    "Context",
    "Evidence",
    "Label",
]


class Label(StrEnum):
    """The classifier's stable labels; the evidence columns say more."""

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


LABELS = tuple(Label)
"""Labels by code (a label's code is its index here)."""

HARMLESS = frozenset(
    {Label.GOOD, Label.NO_CHECKSUM, Label.OFFLOAD_SEED, Label.LCO_PENDING, Label.UNVERIFIABLE}
)
"""Labels whose field does no harm: receivers accept the packet, or it is an artefact."""


class Evidence(IntEnum):
    """What a field's own bytes show: which fingerprint of :mod:`vxsum.verdicts.rules`
    matched."""

    NONE = 0
    """The field is right."""
    NO_CHECKSUM = 1
    """0 in UDP over IPv4: the sender computed none (RFC 768)."""
    ILLEGAL_ZERO = 2
    """0 in UDP over IPv6 outside a zero-checksum port, or in UDP-Lite."""
    NEGATIVE_ZERO = 3
    """0x0000 over IPv6 where 0xFFFF is due."""
    UNVERIFIABLE = 4
    """The covered bytes are not all there (the fact's ``reason`` says why)."""
    SEED = 5
    """The field holds its own pseudo-header sum (CHECKSUM_PARTIAL on the sender)."""
    IP_ZERO = 6
    """0 in an IPv4 header checksum: header checksum offload."""
    TSO_SEED = 7
    """TCP's pseudo-header sum without the length: segmentation offload."""
    LCO = 8
    """A tunnel's outer checksum, right once the pending inner field is filled."""
    ZERO_MANGLED = 9
    """0xFFFF in a tunnel's outer UDP field where the checksum is wrong."""
    STALE = 10
    """A tunnel's outer checksum right for another source port (``port``)."""
    UNEXPLAINED = 11
    """Wrong, and no fingerprint matches."""


class Context(IntEnum):
    """What other packets or a NAT context said about a field (numbers in the row)."""

    NONE = 0
    FLOW_AGREES = 1
    """``count`` packets of the outer flow imply the same port before NAT."""
    FLOW_RIGHT = 2
    """``count`` other packets of the outer flow carry a right checksum."""
    FLOW_CONTRADICTS = 3
    """``count`` other packets of the outer flow imply other ports before NAT."""
    CONNTRACK_STALE = 4
    """conntrack's NAT of the outer flow, run through the kernel model, leaves this value
    from the right one."""
    CONNTRACK_ZERO = 5
    """... leaves this value from a zero field on a kernel before the NAT fix."""
    CONNTRACK_NOT_NAT = 6
    """... leaves neither."""
    BEFORE_STALE = 7
    """The same packet before NAT (``pre_*``) was right; NAT leaves this value."""
    BEFORE_ZERO = 8
    """The packet before NAT had no checksum; a pre-fix kernel's NAT leaves this value."""
    BEFORE_NOT_NAT = 9
    """NAT of the packet before NAT leaves another value."""
    BEFORE_WRONG_ALREADY = 10
    """The packet before NAT was wrong already; NAT then left this value."""
    BEFORE_WRONG_NO_NAT = 11
    """Wrong before NAT already, and not rewritten."""
    BEFORE_CHANGED = 12
    """Changed between the two captures without NAT."""
    CAPTURE = 13
    """The capture as a whole: its bad tunnel checksums fit source-port rewrites of
    connection-opening packets far more often than random damage would (``p_value``)."""


CONFIRMED_BY = {
    Context.FLOW_AGREES: "flow",
    Context.CONNTRACK_STALE: "conntrack",
    Context.CONNTRACK_ZERO: "conntrack",
    Context.BEFORE_STALE: "before-nat",
    Context.BEFORE_ZERO: "before-nat",
    Context.CAPTURE: "capture",
}
"""The contexts that confirm a cause, by the name of their source (the ``confirmed_by``
column)."""

HYPOTHESES = {Evidence.STALE: Label.NAT_STALE}
"""Evidence that fits a cause but would also come from random damage too often to name it
(about 43% of random values fit a source-port rewrite): until a context confirms it, the
field is ``corrupt`` and the cause is its ``hypothesis``."""


ROW = np.dtype(
    [
        *FACT.descr,
        ("label", "u1"),  # code into LABELS
        ("evidence", "u1"),  # Evidence
        ("context", "u1"),  # Context
        ("pending", "?"),  # the tunnel's inner field holds its seed (is pending)
        ("due", "<i4"),  # what the field should hold once a pending inner field is filled
        ("port", "<i4"),  # Evidence.STALE: the source port the field is right for; else -1
        ("count", "<i4"),  # flow context: the packets counted
        ("opens", "?"),  # a tunnel packet that opens its outer flow and its inner connection
        ("p_value", "<f8"),  # Context.CAPTURE: the capture-wide test's p-value
        ("pre_src", ">u2", (8,)),  # NAT context: the packet's source before NAT
        ("pre_sport", "<u2"),
        ("pre_value", "<i4"),  # the field before NAT (-1: not known, as with conntrack)
        ("pre_record", "<i8"),  # its record in the capture before NAT (-1: none)
        ("pre_due", "<u2"),  # the right value before NAT (local checksum offload)
        ("pre_fixed", "<u2"),  # what NAT leaves on a fixed kernel
        ("pre_prefix", "<u2"),  # what NAT leaves on a kernel before the NAT fix
        ("time", "<i8"),  # the record's timestamp, ns since the epoch (NO_TIMESTAMP: none)
        ("record_offset", "<i8"),  # the record's byte offset in the capture file (-1: none)
    ]
)
"""A checksum-field fact with its verdict: codes and the numbers behind them. Its first
fields are :data:`~vxsum.frames.facts.FACT`'s, byte for byte; its last two say where the
frame is in its capture (filled by :mod:`vxsum.report.analysis`; a frame judged alone has
none)."""
