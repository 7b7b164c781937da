"""The pcap and pcapng file formats, sans-I/O: walk one block of bytes into record arrays.

:mod:`vxsum.capture` reads a file in large blocks and hands each block to a *walker*
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
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import CaptureError

__all__ = [
    "MAX_BLOCK",
    "MAX_CAPLEN",
    "NO_TIMESTAMP",
    "PcapWalker",
    "PcapngWalker",
    "Walked",
    "open_walker",
    "pcap_record_starts",
]

I64 = npt.NDArray[np.int64]
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


def _strided_headers(block: U8, starts: I64) -> npt.NDArray[np.uint8]:
    """The 16 bytes at each of ``starts`` as a (k, 16) array (one fancy-indexing gather).

    The gather is over a view with a 16-byte item at every byte position, which numpy
    copies as one item per record (a (n, 16) byte view would copy byte by byte).
    """
    block = np.ascontiguousarray(block)
    items = np.ndarray((len(block) - 15,), dtype="V16", buffer=block, strides=(1,))
    rows: npt.NDArray[np.uint8] = items[starts].view(np.uint8).reshape(-1, 16)
    return rows


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


def _loop(view: memoryview, pos: int, stop: int, caplen_at: _Unpack, out: list[int]) -> int:
    """The plain sequential walk from ``pos`` while ``pos < stop``; returns where it ends."""
    append = out.append
    while pos < stop:
        append(pos)
        pos += 16 + caplen_at(view, pos + 8)[0]
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
    n = len(block)
    limit = n - 16
    caplen_at = _LAYOUTS[order].u32.unpack_from
    view = memoryview(block)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__
    if start > limit:
        return np.zeros(0, dtype=np.int64), start
    firsts = _chain_starts(block, start, order, max_caplen, nanosecond, spacing, window)
    if len(firsts) < min_lanes:  # too few chains to win anything: the plain loop
        found: list[int] = []
        stop = _loop(view, start, limit + 1, caplen_at, found)
        return np.array(found, dtype=np.int64), stop
    u32 = _U32At(block, order)
    ends = np.append(firsts[1:], limit + 1)  # chain j walks while pos < ends[j]
    count = len(firsts)
    exits = np.empty(count, dtype=np.int64)  # each chain's first position >= its end
    # The chains in lockstep, as positions + 8 (where the length field is); chains that
    # reach their end drop out, and the last few finish in Python.
    parts: list[I64] = []
    lanes: list[I64] = []
    chain = np.arange(count)
    at, stop_at = firsts + 8, ends + 8
    while len(at) >= min_lanes:
        parts.append(at)
        lanes.append(chain)
        at = at + 16 + u32[at]
        live = at < stop_at
        if not live.all():
            dead = ~live
            exits[chain[dead]] = at[dead] - 8
            at, chain, stop_at = at[live], chain[live], stop_at[live]
    # Every position found, with its chain and its step along that chain.
    pos_parts = [np.concatenate(parts) - 8]
    lane_parts = [np.concatenate(lanes)]
    step_parts = [np.repeat(np.arange(len(parts)), [len(p) for p in parts])]
    for j, p, e in zip(chain.tolist(), (at - 8).tolist(), (stop_at - 8).tolist(), strict=True):
        rest: list[int] = []
        exits[j] = _loop(view, p, e, caplen_at, rest)
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
    return _stitch(view, walked, offsets, firsts, exits, limit, caplen_at)


def _stitch(
    view: memoryview,
    walked: I64,
    offsets: I64,
    firsts: I64,
    exits: I64,
    limit: int,
    caplen_at: _Unpack,
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
            pos = _loop(view, pos, starts[m + 1] if m < last else limit + 1, caplen_at, found)
            pieces.append(np.array(found, dtype=np.int64))
            j = m


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

    # Try each window's first candidate, then the next one for the windows whose
    # candidate failed, and so on, a few rounds (a window of look-alikes costs no more).
    first = np.searchsorted(hits // window, np.arange(len(grid) + 1))  # each window's hits
    rows = np.flatnonzero(first[:-1] < first[1:])
    k = first[rows]
    chosen = np.full(len(grid), -1, dtype=np.int64)
    for _ in range(_SYNC_ROUNDS):
        at = grid[rows] + hits[k] % window
        after = at + 16 + u32[at + 8]
        inside = after <= limit
        ok = plausible(at) & (~inside | plausible(np.where(inside, after, at)))
        chosen[rows[ok]] = at[ok]
        k, rows = k[~ok] + 1, rows[~ok]
        more = k < first[rows + 1]
        k, rows = k[more], rows[more]
        if not len(rows):
            break
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


_OK, _SKIP, _STOP = 0, 1, 2  # outcome of one pcapng block


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
        self._layout = _LAYOUTS["<"]
        self._u32 = self._layout.u32.unpack_from
        self._records: list[tuple[int, int, int, int, int, int, int]] = []
        self._problems: list[CaptureError] = []

    def walk(self, block: U8, start: int, base: int, eof: bool) -> Walked:
        """Find the complete blocks in ``block[start:]``; ``base`` is ``block[0]``'s offset."""
        view = memoryview(block)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__
        end = len(block)
        self._records, self._problems = [], []
        add = self._records.append
        head, epb = self._layout.pair32.unpack_from, self._layout.epb.unpack_from
        max_caplen = self.max_caplen
        pos, need, fatal = start, 0, False
        while pos < end:
            if end - pos < 12:
                need = 12
                break
            btype, blen = head(view, pos)
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
            self.interfaces = []
        elif btype == _IDB:
            if blen < 20:
                self._fail(None, base + pos, f"interface block too short ({blen} bytes)")
                return _STOP  # the interface numbers after it would be wrong
            linktype, _, snaplen = lay.idb.unpack_from(view, pos + 8)
            self.interfaces.append(self._interface(view, linktype, snaplen, pos + 16, pos + blen))
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

    def _result(self, stop: int, need: int, fatal: bool) -> Walked:
        """The records found, as columns in :class:`Walked`'s field order."""
        n, f, d, c, w, lt, ts = np.array(self._records, dtype=np.int64).reshape(-1, 7).T.copy()
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
