"""Verdict rows parked on disk: a file's rows wait here until its flow evidence is final.

A :class:`Spool` is a temporary file of :data:`~vxsum.verdicts.labels.ROW` records,
read back in chunks (:meth:`Spool.__iter__`), whole (:meth:`Spool.read`) or mapped as one
array (:meth:`Spool.mapped`), so that memory stays flat however many rows there are.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from .labels import ROW

__all__ = ["Spool"]


class Spool:
    """Rows of one capture or stream, in frame order, parked in a temporary file."""

    def __init__(self, chunk_rows: int = 1 << 15) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self.rows = 0
        self.chunk_rows = chunk_rows

    def append(self, rows: npt.NDArray[np.void]) -> None:
        if len(rows):  # the array's own bytes, not a copy made by tobytes()
            self._file.write(np.ascontiguousarray(rows, dtype=ROW).view(np.uint8).data)
            self.rows += len(rows)

    def __iter__(self) -> Iterator[npt.NDArray[np.void]]:
        """The rows back, in chunks of at most ``chunk_rows`` (each a new, writable array)."""
        self._file.seek(0)
        left = self.rows
        while left:
            n = min(left, self.chunk_rows)
            chunk = np.empty(n, dtype=ROW)
            if self._file.readinto(chunk.view(np.uint8).data) != chunk.nbytes:
                raise OSError("the row spool ended early")
            yield chunk
            left -= n

    def read(self) -> npt.NDArray[np.void]:
        """All the rows as one array in memory."""
        return np.concatenate([np.zeros(0, dtype=ROW), *self])

    def mapped(self) -> npt.NDArray[np.void]:
        """All the rows as one read-only array mapped from the file: the system pages
        them in as they are read, and they outlive :meth:`close` (the mapping holds a
        file descriptor until it is freed)."""
        if not self.rows:
            return np.zeros(0, dtype=ROW)
        self._file.flush()
        return np.memmap(self._file, dtype=ROW, mode="r", shape=(self.rows,))

    def close(self) -> None:
        self._file.close()
