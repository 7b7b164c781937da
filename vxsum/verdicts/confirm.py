"""NAT context: a conntrack table or a capture taken before NAT, checked with the kernel model.

One procedure (:func:`check_nat`) for both sources. Given where the packet came from before
NAT (its outer source address and port) and, from a capture, the outer checksum it had
then, it rebuilds the packet as it was before NAT, runs the kernel model's NAT on it
(:func:`vxsum.kernel.nat.nat_rewrite`, the inner checksum pending as on a VXLAN device with
offload; a fixed kernel and one before "never update the UDP checksum when it's 0") and
compares the result with the captured field:

* the field before NAT was right (local checksum offload) and NAT leaves this value:
  ``nat-stale``, confirmed; it was right but NAT leaves another value: ``corrupt``;
* it was 0 and a pre-fix kernel's NAT leaves this value: ``nat-zero-mangled``, confirmed;
* a capture shows it wrong before NAT already, or unchanged by NAT, or changed without
  NAT: ``corrupt``, with what was seen.

A conntrack table says only where the packet came from, not what its field held: both
ways it can have been (right, or 0) are tried. :func:`with_context` applies this to the
verdict rows of one frame that need it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..core.buffer import checksum, ones_add, ones_sum
from ..frames.facts import Columns, layer_code
from ..frames.frame import Frame
from ..frames.ip import IPv4, IPv6
from ..frames.transport import UDP
from ..kernel.conntrack import Conntrack, Tuple
from ..kernel.csum import IpSummed
from ..kernel.nat import Manip, nat_rewrite
from ..kernel.versions import Kernel
from .labels import LABELS, Context, Label
from .prenat import PreNatCapture

__all__ = ["after_nat", "check_nat", "needs_context", "with_context"]

_FIXED, _PRE_FIX = Kernel(6, 1), Kernel(5, 4, 40)
_L = {label: code for code, label in enumerate(LABELS)}
_ASKED = [_L[x] for x in (Label.NAT_STALE, Label.NAT_ZERO_MANGLED, Label.CORRUPT)]
_UDP = layer_code("udp")
_OUTCOMES = {  # (from a capture?, what NAT explains) -> context
    (False, Label.NAT_STALE): Context.CONNTRACK_STALE,
    (False, Label.NAT_ZERO_MANGLED): Context.CONNTRACK_ZERO,
    (False, Label.CORRUPT): Context.CONNTRACK_NOT_NAT,
    (True, Label.NAT_STALE): Context.BEFORE_STALE,
    (True, Label.NAT_ZERO_MANGLED): Context.BEFORE_ZERO,
    (True, Label.CORRUPT): Context.BEFORE_NOT_NAT,
}


def needs_context(rows: Columns | npt.NDArray[np.void]) -> npt.NDArray[np.bool_]:
    """Rows a NAT context can judge: a tunnel's outer UDP field, wrong and harmful."""
    out: npt.NDArray[np.bool_] = (rows["layer"] == _UDP) & rows["tunnel"]
    out &= np.isin(rows["label"], _ASKED)
    return out


def _packet(
    frame: Frame, ip: IPv4 | IPv6, udp: UDP, src: bytes, sport: int, value: int
) -> bytearray:
    """The IP packet of ``udp`` with source ``src``:``sport`` and UDP field ``value``."""
    pkt = bytearray(frame.data[ip.offset : udp.offset + udp.length_field])
    u, a = udp.offset - ip.offset, 12 if isinstance(ip, IPv4) else 8
    pkt[a : a + len(src)] = src
    pkt[u : u + 2] = sport.to_bytes(2, "big")
    pkt[u + 6 : u + 8] = value.to_bytes(2, "big")
    return pkt


def after_nat(
    frame: Frame, ip: IPv4 | IPv6, udp: UDP, src: bytes, sport: int, value: int, kernel: Kernel
) -> int:
    """The outer UDP field that ``kernel``'s NAT leaves when it rewrites the packet, as it
    was with source ``src``:``sport`` and field ``value``, to the source the frame shows
    (the inner checksum pending, CHECKSUM_PARTIAL)."""
    out = nat_rewrite(
        bytes(_packet(frame, ip, udp, src, sport, value)),
        Manip.SRC,
        kernel=kernel,
        ip_summed=IpSummed.PARTIAL,
        new_addr=ip.src,
        new_port=udp.src_port,
    ).packet
    u = udp.offset - ip.offset
    return int.from_bytes(out[u + 6 : u + 8], "big")


def _right(frame: Frame, row: np.void, ip: IPv4 | IPv6, udp: UDP, src: bytes, sport: int) -> int:
    """The right outer checksum for the packet with source ``src``:``sport``, once a pending
    inner field is filled: what local checksum offload writes."""
    pkt = _packet(frame, ip, udp, src, sport, 0)
    u = udp.offset - ip.offset
    if row["pending"]:
        at = u + int(row["inner_at"])
        pkt[at : at + 2] = int(row["inner_expected"]).to_bytes(2, "big")
    # The field's own pseudo-header sum with the source swapped: the destination in it is
    # the final one (an IPv6 routing header's), as the parser found it.
    pseudo = ones_add(int(row["pseudo"]), 0xFFFF ^ ones_sum(ip.src), ones_sum(src))
    return checksum(bytes(pkt[u:]), pseudo) or 0xFFFF


def _words(address: bytes) -> list[int]:
    padded = address.ljust(16, b"\0")
    return [int.from_bytes(padded[k : k + 2], "big") for k in range(0, 16, 2)]


def check_nat(
    frame: Frame, row: np.void, before: Tuple, value: int | None = None, record: int = -1
) -> bool:
    """Judge one verdict row against the packet before NAT, in place.

    ``before`` is the outer tuple before NAT; ``value`` the outer UDP field then (from a
    capture before NAT, whose ``record`` it is), or None when only conntrack is known.
    Returns False, leaving the row alone, when ``before`` goes elsewhere.
    """
    ip, udp = frame.headers_at(int(row["depth"]))
    if ip is None or not isinstance(udp, UDP):
        return False
    if (before.dst, before.dport) != (ip.dst, udp.dst_port) or len(before.src) != len(ip.src):
        return False
    stored, capture = int(row["stored"]), value is not None
    due_before = _right(frame, row, ip, udp, before.src, before.sport)
    row["pre_src"], row["pre_sport"] = _words(before.src), before.sport
    row["pre_value"] = -1 if value is None else value
    row["pre_record"], row["pre_due"] = record, due_before
    if (before.src, before.sport) == (ip.src, udp.src_port):  # not rewritten
        wrong = Context.BEFORE_WRONG_NO_NAT if stored == value else Context.BEFORE_CHANGED
        row["label"], row["context"], row["port"] = _L[Label.CORRUPT], wrong, -1
        return True
    found, context = Label.CORRUPT, Context.NONE
    for v in [value] if value is not None else [due_before, 0]:
        fixed = after_nat(frame, ip, udp, before.src, before.sport, v, _FIXED)
        prefix = after_nat(frame, ip, udp, before.src, before.sport, v, _PRE_FIX)
        row["pre_fixed"], row["pre_prefix"] = fixed, prefix
        if v == 0 and stored == prefix:
            found = Label.NAT_ZERO_MANGLED
            break
        if v != 0 and stored == fixed:
            found = Label.NAT_STALE
            if v != due_before:
                found, context = Label.CORRUPT, Context.BEFORE_WRONG_ALREADY
            break
    row["label"] = _L[found]
    row["context"] = context or _OUTCOMES[(capture, found)]
    row["port"] = before.sport if found == Label.NAT_STALE else -1
    return True


def with_context(
    frame: Frame,
    rows: npt.NDArray[np.void],
    conntrack: Conntrack | None = None,
    before: PreNatCapture | None = None,
) -> None:
    """Judge the rows of ``frame`` (in place) that a NAT context can judge (:func:`
    needs_context`): first by ``conntrack``, then by the capture ``before`` NAT."""
    for i in np.flatnonzero(needs_context(rows)).tolist():
        row = rows[i]  # a view: check_nat() writes into rows
        ip, udp = frame.headers_at(int(row["depth"]))
        if conntrack is not None and ip is not None and isinstance(udp, UDP):
            seen = Tuple(ip.src, ip.dst, udp.src_port, udp.dst_port)
            found = conntrack.before_nat("udp", seen)
            if found is not None:
                check_nat(frame, row, found)
        if before is not None and needs_context(rows[i : i + 1])[0]:  # still
            pre = before.before_nat(frame, int(row["depth"]))
            if pre is not None:
                check_nat(frame, row, pre.outer, pre.checksum, pre.record)
