"""The numpy pcapng walk against the per-block loop it speeds up.

:meth:`PcapngWalker.walk <vxsum.capture.pcapng.PcapngWalker.walk>` takes runs of plain Enhanced
and Simple Packet Blocks in numpy (:func:`vxsum.capture.pcapng.pcapng_block_starts`, then one
vectorised check) and leaves every other block to its per-block loop. It must give exactly
the :class:`~vxsum.capture.pcapng.Walked` results (every array, ``stop``, ``need``, the problems
with their numbers, offsets and messages, ``fatal``) of the walker as it was before,
kept below verbatim as :class:`ReferenceWalker`, for any stream: several sections in
either byte order, interfaces with if_tsresol and if_tsoffset, EPB, SPB, OPB and other
blocks, bad block lengths and trailing lengths, bad packet blocks, truncation, blocks
split anywhere across walk() calls, with and without keep_going. Small tunings put the
numpy runs, their chains and their stitching into streams of a few hundred bytes.
"""

from __future__ import annotations

import io
import itertools
import struct
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vxsum.capture import pcapng as pcapfmt
from vxsum.capture import reader as capture
from vxsum.capture import walking
from vxsum.capture.pcapng import (
    _BOM,
    _EPB,
    _I64_MAX,
    _IDB,
    _OPB,
    _SHB,
    _SPB,
    _TSOFFSET,
    _TSRESOL,
    MAX_BLOCK,
    U8,
    PcapngWalker,
    _Interface,
    _Interfaces,
    _nanoseconds,
    _NgTuning,
    _tick_range,
    pcapng_block_starts,
)
from vxsum.capture.problems import EXAMPLES, kind_of
from vxsum.capture.walking import LAYOUTS as _LAYOUTS
from vxsum.capture.walking import MAX_CAPLEN, NO_TIMESTAMP, Walked
from vxsum.errors import CaptureError

_OK, _SKIP, _STOP = 0, 1, 2  # outcome of one pcapng block

# --- the oracle -----------------------------------------------------------------------------


class ReferenceWalker:
    """PcapngWalker as it was before the numpy runs: one block at a time (verbatim, but
    for issue 14: a captured length over the snap length is a note, an interface option
    past its block's end stops, and only the first problems of each kind are listed)."""

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
            interface = self._interface(view, linktype, snaplen, pos, blen, base)
            if interface is None:
                return _STOP
            self.interfaces.append(interface)
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
        if caplen > wirelen:
            reason = f"captured length {caplen} is over the original length {wirelen}"
            self._fail(self.number, base + pos, reason)
            outcome = _SKIP
        elif info.snaplen and caplen > info.snaplen:
            reason = f"captured length {caplen} is over the snap length {info.snaplen} (kept whole)"
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
        self, view: memoryview, linktype: int, snaplen: int, start: int, blen: int, base: int
    ) -> _Interface | None:
        """An interface with its if_tsresol and if_tsoffset options (None if one runs past
        the block's end)."""
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

    def _result(self, stop: int, need: int, fatal: bool) -> Walked:
        """The records found, as columns in :class:`Walked`'s field order."""
        n, f, d, c, w, lt, ts = np.array(self._records, dtype=np.int64).reshape(-1, 7).T.copy()
        listed, unlisted = _listing(self._problems, fatal)
        return Walked(n, f, d, c, w, lt, ts, stop, need, listed, fatal, unlisted)


def _listing(
    problems: list[CaptureError], fatal: bool
) -> tuple[tuple[CaptureError, ...], tuple[tuple[str, int], ...]]:
    """The problems a walk lists (the first EXAMPLES of each kind, and the one that stops
    it) and the counts of the others by kind."""
    seen: Counter[str] = Counter()
    unlisted: Counter[str] = Counter()
    listed = []
    for i, p in enumerate(problems):
        kind = kind_of(p.reason)
        if seen[kind] < EXAMPLES or (fatal and i == len(problems) - 1):
            listed.append(p)
            seen[kind] += 1
        else:
            unlisted[kind] += 1
    return tuple(listed), tuple(unlisted.items())


# --- writing pcapng -------------------------------------------------------------------------


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def block(order: str, btype: int, body: bytes, length: int | None = None, trail: int = 0) -> bytes:
    """A block; ``length`` overrides the length field, ``trail`` is added to its copy."""
    body = _pad(body)
    n = 12 + len(body)
    head = struct.pack(order + "II", btype, n if length is None else length)
    return head + body + struct.pack(order + "I", (n + trail) & 0xFFFFFFFF)


def shb(order: str, major: int = 1) -> bytes:
    return block(order, _SHB, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1))


def option(order: str, code: int, value: bytes) -> bytes:
    return _pad(struct.pack(order + "HH", code, len(value)) + value)


def idb(order: str, linktype: int, snaplen: int, resol: int | None, offset: int | None) -> bytes:
    opts = b""
    if resol is not None:
        opts += option(order, _TSRESOL, bytes([resol]))
    if offset is not None:
        opts += option(order, _TSOFFSET, struct.pack(order + "q", offset))
    if opts:
        opts += b"\0\0\0\0"
    return block(order, _IDB, struct.pack(order + "HHI", linktype, 0, snaplen) + opts)


def epb(order: str, iface: int, ticks: int, data: bytes, caplen: int, wirelen: int) -> bytes:
    head = struct.pack(order + "5I", iface, ticks >> 32, ticks & 0xFFFFFFFF, caplen, wirelen)
    return block(order, _EPB, head + data)


# --- inputs ---------------------------------------------------------------------------------

# Mostly ordinary timestamps and interfaces (which the numpy runs take), some odd ones
# (which they leave to the loop, or which need clamping).
ODD_TICKS = st.one_of(
    st.integers(0, 2**64 - 1),
    st.sampled_from([0, 1, 2**63 - 1, 2**63, 2**64 - 1, 2**62, 2**54, 2**32 - 1]),
    st.sampled_from([9_223_372_036_854, 9_223_372_036_854_775, 9_223_372_036_854_775_807]),
)
PLAIN_TICKS = st.integers(1_600_000_000 * 10**6, 1_800_000_000 * 10**6)  # microseconds
TICKS = st.one_of(PLAIN_TICKS, st.integers(0, 2**53), ODD_TICKS)
RESOL = st.sampled_from([None, 0, 3, 6, 9, 10, 12, 19, 27, 28, 127, 0x8A, 0x94])
RESOL2 = st.sampled_from([0x80 | 30, 0x80 | 34, 0x80 | 35, 0x80 | 63, 0x80 | 64, 0xFF, 0x80])
OFFSET = st.one_of(
    st.sampled_from([None, 0, 1, -1, 1_700_000_000, -(2**33)]),
    st.sampled_from([2**33, 2**62, -(2**63), 9_223_372_036, -9_223_372_036]),
)
LENGTHS = st.sampled_from([0, 8, 11, 13, 14, 30, 31, 33, MAX_BLOCK + 4, 2**32 - 4, 2**32 - 1])
OTHER_TYPES = st.sampled_from([4, 5, 0xA, 0xBAD, 0x40000BAD, 0x80000001, 7, 8, 0xC])

PLAIN_IDB = st.tuples(
    st.sampled_from([1, 113]),  # link type
    st.sampled_from([0, 0, 40, 65535]),  # snap length
    st.sampled_from([None, 6, 9]),  # if_tsresol
    st.sampled_from([None, 0, 1_700_000_000]),  # if_tsoffset
)
ODD_IDB = st.tuples(
    st.integers(0, 300), st.sampled_from([0, 10, 40, 65535]), st.one_of(RESOL, RESOL2), OFFSET
)
IDB = st.one_of(PLAIN_IDB, PLAIN_IDB, ODD_IDB)
INTERFACES = st.lists(IDB, max_size=3)
EPB_LIES = ["ok"] * 6 + ["over-block", "over-wire", "huge", "short"]

# One piece of a stream: kind, then what it needs (see build()). Bad packet blocks are
# among these (they are skipped with keep_going); FATAL pieces stop any walk.
PIECES = st.one_of(
    # a new section (byte order) with its interfaces
    st.tuples(st.just("shb"), st.sampled_from("<>"), st.just(1), INTERFACES),
    st.tuples(st.just("idb"), IDB),
    # an EPB: interface, ticks, data, then how its captured and original lengths lie
    st.tuples(
        st.just("epb"),
        st.sampled_from([0, 0, 0, 1, 2, 7]),
        TICKS,
        st.binary(max_size=48),
        st.sampled_from(EPB_LIES),
    ),
    st.tuples(st.just("run"), st.integers(1, 30), st.just(0), PLAIN_TICKS),
    st.tuples(st.just("run"), st.integers(1, 30), st.sampled_from([0, 0, 1, 2]), TICKS),
    st.tuples(st.just("spb"), st.binary(max_size=48), st.integers(0, 100), st.booleans()),
    st.tuples(st.just("opb"), st.sampled_from([0, 1, 5]), TICKS, st.binary(max_size=20)),
    st.tuples(st.just("other"), OTHER_TYPES, st.binary(max_size=24)),
)
FATAL = st.one_of(
    st.tuples(st.just("shb"), st.sampled_from("<>"), st.just(2), INTERFACES),  # version 2
    st.tuples(st.just("length"), st.sampled_from([_EPB, _SPB, 4]), LENGTHS),  # a bad length
    st.tuples(st.just("trail"), st.sampled_from([_EPB, _SPB, 4]), st.sampled_from([4, 1, -4])),
    st.tuples(st.just("junk"), st.binary(max_size=40)),
)


@st.composite
def piece_lists(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Pieces, and maybe one fatal piece somewhere among them."""
    pieces = draw(st.lists(PIECES, max_size=25))
    if draw(st.booleans()):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(FATAL))
    return pieces


def build(
    first: str, pieces: list[tuple[Any, ...]], interfaces: list[tuple[Any, ...]] | None = None
) -> bytes:
    """A stream: a section header in byte order ``first``, its interfaces, then the pieces."""
    order = first
    out = [shb(order), *(idb(order, *face) for face in interfaces or [])]
    for i, (kind, *args) in enumerate(pieces):
        if kind == "shb":
            order, major, section_interfaces = args
            out.append(shb(order, major))
            out.extend(idb(order, *face) for face in section_interfaces)
        elif kind == "idb":
            out.append(idb(order, *args[0]))
        elif kind == "epb":
            iface, ticks, data, lie = args
            caplen, wirelen = len(data), len(data) + i % 3
            if lie == "over-block":
                caplen = len(data) + 4 + i % 5
            elif lie == "over-wire":
                wirelen = max(0, caplen - 1)
            elif lie == "huge":
                caplen = wirelen = 1 << 20
            if lie == "short":
                out.append(block(order, _EPB, struct.pack(order + "4I", iface, 0, 0, 0)))
            else:
                out.append(epb(order, iface, ticks, data, caplen, wirelen))
        elif kind == "run":
            count, iface, ticks = args
            for k in range(count):
                data = bytes([k]) * ((k * 7 + i) % 23)
                out.append(epb(order, iface, (ticks + k) % 2**64, data, len(data), len(data) + 1))
        elif kind == "spb":
            data, wirelen, honest = args
            wl = len(data) if honest else wirelen
            out.append(block(order, _SPB, struct.pack(order + "I", wl) + data))
        elif kind == "opb":
            iface, ticks, data = args
            head = struct.pack(order + "HH4I", iface, 0, ticks >> 32, ticks & 0xFFFFFFFF, 9, 9)
            out.append(block(order, _OPB, head + data.ljust(9, b"o")))
        elif kind == "other":
            btype, body = args
            out.append(block(order, btype, body))
        elif kind == "length":
            btype, length = args
            out.append(block(order, btype, b"\0" * 24, length=length))
        elif kind == "trail":
            btype, trail = args
            out.append(
                block(order, btype, struct.pack(order + "5I", 0, 0, 0, 4, 4) + b"abcd", trail=trail)
            )
        else:
            out.append(args[0])
    return b"".join(out)


TUNINGS = st.builds(
    _NgTuning,
    least=st.sampled_from([0, 0, 1, 28, 100]),
    first=st.sampled_from([1, 12, 40, 100, 400, 64 << 10]),
    worth=st.sampled_from([0, 1, 5, 64]),
    backoff=st.sampled_from([0, 1, 3, 64]),
    spacing=st.sampled_from([16, 32, 64, 256, 1 << 15]),
    window=st.sampled_from([4, 8, 16]),
    min_lanes=st.integers(1, 4),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A stream, maybe cut anywhere, and the sizes of the reads that deliver it."""
    order, interfaces = draw(st.sampled_from("<>")), draw(INTERFACES)
    raw = build(order, draw(piece_lists()), interfaces)
    if draw(st.integers(0, 3)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]  # a truncated stream
    sizes = draw(
        st.one_of(
            st.just([1 << 24]),  # one read
            st.lists(st.integers(1, 300), min_size=1, max_size=30),
            st.lists(st.integers(200, 3000), min_size=1, max_size=5),
        )
    )
    return raw, sizes


# --- driving a walker as CaptureReader does -------------------------------------------------

Outcome = tuple[Any, ...]


def summary(w: Walked) -> Outcome:
    """Everything in a Walked, comparable: arrays with their dtypes, problems in full."""
    arrays = [(f, getattr(w, f).dtype.str, getattr(w, f).tolist()) for f in ARRAY_FIELDS]
    problems = [(type(p), p.path, p.record, p.offset, p.reason, str(p)) for p in w.problems]
    return (arrays, w.stop, w.need, problems, w.fatal, w.unlisted)


ARRAY_FIELDS = [
    f
    for f in Walked.__dataclass_fields__
    if f not in ("stop", "need", "problems", "fatal", "unlisted")
]


def drive(walker: Any, raw: bytes, sizes: list[int]) -> list[Outcome]:
    """Walk ``raw`` in reads of ``sizes`` (the last one repeated), carrying the unfinished
    block into the next read and growing a read to what it needs, as CaptureReader does."""
    reads = itertools.chain(sizes, itertools.repeat(sizes[-1]))
    taken = min(len(raw), next(reads))
    block, base, out = raw[:taken], 0, []
    while True:
        eof = taken >= len(raw)
        w = walker.walk(np.frombuffer(block, dtype=np.uint8), 0, base, eof)
        out.append(summary(w))
        if w.fatal or eof:
            return out
        tail = block[w.stop :]
        more = max(next(reads), w.need - len(tail))
        block, base = tail + raw[taken : taken + more], base + w.stop
        taken += more


def walkers(max_caplen: int, keep_going: bool, tuning: _NgTuning | None) -> tuple[Any, Any]:
    mine = PcapngWalker("x.pcapng", max_caplen, keep_going)
    if tuning is not None:
        mine.tuning = tuning
    return mine, ReferenceWalker("x.pcapng", max_caplen, keep_going)


# --- the property ---------------------------------------------------------------------------


@given(
    case=streams(),
    keep_going=st.booleans(),
    max_caplen=st.sampled_from([MAX_CAPLEN, 30]),
    tuning=TUNINGS,
)
def test_same_results_as_the_loop(
    case: tuple[bytes, list[int]], keep_going: bool, max_caplen: int, tuning: _NgTuning
) -> None:
    raw, sizes = case
    mine, reference = walkers(max_caplen, keep_going, tuning)
    assert drive(mine, raw, sizes) == drive(reference, raw, sizes)
    assert mine.number == reference.number


@given(case=streams(), keep_going=st.booleans())
def test_same_results_with_default_tuning(case: tuple[bytes, list[int]], keep_going: bool) -> None:
    raw, sizes = case
    mine, reference = walkers(MAX_CAPLEN, keep_going, None)
    assert drive(mine, raw, sizes) == drive(reference, raw, sizes)


@given(
    body=st.binary(max_size=600),
    order=st.sampled_from("<>"),
    keep_going=st.booleans(),
    start=st.integers(0, 64),
    eof=st.booleans(),
    tuning=TUNINGS,
)
def test_same_results_on_arbitrary_bytes(
    body: bytes, order: str, keep_going: bool, start: int, eof: bool, tuning: _NgTuning
) -> None:
    """After a section and an interface, any bytes at all, from any start."""
    raw = shb(order) + idb(order, 1, 0, None, None) + body
    mine, reference = walkers(MAX_CAPLEN, keep_going, tuning)
    block = np.frombuffer(raw, dtype=np.uint8)
    assert summary(mine.walk(block, 0, 0, False)) == summary(reference.walk(block, 0, 0, False))
    assert summary(mine.walk(block, start, 5, eof)) == summary(reference.walk(block, start, 5, eof))


@given(
    sizes=st.lists(st.integers(0, 1600), min_size=1, max_size=1500),
    order=st.sampled_from("<>"),
    seed=st.integers(0, 2**32 - 1),
    cut=st.integers(0, 3000),
    spb_every=st.sampled_from([0, 3, 50]),
    block_size=st.sampled_from([1 << 16, 1 << 20, 16 << 20]),
)
def test_same_results_on_larger_streams(
    sizes: list[int], order: str, seed: int, cut: int, spb_every: int, block_size: int
) -> None:
    """Streams of many packet blocks with the default tuning, some of whose payloads are
    earlier stretches of the stream (false block starts), through the reader's reads."""
    rng = np.random.default_rng(seed)
    parts = [shb(order), idb(order, 1, 0, None, None), idb(order, 113, 1000, 9, 5)]
    size = sum(map(len, parts))
    for i, n in enumerate(sizes):
        data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        if i % 7 == 3 and size > n:
            at = int(rng.integers(0, size - n + 1))
            data = b"".join(parts)[at : at + n]
        if spb_every and i % spb_every == 0:
            parts.append(block(order, _SPB, struct.pack(order + "I", n) + data))
        else:
            parts.append(epb(order, i % 2, 1_700_000_000_000_000 + i, data, n, n + i % 2))
        size += len(parts[-1])
    raw = b"".join(parts)
    raw = raw[: max(0, len(raw) - cut)]
    mine, reference = walkers(MAX_CAPLEN, True, None)
    assert drive(mine, raw, [block_size]) == drive(reference, raw, [block_size])


# --- the block walk -------------------------------------------------------------------------


def reference_block_walk(raw: bytes, start: int, order: str, limit: int) -> tuple[list[int], int]:
    """The loop of pcapng_block_starts' docstring."""
    u32 = struct.Struct(order + "I").unpack_from
    positions, pos = [], start
    while pos <= limit:
        positions.append(pos)
        length = u32(raw, pos + 4)[0]
        pos += length if length >= 12 else length + 2**32
    return positions, pos


WALK_TUNING = st.fixed_dictionaries(
    {
        "spacing": st.sampled_from([4, 16, 36, 64, 1024]),
        "window": st.sampled_from([4, 8, 16]),
        "min_lanes": st.integers(1, 4),
    }
).filter(lambda t: t["window"] <= t["spacing"])


@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.builds(build, st.sampled_from("<>"), piece_lists(), INTERFACES),
    ),
    start=st.integers(0, 80),
    order=st.sampled_from("<>"),
    back=st.one_of(st.none(), st.integers(8, 100)),
    tuning=WALK_TUNING,
)
def test_block_walk_is_the_loop(
    data: bytes, start: int, order: str, back: int | None, tuning: dict[str, int]
) -> None:
    limit = len(data) - 12 if back is None else len(data) - back
    got, stop = pcapng_block_starts(
        np.frombuffer(data, dtype=np.uint8), start, order, limit=limit, **tuning
    )
    assert (got.tolist(), stop) == reference_block_walk(data, start, order, limit)
    assert got.dtype == np.int64


def test_block_walk_arguments() -> None:
    block8 = np.zeros(100, dtype=np.uint8)
    for bad in ({"window": 0}, {"spacing": 18, "window": 8}, {"window": 6}, {"min_lanes": 0}):
        with pytest.raises(ValueError):
            pcapng_block_starts(block8, 0, "<", **bad)
    with pytest.raises(ValueError, match="limit"):
        pcapng_block_starts(block8, 0, "<", limit=93)
    assert pcapng_block_starts(block8, 0, "<", limit=92)[0].tolist() == [0]
    assert pcapng_block_starts(block8, 50, "<", limit=40)[0].tolist() == []


# --- each way a packet block can be refused, in the middle of a run -------------------------

SNAPPED = 40  # the first interface's snap length, when it has one
MAX = 48  # the walkers' max_caplen here


def _good(order: str, k: int, interfaces: int = 2) -> bytes:
    """A good EPB on interface ``k % interfaces`` (data of at most 29 bytes)."""
    data = bytes([k % 256]) * (k * 7 % 30)
    return epb(order, k % interfaces, 1_700_000_000_000_000 + k, data, len(data), len(data) + 1)


def _raw(order: str, length: int, body: bytes, trailing: int | None = None) -> bytes:
    """A block of any length field (``body`` padded or cut to fit) and trailing copy."""
    body = body.ljust(max(0, length - 12), b"\0")[: max(0, length - 12)]
    head = struct.pack(order + "II", _EPB, length)
    return head + body + struct.pack(order + "I", length if trailing is None else trailing)


def _epb_body(order: str, iface: int, ticks: int, caplen: int, wirelen: int) -> bytes:
    return struct.pack(order + "5I", iface, ticks >> 32, ticks & 0xFFFFFFFF, caplen, wirelen)


# name -> the blocks put in the run (in its byte order), the byte order and interface count
# the run goes on with, given the byte order
MIDDLES: dict[str, Callable[[str], tuple[bytes, str, int]]] = {
    "good": lambda o: (_good(o, 5), o, 2),
    "trailing copy differs": lambda o: (
        block(o, _EPB, _epb_body(o, 0, 0, 4, 4) + b"abcd", trail=4),
        o,
        2,
    ),
    "length not a multiple of 4": lambda o: (_raw(o, 34, _epb_body(o, 0, 0, 2, 2) + b"ab"), o, 2),
    "length under 12": lambda o: (_raw(o, 8, b"", trailing=8), o, 2),
    "length 0": lambda o: (struct.pack(o + "II", _EPB, 0) + b"\0" * 40, o, 2),
    "short EPB": lambda o: (block(o, _EPB, _epb_body(o, 0, 0, 0, 0)[:16]), o, 2),
    "short SPB": lambda o: (block(o, _SPB, b""), o, 2),
    "caplen over the block": lambda o: (epb(o, 0, 1, b"12345678", 9, 9), o, 2),
    "caplen over the block by 4": lambda o: (epb(o, 0, 1, b"12345678", 12, 12), o, 2),
    "caplen over max_caplen": lambda o: (epb(o, 1, 1, b"m" * (MAX + 1), MAX + 1, MAX + 1), o, 2),
    "caplen over the wire length": lambda o: (epb(o, 0, 1, b"12345", 5, 4), o, 2),
    "caplen over a snap length": lambda o: (epb(o, 0, 1, b"s" * (SNAPPED + 1), 41, 41), o, 2),
    "no such interface": lambda o: (epb(o, 2, 1, b"i", 1, 1), o, 2),
    "ticks that clamp (us)": lambda o: (epb(o, 0, 2**64 - 1, b"t", 1, 1), o, 2),
    "ticks that clamp (ns)": lambda o: (epb(o, 1, 2**63, b"t", 1, 1), o, 2),
    "ticks that just fit (ns)": lambda o: (epb(o, 1, 2**63 - 1, b"t", 1, 1), o, 2),
    "SPB longer than the snap length": lambda o: (
        block(o, _SPB, struct.pack(o + "I", 55) + b"p" * 55),
        o,
        2,
    ),
    "SPB a little longer than the snap length": lambda o: (
        block(o, _SPB, struct.pack(o + "I", 44) + b"p" * 44),
        o,
        2,
    ),
    "SPB of a short frame": lambda o: (block(o, _SPB, struct.pack(o + "I", 10) + b"q" * 20), o, 2),
    "OPB with drops": lambda o: (
        block(o, _OPB, struct.pack(o + "HH4I", 0, 3, 0, 7, 2, 2) + b"op"),
        o,
        2,
    ),
    "custom block that looks like an EPB": lambda o: (
        block(o, 0xBAD, _epb_body(o, 0, 0, 4, 4) + b"abcd"),
        o,
        2,
    ),
    "statistics block": lambda o: (block(o, 5, _epb_body(o, 0, 0, 4, 4) + b"abcd"), o, 2),
    "name resolution block": lambda o: (block(o, 4, b"\0" * 4), o, 2),
    "a third interface": lambda o: (idb(o, 200, 0, 0x83, 3), o, 3),
    "a new section": lambda o: (shb(o) + idb(o, 7, 10, None, None), o, 2),
    "a new section, other byte order": lambda o: (
        shb(_other(o)) + idb(_other(o), 1, 0, 9, None) + idb(_other(o), 9, 0, None, None),
        _other(o),
        2,
    ),
    "a new section of version 2": lambda o: (shb(o, 2) + idb(o, 7, 10, None, None), o, 2),
}


def _other(order: str) -> str:
    return ">" if order == "<" else "<"


def _run_around(order: str, middle: str, snapped: bool, count: int) -> bytes:
    """A section of two interfaces, ``count`` good EPBs, the middle, ``count`` more."""
    head = shb(order) + idb(order, 1, SNAPPED if snapped else 0, None, None)
    head += idb(order, 113, 0, 9, None)
    blocks, after, interfaces = MIDDLES[middle](order)
    before = b"".join(_good(order, k) for k in range(count))
    return head + before + blocks + b"".join(_good(after, k, interfaces) for k in range(count))


FORCED = _NgTuning(least=0, first=64, worth=0, backoff=0, spacing=64, window=16, min_lanes=2)


@pytest.mark.parametrize("middle", list(MIDDLES))
@pytest.mark.parametrize("snapped", [False, True])
@pytest.mark.parametrize("keep_going", [False, True])
@pytest.mark.parametrize("order", ["<", ">"])
def test_each_block_the_numpy_runs_refuse(
    middle: str, snapped: bool, keep_going: bool, order: str
) -> None:
    """Every check of the numpy runs, on its own: a block in the middle of a run that the
    loop must read (or, for some, a good one), with forced and default tuning."""
    for tuning, count in ((FORCED, 60), (None, 1500)):
        raw = _run_around(order, middle, snapped, count)
        for sizes in ([len(raw)], [4000, 777]):
            mine, reference = walkers(MAX, keep_going, tuning)
            assert drive(mine, raw, sizes) == drive(reference, raw, sizes), (tuning, sizes)


def test_a_block_over_max_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """A packet block longer than MAX_BLOCK, otherwise good, is a bad length for the loop
    (with MAX_BLOCK made 1 MiB in both walkers, so that the test stays small)."""
    monkeypatch.setattr(pcapfmt, "MAX_BLOCK", 1 << 20)
    monkeypatch.setitem(globals(), "MAX_BLOCK", 1 << 20)
    order = "<"
    head = (
        shb(order)
        + idb(order, 1, 0, None, None)
        + b"".join(_good(order, k, 1) for k in range(1500))
    )
    length = MAX_BLOCK + 4
    raw = bytearray(len(head) + length)
    raw[: len(head)] = head
    raw[len(head) : len(head) + 28] = struct.pack(order + "II", _EPB, length) + _epb_body(
        order, 0, 0, 4, 4
    )
    raw[-4:] = struct.pack(order + "I", length)
    data = bytes(raw)
    mine, reference = walkers(MAX_CAPLEN, True, None)
    assert drive(mine, data, [len(data)]) == drive(reference, data, [len(data)])
    assert mine.number == 1500


# --- timestamps -----------------------------------------------------------------------------


def interfaces(resol: int | None, offset: int | None) -> _Interface:
    """The interface the walker makes of an IDB with these options."""
    raw = shb("<") + idb("<", 1, 0, resol, offset)
    walker = PcapngWalker("x", MAX_CAPLEN, False)
    walker.walk(np.frombuffer(raw, dtype=np.uint8), 0, 0, True)
    (info,) = walker.interfaces
    return info


@given(resol=st.one_of(RESOL, RESOL2), offset=OFFSET, ticks=st.lists(TICKS, max_size=20))
def test_timestamps_in_range_are_exact(
    resol: int | None, offset: int | None, ticks: list[int]
) -> None:
    """Ticks in _tick_range convert in numpy to what the loop computes, unclamped; the
    ticks just outside it would need clamping (the range is as wide as it can be)."""
    info = interfaces(resol, offset)
    first, last = _tick_range(info)

    def exact(t: int) -> int:
        return t * info.mul // info.div + info.offset

    if (first, last) == (1, 0):  # no numpy conversion: every EPB of it goes the slow way
        return
    assert first == 0
    inside = [t for t in [first, last, (first + last) // 2, *ticks] if first <= t <= last]
    got = _nanoseconds(np.array(inside, dtype=np.uint64), 0, _Interfaces.of([info]))
    assert got.tolist() == [exact(t) for t in inside]
    assert all(-_I64_MAX <= exact(t) <= _I64_MAX for t in inside)
    if last < 2**64 - 1:
        assert exact(last + 1) > _I64_MAX


def test_several_interfaces_scales() -> None:
    """Interfaces of every kind of scale in one section: what the loop makes of them."""
    order = "<"
    ifaces = [(None, None), (9, 100), (0x80 | 20, -5), (12, None), (0x80 | 40, None), (3, 2**62)]
    raw = shb(order) + b"".join(idb(order, 1 + k, 0, r, o) for k, (r, o) in enumerate(ifaces))
    raw += b"".join(
        epb(order, k % len(ifaces), t, b"x" * (k % 5), k % 5, 9)
        for k, t in enumerate([1_700_000_000_123_456, 2**64 - 1, 12345, 2**40, 0, 2**63] * 30)
    )
    for tuning in (_NgTuning(least=0, first=64, worth=0, backoff=0, spacing=64, window=8),):
        mine, reference = walkers(MAX_CAPLEN, False, tuning)
        assert drive(mine, raw, [len(raw)]) == drive(reference, raw, [len(raw)])


# --- which way the walk went: speed, not results --------------------------------------------


def _packets(order: str, packets: int, interfaces: int = 1, seed: int = 5) -> bytes:
    """Enhanced Packet Blocks of VXLAN-sized frames, on ``interfaces`` interfaces in turn."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice(np.array([116, 200, 1500]), size=packets, p=[0.4, 0.3, 0.3]).tolist()
    payload = rng.integers(0, 256, size=1500, dtype=np.uint8).tobytes()
    return b"".join(
        epb(order, i % interfaces, 1_700_000_000_000_000 + i, payload[:n], n, n)
        for i, n in enumerate(lengths)
    )


def _capture(order: str, packets: int, interfaces: int = 1) -> bytes:
    """A plain capture: a section, its interfaces, then packets."""
    head = shb(order) + b"".join(idb(order, 1, 0, None, None) for _ in range(interfaces))
    return head + _packets(order, packets, interfaces)


@pytest.mark.parametrize("order", ["<", ">"])
def test_an_ordinary_capture_goes_through_numpy(
    order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a plain capture every packet block is taken in numpy (the loop reads only the
    section and interface blocks; here, one more interface halfway), the block walk never
    stitches, and when it is read in 1 MiB blocks, a run that went to the end of one block
    takes most of the next in one step."""
    raw = _capture(order, 6000, interfaces=2)
    raw += idb(order, 113, 0, 9, None) + _packets(order, 6000, interfaces=3)
    taken: list[int] = []
    steps: list[int] = []
    real_take, real_starts = PcapngWalker._take, pcapfmt.pcapng_block_starts

    def spy_take(self: PcapngWalker, *args: Any) -> int:
        taken.append(real_take(self, *args))
        return taken[-1]

    def spy_starts(*args: Any, **kw: Any) -> tuple[Any, int]:
        steps.append(1)
        return real_starts(*args, **kw)

    def no_stitch(*args: object) -> None:
        raise AssertionError("stitched")

    monkeypatch.setattr(PcapngWalker, "_take", spy_take)
    monkeypatch.setattr(pcapfmt, "pcapng_block_starts", spy_starts)
    monkeypatch.setattr(walking, "stitch", no_stitch)
    for sizes in ([len(raw)], [1 << 20]):
        taken.clear()
        steps.clear()
        mine = walkers(MAX_CAPLEN, False, None)[0]
        got = drive(mine, raw, sizes)
        assert sum(taken) == 12000 and len(got) == -(-len(raw) // sizes[0])
        assert len(steps) <= (8 if len(got) == 1 else 16)
        assert got == drive(walkers(MAX_CAPLEN, False, None)[1], raw, sizes)


@pytest.mark.parametrize("resol, offset", [(0x80 | 60, None), (0x80 | 64, 2**62), (30, None)])
def test_a_scale_int64_cannot_convert_goes_through_numpy(
    resol: int, offset: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interface whose timestamps int64 arithmetic cannot convert exactly (2**-60 and
    2**-64 seconds, 10**-30: issue 15) has its packet blocks taken in numpy too, their
    timestamps in Python integers, equal to the loop's (clamped where they overflow)."""
    order = "<"
    raw = shb(order) + idb(order, 1, 0, resol, offset)
    ticks = [2**63 + 12345, 2**64 - 1, 1_700_000_000 << 30, 7, 0]
    raw += b"".join(epb(order, 0, ticks[k % 5], b"x" * 60, 60, 60) for k in range(3000))
    taken: list[int] = []
    real_take = PcapngWalker._take

    def spy_take(self: PcapngWalker, *args: Any) -> int:
        taken.append(real_take(self, *args))
        return taken[-1]

    monkeypatch.setattr(PcapngWalker, "_take", spy_take)
    mine, reference = walkers(MAX_CAPLEN, False, None)
    got = drive(mine, raw, [len(raw)])
    assert sum(taken) == 3000
    assert got == drive(reference, raw, [len(raw)])


def test_the_loop_takes_over_where_numpy_does_not_pay() -> None:
    """Every other block not a packet block: runs take too few blocks, and the walker
    backs off to the loop (with the same results)."""
    order = "<"
    body = b"".join(
        epb(order, 0, i, b"p" * 60, 60, 60) + block(order, 0xBAD, b"c" * 60) for i in range(3000)
    )
    raw = shb(order) + idb(order, 1, 0, None, None) + body
    runs: list[int] = []
    mine, reference = walkers(MAX_CAPLEN, False, None)
    real_run = mine._run

    def spy_run(*args: Any) -> int:
        runs.append(1)
        return real_run(*args)

    mine._run = spy_run  # type: ignore[method-assign]
    assert drive(mine, raw, [len(raw)]) == drive(reference, raw, [len(raw)])
    assert 0 < len(runs) < 20


# --- through the reader ---------------------------------------------------------------------


@pytest.mark.parametrize("block_size", [1 << 20, 16 << 20])
@pytest.mark.parametrize("keep_going", [False, True])
def test_reader_on_a_larger_capture(
    block_size: int, keep_going: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few MB through CaptureReader, with an NRB, a bad packet block and a second section
    of another byte order: every batch and problem as with the reference walker."""
    bad = epb("<", 9, 0, b"x", 1, 1)  # no interface 9
    raw = b"".join(
        [
            _capture("<", 4000),
            block("<", 4, b"\0" * 4),
            bad,
            _packets("<", 4000, seed=6),
            _capture(">", 3000, interfaces=3),
        ]
    )

    def read(walker: Callable[..., Any]) -> tuple[list[Any], list[str], bool]:
        monkeypatch.setattr(capture, "open_walker", lambda *a: (walker(*a[1:]), 0))
        reader = capture.CaptureReader(
            io.BytesIO(raw), keep_going=keep_going, block_size=block_size
        )
        batches = []
        try:
            for b in reader.batches():
                columns = (b.numbers, b.offsets, b.caplens, b.wirelens, b.linktypes, b.timestamps)
                batches.append([c.tolist() for c in (*columns, b.file_offsets)])
        except CaptureError:
            assert not keep_going
        return batches, [str(p) for p in reader.problems], reader.complete

    mine = read(PcapngWalker)
    assert mine == read(ReferenceWalker)
    numbers = [n for b in mine[0] for n in b[0]]
    if keep_going:
        assert numbers == [n for n in range(1, 11002) if n != 4001] and mine[2]
    else:
        assert numbers == list(range(1, 4001)) and not mine[2]
    assert len(mine[1]) == 1 and "no interface 9" in mine[1][0]
