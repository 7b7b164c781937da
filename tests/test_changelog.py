"""CHANGELOG.md keeps the shape Keep a Changelog 1.1.0 gives it (docs/releasing.md).

The shape is checked by :func:`problems`, which says what is wrong with a changelog's text;
the project's own file must have none, and made-up texts show each rule can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"

SECTIONS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
_VERSION = re.compile(r"## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$")
_LINK = re.compile(r"\[([^\]]+)\]: (https://\S+)$")


def problems(text: str) -> list[str]:
    """What is wrong with a changelog: one line per problem, none for a good one."""
    lines = text.splitlines()
    out: list[str] = []
    versions: list[str] = []
    headings = [(n, line) for n, line in enumerate(lines, 1) if line.startswith("## ")]
    if not headings or headings[0][1] != "## [Unreleased]":
        out.append("the first version heading is not '## [Unreleased]'")
    for n, line in headings[1:]:
        found = _VERSION.match(line)
        if found is None:
            out.append(f"line {n}: not '## [X.Y.Z] - YYYY-MM-DD': {line!r}")
        else:
            versions.append(found[1])
    if versions != sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True):
        out.append(f"versions not newest first: {versions}")
    for n, line in enumerate(lines, 1):
        if line.startswith("### ") and line[4:].split(" (")[0] not in SECTIONS:
            out.append(f"line {n}: not a Keep a Changelog section: {line!r}")
    links = dict(m.groups() for line in lines if (m := _LINK.match(line)))
    if versions:  # nothing to link to before the first release
        for name in ("Unreleased", *versions):
            if name not in links:
                out.append(f"no link reference for [{name}]")
    return out


def test_the_changelog_keeps_its_shape() -> None:
    assert problems(CHANGELOG.read_text()) == []


_RELEASED = """\
# Changelog

## [Unreleased]

### Added
- b

## [0.2.0] - 2027-01-02

### Removed (the project is pre-1.0)
- a

## [0.1.0] - 2026-12-31

### Fixed
- c

[Unreleased]: https://example.org/vxsum/compare/v0.2.0...HEAD
[0.2.0]: https://example.org/vxsum/compare/v0.1.0...v0.2.0
[0.1.0]: https://example.org/vxsum/releases/tag/v0.1.0
"""


_V010 = ("[0.1.0] - 2026-12-31", "[0.1.0]: https://example.org/vxsum/releases/tag/v0.1.0")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ((), None),
        ((("## [Unreleased]\n", ""),), "the first version heading"),
        ((("## [0.2.0] - 2027-01-02", "## [0.2.0]"),), "line 8: not '## [X.Y.Z] - YYYY-MM-DD'"),
        (tuple((old, old.replace("0.1.0", "0.3.0")) for old in _V010), "newest first"),
        ((("### Fixed", "### Improved"),), "line 15: not a Keep a Changelog section"),
        (((_V010[1] + "\n", ""),), "no link reference for [0.1.0]"),
        (
            (("[Unreleased]: https://example.org/vxsum/compare/v0.2.0...HEAD\n", ""),),
            "[Unreleased]",
        ),
    ],
)
def test_each_rule_can_fail(changes: tuple[tuple[str, str], ...], problem: str | None) -> None:
    text = _RELEASED
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    found = problems(text)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found
