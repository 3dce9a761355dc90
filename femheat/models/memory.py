r"""Multi-mode memory (seed 004 eqs. 23–27): q = Σₘqₘ, τₘ ∂qₘ/∂t + qₘ = −κₘ∇T.

A material gives its spectrum as ``modes = [{conductivity, relaxation_time}, ...]``
(:class:`~femheat.physics.memory.MemoryMaterial`); a material without ``modes`` is
the single MCV mode (κ, τ). The static conductivity κ = Σκₘ (eq. 27) is what steady
runs use and what is reported. Transient runs eliminate the mode fluxes in the
θ-scheme (:mod:`femheat.solve.memory`): with modes of one spatial shape, M modes
cost one MCV-sized solve per step, exactly.

**With a nonlocal length** (``nonlocal_length`` = l > 0 in some material) the
Guyer–Krumhansl viscous term acts on the total flux (issue 11 item 1):

.. math::

    \tau_m \partial_t q_m + q_m = -\kappa_m\Bigl(\nabla T
        - \kappa^{-1} l^2 (\nabla^2 q + \beta\nabla\nabla\cdot q)\Bigr),
    \qquad q = \sum_m q_m ,

i.e. each mode is driven by the same generalized force, so that summing the modes
gives Σₘ(τₘ∂ₜqₘ + qₘ) = −κ∇T + l²(∇²q + β∇∇·q): one mode is exactly the GK law, and
in the frequency domain (κ/κ(ω)) κ⁻¹q̂ = −∇T̂ + κ⁻¹l²(∇²q̂ + β∇∇·q̂), the flux
impedance Z(ω) = (κ/κ(ω)) P + K_ext with the viscous operator in K_ext. The weak
term, its interior penalty and the wall conditions are GK's
(:func:`~femheat.models.gk.gk_flux_operators`, in (r, z) too), on the GK element
pair (BDM1 × P0, BDM2 × P1DG); the options ``beta`` and ``penalty`` and the
``walls`` are those of the gk model. Being part of K_ext, the term costs nothing in
the mode elimination.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

import numpy as np
import skfem

from ..assembly.rotation import formed_resistance
from ..errors import FemheatInputError

from ..physics.memory import MemoryMaterial, material_modes
from ..registry import register
from ..solve.memory import MemoryState, memory_operators, memory_steps
from ..solve.steady import State
from .gk import check_gk_options, gk_flux_operators, gk_problem_elements
from .mixed import FluxOperators, MixedModel

__all__ = ["MemoryModel", "has_nonlocal_length"]


def has_nonlocal_length(problem) -> bool:
    """True if some material gives a nonlocal length l > 0 (or l as a function)."""
    return any(callable(m.nonlocal_length) or np.any(np.asarray(m.nonlocal_length) > 0)
               for m in problem.materials.values())


class MemoryModel(MixedModel):
    """Sum of exponential flux modes in the mixed RT–DG form."""

    name = "memory"
    description = ("multi-mode memory: q = sum q_m, tau_m dq_m/dt + q_m = -kappa_m grad T "
                   "(Prony series of a Zwanzig kernel); optional GK term l^2 lap q on the "
                   "total flux")
    has_inertia = True
    material_keys = {
        "conductivity": "kappa, W/(m K) (single-mode material; with modes: sum of kappa_m)",
        "heat_capacity": "C = rho c, J/(m^3 K)",
        "relaxation_time": "tau, s (single-mode material)",
        "modes": "[{conductivity = kappa_m, relaxation_time = tau_m}, ...] (W/(m K), s)",
        "nonlocal_length": "l, m: GK term l^2 (lap q + beta grad div q) on the total flux "
                           "(0: none)",
    }
    transient_material_keys: dict = {}
    options = {"degree": "polynomial degree: 0 or 1 (RT x DG; with a nonlocal length "
                         "BDM1 x P0 or BDM2 x P1DG)",
               "beta": "with a nonlocal length: 2 (Guyer-Krumhansl 1966) or 0",
               "penalty": "with a nonlocal length: interior-penalty factor eta >= 1",
               "viscous": "with a nonlocal length: 'auto' (default: 'vorticity' in "
                          "2D with constant l^2/kappa > 0 per material and no free "
                          "Kapitza interface; else "
                          "'penalty'), 'penalty' or 'vorticity'"}

    def parse_options(self, table: Mapping[str, Any], where: str) -> dict:
        out = super().parse_options(table, where)
        if "beta" in table:
            out["beta"] = table["beta"]
        penalty = table.get("penalty", 1.0)
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)):
            raise FemheatInputError(f"{where}.penalty must be a number, got {penalty!r}")
        out["penalty"] = float(penalty)
        out["viscous"] = table.get("viscous", "auto")  # checked by check_vorticity
        return out

    def has_viscous_term(self, problem) -> bool:
        """With a nonlocal length the GK term acts on the total flux."""
        return has_nonlocal_length(problem)

    def validate(self, problem) -> None:
        if not has_nonlocal_length(problem):
            if problem.walls:
                raise FemheatInputError(
                    f"wall conditions {sorted(problem.walls)} act on the tangential flux "
                    "through the nonlocal length; give materials a nonlocal_length > 0 (m) "
                    "or remove the walls")
            return super().validate(problem)
        check_gk_options(problem)
        for name, mat in problem.materials.items():
            if getattr(mat, "quartic", 0.0):
                raise FemheatInputError(
                    f"materials.{name}.landau: the quartic term is not available in the "
                    "memory model; use model 'gk'")

    def problem_elements(self, problem) -> tuple[skfem.Element, skfem.Element, int]:
        if has_nonlocal_length(problem):
            return gk_problem_elements(problem)
        return self.elements(problem.regions.mesh, problem.degree)

    def flux_operators(self, problem, flux_basis, temperature_basis, intorder, flux_degree,
                       fields) -> FluxOperators:
        if not has_nonlocal_length(problem):
            return FluxOperators()
        return gk_flux_operators(problem, flux_basis, temperature_basis, intorder,
                                 flux_degree)

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

    def flux_impedance(self, system, omega: float, kept_rotation: bool = False):
        """Z(ω) = (κ/κ(ω)) P + K_ext, κ(ω) = Σκₘ/(1 + iωτₘ) (K_ext: Kapitza, convection
        and the viscous l² term on the total flux): the exact elimination of
        the mode amplitudes q̂ₘ = wₘ/(1 + iωτₘ) P⁻¹c when the modes share one shape.
        ``kept_rotation``: K_ext without the vorticity form's Cᵀ M_ω⁻¹ C, which the
        caller keeps in factors (in 3D K_ext is not formed otherwise)."""
        ops = memory_operators(system)
        if not ops.shared:
            raise FemheatInputError(
                "frequency study of the memory model: the modes of the materials must share "
                "one spatial shape (kappa_m = w_m kappa(x), constant tau_m, the same "
                "spectrum in every material); give every material the same modes")
        ratio = complex(np.sum(ops.weights / (1.0 + 1j * omega * ops.times)))  # kappa(w)/kappa
        if kept_rotation:
            external = ops.external_base
        else:
            formed_resistance(system, "Z(omega) as a matrix (flux_impedance)")  # 3D form
            external = ops.external
        return (ops.bulk / ratio + external).tocsr()

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
