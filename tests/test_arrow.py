"""vxsum.scan: the rows as Arrow record batches, the same as every other output's."""

from __future__ import annotations

import io
import json
from importlib.resources import files
from pathlib import Path

import pytest

import vxsum
from vxsum.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

DATA = files("vxsum") / "data"
CAPTURES = sorted(str(p) for p in DATA.iterdir() if p.name.endswith(".pcap"))  # type: ignore[attr-defined]


def _jsonl(path: str, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, object]]:
    main(["analyze", path, "--format", "jsonl", *extra])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for row in rows:
        row.setdefault("quoted", False)
    return rows


@pytest.mark.parametrize("path", CAPTURES)
@pytest.mark.parametrize("all_fields", [False, True])
def test_scan_gives_the_rows_of_jsonl(
    path: str, all_fields: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    table = pa.Table.from_batches(vxsum.scan(path, all_fields=all_fields))
    extra = ("--all-fields",) if all_fields else ()
    assert table.to_pylist() == _jsonl(path, capsys, *extra)
    assert table.num_rows > 0


def test_scan_reads_files_in_turn_and_streams(capsys: pytest.CaptureFixture[str]) -> None:
    table = pa.Table.from_batches(vxsum.scan(CAPTURES))
    assert table.column("file").to_pylist() == [
        r["file"] for path in CAPTURES for r in _jsonl(path, capsys)
    ]
    data = Path(CAPTURES[0]).read_bytes()
    streamed = pa.Table.from_batches(vxsum.scan(io.BytesIO(data)))
    assert set(streamed.column("file").to_pylist()) == {"-"}
    assert streamed.drop_columns(["file"]) == pa.Table.from_batches(
        vxsum.scan(CAPTURES[0])
    ).drop_columns(["file"])


def test_one_versioned_schema_for_scan_and_parquet(tmp_path: Path) -> None:
    out = tmp_path / "rows.parquet"
    assert main(["analyze", *CAPTURES, "--format", "parquet", "-o", str(out)]) == 0
    written = pq.read_table(out)
    scanned = pa.Table.from_batches(vxsum.scan(CAPTURES), schema=vxsum.report.schema())
    assert written.schema == scanned.schema == vxsum.report.schema()
    assert written.schema.metadata == {b"vxsum.schema_version": b"4"}
    assert written.to_pylist() == scanned.to_pylist()  # dictionaries may be laid out apart


LABEL_COLUMNS = ("file", "layer", "verdict", "detail", "confirmed_by", "hypothesis")


@pytest.mark.parametrize("all_fields", [False, True])
def test_labels_are_dictionary_encoded_with_the_texts_used(all_fields: bool) -> None:
    """Schema version 4: the label columns are dictionaries of the texts a batch uses
    (pandas categoricals with no empty groups), the other columns as before."""
    batches = list(vxsum.scan(CAPTURES, all_fields=all_fields))
    assert batches
    for batch in batches:
        for name in LABEL_COLUMNS:
            column = batch.column(name)
            assert column.type == pa.dictionary(pa.int32(), pa.string()), name
            used = column.dictionary_decode().drop_null().to_pylist()
            assert sorted(column.dictionary.to_pylist()) == sorted(set(used)), name
    frame = pa.Table.from_batches(batches).to_pandas()
    assert str(frame["verdict"].dtype) == "category"
    counts = frame.groupby("verdict", observed=False).size()
    assert (counts > 0).all()  # no category without a row
    assert str(frame["frame"].dtype) == "int64"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_parquet_dataset_is_the_parquet_file_split_by_capture(tmp_path: Path, jobs: str) -> None:
    """``--format parquet-dataset -o DIR``: one part per capture with rows, in file order,
    each of the one schema; read as a dataset, the rows of ``--format parquet``."""
    single, folder = tmp_path / "rows.parquet", tmp_path / "rows"
    assert main(["analyze", *CAPTURES, "--format", "parquet", "-o", str(single)]) == 0
    args = ["analyze", *CAPTURES, "--format", "parquet-dataset", "-o", str(folder)]
    assert main([*args, "--jobs", jobs]) == 0
    whole = pq.read_table(single)
    files = list(dict.fromkeys(whole.column("file").to_pylist()))
    assert len(files) == len(CAPTURES) > 1
    parts = sorted(p.name for p in folder.iterdir())
    assert parts == [f"part-{k:05d}.parquet" for k in range(len(files))]
    for name, part in zip(files, parts, strict=True):
        table = pq.read_table(folder / part)
        assert table.schema == vxsum.report.schema()
        assert set(table.column("file").to_pylist()) == {name}
    assert pq.read_table(folder).to_pylist() == whole.to_pylist()


def test_a_parquet_dataset_never_lands_on_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The directory is written beside and renamed at the end: it may exist only empty,
    a failed run leaves nothing, and it needs a name."""
    run = ["analyze", *CAPTURES, "--format", "parquet-dataset", "-o"]
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    for target, says in [
        (full, f"cannot write {full}: directory not empty"),
        (a_file, f"cannot write {a_file}: not a directory"),
    ]:
        assert main([*run, str(target)]) == 2
        assert capsys.readouterr().err.strip().endswith(says)
    assert [p.name for p in full.iterdir()] == ["keep.txt"] and a_file.read_text() == "mine"
    for missing in ([], ["-o", "-"]):
        assert main(["analyze", CAPTURES[0], "--format", "parquet-dataset", *missing]) == 2
        assert "give -o DIRECTORY" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*run, str(empty)]) == 0 and len(list(empty.iterdir())) == len(CAPTURES)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    target = tmp_path / "failed"
    assert (
        main(["analyze", CAPTURES[0], str(bad), "--format", "parquet-dataset", "-o", str(target)])
        == 2
    )
    capsys.readouterr()
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pcap", "empty", "file", "full"]
