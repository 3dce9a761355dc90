"""Geometry of placed particles: measures, support functions, gap bounds, rotations.

Pure numpy, used by :mod:`femheat.mesh.packing` (the rules and the gap tests
are described there): particle area/volume, the support function
h(u) = |diag(a) R^T u| and the separating-axis lower bound of the gap between
two convex particles, :func:`pair_gaps` and :func:`boundary_gaps` of a
:class:`~femheat.mesh.packing.Placement`, rotation matrices, and the moves of
random placement (random sequential addition and overlap relaxation).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .packing import Placement

__all__ = ["boundary_gaps", "pair_gaps"]

#: Directions of the separating-axis gap bound (half circle / half sphere).
_N_DIRECTIONS = {2: 360, 3: 2000}


def _measure(semi_axes: np.ndarray) -> np.ndarray:
    """Area (2D) or volume (3D) of ellipses/ellipsoids with these semi-axes."""
    d = semi_axes.shape[-1]
    unit = math.pi if d == 2 else 4.0 * math.pi / 3.0
    return unit * np.prod(semi_axes, axis=-1)


# ------------------------------------------------------------ gap geometry
def _directions(dim: int) -> np.ndarray:
    """Unit directions covering a half circle (2D) or half sphere (3D), shape (m, d)."""
    m = _N_DIRECTIONS[dim]
    if dim == 2:
        ang = np.pi * np.arange(m) / m
        return np.stack([np.cos(ang), np.sin(ang)], axis=1)
    # Fibonacci lattice on the upper half sphere (z >= 0); -u is covered by |u . d|
    k = np.arange(m) + 0.5
    z = k / m
    phi = np.pi * (1 + 5**0.5) * k
    rho = np.sqrt(1 - z**2)
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)


def _support(semi_axes: np.ndarray, rotations: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Support function h_i(u) = |diag(a_i) R_i^T u|, shape (N, m)."""
    local = np.einsum("nji,mj->nmi", rotations, u)  # R^T u
    return np.linalg.norm(local * semi_axes[:, None, :], axis=2)


def _half_extents(semi_axes: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Exact half-widths of the bounding boxes along the axes, shape (N, d)."""
    return np.sqrt(np.einsum("nkj,nj->nk", rotations**2, semi_axes**2))


def _gap_lower_bound(
    d: np.ndarray, ha: np.ndarray, hb: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """max_u |u . d| - h_a(u) - h_b(u) for pairs: d (P, dim), ha/hb (P, m)."""
    return np.max(np.abs(d @ u.T) - ha - hb, axis=1)


def pair_gaps(placement: Placement) -> np.ndarray:
    """Gaps between all particle pairs i < j, coating included [m].

    Exact for circles and spheres; a lower bound for ellipses and ellipsoids
    (see the notes of :mod:`femheat.mesh.packing`), so ``pair_gaps(p) >= p.min_gap`` proves the
    placement keeps its gap.

    Returns
    -------
    ndarray
        Shape (N (N - 1) / 2,), pairs in ``np.triu_indices(N, 1)`` order.
    """
    c = placement.centers
    a = placement.outer_semi_axes
    i, j = np.triu_indices(c.shape[0], 1)
    dist = np.linalg.norm(c[j] - c[i], axis=1)
    big = a.max(axis=1)
    gaps = dist - big[i] - big[j]  # bounding circles/spheres: a lower bound
    if placement.shape in ("circle", "sphere") or i.size == 0:
        return gaps
    small = a.min(axis=1)
    undecided = np.nonzero(dist - small[i] - small[j] > gaps)[0]
    if undecided.size:
        u = _directions(placement.dim)
        h = _support(a, placement.rotations, u)
        for chunk in np.array_split(undecided, max(1, undecided.size // 2000)):
            ii, jj = i[chunk], j[chunk]
            gaps[chunk] = np.maximum(
                gaps[chunk], _gap_lower_bound(c[jj] - c[ii], h[ii], h[jj], u))
    return gaps


def boundary_gaps(placement: Placement) -> np.ndarray:
    """Distance of each particle (coating included) to the nearest cell face [m], exact."""
    ext = _half_extents(placement.outer_semi_axes, placement.rotations)
    c = placement.centers
    size = np.asarray(placement.size)
    return np.minimum(c - ext, size - c - ext).min(axis=1)


def _violations(placement: Placement, min_gap: float) -> tuple[float, float]:
    """(smallest pair gap - min_gap, smallest boundary gap - min_gap/2) [m]."""
    tol = 1e-9 * max(placement.size)
    pg = pair_gaps(placement)
    bg = boundary_gaps(placement)
    pair = float(pg.min()) - min_gap if pg.size else math.inf
    wall = float(bg.min()) - 0.5 * min_gap
    # never touching, even with min_gap = 0
    return pair - (tol if min_gap == 0 else 0.0), wall - (tol if min_gap == 0 else 0.0)


# --------------------------------------------------------------- rotations
def _rotation_2d(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _rotation_zyz(alpha: float, beta: float, gamma: float) -> np.ndarray:
    def rz(t: float) -> np.ndarray:
        c, s = math.cos(t), math.sin(t)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    c, s = math.cos(beta), math.sin(beta)
    ry = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return rz(alpha) @ ry @ rz(gamma)


def _random_rotations(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed rotations (2D: angle in [0, pi); 3D: unit quaternions)."""
    if dim == 2:
        return np.array([_rotation_2d(t) for t in rng.uniform(0.0, np.pi, n)]).reshape(n, 2, 2)
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=1),
    ], axis=1)


def _core_semi_axes(ratios: np.ndarray, volume: float) -> np.ndarray:
    """Semi-axes proportional to ``ratios`` giving a particle of ``volume`` [m^d]."""
    unit = float(_measure(ratios))
    return ratios * (volume / unit) ** (1.0 / ratios.size)


# ------------------------------------------------------- random placement
def _pair_state(
    c: np.ndarray, big: float, small: float, h: np.ndarray | None, u: np.ndarray | None,
    need: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j) closer than ``need``: indices, gaps (lower bounds) and unit normals i -> j."""
    i, j = np.triu_indices(c.shape[0], 1)
    d = c[j] - c[i]
    dist = np.linalg.norm(d, axis=1)
    near = np.nonzero(dist - 2 * big < need)[0]
    i, j, d, dist = i[near], j[near], d[near], dist[near]
    if u is None:
        gap = dist - 2 * big
        normal = d / np.maximum(dist, 1e-300)[:, None]
    else:
        proj = d @ u.T  # (P, m)
        score = np.abs(proj) - h[i] - h[j]
        k = np.argmax(score, axis=1)
        gap = score[np.arange(k.size), k]
        normal = u[k] * np.sign(proj[np.arange(k.size), k])[:, None]
        # a bounding-sphere gap beyond the directional bound is still a valid bound
        gap = np.maximum(gap, dist - 2 * big)
        inner = dist - 2 * small < need
        normal[inner] = (d[inner] / np.maximum(dist[inner], 1e-300)[:, None])
    zero = np.linalg.norm(normal, axis=1) == 0
    if np.any(zero):  # coincident centres: any direction
        normal[zero] = np.eye(c.shape[1])[0]
    bad = gap < need
    return i[bad], j[bad], gap[bad], normal[bad]


def _sequential_addition(
    lo: np.ndarray, hi: np.ndarray, outer: np.ndarray, h: np.ndarray | None,
    u: np.ndarray | None, need: float, max_attempts: int, rng: np.random.Generator,
) -> tuple[np.ndarray, list[int]]:
    """Random sequential addition; particles without a free spot are put at random (deferred)."""
    n, dim = lo.shape
    big, small = float(outer.max()), float(outer.min())
    centers = np.empty((n, dim))
    placed: list[int] = []
    deferred: list[int] = []
    batch = 256
    for i in range(n):
        tried = 0
        spot = None
        while tried < max_attempts and spot is None:
            m = min(batch, max_attempts - tried)
            cand = lo[i] + (hi[i] - lo[i]) * rng.random((m, dim))
            tried += m
            if not placed:
                spot = cand[0]
                break
            d = centers[placed][None, :, :] - cand[:, None, :]  # (m, k, dim)
            dist = np.linalg.norm(d, axis=2)
            ok = np.all(dist - 2 * big >= need, axis=1)
            if u is not None and not ok.any():
                maybe = ~np.any(dist - 2 * small < need, axis=1)
                for k in np.nonzero(maybe)[0]:
                    near = np.nonzero(dist[k] - 2 * big < need)[0]
                    idx = np.asarray(placed)[near]
                    if np.all(_gap_lower_bound(d[k, near], h[i][None, :], h[idx], u) >= need):
                        ok[k] = True
                        break
            hit = np.nonzero(ok)[0]
            if hit.size:
                spot = cand[hit[0]]
        if spot is None:
            centers[i] = lo[i] + (hi[i] - lo[i]) * rng.random(dim)
            deferred.append(i)
        else:
            centers[i] = spot
            placed.append(i)
    return centers, deferred


def _relax(
    centers: np.ndarray, lo: np.ndarray, hi: np.ndarray, outer: np.ndarray,
    h: np.ndarray | None, u: np.ndarray | None, need: float, max_sweeps: int = 3000,
) -> np.ndarray | None:
    """Push overlapping pairs apart (Jacobi sweeps, walls by clipping) until all keep ``need``.

    Each sweep moves both particles of every offending pair half the missing
    gap (plus 10 %) along their separating direction. Returns the centres, or
    None when ``max_sweeps`` sweeps do not separate every pair.
    """
    c = centers.copy()
    big, small = float(outer.max()), float(outer.min())
    target = need + 1e-4 * small  # aim a little beyond the limit: no round-off stalls
    for _ in range(max_sweeps):
        i, j, gap, normal = _pair_state(c, big, small, h, u, need)
        if i.size == 0:
            return c
        step = 0.55 * (target - gap)[:, None] * normal
        move = np.zeros_like(c)
        np.add.at(move, i, -step)
        np.add.at(move, j, step)
        c = np.clip(c + move, lo, hi)
    return None
