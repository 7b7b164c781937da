"""``vxsum completion``: the scripts are valid for their shell and complete what the parser
has (sub-commands, options, choices, file names), run in a real bash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vxsum.cli import main


def _script(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_script_is_valid_for_its_shell(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = _script(shell, capsys)
    checked = subprocess.run([shell, "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    assert "--summary-json" in script and "analyze" in script


def _complete(script: Path, words: list[str], cwd: Path) -> list[str]:
    """What bash offers for ``words`` (the last is the one being completed)."""
    line = " ".join(words)
    program = f"""
source {script}
COMP_WORDS=({" ".join(repr(w) if w else "''" for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={line!r}
COMP_POINT={len(line)}
_shtab_vxsum
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return sorted(w.strip() for w in done.stdout.splitlines() if w.strip())


def test_bash_completes_commands_options_choices_and_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    script = tmp_path / "vxsum.bash"
    script.write_text(_script("bash", capsys))
    (tmp_path / "node-a.pcap").write_bytes(b"")
    assert _complete(script, ["vxsum", "an"], tmp_path) == ["analyze"]
    assert "completion" in _complete(script, ["vxsum", ""], tmp_path)
    assert _complete(script, ["vxsum", "analyze", "--summ"], tmp_path) == ["--summary-json"]
    assert _complete(script, ["vxsum", "analyze", "--format", "c"], tmp_path) == ["csv"]
    want = ["parquet", "parquet-dataset"]
    assert _complete(script, ["vxsum", "analyze", "--format", "p"], tmp_path) == want
    assert _complete(script, ["vxsum", "analyze", "node"], tmp_path) == ["node-a.pcap"]
    assert _complete(script, ["vxsum", "completion", "z"], tmp_path) == ["zsh"]


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["completion", "fish"])
    assert stop.value.code == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err
