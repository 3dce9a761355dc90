"""In-plane conduction of a thin film: the size effect of a truncated nonlocal kernel.

A film of thickness d carries heat along its plane under a uniform gradient
T = −G x. With the nonlocal law q = −∫ Z ∇T dR (seed 004 eq. 35) and the kernel
truncated at the film faces (no image, no specular reflection: a phonon that
would come from outside the film does not exist), the flux near a face is
reduced and the effective conductivity falls with d (BENCHMARKS N4):

    j_x(z) = κG · ½[erf((d − z)/(√2 a)) + erf(z/(√2 a))]
    κ_eff/κ = erf(d/(√2 a)) − (√2 a/(√π d))(1 − exp(−d²/2a²))   (→ 1 − √(2/π) a/d)

Gaussian kernel (seed 004 eq. 37, normalized in 2D, a film cross-section), ξ = 0.
For comparison, the Guyer–Krumhansl no-slip film (BENCHMARKS G3, β irrelevant:
the flow is divergence-free) gives κ_eff/κ = 1 − (2l/d) tanh(d/2l), with the
second-moment match a = √2 l (β = 0): the truncated kernel acts like a partially
slipping wall (1 − 1.128 l/d instead of 1 − 2 l/d for d ≫ l).

Numerics. T = −Gx is an exact steady solution (∂T/∂z = 0 makes j_z = 0 and
∇·j = 0), and ∇T is constant per P1 cell, so κ_eff follows from one application
of the operator on a cross-section that is periodic along x (``period=(L, None)``:
an infinite film); the cell-pair integrals are exact to the quadrature tolerance,
so the mesh can be coarse. The steady solver is exercised once (d = 2a): the ends
of a finite strip carry the exact T as a volume constraint (collars 5.5a long, the
kernel's cut-off) and the flux in the middle is compared with N4.

Parameters (BENCHMARKS section 4): silicon-like κ = 150 W/(m K); the GK length
l = 100 nm is the typical GK-fitted value for Si nanostructures quoted there as
UNVERIFIED, a = √2 l = 141 nm. Only the ratios d/a and κ_eff/κ matter.

Run:  python cases/film_size_effect.py -o results/film
Writes kappa_eff.csv, film.png and summary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import warnings
from pathlib import Path

import numpy as np
import skfem

import femheat as fh
from femheat.kernels.functions import GaussianKernel
from femheat.kernels.operator import NonlocalOperator
from femheat.kernels.solvers import IllConditionedWarning, solve_steady_nonlocal

KAPPA = 150.0  # W/(m K), Si-like (BENCHMARKS section 4)
ELL = 100e-9  # m, GK length of Si nanostructures, UNVERIFIED (BENCHMARKS section 4)
A = math.sqrt(2) * ELL  # m, Gaussian length matching GK beta = 0 (BENCHMARKS N1)
GRADIENT = 1e6  # K/m imposed in-plane gradient (1 K per um)


def kernel_film(ratio: float) -> float:
    """BENCHMARKS N4: κ_eff/κ of a film of thickness d = ratio·a, truncated Gaussian kernel."""
    s = math.sqrt(2) / ratio
    return math.erf(ratio / math.sqrt(2)) - s / math.sqrt(math.pi) * (1 - math.exp(-ratio**2 / 2))


def gk_no_slip(ratio: float) -> float:
    """BENCHMARKS G3: κ_eff/κ = 1 − (2l/d) tanh(d/2l), d = ratio·a, l = a/√2."""
    d = ratio * A
    return 1 - (2 * ELL / d) * math.tanh(d / (2 * ELL))


def film_ratio(ratio: float, ny: int = 6, tol: float = 1e-8) -> float:
    """κ_eff/κ from one application of the periodic-in-x operator to T = −Gx."""
    d = ratio * A
    length = max(d, 2 * A)
    nx = max(2, int(round(length / d * ny / 2)))
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, length, nx + 1), np.linspace(0, d, ny + 1))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "faces": lambda x: np.ones(x.shape[1], dtype=bool)})
    op = NonlocalOperator(regions, KAPPA, GaussianKernel(A, 2), period=(length, None), tol=tol)
    T = -GRADIENT * op.basis.doflocs[0]
    q = op.flux(T)
    return float((q[:, 0] * op.measure).sum() / (KAPPA * GRADIENT * length * d))


def steady_check(ratio: float = 2.0) -> tuple[float, float]:
    """Steady solve on a finite strip with exact-T collars; κ_eff/κ from the middle cells."""
    d = ratio * A
    collar, middle = 5.5 * A, 4.0 * A
    length = 2 * collar + middle
    h = 0.75 * A  # coarse on purpose: xi = 0 with a Gaussian is singular below h ~ 0.7 a
    nc, nm = int(math.ceil(collar / h)), int(math.ceil(middle / h))
    ny = max(2, int(math.ceil(d / h)))
    x_edges = np.concatenate([np.linspace(0, collar, nc + 1),
                              np.linspace(collar, collar + middle, nm + 1)[1:],
                              np.linspace(collar + middle, length, nc + 1)[1:]])
    mesh = skfem.MeshTri.init_tensor(x_edges, np.linspace(0, d, ny + 1))
    in_collar = lambda x: (x[0] < collar) | (x[0] > length - collar)  # noqa: E731
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"collar": in_collar, "film": lambda x: ~in_collar(x)},
        boundaries={"faces": lambda x: np.ones(x.shape[1], dtype=bool)})
    op = NonlocalOperator(regions, KAPPA, GaussianKernel(A, 2), tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        T, _ = solve_steady_nonlocal(op, temperature={"collar": lambda x: -GRADIENT * x[0]})
    q = op.flux(T)
    mid = regions.subdomain("film")
    centre = op.centroids[mid, 0]
    sel = mid[np.abs(centre - length / 2) < A]
    # mean of q_x over a band spanning the thickness: κ_eff G
    k = float((q[sel, 0] * op.measure[sel]).sum() / op.measure[sel].sum() / (KAPPA * GRADIENT))
    return k, kernel_film(ratio)


def run(outdir: str | Path, ratios=None) -> dict:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ratios = np.geomspace(0.5, 20, 9) if ratios is None else np.asarray(ratios, dtype=float)
    rows, worst = [], 0.0
    for r in ratios:
        k = film_ratio(float(r))
        exact = kernel_film(float(r))
        worst = max(worst, abs(k / exact - 1))
        rows.append(dict(d_over_a=float(r), d_nm=float(r * A * 1e9), kappa_ratio=k,
                         n4_closed_form=exact, relative_error=k / exact - 1,
                         gk_no_slip=gk_no_slip(float(r))))
    with open(out / "kappa_eff.csv", "w", newline="") as fh_:
        w = csv.DictWriter(fh_, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    k_steady, k_ref = steady_check(2.0)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fine = np.geomspace(0.2, 50, 200)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    ax.semilogx(fine, [kernel_film(f) for f in fine], "k-", lw=1,
                label="truncated Gaussian kernel, N4 closed form")
    ax.semilogx(fine, [gk_no_slip(f) for f in fine], "C1--", lw=1,
                label="GK no-slip, l = a/√2 (G3)")
    ax.semilogx([r["d_over_a"] for r in rows], [r["kappa_ratio"] for r in rows], "o",
                color="C0", ms=5, label="femheat kernel operator")
    ax.semilogx([2.0], [k_steady], "s", color="C3", ms=6, mfc="none",
                label="femheat steady solve (d = 2a)")
    ax.set_xlabel("d / a")
    ax.set_ylabel("κ_eff / κ")
    ax.set_title(f"In-plane film conductivity (a = {A * 1e9:.0f} nm, Si-like κ = {KAPPA:g} W/m K)",
                 fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "film.png")
    plt.close(fig)
    summary = {"max_relative_error_vs_N4": worst, "points": len(rows),
               "steady_solve_kappa_ratio": k_steady, "steady_solve_reference": k_ref,
               "kernel": "Gaussian, xi = 0", "a_m": A, "gk_length_m": ELL,
               "gk_length_status": "UNVERIFIED (BENCHMARKS section 4)"}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="results/film_size_effect")
    args = parser.parse_args()
    print(json.dumps(run(args.output), indent=2))
