r"""Newton's method for the Landau–Khalatnikov quartic flux law (seed 000).

The steady flux equation gains N(q) = γ|q|²q, γ = (b/a)κ⁻¹, from the quartic
term b|q|⁴/4 of the Landau free energy:

.. math::

    A q + N(q) - B^T T = f, \qquad -B q = -F .

Each Newton iteration linearizes N about the iterate q₀,
N(q) ≈ N(q₀) + J(q₀)(q − q₀) with J(q₀)u = γ(|q₀|²u + 2(q₀·u)q₀), and solves the
linear saddle-point problem with flux block A + J(q₀) for the next iterate. The
Jacobian is exact, so convergence is quadratic near the solution; the report
keeps the relative update and the relative nonlinear residual of every
iteration. b = 0 gives N = 0: the linear solution, no iteration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..assembly import forms
from ..assembly.system import MixedSystem
from ..assembly.rotation import RotationOperator
from ..errors import SolverError
from .steady import State, _linear_steady

__all__ = ["NewtonReport", "newton_steady", "cubic_term"]

log = logging.getLogger(__name__)


@dataclass
class NewtonReport:
    """Convergence history of a Newton solve."""

    converged: bool
    iterations: int
    updates: list[float] = field(default_factory=list)  # ‖q_{k+1} − q_k‖ / ‖q_{k+1}‖
    residuals: list[float] = field(default_factory=list)  # relative nonlinear residual

    def summary(self) -> dict:
        return {"converged": self.converged, "iterations": self.iterations,
                "updates": self.updates, "residuals": self.residuals}


def cubic_term(system: MixedSystem, flux: np.ndarray, jacobian: bool = True):
    """N(q) = (b/ζ)|q|²q + (c/ζ)|q|⁴q (assembled) and its Jacobian J(q) at the flux
    ``flux`` (DOF vector); J is None when ``jacobian`` is False."""
    qb = system.flux_basis
    q0 = qb.interpolate(flux)
    fields = system.fields
    gamma = fields.cubic
    gamma5 = fields.quintic if fields.quintic is not None else np.zeros_like(gamma)
    N = forms.landau_flux_residual.assemble(qb, gamma=gamma, gamma5=gamma5, q0=q0)
    J = (forms.landau_flux_jacobian.assemble(
        qb, **forms.landau_coefficients(gamma, gamma5, q0.value)) if jacobian else None)
    return N, J


def _residual(system: MixedSystem, state: State, N: np.ndarray) -> float:
    free = system.free_dofs
    A, G = system.resistance, system.gradient
    Aq = A @ state.flux
    r = (Aq + N - G.T @ state.temperature - system.flux_load(0.0))[free]
    scale = np.linalg.norm(Aq[free]) + np.linalg.norm(N[free]) + 1e-300
    return float(np.linalg.norm(r) / scale)


def newton_steady(system: MixedSystem, initial: State, mean_temperature=None,
                  tol: float = 1e-10, max_iterations: int = 30) -> State:
    """Newton iteration from ``initial`` (the linear solution); see module docstring.

    Returns the converged :class:`~femheat.solve.steady.State` with the
    :class:`NewtonReport` as ``state.newton``; raises
    :class:`~femheat.errors.SolverError` with the history if it does not converge.
    """
    state = initial
    report = NewtonReport(False, 0)
    for k in range(1, max_iterations + 1):
        N, J = cubic_term(system, state.flux)
        A = system.resistance
        # the 3D vorticity form: A₀ + J with the rotation kept in factors
        A = (RotationOperator(A.base + J, A.C, A.mass) if isinstance(A, RotationOperator)
             else A + J)
        new = _linear_steady(system, A, J @ state.flux - N, mean_temperature)
        update = np.linalg.norm(new.flux - state.flux) / (np.linalg.norm(new.flux) + 1e-300)
        state = new
        report.iterations = k
        report.updates.append(float(update))
        report.residuals.append(_residual(system, state, cubic_term(system, state.flux, False)[0]))
        log.info("Newton iteration %d: update %.3e, residual %.3e", k, update,
                 report.residuals[-1])
        if not np.isfinite(update):
            break
        if update <= tol:
            report.converged = True
            break
    if not report.converged:
        raise SolverError(
            f"Newton's method did not converge in {report.iterations} iterations "
            f"(relative updates {', '.join(f'{u:.2e}' for u in report.updates[-5:])}); "
            "the quartic term may be too strong for the applied gradient: reduce b, "
            "or raise max_iterations")
    state.newton = report
    return state
