"""Evidence across packets, and what a whole capture says about the cluster it came from.

:func:`classify_stream` classifies frames one by one (:mod:`vxsum.verdicts.verdict`), then
uses flow state: a ``nat-stale`` field implies the source port the outer packet had
before NAT rewrote it, and for a VXLAN flow that port comes from the inner flow's hash,
so every packet of one outer flow must imply the *same* port. Two or more packets that
agree make the explanation "confirmed"; packets that disagree are not stale after all
and become ``corrupt``. NAT rewrites every packet of a flow alike, so right non-zero
checksums in the same outer flow leave it "not confirmed". A single packet stays
"consistent with".

:class:`Diagnosis` then names the mechanisms seen, what each points to (kernel before or
after the NAT fix, kube-proxy before or after PR 92035, the VXLAN outer checksum on or
off, offload on the VXLAN device) and the fixes with their versions (kernel-model.md
sections c, f), and says which artefacts are harmless.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..core.checksum import checksum, pseudo_header_sum
from ..frames.fields import ChecksumField
from ..frames.frame import Frame
from ..frames.ip import IPv4, IPv6
from ..frames.transport import TCP, UDP
from ..kernel.conntrack import Conntrack, Tuple
from ..kernel.versions import Kernel
from ..report.rows import FlowTable, flow_hash, flow_key
from .diagnosis import Diagnosis, Finding, diagnose
from .verdict import Label, Verdict, classify, inner_pending

if TYPE_CHECKING:
    from .prenat import PreNatCapture

__all__ = [
    "Diagnosis",
    "Finding",
    "classify_stream",
    "diagnose",
    "headers_at",
    "outer_after_nat",
    "with_context",
]


def headers_at(frame: Frame, depth: int) -> tuple[IPv4 | IPv6 | None, UDP | TCP | None]:
    """The IP header at ``depth`` and the UDP or TCP header it carries, where present."""
    ip: IPv4 | IPv6 | None = None
    for layer in frame.layers:
        if isinstance(layer, IPv4 | IPv6) and layer.depth == depth:
            ip = layer
        elif isinstance(layer, UDP | TCP) and layer.depth == depth and ip is not None:
            return ip, layer
    return ip, None


def _outer_headers(frame: Frame, depth: int) -> tuple[IPv4 | IPv6, UDP] | None:
    """The IP and UDP headers at ``depth`` (the tunnel's outer headers)."""
    ip, l4 = headers_at(frame, depth)
    return (ip, l4) if ip is not None and isinstance(l4, UDP) else None


def _outer_flow(frame: Frame, verdict: Verdict) -> bytes | None:
    """The flow key (:func:`vxsum.report.rows.flow_key`) of the UDP header judged."""
    found = _outer_headers(frame, verdict.depth)
    if found is None:
        return None
    ip, udp = found
    return flow_key(ip.src, ip.dst, udp.src_port, udp.dst_port, 17)


def _after_nat_from(frame: Frame, f: ChecksumField, before: Tuple) -> tuple[int, int] | None:
    """What NAT makes of this outer UDP field if the packet was ``before`` until NAT.

    Runs the kernel model on the packet as it was before NAT, with the inner checksum
    pending: returns (the value an LCO field gets, the value a zero field gets on a
    pre-fix kernel).
    """
    found = _outer_headers(frame, f.depth)
    if found is None:
        return None
    ip, udp = found
    pkt = bytearray(frame.data[ip.offset : f.span_offset + f.span_length])
    u = udp.offset - ip.offset
    addr = 12 if isinstance(ip, IPv4) else 8
    pkt[addr : addr + len(before.src)] = before.src
    pkt[u : u + 2] = before.sport.to_bytes(2, "big")
    inner = inner_pending(f, frame.checksums)
    if inner is not None and inner.expected is not None:  # LCO is right for the filled inner
        at = inner.field_offset - ip.offset
        pkt[at : at + 2] = inner.expected.to_bytes(2, "big")
    pkt[u + 6 : u + 8] = b"\x00\x00"
    dst = ip.dst
    lco = checksum(bytes(pkt[u:]), pseudo_header_sum(before.src, dst, 17, len(pkt) - u)) or 0xFFFF
    return (
        outer_after_nat(frame, ip, udp, before.src, before.sport, lco, Kernel(6, 1)),
        outer_after_nat(frame, ip, udp, before.src, before.sport, 0, Kernel(5, 4, 40)),
    )


def outer_after_nat(
    frame: Frame,
    ip: IPv4 | IPv6,
    udp: UDP,
    src: bytes,
    sport: int,
    value: int,
    kernel: Kernel,
) -> int:
    """The outer UDP field that NAT leaves when it rewrites ``frame``'s packet, as it was
    with source ``src``:``sport`` and field ``value``, to the source the frame shows
    (the inner checksum pending, CHECKSUM_PARTIAL, as on a VXLAN device with offload)."""
    from ..kernel.csum import IpSummed  # the kernel model: only needed with a NAT context
    from ..kernel.nat import Manip, nat_rewrite

    pkt = bytearray(frame.data[ip.offset : udp.offset + udp.length_field])
    u, a = udp.offset - ip.offset, 12 if isinstance(ip, IPv4) else 8
    pkt[a : a + len(src)] = src
    pkt[u : u + 2] = sport.to_bytes(2, "big")
    pkt[u + 6 : u + 8] = value.to_bytes(2, "big")
    out = nat_rewrite(
        bytes(pkt),
        Manip.SRC,
        kernel=kernel,
        ip_summed=IpSummed.PARTIAL,
        new_addr=ip.src,
        new_port=udp.src_port,
    ).packet
    return int.from_bytes(out[u + 6 : u + 8], "big")


def _endpoint(addr: bytes, port: int) -> str:
    return f"{ipaddress.ip_address(addr)}:{port}"


def _with_conntrack(frame: Frame, f: ChecksumField, v: Verdict, ct: Conntrack) -> Verdict:
    """Confirm or reject a NAT explanation with the conntrack table of the sender."""
    found = _outer_headers(frame, f.depth)
    if found is None or v.verdict not in (Label.NAT_STALE, Label.NAT_ZERO_MANGLED, Label.CORRUPT):
        return v
    ip, udp = found
    before = ct.before_nat("udp", Tuple(ip.src, ip.dst, udp.src_port, udp.dst_port))
    if before is None:
        return v
    predicted = _after_nat_from(frame, f, before)
    if predicted is None:
        return v
    was, now = _endpoint(before.src, before.sport), _endpoint(ip.src, udp.src_port)
    if f.stored == predicted[0]:
        return replace(
            v,
            verdict=Label.NAT_STALE,
            harmless=False,
            pre_nat_port=before.sport,
            detail=f"confirmed by conntrack: NAT rewrote {was} to {now} and updated the "
            "local-checksum-offload value as if it were a pending seed (the port change "
            "ignored, an address change with the wrong sign); receivers drop it",
        )
    if f.stored == predicted[1]:
        return replace(
            v,
            verdict=Label.NAT_ZERO_MANGLED,
            harmless=False,
            detail=f"confirmed by conntrack: a zero field that NAT of {was} to {now} turned "
            f"into 0x{f.stored:04x} on a kernel before 'never update the UDP checksum when "
            "it's 0'; receivers drop it",
        )
    if v.verdict == Label.NAT_STALE:
        return replace(
            v,
            verdict=Label.CORRUPT,
            harmless=False,
            detail=f"not what NAT of {was} to {now} leaves (conntrack); no known mechanism",
        )
    return v


def with_context(
    frame: Frame,
    verdicts: list[Verdict],
    conntrack: Conntrack | None = None,
    before: PreNatCapture | None = None,
) -> list[Verdict]:
    """``verdicts`` of ``frame`` with NAT explanations of outer UDP fields checked exactly,
    by a conntrack table or a capture taken before NAT."""
    if conntrack is not None:
        verdicts = [
            _with_conntrack(frame, f, v, conntrack) if f.layer == "udp" else v
            for f, v in zip(frame.checksums, verdicts, strict=True)
        ]
    if before is not None:
        verdicts = before.refine(frame, verdicts)
    return verdicts


def classify_stream(
    frames: Iterable[Frame],
    *,
    conntrack: Conntrack | None = None,
    before: PreNatCapture | None = None,
) -> tuple[list[list[Verdict]], Diagnosis]:
    """Verdicts for every frame, refined by flow state, and the capture's diagnosis.

    With ``conntrack`` (the sending node's ``conntrack -L``), NAT explanations of outer
    UDP checksums are checked exactly: the kernel model is run on the packet as it was
    before NAT, and the field must come out as captured. ``before``, a capture of the
    same packets taken before NAT (:class:`vxsum.verdicts.prenat.PreNatCapture`), does the same
    with the packet itself.
    """
    kept: list[tuple[Frame, list[Verdict]]] = []
    for frame in frames:
        verdicts = with_context(frame, classify(frame), conntrack, before)
        kept.append((frame, verdicts))
    flows = FlowTable()  # the flow evidence, as analyze_file keeps it
    for frame, verdicts in kept:
        for v in verdicts:
            right = v.layer == "udp" and v.verdict == Label.GOOD and v.value != 0
            key = _outer_flow(frame, v) if right or v.verdict == Label.NAT_STALE else None
            if key is not None and right:
                flows.note_right(np.array([flow_hash(key)], dtype=np.uint64))
            elif key is not None and v.pre_nat_port is not None:
                flows.add_port(flows.id(key), v.pre_nat_port)
    result: list[list[Verdict]] = []
    labels: Counter[str] = Counter()
    confirmed = 0
    for frame, verdicts in kept:
        refined = []
        for v in verdicts:
            key = _outer_flow(frame, v) if v.verdict == Label.NAT_STALE else None
            port = v.pre_nat_port
            exact = "conntrack" in v.detail or "capture before NAT" in v.detail
            if key is not None and port is not None and not exact:
                still, detail = flows.refine(flows.id(key), port, v.detail)
                v = replace(v, detail=detail)
                if not still:
                    v = replace(v, verdict=Label.CORRUPT, harmless=False)
            labels[str(v.verdict)] += 1
            confirmed += v.verdict == Label.NAT_STALE and v.detail.startswith("confirmed")
            refined.append(v)
        result.append(refined)
    return result, diagnose(labels, frames=len(kept), stale_confirmed=confirmed)
