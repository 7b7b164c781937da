"""Parser configuration: which UDP ports are tunnels, and the nesting bounds."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CONFIG", "MAX_DEPTH_LIMIT", "ParseConfig"]

MAX_DEPTH_LIMIT = 32


@dataclass(frozen=True, slots=True)
class ParseConfig:
    """What the parser treats as a tunnel, and its bounds.

    ``ipv6_zero_checksum_ports`` are UDP ports on which a zero checksum over IPv6 is
    allowed (RFC 6935, RFC 6936: tunnel protocols may omit it). It is empty by
    default, so a zero UDP checksum over IPv6 is ``illegal-zero`` everywhere, as
    RFC 8200 section 8.1 says and as tshark judges by default; pass e.g.
    ``frozenset({4789, 8472, 6081})`` for VXLAN/Geneve underlays that use the
    exemption.
    """

    vxlan_ports: frozenset[int] = frozenset({4789, 8472})
    vxlan_gpe_ports: frozenset[int] = frozenset({4790})
    geneve_ports: frozenset[int] = frozenset({6081})
    teredo_ports: frozenset[int] = frozenset({3544})
    mpls_ports: frozenset[int] = frozenset({6635})
    """MPLS in UDP (RFC 7510)."""
    l2tp_ports: frozenset[int] = frozenset({1701})
    """L2TPv2 data messages carrying PPP (RFC 2661)."""
    ipv6_zero_checksum_ports: frozenset[int] = frozenset()
    max_depth: int = 8
    """Most IP headers parsed in one frame (tunnels nest one inside another)."""
    max_tags: int = 8
    """Most VLAN tags (802.1Q/802.1ad) and most MPLS labels in one stack."""
    strict: bool = False
    """Raise :class:`ParseError` for a cut or malformed header instead of stopping."""

    def __post_init__(self) -> None:
        # The walk recurses once per tunnel: keep it far from Python's recursion limit.
        if not 1 <= self.max_depth <= MAX_DEPTH_LIMIT:
            raise ValueError(f"max_depth must be in 1..{MAX_DEPTH_LIMIT}, got {self.max_depth}")
        if not 1 <= self.max_tags <= 64:
            raise ValueError(f"max_tags must be in 1..64, got {self.max_tags}")


DEFAULT_CONFIG = ParseConfig()
