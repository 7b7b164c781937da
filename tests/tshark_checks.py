"""Every checksum tshark verifies in a capture, set against those vxsum verifies (issue 17).

tshark is run with the shared corpus's preferences (``../shared/corpus/build_expected.sh``:
IPv4, UDP and TCP checksums validated, no reassembly, UDP 8472 as VXLAN) and asked for
every ``*.checksum.status`` field it has, of any protocol (about fifty: ip, udp, tcp, icmp,
gre, icmp.ext, cdp, eigrp, vrrp, isis.*, pim, ...). A field it *verified* has status 1
(good) or 0 (bad); unverified, not present and illegal are not counted. vxsum's verified
fields are those whose status is good or bad, named by tshark's protocol (``ipv4`` is
``ip``). Per frame and protocol, the fields are matched in header order; ``covered`` is how
many of tshark's verified fields vxsum verified too, and a disagreement is a field the two
call differently.
"""

from __future__ import annotations

import functools
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from corpus import read_records

import vxsum

OPTIONS = [
    "-n",
    *("-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"),
    *("-o", "tcp.check_checksum:TRUE", "-o", "ip.defragment:FALSE"),
    *("-o", "ipv6.defragment:FALSE", "-d", "udp.port==8472,vxlan"),
]
PROTOCOL = {"ipv4": "ip", "udplite": "udp", "icmpext": "icmp.ext"}
"""vxsum's layer names that tshark calls otherwise (UDP-Lite shares UDP's fields)."""
_SUFFIXES = (".checksum.status", ".cksum.status")

Verdicts = dict[int, dict[str, list[str]]]
"""frame number -> protocol -> 'good' or 'bad' per verified field, in header order."""


@functools.cache
def status_fields() -> tuple[str, ...]:
    """Every checksum status field this tshark knows."""
    listing = subprocess.run(["tshark", "-G", "fields"], capture_output=True, text=True)
    names = (line.split("\t")[2] for line in listing.stdout.splitlines() if line[:2] == "F\t")
    return tuple(sorted(n for n in names if n.endswith(_SUFFIXES)))


def _protocol(name: str) -> str:
    for suffix in _SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def tshark_verdicts(path: Path) -> Verdicts:
    fields = status_fields()
    command = ["tshark", *OPTIONS, "-r", str(path), "-T", "fields", "-E", "occurrence=a"]
    command += ["-E", "aggregator=,", "-e", "frame.number"]
    for name in fields:
        command += ["-e", name]
    out = subprocess.run(command, capture_output=True, text=True).stdout
    found: Verdicts = defaultdict(lambda: defaultdict(list))
    for line in out.splitlines():
        number, *values = line.split("\t")
        for name, value in zip(fields, values, strict=True):
            for v in value.split(","):
                if v in ("0", "1"):
                    found[int(number)][_protocol(name)].append("good" if v == "1" else "bad")
    return found


def vxsum_verdicts(path: Path) -> Verdicts:
    found: Verdicts = defaultdict(lambda: defaultdict(list))
    for rec in read_records(path):
        try:
            frame = vxsum.parse(rec.data, rec.linktype, wire_length=rec.wire_length)
        except vxsum.VxsumError:
            continue  # an unsupported link type: nothing verified
        for c in frame.checksums:
            if str(c.status) in ("good", "bad"):
                found[rec.number][PROTOCOL.get(c.layer, c.layer)].append(str(c.status))
    return found


@dataclass
class Coverage:
    verified: Counter[str] = field(default_factory=Counter)
    """tshark's verified fields by protocol."""
    covered: Counter[str] = field(default_factory=Counter)
    """Those that vxsum verified too, by protocol."""
    disagreements: list[tuple[str, int, str]] = field(default_factory=list)
    """(file, frame, protocol) where the two call a field differently."""

    @property
    def ratio(self) -> float:
        return sum(self.covered.values()) / max(1, sum(self.verified.values()))

    def add(self, name: str, theirs: Verdicts, mine: Verdicts) -> None:
        for number, protocols in theirs.items():
            for protocol, t in protocols.items():
                v = mine.get(number, {}).get(protocol, [])
                self.verified[protocol] += len(t)
                self.covered[protocol] += min(len(t), len(v))
                short, long_ = (t, v) if len(t) <= len(v) else (v, t)
                if (len(t) == len(v) and t != v) or Counter(short) - Counter(long_):
                    self.disagreements.append((name, number, protocol))


def measure(paths: list[Path], names: list[str]) -> Coverage:
    total = Coverage()
    for path, name in zip(paths, names, strict=True):
        total.add(name, tshark_verdicts(path), vxsum_verdicts(path))
    return total
