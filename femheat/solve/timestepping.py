r"""θ-scheme time stepping of the mixed system, with the temperature eliminated.

For a step Δt from (qⁿ, Tⁿ), with x_θ = θ xⁿ⁺¹ + (1 − θ) xⁿ,

.. math::

    M \frac{q^{n+1}-q^n}{\Delta t} + A q_\theta - B^T T_\theta = f_\theta, \qquad
    C \frac{T^{n+1}-T^n}{\Delta t} + B q_\theta = F_\theta .

C is block diagonal for the DG temperature, so Tⁿ⁺¹ is eliminated exactly and
each step is one solve with the symmetric positive definite flux operator

.. math::

    K = M/\Delta t + \theta A + \theta^2 \Delta t\, B^T C^{-1} B ,

factorized once for a fixed Δt and reused by every step. θ = 1/2 is
Crank–Nicolson (second order; keeps second-sound speed and amplitude), θ = 1 is
backward Euler (first order, damps). θ < 1/2 is refused: the scheme is then only
conditionally stable. The temperature update Tⁿ⁺¹ = Tⁿ + Δt C⁻¹(F_θ − B q_θ)
conserves energy cell by cell.

The stepper is a generator yielding ``(t, State)`` -- the initial state first --
so that writers, progress bars and plots consume the stream as it is computed.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Callable, Iterator, Optional, Union

import numpy as np
import scipy.sparse as sp

from ..errors import FemheatInputError
from ..assembly.system import MixedSystem
from ..assembly.rotation import VorticityMass
from .projection import l2_project
from .augmented import factorize_augmented, kept_rotation
from .factorization import STEPPING_SOLVES, ordering_for
from .steady import State, consistent_flux, factorize
from ..validation import finite_array, theta_and_step

__all__ = ["ThetaScheme", "theta_steps", "initial_state", "step_count", "march"]

log = logging.getLogger(__name__)

FieldInit = Union[float, Callable[[np.ndarray], np.ndarray], None]


def stepping_solves(steps: Optional[int]) -> int:
    """Solves expected from a stepper told ``steps`` (None: :data:`STEPPING_SOLVES`)."""
    return STEPPING_SOLVES if steps is None else max(int(steps), 1)


def step_count(dt: float, t_end: float, t_start: float = 0.0) -> tuple[int, float]:
    """Number of steps and the uniform Δt that lands exactly on ``t_end``."""
    dt = float(finite_array(dt, "time.dt"))
    if dt <= 0:
        raise FemheatInputError(f"time.dt must be > 0 s, got {dt}")
    span = float(finite_array(t_end, "time.end")) - t_start
    if span <= 0:
        raise FemheatInputError(f"time.end must be later than the start ({t_start} s), got {t_end}")
    n = max(1, math.ceil(span / dt * (1 - 1e-12)))
    if abs(n * dt - span) > 1e-9 * span:
        log.info("dt adjusted from %g to %g s to end exactly at %g s", dt, span / n, t_end)
    return n, span / n


def initial_state(system: MixedSystem, temperature: FieldInit = 0.0,
                  flux: FieldInit = None, t: float = 0.0) -> State:
    """Project initial fields onto the discrete spaces.

    Parameters
    ----------
    temperature
        T(x, 0) [K]: constant or callable of x (shape (d, ...)).
    flux
        q(x, 0) [W m⁻²]: ``None`` (zero for MCV; the consistent Fourier flux
        −κ∇T for Fourier), a constant vector, or a callable returning shape (d, ...).
    """
    tb, qb = system.temperature_basis, system.flux_basis
    if callable(temperature):
        T = l2_project(tb, temperature)
    else:
        T0 = float(finite_array(temperature, "initial.temperature"))
        T = T0 * system.temperature_ones  # the constant, exactly
    if not np.all(np.isfinite(T)):
        raise FemheatInputError("initial.temperature produced non-finite values")
    if flux is None:
        if not system.model.has_inertia:  # Fourier: the consistent flux
            return State(t, T, consistent_flux(system, T, t))
        q = np.zeros(qb.N)
    elif callable(flux):
        q = l2_project(qb, flux)
    else:
        vec = finite_array(flux, "initial.flux")
        if vec.shape != (qb.mesh.dim(),):
            raise FemheatInputError(
                f"initial.flux must be a vector of {qb.mesh.dim()} components, got {vec.tolist()}")
        q = l2_project(qb, lambda x: vec.reshape((-1,) + (1,) * (x.ndim - 1)) + 0.0 * x)
    if not np.all(np.isfinite(q)):
        raise FemheatInputError("initial.flux produced non-finite values")
    q[system.essential_dofs] = system.essential_values(t)
    return State(t, T, q)


class ThetaScheme:
    """One fixed-Δt θ-scheme: the flux operator K factorized once, then :meth:`step`.

    Parameters
    ----------
    system
        The assembled :class:`~femheat.assembly.system.MixedSystem`.
    dt
        Time step [s], > 0.
    theta
        1/2 (Crank–Nicolson) to 1 (backward Euler).
    steps
        How many steps will be taken (default :data:`~femheat.solve.factorization.STEPPING_SOLVES`):
        the factorization is chosen for one factorization and that many solves
        (:func:`~femheat.solve.factorization.factorize`'s ``solves``).
    """

    def __init__(self, system: MixedSystem, dt: float, theta: float = 0.5, *,
                 steps: Optional[int] = None):
        dt, theta = self._validate(system, dt, theta)
        # the GK vorticity form: ω kept as an unknown (femheat.solve.augmented), the
        # operators formed without the rotation part Cᵀ M_ω⁻¹ C
        rotation = kept_rotation(system)
        self._blocked = False  # ω's explicit terms through the augmented second block
        K = self._operators(system, dt, theta, rotation)
        if rotation is None:
            self._solve = factorize(K, system.symmetric, solves=stepping_solves(steps),
                                    ordering=ordering_for(system.problem.regions.dim))
        else:
            C, mass = rotation
            self._solve = factorize_augmented(K, C[:, system.free_dofs], mass, theta)
            # the rotation's explicit part and lifting go to the augmented system's
            # second block (_rhs): no solve with M_ω per step
            self._blocked = True
        del K
        log.info("factorized %d x %d flux operator (dt = %g s, theta = %g, %s %s)",
                 system.free_dofs.size, system.free_dofs.size, dt, theta,
                 getattr(self._solve, "backend", "?"), getattr(self._solve, "mode", None) or "")

    def _operators(self, system: MixedSystem, dt: float, theta: float,
                   rotation: Optional[tuple[sp.csr_matrix, VorticityMass]] = None
                   ) -> sp.csc_matrix:
        """Form R (free rows) and K_fe; return K on the free DOFs (to factorize).

        With ``rotation`` = (C, M_ω), K and R are formed from A₀ = A − Cᵀ M_ω⁻¹ C
        (:attr:`~femheat.assembly.system.MixedSystem.resistance_base`) and the
        rotation part is applied in factors: K_fe q_D gains θ Cᵀ M_ω⁻¹ C q_D, R q gains
        −(1−θ) Cᵀ M_ω⁻¹ C q; the returned K is K₀ (the caller keeps ω).
        """
        self.system, self.dt, self.theta = system, dt, theta
        M, B = system.inertia, system.divergence
        A = system.resistance if rotation is None else system.resistance_base
        Gt = system.gradient.T  # = B.T except on weakly impermeable walls
        Cinv = system.capacity_inverse
        free, ess = system.free_dofs, system.essential_dofs
        S = (Gt @ Cinv @ B).tocsr()
        K = (M / dt + theta * A + (theta**2 * dt) * S).tocsr()
        # Right-hand side: rhs = R q + [Gᵀ (T + θΔt C⁻¹F_θ)]_free + f_θ − K_fe q_D and
        # Tⁿ⁺¹ = Tⁿ + Δt (C⁻¹F_θ − C⁻¹B q_θ). At θ = 1, R = M/Δt is applied as
        # (M q)/Δt; otherwise R = M/Δt − (1−θ)A − θ(1−θ)Δt GᵀC⁻¹B is a new operator,
        # formed once. Gᵀ, C⁻¹ and B are the system's own: no copies.
        self._R = None
        if theta < 1:
            R = M / dt - (1 - theta) * A - (theta * (1 - theta) * dt) * S
            self._R = sp.csr_matrix(R)[free]
            del R
        del S
        K = K[free]
        self._K_fe = K[:, ess]
        self._rotation = self._lift = None
        if rotation is not None:
            C, mass = rotation
            Cf = C[:, free].tocsc()
            if ess.size and mass.lumped:
                self._K_fe = (self._K_fe + theta * mass.formed(Cf, C[:, ess])).tocsr()
            elif ess.size:  # θ Cᵀ M_ω⁻¹ C q_D applied in _rhs (M_ω⁻¹ is dense)
                self._lift = (Cf.T.tocsr(), C[:, ess].tocsr(), mass, theta)
            if theta < 1:
                self._rotation = (C.tocsr(), Cf.T.tocsr(), mass, 1 - theta)
        self._M, self._Gt, self._B, self._Cinv = M, Gt, B, Cinv
        return K[:, free].tocsc()  # the only copy handed to the factorization

    @staticmethod
    def _validate(system: MixedSystem, dt: float, theta: float) -> tuple[float, float]:
        """Check θ and Δt (and warn about Crank–Nicolson pitfalls); return them as floats."""
        theta, dt = theta_and_step(theta, dt, "time.")
        relaxing = system.model.has_inertia and not system.model.viscous  # MCV
        tau = system.fields.relaxation_time
        if relaxing and theta == 0.5 and np.any(tau == 0):
            warnings.warn(
                "Crank-Nicolson on an MCV problem with tau = 0 in some material: the flux "
                "there obeys Fourier's law algebraically and Crank-Nicolson carries an "
                "inconsistent initial flux along as a (-1)^n oscillation; use theta = 1, "
                "a small tau > 0, or model = 'fourier'", RuntimeWarning, stacklevel=4)
        if relaxing and theta == 0.5 and np.any(tau > 0):
            tmin = float(tau[tau > 0].min())
            if dt > 2 * tmin:
                warnings.warn(
                    f"Crank-Nicolson with dt = {dt:.3g} s > 2*tau = {2 * tmin:.3g} s: flux "
                    "relaxation modes are barely damped and ring from step to step; use "
                    "dt <= 2*tau, or theta = 1 to damp them", RuntimeWarning, stacklevel=4)
        if system.fields.nonlinear or system.fields.ordered:
            raise FemheatInputError(
                "a Landau-Khalatnikov material with b > 0, c > 0 or a < 0 is nonlinear or "
                "ordered, which this linear theta-scheme would silently get wrong; use "
                "femheat.LandauScheme / femheat.landau_steps (model.transient and the case "
                "runner choose it automatically)")
        return dt, theta

    def _rhs(self, state: State, loads0=None, loads1=None):
        """(rhs on the free DOFs, q_D at tⁿ⁺¹, C⁻¹F_θ, tⁿ⁺¹) of the step from ``state``."""
        sys, dt, th = self.system, self.dt, self.theta
        q, T, t0 = state.flux, state.temperature, state.time
        t1 = t0 + dt
        f0, F0 = loads0 if loads0 is not None else (sys.flux_load(t0), sys.heat_load(t0))
        f1, F1 = loads1 if loads1 is not None else (sys.flux_load(t1), sys.heat_load(t1))
        free = sys.free_dofs
        f_th = (th * f1 + (1 - th) * f0)[free]
        CF = sys.capacity_inverse @ (th * F1 + (1 - th) * F0)
        qd = sys.essential_values(t1)
        grad = self._Gt @ (T + (th * dt) * CF)
        if self._R is None:  # θ = 1: R q = (M q)/Δt
            grad += (self._M @ q) / dt
            rhs = grad[free]
        else:
            rhs = self._R @ q + grad[free]
        blocked = getattr(self, "_blocked", False)
        if blocked:
            # −Cᵀ M_ω⁻¹ g with g = (1−θ) C qⁿ + θ C_e q_D is θ Cᵀ M_ω⁻¹ (−g/θ) taken
            # through the augmented system's second block: b₂ = −g/θ (augmented.solve)
            self._block2 = None
            if self._rotation is not None:
                C, _, _, weight = self._rotation
                self._block2 = (-weight / self.theta) * (C @ q)
        elif self._rotation is not None:  # −(1−θ) Cᵀ M_ω⁻¹ C q, kept in factors
            C, CfT, mass, weight = self._rotation
            rhs -= weight * (CfT @ mass.inverse_times(C @ q))
        rhs += f_th
        if qd.size:
            rhs -= self._K_fe @ qd
            if self._lift is not None and qd.any():
                CfT, Ce, mass, weight = self._lift
                if blocked:
                    lift = -(Ce @ qd)
                    self._block2 = lift if self._block2 is None else self._block2 + lift
                else:
                    rhs -= weight * (CfT @ self._lifted(qd, Ce, mass))
        return rhs, qd, CF, t1

    def _lifted(self, qd: np.ndarray, Ce: sp.csr_matrix, mass: VorticityMass) -> np.ndarray:
        """M_ω⁻¹ C_e q_D, kept while q_D does not change (the Landau stepper's path; the
        θ-scheme's own steps take the lifting through the augmented second block)."""
        cached = getattr(self, "_lift_cache", None)
        if cached is None or not np.array_equal(cached[0], qd):
            cached = self._lift_cache = (qd.copy(), mass.inverse_times(Ce @ qd))
        return cached[1]

    def _temperature(self, q: np.ndarray, q1: np.ndarray, T: np.ndarray,
                     CF: np.ndarray) -> np.ndarray:
        """Tⁿ⁺¹ = Tⁿ + Δt (C⁻¹F_θ − C⁻¹B q_θ): exact cell-by-cell conservation."""
        th = self.theta
        q_th = q1 if th == 1 else th * q1 + (1 - th) * q
        return T + self.dt * (CF - self._Cinv @ (self._B @ q_th))

    def step(self, state: State, loads0=None, loads1=None) -> State:
        """Advance ``state`` by Δt. ``loads`` are optional cached (f, F) at both ends."""
        sys = self.system
        rhs, qd, CF, t1 = self._rhs(state, loads0, loads1)
        q1 = np.empty_like(state.flux)
        if getattr(self, "_blocked", False):
            q1[sys.free_dofs] = self._solve(rhs, self._block2)
        else:
            q1[sys.free_dofs] = self._solve(rhs)
        q1[sys.essential_dofs] = qd
        return State(t1, self._temperature(state.flux, q1, state.temperature, CF), q1)


def theta_steps(system: MixedSystem, dt: float, t_end: float, theta: float = 0.5,
                initial: Optional[State] = None, *,
                origin: Optional[tuple[float, int]] = None) -> Iterator[tuple[float, State]]:
    """Advance the mixed system with the θ-scheme; yield ``(t, State)`` per step.

    Parameters
    ----------
    system
        The assembled :class:`~femheat.assembly.system.MixedSystem`.
    dt
        Time step [s], > 0 (adjusted down uniformly so the run ends at ``t_end``).
    t_end
        Final time [s].
    theta
        1/2 (Crank–Nicolson) to 1 (backward Euler).
    initial
        Initial :class:`State`; default :func:`initial_state` with T = 0.
    origin
        ``(t0, n)``: continue a run that started at t0 and has done n steps, from
        its state after step n (``initial``). The step times t0 + kΔt and Δt are
        those of the uninterrupted run, so a resumed run repeats it bitwise. The
        first pair yielded is ``initial`` itself.
    """
    state = initial if initial is not None else initial_state(system)
    t_start, done = origin if origin is not None else (state.time, 0)
    nsteps, dt = step_count(dt, t_end, t_start)
    yield from march(ThetaScheme(system, dt, theta, steps=nsteps - done), system, state, t_start,
                     done, nsteps, dt)


def march(scheme, system: MixedSystem, state: State, t_start: float, done: int, nsteps: int,
          dt: float) -> Iterator[tuple[float, State]]:
    """The time loop every stepper shares: yield ``(t, state)`` first, then after steps
    ``done+1 … nsteps`` at tₙ = t_start + nΔt (no drift from repeated additions), with
    ``scheme.step(state, loads0, loads1)`` given the (flux, heat) loads at both ends."""
    yield state.time, state
    loads = (system.flux_load(state.time), system.heat_load(state.time))
    for n in range(done, nsteps):
        t1 = t_start + (n + 1) * dt
        loads1 = (system.flux_load(t1), system.heat_load(t1))
        state = scheme.step(state, loads, loads1)
        state.time = t1
        loads = loads1
        yield t1, state
