"""One line per header, in the style of ``tcpdump -v``, for ``vxsum explain``.

The common headers get the words tcpdump uses (addresses and ports with ``>``, TCP flags
in brackets, ``cksum 0x....``); any other header falls back to its field values.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from .ip import IPv4, IPv6
from .layer import Layer
from .link import Ethernet, Vlan
from .transport import TCP, UDP
from .tunnels import Geneve, Vxlan

__all__ = ["describe"]

_ETHERTYPES = {0x0800: "IPv4", 0x86DD: "IPv6", 0x0806: "ARP", 0x8100: "802.1Q", 0x88A8: "802.1ad"}
_PROTOCOLS = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 58: "ICMPv6", 136: "UDPLite"}
_TCP_FLAGS = [(0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U")]


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _ip(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


def _type(value: int) -> str:
    return f"{_ETHERTYPES.get(value, 'type')} (0x{value:04x})"


def _tcp_flags(flags: int) -> str:
    text = "".join(c for bit, c in _TCP_FLAGS if flags & bit and c != ".")
    return text + ("." if flags & 0x10 else "") or "none"


def _fields(layer: Layer) -> str:
    parts = []
    for f in dataclasses.fields(layer):
        if f.name in ("offset", "length", "depth", "quoted"):
            continue
        value = getattr(layer, f.name)
        if isinstance(value, bytes):
            value = value.hex() if len(value) <= 8 else f"{len(value)} bytes"
        elif isinstance(value, int) and "checksum" in f.name:
            value = f"0x{value:04x}"
        parts.append(f"{f.name} {value}")
    return ", ".join(parts[:8])


def describe(layer: Layer) -> str:
    """A one-line summary of a parsed header, with its offset in the frame."""
    name = type(layer).__name__
    if isinstance(layer, Ethernet):
        text = f"{_mac(layer.src)} > {_mac(layer.dst)}, ethertype {_type(layer.ethertype)}"
    elif isinstance(layer, Vlan):
        text = f"vlan {layer.vid}, p {layer.pcp}, ethertype {_type(layer.ethertype)}"
    elif isinstance(layer, IPv4):
        flags = "[DF]" if layer.flags & 2 else "[MF]" if layer.flags & 1 else "[none]"
        proto = _PROTOCOLS.get(layer.protocol, "proto")
        text = (
            f"{_ip(layer.src)} > {_ip(layer.dst)}: {proto} ({layer.protocol}), "
            f"length {layer.total_length}, id {layer.identification}, "
            f"offset {layer.fragment_offset}, flags {flags}, ttl {layer.ttl}, "
            f"cksum 0x{layer.checksum:04x}"
        )
    elif isinstance(layer, IPv6):
        proto = _PROTOCOLS.get(layer.next_header, "next header")
        text = (
            f"{_ip(layer.src)} > {_ip(layer.dst)}: {proto} ({layer.next_header}), "
            f"payload length {layer.payload_length}, hlim {layer.hop_limit}"
        )
    elif isinstance(layer, UDP):
        text = (
            f"{layer.src_port} > {layer.dst_port}, length {layer.length_field}, "
            f"cksum 0x{layer.checksum:04x}"
        )
    elif isinstance(layer, TCP):
        text = (
            f"{layer.src_port} > {layer.dst_port}: Flags [{_tcp_flags(layer.flags)}], "
            f"seq {layer.seq}, ack {layer.ack}, win {layer.window}, "
            f"cksum 0x{layer.checksum:04x}"
        )
    elif isinstance(layer, Vxlan):
        valid = "I" if layer.flags & 0x08 else "none"
        text = f"flags [{valid}] (0x{layer.flags:02x}), vni {layer.vni}"
    elif isinstance(layer, Geneve):
        text = f"vni {layer.vni}, protocol {_type(layer.protocol)}, {len(layer.options)} options"
    else:
        text = _fields(layer)
    quoted = " (quoted in an ICMP error)" if layer.quoted else ""
    return f"{name} @{layer.offset}{quoted}: {text}"
