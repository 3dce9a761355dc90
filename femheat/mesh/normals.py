r"""Smooth surface normals reconstructed from the boundary facets of a mesh.

A Guyer–Krumhansl slip or tangential-flux wall on a curved surface needs the normal of
the *true* surface (:class:`~femheat.physics.conditions.FreeSlip` ``normal=``): the
facet normals of a polygonal (polyhedral) wall turn at every vertex, which locks the
tangential flux (free slip O(h) instead of O(h²), a prescribed tangential flux O(h^½)).
Where no formula for the surface is at hand (a gmsh geometry, an ellipse, a spline),
:func:`boundary_normal` builds it from the mesh:

* at each boundary vertex v, for each facet F at v, the normal of the smooth patch of F
  at v: the weighted mean of the outward normals of the boundary facets at v that lie
  within ``corner_angle`` of F's (so corners and edges of the geometry stay sharp).
  The weights make the mean exact at the vertices of a circle or a sphere inscribed by
  the facets: the inverse facet length in 2D, Max's weights in 3D
  (n_v ∝ Σ_F (e₁ × e₂)/(|e₁|²|e₂|²), e₁, e₂ the edges of F at v; N. Max, J. Graphics
  Tools 4(2), 1999);
* in 2D, at a corner, where a facet is alone in its patch, the normal keeps turning at
  the rate it turns between the facet and its neighbour on the other side (exact on a
  circle of equal facets); in 3D such a vertex (on an edge of the geometry) keeps the
  mean of the facets on its side, an O(h) error there;
* on a facet, the linear interpolation of its vertices' patch normals, normalized.

Exact on circles and spheres whose vertices lie on them; on an ellipse O(h²), on an
ellipsoid O(h) at the irregular vertices (``tests/test_mesh_normals.py``). The GK wire
(BENCHMARKS G3) with free slip or a slip length on this normal converges at O(h²) like
with the exact normal. Case files: ``surface_normal = "mesh"`` in a boundary table.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import FemheatInputError
from .regions import RegionMesh

__all__ = ["boundary_normal", "BoundaryNormal", "curved_turning", "facet_normals",
           "turning_angles"]

#: Neighbouring boundary facets further apart than this [degrees] meet at a corner/edge.
CORNER_ANGLE = 30.0
#: A boundary whose facet normals turn by more than this [degrees] at half its vertices
#: or more (and by less than CORNER_ANGLE) is taken for a faceted curved surface.
CURVED_ANGLE = 0.5


def facet_normals(mesh, facets: np.ndarray, centroids: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (d, nf) of ``facets`` pointing out of their first cells
    (``mesh.f2t[0]``: outward on the boundary, scikit-fem's interior-facet convention),
    and the facets' measures (nf) [m^(d−1)]. ``centroids``: the cells' centroids (d,
    cells), if already at hand."""
    p = mesh.p[:, mesh.facets[:, facets]]  # (d, vertices, nf)
    d = p.shape[0]
    if d == 2:
        e = p[:, 1] - p[:, 0]
        n = np.stack([e[1], -e[0]])
    else:
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0], axis=0)
    inner = mesh.f2t[0, facets]
    c = (mesh.p[:, mesh.t[:, inner]].mean(axis=1) if centroids is None
         else centroids[:, inner])
    n = n * np.sign(np.sum(n * (p.mean(axis=1) - c), axis=0))
    size = np.linalg.norm(n, axis=0)
    return n / size, size / (1.0 if d == 2 else 2.0)


def _incidences(mesh, facets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (vertex, facet) incidence of ``facets``, numbered a·nf + k (a the vertex's
    position in facet k): its vertex, its facet position k, and the stable order that
    groups the incidences by vertex."""
    inc_vertex = mesh.facets[:, facets].ravel()
    inc_facet = np.tile(np.arange(facets.size), mesh.facets.shape[0])
    return inc_vertex, inc_facet, np.argsort(inc_vertex, kind="stable")


def _vertex_weights(mesh, facets: np.ndarray) -> np.ndarray:
    """(vertices of the facet, nf) weight of each facet's normal in its vertices' means:
    1/|F| in 2D, Max's |e₁ × e₂|/(|e₁|²|e₂|²) in 3D (the unit normal times it is Max's
    term)."""
    p = mesh.p[:, mesh.facets[:, facets]]  # (d, vertices, nf)
    d = p.shape[0]
    if d == 2:
        w = 1.0 / np.linalg.norm(p[:, 1] - p[:, 0], axis=0)
        return np.stack([w, w])
    out = np.empty((3, facets.size))
    for k in range(3):
        e1 = p[:, (k + 1) % 3] - p[:, k]
        e2 = p[:, (k + 2) % 3] - p[:, k]
        cross = np.linalg.norm(np.cross(e1, e2, axis=0), axis=0)
        out[k] = cross / (np.sum(e1 * e1, axis=0) * np.sum(e2 * e2, axis=0))
    return out


def _extrapolate_corners(vertex_normals: np.ndarray, other: np.ndarray, normals: np.ndarray,
                         length: np.ndarray) -> np.ndarray:
    """2D: at a corner vertex a facet F is alone in its patch, and its normal there would
    be F's own (an O(h) error on a curved side). With G, F's neighbour at its other
    vertex, the normal turns by φ = ∠(n_G, n_F) over (|G| + |F|)/2 and so by
    φ|F|/(|F| + |G|) from F's middle to its end (exact on a circle of equal facets).

    ``vertex_normals`` (2·ne, 2) per incidence a·ne + facet, ``other`` the other facet in
    the incidence's patch or −1, ``normals`` (2, ne) and ``length`` (ne) of the facets.
    """
    ne = normals.shape[1]
    out = vertex_normals.copy()
    for a in (0, 1):
        alone = np.nonzero(other[a * ne:(a + 1) * ne] < 0)[0]  # facets alone at vertex a
        g = other[(1 - a) * ne + alone]  # their neighbour at the other vertex
        alone, g = alone[g >= 0], g[g >= 0]
        nf, ng = normals[:, alone], normals[:, g]
        phi = np.arctan2(ng[0] * nf[1] - ng[1] * nf[0], np.sum(ng * nf, axis=0))
        turn = phi * length[alone] / (length[alone] + length[g])
        c, s = np.cos(turn), np.sin(turn)
        out[a * ne + alone] = np.stack([c * nf[0] - s * nf[1], s * nf[0] + c * nf[1]], axis=1)
    return out


class BoundaryNormal:
    """The reconstructed normal of named boundaries, a function x -> n(x) (see the
    module docstring); x (d, ...) [m] are points on those boundaries' facets."""

    def __init__(self, regions: RegionMesh, names: Sequence[str], corner_angle: float):
        mesh = regions.mesh
        self.names = tuple(names)
        self.corner_angle = corner_angle
        d = mesh.p.shape[0]
        exterior = np.nonzero(mesh.f2t[1] < 0)[0]
        normals, measure = facet_normals(mesh, exterior)  # measure: 2D facet lengths
        weights = _vertex_weights(mesh, exterior)
        ne = exterior.size
        inc_vertex, inc_facet, order = _incidences(mesh, exterior)
        starts = np.searchsorted(inc_vertex[order], np.arange(mesh.p.shape[1] + 1))
        # all pairs (i, j) of incidences at the same vertex, i, j in sorted order
        size = np.diff(starts)[inc_vertex[order]]
        first = np.repeat(np.arange(size.size), size)
        block = np.repeat(np.cumsum(size) - size, size)
        second = starts[inc_vertex[order][first]] + np.arange(first.size) - block
        fi, fj = inc_facet[order][first], inc_facet[order][second]
        # the same smooth patch: facet normals within corner_angle of each other
        keep = np.sum(normals[:, fi] * normals[:, fj], axis=0) >= np.cos(np.radians(corner_angle))
        term = normals[:, fj[keep]] * weights.ravel()[order][second[keep]]
        patch = np.zeros((order.size, d))
        np.add.at(patch, first[keep], term.T)
        patch /= np.linalg.norm(patch, axis=1, keepdims=True)
        by_incidence = np.empty_like(patch)
        by_incidence[order] = patch  # back to a·ne + facet
        if d == 2:  # a facet alone at a corner: extrapolate its patch's turning there
            other = np.full(order.size, -1)
            other[order[first[keep & (fi != fj)]]] = fj[keep & (fi != fj)]
            by_incidence = _extrapolate_corners(by_incidence, other, normals, measure)
        local = np.full(mesh.facets.shape[1], -1)
        local[exterior] = np.arange(ne)
        own = np.concatenate([regions.boundary(n) for n in self.names])
        self.facets = np.unique(own)
        # patch normals at the vertices of the named facets: (nf, vertices, d)
        rows = np.arange(d)[None, :] * ne + local[self.facets][:, None]
        self.vertex_normals = by_incidence[rows]
        self.corners = mesh.p[:, mesh.facets[:, self.facets]]  # (d, vertices, nf)
        self._tree = None

    def _locate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(facet position, barycentrics (P, vertices)) of points x (d, P) on the facets."""
        from scipy.spatial import cKDTree  # only where a reconstructed normal is used

        if self._tree is None:
            self._tree = cKDTree(self.corners.mean(axis=1).T)
        d, nf = self.corners.shape[0], self.corners.shape[2]
        k = min(16, nf)  # the containing facet is among them also on skinny facets
        _, cand = self._tree.query(x.T, k=k)
        cand = cand.reshape(x.shape[1], k)
        a = self.corners[:, 0][:, cand]  # (d, P, k)
        edges = [self.corners[:, i][:, cand] - a for i in range(1, d)]
        r = x[:, :, None] - a
        if d == 2:
            e = edges[0]
            t = np.sum(r * e, axis=0) / np.sum(e * e, axis=0)
            lam = np.stack([1 - t, t])
            off = r - t * e
        else:
            e1, e2 = edges
            g11, g12, g22 = (np.sum(u * v, axis=0) for u, v in ((e1, e1), (e1, e2), (e2, e2)))
            b1, b2 = np.sum(r * e1, axis=0), np.sum(r * e2, axis=0)
            det = g11 * g22 - g12 * g12
            s, t = (g22 * b1 - g12 * b2) / det, (g11 * b2 - g12 * b1) / det
            lam = np.stack([1 - s - t, s, t])
            off = r - s * e1 - t * e2
        size = np.sqrt(np.sum(edges[0] ** 2, axis=0))
        miss = np.linalg.norm(off, axis=0) + size * np.maximum(0.0, -lam.min(axis=0))
        best = np.argmin(miss, axis=1)
        rows = np.arange(x.shape[1])
        if np.any(miss[rows, best] > 1e-6 * size[rows, best] + 1e-12):
            worst = float((miss[rows, best] / size[rows, best]).max())
            raise FemheatInputError(
                f"boundary_normal({', '.join(map(repr, self.names))}) was evaluated at "
                f"points up to {worst:.3g} facet sizes off those boundaries' facets; it is "
                "the normal of these boundaries only: give it to their wall conditions")
        lam = np.clip(lam[:, rows, best], 0.0, 1.0)
        return cand[rows, best], lam / lam.sum(axis=0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        flat = x.reshape(x.shape[0], -1)
        facet, lam = self._locate(flat)
        n = np.einsum("vp,pvi->ip", lam, self.vertex_normals[facet])
        n /= np.linalg.norm(n, axis=0)
        return n.reshape(x.shape)

    def __repr__(self) -> str:
        return (f"boundary_normal({', '.join(map(repr, self.names))}, "
                f"corner_angle={self.corner_angle:g})")


def turning_angles(regions: RegionMesh, name: str) -> np.ndarray:
    """Per vertex of the boundary ``name``: how far its facets' outward normals turn
    there [degrees], twice the largest angle between one of them and their mean (in 2D
    the angle between the two facets; 0 on a flat wall, ~h/R rad on a faceted curve of
    radius R, large at corners and edges)."""
    mesh = regions.mesh
    facets = regions.boundary(name)
    if facets.size == 0:
        return np.zeros(0)
    normals, _ = facet_normals(mesh, facets)
    inc_vertex, inc_facet, order = _incidences(mesh, facets)
    inc_vertex, inc_facet = inc_vertex[order], inc_facet[order]
    vertices, starts = np.unique(inc_vertex, return_index=True)
    mean = np.add.reduceat(normals[:, inc_facet], starts, axis=1)
    mean /= np.linalg.norm(mean, axis=0)
    cos = np.sum(normals[:, inc_facet] * mean[:, np.repeat(np.arange(vertices.size),
                                                         np.diff(np.r_[starts, order.size]))],
                 axis=0)
    spread = np.minimum.reduceat(np.clip(cos, -1.0, 1.0), starts)
    return 2.0 * np.degrees(np.arccos(spread))


def curved_turning(regions: RegionMesh, name: str) -> float | None:
    """The median turning [degrees] of the facet normals of boundary ``name`` if it is a
    faceted curved surface (:data:`CURVED_ANGLE` < turning < :data:`CORNER_ANGLE` at
    half its vertices or more, at least 4 vertices), else None (flat, or flat faces
    meeting at corners and edges)."""
    angles = turning_angles(regions, name)
    curved = (angles > CURVED_ANGLE) & (angles < CORNER_ANGLE)
    if angles.size >= 4 and curved.mean() >= 0.5:
        return float(np.median(angles[curved]))
    return None


def boundary_normal(regions: RegionMesh, names: str | Sequence[str], *,
                    corner_angle: float = CORNER_ANGLE) -> BoundaryNormal:
    """The smooth outward normal of the named boundaries, reconstructed from their facets.

    Parameters
    ----------
    regions
        The mesh (linear triangles or tetrahedra) with its named boundaries.
    names
        A boundary name or several: where the function will be evaluated (the wall's).
    corner_angle
        Facets meeting at more than this angle [degrees] are on either side of a corner
        (2D) or an edge (3D) of the geometry and are not averaged together.

    Returns
    -------
    A function x -> n(x), x of shape (d, ...) [m] on those facets, n of the same shape
    (unit, outward). Use it as ``FreeSlip(normal=boundary_normal(regions, "wall"))``.
    """
    names = [names] if isinstance(names, str) else list(names)
    where = "boundary_normal"
    if not names:
        raise FemheatInputError(f"{where}: give at least one boundary name")
    for name in names:
        regions.boundary(name)  # unknown names: RegionError naming the known ones
    if type(regions.mesh).__name__ not in ("MeshTri1", "MeshTet1"):
        raise FemheatInputError(
            f"{where} needs a mesh of linear triangles or tetrahedra, got "
            f"{type(regions.mesh).__name__}")
    if not 0.0 < corner_angle < 90.0:
        raise FemheatInputError(
            f"{where}: corner_angle must be between 0 and 90 degrees, got {corner_angle}")
    return BoundaryNormal(regions, names, float(corner_angle))
