"""``vxsum explain``: one frame, a line per header and a verdict per checksum field.

For a frame of a capture file the verdicts are those ``vxsum analyze`` gives it: with what
the other packets of its flow and of the capture say, and with ``--conntrack`` or
``--before-nat`` when given. A frame given as hex bytes is judged on its own.
"""

from __future__ import annotations

import argparse

import numpy as np
import numpy.typing as npt

from ..errors import VxsumError
from .common import UsageError, add_port_arguments, positive
from .output import reason, writing

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``vxsum explain``."""
    p.add_argument("source", help="hex bytes of a frame, or a capture file with --frame")
    p.add_argument("--frame", type=positive, help="1-based frame number in the capture file")
    p.add_argument("--linktype", type=int, default=1, help="link type of hex input")
    p.add_argument(
        "--conntrack", metavar="FILE", help="text of `conntrack -L` from the sending node"
    )
    p.add_argument(
        "--before-nat", metavar="FILE", help="a capture of the same traffic taken before NAT"
    )
    add_port_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Run ``vxsum explain`` with parsed arguments."""
    # The parser, the model and the classifier: only for this command.
    from ..capture.reader import CaptureReader
    from ..frames.display import describe
    from ..frames.frame import parse
    from ..report.analysis import Options, analyze
    from ..verdicts.labels import ROW
    from ..verdicts.verdict import Verdict, classify_stream
    from .analyze import context

    config, conntrack, before = context(args)
    if args.frame is not None:
        try:
            with CaptureReader(args.source) as reader:
                record = next((r for r in reader if r.number == args.frame), None)
        except OSError as err:
            raise UsageError(f"cannot read {args.source}: {reason(err)}") from err
        except VxsumError as err:
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
        frame = parse(data, linktype, config=config)
    except VxsumError as err:
        raise UsageError(str(err)) from err
    if args.frame is not None:  # as analyze judges it, in its capture
        mine: list[npt.NDArray[np.void]] = []

        def keep(_: str, rows: npt.NDArray[np.void]) -> None:
            mine.append(rows[rows["frame"] == args.frame])

        options = Options(config, conntrack, before, all_fields=True)
        try:  # the whole capture, this time: a later record can be corrupt
            analyze(args.source, options, sink=keep)
        except OSError as err:
            raise UsageError(f"cannot read {args.source}: {reason(err)}") from err
        except VxsumError as err:
            raise UsageError(str(err)) from err
        rows = np.concatenate(mine, dtype=ROW) if mine else np.zeros(0, dtype=ROW)
        verdicts = [Verdict.of(row) for row in rows]
    else:
        (verdicts,), _ = classify_stream([frame], conntrack=conntrack, before=before)
    with writing("standard output"):
        for layer in frame.layers:
            print("  " * layer.depth + describe(layer))
        for v in verdicts:
            due = "-" if v.expected is None else f"0x{v.expected:04x}"
            detail = v.detail
            print(
                f"{v.layer} depth {v.depth}: 0x{v.value:04x} (expected {due}) {v.verdict}"
                f"{'' if v.harmless else ' [harmful]'}{': ' + detail if detail else ''}"
            )
    return 0
