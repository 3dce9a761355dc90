#!/usr/bin/env python
"""Shared symbolic factorization across the points of a Kapitza-resistance sweep.

The three-layer steady Fourier stack of ``bench_sweep.py`` meshed finer (gmsh,
``--mesh-size``), swept over ``interfaces.interface_1.kapitza_resistance`` with
``run_sweep(..., serial=True)`` twice in one process: once with the shared
symbolic factorization off (``FEMHEAT_SYMBOLIC_CACHE=0``: every point orders and
analyses its matrix) and once on (the first point's ordering and analysis serve
the others: same sparsity pattern, new values)::

    .venv/bin/python benchmarks/bench_sweep_symbolic.py                 # 20 points, h = 2.5e-3
    .venv/bin/python benchmarks/bench_sweep_symbolic.py --points 40 --mesh-size 4e-3

Printed: wall time of the sweep, median time inside ``factorize`` per point,
the ratio off/on of both, and the largest relative difference of the heat flows
of the two tables (the factorizations are the same up to round-off).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sweep import CASE as _LAYERED, KEY  # noqa: E402  (the same three-layer case)

#: bench_sweep's case with the mesh file left to fill in.
CASE = re.sub(r'file = ".*"', 'file = "{mesh}"', _LAYERED, count=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--mesh-size", type=float, default=2.5e-3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from femheat.mesh.geometry.layered import layered_stack
    from femheat.pipeline.sweep import run_sweep
    from femheat.pipeline.sweep_params import parse_param
    from femheat.solve import factorization, steady

    timings: list[float] = []
    inner = steady.factorize

    def timed(*a, **k):
        t0 = time.perf_counter()
        solve = inner(*a, **k)
        timings.append(time.perf_counter() - t0)
        return solve

    steady.factorize = timed
    n = args.points
    axis = parse_param(f"{KEY}=log:1e-10:1e-6:{n}")
    rows, tables = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-symbolic-") as tmp:
        tmp = Path(tmp)
        mesh = layered_stack([0.3, 0.4, 0.3], 0.25, mesh_size=args.mesh_size,
                             path=tmp / "stack.msh")
        case = tmp / "case.toml"
        case.write_text(CASE.format(mesh=mesh))
        for label, flag in (("off", "0"), ("on", "1")):
            os.environ[factorization.SYMBOLIC_CACHE_ENV] = flag
            factorization.SYMBOLIC.clear()
            timings.clear()
            t0 = time.perf_counter()
            result = run_sweep(case, [axis], tmp / label, serial=True)
            wall = time.perf_counter() - t0
            assert result.count("completed") == n, result.column("status")
            rows[label] = (wall, statistics.median(timings[1:] or timings), timings[0],
                           factorization.SYMBOLIC.hits)
            tables[label] = [float(v) for v in result.column("heat_flow.left")]
    size = result.column("dofs")[0]
    print(f"{n}-point R_K sweep, mesh size {args.mesh_size:g} m ({size} DOFs)\n")
    print("| shared symbolic | sweep wall s | points/min | first factorize s "
          "| median later factorize s | cache hits |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, (wall, med, first, hits) in rows.items():
        print(f"| {label} | {wall:.1f} | {60 * n / wall:.0f} | {first:.3f} | {med:.3f} | {hits} |")
    off, on = rows["off"], rows["on"]
    print(f"\nlater factorizations off/on: {off[1] / on[1]:.2f}x; sweep wall off/on: "
          f"{off[0] / on[0]:.2f}x")
    diff = max(abs(a - b) / abs(a) for a, b in zip(tables["off"], tables["on"]))
    print(f"largest relative difference of the heat flows: {diff:.1e}")


if __name__ == "__main__":
    main()
