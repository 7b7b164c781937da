"""Parser configuration: which UDP ports are tunnels, and the nesting bounds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..core.buffer import as_int

__all__ = ["DEFAULT_CONFIG", "MAX_DEPTH_LIMIT", "TUNNEL_PORT_FIELDS", "ParseConfig"]

MAX_DEPTH_LIMIT = 32
TUNNEL_PORT_FIELDS = (
    "vxlan_ports",
    "vxlan_gpe_ports",
    "geneve_ports",
    "teredo_ports",
    "mpls_ports",
    "l2tp_ports",
    "gtpu_ports",
)
"""The fields of :class:`ParseConfig` that name UDP ports carrying a tunnel."""
_PORT_FIELDS = (*TUNNEL_PORT_FIELDS, "ipv6_zero_checksum_ports")


@dataclass(frozen=True, slots=True)
class ParseConfig:
    """What the parser treats as a tunnel, and its bounds.

    ``ipv6_zero_checksum_ports`` are UDP ports on which a zero checksum over IPv6 is
    allowed (RFC 6935, RFC 6936: tunnel protocols may omit it). It is empty by
    default, so a zero UDP checksum over IPv6 is ``illegal-zero`` everywhere, as
    RFC 8200 section 8.1 says and as tshark judges by default; pass e.g.
    ``frozenset({4789, 8472, 6081})`` for VXLAN/Geneve underlays that use the
    exemption.

    Port sets may be given as any iterable of ints in 1..65535 and are stored as
    frozensets; a wrong type is a ``TypeError``, a value out of range a ``ValueError``.
    """

    vxlan_ports: frozenset[int] = frozenset({4789, 8472})
    vxlan_gpe_ports: frozenset[int] = frozenset({4790})
    geneve_ports: frozenset[int] = frozenset({6081})
    teredo_ports: frozenset[int] = frozenset({3544})
    mpls_ports: frozenset[int] = frozenset({6635})
    """MPLS in UDP (RFC 7510)."""
    l2tp_ports: frozenset[int] = frozenset({1701})
    """L2TPv2 data messages carrying PPP (RFC 2661)."""
    gtpu_ports: frozenset[int] = frozenset({2152})
    """GTP-U (3GPP TS 29.281), whose G-PDUs carry an IP packet."""
    ipv6_zero_checksum_ports: frozenset[int] = frozenset()
    max_depth: int = 8
    """Most IP headers parsed in one frame (tunnels nest one inside another)."""
    max_tags: int = 8
    """Most VLAN tags (802.1Q/802.1ad) and most MPLS labels in one stack."""
    strict: bool = False
    """Raise :class:`ParseError` for a cut or malformed header instead of stopping."""

    def __post_init__(self) -> None:
        for name in _PORT_FIELDS:
            object.__setattr__(self, name, _ports(name, getattr(self, name)))
        for name in ("max_depth", "max_tags"):
            if type(getattr(self, name)) is not int:
                object.__setattr__(self, name, as_int(name, getattr(self, name)))
        if not isinstance(self.strict, bool):
            raise TypeError(f"strict must be a bool, not {type(self.strict).__name__}")
        # The walk recurses once per tunnel: keep it far from Python's recursion limit.
        if not 1 <= self.max_depth <= MAX_DEPTH_LIMIT:
            raise ValueError(f"max_depth must be in 1..{MAX_DEPTH_LIMIT}, got {self.max_depth}")
        if not 1 <= self.max_tags <= 64:
            raise ValueError(f"max_tags must be in 1..64, got {self.max_tags}")


def _ports(name: str, ports: object) -> frozenset[int]:
    """``ports`` as a frozenset of UDP port numbers (1..65535), or the reason it is not one."""
    if isinstance(ports, str | bytes) or not isinstance(ports, Iterable):
        raise TypeError(f"{name} must be a set of port numbers, not {type(ports).__name__}")
    found = frozenset(as_int(f"each of {name}", p) for p in ports)
    bad = sorted(p for p in found if not 1 <= p <= 0xFFFF)
    if bad:
        raise ValueError(f"{name} must hold ports in 1..65535, got {bad[0]}")
    return found


DEFAULT_CONFIG = ParseConfig()
