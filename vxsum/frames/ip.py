"""IPv4 and IPv6 headers, and the IPv6 extension headers.

IPv4 (RFC 791) keeps its options and fragment fields. IPv6 (RFC 8200) extension
headers are decoded one by one: hop-by-hop and destination options (section 4.3/4.6)
with their TLV options, the routing header (section 4.4; type 0 and 2 list
addresses, type 4 is segment routing, RFC 8754), the fragment header (section 4.5)
and AH (RFC 4302), whose length is in 4-byte units. ESP (RFC 4303) is encrypted and
ends the walk; see :class:`Esp`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ..errors import ParseError
from .layer import Fixed, Layer
from .wire import Reader

__all__ = [
    "EXT_AH",
    "EXT_DSTOPTS",
    "EXT_FRAGMENT",
    "EXT_HOPOPTS",
    "EXT_ROUTING",
    "HOME_ADDRESS_OPTION",
    "Esp",
    "IPv4",
    "IPv6",
    "IPv6Fragment",
    "IPv6Options",
    "IPv6Routing",
    "IpsecAH",
]

EXT_HOPOPTS = 0
EXT_ROUTING = 43
EXT_FRAGMENT = 44
EXT_ESP = 50
EXT_AH = 51
EXT_DSTOPTS = 60
HOME_ADDRESS_OPTION = 0xC9
"""Destination option carrying the mobile node's home address (RFC 6275 section 6.3)."""

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_FRAG6 = struct.Struct("!BBHI")
_AH = struct.Struct("!BBHII")


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv4(Layer):
    """IPv4 header (RFC 791), options included in ``length`` (``ihl * 4``)."""

    version: int
    ihl: int
    tos: int
    total_length: int
    identification: int
    flags: int
    fragment_offset: int
    """In 8-byte units, as on the wire."""
    ttl: int
    protocol: int
    checksum: int
    src: bytes
    dst: bytes
    options: bytes

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags & 1)

    @property
    def is_fragment(self) -> bool:
        """True for any fragment: more fragments follow, or the offset is not zero."""
        return self.more_fragments or self.fragment_offset != 0

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, quoted: bool = False) -> IPv4:
        r.layer = "ipv4"
        start = r.pos
        vihl, tos, tlen, ident, frag, ttl, proto, csum, src, dst = r.unpack(_IPV4)
        ihl = vihl & 0xF
        if ihl < 5:
            raise r.fail(f"header length {ihl * 4} below 20", start)
        options = r.take(ihl * 4 - 20)
        return cls(
            offset=start,
            length=ihl * 4,
            depth=depth,
            quoted=quoted,
            version=vihl >> 4,
            ihl=ihl,
            tos=tos,
            total_length=tlen,
            identification=ident,
            flags=frag >> 13,
            fragment_offset=frag & 0x1FFF,
            ttl=ttl,
            protocol=proto,
            checksum=csum,
            src=src,
            dst=dst,
            options=options,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6(Layer):
    """IPv6 fixed header (RFC 8200 section 3); 40 bytes."""

    version: int
    traffic_class: int
    flow_label: int
    payload_length: int
    next_header: int
    hop_limit: int
    src: bytes
    dst: bytes

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, quoted: bool = False) -> IPv6:
        r.layer = "ipv6"
        start = r.pos
        vtf, plen, nh, hlim, src, dst = r.unpack(_IPV6)
        return cls(
            offset=start,
            length=40,
            depth=depth,
            quoted=quoted,
            version=vtf >> 28,
            traffic_class=(vtf >> 20) & 0xFF,
            flow_label=vtf & 0xFFFFF,
            payload_length=plen,
            next_header=nh,
            hop_limit=hlim,
            src=src,
            dst=dst,
        )


def _ext_start(r: Reader, layer: str) -> tuple[int, int, int]:
    """Read next header and length byte of a type-length extension header; check it fits."""
    r.layer = layer
    start = r.pos
    nh = r.u8()
    hlen = r.u8()
    r.need((hlen + 1) * 8 - 2)
    return start, nh, hlen


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6Options(Layer):
    """Hop-by-hop (0) or destination options (60) header (RFC 8200 sections 4.3, 4.6).

    ``options`` holds ``(type, data)`` pairs; Pad1 is ``(0, b"")``.
    """

    kind: int
    next_header: int
    header_length: int
    options: tuple[tuple[int, bytes], ...]

    @property
    def home_address(self) -> bytes | None:
        """The Home Address option's address (RFC 6275 section 6.3), if present."""
        for opt_type, data in self.options:
            if opt_type == HOME_ADDRESS_OPTION and len(data) == 16:
                return data
        return None

    @property
    def jumbo_length(self) -> int | None:
        """The Jumbo Payload option's length (RFC 2675), if present."""
        for opt_type, data in self.options:
            if opt_type == 0xC2 and len(data) == 4:
                return int.from_bytes(data, "big")
        return None

    @classmethod
    def decode(cls, r: Reader, kind: int, depth: int = 0, quoted: bool = False) -> IPv6Options:
        name = "ipv6-hopopts" if kind == EXT_HOPOPTS else "ipv6-dstopts"
        start, nh, hlen = _ext_start(r, name)
        end = start + (hlen + 1) * 8
        area = r.restrict(end - r.pos)  # the TLVs may not run past the header
        options: list[tuple[int, bytes]] = []
        try:
            while area.remaining:
                opt_type = area.u8()
                if opt_type == 0:  # Pad1 has no length byte
                    options.append((0, b""))
                    continue
                opt_len = area.u8()
                options.append((opt_type, area.take(opt_len)))
        except ParseError as err:  # the header is all there: a malformed option, not a cut
            raise r.fail("option runs past the header end", err.offset) from err
        r.pos = end
        return cls(
            offset=start,
            length=end - start,
            depth=depth,
            quoted=quoted,
            kind=kind,
            next_header=nh,
            header_length=hlen,
            options=tuple(options),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6Routing(Layer):
    """Routing header (RFC 8200 section 4.4).

    ``addresses`` is filled for type 0 (deprecated, RFC 5095), type 2 (RFC 6275) and
    type 4 (segment routing, RFC 8754, whose list is in reverse order: segment 0 is
    the final destination). ``data`` is everything after the first 4 bytes.
    """

    next_header: int
    header_length: int
    routing_type: int
    segments_left: int
    data: bytes
    addresses: tuple[bytes, ...]

    @property
    def final_destination(self) -> bytes | None:
        """The address that goes into the upper-layer pseudo-header (RFC 8200 section 8.1)."""
        if not self.addresses or self.segments_left == 0:
            return None
        if self.routing_type == 4:
            return self.addresses[0]
        return self.addresses[-1]

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, quoted: bool = False) -> IPv6Routing:
        start, nh, hlen = _ext_start(r, "ipv6-routing")
        rtype = r.u8()
        left = r.u8()
        data = r.take((hlen + 1) * 8 - 4)
        addresses: tuple[bytes, ...] = ()
        if rtype in (0, 2):
            body = data[4:]
            addresses = tuple(body[i : i + 16] for i in range(0, len(body) - 15, 16))
        elif rtype == 4 and len(data) >= 4:
            last_entry = data[0]
            body = data[4:]
            addresses = tuple(body[i : i + 16] for i in range(0, len(body) - 15, 16))
            addresses = addresses[: last_entry + 1]
        return cls(
            offset=start,
            length=(hlen + 1) * 8,
            depth=depth,
            quoted=quoted,
            next_header=nh,
            header_length=hlen,
            routing_type=rtype,
            segments_left=left,
            data=data,
            addresses=addresses,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IPv6Fragment(Layer):
    """Fragment header (RFC 8200 section 4.5); 8 bytes."""

    next_header: int
    reserved: int
    fragment_offset: int
    """In 8-byte units, as on the wire."""
    flags: int
    identification: int

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags & 1)

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, quoted: bool = False) -> IPv6Fragment:
        r.layer = "ipv6-fragment"
        start = r.pos
        nh, res, off_flags, ident = r.unpack(_FRAG6)
        return cls(
            offset=start,
            length=8,
            depth=depth,
            quoted=quoted,
            next_header=nh,
            reserved=res,
            fragment_offset=off_flags >> 3,
            flags=off_flags & 7,
            identification=ident,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IpsecAH(Layer):
    """IPsec Authentication Header (RFC 4302); its length is in 4-byte units minus 2.

    AH authenticates but does not encrypt, so the walk skips over it to the
    transport header it protects.
    """

    next_header: int
    payload_length: int
    reserved: int
    spi: int
    sequence: int
    icv: bytes

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, quoted: bool = False) -> IpsecAH:
        r.layer = "ah"
        start = r.pos
        nh, plen, res, spi, seq = r.unpack(_AH)
        total = (plen + 2) * 4
        if total < 12:
            raise r.fail(f"AH length {total} below 12", start)
        icv = r.take(total - 12)
        return cls(
            offset=start,
            length=total,
            depth=depth,
            quoted=quoted,
            next_header=nh,
            payload_length=plen,
            reserved=res,
            spi=spi,
            sequence=seq,
            icv=icv,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Esp(Fixed):
    """IPsec ESP header (RFC 4303): SPI and sequence number; the rest is encrypted.

    The walk ends here: the next header is inside the encrypted trailer.
    """

    LAYER: ClassVar[str] = "esp"
    FORMAT: ClassVar[struct.Struct] = struct.Struct("!II")
    FIELDS: ClassVar[tuple[str, ...]] = ("spi", "sequence")

    spi: int
    sequence: int
