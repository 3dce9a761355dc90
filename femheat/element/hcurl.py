r"""The second-order Nédélec (first kind) element on tetrahedra, for the 3D vorticity
form at degree 1.

scikit-fem 12 has only the lowest-order Nédélec tetrahedron (``ElementTetN0``).
:class:`ElementTetN1Curl2` is Nédélec's first-kind space of degree 2,

.. math::

    R_2 = P_1(K)^3 \oplus x \times \tilde P_1(K)^3 , \qquad \dim R_2 = 20,

which completes the exact sequence P2 → R2 → RT (order 1, ``ElementTetRT2``) → P1 DG:
∇×R₂ is the divergence-free part of the order-1 Raviart–Thomas space. Degrees of
freedom (Piola-invariant, no normalization):

* on each edge e = (a, b), 2: ∫₀¹ u(x(s))·(x_b − x_a) λ(s) ds for λ the barycentric
  function of a and of b along the edge;
* on each face F = (a, b, c), 2: ∫_F̂ u·(x_b − x_a) and ∫_F̂ u·(x_c − x_a) over the
  face's parameter triangle (area ½).

The reference basis is the inverse of the DOF matrix on a monomial basis of R₂, so it
is exact by construction. The covariant Piola map φ = J⁻ᵀφ̂, ∇×φ = J ∇̂×φ̂ / det J
keeps the functionals. Conformity: a global DOF uses the *global* vertex order of its
edge or face (scikit-fem does not sort tetrahedra, so neighbours may list an edge's or
face's vertices in different local orders). Per cell, the global functionals are
G = S L of the local ones L with S a signed permutation on edges
((a, b) reversed: G₀ = −L₁, G₁ = −L₀) and an integer 2 × 2 matrix on faces (the
global tangents x_{g1} − x_{g0}, x_{g2} − x_{g0} written in the local ones), and the
global basis is ψ = S⁻ᵀφ.
"""

from __future__ import annotations

import numpy as np
from skfem.element.discrete_field import DiscreteField
from skfem.element.element_hcurl import ElementHcurl
from skfem.quadrature import get_quadrature
from skfem.refdom import RefTet, RefTri

from .hdiv import LastCallMemo

__all__ = ["ElementTetN1Curl2"]


def _monomials(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values (20, 3, ...) and curls (20, 3, ...) of a basis of R₂ at X (3, ...): the
    12 fields e_c, x_j e_c and 8 of the 9 fields x × (x_j e_k) (their sum over j = k
    is x × x = 0, so x × (z e_z) is left out)."""
    one, zero = np.ones_like(X[0]), np.zeros_like(X[0])
    eye = np.eye(3)
    vals, curls = [], []
    for c in range(3):  # e_c: curl 0
        vals.append([one * eye[c, i] for i in range(3)])
        curls.append([zero] * 3)
    for j in range(3):  # x_j e_c: curl = ∇x_j × e_c = e_j × e_c
        for c in range(3):
            vals.append([X[j] * eye[c, i] for i in range(3)])
            curls.append([one * v for v in np.cross(eye[j], eye[c])])
    for j in range(3):  # x × q, q = x_j e_k
        for k in range(3):
            if (j, k) == (2, 2):
                continue
            q = [X[j] * eye[k, i] for i in range(3)]
            vals.append([X[1] * q[2] - X[2] * q[1], X[2] * q[0] - X[0] * q[2],
                         X[0] * q[1] - X[1] * q[0]])
            # ∇×(x × q) = x ∇·q − q ∇·x + (q·∇)x − (x·∇)q = x δ_jk − 3q (q linear)
            curls.append([X[i] * eye[j, k] - 3 * q[i] for i in range(3)])
    return np.array(vals), np.array(curls)


def _dof_matrix() -> np.ndarray:
    """D[i, m]: the i-th reference DOF functional (edges, then faces, in scikit-fem's
    local order) applied to the m-th monomial."""
    p = RefTet.p
    D = np.zeros((20, 20))
    s, ws = np.polynomial.legendre.leggauss(4)
    s, ws = (s + 1) / 2, ws / 2  # Gauss–Legendre on [0, 1]
    for e, (a, b) in enumerate(RefTet.edges):
        t = p[:, b] - p[:, a]
        along = np.einsum("mcq,c->mq", _monomials(p[:, a][:, None] + t[:, None] * s)[0], t)
        for k, lam in enumerate((1 - s, s)):
            D[2 * e + k] = (along * lam * ws).sum(axis=1)
    Xf, Wf = get_quadrature(RefTri, 4)  # the face parameter triangle, area ½
    for f, (a, b, c) in enumerate(RefTet.facets):
        t1, t2 = p[:, b] - p[:, a], p[:, c] - p[:, a]
        vals = _monomials(p[:, a][:, None] + t1[:, None] * Xf[0] + t2[:, None] * Xf[1])[0]
        for k, t in enumerate((t1, t2)):
            D[12 + 2 * f + k] = (np.einsum("mcq,c->mq", vals, t) * Wf).sum(axis=1)
    return D


def _face_transform(perm: np.ndarray) -> np.ndarray:
    """S (..., 2, 2) with G = S L for the face tangents in global order; ``perm`` (3, ...)
    the local positions (0 = a, 1 = b, 2 = c) of the global first, second, third."""
    F = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # "∫u·x_v" in the local DOFs
    g0, g1, g2 = F[perm[0]], F[perm[1]], F[perm[2]]
    return np.stack([g1 - g0, g2 - g0], axis=-2)


class ElementTetN1Curl2(LastCallMemo, ElementHcurl):
    """Nédélec first kind, degree 2, on tetrahedra (20 DOFs: 2 per edge, 2 per face)."""

    edge_dofs = 2
    facet_dofs = 2
    interior_dofs = 0
    maxdeg = 2
    dofnames = ["u^t", "u^t", "u^t", "u^t"]
    refdom = RefTet
    doflocs = np.array(
        [RefTet.p[:, e].mean(axis=1) for e in RefTet.edges for _ in range(2)]
        + [RefTet.p[:, f].mean(axis=1) for f in RefTet.facets for _ in range(2)])
    _coefficients = np.linalg.inv(_dof_matrix())

    def _reference_all(self, X):
        """Values (20, 3, ...) and curls (20, 3, ...) of the local reference basis
        (memoized per X while scikit-fem walks through the 20 DOFs)."""
        def compute():
            vals, curls = _monomials(X)
            C = self._coefficients.T  # basis j = Σ_m C[j, m] monomial m
            return np.tensordot(C, vals, axes=1), np.tensordot(C, curls, axes=1)
        return self._last("reference", (X,), compute)

    def lbasis(self, X, i):
        vals, curls = self._reference_all(X)
        return vals[i], curls[i]

    def _combination(self, mapping, i, tind) -> tuple[np.ndarray, np.ndarray]:
        """(local indices (2,), weights (2, nel)): the global basis function i in each
        cell as Σ_j w_j φ_{idx_j}."""
        t = mapping.mesh.t[:, tind]
        nel = t.shape[1]
        if i < 12:
            e, k = divmod(i, 2)
            a, b = RefTet.edges[e]
            reversed_ = t[a] > t[b]
            w = np.zeros((2, nel))
            w[k] = np.where(reversed_, 0.0, 1.0)
            w[1 - k] = np.where(reversed_, -1.0, 0.0)
            return np.array([2 * e, 2 * e + 1]), w
        f, k = divmod(i - 12, 2)
        face = RefTet.facets[f]
        perm = np.argsort(t[face], axis=0)  # (3, nel): local position of global order
        S = _face_transform(perm)  # (nel, 2, 2)
        Sinv = np.linalg.inv(S)  # ψ_k = Σ_j (S⁻¹)_{jk} φ_j
        return np.array([12 + 2 * f, 12 + 2 * f + 1]), np.moveaxis(Sinv[:, :, k], 0, 1)

    def gbasis(self, mapping, X, i, tind=None):
        """Covariant Piola map of the global basis function i."""
        if not 0 <= i < 20:
            self._index_error()
        cells = tind  # the caller's object (None or an array): the memo key
        if tind is None:
            tind = slice(None)
        idx, w = self._combination(mapping, i, tind)
        vals, curls = self._reference_all(X)
        if X.ndim == 2:  # the same points in every cell: (2, 3, nq) -> (3, nel, nq)
            phi = np.einsum("jcq,je->ceq", vals[idx], w)
            cphi = np.einsum("jcq,je->ceq", curls[idx], w)
        else:  # points per cell: (2, 3, nel, nq)
            phi = np.einsum("jceq,je->ceq", vals[idx], w)
            cphi = np.einsum("jceq,je->ceq", curls[idx], w)
        DF, invDF, detDF = self._last(
            "jacobians", (mapping, X, cells),
            lambda: (mapping.DF(X, tind), mapping.invDF(X, tind), mapping.detDF(X, tind)))
        field = DiscreteField(value=np.einsum("ijeq,ieq->jeq", invDF, phi),
                              curl=np.einsum("ijeq,jeq->ieq", DF, cphi) / detDF)
        if i == 19:  # scikit-fem asks for the DOFs in order: the last one frees the memo
            self._forget()
        return (field,)
