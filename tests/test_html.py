"""The HTML report: one self-contained page whose numbers are the table API's.

The page is parsed with the standard library's html.parser; its tables are checked
against the Summary, the scan table (pyarrow) and per-second counts computed here from
the capture's own timestamps.
"""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import sys
from collections import Counter
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from vxsum.capture import NO_TIMESTAMP, iter_records
from vxsum.report import Summary, Timeline, html_report, write_html_report
from vxsum.report.analysis import FileReport, Options, analyze
from vxsum.report.html import WIDTHS
from vxsum.report.writers import JsonlWriter
from vxsum.testing.captures import damage_capture, stale_capture
from vxsum.verdicts.labels import HARMLESS, LABELS

needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="the HTML report draws with matplotlib: pip install 'vxsum[report]'",
)

DATA = files("vxsum") / "data"
SHIPPED = sorted(str(p) for p in DATA.iterdir() if p.name.endswith(".pcap"))  # type: ignore[attr-defined]


class Page(HTMLParser):
    """What a test needs of a page: its tables by id (header and cell texts), every
    element with its attributes, and the text of each heading and paragraph."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._open: list[str] = []
        self._text: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.elements.append((tag, named))
        if tag == "table":
            self._table = named["id"]
            assert self._table is not None
            self.tables[self._table] = ([], [])
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in ("h1", "h2", "h3", "p", "li", "figcaption", "title"):
            self._text, self._open = [], [*self._open, tag]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            head, rows = self.tables[self._table]
            if not head:
                head.extend(self._row)
            else:
                rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif self._open and tag == self._open[-1] and self._text is not None:
            self.texts.setdefault(tag, []).append("".join(self._text).strip())
            self._open.pop()
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._text is not None:
            self._text.append(data)

    def table(self, ident: str) -> list[dict[str, str]]:
        head, rows = self.tables[ident]
        return [dict(zip(head, row, strict=True)) for row in rows]


def _n(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tmp = tmp_path_factory.mktemp("html")
    stale_capture(tmp / "stale.pcap", stale_flows=12, packets=1500)
    damage_capture(tmp / "damage.pcap", packets=2000, rate=0.04, seed=3)
    return [str(tmp / "stale.pcap"), str(tmp / "damage.pcap"), *SHIPPED]


@pytest.fixture(scope="module")
def run(captures: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Summary, str]:
    pytest.importorskip("matplotlib", reason="pip install 'vxsum[report]'")
    out = tmp_path_factory.mktemp("page") / "report.html"
    summary = html_report(captures, out)
    return summary, out.read_text(encoding="utf-8")


@needs_matplotlib
def test_the_page_has_every_section(run: tuple[Summary, str], captures: list[str]) -> None:
    summary, text = run
    page = Page(text)
    assert text.startswith("<!DOCTYPE html>")
    assert set(page.tables) >= {"files", "tests", "timeline", "flows", "sources", "fields"}
    assert any(tag == "svg" for tag, _ in page.elements)  # the chart, inline
    assert [r["file"] for r in page.table("files")] == captures
    assert sum(_n(r["packets"]) for r in page.table("files")) == summary.packets
    assert [_n(r["tunnel packets"]) for r in page.table("tests")] == [
        t.packets for t in summary.tests
    ]
    heads = page.texts["h3"]
    for f in summary.diagnosis.findings:
        assert f.explanation in page.texts["p"]
        assert any(h.startswith(str(f.label)) for h in heads)
        for fix in f.fixes:
            assert f"fix: {fix}" in page.texts["li"]


@needs_matplotlib
def test_the_page_refers_to_nothing_outside_it(run: tuple[Summary, str]) -> None:
    _, text = run
    page = Page(text)
    assert "://" not in text
    for tag, attrs in page.elements:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
        for name, value in attrs.items():
            if name in ("href", "src", "xlink:href", "srcset", "action"):
                assert value is not None and value.startswith("#"), (tag, name, value)
    for at in range(len(text)):
        at = text.find("url(", at)
        if at < 0:
            break
        assert text.startswith("url(#", at), text[at : at + 40]


@needs_matplotlib
def test_the_field_table_is_the_summarys_and_the_scans(
    run: tuple[Summary, str], captures: list[str]
) -> None:
    summary, text = run
    shown = Counter(
        {
            (r["layer"], _n(r["depth"]), r["verdict"]): _n(r["count"])
            for r in Page(text).table("fields")
        }
    )
    assert shown == summary.fields
    pa = pytest.importorskip("pyarrow")
    from vxsum.report import scan

    table = pa.Table.from_batches(scan(captures, all_fields=True))
    scanned = Counter(
        zip(
            table.column("layer").to_pylist(),
            table.column("depth").to_pylist(),
            table.column("verdict").to_pylist(),
            strict=True,
        )
    )
    assert shown == scanned


@needs_matplotlib
def test_the_flow_and_source_tables_are_the_top_groups(run: tuple[Summary, str]) -> None:
    summary, text = run
    page = Page(text)
    flows = [((r["verdict"], r["flow"]), _n(r["count"])) for r in page.table("flows")]
    assert flows == summary.harmful.most_common(20)
    assert len(flows) == 20 < len(summary.harmful)  # the captures have more than 20
    sources = [((r["verdict"], r["source"]), _n(r["count"])) for r in page.table("sources")]
    assert sources == summary.harmful.top(20, by="source")


def _seconds(captures: list[str]) -> Counter[tuple[int, str]]:
    """Harmful fields by (second, verdict), from the scan's rows and the records' times."""
    pa = pytest.importorskip("pyarrow")
    from vxsum.report import scan

    out: Counter[tuple[int, str]] = Counter()
    for path in captures:
        times = {r.number: r.timestamp for r in iter_records(path)}
        table = pa.Table.from_batches(scan(path))
        for frame, verdict, harmless in zip(
            table.column("frame").to_pylist(),
            table.column("verdict").to_pylist(),
            table.column("harmless").to_pylist(),
            strict=True,
        ):
            if not harmless:
                assert times[frame] != NO_TIMESTAMP
                out[(times[frame] // 10**9, verdict)] += 1
    return out


@needs_matplotlib
def test_the_timeline_counts_each_second_from_the_capture(
    run: tuple[Summary, str], captures: list[str]
) -> None:
    summary, text = run
    page = Page(text)
    rows = page.table("timeline")
    verdicts = list(page.tables["timeline"][0][2:-1])
    shown: Counter[tuple[int, str]] = Counter()
    for r in rows:
        for v in verdicts:
            if _n(r[v]):
                shown[(_n(r["epoch second"]), v)] += _n(r[v])
        assert _n(r["total"]) == sum(_n(r[v]) for v in verdicts)
        assert r["time (UTC)"] == str(np.datetime64(_n(r["epoch second"]), "s")).replace("T", " ")
    expected = _seconds(captures)
    assert shown == expected
    assert sum(shown.values()) == sum(n for _, n in summary.harmful.most_common())
    chart = next(a for tag, a in page.elements if tag == "figure")
    assert chart["data-width"] == "1"  # minutes of traffic: one bin a second
    assert "untimed" not in text


def test_the_timeline_widens_its_bins_and_keeps_every_count(captures: list[str]) -> None:
    narrow, wide = Timeline(), Timeline(max_bins=8)
    for path in captures[:2]:
        analyze(path, Options(), sink=lambda p, rows: (narrow(p, rows), wide(p, rows)))
    assert narrow.width == 1 and wide.width > 1 and len(wide.counts()) <= 8
    assert sum(wide.counts().values()) == sum(narrow.counts().values()) == narrow.placed
    regrouped: Counter[tuple[int, str]] = Counter()
    for (second, verdict), n in narrow.counts().items():
        regrouped[(second // wide.width * wide.width, verdict)] += n
    assert regrouped == wide.counts()
    width, starts, verdicts, grid = narrow.series(points=5)
    assert width in WIDTHS and len(starts) <= 5 and grid.sum() == narrow.placed
    assert (np.diff(starts) == width).all() and grid.shape == (len(verdicts), len(starts))


def test_a_stream_read_once_has_the_times_of_its_rows(captures: list[str]) -> None:
    """The rows carry their times: a stream (standard input) gets the file's timeline."""
    streamed, named = Timeline(), Timeline()
    with open(captures[1], "rb") as stream:
        report = analyze(stream, Options(), sink=streamed)
        analyze(captures[1], Options(), sink=named)
    harmful = sum(n for _, n in report.harmful.most_common())
    assert harmful > 0 and streamed.placed == harmful and not streamed.untimed
    assert streamed.counts() == named.counts()
    times = {r.number: r.timestamp for r in iter_records(captures[1])}
    seconds = Counter(times[n] // 10**9 for n in _harmful_frames(captures[1]))
    assert Counter({s: n for (s, _), n in streamed.counts().items()}) == seconds


def _harmful_frames(path: str) -> list[int]:
    """The frame of each harmful row of ``path``, one per row (from the jsonl output)."""
    buf = io.BytesIO()
    writer = JsonlWriter(buf)
    analyze(path, Options(), sink=writer)
    writer.close()
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    return [int(r["frame"]) for r in rows if not r["harmless"]]


def _pcapng(records: list[tuple[int | None, bytes]]) -> bytes:
    """A little-endian pcapng file of Ethernet frames: (microseconds, frame) as Enhanced
    Packet Blocks, (None, frame) as Simple Packet Blocks (which have no timestamp)."""

    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    out.append(block(1, struct.pack("<HHI", 1, 0, 0)))
    for micros, frame in records:
        if micros is None:
            out.append(block(3, struct.pack("<I", len(frame)) + frame))
        else:
            head = struct.pack("<5I", 0, micros >> 32, micros & 0xFFFFFFFF, len(frame), len(frame))
            out.append(block(6, head + frame))
    return b"".join(out)


def test_records_without_a_timestamp_are_counted_untimed(tmp_path: Path) -> None:
    damage_capture(tmp_path / "bad.pcap", packets=40, rate=1.0)
    frames = [bytes(r.data) for r in iter_records(tmp_path / "bad.pcap")]
    timed = [
        (None if k % 3 == 0 else 1_700_000_000_000_000 + k * 400_000, f)
        for k, f in enumerate(frames)
    ]
    (tmp_path / "mixed.pcapng").write_bytes(_pcapng(timed))
    timeline = Timeline()
    report = analyze(str(tmp_path / "mixed.pcapng"), Options(), sink=timeline)
    harmful = sum(n for _, n in report.harmful.most_common())
    untimed = sum(1 for micros, _ in timed if micros is None)
    assert harmful == len(frames) and sum(timeline.untimed.values()) == untimed
    assert timeline.placed == harmful - untimed
    expected = Counter(1_700_000_000 + k * 400_000 // 10**6 for k in range(len(frames)) if k % 3)
    assert {s: n for (s, _), n in timeline.counts().items()} == expected


def test_a_file_given_twice_counts_twice(captures: list[str]) -> None:
    once, twice = Timeline(), Timeline()
    analyze(captures[0], Options(), sink=once)
    for _ in range(2):
        analyze(captures[0], Options(), sink=twice)
    assert twice.counts() == once.counts() + once.counts()


@needs_matplotlib
def test_words_are_escaped(tmp_path: Path) -> None:
    odd = tmp_path / "a<b>&c.pcap"
    damage_capture(odd, packets=300, rate=0.1)
    out = io.StringIO()
    summary = html_report([odd], out, title="<script>alert(1)</script>")
    text = out.getvalue()
    page = Page(text)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert page.table("files")[0]["file"] == str(odd)
    assert page.texts["h1"] == ["<script>alert(1)</script>"]
    assert summary.harmful


@needs_matplotlib
def test_a_capture_without_harm_draws_nothing(tmp_path: Path) -> None:
    clean = tmp_path / "clean.pcap"
    damage_capture(clean, packets=200, rate=0.0)
    out = tmp_path / "clean.html"
    summary = html_report([clean], out)
    page = Page(out.read_text())
    assert not summary.harmful
    assert not any(tag == "svg" for tag, _ in page.elements)
    assert "timeline" not in page.tables and "flows" not in page.tables
    assert any("nothing to draw" in p for p in page.texts["p"])


@needs_matplotlib
def test_a_page_without_a_timeline(captures: list[str]) -> None:
    reports: list[FileReport] = [analyze(captures[1], Options())]
    out = io.StringIO()
    write_html_report(out, Summary.of(reports), None, reports=reports)
    page = Page(out.getvalue())
    assert "fields" in page.tables and "timeline" not in page.tables
    assert any("No timeline" in p for p in page.texts["p"])


def test_without_matplotlib_the_error_names_the_extra(
    captures: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(ImportError, match=r"vxsum\[report\]"):
        html_report(captures[2:3], io.StringIO())


def test_harmful_means_the_row_contracts_harmless() -> None:
    from vxsum.report.html import _HARMFUL

    assert [not h for h in _HARMFUL.tolist()] == [label in HARMLESS for label in LABELS]


# vxsum analyze --report


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_analyze_report_writes_the_page_html_report_writes(
    captures: list[str], tmp_path: Path, jobs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``vxsum analyze --report`` beside rows that a filter selects: the page is the
    library's (the timeline sees every row, not only those written), and its
    field table is the summary's."""
    pytest.importorskip("matplotlib", reason="pip install 'vxsum[report]'")
    from vxsum.cli import main

    page = tmp_path / "page.html"
    rows = tmp_path / "rows.jsonl"
    args = ["analyze", *captures, "--report", str(page), "--jobs", jobs]
    args += ["--format", "jsonl", "-o", str(rows), "--verdict", "corrupt"]
    assert main(args) == 0
    capsys.readouterr()
    expected = io.StringIO()
    html_report(captures, expected)
    assert page.read_text() == expected.getvalue()
    assert Page(page.read_text()).table("timeline")
    assert rows.read_text() and all('"corrupt"' in line for line in rows.read_text().splitlines())


def test_analyze_report_errors_come_before_the_run(
    captures: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from vxsum.cli import main

    assert main(["analyze", captures[0], "--report", "-"]) == 2
    assert capsys.readouterr().err == (
        "vxsum analyze: --report writes a page to a file: give --report FILE.html\n"
    )
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = tmp_path / "page.html"
    assert main(["analyze", captures[0], "--report", str(page)]) == 2
    assert capsys.readouterr().err == (
        "vxsum analyze: the HTML report draws with matplotlib: pip install 'vxsum[report]'\n"
    )
    assert not page.exists()
