"""What a capture says about the cluster it came from: every kind of harm seen, and why.

A :class:`Tally` counts verdict rows as they go by (fields by layer, depth and label; harmful
fields by flow, source and link; which context confirmed each cause; what the inner checksum
of a damaged tunnel packet says). :func:`diagnose` turns a tally, and the capture-wide tests
of its files (:mod:`vxsum.verdicts.stats`), into :class:`Finding` paragraphs: confirmed
causes with their evidence and fixes (kernel-model.md sections c, f), what is only a
hypothesis and what would confirm it, damage of unknown cause and where it concentrates, and
the harmless sender-side artefacts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..frames.facts import Columns, layer_code, status_code
from ..frames.fields import LAYERS, Status
from .flows import Groups
from .labels import HARMLESS, LABELS, Label
from .stats import ALPHA, CHANCE_FIT, Outcome
from .text import confirmed_by_codes, hypothesis_codes

__all__ = ["Diagnosis", "Finding", "Tally", "diagnose"]

Rows = npt.NDArray[np.void]

_FIX_KUBE_PROXY = (
    "kube-proxy v1.16.13 / v1.17.9 / v1.18.6 or later (PR 92035: unmark before MASQUERADE)"
)
_CAUSES: dict[Label, tuple[str, tuple[str, ...]]] = {
    Label.NAT_ZERO_MANGLED: (
        "Outer VXLAN checksums of 0 ('no checksum') were turned into 0xFFFF by NAT: the outer "
        "packets were masqueraded a second time (kube-proxy's 0x4000 mark survived "
        "encapsulation) on a kernel without 'netfilter: nat: never update the UDP checksum "
        "when it's 0', with the VXLAN outer checksum off and checksum offload on the VXLAN "
        "device (the inner checksum pending). Receivers drop these packets.",
        (
            "kernel 5.7 or later, or 5.6.13 / 5.4.41 / 4.19.123 / 4.14.181",
            _FIX_KUBE_PROXY,
            "ethtool -K flannel.1 tx-checksum-ip-generic off (vxlan.calico for Calico)",
        ),
    ),
    Label.NAT_STALE: (
        "Outer VXLAN checksums were left stale by a second MASQUERADE of the outer packets "
        "(a source-port rewrite that did not update them) while the inner checksum was "
        "pending (local checksum offload). This happens on every kernel, fixed or not, when "
        "the VXLAN outer checksum is on. Receivers drop these packets (UdpInCsumErrors).",
        (
            _FIX_KUBE_PROXY,
            "ethtool -K flannel.1 tx-checksum-ip-generic off (Calico's Felix does this for "
            "vxlan.calico on kernels before 5.7)",
        ),
    ),
    Label.ILLEGAL_ZERO: (
        "Zero UDP checksums over IPv6, where RFC 8200 forbids them: receivers drop these "
        "packets unless the port allows zero checksums (RFC 6935/6936: "
        "udp6zerocsumrx on the receiving tunnel device; give --ipv6-zero-ports).",
        ("udp6zerocsumtx off on the sending tunnel device, or udp6zerocsumrx on the receiver",),
    ),
    Label.NEGATIVE_ZERO: (
        "0x0000 in UDP over IPv6 where 0xFFFF is due: a sender that wrote its computed 0 as "
        "0 rather than 0xFFFF (RFC 768). Receivers take it for no checksum, which IPv6 forbids.",
        (),
    ),
}
_HARMLESS: dict[Label, str] = {
    Label.OFFLOAD_SEED: (
        "Checksums holding the sender's seed for its NIC: the capture was taken on the "
        "sending host before offload filled them in. Harmless; tcpdump calls them bad."
    ),
    Label.LCO_PENDING: (
        "Outer VXLAN checksums computed by local checksum offload, right once the NIC fills "
        "the inner checksum: a sender-side capture artefact. Harmless."
    ),
}
_WRONG, _WRONGS = "wrong outer tunnel checksum", "wrong outer tunnel checksums"
_UDP = layer_code("udp")
_GOOD = status_code(Status.GOOD)
_CORRUPT = LABELS.index(Label.CORRUPT)
_HARMFUL = np.array([label not in HARMLESS for label in LABELS])


@dataclass
class Tally:
    """Counts of verdict rows, everything a diagnosis needs (added up across files)."""

    frames: int = 0
    fields: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    """Checksum fields by (layer, depth, label)."""
    flows: Groups = field(default_factory=Groups)
    """Harmful fields by (label, flow); by source address and by link too."""
    confirmed: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Fields with a cause a context confirmed, by (label, what confirmed it)."""
    hypotheses: Counter[str] = field(default_factory=Counter)
    """``corrupt`` fields by the cause their bytes fit (unconfirmed)."""
    tunnel_damage: Counter[str] = field(default_factory=Counter)
    """``corrupt`` tunnel checksums by their inner checksum: right, wrong, or none."""

    def count(self, table: Rows | Columns, which: npt.NDArray[np.bool_] | None = None) -> None:
        """Count fields by (layer, depth, label) only (rows a person need not look at)."""
        code = (table["layer"].astype(np.int64) * 256 + table["depth"]) * 256 + table["label"]
        if which is not None:
            code = code[which]
        if not len(code):
            return
        counts = np.bincount(code)
        values = np.flatnonzero(counts)
        for v, c in zip(values.tolist(), counts[values].tolist(), strict=True):
            layer, depth, label = LAYERS[v >> 16], (v >> 8) & 0xFF, str(LABELS[v & 0xFF])
            self.fields[(layer, depth, label)] += c

    def add(self, rows: Rows) -> None:
        """Count everything about ``rows``."""
        self.count(rows)
        bad = np.flatnonzero(_HARMFUL[rows["label"]])
        self.flows.add(rows, bad)
        names, index = confirmed_by_codes(rows)
        some = index >= 0  # counted from the codes: no Python value per row
        pairs = _pair_counts(rows["label"][some], index[some], len(names))
        for (label, k), n in pairs:
            self.confirmed[(str(LABELS[label]), names[k])] += n
        names, index = hypothesis_codes(rows)
        counts = np.bincount(index[index >= 0], minlength=len(names)).tolist()
        self.hypotheses.update({name: n for name, n in zip(names, counts, strict=True) if n})
        outer = rows[(rows["label"] == _CORRUPT) & rows["tunnel"] & (rows["layer"] == _UDP)]
        inner = np.where(outer["inner_at"] < 0, "none", "wrong")
        inner[(outer["inner_at"] >= 0) & (outer["inner_status"] == _GOOD)] = "right"
        self.tunnel_damage.update(inner.tolist())

    def update(self, other: Tally) -> None:
        """Add another tally (of another file) to this one."""
        self.frames += other.frames
        self.flows.update(other.flows)
        for name in ("fields", "confirmed", "hypotheses"):
            getattr(self, name).update(getattr(other, name))
        self.tunnel_damage.update(other.tunnel_damage)

    def labels(self) -> Counter[str]:
        """Fields by label."""
        out: Counter[str] = Counter()
        for (_, _, label), n in self.fields.items():
            out[label] += n
        return out


def _pair_counts(
    first: npt.NDArray[np.integer], second: npt.NDArray[np.intp], size: int
) -> list[tuple[tuple[int, int], int]]:
    """How often each (first, second) pair occurs, ``0 <= second < size``."""
    if not len(second):
        return []
    counts = np.bincount(first.astype(np.int64) * size + second)
    found = np.flatnonzero(counts)
    return [
        (divmod(v, size), c) for v, c in zip(found.tolist(), counts[found].tolist(), strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Finding:
    """One paragraph of a diagnosis: a kind of harm (or artefact) and its evidence."""

    label: Label
    count: int
    harmless: bool
    explanation: str
    fixes: tuple[str, ...]
    confirmed: bool = True
    """False for a cause that is only a hypothesis, and for damage of unknown cause."""

    def heading(self) -> str:
        """'nat-stale (6 fields)', 'nat-stale? (1 field, unconfirmed)', 'corrupt (3 fields,
        cause unknown)', 'offload-seed (1,024 fields, harmless)': how the text summary and
        the HTML page head the finding."""
        fields = f"{self.count:,} field" + ("" if self.count == 1 else "s")
        if self.harmless:
            return f"{self.label} ({fields}, harmless)"
        if self.label == Label.CORRUPT:
            return f"{self.label} ({fields}, cause unknown)"
        if not self.confirmed:
            return f"{self.label}? ({fields}, unconfirmed)"
        return f"{self.label} ({fields})"


@dataclass
class Diagnosis:
    """What a set of frames says: field counts by label and the findings."""

    frames: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "labels": dict(self.labels),
            "findings": [
                {
                    "label": str(f.label),
                    "count": f.count,
                    "harmless": f.harmless,
                    "confirmed": f.confirmed,
                    "explanation": f.explanation,
                    "fixes": list(f.fixes),
                }
                for f in self.findings
            ],
        }


def _odds(p: float) -> str:
    """A probability as a network engineer would say it."""
    if p <= 0:
        return "never"
    if p < 1e-9:
        return "less than once in a billion captures"
    if p < 0.5:
        return f"about once in {round(1 / p):,} captures"
    return f"in {round(100 * p)}% of captures"


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _about(x: float) -> str:
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


def _stale(tally: Tally, count: int, tests: Sequence[Outcome]) -> str:
    """The evidence of the confirmed ``nat-stale`` fields, then the cause."""
    by = Counter(
        {source: n for (label, source), n in tally.confirmed.items() if label == "nat-stale"}
    )
    parts = []
    if by["flow"]:
        parts.append(
            f"{by['flow']} by packets of the same outer flow agreeing on the port before NAT"
        )
    if by["conntrack"]:
        parts.append(f"{by['conntrack']} by the sending node's conntrack table")
    if by["before-nat"]:
        parts.append(f"{by['before-nat']} by the capture taken before NAT")
    if by["capture"]:
        passed = [t for t in tests if t.confirms]
        worst = max(t.p_value for t in passed) if passed else 0.0
        hits, damaged = sum(t.hits for t in passed), sum(t.damaged for t in passed)
        expected = sum(t.expected for t in passed)
        parts.append(
            f"{by['capture']} by the capture as a whole: {hits} of its {damaged} unexplained "
            f"bad tunnel checksums fit a source-port rewrite on a packet that opens its outer "
            f"flow and its inner connection, where random damage would make about "
            f"{expected:.1f} do so; damage that strikes at random would look like this "
            f"{_odds(worst)} (p = {worst:.2g}, confirmed at p <= {ALPHA})"
        )
    return f"{count} confirmed: " + "; ".join(parts) + ". " + _CAUSES[Label.NAT_STALE][0]


def _hypothesis(count: int, damaged: int) -> str:
    expected = CHANCE_FIT * damaged
    return (
        f"{count} of the {_plural(damaged, _WRONG, _WRONGS)} fit a source-port rewrite "
        "(right for another source port in the ephemeral range), as a second MASQUERADE of "
        "the outer packets would leave them; but random damage fits "
        f"one about {round(100 * CHANCE_FIT)}% of the time (about {_about(expected)} of "
        f"{damaged}), and nothing confirmed these: no two packets of one outer flow agree on "
        "the port, and the capture as a whole does not single them out. To confirm or rule it "
        "out, give --conntrack (conntrack -L from the sending node) or --before-nat (a capture "
        "of the same traffic taken before NAT, e.g. NFLOG in mangle POSTROUTING); kube-proxy "
        "before PR 92035 with the VXLAN outer checksum on is what would cause it."
    )


def _damage(tally: Tally, count: int, damaged_outer: int) -> str:
    """Damage of unknown cause: where it is, what it says, what to check."""
    where = sorted(
        (
            (n, layer, depth)
            for (layer, depth, label), n in tally.fields.items()
            if label == "corrupt"
        ),
        reverse=True,
    )
    places = ", ".join(f"{layer} at depth {depth}: {n}" for n, layer, depth in where[:6])
    text = f"{_fields(count)} wrong with no known cause ({places})."
    right, wrong = tally.tunnel_damage["right"], tally.tunnel_damage["wrong"]
    fits = tally.hypotheses.get(str(Label.NAT_STALE), 0)
    if damaged_outer:
        carry = "carries" if right == 1 else "carry"
        text += (
            f" Of the {_plural(damaged_outer, _WRONG, _WRONGS)}, {right} {carry} a right inner "
            "checksum (the tunnel payload arrived intact: the outer header was changed after "
            "encapsulation, or the sender wrote a wrong outer checksum) and "
            f"{wrong} a wrong one too (damage on the path: a cable, NIC or switch corrupting "
            "bits)."
        )
        if fits:
            text += f" {fits} of them fit a source-port rewrite (see above)."
    flows = tally.flows
    if flows.distinct(label=Label.CORRUPT):
        ((_, src), n), ((_, link), m) = (
            flows.top(1, label=Label.CORRUPT, by=by)[0] for by in ("source", "link")
        )
        sources, links = (flows.distinct(label=Label.CORRUPT, by=by) for by in ("source", "link"))
        text += f" {round(100 * n / count)}% come from {src} ("
        text += _plural(sources, "source", "sources") + " in all)"
        text += f"; {round(100 * m / count)}% travel {link} ({_plural(links, 'link', 'links')})"
        k = flows.top(1, label=Label.CORRUPT)[0][1]
        corrupt_flows = flows.distinct(label=Label.CORRUPT)
        text += f"; the most hit flow has {k} ({_plural(corrupt_flows, 'flow', 'flows')})."
        if n / count >= 0.8:
            text += " Concentrated on one host: check its NIC (offload, firmware) and its link."
        elif m / count >= 0.8:
            text += " Concentrated on one link: check that path (cable, switch port, middlebox)."
        else:
            text += (
                " Spread over hosts and links: look for a device they share (a switch, a "
                "middlebox that rewrites headers)."
            )
    return text


def diagnose(tally: Tally, tests: Sequence[Outcome] = ()) -> Diagnosis:
    """The findings of a capture (or several) from its tally and capture-wide tests."""
    labels = tally.labels()
    diagnosis = Diagnosis(frames=tally.frames, labels=labels)
    out = diagnosis.findings
    for label in (Label.NAT_ZERO_MANGLED, Label.NAT_STALE, Label.ILLEGAL_ZERO, Label.NEGATIVE_ZERO):
        count = labels.get(str(label), 0)
        if not count:
            continue
        text, fixes = _CAUSES[label]
        if label == Label.NAT_STALE:
            text = _stale(tally, count, tests)
        out.append(Finding(label, count, False, text, fixes))
    corrupt = labels.get(str(Label.CORRUPT), 0)
    damaged_outer = sum(tally.tunnel_damage.values())
    stale_fits = tally.hypotheses.get(str(Label.NAT_STALE), 0)
    if stale_fits:
        out.append(
            Finding(
                Label.NAT_STALE,
                stale_fits,
                False,
                _hypothesis(stale_fits, damaged_outer),
                (),
                False,
            )
        )
    if corrupt:
        out.append(
            Finding(
                Label.CORRUPT, corrupt, False, _damage(tally, corrupt, damaged_outer), (), False
            )
        )
    for label, text in _HARMLESS.items():
        count = labels.get(str(label), 0)
        if count:
            out.append(Finding(label, count, True, text, ()))
    return diagnosis
