"""The ``vxsum`` command: ``analyze``, ``explain``, ``repro`` and ``demo``.

A thin shell over the library: :mod:`vxsum.capture` reads, :func:`vxsum.parse` parses,
:func:`vxsum.diagnose.classify_stream` judges, :mod:`vxsum.repro` writes. Exit status:
0 on success, 1 with ``--fail-on-harmful`` when a harmful checksum was found, 2 for a
usage or input error (with a one-line reason on stderr).

``analyze --format jsonl`` writes one line per checksum field with the keys ``file``,
``frame`` (1-based), ``depth``, ``layer``, ``value``, ``expected``, ``verdict``,
``harmless``, ``detail``, plus ``"quoted": true`` for layers quoted inside an ICMP
error; csv carries the same columns. By default only fields worth a look are listed
(every verdict but ``good`` and ``no-checksum``); ``--all-fields`` lists them all.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import ipaddress
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TextIO

import numpy as np

from .capture import CaptureBatch, CaptureReader
from .classify import Label, Verdict
from .config import ParseConfig
from .conntrack import Conntrack
from .diagnose import Diagnosis, classify_stream, headers_at
from .errors import VxsumError
from .fastpath import check_vxlan_batch
from .layers import Layer
from .parse import Frame, parse
from .repro import TAPS, repro_frames, write_pcap
from .scenario import Cluster
from .transport import UDP

__all__ = ["main"]

COLUMNS = ["file", "frame", "depth", "layer", "value", "expected", "verdict", "harmless", "detail"]
QUIET = {Label.GOOD, Label.NO_CHECKSUM}


class UsageError(Exception):
    """A bad argument or unreadable input: exit 2 with this one-line reason."""


def _ports(text: str) -> frozenset[int]:
    try:
        ports = frozenset(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated port list: {text!r}") from None
    if any(not 0 < p < 65536 for p in ports):
        raise argparse.ArgumentTypeError(f"ports must be 1-65535: {text!r}")
    return ports


def _flow(frame: Frame, depth: int) -> str:
    """'src:port > dst:port proto' of the packet at ``depth`` (for grouping harmful fields)."""
    ip, l4 = headers_at(frame, depth)
    if ip is None:
        return "-"
    src, dst = ipaddress.ip_address(ip.src), ipaddress.ip_address(ip.dst)
    if l4 is None:
        return f"{src} > {dst}"
    name = "udp" if isinstance(l4, UDP) else "tcp"
    return f"{src}:{l4.src_port} > {dst}:{l4.dst_port} {name}"


@dataclasses.dataclass
class _Totals:
    packets: int = 0
    unparsed: list[str] = dataclasses.field(default_factory=list)
    fields: Counter[tuple[str, int, str]] = dataclasses.field(default_factory=Counter)
    harmful: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)
    diagnoses: list[Diagnosis] = dataclasses.field(default_factory=list)


def _row(path: str, number: int, v: Verdict) -> dict[str, object]:
    row = {"file": path, "frame": number, **v.to_dict()}
    quoted = row.pop("quoted")
    row = {k: row[k] for k in COLUMNS}
    if quoted:
        row["quoted"] = True
    return row


def _count_fast(batch: CaptureBatch, args: argparse.Namespace, totals: _Totals) -> list[int]:
    """Count the records the vectorised check clears; return the indices left to parse.

    With ``--all-fields`` every record is parsed, since each field gets a row.
    """
    if args.all_fields:
        return list(range(len(batch.offsets)))
    fast = check_vxlan_batch(
        batch.buffer,
        batch.offsets,
        batch.caplens,
        batch.wirelens,
        batch.linktypes,
        args.vxlan_ports,
    )
    good = int(fast.good.sum())
    if good:
        zero = int(fast.outer_zero.sum())
        tcp = int((fast.inner_proto[fast.good] == 6).sum())
        totals.fields[("ipv4", 0, "good")] += good
        totals.fields[("ipv4", 1, "good")] += good
        totals.fields[("udp", 0, "good")] += good - zero
        totals.fields[("udp", 0, "no-checksum")] += zero
        totals.fields[("tcp", 1, "good")] += tcp
        totals.fields[("udp", 1, "good")] += good - tcp
        for key in [k for k, n in totals.fields.items() if n == 0]:
            del totals.fields[key]
    return [int(k) for k in np.flatnonzero(~fast.good)]


def _analyze_file(
    path: str,
    args: argparse.Namespace,
    totals: _Totals,
    emit: Callable[[dict[str, object]], None],
) -> None:
    config = ParseConfig(
        vxlan_ports=args.vxlan_ports,
        geneve_ports=args.geneve_ports,
        ipv6_zero_checksum_ports=args.ipv6_zero_ports,
    )
    frames: list[tuple[int, Frame]] = []
    try:
        with CaptureReader(path, keep_going=args.keep_going) as reader:
            for batch in reader.batches():
                totals.packets += len(batch.offsets)
                slow = _count_fast(batch, args, totals)
                for k in slow:
                    o, n = int(batch.offsets[k]), int(batch.caplens[k])
                    number = int(batch.numbers[k])
                    try:
                        frame = parse(
                            batch.buffer[o : o + n].tobytes(),
                            int(batch.linktypes[k]),
                            wire_length=int(batch.wirelens[k]),
                            config=config,
                        )
                    except VxsumError as err:
                        where = f"file byte {int(batch.file_offsets[k])}"
                        totals.unparsed.append(f"{path}: record {number} ({where}): {err}")
                        continue
                    frames.append((number, frame))
            for problem in reader.problems:
                totals.unparsed.append(str(problem))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from err
    except VxsumError as err:
        raise UsageError(str(err)) from err
    verdicts, diagnosis = classify_stream((f for _, f in frames), conntrack=args.conntrack)
    totals.diagnoses.append(diagnosis)
    for (number, frame), frame_verdicts in zip(frames, verdicts, strict=True):
        for v in frame_verdicts:
            totals.fields[(v.layer, v.depth, str(v.verdict))] += 1
            if not v.harmless:
                totals.harmful[(str(v.verdict), _flow(frame, v.depth))] += 1
            if args.all_fields or v.verdict not in QUIET:
                emit(_row(path, number, v))


def _summary(totals: _Totals, out: TextIO) -> None:
    print(f"packets read: {totals.packets}", file=out)
    if totals.unparsed:
        print(f"records not parsed or not read: {len(totals.unparsed)}", file=out)
        for line in totals.unparsed[:20]:
            print(f"  {line}", file=out)
    print("\nchecksum fields by layer, depth and verdict:", file=out)
    for (layer, depth, verdict), n in sorted(totals.fields.items()):
        print(f"  {layer:<8} depth {depth}  {verdict:<17} {n:>8}", file=out)
    if totals.harmful:
        print("\nharmful checksums by flow:", file=out)
        for (verdict, flow), n in totals.harmful.most_common(20):
            print(f"  {n:>6}  {verdict:<17} {flow}", file=out)
    findings: dict[str, tuple[int, str, tuple[str, ...], bool]] = {}
    for d in totals.diagnoses:
        for f in d.findings:
            count = findings.get(str(f.label), (0, "", (), True))[0]
            findings[str(f.label)] = (count + f.count, f.explanation, f.fixes, f.harmless)
    if findings:
        print("\ndiagnosis:", file=out)
        for label, (count, text, fixes, harmless) in findings.items():
            print(f"- {label} ({count} fields{', harmless' if harmless else ''}): {text}", file=out)
            for fix in fixes:
                print(f"    fix: {fix}", file=out)


class _RowWriter:
    """Writes analyze rows as jsonl or csv (text output shows the summary only)."""

    def __init__(self, fmt: str, out: TextIO) -> None:
        self.fmt, self.out = fmt, out
        self.csv: csv.DictWriter[str] | None = None
        if fmt == "csv":
            self.csv = csv.DictWriter(out, fieldnames=[*COLUMNS, "quoted"], extrasaction="ignore")
            self.csv.writeheader()

    def __call__(self, row: dict[str, object]) -> None:
        if self.fmt == "jsonl":
            self.out.write(json.dumps(row) + "\n")
        elif self.csv is not None:
            self.csv.writerow({**row, "quoted": row.get("quoted", False)})


def _cmd_analyze(args: argparse.Namespace) -> int:
    if args.conntrack is not None:
        try:
            args.conntrack = Conntrack.from_file(args.conntrack)
        except OSError as err:
            raise UsageError(f"cannot read {args.conntrack}: {err.strerror or err}") from err
    if args.format == "parquet":
        raise UsageError("--format parquet is not available yet; use jsonl or csv")
    out: TextIO = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    totals = _Totals()
    try:
        emit = _RowWriter(args.format, out)
        for path in args.files:
            _analyze_file(path, args, totals, emit)
        _summary(totals, out if args.format == "text" else sys.stderr)
    finally:
        if out is not sys.stdout:
            out.close()
    return 1 if args.fail_on_harmful and totals.harmful else 0


def _describe(layer: Layer) -> str:
    skip = {"offset", "length", "depth"}
    parts = []
    for f in dataclasses.fields(layer):
        if f.name in skip:
            continue
        value = getattr(layer, f.name)
        if isinstance(value, bytes) and len(value) in (4, 16) and f.name in ("src", "dst"):
            value = ipaddress.ip_address(value)
        elif isinstance(value, bytes):
            value = value.hex() if len(value) <= 8 else f"{len(value)} bytes"
        elif isinstance(value, int) and "checksum" in f.name:
            value = f"0x{value:04x}"
        parts.append(f"{f.name}={value}")
    return f"{type(layer).__name__} @{layer.offset}: " + " ".join(parts[:8])


def _cmd_explain(args: argparse.Namespace) -> int:
    if args.frame is not None:
        try:
            with CaptureReader(args.source) as reader:
                record = next((r for r in reader if r.number == args.frame), None)
        except (OSError, VxsumError) as err:
            raise UsageError(str(err)) from err
        if record is None:
            raise UsageError(f"{args.source} has no frame {args.frame}")
        data, linktype = bytes(record.data), record.linktype
    else:
        try:
            data = bytes.fromhex("".join(args.source.split()))
        except ValueError:
            raise UsageError("give hex bytes, or a capture file with --frame N") from None
        linktype = args.linktype
    try:
        frame = parse(data, linktype)
    except VxsumError as err:
        raise UsageError(str(err)) from err
    for layer in frame.layers:
        print("  " * layer.depth + _describe(layer))
    (verdicts,), _ = classify_stream([frame])
    for v in verdicts:
        due = "-" if v.expected is None else f"0x{v.expected:04x}"
        print(
            f"{v.layer} depth {v.depth}: 0x{v.value:04x} (expected {due}) {v.verdict}"
            f"{'' if v.harmless else ' [harmful]'}{': ' + v.detail if v.detail else ''}"
        )
    return 0


def _switch(text: str) -> bool:
    return {"on": True, "off": False}[text]


def _cmd_repro(args: argparse.Namespace) -> int:
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
    linktype, frames = repro_frames(
        cluster, args.proto, args.tap, attempts=args.attempts, seed=args.seed
    )
    count = write_pcap(args.output, frames, linktype)
    print(f"wrote {count} packets ({args.tap} tap) to {args.output}", file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import main as demo_main

    demo_main()
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vxsum", description="Explain bad packet checksums.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="classify every checksum field of pcap/pcapng files")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--format", choices=["text", "jsonl", "csv", "parquet"], default="text")
    a.add_argument("-o", "--output", help="write rows (or the text summary) here")
    a.add_argument("--all-fields", action="store_true", help="list good fields too")
    a.add_argument("--conntrack", help="text of `conntrack -L` from the sending node")
    a.add_argument("--keep-going", action="store_true", help="report bad records and go on")
    a.add_argument("--fail-on-harmful", action="store_true", help="exit 1 if any is harmful")
    a.add_argument("--vxlan-ports", type=_ports, default=frozenset({4789, 8472}))
    a.add_argument("--geneve-ports", type=_ports, default=frozenset({6081}))
    a.add_argument(
        "--ipv6-zero-ports",
        type=_ports,
        default=frozenset(),
        help="UDP ports allowed a zero checksum over IPv6 (RFC 6935/6936)",
    )
    a.set_defaults(run=_cmd_analyze)
    e = sub.add_parser("explain", help="one frame: each layer and each checksum's verdict")
    e.add_argument("source", help="hex bytes of a frame, or a capture file with --frame")
    e.add_argument("--frame", type=int, help="1-based frame number in the capture file")
    e.add_argument("--linktype", type=int, default=1, help="link type of hex input")
    e.set_defaults(run=_cmd_explain)
    r = sub.add_parser("repro", help="write the packets the kernel model predicts")
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
    r.add_argument("-o", "--output", required=True)
    r.set_defaults(run=_cmd_repro)
    d = sub.add_parser("demo", help="the seed bug, made by the model and explained")
    d.set_defaults(run=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vxsum`` console script and ``python -m vxsum``."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as err:
        print(f"vxsum {args.command}: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
