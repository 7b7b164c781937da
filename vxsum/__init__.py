"""vxsum: explain bad packet checksums.

The names a user reaches for first; everything else is imported from where it lives, one
sub-package per stage of the path from bytes to a report:

* :mod:`vxsum.core`: checksums of one buffer and of many (RFC 1071, 1624, pseudo-headers);
* :mod:`vxsum.capture`: pcap and pcapng files to records;
* :mod:`vxsum.frames`: a frame to headers and checksum-field facts (and back: the builder);
* :mod:`vxsum.kernel`: the kernel model (NAT, VXLAN, offload, versions, scenarios);
* :mod:`vxsum.verdicts`: facts to labels and evidence (the rules, NAT and flow context);
* :mod:`vxsum.report`: whole captures to rows and reports (jsonl, csv, parquet);
* :mod:`vxsum.cli`, :mod:`vxsum.testing` (hypothesis strategies), :mod:`vxsum.lab` (the
  real-kernel lab).

Names are imported on first use (PEP 562), so ``import vxsum`` costs little.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .capture import CaptureReader, LinkType, iter_records
    from .core import (
        checksum,
        checksums,
        fold,
        ones_sum,
        pseudo_header_sum,
        pseudo_header_sum_v4,
        pseudo_header_sum_v6,
        update16,
        update_span,
        verify,
    )
    from .errors import CaptureError, ParseError, VxsumError
    from .frames import ChecksumField, Frame, ParseConfig, Status, build, parse
    from .kernel import Cluster, Conntrack, Kernel, nat_rewrite
    from .report import FileReport, analyze_file, scan
    from .verdicts import Label, PreNatCapture, Verdict, classify, classify_stream

__version__ = "0.1.0.dev0"

_SOURCES = {
    "CaptureReader": "capture",
    "LinkType": "capture",
    "iter_records": "capture",
    "checksum": "core",
    "checksums": "core",
    "fold": "core",
    "ones_sum": "core",
    "pseudo_header_sum": "core",
    "pseudo_header_sum_v4": "core",
    "pseudo_header_sum_v6": "core",
    "update16": "core",
    "update_span": "core",
    "verify": "core",
    "CaptureError": "errors",
    "ParseError": "errors",
    "VxsumError": "errors",
    "ChecksumField": "frames",
    "Frame": "frames",
    "ParseConfig": "frames",
    "Status": "frames",
    "build": "frames",
    "parse": "frames",
    "Cluster": "kernel",
    "Conntrack": "kernel",
    "Kernel": "kernel",
    "nat_rewrite": "kernel",
    "FileReport": "report",
    "analyze_file": "report",
    "scan": "report",
    "Label": "verdicts",
    "PreNatCapture": "verdicts",
    "Verdict": "verdicts",
    "classify": "verdicts",
    "classify_stream": "verdicts",
}

_PACKAGES = frozenset(
    {"capture", "cli", "core", "errors", "frames", "kernel", "lab", "report", "testing"}
    | {"verdicts"}
)

__all__ = [
    "CaptureError",
    "CaptureReader",
    "ChecksumField",
    "Cluster",
    "Conntrack",
    "FileReport",
    "Frame",
    "Kernel",
    "Label",
    "LinkType",
    "ParseConfig",
    "ParseError",
    "PreNatCapture",
    "Status",
    "Verdict",
    "VxsumError",
    "__version__",
    "analyze_file",
    "build",
    "checksum",
    "checksums",
    "classify",
    "classify_stream",
    "fold",
    "iter_records",
    "nat_rewrite",
    "ones_sum",
    "parse",
    "pseudo_header_sum",
    "pseudo_header_sum_v4",
    "pseudo_header_sum_v6",
    "scan",
    "update16",
    "update_span",
    "verify",
]


def __getattr__(name: str) -> Any:
    """A name of :data:`__all__`, or a sub-package, imported on first use."""
    if name in _PACKAGES:
        return importlib.import_module(f".{name}", __name__)
    package = _SOURCES.get(name)
    if package is None:
        raise AttributeError(f"module 'vxsum' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{package}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES) | _PACKAGES)
