"""Reports: whole capture files to counted, explained rows in every output format.

:func:`analyze_file` (:mod:`~vxsum.report.analysis`) reads a capture in batches, takes
the facts and verdicts of every field, and hands the rows, in frame order, to a sink:
the jsonl, csv and parquet writers (:mod:`~vxsum.report.writers`) render their words
there. :mod:`~vxsum.report.rows` keeps rows on disk until a file's flow evidence is
final; :mod:`~vxsum.report.parallel` runs files in worker processes.
"""

from .analysis import FileReport, Options, RowSink, Summary, analyze, analyze_file
from .parallel import analyze_parallel
from .rows import COLUMNS, Spool
from .writers import FORMATS, CsvWriter, JsonlWriter, ParquetWriter, RowWriter, open_writer

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
    "analyze",
    "analyze_file",
    "analyze_parallel",
    "open_writer",
]
