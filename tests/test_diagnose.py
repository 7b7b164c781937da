"""Flow evidence confirms or rejects 'stale after a port rewrite'; the diagnosis names fixes."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import vxsum
from vxsum.kernel.scenario import Cluster, run
from vxsum.verdicts import Context, Evidence, Label, classify_stream, text
from vxsum.verdicts.diagnosis import Tally
from vxsum.verdicts.labels import LABELS, ROW


def frames(cluster: Cluster, seed: int = 0) -> list[vxsum.Frame]:
    return [vxsum.parse(p.wire) for p in run(cluster, "tcp", seed=seed).packets]


def outer(verdicts: list[vxsum.Verdict]) -> vxsum.Verdict:
    return next(v for v in verdicts if v.layer == "udp" and v.depth == 0)


def test_retransmissions_of_one_outer_flow_confirm_the_pre_nat_port() -> None:
    # No txrehash: every SYN reuses the masqueraded outer flow until it expires (63 s).
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False, txrehash=False)
    verdicts, diagnosis = classify_stream(frames(cluster))
    stale = [outer(v) for v in verdicts if outer(v).verdict == Label.NAT_STALE]
    assert len(stale) == 6  # SYNs at 0, 1, 3, 7, 15, 31 s; the one at 63 s is not NATed
    assert all(v.detail.startswith("confirmed by 6 packets") for v in stale)
    assert len({v.pre_nat_port for v in stale}) == 1
    finding = next(f for f in diagnosis.findings if f.label == Label.NAT_STALE)
    assert not finding.harmless and any("PR 92035" in fix for fix in finding.fixes)
    json.dumps(diagnosis.to_dict())


def test_one_packet_alone_is_only_a_hypothesis() -> None:
    """One bad SYN, then a good retransmission from another outer port (txrehash): nothing
    confirms the rewrite, so the field is damage of unknown cause that fits one."""
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False)  # txrehash: 1 s
    verdicts, diagnosis = classify_stream(frames(cluster))
    first = outer(verdicts[0])
    assert first.verdict == Label.CORRUPT and first.context == Context.NONE
    assert first.evidence == Evidence.STALE and first.row["port"] > 0
    assert first.detail.startswith("not explained: right for source port")
    assert Label.NAT_STALE not in {f.label for f in diagnosis.findings if f.confirmed}
    hypothesis = next(f for f in diagnosis.findings if f.label == Label.NAT_STALE)
    assert not hypothesis.confirmed and "--conntrack" in hypothesis.explanation


def test_disagreeing_ports_are_not_stale() -> None:
    cluster = Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False, txrehash=False)
    wires = [bytearray(p.wire) for p in run(cluster, "tcp").packets[:2]]
    wires[1][40] ^= 0x01  # the outer checksum's high byte: implies a port 256 away
    verdicts, _ = classify_stream([vxsum.parse(bytes(w)) for w in wires])
    for v in verdicts:  # both still look stale alone, but they cannot both be
        assert outer(v).verdict == Label.CORRUPT
        assert outer(v).context == Context.FLOW_CONTRADICTS and outer(v).row["count"] == 1
        assert "implies another pre-NAT port" in outer(v).detail


def test_pre_fix_capture_diagnosis_and_harmless_sender_capture() -> None:
    _, broken = classify_stream(frames(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False)))
    found = {f.label: f for f in broken.findings}
    assert found[Label.NAT_ZERO_MANGLED].count == 1
    assert any("5.4.41" in fix for fix in found[Label.NAT_ZERO_MANGLED].fixes)
    sender = [vxsum.parse(p.sender) for p in run(Cluster.flannel("6.18", "1.18.6")).packets]
    _, harmless = classify_stream(sender)
    assert {f.label for f in harmless.findings} == {Label.OFFLOAD_SEED, Label.LCO_PENDING}
    assert all(f.harmless for f in harmless.findings)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(range(len(LABELS))),
            st.sampled_from([int(e) for e in Evidence]) | st.just(int(Evidence.STALE)),
            st.sampled_from([int(c) for c in Context]) | st.sampled_from([0, 2]),
        ),
        max_size=40,
    )
)
def test_a_tally_counts_what_the_row_texts_say(codes: list[tuple[int, int, int]]) -> None:
    """The tally counts confirmations and hypotheses from codes; the counts are those of
    the row texts the writers show (``confirmed_by``, ``hypothesis``)."""
    rows = np.zeros(len(codes), dtype=ROW)
    for name, values in zip(
        ("label", "evidence", "context"), zip(*codes, strict=True), strict=False
    ):
        rows[name] = values
    tally = Tally()
    tally.add(rows)
    labels = [str(LABELS[c]) for c in rows["label"].tolist()]
    confirmed = Counter(
        (label, by) for label, by in zip(labels, text.confirmed_by(rows), strict=True) if by
    )
    assert tally.confirmed == confirmed
    assert tally.hypotheses == Counter(h for h in text.hypotheses(rows) if h is not None)
