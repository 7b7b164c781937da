"""Analysing a capture file: every checksum field counted, classified and explained.

This is ``vxsum analyze`` as a library call (:func:`analyze_file`). Per batch of
records (:mod:`vxsum.capture.reader`):

1. the facts of every checksum field: the records with the common tunnel layout at once
   (:func:`vxsum.frames.layouts.common_facts`), every other record parsed on its own
   (:func:`vxsum.frames.facts.facts_of`);
2. their verdicts (:class:`vxsum.verdicts.verdict.Judge`: the rules, a NAT context where
   one is given, then what each flow says);
3. fields are counted; the rows to list (those worth a look, or all with
   ``all_fields``) go to a :class:`~vxsum.report.rows.Spool`.

Once the file is read, flow evidence is final: the spooled rows get their flow context,
are counted and handed to ``sink`` in frame order. Memory stays flat: batches are 16
MiB, rows wait on disk, and what grows is the table of flows with ``nat-stale`` fields or
right UDP checksums.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from ..capture.reader import CaptureBatch, CaptureReader
from ..errors import VxsumError
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..frames.facts import FACT, Columns, facts_of, gather
from ..frames.frame import Frame, parse
from ..frames.layouts import common_facts
from ..kernel.conntrack import Conntrack
from ..verdicts.diagnosis import Diagnosis, Tally, diagnose
from ..verdicts.labels import ROW
from ..verdicts.prenat import PreNatCapture
from ..verdicts.stats import Outcome
from ..verdicts.verdict import Judge
from .rows import Spool, quiet

__all__ = ["FileReport", "Options", "RowSink", "Summary", "analyze", "analyze_file"]

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
    problems: list[str] = field(default_factory=list)
    """Records not parsed or not read, each naming its record number and byte offset."""
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
    def harmful(self) -> Counter[tuple[str, str]]:
        """Harmful fields by (verdict, flow)."""
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

    def frame(k: int) -> Frame | None:
        number = int(batch.numbers[k])
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
                where = f"file byte {int(batch.file_offsets[k])}"
                report.problems.append(f"{report.path}: record {number} ({where}): {err}")
                parsed[number] = None
        return parsed[number]

    slow = []
    for k in np.flatnonzero(~fits).tolist():
        found = frame(k)
        if found is not None:
            slow.append(facts_of(found, int(batch.numbers[k])))

    def frame_of(number: int) -> Frame | None:
        return frame(int(np.searchsorted(batch.numbers, number)))

    tables = [judge.rows(fast, frame_of)]
    if slow:
        tables.append(judge.rows(np.concatenate(slow, dtype=FACT), frame_of))
    judge.observe(tables)
    rows = _listed(tables[0], options, report)
    if not slow:
        return [rows]
    others = _listed(tables[1], options, report)
    # A record is in one part or the other, each in frame order: the pieces in turn, in
    # frame order, without copying the (large) batch rows.
    cuts = np.searchsorted(rows["frame"], others["frame"]).tolist()
    pieces, last = [], 0
    for k, cut in enumerate(cuts):
        pieces += [rows[last:cut], others[k : k + 1]]
        last = cut
    return [*pieces, rows[last:]]


def _listed(table: Columns, options: Options, report: FileReport) -> Rows:
    """The rows of ``table`` to list; the others are counted."""
    if options.all_fields:
        return gather(table, ROW)
    hidden = quiet(table["label"])
    report.tally.count(table, hidden)
    return gather(table, ROW, np.flatnonzero(~hidden))


def _finish(report: FileReport, spool: Spool, judge: Judge, sink: RowSink | None) -> None:
    """Flow and capture context, counts and the sink for the spooled rows."""
    for rows in spool:
        judge.finish(rows)
        report.tally.add(rows)
        report.rows += len(rows)
        if sink is not None:
            sink(report.path, rows)


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


def analyze(
    path: str | os.PathLike[str] | BinaryIO,
    options: Options,
    *,
    sink: RowSink | None = None,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """:func:`analyze_file` with its options in one :class:`Options`."""
    name = os.fspath(path) if isinstance(path, str | os.PathLike) else "-"
    report = FileReport(name)
    judge = Judge(options.conntrack, options.before_nat)
    spool = Spool()
    try:
        with CaptureReader(path, keep_going=options.keep_going) as reader:
            for batch in _prefetch(reader.batches()):
                report.packets += len(batch.offsets)
                for rows in _batch_rows(batch, options, judge, report):
                    spool.append(rows)
                if progress is not None and len(batch.file_offsets):
                    progress(int(batch.file_offsets[-1]))
            report.problems.extend(str(p) for p in reader.problems)
        report.capture_test = judge.conclude()
        _finish(report, spool, judge, sink)
    finally:
        spool.close()
    report.tally.frames = report.packets
    report.diagnosis = diagnose(report.tally, [report.capture_test])
    return report


@dataclass
class Summary:
    """The reports of several files, added up, with one diagnosis for them all."""

    files: int = 0
    packets: int = 0
    problems: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    tests: list[Outcome] = field(default_factory=list)
    """The capture-wide test of each file (a test is per capture)."""
    diagnosis: Diagnosis = field(default_factory=Diagnosis)

    @classmethod
    def of(cls, reports: list[FileReport]) -> Summary:
        total = cls(files=len(reports))
        for r in reports:
            total.packets += r.packets
            total.problems.extend(r.problems)
            total.tally.update(r.tally)
            if r.capture_test is not None:
                total.tests.append(r.capture_test)
        total.diagnosis = diagnose(total.tally, total.tests)
        return total

    @property
    def fields(self) -> Counter[tuple[str, int, str]]:
        return self.tally.fields

    @property
    def harmful(self) -> Counter[tuple[str, str]]:
        return self.tally.flows

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values."""
        return {
            "files": self.files,
            "packets": self.packets,
            "problems": list(self.problems),
            "fields": [
                {"layer": layer, "depth": depth, "verdict": verdict, "count": n}
                for (layer, depth, verdict), n in sorted(self.fields.items())
            ],
            "harmful": [
                {"verdict": verdict, "flow": flow, "count": n}
                for (verdict, flow), n in self.harmful.most_common()
            ],
            "capture_tests": [
                {
                    "packets": t.packets,
                    "openers": t.openers,
                    "damaged": t.damaged,
                    "hits": t.hits,
                    "expected": t.expected,
                    "p_value": t.p_value,
                    "confirms": t.confirms,
                }
                for t in self.tests
            ],
            "diagnosis": self.diagnosis.to_dict(),
        }
