r"""Finite elements that scikit-fem does not ship yet.

:class:`ElementTetRT2` -- the Raviart–Thomas element of order 1 on tetrahedra
(RT₁ in most texts; scikit-fem's naming counts it as RT2, like ``ElementTriRT2``)::

    RT₁(K) = P₁(K)³ + x P̃₁(K),    dim = 15

with degrees of freedom

* on each face F, the normal-flux moments ∫_F q·n λ_v ds against the three
  barycentric functions λ_v of the face's vertices (12 DOFs), and
* the interior moments ∫_K q dx (3 DOFs).

Paired with discontinuous P1 temperature it gives O(h²) in T and q, the 3D
counterpart of ``ElementTriRT2`` × ``ElementTriP1DG``.

The basis is built once by inverting the 15 × 15 matrix of these functionals on
a monomial basis of RT₁, so it is exact by construction. Conformity: the face
DOFs are ordered by the *global* vertex numbers of the face (scikit-fem does not
sort tetrahedra, so two neighbours may see a face's vertices in different local
orders), and the sign of n follows scikit-fem's ``ElementHdiv`` convention
(outward from the face's first element).
"""

from __future__ import annotations

import numpy as np
from skfem.element.discrete_field import DiscreteField
from skfem.element.element_hdiv import ElementHdiv
from skfem.quadrature import get_quadrature
from skfem.refdom import RefTet, RefTri

__all__ = ["ElementTetRT2"]


def _monomials(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 15 spanning functions of RT₁ at points X: values (15, 3, ...) and divergences (15, ...)."""
    x, y, z = X
    one, zero = np.ones_like(x), np.zeros_like(x)
    scal = [one, x, y, z]
    dscal = [(zero, zero, zero), (one, zero, zero), (zero, one, zero), (zero, zero, one)]
    vals, divs = [], []
    for c in range(3):
        for m, dm in zip(scal, dscal):
            v = [zero, zero, zero]
            v[c] = m
            vals.append(v)
            divs.append(dm[c])
    for m in (x, y, z):  # x m: div = 3m + x·∇m = 4m
        vals.append([x * m, y * m, z * m])
        divs.append(4 * m)
    return np.array(vals), np.array(divs)


def _dof_matrix() -> np.ndarray:
    """D[i, k] = i-th DOF functional applied to the k-th monomial."""
    D = np.zeros((15, 15))
    Xt, Wt = get_quadrature(RefTri, 4)
    s, t = Xt
    lam = np.array([1 - s - t, s, t])
    P = RefTet.p
    for ix, face in enumerate(RefTet.facets):
        a, b, c = (P[:, v] for v in face)
        pts = a[:, None] + np.outer(b - a, s) + np.outer(c - a, t)
        area2 = np.linalg.norm(np.cross(b - a, c - a))  # Jacobian of the face map
        n = RefTet.normals[ix] / np.linalg.norm(RefTet.normals[ix])
        vals, _ = _monomials(pts)
        flux = np.einsum("kcq,c->kq", vals, n)
        for p in range(3):
            D[3 * ix + p] = (flux * lam[p] * Wt).sum(axis=1) * area2
    Xk, Wk = get_quadrature(RefTet, 4)
    vals, _ = _monomials(Xk)
    for c in range(3):
        D[12 + c] = (vals[:, c] * Wk).sum(axis=1)
    return D


class ElementTetRT2(ElementHdiv):
    """Raviart–Thomas element of order 1 on tetrahedra (15 DOFs), H(div)-conforming."""

    facet_dofs = 3
    interior_dofs = 3
    maxdeg = 2
    dofnames = ["u^n", "u^n", "u^n", "NA", "NA", "NA"]
    refdom = RefTet
    doflocs = np.array(
        [(RefTet.p[:, f].mean(axis=1) + RefTet.p[:, f[p]]) / 2
         for f in RefTet.facets for p in range(3)]
        + [[0.25, 0.25, 0.25]] * 3)
    _coefficients = np.linalg.inv(_dof_matrix())  # columns: basis in the monomials

    def lbasis(self, X, i):
        """Reference basis with face DOFs in *local* vertex order (see :meth:`gbasis`)."""
        if not 0 <= i < 15:
            self._index_error()
        vals, divs = _monomials(X)
        c = self._coefficients[:, i]
        return np.tensordot(c, vals, axes=1), np.tensordot(c, divs, axes=1)

    def gbasis(self, mapping, X, i, tind=None):
        """Contravariant Piola map; face DOFs follow the global vertex order of the face."""
        if tind is None:
            tind = slice(None)
        if i < 12:
            ix, j = divmod(i, 3)
            face = np.asarray(RefTet.facets[ix])
            glob = mapping.mesh.t[face][:, tind]  # (3, nel)
            pick = np.argsort(glob, axis=0)[j]  # local position of the j-th global vertex
            cand = [self.lbasis(X, 3 * ix + p) for p in range(3)]
            nel = pick.size
            if X.ndim == 2:
                phis = np.stack([np.broadcast_to(c[0][:, None, :], (3, nel, X.shape[1]))
                                 for c in cand])
                dphis = np.stack([np.broadcast_to(c[1][None, :], (nel, X.shape[1]))
                                  for c in cand])
            else:
                phis = np.stack([c[0] for c in cand])
                dphis = np.stack([c[1] for c in cand])
            k = np.arange(nel)
            phi = phis[pick, :, k].transpose(1, 0, 2)  # (3, nel, npts)
            dphi = dphis[pick, k]
        else:
            phi, dphi = self.lbasis(X, i)
            if X.ndim == 2:
                nel = mapping.mesh.t[:, tind].shape[1]
                phi = np.broadcast_to(phi[:, None, :], (3, nel, X.shape[1]))
                dphi = np.broadcast_to(dphi[None, :], (nel, X.shape[1]))
        DF = mapping.DF(X, tind)
        detDF = mapping.detDF(X, tind)
        orient = self.orient(mapping, i, tind)
        scale = 1.0 / np.abs(detDF) * orient[:, None]
        return (DiscreteField(value=np.einsum("ijkl,jkl,kl->ikl", DF, phi, scale),
                              div=dphi * scale),)
