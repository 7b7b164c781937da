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

from typing import Any

import numpy as np
import numpy.typing as npt

from ..frames.facts import Columns
from .labels import LABELS, Context, Evidence, Label
from .text import endpoint

__all__ = ["FLOW_POWERS", "FlowTable", "Multiset", "flow_hashes", "flow_name", "pair_keys"]

Rows = npt.NDArray[np.void]
Table = Columns | Rows
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

FLOW_POWERS = np.cumprod(np.full(7, 0x9E3779B97F4A7C15, dtype=np.uint64))
"""Multipliers of the 7 words of a flow (each address as two 64-bit words, the two ports,
the protocol), modulo 2**64."""

_STALE, _CORRUPT = LABELS.index(Label.NAT_STALE), LABELS.index(Label.CORRUPT)
_FOLD_AT = 1 << 20  # keys noted before they are folded into the sorted arrays
_GOOD = LABELS.index(Label.GOOD)


def flow_hashes(
    rows: Table, index: npt.NDArray[np.intp] | None = None, *, either_way: bool = False
) -> U64:
    """A 64-bit hash of the flow of each row (those at ``index``, or all): its 7 words
    times fixed odd powers, summed modulo 2**64. With ``either_way`` a flow and its
    reply (addresses and ports swapped) hash alike: the sum of both directions' hashes."""

    def column(name: str) -> npt.NDArray[np.uint64]:
        values = rows[name] if index is None else rows[name][index]
        return np.asarray(values).astype(np.uint64)

    def address(name: str) -> npt.NDArray[np.uint64]:
        values = rows[name] if index is None else rows[name][index]
        return address_words(np.asarray(values))

    directions = [("src", "dst", "sport", "dport")]
    if either_way:
        directions.append(("dst", "src", "dport", "sport"))
    proto = column("proto")
    h: U64 = proto * FLOW_POWERS[6] * np.uint64(len(directions))
    with np.errstate(over="ignore"):
        for src, dst, sport, dport in directions:
            for side, first in ((src, 0), (dst, 2)):
                words = address(side)
                h += words[:, 0] * FLOW_POWERS[first] + words[:, 1] * FLOW_POWERS[first + 1]
            h += column(sport) * FLOW_POWERS[4] + column(dport) * FLOW_POWERS[5]
    return h


def address_words(addresses: npt.NDArray[np.generic]) -> U64:
    """Addresses as 8 big-endian 16-bit words each, (n, 8), as two 64-bit words each."""
    raw = np.ascontiguousarray(addresses, dtype=">u2")
    words: U64 = raw.view(">u8").astype(np.uint64)
    return words.reshape(-1, 2)


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


class Multiset:
    """Counts of 64-bit keys (flow hashes) as two sorted arrays, 16 bytes per distinct key:
    memory grows with the distinct keys, never with the packets, and nothing is evicted.
    Keys added are folded in every million or so, and before any lookup."""

    def __init__(self) -> None:
        self.keys: U64 = np.zeros(0, np.uint64)
        self.counts: I64 = np.zeros(0, np.int64)
        self._pending: list[tuple[U64, I64]] = []
        self._unfolded = 0

    def __len__(self) -> int:
        self._fold()
        return len(self.keys)

    def add(self, keys: U64, counts: I64 | None = None) -> None:
        """Count ``keys`` (once each, or ``counts`` times)."""
        if not len(keys):
            return
        self._pending.append((keys, np.ones(len(keys), np.int64) if counts is None else counts))
        self._unfolded += len(keys)
        if self._unfolded > _FOLD_AT:
            self._fold()

    def get(self, keys: U64) -> I64:
        """How often each of ``keys`` was counted (0: never)."""
        self._fold()
        if not len(self.keys):
            return np.zeros(len(keys), np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.counts[at], 0)

    def _fold(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([self.keys, *(k for k, _ in self._pending)])
        counts = np.concatenate([self.counts, *(c for _, c in self._pending)])
        self._pending, self._unfolded = [], 0
        order = np.argsort(keys, kind="stable")
        keys, counts = keys[order], counts[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        self.keys, self.counts = keys[starts], np.add.reduceat(counts, starts)


class FlowTable:
    """What the packets of each flow imply together (see the module docstring).

    Memory grows with the flows, not with the packets: the right checksums per flow (16
    bytes a flow), and the (flow, port before NAT) pairs of the fields that fit a rewrite
    (16 bytes a pair), as sorted arrays.
    """

    def __init__(self) -> None:
        self.right = Multiset()
        """Right, non-zero tunnel UDP checksums by flow hash."""
        self.pairs = Multiset()
        """Fields that fit a rewrite, by :func:`pair_keys` of (flow hash, port before NAT)."""
        self.fitting = Multiset()
        """Fields that fit a rewrite, by flow hash: more than the pairs of one port means
        the flow's fields imply different ports."""

    def note(self, rows: Table) -> None:
        """Take in a batch of verdicts: right tunnel checksums and ports before NAT."""
        right = np.flatnonzero((rows["label"] == _GOOD) & rows["tunnel"] & (rows["stored"] != 0))
        self.right.add(flow_hashes(rows, right))
        stale = np.flatnonzero(rows["port"] >= 0)  # a port before NAT: hypothesis or cause
        flows = flow_hashes(rows, stale)
        self.fitting.add(flows)
        self.pairs.add(pair_keys(flows, rows["port"][stale]))

    def judge(self, flows: U64, ports: npt.NDArray[np.integer]) -> tuple[npt.NDArray[np.int8], I64]:
        """The flow context of fields that fit a rewrite (flow hashes, ports before NAT),
        and its count: contradicted (fields of the flow that imply other ports), right
        checksums in the flow, agreeing (two or more fields on this port), or none."""
        agree = self.pairs.get(pair_keys(flows, ports))
        others = self.fitting.get(flows) - agree
        right = self.right.get(flows)
        context = np.full(len(flows), int(Context.NONE), np.int8)
        count = np.zeros(len(flows), np.int64)
        contradicts = others > 0
        has_right = ~contradicts & (right > 0)
        agrees = ~contradicts & ~has_right & (agree > 1)
        for where, ctx, n in (
            (contradicts, Context.FLOW_CONTRADICTS, others),
            (has_right, Context.FLOW_RIGHT, right),
            (agrees, Context.FLOW_AGREES, agree),
        ):
            context[where], count[where] = int(ctx), n[where]
        return context, count

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
        context, count = self.judge(flow_hashes(rows, todo), rows["port"][todo])
        decided = context != Context.NONE
        rows["context"][todo[decided]] = context[decided]
        rows["count"][todo[decided]] = count[decided]
        rows["label"][todo[context == Context.FLOW_AGREES]] = _STALE


def pair_keys(flows: U64, ports: npt.NDArray[np.integer]) -> U64:
    """One 64-bit key for each (flow hash, port) pair."""
    with np.errstate(over="ignore"):
        return flows * np.uint64(0xFF51AFD7ED558CCD) + np.asarray(ports).astype(np.uint64)


_GROUP = np.dtype(
    [
        ("key", "<u8"),
        ("count", "<i8"),
        ("order", "<i8"),
        ("label", "u1"),
        ("v6", "?"),
        ("proto", "u1"),
        ("sport", "<u2"),
        ("dport", "<u2"),
        ("src", ">u2", (8,)),
        ("dst", ">u2", (8,)),
    ]
)
"""One group of harmful fields: its key, how many, when first seen, and the packet that
names it (label, addresses, ports)."""
_ADDRESSES = {"source": ("src",), "link": ("src", "dst")}


class Groups:
    """Harmful fields counted by (label, flow), about 65 bytes a flow: the first packet of
    each names it when asked, so only the flows a report shows are ever turned into text.
    The same counts by source address or by link ('source > destination') are folded
    from the flows when asked (:meth:`top`, :meth:`distinct`). Ties keep the order in
    which groups were first seen, as :meth:`collections.Counter.most_common` does.

    The table is kept as columns, so that merging new groups in needs, beyond the table
    and the new groups, only one column's worth of memory at a time.
    """

    def __init__(self) -> None:
        self._table: dict[str, npt.NDArray[Any]] = _empty(0)
        self._pending: list[dict[str, npt.NDArray[Any]]] = []
        self._unfolded = 0
        self._seen = 0  # rows offered so far: the order of the next group

    def add(self, rows: Table, index: npt.NDArray[np.intp]) -> None:
        """Count the fields at ``index`` of ``rows`` (in order)."""
        if not len(index):
            return
        part = {name: np.asarray(rows[name][index]) for name in _NAMING}
        part["key"] = _label_keys(flow_hashes(rows, index), part["label"])
        part["count"] = np.ones(len(index), np.int64)
        part["order"] = self._seen + np.arange(len(index), dtype=np.int64)
        self._seen += len(index)
        self._pending.append(part)
        self._unfolded += len(index)
        if self._unfolded > max(_FOLD_AT >> 4, len(self) >> 2):
            self._fold()

    def update(self, other: Groups) -> None:
        """Add the counts of ``other`` (a later file's) after this one's."""
        other._fold()
        if not self:  # the usual first file: share its (never modified) columns
            self._table, self._seen = dict(other._table), other._seen
            return
        table = dict(other._table)
        table["order"] = table["order"] + self._seen
        self._seen += other._seen
        self._pending.append(table)
        self._fold()

    def top(
        self, n: int | None = None, *, label: Label | None = None, by: str = "flow"
    ) -> list[tuple[tuple[str, str], int]]:
        """The ``n`` largest groups (all: None) as ((label, name), count), of one label or
        all, by flow, source or link."""
        counts, orders, first = self._grouped(label, by)
        best = np.lexsort((orders, -counts))[:n]
        named = np.zeros(len(best), _GROUP)
        for name in _NAMING:
            named[name] = self._table[name][first[best]]
        return [
            ((str(LABELS[int(g["label"])]), _name(g, by)), n)
            for g, n in zip(named, counts[best].tolist(), strict=True)
        ]

    def distinct(self, *, label: Label | None = None, by: str = "flow") -> int:
        """How many groups (flows, sources or links) there are, of one label or all."""
        return len(self._grouped(label, by)[0])

    def most_common(self, n: int | None = None) -> list[tuple[tuple[str, str], int]]:
        """:meth:`top` by flow, as :class:`collections.Counter` spells it."""
        return self.top(n)

    def items(self) -> list[tuple[tuple[str, str], int]]:
        return self.top()

    def __len__(self) -> int:
        self._fold()
        return len(self._table["key"])

    def __bool__(self) -> bool:
        return bool(self._pending) or bool(len(self._table["key"]))

    def _grouped(self, label: Label | None, by: str) -> tuple[I64, I64, npt.NDArray[np.intp]]:
        """Per group by ``by`` (of one label, or all): its count, its order and the row of
        the flow that names it, without copying the table."""
        self._fold()
        table = self._table
        sel = np.arange(len(table["key"]))
        if label is not None:
            sel = np.flatnonzero(table["label"] == LABELS.index(label))
        if by == "flow":
            return table["count"][sel], table["order"][sel], sel
        keys = table["v6"][sel].astype(np.uint64)
        with np.errstate(over="ignore"):
            for name in _ADDRESSES[by]:  # a 64-bit word at a time: little memory beside the table
                words = table[name].view(">u8")  # (n, 2): the address's two big-endian halves
                for half in (0, 1):
                    power = FLOW_POWERS[half if name == "src" else 2 + half]
                    keys += words[sel, half].astype(np.uint64) * power
        keys = _label_keys(keys, table["label"][sel])
        order, starts = _runs(keys, table["order"][sel])
        if not len(starts):
            return np.zeros(0, np.int64), np.zeros(0, np.int64), sel
        counts = np.add.reduceat(table["count"][sel][order], starts)
        firsts = sel[order[starts]]
        return counts, table["order"][firsts], firsts

    def _fold(self) -> None:
        """Merge the pending groups into the table, which stays sorted by key with one row
        a key: the pending rows are grouped among themselves, their counts added to the
        keys the table has (whose first packet came earlier) and the new keys inserted in
        key order, one column at a time, so the table is never sorted again."""
        if not self._pending:
            return
        parts, self._pending, self._unfolded = self._pending, [], 0
        joined = {name: np.concatenate([p[name] for p in parts]) for name in _GROUP.names or ()}
        del parts
        order, starts = _runs(joined["key"], joined["order"])
        pick = order[starts]
        new = {name: column[pick] for name, column in joined.items()}
        new["count"] = np.add.reduceat(joined["count"][order], starts)
        del joined
        table = self._table  # its own dict; a column may be shared (update), so none is written
        at = np.searchsorted(table["key"], new["key"])
        known = at < len(table["key"])
        known[known] = table["key"][at[known]] == new["key"][known]
        fresh = ~known
        for name in table:  # np.insert returns new columns
            table[name] = np.insert(table[name], at[fresh], new[name][fresh], axis=0)
        table["count"][np.searchsorted(table["key"], new["key"][known])] += new["count"][known]


_NAMING = ("label", "v6", "proto", "sport", "dport", "src", "dst")


def _empty(n: int) -> dict[str, npt.NDArray[Any]]:
    table = np.zeros(n, _GROUP)
    return {name: table[name].copy() for name in _GROUP.names or ()}


def _runs(keys: U64, orders: I64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The order that sorts by key, then by first seen; and where each key's run starts."""
    order = np.lexsort((orders, keys))
    sorted_keys = keys[order]
    starts = (
        np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) if len(keys) else order[:0]
    )
    return order, starts


def _label_keys(keys: U64, labels: npt.NDArray[np.uint8]) -> U64:
    with np.errstate(over="ignore"):
        return keys + labels.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)


def _name(group: np.void, by: str) -> str:
    if by == "flow":
        return flow_name(group)
    v6 = bool(group["v6"])
    src = endpoint(group["src"], 0, v6).rsplit(":", 1)[0]
    if by == "source":
        return src
    return f"{src} > {endpoint(group['dst'], 0, v6).rsplit(':', 1)[0]}"
