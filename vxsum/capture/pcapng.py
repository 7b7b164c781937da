"""The pcapng file format (draft-ietf-opsawg-pcapng): blocks that carry their length twice.

Section Header, Interface Description, Enhanced, Simple and the obsolete Packet Block are
read, every other block is skipped. Since each block says where the next one starts, a
bad packet block can be skipped and reading goes on; a bad block length cannot.

:class:`PcapngWalker` reads blocks one by one in a Python loop, which keeps every rule
and every report (sections, byte orders, interfaces and their options, bad blocks) in one
place. But where that loop meets an Enhanced or Simple Packet Block with enough bytes
after it, it hands over to a *run* in numpy: the block starts from there are a chain
through the length field at +4, exactly as pcap records chain through their captured
length, and :func:`pcapng_block_starts` walks it with the same chains and stitching
(:mod:`vxsum.capture.walking`; stepping from a length under 12, always bad, by 2**32 so
the walk moves on). A run then gathers the first 28 bytes of every block found and
checks, in numpy, what the loop would check of each: a packet block type, a sane and
complete length repeated at the block's end, an interface of this section, captured
length within the block, ``max_caplen``, the original length and the snap length.
Timestamps become nanoseconds in int64 arithmetic where that is exact, and in Python
integers, as the loop computes them, for the rest (a scale such as 2**-60, a clamped far
future). The run takes the blocks before the first that fails any of this, with exactly
the records the loop would
have made, none of which changes anything but the record count, and the loop goes on at
that block, with everything as if it had read the taken blocks itself: so the results
are the loop's, for any bytes, and every block that is not a plain good packet block
(and the file's problems) is read by the loop. A run walks a bounded stretch first (64
KiB, then four times more each step), so that files where other blocks come often do not
pay for walking far past them, and where runs keep taking too few blocks the loop works
alone for a while.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from .problems import EXAMPLES, kind_of
from .walking import (
    LAYOUTS,
    MIN_LANES,
    NO_TIMESTAMP,
    SPACING,
    WINDOW,
    Chain,
    U32At,
    Walked,
    first_plausible,
    strided_rows,
    walk_chains,
)

__all__ = ["MAX_BLOCK", "PCAPNG_MAGIC", "PcapngWalker", "pcapng_block_starts"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]

MAX_BLOCK = 256 << 20
"""Largest pcapng block accepted (256 MiB): a longer length field is taken as corruption.

A block is read whole, so this bounds memory (about twice the largest block, at worst);
the reader grows its buffer as the block's bytes arrive, so a length field that claims
more than the file holds costs no more than the file's bytes. libpcap stops at 16 MiB
(more where an interface's snap length needs it); larger custom, comment or secrets
blocks exist, and a packet block never comes near this (``max_caplen`` is 256 KiB)."""
_I64_MAX = (1 << 63) - 1
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_BOM = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
_SHB, _IDB, _OPB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6
_TSRESOL, _TSOFFSET = 9, 14

_PCAPNG_CHAIN = Chain(4, 12, 12)
"""A pcapng block: as long as its length at +4 (a length under 12 steps 2**32 further)."""


def pcapng_block_starts(
    block: U8,
    start: int,
    order: str,
    *,
    limit: int | None = None,
    spacing: int = SPACING,
    window: int = WINDOW,
    min_lanes: int = MIN_LANES,
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
    return walk_chains(block, firsts, limit, order, _PCAPNG_CHAIN, min_lanes)


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
    u32 = U32At(block, order)

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
    chosen = first_plausible(len(grid), rows, grid[rows] + hits % words * 4, and_the_next)
    return np.concatenate(([start], chosen[chosen >= 0]))


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
    spacing: int = SPACING  # pcapng_block_starts' tuning
    window: int = WINDOW
    min_lanes: int = MIN_LANES


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
        self._layout = LAYOUTS["<"]
        self._u32 = self._layout.u32.unpack_from
        self._records: list[tuple[int, int, int, int, int, int, int]] = []
        self._columns: list[_Columns] = []  # records found before those in _records
        self._problems: list[CaptureError] = []
        self._listed: Counter[str] = Counter()  # problems listed in this walk, by kind
        self._unlisted: Counter[str] = Counter()  # and those only counted
        self._arrays: _Interfaces | None = None  # self.interfaces as arrays, when needed
        self._slow = 0  # blocks to read one by one before trying numpy again
        self._misses = 0  # numpy runs in a row that took too few blocks to pay
        self._reach = 0  # bytes walked by the next run's first step (0: tuning.first)

    def walk(self, block: U8, start: int, base: int, eof: bool) -> Walked:
        """Find the complete blocks in ``block[start:]``; ``base`` is ``block[0]``'s offset."""
        view = memoryview(block)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__
        end = len(block)
        self._records, self._columns, self._problems = [], [], []
        self._listed, self._unlisted = Counter(), Counter()
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
                self.order, self._layout = order, LAYOUTS[order]
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
        fields = strided_rows(block, at, 28).view(u32)
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
        ok &= U32At(block, self.order)[np.where(ok, at + blen - 4, at + 4)] == blen
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
        ticks, iface = ticks[:k], iface[:k]
        inexact = (ticks < ifs.first[which]) | (ticks > ifs.last[which])
        inexact = np.flatnonzero(inexact & (kind[:k] == _EPB))  # an SPB has no timestamp
        for j in inexact.tolist():  # rare scales and far timestamps: as the loop, in Python
            info = self.interfaces[int(iface[j])]
            ts = int(ticks[j]) * info.mul // info.div + info.offset
            timestamp[j] = max(min(ts, _I64_MAX), -_I64_MAX)
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

    def _fail(self, number: int | None, offset: int, reason: str, stops: bool = True) -> bool:
        """Report a problem; returns True, for ``fatal = self._fail(...)``.

        One that ``stops`` the walk is always listed; the others only while their kind
        has had fewer than EXAMPLES in this walk, and are counted beyond (see Walked).
        """
        kind = kind_of(reason)
        if stops or self._listed[kind] < EXAMPLES:
            self._problems.append(CaptureError(self.path, number, offset, reason))
            self._listed[kind] += 1
        else:
            self._unlisted[kind] += 1
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
            interface = self._interface(view, linktype, snaplen, pos, blen, base)
            if interface is None:
                return _STOP
            self.interfaces.append(interface)
            self._arrays = None
        elif btype in (_EPB, _OPB, _SPB):
            self.number += 1
            if blen < (16 if btype == _SPB else 32):
                reason = f"packet block too short ({blen} bytes)"
                self._fail(self.number, base + pos, reason, not self.keep_going)
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
            reason = f"no interface {iface} in this section"
            self._fail(self.number, base + pos, reason, not self.keep_going)
            return _SKIP
        if caplen > room or caplen > self.max_caplen:
            reason = f"captured length {caplen} is over the block's {room} bytes"
            if caplen > self.max_caplen:
                reason = f"captured length {caplen} is over {self.max_caplen} bytes"
            self._fail(self.number, base + pos, reason, not self.keep_going)
            return _SKIP
        info = self.interfaces[iface]
        outcome = _OK
        if caplen > wirelen:
            reason = f"captured length {caplen} is over the original length {wirelen}"
            self._fail(self.number, base + pos, reason, not self.keep_going)
            outcome = _SKIP
        elif info.snaplen and caplen > info.snaplen:  # a note: read, as tcpdump does
            reason = f"captured length {caplen} is over the snap length {info.snaplen} (kept whole)"
            self._fail(self.number, base + pos, reason, False)
        if outcome == _OK or self.keep_going:  # when keeping going, such a record is kept
            ts = NO_TIMESTAMP
            if ticks is not None:
                ts = max(min(ticks * info.mul // info.div + info.offset, _I64_MAX), -_I64_MAX)
            self._records.append(
                (self.number, base + pos, pos + skip, caplen, wirelen, info.linktype, ts)
            )
        return outcome

    def _interface(
        self, view: memoryview, linktype: int, snaplen: int, start: int, blen: int, base: int
    ) -> _Interface | None:
        """The interface of the block at ``start``, with its if_tsresol and if_tsoffset
        options (others ignored); None, reported, if an option runs past the block's end
        (libpcap refuses such a file too)."""
        exp, base10, offset = 6, True, 0
        lay = self._layout
        pos, end = start + 16, start + blen
        while pos + 4 <= end - 4:
            code, length = lay.pair16.unpack_from(view, pos)
            if code == 0:
                break
            if pos + 4 + (length + 3) // 4 * 4 > end - 4:
                reason = (
                    f"interface block: option {code} at byte {base + pos} has length {length}, "
                    f"past the block's end ({end - 4 - pos - 4} bytes left)"
                )
                self._fail(None, base + start, reason)
                return None
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
        unlisted = tuple(self._unlisted.items())
        return Walked(n, f, d, c, w, lt, ts, stop, need, tuple(self._problems), fatal, unlisted)
