"""Vortices of a 2D heat flux: critical points, winding numbers, closed-streamline eddies.

Critical points are the zeros of the continuous piecewise-linear interpolant q̂
of the flux (vertex values: the area-weighted mean of the cell values at the
vertex, so RT/BDM fluxes, discontinuous across cells, become one P1 field). In
a triangle with vertex values q₀, q₁, q₂, q̂(x) = q₀ + J(x − x₀) with the
constant Jacobian J = [q₁−q₀, q₂−q₀][x₁−x₀, x₂−x₀]⁻¹ [W m⁻³]; the zero
x* = x₀ − J⁻¹q₀ is a critical point when it lies in the closed triangle. Its
Poincaré index (winding number of q̂ round it) is sign det J:

* +1: a centre or focus (tr² < 4 det: a **vortex**) or a node (source/sink);
* −1: a **saddle**.

The index is checked independently by the winding number of q̂ along closed
vertex loops, W = (1/2π) Σ_edges wrap(arg q̂_j − arg q̂_i): on a P1 field each
straight edge turns q̂ by less than π unless q̂ vanishes on it, so W is exact.

Closed-streamline regions (eddies) are found from the stream function ψ
[W m⁻¹] of the flux (:func:`femheat.analysis.hodge.helmholtz_hodge` with
``boundary="tangential"``: q ≈ curl ψ with the through-flow included). Around an
interior extremum of ψ the component of {±ψ > c} that holds it is a region of
closed streamlines as long as it neither touches the boundary nor holds a
higher extremum; the lowest such c (from the merge tree of the superlevel sets,
the elder rule of persistence) is the separatrix ψ = c. For each eddy:

* area = |{±ψ > c}| from the exact linear level sets in each cell [m²];
* circulation Γ = ∮_{ψ=c} q̂·t ds along the separatrix, counter-clockwise
  (Γ > 0 anticlockwise rotation) [W m⁻¹], equal to ∫ rot q dx by Stokes;
* winding number of q̂ along the region's boundary (+1 for one vortex).

In a Fourier solution q = −κ∇T with T harmonic, det J = −κ²(T_xx² + T_xy²) ≤ 0:
only saddles, and ψ (the harmonic conjugate) has no interior extrema, so no eddies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import skfem

from .hodge import FluxSource, helmholtz_hodge

__all__ = ["CriticalPoint", "Eddy", "VortexReport", "vertex_flux", "critical_points",
           "winding_number", "closed_streamline_regions", "vortex_analysis"]

log = logging.getLogger(__name__)


@dataclass
class CriticalPoint:
    """A zero of the interpolated flux: position [m], cell, index (+1/−1), kind
    (``"vortex"``, ``"node"`` or ``"saddle"``), Jacobian trace and determinant."""

    x: np.ndarray
    cell: int
    index: int
    kind: str
    trace: float
    determinant: float

    def summary(self) -> dict[str, Any]:
        return {"x": [float(v) for v in self.x], "index": self.index, "kind": self.kind,
                "trace": self.trace, "determinant": self.determinant}


@dataclass
class Eddy:
    """A closed-streamline region around an extremum of ψ.

    ``sense`` +1 anticlockwise (ψ maximum), −1 clockwise (ψ minimum);
    ``level`` the separatrix value of ψ [W m⁻¹], ``strength`` = |ψ_centre − level|
    [W m⁻¹] (the heat recirculating through the eddy per unit depth), ``area`` [m²],
    ``circulation`` ∮ q·t ds [W m⁻¹], ``winding`` of q̂ along its boundary.
    """

    center: np.ndarray
    vertex: int
    sense: int
    level: float
    strength: float
    area: float
    circulation: float
    winding: int
    vertices: np.ndarray = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {"center": [float(v) for v in self.center], "sense": self.sense,
                "level": self.level, "strength": self.strength, "area": self.area,
                "circulation": self.circulation, "winding": self.winding}


@dataclass
class VortexReport:
    """Critical points and eddies of one flux field."""

    critical_points: list[CriticalPoint]
    eddies: list[Eddy]

    @property
    def vortices(self) -> list[CriticalPoint]:
        return [c for c in self.critical_points if c.kind == "vortex"]

    def summary(self) -> dict[str, Any]:
        kinds = [c.kind for c in self.critical_points]
        return {"vortices": kinds.count("vortex"), "saddles": kinds.count("saddle"),
                "nodes": kinds.count("node"), "eddies": len(self.eddies),
                "total_index": int(sum(c.index for c in self.critical_points)),
                "eddy_area": float(sum(e.area for e in self.eddies)),
                "critical_points": [c.summary() for c in self.critical_points],
                "eddy_list": [e.summary() for e in self.eddies]}


def vertex_flux(mesh: skfem.MeshTri, flux: FluxSource) -> np.ndarray:
    """Continuous P1 vertex values of q [W m⁻²], shape (2, n_vertices).

    A callable is evaluated at the vertices; a ``(basis, dofs)`` flux is evaluated
    in every cell at its vertices and averaged with the cell areas as weights.
    """
    if callable(flux):
        return np.asarray(flux(mesh.p), dtype=float)
    basis, dofs = flux
    X = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    vb = skfem.CellBasis(mesh, basis.elem, quadrature=(X, np.ones(3) / 6))
    qv = vb.interpolate(dofs).value  # (2, ne, 3)
    area = _areas(mesh)
    n = mesh.p.shape[1]
    w = np.bincount(mesh.t.ravel(), weights=np.repeat(area[None], 3, 0).ravel(), minlength=n)
    out = np.empty((2, n))
    for i in range(2):
        out[i] = np.bincount(mesh.t.ravel(), weights=(qv[i].T * area[None]).ravel(),
                             minlength=n) / w
    return out


def _areas(mesh: skfem.Mesh) -> np.ndarray:
    p, t = mesh.p, mesh.t
    a, b = p[:, t[1]] - p[:, t[0]], p[:, t[2]] - p[:, t[0]]
    return 0.5 * np.abs(a[0] * b[1] - a[1] * b[0])


def _jacobians(mesh: skfem.MeshTri, qv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, J (ne, 2, 2) of the P1 interpolant and the edge matrix E (ne, 2, 2)."""
    p, t = mesh.p, mesh.t
    E = np.stack([p[:, t[1]] - p[:, t[0]], p[:, t[2]] - p[:, t[0]]], axis=-1)  # (2, ne, 2)
    D = np.stack([qv[:, t[1]] - qv[:, t[0]], qv[:, t[2]] - qv[:, t[0]]], axis=-1)
    E, D = np.moveaxis(E, 1, 0), np.moveaxis(D, 1, 0)  # (ne, 2, 2)
    return D @ np.linalg.inv(E), E


def critical_points(mesh: skfem.MeshTri, qv: np.ndarray, *, exclude_boundary: bool = True,
                    tolerance: float = 1e-9, noise: float = 1e-8,
                    flux_scale: Optional[float] = None) -> list[CriticalPoint]:
    """Zeros of the P1 interpolant of the vertex flux ``qv`` (2, n_vertices).

    ``exclude_boundary`` skips cells with a boundary vertex (no-slip walls, where
    q = 0 along the whole wall, and corners, where q vanishes, are not vortices).
    Cells where |q̂| < ``noise``·``flux_scale`` at every vertex are skipped: zeros of
    round-off (a field at rest, the far field ahead of a thermal front) are not
    critical points. ``flux_scale`` [W m⁻²] defaults to max |q̂| of this field;
    give the maximum over a run to compare its steps. Zeros on a shared edge or
    vertex are reported once.
    """
    J, _ = _jacobians(mesh, qv)
    t = mesh.t
    det = np.linalg.det(J)
    ok = np.abs(det) > 0
    q0 = qv[:, t[0]].T  # (ne, 2)
    D = np.stack([qv[:, t[1]] - qv[:, t[0]], qv[:, t[2]] - qv[:, t[0]]], axis=-1)
    D = np.moveaxis(D, 1, 0)
    lam = np.full((t.shape[1], 2), np.inf)
    ddet = np.linalg.det(D)
    good = ok & (np.abs(ddet) > 0)
    lam[good] = np.linalg.solve(D[good], -q0[good][..., None])[..., 0]
    l0 = 1 - lam.sum(axis=1)
    inside = good & (lam >= -tolerance).all(axis=1) & (l0 >= -tolerance)
    mag = np.linalg.norm(qv, axis=0)
    scale = float(mag.max()) if flux_scale is None else float(flux_scale)
    inside &= mag[t].max(axis=0) >= noise * scale
    if exclude_boundary:
        bnd = np.zeros(mesh.p.shape[1], bool)
        bnd[mesh.boundary_nodes()] = True
        inside &= ~bnd[t].any(axis=0)
    out: list[CriticalPoint] = []
    h = np.sqrt(_areas(mesh).mean())
    for k in np.nonzero(inside)[0]:
        x = mesh.p[:, t[0, k]] + (mesh.p[:, t[1:, k]] - mesh.p[:, t[0, k]][:, None]) @ lam[k]
        if any(np.linalg.norm(x - c.x) < 1e-8 * h for c in out):
            continue
        tr, dt = float(np.trace(J[k])), float(det[k])
        kind = "saddle" if dt < 0 else ("vortex" if tr**2 < 4 * dt else "node")
        out.append(CriticalPoint(x, int(k), 1 if dt > 0 else -1, kind, tr, dt))
    log.info("%d critical points (%s)", len(out), ", ".join(c.kind for c in out))
    return out


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def winding_number(mesh: skfem.MeshTri, qv: np.ndarray, cells: np.ndarray) -> int:
    """Winding number of the P1 flux along the boundary of a union of cells.

    The boundary edges (those of one cell of the set), oriented anticlockwise
    round their cell, are summed; the winding of the outer boundary minus that
    of any holes. q̂ must not vanish on these edges.
    """
    t = mesh.t[:, cells]
    p = mesh.p
    a, b = p[:, t[1]] - p[:, t[0]], p[:, t[2]] - p[:, t[0]]
    ccw = a[0] * b[1] - a[1] * b[0] > 0
    t = np.where(ccw, t, t[[0, 2, 1]])
    edges = np.concatenate([np.stack([t[i], t[(i + 1) % 3]]) for i in range(3)], axis=1)
    _, inv, cnt = np.unique(np.sort(edges, axis=0), axis=1, return_inverse=True,
                            return_counts=True)
    edges = edges[:, cnt[inv.ravel()] == 1]
    ang = np.arctan2(qv[1], qv[0])
    total = _wrap(ang[edges[1]] - ang[edges[0]]).sum()
    return int(round(total / (2 * np.pi)))


def _neighbours(mesh: skfem.Mesh) -> list[np.ndarray]:
    e = mesh.facets
    n = mesh.p.shape[1]
    order = np.argsort(np.concatenate([e[0], e[1]]), kind="stable")
    other = np.concatenate([e[1], e[0]])[order]
    counts = np.bincount(np.concatenate([e[0], e[1]]), minlength=n)
    return np.split(other, np.cumsum(counts)[:-1])


def _death_levels(s: np.ndarray, nbr: list[np.ndarray], boundary: np.ndarray
                  ) -> dict[int, float]:
    """Merge tree of the superlevel sets of ``s``: for each local maximum the level at
    which its component of {s > c} first touches the boundary or joins the component
    of a higher maximum (the elder rule of persistence)."""
    order = np.argsort(-s, kind="stable")
    parent = np.full(s.size, -1)
    alive: dict[int, list[int]] = {}  # root -> maxima still alive in its component
    wall: dict[int, bool] = {}
    death: dict[int, float] = {}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for v in order:
        v = int(v)
        parent[v] = v
        roots = {find(int(k)) for k in nbr[v] if parent[k] >= 0}
        maxima = [m for r in roots for m in alive.pop(r)] if roots else [v]
        touches = bool(boundary[v]) or any(wall.pop(r) for r in roots)
        for r in roots:
            parent[r] = v
        maxima.sort(key=lambda m: -s[m])
        keep = [] if touches else maxima[:1]
        for m in maxima:
            if m not in keep:
                death[m] = float(s[v])
        alive[v], wall[v] = keep, touches
    for r, ms in alive.items():
        for m in ms:
            death[m] = float(s.min())
    return death


def _component(s: np.ndarray, start: int, level: float, nbr: list[np.ndarray]) -> np.ndarray:
    """Vertices of the component of {s > level} that contains ``start``."""
    seen, stack = {start}, [start]
    while stack:
        j = stack.pop()
        for k in nbr[j]:
            k = int(k)
            if k not in seen and s[k] > level:
                seen.add(k)
                stack.append(k)
    return np.array(sorted(seen), dtype=np.int64)


def _superlevel_fraction(f: np.ndarray, c: float) -> np.ndarray:
    """Fraction of each triangle where the linear f (vertex values (3, n)) exceeds c."""
    f0, f1, f2 = np.sort(f, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1 - (c - f0) ** 2 / ((f1 - f0) * (f2 - f0))
        b = (f2 - c) ** 2 / ((f2 - f0) * (f2 - f1))
    return np.where(c <= f0, 1.0, np.where(c >= f2, 0.0, np.where(c <= f1, a, b)))


def _circulation(mesh: skfem.MeshTri, psi: np.ndarray, qv: np.ndarray, cells: np.ndarray,
                 level: float) -> float:
    """∮ q̂·t ds along psi = level through ``cells``, anticlockwise round {ψ > level}."""
    total = 0.0
    p, t = mesh.p, mesh.t
    for k in cells:
        v = t[:, k]
        f = psi[v] - level
        pts, qs = [], []
        for i, j in ((0, 1), (1, 2), (2, 0)):
            if (f[i] > 0) != (f[j] > 0):  # a vertex on the level counts as outside
                s = f[i] / (f[i] - f[j])
                pts.append(p[:, v[i]] + s * (p[:, v[j]] - p[:, v[i]]))
                qs.append(qv[:, v[i]] + s * (qv[:, v[j]] - qv[:, v[i]]))
        if len(pts) != 2:
            continue
        # ∇ψ in the cell; the outward normal of {ψ > c} is −∇ψ/|∇ψ|
        E = np.column_stack([p[:, v[1]] - p[:, v[0]], p[:, v[2]] - p[:, v[0]]])
        g = np.linalg.solve(E.T, [psi[v[1]] - psi[v[0]], psi[v[2]] - psi[v[0]]])
        n = -g / np.linalg.norm(g)
        tan = np.array([-n[1], n[0]])
        seg = np.linalg.norm(pts[1] - pts[0])
        total += seg * float(0.5 * (qs[0] + qs[1]) @ tan)
    return total


def closed_streamline_regions(mesh: skfem.MeshTri, psi: np.ndarray, qv: np.ndarray, *,
                              min_strength: float = 1e-6) -> list[Eddy]:
    """Eddies around the interior extrema of the stream function ``psi``.

    ``min_strength`` discards extrema whose |ψ_centre − level| is below this
    fraction of the range of ψ (round-off wiggles in stagnant corners).
    """
    nbr = _neighbours(mesh)
    boundary = np.zeros(mesh.p.shape[1], bool)
    boundary[mesh.boundary_nodes()] = True
    span = max(float(np.ptp(psi)), 1e-300)
    area = _areas(mesh)
    eddies: list[Eddy] = []
    for sense in (1, -1):
        s = sense * psi
        for i, level in _death_levels(s, nbr, boundary).items():
            strength = float(s[i] - level)
            if boundary[i] or strength <= min_strength * span:
                continue
            verts = _component(s, i, level, nbr)
            mark = np.zeros(mesh.p.shape[1], bool)
            mark[verts] = True
            touch = np.nonzero(mark[mesh.t].any(axis=0))[0]
            frac = _superlevel_fraction(s[mesh.t[:, touch]], level)
            full = touch[mark[mesh.t[:, touch]].all(axis=0)]
            eddies.append(Eddy(
                center=mesh.p[:, i].copy(), vertex=int(i), sense=sense,
                level=float(sense * level), strength=strength,
                area=float((frac * area[touch]).sum()),
                circulation=_circulation(mesh, s, qv, touch, level),
                winding=winding_number(mesh, qv, full) if full.size else 0,
                vertices=verts))
    log.info("%d eddies", len(eddies))
    return eddies


def vortex_analysis(system: Any, state: Any, *, exclude_boundary: bool = True,
                    min_strength: float = 1e-6, hodge: Optional[Any] = None,
                    flux_scale: Optional[float] = None) -> VortexReport:
    """Critical points and eddies of a solved 2D mixed system's flux."""
    mesh = system.problem.regions.mesh
    src = (system.flux_basis, state.flux)
    qv = vertex_flux(mesh, src)
    if hodge is None or hodge.boundary != "tangential":
        hodge = helmholtz_hodge(mesh, src, boundary="tangential")
    cps = critical_points(mesh, qv, exclude_boundary=exclude_boundary, flux_scale=flux_scale)
    eddies = closed_streamline_regions(mesh, hodge.stream_function, qv,
                                       min_strength=min_strength)
    return VortexReport(cps, eddies)
