"""Of the checksums tshark verifies, vxsum verifies at least 99% and never says otherwise
(issue 17), on ``../shared/corpus`` and the captures in ``tests/captures`` (SOURCES.md).

tshark is the oracle here, run on each file (`tests/tshark_checks.py`); the fields it
verifies and vxsum does not are listed by protocol in docs/corpus.md.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from corpus import shared_dir
from tshark_checks import Coverage, measure, tshark_verdicts, vxsum_verdicts

HERE = Path(__file__).resolve().parent / "captures"
ADDED = sorted(p for p in HERE.rglob("*") if p.suffix in (".pcap", ".pcapng"))

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the oracle")


@pytest.mark.parametrize("path", ADDED, ids=[p.name for p in ADDED])
def test_each_added_capture_is_covered_whole(path: Path) -> None:
    """Every capture added for a layer: each field tshark verifies, vxsum verifies alike."""
    found = Coverage()
    found.add(path.name, tshark_verdicts(path), vxsum_verdicts(path))
    assert sum(found.verified.values()) > 0 and found.disagreements == []
    assert found.covered == found.verified


def test_coverage_of_the_shared_corpus_and_the_added_captures() -> None:
    corpus = shared_dir() / "corpus" / "pcaps"
    if not corpus.is_dir():
        pytest.skip(f"the shared corpus is not at {corpus} (set VXSUM_SHARED)")
    paths = sorted(p for p in corpus.rglob("*") if p.is_file()) + ADDED
    found = measure(paths, [str(p) for p in paths])
    assert len(paths) >= 150 and sum(found.verified.values()) > 4000
    assert found.disagreements == []
    gap = found.verified - found.covered
    assert found.ratio >= 0.99, (found.ratio, dict(gap))
