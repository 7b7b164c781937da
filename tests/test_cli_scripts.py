"""``vxsum analyze`` in CI and scripts (issue 16, item 5): one progress bar for all files,
``--keep-going`` past a file that cannot be read, the summary as JSON (``--summary-json``),
``--fail-on LABELS``, and the row filters ``--verdict``, ``--layer`` and ``--depth``.

The captures are the bundled ones and generated ones of known make-up
(:mod:`vxsum.testing.captures`); a capture cut inside its file header is one that cannot
be read even with ``--keep-going``. ``--jobs`` runs use 2 jobs.
"""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from vxsum.cli.app import main
from vxsum.report.analysis import Options, Summary, analyze_file
from vxsum.report.parallel import analyze_parallel
from vxsum.testing.captures import damage_capture, stale_capture
from vxsum.verdicts.labels import Label

DATA = Path(__file__).resolve().parents[1] / "vxsum" / "data"
ROOT = Path(__file__).resolve().parents[1]
BUNDLED = DATA / "flannel-5.4.40-noudpcsum-wire.pcap"  # 6 nat-zero-mangled fields


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two generated captures (random damage only; stale flows among damage), a bundled
    one, a copy of it cut inside its file header and a file that is no capture."""
    folder = tmp_path_factory.mktemp("scripts")
    made = {"damage": folder / "damage.pcap", "stale": folder / "stale.pcap"}
    damage_capture(made["damage"], packets=3000, rate=0.05, seed=1)
    stale_capture(made["stale"], stale_flows=10, packets=3000, seed=1)
    made["bundled"] = folder / BUNDLED.name
    shutil.copy(BUNDLED, made["bundled"])
    made["cut"] = folder / "cut.pcap"
    made["cut"].write_bytes(BUNDLED.read_bytes()[:10])
    made["junk"] = folder / "junk.pcap"
    made["junk"].write_bytes(b"not a capture file at all")
    return made


def rows_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def strict_json(text: str) -> dict[str, object]:
    """JSON as a strict parser reads it: NaN and Infinity are not JSON."""

    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")

    found: dict[str, object] = json.loads(text, parse_constant=refuse)
    return found


# --keep-going past a file that cannot be read


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_keep_going_reports_an_unreadable_file_and_goes_on(
    captures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    """Each file that cannot be read is one line on stderr (the file and why); the others
    are analysed as if it had not been given; the exit status is 2; the rows and the
    summary (text and JSON) cover the files that were read and name those that were not."""
    good = [captures["damage"], captures["stale"]]
    missing = tmp_path / "missing.pcap"
    given = [captures["damage"], captures["cut"], captures["stale"], missing, captures["junk"]]
    rows, summary = tmp_path / "rows.jsonl", tmp_path / "summary.json"
    args = ["--format", "jsonl", "--jobs", jobs]
    outputs = ["-o", str(rows), "--summary-json", str(summary)]
    status = main(["analyze", *map(str, given), "--keep-going", *args, *outputs])
    err = capsys.readouterr().err.splitlines()
    assert status == 2
    not_read = [
        f"{captures['cut']}: byte 0: truncated pcap file header (10 bytes)",
        f"cannot read {missing}: no such file",
        f"{captures['junk']}: byte 0: not a pcap or pcapng file "
        "(magic 6e6f7420; not gzip, xz, bzip2 or zstd)",
    ]
    assert sorted(line for line in err if line.startswith("vxsum analyze:")) == sorted(
        f"vxsum analyze: {line}" for line in not_read
    )
    assert "files not read: 3" in err and f"  {not_read[0]}" in err  # the text summary

    alone, alone_summary = tmp_path / "alone.jsonl", tmp_path / "alone.json"
    outputs = ["-o", str(alone), "--summary-json", str(alone_summary)]
    assert main(["analyze", *map(str, good), *args, *outputs]) == 0
    capsys.readouterr()
    assert rows.read_text() == alone.read_text() != ""
    got, want = strict_json(summary.read_text()), strict_json(alone_summary.read_text())
    assert got["files_not_read"] == [
        {"file": str(path), "error": line}
        for path, line in zip([captures["cut"], missing, captures["junk"]], not_read, strict=True)
    ]
    assert want["files_not_read"] == []
    assert {k: v for k, v in got.items() if k != "files_not_read"} == {
        k: v for k, v in want.items() if k != "files_not_read"
    }
    assert got["paths"] == [str(p) for p in good]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_without_keep_going_the_first_unreadable_file_ends_the_run(
    captures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    out = tmp_path / "summary.json"
    out.write_text("before\n")
    given = [captures["damage"], captures["junk"], captures["cut"]]
    assert main(["analyze", *map(str, given), "--jobs", jobs, "--summary-json", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"vxsum analyze: {captures['junk']}: byte 0: not a pcap or pcapng file "
        "(magic 6e6f7420; not gzip, xz, bzip2 or zstd)"
    ]
    assert out.read_text() == "before\n"  # a failed run leaves the file as it was
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left


def test_keep_going_with_nothing_read_writes_nothing(
    captures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No file could be read: a line for each, exit 2, and no output at all (a single
    unreadable file says what it said before --keep-going was given)."""
    rows = tmp_path / "rows.csv"
    given = [captures["cut"], captures["junk"]]
    args = ["--keep-going", "--format", "csv", "-o", str(rows), "--summary-json", "-"]
    assert main(["analyze", *map(str, given), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not rows.exists()
    assert len(captured.err.splitlines()) == 2
    assert main(["analyze", str(captures["cut"]), "--keep-going"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"vxsum analyze: {captures['cut']}: byte 0: truncated pcap file header (10 bytes)"
    ]


# One progress bar for all files


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_a_terminal(args: list[str]) -> tuple[int, bytes, str]:
    """``vxsum ARGS`` with standard error on a pseudo-terminal (where the bar is drawn)
    and standard output on a pipe: (status, stdout, stderr without escape codes)."""
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "vxsum", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "100"},
    )
    os.close(slave)
    assert child.stdout is not None
    rows: list[bytes] = []  # drained meanwhile: a full pipe would stop the child
    drain = threading.Thread(target=lambda: rows.append(child.stdout.read()))  # type: ignore[union-attr]
    drain.start()
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    drain.join(timeout=120)
    child.stdout.close()
    status = child.wait(timeout=120)
    out = rows[0]
    return status, out, _ANSI.sub("", b"".join(chunks).decode())


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_progress_bar_for_all_files_on_standard_error(
    captures: dict[str, Path], jobs: str
) -> None:
    """With a terminal on stderr the bar is drawn there, one task for all files, and it
    reaches the files' total size, with --jobs 2 as with one job (it stayed at 0 before,
    the workers' progress never reaching it); standard output holds the rows and nothing
    else (the bar used to add a line to them)."""
    files = [str(captures["damage"]), str(captures["stale"])]
    args = ["analyze", *files, "--format", "jsonl", "--jobs", jobs]
    status, out, err = _on_a_terminal(args)
    assert status == 0
    plain = subprocess.run(
        [sys.executable, "-m", "vxsum", *args], capture_output=True, cwd=ROOT, check=True
    )
    assert out == plain.stdout and out.endswith(b"}\n")
    frames = [f for f in re.split(r"[\r\n]", err) if "analyzing" in f]
    assert frames and all(f.count("analyzing") == 1 for f in frames)
    done, total, unit = re.findall(r"([\d.,]+)/([\d.,]+) (\w+)", frames[-1])[-1]
    size = sum(os.path.getsize(f) for f in files)
    assert done == total and unit == "MB" and float(total) == round(size / 1e6, 1)


def test_parallel_progress_reaches_the_parent(captures: dict[str, Path]) -> None:
    """analyze_parallel passes the workers' progress to a callback in the calling process,
    and each file's size once it has been read."""
    files = [str(captures["damage"]), str(captures["stale"])]
    seen: list[tuple[str, int]] = []
    reports = analyze_parallel(files, Options(), 2, None, progress=lambda *a: seen.append(a))
    assert [r.path for r in reports] == files
    for path in files:
        offsets = [offset for f, offset in seen if f == path]
        assert offsets and offsets[-1] == os.path.getsize(path) and offsets == sorted(offsets)


def test_parallel_unreadable_files_are_handed_over(captures: dict[str, Path]) -> None:
    files = [str(captures["junk"]), str(captures["bundled"]), str(captures["cut"])]
    failed: list[str] = []
    rows: list[str] = []
    reports = analyze_parallel(
        files,
        Options(),
        2,
        lambda path, chunk: rows.extend([path] * len(chunk)),
        unreadable=lambda path, err: failed.append(path),
    )
    assert [r.path for r in reports] == [files[1]] and failed == [files[0], files[2]]
    assert rows == [files[1]] * 6


# The summary as JSON


def test_summary_json_is_the_summary_complete_and_json_safe(
    captures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every count of the text summary is in the JSON: fields, harmful fields by flow
    (all of them, not the top 20), the capture-wide tests with their p-values, problems
    with their totals, and the diagnosis; it equals Summary.to_dict() of the same files."""
    cut = tmp_path / "cut-record.pcap"
    cut.write_bytes(BUNDLED.read_bytes()[:-10])  # the last record cut: a problem
    files = [captures["damage"], captures["stale"], cut]
    out = tmp_path / "summary.json"
    args = ["analyze", *map(str, files), "--keep-going", "--all-fields", "--format", "jsonl"]
    assert main([*args, "-o", str(tmp_path / "rows.jsonl"), "--summary-json", str(out)]) == 0
    text = capsys.readouterr().err
    got = strict_json(out.read_text())
    reports = [analyze_file(p, keep_going=True) for p in files]
    assert got == json.loads(json.dumps(Summary.of(reports).to_dict()))

    rows = rows_of(tmp_path / "rows.jsonl")
    fields = Counter((r["layer"], r["depth"], r["verdict"]) for r in rows)
    assert {(f["layer"], f["depth"], f["verdict"]): f["count"] for f in got["fields"]} == fields  # type: ignore[union-attr,index]
    assert got["field_total"] == len(rows)
    harmful = [r for r in rows if not r["harmless"]]
    assert got["harmful_fields"] == len(harmful) == sum(h["count"] for h in got["harmful"])  # type: ignore[union-attr,index]
    assert got["harmful_flows"] == len(got["harmful"]) > 20  # type: ignore[arg-type]
    assert f"(top 20 of {got['harmful_flows']})" in text
    assert got["packets"] == sum(r.packets for r in reports)
    assert got["problem_total"] == 1 and got["problems_not_listed"] == 0
    assert got["problems"] == [f"{cut}: record 7 at byte 744: file ends inside the record "
                               "(94 of 104 bytes)"]  # fmt: skip
    tests = got["capture_tests"]
    assert [t["file"] for t in tests] == [str(p) for p in files]  # type: ignore[union-attr,index]
    assert all(0.0 <= t["p_value"] <= 1.0 for t in tests)  # type: ignore[union-attr,index]
    assert got["confirmed"] == [{"verdict": "nat-stale", "by": "flow", "count": 42}]
    assert got["tunnel_damage"] == {"right": 199}
    diagnosis = got["diagnosis"]
    assert diagnosis["frames"] == got["packets"]  # type: ignore[index]
    labels = {f["label"] for f in diagnosis["findings"]}  # type: ignore[index]
    assert {"nat-stale", "corrupt", "nat-zero-mangled"} <= labels


def test_summary_json_keys_are_documented(captures: dict[str, Path]) -> None:
    """docs/cli.md's table of the summary's keys names every key of to_dict(), and no
    other."""
    doc = (ROOT / "docs" / "cli.md").read_text()
    section = doc[doc.index("### The summary as JSON") :]
    section = section[: section.index("\n### ", 1)]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
    summary = Summary.of([analyze_file(captures["bundled"])])
    summary.unread = [("x", "y")]
    assert documented == set(summary.to_dict())


def test_summary_json_on_standard_output(
    captures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--summary-json - takes standard output: the text summary goes to stderr, as it
    does when rows take standard output; with rows on standard output it is refused."""
    assert main(["analyze", str(captures["bundled"]), "--summary-json", "-"]) == 0
    captured = capsys.readouterr()
    assert strict_json(captured.out)["harmful_fields"] == 6
    assert captured.err.startswith("packets read: 7\n")
    for fmt in ("jsonl", "csv"):
        for output in ([], ["-o", "-"]):
            args = ["analyze", str(captures["bundled"]), "--format", fmt, *output]
            assert main([*args, "--summary-json", "-"]) == 2
            captured = capsys.readouterr()
            assert captured.out == ""
            assert captured.err == (
                "vxsum analyze: --summary-json - and the rows cannot both go to standard "
                "output: give -o FILE for the rows, or --summary-json FILE\n"
            )


def test_summary_json_is_refused_where_it_would_clobber(
    captures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = tmp_path / "out"
    args = ["analyze", str(captures["bundled"]), "--format", "csv", "-o", str(same)]
    assert main([*args, "--summary-json", str(same)]) == 2
    assert capsys.readouterr().err == (
        f"vxsum analyze: -o and --summary-json name the same file: {same}\n"
    )
    capture = tmp_path / "input.pcap"  # a copy of its own: a failure must not clobber others
    shutil.copy(BUNDLED, capture)
    before = capture.read_bytes()
    assert main(["analyze", str(capture), "--summary-json", str(capture)]) == 2
    assert "it is also an input" in capsys.readouterr().err
    assert capture.read_bytes() == before
    assert not same.exists()


# --fail-on LABELS


def test_fail_on_labels(captures: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 when a field has one of the labels, 0 when none has; --fail-on-harmful as
    before; a file not read (--keep-going) makes it 2 whatever was found."""
    damage, stale = str(captures["damage"]), str(captures["stale"])
    cases = [
        ([damage], "nat-stale", 0),
        ([stale], "nat-stale", 1),
        ([damage], "offload-seed,corrupt", 1),
        ([str(captures["bundled"])], "nat-zero-mangled", 1),
        ([str(captures["bundled"])], "nat-stale,corrupt,offload-seed", 0),
        ([str(captures["bundled"])], "no-checksum", 1),  # counted, though never listed
    ]
    for files, labels, status in cases:
        assert main(["analyze", *files, "--fail-on", labels]) == status, (files, labels)
    assert main(["analyze", damage, "--fail-on-harmful"]) == 1
    assert main(["analyze", damage, str(captures["cut"]), "--keep-going", "--fail-on",
                 "corrupt"]) == 2  # fmt: skip
    capsys.readouterr()


def test_unknown_labels_are_usage_errors_listing_the_valid_ones(
    captures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    valid = ", ".join(label.value for label in Label)
    for option in ("--fail-on", "--verdict"):
        with pytest.raises(SystemExit) as stop:
            main(["analyze", str(captures["bundled"]), option, "nat-stale,natstale"])
        assert stop.value.code == 2
        assert capsys.readouterr().err == (
            f"vxsum analyze: argument {option}: unknown label 'natstale' (labels: {valid}) "
            "(see vxsum analyze --help)\n"
        )


# Row filters


def _select(rows: list[dict[str, object]], **want: set[object]) -> list[dict[str, object]]:
    return [r for r in rows if all(r[k] in v for k, v in want.items())]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_row_filters_select_the_rows_written_and_nothing_else(
    captures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    """--verdict, --layer and --depth write the rows they select, among all fields with
    --all-fields and among the listed ones without; the summary, text and JSON, is that
    of every field."""
    files = [str(captures["damage"]), str(captures["stale"]), str(captures["bundled"])]

    def analyze(*extra: str) -> tuple[list[dict[str, object]], dict[str, object], str]:
        rows, summary = tmp_path / "rows.jsonl", tmp_path / "summary.json"
        args = ["analyze", *files, "--format", "jsonl", "--jobs", jobs, "-o", str(rows)]
        assert main([*args, "--summary-json", str(summary), *extra]) == 0
        return rows_of(rows), strict_json(summary.read_text()), capsys.readouterr().err

    every, summary, text = analyze("--all-fields")
    listed = analyze()[0]
    assert {r["verdict"] for r in every} == {"good", "no-checksum", "corrupt", "nat-stale",
                                            "nat-zero-mangled"}  # fmt: skip
    cases: list[tuple[list[str], list[dict[str, object]]]] = [
        (["--verdict", "nat-stale"], _select(listed, verdict={"nat-stale"})),
        (["--verdict", "corrupt,nat-zero-mangled"],
         _select(listed, verdict={"corrupt", "nat-zero-mangled"})),
        (["--layer", "tcp"], []),  # no tcp field is worth a look
        (["--all-fields", "--layer", "tcp"], _select(every, layer={"tcp"})),
        (["--all-fields", "--layer", "ipv4,tcp", "--depth", "1"],
         _select(every, layer={"ipv4", "tcp"}, depth={1})),
        (["--all-fields", "--verdict", "good", "--layer", "udp", "--depth", "0"],
         _select(every, verdict={"good"}, layer={"udp"}, depth={0})),
        (["--all-fields", "--depth", "1,0"], every),
        (["--depth", "1"], []),
        (["--verdict", "nat-stale", "--layer", "udp", "--depth", "0"],
         _select(listed, verdict={"nat-stale"})),
    ]  # fmt: skip
    for extra, want in cases:
        rows, got_summary, got_text = analyze(*extra)
        assert rows == want, extra
        assert got_summary == summary and got_text == text, extra
    assert len(_select(every, verdict={"nat-stale"})) == 42


def test_row_filters_in_csv_and_parquet(
    captures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    base = ["analyze", str(captures["stale"]), "--all-fields", "--verdict", "nat-stale"]
    assert main([*base, "--format", "csv", "-o", str(tmp_path / "rows.csv")]) == 0
    with open(tmp_path / "rows.csv", newline="") as f:
        found = list(csv.DictReader(f))
    assert len(found) == 42 and {r["verdict"] for r in found} == {"nat-stale"}
    out = tmp_path / "rows.parquet"
    assert main([*base, "--layer", "udp", "--format", "parquet", "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 42 and set(table.column("verdict").to_pylist()) == {"nat-stale"}
    capsys.readouterr()


def test_row_filter_values_are_checked(
    captures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown values are usage errors; filters without rows, or asking for rows that are
    listed only with --all-fields, are usage errors rather than an empty output."""
    capture = str(captures["bundled"])
    for option, value, message in [
        ("--layer", "ip", "unknown layer 'ip' (layers: ipv4, udp, udplite, tcp, icmp, "
         "icmpv6, igmp, gre, pim, vrrp, icmpext)"),
        ("--depth", "8", "unknown depth '8' (depths: 0, 1, 2, 3, 4, 5, 6, 7)"),
        ("--depth", "-1", "unknown depth '-1' (depths: 0, 1, 2, 3, 4, 5, 6, 7)"),
        ("--depth", ",", "give at least one depth: ','"),
    ]:  # fmt: skip
        with pytest.raises(SystemExit) as stop:
            main(["analyze", capture, "--format", "jsonl", option, value])
        assert stop.value.code == 2
        assert capsys.readouterr().err == (
            f"vxsum analyze: argument {option}: {message} (see vxsum analyze --help)\n"
        )
    assert main(["analyze", capture, "--layer", "udp"]) == 2
    assert capsys.readouterr().err == (
        "vxsum analyze: --layer selects rows: give --format jsonl, csv or parquet "
        "(the summary covers every field)\n"
    )
    assert main(["analyze", capture, "--format", "jsonl", "--verdict", "corrupt,good"]) == 2
    assert capsys.readouterr().err == (
        "vxsum analyze: --verdict good: good and no-checksum fields are rows only with "
        "--all-fields\n"
    )
