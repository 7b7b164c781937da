"""Verdicts: from checksum-field facts to a label and its evidence, as codes and numbers.

:mod:`~vxsum.verdicts.rules` is the only place a cause is decided (the codes are in
:mod:`~vxsum.verdicts.labels`); :mod:`~vxsum.verdicts.confirm` checks a NAT explanation
against a conntrack table or a capture taken before NAT
(:mod:`~vxsum.verdicts.prenat`), with the kernel model; :mod:`~vxsum.verdicts.flows`
weighs what the packets of a flow say together; :mod:`~vxsum.verdicts.verdict` runs them
in that order (:func:`classify`, :func:`classify_stream`, :class:`Judge`);
:mod:`~vxsum.verdicts.diagnosis` says what a capture's verdicts mean for the cluster, and
:mod:`~vxsum.verdicts.text` puts codes into words for the edge.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .diagnosis import Diagnosis, Finding, diagnose
    from .flows import FlowTable
    from .labels import HARMLESS, LABELS, ROW, Context, Evidence, Label
    from .prenat import Before, PreNatCapture
    from .rules import judge
    from .verdict import FrameVerdicts, Judge, Verdict, classify, classify_stream

_SOURCES = {
    "Diagnosis": "diagnosis",
    "Finding": "diagnosis",
    "diagnose": "diagnosis",
    "FlowTable": "flows",
    "HARMLESS": "labels",
    "LABELS": "labels",
    "ROW": "labels",
    "Context": "labels",
    "Evidence": "labels",
    "Label": "labels",
    "Before": "prenat",
    "PreNatCapture": "prenat",
    "judge": "rules",
    "FrameVerdicts": "verdict",
    "Judge": "verdict",
    "Verdict": "verdict",
    "classify": "verdict",
    "classify_stream": "verdict",
}
"""Where each exported name lives (imported on first use, PEP 562)."""

__all__ = [
    "HARMLESS",
    "LABELS",
    "ROW",
    "Before",
    "Context",
    "Diagnosis",
    "Evidence",
    "Finding",
    "FlowTable",
    "FrameVerdicts",
    "Judge",
    "Label",
    "PreNatCapture",
    "Verdict",
    "classify",
    "classify_stream",
    "diagnose",
    "judge",
]


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
