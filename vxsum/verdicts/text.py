"""Words for verdicts, made from their codes and numbers: used only at the edge.

:func:`detail` renders one :data:`~vxsum.verdicts.labels.ROW` (the writers, the command
line and :attr:`vxsum.verdicts.verdict.Verdict.detail` call it); nothing in vxsum reads
these texts back. Each evidence code has one template here, and each context code one
that wraps it or replaces it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..frames.fields import LAYERS, REASONS
from .labels import CONFIRMED_BY, HYPOTHESES, LABELS, Context, Evidence, Label

__all__ = [
    "CORRUPT",
    "FLOW_COLUMNS",
    "NO_CHECKSUM",
    "ZERO_MANGLED",
    "Addresses",
    "Coded",
    "Numbers",
    "confirmed_by",
    "confirmed_by_codes",
    "decoded",
    "detail",
    "detail_codes",
    "details",
    "endpoint",
    "flow_columns",
    "hypotheses",
    "hypothesis_codes",
    "port_before_nat_shown",
    "ports_before_nat",
]

NO_CHECKSUM = "0: no checksum (UDP over IPv4, RFC 768)"
CORRUPT = "wrong, and no known mechanism explains it"
ZERO_MANGLED = (
    "0xFFFF where the checksum is wrong: a zero 'no checksum' field rewritten by the "
    "NAT of a kernel before 'never update the UDP checksum when it's 0' "
    "(5.7, 5.6.13, 5.4.41, 4.19.123, 4.14.181); receivers drop it"
)
_FIXED = {
    Evidence.NONE: "",
    Evidence.NO_CHECKSUM: NO_CHECKSUM,
    Evidence.NEGATIVE_ZERO: (
        "0x0000 where 0xFFFF is due: over IPv6 a zero UDP checksum means none, "
        "which is illegal (RFC 8200 section 8.1)"
    ),
    Evidence.ILLEGAL_ZERO: "0 over IPv6 outside a zero-checksum tunnel port",
    Evidence.ZERO_MANGLED: ZERO_MANGLED,
    Evidence.UNEXPLAINED: CORRUPT,
}
_NO_FIX = "'never update the UDP checksum when it's 0'"
_UNNAMED = [LABELS.index(x) for x in (Label.CORRUPT, Label.GOOD, Label.NO_CHECKSUM)]


def _hex(value: int) -> str:
    return f"0x{value:04x}"


def endpoint(words: npt.NDArray[np.integer], port: int, v6: bool) -> str:
    """'address:port' from an address as 8 big-endian words (IPv4 in the first two)."""
    raw = np.asarray(words, dtype=">u2").tobytes()
    return f"{ipaddress.ip_address(raw if v6 else raw[:4])}:{port}"


def _note(row: np.void) -> str:
    """' once the inner tcp field 0x.. becomes 0x..' where the inner field is pending."""
    if not row["pending"]:
        return ""
    inner = LAYERS[row["inner_layer"]]
    stored, due = _hex(int(row["inner_stored"])), _hex(int(row["inner_expected"]))
    return f" once the inner {inner} field {stored} becomes {due}"


def _own(row: np.void) -> str:
    """What the field's own bytes show."""
    evidence = Evidence(int(row["evidence"]))
    fixed = _FIXED.get(evidence)
    if fixed is not None:
        return fixed
    expected = int(row["expected"])
    if evidence == Evidence.UNVERIFIABLE:
        reason = REASONS[row["reason"]]
        return f"cannot be checked from this capture: {reason or 'unknown'}"
    if evidence == Evidence.SEED:
        return (
            f"the pseudo-header seed {_hex(int(row['pseudo']))} (CHECKSUM_PARTIAL): captured "
            f"on the sender before the NIC filled in {_hex(expected)}"
        )
    if evidence == Evidence.IP_ZERO:
        return (
            "0 in an IPv4 header checksum: left for the NIC by header checksum offload "
            f"(not Linux; e.g. Windows with TSO), captured before it wrote {_hex(expected)}"
        )
    if evidence == Evidence.TSO_SEED:
        return (
            f"the pseudo-header seed without the length, {_hex(int(row['stored']))}, that a "
            "sender leaves for segmentation offload (TSO/GSO): captured before the NIC cut "
            "and filled it"
        )
    if evidence == Evidence.LCO:
        return f"local checksum offload: right{_note(row)} (the NIC fills the inner one)"
    if evidence == Evidence.STALE:
        return (
            f"not explained: right for source port {int(row['port'])} where it is now "
            f"{int(row['sport'])}{_note(row)}, as a source-port rewrite that left the checksum "
            "as it was would be; but about 43% of random damage fits some port too, so "
            "nothing confirms it (its flow, --conntrack from the sending node or "
            "--before-nat would)"
        )
    raise ValueError(f"unknown evidence code {evidence}")


_REWRITE = (
    "a source-port rewrite left the checksum as it was{note}; receivers drop it (a second "
    "MASQUERADE of the outer packet: kube-proxy before PR 92035 with VXLAN udpcsum on)"
)


def _rewrite(row: np.void) -> str:
    return f"{int(row['port'])} -> {int(row['sport'])}: " + _REWRITE.format(note=_note(row))


def _flow(row: np.void) -> str:
    context, count, port = Context(int(row["context"])), int(row["count"]), int(row["port"])
    if context == Context.FLOW_AGREES:
        return (
            f"confirmed by {count} packets of its outer flow, which all imply port {port} "
            f"before NAT: {_rewrite(row)}"
        )
    if context == Context.FLOW_RIGHT:
        packets = (
            "packet of its outer flow carries"
            if count == 1
            else ("packets of its outer flow carry")
        )
        return (
            f"not explained: right for source port {port} where it is now "
            f"{int(row['sport'])}{_note(row)}, but {count} other {packets} a right "
            "checksum, which a source-port rewrite of the whole flow would have left stale "
            "as well (unless they had no pending inner checksum)"
        )
    if context == Context.CAPTURE:
        return (
            f"confirmed by the capture as a whole (p = {float(row['p_value']):.2g}: its bad "
            "tunnel checksums fit a source-port rewrite on packets that open their flow and "
            f"connection far more often than random damage would): {_rewrite(row)}"
        )
    others = (
        "another packet of its outer flow implies"
        if count == 1
        else (f"{count} other packets of its outer flow imply")
    )
    return (
        f"not a stale checksum: {others} another pre-NAT port, this one {port}; no known "
        "mechanism explains it"
    )


def _nat(row: np.void) -> str:
    """The texts of a NAT context: conntrack, or a capture taken before NAT."""
    context, v6 = Context(int(row["context"])), bool(row["v6"])
    was = endpoint(row["pre_src"], int(row["pre_sport"]), v6)
    now = endpoint(row["src"], int(row["sport"]), v6)
    to = endpoint(row["dst"], int(row["dport"]), v6)
    stored, due = _hex(int(row["stored"])), _hex(int(row["due"]))
    old, due_before = _hex(max(int(row["pre_value"]), 0)), _hex(int(row["pre_due"]))
    source = f"capture before NAT, record {int(row['pre_record'])}"
    if context == Context.CONNTRACK_STALE:
        return (
            f"confirmed by conntrack: NAT rewrote {was} to {now} and updated the "
            "local-checksum-offload value as if it were a pending seed (the port change "
            "ignored, an address change with the wrong sign); receivers drop it"
        )
    if context == Context.CONNTRACK_ZERO:
        return (
            f"confirmed by conntrack: a zero field that NAT of {was} to {now} turned into "
            f"{stored} on a kernel before {_NO_FIX}; receivers drop it"
        )
    if context == Context.CONNTRACK_NOT_NAT:
        return f"not what NAT of {was} to {now} leaves (conntrack); no known mechanism"
    if context == Context.BEFORE_WRONG_NO_NAT:
        return (
            f"wrong before NAT already, and NAT did not rewrite it ({source}: {old} in {was} "
            f"-> {to} where {due_before} was due); no known mechanism"
        )
    if context == Context.BEFORE_CHANGED:
        return (
            f"changed between the two captures without NAT ({source}: {old} in {was} -> "
            f"{to}; now {stored} where {due} is due); no known mechanism"
        )
    if context == Context.BEFORE_ZERO:
        return (
            f"confirmed by the {source}: the field was 0 (no checksum) in {was} -> {to}; NAT "
            f"of the source to {now} on a kernel before {_NO_FIX} turned it into {stored} "
            "(a fixed kernel leaves 0); receivers drop it"
        )
    if context == Context.BEFORE_WRONG_ALREADY:
        return (
            f"wrong before NAT already ({source}: {old} in {was} -> {to} where {due_before} "
            f"was due); NAT of the source to {now} then left {stored}"
        )
    if context == Context.BEFORE_STALE:
        how = []
        if row["pre_sport"] != row["sport"]:
            how.append("the port change ignored")
        if not np.array_equal(row["pre_src"], row["src"]):
            how.append("the address change applied with the wrong sign")
        return (
            f"confirmed by the {source}: {was} -> {to} carried {old}, right for that packet "
            f"(local checksum offload); NAT rewrote the source to {now} and updated the field "
            f"as if it were a pending seed ({' and '.join(how)}), leaving {stored} where "
            f"{due} is due; receivers drop it"
        )
    fixed, prefix = int(row["pre_fixed"]), int(row["pre_prefix"])
    kernels = _hex(fixed)
    if prefix != fixed:
        kernels += f" ({_hex(prefix)} on a kernel before the NAT fix)"
    return (
        f"not what NAT of {was} to {now} leaves ({source}): {old} before NAT becomes "
        f"{kernels}, captured {stored} where {due} is due; no known mechanism"
    )


def detail(row: np.void) -> str:
    """The evidence of one verdict row, in words."""
    context = int(row["context"])
    if context == Context.NONE:
        return _own(row)
    if context <= Context.FLOW_CONTRADICTS or context == Context.CAPTURE:
        return _flow(row)
    return _nat(row)


Coded = tuple[list[str], npt.NDArray[np.intp]]
"""A text column as codes: the distinct texts, and each row's index into them (-1:
null). Arrow takes them without a Python string per row; :func:`decoded` makes the list."""


def decoded(coded: Coded) -> list[str | None]:
    """A :data:`Coded` column as one Python value per row (None for null)."""
    texts, index = coded
    return [None if i < 0 else texts[i] for i in index.tolist()]


_CONFIRMED = sorted(set(CONFIRMED_BY.values()))
_CONFIRMED_INDEX = np.full(max(Context) + 1, -1, dtype=np.intp)
_CONFIRMED_INDEX[list(CONFIRMED_BY)] = [_CONFIRMED.index(name) for name in CONFIRMED_BY.values()]


def confirmed_by_codes(rows: npt.NDArray[np.void]) -> Coded:
    """The ``confirmed_by`` column: which context confirmed a row's cause, if one did."""
    index = _CONFIRMED_INDEX[rows["context"]]
    index[np.isin(rows["label"], _UNNAMED)] = -1
    return _CONFIRMED, index


def confirmed_by(rows: npt.NDArray[np.void]) -> list[str | None]:
    """:func:`confirmed_by_codes`, one value per row."""
    return decoded(confirmed_by_codes(rows))


_HYPOTHESES = [str(label) for label in HYPOTHESES.values()]


def hypothesis_codes(rows: npt.NDArray[np.void]) -> Coded:
    """The ``hypothesis`` column: the cause a row's bytes fit, while nothing confirms it
    (nor refutes it)."""
    open_ = np.isin(rows["context"], [int(Context.NONE), int(Context.FLOW_RIGHT)])
    index = np.full(len(rows), -1, dtype=np.intp)
    for k, (evidence, label) in enumerate(HYPOTHESES.items()):
        index[(rows["evidence"] == evidence) & (rows["label"] != LABELS.index(label)) & open_] = k
    return _HYPOTHESES, index


def hypotheses(rows: npt.NDArray[np.void]) -> list[str | None]:
    """:func:`hypothesis_codes`, one value per row."""
    return decoded(hypothesis_codes(rows))


def port_before_nat_shown(rows: npt.NDArray[np.void]) -> npt.NDArray[np.bool_]:
    """Which rows have a ``port_before_nat`` (the ``port`` column): a confirmed
    ``nat-stale`` field, or one whose hypothesis it is."""
    stale = rows["label"] == LABELS.index(Label.NAT_STALE)
    shown: npt.NDArray[np.bool_] = (rows["port"] >= 0) & (stale | (hypothesis_codes(rows)[1] >= 0))
    return shown


def ports_before_nat(rows: npt.NDArray[np.void]) -> list[int | None]:
    """The ``port_before_nat`` column: the source port of a confirmed ``nat-stale`` field,
    or of its hypothesis."""
    shown = port_before_nat_shown(rows)
    return [p if ok else None for p, ok in zip(rows["port"].tolist(), shown.tolist(), strict=True)]


_FIXED_TEXTS = list(dict.fromkeys(_FIXED.values()))
_FIXED_INDEX = {code: _FIXED_TEXTS.index(text) for code, text in _FIXED.items()}


def detail_codes(rows: npt.NDArray[np.void]) -> Coded:
    """:func:`detail` of every row as codes: the fixed texts without a call per row, the
    others (a row's own numbers, a flow's, a NAT's) one by one."""
    evidence, context = rows["evidence"], rows["context"]
    index = np.zeros(len(rows), dtype=np.intp)  # "" unless set below
    for code, k in _FIXED_INDEX.items():
        if k:
            index[(evidence == code) & (context == 0)] = k
    own = np.flatnonzero(np.isin(evidence, list(_FIXED), invert=True) | (context != 0))
    texts = _FIXED_TEXTS + [detail(rows[i]) for i in own.tolist()]
    index[own] = np.arange(len(_FIXED_TEXTS), len(texts))
    return texts, index


def details(rows: npt.NDArray[np.void]) -> list[str]:
    """:func:`detail` of every row (:func:`detail_codes`, one value per row)."""
    texts, index = detail_codes(rows)
    return [texts[i] for i in index.tolist()]


FLOW_COLUMNS = (
    "src",
    "dst",
    "sport",
    "dport",
    "protocol",
    "vni",
    "inner_src",
    "inner_dst",
    "inner_sport",
    "inner_dport",
    "inner_protocol",
)
"""The columns that say which packet, flow and tunnel a row's field is in (version 3):
:func:`flow_columns` makes them."""


@dataclass(frozen=True)
class Numbers:
    """A column of nullable integers: ``values[i]``, null where ``null[i]``."""

    values: npt.NDArray[np.int64]
    null: npt.NDArray[np.bool_]

    def python(self) -> list[int | None]:
        """The column as Python values."""
        out = self.values.astype(object)
        out[self.null] = None
        return out.tolist()  # type: ignore[no-any-return]


_OCTETS = np.zeros((256, 3), dtype=np.uint8)  # the decimals of 0 to 255, left-aligned
for _k in range(256):
    _OCTETS[_k, : len(str(_k))] = np.frombuffer(str(_k).encode(), dtype=np.uint8)
_OCTET_LENGTHS = np.array([len(str(k)) for k in range(256)], dtype=np.int64)


@dataclass(frozen=True)
class Addresses:
    """A column of IP addresses: (n, 8) big-endian words (IPv4 in the first two), whether
    each is IPv6, whether there is one (null where not)."""

    words: npt.NDArray[np.uint16]
    v6: npt.NDArray[np.bool_]
    present: npt.NDArray[np.bool_]

    def ipv4_only(self) -> bool:
        """Whether every address present is IPv4."""
        return not (self.v6 & self.present).any()

    def ipv4_bytes(self, pad: int = 0) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """IPv4 addresses dotted, as a (n, 15 + 2 * pad) byte matrix and the lengths: row
        i's text is its row without the zero bytes (all zero for a null), ``pad`` zero
        columns on each side (for a caller's quotes). No sort, no Python loop: the way to
        make many of them at once."""
        n = len(self.v6)
        octets = np.ascontiguousarray(self.words, dtype=">u2")[:, :2].copy().view(np.uint8)
        out = np.zeros((n, 15 + 2 * pad), dtype=np.uint8)
        out[:, [pad + 3, pad + 7, pad + 11]] = ord(".")
        lengths = np.full(n, 3, dtype=np.int64)
        for k in range(4):
            out[:, pad + 4 * k : pad + 4 * k + 3] = np.take(_OCTETS, octets[:, k], axis=0)
            lengths += np.take(_OCTET_LENGTHS, octets[:, k])
        out[~self.present] = 0
        lengths[~self.present] = 0
        return out, lengths

    def distinct(self) -> tuple[list[str | None], npt.NDArray[np.intp]]:
        """(texts, index): row i's text is ``texts[index[i]]`` (None: null), each distinct
        address made once (IPv4 dotted, IPv6 compressed as RFC 5952 writes it)."""
        n = len(self.v6)
        words = np.ascontiguousarray(self.words, dtype=">u2")
        if self.ipv4_only():  # distinct 32-bit numbers (33: present)
            ipv4 = words[:, :2].copy().view(">u4").reshape(n).astype(np.int64)
            key = np.where(self.present, ipv4 | 1 << 32, 0)
            distinct4, index = np.unique(key, return_inverse=True)
            texts = [
                str(ipaddress.IPv4Address(v & 0xFFFFFFFF)) if v >> 32 else None
                for v in distinct4.tolist()
            ]
            return texts, index.reshape(-1)
        key8 = np.zeros((n, 17), dtype=np.uint8)
        key8[:, :16] = words.view(np.uint8).reshape(n, 16)
        key8[:, 16] = self.v6.astype(np.uint8) | self.present.astype(np.uint8) << 1
        distinct, index = np.unique(key8.view(np.dtype((np.void, 17))).ravel(), return_inverse=True)
        out: list[str | None] = []
        for value in distinct.tolist():
            raw, flag = value[:16], value[16]
            if not flag & 2:
                out.append(None)
            elif flag & 1:
                out.append(str(ipaddress.IPv6Address(raw)))
            else:
                out.append(str(ipaddress.IPv4Address(raw[:4])))
        return out, index.reshape(-1)

    def values(self) -> list[str | None]:
        """The column as Python values."""
        texts, index = self.distinct()
        return [texts[k] for k in index.tolist()]


def flow_columns(rows: Any) -> list[Addresses | Numbers]:
    """The :data:`FLOW_COLUMNS` of ``rows`` (:data:`~vxsum.verdicts.labels.ROW` rows, or a
    mapping of their columns), in order: the addresses, ports and protocol (6 or 17; null
    without TCP or UDP) of the packet at each row's depth; for a tunnel's outer UDP field,
    its VNI (VXLAN, VXLAN-GPE, Geneve) and the same five of the packet it carries (null
    for the other rows)."""
    proto, inner_proto = rows["proto"], rows["inner_proto"]
    no_ports, no_inner_ports = proto == 0, inner_proto == 0
    every = np.ones(len(proto), dtype=bool)
    inner = rows["inner_ip"] != 0
    inner_v6 = rows["inner_ip"] == 6

    def number(name: str, null: npt.NDArray[np.bool_]) -> Numbers:
        return Numbers(rows[name].astype(np.int64), null)

    return [
        Addresses(rows["src"], rows["v6"], every),
        Addresses(rows["dst"], rows["v6"], every),
        number("sport", no_ports),
        number("dport", no_ports),
        number("proto", no_ports),
        number("vni", rows["vni"] < 0),
        Addresses(rows["inner_src"], inner_v6, inner),
        Addresses(rows["inner_dst"], inner_v6, inner),
        number("inner_sport", no_inner_ports),
        number("inner_dport", no_inner_ports),
        number("inner_proto", no_inner_ports),
    ]
