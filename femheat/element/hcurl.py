r"""Nédélec (first kind) elements of order 2 and 3 on tetrahedra, for the 3D vorticity
form.

scikit-fem 12 has only the lowest-order Nédélec tetrahedron (``ElementTetN0``).
:class:`ElementTetN1Curl2` and :class:`ElementTetN1Curl3` are Nédélec's first-kind
spaces of degree k = 2 and 3,

.. math::

    R_k = P_{k-1}(K)^3 \oplus x \times \tilde P_{k-1}(K)^3 , \qquad
    \dim R_2 = 20, \quad \dim R_3 = 45,

(P̃ the homogeneous polynomials; x × (x f) = 0 for f ∈ P̃_{k−2} removes 1 resp. 3 of
the 9 resp. 18 products).
∇×R_k is the divergence-free part of P_{k−1}(K)³, so both complete exact sequences
with the fluxes of the vorticity form: P2 → R₂ → RT of order 1 or BDM1 (their
divergence-free parts are the same) and P3 → R₃ → BDM2 (or RT of order 2). Degrees of
freedom (Piola-invariant, no normalization):

* on each edge e = (a, b), k: ∫₀¹ u(x(s))·(x_b − x_a) p(s) ds for p = λ_a^{k−1−i}
  λ_b^i, i = 0 … k−1, the barycentric functions of a and b along the edge;
* on each face F = (a, b, c), k (k − 1): ∫_F̂ u·(x_b − x_a) p and ∫_F̂ u·(x_c − x_a) p
  over the face's parameter triangle (area ½), p = 1 (k = 2) or p = λ_a, λ_b, λ_c
  (k = 3);
* inside (k = 3), 3: ∫_K̂ û·ê_j, the reference components along the edges from vertex 0.

The reference basis is the inverse of the DOF matrix on a monomial basis of R_k, so it
is exact by construction. The covariant Piola map φ = J⁻ᵀφ̂, ∇×φ = J ∇̂×φ̂ / det J
keeps the functionals. Conformity: a global DOF uses the *global* vertex order of its
edge or face (scikit-fem does not sort tetrahedra, so neighbours may list an edge's or
face's vertices in different local orders). Per cell, the global functionals are
G = S L of the local ones L with S a signed permutation on edges ((a, b) reversed:
G_i = −L_{k−1−i}) and on faces S ⊗ P, S the integer 2 × 2 matrix of the global
tangents x_{g1} − x_{g0}, x_{g2} − x_{g0} written in the local ones and P the
permutation of the face's barycentric weights; the global basis is ψ = S⁻ᵀφ.
"""

from __future__ import annotations

import itertools

import numpy as np
from skfem.element.discrete_field import DiscreteField
from skfem.element.element_hcurl import ElementHcurl
from skfem.quadrature import get_quadrature
from skfem.refdom import RefTet, RefTri

from .hdiv import LastCallMemo

__all__ = ["ElementTetN1Curl2", "ElementTetN1Curl3"]


def _exponents(degree: int) -> list[tuple[int, int, int]]:
    """Exponents of the monomials of total degree ``degree`` in (x, y, z)."""
    return [e for e in itertools.product(range(degree + 1), repeat=3) if sum(e) == degree]


def _power(X: np.ndarray, e) -> np.ndarray:
    return X[0] ** e[0] * X[1] ** e[1] * X[2] ** e[2]


def _gradient(X: np.ndarray, e) -> list[np.ndarray]:
    """∇ of the monomial with exponents ``e``."""
    out = []
    for i in range(3):
        if e[i] == 0:
            out.append(np.zeros_like(X[0]))
        else:
            d = list(e)
            d[i] -= 1
            out.append(e[i] * _power(X, d))
    return out


def _candidates(X: np.ndarray, k: int) -> tuple[list, list]:
    """Values and curls (each a list of 3 arrays) of the fields m e_c (m of degree
    ≤ k − 1) and x × (m e_c) (m homogeneous of degree k − 1), a spanning set of R_k."""
    eye = np.eye(3)
    vals, curls = [], []
    for degree in range(k):
        for e in _exponents(degree):
            m, g = _power(X, e), _gradient(X, e)
            for c in range(3):  # m e_c: curl ∇m × e_c
                vals.append([m * eye[c, i] for i in range(3)])
                curls.append([g[(i + 1) % 3] * eye[c, (i + 2) % 3]
                              - g[(i + 2) % 3] * eye[c, (i + 1) % 3] for i in range(3)])
    for e in _exponents(k - 1):
        m, g = _power(X, e), _gradient(X, e)
        for c in range(3):
            q = [m * eye[c, i] for i in range(3)]
            vals.append([X[1] * q[2] - X[2] * q[1], X[2] * q[0] - X[0] * q[2],
                         X[0] * q[1] - X[1] * q[0]])
            # ∇×(x × q) = x ∇·q − q ∇·x + (q·∇)x − (x·∇)q = x ∂_c m − (k + 1) q
            curls.append([X[i] * g[c] - (k + 1) * q[i] for i in range(3)])
    return vals, curls


def _independent(k: int) -> np.ndarray:
    """Indices of a basis of R_k among :func:`_candidates` (greedy rank test)."""
    X = np.random.default_rng(0).random((3, 40))
    vals = np.array(_candidates(X, k)[0]).reshape(-1, 3 * X.shape[1])
    kept: list[int] = []
    for i in range(vals.shape[0]):
        if np.linalg.matrix_rank(vals[kept + [i]], tol=1e-9) == len(kept) + 1:
            kept.append(i)
    return np.array(kept)


def _face_weights(k: int, F: np.ndarray) -> list[np.ndarray]:
    """The face moments' weights p at the face parameter points ``F`` (2, nq)."""
    if k == 2:
        return [np.ones(F.shape[1])]
    return [1 - F[0] - F[1], F[0], F[1]]


def _face_transform(perm: np.ndarray) -> np.ndarray:
    """S (..., 2, 2) with G = S L for the face tangents in global order; ``perm`` (3, ...)
    the local positions (0 = a, 1 = b, 2 = c) of the global first, second, third."""
    F = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # "∫u·x_v" in the local DOFs
    g0, g1, g2 = F[perm[0]], F[perm[1]], F[perm[2]]
    return np.stack([g1 - g0, g2 - g0], axis=-2)


class _NedelecFirstKind(LastCallMemo, ElementHcurl):
    """Nédélec's first-kind tetrahedron of degree ``order`` (module doc)."""

    order = 2
    refdom = RefTet

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        k = cls.order
        if k not in (2, 3):  # the face weights and interior DOFs below are for k = 2, 3
            raise ValueError(f"first-kind Nédélec tetrahedra of order 2 and 3 only, got {k}")
        cls.edge_dofs, cls.facet_dofs = k, k * (k - 1)
        cls.interior_dofs = 3 if k == 3 else 0
        cls.maxdeg = k
        cls._n = 6 * cls.edge_dofs + 4 * cls.facet_dofs + cls.interior_dofs
        cls.dofnames = ["u^t"] * (cls.edge_dofs + cls.facet_dofs + cls.interior_dofs)
        cls.doflocs = np.array(
            [RefTet.p[:, e].mean(axis=1) for e in RefTet.edges for _ in range(k)]
            + [RefTet.p[:, f].mean(axis=1) for f in RefTet.facets
               for _ in range(cls.facet_dofs)]
            + [RefTet.p.mean(axis=1)] * cls.interior_dofs)
        cls._kept = _independent(k)
        cls._coefficients = np.linalg.inv(cls._dof_matrix())

    @classmethod
    def _monomials(cls, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values (n, 3, ...) and curls (n, 3, ...) of a basis of R_k at X (3, ...)."""
        vals, curls = _candidates(X, cls.order)
        return np.array(vals)[cls._kept], np.array(curls)[cls._kept]

    @classmethod
    def _dof_matrix(cls) -> np.ndarray:
        """D[i, m]: the i-th reference DOF functional (edges, faces, interior, in
        scikit-fem's local order) applied to the m-th monomial."""
        k, p = cls.order, RefTet.p
        D = np.zeros((cls._n, cls._n))
        s, ws = np.polynomial.legendre.leggauss(k + 3)
        s, ws = (s + 1) / 2, ws / 2  # Gauss–Legendre on [0, 1]
        for e, (a, b) in enumerate(RefTet.edges):
            t = p[:, b] - p[:, a]
            along = np.einsum("mcq,c->mq", cls._monomials(p[:, a][:, None] + t[:, None] * s)[0],
                              t)
            for i in range(k):
                D[k * e + i] = (along * (1 - s) ** (k - 1 - i) * s**i * ws).sum(axis=1)
        Xf, Wf = get_quadrature(RefTri, 2 * k + 2)  # the face parameter triangle, area ½
        nw = cls.facet_dofs // 2
        for f, (a, b, c) in enumerate(RefTet.facets):
            t1, t2 = p[:, b] - p[:, a], p[:, c] - p[:, a]
            vals = cls._monomials(p[:, a][:, None] + t1[:, None] * Xf[0]
                                  + t2[:, None] * Xf[1])[0]
            for j, t in enumerate((t1, t2)):
                along = np.einsum("mcq,c->mq", vals, t)
                for v, weight in enumerate(_face_weights(k, Xf)):
                    D[6 * k + cls.facet_dofs * f + nw * j + v] = (along * weight * Wf).sum(axis=1)
        if cls.interior_dofs:
            Xc, Wc = get_quadrature(RefTet, 2 * k)
            vals = cls._monomials(Xc)[0]
            for j in range(3):
                D[6 * k + 4 * cls.facet_dofs + j] = (vals[:, j] * Wc).sum(axis=1)
        return D

    def _reference_all(self, X):
        """Values (n, 3, ...) and curls (n, 3, ...) of the local reference basis
        (memoized per X while scikit-fem walks through the DOFs)."""
        def compute():
            vals, curls = self._monomials(X)
            C = self._coefficients.T  # basis j = Σ_m C[j, m] monomial m
            return np.tensordot(C, vals, axes=1), np.tensordot(C, curls, axes=1)
        return self._last("reference", (X,), compute)

    def lbasis(self, X, i):
        vals, curls = self._reference_all(X)
        return vals[i], curls[i]

    def _combination(self, mapping, i, tind) -> tuple[np.ndarray, np.ndarray]:
        """(local indices, weights (len, nel)): the global basis function i in each
        cell as Σ_j w_j φ_{idx_j}."""
        k = self.order
        t = mapping.mesh.t[:, tind]
        nel = t.shape[1]
        if i < 6 * k:
            e, m = divmod(i, k)
            a, b = RefTet.edges[e]
            reversed_ = t[a] > t[b]
            w = np.zeros((k, nel))
            w[m] += np.where(reversed_, 0.0, 1.0)
            w[k - 1 - m] -= np.where(reversed_, 1.0, 0.0)
            return k * e + np.arange(k), w
        if i >= 6 * k + 4 * self.facet_dofs:  # inside: not shared
            return np.array([i]), np.ones((1, nel))
        f, m = divmod(i - 6 * k, self.facet_dofs)
        face = RefTet.facets[f]
        perm = np.argsort(t[face], axis=0)  # (3, nel): local position of global order
        S = _face_transform(perm)  # (nel, 2, 2)
        if self.facet_dofs > 2:  # the weights λ_v permute with the vertices
            P = np.zeros((nel, 3, 3))
            P[np.arange(nel)[:, None], np.arange(3)[None], perm.T] = 1.0
            S = np.einsum("ekj,ewv->ekwjv", S, P).reshape(nel, 6, 6)
        Sinv = np.linalg.inv(S)  # ψ_m = Σ_j (S⁻¹)_{jm} φ_j
        start = 6 * k + self.facet_dofs * f
        return start + np.arange(self.facet_dofs), np.moveaxis(Sinv[:, :, m], 0, 1)

    def gbasis(self, mapping, X, i, tind=None):
        """Covariant Piola map of the global basis function i."""
        if not 0 <= i < self._n:
            self._index_error()
        cells = tind  # the caller's object (None or an array): the memo key
        if tind is None:
            tind = slice(None)
        idx, w = self._combination(mapping, i, tind)
        vals, curls = self._reference_all(X)
        if X.ndim == 2:  # the same points in every cell: (m, 3, nq) -> (3, nel, nq)
            phi = np.einsum("jcq,je->ceq", vals[idx], w)
            cphi = np.einsum("jcq,je->ceq", curls[idx], w)
        else:  # points per cell: (m, 3, nel, nq)
            phi = np.einsum("jceq,je->ceq", vals[idx], w)
            cphi = np.einsum("jceq,je->ceq", curls[idx], w)
        DF, invDF, detDF = self._last(
            "jacobians", (mapping, X, cells),
            lambda: (mapping.DF(X, tind), mapping.invDF(X, tind), mapping.detDF(X, tind)))
        field = DiscreteField(value=np.einsum("ijeq,ieq->jeq", invDF, phi),
                              curl=np.einsum("ijeq,jeq->ieq", DF, cphi) / detDF)
        if i == self._n - 1:  # scikit-fem asks for the DOFs in order: the last frees the memo
            self._forget()
        return (field,)


class ElementTetN1Curl2(_NedelecFirstKind):
    """Nédélec first kind, degree 2, on tetrahedra (20 DOFs: 2 per edge, 2 per face)."""

    order = 2


class ElementTetN1Curl3(_NedelecFirstKind):
    """Nédélec first kind, degree 3, on tetrahedra (45 DOFs: 3 per edge, 6 per face,
    3 inside)."""

    order = 3
