"""Reports: whole capture files to counted, explained rows in every output format.

:func:`analyze_file` (:mod:`~vxsum.report.analysis`) reads a capture in batches, takes
the facts and verdicts of every field, and hands the rows, in frame order, to a sink:
the jsonl, csv and parquet writers (:mod:`~vxsum.report.writers`) render their words
there. :mod:`~vxsum.report.rows` keeps rows on disk until a file's flow evidence is
final; :mod:`~vxsum.report.parallel` runs files in worker processes; :func:`scan`
(:mod:`~vxsum.report.arrow`) yields the rows as Arrow record batches, and
:func:`read_captures` (:mod:`~vxsum.report.distributed`) as a Dask DataFrame of many
files; :func:`html_report` (:mod:`~vxsum.report.html`) writes one self-contained HTML
page of a run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis import FileReport, Options, RowSink, Summary, analyze, analyze_file
    from .arrow import record_batch, scan, schema
    from .distributed import analyze_on_cluster, read_captures, summarize_captures
    from .html import Timeline, html_report, write_html_report
    from .parallel import analyze_parallel
    from .rows import COLUMNS, Spool
    from .writers import FORMATS, CsvWriter, JsonlWriter, ParquetWriter, RowWriter, open_writer

_SOURCES = {
    "FileReport": "analysis",
    "Options": "analysis",
    "RowSink": "analysis",
    "Summary": "analysis",
    "analyze": "analysis",
    "analyze_file": "analysis",
    "analyze_parallel": "parallel",
    "record_batch": "arrow",
    "scan": "arrow",
    "schema": "arrow",
    "analyze_on_cluster": "distributed",
    "read_captures": "distributed",
    "summarize_captures": "distributed",
    "Timeline": "html",
    "html_report": "html",
    "write_html_report": "html",
    "COLUMNS": "rows",
    "Spool": "rows",
    "FORMATS": "writers",
    "CsvWriter": "writers",
    "JsonlWriter": "writers",
    "ParquetWriter": "writers",
    "RowWriter": "writers",
    "open_writer": "writers",
}
"""Where each exported name lives (imported on first use, PEP 562)."""

__all__ = [
    "COLUMNS",
    "FORMATS",
    "CsvWriter",
    "FileReport",
    "JsonlWriter",
    "Options",
    "ParquetWriter",
    "RowSink",
    "RowWriter",
    "Spool",
    "Summary",
    "Timeline",
    "analyze",
    "analyze_file",
    "analyze_on_cluster",
    "analyze_parallel",
    "html_report",
    "open_writer",
    "read_captures",
    "record_batch",
    "scan",
    "schema",
    "summarize_captures",
    "write_html_report",
]


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
