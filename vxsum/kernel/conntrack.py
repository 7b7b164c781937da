"""The text of ``conntrack -L``: which flows NAT rewrote, and from what.

A conntrack entry holds the original tuple (as the first packet had it before NAT) and
the reply tuple (what replies carry, i.e. the NATed tuple reversed). For a source NAT
the packet on the wire has the reply tuple's destination as its source, so an entry
says, for a packet seen after NAT, what its source address and port were before.

Lines look like (``conntrack -L`` from conntrack-tools)::

    udp      17 28 src=198.18.0.1 dst=198.18.0.2 sport=50109 dport=8472 [UNREPLIED] \
src=198.18.0.2 dst=198.18.0.1 sport=8472 dport=35809 mark=0 use=1
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import VxsumError

__all__ = ["Conntrack", "ConntrackEntry", "ConntrackError", "Tuple"]

_PAIRS = re.compile(r"\b(src|dst|sport|dport|mark)=(\S+)")


class ConntrackError(VxsumError):
    """Text that is not ``conntrack -L`` output; names the line."""


@dataclass(frozen=True, slots=True)
class Tuple:
    """One direction of a flow: addresses (packed) and ports."""

    src: bytes
    dst: bytes
    sport: int
    dport: int


@dataclass(frozen=True, slots=True)
class ConntrackEntry:
    """One connection: protocol, original and reply tuples, mark."""

    proto: str
    original: Tuple
    reply: Tuple
    mark: int | None = None

    @property
    def after_nat(self) -> Tuple:
        """The original direction's tuple as packets carry it after NAT."""
        r = self.reply
        return Tuple(r.dst, r.src, r.dport, r.sport)

    @property
    def source_nat(self) -> bool:
        """True if NAT rewrote the source address or port."""
        o, a = self.original, self.after_nat
        return (o.src, o.sport) != (a.src, a.sport)


@dataclass(frozen=True, slots=True)
class Conntrack:
    """A parsed ``conntrack -L`` table."""

    entries: tuple[ConntrackEntry, ...]

    @classmethod
    def parse(cls, text: str) -> Conntrack:
        """Read the text; lines without two address tuples (summaries, blanks) are skipped,
        a line with one malformed value raises :class:`ConntrackError` naming it."""
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            fields = _PAIRS.findall(line)
            keys = [k for k, _ in fields]
            if keys.count("src") < 2 or keys.count("sport") < 2:
                continue
            try:
                entries.append(_entry(line.split()[0], fields))
            except ValueError as err:
                raise ConntrackError(f"conntrack line {number}: {err}: {line.strip()}") from err
        return cls(tuple(entries))

    @classmethod
    def from_file(cls, path: str | Path) -> Conntrack:
        return cls.parse(Path(path).read_text(encoding="utf-8", errors="replace"))

    def before_nat(self, proto: str, seen: Tuple) -> Tuple | None:
        """The original tuple of a packet seen on the wire as ``seen``, if NAT rewrote it."""
        for entry in self.entries:
            if entry.proto == proto and entry.after_nat == seen and entry.source_nat:
                return entry.original
        return None


def _entry(proto: str, fields: list[tuple[str, str]]) -> ConntrackEntry:
    tuples: list[dict[str, str]] = [{}, {}]
    mark = None
    which = 0
    for key, value in fields:
        if key == "mark":
            mark = int(value, 0)
            continue
        if key in tuples[which] and which == 0:
            which = 1
        tuples[which].setdefault(key, value)
    orig, reply = (
        Tuple(
            ipaddress.ip_address(t["src"]).packed,
            ipaddress.ip_address(t["dst"]).packed,
            int(t["sport"]),
            int(t["dport"]),
        )
        for t in tuples
    )
    return ConntrackEntry(proto, orig, reply, mark)
