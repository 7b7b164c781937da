"""What ``vxsum analyze`` shows a person: the progress bar (on standard error, one for all
files) and the summary, as plain text or as rich tables on a terminal. Words are made
here, from the summary's codes and counts."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from ..report.analysis import Summary

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["ProgressBar", "write_summary"]


class ProgressBar:
    """A rich progress bar over the bytes of the files (shown only on a terminal)."""

    def __init__(self, bar: Progress, sizes: dict[str, int]) -> None:
        self.bar, self.sizes = bar, sizes
        self.task = bar.add_task("analyzing", total=sum(sizes.values()) or 1)
        self.done: dict[str, int] = {}

    @classmethod
    def start(cls, files: list[str], console: Console | None = None) -> ProgressBar:
        """One bar for all ``files`` (with ``--jobs`` too), on standard error (by default),
        where the rows are not."""
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        bar = Progress(
            "{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=console or Console(file=sys.stderr),
            redirect_stdout=False,  # the rows' stream; lines to stderr go above the bar
        )
        bar.start()
        return cls(bar, {f: os.path.getsize(f) if f != "-" else 0 for f in files})

    def update(self, path: str, offset: int) -> None:
        """``path`` has been read up to ``offset`` (its size: to its end)."""
        self.done[path] = min(offset, self.sizes.get(path, offset))
        self.bar.update(self.task, completed=sum(self.done.values()))

    def callback(self, path: str) -> Callable[[int], None]:
        return lambda offset: self.update(path, offset)

    def stop(self) -> None:
        self.bar.stop()


_TOP = 20  # rows of the flow table


def _flows_heading(summary: Summary) -> str:
    n = len(summary.harmful)
    top = f" (top {_TOP} of {n})" if n > _TOP else ""
    return f"harmful checksums by flow{top}:"


_EXAMPLES = 20  # problem lines shown


def _problem_lines(summary: Summary) -> list[str]:
    """The problems: how many, by kind when there are several, the first few of each
    kind word for word, and how many more (every problem is counted; a few are kept)."""
    problems = summary.problems
    if not problems:
        return []
    lines = [f"records not parsed or not read: {len(problems):,}"]
    if len(problems.counts) > 1:
        lines += [f"  {n:>11,}  {kind}" for kind, n in problems.counts.most_common()]
    kinds = problems.by_kind()
    each = max(1, _EXAMPLES // len(kinds))  # examples of every kind, a few lines in all
    shown = [line for _, _, examples in kinds for line in examples[:each]][:_EXAMPLES]
    lines += [f"  {line}" for line in shown]
    if len(problems) > len(shown):
        lines.append(f"  ... and {len(problems) - len(shown):,} more")
    return lines


def _unread_lines(summary: Summary) -> list[str]:
    """The files left out (``--keep-going``), each with its error."""
    if not summary.unread:
        return []
    n = len(summary.unread)
    lines = [f"{'file' if n == 1 else 'files'} not read: {n}"]
    return lines + [f"  {error}" for _, error in summary.unread]


def _summary_lines(summary: Summary) -> list[tuple[str, list[str]]]:
    """The summary as (heading, lines) sections, for plain text and rich alike."""
    head = [
        f"packets read: {summary.packets}"
        + (f" in {summary.files} files" if summary.files > 1 else "")
    ]
    head += _unread_lines(summary)
    head += _problem_lines(summary)
    sections = [("", head)]
    sections.append(
        (
            "checksum fields by layer, depth and verdict:",
            [
                f"  {layer:<8} depth {depth}  {verdict:<17} {n:>8}"
                for (layer, depth, verdict), n in sorted(summary.fields.items())
            ],
        )
    )
    if summary.harmful:
        sections.append(
            (
                _flows_heading(summary),
                [
                    f"  {n:>6}  {verdict:<17} {flow}"
                    for (verdict, flow), n in summary.harmful.most_common(_TOP)
                ],
            )
        )
    findings = []
    for f in summary.diagnosis.findings:
        findings.append(f"- {f.heading()}: {f.explanation}")
        findings += [f"    fix: {fix}" for fix in f.fixes]
    if findings:
        sections.append(("diagnosis:", findings))
    return sections


def write_summary(summary: Summary, out: IO[str], rich: bool) -> None:
    if not rich:
        for heading, lines in _summary_lines(summary):
            if heading:
                print(f"\n{heading}", file=out)
            for line in lines:
                print(line, file=out)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=out, highlight=False)  # colours by meaning only, not every number
    console.print(f"packets read: {summary.packets}")
    for line in _unread_lines(summary) + _problem_lines(summary):
        console.print(f"[red]{escape(line)}[/red]", highlight=False)
    table = Table(title="checksum fields")
    for name in ("layer", "depth", "verdict", "count"):
        table.add_column(name, justify="right" if name == "count" else "left")
    for (layer, depth, verdict), n in sorted(summary.fields.items()):
        table.add_row(layer, str(depth), verdict, str(n))
    console.print(table)
    if summary.harmful:
        flows = Table(title=_flows_heading(summary).rstrip(":"))
        for name in ("count", "verdict", "flow"):
            flows.add_column(name)
        for (verdict, flow), n in summary.harmful.most_common(_TOP):
            flows.add_row(str(n), verdict, flow)
        console.print(flows)
    for f in summary.diagnosis.findings:
        style = "green" if f.harmless else "bold red" if f.confirmed else "yellow"
        head = escape(f.heading())
        console.print(
            f"[{style}]{head}[/{style}]: ", escape(f.explanation), sep="", highlight=False
        )
        for fix in f.fixes:
            console.print(f"    fix: {escape(fix)}", highlight=False)
