"""GK degree 1 (BDM2 × P1 DG): MINRES counts with the P1ᵈ and the P2ᵈ auxiliary space.

The iterative solver's flux preconditioner (``femheat.solve.iterative``) is a two-level
auxiliary-space cycle: a cell Schwarz smoother plus an AMG solve on a continuous vector
space embedded in the flux space. P1ᵈ lies in every flux space; P2ᵈ lies in BDM2, the GK
degree-1 flux since issue 16 ("auto" takes it there). For each mesh and β this prints,
with either space: the steady MINRES count (rtol 1e-12, grad-div α = 10), the largest
count of three Crank–Nicolson steps (Δt = 0.01 s), the steady solve time (setup
included) and the time of the three steps (setup included).

Problem (as ``tests/test_iterative.py``): unit square (n² × 2 triangles) or cube (n³ × 6
tetrahedra), κ = C = 1, τ = 0.05 s, unit source, T = 1 / 0 on x = 0 / 1, insulated
no-slip walls, η = 1, l = 0.2 (2D) or 0.5 (3D).

    python benchmarks/bench_gk_auxiliary.py                       # 2D n = 8..64, 3D n = 3, 6
    python benchmarks/bench_gk_auxiliary.py --dim 3 --sizes 3 6 8 --betas 2
"""

from __future__ import annotations

import argparse
import time


def system_for(n: int, dim: int, beta: int, degree: int = 1):
    import numpy as np
    import skfem

    import femheat as fh
    from femheat.physics.conditions import NoSlip

    x = np.linspace(0, 1, n + 1)
    mesh = skfem.MeshTet.init_tensor(x, x, x) if dim == 3 else skfem.MeshTri.init_tensor(x, x)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "hot": lambda x: x[0] < 1e-9, "cold": lambda x: x[0] > 1 - 1e-9,
        "walls": lambda x: (x[0] > 1e-9) & (x[0] < 1 - 1e-9)})
    ell = 0.2 if dim == 2 else 0.5
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.05, nonlocal_length=ell)},
                             {"hot": fh.Temperature(1.0), "cold": fh.Temperature(0.0),
                              "walls": fh.Insulated()},
                             source=lambda x, t: 1.0 + 0 * x[0], model="gk", beta=beta,
                             degree=degree, walls={"walls": NoSlip()},
                             viscous="penalty")  # the recorded form (2D "auto": vorticity)
    return fh.assemble(problem)


def measure(system, auxiliary: str) -> dict:
    import femheat as fh
    from femheat.solve.iterative import IterativeThetaScheme, solve_steady_iterative

    t = time.perf_counter()
    _, report = solve_steady_iterative(system, rtol=1e-12, auxiliary_space=auxiliary)
    steady_s = time.perf_counter() - t
    t = time.perf_counter()
    scheme = IterativeThetaScheme(system, 0.01, 0.5, rtol=1e-12, auxiliary_space=auxiliary)
    state = fh.initial_state(system)
    for _ in range(3):
        state = scheme.step(state)
    return {"steady": report.iterations[0], "cn": max(scheme.report.iterations),
            "steady_s": steady_s, "cn_s": time.perf_counter() - t,
            "space": report.auxiliary_space}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="default: 8 16 32 64 (2D), 3 6 (3D)")
    parser.add_argument("--betas", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()
    print("| d | n | β | unknowns | steady P1 / P2 | CN P1 / P2 | steady s P1 / P2 "
          "| 3 CN steps s P1 / P2 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for dim in args.dim:
        sizes = args.sizes or ([8, 16, 32, 64] if dim == 2 else [3, 6])
        for n in sizes:
            for beta in args.betas:
                system = system_for(n, dim, beta)
                a, b = measure(system, "p1"), measure(system, "p2")
                print(f"| {dim} | {n} | {beta} | {system.ndofs:,} | {a['steady']} / {b['steady']} "
                      f"| {a['cn']} / {b['cn']} | {a['steady_s']:.1f} / {b['steady_s']:.1f} "
                      f"| {a['cn_s']:.1f} / {b['cn_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
