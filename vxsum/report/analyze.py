"""Analysing a capture file: every checksum field counted, classified and explained.

This is ``vxsum analyze`` as a library call (:func:`analyze_file`). Per batch of
records (:mod:`vxsum.capture.reader`):

1. the batch path (:mod:`vxsum.frames.layouts`) classifies every record with the common
   tunnel layout at once;
2. every other record is parsed and classified on its own (:func:`vxsum.parse`,
   :func:`vxsum.classify`), as are the fitting records whose outer checksum a NAT
   context (a conntrack table, a capture taken before NAT) can check exactly;
3. fields are counted; the rows to list (those worth a look, or all with
   ``all_fields``) go to a :class:`~vxsum.report.rows.Spool`.

Once the file is read, flow evidence is final: the spooled rows are refined
(``nat-stale`` confirmed or not, :class:`~vxsum.report.rows.FlowTable`), counted and handed
to ``sink`` in frame order. Memory stays flat: batches are 16 MiB, rows wait on disk,
and what grows is only the table of flows with harmful fields and the evidence texts of
records outside the common layout.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import numpy.typing as npt

from ..capture.reader import CaptureBatch, CaptureReader
from ..errors import VxsumError
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..frames.layouts import DETAILS, LABELS, LAYERS, classify_batch
from ..kernel.conntrack import Conntrack
from ..verdicts import text as evidence
from ..verdicts.diagnosis import Diagnosis, diagnose
from ..verdicts.labels import Label
from .rows import (
    FlowTable,
    Spool,
    detail_text,
    flow_hash,
    flow_key,
    flow_name,
    harmless,
    pending,
    quiet,
    rows_from_fast,
    rows_from_verdicts,
)

if TYPE_CHECKING:
    from ..frames.frame import Frame
    from ..verdicts.prenat import PreNatCapture

__all__ = ["FileReport", "RowSink", "Summary", "analyze_file"]

RowSink = Callable[[str, npt.NDArray[np.void], list[str]], None]
"""Receives the rows of a file in frame order: (file, rows as :data:`vxsum.report.rows.ROW`,
their evidence texts). Labels in the rows are final."""

_CHECKED = {LABELS.index(x) for x in (Label.NAT_STALE, Label.NAT_ZERO_MANGLED, Label.CORRUPT)}
_STALE = LABELS.index(Label.NAT_STALE)
_GOOD = LABELS.index(Label.GOOD)
_NO_CHECKSUM = DETAILS.index("no-checksum")
_CORRUPT = LABELS.index(Label.CORRUPT)


@dataclass
class FileReport:
    """What one capture file holds: every packet accounted for, every field counted."""

    path: str
    packets: int = 0
    problems: list[str] = field(default_factory=list)
    """Records not parsed or not read, each naming its record number and byte offset."""
    fields: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    """Checksum fields by (layer, depth, verdict)."""
    harmful: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Harmful fields by (verdict, flow)."""
    rows: int = 0
    """Rows handed to the sink."""
    stale_confirmed: int = 0
    """``nat-stale`` fields confirmed by flow evidence or context."""
    diagnosis: Diagnosis = field(default_factory=Diagnosis)

    def labels(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (_, _, verdict), n in self.fields.items():
            out[verdict] += n
        return out


def _count(report: FileReport, rows: npt.NDArray[np.void]) -> None:
    """Add rows to the report's field counts by (layer, depth, label)."""
    _count_codes(report, rows["layer"], rows["depth"], rows["label"])


def _count_codes(
    report: FileReport,
    layers: npt.NDArray[np.integer],
    depths: npt.NDArray[np.integer] | int,
    labels: npt.NDArray[np.integer],
) -> None:
    """Add fields, given as layer, depth and label codes, to the report's counts."""
    if not len(labels):
        return
    code = (layers.astype(np.int64) * 256 + depths) * 256 + labels
    values, counts = np.unique(code, return_counts=True)
    for v, c in zip(values.tolist(), counts.tolist(), strict=True):
        layer, depth, label = LAYERS[v >> 16], (v >> 8) & 0xFF, str(LABELS[v & 0xFF])
        report.fields[(layer, depth, label)] += c


def _slow_rows(
    frame: Frame,
    number: int,
    conntrack: Conntrack | None,
    before: PreNatCapture | None,
    flows: FlowTable,
    texts: list[str],
) -> npt.NDArray[np.void]:
    from ..frames.transport import TCP
    from ..verdicts.stream import headers_at, with_context
    from ..verdicts.verdict import classify  # the per-frame path: imported when first needed

    verdicts = with_context(frame, classify(frame), conntrack, before)
    keys: list[bytes | None] = []
    for v in verdicts:
        right = v.layer == "udp" and v.verdict == Label.GOOD and v.value != 0
        ip, l4 = headers_at(frame, v.depth) if right or not v.harmless else (None, None)
        if ip is None:
            keys.append(None)
        elif l4 is None:
            keys.append(flow_key(ip.src, ip.dst, 0, 0, 0))
        else:
            proto = 6 if isinstance(l4, TCP) else 17
            keys.append(flow_key(ip.src, ip.dst, l4.src_port, l4.dst_port, proto))
        if right and keys[-1] is not None:
            flows.note_right(np.array([flow_hash(keys[-1])], dtype=np.uint64))
    return rows_from_verdicts(number, verdicts, keys, flows, texts)


def _batch_rows(
    batch: CaptureBatch,
    config: ParseConfig,
    conntrack: Conntrack | None,
    before: PreNatCapture | None,
    all_fields: bool,
    report: FileReport,
    flows: FlowTable,
    texts: list[str],
) -> npt.NDArray[np.void]:
    """Count a batch's fields; return its rows to list, in frame order."""
    fast = classify_batch(
        batch.buffer, batch.offsets, batch.caplens, batch.wirelens, batch.linktypes, config
    )
    if conntrack is not None or before is not None:  # the context checks these per frame
        out = fast.slots[1]
        checked = np.isin(out.label, list(_CHECKED))
        if checked.any():
            fast = fast.without(fast.record[checked])
    fits = fast.fits
    outer = fast.slots[1]
    flows.note_right(fast.outer_hash[(outer.label == _GOOD) & (outer.value != 0)].view(np.uint64))
    present = np.stack([s.present for s in fast.slots], axis=1)
    if all_fields:
        listed = present
    else:
        listed = present & ~quiet(np.stack([s.label for s in fast.slots], axis=1))
        for s, shown in zip(fast.slots, listed.T, strict=True):
            hidden = s.present & ~shown
            if hidden.any():
                _count_codes(report, s.layer[hidden], s.depth, s.label[hidden])
    parts = [rows_from_fast(fast, batch.numbers, listed, flows)]
    slow_records = np.flatnonzero(~fits).tolist()
    if slow_records:
        from ..frames.frame import parse  # the per-frame path: imported when first needed
    for k in slow_records:
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
            report.problems.append(f"{report.path}: record {number} ({where}): {err}")
            continue
        slow = _slow_rows(frame, number, conntrack, before, flows, texts)
        if not all_fields:
            _count(report, slow[quiet(slow["label"])])
            slow = slow[~quiet(slow["label"])]
        parts.append(slow)
    if len(parts) == 1:
        return parts[0]
    # The batch path's rows are in frame order, and so are the others: merge them
    # (a record is in one or the other, never both).
    fast_rows, slow = parts[0], np.concatenate(parts[1:])
    return np.insert(fast_rows, np.searchsorted(fast_rows["frame"], slow["frame"]), slow)


def _finish(
    report: FileReport, spool: Spool, flows: FlowTable, texts: list[str], sink: RowSink | None
) -> int:
    """Refine, count and hand on the spooled rows; returns the confirmed ``nat-stale``."""
    confirmed = 0
    for rows in spool:
        stale = np.flatnonzero(pending(rows)).tolist()
        details = [""] * len(rows)
        plain = (rows["detail"] == _NO_CHECKSUM) & (rows["text"] < 0)
        for i in np.flatnonzero(plain).tolist():
            details[i] = evidence.NO_CHECKSUM
        for i in np.flatnonzero(~plain & ((rows["detail"] != 0) | (rows["text"] >= 0))).tolist():
            details[i] = detail_text(rows[i], texts)
        for i in stale:
            still, details[i] = flows.refine(
                int(rows["flow"][i]), int(rows["old_port"][i]), details[i]
            )
            if not still:
                rows["label"][i] = _CORRUPT
        confirmed += sum(
            details[i].startswith("confirmed")
            for i in np.flatnonzero(rows["label"] == _STALE).tolist()
        )
        _count(report, rows)
        bad = np.flatnonzero(~harmless(rows["label"]) & (rows["flow"] >= 0))
        pairs = zip(rows["label"][bad].tolist(), rows["flow"][bad].tolist(), strict=True)
        for (label, flow), n in Counter(pairs).items():
            report.harmful[(str(LABELS[label]), flow_name(flows.keys[flow]))] += n
        report.rows += len(rows)
        if sink is not None:
            sink(report.path, rows, details)
    return confirmed


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
    name = os.fspath(path) if isinstance(path, str | os.PathLike) else "-"
    report = FileReport(name)
    flows, spool = FlowTable(), Spool()
    texts: list[str] = []
    try:
        with CaptureReader(path, keep_going=keep_going) as reader:
            for batch in _prefetch(reader.batches()):
                report.packets += len(batch.offsets)
                rows = _batch_rows(
                    batch, config, conntrack, before_nat, all_fields, report, flows, texts
                )
                flows.note(rows)
                spool.append(rows)
                if progress is not None and len(batch.file_offsets):
                    progress(int(batch.file_offsets[-1]))
            report.problems.extend(str(p) for p in reader.problems)
        report.stale_confirmed = _finish(report, spool, flows, texts, sink)
    finally:
        spool.close()
    report.diagnosis = diagnose(
        report.labels(), frames=report.packets, stale_confirmed=report.stale_confirmed
    )
    return report


@dataclass
class Summary:
    """The reports of several files, added up, with one diagnosis for them all."""

    files: int = 0
    packets: int = 0
    problems: list[str] = field(default_factory=list)
    fields: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    harmful: Counter[tuple[str, str]] = field(default_factory=Counter)
    diagnosis: Diagnosis = field(default_factory=Diagnosis)

    @classmethod
    def of(cls, reports: list[FileReport]) -> Summary:
        total = cls(files=len(reports))
        confirmed = 0
        for r in reports:
            total.packets += r.packets
            total.problems.extend(r.problems)
            total.fields.update(r.fields)
            total.harmful.update(r.harmful)
            confirmed += r.stale_confirmed
        labels: Counter[str] = Counter()
        for (_, _, verdict), n in total.fields.items():
            labels[verdict] += n
        total.diagnosis = diagnose(labels, frames=total.packets, stale_confirmed=confirmed)
        return total

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
            "diagnosis": self.diagnosis.to_dict(),
        }
