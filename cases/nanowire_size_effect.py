"""Axial conduction of a nanowire under Guyer–Krumhansl: the size effect on faceted walls.

A wire of radius R carries heat along its axis under a uniform gradient G. The GK law
with ∇·q = 0 leaves q_x − l²∇²q_x = κG across the section; the wall condition sets
the size effect (BENCHMARKS G3):

    κ_eff/κ = 1 − (2l/R) I₁(R/l) / (I₀(R/l) + C_s I₁(R/l)),

with C_s = 0 for diffuse (no-slip) walls, C_s > 0 for a slip length C_s·l, and
κ_eff = κ for free slip (specular walls: the uniform flux is exact). β is irrelevant
(the flow is divergence-free).

The wire is meshed by gmsh as a faceted cylinder (a segment of length 2h: the
developed flow is axially uniform; both ends hold T and q·t = 0), and solved in 3D at
degree 1 with the vorticity form (``viscous = "vorticity"``: BDM2 × P1DG with a
third-order Nédélec vorticity). Its wall conditions act on the vorticity and do not
lock on flat facets, so no smooth surface normal is given. For contrast, free slip
with the default interior-penalty form and the facet normals: q·n_h = 0 imposed facet
by facet locks the tangential flux (the Babuška–Sapondzhyan paradox) and reduces
κ_eff spuriously, by 50 % at R/l = 0.5 and 6 % at R/l = 2 on this mesh (the penalty
form needs ``FreeSlip(normal=cylinder_normal())`` there,
tests/test_gk_curved_walls.py).

Parameters: silicon-like κ = 150 W/(m K), l = 100 nm (the GK length quoted for Si
nanostructures in BENCHMARKS section 4, UNVERIFIED); only R/l and κ_eff/κ matter.
The heat flow through the cold end is divided by A κ G with A the faceted
cross-section's own area (πR² less ~1 % at 4 cells across the radius); what free slip
still shows (+0.18 % at 4 cells across) is the tilt of the facets against the axis,
O(h²) (``tests/test_gk_vorticity_curved.py``).

The wire is a body of revolution, so the same three wall models are also solved on its
(r, z) section (``coordinates = "axisymmetric"``, the vorticity form at degree 0 with
the stream function rω: :mod:`femheat.assembly.vorticity_axisymmetric`), 64 cells
across the radius and a segment 16 cells long, in a few hundredths of a second each:
within 5.4e-4 of G3 for R/l = 0.5 … 8, converging at O(h²) (R/l = 2: +3.7e-3 / +9.1e-4 /
+2.3e-4 / +5.7e-5 at 16 / 32 / 64 / 128 cells across). A two-cell segment gives the
same figures: the rotation-consistent vorticity weights remove the error in the corner
cells where the no-slip ends meet the mantle (with row sums it stayed at every n, and a
two-cell segment was off by −1.3e-3 at R/l = 0.5, O(h^0.7)).

Run:  python cases/nanowire_size_effect.py -o results/nanowire
Writes kappa_eff.csv, nanowire.png and summary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
from scipy.special import i0, i1

import femheat as fh
from femheat.io.atomic import write_bytes, write_text
from femheat.physics.conditions import FreeSlip, NoSlip, SlipLength

KAPPA = 150.0  # W/(m K), Si-like (BENCHMARKS section 4)
ELL = 100e-9  # m, GK length of Si nanostructures, UNVERIFIED (BENCHMARKS section 4)
GRADIENT = 1e6  # K/m along the axis
SLIP = 1.0  # C_s of the partially slipping wall
#: wall models: name -> (viscous form, wall condition, C_s of the closed form or None)
WALLS = {
    "diffuse (no slip)": ("vorticity", NoSlip(), 0.0),
    f"slip length {SLIP:g} l": ("vorticity", SlipLength(SLIP), SLIP),
    "specular (free slip)": ("vorticity", FreeSlip(), None),
    "free slip, penalty form, facet normals": ("penalty", FreeSlip(), None),
}


def closed_form(ratio: float, slip: float | None) -> float:
    """BENCHMARKS G3: κ_eff/κ of a wire of radius R = ratio·l (slip None: free slip)."""
    if slip is None:
        return 1.0
    return 1.0 - (2.0 / ratio) * i1(ratio) / (i0(ratio) + slip * i1(ratio))


def wire_mesh(radius: float, folder: Path, cells: int) -> fh.RegionMesh:
    """A faceted wire segment, ``cells`` elements across the radius (at least 2 per l)."""
    from femheat.mesh.geometry import build

    h = min(radius / cells, ELL / 2)
    return build("wire", folder / f"wire_{radius:.3e}.msh", radius=radius, length=2 * h,
                 mesh_size=h)


def kappa_ratio(regions: fh.RegionMesh, viscous: str, wall, degree: int = 1) -> float:
    """κ_eff/κ: the steady heat flow through the cold end over AκG (A: the faceted
    cold end's area)."""
    import skfem

    length = float(regions.metadata["parameters"]["length"])
    walls = {"surface": wall}
    if viscous == "vorticity":  # developed flow at the ends: q·t = 0 (ω free there)
        walls.update(hot=NoSlip(), cold=NoSlip())
    problem = fh.HeatProblem(
        regions, {"wire": fh.Material(KAPPA, nonlocal_length=ELL)},
        {"hot": fh.Temperature(GRADIENT * length), "cold": fh.Temperature(0.0),
         "surface": fh.Insulated()}, model="gk", degree=degree, beta=2, viscous=viscous,
        walls=walls)
    with warnings.catch_warnings():  # the facet-normal contrast curve locks on purpose
        warnings.filterwarnings("ignore", message=r"walls\.surface: on a curved surface")
        system = fh.assemble(problem)
    flow = fh.boundary_heat_flow(system, fh.solve_steady(system).flux)["cold"]
    end = skfem.FacetBasis(regions.mesh, skfem.ElementTetP0(), facets=regions.boundary("cold"))
    return float(flow / (float(end.dx.sum()) * KAPPA * GRADIENT))


def section_ratio(ratio: float, wall, cells: int = 64, layers: int = 16) -> float:
    """κ_eff/κ on the wire's (r, z) section: R = ratio·l, ``cells`` across the radius,
    a segment ``layers`` cells long (square cells), degree 0, the vorticity form; the
    heat flow through the cold end over πR²κG."""
    import skfem

    radius = ratio * ELL
    length = layers * radius / cells
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, radius, cells + 1),
                                     np.linspace(0, length, layers + 1))
    tol = 1e-9 * radius
    inside = lambda x: (x[0] > tol) & (x[0] < radius - tol)  # noqa: E731
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "axis": lambda x: x[0] < tol, "surface": lambda x: x[0] > radius - tol,
        "hot": lambda x: (x[1] < tol) & inside(x),
        "cold": lambda x: (x[1] > length - tol) & inside(x)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(KAPPA, nonlocal_length=ELL)},
        {"hot": fh.Temperature(GRADIENT * length), "cold": fh.Temperature(0.0),
         "surface": fh.Insulated()}, model="gk", degree=0, beta=2, viscous="vorticity",
        walls={"surface": wall, "hot": NoSlip(), "cold": NoSlip()},
        coordinates="axisymmetric")
    system = fh.assemble(problem)
    flow = fh.boundary_heat_flow(system, fh.solve_steady(system).flux)["cold"]
    return float(flow / (np.pi * radius**2 * KAPPA * GRADIENT))


def run(outdir: str | Path, ratios=None, cells: int = 4) -> dict:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ratios = np.array([0.5, 1.0, 2.0, 4.0, 8.0]) if ratios is None else np.asarray(ratios)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in ratios:
            regions = wire_mesh(float(r) * ELL, Path(tmp), cells)
            for name, (viscous, wall, slip) in WALLS.items():
                k = kappa_ratio(regions, viscous, wall)
                exact = closed_form(float(r), slip)
                rows.append(dict(R_over_l=float(r), radius_nm=float(r * ELL * 1e9), wall=name,
                                 geometry="3D faceted, degree 1", viscous=viscous,
                                 kappa_ratio=k, g3_closed_form=exact,
                                 relative_error=k / exact - 1, cells=int(regions.mesh.nelements)))
            for name, (viscous, wall, slip) in WALLS.items():
                if viscous != "vorticity":
                    continue
                k = section_ratio(float(r), wall)
                exact = closed_form(float(r), slip)
                rows.append(dict(R_over_l=float(r), radius_nm=float(r * ELL * 1e9), wall=name,
                                 geometry="(r, z) section, degree 0", viscous=viscous,
                                 kappa_ratio=k, g3_closed_form=exact,
                                 relative_error=k / exact - 1, cells=64 * 16 * 2))
    buffer = _csv(rows)
    write_text(out / "kappa_eff.csv", buffer)
    write_bytes(out / "nanowire.png", _figure(rows))
    three_d = [r for r in rows if r["geometry"].startswith("3D")]
    vort = [abs(r["relative_error"]) for r in three_d if r["viscous"] == "vorticity"]
    section = [abs(r["relative_error"]) for r in rows if r["geometry"].startswith("(r, z)")]
    locked = [r["relative_error"] for r in three_d if r["viscous"] == "penalty"]
    summary = {"max_relative_error_vorticity": max(vort),
               "max_relative_error_section": max(section),
               "penalty_facet_free_slip_error": [min(locked), max(locked)],
               "points": len(rows), "degree": 1, "gk_length_m": ELL,
               "gk_length_status": "UNVERIFIED (BENCHMARKS section 4)"}
    write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _csv(rows: list[dict]) -> str:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _figure(rows: list[dict]) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fine = np.geomspace(0.3, 12, 200)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    markers = {name: m for name, m in zip(WALLS, "osDx")}
    for i, (name, (_, _, slip)) in enumerate(WALLS.items()):
        if WALLS[name][0] == "vorticity":
            ax.semilogx(fine, [closed_form(f, slip) for f in fine], "--", color=f"C{i}", lw=1)
        pts = [r for r in rows if r["wall"] == name and r["geometry"].startswith("3D")]
        ax.semilogx([r["R_over_l"] for r in pts], [r["kappa_ratio"] for r in pts],
                    markers[name], color=f"C{i}", ms=5, label=name)
        pts = [r for r in rows if r["wall"] == name and r["geometry"].startswith("(r, z)")]
        if pts:
            ax.semilogx([r["R_over_l"] for r in pts], [r["kappa_ratio"] for r in pts], "+",
                        color=f"C{i}", ms=9, label=f"{name}, (r, z) section")
    ax.set_xlabel("R / l")
    ax.set_ylabel("κ_eff / κ")
    ax.set_title("GK nanowire: 3D faceted mesh, degree 1; +: (r, z) section, degree 0 "
                 "(dashed: G3)", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    data = io.BytesIO()
    fig.savefig(data, format="png")
    plt.close(fig)
    return data.getvalue()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="results/nanowire")
    args = parser.parse_args()
    print(json.dumps(run(args.output), indent=2))
