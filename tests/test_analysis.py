"""analyze_file and the row writers: every packet and field accounted for, in every format."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from contract import CONTRACT, TABLE
from hypothesis import given, settings
from hypothesis import strategies as st

import vxsum
from vxsum.capture import write_pcap
from vxsum.cli import main
from vxsum.cli.repro import TAPS as _TAPS
from vxsum.kernel.repro import TAPS
from vxsum.kernel.scenario import Cluster, run
from vxsum.report.analysis import FileReport, Summary, analyze_file
from vxsum.report.writers import CsvWriter, JsonlWriter
from vxsum.verdicts import ROW, Evidence, classify_stream
from vxsum.verdicts import text as evidence


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frames of several clusters at several taps, plus ones outside the common layout."""
    frames: list[tuple[float, bytes]] = []
    for cluster in (
        Cluster.flannel("5.4.40", "1.18.5", udp_csum=False),
        Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False),
        Cluster.flannel("6.18", "1.18.5"),
        Cluster.calico("6.1", "1.18.6", underlay_tx_csum=False),
    ):
        for tap in TAPS:
            for proto in ("tcp", "udp"):
                frames += [(p.time, getattr(p, tap)) for p in run(cluster, proto).packets]
    frames.append((9.0, bytes(60)))  # not IP: parsed on its own, no checksum fields
    path = tmp_path_factory.mktemp("mixed") / "mixed.pcap"
    write_pcap(path, [f for f in frames if f[1]])
    return path


def _reference(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(frame, row) for every field, from the per-frame parser and classify_stream."""
    records, frames = [], []
    for r in vxsum.iter_records(path):
        try:
            frames.append(vxsum.parse(bytes(r.data), r.linktype))
        except vxsum.ParseError:  # analyze lists it as a record not parsed
            continue
        records.append(r)
    verdicts, _ = classify_stream(frames)
    out = []
    for r, vs in zip(records, verdicts, strict=True):
        # a verdict knows its field; where its frame is comes from the record
        where = {"time": r.timestamp, "record_offset": r.offset}
        where["display_filter"] = f"frame.number == {r.number}"
        for v in vs:
            row = v.to_dict() | where
            out.append((r.number, {k: row[k] for k in CONTRACT[2:]} | {"q": v.quoted}))
    return out


def _parses(data: bytes) -> bool:
    try:
        vxsum.parse(data)
    except vxsum.ParseError:
        return False
    return True


def _rows(path: Path, all_fields: bool) -> tuple[FileReport, list[dict[str, object]]]:
    buf = io.BytesIO()
    writer = JsonlWriter(buf)
    report = analyze_file(path, all_fields=all_fields, sink=writer)
    writer.close()
    got = [json.loads(line) for line in buf.getvalue().decode().splitlines()]
    return report, got


@pytest.mark.parametrize("all_fields", [False, True])
def test_rows_equal_the_per_frame_classifier(mixed: Path, all_fields: bool) -> None:
    report, got = _rows(mixed, all_fields)
    want = [
        (n, row)
        for n, row in _reference(mixed)
        if all_fields or row["verdict"] not in ("good", "no-checksum")
    ]
    assert [(r["frame"], {k: r[k] for k in CONTRACT[2:]}) for r in got] == [
        (n, {k: row[k] for k in CONTRACT[2:]}) for n, row in want
    ]
    assert all(list(r)[: len(CONTRACT)] == CONTRACT and r["file"] == str(mixed) for r in got)
    assert report.rows == len(got)
    counts = Counter(
        (str(row["layer"]), int(str(row["depth"])), str(row["verdict"]))
        for _, row in _reference(mixed)
    )
    assert report.fields == counts
    assert report.packets == len(list(vxsum.iter_records(mixed)))


def test_summary_adds_reports(mixed: Path) -> None:
    one = analyze_file(mixed)
    total = Summary.of([one, one])
    assert total.packets == 2 * one.packets
    assert sum(total.fields.values()) == 2 * sum(one.fields.values())
    assert json.loads(json.dumps(total.to_dict()))["files"] == 2


def test_jsonl_writer_matches_json_dumps() -> None:
    rows = np.zeros(5, dtype=ROW)
    rows["frame"] = [1, 2, 3, 4, 5]
    rows["expected"] = [-1, 0xFFFF, 7, 9, 0]
    rows["quoted"] = [False, True, False, False, False]
    rows["label"] = [8, 0, 9, 0, 1]  # unverifiable, good, corrupt, good, no-checksum
    rows["evidence"] = [Evidence.UNVERIFIABLE, 0, Evidence.UNEXPLAINED, 0, Evidence.NO_CHECKSUM]
    rows["reason"] = [1, 0, 0, 0, 0]  # snaplen
    buf = io.BytesIO()
    writer = JsonlWriter(buf)
    writer('a "b\\é".pcap', rows)
    writer.close()
    lines = buf.getvalue().decode().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [p["frame"] for p in parsed] == [1, 2, 3, 4, 5]
    assert [p["expected"] for p in parsed] == [None, 0xFFFF, 7, 9, 0]
    assert parsed[1]["quoted"] is True and "quoted" not in parsed[0]
    assert parsed[4]["detail"] == evidence.NO_CHECKSUM and parsed[3]["detail"] == ""
    assert parsed[0]["detail"] == "cannot be checked from this capture: snaplen"
    assert parsed[2]["detail"] == evidence.CORRUPT and parsed[0]["file"] == 'a "b\\é".pcap'
    assert all(line == json.dumps(p) for line, p in zip(lines, parsed, strict=True))


def test_csv_writer_columns() -> None:
    rows = np.zeros(2, dtype=ROW)
    rows["expected"] = [-1, 5]
    buf = io.BytesIO()
    writer = CsvWriter(buf)
    writer("f.pcap", rows)
    writer.close()
    table = list(csv.reader(io.StringIO(buf.getvalue().decode(), newline="")))
    assert table[0] == TABLE
    assert table[1][5] == "" and table[2][5] == "5"


@pytest.mark.parametrize("all_fields", [False, True])
def test_csv_is_the_jsonl_rows_as_the_csv_module_writes_them(
    mixed: Path, tmp_path: Path, all_fields: bool
) -> None:
    """csv formats most rows with numpy templates: each line must be what
    ``csv.writer`` writes for the row's values (from the jsonl rows, which
    test_jsonl_writer_matches_json_dumps holds to ``json.dumps``), with a file name
    that needs quoting."""
    odd = tmp_path / 'a,"b" c.pcap'
    odd.write_bytes(mixed.read_bytes())
    buf = io.BytesIO()
    writer = CsvWriter(buf)
    analyze_file(odd, all_fields=all_fields, sink=writer)
    writer.close()
    report, rows = _rows(odd, all_fields)
    want = io.StringIO(newline="")
    reference = csv.writer(want)
    reference.writerow(TABLE)
    for row in rows:
        row["quoted"] = row.get("quoted", False)
        reference.writerows([["" if row[k] is None else row[k] for k in TABLE]])
    assert buf.getvalue().decode() == want.getvalue()
    assert len(rows) == report.rows > 0


def test_parquet_has_the_jsonl_columns(mixed: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out, jl = tmp_path / "rows.parquet", tmp_path / "rows.jsonl"
    args = ["analyze", str(mixed), "--all-fields"]
    assert main([*args, "--format", "parquet", "-o", str(out)]) == 0
    assert main([*args, "--format", "jsonl", "-o", str(jl)]) == 0
    table = pq.read_table(out).to_pylist()
    lines = [json.loads(line) for line in jl.read_text().splitlines()]
    assert len(table) == len(lines)
    for a, b in zip(table, lines, strict=True):
        assert a.pop("quoted") == b.pop("quoted", False)
        assert a == b


def test_parquet_needs_an_output_file(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(mixed), "--format", "parquet"]) == 2
    assert "-o FILE" in capsys.readouterr().err


def test_jobs_give_the_same_output(mixed: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy.pcap"
    other.write_bytes(mixed.read_bytes())
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.jsonl"
        assert (
            main(
                [
                    "analyze",
                    str(mixed),
                    str(other),
                    "--jobs",
                    jobs,
                    "--format",
                    "jsonl",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        outs.append(out.read_text())
    assert outs[0] == outs[1] and outs[0].count(str(other)) == outs[0].count(str(mixed)) > 0


def test_cli_taps_are_the_models() -> None:
    assert _TAPS == TAPS


def test_before_nat_capture_confirms(tmp_path: Path) -> None:
    """analyze --before-nat: the stale outer checksums of a fixed kernel, confirmed."""
    paths = {}
    for tap in ("prenat", "wire"):
        paths[tap] = tmp_path / f"{tap}.pcap"
        args = ["repro", "--kernel", "6.18", "--kube-proxy", "1.18.5", "--txrehash", "off"]
        assert main([*args, "--tap", tap, "-o", str(paths[tap])]) == 0
    out = tmp_path / "rows.jsonl"
    cmd = ["analyze", str(paths["wire"]), "--format", "jsonl", "-o", str(out)]
    assert main([*cmd, "--before-nat", str(paths["prenat"])]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and {r["verdict"] for r in rows} == {"nat-stale"}
    assert all(r["detail"].startswith("confirmed by the capture before NAT") for r in rows)
    assert main([*cmd, "--before-nat", str(tmp_path / "missing.pcap")]) == 2


def test_progress_bar_and_tables_on_a_terminal(mixed: Path) -> None:
    """On a terminal: a rich progress bar that reaches the file's size, and tables."""
    from rich.console import Console

    from vxsum.cli.summary import ProgressBar as _Progress
    from vxsum.cli.summary import write_summary as _write_summary

    screen = io.StringIO()
    progress = _Progress.start([str(mixed)], Console(file=screen, force_terminal=True))
    report = analyze_file(mixed, progress=progress.callback(str(mixed)))
    task = progress.bar.tasks[0]
    progress.stop()
    assert task.total == mixed.stat().st_size and 0 < task.completed <= task.total
    out = io.StringIO()
    _write_summary(Summary.of([report]), out, rich=True)
    text = out.getvalue()
    assert "checksum fields" in text and "nat-zero-mangled" in text and "│" in text


def test_right_checksums_in_the_flow_leave_stale_unconfirmed(tmp_path: Path) -> None:
    """Six stale outer checksums of one flow agree on the pre-NAT port: ``nat-stale``,
    confirmed by the flow. One packet of the same flow with a right checksum leaves them
    unconfirmed (``corrupt``, the rewrite their hypothesis), in both paths."""
    packets = run(Cluster.flannel("6.18", "1.18.5", txrehash=False), "tcp").packets
    frames = [(p.time, p.wire) for p in packets if p.outer_nat]
    assert len(frames) == 6
    fixed = bytearray(frames[0][1])
    due = next(v.expected for v in vxsum.classify(bytes(fixed)) if v.layer == "udp")
    assert due is not None
    fixed[40:42] = due.to_bytes(2, "big")  # the outer UDP checksum, made right
    for name, extra in (("alone", []), ("with-right", [(99.0, bytes(fixed))])):
        path = tmp_path / f"{name}.pcap"
        write_pcap(path, frames + extra)
        _, got = _rows(path, all_fields=False)
        want = [row for _, row in _reference(path) if row["port_before_nat"] is not None]
        assert [r["detail"] for r in got] == [r["detail"] for r in want]
        verdict = "nat-stale" if name == "alone" else "corrupt"
        assert len(got) == 6 and {r["verdict"] for r in got} == {verdict}
        if name == "alone":
            assert all(r["detail"].startswith("confirmed by 6 packets") for r in got)
            assert {r["confirmed_by"] for r in got} == {"flow"}
        else:
            assert all(
                "but 1 other packet of its outer flow carries a right" in r["detail"] for r in got
            )
            assert {r["hypothesis"] for r in got} == {"nat-stale"}


@settings(max_examples=int(os.environ.get("VXSUM_EXAMPLES", "60")), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(range(8)), st.integers(0, 200), st.integers(1, 255))
        | st.binary(max_size=200),
        min_size=1,
        max_size=12,
    )
)
def test_mutated_frames_agree_with_the_per_frame_path(
    tmp_path_factory: pytest.TempPathFactory, frames: list[object]
) -> None:
    """Tunnel frames with one byte changed anywhere, and arbitrary bytes: every record is
    counted, and analyze's rows equal classify_stream's, field by field."""
    seeds = [
        p.wire
        for cluster in (
            Cluster.flannel("5.4.40", "1.18.5", udp_csum=False),
            Cluster.calico("6.1", "1.18.5"),
        )
        for p in run(cluster, "tcp").packets[:2] + run(cluster, "udp").packets[:2]
    ]
    data = []
    for f in frames:
        if isinstance(f, bytes):
            data.append(f)
        else:
            k, at, flip = f  # type: ignore[misc]
            frame = bytearray(seeds[k % len(seeds)])
            frame[at % len(frame)] ^= flip
            data.append(bytes(frame))
    path = tmp_path_factory.mktemp("mut") / "m.pcap"
    write_pcap(path, [(float(i), d) for i, d in enumerate(data)])
    report, got = _rows(path, all_fields=True)
    assert report.packets == len(data)
    assert len(report.problems) == sum(not _parses(d) for d in data)
    want = _reference(path)
    assert [(r["frame"], {k: r[k] for k in CONTRACT[2:]}) for r in got] == [
        (n, {k: row[k] for k in CONTRACT[2:]}) for n, row in want
    ]
