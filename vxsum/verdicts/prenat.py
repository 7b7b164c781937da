"""A second capture, taken before NAT, as exact context for outer UDP checksums.

The outer VXLAN/Geneve packets a node sends can be captured twice: before the nat
table's POSTROUTING chain (an NFLOG rule in the mangle table's POSTROUTING chain, which
runs first) and after it (the uplink, or the receiver)::

    iptables -t mangle -A POSTROUTING -p udp --dport 8472 -j NFLOG --nflog-group 5 \
        --nflog-threshold 1     # else the kernel batches log messages for up to 1 s
    tcpdump -i nflog:5 -w before.pcap

Source NAT rewrites only the outer headers, so a packet is recognised across the two
captures by its tunnel payload (the VXLAN or Geneve header and the inner frame), with the
inner TCP/UDP checksum fields left out: the NIC or ``skb_checksum_help`` may fill a
pending inner checksum between the two taps. :meth:`PreNatCapture.before_nat` gives an
after-NAT packet's outer tuple and outer UDP checksum as they were before NAT, and
:func:`vxsum.verdicts.confirm.check_nat` runs the kernel model on that very packet.

Memory. The index holds no Python object per packet: a 64-bit BLAKE2b digest of the
key, the flow number, the checksum, the IPv4 id and the record number: 20 bytes per
tunnel packet in numpy arrays (about 20 MB for a million packets), plus one
:class:`~vxsum.kernel.conntrack.Tuple` per outer flow. ``max_per_flow`` bounds it further:
only the first packets of each outer flow are kept, and later ones stay unmatched.

Not matched: packets segmented or fragmented between the taps (a GSO packet captured
before NAT is cut into several after it), snap-length cuts, and packets whose
destination changed (DNAT runs before the mangle POSTROUTING tap, so between the taps
only the source can change).
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, replace
from hashlib import blake2b

import numpy as np
import numpy.typing as npt

from ..capture.linktypes import LinkType
from ..capture.nflog import nflog_payload
from ..capture.reader import CaptureReader
from ..errors import CaptureError, ParseError
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..frames.frame import Frame, parse
from ..frames.ip import IPv4, IPv6
from ..frames.transport import UDP
from ..frames.tunnels import Geneve, Vxlan, VxlanGpe
from ..kernel.conntrack import Tuple

__all__ = ["Before", "PreNatCapture"]

_INNER_L4 = ("tcp", "udp", "udplite")  # the fields a NIC may fill between the taps
_U16 = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class Before:
    """An outer UDP packet as the capture before NAT holds it."""

    outer: Tuple
    """Outer (source, destination, source port, destination port) before NAT."""
    checksum: int
    """The outer UDP checksum field before NAT (0: the tunnel sends none)."""
    record: int
    """1-based record number in the capture before NAT (position, for ``from_frames``)."""
    ip_id: int | None
    """The outer IPv4 identification (None over IPv6); NAT leaves it alone."""
    matches: int = 1
    """Packets before NAT that fit; more than 1 only for a payload sent twice alike."""


def _digest(payload: bytes | bytearray) -> int:
    return int.from_bytes(blake2b(payload, digest_size=8).digest(), "little")


def _outer(frame: Frame, depth: int) -> tuple[IPv4 | IPv6, UDP, bool] | None:
    """The IP and UDP headers at ``depth``, and whether a VXLAN/Geneve header follows."""
    ip: IPv4 | IPv6 | None = None
    layers = frame.layers
    for k, layer in enumerate(layers):
        if isinstance(layer, IPv4 | IPv6) and layer.depth == depth:
            ip = layer
        elif isinstance(layer, UDP) and layer.depth == depth and ip is not None:
            nxt = layers[k + 1] if k + 1 < len(layers) else None
            return ip, layer, isinstance(nxt, Vxlan | VxlanGpe | Geneve)
    return None


def _key(frame: Frame, udp: UDP) -> int | None:
    """The digest of ``udp``'s tunnel payload with inner L4 checksum fields zeroed."""
    start, end = udp.offset + 8, udp.offset + udp.length_field
    if udp.length_field < 16 or end > len(frame.data):
        return None
    payload = bytearray(frame.data[start:end])
    for f in frame.checksums:
        at = f.field_offset - start
        if (
            f.layer in _INNER_L4
            and f.depth > udp.depth
            and not f.quoted
            and 0 <= at <= len(payload) - 2
        ):
            payload[at : at + 2] = b"\x00\x00"
    return _digest(payload)


def _fast(data: memoryview, ip: int, cfg: ParseConfig) -> tuple[int, Tuple, int, int] | None:
    """(key, outer tuple, checksum, IPv4 id) for the common layout, without a full parse.

    IPv4 (no options, not a fragment) / UDP on a VXLAN port / VXLAN / Ethernet / IPv4 (no
    options, not a fragment) / TCP, or UDP off every tunnel port, all captured; anything
    else returns None and goes to :func:`vxsum.parse`. The key is the one :func:`_key`
    computes from the parsed frame (a property test keeps them equal).
    """
    n = len(data)
    if n < ip + 20 or data[ip] != 0x45 or data[ip + 9] != 17 or cfg.max_depth < 2:
        return None
    u16 = _U16.unpack_from
    udp = ip + 20
    (total,), (frag,), (ulen,) = u16(data, ip + 2), u16(data, ip + 6), u16(data, udp + 4)
    end = udp + ulen
    if frag & 0x3FFF or total < 20 + ulen or ip + total > n or ulen < 8 + 8 + 14 + 28:
        return None
    (sport,), (dport,) = u16(data, udp), u16(data, udp + 2)
    if sport not in cfg.vxlan_ports and dport not in cfg.vxlan_ports:
        return None
    eth = udp + 16
    inner = eth + 14
    (etype,), (itotal,), (ifrag,) = u16(data, eth + 12), u16(data, inner + 2), u16(data, inner + 6)
    proto = data[inner + 9]
    if etype != 0x0800 or data[inner] != 0x45 or ifrag & 0x3FFF or inner + itotal > end:
        return None
    l4 = inner + 20
    if proto == 6:
        if itotal < 40 or not 5 <= data[l4 + 12] >> 4 <= (itotal - 20) // 4:
            return None
        field = l4 + 16
    elif proto == 17:
        ports = {u16(data, l4)[0], u16(data, l4 + 2)[0]}
        tunnels = cfg.vxlan_ports | cfg.vxlan_gpe_ports | cfg.geneve_ports | cfg.mpls_ports
        if ports & (tunnels | cfg.l2tp_ports | cfg.teredo_ports):
            return None
        field = l4 + 6
    else:
        return None
    payload = bytearray(data[udp + 8 : end])
    at = field - udp - 8
    payload[at : at + 2] = b"\x00\x00"
    outer = Tuple(bytes(data[ip + 12 : ip + 16]), bytes(data[ip + 16 : ip + 20]), sport, dport)
    return _digest(payload), outer, u16(data, udp + 6)[0], u16(data, ip + 4)[0]


class _Builder:
    """Collects index rows in compact arrays; :meth:`done` sorts them by key."""

    def __init__(self, config: ParseConfig, max_per_flow: int | None) -> None:
        if max_per_flow is not None and max_per_flow < 1:
            raise ValueError("max_per_flow must be positive")
        self.config, self.max_per_flow = config, max_per_flow
        self.keys, self.flow_of = array("Q"), array("I")
        self.checks, self.ids, self.records = array("H"), array("H"), array("I")
        self.flows: dict[Tuple, int] = {}
        self.per_flow: list[int] = []
        self.packets = self.skipped = 0

    def add_row(self, record: int, key: int, outer: Tuple, check: int, ip_id: int) -> None:
        flow = self.flows.setdefault(outer, len(self.flows))
        if flow == len(self.per_flow):
            self.per_flow.append(0)
        if self.max_per_flow is not None and self.per_flow[flow] >= self.max_per_flow:
            self.skipped += 1
            return
        self.per_flow[flow] += 1
        self.keys.append(key)
        self.flow_of.append(flow)
        self.checks.append(check)
        self.ids.append(ip_id)
        self.records.append(record)

    def add_frame(self, record: int, frame: Frame) -> None:
        self.packets += 1
        found = _outer(frame, 0)
        key = _key(frame, found[1]) if found is not None and found[2] else None
        if found is None or key is None or frame.truncated:
            self.skipped += 1
            return
        ip, udp, _ = found
        ip_id = ip.identification if isinstance(ip, IPv4) else 0
        outer = Tuple(ip.src, ip.dst, udp.src_port, udp.dst_port)
        self.add_row(record, key, outer, udp.checksum, ip_id)

    def add_bytes(self, record: int, data: memoryview, linktype: int, wirelen: int) -> None:
        if linktype == LinkType.NFLOG:
            payload = nflog_payload(data)
            if payload is None:
                self.packets += 1
                self.skipped += 1
                return
            data, linktype, wirelen, ip = payload, LinkType.RAW, len(payload), 0
        elif linktype == 1 and len(data) >= 14 and data[12] == 8 and data[13] == 0:
            ip = 14
        else:
            ip = -1
        fast = _fast(data, ip, self.config) if ip >= 0 and wirelen <= len(data) else None
        if fast is None:
            try:
                frame = parse(data, linktype, wire_length=wirelen, config=self.config)
            except ParseError:
                self.packets += 1
                self.skipped += 1
                return
            self.add_frame(record, frame)
            return
        self.packets += 1
        self.add_row(record, *fast)

    def done(self) -> PreNatCapture:
        keys = np.frombuffer(self.keys, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        flows = tuple(self.flows)
        return PreNatCapture(
            keys=keys[order],
            flow_of=np.frombuffer(self.flow_of, dtype=np.uint32)[order],
            checks=np.frombuffer(self.checks, dtype=np.uint16)[order],
            ip_ids=np.frombuffer(self.ids, dtype=np.uint16)[order],
            records=np.frombuffer(self.records, dtype=np.uint32)[order],
            flows=flows,
            packets=self.packets,
            skipped=self.skipped,
        )


@dataclass(frozen=True, slots=True, eq=False)
class PreNatCapture:
    """The outer tunnel packets of a capture taken before NAT, indexed by tunnel payload.

    Build it with :meth:`from_file` or :meth:`from_frames`; the arrays are sorted by key.
    """

    keys: npt.NDArray[np.uint64]
    flow_of: npt.NDArray[np.uint32]
    checks: npt.NDArray[np.uint16]
    ip_ids: npt.NDArray[np.uint16]
    """IPv4 identification (0 over IPv6)."""
    records: npt.NDArray[np.uint32]
    flows: tuple[Tuple, ...]
    """Every outer flow seen, by flow number."""
    packets: int
    """Records read."""
    skipped: int
    """Records not indexed: no tunnel, cut short, unparsable, or over ``max_per_flow``."""
    problems: tuple[CaptureError, ...] = ()
    """Bad records met while reading with ``keep_going``."""

    @classmethod
    def from_frames(
        cls, frames: Iterable[Frame], *, max_per_flow: int | None = None
    ) -> PreNatCapture:
        """Index parsed frames; their positions (from 1) stand for record numbers."""
        builder = _Builder(DEFAULT_CONFIG, max_per_flow)
        for number, frame in enumerate(frames, 1):
            builder.add_frame(number, frame)
        return builder.done()

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        config: ParseConfig | None = None,
        max_per_flow: int | None = None,
        keep_going: bool = False,
    ) -> PreNatCapture:
        """Index a pcap or pcapng file (also ``tcpdump -i nflog:N`` captures).

        Raises :class:`CaptureError` for a file that cannot be read (with ``keep_going``,
        bad records are skipped where the format allows and listed in :attr:`problems`),
        and for one without a single VXLAN or Geneve packet (the wrong file, or an NFLOG
        rule that matched nothing), since it cannot serve as context.
        """
        builder = _Builder(config or DEFAULT_CONFIG, max_per_flow)
        with CaptureReader(path, keep_going=keep_going) as reader:
            for batch in reader.batches():
                for rec in batch:
                    builder.add_bytes(rec.number, rec.data, rec.linktype, rec.wirelen)
        index = replace(builder.done(), problems=tuple(reader.problems))
        if not len(index):
            reason = f"no VXLAN or Geneve packets among {builder.packets} records"
            raise CaptureError(os.fspath(path), None, 0, reason)
        return index

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes held by the per-packet arrays."""
        arrays = (self.keys, self.flow_of, self.checks, self.ip_ids, self.records)
        return sum(a.nbytes for a in arrays)

    def before_nat(self, frame: Frame, depth: int = 0) -> Before | None:
        """The packet before NAT of ``frame``'s tunnel UDP header at ``depth``, if captured.

        It must carry the same tunnel payload (inner L4 checksums aside) to the same
        destination address and port. Among several such packets the one with the same
        IPv4 id is taken, then the first; :attr:`Before.matches` says how many fit.
        """
        found = _outer(frame, depth)
        if found is None or not found[2]:
            return None
        ip, udp, _ = found
        key = _key(frame, udp)
        if key is None:
            return None
        k = np.uint64(key)
        lo, hi = (int(np.searchsorted(self.keys, k, side=s)) for s in ("left", "right"))
        rows = [r for r in range(lo, hi) if self._goes_to(r, ip.dst, udp.dst_port)]
        if not rows:
            return None
        if isinstance(ip, IPv4):
            same_id = [r for r in rows if int(self.ip_ids[r]) == ip.identification]
            row = (same_id or rows)[0]
        else:
            row = rows[0]
        flow = self.flows[int(self.flow_of[row])]
        return Before(
            flow,
            int(self.checks[row]),
            int(self.records[row]),
            int(self.ip_ids[row]) if len(flow.src) == 4 else None,
            len(rows),
        )

    def _goes_to(self, row: int, dst: bytes, dport: int) -> bool:
        flow = self.flows[int(self.flow_of[row])]
        return flow.dst == dst and flow.dport == dport
