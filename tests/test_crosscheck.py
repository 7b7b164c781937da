"""Cross-check: dpkt, scapy and vxsum read the same header field values and checksums.

Frames are built with scapy from hypothesis-drawn field values (checksums left for
scapy to compute), then parsed by dpkt, by scapy again, and by vxsum.
"""

from __future__ import annotations

import ipaddress

import dpkt
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import raw

import vxsum
from vxsum.frames import ip as vip
from vxsum.frames import transport as vt
from vxsum.frames.link import Ethernet

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
v4 = st.integers(1, 0xFFFFFFFF).map(lambda x: str(ipaddress.IPv4Address(x)))
v6 = st.integers(1, (1 << 128) - 1).map(lambda x: str(ipaddress.IPv6Address(x)))
payload = st.binary(max_size=64)


@st.composite
def l4(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["udp", "tcp", "icmp"]))
    if kind == "udp":
        return UDP(sport=draw(u16), dport=draw(st.integers(0, 4000)))
    if kind == "tcp":
        return TCP(
            sport=draw(u16),
            dport=draw(u16),
            seq=draw(u32),
            ack=draw(u32),
            flags=draw(st.integers(0, 0x1FF)),
            window=draw(u16),
            urgptr=draw(u16),
        )
    return ICMP(type=draw(st.sampled_from([0, 8, 13])), id=draw(u16), seq=draw(u16))


def _find(frame: vxsum.Frame, cls: type) -> object:
    return next(x for x in frame.layers if isinstance(x, cls))


@given(v4, v4, u8, u16, u8, st.booleans(), l4(), payload)
def test_ipv4_fields(src, dst, tos, ident, ttl, df, upper, data) -> None:  # type: ignore[no-untyped-def]
    pkt = (
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src=src, dst=dst, tos=tos, id=ident, ttl=ttl, flags="DF" if df else 0)
        / upper
        / data
    )
    wire = raw(pkt)
    frame = vxsum.parse(wire)
    d = dpkt.ethernet.Ethernet(wire)
    s = Ether(wire)
    eth = _find(frame, Ethernet)
    assert (eth.src, eth.dst, eth.ethertype) == (d.src, d.dst, d.type)  # type: ignore[attr-defined]
    ip = _find(frame, vip.IPv4)
    assert isinstance(ip, vip.IPv4)
    assert (ip.src, ip.dst) == (d.data.src, d.data.dst)
    assert (ip.tos, ip.identification, ip.ttl, ip.protocol) == (
        d.data.tos,
        d.data.id,
        d.data.ttl,
        d.data.p,
    )
    assert (ip.total_length, ip.checksum) == (d.data.len, d.data.sum) == (s[IP].len, s[IP].chksum)
    assert ip.flags == int(s[IP].flags) and ip.fragment_offset == s[IP].frag
    records = {c.layer: c for c in frame.checksums}
    assert records["ipv4"].expected == s[IP].chksum
    assert all(c.status == "good" for c in frame.checksums)
    if isinstance(upper, UDP):
        u = _find(frame, vt.UDP)
        assert isinstance(u, vt.UDP)
        du = d.data.data
        assert (u.src_port, u.dst_port, u.length_field, u.checksum) == (
            du.sport,
            du.dport,
            du.ulen,
            du.sum,
        )
        assert records["udp"].expected == s[UDP].chksum
    elif isinstance(upper, TCP):
        t = _find(frame, vt.TCP)
        assert isinstance(t, vt.TCP)
        dt = d.data.data
        assert (t.src_port, t.dst_port, t.seq, t.ack) == (dt.sport, dt.dport, dt.seq, dt.ack)
        assert (t.window, t.urgent, t.checksum) == (dt.win, dt.urp, dt.sum)
        assert t.flags & 0x1FF == int(s[TCP].flags)
        assert records["tcp"].expected == s[TCP].chksum
    else:
        i = _find(frame, vt.ICMP)
        assert isinstance(i, vt.ICMP)
        assert (i.type, i.code, i.checksum) == (d.data.data.type, d.data.data.code, d.data.data.sum)
        assert records["icmp"].expected == s[ICMP].chksum


@given(v6, v6, u8, st.integers(0, 0xFFFFF), u8, st.sampled_from(["udp", "tcp"]), payload)
def test_ipv6_fields(src, dst, tc, fl, hlim, kind, data) -> None:  # type: ignore[no-untyped-def]
    upper = UDP(sport=1000, dport=2000) if kind == "udp" else TCP(sport=1, dport=2)
    wire = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IPv6(src=src, dst=dst, tc=tc, fl=fl, hlim=hlim)
        / upper
        / data
    )
    frame = vxsum.parse(wire)
    d = dpkt.ethernet.Ethernet(wire).data
    s = Ether(wire)
    ip = _find(frame, vip.IPv6)
    assert isinstance(ip, vip.IPv6)
    assert (ip.src, ip.dst, ip.hop_limit, ip.next_header) == (d.src, d.dst, d.hlim, d.nxt)
    assert (ip.traffic_class, ip.flow_label, ip.payload_length) == (s[IPv6].tc, s[IPv6].fl, d.plen)
    (rec,) = frame.checksums
    layer = UDP if kind == "udp" else TCP
    assert rec.status == "good" and rec.expected == s[layer].chksum
    assert rec.stored == d.data.sum
