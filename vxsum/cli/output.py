"""Where the commands write: standard output, or a file that takes its name only when
the run succeeded.

``-o FILE`` naming a regular file (or a name not yet taken) is written under a temporary
name beside it and renamed over it at the end, so that a failed or interrupted run leaves
an existing file as it was and never a partial file under the name; a device (``/dev/null``),
a pipe or a file already open (``/dev/stdout``) is written directly, and ``-`` is standard
output. Errors of writing become
one-line :class:`OutputError` s (exit 2); a closed pipe becomes :class:`PipeClosed` (exit 0,
quietly, as ``| head`` expects).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

from .common import UsageError

__all__ = [
    "OutputError",
    "PipeClosed",
    "abandon",
    "destination",
    "directory",
    "mute_stdout",
    "reason",
    "writing",
]

_UNFINISHED: set[str] = set()
"""The temporary files and directories being written, for :func:`abandon`."""


class OutputError(UsageError):
    """Writing the output failed: exit 2 with this one-line reason."""


class PipeClosed(Exception):
    """The reader of the output went away (EPIPE): stop, quietly, with exit 0.

    Not an :class:`OSError`, so that no handler of input errors takes it for one."""


def reason(err: OSError) -> str:
    """The text of ``err`` as the one-line errors say it: 'no space left on device'."""
    text = os.strerror(err.errno) if err.errno else str(err)
    return text[:1].lower() + text[1:]


@contextmanager
def writing(name: str) -> Iterator[None]:
    """Errors of writing ``name`` (a file, or 'standard output') as :class:`OutputError`,
    and a closed pipe as :class:`PipeClosed`."""
    try:
        yield
    except OSError as err:
        if err.errno == errno.EPIPE:
            raise PipeClosed from None
        raise OutputError(f"cannot write {name}: {reason(err)}") from None


def mute_stdout() -> None:
    """Point standard output at /dev/null if it cannot be written (a closed pipe, a full
    disk), so that Python's own flush at exit has nothing to complain about."""
    try:
        sys.stdout.flush()
    except OSError:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def abandon() -> None:
    """Remove the unfinished output files and directories: a signal is ending the run."""
    for temp in list(_UNFINISHED):
        with suppress(OSError):
            if os.path.isdir(temp):
                shutil.rmtree(temp)
            else:
                os.unlink(temp)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _refuse_inputs(name: str, out: os.stat_result, inputs: Iterable[str | None]) -> None:
    """Refuse an output that is one of the input files (the same device and inode)."""
    for path in inputs:
        found = None if path is None or path == "-" else _stat(path)
        if found is not None and (found.st_dev, found.st_ino) == (out.st_dev, out.st_ino):
            raise OutputError(f"cannot write {name}: it is also an input ({path})")


_OPEN_FILES = ("/dev/fd/", "/dev/stdout", "/dev/stderr", "/proc/")
"""Names of files already open (``-o /dev/stdout``): written directly, as devices are."""


@contextmanager
def destination(target: str | None, inputs: Iterable[str | None] = ()) -> Iterator[str | None]:
    """The path to write for ``-o target``: None for standard output (no ``-o``, or ``-``).

    A regular file (or a name not yet taken) gets a temporary file beside it, renamed over
    it when the block ends without an error and removed otherwise; a device, a pipe or a
    file already open (``/dev/stdout``) is written directly. A directory is refused, and
    so is one of ``inputs`` (it would be overwritten before being read).
    """
    if target is None or target == "-":
        with suppress(OSError, ValueError):  # no standard output, or not a file
            out = os.fstat(sys.stdout.fileno())
            if stat.S_ISREG(out.st_mode):
                _refuse_inputs("standard output", out, inputs)
        yield None
        return
    found = _stat(target)  # following links: /dev/stdout is the pipe or file it names
    if found is not None:
        if stat.S_ISDIR(found.st_mode):
            raise OutputError(f"cannot write {target}: is a directory")
        _refuse_inputs(target, found, inputs)
    special = found is not None and not stat.S_ISREG(found.st_mode)
    if special or os.path.abspath(target).startswith(_OPEN_FILES):
        yield target
        return
    real = os.path.realpath(target)  # a symbolic link: replace the file it names
    if found is not None:
        mode = stat.S_IMODE(found.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    folder, base = os.path.split(real)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=folder)
    except OSError as err:
        raise OutputError(f"cannot write {target}: {reason(err)}") from None
    _UNFINISHED.add(temp)
    try:
        try:
            os.fchmod(fd, mode)  # as a new file gets it, not mkstemp's 0600
        finally:
            os.close(fd)
        yield temp
        with writing(target):
            os.replace(temp, real)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    finally:
        _UNFINISHED.discard(temp)


@contextmanager
def directory(target: str) -> Iterator[str]:
    """The directory to write for ``-o DIR`` (a parquet dataset): a temporary directory
    beside it, renamed to ``DIR`` when the block ends without an error and removed
    otherwise. ``DIR`` may exist only as an empty directory (it is replaced): a dataset is
    never written over or among other files, inputs included."""
    found = _stat(target)
    if found is not None:
        if not stat.S_ISDIR(found.st_mode):
            raise OutputError(f"cannot write {target}: not a directory")
        try:
            if os.listdir(target):
                raise OutputError(f"cannot write {target}: directory not empty")
        except OSError as err:
            raise OutputError(f"cannot write {target}: {reason(err)}") from None
    real = os.path.realpath(target)
    folder, base = os.path.split(real)
    umask = os.umask(0)
    os.umask(umask)
    try:
        temp = tempfile.mkdtemp(prefix=f".{base}.", suffix=".part", dir=folder)
        os.chmod(temp, 0o777 & ~umask)  # as a new directory gets it, not mkdtemp's 0700
    except OSError as err:
        raise OutputError(f"cannot write {target}: {reason(err)}") from None
    _UNFINISHED.add(temp)
    try:
        yield temp
        with writing(target):
            os.replace(temp, real)  # a new name, or over the empty directory
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    finally:
        _UNFINISHED.discard(temp)
