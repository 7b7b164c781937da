"""What the commands share: the usage error and option parsers."""

from __future__ import annotations

import argparse

__all__ = ["UsageError", "ports"]


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
