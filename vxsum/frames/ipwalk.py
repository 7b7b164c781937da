"""The IP part of the walk: IPv4, IPv6 extension headers, transports and their checksums.

Which bytes a transport checksum covers, and with which pseudo-header:

* UDP: the UDP length field (RFC 768); UDP-Lite: its coverage field, 0 meaning
  the whole datagram, with the IP payload length in the pseudo-header (RFC 3828
  section 3.1);
* TCP, ICMP, ICMPv6, IGMP: the IP payload as the IP length fields give it;
* IPv6 pseudo-header (RFC 8200 section 8.1): the final destination of a routing
  header (last address of type 0/2, segment 0 of a segment routing header) and the
  home address of a Home Address destination option (RFC 6275 section 6.3);
* IPv4 header: the header, ``ihl * 4`` bytes (RFC 791).

The verdict is ``unverifiable`` (see :class:`~vxsum.frames.fields.Reason`) for a first
fragment, a length field that claims more than the bytes there, a snap-length cut,
or a packet quoted in an ICMP error that does not hold all the covered bytes (quoted
ICMP, ICMPv6 and IGMP messages are never verified). An IP length of 0 (TSO / BIG
TCP) gives ``good`` if the captured bytes match and ``unverifiable`` otherwise. Later
fragments have no transport header at all. IPsec: AH (RFC 4302) is skipped over,
since it does not encrypt; ESP (RFC 4303) ends the walk.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple, TypeVar

from ..core.buffer import ones_add, pseudo_header_sum_v4, pseudo_header_sum_v6
from ..errors import ParseError
from .config import ParseConfig
from .fields import ChecksumField, Reason, Status, evaluate
from .ip import (
    EXT_AH,
    EXT_DSTOPTS,
    EXT_ESP,
    EXT_FRAGMENT,
    EXT_HOPOPTS,
    EXT_ROUTING,
    Esp,
    IpsecAH,
    IPv4,
    IPv6,
    IPv6Fragment,
    IPv6Options,
    IPv6Routing,
)
from .layer import Layer, Truncated
from .transport import ICMP, IGMP, TCP, UDP, ICMPv6, UDPLite
from .wire import Reader

__all__ = ["IpMixin"]

L = TypeVar("L", bound=Layer)


class _Packet(NamedTuple):
    """What a transport needs from the IP packet that carries it (a named tuple: one
    is made per IP header: 0.28 µs against 1.04 µs for a frozen slotted dataclass)."""

    version: int
    src: bytes
    dst: bytes
    start: int
    """Offset of the upper-layer header."""
    claimed_end: int
    """End of the packet by its length fields."""
    end: int
    """End of the bytes actually there (``claimed_end`` clipped to the container)."""
    depth: int
    quoted: bool
    reason: Reason | None
    """Why no transport checksum of this packet can be verified (fragment, length 0)."""


def _detached(err: ParseError) -> ParseError:
    """``err`` (and the errors it was raised from) without tracebacks: their frames
    would keep the caller's data, a whole capture batch, alive until the cyclic
    garbage collector ran (a 1 GB capture grew the process past 400 MB)."""
    seen: BaseException | None = err
    while seen is not None:
        seen.with_traceback(None)
        seen = seen.__cause__ or seen.__context__
    return err


class IpMixin:
    """IP and transport parsing; :class:`~vxsum.frames.walk.Walker` adds link layers and tunnels."""

    def __init__(self, buf: memoryview, wire_length: int, cfg: ParseConfig) -> None:
        self.buf = buf
        self.cap = len(buf)
        self.snapped = self.cap < wire_length
        self.cfg = cfg
        self.layers: list[Layer] = []
        self.fields: list[ChecksumField] = []
        self.rest = 0
        self.error: ParseError | None = None
        self.ips = 0

    # --- bookkeeping ------------------------------------------------------------------

    def _add(self, layer: Layer) -> None:
        self.layers.append(layer)
        self.rest = layer.end

    def _stop(self, err: ParseError, name: str, start: int, end: int, quoted: bool = False) -> None:
        """End the walk at ``start``: raise in strict mode, else record the error."""
        if self.cfg.strict and not quoted:
            raise err
        if self.error is None:
            self.error = _detached(err)
        if err.needed is not None and err.available is not None:
            skipped = err.offset - start
            self.layers.append(
                Truncated(
                    offset=start,
                    length=max(0, end - start),
                    depth=self.ips,
                    quoted=quoted,
                    layer=name,
                    needed=skipped + err.needed,
                    available=skipped + err.available,
                )
            )
        self.rest = start

    def _decode(
        self, decode: Callable[[Reader], L], start: int, end: int, name: str, quoted: bool = False
    ) -> L | None:
        """Decode one header from ``buf[start:end]``; on failure stop and return None."""
        try:
            return decode(Reader(self.buf, start, end))
        except ParseError as err:
            self._stop(err, name, start, end, quoted)
            return None

    # --- hooks the Walker provides ----------------------------------------------------

    def _ethertype(self, etype: int, pos: int, end: int) -> None:
        raise NotImplementedError

    def _udp_tunnel(self, udp: UDP, pos: int, end: int) -> None:
        raise NotImplementedError

    def _gre(self, p: _Packet) -> None:
        raise NotImplementedError

    def _pim(self, p: _Packet) -> None:
        raise NotImplementedError

    # --- IP ---------------------------------------------------------------------------

    def _nesting_ok(self, name: str, pos: int, end: int, quoted: bool) -> bool:
        if self.ips < self.cfg.max_depth:
            return True
        err = ParseError(name, pos, f"more than {self.cfg.max_depth} nested IP headers")
        self._stop(err, name, pos, end, quoted)
        return False

    def _ipv4(self, pos: int, end: int, quoted: bool) -> None:
        """IPv4 (RFC 791): header checksum, then the payload unless a later fragment."""
        if not self._nesting_ok("ipv4", pos, end, quoted):
            return
        depth = self.ips
        ip = self._decode(lambda r: IPv4.decode(r, depth, quoted), pos, end, "ipv4", quoted)
        if ip is None:
            return
        if ip.version != 4:
            self._stop(ParseError("ipv4", pos, f"version {ip.version}"), "ipv4", pos, end, quoted)
            return
        self.ips += 1
        self._add(ip)
        self.fields.append(
            evaluate(
                self.buf,
                "ipv4",
                depth=depth,
                quoted=quoted,
                field_offset=pos + 10,
                span_offset=pos,
                span_length=ip.length,
            )
        )
        reason: Reason | None = None
        if ip.total_length == 0:  # TSO / BIG TCP: the length is in the capture record only
            claimed_end = end
            reason = Reason.LENGTH_ZERO
        elif ip.total_length < ip.length:
            err = ParseError("ipv4", pos + 2, f"total length {ip.total_length} below header")
            self._stop(err, "ipv4", ip.end, end, quoted)
            return
        else:
            claimed_end = pos + ip.total_length
        if ip.fragment_offset:
            return  # a later fragment: no transport header
        if ip.more_fragments:
            reason = Reason.FRAGMENT
        packet = _Packet(
            4, ip.src, ip.dst, ip.end, claimed_end, min(claimed_end, end), depth, quoted, reason
        )
        self._upper(ip.protocol, packet)

    def _ipv6(self, pos: int, end: int, quoted: bool) -> None:
        """IPv6 (RFC 8200) and its extension headers, up to the upper layer."""
        if not self._nesting_ok("ipv6", pos, end, quoted):
            return
        depth = self.ips
        ip = self._decode(lambda r: IPv6.decode(r, depth, quoted), pos, end, "ipv6", quoted)
        if ip is None:
            return
        if ip.version != 6:
            self._stop(ParseError("ipv6", pos, f"version {ip.version}"), "ipv6", pos, end, quoted)
            return
        self.ips += 1
        self._add(ip)
        src, dst = ip.src, ip.dst
        reason: Reason | None = None
        if ip.payload_length == 0:  # a jumbogram (RFC 2675) or BIG TCP: length unknown yet
            claimed_end = end
            if ip.next_header != EXT_HOPOPTS:
                reason = Reason.LENGTH_ZERO
        else:
            claimed_end = ip.end + ip.payload_length
        payload_end = min(claimed_end, end)
        nh, cur = ip.next_header, ip.end
        while True:
            if nh in (EXT_HOPOPTS, EXT_DSTOPTS):
                kind = nh
                opts = self._decode(
                    partial(IPv6Options.decode, kind=nh, depth=depth, quoted=quoted),
                    cur,
                    payload_end,
                    "ipv6-options",
                    quoted,
                )
                if opts is None:
                    return
                jumbo = opts.jumbo_length
                if kind == EXT_HOPOPTS and ip.payload_length == 0:
                    if jumbo is not None:  # RFC 2675 jumbogram (a bogus small value: empty)
                        claimed_end = max(opts.end, ip.end + jumbo)
                        payload_end = min(claimed_end, end)
                    else:
                        reason = Reason.LENGTH_ZERO
                if kind == EXT_DSTOPTS and opts.home_address is not None:
                    src = opts.home_address
                self._add(opts)
                nh, cur = opts.next_header, opts.end
            elif nh == EXT_ROUTING:
                rh = self._decode(
                    lambda r: IPv6Routing.decode(r, depth, quoted),
                    cur,
                    payload_end,
                    "ipv6-routing",
                    quoted,
                )
                if rh is None:
                    return
                dst = rh.final_destination or dst
                self._add(rh)
                nh, cur = rh.next_header, rh.end
            elif nh == EXT_FRAGMENT:
                frag = self._decode(
                    lambda r: IPv6Fragment.decode(r, depth, quoted),
                    cur,
                    payload_end,
                    "ipv6-fragment",
                    quoted,
                )
                if frag is None:
                    return
                self._add(frag)
                if frag.fragment_offset:
                    return
                if frag.more_fragments:
                    reason = Reason.FRAGMENT
                nh, cur = frag.next_header, frag.end
            elif nh == EXT_AH:
                ah = self._decode(
                    lambda r: IpsecAH.decode(r, depth, quoted), cur, payload_end, "ah", quoted
                )
                if ah is None:
                    return
                self._add(ah)
                nh, cur = ah.next_header, ah.end
            else:
                break
        packet = _Packet(6, src, dst, cur, claimed_end, payload_end, depth, quoted, reason)
        self._upper(nh, packet)

    def _upper(self, proto: int, p: _Packet) -> None:
        """Dispatch on the IP protocol / next header of the upper layer."""
        if proto == 6:
            self._tcp(p)
        elif proto == 17:
            self._udp(p)
        elif proto == 136:
            self._udplite(p)
        elif proto == 1 and p.version == 4:
            self._icmp(p)
        elif proto == 58 and p.version == 6:
            self._icmpv6(p)
        elif proto == 2 and p.version == 4:
            self._simple(p, "igmp", IGMP.decode, IGMP.checksum_offset)
        elif proto == EXT_ESP:
            esp = self._decode(
                lambda r: Esp.decode(r, p.depth, p.quoted), p.start, p.end, "esp", p.quoted
            )
            if esp is not None:
                self._add(esp)
        elif p.quoted or p.reason is Reason.FRAGMENT:
            return  # no tunnels inside an ICMP quote or a fragment
        elif proto == EXT_AH and p.version == 4:
            ah = self._decode(lambda r: IpsecAH.decode(r, p.depth), p.start, p.end, "ah")
            if ah is not None:
                self._add(ah)
                self._upper(ah.next_header, _with_start(p, ah.end))
        elif proto == 4:
            self._ipv4(p.start, p.end, False)
        elif proto == 41:
            self._ipv6(p.start, p.end, False)
        elif proto == 47:
            self._gre(p)
        elif proto == 103:
            self._pim(p)
        elif proto == 112:
            self._vrrp(p)

    # --- transports -------------------------------------------------------------------

    def _pseudo(self, p: _Packet, proto: int, length: int) -> int:
        """Pseudo-header sum (RFC 768/793 for IPv4, RFC 8200 section 8.1 for IPv6)."""
        length = max(length, 0)  # a span that ends before it starts is unverifiable anyway
        if p.version == 6:
            return pseudo_header_sum_v6(p.src, p.dst, proto, min(length, 0xFFFFFFFF))
        # A TSO length can pass 0xFFFF: sum it as a 32-bit value, as Linux does.
        base = pseudo_header_sum_v4(p.src, p.dst, proto, 0)
        return ones_add(base, length >> 16, length & 0xFFFF)

    def _short(self, p: _Packet, span_end: int) -> Reason | None:
        """Why a span ending at ``span_end`` cannot be verified, if it cannot."""
        if p.reason is not None:
            return p.reason
        if p.quoted and span_end > p.end:
            return Reason.QUOTED
        if span_end > p.claimed_end:
            return Reason.LENGTH_MISMATCH
        if span_end > p.end:
            if self.snapped and p.end >= self.cap:
                return Reason.SNAPLEN
            return Reason.LENGTH_MISMATCH
        return None

    def _record(
        self,
        p: _Packet,
        layer: str,
        csum_offset: int,
        span_length: int,
        *,
        pseudo: int = 0,
        zero_status: Status | None = None,
        reason: Reason | None = None,
        cut: bool = False,
    ) -> None:
        """Append the record for a transport field, if the field itself was captured.

        ``cut`` says the header did not fit: then the field is unverifiable even if
        the IP length fields claim no more bytes than there are.
        """
        field = p.start + csum_offset
        if field + 2 > p.end:
            return
        cut_reason = Reason.LENGTH_MISMATCH if cut else None
        self.fields.append(
            evaluate(
                self.buf,
                layer,
                depth=p.depth,
                quoted=p.quoted,
                field_offset=field,
                span_offset=p.start,
                span_length=span_length,
                pseudo_sum=pseudo,
                zero_status=zero_status,
                reason=reason or self._short(p, p.start + span_length) or cut_reason,
            )
        )

    def _transport(
        self, p: _Packet, name: str, decode: Callable[[Reader], L]
    ) -> tuple[L | None, bool]:
        """Decode a transport header: the header (None on failure) and whether a record
        is due, which it also is for a header merely cut short: its checksum field may
        have been captured (tshark reports those too)."""
        try:
            return decode(Reader(self.buf, p.start, p.end)), True
        except ParseError as err:
            self._stop(err, name, p.start, p.end, p.quoted)
            return None, err.truncated

    def _gre_checksum(self, p: _Packet, present: bool) -> None:
        """GRE's optional checksum (RFC 2784, the C bit): over the GRE header and its
        payload, no pseudo-header, as ICMP's. (A packet quoted by an ICMP error is not
        walked past its transport header, so a quoted GRE header has no field.)"""
        if present:
            self._record(p, "gre", 4, p.claimed_end - p.start)

    def _pim_checksum(self, p: _Packet) -> None:
        """PIM version 2 (RFC 7761 section 4.9): over the message, but a Register's first 8
        bytes only (not the packet it carries); over IPv6 the pseudo-header too."""
        if p.start >= p.end or self.buf[p.start] >> 4 != 2:
            return
        register = self.buf[p.start] & 0xF == 1
        length = 8 if register else p.claimed_end - p.start
        pseudo = self._pseudo(p, 103, length) if p.version == 6 else 0
        self._record(p, "pim", 2, length, pseudo=pseudo)

    def _vrrp(self, p: _Packet) -> None:
        """VRRP: version 2 (RFC 3768) sums the message, version 3 (RFC 5798) the
        pseudo-header too; the field is at byte 6 in both."""
        if p.start >= p.end or self.buf[p.start] >> 4 not in (2, 3):
            return
        length = p.claimed_end - p.start
        pseudo = self._pseudo(p, 112, length) if self.buf[p.start] >> 4 == 3 else 0
        self._record(p, "vrrp", 6, length, pseudo=pseudo)

    def _simple(
        self, p: _Packet, name: str, decode: Callable[..., L], csum_offset: int
    ) -> L | None:
        """A header whose checksum covers the whole IP payload and has no pseudo-header.

        A quoted ICMP or IGMP message is not verified (tshark neither): it is cut, or
        its own checksum was never the point of the error that quotes it.
        """
        if p.quoted:
            p = _with_reason(p, Reason.QUOTED)
        hdr, due = self._transport(p, name, lambda r: decode(r, p.depth, p.quoted))
        if due:
            self._record(p, name, csum_offset, p.claimed_end - p.start, cut=hdr is None)
        if hdr is not None:
            self._add(hdr)
        return hdr

    def _tcp(self, p: _Packet) -> None:
        tcp, due = self._transport(p, "tcp", lambda r: TCP.decode(r, p.depth, p.quoted))
        length = p.claimed_end - p.start
        if due:
            pseudo = self._pseudo(p, 6, length)
            self._record(p, "tcp", TCP.checksum_offset, length, pseudo=pseudo, cut=tcp is None)
        if tcp is not None:
            self._add(tcp)

    def _zero_udp(self, p: _Packet, udp: UDP | None) -> Status:
        """RFC 768: zero means "no checksum" over IPv4; RFC 8200 8.1 forbids it over IPv6
        except on tunnel ports configured per RFC 6935/6936."""
        if p.version == 4:
            return Status.NO_CHECKSUM
        ports = self.cfg.ipv6_zero_checksum_ports
        if udp is not None and (udp.dst_port in ports or udp.src_port in ports):
            return Status.NO_CHECKSUM
        return Status.ILLEGAL_ZERO

    def _udp(self, p: _Packet) -> None:
        udp, due = self._transport(p, "udp", lambda r: UDP.decode(r, p.depth, p.quoted))
        if udp is None:
            if due:
                span = p.claimed_end - p.start
                self._record(p, "udp", 6, span, zero_status=self._zero_udp(p, None), cut=True)
            return
        ulen = udp.length_field
        reason = None
        if ulen < 8 or p.start + ulen > p.claimed_end:
            reason = Reason.QUOTED if p.quoted else Reason.LENGTH_MISMATCH
        self._record(
            p,
            "udp",
            UDP.checksum_offset,
            ulen,
            pseudo=self._pseudo(p, 17, ulen),
            zero_status=self._zero_udp(p, udp),
            reason=p.reason or reason,
        )
        self._add(udp)
        if not p.quoted:
            end = min(p.start + ulen, p.end) if ulen >= 8 else p.end
            self._udp_tunnel(udp, udp.end, end)

    def _udplite(self, p: _Packet) -> None:
        lite, _ = self._transport(p, "udplite", lambda r: UDPLite.decode(r, p.depth, p.quoted))
        if lite is None:
            return
        length = p.claimed_end - p.start
        cover = lite.coverage or length
        reason = None
        if cover < 8 or cover > length:
            reason = Reason.LENGTH_MISMATCH  # RFC 3828 section 3.1: such packets are dropped
        self._record(
            p,
            "udplite",
            UDPLite.checksum_offset,
            cover,
            pseudo=self._pseudo(p, 136, length),
            zero_status=Status.ILLEGAL_ZERO,
            reason=reason,
        )
        self._add(lite)

    def _icmp(self, p: _Packet) -> None:
        icmp = self._simple(p, "icmp", ICMP.decode, ICMP.checksum_offset)
        if icmp is None or p.quoted:
            return
        if icmp.is_error:
            self._ipv4(icmp.end, p.end, True)
        at = self._icmp_extension(p, icmp)
        if at is not None:  # its own checksum, over the structure to the message's end
            self._record(_with_start(p, at), "icmpext", 2, p.claimed_end - at)

    def _icmp_extension(self, p: _Packet, icmp: ICMP | ICMPv6) -> int | None:
        """Where an ICMP extension structure (version 2) starts, as Wireshark finds it: in
        an RFC 8335 extended echo request right after the header; in an unreachable, time
        exceeded or parameter problem message after the original datagram, whose length
        RFC 4884 puts in byte 5 (ICMP, 32-bit words) or 4 (ICMPv6, 64-bit words), at least
        128 bytes, or, in ICMP where that is 0 (RFC 4950 before RFC 4884), after 128
        bytes of it."""
        v6 = isinstance(icmp, ICMPv6)
        if icmp.type == (160 if v6 else 42):
            at = icmp.end
        elif icmp.type in ((1, 3) if v6 else (3, 11, 12)):
            size = icmp.rest[0] * 8 if v6 else icmp.rest[1] * 4
            if (size and size < 128) or (v6 and not size):
                return None
            at = icmp.end + (size or 128)
        else:
            return None
        if at + 4 > min(p.claimed_end, p.end) or self.buf[at] >> 4 != 2:
            return None
        return at

    def _icmpv6(self, p: _Packet) -> None:
        if p.quoted:  # as for ICMP, see _simple
            p = _with_reason(p, Reason.QUOTED)
        icmp, due = self._transport(p, "icmpv6", lambda r: ICMPv6.decode(r, p.depth, p.quoted))
        length = p.claimed_end - p.start
        if due:
            pseudo = self._pseudo(p, 58, length)
            self._record(
                p, "icmpv6", ICMPv6.checksum_offset, length, pseudo=pseudo, cut=icmp is None
            )
        if icmp is None:
            return
        self._add(icmp)
        if p.quoted:
            return
        if icmp.is_error:
            self._ipv6(icmp.end, p.end, True)
        at = self._icmp_extension(p, icmp)
        if at is not None:  # no pseudo-header: the structure's own checksum (RFC 4884)
            self._record(_with_start(p, at), "icmpext", 2, p.claimed_end - at)


def _with_reason(p: _Packet, reason: Reason) -> _Packet:
    return _Packet(
        p.version, p.src, p.dst, p.start, p.claimed_end, p.end, p.depth, p.quoted, reason
    )


def _with_start(p: _Packet, start: int) -> _Packet:
    return _Packet(
        p.version, p.src, p.dst, start, p.claimed_end, p.end, p.depth, p.quoted, p.reason
    )
