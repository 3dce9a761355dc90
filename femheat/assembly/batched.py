r"""Batched assembly of the viscous (Guyer–Krumhansl) flux operators.

scikit-fem assembles a bilinear form once per pair of local basis functions, so
each function's gradient and normal derivative is recomputed for every partner
(144 passes over the mesh for 3D BDM1). Here every local function's factors are
formed once and each cell's (facet's) local matrix comes from one batched matrix
product, in chunks of cells (facets) of at most ``chunk_entries`` local entries,
which bounds the transient memory. The forms of :mod:`femheat.assembly.forms`
(:func:`~femheat.assembly.forms.flux_viscosity`,
:func:`~femheat.assembly.forms.flux_grad_div`,
:func:`~femheat.assembly.forms.interior_penalty`) stay the definition: the matrices
here equal theirs to round-off (``tests/test_gk_assembly.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["cell_viscosity_matrix", "interior_penalty_matrix"]


def _times(nu, u):
    """ν acting on the component index of a stack u (m, d, ..., n, q)."""
    if np.ndim(nu) <= 2:
        return nu * u
    return np.einsum("ij...,mj...->mi...", nu, u)


def _per_entity(u: np.ndarray, axis: int) -> np.ndarray:
    """(m, ..., n, ...) -> (n, m, rest): one row per local function, per cell/facet n."""
    return np.ascontiguousarray(np.moveaxis(u, axis, 0)).reshape(u.shape[axis], u.shape[0], -1)


def _append(K: np.ndarray, dofs: np.ndarray, rows: list, cols: list, vals: list) -> None:
    """Queue the local matrices K (n, m, m) of entities with DOFs ``dofs`` (m, n)."""
    d = dofs.T
    rows.append(np.broadcast_to(d[:, :, None], K.shape).ravel())
    cols.append(np.broadcast_to(d[:, None, :], K.shape).ravel())
    vals.append(K.ravel())


def _to_csr(rows: list, cols: list, vals: list, N: int) -> sp.csr_matrix:
    if not vals:
        return sp.csr_matrix((N, N))
    return sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(N, N)).tocsr()


def cell_viscosity_matrix(basis, nu, nu_div=None, chunk_entries: int = 1_000_000
                          ) -> sp.csr_matrix:
    r"""Σ_K (ν∇q, ∇v)_K + (ν_div ∇·q, ∇·v): the matrices of
    :func:`~femheat.assembly.forms.flux_viscosity` (``nu``) plus
    :func:`~femheat.assembly.forms.flux_grad_div` (``nu_div``, optional) on the cell
    basis ``basis`` of an element with gradients (:mod:`femheat.element.hdiv`),

    K_ij = Σ_q dx [ (ν ∇φ_j) : ∇φ_i + ν_div ∇·φ_j ∇·φ_i ],

    ν a scalar field (cells, points) or a tensor field (d, d, cells, points) acting on
    the flux components, ν_div a scalar field (Cartesian measure dx only).
    """
    dx = basis.dx
    nloc, nel = basis.Nbfun, dx.shape[0]
    step = max(1, chunk_entries // (nloc * nloc))
    dofs = basis.element_dofs
    rows, cols, vals = [], [], []
    for a in range(0, nel, step):
        c = slice(a, min(a + step, nel))
        w = dx[c]
        grad = np.stack([basis.basis[i][0].grad[:, :, c] for i in range(nloc)])  # (m,d,d,n,q)
        nu_c = nu if np.ndim(nu) == 0 else nu[..., c, :]
        test = _per_entity(grad, 3)
        K = _per_entity(_times(nu_c, grad) * w, 3) @ test.transpose(0, 2, 1)
        if nu_div is not None:
            div = np.stack([basis.basis[i][0].div[c] for i in range(nloc)])  # (m, n, q)
            nd = nu_div if np.ndim(nu_div) == 0 else nu_div[c]
            dtest = _per_entity(div, 1)
            K += _per_entity(div * (nd * w), 1) @ dtest.transpose(0, 2, 1)
        # K[n, j(trial), i(test)] -> the matrix row is the test function
        _append(np.ascontiguousarray(K.transpose(0, 2, 1)), dofs[:, c], rows, cols, vals)
    return _to_csr(rows, cols, vals, basis.N)


def interior_penalty_matrix(fbs, nu0: np.ndarray, nu1: np.ndarray, nu_max: np.ndarray,
                            sigma: np.ndarray, measure: np.ndarray | None = None,
                            chunk_entries: int = 1_000_000) -> sp.csr_matrix:
    """The matrix of :func:`~femheat.assembly.forms.interior_penalty` on the two sides
    ``fbs`` = [InteriorFacetBasis(side=0), InteriorFacetBasis(side=1)], equal to
    ``skfem.asm(interior_penalty, fbs, fbs, nu0=, nu1=, nu_max=, sigma=)``.

    scikit-fem evaluates a form once per pair of local basis functions, recomputing
    each one's normal derivative for every partner (144 passes over all facets for
    BDM1 in 2D); here every local function's jump J, ν(∇u)n and νᵀ(∇u)n is formed
    once and all pairs come from two batched matrix products per facet,
    K_ij = Σ_q dx [σ ν_max J_j·J_i − ½ ν(∇u_j)n·J_i − ½ νᵀ(∇u_i)n·J_j],
    over chunks of facets of at most ``chunk_entries`` local entries. ``measure`` (facet
    points, optional) multiplies dx: 2πr for the (r, z) form of
    :mod:`femheat.assembly.axisymmetric`, which is the Cartesian form times 2πr.
    """
    n, dx = fbs[0].normals, fbs[0].dx
    if measure is not None:
        dx = dx * measure
    nloc = sum(fb.Nbfun for fb in fbs)
    nf = dx.shape[0]
    step = max(1, chunk_entries // (nloc * nloc))
    dofs = np.concatenate([fb.element_dofs for fb in fbs])  # (nloc, nf)

    rows, cols, vals = [], [], []
    for a in range(0, nf, step):
        f = slice(a, min(a + step, nf))
        jump, a_term, b_term = [], [], []
        for side, fb in enumerate(fbs):
            nu = (nu0 if side == 0 else nu1)
            nu = nu[..., f, :]
            u = np.stack([fb.basis[i][0].value[:, f] for i in range(fb.Nbfun)])
            du = np.stack([np.einsum("ijfq,jfq->ifq", fb.basis[i][0].grad[:, :, f], n[:, f])
                           for i in range(fb.Nbfun)])  # (∇u) n
            jump.append(u if side == 0 else -u)
            a_term.append(_times(nu, du))
            b_term.append(_times(nu if np.ndim(nu) <= 2 else np.swapaxes(nu, 0, 1), du))
        J, A, Bt = (np.concatenate(x) for x in (jump, a_term, b_term))
        w = dx[f]
        X = sigma[f] * _times(nu_max[..., f, :], J) - 0.5 * A  # trial-side factors

        Jw = _per_entity(J * w, 2)
        K = Jw @ _per_entity(X, 2).transpose(0, 2, 1) \
            - 0.5 * (_per_entity(Bt, 2) @ Jw.transpose(0, 2, 1))
        _append(K, dofs[:, f], rows, cols, vals)
    return _to_csr(rows, cols, vals, fbs[0].N)
