"""Capture files: bytes to records.

pcap (:mod:`~vxsum.capture.pcap`) and pcapng (:mod:`~vxsum.capture.pcapng`), plain or
compressed (gzip, xz, bzip2, zstd), read in constant memory as batches of records
(:mod:`~vxsum.capture.reader`), with the record walk they share
(:mod:`~vxsum.capture.walking`); problems counted by kind with a few of each kept
(:mod:`~vxsum.capture.problems`); the one table of link types
(:mod:`~vxsum.capture.linktypes`); the packet inside an NFLOG record
(:mod:`~vxsum.capture.nflog`). Nothing here looks inside a frame.
"""

from .linktypes import SUPPORTED, LinkType
from .nflog import nflog_payload
from .pcap import write_pcap
from .problems import ProblemLog
from .reader import (
    DEFAULT_BLOCK_SIZE,
    MAX_CAPLEN,
    NO_TIMESTAMP,
    CaptureBatch,
    CaptureReader,
    CaptureRecord,
    iter_records,
    read_batches,
)

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "MAX_CAPLEN",
    "NO_TIMESTAMP",
    "SUPPORTED",
    "CaptureBatch",
    "CaptureReader",
    "CaptureRecord",
    "LinkType",
    "ProblemLog",
    "iter_records",
    "nflog_payload",
    "read_batches",
    "write_pcap",
]
