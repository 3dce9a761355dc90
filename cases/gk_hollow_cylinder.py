"""Radial heat flow through a hollow cylinder under Guyer–Krumhansl: the contact resistance.

The tube R₁ < r < R₂ (a cross-section: heat flows radially from the inner to the outer
surface, T = 301 K and 300 K) carries q = c/r e_r. That flux is curl- and
divergence-free, so the GK viscous term l²(∇²q + β∇∇·q) vanishes in the bulk and
κ∇T = −q there, as in Fourier's law. What nonlocality changes is the contact with the
two surfaces, where heat crosses a curved boundary and the second-order GK law needs a
condition beyond T. The gradient energy ν|∇q|² + βν(∇·q)² of DESIGN's GK (ν = l²/κ)
has the natural condition T − ν∂q_n/∂n − βν∇·q = T_D: with ∂q_r/∂r = −c/r² and
∇·q = 0 it shifts each surface temperature by −νc/R², a contact resistance in series,

    H = 2πΔT / (ln(R₂/R₁)/κ + (l²/κ)(1/R₁² − 1/R₂²))     per unit length.

Both discretizations model it in 2D: the interior penalty, and the vorticity form
with its terms on boundaries that heat crosses (femheat.assembly.vorticity_open). The
Hodge conditions T − (1+β)ν∇·q = T_D and ω = 0, which the vorticity form keeps in 3D
and in (r, z), leave the radial flow alone: Fourier's
H = 2πκΔT/ln(R₂/R₁) (``exact_flow(..., model="hodge")``). This case sweeps l/R₁ from
0.05 to 0.8, solves both forms at degree 1 (BDM2 × P1DG) on a polar-structured mesh and
compares each with the closed form.

Run:  python cases/gk_hollow_cylinder.py -o results/hollow_cylinder
Writes heat_flow.csv, hollow_cylinder.png and summary.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import numpy as np
import skfem

import femheat as fh
from femheat.io.atomic import write_bytes, write_text

R_IN, R_OUT = 1e-6, 2e-6  # m
KAPPA = 1.0  # W/(m K)
T_IN, T_OUT = 301.0, 300.0  # K
FORMS = ("penalty", "vorticity")


def annulus(nr: int, inner: float = R_IN, outer: float = R_OUT) -> fh.RegionMesh:
    """A polar-structured annulus, nr cells across and cells of aspect ~1, with the
    boundaries "inner" and "outer"."""
    nt = int(round(2 * np.pi * 0.5 * (inner + outer) * nr / (outer - inner)))
    r, th = np.linspace(inner, outer, nr + 1), np.linspace(0, 2 * np.pi, nt + 1)[:-1]
    R, TH = np.meshgrid(r, th, indexing="ij")
    p = np.vstack([(R * np.cos(TH)).ravel(), (R * np.sin(TH)).ravel()])
    i, j = np.meshgrid(np.arange(nr), np.arange(nt), indexing="ij")
    a0, a1 = i * nt + j, i * nt + (j + 1) % nt
    b0, b1 = a0 + nt, a1 + nt
    t = np.hstack([np.vstack([a0.ravel(), a1.ravel(), b1.ravel()]),
                   np.vstack([a0.ravel(), b1.ravel(), b0.ravel()])])
    mid = 0.5 * (inner + outer)
    return fh.RegionMesh.from_skfem(skfem.MeshTri(p, t), boundaries={
        "inner": lambda x: np.hypot(x[0], x[1]) < mid,
        "outer": lambda x: np.hypot(x[0], x[1]) > mid})


def exact_flow(ell: float, kappa: float = KAPPA, inner: float = R_IN,
               outer: float = R_OUT, drop: float = T_IN - T_OUT,
               model: str = "gradient") -> tuple[float, float]:
    """(heat flow H [W/m], temperature at r = ``inner`` minus the outer wall's value
    [K]) of the GK gradient energy's boundary model (``model = "gradient"``) or of the
    Hodge conditions (``"hodge"``: Fourier's flow; module docstring)."""
    if model not in ("gradient", "hodge"):
        raise ValueError(f"model = {model!r}; use 'gradient' or 'hodge'")
    nu = ell**2 / kappa if model == "gradient" else 0.0
    c = drop / (np.log(outer / inner) / kappa + nu * (1 / inner**2 - 1 / outer**2))
    return 2 * np.pi * c, drop - nu * c / inner**2


def solve(viscous: str, ell: float, nr: int = 8, degree: int = 1):
    """The assembled tube and its steady state."""
    problem = fh.HeatProblem(
        annulus(nr), {"domain": fh.Material(KAPPA, 1.6e6, 0.0, nonlocal_length=ell)},
        {"inner": fh.Temperature(T_IN), "outer": fh.Temperature(T_OUT)}, model="gk",
        degree=degree, beta=2, viscous=viscous)
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


def run(outdir: str | Path, ratios=None, nr: int = 8) -> dict:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ratios = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8]) if ratios is None \
        else np.asarray(ratios, dtype=float)
    fourier = exact_flow(0.0)[0]
    rows, worst = [], {v: 0.0 for v in FORMS}
    for ratio in ratios:
        for viscous in FORMS:
            system, state = solve(viscous, ratio * R_IN, nr)
            flow = fh.boundary_heat_flow(system, state.flux)["outer"]
            exact = exact_flow(ratio * R_IN)[0]
            worst[viscous] = max(worst[viscous], abs(flow / exact - 1))
            rows.append(dict(l_over_r_in=float(ratio), viscous=viscous,
                             heat_flow_W_per_m=flow, exact_W_per_m=exact,
                             over_fourier=flow / fourier, relative_error=flow / exact - 1))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "heat_flow.csv", text.getvalue())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    profile_ratio = 0.4
    r = np.linspace(R_IN, R_OUT, 200)
    colors = {"penalty": "tab:blue", "vorticity": "tab:orange"}
    for viscous in FORMS:
        system, state = solve(viscous, profile_ratio * R_IN, nr)
        tb = system.temperature_basis
        x = tb.global_coordinates().value
        cells = np.hypot(x[0], x[1]).mean(axis=1)
        values = tb.interpolate(state.temperature).value.mean(axis=1)
        pick = np.arange(0, cells.size, max(1, cells.size // 400))
        ax1.plot(cells[pick] / R_IN, values[pick] - T_OUT, ".", ms=2, color=colors[viscous],
                 label=f"femheat, viscous = {viscous!r}")
        sel = [row for row in rows if row["viscous"] == viscous]
        ax2.plot([row["l_over_r_in"] for row in sel], [row["over_fourier"] for row in sel],
                 "o" if viscous == "penalty" else "x", ms=5, color=colors[viscous],
                 label=f"viscous = {viscous!r}")
    flow, t_wall = exact_flow(profile_ratio * R_IN)
    c = flow / (2 * np.pi)
    ax1.plot(r / R_IN, t_wall - c / KAPPA * np.log(r / R_IN), "k--", lw=1, label="exact")
    ax1.plot(r / R_IN, (T_IN - T_OUT) * (1 - np.log(r / R_IN) / np.log(R_OUT / R_IN)),
             ":", color="gray", lw=1, label="Fourier")
    fine = np.linspace(0.0, ratios.max() * 1.05, 100)
    ax2.plot(fine, [exact_flow(f * R_IN)[0] / fourier for f in fine], "k--", lw=1,
             label="closed form")
    ax1.set_xlabel("r / R₁")
    ax1.set_ylabel(f"T − {T_OUT:g} K [K]")
    ax1.set_title(f"temperature, l = {profile_ratio:g} R₁ (cells)")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("l / R₁")
    ax2.set_ylabel("heat flow / Fourier's")
    ax2.set_title("heat flow per unit length: contact resistance")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    write_bytes(out / "hollow_cylinder.png", png.getvalue())
    summary = {"max_relative_error_heat_flow": worst, "points": len(rows),
               "radii_m": [R_IN, R_OUT], "cells_across": nr, "degree": 1,
               "over_fourier": {viscous: {f"{row['l_over_r_in']:g}": row["over_fourier"]
                                          for row in rows if row["viscous"] == viscous}
                                for viscous in FORMS}}
    write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="results/hollow_cylinder")
    args = parser.parse_args()
    print(json.dumps(run(args.output), indent=2))
