"""The kernel model: what Linux writes into checksum fields (kernel-model.md).

The kernel's checksum primitives (:mod:`~vxsum.kernel.csum`), what sockets leave in the
field (:mod:`~vxsum.kernel.sender`), the transmit state and the pending-checksum fill
(:mod:`~vxsum.kernel.skb`), VXLAN encapsulation and local checksum offload
(:mod:`~vxsum.kernel.encap`), netfilter NAT before and after the fix
(:mod:`~vxsum.kernel.nat`), which kernel versions do what
(:mod:`~vxsum.kernel.versions`), conntrack tables (:mod:`~vxsum.kernel.conntrack`), and
whole scenarios from cluster settings to what the receiver counts
(:mod:`~vxsum.kernel.scenario`, :mod:`~vxsum.kernel.repro`). It builds and rewrites
packets with :mod:`vxsum.frames`; it knows nothing of verdicts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conntrack import Conntrack, ConntrackEntry, ConntrackError, Tuple
    from .csum import IpSummed
    from .encap import EPHEMERAL_PORTS, udp_flow_src_port, vxlan_encapsulate
    from .nat import Manip, NatResult, nat_rewrite
    from .repro import TAPS, repro_frames
    from .scenario import Cluster, KubeProxy, Scenario
    from .skb import Skb, fill_pending
    from .versions import DistributionKernelWarning, Kernel, KernelVersionError

_SOURCES = {
    "Conntrack": "conntrack",
    "ConntrackEntry": "conntrack",
    "ConntrackError": "conntrack",
    "Tuple": "conntrack",
    "IpSummed": "csum",
    "EPHEMERAL_PORTS": "encap",
    "udp_flow_src_port": "encap",
    "vxlan_encapsulate": "encap",
    "Manip": "nat",
    "NatResult": "nat",
    "nat_rewrite": "nat",
    "TAPS": "repro",
    "repro_frames": "repro",
    "Cluster": "scenario",
    "KubeProxy": "scenario",
    "Scenario": "scenario",
    "Skb": "skb",
    "fill_pending": "skb",
    "DistributionKernelWarning": "versions",
    "Kernel": "versions",
    "KernelVersionError": "versions",
}
"""Where each exported name lives (imported on first use, PEP 562)."""

__all__ = [
    "EPHEMERAL_PORTS",
    "TAPS",
    "Cluster",
    "Conntrack",
    "ConntrackEntry",
    "ConntrackError",
    "DistributionKernelWarning",
    "IpSummed",
    "Kernel",
    "KernelVersionError",
    "KubeProxy",
    "Manip",
    "NatResult",
    "Scenario",
    "Skb",
    "Tuple",
    "fill_pending",
    "nat_rewrite",
    "repro_frames",
    "udp_flow_src_port",
    "vxlan_encapsulate",
]


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
