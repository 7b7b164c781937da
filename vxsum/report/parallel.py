"""Several capture files at once, in worker processes (``vxsum analyze --jobs N``).

Each worker analyses one file (:func:`vxsum.report.analysis.analyze`) and keeps its rows
in a temporary file of :data:`vxsum.verdicts.labels.ROW` records; the parent hands them to
the writer in the order the files were given, so the output is the same as with one
job. Processes rather than threads, because the per-frame path holds the GIL. The
workers write the offset each has reached into shared memory, which the parent reads
while it waits: one progress bar for all files.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import suppress
from multiprocessing.sharedctypes import RawArray
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import VxsumError
from ..verdicts.labels import ROW
from .analysis import FileReport, Options, RowSink, analyze

__all__ = ["analyze_parallel"]

_CHUNK = 1 << 16  # rows read back at a time
_TICK = 0.1  # seconds between looks at the workers' progress

_reached: Any = None
"""Worker side: the shared array of the file offset each file has reached."""


class _Collect:
    """A row sink that appends rows to a file (worker side)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "wb")  # noqa: SIM115  # closed by the worker

    def __call__(self, path: str, rows: npt.NDArray[np.void]) -> None:
        self.file.write(rows.tobytes())


def _share(reached: Any) -> None:
    """Worker initialiser: keep the shared offsets."""
    global _reached
    _reached = reached


def _worker(path: str, options: Options, spool: str, k: int) -> FileReport:
    sink = _Collect(spool)

    def progress(offset: int) -> None:
        _reached[k] = offset

    try:
        report = analyze(path, options, sink=sink, progress=progress)
    finally:
        sink.file.close()
    with suppress(OSError):  # read to its end: its size, for a bar of bytes
        progress(max(_reached[k], os.path.getsize(path)))
    return report


class _Watch:
    """Parent side: the workers' offsets, passed on to ``progress`` as they change."""

    def __init__(
        self, paths: Sequence[str], reached: Any, progress: Callable[[str, int], None] | None
    ) -> None:
        self.paths, self.reached, self.progress = paths, reached, progress
        self.seen = [0] * len(paths)

    def tick(self) -> None:
        if self.progress is None:
            return
        for k, offset in enumerate(self.reached[:]):
            if offset != self.seen[k]:
                self.seen[k] = offset
                self.progress(self.paths[k], offset)

    def result(self, future: Future[FileReport]) -> FileReport:
        """The future's report, looking at the progress while it runs."""
        from concurrent.futures import wait

        if self.progress is not None:
            while not wait([future], timeout=_TICK).done:
                self.tick()
            self.tick()
        return future.result()


def analyze_parallel(
    paths: Sequence[str],
    options: Options,
    jobs: int,
    sink: RowSink | None,
    *,
    progress: Callable[[str, int], None] | None = None,
    unreadable: Callable[[str, OSError | VxsumError], None] | None = None,
) -> list[FileReport]:
    """Analyse ``paths`` with up to ``jobs`` processes; rows reach ``sink`` in file order.

    ``progress`` is called here, in this process, with (file, file offset reached) as
    the workers read, and with (file, its size) once a file has been read. With
    ``unreadable``, a file that cannot be read (:class:`OSError`,
    :class:`~vxsum.errors.VxsumError`) is handed to it with the error and left out (none
    of its rows reach ``sink``) while the other files go on; without it, or when it
    raises, the files not yet started are cancelled and the error raised."""
    from concurrent.futures import ProcessPoolExecutor  # only here: it imports logging

    reports = []
    reached = RawArray("q", len(paths))  # each worker writes its own file's slot
    watch = _Watch(paths, reached, progress)
    with tempfile.TemporaryDirectory(prefix="vxsum-") as tmp:
        spools = [os.path.join(tmp, f"{k}.rows") for k in range(len(paths))]
        with ProcessPoolExecutor(
            min(jobs, len(paths)), initializer=_share, initargs=(reached,)
        ) as pool:
            futures = [
                pool.submit(_worker, path, options, spool, k)
                for k, (path, spool) in enumerate(zip(paths, spools, strict=True))
            ]
            try:
                for path, spool, future in zip(paths, spools, futures, strict=True):
                    try:
                        reports.append(watch.result(future))
                    except (OSError, VxsumError) as err:
                        if unreadable is None:
                            raise
                        unreadable(path, err)
                        continue
                    if sink is None:
                        continue
                    with open(spool, "rb") as f:
                        while chunk := f.read(_CHUNK * ROW.itemsize):
                            sink(path, np.frombuffer(chunk, dtype=ROW).copy())
                            watch.tick()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)  # what has not started
                raise
    return reports
