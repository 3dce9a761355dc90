r"""Transient nonlocal conduction: the θ-scheme :class:`NonlocalTheta` (with MCV memory).

See :mod:`femheat.kernels.solvers` for the operator and the energy balance; each
step is one conjugate-gradient solve with a mass + stiffness preconditioner
factorized once.
"""

from __future__ import annotations

import logging
import math
from typing import Callable, Iterator, Mapping, Optional, Union

import numpy as np
import scipy.sparse as sp
import skfem
from numpy.typing import ArrayLike
from skfem.helpers import dot, grad

from ..errors import FemheatInputError
from ..element.spaces import evaluation_points
from ..solve.factorization import STEPPING_SOLVES
from ..solve.steady import factorize
from ..validation import finite_array, theta_and_step
from .krylov import SolveReport, _pcg, _restrict
from .solver_base import (Source, Value, _band, _dim, _dirichlet, _load, _mesh,
                          _operator_symbol, _symbol_condition, _takes_time, _unit_forms)

__all__ = ["NonlocalTheta", "theta_steps_nonlocal"]

log = logging.getLogger(__name__)


def _capacity_matrix(op, heat_capacity, lumped: bool) -> sp.csr_matrix:
    """(C u, v) on the P1 basis, C = ρc [J m⁻³ K⁻¹] constant, ``f(x)`` or per cell."""
    basis = op.basis
    if callable(heat_capacity):
        field_ = heat_capacity(evaluation_points(basis))
    else:
        arr = finite_array(heat_capacity, "heat_capacity")
        if arr.ndim == 0:
            field_ = np.full(basis.X.shape[-1:], float(arr))[None, :].repeat(
                _mesh(op).t.shape[1], axis=0)
        elif arr.shape == (_mesh(op).t.shape[1],):
            field_ = np.repeat(arr[:, None], basis.X.shape[-1], axis=1)
        else:
            raise FemheatInputError(
                f"heat_capacity has shape {arr.shape}; give a constant, f(x) or one value "
                f"per cell ({_mesh(op).t.shape[1]}) [J m^-3 K^-1]")
    field_ = np.broadcast_to(np.asarray(field_, dtype=float),
                             (_mesh(op).t.shape[1], basis.X.shape[-1]))
    if not np.all(field_ > 0):
        raise FemheatInputError("heat_capacity must be > 0 J/(m^3 K) everywhere")
    Mc = skfem.BilinearForm(lambda u, v, w: w.c * u * v).assemble(basis, c=field_).tocsr()
    if lumped:
        Mc = sp.diags(np.asarray(Mc.sum(axis=1)).ravel()).tocsr()
    return Mc


class NonlocalTheta:
    r"""θ-scheme for C ∂T/∂t + a(T) = Q, optionally with MCV memory on the flux.

    Memoryless (τ = 0), for a step Δt with T_θ = θTⁿ⁺¹ + (1−θ)Tⁿ:

    .. math::

        (M_C/\Delta t + \theta A)\,T^{n+1} = (M_C/\Delta t - (1-\theta)A)\,T^n + b_\theta .

    With memory, the flux q (one vector per cell, the cell-gradient space of
    P1) obeys τ ∂q/∂t + q = q[T], where q[T] = ``op.flux(T)`` is the
    (two-phase) flux law, and the energy balance is (C ∂T/∂t, w) = (Q, w) +
    (q, ∇w). The θ-scheme for the flux,
    τ(qⁿ⁺¹ − qⁿ)/Δt + q_θ = q[T_θ], gives q_θ explicitly:

    .. math::

        q_\theta = c_m q^n + c_f\,q[T_\theta], \qquad
        c_f = \frac{\theta\Delta t}{\theta\Delta t + \tau},\quad
        c_m = \frac{\tau}{\theta\Delta t + \tau},

    and since (q[T], ∇w) = −a(T, w), eliminating q leaves a T-only system per step

    .. math::

        (M_C/\Delta t + \theta c_f A)\,T^{n+1}
        = (M_C/\Delta t - (1-\theta) c_f A)\,T^n + b_\theta + c_m (q^n, \nabla w),

    then qⁿ⁺¹ = (q_θ − (1−θ)qⁿ)/θ. For τ → 0, c_f → 1 and c_m → 0: the
    memoryless scheme. For a grating T = cos(kx) this is the damped oscillator
    τa'' + a' + α k²(ξ + (1−ξ)ĝ(k)) a = 0 (BENCHMARKS N2). θ = 1/2
    (Crank–Nicolson) is second order; θ = 1 (backward Euler) damps.

    Each step is one conjugate-gradient solve preconditioned by
    P = M_C/Δt + θ c_f β K_loc, factorized once; β ∈ [0, 1] minimizes the symbol
    condition number of P⁻¹(M_C/Δt + θ c_f A) (β = 0, the mass, suits smoothing
    kernels; β = 1 suits Fourier-like ones). The system is symmetric positive
    definite for every ξ: transient problems are well posed.

    Parameters
    ----------
    op
        The :class:`~femheat.kernels.operator.NonlocalOperator`.
    heat_capacity
        C = ρc [J m⁻³ K⁻¹]: constant, ``f(x)`` or per cell.
    dt
        Time step Δt [s].
    theta
        1/2 (Crank–Nicolson) to 1 (backward Euler).
    source
        Q [W m⁻³]: as for :func:`solve_steady_nonlocal`; a callable may take
        ``(x, t)``.
    temperature
        Region name -> constant-in-time T [K] (constant or ``f(x)``).
    relaxation_time
        τ [s] of the flux memory (0: none).
    lumped
        Lump the capacity matrix (first-order consistent; default consistent).
    tol, max_iterations
        Conjugate-gradient controls per step.
    """

    def __init__(self, op, heat_capacity, dt: float, theta: float = 0.5, *,
                 source: Source = None, temperature: Optional[Mapping[str, Value]] = None,
                 relaxation_time: float = 0.0, lumped: bool = False, tol: float = 1e-12,
                 max_iterations: int = 500):
        theta, dt = theta_and_step(theta, dt)
        tau = float(finite_array(relaxation_time, "relaxation_time"))
        if tau < 0:
            raise FemheatInputError(f"relaxation_time must be >= 0 s, got {tau}")
        self.op, self.dt, self.theta, self.tau = op, dt, theta, tau
        self.tol, self.max_iterations = tol, max_iterations
        self.source = source
        self._timed = callable(source) and _takes_time(source)
        self._b_const = None if self._timed else _load(op, source)
        n = op.basis.N
        self.n = n
        self.Mc = _capacity_matrix(op, heat_capacity, lumped)
        self.cf = theta * dt / (theta * dt + tau)
        self.cm = tau / (theta * dt + tau)
        self.fixed, self.values, self.owners = _dirichlet(op, temperature)
        self.free = np.setdiff1d(np.arange(n), self.fixed)
        Kloc = op.local_stiffness().tocsr()
        self.beta, self.symbol_condition = self._choose_beta()
        P = (self.Mc / dt + (theta * self.cf * self.beta) * Kloc).tocsr()
        self._solveP = factorize(P[self.free][:, self.free], symmetric=True,
                                 solves=STEPPING_SOLVES)
        self.iterations: list[int] = []
        self.energy_errors: list[float] = []
        self.boundary_heat_flow: dict[str, float] = {nm: 0.0 for nm in self.owners}
        self.flux: Optional[np.ndarray] = None

    def _choose_beta(self) -> tuple[float, float]:
        K1, M = _unit_forms(self.op.basis)
        kap = float(self.op.local_stiffness().diagonal().sum() / K1.diagonal().sum())
        cap = float(self.Mc.diagonal().sum() / M.diagonal().sum())
        band = _band(self.op)
        sA = _operator_symbol(self.op, band)
        if sA is None:
            return 1.0, math.nan
        c = cap / self.dt
        w = self.theta * self.cf * kap
        num = c + w * sA
        best = (1.0, _symbol_condition(num / (c + w * band**2)))
        for beta in np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 81)]):
            cond = _symbol_condition(num / (c + w * beta * band**2))
            if cond < best[1] * (1 - 1e-9):
                best = (float(beta), cond)
        return best

    def _b(self, t: float) -> np.ndarray:
        return self._b_const if self._b_const is not None else _load(self.op, self.source, t)

    def _flux_load(self, q: np.ndarray) -> np.ndarray:
        """(q, ∇w) for a cell-constant flux q of shape (ncells, d)."""
        basis = self.op.basis
        qf = np.repeat(q.T[:, :, None], basis.X.shape[-1], axis=2)
        return skfem.LinearForm(lambda v, w: dot(w.q, grad(v))).assemble(basis, q=qf)

    def run(self, T0: Union[float, ArrayLike, Callable[[np.ndarray], np.ndarray]],
            t_end: float, t_start: float = 0.0,
            initial_flux: Union[str, ArrayLike] = "zero"
            ) -> Iterator[tuple[float, np.ndarray]]:
        """Yield ``(t, T)`` from ``t_start`` (the initial state first) to ``t_end``.

        Parameters
        ----------
        T0
            Initial temperature [K]: constant, ``f(x)`` or n nodal values
            (Dirichlet nodes are overwritten with their prescribed values).
        t_end
            Final time [s]; the number of steps is round((t_end − t_start)/Δt).
        initial_flux
            With memory only: ``"zero"`` (q = 0, default), ``"equilibrium"``
            (q = q[T0]) or an array (ncells, d) [W m⁻²].
        """
        op, n = self.op, self.n
        T = self._initial_temperature(T0)
        steps = max(1, int(round((float(t_end) - t_start) / self.dt)))
        if abs(steps * self.dt - (t_end - t_start)) > 1e-9 * max(abs(t_end - t_start), 1e-300):
            log.info("t_end %g s is not a multiple of dt; running %d steps to %g s",
                     t_end, steps, t_start + steps * self.dt)
        memory = self.tau > 0
        if memory:
            ncells, d = _mesh(op).t.shape[1], _dim(op)
            if isinstance(initial_flux, str):
                if initial_flux == "zero":
                    q = np.zeros((ncells, d))
                elif initial_flux == "equilibrium":
                    q = np.asarray(op.flux(T), dtype=float)
                else:
                    raise FemheatInputError(
                        f"initial_flux = {initial_flux!r}; use 'zero', 'equilibrium' or an "
                        f"array of shape ({ncells}, {d})")
            else:
                q = finite_array(initial_flux, "initial_flux").reshape(ncells, d).copy()
            self.flux = q
        dt, th, cf, cm = self.dt, self.theta, self.cf, self.cm
        Mc = self.Mc
        t = t_start
        yield t, T.copy()
        b_old = self._b(t)
        last = None
        for _ in range(steps):
            t_new = t + dt
            b_new = self._b(t_new) if self._timed else b_old
            b_th = th * b_new + (1 - th) * b_old
            # increment form: (M/dt + θ c_f A) ΔT = b_θ + c_m (qⁿ, ∇w) − c_f A Tⁿ, so that the
            # Krylov tolerance is relative to the change, not to the temperature level
            rhs = b_th - cf * op.apply(T)
            if memory:
                rhs = rhs + cm * self._flux_load(self.flux)

            def apply_full(x):
                return Mc @ x / dt + (th * cf) * op.apply(x)

            dT, last = self._increment(apply_full, rhs, b_th, last, t_new)
            T_new = T + dT
            if memory:
                T_th = th * T_new + (1 - th) * T
                q_th = cm * self.flux + cf * np.asarray(op.flux(T_th), dtype=float)
                self.flux = (q_th - (1 - th) * self.flux) / th
            T, t, b_old = T_new, t_new, b_new
            yield t, T.copy()

    def _initial_temperature(self, T0: Union[float, ArrayLike, Callable[[np.ndarray], np.ndarray]]
                             ) -> np.ndarray:
        """Nodal T0 [K] from a constant, ``f(x)`` or n values; Dirichlet nodes get their
        prescribed values."""
        n = self.n
        if callable(T0):
            T = np.asarray(T0(self.op.basis.doflocs), dtype=float).copy()
        else:
            arr = finite_array(T0, "T0")
            T = np.full(n, float(arr)) if arr.ndim == 0 else arr.copy()
        if T.shape != (n,) or not np.all(np.isfinite(T)):
            raise FemheatInputError(f"T0 must give {n} finite nodal values")
        T[self.fixed] = self.values
        return T

    def _increment(self, apply_full: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray,
                   b_th: np.ndarray, last: np.ndarray | None, t_new: float
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Solve (M_C/Δt + θ c_f K) ΔT = rhs on the free DOFs by PCG (warm-started from
        the previous step's ``last``), record the iterations, the boundary heat flows
        (the Dirichlet rows' reactions) and the step's energy-balance error
        |ΔE/Δt − S + H| / scale; return (ΔT, the free-DOF solution)."""
        n, free, Mc, dt = self.n, self.free, self.Mc, self.dt
        mv = _restrict(apply_full, n, free)
        guess = np.zeros(free.size) if last is None else last
        xf, its, _ = _pcg(mv, rhs[free], self._solveP, guess, self.tol,
                          self.max_iterations, f"time step to t = {t_new:.4g} s")
        self.iterations.append(its)
        dT = np.zeros(n)
        dT[free] = xf
        full = apply_full(dT) - rhs
        dE = float(np.sum(Mc @ dT)) / dt
        S = float(b_th.sum())
        H = 0.0
        for nm, dofs in self.owners.items():
            h = -float(full[dofs].sum())
            self.boundary_heat_flow[nm] = h
            H += h
        scale = float(np.abs(Mc @ dT).sum()) / dt + abs(S) + abs(H) + 1e-300
        self.energy_errors.append(abs(dE - S + H) / scale)
        return dT, xf

    def report(self) -> SolveReport:
        """Iteration counts and the worst per-step energy balance so far."""
        its = self.iterations
        return SolveReport(int(sum(its)), math.nan, "mass+stiffness", 0.0, math.nan,
                           self.symbol_condition, 0.0, dict(self.boundary_heat_flow),
                           max(self.energy_errors, default=0.0), list(its))


def theta_steps_nonlocal(op, heat_capacity, dt: float, t_end: float, theta: float = 0.5,
                         T0: Union[float, ArrayLike, Callable] = 0.0, **kwargs
                         ) -> Iterator[tuple[float, np.ndarray]]:
    """Generator yielding ``(t, T)`` of a :class:`NonlocalTheta` run (initial state first).

    ``kwargs`` are those of :class:`NonlocalTheta` (``source``, ``temperature``,
    ``relaxation_time``, ...) plus ``initial_flux`` of :meth:`NonlocalTheta.run`.
    Use the class directly to read the iteration counts and energy balance.
    """
    initial_flux = kwargs.pop("initial_flux", "zero")
    stepper = NonlocalTheta(op, heat_capacity, dt, theta, **kwargs)
    yield from stepper.run(T0, t_end, initial_flux=initial_flux)
