#!/usr/bin/env python
"""CHOLMOD supernodal vs simplicial on femheat's θ-scheme flux operators, and MCV runs.

``modes`` (default): for each case ``model:dim:n`` (MCV = RT0 x P0, GK = BDM1 x P0 with
no-slip walls; dim 2 = ``MeshTri.init_tensor`` n x n, dim 3 = ``MeshTet.init_tensor``
n x n x n; a channel with T fixed at x = 0 and x = 1) one subprocess builds the
backward-Euler operator K = M/Δt + A + Δt BᵀC⁻¹B exactly as ``ThetaScheme`` does, takes
AMD's ordering and fill statistics (``fill_statistics``) and times, for each mode,
CHOLMOD's symbolic analysis + numeric factorization and one solve (median of 5), then
prints the measured costs of 1 / 100 / 1000 solves and the mode
``choose_cholmod_mode`` picks for them (a ``!`` marks a pick that was not the cheaper
one measured; the number after it is its cost over the cheaper one's).

``--transient``: a full MCV backward-Euler run (``theta_steps``, ``--steps`` steps) at
each n (2D), with ``FEMHEAT_CHOLMOD_MODE=supernodal`` (the behaviour before the
automatic choice) and unset (automatic), each in its own subprocess, alternated
``--repeats`` times: ThetaScheme construction (operator + factorization), best step,
the whole loop, and the largest relative difference of the final states.

Process CPU time, one BLAS thread (set here), ``FEMHEAT_SYMBOLIC_CACHE=0``.

    .venv/bin/python benchmarks/bench_cholmod_mode.py                  # the ladder below
    .venv/bin/python benchmarks/bench_cholmod_mode.py --cases mcv:2:100 gk:3:6
    .venv/bin/python benchmarks/bench_cholmod_mode.py --transient --sizes 125 250 500
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this femheat
os.environ.setdefault("FEMHEAT_SYMBOLIC_CACHE", "0")
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

DEFAULT_CASES = ["mcv:2:100", "mcv:2:200", "mcv:2:300", "mcv:2:400", "mcv:2:500",
                 "gk:2:50", "gk:2:100", "gk:2:150", "mcv:3:8", "mcv:3:12", "mcv:3:16",
                 "mcv:3:20", "gk:3:4", "gk:3:6"]
clock = time.process_time


def build_system(model: str, dim: int, n: int):
    import numpy as np
    import skfem

    import femheat as fh

    x = np.linspace(0.0, 1.0, n + 1)
    mesh = skfem.MeshTri.init_tensor(x, x) if dim == 2 else skfem.MeshTet.init_tensor(x, x, x)
    tol = 1e-9
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda p: p[0] < tol, "outlet": lambda p: p[0] > 1 - tol,
        "walls": lambda p: (p[0] > tol) & (p[0] < 1 - tol)})
    mat = fh.Material(1.0, 1.0, 1e-2, nonlocal_length=0.1 if model == "gk" else 0.0)
    if model == "gk":
        from femheat.physics.conditions import NoSlip
        # the penalty form's SPD flux system, as recorded (2D "auto" takes the vorticity
        # form, an augmented system, since 2026-12-06)
        kw = dict(model="gk", walls={"walls": NoSlip()}, beta=2, viscous="penalty")
    else:
        kw = dict(model="mcv")
    problem = fh.HeatProblem(regions, {"domain": mat},
                             {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0),
                              "walls": fh.Insulated()}, **kw)
    return fh.assemble(problem)


def one_case(case: str) -> dict:
    import numpy as np
    from sksparse.cholmod import analyze

    from femheat.solve import factorization as fz
    from femheat.solve.timestepping import ThetaScheme

    model, dim, n = case.split(":")
    dim, n = int(dim), int(n)
    system = build_system(model, dim, n)
    scheme = ThetaScheme.__new__(ThetaScheme)
    K = scheme._operators(system, 1e-3, 1.0)
    K.sort_indices()
    t = clock()
    stats, p = fz.fill_statistics(K)
    res = dict(case=case, model=model, dim=dim, n=n, N=K.shape[0], nnzK=int(K.nnz),
               amd_s=clock() - t, lnz=stats.lnz, flops=stats.flops)
    Kp = fz._symmetric_permutation(K, p)
    b = np.random.default_rng(0).standard_normal(K.shape[0])[p]
    xs = {}
    for mode in ("supernodal", "simplicial"):
        t = clock()
        factor = analyze(Kp, mode=mode, ordering_method="natural").cholesky(Kp)
        tf = clock() - t
        factor.solve_A(b)
        ts = []
        for _ in range(5):
            t = clock()
            xs[mode] = factor.solve_A(b)
            ts.append(clock() - t)
        res[mode] = dict(factor=tf, solve=float(np.median(ts)))
        del factor
    res["rel_diff"] = float(np.linalg.norm(xs["supernodal"] - xs["simplicial"])
                            / np.linalg.norm(xs["simplicial"]))
    res["auto"] = {k: fz.choose_cholmod_mode(stats, k) for k in (1, 100, 1000)}
    return res


def one_transient(n: int, steps: int) -> dict:
    import numpy as np

    import femheat as fh
    from femheat.solve.timestepping import ThetaScheme

    system = build_system("mcv", 2, n)
    t = clock()
    scheme = ThetaScheme(system, 1e-3, 1.0, steps=steps)
    build = clock() - t
    state = fh.initial_state(system)
    times = []
    t0 = clock()
    for _ in range(steps):
        t = clock()
        state = scheme.step(state)
        times.append(clock() - t)
    loop = clock() - t0
    final = np.concatenate([state.flux, state.temperature])
    return dict(n=n, unknowns=int(system.ndofs), mode=scheme._solve.mode, build_s=build,
                step_best_s=float(min(times)), step_median_s=float(np.median(times)),
                loop_s=loop, total_s=build + loop, final=final.tolist())


def child(args: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    parser.add_argument("--transient", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[125, 250, 500])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--child-case", help=argparse.SUPPRESS)
    parser.add_argument("--child-transient", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_case:
        print(json.dumps(one_case(args.child_case)))
        return
    if args.child_transient:
        print(json.dumps(one_transient(args.child_transient, args.steps)))
        return
    import numpy as np

    rows = []
    if not args.transient:
        print("| case | unknowns | nnz(L) | flops/nnz(L) | AMD s | factor s super / simpl"
              " | solve ms super / simpl | 1 solve s super / simpl | 100 solves s"
              " | 1000 solves s | auto (1 / 100 / 1000) | rel. diff |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for case in args.cases:
            r = child(["--child-case", case])
            rows.append(r)
            su, si = r["supernodal"], r["simplicial"]
            cells, picks = [], []
            for k in (1, 100, 1000):
                c = {m: r[m]["factor"] + k * r[m]["solve"] for m in ("supernodal", "simplicial")}
                cells.append(f"{c['supernodal']:.3g} / {c['simplicial']:.3g}")
                pick, best = r["auto"][str(k)], min(c, key=c.get)  # JSON keys are strings
                picks.append(pick[:5] + ("" if pick == best else f"! {c[pick] / c[best]:.2f}"))
            print(f"| {case} | {r['N']:,} | {r['lnz'] / 1e6:.2f} M | {r['flops'] / r['lnz']:.0f} "
                  f"| {r['amd_s']:.3f} | {su['factor']:.3g} / {si['factor']:.3g} "
                  f"| {1e3 * su['solve']:.3g} / {1e3 * si['solve']:.3g} | " + " | ".join(cells)
                  + f" | {' / '.join(picks)} | {r['rel_diff']:.1e} |", flush=True)
    else:
        print("| n | unknowns | mode | build s | step ms (best) | step ms (median) | "
              f"{args.steps} steps s | total s | total / supernodal | final rel. diff |")
        print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.sizes:
            runs = {"supernodal": [], "auto": []}
            for _ in range(args.repeats):
                for name in runs:
                    env = dict(os.environ)
                    env.pop("FEMHEAT_CHOLMOD_MODE", None)
                    if name == "supernodal":
                        env["FEMHEAT_CHOLMOD_MODE"] = "supernodal"
                    runs[name].append(child(["--child-transient", str(n), "--steps",
                                             str(args.steps)], env))
            best = {k: min(v, key=lambda r: r["total_s"]) for k, v in runs.items()}
            ref = np.array(best["supernodal"]["final"])
            for name, r in best.items():
                diff = np.linalg.norm(np.array(r["final"]) - ref) / np.linalg.norm(ref)
                r.pop("final")
                print(f"| {n} | {r['unknowns']:,} | {name} ({r['mode']}) | {r['build_s']:.3g} "
                      f"| {1e3 * r['step_best_s']:.3g} | {1e3 * r['step_median_s']:.3g} "
                      f"| {r['loop_s']:.3g} | {r['total_s']:.3g} "
                      f"| {r['total_s'] / best['supernodal']['total_s']:.2f} | {diff:.1e} |",
                      flush=True)
            for v in runs.values():
                for r in v:
                    r.pop("final", None)
            rows.append(runs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
