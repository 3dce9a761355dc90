r"""H(div) elements with gradients, for the Guyer–Krumhansl viscous term and 3D degree 1.

scikit-fem 12's H(div) elements provide value and divergence but no gradient,
and it has no higher-order tetrahedron. This module builds six elements from
one recipe, each providing value, divergence **and** the Piola-mapped gradient

.. math::

    \phi = \frac{1}{|\det J|} J \hat\phi, \qquad
    \nabla\phi = \frac{1}{|\det J|} J\, \hat\nabla\hat\phi\, J^{-1}

on affine cells:

=====================  =====  ==============================  ====  ===================
element                cell   space                           DOFs  pairs with
=====================  =====  ==============================  ====  ===================
``ElementTriBDM1G``    tri    P₁(K)²                          6     P0 (div ∈ P0)
``ElementTriRT2G``     tri    P₁(K)² + x P̃₁(K)                 8     P1 DG
``ElementTriBDM2G``    tri    P₂(K)²                          12    P1 DG (GK degree 1)
``ElementTetBDM1``     tet    P₁(K)³                          12    P0
``ElementTetRT2``      tet    P₁(K)³ + x P̃₁(K)                 15    P1 DG
``ElementTetBDM2``     tet    P₂(K)³                          30    P1 DG (GK degree 1)
=====================  =====  ==============================  ====  ===================

(scikit-fem counts Raviart–Thomas orders from 1, so the order-1 RT element is
"RT2", as ``ElementTriRT2``.) Degrees of freedom: on each facet F the normal-flux
moments ∫_F q·n ψ ds against the barycentric functions λ_v of the facet's
vertices (d per facet) and, for BDM2, the quadratic products (the edge bubble
λ₀λ₁ in 2D; in 3D the three λ_aλ_b, each labelled by the vertex it omits), which
together span P₂(F); in the interior, for RT the moments ∫_K q dx (d) and for
BDM2 the moments against the lowest-order Nédélec fields a + b × x (3 in 2D, 6
in 3D). The basis is the inverse of the DOF matrix on a monomial basis, so it is
exact by construction.

Conformity: facet DOFs are ordered by the *global* vertex numbers of the facet
(scikit-fem does not sort tetrahedra, so neighbours may see a facet's vertices
in different local orders; the 3D BDM2 products permute with the vertex they
omit), and the sign of n follows scikit-fem's
``ElementHdiv`` convention (outward from the facet's first cell).
"""

from __future__ import annotations

import numpy as np
from skfem.element.discrete_field import DiscreteField
from skfem.element.element_hdiv import ElementHdiv
from skfem.quadrature import get_quadrature
from skfem.refdom import RefTet, RefTri

__all__ = ["ElementTriBDM1G", "ElementTriRT2G", "ElementTriBDM2G", "ElementTetBDM1",
           "ElementTetRT2", "ElementTetBDM2", "HdivWithGradient", "LastCallMemo"]


def _scalars(X: np.ndarray, degree: int):
    """Monomials of degree ≤ ``degree`` (1 or 2) at X and their gradients (list of d arrays)."""
    d = X.shape[0]
    one, zero = np.ones_like(X[0]), np.zeros_like(X[0])
    vals = [one] + [X[i] for i in range(d)]
    grads = [[zero] * d] + [[one if j == i else zero for j in range(d)] for i in range(d)]
    if degree == 2:
        for i in range(d):
            for k in range(i, d):
                vals.append(X[i] * X[k])
                grads.append([(X[k] if j == i else zero) + (X[i] if j == k else zero)
                              for j in range(d)])
    return vals, grads


def _monomials(X: np.ndarray, space: str):
    """Spanning functions at points X: values (m, d, ...), divergences (m, ...), gradients (m, d, d, ...).

    ``space`` "bdm1": P₁(K)^d (for each component c the scalars 1, x_1..x_d);
    "rt1": P₁(K)^d and the fields x·x_p (p = 1..d), whose divergence is
    (d + 1) x_p; "bdm2": P₂(K)^d.
    """
    d = X.shape[0]
    zero = np.zeros_like(X[0])
    scalars, dscalars = _scalars(X, 2 if space == "bdm2" else 1)
    vals, divs, grads = [], [], []
    for c in range(d):
        for m, dm in zip(scalars, dscalars):
            vals.append([m if i == c else zero for i in range(d)])
            divs.append(dm[c])
            grads.append([[dm[j] if i == c else zero for j in range(d)] for i in range(d)])
    if space == "rt1":
        for p in range(d):
            vals.append([X[i] * X[p] for i in range(d)])
            divs.append((d + 1) * X[p])
            grads.append([[(X[p] if i == j else zero) + (X[i] if j == p else zero)
                           for j in range(d)] for i in range(d)])
    return np.array(vals), np.array(divs), np.array(grads)


def _facet_tests(lam: np.ndarray, space: str) -> list:
    """Test functions of the facet DOFs, from the barycentrics ``lam`` (d, nq) of the
    facet's vertices, in groups that permute with the facet's vertices.

    Always the d functions λ_p (group 0). BDM2 adds, in 2D, the edge bubble λ₀λ₁
    (symmetric, one function), in 3D the three products ∏_{q≠p} λ_q "opposite"
    vertex p (permuting like the vertices): together P₂(F).
    """
    d = lam.shape[0]
    tests = [lam[p] for p in range(d)]
    if space == "bdm2":
        if d == 2:
            tests.append(lam[0] * lam[1])
        else:
            tests += [np.prod([lam[q] for q in range(d) if q != p], axis=0) for p in range(d)]
    return tests


def _interior_tests(X: np.ndarray, space: str) -> list:
    """Vector test functions of the interior DOFs on the reference cell: the constants
    e_c (RT of order 1), or the lowest-order Nédélec field a + b × x (BDM2)."""
    d = X.shape[0]
    one, zero = np.ones_like(X[0]), np.zeros_like(X[0])
    tests = [[one if i == c else zero for i in range(d)] for c in range(d)]
    if space == "bdm2":
        if d == 2:
            tests.append([-X[1], X[0]])
        else:  # e_k × x
            tests += [[zero, -X[2], X[1]], [X[2], zero, -X[0]], [-X[1], X[0], zero]]
    return [np.array(t) for t in tests]


def _space_counts(d: int, space: str) -> tuple[int, int]:
    """DOFs per facet and per cell interior."""
    if space == "bdm1":
        return d, 0
    if space == "rt1":
        return d, d
    return (3, 3) if d == 2 else (6, 6)


def _dof_matrix(refdom, space: str) -> np.ndarray:
    """D[i, k]: i-th DOF functional applied to the k-th monomial."""
    d = refdom.p.shape[0]
    nfd, nid = _space_counts(d, space)
    n_mono = _monomials(refdom.p, space)[0].shape[0]
    D = np.zeros((n_mono, n_mono))
    Xf, Wf = get_quadrature(refdom.brefdom, 4)
    lam = np.vstack([1 - Xf.sum(axis=0), Xf])  # barycentrics of the facet's vertices
    tests = _facet_tests(lam, space)
    for ix, facet in enumerate(refdom.facets):
        corners = refdom.p[:, facet]  # (d, d)
        edges = corners[:, 1:] - corners[:, :1]
        pts = corners[:, :1] + edges @ Xf
        if d == 2:
            jac = np.linalg.norm(edges[:, 0])
        else:
            jac = np.linalg.norm(np.cross(edges[:, 0], edges[:, 1]))
        n = refdom.normals[ix] / np.linalg.norm(refdom.normals[ix])
        flux = np.einsum("kcq,c->kq", _monomials(pts, space)[0], n)
        for p, psi in enumerate(tests):
            D[nfd * ix + p] = (flux * psi * Wf).sum(axis=1) * jac
    if nid:
        Xk, Wk = get_quadrature(refdom, 4)
        vals = _monomials(Xk, space)[0]
        for c, psi in enumerate(_interior_tests(Xk, space)):
            D[nfd * refdom.nfacets + c] = (np.einsum("kcq,cq->kq", vals, psi) * Wk).sum(axis=1)
    return D


def _matmul_fields(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(A B)_ij = Σ_k A_ik B_kj for matrix fields (rows, columns, cells, points)."""
    out = np.empty((A.shape[0], B.shape[1]) + np.broadcast_shapes(A.shape[2:], B.shape[2:]))
    for a in range(A.shape[0]):
        for b in range(B.shape[1]):
            np.multiply(A[a, 0], B[0, b], out=out[a, b])
            for k in range(1, A.shape[1]):
                out[a, b] += A[a, k] * B[k, b]
    return out


class LastCallMemo:
    """A one-entry memo per name for elements whose global basis is asked for one
    local DOF at a time (scikit-fem's ``gbasis(mapping, X, i, tind)``): the reference
    arrays and the Jacobians are the same for every i."""

    def _last(self, name: str, key: tuple, compute):
        """A one-entry memo per ``name`` keyed by the *identity* of the objects in
        ``key`` (kept referenced, so their ids cannot be reused): scikit-fem calls
        :meth:`gbasis` once per local DOF with the same mapping, points and cells,
        and the monomials and the Jacobians are the same for every DOF. The memo is
        dropped after the last DOF (it holds arrays the size of the mesh)."""
        memo = self.__dict__.setdefault("_memo", {})
        hit = memo.get(name)
        if hit is not None and len(hit[0]) == len(key) and all(
                a is b for a, b in zip(hit[0], key)):
            return hit[1]
        value = compute()
        memo[name] = (key, value)
        return value

    def _forget(self) -> None:
        """Drop the memo (after the last DOF: it holds arrays the size of the mesh)."""
        self.__dict__.pop("_memo", None)


class HdivWithGradient(LastCallMemo, ElementHdiv):
    """An H(div) element whose global basis also carries its Piola-mapped gradient."""

    space: str = "bdm1"
    _coefficients: np.ndarray

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        d = cls.refdom.p.shape[0]
        nfd, nid = _space_counts(d, cls.space)
        cls.facet_dofs = nfd
        cls.interior_dofs = nid
        cls.maxdeg = 1 if cls.space == "bdm1" else 2
        cls.dofnames = ["u^n"] * nfd + ["NA"] * nid
        centre = cls.refdom.p.mean(axis=1)
        cls.doflocs = np.array(
            [(cls.refdom.p[:, f].mean(axis=1) + cls.refdom.p[:, f[p % d]]) / 2
             for f in cls.refdom.facets for p in range(nfd)] + [centre] * nid)
        cls._coefficients = np.linalg.inv(_dof_matrix(cls.refdom, cls.space))

    @property
    def _n(self) -> int:
        return self._coefficients.shape[0]

    def _reference_all(self, X):
        """Reference values (n, d, ...), divergences (n, ...) and gradients (n, d, d, ...)
        of all n local functions at X (one contraction of the monomials per array).
        BDM1 gradients are constant: they are given at the first point only."""
        def compute():
            coefficients = self._coefficients.T  # (n, m): function i = Σ_m c_mi monomial_m
            vals, divs, grads = _monomials(X, self.space)
            if self.space == "bdm1":
                grads = grads[..., :1]
            return tuple(np.tensordot(coefficients, a, axes=1) for a in (vals, divs, grads))
        return self._last("reference", (X,), compute)

    def _reference(self, X, i):
        if not 0 <= i < self._n:
            self._index_error()
        vals, divs, grads = self._reference_all(X)
        return vals[i], divs[i], grads[i]

    def lbasis(self, X, i):
        """Reference basis with facet DOFs in *local* vertex order (see :meth:`gbasis`)."""
        phi, dphi, _ = self._reference(X, i)
        return phi, dphi

    def gbasis(self, mapping, X, i, tind=None):
        """Contravariant Piola map of value, divergence and gradient."""
        if not 0 <= i < self._n:
            self._index_error()
        cells = tind  # the caller's object (None or an array): the memo key
        if tind is None:
            tind = slice(None)
        d = self.refdom.p.shape[0]
        nel = mapping.mesh.t[:, tind].shape[1]
        npts = X.shape[-1]
        vals, divs, grads = self._reference_all(X)

        nfd = self.facet_dofs
        ix, j = divmod(i, nfd)
        if i < nfd * self.refdom.nfacets and nfd - (j - j % d) >= d:
            # a DOF of a group of d that permutes with the facet's vertices: in each
            # cell the reference function of the local position of its global vertex
            first = nfd * ix + j - j % d
            glob = mapping.mesh.t[np.asarray(self.refdom.facets[ix])][:, tind]  # (d, nel)
            rows = first + np.argsort(glob, axis=0)[j % d]  # (nel,)
            if X.ndim == 2:  # the same reference points in every cell
                phi = np.moveaxis(vals[rows], 0, -2)
                dphi = divs[rows]
                gphi = np.moveaxis(grads[rows], 0, -2)
            else:  # reference points per cell (facet bases): X (d, nel, npts)
                k = np.arange(nel)
                phi = vals[rows, :, k].transpose(1, 0, 2)
                dphi = divs[rows, k]
                gphi = grads[rows, :, :, k].transpose(1, 2, 0, 3)
        else:  # a symmetric facet DOF (2D BDM2 edge bubble) or an interior DOF
            phi, dphi, gphi = vals[i], divs[i], grads[i]
            if X.ndim == 2:
                phi, dphi, gphi = (np.broadcast_to(r[..., None, :], r.shape[:-1] + (nel,)
                                                   + r.shape[-1:]) for r in (phi, dphi, gphi))
        DF, invDF, inv_det = self._last(
            "jacobians", (mapping, X, cells),
            lambda: (np.ascontiguousarray(mapping.DF(X, tind)),
                     np.ascontiguousarray(mapping.invDF(X, tind)),
                     1.0 / np.abs(mapping.detDF(X, tind))))
        orient = self.orient(mapping, i, tind)
        scale = inv_det * orient[:, None]
        # ∇φ = DF ∇̂φ̂ DF⁻¹ / |det DF| and φ = DF φ̂ / |det DF| (affine cells) as sums of
        # d x d products of C-ordered (cells, points) arrays (einsum on the strided views
        # left by the selection above is ~5x slower); a gradient given at one point
        # (BDM1: constant on the cell) is mapped there and broadcast to every point
        g = gphi.shape[-1]
        grad = _matmul_fields(_matmul_fields(DF[..., :g], np.multiply(
            gphi, scale[..., :g], order="C")), invDF[..., :g])
        grad = np.broadcast_to(grad, grad.shape[:-1] + (npts,))
        value = _matmul_fields(DF, np.multiply(phi, scale, order="C")[:, None])[:, 0]
        field = DiscreteField(value=value, div=dphi * scale, grad=grad)
        if i == self._n - 1:  # scikit-fem asks for the DOFs in order: the last one frees
            self._forget()
        return (field,)


class ElementTriBDM1G(HdivWithGradient):
    """Brezzi–Douglas–Marini BDM1 on triangles (6 DOFs), with gradients."""

    refdom = RefTri


class ElementTriRT2G(HdivWithGradient):
    """Raviart–Thomas of order 1 on triangles (8 DOFs), with gradients."""

    refdom = RefTri
    space = "rt1"


class ElementTriBDM2G(HdivWithGradient):
    """Brezzi–Douglas–Marini BDM2 on triangles (12 DOFs), with gradients."""

    refdom = RefTri
    space = "bdm2"


class ElementTetBDM1(HdivWithGradient):
    """Brezzi–Douglas–Marini BDM1 on tetrahedra (12 DOFs), with gradients."""

    refdom = RefTet


class ElementTetRT2(HdivWithGradient):
    """Raviart–Thomas of order 1 on tetrahedra (15 DOFs), with gradients."""

    refdom = RefTet
    space = "rt1"


class ElementTetBDM2(HdivWithGradient):
    """Brezzi–Douglas–Marini BDM2 on tetrahedra (30 DOFs), with gradients."""

    refdom = RefTet
    space = "bdm2"
