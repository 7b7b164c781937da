"""Tunnel headers: VXLAN, Geneve, GRE, GTP-U, Teredo and the PIM register.

The parser decides *when* a payload is a tunnel (UDP ports from
:class:`~vxsum.frames.frame.ParseConfig`, IP protocol 47 and 103); these classes only
decode the header. The inner packet is parsed like an outer one, with its depth
raised by one at every further IP header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import ParseError
from .layer import Layer
from .wire import Reader

__all__ = [
    "GRE",
    "CiscoMetadata",
    "Geneve",
    "GeneveOption",
    "Gtpu",
    "L2tp",
    "Nsh",
    "PimRegister",
    "Teredo",
    "Vxlan",
    "VxlanGpe",
]

_VXLAN = struct.Struct("!BHBHBB")
_VXLAN_GPE = struct.Struct("!BHBHBB")
_GENEVE = struct.Struct("!BBHHBB")
_GENEVE_OPT = struct.Struct("!HBB")


@dataclass(frozen=True, slots=True, kw_only=True)
class Vxlan(Layer):
    """VXLAN header (RFC 7348 section 5); 8 bytes, followed by an Ethernet frame."""

    flags: int
    reserved1: int
    """24 bits after the flags."""
    vni: int
    reserved2: int

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> Vxlan:
        r.layer = "vxlan"
        start = r.pos
        flags, res_hi, res_lo, vni_hi, vni_lo, res2 = r.unpack(_VXLAN)
        return cls(
            offset=start,
            length=8,
            depth=depth,
            flags=flags,
            reserved1=(res_hi << 8) | res_lo,
            vni=(vni_hi << 8) | vni_lo,
            reserved2=res2,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneveOption:
    """One Geneve TLV option (RFC 8926 section 3.5); ``data`` excludes the 4-byte header."""

    option_class: int
    type: int
    flags: int
    """The 3 reserved bits above the 5-bit length."""
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Geneve(Layer):
    """Geneve header with its options (RFC 8926 section 3.4); ``protocol`` is an EtherType."""

    version: int
    options_length: int
    """In 4-byte units, as on the wire."""
    oam: bool
    critical: bool
    reserved1: int
    protocol: int
    vni: int
    reserved2: int
    options: tuple[GeneveOption, ...]

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> Geneve:
        r.layer = "geneve"
        start = r.pos
        ver_len, flags, proto, vni_hi, vni_lo, res2 = r.unpack(_GENEVE)
        opt_len = ver_len & 0x3F
        r.need(opt_len * 4)
        area = r.restrict(opt_len * 4)  # options may not run past the options length
        options: list[GeneveOption] = []
        try:
            while area.remaining:
                cls_, otype, olen = area.unpack(_GENEVE_OPT)
                data = area.take((olen & 0x1F) * 4)
                opt = GeneveOption(option_class=cls_, type=otype, flags=olen >> 5, data=data)
                options.append(opt)
        except ParseError as err:  # the options are all there: a malformed one, not a cut
            raise r.fail("option runs past the options length", err.offset) from err
        r.pos = area.pos
        return cls(
            offset=start,
            length=8 + opt_len * 4,
            depth=depth,
            version=ver_len >> 6,
            options_length=opt_len,
            oam=bool(flags & 0x80),
            critical=bool(flags & 0x40),
            reserved1=flags & 0x3F,
            protocol=proto,
            vni=(vni_hi << 8) | vni_lo,
            reserved2=res2,
            options=tuple(options),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GRE(Layer):
    """GRE header (RFC 2784, key and sequence from RFC 2890; version 1 is PPTP, RFC 2637).

    Optional fields are ``None`` when their flag bit is clear. A routing-present
    header (the obsolete RFC 1701 source routes) is not decoded further.
    """

    flags_version: int
    protocol: int
    checksum: int | None
    reserved1: int | None
    key: int | None
    sequence: int | None
    ack: int | None

    @property
    def version(self) -> int:
        return self.flags_version & 7

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> GRE:
        r.layer = "gre"
        start = r.pos
        fv = r.u16()
        proto = r.u16()
        csum = res1 = key = seq = ack = None
        if fv & 0x8000 or fv & 0x4000:
            csum = r.u16()
            res1 = r.u16()
        if fv & 0x2000:
            key = r.u32()
        if fv & 0x1000:
            seq = r.u32()
        if fv & 0x0080 and fv & 7 == 1:
            ack = r.u32()
        return cls(
            offset=start,
            length=r.pos - start,
            depth=depth,
            flags_version=fv,
            protocol=proto,
            checksum=csum,
            reserved1=res1,
            key=key,
            sequence=seq,
            ack=ack,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CiscoMetadata(Layer):
    """Cisco MetaData (EtherType 0x8909, carries a security group tag); 8 bytes.

    After an Ethernet header the next EtherType comes last; inside GRE it comes
    first (``gre_form``), as Wireshark decodes it.
    """

    gre_form: bool
    version: int
    meta_length: int
    options: int
    sgt: int
    ethertype: int

    @classmethod
    def decode(cls, r: Reader, depth: int = 0, gre_form: bool = False) -> CiscoMetadata:
        r.layer = "cmd"
        start = r.pos
        etype = r.u16() if gre_form else 0
        ver = r.u8()
        mlen = r.u8()
        opts = r.u16()
        sgt = r.u16()
        if not gre_form:
            etype = r.u16()
        return cls(
            offset=start,
            length=r.pos - start,
            depth=depth,
            gre_form=gre_form,
            version=ver,
            meta_length=mlen,
            options=opts,
            sgt=sgt,
            ethertype=etype,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Teredo(Layer):
    """Teredo indicators before the IPv6 packet (RFC 4380 section 5.1.1).

    ``indicators`` holds ``(type, raw bytes)`` for an authentication indicator
    (type 1, variable length) and/or an origin indication (type 0, 8 bytes).
    """

    indicators: tuple[tuple[int, bytes], ...]

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> Teredo:
        r.layer = "teredo"
        start = r.pos
        found: list[tuple[int, bytes]] = []
        while r.remaining >= 2 and r.buf[r.pos] == 0 and r.buf[r.pos + 1] in (0, 1):
            if r.buf[r.pos + 1] == 1:
                r.need(4)
                id_len, auth_len = r.buf[r.pos + 2], r.buf[r.pos + 3]
                found.append((1, r.take(4 + id_len + auth_len + 9)))
            else:
                found.append((0, r.take(8)))
            if len(found) == 2:
                break
        return cls(offset=start, length=r.pos - start, depth=depth, indicators=tuple(found))


@dataclass(frozen=True, slots=True, kw_only=True)
class PimRegister(Layer):
    """PIM header (RFC 7761 section 4.9) of a Register message (type 1) and its flags word.

    A Register carries a multicast packet, so the parser continues with the inner
    IP header. The PIM checksum is not verified (the corpus tools report none).
    """

    version: int
    type: int
    reserved: int
    checksum: int
    register_flags: int

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> PimRegister:
        r.layer = "pim"
        start = r.pos
        vt = r.u8()
        res = r.u8()
        csum = r.u16()
        flags = r.u32()
        return cls(
            offset=start,
            length=8,
            depth=depth,
            version=vt >> 4,
            type=vt & 0xF,
            reserved=res,
            checksum=csum,
            register_flags=flags,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class L2tp(Layer):
    """L2TPv2 data message header (RFC 2661 section 3.1) and the PPP header after it.

    Optional fields are ``None`` when their flag bit is clear. ``ppp_protocol`` is
    ``None`` for control messages (T bit) and other versions: the walk stops there.
    The PPP address/control bytes 0xFF03 are optional (``ppp_address_control``).
    """

    flags_version: int
    length_field: int | None
    tunnel_id: int
    session_id: int
    ns: int | None
    nr: int | None
    offset_size: int | None
    offset_pad: bytes
    ppp_address_control: bool
    ppp_protocol: int | None

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> L2tp:
        r.layer = "l2tp"
        start = r.pos
        fv = r.u16()
        if fv & 0x8000 or fv & 0xF != 2:  # control message, or not version 2
            return cls(
                offset=start,
                length=2,
                depth=depth,
                flags_version=fv,
                length_field=None,
                tunnel_id=0,
                session_id=0,
                ns=None,
                nr=None,
                offset_size=None,
                offset_pad=b"",
                ppp_address_control=False,
                ppp_protocol=None,
            )
        length = r.u16() if fv & 0x4000 else None
        tunnel, session = r.u16(), r.u16()
        ns = nr = None
        if fv & 0x0800:
            ns, nr = r.u16(), r.u16()
        osize = None
        pad = b""
        if fv & 0x0200:
            osize = r.u16()
            pad = r.take(osize)
        r.need(2)
        addr_ctl = r.buf[r.pos] == 0xFF and r.buf[r.pos + 1] == 0x03
        if addr_ctl:
            r.skip(2)
        proto = r.u8()
        if not proto & 1:  # a 2-byte protocol field (RFC 1661 section 2)
            proto = (proto << 8) | r.u8()
        return cls(
            offset=start,
            length=r.pos - start,
            depth=depth,
            flags_version=fv,
            length_field=length,
            tunnel_id=tunnel,
            session_id=session,
            ns=ns,
            nr=nr,
            offset_size=osize,
            offset_pad=pad,
            ppp_address_control=addr_ctl,
            ppp_protocol=proto,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VxlanGpe(Layer):
    """VXLAN Generic Protocol Extension header (draft-ietf-nvo3-vxlan-gpe section 3.1).

    ``next_protocol``: 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS.
    """

    flags: int
    reserved1: int
    next_protocol: int
    vni: int
    reserved2: int

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> VxlanGpe:
        r.layer = "vxlan-gpe"
        start = r.pos
        flags, res, nproto, vni_hi, vni_lo, res2 = r.unpack(_VXLAN_GPE)
        return cls(
            offset=start,
            length=8,
            depth=depth,
            flags=flags,
            reserved1=res,
            next_protocol=nproto,
            vni=(vni_hi << 8) | vni_lo,
            reserved2=res2,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Nsh(Layer):
    """Network Service Header (RFC 8300 section 2): base and service path headers.

    ``length`` is the whole header (``length_words * 4``); ``metadata`` is what follows
    the 8 fixed bytes. ``next_protocol`` uses the VXLAN-GPE numbers.
    """

    version: int
    flags: int
    """O and U bits (RFC 8300) / O and C bits (drafts), as on the wire."""
    ttl: int
    length_words: int
    md_type: int
    next_protocol: int
    spi: int
    si: int
    metadata: bytes

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> Nsh:
        r.layer = "nsh"
        start = r.pos
        word = r.u16()
        md_type = r.u8() & 0xF
        nproto = r.u8()
        path = r.u32()
        words = word & 0x3F
        if words < 2:
            raise r.fail(f"NSH length {words * 4} below 8", start)
        metadata = r.take(words * 4 - 8)
        return cls(
            offset=start,
            length=words * 4,
            depth=depth,
            version=word >> 14,
            flags=(word >> 12) & 3,
            ttl=(word >> 6) & 0x3F,
            length_words=words,
            md_type=md_type,
            next_protocol=nproto,
            spi=path >> 8,
            si=path & 0xFF,
            metadata=metadata,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Gtpu(Layer):
    """GTP-U header (3GPP TS 29.281 section 5): version 1, protocol type GTP; 8 bytes,
    4 more when any of the E, S and PN flags is set, then extension headers while the
    next-extension type is not 0. A G-PDU (message type 255) carries an IP packet."""

    flags: int
    message_type: int
    teid: int
    extensions: tuple[int, ...]
    """The types of the extension headers, in order."""

    @classmethod
    def decode(cls, r: Reader, depth: int = 0) -> Gtpu:
        r.layer = "gtp-u"
        start = r.pos
        flags, message_type = r.u8(), r.u8()
        if flags >> 5 != 1 or not flags & 0x10:
            raise r.fail(f"not GTPv1 (flags 0x{flags:02x})", start)
        r.skip(2)  # the length: of the payload after the first 8 bytes
        teid = r.u32()
        extensions: list[int] = []
        if flags & 0x07:
            r.skip(3)  # sequence number, N-PDU number
            kind = r.u8()
            while kind:
                if len(extensions) == 16:
                    raise r.fail("more than 16 extension headers")
                extensions.append(kind)
                size = 4 * r.u8()
                if size == 0:
                    raise r.fail("extension header of length 0")
                r.skip(size - 2)
                kind = r.u8()
        return cls(
            offset=start,
            length=r.pos - start,
            depth=depth,
            flags=flags,
            message_type=message_type,
            teid=teid,
            extensions=tuple(extensions),
        )
