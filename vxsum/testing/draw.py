"""The private half of :mod:`vxsum.testing.strategies`: values, layers, stacks, the kernel model.

:mod:`vxsum.testing.strategies` re-exports everything public here and documents it; this
module holds how each thing is drawn. Every choice lists its simplest option first,
so that a failing example shrinks to IPv4, UDP, no tunnel, no VLAN, no options,
correct checksums and documentation addresses.

``plain`` stacks keep to what other parsers (dpkt, scapy) read the same way: RFC 8200
order of extension headers, no routing header, well-known options, VXLAN and Geneve
only (no IP-in-IP), correct checksums. Other stacks vary every field the builder
writes, IPv4 and TCP options as arbitrary 4-byte words included.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import partial
from typing import Any, Literal, TypeAlias, TypeVar, overload

from hypothesis import strategies as st

from ..frames.builder import (
    _SPEC_OF,
    Checksum,
    ChecksumMode,
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
from ..frames.config import DEFAULT_CONFIG, TUNNEL_PORT_FIELDS
from ..frames.frame import parse
from ..frames.layer import Layer
from ..frames.tunnels import GeneveOption
from ..kernel.scenario import Cluster, KubeProxy
from ..kernel.versions import Kernel

Stack: TypeAlias = "list[Spec | bytes]"
"""Layer specifications outermost first, ending with the payload bytes."""
Transport = Literal["udp", "tcp", "icmp"]
T = TypeVar("T")

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
_b4, _b16 = (st.binary(min_size=n, max_size=n) for n in (4, 16))

TUNNEL_PORTS = frozenset().union(*(getattr(DEFAULT_CONFIG, name) for name in TUNNEL_PORT_FIELDS))
"""UDP ports the default :class:`~vxsum.frames.config.ParseConfig` reads as tunnels."""

_DOC_V4 = ("192.0.2.1", "192.0.2.2", "198.51.100.7", "203.0.113.9")  # RFC 5737
_DOC_V6 = ("2001:db8::1", "2001:db8::2", "2001:db8:0:1::7", "fe80::1")  # RFC 3849


@overload
def ipv4_addresses(text: Literal[False] = False) -> st.SearchStrategy[bytes]: ...
@overload
def ipv4_addresses(text: Literal[True]) -> st.SearchStrategy[str]: ...
def ipv4_addresses(text: bool = False) -> st.SearchStrategy[bytes] | st.SearchStrategy[str]:
    """IPv4 addresses, packed (4 bytes, as specifications and parsed headers hold them)
    or as text; documentation addresses (RFC 5737) first, then any 4 bytes."""
    packed = st.sampled_from([ipaddress.IPv4Address(a).packed for a in _DOC_V4]) | _b4
    return packed.map(lambda b: str(ipaddress.IPv4Address(b))) if text else packed


@overload
def ipv6_addresses(text: Literal[False] = False) -> st.SearchStrategy[bytes]: ...
@overload
def ipv6_addresses(text: Literal[True]) -> st.SearchStrategy[str]: ...
def ipv6_addresses(text: bool = False) -> st.SearchStrategy[bytes] | st.SearchStrategy[str]:
    """IPv6 addresses, packed (16 bytes) or as compressed text; RFC 3849 ones first."""
    packed = st.sampled_from([ipaddress.IPv6Address(a).packed for a in _DOC_V6]) | _b16
    return packed.map(lambda b: str(ipaddress.IPv6Address(b))) if text else packed


def macs() -> st.SearchStrategy[bytes]:
    """MAC addresses as 6 bytes: the builder's locally administered defaults first."""
    return st.sampled_from([b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"]) | (
        st.binary(min_size=6, max_size=6)
    )


def ports(tunnels: bool = False) -> st.SearchStrategy[int]:
    """UDP/TCP ports; without ``tunnels``, none the parser would read as a tunnel
    (VXLAN, Geneve, ...), so that a payload stays a payload."""
    if tunnels:
        return u16
    return u16.filter(lambda p: p not in TUNNEL_PORTS)


def checksum_modes(seed: bool = True) -> st.SearchStrategy[ChecksumMode]:
    """:class:`~vxsum.frames.builder.Checksum` modes: correct first, then zero, the seed (where
    the header has a pseudo-header: ``seed``), or any 16-bit value pinned."""
    named = [Checksum.ZERO, Checksum.SEED] if seed else [Checksum.ZERO]
    return st.one_of(st.just(Checksum.CORRECT), st.sampled_from(named), u16)


def _words(max_words: int) -> st.SearchStrategy[bytes]:
    """Option bytes already padded to 4-byte words (the builder would pad them anyway)."""
    return st.integers(0, max_words).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))


def _aligned(options: list[tuple[int, bytes]]) -> tuple[tuple[int, bytes], ...]:
    """IPv6 TLVs padded with Pad1/PadN to 8n - 2 bytes, as the parser will list them."""
    size = sum(1 if t == 0 else 2 + len(d) for t, d in options)
    need = -(size + 2) % 8
    pad = [(0, b"")] if need == 1 else [(1, bytes(need - 2))] if need else []
    return (*options, *pad)


def _defaults_first(
    cls: Callable[..., T], full: st.SearchStrategy[T], **kept: st.SearchStrategy[Any]
) -> st.SearchStrategy[T]:
    """The class's defaults (only ``kept`` fields drawn), then ``full``: a failing
    example shrinks to a default header, which reads best and takes the fewest choices
    (hypothesis prefers shorter choice sequences over earlier branches)."""
    return st.builds(cls, **kept) | full


# --- one layer ----------------------------------------------------------------------------


def ethernet_specs() -> st.SearchStrategy[EthernetSpec]:
    """Ethernet II headers; the EtherType is left to the builder."""
    return st.just(EthernetSpec()) | st.builds(EthernetSpec, dst=macs(), src=macs())


def vlan_specs(tpid: int | None = None) -> st.SearchStrategy[VlanSpec]:
    """802.1Q tags (or 802.1ad with ``tpid=0x88A8``; None draws either, 802.1Q first)."""
    tpids = st.just(tpid) if tpid is not None else st.sampled_from([0x8100, 0x88A8])
    bits = st.integers
    full = st.builds(VlanSpec, tpid=tpids, pcp=bits(0, 7), dei=bits(0, 1), vid=bits(0, 0xFFF))
    return st.builds(VlanSpec, tpid=tpids) | full


def ipv4_specs(
    plain: bool = False, checksum: st.SearchStrategy[ChecksumMode] | None = None
) -> st.SearchStrategy[IPv4Spec]:
    """IPv4 headers with derived lengths and protocol; ``plain`` ones carry only a
    router alert or NOPs as options, the others any option words (up to 40 bytes)."""
    options = (
        st.sampled_from(["", "94040000", "01010100"]).map(bytes.fromhex) if plain else _words(10)
    )
    if checksum is None:
        checksum = st.just(Checksum.CORRECT) if plain else checksum_modes(seed=False)
    return _defaults_first(
        IPv4Spec,
        st.builds(
            IPv4Spec,
            src=ipv4_addresses(),
            dst=ipv4_addresses(),
            tos=u8,
            identification=u16,
            flags=st.sampled_from([0, 2]),
            ttl=u8,
            options=options,
            checksum=checksum,
        ),
        checksum=checksum,
    )


def ipv6_specs() -> st.SearchStrategy[IPv6Spec]:
    """IPv6 fixed headers with derived payload length and next header."""
    return _defaults_first(
        IPv6Spec,
        st.builds(
            IPv6Spec,
            src=ipv6_addresses(),
            dst=ipv6_addresses(),
            traffic_class=u8,
            flow_label=st.integers(0, 0xFFFFF),
            hop_limit=u8,
        ),
    )


@st.composite
def ipv6_options_specs(
    draw: st.DrawFn, kind: int | None = None, plain: bool = False
) -> IPv6OptionsSpec:
    """Hop-by-hop (``kind`` 0) or destination options (60) headers, padded as parsed.

    No jumbo payload (0xC2) or home address (0xC9) option by accident: both change
    what the checksums cover. ``plain`` headers hold at most a router alert.
    """
    if kind is None:
        kind = draw(st.sampled_from([0, 60]))
    if plain:
        opts = [(5, b"\0\0")] if draw(st.booleans()) else []
    else:
        tlv = st.tuples(
            st.integers(1, 0xFF).filter(lambda t: t not in (0xC2, 0xC9)), st.binary(max_size=6)
        )
        opts = draw(st.lists(st.just((0, b"")) | tlv, max_size=3))
    return IPv6OptionsSpec(kind=kind, options=_aligned(opts))


def home_address_specs() -> st.SearchStrategy[IPv6OptionsSpec]:
    """Destination options with a Home Address option (RFC 6275): the pseudo-header's
    source becomes that address."""
    return ipv6_addresses().map(lambda a: IPv6OptionsSpec(kind=60, options=_aligned([(0xC9, a)])))


@st.composite
def ipv6_routing_specs(draw: st.DrawFn) -> IPv6RoutingSpec:
    """Routing headers of type 0, 2 or 4 (segment routing) with 1 to 3 addresses; the
    last one is the pseudo-header's destination (RFC 8200 section 8.1)."""
    addrs = draw(st.lists(ipv6_addresses(), min_size=1, max_size=3))
    return IPv6RoutingSpec(
        routing_type=draw(st.sampled_from([0, 2, 4])),
        addresses=tuple(addrs),
        segments_left=draw(st.none() | st.integers(0, len(addrs))),
    )


def ipv6_fragment_specs() -> st.SearchStrategy[IPv6FragmentSpec]:
    """Atomic fragment headers (RFC 6946): no offset, no M flag, so nothing is missing."""
    return _defaults_first(
        IPv6FragmentSpec,
        st.builds(
            IPv6FragmentSpec, reserved=u8, flags=st.sampled_from([0, 2, 4, 6]), identification=u32
        ),
    )


@st.composite
def ipv6_extensions(draw: st.DrawFn, plain: bool = False) -> list[Spec]:
    """Up to three extension headers; ``plain`` ones in RFC 8200 section 4.1 order
    (which dpkt needs) and without routing or home address headers."""
    kinds = ["hop", "dst", "frag"] if plain else ["hop", "frag", "dst", "routing", "hao"]
    chosen = draw(st.lists(st.sampled_from(kinds), max_size=3))
    if plain:
        chosen = sorted(set(chosen), key=kinds.index)
    out: list[Spec] = []
    for kind in chosen:
        if kind in ("hop", "dst"):
            out.append(draw(ipv6_options_specs(0 if kind == "hop" else 60, plain)))
        elif kind == "hao":
            out.append(draw(home_address_specs()))
        elif kind == "frag":
            out.append(draw(ipv6_fragment_specs()))
        else:
            out.append(draw(ipv6_routing_specs()))
    return out


def udp_specs(
    checksum: st.SearchStrategy[ChecksumMode] | None = None,
    tunnel: Literal["vxlan", "geneve", "vxlan-iana"] | None = None,
) -> st.SearchStrategy[UDPSpec]:
    """UDP headers; a ``tunnel`` one leaves the destination port to the builder (the
    IANA port of the VXLAN or Geneve header after it) or, for ``"vxlan"``, may pick
    flannel's 8472 (``"vxlan-iana"``: 4789 only)."""
    dst: st.SearchStrategy[int | None] = ports()
    if tunnel is not None:
        dst = st.sampled_from([None, 8472]) if tunnel == "vxlan" else st.none()
    checksum = checksum if checksum is not None else checksum_modes()
    return _defaults_first(
        UDPSpec,
        st.builds(
            UDPSpec,
            src_port=ports(),
            dst_port=dst,
            checksum=checksum,
        ),
        checksum=checksum,
    )


def tcp_specs(
    plain: bool = False, checksum: st.SearchStrategy[ChecksumMode] | None = None
) -> st.SearchStrategy[TCPSpec]:
    """TCP headers; ``plain`` ones carry no options, an MSS or NOP NOP window scale."""
    options = (
        st.sampled_from(["", "020405b4", "01010402"]).map(bytes.fromhex) if plain else _words(10)
    )
    checksum = checksum if checksum is not None else checksum_modes()
    return _defaults_first(
        TCPSpec,
        st.builds(
            TCPSpec,
            src_port=ports(),
            dst_port=ports(),
            seq=u32,
            ack=u32,
            flags=st.integers(0, 0xFFF),
            window=u16,
            urgent=u16,
            options=options,
            checksum=checksum,
        ),
        checksum=checksum,
    )


def icmp_specs(
    plain: bool = False, checksum: st.SearchStrategy[ChecksumMode] | None = None
) -> st.SearchStrategy[ICMPSpec]:
    """ICMP messages that are not errors (echo reply and request first), so nothing
    after them is read as a quoted packet."""
    types = [0, 8] if plain else [0, 8, 13, 14, 17]
    checksum = checksum if checksum is not None else checksum_modes(seed=False)
    return _defaults_first(
        ICMPSpec,
        st.builds(
            ICMPSpec,
            type=st.sampled_from(types),
            code=u8,
            rest=_b4,
            checksum=checksum,
        ),
        checksum=checksum,
    )


def icmpv6_specs(
    plain: bool = False, checksum: st.SearchStrategy[ChecksumMode] | None = None
) -> st.SearchStrategy[ICMPv6Spec]:
    """ICMPv6 messages that are not errors (echo request and reply first)."""
    types = [128, 129] if plain else [128, 129, 130, 200]
    checksum = checksum if checksum is not None else checksum_modes()
    return _defaults_first(
        ICMPv6Spec,
        st.builds(
            ICMPv6Spec,
            type=st.sampled_from(types),
            code=u8,
            rest=_b4,
            checksum=checksum,
        ),
        checksum=checksum,
    )


def vxlan_specs(plain: bool = False) -> st.SearchStrategy[VxlanSpec]:
    """VXLAN headers; ``plain`` ones have only the I flag set."""
    flags = st.just(0x08) if plain else st.just(0x08) | u8
    return st.just(VxlanSpec()) | st.builds(VxlanSpec, flags=flags, vni=st.integers(0, 0xFFFFFF))


def geneve_options() -> st.SearchStrategy[GeneveOption]:
    """Geneve TLV options with up to 8 bytes of data."""
    return st.builds(
        GeneveOption, option_class=u16, type=u8, flags=st.integers(0, 7), data=_words(2)
    )


def geneve_specs() -> st.SearchStrategy[GeneveSpec]:
    """Geneve headers (carrying Ethernet) with up to two options."""
    return _defaults_first(
        GeneveSpec,
        st.builds(
            GeneveSpec,
            oam=st.booleans(),
            critical=st.booleans(),
            vni=st.integers(0, 0xFFFFFF),
            options=st.lists(geneve_options(), max_size=2).map(tuple),
        ),
    )


# --- stacks ---------------------------------------------------------------------------------


@st.composite
def link_specs(draw: st.DrawFn) -> list[Spec]:
    """Ethernet and up to two VLAN tags (802.1ad then 802.1Q for QinQ)."""
    out: list[Spec] = [draw(ethernet_specs())]
    for tpid in draw(st.sampled_from([[], [0x8100], [0x88A8, 0x8100]])):
        out.append(draw(vlan_specs(tpid)))
    return out


@st.composite
def ip_headers(
    draw: st.DrawFn, plain: bool = False, correct: bool = False, v6: bool | None = None
) -> list[Spec]:
    """An IPv4 header, or an IPv6 header with its extension headers (IPv4 first)."""
    if v6 is None:
        v6 = draw(st.booleans())
    if v6:
        return [draw(ipv6_specs()), *draw(ipv6_extensions(plain))]
    return [draw(ipv4_specs(plain, st.just(Checksum.CORRECT) if correct else None))]


@st.composite
def transport_specs(
    draw: st.DrawFn,
    v6: bool,
    plain: bool = False,
    correct: bool = False,
    kind: Transport | None = None,
) -> Spec:
    """A UDP, TCP or ICMP (ICMPv6 over IPv6) header."""
    fixed = st.just(Checksum.CORRECT) if plain or correct else None
    if kind is None:
        kind = draw(st.sampled_from(["udp", "tcp", "icmp"]))
    if kind == "udp":
        return draw(udp_specs(fixed))
    if kind == "tcp":
        return draw(tcp_specs(plain, fixed))
    if v6:
        return draw(icmpv6_specs(plain, fixed))
    return draw(icmp_specs(plain, fixed))


@st.composite
def ip_stacks(
    draw: st.DrawFn,
    *,
    plain: bool = False,
    correct: bool = False,
    min_tunnels: int = 0,
    max_tunnels: int = 1,
    v6: bool | None = None,
    transport: Transport | None = None,
    max_payload: int = 32,
) -> Stack:
    """An IP packet (from its IP header) with a transport, a payload and maybe tunnels.

    Between ``min_tunnels`` and ``max_tunnels`` tunnels nest: VXLAN or Geneve in UDP
    carrying an Ethernet frame, or (unless ``plain``) IP in IP. ``v6`` and
    ``transport`` pin the innermost packet; ``correct`` makes every checksum correct
    (``plain`` implies it).
    """
    tunnel = min_tunnels > 0 or (max_tunnels > 0 and draw(st.booleans()))
    if not tunnel:
        inner_v6 = draw(st.booleans()) if v6 is None else v6
        out = draw(ip_headers(plain, correct, inner_v6))
        out.append(draw(transport_specs(inner_v6, plain, correct, transport)))
        return [*out, draw(st.binary(max_size=max_payload))]
    out = draw(ip_headers(plain, correct))
    kind = draw(st.sampled_from(["vxlan", "geneve"] if plain else ["vxlan", "geneve", "ipip"]))
    inner = (ip_stacks if kind == "ipip" else layer_stacks)(
        plain=plain,
        correct=correct,
        min_tunnels=max(min_tunnels - 1, 0),
        max_tunnels=max_tunnels - 1,
        v6=v6,
        transport=transport,
        max_payload=max_payload,
    )
    if kind != "ipip":
        fixed = st.just(Checksum.CORRECT) if plain or correct else None
        if kind == "vxlan":
            out.append(draw(udp_specs(fixed, tunnel="vxlan-iana" if plain else "vxlan")))
            out.append(draw(vxlan_specs(plain)))
        else:
            out.append(draw(udp_specs(fixed, tunnel="geneve")))
            out.append(draw(geneve_specs()))
    return out + draw(inner)


@st.composite
def layer_stacks(
    draw: st.DrawFn,
    *,
    plain: bool = False,
    correct: bool = False,
    min_tunnels: int = 0,
    max_tunnels: int = 1,
    v6: bool | None = None,
    transport: Transport | None = None,
    max_payload: int = 32,
) -> Stack:
    """An Ethernet frame's specifications: Ethernet, VLAN tags, then :func:`ip_stacks`."""
    ip = ip_stacks(
        plain=plain,
        correct=correct,
        min_tunnels=min_tunnels,
        max_tunnels=max_tunnels,
        v6=v6,
        transport=transport,
        max_payload=max_payload,
    )
    return [*draw(link_specs()), *draw(ip)]


# --- parsed headers ---------------------------------------------------------------------------

_IP4: Stack = [EthernetSpec(), IPv4Spec()]
_IP6: Stack = [EthernetSpec(), IPv6Spec()]
_INNER: Stack = [EthernetSpec(), IPv4Spec(), UDPSpec(), b""]
_CONTEXT: dict[type, tuple[Stack, Stack]] = {
    EthernetSpec: ([], _INNER[1:]),
    VlanSpec: ([EthernetSpec()], _INNER[1:]),
    IPv4Spec: ([EthernetSpec()], _INNER[2:]),
    IPv6Spec: ([EthernetSpec()], _INNER[2:]),
    IPv6OptionsSpec: (_IP6, _INNER[2:]),
    IPv6RoutingSpec: (_IP6, _INNER[2:]),
    IPv6FragmentSpec: (_IP6, _INNER[2:]),
    UDPSpec: (_IP4, [b"data"]),
    TCPSpec: (_IP4, [b"data"]),
    ICMPSpec: (_IP4, [b"data"]),
    ICMPv6Spec: (_IP6, [b"data"]),
    VxlanSpec: ([*_IP4, UDPSpec()], _INNER),
    GeneveSpec: ([*_IP4, UDPSpec()], _INNER),
}
"""Specifications around each kind of header, so that the parser reads it as such."""


def _parsed(cls: type[Layer], spec: Spec) -> Layer:
    before, after = _CONTEXT[type(spec)]
    layers = parse(build([*before, spec, *after])).layers
    return next(layer for layer in layers if type(layer) is cls)


def parsed_layers(specs: st.SearchStrategy[Spec]) -> st.SearchStrategy[Layer]:
    """Parsed headers: each specification built in a minimal frame, then parsed."""

    def parse_one(spec: Spec) -> Layer:
        layer_cls = next(c for c, s in _SPEC_OF.items() if s is type(spec))
        return _parsed(layer_cls, spec)

    return specs.map(parse_one)


# --- the kernel model ---------------------------------------------------------------------

# (series, first fixed patch or None when the series never got the fix, last patch seen)
_SERIES = [
    ((5, 4), 41, 300),
    ((4, 19), 123, 325),
    ((4, 14), 181, 336),
    ((5, 6), 13, 19),
    ((5, 5), None, 19),
    ((5, 3), None, 18),
    ((4, 18), None, 20),
    ((3, 10), None, 0),
]


@st.composite
def kernels(draw: st.DrawFn, fixed: bool | None = None) -> Kernel:
    """Linux releases; ``fixed`` picks those with (True) or without (False) the NAT fix."""
    choices: list[st.SearchStrategy[Kernel]] = []
    for (major, minor), first_fixed, last in _SERIES:
        if fixed is not True:
            top = (first_fixed - 1) if first_fixed is not None else last
            choices.append(st.integers(0, top).map(partial(Kernel, major, minor)))
        if fixed is not False and first_fixed is not None:
            choices.append(st.integers(first_fixed, last).map(partial(Kernel, major, minor)))
    if fixed is not False:
        choices.append(st.builds(Kernel, st.integers(5, 6), st.integers(7, 18), st.integers(0, 99)))
    kernel = draw(st.one_of(choices))
    assert fixed is None or kernel.nat_skips_zero_udp_checksum is fixed
    return kernel


@st.composite
def kube_proxies(draw: st.DrawFn, unmarks: bool | None = None) -> KubeProxy:
    """kube-proxy releases with ``--random-fully``; ``unmarks`` picks PR 92035's side."""
    if unmarks is None:
        unmarks = draw(st.booleans())
    if unmarks:
        return draw(
            st.one_of(
                st.builds(KubeProxy, st.just(1), st.just(16), st.integers(13, 15)),
                st.builds(KubeProxy, st.just(1), st.just(17), st.integers(9, 17)),
                st.builds(KubeProxy, st.just(1), st.just(18), st.integers(6, 20)),
                st.builds(KubeProxy, st.just(1), st.integers(19, 34), st.integers(0, 12)),
            )
        )
    return draw(
        st.one_of(
            st.builds(KubeProxy, st.just(1), st.just(18), st.integers(0, 5)),
            st.builds(KubeProxy, st.just(1), st.just(17), st.integers(0, 8)),
            st.builds(KubeProxy, st.just(1), st.just(16), st.integers(0, 12)),
        )
    )


def seeds() -> st.SearchStrategy[int]:
    """Seeds for the kernel's random choices in :func:`vxsum.kernel.scenario.run`."""
    return st.integers(0, 2**32 - 1)


@st.composite
def clusters(
    draw: st.DrawFn,
    *,
    kernel: st.SearchStrategy[Kernel] | None = None,
    udp_csum: bool | None = None,
    unmarks: bool | None = None,
    vxlan_tx: bool | None = None,
    underlay_tx: bool | None = None,
    veth: bool | None = None,
    calico: bool | None = None,
) -> Cluster:
    """Cluster configurations; every keyword pins one setting, None lets it vary."""

    def pick(value: bool | None) -> bool:
        return draw(st.booleans()) if value is None else value

    port, vni = (4789, 4096) if pick(calico) else (8472, 1)
    return Cluster(
        kernel=draw(kernel if kernel is not None else kernels()),
        kube_proxy=draw(kube_proxies(unmarks)),
        vxlan_port=port,
        vni=vni,
        udp_csum=pick(udp_csum),
        vxlan_tx_csum=pick(vxlan_tx),
        underlay_tx_csum=pick(underlay_tx),
        underlay_is_veth=pick(veth),
        txrehash=draw(st.booleans()),
    )
