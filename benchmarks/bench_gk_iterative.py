"""3D Guyer–Krumhansl: iterative (block-preconditioned MINRES) vs direct solves under refinement.

Unit cube, n³ × 6 tetrahedra, BDM1 × P0 (degree 0), κ = C = 1, τ = 0.05 s, unit
source, T = 1 / 0 on x = 0 / 1, insulated no-slip walls elsewhere, penalty η = 1.
For each refinement n and β, two series of nonlocal lengths:

* fixed l = 0.5 (l/h = n/2: refinement at fixed physics);
* fixed l/h = 1 and 8 (l = 1/n, 8/n).

Each (n, β, solver) runs in its own subprocess, so the peak RSS (ru_maxrss) is
that run's alone (it includes assembly, which for GK has the higher transient
peak). Memory columns (l = 0.5 rows): "system GB" = resident set after assembly;
"solve GB" = peak RSS during the solve minus that ("<= x" when the solve stayed
under the assembly's own peak, so only this bound is known); "iter. traced GB"
= tracemalloc peak of an (untimed) repeat of the iterative solve, i.e. every
numpy/scipy/pyamg array it allocates. Measured per row:

* iterative: ``solve_steady_iterative`` (rtol 1e-10, defaults: auxiliary-space
  flux block, cell Schwarz smoother, grad-div augmentation α = 10), its MINRES
  count and wall time (preconditioner setup included); ``IterativeThetaScheme``
  backward Euler (Δt = 0.01 s): iterations of the first three steps and time per step
  (best of the three, setup excluded);
* baseline (n ≤ --baseline-max-n): the former preconditioner (one AMG V-cycle
  on the flux block, no augmentation) on the same system: MINRES count;
* direct (n ≤ --direct-max-n, l = 0.5 only): ``fh.solve_steady`` (SuperLU on
  the scaled saddle point / augmented Lagrangian) and ``fh.ThetaScheme``
  (factorization, time per step), and max |q_it − q_direct| / max |q_direct|.

    python benchmarks/bench_gk_iterative.py                  # n = 4 ... 14 (~30 min)
    python benchmarks/bench_gk_iterative.py --sizes 4 8 --betas 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

# time every factorization from scratch (the best-of-N repeats would otherwise be
# answered by the shared symbolic/numeric cache of femheat.solve.factorization)
os.environ.setdefault("FEMHEAT_SYMBOLIC_CACHE", "0")

# run_all.py (make bench) sets FEMHEAT_BENCH_CLOCK=cpu and one BLAS thread: process CPU time
# is what the code costs whatever else shares the cores; run by hand, wall time
_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter


def system_for(n: int, ell: float, beta: int):
    import numpy as np
    import skfem

    import femheat as fh
    from femheat.physics.conditions import NoSlip

    x = np.linspace(0, 1, n + 1)
    mesh = skfem.MeshTet.init_tensor(x, x, x)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "hot": lambda x: x[0] < 1e-9, "cold": lambda x: x[0] > 1 - 1e-9,
        "walls": lambda x: (x[0] > 1e-9) & (x[0] < 1 - 1e-9)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.05, nonlocal_length=ell)},
                             {"hot": fh.Temperature(1.0), "cold": fh.Temperature(0.0),
                              "walls": fh.Insulated()},
                             source=lambda x, t: 1.0 + 0 * x[0], model="gk", beta=beta,
                             walls={"walls": NoSlip()})
    return fh.assemble(problem)


def rss_gb() -> float:
    """Current resident set size [GB] (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**3


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def solver_memory(before_rss: float, before_peak: float) -> str:
    """Peak memory of a solve above the assembled system; "<= x" when the solve stayed
    under the assembly's own (transient) peak."""
    after = peak_gb()
    if after > before_peak + 1e-3:
        return f"{after - before_rss:.2f}"
    return f"<= {before_peak - before_rss:.2f}"


def lengths(n: int) -> list[float]:
    return [0.5, 1.0 / n, 8.0 / n]


def child_iterative(n: int, beta: int, steps: int, baseline: bool, ref_dir: str) -> dict:
    import numpy as np

    import femheat as fh
    from femheat.solve.iterative import IterativeThetaScheme, solve_steady_iterative

    rows = []
    for ell in lengths(n):
        t = _clock()
        system = system_for(n, ell, beta)
        row = {"ell": ell, "assembly_s": _clock() - t,
               "flux_dofs": int(system.n_flux), "unknowns": int(system.ndofs)}
        gc.collect()
        base, peak = rss_gb(), peak_gb()
        t = _clock()
        state, report = solve_steady_iterative(system)
        row["steady_s"] = _clock() - t
        row["system_gb"], row["solve_gb"] = base, solver_memory(base, peak)
        if ell == 0.5:  # numpy/scipy/pyamg arrays allocated by the solve (untimed rerun)
            tracemalloc.start()
            solve_steady_iterative(system)
            row["traced_gb"] = tracemalloc.get_traced_memory()[1] / 1024**3
            tracemalloc.stop()
        row["steady_its"] = report.iterations[0]
        ref = os.path.join(ref_dir, f"q_{n}_{beta}_{ell:.6g}.npy")
        if os.path.exists(ref):
            q = np.load(ref)
            row["rel_diff"] = float(np.abs(state.flux - q).max() / np.abs(q).max())
        scheme = IterativeThetaScheme(system, 0.01, 1.0)
        row["step_s"] = best_step_time(scheme, fh.initial_state(system), steps)
        row["step_its"] = scheme.report.iterations
        if baseline:
            try:
                _, rep = solve_steady_iterative(system, flux_preconditioner="amg",
                                                grad_div=0.0, maxiter=3000)
                row["baseline_its"] = rep.iterations[0]
            except fh.SolverError:
                row["baseline_its"] = "> 3000"
        rows.append(row)
    return {"rows": rows, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}


def best_step_time(scheme, state, steps: int) -> float:
    """Shortest wall time [s] of ``steps`` θ-steps from ``state``."""
    times = []
    for _ in range(steps):
        t = _clock()
        state = scheme.step(state)
        times.append(_clock() - t)
    return min(times)


def child_direct(n: int, beta: int, steps: int, ref_dir: str) -> dict:
    import numpy as np

    import femheat as fh

    ell = 0.5
    system = system_for(n, ell, beta)
    gc.collect()
    base, peak = rss_gb(), peak_gb()
    t = _clock()
    state = fh.solve_steady(system)
    res = {"steady_s": _clock() - t, "solve_gb": solver_memory(base, peak)}
    np.save(os.path.join(ref_dir, f"q_{n}_{beta}_{ell:.6g}.npy"), state.flux)
    t = _clock()
    scheme = fh.ThetaScheme(system, 0.01, 1.0)
    res["factorization_s"] = _clock() - t
    res["step_s"] = best_step_time(scheme, fh.initial_state(system), steps)
    res["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return res


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 6, 8, 12, 14])
    parser.add_argument("--betas", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--direct-max-n", type=int, default=14)
    parser.add_argument("--baseline-max-n", type=int, default=8)
    parser.add_argument("--json", help="write all measurements to this file")
    parser.add_argument("--quick", action="store_true",
                        help="n = 4 and 6, beta = 2 only, the former preconditioner at n = 4 only")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick and not args.child:
        args.sizes, args.betas, args.baseline_max_n = [4, 6], [2], 4
    if args.child:
        kind, n, beta, ref_dir = args.child[0], int(args.child[1]), int(args.child[2]), args.child[3]
        if kind == "direct":
            print(json.dumps(child_direct(n, beta, args.steps, ref_dir)))
        else:
            print(json.dumps(child_iterative(n, beta, args.steps, kind == "iterative+baseline",
                                             ref_dir)))
        return
    results = []
    with tempfile.TemporaryDirectory() as ref_dir:
        for beta in args.betas:
            for n in args.sizes:
                direct = run_child("direct", str(n), str(beta), ref_dir, "--steps",
                                   str(args.steps)) if n <= args.direct_max_n else None
                kind = "iterative+baseline" if n <= args.baseline_max_n else "iterative"
                it = run_child(kind, str(n), str(beta), ref_dir, "--steps", str(args.steps))
                results.append({"n": n, "beta": beta, "direct": direct, "iterative": it})
                print(f"beta = {beta}, n = {n}: done", file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, "w") as fh_:
            json.dump(results, fh_, indent=1)

    head = ("β", "n", "l", "l/h", "flux DOFs", "unknowns", "MINRES its", "baseline its",
            "iter. solve s", "direct solve s", "BE step its", "iter. step s",
            "direct fact. s", "direct step s", "system GB", "iter. solve GB",
            "iter. traced GB", "direct solve GB", "peak GB iter./direct", "rel. diff")
    print("| " + " | ".join(head) + " |")
    print("|" + "---:|" * len(head))
    for res in results:
        n, beta, d, it = res["n"], res["beta"], res["direct"], res["iterative"]
        for row in it["rows"]:
            first = row["ell"] == 0.5
            dd = d if (d and first) else None
            vals = (beta, n, f"{row['ell']:.3g}", f"{row['ell'] * n:.3g}", f"{row['flux_dofs']:,}",
                    f"{row['unknowns']:,}", row["steady_its"], row.get("baseline_its", "—"),
                    f"{row['steady_s']:.2f}", f"{dd['steady_s']:.2f}" if dd else "—",
                    "/".join(map(str, row["step_its"])), f"{row['step_s']:.2f}",
                    f"{dd['factorization_s']:.2f}" if dd else "—",
                    f"{dd['step_s']:.3f}" if dd else "—",
                    f"{row['system_gb']:.2f}" if first else "—",
                    row["solve_gb"] if first else "—",
                    f"{row['traced_gb']:.2f}" if first else "—",
                    dd["solve_gb"] if dd else "—",
                    (f"{it['peak_rss_gb']:.2f}/" + (f"{dd['peak_rss_gb']:.2f}" if dd else "—"))
                    if first else "—",
                    f"{row['rel_diff']:.1e}" if "rel_diff" in row else "—")
            print("| " + " | ".join(str(v) for v in vals) + " |")


if __name__ == "__main__":
    main()
