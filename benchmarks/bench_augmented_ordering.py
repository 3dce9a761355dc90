"""Orderings of the GK vorticity form's augmented LDLᵀ, and the (r, z) steady solve.

Part 1 (``orderings``): the steady augmented matrix [[K₀, Cᵀ], [C, −M_ω]] of the
degree-0 vorticity form (l = 0.1, β = 2) on five 2D layouts, ordered by METIS nested
dissection (CHOLMOD's "nesdis"), by AMD on the matrix as numbered, by AMD after a
reverse Cuthill–McKee renumbering, and by the choice between the two AMDs that
:func:`femheat.solve.augmented.amd_or_rcm_permutation` makes (both AMDs counted):
entries of L and analysis + simplicial LDLᵀ time (process CPU).

Part 2 (``steady``): on the (r, z) pipe of ``bench_gk.py --axisymmetric``, the steady
solve with the (r, z) ordering (AMD or RCM + AMD) against nested dissection and the
formed operator, against MCV's steady solve on the same mesh, alternated, best of 3,
cold (the shared analysis cache off). Prints the GKv/MCV ratios.

    python benchmarks/bench_augmented_ordering.py                  # both, n = 100, 180
    python benchmarks/bench_augmented_ordering.py --part steady --sizes 100
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["FEMHEAT_SYMBOLIC_CACHE"] = "0"  # every analysis from scratch

import numpy as np
import scipy.sparse as sp
import skfem
from scipy.sparse.csgraph import reverse_cuthill_mckee

import femheat as fh
from femheat.physics.conditions import NoSlip
from femheat.solve import steady
from femheat.solve.cholmod_mode import fill_statistics
from femheat.solve.factorization import _symmetric_permutation

TOL = 1e-9
clock = time.process_time


def _mesh(layout: str, n: int) -> skfem.MeshTri:
    if layout == "gmsh":
        import pygmsh

        with pygmsh.geo.Geometry() as geometry:
            geometry.add_rectangle(0, 1, 0, 1, 0, mesh_size=1.0 / n)
            m = geometry.generate_mesh(dim=2)
        return skfem.MeshTri(np.ascontiguousarray(m.points[:, :2].T),
                             np.ascontiguousarray(m.cells_dict["triangle"].T))
    return skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))


def problem(layout: str, n: int, model: str = "gk") -> fh.HeatProblem:
    """``layout``: "rz" (the pipe: axis r = 0, no-slip mantle r = 1, T on the ends),
    "channel" (no-slip walls y = 0, 1), "onewall" (no-slip y = 0, stress-free y = 1),
    "gmsh" (the channel on an unstructured gmsh mesh)."""
    kw = dict(model="gk", beta=2, viscous="vorticity") if model == "gk" else dict(model="mcv")
    ends = {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0)}
    if layout == "rz":
        b = {"axis": lambda x: x[0] < TOL,
             "inlet": lambda x: (x[1] < TOL) & (x[0] > TOL),
             "outlet": lambda x: (x[1] > 1 - TOL) & (x[0] > TOL),
             "walls": lambda x: (x[0] > 1 - TOL) & (x[1] > TOL) & (x[1] < 1 - TOL)}
        kw["coordinates"] = "axisymmetric"
        walls = ["walls"]
    elif layout == "onewall":
        b = {"inlet": lambda x: x[0] < TOL, "outlet": lambda x: x[0] > 1 - TOL,
             "walls": lambda x: (x[1] < TOL) & (x[0] > TOL) & (x[0] < 1 - TOL),
             "free": lambda x: (x[1] > 1 - TOL) & (x[0] > TOL) & (x[0] < 1 - TOL)}
        walls = ["walls"]
    else:
        b = {"inlet": lambda x: x[0] < TOL, "outlet": lambda x: x[0] > 1 - TOL,
             "walls": lambda x: (x[0] > TOL) & (x[0] < 1 - TOL)}
        walls = ["walls"]
    bc = dict(ends, **{name: fh.Insulated() for name in b if name not in ends and name != "axis"})
    if model == "gk":
        kw["walls"] = {name: NoSlip() for name in walls}
    regions = fh.RegionMesh.from_skfem(_mesh(layout, n), boundaries=b)
    material = fh.Material(1.0, 1.0, 1e-2, nonlocal_length=0.1 if model == "gk" else 0.0)
    return fh.HeatProblem(regions, {"domain": material}, bc, **kw)


def steady_augmented_matrix(system) -> sp.csc_matrix:
    """The augmented matrix the steady solve factorizes (captured from the solve)."""
    captured = []
    real = steady.factorize_augmented

    def spy(K0, C, mass, scale=1.0, backend=None):
        captured.append(sp.bmat([[K0, C.T], [C, mass.block(scale)]], format="csc"))
        return real(K0, C, mass, scale, backend)

    steady.factorize_augmented = spy
    try:
        fh.solve_steady(system)
    finally:
        steady.factorize_augmented = real
    aug = captured[-1]
    aug.sum_duplicates()
    return aug


def _ldl(A: sp.csc_matrix, ordering: str) -> tuple[int, float]:
    from sksparse.cholmod import analyze

    t = clock()
    factor = analyze(A, mode="simplicial", ordering_method=ordering).cholesky(A)
    return factor.L_D()[0].nnz, clock() - t


def orderings(sizes: list[int]) -> None:
    print("| layout | n | rows | nested dissection | AMD | RCM + AMD | chosen |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for layout in ("rz", "channel", "onewall", "gmsh"):
        for n in sizes:
            aug = steady_augmented_matrix(fh.assemble(problem(layout, n)))
            nd = _ldl(aug, "nesdis")
            t = clock()
            stats0, p0 = fill_statistics(aug)
            A0 = _symmetric_permutation(aug, p0)
            t0 = clock() - t
            nnz0, f0 = _ldl(A0, "natural")
            t = clock()
            r = reverse_cuthill_mckee(aug.tocsr(), symmetric_mode=True).astype(np.int64)
            Ar = _symmetric_permutation(aug, r)
            stats1, p1 = fill_statistics(Ar)
            A1 = _symmetric_permutation(Ar, p1)
            t1 = clock() - t
            nnz1, f1 = _ldl(A1, "natural")
            amd, rcm = (nnz0, t0 + f0), (nnz1, t1 + f1)
            pick = ("AMD", amd[0], amd[1] + t1) if stats0.flops <= stats1.flops \
                else ("RCM", rcm[0], rcm[1] + t0)
            cell = lambda x: f"{x[0] / 1e6:.2f}M, {x[1]:.2f} s"  # noqa: E731
            print(f"| {layout} | {n} | {aug.shape[0]:,} | {cell(nd)} | {cell(amd)} | "
                  f"{cell(rcm)} | {pick[0]}, {pick[2]:.2f} s |", flush=True)


def steady_ratios(sizes: list[int], repeats: int = 3) -> None:
    print("| n | MCV s | GKv (r, z) ordering s | GKv nested dissection s | GKv formed s | "
          "ratio | nested dissection ratio | formed ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        gkv = fh.assemble(problem("rz", n))
        mcv = fh.assemble(problem("rz", n, "mcv"))
        gkv.resistance  # the formed operator, once (kept)
        mass = gkv.rotation[1]
        default = mass.ordering
        best = dict.fromkeys(("mcv", default, "nesdis", "formed"), np.inf)
        for _ in range(repeats):
            for key in best:
                os.environ["FEMHEAT_VORTICITY_SOLVE"] = "formed" if key == "formed" \
                    else "augmented"
                if key in (default, "nesdis"):
                    mass.ordering = key
                t = clock()
                fh.solve_steady(mcv if key == "mcv" else gkv)
                best[key] = min(best[key], clock() - t)
        mass.ordering = default
        os.environ["FEMHEAT_VORTICITY_SOLVE"] = "augmented"
        m = best["mcv"]
        print(f"| {n} | {m:.3f} | {best[default]:.3f} | {best['nesdis']:.3f} | "
              f"{best['formed']:.3f} | {best[default] / m:.2f} | {best['nesdis'] / m:.2f} | "
              f"{best['formed'] / m:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 180])
    parser.add_argument("--part", choices=("orderings", "steady", "both"), default="both")
    args = parser.parse_args()
    if args.part in ("orderings", "both"):
        orderings(args.sizes)
    if args.part in ("steady", "both"):
        print()
        steady_ratios(args.sizes)


if __name__ == "__main__":
    main()
