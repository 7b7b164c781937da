"""Analysing a capture file: every checksum field counted, classified and explained.

This is ``vxsum analyze`` as a library call (:func:`analyze_file`). Per batch of
records (:mod:`vxsum.capture.reader`):

1. the facts of every checksum field: the records with a common layout (plain or VXLAN) at once
   (:func:`vxsum.frames.layouts.common_facts`), every other record parsed on its own
   (:func:`vxsum.frames.facts.facts_of`);
2. their verdicts (:class:`vxsum.verdicts.verdict.Judge`: the rules, a NAT context where
   one is given, then what each flow says);
3. fields are counted; the rows to list (those worth a look, or all with
   ``all_fields``) go to a :class:`~vxsum.report.rows.Spool`.

Once the file is read, flow evidence is final: the spooled rows get their flow context,
are counted and handed to ``sink`` in frame order. Memory stays flat: batches are 8
MiB, rows wait on disk, records that cannot be parsed or read are counted by kind with
the first few of each kept (:class:`~vxsum.capture.problems.ProblemLog`), and what grows
is the table of flows with ``nat-stale`` fields or right UDP checksums.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from ..capture.linktypes import SUPPORTED
from ..capture.problems import ProblemLog, kind_of
from ..capture.reader import CaptureBatch, CaptureReader
from ..errors import ParseError, VxsumError
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..frames.facts import FACT, Columns, fact_tuples, gather
from ..frames.frame import Frame, parse
from ..frames.layouts import common_facts
from ..kernel.conntrack import Conntrack
from ..verdicts.diagnosis import Diagnosis, Tally, diagnose
from ..verdicts.flows import Groups
from ..verdicts.labels import HARMLESS, ROW
from ..verdicts.prenat import PreNatCapture
from ..verdicts.stats import Outcome
from ..verdicts.verdict import Judge
from .rows import Spool, quiet

__all__ = [
    "FileReport",
    "Options",
    "RowSink",
    "Summary",
    "analyze",
    "analyze_file",
    "analyze_rows",
]

Rows = npt.NDArray[np.void]
RowSink = Callable[[str, Rows], None]
"""Receives the rows of a file in frame order: (file, rows of
:data:`vxsum.verdicts.labels.ROW`). Labels in the rows are final."""


@dataclass(frozen=True, slots=True)
class Options:
    """What :func:`analyze_file` is asked, apart from the file (``vxsum analyze``'s options)."""

    config: ParseConfig = DEFAULT_CONFIG
    conntrack: Conntrack | None = None
    before_nat: PreNatCapture | None = None
    keep_going: bool = False
    all_fields: bool = False


@dataclass
class FileReport:
    """What one capture file holds: every packet accounted for, every field counted."""

    path: str
    packets: int = 0
    problems: ProblemLog[str] = field(default_factory=ProblemLog)
    """Records not parsed or not read (or read with a note), each naming its record
    number and byte offset: counted by kind, the first few of each kind listed."""
    tally: Tally = field(default_factory=Tally)
    """The counts the diagnosis is made of."""
    rows: int = 0
    """Rows handed to the sink."""
    capture_test: Outcome | None = None
    """The capture-wide test (:mod:`vxsum.verdicts.stats`) of this file."""
    diagnosis: Diagnosis = field(default_factory=Diagnosis)

    @property
    def fields(self) -> Counter[tuple[str, int, str]]:
        """Checksum fields by (layer, depth, verdict)."""
        return self.tally.fields

    @property
    def harmful(self) -> Groups:
        """Harmful fields by (verdict, flow): ``most_common(n)``, ``len``, as a Counter."""
        return self.tally.flows

    @property
    def stale_confirmed(self) -> int:
        """``nat-stale`` fields confirmed by flow evidence, context or the capture."""
        return sum(n for (label, _), n in self.tally.confirmed.items() if label == "nat-stale")

    def labels(self) -> Counter[str]:
        return self.tally.labels()


def _batch_rows(
    batch: CaptureBatch, options: Options, judge: Judge, report: FileReport
) -> list[Rows]:
    """The verdicts of a batch; counts the fields not listed and returns the others, in
    frame order, as consecutive pieces."""
    fits, fast = common_facts(
        batch.buffer,
        batch.offsets,
        batch.caplens,
        batch.wirelens,
        batch.linktypes,
        batch.numbers,
        options.config,
    )
    parsed: dict[int, Frame | None] = {}
    rest = np.flatnonzero(~fits)
    doomed = _unparsable(batch, rest, options, report)

    def frame(k: int) -> Frame | None:
        number = int(batch.numbers[k])
        if doomed[k]:
            return None
        if number not in parsed:
            o, n = int(batch.offsets[k]), int(batch.caplens[k])
            try:
                parsed[number] = parse(
                    batch.buffer[o : o + n].tobytes(),
                    int(batch.linktypes[k]),
                    wire_length=int(batch.wirelens[k]),
                    config=options.config,
                )
            except VxsumError as err:
                report.problems.add(_kind(err), (_problem(report, batch, k, err),))
                parsed[number] = None
        return parsed[number]

    slow: list[tuple[Any, ...]] = []
    for k in rest[~doomed[rest]].tolist():
        found = frame(k)
        if found is not None:
            slow += fact_tuples(found, int(batch.numbers[k]))

    def frame_of(number: int) -> Frame | None:
        return frame(int(np.searchsorted(batch.numbers, number)))

    tables = [judge.rows(fast, frame_of)]
    if slow:
        tables.append(judge.rows(np.array(slow, dtype=FACT), frame_of))
    judge.observe(tables)
    rows = _located(_listed(tables[0], options, report), batch)
    if not slow:
        return [rows]
    others = _located(_listed(tables[1], options, report), batch)
    # A record is in one part or the other, each in frame order: the pieces in turn, in
    # frame order, without copying the (large) batch rows.
    cuts = np.searchsorted(rows["frame"], others["frame"]).tolist()
    pieces, last = [], 0
    for k, cut in enumerate(cuts):
        pieces += [rows[last:cut], others[k : k + 1]]
        last = cut
    return [*pieces, rows[last:]]


def _located(rows: Rows, batch: CaptureBatch) -> Rows:
    """``rows`` with their frames' place in the capture: the record's timestamp and byte
    offset in the file (the columns ``time`` and ``record_offset``), from ``batch``."""
    at = np.searchsorted(batch.numbers, rows["frame"])
    rows["time"], rows["record_offset"] = batch.timestamps[at], batch.file_offsets[at]
    return rows


_SUPPORTED = np.array(sorted(SUPPORTED), dtype=np.int64)


def _unparsable(
    batch: CaptureBatch, rest: npt.NDArray[np.intp], options: Options, report: FileReport
) -> npt.NDArray[np.bool_]:
    """Which records (True) of ``rest`` fail to parse for a reason their link type alone
    gives: an unsupported link type, or no bytes at all. Each such group is parsed once
    and reported at once, so a file of millions of them costs no Python step per record
    (the per-record path gives the same lines: tests/test_hardening_input.py checks it)."""
    doomed = np.zeros(len(batch), dtype=np.bool_)
    types = batch.linktypes[rest]
    odd = rest[~np.isin(types, _SUPPORTED) | (batch.caplens[rest] == 0)]
    for linktype in np.unique(batch.linktypes[odd]).tolist():
        group = odd[batch.linktypes[odd] == linktype]
        k = int(group[0])
        o, n = int(batch.offsets[k]), int(batch.caplens[k])
        try:
            parse(
                batch.buffer[o : o + n].tobytes(),
                linktype,
                wire_length=int(batch.wirelens[k]),
                config=options.config,
            )
        except VxsumError as err:
            lines = (_problem(report, batch, int(i), err) for i in group)
            report.problems.add(_kind(err), lines, len(group))
            doomed[group] = True
    return doomed


def _problem(report: FileReport, batch: CaptureBatch, k: int, err: VxsumError) -> str:
    """The line for record ``k`` of ``batch`` that did not parse."""
    number, where = int(batch.numbers[k]), int(batch.file_offsets[k])
    return f"{report.path}: record {number} (file byte {where}): {err}"


def _kind(err: VxsumError) -> str:
    """The kind a parse problem is counted under: its layer and reason, without numbers."""
    return kind_of(f"{err.layer}: {err.reason}" if isinstance(err, ParseError) else str(err))


def _listed(table: Columns, options: Options, report: FileReport) -> Rows:
    """The rows of ``table`` to list; the others are counted."""
    if options.all_fields:
        return gather(table, ROW)
    hidden = quiet(table["label"])
    report.tally.count(table, hidden)
    return gather(table, ROW, np.flatnonzero(~hidden))


_PART = 1 << 15
"""Records classified at a time: the tables of one part take about 1 KiB a record, so a
block of many small records is cut into parts to keep memory bounded by this number."""


def _parts(batch: CaptureBatch) -> Iterator[CaptureBatch]:
    """``batch`` in parts of at most :data:`_PART` records (views of the same buffer)."""
    if len(batch) <= _PART:
        yield batch
        return
    for start in range(0, len(batch), _PART):
        cut = slice(start, start + _PART)
        yield dataclasses.replace(
            batch,
            **{name: getattr(batch, name)[cut] for name in _RECORD_COLUMNS},
        )


_RECORD_COLUMNS = (
    "numbers",
    "offsets",
    "caplens",
    "wirelens",
    "linktypes",
    "timestamps",
    "file_offsets",
)


def _prefetch(batches: Iterator[CaptureBatch]) -> Iterator[CaptureBatch]:
    """The batches, read one ahead in a thread: reading overlaps classifying (numpy
    releases the GIL in both), which uses the second core."""
    ahead: queue.Queue[CaptureBatch | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                ahead.put(batch)
            ahead.put(None)
        except BaseException as err:  # handed to the consumer, raised there
            ahead.put(err)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting to put
            try:
                ahead.get_nowait()
            except queue.Empty:
                reader.join(0.01)


def analyze_file(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    config: ParseConfig = DEFAULT_CONFIG,
    conntrack: Conntrack | None = None,
    before_nat: PreNatCapture | None = None,
    keep_going: bool = False,
    all_fields: bool = False,
    sink: RowSink | None = None,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Classify every checksum field of a pcap or pcapng file (plain or gzip), or of a
    binary stream of one (reported as file ``-``).

    ``conntrack`` (``conntrack -L`` of the sending node) and ``before_nat`` (a capture
    of the same packets taken before NAT) make NAT explanations exact.
    ``sink`` receives the rows to list (every field that is neither ``good`` nor
    ``no-checksum``; with ``all_fields``, every field) in frame order. ``progress``
    is called with the file offset reached after each batch. Raises
    :class:`~vxsum.errors.CaptureError` for a file that cannot be read (after
    ``keep_going`` has gone as far as the format allows) and :class:`OSError` for one
    that cannot be opened.
    """
    options = Options(config, conntrack, before_nat, keep_going, all_fields)
    return analyze(path, options, sink=sink, progress=progress)


def _read(
    path: str | os.PathLike[str] | BinaryIO,
    options: Options,
    judge: Judge,
    report: FileReport,
    spool: Spool,
    progress: Callable[[int], None] | None,
) -> None:
    """Every record of the file through the rules into the spool (a function of its own,
    so that the last block and the reader are freed before the flow pass)."""
    with CaptureReader(path, keep_going=options.keep_going) as reader:
        for batch in _prefetch(reader.batches()):
            report.packets += len(batch.offsets)
            for part in _parts(batch):
                for rows in _batch_rows(part, options, judge, report):
                    spool.append(rows)
            if progress is not None and len(batch.file_offsets):
                progress(int(batch.file_offsets[-1]))
        report.problems.extend(reader.problem_log, str)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS).

    Looked up among the symbols the process has loaded already (``dlopen(NULL)``):
    ``ctypes.util.find_library`` runs ``ldconfig``, 25 ms of every run here."""
    import ctypes  # only when a file has been read

    try:
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):  # no dlopen(NULL) (Windows)
        return None
    return trim if callable(trim) else None


def release_freed_memory() -> None:
    """Hand the heap pages that freed blocks left behind back to the system (glibc's
    ``malloc_trim(0)``; nothing elsewhere). Called once a file has been read: the reading
    thread's blocks and the batches' arrays are gone, and the flow pass that follows would
    otherwise sit on top of their freed but still resident pages; called again after the
    flow pass (10^6 distinct flows: a lower, steadier peak; docs/reliability.md)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def analyze(
    path: str | os.PathLike[str] | BinaryIO,
    options: Options,
    *,
    sink: RowSink | None = None,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """:func:`analyze_file` with its options in one :class:`Options`."""
    name = _name(path)
    chunks = analyze_rows(path, options, progress=progress)
    while True:
        try:
            rows = next(chunks)
        except StopIteration as done:
            report: FileReport = done.value
            return report
        if sink is not None:
            sink(name, rows)


def analyze_rows(
    path: str | os.PathLike[str] | BinaryIO,
    options: Options,
    *,
    progress: Callable[[int], None] | None = None,
) -> Generator[Rows, None, FileReport]:
    """:func:`analyze` as a generator: the final rows to list, in frame order, chunk by
    chunk (they come once the whole file has been read: flow evidence needs all of it;
    until then they wait on disk), and the :class:`FileReport` as its return value."""
    report = FileReport(_name(path))
    judge = Judge(options.conntrack, options.before_nat)
    spool = Spool()
    try:
        _read(path, options, judge, report, spool, progress)
        release_freed_memory()
        report.capture_test = judge.conclude()
        for rows in spool:  # flow and capture context, counts
            judge.finish(rows)
            report.tally.add(rows)
            report.rows += len(rows)
            yield rows
    finally:
        spool.close()
    release_freed_memory()  # the flow pass's chunks, before the diagnosis groups the flows
    report.tally.frames = report.packets
    report.diagnosis = diagnose(report.tally, [report.capture_test])
    return report


def _name(path: str | os.PathLike[str] | BinaryIO) -> str:
    """A file's name in rows and reports: its path, or ``-`` for a stream."""
    return os.fspath(path) if isinstance(path, str | os.PathLike) else "-"


@dataclass
class Summary:
    """The reports of several files, added up, with one diagnosis for them all."""

    files: int = 0
    packets: int = 0
    problems: ProblemLog[str] = field(default_factory=ProblemLog)
    tally: Tally = field(default_factory=Tally)
    tests: list[Outcome] = field(default_factory=list)
    """The capture-wide test of each file (a test is per capture)."""
    diagnosis: Diagnosis = field(default_factory=Diagnosis)
    paths: list[str] = field(default_factory=list)
    """The files added up, in order."""
    tested: list[str] = field(default_factory=list)
    """The file of each test in :attr:`tests`."""
    unread: list[tuple[str, str]] = field(default_factory=list)
    """Files left out because they could not be read, with the reason (``vxsum analyze
    --keep-going`` fills it in; :meth:`of` knows only the files that were read)."""

    @classmethod
    def of(cls, reports: list[FileReport]) -> Summary:
        total = cls(files=len(reports))
        for r in reports:
            total.paths.append(r.path)
            total.packets += r.packets
            total.problems.update(r.problems)
            total.tally.update(r.tally)
            if r.capture_test is not None:
                total.tests.append(r.capture_test)
                total.tested.append(r.path)
        total.diagnosis = diagnose(total.tally, total.tests)
        return total

    @property
    def fields(self) -> Counter[tuple[str, int, str]]:
        return self.tally.fields

    @property
    def harmful(self) -> Groups:
        return self.tally.flows

    def to_dict(self) -> dict[str, object]:
        """Everything in the summary as plain values that ``json.dumps(...,
        allow_nan=False)`` takes: counts, every harmful flow, the capture-wide tests with
        their p-values, the problems with their totals, and the diagnosis (the keys are
        described in docs/cli.md)."""
        harmless = {str(label) for label in HARMLESS}
        problems = self.problems
        tested: list[str | None] = list(self.tested)
        if len(tested) != len(self.tests):  # a Summary made by hand: files unknown
            tested = [None] * len(self.tests)
        return {
            "files": self.files,
            "paths": list(self.paths),
            "files_not_read": [{"file": f, "error": error} for f, error in self.unread],
            "packets": self.packets,
            "problems": problems.examples,
            "problem_total": len(problems),
            "problems_not_listed": problems.more,
            "problem_kinds": dict(problems.counts),
            "fields": [
                {"layer": layer, "depth": depth, "verdict": verdict, "count": n}
                for (layer, depth, verdict), n in sorted(self.fields.items())
            ],
            "field_total": sum(self.fields.values()),
            "harmful_fields": sum(n for (_, _, v), n in self.fields.items() if v not in harmless),
            "harmful_flows": len(self.harmful),
            "harmful": [
                {"verdict": verdict, "flow": flow, "count": n}
                for (verdict, flow), n in self.harmful.most_common()
            ],
            "confirmed": [
                {"verdict": verdict, "by": by, "count": n}
                for (verdict, by), n in sorted(self.tally.confirmed.items())
            ],
            "hypotheses": dict(sorted(self.tally.hypotheses.items())),
            "tunnel_damage": dict(sorted(self.tally.tunnel_damage.items())),
            "capture_tests": [
                {
                    "file": path,
                    "packets": t.packets,
                    "openers": t.openers,
                    "damaged": t.damaged,
                    "hits": t.hits,
                    "expected": _finite(t.expected),
                    "p_value": _finite(t.p_value),
                    "confirms": t.confirms,
                }
                for path, t in zip(tested, self.tests, strict=True)
            ],
            "diagnosis": self.diagnosis.to_dict(),
        }


def _finite(x: float) -> float | None:
    """``x`` as JSON has it: a finite float, else None (JSON has no NaN or infinity)."""
    return float(x) if math.isfinite(x) else None
