"""`make demo`: the shipped captures are what repro writes, and the demo explains them."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from vxsum.cli import demo
from vxsum.cli.app import main


@pytest.mark.parametrize(("name", "args"), [(n, a) for n, _, a in demo.CAPTURES])
def test_shipped_captures_are_made_by_repro(name: str, args: list[str], tmp_path: Path) -> None:
    out = tmp_path / name
    assert main(["repro", *args, "-o", str(out)]) == 0
    assert out.read_bytes() == (files("vxsum") / "data" / name).read_bytes()


def test_demo_explains_the_three_cases(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "nat-zero-mangled (6 fields)" in out
    assert "nat-stale (6 fields): 6 confirmed: 6 by packets of the same outer flow" in out
    assert "nat-stale: confirmed by 6 packets of its outer flow" in out
    assert "lco-pending (1 field, harmless)" in out
    assert "offload-seed (1 field, harmless)" in out
    assert out.count("fix: kube-proxy v1.16.13 / v1.17.9 / v1.18.6") == 2
