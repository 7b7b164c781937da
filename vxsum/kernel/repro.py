"""Captures the kernel model predicts: ``vxsum repro`` and the demo's shipped captures.

:func:`repro_frames` runs a scenario (:mod:`vxsum.kernel.scenario`) and returns each packet
at one tap point: ``inner`` (the inner IP packet after kube-proxy's NAT, as raw IP),
``prenat`` (the outer frame before the second NAT), ``sender`` (the outer frame as tcpdump
on the sending node sees it, before the NIC fills pending checksums) or ``wire`` (the
frame as it arrives). :func:`vxsum.capture.pcap.write_pcap` writes them as a pcap file.
"""

from __future__ import annotations

from ..capture.linktypes import LinkType
from .scenario import Cluster, Scenario, run

__all__ = ["TAPS", "repro_frames", "reproduce"]

TAPS = ("inner", "prenat", "sender", "wire")


def repro_frames(
    cluster: Cluster, proto: str = "tcp", tap: str = "wire", *, attempts: int = 8, seed: int = 0
) -> tuple[LinkType, list[tuple[float, bytes]]]:
    """(link type, [(time, frame)]) of a scenario's packets at ``tap``."""
    linktype, frames, _ = reproduce(cluster, proto, tap, attempts=attempts, seed=seed)
    return linktype, frames


def reproduce(
    cluster: Cluster, proto: str = "tcp", tap: str = "wire", *, attempts: int = 8, seed: int = 0
) -> tuple[LinkType, list[tuple[float, bytes]], Scenario]:
    """:func:`repro_frames`, and the scenario they come from (its conntrack table too)."""
    if tap not in TAPS:
        raise ValueError(f"tap must be one of {', '.join(TAPS)}, not {tap!r}")
    scenario = run(cluster, proto, attempts=attempts, seed=seed)
    frames = [(p.time, getattr(p, tap)) for p in scenario.packets]
    return (LinkType.RAW if tap == "inner" else LinkType.ETHERNET), frames, scenario
