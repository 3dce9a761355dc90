r"""Transient Landau–Khalatnikov flux law (seed 000 eq. 1), for a > 0 and a < 0.

.. math::

    \Gamma \partial_t q = -(a q + b|q|^2 q + c|q|^4 q - \lambda\nabla^2 q + \zeta\nabla T),
    \qquad C\,\partial_t T + \nabla\cdot q = Q .

Divided by ζ, the flux equation is the mixed system of
:mod:`femheat.assembly.system` with a nonlinear term,

.. math::

    M\dot q + A q + N(q) - G^T T = f, \qquad C\dot T + B q = F,

M = (Γ/ζ q, v) [s m K W⁻¹], A = (a/ζ q, v) + (λ/ζ ∇q, ∇v) + facet terms (the GK
operator; a/ζ < 0 on ordered materials, so A is indefinite there), and
N(q) = ((b/ζ)|q|²q + (c/ζ)|q|⁴q, v). No parameter is divided by a: the blocks
carry (Γ, a, b, c, λ, ζ) directly, so a < 0 is no special case.

**Scheme.** With x_θ = θxⁿ⁺¹ + (1 − θ)xⁿ,

.. math::

    M\frac{q^{n+1}-q^n}{\Delta t} + A q_\theta + N(q_\theta) - G^T T_\theta = f_\theta,
    \qquad C\frac{T^{n+1}-T^n}{\Delta t} + B q_\theta = F_\theta .

θ = 1/2 is the implicit midpoint rule (Crank–Nicolson for the linear part), θ = 1
backward Euler. T is eliminated exactly as in :class:`~femheat.solve.timestepping.ThetaScheme`;
the flux residual Φ(qⁿ⁺¹) = L qⁿ⁺¹ − r + N(q_θ) with the linear operator
L = M/Δt + θA + θ²Δt GᵀC⁻¹B, assembled once per Δt and reused, is solved by
Newton's method with Jacobian L + θJ(q_θ), J the cell-local derivative of N
(:func:`~femheat.assembly.forms.landau_flux_jacobian`, a scikit-fem
``BilinearForm`` on the flux basis) assembled per iteration.

**Energy identity (why the midpoint rule conserves).** Test the flux equation with
q_θ and the energy equation with T_θ and add. Since
q_θᵀM(qⁿ⁺¹ − qⁿ) = ½(‖qⁿ⁺¹‖²_M − ‖qⁿ‖²_M) + (θ − ½)‖qⁿ⁺¹ − qⁿ‖²_M (and alike for C),
and the coupling terms −q_θᵀGᵀT_θ + T_θᵀBq_θ cancel (up to weak-wall work),

.. math::

    E^{n+1} - E^n = -\Delta t\, D(q_\theta) + \Delta t\, W_\theta
                    - (\theta - \tfrac12)(\|q^{n+1}-q^n\|_M^2 + \|T^{n+1}-T^n\|_C^2),

E = ½qᵀMq + ½TᵀCT = ∫(Γ/2ζ)|q|² + C T²/2 and the dissipation
D(q) = qᵀAq + qᵀN(q) = (1/ζ)∫(a|q|² + b|q|⁴ + c|q|⁶ + λ|∇q|²) (+ penalty, Kapitza
and convective terms), W the boundary and source work. This holds for any
evaluation of N as long as N is evaluated at q_θ, the vector that tests the
equation: with θ = 1/2 the discrete identity is exactly the continuous one
(DESIGN.md) with q at the midpoint, for a of either sign, and is exact up to the
Newton tolerance and round-off. Backward Euler adds the numerical dissipation
½‖Δq‖²_M + ½‖ΔT‖²_C per step. :class:`femheat.analysis.landau.LandauEnergyBalance`
checks the identity from the states alone, every step.

(A discrete gradient of the free energy F would instead make a Lyapunov functional
of the gradient flow exact; the conserved quantity of DESIGN.md is E, tested by q,
so the midpoint rule is the right one.)
"""

from __future__ import annotations

import logging
from typing import Iterator, Optional

import numpy as np

from ..assembly.system import MixedSystem
from ..errors import FemheatInputError, SolverError
from ..validation import theta_and_step
from .augmented import factorize_augmented, kept_rotation
from .factorization import factorize
from .newton import NewtonReport, cubic_term
from .steady import State
from .timestepping import ThetaScheme, initial_state, march, step_count, stepping_solves

__all__ = ["LandauScheme", "landau_steps", "landau_active"]

log = logging.getLogger(__name__)

#: Relative flux residual below which a Newton iterate is accepted without a solve.
RESIDUAL_ROUNDOFF = 1e-14


def landau_active(system: MixedSystem) -> bool:
    """True when the system needs :class:`LandauScheme` (b > 0, c > 0 or a < 0)."""
    return system.fields.nonlinear or system.fields.ordered


class LandauScheme(ThetaScheme):
    """The θ-scheme of the Landau–Khalatnikov law, solved per step by Newton.

    Parameters
    ----------
    system
        The assembled :class:`~femheat.assembly.system.MixedSystem` (model ``"gk"``
        or ``"mcv"``: the flux needs inertia M = (Γ/ζ q, v)).
    dt
        Time step Δt [s].
    theta
        1/2 (implicit midpoint: the discrete energy identity holds exactly) or up
        to 1 (backward Euler: extra numerical dissipation).
    tol
        Newton stops when the relative update ‖δq‖/‖q‖ is below ``tol``.
    max_iterations
        Newton iterations per step before :class:`~femheat.errors.SolverError`.
    steps
        Steps that will be taken, as for :class:`ThetaScheme` (linear case only).

    Each state returned by :meth:`step` carries its :class:`~femheat.solve.newton.NewtonReport`
    as ``state.newton``. Without a nonlinear term (b = c = 0, a > 0) the operator is
    factorized once and each step is one solve, as in ``ThetaScheme``.
    """

    def __init__(self, system: MixedSystem, dt: float, theta: float = 0.5, *,
                 tol: float = 1e-12, max_iterations: int = 25, steps: Optional[int] = None):
        theta, dt = theta_and_step(theta, dt, "time.")
        fields = system.fields
        if fields.ordered:
            inertia = np.asarray(fields.inertia_coefficient)
            inertia = inertia if inertia.ndim == 2 else inertia[(0,) * (inertia.ndim - 2)]
            if not system.model.has_inertia or np.any(inertia[np.asarray(fields.ordering) > 0]
                                                      <= 0):
                raise FemheatInputError(
                    "Landau materials with a < 0 need the relaxation term Gamma dq/dt > 0; "
                    f"model {system.model.name!r} drops it (use model.type = \"gk\")")
        # a consistent vorticity mass: A is not formed, ω stays an unknown of every
        # solve (L = L₀ + θ Cᵀ M_ω⁻¹ C); a lumped rotation is formed into A
        kept = kept_rotation(system)
        if kept is not None and kept[1].lumped:
            kept = None
        self._L = self._operators(system, dt, theta, kept)
        free = system.free_dofs
        self._kept = None  # (C_f, C_fᵀ, M_ω) where ω is kept
        if kept is not None:
            Cf = kept[0][:, free].tocsr()
            self._kept = (Cf, Cf.T.tocsr(), kept[1])
        self.tol, self.max_iterations = float(tol), int(max_iterations)
        self.nonlinear = fields.nonlinear
        # symmetric: Cholesky (CHOLMOD, symbolic analysis shared by every Newton
        # iteration); where a < 0 makes L + θJ indefinite (Δt > Γ/(θ|a|)) the
        # factorization falls back to SuperLU by itself
        self._symmetric = system.symmetric
        self._guess: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._solve = None if self.nonlinear else self._factorize(
            self._L, solves=stepping_solves(steps))
        self._all_free = free.size == system.n_flux
        self.iterations: list[int] = []
        log.info("Landau-Khalatnikov stepper: %d flux DOFs, dt = %g s, theta = %g, %s",
                 free.size, dt, theta, "Newton" if self.nonlinear else "linear")

    def _factorize(self, K, solves: Optional[int] = None):
        """Solve with K (+ θ Cᵀ M_ω⁻¹ C through the augmented system, 3D vorticity
        form; LU where a < 0 makes K indefinite and LDLᵀ breaks down)."""
        if self._kept is None:
            return factorize(K, self._symmetric, solves=solves,
                             share_symbolic=self._symmetric)
        Cf, _, mass = self._kept
        try:
            return factorize_augmented(K, Cf, mass, self.theta)
        except SolverError:
            return factorize_augmented(K, Cf, mass, self.theta, backend="superlu")

    def _apply(self, x: np.ndarray) -> np.ndarray:
        """L x on the free DOFs (the kept rotation applied through M_ω⁻¹)."""
        out = self._L @ x
        if self._kept is not None:
            Cf, CfT, mass = self._kept
            out = out + self.theta * (CfT @ mass.inverse_times(Cf @ x))
        return out

    def _jacobian_block(self, J):
        if self._all_free:
            return J
        free = self.system.free_dofs
        return J.tocsr()[free][:, free]

    def step(self, state: State, loads0=None, loads1=None) -> State:
        """Advance ``state`` by Δt (Newton on the flux; T updated exactly)."""
        sys, th = self.system, self.theta
        free, ess = sys.free_dofs, sys.essential_dofs
        rhs, qd, CF, t1 = self._rhs(state, loads0, loads1)
        q = state.flux
        last = self._guess
        if self.nonlinear and last is not None and last[1] is q:  # continuing a run
            q1 = 2.0 * q - last[0]  # linear extrapolation: one Newton iteration fewer
        else:
            q1 = q.copy()
        q1[ess] = qd
        report = NewtonReport(False, 0)
        if not self.nonlinear:
            q1[free] = self._solve(rhs)
            report.converged, report.iterations = True, 1
        else:
            for k in range(1, self.max_iterations + 1):
                q_th = th * q1 + (1 - th) * q
                N = cubic_term(sys, q_th, jacobian=False)[0]
                res = self._apply(q1[free]) - rhs + N[free]
                scale = np.linalg.norm(rhs) + np.linalg.norm(N[free]) + 1e-300
                report.residuals.append(float(np.linalg.norm(res) / scale))
                if report.residuals[-1] <= RESIDUAL_ROUNDOFF:  # nothing left to solve
                    report.converged = True
                    break
                J = cubic_term(sys, q_th)[1]
                K = (self._L + th * self._jacobian_block(J)).tocsc()
                delta = self._factorize(K)(-res)
                q1[free] += delta
                update = float(np.linalg.norm(delta) / (np.linalg.norm(q1[free]) + 1e-300))
                report.iterations = k
                report.updates.append(update)
                if not np.isfinite(update):
                    break
                if update <= self.tol:
                    report.converged = True
                    break
            if not report.converged:
                raise SolverError(
                    f"Newton's method did not converge in {report.iterations} iterations "
                    f"at t = {t1:g} s (relative updates "
                    f"{', '.join(f'{u:.2e}' for u in report.updates[-5:])}); reduce time.dt "
                    "(the growth rate of the ordered phase is |a|/Gamma)")
        self.iterations.append(report.iterations)
        self._guess = (q, q1)
        out = State(t1, self._temperature(q, q1, state.temperature, CF), q1)
        out.newton = report
        return out


def landau_steps(system: MixedSystem, dt: float, t_end: float, theta: float = 0.5,
                 initial: Optional[State] = None, *,
                 origin: Optional[tuple[float, int]] = None, tol: float = 1e-12,
                 max_iterations: int = 25) -> Iterator[tuple[float, State]]:
    """Advance with :class:`LandauScheme`; yield ``(t, State)`` per step (the initial
    state first), with the same step times and ``origin`` semantics as
    :func:`~femheat.solve.timestepping.theta_steps`."""
    state = initial if initial is not None else initial_state(system)
    t_start, done = origin if origin is not None else (state.time, 0)
    nsteps, dt = step_count(dt, t_end, t_start)
    scheme = LandauScheme(system, dt, theta, tol=tol, max_iterations=max_iterations,
                          steps=nsteps - done)
    yield from march(scheme, system, state, t_start, done, nsteps, dt)
