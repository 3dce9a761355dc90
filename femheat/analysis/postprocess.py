"""Post-processing: heat flows, interface jumps, temperature reconstruction, energy balance.

Heat flows are exact functionals of the Raviart–Thomas flux, H_b = ∫_b q·n ds
[W in 3D, W m⁻¹ per unit depth in 2D], computed from facet integrals and not
from the energy balance, so the balance check is a genuine one.

For degree 0 the piecewise-constant temperature is post-processed cell by cell
into a linear field T* with the same cell mean and gradient equal to the cell
average of −κ⁻¹q (Stenberg-type local reconstruction; exact for the linear
fields of layered media). Interface temperature jumps are the difference of the
traces of T* (degree 0) or T (degree 1) on the two sides. For degree 1 this is
an independent check of the Kapitza law T_A − T_B = R_K q·n_AB (weakly imposed,
so it holds to the discretization error); for degree 0 with piecewise-constant
κ and no source the reconstruction satisfies it to round-off by construction, so
there it reports, but does not test, the law.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem

from ..assembly.system import MixedSystem
from ..physics.kapitza import interface_resistance
from ..solve.steady import State

__all__ = [
    "boundary_heat_flow",
    "interface_heat_flow",
    "InterfaceReport",
    "interface_report",
    "steady_energy_balance",
    "vertex_temperature",
    "flux_at_vertices",
    "cell_averages",
    "EnergyBalance",
]


def _reference_vertices(dim: int) -> np.ndarray:
    return np.vstack([np.zeros(dim), np.eye(dim)]).T  # (dim, dim+1)


def _functional(system: MixedSystem, key: str, build) -> np.ndarray:
    cache = system._cache.setdefault("functionals", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """a·b without BLAS: on a loaded machine a threaded BLAS dot costs milliseconds
    (thread wake-up), far more than the sum itself; this runs every time step."""
    return float(np.einsum("i,i->", a, b))


def _point_matrix(system: MixedSystem, key: str, basis: skfem.CellBasis) -> sp.csr_matrix:
    """Sparse P with ``(P @ dofs).reshape(shape)`` = ``basis.interpolate(dofs).value``,
    built once per system (interpolate re-derives the DOF layout on every call)."""
    cache = system._cache.setdefault("point_matrices", {})
    if key not in cache:
        values = [basis.basis[i][0].value for i in range(len(basis.basis))]
        shape = values[0].shape  # (ne, nq) or (d, ne, nq)
        rows = np.arange(int(np.prod(shape))).reshape(shape)
        dofs = basis.element_dofs  # (n_local, ne)
        r, c, v = [], [], []
        for i, val in enumerate(values):
            col = np.broadcast_to(dofs[i][:, None], shape[-2:])
            r.append(rows.ravel())
            c.append(np.broadcast_to(col, shape).ravel())
            v.append(np.asarray(val).ravel())
        P = sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(c))),
                          shape=(rows.size, basis.N))
        P.sum_duplicates()
        cache[key] = (P, shape)
    return cache[key]


def _values(system: MixedSystem, key: str, basis: skfem.CellBasis,
            dofs: np.ndarray) -> np.ndarray:
    P, shape = _point_matrix(system, key, basis)
    return (P @ dofs).reshape(shape)


def boundary_heat_flow(system: MixedSystem, flux: np.ndarray) -> dict[str, float]:
    """Outward heat flow ∫_b q·n ds through each named boundary [W or W m⁻¹; W for an
    axisymmetric problem, ∫ q·n 2πr ds]."""
    rm, qb = system.problem.regions, system.flux_basis

    def build(name):
        fb = skfem.FacetBasis(rm.mesh, qb.elem, facets=rm.boundary(name), intorder=4)
        return system.forms.normal_flux.assemble(fb, flux=np.ones((fb.nelems, fb.X.shape[1])))

    return {n: _dot(_functional(system, "b:" + n, lambda n=n: build(n)), flux)
            for n in rm.boundaries}


def interface_heat_flow(system: MixedSystem, flux: np.ndarray) -> dict[str, float]:
    """Heat flow ∫_Γ q·n_AB ds from side A to side B of each interface [W or W m⁻¹]."""
    rm, qb = system.problem.regions, system.flux_basis

    def build(name):
        sign, _ = rm.interface_orientation(name)
        ib = skfem.InteriorFacetBasis(rm.mesh, qb.elem, facets=rm.interface(name), intorder=4)
        return system.forms.normal_flux.assemble(ib, flux=np.repeat(sign[:, None], ib.X.shape[1], 1))

    return {n: _dot(_functional(system, "i:" + n, lambda n=n: build(n)), flux)
            for n in rm.interfaces}


def _vertex_basis(system: MixedSystem, elem: skfem.Element) -> skfem.CellBasis:
    key = ("vertex_basis", type(elem).__name__)
    if key not in system._cache:
        X = _reference_vertices(system.problem.regions.dim)
        system._cache[key] = skfem.CellBasis(system.problem.regions.mesh, elem,
                                             quadrature=(X, np.ones(X.shape[1])))
    return system._cache[key]


def flux_at_vertices(system: MixedSystem, flux: np.ndarray) -> np.ndarray:
    """q evaluated in each cell at its vertices, shape (d, d+1, n_cells) [W m⁻²]."""
    vb = _vertex_basis(system, system.flux_basis.elem)
    return np.moveaxis(_values(system, "q@vertices", vb, flux), -1, 1)


def _mean_matrix(system: MixedSystem, key: str, basis: skfem.CellBasis) -> sp.csr_matrix:
    """Sparse M with ``M @ dofs`` = the cell means (1/|K|)∫_K u dx of every component,
    ordered (component, cell): the quadrature folded into one matrix, built once."""
    cache = system._cache.setdefault("mean_matrices", {})
    if key not in cache:
        P, shape = _point_matrix(system, key, basis)  # rows (..., ne, nq)
        ne, nq = shape[-2:]
        ncomp = int(np.prod(shape[:-2]))
        w = basis.dx / basis.dx.sum(axis=1, keepdims=True)  # (ne, nq)
        rows = np.repeat(np.arange(ncomp * ne), nq)
        S = sp.csr_matrix((np.tile(w.ravel(), ncomp), (rows, np.arange(rows.size))),
                          shape=(ncomp * ne, rows.size))
        cache[key] = sp.csr_matrix(S @ P)
    return cache[key]


def cell_averages(system: MixedSystem, state: State) -> tuple[np.ndarray, np.ndarray]:
    """Cell means of T [K] (n_cells,) and of q [W m⁻²] (d, n_cells)."""
    qb, tb = system.flux_basis, system.temperature_basis
    T = _mean_matrix(system, "T@quadrature", tb) @ state.temperature
    q = _mean_matrix(system, "q@quadrature", qb) @ state.flux
    return T, q.reshape(-1, T.size)


def vertex_temperature(system: MixedSystem, state: State) -> np.ndarray:
    """Linear-per-cell temperature at each cell's vertices, shape (d+1, n_cells) [K].

    Degree 1: the DG solution itself. Degree 0: the reconstruction
    T* = T_K + g_K·(x − x_K), g_K = cell mean of −κ⁻¹q, x_K the centroid.
    """
    mesh = system.problem.regions.mesh
    tb, qb = system.temperature_basis, system.flux_basis
    if system.problem.degree >= 1:
        return _values(system, "T@vertices", _vertex_basis(system, tb.elem),
                       state.temperature).T
    qv = _values(system, "q@quadrature", qb, state.flux)  # (d, ne, nq)
    grad = -system.fields.resistivity_times(qv)
    g = (grad * qb.dx).sum(axis=2) / qb.dx.sum(axis=1)  # (d, ne)
    Tk = state.temperature[tb.element_dofs[0]]
    xv = mesh.p[:, mesh.t]  # (d, d+1, ne)
    xc = xv.mean(axis=1, keepdims=True)
    return Tk[None, :] + np.einsum("ie,ive->ve", g, xv - xc)


@dataclass
class InterfaceReport:
    """Temperature jump and heat flow across one named interface.

    ``jump``, ``expected_jump`` and ``normal_flux`` are per facet (facet-centroid
    values), oriented from side A to side B: T_A − T_B [K], R_K q·n_AB [K] and
    q·n_AB [W m⁻²]; ``facet_measure`` are the facet lengths/areas [m or m²].
    ``facet_resistance`` is the local R_K [m² K W⁻¹] at each facet centroid (the
    value the expected jump uses); ``resistance`` is R_K itself when it is constant
    along the interface and its facet-measure-weighted mean when it varies.
    """

    name: str
    sides: tuple[str, str]
    resistance: float
    facets: np.ndarray
    facet_measure: np.ndarray
    jump: np.ndarray
    expected_jump: np.ndarray
    normal_flux: np.ndarray
    heat_flow: float
    facet_resistance: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.facet_resistance is None:
            self.facet_resistance = np.full(self.facets.size, float(self.resistance))

    def _mean(self, values: np.ndarray) -> float:
        return float((values * self.facet_measure).sum() / self.facet_measure.sum())

    @property
    def mean_jump(self) -> float:
        """Facet-measure-weighted mean of T_A − T_B [K]."""
        return self._mean(self.jump)

    def summary(self) -> dict:
        return {
            "sides": list(self.sides),
            "kapitza_resistance": self.resistance,
            "min_kapitza_resistance": float(self.facet_resistance.min()),
            "max_kapitza_resistance": float(self.facet_resistance.max()),
            "heat_flow": self.heat_flow,
            "mean_jump": self.mean_jump,
            "mean_abs_jump": self._mean(np.abs(self.jump)),
            "min_jump": float(self.jump.min()),
            "max_jump": float(self.jump.max()),
            "max_jump_mismatch": float(np.max(np.abs(self.jump - self.expected_jump))),
        }


def _interface_geometry(system: MixedSystem, name: str):
    """Cached per-interface data: orientation, vertex-on-facet masks, midpoint basis."""
    cache = system._cache.setdefault("interface_geometry", {})
    if name not in cache:
        rm = system.problem.regions
        mesh = rm.mesh
        facets = rm.interface(name)
        sign, sides = rm.interface_orientation(name)
        masks = []
        for s in (0, 1):
            cells = mesh.f2t[s, facets]
            on = (mesh.t[:, cells][:, None, :] == mesh.facets[:, facets][None, :, :]).any(axis=1)
            masks.append((cells, on / on.sum(axis=0)))
        ib = skfem.InteriorFacetBasis(mesh, system.flux_basis.elem, facets=facets, intorder=1)
        cache[name] = (facets, sign, sides, masks, ib)
    return cache[name]


def interface_report(system: MixedSystem, state: State) -> dict[str, InterfaceReport]:
    """Jumps T_A − T_B and heat flow across every named interface."""
    Tv = vertex_temperature(system, state)
    flows = interface_heat_flow(system, state.flux)
    out = {}
    for name in system.problem.regions.interfaces:
        facets, sign, sides, masks, ib = _interface_geometry(system, name)
        traces = [(Tv[:, cells] * w).sum(axis=0) for cells, w in masks]
        jump = sign * (traces[0] - traces[1])
        # facet mean of q·n: the centroid value for the (at most linear) normal traces
        measure = ib.dx.sum(axis=1)
        qn = sign * (np.einsum("ieq,ieq->eq", ib.interpolate(state.flux).value,
                               ib.normals.value) * ib.dx).sum(axis=1) / measure
        kap = system.problem.interfaces.get(name)
        if kap is not None and kap.variable:  # local R_K at the facet centroids
            Rf = interface_resistance(system.problem.regions, name, kap)
            R = float((Rf * measure).sum() / measure.sum())
        else:
            R = kap.resistance if kap is not None else 0.0
            Rf = np.full(facets.size, R)
        out[name] = InterfaceReport(name, sides, R, facets, measure, jump,
                                    Rf * qn, qn, flows[name], Rf)
    return out


class EnergyBalance:
    """Global energy bookkeeping of a θ-scheme run.

    Checks E(tⁿ) − E(t⁰) = Σ Δt [∫Q dx − ∮ q·n ds]_θ with E = ∫ C T dx, the
    boundary flow taken from facet integrals of q. The relative error is the
    residual divided by the largest of |ΔE|, the cumulative source, the
    cumulative boundary flow, ∫C|T⁰ − T̄⁰| (the initial energy variation, the
    scale of an insulated run) and 1e-6 ∫C|T| (so that a run in which nothing
    happens is not measured against round-off).
    """

    def __init__(self, system: MixedSystem, theta: float):
        self.system, self.theta = system, theta
        self._ones = system.temperature_ones
        self._prev = None
        self.residual = 0.0
        self.scale = 0.0
        self.energy0 = None
        self.max_relative_error = 0.0

    def _rates(self, state: State) -> tuple[float, float]:
        src = _dot(self._ones, self.system.heat_load(state.time))
        # every exterior facet belongs to a named boundary (HeatProblem checks it)
        return src, sum(boundary_heat_flow(self.system, state.flux).values())

    @property
    def time(self) -> float | None:
        """Time of the last state fed to :meth:`update` (None before the first)."""
        return self._prev[0] if self._prev else None

    _SAVED = ("energy0", "_expected", "_src", "_out", "_variation", "residual", "scale",
              "max_relative_error", "energy")

    def state_dict(self) -> dict:
        """The running sums, for a restart file (arrays under ``"T0"``)."""
        out = {k: getattr(self, k, None) for k in self._SAVED}
        out["prev"] = None if self._prev is None else [self._prev[0], list(self._prev[1])]
        out["T0"] = getattr(self, "_T0", None)
        return out

    def restore(self, saved: dict) -> None:
        """Continue the bookkeeping of a restart file (the inverse of :meth:`state_dict`)."""
        for k in self._SAVED:
            setattr(self, k, saved[k])
        prev = saved["prev"]
        self._prev = None if prev is None else (float(prev[0]), tuple(prev[1]))
        self._T0 = saved["T0"]

    def update(self, state: State) -> float:
        """Feed the next state; return the current relative balance error."""
        e = self.system.energy_weights
        E = _dot(e, state.temperature)
        rates = self._rates(state)
        if self._prev is None:
            self.energy0, self._expected, self._src, self._out = E, 0.0, 0.0, 0.0
            self._T0 = state.temperature.copy()
            # energy of the initial deviation from the mean: the scale of an
            # insulated run, where no heat crosses the boundary
            mean = E / _dot(e, self._ones)
            self._variation = _dot(e, np.abs(state.temperature - mean * self._ones))
        else:
            t0, r0 = self._prev
            dt = state.time - t0
            th = self.theta
            src = dt * (th * rates[0] + (1 - th) * r0[0])
            out = dt * (th * rates[1] + (1 - th) * r0[1])
            self._expected += src - out
            self._src += abs(src)
            self._out += abs(out)
        self._prev = (state.time, rates)
        # the change is summed from T - T0, not E - E0: with a large temperature
        # offset the difference of absolute energies loses digits
        dE = _dot(e, state.temperature - self._T0)
        self.residual = dE - self._expected
        # floor: when nothing happens (uniform T behind insulated walls) every scale
        # above is round-off; measure against the energy content instead
        floor = 1e-6 * _dot(np.abs(self.system.energy_weights), np.abs(state.temperature))
        self.scale = max(abs(dE), self._src, self._out, self._variation, floor, 1e-300)
        rel = abs(self.residual) / self.scale if self._prev and self.scale > 1e-300 else 0.0
        self.max_relative_error = max(self.max_relative_error, rel)
        self.energy = E
        return rel


def steady_energy_balance(system: MixedSystem, state: State) -> float:
    """Relative global balance |∫Q − ∮q·n| / max(|∫Q|, Σ|H_b|) of a steady state."""
    ones = system.temperature_ones
    source = float(ones @ system.heat_load(0.0))
    flows = boundary_heat_flow(system, state.flux)
    total = sum(flows.values())
    scale = max(abs(source), sum(abs(v) for v in flows.values()), 1e-300)
    return abs(source - total) / scale
