"""The rows as Arrow record batches: :func:`scan` for scripts, and the parquet schema.

One schema (:func:`schema`, version :data:`SCHEMA_VERSION` in its metadata) serves the
record batches of :func:`scan` and the parquet files of ``vxsum analyze --format
parquet``; its columns are the jsonl and csv contract's (docs/cli.md), typed. pyarrow
is the ``parquet`` extra (``pip install 'vxsum[parquet]'``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import numpy.typing as npt

from ..capture.walking import NO_TIMESTAMP
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..frames.fields import LAYERS
from ..kernel.conntrack import Conntrack
from ..verdicts import text
from ..verdicts.labels import LABELS
from ..verdicts.prenat import PreNatCapture
from .analysis import Options, analyze_rows
from .rows import FLOW_COLUMNS, FRAME_FILTER, Addresses, flow_columns, harmless

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["SCHEMA_VERSION", "record_batch", "scan", "schema"]

SCHEMA_VERSION = "4"
"""The row contract's version, in the schema's metadata (``vxsum.schema_version``): 2
appended ``time``, ``record_offset`` and ``display_filter``, 3 the packet's, flow's and
tunnel's columns (:data:`~vxsum.report.rows.FLOW_COLUMNS`), 4 made the label columns
dictionary-encoded (docs/cli.md says when it changes)."""

Source = str | os.PathLike[str] | BinaryIO


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as err:
        raise ImportError(
            "Arrow and parquet output need pyarrow: pip install 'vxsum[parquet]'"
        ) from err
    return pyarrow


def schema() -> pa.Schema:
    """The typed row contract, in the order of
    :data:`~vxsum.report.rows.TABLE_COLUMNS`: the jsonl keys, ``quoted`` in its place,
    the labels (``file``, ``layer``, ``verdict``, ``detail``, ``confirmed_by``,
    ``hypothesis``) dictionary-encoded.
    ``time`` is int64 nanoseconds since the epoch, as in jsonl and csv (a Python datetime
    cannot hold nanoseconds); ``pyarrow.compute.cast(t, pa.timestamp("ns", "UTC"))``
    makes it a timestamp."""
    pa = _pyarrow()
    label = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [
            ("file", label),
            ("frame", pa.int64()),
            ("depth", pa.int8()),
            ("layer", label),
            ("value", pa.int32()),
            ("expected", pa.int32()),
            ("verdict", label),
            ("harmless", pa.bool_()),
            ("detail", label),
            ("confirmed_by", label),
            ("hypothesis", label),
            ("port_before_nat", pa.int32()),
            ("quoted", pa.bool_()),
            ("time", pa.int64()),
            ("record_offset", pa.int64()),
            ("display_filter", pa.string()),
            *(
                (name, pa.string() if name.endswith(("src", "dst")) else pa.int32())
                for name in FLOW_COLUMNS
            ),
        ],
        metadata={"vxsum.schema_version": SCHEMA_VERSION},
    )


def record_batch(
    path: str, rows: npt.NDArray[np.void], into: pa.Schema | None = None
) -> pa.RecordBatch:
    """The verdict rows of file ``path`` as one record batch of :func:`schema`."""
    pa = _pyarrow()
    n = len(rows)
    expected = rows["expected"].astype(np.int32)
    time, offset = rows["time"].astype(np.int64), rows["record_offset"].astype(np.int64)
    columns = [
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([path])),
        pa.array(rows["frame"].astype(np.int64)),
        pa.array(rows["depth"].astype(np.int8)),
        _coded(pa, (_LAYER_NAMES, rows["layer"].astype(np.intp))),
        pa.array(rows["stored"].astype(np.int32)),
        pa.array(expected, mask=expected < 0),
        _coded(pa, (_LABEL_NAMES, rows["label"].astype(np.intp))),
        pa.array(harmless(rows["label"])),
        _coded(pa, text.detail_codes(rows)),
        _coded(pa, text.confirmed_by_codes(rows)),
        _coded(pa, text.hypothesis_codes(rows)),
        pa.array(rows["port"].astype(np.int32), mask=~text.port_before_nat_shown(rows)),
        pa.array(rows["quoted"]),
        pa.array(time, mask=time == NO_TIMESTAMP),
        pa.array(offset, mask=offset < 0),
        _display_filters(pa, rows["frame"]),
    ]
    for column in flow_columns(rows):
        if isinstance(column, Addresses) and column.ipv4_only():
            columns.append(_ipv4_strings(pa, column))
        elif isinstance(column, Addresses):
            distinct, at = column.distinct()
            missing = np.array([t is None for t in distinct], dtype=bool)
            texts = pa.array(["" if t is None else t for t in distinct], pa.string())
            index = pa.array(at.astype(np.int32), mask=missing[at])
            columns.append(pa.DictionaryArray.from_arrays(index, texts).dictionary_decode())
        else:
            columns.append(pa.array(column.values.astype(np.int32), mask=column.null))
    return pa.RecordBatch.from_arrays(columns, schema=into if into is not None else schema())


_LAYER_NAMES = list(LAYERS)
_LABEL_NAMES = [str(label) for label in LABELS]


def _coded(pa: Any, coded: text.Coded) -> pa.Array:
    """A label column, dictionary-encoded: each row's index (-1: null) into its distinct
    texts, no Python string per row. The dictionary holds only the texts the batch uses,
    so that grouping a pandas categorical shows no empty groups."""
    texts, index = coded
    index = np.asarray(index, dtype=np.int32)
    null = index < 0
    ids: dict[str, int] = {}  # each text used once, in the order of its first code
    new = np.zeros(len(texts), dtype=np.int32)
    for code in np.flatnonzero(np.bincount(index[~null], minlength=len(texts))).tolist():
        new[code] = ids.setdefault(texts[code], len(ids))
    dictionary = pa.array(list(ids), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(new[index], mask=null), dictionary)


def _display_filters(pa: Any, frames: npt.NDArray[np.integer]) -> pa.Array:
    """:data:`~vxsum.report.rows.FRAME_FILTER` and each frame number, joined by Arrow."""
    import pyarrow.compute as pc

    numbers = pc.cast(pa.array(frames.astype(np.int64)), pa.string())
    return pc.binary_join_element_wise(FRAME_FILTER, numbers, "")


def _ipv4_strings(pa: Any, column: Addresses) -> pa.Array:
    """IPv4 addresses as an Arrow string array, made from their bytes at once."""
    dotted, lengths = column.ipv4_bytes()
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    valid = np.packbits(column.present, bitorder="little")
    buffers = [pa.py_buffer(valid), pa.py_buffer(offsets), pa.py_buffer(dotted[dotted != 0])]
    return pa.Array.from_buffers(pa.string(), len(lengths), buffers)


def scan(
    sources: Source | Sequence[Source],
    *,
    config: ParseConfig = DEFAULT_CONFIG,
    conntrack: Conntrack | None = None,
    before_nat: PreNatCapture | None = None,
    keep_going: bool = False,
    all_fields: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Every checksum field to list of one or more captures (paths or binary streams),
    as Arrow record batches of :func:`schema`, file after file; the options are
    ``vxsum analyze``'s (:func:`~vxsum.report.analysis.analyze_file`).

    A file's batches come once the file has been read (its flow evidence needs all of
    it); memory stays bounded by the batch size, the rows waiting on disk. To a pandas
    DataFrame: ``pyarrow.Table.from_batches(scan(path)).to_pandas()``.

    >>> import pyarrow
    >>> from importlib.resources import files
    >>> from vxsum import scan
    >>> capture = files("vxsum") / "data" / "flannel-5.4.40-noudpcsum-wire.pcap"
    >>> table = pyarrow.Table.from_batches(scan(str(capture)))
    >>> table.num_rows, table.column("verdict").to_pylist()[0]
    (6, 'nat-zero-mangled')
    """
    options = Options(config, conntrack, before_nat, keep_going, all_fields)
    into = schema()
    todo: list[Source] = (
        list(sources)
        if isinstance(sources, Sequence) and not isinstance(sources, str)
        else [sources]  # one path or stream
    )
    for source in todo:
        name = os.fspath(source) if isinstance(source, str | os.PathLike) else "-"
        for rows in analyze_rows(source, options):
            yield record_batch(name, rows, into)
