"""What the commands share: the usage error and option parsers."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

__all__ = ["Parser", "UsageError", "add_port_arguments", "one_or_more", "ports", "positive"]


class UsageError(Exception):
    """A bad argument or unreadable input: exit 2 with this one-line reason, and ``hint``
    (what the user can do about it) as a second line when there is one."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of vxsum:
    'vxsum repro: argument --attempts: must be 1 or more: '0' (see vxsum repro --help)'."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def positive(text: str) -> int:
    """A whole number, 1 or more (an ``argparse`` type): a count that 0 or -1 would
    silently bend."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return n


def one_or_more(what: str, valid: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """An ``argparse`` type: a comma-separated list of ``valid`` values (a ``what``:
    'label'), each kept once, in the order given; anything else is an error that lists
    the valid values."""

    def parse(text: str) -> tuple[str, ...]:
        given = [v.strip() for v in text.split(",") if v.strip()]
        if not given:  # '' would silently select nothing
            raise argparse.ArgumentTypeError(f"give at least one {what}: {text!r}")
        for v in given:
            if v not in valid:
                raise argparse.ArgumentTypeError(
                    f"unknown {what} {v!r} ({what}s: {', '.join(valid)})"
                )
        return tuple(dict.fromkeys(given))

    return parse


def ports(text: str) -> frozenset[int]:
    """A comma-separated list of UDP ports (an ``argparse`` type)."""
    try:
        found = frozenset(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated port list: {text!r}") from None
    if not found:  # '' would silently switch the protocol off
        raise argparse.ArgumentTypeError(f"give at least one port: {text!r}")
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
