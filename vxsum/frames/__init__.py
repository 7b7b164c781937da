"""Frames: one captured frame to headers and checksum-field facts, and back.

The parser (:func:`parse`: :mod:`~vxsum.frames.walk` and :mod:`~vxsum.frames.ipwalk`
walk the headers of :mod:`~vxsum.frames.link`, :mod:`~vxsum.frames.ip`,
:mod:`~vxsum.frames.transport` and :mod:`~vxsum.frames.tunnels` through one bounded
reader, :mod:`~vxsum.frames.wire`) gives a :class:`Frame` with a
:class:`ChecksumField` per checksum. The facts (:data:`FACT`) are those fields as
numbers, from a parsed frame (:func:`facts_of`) or, for the common tunnel layout, from a
whole batch of records at once (:func:`common_facts`); every rule works on them. The
builder (:func:`build`) writes frames from layer specifications, and
:func:`describe` prints a header as tcpdump would.
"""

from .builder import (
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
from .config import DEFAULT_CONFIG, ParseConfig
from .display import describe
from .facts import FACT, facts_of
from .fields import LAYERS, ChecksumField, Reason, Status
from .frame import Frame, parse
from .ip import Esp, IpsecAH, IPv4, IPv6, IPv6Fragment, IPv6Options, IPv6Routing
from .layer import Layer, Truncated
from .layouts import common_facts
from .link import Ethernet, LinuxSLL, LinuxSLL2, MacSec, Mpls, Null, PPPoE, Vlan
from .transport import ICMP, IGMP, TCP, UDP, ICMPv6, UDPLite
from .tunnels import (
    GRE,
    CiscoMetadata,
    Geneve,
    GeneveOption,
    L2tp,
    Nsh,
    PimRegister,
    Teredo,
    Vxlan,
    VxlanGpe,
)

__all__ = [
    "DEFAULT_CONFIG",
    "FACT",
    "GRE",
    "ICMP",
    "IGMP",
    "LAYERS",
    "TCP",
    "UDP",
    "Checksum",
    "ChecksumField",
    "ChecksumMode",
    "CiscoMetadata",
    "Esp",
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
    "IPv6Fragment",
    "IPv6FragmentSpec",
    "IPv6Options",
    "IPv6OptionsSpec",
    "IPv6Routing",
    "IPv6RoutingSpec",
    "IPv6Spec",
    "IpsecAH",
    "L2tp",
    "Layer",
    "LinuxSLL",
    "LinuxSLL2",
    "MacSec",
    "Mpls",
    "Nsh",
    "Null",
    "PPPoE",
    "ParseConfig",
    "PimRegister",
    "Reason",
    "Spec",
    "Status",
    "TCPSpec",
    "Teredo",
    "Truncated",
    "UDPLite",
    "UDPSpec",
    "Vlan",
    "VlanSpec",
    "Vxlan",
    "VxlanGpe",
    "VxlanSpec",
    "build",
    "common_facts",
    "describe",
    "facts_of",
    "parse",
    "spec_of",
]
