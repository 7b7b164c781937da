"""``vxsum analyze``: classify every checksum field of capture files, and say why.

Rows go to jsonl, csv or parquet (:mod:`vxsum.report.writers`); the summary (fields by
layer, depth and verdict; harmful checksums by flow; the diagnosis) to standard output,
or to standard error when rows take standard output. Exit status: 0, or 1 with
``--fail-on-harmful`` when a harmful checksum was found; 2 for a usage or input error.
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
from ..report.analysis import FileReport, Options, Summary, analyze
from ..report.writers import FORMATS, RowWriter, open_writer
from ..verdicts.diagnosis import Finding
from ..verdicts.labels import Label
from ..verdicts.prenat import PreNatCapture
from .common import UsageError, add_port_arguments

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["add_arguments", "context", "main", "run"]


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


_TOP = 20  # rows of the flow table


def _flows_heading(summary: Summary) -> str:
    n = len(summary.harmful)
    top = f" (top {_TOP} of {n})" if n > _TOP else ""
    return f"harmful checksums by flow{top}:"


def _finding_head(f: Finding) -> str:
    """'nat-stale (6 fields)', 'nat-stale? (1 field, unconfirmed)', 'corrupt (... unknown)'."""
    if f.harmless:
        return f"{f.label} ({_fields(f.count)}, harmless)"
    if f.label == Label.CORRUPT:
        return f"{f.label} ({_fields(f.count)}, cause unknown)"
    if not f.confirmed:
        return f"{f.label}? ({_fields(f.count)}, unconfirmed)"
    return f"{f.label} ({_fields(f.count)})"


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
                _flows_heading(summary),
                [
                    f"  {n:>6}  {verdict:<17} {flow}"
                    for (verdict, flow), n in summary.harmful.most_common(_TOP)
                ],
            )
        )
    findings = []
    for f in summary.diagnosis.findings:
        findings.append(f"- {_finding_head(f)}: {f.explanation}")
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
    from rich.markup import escape
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
        flows = Table(title=_flows_heading(summary).rstrip(":"))
        for name in ("count", "verdict", "flow"):
            flows.add_column(name)
        for (verdict, flow), n in summary.harmful.most_common(_TOP):
            flows.add_row(str(n), verdict, flow)
        console.print(flows)
    for f in summary.diagnosis.findings:
        style = "green" if f.harmless else "bold red" if f.confirmed else "yellow"
        head = escape(_finding_head(f))
        console.print(
            f"[{style}]{head}[/{style}]: ", escape(f.explanation), sep="", highlight=False
        )
        for fix in f.fixes:
            console.print(f"    fix: {escape(fix)}", highlight=False)


def _analyze_one(
    path: str, options: Options, sink: RowWriter | None, progress: _Progress | None
) -> FileReport:
    """One file (``-`` is standard input)."""
    source = sys.stdin.buffer if path == "-" else path
    advance = None if progress is None else progress.callback(path)
    try:
        return analyze(source, options, sink=sink, progress=advance)
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from err
    except VxsumError as err:
        raise UsageError(str(err)) from err


def context(args: argparse.Namespace) -> tuple[ParseConfig, Conntrack | None, PreNatCapture | None]:
    """The parser configuration and the NAT context the options name (read here)."""
    config = ParseConfig(
        vxlan_ports=args.vxlan_ports,
        geneve_ports=args.geneve_ports,
        ipv6_zero_checksum_ports=args.ipv6_zero_ports,
    )
    conntrack = before = None
    if args.conntrack is not None:
        try:
            conntrack = Conntrack.from_file(args.conntrack)
        except OSError as err:
            raise UsageError(f"cannot read {args.conntrack}: {err.strerror or err}") from err
    if args.before_nat is not None:
        try:
            before = PreNatCapture.from_file(
                args.before_nat, config=config, keep_going=getattr(args, "keep_going", False)
            )
        except OSError as err:
            raise UsageError(f"cannot read {args.before_nat}: {err.strerror or err}") from err
        except VxsumError as err:
            raise UsageError(str(err)) from err
    return config, conntrack, before


def _options(args: argparse.Namespace) -> Options:
    config, conntrack, before = context(args)
    return Options(config, conntrack, before, args.keep_going, args.all_fields)


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum analyze`` with parsed arguments."""
    options = _options(args)
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
            reports = _run(args, options, writer, progress)
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
    args: argparse.Namespace,
    options: Options,
    writer: RowWriter | None,
    progress: _Progress | None,
) -> list[FileReport]:
    """Analyse the files, one after another or ``--jobs`` at a time (rows in file order)."""
    if args.jobs <= 1 or len(args.files) == 1:
        return [_analyze_one(path, options, writer, progress) for path in args.files]
    from ..report.parallel import analyze_parallel  # process pools: only when asked

    try:
        return analyze_parallel(args.files, options, args.jobs, writer)
    except OSError as err:
        raise UsageError(f"cannot read {err.filename}: {err.strerror or err}") from err
    except VxsumError as err:
        raise UsageError(str(err)) from err


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``vxsum analyze``."""
    p.add_argument("files", nargs="+", metavar="FILE", help="capture files; - is standard input")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: the summary only; jsonl, csv, parquet: one row per checksum field "
        "(the summary then goes to stderr)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write rows (or the summary) here")
    p.add_argument(
        "--all-fields",
        action="store_true",
        help="a row for every checksum field, good ones too (default: only those worth a look)",
    )
    p.add_argument(
        "--conntrack", metavar="FILE", help="text of `conntrack -L` from the sending node"
    )
    p.add_argument(
        "--before-nat",
        metavar="FILE",
        help="a capture of the same traffic taken before NAT (e.g. NFLOG in mangle POSTROUTING)",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="analyse up to N files at once")
    p.add_argument("--keep-going", action="store_true", help="report corrupt records and go on")
    p.add_argument(
        "--fail-on-harmful",
        action="store_true",
        help="exit 1 if any checksum is harmful (receivers drop the packet)",
    )
    add_port_arguments(p)


def main(argv: Sequence[str]) -> int:
    """``vxsum analyze ARGV`` on its own (the demo runs it this way)."""
    p = argparse.ArgumentParser(prog="vxsum analyze")
    add_arguments(p)
    return run(p.parse_args(argv))
