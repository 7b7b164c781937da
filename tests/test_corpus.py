"""Oracle test: vxsum's checksum verdicts against tshark's on the shared capture corpus.

Every capture under ``shared/corpus/pcaps`` is parsed, and each checksum field tshark
reports (``expected/**/*.json``) is compared with vxsum's record of the same layer,
depth and quoted flag: stored value, status, and the computed value where tshark
gives one. The few deviations are listed below with the reason vxsum differs;
docs/corpus.md has the evidence. Any other deviation, or an exception that no
longer deviates, fails the test.
"""

from __future__ import annotations

from collections import Counter

import pytest
from corpus import compare, shared_dir

CORPUS = shared_dir() / "corpus"

pytestmark = pytest.mark.skipif(
    not (CORPUS / "pcaps").is_dir(),
    reason=f"oracle corpus not found at {CORPUS} (set VXSUM_SHARED to the shared/ folder)",
)

LENGTH_ZERO = (
    "TSO/BIG TCP: the IP length field is 0 and the frame holds several segments' worth; "
    "vxsum checks the captured bytes and says unverifiable (reason length-zero) when "
    "they do not match, where tshark says bad and tcpdump checks nothing"
)
BIGTCP_EXTRA = (
    "BIG TCP: tshark stops at the zero IP length, vxsum goes on (UDP length and tunnel "
    "headers are intact) and reports the inner fields, unverifiable unless they match"
)
LENGTH_LIE = (
    "IPv4 total length claims more bytes than the frame holds, and the capture was not "
    "cut by its snap length: unverifiable (length-mismatch); tshark says bad, tcpdump skips"
)
NOT_DECODED = "sFlow sampled headers (quoted in sFlow, not a packet of the frame): not decoded"

HOW = {  # what the comparison reports for each kind of exception
    LENGTH_ZERO: "status unverifiable != bad",
    BIGTCP_EXTRA: "extra in vxsum",
    LENGTH_LIE: "status unverifiable != bad",
    NOT_DECODED: "missing in vxsum",
}

_KERBEROS_TSO = (28, 35, 118, 150, 157, 234, 241)

ALLOWED: dict[tuple[str, int, str, int], str] = {
    ("tcpdump/bigtcp-ipv4.pcap", 1, "tcp", 0): LENGTH_ZERO,
    ("tcpdump/ipv4_tcp_http_xml_tso.pcap", 1, "tcp", 0): LENGTH_ZERO,
    ("zeek/ip-bogus-header-len.pcap", 1, "icmp", 0): LENGTH_ZERO,
    **{("zeek/krb/kerberos_tso.pcapng", n, "tcp", 0): LENGTH_ZERO for n in _KERBEROS_TSO},
    ("tcpdump/bigtcp-ipv6.pcap", 1, "tcp", 0): BIGTCP_EXTRA,
    **{
        (f"tcpdump/bigtcp-{name}.pcap", 1, layer, depth): BIGTCP_EXTRA
        for name, layers in {
            "ipv4-geneve-ipv4": (("udp", 0), ("ip", 1), ("tcp", 1)),
            "ipv4-vxlan-ipv4": (("udp", 0), ("ip", 1), ("tcp", 1)),
            "ipv4-vxlan-ipv6": (("udp", 0), ("tcp", 1)),
            "ipv6-geneve-ipv6": (("udp", 0), ("tcp", 1)),
            "ipv6-vxlan-ipv4": (("udp", 0), ("ip", 1), ("tcp", 1)),
            "ipv6-vxlan-ipv6": (("udp", 0), ("tcp", 1)),
        }.items()
        for layer, depth in layers
    },
    ("tcpdump/icmp-cksum-oobr-1.pcap", 1, "icmp", 0): LENGTH_LIE,
    ("tcpdump/icmp-rfc8335-missing-bytes.pcap", 1, "icmp", 0): LENGTH_LIE,
    ("tcpdump/sflow_expanded.pcap", 1, "ip", 1): NOT_DECODED,
    ("tcpdump/sflow_expanded.pcap", 1, "tcp", 1): NOT_DECODED,
}


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return compare(CORPUS)


def test_every_frame_parses(result) -> None:  # type: ignore[no-untyped-def]
    assert result.files == 150
    assert result.frames == 2495
    assert not result.errors, result.errors


def test_agreement_with_tshark(result) -> None:  # type: ignore[no-untyped-def]
    found = Counter(d.key for d in result.deviations)
    new = [f"{d.key}: {d.detail}" for d in result.deviations if d.key not in ALLOWED]
    assert not new, "deviations from tshark not explained in docs/corpus.md:\n" + "\n".join(new)
    stale = [k for k in ALLOWED if k not in found]
    assert not stale, f"listed exceptions that now agree with tshark (remove them): {stale}"
    # Each exception deviates in the documented way, not in some other.
    wrong = [
        f"{d.key}: {d.detail}"
        for d in result.deviations
        if not d.detail.startswith(HOW[ALLOWED[d.key]])
    ]
    assert not wrong, "exceptions that deviate differently from docs/corpus.md:\n" + "\n".join(
        wrong
    )


def test_numbers_in_docs(result) -> None:  # type: ignore[no-untyped-def]
    """docs/corpus.md quotes these; a changed corpus or parser must update it."""
    assert (result.compared, result.agreeing) == (4476, 4462), "update docs/corpus.md"


def test_home_address_and_routing_header_in_pseudo_header(result) -> None:  # type: ignore[no-untyped-def]
    """The RFC 6275 / RFC 8200 section 8.1 cases agree with tshark (tcpdump differs)."""
    keys = {d.key[0] for d in result.deviations}
    for name in (
        "ip6-hoa-tcp-good-chksum",
        "ip6-hoa-udp-good-chksum",
        "ip6-route0-tcp-good-chksum",
    ):
        assert f"zeek/chksums/{name}.pcap" not in keys
