#!/usr/bin/env python
"""Throughput of a Kapitza-resistance sweep: direct calls, serial sweep, Dask workers.

The case is the three-layer steady Fourier bilayer of the sweep tests
(``meshes/layered_2d.msh``, 2 490 DOFs, no VTU/PNG output); the sweep runs
``interfaces.interface_1.kapitza_resistance`` over ``log:1e-10:1e-6:N``::

    .venv/bin/python benchmarks/bench_sweep.py                  # N = 200, 1 and 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --points 40 --workers 2

Rows (wall times exclude the start of the cluster, which is reported apart):

* **direct**: ``parse_case`` + ``run_case`` per point in one loop, one process —
  what a point costs without any sweep machinery;
* **serial sweep**: ``run_sweep(..., serial=True)``: the same points with the
  sweep's validation, hashing, per-point folders, row files and tables;
* **dask, k workers**: ``run_sweep(..., client=Client(local_cluster(k)))``, the
  workers started and warmed (femheat imported) before the clock starts.

"median in-task s" is the median ``point_wall_s`` of the table: the time a point
spends inside :func:`~femheat.pipeline.sweep.run_point`, wherever it runs.

The per-point overhead of the Dask path is (dask with 1 worker − direct) / N, and
against the serial sweep (same per-point work: validation, files, mesh shared
within a process) (dask with 1 worker − serial sweep) / N.
Each configuration writes into a fresh temporary folder, so nothing is reused.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "interfaces.interface_1.kapitza_resistance"

CASE = f"""title = "three layers, R_K sweep"
[mesh]
file = "{ROOT / 'meshes' / 'layered_2d.msh'}"
[model]
type = "fourier"
[materials.layer_1]
conductivity = 1.0
[materials.layer_2]
conductivity = 2.0
[materials.layer_3]
conductivity = 1.0
[interfaces.interface_1]
kapitza_resistance = 1e-8
[boundaries.left]
temperature = 301.0
[boundaries.right]
temperature = 300.0
[boundaries.top]
heat_flux = 0.0
[boundaries.bottom]
heat_flux = 0.0
[output]
png = false
vtu = false
"""


def direct(case_path: Path, values: list[float], out: Path) -> float:
    """Wall time [s] of parse_case + run_case for every value, in this process."""
    from femheat.io.case import parse_case, read_case_table
    from femheat.pipeline.sweep_params import set_path
    from femheat.pipeline.runner import run_case

    base = read_case_table(case_path)
    t0 = time.perf_counter()
    for i, value in enumerate(values):
        data = copy.deepcopy(base)
        set_path(data, KEY, value)
        run_case(parse_case(data, case_path.parent), out / f"p{i}")
    return time.perf_counter() - t0


def _median(values: list) -> float:
    return statistics.median(v for v in values if v is not None)


def _warm() -> None:
    import femheat.pipeline.runner  # noqa: F401  (numpy, scipy, scikit-fem, meshio)
    import femheat.pipeline.sweep  # noqa: F401


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import distributed

    from femheat.pipeline.sweep import local_cluster, run_sweep
    from femheat.pipeline.sweep_params import parse_param

    n = args.points
    axis = parse_param(f"{KEY}=log:1e-10:1e-6:{n}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        tmp = Path(tmp)
        case = tmp / "case.toml"
        case.write_text(CASE)
        t_direct = direct(case, axis.grid_values(), tmp / "direct")
        rows.append(("direct (parse_case + run_case)", t_direct, None, None))
        t0 = time.perf_counter()
        result = run_sweep(case, [axis], tmp / "serial", serial=True)
        t_serial = time.perf_counter() - t0
        rows.append(("serial sweep", t_serial, None, _median(result.column("point_wall_s"))))
        t_dask = {}
        for k in args.workers:
            t0 = time.perf_counter()
            cluster = local_cluster(k)
            client = distributed.Client(cluster)
            client.wait_for_workers(k)
            client.run(_warm)  # imports in every worker, counted with the start
            start = time.perf_counter() - t0
            try:
                t0 = time.perf_counter()
                result = run_sweep(case, [axis], tmp / f"dask{k}", client=client)
                t_dask[k] = time.perf_counter() - t0
            finally:
                client.close()
                cluster.close()
            assert result.count("completed") == n, result.column("status")
            rows.append((f"dask, {k} worker(s)", t_dask[k], start,
                         _median(result.column("point_wall_s"))))
    print(f"{n}-point R_K sweep ({KEY} = log:1e-10:1e-6:{n})\n")
    print("| configuration | wall s | points/min | speed-up vs serial sweep | cluster start s "
          "| median in-task s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, wall, start, task in rows:
        print(f"| {name} | {wall:.1f} | {60 * n / wall:.0f} | {t_serial / wall:.2f} | "
              f"{'' if start is None else f'{start:.1f}'} | "
              f"{'' if task is None else f'{task:.3f}'} |")
    print(f"\ndirect point: {1e3 * t_direct / n:.0f} ms (mesh read every time); serial "
          f"sweep point: {1e3 * t_serial / n:.0f} ms (mesh shared)")
    if 1 in t_dask:
        print(f"per-point overhead of the Dask path, 1 worker: "
              f"{1e3 * (t_dask[1] - t_direct) / n:+.0f} ms vs direct, "
              f"{1e3 * (t_dask[1] - t_serial) / n:+.0f} ms vs the serial sweep")
    if 1 in t_dask and 2 in t_dask:
        print(f"2 workers / 1 worker: {t_dask[1] / t_dask[2]:.2f}x")


if __name__ == "__main__":
    main()
