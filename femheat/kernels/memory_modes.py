r"""Memory modes of the nonlocal kernel law (seed 004 eqs. 23–27, 42–47).

The kernel's time dependence is a sum of exponential modes of one spatial shape,

.. math::
    Z(\mathbf r,\mathbf R,t) = \sum_m w_m Z_D(\mathbf r,\mathbf R)\,
        \frac{e^{-t/\tau_m}}{\tau_m}, \qquad \sum_m w_m = 1,\ w_m > 0,\ \tau_m \ge 0,

(τₘ = 0: the mode is instantaneous, e^{−t/τ}/τ → δ(t)), so that the flux is
q = Σₘ qₘ with

.. math::
    \tau_m \partial_t \mathbf q_m + \mathbf q_m = w_m\,\mathbf q[T],

where q[T] = −ξκ∇T − (1−ξ)∫Z_D∇T dR is the (two-phase) instantaneous law of
:class:`~femheat.kernels.operator.NonlocalOperator` [W m⁻²]. One mode with w = 1 is
the single-τ (MCV-type) memory of :class:`~femheat.kernels.solvers.NonlocalTheta`;
all τₘ = 0 is the memoryless kernel law. In Laplace/frequency form (s = iω),

.. math::
    \hat{\mathbf q}(s) = \phi(s)\,\mathbf q[\hat T], \qquad
    \phi(s) = \sum_m \frac{w_m}{1 + s\tau_m},

the memory factor of κ(ω) = κφ(iω) (seed 004 eq. 45). For a grating T = T̂ cos(kx) the
temperature obeys T̂(s) = T̂₀/(s + σ_A(k) φ(s)/C) with σ_A(k) = κk²(ξ + (1−ξ)ĝ(k)).

This module holds the validated mode list (:class:`MemoryModes`,
:func:`parse_memory`) and the multi-mode θ-scheme (:class:`MultiModeTheta`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError
from ..validation import finite_array
from .solver_base import _dim, _mesh
from .transient import NonlocalTheta

__all__ = ["MemoryModes", "parse_memory", "MultiModeTheta"]

#: tolerance on Σ wₘ = 1
WEIGHT_SUM_TOL = 1e-9


@dataclass(frozen=True)
class MemoryModes:
    """Weights wₘ (dimensionless, > 0, Σ = 1) and relaxation times τₘ ≥ 0 [s]."""

    weights: tuple[float, ...]
    times: tuple[float, ...]

    @classmethod
    def single(cls, relaxation_time: float = 0.0) -> "MemoryModes":
        """One mode of weight 1: the single-τ memory (τ = 0: memoryless)."""
        return cls((1.0,), (float(relaxation_time),))

    @property
    def count(self) -> int:
        return len(self.weights)

    @property
    def has_memory(self) -> bool:
        """True if some mode has τₘ > 0."""
        return any(t > 0 for t in self.times)

    def factor(self, s: Union[complex, np.ndarray]) -> Union[complex, np.ndarray]:
        """φ(s) = Σ wₘ/(1 + sτₘ) (s = iω [rad/s] for the frequency domain)."""
        s = np.asarray(s, dtype=complex)
        out = sum(w / (1.0 + s * t) for w, t in zip(self.weights, self.times))
        return complex(out) if out.ndim == 0 else out

    def as_list(self) -> list[dict[str, float]]:
        """``[{weight, relaxation_time}, ...]`` (the case file's and summary's form)."""
        return [{"weight": w, "relaxation_time": t} for w, t in zip(self.weights, self.times)]


def parse_memory(value: Any, where: str = "model.memory") -> MemoryModes:
    """Validate ``[{weight = w, relaxation_time = tau}, ...]`` (w > 0 summing to 1,
    τ ≥ 0 s); errors name the key (``model.memory[1].weight ...``)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise FemheatInputError(
            f"{where} must be a non-empty list of tables [{{weight = 0.5, "
            f"relaxation_time = 1e-11}}, ...], got {value!r}")
    ws, ts = [], []
    for i, mode in enumerate(value):
        w_at = f"{where}[{i}]"
        if not isinstance(mode, dict):
            raise FemheatInputError(f"{w_at} must be a table {{weight, relaxation_time}}, "
                                    f"got {mode!r}")
        unknown = sorted(set(mode) - {"weight", "relaxation_time"})
        if unknown:
            raise FemheatInputError(f"{w_at}: unknown key(s) {unknown}; allowed: weight, "
                                    "relaxation_time")
        for key in ("weight", "relaxation_time"):
            if key not in mode:
                raise FemheatInputError(f"{w_at}.{key} is missing")
            v = mode[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise FemheatInputError(f"{w_at}.{key} must be a finite number, got {v!r}")
        w, t = float(mode["weight"]), float(mode["relaxation_time"])
        if not w > 0:
            raise FemheatInputError(f"{w_at}.weight must be > 0, got {w}")
        if t < 0:
            raise FemheatInputError(f"{w_at}.relaxation_time must be >= 0 s, got {t}")
        ws.append(w)
        ts.append(t)
    total = sum(ws)
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise FemheatInputError(
            f"{where}: the weights must sum to 1 (Z_D,m = w_m Z_D keeps the steady "
            f"conductivity), got {total:.12g}")
    return MemoryModes(tuple(ws), tuple(ts))


class MultiModeTheta(NonlocalTheta):
    r"""θ-scheme for C ∂T/∂t − ∇·Σₘqₘ = Q with τₘ ∂qₘ/∂t + qₘ = wₘ q[T].

    Per mode the θ-rule τₘ(qₘⁿ⁺¹ − qₘⁿ)/Δt + qₘ,θ = wₘ q[T_θ] gives

    .. math::
        q_{m,\theta} = c_{m,m}\,q_m^n + w_m c_{f,m}\,q[T_\theta],\qquad
        c_{f,m} = \frac{\theta\Delta t}{\theta\Delta t+\tau_m},\
        c_{m,m} = \frac{\tau_m}{\theta\Delta t+\tau_m},

    so the total θ-flux is q_θ = Σₘ c_{m,m} qₘⁿ + c_f q[T_θ], c_f = Σₘ wₘ c_{f,m}: the
    T-only step of :class:`~femheat.kernels.solvers.NonlocalTheta` with c_f and the
    memory load (Σₘ c_{m,m} qₘⁿ, ∇w). After the solve, q[T_θ] is applied once and every
    mode is updated by qₘⁿ⁺¹ = (qₘ,θ − (1−θ)qₘⁿ)/θ: M modes cost one operator
    application more than none, whatever M. A τₘ = 0 mode is instantaneous
    (qₘ = wₘ q[T], started at equilibrium). One mode reproduces ``NonlocalTheta``
    with ``relaxation_time`` = τ to round-off.

    Parameters are those of ``NonlocalTheta`` with ``modes`` (a :class:`MemoryModes`)
    instead of ``relaxation_time``.
    """

    def __init__(self, op, heat_capacity, dt: float, theta: float = 0.5, *,
                 modes: MemoryModes, **kwargs: Any):
        if not isinstance(modes, MemoryModes):
            raise FemheatInputError("modes must be a MemoryModes (see parse_memory)")
        super().__init__(op, heat_capacity, dt, theta, relaxation_time=0.0, **kwargs)
        self.modes = modes
        tdt = self.theta * self.dt
        w = np.asarray(modes.weights)
        tau = np.asarray(modes.times)
        self.cf_modes = tdt / (tdt + tau)
        self.cm_modes = tau / (tdt + tau)
        self.cf = float(np.sum(w * self.cf_modes))
        self.cm = float(np.sum(self.cm_modes))  # for reports only; the load is per mode
        if self.cf != 1.0:  # the preconditioner was built for c_f = 1: rebuild it
            from ..solve.factorization import STEPPING_SOLVES
            from ..solve.steady import factorize

            Kloc = op.local_stiffness().tocsr()
            self.beta, self.symbol_condition = self._choose_beta()
            P = (self.Mc / self.dt + (self.theta * self.cf * self.beta) * Kloc).tocsr()
            self._solveP = factorize(P[self.free][:, self.free], symmetric=True,
                                     solves=STEPPING_SOLVES)
        #: mode fluxes (M, ncells, d) [W m⁻²]
        self.mode_flux: np.ndarray | None = None

    def memory_load(self) -> np.ndarray:
        """(Σₘ c_{m,m} qₘⁿ, ∇w) [W]."""
        q = np.tensordot(self.cm_modes, self.mode_flux, axes=1)
        return self._flux_load(q)

    def run(self, T0: Union[float, ArrayLike, Callable[[np.ndarray], np.ndarray]],
            t_end: float, t_start: float = 0.0,
            initial_flux: Union[str, ArrayLike] = "zero"
            ) -> Iterator[tuple[float, np.ndarray]]:
        """Yield ``(t, T)`` from ``t_start`` (the initial state first) to ``t_end``.

        ``initial_flux``: ``"zero"`` (modes with τ > 0 start at q = 0),
        ``"equilibrium"`` (qₘ = wₘ q[T0]) or an array (M, ncells, d) [W m⁻²]. Modes
        with τ = 0 always start at wₘ q[T0]. ``self.flux`` is the total Σₘ qₘ.
        """
        op, n = self.op, self.n
        T = self._initial_temperature(T0)
        steps = max(1, int(round((float(t_end) - t_start) / self.dt)))
        M, ncells, d = self.modes.count, _mesh(op).t.shape[1], _dim(op)
        w = np.asarray(self.modes.weights)
        q_eq = np.asarray(op.flux(T), dtype=float)
        if isinstance(initial_flux, str):
            if initial_flux not in ("zero", "equilibrium"):
                raise FemheatInputError(
                    f"initial_flux = {initial_flux!r}; use 'zero', 'equilibrium' or an "
                    f"array of shape ({M}, {ncells}, {d})")
            qm = (w[:, None, None] * q_eq[None] if initial_flux == "equilibrium"
                  else np.zeros((M, ncells, d)))
        else:
            qm = finite_array(initial_flux, "initial_flux").reshape(M, ncells, d).copy()
        inst = np.asarray(self.modes.times) == 0
        qm[inst] = w[inst, None, None] * q_eq[None]
        self.mode_flux = qm
        self.flux = qm.sum(axis=0)
        dt, th, cf = self.dt, self.theta, self.cf
        Mc = self.Mc
        t = t_start
        yield t, T.copy()
        b_old = self._b(t)
        last = None

        def apply_full(x):
            return Mc @ x / dt + (th * cf) * op.apply(x)

        for _ in range(steps):
            t_new = t + dt
            b_new = self._b(t_new) if self._timed else b_old
            b_th = th * b_new + (1 - th) * b_old
            rhs = b_th - cf * op.apply(T) + self.memory_load()
            dT, last = self._increment(apply_full, rhs, b_th, last, t_new)
            T_new = T + dT
            q_T = np.asarray(op.flux(th * T_new + (1 - th) * T), dtype=float)
            q_th = (self.cm_modes[:, None, None] * self.mode_flux
                    + (w * self.cf_modes)[:, None, None] * q_T[None])
            self.mode_flux = (q_th - (1 - th) * self.mode_flux) / th
            self.flux = self.mode_flux.sum(axis=0)
            T, t, b_old = T_new, t_new, b_new
            yield t, T.copy()


def theta_steps_modes(op, heat_capacity, dt: float, t_end: float, theta: float = 0.5,
                      T0: Union[float, ArrayLike, Callable] = 0.0, *,
                      modes: Sequence[tuple[float, float]] | MemoryModes, **kwargs: Any
                      ) -> Iterator[tuple[float, np.ndarray]]:
    """Generator of ``(t, T)`` of a :class:`MultiModeTheta` run; ``modes`` a
    :class:`MemoryModes` or pairs (wₘ, τₘ [s])."""
    if not isinstance(modes, MemoryModes):
        modes = parse_memory([{"weight": w, "relaxation_time": t} for w, t in modes],
                             "modes")
    initial_flux = kwargs.pop("initial_flux", "zero")
    stepper = MultiModeTheta(op, heat_capacity, dt, theta, modes=modes, **kwargs)
    yield from stepper.run(T0, t_end, initial_flux=initial_flux)
