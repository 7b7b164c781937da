"""Walking a block of capture bytes to its records, in numpy: what pcap and pcapng share.

A capture file is read in large blocks (:mod:`vxsum.capture.reader`), and each block is
handed to a *walker* (:class:`~vxsum.capture.pcap.PcapWalker` or
:class:`~vxsum.capture.pcapng.PcapngWalker`), which finds the complete records in it and
returns them as numpy arrays (:class:`Walked`), with the position where it stopped and
how many bytes the unfinished record at that position needs.

Both formats chain: each record (pcap) or block (pcapng) says where the next one starts.
Finding them is a sequential walk over the length fields, which :func:`walk_chains` does
without a per-record Python loop. It starts *chains*: the first at the known record
start, then one at the first plausible-looking record after every 32 KiB of the block,
and advances them all together, one record per numpy step, each until it reaches the
next chain's start. The walk is deterministic, so where the walk from the known start
lands exactly on a chain's start, it goes on exactly as that chain did; where it steps
over a chain's start instead (that chain began at a false header, or a lying length took
the walk elsewhere), the plain loop follows it from there until it lands on a later
chain's start. The walk found is thus the plain loop's for any bytes at all; how
plausible starts are chosen (each format's own business) only decides the speed.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError

__all__ = [
    "LAYOUTS",
    "MAX_CAPLEN",
    "MIN_LANES",
    "NO_TIMESTAMP",
    "SPACING",
    "WINDOW",
    "Chain",
    "U32At",
    "Walked",
    "first_plausible",
    "stitch",
    "strided_headers",
    "strided_rows",
    "walk_chains",
]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]
_Unpack = Callable[[memoryview, int], tuple[Any, ...]]

MAX_CAPLEN = 262144
"""Largest captured length accepted (libpcap's MAXIMUM_SNAPLEN, 256 KiB)."""
NO_TIMESTAMP = -(1 << 63)
"""Timestamp of a record that has none (a pcapng Simple Packet Block)."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """The fixed-size fields of both formats in one byte order, compiled once."""

    u32: struct.Struct
    pair32: struct.Struct  # block type and length
    pair16: struct.Struct  # two u16: version numbers; option code and length
    pcap_header: struct.Struct  # after the magic: version, zone, sigfigs, snaplen, network
    idb: struct.Struct  # link type, reserved, snap length
    epb: struct.Struct  # interface, timestamp high and low, captured and original length
    opb: struct.Struct  # interface (u16), drops (u16), then as EPB
    i64: struct.Struct


_FORMATS = ("I", "II", "HH", "HHiIII", "HHI", "5I", "HH4I", "q")  # in _Layout's field order
LAYOUTS = {order: _Layout(*(struct.Struct(order + f) for f in _FORMATS)) for order in "<>"}


@dataclass(frozen=True, slots=True)
class Walked:
    """What a walker found in one block: records as arrays, where it stopped, and why.

    Positions in ``file_offsets`` are file offsets of the record (header or block)
    starts, ``data_offsets`` are offsets of the captured bytes in the block. ``stop``
    is the first block position not consumed; ``need`` the bytes the unfinished
    record at ``stop`` needs in all (0 when nothing is pending). ``problems`` are in
    file order; ``fatal`` says reading cannot go on after the last one. So that memory
    does not grow with the bad records of a block, only the first
    :data:`~vxsum.capture.problems.EXAMPLES` problems of each kind are listed (and the
    one that stops the walk); ``unlisted`` counts the others, as (kind, count) pairs.
    """

    numbers: I64
    file_offsets: I64
    data_offsets: I64
    caplens: I64
    wirelens: I64
    linktypes: I64
    timestamps: I64
    stop: int
    need: int
    problems: tuple[CaptureError, ...]
    fatal: bool
    unlisted: tuple[tuple[str, int], ...] = ()


def strided_rows(block: U8, starts: I64, width: int) -> U8:
    """The ``width`` bytes at each of ``starts`` as a (k, width) array (one fancy-indexing gather).

    The gather is over a view with a ``width``-byte item at every byte position, which numpy
    copies as one item per record (a (n, width) byte view would copy byte by byte).
    """
    block = np.ascontiguousarray(block)
    items = np.ndarray((len(block) - width + 1,), dtype=f"V{width}", buffer=block, strides=(1,))
    rows: U8 = items[starts].view(np.uint8).reshape(-1, width)
    return rows


def strided_headers(block: U8, starts: I64) -> U8:
    """The 16 bytes at each of ``starts`` as a (k, 16) array (see :func:`strided_rows`)."""
    return strided_rows(block, starts, 16)


SPACING = 1 << 15
"""Bytes between the starts of the walk's chains (see :func:`pcap_record_starts`)."""
WINDOW = 2048
"""Bytes after each chain start searched for a plausible record header."""
MIN_LANES = 32
"""Below this many chains still walking, a Python loop is quicker than a numpy step."""
_SYNC_ROUNDS = 8
"""Candidates tried at most in each window, in order."""


class U32At:
    """Gathers the u32 at any byte positions of a block (in the file's byte order).

    The block is viewed as a 4-byte item at every byte position; numpy gathers those as
    plain 4-byte copies, several times faster than from an unaligned ``u4`` view.
    """

    def __init__(self, block: U8, order: str) -> None:
        self._items = np.ndarray((len(block) - 3,), dtype="V4", buffer=block, strides=(1,))
        self._u32 = np.dtype(order + "u4")

    def __getitem__(self, at: I64) -> npt.NDArray[np.uint32]:
        """The u32 at each of ``at`` (each position at most ``len(block) - 4``)."""
        values: npt.NDArray[np.uint32] = self._items[at].view(self._u32)
        return values


@dataclass(frozen=True, slots=True)
class Chain:
    """How a walk steps: from ``pos`` to ``pos + header + (u32(pos + field) - bias) % 2**32``.

    That is at least ``header`` bytes on, so every walk moves forward.
    """

    field: int
    header: int
    bias: int


def _loop(
    view: memoryview, pos: int, stop: int, u32_at: _Unpack, chain: Chain, out: list[int]
) -> int:
    """The plain sequential walk from ``pos`` while ``pos < stop``; returns where it ends."""
    append, field, header, bias = out.append, chain.field, chain.header, chain.bias
    if bias:
        while pos < stop:
            append(pos)
            pos += header + ((u32_at(view, pos + field)[0] - bias) & 0xFFFFFFFF)
        return pos
    while pos < stop:
        append(pos)
        pos += header + u32_at(view, pos + field)[0]
    return pos


def walk_chains(
    block: U8, firsts: I64, limit: int, order: str, chain: Chain, min_lanes: int
) -> tuple[I64, int]:
    """The walk from ``firsts[0]`` while ``pos <= limit``: the chains from every one of
    ``firsts`` (increasing, all at most ``limit``) walked in lockstep, then stitched."""
    view = memoryview(block)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__
    u32_at = LAYOUTS[order].u32.unpack_from
    if len(firsts) < min_lanes:  # too few chains to win anything: the plain loop
        found: list[int] = []
        stop = _loop(view, int(firsts[0]), limit + 1, u32_at, chain, found)
        return np.array(found, dtype=np.int64), stop
    u32 = U32At(block, order)
    field, header, bias = chain.field, chain.header, np.uint32(chain.bias)
    ends = np.append(firsts[1:], limit + 1)  # chain j walks while pos < ends[j]
    count = len(firsts)
    exits = np.empty(count, dtype=np.int64)  # each chain's first position >= its end
    # The chains in lockstep, as positions + field (where the length is); chains that
    # reach their end drop out, and the last few finish in Python.
    parts: list[I64] = []
    lanes: list[I64] = []
    lane = np.arange(count)
    at, stop_at = firsts + field, ends + field
    while len(at) >= min_lanes:
        parts.append(at)
        lanes.append(lane)
        at = at + header + (u32[at] - bias if bias else u32[at])  # u32 arithmetic wraps
        live = at < stop_at
        if not live.all():
            dead = ~live
            exits[lane[dead]] = at[dead] - field
            at, lane, stop_at = at[live], lane[live], stop_at[live]
    # Every position found, with its chain and its step along that chain.
    pos_parts = [np.concatenate(parts) - field]
    lane_parts = [np.concatenate(lanes)]
    step_parts = [np.repeat(np.arange(len(parts)), [len(p) for p in parts])]
    for j, p, e in zip(
        lane.tolist(), (at - field).tolist(), (stop_at - field).tolist(), strict=True
    ):
        rest: list[int] = []
        exits[j] = _loop(view, p, e, u32_at, chain, rest)
        pos_parts.append(np.array(rest, dtype=np.int64))
        lane_parts.append(np.full(len(rest), j, dtype=np.int64))
        step_parts.append(np.arange(len(parts), len(parts) + len(rest)))
    pos, lane, step = (np.concatenate(x) for x in (pos_parts, lane_parts, step_parts))
    # Chain j's positions are in [firsts[j], ends[j]), increasing: in chain order they are
    # the walk's order. Each goes to its chain's offset plus its step.
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(lane, minlength=count), out=offsets[1:])
    walked = np.empty(len(pos), dtype=np.int64)
    walked[offsets[lane] + step] = pos
    if (exits[:-1] == firsts[1:]).all():  # every chain leads to the next: one walk
        return walked, int(exits[-1])
    return stitch(view, walked, offsets, firsts, exits, limit, u32_at, chain)


def stitch(
    view: memoryview,
    walked: I64,
    offsets: I64,
    firsts: I64,
    exits: I64,
    limit: int,
    u32_at: _Unpack,
    chain: Chain,
) -> tuple[I64, int]:
    """The true walk from chain 0, through the chains it is shown to reach, and by the
    plain loop wherever a chain's exit is not the next chain's start."""
    pieces: list[I64] = []
    last = len(firsts) - 1
    starts = firsts.tolist()
    j = 0
    while True:
        pieces.append(walked[offsets[j] : offsets[j + 1]])
        pos = int(exits[j])  # the true walk is here, at or after chain j + 1's start
        while True:
            if j == last:
                return np.concatenate(pieces), pos
            m = bisect.bisect_right(starts, pos) - 1  # the chain whose stretch pos is in
            if starts[m] == pos:
                j = m
                break
            found: list[int] = []
            stop = starts[m + 1] if m < last else limit + 1
            pos = _loop(view, pos, stop, u32_at, chain, found)
            pieces.append(np.array(found, dtype=np.int64))
            j = m


def first_plausible(
    count: int, window_of: I64, at: I64, plausible: Callable[[I64], npt.NDArray[np.bool_]]
) -> I64:
    """For each of ``count`` windows, its first candidate position that is ``plausible``
    (-1 if none): candidate ``i`` is at ``at[i]`` in window ``window_of[i]`` (increasing).

    Tries each window's first candidate, then the next one for the windows whose candidate
    failed, and so on, a few rounds (a window of look-alikes costs no more).
    """
    first = np.searchsorted(window_of, np.arange(count + 1))  # each window's candidates
    rows = np.flatnonzero(first[:-1] < first[1:])
    k = first[rows]
    chosen = np.full(count, -1, dtype=np.int64)
    for _ in range(_SYNC_ROUNDS):
        head = at[k]
        ok = plausible(head)
        chosen[rows[ok]] = head[ok]
        k, rows = k[~ok] + 1, rows[~ok]
        more = k < first[rows + 1]
        k, rows = k[more], rows[more]
        if not len(rows):
            break
    return chosen
