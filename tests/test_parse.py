"""Frame parser behaviour on frames built with scapy: layers, checksum records, errors."""

from __future__ import annotations

import struct

import pytest
from frames import encapsulated
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    HAO,
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw, raw

import vxsum
from vxsum.frames import Null, Truncated, Vlan
from vxsum.frames.ip import IPv6Fragment, IPv6Routing
from vxsum.frames.tunnels import Geneve, Vxlan

A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6, C6 = "2001:db8::1", "2001:db8::2", "2001:db8::99"


def statuses(frame: vxsum.Frame) -> list[tuple[str, int, str]]:
    return [(c.layer, c.depth, str(c.status)) for c in frame.checksums]


def test_udp_tcp_good_and_bad() -> None:
    good = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src=A4, dst=B4)
        / UDP(sport=1, dport=2)
        / b"payload"
    )
    assert statuses(vxsum.parse(good)) == [("ipv4", 0, "good"), ("udp", 0, "good")]
    bad = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src=A4, dst=B4)
        / TCP(chksum=0x1234)
        / b"x"
    )
    f = vxsum.parse(bad)
    tcp = f.checksums[1]
    assert (tcp.layer, tcp.status, tcp.stored) == ("tcp", "bad", 0x1234)
    assert tcp.expected == IP(raw(IP(src=A4, dst=B4) / TCP() / b"x"))[TCP].chksum
    fixed = Ether(bad)
    fixed[TCP].chksum = tcp.expected
    assert vxsum.parse(raw(fixed)).checksums[1].status == "good"


def test_layers_keep_offsets_and_fields() -> None:
    frame = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / Dot1AD(vlan=10)
        / Dot1Q(vlan=20)
        / IP(src=A4, dst=B4, options=b"\x01" * 4)
        / UDP(dport=53)
    )
    f = vxsum.parse(frame)
    names = [type(x).__name__ for x in f.layers]
    assert names == ["Ethernet", "Vlan", "Vlan", "IPv4", "UDP"]
    vlans = [x for x in f.layers if isinstance(x, Vlan)]
    assert [(v.tpid, v.vid) for v in vlans] == [(0x88A8, 10), (0x8100, 20)]
    ip = f.layers[3]
    assert ip.offset == 22 and ip.length == 24 and ip.options == b"\x01" * 4  # type: ignore[attr-defined]
    assert f.remainder_offset == len(frame) and bytes(f.remainder) == b""


def test_udp_zero_checksum_v4_v6_and_tunnel_ports() -> None:
    v4 = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src=A4, dst=B4)
        / UDP(sport=1, dport=2, chksum=0)
        / b"x"
    )
    assert vxsum.parse(v4).checksums[1].status == "no-checksum"
    v6 = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IPv6(src=A6, dst=B6)
        / UDP(sport=1, dport=4789, chksum=0)
        / VXLAN()
        / Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    )
    assert vxsum.parse(v6).checksums[0].status == "illegal-zero"
    cfg = vxsum.ParseConfig(ipv6_zero_checksum_ports=frozenset({4789}))
    assert vxsum.parse(v6, config=cfg).checksums[0].status == "no-checksum"


def test_udp_computed_zero_is_written_ffff() -> None:
    """RFC 768: a computed 0 is sent as 0xFFFF, so ``expected`` is never 0 for UDP."""
    data = bytearray(
        raw(
            Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            / IP(src=A4, dst=B4)
            / UDP(sport=1, dport=2, chksum=0)
            / b"\0\0"
        )
    )
    pseudo = vxsum.pseudo_header_sum_v4(A4, B4, 17, 10)
    partial = vxsum.ones_sum(bytes(data[34:]), pseudo)
    struct.pack_into("!H", data, 42, 0xFFFF - partial)  # now the data sum to -0: checksum 0
    struct.pack_into("!H", data, 40, 0xFFFF)
    rec = vxsum.parse(bytes(data)).checksums[1]
    assert (rec.status, rec.expected) == ("good", 0xFFFF)


def test_vxlan_and_geneve_depths() -> None:
    inner = (
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src="192.168.0.1", dst="192.168.0.2")
        / TCP(chksum=1)
    )
    for port in (4789, 8472):
        f = vxsum.parse(
            raw(
                Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
                / IP(src=A4, dst=B4)
                / UDP(sport=9, dport=port)
                / VXLAN(vni=7)
                / inner
            )
        )
        assert any(isinstance(x, Vxlan) and x.vni == 7 for x in f.layers)
        assert statuses(f) == [
            ("ipv4", 0, "good"),
            ("udp", 0, "good"),
            ("ipv4", 1, "good"),
            ("tcp", 1, "bad"),
        ]
    geneve = bytes.fromhex("0100 6558 000007 00".replace(" ", ""))
    opt = bytes.fromhex("0102 0301 aabbccdd")
    geneve = bytes([0x02]) + geneve[1:]  # opt_len = 2 words
    f = vxsum.parse(
        raw(
            Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            / IP(src=A4, dst=B4)
            / UDP(sport=9, dport=6081)
            / Raw(geneve + opt)
            / inner
        )
    )
    gen = next(x for x in f.layers if isinstance(x, Geneve))
    assert gen.vni == 7 and len(gen.options) == 1 and gen.options[0].data == b"\xaa\xbb\xcc\xdd"
    assert statuses(f)[-1] == ("tcp", 1, "bad")


def test_ip_in_ip_and_gre() -> None:
    f = vxsum.parse(
        raw(
            Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            / IP(src=A4, dst=B4)
            / IP(src=A4, dst=B4)
            / UDP()
        )
    )
    assert statuses(f) == [("ipv4", 0, "good"), ("ipv4", 1, "good"), ("udp", 1, "good")]
    f = vxsum.parse(
        raw(
            Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            / IP(src=A4, dst=B4)
            / GRE()
            / IPv6(src=A6, dst=B6)
            / ICMPv6EchoRequest()
        )
    )
    assert statuses(f) == [("ipv4", 0, "good"), ("icmpv6", 1, "good")]


def test_ipv4_fragments() -> None:
    first = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src=A4, dst=B4, flags="MF")
        / UDP()
        / (b"a" * 16)
    )
    rec = vxsum.parse(first).checksums[1]
    assert (rec.status, rec.reason) == ("unverifiable", "fragment")
    later = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src=A4, dst=B4, frag=3, proto=17)
        / (b"a" * 16)
    )
    f = vxsum.parse(later)
    assert [c.layer for c in f.checksums] == ["ipv4"] and f.remainder_offset == 34


def test_ipv6_routing_home_address_and_fragment() -> None:
    rh = IPv6(src=A6, dst=B6) / IPv6ExtHdrRouting(addresses=[C6], segleft=1) / UDP() / b"x"
    built = raw(rh)  # scapy computes the checksum with the final destination C6
    f = vxsum.parse(built, 101)
    assert any(isinstance(x, IPv6Routing) and x.final_destination for x in f.layers)
    assert f.checksums[0].status == "good"
    hoa = IPv6(src=A6, dst=B6) / IPv6ExtHdrDestOpt(options=[HAO(hoa=C6)]) / TCP()
    # scapy ignores the home address; compute the RFC 6275 checksum ourselves.
    data = bytearray(raw(hoa))
    tcp_at = len(data) - 20
    data[tcp_at + 16 : tcp_at + 18] = b"\0\0"
    csum = vxsum.checksum(bytes(data[tcp_at:]), vxsum.pseudo_header_sum_v6(C6, B6, 6, 20))
    struct.pack_into("!H", data, tcp_at + 16, csum)
    assert vxsum.parse(bytes(data), 101).checksums[0].status == "good"
    frag = raw(IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(m=1) / UDP() / (b"y" * 8))
    f = vxsum.parse(frag, 101)
    assert any(isinstance(x, IPv6Fragment) for x in f.layers)
    assert f.checksums[0].reason == "fragment"


def test_icmp_errors_quote_packets() -> None:
    quoted = IP(src=B4, dst=A4) / UDP(sport=5, dport=6) / (b"q" * 20)
    f = vxsum.parse(
        raw(
            Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            / IP(src=A4, dst=B4)
            / ICMP(type=3, code=3)
            / raw(quoted)[:36]
        )
    )
    assert [(c.layer, c.depth, c.quoted, str(c.status)) for c in f.checksums] == [
        ("ipv4", 0, False, "good"),
        ("icmp", 0, False, "good"),
        ("ipv4", 1, True, "good"),
        ("udp", 1, True, "unverifiable"),
    ]
    assert f.checksums[-1].reason == "quoted"
    v6 = IPv6(src=A6, dst=B6) / ICMPv6DestUnreach() / IPv6(src=B6, dst=A6) / UDP() / b"z"
    f = vxsum.parse(raw(v6), 101)
    assert [(c.layer, c.quoted, str(c.status)) for c in f.checksums] == [
        ("icmpv6", False, "good"),
        ("udp", True, "good"),
    ]


def test_snaplen_cut_keeps_lengths() -> None:
    frame = raw(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src=A4, dst=B4)
        / TCP()
        / (b"d" * 100)
    )
    f = vxsum.parse(frame[:60], wire_length=len(frame))
    assert f.truncated and f.wire_length == len(frame) and f.captured_length == 60
    tcp = f.checksums[1]
    assert (tcp.status, tcp.reason) == ("unverifiable", "snaplen")
    assert tcp.captured_length == 60 - 34 and tcp.span_length == 120
    cut = vxsum.parse(frame[:52], wire_length=len(frame))  # TCP header cut, field captured
    assert isinstance(cut.layers[-1], Truncated) and cut.checksums[1].reason == "snaplen"
    assert cut.error is not None and cut.error.layer == "tcp"


def test_lying_length_is_length_mismatch() -> None:
    frame = bytearray(
        raw(
            Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            / IP(src=A4, dst=B4)
            / ICMP()
            / (b"e" * 8)
        )
    )
    struct.pack_into("!H", frame, 16, 200)  # total length 200, only 36 bytes there
    rec = vxsum.parse(bytes(frame)).checksums[1]
    assert (rec.status, rec.reason) == ("unverifiable", "length-mismatch")


def test_udplite_coverage() -> None:
    body = b"u" * 12
    hdr = struct.pack("!HHHH", 1, 2, 8, 0)
    ip = IP(src=A4, dst=B4, proto=136) / Raw(hdr + body)
    data = bytearray(raw(ip))
    pseudo = vxsum.pseudo_header_sum_v4(A4, B4, 136, 20)
    struct.pack_into("!H", data, 26, vxsum.checksum(bytes(data[20:28]), pseudo))
    rec = vxsum.parse(bytes(data), 101).checksums[1]
    assert (rec.layer, rec.status, rec.span_length) == ("udplite", "good", 8)


def test_null_both_byte_orders_and_sll() -> None:
    pkt = raw(IP(src=A4, dst=B4) / UDP())
    for head in (struct.pack("<I", 2), struct.pack(">I", 2)):
        f = vxsum.parse(head + pkt, 0)
        assert isinstance(f.layers[0], Null) and f.layers[0].family == 2
        assert statuses(f)[-1] == ("udp", 0, "good")
    v6 = raw(IPv6(src=A6, dst=B6) / UDP())
    for fam in (24, 28, 30):
        assert vxsum.parse(struct.pack("<I", fam) + v6, 0).checksums[0].status == "good"
    sll = struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x0800)
    assert statuses(vxsum.parse(sll + pkt, 113))[-1] == ("udp", 0, "good")
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 1, 1, 0, 6, b"\0" * 8)
    assert statuses(vxsum.parse(sll2 + pkt, 276))[-1] == ("udp", 0, "good")
    for lt in (12, 14, 101):
        assert statuses(vxsum.parse(pkt, lt))[-1] == ("udp", 0, "good")


def test_errors() -> None:
    with pytest.raises(vxsum.ParseError) as info:
        vxsum.parse(b"\x00" * 10)
    err = info.value
    assert (err.layer, err.offset, err.needed, err.available) == ("ethernet", 0, 14, 10)
    assert "ethernet" in str(err) and "byte 0" in str(err)
    with pytest.raises(vxsum.ParseError, match="unsupported link type"):
        vxsum.parse(b"", 999)
    bad_ihl = bytearray(
        raw(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01") / IP(src=A4, dst=B4) / UDP())
    )
    bad_ihl[14] = 0x43
    f = vxsum.parse(bytes(bad_ihl))
    assert f.error is not None and f.error.layer == "ipv4" and f.remainder_offset == 14
    with pytest.raises(vxsum.ParseError) as info:
        vxsum.parse(bytes(bad_ihl), config=vxsum.ParseConfig(strict=True))
    assert info.value.offset == 14
    assert isinstance(info.value, vxsum.VxsumError)


def test_nesting_bound() -> None:
    pkt = UDP()
    for _ in range(12):
        pkt = IP(src=A4, dst=B4) / pkt
    f = vxsum.parse(raw(pkt), 101, config=vxsum.ParseConfig(max_depth=4))
    assert max(c.depth for c in f.checksums) == 3
    assert f.error is not None and "nested" in f.error.reason


ENCAPSULATED = {
    "mpls": ["Ethernet", "Mpls", "IPv4", "UDP"],
    "pppoe": ["Ethernet", "PPPoE", "IPv4", "UDP"],
    "macsec": ["Ethernet", "MacSec", "IPv4", "UDP"],
    "cmd": ["Ethernet", "CiscoMetadata", "IPv4", "UDP"],
    "gre-cmd": ["IPv4", "GRE", "CiscoMetadata", "IPv4", "UDP"],
    "vxlan-gpe-nsh": ["IPv4", "UDP", "VxlanGpe", "Nsh", "IPv4", "UDP"],
    "mpls-udp": ["IPv4", "UDP", "Mpls", "IPv4", "UDP"],
    "l2tp": ["IPv4", "UDP", "L2tp", "IPv6", "ICMPv6"],
    "teredo": ["IPv4", "UDP", "Teredo", "IPv6", "ICMPv6"],
    "pim": ["IPv4", "PimRegister", "IPv4", "UDP"],
    "gre-checksum": ["IPv4", "GRE", "IPv4", "UDP"],
    "erspan-1": ["IPv4", "GRE", "Ethernet", "IPv4", "UDP"],
    "erspan-2": ["IPv4", "GRE", "Ethernet", "IPv4", "UDP"],
    "erspan-3": ["IPv4", "GRE", "Ethernet", "IPv4", "UDP"],
    "wccp": ["IPv4", "GRE", "IPv4", "UDP"],
}


@pytest.mark.parametrize("name", sorted(ENCAPSULATED))
def test_encapsulations(name: str) -> None:
    linktype, data = encapsulated()[name]
    frame = vxsum.parse(data, linktype, config=vxsum.ParseConfig(strict=True))
    assert [type(x).__name__ for x in frame.layers] == ENCAPSULATED[name]
    inner = frame.checksums[-1]
    assert inner.layer in ("udp", "icmpv6") and inner.status == "good"
    outer_ips = 0 if linktype == 1 else 1
    assert inner.depth == outer_ips


def test_macsec_excludes_icv_and_stops_when_encrypted() -> None:
    _, data = encapsulated()["macsec"]
    ip_at = 14 + 16
    claims_icv = bytearray(data)  # IP and UDP lengths that take in the 16-byte ICV
    struct.pack_into("!H", claims_icv, ip_at + 2, len(data) - ip_at)
    struct.pack_into("!H", claims_icv, ip_at + 24, len(data) - ip_at - 20)
    udp = vxsum.parse(bytes(claims_icv)).checksums[-1]
    assert (udp.layer, udp.status, udp.reason) == ("udp", "unverifiable", "length-mismatch")
    encrypted = bytearray(data)
    encrypted = bytearray(data)
    encrypted[14] |= 0x0C  # E and C bits: the EtherType and payload are ciphertext
    frame = vxsum.parse(bytes(encrypted))
    assert [type(x).__name__ for x in frame.layers] == ["Ethernet", "MacSec"]
    assert frame.layers[1].ethertype is None  # type: ignore[attr-defined]


def test_config_bounds() -> None:
    with pytest.raises(ValueError):
        vxsum.ParseConfig(max_depth=0)
    with pytest.raises(ValueError):
        vxsum.ParseConfig(max_depth=10_000)


def test_malformed_option_is_not_a_cut() -> None:
    """An option overrunning a header that was captured whole is malformed, not truncated."""
    geneve = bytes([0x01, 0, 0x65, 0x58, 0, 0, 7, 0]) + bytes([0, 1, 2, 0x03])  # says 12 bytes
    frame = raw(IP(src=A4, dst=B4) / UDP(sport=9, dport=6081) / Raw(geneve + b"\0" * 40))
    f = vxsum.parse(frame, 101)
    assert f.error is not None and not f.error.truncated
    assert (f.error.layer, f.error.reason) == ("geneve", "option runs past the options length")
    assert not any(isinstance(x, Truncated) for x in f.layers)
    assert statuses(f) == [("ipv4", 0, "good"), ("udp", 0, "good")]


def test_recorded_errors_hold_no_frames() -> None:
    """A parse error kept in Frame.error has no traceback, nor has its cause: their
    frames kept whole capture batches alive in `vxsum analyze` until the GC ran."""
    from vxsum.frames.builder import EthernetSpec, IPv4Spec, UDPSpec, build

    data = build([EthernetSpec(), IPv4Spec(), UDPSpec(src_port=1, dst_port=6081), b"\x01\x00"])
    frame = vxsum.parse(data + bytes(8))
    err: BaseException | None = frame.error
    assert err is not None
    while err is not None:
        assert err.__traceback__ is None
        err = err.__cause__ or err.__context__
