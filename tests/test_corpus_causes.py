"""Every corpus field gets a cause; the distribution is the one docs/classifier.md shows."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from corpus import shared_dir

import vxsum
from vxsum.verdicts.verdict import Label, classify

# Pinned so that docs/classifier.md stays true: change both together.
EXPECTED = {
    "dpkt": {"good": 169, "no-checksum": 18, "corrupt": 3, "unverifiable": 1},
    "scapy": {"good": 522, "corrupt": 4, "offload-seed": 2},
    "tcpdump": {
        "good": 1658,  # 4 of them PIM checksums, checked since issue 17
        "unverifiable": 187,  # 1 an ICMP extension structure cut short (issue 17)
        "offload-seed": 138,
        "corrupt": 138,
        "no-checksum": 77,
    },
    "zeek": {
        "good": 1053,
        "offload-seed": 386,
        "corrupt": 79,
        "unverifiable": 39,
        "no-checksum": 20,
        "illegal-zero": 1,
    },
}
WRONG = {
    Label.OFFLOAD_SEED,
    Label.LCO_PENDING,
    Label.NAT_ZERO_MANGLED,
    Label.NAT_STALE,
    Label.NEGATIVE_ZERO,
    Label.CORRUPT,
}


def test_causes_per_source() -> None:
    pcaps = shared_dir() / "corpus" / "pcaps"
    if not pcaps.is_dir():
        pytest.skip(f"the shared corpus is not at {pcaps} (set VXSUM_SHARED)")
    dist: dict[str, Counter[str]] = defaultdict(Counter)
    for path in sorted(p for p in pcaps.rglob("*") if p.is_file()):
        source = path.relative_to(pcaps).parts[0]
        for rec in vxsum.iter_records(path):
            frame = vxsum.parse(rec.data, rec.linktype, wire_length=rec.wirelen)
            for field, verdict in zip(frame.checksums, classify(frame), strict=True):
                dist[source][str(verdict.verdict)] += 1
                if field.status == vxsum.Status.BAD:
                    assert verdict.verdict in WRONG, (path, rec.number, verdict)
                    assert verdict.detail  # every bad field says why
                else:
                    assert verdict.verdict not in WRONG - {Label.NEGATIVE_ZERO}
    assert {s: dict(c) for s, c in dist.items()} == EXPECTED
