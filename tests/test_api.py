"""The public face: every exported name exists, is documented, and the package is typed."""

from __future__ import annotations

import inspect
from pathlib import Path

import vxsum


def test_every_public_name_exists_and_has_a_docstring() -> None:
    for name in vxsum.__all__:
        obj = getattr(vxsum, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"vxsum.{name} has no docstring"


def test_the_package_is_typed() -> None:
    assert (Path(vxsum.__file__).parent / "py.typed").exists()


def test_one_exception_root() -> None:
    for name in ("ParseError", "CaptureError"):
        assert issubclass(getattr(vxsum, name), vxsum.VxsumError)
