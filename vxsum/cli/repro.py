"""``vxsum repro``: write the packets the kernel model predicts for a cluster, as a pcap."""

from __future__ import annotations

import argparse
import sys

from .common import UsageError

__all__ = ["TAPS", "add_arguments", "run"]

TAPS = ("inner", "prenat", "sender", "wire")
""":data:`vxsum.kernel.repro.TAPS`, without importing the model (a test keeps them equal)."""


def _switch(text: str) -> bool:
    return {"on": True, "off": False}[text]


def add_arguments(r: argparse.ArgumentParser) -> None:
    """The options of ``vxsum repro``."""
    r.add_argument("--cni", choices=["flannel", "calico"], default="flannel")
    r.add_argument("--kernel", default="5.4.40")
    r.add_argument("--kube-proxy", default="1.18.5")
    r.add_argument("--udpcsum", choices=["on", "off", "default"], default="default")
    r.add_argument(
        "--vxlan-tx",
        choices=["on", "off", "default"],
        default="default",
        help="tx-checksum-ip-generic on the VXLAN device",
    )
    r.add_argument("--underlay-tx", choices=["on", "off"], default="on")
    r.add_argument("--veth", action="store_true", help="the underlay is a veth pair")
    r.add_argument("--txrehash", choices=["on", "off"], default="on")
    r.add_argument("--proto", choices=["tcp", "udp"], default="tcp")
    r.add_argument("--tap", choices=TAPS, default="wire")
    r.add_argument("--attempts", type=int, default=8)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("-o", "--output", required=True, help="the pcap file to write")
    r.add_argument(
        "--conntrack",
        metavar="FILE",
        help="also write the conntrack -L lines node A would show for the outer NAT "
        "bindings (the context that confirms a stale outer checksum: analyze --conntrack)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum repro`` with parsed arguments."""
    from ..capture.pcap import write_pcap  # the kernel model: only for this command
    from ..kernel.repro import reproduce
    from ..kernel.scenario import Cluster

    options: dict[str, object] = {
        "underlay_tx_csum": _switch(args.underlay_tx),
        "underlay_is_veth": args.veth,
        "txrehash": _switch(args.txrehash),
    }
    if args.udpcsum != "default":
        options["udp_csum"] = _switch(args.udpcsum)
    if args.vxlan_tx != "default":
        options["vxlan_tx_csum"] = _switch(args.vxlan_tx)
    try:
        maker = Cluster.calico if args.cni == "calico" else Cluster.flannel
        cluster = maker(args.kernel, args.kube_proxy, **options)
    except ValueError as err:
        raise UsageError(str(err)) from err
    linktype, frames, scenario = reproduce(
        cluster, args.proto, args.tap, attempts=args.attempts, seed=args.seed
    )
    count = write_pcap(args.output, frames, linktype)
    print(f"wrote {count} packets ({args.tap} tap) to {args.output}", file=sys.stderr)
    if args.conntrack:
        table = scenario.conntrack()
        with open(args.conntrack, "w") as f:
            f.write(table)
        print(
            f"wrote {len(table.splitlines())} conntrack lines to {args.conntrack}", file=sys.stderr
        )
    return 0
