"""Finite-element spaces of the mixed method: Raviart–Thomas flux, DG temperature.

scikit-fem 12 names the lowest-order Raviart–Thomas element ``ElementTriRT1`` /
``ElementTetRT1`` (RT0 in most texts). The stable pairs used here are

======  =========  ==================  =================  =====================
degree  cell       flux q              temperature T      L² error of T and q
======  =========  ==================  =================  =====================
0       triangle   ``ElementTriRT1``   ``ElementTriP0``   O(h)
1       triangle   ``ElementTriRT2``   ``ElementTriP1DG`` O(h²)
0       tetra      ``ElementTetRT1``   ``ElementTetP0``   O(h)
1       tetra      ``ElementTetRT2``   P1 DG              O(h²)
======  =========  ==================  =================  =====================

``ElementTetRT2`` (RT of order 1 on tetrahedra) is femheat's own
(:mod:`femheat.element.hdiv`): scikit-fem 12 has no higher-order H(div) tetrahedron.
At degree 0 the elements are scikit-fem's, subclassed in :mod:`femheat.element.lowest`
to store the cell-constant RT0 divergence and P0 gradient once per cell.
"""

from __future__ import annotations

import numpy as np
import skfem
from skfem.refdom import RefTet, RefTri

from .hdiv import (ElementTetBDM1, ElementTetBDM2, ElementTetRT2, ElementTriBDM1G,
                   ElementTriBDM2G)
from .lowest import ElementTetP0, ElementTetRT0, ElementTriP0, ElementTriRT0
from ..errors import FemheatInputError

__all__ = ["mixed_elements", "gk_elements", "quadrature_order", "inner_points",
           "evaluation_points", "cell_side"]


def mixed_elements(mesh: skfem.Mesh, degree: int) -> tuple[skfem.Element, skfem.Element]:
    """The (flux, temperature) element pair for ``mesh`` and polynomial ``degree``."""
    if isinstance(mesh, skfem.MeshTri1):
        pairs = {0: (ElementTriRT0, ElementTriP0),
                 1: (skfem.ElementTriRT2, skfem.ElementTriP1DG)}
    elif isinstance(mesh, skfem.MeshTet1):
        pairs = {0: (ElementTetRT0, ElementTetP0),
                 1: (ElementTetRT2, lambda: skfem.ElementDG(skfem.ElementTetP1()))}
    else:
        raise FemheatInputError(
            f"unsupported mesh type {type(mesh).__name__}; use linear triangles or tetrahedra"
        )
    if degree not in pairs:
        raise FemheatInputError(
            f"degree = {degree!r} is not available; choose one of {sorted(pairs)}")
    flux, temp = pairs[degree]
    return flux(), temp()


def gk_elements(mesh: skfem.Mesh, degree: int) -> tuple[skfem.Element, skfem.Element, int]:
    """(flux, temperature) pair for the Guyer–Krumhansl model and the flux polynomial degree.

    The viscous term needs fluxes with gradients, and the temperature error of a
    Stokes-like (Brinkman) pair is bounded by ν times the flux's broken-H¹ error:
    a flux space whose complete polynomial degree is that of the temperature
    plus one (BDM_{k+1} × P_k) keeps the temperature at the Fourier model's order.

    ======  =========================  ===========  ============================
    degree  flux                       temperature  L² error (smooth solutions)
    ======  =========================  ===========  ============================
    0       BDM1 (complete P1)         P0           O(h) T, O(h²) q
    1       BDM2 (complete P2)         P1 DG        O(h²) T, O(h³) q
    ======  =========================  ===========  ============================

    both on triangles and tetrahedra, from :mod:`femheat.element.hdiv`. (Raviart–Thomas
    of order 1, complete P1 only, with P1 DG loses one order in T: O(νh), see
    :mod:`femheat.assembly.gk`.)
    """
    if isinstance(mesh, skfem.MeshTri1):
        pairs = {0: (ElementTriBDM1G, ElementTriP0, 1),
                 1: (ElementTriBDM2G, skfem.ElementTriP1DG, 2)}
    elif isinstance(mesh, skfem.MeshTet1):
        pairs = {0: (ElementTetBDM1, ElementTetP0, 1),
                 1: (ElementTetBDM2, lambda: skfem.ElementDG(skfem.ElementTetP1()), 2)}
    else:
        raise FemheatInputError(
            f"unsupported mesh type {type(mesh).__name__}; use linear triangles or tetrahedra")
    if degree not in pairs:
        raise FemheatInputError(
            f"degree = {degree!r} is not available for the gk model; choose 0 or 1")
    flux, temp, k = pairs[degree]
    return flux(), temp(), k


def quadrature_order(degree: int) -> int:
    """Quadrature order: exact for the mass terms plus two orders for coefficients."""
    return 2 * (degree + 1) + 2


#: how far :func:`inner_points` pulls quadrature points on a cell's boundary towards its
#: centroid, relative to the cell (reference coordinates)
INNER_NUDGE = 1e-9


def cell_side(mesh: skfem.Mesh, x: np.ndarray, cells: np.ndarray | None = None
              ) -> np.ndarray:
    """Points ``x`` (d, n, k) of the n ``cells`` (default all) pulled :data:`INNER_NUDGE`
    of the way to each cell's centroid, as :func:`inner_points` pulls quadrature points:
    a function of position at a cell's nodes from that cell's side (ν's nodal values in
    :mod:`femheat.assembly.vorticity_graded`, where a jump inside a material then shows
    as a spread between the cells at a node; a continuous function moves by ~1e-9 h|∇f|)."""
    cells = np.arange(mesh.t.shape[1]) if cells is None else cells
    centroid = mesh.p[:, mesh.t[:, cells]].mean(axis=1)[:, :, None]
    return x + INNER_NUDGE * (centroid - x)


def evaluation_points(basis: skfem.AbstractBasis) -> np.ndarray:
    """Where user functions of position are evaluated on ``basis``: :func:`inner_points`
    on a cell basis, the quadrature points themselves on a facet basis (scikit-fem's
    line and triangle rules have no points on the facets' boundaries)."""
    if isinstance(basis, skfem.CellBasis):
        return inner_points(basis)
    return basis.global_coordinates().value


def inner_points(basis: skfem.CellBasis) -> np.ndarray:
    """The global coordinates (d, cells, points) of ``basis``' quadrature points where
    user functions are evaluated (sources of the mixed models and of the kernel solvers,
    initial fields): points on a cell's boundary
    (scikit-fem's tetrahedral rules of order 5, 6 and 8 put some on the edges and faces)
    pulled towards the cell's centroid by :data:`INNER_NUDGE` of the cell, so that a
    function given piecewise by coordinates (``np.where(z > 0.5, Q, 0)``, a layer's
    source) takes this cell's side of its jump. On a film's face at z = 0.5 the faces'
    points took the other side's value: a 3D degree-1 assembly put 0.49699 / 0.49849 W
    of a 0.5 W source in at n = 4 / 8. Interior points are left as they are."""
    X = np.asarray(basis.X)
    if basis.mesh.refdom not in (RefTri, RefTet):  # simplices only
        return basis.global_coordinates().value
    barycentric = np.vstack([1.0 - X.sum(axis=0), X])
    on_boundary = barycentric.min(axis=0) < 1e-12
    if np.any(on_boundary):
        centroid = np.full((X.shape[0], 1), 1.0 / (X.shape[0] + 1))
        X = X.copy()
        X[:, on_boundary] += INNER_NUDGE * (centroid - X[:, on_boundary])
    return basis.mapping.F(X, tind=basis.tind)
