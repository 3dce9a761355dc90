"""Superlattice: cross-plane conductivity versus period, the interface-dominated regime.

A superlattice of equal-thickness A/B layers (period p, each layer p/2) with a
Kapitza resistance R_K on every interface. Its representative periodic cell is
[B/2 | A | B/2] along x (both interfaces interior, the periodic faces cut B),
built by :func:`femheat.mesh.geometry.layered_stack` with ``periodic=True`` and
homogenized with periodic boundary conditions. Series and parallel formulas
(BENCHMARKS K1) are exact for the mixed method:

    cross-plane   κ_⊥(p) = p / (p/(2κ_A) + p/(2κ_B) + 2 R_K)
    in-plane      κ_∥    = (κ_A + κ_B)/2         (R_K does not act in-plane)

For p ≫ p* = 2 R_K κ_bulk (κ_bulk = 2/(1/κ_A + 1/κ_B)) the layers dominate and
κ_⊥ → κ_bulk; for p ≪ p* the interfaces do, κ_⊥ → p/(2R_K) (linear in the
period). Material values are Si/Ge-like (κ_A = 150, κ_B = 60 W/(m K)) with
R_K = 3e-9 m² K/W, an order of magnitude typical of solid–solid interfaces
(BENCHMARKS K3, UNVERIFIED for Si/Ge specifically); p* = 0.51 µm. This is the
diffusive (Fourier + Kapitza) picture only: at periods comparable to phonon
mean free paths, coherent and ballistic effects the model does not contain take
over.

Run:  python cases/superlattice_period.py -o results/superlattice
Writes superlattice.csv, superlattice.png and summary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np

import femheat as fh
from femheat.mesh import geometry

KAPPA_A, KAPPA_B = 150.0, 60.0  # W/(m K)
RESISTANCE = 3e-9  # m^2 K/W


def series(period: float) -> float:
    """Cross-plane κ_⊥ of one period [W/(m K)]."""
    return period / (period / (2 * KAPPA_A) + period / (2 * KAPPA_B) + 2 * RESISTANCE)


def cell_conductivity(period: float, workdir: Path, dim: int = 2) -> np.ndarray:
    """Periodic homogenization of one period [B/2 | A | B/2]: the κ_eff tensor."""
    path = workdir / f"sl_{period:.3e}.msh"
    height = period / 2
    geometry.layered_stack([period / 4, period / 2, period / 4], height,
                           depth=height if dim == 3 else None, names=["B", "A", "B"],
                           mesh_size=period / 8, periodic=True, path=path)
    regions = fh.load_mesh(path)
    result = fh.homogenize(
        regions, {"A": fh.Material(KAPPA_A, 1.0), "B": fh.Material(KAPPA_B, 1.0)},
        {"interface_1": RESISTANCE, "interface_2": RESISTANCE}, boundary="periodic")
    return result.conductivity


def run(outdir: str | Path, periods=None) -> dict:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    periods = np.geomspace(1e-9, 1e-5, 13) if periods is None else np.asarray(periods)
    rows, worst_cross, worst_in = [], 0.0, 0.0
    parallel = 0.5 * (KAPPA_A + KAPPA_B)
    with tempfile.TemporaryDirectory() as tmp:
        for p in periods:
            k = cell_conductivity(float(p), Path(tmp))
            exact = series(float(p))
            worst_cross = max(worst_cross, abs(k[0, 0] / exact - 1))
            worst_in = max(worst_in, abs(k[1, 1] / parallel - 1))
            rows.append(dict(period_m=p, kappa_cross_plane=k[0, 0], series_formula=exact,
                             kappa_in_plane=k[1, 1], parallel_formula=parallel,
                             interface_share_of_resistance=2 * RESISTANCE * exact / p))
    with open(out / "superlattice.csv", "w", newline="") as fh_:
        w = csv.DictWriter(fh_, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bulk = 2 / (1 / KAPPA_A + 1 / KAPPA_B)
    p_star = 2 * RESISTANCE * bulk
    fine = np.geomspace(periods.min() / 2, periods.max() * 2, 300)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.loglog(fine, [series(p) for p in fine], "-", color="0.3", lw=1,
              label="series formula")
    ax.loglog(fine, fine / (2 * RESISTANCE), ":", color="C0", lw=1,
              label=r"interface-dominated $p/2R_K$")
    ax.axhline(bulk, color="C2", ls=":", lw=1, label=r"bulk $2/(1/\kappa_A+1/\kappa_B)$")
    ax.axhline(parallel, color="C1", ls="--", lw=1, label="in-plane (parallel)")
    ax.axvline(p_star, color="0.6", lw=0.8)
    ax.loglog([r["period_m"] for r in rows], [r["kappa_cross_plane"] for r in rows], "o",
              color="C3", ms=5, label="femheat cross-plane")
    ax.loglog([r["period_m"] for r in rows], [r["kappa_in_plane"] for r in rows], "s",
              color="C1", ms=4, mfc="none", label="femheat in-plane")
    ax.set_ylim(bulk * 1e-4, parallel * 3)
    ax.set_xlabel("period p [m]")
    ax.set_ylabel(r"$\kappa$ [W m$^{-1}$ K$^{-1}$]")
    ax.set_title(f"A/B superlattice, R_K = {RESISTANCE:g} m²K/W, p* = {p_star:.2g} m")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(out / "superlattice.png")
    plt.close(fig)
    summary = {"max_relative_error_cross_plane": worst_cross,
               "max_relative_error_in_plane": worst_in, "points": len(rows),
               "crossover_period_m": p_star, "kapitza_resistance": RESISTANCE,
               "kappa_A": KAPPA_A, "kappa_B": KAPPA_B}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="results/superlattice")
    args = parser.parse_args()
    print(json.dumps(run(args.output), indent=2))
