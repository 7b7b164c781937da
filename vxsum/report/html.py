"""One self-contained HTML page of a run (``vxsum analyze --report FILE.html``).

The page holds the diagnosis, a timeline of harmful checksum fields by cause (an outage
shows as a step: a node rebooted, kube-proxy upgraded), the top flows and sources, and
the fields by layer, depth and verdict. It is viewable offline: the chart is an inline
SVG drawn by matplotlib (the ``report`` extra: ``pip install 'vxsum[report]'``), the
style is inline, and nothing refers to anything outside the page. Every number the chart
shows is in a table beside it too.

:class:`Timeline` is a row sink (:data:`~vxsum.report.analysis.RowSink`) that counts the
harmful rows per second and verdict, by their ``time`` column: a capture is read once,
so standard input and other streams have a timeline too. Memory is bounded by
:attr:`Timeline.max_bins` counts; past that the bins widen. Fields of records without a
timestamp are counted as untimed, and the page says so.
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import numpy.typing as npt

from ..capture.walking import NO_TIMESTAMP
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..kernel.conntrack import Conntrack
from ..verdicts.labels import HARMLESS, LABELS, Label
from ..verdicts.prenat import PreNatCapture
from .analysis import FileReport, Options, Summary, analyze

if TYPE_CHECKING:
    from ..verdicts.stats import Outcome

__all__ = [
    "WIDTHS",
    "Timeline",
    "html_report",
    "render",
    "require_matplotlib",
    "write_html_report",
]

Rows = npt.NDArray[np.void]
I64 = npt.NDArray[np.int64]

WIDTHS = (1, 2, 10, 60, 300, 600, 3600, 21600, 86400, 604800, 2419200, 31449600)
"""The widths of a timeline's bins, in seconds; each divides the next, so that counts
in one width add up exactly into any wider one."""
_WIDTH_NAMES = dict(
    zip(
        WIDTHS,
        (
            "second",
            "2 seconds",
            "10 seconds",
            "minute",
            "5 minutes",
            "10 minutes",
            "hour",
            "6 hours",
            "day",
            "week",
            "4 weeks",
            "52 weeks",
        ),
        strict=True,
    )
)
_HARMFUL = np.array([label not in HARMLESS for label in LABELS])
_LABEL_BITS = 4  # a bin's key: its start in seconds, shifted, plus the label's code
assert len(LABELS) <= 1 << _LABEL_BITS
_NS = 1_000_000_000
_TOP = 20
_POINTS = 1500  # bins the chart shows at most
_COLOURS = {
    Label.NAT_STALE: "#d62728",
    Label.NAT_ZERO_MANGLED: "#ff7f0e",
    Label.CORRUPT: "#7f7f7f",
    Label.ILLEGAL_ZERO: "#9467bd",
    Label.NEGATIVE_ZERO: "#8c564b",
}


def require_matplotlib() -> Any:
    """matplotlib, or an ImportError that names the extra: call it before a long run
    whose page would need it (it is imported only for a page)."""
    try:
        import importlib

        return importlib.import_module("matplotlib")
    except ImportError as err:
        raise ImportError(
            "the HTML report draws with matplotlib: pip install 'vxsum[report]'"
        ) from err


class Timeline:
    """A row sink that counts harmful fields per time bin and verdict (see the module
    docstring); the rows carry their times, so nothing needs closing.

    ``max_bins`` bounds the (bin, verdict) counts kept: when there would be more, the
    bins widen to the next of :data:`WIDTHS`.
    """

    def __init__(self, *, max_bins: int = 1 << 16) -> None:
        if max_bins < 1:
            raise ValueError("max_bins must be positive")
        self.max_bins = max_bins
        self.width = WIDTHS[0]
        """The bins' width in seconds (grows as needed, one of :data:`WIDTHS`)."""
        self.placed = 0
        """Harmful fields counted in a bin."""
        self.untimed: Counter[str] = Counter()
        """Harmful fields without a time, by verdict (a record without a timestamp)."""
        self._counts: dict[int, int] = {}

    def __call__(self, path: str, rows: Rows) -> None:
        harmful = _HARMFUL[rows["label"]]
        if not harmful.any():
            return
        labels = rows["label"][harmful].astype(np.int64)
        stamps = rows["time"][harmful].astype(np.int64)
        known = stamps != NO_TIMESTAMP
        for code, n in Counter(labels[~known].tolist()).items():
            self.untimed[str(LABELS[code])] += n
        starts = stamps[known] // _NS // self.width * self.width
        keys, counts = np.unique((starts << _LABEL_BITS) + labels[known], return_counts=True)
        for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
            self._counts[key] = self._counts.get(key, 0) + n
        self.placed += int(known.sum())
        while len(self._counts) > self.max_bins and self.width < WIDTHS[-1]:
            self._widen()

    def counts(self) -> Counter[tuple[int, str]]:
        """Harmful fields by (bin start in seconds since the epoch, verdict)."""
        out: Counter[tuple[int, str]] = Counter()
        for key, n in self._counts.items():
            out[(key >> _LABEL_BITS, str(LABELS[key & ((1 << _LABEL_BITS) - 1)]))] += n
        return out

    def series(self, points: int = _POINTS) -> tuple[int, I64, list[str], I64]:
        """The counts for a chart of at most ``points`` bins: (width in seconds, every
        bin's start from the first to the last, the verdicts, counts of shape (verdicts,
        bins)). The width is the narrowest of :data:`WIDTHS` that fits."""
        counts = self.counts()
        if not counts:
            return self.width, np.zeros(0, np.int64), [], np.zeros((0, 0), np.int64)
        low, high = min(s for s, _ in counts), max(s for s, _ in counts)
        fit = [w for w in WIDTHS if w >= self.width and high // w - low // w < points]
        width = fit[0] if fit else WIDTHS[-1]
        first, n = low // width * width, high // width - low // width + 1
        verdicts = sorted({v for _, v in counts}, key=lambda v: LABELS.index(Label(v)))
        grid = np.zeros((len(verdicts), n), np.int64)
        for (second, verdict), c in counts.items():
            grid[verdicts.index(verdict), (second // width * width - first) // width] += c
        return width, first + width * np.arange(n, dtype=np.int64), verdicts, grid

    def _widen(self) -> None:
        self.width = WIDTHS[WIDTHS.index(self.width) + 1]
        wider: dict[int, int] = {}
        mask = (1 << _LABEL_BITS) - 1
        for key, n in self._counts.items():
            start = (key >> _LABEL_BITS) // self.width * self.width
            new = (start << _LABEL_BITS) + (key & mask)
            wider[new] = wider.get(new, 0) + n
        self._counts = wider


def html_report(
    captures: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str] | TextIO,
    *,
    config: ParseConfig = DEFAULT_CONFIG,
    conntrack: Conntrack | None = None,
    before_nat: PreNatCapture | None = None,
    keep_going: bool = False,
    all_fields: bool = False,
    title: str | None = None,
) -> Summary:
    """Analyse ``captures`` (the options of :func:`~vxsum.report.analysis.analyze_file`)
    and write their page to ``out`` (a path or a text stream); returns the summary."""
    require_matplotlib()  # before the analysis, not after it
    options = Options(config, conntrack, before_nat, keep_going, all_fields)
    timeline = Timeline()
    reports = [analyze(os.fspath(p), options, sink=timeline) for p in captures]
    summary = Summary.of(reports)
    write_html_report(out, summary, timeline, reports=reports, title=title)
    return summary


def write_html_report(
    out: str | os.PathLike[str] | TextIO,
    summary: Summary,
    timeline: Timeline | None = None,
    *,
    reports: Sequence[FileReport] = (),
    title: str | None = None,
    top: int = _TOP,
) -> None:
    """Write the page of a run: its ``summary``, the ``timeline`` that was its row sink
    (None: no timeline), and the ``reports`` of its files (for the list of files)."""
    page = render(summary, timeline, reports=reports, title=title, top=top)
    if isinstance(out, str | os.PathLike):
        with open(out, "w", encoding="utf-8") as f:
            f.write(page)
    else:
        out.write(page)


def render(
    summary: Summary,
    timeline: Timeline | None = None,
    *,
    reports: Sequence[FileReport] = (),
    title: str | None = None,
    top: int = _TOP,
) -> str:
    """The page as text (see :func:`write_html_report`)."""
    if title is None:
        names = [r.path for r in reports]
        title = "vxsum: " + (", ".join(names) if 0 < len(names) <= 3 else _files(summary.files))
    harmful = sum(n for (_, _, v), n in summary.fields.items() if Label(v) not in HARMLESS)
    parts = [
        _HEAD.format(title=escape(title)),
        f"<h1>{escape(title)}</h1>",
        _overview(summary, reports, harmful),
        _diagnosis(summary, reports),
        _timeline(timeline, harmful),
        _groups(summary, top),
        _fields_table(summary),
        _problems(summary),
        "</main>\n</body>\n</html>\n",
    ]
    return "\n".join(p for p in parts if p)


_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="vxsum">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fff; }}
main {{ max-width: 72rem; margin: 0 auto; padding: 1rem 2rem 3rem; }}
h1 {{ font-size: 1.5rem; word-break: break-all; }}
h2 {{ font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }}
th, td {{ border: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: left; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.harmful td {{ background: #fdecea; }}
.finding {{ border-left: 4px solid #888; padding: 0.1rem 1rem; margin: 0.8rem 0; }}
.finding.harmful {{ border-color: #d62728; }}
.finding.unconfirmed {{ border-color: #e6a700; }}
.finding.harmless {{ border-color: #2ca02c; }}
.finding h3 {{ font-size: 1rem; margin: 0.4rem 0; }}
.note {{ color: #555; }}
svg {{ max-width: 100%; height: auto; }}
code {{ font-size: 0.9em; }}
</style>
</head>
<body>
<main>"""


def _files(n: int) -> str:
    return "1 capture" if n == 1 else f"{n:,} captures"


def _table(
    ident: str,
    head: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    harmful: Sequence[bool] = (),
) -> str:
    """A table of escaped cells; numbers right-aligned with thousands separators."""
    numeric = [isinstance(c, int | float) for c in rows[0]] if rows else [False] * len(head)
    cls = [' class="n"' if n else "" for n in numeric]
    out = [f'<table id="{ident}">', "<thead><tr>"]
    out += [f"<th{c}>{escape(h)}</th>" for h, c in zip(head, cls, strict=True)]
    out.append("</tr></thead>\n<tbody>")
    for k, row in enumerate(rows):
        mark = ' class="harmful"' if k < len(harmful) and harmful[k] else ""
        cells = "".join(f"<td{c}>{_cell(v)}</td>" for v, c in zip(row, cls, strict=True))
        out.append(f"<tr{mark}>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return escape(str(value))


def _overview(summary: Summary, reports: Sequence[FileReport], harmful: int) -> str:
    fields = sum(summary.fields.values())
    out = [
        '<section id="overview">',
        f"<p>{summary.packets:,} packets in {_files(summary.files)}: {fields:,} checksum "
        f"fields, {harmful:,} of them harmful.</p>",
    ]
    if reports:
        out.append(
            _table(
                "files",
                ["file", "packets", "fields listed", "records not read"],
                [(r.path, r.packets, r.rows, len(r.problems)) for r in reports],
            )
        )
    out.append("</section>")
    return "\n".join(out)


def _diagnosis(summary: Summary, reports: Sequence[FileReport]) -> str:
    out = ['<section id="diagnosis">', "<h2>Diagnosis</h2>"]
    findings = summary.diagnosis.findings
    if not findings:
        out.append("<p>Every checksum field is right, or carries none.</p>")
    for f in findings:
        kind = "harmless" if f.harmless else "harmful" if f.confirmed else "unconfirmed"
        out.append(f'<div class="finding {kind}" data-label="{escape(str(f.label))}">')
        out.append(f"<h3>{escape(f.heading())}</h3>")
        out.append(f"<p>{escape(f.explanation)}</p>")
        if f.fixes:
            out.append("<ul>" + "".join(f"<li>fix: {escape(x)}</li>" for x in f.fixes) + "</ul>")
        out.append("</div>")
    if any(t.damaged for t in summary.tests):
        out.append("<h3>Capture-wide tests (one a file)</h3>")
        out.append(_tests_table(summary.tests, reports))
    out.append("</section>")
    return "\n".join(out)


def _tests_table(tests: Sequence[Outcome], reports: Sequence[FileReport]) -> str:
    """The capture-wide tests, named by their files where the reports are given."""
    head = ["tunnel packets", "openers", "damaged", "fit", "expected by chance", "p-value"]
    named = [(r.path, r.capture_test) for r in reports if r.capture_test is not None]
    if [t for _, t in named] != list(tests):
        named = [(str(k), t) for k, t in enumerate(tests, 1)]
    rows = [
        (name, t.packets, t.openers, t.damaged, t.hits, t.expected, t.p_value, t.confirms)
        for name, t in named
    ]
    return _table("tests", ["file", *head, "confirms"], rows)


def _timeline(timeline: Timeline | None, harmful: int) -> str:
    out = ['<section id="timeline-section">', "<h2>Harmful checksums over time</h2>"]
    if timeline is None:
        out.append('<p class="note">No timeline was collected for this run.</p>')
    elif not harmful:
        out.append('<p class="note">No harmful checksum field: nothing to draw.</p>')
    else:
        width, starts, verdicts, grid = timeline.series()
        if len(starts):
            per = _WIDTH_NAMES[width]
            out.append(
                f'<figure id="timeline-chart" data-width="{width}">'
                f"{_chart(starts, verdicts, grid, per)}"
                f"<figcaption>Harmful checksum fields per {per} by verdict (UTC); "
                f"{timeline.placed:,} fields.</figcaption></figure>"
            )
            nonzero = np.flatnonzero(grid.sum(axis=0))
            rows = [
                (
                    _utc(int(starts[k])),
                    int(starts[k]),
                    *(int(grid[v, k]) for v in range(len(verdicts))),
                    int(grid[:, k].sum()),
                )
                for k in nonzero.tolist()
            ]
            out.append(
                f"<details><summary>The numbers: the {len(rows):,} bins of one {per} "
                "with harmful fields</summary>"
            )
            out.append(_table("timeline", ["time (UTC)", "epoch second", *verdicts, "total"], rows))
            out.append("</details>")
        untimed = sum(timeline.untimed.values())
        if untimed:
            out.append(
                f'<p class="note" id="untimed" data-count="{untimed}">{untimed:,} harmful '
                "fields have no time and are not drawn: "
                + escape(", ".join(f"{v} {n:,}" for v, n in sorted(timeline.untimed.items())))
                + ".</p>"
            )
    out.append("</section>")
    return "\n".join(out)


def _utc(second: int) -> str:
    return str(np.datetime64(second, "s")).replace("T", " ")


def _chart(starts: I64, verdicts: list[str], grid: I64, per: str) -> str:
    """The stacked counts as an inline SVG element: no XML prologue, metadata or
    namespace declarations (HTML gives inline SVG its namespaces)."""
    mpl = require_matplotlib()
    settings = {"svg.fonttype": "none", "svg.hashsalt": "vxsum", "font.size": 9}
    with mpl.rc_context(settings):
        fig = _figure(starts, verdicts, grid, per)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg[svg.index("<svg") :], flags=re.S)
    tag = svg.index(">")
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg[:tag]) + svg[tag:]


def _figure(starts: I64, verdicts: list[str], grid: I64, per: str) -> Any:
    """The matplotlib figure of the timeline: stacked steps, one colour a verdict."""
    from importlib import import_module

    figure = import_module("matplotlib.figure")
    dates = import_module("matplotlib.dates")
    ticker = import_module("matplotlib.ticker")
    fig = figure.Figure(figsize=(10, 3.4), layout="constrained")
    ax = fig.add_subplot()
    width = int(starts[1] - starts[0]) if len(starts) > 1 else 1
    edges = np.append(starts, starts[-1] + width).astype("datetime64[s]")
    ys = np.concatenate([grid, grid[:, -1:]], axis=1)
    colours = [_COLOURS.get(Label(v), "#1f77b4") for v in verdicts]
    ax.stackplot(edges, ys, labels=verdicts, colors=colours, step="post", alpha=0.85)
    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    ax.set_ylabel(f"fields per {per}")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.margins(x=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return fig


def _groups(summary: Summary, top: int) -> str:
    groups = summary.harmful
    if not groups:
        return ""
    out = ['<section id="groups">']
    for ident, by, what in (("flows", "flow", "flow"), ("sources", "source", "source")):
        n = groups.distinct(by=by)
        shown = groups.top(top, by=by)
        of = f" (top {top} of {n:,})" if n > top else ""
        out.append(f"<h2>Harmful checksums by {what} and verdict{of}</h2>")
        rows = [(c, verdict, name) for (verdict, name), c in shown]
        out.append(_table(ident, ["count", "verdict", what], rows))
    out.append("</section>")
    return "\n".join(out)


def _fields_table(summary: Summary) -> str:
    items = sorted(summary.fields.items())
    rows = [(layer, depth, verdict, n) for (layer, depth, verdict), n in items]
    bad = [Label(verdict) not in HARMLESS for (_, _, verdict), _ in items]
    return "\n".join(
        [
            '<section id="fields-section">',
            "<h2>Checksum fields by layer, depth and verdict</h2>",
            _table("fields", ["layer", "depth", "verdict", "count"], rows, harmful=bad),
            "</section>",
        ]
    )


def _problems(summary: Summary) -> str:
    problems = summary.problems
    if not problems:
        return ""
    out = [
        '<section id="problems">',
        f"<h2>Records not parsed or not read: {len(problems):,}</h2>",
        _table("problem-kinds", ["kind", "records"], problems.counts.most_common()),
        "<ul>",
    ]
    out += [f"<li><code>{escape(line)}</code></li>" for line in problems.examples[:_TOP]]
    out += ["</ul>", "</section>"]
    return "\n".join(out)
