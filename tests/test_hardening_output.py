"""Output, signals and option values of the vxsum command (issue 14, hostile-user campaign).

What each test holds: an output file appears only when the run succeeded and never
replaces one of the inputs; an output that cannot be written is exit 2 with one line; a
closed pipe is exit 0 without a word; ``-o -`` is standard output; SIGINT and SIGTERM stop
with 130 and 143 and one line, leaving no partial file under the name; counts and port
lists that would silently bend are refused. Where the behaviour involves real processes,
pipes or signals, the command runs as ``python -m vxsum`` in a subprocess.
"""

from __future__ import annotations

import importlib.util
import io
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest

from vxsum.cli.app import main
from vxsum.testing.captures import damage_capture

VXSUM = [sys.executable, "-m", "vxsum"]
FORMATS = ["text", "jsonl", "csv", "parquet"]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 packets, 107 of them damaged: --all-fields gives 8000 rows (~400 kB of csv)."""
    path = tmp_path_factory.mktemp("capture") / "trace.pcap"
    damage_capture(path, packets=2000, rate=0.05, seed=1)
    return path


def _needs(fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of an unfinished output."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# Finding 2: -o is written beside the target and renamed on success; never an input.


def test_output_naming_an_input_is_refused(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "x.pcap"
    mine.write_bytes(capture.read_bytes())
    link = tmp_path / "hard.pcap"
    os.link(mine, link)
    before = mine.read_bytes()
    for argv in (
        ["analyze", str(mine), "--format", "jsonl", "-o", str(mine)],
        ["analyze", str(mine), "-o", str(link)],  # the same inode, another name
        ["analyze", str(capture), "--before-nat", str(mine), "-o", str(mine)],
    ):
        assert main(argv) == 2
        line = _one_line(capsys.readouterr().err)
        assert line.startswith("vxsum analyze: cannot write ") and "is also an input" in line
    assert mine.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_failed_run_leaves_an_existing_output_as_it_was(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupt second file fails the run after the first file's rows were written."""
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(capture.read_bytes()[:-10])  # the last record cut short
    parquet = ["parquet"] if importlib.util.find_spec("pyarrow") else []
    for fmt in ["jsonl", "csv", "text", *parquet]:
        out = tmp_path / f"out.{fmt}"
        out.write_text("old\n")
        argv = ["analyze", str(capture), str(bad), "--all-fields", "--format", fmt, "-o", str(out)]
        assert main(argv) == 2
        error, hint = capsys.readouterr().err.splitlines()  # the error, and what was read
        assert "record 2000" in error and hint.startswith("vxsum analyze: (the 1,999 records")
        assert out.read_text() == "old\n"
    new = tmp_path / "new.jsonl"
    assert main(["analyze", str(bad), "--format", "jsonl", "-o", str(new)]) == 2
    assert not new.exists()
    assert _leftovers(tmp_path) == []


def test_successful_run_replaces_the_file_keeping_its_mode_and_links(
    capture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old\n")
    out.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(out.name)
    assert main(["analyze", str(capture), "-o", str(link)]) == 0
    assert link.is_symlink() and out.read_text().startswith("packets read: 2000")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    new = tmp_path / "new.jsonl"
    umask = os.umask(0o022)
    try:
        assert main(["analyze", str(capture), "--format", "jsonl", "-o", str(new)]) == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # not mkstemp's 0600
    assert _leftovers(tmp_path) == []


# Finding 3: output errors are exit 2 with one line, never a traceback or exit 1.


@pytest.mark.parametrize("fmt", FORMATS)
def test_unwritable_output_is_exit_2_with_one_line(
    fmt: str, capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _needs(fmt)
    cases = {
        "/dev/full": "cannot write /dev/full: no space left on device",
        str(tmp_path / "missing" / "x"): "no such file or directory",
        str(tmp_path): f"cannot write {tmp_path}: is a directory",
        "/proc/vxsum-test": "cannot write /proc/vxsum-test: ",  # fails for root too
    }
    for target, says in cases.items():
        assert main(["analyze", str(capture), "--format", fmt, "-o", target]) == 2, target
        line = _one_line(capsys.readouterr().err)
        assert line.startswith("vxsum analyze: cannot write ") and says in line, line
    assert _leftovers(tmp_path) == []


def test_unwritable_repro_output_is_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(tmp_path / "ok.pcap")
    for argv in (
        ["-o", "/dev/full"],
        ["-o", str(tmp_path)],
        ["-o", str(tmp_path / "missing" / "x.pcap")],
        ["-o", good, "--conntrack", "/dev/full"],
        ["-o", good, "--conntrack", good],
    ):
        assert main(["repro", *argv]) == 2, argv
        assert _one_line(capsys.readouterr().err).startswith("vxsum repro: ")


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "{capture}"],
        ["analyze", "{capture}", "--format", "jsonl", "--all-fields"],
        ["analyze", "{capture}", "--format", "csv", "--all-fields"],
        ["analyze", "{capture}", "--format", "parquet", "-o", "-"],
        ["explain", "{capture}", "--frame", "1"],
        ["repro", "-o", "-"],
        ["demo"],
    ],
    ids=lambda argv: " ".join(argv[:1] + [a for a in argv[2:] if a.startswith("-")]),
)
def test_full_standard_output_is_exit_2_with_one_line(argv: list[str], capture: Path) -> None:
    _needs("parquet" if "parquet" in argv else "")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            VXSUM + [a.format(capture=capture) for a in argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    line = done.stderr.splitlines()[-1]
    assert line == f"vxsum {argv[0]}: cannot write standard output: no space left on device"
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr


# Finding 8: a closed pipe is exit 0 without a word, whatever the format or command.


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "{capture}"],
        ["analyze", "{capture}", "--format", "jsonl", "--all-fields"],
        ["analyze", "{capture}", "--format", "csv", "--all-fields"],
        ["analyze", "{capture}", "{capture}", "--jobs", "2", "--format", "csv", "--all-fields"],
        ["analyze", "{capture}", "--format", "parquet", "-o", "-"],
        ["explain", "{capture}", "--frame", "1"],
        ["repro", "-o", "-"],
        ["demo"],
    ],
    ids=lambda argv: " ".join(argv[:1] + [a for a in argv[2:] if a.startswith("-")]),
)
def test_closed_pipe_is_exit_0_quietly(argv: list[str], capture: Path) -> None:
    """As `| head -0`: the reader is gone before the first byte."""
    _needs("parquet" if "parquet" in argv else "")
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            VXSUM + [a.format(capture=capture) for a in argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")


def test_csv_into_head_is_not_blamed_on_the_input(capture: Path) -> None:
    """`vxsum analyze trace.pcap --format csv | head -1` said 'cannot read trace.pcap'."""
    run = subprocess.Popen(
        [*VXSUM, "analyze", str(capture), "--format", "csv", "--all-fields"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert run.stdout is not None and run.stderr is not None
    assert run.stdout.readline().startswith(b"file,frame,")
    run.stdout.close()
    err = run.stderr.read().decode()
    assert (run.wait(timeout=120), err) == (0, "")


# Finding 11: -o - is standard output.


@pytest.mark.parametrize("fmt", FORMATS)
def test_dash_output_is_standard_output(fmt: str, capture: Path, tmp_path: Path) -> None:
    _needs(fmt)
    done = subprocess.run(
        [*VXSUM, "analyze", str(capture), "--format", fmt, "-o", "-"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []  # no file named '-'
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(io.BytesIO(done.stdout)).num_rows == 107
    else:
        start = {"text": b"packets read: 2000", "jsonl": b'{"file": ', "csv": b"file,frame,"}
        assert done.stdout.startswith(start[fmt])


def test_open_files_are_written_directly(capture: Path, tmp_path: Path) -> None:
    """/dev/stdout names the pipe it is: no temporary file beside it (in /proc)."""
    for target in ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"):
        done = subprocess.run(
            [*VXSUM, "analyze", str(capture), "-o", target], capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(b"packets read: 2000")


def test_parquet_is_not_written_to_a_terminal(capture: Path) -> None:
    pytest.importorskip("pyarrow")
    import pty

    main_fd, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [*VXSUM, "analyze", str(capture), "--format", "parquet", "-o", "-"],
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(main_fd)
    assert done.returncode == 2
    assert _one_line(done.stderr).startswith("vxsum analyze: --format parquet is binary")


def test_repro_dash_output_is_a_pcap_on_standard_output(tmp_path: Path) -> None:
    done = subprocess.run(
        [*VXSUM, "repro", "-o", "-"], cwd=tmp_path, capture_output=True, timeout=120
    )
    assert done.returncode == 0 and list(tmp_path.iterdir()) == []
    assert done.stdout[:4] == bytes.fromhex("d4c3b2a1")  # the pcap magic, little-endian
    assert done.stderr.decode() == "wrote 2 packets (wire tap) to standard output\n"


# Finding 7: SIGINT and SIGTERM (and SIGHUP): 130 and 143 (129), one line, no partial file
# under the name.


def _as_on_a_terminal() -> None:
    """SIGINT as a shell's foreground job has it (a background job inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal_mid_run(
    capture: Path, args: list[str], started: Callable[[], bool], sig: signal.Signals
) -> tuple[int, str]:
    """Run ``vxsum analyze CAPTURE - ARGS`` with standard input a live capture (the
    header, then records without end), send ``sig`` once ``started()`` holds, and return
    the exit status and stderr."""
    data = capture.read_bytes()
    run = subprocess.Popen(
        [*VXSUM, "analyze", str(capture), "-", *args],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_as_on_a_terminal,
    )
    assert run.stdin is not None and run.stderr is not None
    stdin = run.stdin

    def feed() -> None:
        with suppress(OSError, ValueError):
            stdin.write(data)
            while run.poll() is None:
                stdin.write(data[24:])

    threading.Thread(target=feed, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not started():
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        run.send_signal(sig)
        run.wait(timeout=60)
    finally:
        run.kill()
        with suppress(OSError):
            stdin.close()
    return run.returncode, run.stderr.read().decode()


@pytest.mark.parametrize(
    ("sig", "status", "word"),
    [
        (signal.SIGHUP, 129, "hung up"),
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
    ],
)
def test_signal_mid_run_leaves_no_partial_output(
    sig: signal.Signals, status: int, word: str, capture: Path, tmp_path: Path
) -> None:
    """The capture's rows are written, standard input (a pipe that goes on) is being
    read: the signal comes mid-run, with many valid-looking lines in the output."""
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")

    def started() -> bool:
        return any(p.stat().st_size > 100_000 for p in tmp_path.glob(".out.jsonl.*.part"))

    args = ["--all-fields", "--format", "jsonl", "-o", str(out)]
    assert _signal_mid_run(capture, args, started, sig) == (status, f"vxsum analyze: {word}\n")
    assert out.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_run_leaves_no_partial_dataset(
    sig: signal.Signals, status: int, capture: Path, tmp_path: Path
) -> None:
    """``--format parquet-dataset``: the first capture's part is written in the temporary
    directory when the signal comes; neither it nor the directory is left behind."""
    pytest.importorskip("pyarrow")
    out = tmp_path / "out"

    def started() -> bool:
        return bool(list(tmp_path.glob(".out.*.part/part-00000.parquet")))

    args = ["--format", "parquet-dataset", "-o", str(out)]
    code, err = _signal_mid_run(capture, args, started, sig)
    assert code == status, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _fork(then: Callable[[], object]) -> int:
    """The wait status of a forked child that runs ``then`` (and exits 0 if it returns)."""
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            then()
        finally:
            os._exit(0)
    return os.waitpid(child, 0)[1]


def test_sigterm_ends_the_process_that_set_it_and_kills_forked_workers() -> None:
    """The process that set the handler ends with 143 after its line; a worker forked by
    --jobs dies of the signal as it always did (else a signal to the process group left
    the pool hung)."""
    from vxsum.cli.app import _signals_end_the_run

    def selfkill() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    def vxsum_itself() -> None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # its line, not in the test's output
        with _signals_end_the_run("vxsum test"):
            selfkill()

    status = _fork(vxsum_itself)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 143
    with _signals_end_the_run("vxsum test"):
        status = _fork(selfkill)  # a worker: forked while the handler is set
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM


# Findings 13 and 14: counts and port lists that would silently bend are refused.


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["repro", "--attempts", "-1"], "argument --attempts: must be 1 or more: '-1'"),
        (["repro", "--attempts", "0"], "argument --attempts: must be 1 or more: '0'"),
        (["analyze", "{capture}", "--jobs", "0"], "argument --jobs: must be 1 or more: '0'"),
        (["analyze", "{capture}", "--jobs", "-1"], "argument --jobs: must be 1 or more: '-1'"),
        (
            ["analyze", "{capture}", "--vxlan-ports", ""],
            "argument --vxlan-ports: give at least one port: ''",
        ),
        (
            ["analyze", "{capture}", "--vxlan-ports", ","],
            "argument --vxlan-ports: give at least one port: ','",
        ),
        (["explain", "{capture}", "--frame", "0"], "argument --frame: must be 1 or more"),
    ],
)
def test_values_that_would_bend_are_usage_errors(
    argv: list[str],
    says: str,
    capture: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out.pcap"
    full = [a.format(capture=capture) for a in argv] + (
        ["-o", str(out)] if argv[0] == "repro" else []
    )
    with pytest.raises(SystemExit) as exit_:
        main(full)
    assert exit_.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"vxsum {argv[0]}: {says}"), line
    assert not out.exists()


# Finding 18: explain of a directory says so in one line.


def test_explain_of_a_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(tmp_path), "--frame", "1"]) == 2
    assert capsys.readouterr().err == f"vxsum explain: cannot read {tmp_path}: is a directory\n"
    none = tmp_path / "none.pcap"
    assert main(["explain", str(none), "--frame", "1"]) == 2
    err = capsys.readouterr().err
    assert err == f"vxsum explain: cannot read {none}: no such file or directory\n"
