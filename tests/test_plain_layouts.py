"""The plain batch layouts (no tunnel) give the same facts as the per-frame parser.

Every link layer the batch path reads (Ethernet with up to two VLAN tags, Linux cooked
SLL and SLL2, BSD null in either byte order, raw IP under its three numbers), every edge
case the parser has a rule for (fragments, padding, lying lengths, snap-length cuts, zero
UDP checksums, TCP data offset below 5, tunnel ports, ICMP errors), hypothesis frames with
bytes changed, cut and padded, and scapy's frames: each record that takes the batch path
must give the parser's facts byte for byte (:func:`test_fastpath.agree`), and the tests
here say which records take it.
"""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np
import pytest
from frames import seeds
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.packet import raw
from test_fastpath import CONFIG, agree_frames, tunnel_frames

from vxsum.frames.builder import (
    Checksum,
    EthernetSpec,
    ICMPSpec,
    ICMPv6Spec,
    IPv4Spec,
    IPv6OptionsSpec,
    IPv6Spec,
    Spec,
    TCPSpec,
    UDPSpec,
    VxlanSpec,
    build,
)
from vxsum.frames.config import ParseConfig
from vxsum.frames.facts import FACT, gather
from vxsum.frames.fields import LAYERS, REASONS, STATUSES
from vxsum.frames.layouts import common_facts
from vxsum.testing.strategies import ip_stacks

MACS = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
LINKS = ["ethernet", "802.1q", "qinq", "sll", "sll2", "null-le", "null-be", "raw", "dlt12"]


def link(kind: str, v6: bool) -> tuple[int, bytes]:
    """(Link type, link header) of ``kind`` for an IPv4 or IPv6 packet."""
    ethertype = 0x86DD if v6 else 0x0800
    mac = MACS[:6] + b"\0\0"
    return {
        "ethernet": (1, MACS + struct.pack("!H", ethertype)),
        "802.1q": (1, MACS + struct.pack("!HHH", 0x8100, 7, ethertype)),
        "qinq": (1, MACS + struct.pack("!HHHHH", 0x88A8, 5, 0x8100, 7, ethertype)),
        "sll": (113, struct.pack("!HHH8sH", 0, 1, 6, mac, ethertype)),
        "sll2": (276, struct.pack("!HHIHBB8s", ethertype, 0, 2, 1, 0, 6, mac)),
        "null-le": (0, struct.pack("<I", 30 if v6 else 2)),
        "null-be": (0, struct.pack(">I", 24 if v6 else 2)),
        "raw": (101, b""),
        "dlt12": (12, b""),
    }[kind]


def facts(
    linktype: int, frame: bytes, wire: int | None = None, config: ParseConfig = CONFIG
) -> list[tuple[str, str, str | None]] | None:
    """(layer, status, reason) of each field the batch path gives, None if it leaves the
    record to the parser; the parser gives the same (checked)."""
    agree_frames([frame], config, linktype, [wire or len(frame)])
    buf = np.frombuffer(frame, dtype=np.uint8)
    one = np.zeros(1, dtype=np.int64)
    fits, table = common_facts(
        buf, one, one + len(frame), one + (wire or len(frame)), one + linktype, one, config
    )
    if not fits[0]:
        return None
    return [
        (
            LAYERS[r["layer"]],
            str(STATUSES[r["status"]]),
            REASONS[r["reason"]] and str(REASONS[r["reason"]]),
        )
        for r in gather(table, FACT)
    ]


def packet(*layers: Spec | bytes) -> bytes:
    return build(layers)


V4 = IPv4Spec(src="10.0.0.1", dst="10.0.0.2")
V6 = IPv6Spec(src="2001:db8::1", dst="2001:db8::2")
TRANSPORTS = {
    "tcp": TCPSpec(src_port=40000, dst_port=80, flags=0x18),
    "udp": UDPSpec(src_port=40000, dst_port=53),
    "icmp": ICMPSpec(type=8, rest=b"\x00\x01\x00\x02"),
}


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_every_plain_layout_takes_the_batch_path(kind: str, v6: bool, transport: str) -> None:
    l4 = TRANSPORTS[transport]
    if v6 and transport == "icmp":
        l4 = ICMPv6Spec(type=128, rest=b"\x00\x01\x00\x02")
    linktype, header = link(kind, v6)
    found = facts(linktype, header + packet(V6 if v6 else V4, l4, b"payload"))
    layer = "icmpv6" if v6 and transport == "icmp" else transport
    assert found == ([] if v6 else [("ipv4", "good", None)]) + [(layer, "good", None)]


def eth(data: bytes, v6: bool = False) -> bytes:
    return MACS + (b"\x86\xdd" if v6 else b"\x08\x00") + data


TCP_DATA = packet(V4, TCPSpec(options=bytes.fromhex("020405b4")), b"x" * 40)
FIRST_FRAGMENT = (("ipv4", "good", None), ("udp", "unverifiable", "fragment"))
# name: (frame, wire length or None, config, what the batch path gives, None: the parser)
CASES: dict[str, tuple[bytes, int | None, ParseConfig, object]] = {
    "first fragment": (
        eth(packet(replace(V4, flags=1), UDPSpec(), b"x" * 40)),
        None,
        CONFIG,
        list(FIRST_FRAGMENT),
    ),
    "first fragment, zero UDP field": (
        eth(packet(replace(V4, flags=1), UDPSpec(checksum=Checksum.ZERO), b"x" * 40)),
        None,
        CONFIG,
        [("ipv4", "good", None), ("udp", "no-checksum", None)],
    ),
    "later fragment": (
        eth(packet(replace(V4, fragment_offset=3, protocol=6), b"x" * 40)),
        None,
        CONFIG,
        [("ipv4", "good", None)],
    ),
    "Ethernet padding": (
        eth(packet(V4, UDPSpec(), b"x")) + bytes(18),
        None,
        CONFIG,
        [("ipv4", "good", None), ("udp", "good", None)],
    ),
    "zero UDP over IPv4": (
        eth(packet(V4, UDPSpec(checksum=Checksum.ZERO), b"x")),
        None,
        CONFIG,
        [("ipv4", "good", None), ("udp", "no-checksum", None)],
    ),
    "zero UDP over IPv6": (
        eth(packet(V6, UDPSpec(dst_port=53, checksum=Checksum.ZERO), b"x"), v6=True),
        None,
        CONFIG,
        [("udp", "illegal-zero", None)],
    ),
    "zero UDP over IPv6 on an allowed port": (
        eth(packet(V6, UDPSpec(dst_port=53, checksum=Checksum.ZERO), b"x"), v6=True),
        None,
        ParseConfig(ipv6_zero_checksum_ports=frozenset({53})),
        [("udp", "no-checksum", None)],
    ),
    "TCP data offset 4 over IPv4": (
        eth(packet(V4, TCPSpec(data_offset=4), b"x" * 8)),
        None,
        CONFIG,
        [("ipv4", "good", None)],
    ),
    "TCP data offset 4, strict": (
        eth(packet(V4, TCPSpec(data_offset=4), b"x" * 8)),
        None,
        ParseConfig(strict=True),
        None,
    ),
    "TCP data offset 4 over IPv6": (
        eth(packet(V6, TCPSpec(data_offset=4), b"x" * 8), v6=True),
        None,
        CONFIG,
        [],
    ),
    "snap length cuts the data": (
        eth(TCP_DATA)[:80],
        len(eth(TCP_DATA)),
        CONFIG,
        [("ipv4", "good", None), ("tcp", "unverifiable", "snaplen")],
    ),
    "record shorter than the IP length": (
        eth(TCP_DATA)[:80],
        None,
        CONFIG,
        [("ipv4", "good", None), ("tcp", "unverifiable", "length-mismatch")],
    ),
    "snap length cuts the TCP options": (eth(TCP_DATA)[:52], len(eth(TCP_DATA)), CONFIG, None),
    "snap length cuts the IPv4 header": (eth(TCP_DATA)[:30], len(eth(TCP_DATA)), CONFIG, None),
    "UDP length beyond the packet": (
        eth(packet(V4, UDPSpec(length_field=500), b"x" * 10)),
        None,
        CONFIG,
        [("ipv4", "good", None), ("udp", "unverifiable", "length-mismatch")],
    ),
    "UDP length below 8": (
        eth(packet(V4, UDPSpec(length_field=4), b"x" * 10)),
        None,
        CONFIG,
        [("ipv4", "good", None), ("udp", "unverifiable", "length-mismatch")],
    ),
    "UDP length inside the packet": (
        eth(packet(V4, UDPSpec(length_field=12, checksum=0x1234), b"x" * 10)),
        None,
        CONFIG,
        [("ipv4", "good", None), ("udp", "bad", None)],
    ),
    "IPv4 options": (
        eth(packet(replace(V4, options=bytes.fromhex("94040000")), TCPSpec(), b"x")),
        None,
        CONFIG,
        [("ipv4", "good", None), ("tcp", "good", None)],
    ),
    "IPv4 header checksum wrong": (
        eth(packet(replace(V4, checksum=0x1234), UDPSpec(), b"x")),
        None,
        CONFIG,
        [("ipv4", "bad", None), ("udp", "good", None)],
    ),
    "IPv4 protocol the parser does not read": (
        eth(packet(replace(V4, protocol=89), b"x" * 20)),
        None,
        CONFIG,
        [("ipv4", "good", None)],
    ),
    "IGMP": (eth(packet(replace(V4, protocol=2), b"\x11\x64\xee\x9b\0\0\0\0")), None, CONFIG, None),
    "IPv4 total length 0 (TSO)": (
        eth(packet(replace(V4, total_length=0), TCPSpec(), b"x")),
        None,
        CONFIG,
        None,
    ),
    "IPv6 payload length 0": (
        eth(packet(replace(V6, payload_length=0), TCPSpec(), b"x"), v6=True),
        None,
        CONFIG,
        None,
    ),
    "IPv6 extension header": (
        eth(packet(V6, IPv6OptionsSpec(), UDPSpec(), b"x"), v6=True),
        None,
        CONFIG,
        None,
    ),
    "ICMP echo reply, all zero": (eth(packet(V4, ICMPSpec(type=0))), None, CONFIG, None),
    "ICMP error": (
        eth(packet(V4, ICMPSpec(type=3), packet(V4, UDPSpec(), b"q"))),
        None,
        CONFIG,
        None,
    ),
    "ICMPv6 error": (
        eth(packet(V6, ICMPv6Spec(type=1), packet(V6, UDPSpec(), b"q")), v6=True),
        None,
        CONFIG,
        None,
    ),
    "UDP to the VXLAN port": (
        eth(packet(V4, UDPSpec(dst_port=4789), b"x" * 8)),
        None,
        CONFIG,
        None,
    ),
    "UDP from the Teredo port": (
        eth(packet(V4, UDPSpec(src_port=3544, dst_port=9999), b"x" * 8)),
        None,
        CONFIG,
        None,
    ),
    "UDP to a configured Geneve port, IPv4 options": (
        eth(packet(replace(V4, options=bytes(4)), UDPSpec(dst_port=53), b"x" * 8)),
        None,
        ParseConfig(geneve_ports=frozenset({53})),
        None,
    ),
    "TCP to the VXLAN port": (
        eth(packet(V4, TCPSpec(dst_port=4789), b"x")),
        None,
        CONFIG,
        [("ipv4", "good", None), ("tcp", "good", None)],
    ),
    "three VLAN tags": (
        MACS + struct.pack("!HHHHHH", 0x88A8, 1, 0x8100, 2, 0x8100, 3) + b"\x08\x00" + TCP_DATA,
        None,
        CONFIG,
        None,
    ),
    "QinQ with max_tags 1": (
        link("qinq", False)[1] + TCP_DATA,
        None,
        ParseConfig(max_tags=1),
        None,
    ),
    "max_depth 1": (
        eth(TCP_DATA),
        None,
        ParseConfig(max_depth=1),
        [("ipv4", "good", None), ("tcp", "good", None)],
    ),
    "EtherType IPv4, IPv6 inside": (eth(packet(V6, UDPSpec(), b"x")), None, CONFIG, None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_cases(name: str) -> None:
    frame, wire, config, expected = CASES[name]
    assert facts(1, frame, wire, config) == expected


@pytest.mark.parametrize("kind", LINKS)
def test_the_tunnel_layout_behind_every_link_layer(kind: str) -> None:
    inner = packet(EthernetSpec(), V4, TCPSpec(), b"x")
    linktype, header = link(kind, False)
    frame = header + packet(V4, UDPSpec(dst_port=4789), VxlanSpec(vni=1), inner)
    found = facts(linktype, frame)
    assert found is not None and len(found) == 4
    assert facts(linktype, frame, config=ParseConfig(max_depth=1)) is None


# --- independent frames: scapy's ---------------------------------------------------------


def test_scapy_seed_frames_and_every_cut() -> None:
    """tests/frames.py's frames on every link type, whole and cut at every length (as a
    snap-length cut and as a short record)."""
    for linktype, frames in seeds().items():
        fitting = 0
        for frame in frames:
            fitting += agree_frames([frame], CONFIG, linktype)
            cuts = [frame[:n] for n in range(len(frame))]
            agree_frames(cuts, CONFIG, linktype, [len(frame)] * len(cuts))
            agree_frames(cuts, CONFIG, linktype)
        # UDP with IPv4 options, TCP, a first fragment, VXLAN, an ICMPv6 echo
        assert fitting >= 5, linktype


def test_scapy_fragments_and_odd_headers() -> None:
    a, b = "192.0.2.1", "192.0.2.2"
    packets = [
        *fragment(IP(src=a, dst=b) / UDP(sport=1000, dport=2000) / (b"u" * 300), 64),
        *fragment(IP(src=a, dst=b) / TCP(sport=1000, dport=80) / (b"t" * 300), 96),
        *fragment(IP(src=a, dst=b) / ICMP() / (b"i" * 200), 64),
        IP(src=a, dst=b) / TCP(dataofs=3) / b"short offset",
        IP(src=a, dst=b, options=b"\x94\x04\x00\x00" * 3) / UDP() / b"opts",
        IP(src=a, dst=b, len=200) / UDP() / b"lying length",
        IP(src=a, dst=b) / UDP(len=4, chksum=0) / b"zero",
        IP(src=a, dst=b) / ICMP(type=0, id=0, seq=0, chksum=0xFFFF),
        IP(src=a, dst=b) / ICMP(type=13) / b"timestamp",
        IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(chksum=0) / b"zero6",
        IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(data=b"ping"),
        IPv6(src="2001:db8::1", dst="2001:db8::2", plen=100) / TCP() / b"lying",
    ]
    frames = [raw(p) for p in packets]
    assert agree_frames(frames, CONFIG, 101) >= len(frames) - 2  # all but the zero ICMP
    padded = [eth(f, v6=f[0] >> 4 == 6) + bytes(30) for f in frames]
    assert agree_frames(padded) >= len(frames) - 2


# --- hypothesis ----------------------------------------------------------------------------


@st.composite
def plain_records(draw: st.DrawFn) -> tuple[int, bytes, int]:
    """(link type, record, wire length): an IP packet of :func:`ip_stacks` without tunnels,
    maybe a fragment, maybe with a header byte changed, behind any link layer, maybe padded,
    maybe cut (by the snap length or not)."""
    v6 = draw(st.booleans())
    specs = draw(ip_stacks(max_tunnels=0, v6=v6))
    ip = specs[0]
    if isinstance(ip, IPv4Spec) and draw(st.booleans()):  # the strategies make no fragments
        flags, offset = draw(st.sampled_from([(1, 0), (0, 3), (1, 185), (3, 0)]))
        specs[0] = replace(ip, flags=flags, fragment_offset=offset)
    data = bytearray(build(specs))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, min(len(data), 72) - 1))
        data[at] ^= draw(st.integers(1, 255))
    kind = draw(st.sampled_from(LINKS))
    linktype, header = link(kind, v6)
    if kind == "raw":
        linktype = draw(st.sampled_from([101, 12, 14]))
    if kind in ("802.1q", "qinq"):  # any TPID the parser knows, in either place
        header = bytearray(header)
        header[12:14] = draw(st.sampled_from([0x8100, 0x88A8, 0x9100, 0x9200])).to_bytes(2, "big")
        header = bytes(header)
    frame = header + bytes(data) + draw(st.sampled_from([b"", bytes(6), b"\xee" * 5]))
    wire = len(frame)
    if draw(st.booleans()):
        frame = frame[
            : draw(st.integers(0, len(frame)) | st.integers(min(60, len(frame)), len(frame)))
        ]
        wire = wire if draw(st.booleans()) else len(frame)
    return linktype, frame, wire


@st.composite
def relinked_tunnel_records(draw: st.DrawFn) -> tuple[int, bytes, int]:
    """A tunnel frame of :func:`test_fastpath.tunnel_frames` behind any link layer."""
    frame = draw(tunnel_frames())
    start = 18 if frame[12:14] == b"\x81\x00" else 14
    v6 = frame[start] >> 4 == 6
    kind = draw(st.sampled_from(LINKS))
    linktype, header = link(kind, v6)
    return linktype, header + frame[start:], len(header) + len(frame) - start


CONFIGS = [
    CONFIG,
    ParseConfig(max_tags=1),
    ParseConfig(max_depth=1),
    ParseConfig(strict=True),
    ParseConfig(ipv6_zero_checksum_ports=frozenset(range(1, 0x10000, 2))),
    ParseConfig(geneve_ports=frozenset(range(1, 0x10000, 3))),  # many ports are tunnels
]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(plain_records() | relinked_tunnel_records(), min_size=1, max_size=6),
    st.sampled_from(CONFIGS),
)
def test_random_records(records: list[tuple[int, bytes, int]], config: ParseConfig) -> None:
    """Plain records of every link layer and tunnel records in one batch, in any order."""
    types, frames, wires = zip(*records, strict=True)
    agree_frames(frames, config, types, wires)
