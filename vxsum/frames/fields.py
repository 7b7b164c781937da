"""The checksum-field record: what a field holds, what it should hold, and the verdict.

One :class:`ChecksumField` per checksum-bearing header in a frame. ``expected`` is
the value the field should hold for the bytes *as captured* (what tcpdump prints
after ``->`` and tshark calls "computed"); for UDP and UDP-Lite a computed 0x0000
is written 0xFFFF, because a zero field means "no checksum" (RFC 768, RFC 3828
section 3.1). The verdict follows RFC 1071: the field is good if the covered bytes
plus the pseudo-header sum to -0, which accepts 0x0000 and 0xFFFF alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..core.buffer import checksum, field_checksum

__all__ = ["LAYERS", "REASONS", "STATUSES", "ChecksumField", "Reason", "Status", "evaluate"]

LAYERS = (
    *("ipv4", "udp", "udplite", "tcp", "icmp", "icmpv6", "igmp"),
    *("gre", "pim", "vrrp", "icmpext"),  # added later: codes only ever appended
)
"""The layers that carry a checksum field; a layer's code is its index here."""


class Status(StrEnum):
    """Verdict on one checksum field."""

    GOOD = "good"
    BAD = "bad"
    UNVERIFIABLE = "unverifiable"
    """The covered bytes are not all there, or not all of one packet; see :class:`Reason`."""
    NO_CHECKSUM = "no-checksum"
    """UDP over IPv4 with a zero field: the sender computed none (RFC 768)."""
    ILLEGAL_ZERO = "illegal-zero"
    """A zero UDP field over IPv6 (RFC 8200 section 8.1) outside the configured
    tunnel ports that may omit it (RFC 6935, RFC 6936), or a zero UDP-Lite field."""


class Reason(StrEnum):
    """Why a checksum could not be verified."""

    SNAPLEN = "snaplen"
    """The capture's snap length cut the covered bytes (captured < on the wire)."""
    FRAGMENT = "fragment"
    """A first IP fragment: the rest of the transport data is in other packets."""
    LENGTH_MISMATCH = "length-mismatch"
    """A length field claims more (or fewer) bytes than the packet holds."""
    LENGTH_ZERO = "length-zero"
    """IPv4 total length 0, or IPv6 payload length 0 without a jumbo option: a TSO /
    BIG TCP capture taken before segmentation, whose length is only in the capture
    record. The captured bytes are checked anyway: a field that matches them is
    ``good``, one that does not is ``unverifiable`` rather than ``bad``."""
    QUOTED = "quoted"
    """Inside an ICMP error, which quotes only the leading bytes of a packet."""


STATUSES = tuple(Status)
"""Statuses by code (the code of a status is its index here)."""
REASONS: tuple[Reason | None, ...] = (None, *Reason)
"""Reasons by code; code 0 is no reason."""


@dataclass(frozen=True, slots=True)
class ChecksumField:
    """One checksum field of a frame and its verdict."""

    layer: str
    """One of :data:`LAYERS`: ``ipv4``, ``udp``, ``udplite``, ``tcp``, ``icmp``, ``icmpv6``,
    ``igmp``, ``gre``, ``pim``, ``vrrp`` or ``icmpext`` (an ICMP extension structure)."""
    depth: int
    """0 for the outermost IP packet, +1 at every further IP header (corpus README)."""
    quoted: bool
    """True inside an ICMP or ICMPv6 error."""
    field_offset: int
    """Offset of the 2-byte field in the frame."""
    stored: int
    """The value the field holds."""
    expected: int | None
    """The value it should hold for the captured bytes; ``None`` when unverifiable
    or when there is no checksum."""
    span_offset: int
    """Start of the covered bytes (the header for IPv4, the transport header otherwise)."""
    span_length: int
    """Covered length according to the length fields."""
    captured_length: int
    """How many of the covered bytes are in the frame buffer (can be fewer)."""
    pseudo_sum: int
    """Folded pseudo-header sum added to the covered bytes (0 for IPv4, ICMP, IGMP)."""
    status: Status
    reason: Reason | None = None

    @property
    def ok(self) -> bool:
        """True unless the field is known to be wrong (bad, or an illegal zero)."""
        return self.status not in (Status.BAD, Status.ILLEGAL_ZERO)


def evaluate(
    buf: memoryview,
    layer: str,
    *,
    depth: int,
    quoted: bool,
    field_offset: int,
    span_offset: int,
    span_length: int,
    pseudo_sum: int = 0,
    zero_status: Status | None = None,
    reason: Reason | None = None,
) -> ChecksumField:
    """Build the record for one field; ``field_offset + 2`` must be within ``buf``.

    ``zero_status`` is the verdict for a zero field where zero is special (UDP);
    ``reason`` marks the field unverifiable up front (fragment, length lies, quoted).
    Otherwise the field is unverifiable when the span is not all in ``buf``.
    """
    stored = (buf[field_offset] << 8) | buf[field_offset + 1]
    captured = max(0, min(span_length, len(buf) - span_offset))

    def record(
        status: Status, expected: int | None = None, why: Reason | None = None
    ) -> ChecksumField:
        return ChecksumField(
            layer,
            depth,
            quoted,
            field_offset,
            stored,
            expected,
            span_offset,
            span_length,
            captured,
            pseudo_sum,
            status,
            why,
        )

    if stored == 0 and zero_status is not None:
        # Still say what the field would hold with a checksum: 0xFFFF there makes a
        # stored 0 over IPv6 the other zero rather than a missing checksum.
        due = None
        if reason is None and captured >= span_length:
            span0 = buf[span_offset : span_offset + span_length]
            due = checksum(span0, pseudo_sum) or 0xFFFF
        return record(zero_status, due)
    if reason is not None and reason is not Reason.LENGTH_ZERO:
        return record(Status.UNVERIFIABLE, why=reason)
    if captured < span_length:
        return record(Status.UNVERIFIABLE, why=Reason.SNAPLEN)
    span = buf[span_offset : span_offset + span_length]
    expected, good = field_checksum(span, pseudo_sum, stored)
    if expected == 0 and not pseudo_sum:
        # Cancelling adds -0 where the rest is all zero (an ICMP echo reply with id,
        # sequence and data all 0): its checksum is 0xFFFF, the only value that verifies.
        rel = field_offset - span_offset
        if not any(span[:rel]) and not any(span[rel + 2 :]):
            expected = 0xFFFF
    if expected == 0 and layer in ("udp", "udplite"):
        expected = 0xFFFF
    if good:
        return record(Status.GOOD, expected)
    if reason is Reason.LENGTH_ZERO:
        return record(Status.UNVERIFIABLE, why=reason)
    return record(Status.BAD, expected)
