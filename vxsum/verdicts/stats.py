"""The capture as a whole: do its bad tunnel checksums look like random damage?

One bad outer checksum that fits a source-port rewrite proves nothing: about 43% of random
16-bit errors fit one (:data:`CHANCE_FIT`). But the real bug does not strike at random. A
second MASQUERADE happens when the nat table sees a new outer flow with kube-proxy's mark,
so the damaged packet is the first of its outer flow, and it carries the first packet of
an inner connection (a TCP SYN, the first datagram of a UDP flow in either direction, so
a reply opens nothing). With the kernel's txrehash, each retransmission takes a new outer
flow, so every damaged field may be the only packet of its flow: flow agreement
(:mod:`vxsum.verdicts.flows`) cannot confirm it.

:class:`CaptureTest` weighs that pattern against the capture's own traffic. Under the null
hypothesis that the bad fields are random damage, each of them fits a rewrite with
probability :data:`CHANCE_FIT` and sits on a packet that opens its outer flow and its inner
connection with the share ``s`` such packets have among all tunnel packets of the capture,
independently. Of ``n`` bad fields that nothing else explains, the number that do both is
then binomial(n, CHANCE_FIT * s); the p-value is the chance of at least as many as seen.
When it is at most :data:`ALPHA`, the fields that fit the pattern, and only those, are
``nat-stale`` confirmed by the capture (:attr:`~vxsum.verdicts.labels.Context.CAPTURE`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..frames.facts import Columns, layer_code, status_code
from ..frames.fields import Status
from ..kernel.encap import EPHEMERAL_PORTS
from .flows import FlowTable, flow_hashes
from .labels import LABELS, Context, Evidence, Label

__all__ = ["ALPHA", "CHANCE_FIT", "CaptureTest", "Outcome", "binomial_tail"]

Rows = npt.NDArray[np.void]

CHANCE_FIT = (EPHEMERAL_PORTS[1] - EPHEMERAL_PORTS[0] + 1) / 0xFFFF
"""The share of random 16-bit errors for which a field is right for some port of the
ephemeral range: about 0.43 (RFC 1624 solved for the old port gives any value once)."""
ALPHA = 0.001
"""The p-value at or below which the capture confirms: random damage would pass the test
about once in a thousand captures."""

_UDP, _TCP = layer_code("udp"), layer_code("tcp")
_INNER = [layer_code(n) for n in ("tcp", "udp", "udplite")]
_BAD = status_code(Status.BAD)
_CORRUPT, _STALE = LABELS.index(Label.CORRUPT), LABELS.index(Label.NAT_STALE)
_SYN, _ACK = 0x002, 0x010
_CANDIDATES = [int(Evidence.STALE), int(Evidence.UNEXPLAINED)]


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ binomial(n, p), summed in log space (exact for any n)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    i = np.arange(k, n + 1, dtype=np.float64)
    log_pmf = (
        math.lgamma(n + 1)
        - np.array([math.lgamma(x + 1) for x in i.tolist()])
        - np.array([math.lgamma(n - x + 1) for x in i.tolist()])
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
    )
    top = float(log_pmf.max())
    return min(1.0, math.exp(top) * float(np.exp(log_pmf - top).sum()))


@dataclass(frozen=True, slots=True)
class Outcome:
    """The capture-wide test of one file, with the numbers behind it."""

    packets: int
    """Tunnel packets (outer UDP fields of VXLAN, Geneve, ...) in the capture."""
    openers: int
    """Of those, the ones that open their outer flow and their inner connection."""
    damaged: int
    """Bad tunnel checksums that neither an exact signature nor another context explains."""
    hits: int
    """Of those, the ones that fit a source-port rewrite and open their flow and connection."""
    p_value: float

    @property
    def share(self) -> float:
        """The share of tunnel packets that open their outer flow and inner connection."""
        return self.openers / self.packets if self.packets else 0.0

    @property
    def chance(self) -> float:
        """The probability that one randomly damaged field fits the pattern."""
        return CHANCE_FIT * self.share

    @property
    def expected(self) -> float:
        """How many of the damaged fields random damage would make fit the pattern."""
        return self.damaged * self.chance

    @property
    def confirms(self) -> bool:
        return self.hits > 0 and self.p_value <= ALPHA


class CaptureTest:
    """Collects, batch by batch in frame order, what the test needs; :meth:`conclude` runs
    it once the file is read, and :meth:`apply` confirms the rows that fit.

    Memory: the hashes of the flows seen (outer, and inner UDP; 8 bytes a flow), and 24
    bytes for each bad tunnel checksum that might take part.
    """

    def __init__(self) -> None:
        self.outer = Seen()
        self.inner = Seen()
        self.packets = self.openers = 0
        self._candidates: list[npt.NDArray[np.void]] = []
        self.outcome: Outcome | None = None
        self._confirm: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def note(self, tables: list[Columns]) -> None:
        """Take in one batch's verdicts, in one or more tables whose frames interleave:
        mark each tunnel packet that opens its outer flow and its inner connection
        (``opens``), in frame order, and keep the candidates."""
        found = []
        for table in tables:
            outer = np.flatnonzero((table["layer"] == _UDP) & table["tunnel"])
            if not len(outer):
                continue
            inner = _inner_rows(table, outer)
            at = np.maximum(inner, 0)
            proto = np.where(inner >= 0, table["proto"][at], 0)
            flags = np.where(inner >= 0, table["flags"][at], 0)
            syn = (proto == 6) & ((flags & _SYN) != 0) & ((flags & _ACK) == 0)
            found.append((table, outer, flow_hashes(table, outer), syn, proto == 17, at))
        if not found:
            return
        frames = np.concatenate([t["frame"][o] for t, o, *_ in found])
        order = np.argsort(frames, kind="stable")  # the tables' packets in frame order
        hashes = np.concatenate([h for _, _, h, *_ in found])[order]
        syn = np.concatenate([s for *_, s, _, _ in found])[order]
        udp = np.concatenate([u for *_, u, _ in found])[order]
        inner_hashes = np.zeros(len(order), dtype=np.uint64)
        start = 0
        for table, _, h, _, is_udp, at in found:  # inner UDP flows (a reply is not new)
            rows = np.flatnonzero(is_udp)
            if len(rows):
                inner_hashes[start + rows] = flow_hashes(table, at[rows], either_way=True)
            start += len(h)
        inner_hashes = inner_hashes[order]
        opens_inner = syn.copy()
        first_udp = np.flatnonzero(udp)
        opens_inner[first_udp] = self.inner.first(inner_hashes[first_udp])
        opens = np.empty(len(order), dtype=bool)
        opens[order] = self.outer.first(hashes) & opens_inner
        start = 0
        for table, outer, h, *_ in found:
            table["opens"][outer] = opens[start : start + len(h)]
            start += len(h)
            bad = outer[
                (table["status"][outer] == _BAD)
                & np.isin(table["evidence"][outer], _CANDIDATES)
                & (table["label"][outer] == _CORRUPT)
                & (table["context"][outer] == Context.NONE)
            ]
            if len(bad):
                found_ = np.zeros(len(bad), dtype=_CANDIDATE)
                found_["key"], found_["flow"] = _keys(table)[bad], flow_hashes(table, bad)
                for name in ("port", "evidence", "opens"):
                    found_[name] = table[name][bad]
                self._candidates.append(found_)
        self.packets += len(order)
        self.openers += int(opens.sum())

    def conclude(self, flows: FlowTable) -> Outcome:
        """Run the test, once the file is read and ``flows`` has seen all of it."""
        found = np.concatenate([np.zeros(0, _CANDIDATE), *self._candidates])
        self._candidates = []
        context, _ = flows.judge(found["flow"], found["port"])  # as the rows will be judged
        stale = found["evidence"] == Evidence.STALE
        left = found[~stale | (context == Context.NONE)]
        fit = (left["evidence"] == Evidence.STALE) & left["opens"]
        chance = CHANCE_FIT * (self.openers / self.packets if self.packets else 0.0)
        hits = int(fit.sum())
        outcome = Outcome(
            self.packets, self.openers, len(left), hits, binomial_tail(hits, len(left), chance)
        )
        if outcome.confirms:
            self._confirm = np.sort(left["key"][fit])
        self.outcome = outcome
        self.outer, self.inner = Seen(), Seen()  # not needed any more: free them
        return outcome

    def apply(self, rows: Rows) -> None:
        """Confirm, in place, the rows that fit the pattern of a test that passed."""
        if self.outcome is None or not len(self._confirm):
            return
        todo = np.flatnonzero(
            np.isin(_keys(rows), self._confirm)
            & (rows["label"] == _CORRUPT)
            & (rows["context"] == Context.NONE)
        )
        rows["label"][todo] = _STALE
        rows["context"][todo] = Context.CAPTURE
        rows["p_value"][todo] = self.outcome.p_value


_CANDIDATE = np.dtype(
    [("key", "<i8"), ("flow", "<u8"), ("port", "<i4"), ("evidence", "u1"), ("opens", "?")]
)
"""A bad tunnel checksum the test may count: its :func:`_keys`, flow hash, port before
NAT (-1: none), evidence and whether it opens its flow and connection."""


class Seen:
    """A set of 64-bit flow hashes as a few sorted arrays (8 bytes a flow; the arrays are
    merged as they grow, like a binary counter, so there are about log2(flows) of them,
    and the small ones are kept merged into one: each is searched for every batch, and a
    capture whose batches add few new flows made a dozen of them)."""

    def __init__(self) -> None:
        self.levels: list[npt.NDArray[np.uint64]] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels)

    def first(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """Which of ``hashes`` (in order) are seen here for the first time; adds them."""
        unique, first = np.unique(hashes, return_index=True)
        new = np.ones(len(unique), dtype=bool)
        for level in self.levels:
            at = np.minimum(np.searchsorted(level, unique), len(level) - 1)
            new &= level[at] != unique
        out = np.zeros(len(hashes), dtype=bool)
        out[first[new]] = True
        if new.any():
            self.levels.append(unique[new])
            while len(self.levels) > 1 and (
                len(self.levels[-2]) <= max(2 * len(self.levels[-1]), _SMALL_LEVEL)
            ):
                last = self.levels.pop()
                self.levels[-1] = _merge(self.levels[-1], last)
        return out


_SMALL_LEVEL = 1 << 16  # hashes (512 KiB): a level this small is merged into the last


def _merge(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Two sorted arrays with no value in common as one sorted array, in linear time and
    with little memory beside the result (``np.union1d`` sorts or hashes them again)."""
    out = np.empty(len(a) + len(b), a.dtype)
    at = np.searchsorted(a, b) + np.arange(len(b))
    rest = np.ones(len(out), bool)
    rest[at] = False
    out[at], out[rest] = b, a
    return out


def _keys(rows: Rows | Columns) -> npt.NDArray[np.int64]:
    """A field's identity in a file: its frame number and its offset in the frame."""
    frames = np.asarray(rows["frame"], dtype=np.int64)
    return (frames << 20) | np.asarray(rows["field_offset"], dtype=np.int64)


def _inner_rows(table: Columns, outer: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """For each tunnel row at ``outer``, the row of its inner transport field (-1: none)."""
    keys = _keys(table)
    unsorted = len(keys) > 1 and bool((keys[1:] < keys[:-1]).any())
    order = np.argsort(keys, kind="stable") if unsorted else np.arange(len(keys))
    at = np.asarray(table["inner_at"])[outer]
    want = (np.asarray(table["frame"], dtype=np.int64)[outer] << 20) | (
        np.asarray(table["span_offset"], dtype=np.int64)[outer] + at
    )
    # The layouts give rows in frame and field order already: no sort then.
    pos = np.minimum(np.searchsorted(keys[order] if unsorted else keys, want), len(order) - 1)
    found = order[pos]
    ok = (at >= 0) & (keys[found] == want) & np.isin(table["layer"][found], _INNER)
    return np.where(ok, found, -1)
