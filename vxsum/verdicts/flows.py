"""Flows: one key, one hash, and what the packets of a flow say together.

A flow is the packet at a field's depth: addresses, TCP or UDP ports and protocol, all
columns of the verdict row, so :func:`flow_hashes` needs nothing else. :class:`FlowTable`
collects, per outer flow, the ports before NAT that its fields imply (those whose bytes fit
a source-port rewrite, evidence ``STALE``) and how many of its packets carry a right UDP
checksum, then gives each such field its flow context (:meth:`FlowTable.refine`):

* for a tunnel flow the port before NAT comes from the inner flow's hash, so every
  packet of one outer flow must imply the same one: fields that imply different ports
  are not stale after all (:attr:`Context.FLOW_CONTRADICTS`);
* NAT rewrites every packet of a flow alike, so right (non-zero) outer checksums in the
  same flow speak against it (:attr:`Context.FLOW_RIGHT`);
* otherwise two or more agreeing fields confirm it (:attr:`Context.FLOW_AGREES`): random
  damage makes two fields of one flow agree on the port about once in 65,535 times. Then
  they are ``nat-stale``; else they stay ``corrupt``, the rewrite their hypothesis.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt

from ..frames.facts import Columns
from .labels import LABELS, Context, Evidence, Label
from .text import endpoint

__all__ = ["FLOW_POWERS", "FlowTable", "flow_hashes", "flow_name"]

Rows = npt.NDArray[np.void]
Table = Columns | Rows
U64 = npt.NDArray[np.uint64]

FLOW_POWERS = np.cumprod(np.full(19, 0x9E3779B97F4A7C15, dtype=np.uint64))
"""Multipliers of the 19 words of a flow (8 + 8 address words, the two ports, the
protocol), modulo 2**64."""

_STALE, _CORRUPT = LABELS.index(Label.NAT_STALE), LABELS.index(Label.CORRUPT)
_FOLD_AT = 1 << 20  # right checksums noted before they are folded into (hash, count) pairs
_GOOD = LABELS.index(Label.GOOD)


def flow_hashes(
    rows: Table, index: npt.NDArray[np.intp] | None = None, *, either_way: bool = False
) -> U64:
    """A 64-bit hash of the flow of each row (those at ``index``, or all): its 19 words
    times fixed odd powers, summed modulo 2**64. With ``either_way`` a flow and its
    reply (addresses and ports swapped) hash alike: the sum of both directions' hashes."""

    def column(name: str) -> npt.NDArray[np.uint64]:
        values = rows[name] if index is None else rows[name][index]
        return np.asarray(values).astype(np.uint64)

    directions = [("src", "dst", "sport", "dport")]
    if either_way:
        directions.append(("dst", "src", "dport", "sport"))
    proto = column("proto")
    h = np.zeros(len(proto), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for src, dst, sport, dport in directions:
            for side, first in ((src, 0), (dst, 8)):
                h += (column(side) * FLOW_POWERS[first : first + 8]).sum(axis=1, dtype=np.uint64)
            for name, k in ((sport, 16), (dport, 17)):
                h += column(name) * FLOW_POWERS[k]
            h += proto * FLOW_POWERS[18]
    return h


def flow_name(row: np.void) -> str:
    """'src:port > dst:port udp' for a row's flow ('src > dst' without ports)."""
    v6, proto = bool(row["v6"]), int(row["proto"])
    if proto == 0:
        src = endpoint(row["src"], 0, v6).rsplit(":", 1)[0]
        dst = endpoint(row["dst"], 0, v6).rsplit(":", 1)[0]
        return f"{src} > {dst}"
    src = endpoint(row["src"], int(row["sport"]), v6)
    dst = endpoint(row["dst"], int(row["dport"]), v6)
    return f"{src} > {dst} {'tcp' if proto == 6 else 'udp'}"


class FlowTable:
    """What the packets of each flow imply together (see the module docstring).

    Memory grows with the flows, not with the packets: right checksums are kept as
    (hashes, counts) pairs, folded together every million or so.
    """

    def __init__(self) -> None:
        self.ports: dict[int, Counter[int]] = {}
        self._right: list[tuple[U64, npt.NDArray[np.int64]]] = []  # (hashes, counts)
        self._unfolded = 0
        self._right_counts: dict[int, int] | None = None

    def note(self, rows: Table) -> None:
        """Take in a batch of verdicts: right tunnel checksums and ``nat-stale`` ports."""
        right = np.flatnonzero((rows["label"] == _GOOD) & rows["tunnel"] & (rows["stored"] != 0))
        if len(right):
            self._right.append((flow_hashes(rows, right), np.ones(len(right), np.int64)))
            self._unfolded += len(right)
            if self._unfolded > _FOLD_AT:
                self._right, self._unfolded = [self._folded()], 0
            self._right_counts = None
        stale = np.flatnonzero(rows["port"] >= 0)  # a port before NAT: hypothesis or cause
        ports = rows["port"][stale].tolist()
        for h, port in zip(flow_hashes(rows, stale).tolist(), ports, strict=True):
            self.ports.setdefault(h, Counter())[port] += 1

    def _folded(self) -> tuple[U64, npt.NDArray[np.int64]]:
        if not self._right:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        values = np.concatenate([v for v, _ in self._right])
        counts = np.concatenate([c for _, c in self._right])
        unique, where = np.unique(values, return_inverse=True)
        return unique, np.bincount(where, weights=counts, minlength=len(unique)).astype(np.int64)

    def right(self, flow: int) -> int:
        """How many right, non-zero tunnel UDP checksums the flow's packets carry."""
        if self._right_counts is None:
            values, counts = self._folded()
            hit = np.isin(values, np.array(sorted(self.ports), dtype=np.uint64))
            self._right_counts = dict(zip(values[hit].tolist(), counts[hit].tolist(), strict=True))
        return self._right_counts.get(flow, 0)

    def refine(self, rows: Rows) -> None:
        """Give each row whose bytes fit a source-port rewrite, and that no other context
        judged, its flow context (in place): confirmed (then ``nat-stale``), not confirmed,
        or contradicted (both stay ``corrupt``)."""
        todo = np.flatnonzero(
            (rows["label"] == _CORRUPT)
            & (rows["evidence"] == Evidence.STALE)
            & (rows["context"] == Context.NONE)
        )
        if not len(todo):
            return
        for i, h in zip(todo.tolist(), flow_hashes(rows, todo).tolist(), strict=True):
            port, seen = int(rows["port"][i]), self.ports.get(h, Counter())
            if len(seen) > 1:
                rows["context"][i], rows["count"][i] = Context.FLOW_CONTRADICTS, len(seen) - 1
            elif right := self.right(h):
                rows["context"][i], rows["count"][i] = Context.FLOW_RIGHT, right
            elif seen[port] > 1:
                rows["context"][i], rows["count"][i] = Context.FLOW_AGREES, seen[port]
                rows["label"][i] = _STALE
