"""``vxsum analyze``: classify every checksum field of capture files, and say why.

Rows go to jsonl, csv or parquet (:mod:`vxsum.report.writers`); the summary (fields by
layer, depth and verdict; harmful checksums by flow; the diagnosis) to standard output,
or to standard error when rows (or ``--summary-json -``) take standard output; the summary
as JSON to ``--summary-json FILE``. ``-o FILE`` appears only when the run succeeded
(:mod:`vxsum.cli.output`). ``--verdict``, ``--layer`` and ``--depth`` select the rows
written; the summary covers every field. Exit status: 0, or 1 with ``--fail-on-harmful``
when a harmful checksum was found (``--fail-on LABELS``: a field with one of those
labels); 2 for a usage, input or output error, and with ``--keep-going`` when any file
could not be read, after the others were analysed.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import sys
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ..errors import CaptureError, VxsumError
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..frames.fields import LAYERS
from ..kernel.conntrack import Conntrack
from ..report.analysis import FileReport, Options, RowSink, Summary, analyze
from ..report.writers import FORMATS, ParquetDatasetWriter, ParquetWriter, RowWriter, open_writer
from ..verdicts.labels import LABELS, Label
from ..verdicts.prenat import PreNatCapture
from .common import Parser, UsageError, add_port_arguments, one_or_more, positive
from .output import destination, directory, reason, writing
from .summary import ProgressBar, write_summary

if TYPE_CHECKING:
    import numpy.typing as npt

    from ..report.html import Timeline

__all__ = ["add_arguments", "context", "main", "run"]


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
    path: str, options: Options, sink: RowSink | None, progress: ProgressBar | None
) -> FileReport:
    """One file (``-`` is standard input)."""
    source = sys.stdin.buffer if path == "-" else path
    advance = None if progress is None else progress.callback(path)
    report = analyze(source, options, sink=sink, progress=advance)
    if progress is not None:
        progress.update(path, progress.sizes.get(path, 0))  # read to its end
    return report


class _Unread:
    """The input files that could not be read. Without ``--keep-going`` the first ends the
    run (exit 2); with it, each is reported in one line on stderr and left out, and the
    run goes on with the others (and ends with exit 2)."""

    def __init__(self, keep_going: bool) -> None:
        self.keep_going = keep_going
        self.files: list[tuple[str, str]] = []

    def add(self, path: str, error: UsageError) -> None:
        if not self.keep_going:
            raise error
        self.files.append((path, str(error)))
        print(f"vxsum analyze: {error}", file=sys.stderr, flush=True)

    def __call__(self, path: str, err: OSError | VxsumError) -> None:
        """``path`` failed with ``err`` (``unreadable`` of
        :func:`~vxsum.report.parallel.analyze_parallel` too)."""
        if isinstance(err, OSError):
            error = UsageError(f"cannot read {path}: {reason(err)}")
        else:
            error = _bad_input(err, self.keep_going)
        try:
            self.add(path, error)
        except UsageError as raised:
            raise raised from err


class _NothingRead(Exception):
    """``--keep-going``, and no file could be read: exit 2, nothing written (each file's
    line has been said)."""


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


def _check_outputs(args: argparse.Namespace) -> None:
    """Usage errors of the row filters and of ``--summary-json``."""
    filters = [f"--{name}" for name in ("verdict", "layer", "depth") if getattr(args, name)]
    if filters and args.format == "text":
        raise UsageError(
            f"{filters[0]} selects rows: give --format jsonl, csv or parquet "
            "(the summary covers every field)"
        )
    quiet = [v for v in args.verdict or () if v in (Label.GOOD, Label.NO_CHECKSUM)]
    if quiet and not args.all_fields:
        raise UsageError(
            f"--verdict {quiet[0]}: good and no-checksum fields are rows only with --all-fields"
        )
    rows_on_stdout = args.format != "text" and args.output in (None, "-")
    if args.summary_json == "-" and rows_on_stdout:
        raise UsageError(
            "--summary-json - and the rows cannot both go to standard output: "
            "give -o FILE for the rows, or --summary-json FILE"
        )
    named = [f for f in (args.output, args.summary_json) if f is not None and f != "-"]
    if len(named) == 2 and os.path.realpath(named[0]) == os.path.realpath(named[1]):
        raise UsageError(f"-o and --summary-json name the same file: {args.output}")


def _readable(args: argparse.Namespace, unread: _Unread) -> list[str]:
    """The files worth opening: one that cannot be (missing, a directory) is an error, or
    with ``--keep-going`` reported and left out."""
    files = []
    for path in args.files:
        if path != "-" and (why := _unreadable(path)) is not None:
            unread.add(path, UsageError(f"cannot read {path}: {why}"))
        else:
            files.append(path)
    return files


def _status(args: argparse.Namespace, summary: Summary) -> int:
    """The exit status of a run that wrote its output: 2 if a file was not read, 1 for
    ``--fail-on-harmful`` or ``--fail-on`` met, else 0."""
    if summary.unread:
        return 2
    if args.fail_on_harmful and summary.harmful:
        return 1
    labels = summary.tally.labels()
    return 1 if any(labels[label] for label in args.fail_on or ()) else 0


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum analyze`` with parsed arguments."""
    _check_outputs(args)
    options = _options(args)
    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet writes a file: give -o FILE (or -o - for stdout)")
    if args.format == "parquet-dataset" and args.output in (None, "-"):
        raise UsageError("--format parquet-dataset writes a directory: give -o DIRECTORY")
    if args.files.count("-") > 1:
        raise UsageError("standard input (-) can be read once")
    if "-" in args.files and args.jobs > 1:
        raise UsageError("--jobs reads files by name: standard input (-) cannot be shared")
    if args.format == "parquet" and args.output == "-" and sys.stdout.isatty():
        raise UsageError("--format parquet is binary: redirect standard output, or give -o FILE")
    if args.scheduler is not None and "-" in args.files:
        raise UsageError("--scheduler: the workers read files by name: standard input (-) cannot")
    timeline = _timeline(args)
    unread = _Unread(args.keep_going)
    # the workers read the files where they are: a path may exist there and not here
    files = list(args.files) if args.scheduler is not None else _readable(args, unread)
    inputs = [*args.files, args.conntrack, args.before_nat]
    try:
        with ExitStack() as outputs:  # each file takes its name at the end
            path = outputs.enter_context(
                directory(args.output)
                if args.format == "parquet-dataset"
                else destination(args.output, inputs)
            )
            json_path = html_path = None
            if args.summary_json is not None:
                json_path = outputs.enter_context(destination(args.summary_json, inputs))
            if args.report is not None:
                html_path = outputs.enter_context(destination(args.report, inputs))
            name = "standard output" if path is None else args.output
            reports = (
                _analyze_into(args, options, files, path, name, unread, timeline) if files else []
            )
            if not reports:  # and each file has had its line
                raise _NothingRead
            summary = Summary.of(reports)
            order = {f: k for k, f in enumerate(args.files)}
            summary.unread = sorted(unread.files, key=lambda f: order.get(f[0], len(order)))
            if args.summary_json is not None:
                _write_json(summary, json_path, args.summary_json)
            if timeline is not None and html_path is not None:
                _write_report(summary, timeline, reports, html_path, args.report)
            if args.format != "text" or (path is None and args.summary_json == "-"):
                write_summary(summary, sys.stderr, rich=sys.stderr.isatty())
            elif path is not None:
                with writing(name), open(path, "w") as f:
                    write_summary(summary, f, rich=False)
            else:
                with writing(name):
                    write_summary(summary, sys.stdout, rich=sys.stdout.isatty())
                    sys.stdout.flush()
    except _NothingRead:
        return 2
    return _status(args, summary)


def _timeline(args: argparse.Namespace) -> Timeline | None:
    """The row sink of ``--report`` (None without it); an error before the run when
    matplotlib is missing or the page would go to standard output."""
    if args.report is None:
        return None
    if args.report == "-":
        raise UsageError("--report writes a page to a file: give --report FILE.html")
    from ..report.html import Timeline, require_matplotlib

    try:
        require_matplotlib()
    except ImportError as err:
        raise UsageError(str(err)) from None
    return Timeline()


def _write_report(
    summary: Summary, timeline: Timeline, reports: list[FileReport], path: str, target: str
) -> None:
    """The HTML page of ``--report target``, to ``path`` (renamed to ``target`` after)."""
    from ..report.html import write_html_report

    with writing(target):
        write_html_report(path, summary, timeline, reports=reports)


def _write_json(summary: Summary, path: str | None, target: str) -> None:
    """The summary as JSON (:meth:`Summary.to_dict`) to ``path`` (None: standard
    output), which ``--summary-json target`` named."""
    text = json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n"
    if path is None:
        with writing("standard output"):
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    with writing(target), open(path, "w") as f:
        f.write(text)


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
    if fmt == "parquet-dataset":
        assert path is not None  # run() gave it a directory
        return ParquetDatasetWriter(path), None
    out = sys.stdout if path is None else open(path, "w", newline="")  # noqa: SIM115
    writer = open_writer(fmt, out, path)
    assert writer is not None  # jsonl and csv have rows
    return writer, None if path is None else out


def _analyze_into(
    args: argparse.Namespace,
    options: Options,
    files: list[str],
    path: str | None,
    name: str,
    unread: _Unread,
    timeline: Timeline | None = None,
) -> list[FileReport]:
    """Analyse ``files``, their rows (jsonl, csv, parquet) going to ``path`` (None:
    standard output, called ``name`` in errors) and every row to ``timeline``
    (``--report``), those that cannot be read to ``unread``. On any error or interrupt,
    what was opened is closed without a word: the output is being thrown away."""
    sink: _Sink | None = None
    out: IO[str] | None = None
    if args.format != "text":
        with writing(name):
            try:
                writer, out = _open_rows(args.format, path)
            except ImportError as err:
                raise UsageError(str(err)) from None
        sink = _Sink(writer, name)
    # a pipe has no size; a cluster's files may be only where its workers are
    terminal = sys.stderr.isatty() and "-" not in files and args.scheduler is None
    progress = ProgressBar.start(files) if terminal else None
    rows = _selected(args, sink)
    if timeline is not None:
        rows = _Both(rows, timeline)
    try:
        reports = _run(args, options, files, rows, progress, unread)
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
    files: list[str],
    writer: RowSink | None,
    progress: ProgressBar | None,
    unread: _Unread,
) -> list[FileReport]:
    """Analyse ``files``, one after another, ``--jobs`` at a time or on the Dask cluster
    of ``--scheduler`` (rows in file order), under one progress bar."""
    if args.scheduler is not None:
        return _on_cluster(args.scheduler, options, files, writer, unread)
    if args.jobs <= 1 or len(files) == 1:
        reports = []
        for path in files:
            try:
                reports.append(_analyze_one(path, options, writer, progress))
            except (OSError, VxsumError) as err:
                unread(path, err)
        return reports
    from ..report.parallel import analyze_parallel  # process pools: only when asked

    return analyze_parallel(
        files,
        options,
        args.jobs,
        writer,
        progress=None if progress is None else progress.update,
        unreadable=unread,
    )


def _on_cluster(
    address: str, options: Options, files: list[str], writer: RowSink | None, unread: _Unread
) -> list[FileReport]:
    """``--scheduler ADDRESS``: the files analysed by the workers of a Dask cluster
    (:func:`~vxsum.report.distributed.analyze_on_cluster`), their rows written here."""
    try:
        from distributed import Client

        from ..report.distributed import analyze_on_cluster
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'vxsum[dask]'") from None
    connect: Any = Client  # untyped
    try:
        client = connect(address, timeout=_CONNECT_TIMEOUT)
    except (OSError, ValueError, TypeError) as err:  # TimeoutError is an OSError
        why = reason(err) if isinstance(err, OSError) else str(err)
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {why}") from err
    try:
        return analyze_on_cluster(files, options, writer, scheduler=client, unreadable=unread)
    except OSError as err:  # a glob that matches nothing, a URL's file system
        raise UsageError(f"cannot read {err.filename or files[0]}: {reason(err)}") from err
    finally:
        client.close()


_CONNECT_TIMEOUT = 15
"""Seconds to wait for a Dask scheduler before ``--scheduler`` gives up."""


class _Both:
    """A row sink that hands every row to two: the rows written and the timeline."""

    def __init__(self, first: RowSink | None, second: RowSink) -> None:
        self.first, self.second = first, second

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        if self.first is not None:
            self.first(path, rows)
        self.second(path, rows)


_LABEL_CODES = {str(label): code for code, label in enumerate(LABELS)}
_LAYER_CODES = {layer: code for code, layer in enumerate(LAYERS)}


class _Select:
    """A row sink that passes on only the rows of the chosen verdicts, layers and depths:
    a table of 256 booleans per column, indexed by the rows' codes (no Python step per
    row)."""

    def __init__(self, sink: RowSink, keep: dict[str, npt.NDArray[np.bool_]]) -> None:
        self.sink, self.keep = sink, keep

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        chosen = np.ones(len(rows), dtype=np.bool_)
        for column, table in self.keep.items():
            chosen &= table[rows[column]]
        if chosen.all():
            self.sink(path, rows)
        elif chosen.any():
            self.sink(path, rows[chosen])


def _selected(args: argparse.Namespace, sink: _Sink | None) -> RowSink | None:
    """``sink``, behind the row filters ``--verdict``, ``--layer`` and ``--depth``."""
    keep = {}
    for column, given, codes in (
        ("label", args.verdict, _LABEL_CODES),
        ("layer", args.layer, _LAYER_CODES),
        ("depth", args.depth, None),
    ):
        if given:
            table = np.zeros(256, dtype=np.bool_)  # the columns are u1
            table[[int(v) if codes is None else codes[v] for v in given]] = True
            keep[column] = table
    return _Select(sink, keep) if sink is not None and keep else sink


LABEL_NAMES = tuple(str(label) for label in LABELS)
"""What ``--fail-on`` and ``--verdict`` take."""
DEPTHS = tuple(str(d) for d in range(DEFAULT_CONFIG.max_depth))
"""What ``--depth`` takes: the parser reads at most ``max_depth`` nested IP headers."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``vxsum analyze``."""
    p.add_argument("files", nargs="+", metavar="FILE", help="capture files; - is standard input")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: the summary only; jsonl, csv, parquet: one row per checksum field "
        "(the summary then goes to stderr); parquet-dataset: the parquet rows as a "
        "directory of one file per capture (-o DIRECTORY)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write rows (or the summary) here, once the run has succeeded; - is standard "
        "output; a new or empty directory for parquet-dataset",
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
    p.add_argument(
        "--fail-on",
        type=one_or_more("label", LABEL_NAMES),
        metavar="LABEL[,LABEL...]",
        help="exit 1 if any checksum field has one of these labels (e.g. nat-stale,corrupt)",
    )
    p.add_argument(
        "--summary-json",
        metavar="FILE",
        help="also write the summary as JSON, once the run has succeeded; - is standard output",
    )
    p.add_argument(
        "--verdict",
        type=one_or_more("label", LABEL_NAMES),
        metavar="LABEL[,LABEL...]",
        help="write only the rows of these verdicts (the summary still covers every field)",
    )
    p.add_argument(
        "--layer",
        type=one_or_more("layer", LAYERS),
        metavar="LAYER[,LAYER...]",
        help=f"write only the rows of these layers ({', '.join(LAYERS)})",
    )
    p.add_argument(
        "--depth",
        type=one_or_more("depth", DEPTHS),
        metavar="N[,N...]",
        help="write only the rows at these depths (0: the outermost IP packet, +1 per tunnel)",
    )
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write one self-contained HTML page: diagnosis, timeline, top flows "
        "(needs pip install 'vxsum[report]')",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="analyse the files on this Dask cluster (tcp://host:8786), its workers reading "
        "them by path or fsspec URL; the output is a local run's (needs pip install 'vxsum[dask]')",
    )
    add_port_arguments(p)


def main(argv: Sequence[str]) -> int:
    """``vxsum analyze ARGV`` on its own (the demo runs it this way)."""
    p = Parser(prog="vxsum analyze")
    add_arguments(p)
    return run(p.parse_args(argv))
