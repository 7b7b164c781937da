"""Checksums of many packets at once, vectorised with numpy.

A capture file is one long buffer with the packets (or their checksummed spans) at
known offsets, so the batch core takes a buffer plus ``offsets`` and ``lengths``;
a sequence of separate buffers is joined into one first.

How it works, and why it is exact. The buffer is read as little-endian 64-bit words
``w``. For each span, :func:`numpy.add.reduceat` sums its words modulo 2**64 (no
carries kept), and a second reduceat sums only the top 16 bits of each word,
``H = sum(w >> 48)``. Since the low 48 bits of at
most 2**16 words cannot reach 2**64, ``L = S - (H << 48)`` modulo 2**64 is their
exact sum, and because 2**48 = 1 (mod 0xFFFF) the span's ones'-complement sum is
``L + H`` folded. Bytes of the first and last word outside the span are masked out
before that. The sum is then of little-endian 16-bit words at even buffer offsets:
byte-swapped for spans that start at an even offset, already right for odd ones
(RFC 1071 section 2 (B)). Summing plain 64-bit words avoids numpy's slow casting
reduction, which is what makes the batch path several times faster than summing
32-bit words into 64 bits (docs/performance.md has the numbers).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .buffer import Buffer, as_int, byte_view, ones_sum

__all__ = ["checksums", "ones_sums"]

U16Array = npt.NDArray[np.uint16]

_INT64_MAX = np.iinfo(np.int64).max
_MAX_SPAN_WORDS = 1 << 16  # L stays exact up to this many 64-bit words (512 KiB)
_MAX_SPAN_BYTES = (_MAX_SPAN_WORDS - 1) * 8  # longer spans are summed one by one
_CHUNK_WORDS = 1 << 18  # words of buffer per reduceat call (2 MiB): stays in cache
_MIN_SPANS_PER_THREAD = 4096  # below this, starting a thread costs more than it saves
_U64 = np.uint64
_FFFF = _U64(0xFFFF)
# Little-endian: byte k of a word is bits 8k..8k+7. Index by (offset mod 8).
_HEAD_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)], dtype=_U64)
_TAIL_MASKS = np.array([0] + [(1 << 64) - (1 << (8 * k)) for k in range(1, 8)], dtype=_U64)


def _le_sums(
    data: npt.NDArray[np.uint8], start: npt.NDArray[np.int64], end: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint64]:
    """Folded sums of little-endian 16-bit words at even offsets over [start, end).

    ``start`` must be sorted; every span is non-empty and at most
    ``_MAX_SPAN_WORDS`` 64-bit words long.
    """
    n = len(start)
    first = start >> 3
    last = (end + 7) >> 3  # exclusive
    head_mask = _HEAD_MASKS[start & 7]  # bytes of the first word before the span
    tail_mask = _TAIL_MASKS[end & 7]  # bytes of the last word after it
    s = np.empty(n, dtype=_U64)  # sum of the span's words, modulo 2**64
    h = np.empty(n, dtype=_U64)  # sum of their top 16 bits
    scratch = np.empty(_CHUNK_WORDS + _MAX_SPAN_WORDS + 1, dtype=_U64)
    nbytes = len(data)
    i = 0
    while i < n:
        j = max(int(np.searchsorted(first, first[i] + _CHUNK_WORDS, side="left")), i + 1)
        w0 = int(first[i])
        w1 = int(last[i:j].max()) + 1  # one spare word: reduceat indices must be < len
        lo, hi = w0 << 3, w1 << 3
        if hi <= nbytes:
            words = data[lo:hi].view("<u8")
        else:  # the end of the buffer: copy into a zero-padded block
            block = np.zeros(hi - lo, dtype=np.uint8)
            block[: nbytes - lo] = data[lo:]
            words = block.view("<u8")
        f = first[i:j] - w0
        la = last[i:j] - w0
        idx = np.empty(2 * (j - i), dtype=np.intp)
        idx[0::2] = f
        idx[1::2] = la
        top16 = np.right_shift(words, _U64(48), out=scratch[: len(words)])
        # Take out the bytes of the first and last word that lie outside the span.
        xh = words[f] & head_mask[i:j]
        xt = words[la - 1] & tail_mask[i:j]
        s[i:j] = np.add.reduceat(words, idx)[0::2] - xh - xt
        h[i:j] = np.add.reduceat(top16, idx)[0::2] - (xh >> _U64(48)) - (xt >> _U64(48))
        i = j
    low = s - (h << _U64(48))  # exact: below 2**64 for spans under 2**16 words
    r = (low % _FFFF + h) % _FFFF
    return np.where((r == 0) & ((low != 0) | (h != 0)), _FFFF, r)


def _le_sums_threaded(
    data: npt.NDArray[np.uint8],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    threads: int,
) -> npt.NDArray[np.uint64]:
    """:func:`_le_sums` over ``threads`` contiguous parts at once (small batches: one)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    parts = min(threads, len(start) // _MIN_SPANS_PER_THREAD)
    if parts <= 1:
        return _le_sums(data, start, end)
    bounds = np.linspace(0, len(start), parts + 1).astype(int)
    done: list[npt.NDArray[np.uint64]] = [np.empty(0, dtype=_U64)] * parts

    failed: list[BaseException] = []

    def work(k: int) -> None:
        try:
            done[k] = _le_sums(
                data, start[bounds[k] : bounds[k + 1]], end[bounds[k] : bounds[k + 1]]
            )
        except BaseException as err:  # re-raised in the calling thread below
            failed.append(err)

    others = [threading.Thread(target=work, args=(k,)) for k in range(1, parts)]
    for t in others:
        t.start()
    work(0)
    for t in others:
        t.join()
    if failed:
        raise failed[0]
    return np.concatenate(done)


def _int64s(name: str, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``values`` as an int64 array, refusing what a plain cast would truncate or wrap.

    Non-integers (floats, bools, text) are a ``TypeError``; integers beyond int64 a
    ``ValueError`` (no buffer is that large). Off the fast path only when the array is
    not already of an integer dtype.
    """
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "i" or (kind == "u" and arr.dtype.itemsize < 8):
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        if arr.size and arr.max() > _INT64_MAX:
            raise ValueError(f"{name} holds {int(arr.max())}, beyond any buffer")
        return arr.astype(np.int64)
    if arr.size == 0 and kind in "fO":  # [] is float64 to numpy
        return np.zeros(arr.shape, dtype=np.int64)
    if kind not in "fO":
        raise TypeError(f"{name} must be integers, not {arr.dtype}")
    # Floats or objects: Python ints numpy would not hold as int64 (e.g. [-1, 2**63] is
    # float64 to numpy), or real non-integers. Look at the values themselves.
    items = np.asarray(values, dtype=object)
    ints = [as_int(f"each of {name}", v) for v in items.flat]
    if any(not -_INT64_MAX - 1 <= v <= _INT64_MAX for v in ints):
        raise ValueError(f"{name} holds a value beyond int64, outside any buffer")
    return np.array(ints, dtype=np.int64).reshape(items.shape)


def _spans(
    buffers: Buffer | Sequence[Buffer],
    offsets: npt.ArrayLike | None,
    lengths: npt.ArrayLike | None,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    if offsets is None and lengths is None:
        if isinstance(buffers, bytes | bytearray | memoryview | np.ndarray):
            raise TypeError("pass a sequence of buffers, or one buffer with offsets and lengths")
        if all(type(b) is bytes for b in buffers):  # the usual list: no view per packet
            lens = np.fromiter(map(len, buffers), dtype=np.int64, count=len(buffers))
            joined = b"".join(buffers)  # type: ignore[arg-type]  # all bytes
        else:
            parts = [byte_view(b) for b in buffers]
            lens = np.fromiter((p.nbytes for p in parts), dtype=np.int64, count=len(parts))
            joined = b"".join(parts)
        offs = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=offs[1:])
        return np.frombuffer(joined, dtype=np.uint8), offs, lens
    if offsets is None or lengths is None:
        raise TypeError("offsets and lengths go together")
    data = np.frombuffer(byte_view(buffers), dtype=np.uint8)  # type: ignore[arg-type]
    offs = _int64s("offsets", offsets).reshape(-1)
    lens = np.broadcast_to(_int64s("lengths", lengths), offs.shape)
    # lens > n - offs, not offs + lens > n: the sum can wrap around in int64.
    n = len(data)
    if len(offs) and (offs.min() < 0 or lens.min() < 0 or (lens > n - offs).any()):
        bad = int(np.flatnonzero((offs < 0) | (lens < 0) | (lens > n - offs))[0])
        raise ValueError(
            f"span {bad} (offset {int(offs[bad])}, length {int(lens[bad])}) "
            f"is outside the {n}-byte buffer"
        )
    return data, offs, np.ascontiguousarray(lens)


def ones_sums(
    buffers: Buffer | Sequence[Buffer],
    offsets: npt.ArrayLike | None = None,
    lengths: npt.ArrayLike | None = None,
    initial: npt.ArrayLike | int = 0,
    *,
    threads: int = 1,
) -> U16Array:
    """Folded ones'-complement sums of many spans, as :func:`vxsum.ones_sum` gives one by one.

    Either pass a sequence of bytes-like objects, or one buffer with ``offsets`` and
    ``lengths`` (array-likes of equal length; spans may overlap, come in any order and
    start at odd offsets). ``initial`` (a scalar or one value per span, e.g. the
    pseudo-header sums) is added to each span's sum. ``threads`` > 1 splits large
    batches over that many threads (numpy releases the GIL in the reductions): about
    1.6x faster with 2 threads on a 2-core machine (docs/performance.md).
    """
    if type(threads) is not int:
        threads = as_int("threads", threads)
    if offsets is None and lengths is None and _many(buffers):
        return _in_chunks(buffers, initial, threads)  # type: ignore[arg-type]
    data, offs, lens = _spans(buffers, offsets, lengths)
    n = len(offs)
    folded = np.zeros(n, dtype=_U64)
    vector = (lens > 0) & (lens <= _MAX_SPAN_BYTES)
    sel: slice | npt.NDArray[np.intp] = slice(None) if vector.all() else np.flatnonzero(vector)
    start, stop = offs[sel], offs[sel] + lens[sel]
    if len(start) > 1 and (start[1:] < start[:-1]).any():
        order = np.argsort(start, kind="stable")
        sel = order if isinstance(sel, slice) else sel[order]
        start, stop = start[order], stop[order]
    if len(start):
        le = _le_sums_threaded(data, start, stop, threads)
        swapped = ((le & _U64(0xFF)) << _U64(8)) | (le >> _U64(8))
        folded[sel] = np.where((start & 1) == 0, swapped, le)
    for k in np.flatnonzero(lens > _MAX_SPAN_BYTES):  # rare: spans over 512 KiB, one by one
        o, n_k = int(offs[k]), int(lens[k])
        folded[k] = ones_sum(data[o : o + n_k])
    init = _int64s("initial", initial)
    if init.size != 1 and init.shape != (n,):
        raise ValueError(f"initial must be a scalar or have one value per span ({n})")
    if init.size == 1 and int(init.reshape(-1)[0]) == 0:
        return folded.astype(np.uint16)
    if (init < 0).any():
        raise ValueError("initial values must be non-negative")
    init_u = init.astype(_U64)
    total = folded + np.where(init_u == 0, _U64(0), (init_u - _U64(1)) % _FFFF + _U64(1))
    r = total % _FFFF
    return np.where((r == 0) & (total != 0), _FFFF, r).astype(np.uint16)


_LIST_CHUNK = 8192
"""Buffers of a list joined at a time: a few MiB, which the allocator reuses from chunk to
chunk (one join of 100,000 mixed packets costs more in fresh pages than in copying)."""


def _many(buffers: object) -> bool:
    return (
        isinstance(buffers, Sequence)
        and not isinstance(buffers, bytes | bytearray | memoryview)
        and len(buffers) > _LIST_CHUNK
    )


def _in_chunks(buffers: Sequence[Buffer], initial: npt.ArrayLike | int, threads: int) -> U16Array:
    """:func:`ones_sums` of a long list of buffers, :data:`_LIST_CHUNK` at a time."""
    n = len(buffers)
    init = _int64s("initial", initial)
    if init.size != 1 and init.shape != (n,):
        raise ValueError(f"initial must be a scalar or have one value per span ({n})")
    parts = []
    for start in range(0, n, _LIST_CHUNK):
        part = init if init.size == 1 else init[start : start + _LIST_CHUNK]
        chunk = buffers[start : start + _LIST_CHUNK]
        parts.append(ones_sums(chunk, None, None, part, threads=threads))
    return np.concatenate(parts)


def checksums(
    buffers: Buffer | Sequence[Buffer],
    offsets: npt.ArrayLike | None = None,
    lengths: npt.ArrayLike | None = None,
    initial: npt.ArrayLike | int = 0,
    *,
    threads: int = 1,
) -> U16Array:
    """RFC 1071 checksums of many spans at once: :func:`vxsum.checksum`, vectorised.

    Takes the same arguments as :func:`ones_sums` and returns a ``uint16`` array.

    >>> checksums([b"\\x45\\x00", b"", b"\\x01"]).tolist()
    [47871, 65535, 65279]
    >>> buf = b"..\\x45\\x00\\x01"
    >>> checksums(buf, offsets=[2, 4], lengths=[2, 1]).tolist()
    [47871, 65279]
    """
    result: Any = ~ones_sums(buffers, offsets, lengths, initial, threads=threads)
    return np.asarray(result, dtype=np.uint16)
