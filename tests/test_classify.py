"""The classifier gives every frame the kernel model makes the cause the model knows.

For generated clusters (both sides of the NAT fix and of PR 92035, every offload setting),
at the sender's tap and on the wire, the outer UDP and inner L4 fields get exactly the
label their mechanism implies. A stale outer checksum is the exception that proves the
contract: one frame alone only fits a rewrite (``corrupt``, hypothesis ``nat-stale``, the
right port before NAT); with the conntrack table the model's node A would show, it is
``nat-stale``, confirmed by conntrack.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from contract import CONTRACT
from hypothesis import given
from hypothesis import strategies as st

import vxsum
from vxsum.kernel import Conntrack
from vxsum.kernel.scenario import Cluster, run
from vxsum.testing.strategies import clusters, seeds
from vxsum.verdicts import Context, Evidence, Label, classify, classify_stream


def truth(cluster: Cluster, proto: str, natted: bool, filled: bool) -> tuple[Label, Label]:
    """(outer UDP label, inner L4 label) from the settings that made the packet."""
    pending = cluster.vxlan_tx_csum and (proto == "tcp" or cluster.underlay_tx_csum)
    if not cluster.outer_udp_csum:
        pre_fix = not cluster.kernel.nat_skips_zero_udp_checksum
        outer = Label.NAT_ZERO_MANGLED if natted and pre_fix and pending else Label.NO_CHECKSUM
    elif pending:
        outer = Label.NAT_STALE if natted else Label.GOOD if filled else Label.LCO_PENDING
    else:
        outer = Label.GOOD if filled else Label.OFFLOAD_SEED
    inner = Label.OFFLOAD_SEED if pending and not filled else Label.GOOD
    return outer, inner


@given(clusters(), seeds(), st.sampled_from(["tcp", "udp"]))
def test_model_frames_get_their_true_cause(cluster: Cluster, seed: int, proto: str) -> None:
    scenario = run(cluster, proto, seed=seed)
    conntrack = Conntrack.parse(scenario.conntrack())
    for p in scenario.packets:
        taps = {"sender": (p.sender, not cluster.underlay_tx_csum)}
        taps["wire"] = (p.wire, not cluster.underlay_is_veth or not cluster.underlay_tx_csum)
        for tap, (frame, filled) in taps.items():
            by_layer = {(v.depth, v.layer): v for v in classify(frame)}
            (told,), _ = classify_stream([vxsum.parse(frame)], conntrack=conntrack)
            with_context = {(v.depth, v.layer): v for v in told}
            outer, inner = truth(cluster, proto, p.outer_nat, filled)
            assert by_layer[(0, "ipv4")].verdict == Label.GOOD
            assert by_layer[(1, "ipv4")].verdict == Label.GOOD
            got = by_layer[(0, "udp")]
            if outer == Label.NAT_STALE:  # one frame: a hypothesis, with the port before NAT
                assert got.verdict == Label.CORRUPT and got.evidence == Evidence.STALE, got
                assert got.row["port"] == int.from_bytes(p.prenat[34:36], "big")
                told_outer = with_context[(0, "udp")]
                assert told_outer.verdict == Label.NAT_STALE, (tap, told_outer)
                assert told_outer.context == Context.CONNTRACK_STALE
            else:
                assert got.verdict == outer, (tap, got)
                assert with_context[(0, "udp")].verdict == outer
            assert by_layer[(1, proto)].verdict == inner, (tap, by_layer[(1, proto)])


def test_verdicts_serialise_to_json() -> None:
    p = run(Cluster.flannel("5.4.40", "1.18.5", udp_csum=False)).packets[0]
    rows = [json.loads(json.dumps(v.to_dict())) for v in classify(p.wire)]
    outer = next(r for r in rows if r["layer"] == "udp")
    assert outer["verdict"] == "nat-zero-mangled" and outer["harmless"] is False
    assert outer["value"] == 0xFFFF and isinstance(outer["expected"], int)
    assert set(rows[0]) == {
        "layer",
        "depth",
        "quoted",
        "value",
        "expected",
        "verdict",
        "harmless",
        "detail",
        "confirmed_by",
        "hypothesis",
        "port_before_nat",
        *CONTRACT[CONTRACT.index("src") :],
    }


def test_plain_corruption_is_corrupt() -> None:
    p = run(Cluster.flannel("6.18", "1.18.6", underlay_tx_csum=False)).packets[0]
    frame = bytearray(p.wire)
    frame[-1] ^= 0x5A  # flip bits in the inner TCP header's last byte
    labels = {(v.depth, v.layer): v.verdict for v in classify(bytes(frame))}
    assert labels[(1, "tcp")] == Label.CORRUPT
    assert labels[(0, "udp")] == Label.CORRUPT  # one frame alone names no rewrite


def test_judged_in_batches_as_frame_by_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """classify_stream judges frames _BATCH at a time; the verdicts and the diagnosis are
    those of judging them one frame at a time, across batch boundaries, with flow evidence
    (stale flows among random damage) and with a NAT context given."""
    import vxsum.verdicts.verdict as verdict
    from vxsum.capture import iter_records
    from vxsum.testing.captures import stale_capture

    path = tmp_path / "stale.pcap"
    stale_capture(path, stale_flows=20, packets=2500, seed=4)
    frames = [vxsum.parse(r.data, r.linktype) for r in iter_records(path)]
    assert len(frames) > 2 * verdict._BATCH
    batched, diagnosis = classify_stream(frames)
    monkeypatch.setattr(verdict, "_BATCH", 1)
    single, single_diagnosis = classify_stream(frames)
    # a NAT context looks at the frames themselves, each in its batch
    unrelated = Conntrack.parse(
        "udp 17 29 src=192.0.2.1 dst=192.0.2.2 sport=1 dport=8472 [UNREPLIED] "
        "src=192.0.2.2 dst=192.0.2.1 sport=8472 dport=1 mark=16384 use=1"
    )
    with_context = classify_stream(frames, conntrack=unrelated)
    monkeypatch.setattr(verdict, "_BATCH", 1000)
    assert classify_stream(frames, conntrack=unrelated) == with_context
    assert len(batched) == len(single) == len(frames)
    assert batched == single and list(batched) == list(single)
    assert diagnosis == single_diagnosis
    labels = {v.verdict for frame in batched for v in frame}
    assert {Label.NAT_STALE, Label.CORRUPT} <= labels  # both kinds of evidence at work
    assert batched[-1] == single[len(frames) - 1] and batched[1:3] == [single[1], single[2]]
    with pytest.raises(IndexError):
        batched[len(frames)]


def test_no_frames() -> None:
    verdicts, diagnosis = classify_stream([])
    assert len(verdicts) == 0 and list(verdicts) == [] and diagnosis.frames == 0


_STREAM_PEAK = """
import sys
import vxsum
from vxsum.capture.reader import iter_records
from vxsum.verdicts import classify_stream
frames = (vxsum.parse(r.data, r.linktype) for r in iter_records(sys.argv[1]))
verdicts, _ = classify_stream(frames)
assert len(verdicts) == int(sys.argv[2])
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_classify_stream_memory_does_not_grow_with_the_stream(tmp_path: Path) -> None:
    """Issue 16: classify_stream kept every frame's rows in memory (25,000 VXLAN frames
    100 MB, 100,000 frames 227 MB: 1.7 KB a frame). Its rows now wait on disk and are
    mapped from there: 3.5 MB more for 100,000 frames than for 25,000."""
    import subprocess
    import sys

    from vxsum.testing.captures import vxlan_capture

    peaks = []
    for n in (16_000, 64_000):  # past the first 8 MiB block, where start-up costs settle
        path = tmp_path / f"{n}.pcap"
        vxlan_capture(path, n)
        out = subprocess.run(
            [sys.executable, "-c", _STREAM_PEAK, str(path), str(n)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        peaks.append(int(out.split()[-1]) * 1024)
    per_frame = (peaks[1] - peaks[0]) / 48_000
    assert per_frame < 200, f"{per_frame:.0f} bytes a frame"


def test_frame_verdicts_are_those_of_each_frame_in_order() -> None:
    """The mapped rows give each frame its own fields, frames without fields included."""
    from importlib.resources import files

    from vxsum.capture.reader import iter_records

    path = files("vxsum") / "data" / "flannel-6.18-udpcsum-wire.pcap"
    frames = [vxsum.parse(r.data, r.linktype) for r in iter_records(str(path))]
    frames.insert(1, vxsum.parse(b"\x00" * 14))  # a frame with no checksum field
    verdicts, _ = classify_stream(frames)
    assert len(verdicts) == len(frames) and verdicts[1] == []
    frame_numbers = verdicts.rows["frame"].tolist()
    assert frame_numbers == sorted(frame_numbers)
    for k, found in enumerate(verdicts):
        assert [v.layer for v in found] == [v.layer for v in classify(frames[k])]
    assert verdicts[-1] == verdicts[len(frames) - 1]
    with pytest.raises(IndexError):
        verdicts[len(frames)]


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts /proc/self/fd")
def test_kept_results_of_small_streams_hold_no_file() -> None:
    """A mapping holds a file descriptor: results of a few frames are read into memory,
    so a program that keeps many (one frame at a time, say) runs out of nothing."""
    from importlib.resources import files

    from vxsum.capture.reader import iter_records

    path = files("vxsum") / "data" / "flannel-6.18-udpcsum-wire.pcap"
    frame = vxsum.parse(next(iter(iter_records(str(path)))).data)
    before = len(list(Path("/proc/self/fd").iterdir()))
    kept = [classify_stream([frame])[0] for _ in range(200)]
    assert len(list(Path("/proc/self/fd").iterdir())) < before + 10
    assert all(k[0] == kept[0][0] for k in kept)
