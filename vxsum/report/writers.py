"""Writing analyze rows as jsonl, csv or parquet: the same columns in each format.

The jsonl contract (docs/cli.md): one object per checksum field with the keys of
:data:`~vxsum.report.rows.COLUMNS`, and ``"quoted": true`` for fields quoted inside an
ICMP error. csv has the same columns with ``quoted`` (true/false) in its place
(:data:`~vxsum.report.rows.TABLE_COLUMNS`); parquet the same, typed, through the
optional pyarrow extra (``pip install 'vxsum[parquet]'``).

Each writer is a :data:`vxsum.report.analysis.RowSink`: it takes a file's verdict rows
(:data:`vxsum.verdicts.labels.ROW`) and formats them column by column; the evidence
words come from :func:`vxsum.verdicts.text.details`, here at the edge.
"""

from __future__ import annotations

import csv
import json
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from ..frames.fields import LAYERS
from ..verdicts import text
from ..verdicts.labels import LABELS, Label
from .rows import (
    FLOW_COLUMNS,
    TABLE_COLUMNS,
    Addresses,
    Numbers,
    display_filters,
    flow_columns,
    harmless,
    times,
)

__all__ = ["FORMATS", "CsvWriter", "JsonlWriter", "ParquetWriter", "RowWriter", "open_writer"]

FORMATS = ("text", "jsonl", "csv", "parquet")
_NO_CAUSE = b', "confirmed_by": null, "hypothesis": null, "port_before_nat": null'


def _null(value: object) -> str:
    return "null" if value is None else str(value)


def _name(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


_LABEL_NAMES = [str(label) for label in LABELS]
_FLOW_FIELDS = (  # the row fields flow_columns reads
    *("src", "dst", "v6", "proto", "sport", "dport", "vni"),
    *("inner_src", "inner_dst", "inner_ip", "inner_proto", "inner_sport", "inner_dport"),
)
_FLOW_KEYS = [f', "{name}": '.encode() for name in FLOW_COLUMNS[1:]]


@dataclass(frozen=True)
class _Text:
    """A column of text for :func:`_format_numbers`: row i's bytes are
    ``bytes[i, :lengths[i]]``, zero bytes after them."""

    bytes: npt.NDArray[np.uint8]
    lengths: npt.NDArray[np.int64]


def _table(texts: Sequence[bytes]) -> _Text:
    """``texts`` as a table of rows, for :func:`_gather` to pick from."""
    table = np.array(texts, dtype=bytes)
    width = max(table.dtype.itemsize, 1)
    rows = np.zeros((len(texts), width), dtype=np.uint8)
    rows[:] = table.view(np.uint8).reshape(len(texts), -1) if len(texts) else 0
    return _Text(rows, np.array([len(t) for t in texts], dtype=np.int64))


def _gather(table: _Text, index: npt.NDArray[np.intp]) -> _Text:
    return _Text(np.take(table.bytes, index, axis=0), np.take(table.lengths, index))


def _ipv4_json(column: Addresses) -> _Text:
    """IPv4 addresses as JSON strings, dotted, or ``null`` (the zero bytes inside a row
    are dropped when the lines are made)."""
    dotted, lengths = column.ipv4_bytes()
    out = np.zeros((len(lengths), 17), dtype=np.uint8)
    out[:, 1:16] = dotted
    out[:, 0] = out[:, 16] = ord('"')
    lengths = lengths + 2
    null = ~column.present
    out[null] = 0
    out[null, :4] = np.frombuffer(b"null", dtype=np.uint8)
    lengths[null] = 4
    return _Text(out, lengths)


def _small() -> _Text:
    """The decimals of 0 to 65535, then null: made once, when first needed."""
    if not _SMALL:
        _SMALL.append(_table([str(k).encode() for k in range(0x10000)] + [b"null"]))
    return _SMALL[0]


_SMALL: list[_Text] = []  # _small()'s table


def _json_column(column: Addresses | Numbers) -> npt.NDArray[np.int64] | _Text:
    """A flow column for :func:`_format_numbers`: addresses as JSON (``"..."`` or
    ``null``), numbers below 65536 (ports, protocols) from a table, others as int64 with
    -1 for null."""
    if isinstance(column, Addresses):
        if column.ipv4_only():
            return _ipv4_json(column)
        distinct, index = column.distinct()
        texts = [b"null" if t is None else f'"{t}"'.encode() for t in distinct]
        return _gather(_table(texts), index)
    if int(column.values.max(initial=0)) > 0xFFFF:
        return np.where(column.null, -1, column.values)
    return _gather(_small(), np.where(column.null, 0x10000, column.values))


_PLAIN = np.array([label in (Label.GOOD, Label.NO_CHECKSUM) for label in LABELS])


class RowWriter(Protocol):
    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None: ...

    def close(self) -> None: ...


def _columns(rows: npt.NDArray[np.void]) -> tuple[list[int], ...] | tuple[list[Any], ...]:
    """The row values as Python lists, in csv order (file apart)."""
    expected = rows["expected"].astype(object)
    expected[rows["expected"] < 0] = None
    offsets = rows["record_offset"].astype(object)
    offsets[rows["record_offset"] < 0] = None  # a frame judged outside a capture
    return (
        rows["frame"].tolist(),
        rows["depth"].tolist(),
        [LAYERS[c] for c in rows["layer"].tolist()],
        rows["stored"].tolist(),
        expected.tolist(),
        [_LABEL_NAMES[c] for c in rows["label"].tolist()],
        harmless(rows["label"]).tolist(),
        text.details(rows),
        text.confirmed_by(rows),
        text.hypotheses(rows),
        text.ports_before_nat(rows),
        rows["quoted"].tolist(),
        times(rows).tolist(),
        offsets.tolist(),
        display_filters(rows),
        *(c.values() if isinstance(c, Addresses) else c.python() for c in flow_columns(rows)),
    )


class JsonlWriter:
    """One JSON object per line, exactly as ``json.dumps`` writes it.

    Rows whose text follows from their codes (``good`` and ``no-checksum`` fields, most
    of an ``--all-fields`` listing) are grouped by their fixed parts, and each group is
    formatted with one ``%`` template; the others one by one. Writes bytes (the text is
    ASCII-safe JSON) to ``out``, a binary stream.
    """

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self._strings: dict[str, str] = {}
        self._writer = _Background(out)

    def _json(self, text: str) -> str:
        found = self._strings.get(text)
        if found is None:
            if len(self._strings) > 4096:
                self._strings.clear()
            found = self._strings[text] = json.dumps(text)
        return found

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        head = '{"file": ' + json.dumps(path) + ', "frame": '
        plain = _PLAIN[rows["label"]] & (rows["context"] == 0) & ~rows["quoted"]
        plain &= (rows["expected"] >= 0) & (rows["time"] >= 0) & (rows["record_offset"] >= 0)
        other = np.flatnonzero(~plain)
        if len(other) == len(rows):
            self._writer.write("".join(self._one_by_one(head, rows, other)).encode())
            return
        # Good and no-checksum rows: one template per (layer, depth, label), numbers
        # written by numpy (_format_numbers); the rest in between, one by one.
        sel = np.flatnonzero(plain)
        key = (rows["layer"].astype(np.int64) * 256 + rows["depth"]) * 256 + rows["label"]
        kinds = np.unique(key[sel])
        templates = []
        for k in kinds.tolist():
            layer, depth, label = LAYERS[k >> 16], (k >> 8) & 0xFF, LABELS[k & 0xFF]
            detail = self._json(text.NO_CHECKSUM if label == Label.NO_CHECKSUM else "")
            templates.append(
                (
                    head.encode(),
                    f', "depth": {depth}, "layer": "{layer}", "value": '.encode(),
                    b', "expected": ',
                    f', "verdict": "{label}", "harmless": true, "detail": {detail}'.encode()
                    + _NO_CAUSE
                    + b', "time": ',
                    b', "record_offset": ',
                    b', "display_filter": "frame.number == ',
                    b'", "src": ',
                    *_FLOW_KEYS,
                    b"}\n",
                )
            )
        named = ("frame", "stored", "expected", "time", "record_offset", "frame")
        numbers: list[npt.NDArray[np.int64] | _Text]
        numbers = [rows[name][sel].astype(np.int64) for name in named]
        picked = {name: rows[name][sel] for name in _FLOW_FIELDS}
        numbers += [_json_column(c) for c in flow_columns(picked)]
        blob, lengths = _format_numbers(templates, np.searchsorted(kinds, key[sel]), numbers)
        if not len(other):
            self._writer.write(blob)
            return
        texts = self._one_by_one(head, rows, other)
        ends = np.concatenate([[0], np.cumsum(lengths)])
        cuts = ends[np.searchsorted(sel, other)].tolist()  # plain bytes before each other row
        pieces: list[bytes | memoryview] = []
        last, view = 0, memoryview(blob)  # slices of a view, written one by one: no copy
        for cut, line in zip(cuts, texts, strict=True):
            pieces += [view[last:cut], line.encode()]
            last = cut
        pieces.append(view[last:])
        self._writer.write(pieces)

    def _one_by_one(
        self, head: str, rows: npt.NDArray[np.void], which: npt.NDArray[np.intp]
    ) -> list[str]:
        """The lines of rows ``which``, formatted one by one."""
        js = self._json
        tails = ("}\n", ', "quoted": true}\n')
        cols = _columns(rows[which])
        lines = [
            f'{head}{frame}, "depth": {depth}, "layer": "{layer}", "value": {value}, '
            f'"expected": {_null(exp)}, "verdict": "{verdict}", '
            f'"harmless": {"true" if ok else "false"}, "detail": {js(detail)}, '
            f'"confirmed_by": {_name(by)}, "hypothesis": {_name(hypothesis)}, '
            f'"port_before_nat": {_null(port)}, "time": {_null(time)}, '
            f'"record_offset": {_null(offset)}, "display_filter": "{where}", '
            f'"src": {_name(src)}, "dst": {_name(dst)}, "sport": {_null(sport)}, '
            f'"dport": {_null(dport)}, "protocol": {_null(proto)}, "vni": {_null(vni)}, '
            f'"inner_src": {_name(isrc)}, "inner_dst": {_name(idst)}, '
            f'"inner_sport": {_null(isport)}, "inner_dport": {_null(idport)}, '
            f'"inner_protocol": {_null(iproto)}{tails[quoted]}'
            for (
                frame,
                depth,
                layer,
                value,
                exp,
                verdict,
                ok,
                detail,
                by,
                hypothesis,
                port,
                quoted,
                time,
                offset,
                where,
                src,
                dst,
                sport,
                dport,
                proto,
                vni,
                isrc,
                idst,
                isport,
                idport,
                iproto,
            ) in zip(*cols, strict=True)
        ]
        return lines

    def close(self) -> None:
        self._writer.close()
        self.out.flush()


def _format_numbers(
    templates: Sequence[tuple[bytes, ...]],
    kind: npt.NDArray[np.intp],
    numbers: list[npt.NDArray[np.int64] | _Text],
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Lines ``t[0] n0 t[1] n1 ... t[k]`` (t = ``templates[kind[i]]``, n the decimal
    ``numbers[j][i] >= 0``, ``null`` for -1, or row i of a :class:`_Text`), formatted with
    numpy; returns them joined, and their lengths.

    Each line is laid out in a fixed-width row of a byte matrix, digits right-aligned in
    their fields and every unused byte 0; dropping the zero bytes (JSON text has none)
    leaves the lines, in order.
    """
    n = len(kind)
    widths = [
        x.bytes.shape[1]
        if isinstance(x, _Text)
        else max(1 if x.min(initial=0) >= 0 else 4, len(str(int(x.max(initial=0)))))
        for x in numbers
    ]
    part = [max(len(t[j]) for t in templates) for j in range(len(numbers) + 1)]
    starts = np.cumsum([0] + [p + w for p, w in zip(part, [*widths, 0], strict=True)])
    table = np.zeros((len(templates), int(starts[-1])), dtype=np.uint8)  # the fixed bytes
    for g, template in enumerate(templates):
        for j, part_bytes in enumerate(template):
            end = starts[j] + len(part_bytes)
            table[g, starts[j] : end] = np.frombuffer(part_bytes, dtype=np.uint8)
    matrix = table[kind]
    lengths = np.array([sum(map(len, t)) for t in templates], dtype=np.int64)[kind]
    for j, x in enumerate(numbers):
        first = int(starts[j]) + part[j]
        if isinstance(x, _Text):  # bytes, left-aligned (zero bytes pad them)
            matrix[:, first : first + widths[j]] = x.bytes
            lengths += x.lengths
            continue
        null = x < 0
        x = np.where(null, 0, x)
        x = x.astype(np.uint32 if int(x.max(initial=0)) < 1 << 32 else np.uint64)
        ten = x.dtype.type(10)
        last = first + widths[j] - 1
        for k in range(widths[j]):  # digits from the right; 0 before the first
            q = x // ten
            digit = (x - q * ten).astype(np.uint8) + np.uint8(48)
            shown = np.ones(n, dtype=bool) if k == 0 else x > 0
            matrix[:, last - k] = digit * shown
            lengths += shown
            x = q
        if null.any():  # the single 0 written there becomes null
            matrix[null, last - 3 : last + 1] = np.frombuffer(b"null", dtype=np.uint8)
            lengths += 3 * null
    return matrix.tobytes().translate(None, b"\0"), lengths  # 3 times matrix[matrix != 0]


_Block = bytes | list[bytes | memoryview]


class _Background:
    """Writes blocks of bytes in a thread, so that formatting the next rows overlaps the
    write (which releases the GIL); errors are raised by the next call."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.queue: queue.Queue[_Block | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            if self.error is None:
                try:
                    for piece in [block] if isinstance(block, bytes) else block:
                        self.out.write(piece)
                except BaseException as err:  # raised in the caller's thread
                    self.error = err

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def write(self, block: _Block) -> None:
        """Write ``block``: bytes, or pieces written one after the other (no join)."""
        self._check()
        self.queue.put(block)

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self._check()


class CsvWriter:
    """The contract's columns with ``quoted`` (:data:`~vxsum.report.rows.TABLE_COLUMNS`),
    one header line; an empty value for null."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.csv = csv.writer(out)
        self.csv.writerow(TABLE_COLUMNS)

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        cols = _columns(rows)
        frame, depth, layer, value, exp, verdict, ok, detail, by, hyp, port, quoted = cols[:12]
        time, offset, where = cols[12:15]
        flow = [["" if x is None else x for x in c] for c in cols[15:]]
        self.csv.writerows(
            zip(
                [path] * len(rows),
                frame,
                depth,
                layer,
                value,
                ["" if e is None else e for e in exp],
                verdict,
                ok,
                detail,
                ["" if x is None else x for x in by],
                ["" if x is None else x for x in hyp],
                ["" if x is None else x for x in port],
                quoted,
                ["" if x is None else x for x in time],
                ["" if x is None else x for x in offset],
                where,
                *flow,
                strict=True,
            )
        )

    def close(self) -> None:
        self.out.flush()


class ParquetWriter:
    """The same columns as a typed parquet file (needs pyarrow: the ``parquet`` extra),
    written to a path or a binary stream (parquet is written front to back: a pipe will do).
    The schema is :func:`vxsum.report.arrow.schema`, as :func:`~vxsum.report.arrow.scan`'s."""

    def __init__(self, target: str | IO[bytes]) -> None:
        from . import arrow

        try:
            import pyarrow.parquet as pq
        except ImportError as err:
            raise ImportError(
                "--format parquet needs pyarrow: pip install 'vxsum[parquet]'"
            ) from err
        self.arrow = arrow
        self.schema = arrow.schema()
        self.writer = pq.ParquetWriter(target, self.schema)

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        self.writer.write_batch(self.arrow.record_batch(path, rows, self.schema))

    def close(self) -> None:
        self.writer.close()


def open_writer(fmt: str, out: IO[str] | None, target: str | None) -> RowWriter | None:
    """The writer for ``fmt`` (None for text, which shows the summary only); jsonl
    writes to ``out``'s binary buffer."""
    if fmt == "jsonl" and out is not None:
        out.flush()
        return JsonlWriter(out.buffer)  # type: ignore[attr-defined]
    if fmt == "csv" and out is not None:
        return CsvWriter(out)
    if fmt == "parquet":
        if target is None:
            raise ValueError("--format parquet needs -o FILE")
        return ParquetWriter(target)
    return None
