"""Draw the medians of one pytest-benchmark run as horizontal bars, in plain SVG.

Usage: python benchmarks/plot.py benchmarks/last-run.json GROUP-PREFIX OUT.svg
(e.g. ``analyze`` for the analyze-against-tcpdump group). No plotting library: the
picture is a few rectangles and labels, written by hand.
"""

from __future__ import annotations

import json
import sys
from html import escape

from report import _impl

WIDTH, BAR, GAP, LEFT, RIGHT = 720, 26, 10, 190, 110


def svg(title: str, bars: list[tuple[str, float]]) -> str:
    """Bars of (label, seconds), longest scaled to the available width."""
    top = 40
    height = top + len(bars) * (BAR + GAP) + 20
    most = max(v for _, v in bars)
    span = WIDTH - LEFT - RIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for k, (label, value) in enumerate(bars):
        y = top + k * (BAR + GAP)
        w = max(1.0, span * value / most)
        colour = "#2b6cb0" if label.startswith("analyze") else "#a0aec0"
        baseline = y + BAR * 0.68
        parts += [
            f'<text x="{LEFT - 8}" y="{baseline:.1f}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{LEFT}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{colour}"/>',
            f'<text x="{LEFT + w + 6:.1f}" y="{baseline:.1f}">{value:.2f} s</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(path: str, prefix: str, out: str) -> None:
    with open(path) as f:
        run = json.load(f)
    found = [b for b in run["benchmarks"] if b["group"].startswith(prefix)]
    if not found:
        raise SystemExit(f"no benchmark group starts with {prefix!r} in {path}")
    bars = sorted(((_impl(b["name"]), b["stats"]["median"]) for b in found), key=lambda x: x[1])
    title = f"{found[0]['group']}: median wall-clock seconds, lower is better"
    with open(out, "w") as f:
        f.write(svg(title, bars))


if __name__ == "__main__":
    main(*sys.argv[1:4])
