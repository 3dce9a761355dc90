"""Benchmark: an FDTR frequency sweep on an axisymmetric stack (issue 11, performance).

An (r, z) layered cylinder (``layered_cylinder``: 80 nm film, Kapitza interface,
substrate 3.2 penetration depths deep at the lowest frequency), degree 1 (RT2 x P1DG),
Gaussian pump on the top surface, ``--frequencies`` log-spaced frequencies from 100 kHz
to 20 MHz, the memory model. Three measurements in one process:

* **sweep** (M = 1 mode): one ``FrequencySolver`` -- the blocks assembled once, G^T C^-1 B
  formed once, the sparsity pattern's symbolic factorization shared between
  frequencies -- one complex solve per frequency; total and per frequency;
* **from scratch**: per frequency, assemble the system again and factorize with the
  symbolic cache off (``FEMHEAT_SYMBOLIC_CACHE=0``), on every ``--scratch-every``-th
  frequency of the same list (the per-frequency time is what is compared; the total is
  that time x the number of frequencies);
* **sweep, M = 8 modes** (log-spaced τ, one spatial shape) against M = 1: the modes enter
  only through κ(ω), Z(ω) = (κ/κ(ω)) P + K_ext.

Times are process CPU with one BLAS thread (set below before numpy is imported), so
other jobs on the shared cores do not enter the ratios; wall times are printed too.
``--scale`` divides every mesh size (axis cell width, top cell height, largest cell):
the unknowns grow about as its square.

    python benchmarks/bench_frequency_axi.py [--scale 4.5] [--frequencies 40] [--scratch-every 8]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy: CPU time = this process's work

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

import femheat as fh
from femheat.analysis import thermoreflectance as tr
from femheat.mesh.geometry import layered_cylinder
from femheat.physics.memory import MemoryMaterial
from femheat.solve.factorization import SYMBOLIC_CACHE_ENV
from femheat.solve.frequency import FrequencySolver

FILM = (80e-9, 200.0, 2.42e6)      # thickness [m], kappa [W/(m K)], C [J/(m^3 K)]
SUBSTRATE = (35.0, 3.06e6)
RK = 1e-8                          # Kapitza resistance [m^2 K/W]
W0 = W1 = 5e-6                     # pump and probe 1/e^2 radii [m]
TAU = 1e-10                        # film relaxation time of the single mode [s]


def modes(count: int, kappa: float) -> list[tuple[float, float]]:
    """``count`` modes of equal weight, τ log-spaced around TAU (one spatial shape)."""
    taus = TAU * np.logspace(-1, 1, count) if count > 1 else np.array([TAU])
    return [(kappa / count, float(t)) for t in taus]


def problem(scale: float, count: int, f_low: float):
    depth = 3.2 * tr.penetration_depth(*SUBSTRATE, f_low)
    rm = layered_cylinder(depth + W0, [FILM[0], depth - FILM[0]], ["film", "substrate"],
                          axis_mesh_size=0.5e-6 / scale, uniform_radius=2 * W0,
                          top_mesh_size=20e-9 / scale, mesh_size=(depth + W0) / (8 * scale),
                          growth=1.3)
    mats = {"film": MemoryMaterial.from_modes(modes(count, FILM[1]), FILM[2], "film"),
            "substrate": MemoryMaterial.from_modes(modes(count, SUBSTRATE[0]), SUBSTRATE[1],
                                                   "substrate")}
    return tr.fdtr_problem(rm, mats, {"interface_1": fh.KapitzaResistance(RK)},
                           pump_radius=W0, degree=1, model="memory")


def timed(fun):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fun()
    return out, time.process_time() - c0, time.perf_counter() - t0


def sweep(system, omegas):
    def run():
        solver = FrequencySolver(system)
        return [solver.solve(w) for w in omegas]
    return timed(run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=4.5)
    ap.add_argument("--frequencies", type=int, default=40)
    ap.add_argument("--scratch-every", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    freqs = np.logspace(5, np.log10(2e7), args.frequencies)
    omegas = 2 * np.pi * freqs

    p1, c_p1, _ = timed(lambda: problem(args.scale, 1, freqs[0]))
    sys1, c_asm, w_asm = timed(lambda: fh.assemble(p1))
    n = sys1.ndofs
    print(f"axisymmetric FDTR stack, degree 1: {sys1.n_flux} flux + {sys1.n_temperature} "
          f"temperature = {n} unknowns; mesh + problem {c_p1:.1f} s CPU, assembly "
          f"{c_asm:.1f} s CPU ({w_asm:.1f} s wall)")

    states1, c_sw1, w_sw1 = sweep(sys1, omegas)
    print(f"sweep M = 1: {len(omegas)} frequencies {c_sw1:.1f} s CPU ({w_sw1:.1f} s wall), "
          f"{c_sw1 / len(omegas):.2f} s per frequency")

    picks = list(range(0, len(omegas), max(1, args.scratch_every)))
    scratch_cpu, scratch_wall, err = [], [], 0.0
    old = os.environ.get(SYMBOLIC_CACHE_ENV)
    os.environ[SYMBOLIC_CACHE_ENV] = "0"
    try:
        for i in picks:
            def once(i=i):
                return FrequencySolver(fh.assemble(p1)).solve(omegas[i])
            st, c, w = timed(once)
            scratch_cpu.append(c)
            scratch_wall.append(w)
            ref = states1[i].temperature
            err = max(err, float(np.abs(st.temperature - ref).max() / np.abs(ref).max()))
    finally:
        if old is None:
            os.environ.pop(SYMBOLIC_CACHE_ENV)
        else:
            os.environ[SYMBOLIC_CACHE_ENV] = old
    per_scratch = statistics.mean(scratch_cpu)
    per_sweep = c_sw1 / len(omegas)
    print(f"from scratch (assemble + factorize, no shared symbolic), {len(picks)} of the "
          f"frequencies: {per_scratch:.2f} s CPU per frequency "
          f"({statistics.mean(scratch_wall):.2f} s wall); same solution to {err:.1e}")
    print(f"ratio from-scratch / sweep per frequency: {per_scratch / per_sweep:.2f} "
          f"(total for {len(omegas)}: {per_scratch * len(omegas):.0f} s vs {c_sw1:.0f} s CPU)")

    p8 = problem(args.scale, 8, freqs[0])
    sys8 = fh.assemble(p8)
    _, c_sw8, w_sw8 = sweep(sys8, omegas)
    print(f"sweep M = 8: {c_sw8:.1f} s CPU ({w_sw8:.1f} s wall); ratio M = 8 / M = 1: "
          f"{c_sw8 / c_sw1:.2f} CPU ({w_sw8 / w_sw1:.2f} wall)")

    if args.json:
        args.json.write_text(json.dumps({
            "unknowns": int(n), "frequencies": len(omegas), "assembly_cpu_s": c_asm,
            "sweep_cpu_s": c_sw1, "sweep_per_frequency_cpu_s": per_sweep,
            "scratch_per_frequency_cpu_s": per_scratch, "scratch_points": len(picks),
            "ratio_scratch_over_sweep": per_scratch / per_sweep,
            "sweep8_cpu_s": c_sw8, "ratio_modes_8_over_1": c_sw8 / c_sw1,
            "scratch_vs_sweep_max_difference": err}, indent=2))


if __name__ == "__main__":
    main()
