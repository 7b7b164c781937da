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

from .conntrack import Conntrack, ConntrackEntry, ConntrackError, Tuple
from .csum import IpSummed
from .encap import EPHEMERAL_PORTS, udp_flow_src_port, vxlan_encapsulate
from .nat import Manip, NatResult, nat_rewrite
from .repro import TAPS, repro_frames
from .scenario import Cluster, KubeProxy, Scenario
from .skb import Skb, fill_pending
from .versions import Kernel, KernelVersionError

__all__ = [
    "EPHEMERAL_PORTS",
    "TAPS",
    "Cluster",
    "Conntrack",
    "ConntrackEntry",
    "ConntrackError",
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
