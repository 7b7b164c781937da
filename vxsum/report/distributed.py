"""Many captures on a Dask cluster: one task per file, from local paths or fsspec URLs.

:func:`read_captures` turns a list or glob of captures (local paths, or any fsspec URL
such as ``s3://bucket/*.pcap.gz`` with its ``storage_options``) into a
``dask.dataframe.DataFrame`` of the row contract (:func:`vxsum.report.arrow.schema`,
one partition per file); :func:`summarize_captures` computes each file's
:class:`~vxsum.report.analysis.FileReport` on the cluster; :func:`analyze_on_cluster` is
``vxsum analyze`` with its files read by the workers of a Dask scheduler, the rows handed
to a :data:`~vxsum.report.analysis.RowSink` in file order, so jsonl, csv and parquet come
out as a local run writes them.

A file is never split: its flow evidence (``nat-stale`` by flow) and its capture-wide
test need every record of it, and a compressed stream cannot be entered in the middle.
What scales is the number of files. Dask, fsspec and pyarrow are the ``dask`` extra
(``pip install 'vxsum[dask]'``); ``vxsum analyze --jobs N`` needs none of them.
"""

from __future__ import annotations

import errno
import glob
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np
import numpy.typing as npt

from ..capture.problems import ProblemLog
from ..errors import VxsumError
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..kernel.conntrack import Conntrack
from ..verdicts.prenat import PreNatCapture
from .analysis import FileReport, Options, RowSink, analyze, analyze_rows
from .arrow import record_batch, schema

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client

__all__ = [
    "Capture",
    "analyze_on_cluster",
    "find_captures",
    "meta",
    "read_captures",
    "summarize_captures",
]

URLs = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One path, URL or glob, or a list of them."""

_STREAM = "-"
"""What :mod:`~vxsum.report.analysis` calls a file it was handed as a stream."""


def _dask() -> Any:
    try:
        import dask.dataframe
        import fsspec  # noqa: F401  # find_captures and the workers' reads
    except ImportError as err:
        raise ImportError("Dask clusters need dask and fsspec: pip install 'vxsum[dask]'") from err
    return dask


@dataclass(frozen=True, slots=True)
class Capture:
    """One capture to read: ``name`` in rows and reports; ``path`` opened by the worker,
    through ``fs`` (an fsspec file system) or, with ``fs`` None, as a local path."""

    name: str
    path: str
    fs: Any = None


def find_captures(urlpath: URLs, storage_options: Mapping[str, Any] | None = None) -> list[Capture]:
    """The captures a list or glob names, each glob's matches sorted, in the order given.

    A plain path keeps its name as given (as ``vxsum analyze`` shows it) and is opened by
    the worker in its own working directory (a LocalCluster's workers share yours): give
    absolute paths, or URLs, to a remote cluster. A URL's file system is fsspec's, with
    ``storage_options``; ``file://`` URLs are local paths. A glob that matches nothing
    raises :class:`FileNotFoundError` (its ``filename`` the glob).
    """
    _dask()
    import fsspec.core
    from fsspec.implementations.local import LocalFileSystem
    from fsspec.utils import stringify_path

    items = (
        [urlpath]
        if isinstance(urlpath, str | os.PathLike)
        else list(urlpath)  # a list of paths, URLs or globs
    )
    options = dict(storage_options or {})
    found: list[Capture] = []
    for item in items:
        text = stringify_path(item)
        magic = fsspec.core.has_magic(text)
        if "://" not in text and "::" not in text:  # a local path, as the shell gives it
            literal = not magic or os.path.exists(text)  # "capture[1].pcap" is a name
            paths = [text] if literal else sorted(glob.glob(text))
            if not paths:
                raise _no_match(text)
            found += [Capture(p, p) for p in paths]
            continue
        fs, path = fsspec.core.url_to_fs(text, **options)
        paths = sorted(fs.glob(path)) if magic else [path]
        if not paths:
            raise _no_match(text)
        if isinstance(fs, LocalFileSystem):
            found += [Capture(p, p) for p in paths]
        else:
            found += [Capture(fs.unstrip_protocol(p) if magic else text, p, fs) for p in paths]
    return found


def _no_match(pattern: str) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, "no capture matches", pattern)


class _Named:
    """A file object that answers to the capture's name (CaptureReader's errors use it)."""

    def __init__(self, file: Any, name: str) -> None:
        self._file, self.name = file, name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._file, attr)


@contextmanager
def _opened(capture: Capture) -> Iterator[str | BinaryIO]:
    """The capture as :func:`~vxsum.report.analysis.analyze` takes it: a path, or a
    stream of its raw bytes (vxsum tells compression by magic numbers, not fsspec)."""
    if capture.fs is None:
        yield capture.path
        return
    with capture.fs.open(capture.path, "rb") as f:
        yield cast(BinaryIO, _Named(f, capture.name))


def _renamed(report: FileReport, capture: Capture) -> FileReport:
    """``report`` with the capture's name where the analysis, handed a stream, said ``-``:
    its path, and the problem lines that start with it (the rest as they were, in order)."""
    if capture.fs is None:
        return report
    head, name = f"{_STREAM}: ", f"{capture.name}: "
    kinds: dict[str, list[str]] = {k: list(ex) for k, _, ex in report.problems.by_kind()}
    left = {k: n for k, n, _ in report.problems.by_kind()}
    problems: ProblemLog[str] = ProblemLog()
    for line in report.problems.examples:  # the order met, each with its kind
        kind = next(k for k, ex in kinds.items() if ex and ex[0] == line)
        kinds[kind].pop(0)
        left[kind] -= 1
        problems.add(kind, [name + line[len(head) :] if line.startswith(head) else line])
    for kind, n in left.items():
        problems.add(kind, (), n)
    report.path, report.problems = capture.name, problems
    return report


@dataclass(frozen=True, slots=True)
class _Partition:
    """The rows of one capture as a pandas DataFrame of :func:`~.arrow.schema` (a task)."""

    options: Options

    def __call__(self, capture: Capture) -> pd.DataFrame:
        import pandas as pd
        import pyarrow as pa

        into = schema()
        with _opened(capture) as source:
            batches = [
                record_batch(capture.name, rows, into)
                for rows in analyze_rows(source, self.options)
            ]
        table = pa.Table.from_batches(batches, schema=into)
        return table.to_pandas(types_mapper=pd.ArrowDtype)


def meta() -> pd.DataFrame:
    """An empty frame of the row contract's columns and types (``pandas.ArrowDtype`` of
    :func:`vxsum.report.arrow.schema`): what every partition of :func:`read_captures` is."""
    import pandas as pd

    return schema().empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def _options(
    config: ParseConfig,
    conntrack: Conntrack | None,
    before_nat: PreNatCapture | None,
    keep_going: bool,
    all_fields: bool,
) -> Options:
    return Options(config, conntrack, before_nat, keep_going, all_fields)


def read_captures(
    urlpath: URLs,
    *,
    storage_options: Mapping[str, Any] | None = None,
    config: ParseConfig = DEFAULT_CONFIG,
    conntrack: Conntrack | None = None,
    before_nat: PreNatCapture | None = None,
    keep_going: bool = False,
    all_fields: bool = False,
) -> dd.DataFrame:
    """The rows of the captures ``urlpath`` names (paths, fsspec URLs, globs: see
    :func:`find_captures`) as a lazy ``dask.dataframe.DataFrame``, one partition per file in
    the order given, each the rows :func:`~vxsum.report.arrow.scan` gives for that file.

    Columns and types are the row contract's (:func:`~vxsum.report.arrow.schema`, as
    ``pandas.ArrowDtype``: nullable integers and strings stay what they are); the options
    are ``vxsum analyze``'s (:func:`~vxsum.report.analysis.analyze_file`). Computing it
    runs one task per file on Dask's scheduler (a ``distributed.Client``'s cluster, once
    one is made): the glob is expanded here, each file read by a worker.
    """
    dask = _dask()
    todo = find_captures(urlpath, storage_options)
    task = _Partition(_options(config, conntrack, before_nat, keep_going, all_fields))
    frame: dd.DataFrame = dask.dataframe.from_map(
        task, todo, meta=meta(), label="vxsum-rows", enforce_metadata=False
    )
    return frame


def _report(capture: Capture, options: Options) -> FileReport:
    """One capture's report, its rows counted and not kept (a task)."""
    with _opened(capture) as source:
        return _renamed(analyze(source, options), capture)


def summarize_captures(
    urlpath: URLs,
    *,
    storage_options: Mapping[str, Any] | None = None,
    config: ParseConfig = DEFAULT_CONFIG,
    conntrack: Conntrack | None = None,
    before_nat: PreNatCapture | None = None,
    keep_going: bool = False,
    all_fields: bool = False,
) -> list[FileReport]:
    """The :class:`~vxsum.report.analysis.FileReport` of each capture ``urlpath`` names,
    in order, computed on Dask's scheduler (one task per file, like
    :func:`read_captures`): packets, problems, field counts, harmful flows, the
    capture-wide test and the diagnosis, each file's as a local run finds them.
    ``Summary.of(reports)`` adds them up."""
    dask = _dask()
    options = _options(config, conntrack, before_nat, keep_going, all_fields)
    tasks = [dask.delayed(_report)(c, options) for c in find_captures(urlpath, storage_options)]
    reports: tuple[FileReport, ...] = dask.compute(*tasks)
    return list(reports)


Rows = npt.NDArray[np.void]


def _analyzed(
    capture: Capture, options: Options, keep_rows: bool
) -> tuple[FileReport, list[Rows], int]:
    """One capture's report, its rows in frame order if asked, and its size (a task)."""
    kept: list[Rows] = []

    def keep(path: str, rows: Rows) -> None:
        kept.append(rows)

    with _opened(capture) as source:
        report = analyze(source, options, sink=keep if keep_rows else None)
    size = 0
    with suppress(Exception):  # for a progress bar only
        fs = capture.fs
        size = int(os.path.getsize(capture.path) if fs is None else fs.size(capture.path))
    return _renamed(report, capture), kept, size


def analyze_on_cluster(
    urlpath: URLs,
    options: Options,
    sink: RowSink | None,
    *,
    scheduler: str | Client,
    storage_options: Mapping[str, Any] | None = None,
    progress: Callable[[str, int], None] | None = None,
    unreadable: Callable[[str, OSError | VxsumError], None] | None = None,
) -> list[FileReport]:
    """``vxsum analyze`` on a Dask cluster: the files' reports in order, and their rows
    handed to ``sink`` (a row writer) file after file, in frame order, as with one job.

    ``scheduler`` is a scheduler's address (``tcp://host:8786``; a client is made and
    closed here, and one that cannot connect raises ``OSError``, a ``TimeoutError`` after
    Dask's connect timeout) or a ``distributed.Client``. The workers read the files (paths they can
    open, or fsspec URLs with ``storage_options``: see :func:`find_captures`), each a task,
    and send back the report and the rows. ``progress`` and ``unreadable`` are
    :func:`~vxsum.report.parallel.analyze_parallel`'s: ``progress`` is called with (file,
    its size in bytes) as each file's result is taken in; a file that cannot be read
    (``OSError``, :class:`~vxsum.errors.VxsumError`, raised by the worker) is handed to
    ``unreadable`` with the error and left out while the others go on. Without
    ``unreadable``, or when it raises, the error is raised here as it was raised there, and
    the tasks not yet done are cancelled. Files are named as :func:`find_captures` names
    them (a plain path as given; each match of a URL glob by its URL).
    """
    _dask()
    from distributed import Client

    todo = find_captures(urlpath, storage_options)
    make: Any = Client  # untyped
    client: Any = scheduler if isinstance(scheduler, Client) else make(scheduler)
    futures = [client.submit(_analyzed, c, options, sink is not None, pure=False) for c in todo]
    reports = []
    try:
        for capture, future in zip(todo, futures, strict=True):
            try:
                report, chunks, size = future.result()
            except (OSError, VxsumError) as err:
                if unreadable is None:
                    raise
                unreadable(capture.name, err)
                continue
            finally:
                future.release()
            reports.append(report)
            for rows in chunks:  # none without a sink
                assert sink is not None
                sink(capture.name, rows)
            if progress is not None:
                progress(capture.name, size)
    finally:
        client.cancel(futures)
        if client is not scheduler:
            client.close()
    return reports
