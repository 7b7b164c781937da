"""``vxsum demo`` (``make demo``): ``vxsum analyze`` on captures shipped with the package.

The captures in ``vxsum/data`` were written by ``vxsum repro`` (the kernel model; the
arguments are in :data:`CAPTURES`, and a test checks that repro still writes the same
bytes): the seed bug's two failure modes beside a harmless sender-side capture.
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import as_file, files

from ..capture.reader import iter_records
from ..frames.frame import parse
from ..verdicts.labels import Label
from ..verdicts.verdict import classify_stream
from . import analyze
from .output import writing

__all__ = ["CAPTURES", "add_arguments", "main", "run"]

CAPTURES = [
    (
        "flannel-5.4.40-noudpcsum-wire.pcap",
        "Kernel 5.4.40 (before the NAT fix), kube-proxy 1.18.5, flannel.1 noudpcsum; "
        "TCP connect to a service, as it arrives at the other node",
        ["--kernel", "5.4.40", "--kube-proxy", "1.18.5", "--udpcsum", "off", "--txrehash", "off"],
    ),
    (
        "flannel-6.18-udpcsum-wire.pcap",
        "Kernel 6.18 (fixed), kube-proxy 1.18.5, udpcsum on (today's default), NIC offload off, "
        "txrehash off: every retransmitted SYN leaves in the same, masqueraded outer flow",
        [
            "--kernel",
            "6.18",
            "--kube-proxy",
            "1.18.5",
            "--udpcsum",
            "on",
            "--underlay-tx",
            "off",
            "--txrehash",
            "off",
        ],
    ),
    (
        "flannel-6.18-pr92035-sender.pcap",
        "Kernel 6.18, kube-proxy 1.18.6 (PR 92035); tcpdump on the sender, before the NIC",
        [
            "--kernel",
            "6.18",
            "--kube-proxy",
            "1.18.6",
            "--udpcsum",
            "on",
            "--tap",
            "sender",
            "--attempts",
            "1",
        ],
    ),
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``vxsum demo`` has no options."""


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum demo``."""
    with writing("standard output"):
        main()
    return 0


def main() -> None:
    """``vxsum analyze`` on each shipped capture, then its first frame field by field."""
    data = files("vxsum") / "data"
    for name, title, _ in CAPTURES:
        print(f"\n=== {title}\n$ vxsum analyze {name}")
        with as_file(data / name) as path:
            sys.stdout.flush()
            analyze.main([str(path)])
            frames = [parse(r.data, r.linktype) for r in iter_records(path)]
        verdicts, _ = classify_stream(frames)  # with what the other packets say
        print("first frame, field by field:")
        for v in verdicts[0]:
            due = "-" if v.expected is None else f"0x{v.expected:04x}"
            extra = "" if v.verdict in (Label.GOOD, Label.NO_CHECKSUM) else f": {v.detail}"
            print(
                f"  depth {v.depth} {v.layer:<5} 0x{v.value:04x} (should be {due}) "
                f"{v.verdict}{extra}"
            )
