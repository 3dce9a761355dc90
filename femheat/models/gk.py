"""Guyer–Krumhansl: τ ∂q/∂t + q = −κ∇T + l²(∇²q + β∇∇·q), and its
Landau–Khalatnikov variant with the quartic term (b/a)|q|²q (seed 000).

Discretized in the symmetric Landau–Khalatnikov form with an H(div)-conforming
interior penalty (:mod:`femheat.assembly.gk`); wall conditions act on the
tangential flux. A steady run with a quartic material is solved by Newton's
method (:mod:`femheat.solve.newton`).
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import skfem

from ..assembly.gk import (MIN_PENALTY, gk_operator, tangential_flux_load, wall_coupling,
                           weak_walls)
from ..assembly.problem import HeatProblem
from ..assembly.vorticity import check_vorticity, uses_vorticity, vorticity_operator
from ..element.spaces import gk_elements, mixed_elements
from ..errors import FemheatInputError
from ..registry import register
from ..solve.newton import newton_steady
from ..solve.steady import State, solve_linear_steady
from ..validation import finite_array
from .mixed import FluxOperators, MixedModel, refuse_ordered_steady

__all__ = ["GKModel", "GK_BETAS", "check_gk_options", "check_axisymmetric_gk",
           "gk_flux_operators", "gk_problem_elements"]

#: Accepted β of the GK law: 0 (seed 004 eq. 19, "simplified") and 2
#: (Guyer & Krumhansl 1966).
GK_BETAS = (0, 2)


def check_gk_options(problem: HeatProblem) -> None:
    """The checks of the viscous (l²) term's options, shared by the gk and memory
    models: the degree of the GK pair, β, the penalty η, the viscous form
    (:func:`~femheat.assembly.viscous_choice.check_vorticity`), and in (r, z)
    :func:`check_axisymmetric_gk`."""
    check_vorticity(problem)
    gk_elements(problem.regions.mesh, problem.degree)  # validates the degree
    if problem.beta not in GK_BETAS:
        raise FemheatInputError(
            f"beta = {problem.beta!r} is not supported; use 2 (Guyer-Krumhansl 1966, "
            "lap q + 2 grad div q) or 0 (seed 004 eq. 19, lap q)")
    pen = float(finite_array(problem.penalty, "penalty"))
    if pen < MIN_PENALTY:
        raise FemheatInputError(
            f"penalty = {pen} is below the stability bound {MIN_PENALTY} of the "
            "interior-penalty method; use a value >= 1 (the default)")
    if getattr(problem, "axisymmetric", False):
        check_axisymmetric_gk(problem)


def check_axisymmetric_gk(problem: HeatProblem) -> None:
    """Refuse what the (r, z) viscous forms (:mod:`femheat.assembly.axisymmetric`) do
    not cover: anisotropic κ (ν_θθ unknown), walls given a smooth ``normal``, walls
    on the axis, and the Landau quartic term."""
    from ..assembly.axisymmetric import axis_boundaries

    where = "mesh.coordinates = 'axisymmetric' with the viscous l^2 term"
    for name, mat in problem.materials.items():
        k = mat.conductivity
        if not callable(k) and not isinstance(k, str) and np.ndim(k) > 0:
            raise FemheatInputError(
                f"materials.{name}.conductivity: {where} needs an isotropic (scalar) "
                f"conductivity, got {np.asarray(k).tolist()!r} (the hoop component of "
                "l^2 kappa^-1 is not defined by the (r, z) tensor); use a scalar, or a "
                "3D mesh")
        if getattr(mat, "quartic", 0.0):
            raise FemheatInputError(
                f"materials.{name}.landau: the quartic term is not available with {where}; "
                "use b = 0 or a 3D mesh")
    axis = set(axis_boundaries(problem.regions))
    for name, wall in problem.walls.items():
        if name in axis:
            raise FemheatInputError(
                f"walls.{name} lies on the axis r = 0, where q_r = 0 and dq_z/dr = 0 are "
                "natural; remove the wall condition")
        if getattr(wall, "normal", None) is not None:
            raise FemheatInputError(
                f"walls.{name}: a smooth wall normal (weak impermeability) is not "
                f"available with {where}; drop normal= (the facet normals are used)")


def gk_problem_elements(problem: HeatProblem) -> tuple[skfem.Element, skfem.Element, int]:
    """The element pair of the viscous term's discretization: BDM_{k+1} × P_k with the
    interior penalty and with the vorticity form (triangles and tetrahedra); RT0 × P0
    with the vorticity form in (r, z) (degree 0)."""
    mesh = problem.regions.mesh
    axisymmetric = getattr(problem, "coordinates", "cartesian") == "axisymmetric"
    if uses_vorticity(problem) and problem.degree == 0 and axisymmetric:
        # RT0 × P0: the curl of the P1 stream function is RT0's divergence-free part
        q, t = mixed_elements(mesh, problem.degree)
        return q, t, problem.degree + 1
    return gk_elements(mesh, problem.degree)


def gk_flux_operators(problem: HeatProblem, flux_basis: skfem.CellBasis,
                      temperature_basis: skfem.CellBasis, intorder: int,
                      flux_degree: int) -> FluxOperators:
    """The viscous term, its walls and their loads as :class:`FluxOperators` (gk model,
    and the memory model with a nonlocal length: the term on the total flux)."""
    if uses_vorticity(problem):
        extra, load, rotation = vorticity_operator(problem, flux_basis, intorder)
        return FluxOperators(extra, None, {}, load, rotation)
    extra = gk_operator(problem, flux_basis, intorder, flux_degree)
    weak = weak_walls(problem)  # curved walls made impermeable weakly
    W = wall_coupling(problem, flux_basis, temperature_basis, intorder) if weak else None
    load = tangential_flux_load(problem, flux_basis, intorder, flux_degree)
    return FluxOperators(extra, W, weak, load)


class GKModel(MixedModel):
    """τ ∂q/∂t + q = −κ∇T + l²(∇²q + β∇∇·q); options ``beta`` and ``penalty``."""

    name = "gk"
    description = ("Guyer-Krumhansl: tau dq/dt + q = -kappa grad T + l^2 (lap q + "
                   "beta grad div q); Landau-Khalatnikov quartic term optional")
    has_inertia = True
    viscous = True
    options = {"degree": "polynomial degree: 0 (BDM1 x P0) or 1 (BDM2 x P1DG)",
               "beta": "2 (Guyer-Krumhansl 1966) or 0 (seed 004 eq. 19)",
               "penalty": "interior-penalty factor eta >= 1",
               "viscous": "'auto' (default: 'vorticity' in 2D with constant l^2/kappa "
                          "per material (l = 0 too) and no free Kapitza interface ending "
                          "inside a viscous region, in 2D and 3D; else 'penalty'), "
                          "'penalty' or "
                          "'vorticity'"}
    required_material_keys = {
        "nonlocal_length": "the gk model needs l (m), 0 for a region without "
                           "hydrodynamic effects"}
    transient_material_keys = {
        "relaxation_time": "the MCV model needs tau (s), or use model.type = \"fourier\""}

    def parse_options(self, table: Mapping[str, Any], where: str) -> dict:
        out = super().parse_options(table, where)
        out["beta"] = table.get("beta", 2)
        penalty = table.get("penalty", 1.0)
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)):
            raise FemheatInputError(f"{where}.penalty must be a number, got {penalty!r}")
        out["penalty"] = float(penalty)
        out["viscous"] = table.get("viscous", "auto")  # checked by check_vorticity
        return out

    def validate(self, problem: HeatProblem) -> None:
        check_gk_options(problem)
        lengths = [m.nonlocal_length for m in problem.materials.values()]
        if lengths and all(not callable(v) and np.all(np.asarray(v) == 0) for v in lengths):
            warnings.warn(
                "model 'gk' with nonlocal_length = 0 in every material: the viscous term "
                "vanishes and this is the MCV law; give l > 0 (m) for hydrodynamic "
                "effects, or use model 'mcv'", UserWarning, stacklevel=4)

    def elements(self, mesh: skfem.Mesh, degree: int) -> tuple[skfem.Element, skfem.Element, int]:
        return gk_elements(mesh, degree)

    def problem_elements(self, problem: HeatProblem
                         ) -> tuple[skfem.Element, skfem.Element, int]:
        return gk_problem_elements(problem)

    def flux_operators(self, problem, flux_basis, temperature_basis, intorder, flux_degree,
                       fields) -> FluxOperators:
        return gk_flux_operators(problem, flux_basis, temperature_basis, intorder,
                                 flux_degree)

    def steady(self, system, **options: Any) -> State:
        refuse_ordered_steady(system)
        mean = options.get("mean_temperature")
        state = solve_linear_steady(system, mean)
        if not system.fields.nonlinear:
            return state
        return newton_steady(system, state, mean, options.get("tol", 1e-10),
                             options.get("max_iterations", 30))

    def summary_extras(self, system, state) -> dict:
        newton = getattr(state, "newton", None)
        return {"newton": newton.summary()} if newton is not None else {}


register(GKModel())
