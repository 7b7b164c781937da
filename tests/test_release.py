"""The release check: the wheel and the sdist, built as a user gets them, install into fresh
virtual environments and run.

It exists because files went missing from the package (``fuzz/`` was not in the sdist), and
the rest of the suite cannot see that: it runs from the work tree, where every file is. Slow
(a build, then two installs whose dependencies come from the package registry: a minute or
two), so it runs only with ``VXSUM_RELEASE_CHECK=1``, which ``.ci/run`` sets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import vxsum

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.release,
    pytest.mark.skipif(
        os.environ.get("VXSUM_RELEASE_CHECK") != "1",
        reason="slow (builds and installs the package): set VXSUM_RELEASE_CHECK=1, as .ci/run does",
    ),
]

CAPTURES = [
    "vxsum/data/flannel-5.4.40-noudpcsum-wire.pcap",
    "vxsum/data/flannel-6.18-pr92035-sender.pcap",
    "vxsum/data/flannel-6.18-udpcsum-wire.pcap",
]
WHEEL = ["vxsum/__init__.py", "vxsum/py.typed", "vxsum/testing/hook.py", *CAPTURES]
SDIST = [
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "Makefile",
    "fuzz/fuzz_parse.py",
    "tests/conftest.py",
    "tests/test_release.py",
    "benchmarks/conftest.py",
    "docs/cli.md",
    *WHEEL,
]


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    """Run a command outside this environment (no PYTHONPATH, no active venv); its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


def _one(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def test_the_sdist_holds_what_a_checkout_needs(dist: Path) -> None:
    sdist = _one(dist, "vxsum-*.tar.gz")
    with tarfile.open(sdist) as tar:
        top = sdist.name.removesuffix(".tar.gz")
        names = {n.removeprefix(f"{top}/") for n in tar.getnames()}
    assert set(SDIST) <= names, sorted(set(SDIST) - names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_holds_the_package_its_data_and_license(dist: Path) -> None:
    wheel = _one(dist, "vxsum-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = whl.read(f"{info}/METADATA").decode()
        entry_points = whl.read(f"{info}/entry_points.txt").decode()
    assert set(WHEEL) | {f"{info}/licenses/LICENSE"} <= names
    assert not [n for n in names if n.startswith(("tests/", "fuzz/", "benchmarks/"))]
    assert "License-Expression: MIT" in metadata
    assert "vxsum = vxsum.cli:main" in entry_points
    assert "vxsum.testing.hook:setup" in entry_points


@pytest.mark.parametrize("kind", ["whl", "tar.gz"])
def test_installs_and_runs_in_a_fresh_environment(dist: Path, kind: str, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", env)
    _run(env / "bin" / "python", "-m", "pip", "install", "-q", _one(dist, f"vxsum-*.{kind}"))
    assert _run(env / "bin" / "vxsum", "--version", cwd=tmp_path) == f"vxsum {vxsum.__version__}\n"
    demo = _run(env / "bin" / "vxsum", "demo", cwd=tmp_path)
    assert "nat-zero-mangled (6 fields)" in demo and "offload-seed (1 field, harmless)" in demo
    code = "import vxsum; vxsum.checksum(b'ab'); print(vxsum.__file__)"
    where = _run(env / "bin" / "python", "-c", code, cwd=tmp_path)  # not the work tree's
    assert Path(where.strip()).is_relative_to(env)
