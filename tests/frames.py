"""Seed frames for the fuzz tests: one per feature, built with scapy, per link type."""

from __future__ import annotations

import struct

import dpkt
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    HAO,
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Jumbo,
)
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw, raw

A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6 = "2001:db8::1", "2001:db8::2"

_IP_SEEDS = [
    IP(src=A4, dst=B4, options=b"\x94\x04\x00\x00") / UDP(sport=1, dport=2) / b"hello",
    IP(src=A4, dst=B4) / TCP(options=[("MSS", 1460)]) / b"data",
    IP(src=A4, dst=B4) / ICMP(type=3) / IP(src=B4, dst=A4) / UDP() / b"quoted",
    IP(src=A4, dst=B4, flags="MF") / UDP() / (b"f" * 16),
    IP(src=A4, dst=B4, proto=2) / Raw(b"\x11\x64\xee\x9b\x00\x00\x00\x00"),
    IP(src=A4, dst=B4)
    / UDP(dport=4789)
    / VXLAN()
    / Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    / IP(src=A4, dst=B4)
    / TCP(),
    IP(src=A4, dst=B4)
    / UDP(dport=6081)
    / Raw(b"\x02\x00\x65\x58\x00\x00\x01\x00")
    / Raw(b"\x01\x02\x03\x01abcd")
    / Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    / IP()
    / UDP(),
    IP(src=A4, dst=B4) / GRE() / IP(src=A4, dst=B4) / ICMP(),
    IP(src=A4, dst=B4) / IPv6(src=A6, dst=B6) / UDP(),
    IP(src=A4, dst=B4, proto=136) / Raw(struct.pack("!HHHH", 1, 2, 8, 0) + b"lite"),
    IPv6(src=A6, dst=B6)
    / IPv6ExtHdrHopByHop()
    / IPv6ExtHdrRouting(addresses=[B6], segleft=1)
    / IPv6ExtHdrDestOpt(options=[HAO(hoa=A6)])
    / TCP(),
    IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(m=1) / UDP() / (b"g" * 8),
    IPv6(src=A6, dst=B6) / ICMPv6DestUnreach() / IPv6(src=B6, dst=A6) / UDP(),
    IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(data=b"ping"),
    IPv6(src=A6, dst=B6, plen=0) / IPv6ExtHdrHopByHop(options=[Jumbo(jumboplen=28)]) / TCP(),
]


def encapsulated() -> dict[str, tuple[int, bytes]]:
    """One frame per less common encapsulation, by name: (link type, frame bytes)."""
    eth = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    inner4 = raw(IP(src="192.168.1.1", dst="192.168.1.2") / UDP(sport=7, dport=9) / b"in")
    inner6 = raw(IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(data=b"in6"))
    label = struct.pack("!I", (100 << 12) | 0x100 | 64)
    pppoe = struct.pack("!BBHHH", 0x11, 0, 1, len(inner4) + 2, 0x0021)
    macsec = struct.pack("!BBI8sH", 0x20, 0, 1, b"\x01" * 8, 0x0800)
    gpe = struct.pack("!BHB", 0x0C, 0, 4) + b"\x00\x00\x07\x00"
    nsh = struct.pack("!HBBI", 0x3002, 2, 1, (5 << 8) | 255)
    l2tp = struct.pack("!HHH", 0x0002, 1, 2) + b"\xff\x03\x00\x57"
    teredo = b"\x00\x00" + b"\x12\x34" + b"\x0a\x0b\x0c\x0d"
    pim = struct.pack("!BBHI", 0x21, 0, 0, 0)
    pim = pim[:2] + struct.pack("!H", dpkt.in_cksum(pim)) + pim[4:]  # over the 8 bytes only
    erspan2 = struct.pack("!HHI", 0x1001, 0, 0)  # type II header (after a GRE sequence)
    erspan3 = struct.pack("!HHIHH", 0x2001, 0, 0, 0, 0x0001)  # type III, O bit set ...
    erspan3 += bytes(8)  # ... so a platform subheader follows
    vrrp = bytes([0x21, 1, 100, 1, 0, 1, 0, 0]) + bytes(12)
    vrrp = vrrp[:6] + struct.pack("!H", dpkt.in_cksum(vrrp)) + vrrp[8:]
    mirrored = raw(eth / IP(src="192.168.1.1", dst="192.168.1.2") / UDP(sport=7, dport=9))
    cmd_gre = struct.pack("!HBBHH", 0x0800, 1, 1, 1, 42)
    cmd_eth = struct.pack("!BBHHH", 1, 1, 1, 42, 0x0800)
    outer = IP(src=A4, dst=B4)
    return {
        "mpls": (1, raw(eth)[:12] + b"\x88\x47" + label + inner4),
        "pppoe": (1, raw(eth)[:12] + b"\x88\x64" + pppoe + inner4),
        "macsec": (1, raw(eth)[:12] + b"\x88\xe5" + macsec + inner4 + b"\xee" * 16),
        "cmd": (1, raw(eth)[:12] + b"\x89\x09" + cmd_eth + inner4),
        "gre-cmd": (101, raw(outer / GRE(proto=0x8909) / Raw(cmd_gre + inner4))),
        "vxlan-gpe-nsh": (101, raw(outer / UDP(sport=1, dport=4790) / Raw(gpe + nsh + inner4))),
        "mpls-udp": (101, raw(outer / UDP(sport=1, dport=6635) / Raw(label + inner4))),
        "l2tp": (101, raw(outer / UDP(sport=1701, dport=1701) / Raw(l2tp + inner6))),
        "teredo": (101, raw(outer / UDP(sport=3544, dport=5000) / Raw(teredo + inner6))),
        "pim": (101, raw(IP(src=A4, dst=B4, proto=103) / Raw(pim + inner4))),
        "gre-checksum": (101, raw(outer / GRE(chksum_present=1, proto=0x0800) / Raw(inner4))),
        "erspan-1": (101, raw(outer / GRE(proto=0x88BE) / Raw(mirrored))),
        "erspan-2": (
            101,
            raw(
                outer
                / GRE(proto=0x88BE, seqnum_present=1, sequence_number=1)
                / Raw(erspan2 + mirrored)
            ),
        ),
        "erspan-3": (101, raw(outer / GRE(proto=0x22EB) / Raw(erspan3 + mirrored))),
        "wccp": (101, raw(outer / GRE(proto=0x883E) / Raw(b"\x05\x59\x00\x48" + inner4))),
        "vrrp": (101, raw(IP(src=A4, dst="224.0.0.18", proto=112) / Raw(vrrp))),
    }


def ip_seeds() -> list[bytes]:
    return [raw(p) for p in _IP_SEEDS]


def seeds() -> dict[int, list[bytes]]:
    """Seed frames by pcap link type."""
    ips = ip_seeds()
    eth = [
        raw(
            Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            / Dot1AD()
            / Dot1Q()
            / IP(src=A4, dst=B4)
            / UDP()
        )
    ]
    for p in ips:
        ethertype = 0x86DD if p[0] >> 4 == 6 else 0x0800
        eth.append(raw(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01", type=ethertype)) + p)
    null = [
        struct.pack("<I" if i % 2 else ">I", 30 if p[0] >> 4 == 6 else 2) + p
        for i, p in enumerate(ips)
    ]
    sll = [
        struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x86DD if p[0] >> 4 == 6 else 0x800) + p
        for p in ips
    ]
    sll2 = [
        struct.pack("!HHIHBB8s", 0x86DD if p[0] >> 4 == 6 else 0x800, 0, 1, 1, 0, 6, b"\0" * 8) + p
        for p in ips
    ]
    extra = encapsulated().values()
    eth += [data for linktype, data in extra if linktype == 1]
    raws = ips + [data for linktype, data in extra if linktype == 101]
    return {0: null, 1: eth, 12: ips, 14: ips, 101: raws, 113: sll, 276: sll2}
