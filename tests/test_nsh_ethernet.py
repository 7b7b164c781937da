"""NSH straight over Ethernet (EtherType 0x894F, RFC 8300): the IP packet after it is
checked, as tshark checks it (vxsum read NSH only inside VXLAN-GPE)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.contrib.nsh import NSH
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import raw
from scapy.utils import wrpcap

import vxsum

FRAME = (
    Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01", type=0x894F)
    / NSH(mdtype=2, nextproto=1)
    / IP(src="10.0.0.2", dst="10.0.0.3", chksum=0x1111)
    / UDP(sport=5000, dport=53)
    / b"hi"
)


def test_nsh_over_ethernet(tmp_path: Path) -> None:
    frame = vxsum.parse(raw(FRAME))
    assert [type(layer).__name__ for layer in frame.layers] == ["Ethernet", "Nsh", "IPv4", "UDP"]
    assert [(c.layer, str(c.status)) for c in frame.checksums] == [
        ("ipv4", "bad"),
        ("udp", "good"),
    ]
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the oracle half of this test")
    path = tmp_path / "nsh.pcap"
    wrpcap(str(path), [FRAME])
    command = ["tshark", "-r", str(path), "-o", "udp.check_checksum:TRUE"]
    command += ["-o", "ip.check_checksum:TRUE", "-T", "fields"]
    command += ["-e", "ip.checksum.status", "-e", "udp.checksum.status"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "1"]
