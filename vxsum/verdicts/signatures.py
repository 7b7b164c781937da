"""The arithmetic fingerprints of the mechanisms that leave a checksum wrong.

Each function answers one question about numbers already read from a packet (stored
field, the value it should hold for the captured bytes, the pseudo-header sum, ports)
and returns evidence or None. The classifier combines them with the packet's layers;
they live apart so that each can be checked against frames the kernel model makes.

All of them follow from the kernel model (:mod:`vxsum.kernel.csum`, :mod:`vxsum.kernel.nat`,
:mod:`vxsum.kernel.encap`) and RFC 1624 arithmetic:

* a pending checksum holds the pseudo-header *seed* (``offload_seed``);
* an outer VXLAN checksum computed by local checksum offload is right once the inner
  pending field gets its final value (``lco_pending``);
* a pre-fix kernel turns a zero UDP field into 0xFFFF on a port-only rewrite, or into
  the address delta on an address rewrite (``zero_mangled``);
* a field left untouched by a port rewrite is right for some earlier port, which a
  single subtraction recovers (``port_before_rewrite``).
"""

from __future__ import annotations

from ..core.checksum import fold, ones_add, update_span

__all__ = [
    "EPHEMERAL_PORTS",
    "lco_pending",
    "offload_seed",
    "port_before_rewrite",
    "zero_mangled",
]

EPHEMERAL_PORTS = (32768, 60999)
"""Linux's default ``ip_local_port_range``: where ``udp_flow_src_port`` puts VXLAN ports."""


def offload_seed(stored: int, pseudo_header_sum: int) -> bool:
    """True if the field holds the pseudo-header seed a sender leaves for its NIC.

    The seed is the folded, non-complemented pseudo-header sum (CHECKSUM_PARTIAL).
    """
    return stored == pseudo_header_sum


def lco_pending(
    outer_stored: int, outer_due: int, inner_seed: int, inner_due: int, inner_offset: int
) -> int | None:
    """If the outer field becomes right once the inner pending field is filled, the value it
    then should hold (equal to ``outer_stored``); else None.

    ``outer_due`` is what the outer field should hold for the bytes as captured, with
    the inner field still holding ``inner_seed``; ``inner_due`` is the inner field's
    final value; ``inner_offset`` is the inner field's offset from the start of the
    outer UDP header (its parity matters, RFC 1071 section 2 (B)).
    """
    old, new = inner_seed.to_bytes(2, "big"), inner_due.to_bytes(2, "big")
    after = update_span(outer_due, inner_offset, old, new)
    # A computed 0 is sent as 0xFFFF over UDP (RFC 768).
    after = after or 0xFFFF
    return after if outer_stored == after else None


def zero_mangled(
    stored: int, old_addr: bytes | None = None, new_addr: bytes | None = None
) -> str | None:
    """How a pre-fix kernel's NAT made a zero UDP field ``stored``, or None.

    0xFFFF is what a port-only rewrite writes (``fold(0 + ~a + a)``). With the old and
    new addresses of an address rewrite (from conntrack, say), the field becomes the
    non-complemented address delta ``fold(~old + new)``.
    """
    if old_addr is not None and new_addr is not None and old_addr != new_addr:
        delta = 0
        for i in range(0, len(old_addr), 2):
            delta += 0xFFFF ^ int.from_bytes(old_addr[i : i + 2], "big")
            delta += int.from_bytes(new_addr[i : i + 2], "big")
        return "address rewrite" if fold(delta) == stored else None
    return "port-only rewrite" if stored == 0xFFFF else None


def port_before_rewrite(stored: int, due: int, port: int) -> int:
    """The port for which ``stored`` would be right, if only the port (now ``port``) changed.

    RFC 1624 eqn. 3 solved for the old word: ``~due = ~stored + ~old + new``, so
    ``old = due + ~stored + new`` in ones'-complement arithmetic. The answer is
    unique modulo 0xFFFF (0 and 0xFFFF are the same number); 0xFFFF is returned as 0.
    """
    old = ones_add(due, 0xFFFF ^ stored, port)
    return 0 if old == 0xFFFF else old
