"""Inputs and baselines for the benchmarks: packet batches and a C loop built on the spot."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from workloads import Batch, CLoop

HERE = Path(__file__).parent
BATCH_PACKETS = int(os.environ.get("VXSUM_BENCH_PACKETS", "1000000"))


@pytest.fixture(scope="session")
def batch() -> Batch:
    rng = np.random.default_rng(2024)
    lengths = rng.choice(np.array([66, 150, 1450]), size=BATCH_PACKETS, p=[0.4, 0.3, 0.3])
    lengths = lengths.astype(np.int64)
    buffer = rng.integers(0, 256, size=int(lengths.sum()), dtype=np.uint8).tobytes()
    offsets = np.zeros(BATCH_PACKETS, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return Batch(buffer, offsets, lengths)


@pytest.fixture(scope="session")
def c_loop() -> Iterator[CLoop]:
    """The plain C loop of cloop.c, compiled with the system's cc -O3; skipped without cc."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (cc) on this machine: the C-loop comparison is skipped")
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = Path(tmp) / "cloop.so"
        subprocess.run(
            [cc, "-O3", "-shared", "-fPIC", "-o", str(lib_path), str(HERE / "cloop.c")],
            check=True,
        )
        lib = ctypes.CDLL(str(lib_path))
        lib.csum_batch.restype = None
        ptr = ctypes.c_void_p

        def run(
            buffer: bytes, offsets: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
        ) -> npt.NDArray[np.uint16]:
            out = np.empty(len(offsets), dtype=np.uint16)
            lib.csum_batch(
                ctypes.c_char_p(buffer),
                ptr(offsets.ctypes.data),
                ptr(lengths.ctypes.data),
                ctypes.c_int64(len(offsets)),
                ptr(out.ctypes.data),
            )
            return out

        yield run
