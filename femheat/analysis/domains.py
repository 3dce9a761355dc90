r"""Thermal domains (seed 000): regions of aligned heat flux in the ordered phase.

In the ordered phase of the Landau–Khalatnikov law (a < 0, b > 0) the flux takes
the magnitude |q| = √(−a/b) (or the root of a + b s² + c s⁴ = 0) and a direction
that varies from region to region. Here a cell belongs to an *ordered* cell class
when |q̄_K| ≥ ``threshold`` (default half the ordered magnitude), and its flux
direction is binned into ``sectors`` equal angular sectors (4: ±x, ±y, like a
four-state clock model). A *domain* is a connected set (cells sharing a facet) of
ordered cells in the same sector; *walls* are the interior facets between cells of
different classes, their total length [m] the wall length. Vortices are the
critical points of winding number +1 of :func:`femheat.analysis.vortices.critical_points`.

Coarsening statistics: the mean domain area A(t) = (ordered area)/(domain count)
[m²] and the length scale L(t) = (total area)/(wall length) [m]; for
non-conserved XY/Ising coarsening L grows like t^{1/2}.

**The ordered magnitude is a steady-state relation, and a local one.** At a
steady state (∂T/∂t = 0, ∂q/∂t = 0, Q = 0) the energy equation gives ∇·q = 0
and the flux law, projected on the flux direction ŝ = q/|q| (s = |q|), reads

.. math::

    (a + b s^2 + c s^4)\,s = -\zeta\,\partial_s T + \lambda\,\nabla^2 q\cdot\hat s
    \equiv f ,

so s = √(−a/b) (the root of a + b s² + c s⁴ = 0) holds only where the *drive*
f vanishes: ∇T·q = 0 and ∇²q·q = 0. Linearized about the ordered root s₀,
s ≈ s₀ + f / (2s₀²(b + 2c s₀²)) (:func:`steady_magnitude` solves it exactly).
T is the Lagrange multiplier of the constraint ∇·q = 0 (as the pressure of
Stokes flow), and in a multi-domain state it is not uniform: with insulated
walls every streamline of a divergence-free 2D flux is closed, and
∮∇T·dl = 0 along it gives

.. math::

    \oint (a + b|q|^2 + c|q|^4)\,|q|\,dl = \lambda \oint \nabla^2 q\cdot dl .

Across a 90° domain wall q·n is continuous and the tangential part reverses,
so |q| dips to ≈ s₀/√2 and the wall contributes a negative W = O(|a| s₀ ξ),
ξ = √(λ/|a|); the interiors on the same streamline (length ℓ) must then carry
s > s₀ with −ζ∂_sT ≈ 2s₀²(b + 2cs₀²)(s − s₀) > 0: a finite-size shift
δs/s₀ = O(ξ/ℓ), not a discretization error. Measured (tests/test_landau_ordered.py,
a = −1, b = ζ = 1, λ = 0.0025, the four-domain flux-closure state of the unit
square, which a random start also reaches): at (0.5, 0.1) |q|/s₀ − 1 = +9.6 %,
+8.6 %, +8.1 % on 12², 24², 48² meshes, with ∂_sT = −0.24, −0.20, −0.19 K/m
(:func:`ordered_balance`, radius 0.08 m, predicts +8.1 and +7.7 % on 24² and 48²). Where the drive vanishes
exactly (a single domain in a channel, a vortex) |q| = s₀ to round-off.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .postprocess import cell_averages
from .vortices import critical_points, vertex_flux

__all__ = ["DomainStatistics", "ordered_magnitude", "steady_magnitude", "ordered_balance",
           "domain_statistics", "write_statistics"]


@dataclass
class DomainStatistics:
    """Domain statistics of one flux field (2D)."""

    time: float  # [s]
    domains: int  # connected regions of aligned ordered flux
    wall_length: float  # [m]
    mean_domain_area: float  # [m²]
    length_scale: float  # area / wall length [m]
    ordered_fraction: float  # area fraction with |q| ≥ threshold
    vortices: int  # interior critical points of kind "vortex" (index +1, rotating)
    antivortices: int  # interior critical points of index −1 (saddles)
    mean_magnitude: float  # area mean of |q| [W m⁻²]


def ordered_magnitude(a: float, b: float, c: float = 0.0) -> float:
    """|q| of the ordered phase [W m⁻²]: √(−a/b), or with c > 0 the positive root
    s² = (−b + √(b² − 4ac))/(2c) of a + b s² + c s⁴ = 0 (a < 0, b > 0, c ≥ 0)."""
    if not (a < 0 < b) or c < 0:
        raise ValueError(f"ordered phase needs a < 0 < b and c >= 0, got a={a}, b={b}, c={c}")
    s2 = -a / b if c == 0 else (-b + np.sqrt(b * b - 4 * a * c)) / (2 * c)
    return float(np.sqrt(s2))


def steady_magnitude(a: float, b: float, c: float = 0.0, drive: Any = 0.0) -> np.ndarray:
    """The steady flux magnitude s [W m⁻²] under a drive f (module docstring):
    the root of (a + b s² + c s⁴) s = f nearest the ordered magnitude s₀.

    ``drive`` f = −ζ ∂_sT + λ∇²q·ŝ, in the units of a·q; an array gives one
    root per entry. f = 0 returns s₀ = :func:`ordered_magnitude`.
    """
    s0 = ordered_magnitude(a, b, c)
    f = np.atleast_1d(np.asarray(drive, dtype=float))
    out = np.empty_like(f)
    for i, fi in enumerate(f.ravel()):
        roots = np.roots([c, 0.0, b, 0.0, a, -fi] if c else [b, 0.0, a, -fi])
        real = roots[np.abs(roots.imag) <= 1e-9 * max(1.0, abs(s0))].real
        out.ravel()[i] = real[np.argmin(np.abs(real - s0))] if real.size else np.nan
    return out


def _fit(x: np.ndarray, values: np.ndarray, point: np.ndarray, radius: float) -> np.ndarray:
    """Least-squares quadratic c0 + c1 x + c2 y + c3 x² + c4 xy + c5 y² about ``point``."""
    d = x - point[:, None]
    sel = np.hypot(d[0], d[1]) < radius
    if sel.sum() < 12:
        raise ValueError(f"only {sel.sum()} cells within {radius} m of {point}: "
                         "increase radius or refine")
    X, Y = d[0, sel], d[1, sel]
    basis = np.stack([np.ones_like(X), X, Y, X * X, X * Y, Y * Y], axis=1)
    return np.linalg.lstsq(basis, values[sel], rcond=None)[0]


def ordered_balance(system: Any, state: Any, points: Any, radius: float) -> dict:
    """Measured |q| against the local steady relation at ``points`` (2D, one material).

    At each point, quadratic least-squares fits of the cell means of T and q
    over the cells within ``radius`` [m] give s = |q|, ∂_sT = ∇T·ŝ [K m⁻¹] and
    ∇²q·ŝ [W m⁻⁴]; the flux law divided by |a| (material units: κ = ζ/|a|,
    l² = λ/|a|, b/|a|, c/|a|) predicts s from the drive
    f/|a| = −κ∂_sT + l²∇²q·ŝ (module docstring). The fit averages out the
    grid-scale part of a P0 temperature.

    Returns arrays keyed ``magnitude``, ``dT_ds``, ``laplacian`` (∇²q·ŝ),
    ``predicted`` (the root with the full drive), ``predicted_temperature``
    (the drive −κ∂_sT alone) and the scalar ``ordered`` (s₀).
    """
    mats = [m for m in system.problem.materials.values() if getattr(m, "ordered", False)]
    if len(mats) != 1:
        raise ValueError("ordered_balance needs exactly one ordered Landau material")
    mat = mats[0]
    kappa = float(np.asarray(mat.conductivity).ravel()[0])
    l2 = float(mat.nonlocal_length) ** 2
    mesh = system.problem.regions.mesh
    T, q = cell_averages(system, state)
    xc = mesh.p[:, mesh.t].mean(axis=1)
    rows = []
    for p in np.atleast_2d(np.asarray(points, dtype=float)):
        cT, cx, cy = (_fit(xc, v, p, radius) for v in (T, q[0], q[1]))
        qv = np.array([cx[0], cy[0]])
        s = float(np.linalg.norm(qv))
        u = qv / s
        dT = float(cT[1:3] @ u)
        lap = float(np.array([2 * (cx[3] + cx[5]), 2 * (cy[3] + cy[5])]) @ u)
        rows.append((s, dT, lap))
    s, dT, lap = (np.array(v) for v in zip(*rows))
    args = (-1.0, mat.quartic, mat.sextic)
    return {"magnitude": s, "dT_ds": dT, "laplacian": lap,
            "predicted": steady_magnitude(*args, -kappa * dT + l2 * lap),
            "predicted_temperature": steady_magnitude(*args, -kappa * dT),
            "ordered": ordered_magnitude(*args)}


def _system_magnitude(system: Any) -> float:
    """The ordered magnitude of a system's Landau materials (largest over materials)."""
    out = 0.0
    for mat in system.problem.materials.values():
        if getattr(mat, "ordered", False):  # stored as b/|a|, c/|a|: a = −1 in those units
            out = max(out, ordered_magnitude(-1.0, mat.quartic, mat.sextic))
    return out


def domain_statistics(system: Any, state: Any, *, sectors: int = 4,
                      threshold: Optional[float] = None) -> DomainStatistics:
    """Domains, walls and vortices of the flux of ``state`` (module docstring).

    Parameters
    ----------
    system, state
        A solved 2D mixed system and one of its states.
    sectors
        Number of direction classes (≥ 2).
    threshold
        |q| [W m⁻²] below which a cell is disordered; default half the ordered
        magnitude of the system's Landau materials (or of the largest cell flux).
    """
    mesh = system.problem.regions.mesh
    if mesh.dim() != 2:
        raise ValueError("domain statistics are defined for 2D meshes")
    if sectors < 2:
        raise ValueError(f"sectors must be >= 2, got {sectors}")
    q = cell_averages(system, state)[1]
    mag = np.linalg.norm(q, axis=0)
    if threshold is None:
        ref = _system_magnitude(system) or float(mag.max())
        threshold = 0.5 * ref
    area = system.flux_basis.dx.sum(axis=1)
    angle = np.mod(np.arctan2(q[1], q[0]) + np.pi / sectors, 2 * np.pi)
    cls = np.floor(angle / (2 * np.pi / sectors)).astype(int) % sectors
    ordered = mag >= threshold
    cls[~ordered] = -1
    f2t = mesh.f2t
    inner = np.nonzero(f2t[1] >= 0)[0]
    c0, c1 = f2t[0, inner], f2t[1, inner]
    same = (cls[c0] == cls[c1]) & (cls[c0] >= 0)
    n = mesh.t.shape[1]
    graph = sp.coo_matrix((np.ones(same.sum()), (c0[same], c1[same])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    count = np.unique(labels[ordered]).size
    p = mesh.p
    length = np.linalg.norm(p[:, mesh.facets[1, inner]] - p[:, mesh.facets[0, inner]], axis=0)
    wall = float(length[cls[c0] != cls[c1]].sum())
    total = float(area.sum())
    cps = critical_points(mesh, vertex_flux(mesh, (system.flux_basis, state.flux)),
                          flux_scale=threshold)
    kinds = [c.kind for c in cps]
    return DomainStatistics(
        time=float(state.time), domains=int(count), wall_length=wall,
        mean_domain_area=float(area[ordered].sum() / count) if count else 0.0,
        length_scale=total / wall if wall > 0 else float(np.sqrt(total)),
        ordered_fraction=float(area[ordered].sum() / total),
        vortices=kinds.count("vortex"), antivortices=kinds.count("saddle"),
        mean_magnitude=float((mag * area).sum() / total))


def write_statistics(rows: Iterable[DomainStatistics], path: str | Path) -> Path:
    """Write the statistics over time to a CSV file (one row per time)."""
    import io

    from ..io.atomic import write_text

    path = Path(path)
    names = list(DomainStatistics.__dataclass_fields__)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([asdict(r)[k] for k in names])
    write_text(path, buf.getvalue())
    return path
