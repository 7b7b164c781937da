"""hypothesis's entry point into vxsum: register the strategies for ``st.from_type``.

Hypothesis runs its entry points when it is first imported (unless
``HYPOTHESIS_NO_PLUGINS`` is set). If that import comes from
:mod:`vxsum.testing.draw` itself, half-loaded, this does nothing:
:mod:`vxsum.testing.strategies` registers its types when it is imported.
"""

from __future__ import annotations

import sys

__all__ = ["setup"]


def setup() -> None:
    """Import :mod:`vxsum.testing.strategies`, which registers its types."""
    draw = sys.modules.get("vxsum.testing.draw")
    if draw is not None and not getattr(draw, "READY", False):
        return
    from . import strategies  # noqa: F401  # heavy: only when hypothesis is in use
