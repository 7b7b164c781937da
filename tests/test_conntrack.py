"""conntrack -L text, and NAT explanations checked exactly against it."""

from __future__ import annotations

import ipaddress

import pytest

import vxsum
from vxsum.kernel.conntrack import Conntrack, ConntrackError, Tuple
from vxsum.kernel.scenario import Cluster, run
from vxsum.verdicts import Label, classify_stream

TEXT = """\
udp      17 28 src=198.18.0.1 dst=198.18.0.2 sport=50109 dport=8472 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=8472 dport=35809 mark=0 use=1
udp      17 29 src=198.18.0.2 dst=198.18.0.1 sport=42192 dport=8472 [UNREPLIED] src=198.18.0.1 dst=198.18.0.2 sport=8472 dport=42192 mark=0 use=1
tcp      6 119 TIME_WAIT src=198.18.0.1 dst=100.100.0.10 sport=56180 dport=53 src=100.96.1.2 dst=100.96.0.0 sport=53 dport=14410 [ASSURED] mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.
"""


def ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def test_parse_and_look_up() -> None:
    ct = Conntrack.parse(TEXT)
    assert len(ct.entries) == 3
    seen = Tuple(ip("198.18.0.1"), ip("198.18.0.2"), 35809, 8472)
    assert ct.before_nat("udp", seen) == Tuple(ip("198.18.0.1"), ip("198.18.0.2"), 50109, 8472)
    not_natted = Tuple(ip("198.18.0.2"), ip("198.18.0.1"), 42192, 8472)
    assert ct.before_nat("udp", not_natted) is None
    inner = ct.entries[2]
    assert inner.source_nat and inner.after_nat.src == ip("100.96.0.0")
    bad = Conntrack.parse(  # a bad line is skipped and named (issue 14)
        "udp 17 1 src=1.2.3.4 dst=nonsense sport=1 dport=2 src=1.2.3.4 dst=5.6.7.8 sport=3 dport=4"
    )
    assert bad.entries == ()
    assert bad.problems == ("line 1: bad address dst=nonsense, skipped", "0 of 1 lines parsed")
    with pytest.raises(ConntrackError, match="line 2: over 65536 bytes"):
        Conntrack.parse("\n" + "x" * (1 << 17))


def conntrack_for(wire: bytes, pre_port: int, pre_addr: str | None = None) -> Conntrack:
    src, dst = wire[26:30], wire[30:34]
    sport, dport = int.from_bytes(wire[34:36], "big"), int.from_bytes(wire[36:38], "big")
    orig_src = ipaddress.ip_address(pre_addr or ipaddress.ip_address(src))
    line = (
        f"udp 17 29 src={orig_src} dst={ipaddress.ip_address(dst)} sport={pre_port} "
        f"dport={dport} [UNREPLIED] src={ipaddress.ip_address(dst)} "
        f"dst={ipaddress.ip_address(src)} sport={dport} dport={sport} mark=16384 use=1"
    )
    return Conntrack.parse(line)


def test_conntrack_confirms_a_stale_lco_field_and_rejects_a_wrong_port() -> None:
    s = run(Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False), attempts=1)
    wire = s.packets[0].wire
    pre = run(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False), attempts=1)
    pre_port = int.from_bytes(pre.packets[0].wire[34:36], "big")
    frame = vxsum.parse(wire)
    (verdicts,), _ = classify_stream([frame], conntrack=conntrack_for(wire, pre_port))
    outer = next(v for v in verdicts if v.layer == "udp" and v.depth == 0)
    assert outer.verdict == Label.NAT_STALE and outer.detail.startswith("confirmed by conntrack")
    (verdicts,), _ = classify_stream([frame], conntrack=conntrack_for(wire, pre_port + 1))
    outer = next(v for v in verdicts if v.layer == "udp" and v.depth == 0)
    assert outer.verdict == Label.CORRUPT and "conntrack" in outer.detail


def test_conntrack_confirms_a_pre_fix_zero_field() -> None:
    s = run(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False), attempts=1)
    wire = s.packets[0].wire
    (verdicts,), _ = classify_stream([vxsum.parse(wire)], conntrack=conntrack_for(wire, 40000))
    outer = next(v for v in verdicts if v.layer == "udp" and v.depth == 0)
    assert outer.verdict == Label.NAT_ZERO_MANGLED
    assert outer.detail.startswith("confirmed by conntrack")
