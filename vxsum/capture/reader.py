"""Reading capture files: pcap and pcapng, plain or gzip-compressed, in constant memory.

The analysis works on many packets at once (:func:`vxsum.checksums` takes one buffer plus
offsets and lengths), so the reader yields :class:`CaptureBatch` objects: one block of the
file as a numpy buffer, and arrays that say where each record's bytes are in it, with
their record numbers, lengths, link types and timestamps. :func:`iter_records` gives
the same records one at a time as :class:`CaptureRecord` objects, for convenience.

The file is read in blocks of ``block_size`` bytes (16 MiB by default); the record cut
by a block's end is carried into the next block, so memory stays near two blocks
whatever the file's size. Formats are told apart by their magic numbers, never by the
file name: gzip (RFC 1952), pcap with micro- or nanosecond timestamps in either byte
order, and pcapng (:mod:`vxsum.capture.pcap` and :mod:`vxsum.capture.pcapng` have the
format details).

Conventions:

* record numbers are 1-based and count every packet record in the file, as tcpdump and
  tshark number frames (a pcapng packet block that is reported and skipped still takes
  its number, so later numbers stay those of tshark);
* timestamps are int64 nanoseconds since the Unix epoch, UTC (pcapng's if_tsresol and
  if_tsoffset applied, values beyond int64 clamped); :data:`NO_TIMESTAMP` for a Simple
  Packet Block, which has none;
* link types are the 16-bit ``LINKTYPE_*`` values; the upper bits of pcap's link type field
  (whether frames end in an FCS) are dropped;
* offsets in errors are byte offsets in the file, in the decompressed stream for gzip.

Bad input. By default the first problem raises :class:`~vxsum.errors.CaptureError`,
after the records before it have been delivered. With ``keep_going=True`` problems are
collected in :attr:`CaptureReader.problems` and reading goes on where the format allows:
a pcapng packet block that is bad is skipped, a record whose captured length exceeds
the snap length or the original length is kept, and reading stops at a length that
cannot be trusted (pcap has no way to find the next record), a corrupt pcapng block
length, a truncated last record, or a corrupt gzip stream. A bad file header always
raises: nothing can be read from that file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from .pcap import PCAP_MAGIC, PcapWalker
from .pcapng import PCAPNG_MAGIC, PcapngWalker
from .walking import MAX_CAPLEN, NO_TIMESTAMP, Walked

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "MAX_CAPLEN",
    "NO_TIMESTAMP",
    "CaptureBatch",
    "CaptureReader",
    "CaptureRecord",
    "iter_records",
    "read_batches",
]

I64 = npt.NDArray[np.int64]
DEFAULT_BLOCK_SIZE = 16 << 20
"""Bytes read from the file at a time (16 MiB)."""
_GZIP_MAGIC = b"\x1f\x8b"
Source = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One packet record: its number, link type, captured bytes and lengths.

    ``data`` is a view into the batch buffer it came from (no copy); ``bytes(data)``
    keeps it beyond the batch. ``timestamp`` is in nanoseconds since the epoch.
    """

    number: int
    linktype: int
    data: memoryview
    caplen: int
    wirelen: int
    timestamp: int
    offset: int
    """Byte offset of the record (its header or pcapng block) in the file."""

    @property
    def truncated(self) -> bool:
        """True if the capture kept fewer bytes than were on the wire (a snap-length cut)."""
        return self.caplen < self.wirelen


_RECORD_SETTERS = tuple(
    getattr(CaptureRecord, name).__set__
    for name in ("number", "linktype", "data", "caplen", "wirelen", "timestamp", "offset")
)


@dataclass(frozen=True, slots=True)
class CaptureBatch:
    """Records of one block of a capture file: a buffer and one array entry per record.

    Record ``i``'s captured bytes are ``buffer[offsets[i] : offsets[i] + caplens[i]]``,
    ready for :func:`vxsum.checksums` (``buffer``, ``offsets``, ``caplens``). All arrays
    are int64; ``file_offsets`` are the records' byte offsets in the file.
    """

    buffer: npt.NDArray[np.uint8]
    numbers: I64
    offsets: I64
    caplens: I64
    wirelens: I64
    linktypes: I64
    timestamps: I64
    file_offsets: I64

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[CaptureRecord]:
        """The records one by one, their ``data`` views into :attr:`buffer`."""
        view = memoryview(self.buffer)  # type: ignore[arg-type]  # ndarray stubs lack __buffer__
        columns = zip(
            self.numbers.tolist(),
            self.linktypes.tolist(),
            self.offsets.tolist(),
            self.caplens.tolist(),
            self.wirelens.tolist(),
            self.timestamps.tolist(),
            self.file_offsets.tolist(),
            strict=True,
        )
        # A frozen dataclass's __init__ sets each field through object.__setattr__, which
        # halves the rate of this loop; the slots' own descriptors do the same job.
        new = object.__new__
        s_num, s_lt, s_data, s_cap, s_wire, s_ts, s_off = _RECORD_SETTERS
        for number, linktype, start, caplen, wirelen, ts, where in columns:
            rec = new(CaptureRecord)
            s_num(rec, number)
            s_lt(rec, linktype)
            s_data(rec, view[start : start + caplen])
            s_cap(rec, caplen)
            s_wire(rec, wirelen)
            s_ts(rec, ts)
            s_off(rec, where)
            yield rec


class CaptureReader:
    """A capture file opened for reading: batches or records, problems and counts.

    ``source`` is a path or a binary file object that can seek or peek (a pipe such as
    ``sys.stdin.buffer`` can peek: the first two bytes are peeked at, to detect gzip).
    The file header is read on opening, so a file that is not a capture raises
    :class:`CaptureError` here. Use as a context manager, or call :meth:`close`; a file
    object passed in is not closed.
    """

    def __init__(
        self,
        source: Source,
        *,
        keep_going: bool = False,
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_caplen: int = MAX_CAPLEN,
    ) -> None:
        if block_size < 1 or max_caplen < 1:
            raise ValueError("block_size and max_caplen must be positive")
        self.keep_going = keep_going
        self.block_size = block_size
        self.problems: list[CaptureError] = []
        """Problems met so far (with ``keep_going``; else the one raised)."""
        self.records = 0
        """Records delivered so far."""
        self.complete = False
        """True once the whole file has been read without a problem that stopped it."""
        self._owned: BinaryIO | None = None
        raw: BinaryIO
        if isinstance(source, str | os.PathLike):
            self.path = os.fspath(source)
            self._owned = raw = cast(BinaryIO, open(self.path, "rb"))  # noqa: SIM115  # see close()
        else:
            self.path = str(getattr(source, "name", "<stream>"))
            raw = source
        try:
            self.compressed = _peek(raw, 2) == _GZIP_MAGIC
            self._raw = raw
            self._gzip = gzip.GzipFile(fileobj=raw) if self.compressed else None
            self._base = 0  # file offset of the next block's first byte
            self._eof = False
            self._stream_error: CaptureError | None = None
            head = np.empty(max(block_size, 64), dtype=np.uint8)
            n = self._fill(head, 0)
            if self._stream_error is not None and n < 24:
                raise self._stream_error
            self._head = head[:n]
            self._walker: PcapWalker | PcapngWalker
            self._walker, self._start = open_walker(
                self._head[:24].tobytes(), self.path, max_caplen, keep_going
            )
        except BaseException:
            self.close()
            raise
        self._started = False

    @property
    def format(self) -> str:
        """``"pcap"``, ``"pcap-ns"`` (nanosecond timestamps) or ``"pcapng"``."""
        w = self._walker
        return "pcap-ns" if isinstance(w, PcapWalker) and w.nanosecond else w.format

    @property
    def linktype(self) -> int | None:
        """The file's link type for pcap; None for pcapng (one per interface, per record)."""
        return self._walker.linktype if isinstance(self._walker, PcapWalker) else None

    @property
    def snaplen(self) -> int | None:
        """The file's snap length for pcap; None for pcapng (one per interface)."""
        return self._walker.snaplen if isinstance(self._walker, PcapWalker) else None

    def close(self) -> None:
        """Close the file if this reader opened it."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[CaptureRecord]:
        """Every record, one at a time (see :meth:`batches`)."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[CaptureBatch]:
        """Every record of the file, one :class:`CaptureBatch` per block read.

        A reader can be iterated once. Without ``keep_going`` the first problem raises
        :class:`CaptureError` once the batch of the records before it has been yielded.
        """
        if self._started:
            raise RuntimeError("a CaptureReader can be read only once")
        self._started = True
        block, start = self._head, self._start
        del self._head
        while True:
            # After a gzip error the bytes left over are not a truncated record: the
            # stream error is what gets reported.
            end = self._eof and self._stream_error is None
            walked = self._walker.walk(block, start, self._base, end)
            if len(walked.numbers):
                self.records += len(walked.numbers)
                yield _batch(block, walked)
            self.problems.extend(walked.problems)
            if walked.problems and not self.keep_going:
                raise walked.problems[0]
            if walked.fatal:
                return
            if self._eof:  # everything consumed (the walker reports any leftover)
                if self._stream_error is not None:
                    self.problems.append(self._stream_error)
                    if not self.keep_going:
                        raise self._stream_error
                    return
                self.complete = True
                return
            tail = len(block) - walked.stop
            size = tail + max(self.block_size, walked.need - tail)
            new = np.empty(size, dtype=np.uint8)
            new[:tail] = block[walked.stop :]
            self._base += walked.stop
            block = new[: tail + self._fill(new, tail)]
            start = 0

    def _fill(self, block: npt.NDArray[np.uint8], pos: int) -> int:
        """Read into ``block[pos:]`` until it is full or the stream ends; bytes read.

        A gzip stream is read with ``read1``, which returns what one step decompressed:
        ``GzipFile.readinto`` would drop everything of a large read if its end hit a
        truncated or corrupt stream, where ``read1`` loses nothing before the error.
        """
        view = memoryview(block)[pos:]  # type: ignore[arg-type]  # ndarray stubs lack __buffer__
        got = 0
        while got < len(view):
            if self._gzip is None:
                n = self._raw.readinto(view[got:])  # type: ignore[attr-defined]
            else:
                try:
                    chunk = self._gzip.read1(len(view) - got)
                except (EOFError, OSError, zlib.error) as err:
                    offset = self._base + pos + got
                    reason = f"corrupt or truncated gzip stream ({err})"
                    self._stream_error = CaptureError(self.path, None, offset, reason)
                    chunk = b""
                n = len(chunk)
                view[got : got + n] = chunk
            if not n:
                self._eof = True
                break
            got += n
        return got


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


def _peek(raw: BinaryIO, n: int) -> bytes:
    """The first ``n`` bytes of ``raw`` without consuming them (peek, or read and seek back)."""
    peek = getattr(raw, "peek", None)
    if peek is not None:
        return bytes(peek(n)[:n])
    if not raw.seekable():
        raise TypeError("a capture stream must be seekable or have peek() (e.g. io.BufferedReader)")
    where = raw.tell()
    data = raw.read(n)
    raw.seek(where)
    return data


def _batch(block: npt.NDArray[np.uint8], w: Walked) -> CaptureBatch:
    return CaptureBatch(
        buffer=block,
        numbers=w.numbers,
        offsets=w.data_offsets,
        caplens=w.caplens,
        wirelens=w.wirelens,
        linktypes=w.linktypes,
        timestamps=w.timestamps,
        file_offsets=w.file_offsets,
    )


def read_batches(
    source: Source, *, block_size: int = DEFAULT_BLOCK_SIZE, max_caplen: int = MAX_CAPLEN
) -> Iterator[CaptureBatch]:
    """Every record of a capture file in :class:`CaptureBatch` objects; raises on problems.

    For ``keep_going`` (problems collected, not raised) use :class:`CaptureReader`.
    """
    with CaptureReader(source, block_size=block_size, max_caplen=max_caplen) as reader:
        yield from reader.batches()


def iter_records(
    source: Source, *, block_size: int = DEFAULT_BLOCK_SIZE, max_caplen: int = MAX_CAPLEN
) -> Iterator[CaptureRecord]:
    """Every record of a capture file, one :class:`CaptureRecord` at a time; raises on problems.

    >>> import io, struct
    >>> pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    >>> pcap += struct.pack("<IIII", 1, 500, 3, 60) + b"abc"
    >>> [(r.number, r.linktype, bytes(r.data), r.wirelen) for r in iter_records(io.BytesIO(pcap))]
    [(1, 1, b'abc', 60)]
    """
    with CaptureReader(source, block_size=block_size, max_caplen=max_caplen) as reader:
        yield from reader
