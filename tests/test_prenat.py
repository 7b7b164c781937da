"""A capture taken before NAT turns 'consistent with' into 'confirmed' (or 'corrupt').

The kernel model's ``prenat`` tap is the outer frame before its own NAT, which is what
an NFLOG rule in the mangle table's POSTROUTING chain sees (it runs before nat
POSTROUTING, where the second MASQUERADE happens). The last test
checks the same on the real kernel, in network namespaces, with ``tcpdump -i nflog:5``.
"""

from __future__ import annotations

import ipaddress
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import vxsum
from vxsum.capture import LinkType, write_pcap
from vxsum.errors import CaptureError
from vxsum.frames.facts import facts_of, layer_code
from vxsum.kernel import scenario
from vxsum.kernel.csum import IpSummed
from vxsum.kernel.encap import ETH_HEADER, vxlan_encapsulate
from vxsum.kernel.nat import Manip, nat_rewrite
from vxsum.kernel.scenario import Cluster, PacketTrace
from vxsum.kernel.sender import packed, tcp_segment, udp_datagram
from vxsum.kernel.skb import Skb, fill_pending
from vxsum.kernel.versions import Kernel
from vxsum.testing.strategies import clusters, seeds
from vxsum.verdicts import LABELS, Label, Verdict, classify, classify_stream, judge
from vxsum.verdicts.confirm import check_nat, needs_context, with_context
from vxsum.verdicts.prenat import PreNatCapture, _outer

UDP_AT = 14 + 20  # outer UDP header of an IPv4-underlay frame
CONFIRMED = "confirmed by the capture before NAT"


def taps(
    cluster: Cluster, proto: str = "tcp", seed: int = 0
) -> tuple[list[bytes], list[PacketTrace]]:
    """(frames before NAT, packet traces) of one scenario: one before-frame per packet."""
    packets = scenario.run(cluster, proto, seed=seed).packets
    return [p.prenat for p in packets], packets


def outer_udp(frame: vxsum.Frame, verdicts: list[Verdict]) -> tuple[vxsum.ChecksumField, Verdict]:
    return next((f, v) for f, v in zip(frame.checksums, verdicts, strict=True) if f.layer == "udp")


def judged(index: PreNatCapture, data: bytes) -> tuple[Verdict, Verdict]:
    """(the classifier's outer UDP verdict, the one refined with the capture before NAT)."""
    frame = vxsum.parse(data)
    _, plain = outer_udp(frame, classify(frame))
    (verdicts,), _ = classify_stream([frame], before=index)
    _, refined = outer_udp(frame, verdicts)
    return plain, refined


def endpoint(frame: bytes, at: int = UDP_AT) -> str:
    port = int.from_bytes(frame[at : at + 2], "big")
    return f"{ipaddress.ip_address(frame[at - 8 : at - 4])}:{port}"


# --- the seed bug scenarios ---------------------------------------------------------------


@pytest.mark.parametrize("txrehash", [True, False])
@pytest.mark.parametrize("tap", ["sender", "wire"])
def test_pre_fix_kernel_zero_mangled_is_confirmed(txrehash: bool, tap: str) -> None:
    """Kernel 5.4.40, kube-proxy 1.18.5, outer checksum off: NAT turns 0 into 0xFFFF."""
    before, packets = taps(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False, txrehash=txrehash))
    index = PreNatCapture.from_frames(vxsum.parse(b) for b in before)
    assert len(index) == len(packets) and index.skipped == 0
    harmful = 0
    for b, p in zip(before, packets, strict=True):
        plain, v = judged(index, getattr(p, tap))
        if not p.outer_nat:
            assert v == plain and v.verdict == Label.NO_CHECKSUM
            continue
        harmful += 1
        assert v.verdict == Label.NAT_ZERO_MANGLED and not v.harmless
        assert v.detail.startswith(CONFIRMED), v.detail
        was, now = endpoint(b), endpoint(getattr(p, tap))
        assert f"was 0 (no checksum) in {was} -> 198.18.0.2:8472" in v.detail
        assert f"NAT of the source to {now}" in v.detail and "0xffff" in v.detail
    assert harmful == (1 if txrehash else 6)  # the 63-second variant loses six SYNs


@pytest.mark.parametrize("tap", ["sender", "wire"])
def test_fixed_kernel_stale_lco_is_confirmed(tap: str) -> None:
    """Kernel 6.18, kube-proxy 1.18.5, udpcsum on: the LCO value left stale by the port."""
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=tap == "sender", txrehash=False)
    before, packets = taps(cluster)
    index = PreNatCapture.from_frames(vxsum.parse(b) for b in before)
    stale = 0
    for b, p in zip(before, packets, strict=True):
        plain, v = judged(index, getattr(p, tap))
        if not p.outer_nat:
            assert v == plain and v.harmless
            continue
        stale += 1
        old = int.from_bytes(b[UDP_AT + 6 : UDP_AT + 8], "big")
        new = int.from_bytes(getattr(p, tap)[UDP_AT + 6 : UDP_AT + 8], "big")
        assert old == new  # the port change was ignored
        assert v.verdict == Label.NAT_STALE and v.detail.startswith(CONFIRMED), v.detail
        assert v.pre_nat_port == int.from_bytes(b[UDP_AT : UDP_AT + 2], "big")
        assert f"{endpoint(b)} -> 198.18.0.2:8472 carried 0x{old:04x}" in v.detail
        assert f"rewrote the source to {endpoint(getattr(p, tap))}" in v.detail
        assert f"leaving 0x{new:04x} where 0x{v.expected:04x} is due" in v.detail or tap == "sender"
        assert "the port change ignored" in v.detail and "address" not in v.detail
    assert stale == 6


def test_an_outer_address_rewrite_is_confirmed_with_the_wrong_sign() -> None:
    """real-kernel-lab.md: an extra SNAT of the outer packet to a second node address."""
    data = taps(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False))[0][0]
    out = nat_rewrite(
        data[ETH_HEADER:],
        Manip.SRC,
        kernel=Kernel(6, 18),
        ip_summed=IpSummed.PARTIAL,
        new_addr=packed("198.18.0.11"),
    ).packet
    after = fill_pending(Skb(data[:ETH_HEADER] + out, IpSummed.PARTIAL, 84, 16)).data
    index = PreNatCapture.from_frames([vxsum.parse(data)])
    _, v = judged(index, after)
    assert v.verdict == Label.NAT_STALE and v.detail.startswith(CONFIRMED)
    assert "the address change applied with the wrong sign" in v.detail
    assert "port change" not in v.detail
    assert v.expected is not None
    assert (v.value - v.expected) & 0xFFFF == 0x14  # twice the delta of .1 -> .11


# --- what is not NAT ---------------------------------------------------------------------


def stale_case() -> tuple[bytes, bytes]:
    before, packets = taps(Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False))
    assert packets[0].outer_nat
    return before[0], packets[0].wire


@pytest.mark.parametrize("flip", [0x0001, 0x0100, 0x8000])
def test_a_corrupted_checksum_after_nat_is_corrupt(flip: int) -> None:
    before, wire = stale_case()
    bad = bytearray(wire)
    value = int.from_bytes(bad[UDP_AT + 6 : UDP_AT + 8], "big") ^ flip
    bad[UDP_AT + 6 : UDP_AT + 8] = value.to_bytes(2, "big")
    index = PreNatCapture.from_frames([vxsum.parse(before)])
    _, v = judged(index, bytes(bad))
    assert v.verdict == Label.CORRUPT and v.pre_nat_port is None
    assert v.detail.startswith(f"not what NAT of {endpoint(before)} to {endpoint(wire)} leaves")
    assert f"captured 0x{value:04x}" in v.detail


def test_a_corrupted_zero_mangled_field_is_corrupt() -> None:
    before, packets = taps(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False))
    bad = bytearray(packets[0].wire)
    bad[UDP_AT + 7] ^= 0x01  # 0xffff -> 0xfffe
    _, v = judged(PreNatCapture.from_frames([vxsum.parse(before[0])]), bytes(bad))
    assert v.verdict == Label.CORRUPT
    assert "0x0000 before NAT becomes 0x0000 (0xffff on a kernel before the NAT fix)" in v.detail


def test_a_field_wrong_before_nat_is_corrupt() -> None:
    before, wire = stale_case()
    bad = bytearray(before)
    bad[UDP_AT + 6] ^= 0x10
    bad_wire = bytearray(wire)
    bad_wire[UDP_AT + 6] ^= 0x10  # what NAT makes of it: the port change is ignored
    _, v = judged(PreNatCapture.from_frames([vxsum.parse(bytes(bad))]), bytes(bad_wire))
    assert v.verdict == Label.CORRUPT and v.detail.startswith("wrong before NAT already")


def test_a_packet_nat_left_alone_is_not_explained_by_nat() -> None:
    before, packets = taps(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False))
    assert not packets[0].outer_nat
    index = PreNatCapture.from_frames([vxsum.parse(before[0])])
    bad = bytearray(packets[0].wire)
    bad[UDP_AT + 6] ^= 0x40
    _, v = judged(index, bytes(bad))
    assert v.verdict == Label.CORRUPT
    assert v.detail.startswith("changed between the two captures without NAT")
    same = bytearray(before[0])  # the sender's LCO value, made wrong before NAT
    same[UDP_AT + 6] ^= 0x40
    index = PreNatCapture.from_frames([vxsum.parse(bytes(same))])
    fill = fill_pending(Skb(bytes(same), IpSummed.PARTIAL, 84, 16)).data
    _, v = judged(index, fill)
    assert v.verdict == Label.CORRUPT
    assert v.detail.startswith("wrong before NAT already, and NAT did not rewrite it")


def test_good_and_other_fields_stay_as_they_are() -> None:
    """Only a tunnel's wrong, harmful outer UDP field is asked; a packet before NAT that
    went elsewhere changes nothing."""
    before, wire = stale_case()
    frame = vxsum.parse(wire)
    index = PreNatCapture.from_frames([vxsum.parse(before)])
    b = index.before_nat(frame, 0)
    assert b is not None
    rows = judge(facts_of(frame))
    asked = np.flatnonzero(needs_context(rows))
    assert len(asked) == 1 and rows["layer"][asked[0]] == layer_code("udp")
    kept = rows.copy()
    elsewhere = replace(b.outer, dst=packed("198.18.0.3"))
    assert not check_nat(frame, rows[asked[0]], elsewhere, b.checksum, b.record)
    assert rows.tobytes() == kept.tobytes()
    rows["label"][asked[0]] = LABELS.index(Label.LCO_PENDING)  # harmless: not asked
    kept = rows.copy()
    with_context(frame, rows, before=index)
    assert rows.tobytes() == kept.tobytes()


# --- matching ----------------------------------------------------------------------------


def test_packets_without_a_match_give_none() -> None:
    before, wire = stale_case()
    index = PreNatCapture.from_frames([vxsum.parse(before)])
    assert index.before_nat(vxsum.parse(wire), 0) is not None
    other = taps(Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False), seed=1)[1][0].wire
    payload = bytearray(wire)
    payload[-1] ^= 0xFF  # an inner byte: another packet
    moved = bytearray(wire)
    moved[UDP_AT - 1] ^= 0x01  # another destination address
    port = bytearray(wire)
    port[UDP_AT + 3] ^= 0x01  # another destination port (not VXLAN any more)
    plain = bytes.fromhex("4500001e00010000401166cc0a0000010a00000204d20035000a12346869")
    for frame in (other, bytes(payload), bytes(moved), bytes(port)):
        assert index.before_nat(vxsum.parse(frame), 0) is None
    assert index.before_nat(vxsum.parse(plain, LinkType.RAW), 0) is None
    assert index.before_nat(vxsum.parse(wire), 1) is None  # no tunnel at depth 1
    (verdicts,), _ = classify_stream([vxsum.parse(plain, LinkType.RAW)], before=index)
    assert verdicts == classify(plain, LinkType.RAW)


def test_the_inner_checksum_and_the_link_layer_do_not_matter() -> None:
    """Matched: inner field filled between the taps, raw IP (NFLOG) against Ethernet."""
    before, wire = stale_case()
    assert before[UDP_AT + 8 :] != wire[UDP_AT + 8 :]  # the inner TCP field was filled
    index = PreNatCapture.from_frames([vxsum.parse(before[ETH_HEADER:], LinkType.RAW)])
    b = index.before_nat(vxsum.parse(wire))
    assert b is not None and b.record == 1 and b.matches == 1
    assert b.checksum == int.from_bytes(before[UDP_AT + 6 : UDP_AT + 8], "big")
    assert b.ip_id == int.from_bytes(before[18:20], "big")


def test_a_payload_sent_twice_prefers_the_same_ip_id() -> None:
    before, wire = stale_case()
    twin = bytearray(before)
    twin[18:20] = b"\x12\x34"  # another IP id, another source port
    twin[UDP_AT : UDP_AT + 2] = (40000).to_bytes(2, "big")
    index = PreNatCapture.from_frames([vxsum.parse(bytes(twin)), vxsum.parse(before)])
    b = index.before_nat(vxsum.parse(wire))
    assert b is not None and b.matches == 2 and b.record == 2
    assert b.outer.sport == int.from_bytes(before[UDP_AT : UDP_AT + 2], "big")


def test_max_per_flow_bounds_the_index() -> None:
    cluster = Cluster.flannel("5.4.40", "1.18.5", udp_csum=False, txrehash=False)
    before, packets = taps(cluster)  # seven SYNs, one outer flow
    frames = [vxsum.parse(b) for b in before]
    index = PreNatCapture.from_frames(frames, max_per_flow=2)
    assert len(index) == 2 and index.skipped == 5 and len(index.flows) == 1
    assert index.nbytes == 2 * 20
    found = [index.before_nat(vxsum.parse(p.wire)) for p in packets]
    assert [b is not None for b in found] == [True, True] + [False] * 5
    with pytest.raises(ValueError, match="max_per_flow"):
        PreNatCapture.from_frames(frames, max_per_flow=0)


# --- files --------------------------------------------------------------------------------


def nflog_record(packet: bytes, order: str = "<") -> bytes:
    """An NFLOG record (tcpdump -i nflog:N): header, a packet-header TLV, a prefix, the payload."""
    tlv = struct.Struct(order + "HH")

    def item(kind: int, value: bytes) -> bytes:
        body = tlv.pack(4 + len(value), kind) + value
        return body + bytes(-len(body) % 4)

    head = bytes([2 if packet[0] >> 4 == 4 else 10, 0]) + (5).to_bytes(2, "big")
    return head + item(1, b"\x08\x00\x04\x00") + item(10, b"vxsum\x00") + item(9, packet)


def test_files_pcap_raw_and_nflog_index_alike(tmp_path: Path) -> None:
    before, packets = taps(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False, txrehash=False))
    frames = [(float(k), b) for k, b in enumerate(before)]
    expected = PreNatCapture.from_frames(vxsum.parse(b) for b in before)
    files = {
        "eth.pcap": (frames, 1),
        "raw.pcap": ([(t, b[ETH_HEADER:]) for t, b in frames], LinkType.RAW),
        "nflog.pcap": ([(t, nflog_record(b[ETH_HEADER:])) for t, b in frames], LinkType.NFLOG),
        "nflog-be.pcap": (
            [(t, nflog_record(b[ETH_HEADER:], ">")) for t, b in frames],
            LinkType.NFLOG,
        ),
    }
    for name, (records, linktype) in files.items():
        write_pcap(tmp_path / name, records, linktype)
        index = PreNatCapture.from_file(tmp_path / name)
        assert index.keys.tolist() == expected.keys.tolist(), name
        assert index.checks.tolist() == expected.checks.tolist(), name
        assert index.flows == expected.flows and index.packets == len(before), name
        _, v = judged(index, packets[0].wire)
        assert v.verdict == Label.NAT_ZERO_MANGLED and "record 1" in v.detail


def test_files_without_tunnel_packets_or_not_captures_raise(tmp_path: Path) -> None:
    plain = bytes.fromhex("4500001e00010000401166cc0a0000010a00000204d20035000a12346869")
    write_pcap(tmp_path / "plain.pcap", [(0.0, plain), (1.0, b"\x45")], LinkType.RAW)
    with pytest.raises(CaptureError, match="no VXLAN or Geneve packets among 2 records"):
        PreNatCapture.from_file(tmp_path / "plain.pcap")
    write_pcap(tmp_path / "odd.pcap", [(0.0, b"\x02\x00\x00\x05\x08\x00\x09\x00")], LinkType.NFLOG)
    with pytest.raises(CaptureError):
        PreNatCapture.from_file(tmp_path / "odd.pcap")
    (tmp_path / "junk.pcap").write_bytes(b"not a capture at all, not even close")
    with pytest.raises(CaptureError):
        PreNatCapture.from_file(tmp_path / "junk.pcap")


# --- properties ---------------------------------------------------------------------------


def truth(plain: Verdict, field: vxsum.ChecksumField, old: int) -> Label | None:
    """The label a NAT-damaged field must get; None where the verdict must stay as it is."""
    if field.status != vxsum.Status.BAD or plain.harmless:
        return None
    return Label.NAT_ZERO_MANGLED if old == 0 else Label.NAT_STALE


@given(
    st.one_of(clusters(unmarks=False), clusters()),  # pre-92035 rules NAT the outer packet
    seeds(),
    st.sampled_from(["tcp", "udp"]),
    st.booleans(),
)
def test_scenarios_agree_with_the_model(cluster: Cluster, seed: int, proto: str, v6: bool) -> None:
    if v6:
        cluster = replace(cluster, node_a="2001:db8:7::1", node_b="2001:db8:7::2")
    before, packets = taps(cluster, proto, seed)
    index = PreNatCapture.from_frames(vxsum.parse(b) for b in before)
    for b, p in zip(before, packets, strict=True):
        for data in (p.sender, p.wire):
            frame = vxsum.parse(data)
            verdicts = classify(frame)
            f, plain = outer_udp(frame, verdicts)
            found = index.before_nat(frame)
            assert found is not None and found.matches == 1
            pre = vxsum.parse(b)
            old = outer_udp(pre, classify(pre))[0].stored
            assert found.checksum == old
            _, v = judged(index, data)
            label = truth(plain, f, old)
            if label is None:
                assert v == plain
            else:
                assert p.outer_nat and v.verdict == label, v.detail
                assert v.detail.startswith(CONFIRMED)


addresses_v4 = st.integers(1, 2**32 - 2).map(lambda n: n.to_bytes(4, "big"))
addresses_v6 = st.integers(1, 2**128 - 2).map(lambda n: n.to_bytes(16, "big"))
ports = st.integers(1, 65535)


@st.composite
def nat_cases(draw: st.DrawFn) -> tuple[bytes, bytes, Label | None, int]:
    """(frame before NAT, frame after it, the damage NAT did, outer checksum before)."""
    addrs = addresses_v6 if draw(st.booleans()) else addresses_v4
    src, dst = draw(addrs), draw(addrs)
    isrc, idst = draw(addresses_v4), draw(addresses_v4)
    if draw(st.booleans()):
        inner = tcp_segment(
            isrc, idst, draw(ports), draw(ports), seq=draw(st.integers(0, 2**32 - 1))
        )
    else:
        payload = draw(st.binary(min_size=0, max_size=40))
        inner = udp_datagram(isrc, idst, draw(ports), 53, payload, offload=draw(st.booleans()))
    sport, udp_csum, device_tx_csum = draw(ports), draw(st.booleans()), draw(st.booleans())
    outer = vxlan_encapsulate(
        inner,
        outer_src=src,
        outer_dst=dst,
        sport=sport,
        dport=draw(st.sampled_from([8472, 4789])),
        udp_csum=udp_csum,
        device_tx_csum=device_tx_csum,
        ident=draw(st.integers(0, 0xFFFF)),
    )
    new_src = draw(st.one_of(st.just(src), addrs))
    new_port = draw(st.one_of(st.just(sport), ports))
    assume((new_src, new_port) != (src, sport))
    kernel = draw(st.sampled_from([Kernel(5, 4, 40), Kernel(4, 14, 100), Kernel(5, 4, 41)]))
    done = nat_rewrite(
        outer.data[ETH_HEADER:],
        Manip.SRC,
        kernel=kernel,
        ip_summed=outer.ip_summed,
        new_addr=new_src,
        new_port=new_port,
    )
    after = replace(outer, data=outer.data[:ETH_HEADER] + done.packet)
    if draw(st.booleans()):
        after = fill_pending(after)  # the underlay fills in software before the tap
    l4 = ETH_HEADER + (40 if len(src) == 16 else 20)
    old = int.from_bytes(outer.data[l4 + 6 : l4 + 8], "big")
    pending = outer.ip_summed == IpSummed.PARTIAL
    lco = udp_csum and device_tx_csum and inner.ip_summed == IpSummed.PARTIAL
    if not udp_csum and pending and not kernel.nat_skips_zero_udp_checksum:
        damage: Label | None = Label.NAT_ZERO_MANGLED
    else:
        damage = Label.NAT_STALE if lco else None  # else NAT updated a seed or left 0 alone
    return outer.data, after.data, damage, old


@given(nat_cases())
def test_random_addresses_and_ports_agree_with_the_model(
    case: tuple[bytes, bytes, Label | None, int],
) -> None:
    before, after, damage, old = case
    index = PreNatCapture.from_frames([vxsum.parse(before)])
    frame = vxsum.parse(after)
    f, plain = outer_udp(frame, classify(frame))
    b = index.before_nat(frame)
    assert b is not None and b.checksum == old
    (verdicts,), _ = classify_stream([frame], before=index)
    _, v = outer_udp(frame, verdicts)
    label = truth(plain, f, old)
    if label is None:  # right, or harmless: the damage cancelled out, if there was any
        assert v == plain
    else:
        assert label == damage and v.verdict == damage, v.detail
        assert v.detail.startswith(CONFIRMED)
        assert f"0x{f.stored:04x}" in v.detail


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=nat_cases())
def test_the_batch_index_is_the_parsed_index(
    case: tuple[bytes, bytes, Label | None, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An index read from a file (the batch layouts where they fit) equals the one made
    from parsed frames, array by array."""
    path = tmp_path_factory.mktemp("index") / "two.pcap"
    write_pcap(path, [(0.0, case[0]), (1.0, case[1])])
    batch = PreNatCapture.from_file(path)
    parsed = PreNatCapture.from_frames(vxsum.parse(data) for data in case[:2])
    for name in ("keys", "flow_of", "checks", "ip_ids", "records"):
        assert getattr(batch, name).tolist() == getattr(parsed, name).tolist(), name
    assert batch.flows == parsed.flows and (batch.packets, batch.skipped) == (2, 0)


# --- the real kernel ----------------------------------------------------------------------


def _nflog_unavailable() -> str | None:
    from vxsum.lab.run import lab_unavailable

    reason = lab_unavailable()
    if reason is not None:
        return reason
    listed = subprocess.run(["tcpdump", "-D"], capture_output=True, text=True, timeout=10)
    if "nflog" not in listed.stdout:
        return "tcpdump was built without NFLOG capture (no nflog in tcpdump -D)"
    return None


def lab_captures(cfg: Any, workdir: Path) -> tuple[Path, Path]:
    """Run one lab cell with an NFLOG rule in node A's mangle POSTROUTING chain and capture
    there (before NAT) and on A's underlay (after NAT)."""
    from vxsum.lab.run import _CLIENT, _SERVER, _build, _cmd, _Namespaces, _wait_for

    before, after = workdir / "before.pcap", workdir / "after.pcap"
    with _Namespaces() as ns:
        _build(ns, cfg)
        # --nflog-threshold 1: otherwise the kernel batches log messages for up to 1 s.
        _cmd(
            ns.a,
            f"iptables -t mangle -A POSTROUTING -p udp --dport {cfg.vxlan_port} "
            "-j NFLOG --nflog-group 5 --nflog-threshold 1",
        )
        ns.spawn(ns.pod, sys.executable, "-c", _SERVER)
        dumps = [
            ns.spawn(ns.a, "tcpdump", "-i", "nflog:5", "--immediate-mode", "-U", "-w", str(before)),
            ns.spawn(ns.a, "tcpdump", "-i", "a0", "--immediate-mode", "-U", "-w", str(after)),
        ]
        for dump in dumps:
            _wait_for(dump, b"listening on", timeout=15)
        time.sleep(0.3)
        client = [sys.executable, "-c", _CLIENT, str(cfg.udp_exchanges), str(cfg.tcp_connects)]
        client.append(str(cfg.tcp_timeout))
        subprocess.run(["ip", "netns", "exec", ns.a, *client], capture_output=True, timeout=60)
        time.sleep(0.3)
        for dump in dumps:
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=10)
    return before, after


@pytest.mark.skipif(_nflog_unavailable() is not None, reason=str(_nflog_unavailable()))
@pytest.mark.parametrize("outer_snat", [False, True], ids=["masquerade-port", "snat-address"])
def test_real_kernel_nflog_capture_confirms(tmp_path: Path, outer_snat: bool) -> None:
    """Kernel with the fix, udpcsum on, underlay offload off: the first SYNs are dropped.

    Pre-92035 rules masquerade the outer packet to a new port; or (post-92035) an extra SNAT
    moves it to a second address. Either way every harmful outer field must be confirmed.
    """
    from vxsum.lab.run import LabConfig

    assert shutil.which("tcpdump")
    cfg = LabConfig(
        udp_csum=True,
        post_92035=outer_snat,
        underlay_tx=False,
        outer_snat=outer_snat,
        udp_exchanges=2,
        tcp_connects=2,
        tcp_timeout=2.0,
    )
    before, after = lab_captures(cfg, tmp_path)
    index = PreNatCapture.from_file(before)
    confirmed = sent = 0
    for rec in vxsum.iter_records(after):
        frame = vxsum.parse(rec.data, rec.linktype)
        found = _outer(frame, 0)
        if found is None or not found[2] or found[0].dst != packed("198.18.0.2"):
            continue
        sent += 1
        assert index.before_nat(frame) is not None, rec.number  # every packet A sent
        f, plain = outer_udp(frame, classify(frame))
        (verdicts,), _ = classify_stream([frame], before=index)
        _, v = outer_udp(frame, verdicts)
        if f.status == vxsum.Status.BAD and not plain.harmless:
            assert v.verdict == Label.NAT_STALE and v.detail.startswith(CONFIRMED), v.detail
            change = "address change" if outer_snat else "port change"
            assert change in v.detail
            confirmed += 1
        else:
            assert v == plain
    assert sent >= 6 and confirmed >= (2 if not outer_snat else 4)
