"""What the commands share: the usage error and option parsers."""

from __future__ import annotations

import argparse

__all__ = ["UsageError", "add_port_arguments", "ports"]


class UsageError(Exception):
    """A bad argument or unreadable input: exit 2 with this one-line reason."""


def ports(text: str) -> frozenset[int]:
    """A comma-separated list of UDP ports (an ``argparse`` type)."""
    try:
        found = frozenset(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated port list: {text!r}") from None
    if any(not 0 < p < 65536 for p in found):
        raise argparse.ArgumentTypeError(f"ports must be 1-65535: {text!r}")
    return found


def add_port_arguments(p: argparse.ArgumentParser) -> None:
    """The options that say which UDP ports carry tunnels (analyze, explain)."""
    p.add_argument(
        "--vxlan-ports",
        type=ports,
        default=frozenset({4789, 8472}),
        metavar="PORTS",
        help="UDP ports carrying VXLAN (default 4789,8472)",
    )
    p.add_argument(
        "--geneve-ports",
        type=ports,
        default=frozenset({6081}),
        metavar="PORTS",
        help="UDP ports carrying Geneve (default 6081)",
    )
    p.add_argument(
        "--ipv6-zero-ports",
        type=ports,
        default=frozenset(),
        metavar="PORTS",
        help="UDP ports allowed a zero checksum over IPv6 (RFC 6935/6936; default none)",
    )
