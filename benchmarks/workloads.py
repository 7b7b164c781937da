"""Types shared by the benchmarks and their fixtures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Batch:
    """Packets of 66 B (40%), 150 B (30%) and 1450 B (30%) back to back in one buffer."""

    buffer: bytes
    offsets: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]


CLoop = Callable[[bytes, npt.NDArray[np.int64], npt.NDArray[np.int64]], npt.NDArray[np.uint16]]
