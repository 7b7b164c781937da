"""Compare what the lab captured with what the kernel model predicts, field by field.

For every VXLAN packet node A sent towards the pod, the model rebuilds it from the
parts the kernel chose at random (IP ids, TCP sequence numbers and options, the
masquerade port, the flow hash: read from the capture and from A's conntrack table)
and from the lab's settings alone for everything that decides a checksum: the
socket's checksum state, the VXLAN device's offload, LCO or the outer seed, the
second MASQUERADE (predicted from the kube-proxy rules and the connection's first
packet, then checked against conntrack), and where the pending checksum is filled.
It then compares the outer UDP and inner L4 checksum fields at both taps, node B's
checksum-error counters, and the client's outcome (UDP answers; TCP connect delay).
Finally the classifier, given A's conntrack table, must give every compared field the
cause the lab's settings imply (:func:`true_labels`).
"""

from __future__ import annotations

import itertools
import platform
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..capture.reader import iter_records
from ..core.buffer import checksum, pseudo_header_sum
from ..frames.config import ParseConfig
from ..frames.frame import parse
from ..kernel.conntrack import Conntrack, Tuple
from ..kernel.csum import IpSummed
from ..kernel.encap import vxlan_encapsulate
from ..kernel.nat import Manip, nat_rewrite
from ..kernel.scenario import SYN_RETRIES, _receive
from ..kernel.sender import packed
from ..kernel.skb import Skb, fill_pending
from ..kernel.versions import Kernel
from ..verdicts.labels import Label
from ..verdicts.verdict import Verdict, classify_stream
from .run import NODE_A4, NODE_A6, POD, SNAT_A4, SNAT_A6, LabConfig, LabRun

__all__ = ["MATRIX_SNAT", "MATRIX_V4", "MATRIX_V6", "LabCheck", "check_run", "markdown_table"]

_BOOLS = (True, False)
MATRIX_V4 = [
    LabConfig(udp_csum=u, post_92035=p, vxlan_tx=v, underlay_tx=t)
    for u, p, v, t in itertools.product(_BOOLS, _BOOLS, _BOOLS, _BOOLS)
]
# The lab doc's outer address rewrite: an extra SNAT of the outer packets to a second
# address of node A, with post-92035 rules (table g, "address only").
MATRIX_SNAT = [
    LabConfig(udp_csum=u, post_92035=True, underlay_tx=False, ipv6_underlay=v6, outer_snat=True)
    for u, v6 in itertools.product(_BOOLS, _BOOLS)
]
MATRIX_V6 = [
    LabConfig(udp_csum=u, post_92035=p, vxlan_tx=v, underlay_tx=t, ipv6_underlay=True)
    for u, p, v, t in itertools.product(_BOOLS, _BOOLS, _BOOLS, _BOOLS)
]


@dataclass
class LabCheck:
    """The verdict on one lab run."""

    config: LabConfig
    fields: int = 0  # checksum fields compared (two per packet per tap)
    mismatches: list[str] = field(default_factory=list)
    predicted_counters: Counter[str] = field(default_factory=Counter)
    counters: dict[str, int] = field(default_factory=dict)
    predicted_udp_ok: int = 0
    udp_ok: int = 0
    predicted_tcp: list[str] = field(default_factory=list)
    tcp: list[str] = field(default_factory=list)
    outer_nat: int = 0
    control_segments: int = 0  # TCP ACKs/RSTs checksummed in software (TIME_WAIT, control)
    labelled: int = 0  # fields whose classifier label was checked against the lab's truth
    example: str = ""

    @property
    def agrees(self) -> bool:
        counters_ok = all(
            self.counters.get(name, 0) == self.predicted_counters.get(name, 0)
            for name in ("UdpInCsumErrors", "Udp6InCsumErrors", "TcpInCsumErrors")
        )
        return (
            self.fields > 0
            and self.labelled > 0
            and not self.mismatches
            and counters_ok
            and self.udp_ok == self.predicted_udp_ok
            and sorted(self.tcp) == sorted(self.predicted_tcp)
        )


def _frames(path: Path) -> list[bytes]:
    return [bytes(record.data) for record in iter_records(path)]


@dataclass(frozen=True)
class _Outer:
    frame: bytes
    l4: int  # outer UDP offset
    inner: int  # inner IP offset

    @property
    def sport(self) -> int:
        return int.from_bytes(self.frame[self.l4 : self.l4 + 2], "big")

    def field(self, off: int) -> int:
        return int.from_bytes(self.frame[off : off + 2], "big")

    @property
    def inner_proto(self) -> int:
        return self.frame[self.inner + 9]

    @property
    def inner_check_at(self) -> int:
        return self.inner + 20 + (16 if self.inner_proto == 6 else 6)

    @property
    def flow(self) -> Tuple:
        """The outer (source, destination, ports) as captured."""
        f, v6 = self.frame, self.frame[12:14] == b"\x86\xdd"
        src, dst = (f[22:38], f[38:54]) if v6 else (f[26:30], f[30:34])
        dport = int.from_bytes(f[self.l4 + 2 : self.l4 + 4], "big")
        return Tuple(src, dst, self.sport, dport)

    @property
    def key(self) -> tuple[int, int, bytes]:
        """Identifies a packet at both taps: inner protocol, IP id and L4 ports."""
        i = self.inner
        return self.inner_proto, self.field(i + 4), self.frame[i + 20 : i + 24]


def _outer_packets(frames: list[bytes], cfg: LabConfig) -> list[_Outer]:
    """VXLAN packets from node A to the pod, in capture order."""
    sources = {packed(NODE_A6 if cfg.ipv6_underlay else NODE_A4)}
    if cfg.outer_snat:
        sources.add(packed(SNAT_A6 if cfg.ipv6_underlay else SNAT_A4))
    out = []
    for frame in frames:
        v6 = frame[12:14] == b"\x86\xdd"
        l4 = 14 + (40 if v6 else 20)
        if len(frame) < l4 + 8 + 8 + 14 + 28:
            continue
        outer_src = frame[22:38] if v6 else frame[26:30]
        if (
            outer_src not in sources
            or int.from_bytes(frame[l4 + 2 : l4 + 4], "big") != cfg.vxlan_port
        ):
            continue
        inner = l4 + 8 + 8 + 14
        if frame[inner + 16 : inner + 20] == packed(POD) and frame[inner + 9] in (6, 17):
            out.append(_Outer(frame, l4, inner))
    return out


def _predict(
    pkt: _Outer, cfg: LabConfig, kernel: Kernel, before: Tuple | None, socket: bool = True
) -> Skb:
    """The outer frame as node A's tap should see it, from the lab's settings.

    ``before`` is the outer tuple before NAT (from conntrack), None if NAT left it alone.
    ``socket`` False models a TCP segment sent by the kernel's control socket
    (``tcp_v4_send_ack`` / ``tcp_v4_send_reset`` via ``ip_send_unicast_reply``: the
    ACK of a TIME_WAIT socket, a RST), which is checksummed in software.
    """
    f, i = pkt.frame, pkt.inner
    inner_ip = bytearray(f[i:])
    proto, seg_len = inner_ip[9], len(inner_ip) - 20
    seed = pseudo_header_sum(bytes(inner_ip[12:16]), bytes(inner_ip[16:20]), proto, seg_len)
    # TCP sockets always leave it pending; UDP only if its route device offloads.
    pending = (proto == 6 and socket) or (proto == 17 and cfg.underlay_tx)
    at = 16 if proto == 6 else 6
    if pending:
        inner_ip[20 + at : 22 + at] = seed.to_bytes(2, "big")
        inner = Skb(bytes(inner_ip), IpSummed.PARTIAL, csum_start=20, csum_offset=at)
    else:
        inner_ip[20 + at : 22 + at] = b"\x00\x00"
        value = checksum(bytes(inner_ip[20:]), seed) or (0xFFFF if proto == 17 else 0)
        inner_ip[20 + at : 22 + at] = value.to_bytes(2, "big")
        inner = Skb(bytes(inner_ip), IpSummed.NONE)
    v6 = f[12:14] == b"\x86\xdd"
    src, dst = (f[22:38], f[38:54]) if v6 else (f[26:30], f[30:34])
    outer = vxlan_encapsulate(
        inner,
        outer_src=src if before is None else before.src,
        outer_dst=dst,
        sport=pkt.sport if before is None else before.sport,
        dport=cfg.vxlan_port,
        vni=cfg.vni,
        udp_csum=cfg.udp_csum,
        device_tx_csum=cfg.vxlan_tx,
        ident=0 if v6 else int.from_bytes(f[18:20], "big"),
        inner_macs=(f[i - 14 : i - 8], f[i - 8 : i - 2]),
        outer_macs=(f[0:6], f[6:12]),
    )
    if before is not None:
        ip = nat_rewrite(
            outer.data[14:],
            Manip.SRC,
            kernel=kernel,
            ip_summed=outer.ip_summed,
            new_addr=src,
            new_port=pkt.sport,
        ).packet
        outer = Skb(outer.data[:14] + ip, outer.ip_summed, outer.csum_start, outer.csum_offset)
    return outer if cfg.underlay_tx else fill_pending(outer)


def _is_control_segment(pkt: _Outer) -> bool:
    """A TCP segment without data whose flags are ACK or RST only."""
    if pkt.inner_proto != 6:
        return False
    i = pkt.inner
    total = int.from_bytes(pkt.frame[i + 2 : i + 4], "big")
    header = 20 + (pkt.frame[i + 32] >> 4) * 4
    return total == header and pkt.frame[i + 33] & 0x3F in (0x10, 0x04, 0x14)


def _same_fields(pkt: _Outer, predicted: Skb) -> bool:
    return all(
        pkt.frame[off : off + 2] == predicted.data[off : off + 2]
        for off in (pkt.l4 + 6, pkt.inner_check_at)
    )


def _tcp_outcome(seconds: float | None) -> str:
    if seconds is None:
        return "failed"
    return f"{round(seconds)} s"


def true_labels(cfg: LabConfig, proto: int, nat: bool, socket: bool) -> tuple[Label, Label]:
    """The causes of a packet's outer UDP and inner L4 fields at node A's tap, which the
    lab knows from its settings: (outer label, inner label)."""
    pending = cfg.vxlan_tx and ((proto == 6 and socket) or (proto == 17 and cfg.underlay_tx))
    filled = not cfg.underlay_tx  # software fill before the tap when the veth cannot
    if not cfg.udp_csum:
        outer = Label.NO_CHECKSUM  # this kernel has the NAT fix: a zero field stays zero
    elif pending:
        outer = Label.NAT_STALE if nat else Label.GOOD if filled else Label.LCO_PENDING
    else:
        outer = Label.GOOD if filled else Label.OFFLOAD_SEED
    inner = Label.OFFLOAD_SEED if pending and not filled else Label.GOOD
    return outer, inner


def _check_labels(
    check: LabCheck, pkt: _Outer, cfg: LabConfig, nat: bool, socket: bool, ct: Conntrack
) -> Verdict:
    """The classifier, given A's conntrack table, must find each field's true cause;
    returns its verdict on the outer UDP field."""
    # udp6zerocsumtx/rx: the VXLAN port is one where a zero IPv6 UDP checksum is allowed.
    zero_ok = frozenset({cfg.vxlan_port}) if not cfg.udp_csum else frozenset()
    config = ParseConfig(ipv6_zero_checksum_ports=zero_ok)
    (verdicts,), _ = classify_stream([parse(pkt.frame, config=config)], conntrack=ct)
    by_field = {(v.depth, v.layer): v for v in verdicts}
    got = {key: v.verdict for key, v in by_field.items()}
    want_outer, want_inner = true_labels(cfg, pkt.inner_proto, nat, socket)
    inner_layer = "tcp" if pkt.inner_proto == 6 else "udp"
    for key, want in (((0, "udp"), want_outer), ((1, inner_layer), want_inner)):
        check.labelled += 1
        if got.get(key) != want:
            check.mismatches.append(
                f"classifier: {key} of {pkt.key} is {got.get(key)}, truly {want}"
            )
    return by_field[(0, "udp")]


def check_run(run: LabRun, kernel: Kernel | None = None) -> LabCheck:
    """Compare one lab run with the model; see the module docstring."""
    cfg = run.config
    kernel = kernel or Kernel.parse(platform.release())
    check = LabCheck(cfg, counters=run.counters_b, udp_ok=run.udp_ok)
    check.tcp = [_tcp_outcome(t) for t in run.tcp_times]
    at_a = _outer_packets(_frames(run.capture_a), cfg)
    at_b = {p.key: p for p in _outer_packets(_frames(run.capture_b), cfg)}
    conntrack = Conntrack.parse(run.conntrack_a)
    seen_inner: set[tuple[int, bytes]] = set()
    outer_nat: dict[int, bool] = {}  # captured outer sport -> predicted NAT
    syns: dict[bytes, list[tuple[int, bool]]] = {}  # TCP connection -> (sport, delivered)
    for pkt in at_a:
        inner_flow = (pkt.inner_proto, pkt.frame[pkt.inner + 20 : pkt.inner + 22])
        first_of_connection = inner_flow not in seen_inner
        seen_inner.add(inner_flow)
        if pkt.sport not in outer_nat:  # a new outer conntrack entry: the nat table decides
            # The extra SNAT rule comes first in POSTROUTING and rewrites every outer packet;
            # otherwise kube-proxy's mark decides (a connection's first packet, before 92035).
            outer_nat[pkt.sport] = cfg.outer_snat or (first_of_connection and not cfg.post_92035)
        nat = outer_nat[pkt.sport]
        before = conntrack.before_nat("udp", pkt.flow)
        if nat != (before is not None):
            check.mismatches.append(
                f"outer sport {pkt.sport}: NAT predicted {nat}, conntrack says {not nat}"
            )
            continue
        check.outer_nat += nat
        predicted = _predict(pkt, cfg, kernel, before)
        socket = True
        if _is_control_segment(pkt) and not _same_fields(pkt, predicted):
            # A pure ACK or a RST may come from a TIME_WAIT or the control socket,
            # whichever state the connection had reached: a race the model cannot see.
            alternative = _predict(pkt, cfg, kernel, before, socket=False)
            if _same_fields(pkt, alternative):
                predicted, socket = alternative, False
                check.control_segments += 1
        outer = _check_labels(check, pkt, cfg, nat, socket, conntrack)
        trusted = cfg.underlay_tx and predicted.ip_summed == IpSummed.PARTIAL
        fate = _receive(predicted.data, trusted, zero_csum6_rx=not cfg.udp_csum)
        if fate.counter:
            check.predicted_counters[fate.counter] += 1
        if pkt.inner_proto == 17:
            check.predicted_udp_ok += fate.delivered
        elif pkt.frame[pkt.inner + 33] & 0x02:  # a SYN
            syns.setdefault(inner_flow[1], []).append((pkt.sport, fate.delivered))
        for tap, got in (("A", pkt), ("B", at_b.get(pkt.key))):
            if got is None:
                check.mismatches.append(f"packet {pkt.key} missing at node B's tap")
                continue
            for name, off in (("outer UDP", pkt.l4 + 6), ("inner L4", pkt.inner_check_at)):
                check.fields += 1
                want = int.from_bytes(predicted.data[off : off + 2], "big")
                if got.field(off) != want:
                    check.mismatches.append(
                        f"{tap} {name} of {pkt.key}: captured 0x{got.field(off):04x}, "
                        f"predicted 0x{want:04x}"
                    )
        due = outer.expected
        if not check.example and nat and due is not None and outer.value not in (0, due):
            check.example = f"0x{outer.value:04x} -> 0x{due:04x}"
    for tries in syns.values():  # a SYN every second at first; rehash decides the sport
        delivered = [SYN_RETRIES[k] for k, (_, ok) in enumerate(tries) if ok]
        in_time = delivered and delivered[0] < cfg.tcp_timeout
        check.predicted_tcp.append(f"{delivered[0]:.0f} s" if in_time else "failed")
        if len(tries) > 1 and run.txrehash and tries[0][0] == tries[1][0]:
            check.mismatches.append("retransmitted SYN kept its outer port despite txrehash")
    return check


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def markdown_table(checks: list[LabCheck]) -> str:
    """The lab matrix as a markdown table: predicted vs captured, delivered vs dropped."""
    rows = [
        "| underlay | udpcsum | kube-proxy | flannel.1 tx | veth tx | fields | labels | mismatches "
        "| outer NAT | B: Udp(6)InCsumErrors pred/seen | TcpInCsumErrors | UDP answers "
        "| TCP connects (pred / seen) | a bad outer field |",
        "|" + "---|" * 14,
    ]
    for c in checks:
        cfg = c.config
        udp_err = "Udp6InCsumErrors" if cfg.ipv6_underlay else "UdpInCsumErrors"
        pred, seen = c.predicted_counters, c.counters
        cells = [
            ("IPv6" if cfg.ipv6_underlay else "IPv4") + (" + outer SNAT" if cfg.outer_snat else ""),
            _on(cfg.udp_csum),
            f"{'post' if cfg.post_92035 else 'pre'}-92035",
            _on(cfg.vxlan_tx),
            _on(cfg.underlay_tx),
            str(c.fields),
            str(c.labelled),
            str(len(c.mismatches)),
            str(c.outer_nat),
            f"{pred.get(udp_err, 0)}/{seen.get(udp_err, 0)}",
            f"{pred.get('TcpInCsumErrors', 0)}/{seen.get('TcpInCsumErrors', 0)}",
            f"{c.predicted_udp_ok}/{c.udp_ok}",
            f"{', '.join(sorted(c.predicted_tcp))} / {', '.join(sorted(c.tcp))}",
            c.example or "-",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
