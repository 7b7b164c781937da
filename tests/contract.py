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
    "time",
    "record_offset",
    "display_filter",
    "src",
    "dst",
    "sport",
    "dport",
    "protocol",
    "vni",
    "inner_src",
    "inner_dst",
    "inner_sport",
    "inner_dport",
    "inner_protocol",
]
"""The jsonl keys, in order (``quoted`` follows where true)."""

TABLE = [*CONTRACT[:12], "quoted", *CONTRACT[12:]]
"""The csv and parquet columns: ``quoted`` where it was before ``time`` and the columns
after it came."""
