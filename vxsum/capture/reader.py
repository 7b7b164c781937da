"""Reading capture files: pcap and pcapng, plain or compressed, in constant memory.

The analysis works on many packets at once (:func:`vxsum.checksums` takes one buffer plus
offsets and lengths), so the reader yields :class:`CaptureBatch` objects: one block of the
file as a numpy buffer, and arrays that say where each record's bytes are in it, with
their record numbers, lengths, link types and timestamps. :func:`iter_records` gives
the same records one at a time as :class:`CaptureRecord` objects, for convenience.

The file is read in blocks of ``block_size`` bytes (8 MiB by default); the record cut
by a block's end is carried into the next block, so memory stays near two blocks
whatever the file's size (a block longer than that grows the buffer as its bytes arrive,
never on the word of its length field alone). Formats are told apart by their magic
numbers, never by the file name: gzip (RFC 1952), xz, bzip2 and zstd compression (zstd
with the ``zstandard`` package: ``pip install 'vxsum[zstd]'``), pcap with micro- or
nanosecond timestamps in either byte order, and pcapng (:mod:`vxsum.capture.pcap` and
:mod:`vxsum.capture.pcapng` have the format details). A source is a path (a named pipe
or ``/dev/fd/N`` too) or a binary file object.

Conventions:

* record numbers are 1-based and count every packet record in the file, as tcpdump and
  tshark number frames (a pcapng packet block that is reported and skipped still takes
  its number, so later numbers stay those of tshark);
* timestamps are int64 nanoseconds since the Unix epoch, UTC (pcapng's if_tsresol and
  if_tsoffset applied, values beyond int64 clamped); :data:`NO_TIMESTAMP` for a Simple
  Packet Block, which has none;
* link types are the 16-bit ``LINKTYPE_*`` values; the upper bits of pcap's link type field
  (whether frames end in an FCS) are dropped;
* offsets in errors are byte offsets in the file, in the decompressed stream for a
  compressed one.

Bad input. By default the first problem raises :class:`~vxsum.errors.CaptureError`,
after the records before it have been delivered. With ``keep_going=True`` problems are
collected in :attr:`CaptureReader.problem_log` and reading goes on where the format
allows: a pcapng packet block that is bad is skipped, a record whose captured length
exceeds the original length is kept, and reading stops at a length that cannot be
trusted (pcap has no way to find the next record), a corrupt pcapng block length, a
truncated last record, or a corrupt compressed stream. A record whose captured length
exceeds the snap length is read whole, as tcpdump reads it, and noted in the problems
even without ``keep_going``. A bad file header always raises: nothing can be read from
that file. Problems are counted by kind and the first few of each kept
(:mod:`vxsum.capture.problems`), so memory does not grow with the bad records.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol, cast

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from .pcap import PCAP_MAGIC, PcapWalker
from .pcapng import PCAPNG_MAGIC, PcapngWalker
from .problems import ProblemLog, kind_of
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
DEFAULT_BLOCK_SIZE = 8 << 20
"""Bytes read from the file at a time (8 MiB)."""
BATCH_RECORDS = 1 << 18
"""Records a batch holds at most, about (a file of tiny records is read in smaller blocks)."""
_FIRST_READ = 1 << 20
Source = str | os.PathLike[str] | BinaryIO
_COMPRESSIONS = {  # leading bytes -> compression (zstd: a frame, or a skippable frame)
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"BZh": "bzip2",
    b"\x28\xb5\x2f\xfd": "zstd",
    **{bytes([0x50 + k, 0x2A, 0x4D, 0x18]): "zstd" for k in range(16)},
}
_STREAM_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)


class _Stream(Protocol):
    def read1(self, size: int, /) -> bytes: ...


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
    ``sys.stdin.buffer`` can peek: the first bytes are peeked at, to detect compression).
    The file header is read on opening, so a file that is not a capture raises
    :class:`CaptureError` here; a source of the wrong type raises ``TypeError``. Use as
    a context manager, or call :meth:`close`; a file object passed in is not closed.
    """

    def __init__(
        self,
        source: Source,
        *,
        keep_going: bool = False,
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_caplen: int = MAX_CAPLEN,
    ) -> None:
        _check_source(source)
        if block_size < 1 or max_caplen < 1:
            raise ValueError("block_size and max_caplen must be positive")
        self.keep_going = keep_going
        self.block_size = block_size
        self.problem_log: ProblemLog[CaptureError] = ProblemLog()
        """Every problem met so far, counted by kind, the first few of each kept (notes
        such as a captured length over the snap length too; without ``keep_going``,
        the one that stopped reading is the last)."""
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
            self.compression = _compression(_peek(raw, 6))
            """``"gzip"``, ``"xz"``, ``"bzip2"``, ``"zstd"``, or None for a plain file."""
            self._raw = raw
            self._stream = _decompressor(self.compression, raw, self.path)
            self._base = 0  # file offset of the next block's first byte
            self._eof = False
            self._stream_error: CaptureError | None = None
            # The first block is small (1 MiB at most): how many records a block holds
            # is not known before one has been walked (see _read_size).
            head = np.empty(max(min(block_size, _FIRST_READ), 64), dtype=np.uint8)
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
        self._read = min(block_size, _FIRST_READ)  # bytes read at a time (see _read_size)

    @property
    def problems(self) -> list[CaptureError]:
        """The problems kept word for word (see :attr:`problem_log` for every count)."""
        return self.problem_log.examples

    @property
    def compressed(self) -> bool:
        """True for a compressed file (see :attr:`compression`)."""
        return self.compression is not None

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
            log = self.problem_log
            for problem in walked.problems:
                log.add(kind_of(problem.reason), (problem,))
            for kind, count in walked.unlisted:
                log.add(kind, (), count)
            if walked.fatal:  # the last problem stopped the walk
                if not self.keep_going:
                    raise walked.problems[-1]
                return
            if self._eof:  # everything consumed (the walker reports any leftover)
                if self._stream_error is not None:
                    log.add(kind_of(self._stream_error.reason), (self._stream_error,))
                    if not self.keep_going:
                        raise self._stream_error
                    return
                self.complete = True
                return
            # The unfinished record needs walked.need bytes: read them, but at most as many
            # again as are here at each step, so a length field that lies costs no more
            # memory than the bytes the file really has.
            tail = len(block) - walked.stop
            read = self._read_size(walked.stop - start, len(walked.numbers))
            size = tail + max(read, min(walked.need - tail, tail))
            new = np.empty(size, dtype=np.uint8)
            new[:tail] = block[walked.stop :]
            self._base += walked.stop
            block = new[: tail + self._fill(new, tail)]
            start = 0

    def _read_size(self, walked: int, records: int) -> int:
        """Bytes to read next, from the last walk's ``walked`` bytes and ``records``:
        ``block_size``, or fewer where records are so small that a block would hold more
        than :data:`BATCH_RECORDS` of them (a batch takes about 60 bytes a record whatever
        its size: 16-byte records would take four times the block)."""
        if records:  # else as before
            self._read = min(max(walked * BATCH_RECORDS // records, 1 << 16), self.block_size)
        return self._read

    def _fill(self, block: npt.NDArray[np.uint8], pos: int) -> int:
        """Read into ``block[pos:]`` until it is full or the stream ends; bytes read.

        A compressed stream is read with ``read1``, which returns what one step
        decompressed: ``GzipFile.readinto`` would drop everything of a large read if its
        end hit a truncated or corrupt stream, where ``read1`` loses nothing before the error.
        """
        view = memoryview(block)[pos:]  # type: ignore[arg-type]  # ndarray stubs lack __buffer__
        got = 0
        while got < len(view):
            if self._stream is None:
                n = self._raw.readinto(view[got:])  # type: ignore[attr-defined]
            else:
                try:
                    chunk = self._stream.read1(len(view) - got)
                except _STREAM_ERRORS as err:
                    offset = self._base + pos + got
                    reason = f"corrupt or truncated {self.compression} stream ({err})"
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
    reason = f"not a pcap or pcapng file (magic {head[:4].hex()}; not gzip, xz, bzip2 or zstd)"
    raise CaptureError(path, None, 0, reason)


def _check_source(source: object) -> None:
    """Raise ``TypeError`` unless ``source`` is a path or a binary file object."""
    if isinstance(source, str | os.PathLike):
        return
    if isinstance(source, bytes | bytearray | memoryview):
        raise TypeError(
            f"source must be a path or a binary file object, not {type(source).__name__} "
            "(wrap bytes in io.BytesIO)"
        )
    if isinstance(source, io.TextIOBase):
        raise TypeError("source is a text stream: open the capture in binary mode ('rb')")
    if not callable(getattr(source, "read", None)):
        raise TypeError(
            f"source must be a path or a binary file object, not {type(source).__name__}"
        )


def _compression(head: bytes) -> str | None:
    """The compression whose magic number ``head`` starts with, if any."""
    return next((name for magic, name in _COMPRESSIONS.items() if head.startswith(magic)), None)


def _decompressor(compression: str | None, raw: BinaryIO, path: str) -> _Stream | None:
    """A ``read1`` reader of the decompressed bytes of ``raw`` (None for a plain file)."""
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw)
    if compression == "xz":
        return lzma.LZMAFile(raw)
    if compression == "bzip2":
        return bz2.BZ2File(raw)
    if compression == "zstd":
        try:
            import zstandard
        except ImportError:
            reason = "zstd-compressed; install vxsum[zstd] (the zstandard package) to read it"
            raise CaptureError(path, None, 0, reason) from None
        return _ZstdReader(raw, zstandard)
    return None


class _ZstdReader:
    """``read1`` over a zstd stream (the ``zstandard`` package), frame after frame.

    The stream is fed in small pieces, so one call's output stays small whatever the
    compression ratio, and a stream that ends inside a frame raises ``EOFError``
    (``zstandard``'s own stream reader ends there silently).
    """

    _PIECE = 256  # compressed bytes fed at a time: at most ~8 MiB out (zstd: ~32768:1)

    def __init__(self, raw: BinaryIO, zstd: Any) -> None:
        self._raw, self._zstd = raw, zstd
        self._frame = zstd.ZstdDecompressor().decompressobj()
        self._fed = False  # whether the current frame has been given bytes
        self._input = b""  # compressed bytes not yet fed
        self._output = memoryview(b"")  # decompressed bytes not yet returned

    def read1(self, size: int, /) -> bytes:
        while not self._output:
            if not self._input:
                self._input = self._raw.read(self._PIECE)
                if not self._input:
                    if self._fed and not self._frame.eof:
                        raise EOFError("the stream ends inside a zstd frame")
                    return b""
            piece, self._input = self._input[: self._PIECE], self._input[self._PIECE :]
            try:
                self._output = memoryview(self._frame.decompress(piece))
            except self._zstd.ZstdError as err:
                raise OSError(str(err)) from None
            self._fed = True
            if self._frame.eof:  # the next frame, if any, starts with what is left
                self._input = self._frame.unused_data + self._input
                self._frame = self._zstd.ZstdDecompressor().decompressobj()
                self._fed = False
        out, self._output = self._output[:size], self._output[size:]
        return bytes(out)


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
    _check_source(source)
    return _batches(source, block_size, max_caplen)


def _batches(source: Source, block_size: int, max_caplen: int) -> Iterator[CaptureBatch]:
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
    _check_source(source)
    return _records(source, block_size, max_caplen)


def _records(source: Source, block_size: int, max_caplen: int) -> Iterator[CaptureRecord]:
    with CaptureReader(source, block_size=block_size, max_caplen=max_caplen) as reader:
        yield from reader
