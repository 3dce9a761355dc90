#!/usr/bin/env python
"""Cost of one femheat MCV time step against a plain scikit-fem P1 Fourier step.

For each n the unit square is split into an n x n tensor triangulation
(``skfem.MeshTri.init_tensor``, 2 n^2 triangles) and, in a fresh subprocess
(so that the peak resident memory, ``ru_maxrss``, belongs to that size alone):

femheat (RT0 flux + P0 temperature, ~3 n^2 + 2 n^2 = 5 n^2 unknowns)
    Temperature 1 on the left, 0 on the right, insulated top and bottom,
    kappa = C = 1, tau = 1e-2, model "mcv". Timed: ``fh.assemble`` (assembly),
    ``fh.ThetaScheme(system, dt, theta=1)`` (builds and factorizes the
    eliminated SPD flux operator M/dt + A + dt B^T C^-1 B with femheat's direct
    solver -- CHOLMOD where scikit-sparse is installed, else SuperLU; set
    FEMHEAT_DIRECT_SOLVER=superlu to force SuperLU: "factorization") and
    ``scheme.step(state)`` (one backward-Euler step; best and median of
    ``--steps`` consecutive steps).

plain scikit-fem P1 Fourier backward Euler on the same mesh ((n+1)^2 unknowns)
    ``laplace`` + ``mass`` from ``skfem.models``, Dirichlet left/right
    condensed, ``splu`` of (M/dt + K)[I, I] with the options femheat's
    ``solvers.factorize(symmetric=True)`` uses; one step = right-hand side
    (M/dt) u - (M/dt + K)[I, D] u_D, one solve, scatter.

full saddle point (only where 5 n^2 <= --full-max-unknowns)
    The same backward-Euler step without eliminating the temperature:
    [[M/dt + A, -B^T], [B, C/dt]] on the free flux DOFs and all temperature
    DOFs, factorized with ``splu(permc_spec="COLAMD")`` (SuperLU's general
    default) and, for reference, with femheat's symmetric options
    (MMD on A + A^T, SymmetricMode) applied to the symmetric quasi-definite
    form [[M/dt + A, -B^T], [-B, -C/dt]]. One step = right-hand side + one
    solve. The solution is checked against ``scheme.step``.

Run from the repository root, e.g.::

    .venv/bin/python benchmarks/bench_mcv_step.py                 # full ladder, n up to 500
    .venv/bin/python benchmarks/bench_mcv_step.py --sizes 50 100 --steps 5
    .venv/bin/python benchmarks/bench_mcv_step.py --quick --json /tmp/mcv.json   # n = 50, 100, 200
    .venv/bin/python benchmarks/bench_mcv_step.py --markdown --json /tmp/bench.json

Sizes run one after another (never in parallel) so that they do not compete
for the cores. Timings on a shared machine are noisy: per-step figures are the
best of ``--steps`` steps (median shown too) and the factorization is the best
of ``--fact-repeats`` builds.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time

# time every factorization from scratch (the best-of-N repeats would otherwise be
# answered by the shared symbolic/numeric cache of femheat.solve.factorization)
os.environ.setdefault("FEMHEAT_SYMBOLIC_CACHE", "0")

import numpy as np

# run_all.py (make bench) sets FEMHEAT_BENCH_CLOCK=cpu and one BLAS thread: process CPU time
# is what the code costs whatever else shares the cores; run by hand, wall time
_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter

DEFAULT_SIZES = [50, 100, 150, 200, 250, 350, 500]
QUICK_SIZES = [50, 100, 200]

# Options of femheat.solve.steady.factorize(symmetric=True) -- keep in sync.
SYM_SPLU = dict(permc_spec="MMD_AT_PLUS_A",
                options=dict(SymmetricMode=True, DiagPivotThresh=0.0))
# SuperLU's general (unsymmetric) path, as femheat.solve.steady.factorize(symmetric=False).
GEN_SPLU = dict(permc_spec="COLAMD")


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far [GB] (Linux: ru_maxrss in kB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        kb /= 1024
    return kb * 1024 / 1e9


def clock(fn):
    t = _clock()
    out = fn()
    return _clock() - t, out


def best_median(times):
    return float(np.min(times)), float(np.median(times))


# ---------------------------------------------------------------------- worker
def run_size(n: int, steps: int, dt: float, fact_repeats: int,
             full_max_unknowns: int) -> dict:
    import scipy.sparse as sp
    import skfem
    from scipy.sparse.linalg import splu
    from skfem.models import laplace, mass

    import femheat as fh

    res: dict = {"n": n}
    res["rss_start_gb"] = peak_rss_gb()
    x = np.linspace(0.0, 1.0, n + 1)
    t_mesh, mesh = clock(lambda: skfem.MeshTri.init_tensor(x, x))
    res["cells"] = int(mesh.t.shape[1])

    # ---------------------------------------------------------------- femheat
    def build_problem():
        rm = fh.RegionMesh.from_skfem(mesh, boundaries={
            "left": lambda p: np.isclose(p[0], 0.0),
            "right": lambda p: np.isclose(p[0], 1.0),
            "walls": lambda p: np.isclose(p[1], 0.0) | np.isclose(p[1], 1.0),
        })
        return fh.HeatProblem(
            rm,
            materials={"domain": fh.Material(conductivity=1.0, heat_capacity=1.0,
                                             relaxation_time=1e-2)},
            boundary_conditions={"left": fh.Temperature(1.0), "right": fh.Temperature(0.0),
                                 "walls": fh.Insulated()},
            model="mcv",
        )

    t_regions, problem = clock(build_problem)
    res["mesh_s"] = t_mesh + t_regions
    res["assembly_s"], system = clock(lambda: fh.assemble(problem))
    res["rss_after_assembly_gb"] = peak_rss_gb()
    res["n_flux"], res["n_temperature"] = int(system.n_flux), int(system.n_temperature)
    res["femheat_unknowns"] = int(system.ndofs)
    res["femheat_solved"] = int(system.free_dofs.size)

    fact_times = []
    t, scheme = clock(lambda: fh.ThetaScheme(system, dt, theta=1.0))
    fact_times.append(t)
    res["rss_after_factorization_gb"] = peak_rss_gb()

    state = fh.initial_state(system)  # T = 0, q = 0
    step_times = []
    for _ in range(steps):
        t, state = clock(lambda s=state: scheme.step(s))
        step_times.append(t)
    res["step_best_s"], res["step_median_s"] = best_median(step_times)
    res["step_first_s"] = step_times[0]
    res["peak_rss_gb"] = peak_rss_gb()  # femheat only: everything below comes later
    last_state = state

    # where the step goes: the factorized solve alone vs the rest of step()
    solve = getattr(scheme, "_solve", None)
    if solve is not None:
        r = np.random.default_rng(0).standard_normal(system.free_dofs.size)
        ts = [clock(lambda: solve(r))[0] for _ in range(max(3, min(steps, 5)))]
        res["step_solve_best_s"] = float(np.min(ts))

    for _ in range(fact_repeats - 1):  # further builds, the old factor freed first
        del scheme
        gc.collect()
        t, scheme = clock(lambda: fh.ThetaScheme(system, dt, theta=1.0))
        fact_times.append(t)
    res["factorization_s"] = float(np.min(fact_times))
    res["factorization_all_s"] = [float(v) for v in fact_times]

    # where the factorization goes: the sparse algebra ThetaScheme does before splu
    M, A, B, Cinv = system.inertia, system.resistance, system.divergence, system.capacity_inverse
    free, ess = system.free_dofs, system.essential_dofs
    t_op, K = clock(lambda: (M / dt + A + dt * (B.T @ Cinv @ B)).tocsr())
    t_sl, Kff = clock(lambda: K[free][:, free])
    t_sl2, _ = clock(lambda: K[free][:, ess])
    t_csc, _ = clock(lambda: sp.csc_matrix(Kff))
    res["fact_operator_s"] = t_op
    res["fact_slicing_s"] = t_sl + t_sl2
    res["fact_csc_s"] = t_csc
    res["fact_splu_est_s"] = res["factorization_s"] - t_op - t_sl - t_sl2 - t_csc
    res["K_nnz"] = int(Kff.nnz)
    del K, Kff, scheme
    gc.collect()

    # ------------------------------------------------------ scikit-fem P1 step
    def p1_assemble():
        basis = skfem.Basis(mesh, skfem.ElementTriP1())
        Kl = laplace.assemble(basis)
        Ms = mass.assemble(basis)
        D = basis.get_dofs(lambda p: np.isclose(p[0], 0.0) | np.isclose(p[0], 1.0)).all()
        return basis, Kl, Ms, D

    res["p1_assembly_s"], (basis, Kl, Ms, D) = clock(p1_assemble)
    res["p1_unknowns"] = int(basis.N)
    I = np.setdiff1d(np.arange(basis.N), D)
    res["p1_solved"] = int(I.size)

    def p1_factorize():
        S = (Ms / dt + Kl).tocsr()
        lu = splu(sp.csc_matrix(S[I][:, I]), **SYM_SPLU)
        return lu, S[I][:, D]

    res["p1_factorization_s"], (lu, S_ID) = clock(p1_factorize)
    for _ in range(fact_repeats - 1):  # best of as many builds as femheat's
        del lu
        t, (lu, S_ID) = clock(p1_factorize)
        res["p1_factorization_s"] = min(res["p1_factorization_s"], t)
    Mdt = (Ms / dt).tocsr()
    u = np.zeros(basis.N)
    uD = np.where(np.isclose(basis.doflocs[0, D], 0.0), 1.0, 0.0)
    u[D] = uD

    def p1_step(u):
        b = (Mdt @ u)[I] - S_ID @ uD
        u1 = np.empty_like(u)
        u1[I] = lu.solve(b)
        u1[D] = uD
        return u1

    p1_times = []
    for _ in range(steps):
        t, u = clock(lambda u=u: p1_step(u))
        p1_times.append(t)
    res["p1_step_best_s"], res["p1_step_median_s"] = best_median(p1_times)
    del lu, S_ID, Mdt, Kl, Ms, basis
    gc.collect()

    # ------------------------------------------- full saddle point, no elimination
    if res["femheat_unknowns"] <= full_max_unknowns:
        C = system.capacity
        Q = (M / dt + A).tocsr()
        Qff, Qfe = Q[free][:, free], Q[free][:, ess]
        Bc = B.tocsc()
        Bf, Be = Bc[:, free], Bc[:, ess]
        Cdt = (C / dt).tocsr()
        nf = free.size

        def rhs(q, T, t1):
            qd = system.essential_values(t1)
            r_q = (M @ q / dt + system.flux_load(t1))[free] - Qfe @ qd
            r_T = Cdt @ T + system.heat_load(t1) - Be @ qd
            return r_q, r_T, qd

        def full_step(lu, sign, s):
            r_q, r_T, qd = rhs(s.flux, s.temperature, s.time + dt)
            x = lu.solve(np.concatenate([r_q, sign * r_T]))
            q1 = np.empty_like(s.flux)
            q1[free], q1[ess] = x[:nf], qd
            return q1, x[nf:]

        variants = {
            # the saddle-point system as the issue states it, general LU
            "full_colamd": (lambda: splu(sp.bmat([[Qff, -Bf.T], [Bf, Cdt]], format="csc"),
                                         **GEN_SPLU), +1.0),
            # symmetric quasi-definite form with femheat's symmetric SuperLU options
            "full_mmd": (lambda: splu(sp.bmat([[Qff, -Bf.T], [-Bf, -Cdt]], format="csc"),
                                      **SYM_SPLU), -1.0),
        }
        scheme_ref = fh.ThetaScheme(system, dt, theta=1.0)
        ref = scheme_ref.step(last_state)
        del scheme_ref
        gc.collect()
        for name, (build, sign) in variants.items():
            t_f, lu = clock(build)
            ts = []
            for _ in range(max(3, min(steps, 5))):
                t, (q1, T1) = clock(lambda: full_step(lu, sign, last_state))
                ts.append(t)
            err = max(np.max(np.abs(q1 - ref.flux)) / max(np.max(np.abs(ref.flux)), 1e-300),
                      np.max(np.abs(T1 - ref.temperature))
                      / max(np.max(np.abs(ref.temperature)), 1e-300))
            res[f"{name}_factorization_s"] = t_f
            res[f"{name}_step_best_s"] = float(np.min(ts))
            res[f"{name}_rel_diff"] = float(err)
            del lu
            gc.collect()
    res["peak_rss_all_gb"] = peak_rss_gb()
    return res


# ---------------------------------------------------------------------- driver
COLUMNS = [
    # header, key or function, format
    ("n", "n", "{:d}"),
    ("cells", "cells", "{:,d}"),
    ("femheat unk.", "femheat_unknowns", "{:,d}"),
    ("P1 unk.", "p1_unknowns", "{:,d}"),
    ("assembly s", "assembly_s", "{:.3g}"),
    ("factor. s", "factorization_s", "{:.3g}"),
    ("step ms", lambda r: 1e3 * r["step_best_s"], "{:.3g}"),
    ("step med ms", lambda r: 1e3 * r["step_median_s"], "{:.3g}"),
    ("peak RSS GB", "peak_rss_gb", "{:.2f}"),
    ("P1 factor. s", "p1_factorization_s", "{:.3g}"),
    ("P1 step ms", lambda r: 1e3 * r["p1_step_best_s"], "{:.3g}"),
    ("step ratio", lambda r: r["step_best_s"] / r["p1_step_best_s"], "{:.1f}"),
    ("ratio/unknown", lambda r: (r["step_best_s"] / r["femheat_unknowns"])
     / (r["p1_step_best_s"] / r["p1_unknowns"]), "{:.2f}"),
]

BREAKDOWN = [
    ("n", "n", "{:d}"),
    ("factor. s", "factorization_s", "{:.3g}"),
    ("all builds s", lambda r: " ".join(f"{v:.3g}" for v in r["factorization_all_s"]), "{}"),
    ("B^T C^-1 B + sum s", "fact_operator_s", "{:.2g}"),
    ("K[free][:,...] s", "fact_slicing_s", "{:.2g}"),
    ("csc s", "fact_csc_s", "{:.2g}"),
    ("factorize (rest) s", "fact_splu_est_s", "{:.3g}"),
    ("K nnz", "K_nnz", "{:,d}"),
    ("step ms", lambda r: 1e3 * r["step_best_s"], "{:.3g}"),
    ("solve ms", lambda r: 1e3 * r["step_solve_best_s"], "{:.3g}"),
    ("rest of step ms", lambda r: 1e3 * (r["step_best_s"] - r["step_solve_best_s"]), "{:.2g}"),
    ("RSS asm GB", "rss_after_assembly_gb", "{:.2f}"),
    ("RSS fact GB", "rss_after_factorization_gb", "{:.2f}"),
]

FULL = [
    ("n", "n", "{:d}"),
    ("femheat unk.", "femheat_unknowns", "{:,d}"),
    ("elim. factor. s", "factorization_s", "{:.3g}"),
    ("elim. step ms", lambda r: 1e3 * r["step_best_s"], "{:.3g}"),
    ("full COLAMD factor. s", "full_colamd_factorization_s", "{:.3g}"),
    ("full COLAMD step ms", lambda r: 1e3 * r["full_colamd_step_best_s"], "{:.3g}"),
    ("factor. ratio full/elim", lambda r: r["full_colamd_factorization_s"] / r["factorization_s"],
     "{:.1f}"),
    ("step ratio full/elim", lambda r: r["full_colamd_step_best_s"] / r["step_best_s"], "{:.1f}"),
    ("full MMD-sym factor. s", "full_mmd_factorization_s", "{:.3g}"),
    ("full MMD-sym step ms", lambda r: 1e3 * r["full_mmd_step_best_s"], "{:.3g}"),
    ("factor. ratio MMD-full/elim", lambda r: r["full_mmd_factorization_s"] / r["factorization_s"],
     "{:.2f}"),
    ("step ratio MMD-full/elim", lambda r: r["full_mmd_step_best_s"] / r["step_best_s"], "{:.2f}"),
    ("max rel. diff", lambda r: max(r["full_colamd_rel_diff"], r["full_mmd_rel_diff"]), "{:.1e}"),
]


def cell(r, key, fmt):
    try:
        v = key(r) if callable(key) else r[key]
    except (KeyError, ZeroDivisionError):
        return "-"
    return fmt.format(v)


def table(rows, columns, markdown):
    head = [c[0] for c in columns]
    body = [[cell(r, k, f) for _, k, f in columns] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    w = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
         for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w[i]) for i, h in enumerate(head))]
    lines += ["  ".join(b[i].rjust(w[i]) for i in range(len(head))) for b in body]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES,
                    help="n of the n x n tensor meshes (femheat unknowns ~ 5 n^2; "
                         "default %(default)s, n = 500 is ~1.25M)")
    ap.add_argument("--steps", type=int, default=10,
                    help="time steps timed per size (best and median reported; >= 3)")
    ap.add_argument("--dt", type=float, default=1e-3, help="time step [s] (default 1e-3)")
    ap.add_argument("--fact-repeats", type=int, default=2,
                    help="ThetaScheme builds per size; the best is reported (default 2)")
    ap.add_argument("--full-max-unknowns", type=int, default=320_000,
                    help="also time the full saddle-point system up to this many femheat "
                         "unknowns (default %(default)s; 0 disables)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    ap.add_argument("--quick", action="store_true",
                    help=f"n = {QUICK_SIZES}, 10 steps, best of 4 factorizations, full saddle "
                         "point up to 60 000 unknowns")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:  # small sizes: more repeats, the best kept
        args.sizes, args.steps, args.full_max_unknowns = QUICK_SIZES, 10, 60_000
        args.fact_repeats = max(args.fact_repeats, 4)
    args.steps = max(3, args.steps)
    args.fact_repeats = max(1, args.fact_repeats)

    if args.worker is not None:
        res = run_size(args.worker, args.steps, args.dt, args.fact_repeats,
                       args.full_max_unknowns)
        print("RESULT " + json.dumps(res), flush=True)
        return 0

    from femheat.solve.steady import direct_solver

    info = (f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"direct solver {direct_solver()}, "
            f"{platform.machine()}, dt = {args.dt:g} s, theta = 1, steps = {args.steps}, "
            f"factorization best of {args.fact_repeats}")
    try:
        import numpy, scipy, skfem  # noqa: F401
        info += (f"; numpy {numpy.__version__}, scipy {scipy.__version__}, "
                 f"scikit-fem {skfem.__version__}")
    except ImportError:
        pass
    print(info, flush=True)
    rows = []
    for n in args.sizes:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(n),
               "--steps", str(args.steps), "--dt", repr(args.dt),
               "--fact-repeats", str(args.fact_repeats),
               "--full-max-unknowns", str(args.full_max_unknowns)]
        t0 = _clock()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = _clock() - t0
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not line:
            print(f"n = {n}: worker failed (exit {proc.returncode})\n{proc.stderr[-3000:]}",
                  file=sys.stderr, flush=True)
            continue
        r = json.loads(line[-1][len("RESULT "):])
        r["wall_s"] = wall
        rows.append(r)
        print(f"n = {n}: {r['femheat_unknowns']:,d} unknowns, factorization "
              f"{r['factorization_s']:.2f} s, step {r['step_best_s']:.4f} s, "
              f"peak RSS {r['peak_rss_gb']:.2f} GB ({wall:.0f} s wall)", flush=True)

    md = args.markdown
    print("\nfemheat MCV backward-Euler step vs scikit-fem P1 Fourier backward Euler "
          "(same mesh; step = best of the timed steps)\n")
    print(table(rows, COLUMNS, md))
    print("\nwhere the time goes (femheat; 'factorize (rest)' = factorization minus the "
          "timed sparse algebra)\n")
    print(table(rows, BREAKDOWN, md))
    full_rows = [r for r in rows if "full_colamd_factorization_s" in r]
    if full_rows:
        print("\neliminated SPD flux operator (femheat) vs the full saddle-point system\n")
        print(table(full_rows, FULL, md))
    if args.json:
        with open(args.json, "w") as fh_:
            json.dump({"info": info, "rows": rows}, fh_, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
