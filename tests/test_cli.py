"""The vxsum command: repro writes what tcpdump reads; analyze keeps the jsonl contract."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from contract import CONTRACT, TABLE

import vxsum
from vxsum.cli.app import main


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    out = tmp_path / "prefix.pcap"
    assert (
        main(
            [
                "repro",
                "--kernel",
                "5.4.40",
                "--kube-proxy",
                "1.18.5",
                "--udpcsum",
                "off",
                "--txrehash",
                "off",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    return out


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_prints_the_predicted_lines(broken: Path) -> None:
    text = subprocess.run(
        ["tcpdump", "-nn", "-vv", "-r", str(broken)], capture_output=True, text=True, check=True
    ).stdout
    wire = [r.data for r in vxsum.iter_records(broken)]
    expected = [
        v.expected
        for w in wire
        for v in vxsum.classify(bytes(w))
        if v.layer == "udp" and v.verdict == "nat-zero-mangled"
    ]
    assert len(expected) == 6  # six SYNs lost before the outer entry expires at 63 s
    for due in expected:
        assert f"bad udp cksum 0xffff -> 0x{due:04x}!" in text
    assert text.count("[no cksum]") == 1


def test_analyze_jsonl_contract(broken: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    assert main(["analyze", str(broken), "--format", "jsonl", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and all(list(r) == CONTRACT for r in rows)
    assert {r["verdict"] for r in rows} == {"nat-zero-mangled"}
    assert all(r["frame"] in range(1, 8) and r["value"] == 0xFFFF for r in rows)
    assert main(["analyze", str(broken), "--format", "jsonl", "--all-fields", "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 7 * 4  # four checksum fields per frame
    assert main(["analyze", str(broken), "--fail-on-harmful", "-o", str(tmp_path / "s.txt")]) == 1


def test_analyze_csv_and_text(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rows.csv"
    assert main(["analyze", str(broken), "--format", "csv", "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(TABLE) and len(lines) == 7
    assert main(["analyze", str(broken)]) == 0
    text = capsys.readouterr().out
    assert "packets read: 7" in text and "fix: kernel 5.7 or later" in text


def test_input_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture file at all")
    assert main(["analyze", str(bad)]) == 2
    assert main(["analyze", str(tmp_path / "missing.pcap")]) == 2
    assert main(["explain", "zz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("vxsum ") for line in err)


def test_truncated_last_record_is_reported_with_keep_going(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(broken.read_bytes()[:-10])
    assert main(["analyze", str(cut)]) == 2  # strict: a clear error naming the record
    assert "record 7" in capsys.readouterr().err
    assert main(["analyze", str(cut), "--keep-going"]) == 0
    out = capsys.readouterr().out
    assert "packets read: 6" in out and "record 7" in out


def test_truncated_capture_says_what_was_read_and_what_keep_going_does(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --keep-going a capture cut mid-record still exits 2, with the error and a
    second line: how many records were read before it, and what --keep-going would do."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(broken.read_bytes()[:-10])
    for files in ([cut], [cut, broken, "--jobs", "2"], [cut, "--format", "jsonl"]):
        assert main(["analyze", *map(str, files)]) == 2
        err = capsys.readouterr().err.splitlines()
        assert err == [
            f"vxsum analyze: {cut}: record 7 at byte 744: file ends inside the record "
            "(94 of 104 bytes)",
            "vxsum analyze: (the 6 records before it were read; --keep-going reports them "
            "and goes on where it can)",
        ]
    first = tmp_path / "first.pcap"
    first.write_bytes(broken.read_bytes()[:30])  # cut inside the first record's header
    assert main(["analyze", str(first)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1] == "vxsum analyze: (--keep-going reports it and goes on where it can)"
    assert main(["analyze", str(broken), "--before-nat", str(cut)]) == 2
    assert "(the 6 records before it were read;" in capsys.readouterr().err
    assert main(["analyze", str(cut), "--keep-going", "--before-nat", str(cut)]) == 0
    assert main(["explain", str(broken), "--frame", "1", "--before-nat", str(cut)]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1  # explain has no --keep-going


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """The version is said in two places (docs/releasing.md): pyproject.toml, which the
    installed metadata comes from, and ``vxsum.__version__``; they agree."""
    import tomllib
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"vxsum {vxsum.__version__}\n"
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert vxsum.__version__ == version("vxsum") == pyproject["project"]["version"]


def test_every_option_has_a_help_text() -> None:
    import argparse

    from vxsum.cli.app import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    silent = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in sub.choices.items()
        for action in parser._actions
        if not action.help
    ]
    assert not silent


def test_rich_summary_colours_by_meaning_only(
    broken: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the summary is rich's, without its automatic highlighting of every
    number and quoted word in the prose."""
    for name in ("NO_COLOR", "TERM", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["analyze", str(broken)]) == 0
    out = capsys.readouterr().out
    assert "\x1b[1;31mnat-zero-mangled (6 fields)\x1b[0m" in out  # colour where it means
    assert "packets read: 7\n" in out
    assert "fix: kernel 5.7 or later, or 5.6.13 / 5.4.41 / 4.19.123 / 4.14.181\n" in out
    assert "'netfilter: nat: never update the UDP" in out


def test_repro_distribution_kernel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A distribution kernel's version cannot say whether it has the NAT fix: a note says
    so, and --nat-fix says which."""
    pcap = tmp_path / "el8.pcap"
    args = ["repro", "--kernel", "4.18.0-305.el8", "--udpcsum", "off", "-o", str(pcap)]
    assert main(args) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(
        "vxsum repro: note: 4.18.0-305.el8 is a distribution kernel, which may carry backports"
    )
    assert err[0].endswith("so it is modelled without it; say --nat-fix yes or no")
    assert main(["analyze", str(pcap)]) == 0
    assert "nat-zero-mangled" in capsys.readouterr().out
    assert main([*args, "--nat-fix", "yes"]) == 0
    assert "note" not in capsys.readouterr().err
    assert main(["analyze", str(pcap)]) == 0
    assert "nat-zero-mangled" not in capsys.readouterr().out
    assert main(["repro", "--kernel", "6.1.0-18-amd64", "-o", str(pcap)]) == 0
    assert "note" not in capsys.readouterr().err  # 6.1 has the fix whatever the suffix


def test_explain(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(broken), "--frame", "1"]) == 0
    out = capsys.readouterr().out
    assert "Vxlan @" in out and "nat-zero-mangled [harmful]" in out
    frame = bytes(next(iter(vxsum.iter_records(broken))).data)
    assert main(["explain", frame.hex()]) == 0
    assert capsys.readouterr().out == out


def test_python_dash_m(broken: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vxsum", "analyze", str(broken)], capture_output=True, text=True
    )
    assert done.returncode == 0 and "nat-zero-mangled" in done.stdout


def test_fast_path_counts_equal_the_parser_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Default analyze clears common-layout frames in batch; --all-fields parses every one."""
    from vxsum.capture import write_pcap
    from vxsum.kernel.scenario import Cluster, run

    frames = []
    for cluster in (
        Cluster.flannel("5.4.40", "1.18.5", udp_csum=False),
        Cluster.flannel("6.18", "1.18.5", underlay_tx_csum=False),
        Cluster.flannel("6.18", "1.18.6"),
        Cluster.calico("6.1", "1.18.6", underlay_tx_csum=False),
    ):
        for tap in ("sender", "wire"):
            for proto in ("tcp", "udp"):
                frames += [(p.time, getattr(p, tap)) for p in run(cluster, proto).packets]
    path = tmp_path / "mixed.pcap"
    write_pcap(path, frames)

    def summary(*extra: str) -> str:
        assert main(["analyze", str(path), *extra]) == 0
        text = capsys.readouterr().out
        return text[text.index("checksum fields") : text.index("harmful")]

    assert summary() == summary("--all-fields")


def test_explain_lines_read_like_tcpdump(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(broken), "--frame", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("IPv4 @14: 198.18.0.1 > 198.18.0.2: UDP (17), length 90")
    assert lines[2] == "UDP @34: 50697 > 8472, length 70, cksum 0xffff"
    assert lines[3] == "  Vxlan @42: flags [I] (0x08), vni 1"
    assert lines[6].startswith("  TCP @84: 56364 > 53: Flags [S], seq 1, ack 0")


def test_every_corpus_layer_can_be_described() -> None:
    from corpus import shared_dir

    from vxsum.frames.display import describe

    pcaps = shared_dir() / "corpus" / "pcaps"
    if not pcaps.is_dir():
        pytest.skip(f"the shared corpus is not at {pcaps}")
    kinds = set()
    for path in sorted(p for p in pcaps.rglob("*") if p.is_file()):
        with vxsum.CaptureReader(path, keep_going=True, max_caplen=1 << 18) as reader:
            records = list(reader)
        for record in records:
            try:
                frame = vxsum.parse(bytes(record.data), record.linktype)
            except vxsum.ParseError:
                continue
            for layer in frame.layers:
                line = describe(layer)
                assert line.startswith(f"{type(layer).__name__} @{layer.offset}")
                kinds.add(type(layer).__name__)
    assert {"Ethernet", "IPv4", "IPv6", "UDP", "TCP", "Vxlan"} <= kinds


def test_analyze_reads_standard_input(broken: Path) -> None:
    """`-` is standard input: a pipe from tcpdump -w -, plain or gzip-compressed."""
    import gzip

    for data in (broken.read_bytes(), gzip.compress(broken.read_bytes())):
        done = subprocess.run(
            [sys.executable, "-m", "vxsum", "analyze", "-", "--format", "jsonl"],
            input=data,
            capture_output=True,
            check=True,
        )
        rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
        assert len(rows) == 6 and {r["file"] for r in rows} == {"-"}
    assert main(["analyze", "-", "-"]) == 2
    assert main(["analyze", "-", str(broken), "--jobs", "2"]) == 2
