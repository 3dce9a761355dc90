"""Quadrature rules on the reference simplex (interval, triangle, tetrahedron).

Gauss rules (Gauss–Legendre in 1D, skfem's triangle and tetrahedron rules),
composite versions on 2^(d·level) congruent subcells, 1D Gauss–Legendre on
[0, 1], and the component-wise affine map used to place points in cells. Used
by :mod:`femheat.kernels.quadrature` and :mod:`femheat.kernels.singular`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["simplex_rule"]


def _ref_vertices(dim: int) -> np.ndarray:
    return np.vstack([np.zeros(dim), np.eye(dim)])


@lru_cache(maxsize=None)
def _base_rule(dim: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference-simplex rule (points (q, dim), weights summing to 1)."""
    if degree == 1:
        return np.full((1, dim), 1.0 / (dim + 1)), np.ones(1)
    if dim == 1:
        x, w = np.polynomial.legendre.leggauss((degree + 2) // 2)
        return (0.5 * (x + 1))[:, None], 0.5 * w
    from skfem.quadrature import get_quadrature
    from skfem.refdom import RefTet, RefTri
    X, W = get_quadrature(RefTri if dim == 2 else RefTet, degree)
    return np.ascontiguousarray(X.T), W / W.sum()


def _children(dim: int) -> list[np.ndarray]:
    """Vertices (dim+1, dim) of the 2^dim congruent-volume children of the reference simplex."""
    v = _ref_vertices(dim)
    if dim == 1:
        m = 0.5 * (v[0] + v[1])
        return [np.array([v[0], m]), np.array([m, v[1]])]
    mid = {(i, j): 0.5 * (v[i] + v[j]) for i in range(dim + 1) for j in range(dim + 1)}
    if dim == 2:
        return [np.array([v[0], mid[0, 1], mid[0, 2]]), np.array([mid[0, 1], v[1], mid[1, 2]]),
                np.array([mid[0, 2], mid[1, 2], v[2]]), np.array([mid[0, 1], mid[1, 2], mid[0, 2]])]
    # Bey's refinement of a tetrahedron into 8
    x0, x1, x2, x3 = v
    x01, x02, x03, x12, x13, x23 = (mid[0, 1], mid[0, 2], mid[0, 3], mid[1, 2], mid[1, 3], mid[2, 3])
    return [np.array(c) for c in (
        (x0, x01, x02, x03), (x01, x1, x12, x13), (x02, x12, x2, x23), (x03, x13, x23, x3),
        (x01, x02, x03, x13), (x01, x02, x12, x13), (x02, x03, x13, x23), (x02, x12, x13, x23))]


@lru_cache(maxsize=None)
def simplex_rule(dim: int, degree: int, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature rule on the reference simplex, composite over 2^(dim·level) subcells.

    Returns points (q, dim) and weights (q,) summing to 1 (multiply by the cell measure).
    """
    x, w = _base_rule(dim, degree)
    for _ in range(level):
        xs, ws = [], []
        for c in _children(dim):
            A = c[1:] - c[0]
            xs.append(c[0] + x @ A)
            ws.append(w / 2**dim)
        x, w = np.vstack(xs), np.concatenate(ws)
    return np.ascontiguousarray(x), w


def _affine(X: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """X @ A.T + b for points X (..., d), written per component (numpy's small matmul is slow)."""
    d = X.shape[-1]
    if np.array_equal(A, np.eye(d)):
        return X + b if np.any(b) else X
    out = np.empty_like(X)
    for k in range(d):
        acc = A[k, 0] * X[..., 0]
        for j in range(1, d):
            acc = acc + A[k, j] * X[..., j]
        out[..., k] = acc
    return out + b


def _gl01(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1), 0.5 * w
