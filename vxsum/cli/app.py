"""The ``vxsum`` command: ``analyze``, ``explain``, ``repro``, ``demo`` and ``completion``.

A thin shell over the library; each command is a module of this package with
``add_arguments`` and ``run``. Exit status: 0 on success (also when the reader of the
output went away: ``| head``), 1 with ``--fail-on-harmful`` when a harmful checksum was
found, 2 for a usage, input or output error (with a one-line reason on stderr, and a second
line of advice where there is some); 129, 130 and 143 when SIGHUP, SIGINT (Ctrl-C) or SIGTERM
ended the run, with one line too.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from types import FrameType

from . import analyze, completion, demo, explain, repro
from .common import Parser, UsageError
from .output import PipeClosed, abandon, mute_stdout, writing

__all__ = ["main"]


_SIGNALS = {
    signal.SIGHUP: (129, "hung up"),
    signal.SIGINT: (130, "interrupted"),
    signal.SIGTERM: (143, "terminated"),
}
"""What each signal ends a run with: the exit status (128 + the signal) and the word."""


@contextmanager
def _signals_end_the_run(name: str) -> Iterator[None]:
    """SIGHUP, SIGINT and SIGTERM end the run at once for the duration: unfinished output
    files removed (:func:`~vxsum.cli.output.abandon`), worker processes stopped, one line
    on stderr, exit 129, 130 or 143.

    From the handler itself rather than by an exception: an exception raised while a
    ``__del__`` runs is swallowed, and one that unwinds waits for threads that may be
    blocked reading a pipe that goes on. A signal the process was started ignoring (a
    background job's SIGINT) stays ignored; a worker forked by ``--jobs`` dies of the
    signal as it would have.
    """
    process = os.getpid()

    def stop(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != process:  # a forked worker: the default action
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        status, word = _SIGNALS[signal.Signals(signum)]
        abandon()
        if "multiprocessing" in sys.modules:  # --jobs: the workers go too
            for child in sys.modules["multiprocessing"].active_children():
                child.kill()
        with suppress(OSError):  # not print: the run may be in the middle of one
            os.write(2, f"{name}: {word}\n".encode())
        os._exit(status)

    before = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    mine = [sig for sig, h in before.items() if h not in (signal.SIG_IGN, None)]  # None: C's
    for sig in mine:
        signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig in mine:
            signal.signal(sig, before[sig])


class _Version(argparse.Action):
    """``--version``: 'vxsum 0.1.0', from the installed distribution's metadata (looked up
    only when asked: it costs a search of ``sys.path``)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("vxsum")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "(not installed: pip install .)"
        print(f"vxsum {found}")  # standard output, as argparse's own version action
        parser.exit()


def _parser() -> Parser:
    p = Parser(prog="vxsum", description="Explain bad packet checksums.")
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", required=True)
    commands = (
        ("analyze", analyze, "classify every checksum field of pcap/pcapng files"),
        ("explain", explain, "one frame: each layer and each checksum's verdict"),
        ("repro", repro, "write the packets the kernel model predicts"),
        ("demo", demo, "the seed bug, made by the model and explained"),
        ("completion", completion, "print a shell completion script (bash, zsh, tcsh)"),
    )
    for name, module, text in commands:
        command = sub.add_parser(name, help=text)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    sub.choices["completion"].set_defaults(parser=p)  # the script is written from it
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vxsum`` console script and ``python -m vxsum`` (``argv``
    None: the process's arguments; signals then end the run, see
    :func:`_signals_end_the_run`). Called with ``argv`` (tests, other programs), it leaves
    the process's signal handling alone."""
    args = _parser().parse_args(argv)
    name = f"vxsum {args.command}"
    with _signals_end_the_run(name) if argv is None else nullcontext():
        try:
            status = int(args.run(args))
            with writing("standard output"):
                sys.stdout.flush()
            return status
        except (PipeClosed, BrokenPipeError):
            mute_stdout()
            return 0
        except UsageError as err:
            mute_stdout()
            print(f"{name}: {err}", file=sys.stderr)
            if err.hint:
                print(f"{name}: {err.hint}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
