"""Longer fuzz run of the frame parser (``vxsum.parse``).

Usage (from the repository root)::

    .venv/bin/python fuzz/fuzz_parse.py                  # 200,000 examples, hypothesis
    .venv/bin/python fuzz/fuzz_parse.py --examples 2000000
    .venv/bin/python fuzz/fuzz_parse.py --atheris        # coverage-guided, if atheris is installed

Inputs: arbitrary bytes for every link type, and mutations (byte flips, cuts,
insertions) of seed frames: the scapy-built frames of ``tests/frames.py`` plus
every record of the shared corpus when ``../shared/corpus`` (or ``$VXSUM_SHARED``)
is present. The invariants are those of ``tests/test_parse_fuzz.py``: a Frame or a
``vxsum.ParseError``, offsets within the buffer, consistent verdicts. atheris is
not a project dependency; install it into the venv yourself to use ``--atheris``.
A failure prints the link type and the frame in hex for a regression test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from frames import seeds  # noqa: E402
from test_parse_fuzz import LINKTYPES, check  # noqa: E402


def corpus_seeds() -> dict[int, list[bytes]]:
    """Seeds by link type: tests/frames.py plus every corpus record (if present)."""
    by_type = {k: list(v) for k, v in seeds().items()}
    try:
        from corpus import read_records, shared_dir

        pcaps = shared_dir() / "corpus" / "pcaps"
        for path in sorted(p for p in pcaps.rglob("*") if p.is_file()):
            for rec in read_records(path):
                if rec.linktype in by_type and len(rec.data) <= 4096:
                    by_type[rec.linktype].append(rec.data)
    except OSError:
        pass
    return by_type


def run_hypothesis(examples: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pool = corpus_seeds()

    @st.composite
    def frames(draw: st.DrawFn) -> tuple[int, bytes]:
        linktype = draw(st.sampled_from(LINKTYPES))
        if draw(st.integers(0, 9)) == 0:
            return linktype, draw(st.binary(max_size=512))
        data = bytearray(draw(st.sampled_from(pool[linktype])))
        for _ in range(draw(st.integers(0, 8))):
            op = draw(st.integers(0, 2))
            i = draw(st.integers(0, len(data)))
            if op == 0 and i < len(data):
                data[i] = draw(st.integers(0, 255))
            elif op == 1:
                data[i:i] = draw(st.binary(min_size=1, max_size=8))
            else:
                del data[i:]
        return linktype, bytes(data)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(frames(), st.booleans())
    def fuzz(case: tuple[int, bytes], strict: bool) -> None:
        linktype, data = case
        try:
            check(data, linktype, strict)
        except Exception:
            print(f"linktype={linktype} strict={strict} frame={data.hex()}", file=sys.stderr)
            raise

    fuzz()


def run_atheris() -> None:
    import atheris  # type: ignore[import-not-found]

    def one(buf: bytes) -> None:
        if len(buf) < 2:
            return
        check(buf[2:], LINKTYPES[buf[0] % len(LINKTYPES)], bool(buf[1] & 1))

    atheris.Setup(sys.argv[:1], one)
    atheris.Fuzz()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--examples", type=int, default=200_000)
    ap.add_argument("--atheris", action="store_true")
    args = ap.parse_args()
    if args.atheris:
        run_atheris()
    else:
        run_hypothesis(args.examples)
        print(f"ok: {args.examples} examples")


if __name__ == "__main__":
    main()
