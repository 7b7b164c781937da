"""``vxsum analyze --jobs N``: several capture files at once, in worker processes.

Each worker analyses one file with :func:`vxsum.report.analyze.analyze_file` and keeps its
rows in a temporary file of :data:`vxsum.report.rows.ROW` records plus their texts; the parent
hands them to the writer in the order the files were given, so the output is the
same as with one job. Processes rather than threads, because the per-frame path holds
the GIL.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .analyze import FileReport, RowSink, analyze_file
from .rows import ROW
from .writers import RowWriter

__all__ = ["analyze_one", "analyze_parallel"]


class _Collect:
    """A row sink that appends rows and texts to a temporary file (worker side)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "wb")  # noqa: SIM115  # closed by the worker

    def __call__(self, path: str, rows: npt.NDArray[np.void], details: list[str]) -> None:
        pickle.dump((rows.tobytes(), details), self.file, protocol=pickle.HIGHEST_PROTOCOL)


def analyze_one(
    path: str,
    args: argparse.Namespace,
    sink: RowSink | None,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """:func:`vxsum.report.analyze.analyze_file` with the options of ``vxsum analyze``
    (``-`` is standard input)."""
    return analyze_file(
        sys.stdin.buffer if path == "-" else path,
        config=args.config,
        conntrack=args.conntrack,
        before_nat=args.before_nat,
        keep_going=args.keep_going,
        all_fields=args.all_fields,
        sink=sink,
        progress=progress,
    )


def _worker(path: str, args: argparse.Namespace, spool: str) -> FileReport:
    sink = _Collect(spool)
    try:
        return analyze_one(path, args, sink)
    finally:
        sink.file.close()


def analyze_parallel(
    args: argparse.Namespace, writer: RowWriter | None, progress: object = None
) -> list[FileReport]:
    """Analyse ``args.files`` with ``args.jobs`` processes; write rows in file order."""
    from concurrent.futures import ProcessPoolExecutor  # only here: it imports logging

    reports = []
    with tempfile.TemporaryDirectory(prefix="vxsum-") as tmp:
        spools = [os.path.join(tmp, f"{k}.rows") for k in range(len(args.files))]
        with ProcessPoolExecutor(min(args.jobs, len(args.files))) as pool:
            futures = [
                pool.submit(_worker, path, args, spool)
                for path, spool in zip(args.files, spools, strict=True)
            ]
            for path, spool, future in zip(args.files, spools, futures, strict=True):
                report = future.result()
                reports.append(report)
                if writer is not None:
                    with open(spool, "rb") as f:
                        while True:
                            try:
                                raw, details = pickle.load(f)
                            except EOFError:
                                break
                            writer(path, np.frombuffer(raw, dtype=ROW), details)
    return reports
