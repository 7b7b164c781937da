"""What a capture says about the cluster it came from: the mechanisms seen and their fixes.

:func:`diagnose` turns the count of checksum fields by label into :class:`Finding` objects:
which mechanism, what it points to (kernel before or after the NAT fix, kube-proxy before or
after PR 92035, the VXLAN outer checksum on or off, offload on the VXLAN device) and the fixes
with their versions (kernel-model.md sections c, f); sender-side artefacts are harmless.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .labels import Label

__all__ = ["Diagnosis", "Finding", "diagnose"]

_FINDINGS: dict[Label, tuple[str, tuple[str, ...]]] = {
    Label.NAT_ZERO_MANGLED: (
        "Outer VXLAN checksums of 0 ('no checksum') were turned into 0xFFFF by NAT: the outer "
        "packets were masqueraded a second time (kube-proxy's 0x4000 mark survived "
        "encapsulation) on a kernel without 'netfilter: nat: never update the UDP checksum "
        "when it's 0', with the VXLAN outer checksum off and checksum offload on the VXLAN "
        "device (the inner checksum pending). Receivers drop these packets.",
        (
            "kernel 5.7 or later, or 5.6.13 / 5.4.41 / 4.19.123 / 4.14.181",
            "kube-proxy v1.16.13 / v1.17.9 / v1.18.6 or later (PR 92035: unmark before MASQUERADE)",
            "ethtool -K flannel.1 tx-checksum-ip-generic off (vxlan.calico for Calico)",
        ),
    ),
    Label.NAT_STALE: (
        "Outer VXLAN checksums were left stale by a second MASQUERADE of the outer packets "
        "(a source-port rewrite that did not update them) while the inner checksum was "
        "pending (local checksum offload). This happens on every kernel, fixed or not, when "
        "the VXLAN outer checksum is on. Receivers drop these packets (UdpInCsumErrors).",
        (
            "kube-proxy v1.16.13 / v1.17.9 / v1.18.6 or later (PR 92035: unmark before MASQUERADE)",
            "ethtool -K flannel.1 tx-checksum-ip-generic off (Calico's Felix does this for "
            "vxlan.calico on kernels before 5.7)",
        ),
    ),
    Label.OFFLOAD_SEED: (
        "Checksums holding the sender's seed for its NIC: the capture was taken on the "
        "sending host before offload filled them in. Harmless; tcpdump calls them bad.",
        (),
    ),
    Label.LCO_PENDING: (
        "Outer VXLAN checksums computed by local checksum offload, right once the NIC fills "
        "the inner checksum: a sender-side capture artefact. Harmless.",
        (),
    ),
}


_UNCONFIRMED = (
    "Unconfirmed: no outer flow has two of these agreeing on the port before NAT without "
    "right checksums in the same flow, and no conntrack table or capture before NAT was "
    "given; about 43% of random corruptions of an outer checksum also point to a port in "
    "the ephemeral range. If confirmed: "
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One mechanism seen in a capture."""

    label: Label
    count: int
    harmless: bool
    explanation: str
    fixes: tuple[str, ...]


@dataclass
class Diagnosis:
    """What a set of frames says: field counts by label and the mechanisms seen."""

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
                    "explanation": f.explanation,
                    "fixes": list(f.fixes),
                }
                for f in self.findings
            ],
        }


def diagnose(labels: Counter[str], *, frames: int, stale_confirmed: int) -> Diagnosis:
    """The capture-level diagnosis from the count of fields by label.

    ``stale_confirmed`` says how many ``nat-stale`` fields flow evidence or context
    confirmed: when none was, the finding says it rests on single packets.
    """
    diagnosis = Diagnosis(frames=frames, labels=labels)
    for label, (text, fixes) in _FINDINGS.items():
        count = labels.get(str(label), 0)
        if not count:
            continue
        if label == Label.NAT_STALE and not stale_confirmed:
            text = _UNCONFIRMED + text
        elif label == Label.NAT_STALE:
            text = f"{stale_confirmed} of these {count} confirmed by flow or context. " + text
        harmless = label in (Label.OFFLOAD_SEED, Label.LCO_PENDING)
        diagnosis.findings.append(Finding(label, count, harmless, text, fixes))
    return diagnosis
