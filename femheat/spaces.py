"""Finite-element spaces of the mixed method: Raviart–Thomas flux, DG temperature.

scikit-fem 12 names the lowest-order Raviart–Thomas element ``ElementTriRT1`` /
``ElementTetRT1`` (RT0 in most texts). The stable pairs used here are

======  =========  ==================  =================  =====================
degree  cell       flux q              temperature T      L² error of T and q
======  =========  ==================  =================  =====================
0       triangle   ``ElementTriRT1``   ``ElementTriP0``   O(h)
1       triangle   ``ElementTriRT2``   ``ElementTriP1DG`` O(h²)
0       tetra      ``ElementTetRT1``   ``ElementTetP0``   O(h)
======  =========  ==================  =================  =====================

scikit-fem has no higher-order H(div) tetrahedron yet, so 3D runs use degree 0.
"""

from __future__ import annotations

import skfem

from .errors import FemheatInputError

__all__ = ["mixed_elements", "quadrature_order"]


def mixed_elements(mesh: skfem.Mesh, degree: int) -> tuple[skfem.Element, skfem.Element]:
    """The (flux, temperature) element pair for ``mesh`` and polynomial ``degree``."""
    if isinstance(mesh, skfem.MeshTri1):
        pairs = {0: (skfem.ElementTriRT1, skfem.ElementTriP0),
                 1: (skfem.ElementTriRT2, skfem.ElementTriP1DG)}
    elif isinstance(mesh, skfem.MeshTet1):
        pairs = {0: (skfem.ElementTetRT1, skfem.ElementTetP0)}
    else:
        raise FemheatInputError(
            f"unsupported mesh type {type(mesh).__name__}; use linear triangles or tetrahedra"
        )
    if degree not in pairs:
        raise FemheatInputError(
            f"degree = {degree!r} is not available on {type(mesh).__name__}; "
            f"choose one of {sorted(pairs)} (scikit-fem has no higher-order H(div) "
            "tetrahedron)" if isinstance(mesh, skfem.MeshTet1) else
            f"degree = {degree!r} is not available; choose one of {sorted(pairs)}"
        )
    flux, temp = pairs[degree]
    return flux(), temp()


def quadrature_order(degree: int) -> int:
    """Quadrature order: exact for the mass terms plus two orders for coefficients."""
    return 2 * (degree + 1) + 2
