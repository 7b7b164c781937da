"""Checksum-field facts: one row of numbers per checksum field, the input of every rule.

The per-frame parser (:func:`facts_of`) and the batch layouts
(:mod:`vxsum.frames.layouts`) both produce rows of :data:`FACT`, and everything after
them (:mod:`vxsum.verdicts`) works on these rows, never on parsed headers or text.
A row says what the field holds and what it should hold for the bytes as captured,
which bytes it covers, the packet it belongs to (addresses, ports, protocol at its
depth) and, for a tunnel's outer UDP field, the inner transport field inside its span
(whose state decides local checksum offload), the tunnel's VNI and the addresses, ports
and protocol of the packet it carries.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .fields import LAYERS, REASONS, STATUSES, ChecksumField
from .frame import Frame
from .ip import IPv4, IPv6
from .transport import TCP, UDP
from .tunnels import Geneve, Vxlan, VxlanGpe

__all__ = [
    "FACT",
    "Columns",
    "Facts",
    "columns",
    "empty",
    "fact_tuples",
    "facts_of",
    "gather",
    "layer_code",
    "scatter",
    "status_code",
]

FACT = np.dtype(
    [
        ("frame", "<i8"),  # the frame's number (1-based record number in a capture)
        ("field_offset", "<i4"),  # the field's offset in the frame
        ("span_offset", "<i4"),  # start of the covered bytes in the frame
        ("span_length", "<i4"),  # covered length according to the length fields
        ("expected", "<i4"),  # what the field should hold for the captured bytes; -1: none
        ("inner_at", "<i4"),  # the inner transport field's offset from span_offset; -1: none
        ("src", ">u2", (8,)),  # source address of the packet at this depth (IPv4 zero-padded)
        ("dst", ">u2", (8,)),
        ("stored", "<u2"),  # what the field holds
        ("pseudo", "<u2"),  # folded pseudo-header sum (0 without a pseudo-header)
        ("sport", "<u2"),  # TCP or UDP ports at this depth (0 without one)
        ("dport", "<u2"),
        ("inner_stored", "<u2"),  # the inner transport field (when inner_at >= 0)
        ("inner_expected", "<u2"),
        ("inner_pseudo", "<u2"),
        ("flags", "<u2"),  # the TCP flags at this depth (0 without TCP)
        ("depth", "u1"),
        ("layer", "u1"),  # code into vxsum.frames.fields.LAYERS
        ("status", "u1"),  # code into STATUSES
        ("reason", "u1"),  # code into REASONS (0: none)
        ("proto", "u1"),  # 6 or 17 when the packet at this depth has TCP or UDP, else 0
        ("inner_layer", "u1"),  # code into LAYERS of the inner field
        ("inner_status", "u1"),  # code into STATUSES of the inner field
        ("tunnel", "?"),  # a UDP field whose datagram carries a tunnelled IP packet
        ("v6", "?"),  # the addresses are IPv6
        ("quoted", "?"),  # inside an ICMP error
        ("vni", "<i4"),  # a tunnel row: the VNI of its VXLAN, VXLAN-GPE or Geneve header; -1
        ("inner_src", ">u2", (8,)),  # a tunnel row: the addresses of the packet it carries
        ("inner_dst", ">u2", (8,)),
        ("inner_sport", "<u2"),  # ... its TCP or UDP ports (0 without one)
        ("inner_dport", "<u2"),
        ("inner_proto", "u1"),  # ... 6 or 17 when it has TCP or UDP, else 0
        ("inner_ip", "u1"),  # ... 4 or 6: its IP version (0: no tunnel row, or no packet)
    ]
)
"""One checksum field as numbers (128 bytes)."""

Facts = npt.NDArray[np.void]
"""An array of :data:`FACT` rows."""

Columns = dict[str, npt.NDArray[Any]]
"""The same rows as columns, one array per field name (``src`` and ``dst`` are (n, 8)):
how the batch path carries them, since a whole column at a time is what numpy does fast.
Every rule reads ``table[name]``, which rows and columns both answer."""

_LAYER = {name: code for code, name in enumerate(LAYERS)}
_STATUS = {status: code for code, status in enumerate(STATUSES)}
_REASON = {reason: code for code, reason in enumerate(REASONS)}
_INNER_LAYERS = ("tcp", "udp", "udplite")  # a tunnel payload's transport field


def layer_code(name: str) -> int:
    """The code of a layer name in :data:`~vxsum.frames.fields.LAYERS`."""
    return _LAYER[name]


def status_code(status: object) -> int:
    """The code of a :class:`~vxsum.frames.fields.Status`."""
    return _STATUS[status]  # type: ignore[index]


_ZERO_WORDS: tuple[int, ...] = (0,) * 8
_WORDS: Callable[[bytes], tuple[int, ...]] = struct.Struct(">8H").unpack


@functools.lru_cache(maxsize=4096)
def _words(address: bytes) -> tuple[int, ...]:
    """An address as eight big-endian 16-bit words (IPv4 zero-padded); the few addresses
    a capture holds are converted once."""
    return _WORDS(address.ljust(16, b"\0")[:16])


def _inner(outer: ChecksumField, fields: tuple[ChecksumField, ...]) -> ChecksumField | None:
    """The transport field of a tunnel's payload: the first TCP, UDP or UDP-Lite field one
    level deeper inside ``outer``'s span."""
    end = outer.span_offset + outer.span_length
    for f in fields:
        inside = outer.span_offset < f.field_offset < end
        if inside and f.depth == outer.depth + 1 and f.layer in _INNER_LAYERS and not f.quoted:
            return f
    return None


def _vni(frame: Frame, udp: UDP | TCP | None) -> int:
    """The VNI of the VXLAN, VXLAN-GPE or Geneve header right after ``udp``; -1: none."""
    layers = frame.layers
    for k, layer in enumerate(layers[:-1]):
        if layer is udp:
            after = layers[k + 1]
            return after.vni if isinstance(after, Vxlan | VxlanGpe | Geneve) else -1
    return -1


def _packet(ip: IPv4 | IPv6 | None, l4: UDP | TCP | None) -> tuple[Any, ...]:
    """(src words, dst words, sport, dport, proto) of a packet's headers (0: none)."""
    src = dst = _ZERO_WORDS
    if ip is not None:
        src, dst = _words(ip.src), _words(ip.dst)
    if l4 is None:
        return src, dst, 0, 0, 0
    return src, dst, l4.src_port, l4.dst_port, 6 if type(l4) is TCP else 17


_NO_TUNNEL = (0, 0, 0, 0, 0, False)  # inner_stored ... inner_status, tunnel
_NO_INNER = (-1, _ZERO_WORDS, _ZERO_WORDS, 0, 0, 0, 0)  # vni, inner_src ... inner_ip


def fact_tuples(frame: Frame, number: int = 1) -> list[tuple[Any, ...]]:
    """The facts of every checksum field of ``frame`` as tuples in :data:`FACT`'s field
    order: ``numpy.array(tuples, dtype=FACT)`` makes the rows. Callers that judge many
    frames collect the tuples of all of them and make one array, which costs a small part
    of making one per frame."""
    fields = frame.checksums
    out = []
    depths = {f.depth for f in fields}
    for f in fields:
        ip, l4 = frame.headers_at(f.depth)
        src, dst, sport, dport, proto = _packet(ip, l4)
        inner_at, tunnel, inner = -1, _NO_TUNNEL, _NO_INNER
        if f.layer == "udp" and f.depth + 1 in depths:
            inner_ip, inner_l4 = frame.headers_at(f.depth + 1)
            version = 0 if inner_ip is None else 4 if type(inner_ip) is IPv4 else 6
            inner = (_vni(frame, l4), *_packet(inner_ip, inner_l4), version)
            field = _inner(f, fields)
            if field is None:
                tunnel = (0, 0, 0, 0, 0, True)
            else:
                inner_at = field.field_offset - f.span_offset
                expected = 0 if field.expected is None else field.expected
                tunnel = (
                    field.stored,
                    expected,
                    field.pseudo_sum,
                    _LAYER[field.layer],
                    _STATUS[field.status],
                    True,
                )
        out.append(
            (
                number,
                f.field_offset,
                f.span_offset,
                f.span_length,
                -1 if f.expected is None else f.expected,
                inner_at,
                src,
                dst,
                f.stored,
                f.pseudo_sum,
                sport,
                dport,
                tunnel[0],
                tunnel[1],
                tunnel[2],
                l4.flags if type(l4) is TCP else 0,
                f.depth,
                _LAYER[f.layer],
                _STATUS[f.status],
                _REASON[f.reason],
                proto,
                tunnel[3],
                tunnel[4],
                tunnel[5],
                ip is not None and type(ip) is not IPv4,
                f.quoted,
                *inner,
            )
        )
    return out


def facts_of(frame: Frame, number: int = 1) -> Facts:
    """The facts of every checksum field of ``frame``, in the parser's order; ``number``
    goes into the ``frame`` column."""
    return np.array(fact_tuples(frame, number), dtype=FACT)


def empty() -> Facts:
    """No facts."""
    return np.zeros(0, dtype=FACT)


def columns(rows: npt.NDArray[np.void]) -> Columns:
    """The columns of a structured array (views: writing to them writes to ``rows``)."""
    return {name: rows[name] for name in rows.dtype.names or ()}


def gather(
    table: Columns, dtype: np.dtype[np.void], index: npt.NDArray[np.intp] | None = None
) -> npt.NDArray[np.void]:
    """Rows of ``dtype`` from the columns of ``table`` (those at ``index``, or all).

    The rows are filled :data:`_GATHER_ROWS` at a time, every column into one piece while
    it is in the processor's cache: a column at a time over all the rows passes through
    memory once per column (about half the time, with fifty columns).
    """
    names = dtype.names or ()
    n = len(table[names[0]]) if index is None else len(index)
    out = np.zeros(n, dtype=dtype)
    for lo in range(0, n, _GATHER_ROWS):
        piece = out[lo : lo + _GATHER_ROWS]
        at = slice(lo, lo + _GATHER_ROWS) if index is None else index[lo : lo + _GATHER_ROWS]
        for name in names:
            piece[name] = table[name][at]
    return out


_GATHER_ROWS = 4096


def scatter(table: Columns, rows: npt.NDArray[np.void], index: npt.NDArray[np.intp]) -> None:
    """Write ``rows`` back into the columns of ``table`` at ``index``."""
    for name in rows.dtype.names or ():
        table[name][index] = rows[name]
