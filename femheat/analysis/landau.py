r"""The energy identity of the coupled Landau–Khalatnikov system, checked per step.

For Γq̇ = −(aq + b|q|²q + c|q|⁴q − λ∇²q + ζ∇T), C Ṫ + ∇·q = Q (shared/DESIGN.md),

.. math::

    \frac{d}{dt}\int \Big(\frac{C T^2}{2} + \frac{\Gamma}{2\zeta}|q|^2\Big)
    = -\frac{1}{\zeta}\int (a|q|^2 + b|q|^4 + c|q|^6 + \lambda|\nabla q|^2)
      + \text{boundary and source work}.

For a > 0 the right-hand integral is a dissipation; for a < 0 it is not
sign-definite at small |q|, which drives ordering. Its discrete form for the
θ-scheme (:mod:`femheat.solve.landau`), from two consecutive states only,

.. math::

    E^{n+1} - E^n + (\theta - \tfrac12)(\|\Delta q\|_M^2 + \|\Delta T\|_C^2)
    = \Delta t\,[-q_\theta^T(Aq_\theta + N(q_\theta)) + q_\theta^T f_\theta
      + T_\theta^T F_\theta + q_{\theta,D}^T r_D + T_\theta^T W q_\theta],

with E = ½qᵀMq + ½TᵀCT [J K in 3D, J K m⁻¹ in 2D], r_D
the reaction of the flux equation at prescribed-flux DOFs (the work −∫T q·n there)
and W the weak-wall coupling. Every term is recomputed here from the states and the
assembled blocks; the residual of this identity is the audit. It is zero up to
round-off and the Newton tolerance for every θ; the θ-term is backward Euler's
numerical dissipation (zero for the midpoint rule), reported separately.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..assembly.system import MixedSystem
from ..solve.newton import cubic_term
from ..solve.steady import State
from .postprocess import EnergyBalance, _dot

__all__ = ["LandauEnergyBalance", "landau_energy"]


def landau_energy(system: MixedSystem, state: State) -> float:
    """E = ½qᵀMq + ½TᵀCT = ∫ Γ|q|²/(2ζ) + C T²/2 dx [J K (3D), J K m⁻¹ (2D)]."""
    q, T = state.flux, state.temperature
    return 0.5 * _dot(q, system.inertia @ q) + 0.5 * _dot(T, system.capacity @ T)


class LandauEnergyBalance(EnergyBalance):
    """The first-law audit of :class:`~femheat.analysis.postprocess.EnergyBalance`
    plus the quadratic energy identity of the Landau–Khalatnikov system (module
    docstring), step by step.

    Attributes
    ----------
    identity_max_relative_residual
        max over steps of |identity residual| / (sum of the magnitudes of its terms).
    dissipation, boundary_work, numerical_dissipation
        Cumulative Σ Δt D(q_θ), Σ Δt W_θ, Σ (θ − ½)(‖Δq‖²_M + ‖ΔT‖²_C).
    max_relative_error
        The larger of the first-law error and the identity residual (the run's
        ``energy_balance_relative_error``).
    """

    history_columns = ("landau_energy", "dissipation_rate", "numerical_dissipation",
                       "identity_residual")

    def __init__(self, system: MixedSystem, theta: float):
        super().__init__(system, theta)
        self._last: Optional[tuple[float, np.ndarray, np.ndarray]] = None
        self.identity_max_relative_residual = 0.0
        self.dissipation = self.boundary_work = self.numerical_dissipation = 0.0
        self.landau_energy = 0.0
        self._row = [0.0, 0.0, 0.0, 0.0]
        self.newton_iterations: list[int] = []

    def _identity(self, t0: float, q0: np.ndarray, T0: np.ndarray, state: State
                  ) -> tuple[float, float, float, float, float]:
        """(residual, scale, dissipation Δt·D, work Δt·W, numerical) of one step."""
        sys, th = self.system, self.theta
        dt = state.time - t0
        q1, T1 = state.flux, state.temperature
        M, A, C, B = sys.inertia, sys.resistance, sys.capacity, sys.divergence
        dq, dT = q1 - q0, T1 - T0
        dE = 0.5 * _dot(dq, M @ (q1 + q0)) + 0.5 * _dot(dT, C @ (T1 + T0))
        numerical = (th - 0.5) * (_dot(dq, M @ dq) + _dot(dT, C @ dT))
        q_th, T_th = th * q1 + (1 - th) * q0, th * T1 + (1 - th) * T0
        Aq = A @ q_th
        N = cubic_term(sys, q_th, jacobian=False)[0] if sys.fields.nonlinear else 0.0 * q_th
        f = th * sys.flux_load(state.time) + (1 - th) * sys.flux_load(t0)
        F = th * sys.heat_load(state.time) + (1 - th) * sys.heat_load(t0)
        GtT = sys.gradient.T @ T_th
        lin, non = _dot(q_th, Aq), _dot(q_th, N)
        ext, src = _dot(q_th, f), _dot(T_th, F)
        ess = sys.essential_dofs
        reaction = 0.0
        if ess.size:  # the flux equation's reaction where q·n is prescribed
            r = (M @ dq)[ess] / dt + Aq[ess] + N[ess] - GtT[ess] - f[ess]
            reaction = _dot(q_th[ess], r)
        wall = 0.0 if sys.wall_coupling is None else _dot(T_th, sys.wall_coupling @ q_th)
        D = dt * (lin + non)
        W = dt * (ext + src + reaction + wall)
        residual = dE + numerical + D - W
        scale = (abs(dE) + abs(numerical) + dt * (abs(lin) + abs(non) + abs(ext) + abs(src)
                                                  + abs(reaction) + abs(wall)))
        return residual, scale, D, W, numerical

    def update(self, state: State) -> float:
        """Feed the next state; return the larger of the two relative errors."""
        rel = super().update(state)
        rel_id = 0.0
        if self._last is not None:
            t0, q0, T0 = self._last
            residual, scale, D, W, numerical = self._identity(t0, q0, T0, state)
            rel_id = abs(residual) / scale if scale > 1e-300 else 0.0
            self.identity_max_relative_residual = max(self.identity_max_relative_residual,
                                                      rel_id)
            self.dissipation += D
            self.boundary_work += W
            self.numerical_dissipation += numerical
            dt = state.time - t0
            self._row = [0.0, D / dt, numerical, rel_id]
        newton = getattr(state, "newton", None)
        if newton is not None:
            self.newton_iterations.append(int(newton.iterations))
        self._last = (state.time, state.flux.copy(), state.temperature.copy())
        self.landau_energy = landau_energy(self.system, state)
        self._row[0] = self.landau_energy
        self.max_relative_error = max(self.max_relative_error, rel_id)
        return max(rel, rel_id)

    def history_values(self) -> list[float]:
        """Values of :attr:`history_columns` after the last :meth:`update`."""
        return list(self._row)

    def summary(self) -> dict[str, Any]:
        """Entries of summary.json: the identity audit and Newton statistics."""
        it = self.newton_iterations
        return {"landau_energy_identity": {
            "max_relative_residual": self.identity_max_relative_residual,
            "energy": self.landau_energy,
            "dissipation": self.dissipation,
            "boundary_work": self.boundary_work,
            "numerical_dissipation": self.numerical_dissipation,
            "theta": self.theta,
            "newton_iterations": {"max": max(it) if it else 0,
                                  "mean": float(np.mean(it)) if it else 0.0}}}

    _LANDAU = ("identity_max_relative_residual", "dissipation", "boundary_work",
               "numerical_dissipation", "landau_energy", "newton_iterations", "_row")

    def state_dict(self) -> dict:
        out = super().state_dict()
        out["landau"] = {k: getattr(self, k) for k in self._LANDAU}
        out["landau_last"] = None if self._last is None else [
            self._last[0], self._last[1], self._last[2]]
        return out

    def restore(self, saved: dict) -> None:
        super().restore(saved)
        for k, v in saved.get("landau", {}).items():
            setattr(self, k, v)
        last = saved.get("landau_last")
        self._last = None if last is None else (float(last[0]), np.asarray(last[1]),
                                                np.asarray(last[2]))
