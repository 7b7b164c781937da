"""The ``vxsum`` command: ``analyze``, ``explain``, ``repro`` and ``demo``.

A thin shell over the library; each command is a module of this package with
``add_arguments`` and ``run``. Exit status: 0 on success, 1 with ``--fail-on-harmful``
when a harmful checksum was found, 2 for a usage or input error (with a one-line reason
on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import analyze, demo, explain, repro
from .common import UsageError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vxsum", description="Explain bad packet checksums.")
    sub = p.add_subparsers(dest="command", required=True)
    commands = (
        ("analyze", analyze, "classify every checksum field of pcap/pcapng files"),
        ("explain", explain, "one frame: each layer and each checksum's verdict"),
        ("repro", repro, "write the packets the kernel model predicts"),
        ("demo", demo, "the seed bug, made by the model and explained"),
    )
    for name, module, text in commands:
        command = sub.add_parser(name, help=text)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vxsum`` console script and ``python -m vxsum``."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as err:
        print(f"vxsum {args.command}: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
