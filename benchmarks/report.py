"""Turn a pytest-benchmark JSON file into the ratio tables of docs/performance.md.

Usage: python benchmarks/report.py benchmarks/last-run.json
Every ratio compares medians measured in the same run.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def _impl(name: str) -> str:
    if "[" in name:  # test_single_buffer[plain-loop-1500]: implementation, then size
        return name.split("[", 1)[1].rstrip("]").rsplit("-", 1)[0]
    return name.removeprefix("test_").removeprefix("batch_").replace("_", "-")


def main(path: str) -> None:
    with open(path) as f:
        run = json.load(f)
    groups: dict[str, dict[str, float]] = defaultdict(dict)
    for bench in run["benchmarks"]:
        groups[bench["group"]][_impl(bench["name"])] = bench["stats"]["median"]
    machine = run.get("machine_info", {})
    print(
        f"machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"python {machine.get('python_version', '?')}, {run.get('datetime', '')}\n"
    )
    print("| case | implementation | median | time / vxsum's |")
    print("|---|---|---|---|")
    for group in sorted(groups, key=lambda g: (g.startswith("batch"), g)):
        impls = groups[group]
        base = impls.get("vxsum") or impls.get("analyze-jsonl")
        for impl, median in sorted(impls.items(), key=lambda kv: kv[1]):
            unit, scale = (
                ("s", 1.0) if median > 0.1 else ("ms", 1e3) if median > 1e-4 else ("µs", 1e6)
            )
            ratio = f"{median / base:.2f}" if base and median != base else ""
            print(f"| {group.strip()} | {impl} | {median * scale:.3g} {unit} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1])
