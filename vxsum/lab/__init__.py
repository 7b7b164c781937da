"""The real-kernel lab: the kernel model's oracle, in network namespaces.

``python -m vxsum.lab`` (root, Linux) builds a two-node overlay, sends bounded traffic
through it and captures it (:mod:`~vxsum.lab.run`), then compares every captured
checksum with what the model predicts and every verdict with the cause the lab's
settings imply (:mod:`~vxsum.lab.check`). ``docs/lab.md`` has the matrix.
"""

from .check import MATRIX_SNAT, MATRIX_V4, MATRIX_V6, LabCheck, check_run, markdown_table
from .run import LabConfig, LabRun, LabUnavailable, lab_unavailable, run_lab

__all__ = [
    "MATRIX_SNAT",
    "MATRIX_V4",
    "MATRIX_V6",
    "LabCheck",
    "LabConfig",
    "LabRun",
    "LabUnavailable",
    "check_run",
    "lab_unavailable",
    "markdown_table",
    "run_lab",
]
