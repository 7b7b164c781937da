"""The row contract of docs/cli.md, written out here rather than imported from vxsum, so
a test fails when the code's columns drift from the documented ones."""

CONTRACT = [
    "file",
    "frame",
    "depth",
    "layer",
    "value",
    "expected",
    "verdict",
    "harmless",
    "detail",
    "confirmed_by",
    "hypothesis",
    "port_before_nat",
]
