"""vxsum: explain bad packet checksums.

The public API lives here; submodules are implementation detail unless documented.

* checksum core (:mod:`vxsum.checksum`): :func:`checksum`, :func:`ones_sum`,
  :func:`verify`, pseudo-header sums and RFC 1624 incremental updates;
* batch core (:mod:`vxsum.batch`): :func:`checksums` and :func:`ones_sums` for many
  packets at once;
* frames (:mod:`vxsum.parse`): :func:`parse` turns one captured frame into a
  :class:`Frame` of headers (:mod:`vxsum.layers`, :mod:`vxsum.ip`,
  :mod:`vxsum.transport`, :mod:`vxsum.tunnels`; the common ones re-exported here)
  and :class:`ChecksumField` records, configured by :class:`ParseConfig`;
* building (:mod:`vxsum.build`): :func:`build` writes a frame from layer
  specifications (:class:`IPv4Spec`, :class:`UDPSpec`, ...) with a :class:`Checksum`
  mode per field, and :func:`spec_of` turns a parsed header back into one;
* the classifier: :func:`classify` gives each checksum field of a frame a
  :class:`Verdict` (a :class:`Label`, harmless or not, evidence);
  :func:`classify_stream` adds flow evidence, optional :class:`Conntrack` context and a
  :class:`Diagnosis` of the capture;
* captures (:mod:`vxsum.capture`): :class:`CaptureReader`, :func:`read_batches` and
  :func:`iter_records` for pcap and pcapng, plain or gzip-compressed;
* the kernel model: :class:`Kernel` versions, :func:`nat_rewrite` (:mod:`vxsum.nat`),
  the primitives in :mod:`vxsum.kcsum`, VXLAN in :mod:`vxsum.encap`, and whole
  scenarios (:class:`Cluster`, :func:`vxsum.scenario.run`); the real-kernel lab in
  :mod:`vxsum.lab`; hypothesis strategies in :mod:`vxsum.strategies`.
"""

from __future__ import annotations

from .batch import checksums, ones_sums
from .build import (
    Checksum,
    ChecksumMode,
    EthernetSpec,
    GeneveSpec,
    ICMPSpec,
    ICMPv6Spec,
    IPv4Spec,
    IPv6FragmentSpec,
    IPv6OptionsSpec,
    IPv6RoutingSpec,
    IPv6Spec,
    Spec,
    TCPSpec,
    UDPSpec,
    VlanSpec,
    VxlanSpec,
    build,
    spec_of,
)
from .capture import CaptureBatch, CaptureReader, CaptureRecord, iter_records, read_batches
from .checksum import (
    Address,
    Buffer,
    checksum,
    fold,
    ones_add,
    ones_sum,
    pseudo_header_sum,
    pseudo_header_sum_v4,
    pseudo_header_sum_v6,
    update16,
    update32,
    update128,
    update_span,
    verify,
)
from .classify import Label, Verdict, classify
from .config import ParseConfig
from .conntrack import Conntrack
from .diagnose import Diagnosis, classify_stream
from .errors import CaptureError, ParseError, VxsumError
from .fields import ChecksumField, Reason, Status
from .ip import IPv4, IPv6
from .kcsum import IpSummed
from .kversion import Kernel
from .layers import Ethernet, Layer, Truncated, Vlan
from .nat import Manip, nat_rewrite
from .parse import LINKTYPES, Frame, parse
from .scenario import Cluster, KubeProxy
from .transport import ICMP, IGMP, TCP, UDP, ICMPv6, UDPLite
from .tunnels import Geneve, GeneveOption, Vxlan

__version__ = "0.1.0.dev0"

__all__ = [
    "ICMP",
    "IGMP",
    "LINKTYPES",
    "TCP",
    "UDP",
    "Address",
    "Buffer",
    "CaptureBatch",
    "CaptureError",
    "CaptureReader",
    "CaptureRecord",
    "Checksum",
    "ChecksumField",
    "ChecksumMode",
    "Cluster",
    "Conntrack",
    "Diagnosis",
    "Ethernet",
    "EthernetSpec",
    "Frame",
    "Geneve",
    "GeneveOption",
    "GeneveSpec",
    "ICMPSpec",
    "ICMPv6",
    "ICMPv6Spec",
    "IPv4",
    "IPv4Spec",
    "IPv6",
    "IPv6FragmentSpec",
    "IPv6OptionsSpec",
    "IPv6RoutingSpec",
    "IPv6Spec",
    "IpSummed",
    "Kernel",
    "KubeProxy",
    "Label",
    "Layer",
    "Manip",
    "ParseConfig",
    "ParseError",
    "Reason",
    "Spec",
    "Status",
    "TCPSpec",
    "Truncated",
    "UDPLite",
    "UDPSpec",
    "Verdict",
    "Vlan",
    "VlanSpec",
    "Vxlan",
    "VxlanSpec",
    "VxsumError",
    "__version__",
    "build",
    "checksum",
    "checksums",
    "classify",
    "classify_stream",
    "fold",
    "iter_records",
    "nat_rewrite",
    "ones_add",
    "ones_sum",
    "ones_sums",
    "parse",
    "pseudo_header_sum",
    "pseudo_header_sum_v4",
    "pseudo_header_sum_v6",
    "read_batches",
    "spec_of",
    "update16",
    "update32",
    "update128",
    "update_span",
    "verify",
]
