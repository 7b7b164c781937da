"""GTP-U (UDP 2152): the IP packet inside a G-PDU is checked, as tshark checks it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

import vxsum
from vxsum.frames import ParseConfig

INNER = IP(src="10.45.0.2", dst="8.8.8.8") / UDP(sport=5000, dport=53, chksum=0x1234) / b"hi"
HEADERS = {
    "plain": GTP_U_Header(teid=0x1234),
    "sequence": GTP_U_Header(teid=7, S=1, seq=5),
    "pdu-session": GTP_U_Header(teid=7, E=1, next_ex=0x85) / GTPPDUSessionContainer(type=1, QFI=9),
}


def _frame(header: object) -> bytes:
    outer = Ether() / IP(src="192.168.1.1", dst="192.168.1.2") / UDP(sport=2152, dport=2152)
    return bytes(outer / header / INNER)  # type: ignore[operator]


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_the_inner_packet_of_a_g_pdu_is_checked(name: str) -> None:
    frame = vxsum.parse(_frame(HEADERS[name]))
    assert [type(layer).__name__ for layer in frame.layers][3:] == ["Gtpu", "IPv4", "UDP"]
    assert [(c.layer, c.depth, str(c.status)) for c in frame.checksums] == [
        ("ipv4", 0, "good"),
        ("udp", 0, "good"),
        ("ipv4", 1, "good"),
        ("udp", 1, "bad"),
    ]
    gtp = frame.layers[3]
    assert isinstance(gtp, vxsum.frames.Gtpu) and gtp.message_type == 0xFF
    assert gtp.extensions == ((0x85,) if name == "pdu-session" else ())


def test_other_ports_and_messages_are_payload() -> None:
    off = vxsum.parse(_frame(HEADERS["plain"]), config=ParseConfig(gtpu_ports=frozenset({1})))
    assert len(off.checksums) == 2
    echo = vxsum.parse(_frame(GTP_U_Header(teid=1, gtp_type=1)))  # an echo request
    assert [c.depth for c in echo.checksums] == [0, 0]


def test_a_capture_agrees_with_tshark(tmp_path: Path) -> None:
    """Through analyze (the batch layouts leave UDP 2152 to the parser) and tshark."""
    path = tmp_path / "gtp.pcap"
    wrpcap(str(path), [Ether(_frame(h)) for h in HEADERS.values()])
    report = vxsum.analyze_file(path, all_fields=True)
    assert report.fields[("udp", 1, "corrupt")] == 3
    assert report.fields[("ipv4", 1, "good")] == 3
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the oracle half of this test")
    command = ["tshark", "-r", str(path), "-o", "udp.check_checksum:TRUE"]
    command += ["-T", "fields", "-e", "udp.checksum.status"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1,0"] * 3  # outer good, inner bad
