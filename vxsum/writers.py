"""Writing analyze rows as jsonl, csv or parquet: the same columns in each format.

The jsonl contract: one object per checksum field with the keys ``file``, ``frame``
(1-based), ``depth``, ``layer``, ``value``, ``expected`` (null when unverifiable),
``verdict``, ``harmless``, ``detail``, and ``"quoted": true`` for fields quoted inside
an ICMP error. csv has the same columns plus ``quoted`` (true/false); parquet the same,
typed, through the optional pyarrow extra (``pip install 'vxsum[parquet]'``).

Each writer is a :data:`vxsum.analysis.RowSink`: it takes a file's rows as the
structured array :data:`vxsum.rows.ROW` and formats them column by column.
"""

from __future__ import annotations

import csv
import json
import queue
import threading
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from . import evidence
from .classify import Label
from .fastpath import LABELS, LAYERS
from .rows import COLUMNS, harmless

__all__ = ["FORMATS", "CsvWriter", "JsonlWriter", "ParquetWriter", "RowWriter", "open_writer"]

FORMATS = ("text", "jsonl", "csv", "parquet")
_LABEL_NAMES = [str(label) for label in LABELS]
_PLAIN = np.array([label in (Label.GOOD, Label.NO_CHECKSUM) for label in LABELS])


class RowWriter(Protocol):
    def __call__(self, path: str, rows: npt.NDArray[np.void], details: list[str]) -> None: ...

    def close(self) -> None: ...


def _columns(
    rows: npt.NDArray[np.void], details: list[str]
) -> tuple[list[int], ...] | tuple[list[Any], ...]:
    """The row values as Python lists, in contract order (file and quoted apart)."""
    expected = rows["expected"].astype(object)
    expected[rows["expected"] < 0] = None
    return (
        rows["frame"].tolist(),
        rows["depth"].tolist(),
        [LAYERS[c] for c in rows["layer"].tolist()],
        rows["value"].tolist(),
        expected.tolist(),
        [_LABEL_NAMES[c] for c in rows["label"].tolist()],
        harmless(rows["label"]).tolist(),
        details,
        rows["quoted"].tolist(),
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

    def __call__(self, path: str, rows: npt.NDArray[np.void], details: list[str]) -> None:
        head = '{"file": ' + json.dumps(path) + ', "frame": '
        lines = np.empty(len(rows), dtype=object)
        plain = _PLAIN[rows["label"]] & (rows["text"] < 0) & ~rows["quoted"]
        plain &= rows["expected"] >= 0
        if plain.any():
            key = (rows["layer"].astype(np.int64) * 256 + rows["depth"]) * 256 + rows["label"]
            for k in np.unique(key[plain]).tolist():
                at = np.flatnonzero(plain & (key == k))
                layer, depth, label = LAYERS[k >> 16], (k >> 8) & 0xFF, LABELS[k & 0xFF]
                detail = self._json(evidence.NO_CHECKSUM if label == Label.NO_CHECKSUM else "")
                template = (
                    f'{head}%d, "depth": {depth}, "layer": "{layer}", "value": %d, '
                    f'"expected": %d, "verdict": "{label}", "harmless": true, '
                    f'"detail": {detail}}}\n'
                )
                values = zip(
                    rows["frame"][at].tolist(),
                    rows["value"][at].tolist(),
                    rows["expected"][at].tolist(),
                    strict=True,
                )
                lines[at] = list(map(template.__mod__, values))
        other = np.flatnonzero(~plain)
        if len(other):
            js = self._json
            tails = ("}\n", ', "quoted": true}\n')
            cols = _columns(rows[other], [details[i] for i in other.tolist()])
            lines[other] = [
                f'{head}{frame}, "depth": {depth}, "layer": "{layer}", "value": {value}, '
                f'"expected": {"null" if exp is None else exp}, "verdict": "{verdict}", '
                f'"harmless": {"true" if ok else "false"}, "detail": {js(detail)}'
                f"{tails[quoted]}"
                for frame, depth, layer, value, exp, verdict, ok, detail, quoted in zip(
                    *cols, strict=True
                )
            ]
        self._writer.write("".join(lines.tolist()).encode())

    def close(self) -> None:
        self._writer.close()
        self.out.flush()


class _Background:
    """Writes blocks of bytes in a thread, so that formatting the next rows overlaps the
    write (which releases the GIL); errors are raised by the next call."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.out.write(block)
                except BaseException as err:  # raised in the caller's thread
                    self.error = err

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def write(self, block: bytes) -> None:
        self._check()
        self.queue.put(block)

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self._check()


class CsvWriter:
    """The contract's columns plus ``quoted``, one header line."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.csv = csv.writer(out)
        self.csv.writerow([*COLUMNS, "quoted"])

    def __call__(self, path: str, rows: npt.NDArray[np.void], details: list[str]) -> None:
        frame, depth, layer, value, exp, verdict, ok, detail, quoted = _columns(rows, details)
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
                quoted,
                strict=True,
            )
        )

    def close(self) -> None:
        self.out.flush()


class ParquetWriter:
    """The same columns as a typed parquet file (needs pyarrow: the ``parquet`` extra)."""

    def __init__(self, target: str) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as err:
            raise ImportError(
                "--format parquet needs pyarrow: pip install 'vxsum[parquet]'"
            ) from err
        self.pa = pa
        self.schema = pa.schema(
            [
                ("file", pa.string()),
                ("frame", pa.int64()),
                ("depth", pa.int8()),
                ("layer", pa.string()),
                ("value", pa.int32()),
                ("expected", pa.int32()),
                ("verdict", pa.string()),
                ("harmless", pa.bool_()),
                ("detail", pa.string()),
                ("quoted", pa.bool_()),
            ]
        )
        self.writer = pq.ParquetWriter(target, self.schema)

    def __call__(self, path: str, rows: npt.NDArray[np.void], details: list[str]) -> None:
        pa = self.pa
        n = len(rows)
        exp = rows["expected"].astype(np.int32)
        table = pa.table(
            {
                "file": pa.array([path] * n, pa.string()).dictionary_encode().cast(pa.string()),
                "frame": rows["frame"].astype(np.int64),
                "depth": rows["depth"].astype(np.int8),
                "layer": [LAYERS[c] for c in rows["layer"].tolist()],
                "value": rows["value"].astype(np.int32),
                "expected": pa.array(exp, mask=exp < 0),
                "verdict": [_LABEL_NAMES[c] for c in rows["label"].tolist()],
                "harmless": harmless(rows["label"]),
                "detail": details,
                "quoted": rows["quoted"],
            },
            schema=self.schema,
        )
        self.writer.write_table(table)

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
