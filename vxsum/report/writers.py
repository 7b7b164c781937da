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

import bisect
import csv
import json
import os
import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from ..frames.fields import LAYERS
from ..verdicts import text
from ..verdicts.labels import LABELS, Label
from .rows import (
    FLOW_COLUMNS,
    FRAME_FILTER,
    TABLE_COLUMNS,
    Addresses,
    Numbers,
    display_filters,
    flow_columns,
    harmless,
    times,
)

__all__ = [
    "FORMATS",
    "CsvWriter",
    "JsonlWriter",
    "ParquetDatasetWriter",
    "ParquetWriter",
    "RowWriter",
    "open_writer",
]

FORMATS = ("text", "jsonl", "csv", "parquet", "parquet-dataset")
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


def _ipv4_text(column: Addresses, quote: bytes, null: bytes) -> _Text:
    """IPv4 addresses dotted between two ``quote`` bytes, or ``null`` (the zero bytes inside a
    row are dropped when the lines are made)."""
    q = len(quote)
    out, lengths = column.ipv4_bytes(pad=q)
    if q:
        out[:, 0] = out[:, -1] = quote[0]
    lengths += 2 * q
    absent = ~column.present
    out[absent] = 0
    if null:
        out[absent, : len(null)] = np.frombuffer(null, dtype=np.uint8)
    lengths[absent] = len(null)
    return _Text(out, lengths)


def _small(null: bytes) -> _Text:
    """The decimals of 0 to 65535, then ``null``: made once per spelling, when needed."""
    if null not in _SMALL:
        _SMALL[null] = _table([str(k).encode() for k in range(0x10000)] + [null])
    return _SMALL[null]


_SMALL: dict[bytes, _Text] = {}  # _small()'s tables


def _flow_text(
    column: Addresses | Numbers, quote: bytes, null: bytes
) -> npt.NDArray[np.int64] | _Text:
    """A flow column for :func:`_format_numbers`: addresses between two ``quote`` bytes or
    ``null``, numbers below 65536 (ports, protocols) from a table, others as int64 with
    -1 for null."""
    if isinstance(column, Addresses):
        if column.ipv4_only():
            return _ipv4_text(column, quote, null)
        distinct, index = column.distinct()
        texts = [null if t is None else quote + t.encode() + quote for t in distinct]
        return _gather(_table(texts), index)
    if int(column.values.max(initial=0)) > 0xFFFF:
        return np.where(column.null, -1, column.values)
    return _gather(_small(null), np.where(column.null, 0x10000, column.values))


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


class _TemplateWriter:
    """Rows whose text follows from their codes (``good`` and ``no-checksum`` fields, most
    of an ``--all-fields`` listing) are grouped by their fixed parts, and each group is
    formatted with one template, the numbers written by numpy (:func:`_format_numbers`);
    the other rows one by one, in between. Writes bytes to ``out``, a binary stream, in a
    thread (:class:`_Background`). A subclass says how a line looks: :meth:`_template`,
    :meth:`_one_by_one`, and how a missing value and a flow address are spelt."""

    QUOTE: bytes  # around an address
    NULL: bytes  # a missing value

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self._writer = _Background(out)

    def _template(self, path: str, layer: str, depth: int, label: Label) -> tuple[bytes, ...]:
        """The fixed parts of a plain row's line, around its numbers: frame, value,
        expected, time, record_offset, the frame again (display filter) and the flow
        columns."""
        raise NotImplementedError

    def _one_by_one(
        self, path: str, rows: npt.NDArray[np.void], which: npt.NDArray[np.intp]
    ) -> list[str]:
        """The lines of rows ``which``, formatted one by one."""
        raise NotImplementedError

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        plain = _PLAIN[rows["label"]] & (rows["context"] == 0) & ~rows["quoted"]
        plain &= (rows["expected"] >= 0) & (rows["time"] >= 0) & (rows["record_offset"] >= 0)
        other = np.flatnonzero(~plain)
        if len(other) == len(rows):
            self._writer.write("".join(self._one_by_one(path, rows, other)).encode())
            return
        sel = np.flatnonzero(plain)
        key = (rows["layer"].astype(np.int64) * 256 + rows["depth"]) * 256 + rows["label"]
        kinds = np.unique(key[sel])
        templates = [
            self._template(path, LAYERS[k >> 16], (k >> 8) & 0xFF, LABELS[k & 0xFF])
            for k in kinds.tolist()
        ]
        named = ("frame", "stored", "expected", "time", "record_offset", "frame")
        numbers: list[npt.NDArray[np.int64] | _Text]
        numbers = [np.take(rows[name], sel).astype(np.int64) for name in named]
        picked = {name: np.take(rows[name], sel, axis=0) for name in _FLOW_FIELDS}
        numbers += [_flow_text(c, self.QUOTE, self.NULL) for c in flow_columns(picked)]
        kind = np.searchsorted(kinds, key[sel])
        blobs, lengths = _format_numbers(templates, kind, numbers, self.NULL)
        if not len(other):
            self._writer.write(blobs)
            return
        texts = self._one_by_one(path, rows, other)
        ends = np.concatenate([[0], np.cumsum(lengths)])
        cuts = ends[np.searchsorted(sel, other)].tolist()  # plain bytes before each other row
        pieces = _Pieces(blobs)
        out: list[bytes | memoryview] = []
        last = 0
        for cut, line in zip(cuts, texts, strict=True):
            out += pieces.between(last, cut)
            out.append(line.encode())
            last = cut
        out += pieces.between(last, int(ends[-1]))
        self._writer.write(out)

    def close(self) -> None:
        self._writer.close()
        self.out.flush()


class _Pieces:
    """Byte ranges of the concatenation of ``blobs``, as views of them (no copy)."""

    def __init__(self, blobs: list[bytes]) -> None:
        self.views = [memoryview(b) for b in blobs]
        self.starts = np.cumsum([0] + [len(b) for b in blobs]).tolist()

    def between(self, lo: int, hi: int) -> list[memoryview]:
        out = []
        k = bisect.bisect_right(self.starts, lo) - 1
        while lo < hi:
            start, view = self.starts[k], self.views[k]
            end = min(hi, start + len(view))
            if end > lo:
                out.append(view[lo - start : end - start])
            lo, k = end, k + 1
        return out


class JsonlWriter(_TemplateWriter):
    """One JSON object per line, exactly as ``json.dumps`` writes it (the text is
    ASCII-safe JSON)."""

    QUOTE, NULL = b'"', b"null"

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__(out)
        self._strings: dict[str, str] = {}

    def _json(self, text: str) -> str:
        found = self._strings.get(text)
        if found is None:
            if len(self._strings) > 4096:
                self._strings.clear()
            found = self._strings[text] = json.dumps(text)
        return found

    def _template(self, path: str, layer: str, depth: int, label: Label) -> tuple[bytes, ...]:
        detail = self._json(text.NO_CHECKSUM if label == Label.NO_CHECKSUM else "")
        return (
            ('{"file": ' + json.dumps(path) + ', "frame": ').encode(),
            f', "depth": {depth}, "layer": "{layer}", "value": '.encode(),
            b', "expected": ',
            f', "verdict": "{label}", "harmless": true, "detail": {detail}'.encode()
            + _NO_CAUSE
            + b', "time": ',
            b', "record_offset": ',
            f', "display_filter": "{FRAME_FILTER}'.encode(),
            b'", "src": ',
            *_FLOW_KEYS,
            b"}\n",
        )

    def _one_by_one(
        self, path: str, rows: npt.NDArray[np.void], which: npt.NDArray[np.intp]
    ) -> list[str]:
        head = '{"file": ' + json.dumps(path) + ', "frame": '
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


_FORMAT_ROWS = 4096


def _format_numbers(
    templates: Sequence[tuple[bytes, ...]],
    kind: npt.NDArray[np.intp],
    numbers: list[npt.NDArray[np.int64] | _Text],
    null: bytes,
) -> tuple[list[bytes], npt.NDArray[np.int64]]:
    """:func:`_format_rows` of :data:`_FORMAT_ROWS` rows at a time (the lines of each
    piece, and every line's length): the byte matrix of a few thousand rows stays in the
    processor's cache, where that of a whole batch (hundreds of megabytes) made each of
    its passes a trip through memory (the jsonl writer, 800,000 rows: 1.4 s, was 2.0 s)."""
    blobs, lengths = [], []
    for lo in range(0, len(kind), _FORMAT_ROWS):
        part = slice(lo, lo + _FORMAT_ROWS)
        picked = [
            _Text(x.bytes[part], x.lengths[part]) if isinstance(x, _Text) else x[part]
            for x in numbers
        ]
        blob, length = _format_rows(templates, kind[part], picked, null)
        blobs.append(blob)
        lengths.append(length)
    return blobs, np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)


def _format_rows(
    templates: Sequence[tuple[bytes, ...]],
    kind: npt.NDArray[np.intp],
    numbers: list[npt.NDArray[np.int64] | _Text],
    null: bytes,
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Lines ``t[0] n0 t[1] n1 ... t[k]`` (t = ``templates[kind[i]]``, n the decimal
    ``numbers[j][i] >= 0``, ``null`` for -1, or row i of a :class:`_Text`), formatted with
    numpy; returns them joined, and their lengths.

    Each line is laid out in a fixed-width row of a byte matrix, digits right-aligned in
    their fields and every unused byte 0; dropping the zero bytes (JSON and csv have none)
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
        absent = x < 0
        x = np.where(absent, 0, x)
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
        if absent.any():  # the single 0 written there becomes null
            matrix[absent, last - 3 : last + 1] = 0
            if null:
                spelt = np.frombuffer(null, dtype=np.uint8)
                matrix[absent, last + 1 - len(null) : last + 1] = spelt
            lengths += (len(null) - 1) * absent
    return matrix.tobytes().translate(None, b"\0"), lengths  # 3 times matrix[matrix != 0]


_Block = bytes | Sequence[bytes | memoryview]


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


class CsvWriter(_TemplateWriter):
    """The contract's columns with ``quoted`` (:data:`~vxsum.report.rows.TABLE_COLUMNS`),
    one header line, as the standard library's ``csv.writer`` writes them (an empty value
    for null, ``\\r\\n`` after each line); ``out`` is a binary stream."""

    QUOTE, NULL = b"", b""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__(out)
        self._writer.write(_csv_lines([TABLE_COLUMNS])[0].encode())

    def _template(self, path: str, layer: str, depth: int, label: Label) -> tuple[bytes, ...]:
        detail = text.NO_CHECKSUM if label == Label.NO_CHECKSUM else ""
        path_, depth_, layer_, label_, ok, detail_, quoted = map(
            _csv_field, (path, depth, layer, label, True, detail, False)
        )
        return (
            f"{path_},".encode(),
            f",{depth_},{layer_},".encode(),
            b",",
            f",{label_},{ok},{detail_},,,,{quoted},".encode(),
            b",",
            f",{FRAME_FILTER}".encode(),
            b",",
            *([b","] * (len(FLOW_COLUMNS) - 1)),
            b"\r\n",
        )

    def _one_by_one(
        self, path: str, rows: npt.NDArray[np.void], which: npt.NDArray[np.intp]
    ) -> list[str]:
        cols = _columns(rows[which])
        frame, depth, layer, value, exp, verdict, ok, detail, by, hyp, port, quoted = cols[:12]
        time, offset, where = cols[12:15]
        flow = [["" if x is None else x for x in c] for c in cols[15:]]
        return _csv_lines(
            zip(
                [path] * len(which),
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


class _Lines(list[str]):
    """What ``csv.writer`` writes to it: one string per row."""

    def write(self, line: str) -> None:
        self.append(line)


def _csv_lines(rows: Iterable[Sequence[object]]) -> list[str]:
    """``rows`` as ``csv.writer`` writes them, one string per row."""
    lines = _Lines()
    csv.writer(lines).writerows(rows)
    return lines


def _csv_field(value: object) -> str:
    """One field as ``csv.writer`` writes it in a row (quoted where it must be)."""
    return _csv_lines([[value, ""]])[0][: -len(",\r\n")]


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


class ParquetDatasetWriter:
    """A parquet dataset: a directory of one parquet file per capture, ``part-00000.parquet``,
    ``part-00001.parquet``, ... in the order the files' rows come (a file without rows has
    none), each of :class:`ParquetWriter`'s schema. ``pyarrow.dataset.dataset(directory)``,
    ``pyarrow.parquet.read_table(directory)``, DuckDB's ``read_parquet('DIR/*.parquet')``
    and Spark read it as one table, in that order; a file is a unit of work for them."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.parts = 0
        self._file: str | None = None
        self._writer: ParquetWriter | None = None

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        if self._writer is None or path != self._file:
            self.close()
            name = os.path.join(self.directory, f"part-{self.parts:05d}.parquet")
            self._writer, self._file = ParquetWriter(name), path
            self.parts += 1
        self._writer(path, rows)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def open_writer(fmt: str, out: IO[str] | None, target: str | None) -> RowWriter | None:
    """The writer for ``fmt`` (None for text, which shows the summary only); jsonl
    writes to ``out``'s binary buffer."""
    if fmt == "jsonl" and out is not None:
        out.flush()
        return JsonlWriter(out.buffer)  # type: ignore[attr-defined]
    if fmt == "csv" and out is not None:
        out.flush()
        return CsvWriter(out.buffer)  # type: ignore[attr-defined]
    if fmt == "parquet":
        if target is None:
            raise ValueError("--format parquet needs -o FILE")
        return ParquetWriter(target)
    if fmt == "parquet-dataset":
        if target is None:
            raise ValueError("--format parquet-dataset needs -o DIRECTORY")
        return ParquetDatasetWriter(target)
    return None
