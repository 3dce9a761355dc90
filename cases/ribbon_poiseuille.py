"""Hydrodynamic (Poiseuille) heat flow in a suspended ribbon.

A ribbon of width W carries heat along its length under a temperature
difference. In the Guyer–Krumhansl picture (phonon hydrodynamics) the flux
vanishes at diffuse walls (no-slip) or slips with a slip length C_s·l, and the
profile across the ribbon is a Poiseuille-like cosh profile (BENCHMARKS G3):

    q(y) = κG [1 − cosh(y/l)/(cosh(W/2l) + C_s sinh(W/2l))]
    κ_eff/κ = 1 − (2l/W) tanh(W/2l)/(1 + C_s tanh(W/2l))

This case sweeps W/l from 0.5 to 50 and compares femheat (GK, BDM1 × P0, no-slip
and slip C_s = 1) with the closed forms: the quadratic (no-slip, κ_eff ∝ W²/12l²)
and linear (slip, κ_eff ∝ C_s W/2l) narrow-ribbon limits of Alvarez, Jou &
Sellitto (J. Appl. Phys. 105, 014317, 2009) appear as the two slopes. Phonon
Poiseuille flow was observed in a 5 µm wide suspended, isotopically purified
graphite ribbon (Huang et al., Nat. Commun. 14, 2023); the lengths here are in
units of l (take l = 1 µm for a graphite-like reading), κ = 1 W/(m K). β = 2 (it
does not matter: the flow is divergence-free).

Run:  python cases/ribbon_poiseuille.py -o results/ribbon
Writes kappa_eff.csv, ribbon.png and summary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import skfem

import femheat as fh
from femheat.physics.conditions import NoSlip, SlipLength

ELL = 1e-6  # m, nonlocal length
KAPPA = 1.0  # W/(m K)


def kappa_ratio(width: float, slip: float) -> float:
    t = np.tanh(width / (2 * ELL))
    return 1 - (2 * ELL / width) * t / (1 + slip * t)


def solve_ribbon(width: float, slip: float, ny: int = 32, length: float | None = None,
                 degree: int = 0):
    """Steady GK flow along a ribbon [0, length] x [-W/2, W/2]; returns (κ_eff/κ, system, state)."""
    length = length or width
    s = np.linspace(-1, 1, ny + 1)
    y = 0.5 * width * np.tanh(1.5 * s) / np.tanh(1.5)  # graded towards the walls
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, length, 5), y)
    tol = 1e-9 * width  # relative: np.isclose's default atol (1e-8) is larger than the cells
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "hot": lambda x: x[0] < tol, "cold": lambda x: x[0] > length - tol,
        "walls": lambda x: (np.abs(x[1]) > width / 2 - tol) & (x[0] > tol)
        & (x[0] < length - tol)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(KAPPA, 1.6e6, 0.0, nonlocal_length=ELL)},
        {"hot": fh.Temperature(301.0), "cold": fh.Temperature(300.0), "walls": fh.Insulated()},
        model="gk", degree=degree, beta=2,
        walls={"walls": NoSlip() if slip == 0 else SlipLength(slip)})
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    H = fh.boundary_heat_flow(system, state.flux)["cold"]
    return H * length / (KAPPA * 1.0 * width), system, state


def run(outdir: str | Path, ratios=None, slips=(0.0, 1.0), ny: int = 48) -> dict:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ratios = np.geomspace(0.5, 50, 13) if ratios is None else np.asarray(ratios)
    rows, worst = [], 0.0
    for slip in slips:
        for r in ratios:
            k, _, _ = solve_ribbon(r * ELL, slip, ny)
            exact = kappa_ratio(r * ELL, slip)
            worst = max(worst, abs(k / exact - 1))
            rows.append(dict(width_over_l=r, slip=slip, kappa_ratio=k, exact=exact,
                             relative_error=k / exact - 1))
    with open(out / "kappa_eff.csv", "w", newline="") as fh_:
        w = csv.DictWriter(fh_, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    # profile at W = 2.5 l, no-slip and slip, degree 1 for a smooth line
    width = 2.5 * ELL
    y = np.linspace(-0.4999, 0.4999, 201) * width
    profiles, prof_err = {}, 0.0
    for slip in slips:
        k, system, state = solve_ribbon(width, slip, 48, degree=1)
        pts = np.vstack([np.full_like(y, 0.5 * width + 1e-3 * width), y])
        qx = (system.flux_basis.probes(pts) @ state.flux)[: y.size]
        G = 1.0 / width
        a = width / (2 * ELL)
        exact = KAPPA * G * (1 - np.cosh(y / ELL) / (np.cosh(a) + slip * np.sinh(a)))
        prof_err = max(prof_err, float(np.abs(qx - exact).max() / exact.max()))
        profiles[slip] = (qx, exact)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    for slip, color in zip(slips, ("tab:blue", "tab:orange")):
        qx, exact = profiles[slip]
        ax1.plot(y / ELL, exact / exact.max(), color=color, lw=1, ls="--")
        ax1.plot(y / ELL, qx / exact.max(), color=color, lw=0, marker=".", ms=3,
                 label=f"C_s = {slip:g}" + (" (no slip)" if slip == 0 else ""))
        sel = [r for r in rows if r["slip"] == slip]
        fine = np.geomspace(0.3, 80, 200)
        ax2.loglog(fine, [kappa_ratio(f * ELL, slip) for f in fine], color=color, lw=1, ls="--")
        ax2.loglog([r["width_over_l"] for r in sel], [r["kappa_ratio"] for r in sel], "o",
                   color=color, ms=4, label=f"femheat, C_s = {slip:g}")
    ax1.set_xlabel("y / l")
    ax1.set_ylabel("q_x(y) / q_x(0)")
    ax1.set_title("Poiseuille profile, W = 2.5 l (dashed: exact)")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("W / l")
    ax2.set_ylabel("κ_eff / κ")
    ax2.set_title("effective conductivity (dashed: closed form)")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(out / "ribbon.png")
    plt.close(fig)
    summary = {"max_relative_error_kappa_eff": worst, "max_profile_error": prof_err,
               "points": len(rows), "beta": 2, "nonlocal_length_m": ELL}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="results/ribbon_poiseuille")
    args = parser.parse_args()
    print(json.dumps(run(args.output), indent=2))
