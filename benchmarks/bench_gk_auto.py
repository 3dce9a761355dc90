"""What the default ``viscous = "auto"`` costs where it takes the vorticity form.

``"auto"`` (:mod:`femheat.assembly.viscous_choice`) takes the vorticity form for GK in
2D (degree 1 since 2026-12-05, degree 0 since 2026-12-06) when one l²/κ holds
everywhere and no Kapitza interface sits. This script times that class against the
penalty form (the default before) on the same meshes: the unit square, n × n tensor
triangles, BDM2 × P1DG (``--degree 0``: BDM1 × P0), l = 0.1, β = 2,
τ = 0.01, with free-slip walls (insulated, no wall condition: the vorticity is zero
there and its P3 mass lumped), no-slip walls (the vorticity free on the walls: a
consistent P3 mass kept as an unknown) or open edges (T = 300 K given on the whole
boundary, no wall condition: the vorticity free there too, with the boundary terms of
:mod:`femheat.assembly.vorticity_open`). Per (layout, n, form), alternated, best of
``--repeats``: assembly, the θ-scheme factorization (Crank–Nicolson, Δt = τ/10) and a
step; and, in the same run, the relative L² distance between the two forms'
temperatures after ``--steps`` steps from T = cos πx cos πy (both converge to the
same solution here, so it is of the order of their discretization errors).
``--layouts layers`` (not in the default set): two materials, y < ½ with l = 0.1, κ = 1
and y > ½ with l = 0.05, κ = 2, insulated free-slip walls, where "auto" takes the
vorticity form on the viscosity levels (:mod:`femheat.assembly.vorticity_levels`,
since 2026-12-06: one more vorticity field on the lower half, a consistent mass).
``--layouts anisotropic``: κ = R diag(1, 5) Rᵀ (axes at 0.5 rad), insulated walls, where
"auto" takes the vorticity form with the weak-gradient remainder (since 2026-12-09,
:mod:`femheat.assembly.vorticity_anisotropic`: ω free on the walls, consistent mass, and
a vector P3 (P2) field more, all kept as unknowns).

    python benchmarks/bench_gk_auto.py                  # n = 25, 50, 100
    python benchmarks/bench_gk_auto.py --sizes 25 50 --repeats 2
    python benchmarks/bench_gk_auto.py --layouts open
    python benchmarks/bench_gk_auto.py --degree 0    # BDM1 x P0: auto (vorticity, P2) vs penalty
    python benchmarks/bench_gk_auto.py --layouts layers free-slip --degree 0
    python benchmarks/bench_gk_auto.py --layouts anisotropic --sizes 25 50 --degree 0
    python benchmarks/bench_gk_auto.py --layouts anisotropic --dim 3 --sizes 4 6 --degree 0

Process CPU time with ``FEMHEAT_BENCH_CLOCK=cpu`` (as ``make bench`` runs them), wall
time otherwise.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("FEMHEAT_SYMBOLIC_CACHE", "0")  # every factorization from scratch

import numpy as np  # noqa: E402
import skfem  # noqa: E402

import femheat as fh  # noqa: E402
from femheat.physics.conditions import NoSlip  # noqa: E402

_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter
TAU = 0.01


def problem(n: int, layout: str, viscous: str, degree: int = 1, dim: int = 2) -> fh.HeatProblem:
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, n + 1)] * dim)
    walls = {"walls": NoSlip()} if layout == "no-slip" else {}
    thermal = fh.Temperature(300.0) if layout == "open" else fh.Insulated()
    boundaries = {"walls": lambda x: np.ones(x.shape[1], dtype=bool)}
    if layout == "layers":  # y < 1/2: l = 0.1, kappa = 1; above: l = 0.05, kappa = 2
        regions = fh.RegionMesh.from_skfem(mesh, boundaries=boundaries, subdomains={
            "below": lambda x: x[1] < 0.5, "above": lambda x: x[1] > 0.5})
        materials = {"below": fh.Material(1.0, 1.0, TAU, nonlocal_length=0.1),
                     "above": fh.Material(2.0, 1.0, TAU, nonlocal_length=0.05)}
    elif layout == "anisotropic":  # κ = R diag(1, 5) Rᵀ at 0.5 rad, insulated walls
        c, s = np.cos(0.5), np.sin(0.5)
        R = np.eye(dim)
        R[:2, :2] = [[c, -s], [s, c]]
        if dim == 3:  # and 0.4 rad about x: axes oblique to every face
            c, s = np.cos(0.4), np.sin(0.4)
            R = R @ np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
        regions = fh.RegionMesh.from_skfem(mesh, boundaries=boundaries)
        materials = {"domain": fh.Material(R @ np.diag([1.0, 5.0, 2.0][:dim]) @ R.T, 1.0,
                                           TAU, nonlocal_length=0.1)}
    else:
        regions = fh.RegionMesh.from_skfem(mesh, boundaries=boundaries)
        materials = {"domain": fh.Material(1.0, 1.0, TAU, nonlocal_length=0.1)}
    return fh.HeatProblem(regions, materials, {"walls": thermal}, model="gk", degree=degree,
                          beta=2, walls=walls, viscous=viscous)


def one(n: int, layout: str, viscous: str, steps: int, degree: int = 1, dim: int = 2) -> dict:
    p = problem(n, layout, viscous, degree, dim)
    t = _clock()
    system = fh.assemble(p)
    out = {"form": p.viscous_form, "assembly_s": _clock() - t, "unknowns": int(system.ndofs)}
    t = _clock()
    scheme = fh.ThetaScheme(system, TAU / 10, 0.5)
    out["factorization_s"] = _clock() - t
    state = fh.initial_state(
        system, temperature=lambda x: 300.0 + np.prod(np.cos(np.pi * x), axis=0))
    best = np.inf
    for _ in range(steps):
        t = _clock()
        state = scheme.step(state)
        best = min(best, _clock() - t)
    out["step_s"] = best
    tb = system.temperature_basis
    out["T"] = tb.interpolate(state.temperature).value
    out["dx"] = tb.dx
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--layouts", nargs="+", default=["free-slip", "no-slip", "open"],
                        choices=["free-slip", "no-slip", "open", "layers", "anisotropic"])
    parser.add_argument("--degree", type=int, default=1, choices=[0, 1],
                        help="0: BDM1 x P0 (the vorticity form with a P2 vorticity), "
                             "1: BDM2 x P1DG")
    parser.add_argument("--dim", type=int, default=2, choices=[2, 3],
                        help="3: the unit cube, n^3 x 6 tetrahedra")
    args = parser.parse_args()
    head = ("layout", "n", "unknowns", "form", "asm s", "fact. s", "step ms",
            "asm auto/penalty", "fact. auto/penalty", "step auto/penalty", "rel. L2(T) diff.")
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for layout in args.layouts:
        for n in args.sizes:
            best: dict = {}
            for _ in range(args.repeats):  # alternated: the cores are shared
                for label, viscous in (("penalty", "penalty"), ("auto", "auto")):
                    r = one(n, layout, viscous, args.steps, args.degree, args.dim)
                    b = best.setdefault(label, r)
                    for key in ("assembly_s", "factorization_s", "step_s"):
                        b[key] = min(b[key], r[key])
            p, a = best["penalty"], best["auto"]
            diff = np.sqrt(((a["T"] - p["T"]) ** 2 * p["dx"]).sum()
                           / ((p["T"] - 300.0) ** 2 * p["dx"]).sum())
            for r in (p, a):
                ratios = ("", "", "", "") if r is p else (
                    f"{a['assembly_s'] / p['assembly_s']:.2f}",
                    f"{a['factorization_s'] / p['factorization_s']:.2f}",
                    f"{a['step_s'] / p['step_s']:.2f}", f"{diff:.1e}")
                print(f"| {layout} | {n} | {r['unknowns']:,} | {r['form']} | "
                      f"{r['assembly_s']:.3f} | {r['factorization_s']:.3f} | "
                      f"{1e3 * r['step_s']:.2f} | " + " | ".join(ratios) + " |", flush=True)


if __name__ == "__main__":
    main()
