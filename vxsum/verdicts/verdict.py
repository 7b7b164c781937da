"""The classifier: for every checksum field of a frame, is it right, and if not, why?

One :class:`Verdict` per checksum field that :func:`vxsum.parse` reports, with a stable
label (:class:`Label`), whether it is harmless, the stored and expected values, and
the evidence in numbers. This module judges one frame on its own; evidence across the
packets of a flow (and from conntrack or a capture before NAT) is a later layer that
turns "consistent with" into "confirmed".

How a wrong field is explained, in this order (kernel-model.md, :mod:`vxsum.verdicts.signatures`):

1. ``offload-seed``: it holds its own pseudo-header sum, the seed a sender leaves for
   the NIC (CHECKSUM_PARTIAL): a capture taken on the sender before the fill; or that
   sum without the length, which segmentation offload (TSO/GSO) leaves; or 0 in an
   IPv4 header checksum that the NIC fills (header checksum offload, not Linux).
2. ``lco-pending``: a tunnel's outer UDP checksum that becomes exactly right once the
   inner pending field (a seed) gets its final value: local checksum offload.
3. ``nat-zero-mangled``: a tunnel's outer UDP field of 0xFFFF where the checksum is
   wrong: what a pre-fix kernel's NAT writes into a zero field on a port-only rewrite.
4. ``nat-stale``: a tunnel's outer UDP checksum that would be right (after the inner
   fill, if one is pending) for a source port in the ephemeral range, the range
   ``udp_flow_src_port`` draws VXLAN ports from: left stale by a port rewrite.
5. ``corrupt``: wrong, and none of these explains it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.checksum import ones_add, update_span
from ..frames.config import ParseConfig
from ..frames.fields import ChecksumField, Status
from ..frames.frame import Frame, parse
from . import text as evidence
from .labels import HARMLESS, Label
from .signatures import EPHEMERAL_PORTS, port_before_rewrite

__all__ = ["HARMLESS", "Label", "Verdict", "classify"]

_TUNNEL_LAYERS = ("tcp", "udp", "udplite")
_PSEUDO_HEADER_LAYERS = ("tcp", "udp", "udplite", "icmpv6")  # only these have a seed


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict on one checksum field."""

    layer: str
    depth: int
    quoted: bool
    value: int
    expected: int | None
    verdict: Label
    harmless: bool
    detail: str
    pre_nat_port: int | None = None
    """For ``nat-stale``: the source port the field is right for (flow evidence uses it)."""

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (the label as its string), without internal evidence."""
        return {
            "layer": self.layer,
            "depth": self.depth,
            "quoted": self.quoted,
            "value": self.value,
            "expected": self.expected,
            "verdict": str(self.verdict),
            "harmless": self.harmless,
            "detail": self.detail,
        }


def _verdict(f: ChecksumField, label: Label, detail: str, port: int | None = None) -> Verdict:
    return Verdict(
        f.layer, f.depth, f.quoted, f.stored, f.expected, label, label in HARMLESS, detail, port
    )


def inner_pending(outer: ChecksumField, fields: tuple[ChecksumField, ...]) -> ChecksumField | None:
    """The inner L4 field of ``outer``'s tunnel payload, if it holds its seed (pending)."""
    for f in fields:
        inside = outer.span_offset < f.field_offset < outer.span_offset + outer.span_length
        if inside and f.depth == outer.depth + 1 and f.layer in _TUNNEL_LAYERS and not f.quoted:
            if f.status == Status.BAD and f.stored == f.pseudo_sum and f.expected is not None:
                return f
            return None
    return None


def _explain_bad(f: ChecksumField, frame: Frame) -> Verdict:
    assert f.expected is not None
    if f.layer in _PSEUDO_HEADER_LAYERS and f.stored == f.pseudo_sum:
        return _verdict(f, Label.OFFLOAD_SEED, evidence.offload_seed(f.pseudo_sum, f.expected))
    if f.layer == "ipv4" and f.stored == 0:
        return _verdict(f, Label.OFFLOAD_SEED, evidence.ip_zero(f.expected))
    if f.layer == "tcp" and f.stored == ones_add(f.pseudo_sum, 0xFFFF ^ f.span_length):
        return _verdict(f, Label.OFFLOAD_SEED, evidence.tso_seed(f.stored))
    tunnel = f.layer == "udp" and any(x.depth == f.depth + 1 for x in frame.checksums)
    if not tunnel:
        return _verdict(f, Label.CORRUPT, evidence.CORRUPT)
    due, note = f.expected, ""
    inner = inner_pending(f, frame.checksums)
    if inner is not None:
        assert inner.expected is not None
        offset = inner.field_offset - f.span_offset
        due = (
            update_span(
                f.expected,
                offset,
                inner.stored.to_bytes(2, "big"),
                inner.expected.to_bytes(2, "big"),
            )
            or 0xFFFF
        )
        note = evidence.lco_note(inner.layer, inner.stored, inner.expected)
        if f.stored == due:
            return _verdict(f, Label.LCO_PENDING, evidence.lco_pending(note))
    if f.stored == 0xFFFF:
        return _verdict(f, Label.NAT_ZERO_MANGLED, evidence.ZERO_MANGLED)
    sport = int.from_bytes(frame.data[f.span_offset : f.span_offset + 2], "big")
    old = port_before_rewrite(f.stored, due, sport)
    low, high = EPHEMERAL_PORTS
    if low <= old <= high and old != sport:
        return _verdict(f, Label.NAT_STALE, evidence.nat_stale(old, sport, note), old)
    return _verdict(f, Label.CORRUPT, evidence.CORRUPT)


def _judge(f: ChecksumField, frame: Frame) -> Verdict:
    if f.status == Status.GOOD:
        return _verdict(f, Label.GOOD, "")
    if f.status == Status.NO_CHECKSUM:
        return _verdict(f, Label.NO_CHECKSUM, evidence.NO_CHECKSUM)
    if f.status == Status.ILLEGAL_ZERO:
        if f.expected == 0xFFFF:
            return _verdict(
                f,
                Label.NEGATIVE_ZERO,
                "0x0000 where 0xFFFF is due: over IPv6 a zero UDP checksum means none, "
                "which is illegal (RFC 8200 section 8.1)",
            )
        return _verdict(f, Label.ILLEGAL_ZERO, "0 over IPv6 outside a zero-checksum tunnel port")
    if f.status == Status.UNVERIFIABLE:
        reason = f.reason.value if f.reason is not None else "unknown"
        return _verdict(f, Label.UNVERIFIABLE, f"cannot be checked from this capture: {reason}")
    return _explain_bad(f, frame)


def classify(
    frame: Frame | bytes | bytearray | memoryview,
    linktype: int = 1,
    *,
    config: ParseConfig | None = None,
) -> list[Verdict]:
    """A verdict for every checksum field of one frame (raw bytes are parsed first)."""
    if not isinstance(frame, Frame):
        frame = parse(frame, linktype, config=config)
    return [_judge(f, frame) for f in frame.checksums]
