"""`make demo` runs and says what the seed bug is."""

from __future__ import annotations

import pytest

from vxsum import demo


def test_demo_explains_the_three_cases(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "nat-zero-mangled [harmful]" in out
    assert "nat-stale [harmful]: consistent with a source-port rewrite" in out
    assert "lco-pending [harmless]: local checksum offload" in out
    assert "offload-seed [harmless]: the pseudo-header seed" in out
    assert "connect completes after 63 s" in out and "connect completes after 1 s" in out
    assert out.count("dropped, UdpInCsumErrors") == 2
