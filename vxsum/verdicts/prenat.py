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
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, replace
from hashlib import blake2b

import numpy as np
import numpy.typing as npt

from ..capture.linktypes import LinkType
from ..capture.nflog import nflog_span
from ..capture.reader import CaptureBatch, CaptureReader
from ..errors import CaptureError, ParseError
from ..frames.config import DEFAULT_CONFIG, ParseConfig
from ..frames.facts import Columns, layer_code
from ..frames.frame import Frame, parse
from ..frames.ip import IPv4, IPv6
from ..frames.layouts import common_facts
from ..frames.transport import UDP
from ..frames.tunnels import Geneve, Vxlan, VxlanGpe
from ..kernel.conntrack import Tuple

__all__ = ["Before", "PreNatCapture"]

_INNER_L4 = ("tcp", "udp", "udplite")  # the fields a NIC may fill between the taps
_UDP = layer_code("udp")


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

    def add_batch(self, batch: CaptureBatch) -> None:
        """Index the records of a batch: those with the common tunnel layout from the batch
        path's facts (:func:`~vxsum.frames.layouts.common_facts`), the others parsed.
        NFLOG records are read as the raw IP packet inside them."""
        offsets, caplens = batch.offsets.copy(), batch.caplens.copy()
        wirelens, linktypes = batch.wirelens.copy(), batch.linktypes.copy()
        buffer = batch.buffer
        for k in np.flatnonzero(linktypes == LinkType.NFLOG).tolist():
            o, n = int(offsets[k]), int(caplens[k])
            span = nflog_span(memoryview(buffer[o : o + n]))  # type: ignore[arg-type]
            if span is None:
                linktypes[k] = -1  # no packet inside: skipped below
                continue
            offsets[k], caplens[k], wirelens[k] = o + span[0], span[1], span[1]
            linktypes[k] = LinkType.RAW
        _, table = common_facts(
            buffer, offsets, caplens, wirelens, linktypes, batch.numbers, self.config
        )
        outer = np.flatnonzero((table["layer"] == _UDP) & (table["depth"] == 0) & table["tunnel"])
        records = np.searchsorted(batch.numbers, table["frame"][outer])
        fast = dict(zip(records.tolist(), outer.tolist(), strict=True))
        for k in range(len(offsets)):  # in record order: equal keys keep it in the index
            number = int(batch.numbers[k])
            i = fast.get(k)
            if i is not None:
                self.packets += 1
                self.add_row(number, *self._fast_row(buffer, int(offsets[k]), table, i))
                continue
            o, n = int(offsets[k]), int(caplens[k])
            try:
                if linktypes[k] < 0:
                    raise ParseError("nflog", 0, "no packet in the NFLOG record")
                frame = parse(
                    buffer[o : o + n].tobytes(),
                    int(linktypes[k]),
                    wire_length=int(wirelens[k]),
                    config=self.config,
                )
            except ParseError:
                self.packets += 1
                self.skipped += 1
                continue
            self.add_frame(number, frame)

    @staticmethod
    def _fast_row(
        buffer: npt.NDArray[np.uint8], offset: int, table: Columns, i: int
    ) -> tuple[int, Tuple, int, int]:
        """(key, outer tuple, checksum, IPv4 id) of a record with the common layout, whose
        outer UDP field is row ``i`` of the batch's facts: what :func:`_key` and
        :meth:`add_frame` take from a parsed frame (a property test keeps them equal)."""
        start = offset + int(table["span_offset"][i])
        payload = bytearray(buffer[start + 8 : start + int(table["span_length"][i])])
        at = int(table["inner_at"][i]) - 8
        payload[at : at + 2] = b"\x00\x00"  # the inner checksum may be filled later
        size = 16 if table["v6"][i] else 4
        src, dst = (table[side][i].astype(">u2").tobytes()[:size] for side in ("src", "dst"))
        ip_id = 0 if size == 16 else int.from_bytes(buffer[start - 16 : start - 14], "big")
        outer = Tuple(src, dst, int(table["sport"][i]), int(table["dport"][i]))
        return _digest(payload), outer, int(table["stored"][i]), ip_id

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
                builder.add_batch(batch)
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
