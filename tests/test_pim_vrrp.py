"""PIM (RFC 7761 section 4.9) and VRRP (RFC 3768, RFC 5798) checksums are checked, as tshark
checks them.

Each message is written byte by byte and its checksum computed with dpkt's ``in_cksum``
over what the RFC says it covers (a PIM Register: its first 8 bytes; over IPv6, and for
VRRP version 3, with the pseudo-header); a bad one has a bit flipped. So the expected
status comes from how each frame was built, and tshark is the second opinion."""

from __future__ import annotations

import ipaddress
import shutil
import struct
import subprocess
from pathlib import Path

import dpkt
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

import vxsum

ETH = Ether(src="02:00:00:00:00:01", dst="01:00:5e:00:00:0d")
V4 = ("192.0.2.1", "224.0.0.13")
V6 = ("fe80::1", "ff02::d")
INNER = bytes(IP(src="10.0.0.1", dst="239.1.1.1") / UDP(sport=5000, dport=5001) / b"data")


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if len(a) == 4:
        return a + b + struct.pack("!BBH", 0, proto, length)
    return a + b + struct.pack("!I3xB", length, proto)


def _with_checksum(msg: bytes, at: int, covered: int, pseudo: bytes = b"") -> bytes:
    value = dpkt.in_cksum(pseudo + msg[:covered])
    return msg[:at] + struct.pack("!H", value) + msg[at + 2 :]


def _messages() -> list[tuple[str, str, bytes]]:
    """(name, layer, frame) with good checksums."""
    hello = b"\x20\x00\x00\x00" + b"\x00\x01\x00\x02\x00\x69"  # PIM Hello, holdtime 105
    register = b"\x21\x00\x00\x00\x00\x00\x00\x00" + INNER
    vrrp2 = bytes([0x21, 1, 100, 1, 0, 1]) + b"\x00\x00" + ipaddress.ip_address(V4[0]).packed
    vrrp2 += bytes(8)  # authentication data
    vrrp3 = bytes([0x31, 1, 100, 1]) + b"\x00\x64" + b"\x00\x00"
    out = []
    ip4 = lambda proto, msg: bytes(ETH / IP(src=V4[0], dst=V4[1], proto=proto) / msg)  # noqa: E731
    ip6 = lambda nh, msg: bytes(ETH / IPv6(src=V6[0], dst=V6[1], nh=nh) / msg)  # noqa: E731
    out.append(("pim hello v4", "pim", ip4(103, _with_checksum(hello, 2, len(hello)))))
    out.append(("pim register v4", "pim", ip4(103, _with_checksum(register, 2, 8))))
    pseudo = _pseudo(*V6, 103, len(hello))
    out.append(("pim hello v6", "pim", ip6(103, _with_checksum(hello, 2, len(hello), pseudo))))
    out.append(("vrrp 2", "vrrp", ip4(112, _with_checksum(vrrp2, 6, len(vrrp2)))))
    msg = vrrp3 + ipaddress.ip_address(V4[0]).packed
    out.append(
        (
            "vrrp 3 v4",
            "vrrp",
            ip4(112, _with_checksum(msg, 6, len(msg), _pseudo(*V4, 112, len(msg)))),
        )
    )
    msg = vrrp3 + ipaddress.ip_address(V6[0]).packed
    out.append(
        (
            "vrrp 3 v6",
            "vrrp",
            ip6(112, _with_checksum(msg, 6, len(msg), _pseudo(*V6, 112, len(msg)))),
        )
    )
    return out


def _frames() -> list[tuple[str, str, bytes, str]]:
    """Each message good, and with a bit of its checksum flipped."""
    out = []
    for name, layer, frame in _messages():
        at = 14 + (20 if frame[12:14] == b"\x08\x00" else 40) + (2 if layer == "pim" else 6)
        bad = bytearray(frame)
        bad[at] ^= 0x01
        out += [(name, layer, frame, "good"), (name, layer, bytes(bad), "bad")]
    return out


@pytest.mark.parametrize("case", _frames(), ids=lambda c: f"{c[0]} {c[3]}")
def test_the_checksum_is_verified(case: tuple[str, str, bytes, str]) -> None:
    name, layer, wire, status = case
    frame = vxsum.parse(wire)
    assert [(c.layer, c.depth, str(c.status)) for c in frame.checksums if c.layer == layer] == [
        (layer, 0, status)
    ]
    if name == "pim register v4":  # and the packet it carries, past the 8 bytes summed
        assert [(c.layer, c.depth) for c in frame.checksums][-2:] == [("ipv4", 1), ("udp", 1)]


def test_other_versions_have_no_field() -> None:
    pim1 = bytes(ETH / IP(src=V4[0], dst=V4[1], proto=103) / b"\x10\x00\x00\x00\x00\x00")
    vrrp9 = bytes(ETH / IP(src=V4[0], dst=V4[1], proto=112) / b"\x91\x01\x64\x01\x00\x01\x00\x00")
    for wire in (pim1, vrrp9):
        assert [c.layer for c in vxsum.parse(wire).checksums] == ["ipv4"]


def test_a_capture_agrees_with_tshark(tmp_path: Path) -> None:
    frames = _frames()
    path = tmp_path / "pim-vrrp.pcap"
    wrpcap(str(path), [Ether(wire) for _, _, wire, _ in frames])
    report = vxsum.analyze_file(path, all_fields=True)
    assert report.fields[("pim", 0, "good")] == 3 and report.fields[("pim", 0, "corrupt")] == 3
    assert report.fields[("vrrp", 0, "good")] == 3 and report.fields[("vrrp", 0, "corrupt")] == 3
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the oracle half of this test")
    fields = ["-e", "pim.cksum.status", "-e", "vrrp.checksum.status"]
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", *fields],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    told = ["".join(line.split()) for line in out]
    assert told == ["1" if status == "good" else "0" for _, _, _, status in frames]
