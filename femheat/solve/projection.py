"""L² projection of initial and reference fields onto the discrete spaces.

scikit-fem's ``basis.project`` solves the mass system with a general sparse LU
(seconds for a 10⁵-DOF DG space whose mass matrix is block diagonal); here the
same mass matrix and load go to :func:`~femheat.solve.factorization.factorize`
(symmetric positive definite: CHOLMOD, or SuperLU's symmetric mode).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import skfem

from ..element.spaces import inner_points
from .factorization import factorize

__all__ = ["l2_project"]


def l2_project(basis: skfem.CellBasis, interp: Any) -> np.ndarray:
    """DOFs of the L² projection of ``interp`` onto ``basis``: find u_h with
    ∫ u_h·v dx = ∫ f·v dx for every v of the space.

    ``interp`` is what ``basis.project`` accepts: a callable of the global
    coordinates x (shape (d, ...)) or values at the quadrature points. A callable is
    evaluated at :func:`~femheat.element.spaces.inner_points` (points on a cell's faces
    nudged inside it, so a field given piecewise by coordinates takes the cell's side).
    """
    if callable(interp):
        x = inner_points(basis)
        values = np.asarray(interp(x), dtype=float)
        interp = np.broadcast_to(values, x.shape[1:]) if values.ndim == 0 else values
    M, f = basis._projection(interp)
    return factorize(M, symmetric=True)(f)
