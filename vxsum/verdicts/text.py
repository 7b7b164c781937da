"""The evidence texts of verdicts, built from numbers.

One function per mechanism. The per-frame classifier (:mod:`vxsum.verdicts.verdict`) and the
batch path (:mod:`vxsum.frames.layouts`, :mod:`vxsum.report.rows`) both call these, so a field gets
the same words whichever path judged it.
"""

from __future__ import annotations

__all__ = [
    "CORRUPT",
    "NO_CHECKSUM",
    "ZERO_MANGLED",
    "ip_zero",
    "lco_note",
    "lco_pending",
    "nat_stale",
    "offload_seed",
    "stale_confirmed",
    "stale_contradicted",
    "stale_unconfirmed",
    "tso_seed",
]

NO_CHECKSUM = "0: no checksum (UDP over IPv4, RFC 768)"
CORRUPT = "wrong, and no known mechanism explains it"
ZERO_MANGLED = (
    "0xFFFF where the checksum is wrong: a zero 'no checksum' field rewritten by the "
    "NAT of a kernel before 'never update the UDP checksum when it's 0' "
    "(5.7, 5.6.13, 5.4.41, 4.19.123, 4.14.181); receivers drop it"
)


def offload_seed(pseudo_sum: int, expected: int) -> str:
    """The field holds its pseudo-header sum: a sender-side capture before the NIC's fill."""
    return (
        f"the pseudo-header seed 0x{pseudo_sum:04x} (CHECKSUM_PARTIAL): captured on the "
        f"sender before the NIC filled in 0x{expected:04x}"
    )


def ip_zero(expected: int) -> str:
    """An IPv4 header checksum of 0, left for the NIC by header checksum offload."""
    return (
        f"0 in an IPv4 header checksum: left for the NIC by header checksum offload "
        f"(not Linux; e.g. Windows with TSO), captured before it wrote 0x{expected:04x}"
    )


def tso_seed(stored: int) -> str:
    """A TCP field holding the seed without the length (segmentation offload)."""
    return (
        f"the pseudo-header seed without the length, 0x{stored:04x}, that a sender leaves "
        "for segmentation offload (TSO/GSO): captured before the NIC cut and filled it"
    )


def lco_note(inner_layer: str, inner_stored: int, inner_expected: int) -> str:
    """' once the inner tcp field 0x.. becomes 0x..': the pending inner field's fill."""
    return (
        f" once the inner {inner_layer} field 0x{inner_stored:04x} becomes 0x{inner_expected:04x}"
    )


def lco_pending(note: str) -> str:
    """An outer UDP checksum that local checksum offload made, right after the inner fill."""
    return f"local checksum offload: right{note} (the NIC fills the inner one)"


def nat_stale(old_port: int, port: int, note: str) -> str:
    """A tunnel's outer checksum right for an earlier source port: one packet's evidence."""
    return (
        f"consistent with a source-port rewrite {old_port} -> {port} that left the checksum "
        f"as it was: right for port {old_port}{note}; receivers drop it (a second MASQUERADE "
        "of the outer packet: kube-proxy before PR 92035 with VXLAN udpcsum on)"
    )


def stale_confirmed(agree: int, old_port: int, detail: str) -> str:
    """``detail`` prefixed with the flow evidence that confirms it."""
    return (
        f"confirmed by {agree} packets of its outer flow, which all imply pre-NAT port "
        f"{old_port}; {detail}"
    )


def stale_unconfirmed(right: int, detail: str) -> str:
    """``detail`` prefixed with what speaks against it: right checksums in the same flow."""
    packets = "packet" if right == 1 else "packets"
    return (
        f"not confirmed: {right} other {packets} of its outer flow carry a right checksum, "
        "which a source-port rewrite of the whole flow would have left stale as well "
        f"(unless they had no pending inner checksum); {detail}"
    )


def stale_contradicted(old_port: int, others: list[int]) -> str:
    """A ``nat-stale`` candidate whose outer flow implies other pre-NAT ports: corrupt."""
    listed = ", ".join(str(p) for p in others)
    return (
        f"not a stale checksum: other packets of its outer flow imply pre-NAT ports "
        f"{listed}, this one {old_port}; no known mechanism explains it"
    )
