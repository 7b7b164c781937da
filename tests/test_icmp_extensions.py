"""ICMP extension structures (RFC 4884, RFC 8335) carry a checksum of their own, checked as
tshark checks it (``icmp.ext.checksum.status``).

Each message is written byte by byte; the structure's checksum is computed with dpkt's
``in_cksum`` over the structure (header and objects), the message's over the message, so
the expected status comes from how each frame was built; a bad one has a bit flipped."""

from __future__ import annotations

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

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
QUOTE = bytes(IP(src="10.0.0.1", dst="10.0.0.9", ttl=1) / UDP(sport=33434, dport=33435))
QUOTE6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::9", hlim=1) / UDP(sport=1, dport=2))
MPLS_OBJECT = struct.pack("!HBB", 8, 1, 1) + struct.pack("!I", (16000 << 12) | 0x100 | 1)


def _structure() -> bytes:
    """Version 2, one MPLS label stack object (RFC 4950), its checksum filled in."""
    head = struct.pack("!BBH", 0x20, 0, 0)
    value = dpkt.in_cksum(head + MPLS_OBJECT)
    return struct.pack("!BBH", 0x20, 0, value) + MPLS_OBJECT


def _icmp(kind: int, code: int, rest: bytes, body: bytes) -> bytes:
    msg = struct.pack("!BBH", kind, code, 0) + rest + body
    return msg[:2] + struct.pack("!H", dpkt.in_cksum(msg)) + msg[4:]


def _icmpv6(kind: int, rest: bytes, body: bytes) -> bytes:
    src, dst = IPv6(src="2001:db8::fe").src, IPv6(dst="2001:db8::1").dst
    msg = struct.pack("!BBH", kind, 0, 0) + rest + body
    packed = IPv6(src=src, dst=dst)
    pseudo = bytes(packed)[8:40] + struct.pack("!I", len(msg)) + b"\x00\x00\x00\x3a"  # RFC 8200 8.1
    return msg[:2] + struct.pack("!H", dpkt.in_cksum(pseudo + msg)) + msg[4:]


def _frames() -> list[tuple[str, bytes, int]]:
    """(name, frame with a good structure, the structure's offset in the frame)."""
    padded = QUOTE + bytes(128 - len(QUOTE))  # the original datagram, 128 bytes
    v4 = ETH / IP(src="192.0.2.254", dst="10.0.0.1", proto=1)
    out = []
    rfc4884 = _icmp(11, 0, b"\x00\x20\x00\x00", padded + _structure())  # 32 words
    out.append(("time exceeded, RFC 4884", bytes(v4 / rfc4884), 14 + 20 + 8 + 128))
    rfc4950 = _icmp(11, 0, bytes(4), padded + _structure())  # length 0: at 128
    out.append(("time exceeded, RFC 4950", bytes(v4 / rfc4950), 14 + 20 + 8 + 128))
    probe = _icmp(42, 0, b"\x12\x34\x01\x00", _structure())  # RFC 8335 extended echo
    out.append(("extended echo request", bytes(v4 / probe), 14 + 20 + 8))
    padded6 = QUOTE6 + bytes(128 - len(QUOTE6))
    v6 = ETH / IPv6(src="2001:db8::fe", dst="2001:db8::1", nh=58)
    t6 = _icmpv6(3, b"\x10\x00\x00\x00", padded6 + _structure())  # 16 64-bit words
    out.append(("ICMPv6 time exceeded", bytes(v6 / t6), 14 + 40 + 8 + 128))
    return out


def _cases() -> list[tuple[str, bytes, str]]:
    out = []
    for name, frame, at in _frames():
        bad = bytearray(frame)
        bad[at + 3] ^= 0x01  # the structure's checksum (the message's goes bad too)
        out += [(name, frame, "good"), (name, bytes(bad), "bad")]
    return out


@pytest.mark.parametrize("case", _cases(), ids=lambda c: f"{c[0]} {c[2]}")
def test_the_structure_is_verified(case: tuple[str, bytes, str]) -> None:
    _, wire, status = case
    frame = vxsum.parse(wire)
    ext = [(c.depth, str(c.status)) for c in frame.checksums if c.layer == "icmpext"]
    assert ext == [(0, status)]


def test_no_structure_where_none_is() -> None:
    """A length under 128 bytes, a version other than 2, a type that carries none."""
    v4 = ETH / IP(src="192.0.2.254", dst="10.0.0.1", proto=1)
    short = _icmp(11, 0, b"\x00\x08\x00\x00", QUOTE + bytes(32 - len(QUOTE)) + _structure())
    version1 = _icmp(11, 0, bytes(4), QUOTE + bytes(128 - len(QUOTE)) + b"\x10" + bytes(11))
    echo = _icmp(8, 0, b"\x00\x01\x00\x01", _structure())
    for msg in (short, version1, echo):
        frame = vxsum.parse(bytes(v4 / msg))
        assert "icmpext" not in [c.layer for c in frame.checksums]


def test_a_capture_agrees_with_tshark(tmp_path: Path) -> None:
    """Through analyze (the batch layouts leave these messages to the parser) and tshark."""
    cases = _cases()
    path = tmp_path / "icmp-ext.pcap"
    wrpcap(str(path), [Ether(wire) for _, wire, _ in cases])
    report = vxsum.analyze_file(path, all_fields=True)
    assert report.fields[("icmpext", 0, "good")] == 4
    assert report.fields[("icmpext", 0, "corrupt")] == 4
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the oracle half of this test")
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "icmp.ext.checksum.status"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert out == ["1" if status == "good" else "0" for _, _, status in cases]
