"""The rules: from checksum-field facts to a label and evidence. The only place a cause
is decided from a field's own bytes.

:func:`judge` takes rows of :data:`vxsum.frames.facts.FACT` (from the per-frame parser or
the batch layouts alike) and returns rows of :data:`vxsum.verdicts.labels.ROW`. Every rule
is one function over whole columns, named after what it recognises, with the kernel
mechanism behind it (kernel-model.md):

1. the parser's status first: ``good``, ``no-checksum``, ``illegal-zero`` (or
   ``negative-zero`` where 0xFFFF is due) and ``unverifiable`` need no explanation;
2. a wrong field, in this order:

   * :func:`seed`: its own pseudo-header sum, the seed a sender leaves for its NIC
     (CHECKSUM_PARTIAL): ``offload-seed``;
   * :func:`ip_zero`: 0 in an IPv4 header checksum, left for header checksum offload:
     ``offload-seed``;
   * :func:`tso_seed`: TCP's pseudo-header sum without the length (TSO/GSO):
     ``offload-seed``;
   * only a tunnel's outer UDP field goes on (anything else is ``corrupt``);
   * :func:`lco`: right once the pending inner field (:func:`pending`) gets its final
     value: local checksum offload, ``lco-pending``;
   * :func:`zero_mangled`: 0xFFFF, what a pre-fix kernel's NAT writes into a zero field
     on a port-only rewrite: ``nat-zero-mangled``;
   * :func:`stale`: right (after the fill) for an earlier source port in the ephemeral
     range from which ``udp_flow_src_port`` draws tunnel ports. About 43% of random
     values fit that too, so this alone names no cause: the field is ``corrupt`` with
     the evidence ``STALE`` and the port before NAT as its hypothesis, until a context
     (:mod:`vxsum.verdicts.flows`, :mod:`vxsum.verdicts.confirm`,
     :mod:`vxsum.verdicts.stats`) confirms ``nat-stale``;
   * otherwise ``corrupt``.

Every cause named here rests on an exact value, which random damage hits about once in
65,535 tries (docs/classifier.md has each rate; a test measures them on a million random
values). All arithmetic is ones'-complement on 16-bit values held in int64 columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..capture.walking import NO_TIMESTAMP
from ..frames.facts import FACT, Columns, Facts, gather, layer_code, status_code
from ..frames.fields import STATUSES, Status
from ..kernel.encap import EPHEMERAL_PORTS
from .labels import LABELS, ROW, Evidence, Label

__all__ = [
    "due_after_fill",
    "fold",
    "ip_zero",
    "judge",
    "lco",
    "pending",
    "port_before_nat",
    "seed",
    "stale",
    "tso_seed",
    "verdicts",
    "zero_mangled",
]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Table = Columns | Facts
"""Facts as rows or as columns: rules read ``table[name]``, which both answer."""
Ints = npt.NDArray[Any] | int
"""Integer columns, or one integer."""

_L = {label: code for code, label in enumerate(LABELS)}
_S = {status: status_code(status) for status in Status}
_PSEUDO = [layer_code(n) for n in ("tcp", "udp", "udplite", "icmpv6")]  # layers with a seed
_INNER = [layer_code(n) for n in ("tcp", "udp", "udplite")]  # a tunnel payload's transport
_IPV4, _TCP, _UDP = layer_code("ipv4"), layer_code("tcp"), layer_code("udp")
_NAT = np.dtype([d for d in ROW.descr if d[0].startswith("pre_")])
_OWN = {  # what the parser's status alone says (a wrong field: see _explain)
    Status.GOOD: (Label.GOOD, Evidence.NONE),
    Status.NO_CHECKSUM: (Label.NO_CHECKSUM, Evidence.NO_CHECKSUM),
    Status.ILLEGAL_ZERO: (Label.ILLEGAL_ZERO, Evidence.ILLEGAL_ZERO),  # or negative zero
    Status.UNVERIFIABLE: (Label.UNVERIFIABLE, Evidence.UNVERIFIABLE),
    Status.BAD: (Label.CORRUPT, Evidence.UNEXPLAINED),
}
_LABEL_OF = np.array([_L[_OWN[status][0]] for status in STATUSES], dtype=np.int64)
_EVIDENCE_OF = np.array([int(_OWN[status][1]) for status in STATUSES], dtype=np.int64)


def fold(x: Ints) -> I64:
    """Ones'-complement fold of non-negative values: mod 0xFFFF, except that a non-zero
    multiple of 0xFFFF is 0xFFFF (-0) and only 0 is 0."""
    v = np.asarray(x, dtype=np.int64)
    out: I64 = np.where(v == 0, 0, (v - 1) % 0xFFFF + 1)
    return out


def _col(facts: Table, name: str) -> I64:
    return facts[name].astype(np.int64)


def seed(layer: Ints, stored: Ints, pseudo: Ints) -> B:
    """The field holds its pseudo-header sum: the seed of a pending checksum."""
    out: B = np.isin(layer, _PSEUDO) & (np.asarray(stored) == np.asarray(pseudo))
    return out


def ip_zero(layer: Ints, stored: Ints) -> B:
    """0 in an IPv4 header checksum (header checksum offload, not Linux)."""
    out: B = (np.asarray(layer) == _IPV4) & (np.asarray(stored) == 0)
    return out


def tso_seed(layer: Ints, stored: Ints, pseudo: Ints, span_length: Ints) -> B:
    """TCP's pseudo-header sum without the length, which segmentation offload leaves."""
    without = fold(np.asarray(pseudo, dtype=np.int64) + (0xFFFF ^ np.asarray(span_length)))
    out: B = (np.asarray(layer) == _TCP) & (np.asarray(stored) == without)
    return out


def pending(facts: Table, at: npt.NDArray[np.intp] | None = None) -> B:
    """A tunnel's inner transport field holds its seed: its checksum is pending (for the
    facts at ``at``, or all)."""

    def col(name: str) -> npt.NDArray[Any]:
        return np.asarray(facts[name] if at is None else facts[name][at])

    out: B = col("tunnel") & (col("inner_at") >= 0) & np.isin(col("inner_layer"), _INNER)
    out &= col("inner_status") == _S[Status.BAD]
    out &= col("inner_stored") == col("inner_pseudo")
    return out


def due_after_fill(
    expected: Ints, is_pending: Ints, inner_stored: Ints, inner_expected: Ints, inner_at: Ints
) -> I64:
    """What the field should hold once the pending inner field gets its final value (RFC
    1624 eqn. 3; at an odd offset the word's bytes swap, RFC 1071 section 2 (B)); the
    expected value where nothing is pending. A computed 0 is written 0xFFFF (UDP)."""
    delta = fold((0xFFFF ^ np.asarray(inner_stored, np.int64)) + np.asarray(inner_expected))
    odd = (np.asarray(inner_at) & 1) == 1
    delta = np.where(odd, ((delta & 0xFF) << 8) | (delta >> 8), delta)
    exp = np.asarray(expected, dtype=np.int64)
    due: I64 = np.where(np.asarray(is_pending, bool), 0xFFFF ^ fold((0xFFFF ^ exp) + delta), exp)
    return np.where(due == 0, 0xFFFF, due)


def lco(stored: Ints, due: Ints, is_pending: Ints) -> B:
    """Local checksum offload: right once the pending inner field is filled."""
    out: B = np.asarray(is_pending, bool) & (np.asarray(stored) == np.asarray(due))
    return out


def zero_mangled(stored: Ints) -> B:
    """0xFFFF: what a pre-fix kernel's NAT makes of a zero field on a port-only rewrite
    (``fold(0 + ~a + a)``)."""
    out: B = np.asarray(stored) == 0xFFFF
    return out


def port_before_nat(stored: Ints, due: Ints, sport: Ints) -> I64:
    """The source port for which ``stored`` would be right, if only the port (now
    ``sport``) changed: RFC 1624 eqn. 3 solved for the old word, ``old = due + ~stored +
    new``. Unique modulo 0xFFFF; 0xFFFF is returned as 0."""
    old = fold(
        np.asarray(due, np.int64) + (0xFFFF ^ np.asarray(stored, np.int64)) + np.asarray(sport)
    )
    return np.where(old == 0xFFFF, 0, old)


def stale(old_port: Ints, sport: Ints) -> B:
    """A port before NAT in the ephemeral range, other than the port now: the field was
    left as it was by a source-port rewrite."""
    low, high = EPHEMERAL_PORTS
    old = np.asarray(old_port)
    out: B = (old >= low) & (old <= high) & (old != np.asarray(sport))
    return out


def _explain(facts: Table, at: npt.NDArray[np.intp]) -> tuple[I64, I64, I64, I64]:
    """Label, evidence, the value due after a pending fill, and the port before NAT of the
    wrong fields at ``at``: the causes, in their order."""
    layer, stored, pseudo, sport, expected = (
        facts[name][at].astype(np.int64)
        for name in ("layer", "stored", "pseudo", "sport", "expected")
    )
    is_pending = pending(facts, at)
    due = due_after_fill(
        expected,
        is_pending,
        facts["inner_stored"][at],
        facts["inner_expected"][at],
        facts["inner_at"][at],
    )
    tunnel = facts["tunnel"][at] & (layer == _UDP)
    old = port_before_nat(stored, due, sport)
    causes = [
        (seed(layer, stored, pseudo), Label.OFFLOAD_SEED, Evidence.SEED),
        (ip_zero(layer, stored), Label.OFFLOAD_SEED, Evidence.IP_ZERO),
        (
            tso_seed(layer, stored, pseudo, facts["span_length"][at]),
            Label.OFFLOAD_SEED,
            Evidence.TSO_SEED,
        ),
        (tunnel & lco(stored, due, is_pending), Label.LCO_PENDING, Evidence.LCO),
        (tunnel & zero_mangled(stored), Label.NAT_ZERO_MANGLED, Evidence.ZERO_MANGLED),
        # 43% of random values fit a rewrite: a hypothesis, for context to confirm
        (tunnel & stale(old, sport), Label.CORRUPT, Evidence.STALE),
    ]
    conditions = [c for c, _, _ in causes]
    label = np.select(conditions, [_L[x] for _, x, _ in causes], _L[Label.CORRUPT])
    evidence = np.select(conditions, [int(e) for _, _, e in causes], Evidence.UNEXPLAINED)
    return label, evidence, due, np.where(evidence == Evidence.STALE, old, -1)


def verdicts(facts: Table) -> Columns:
    """Every column of :data:`ROW` for ``facts``: the facts' own, then a label, evidence and
    its numbers for each (the context columns empty, for later stages to fill).

    The parser's status decides right, missing, zero and unverifiable fields; only the
    wrong ones go through the causes (:func:`_explain`).
    """
    n = len(facts["frame"])
    table: Columns = {name: facts[name] for name in FACT.names or ()}
    status, expected = facts["status"], _col(facts, "expected")
    label, evidence = _LABEL_OF[status], _EVIDENCE_OF[status]
    negative = np.flatnonzero((status == _S[Status.ILLEGAL_ZERO]) & (expected == 0xFFFF))
    label[negative], evidence[negative] = _L[Label.NEGATIVE_ZERO], Evidence.NEGATIVE_ZERO
    due, port = expected.copy(), np.full(n, -1, dtype=np.int64)
    bad = np.flatnonzero(status == _S[Status.BAD])
    label[bad], evidence[bad], due[bad], port[bad] = _explain(facts, bad)
    table["label"], table["evidence"] = label, evidence
    table["context"] = np.zeros(n, dtype=np.uint8)
    table["pending"] = pending(facts) & (facts["layer"] == _UDP)
    table["due"], table["port"] = due, port
    table["count"] = np.zeros(n, dtype=np.int32)
    table["opens"], table["p_value"] = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.float64)
    blank = np.zeros(n, dtype=_NAT)  # the NAT context: empty until one is given
    for name in _NAT.names or ():
        table[name] = blank[name]
    table["pre_value"], table["pre_record"] = np.full(n, -1, np.int32), np.full(n, -1, np.int64)
    # where the frame is in its capture: unknown here (the analysis of a file fills it in)
    table["time"], table["record_offset"] = (
        np.full(n, NO_TIMESTAMP, np.int64),
        np.full(n, -1, np.int64),
    )
    return table


def judge(facts: Table) -> npt.NDArray[np.void]:
    """:func:`verdicts` as rows of :data:`ROW`."""
    return gather(verdicts(facts), ROW)
