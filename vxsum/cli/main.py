"""The ``vxsum`` command: ``analyze``, ``explain``, ``repro`` and ``demo``.

A thin shell over the library: :mod:`vxsum.capture.reader` reads, :func:`vxsum.parse` parses,
:func:`vxsum.verdicts.stream.classify_stream` judges, :mod:`vxsum.kernel.repro` writes. Exit status:
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
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from ..errors import VxsumError
from ..frames.config import ParseConfig
from ..kernel.conntrack import Conntrack
from ..report.analyze import FileReport, Summary
from ..report.parallel import analyze_one
from ..report.writers import FORMATS, RowWriter, open_writer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


__all__ = ["main"]

_TAPS = ("inner", "prenat", "sender", "wire")  # vxsum.kernel.repro.TAPS (a test checks they agree)


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


class _Progress:
    """A rich progress bar over the bytes of the files (shown only on a terminal)."""

    def __init__(self, bar: Progress, sizes: dict[str, int]) -> None:
        self.bar, self.sizes = bar, sizes
        self.task = bar.add_task("analyzing", total=sum(sizes.values()) or 1)
        self.done: dict[str, int] = {}

    @classmethod
    def start(cls, files: list[str], console: Console | None = None) -> _Progress:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        bar = Progress(
            "{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=console,
        )
        bar.start()
        return cls(bar, {f: os.path.getsize(f) if f != "-" else 0 for f in files})

    def callback(self, path: str) -> Callable[[int], None]:
        def advance(offset: int) -> None:
            self.done[path] = min(offset, self.sizes.get(path, offset))
            self.bar.update(self.task, completed=sum(self.done.values()))

        return advance

    def stop(self) -> None:
        self.bar.stop()


def _fields(count: int) -> str:
    return f"{count} field" if count == 1 else f"{count} fields"


def _summary_lines(summary: Summary) -> list[tuple[str, list[str]]]:
    """The summary as (heading, lines) sections, for plain text and rich alike."""
    head = [
        f"packets read: {summary.packets}"
        + (f" in {summary.files} files" if summary.files > 1 else "")
    ]
    if summary.problems:
        head.append(f"records not parsed or not read: {len(summary.problems)}")
        head += [f"  {line}" for line in summary.problems[:20]]
        if len(summary.problems) > 20:
            head.append(f"  ... and {len(summary.problems) - 20} more")
    sections = [("", head)]
    sections.append(
        (
            "checksum fields by layer, depth and verdict:",
            [
                f"  {layer:<8} depth {depth}  {verdict:<17} {n:>8}"
                for (layer, depth, verdict), n in sorted(summary.fields.items())
            ],
        )
    )
    if summary.harmful:
        sections.append(
            (
                "harmful checksums by flow:",
                [
                    f"  {n:>6}  {verdict:<17} {flow}"
                    for (verdict, flow), n in summary.harmful.most_common(20)
                ],
            )
        )
    findings = []
    for f in summary.diagnosis.findings:
        findings.append(
            f"- {f.label} ({_fields(f.count)}{', harmless' if f.harmless else ''}): {f.explanation}"
        )
        findings += [f"    fix: {fix}" for fix in f.fixes]
    if findings:
        sections.append(("diagnosis:", findings))
    return sections


def _write_summary(summary: Summary, out: TextIO, rich: bool) -> None:
    if not rich:
        for heading, lines in _summary_lines(summary):
            if heading:
                print(f"\n{heading}", file=out)
            for line in lines:
                print(line, file=out)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    console.print(f"packets read: {summary.packets}")
    for line in summary.problems[:20]:
        console.print(f"  [red]{line}[/red]")
    table = Table(title="checksum fields")
    for name in ("layer", "depth", "verdict", "count"):
        table.add_column(name, justify="right" if name == "count" else "left")
    for (layer, depth, verdict), n in sorted(summary.fields.items()):
        table.add_row(layer, str(depth), verdict, str(n))
    console.print(table)
    if summary.harmful:
        flows = Table(title="harmful checksums by flow")
        for name in ("count", "verdict", "flow"):
            flows.add_column(name)
        for (verdict, flow), n in summary.harmful.most_common(20):
            flows.add_row(str(n), verdict, flow)
        console.print(flows)
    for f in summary.diagnosis.findings:
        style = "green" if f.harmless else "bold red"
        console.print(f"[{style}]{f.label}[/{style}] ({_fields(f.count)}): {f.explanation}")
        for fix in f.fixes:
            console.print(f"    fix: {fix}")


def _analyze_one(
    path: str, args: argparse.Namespace, sink: RowWriter | None, progress: _Progress | None
) -> FileReport:
    try:
        return analyze_one(path, args, sink, None if progress is None else progress.callback(path))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from err
    except VxsumError as err:
        raise UsageError(str(err)) from err


def _cmd_analyze(args: argparse.Namespace) -> int:
    args.config = ParseConfig(
        vxlan_ports=args.vxlan_ports,
        geneve_ports=args.geneve_ports,
        ipv6_zero_checksum_ports=args.ipv6_zero_ports,
    )
    if args.conntrack is not None:
        try:
            args.conntrack = Conntrack.from_file(args.conntrack)
        except OSError as err:
            raise UsageError(f"cannot read {args.conntrack}: {err.strerror or err}") from err
    if args.before_nat is not None:
        from ..verdicts.prenat import PreNatCapture

        try:
            args.before_nat = PreNatCapture.from_file(
                args.before_nat, config=args.config, keep_going=args.keep_going
            )
        except OSError as err:
            raise UsageError(f"cannot read {args.before_nat}: {err.strerror or err}") from err
        except VxsumError as err:
            raise UsageError(str(err)) from err
    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet writes a file: give -o FILE")
    if args.files.count("-") > 1:
        raise UsageError("standard input (-) can be read once")
    if "-" in args.files and args.jobs > 1:
        raise UsageError("--jobs reads files by name: standard input (-) cannot be shared")
    for path in args.files:
        if path != "-" and not os.path.isfile(path):
            raise UsageError(f"cannot read {path}: no such file")
    out: TextIO | None = None
    if args.format in ("jsonl", "csv"):
        out = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        try:
            writer = open_writer(args.format, out, args.output)
        except ImportError as err:
            raise UsageError(str(err)) from None
        terminal = sys.stderr.isatty() and "-" not in args.files  # a pipe has no size
        progress = _Progress.start(args.files) if terminal else None
        try:
            reports = _run(args, writer, progress)
        finally:
            if progress is not None:
                progress.stop()
            if writer is not None:
                writer.close()
    finally:
        if out is not None and out is not sys.stdout:
            out.close()
    summary = Summary.of(reports)
    if args.format == "text" and args.output:
        with open(args.output, "w") as f:
            _write_summary(summary, f, rich=False)
    else:
        dest = sys.stdout if args.format == "text" else sys.stderr
        _write_summary(summary, dest, rich=dest.isatty())
    return 1 if args.fail_on_harmful and summary.harmful else 0


def _run(
    args: argparse.Namespace, writer: RowWriter | None, progress: _Progress | None
) -> list[FileReport]:
    """Analyse the files, one after another or ``--jobs`` at a time (rows in file order)."""
    if args.jobs <= 1 or len(args.files) == 1:
        return [_analyze_one(path, args, writer, progress) for path in args.files]
    from ..report.parallel import analyze_parallel

    try:
        return analyze_parallel(args, writer, progress)
    except OSError as err:
        raise UsageError(f"cannot read {err.filename}: {err.strerror or err}") from err
    except VxsumError as err:
        raise UsageError(str(err)) from err


def _cmd_explain(args: argparse.Namespace) -> int:
    from ..capture.reader import CaptureReader
    from ..frames.frame import parse
    from ..verdicts.stream import classify_stream

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
    from ..frames.display import describe

    for layer in frame.layers:
        print("  " * layer.depth + describe(layer))
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
    from ..kernel.repro import repro_frames, write_pcap
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
    a.add_argument("files", nargs="+", metavar="FILE", help="capture files; - is standard input")
    a.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: the summary only; jsonl, csv, parquet: one row per checksum field "
        "(the summary then goes to stderr)",
    )
    a.add_argument("-o", "--output", metavar="FILE", help="write rows (or the summary) here")
    a.add_argument(
        "--all-fields",
        action="store_true",
        help="a row for every checksum field, good ones too (default: only those worth a look)",
    )
    a.add_argument(
        "--conntrack", metavar="FILE", help="text of `conntrack -L` from the sending node"
    )
    a.add_argument(
        "--before-nat",
        metavar="FILE",
        help="a capture of the same traffic taken before NAT (e.g. NFLOG in mangle POSTROUTING)",
    )
    a.add_argument("--jobs", type=int, default=1, metavar="N", help="analyse up to N files at once")
    a.add_argument("--keep-going", action="store_true", help="report corrupt records and go on")
    a.add_argument(
        "--fail-on-harmful",
        action="store_true",
        help="exit 1 if any checksum is harmful (receivers drop the packet)",
    )
    a.add_argument(
        "--vxlan-ports",
        type=_ports,
        default=frozenset({4789, 8472}),
        metavar="PORTS",
        help="UDP ports carrying VXLAN (default 4789,8472)",
    )
    a.add_argument(
        "--geneve-ports",
        type=_ports,
        default=frozenset({6081}),
        metavar="PORTS",
        help="UDP ports carrying Geneve (default 6081)",
    )
    a.add_argument(
        "--ipv6-zero-ports",
        type=_ports,
        default=frozenset(),
        metavar="PORTS",
        help="UDP ports allowed a zero checksum over IPv6 (RFC 6935/6936; default none)",
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
    r.add_argument("--tap", choices=_TAPS, default="wire")
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
