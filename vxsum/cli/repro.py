"""``vxsum repro``: write the packets the kernel model predicts for a cluster, as a pcap.

The pcap (and the ``--conntrack`` text) appear only when written whole
(:mod:`vxsum.cli.output`); ``-`` is standard output.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from contextlib import ExitStack
from typing import TYPE_CHECKING

from .common import UsageError, positive
from .output import destination, writing

if TYPE_CHECKING:
    from ..kernel.scenario import ClusterOptions

__all__ = ["TAPS", "add_arguments", "run"]

TAPS = ("inner", "prenat", "sender", "wire")
""":data:`vxsum.kernel.repro.TAPS`, without importing the model (a test keeps them equal)."""


def _switch(text: str) -> bool:
    return {"on": True, "off": False}[text]


def add_arguments(r: argparse.ArgumentParser) -> None:
    """The options of ``vxsum repro``."""
    r.add_argument(
        "--cni",
        choices=["flannel", "calico"],
        default="flannel",
        help="flannel (flannel.1, port 8472) or calico (vxlan.calico, port 4789); default flannel",
    )
    r.add_argument(
        "--kernel",
        default="5.4.40",
        metavar="VERSION",
        help="the nodes' Linux version, e.g. 5.4.40 (before the NAT fix) or 6.18; default 5.4.40",
    )
    r.add_argument(
        "--nat-fix",
        choices=["yes", "no"],
        help="whether the kernel has the NAT fix (for a distribution kernel such as "
        "4.18.0-305.el8, whose version cannot say); default: from the version",
    )
    r.add_argument(
        "--kube-proxy",
        default="1.18.5",
        metavar="VERSION",
        help="1.18.5 is before PR 92035 (unmark before masquerade), 1.18.6 after; default 1.18.5",
    )
    r.add_argument(
        "--udpcsum",
        choices=["on", "off", "default"],
        default="default",
        help="the VXLAN device's outer UDP checksum; default: the kernel's default",
    )
    r.add_argument(
        "--vxlan-tx",
        choices=["on", "off", "default"],
        default="default",
        help="tx-checksum-ip-generic on the VXLAN device",
    )
    r.add_argument(
        "--underlay-tx",
        choices=["on", "off"],
        default="on",
        help="checksum offload on the underlay NIC (off: filled in software, before the "
        "sender's tap); default on",
    )
    r.add_argument("--veth", action="store_true", help="the underlay is a veth pair")
    r.add_argument(
        "--txrehash",
        choices=["on", "off"],
        default="on",
        help="net.core.txrehash: a retransmitted SYN gets a new outer source port; default on",
    )
    r.add_argument(
        "--proto", choices=["tcp", "udp"], default="tcp", help="TCP connect or UDP queries"
    )
    r.add_argument(
        "--tap",
        choices=TAPS,
        default="wire",
        help="where the packets are captured: inner (the pod's packet, raw IP), prenat (the "
        "outer frame before its NAT), sender (node A's underlay, before the NIC), wire "
        "(arriving at node B); default wire",
    )
    r.add_argument(
        "--attempts", type=positive, default=8, help="TCP SYNs or UDP queries (default 8)"
    )
    r.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the kernel's random choices (ports, flow hashes); default 0",
    )
    r.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the pcap file to write; - is standard output",
    )
    r.add_argument(
        "--conntrack",
        metavar="FILE",
        help="also write the conntrack -L lines node A would show for the outer NAT "
        "bindings (the context that confirms a stale outer checksum: analyze --conntrack)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum repro`` with parsed arguments."""
    from ..kernel.repro import reproduce  # the kernel model: only for this command
    from ..kernel.scenario import Cluster
    from ..kernel.versions import DistributionKernelWarning, Kernel

    options: ClusterOptions = {
        "underlay_tx_csum": _switch(args.underlay_tx),
        "underlay_is_veth": args.veth,
        "txrehash": _switch(args.txrehash),
    }
    if args.udpcsum != "default":
        options["udp_csum"] = _switch(args.udpcsum)
    if args.vxlan_tx != "default":
        options["vxlan_tx_csum"] = _switch(args.vxlan_tx)
    nat_fix = None if args.nat_fix is None else args.nat_fix == "yes"
    try:
        with warnings.catch_warnings():  # said below, as a note
            warnings.simplefilter("ignore", DistributionKernelWarning)
            kernel = Kernel.parse(args.kernel, nat_fix=nat_fix)
        maker = Cluster.calico if args.cni == "calico" else Cluster.flannel
        cluster = maker(kernel, args.kube_proxy, **options)
    except ValueError as err:
        raise UsageError(str(err)) from err
    if kernel.nat_fix_uncertain:
        print(
            f"vxsum repro: note: {kernel.uncertainty()}; say --nat-fix yes or no", file=sys.stderr
        )
    if args.conntrack is not None and _same(args.output, args.conntrack):
        raise UsageError(f"-o and --conntrack name the same file: {args.conntrack}")
    linktype, frames, scenario = reproduce(
        cluster, args.proto, args.tap, attempts=args.attempts, seed=args.seed
    )
    with ExitStack() as outputs:  # both files, or neither
        path = outputs.enter_context(destination(args.output))
        table = outputs.enter_context(destination(args.conntrack)) if args.conntrack else None
        with writing(_name(args.output)):
            count = _write_pcap(path, frames, linktype)
        if args.conntrack:
            lines = scenario.conntrack()
            with writing(_name(args.conntrack)):
                if table is None:
                    sys.stdout.write(lines)
                    sys.stdout.flush()
                else:
                    with open(table, "w") as f:
                        f.write(lines)
    print(f"wrote {count} packets ({args.tap} tap) to {_name(args.output)}", file=sys.stderr)
    if args.conntrack:
        print(
            f"wrote {len(lines.splitlines())} conntrack lines to {_name(args.conntrack)}",
            file=sys.stderr,
        )
    return 0


def _write_pcap(path: str | None, frames: list[tuple[float, bytes]], linktype: int) -> int:
    """:func:`vxsum.capture.pcap.write_pcap` to ``path``, or (None) to standard output."""
    from ..capture.pcap import write_pcap  # with the kernel model: only for this command

    if path is not None:
        return write_pcap(path, frames, linktype)
    with tempfile.TemporaryDirectory(prefix="vxsum-") as tmp:  # the writer takes a path
        spool = os.path.join(tmp, "repro.pcap")
        count = write_pcap(spool, frames, linktype)
        with open(spool, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
    sys.stdout.flush()
    return count


def _name(output: str) -> str:
    return "standard output" if output == "-" else output


def _same(a: str, b: str) -> bool:
    """Whether two output names are the same file (or both standard output)."""
    return a == b or os.path.realpath(a) == os.path.realpath(b)
