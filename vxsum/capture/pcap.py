"""The pcap file format (the libpcap format, draft-ietf-opsawg-pcap): read and write.

A 24-byte file header, then records of a 16-byte header (seconds, micro- or nanoseconds,
captured length, original length) and the captured bytes. :func:`pcap_record_starts`
walks the records (:mod:`vxsum.capture.walking`); the headers are then gathered and
checked with numpy. A record length cannot be checked during the walk, so a lying one
leads the walk into garbage until the vectorised check finds the first bad length and
cuts the records there; there is no way to find the next record after a bad length (the
format has no sync marker). :func:`write_pcap` writes frames as a classic pcap file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from .linktypes import LinkType
from .problems import EXAMPLES, kind_of
from .walking import (
    LAYOUTS,
    MAX_CAPLEN,
    MIN_LANES,
    SPACING,
    WINDOW,
    Chain,
    U32At,
    Walked,
    first_plausible,
    strided_headers,
    walk_chains,
)

__all__ = ["PCAP_MAGIC", "PcapWalker", "pcap_record_starts", "write_pcap"]

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

PCAP_MAGIC = {  # first four bytes -> (byte order, nanosecond timestamps)
    b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\x4d\x3c\xb2\xa1": ("<", True),
    b"\xa1\xb2\x3c\x4d": (">", True),
}

_PCAP_CHAIN = Chain(8, 16, 0)
"""A pcap record: a 16-byte header, then as many bytes as the captured length at +8."""


def pcap_record_starts(
    block: U8,
    start: int,
    order: str,
    *,
    max_caplen: int = MAX_CAPLEN,
    nanosecond: bool = False,
    spacing: int = SPACING,
    window: int = WINDOW,
    min_lanes: int = MIN_LANES,
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
    return walk_chains(block, firsts, limit, order, _PCAP_CHAIN, min_lanes)


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
    u32 = U32At(block, order)
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
    chosen = first_plausible(len(grid), rows, grid[rows] + hits % window, and_the_next)
    return np.concatenate(([start], chosen[chosen >= 0]))


class PcapWalker:
    """Walks the records of a pcap file (either byte order, micro- or nanoseconds)."""

    format = "pcap"

    def __init__(self, header: bytes, path: str, max_caplen: int, keep_going: bool) -> None:
        """Parse the 24-byte file header; raise :class:`CaptureError` if it is not one."""
        if len(header) < 24:
            raise CaptureError(path, None, 0, f"truncated pcap file header ({len(header)} bytes)")
        order, nano = PCAP_MAGIC[header[:4]]
        fields = LAYOUTS[order].pcap_header.unpack_from(header, 4)
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
        self._caplen = LAYOUTS[order].u32.unpack_from
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
            hdr = strided_headers(block, at).view(self._u32).astype(np.int64)
        else:
            hdr = np.zeros((0, 4), dtype=np.int64)
        caplen, wirelen = hdr[:, 2], hdr[:, 3]
        hard = caplen > self.max_caplen
        over_wire = caplen > wirelen  # an error, unless keeping going
        over_snap = caplen > (self.snaplen or self.max_caplen)  # a note: read, as tcpdump does
        bad = np.flatnonzero(hard if self.keep_going else hard | over_wire)
        cut = int(bad[0]) if len(bad) else len(at)
        fatal = cut < len(at)
        # Records before the cut with a length over the original (only when keeping going)
        # or the snap length are kept and reported: the first few of each kind listed.
        problems: list[CaptureError] = []
        unlisted: list[tuple[str, int]] = []
        listed: list[int] = []
        for kind in (over_wire[:cut], over_snap[:cut] & ~over_wire[:cut]):
            found = np.flatnonzero(kind)
            listed += found[:EXAMPLES].tolist()
            if len(found) > EXAMPLES:
                i = int(found[0])
                first = self._problem(i, base + int(at[i]), int(caplen[i]), int(wirelen[i]))
                unlisted.append((kind_of(first.reason), len(found) - EXAMPLES))
        problems += [
            self._problem(i, base + int(at[i]), int(caplen[i]), int(wirelen[i]))
            for i in sorted(listed)
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
            unlisted=tuple(unlisted),
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
        elif caplen > wirelen:
            reason = f"captured length {caplen} is over the original length {wirelen}"
        else:
            reason = f"captured length {caplen} is over the snap length {self.snaplen} (kept whole)"
        return self._error(index, offset, reason)


_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


def write_pcap(
    path: str | Path,
    frames: Iterable[tuple[float, bytes]],
    linktype: int = LinkType.ETHERNET,
    *,
    start: float = 1_700_000_000.0,
) -> int:
    """Write ``(time offset, frame)`` pairs as a microsecond pcap; returns the record count."""
    count = 0
    with open(path, "wb") as out:
        out.write(_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for offset, frame in frames:
            t = start + offset
            seconds = int(t)
            out.write(_RECORD.pack(seconds, round((t - seconds) * 1e6), len(frame), len(frame)))
            out.write(frame)
            count += 1
    return count
