"""Several capture files at once, in worker processes (``vxsum analyze --jobs N``).

Each worker analyses one file (:func:`vxsum.report.analysis.analyze`) and keeps its rows
in a temporary file of :data:`vxsum.verdicts.labels.ROW` records; the parent hands them to
the writer in the order the files were given, so the output is the same as with one
job. Processes rather than threads, because the per-frame path holds the GIL.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..verdicts.labels import ROW
from .analysis import FileReport, Options, RowSink, analyze

__all__ = ["analyze_parallel"]

_CHUNK = 1 << 16  # rows read back at a time


class _Collect:
    """A row sink that appends rows to a file (worker side)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "wb")  # noqa: SIM115  # closed by the worker

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        self.file.write(rows.tobytes())


def _worker(path: str, options: Options, spool: str) -> FileReport:
    sink = _Collect(spool)
    try:
        return analyze(path, options, sink=sink)
    finally:
        sink.file.close()


def analyze_parallel(
    paths: Sequence[str], options: Options, jobs: int, sink: RowSink | None
) -> list[FileReport]:
    """Analyse ``paths`` with up to ``jobs`` processes; rows reach ``sink`` in file order."""
    from concurrent.futures import ProcessPoolExecutor  # only here: it imports logging

    reports = []
    with tempfile.TemporaryDirectory(prefix="vxsum-") as tmp:
        spools = [os.path.join(tmp, f"{k}.rows") for k in range(len(paths))]
        with ProcessPoolExecutor(min(jobs, len(paths))) as pool:
            futures = [
                pool.submit(_worker, path, options, spool)
                for path, spool in zip(paths, spools, strict=True)
            ]
            for path, spool, future in zip(paths, spools, futures, strict=True):
                reports.append(future.result())
                if sink is None:
                    continue
                with open(spool, "rb") as f:
                    while chunk := f.read(_CHUNK * ROW.itemsize):
                        sink(path, np.frombuffer(chunk, dtype=ROW).copy())
    return reports
