"""``vxsum explain``: one frame, a line per header and a verdict per checksum field."""

from __future__ import annotations

import argparse

from ..errors import VxsumError
from .common import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``vxsum explain``."""
    p.add_argument("source", help="hex bytes of a frame, or a capture file with --frame")
    p.add_argument("--frame", type=int, help="1-based frame number in the capture file")
    p.add_argument("--linktype", type=int, default=1, help="link type of hex input")


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum explain`` with parsed arguments."""
    # The parser, the model and the classifier: only for this command.
    from ..capture.reader import CaptureReader
    from ..frames.display import describe
    from ..frames.frame import parse
    from ..verdicts.verdict import classify_stream

    if args.frame is not None:
        try:
            with CaptureReader(args.source) as reader:
                record = next((r for r in reader if r.number == args.frame), None)
        except (OSError, VxsumError) as err:
            raise UsageError(str(err)) from err
        if record is None:
            raise UsageError(f"{args.source} has no frame {args.frame}")
        data, linktype = bytes(record.data), record.linktype
    else:
        try:
            data = bytes.fromhex("".join(args.source.split()))
        except ValueError:
            raise UsageError("give hex bytes, or a capture file with --frame N") from None
        linktype = args.linktype
    try:
        frame = parse(data, linktype)
    except VxsumError as err:
        raise UsageError(str(err)) from err
    for layer in frame.layers:
        print("  " * layer.depth + describe(layer))
    (verdicts,), _ = classify_stream([frame])
    for v in verdicts:
        due = "-" if v.expected is None else f"0x{v.expected:04x}"
        detail = v.detail
        print(
            f"{v.layer} depth {v.depth}: 0x{v.value:04x} (expected {due}) {v.verdict}"
            f"{'' if v.harmless else ' [harmful]'}{': ' + detail if detail else ''}"
        )
    return 0
