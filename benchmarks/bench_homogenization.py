"""Homogenization cost: geometry parameters -> κ_eff tensor, and the cost of each extra R_K.

Two periodic cells (``femheat.mesh.geometry.particle_composite(..., periodic=True)``,
random arrangement, fixed seed), matrix k_m = 1 and inclusions k_i = 10 W/(m K)
behind a Kapitza resistance on ``inclusion_surface``:

* **2D**: 100 circles, f = 0.3, in a 100 µm square;
* **3D**: 20 spheres, f = 0.15, in a 100 µm cube.

Each cell runs in its own subprocess (so its peak RSS is its own), one after the
other. Per cell the script measures

1. *geometry -> κ_eff* at R_K = 1e-7 m² K/W: random placement, builder call
   (placement + OpenCASCADE + gmsh meshing + quality check + .msh/.json write),
   ``load_mesh``, ``CellProblem`` assembly (bulk blocks, interface matrices,
   loads, periodic map), first ``solve()`` (flux factorization + the bordered
   B Bᵀ temperature-recovery factorization + one augmented-Lagrangian solve per
   axis), with the DOFs, the full d x d tensor, its asymmetry and anisotropy,
   and the ratio to Maxwell–Garnett/Hasselman–Johnson (a reference for a random
   isotropic arrangement, not an exact value);
2. *R_K sweep*: ``sweep_resistance`` over ``--resistances`` values (default 8
   over 4 decades) on the assembled cell: the cost of each extra R_K, against
   a *from-scratch* κ_eff at one R_K (``load_mesh`` + ``CellProblem`` +
   ``solve``, best of ``--repeats``), and against the *plain* loop: for every R_K
   and every axis, ``HeatProblem`` with mixed conditions (T = 0 / T = −L on the
   faces normal to the axis, the others insulated), ``assemble`` and
   ``solve_steady`` on the same mesh (timed on ``--plain-points`` of the R_K);
3. *where an extra R_K goes*: the steps of ``CellProblem.solve`` re-timed one by
   one (private attributes; diagnostic only), how much re-using the fill
   ordering of the flux factorization would save, the factorization of the same
   flux operator without the periodic ties (what the wrap-around costs in
   fill), and the once-per-cell temperature-recovery factorization (femheat's
   bordered B Bᵀ with a general COLAMD LU vs B Bᵀ grounded at one DOF with the
   symmetric MMD path).

What a sweep re-uses (``CellProblem``): the assembled bulk flux block, the
interface matrices A_Γ, the divergence block, the plus-face loads, the periodic
map P, the DG mass inverse and the temperature-recovery factorization. Per R_K
it forms A(R) = A_bulk + R A_Γ, PᵀAP and B P, the penalty operator
A + r BᵀW⁻¹B (r depends on mean diag A, hence on R), re-factorizes it (ordering
included) and runs the augmented-Lagrangian iterations for each axis.

    .venv/bin/python benchmarks/bench_homogenization.py            # --quick (default), ~1.5 min on 2 shared cores
    .venv/bin/python benchmarks/bench_homogenization.py --full     # finer meshes, ~3 min
    .venv/bin/python benchmarks/bench_homogenization.py --cells 2d --json /tmp/h.json

BLAS threads: ``--blas-threads`` (default 1) sets OPENBLAS_NUM_THREADS /
OMP_NUM_THREADS / MKL_NUM_THREADS in the children before numpy is imported.
On a loaded 2-core machine, 2 OpenBLAS threads made every ``np.linalg.norm``
of the augmented-Lagrangian loop cost ~25 ms instead of ~5 µs (the woken
helper thread waits for a core), tripling the solve time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

# run_all.py (make bench) sets FEMHEAT_BENCH_CLOCK=cpu and one BLAS thread: process CPU time
# is what the code costs whatever else shares the cores; run by hand, wall time
_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter

# mesh sizes in units of the particle radius a: (interface_mesh_size, mesh_size).
# (3D: gmsh output at some other sizes, e.g. 0.4/0.8 or 0.6/1.2 with seed 1, is
# rejected by the builders' quality check, aspect ratio 60-74 > 50.)
SIZES = {
    "quick": {"2d": (0.25, 1.0), "3d": (0.55, 1.1)},
    "full": {"2d": (0.15, 0.6), "3d": (0.45, 0.9)},
}
# min_gap (in units of a) is fixed per cell, so --quick and --full mesh the same placement
CELLS = {
    "2d": dict(size=(100e-6, 100e-6), n=100, f=0.30, shape="circle", gap=0.25),
    "3d": dict(size=(100e-6, 100e-6, 100e-6), n=20, f=0.15, shape="sphere", gap=0.55),
}
K_M, K_I, R0 = 1.0, 10.0, 1e-7
INTERFACE = "inclusion_surface"


# ------------------------------------------------------------------- child run
def _best(fn, repeats: int):
    """(best seconds, last result) of ``repeats`` calls."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = _clock()
        out = fn()
        best = min(best, _clock() - t)
    return best, out


def run_cell(cell: str, mode: str, resistances: list[float], repeats: int,
             plain_points: int, seed: int, workdir: str) -> dict:
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    import femheat as fh
    from femheat.mesh import geometry
    from femheat.mesh.packing import random_placement
    from femheat.solve.steady import AugmentedLagrangian

    spec = CELLS[cell]
    dim = len(spec["size"])
    L = float(spec["size"][0])
    vol = float(np.prod(spec["size"]))
    n, f = spec["n"], spec["f"]
    # particle radius from the volume fraction (what packing computes)
    a = (f * vol / (n * np.pi)) ** 0.5 if dim == 2 else (3 * f * vol / (4 * np.pi * n)) ** (1 / 3)
    hi_a, h_a = SIZES[mode][cell]
    h_int, h = hi_a * a, h_a * a
    gap = spec["gap"] * a
    res: dict = {"cell": cell, "mode": mode, "dim": dim, "n_particles": n, "f_target": f,
                 "radius": a, "interface_mesh_size": h_int, "mesh_size": h,
                 "h_over_a": [hi_a, h_a], "gap_over_a": spec["gap"], "seed": seed, "R0": R0}
    path = os.path.join(workdir, f"cell_{cell}_{mode}.msh")
    mats = {"matrix": fh.Material(K_M), "inclusion": fh.Material(K_I)}

    # ---- 1. geometry parameters -> κ_eff
    t = _clock()
    random_placement(spec["size"], f, n, shape=spec["shape"], min_gap=gap, seed=seed)
    res["placement_s"] = _clock() - t
    t = _clock()
    geometry.particle_composite(spec["size"], f, shape=spec["shape"], arrangement="random",
                                n_particles=n, seed=seed, min_gap=gap, periodic=True,
                                mesh_size=h, interface_mesh_size=h_int, path=path)
    res["mesh_s"] = _clock() - t
    side = json.load(open(path + ".json"))
    res["f_geometry"] = float(side["derived"]["volume_fraction"])
    res["radius"] = a = float(np.ravel(side["derived"]["semi_axes"])[0])
    res["min_angle_deg"] = side.get("quality", {}).get("min_angle_deg")
    t = _clock()
    regions = fh.load_mesh(path)
    res["load_s"] = _clock() - t
    res["cells"] = int(regions.mesh.t.shape[1])
    t = _clock()
    cp = fh.CellProblem(regions, mats, {INTERFACE: R0}, boundary="periodic")
    res["assembly_s"] = _clock() - t
    res["flux_dofs"] = int(cp.system.n_flux)
    res["temperature_dofs"] = int(cp.system.n_temperature)
    res["reduced_flux_dofs"] = int(cp._P.shape[1])
    res["f_mesh"] = float(cp.volume_fractions["inclusion"])
    t = _clock()
    hom = cp.solve(reports=False)
    res["first_solve_s"] = _clock() - t
    res["first_factorization_s"] = hom.timings["factorization"]
    res["first_al_solves_s"] = hom.timings["solve"]
    res["total_s"] = (res["mesh_s"] + res["load_s"] + res["assembly_s"]
                      + res["first_solve_s"])
    res["kappa"] = hom.conductivity.tolist()
    res["asymmetry"] = hom.asymmetry
    res["anisotropy"] = hom.anisotropy
    res["principal"] = hom.eigenvalues.tolist()
    res["kappa_iso"] = float(np.trace(hom.conductivity) / dim)
    for key, frac in (("mg_geometry", res["f_geometry"]), ("mg_mesh", res["f_mesh"])):
        res[key] = float(fh.maxwell_garnett(frac, K_M, K_I, dim=dim, radius=a, resistance=R0))
    # (reports=True: dissipation split and interface jump statistics on top)
    t = _clock()
    cp.solve(reports=True)
    res["solve_with_reports_s"] = _clock() - t

    # ---- 2. from scratch at one R_K (mesh file exists): load + assemble + solve
    def scratch():
        c = fh.CellProblem(fh.load_mesh(path), mats, {INTERFACE: R0}, boundary="periodic")
        return c.solve(reports=False)
    res["scratch_s"], _ = _best(scratch, repeats)

    # ---- 2. sweep on the assembled cell (temperature solver already cached)
    Rs = np.asarray(resistances, dtype=float)
    t = _clock()
    sweep = fh.sweep_resistance(
        cp, Rs, component=(0, 0), matrix_conductivity=K_M,
        reference=lambda R: fh.maxwell_garnett(res["f_mesh"], K_M, K_I, dim=dim, radius=a,
                                               resistance=R))
    res["sweep_total_s"] = _clock() - t
    res["sweep"] = {"R": Rs.tolist(), "seconds": sweep.seconds.tolist(),
                    "kappa_xx": sweep.values.tolist(),
                    "kappa_iso": [float(np.trace(k) / dim) for k in sweep.conductivity],
                    "mg": sweep.reference.tolist()}
    res["extra_R_min_s"] = float(sweep.seconds.min())
    res["extra_R_median_s"] = float(np.median(sweep.seconds))
    res["extra_R_mean_s"] = res["sweep_total_s"] / Rs.size  # on _clock (sweep.seconds: wall)
    res["crossing"] = sweep.crossing()
    from femheat.analysis.conductance import crossover_resistance_theory

    res["crossing_theory"] = crossover_resistance_theory(K_M, K_I, a)

    # ---- 2. plain loop: HeatProblem (mixed) + assemble + solve_steady per R and axis
    faces = (("left", "right"), ("bottom", "top"), ("front", "back"))
    pick = np.unique(np.linspace(0, Rs.size - 1, max(1, min(plain_points, Rs.size)))
                     .round().astype(int))
    plain = []
    for k in pick:
        R = float(Rs[k])
        t = _clock()
        kdiag = []
        for axis in range(dim):
            bcs = {}
            for ax2 in range(dim):
                for name in faces[ax2]:
                    bcs[name] = fh.Insulated()
            bcs[faces[axis][0]] = fh.Temperature(0.0)
            bcs[faces[axis][1]] = fh.Temperature(-L)
            prob = fh.HeatProblem(regions, mats, bcs,
                                  interfaces={INTERFACE: fh.KapitzaResistance(R)},
                                  model="fourier")
            system = fh.assemble(prob)
            state = fh.solve_steady(system)
            mean = cp._moments @ state.flux / cp.volume
            kdiag.append(float(mean[axis]))
        plain.append({"R": R, "seconds": _clock() - t, "kappa_diag": kdiag,
                      "periodic_kappa_diag": np.diag(sweep.conductivity[k]).tolist()})
    res["plain"] = plain
    res["plain_per_R_s"] = float(np.median([p["seconds"] for p in plain]))

    # ---- 3. where an extra R_K goes (CellProblem.solve re-traced step by step)
    R1 = float(Rs[Rs.size // 2])
    steps: dict[str, float] = {}

    def tick(name, t0):
        steps[name] = steps.get(name, 0.0) + _clock() - t0
        return _clock()
    t = _clock()
    A = cp.flux_matrix(cp.resistances({INTERFACE: R1}))
    t = tick("A(R) = A_bulk + R A_Γ", t)
    P, weights, _ = cp._reduced[None]
    Ar = (P.T @ A @ P).tocsr()
    t = tick("Pᵀ A P", t)
    Br = (cp.system.divergence @ P).tocsr()
    t = tick("B P (R-independent)", t)
    # AugmentedLagrangian.__init__ without the factorization
    S0 = (Br.T @ cp._W_inverse @ Br).diagonal()
    r = 1e2 * float(np.mean(Ar.diagonal())) / float(np.mean(S0)) * Br.shape[0] ** (2.0 / dim)
    Wp = (r * cp._W_inverse).tocsr()
    BtW = (Br.T @ Wp).tocsr()
    K = (Ar + BtW @ Br).tocsc()
    t = tick("penalty BᵀW⁻¹B, A + r BᵀW⁻¹B (R-indep. but for r)", t)
    opts = dict(SymmetricMode=True, DiagPivotThresh=0.0)
    lu = splu(K, permc_spec="MMD_AT_PLUS_A", options=opts)
    t = tick("splu (MMD ordering + numeric)", t)
    steps_fill = int(lu.L.nnz + lu.U.nnz)
    inv = np.argsort(lu.perm_c)
    Kp = K[inv][:, inv].tocsc()
    t0 = _clock()
    lu2 = splu(Kp, permc_spec="NATURAL", options=opts)
    numeric_only = _clock() - t0
    # the same operator without the periodic ties (all flux DOFs, no P): fill of the wrap-around
    t0 = _clock()
    lu3 = splu((A + r * (cp.system.divergence.T @ cp._W_inverse @ cp.system.divergence)).tocsc(),
               permc_spec="MMD_AT_PLUS_A", options=opts)
    res["breakdown_no_ties_s"] = _clock() - t0
    res["breakdown_no_ties_fill"] = int(lu3.L.nnz + lu3.U.nnz)
    del lu3
    # temperature recovery B Bᵀ T = rhs (paid once per cell, in the first solve):
    # the former bordered matrix + general LU (COLAMD) vs grounding one DOF + symmetric MMD (now used)
    BBt = (Br @ Br.T).tocsr()
    wrow = sp.csr_matrix(weights[None, :] / weights.sum())
    t0 = _clock()
    lub = splu(sp.bmat([[BBt, wrow.T], [wrow, None]], format="csc"), permc_spec="COLAMD")
    res["temperature_bordered_s"] = _clock() - t0
    res["temperature_bordered_fill"] = int(lub.L.nnz + lub.U.nnz)
    t0 = _clock()
    lug = splu(BBt[1:][:, 1:].tocsc(), permc_spec="MMD_AT_PLUS_A", options=opts)
    res["temperature_grounded_s"] = _clock() - t0
    res["temperature_grounded_fill"] = int(lug.L.nnz + lug.U.nnz)
    rhs = Br @ np.random.default_rng(0).random(Br.shape[1])
    T1 = lub.solve(np.concatenate([rhs, [0.0]]))[:-1]
    T2 = np.concatenate([[0.0], lug.solve(rhs[1:])])
    T2 -= weights @ T2 / weights.sum()
    res["temperature_grounded_reldiff"] = float(np.linalg.norm(T1 - T2) / np.linalg.norm(T1))
    del lub, lug
    al = AugmentedLagrangian(Ar, Br, cp._W_inverse, mean_weights=weights, dim=dim,
                             temperature_solver=cp._temperature_solvers[None])
    t = _clock()
    for axis in cp.axes:
        fa = P.T @ cp._loads[axis]
        al.solve(fa, np.zeros(cp.system.n_temperature))
    t = tick("AL iterations + T recovery (all axes)", t)
    res["breakdown"] = steps
    res["breakdown_fill"] = steps_fill
    res["breakdown_numeric_only_s"] = numeric_only
    res["breakdown_numeric_only_fill"] = int(lu2.L.nnz + lu2.U.nnz)
    res["breakdown_R"] = R1
    res["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return res


# ------------------------------------------------------------------- printing
def table(head, rows) -> str:
    cells = [[str(h) for h in head]] + [[str(v) for v in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cells[0])) + " |",
           "|" + "|".join("-" * (w[i] + 1) + ":" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(c.rjust(w[i]) for i, c in enumerate(r)) + " |" for r in cells[1:]]
    return "\n".join(out)


def g(x, d=3) -> str:
    return f"{x:.{d}g}"


def report(results: list[dict]) -> None:
    print("\n### Geometry parameters -> κ_eff (R_K = 1e-7 m² K/W, periodic, k_m = 1, k_i = 10)\n")
    head = ("cell", "particles", "gap, h_int, h [a]", "h_int, h µm", "cells", "flux DOFs (free)", "T DOFs",
            "placement s", "mesh s", "load s", "assembly s", "1st solve s",
            "(fact. s", "AL s)", "total s", "peak GB")
    rows = []
    for r in results:
        rows.append((r["cell"], r["n_particles"], "{}, {}, {}".format(r["gap_over_a"], *r["h_over_a"]),
                     f"{r['interface_mesh_size'] * 1e6:.2f}, {r['mesh_size'] * 1e6:.2f}",
                     f"{r['cells']:,}", f"{r['flux_dofs']:,} ({r['reduced_flux_dofs']:,})",
                     f"{r['temperature_dofs']:,}", g(r["placement_s"]), g(r["mesh_s"]),
                     g(r["load_s"]), g(r["assembly_s"]), g(r["first_solve_s"]),
                     g(r["first_factorization_s"]), g(r["first_al_solves_s"]),
                     g(r["total_s"]), f"{r['peak_rss_gb']:.2f}"))
    print(table(head, rows))
    print("\nκ_eff tensors [W/(m K)]:")
    for r in results:
        print(f"  {r['cell']}: " + "\n      ".join(
            "[" + "  ".join(f"{v:+.6f}" for v in row) + "]" for row in r["kappa"]))
    head = ("cell", "a µm", "f geom.", "f mesh", "κ mean", "principal", "asymmetry",
            "anisotropy", "MG (f mesh)", "κ/MG", "MG (f geom.)", "κ/MG geom.",
            "with reports s")
    rows = [(r["cell"], g(r["radius"] * 1e6), g(r["f_geometry"], 4), g(r["f_mesh"], 4),
             g(r["kappa_iso"], 5), " ".join(g(v, 5) for v in r["principal"]),
             f"{r['asymmetry']:.1e}", f"{r['anisotropy']:.2e}", g(r["mg_mesh"], 5),
             f"{r['kappa_iso'] / r['mg_mesh']:.4f}", g(r["mg_geometry"], 5),
             f"{r['kappa_iso'] / r['mg_geometry']:.4f}", g(r["solve_with_reports_s"]))
            for r in results]
    print()
    print(table(head, rows))

    print("\n### Cost of each extra R_K (sweep_resistance on the assembled cell)\n")
    head = ("cell", "R_K points", "extra R_K min s", "median s", "from scratch s",
            "extra/scratch", "plain per R s (d loads)", "plain/extra (speed-up)",
            "sweep total s", "plain loop total (est.) s")
    rows = []
    for r in results:
        npts = len(r["sweep"]["R"])
        rows.append((r["cell"], npts, g(r["extra_R_min_s"]), g(r["extra_R_median_s"]),
                     g(r["scratch_s"]), f"{r['extra_R_median_s'] / r['scratch_s']:.2f}",
                     g(r["plain_per_R_s"]),
                     f"{r['plain_per_R_s'] / r['extra_R_median_s']:.2f}",
                     g(r["sweep_total_s"]), g(r["plain_per_R_s"] * npts)))
    print(table(head, rows))
    for r in results:
        print(f"\nSweep, {r['cell']} (κ_xx periodic; MG/HJ with f mesh; crossover FEM "
              f"{g(r['crossing'] or float('nan'))}, theory a(k_i-k_m)/(k_i k_m) = "
              f"{g(r['crossing_theory'])} m² K/W):\n")
        s = r["sweep"]
        rows = [(f"{R:.2e}", g(sec), f"{kx:.5f}", f"{ki:.5f}", f"{m:.5f}", f"{ki / m:.4f}")
                for R, sec, kx, ki, m in zip(s["R"], s["seconds"], s["kappa_xx"],
                                             s["kappa_iso"], s["mg"])]
        print(table(("R_K m²K/W", "s", "κ_xx", "κ mean", "MG/HJ", "κ mean/MG"), rows))
        rows = [(f"{p['R']:.2e}", g(p["seconds"]),
                 " ".join(f"{v:.5f}" for v in p["kappa_diag"]),
                 " ".join(f"{v:.5f}" for v in p["periodic_kappa_diag"])) for p in r["plain"]]
        print(f"\nPlain loop, {r['cell']} (HeatProblem, mixed conditions, one assemble + "
              "solve_steady per axis):\n")
        print(table(("R_K m²K/W", "s (all axes)", "κ_ii mixed", "κ_ii periodic"), rows))

    print("\n### Where an extra R_K goes (CellProblem.solve re-traced)\n")
    names = list(results[0]["breakdown"])
    head = ("step",) + tuple(f"{r['cell']} s" for r in results)
    rows = [(nm,) + tuple(g(r["breakdown"].get(nm, float("nan"))) for r in results)
            for nm in names]
    rows.append(("sum",) + tuple(g(sum(r["breakdown"].values())) for r in results))
    rows.append(("splu numeric only (ordering re-used)",)
                + tuple(g(r["breakdown_numeric_only_s"]) for r in results))
    rows.append(("fill nnz(L+U)",) + tuple(f"{r['breakdown_fill']:,}" for r in results))
    rows.append(("splu of the same operator without periodic ties",)
                + tuple(g(r["breakdown_no_ties_s"]) for r in results))
    rows.append(("  its fill nnz(L+U)",) + tuple(f"{r['breakdown_no_ties_fill']:,}" for r in results))
    print(table(head, rows))
    print("\nTemperature recovery B Bᵀ T = B(A q − f), factorized once per cell (first solve):\n")
    head = ("cell", "bordered + COLAMD LU s (femheat)", "fill", "grounded + MMD sym. s",
            "fill", "speed-up", "rel. diff of T")
    rows = [(r["cell"], g(r["temperature_bordered_s"]), f"{r['temperature_bordered_fill']:,}",
             g(r["temperature_grounded_s"]), f"{r['temperature_grounded_fill']:,}",
             f"{r['temperature_bordered_s'] / r['temperature_grounded_s']:.1f}",
             f"{r['temperature_grounded_reldiff']:.1e}") for r in results]
    print(table(head, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="coarse meshes (default)")
    size.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="finer meshes (~3 min)")
    parser.set_defaults(mode="quick")
    parser.add_argument("--cells", nargs="+", choices=("2d", "3d"), default=["2d", "3d"])
    parser.add_argument("--resistances", type=float, nargs="+", default=None,
                        help="R_K values of the sweep [m² K/W] (default: 8 over 1e-8 ... 1e-4)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="from-scratch repeats, best kept (default 2 quick, 3 full)")
    parser.add_argument("--plain-points", type=int, default=3,
                        help="R_K values (spread over the sweep) timed in the plain loop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    resistances = args.resistances or [float(v) for v in
                                       __import__("numpy").logspace(-8, -4, 8)]
    repeats = args.repeats or (2 if args.mode == "quick" else 3)
    if args.child:
        with tempfile.TemporaryDirectory() as wd:
            out = run_cell(args.child, args.mode, resistances, repeats, args.plain_points,
                           args.seed, wd)
        print("RESULT " + json.dumps(out))
        return
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.blas_threads)
    results = []
    for cell in args.cells:
        t = _clock()
        cmd = [sys.executable, __file__, "--child", cell, f"--{args.mode}",
               "--repeats", str(repeats), "--plain-points", str(args.plain_points),
               "--seed", str(args.seed), "--resistances", *map(repr, resistances)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode:
            sys.stderr.write(out.stdout + out.stderr)
            raise SystemExit(f"child {cell} failed")
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        results.append(json.loads(line[7:]))
        print(f"{cell}: done in {_clock() - t:.1f} s", flush=True)
    print(f"\nmode = {args.mode}, BLAS threads = {args.blas_threads}, seed = {args.seed}, "
          f"R_K sweep = {len(resistances)} values {min(resistances):.1e} ... "
          f"{max(resistances):.1e} m² K/W, from-scratch best of {repeats}")
    report(results)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
