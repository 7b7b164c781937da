"""Per-flow state: exact whatever its size (folding never changes an answer), and small.

:class:`Multiset` and :class:`Groups` replace dicts and Counters of Python objects with
sorted numpy arrays, folded as they grow; these tests hold them to the plain Counter they
replace, with folds forced at every size, and measure what a distinct flow costs.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections import Counter
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vxsum.report import analysis
from vxsum.testing.captures import flows_capture
from vxsum.verdicts import LABELS, ROW, Label, stats
from vxsum.verdicts import flows as flows_module
from vxsum.verdicts.flows import Groups, Multiset, flow_name
from vxsum.verdicts.stats import Seen
from vxsum.verdicts.text import endpoint

HARMFUL = [LABELS.index(x) for x in (Label.CORRUPT, Label.NAT_STALE, Label.NAT_ZERO_MANGLED)]


def _rows(picks: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Verdict rows from (label index, source, destination, source port) picks."""
    rows = np.zeros(len(picks), ROW)
    for i, (label, src, dst, sport) in enumerate(picks):
        rows[i]["label"] = HARMFUL[label]
        rows[i]["src"][:2] = (0x0A00, src)
        rows[i]["dst"][:2] = (0x0A00, dst)
        rows[i]["sport"], rows[i]["dport"], rows[i]["proto"] = sport, 4789, 17
    return rows


picks = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 4), st.integers(1, 3), st.integers(1, 5)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(chunks=st.lists(picks, max_size=6), fold_at=st.sampled_from([1, 2, 7, 1 << 20]))
def test_groups_count_as_a_counter_does(
    chunks: list[list[tuple[int, int, int, int]]], fold_at: int
) -> None:
    """Flows, sources and links, top and distinct, ties in first-seen order: the same as
    Counters of the names, whenever folds happen (``fold_at``) and across an update."""
    old = flows_module._FOLD_AT
    flows_module._FOLD_AT = fold_at << 4  # Groups folds past _FOLD_AT >> 4 pending rows
    try:
        groups, later = Groups(), Groups()
        expected: dict[str, Counter[tuple[str, str]]] = {
            "flow": Counter(),
            "source": Counter(),
            "link": Counter(),
        }
        for k, chunk in enumerate(chunks):
            rows = _rows(chunk)
            (groups if k % 2 == 0 else later).add(rows, np.arange(len(rows)))
        for chunk in chunks[0::2] + chunks[1::2]:
            for row in _rows(chunk):
                label = str(LABELS[int(row["label"])])
                src = endpoint(row["src"], 0, False).rsplit(":", 1)[0]
                dst = endpoint(row["dst"], 0, False).rsplit(":", 1)[0]
                expected["flow"][(label, flow_name(row))] += 1
                expected["source"][(label, src)] += 1
                expected["link"][(label, f"{src} > {dst}")] += 1
        groups.update(later)
    finally:
        flows_module._FOLD_AT = old
    for by, counter in expected.items():
        assert groups.top(by=by) == counter.most_common()
        assert groups.distinct(by=by) == len(counter)
        for label in (Label.CORRUPT, Label.NAT_STALE):
            mine = Counter({k: n for k, n in counter.items() if k[0] == str(label)})
            assert groups.top(3, label=label, by=by) == mine.most_common(3)
            assert groups.distinct(label=label, by=by) == len(mine)
    assert len(groups) == len(expected["flow"]) and bool(groups) == bool(expected["flow"])


@settings(max_examples=100, deadline=None)
@given(
    chunks=st.lists(st.lists(st.integers(0, 20), max_size=30), max_size=6),
    fold_at=st.sampled_from([1, 3, 1 << 20]),
)
def test_multiset_counts_as_a_counter_does(chunks: list[list[int]], fold_at: int) -> None:
    old = flows_module._FOLD_AT
    flows_module._FOLD_AT = fold_at
    try:
        multiset, counter = Multiset(), Counter[int]()
        for chunk in chunks:
            multiset.add(np.array(chunk, np.uint64))
            counter.update(chunk)
            queries = np.arange(22, dtype=np.uint64)
            assert multiset.get(queries).tolist() == [counter[q] for q in range(22)]
    finally:
        flows_module._FOLD_AT = old
    assert len(multiset) == len(counter)


@settings(max_examples=150, deadline=None)
@given(
    chunks=st.lists(st.lists(st.integers(0, 40), max_size=25), max_size=12),
    small=st.sampled_from([1, 4, 1 << 16]),
)
def test_seen_is_a_set(chunks: list[list[int]], small: int) -> None:
    """:class:`Seen` answers "first time?" as a Python set does, for each hash in order,
    while its sorted levels are merged (they stay sorted, disjoint and few; levels below
    ``small`` hashes are merged into one: 1 << 16 in use, smaller here so that tests
    reach several levels)."""
    seen, plain = Seen(), set[int]()
    with patch.object(stats, "_SMALL_LEVEL", small):
        for chunk in chunks:
            got = seen.first(np.array(chunk, np.uint64)).tolist()
            want = []
            for h in chunk:
                want.append(h not in plain)
                plain.add(h)
            assert got == want
            assert len(seen) == len(plain)
            merged = np.concatenate([np.zeros(0, np.uint64), *seen.levels])
            assert sorted(merged.tolist()) == sorted(plain)  # disjoint: no hash twice
            assert all((np.diff(level.astype(np.int64)) > 0).all() for level in seen.levels)
            assert len(seen.levels) <= max(len(plain), 1).bit_length()  # few
            assert all(len(level) >= small for level in seen.levels[:-1])  # one small one


def _peak_rss(path: Path) -> int:
    """Peak resident bytes of ``vxsum analyze path``, in a process of its own: its
    ``VmHWM``, which starts afresh at exec (``ru_maxrss`` would carry this process's peak
    over into the child)."""
    code = (
        "import sys; from vxsum.cli import main; main(['analyze', sys.argv[1]]); "
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[-1]) * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_a_distinct_harmful_flow_costs_a_few_hundred_bytes(tmp_path: Path) -> None:
    """Every packet its own outer flow, every outer checksum wrong: the memory that
    300,000 flows take beyond 30,000. Before the flow state was kept in sorted arrays a
    flow cost about 1,300 bytes (dicts, Counters and flow names for every harmful
    field); now about 270, most of it the named groups of the flow table."""
    small, large = tmp_path / "small.pcap", tmp_path / "large.pcap"
    flows_capture(small, 30_000)
    flows_capture(large, 300_000)
    per_flow = (_peak_rss(large) - _peak_rss(small)) / 270_000
    assert per_flow <= 400, f"{per_flow:.0f} bytes a flow"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_a_million_distinct_flows_stay_under_250_mb(tmp_path: Path) -> None:
    """The issue's bound: 10^6 distinct harmful flows (a 138 MB capture, every packet its
    own outer flow) in at most 250 MB peak RSS. 300 to 335 MB before the flow table was
    merged in place of re-sorted, the blocks halved and freed heap pages handed back
    after reading; about 230 to 245 MB since (docs/reliability.md)."""
    path = tmp_path / "flows.pcap"
    flows_capture(path, 1_000_000)
    peak = _peak_rss(path) / 1e6
    assert peak <= 250, f"{peak:.0f} MB"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_memory_goes_back_to_the_system_on_glibc() -> None:
    """The peak bounds above count on ``malloc_trim``, found among the symbols the process
    has loaded (no ``ldconfig`` run): it answers 1 (memory released) or 0."""
    trim = analysis._malloc_trim()
    assert trim is not None and trim(0) in (0, 1)
