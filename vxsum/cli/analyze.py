"""``vxsum analyze``: classify every checksum field of capture files, and say why.

Rows go to jsonl, csv or parquet (:mod:`vxsum.report.writers`); the summary (fields by
layer, depth and verdict; harmful checksums by flow; the diagnosis) to standard output,
or to standard error when rows take standard output. ``-o FILE`` appears only when the
run succeeded (:mod:`vxsum.cli.output`). Exit status: 0, or 1 with ``--fail-on-harmful``
when a harmful checksum was found; 2 for a usage, input or output error.
"""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import IO, TYPE_CHECKING

from ..errors import CaptureError, VxsumError
from ..frames.config import ParseConfig
from ..kernel.conntrack import Conntrack
from ..report.analysis import FileReport, Options, Summary, analyze
from ..report.writers import FORMATS, ParquetWriter, RowWriter, open_writer
from ..verdicts.diagnosis import Finding
from ..verdicts.labels import Label
from ..verdicts.prenat import PreNatCapture
from .common import Parser, UsageError, add_port_arguments, positive
from .output import destination, reason, writing

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
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


_EXAMPLES = 20  # problem lines shown


def _problem_lines(summary: Summary) -> list[str]:
    """The problems: how many, by kind when there are several, the first few of each
    kind word for word, and how many more (every problem is counted; a few are kept)."""
    problems = summary.problems
    if not problems:
        return []
    lines = [f"records not parsed or not read: {len(problems):,}"]
    if len(problems.counts) > 1:
        lines += [f"  {n:>11,}  {kind}" for kind, n in problems.counts.most_common()]
    kinds = problems.by_kind()
    each = max(1, _EXAMPLES // len(kinds))  # examples of every kind, a few lines in all
    shown = [line for _, _, examples in kinds for line in examples[:each]][:_EXAMPLES]
    lines += [f"  {line}" for line in shown]
    if len(problems) > len(shown):
        lines.append(f"  ... and {len(problems) - len(shown):,} more")
    return lines


def _summary_lines(summary: Summary) -> list[tuple[str, list[str]]]:
    """The summary as (heading, lines) sections, for plain text and rich alike."""
    head = [
        f"packets read: {summary.packets}"
        + (f" in {summary.files} files" if summary.files > 1 else "")
    ]
    head += _problem_lines(summary)
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


def _write_summary(summary: Summary, out: IO[str], rich: bool) -> None:
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

    console = Console(file=out, highlight=False)  # colours by meaning only, not every number
    console.print(f"packets read: {summary.packets}")
    for line in _problem_lines(summary):
        console.print(f"[red]{escape(line)}[/red]", highlight=False)
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


def _bad_input(err: VxsumError, keep_going: bool | None) -> UsageError:
    """The one-line error of bad input; for a bad record, and unless ``--keep-going`` was
    given (None: the command has no such option), a second line that says what it does."""
    hint = None
    if isinstance(err, CaptureError) and err.record is not None and keep_going is False:
        read = err.record - 1
        if read == 0:
            hint = "(--keep-going reports it and goes on where it can)"
        else:
            were = (
                "the record before it was" if read == 1 else f"the {read:,} records before it were"
            )
            hint = f"({were} read; --keep-going reports them and goes on where it can)"
    return UsageError(str(err), hint)


def _analyze_one(
    path: str, options: Options, sink: _Sink | None, progress: _Progress | None
) -> FileReport:
    """One file (``-`` is standard input)."""
    source = sys.stdin.buffer if path == "-" else path
    advance = None if progress is None else progress.callback(path)
    try:
        return analyze(source, options, sink=sink, progress=advance)
    except OSError as err:
        raise UsageError(f"cannot read {path}: {reason(err)}") from err
    except VxsumError as err:
        raise _bad_input(err, options.keep_going) from err


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
            raise UsageError(f"cannot read {args.conntrack}: {reason(err)}") from err
        except VxsumError as err:  # a line too long to be conntrack text
            raise UsageError(str(err)) from err
        for problem in conntrack.problems:  # bad lines are skipped, and said so
            print(f"{args.conntrack}: {problem}", file=sys.stderr)
    if args.before_nat is not None:
        keep_going = getattr(args, "keep_going", None)  # explain has no --keep-going
        try:
            before = PreNatCapture.from_file(
                args.before_nat, config=config, keep_going=bool(keep_going)
            )
        except OSError as err:
            raise UsageError(f"cannot read {args.before_nat}: {reason(err)}") from err
        except VxsumError as err:
            raise _bad_input(err, keep_going) from err
    return config, conntrack, before


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be a capture, or None: any readable stream can (a named pipe,
    ``<(zcat x.pcap.gz)``), a directory or a path that does not resolve cannot."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            return "is a directory"
    except OSError as err:
        return "no such file" if err.errno == errno.ENOENT else reason(err)
    return None


def _options(args: argparse.Namespace) -> Options:
    config, conntrack, before = context(args)
    return Options(config, conntrack, before, args.keep_going, args.all_fields)


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum analyze`` with parsed arguments."""
    options = _options(args)
    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet writes a file: give -o FILE (or -o - for stdout)")
    if args.files.count("-") > 1:
        raise UsageError("standard input (-) can be read once")
    if "-" in args.files and args.jobs > 1:
        raise UsageError("--jobs reads files by name: standard input (-) cannot be shared")
    for path in args.files:
        if path != "-" and (why := _unreadable(path)) is not None:
            raise UsageError(f"cannot read {path}: {why}")
    if args.format == "parquet" and args.output == "-" and sys.stdout.isatty():
        raise UsageError("--format parquet is binary: redirect standard output, or give -o FILE")
    inputs = [*args.files, args.conntrack, args.before_nat]
    with destination(args.output, inputs) as path:  # the file takes its name at the end
        name = "standard output" if path is None else args.output
        reports = _analyze_into(args, options, path, name)
        summary = Summary.of(reports)
        if args.format != "text":
            _write_summary(summary, sys.stderr, rich=sys.stderr.isatty())
        elif path is not None:
            with writing(name), open(path, "w") as f:
                _write_summary(summary, f, rich=False)
        else:
            with writing(name):
                _write_summary(summary, sys.stdout, rich=sys.stdout.isatty())
                sys.stdout.flush()
    return 1 if args.fail_on_harmful and summary.harmful else 0


class _Sink:
    """A row writer whose errors are output errors (:func:`~vxsum.cli.output.writing`),
    so that no handler of input errors takes a full disk or a closed pipe for one."""

    def __init__(self, writer: RowWriter, name: str) -> None:
        self.writer, self.name = writer, name

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        with writing(self.name):
            self.writer(path, rows)

    def close(self) -> None:
        with writing(self.name):
            self.writer.close()


def _open_rows(fmt: str, path: str | None) -> tuple[RowWriter, IO[str] | None]:
    """The writer of ``fmt`` rows to ``path`` (None: standard output), and the file it
    writes through when one was opened here."""
    if fmt == "parquet":
        return ParquetWriter(sys.stdout.buffer if path is None else path), None
    out = sys.stdout if path is None else open(path, "w", newline="")  # noqa: SIM115
    writer = open_writer(fmt, out, path)
    assert writer is not None  # jsonl and csv have rows
    return writer, None if path is None else out


def _analyze_into(
    args: argparse.Namespace, options: Options, path: str | None, name: str
) -> list[FileReport]:
    """Analyse the files, their rows (jsonl, csv, parquet) going to ``path`` (None:
    standard output, called ``name`` in errors). On any error or interrupt, what was
    opened is closed without a word: the output is being thrown away."""
    sink: _Sink | None = None
    out: IO[str] | None = None
    if args.format != "text":
        with writing(name):
            try:
                writer, out = _open_rows(args.format, path)
            except ImportError as err:
                raise UsageError(str(err)) from None
        sink = _Sink(writer, name)
    terminal = sys.stderr.isatty() and "-" not in args.files  # a pipe has no size
    progress = _Progress.start(args.files) if terminal else None
    try:
        reports = _run(args, options, sink, progress)
        if sink is not None:
            sink.close()
        if out is not None:
            with writing(name):
                out.close()
    except BaseException:
        for opened in (sink, out):
            with suppress(Exception):
                if opened is not None:
                    opened.close()
        raise
    finally:
        if progress is not None:
            progress.stop()
    return reports


def _run(
    args: argparse.Namespace,
    options: Options,
    writer: _Sink | None,
    progress: _Progress | None,
) -> list[FileReport]:
    """Analyse the files, one after another or ``--jobs`` at a time (rows in file order)."""
    if args.jobs <= 1 or len(args.files) == 1:
        return [_analyze_one(path, options, writer, progress) for path in args.files]
    from ..report.parallel import analyze_parallel  # process pools: only when asked

    try:
        return analyze_parallel(args.files, options, args.jobs, writer)
    except OSError as err:
        raise UsageError(f"cannot read {err.filename}: {reason(err)}") from err
    except VxsumError as err:
        raise _bad_input(err, options.keep_going) from err


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
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write rows (or the summary) here, once the run has succeeded; - is standard output",
    )
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
    p.add_argument(
        "--jobs", type=positive, default=1, metavar="N", help="analyse up to N files at once"
    )
    p.add_argument("--keep-going", action="store_true", help="report corrupt records and go on")
    p.add_argument(
        "--fail-on-harmful",
        action="store_true",
        help="exit 1 if any checksum is harmful (receivers drop the packet)",
    )
    add_port_arguments(p)


def main(argv: Sequence[str]) -> int:
    """``vxsum analyze ARGV`` on its own (the demo runs it this way)."""
    p = Parser(prog="vxsum analyze")
    add_arguments(p)
    return run(p.parse_args(argv))
