"""Linear solvers for the assembled mixed system: steady state and factorizations.

Direct sparse factorizations (SuperLU through SciPy) are used throughout. The
eliminated flux operator of the time stepper is symmetric positive definite for
symmetric κ; it is factorized with a symmetric minimum-degree ordering on
A + Aᵀ and SuperLU's symmetric mode, which on a 2D mesh is about as fast as a
Cholesky factorization. Non-symmetric (thermal Hall) operators and the
indefinite steady saddle-point system use the general LU path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .errors import BoundaryConditionError, SolverError
from .forms import heat_source
from .model import MixedSystem

__all__ = ["State", "factorize", "solve_steady", "consistent_flux"]

log = logging.getLogger(__name__)


@dataclass
class State:
    """Solution at one time: DOF vectors of the DG temperature and the RT flux.

    Attributes
    ----------
    time
        t [s] (0 for a steady solution).
    temperature
        Coefficients of T [K] in ``system.temperature_basis``.
    flux
        Coefficients of q [W m⁻²] in ``system.flux_basis``.
    """

    time: float
    temperature: np.ndarray
    flux: np.ndarray


def factorize(matrix: sp.spmatrix, symmetric: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Factorize once and return ``solve(b)``; raises :class:`SolverError` if singular."""
    K = sp.csc_matrix(matrix)
    try:
        if symmetric:
            lu = splu(K, permc_spec="MMD_AT_PLUS_A",
                      options=dict(SymmetricMode=True, DiagPivotThresh=0.0))
        else:
            lu = splu(K, permc_spec="COLAMD")
    except RuntimeError as exc:
        raise SolverError(f"sparse factorization failed ({exc}); the system is singular "
                          "-- check boundary conditions and material data") from exc

    def solve(b: np.ndarray) -> np.ndarray:
        x = lu.solve(np.asarray(b, dtype=float))
        if not np.all(np.isfinite(x)):
            raise SolverError("linear solve produced non-finite values; the system is "
                              "singular or badly scaled")
        return x

    return solve


def _saddle_point(system: MixedSystem, A_full: sp.spmatrix | None = None
                  ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Symmetrically scaled steady saddle-point matrix S K S and the scaling S.

    Unscaled, the flux block grows like 1/size relative to B in 3D, so on a
    nanometre mesh cond(K) reaches ~1e21 and the solution loses digits. With q
    scaled by diag(A)^(-1/2) and T by the inverse row norms of the scaled B, the
    condition number no longer depends on the length unit.
    """
    free, ess = system.free_dofs, system.essential_dofs
    A = (system.resistance if A_full is None else sp.csr_matrix(A_full))[free][:, free]
    B = system.divergence[:, free]
    dq = 1.0 / np.sqrt(np.abs(A.diagonal()))
    Bs = B @ sp.diags(dq)
    rows = np.sqrt(np.asarray(Bs.multiply(Bs).sum(axis=1)).ravel())
    dT = 1.0 / np.where(rows > 0, rows, 1.0)
    S = np.concatenate([dq, dT])
    K = sp.bmat([[A, -B.T], [-B, None]], format="csr")
    K = (sp.diags(S) @ K @ sp.diags(S)).tocsc()
    return K, free, ess, S


def solve_steady(system: MixedSystem, mean_temperature: float | None = None,
                 tol: float = 1e-10, max_iterations: int = 30) -> State:
    """Solve the steady problem A q + N(q) − Bᵀ T = f, B q = F (τ plays no role).

    N(q) = (b/a)κ⁻¹|q|²q is the Landau–Khalatnikov quartic term; when a material
    has one, Newton's method is used (``tol`` on the relative flux update,
    ``max_iterations``), starting from the linear solution, and the convergence
    history is kept on the returned state as ``state.newton``
    (:class:`NewtonReport`). Without it, one linear solve.

    Parameters
    ----------
    mean_temperature
        Only for problems whose boundaries all prescribe the heat flux: the
        volume-mean temperature [K] that fixes the otherwise free constant. The
        sources must then balance the boundary flux (∫Q dx = ∮ g ds); the
        imbalance is reported as :class:`~femheat.errors.BoundaryConditionError`.

    Raises
    ------
    BoundaryConditionError
        If no boundary fixes the temperature level and no ``mean_temperature``
        is given, or if a given ``mean_temperature`` meets unbalanced fluxes.
    SolverError
        If Newton's method does not converge in ``max_iterations``.
    """
    reference = system.problem.has_temperature_reference
    if not reference and mean_temperature is None:
        raise BoundaryConditionError(
            "steady problem with only heat-flux boundaries: the temperature is "
            "determined only up to a constant; give one boundary a temperature or "
            "convection condition, pass mean_temperature, or run a transient"
        )
    if reference and mean_temperature is not None:
        raise BoundaryConditionError(
            "mean_temperature is only for problems whose boundaries all prescribe the "
            "heat flux; here a boundary already fixes the temperature")
    state = _linear_steady(system, None, None, mean_temperature)
    if not np.any(system.fields.cubic > 0):
        return state
    from .nonlinear import newton_steady

    return newton_steady(system, state, mean_temperature, tol, max_iterations)


def _linear_steady(system: MixedSystem, A_full: sp.spmatrix | None,
                   extra_load: np.ndarray | None, mean_temperature: float | None) -> State:
    """One scaled saddle-point solve with flux block ``A_full`` (default A) and
    flux load f + ``extra_load``."""
    K, free, ess, S = _saddle_point(system, A_full)
    qd = system.essential_values(0.0)
    A = system.resistance if A_full is None else sp.csr_matrix(A_full)
    B = system.divergence
    f = system.flux_load(0.0) if extra_load is None else system.flux_load(0.0) + extra_load
    rhs_q = f[free] - A[free][:, ess] @ qd
    rhs_T = -system.heat_load(0.0) + B[:, ess] @ qd
    b = S * np.concatenate([rhs_q, rhs_T])
    if mean_temperature is not None:
        # Lagrange multiplier λ for ∫T dx = T̄ |Ω|; λ absorbs a flux imbalance
        tb = system.temperature_basis
        vol = heat_source.assemble(tb, source=np.ones(tb.dx.shape))  # ∫ s dx
        w = np.concatenate([np.zeros(free.size), S[free.size:] * vol])
        K = sp.bmat([[K, sp.csc_matrix(w[:, None])], [sp.csr_matrix(w[None, :]), None]],
                    format="csc")
        b = np.concatenate([b, [mean_temperature * vol.sum()]])
    solve = factorize(K, symmetric=False)
    y = solve(b)
    for _ in range(2):  # iterative refinement: the saddle point is indefinite
        y += solve(b - K @ y)
    if mean_temperature is not None:
        lam, y = y[-1], y[:-1]
        scale = float(np.abs(system.heat_load(0.0)).sum() + np.abs(B[:, ess] @ qd).sum())
        if abs(lam * vol.sum()) > 1e-8 * scale + 1e-300:
            imbalance = float(lam * vol.sum())
            raise BoundaryConditionError(
                f"sources and prescribed boundary fluxes do not balance (residual "
                f"{imbalance:.3e} W): with heat-flux conditions only, a steady state "
                "exists only if the heat put in equals the heat taken out")
    x = S * y
    q = np.zeros(system.n_flux)
    q[free] = x[: free.size]
    q[ess] = qd
    T = x[free.size:]
    return State(0.0, T, q)


def consistent_flux(system: MixedSystem, temperature: np.ndarray, t: float) -> np.ndarray:
    """Fourier flux of a temperature field: solve A q = Bᵀ T + f(t) with q·n prescribed.

    This is the flux that makes the constitutive equation hold exactly at time
    t; time stepping starts Fourier runs from it so that Crank–Nicolson does not
    carry an inconsistent initial flux along as a (−1)ⁿ oscillation.
    """
    free, ess = system.free_dofs, system.essential_dofs
    A, B = system.resistance, system.divergence
    qd = system.essential_values(t)
    rhs = (B.T @ temperature + system.flux_load(t))[free] - A[free][:, ess] @ qd
    q = np.zeros(system.n_flux)
    q[free] = factorize(A[free][:, free], system.symmetric)(rhs)
    q[ess] = qd
    return q
