"""The statement of a heat-conduction problem on a mesh with named regions.

A :class:`HeatProblem` names the materials per subdomain, a condition on every
boundary, Kapitza resistances on interfaces, a volumetric source, the
constitutive model (a name in :data:`femheat.registry.MODELS`) and the element
degree. It is validated when created, before anything is assembled:
generic checks here, model-specific ones by the registered model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from .axisymmetric import axis_boundaries, axis_facets, check_coordinates
from ..errors import BoundaryConditionError, FemheatInputError, RegionError
from ..mesh.regions import RegionMesh
from ..physics.conditions import (BoundaryCondition, Convection, FreeSlip, HeatFlux,
                                  KapitzaResistance, NoSlip, SlipLength, TangentialFlux,
                                  Temperature, Value, WallCondition)
from ..element.spaces import quadrature_order
from ..physics.kapitza import check_interfaces
from ..physics.materials import Material
from ..registry import get_model
from ..validation import finite_array
from .viscous_choice import auto_reason, viscous_form

__all__ = ["HeatProblem"]

log = logging.getLogger(__name__)


@dataclass
class HeatProblem:
    """A heat-conduction problem on a mesh with named regions.

    Parameters
    ----------
    regions
        Mesh with named subdomains, boundaries and interfaces.
    materials
        Subdomain name -> :class:`~femheat.physics.materials.Material`.
    boundary_conditions
        Boundary name -> :class:`~femheat.physics.conditions.Temperature`,
        :class:`~femheat.physics.conditions.HeatFlux` or
        :class:`~femheat.physics.conditions.Convection`. Every boundary needs one.
    interfaces
        Interface name -> :class:`~femheat.physics.conditions.KapitzaResistance`.
        Interfaces not listed are in perfect contact (still reported).
    source
        Volumetric heat source Q [W m⁻³]: constant or ``f(x, t)``.
    model
        Name of a registered model (:data:`femheat.registry.MODELS`):
        ``"fourier"`` (τ ignored), ``"mcv"`` or ``"gk"`` (uses each material's
        ``nonlocal_length``).
    degree
        Polynomial degree of the mixed pair (0 or 1).
    beta
        GK only: 2 for ∇²q + 2∇∇·q (Guyer & Krumhansl 1966), 0 for ∇²q (seed 004
        eq. 19). Longitudinal (temperature-driven) modes feel (1+β)l².
    walls
        GK only: boundary name -> :class:`~femheat.physics.conditions.NoSlip`,
        :class:`~femheat.physics.conditions.FreeSlip` or
        :class:`~femheat.physics.conditions.SlipLength` for the tangential flux, or
        :class:`~femheat.physics.conditions.TangentialFlux` to prescribe it. Boundaries
        not listed are stress-free (free slip on an impermeable wall).
    penalty
        GK only: interior-penalty factor η ≥ 1 (see :mod:`femheat.assembly.gk`).
    viscous
        GK (and the memory model with a nonlocal length) only: discretization of the viscous
        term, ``"auto"`` (default: the vorticity form where both forms model the same
        problem, in 2D with constant κ and l per material (one ν = l²/κ or
        several, l = 0 included; κ a scalar or a symmetric tensor) and no Kapitza interface with a free tangential flux
        that ends inside a viscous region, in 2D and 3D; the penalty
        form elsewhere: :mod:`femheat.assembly.viscous_choice`), ``"penalty"`` (BDM fluxes
        with an interior penalty, :mod:`femheat.assembly.gk`) or ``"vorticity"`` (2D: BDM1
        fluxes and a P2 vorticity at degree 0, BDM2 and a P3 vorticity at degree 1 (lumped
        in closed domains; consistent and kept as an unknown otherwise), with the penalty
        form's conditions where heat crosses a boundary
        (:mod:`femheat.assembly.vorticity_open`, 3D: :mod:`femheat.assembly.vorticity_open3d`); (r, z): RT0 fluxes and the stream function
        rω in lumped P1 at degree 0; 3D: the BDM fluxes with a first-kind Nédélec
        vorticity of order 2 (degree 0) or 3 (degree 1) kept as an unknown; :mod:`femheat.assembly.vorticity`; no spurious slow temperature modes).
    coordinates
        ``"cartesian"`` (default) or ``"axisymmetric"``: the 2D mesh is the (r, z)
        meridian section of a body of revolution (x = r ≥ 0, y = z), integrals carry
        2πr (:mod:`femheat.assembly.axisymmetric`), heat flows are in W. Boundaries on
        the axis r = 0 need no condition (symmetry is natural there).

    The generic checks (regions, materials, conditions) are made here; the
    model's own (degree, β, penalty, walls) by its registered
    :meth:`~femheat.registry.Model.validate`.
    """

    regions: RegionMesh
    materials: Mapping[str, Material]
    boundary_conditions: Mapping[str, BoundaryCondition]
    interfaces: Mapping[str, KapitzaResistance] = field(default_factory=dict)
    source: Optional[Value] = None
    model: str = "mcv"
    degree: int = 0
    beta: int = 2
    walls: Mapping[str, WallCondition] = field(default_factory=dict)
    penalty: float = 1.0
    coordinates: str = "cartesian"
    viscous: str = "auto"

    def __post_init__(self) -> None:
        model = get_model(self.model, "model")
        rm = self.regions
        check_coordinates(rm, self.coordinates)
        axis = axis_boundaries(rm) if self.axisymmetric else []
        for name in axis:
            bc = self.boundary_conditions.get(name)
            if bc is not None and not (isinstance(bc, HeatFlux) and not callable(bc.value)
                                       and np.all(np.asarray(bc.value) == 0)):
                raise BoundaryConditionError(
                    f"boundaries.{name} lies on the axis r = 0 of an axisymmetric problem, "
                    f"where symmetry is natural and needs no condition; got {bc!r}: remove "
                    "it (or give heat_flux = 0)")
        for name, wall in self.walls.items():
            if name in rm.interfaces:
                raise RegionError(
                    f"walls.{name}: {name!r} is an interface, not a boundary; a wall (slip) "
                    "condition applies to exterior boundaries; set the tangential behaviour "
                    "of an interface with KapitzaResistance(..., tangential='free')")
            rm.boundary(name)
            if not isinstance(wall, (NoSlip, FreeSlip, SlipLength, TangentialFlux)):
                raise FemheatInputError(
                    f"walls.{name} must be NoSlip, FreeSlip, SlipLength or TangentialFlux, "
                    f"got {wall!r}")
        for name, mat in self.materials.items():
            rm.subdomain(name)
            if not isinstance(mat, Material):
                raise FemheatInputError(f"materials.{name} must be a Material, got {mat!r}")
        missing = [n for n in rm.subdomain_names if n not in self.materials]
        if missing:
            raise RegionError(
                f"no material for subdomain(s) {missing}; every subdomain of the mesh "
                f"({', '.join(map(repr, rm.subdomain_names))}) needs one"
            )
        for name, bc in self.boundary_conditions.items():
            rm.boundary(name)
            if not isinstance(bc, (Temperature, HeatFlux, Convection)):
                raise FemheatInputError(
                    f"boundary_conditions.{name} must be Temperature, HeatFlux or "
                    f"Convection, got {bc!r}"
                )
        unset = [n for n in rm.boundaries if n not in self.boundary_conditions
                 and n not in axis]
        if unset:
            raise BoundaryConditionError(
                f"boundary {', '.join(map(repr, unset))} has no condition; give each a "
                "temperature, heat_flux (0 for insulated) or convection condition"
            )
        orphan = rm.unassigned_boundary_facets()
        if self.axisymmetric and orphan.size:
            orphan = np.setdiff1d(orphan, axis_facets(rm))
        if orphan.size:
            raise BoundaryConditionError(
                f"{orphan.size} exterior facets belong to no named boundary, so they "
                "would get no condition; add them to a physical group in gmsh"
            )
        for name, rk in self.interfaces.items():
            if not rm.interface(name).size:
                raise FemheatInputError(
                    f"interfaces.{name}: no facet of the mesh lies on this interface (the "
                    "mesh does not resolve it); mesh the interface's surface, or drop its "
                    "condition")
            if not isinstance(rk, KapitzaResistance):
                raise FemheatInputError(
                    f"interfaces.{name} must be a KapitzaResistance, got {rk!r}"
                )
        check_interfaces(rm, self.interfaces, quadrature_order(self.degree))  # variable R_K
        if self.source is not None and not callable(self.source):
            finite_array(self.source, "source")
        model.validate(self)  # degree, model options, walls (femheat.models)
        if self.viscous == "auto" and model.has_viscous_term(self):
            reason = auto_reason(self)
            log.info("model.viscous = 'auto': the %s form (%s)",
                     "penalty" if reason else "vorticity",
                     reason or "both forms model this problem: femheat.assembly.viscous_choice")

    @property
    def viscous_form(self) -> str:
        """The discretization of the GK viscous term this problem gets, ``"penalty"`` or
        ``"vorticity"`` (``viscous``, or what ``"auto"`` chooses)."""
        return viscous_form(self)

    @property
    def axisymmetric(self) -> bool:
        """True for an (r, z) problem (``coordinates = "axisymmetric"``)."""
        return self.coordinates == "axisymmetric"

    @property
    def has_temperature_reference(self) -> bool:
        """True if some boundary fixes the temperature level (Dirichlet or convection)."""
        return any(isinstance(bc, (Temperature, Convection))
                   for bc in self.boundary_conditions.values())

    @property
    def time_dependent_loads(self) -> bool:
        return callable(self.source) or any(
            bc.time_dependent for bc in self.boundary_conditions.values())
