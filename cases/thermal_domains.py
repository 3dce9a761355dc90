"""Thermal-domain formation (seed 000): the ordered phase a < 0 of the Landau–Khalatnikov law.

Γ∂q/∂t = −(a q + b|q|²q − λ∇²q + ζ∇T), C∂T/∂t + ∇·q = 0 in an insulated unit
square, a = −1, b = 1 (|q| = √(−a/b) = 1 in the ordered phase), λ = 0.0025 (wall
width ξ = √(λ/|a|) = 0.05), Γ = ζ = C = 1 (scale-free SI values; t in units of
Γ/|a|). The start is a random flux of amplitude 0.01 (``--seed``), T = 0. The flux
grows at the rate |a|/Γ, orders into domains of aligned flux separated by walls,
and the domains coarsen. β = 0 (GK form of seed 004 eq. 19), BDM1×P0.

Every ``--every`` steps the domain statistics
(:func:`femheat.analysis.domains.domain_statistics`: domain count, wall length,
vortex count, mean domain area, length scale) go to ``domains.csv``; the
energy identity of every step (:class:`femheat.analysis.landau.LandauEnergyBalance`)
to ``summary.json``; with matplotlib, ``domains.png`` shows the final flux
direction and the coarsening curves.

Run:  python cases/thermal_domains.py -o results/thermal_domains [--n 32 --end 40]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import skfem

import femheat as fh
from femheat.analysis.domains import domain_statistics, write_statistics
from femheat.analysis.landau import LandauEnergyBalance

A, B, LAMBDA, GAMMA, ZETA, C = -1.0, 1.0, 0.0025, 1.0, 1.0, 1.0


def build(n: int) -> fh.MixedSystem:
    """The insulated unit square on an n × n structured triangle mesh."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "walls": lambda x: np.ones(x.shape[1], dtype=bool)})
    material = fh.Material.from_landau(a=A, b=B, Gamma=GAMMA, lam=LAMBDA, zeta=ZETA,
                                       heat_capacity=C)
    problem = fh.HeatProblem(regions, {"square": material} if "square" in regions.subdomains
                             else {regions.subdomain_names[0]: material},
                             {"walls": fh.Insulated()}, model="gk", beta=0)
    return fh.assemble(problem)


def run(out: Path, n: int = 24, end: float = 30.0, dt: float = 0.25, theta: float = 0.5,
        seed: int = 0, every: int = 4) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    system = build(n)
    init = fh.initial_state(system, 0.0, None)
    init.flux[:] = 0.01 * np.random.default_rng(seed).standard_normal(init.flux.size)
    init.flux[system.essential_dofs] = 0.0
    balance = LandauEnergyBalance(system, theta)
    rows, state = [], init
    t0 = time.perf_counter()
    for k, (t, state) in enumerate(fh.landau_steps(system, dt, end, theta, init)):
        balance.update(state)
        if k % every == 0 and t > 0:
            rows.append(domain_statistics(system, state))
    wall = time.perf_counter() - t0
    write_statistics(rows, out / "domains.csv")
    summary = {"mesh": f"{n}x{n} squares, {system.n_flux} flux DOFs", "seed": seed,
               "dt": dt, "end": end, "theta": theta, "wall_s": wall,
               "ordered_magnitude": float(np.sqrt(-A / B)),
               "final": rows[-1].__dict__ if rows else None,
               **balance.summary()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    try:
        _plot(system, state, rows, out / "domains.png")
    except ImportError:  # matplotlib is optional
        pass
    return summary


def _plot(system, state, rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mesh = system.problem.regions.mesh
    q = fh.cell_averages(system, state)[1]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.5))
    tp = ax[0].tripcolor(mesh.p[0], mesh.p[1], mesh.t.T, facecolors=np.arctan2(q[1], q[0]),
                         cmap="hsv", vmin=-np.pi, vmax=np.pi)
    xc = mesh.p[:, mesh.t].mean(axis=1)
    ax[0].quiver(xc[0], xc[1], q[0], q[1], scale=40, width=0.002)
    ax[0].set(aspect="equal", xlabel="x [m]", ylabel="y [m]",
              title=f"flux direction, t = {state.time:g} s")
    fig.colorbar(tp, ax=ax[0], label="angle of q [rad]")
    t = [r.time for r in rows]
    ax[1].loglog(t, [r.length_scale for r in rows], label="L = area / wall length [m]")
    ax[1].loglog(t, [max(r.domains, 1) / 100 for r in rows], label="domains / 100")
    ax[1].loglog(t, [max(r.vortices, 0.5) / 100 for r in rows], label="vortices / 100")
    ax[1].set(xlabel="t [s]", title="coarsening")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--out", default="results/thermal_domains")
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--end", type=float, default=30.0)
    p.add_argument("--dt", type=float, default=0.25)
    p.add_argument("--theta", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    s = run(Path(a.out), a.n, a.end, a.dt, a.theta, a.seed)
    print(json.dumps({k: s[k] for k in ("final", "landau_energy_identity", "wall_s")}, indent=2))


if __name__ == "__main__":
    main()
