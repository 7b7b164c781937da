"""Hypothesis strategies for property tests about packets, checksums, NAT and the kernel model.

Needs the ``hypothesis`` extra (``pip install 'vxsum[hypothesis]'``). What there is:

* values: :func:`ipv4_addresses` and :func:`ipv6_addresses` (packed bytes, as
  specifications and parsed headers hold them, or text with ``text=True``),
  :func:`macs`, :func:`ports`, :func:`checksum_modes`;
* one strategy per layer specification of :mod:`vxsum.frames.builder` (:func:`udp_specs`,
  :func:`geneve_specs`, ...), registered with :func:`hypothesis.strategies.from_type`
  together with the parsed header classes (:class:`vxsum.UDP`, ...) through
  hypothesis's entry point (:mod:`vxsum.testing.hook`);
* whole frames: :func:`layer_stacks` (specification lists, tunnels nested to any
  depth) and :func:`frames` (the built bytes); :func:`ip_stacks` without the link layer;
* checksum states: :func:`labelled_frames` gives frames whose checksum fields are
  correct, zero, a seed, unverifiable or broken by one of the classifier's
  mechanisms, each with the label :func:`vxsum.verdicts.verdict.classify` must give every field;
* NAT: :func:`nat_cases`, an IP packet and the arguments of :func:`vxsum.nat_rewrite`;
* the kernel model: :func:`kernels`, :func:`kube_proxies`, :func:`clusters`, :func:`seeds`.

Everything shrinks towards the simplest case, the first listed choice: IPv4, UDP, no
tunnel, no VLAN, no options, correct checksums, documentation addresses.

>>> from hypothesis import given
>>> from vxsum.kernel.scenario import run
>>> @given(clusters(kernel=kernels(fixed=False), udp_csum=False, unmarks=False, vxlan_tx=True))
... def test_pre_fix(cluster):
...     wire = run(cluster, attempts=1).packets[0].wire
...     assert wire[40:42] == b"\\xff\\xff"
>>> test_pre_fix()
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cache, partial
from typing import Any, NamedTuple

from ..core.buffer import ones_add, ones_sum, update16
from ..frames.builder import (
    _SPEC_OF,
    Checksum,
    EthernetSpec,
    GeneveSpec,
    ICMPSpec,
    ICMPv6Spec,
    IPv4Spec,
    IPv6FragmentSpec,
    IPv6OptionsSpec,
    IPv6RoutingSpec,
    IPv6Spec,
    Spec,
    TCPSpec,
    UDPSpec,
    VlanSpec,
    VxlanSpec,
    build,
)
from ..frames.fields import ChecksumField, Status
from ..frames.frame import parse
from ..frames.ip import IPv4, IPv6
from ..frames.tunnels import GeneveOption
from ..kernel.csum import IpSummed
from ..kernel.encap import EPHEMERAL_PORTS
from ..kernel.nat import Manip, NatResult, nat_rewrite
from ..kernel.scenario import Cluster, KubeProxy
from ..kernel.versions import Kernel
from ..verdicts.labels import Label
from ..verdicts.verdict import classify

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("vxsum.strategies needs hypothesis: pip install 'vxsum[hypothesis]'") from err

from . import draw as _g
from .draw import (
    Stack,
    checksum_modes,
    clusters,
    ethernet_specs,
    geneve_options,
    geneve_specs,
    home_address_specs,
    icmp_specs,
    icmpv6_specs,
    ip_headers,
    ip_stacks,
    ipv4_addresses,
    ipv4_specs,
    ipv6_addresses,
    ipv6_extensions,
    ipv6_fragment_specs,
    ipv6_options_specs,
    ipv6_routing_specs,
    ipv6_specs,
    kernels,
    kube_proxies,
    layer_stacks,
    link_specs,
    macs,
    parsed_layers,
    ports,
    seeds,
    tcp_specs,
    transport_specs,
    udp_specs,
    vlan_specs,
    vxlan_specs,
)

__all__ = [
    "LABELLED",
    "LabelledFrame",
    "NatCase",
    "Stack",
    "checksum_modes",
    "clusters",
    "ethernet_specs",
    "frames",
    "geneve_options",
    "geneve_specs",
    "home_address_specs",
    "icmp_specs",
    "icmpv6_specs",
    "ip_headers",
    "ip_stacks",
    "ipv4_addresses",
    "ipv4_specs",
    "ipv6_addresses",
    "ipv6_extensions",
    "ipv6_fragment_specs",
    "ipv6_options_specs",
    "ipv6_routing_specs",
    "ipv6_specs",
    "kernels",
    "kube_proxies",
    "labelled_frames",
    "layer_stacks",
    "link_specs",
    "macs",
    "nat_cases",
    "parsed_layers",
    "ports",
    "seeds",
    "tcp_specs",
    "transport_specs",
    "udp_specs",
    "vlan_specs",
    "vxlan_specs",
]


def frames(
    *,
    plain: bool = False,
    correct: bool = False,
    min_tunnels: int = 0,
    max_tunnels: int = 1,
    v6: bool | None = None,
    transport: _g.Transport | None = None,
    max_payload: int = 32,
) -> st.SearchStrategy[bytes]:
    """Built Ethernet frames: :func:`layer_stacks` (same keywords) through :func:`vxsum.build`."""
    stacks = layer_stacks(
        plain=plain,
        correct=correct,
        min_tunnels=min_tunnels,
        max_tunnels=max_tunnels,
        v6=v6,
        transport=transport,
        max_payload=max_payload,
    )
    return stacks.map(build)


# --- checksum states ------------------------------------------------------------------------


class LabelledFrame(NamedTuple):
    """A frame, the label each checksum field must get (keyed by ``(depth, layer)`` as in
    :class:`~vxsum.verdicts.verdict.Verdict`), the specifications it was built from (what
    hypothesis prints for a failing example), and the context that confirms a cause the
    field's bytes alone cannot name: the ``conntrack -L`` text of the NAT that made a
    ``nat-stale`` field ("" for every other case). Judge it with
    :func:`~vxsum.verdicts.verdict.classify_stream` and that conntrack table (or with
    :func:`~vxsum.verdicts.verdict.classify` when there is none)."""

    data: bytes
    labels: Mapping[tuple[int, str], Label]
    specs: tuple[Spec | bytes, ...]
    conntrack: str = ""


_OWNER = {IPv4Spec: "ipv4", UDPSpec: "udp", TCPSpec: "tcp", ICMPSpec: "icmp", ICMPv6Spec: "icmpv6"}


def _owners(specs: Stack) -> list[tuple[int, int, str]]:
    """(index, depth, layer) of every checksum-bearing specification, outermost first."""
    out, depth = [], -1
    for i, spec in enumerate(specs):
        depth += isinstance(spec, IPv4Spec | IPv6Spec)
        name = _OWNER.get(type(spec))
        if name is not None:
            out.append((i, depth, name))
    return out


def _records(specs: Stack) -> tuple[bytes, dict[int, ChecksumField]]:
    """The built frame and the parser's record for each checksummed specification."""
    data = build(specs)
    owners = _owners(specs)
    recs = parse(data).checksums
    assert len(recs) == len(owners), "every checksummed header gets one record"
    return data, {i: rec for (i, _, _), rec in zip(owners, recs, strict=True)}


def _labelled(specs: Stack, marks: Mapping[int, Label], conntrack: str = "") -> LabelledFrame:
    """Label every field good except the marked ones (by specification index)."""
    labels = {(d, name): marks.get(i, Label.GOOD) for i, d, name in _owners(specs)}
    return LabelledFrame(build(specs), labels, tuple(specs), conntrack)


def _conntrack_line(data: bytes, field: ChecksumField, old_port: int) -> str:
    """The ``conntrack -L`` line of a source-port rewrite of the UDP header whose checksum
    is ``field`` in the frame ``data``, from ``old_port`` to the port it has now."""
    ip, udp = parse(data).headers_at(field.depth)
    assert ip is not None and udp is not None
    src, dst = ipaddress.ip_address(ip.src), ipaddress.ip_address(ip.dst)
    return (
        f"udp      17 29 src={src} dst={dst} sport={old_port} dport={udp.dst_port} "
        f"[UNREPLIED] src={dst} dst={src} sport={udp.dst_port} dport={udp.src_port} "
        "mark=16384 use=1\n"
    )


def _pin(specs: Stack, index: int, **changes: Any) -> Stack:
    out = list(specs)
    item = out[index]
    assert not isinstance(item, bytes)
    out[index] = replace(item, **changes)
    return out


def _last(specs: Stack, cls: type | tuple[type, ...]) -> int:
    return max(i for i, s in enumerate(specs) if isinstance(s, cls))


@st.composite
def _innermost(
    draw: st.DrawFn, v6: bool | None, transport: _g.Transport | None, cls: type | tuple[type, ...]
) -> tuple[Stack, int]:
    """A correct frame (maybe tunnelled) and the index of its innermost ``cls`` header."""
    specs = draw(layer_stacks(correct=True, v6=v6, transport=transport))
    return specs, _last(specs, cls)


@st.composite
def _tunnelled(
    draw: st.DrawFn, v6: bool | None = None, inner: _g.Transport | None = None
) -> tuple[Stack, int]:
    """A correct VXLAN or Geneve frame and the index of its outer UDP header."""
    out: Stack = [*draw(link_specs()), *draw(ip_headers(correct=True, v6=v6))]
    at = len(out)
    if draw(st.booleans()):
        out += [draw(udp_specs(st.just(Checksum.CORRECT), "geneve")), draw(geneve_specs())]
    else:
        out += [draw(udp_specs(st.just(Checksum.CORRECT), "vxlan")), draw(vxlan_specs())]
    out += draw(layer_stacks(correct=True, max_tunnels=0, transport=inner))
    return out, at


def _where(draw: st.DrawFn, v6: bool | None = None) -> tuple[Stack, int]:
    """A UDP field to break: the innermost one, or a tunnel's outer one."""
    if draw(st.booleans()):
        return draw(_tunnelled(v6))
    return draw(_innermost(v6, "udp", UDPSpec))


def _wrong(rec: ChecksumField) -> bool:
    return rec.status == Status.BAD


@st.composite
def _good(draw: st.DrawFn) -> LabelledFrame:
    return _labelled(draw(layer_stacks(correct=True)), {})


@st.composite
def _no_checksum(draw: st.DrawFn) -> LabelledFrame:
    specs, i = _where(draw, v6=False)
    return _labelled(_pin(specs, i, checksum=Checksum.ZERO), {i: Label.NO_CHECKSUM})


@st.composite
def _illegal_zero(draw: st.DrawFn) -> LabelledFrame:
    specs, i = _where(draw, v6=True)
    _, recs = _records(specs)
    assume(recs[i].stored != 0xFFFF)  # else it is a negative zero
    return _labelled(_pin(specs, i, checksum=Checksum.ZERO), {i: Label.ILLEGAL_ZERO})


@st.composite
def _negative_zero(draw: st.DrawFn) -> LabelledFrame:
    """UDP over IPv6 whose data sum to -0 (the checksum is 0, sent as 0xFFFF) with 0 stored."""
    specs, i = draw(_innermost(True, "udp", UDPSpec))
    payload = specs[-1]
    assert isinstance(payload, bytes)
    specs = _pin(specs, i, checksum=Checksum.ZERO)
    specs[-1] = bytes(2) + payload  # a fix-up word right after the UDP header
    data, recs = _records(specs)
    rec = recs[i]
    total = ones_sum(data[rec.span_offset : rec.span_offset + rec.span_length], rec.pseudo_sum)
    specs[-1] = (0xFFFF ^ total).to_bytes(2, "big") + payload
    return _labelled(specs, {i: Label.NEGATIVE_ZERO})


@st.composite
def _offload_seed(draw: st.DrawFn) -> LabelledFrame:
    """The pseudo-header seed (UDP, TCP, ICMPv6), TSO's seed without the length (TCP)
    or 0 in an IPv4 header checksum (header checksum offload)."""
    how = draw(st.sampled_from(["udp", "tcp", "icmpv6", "tso", "ipv4"]))
    if how == "udp":
        specs, i = _where(draw)
    elif how == "ipv4":
        specs, i = draw(_innermost(False, None, IPv4Spec))
    elif how == "icmpv6":
        specs, i = draw(_innermost(True, "icmp", ICMPv6Spec))
    else:
        specs, i = draw(_innermost(None, "tcp", TCPSpec))
    value: Checksum | int = Checksum.ZERO if how == "ipv4" else Checksum.SEED
    if how == "tso":
        rec = _records(specs)[1][i]
        value = ones_add(rec.pseudo_sum, 0xFFFF ^ rec.span_length)
    specs = _pin(specs, i, checksum=value)
    assume(_wrong(_records(specs)[1][i]))  # not right by chance
    return _labelled(specs, {i: Label.OFFLOAD_SEED})


@st.composite
def _outer_broken(draw: st.DrawFn, label: Label) -> LabelledFrame:
    """A tunnel's outer UDP field: LCO, mangled zero or stale, maybe with the inner pending."""
    specs, i = draw(_tunnelled(inner=draw(st.sampled_from(["udp", "tcp"]))))
    pending = label == Label.LCO_PENDING or draw(st.booleans())
    inner = _last(specs, (UDPSpec, TCPSpec))
    data, recs = _records(specs)
    due = recs[i].stored  # right once the inner field is filled (it is, here)
    marks = {i: label}
    if pending:
        specs = _pin(specs, inner, checksum=Checksum.SEED)
        marks[inner] = Label.OFFLOAD_SEED
    conntrack = ""
    if label == Label.LCO_PENDING:
        value = due
    elif label == Label.NAT_ZERO_MANGLED:
        value = 0xFFFF
        assume(due != 0xFFFF)
    else:
        sport = int.from_bytes(data[recs[i].span_offset : recs[i].span_offset + 2], "big")
        old = draw(st.integers(*EPHEMERAL_PORTS).filter(lambda p: p != sport))
        value = update16(due, sport, old)  # right for the port before the rewrite
        # (0 and 0xFFFF are one number: the rewrite back must give exactly ``due``)
        assume(value not in (0, 0xFFFF) and update16(value, old, sport) == due)
        conntrack = _conntrack_line(data, recs[i], old)
    specs = _pin(specs, i, checksum=value)
    recs = _records(specs)[1]
    seeded = value == recs[i].pseudo_sum  # another cause's fingerprint: not this case
    assume(_wrong(recs[i]) and not seeded and _wrong(recs[inner]) == pending)
    return _labelled(specs, marks, conntrack)


def _explained(specs: Stack, i: int, value: int) -> bool:
    """Would ``value`` in field ``i`` be right, or fit some cause's fingerprint? The rules
    (through :func:`~vxsum.verdicts.verdict.classify`) are asked only to reject such a
    draw: a ``corrupt`` case must be damage that no mechanism explains."""
    at = [k for k, _, _ in _owners(specs)].index(i)
    pinned = _pin(specs, i, checksum=value)
    return classify(build(pinned))[at].verdict != Label.CORRUPT


@st.composite
def _corrupt(draw: st.DrawFn) -> LabelledFrame:
    """Any field of a correct frame given a value no mechanism explains."""
    specs, at = (
        draw(_tunnelled()) if draw(st.booleans()) else (draw(layer_stacks(correct=True)), -1)
    )
    _, recs = _records(specs)
    i = at if at >= 0 and draw(st.booleans()) else draw(st.sampled_from(sorted(recs)))
    value = draw(_g.u16.filter(lambda v: not _explained(specs, i, v)))
    specs = _pin(specs, i, checksum=value)
    assume(_wrong(_records(specs)[1][i]))
    return _labelled(specs, {i: Label.CORRUPT})


@st.composite
def _unverifiable(draw: st.DrawFn) -> LabelledFrame:
    """A TCP or ICMP field whose IP length field claims more bytes than the frame holds
    (the IP header checksum stays right: it covers the header only)."""
    icmp = draw(st.booleans())  # TCP first
    owner: tuple[type, ...] = (ICMPSpec, ICMPv6Spec) if icmp else (TCPSpec,)
    specs, i = draw(_innermost(None, "icmp" if icmp else "tcp", owner))
    at = _last(specs[:i], (IPv4Spec, IPv6Spec))
    layer = parse(build(specs)).layers[at]  # one parsed header per specification
    extra = draw(st.integers(1, 64))
    if isinstance(layer, IPv4):
        specs = _pin(specs, at, total_length=layer.total_length + extra)
    else:
        assert isinstance(layer, IPv6)
        specs = _pin(specs, at, payload_length=layer.payload_length + extra)
    return _labelled(specs, {i: Label.UNVERIFIABLE})


_MAKERS: dict[Label, Callable[[], st.SearchStrategy[LabelledFrame]]] = {
    Label.GOOD: _good,
    Label.NO_CHECKSUM: _no_checksum,
    Label.ILLEGAL_ZERO: _illegal_zero,
    Label.OFFLOAD_SEED: _offload_seed,
    Label.LCO_PENDING: partial(_outer_broken, Label.LCO_PENDING),
    Label.NAT_ZERO_MANGLED: partial(_outer_broken, Label.NAT_ZERO_MANGLED),
    Label.NAT_STALE: partial(_outer_broken, Label.NAT_STALE),
    Label.NEGATIVE_ZERO: _negative_zero,
    Label.UNVERIFIABLE: _unverifiable,
    Label.CORRUPT: _corrupt,
}

LABELLED = tuple(_MAKERS)
"""The labels :func:`labelled_frames` makes: all of :class:`~vxsum.verdicts.verdict.Label`."""


def labelled_frames(*labels: Label | str) -> st.SearchStrategy[LabelledFrame]:
    """Frames with one checksum field in a known state, and every field's true label.

    With no ``labels``, any of :data:`LABELLED`; otherwise one of those given. The
    broken field carries the label; every other field is correct (``good``), except
    that ``lco-pending`` needs an inner field holding its seed (``offload-seed``),
    which ``nat-zero-mangled`` and ``nat-stale`` frames have half of the time (the
    real bug's frames, on a sender with local checksum offload). How each is made:

    * ``good``: any stack, every checksum correct;
    * ``no-checksum`` / ``illegal-zero``: 0 in a UDP field over IPv4 / IPv6, the
      innermost UDP header or a VXLAN/Geneve tunnel's outer one;
    * ``offload-seed``: the pseudo-header seed in UDP, TCP or ICMPv6, TSO's seed
      without the length in TCP, or 0 in an IPv4 header checksum;
    * ``lco-pending``: the inner TCP/UDP field holds its seed and the outer UDP field
      the value that is right once it is filled;
    * ``nat-zero-mangled``: 0xFFFF in the outer UDP field where that is wrong;
    * ``nat-stale``: the outer UDP field right for another source port of the
      ephemeral range (RFC 1624 eqn. 3 from the right value), with the conntrack line of
      that rewrite (:attr:`LabelledFrame.conntrack`): one frame alone only fits a rewrite;
    * ``negative-zero``: 0 in a UDP field over IPv6 whose data sum to -0 (a fix-up
      word starts the payload), where 0xFFFF is due;
    * ``unverifiable``: a TCP or ICMP field whose IP length field claims more bytes
      than there are;
    * ``corrupt``: any field, a random value that no rule of
      :mod:`vxsum.verdicts.rules` explains (the rules reject such draws; they never
      choose a label).
    """
    chosen = [Label(x) for x in labels] or list(LABELLED)  # ValueError for a wrong name
    return st.sampled_from(chosen).flatmap(lambda label: _MAKERS[label]())


# --- NAT ----------------------------------------------------------------------------------


class NatCase(NamedTuple):
    """An IPv4 or IPv6 packet and the arguments of one :func:`vxsum.nat_rewrite` call.

    The packet's transport checksum matches ``ip_summed``: correct (or 0 for UDP) for
    ``NONE`` and ``UNNECESSARY``, the seed (or 0 for UDP: the outer VXLAN header of
    the bug) for ``PARTIAL``, which only TCP and UDP get.
    """

    packet: bytes
    manip: Manip
    kernel: Kernel
    ip_summed: IpSummed
    new_addr: bytes | None
    new_port: int | None

    def rewrite(self) -> NatResult:
        """Run :func:`vxsum.nat_rewrite` with these arguments."""
        return nat_rewrite(
            self.packet,
            self.manip,
            kernel=self.kernel,
            ip_summed=self.ip_summed,
            new_addr=self.new_addr,
            new_port=self.new_port,
        )


def nat_cases(
    kernel: st.SearchStrategy[Kernel] | None = None,
    *,
    transport: _g.Transport | None = None,
    manip: Manip | None = None,
    v6: bool | None = None,
) -> st.SearchStrategy[NatCase]:
    """Packets (IPv4 or IPv6 without extension headers; UDP, TCP or ICMP echo) and NAT
    arguments; ``new_addr`` / ``new_port`` are None (keep) or a new value.

    Every keyword pins one choice, None lets it vary: ``kernel`` (a strategy, e.g.
    ``kernels(fixed=False)``), ``transport`` (``"udp"``, ``"tcp"`` or ``"icmp"``),
    ``manip`` (:attr:`Manip.SRC <vxsum.kernel.nat.Manip.SRC>`, SNAT, or ``Manip.DST``) and
    ``v6`` (IPv6 or IPv4).
    """
    if transport not in (None, "udp", "tcp", "icmp"):
        raise ValueError(f"transport must be 'udp', 'tcp' or 'icmp', not {transport!r}")
    if manip is not None and not isinstance(manip, Manip):
        raise TypeError(f"manip must be a Manip (Manip.SRC, Manip.DST), not {manip!r}")
    return _nat_cases(kernel, transport, manip, v6)


@st.composite
def _nat_cases(
    draw: st.DrawFn,
    kernel: st.SearchStrategy[Kernel] | None,
    transport: _g.Transport | None,
    manip: Manip | None,
    v6: bool | None,
) -> NatCase:
    v6 = draw(st.booleans()) if v6 is None else v6
    kind = draw(st.sampled_from(["udp", "tcp", "icmp"])) if transport is None else transport
    states = [IpSummed.NONE, IpSummed.UNNECESSARY]
    state = draw(st.sampled_from(states if kind == "icmp" else [*states, IpSummed.PARTIAL]))
    first = Checksum.SEED if state == IpSummed.PARTIAL else Checksum.CORRECT
    mode = draw(st.sampled_from([first, Checksum.ZERO])) if kind == "udp" else first
    ip: Spec = draw(ipv6_specs()) if v6 else draw(ipv4_specs(plain=True))
    l4: Spec
    if kind == "udp":
        l4 = draw(udp_specs(st.just(mode)))
    elif kind == "tcp":
        l4 = draw(tcp_specs(plain=True, checksum=st.just(mode)))
    else:  # echo request and reply: NAT rewrites their identifier
        rest = draw(st.binary(min_size=4, max_size=4))
        if v6:
            l4 = ICMPv6Spec(type=draw(st.sampled_from([128, 129])), rest=rest)
        else:
            l4 = ICMPSpec(type=draw(st.sampled_from([8, 0])), rest=rest)
    packet = build([ip, l4, draw(st.binary(max_size=32))])
    addresses = ipv6_addresses() if v6 else ipv4_addresses()
    return NatCase(
        packet,
        draw(st.sampled_from([Manip.SRC, Manip.DST])) if manip is None else manip,
        draw(kernel if kernel is not None else kernels()),
        state,
        draw(st.none() | addresses),
        draw(st.none() | ports()),
    )


# --- st.from_type -------------------------------------------------------------------------


@cache
def type_strategies() -> dict[type, st.SearchStrategy[Any]]:
    """The strategy :func:`register_types` registers for each class (built once)."""
    specs: dict[type, st.SearchStrategy[Any]] = {
        EthernetSpec: ethernet_specs(),
        VlanSpec: vlan_specs(),
        IPv4Spec: ipv4_specs(),
        IPv6Spec: ipv6_specs(),
        IPv6OptionsSpec: ipv6_options_specs(),
        IPv6RoutingSpec: ipv6_routing_specs(),
        IPv6FragmentSpec: ipv6_fragment_specs(),
        UDPSpec: udp_specs(),
        TCPSpec: tcp_specs(),
        ICMPSpec: icmp_specs(),
        ICMPv6Spec: icmpv6_specs(),
        VxlanSpec: vxlan_specs(),
        GeneveSpec: geneve_specs(),
    }
    out = dict(specs)
    for layer_cls, spec_cls in _SPEC_OF.items():
        out[layer_cls] = parsed_layers(specs[spec_cls])
    out.update({GeneveOption: geneve_options(), Kernel: kernels(), KubeProxy: kube_proxies()})
    out[Cluster] = clusters()
    return out


def register_types() -> None:
    """Register a strategy for :func:`hypothesis.strategies.from_type` for every
    specification class, the parsed header class each mirrors (built in a minimal frame,
    then parsed), :class:`~vxsum.frames.tunnels.GeneveOption`, and the kernel model's
    :class:`~vxsum.Kernel`, :class:`~vxsum.KubeProxy` and :class:`~vxsum.Cluster`.

    Run when this module is imported (hypothesis's entry point, :mod:`vxsum.testing.hook`,
    registers the same classes beforehand without importing this module, which it imports
    when one of them is first drawn); calling it again changes nothing.
    """
    for cls, strategy in type_strategies().items():
        st.register_type_strategy(cls, strategy)


register_types()
