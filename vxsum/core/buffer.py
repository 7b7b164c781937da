"""The Internet checksum of one buffer: RFC 1071 sums, RFC 1624 updates, pseudo-headers.

Vocabulary used throughout vxsum:

* the **sum** (:func:`ones_sum`) is the ones'-complement sum of the data taken as
  big-endian 16-bit words, folded to 16 bits and *not* complemented;
* the **checksum** (:func:`checksum`) is its complement, the value a sender puts in
  the field (RFC 1071 section 1).

Zero and "negative zero" (RFC 1624 section 3). In ones'-complement arithmetic
0x0000 (+0) and 0xFFFF (-0) are the same number, and a folded sum is 0x0000 only
when every word summed is zero. Consequences that the kernel model and the
classifier rely on, all pinned down by tests:

* :func:`ones_sum` returns 0x0000 only for all-zero data, and 0xFFFF when the sum is
  a non-zero multiple of 0xFFFF;
* :func:`checksum` therefore returns 0xFFFF only for all-zero data, and 0x0000 when
  the data sum to -0;
* :func:`verify` accepts a field holding 0x0000 or 0xFFFF alike wherever the other
  is correct, because both add the same amount: ones'-complement checks cannot tell
  them apart. Protocols break the tie: UDP sends a computed 0x0000 as 0xFFFF
  (RFC 768), since a 0 field means "no checksum";
* the incremental updates use RFC 1624 eqn. 3, ``HC' = ~(~HC + ~m + m')``, which
  agrees with a full recompute whenever the updated data are not all zero (the case
  where eqn. 2 gave -0 instead of +0 included). For all-zero data a full recompute
  gives 0xFFFF and eqn. 3 gives 0x0000: the two zeros again.

Size dispatch (measured, see docs/performance.md): a big-integer remainder for
buffers under :data:`NUMPY_MIN_BYTES`, a numpy reduction of 32-bit words above.
"""

from __future__ import annotations

import ipaddress
import operator
from typing import Any, SupportsIndex, TypeAlias

import numpy as np

__all__ = [
    "NUMPY_MIN_BYTES",
    "Address",
    "Buffer",
    "checksum",
    "fold",
    "ones_add",
    "ones_sum",
    "pseudo_header_sum",
    "pseudo_header_sum_v4",
    "pseudo_header_sum_v6",
    "update16",
    "update32",
    "update128",
    "update_span",
    "verify",
]

Buffer: TypeAlias = "bytes | bytearray | memoryview | np.ndarray[Any, Any]"
"""Anything with the buffer protocol: bytes, bytearray, memoryview, numpy arrays."""

Address: TypeAlias = (
    "bytes | bytearray | memoryview | str | int | ipaddress.IPv4Address | ipaddress.IPv6Address"
)
"""An IP address: packed bytes, text, an integer or an :mod:`ipaddress` object."""

NUMPY_MIN_BYTES = 1024
"""Buffers of at least this many bytes are summed with numpy, smaller ones with int."""

_LE_U32 = np.dtype("<u4")
_reduce = np.add.reduce
_frombuffer = np.frombuffer


def as_int(name: str, value: object) -> int:
    """``value`` as an int, or a ``TypeError`` naming the argument ``name``.

    The API's one notion of an integer: ``int`` and its subclasses (``IntEnum``) and
    anything else with ``__index__`` (numpy integers), but not ``bool``: ``True`` as a
    checksum, port or link type is a caller's mistake, not the number 1. Callers test
    ``type(value) is int`` first, so the common case costs no call.
    """
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value if isinstance(value, int) else operator.index(value)


def _u16(name: str, value: object) -> int:
    """``value`` as a 16-bit int: ``TypeError`` for a non-int, ``ValueError`` outside 0..0xFFFF."""
    if type(value) is not int:
        value = as_int(name, value)
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{name} must be a 16-bit value, got {value!r}")
    return value


def fold(value: int) -> int:
    """Fold a non-negative integer to 16 bits with end-around carry (RFC 1071 section 4.1).

    Equal to repeatedly adding the high and low halves until 16 bits remain: the result
    is ``value`` mod 0xFFFF, except that a non-zero multiple of 0xFFFF folds to 0xFFFF
    (-0) and only 0 folds to 0x0000. A non-int is a ``TypeError``, a negative value a
    ``ValueError``.
    """
    if type(value) is not int:
        value = as_int("value", value)
    if value < 0:
        raise ValueError(f"cannot fold a negative value: {value}")
    return (value - 1) % 0xFFFF + 1 if value else 0


def ones_add(*values: int) -> int:
    """Ones'-complement sum of 16-bit values, folded (RFC 1071 section 2 (A)).

    Each value must be an int in 0..0xFFFF (``TypeError`` / ``ValueError`` otherwise):
    a wider value is not a ones'-complement number until :func:`fold` makes it one.
    """
    total = 0
    for v in values:
        if type(v) is not int or not 0 <= v <= 0xFFFF:
            v = _u16("ones_add argument", v)
        total += v
    return (total - 1) % 0xFFFF + 1 if total else 0


def byte_view(data: Buffer) -> memoryview:
    """``data`` as a flat, contiguous memoryview of bytes (copied only if not contiguous)."""
    view = memoryview(data)  # type: ignore[arg-type]  # ndarray's stubs lack __buffer__ on 3.11
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    if view.format != "B" or view.ndim != 1:
        return view.cast("B")
    return view


def _sum_mod(data: Buffer) -> tuple[int, bool]:
    """The big-endian word sum of ``data`` modulo 0xFFFF, and whether any byte is non-zero.

    Together they give the folded sum exactly: a remainder of 0 folds to 0xFFFF (-0)
    unless the data are all zero.
    """
    if type(data) is bytes:
        n = len(data)
        flat: bytes | memoryview = data
    elif type(data) is memoryview and data.format == "B" and data.ndim == 1 and data.c_contiguous:
        n = data.nbytes  # the parser's spans: slices of a frame's byte view
        flat = data
    else:
        flat = byte_view(data)
        n = flat.nbytes
    if n < NUMPY_MIN_BYTES:
        x = int.from_bytes(flat, "big")
        m = x % 0xFFFF
        if n & 1:  # the zero pad byte makes the last byte a high byte: times 256
            m = (m << 8) % 0xFFFF
        return m, x != 0
    # Sum little-endian 32-bit words in 64 bits (no overflow below 16 GiB): that is the
    # sum of little-endian 16-bit words, i.e. the big-endian sum byte-swapped
    # (RFC 1071 section 2 (B)). Swapping the bytes of a 16-bit value multiplies it by
    # 256 modulo 0xFFFF.
    words = n >> 2
    le = int(_reduce(_frombuffer(flat, _LE_U32, count=words)))  # numpy sums uint32 in uint64
    le += int.from_bytes(flat[words << 2 :], "little")
    return (le % 0xFFFF << 8) % 0xFFFF, le != 0


def ones_sum(data: Buffer, initial: int = 0) -> int:
    """Folded, non-complemented ones'-complement sum of ``data`` plus ``initial``.

    ``data`` is read as big-endian 16-bit words; an odd final byte is padded with a
    zero byte (RFC 1071 section 4.1). ``initial`` is any non-negative integer to add
    in, typically a pseudo-header sum. Returns 0x0000 only if everything is zero.
    """
    if type(initial) is not int:
        initial = as_int("initial", initial)
    if initial < 0:
        raise ValueError(f"initial must be non-negative, got {initial}")
    m, nonzero = _sum_mod(data)
    m = (m + initial) % 0xFFFF
    return m or (0xFFFF if nonzero or initial else 0)


def checksum(data: Buffer, initial: int = 0) -> int:
    """The RFC 1071 Internet checksum: the complement of :func:`ones_sum`.

    This is the value a sender writes into a zeroed checksum field. Pass a
    pseudo-header sum as ``initial`` for UDP, TCP and ICMPv6.

    >>> hex(checksum(bytes.fromhex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")))
    '0xb861'
    """
    # The hot path, inlined: small bytes objects are most of what a capture holds.
    if type(data) is bytes and len(data) < NUMPY_MIN_BYTES:
        x = int.from_bytes(data, "big")
        m = x % 0xFFFF
        if len(data) & 1:
            m = (m << 8) % 0xFFFF
    else:
        m, nz = _sum_mod(data)
        x = int(nz)
    if type(initial) is not int:
        initial = as_int("initial", initial)
    if initial:
        if initial < 0:
            raise ValueError(f"initial must be non-negative, got {initial}")
        m = (m + initial) % 0xFFFF
        x = 1
    return 0 if not m and x else 0xFFFF ^ m


def field_checksum(span: Buffer, pseudo: int, stored: int) -> tuple[int, bool]:
    """For a span holding its own checksum field (which holds ``stored``): the checksum
    the field should hold, ``checksum`` of the span with the field zeroed (adding
    ``~stored`` cancels it), and whether the span verifies, as :func:`verify` says; from
    one pass over the bytes, where the two calls would take two. ``pseudo`` is a folded
    pseudo-header sum (0 without one)."""
    m, nonzero = _sum_mod(span)
    expected = _complement(m, nonzero, pseudo + (0xFFFF ^ stored))
    return expected, _complement(m, nonzero, pseudo) == 0


def _complement(m: int, nonzero: bool, initial: int) -> int:
    """:func:`checksum` from :func:`_sum_mod`'s answer for the data, plus ``initial``."""
    if initial:
        m, nonzero = (m + initial) % 0xFFFF, True
    return 0 if not m and nonzero else 0xFFFF ^ m


def verify(data: Buffer, initial: int = 0) -> bool:
    """True if ``data`` (which contains its own checksum field) sums to -0.

    A correct field makes the whole sum 0xFFFF (RFC 1071 section 1 (3)); this is what
    a receiving kernel tests. ``initial`` carries the pseudo-header sum where one applies.
    """
    return checksum(data, initial) == 0


# --- pseudo-headers -------------------------------------------------------------------


def _packed(addr: Address, size: int) -> bytes:
    """An address as ``size`` packed bytes (4 for IPv4, 16 for IPv6)."""
    if type(addr) is bytes and len(addr) == size:  # the common case, checked first
        return addr
    if isinstance(addr, int):
        if isinstance(addr, bool):
            raise TypeError("an address must not be a bool")
        if not 0 <= addr < 1 << (8 * size):
            raise ValueError(f"address {addr} does not fit in {size} bytes")
        return addr.to_bytes(size, "big")
    if isinstance(addr, str):
        addr = ipaddress.ip_address(addr)
    if isinstance(addr, ipaddress.IPv4Address | ipaddress.IPv6Address):
        addr = addr.packed
    raw = bytes(addr)
    if len(raw) != size:
        raise ValueError(f"expected a {size}-byte address, got {len(raw)} bytes")
    return raw


def pseudo_header_sum_v4(src: Address, dst: Address, proto: int, length: int) -> int:
    """Folded sum of the IPv4 pseudo-header: addresses, zero, protocol, length (RFC 768/793).

    ``length`` is the upper-layer length (UDP length field, or TCP header plus data).
    This non-complemented value is also the *seed* a Linux sender leaves in the field
    for its NIC (CHECKSUM_PARTIAL).
    """
    if type(proto) is not int:
        proto = as_int("proto", proto)
    if type(length) is not int:
        length = as_int("length", length)
    if not 0 <= proto <= 0xFF or not 0 <= length <= 0xFFFF:
        raise ValueError(f"protocol {proto} or length {length} out of range for IPv4")
    x = int.from_bytes(_packed(src, 4) + _packed(dst, 4), "big") + proto + length
    return fold(x)


def pseudo_header_sum_v6(src: Address, dst: Address, next_header: int, length: int) -> int:
    """Folded sum of the IPv6 pseudo-header (RFC 8200 section 8.1).

    ``dst`` is the *final* destination (the last address of a routing header) and
    ``src`` the home address where a Home Address option is present (RFC 6275);
    ``length`` is the upper-layer packet length as a 32-bit value.
    """
    if type(next_header) is not int:
        next_header = as_int("next_header", next_header)
    if type(length) is not int:
        length = as_int("length", length)
    if not 0 <= next_header <= 0xFF or not 0 <= length <= 0xFFFFFFFF:
        raise ValueError(f"next header {next_header} or length {length} out of range")
    x = int.from_bytes(_packed(src, 16) + _packed(dst, 16), "big")
    return fold(x + (length >> 16) + (length & 0xFFFF) + next_header)


def _family_packed(name: str, addr: object) -> bytes:
    """``addr`` packed in its own family's size: text is parsed, bytes must be 4 or 16 long."""
    if isinstance(addr, str):
        addr = ipaddress.ip_address(addr)  # ValueError for text that is no address
    if isinstance(addr, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return addr.packed
    if isinstance(addr, int):
        raise TypeError(
            f"{name}: an integer address has no family; "
            "call pseudo_header_sum_v4 or pseudo_header_sum_v6"
        )
    try:
        raw: bytes = bytes(addr)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"{name} must be packed bytes, text or an ipaddress object, not {type(addr).__name__}"
        ) from None
    if len(raw) not in (4, 16):
        raise ValueError(f"{name} must be a 4- or 16-byte packed address, got {len(raw)} bytes")
    return raw


def pseudo_header_sum(
    src: bytes | bytearray | memoryview | str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    dst: bytes | bytearray | memoryview | str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    proto: int,
    length: int,
) -> int:
    """:func:`pseudo_header_sum_v4` or :func:`pseudo_header_sum_v6`, by the addresses' family.

    Packed addresses give it by their size (4 or 16 bytes), text is parsed; addresses of
    two families are a ``ValueError``. Integers carry no family: use the ``_v4`` or
    ``_v6`` function for those.
    """
    if not (type(src) is type(dst) is bytes and len(src) == len(dst) and len(src) in (4, 16)):
        src, dst = _family_packed("src", src), _family_packed("dst", dst)
    if len(src) != len(dst):
        raise ValueError(
            f"src and dst are of different families ({len(src)}- and {len(dst)}-byte addresses)"
        )
    if len(src) == 16:
        return pseudo_header_sum_v6(src, dst, proto, length)
    return pseudo_header_sum_v4(src, dst, proto, length)


# --- incremental update (RFC 1624) ----------------------------------------------------


def update16(check: int, old: int, new: int) -> int:
    """New checksum after one 16-bit word changes from ``old`` to ``new`` (RFC 1624 eqn. 3).

    ``HC' = ~(~HC + ~m + m')`` in ones'-complement arithmetic. The word must sit at an
    even offset of the checksummed data; for odd offsets use :func:`update_span`.
    """
    if not (
        type(check) is type(old) is type(new) is int
        and 0 <= check <= 0xFFFF
        and 0 <= old <= 0xFFFF
        and 0 <= new <= 0xFFFF
    ):
        check, old, new = _u16("check", check), _u16("old", old), _u16("new", new)
    return 0xFFFF ^ fold((0xFFFF ^ check) + (0xFFFF ^ old) + new)


def _update_words(check: int, old: bytes, new: bytes) -> int:
    acc = 0xFFFF ^ _u16("check", check)
    for i in range(0, len(old), 2):
        acc += 0xFFFF ^ int.from_bytes(old[i : i + 2], "big")
        acc += int.from_bytes(new[i : i + 2], "big")
    return 0xFFFF ^ fold(acc)


def update32(check: int, old: Address, new: Address) -> int:
    """New checksum after a 32-bit value (an IPv4 address) changes: eqn. 3 applied per word."""
    return _update_words(check, _packed(old, 4), _packed(new, 4))


def update128(check: int, old: Address, new: Address) -> int:
    """New checksum after a 128-bit value (an IPv6 address) changes: eqn. 3 per word."""
    return _update_words(check, _packed(old, 16), _packed(new, 16))


def update_span(check: int, offset: int, old: Buffer, new: Buffer) -> int:
    """New checksum after the bytes at ``offset`` change from ``old`` to ``new``.

    ``offset`` is relative to the start of the checksummed data and may be odd: a span
    at an odd offset is summed as if aligned and then byte-swapped (RFC 1071 section
    2 (B)). Old and new must have the same length.
    """
    check = _u16("check", check)
    old_b, new_b = bytes(old), bytes(new)
    if len(old_b) != len(new_b):
        raise ValueError(f"old and new spans differ in length: {len(old_b)} != {len(new_b)}")
    if type(offset) is not int:
        offset = as_int("offset", offset)
    if offset < 0:
        raise ValueError(f"offset must be non-negative, got {offset}")
    # ~m + m' summed over the span as if it started at an even offset.
    delta = fold((0xFFFF ^ ones_sum(old_b)) + ones_sum(new_b))
    if offset & 1:
        delta = ((delta & 0xFF) << 8) | (delta >> 8)
    return 0xFFFF ^ fold((0xFFFF ^ check) + delta)
