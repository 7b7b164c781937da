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
* whole captures (:mod:`vxsum.analysis`, what ``vxsum analyze`` runs):
  :func:`analyze_file` gives a :class:`FileReport` and hands rows to a sink;
  :class:`Summary` adds reports up; :class:`PreNatCapture` is a capture taken before
  NAT, used as context;
* the kernel model: :class:`Kernel` versions, :func:`nat_rewrite` (:mod:`vxsum.nat`),
  the primitives in :mod:`vxsum.kcsum`, VXLAN in :mod:`vxsum.encap`, and whole
  scenarios (:class:`Cluster`, :func:`vxsum.scenario.run`); the real-kernel lab in
  :mod:`vxsum.lab`; hypothesis strategies in :mod:`vxsum.strategies`.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis import FileReport, Summary, analyze_file
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
    from .prenat import PreNatCapture
    from .scenario import Cluster, KubeProxy
    from .transport import ICMP, IGMP, TCP, UDP, ICMPv6, UDPLite
    from .tunnels import Geneve, GeneveOption, Vxlan

# Names are imported on first use (PEP 562), so that ``vxsum analyze`` does not pay for
# the builder, the kernel model and the strategies it does not use.
_SOURCES = {
    "FileReport": "analysis",
    "Summary": "analysis",
    "analyze_file": "analysis",
    "PreNatCapture": "prenat",
    "Address": "checksum",
    "Buffer": "checksum",
    "CaptureBatch": "capture",
    "CaptureError": "errors",
    "CaptureReader": "capture",
    "CaptureRecord": "capture",
    "Checksum": "build",
    "ChecksumField": "fields",
    "ChecksumMode": "build",
    "Cluster": "scenario",
    "Conntrack": "conntrack",
    "Diagnosis": "diagnose",
    "Ethernet": "layers",
    "EthernetSpec": "build",
    "Frame": "parse",
    "Geneve": "tunnels",
    "GeneveOption": "tunnels",
    "GeneveSpec": "build",
    "ICMP": "transport",
    "ICMPSpec": "build",
    "ICMPv6": "transport",
    "ICMPv6Spec": "build",
    "IGMP": "transport",
    "IPv4": "ip",
    "IPv4Spec": "build",
    "IPv6": "ip",
    "IPv6FragmentSpec": "build",
    "IPv6OptionsSpec": "build",
    "IPv6RoutingSpec": "build",
    "IPv6Spec": "build",
    "IpSummed": "kcsum",
    "Kernel": "kversion",
    "KubeProxy": "scenario",
    "LINKTYPES": "parse",
    "Label": "classify",
    "Layer": "layers",
    "Manip": "nat",
    "ParseConfig": "config",
    "ParseError": "errors",
    "Reason": "fields",
    "Spec": "build",
    "Status": "fields",
    "TCP": "transport",
    "TCPSpec": "build",
    "Truncated": "layers",
    "UDP": "transport",
    "UDPLite": "transport",
    "UDPSpec": "build",
    "Verdict": "classify",
    "Vlan": "layers",
    "VlanSpec": "build",
    "Vxlan": "tunnels",
    "VxlanSpec": "build",
    "VxsumError": "errors",
    "build": "build",
    "checksum": "checksum",
    "checksums": "batch",
    "classify": "classify",
    "classify_stream": "diagnose",
    "fold": "checksum",
    "iter_records": "capture",
    "nat_rewrite": "nat",
    "ones_add": "checksum",
    "ones_sum": "checksum",
    "ones_sums": "batch",
    "parse": "parse",
    "pseudo_header_sum": "checksum",
    "pseudo_header_sum_v4": "checksum",
    "pseudo_header_sum_v6": "checksum",
    "read_batches": "capture",
    "spec_of": "build",
    "update128": "checksum",
    "update16": "checksum",
    "update32": "checksum",
    "update_span": "checksum",
    "verify": "checksum",
}
# Functions named like their module: the import system sets the package attribute to
# the submodule when it is first imported, which must not hide the function.
_SHADOWED = frozenset(name for name, module in _SOURCES.items() if name == module)


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'vxsum' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return  # the submodule stays in sys.modules; vxsum.<name> is the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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
    "FileReport",
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
    "PreNatCapture",
    "Reason",
    "Spec",
    "Status",
    "Summary",
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
    "analyze_file",
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
