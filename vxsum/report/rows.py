"""Verdict rows on their way out: which to list, and where they wait until written.

A row is one checksum field of one frame (:data:`vxsum.verdicts.labels.ROW`), about 200
bytes of codes and numbers whichever path made it. The rows of a file wait in a
:class:`~vxsum.verdicts.spool.Spool` (a temporary file) until the file is read to its end,
when flow evidence is final; memory stays flat however many rows there are.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..capture.walking import NO_TIMESTAMP
from ..verdicts.labels import HARMLESS, LABELS, Label
from ..verdicts.spool import Spool
from ..verdicts.text import FLOW_COLUMNS, Addresses, Numbers, flow_columns

__all__ = [
    "COLUMNS",
    "FLOW_COLUMNS",
    "FRAME_FILTER",
    "TABLE_COLUMNS",
    "Addresses",
    "Numbers",
    "Spool",
    "display_filters",
    "flow_columns",
    "harmless",
    "quiet",
    "times",
]

COLUMNS = [
    "file",
    "frame",
    "depth",
    "layer",
    "value",
    "expected",
    "verdict",
    "harmless",
    "detail",
    "confirmed_by",
    "hypothesis",
    "port_before_nat",
    "time",
    "record_offset",
    "display_filter",
    *FLOW_COLUMNS,
]
"""The jsonl contract's keys, in order; ``quoted`` follows where true. Columns are only
ever appended (docs/cli.md, "Versions of the row contract")."""

TABLE_COLUMNS = [*COLUMNS[:12], "quoted", *COLUMNS[12:]]
"""The csv and Arrow columns, in order: ``quoted`` (always there) keeps the place it had
before the columns after it were appended, so that readers by position keep working."""

_QUIET = np.array([label in (Label.GOOD, Label.NO_CHECKSUM) for label in LABELS])
_HARMLESS = np.array([label in HARMLESS for label in LABELS])


def quiet(labels: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """Rows a person need not look at (``good`` and ``no-checksum``)."""
    out: npt.NDArray[np.bool_] = _QUIET[labels]
    return out


def times(rows: npt.NDArray[np.void]) -> npt.NDArray[np.object_]:
    """The ``time`` column as Python values: nanoseconds since the epoch, None where the
    record has no timestamp (or the frame no capture)."""
    out = rows["time"].astype(object)
    out[rows["time"] == NO_TIMESTAMP] = None
    return out


FRAME_FILTER = "frame.number == "
"""What ``display_filter`` puts before a row's frame number."""


def display_filters(rows: npt.NDArray[np.void]) -> list[str]:
    """The ``display_filter`` column: the Wireshark display filter that selects each
    row's frame (Wireshark numbers frames from 1 in file order, as ``frame`` does)."""
    return [f"{FRAME_FILTER}{n}" for n in rows["frame"].tolist()]


def harmless(labels: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """Rows whose field does no harm (receivers accept the packet, or it is an artefact)."""
    out: npt.NDArray[np.bool_] = _HARMLESS[labels]
    return out
