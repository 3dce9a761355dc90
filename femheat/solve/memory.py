r"""θ-scheme for the multi-mode memory law, the mode fluxes eliminated.

Per mode m (see :mod:`femheat.assembly.memory` for the weak form), with
x_θ = θxⁿ⁺¹ + (1 − θ)xⁿ and the temperature eliminated as in
:mod:`femheat.solve.timestepping` (G = gradient, B = divergence, S = GᵀC⁻¹B):

.. math::

    (T_m/\Delta t + \theta P_m) q_m^{n+1} = (T_m/\Delta t - (1-\theta) P_m) q_m^n
      + c, \qquad
    c = -K_{ext} q_\theta + G^T T_\theta + f_\theta ,

with Pₘ = (κₘ⁻¹q, v), Tₘ = (τₘκₘ⁻¹q, v) and c common to every mode.

**Shared shape** (Pₘ = P/wₘ, τₘ constant): with aₘ = (τₘ/Δt + θ)/wₘ,
bₘ = (τₘ/Δt − (1 − θ))/wₘ and σ = Σₘ 1/aₘ, summing P qₘⁿ⁺¹ = (c + bₘPqₘⁿ)/aₘ
over the modes gives one system in the total flux q = Σqₘ,

.. math::

    (P/\sigma + \theta K_{ext} + \theta^2\Delta t\, S)\, q^{n+1} = (P/\sigma) X
      - (1-\theta) K_{ext} q^n - \theta(1-\theta)\Delta t\, S q^n
      + G^T(T^n + \theta\Delta t\, C^{-1}F_\theta) + f_\theta,
    \qquad X = \sum_m (b_m/a_m)\, q_m^n ,

of the size and sparsity of an MCV step (one factorization), and the modes follow
without any further solve: P⁻¹c = (qⁿ⁺¹ − X)/σ, so

.. math::

    q_m^{n+1} = \frac{q^{n+1} - X}{a_m \sigma} + \frac{b_m}{a_m} q_m^n .

This is exact (not a splitting): the discrete mode fluxes are those of the coupled
M-mode system. Prescribed normal fluxes constrain the total flux only; the same
update splits them between the modes (the reaction is common to all modes, so the
formula holds on those rows too). One mode reduces to the MCV operator
M/Δt + θA + θ²ΔtS term by term. Cost per step: one solve with the MCV-sized
operator plus O(M n_q) vector operations.

**General case**: the M mode equations are solved together (unknowns M n_q, plus
one Lagrange multiplier per prescribed normal-flux DOF for Σqₘ·n = g), also exact,
at about M times the cost. With the GK vorticity form kept in factors (3D), θCᵀM_ω⁻¹C
acts on the total flux: one vorticity y for all modes, rows C Σqₘ − M_ω y/θ = 0 and
Cᵀy in every mode's rows.

Tⁿ⁺¹ = Tⁿ + Δt C⁻¹(F_θ − B q_θ) in both cases, so energy is conserved cell by cell.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import scipy.sparse as sp

from ..assembly.memory import ModeOperators, mode_operators
from .augmented import factorize_augmented, kept_rotation
from .factorization import ordering_for
from .steady import State, factorize
from .timestepping import ThetaScheme, march, step_count, stepping_solves

__all__ = ["MemoryState", "MemoryScheme", "memory_operators", "memory_steps"]

log = logging.getLogger(__name__)


@dataclass
class MemoryState(State):
    """A :class:`State` with the mode fluxes ``modes`` (M × n_q); ``flux`` is their sum."""

    modes: Optional[np.ndarray] = None


def memory_operators(system) -> ModeOperators:
    """The system's :class:`ModeOperators`, assembled once and cached."""
    if "memory" not in system._cache:
        system._cache["memory"] = mode_operators(system)
    return system._cache["memory"]


class MemoryScheme:
    """One fixed-Δt θ-scheme of the memory law (see the module docstring)."""

    def __init__(self, system, dt: float, theta: float = 0.5, *, steps: Optional[int] = None):
        dt, theta = ThetaScheme._validate(system, dt, theta)
        solves = stepping_solves(steps)  # ThetaScheme's ``steps``
        self.system, self.dt, self.theta = system, dt, theta
        ops = self.ops = memory_operators(system)
        B, Gt = system.divergence, system.gradient.T
        Cinv = system.capacity_inverse
        S = (Gt @ Cinv @ B).tocsr()
        free, ess = system.free_dofs, system.essential_dofs
        # GK vorticity form: ω kept as an unknown (femheat.solve.augmented); the
        # operators are formed from A₀ − P, the rotation part Cᵀ M_ω⁻¹ C in factors
        # (applied in the explicit part and the lifting: M_ω⁻¹ through its kept
        # Cholesky in 3D, where ops.external is not formed)
        rotation = kept_rotation(system)
        if rotation is not None and not ops.shared and rotation[1].lumped:
            rotation = None  # 2D coupled modes: the formed (lumped) rotation in K_ext
        external = ops.external if rotation is None else ops.external_base
        self._Rext = (-(1 - theta) * external - (theta * (1 - theta) * dt) * S).tocsr()
        self._G = sp.csr_matrix(Gt)
        self._H = (Cinv @ B).tocsr()
        self._rotation = None
        if ops.shared:
            w, tau = ops.weights, ops.times
            self._a = (tau / dt + theta) / w
            self._b = (tau / dt - (1 - theta)) / w
            self._sigma = float(np.sum(1.0 / self._a))
            Ps = (ops.bulk / self._sigma).tocsr()
            self._Ps = Ps[free]
            K = (Ps + theta * external + (theta**2 * dt) * S).tocsr()
            self._K_fe = K[free][:, ess]
            if rotation is None:
                self._solve = factorize(K[free][:, free], system.symmetric, solves=solves,
                                        ordering=ordering_for(system.problem.regions.dim))
            else:
                C, mass = rotation
                Cf = C[:, free].tocsr()
                self._solve = factorize_augmented(K[free][:, free], Cf, mass, theta)
                self._rotation = (Cf.T.tocsr(), C, C[:, ess].tocsr(), mass)
            self._Rext, self._G = self._Rext[free], self._G[free]
            log.info("memory step: %d modes eliminated, one %d x %d flux operator",
                     ops.count, free.size, free.size)
            return
        n, M = system.n_flux, ops.count
        common = (theta * external + (theta**2 * dt) * S).tocsr()
        self._lhs = [(Tm / dt + theta * Pm).tocsr() for Tm, Pm in zip(ops.inertia, ops.resistance)]
        self._rhs = [(Tm / dt - (1 - theta) * Pm).tocsr()
                     for Tm, Pm in zip(ops.inertia, ops.resistance)]
        K = sp.bmat([[self._lhs[i] + common if i == j else common for j in range(M)]
                     for i in range(M)], format="csr")
        if rotation is not None:
            # 3D vorticity form: θ Cᵀ M_ω⁻¹ C acts on the total flux Σqₘ, so one ω for
            # all modes: rows C(Σqₘ) − M_ω y/θ = 0, and Cᵀy in every mode's rows
            C, mass = rotation
            Cs = sp.hstack([C] * M, format="csr")
            K = sp.bmat([[K, Cs.T], [Cs, mass.block(theta)]], format="csr")
            self._rotation = (C.T.tocsr(), C, None, mass)
        if ess.size:
            rows = (np.arange(M)[:, None] * n + ess[None, :]).ravel()
            cols = np.tile(np.arange(ess.size), M)
            E = sp.csr_matrix((np.ones(rows.size), (cols, rows)), shape=(ess.size, K.shape[0]))
            K = sp.bmat([[K, -E.T], [E, None]], format="csr")
        self._solve = factorize(K, system.symmetric and not ess.size and rotation is None,
                                solves=solves,
                                ordering=ordering_for(system.problem.regions.dim))
        log.info("memory step: %d modes of different shape, coupled %d x %d operator",
                 M, K.shape[0], K.shape[0])

    def step(self, state: MemoryState, loads0=None, loads1=None) -> MemoryState:
        """Advance ``state`` by Δt; ``loads`` are optional cached (f, F) at both ends."""
        sys, dt, th, ops = self.system, self.dt, self.theta, self.ops
        q, T, t0, Q = state.flux, state.temperature, state.time, state.modes
        t1 = t0 + dt
        f0, F0 = loads0 if loads0 is not None else (sys.flux_load(t0), sys.heat_load(t0))
        f1, F1 = loads1 if loads1 is not None else (sys.flux_load(t1), sys.heat_load(t1))
        free, ess = sys.free_dofs, sys.essential_dofs
        f_th = th * f1 + (1 - th) * f0
        CF = sys.capacity_inverse @ (th * F1 + (1 - th) * F0)
        qd = sys.essential_values(t1)
        if ops.shared:
            ratio = self._b / self._a
            X = np.einsum("m,mn->n", ratio, Q)  # not BLAS gemv: no thread start-up
            rhs = self._Ps @ X + self._Rext @ q + self._G @ (T + (th * dt) * CF) + f_th[free]
            if qd.size:
                rhs -= self._K_fe @ qd
            block2 = None
            if self._rotation is not None:  # −Cᵀ M_ω⁻¹ ((1−θ) C qⁿ + θ C_e q_D)
                _, C, Ce, _ = self._rotation
                w = (1 - th) * (C @ q) if th != 1 else np.zeros(C.shape[0])
                if qd.size:
                    w += th * (Ce @ qd)
                if np.any(w):  # through the augmented second block: no M_ω solve
                    block2 = w / (-th)
            q1 = np.empty_like(q)
            q1[free] = self._solve(rhs) if block2 is None else self._solve(rhs, block2)
            q1[ess] = qd
            Q1 = ratio[:, None] * Q  # one (M, n_q) temporary
            Q1 += (1.0 / (self._a * self._sigma))[:, None] * (q1 - X)[None, :]
        else:
            n, M = sys.n_flux, ops.count
            c = self._Rext @ q + self._G @ (T + (th * dt) * CF) + f_th
            extra = []
            if self._rotation is not None:  # −(1−θ) Cᵀ M_ω⁻¹ C qⁿ: the ω rows take
                _, C, _, _ = self._rotation  # −(1−θ)/θ C qⁿ (no solve with M_ω)
                extra = [(-(1 - th) / th) * (C @ q)]
            rhs = np.concatenate([R @ Qm + c for R, Qm in zip(self._rhs, Q)] + extra + [qd])
            Q1 = self._solve(rhs)[:M * n].reshape(M, n)
            q1 = Q1.sum(axis=0)
            q1[ess] = qd  # equal to round-off; exact for the stored state
        q_th = q1 if th == 1 else th * q1 + (1 - th) * q
        T1 = T + dt * (CF - self._H @ q_th)
        return MemoryState(t1, T1, q1, Q1)


def memory_steps(system, dt: float, t_end: float, theta: float = 0.5,
                 initial: Optional[MemoryState] = None, *,
                 origin: Optional[tuple[float, int]] = None
                 ) -> Iterator[tuple[float, MemoryState]]:
    """Advance a memory system with the θ-scheme; yield ``(t, MemoryState)`` per step,
    the initial state first (same contract as
    :func:`~femheat.solve.timestepping.theta_steps`)."""
    state = initial
    if state.modes is None:
        state = MemoryState(state.time, state.temperature, state.flux,
                            memory_operators(system).split(state.flux))
    t_start, done = origin if origin is not None else (state.time, 0)
    nsteps, dt = step_count(dt, t_end, t_start)
    scheme = MemoryScheme(system, dt, theta, steps=nsteps - done)
    yield from march(scheme, system, state, t_start, done, nsteps, dt)
