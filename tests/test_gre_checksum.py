"""GRE's optional checksum (RFC 2784, the C bit) is checked, as tshark checks it: over the
GRE header and its payload, without a pseudo-header.

The frames are built with scapy, which fills the checksum; a bad one is made by flipping a
bit of it, so the expected status comes from how each frame was built."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import GRE, ICMP, IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

import vxsum

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # no ARP lookup
INNER = IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=1000, dport=53) / b"query"


def _frames() -> list[tuple[bytes, str]]:
    """(frame, the GRE field's status by construction) for IPv4 and IPv6 outer headers,
    with and without key and sequence number, good and with a bit flipped."""
    out = []
    for v6 in (False, True):
        outer = (
            IPv6(src="2001:db8::1", dst="2001:db8::2")
            if v6
            else IP(src="192.0.2.1", dst="192.0.2.2")
        )
        for extra in ({}, {"key_present": 1, "key": 7, "seqnum_present": 1, "sequence_number": 9}):
            good = bytes(ETH / outer / GRE(chksum_present=1, **extra) / INNER)
            at = 14 + (40 if v6 else 20) + 4  # the GRE checksum field
            bad = bytearray(good)
            bad[at + 1] ^= 0x04
            out += [(good, "good"), (bytes(bad), "bad")]
    return out


def _gre_fields(frame: vxsum.Frame) -> list[tuple[int, str]]:
    return [(c.depth, str(c.status)) for c in frame.checksums if c.layer == "gre"]


def test_the_checksum_is_verified_when_present() -> None:
    for wire, status in _frames():
        frame = vxsum.parse(wire)
        assert _gre_fields(frame) == [(0, status)]
        inner = [c for c in frame.checksums if c.depth == 1]  # the tunnelled packet still
        assert [(c.layer, str(c.status)) for c in inner] == [("ipv4", "good"), ("udp", "good")]


def test_no_field_without_the_c_bit() -> None:
    plain = vxsum.parse(bytes(ETH / IP() / GRE() / INNER))
    assert _gre_fields(plain) == []
    pptp = vxsum.parse(bytes(ETH / IP() / GRE(version=1, proto=0x880B, key_present=1)))
    assert _gre_fields(pptp) == []


def test_cut_is_unverifiable_and_quoted_is_not_walked() -> None:
    """A frame cut by the snap length: its GRE field is unverifiable. An ICMP error that
    quotes a GRE packet: the quote is not walked past its IP header (nor by tshark)."""
    wire, _ = _frames()[0]
    cut = vxsum.parse(wire[:-3], wire_length=len(wire))
    assert [(c.depth, str(c.status), str(c.reason)) for c in cut.checksums if c.layer == "gre"] == [
        (0, "unverifiable", "snaplen")
    ]
    icmp = ICMP(type=3, code=4)
    quoted = bytes(ETH / IP(src="192.0.2.9", dst="192.0.2.1") / icmp / wire[14:60])
    assert _gre_fields(vxsum.parse(quoted)) == []


def test_a_capture_agrees_with_tshark(tmp_path: Path) -> None:
    """Through analyze (GRE is left to the parser) and, where it is installed, tshark's
    gre.checksum.status (1 good, 0 bad)."""
    frames = _frames()
    path = tmp_path / "gre.pcap"
    wrpcap(str(path), [Ether(wire) for wire, _ in frames])
    report = vxsum.analyze_file(path, all_fields=True)
    assert report.fields[("gre", 0, "good")] == 4 and report.fields[("gre", 0, "corrupt")] == 4
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the oracle half of this test")
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "gre.checksum.status"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert out == ["1" if status == "good" else "0" for _, status in frames]
