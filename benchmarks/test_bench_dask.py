"""Eight captures on a Dask LocalCluster: two single-threaded workers against one.

Each worker is a process of one thread, and vxsum's read-ahead thread is turned off in
the workers, so that one worker uses one core; what is timed is
:func:`vxsum.report.distributed.analyze_on_cluster` (what ``vxsum analyze --scheduler``
runs) over 8 captures of ``min(VXSUM_BENCH_PACKETS, VXSUM_DASK_PACKETS or 250,000)``
packets each (:func:`vxsum.testing.captures.damage_capture`: tunnel traffic, 1% of the
outer UDP checksums damaged; two seeds, each written four times), the rows going to a
list. The two-worker run records its rate over the one-worker run's as
``extra_info["speedup"]`` (issue 16 asks for 1.6 or more on two free cores). Untimed
checks: each file's report (the capture-wide test included) and rows are a local run's.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import BATCH_PACKETS
from pytest_benchmark.fixture import BenchmarkFixture

from vxsum.report import Options, Summary, analyze_file
from vxsum.testing.captures import damage_capture

distributed = pytest.importorskip("distributed", reason="needs the dask extra")
pytest.importorskip("dask.dataframe", reason="needs the dask extra")

from vxsum.report.distributed import analyze_on_cluster  # noqa: E402  # after the skips

FILES = 8
PACKETS = min(BATCH_PACKETS, int(os.environ.get("VXSUM_DASK_PACKETS", "250000")))
GROUP = f"dask ({FILES} captures of {PACKETS} packets)"
RATES: dict[int, float] = {}  # workers -> packets per second (best round)


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tmp = tmp_path_factory.mktemp("dask")
    seeds = [tmp / f"seed{s}.pcap" for s in (1, 2)]
    for seed, path in enumerate(seeds, 1):
        damage_capture(path, packets=PACKETS, rate=0.01, seed=seed)
    paths = []
    for k in range(FILES):
        path = tmp / f"capture{k}.pcap"
        shutil.copyfile(seeds[k % 2], path)
        paths.append(str(path))
    return paths


def _no_read_ahead() -> None:
    """In a worker: batches are read in the classifying thread (one core a worker)."""
    from vxsum.report import analysis

    analysis._prefetch = lambda batches: batches  # type: ignore[assignment]


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=request.param, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with distributed.Client(cluster) as c:
            c.run(_no_read_ahead)
            yield c
    finally:
        cluster.close()


def test_dask_workers(benchmark: BenchmarkFixture, captures: list[str], client: Any) -> None:
    workers = len(client.scheduler_info()["workers"])
    benchmark.group = GROUP
    rows: list[tuple[str, Any]] = []
    seconds: list[float] = []

    def run() -> list[Any]:
        rows.clear()
        start = time.perf_counter()
        reports = analyze_on_cluster(
            captures, Options(), lambda p, r: rows.append((p, r)), scheduler=client
        )
        seconds.append(time.perf_counter() - start)
        return reports

    reports = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    packets = sum(r.packets for r in reports)
    assert packets >= FILES * PACKETS
    RATES[workers] = packets / min(seconds)
    benchmark.extra_info.update(workers=workers, packets=packets, rate=round(RATES[workers]))
    if workers == 2 and 1 in RATES:
        benchmark.extra_info["speedup"] = round(RATES[2] / RATES[1], 3)
    # untimed: every file as a local run finds it, its capture-wide test included
    seen: dict[str, list[Any]] = {}
    for path, chunk in rows:
        seen.setdefault(path, []).append(chunk)
    for path, report in zip(captures[:2], reports[:2], strict=True):
        local_rows: list[Any] = []
        local = analyze_file(path, sink=lambda p, r, into=local_rows: into.append(r))
        assert report.capture_test == local.capture_test is not None
        assert Summary.of([report]).to_dict() == Summary.of([local]).to_dict()
        assert [c.tobytes() for c in seen[path]] == [c.tobytes() for c in local_rows]
    assert [r.path for r in reports] == captures
