"""The frame builder: ``parse(build(x))`` gives x back, checksum modes, dpkt and scapy agree."""

from __future__ import annotations

import ipaddress
from dataclasses import fields

import dpkt
import pytest
import scapy.contrib.geneve  # binds UDP port 6081 to Geneve in scapy
import scapy.layers.vxlan  # noqa: F401  (binds UDP port 4789 to VXLAN)
from frames import encapsulated, seeds
from hypothesis import given
from scapy.compat import raw
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

import vxsum
from vxsum.frames.builder import (
    Checksum,
    EthernetSpec,
    ICMPSpec,
    ICMPv6Spec,
    IPv4Spec,
    IPv6OptionsSpec,
    IPv6RoutingSpec,
    IPv6Spec,
    Spec,
    TCPSpec,
    UDPSpec,
    VlanSpec,
    build,
    spec_of,
)
from vxsum.testing.strategies import layer_stacks

CHECKSUMMED = (IPv4Spec, UDPSpec, TCPSpec, ICMPSpec, ICMPv6Spec)


def expected_status(rec: vxsum.ChecksumField, data: bytes, v6: bool) -> str:
    """The verdict a stored value implies for bytes built with correct lengths."""
    if rec.stored == 0 and rec.layer == "udp":
        return "illegal-zero" if v6 else "no-checksum"
    span = data[rec.span_offset : rec.span_offset + rec.span_length]
    return "good" if vxsum.verify(span, rec.pseudo_sum) else "bad"


@given(layer_stacks())
def test_parse_build_round_trip(specs: list[Spec | bytes]) -> None:
    data = build(specs)
    frame = vxsum.parse(data)
    assert frame.error is None
    *headers, payload = specs
    assert bytes(frame.remainder) == payload
    assert len(frame.layers) == len(headers)
    end = 0
    for spec, layer in zip(headers, frame.layers, strict=True):
        assert layer.offset == end
        end = layer.end
        got = spec_of(layer)
        assert type(got) is type(spec)
        derived = vars_of(got)  # pinned fields as given, the others as the builder derived them
        pinned = {k: v for k, v in vars_of(spec).items() if v is not None and k != "checksum"}
        assert {**derived, **pinned} == derived, type(spec).__name__
    # One record per checksummed header, in order; each as its mode says.
    owners = [s for s in headers if isinstance(s, CHECKSUMMED)]
    assert len(frame.checksums) == len(owners)
    ips = [s for s in headers if isinstance(s, IPv4Spec | IPv6Spec)]
    for spec, rec in zip(owners, frame.checksums, strict=True):
        mode = spec.checksum
        v6 = isinstance(ips[rec.depth], IPv6Spec)
        if mode == Checksum.CORRECT:
            assert rec.status == "good" and rec.expected == rec.stored
        elif mode == Checksum.SEED:
            assert rec.stored == rec.pseudo_sum != 0
        else:
            assert rec.stored == (0 if mode == Checksum.ZERO else mode)
            assert rec.status == expected_status(rec, data, v6)
    # Every parsed header pinned as it is writes the same bytes again.
    assert build([*map(spec_of, frame.layers), bytes(frame.remainder)]) == data


def vars_of(spec: Spec | bytes) -> dict[str, object]:
    assert not isinstance(spec, bytes)
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


# --- dpkt and scapy ---------------------------------------------------------------------


def _checksum_fields(pkt: Packet) -> list[tuple[Packet, str]]:
    found: list[tuple[Packet, str]] = []
    layer: Packet | None = pkt
    while layer is not None and not isinstance(layer, Raw):
        for name in ("chksum", "cksum"):
            if name in layer.fields:
                found.append((layer, name))
        layer = layer.payload if layer.payload else None
    return found


@given(layer_stacks(plain=True))
def test_scapy_recomputes_the_same_checksums(specs: list[Spec | bytes]) -> None:
    data = build(specs)
    pkt = Ether(data)
    assert raw(pkt) == data
    owners = [s for s in specs if isinstance(s, CHECKSUMMED)]
    found = _checksum_fields(pkt)
    assert len(found) == len(owners)
    for layer, name in found:
        delattr(layer, name)  # scapy computes deleted checksums when it builds
    assert raw(pkt) == data


@given(layer_stacks(plain=True))
def test_dpkt_reads_the_same_fields(specs: list[Spec | bytes]) -> None:
    data = build(specs)
    eth = dpkt.ethernet.Ethernet(data)
    first = specs[0]
    assert isinstance(first, EthernetSpec)
    assert (eth.dst, eth.src) == (first.dst, first.src)
    tags = []
    for spec in specs[1:]:
        if not isinstance(spec, VlanSpec):
            break
        tags.append(spec)
    assert [t.id for t in getattr(eth, "vlan_tags", [])] == [t.vid for t in tags]
    ip = eth.data
    frame = vxsum.parse(data)
    ip_layer = next(x for x in frame.layers if isinstance(x, vxsum.frames.IPv4 | vxsum.frames.IPv6))
    assert (ip.src, ip.dst) == (ip_layer.src, ip_layer.dst)
    if isinstance(ip_layer, vxsum.frames.IPv4):
        assert (ip.len, ip.ttl, ip.id, ip.sum) == (
            ip_layer.total_length,
            ip_layer.ttl,
            ip_layer.identification,
            ip_layer.checksum,
        )
    else:
        assert (ip.plen, ip.hlim, ip.flow) == (
            ip_layer.payload_length,
            ip_layer.hop_limit,
            ip_layer.flow_label,
        )
    upper = ip.data
    transports = vxsum.frames.UDP | vxsum.frames.TCP | vxsum.frames.ICMP | vxsum.frames.ICMPv6
    l4 = next(x for x in frame.layers if isinstance(x, transports))
    assert upper.sum == l4.checksum
    if isinstance(l4, vxsum.frames.UDP):
        assert (upper.sport, upper.dport, upper.ulen) == (l4.src_port, l4.dst_port, l4.length_field)
    elif isinstance(l4, vxsum.frames.TCP):
        assert (upper.seq, upper.ack, upper.off) == (l4.seq, l4.ack, l4.data_offset)
    # dpkt recomputes zeroed checksums on output: the same values (UDP over IPv6: dpkt
    # keeps a computed 0 where RFC 8200 section 8.1 and vxsum write 0xFFFF).
    upper.sum = 0
    if isinstance(ip_layer, vxsum.frames.IPv4):
        ip.sum = 0
        bytes(ip)
        assert ip.sum == ip_layer.checksum
    else:
        bytes(ip)
    assert (upper.sum or 0xFFFF) == (l4.checksum or 0xFFFF)


# --- examples ---------------------------------------------------------------------------

A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6, C6, H6 = "2001:db8::1", "2001:db8::2", "2001:db8::99", "2001:db8::77"


def records(data: bytes, linktype: int = 101) -> list[tuple[str, str, int]]:
    return [(c.layer, str(c.status), c.stored) for c in vxsum.parse(data, linktype).checksums]


@pytest.mark.parametrize("ip", [IPv4Spec(src=A4, dst=B4), IPv6Spec(src=A6, dst=B6)])
def test_udp_writes_a_computed_zero_as_ffff(ip: IPv4Spec | IPv6Spec) -> None:
    """RFC 768 (and RFC 8200 section 8.1): a zero field would mean "no checksum"."""
    probe = build([ip, UDPSpec(checksum=0), b"\0\0"])
    rec = vxsum.parse(probe, 101).checksums[-1]
    word = 0xFFFF - vxsum.ones_sum(probe[rec.span_offset :], rec.pseudo_sum)
    data = build([ip, UDPSpec(), word.to_bytes(2, "big")])  # the data now sum to -0
    assert records(data)[-1] == ("udp", "good", 0xFFFF)
    tcp = build([ip, TCPSpec(checksum=0), bytes(4)])
    rec = vxsum.parse(tcp, 101).checksums[-1]
    word = 0xFFFF - vxsum.ones_sum(tcp[rec.span_offset :], rec.pseudo_sum)
    tcp = build([ip, TCPSpec(), word.to_bytes(2, "big") + bytes(2)])
    assert records(tcp)[-1] == ("tcp", "good", 0)  # TCP keeps the computed 0


def test_seed_is_the_pseudo_header_sum_of_the_final_addresses() -> None:
    """RFC 8200 section 8.1: the routing header's last address, the home address."""
    data = build([IPv4Spec(src=A4, dst=B4), UDPSpec(checksum="seed"), b"abc"])
    assert records(data)[-1][2] == vxsum.pseudo_header_sum_v4(A4, B4, 17, 11)
    specs: list[Spec | bytes] = [
        IPv6Spec(src=A6, dst=B6),
        IPv6RoutingSpec(addresses=(C6,)),
        IPv6OptionsSpec(kind=60, options=((0xC9, ipaddress.IPv6Address(H6).packed),)),
    ]
    data = build([*specs, TCPSpec(checksum=Checksum.SEED), b"xy"])
    assert records(data)[-1][2] == vxsum.pseudo_header_sum_v6(H6, C6, 6, 22)
    assert records(build([*specs, ICMPv6Spec(), b"xy"]))[-1][:2] == ("icmpv6", "good")


def test_scapy_agrees_with_a_routing_header() -> None:
    ip: list[Spec | bytes] = [IPv6Spec(src=A6, dst=B6), IPv6RoutingSpec(addresses=(C6,))]
    data = build([EthernetSpec(), *ip, UDPSpec(), b"routed"])
    pkt = Ether(data)
    del pkt["UDP"].chksum
    assert raw(pkt) == data


def test_pinned_lengths() -> None:
    """Lengths may be pinned, wrong ones included; a trailer stays outside the packet."""
    trailer = build([EthernetSpec(), IPv4Spec(total_length=30), UDPSpec(), b"hi" + bytes(16)])
    frame = vxsum.parse(trailer)
    udp = frame.layers[-1]
    assert isinstance(udp, vxsum.frames.UDP) and udp.length_field == 10
    assert [str(c.status) for c in frame.checksums] == ["good", "good"]
    lying = vxsum.parse(build([IPv4Spec(total_length=200), TCPSpec(), b"x"]), 101)
    assert (lying.checksums[-1].status, lying.checksums[-1].reason) == (
        "unverifiable",
        "length-mismatch",
    )
    long_udp = vxsum.parse(build([IPv6Spec(), UDPSpec(length_field=99), b"x"]), 101)
    assert long_udp.checksums[-1].reason == "length-mismatch"
    tso = vxsum.parse(build([IPv4Spec(total_length=0), TCPSpec(), bytes(3000)]), 101)
    assert [(str(c.status), c.reason) for c in tso.checksums] == [("good", None)] * 2
    bad_ihl = vxsum.parse(build([IPv4Spec(ihl=4), UDPSpec(), b""]), 101)
    assert bad_ihl.error is not None and bad_ihl.error.layer == "ipv4"


def test_raw_bytes_between_headers_need_pinned_protocols() -> None:
    gre = bytes.fromhex("00000800")  # GRE carrying IPv4 (a header build does not know)
    data = build([IPv4Spec(protocol=47), gre, IPv4Spec(), ICMPSpec(), b"ping"])
    assert [r[:2] for r in records(data)] == [("ipv4", "good"), ("ipv4", "good"), ("icmp", "good")]
    with pytest.raises(ValueError, match=r"layer 0 \(IPv4Spec\): the IP protocol"):
        build([IPv4Spec(), gre])


def test_misuse() -> None:
    with pytest.raises(ValueError, match="seed needs a pseudo-header"):
        IPv4Spec(checksum=Checksum.SEED)
    with pytest.raises(ValueError, match="seed needs a pseudo-header"):
        ICMPSpec(checksum="seed")
    with pytest.raises(ValueError, match="16-bit"):
        UDPSpec(checksum=0x10000)
    with pytest.raises(ValueError):
        UDPSpec(checksum="wrong")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="VID 5000"):
        build([EthernetSpec(), VlanSpec(vid=5000), IPv4Spec(), UDPSpec()])
    with pytest.raises(ValueError, match="needs an IP header"):
        build([EthernetSpec(ethertype=0x0800), UDPSpec()])
    with pytest.raises(ValueError, match="4 bytes"):
        build([IPv4Spec(), ICMPSpec(rest=b"\0")])
    with pytest.raises(ValueError, match="layer 1"):
        build([IPv4Spec(), UDPSpec(src_port=70000)])
    with pytest.raises(TypeError, match="IPv4"):
        build([vxsum.parse(build([IPv4Spec(), UDPSpec()]), 101).layers[0]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="Mpls"):
        spec_of(vxsum.parse(encapsulated()["mpls"][1]).layers[1])


def test_spec_of_rebuilds_captured_frames() -> None:
    """Every seed frame whose headers build knows is written back byte for byte."""
    rebuilt = 0
    for linktype in (1, 101):
        for data in seeds()[linktype]:
            frame = vxsum.parse(data, linktype)
            try:
                specs = [spec_of(layer) for layer in frame.layers]
            except TypeError:
                continue
            assert build([*specs, bytes(frame.remainder)]) == data
            rebuilt += 1
    assert rebuilt >= 20


def test_all_zero_icmp_expects_ffff() -> None:
    """Parser fix: an all-zero ICMP message's checksum is 0xFFFF, not 0x0000."""
    for stored, status in ((0, "bad"), (0xFFFF, "good")):
        data = build([IPv4Spec(), ICMPSpec(type=0, checksum=stored), b""])
        rec = vxsum.parse(data, 101).checksums[-1]
        assert (str(rec.status), rec.expected) == (status, 0xFFFF)
    assert records(build([IPv4Spec(), ICMPSpec(type=0), b""]))[-1] == ("icmp", "good", 0xFFFF)
