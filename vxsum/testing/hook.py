"""hypothesis's entry point into vxsum: ``st.from_type`` knows vxsum's types, at little cost.

Hypothesis runs its entry points whenever it is imported (unless ``HYPOTHESIS_NO_PLUGINS``
is set), in every project that has vxsum installed, so :func:`setup` imports nothing of
vxsum. For each class of :data:`TYPES` it registers a function that imports
:mod:`vxsum.testing.strategies` when a strategy for the class is first asked for: at once
for the modules already imported, and for the others when they are imported (a finder on
``sys.meta_path`` that removes itself once they all are).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["TYPES", "setup"]

TYPES: dict[str, tuple[str, ...]] = {
    "vxsum.frames.builder": (
        "EthernetSpec",
        "VlanSpec",
        "IPv4Spec",
        "IPv6Spec",
        "IPv6OptionsSpec",
        "IPv6RoutingSpec",
        "IPv6FragmentSpec",
        "UDPSpec",
        "TCPSpec",
        "ICMPSpec",
        "ICMPv6Spec",
        "VxlanSpec",
        "GeneveSpec",
    ),
    "vxsum.frames.link": ("Ethernet", "Vlan"),
    "vxsum.frames.ip": ("IPv4", "IPv6", "IPv6Options", "IPv6Routing", "IPv6Fragment"),
    "vxsum.frames.transport": ("UDP", "TCP", "ICMP", "ICMPv6"),
    "vxsum.frames.tunnels": ("Vxlan", "Geneve", "GeneveOption"),
    "vxsum.kernel.versions": ("Kernel",),
    "vxsum.kernel.scenario": ("KubeProxy", "Cluster"),
}
"""The classes :mod:`vxsum.testing.strategies` has a strategy for, by module (a test keeps
this equal to what it registers)."""

_PENDING: set[str] = set()
"""The modules of :data:`TYPES` not imported yet."""


def _strategy(cls: type) -> Any:
    """The strategy for ``cls``: the first call imports the strategies (which then register
    themselves in place of this function)."""
    from .strategies import type_strategies

    return type_strategies()[cls]


def _register(module: ModuleType) -> None:
    from hypothesis import strategies as st

    for name in TYPES[module.__name__]:
        st.register_type_strategy(getattr(module, name), _strategy)


class _Finder:
    """Finds nothing itself: asks the other finders for a module of :data:`TYPES`, and has
    the loader they give register its classes once the module has run."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in _PENDING:
            return None
        spec: ModuleSpec | None = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is not self and find is not None:
                spec = find(name, path, target)
                if spec is not None:
                    break
        if spec is None:
            return None
        loader = spec.loader
        if loader is None:  # pragma: no cover - a namespace package: nothing runs
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if module.__name__ in _PENDING:
                _PENDING.discard(module.__name__)
                _register(module)
                if not _PENDING and self in sys.meta_path:
                    sys.meta_path.remove(self)

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this module's loader
        return spec


_FINDER = _Finder()


def setup() -> None:
    """Register vxsum's types with ``st.from_type``, each imported when first drawn."""
    for name in TYPES:
        module = sys.modules.get(name)
        if module is None:
            _PENDING.add(name)
        elif all(hasattr(module, c) for c in TYPES[name]):
            _register(module)
        # else half-imported: vxsum.testing.strategies registers the types when imported
    if _PENDING and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
