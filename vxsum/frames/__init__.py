"""Frames: one captured frame to headers and checksum-field facts, and back.

The parser (:func:`parse`: :mod:`~vxsum.frames.walk` and :mod:`~vxsum.frames.ipwalk`
walk the headers of :mod:`~vxsum.frames.link`, :mod:`~vxsum.frames.ip`,
:mod:`~vxsum.frames.transport` and :mod:`~vxsum.frames.tunnels` through one bounded
reader, :mod:`~vxsum.frames.wire`) gives a :class:`Frame` with a
:class:`ChecksumField` per checksum. The facts (:data:`FACT`) are those fields as
numbers, from a parsed frame (:func:`facts_of`) or, for the common layouts, from a
whole batch of records at once (:func:`common_facts`); every rule works on them. The
builder (:func:`build`) writes frames from layer specifications, and
:func:`describe` prints a header as tcpdump would.

Names are imported on first use (PEP 562): ``vxsum analyze`` does not import the builder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from .link import PPP, Ethernet, LinuxSLL, LinuxSLL2, MacSec, Mpls, Null, PPPoE, Vlan
    from .transport import ICMP, IGMP, TCP, UDP, ICMPv6, UDPLite
    from .tunnels import (
        GRE,
        CiscoMetadata,
        Geneve,
        GeneveOption,
        Gtpu,
        L2tp,
        Nsh,
        PimRegister,
        Teredo,
        Vxlan,
        VxlanGpe,
    )

_SOURCES = {
    "Checksum": "builder",
    "ChecksumMode": "builder",
    "EthernetSpec": "builder",
    "GeneveSpec": "builder",
    "ICMPSpec": "builder",
    "ICMPv6Spec": "builder",
    "IPv4Spec": "builder",
    "IPv6FragmentSpec": "builder",
    "IPv6OptionsSpec": "builder",
    "IPv6RoutingSpec": "builder",
    "IPv6Spec": "builder",
    "Spec": "builder",
    "TCPSpec": "builder",
    "UDPSpec": "builder",
    "VlanSpec": "builder",
    "VxlanSpec": "builder",
    "build": "builder",
    "spec_of": "builder",
    "DEFAULT_CONFIG": "config",
    "ParseConfig": "config",
    "describe": "display",
    "FACT": "facts",
    "facts_of": "facts",
    "LAYERS": "fields",
    "ChecksumField": "fields",
    "Reason": "fields",
    "Status": "fields",
    "Frame": "frame",
    "parse": "frame",
    "Esp": "ip",
    "IpsecAH": "ip",
    "IPv4": "ip",
    "IPv6": "ip",
    "IPv6Fragment": "ip",
    "IPv6Options": "ip",
    "IPv6Routing": "ip",
    "Layer": "layer",
    "Truncated": "layer",
    "common_facts": "layouts",
    "Ethernet": "link",
    "LinuxSLL": "link",
    "LinuxSLL2": "link",
    "MacSec": "link",
    "Mpls": "link",
    "Null": "link",
    "PPP": "link",
    "PPPoE": "link",
    "Vlan": "link",
    "ICMP": "transport",
    "IGMP": "transport",
    "TCP": "transport",
    "UDP": "transport",
    "ICMPv6": "transport",
    "UDPLite": "transport",
    "GRE": "tunnels",
    "CiscoMetadata": "tunnels",
    "Geneve": "tunnels",
    "GeneveOption": "tunnels",
    "Gtpu": "tunnels",
    "L2tp": "tunnels",
    "Nsh": "tunnels",
    "PimRegister": "tunnels",
    "Teredo": "tunnels",
    "Vxlan": "tunnels",
    "VxlanGpe": "tunnels",
}
"""Where each exported name lives."""

__all__ = [
    "DEFAULT_CONFIG",
    "FACT",
    "GRE",
    "ICMP",
    "IGMP",
    "LAYERS",
    "PPP",
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
    "Gtpu",
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


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
