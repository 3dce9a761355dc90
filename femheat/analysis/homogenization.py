r"""Effective conductivity of a representative cell (computational homogenization).

A representative cell Ω = [0, L₁] × … × [0, L_d] of a microstructure (materials,
Kapitza interfaces) is loaded by a unit macroscopic temperature gradient along
each axis j in turn, T = −x_j + T̃, and the effective conductivity tensor is read
from the mean flux:

.. math::

    \langle q\rangle = \frac{1}{|\Omega|}\int_\Omega q\,dx = \kappa_{\mathrm{eff}}\,G,
    \qquad \kappa_{\mathrm{eff}}[:, j] = \langle q\rangle \text{ for } G = e_j
    \;[\mathrm{W\,m^{-1}\,K^{-1}}].

Two cell boundary conditions are offered:

``"periodic"`` (default)
    T̃ and q·n periodic: q·n on a face equals q·n on the opposite face (its
    flux degrees of freedom are tied to those of its twin facet), and
    T(x + L_k e_k) − T(x) = −G_k L_k enters as a temperature load on the "plus"
    faces. This is the standard periodic cell problem; it gives the full tensor
    (off-diagonal terms included) and needs a mesh whose opposite faces match
    facet by facet (e.g. the builders' ``periodic=True``). Fourier and MCV
    (steady: τ plays no role) only.
``"mixed"``
    T = 0 and T = −L_j on the two faces normal to x_j, the other faces insulated
    (q·n = 0; for Guyer–Krumhansl also stress-free, i.e. free slip). For a cell
    with mirror symmetry about its mid-planes (square/cubic arrays, layers) this is
    exactly the periodic problem; otherwise it is a different (bounded) estimate
    and its off-diagonal terms have no meaning. Works for all models, GK included.
    GK's second boundary condition follows from the same symmetry: the periodic
    solution's flux is even in x_j about the faces normal to x_j, its other
    components odd, so q·t = 0 on those faces (no-slip, :class:`NoSlip`) and
    ∂q_t/∂n = 0 on the insulated ones (free slip). The flux block therefore
    depends on the load axis (one per axis, assembled once). Measured on a square
    inclusion with heterogeneous l (``tests/test_homogenization.py``): the mixed
    cell equals the middle cell of a seven-cell strip to 3e-6 (penalty) and 1e-9
    (``viscous = "vorticity"``); a stress-free face normal to x_j (the penalty
    form's natural ν∂q/∂n = 0, this module's condition before) is off by 4.8e-4.
    In 3D (``tests/test_homogenization_gk3d.py``) a laminate loaded along its layers
    converges to the layer ODE's κ_eff with both forms, and a cubic inclusion's
    mixed cell tends to a five-cell strip's middle cell (the vorticity form: 2.8e-7 /
    5.1e-9 at n = 4 / 8: the structured tetrahedral mesh is not mirror-symmetric).

Besides the tensor, each load case reports how the macroscopic dissipation
D = |Ω| G·κ_eff G = (q, κ⁻¹q) + Σ_Γ R_Γ‖q·n‖²_Γ (+ the GK viscous part) splits
between the materials and the interfaces — the share of the temperature drop
the interfaces cost — the share of the mean flux each material carries, and the
temperature-jump statistics of every interface (:class:`~femheat.analysis.postprocess.InterfaceReport`).

:class:`CellProblem` assembles once; :meth:`CellProblem.solve` then takes new
Kapitza resistances and re-factorizes only the flux block (the divergence
block, loads, periodic map and temperature recovery are reused), which is what
makes resistance sweeps (:mod:`femheat.analysis.conductance`) cheap.

Variable Kapitza resistance. An interface's R_K may vary along it (a function of
position or one value per facet, see :class:`~femheat.physics.conditions.KapitzaResistance`);
its term ⟨R_K(x) q·n, v·n⟩ is assembled once. A resistance given to
:meth:`CellProblem.solve` (a sweep, crossover or fit of :mod:`femheat.analysis.conductance`)
**replaces** the interface's R_K by that constant: A(R) = A_bulk + Σ_Γ R_Γ A_Γ with the
unit-resistance matrices A_Γ, so ∂κ_jj/∂R_Γ = −(1/|Ω|) qᵀA_Γq stays exact. Interfaces
not given keep their own (possibly variable) R_K.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence, Union

import numpy as np
import scipy.sparse as sp
import skfem

from ..assembly import forms
from ..assembly.gk import gk_wall_terms
from ..assembly.rotation import RotationOperator
from .postprocess import InterfaceReport, interface_report
from ..physics.conditions import (FreeSlip, KapitzaResistance, NoSlip, ResistanceValue,
                                  Temperature)
from ..physics.kapitza import check_interfaces
from ..errors import FemheatInputError, MeshError
from ..physics.materials import Material
from ..mesh.regions import RegionMesh
from ..assembly.system import HeatProblem, MixedSystem, assemble, kapitza_matrix
from ..registry import get_model
from ..solve.steady import AugmentedLagrangian, State, dg_mass_inverse
from ..element.spaces import quadrature_order
from .periodic import FACES as _FACES, _cell_extent, _periodic_map, periodic_facet_pairs

__all__ = [
    "CELL_BOUNDARY_CONDITIONS",
    "CellProblem",
    "Homogenization",
    "LoadCase",
    "homogenize",
    "periodic_facet_pairs",
]

log = logging.getLogger(__name__)

#: a cell's flux block: sparse, or unformed (vorticity form with a consistent M_ω,
#: ω kept in the solves)
FluxBlock = Union[sp.csr_matrix, RotationOperator]


def _sparse_or_unformed(A) -> FluxBlock:
    """A flux block as CSR, or as it is where it is not formed (consistent M_ω)."""
    return A if isinstance(A, RotationOperator) else sp.csr_matrix(A)


#: Boundary conditions of the cell problem (see the module docstring).
CELL_BOUNDARY_CONDITIONS = ("periodic", "mixed")



# --------------------------------------------------------------------- results
@dataclass
class LoadCase:
    """Solution of the cell problem for a unit gradient G = e_axis [K m⁻¹].

    Attributes
    ----------
    axis
        Direction j of the applied macroscopic gradient.
    state
        Temperature (physical T = −x_j + T̃, [K]) and flux [W m⁻²].
    mean_flux
        ⟨q⟩ [W m⁻²] (= column j of κ_eff for the unit gradient).
    dissipation
        Name -> share of the dissipation D = Σ parts [W K⁻¹ m⁻¹ per m^(3-d)]:
        one entry per material, one per interface and ``"viscous"`` (GK only).
    flux_share
        Material name -> fraction of ∫ q_j dx carried inside that material.
    interfaces
        Interface name -> :class:`~femheat.analysis.postprocess.InterfaceReport` (jumps T_A − T_B).
    """

    axis: int
    state: State
    mean_flux: np.ndarray
    dissipation: dict[str, float]
    flux_share: dict[str, float]
    interfaces: dict[str, InterfaceReport]

    @property
    def total_dissipation(self) -> float:
        return float(sum(self.dissipation.values()))

    def dissipation_share(self) -> dict[str, float]:
        """Fraction of the dissipation (of the macroscopic temperature drop) per part."""
        total = self.total_dissipation
        return {k: v / total for k, v in self.dissipation.items()}


@dataclass
class Homogenization:
    """Effective conductivity of a cell and the per-load details.

    Attributes
    ----------
    conductivity
        κ_eff, shape (d, d) [W m⁻¹ K⁻¹]; column j from the load along x_j.
    boundary
        ``"periodic"`` or ``"mixed"``.
    resistances
        Kapitza resistance of each interface used [m² K W⁻¹]: a number, or the
        interface's :class:`~femheat.physics.conditions.KapitzaResistance` where R_K
        varies along it.
    loads
        One :class:`LoadCase` per axis.
    volume_fractions
        Material name -> volume (area) fraction of the cell.
    timings
        Seconds spent: ``"factorization"`` and ``"solve"`` of this call.
    """

    conductivity: np.ndarray
    boundary: str
    resistances: dict[str, float | KapitzaResistance]
    loads: list[LoadCase]
    volume_fractions: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def symmetric_part(self) -> np.ndarray:
        return 0.5 * (self.conductivity + self.conductivity.T)

    @property
    def asymmetry(self) -> float:
        """‖κ − κᵀ‖/‖κ‖ (Frobenius): zero up to round-off for periodic cells."""
        k = self.conductivity
        return float(np.linalg.norm(k - k.T) / np.linalg.norm(k))

    @property
    def eigenvalues(self) -> np.ndarray:
        """Principal conductivities: eigenvalues of the symmetric part [W m⁻¹ K⁻¹]."""
        return np.linalg.eigvalsh(self.symmetric_part)

    @property
    def anisotropy(self) -> float:
        """max/min principal conductivity − 1 (0 for an isotropic tensor)."""
        ev = self.eigenvalues
        return float(ev[-1] / ev[0] - 1.0)

    def summary(self) -> dict:
        """JSON-ready digest: tensor, principal values, shares, jump statistics."""
        return {
            "boundary": self.boundary,
            "conductivity": self.conductivity.tolist(),
            "principal_conductivities": self.eigenvalues.tolist(),
            "asymmetry": self.asymmetry,
            "kapitza_resistances": {n: r.describe() if isinstance(r, KapitzaResistance)
                                    else r for n, r in self.resistances.items()},
            "volume_fractions": dict(self.volume_fractions),
            "loads": [
                {
                    "axis": lc.axis,
                    "mean_flux": lc.mean_flux.tolist(),
                    "dissipation_share": lc.dissipation_share(),
                    "flux_share": lc.flux_share,
                    "interfaces": {n: r.summary() for n, r in lc.interfaces.items()},
                }
                for lc in self.loads
            ],
            "timings": dict(self.timings),
        }


# ---------------------------------------------------------------- cell problem
class CellProblem:
    """The assembled cell problem of a microstructure, ready for many solves.

    Parameters
    ----------
    regions
        The cell: an axis-aligned box [x_min, x_max] × … whose faces are named
        ``left``/``right`` (x), ``bottom``/``top`` (y) and, in 3D,
        ``front``/``back`` (z), as the :mod:`femheat.mesh.geometry` builders name them.
    materials
        Subdomain name -> :class:`~femheat.physics.materials.Material`.
    interfaces
        Interface name -> :class:`~femheat.physics.conditions.KapitzaResistance`, or
        what it accepts: a resistance [m² K W⁻¹], a function ``f(x) -> R_K`` or one
        value per facet. Interfaces not listed are in perfect contact.
    model
        ``"fourier"``, ``"mcv"`` (steady: identical to Fourier) or ``"gk"``.
    degree
        Degree of the mixed pair (0 or 1).
    boundary
        ``"periodic"`` or ``"mixed"`` (see the module docstring).
    beta, penalty, viscous
        GK only, as in :class:`~femheat.assembly.system.HeatProblem`
        (``viscous = "vorticity"`` in 2D and 3D; in 3D its Nédélec vorticity stays an
        unknown of the augmented-Lagrangian solves).
    axes
        Directions to load (default all).
    """

    def __init__(self, regions: RegionMesh, materials: Mapping[str, Material],
                 interfaces: Mapping[str, KapitzaResistance | ResistanceValue] | None = None, *,
                 model: str = "fourier", degree: int = 0, boundary: str = "periodic",
                 beta: int = 2, penalty: float = 1.0, axes: Sequence[int] | None = None,
                 viscous: str = "penalty"):
        t0 = time.perf_counter()
        if boundary not in CELL_BOUNDARY_CONDITIONS:
            raise FemheatInputError(
                f"boundary = {boundary!r}; use one of {CELL_BOUNDARY_CONDITIONS}")
        spec = get_model(model, "model")
        if spec.family != "mixed":
            raise FemheatInputError(
                f"model = {model!r}: homogenization solves the mixed cell problem; use "
                "'fourier', 'mcv' or 'gk'")
        if spec.viscous and boundary == "periodic":
            raise FemheatInputError(
                f"boundary = 'periodic' is not available for the {model} model (the viscous "
                "coupling across the periodic faces is not implemented); use "
                "boundary='mixed', exact for cells with mirror symmetry")
        dim = regions.dim
        self.axes = list(range(dim)) if axes is None else [int(a) for a in axes]
        if not self.axes or any(a < 0 or a >= dim for a in self.axes):
            raise FemheatInputError(f"axes = {axes!r}; give directions among {list(range(dim))}")
        for axis in range(dim):
            for name in _FACES[axis]:
                if name not in regions.boundaries:
                    raise MeshError(
                        f"the cell needs boundaries named {list(_FACES[axis])} normal to axis "
                        f"{axis}; the mesh has {sorted(regions.boundaries)}")
        extra = sorted(set(regions.boundaries) - {n for f in _FACES[:dim] for n in f})
        if extra:
            raise MeshError(
                f"the cell has boundaries {extra} besides its faces {_FACES[:dim]}; a "
                "representative cell is a box whose faces are named so")
        kap: dict[str, KapitzaResistance] = {}
        for name, value in (interfaces or {}).items():
            kap[name] = value if isinstance(value, KapitzaResistance) \
                else KapitzaResistance(value)
        self.regions = regions
        self.boundary = boundary
        self.model = model
        self.kapitza = kap
        # the bulk problem: interfaces at R = 0 (keeping the GK tangential option);
        # Temperature(0) everywhere only makes every face natural for assembly
        bcs = {n: Temperature(0.0) for n in regions.boundaries}
        self.problem = HeatProblem(
            regions, materials, bcs,
            interfaces={n: KapitzaResistance(0.0, k.tangential) for n, k in kap.items()},
            model=model, degree=degree, beta=beta, penalty=penalty, viscous=viscous)
        check_interfaces(regions, kap, quadrature_order(degree))  # variable R_K, before assembly
        # GK mixed cells: q·t = 0 on the faces normal to the load axis (module
        # docstring), so one flux block per axis; other cells: one for all
        self._walls = {axis: {} for axis in self.axes}
        if spec.viscous and boundary == "mixed":
            self._walls = {axis: {n: NoSlip() for n in _FACES[axis]} for axis in self.axes}
        self.system: MixedSystem = assemble(self.problem)
        self._bulk = {axis: self._flux_block(walls) for axis, walls in self._walls.items()}
        qb, tb = self.system.flux_basis, self.system.temperature_basis
        order = quadrature_order(degree)
        self.interface_matrices = {
            n: kapitza_matrix(regions, qb.elem, order, {n: 1.0}) for n in kap}
        # ⟨R_K(x) q·n, v·n⟩ of the interfaces whose R_K varies along them
        self.variable_matrices = {
            n: kapitza_matrix(regions, qb.elem, order, {n: k}) for n, k in kap.items()
            if k.variable}
        lo, hi = _cell_extent(regions)
        self.lengths = hi - lo
        self.volume = float(qb.dx.sum())
        self.volume_fractions = {
            n: float(qb.dx[c].sum()) / self.volume for n, c in regions.subdomains.items()}
        self._moments = np.vstack([
            forms.flux_moment.assemble(
                qb, direction=np.broadcast_to(np.eye(dim)[k][:, None, None],
                                              (dim,) + qb.dx.shape).copy())
            for k in range(dim)])  # (d, N): row k · q = ∫ q_k dx
        self._W_inverse = dg_mass_inverse(tb)
        self._loads = {axis: self._plus_face_load(axis) for axis in self.axes}
        if boundary == "periodic":
            pairs = {a: periodic_facet_pairs(regions, a) for a in range(dim)}
            self._P = _periodic_map(qb, range(dim), pairs)
            weights = forms.heat_source.assemble(tb, source=np.ones(tb.dx.shape))
            self._reduced = {None: (self._P, weights, (self.system.divergence @ self._P).tocsr())}
        else:
            self._reduced = {}
            for axis in self.axes:
                others = [n for a in range(dim) if a != axis for n in _FACES[a]]
                ess = np.unique(qb.get_dofs(np.concatenate(
                    [regions.boundary(n) for n in others])).all())
                keep = np.setdiff1d(np.arange(qb.N), ess)
                P = sp.csr_matrix((np.ones(keep.size), (keep, np.arange(keep.size))),
                                  shape=(qb.N, keep.size))
                self._reduced[axis] = (P, None, (self.system.divergence @ P).tocsr())
        self._temperature_solvers: dict = {}
        self._schur: dict = {}
        self.assembly_time = time.perf_counter() - t0
        log.info("cell problem assembled in %.2f s (%d flux + %d temperature DOFs)",
                 self.assembly_time, qb.N, tb.N)

    def _flux_block(self, walls: Mapping[str, NoSlip]) -> FluxBlock:
        """A_bulk with the wall conditions ``walls``: the cell's own flux block plus
        their Nitsche terms (interior penalty), or assembled with them (the vorticity
        form, whose rotation part depends on where ω is free; in 3D the unformed
        :class:`~femheat.assembly.rotation.RotationOperator`)."""
        if not walls:
            return _sparse_or_unformed(self.system.resistance)
        problem = dataclasses.replace(self.problem, walls=walls)
        if problem.viscous_form == "vorticity":
            # the other faces are free slip (q·n = 0 comes with the reduction): as walls
            # they keep ω = 0, not the terms of a face that heat crosses, which their
            # Temperature(0) would otherwise give (femheat.assembly.vorticity_open)
            free = {n: FreeSlip() for n in self.regions.boundaries if n not in walls}
            problem = dataclasses.replace(self.problem, walls={**free, **walls})
            return _sparse_or_unformed(assemble(problem).resistance)
        _, _, flux_degree = get_model(self.model).problem_elements(problem)
        order = quadrature_order(problem.degree)
        return (sp.csr_matrix(self.system.resistance)
                + gk_wall_terms(problem, self.system.flux_basis, order, flux_degree)).tocsr()

    def _plus_face_load(self, axis: int) -> np.ndarray:
        """f = −⟨T_D, v·n⟩ with T_D = −L_axis on the plus face (unit gradient)."""
        qb = self.system.flux_basis
        fb = skfem.FacetBasis(self.regions.mesh, qb.elem,
                              facets=self.regions.boundary(_FACES[axis][1]),
                              intorder=4)
        T_D = np.full((fb.nelems, fb.X.shape[1]), -float(self.lengths[axis]))
        return forms.boundary_temperature.assemble(fb, temperature=T_D)

    def resistances(self, overrides: Mapping[str, float | KapitzaResistance] | None = None
                    ) -> dict[str, float | KapitzaResistance]:
        """Kapitza resistance per interface, with ``overrides`` applied [m² K W⁻¹].

        A constant R_K is a number; an interface whose R_K varies along it maps to
        its :class:`~femheat.physics.conditions.KapitzaResistance` unless
        ``overrides`` replaces it by a constant (an override may also be a
        ``KapitzaResistance``, checked against the mesh).
        """
        out: dict[str, float | KapitzaResistance] = {
            n: k if k.variable else k.resistance for n, k in self.kapitza.items()}
        for name, value in (overrides or {}).items():
            if name not in self.kapitza:
                raise FemheatInputError(
                    f"resistances: {name!r} is not a Kapitza interface of this cell; the "
                    f"interfaces given are {sorted(self.kapitza)}")
            if isinstance(value, KapitzaResistance):
                if value.variable:
                    check_interfaces(self.regions, {name: value},
                                     quadrature_order(self.problem.degree))
                out[name] = value if value.variable else value.resistance
                continue
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise FemheatInputError(
                    f"resistances.{name} = {value!r} must be a resistance [m^2 K/W] (a "
                    "number; give a varying one as a KapitzaResistance)") from None
            if not np.isfinite(v) or v < 0:
                raise FemheatInputError(
                    f"resistances.{name} = {value!r} must be a finite resistance >= 0 "
                    "[m^2 K/W]")
            out[name] = v
        return out

    def system_at(self, resistances: Mapping[str, float | KapitzaResistance],
                  flux_matrix: sp.csr_matrix | None = None, axis: int | None = None
                  ) -> MixedSystem:
        """The assembled system with the given Kapitza resistances (shares the cache).

        For post-processing and output (interface reports, VTU writers), which read
        R_K from the problem; ``flux_matrix`` is A(R) if already built; ``axis``
        the load axis whose flux block (GK mixed cells) it is (default the first).
        """
        R = self.resistances(resistances)
        axis = self.axes[0] if axis is None else axis
        problem = dataclasses.replace(self.problem, walls=self._walls[axis], interfaces={
            n: dataclasses.replace(R[n], tangential=k.tangential)
            if isinstance(R[n], KapitzaResistance) else KapitzaResistance(R[n], k.tangential)
            for n, k in self.kapitza.items()})
        A = self.flux_matrix(R, axis) if flux_matrix is None else flux_matrix
        if isinstance(A, RotationOperator):  # consistent M_ω: A = A₀ + Cᵀ M_ω⁻¹ C
            return dataclasses.replace(self.system, problem=problem, resistance=A,
                                       _cache=self.system._cache, rotation=(A.C, A.mass),
                                       resistance_base=A.base)
        return dataclasses.replace(self.system, problem=problem, resistance=A,
                                   _cache=self.system._cache, rotation=None,
                                   resistance_base=None)  # A is the whole of it

    def flux_matrix(self, resistances: Mapping[str, float | KapitzaResistance],
                    axis: int | None = None) -> FluxBlock:
        """A(R) = A_bulk + Σ_Γ R_Γ A_Γ (the only part that depends on R_K); for the 3D
        vorticity form a :class:`~femheat.assembly.rotation.RotationOperator` whose
        A₀ carries the interface terms.

        A constant R_Γ scales the unit-resistance matrix A_Γ; a variable one adds its
        own ⟨R_K(x) q·n, v·n⟩ (the interface's assembled term if it is the cell's own
        R_K, else assembled now). ``axis``: the load axis, whose GK wall terms A_bulk
        carries in a mixed cell (default the first).
        """
        return self._with_interfaces(self._bulk[self.axes[0] if axis is None else axis],
                                     self._interface_terms(resistances))

    def _interface_terms(self, resistances: Mapping[str, float | KapitzaResistance]
                         ) -> list[sp.csr_matrix]:
        """R_Γ A_Γ (or the variable ⟨R_K q·n, v·n⟩) of every resisting interface."""
        return [self.interface_term(name, R) for name, R in resistances.items()
                if isinstance(R, KapitzaResistance) or R > 0]

    @staticmethod
    def _with_interfaces(A: FluxBlock, terms: list[sp.csr_matrix]) -> FluxBlock:
        """A + Σ terms (the terms join A₀ of an unformed 3D vorticity block)."""
        base = A.base if isinstance(A, RotationOperator) else A
        for term in terms:
            base = base + term
        base = sp.csr_matrix(base)
        return RotationOperator(base, A.C, A.mass) if isinstance(A, RotationOperator) else base

    def interface_term(self, name: str, resistance: float | KapitzaResistance
                       ) -> sp.csr_matrix:
        """⟨R_K q·n, v·n⟩ on interface ``name`` for a constant or variable R_K."""
        if not isinstance(resistance, KapitzaResistance):
            return float(resistance) * self.interface_matrices[name]
        if not resistance.variable:
            return resistance.resistance * self.interface_matrices[name]
        if resistance == self.kapitza.get(name) and name in self.variable_matrices:
            return self.variable_matrices[name]
        qb = self.system.flux_basis
        return kapitza_matrix(self.regions, qb.elem, quadrature_order(self.problem.degree),
                              {name: resistance})

    def solve(self, resistances: Mapping[str, float] | None = None, *,
              reports: bool = True) -> Homogenization:
        """κ_eff for the given Kapitza resistances (default: those of the problem).

        Parameters
        ----------
        resistances
            Interface name -> R_K [m² K W⁻¹] overriding the problem's values: a
            constant replaces the interface's R_K, variable or not (module docstring).
        reports
            Also compute the dissipation split and interface jump reports (set
            False in sweeps that need only the tensor).
        """
        R = self.resistances(resistances)
        terms = self._interface_terms(R)  # once: the flux blocks differ per axis only
        dim = self.regions.dim
        kappa = np.full((dim, dim), np.nan)
        loads: list[LoadCase] = []
        t_fact = t_solve = 0.0
        solvers: dict = {}
        for axis in self.axes:
            key = None if self.boundary == "periodic" else axis
            P, weights, B = self._reduced[key]
            A = self._with_interfaces(self._bulk[axis], terms)
            if key not in solvers:
                t0 = time.perf_counter()
                if isinstance(A, RotationOperator):  # 3D vorticity: ω kept in the solves
                    base, C = (P.T @ A.base @ P).tocsr(), (A.C @ P).tocsr()
                    Ar, rotation = RotationOperator(base, C, A.mass), (base, C, A.mass)
                else:
                    Ar, rotation = (P.T @ A @ P).tocsr(), None
                solvers[key] = AugmentedLagrangian(
                    Ar, B, self._W_inverse, mean_weights=weights, dim=self.regions.dim,
                    temperature_solver=self._temperature_solvers.get(key),
                    schur_diagonal=self._schur.get(key), rotation=rotation)
                # the temperature recovery and diag(BᵀW⁻¹B) do not depend on R_K
                self._temperature_solvers[key] = solvers[key].temperature_solver()
                self._schur.setdefault(key, solvers[key].schur_diagonal)
                t_fact += time.perf_counter() - t0
            t0 = time.perf_counter()
            f = P.T @ self._loads[axis]
            qr, T, _ = solvers[key].solve(f, np.zeros(self.system.n_temperature))
            q = P @ qr
            t_solve += time.perf_counter() - t0
            state = State(0.0, T, q)
            mean = self._moments @ q / self.volume
            kappa[:, axis] = mean
            loads.append(self._load_case(axis, state, mean, A, R) if reports else
                         LoadCase(axis, state, mean, {}, {}, {}))
        return Homogenization(kappa, self.boundary, R, loads, self.volume_fractions,
                              {"factorization": t_fact, "solve": t_solve})

    def _load_case(self, axis: int, state: State, mean: np.ndarray, A: sp.csr_matrix,
                   R: Mapping[str, float | KapitzaResistance]) -> LoadCase:
        sysm, rm = self.system, self.regions
        qb = sysm.flux_basis
        q = state.flux
        qv = qb.interpolate(q).value  # (d, ne, nq)
        local = (np.einsum("ieq,ieq->eq", qv, sysm.fields.resistivity_times(qv))
                 * qb.dx).sum(axis=1)
        dissipation = {n: float(local[c].sum()) for n, c in rm.subdomains.items()}
        for name in self.kapitza:
            dissipation[name] = float(q @ (self.interface_term(name, R[name]) @ q))
        total = float(q @ (A @ q))
        if get_model(self.model).viscous:
            dissipation["viscous"] = total - sum(dissipation.values())
        moment = (qv[axis] * qb.dx)
        share = {n: float(moment[c].sum()) / float(moment.sum())
                 for n, c in rm.subdomains.items()}
        reports: dict[str, InterfaceReport] = {}
        if rm.interfaces:
            reports = interface_report(self.system_at(R, A, axis), state)
        return LoadCase(axis, state, mean, dissipation, share, reports)


def homogenize(regions: RegionMesh, materials: Mapping[str, Material],
               interfaces: Mapping[str, KapitzaResistance | ResistanceValue] | None = None,
               **options) -> Homogenization:
    """κ_eff of a cell in one call: ``CellProblem(regions, materials, interfaces, **options).solve()``.

    See :class:`CellProblem` for the options (``model``, ``degree``, ``boundary``,
    ``beta``, ``penalty``, ``viscous``, ``axes``) and the module docstring for the method.
    """
    return CellProblem(regions, materials, interfaces, **options).solve()
