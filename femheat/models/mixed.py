"""The mixed RT–DG family of models: their shared route through the pipeline.

Fourier, MCV and GK (with its Landau–Khalatnikov variant) share one problem
statement (:class:`~femheat.assembly.problem.HeatProblem`), one assembler
(:func:`~femheat.assembly.system.assemble`), one θ-scheme, one VTU writer and
one energy audit. A model of the family says only what differs (see
:class:`MixedModel`): whether the flux has inertia (τ ∂q/∂t), which element pair
it needs, which extra flux operators it adds, and its ``[model]`` options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import numpy as np
import scipy.sparse as sp
import skfem

from ..analysis.postprocess import (EnergyBalance, boundary_heat_flow, interface_heat_flow,
                                    interface_report, steady_energy_balance,
                                    vertex_temperature)
from ..assembly.problem import HeatProblem
from ..assembly.system import MixedSystem, assemble
from ..assembly.rotation import VorticityMass, formed_resistance
from ..element.spaces import mixed_elements
from ..errors import FemheatInputError
from ..io.writers import VTKSeriesWriter
from ..registry import Model
from ..solve.steady import State, solve_linear_steady
from ..solve.landau import landau_active, landau_steps
from ..solve.timestepping import initial_state, theta_steps

__all__ = ["MixedModel", "FluxOperators", "refuse_ordered_steady"]


def refuse_ordered_steady(system: MixedSystem) -> None:
    """Refuse a steady solve with a Landau material with a < 0 (ill-posed)."""
    if system.fields.ordered:
        raise FemheatInputError(
            "a steady solve with a Landau material with a < 0 is ill-posed: the ordered "
            "law a q + b|q|^2 q - lambda lap q = -zeta grad T has many solutions (q = 0, "
            "+-sqrt(-a/b) domains, vortices) and q = 0 is unstable; run it transient "
            "([time] section) and let the flux order")


class FluxOperators:
    """What a model adds to the flux block: A += ``extra``; ``coupling`` W makes the
    flux equation's temperature term −(B + W)ᵀT; ``weak_walls`` are walls whose
    normal flux is not fixed strongly (name -> condition); ``load(t)`` is added to
    the flux equation's load f(t) (e.g. GK walls with a prescribed tangential flux);
    ``rotation`` = (C, M_ω) adds A += Cᵀ M_ω⁻¹ C, kept in factors (the vorticity form
    of :mod:`femheat.assembly.vorticity`, M_ω a
    :class:`~femheat.assembly.rotation.VorticityMass`: ω = M_ω⁻¹ C q may be, and in
    3D must be, kept as an unknown)."""

    def __init__(self, extra: Optional[sp.spmatrix] = None,
                 coupling: Optional[sp.spmatrix] = None,
                 weak_walls: Optional[Mapping[str, Any]] = None,
                 load: Optional[Callable[[float], np.ndarray]] = None,
                 rotation: Optional[tuple[sp.spmatrix, VorticityMass]] = None):
        self.extra, self.coupling = extra, coupling
        self.weak_walls = dict(weak_walls or {})
        self.load = load
        self.rotation = rotation


class MixedModel(Model):
    """Base of the mixed models: q in H(div) (Raviart–Thomas/BDM), T in DG.

    Attributes
    ----------
    has_inertia
        True if the law has τ ∂q/∂t (MCV, GK); False drops τ (Fourier).
    viscous
        True if the law has the l² viscous term (GK): wall conditions apply, the
        iterative solver uses its auxiliary-space flux preconditioner.
    """

    family = "mixed"
    has_inertia: bool = True
    viscous: bool = False
    options = {"degree": "polynomial degree of the mixed pair: 0 or 1"}
    material_keys = {
        "conductivity": "kappa, W/(m K): number, tensor or expression of x, y, z",
        "heat_capacity": "C = rho c, J/(m^3 K)",
        "relaxation_time": "tau, s",
        "nonlocal_length": "l, m (gk)",
        "landau": "{a, b, c, Gamma, lambda, zeta} (gk; a < 0 transient only)",
    }
    fields = ("temperature", "heat_flux", "temperature_mean", "heat_flux_mean",
              "heat_flux_magnitude", "material_id")

    # --- case file ---------------------------------------------------------
    def has_viscous_term(self, problem) -> bool:
        return self.viscous

    def parse_options(self, table: Mapping[str, Any], where: str) -> dict:
        unknown = sorted(set(table) - set(self.options))
        if unknown:
            raise FemheatInputError(
                f"{where}: unknown key(s) {unknown} for model {self.name!r}; allowed: "
                f"type, {', '.join(sorted(self.options))}")
        degree = table.get("degree", 0)
        if not isinstance(degree, int) or isinstance(degree, bool):
            raise FemheatInputError(f"{where}.degree must be an integer, got {degree!r}")
        return {"degree": degree}

    def build_problem(self, *, regions, materials, boundary_conditions, interfaces,
                      source=None, walls=None, options=None, **_) -> HeatProblem:
        return HeatProblem(regions, materials, boundary_conditions, interfaces, source,
                           self.name, walls=walls or {}, **(options or {}))

    # --- problem and assembly hooks ----------------------------------------
    def validate(self, problem: HeatProblem) -> None:
        self.elements(problem.regions.mesh, problem.degree)  # checks the degree
        if problem.walls:
            raise FemheatInputError(
                f"wall conditions {sorted(problem.walls)} need the gk model (they act on "
                f"the tangential flux through l); model is {problem.model!r} (case file: "
                f"remove the keys wall, slip_coefficient, wall_flux and surface_normal "
                f"from [boundaries.{sorted(problem.walls)[0]}], or use the gk model)")
        if getattr(problem, "viscous", "penalty") not in ("auto", "penalty"):
            raise FemheatInputError(
                f"model.viscous = {problem.viscous!r} discretizes the GK viscous (l^2) "
                f"term; model {problem.model!r} has none (use the gk model)")

    def elements(self, mesh: skfem.Mesh, degree: int) -> tuple[skfem.Element, skfem.Element, int]:
        """(flux element, temperature element, flux polynomial degree)."""
        q, t = mixed_elements(mesh, degree)
        return q, t, degree + 1

    def problem_elements(self, problem: HeatProblem
                         ) -> tuple[skfem.Element, skfem.Element, int]:
        """The element pair of ``problem`` (default :meth:`elements` of its mesh and
        degree; the memory model picks the GK pair when a nonlocal length is given)."""
        return self.elements(problem.regions.mesh, problem.degree)

    def flux_operators(self, problem: HeatProblem, flux_basis: skfem.CellBasis,
                       temperature_basis: skfem.CellBasis, intorder: int,
                       flux_degree: int, fields) -> FluxOperators:
        """Model-specific additions to the flux block (none for Fourier/MCV)."""
        return FluxOperators()

    # --- pipeline ----------------------------------------------------------
    def assemble(self, problem: HeatProblem) -> MixedSystem:
        return assemble(problem)

    def steady(self, system: MixedSystem, **options: Any) -> State:
        refuse_ordered_steady(system)
        if system.fields.nonlinear:
            raise FemheatInputError(
                f"model {self.name!r} has no steady solver for the Landau-Khalatnikov "
                "terms b, c > 0 (it would drop them); use model.type = \"gk\"")
        return solve_linear_steady(system, options.get("mean_temperature"))

    def initial_state(self, system: MixedSystem, temperature: Any = 0.0,
                      flux: Any = None) -> State:
        return initial_state(system, temperature, flux)

    def transient(self, system: MixedSystem, dt: float, end: float, theta: float,
                  initial: State, origin: Optional[tuple[float, int]] = None
                  ) -> Iterator[tuple[float, State]]:
        if landau_active(system):  # b > 0, c > 0 or a < 0: Newton per step
            return landau_steps(system, dt, end, theta, initial, origin=origin)
        return theta_steps(system, dt, end, theta, initial, origin=origin)

    def state_arrays(self, state: State) -> dict[str, np.ndarray]:
        """The arrays of a state, for a restart file."""
        return {"temperature": state.temperature, "flux": state.flux}

    def state_from_arrays(self, system: MixedSystem, time: float,
                          arrays: Mapping[str, np.ndarray]) -> State:
        return State(time, np.array(arrays["temperature"]), np.array(arrays["flux"]))

    def energy_balance(self, system: MixedSystem, theta: float) -> EnergyBalance:
        if landau_active(system):  # + the quadratic energy identity, every step
            from ..analysis.landau import LandauEnergyBalance

            return LandauEnergyBalance(system, theta)
        return EnergyBalance(system, theta)

    def steady_energy_balance(self, system: MixedSystem, state: State) -> float:
        return steady_energy_balance(system, state)

    def dofs(self, system: MixedSystem) -> dict:
        """Unknowns per field, the vorticity form's active vorticity DOFs included
        (:mod:`femheat.assembly.vorticity`; unknowns of the solves unless a lumped mass
        is eliminated, ``FEMHEAT_VORTICITY_SOLVE=formed``)."""
        out = {"flux": system.n_flux, "temperature": system.n_temperature}
        if system.rotation is not None:
            out["vorticity"] = system.rotation[1].size
        return {**out, "total": sum(out.values())}

    def boundary_heat_flow(self, system: MixedSystem, state: State) -> dict[str, float]:
        return boundary_heat_flow(system, state.flux)

    def interface_heat_flow(self, system: MixedSystem, state: State) -> dict[str, float]:
        return interface_heat_flow(system, state.flux)

    def interface_summary(self, system: MixedSystem, state: State) -> dict:
        return {n: r.summary() for n, r in interface_report(system, state).items()}

    def vertex_temperature(self, system: MixedSystem, state: State) -> np.ndarray:
        """T at each cell's vertices, (d + 1, cells): jumps between cells kept."""
        return vertex_temperature(system, state)

    def writer(self, system: MixedSystem, directory: str | Path,
               format: str = "vtu") -> VTKSeriesWriter:
        """The field series writer: VTU/PVD, or XDMF + HDF5 (``format="xdmf"``)."""
        if format == "xdmf":
            from ..io.xdmf import XDMFSeriesWriter

            return XDMFSeriesWriter(system, directory)
        return VTKSeriesWriter(system, directory)

    def flux_impedance(self, system: MixedSystem, omega: float,
                       kept_rotation: bool = False) -> sp.csr_matrix:
        """Z(ω) = A + iωM, the flux block for fields ∝ e^{iωt}
        (:mod:`femheat.solve.frequency`); ``kept_rotation``: without the vorticity
        form's Cᵀ M_ω⁻¹ C (A₀ for A), which the caller keeps in factors."""
        if landau_active(system):
            raise FemheatInputError(
                "a frequency-domain run linearizes about q = 0; Landau materials with "
                "b > 0, c > 0 or a < 0 are nonlinear or ordered there: use a transient run")
        A = (system.resistance_base if kept_rotation
             else formed_resistance(system, "Z(omega) as a matrix (flux_impedance)"))
        return (A + (1j * omega) * system.inertia).tocsr()

    def summary_extras(self, system: MixedSystem, state: State) -> dict:
        """Model-specific entries of summary.json (e.g. the Newton history)."""
        return {}
