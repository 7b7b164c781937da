"""The pcap and pcapng file formats, sans-I/O: walk one block of bytes into record arrays.

:mod:`vxsum.capture.reader` reads a file in large blocks and hands each block to a *walker*
(:class:`PcapWalker` or :class:`PcapngWalker`), which finds the complete records in it
and returns them as numpy arrays (:class:`Walked`), with the position where it stopped
and how many bytes the unfinished record at that position needs. The walker keeps the
state that spans blocks: the record count, and for pcapng the byte order and the
interfaces of the current section.

pcap (the libpcap format, draft-ietf-opsawg-pcap): a 24-byte file header, then records
of a 16-byte header (seconds, micro- or nanoseconds, captured length, original length)
and the captured bytes. Finding the records is a sequential walk over the length fields
(each record says where the next one starts), which :func:`pcap_record_starts` does in
numpy without a per-record Python loop. It starts *chains*: the first at the known
record start, then one at the first plausible-looking record header after every 32 KiB
of the block, and advances them all together, one record per numpy step, each until it
reaches the next chain's start. The walk is deterministic, so where the walk from the
known start lands exactly on a chain's start, it goes on exactly as that chain did;
where it steps over a chain's start instead (that chain began at a false header, or a
lying length took the walk elsewhere), the plain loop follows it from there until it
lands on a later chain's start. The walk found is thus the plain loop's for any bytes
at all; how plausible headers are chosen only decides the speed. The headers are then
gathered and checked with numpy. A record length cannot be checked during the walk, so
a lying one leads the walk into garbage until the vectorised check finds the first bad
length and cuts the records there; there is no way to find the next record after a bad
length (the format has no sync marker).

pcapng (draft-ietf-opsawg-pcapng): blocks that carry their own length twice. Section
Header, Interface Description, Enhanced, Simple and the obsolete Packet Block are read,
every other block is skipped. Since each block says where the next one starts, a bad
packet block can be skipped and reading goes on; a bad block length cannot.

:class:`PcapngWalker` reads blocks one by one in a Python loop, which keeps every rule
and every report (sections, byte orders, interfaces and their options, bad blocks) in one
place. But where that loop meets an Enhanced or Simple Packet Block with enough bytes
after it, it hands over to a *run* in numpy: the block starts from there are a chain
through the length field at +4, exactly as pcap records chain through their captured
length, and :func:`pcapng_block_starts` walks it with the same chains and stitching
(stepping from a length under 12, always bad, by 2**32 so the walk moves on). A run then
gathers the first 28 bytes of every block found and checks, in numpy, what the loop would
check of each: a packet block type, a sane and complete length repeated at the block's
end, an interface of this section, captured length within the block, ``max_caplen``, the
original length and the snap length, and a timestamp whose conversion to nanoseconds
needs no clamping (then int64 arithmetic gives it exactly; an interface whose scale does
not allow that gets none). The run takes the blocks before the first that fails any of
this, with exactly the records the loop would have made, none of which changes anything
but the record count, and the loop goes on at that block, with everything as if it had
read the taken blocks itself: so the results are the loop's, for any bytes, and every
block that is not a plain good packet block (and the file's problems) is read by the
loop. A run walks a bounded stretch first (64 KiB, then four times more each step), so
that files where other blocks come often do not pay for walking far past them, and
where runs keep taking too few blocks the loop works alone for a while.
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
    "MAX_BLOCK",
    "MAX_CAPLEN",
    "NO_TIMESTAMP",
    "PcapWalker",
    "PcapngWalker",
    "Walked",
    "open_walker",
    "pcap_record_starts",
    "pcapng_block_starts",
]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]
_Unpack = Callable[[memoryview, int], tuple[Any, ...]]

MAX_CAPLEN = 262144
"""Largest captured length accepted (libpcap's MAXIMUM_SNAPLEN, 256 KiB)."""
MAX_BLOCK = 64 << 20
"""Largest pcapng block accepted: a longer length field is taken as corruption."""
NO_TIMESTAMP = -(1 << 63)
"""Timestamp of a record that has none (a pcapng Simple Packet Block)."""
_I64_MAX = (1 << 63) - 1

PCAP_MAGIC = {  # first four bytes -> (byte order, nanosecond timestamps)
    b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\x4d\x3c\xb2\xa1": ("<", True),
    b"\xa1\xb2\x3c\x4d": (">", True),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_BOM = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
_SHB, _IDB, _OPB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6
_TSRESOL, _TSOFFSET = 9, 14


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
_LAYOUTS = {order: _Layout(*(struct.Struct(order + f) for f in _FORMATS)) for order in "<>"}


@dataclass(frozen=True, slots=True)
class Walked:
    """What a walker found in one block: records as arrays, where it stopped, and why.

    Positions in ``file_offsets`` are file offsets of the record (header or block)
    starts, ``data_offsets`` are offsets of the captured bytes in the block. ``stop``
    is the first block position not consumed; ``need`` the bytes the unfinished
    record at ``stop`` needs in all (0 when nothing is pending). ``problems`` are in
    file order; ``fatal`` says reading cannot go on after the last one.
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


def _strided_rows(block: U8, starts: I64, width: int) -> U8:
    """The ``width`` bytes at each of ``starts`` as a (k, width) array (one fancy-indexing gather).

    The gather is over a view with a ``width``-byte item at every byte position, which numpy
    copies as one item per record (a (n, width) byte view would copy byte by byte).
    """
    block = np.ascontiguousarray(block)
    items = np.ndarray((len(block) - width + 1,), dtype=f"V{width}", buffer=block, strides=(1,))
    rows: U8 = items[starts].view(np.uint8).reshape(-1, width)
    return rows


def _strided_headers(block: U8, starts: I64) -> U8:
    """The 16 bytes at each of ``starts`` as a (k, 16) array (see :func:`_strided_rows`)."""
    return _strided_rows(block, starts, 16)


_SPACING = 1 << 15
"""Bytes between the starts of the walk's chains (see :func:`pcap_record_starts`)."""
_WINDOW = 2048
"""Bytes after each chain start searched for a plausible record header."""
_MIN_LANES = 32
"""Below this many chains still walking, a Python loop is quicker than a numpy step."""
_SYNC_ROUNDS = 8
"""Candidates tried at most in each window, in order."""


class _U32At:
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
class _Chain:
    """How a walk steps: from ``pos`` to ``pos + header + (u32(pos + field) - bias) % 2**32``.

    That is at least ``header`` bytes on, so every walk moves forward.
    """

    field: int
    header: int
    bias: int


_PCAP_CHAIN = _Chain(8, 16, 0)
"""A pcap record: a 16-byte header, then as many bytes as the captured length at +8."""
_PCAPNG_CHAIN = _Chain(4, 12, 12)
"""A pcapng block: as long as its length at +4 (a length under 12 steps 2**32 further)."""


def _loop(
    view: memoryview, pos: int, stop: int, u32_at: _Unpack, chain: _Chain, out: list[int]
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


def pcap_record_starts(
    block: U8,
    start: int,
    order: str,
    *,
    max_caplen: int = MAX_CAPLEN,
    nanosecond: bool = False,
    spacing: int = _SPACING,
    window: int = _WINDOW,
    min_lanes: int = _MIN_LANES,
) -> tuple[I64, int]:
    """The pcap record walk over ``block`` from ``start``: the positions, and where it ends.

    Exactly the positions, and the final ``pos``, of this loop, for any bytes at all::

        pos = start
        while pos <= len(block) - 16:
            positions.append(pos)
            pos += 16 + u32(block, pos + 8)  # in the file's byte order

    but walked in numpy (see the module docstring). ``max_caplen`` and ``nanosecond``
    (and ``spacing``, ``window`` and ``min_lanes``) only tune how chains are started and
    run; they cannot change the result.
    """
    if not 0 < window <= spacing or min_lanes < 1:
        raise ValueError("need 0 < window <= spacing and min_lanes >= 1")
    block = np.ascontiguousarray(block)
    limit = len(block) - 16
    if start > limit:
        return np.zeros(0, dtype=np.int64), start
    firsts = _chain_starts(block, start, order, max_caplen, nanosecond, spacing, window)
    return _walk_chains(block, firsts, limit, order, _PCAP_CHAIN, min_lanes)


def pcapng_block_starts(
    block: U8,
    start: int,
    order: str,
    *,
    limit: int | None = None,
    spacing: int = _SPACING,
    window: int = _WINDOW,
    min_lanes: int = _MIN_LANES,
) -> tuple[I64, int]:
    """The pcapng block walk over ``block`` from ``start``: the positions, and where it ends.

    Exactly the positions, and the final ``pos``, of this loop, for any bytes at all::

        pos = start
        while pos <= limit:  # len(block) - 12 by default
            positions.append(pos)
            length = u32(block, pos + 4)  # in the section's byte order
            pos += length if length >= 12 else length + 2**32

    (A length under 12 is always bad; the walk steps over the rest of the block instead
    of standing still.) ``limit`` is at most ``len(block) - 8``. Walked in numpy like
    :func:`pcap_record_starts`, with chains started at plausible packet blocks (a packet
    block type, and the length repeated at the block's end); ``spacing`` and ``window``
    (multiples of 4) and ``min_lanes`` only tune that, not the result.
    """
    if not 0 < window <= spacing or spacing % 4 or window % 4 or min_lanes < 1:
        raise ValueError("need 0 < window <= spacing, both multiples of 4, and min_lanes >= 1")
    block = np.ascontiguousarray(block)
    limit = len(block) - 12 if limit is None else limit
    if limit > len(block) - 8:
        raise ValueError(f"limit {limit} is past len(block) - 8")
    if start > limit:
        return np.zeros(0, dtype=np.int64), start
    firsts = _block_chain_starts(block, start, limit, order, spacing, window)
    return _walk_chains(block, firsts, limit, order, _PCAPNG_CHAIN, min_lanes)


def _walk_chains(
    block: U8, firsts: I64, limit: int, order: str, chain: _Chain, min_lanes: int
) -> tuple[I64, int]:
    """The walk from ``firsts[0]`` while ``pos <= limit``: the chains from every one of
    ``firsts`` (increasing, all at most ``limit``) walked in lockstep, then stitched."""
    view = memoryview(block)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__
    u32_at = _LAYOUTS[order].u32.unpack_from
    if len(firsts) < min_lanes:  # too few chains to win anything: the plain loop
        found: list[int] = []
        stop = _loop(view, int(firsts[0]), limit + 1, u32_at, chain, found)
        return np.array(found, dtype=np.int64), stop
    u32 = _U32At(block, order)
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
    return _stitch(view, walked, offsets, firsts, exits, limit, u32_at, chain)


def _stitch(
    view: memoryview,
    walked: I64,
    offsets: I64,
    firsts: I64,
    exits: I64,
    limit: int,
    u32_at: _Unpack,
    chain: _Chain,
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


def _first_plausible(
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


def _chain_starts(
    block: U8, start: int, order: str, max_caplen: int, nanosecond: bool, spacing: int, window: int
) -> I64:
    """``start``, then a plausible record start near every ``spacing`` bytes after it.

    Each is the first position in ``window`` bytes after a grid point whose 16 bytes look
    like a record header of this file and whose next header does too: seconds with the
    same high byte as those of the record at ``start``, sub-second part in range,
    captured length not 0 and at most the original and ``max_caplen``. Only the first
    few candidates of each window are tried. Only speed depends on any of this.
    """
    n = len(block)
    limit = n - 16
    grid = np.arange(start + spacing, n - window - 14, spacing, dtype=np.int64)
    if not len(grid):
        return np.array([start], dtype=np.int64)
    high = 3 if order == "<" else 0  # where the high byte of the seconds is
    top = block[start + high]

    def windows(offset: int) -> U8:  # byte ``offset`` of every position in the windows
        return np.lib.stride_tricks.as_strided(
            block[grid[0] + offset :], shape=(len(grid), window), strides=(spacing, 1)
        )

    # Candidates by a cheap test over the windows: the seconds' high byte, and a captured
    # length below 2**24 (its high byte is 0). In window order, then position order.
    hits = np.flatnonzero((windows(high) == top) & (windows(8 + high) == 0))
    u32 = _U32At(block, order)
    frac_limit = 1_000_000_000 if nanosecond else 1_000_000

    def plausible(head: I64) -> npt.NDArray[np.bool_]:
        caplen, wirelen = u32[head + 8], u32[head + 12]
        ok: npt.NDArray[np.bool_] = (
            (block[head + high] == top)
            & (u32[head + 4] < frac_limit)
            & (caplen <= wirelen)
            & (caplen <= max_caplen)
            & (caplen > 0)  # else runs of zero bytes would pass
        )
        return ok

    def and_the_next(at: I64) -> npt.NDArray[np.bool_]:
        after = at + 16 + u32[at + 8]
        inside = after <= limit
        ok: npt.NDArray[np.bool_] = plausible(at) & (
            ~inside | plausible(np.where(inside, after, at))
        )
        return ok

    rows = hits // window
    chosen = _first_plausible(len(grid), rows, grid[rows] + hits % window, and_the_next)
    return np.concatenate(([start], chosen[chosen >= 0]))


def _block_chain_starts(
    block: U8, start: int, limit: int, order: str, spacing: int, window: int
) -> I64:
    """``start``, then a plausible packet block start near every ``spacing`` bytes after it.

    Each is the first position in ``window`` bytes after a grid point, at a multiple of 4
    bytes from ``start`` (as every block of a section is), that holds an Enhanced or Simple
    Packet Block type, a sane length repeated at the block's end, and whose next block
    looks the same. Only the first few candidates of each window are tried. Only speed
    depends on any of this.
    """
    n = len(block)
    grid = np.arange(start + spacing, limit - window + 5, spacing, dtype=np.int64)
    if not len(grid):
        return np.array([start], dtype=np.int64)
    words = window // 4
    kinds = np.ndarray(
        (len(grid), words),
        dtype=order + "u4",
        buffer=block,
        offset=int(grid[0]),
        strides=(spacing, 4),
    )  # the u32 at every candidate position, window by window
    hits = np.flatnonzero((kinds == _EPB) | (kinds == _SPB))
    u32 = _U32At(block, order)

    def plausible(head: I64) -> npt.NDArray[np.bool_]:
        kind, length = u32[head], u32[head + 4].astype(np.int64)
        sane = (length >= 16) & (length % 4 == 0) & (length <= MAX_BLOCK) & (head + length <= n)
        trailing = u32[np.where(sane, head + length - 4, head + 4)]
        ok: npt.NDArray[np.bool_] = ((kind == _EPB) | (kind == _SPB)) & sane & (trailing == length)
        return ok

    def and_the_next(at: I64) -> npt.NDArray[np.bool_]:
        after = at + u32[at + 4]
        inside = after <= limit
        ok: npt.NDArray[np.bool_] = plausible(at) & (
            ~inside | plausible(np.where(inside, after, at))
        )
        return ok

    rows = hits // words
    chosen = _first_plausible(len(grid), rows, grid[rows] + hits % words * 4, and_the_next)
    return np.concatenate(([start], chosen[chosen >= 0]))


class PcapWalker:
    """Walks the records of a pcap file (either byte order, micro- or nanoseconds)."""

    format = "pcap"

    def __init__(self, header: bytes, path: str, max_caplen: int, keep_going: bool) -> None:
        """Parse the 24-byte file header; raise :class:`CaptureError` if it is not one."""
        if len(header) < 24:
            raise CaptureError(path, None, 0, f"truncated pcap file header ({len(header)} bytes)")
        order, nano = PCAP_MAGIC[header[:4]]
        fields = _LAYOUTS[order].pcap_header.unpack_from(header, 4)
        major, minor, _zone, _sigfigs, snaplen, network = fields
        if major != 2:
            raise CaptureError(path, None, 0, f"unsupported pcap version {major}.{minor}")
        self.path = path
        self.order = order
        self.nanosecond = nano
        self.snaplen = snaplen
        self.linktype = network & 0xFFFF  # the upper bits say whether frames end in an FCS
        self.max_caplen = max_caplen
        self.keep_going = keep_going
        self.number = 0  # records delivered or reported so far
        self._caplen = _LAYOUTS[order].u32.unpack_from
        self._u32 = np.dtype(order + "u4")

    def walk(self, block: U8, start: int, base: int, eof: bool) -> Walked:
        """Find the complete records in ``block[start:]``; ``base`` is ``block[0]``'s offset."""
        view = memoryview(block)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__
        end = len(block)
        caplen_at = self._caplen
        at, pos = pcap_record_starts(
            block, start, self.order, max_caplen=self.max_caplen, nanosecond=self.nanosecond
        )
        if pos > end and len(at):  # the last record found runs past the block
            pos, at = int(at[-1]), at[:-1]
        if len(at):
            hdr = _strided_headers(block, at).view(self._u32).astype(np.int64)
        else:
            hdr = np.zeros((0, 4), dtype=np.int64)
        caplen, wirelen = hdr[:, 2], hdr[:, 3]
        hard = caplen > self.max_caplen
        soft = (caplen > (self.snaplen or self.max_caplen)) | (caplen > wirelen)
        bad = np.flatnonzero(hard if self.keep_going else hard | soft)
        cut = int(bad[0]) if len(bad) else len(at)
        fatal = cut < len(at)
        # Soft problems before the cut exist only when keeping going: reported, kept.
        problems = [
            self._problem(i, base + int(at[i]), int(caplen[i]), int(wirelen[i]))
            for i in np.flatnonzero(soft[:cut]).tolist()
        ]
        if fatal:
            problems.append(
                self._problem(cut, base + int(at[cut]), int(caplen[cut]), int(wirelen[cut]))
            )
        need = 0
        if fatal:
            pos = int(at[cut])
        elif pos < end:  # an unfinished record: is its length sane, and is more coming?
            if pos + 16 <= end:
                pending = caplen_at(view, pos + 8)[0]
                need = 16 + pending
                if pending > self.max_caplen:
                    problems.append(self._error(cut, base + pos, self._too_long(pending)))
                    fatal = True
            else:
                need = 16
            if eof and not fatal:
                have = end - pos
                reason = (
                    f"file ends inside the record header ({have} of 16 bytes)"
                    if have < 16
                    else f"file ends inside the record ({have - 16} of {need - 16} bytes)"
                )
                problems.append(self._error(cut, base + pos, reason))
                fatal = True
        ts = hdr[:cut, 0] * 1_000_000_000 + hdr[:cut, 1] * (1 if self.nanosecond else 1000)
        numbers = np.arange(self.number + 1, self.number + 1 + cut, dtype=np.int64)
        self.number += cut
        return Walked(
            numbers=numbers,
            file_offsets=at[:cut] + base,
            data_offsets=at[:cut] + 16,
            caplens=caplen[:cut].copy(),
            wirelens=wirelen[:cut].copy(),
            linktypes=np.full(cut, self.linktype, dtype=np.int64),
            timestamps=ts,
            stop=pos,
            need=need,
            problems=tuple(problems),
            fatal=fatal,
        )

    def _too_long(self, caplen: int) -> str:
        return (
            f"captured length {caplen} is over {self.max_caplen} bytes: corrupt "
            "length field (pcap records cannot be resynchronised after one)"
        )

    def _error(self, index: int, offset: int, reason: str) -> CaptureError:
        return CaptureError(self.path, self.number + index + 1, offset, reason)

    def _problem(self, index: int, offset: int, caplen: int, wirelen: int) -> CaptureError:
        if caplen > self.max_caplen:
            reason = self._too_long(caplen)
        elif caplen > (self.snaplen or self.max_caplen):
            reason = f"captured length {caplen} is over the snap length {self.snaplen}"
        else:
            reason = f"captured length {caplen} is over the original length {wirelen}"
        return self._error(index, offset, reason)


@dataclass(frozen=True, slots=True)
class _Interface:
    """A pcapng interface: link type, snap length (0: none) and timestamp scale."""

    linktype: int
    snaplen: int
    mul: int  # nanoseconds = ticks * mul // div + offset
    div: int
    offset: int


_U64_MAX = (1 << 64) - 1


def _tick_range(info: _Interface) -> tuple[int, int]:
    """The ticks ``first..last`` that :func:`_nanoseconds` converts exactly, unclamped.

    ``t * mul // div + offset`` is at least ``offset``: when that fits an int64, the value
    needs no clamping for ``t <= last``, and int64 arithmetic, which wraps modulo 2**64,
    gives it exactly, as long as ``div`` fits too and a remainder's ``r * mul`` fits a u64.
    (1, 0), no ticks at all, for an interface where these do not hold.
    """
    mul, div, offset = info.mul, info.div, info.offset
    if not (-_I64_MAX <= offset <= _I64_MAX and div <= _I64_MAX and (div - 1) * mul <= _U64_MAX):
        return 1, 0
    # t * mul // div <= _I64_MAX - offset  <=>  t * mul < (_I64_MAX - offset + 1) * div
    return 0, min(((_I64_MAX - offset + 1) * div - 1) // mul, _U64_MAX)


@dataclass(frozen=True, slots=True)
class _Interfaces:
    """A section's interfaces as arrays, to check and read packet blocks in numpy."""

    count: int
    linktype: I64
    snaplen: I64
    mul: I64
    div: U64
    offset: I64
    first: U64  # ticks first..last: converted exactly (see _tick_range)
    last: U64
    whole: bool  # every div is 1: ticks * mul + offset

    @classmethod
    def of(cls, interfaces: list[_Interface]) -> _Interfaces:
        ranges = [_tick_range(i) for i in interfaces]
        exact = [first == 0 for first, _ in ranges]  # the others' scales need not fit arrays

        def column(values: list[int], dtype: type[np.generic]) -> Any:
            return np.array([v if ok else 1 for v, ok in zip(values, exact, strict=True)], dtype)

        return cls(
            count=len(interfaces),
            linktype=np.array([i.linktype for i in interfaces], dtype=np.int64),
            snaplen=np.array([i.snaplen for i in interfaces], dtype=np.int64),
            mul=column([i.mul for i in interfaces], np.int64),
            div=column([i.div for i in interfaces], np.uint64),
            offset=column([i.offset for i in interfaces], np.int64),
            first=np.array([r[0] for r in ranges], dtype=np.uint64),
            last=np.array([r[1] for r in ranges], dtype=np.uint64),
            whole=all(i.div == 1 or not ok for i, ok in zip(interfaces, exact, strict=True)),
        )


def _nanoseconds(ticks: U64, at: int | I64, ifs: _Interfaces) -> I64:
    """``ticks * mul // div + offset`` of interface(s) ``at``: exact for ticks in
    ``first..last`` (checked by the caller), anything for others."""
    mul, offset = ifs.mul[at], ifs.offset[at]
    if ifs.whole:
        ns: I64 = ticks.view(np.int64) * mul + offset
        return ns
    div = ifs.div[at]
    q, r = np.divmod(ticks, div)
    ns = q.view(np.int64) * mul + (r * mul.astype(np.uint64) // div).astype(np.int64) + offset
    return ns


@dataclass(frozen=True, slots=True)
class _NgTuning:
    """When and how :class:`PcapngWalker` reads packet blocks in numpy: speed, not results."""

    least: int = 32 << 10  # bytes left in the block for a numpy run to be tried
    # bytes walked by a run's first step (each next step: 4 times more), unless the last
    # run went to the end of its block: then as many as that run went
    first: int = 64 << 10
    worth: int = 64  # blocks a run must take to be worth trying again at once, else ...
    backoff: int = 64  # ... that many blocks (doubled each time, to 4096) go the slow way
    spacing: int = _SPACING  # pcapng_block_starts' tuning
    window: int = _WINDOW
    min_lanes: int = _MIN_LANES


_OK, _SKIP, _STOP = 0, 1, 2  # outcome of one pcapng block
_Columns = tuple[I64, I64, I64, I64, I64, I64, I64]  # Walked's arrays, in its field order


class PcapngWalker:
    """Walks the blocks of a pcapng file: any number of sections, either byte order."""

    format = "pcapng"

    def __init__(self, path: str, max_caplen: int, keep_going: bool) -> None:
        self.path = path
        self.max_caplen = max_caplen
        self.keep_going = keep_going
        self.number = 0  # packet blocks seen (delivered or reported)
        self.order = "<"
        self.interfaces: list[_Interface] = []
        self.tuning = _NgTuning()
        self._layout = _LAYOUTS["<"]
        self._u32 = self._layout.u32.unpack_from
        self._records: list[tuple[int, int, int, int, int, int, int]] = []
        self._columns: list[_Columns] = []  # records found before those in _records
        self._problems: list[CaptureError] = []
        self._arrays: _Interfaces | None = None  # self.interfaces as arrays, when needed
        self._slow = 0  # blocks to read one by one before trying numpy again
        self._misses = 0  # numpy runs in a row that took too few blocks to pay
        self._reach = 0  # bytes walked by the next run's first step (0: tuning.first)

    def walk(self, block: U8, start: int, base: int, eof: bool) -> Walked:
        """Find the complete blocks in ``block[start:]``; ``base`` is ``block[0]``'s offset."""
        view = memoryview(block)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__
        end = len(block)
        self._records, self._columns, self._problems = [], [], []
        add = self._records.append
        head, epb = self._layout.pair32.unpack_from, self._layout.epb.unpack_from
        max_caplen = self.max_caplen
        pos, need, fatal = start, 0, False
        while pos < end:
            if end - pos < 12:
                need = 12
                break
            btype, blen = head(view, pos)
            if self._slow:
                self._slow -= 1
            elif btype in (_EPB, _SPB) and self.interfaces and end - pos >= self.tuning.least:
                pos = self._run(view, block, pos, base)  # the block it stops at goes the slow way
                continue
            if btype == _SHB:  # a section header (the same type in either order): byte order
                order = _BOM.get(bytes(view[pos + 8 : pos + 12]))
                if order is None:
                    fatal = self._fail(None, base + pos, "bad section header byte-order magic")
                    break
                self.order, self._layout = order, _LAYOUTS[order]
                self._u32 = self._layout.u32.unpack_from
                head, epb = self._layout.pair32.unpack_from, self._layout.epb.unpack_from
                btype, blen = head(view, pos)
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                fatal = self._fail(None, base + pos, f"bad block length {blen} (type {btype:#x})")
                break
            if blen > end - pos:
                need = blen
                break
            if self._u32(view, pos + blen - 4)[0] != blen:
                reason = f"block length {blen} does not match its trailing copy (type {btype:#x})"
                fatal = self._fail(None, base + pos, reason)
                break
            if btype == _EPB and blen >= 32:  # the fast path for a good Enhanced Packet Block
                iface, hi, lo, caplen, wirelen = epb(view, pos + 8)
                if iface < len(self.interfaces):
                    info = self.interfaces[iface]
                    if (
                        caplen <= blen - 32
                        and caplen <= max_caplen
                        and caplen <= wirelen
                        and (caplen <= info.snaplen or not info.snaplen)
                    ):
                        self.number += 1
                        ts = ((hi << 32) | lo) * info.mul // info.div + info.offset
                        if not -_I64_MAX <= ts <= _I64_MAX:
                            ts = _I64_MAX if ts > 0 else -_I64_MAX
                        add((self.number, base + pos, pos + 28, caplen, wirelen, info.linktype, ts))
                        pos += blen
                        continue
            outcome = self._block(view, btype, pos, blen, base)  # every check, and reports
            if outcome == _STOP or (outcome == _SKIP and not self.keep_going):
                fatal = True
                break
            pos += blen
        if eof and pos < end and not fatal:
            packet = end - pos >= 4 and self._u32(view, pos)[0] in (_EPB, _SPB, _OPB)
            number = self.number + 1 if packet else None
            reason = f"file ends inside a block ({end - pos} of {need} bytes)"
            fatal = self._fail(number, base + pos, reason)
        return self._result(pos, 0 if fatal else need, fatal)

    def _run(self, view: memoryview, block: U8, pos: int, base: int) -> int:
        """Take the run of plain packet blocks from ``pos`` in numpy (see the module
        docstring); returns the position of the first block it leaves to the loop."""
        if self._records:  # the records so far go first
            self._columns.append(self._stack(self._records))
            self._records.clear()
        tune = self.tuning
        end = len(block)
        last = end - 28  # the last position whose first 28 bytes (EPB fields) are in the block
        begin, size, taken = pos, self._reach or tune.first, 0
        while True:
            limit = min(last, pos + size)
            at, stop = pcapng_block_starts(
                block,
                pos,
                self.order,
                limit=limit,
                spacing=tune.spacing,
                window=tune.window,
                min_lanes=tune.min_lanes,
            )
            k = self._take(block, at, base)
            taken += k
            if k < len(at):  # a block the loop must read
                pos = int(at[k])
                cut = self._u32(view, pos + 4)[0] > end - pos  # by the end of this block
                self._reach = pos - begin if cut else 0  # else the next run starts small
                break
            pos = stop  # the next block, after the last one taken (or pos, if none)
            if limit == last:  # the next run may well go as far in one step
                self._reach = pos - begin
                break
            size *= 4
        if taken >= tune.worth:
            self._slow, self._misses = 1, 0
        else:  # runs here do not pay: read one by one for a while, longer each time
            self._slow = max(1, min(tune.backoff << self._misses, 4096))
            self._misses = min(self._misses + 1, 12)
        return pos

    def _take(self, block: U8, at: I64, base: int) -> int:
        """Record the packet blocks at ``at``, up to the first that is not a good Enhanced
        or Simple Packet Block, exactly as the loop would; returns how many it took."""
        if not len(at):
            return 0
        end = len(block)
        ifs = self._arrays or _Interfaces.of(self.interfaces)
        self._arrays = ifs
        u32 = np.dtype(self.order + "u4")
        # type, length, interface, timestamp (high, low), captured and original length
        fields = _strided_rows(block, at, 28).view(u32)
        kind, blen = fields[:, 0], fields[:, 1].astype(np.int64)
        iface = fields[:, 2]
        caplen, wirelen = fields[:, 5].astype(np.int64), fields[:, 6].astype(np.int64)
        ticks = (fields[:, 3].astype(np.uint64) << np.uint64(32)) | fields[:, 4]
        which: int | I64 = 0 if ifs.count == 1 else np.minimum(iface, ifs.count - 1)
        snaplen = ifs.snaplen[which]
        ok = (
            (kind == _EPB)
            & (blen >= 32)
            & (iface < ifs.count)
            & (caplen <= blen - 32)
            & (caplen <= self.max_caplen)
            & (caplen <= wirelen)
            & ((caplen <= snaplen) | (snaplen == 0))
            & (ticks >= ifs.first[which])
            & (ticks <= ifs.last[which])
        )
        spb = kind == _SPB
        simple = bool(spb.any())
        if simple:  # an SPB: interface 0, original length at +8, no timestamp
            spb_wirelen = iface.astype(np.int64)
            spb_caplen = np.minimum(spb_wirelen, blen - 16)
            if ifs.snaplen[0]:
                spb_caplen = np.minimum(spb_caplen, ifs.snaplen[0])
            ok |= spb & (blen >= 16) & (spb_caplen <= self.max_caplen)
        ok &= (blen % 4 == 0) & (blen <= MAX_BLOCK) & (blen <= end - at)
        ok &= _U32At(block, self.order)[np.where(ok, at + blen - 4, at + 4)] == blen
        k = len(at) if ok.all() else int(np.argmin(ok))
        if not k:
            return 0
        numbers = np.arange(self.number + 1, self.number + 1 + k, dtype=np.int64)
        self.number += k
        where = at[:k]
        if isinstance(which, int):
            linktype = np.full(k, ifs.linktype[0], dtype=np.int64)
        else:
            which = which[:k]
            linktype = ifs.linktype[which]
        timestamp = _nanoseconds(ticks[:k], which, ifs)
        data, caplen, wirelen = where + 28, caplen[:k], wirelen[:k]
        if simple and spb[:k].any():
            spb = spb[:k]
            data = where + np.where(spb, 12, 28)
            caplen = np.where(spb, spb_caplen[:k], caplen)
            wirelen = np.where(spb, spb_wirelen[:k], wirelen)
            linktype = np.where(spb, ifs.linktype[0], linktype)
            timestamp = np.where(spb, NO_TIMESTAMP, timestamp)
        self._columns.append((numbers, where + base, data, caplen, wirelen, linktype, timestamp))
        return k

    def _fail(self, number: int | None, offset: int, reason: str) -> bool:
        """Report a problem; returns True, for ``fatal = self._fail(...)``."""
        self._problems.append(CaptureError(self.path, number, offset, reason))
        return True

    def _block(self, view: memoryview, btype: int, pos: int, blen: int, base: int) -> int:
        """Read one complete block: _OK, _SKIP (bad packet, reported) or _STOP (reported)."""
        lay = self._layout
        if btype == _SHB:
            major, minor = lay.pair16.unpack_from(view, pos + 12) if blen >= 28 else (0, 0)
            if major != 1:
                reason = f"unsupported pcapng section (version {major}.{minor}, {blen} bytes)"
                self._fail(None, base + pos, reason)
                return _STOP
            self.interfaces, self._arrays = [], None
        elif btype == _IDB:
            if blen < 20:
                self._fail(None, base + pos, f"interface block too short ({blen} bytes)")
                return _STOP  # the interface numbers after it would be wrong
            linktype, _, snaplen = lay.idb.unpack_from(view, pos + 8)
            self.interfaces.append(self._interface(view, linktype, snaplen, pos + 16, pos + blen))
            self._arrays = None
        elif btype in (_EPB, _OPB, _SPB):
            self.number += 1
            if blen < (16 if btype == _SPB else 32):
                self._fail(self.number, base + pos, f"packet block too short ({blen} bytes)")
                return _SKIP
            if btype == _EPB:
                iface, hi, lo, caplen, wirelen = lay.epb.unpack_from(view, pos + 8)
                return self._packet(iface, (hi << 32) | lo, caplen, wirelen, pos, 28, blen, base)
            if btype == _OPB:
                iface, _, hi, lo, caplen, wirelen = lay.opb.unpack_from(view, pos + 8)
                return self._packet(iface, (hi << 32) | lo, caplen, wirelen, pos, 28, blen, base)
            wirelen = self._u32(view, pos + 8)[0]
            snap = self.interfaces[0].snaplen if self.interfaces else 0
            caplen = min(wirelen, snap or wirelen, blen - 16)
            return self._packet(0, None, caplen, wirelen, pos, 12, blen, base)
        return _OK  # every other block type is skipped

    def _packet(
        self,
        iface: int,
        ticks: int | None,
        caplen: int,
        wirelen: int,
        pos: int,
        skip: int,
        blen: int,
        base: int,
    ) -> int:
        """Record one packet (data at ``pos + skip``), or report why it cannot be read."""
        room = blen - skip - 4
        if iface >= len(self.interfaces):
            self._fail(self.number, base + pos, f"no interface {iface} in this section")
            return _SKIP
        if caplen > room or caplen > self.max_caplen:
            reason = f"captured length {caplen} is over the block's {room} bytes"
            if caplen > self.max_caplen:
                reason = f"captured length {caplen} is over {self.max_caplen} bytes"
            self._fail(self.number, base + pos, reason)
            return _SKIP
        info = self.interfaces[iface]
        outcome = _OK
        if info.snaplen and caplen > info.snaplen:
            reason = f"captured length {caplen} is over the snap length {info.snaplen}"
            outcome = _SKIP
        elif caplen > wirelen:
            reason = f"captured length {caplen} is over the original length {wirelen}"
            outcome = _SKIP
        if outcome == _SKIP:
            self._fail(self.number, base + pos, reason)
        if outcome == _OK or self.keep_going:  # when keeping going, such a record is kept
            ts = NO_TIMESTAMP
            if ticks is not None:
                ts = max(min(ticks * info.mul // info.div + info.offset, _I64_MAX), -_I64_MAX)
            self._records.append(
                (self.number, base + pos, pos + skip, caplen, wirelen, info.linktype, ts)
            )
        return outcome

    def _interface(
        self, view: memoryview, linktype: int, snaplen: int, pos: int, end: int
    ) -> _Interface:
        """An interface with its if_tsresol and if_tsoffset options (malformed ones ignored)."""
        exp, base10, offset = 6, True, 0
        lay = self._layout
        while pos + 4 <= end - 4:
            code, length = lay.pair16.unpack_from(view, pos)
            if code == 0 or pos + 4 + length > end - 4:
                break
            if code == _TSRESOL and length >= 1:
                exp, base10 = view[pos + 4] & 0x7F, not view[pos + 4] & 0x80
            elif code == _TSOFFSET and length >= 8:
                offset = lay.i64.unpack_from(view, pos + 4)[0] * 1_000_000_000
            pos += 4 + (length + 3) // 4 * 4
        if not base10:
            return _Interface(linktype, snaplen, 1_000_000_000, 1 << exp, offset)
        if exp <= 9:
            return _Interface(linktype, snaplen, 10 ** (9 - exp), 1, offset)
        return _Interface(linktype, snaplen, 1, 10 ** (exp - 9), offset)

    @staticmethod
    def _stack(records: list[tuple[int, int, int, int, int, int, int]]) -> _Columns:
        """Records found one by one, as columns."""
        n, f, d, c, w, lt, ts = np.array(records, dtype=np.int64).reshape(-1, 7).T.copy()
        return n, f, d, c, w, lt, ts

    def _result(self, stop: int, need: int, fatal: bool) -> Walked:
        """The records found, as columns in :class:`Walked`'s field order."""
        if self._records or not self._columns:
            self._columns.append(self._stack(self._records))
        if len(self._columns) == 1:
            n, f, d, c, w, lt, ts = self._columns[0]
        else:
            n, f, d, c, w, lt, ts = (
                np.concatenate(parts) for parts in zip(*self._columns, strict=True)
            )
        return Walked(n, f, d, c, w, lt, ts, stop, need, tuple(self._problems), fatal)


def open_walker(
    head: bytes, path: str, max_caplen: int, keep_going: bool
) -> tuple[PcapWalker | PcapngWalker, int]:
    """The walker for a file that starts with ``head``, and where its first record starts.

    Raises :class:`CaptureError` for a file that is neither pcap nor pcapng.
    """
    if head[:4] in PCAP_MAGIC:
        return PcapWalker(head[:24], path, max_caplen, keep_going), 24
    if head[:4] == PCAPNG_MAGIC:
        return PcapngWalker(path, max_caplen, keep_going), 0
    if len(head) < 4:
        raise CaptureError(path, None, 0, f"not a capture file: only {len(head)} bytes")
    raise CaptureError(
        path, None, 0, f"not a pcap or pcapng file (magic {head[:4].hex()}, also not gzip)"
    )
