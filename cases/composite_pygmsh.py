"""Fibre composite cell drawn with pygmsh: κ_eff of a square array behind a Kapitza resistance.

The cell of ``composite_cylinders_sweep.toml`` (2 µm square, 2 × 2 alumina-like
fibres, k_i = 30 W/(m K), area fraction f = 0.30, radius a = 0.309 µm, in an
epoxy-like matrix, k_m = 0.2 W/(m K), R_K = 1e-8 m² K/W), but its geometry comes
from a user's pygmsh script, ``meshes/composite_pygmsh.py``, meshed through
:func:`femheat.mesh.pygmsh.mesh_from_script` (gmsh's own writer, named regions
``matrix``/``inclusion``/``inclusion_surface``/``left``…). The same cell is also
built with femheat's gmsh builder :func:`femheat.mesh.geometry.particle_composite`
at the same mesh sizes, so both routes can be compared.

κ_eff comes from the cell problem with mixed boundary conditions (T = 0 and
T = −L on the faces normal to the gradient, the others insulated), exact for this
mirror-symmetric square array (the pygmsh mesh is not periodic), RT2×P1DG. The
closed form is Maxwell–Garnett with k' = k_i/(1 + R_K k_i/a), identical to
Hasselman & Johnson (1987) for cylinders (BENCHMARKS K3).

Run:  python cases/composite_pygmsh.py [OUTPUT]      (default results/composite_pygmsh)
Writes cell.msh (+ cell.msh.json sidecar), summary.json and composite_pygmsh.png.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import femheat as fh
from femheat.analysis.conductance import maxwell_garnett
from femheat.mesh import geometry
from femheat.mesh.pygmsh import mesh_from_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "meshes" / "composite_pygmsh.py"

WIDTH = 2e-6  # m, cell side
FRACTION = 0.30
N_PER_SIDE = 2
K_MATRIX, K_FIBRE = 0.2, 30.0  # W/(m K)
RESISTANCE = 1e-8  # m^2 K/W
RADIUS = WIDTH * np.sqrt(FRACTION / (np.pi * N_PER_SIDE**2))  # 0.309 µm
MATERIALS = {"matrix": fh.Material(K_MATRIX, 1.0), "inclusion": fh.Material(K_FIBRE, 1.0)}


def kappa(regions: fh.RegionMesh, resistances=(RESISTANCE, 0.0)
          ) -> tuple[list, fh.Homogenization, fh.CellProblem]:
    """Diagonal κ_eff [W/(m K)] per Kapitza resistance, the result at the first, the cell."""
    cell = fh.CellProblem(regions, MATERIALS, {"inclusion_surface": resistances[0]},
                          degree=1, boundary="mixed")
    results = [cell.solve({"inclusion_surface": r}, reports=i == 0)
               for i, r in enumerate(resistances)]
    return [np.diag(h.conductivity).tolist() for h in results], results[0], cell


def run(outdir: str | Path = "results/composite_pygmsh", *, mesh_size: float = 8e-8,
        interface_mesh_size: float = 3e-8, compare_builder: bool = True) -> dict:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    regions = mesh_from_script(SCRIPT, out / "cell.msh", width=WIDTH, volume_fraction=FRACTION,
                               n_per_side=N_PER_SIDE, interface_mesh_size=interface_mesh_size,
                               mesh_size=mesh_size)
    (k_pg, k_pg0), result, cell = kappa(regions)
    mg = float(maxwell_garnett(FRACTION, K_MATRIX, K_FIBRE, dim=2, radius=RADIUS,
                               resistance=RESISTANCE))
    mg0 = float(maxwell_garnett(FRACTION, K_MATRIX, K_FIBRE, dim=2))
    summary = {
        "geometry_script": str(SCRIPT.relative_to(ROOT)),
        "cells": int(regions.mesh.t.shape[1]),
        "regions": {"subdomains": regions.subdomain_names, "boundaries": list(regions.boundaries),
                    "interfaces": list(regions.interfaces)},
        "kapitza_resistance": RESISTANCE,
        "kappa_eff_pygmsh": k_pg,
        "kappa_eff_pygmsh_perfect_contact": k_pg0,
        "maxwell_garnett": mg,
        "maxwell_garnett_perfect_contact": mg0,
        "relative_error_vs_maxwell_garnett": max(abs(k / mg - 1) for k in k_pg),
        "dissipation_share_x": result.loads[0].dissipation_share(),
        "volume_fraction_mesh": result.volume_fractions["inclusion"],
    }
    if compare_builder:
        with tempfile.TemporaryDirectory() as tmp:
            geometry.particle_composite(
                [WIDTH, WIDTH], FRACTION, n_per_side=N_PER_SIDE, mesh_size=mesh_size,
                interface_mesh_size=interface_mesh_size, path=Path(tmp) / "builder.msh")
            (k_gm, _), _, _ = kappa(fh.load_mesh(Path(tmp) / "builder.msh"))
        summary["kappa_eff_gmsh_builder"] = k_gm
        summary["relative_difference_pygmsh_vs_builder"] = max(
            abs(a / b - 1) for a, b in zip(k_pg, k_gm))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot(cell, result, summary, out / "composite_pygmsh.png")
    return summary


def _plot(cell: fh.CellProblem, result: fh.Homogenization, summary: dict, path: Path) -> None:
    """Left: the pygmsh mesh by material, interface in red. Right: |q| for the x gradient."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation

    regions = cell.regions
    m = regions.mesh
    tri = Triangulation(m.p[0] * 1e6, m.p[1] * 1e6, m.t.T)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), dpi=110)
    material = np.zeros(m.t.shape[1])
    material[regions.subdomain("inclusion")] = 1.0
    axes[0].tripcolor(tri, material, cmap="Pastel1", vmin=0, vmax=8, edgecolors="0.55",
                      linewidth=0.15)
    edges = m.facets[:, regions.interface("inclusion_surface")]
    for e in edges.T:
        axes[0].plot(m.p[0, e] * 1e6, m.p[1, e] * 1e6, "r-", lw=0.8)
    axes[0].set_title(f"pygmsh cell: {summary['cells']} triangles, interface in red")
    basis = cell.system.flux_basis
    values = basis.interpolate(result.loads[0].state.flux).value  # (2, cells, points)
    flux = (values * basis.dx).sum(axis=2) / basis.dx.sum(axis=1)  # cell means [W m^-2]
    pc = axes[1].tripcolor(tri, np.linalg.norm(flux, axis=0), cmap="viridis")
    fig.colorbar(pc, ax=axes[1], label=r"$|q|$ [W m$^{-2}$] for $\nabla T = -e_x$ (1 K/m)")
    k = summary["kappa_eff_pygmsh"][0]
    axes[1].set_title(f"κ_eff = {k:.5f} W/(m K), MG/HJ {summary['maxwell_garnett']:.5f}")
    for ax in axes:
        ax.set_aspect("equal")
        ax.set_xlabel("x [µm]")
        ax.set_ylabel("y [µm]")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="results/composite_pygmsh")
    parser.add_argument("--mesh-size", type=float, default=8e-8, help="[m]")
    parser.add_argument("--interface-mesh-size", type=float, default=3e-8, help="[m]")
    args = parser.parse_args()
    print(json.dumps(run(args.output, mesh_size=args.mesh_size,
                         interface_mesh_size=args.interface_mesh_size), indent=2))
