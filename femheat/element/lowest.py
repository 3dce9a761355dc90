"""The lowest-order pair RT0 × P0 with cell-constant fields stored once per cell.

scikit-fem keeps, in every basis, each local function's divergence (RT0) and gradient
(P0) at every quadrature point: (cells, points) arrays whose values are one number per
cell on affine meshes (RT0: ∇·φ = ∇̂·φ̂ / det DF, P0: ∇φ = 0). These subclasses keep that
number per cell and hand out read-only broadcast views of the same shape, so forms
see the same arrays; the values are equal to the last bit. At 500 000 triangles (six
points per cell) that is 60 MB for RT0 and 48 MB for P0 resident for a whole run
(``benchmarks/bench_mcv_assembly.py``: peak memory against FEniCSx).

Non-affine mappings (curved cells) keep scikit-fem's full arrays.
"""

from __future__ import annotations

import numpy as np
import skfem
from skfem.mapping import MappingAffine

__all__ = ["ElementTetP0", "ElementTetRT0", "ElementTriP0", "ElementTriRT0"]


def _per_cell(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (..., cells, points) built from its first point."""
    return np.broadcast_to(np.ascontiguousarray(array[..., :1]), array.shape)


class _ConstantDivergence:
    """RT0: ∇·φ is constant on an affine cell."""

    def gbasis(self, mapping, X, i, tind=None):
        (field,) = super().gbasis(mapping, X, i, tind)
        if isinstance(mapping, MappingAffine):
            field.div = _per_cell(field.div)
        return (field,)


class _ZeroGradient:
    """P0: ∇φ = 0."""

    def gbasis(self, mapping, X, i, tind=None):
        (field,) = super().gbasis(mapping, X, i, tind)
        field.grad = np.broadcast_to(np.zeros((1,) * field.grad.ndim), field.grad.shape)
        return (field,)


class ElementTriRT0(_ConstantDivergence, skfem.ElementTriRT1):
    """Lowest-order Raviart–Thomas triangle (scikit-fem's ``ElementTriRT1``)."""


class ElementTetRT0(_ConstantDivergence, skfem.ElementTetRT1):
    """Lowest-order Raviart–Thomas tetrahedron (scikit-fem's ``ElementTetRT1``)."""


class ElementTriP0(_ZeroGradient, skfem.ElementTriP0):
    """Piecewise constants on triangles."""


class ElementTetP0(_ZeroGradient, skfem.ElementTetP0):
    """Piecewise constants on tetrahedra."""
