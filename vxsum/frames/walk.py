"""The walk through one frame: link header, EtherTypes, tunnels and IP packets.

:class:`Walker` is the parser's state for one frame (headers found so far,
checksum records, IP headers seen for the depth count). Link layers, EtherType
dispatch and tunnels are here; IP packets and transports are in
:class:`~vxsum.frames.ipwalk.IpMixin`. Recursion (an Ethernet frame inside VXLAN, an IP
packet inside GRE) always passes through an IP header, and the number of IP
headers is bounded by ``ParseConfig.max_depth``, so the walk always ends.
"""

from __future__ import annotations

from functools import partial

from ..errors import ParseError
from .ipwalk import IpMixin, _Packet
from .link import (
    ETH_IPV4,
    ETH_IPV6,
    ETH_MACSEC,
    ETH_MPLS,
    ETH_MPLS_MC,
    ETH_PPPOE,
    PPP,
    VLAN_TPIDS,
    Ethernet,
    LinuxSLL,
    LinuxSLL2,
    MacSec,
    Mpls,
    Null,
    PPPoE,
    Vlan,
)
from .transport import UDP
from .tunnels import (
    GRE,
    CiscoMetadata,
    Geneve,
    Gtpu,
    L2tp,
    Nsh,
    PimRegister,
    Teredo,
    Vxlan,
    VxlanGpe,
)
from .wire import Reader

__all__ = ["Walker"]

ETH_TEB = 0x6558  # transparent Ethernet bridging (GRE, Geneve)
ETH_CMD = 0x8909
_NULL_IPV6 = frozenset({24, 28, 30})  # AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS
_PPP_IPV4 = 0x0021
_PPP_IPV6 = 0x0057
_GRE_PPP = 0x880B
_GRE_WCCP = 0x883E  # Cisco WCCP redirection: an IPv4 packet, perhaps after a 4-byte header
_GRE_ERSPAN = 0x88BE  # ERSPAN type I (no header) and II (8 bytes): a mirrored Ethernet frame
_GRE_ERSPAN3 = 0x22EB  # ERSPAN type III: 12 bytes, 8 more with the O bit (a platform subheader)
_ETH_NSH = 0x894F  # PPTP's enhanced GRE (RFC 2637)


class Walker(IpMixin):
    """Parser state for one frame; call :meth:`link` once."""

    def link(self, linktype: int) -> None:
        """Parse the link header (a failure here raises) and everything after it."""
        r = Reader(self.buf)
        if linktype == 1:
            eth = Ethernet.decode(r)
            self._add(eth)
            self._ethertype(eth.ethertype, eth.end, self.cap)
        elif linktype == 113:
            sll = LinuxSLL.decode(r)
            self._add(sll)
            self._ethertype(sll.protocol, sll.end, self.cap)
        elif linktype == 276:
            sll2 = LinuxSLL2.decode(r)
            self._add(sll2)
            self._ethertype(sll2.protocol, sll2.end, self.cap)
        elif linktype == 9:
            ppp = PPP.decode(r)
            self._add(ppp)
            self._ppp_payload(ppp.protocol, ppp.end, self.cap)
        elif linktype == 0:
            null = Null.decode(r)
            self._add(null)
            if null.family == 2:
                self._ipv4(4, self.cap, False)
            elif null.family in _NULL_IPV6:
                self._ipv6(4, self.cap, False)
        else:  # raw IP: 101, 12, 14, 228 (IPv4), 229 (IPv6)
            if not self.buf:
                raise ParseError("raw", 0, "empty frame", needed=1, available=0)
            self._ip_by_version(0, self.cap, False)

    def _ip_by_version(self, pos: int, end: int, quoted: bool) -> None:
        """An IP header whose version nibble says which (raw IP, MPLS, PIM register)."""
        if pos >= end:
            return
        version = self.buf[pos] >> 4
        if version == 4:
            self._ipv4(pos, end, quoted)
        elif version == 6:
            self._ipv6(pos, end, quoted)
        else:
            self._stop(ParseError("ip", pos, f"IP version {version}"), "ip", pos, end, quoted)

    def _ethernet(self, pos: int, end: int) -> None:
        eth = self._decode(lambda r: Ethernet.decode(r, self.ips), pos, end, "ethernet")
        if eth is not None:
            self._add(eth)
            self._ethertype(eth.ethertype, eth.end, end)

    def _ethertype(self, etype: int, pos: int, end: int) -> None:
        """Follow EtherTypes through VLAN tags, MPLS, PPPoE and Cisco MetaData to IP."""
        tags = 0
        while True:
            if etype in VLAN_TPIDS:
                tags += 1
                if tags > self.cfg.max_tags:
                    err = ParseError("vlan", pos, f"more than {self.cfg.max_tags} VLAN tags")
                    self._stop(err, "vlan", pos, end)
                    return
                decode = partial(Vlan.decode, tpid=etype, depth=self.ips)
                tag = self._decode(decode, pos, end, "vlan")
                if tag is None:
                    return
                self._add(tag)
                etype, pos = tag.ethertype, tag.end
            elif etype == ETH_CMD:
                cmd = self._decode(lambda r: CiscoMetadata.decode(r, self.ips), pos, end, "cmd")
                if cmd is None:
                    return
                self._add(cmd)
                etype, pos = cmd.ethertype, cmd.end
            elif etype == ETH_IPV4:
                self._ipv4(pos, end, False)
                return
            elif etype == ETH_IPV6:
                self._ipv6(pos, end, False)
                return
            elif etype in (ETH_MPLS, ETH_MPLS_MC):
                self._mpls(pos, end)
                return
            elif etype == _ETH_NSH:  # NSH straight over Ethernet (RFC 8300)
                self._gpe_next(4, pos, end)
                return
            elif etype == ETH_PPPOE:
                ppp = self._decode(lambda r: PPPoE.decode(r, self.ips), pos, end, "pppoe")
                if ppp is not None:
                    self._add(ppp)
                    if ppp.protocol == _PPP_IPV4:
                        self._ipv4(ppp.end, end, False)
                    elif ppp.protocol == _PPP_IPV6:
                        self._ipv6(ppp.end, end, False)
                return
            elif etype == ETH_MACSEC:
                sec = self._decode(lambda r: MacSec.decode(r, self.ips), pos, end, "macsec")
                if sec is None or sec.ethertype is None:
                    if sec is not None:
                        self._add(sec)
                    return
                self._add(sec)
                # Secure data: SL bytes if the short length is set, else up to the ICV.
                if sec.short_length:
                    end = min(end, sec.end - 2 + sec.short_length)
                else:
                    end = max(sec.end, end - sec.icv_length)
                etype, pos = sec.ethertype, sec.end
            elif etype == ETH_TEB:
                self._ethernet(pos, end)
                return
            else:
                return

    def _mpls(self, pos: int, end: int) -> None:
        """An MPLS label stack (RFC 3032); IP after the bottom label, told by its version."""
        for _ in range(self.cfg.max_tags):
            label = self._decode(lambda r: Mpls.decode(r, self.ips), pos, end, "mpls")
            if label is None:
                return
            self._add(label)
            pos = label.end
            if label.bottom:
                if pos < end and self.buf[pos] >> 4 in (4, 6):
                    self._ip_by_version(pos, end, False)
                return
        err = ParseError("mpls", pos, f"more than {self.cfg.max_tags} MPLS labels")
        self._stop(err, "mpls", pos, end)

    # --- tunnels, called from the IP walk --------------------------------------------

    def _udp_tunnel(self, udp: UDP, pos: int, end: int) -> None:
        """VXLAN, VXLAN-GPE, Geneve, MPLS (RFC 7510), L2TPv2, GTP-U or Teredo on a
        configured port.

        Anything else is payload.
        """
        ports = (udp.dst_port, udp.src_port)
        cfg = self.cfg
        if any(p in cfg.vxlan_ports for p in ports):
            vx = self._decode(lambda r: Vxlan.decode(r, self.ips), pos, end, "vxlan")
            if vx is not None:
                self._add(vx)
                self._ethernet(vx.end, end)
        elif any(p in cfg.vxlan_gpe_ports for p in ports):
            gpe = self._decode(lambda r: VxlanGpe.decode(r, self.ips), pos, end, "vxlan-gpe")
            if gpe is not None:
                self._add(gpe)
                self._gpe_next(gpe.next_protocol, gpe.end, end)
        elif any(p in cfg.geneve_ports for p in ports):
            gen = self._decode(lambda r: Geneve.decode(r, self.ips), pos, end, "geneve")
            if gen is not None:
                self._add(gen)
                self._ethertype(gen.protocol, gen.end, end)
        elif any(p in cfg.mpls_ports for p in ports):
            self._mpls(pos, end)
        elif any(p in cfg.l2tp_ports for p in ports):
            l2tp = self._decode(lambda r: L2tp.decode(r, self.ips), pos, end, "l2tp")
            if l2tp is not None:
                self._add(l2tp)
                if l2tp.ppp_protocol == _PPP_IPV4:
                    self._ipv4(l2tp.end, end, False)
                elif l2tp.ppp_protocol == _PPP_IPV6:
                    self._ipv6(l2tp.end, end, False)
        elif any(p in cfg.gtpu_ports for p in ports):
            gtp = self._decode(lambda r: Gtpu.decode(r, self.ips), pos, end, "gtp-u")
            if gtp is not None:
                self._add(gtp)
                if gtp.message_type == 0xFF:  # a G-PDU: an IP packet
                    self._ip_by_version(gtp.end, end, False)
        elif any(p in cfg.teredo_ports for p in ports):
            try:
                ted = Teredo.decode(Reader(self.buf, pos, end), self.ips)
            except ParseError:
                return  # not Teredo after all: leave it as payload
            if ted.end + 40 <= end and self.buf[ted.end] >> 4 == 6:
                if ted.length:
                    self._add(ted)
                self._ipv6(ted.end, end, False)

    def _gpe_next(self, proto: int, pos: int, end: int) -> None:
        """The payload of VXLAN-GPE or NSH, by their shared next-protocol numbers."""
        for _ in range(self.cfg.max_tags):  # NSH may follow NSH; bounded
            if proto == 1:
                self._ipv4(pos, end, False)
            elif proto == 2:
                self._ipv6(pos, end, False)
            elif proto == 3:
                self._ethernet(pos, end)
            elif proto == 5:
                self._mpls(pos, end)
            elif proto == 4:
                nsh = self._decode(lambda r: Nsh.decode(r, self.ips), pos, end, "nsh")
                if nsh is None:
                    return
                self._add(nsh)
                proto, pos = nsh.next_protocol, nsh.end
                continue
            return

    def _gre(self, p: _Packet) -> None:
        """GRE (IP protocol 47): the protocol field is an EtherType."""
        end = p.end
        gre = self._decode(lambda r: GRE.decode(r, self.ips), p.start, end, "gre")
        if gre is None:
            return
        self._add(gre)
        self._gre_checksum(p, gre.version == 0 and bool(gre.flags_version & 0x8000))
        if gre.version == 1 and gre.protocol == _GRE_PPP and gre.key is not None:
            size = gre.key >> 16  # PPTP: the key's high half is the payload length
            if size:
                ppp = self._decode(lambda r: PPP.decode(r, self.ips), gre.end, end, "ppp")
                if ppp is not None:
                    self._add(ppp)
                    self._ppp_payload(ppp.protocol, ppp.end, min(end, gre.end + size))
            return
        if gre.version != 0 or gre.flags_version & 0x4000:
            return
        if gre.protocol in (_GRE_ERSPAN, _GRE_ERSPAN3, _GRE_WCCP):
            self._gre_mirrored(gre, end)
        elif gre.protocol == ETH_CMD:
            cmd = self._decode(
                lambda r: CiscoMetadata.decode(r, self.ips, gre_form=True), gre.end, end, "cmd"
            )
            if cmd is not None:
                self._add(cmd)
                self._ethertype(cmd.ethertype, cmd.end, end)
        else:
            self._ethertype(gre.protocol, gre.end, end)

    def _gre_mirrored(self, gre: GRE, end: int) -> None:
        """What ERSPAN and WCCP carry in GRE, after a header of their own (its length
        told as Wireshark tells it): a mirrored Ethernet frame, a redirected IPv4 packet."""
        if gre.protocol == _GRE_ERSPAN:  # type I has no sequence number and no header
            start = gre.end + (8 if gre.sequence is not None else 0)
        elif gre.protocol == _GRE_ERSPAN3:  # 12 bytes, and a subheader with the O bit
            o_bit = gre.end + 12 <= end and self.buf[gre.end + 11] & 1
            start = gre.end + 12 + (8 if o_bit else 0)
        else:  # WCCP v2 has a 4-byte redirect header; v1 (the payload is IPv4 at once) none
            v1 = gre.end < end and self.buf[gre.end] >> 4 == 4
            start = gre.end if v1 else gre.end + 4
        start = min(start, end)  # a header cut short: the frame inside is cut (truncated)
        if gre.protocol == _GRE_WCCP:
            self._ipv4(start, end, False)
        else:
            self._ethernet(start, end)

    def _ppp_payload(self, protocol: int, pos: int, end: int) -> None:
        """IPv4 or IPv6 after a PPP header (anything else, MPPE included, is payload)."""
        if protocol == _PPP_IPV4:
            self._ipv4(pos, end, False)
        elif protocol == _PPP_IPV6:
            self._ipv6(pos, end, False)

    def _pim(self, p: _Packet) -> None:
        """PIM (IP protocol 103): its checksum, then a version 2 Register carries an IP
        packet."""
        pos, end = p.start, p.end
        self._pim_checksum(p)
        pim = self._decode(lambda r: PimRegister.decode(r, self.ips), pos, end, "pim")
        if pim is None:
            return
        if pim.version == 2 and pim.type == 1:
            self._add(pim)
            self._ip_by_version(pim.end, end, False)
