"""The package's shape stays as docs/architecture.md describes it.

Every import between vxsum's modules counts here: at the top, inside functions, and under
``TYPE_CHECKING``. A stage imports only itself and the stages before it; nothing imports in
a circle; modules stay small; each sub-package says what it owns and what it exports.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import vxsum

PACKAGE = Path(vxsum.__file__).parent
STAGES = {  # the path from bytes to a report; a stage may import only lower numbers
    "errors": 0,
    "core": 1,
    "capture": 2,
    "frames": 3,
    "kernel": 4,
    "verdicts": 5,
    "report": 6,
    "testing": 7,
    "lab": 8,
    "cli": 9,
}
FACE = {"vxsum", "vxsum.__main__"}  # the package's face may import any stage
MAX_LINES = 700
MAX_TOP_MODULES = 8


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The vxsum modules ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "vxsum"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.split(".")[0] == "vxsum":
                target = node.module
            else:
                continue
            submodules = {f"{target}.{a.name}" for a in node.names} & MODULES.keys()
            found |= submodules  # "from . import text" imports the module text
            if len(submodules) < len(node.names):  # and names from the package itself
                found.add(target)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.get(parts[1]) if len(parts) > 1 else None


def test_no_stage_imports_a_later_one() -> None:
    upward = [
        f"{a} ({_stage(a)}) imports {b} ({_stage(b)})"
        for a, targets in GRAPH.items()
        if a not in FACE
        for b in targets
        if b != "vxsum" and (_stage(b) or 0) > (_stage(a) or 0)
    ]
    assert not upward, "\n".join(upward)
    assert not [a for a, t in GRAPH.items() if "vxsum" in t and a not in FACE], (
        "modules import from vxsum/__init__ instead of where a name lives"
    )


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_modules_import_their_package_only_by_its_modules() -> None:
    """A module never imports its own (or a parent) package's __init__: that is where a
    cycle through re-exports would start."""
    bad = [
        f"{a} imports {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if a.startswith(b + ".") and b != "vxsum" and MODULES[b].name == "__init__.py"
    ]
    assert not bad, "\n".join(bad)


def test_small_modules() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert not {n: k for n, k in long.items() if k > MAX_LINES}


def test_few_modules_at_the_top() -> None:
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_MODULES, top


@pytest.mark.parametrize("package", sorted(STAGES))
def test_each_subpackage_says_what_it_owns(package: str) -> None:
    module = importlib.import_module(f"vxsum.{package}")
    assert module.__doc__ and len(module.__doc__) > 40
    assert isinstance(module.__all__, list)
    for name in module.__all__:
        assert hasattr(module, name), f"vxsum.{package}.{name}"


def test_no_function_is_named_like_its_module() -> None:
    same = []
    for name, path in MODULES.items():
        leaf = name.rpartition(".")[2]
        tree = ast.parse(path.read_text())
        defined = {
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        }
        if leaf in defined:
            same.append(name)
    assert not same


def test_the_public_surface_is_small_and_real() -> None:
    assert len(vxsum.__all__) <= 35
    assert set(vxsum.__all__) - {"__version__"} == set(vxsum._SOURCES)
    for name in vxsum.__all__:
        assert getattr(vxsum, name) is not None
    with pytest.raises(AttributeError):
        _ = vxsum.no_such_name  # type: ignore[attr-defined]
    assert vxsum.frames.UDP.__module__ == "vxsum.frames.transport"  # sub-packages load lazily


def test_the_rule_set_lives_in_one_module() -> None:
    """Only verdicts/rules.py decides a cause from a field's bytes: no other module of the
    library uses the ephemeral port range (where the kernel model defines it, and the
    strategies that build stale cases from it, aside)."""
    allowed = {"vxsum.verdicts.rules", "vxsum.verdicts.stats", "vxsum.kernel.encap", "vxsum.kernel"}
    allowed |= {"vxsum.testing.strategies"}
    users = {n for n, p in MODULES.items() if "EPHEMERAL_PORTS" in p.read_text()}
    assert users <= allowed, users - allowed


def test_a_row_is_a_fact_and_its_verdict() -> None:
    from vxsum.frames.facts import FACT
    from vxsum.verdicts.labels import ROW

    assert ROW.descr[: len(FACT.descr)] == FACT.descr


def test_fixed_headers_name_every_field() -> None:
    """A header read field for field from one struct names each of its fields once."""
    from dataclasses import fields

    from vxsum.frames.layer import Fixed, Layer

    base = {f.name for f in fields(Layer)}
    found = []
    for module in ("link", "ip", "transport", "tunnels"):
        mod = importlib.import_module(f"vxsum.frames.{module}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, Fixed) and obj is not Fixed:
                if not hasattr(obj, "LAYER"):
                    continue  # a shared base (ICMP's and ICMPv6's)
                found.append(obj)
                own = [f.name for f in fields(obj) if f.name not in base]
                assert list(obj.FIELDS) == own, obj
                assert len(obj.FIELDS) == len(obj.FORMAT.unpack(bytes(obj.FORMAT.size))), obj
    assert len(found) >= 8


@pytest.mark.parametrize("package", sorted(STAGES))
def test_no_attribute_is_both_a_module_and_a_name(package: str) -> None:
    """``vxsum.<package>.<x>`` is a submodule or an exported name, never both."""
    module = importlib.import_module(f"vxsum.{package}")
    submodules = {n.rpartition(".")[2] for n in MODULES if n.startswith(f"vxsum.{package}.")}
    assert not set(getattr(module, "__all__", [])) & submodules


def test_the_analyze_path_does_not_import_the_builder_or_the_kernel_model() -> None:
    """Sub-packages import their names on first use (PEP 562), so ``vxsum analyze``
    starts without the frame builder and the kernel's scenarios (about 60 ms of imports)."""
    import subprocess
    import sys

    code = (
        "import sys, vxsum.cli.analyze, vxsum.report.analysis; "
        "print(sorted(m for m in sys.modules if m.startswith('vxsum.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("vxsum.frames.builder", "vxsum.kernel.scenario", "vxsum.kernel.repro"):
        assert f"'{heavy}'" not in loaded, heavy


def test_every_module_has_its_api_page() -> None:
    """docs/api/ (one page per sub-package) documents every public module."""
    documented: set[str] = set()
    for page in (PACKAGE.parent / "docs" / "api").glob("*.md"):
        documented |= set(re.findall(r"\.\. automodule:: (\S+)", page.read_text()))
    public = {n for n in MODULES if not n.rsplit(".", 1)[-1].startswith("_")}
    assert public - documented == set()
    assert documented - public == set()
