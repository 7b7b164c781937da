"""The text of ``conntrack -L``: which flows NAT rewrote, and from what.

A conntrack entry holds the original tuple (as the first packet had it before NAT) and
the reply tuple (what replies carry, i.e. the NATed tuple reversed). For a source NAT
the packet on the wire has the reply tuple's destination as its source, so an entry
says, for a packet seen after NAT, what its source address and port were before.

Lines look like (``conntrack -L`` from conntrack-tools)::

    udp      17 28 src=198.18.0.1 dst=198.18.0.2 sport=50109 dport=8472 [UNREPLIED] \
src=198.18.0.2 dst=198.18.0.1 sport=8472 dport=35809 mark=0 use=1

or, in ``/proc/net/nf_conntrack`` (and ``conntrack -L -o extended``), with the address
family first: ``ipv4     2 udp      17 29 src=... dst=... sport=... dport=... ...``.

Bad input. Lines without two address tuples (summaries, blanks, other text) are not
entries and are passed over; a line with two tuples and a malformed value (an address,
a port, a mark) is skipped and named in :attr:`Conntrack.problems` (``line 7: bad
address src=999.1.1.1, skipped``), as is a text of which no line is an entry (``0 of
120 lines parsed``). A file is read line by line; a line over :data:`MAX_LINE` bytes
raises :class:`ConntrackError` with its number (no conntrack line is that long: such a
file is not conntrack text, and reading on could take all memory).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import VxsumError

__all__ = ["MAX_LINE", "Conntrack", "ConntrackEntry", "ConntrackError", "Tuple"]

_PAIRS = re.compile(r"\b(src|dst|sport|dport|mark)=(\S+)")
_FAMILIES = frozenset({"ipv4", "ipv6"})
MAX_LINE = 64 << 10
"""Longest line read (64 KiB); a longer one is an error."""
_LISTED = 10  # bad lines named one by one in Conntrack.problems; the others are counted


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
    """A parsed ``conntrack -L`` table, and what was skipped reading it."""

    entries: tuple[ConntrackEntry, ...]
    problems: tuple[str, ...] = ()
    """Warnings, one line each: bad lines skipped (the first few named, as in
    ``line 7: bad address src=999.1.1.1, skipped``; the others counted) and
    ``0 of N lines parsed`` when no line was an entry."""

    @classmethod
    def parse(cls, text: str) -> Conntrack:
        """Read ``conntrack -L`` (or ``/proc/net/nf_conntrack``) text (see the module
        docstring for bad lines; a line over :data:`MAX_LINE` raises ConntrackError)."""
        return cls._read(enumerate(text.splitlines(), 1), "")

    @classmethod
    def from_file(cls, path: str | Path) -> Conntrack:
        """Read a file (a named pipe too) line by line, each line at most :data:`MAX_LINE`
        bytes; raises ``OSError`` if it cannot be opened or read."""
        with open(path, "rb") as f:
            return cls._read(_lines(f, f"{path}: "), f"{path}: ")

    @classmethod
    def _read(cls, lines: Iterable[tuple[int, str]], where: str) -> Conntrack:
        entries: list[ConntrackEntry] = []
        problems: list[str] = []
        seen = bad = 0
        binary = False
        for number, line in lines:
            if len(line) > MAX_LINE:
                raise _too_long(where, number)
            if not line.strip():
                continue
            seen += 1
            binary = binary or "\0" in line
            fields = _PAIRS.findall(line)
            keys = [k for k, _ in fields]
            if keys.count("src") < 2 or keys.count("sport") < 2:
                continue  # not an entry: a summary line, or other text
            try:
                entries.append(_entry(_protocol(line), fields))
            except ValueError as err:
                bad += 1
                if bad <= _LISTED:
                    problems.append(f"line {number}: {err}, skipped")
        if bad > _LISTED:
            problems.append(f"{bad - _LISTED} more bad lines skipped")
        if seen and not entries:
            hint = " (binary data: not conntrack -L text)" if binary else ""
            problems.append(f"0 of {seen} lines parsed{hint}")
        return cls(tuple(entries), tuple(problems))

    def before_nat(self, proto: str, seen: Tuple) -> Tuple | None:
        """The original tuple of a packet seen on the wire as ``seen``, if NAT rewrote it."""
        for entry in self.entries:
            if entry.proto == proto and entry.after_nat == seen and entry.source_nat:
                return entry.original
        return None


def _lines(f: BinaryIO, where: str) -> Iterator[tuple[int, str]]:
    """(number, text) of each line of a binary file, read with at most MAX_LINE + 1
    bytes at a time so that a line without end cannot fill memory."""
    number = 0
    while line := f.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            raise _too_long(where, number)
        yield number, line.decode("utf-8", errors="replace").rstrip("\r\n")


def _too_long(where: str, number: int) -> ConntrackError:
    return ConntrackError(f"{where}line {number}: over {MAX_LINE} bytes: not conntrack -L text")


def _protocol(line: str) -> str:
    """The protocol name: the first word, or the third after an address family."""
    words = line.split()
    return words[2] if words[0] in _FAMILIES and len(words) > 2 else words[0]


def _entry(proto: str, fields: list[tuple[str, str]]) -> ConntrackEntry:
    """The entry of one line's key=value pairs; ValueError names the bad value."""
    tuples: list[dict[str, str]] = [{}, {}]
    mark = None
    which = 0
    for key, value in fields:
        if key == "mark":
            try:
                mark = int(value, 0)
            except ValueError:
                raise ValueError(f"bad mark mark={value}") from None
            continue
        if key in tuples[which] and which == 0:
            which = 1
        tuples[which].setdefault(key, value)
    orig, reply = (
        Tuple(_address(t, "src"), _address(t, "dst"), _port(t, "sport"), _port(t, "dport"))
        for t in tuples
    )
    return ConntrackEntry(proto, orig, reply, mark)


def _address(pairs: dict[str, str], key: str) -> bytes:
    if key not in pairs:
        raise ValueError(f"no {key}= address")
    try:
        return ipaddress.ip_address(pairs[key]).packed
    except ValueError:
        raise ValueError(f"bad address {key}={pairs[key]}") from None


def _port(pairs: dict[str, str], key: str) -> int:
    if key not in pairs:
        raise ValueError(f"no {key}= port")
    value = pairs[key]
    if not (value.isascii() and value.isdigit()) or int(value) > 65535:
        raise ValueError(f"bad port {key}={value}")
    return int(value)
