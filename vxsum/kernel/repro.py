"""Captures the kernel model predicts: ``vxsum repro`` and the demo's shipped captures.

:func:`repro_frames` runs a scenario (:mod:`vxsum.kernel.scenario`) and returns each packet at
one tap point: ``inner`` (the inner IP packet after kube-proxy's NAT, as raw IP),
``sender`` (the outer frame as tcpdump on the sending node sees it, before the NIC
fills pending checksums) or ``wire`` (the frame as it arrives). :func:`write_pcap`
writes them as a classic pcap file that tcpdump, tshark and :mod:`vxsum.capture.reader` read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from .scenario import Cluster, run

__all__ = ["TAPS", "repro_frames", "write_pcap"]

TAPS = ("inner", "prenat", "sender", "wire")
LINKTYPE_ETHERNET, LINKTYPE_RAW = 1, 101
_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


def repro_frames(
    cluster: Cluster, proto: str = "tcp", tap: str = "wire", *, attempts: int = 8, seed: int = 0
) -> tuple[int, list[tuple[float, bytes]]]:
    """(link type, [(time, frame)]) of a scenario's packets at ``tap``."""
    if tap not in TAPS:
        raise ValueError(f"tap must be one of {', '.join(TAPS)}, not {tap!r}")
    scenario = run(cluster, proto, attempts=attempts, seed=seed)
    frames = [(p.time, getattr(p, tap)) for p in scenario.packets]
    return (LINKTYPE_RAW if tap == "inner" else LINKTYPE_ETHERNET), frames


def write_pcap(
    path: str | Path,
    frames: Iterable[tuple[float, bytes]],
    linktype: int = LINKTYPE_ETHERNET,
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
