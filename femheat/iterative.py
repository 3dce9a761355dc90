r"""Iterative, block-preconditioned solves for large (3D) problems.

Direct factorizations of 3D H(div) systems fill in quickly. This path never
factorizes a large matrix: it runs MINRES on the *unreduced* symmetric systems

steady:     [[A, −Bᵀ], [−B, 0]]                  (q, T)
transient:  [[M/Δt + θA, −θBᵀ], [−θB, −C/Δt]]    (one θ-step)

preconditioned by the block-diagonal, symmetric positive definite

.. math::

    \mathcal P = \operatorname{diag}(\hat P,\; \hat S), \qquad
    \hat S \approx C/\Delta t + \theta^2 B\,\operatorname{diag}(P)^{-1} B^T ,

with one smoothed-aggregation AMG V-cycle (pyamg) for each block. Unlike
preconditioning the eliminated operator K = P + θ²Δt BᵀC⁻¹B, whose large
grad-div part defeats AMG, the Schur block Ŝ is a DG-Laplacian-like matrix on
the temperature, which AMG handles well; diag(P) is spectrally equivalent to P
for mass-dominated (MCV, Darcy) flux blocks. Iteration counts are recorded and
tested to stay bounded under refinement.

pyamg is imported here only (``pip install pyamg``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, minres

from . import forms
from .errors import BoundaryConditionError, SolverError
from .model import MixedSystem, block_diagonal_inverse
from .solvers import State
from .timestepping import ThetaScheme

__all__ = ["IterativeReport", "solve_steady_iterative", "IterativeThetaScheme"]

log = logging.getLogger(__name__)


@dataclass
class IterativeReport:
    """MINRES iteration counts of every solve."""

    iterations: list[int] = field(default_factory=list)


def _amg(matrix: sp.spmatrix):
    try:
        import pyamg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverError("the iterative solver needs pyamg: pip install pyamg") from exc
    return pyamg.smoothed_aggregation_solver(sp.csr_matrix(matrix)).aspreconditioner(cycle="V")


class _BlockSolver:
    """MINRES on [[P, −c Bᵀ], [−c B, −D]], block-diagonal preconditioner.

    Flux block: AMG(P). Temperature block (Cahouet–Chabard, robust from the
    Darcy to the Stokes-like regime of GK):

        Ŝ⁻¹ = AMG(D + c² B diag(P_m)⁻¹ Bᵀ)⁻¹ + (D + c² W/(θν))⁻¹,

    P_m the mass-like part of P (inertia, resistance), W the DG mass and ν = l²/κ
    per cell; the second term is block diagonal (exact), and zero where l = 0.
    """

    def __init__(self, system: MixedSystem, P: sp.spmatrix, Pm_diag: np.ndarray, c: float,
                 D: sp.spmatrix, theta: float, rtol: float, maxiter: int):
        free = system.free_dofs
        P, D = sp.csr_matrix(P), sp.csr_matrix(D)
        B = sp.csr_matrix(system.divergence[:, free])
        self.n = P.shape[0]
        self.K = sp.bmat([[P, -c * B.T], [-c * B, -D]], format="csr")
        S = D + (c * c) * (B @ sp.diags(1.0 / Pm_diag) @ B.T)
        self._P, self._S = _amg(P), _amg(S)
        self._V = None
        ell = system.fields.nonlocal_length
        if np.any(ell > 0):
            tb = system.temperature_basis
            nu = ell**2 * system.fields.resistivity[0, 0]
            weight = (c * c) / (theta * np.maximum(nu, 1e-300))
            V = D + forms.capacity.assemble(tb, heat_capacity=np.minimum(weight, 1e300))
            self._V = block_diagonal_inverse(V, tb.element_dofs)
        self.rtol, self.maxiter = rtol, maxiter
        m = S.shape[0]
        self.M = LinearOperator((self.n + m, self.n + m), matvec=self._precondition,
                                dtype=float)

    def _precondition(self, x):
        x = np.ravel(x)
        y = self._S(x[self.n:])
        if self._V is not None:
            y = y + self._V @ x[self.n:]
        return np.concatenate([self._P(x[: self.n]), y])

    def solve(self, b: np.ndarray, x0: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        count = [0]

        def callback(_):
            count[0] += 1

        x, info = minres(self.K, b, x0=x0, M=self.M, rtol=self.rtol, maxiter=self.maxiter,
                         callback=callback)
        if info != 0 or not np.all(np.isfinite(x)):
            raise SolverError(
                f"MINRES did not reach rtol = {self.rtol:g} in {self.maxiter} iterations "
                "(block-preconditioned iterative solver)")
        return x, count[0]


def _mass_diagonal(system: MixedSystem, dt: float | None, theta: float) -> np.ndarray:
    """Diagonal of the mass-like flux block: M/Δt + θ(κ⁻¹q, v) (free DOFs)."""
    qb = system.flux_basis
    R = forms.flux_mass.assemble(qb, kinv=system.fields.resistivity).diagonal()
    d = theta * R + (system.inertia.diagonal() / dt if dt else 0.0)
    return d[system.free_dofs]


def solve_steady_iterative(system: MixedSystem, rtol: float = 1e-10,
                           maxiter: int = 2000) -> tuple[State, IterativeReport]:
    """Steady solve by block-preconditioned MINRES (no factorization of large matrices).

    Needs a boundary that fixes the temperature level; linear problems only.
    """
    if not system.problem.has_temperature_reference:
        raise BoundaryConditionError(
            "the iterative steady solver needs a temperature or convection boundary "
            "(the temperature level is otherwise undetermined)")
    if not system.symmetric or np.any(system.fields.cubic > 0):
        raise SolverError("the iterative solver handles symmetric, linear problems only")
    free, ess = system.free_dofs, system.essential_dofs
    A = system.resistance.tocsr()
    B = system.divergence.tocsr()
    qd = system.essential_values(0.0)
    zero = sp.csr_matrix((system.n_temperature, system.n_temperature))
    # the Schur block is definite: D = 0 here, B diag(A)^-1 B^T is SPD with a
    # temperature boundary
    solver = _BlockSolver(system, A[free][:, free], _mass_diagonal(system, None, 1.0), 1.0,
                          zero, 1.0, rtol, maxiter)
    rhs_q = system.flux_load(0.0)[free] - A[free][:, ess] @ qd
    g = system.heat_load(0.0) - B[:, ess] @ qd
    x, its = solver.solve(np.concatenate([rhs_q, -g]))
    q = np.zeros(system.n_flux)
    q[free], q[ess] = x[: free.size], qd
    log.info("iterative steady solve: %d MINRES iterations", its)
    return State(0.0, x[free.size:], q), IterativeReport([its])


class IterativeThetaScheme:
    """θ-scheme whose steps are solved by block-preconditioned MINRES.

    Same equations and results as :class:`~femheat.timestepping.ThetaScheme`
    (to the solver tolerance); the preconditioner is built once per Δt and every
    step is warm-started from the previous state. ``report.iterations`` holds the
    iteration count of each step.
    """

    def __init__(self, system: MixedSystem, dt: float, theta: float = 0.5,
                 rtol: float = 1e-10, maxiter: int = 2000):
        ThetaScheme._validate(system, dt, theta)
        if not system.symmetric:
            raise SolverError("the iterative solver handles symmetric problems only")
        self.system, self.dt, self.theta = system, float(dt), float(theta)
        free = system.free_dofs
        P = (system.inertia / dt + theta * system.resistance).tocsr()
        self._P, self._free = P, free
        self._solver = _BlockSolver(system, P[free][:, free],
                                    _mass_diagonal(system, dt, theta), theta,
                                    system.capacity / dt, theta, rtol, maxiter)
        self.report = IterativeReport()

    def step(self, state: State) -> State:
        sys, dt, th = self.system, self.dt, self.theta
        free, ess = self._free, sys.essential_dofs
        M, A, B, C = sys.inertia, sys.resistance, sys.divergence, sys.capacity
        q0, T0, t0 = state.flux, state.temperature, state.time
        t1 = t0 + dt
        f = th * sys.flux_load(t1) + (1 - th) * sys.flux_load(t0)
        F = th * sys.heat_load(t1) + (1 - th) * sys.heat_load(t0)
        qd = sys.essential_values(t1)
        h = M @ q0 / dt - (1 - th) * (A @ q0) + (1 - th) * (B.T @ T0) + f
        g = C @ T0 / dt + F - (1 - th) * (B @ q0)
        h = h[free] - self._P[free][:, ess] @ qd
        g = g - th * (B[:, ess] @ qd)
        x, its = self._solver.solve(np.concatenate([h, -g]),
                                    x0=np.concatenate([q0[free], T0]))
        self.report.iterations.append(its)
        q = np.zeros_like(q0)
        q[free], q[ess] = x[: free.size], qd
        return State(t1, x[free.size:], q)
