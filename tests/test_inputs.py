"""parse and classify take what a tool already holds: dpkt and scapy packets, bytes-likes,
numpy arrays; raw IP bytes without a link type are not silently read as Ethernet."""

from __future__ import annotations

from pathlib import Path

import dpkt
import numpy as np
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import CookedLinux, Ether

import vxsum
from vxsum.capture.linktypes import LinkType

IP_BYTES = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=53) / b"hi")
FRAME = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=53) / b"hi")


def _fields(frame: vxsum.Frame) -> list[tuple[str, int, int | None]]:
    return [(c.layer, c.stored, c.expected) for c in frame.checksums]


@pytest.mark.parametrize(
    "packet, data, linktype",
    [
        (dpkt.ethernet.Ethernet(FRAME), FRAME, LinkType.ETHERNET),
        (dpkt.ip.IP(IP_BYTES), IP_BYTES, LinkType.RAW),
        (Ether(FRAME), FRAME, LinkType.ETHERNET),
        (IP(IP_BYTES), IP_BYTES, LinkType.RAW),
        (
            CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x00" * 8, proto=0x0800)
            / IP(IP_BYTES),
            None,
            LinkType.LINUX_SLL,
        ),
    ],
)
def test_packet_objects_bring_their_link_type(
    packet: object, data: bytes | None, linktype: LinkType
) -> None:
    frame = vxsum.parse(packet)
    assert frame.linktype == linktype
    expected = vxsum.parse(bytes(packet) if data is None else data, linktype)  # type: ignore[call-overload]
    assert _fields(frame) == _fields(expected) and len(frame.checksums) == 2
    assert [v.verdict for v in vxsum.classify(packet)] == [
        v.verdict for v in vxsum.classify(expected)
    ]


def test_raw_ip_bytes_are_not_read_as_ethernet() -> None:
    """Without a link type, one exact IPv4 or IPv6 packet is raw IP; an Ethernet frame
    stays Ethernet; a given link type is obeyed."""
    v6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2) / b"x")
    assert vxsum.parse(IP_BYTES).linktype == LinkType.RAW
    assert vxsum.parse(v6).linktype == LinkType.RAW
    assert [c.layer for c in vxsum.parse(v6).checksums] == ["udp"]
    assert len(vxsum.classify(IP_BYTES)) == 2
    assert vxsum.parse(FRAME).linktype == LinkType.ETHERNET
    assert vxsum.parse(IP_BYTES, LinkType.ETHERNET).checksums == ()
    assert vxsum.parse(IP_BYTES[:-1]).linktype == LinkType.ETHERNET  # lengths disagree


def test_bytes_likes_and_numpy_arrays() -> None:
    want = _fields(vxsum.parse(FRAME))
    for data in (bytearray(FRAME), memoryview(FRAME), np.frombuffer(FRAME, np.uint8)):
        assert _fields(vxsum.parse(data)) == want


def test_other_objects_are_type_errors() -> None:
    with pytest.raises(TypeError, match="bytes-like"):
        vxsum.parse(object())


@pytest.mark.parametrize("linktype", [228, 229])
def test_raw_ipv4_and_ipv6_link_types(tmp_path: Path, linktype: int) -> None:
    """LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229) read as raw IP (101), per frame and in
    a capture (where they take the batch path)."""
    packet = (
        IP_BYTES
        if linktype == 228
        else bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2) / b"x")
    )
    assert _fields(vxsum.parse(packet, linktype)) == _fields(vxsum.parse(packet, LinkType.RAW))
    path = tmp_path / "raw.pcap"
    vxsum.capture.write_pcap(path, [(0.0, packet)] * 3, linktype=linktype)
    report = vxsum.analyze_file(path, all_fields=True)
    assert report.packets == 3 and not report.problems
    assert sum(report.fields.values()) == 3 * len(vxsum.parse(packet, LinkType.RAW).checksums)
