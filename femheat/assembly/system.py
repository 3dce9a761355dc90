"""Assembly of the mixed block system of a :class:`~femheat.assembly.problem.HeatProblem`.

:func:`assemble` asks the registered model (:mod:`femheat.registry`) for its
element pair, whether the flux has inertia and its extra flux operators (GK's
viscous term and walls), and turns the problem it into a :class:`MixedSystem`, the semi-discrete system

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

from .axisymmetric import FormSet, axis_facets, form_set
from .batched import cell_mass_matrix
from .problem import HeatProblem
from .rotation import RotationOperator, VorticityMass
from ..errors import FemheatInputError
from ..mesh.regions import RegionMesh
from ..physics.conditions import Convection, HeatFlux, KapitzaResistance, Temperature, evaluate
from ..physics.kapitza import interface_resistance
from ..physics.materials import CoefficientFields, material_fields
from ..element.spaces import inner_points, quadrature_order
from ..registry import MODELS, Model, get_model

__all__ = ["MODELS", "HeatProblem", "MixedSystem", "assemble", "kapitza_matrix",
           "block_diagonal_inverse"]

log = logging.getLogger(__name__)

@dataclass
class MixedSystem:
    """The assembled semi-discrete mixed system of a :class:`HeatProblem`.

    Attributes
    ----------
    flux_basis, temperature_basis
        scikit-fem ``CellBasis`` of the Raviart–Thomas flux and DG temperature.
    resistance
        A = (κ⁻¹ q, v) + Σ_Γ ⟨R q·n, v·n⟩ (n_q × n_q); on Landau materials with
        a < 0 the bulk term is (a/ζ q, v), negative (indefinite A).
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
    rotation
        (C, M_ω) where A = A₀ + Cᵀ M_ω⁻¹ C keeps a part in factors (the GK vorticity
        form, :mod:`femheat.assembly.vorticity`; M_ω a
        :class:`~femheat.assembly.rotation.VorticityMass`), else None; A₀ is
        :attr:`resistance_base`. Where M_ω is consistent (3D; 2D degree 1 with
        no-slip, slip-length or tangential-flux walls) ``resistance`` is a
        :class:`~femheat.assembly.rotation.RotationOperator` (applied, not formed);
        where it is lumped (2D) ``resistance`` is formed on first access, since
        steps and steady solves that keep ω never read it.
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
    model: Optional[Model] = field(default=None, repr=False)
    rotation: Optional[tuple[sp.csr_matrix, VorticityMass]] = field(default=None, repr=False)
    resistance_base: Optional[sp.csr_matrix] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.model is None:
            self.model = get_model(self.problem.model)
        if "resistance" not in vars(self) and (self.rotation is None
                                               or not self.rotation[1].lumped):
            raise ValueError("resistance=None needs a lumped rotation part")

    @property
    def forms(self) -> FormSet:
        """The weak forms of this system's coordinates (Cartesian dx, or 2πr dr dz
        for an axisymmetric problem; :mod:`femheat.assembly.axisymmetric`)."""
        return form_set(getattr(self.problem, "coordinates", "cartesian"))

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
        """f(t) = −⟨T_D, v·n⟩ − ⟨T∞, v·n⟩ over temperature and convective boundaries,
        plus the model's load (GK walls with a prescribed tangential flux)."""
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
    def temperature_ones(self) -> np.ndarray:
        """Coefficients of the constant temperature 1 in ``temperature_basis``.

        All ones for the nodal DG spaces of the mixed pairs (checked at the
        quadrature points); an L² projection otherwise.
        """
        if "ones" not in self._cache:
            tb = self.temperature_basis
            ones = np.ones(tb.N)
            if not np.allclose(tb.interpolate(ones), 1.0, rtol=0.0, atol=1e-12):
                ones = tb.project(lambda x: 1.0 + 0.0 * x[0])
            self._cache["ones"] = ones
        return self._cache["ones"]

    @property
    def energy_weights(self) -> np.ndarray:
        """Row vector e with e·T = ∫ C T dx [J] (3D) or [J m⁻¹] (2D)."""
        if "energy" not in self._cache:
            self._cache["energy"] = self.capacity @ self.temperature_ones
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


def _facet_field(basis: skfem.FacetBasis, pieces, t: float,
                 labels: Optional[list[str]] = None) -> np.ndarray:
    """Evaluate per-boundary values on a FacetBasis built over concatenated facets.

    With ``labels`` (one key path per piece, e.g. ``boundaries.left.temperature``)
    a non-finite value is refused naming that key, the point and the time.
    """
    x = basis.global_coordinates().value
    out = np.empty(x.shape[1:])
    for i, (sl, value) in enumerate(pieces):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            out[sl] = evaluate(value, x[:, sl], t)
        if labels is not None and not np.all(np.isfinite(out[sl])):
            bad = np.argwhere(~np.isfinite(out[sl]))[0]
            v, at = out[sl][tuple(bad)], x[:, sl][(slice(None),) + tuple(bad)]
            raise FemheatInputError(
                f"{labels[i]} evaluates to {'NaN' if np.isnan(v) else v} at "
                f"({', '.join('xyz'[:at.size])}) = ({', '.join(f'{c:.4g}' for c in at)}) m, "
                f"t = {t:g} s; the expression must be finite on the whole boundary")
    return out


def assemble(problem: HeatProblem) -> MixedSystem:
    """Assemble the mixed block system of ``problem`` (see module docstring)."""
    model = get_model(problem.model)
    forms = form_set(getattr(problem, "coordinates", "cartesian"))
    rm = problem.regions
    mesh = rm.mesh
    qelem, telem, flux_degree = model.problem_elements(problem)
    order = quadrature_order(problem.degree)
    qb = skfem.Basis(mesh, qelem, intorder=order)
    tb = qb.with_element(telem)
    fields = material_fields(rm, problem.materials, qb)
    if not model.has_inertia:  # Fourier: τ plays no role
        fields = fields.without_inertia()
    A, M = _flux_masses(qb, fields, model.has_inertia, forms)
    if fields.ordered:  # Landau a < 0: the linear term is (a/ζ)q = (κ⁻¹ − 2|a|/ζ)q
        A = A - forms.flux_mass.assemble(qb, kinv=fields.ordering)
    ops = model.flux_operators(problem, qb, tb, order, flux_degree, fields)  # e.g. GK
    if ops.extra is not None:
        A = A + ops.extra
    B = forms.divergence.assemble(qb, tb)
    weak, W = ops.weak_walls, ops.coupling
    C = forms.capacity.assemble(tb, heat_capacity=fields.heat_capacity)

    # Kapitza interfaces: one facet term on interior facets, no mesh splitting
    kap = {n: r for n, r in problem.interfaces.items() if r.variable or r.resistance > 0}
    if kap:
        A = A + kapitza_matrix(rm, qelem, order, kap, forms)

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

    flux_load = _natural_load(rm, qelem, order, natural, qb.N, forms)
    if getattr(ops, "load", None) is not None:  # e.g. GK walls with tangential flux data
        natural_load, model_load = flux_load, ops.load

        def flux_load(t: float) -> np.ndarray:
            return natural_load(t) + model_load(t)
    # the axis of an (r, z) problem: q_r = 0 there (the symmetric field's value; no
    # user condition), imposed on its flux DOFs
    axis = axis_facets(rm) if getattr(problem, "axisymmetric", False) else None
    essential_dofs, essential_values = _essential_flux(rm, qb, qelem, order, fluxes, forms,
                                                       axis)

    _cache: dict = {}

    def heat_load(t: float) -> np.ndarray:
        if problem.source is None:
            return np.zeros(tb.N)
        if not callable(problem.source) and "F" in _cache:
            return _cache["F"]
        if "x" not in _cache:  # points on the cells' faces nudged inside (inner_points)
            _cache["x"] = inner_points(qb)
        Q = evaluate(problem.source, _cache["x"], t)
        if not np.all(np.isfinite(Q)):
            raise FemheatInputError(f"source returned non-finite values at t = {t} s")
        F = forms.heat_source.assemble(tb, source=np.asarray(Q))
        if not callable(problem.source):
            _cache["F"] = F
        return F

    log.info("assembled %s system: %d flux + %d temperature DOFs",
             problem.model, qb.N, tb.N)
    A0, rotation = None, getattr(ops, "rotation", None)
    if rotation is not None:  # A = A₀ + Cᵀ M_ω⁻¹ C, the factors kept
        A0 = A.tocsr()
        Cr, mass = rotation
        # formed on first access where M_ω is lumped; applied where it is consistent
        A = None if mass.lumped else RotationOperator(A0, Cr, mass)
    else:
        A = A.tocsr()
    release_quadrature_caches(qb, tb)
    return MixedSystem(problem, qb, tb, fields, A, M.tocsr(), B.tocsr(), C.tocsr(),
                       essential_dofs, fields.symmetric and W is None, flux_load, heat_load,
                       essential_values, wall_coupling=W, model=model, rotation=rotation,
                       resistance_base=A0)


class _FormedOnRead:
    """``MixedSystem.resistance``: the value given, or, where None was given (the
    vorticity form with a lumped M_ω), A = A₀ + Cᵀ M_ω⁻¹ C formed from
    ``resistance_base`` and ``rotation`` when first read and kept."""

    def __get__(self, system, owner=None):
        if system is None:
            return self
        try:
            return system.__dict__["resistance"]
        except KeyError:
            Cr, mass = system.rotation
            A = (system.resistance_base + mass.formed(Cr, Cr)).tocsr()
            system.__dict__["resistance"] = A
            return A

    def __set__(self, system, value) -> None:
        if value is None:  # deferred
            system.__dict__.pop("resistance", None)
        else:
            system.__dict__["resistance"] = value


MixedSystem.resistance = _FormedOnRead()  # after @dataclass, which gave it no default


def release_quadrature_caches(*bases: skfem.AbstractBasis) -> None:
    """Drop scikit-fem's per-basis caches of the quadrature points' coordinates and
    cell sizes (``global_coordinates()``, ``mesh_parameters()``), which every form
    assembly fills (its ``w.x``, ``w.h``) and nothing after assembly needs: 48 + 24 MB
    per basis at 500 000 triangles, 11 % of an MCV run's peak memory at 1.25 M
    unknowns. They are recomputed (and cached again) on the next call."""
    for basis in bases:
        basis._global_coordinates = None
        basis._mesh_parameters = None


def _flux_masses(qb: skfem.CellBasis, fields: CoefficientFields, inertia: bool,
                 forms: FormSet = form_set()) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """A = (κ⁻¹q, v) and M = (τκ⁻¹q, v) with the compact coefficient fields.

    Where τ is one number over the whole mesh, M = τA exactly (up to round-off),
    so the flux mass is assembled once.
    """
    A = _flux_mass(qb, fields.resistivity_coefficient, forms)
    if not inertia:
        return A, sp.csr_matrix((qb.N, qb.N))
    tau = np.asarray(fields.relaxation_time)
    tau0 = float(tau.flat[0]) if tau.size else 0.0
    if fields.cellwise:
        tau = fields.cell_values("relaxation_time")
    if np.all(tau == tau0):
        return A, (A * tau0 if tau0 else sp.csr_matrix((qb.N, qb.N)))
    return A, _flux_mass(qb, fields.inertia_coefficient, forms)


def _flux_mass(qb: skfem.CellBasis, kinv, forms: FormSet) -> sp.csr_matrix:
    """``forms.flux_mass`` on ``qb``; batched (one product per cell, equal to round-off)
    for Cartesian elements with more local functions than RT0 has, where scikit-fem's
    pass per pair of local functions costs most (BDM1 in 3D: 144 passes)."""
    if forms.coordinates == "cartesian" and qb.Nbfun > qb.mesh.p.shape[0] + 1:
        return cell_mass_matrix(qb, kinv)
    return forms.flux_mass.assemble(qb, kinv=kinv)


def kapitza_matrix(regions: RegionMesh, flux_element: skfem.Element, intorder: int,
                   resistances: Mapping[str, float | KapitzaResistance],
                   forms: FormSet = form_set()) -> sp.csr_matrix:
    r"""Kapitza term Σ_Γ ⟨R_Γ(x) q·n, v·n⟩_Γ over named interfaces [m K W⁻¹ · W² m⁻⁴ · m].

    ``resistances`` maps interface names to R_K [m² K W⁻¹]: a number, or a
    :class:`~femheat.physics.conditions.KapitzaResistance` whose R_K may vary along
    the interface (a function evaluated at the facet quadrature points, or one value
    per facet). Constant interfaces with R_K = 0 (perfect contact) add nothing, and
    constant R_K takes the same path as always (one value per facet). One facet term
    on the tagged interior facets: the mesh is not split. ``forms`` selects the
    measure (``form_set("axisymmetric")``: 2πr ds).
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


def _natural_load(rm, qelem, order, natural, n, forms=form_set()):
    """f(t) = −⟨T_b(t), v·n⟩ on temperature and convective boundaries."""
    if not natural:
        zero = np.zeros(n)
        return lambda t: zero
    facets, pieces = _gather_boundaries(rm, [
        (name, bc.value if isinstance(bc, Temperature) else bc.ambient_temperature)
        for name, bc in natural])
    labels = [f"boundaries.{name}." + ("temperature" if isinstance(bc, Temperature)
                                       else "convection.ambient_temperature")
              for name, bc in natural]
    fb = skfem.FacetBasis(rm.mesh, qelem, facets=facets, intorder=order)
    steady = not any(callable(v) for _, v in pieces)
    cache: dict = {}

    def load(t: float) -> np.ndarray:
        if steady and "f" in cache:
            return cache["f"]
        Tb = _facet_field(fb, pieces, t, labels)
        if not np.all(np.isfinite(Tb)):
            raise FemheatInputError(f"a boundary temperature is non-finite at t = {t} s")
        f = forms.boundary_temperature.assemble(fb, temperature=Tb)
        cache["f"] = f
        return f

    return load


def _essential_flux(rm, qb, qelem, order, fluxes, forms=form_set(),
                    zero_facets: Optional[np.ndarray] = None):
    """DOFs and values of prescribed normal fluxes (L² projection on the facets).

    Boundaries with q·n = 0 get zero values directly (the facet DOFs of different
    facets are independent); the others are projected with the coordinates' measure
    (2πr ds in (r, z), which vanishes on the axis: an insulated axis is never projected).
    ``zero_facets`` are further facets with q·n = 0 (the axis of an (r, z) problem).
    """
    extra = np.zeros(0, dtype=np.int64) if zero_facets is None else np.asarray(zero_facets)
    if not fluxes and extra.size == 0:
        return np.zeros(0, dtype=np.int64), lambda t: np.zeros(0)
    facets = (_gather_boundaries(rm, [(name, bc.value) for name, bc in fluxes])[0]
              if fluxes else np.zeros(0, dtype=np.int64))
    dofs = np.unique(qb.get_dofs(np.concatenate([facets, extra])).all())
    given = [(n, bc) for n, bc in fluxes
             if callable(bc.value) or not np.all(np.asarray(bc.value) == 0)]
    zeros = np.zeros(dofs.size)
    if not given:
        return dofs, lambda t: zeros
    facets, pieces = _gather_boundaries(rm, [(name, bc.value) for name, bc in given])
    proj = np.unique(qb.get_dofs(facets).all())
    where = np.searchsorted(dofs, proj)
    fb = skfem.FacetBasis(rm.mesh, qelem, facets=facets, intorder=order)
    P = forms.normal_resistance.assemble(
        fb, resistance=np.ones((fb.nelems, fb.X.shape[1]))).tocsr()[proj][:, proj].tocsc()
    lu = splu(P)
    labels = [f"boundaries.{name}.heat_flux" for name, _ in given]
    steady = not any(callable(v) for _, v in pieces)
    cache: dict = {}

    def values(t: float) -> np.ndarray:
        if steady and "g" in cache:
            return cache["g"]
        g = _facet_field(fb, pieces, t, labels)
        if not np.all(np.isfinite(g)):
            raise FemheatInputError(f"a boundary heat flux is non-finite at t = {t} s")
        out = zeros.copy()
        out[where] = lu.solve(forms.normal_flux.assemble(fb, flux=g)[proj])
        cache["g"] = out
        return out

    return dofs, values
