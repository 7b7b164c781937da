"""``python -m vxsum.lab``: run the lab matrix and print how each cell agrees with the model."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from . import run as lab_run
from .check import MATRIX_SNAT, MATRIX_V4, MATRIX_V6, check_run, markdown_table
from .run import lab_unavailable, run_lab

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m vxsum.lab [--ipv6|--all] [-o FILE]``: run the matrix, print the table."""
    parser = argparse.ArgumentParser(prog="python -m vxsum.lab", description=lab_run.__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ipv6", action="store_true", help="the IPv6-underlay matrix only")
    group.add_argument("--all", action="store_true", help="IPv4 and IPv6 underlays")
    parser.add_argument("-o", "--output", type=Path, help="also write the table to this file")
    parser.add_argument("--keep", type=Path, help="keep the captures in this folder")
    args = parser.parse_args(argv)
    reason = lab_unavailable()
    if reason:
        print(f"vxsum lab: cannot run here: {reason}", file=sys.stderr)
        return 2
    matrix = (
        MATRIX_V6 if args.ipv6 else MATRIX_V4 + MATRIX_V6 + MATRIX_SNAT if args.all else MATRIX_V4
    )
    root = args.keep or Path(tempfile.mkdtemp(prefix="vxsum-lab-"))
    checks = []
    for k, cfg in enumerate(matrix):
        run = run_lab(cfg, root / f"run-{k:02d}")
        check = check_run(run)
        checks.append(check)
        print(
            f"[{k + 1}/{len(matrix)}] {cfg.label}: {'agrees' if check.agrees else 'DIFFERS'}",
            file=sys.stderr,
        )
    table = markdown_table(checks)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all(c.agrees for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
