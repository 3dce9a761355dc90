"""Problem definition and assembly of the mixed block system.

A :class:`HeatProblem` states the physics on a :class:`~femheat.mesh.regions.RegionMesh`:
materials per subdomain, a condition on every boundary, Kapitza resistances on
interfaces, a volumetric source, the constitutive model and the element degree.
It is validated when created, before anything is assembled.

:func:`assemble` turns it into a :class:`MixedSystem`, the semi-discrete system

.. math::

    M \\dot q + A q - B^T T = f(t), \\qquad  C \\dot T + B q = F(t)

with M = (τκ⁻¹·,·) (zero for Fourier), A = (κ⁻¹·,·) + Σ⟨R q·n, v·n⟩ (Kapitza
interfaces and convective walls), B = (∇·q, s) and C = (C T, s) block diagonal.
Prescribed normal fluxes fix the boundary flux degrees of freedom. Solvers in
:mod:`femheat.solve.steady` and :mod:`femheat.solve.timestepping` consume this system.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import numpy as np
import scipy.sparse as sp
import skfem
from scipy.sparse.linalg import splu

from . import forms
from ..physics.conditions import (BoundaryCondition, Convection, FreeSlip, HeatFlux,
                         KapitzaResistance, NoSlip, SlipLength, Temperature, Value,
                         WallCondition, evaluate)
from ..errors import BoundaryConditionError, FemheatInputError, RegionError
from ..physics.kapitza import check_interfaces, interface_resistance
from ..physics.materials import CoefficientFields, Material, material_fields
from ..mesh.regions import RegionMesh
from ..element.spaces import gk_elements, mixed_elements, quadrature_order
from ..validation import finite_array

__all__ = ["MODELS", "GK_BETAS", "HeatProblem", "MixedSystem", "assemble",
           "kapitza_matrix"]

log = logging.getLogger(__name__)

#: Constitutive models: Fourier q = −κ∇T, Maxwell–Cattaneo–Vernotte
#: τ ∂q/∂t + q = −κ∇T, and Guyer–Krumhansl τ∂q/∂t + q = −κ∇T + l²(∇²q + β∇∇·q).
MODELS = ("fourier", "mcv", "gk")

#: Accepted β of the GK law: 0 (seed 004 eq. 19, "simplified") and 2
#: (Guyer & Krumhansl 1966).
GK_BETAS = (0, 2)


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
        :class:`~femheat.physics.conditions.SlipLength` for the tangential flux. Boundaries
        not listed are stress-free (free slip on an impermeable wall).
    penalty
        GK only: interior-penalty factor η ≥ 1 (see :mod:`femheat.assembly.gk`).
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

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise FemheatInputError(
                f"model = {self.model!r} is unknown; choose one of {', '.join(MODELS)}"
            )
        rm = self.regions
        if self.model == "gk":
            gk_elements(rm.mesh, self.degree)  # validates the degree
            if self.beta not in GK_BETAS:
                raise FemheatInputError(
                    f"beta = {self.beta!r} is not supported; use 2 (Guyer-Krumhansl 1966, "
                    "lap q + 2 grad div q) or 0 (seed 004 eq. 19, lap q)")
            from .gk import MIN_PENALTY

            pen = float(finite_array(self.penalty, "penalty"))
            if pen < MIN_PENALTY:
                raise FemheatInputError(
                    f"penalty = {pen} is below the stability bound {MIN_PENALTY} of the "
                    "interior-penalty method; use a value >= 1 (the default)")
        else:
            mixed_elements(rm.mesh, self.degree)
            if self.walls:
                raise FemheatInputError(
                    f"wall conditions {sorted(self.walls)} need the gk model (they act on "
                    f"the tangential flux through l); model is {self.model!r}")
        for name, wall in self.walls.items():
            if name in rm.interfaces:
                raise RegionError(
                    f"walls.{name}: {name!r} is an interface, not a boundary; a wall (slip) "
                    "condition applies to exterior boundaries; set the tangential behaviour "
                    "of an interface with KapitzaResistance(..., tangential='free')")
            rm.boundary(name)
            if not isinstance(wall, (NoSlip, FreeSlip, SlipLength)):
                raise FemheatInputError(
                    f"walls.{name} must be NoSlip, FreeSlip or SlipLength, got {wall!r}")
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
        unset = [n for n in rm.boundaries if n not in self.boundary_conditions]
        if unset:
            raise BoundaryConditionError(
                f"boundary {', '.join(map(repr, unset))} has no condition; give each a "
                "temperature, heat_flux (0 for insulated) or convection condition"
            )
        orphan = rm.unassigned_boundary_facets()
        if orphan.size:
            raise BoundaryConditionError(
                f"{orphan.size} exterior facets belong to no named boundary, so they "
                "would get no condition; add them to a physical group in gmsh"
            )
        for name, rk in self.interfaces.items():
            rm.interface(name)
            if not isinstance(rk, KapitzaResistance):
                raise FemheatInputError(
                    f"interfaces.{name} must be a KapitzaResistance, got {rk!r}"
                )
        check_interfaces(rm, self.interfaces, quadrature_order(self.degree))  # variable R_K
        if self.source is not None and not callable(self.source):
            finite_array(self.source, "source")

    @property
    def has_temperature_reference(self) -> bool:
        """True if some boundary fixes the temperature level (Dirichlet or convection)."""
        return any(isinstance(bc, (Temperature, Convection))
                   for bc in self.boundary_conditions.values())

    @property
    def time_dependent_loads(self) -> bool:
        return callable(self.source) or any(
            bc.time_dependent for bc in self.boundary_conditions.values())


@dataclass
class MixedSystem:
    """The assembled semi-discrete mixed system of a :class:`HeatProblem`.

    Attributes
    ----------
    flux_basis, temperature_basis
        scikit-fem ``CellBasis`` of the Raviart–Thomas flux and DG temperature.
    resistance
        A = (κ⁻¹ q, v) + Σ_Γ ⟨R q·n, v·n⟩ (n_q × n_q).
    inertia
        M = (τκ⁻¹ q, v) (n_q × n_q); zero for Fourier.
    divergence
        B = (∇·q, s) (n_T × n_q).
    capacity
        C = (C T, s) (n_T × n_T), block diagonal.
    essential_dofs
        Flux degrees of freedom fixed by prescribed normal fluxes.
    symmetric
        False when a conductivity has an antisymmetric (Hall) part, or when
        :attr:`gradient` differs from ``divergence``.
    wall_coupling
        W (n_T × n_q) on GK walls made impermeable weakly (curved walls given a
        smooth normal, :mod:`femheat.assembly.gk`), else None; see :attr:`gradient`.
    """

    problem: HeatProblem
    flux_basis: skfem.CellBasis
    temperature_basis: skfem.CellBasis
    fields: CoefficientFields
    resistance: sp.csr_matrix
    inertia: sp.csr_matrix
    divergence: sp.csr_matrix
    capacity: sp.csr_matrix
    essential_dofs: np.ndarray
    symmetric: bool
    _flux_load: Callable[[float], np.ndarray]
    _heat_load: Callable[[float], np.ndarray]
    _essential_values: Callable[[float], np.ndarray]
    _cache: dict = field(default_factory=dict, repr=False)
    wall_coupling: Optional[sp.csr_matrix] = field(default=None, repr=False)

    @property
    def gradient(self) -> sp.csr_matrix:
        """G with −GᵀT the temperature term of the flux equation (n_T × n_q).

        Equal to ``divergence`` (B), except on walls whose normal flux is imposed
        weakly, where the boundary term ⟨T, v·n⟩ of ∫∇T·v survives: G = B + W.
        The energy equation always uses B.
        """
        if self.wall_coupling is None:
            return self.divergence
        if "gradient" not in self._cache:
            self._cache["gradient"] = (self.divergence + self.wall_coupling).tocsr()
        return self._cache["gradient"]

    @property
    def n_flux(self) -> int:
        return self.flux_basis.N

    @property
    def n_temperature(self) -> int:
        return self.temperature_basis.N

    @property
    def ndofs(self) -> int:
        return self.n_flux + self.n_temperature

    def _memo(self, key: str, fun: Callable[[float], np.ndarray], t: float) -> np.ndarray:
        """One-entry cache per load: the stepper, the energy balance and the writers
        all ask for the load at the same time level."""
        hit = self._cache.get(key)
        if hit is None or hit[0] != t:
            hit = (t, fun(t))
            self._cache[key] = hit
        return hit[1]

    def flux_load(self, t: float) -> np.ndarray:
        """f(t) = −⟨T_D, v·n⟩ − ⟨T∞, v·n⟩ over temperature and convective boundaries."""
        return self._memo("flux_load", self._flux_load, t)

    def heat_load(self, t: float) -> np.ndarray:
        """F(t) = (Q(t), s)."""
        return self._memo("heat_load", self._heat_load, t)

    def essential_values(self, t: float) -> np.ndarray:
        """Values of the essential flux DOFs (L² projection of the prescribed q·n)."""
        return self._memo("essential_values", self._essential_values, t)

    @property
    def free_dofs(self) -> np.ndarray:
        if "free" not in self._cache:
            mask = np.ones(self.n_flux, dtype=bool)
            mask[self.essential_dofs] = False
            self._cache["free"] = np.nonzero(mask)[0]
        return self._cache["free"]

    @property
    def capacity_inverse(self) -> sp.csr_matrix:
        """C⁻¹, inverted cell block by cell block (exact, no fill-in)."""
        if "Cinv" not in self._cache:
            self._cache["Cinv"] = block_diagonal_inverse(
                self.capacity, self.temperature_basis.element_dofs)
        return self._cache["Cinv"]

    @property
    def energy_weights(self) -> np.ndarray:
        """Row vector e with e·T = ∫ C T dx [J] (3D) or [J m⁻¹] (2D)."""
        if "energy" not in self._cache:
            ones = self.temperature_basis.project(lambda x: 1.0 + 0.0 * x[0])
            self._cache["energy"] = self.capacity @ ones
        return self._cache["energy"]


def block_diagonal_inverse(matrix: sp.spmatrix, element_dofs: np.ndarray) -> sp.csr_matrix:
    """Invert a matrix that is block diagonal with one block per cell.

    ``element_dofs`` (n_local × n_cells) lists each cell's DOFs, as in
    ``basis.element_dofs`` of a discontinuous space.
    """
    nb, ne = element_dofs.shape
    m = matrix.tocsr()
    rows = np.repeat(element_dofs, nb, axis=0)  # (nb*nb, ne): i-major
    cols = np.tile(element_dofs, (nb, 1))
    blocks = np.asarray(m[rows.ravel(), cols.ravel()]).reshape(nb, nb, ne)
    inv = np.linalg.inv(np.moveaxis(blocks, -1, 0))  # (ne, nb, nb)
    data = np.moveaxis(inv, 0, -1).reshape(nb * nb, ne)
    return sp.csr_matrix((data.ravel(), (rows.ravel(), cols.ravel())), shape=m.shape)


def _facet_field(basis: skfem.FacetBasis, pieces, t: float) -> np.ndarray:
    """Evaluate per-boundary values on a FacetBasis built over concatenated facets."""
    x = basis.global_coordinates().value
    out = np.empty(x.shape[1:])
    for sl, value in pieces:
        out[sl] = evaluate(value, x[:, sl], t)
    return out


def assemble(problem: HeatProblem) -> MixedSystem:
    """Assemble the mixed block system of ``problem`` (see module docstring)."""
    rm = problem.regions
    mesh = rm.mesh
    if problem.model == "gk":
        qelem, telem, flux_degree = gk_elements(mesh, problem.degree)
    else:
        qelem, telem = mixed_elements(mesh, problem.degree)
    order = quadrature_order(problem.degree)
    qb = skfem.Basis(mesh, qelem, intorder=order)
    tb = qb.with_element(telem)
    x = qb.global_coordinates().value
    fields = material_fields(rm, problem.materials, x)
    if problem.model == "fourier":
        fields.inertia[...] = 0.0
        fields.relaxation_time[...] = 0.0

    A = forms.flux_mass.assemble(qb, kinv=fields.resistivity)
    M = forms.flux_mass.assemble(qb, kinv=fields.inertia) if problem.model != "fourier" \
        else sp.csr_matrix((qb.N, qb.N))
    if problem.model == "gk":
        if not fields.isotropic:
            raise FemheatInputError(
                "the gk model needs an isotropic (scalar) conductivity: the viscous term "
                "l^2 kappa^-1 is a scalar coefficient; give scalar conductivities")
        from .gk import gk_operator

        A = A + gk_operator(problem, qb, order, flux_degree)
    B = forms.divergence.assemble(qb, tb)
    weak: dict = {}
    W = None
    if problem.model == "gk":  # curved walls made impermeable weakly (femheat.assembly.gk)
        from .gk import wall_coupling, weak_walls

        weak = weak_walls(problem)
        if weak:
            W = wall_coupling(problem, qb, tb, order)
    C = forms.capacity.assemble(tb, heat_capacity=fields.heat_capacity)

    # Kapitza interfaces: one facet term on interior facets, no mesh splitting
    kap = {n: r for n, r in problem.interfaces.items() if r.variable or r.resistance > 0}
    if kap:
        A = A + kapitza_matrix(rm, qelem, order, kap)

    # boundary conditions grouped by kind
    bcs = problem.boundary_conditions
    natural = [(n, bc) for n, bc in bcs.items() if isinstance(bc, (Temperature, Convection))]
    convective = [(n, bc) for n, bc in bcs.items() if isinstance(bc, Convection)]
    fluxes = [(n, bc) for n, bc in bcs.items() if isinstance(bc, HeatFlux) and n not in weak]

    if convective:
        facets, pieces = _gather_boundaries(
            rm, [(n, 1.0 / bc.heat_transfer_coefficient) for n, bc in convective])
        cb = skfem.FacetBasis(mesh, qelem, facets=facets, intorder=order)
        A = A + forms.normal_resistance.assemble(cb, resistance=_facet_field(cb, pieces, 0.0))

    flux_load = _natural_load(rm, qelem, order, natural, qb.N)
    essential_dofs, essential_values = _essential_flux(rm, qb, qelem, order, fluxes)

    _cache: dict = {}

    def heat_load(t: float) -> np.ndarray:
        if problem.source is None:
            return np.zeros(tb.N)
        if not callable(problem.source) and "F" in _cache:
            return _cache["F"]
        Q = evaluate(problem.source, x, t)
        if not np.all(np.isfinite(Q)):
            raise FemheatInputError(f"source returned non-finite values at t = {t} s")
        F = forms.heat_source.assemble(tb, source=np.asarray(Q))
        if not callable(problem.source):
            _cache["F"] = F
        return F

    log.info("assembled %s system: %d flux + %d temperature DOFs",
             problem.model, qb.N, tb.N)
    return MixedSystem(problem, qb, tb, fields, A.tocsr(), M.tocsr(), B.tocsr(), C.tocsr(),
                       essential_dofs, fields.symmetric and W is None, flux_load, heat_load,
                       essential_values, wall_coupling=W)


def kapitza_matrix(regions: RegionMesh, flux_element: skfem.Element, intorder: int,
                   resistances: Mapping[str, float | KapitzaResistance]) -> sp.csr_matrix:
    r"""Kapitza term Σ_Γ ⟨R_Γ(x) q·n, v·n⟩_Γ over named interfaces [m K W⁻¹ · W² m⁻⁴ · m].

    ``resistances`` maps interface names to R_K [m² K W⁻¹]: a number, or a
    :class:`~femheat.physics.conditions.KapitzaResistance` whose R_K may vary along
    the interface (a function evaluated at the facet quadrature points, or one value
    per facet). Constant interfaces with R_K = 0 (perfect contact) add nothing, and
    constant R_K takes the same path as always (one value per facet). One facet term
    on the tagged interior facets: the mesh is not split.
    """
    kap = []
    for name, r in resistances.items():
        if isinstance(r, KapitzaResistance) and not r.variable:
            r = r.resistance
        if isinstance(r, KapitzaResistance) or float(r) > 0:
            kap.append((name, regions.interface(name), r))
    if not kap:
        n = skfem.Basis(regions.mesh, flux_element, intorder=1).N
        return sp.csr_matrix((n, n))
    facets = np.concatenate([f for _, f, _ in kap])
    ib = skfem.InteriorFacetBasis(regions.mesh, flux_element, facets=facets,
                                  intorder=intorder)
    nq = ib.X.shape[1]
    if not any(isinstance(r, KapitzaResistance) for _, _, r in kap):  # constant R_K
        res = np.concatenate([np.full(f.size, float(r)) for _, f, r in kap])
        return forms.normal_resistance.assemble(
            ib, resistance=np.repeat(res[:, None], nq, axis=1)).tocsr()
    x = ib.global_coordinates().value  # (d, n_facets, nq)
    field_ = np.empty((facets.size, nq))
    start = 0
    for name, f, r in kap:
        sl = slice(start, start + f.size)
        field_[sl] = (interface_resistance(regions, name, r, x[:, sl])
                      if isinstance(r, KapitzaResistance) else float(r))
        start += f.size
    return forms.normal_resistance.assemble(ib, resistance=field_).tocsr()


def _gather_boundaries(rm: RegionMesh, items) -> tuple[np.ndarray, list]:
    """Concatenate the facets of named boundaries; pieces = [(slice, value), ...]."""
    facets, pieces, start = [], [], 0
    for name, value in items:
        f = rm.boundary(name)
        pieces.append((slice(start, start + f.size), value))
        facets.append(f)
        start += f.size
    return np.concatenate(facets), pieces


def _natural_load(rm, qelem, order, natural, n):
    """f(t) = −⟨T_b(t), v·n⟩ on temperature and convective boundaries."""
    if not natural:
        zero = np.zeros(n)
        return lambda t: zero
    facets, pieces = _gather_boundaries(rm, [
        (name, bc.value if isinstance(bc, Temperature) else bc.ambient_temperature)
        for name, bc in natural])
    fb = skfem.FacetBasis(rm.mesh, qelem, facets=facets, intorder=order)
    steady = not any(callable(v) for _, v in pieces)
    cache: dict = {}

    def load(t: float) -> np.ndarray:
        if steady and "f" in cache:
            return cache["f"]
        Tb = _facet_field(fb, pieces, t)
        if not np.all(np.isfinite(Tb)):
            raise FemheatInputError(f"a boundary temperature is non-finite at t = {t} s")
        f = forms.boundary_temperature.assemble(fb, temperature=Tb)
        cache["f"] = f
        return f

    return load


def _essential_flux(rm, qb, qelem, order, fluxes):
    """DOFs and values of prescribed normal fluxes (L² projection on the facets)."""
    if not fluxes:
        return np.zeros(0, dtype=np.int64), lambda t: np.zeros(0)
    facets, pieces = _gather_boundaries(rm, [(name, bc.value) for name, bc in fluxes])
    dofs = np.unique(qb.get_dofs(facets).all())
    zero = all(not callable(v) and np.all(np.asarray(v) == 0) for _, v in pieces)
    if zero:
        zeros = np.zeros(dofs.size)
        return dofs, lambda t: zeros
    fb = skfem.FacetBasis(rm.mesh, qelem, facets=facets, intorder=order)
    P = forms.normal_resistance.assemble(
        fb, resistance=np.ones((fb.nelems, fb.X.shape[1]))).tocsr()[dofs][:, dofs].tocsc()
    lu = splu(P)
    steady = not any(callable(v) for _, v in pieces)
    cache: dict = {}

    def values(t: float) -> np.ndarray:
        if steady and "g" in cache:
            return cache["g"]
        g = _facet_field(fb, pieces, t)
        if not np.all(np.isfinite(g)):
            raise FemheatInputError(f"a boundary heat flux is non-finite at t = {t} s")
        cache["g"] = lu.solve(forms.normal_flux.assemble(fb, flux=g)[dofs])
        return cache["g"]

    return dofs, values
