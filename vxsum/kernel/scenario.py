"""Scenarios: a host process on node A talks to a service whose pod runs on node B.

The path of every packet, as kernel-model.md (sections c, d, f) and
real-kernel-lab.md describe it:

1. the socket emits the inner packet (:mod:`vxsum.kernel.sender`): TCP pending, UDP pending
   only if the route device at send time offloads;
2. kube-proxy's rules, consulted for the *first* packet of a connection only:
   KUBE-MARK-MASQ sets mark 0x4000, DNAT sends the VIP to the pod, and
   KUBE-POSTROUTING masquerades to the VXLAN device's address (``--random-fully``),
   clearing the mark first from PR 92035 on; later packets reuse the bindings;
3. the VXLAN device (``tx-checksum-ip-generic`` on or off) encapsulates
   (:mod:`vxsum.kernel.encap`); the mark survives, the outer packet gets its own conntrack
   entry (UDP, 30 s unreplied timeout) and, when new and marked, pre-92035 rules
   masquerade it a second time: a port-only rewrite (:mod:`vxsum.kernel.nat`);
4. the underlay device fills the pending checksum: in software before the sender's
   tcpdump tap when its offload is off, after the tap (in the NIC) when on, or never
   for a veth, which hands the packet over still pending and trusted;
5. node B checks the outer UDP checksum (UdpInCsumErrors / Udp6InCsumErrors), then
   the inner one (TcpInCsumErrors / UdpInCsumErrors in the pod).

TCP retransmits a lost SYN after 1, 2, 4, 8, 16, 32 s. With ``net.core.txrehash``
the retransmission gets a new flow hash, hence a new outer source port and a new,
unmarked outer conntrack entry: the 1-second delay. Without it every SYN reuses the
NATed outer entry until it expires: the 63-second delay.
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass, field, replace
from typing import TypedDict, Unpack

from ..frames.fields import Status
from ..frames.frame import parse
from .csum import IpSummed
from .encap import ETH_HEADER, udp_flow_src_port, vxlan_encapsulate
from .nat import Manip, nat_rewrite
from .sender import packed, tcp_segment, udp_datagram
from .skb import fill_pending
from .versions import Kernel

__all__ = [
    "SYN_RETRIES",
    "Cluster",
    "ClusterOptions",
    "Fate",
    "KubeProxy",
    "PacketTrace",
    "Scenario",
    "run",
]

MASQ_MARK = 0x4000
UDP_UNREPLIED_TIMEOUT = 30.0
# MASQUERADE --random-fully without a port range: 1024-65535 for ports above 1023
# (nf_nat_l4proto_unique_tuple); the lab saw outer ports such as 2957 and 7713.
MASQ_PORTS = (1024, 65536)
SYN_RETRIES = (0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0)
# PR 92035 (unmark before masquerade) shipped in these patch releases.
_PR92035 = {(1, 16): 13, (1, 17): 9, (1, 18): 6}


@dataclass(frozen=True, slots=True)
class KubeProxy:
    """A kube-proxy release: does it masquerade ``--random-fully``, does it unmark first?"""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> KubeProxy:
        match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
        if match is None:
            raise ValueError(f"not a kube-proxy version: {text!r} (expected e.g. '1.18.5')")
        major, minor, patch = (int(g) if g else 0 for g in match.groups())
        return cls(major, minor, patch)

    @property
    def random_fully(self) -> bool:
        """``--random-fully`` (kubernetes PR 78547, v1.16, where iptables supports it)."""
        return (self.major, self.minor) >= (1, 16)

    @property
    def unmarks_before_masquerade(self) -> bool:
        """PR 92035: v1.16.13, v1.17.9, v1.18.6 and every release from 1.19."""
        if (self.major, self.minor) >= (1, 19):
            return True
        first = _PR92035.get((self.major, self.minor))
        return first is not None and self.patch >= first


class ClusterOptions(TypedDict, total=False):
    """The keyword options of :meth:`Cluster.flannel` and :meth:`Cluster.calico`: the
    fields of :class:`Cluster` after ``kernel`` and ``kube_proxy`` (mypy checks the names
    and types; an unknown name raises TypeError)."""

    vxlan_port: int
    vni: int
    udp_csum: bool | None
    vxlan_tx_csum: bool
    underlay_tx_csum: bool
    underlay_is_veth: bool
    txrehash: bool
    udp_route_offload: bool | None
    node_a: str
    node_b: str
    client: str
    vxlan_a: str
    service: tuple[str, int]
    backend: tuple[str, int]


def _check(options: ClusterOptions, maker: str) -> None:
    unknown = sorted(set(options) - ClusterOptions.__optional_keys__)
    if unknown:
        known = ", ".join(sorted(ClusterOptions.__optional_keys__))
        raise TypeError(f"Cluster.{maker}() got unknown options {unknown} (known: {known})")


def _kernel(kernel: str | Kernel) -> Kernel:
    return kernel if isinstance(kernel, Kernel) else Kernel.parse(kernel)


@dataclass(frozen=True, slots=True)
class Cluster:
    """Two nodes joined by a VXLAN overlay; defaults follow real-kernel-lab.md (flannel)."""

    kernel: Kernel
    kube_proxy: KubeProxy
    vxlan_port: int = 8472  # flannel; calico uses 4789
    vni: int = 1  # flannel; calico uses 4096
    udp_csum: bool | None = None  # None: the kernel's default for a netlink-made device
    vxlan_tx_csum: bool = True  # ethtool -K flannel.1 tx-checksum-ip-generic
    underlay_tx_csum: bool = True
    underlay_is_veth: bool = False  # a veth never fills a pending checksum
    txrehash: bool = True
    udp_route_offload: bool | None = None  # None: the underlay's offload (the VIP route)
    node_a: str = "198.18.0.1"  # underlay addresses: IPv4 or IPv6
    node_b: str = "198.18.0.2"
    client: str = "198.18.0.1"  # the host process's (IPv4) source address on node A
    vxlan_a: str = "100.96.0.0"
    service: tuple[str, int] = ("100.100.0.10", 53)
    backend: tuple[str, int] = ("100.96.1.2", 53)

    @classmethod
    def flannel(
        cls, kernel: str | Kernel, kube_proxy: str, **options: Unpack[ClusterOptions]
    ) -> Cluster:
        """Flannel's ``flannel.1``: port 8472, VNI 1. ``kernel`` is a version string
        (:meth:`Kernel.parse`) or a :class:`Kernel` (``Kernel.parse("4.18.0-305.el8",
        nat_fix=True)``); ``options`` are the other fields (:class:`ClusterOptions`)."""
        _check(options, "flannel")
        return cls(_kernel(kernel), KubeProxy.parse(kube_proxy), **options)

    @classmethod
    def calico(
        cls, kernel: str | Kernel, kube_proxy: str, **options: Unpack[ClusterOptions]
    ) -> Cluster:
        """Calico's ``vxlan.calico``: port 4789, VNI 4096, and Felix's mitigation
        (PR 2811, v3.19): checksum offload off on the VXLAN device for kernels < 5.7,
        unless ``vxlan_tx_csum`` is given."""
        _check(options, "calico")
        k = _kernel(kernel)
        options.setdefault("vxlan_tx_csum", k.series >= (5, 7))
        options.setdefault("vxlan_port", 4789)
        options.setdefault("vni", 4096)
        return cls(k, KubeProxy.parse(kube_proxy), **options)

    @property
    def outer_udp_csum(self) -> bool:
        return self.kernel.vxlan_udp_csum_default if self.udp_csum is None else self.udp_csum


@dataclass(frozen=True, slots=True)
class Fate:
    """What node B did with a packet."""

    delivered: bool
    counter: str | None = None  # the nstat counter that went up when it was dropped
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PacketTrace:
    """One packet at each tap point."""

    time: float
    inner: bytes  # the inner IP packet after kube-proxy's NAT, before encapsulation
    prenat: bytes  # the outer frame before its own NAT (an NFLOG rule in mangle POSTROUTING)
    sender: bytes  # the outer frame as tcpdump on node A's underlay sees it
    wire: bytes  # the outer frame as it arrives at node B
    outer_nat: bool  # was the outer packet masqueraded a second time?
    fate: Fate


@dataclass
class Scenario:
    """The packets of one connection attempt and when (if ever) it got through."""

    cluster: Cluster
    proto: str
    packets: list[PacketTrace] = field(default_factory=list)

    @property
    def delivered_at(self) -> float | None:
        return next((p.time for p in self.packets if p.fate.delivered), None)

    def conntrack(self) -> str:
        """The lines ``conntrack -L`` on node A shows for the outer flows NAT rewrote, one
        per binding: the context that confirms what a second MASQUERADE did."""
        lines: dict[str, None] = {}
        for p in self.packets:
            if p.outer_nat:
                lines[_conntrack_line(p.prenat, p.sender)] = None
        return "".join(lines)


def _conntrack_line(before: bytes, after: bytes) -> str:
    """The conntrack entry of the outer UDP flow of an Ethernet frame NATed from ``before``."""
    v6 = before[12:14] == b"\x86\xdd"
    size, at, l4 = (16, 22, 54) if v6 else (4, 26, 34)
    src0, dst = (ipaddress.ip_address(before[k : k + size]) for k in (at, at + size))
    src1 = ipaddress.ip_address(after[at : at + size])
    sport0, dport = (int.from_bytes(before[k : k + 2], "big") for k in (l4, l4 + 2))
    sport1 = int.from_bytes(after[l4 : l4 + 2], "big")
    return (
        f"udp      17 29 src={src0} dst={dst} sport={sport0} dport={dport} "
        f"[UNREPLIED] src={dst} dst={src1} sport={dport} dport={sport1} mark=16384 use=1\n"
    )


def _receive(frame: bytes, trusted: bool, zero_csum6_rx: bool = False) -> Fate:
    """Node B: outer UDP check, then the inner L4 check (``udp_queue_rcv_one_skb``, TCP/UDP rcv).

    ``zero_csum6_rx`` is the VXLAN device's ``udp6zerocsumrx``: whether a zero outer
    checksum over IPv6 is accepted (RFC 6935/6936); without it the packet is dropped.
    """
    if trusted:
        return Fate(True, reason="arrived CHECKSUM_PARTIAL over veth: trusted, never checked")
    fields = {(f.depth, f.layer): f for f in parse(frame).checksums}
    outer = fields[(0, "udp")]
    v6 = frame[ETH_HEADER] >> 4 == 6
    if outer.status == Status.ILLEGAL_ZERO and not zero_csum6_rx:
        return Fate(False, "Udp6InErrors", "zero UDP checksum over IPv6")
    if outer.status == Status.BAD:
        return Fate(False, "Udp6InCsumErrors" if v6 else "UdpInCsumErrors", "outer UDP checksum")
    inner = fields.get((1, "tcp")) or fields[(1, "udp")]
    if inner.status == Status.BAD:
        counter = "TcpInCsumErrors" if inner.layer == "tcp" else "UdpInCsumErrors"
        return Fate(False, counter, "inner checksum")
    return Fate(True)


def run(cluster: Cluster, proto: str = "tcp", attempts: int = 8, seed: int = 0) -> Scenario:
    """Simulate a connection attempt (TCP SYNs, or UDP requests at the same times).

    ``seed`` drives the random choices the kernel makes (flow hashes, masquerade
    ports); the same seed gives the same packets.
    """
    if proto not in ("tcp", "udp"):
        raise ValueError(f"proto must be 'tcp' or 'udp', not {proto!r}")
    rng = random.Random(seed)
    result = Scenario(cluster, proto)
    k = cluster.kernel
    masq_port = rng.randrange(*MASQ_PORTS)
    flow_hash = rng.getrandbits(32)
    outer_ct: dict[int, tuple[float, int | None]] = {}  # sport -> (last seen, new sport)
    vip, vport = cluster.service
    pod, pod_port = cluster.backend
    for n, t in enumerate(SYN_RETRIES[:attempts]):
        first = n == 0
        if proto == "tcp":
            skb = tcp_segment(cluster.client, vip, 40000, vport, ident=n)
            if n and cluster.txrehash:
                flow_hash = rng.getrandbits(32)  # sk_rethink_txhash on retransmission
        else:
            offload = cluster.udp_route_offload
            skb = udp_datagram(
                cluster.client,
                vip,
                40000,
                vport,
                b"\x12\x34" + bytes(30),
                offload=cluster.underlay_tx_csum if offload is None else offload,
                ident=n,
            )
        # kube-proxy: the nat table sees only a connection's first packet.
        mark = MASQ_MARK if first else 0
        data = nat_rewrite(
            skb.data,
            Manip.DST,
            kernel=k,
            ip_summed=skb.ip_summed,
            new_addr=packed(pod),
            new_port=pod_port,
        ).packet
        if first and cluster.kube_proxy.unmarks_before_masquerade:
            mark = 0
        data = nat_rewrite(
            data,
            Manip.SRC,
            kernel=k,
            ip_summed=skb.ip_summed,
            new_addr=packed(cluster.vxlan_a),
            new_port=masq_port if cluster.kube_proxy.random_fully else None,
        ).packet
        inner = replace(skb, data=data, mark=mark)
        sport = udp_flow_src_port(flow_hash)
        outer = vxlan_encapsulate(
            inner,
            outer_src=cluster.node_a,
            outer_dst=cluster.node_b,
            sport=sport,
            dport=cluster.vxlan_port,
            vni=cluster.vni,
            udp_csum=cluster.outer_udp_csum,
            device_tx_csum=cluster.vxlan_tx_csum,
            ident=n,
        )
        prenat = outer.data
        # The outer packet's own conntrack entry.
        seen = outer_ct.get(sport)
        if seen is None or t - seen[0] > UDP_UNREPLIED_TIMEOUT:
            masq = outer.mark & MASQ_MARK and cluster.kube_proxy.random_fully
            new_sport = rng.randrange(*MASQ_PORTS) if masq else None
        else:
            new_sport = seen[1]
        outer_ct[sport] = (t, new_sport)
        natted = False
        if new_sport is not None:  # the same port by chance is the identity: no manip
            ip = outer.data[ETH_HEADER:]
            done = nat_rewrite(
                ip, Manip.SRC, kernel=k, ip_summed=outer.ip_summed, new_port=new_sport
            )
            natted = done.manipulated
            outer = replace(outer, data=outer.data[:ETH_HEADER] + done.packet)
        if not cluster.underlay_tx_csum:
            outer = fill_pending(outer)  # skb_checksum_help, before the tap
        sender = outer.data
        trusted = cluster.underlay_is_veth and outer.ip_summed == IpSummed.PARTIAL
        wire = sender if cluster.underlay_is_veth else fill_pending(outer).data
        fate = _receive(wire, trusted, zero_csum6_rx=not cluster.outer_udp_csum)
        result.packets.append(PacketTrace(t, data, prenat, sender, wire, natted, fate))
        if fate.delivered:
            break
    return result
