"""The Linux kernel's checksum primitives, with the kernel's exact arithmetic.

Modelled on ``include/net/checksum.h``, ``include/asm-generic/checksum.h`` and
``net/core/utils.c`` (kernel-model.md section b). The kernel keeps two kinds of value:

* ``__wsum``: a 32-bit partial sum, added with end-around carry (:func:`csum_add`);
* ``__sum16``: a 16-bit field value, usually a complemented, folded sum
  (:func:`csum_fold`), but the *seed* (a non-complemented pseudo-header sum) in a
  field whose checksum is pending (``CHECKSUM_PARTIAL``).

Byte order. The kernel does this arithmetic on values as they lie in memory
(little-endian on x86); vxsum works on big-endian 16-bit words. The two agree on
every folded result, zeros included: reading memory the other way round multiplies a
value by 256 modulo 0xFFFF, which commutes with every operation here, and a value
is zero in one reading exactly when it is zero in the other. Addresses and ports are
passed as the integers their network-order bytes spell.

Why this exists apart from :mod:`vxsum.core.buffer`: the kernel's NAT code applies these
functions to fields in *either* meaning (complemented checksum or seed) depending on
``skb->ip_summed``, and the bugs vxsum explains are exactly the cases where the
meaning assumed is the wrong one. The functions must therefore be the kernel's, not
the RFC's, down to which zero comes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from ..core.buffer import fold

__all__ = [
    "CSUM_MANGLED_0",
    "IpSummed",
    "csum16_add",
    "csum16_sub",
    "csum_add",
    "csum_fold",
    "csum_replace2",
    "csum_replace4",
    "csum_sub",
    "csum_unfold",
    "inet_proto_csum_replace2",
    "inet_proto_csum_replace4",
    "inet_proto_csum_replace16",
]

CSUM_MANGLED_0 = 0xFFFF
"""What the kernel writes instead of a computed UDP checksum of 0 (``include/net/checksum.h``)."""

_M32 = 0xFFFFFFFF


class IpSummed(IntEnum):
    """``skb->ip_summed`` (``include/linux/skbuff.h``)."""

    NONE = 0
    UNNECESSARY = 1
    COMPLETE = 2
    PARTIAL = 3


def csum_add(csum: int, addend: int) -> int:
    """32-bit addition with end-around carry: ``res + (res < addend)``."""
    res = (csum + addend) & _M32
    return (res + (res < (addend & _M32))) & _M32


def csum_sub(csum: int, addend: int) -> int:
    """``csum_add(csum, ~addend)``."""
    return csum_add(csum, ~addend & _M32)


def csum_unfold(n: int) -> int:
    """A 16-bit field as a 32-bit partial sum: zero extension."""
    return n & 0xFFFF


def csum_fold(csum: int) -> int:
    """Fold a 32-bit partial sum to 16 bits and complement it (``csum_fold``)."""
    return 0xFFFF ^ fold(csum & _M32)


def csum16_add(csum: int, addend: int) -> int:
    """16-bit addition with end-around carry (``csum16_add``)."""
    res = (csum + addend) & 0xFFFF
    return (res + (res < (addend & 0xFFFF))) & 0xFFFF


def csum16_sub(csum: int, addend: int) -> int:
    """``csum16_add(csum, ~addend)``."""
    return csum16_add(csum, ~addend & 0xFFFF)


def csum_replace2(check: int, old: int, new: int) -> int:
    """RFC 1624 eqn. 3 in 16-bit arithmetic: ``~csum16_add(csum16_sub(~check, old), new)``."""
    return 0xFFFF ^ csum16_add(csum16_sub(0xFFFF ^ check, old), new)


def csum_replace4(check: int, old: int, new: int) -> int:
    """Update a complemented checksum for a 32-bit change (IPv4 header addresses)."""
    return csum_fold(csum_add(csum_sub(~csum_unfold(check) & _M32, old), new))


def inet_proto_csum_replace4(
    check: int,
    ip_summed: IpSummed,
    skb_csum: int,
    old: int,
    new: int,
    pseudohdr: bool,
) -> tuple[int, int]:
    """Update an L4 checksum field for a 32-bit change; returns ``(check, skb_csum)``.

    ``net/core/utils.c``: unless the checksum is pending, the field is a complemented
    checksum and gets :func:`csum_replace4` (pseudo-header or not); ``skb->csum`` of
    a ``CHECKSUM_COMPLETE`` packet follows a pseudo-header change. When the checksum
    is pending (``CHECKSUM_PARTIAL``) the field is taken to be the seed: a
    pseudo-header change is added *without* complementing, ``~fold(F + ~old + new)``,
    and any other change is left for the device to sum.
    """
    if ip_summed != IpSummed.PARTIAL:
        check = csum_replace4(check, old, new)
        if ip_summed == IpSummed.COMPLETE and pseudohdr:
            skb_csum = ~csum_add(csum_sub(~skb_csum & _M32, old), new) & _M32
    elif pseudohdr:
        check = 0xFFFF ^ csum_fold(csum_add(csum_sub(csum_unfold(check), old), new))
    return check, skb_csum


def inet_proto_csum_replace2(
    check: int,
    ip_summed: IpSummed,
    skb_csum: int,
    old: int,
    new: int,
    pseudohdr: bool,
) -> tuple[int, int]:
    """:func:`inet_proto_csum_replace4` with the 16-bit values zero-extended (a port, an id).

    Zero extension means ``~old`` also adds a 0xFFFF word: the same value modulo
    0xFFFF, but a "zero" result comes out as 0xFFFF.
    """
    return inet_proto_csum_replace4(
        check, ip_summed, skb_csum, old & 0xFFFF, new & 0xFFFF, pseudohdr
    )


def _partial(words: Sequence[int], start: int) -> int:
    acc = start
    for word in words:
        acc = csum_add(acc, word)
    return acc


def inet_proto_csum_replace16(
    check: int,
    ip_summed: IpSummed,
    old: bytes,
    new: bytes,
    pseudohdr: bool,
) -> int:
    """Update an L4 checksum field for a 128-bit change (an IPv6 address).

    Sums the diff ``{~old[0..3], new[0..3]}`` onto ``~check`` (not pending) or onto the
    seed (pending, pseudo-header). ``skb->csum`` is left alone since 189c9b1e9453
    (v5.6, stable 5.4.18): the address and the field change cancel out there.
    """
    if len(old) != 16 or len(new) != 16:
        raise ValueError("IPv6 addresses are 16 bytes")
    diff = [~int.from_bytes(old[i : i + 4], "big") & _M32 for i in range(0, 16, 4)]
    diff += [int.from_bytes(new[i : i + 4], "big") for i in range(0, 16, 4)]
    if ip_summed != IpSummed.PARTIAL:
        return csum_fold(_partial(diff, ~csum_unfold(check) & _M32))
    if pseudohdr:
        return 0xFFFF ^ csum_fold(_partial(diff, csum_unfold(check)))
    return check
