r"""Multi-mode memory (seed 004 eqs. 23–27): q = Σₘqₘ, τₘ ∂qₘ/∂t + qₘ = −κₘ∇T.

A material gives its spectrum as ``modes = [{conductivity, relaxation_time}, ...]``
(:class:`~femheat.physics.memory.MemoryMaterial`); a material without ``modes`` is
the single MCV mode (κ, τ). The static conductivity κ = Σκₘ (eq. 27) is what steady
runs use and what is reported. Transient runs eliminate the mode fluxes in the
θ-scheme (:mod:`femheat.solve.memory`): with modes of one spatial shape, M modes
cost one MCV-sized solve per step, exactly.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

import numpy as np

from ..physics.memory import MemoryMaterial, material_modes
from ..registry import register
from ..solve.memory import MemoryState, memory_operators, memory_steps
from ..solve.steady import State
from .mixed import MixedModel

__all__ = ["MemoryModel"]


class MemoryModel(MixedModel):
    """Sum of exponential flux modes in the mixed RT–DG form."""

    name = "memory"
    description = ("multi-mode memory: q = sum q_m, tau_m dq_m/dt + q_m = -kappa_m grad T "
                   "(Prony series of a Zwanzig kernel)")
    has_inertia = True
    material_keys = {
        "conductivity": "kappa, W/(m K) (single-mode material; with modes: sum of kappa_m)",
        "heat_capacity": "C = rho c, J/(m^3 K)",
        "relaxation_time": "tau, s (single-mode material)",
        "modes": "[{conductivity = kappa_m, relaxation_time = tau_m}, ...] (W/(m K), s)",
    }
    transient_material_keys: dict = {}

    def initial_state(self, system, temperature: Any = 0.0, flux: Any = None) -> MemoryState:
        s = super().initial_state(system, temperature, flux)
        return MemoryState(s.time, s.temperature, s.flux, memory_operators(system).split(s.flux))

    def steady(self, system, **options: Any) -> MemoryState:
        s = super().steady(system, **options)
        return MemoryState(s.time, s.temperature, s.flux, memory_operators(system).split(s.flux))

    def transient(self, system, dt: float, end: float, theta: float, initial: State,
                  origin: Optional[tuple[float, int]] = None
                  ) -> Iterator[tuple[float, MemoryState]]:
        return memory_steps(system, dt, end, theta, initial, origin=origin)

    def state_arrays(self, state: MemoryState) -> dict[str, np.ndarray]:
        return {"temperature": state.temperature, "flux": state.flux, "modes": state.modes}

    def state_from_arrays(self, system, time: float,
                          arrays: Mapping[str, np.ndarray]) -> MemoryState:
        return MemoryState(time, np.array(arrays["temperature"]), np.array(arrays["flux"]),
                           np.array(arrays["modes"]))

    def flux_impedance(self, system, omega: float):
        """Z(ω) = (κ/κ(ω)) P + K_ext, κ(ω) = Σκₘ/(1 + iωτₘ): the exact elimination of
        the mode amplitudes q̂ₘ = wₘ/(1 + iωτₘ) P⁻¹c when the modes share one shape."""
        ops = memory_operators(system)
        if not ops.shared:
            from ..errors import FemheatInputError

            raise FemheatInputError(
                "frequency study of the memory model: the modes of the materials must share "
                "one spatial shape (kappa_m = w_m kappa(x), constant tau_m, the same "
                "spectrum in every material); give every material the same modes")
        ratio = complex(np.sum(ops.weights / (1.0 + 1j * omega * ops.times)))  # kappa(w)/kappa
        return (ops.bulk / ratio + ops.external).tocsr()

    def summary_extras(self, system, state) -> dict:
        ops = memory_operators(system)
        out: dict = {"memory_modes": ops.count, "mode_elimination":
                     "shared shape: one flux system" if ops.shared else "coupled mode fluxes"}
        spectra = {}
        for name, mat in system.problem.materials.items():
            modes = material_modes(mat)
            if all(not callable(k) and not callable(t) and np.ndim(k) == 0 for k, t in modes):
                spectra[name] = {"static_conductivity": float(sum(k for k, _ in modes)),
                                 "modes": [[float(k), float(t)] for k, t in modes]}
        out["memory_spectra"] = spectra
        return out


register(MemoryModel())
