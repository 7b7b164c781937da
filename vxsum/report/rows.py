"""Checksum-field rows: what ``vxsum analyze`` lists, kept compact until they are written.

A row is one checksum field of one frame, with the jsonl contract's columns
(:data:`COLUMNS`). Rows are held as a numpy structured array (:data:`ROW`) of numbers
and codes: about 50 bytes a row, whether the batch path (:mod:`vxsum.frames.layouts`) or the
per-frame classifier made it. Their evidence text is rendered from those numbers only
when a row is written (:func:`detail_text`), so that a ``nat-stale`` row can still
change with what later packets of its flow say (:class:`FlowTable`). Rows of a file
wait in a :class:`Spool` (a temporary file) until the file is read to its end, which
keeps memory flat however many rows there are.
"""

from __future__ import annotations

import ipaddress
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..frames.layouts import DETAILS, FLOW_POWERS, LABELS, LAYERS, FastBatch, flow_key
from ..verdicts import text as evidence
from ..verdicts.labels import HARMLESS, Label

if TYPE_CHECKING:
    from ..verdicts.verdict import Verdict

__all__ = [
    "COLUMNS",
    "ROW",
    "FlowTable",
    "Spool",
    "detail_text",
    "flow_hash",
    "flow_hashes",
    "flow_key",
    "rows_from_fast",
    "rows_from_verdicts",
]

COLUMNS = ["file", "frame", "depth", "layer", "value", "expected", "verdict", "harmless", "detail"]
"""The jsonl contract's keys, in order; ``quoted`` follows where true."""

ROW = np.dtype(
    [
        ("frame", "<i8"),
        ("expected", "<i4"),  # -1: none
        ("old_port", "<i4"),  # nat-stale: the port the field is right for; else -1
        ("flow", "<i4"),  # FlowTable id of the field's packet; -1 when not needed
        ("text", "<i4"),  # index of a per-frame verdict's own text; -1: from the codes
        ("value", "<u2"),
        ("pseudo", "<u2"),
        ("sport", "<u2"),
        ("note_stored", "<u2"),
        ("note_expected", "<u2"),
        ("depth", "u1"),
        ("layer", "u1"),
        ("label", "u1"),
        ("detail", "u1"),
        ("note_layer", "i1"),  # -1: no pending inner field to mention
        ("quoted", "?"),
    ]
)
"""One row: the contract's values as codes (:data:`LAYERS`, :data:`LABELS`,
:data:`DETAILS`) plus the numbers its evidence text is made of."""

_STALE = LABELS.index(Label.NAT_STALE)
_STALE_DETAIL = DETAILS.index("stale")
_CONSTANT = {
    evidence.NO_CHECKSUM: DETAILS.index("no-checksum"),
    evidence.CORRUPT: DETAILS.index("corrupt"),
    evidence.ZERO_MANGLED: DETAILS.index("zero-mangled"),
}
_QUIET = np.array([label in (Label.GOOD, Label.NO_CHECKSUM) for label in LABELS])
_HARMLESS = np.array([label in HARMLESS for label in LABELS])
_FLOW_NEEDED = ~_HARMLESS


def quiet(labels: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """Rows a person need not look at (``good`` and ``no-checksum``)."""
    out: npt.NDArray[np.bool_] = _QUIET[labels]
    return out


def harmless(labels: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """Rows whose field does no harm (receivers accept the packet, or it is an artefact)."""
    out: npt.NDArray[np.bool_] = _HARMLESS[labels]
    return out


def flow_hash(key: bytes) -> int:
    """A 64-bit hash of a flow key (its 19 big-endian words times fixed odd powers, mod
    2**64), the same that :func:`flow_hashes` computes for many keys at once."""
    words = np.frombuffer(key, dtype=">u2").astype(np.uint64)
    return int((words * FLOW_POWERS).sum(dtype=np.uint64))


def flow_hashes(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """:func:`flow_hash` of each row of a (keys, 19) array of key words."""
    out: npt.NDArray[np.uint64] = (words * FLOW_POWERS).sum(axis=1, dtype=np.uint64)
    return out


def flow_name(key: bytes) -> str:
    """'src:port > dst:port udp' for a flow key (IPv4 when the address tails are zero)."""
    v4 = not any(key[4:16]) and not any(key[20:32])
    size = 4 if v4 else 16
    src = ipaddress.ip_address(key[:size])
    dst = ipaddress.ip_address(key[16 : 16 + size])
    sport, dport, proto = (int.from_bytes(key[i : i + 2], "big") for i in (32, 34, 36))
    if proto == 0:
        return f"{src} > {dst}"
    name = {6: "tcp", 17: "udp"}.get(proto, str(proto))
    return f"{src}:{sport} > {dst}:{dport} {name}"


class FlowTable:
    """Flows of one capture by id, and what their ``nat-stale`` fields imply.

    A ``nat-stale`` field implies the source port the outer packet had before NAT; for a
    VXLAN flow that port comes from the inner flow's hash, so every packet of one outer
    flow must imply the *same* port. Two or more that agree confirm it; packets that
    disagree are not stale after all (:func:`refine`). NAT rewrites every packet of a
    flow alike, so right (non-zero) checksums in the same outer flow speak against it:
    those are counted by :func:`flow_hash` of their flow (:meth:`note_right`).
    """

    def __init__(self) -> None:
        self.ids: dict[bytes, int] = {}
        self.keys: list[bytes] = []
        self.ports: dict[int, Counter[int]] = {}
        # Right checksums by flow hash, as (hashes, counts) pairs, folded now and then
        # into one pair: memory grows with the flows, not with the packets.
        self._right: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]] = []
        self._right_counts: dict[int, int] | None = None

    def note_right(self, hashes: npt.NDArray[np.uint64]) -> None:
        """Count right, non-zero outer UDP checksums, by the hash of their flow."""
        if len(hashes):
            values, counts = np.unique(np.asarray(hashes, dtype=np.uint64), return_counts=True)
            self._right.append((values, counts.astype(np.int64)))
            if len(self._right) > 64:
                self._right = [self._folded()]
            self._right_counts = None

    def _folded(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        if not self._right:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        values = np.concatenate([v for v, _ in self._right])
        counts = np.concatenate([c for _, c in self._right])
        unique, where = np.unique(values, return_inverse=True)
        return unique, np.bincount(where, weights=counts, minlength=len(unique)).astype(np.int64)

    def right(self, flow: int) -> int:
        """How many right, non-zero checksums the flow's packets carry."""
        if self._right_counts is None:
            values, counts = self._folded()
            want = np.array(sorted({flow_hash(self.keys[f]) for f in self.ports}), np.uint64)
            hit = np.isin(values, want)
            self._right_counts = dict(zip(values[hit].tolist(), counts[hit].tolist(), strict=True))
        return self._right_counts.get(flow_hash(self.keys[flow]), 0)

    def id(self, key: bytes) -> int:
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = len(self.keys)
            self.keys.append(key)
        return found

    def note(self, rows: npt.NDArray[np.void]) -> None:
        """Count the ports that the ``nat-stale`` rows among ``rows`` imply."""
        stale = rows[(rows["label"] == _STALE) & (rows["old_port"] >= 0) & (rows["flow"] >= 0)]
        for flow, port in zip(stale["flow"].tolist(), stale["old_port"].tolist(), strict=True):
            self.add_port(flow, port)

    def add_port(self, flow: int, port: int) -> None:
        """One ``nat-stale`` field of ``flow`` implies ``port`` before NAT."""
        self.ports.setdefault(flow, Counter())[port] += 1

    def refine(self, flow: int, port: int, detail: str) -> tuple[bool, str]:
        """A ``nat-stale`` row's final say: (still stale?, its evidence text)."""
        seen = self.ports.get(flow, Counter())
        if len(seen) > 1:
            return False, evidence.stale_contradicted(port, sorted(p for p in seen if p != port))
        right = self.right(flow)
        if right:
            return True, evidence.stale_unconfirmed(right, detail)
        if seen[port] > 1:
            return True, evidence.stale_confirmed(seen[port], port, detail)
        return True, detail


def pending(rows: npt.NDArray[np.void]) -> npt.NDArray[np.bool_]:
    """``nat-stale`` rows from one packet's evidence, which flow evidence may change."""
    out: npt.NDArray[np.bool_] = rows["label"] == _STALE
    out &= (rows["detail"] == _STALE_DETAIL) & (rows["flow"] >= 0)
    return out


def rows_from_fast(
    fast: FastBatch, frames: npt.NDArray[np.int64], listed: npt.NDArray[np.bool_], flows: FlowTable
) -> npt.NDArray[np.void]:
    """Rows for the fields of a :class:`FastBatch` marked in ``listed`` (records x 4
    slots), in record and slot order; ``frames`` numbers the batch's records. Harmful
    fields get a flow id."""
    idx = np.flatnonzero(listed.reshape(-1))
    rec, slot = idx // 4, idx % 4
    out = np.zeros(len(idx), dtype=ROW)
    out["frame"] = frames[fast.record[rec]]
    out["text"] = -1
    out["flow"] = -1
    for k, s in enumerate(fast.slots):
        pos = np.flatnonzero(slot == k)
        if not len(pos):
            continue
        r = rec[pos]
        out["depth"][pos] = s.depth
        for name in _FAST_COLUMNS:
            out[name][pos] = getattr(s, name)[r]
        need = np.flatnonzero(_FLOW_NEEDED[out["label"][pos]])
        if len(need):
            keys = fast.flow_keys(k, r[need])
            out["flow"][pos[need]] = [flows.id(key) for key in keys]
    return out


_FAST_COLUMNS = (
    "layer",
    "value",
    "expected",
    "label",
    "detail",
    "pseudo",
    "sport",
    "old_port",
    "note_layer",
    "note_stored",
    "note_expected",
)


def rows_from_verdicts(
    frame: int,
    verdicts: list[Verdict],
    flows_of: list[bytes | None],
    table: FlowTable,
    texts: list[str],
) -> npt.NDArray[np.void]:
    """Rows for one frame's verdicts from the per-frame classifier (texts kept aside).

    A ``nat-stale`` verdict confirmed by context (conntrack, a capture before NAT) keeps
    its own text and is not refined by flow evidence; one from the frame alone is stored
    by its numbers so that flow evidence can still change it.
    """
    out = np.zeros(len(verdicts), dtype=ROW)
    for i, (v, key) in enumerate(zip(verdicts, flows_of, strict=True)):
        r = out[i]
        r["frame"], r["depth"], r["layer"] = frame, v.depth, LAYERS.index(v.layer)
        r["quoted"], r["value"] = v.quoted, v.value
        r["expected"] = -1 if v.expected is None else v.expected
        r["label"] = LABELS.index(v.verdict)
        r["old_port"] = -1 if v.pre_nat_port is None else v.pre_nat_port
        r["note_layer"] = -1
        r["flow"] = -1 if key is None or v.harmless else table.id(key)
        r["text"] = -1
        if v.verdict == Label.NAT_STALE and v.detail.startswith("consistent with"):
            r["detail"] = _STALE_DETAIL  # one packet's evidence: flow evidence may change it
        constant = _CONSTANT.get(v.detail)
        if constant is not None:
            r["detail"] = constant  # no need to keep a copy of a fixed text
        elif v.detail:
            r["text"] = len(texts)
            texts.append(v.detail)
    return out


def detail_text(row: np.void, texts: list[str]) -> str:
    """A row's evidence text, from its codes and numbers (or its own text)."""
    if row["text"] >= 0:
        return texts[int(row["text"])]
    kind = DETAILS[row["detail"]]
    if kind == "":
        return ""
    if kind == "no-checksum":
        return evidence.NO_CHECKSUM
    if kind == "corrupt":
        return evidence.CORRUPT
    if kind == "zero-mangled":
        return evidence.ZERO_MANGLED
    expected = int(row["expected"])
    if kind == "seed":
        return evidence.offload_seed(int(row["pseudo"]), expected)
    if kind == "ip-zero":
        return evidence.ip_zero(expected)
    if kind == "tso":
        return evidence.tso_seed(int(row["value"]))
    note = ""
    if row["note_layer"] >= 0:
        layer = LAYERS[row["note_layer"]]
        note = evidence.lco_note(layer, int(row["note_stored"]), int(row["note_expected"]))
    if kind == "lco":
        return evidence.lco_pending(note)
    if kind == "stale":
        return evidence.nat_stale(int(row["old_port"]), int(row["sport"]), note)
    raise ValueError(f"unknown detail code {row['detail']}")


class Spool:
    """Rows of one capture, in frame order, parked in a temporary file until written."""

    def __init__(self, chunk_rows: int = 1 << 16) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self.rows = 0
        self.chunk_rows = chunk_rows

    def append(self, rows: npt.NDArray[np.void]) -> None:
        if len(rows):
            self._file.write(rows.tobytes())
            self.rows += len(rows)

    def __iter__(self) -> Iterator[npt.NDArray[np.void]]:
        """The rows back, in chunks of at most ``chunk_rows`` (each a new, writable array)."""
        self._file.seek(0)
        left = self.rows
        while left:
            n = min(left, self.chunk_rows)
            chunk = np.empty(n, dtype=ROW)
            if self._file.readinto(chunk.view(np.uint8).data) != chunk.nbytes:
                raise OSError("the row spool ended early")
            yield chunk
            left -= n

    def close(self) -> None:
        self._file.close()
