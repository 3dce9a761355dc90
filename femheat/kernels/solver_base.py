r"""Shared pieces of the nonlocal solvers (:mod:`femheat.kernels.solvers`).

The errors :class:`IllPosedError` and :class:`IllConditionedWarning`; mesh scales,
the kernel and operator symbols σ_A(k)/κ = k²(ξ + (1−ξ)ĝ(k) + ε) over the mesh's
wavenumber band; the Tikhonov weight check; the load vector b_i = ∫Qφ_i [W]
(:func:`_load`) and the temperature (Dirichlet) conditions on named boundaries
or subdomains (:func:`_dirichlet`).
"""

from __future__ import annotations

import inspect
import math
from typing import Callable, Mapping, Optional, Union

import numpy as np
import scipy.sparse as sp
import skfem
from numpy.typing import ArrayLike

from ..assembly.forms import heat_source
from ..element.spaces import inner_points
from ..errors import FemheatInputError, RegionError
from ..validation import finite_array

__all__ = ["IllConditionedWarning", "IllPosedError"]

Source = Union[None, float, ArrayLike, Callable[..., np.ndarray]]
Value = Union[float, Callable[[np.ndarray], np.ndarray]]


class IllPosedError(FemheatInputError):
    """A steady nonlocal problem without a (numerically) stable solution.

    Raised for a first-kind integral equation -- pure smoothing kernel (ξ = 0)
    -- whose source is narrower than the kernel or whose mesh resolves modes the
    operator annihilates to round-off. The message names the reason and the fixes:
    a local fraction ξ > 0, a coarser mesh, a transient run, a wider source.
    """


class IllConditionedWarning(UserWarning):
    """A steady nonlocal problem that is solvable but amplifies fine-scale data."""


# =============================================================== small helpers
def _mesh(op):
    return op.basis.mesh


def _dim(op) -> int:
    return int(_mesh(op).p.shape[0])


def _unit_forms(basis: skfem.CellBasis) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Unit stiffness (∇u, ∇v) and consistent mass (u, v) on the P1 basis."""
    from skfem.models.poisson import laplace, mass

    return laplace.assemble(basis).tocsr(), mass.assemble(basis).tocsr()


def _mesh_scales(op) -> tuple[float, float]:
    """(h, diam): mean edge length and domain diameter [m] (periodic: the period)."""
    m = _mesh(op)
    p = m.p
    e = {1: m.t, 2: m.facets, 3: getattr(m, "edges", None)}[p.shape[0]]
    h = float(np.mean(np.linalg.norm(p[:, e[0]] - p[:, e[1]], axis=0)))
    diam = float(np.linalg.norm(p.max(axis=1) - p.min(axis=1)))
    return h, diam


def _symbol(op, k: np.ndarray) -> Optional[np.ndarray]:
    """ĝ(k) of the operator's kernel, or None where it cannot be evaluated.

    Every :class:`~femheat.kernels.functions.RadialKernel` has a symbol (closed form
    or numerical Hankel transform). A user callable's transform may fail or return
    non-finite values (e.g. a non-integrable tail); the symbol-based diagnostics
    (preconditioner choice, well-posedness estimate) are then skipped and the
    defaults used, which is documented in :func:`assess_well_posedness`.
    """
    try:
        s = np.asarray(op.kernel.symbol(np.asarray(k, dtype=float)), dtype=float)
    except (ValueError, FloatingPointError, OverflowError):
        return None
    return s if np.all(np.isfinite(s)) else None


def _local_fraction(op) -> float:
    return float(getattr(op, "local_fraction", 0.0))


def _operator_symbol(op, k: np.ndarray, eps: float = 0.0) -> Optional[np.ndarray]:
    """σ_A(k)/κ = k² (ξ + (1-ξ) ĝ(k) + ε), ε the Tikhonov regularization."""
    g = _symbol(op, k)
    if g is None:
        return None
    xi = _local_fraction(op)
    return k**2 * (xi + (1 - xi) * g + eps)


def _symbol_condition(ratio: np.ndarray) -> float:
    ratio = np.abs(ratio)
    lo = float(ratio.min())
    return math.inf if lo <= 0 else float(ratio.max()) / lo


def _regularization(value) -> float:
    """Validated Tikhonov weight ε ∈ [0, 0.1] (dimensionless, relative to κ)."""
    try:
        eps = float(value)
    except (TypeError, ValueError):
        raise FemheatInputError(f"regularization must be a number in [0, 0.1], got {value!r}") from None
    if not (0.0 <= eps <= 0.1):
        raise FemheatInputError(
            f"regularization = {value!r}; it is the dimensionless weight eps of the added "
            "eps*kappa*(grad T, grad w) and must lie in [0, 0.1] (1e-4 is typical: its bias "
            "on resolved modes is ~eps/g^(k))")
    return eps


def _band(op, n: int = 400) -> np.ndarray:
    """Wavenumbers [m⁻¹] from π/diam to the checkerboard mode π√d/h."""
    h, diam = _mesh_scales(op)
    return np.geomspace(math.pi / diam, math.pi * math.sqrt(_dim(op)) / h, n)


def _takes_time(fun: Callable) -> bool:
    try:
        params = [p for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2


#: Gauss order of the source quadrature (sources are often narrow Gaussians).
LOAD_INTORDER = 6


def _load(op, source: Source, t: float = 0.0) -> np.ndarray:
    """b_i = ∫ Q φ_i dV [W] for a constant, callable ``f(x)``/``f(x, t)``, nodal
    (length n) or cell (length ncells) source Q [W m⁻³]."""
    basis = op.basis
    if callable(source):
        basis = skfem.CellBasis(basis.mesh, basis.elem, intorder=LOAD_INTORDER)
    if source is None:
        return np.zeros(basis.N)
    if callable(source):
        x = inner_points(basis)  # points on the cells' faces nudged inside
        val = source(x, t) if _takes_time(source) else source(x)
        b = heat_source.assemble(basis, source=np.broadcast_to(val, x.shape[1:]))
    else:
        arr = finite_array(source, "source")
        ncells = _mesh(op).t.shape[1]
        if arr.ndim == 0:
            b = skfem.LinearForm(lambda v, w: float(arr) * v).assemble(basis)
        elif arr.shape == (basis.N,):
            _, M = _unit_forms(basis)
            b = M @ arr
        elif arr.shape == (ncells,):
            field_ = np.repeat(arr[:, None], basis.X.shape[-1], axis=1)
            b = skfem.LinearForm(lambda v, w: w.q * v).assemble(basis, q=field_)
        else:
            raise FemheatInputError(
                f"source has shape {arr.shape}; give a constant, a callable f(x), "
                f"{basis.N} nodal values or {ncells} cell values [W m^-3]")
    if not np.all(np.isfinite(b)):
        raise FemheatInputError("source produced non-finite values")
    return np.asarray(b, dtype=float)


def _region_dofs(op, name: str) -> np.ndarray:
    """P1 dofs of a named boundary (facet nodes) or subdomain (cell nodes)."""
    regions = getattr(op, "regions", None)
    if regions is None:
        raise FemheatInputError("the operator carries no named regions; cannot look up "
                                f"temperature region {name!r}")
    basis = op.basis
    if name in regions.boundaries:
        return np.unique(basis.get_dofs(regions.boundaries[name]).all())
    if name in regions.subdomains:
        return np.unique(basis.element_dofs[:, regions.subdomains[name]])
    known = ", ".join(repr(n) for n in list(regions.boundaries) + list(regions.subdomains))
    raise RegionError(f"unknown temperature region {name!r}; the mesh has boundaries and "
                      f"subdomains: {known or 'none'}")


def _dirichlet(op, temperature: Optional[Mapping[str, Value]]
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(dofs, values, owner dofs per name) of the temperature conditions.

    A node in several regions belongs to the first one listed (its reaction is
    reported there)."""
    if not temperature:
        return np.zeros(0, dtype=np.int64), np.zeros(0), {}
    basis = op.basis
    values = np.full(basis.N, np.nan)
    owners: dict[str, np.ndarray] = {}
    for name, value in temperature.items():
        dofs = _region_dofs(op, name)
        dofs = dofs[np.isnan(values[dofs])]
        if callable(value):
            x = basis.doflocs[:, dofs]
            v = np.broadcast_to(np.asarray(value(x), dtype=float), (dofs.size,))
        else:
            v = np.full(dofs.size, float(finite_array(value, f"temperature.{name}")))
        if not np.all(np.isfinite(v)):
            raise FemheatInputError(f"temperature.{name} produced non-finite values")
        values[dofs] = v
        owners[name] = dofs
    fixed = np.nonzero(~np.isnan(values))[0]
    return fixed, values[fixed], owners
