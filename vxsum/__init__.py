"""vxsum: explain bad packet checksums.

The public API lives here; submodules are implementation detail unless documented.

* checksum core (:mod:`vxsum.core.checksum`): :func:`checksum`, :func:`ones_sum`,
  :func:`verify`, pseudo-header sums and RFC 1624 incremental updates;
* batch core (:mod:`vxsum.core.batch`): :func:`checksums` and :func:`ones_sums` for many
  packets at once;
* frames (:mod:`vxsum.frames.frame`): :func:`parse` turns one captured frame into a
  :class:`Frame` of headers (:mod:`vxsum.frames.link`, :mod:`vxsum.frames.ip`,
  :mod:`vxsum.frames.transport`, :mod:`vxsum.frames.tunnels`; the common ones re-exported here)
  and :class:`ChecksumField` records, configured by :class:`ParseConfig`;
* building (:mod:`vxsum.frames.builder`): :func:`build` writes a frame from layer
  specifications (:class:`IPv4Spec`, :class:`UDPSpec`, ...) with a :class:`Checksum`
  mode per field, and :func:`spec_of` turns a parsed header back into one;
* the classifier: :func:`classify` gives each checksum field of a frame a
  :class:`Verdict` (a :class:`Label`, harmless or not, evidence);
  :func:`classify_stream` adds flow evidence, optional :class:`Conntrack` context and a
  :class:`Diagnosis` of the capture;
* captures (:mod:`vxsum.capture.reader`): :class:`CaptureReader`, :func:`read_batches` and
  :func:`iter_records` for pcap and pcapng, plain or gzip-compressed;
* whole captures (:mod:`vxsum.report.analyze`, what ``vxsum analyze`` runs):
  :func:`analyze_file` gives a :class:`FileReport` and hands rows to a sink;
  :class:`Summary` adds reports up; :class:`PreNatCapture` is a capture taken before
  NAT, used as context;
* the kernel model: :class:`Kernel` versions, :func:`nat_rewrite` (:mod:`vxsum.kernel.nat`),
  the primitives in :mod:`vxsum.kernel.csum`, VXLAN in :mod:`vxsum.kernel.encap`, and whole
  scenarios (:class:`Cluster`, :func:`vxsum.kernel.scenario.run`); the real-kernel lab in
  :mod:`vxsum.lab.run`; hypothesis strategies in :mod:`vxsum.testing.strategies`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .capture.reader import (
        CaptureBatch,
        CaptureReader,
        CaptureRecord,
        iter_records,
        read_batches,
    )
    from .core.batch import checksums, ones_sums
    from .core.checksum import (
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
    from .errors import CaptureError, ParseError, VxsumError
    from .frames.builder import (
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
    from .frames.config import ParseConfig
    from .frames.fields import ChecksumField, Reason, Status
    from .frames.frame import LINKTYPES, Frame, parse
    from .frames.ip import IPv4, IPv6
    from .frames.link import Ethernet, Layer, Truncated, Vlan
    from .frames.transport import ICMP, IGMP, TCP, UDP, ICMPv6, UDPLite
    from .frames.tunnels import Geneve, GeneveOption, Vxlan
    from .kernel.conntrack import Conntrack
    from .kernel.csum import IpSummed
    from .kernel.nat import Manip, nat_rewrite
    from .kernel.scenario import Cluster, KubeProxy
    from .kernel.versions import Kernel
    from .report.analyze import FileReport, Summary, analyze_file
    from .verdicts.prenat import PreNatCapture
    from .verdicts.stream import Diagnosis, classify_stream
    from .verdicts.verdict import Label, Verdict, classify

# Names are imported on first use (PEP 562), so that ``vxsum analyze`` does not pay for
# the builder, the kernel model and the strategies it does not use.
_SOURCES = {
    "FileReport": "report.analyze",
    "Summary": "report.analyze",
    "analyze_file": "report.analyze",
    "PreNatCapture": "verdicts.prenat",
    "Address": "core.checksum",
    "Buffer": "core.checksum",
    "CaptureBatch": "capture.reader",
    "CaptureError": "errors",
    "CaptureReader": "capture.reader",
    "CaptureRecord": "capture.reader",
    "Checksum": "frames.builder",
    "ChecksumField": "frames.fields",
    "ChecksumMode": "frames.builder",
    "Cluster": "kernel.scenario",
    "Conntrack": "kernel.conntrack",
    "Diagnosis": "verdicts.stream",
    "Ethernet": "frames.link",
    "EthernetSpec": "frames.builder",
    "Frame": "frames.frame",
    "Geneve": "frames.tunnels",
    "GeneveOption": "frames.tunnels",
    "GeneveSpec": "frames.builder",
    "ICMP": "frames.transport",
    "ICMPSpec": "frames.builder",
    "ICMPv6": "frames.transport",
    "ICMPv6Spec": "frames.builder",
    "IGMP": "frames.transport",
    "IPv4": "frames.ip",
    "IPv4Spec": "frames.builder",
    "IPv6": "frames.ip",
    "IPv6FragmentSpec": "frames.builder",
    "IPv6OptionsSpec": "frames.builder",
    "IPv6RoutingSpec": "frames.builder",
    "IPv6Spec": "frames.builder",
    "IpSummed": "kernel.csum",
    "Kernel": "kernel.versions",
    "KubeProxy": "kernel.scenario",
    "LINKTYPES": "frames.frame",
    "Label": "verdicts.verdict",
    "Layer": "frames.link",
    "Manip": "kernel.nat",
    "ParseConfig": "frames.config",
    "ParseError": "errors",
    "Reason": "frames.fields",
    "Spec": "frames.builder",
    "Status": "frames.fields",
    "TCP": "frames.transport",
    "TCPSpec": "frames.builder",
    "Truncated": "frames.link",
    "UDP": "frames.transport",
    "UDPLite": "frames.transport",
    "UDPSpec": "frames.builder",
    "Verdict": "verdicts.verdict",
    "Vlan": "frames.link",
    "VlanSpec": "frames.builder",
    "Vxlan": "frames.tunnels",
    "VxlanSpec": "frames.builder",
    "VxsumError": "errors",
    "build": "frames.builder",
    "checksum": "core.checksum",
    "checksums": "core.batch",
    "classify": "verdicts.verdict",
    "classify_stream": "verdicts.stream",
    "fold": "core.checksum",
    "iter_records": "capture.reader",
    "nat_rewrite": "kernel.nat",
    "ones_add": "core.checksum",
    "ones_sum": "core.checksum",
    "ones_sums": "core.batch",
    "parse": "frames.frame",
    "pseudo_header_sum": "core.checksum",
    "pseudo_header_sum_v4": "core.checksum",
    "pseudo_header_sum_v6": "core.checksum",
    "read_batches": "capture.reader",
    "spec_of": "frames.builder",
    "update128": "core.checksum",
    "update16": "core.checksum",
    "update32": "core.checksum",
    "update_span": "core.checksum",
    "verify": "core.checksum",
}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'vxsum' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))


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
