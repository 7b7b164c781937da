"""`make demo` runs and says what the seed bug is."""

from __future__ import annotations

import pytest

from vxsum import demo


def test_demo_explains_the_three_cases(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "turned into 0xFFFF by a pre-fix kernel's NAT" in out
    assert "stale: right for source port" in out and "consistent" in out
    assert "local checksum offload: right once the inner seed is filled (harmless)" in out
    assert "the pseudo-header seed: the NIC has not filled it yet (harmless)" in out
    assert "connect completes after 63 s" in out and "connect completes after 1 s" in out
    assert out.count("dropped, UdpInCsumErrors") == 2
