"""Assembly cost of the interior penalty on projected jumps against the whole jump.

Since issue 16 the GK penalty form penalizes each tangential jump's L² projection onto
P_{k−1} (:mod:`femheat.assembly.gk`, "Projected jumps"): one moment product per facet,
and at degree 1 an SVD tangent frame and a Cholesky of a small Gram matrix per facet.
This times ``fh.assemble`` of the same GK problem with the projection and with the
whole-jump penalty (``projected_jump_degree`` switched off here), alternated, best of
``--repeats``, and prints their ratio, on the unit square (n × n tensor triangles,
degree 0 and 1) and cube (n³ × 6 tetrahedra, degree 0): l = 0.1, β = 2, insulated
free-slip walls, ``viscous = "penalty"``.

    python benchmarks/bench_gk_jumps.py
    python benchmarks/bench_gk_jumps.py --square 50 --cube 6 --repeats 2

Process CPU time with ``FEMHEAT_BENCH_CLOCK=cpu`` (as ``make bench`` runs them), wall
time otherwise.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import skfem

import femheat as fh
import femheat.assembly.gk as gk_assembly

_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter


def problem(dim: int, n: int, degree: int) -> fh.HeatProblem:
    x = np.linspace(0, 1, n + 1)
    mesh = skfem.MeshTri.init_tensor(x, x) if dim == 2 else skfem.MeshTet.init_tensor(x, x, x)
    regions = fh.RegionMesh.from_skfem(
        mesh, boundaries={"walls": lambda p: np.ones(p.shape[1], dtype=bool)})
    return fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.01, nonlocal_length=0.1)},
                          {"walls": fh.Insulated()}, model="gk", degree=degree, beta=2,
                          viscous="penalty")


def assembly_time(p: fh.HeatProblem, projected: bool) -> float:
    jumps = gk_assembly.projected_jump_degree
    if not projected:
        gk_assembly.projected_jump_degree = lambda qb, k: None
    try:
        t = _clock()
        fh.assemble(p)
        return _clock() - t
    finally:
        gk_assembly.projected_jump_degree = jumps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--square", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--cube", type=int, nargs="+", default=[6, 10])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| mesh | n | degree | projected s | whole jump s | projected / whole |")
    print("|---|---:|---:|---:|---:|---:|")
    runs = ([(2, n, d) for n in args.square for d in (0, 1)]
            + [(3, n, 0) for n in args.cube])
    for dim, n, degree in runs:
        p = problem(dim, n, degree)
        best = {True: np.inf, False: np.inf}
        for _ in range(args.repeats):  # alternated: the cores are shared
            for projected in (True, False):
                best[projected] = min(best[projected], assembly_time(p, projected))
        print(f"| {'square' if dim == 2 else 'cube'} | {n} | {degree} | {best[True]:.3f} | "
              f"{best[False]:.3f} | {best[True] / best[False]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
