"""Guyer–Krumhansl cost vs MCV on the same 2D mesh: steady solve, transient step, memory.

For each mesh size n (n x n tensor triangulation of the unit square, a channel
with T fixed at both ends and no-slip walls), one subprocess per (model, n) so
that peak memory (ru_maxrss) belongs to that run alone:

* ``mcv``: RT0 x P0 (5n² unknowns), the foundation's transient path;
* ``gk``:  BDM1 x P0 (8n² unknowns), GK with l = 0.1, no-slip walls, β = 2, interior
  penalty (``viscous = "penalty"``; the default ``"auto"`` takes the vorticity form
  here, ``gkv``, since 2026-12-06, and in 3D the penalty form);
* ``gkv``: the same GK problem with ``viscous = "vorticity"`` (BDM1 x P0 with a
  consistent P2 vorticity since 2026-12-06, RT0 x P0 with a lumped P1 one before;
  :mod:`femheat.assembly.vorticity`); its time steps keep ω as an unknown (the
  quasi-definite augmented factorization of :mod:`femheat.solve.augmented`);
* ``gkvf`` (``--axisymmetric`` only, where the stream-function mass is lumped): the
  same with the formed operator K₀ + CᵀwC (``FEMHEAT_VORTICITY_SOLVE=formed``), for
  the augmented/formed ratios.

``--degree 1``: the same at degree 1 (MCV RT1 x P1DG; GK BDM2 x P1DG with the
interior penalty; the vorticity form on BDM2 x P1DG with a P3 vorticity, whose mass
is consistent next to these no-slip walls, so there is no formed variant and
``gkvf`` is skipped).
``--graded``: the GK length varies inside the material, l = 0.1(1 + 0.4 sin(2πx)
cos(πy)) (ν by a factor 5.4): the vorticity form then carries the closure terms of
:mod:`femheat.assembly.vorticity_graded`; the runs measure what they add to the
constant-ν form's cost (nothing measurable since their facet terms keep the cell
pattern, benchmarks/README.md).
``--graded --jump``: the same l(r) on x < 1/2 and a second material with l = 0.05 on
x > 1/2 (ν jumps there; n even): the vorticity form's graded base level on both and
one graded level on the left, the phase of larger ν
(:mod:`femheat.assembly.vorticity_graded_levels`).
``--graded --jump --cross``: the right material's l = 0.1(1 + 0.3(y − 0.45)), so that
ν_R/ν_L at x = 1/2 is (1 + 0.3(y − 0.45))²: larger on the left below y = 0.45, on the
right above (no tiers: the lower envelope's base level and one level on each side).
``--dim 3``: the channel in the unit cube (n³ cells of 6 tetrahedra, no-slip walls on
the four sides, T given on the open ends: the vorticity form's open-boundary terms since
2026-12-06); the vorticity form (BDM1 × P0 since 2026-12-06) keeps its second-order
Nédélec vorticity (no formed variant,
``gkvf`` is skipped); with ``--degree 1`` MCV is RT of order 1 × P1DG, the penalty form
BDM2 × P1DG and the vorticity form BDM2 × P1DG with the third-order Nédélec vorticity.

Measured: assembly, steady solve, transient θ-scheme factorization (reused by every
step), time per backward-Euler step (best of the timed steps) and one frequency-domain
solve at f = 10 Hz (operator snapshot, complex factorization, solve; the vorticity
form's keeps ω an unknown, ``gkvf`` forms Cᵀ M_ω⁻¹ C). Prints tables and the GK/MCV
ratios.

    python benchmarks/bench_gk.py                 # n = 50, 100, 180, 250
    python benchmarks/bench_gk.py --sizes 50 100 --steps 5
    python benchmarks/bench_gk.py --quick --json /tmp/gk.json   # n = 50, 100
    python benchmarks/bench_gk.py --degree 1 --sizes 25 50 100
    python benchmarks/bench_gk.py --dim 3 --sizes 8 12 16
    python benchmarks/bench_gk.py --graded --dim 3 --sizes 6 8   # l(r): closure terms
    python benchmarks/bench_gk.py --axisymmetric --sizes 50 100 180   # (r, z), degree 0
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# time every factorization from scratch (the best-of-N repeats would otherwise be
# answered by the shared symbolic/numeric cache of femheat.solve.factorization)
os.environ.setdefault("FEMHEAT_SYMBOLIC_CACHE", "0")

# run_all.py (make bench) sets FEMHEAT_BENCH_CLOCK=cpu and one BLAS thread: process CPU time
# is what the code costs whatever else shares the cores; run by hand, wall time
_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter


def one(model: str, n: int, steps: int, repeats: int = 1, degree: int = 0,
        dim: int = 2, axisymmetric: bool = False, graded: bool = False,
        jump: bool = False, cross: bool = False) -> dict:
    import numpy as np
    import skfem

    import femheat as fh
    from femheat.physics.conditions import NoSlip

    edges = [np.linspace(0, 1, n + 1)] * dim
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(*edges)
    tol = 1e-9
    if axisymmetric:  # the (r, z) section of a pipe: axis x = r = 0, ends at z = 0, 1
        regions = fh.RegionMesh.from_skfem(mesh, boundaries={
            "axis": lambda x: x[0] < tol, "inlet": lambda x: (x[1] < tol) & (x[0] > tol),
            "outlet": lambda x: (x[1] > 1 - tol) & (x[0] > tol),
            "walls": lambda x: (x[0] > 1 - tol) & (x[1] > tol) & (x[1] < 1 - tol)})
    else:
        halves = ({"left": lambda x: x[0] < 0.5, "right": lambda x: x[0] > 0.5} if jump
                  else None)
        regions = fh.RegionMesh.from_skfem(mesh, subdomains=halves, boundaries={
            "inlet": lambda x: x[0] < tol, "outlet": lambda x: x[0] > 1 - tol,
            "walls": lambda x: (x[0] > tol) & (x[0] < 1 - tol)})
    gk = model in ("gk", "gkv", "gkvf")
    if model == "gkvf":
        os.environ["FEMHEAT_VORTICITY_SOLVE"] = "formed"
    def varying(x):
        return 0.1 * (1 + 0.4 * np.sin(2 * np.pi * x[0]) * np.cos(np.pi * x[1]))

    mat = fh.Material(1.0, 1.0, 1e-2,
                      nonlocal_length=(varying if graded else 0.1) if gk else 0.0)
    def crossing(x):  # ν_R/ν_L at x = 1/2 crosses 1 at y = 0.45 (--cross)
        return 0.1 * (1 + 0.3 * (x[1] - 0.45))

    right = (crossing if cross else 0.05) if gk else 0.0
    materials = ({"left": mat, "right": fh.Material(1.0, 1.0, 1e-2, nonlocal_length=right)}
                 if jump else {"domain": mat})
    kw = dict(model="gk", walls={"walls": NoSlip()}, beta=2) if gk else dict(model="mcv")
    kw["degree"] = degree
    if model in ("gkv", "gkvf"):
        kw["viscous"] = "vorticity"
    elif gk:
        kw["viscous"] = "penalty"
    if axisymmetric:
        kw["coordinates"] = "axisymmetric"
    problem = fh.HeatProblem(regions, materials,
                             {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0),
                              "walls": fh.Insulated()}, **kw)
    res = {"model": model, "n": n}
    t = _clock()
    system = fh.assemble(problem)
    res["assembly_s"] = _clock() - t
    res["unknowns"] = int(system.ndofs)
    res["steady_s"] = res["factorization_s"] = float("inf")
    for _ in range(repeats):  # best of ``repeats``: the cores are shared
        t = _clock()
        fh.solve_steady(system)
        res["steady_s"] = min(res["steady_s"], _clock() - t)
    for _ in range(repeats):
        scheme = None
        t = _clock()
        scheme = fh.ThetaScheme(system, 1e-3, 1.0)
        res["factorization_s"] = min(res["factorization_s"], _clock() - t)
    state = fh.initial_state(system)
    times = []
    for _ in range(steps):
        t = _clock()
        state = scheme.step(state)
        times.append(_clock() - t)
    res["step_s"] = min(times)
    # the peak of assembly, steady solve and stepping (the frequency solve's complex
    # factorization, after it, can be larger: its own peak is frequency_peak_rss_gb)
    res["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    from femheat.solve.frequency import FrequencySolver

    res["frequency_s"] = float("inf")
    for _ in range(repeats):  # one frequency: snapshot, factorization, solve
        t = _clock()
        FrequencySolver(system).solve(2 * np.pi * 10.0)
        res["frequency_s"] = min(res["frequency_s"], _clock() - t)
    res["frequency_peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return res


def _dash(value) -> str:
    """A table cell: "—" where a variant was not run (NaN)."""
    return "—" if str(value) == "nan" else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 180, 250])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1,
                        help="steady solves and factorizations per run, best kept")
    parser.add_argument("--quick", action="store_true",
                        help="n = 50 and 100, 5 steps, best of 3 steady solves and factorizations")
    parser.add_argument("--degree", type=int, default=0, choices=(0, 1),
                        help="polynomial degree of every discretization (default 0)")
    parser.add_argument("--dim", type=int, default=2, choices=(2, 3),
                        help="2 (unit square, default) or 3 (unit cube)")
    parser.add_argument("--axisymmetric", action="store_true",
                        help="2D only: the (r, z) section of a pipe (axis r = 0, no-slip "
                             "mantle r = 1, T on the ends z = 0, 1)")
    parser.add_argument("--graded", action="store_true",
                        help="l varying inside the material (the vorticity form's closure "
                             "terms)")
    parser.add_argument("--jump", action="store_true",
                        help="with --graded: a second material of constant l = 0.05 on "
                             "x > 1/2 (nu jumps there; even n)")
    parser.add_argument("--cross", action="store_true",
                        help="with --jump: the right material's l varies so that nu_R/nu_L "
                             "at x = 1/2 crosses 1 (the lower envelope's levels)")
    parser.add_argument("--json", metavar="FILE", help="write all figures to FILE")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child[0], int(args.child[1]), args.steps, args.repeats,
                             args.degree, args.dim, args.axisymmetric, args.graded,
                             args.jump, args.cross)))
        return
    if args.axisymmetric and (args.dim != 2 or args.degree != 0):
        parser.error("--axisymmetric: 2D at degree 0 only (the vorticity form in (r, z) "
                     "is lowest order)")
    if args.jump and (not args.graded or args.axisymmetric or any(n % 2 for n in args.sizes)):
        parser.error("--jump: with --graded, Cartesian, even sizes (x = 1/2 a mesh line)")
    if args.cross and not args.jump:
        parser.error("--cross: with --graded --jump")
    if args.quick:
        args.sizes, args.steps, args.repeats = [50, 100], 5, 3
    rows = []
    for n in args.sizes:
        pair = {}
        formed = args.axisymmetric  # else M_ω is consistent: no gkvf
        for model in ("mcv", "gk", "gkv") + (("gkvf",) if formed else ()):
            out = subprocess.run([sys.executable, __file__, "--child", model, str(n),
                                  "--steps", str(args.steps), "--repeats", str(args.repeats),
                                  "--degree", str(args.degree), "--dim", str(args.dim)]
                                 + (["--axisymmetric"] if args.axisymmetric else [])
                                 + (["--graded"] if args.graded else [])
                                 + (["--jump"] if args.jump else [])
                                 + (["--cross"] if args.cross else []),
                                 capture_output=True, text=True, check=True)
            pair[model] = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(pair)
        m, g = pair["mcv"], pair["gk"]
        print(f"n = {n}: MCV {m['unknowns']:,} unk., GK {g['unknowns']:,} unk., GK vorticity "
              f"{pair['gkv']['unknowns']:,} unk.", flush=True)
    head = ("n", "MCV unk.", "GK unk.", "GK asm s", "MCV steady s", "GK steady s",
            "MCV fact. s", "GK fact. s", "MCV step ms", "GK step ms", "MCV GB", "GK GB",
            "step GK/MCV", "steady GK/MCV", "GB GK/MCV")
    print("\n| " + " | ".join(head) + " |")
    print("|" + "---:|" * len(head))
    for pair in rows:
        m, g = pair["mcv"], pair["gk"]
        vals = (m["n"], f"{m['unknowns']:,}", f"{g['unknowns']:,}", f"{g['assembly_s']:.2f}",
                f"{m['steady_s']:.2f}", f"{g['steady_s']:.2f}", f"{m['factorization_s']:.2f}",
                f"{g['factorization_s']:.2f}", f"{1e3 * m['step_s']:.1f}",
                f"{1e3 * g['step_s']:.1f}", f"{m['peak_rss_gb']:.2f}", f"{g['peak_rss_gb']:.2f}",
                f"{g['step_s'] / m['step_s']:.2f}", f"{g['steady_s'] / m['steady_s']:.2f}",
                f"{g['peak_rss_gb'] / m['peak_rss_gb']:.2f}")
        print("| " + " | ".join(str(v) for v in vals) + " |")
    head = ("n", "GKv unk.", "GKv asm s", "GKv steady s", "GKv fact. s", "GKv step ms",
            "GKv GB", "step GKv/MCV", "steady GKv/MCV", "GB GKv/MCV", "step GKv/GK",
            "formed fact. s", "formed step ms", "step augm./formed", "fact. augm./formed")
    print("\nGK with viscous = 'vorticity' (GKv) against MCV and the interior penalty (GK):")
    print("| " + " | ".join(head) + " |")
    print("|" + "---:|" * len(head))
    for pair in rows:
        m, g, v = pair["mcv"], pair["gk"], pair["gkv"]
        f = pair.get("gkvf", {"factorization_s": float("nan"), "step_s": float("nan")})
        vals = (m["n"], f"{v['unknowns']:,}", f"{v['assembly_s']:.2f}", f"{v['steady_s']:.2f}",
                f"{v['factorization_s']:.2f}", f"{1e3 * v['step_s']:.1f}",
                f"{v['peak_rss_gb']:.2f}", f"{v['step_s'] / m['step_s']:.2f}",
                f"{v['steady_s'] / m['steady_s']:.2f}",
                f"{v['peak_rss_gb'] / m['peak_rss_gb']:.2f}", f"{v['step_s'] / g['step_s']:.2f}",
                f"{f['factorization_s']:.2f}", f"{1e3 * f['step_s']:.1f}",
                f"{v['step_s'] / f['step_s']:.2f}",
                f"{v['factorization_s'] / f['factorization_s']:.2f}")
        print("| " + " | ".join(_dash(v) for v in vals) + " |")
    head = ("n", "MCV freq. s", "GK freq. s", "GKv freq. s", "GKv formed freq. s",
            "freq. GK/MCV", "freq. GKv/MCV", "freq. GKv augm./formed")
    print("\nOne frequency-domain solve (f = 10 Hz):")
    print("| " + " | ".join(head) + " |")
    print("|" + "---:|" * len(head))
    for pair in rows:
        m, g, v = pair["mcv"], pair["gk"], pair["gkv"]
        f = pair.get("gkvf", {"frequency_s": float("nan")})
        vals = (m["n"], f"{m['frequency_s']:.2f}", f"{g['frequency_s']:.2f}",
                f"{v['frequency_s']:.2f}", f"{f['frequency_s']:.2f}",
                f"{g['frequency_s'] / m['frequency_s']:.2f}",
                f"{v['frequency_s'] / m['frequency_s']:.2f}",
                f"{v['frequency_s'] / f['frequency_s']:.2f}")
        print("| " + " | ".join(_dash(v) for v in vals) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": args.steps, "degree": args.degree, "dim": args.dim,
                       "axisymmetric": args.axisymmetric, "graded": args.graded,
                       "jump": args.jump, "cross": args.cross,
                       "rows": rows},
                      f, indent=1)


if __name__ == "__main__":
    main()
