#!/usr/bin/env python
"""Cost of a multi-mode memory step: M = 8 modes against M = 1 (issue 11).

Unit square, n x n tensor triangulation (RT0 x P0), temperature 1 left / 0 right,
insulated top and bottom, kappa = C = 1. M = 1: one mode (kappa, tau = 1e-2);
M = 8: a log-spaced spectrum tau_m = 1e-3 ... 1e-1 with weights summing to kappa
(one shape: the exact single-system elimination of femheat.solve.memory). Both
are timed in the same process, alternating, best of ``--steps`` Crank–Nicolson
steps each (``MemoryScheme.step``), plus the scheme construction (factorization).
The ratio M=8/M=1 of the per-step time is the figure recorded in README.md.

    .venv/bin/python benchmarks/bench_memory.py --n 150 --steps 20
    .venv/bin/python benchmarks/bench_memory.py --quick --json /tmp/memory.json   # make bench
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import skfem

import femheat as fh
from femheat.physics.memory import MemoryMaterial
from femheat.solve.memory import MemoryScheme

# run_all.py (make bench) sets FEMHEAT_BENCH_CLOCK=cpu and one BLAS thread: process CPU time
# is what the code costs whatever else shares the cores; run by hand, wall time
_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter


def build(n: int, modes):
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    rm = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: x[0] < 1e-9, "right": lambda x: x[0] > 1 - 1e-9,
        "tb": lambda x: (x[1] < 1e-9) | (x[1] > 1 - 1e-9)})
    problem = fh.HeatProblem(rm, {"domain": MemoryMaterial.from_modes(modes, 1.0)},
                             {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0),
                              "tb": fh.Insulated()}, model="memory")
    system = fh.assemble(problem)
    model = fh.get_model("memory")
    return system, model.initial_state(system, 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="n = 150, 40 steps")
    ap.add_argument("--json", metavar="FILE", help="write the figures to FILE")
    args = ap.parse_args()
    if args.quick:
        args.n, args.steps = 150, 40
    taus = np.logspace(-3, -1, 8)
    spectra = {1: [(1.0, 1e-2)], 8: [(1.0 / 8, float(t)) for t in taus]}
    runs = {}
    for M, modes in spectra.items():
        system, state = build(args.n, modes)
        t0 = _clock()
        scheme = MemoryScheme(system, 1e-3, 0.5)
        runs[M] = dict(system=system, state=state, scheme=scheme,
                       setup=_clock() - t0, times=[])
    for _ in range(args.steps):  # alternate, so both see the same machine load
        for M, r in runs.items():
            t0 = _clock()
            r["state"] = r["scheme"].step(r["state"])
            r["times"].append(_clock() - t0)
    n_q = runs[1]["system"].n_flux
    n_t = runs[1]["system"].n_temperature
    print(f"n = {args.n}: {n_q} flux + {n_t} temperature DOFs, {args.steps} CN steps")
    for M, r in runs.items():
        ts = np.array(r["times"])
        print(f"  M = {M}: setup {r['setup']:.3f} s, step best {ts.min() * 1e3:.2f} ms, "
              f"median {np.median(ts) * 1e3:.2f} ms")
    best = {M: min(r["times"]) for M, r in runs.items()}
    med = {M: float(np.median(r["times"])) for M, r in runs.items()}
    print(f"  ratio M=8/M=1: best {best[8] / best[1]:.3f}, median {med[8] / med[1]:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": args.n, "steps": args.steps, "flux_dofs": int(n_q), "temperature_dofs": int(n_t),
                       "runs": {str(M): {"setup_s": r["setup"], "step_best_s": best[M],
                                         "step_median_s": med[M]} for M, r in runs.items()},
                       "best_ratio": best[8] / best[1], "median_ratio": med[8] / med[1]},
                      f, indent=1)


if __name__ == "__main__":
    main()
