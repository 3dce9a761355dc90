r"""Per-cell data of the nonlocal operator: P1 cell gradients, conductivity, region adapters.

:func:`cell_gradient` builds the sparse operator G with (G T)_K = ∇T on cell K
[m⁻¹] and the cell measures |K| [mᵈ]; :func:`_conductivity_per_cell` evaluates κ
[W m⁻¹ K⁻¹] at the cell centroids as symmetric positive-definite (d, d) tensors;
:func:`_as_regions` accepts a RegionMesh or a scikit-fem mesh (1D meshes get a
minimal stand-in). Used by :class:`~femheat.kernels.operator.NonlocalOperator`.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import scipy.sparse as sp
import skfem

from ..errors import FemheatInputError, RegionError
from ..mesh.regions import RegionMesh

__all__ = ["cell_gradient"]


# ---------------------------------------------------------------- gradient
def cell_gradient(mesh: skfem.Mesh) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse P1 cell-gradient operator and cell measures.

    Returns
    -------
    G
        CSR matrix of shape (d·ncells, nvertices); row k·ncells + K holds ∂T/∂x_k on
        cell K [m⁻¹] for the vertex values T.
    measure
        Cell measures |K| [mᵈ].
    """
    p, t = mesh.p, mesh.t
    d, n = p.shape[0], t.shape[1]
    J = np.stack([p[:, t[i + 1]] - p[:, t[0]] for i in range(d)], axis=1)  # (d, d, n): J[k, i] = x_k edge i
    Jn = np.moveaxis(J, -1, 0)  # (n, k, i)
    det = np.linalg.det(Jn)
    inv = np.linalg.inv(Jn)  # (n, i, k)
    # reference gradients of P1: φ0 = 1 − Σ ξ_i, φ_i = ξ_i
    ref = np.vstack([-np.ones(d), np.eye(d)])  # (d+1, i)
    grads = np.einsum("ai,nik->nak", ref, inv)  # (n, d+1, k) physical gradients
    rows = (np.arange(d)[:, None, None] * n + np.arange(n)[None, None, :])  # (k, 1, n)
    rows = np.broadcast_to(rows, (d, d + 1, n))
    cols = np.broadcast_to(t[None, :, :], (d, d + 1, n))
    vals = np.moveaxis(grads, (0, 1, 2), (2, 1, 0))  # (k, a, n)
    G = sp.csr_matrix((vals.ravel(), (rows.ravel(), cols.ravel())), shape=(d * n, p.shape[1]))
    return G, np.abs(det) / math.factorial(d)



# ---------------------------------------------------------------- conductivity
def _conductivity_per_cell(conductivity, regions: RegionMesh, centroids: np.ndarray) -> np.ndarray:
    """κ per cell, shape (ncells, d, d) [W m⁻¹ K⁻¹]."""
    d = centroids.shape[1]
    n = centroids.shape[0]

    def as_tensor(value, where: str, x: np.ndarray | None = None) -> np.ndarray:
        if hasattr(value, "conductivity"):
            value = value.conductivity
        if callable(value):
            if x is None:
                raise FemheatInputError(f"{where}: callable conductivity needs positions")
            try:
                v = np.asarray(value(x.T), dtype=float)
            except Exception as exc:  # noqa: BLE001 - user code
                raise FemheatInputError(f"{where}: calling the conductivity at cell centroids "
                                        f"(shape {x.T.shape}) failed: {exc}") from exc
            m = x.shape[0]
            if v.shape == (m,) or v.ndim == 0:
                v = np.broadcast_to(v, (m,))[:, None, None] * np.eye(d)
            elif v.shape == (d, d, m):
                v = np.moveaxis(v, -1, 0)
            else:
                raise FemheatInputError(
                    f"{where}: a conductivity callable must return shape ({m},) or ({d}, {d}, {m}) "
                    f"for x of shape {x.T.shape}, got {v.shape}")
        else:
            try:
                v = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise FemheatInputError(f"{where} must be a number, a {d}x{d} tensor or a callable, "
                                        f"got {value!r}") from None
            if v.ndim == 0:
                v = v * np.eye(d)
            if v.shape != (d, d):
                raise FemheatInputError(f"{where} must be a scalar or a {d}x{d} tensor, got shape {v.shape}")
            v = v[None]
        if not np.all(np.isfinite(v)):
            raise FemheatInputError(f"{where} contains NaN or infinite values")
        if np.max(np.abs(v - np.swapaxes(v, 1, 2))) > 1e-12 * max(np.max(np.abs(v)), 1e-300):
            raise FemheatInputError(
                f"{where} must be a symmetric tensor for the kernel law (Z = κ^1/2 g κ^1/2); "
                "an antisymmetric (Hall) part is not supported here")
        eig = np.linalg.eigvalsh(v)
        if np.any(eig[:, 0] <= 0):
            raise FemheatInputError(
                f"{where} must be positive definite (> 0 W/(m K)), smallest eigenvalue "
                f"{eig[:, 0].min():.6g}")
        return v

    if isinstance(conductivity, Mapping):
        names = list(regions.subdomains)
        unknown = [k for k in conductivity if k not in regions.subdomains]
        if unknown:
            raise RegionError(
                f"conductivity given for unknown subdomain {unknown[0]!r}; the mesh has "
                f"subdomains: {', '.join(repr(s) for s in names)}")
        missing = [s for s in names if s not in conductivity]
        if missing:
            raise RegionError(
                f"conductivity: no value for subdomain {missing[0]!r}; give one for each of "
                f"{', '.join(repr(s) for s in names)}")
        out = np.empty((n, d, d))
        for name, value in conductivity.items():
            cells = regions.subdomains[name]
            out[cells] = as_tensor(value, f"conductivity[{name!r}]", centroids[cells])
        return out
    return np.broadcast_to(as_tensor(conductivity, "conductivity", centroids), (n, d, d)).copy()


def _as_regions(regions) -> RegionMesh:
    if isinstance(regions, RegionMesh):
        return regions
    if isinstance(regions, skfem.Mesh):
        if regions.p.shape[0] == 1:
            return _LineRegions(regions)
        return RegionMesh.from_skfem(regions)
    raise FemheatInputError(f"regions must be a femheat RegionMesh or a scikit-fem mesh, got {type(regions).__name__}")


class _LineRegions:
    """Minimal RegionMesh stand-in for 1D meshes (one subdomain ``"domain"``)."""

    def __init__(self, mesh: skfem.Mesh):
        self.mesh = mesh
        self.subdomains = {"domain": np.arange(mesh.t.shape[1])}
        self.boundaries = {"left": np.array([int(np.argmin(mesh.p[0]))]),
                           "right": np.array([int(np.argmax(mesh.p[0]))])}
        self.dim = 1

    def boundary(self, name):
        if name not in self.boundaries:
            raise RegionError(f"unknown boundary {name!r}; the mesh has boundaries: 'left', 'right'")
        return self.boundaries[name]
