"""A packet as the kernel holds it on transmit, and the two ways a pending checksum is filled.

:class:`Skb` keeps what decides checksum bytes: the frame, ``ip_summed``, and for
CHECKSUM_PARTIAL where the pending checksum starts (``csum_start``, from the start
of ``data``) and where its field is (``csum_offset``, from ``csum_start``), plus the
mark that netfilter matches on.

On transmit only one checksum can be pending (``include/linux/skbuff.h``, "DOC: skb
checksums"). Whoever finishes it, the underlay NIC in hardware or
``skb_checksum_help`` in software when the device lacks the offload, sums from
``csum_start`` to the end *including* the field, whose seed makes the result right,
and writes the folded complement (0xFFFF for 0) into the field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..core.buffer import ones_sum
from .csum import CSUM_MANGLED_0, IpSummed

__all__ = ["Skb", "fill_pending"]


@dataclass(frozen=True, slots=True)
class Skb:
    """An outgoing packet: bytes from the link-layer header on, and its checksum state."""

    data: bytes
    ip_summed: IpSummed = IpSummed.NONE
    csum_start: int | None = None
    csum_offset: int | None = None
    mark: int = 0

    def __post_init__(self) -> None:
        if self.ip_summed == IpSummed.PARTIAL:
            if self.csum_start is None or self.csum_offset is None:
                raise ValueError("CHECKSUM_PARTIAL needs csum_start and csum_offset")
            if self.csum_start + self.csum_offset + 2 > len(self.data):
                raise ValueError("the pending checksum field lies beyond the packet")

    @property
    def pending_field(self) -> int | None:
        """Offset in ``data`` of the checksum field still to be filled, if any."""
        if self.ip_summed != IpSummed.PARTIAL:
            return None
        assert self.csum_start is not None and self.csum_offset is not None
        return self.csum_start + self.csum_offset

    def field(self, offset: int) -> int:
        """The 16-bit value at ``offset``."""
        return int.from_bytes(self.data[offset : offset + 2], "big")

    def with_field(self, offset: int, value: int) -> Skb:
        """A copy with the 16-bit value at ``offset`` replaced."""
        data = self.data[:offset] + value.to_bytes(2, "big") + self.data[offset + 2 :]
        return replace(self, data=data)


def fill_pending(skb: Skb) -> Skb:
    """Finish the pending checksum: ``skb_checksum_help`` (software) or the NIC (hardware).

    Sums ``data[csum_start:]`` with the seed in place, writes ``csum_fold`` of it (0
    becomes CSUM_MANGLED_0) and returns the packet as CHECKSUM_NONE. A packet with
    nothing pending is returned unchanged.
    """
    field = skb.pending_field
    if field is None:
        return skb
    assert skb.csum_start is not None
    value = 0xFFFF ^ ones_sum(skb.data[skb.csum_start :])
    filled = skb.with_field(field, value or CSUM_MANGLED_0)
    return replace(filled, ip_summed=IpSummed.NONE, csum_start=None, csum_offset=None)
