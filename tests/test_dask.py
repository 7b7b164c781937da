"""vxsum.report.distributed: many captures on a Dask cluster give what a local run gives.

A LocalCluster of two single-threaded worker processes (one for the module) reads
generated and bundled captures, from local paths, ``file://`` globs and fsspec's
``memory://`` file system; rows, per-file reports (capture-wide tests included) and the
jsonl, csv and parquet output are compared with a local run, row for row.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

import vxsum
from vxsum.capture.pcap import write_pcap
from vxsum.cli import main
from vxsum.errors import CaptureError
from vxsum.frames.builder import EthernetSpec, IPv4Spec, UDPSpec, build
from vxsum.report import Options, Summary, schema
from vxsum.report.analysis import FileReport
from vxsum.report.writers import CsvWriter, JsonlWriter, ParquetWriter
from vxsum.testing.captures import damage_capture, stale_capture

pytest.importorskip("dask.dataframe", reason="needs the dask extra: pip install 'vxsum[dask]'")
distributed = pytest.importorskip("distributed", reason="needs the dask extra (distributed)")
fsspec = pytest.importorskip("fsspec", reason="needs the dask extra (fsspec)")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")

from vxsum.report.distributed import (  # noqa: E402  # after the skips
    analyze_on_cluster,
    find_captures,
    meta,
    read_captures,
    summarize_captures,
)

DATA = files("vxsum") / "data"
BUNDLED = sorted(str(p) for p in DATA.iterdir() if p.name.endswith(".pcap"))  # type: ignore[attr-defined]
KEYS = ["file", "frame", "depth", "layer"]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes of one thread each; shut down at the end of the module."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with distributed.Client(cluster) as c:
            yield c
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Captures with damage, with stale NAT (and a capture-wide test to make), gzipped."""
    tmp = tmp_path_factory.mktemp("caps")
    damage_capture(tmp / "damage.pcap", packets=3000, rate=0.05, seed=3)
    stale_capture(tmp / "stale.pcap", stale_flows=12, packets=1500, seed=2)
    with open(tmp / "stale.pcap", "rb") as src, gzip.open(tmp / "stale2.pcap.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return [str(tmp / n) for n in ("damage.pcap", "stale.pcap", "stale2.pcap.gz")]


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A capture with records that do not parse and a last record cut short."""
    good = build(
        [
            EthernetSpec(),
            IPv4Spec(src="10.0.0.1", dst="10.0.0.2"),
            UDPSpec(src_port=1, dst_port=2),
            b"hi",
        ]
    )
    path = tmp_path_factory.mktemp("bad") / "bad.pcap"
    write_pcap(path, [(0.0, good), (1.0, b""), (2.0, good), (3.0, b"")])
    data = path.read_bytes()
    return data + data[24 : 24 + 16 + 10]


def _local(paths: list[str], all_fields: bool = False) -> Any:
    """The rows of scan(), run here, as pandas with the partitions' types."""
    table = pa.Table.from_batches(vxsum.scan(paths, all_fields=all_fields), schema=schema())
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _sorted(frame: Any) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (
        frame.sort_values(KEYS, kind="stable").reset_index(drop=True).to_dict("records")
    )
    return rows


def _facts(report: FileReport) -> dict[str, object]:
    """What a report says, comparable (flow groups have no ==)."""
    return {
        "path": report.path,
        "packets": report.packets,
        "rows": report.rows,
        "capture_test": report.capture_test,
        "problems": (report.problems.examples, dict(report.problems.counts)),
        "summary": Summary.of([report]).to_dict(),
    }


@pytest.mark.parametrize("all_fields", [False, True])
def test_rows_are_a_local_scan_row_for_row(
    client: Any, generated: list[str], all_fields: bool
) -> None:
    paths = [*generated, *BUNDLED]
    frame = read_captures(paths, all_fields=all_fields)
    assert frame.npartitions == len(paths)
    got = frame.compute()
    expected = _local(paths, all_fields)
    assert list(got.columns) == schema().names
    assert dict(got.dtypes) == dict(meta().dtypes) == dict(expected.dtypes)
    assert len(got) == len(expected) > 0
    assert _sorted(got) == _sorted(expected)
    # one partition per file, in the order given, each that file's rows in frame order
    for k, path in enumerate(paths):
        part = frame.get_partition(k).compute().reset_index(drop=True)
        assert part.equals(_local([path], all_fields).reset_index(drop=True))


def test_parquet_written_by_the_workers_is_analyze_s(
    client: Any, generated: list[str], tmp_path: Path
) -> None:
    """``to_parquet`` with the row schema: one file per capture, the schema (and its
    version) of ``vxsum analyze --format parquet``, the same rows."""
    paths = [*generated, *BUNDLED]
    read_captures(paths).to_parquet(tmp_path / "rows", schema=schema(), write_index=False)
    written = pq.read_table(tmp_path / "rows")
    local = tmp_path / "local.parquet"
    assert main(["analyze", *paths, "--format", "parquet", "-o", str(local)]) == 0
    assert written.schema == schema()
    assert written.equals(pq.read_table(local))
    assert len(list((tmp_path / "rows").iterdir())) == len(paths)


def test_exported_lazily_from_vxsum_report() -> None:
    from vxsum.report import distributed as module

    assert vxsum.report.read_captures is module.read_captures
    assert vxsum.report.summarize_captures is module.summarize_captures
    assert vxsum.report.analyze_on_cluster is module.analyze_on_cluster


def test_a_relative_path_keeps_its_name(client: Any) -> None:
    """The workers share this process's working directory (a LocalCluster's do)."""
    relative = os.path.relpath(BUNDLED[0])
    got = read_captures(relative).compute()
    assert set(got["file"]) == {relative}
    assert _sorted(got) == _sorted(_local([relative]))


def test_a_file_url_with_a_glob(client: Any, generated: list[str]) -> None:
    folder = Path(generated[0]).parent
    frame = read_captures(f"file://{folder}/*.pcap*")
    paths = sorted(str(p) for p in folder.iterdir())  # named as local paths
    assert [c.name for c in find_captures(f"file://{folder}/*.pcap*")] == paths
    assert _sorted(frame.compute()) == _sorted(_local(paths))


def test_a_memory_url(client: Any, generated: list[str]) -> None:
    """fsspec's memory file system lives in each process: the files are put in this one
    (the glob is expanded here) and in every worker's (which read them)."""
    blobs = {f"/vxsum-test/{Path(p).name}": Path(p).read_bytes() for p in generated}

    def put(blobs: dict[str, bytes]) -> None:
        fs = fsspec.filesystem("memory")
        for path, data in blobs.items():
            fs.pipe_file(path, data)

    put(blobs)
    client.run(put, blobs)
    frame = read_captures("memory://vxsum-test/*.pcap*")
    got = frame.compute()
    names = [f"memory://{path}" for path in sorted(blobs)]
    assert list(dict.fromkeys(got["file"])) == names
    expected = _local(generated)
    assert expected["file"].nunique() == len(names)
    expected["file"] = expected["file"].map(
        {p: f"memory:///vxsum-test/{Path(p).name}" for p in generated}
    )
    assert _sorted(got) == _sorted(expected)
    one = read_captures("memory://vxsum-test/damage.pcap").compute()  # named as given
    assert set(one["file"]) == {"memory://vxsum-test/damage.pcap"}
    fsspec.filesystem("memory").rm("/vxsum-test", recursive=True)


def test_reports_are_a_local_run_s(client: Any, generated: list[str]) -> None:
    paths = [*generated, *BUNDLED]
    reports = summarize_captures(paths)
    local = [vxsum.analyze_file(p) for p in paths]
    assert [_facts(r) for r in reports] == [_facts(r) for r in local]
    assert any(r.capture_test is not None and r.capture_test.damaged for r in reports)
    assert any(r.stale_confirmed for r in reports)


def test_problems_name_the_url(client: Any, damaged: bytes, tmp_path: Path) -> None:
    """A stream's problems are named by its URL, in the order and counts of a local run."""
    url = "memory://vxsum-problems/bad.pcap"

    def put(data: bytes) -> None:
        fsspec.filesystem("memory").pipe_file("/vxsum-problems/bad.pcap", data)

    put(damaged)
    client.run(put, damaged)
    local_path = tmp_path / "bad.pcap"
    local_path.write_bytes(damaged)
    (report,) = summarize_captures(url, keep_going=True)
    local = vxsum.analyze_file(str(local_path), keep_going=True)
    assert len(local.problems) == 3 and len(local.problems.counts) == 2
    as_text = json.dumps(_facts(local), default=repr)
    assert json.dumps(_facts(report), default=repr) == as_text.replace(str(local_path), url)
    assert report.problems.examples[0].startswith(f"{url}: record 2 ")
    with pytest.raises(CaptureError) as raised:  # the worker's error, raised here
        summarize_captures(url)
    assert raised.value.path == url
    assert raised.value.record == 5


def test_missing_files(client: Any, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        find_captures(str(tmp_path / "*.pcap"))
    assert raised.value.filename == str(tmp_path / "*.pcap")
    with pytest.raises(FileNotFoundError):
        find_captures(f"file://{tmp_path}/*.pcap")
    with pytest.raises(FileNotFoundError):  # raised by the worker that opened it
        analyze_on_cluster([str(tmp_path / "none.pcap")], Options(), None, scheduler=client)


def _write(fmt: str, out: Path) -> Any:
    if fmt == "parquet":
        return ParquetWriter(str(out)), None
    f = open(out, "w", newline="")  # noqa: SIM115  # closed by the caller
    return (JsonlWriter(f.buffer) if fmt == "jsonl" else CsvWriter(f.buffer)), f


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("all_fields", [False, True])
def test_on_a_scheduler_the_output_is_a_local_run_s(
    client: Any, generated: list[str], tmp_path: Path, fmt: str, all_fields: bool
) -> None:
    """What ``vxsum analyze --scheduler ADDRESS`` calls: rows to a writer, in file order."""
    paths = [*generated, *BUNDLED]
    extra = ["--all-fields"] if all_fields else []
    local_out = tmp_path / f"local.{fmt}"
    assert main(["analyze", *paths, "--format", fmt, "-o", str(local_out), *extra]) == 0
    out = tmp_path / f"cluster.{fmt}"
    writer, opened = _write(fmt, out)
    options = Options(all_fields=all_fields)
    address = client.scheduler.address  # a client of its own, made and closed there
    reports = analyze_on_cluster(paths, options, writer, scheduler=address)
    writer.close()
    if opened is not None:
        opened.close()
    if fmt == "parquet":
        assert pq.read_table(out).equals(pq.read_table(local_out))
        assert pq.read_table(out).num_rows > 0
    else:
        assert out.read_bytes() == local_out.read_bytes()
        assert len(out.read_bytes()) > 1000
    local = [vxsum.analyze_file(p, all_fields=all_fields) for p in paths]
    assert [_facts(r) for r in reports] == [_facts(r) for r in local]


def test_files_that_cannot_be_read_are_left_out_when_asked(
    client: Any, damaged: bytes, tmp_path: Path
) -> None:
    """``unreadable`` and ``progress`` as analyze_parallel has them (``--keep-going``)."""
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(damaged)
    missing = str(tmp_path / "none.pcap")
    paths = [BUNDLED[0], missing, str(bad), BUNDLED[2]]
    left_out: list[tuple[str, str]] = []
    done: list[tuple[str, int]] = []
    rows: list[str] = []
    reports = analyze_on_cluster(
        paths,
        Options(),
        lambda path, chunk: rows.extend([path] * len(chunk)),
        scheduler=client,
        progress=lambda path, size: done.append((path, size)),
        unreadable=lambda path, err: left_out.append((path, type(err).__name__)),
    )
    assert [r.path for r in reports] == [BUNDLED[0], BUNDLED[2]]
    assert left_out == [(missing, "FileNotFoundError"), (str(bad), "CaptureError")]
    assert done == [(p, os.path.getsize(p)) for p in (BUNDLED[0], BUNDLED[2])]
    assert rows == [BUNDLED[0]] * reports[0].rows + [BUNDLED[2]] * reports[1].rows

    def stop(path: str, err: OSError | Exception) -> None:
        raise RuntimeError(path)

    with pytest.raises(RuntimeError, match=r"none\.pcap"):
        analyze_on_cluster(paths, Options(), None, scheduler=client, unreadable=stop)


def test_without_rows_only_reports_come_back(client: Any) -> None:
    reports = analyze_on_cluster(BUNDLED, Options(), None, scheduler=client)
    assert [r.path for r in reports] == BUNDLED
    assert [_facts(r) for r in reports] == [_facts(vxsum.analyze_file(p)) for p in BUNDLED]


# vxsum analyze --scheduler


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "parquet-dataset"])
def test_analyze_scheduler_writes_a_local_run_s_output(
    client: Any, generated: list[str], tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line on a cluster: rows, summary JSON and exit status as a local run's."""
    paths = [*generated, *BUNDLED]
    outputs = {}
    for run, extra in [("local", []), ("cluster", ["--scheduler", client.scheduler.address])]:
        out, summary = tmp_path / f"{run}.{fmt}", tmp_path / f"{run}.json"
        args = ["analyze", *paths, "--format", fmt, "-o", str(out), "--summary-json", str(summary)]
        assert main([*args, "--fail-on", "nat-stale", *extra]) == 1  # stale.pcap has some
        outputs[run] = (out, json.loads(summary.read_text()))
    capsys.readouterr()
    (local, local_summary), (cluster, cluster_summary) = outputs["local"], outputs["cluster"]
    if fmt == "parquet":
        assert pq.read_table(cluster).equals(pq.read_table(local))
    elif fmt == "parquet-dataset":  # a file per capture with rows, in the same order
        names = sorted(p.name for p in local.iterdir())
        assert sorted(p.name for p in cluster.iterdir()) == names and len(names) > 1
        for name in names:
            assert pq.read_table(cluster / name).equals(pq.read_table(local / name))
    else:
        assert cluster.read_bytes() == local.read_bytes()
    assert cluster_summary == local_summary and cluster_summary["harmful_fields"] > 0


def test_analyze_scheduler_keeps_going_and_names_what_failed(
    client: Any, damaged: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(damaged)
    missing = str(tmp_path / "none.pcap")
    address = client.scheduler.address
    args = ["analyze", BUNDLED[0], missing, str(bad), "--scheduler", address]
    assert main([*args, "--keep-going"]) == 2  # the others analysed, then exit 2
    out, err = capsys.readouterr()
    assert f"cannot read {missing}: no such file" in err
    read = [vxsum.analyze_file(p, keep_going=True).packets for p in (BUNDLED[0], bad)]
    assert f"packets read: {sum(read)} in 2 files\nfile not read: 1\n" in out
    assert main(args) == 2  # without --keep-going, the first one ends the run
    assert capsys.readouterr().err == (
        f"vxsum analyze: cannot read {missing}: no such file or directory\n"  # said by a worker
    )
    assert main(["analyze", "-", "--scheduler", address]) == 2
    assert "standard input (-) cannot" in capsys.readouterr().err


def test_analyze_scheduler_that_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vxsum.cli.analyze

    monkeypatch.setattr(vxsum.cli.analyze, "_CONNECT_TIMEOUT", 1)
    assert main(["analyze", BUNDLED[0], "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vxsum analyze: cannot reach the Dask scheduler at tcp://127.0.0.1:9: ")
    assert err.count("\n") == 1
