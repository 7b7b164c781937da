"""PPP: LINKTYPE_PPP (9) and PPTP's enhanced GRE carry IP that is checked, as tshark does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.ppp import GRE_PPTP, HDLC, PPP
from scapy.packet import raw
from scapy.utils import wrpcap

import vxsum

INNER = IP(src="10.0.0.2", dst="10.0.0.3") / UDP(sport=5000, dport=53, chksum=0x1234) / b"hi"


def _pptp(compressed: bool) -> bytes:
    ppp = PPP(proto=0x21) if compressed else HDLC() / PPP(proto=0x21)
    gre = GRE_PPTP(seqnum_present=1, call_id=7, sequence_number=1)
    return raw(Ether() / IP(src="192.168.1.1", dst="192.168.1.2") / gre / ppp / INNER)


def _statuses(frame: vxsum.Frame) -> list[tuple[str, int, str]]:
    return [(c.layer, c.depth, str(c.status)) for c in frame.checksums]


@pytest.mark.parametrize("compressed", [False, True], ids=["hdlc", "no-address"])
def test_pptp_gre_carries_ip(compressed: bool) -> None:
    frame = vxsum.parse(_pptp(compressed))
    names = [type(layer).__name__ for layer in frame.layers]
    assert names == ["Ethernet", "IPv4", "GRE", "PPP", "IPv4", "UDP"]
    assert _statuses(frame) == [("ipv4", 0, "good"), ("ipv4", 1, "good"), ("udp", 1, "bad")]


def test_pptp_without_payload_and_other_ppp_protocols() -> None:
    ack = raw(Ether() / IP() / GRE_PPTP(call_id=7, acknum_present=1, ack_number=3))
    assert [type(layer).__name__ for layer in vxsum.parse(ack).layers] == [
        "Ethernet",
        "IPv4",
        "GRE",
    ]
    lcp = raw(HDLC() / PPP(proto=0xC021) / b"\x01\x01\x00\x04")
    assert _statuses(vxsum.parse(lcp, vxsum.LinkType.PPP)) == []


def test_link_type_ppp_and_tshark(tmp_path: Path) -> None:
    data = raw(HDLC() / PPP(proto=0x21) / INNER)
    assert _statuses(vxsum.parse(data, 9)) == [("ipv4", 0, "good"), ("udp", 0, "bad")]
    ppp_file, pptp_file = tmp_path / "ppp.pcap", tmp_path / "pptp.pcap"
    wrpcap(str(ppp_file), [data], linktype=9)
    wrpcap(str(pptp_file), [Ether(_pptp(False))])
    report = vxsum.analyze_file(ppp_file, all_fields=True)
    assert report.fields[("udp", 0, "corrupt")] == 1 and not report.problems
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the oracle half of this test")
    for path, want in ((ppp_file, ["0", "1"]), (pptp_file, ["0", "1,1"])):
        command = ["tshark", "-r", str(path), "-o", "udp.check_checksum:TRUE"]
        command += ["-o", "ip.check_checksum:TRUE", "-T", "fields"]
        command += ["-e", "udp.checksum.status", "-e", "ip.checksum.status"]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        assert out.split() == want, path
