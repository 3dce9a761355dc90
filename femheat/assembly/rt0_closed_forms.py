r"""Closed forms of RT0 × P1 on triangles, cell by cell, for the 2D vorticity form.

RT0 divergences and P1 gradients are constant on a triangle, so the coupling
C_ij = (ψ_j, curl φ_i) and the grad-div part need no quadrature
(:mod:`femheat.assembly.vorticity_axisymmetric`, the (r, z) degree-0 vorticity form). The
building blocks of its rotation-consistent vertex weights are here too
(:func:`rotation_facet_fluxes`, :func:`per_vertex_ratio`).
"""

from __future__ import annotations

import numpy as np
import skfem

__all__ = ["lumped_vertex_mass", "p1_gradients", "per_vertex_ratio", "rotation_facet_fluxes",
           "rt0_cell_data", "rt0_local_facets", "triangle_areas"]


def rt0_cell_data(qb: skfem.CellBasis) -> tuple[np.ndarray, np.ndarray]:
    """Per cell and local DOF j of RT0: ∫_K ψ_j dx (2, 3, n) [m] and ∇·ψ_j (3, n)
    [m⁻²], constant on the cell (orientation signs included)."""
    means = np.stack([(qb.basis[j][0].value * qb.dx).sum(axis=-1) for j in range(3)], axis=1)
    divs = np.stack([qb.basis[j][0].div[:, 0] for j in range(3)])
    return means, divs


def p1_gradients(mesh: skfem.Mesh) -> np.ndarray:
    """∇λ_i of the barycentric coordinates, shape (2, 3, n) [m⁻¹]."""
    p, t = mesh.p, mesh.t
    e1, e2 = p[:, t[1]] - p[:, t[0]], p[:, t[2]] - p[:, t[0]]
    det = e1[0] * e2[1] - e1[1] * e2[0]
    g1 = np.stack([e2[1], -e2[0]]) / det  # rows of J⁻ᵀ
    g2 = np.stack([-e1[1], e1[0]]) / det
    return np.stack([-(g1 + g2), g1, g2], axis=1)


def triangle_areas(mesh: skfem.MeshTri) -> np.ndarray:
    """|K| of every cell [m²]."""
    p, t = mesh.p, mesh.t
    e1, e2 = p[:, t[1]] - p[:, t[0]], p[:, t[2]] - p[:, t[0]]
    return 0.5 * np.abs(e1[0] * e2[1] - e1[1] * e2[0])


def lumped_vertex_mass(mesh: skfem.MeshTri, density: np.ndarray) -> np.ndarray:
    """The row-sum lumped P1 mass Σ_K |K| density_K / 3 per vertex (∫_K λ_i = |K|/3),
    ``density`` per cell (here ν⁻¹ [W K⁻¹ m⁻³])."""
    weight = triangle_areas(mesh) * density / 3.0
    return np.bincount(mesh.t.ravel(), np.tile(weight, 3), minlength=mesh.p.shape[1])


def per_vertex_ratio(mesh: skfem.MeshTri, row: np.ndarray) -> np.ndarray:
    """Σ_K row[i, K] / Σ_K 2|K|/3 per vertex (row: (3, cells), by local vertex)."""
    t, n = mesh.t, mesh.p.shape[1]
    numerator = np.bincount(t.ravel(), row.ravel(), n)
    denominator = np.bincount(t.ravel(), np.tile(2 * triangle_areas(mesh) / 3, 3), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / denominator


def rotation_facet_fluxes(mesh: skfem.MeshTri) -> np.ndarray:
    """flux[i, k, K] [m²]: the outward flux ∫_F R_i·n through the facet of cell K
    opposite its local vertex k, R_i(x) = J(x − x_i) the rotation about its local
    vertex i (exact with the facet midpoint: R_i is linear)."""
    p, t = mesh.p, mesh.t
    corners = p[:, t]  # (2, 3, n)
    mid = 0.5 * (corners[:, [1, 2, 0]] + corners[:, [2, 0, 1]])
    edge = corners[:, [2, 0, 1]] - corners[:, [1, 2, 0]]
    normal = np.stack([edge[1], -edge[0]])  # |F| n, outward below
    normal *= np.sign(((mid - corners) * normal).sum(axis=0))
    offset = mid[:, None] - corners[:, :, None]  # (2, i, k, n)
    return normal[0][None] * -offset[1] + normal[1][None] * offset[0]


def rt0_local_facets(qb: skfem.CellBasis) -> tuple[np.ndarray, np.ndarray]:
    """For each local RT0 basis function j of each cell: the local vertex k opposite
    its facet and the sign s with ψ_j = s (x − p_k)/(2|K|), so that its DOF of a field
    is s × the field's outward flux through that facet. Both (3, n), read from
    ∫_K ψ_j = s (x_K − p_k)/2."""
    means, _ = rt0_cell_data(qb)  # (2, 3, n)
    corners = qb.mesh.p[:, qb.mesh.t]
    arm = 0.5 * (corners.mean(axis=1)[:, None] - corners)  # (x_K − p_k)/2, (2, k, n)
    # |∫ψ_j ∓ arm_k| for each j, k and sign: zero for the one match (up to round-off)
    plus = np.linalg.norm(means[:, :, None] - arm[:, None], axis=0)  # (j, k, n)
    minus = np.linalg.norm(means[:, :, None] + arm[:, None], axis=0)
    best = np.minimum(plus, minus)
    opposite = best.argmin(axis=1)  # (j, n)
    pick = (lambda a: np.take_along_axis(a, opposite[:, None], axis=1)[:, 0])
    sign = np.where(pick(plus) <= pick(minus), 1.0, -1.0)
    return opposite, sign
