"""Verdicts: for every checksum field, is it right, and if not, why?

:func:`classify` judges one frame on its own: its facts (:func:`vxsum.frames.facts.facts_of`)
go through the rules (:func:`vxsum.verdicts.rules.judge`), one :class:`Verdict` per field.
:func:`classify_stream` judges many frames as :func:`vxsum.report.analysis.analyze_file`
does, with :class:`Judge`: the rules, then a NAT context where one is given (a conntrack
table, a capture taken before NAT: :mod:`vxsum.verdicts.confirm`), then what the packets
of each flow say together (:mod:`vxsum.verdicts.flows`).
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ..frames.config import ParseConfig
from ..frames.facts import FACT, Columns, fact_tuples, facts_of, gather, scatter
from ..frames.fields import LAYERS
from ..frames.frame import Frame, parse
from ..kernel.conntrack import Conntrack
from . import text
from .confirm import needs_context, with_context
from .diagnosis import Diagnosis, Tally, diagnose
from .flows import FlowTable
from .labels import HARMLESS, LABELS, ROW, Context, Evidence, Label
from .prenat import PreNatCapture
from .rules import Table, judge, verdicts
from .spool import Spool
from .stats import CaptureTest, Outcome

__all__ = [
    "CONFIRMED",
    "FrameVerdicts",
    "Judge",
    "Verdict",
    "classify",
    "classify_stream",
    "confirmed",
]

Rows = npt.NDArray[np.void]

CONFIRMED = frozenset(
    {Context.FLOW_AGREES, Context.CONNTRACK_STALE, Context.BEFORE_STALE, Context.CAPTURE}
)
"""The contexts that confirm a ``nat-stale`` field."""
_STALE = LABELS.index(Label.NAT_STALE)


def confirmed(rows: Rows) -> int:
    """How many ``nat-stale`` rows a context confirmed."""
    stale = rows["label"] == _STALE
    return int((stale & np.isin(rows["context"], [int(c) for c in CONFIRMED])).sum())


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict on one checksum field: its label and the evidence, as codes and numbers
    (``row``, a :data:`~vxsum.verdicts.labels.ROW`); :attr:`detail` says it in words."""

    layer: str
    depth: int
    quoted: bool
    value: int
    expected: int | None
    verdict: Label
    harmless: bool
    evidence: Evidence
    context: Context
    pre_nat_port: int | None
    """``nat-stale``, or its hypothesis: the source port the field is right for."""
    row: np.void = field(repr=False, compare=False)

    @classmethod
    def of(cls, row: np.void) -> Verdict:
        label = LABELS[row["label"]]
        expected, port = int(row["expected"]), int(row["port"])
        return cls(
            LAYERS[row["layer"]],
            int(row["depth"]),
            bool(row["quoted"]),
            int(row["stored"]),
            None if expected < 0 else expected,
            label,
            label in HARMLESS,
            Evidence(int(row["evidence"])),
            Context(int(row["context"])),
            port if port >= 0 else None,
            row.copy(),
        )

    @property
    def detail(self) -> str:
        """The evidence in words (:func:`vxsum.verdicts.text.detail`)."""
        return text.detail(self.row)

    @property
    def confirmed_by(self) -> str | None:
        """Which context confirmed the cause in :attr:`verdict`: ``flow``, ``conntrack``,
        ``before-nat`` or ``capture``; None for a cause the field's own bytes show, and for
        a field without one."""
        return text.confirmed_by(self._rows())[0]

    @property
    def hypothesis(self) -> str | None:
        """The cause the field's bytes fit while nothing confirms it (``nat-stale``)."""
        return text.hypotheses(self._rows())[0]

    def _rows(self) -> Rows:
        return np.array([self.row], dtype=ROW)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (the label as its string), as in a jsonl row."""
        return {
            "layer": self.layer,
            "depth": self.depth,
            "quoted": self.quoted,
            "value": self.value,
            "expected": self.expected,
            "verdict": str(self.verdict),
            "harmless": self.harmless,
            "detail": self.detail,
            "confirmed_by": self.confirmed_by,
            "hypothesis": self.hypothesis,
            "port_before_nat": text.ports_before_nat(self._rows())[0],
            **self.flow(),
        }

    def flow(self) -> dict[str, object]:
        """The packet, flow and tunnel of the field, as in a jsonl row: ``src``, ``dst``,
        ``sport``, ``dport``, ``protocol``, ``vni`` and the ``inner_`` five
        (:data:`~vxsum.verdicts.text.FLOW_COLUMNS`; None where they do not apply)."""
        columns = text.flow_columns(self._rows())
        values = [c.values() if isinstance(c, text.Addresses) else c.python() for c in columns]
        return {name: v[0] for name, v in zip(text.FLOW_COLUMNS, values, strict=True)}


def classify(
    frame: Frame | bytes | bytearray | memoryview | object,
    linktype: int | None = None,
    *,
    config: ParseConfig | None = None,
) -> list[Verdict]:
    """A verdict for every checksum field of one frame, on the frame's own evidence;
    anything else :func:`~vxsum.frames.frame.parse` takes (bytes-likes, dpkt and scapy
    packets) is parsed first."""
    if not isinstance(frame, Frame):
        frame = parse(frame, linktype, config=config)
    return [Verdict.of(row) for row in judge(facts_of(frame))]


class Judge:
    """Verdict rows for a stream of frames: the rules and the NAT context (:meth:`rows`),
    then what the packets say together: flows and the capture as a whole (:meth:`observe`
    each batch, :meth:`finish` every row once all are in).
    """

    def __init__(
        self, conntrack: Conntrack | None = None, before: PreNatCapture | None = None
    ) -> None:
        self.conntrack, self.before = conntrack, before
        self.flows = FlowTable()
        self.capture = CaptureTest()

    @property
    def has_context(self) -> bool:
        return self.conntrack is not None or self.before is not None

    def rows(self, facts: Table, frame_of: Callable[[int], Frame | None]) -> Columns:
        """The verdicts of ``facts``, as the columns of :data:`ROW`; ``frame_of(number)``
        gives a frame that a NAT context must look at (None if it cannot be parsed)."""
        table = verdicts(facts)
        if self.has_context:
            asked = np.flatnonzero(needs_context(table))
            for number in np.unique(table["frame"][asked]).tolist():
                frame = frame_of(number)
                if frame is None:
                    continue
                mine = asked[table["frame"][asked] == number]
                part = gather(table, ROW, mine)
                with_context(frame, part, self.conntrack, self.before)
                scatter(table, part, mine)
        return table

    def observe(self, tables: list[Columns]) -> None:
        """Take in a batch's verdicts (its frames may interleave across the tables): what
        each flow says, and what the capture-wide test counts (this marks ``opens``)."""
        for table in tables:
            self.flows.note(table)
        self.capture.note(tables)

    def conclude(self) -> Outcome:
        """The capture-wide test, once every batch has been observed."""
        if self.capture.outcome is None:
            return self.capture.conclude(self.flows)
        return self.capture.outcome

    def finish(self, rows: Rows) -> None:
        """Flow and capture context for ``rows`` (in place), once every batch is in."""
        self.conclude()
        self.flows.refine(rows)
        self.capture.apply(rows)


def _always(frame: Frame) -> Callable[[int], Frame | None]:
    return lambda _: frame


_BATCH = 1024
"""Frames whose facts :func:`classify_stream` judges together (numpy works on arrays)."""


class FrameVerdicts(Sequence[list[Verdict]]):
    """The verdicts of :func:`classify_stream`, a list of :class:`Verdict` per frame, in
    the order of the frames. What is kept is one :data:`~vxsum.verdicts.labels.ROW`
    record per field (about 200 bytes), in frame order, mapped from a temporary file (read
    into memory when there are no more than 32,768); a frame's fields are found by their
    frame numbers and its :class:`Verdict` objects made when its list is asked for, so a
    long stream holds neither a Python object per field nor anything per frame in memory."""

    __slots__ = ("_frames", "_len", "rows")

    def __init__(self, rows: Rows, frames: int) -> None:
        self.rows = rows
        """Every frame's fields, frame after frame, as ROW records (frames numbered from 1)."""
        self._frames = rows["frame"]
        self._len = frames

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> list[Verdict]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[Verdict]]: ...
    def __getitem__(self, index: int | slice) -> list[Verdict] | list[list[Verdict]]:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        k = operator.index(index)
        k += len(self) if k < 0 else 0
        if not 0 <= k < len(self):
            raise IndexError(f"frame index {index} out of range ({len(self)} frames)")
        start = bisect.bisect_left(self._frames, k + 1)  # a column of the mapped file:
        end = bisect.bisect_left(self._frames, k + 2, lo=start)  # np.searchsorted copies it
        return [Verdict.of(row) for row in self.rows[start:end]]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable rows, as a list

    def __repr__(self) -> str:
        return f"FrameVerdicts({len(self)} frames, {len(self.rows)} fields)"


def classify_stream(
    frames: Iterable[Frame],
    *,
    conntrack: Conntrack | None = None,
    before: PreNatCapture | None = None,
) -> tuple[FrameVerdicts, Diagnosis]:
    """Verdicts for every frame, with NAT and flow context, and the frames' diagnosis.

    With ``conntrack`` (the sending node's ``conntrack -L``) or ``before`` (a capture of
    the same packets taken before NAT), explanations of outer UDP checksums are checked
    exactly (:mod:`vxsum.verdicts.confirm`). Frames are judged :data:`_BATCH` at a time;
    flow evidence needs every frame before any verdict is final, so their records wait in
    a temporary file (:class:`~vxsum.verdicts.spool.Spool`) and the result maps them from
    there (:class:`FrameVerdicts`): memory grows with the flows, not with the stream.
    """
    judge_ = Judge(conntrack, before)
    facts: list[tuple[Any, ...]] = []
    held: dict[int, Frame] = {}  # a NAT context looks at the frame itself
    spool, final = Spool(), Spool()

    def judge_held() -> None:
        table = judge_.rows(np.array(facts, dtype=FACT), held.get)
        judge_.observe([table])
        spool.append(gather(table, ROW))
        facts.clear()
        held.clear()

    try:
        number = 0
        for number, frame in enumerate(frames, 1):
            facts += fact_tuples(frame, number)
            if judge_.has_context:
                held[number] = frame
            if number % _BATCH == 0:
                judge_held()
        judge_held()  # the last frames (or none: an empty table)
        outcome = judge_.conclude()
        tally = Tally(frames=number)
        for rows in spool:
            judge_.finish(rows)
            tally.add(rows)
            final.append(rows)
        # a mapping holds a file descriptor: a few frames' rows are read into memory
        small = final.rows <= final.chunk_rows
        result = FrameVerdicts(final.read() if small else final.mapped(), number)
    finally:
        spool.close()
        final.close()
    return result, diagnose(tally, [outcome])
