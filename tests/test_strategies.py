"""The public strategies: round trips, promised labels, NAT cases, from_type, shrinking.

Issue 7's frame part: whatever :mod:`vxsum.testing.strategies` draws must build, parse back to
itself, and (for the checksum states) get from :func:`vxsum.verdicts.verdict.classify` exactly
the label the strategy promises for every field.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from dataclasses import fields
from importlib.metadata import entry_points

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import vxsum
from vxsum.frames.builder import EthernetSpec, IPv4Spec, Spec, TCPSpec, UDPSpec, build, spec_of
from vxsum.frames.ip import IPv6Fragment, IPv6Options, IPv6Routing
from vxsum.kernel import Conntrack
from vxsum.kernel.csum import IpSummed
from vxsum.kernel.nat import Manip
from vxsum.kernel.versions import Kernel
from vxsum.testing.strategies import (
    LABELLED,
    LabelledFrame,
    NatCase,
    frames,
    ip_stacks,
    ipv4_addresses,
    ipv6_addresses,
    labelled_frames,
    layer_stacks,
    nat_cases,
)
from vxsum.verdicts.verdict import Label, classify, classify_stream

SPEC_CLASSES = [
    vxsum.frames.EthernetSpec,
    vxsum.frames.VlanSpec,
    vxsum.frames.IPv4Spec,
    vxsum.frames.IPv6Spec,
    vxsum.frames.IPv6OptionsSpec,
    vxsum.frames.IPv6RoutingSpec,
    vxsum.frames.IPv6FragmentSpec,
    vxsum.frames.UDPSpec,
    vxsum.frames.TCPSpec,
    vxsum.frames.ICMPSpec,
    vxsum.frames.ICMPv6Spec,
    vxsum.frames.VxlanSpec,
    vxsum.frames.GeneveSpec,
]
LAYER_CLASSES = [
    vxsum.frames.Ethernet,
    vxsum.frames.Vlan,
    vxsum.frames.IPv4,
    vxsum.frames.IPv6,
    IPv6Options,
    IPv6Routing,
    IPv6Fragment,
    vxsum.frames.UDP,
    vxsum.frames.TCP,
    vxsum.frames.ICMP,
    vxsum.frames.ICMPv6,
    vxsum.frames.Vxlan,
    vxsum.frames.Geneve,
]


def pinned(spec: Spec | bytes) -> dict[str, object]:
    assert not isinstance(spec, bytes)
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


def assert_round_trip(specs: list[Spec | bytes], linktype: int) -> None:
    """parse(build(specs)) has the same headers, pinned fields as given, and rebuilds."""
    data = build(specs)
    frame = vxsum.parse(data, linktype)
    assert frame.error is None
    *headers, payload = specs
    assert bytes(frame.remainder) == payload
    assert [type(spec_of(layer)) for layer in frame.layers] == [type(h) for h in headers]
    for spec, layer in zip(headers, frame.layers, strict=True):
        derived = pinned(spec_of(layer))
        given_ = {k: v for k, v in pinned(spec).items() if v is not None and k != "checksum"}
        assert {**derived, **given_} == derived, type(spec).__name__
    assert build([*map(spec_of, frame.layers), bytes(frame.remainder)]) == data


@settings(max_examples=60)
@given(layer_stacks(max_tunnels=3))
def test_layer_stacks_round_trip(specs: list[Spec | bytes]) -> None:
    assert_round_trip(specs, 1)


@settings(max_examples=40)
@given(ip_stacks(min_tunnels=1, max_tunnels=2))
def test_ip_stacks_round_trip_as_raw_ip(specs: list[Spec | bytes]) -> None:
    assert_round_trip(specs, 101)


@settings(max_examples=40)
@given(frames(plain=True))
def test_plain_frames_are_all_good(data: bytes) -> None:
    assert {v.verdict for v in classify(data)} == {Label.GOOD}


@settings(max_examples=30)
@given(ipv4_addresses(text=True), ipv6_addresses(text=True), ipv4_addresses(), ipv6_addresses())
def test_addresses(v4: str, v6: str, p4: bytes, p6: bytes) -> None:
    assert ipaddress.IPv4Address(v4).packed == IPv4Spec(src=v4).src
    assert str(ipaddress.IPv6Address(v6)) == v6
    assert (len(p4), len(p6)) == (4, 16)


# --- checksum states --------------------------------------------------------------------


def verdicts(data: bytes, conntrack: str = "") -> dict[tuple[int, str], Label]:
    """The labels of a frame, judged with its conntrack context when it has one."""
    if conntrack:
        (found,), _ = classify_stream([vxsum.parse(data)], conntrack=Conntrack.parse(conntrack))
    else:
        found = classify(data)
    out = {(v.depth, v.layer): v.verdict for v in found}
    assert len(out) == len(vxsum.parse(data).checksums), "one field per (depth, layer)"
    return out


@pytest.mark.parametrize("label", LABELLED)
def test_each_checksum_state_gets_its_label(label: Label) -> None:
    @settings(max_examples=25)
    @given(labelled_frames(label))
    def check(case: LabelledFrame) -> None:
        assert label in case.labels.values()
        assert bool(case.conntrack) == (label == Label.NAT_STALE)
        assert verdicts(case.data, case.conntrack) == case.labels
        if case.conntrack:  # alone, the frame only fits a rewrite: its bytes name no cause
            alone = verdicts(case.data)
            assert Label.NAT_STALE not in alone.values()

    check()


@settings(max_examples=60)
@given(labelled_frames(*LABELLED))
def test_mixed_checksum_states(case: LabelledFrame) -> None:
    assert verdicts(case.data, case.conntrack) == case.labels


def test_labelled_frames_makes_every_label() -> None:
    assert set(LABELLED) == set(Label)
    with pytest.raises(ValueError, match="bogus"):
        labelled_frames("bogus")


# --- NAT ----------------------------------------------------------------------------------


def l4_field(packet: bytes) -> vxsum.ChecksumField:
    return vxsum.parse(packet, 101).checksums[-1]


@settings(max_examples=80)
@given(nat_cases())
def test_nat_cases(case: NatCase) -> None:
    """What nf_nat does to each checksum state, as kernel-model.md section c says."""
    before = l4_field(case.packet)
    result = case.rewrite()
    after = l4_field(result.packet)
    assert len(result.packet) == len(case.packet)
    ip_ok = [c.status for c in vxsum.parse(result.packet, 101).checksums if c.layer == "ipv4"]
    assert all(s == vxsum.Status.GOOD for s in ip_ok)
    if case.ip_summed != IpSummed.PARTIAL:
        span = result.packet[after.span_offset : after.span_offset + after.span_length]
        if not any(span):  # RFC 1624 section 3: eqn. 3 gives the other zero here (as Linux)
            assert (after.stored, after.expected) == (0, 0xFFFF)
        else:
            assert after.status == before.status  # a correct field stays correct, 0 stays 0
    elif before.stored != 0:
        assert after.stored % 0xFFFF == after.pseudo_sum % 0xFFFF  # still the (new) seed
    elif case.kernel.nat_skips_zero_udp_checksum or not result.manipulated:
        assert after.stored == 0
    else:  # a pre-fix kernel "updates" the zero field of a pending UDP checksum
        v6 = case.packet[0] >> 4 == 6
        size, at = (16, 8) if v6 else (4, 12)
        if case.manip.value == "dnat":
            at += size
        old, new = case.packet[at : at + size], result.packet[at : at + size]
        # kernel-model.md table g: the address delta fold(~old + new), 0xFFFF for a port
        words = [0xFFFF ^ int.from_bytes(old[k : k + 2], "big") for k in range(0, size, 2)]
        words += [int.from_bytes(new[k : k + 2], "big") for k in range(0, size, 2)]
        assert after.stored == (vxsum.fold(sum(words)) if old != new else 0xFFFF)


@settings(max_examples=30)
@given(st.data())
def test_nat_cases_can_be_pinned(data: st.DataObject) -> None:
    transport = data.draw(st.sampled_from(["udp", "tcp", "icmp"]))
    manip = data.draw(st.sampled_from([Manip.SRC, Manip.DST]))
    v6 = data.draw(st.booleans())
    case = data.draw(nat_cases(transport=transport, manip=manip, v6=v6))
    assert case.manip is manip
    assert case.packet[0] >> 4 == (6 if v6 else 4)
    layer = l4_field(case.packet).layer
    assert layer == ("icmpv6" if v6 else "icmp") if transport == "icmp" else layer == transport


def test_nat_cases_refuse_what_they_cannot_pin() -> None:
    with pytest.raises(ValueError, match="transport must be"):
        nat_cases(transport="sctp")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="manip must be a Manip"):
        nat_cases(manip="snat")  # type: ignore[arg-type]


# --- from_type and shrinking ------------------------------------------------------------

LAZY = """
import sys
{before}
import hypothesis
from hypothesis import find, strategies as st
loaded = {{m for m in sys.modules if m.startswith("vxsum")}}
from vxsum.frames.builder import UDPSpec
from vxsum.kernel.versions import Kernel
from vxsum.kernel.scenario import Cluster
print(sorted(loaded), "vxsum.testing.strategies" in sys.modules)
print(repr(find(st.from_type(Kernel), lambda k: True)))
print(repr(find(st.from_type(UDPSpec), lambda s: True)), "vxsum.testing.strategies" in sys.modules)
print(type(st.from_type(Cluster).example()).__name__)
"""


@pytest.mark.parametrize("before", ["", "import vxsum.kernel.versions"])
def test_hypothesis_plugin_imports_nothing_heavy(before: str) -> None:
    """Importing hypothesis runs vxsum's entry point in every project that has vxsum
    installed: it must not import the strategies (the builder, the kernel model), yet
    st.from_type must know vxsum's types, imported before hypothesis or after."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_NO_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", LAZY.format(before=before)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    loaded, kernel, udp, cluster = done.stdout.splitlines()
    first = {"vxsum", "vxsum.testing", "vxsum.testing.hook"}
    if before:
        first |= {"vxsum.errors", "vxsum.kernel", "vxsum.kernel.versions"}
    assert loaded == f"{sorted(first)} False"
    assert kernel == repr(Kernel(5, 4, 0))  # the strategy's simplest, not Kernel(0, 0, 0)
    assert udp == f"{UDPSpec(src_port=49152)!r} True"
    assert cluster == "Cluster"


def test_the_plugin_knows_every_registered_type() -> None:
    from vxsum.testing.hook import TYPES
    from vxsum.testing.strategies import type_strategies

    registered: dict[str, set[str]] = {}
    for cls in type_strategies():
        registered.setdefault(cls.__module__, set()).add(cls.__name__)
    assert {module: set(names) for module, names in TYPES.items()} == registered


def test_entry_point_is_installed() -> None:
    hooks = {ep.value for ep in entry_points(group="hypothesis")}
    assert "vxsum.testing.hook:setup" in hooks


@pytest.mark.parametrize("cls", SPEC_CLASSES + LAYER_CLASSES, ids=lambda c: c.__name__)
def test_from_type(cls: type) -> None:
    @settings(max_examples=10)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        value = data.draw(st.from_type(cls))
        assert type(value) is cls

    check()


def test_shrinks_to_a_readable_frame() -> None:
    """Every strategy lists its simplest choice first (the builder's defaults), so the
    first example tried is the simplest and a failing one shrinks to defaults."""
    first = settings(database=None, max_examples=1, phases=[Phase.generate])
    smallest = find(layer_stacks(), lambda specs: True, settings=first)
    assert smallest == [EthernetSpec(), IPv4Spec(), UDPSpec(), b""]
    has_tcp = find(
        layer_stacks(max_tunnels=2),
        lambda specs: any(isinstance(s, TCPSpec) for s in specs),
        settings=settings(database=None),
    )
    assert has_tcp == [EthernetSpec(), IPv4Spec(), TCPSpec(), b""]
    good = find(labelled_frames(), lambda case: True, settings=first)
    assert set(good.labels.values()) == {Label.GOOD}
    assert good.specs == tuple(smallest)
