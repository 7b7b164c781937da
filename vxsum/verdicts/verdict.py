"""Verdicts: for every checksum field, is it right, and if not, why?

:func:`classify` judges one frame on its own: its facts (:func:`vxsum.frames.facts.facts_of`)
go through the rules (:func:`vxsum.verdicts.rules.judge`), one :class:`Verdict` per field.
:func:`classify_stream` judges many frames as :func:`vxsum.report.analysis.analyze_file`
does, with :class:`Judge`: the rules, then a NAT context where one is given (a conntrack
table, a capture taken before NAT: :mod:`vxsum.verdicts.confirm`), then what the packets
of each flow say together (:mod:`vxsum.verdicts.flows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..frames.config import ParseConfig
from ..frames.facts import Columns, facts_of, gather, scatter
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
from .stats import CaptureTest, Outcome

__all__ = ["CONFIRMED", "Judge", "Verdict", "classify", "classify_stream", "confirmed"]

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
        }


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


def classify_stream(
    frames: Iterable[Frame],
    *,
    conntrack: Conntrack | None = None,
    before: PreNatCapture | None = None,
) -> tuple[list[list[Verdict]], Diagnosis]:
    """Verdicts for every frame, with NAT and flow context, and the frames' diagnosis.

    With ``conntrack`` (the sending node's ``conntrack -L``) or ``before`` (a capture of
    the same packets taken before NAT), explanations of outer UDP checksums are checked
    exactly (:mod:`vxsum.verdicts.confirm`).
    """
    judge_ = Judge(conntrack, before)
    kept: list[Rows] = []
    for number, frame in enumerate(frames, 1):
        table = judge_.rows(facts_of(frame, number), _always(frame))
        judge_.observe([table])
        kept.append(gather(table, ROW))
    outcome = judge_.conclude()
    tally = Tally(frames=len(kept))
    result = []
    for rows in kept:
        judge_.finish(rows)
        tally.add(rows)
        result.append([Verdict.of(row) for row in rows])
    return result, diagnose(tally, [outcome])
