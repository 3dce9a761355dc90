"""Helmholtz–Hodge decomposition of a 2D heat flux: heat potentials, vorticity, backflow.

A heat flux q [W m⁻²] on a planar domain Ω splits L²-orthogonally into

    q = ∇φ + curl ψ + h,        curl ψ = (∂ψ/∂y, −∂ψ/∂x),

a gradient part with the scalar heat potential φ [W m⁻¹], a solenoidal part
with the stream function (2D vector potential) ψ [W m⁻¹] and a harmonic
remainder h (div h = 0, rot h = 0). Both potentials are continuous P1
functions on the flux's own mesh, computed as L² projections (H¹-conforming,
the exact sequence P1 –curl→ RT0 –div→ P0 of the flux space):

    (∇φ, ∇v) = (q, ∇v),        (curl ψ, curl χ) = (q, curl χ),

for all v, χ in the spaces below. Which potential carries a boundary condition
decides which parts are unique and what the harmonic remainder is:

``boundary="normal"`` (default)
    φ ∈ H¹/ℝ (Neumann, mean zero), ψ ∈ H¹₀ (ψ = 0 on ∂Ω). ∇φ carries all of the
    normal flux q·n, curl ψ is tangent to the boundary (curl ψ·n = ∂ψ/∂s = 0), and
    h lies in the Neumann fields {div h = rot h = 0, h·n = 0}, whose dimension is
    the number of holes: h = 0 in a simply connected domain (up to the
    discretization error), the circulation around each hole otherwise.
``boundary="tangential"``
    φ ∈ H¹₀, ψ ∈ H¹/ℝ. curl ψ carries the whole normal flux (ψ is the stream
    function of the divergence-free part of the flow, constant along every
    impermeable wall: the one to draw streamlines and find eddies with), ∇φ is
    normal to the boundary, and h lies in the Dirichlet fields
    {div h = rot h = 0, h × n = 0}, of dimension (boundary components − 1).

With ``absorb_harmonic=True`` the constrained potential may take a free
constant on every boundary component but the outer one, which spans the
harmonic fields of the continuous problem: then
h → 0 with refinement in any domain, and the circulation round a hole (normal)
or the flux between walls (tangential) is in the potential.

In both variants φ is unique up to the constant fixed by its mean (or its zero
boundary value) and ψ likewise; ∇φ_h ⊥ curl ψ_h holds exactly for P1 (one of
the two vanishes on ∂Ω and ∫ ∇φ·curl ψ = ∮ φ ∂ψ/∂s ds), so the discrete parts
satisfy ‖q‖² = ‖∇φ‖² + ‖curl ψ‖² + ‖h‖² to round-off.

**What is exactly zero for Fourier.** In the mixed method the discrete flux is a
discrete gradient, (κ⁻¹q_h, v) = (T_h, div v) + boundary terms, for all v in the
flux test space. For χ ∈ P1₀, curl χ is a Raviart–Thomas (and BDM) field with
zero normal trace and div curl χ = 0, so (κ⁻¹q_h, curl χ) = 0 exactly. With a
constant κ this is (q_h, curl χ) = 0: the stream function of
``boundary="normal"`` and the weak vorticity at interior vertices vanish to
round-off for RT0 and RT1 Fourier solutions. (With a piecewise κ the identity
holds for κ⁻¹q_h = −∇T, not for q_h, whose tangential jumps at material
interfaces are genuine vorticity; a Kapitza term adds interface terms.
Cellwise, an RT0 field a + b(x − x_K) has zero curl anyway: its vorticity
lives in the tangential jumps.)

Vorticity ω = rot q = ∂q_y/∂x − ∂q_x/∂y [W m⁻³] is the lumped P1 projection

    ω_i m_i = ∫_Ω q·curl v_i dx + ∮_∂Ω (q·t) v_i ds,   m_i = ∫ v_i dx,

(t the counter-clockwise tangent), exact for smooth fields and, for fluxes with
tangential jumps, the distributional curl including the jumps.

Backflow: cells where heat runs up the temperature gradient, q·∇T > 0 (possible
in Guyer–Krumhansl and Landau models, impossible pointwise in Fourier's law).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem
from scipy.sparse.csgraph import connected_components

__all__ = ["HodgeDecomposition", "helmholtz_hodge", "flux_decomposition", "vorticity",
           "Backflow", "backflow", "boundary_components", "BOUNDARY_VARIANTS"]

log = logging.getLogger(__name__)

#: The two admissible boundary-condition pairings, see the module docstring.
BOUNDARY_VARIANTS = ("normal", "tangential")

#: A flux given either as a callable q(x) -> (2, ...) or as (flux basis, DOFs).
FluxSource = Union[Callable[[np.ndarray], np.ndarray], tuple]


def _curl(grad: np.ndarray) -> np.ndarray:
    """curl v = (∂v/∂y, −∂v/∂x) from ∇v (first axis the component)."""
    return np.stack([grad[1], -grad[0]])


class _Flux:
    """Evaluates q on the quadrature points of a P1 cell or facet basis."""

    def __init__(self, mesh: skfem.Mesh, source: FluxSource, intorder: int):
        self.mesh, self.intorder = mesh, intorder
        if callable(source):
            self.fn, self.elem, self.dofs = source, None, None
        else:
            basis, dofs = source
            self.fn, self.elem, self.dofs = None, basis.elem, np.asarray(dofs)

    def cell(self, basis: skfem.CellBasis) -> np.ndarray:
        if self.fn is not None:
            return np.asarray(self.fn(basis.global_coordinates().value), dtype=float)
        qb = skfem.CellBasis(self.mesh, self.elem, intorder=self.intorder)
        return qb.interpolate(self.dofs).value

    def facet(self, basis: skfem.FacetBasis, facets: np.ndarray) -> np.ndarray:
        if self.fn is not None:
            return np.asarray(self.fn(basis.global_coordinates().value), dtype=float)
        fb = skfem.FacetBasis(self.mesh, self.elem, facets=facets, intorder=self.intorder)
        return fb.interpolate(self.dofs).value


def boundary_components(mesh: skfem.Mesh) -> list[np.ndarray]:
    """Vertex indices of each connected component of ∂Ω: the outer boundary first
    (the one through the leftmost vertex), then the holes, largest first."""
    bf = mesh.boundary_facets()
    e = mesh.facets[:, bf]
    n = mesh.p.shape[1]
    A = sp.coo_matrix((np.ones(e.shape[1]), (e[0], e[1])), shape=(n, n))
    _, labels = connected_components(A, directed=False)
    verts = np.unique(e)
    comps = [verts[labels[verts] == lab] for lab in np.unique(labels[verts])]
    left = int(np.argmin(mesh.p[0]))
    return sorted(comps, key=lambda c: (left not in c, -c.size, c.min()))


def _prolongation(mesh: skfem.Mesh, absorb: bool) -> sp.csr_matrix:
    """Map from the free unknowns to P1 vertex values vanishing on ∂Ω (absorb=False)
    or constant on each boundary component, zero on the outer one (absorb=True)."""
    n = mesh.p.shape[1]
    comps = boundary_components(mesh)
    on = np.zeros(n, bool)
    for c in comps:
        on[c] = True
    inner = np.nonzero(~on)[0]
    rows, cols = list(inner), list(range(inner.size))
    if absorb:
        for k, c in enumerate(comps[1:]):
            rows += list(c)
            cols += [inner.size + k] * c.size
    m = inner.size + (len(comps) - 1 if absorb else 0)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, m))


class PartNorms:
    """L² norms of a decomposition's parts (values at the quadrature points of
    ``self.basis``, shape (d, n_cells, n_q) or cellwise (d, n_cells))."""

    def _l2(self, v: np.ndarray) -> float:
        if v.ndim == 2:
            v = v[:, :, None]
        return float(np.sqrt(((v**2).sum(axis=0) * self.basis.dx).sum()))

    @property
    def norms(self) -> dict[str, float]:
        """‖q‖, ‖∇φ‖, ‖solenoidal part‖, ‖h‖ [W m⁻² · m^(d/2)]."""
        return {"flux": self._l2(self.flux_values), "gradient": self._l2(self.gradient),
                "solenoidal": self._l2(self.solenoidal), "harmonic": self._l2(self.harmonic)}


@dataclass
class HodgeDecomposition(PartNorms):
    """The parts of q = ∇φ + curl ψ + h on one triangle mesh.

    Attributes
    ----------
    potential, stream_function
        φ and ψ at the mesh vertices [W m⁻¹] (continuous P1).
    gradient, solenoidal
        ∇φ and curl ψ per cell, shape (2, n_cells) [W m⁻²] (piecewise constant).
    harmonic
        h = q − ∇φ − curl ψ at the quadrature points, shape (2, n_cells, n_q) [W m⁻²].
    norms
        L² norms (‖v‖ = (∫|v|² dx)^½ [W m⁻¹]): ``flux``, ``gradient``,
        ``solenoidal``, ``harmonic``.
    """

    mesh: skfem.Mesh
    boundary: str
    absorb_harmonic: bool
    potential: np.ndarray
    stream_function: np.ndarray
    gradient: np.ndarray
    solenoidal: np.ndarray
    harmonic: np.ndarray
    basis: skfem.CellBasis = field(repr=False)
    flux_values: np.ndarray = field(repr=False)

    @property
    def harmonic_mean(self) -> np.ndarray:
        """Cell means of h, shape (2, n_cells) [W m⁻²]."""
        dx = self.basis.dx
        return (self.harmonic * dx).sum(axis=2) / dx.sum(axis=1)

    def summary(self) -> dict[str, Any]:
        """Norms and potential ranges, for summary.json."""
        n = self.norms
        scale = max(n["flux"], 1e-300)
        return {"boundary": self.boundary, "absorb_harmonic": self.absorb_harmonic,
                "l2_norms": n, "fractions": {k: (v / scale) ** 2 for k, v in n.items()
                                             if k != "flux"},
                "potential_range": [float(self.potential.min()), float(self.potential.max())],
                "stream_function_range": [float(self.stream_function.min()),
                                          float(self.stream_function.max())]}


def _solve(K: sp.spmatrix, b: np.ndarray, P: Optional[sp.spmatrix], mass: np.ndarray
           ) -> np.ndarray:
    """Solve K u = b with u = P x (constrained) or with ∫u = 0 (P None: pure Neumann)."""
    if P is not None:
        if P.shape[1] == 0:
            return np.zeros(K.shape[0])
        x = spla.spsolve((P.T @ K @ P).tocsc(), P.T @ b)
        return P @ np.atleast_1d(x)
    A = sp.bmat([[K, mass[:, None]], [mass[None, :], None]], format="csc")
    return spla.spsolve(A, np.concatenate([b, [0.0]]))[:-1]


def helmholtz_hodge(mesh: skfem.Mesh, flux: FluxSource, *, boundary: str = "normal",
                    absorb_harmonic: bool = False, intorder: int = 4) -> HodgeDecomposition:
    """Helmholtz–Hodge decomposition q = ∇φ + curl ψ + h on a triangle mesh.

    A tetrahedral mesh is passed on to
    :func:`femheat.analysis.hodge3d.helmholtz_hodge_3d` (q = ∇φ + curl A + h,
    A in Nédélec N0), which returns a
    :class:`~femheat.analysis.hodge3d.HodgeDecomposition3D`.

    Parameters
    ----------
    mesh
        A scikit-fem triangle mesh (the flux's own mesh).
    flux
        Either a callable ``q(x)`` returning shape (2, ...) for points x of shape
        (2, ...) [W m⁻²], or a pair ``(flux_basis, dofs)`` of a scikit-fem vector
        basis (Raviart–Thomas, BDM) and its DOF vector.
    boundary
        ``"normal"`` (φ Neumann, ψ = 0 on ∂Ω) or ``"tangential"`` (φ = 0 on ∂Ω,
        ψ Neumann); see the module docstring for what each makes unique.
    absorb_harmonic
        Give the constrained potential a free constant on every boundary
        component but the outer one, so that the harmonic fields go into it.
    intorder
        Quadrature order of the projections.
    """
    if boundary not in BOUNDARY_VARIANTS:
        from ..errors import FemheatInputError

        raise FemheatInputError(f"boundary = {boundary!r}; choose one of {BOUNDARY_VARIANTS}")
    if mesh.p.shape[0] == 3:
        from .hodge3d import helmholtz_hodge_3d

        if absorb_harmonic:
            from ..errors import FemheatInputError

            raise FemheatInputError("absorb_harmonic = True is 2D only; 3D harmonic fields "
                                    "stay in the remainder h (femheat.analysis.hodge3d)")
        return helmholtz_hodge_3d(mesh, flux, boundary=boundary, intorder=intorder)
    if mesh.p.shape[0] != 2:
        from ..errors import FemheatInputError

        raise FemheatInputError("the Helmholtz–Hodge decomposition is implemented for 2D "
                                f"and 3D meshes; this one has dimension {mesh.p.shape[0]}")
    basis = skfem.CellBasis(mesh, skfem.ElementTriP1(), intorder=intorder)
    q = _Flux(mesh, flux, intorder).cell(basis)  # (2, ne, nq)
    # load vectors (q, ∇v_i) and (q, curl v_i), stiffness (∇u, ∇v) = (curl u, curl v)
    K = skfem.asm(skfem.BilinearForm(lambda u, v, w: u.grad[0] * v.grad[0]
                                     + u.grad[1] * v.grad[1]), basis)
    mass = skfem.asm(skfem.LinearForm(lambda v, w: v), basis)
    bgrad = skfem.asm(skfem.LinearForm(lambda v, w: w.q[0] * v.grad[0] + w.q[1] * v.grad[1]),
                      basis, q=q)
    bcurl = skfem.asm(skfem.LinearForm(lambda v, w: w.q[0] * v.grad[1] - w.q[1] * v.grad[0]),
                      basis, q=q)
    P = _prolongation(mesh, absorb_harmonic)
    if boundary == "normal":
        phi, psi = _solve(K, bgrad, None, mass), _solve(K, bcurl, P, mass)
    else:
        phi, psi = _solve(K, bgrad, P, mass), _solve(K, bcurl, None, mass)
    gphi = basis.interpolate(phi).grad[:, :, 0]
    cpsi = _curl(basis.interpolate(psi).grad)[:, :, 0]
    h = q - gphi[:, :, None] - cpsi[:, :, None]
    log.info("Helmholtz–Hodge (%s): |q| %.3e, |grad| %.3e, |curl| %.3e, |h| %.3e", boundary,
             *(np.sqrt(((v**2).sum(0) * basis.dx).sum())
               for v in (q, gphi[:, :, None] + 0 * q, cpsi[:, :, None] + 0 * q, h)))
    return HodgeDecomposition(mesh, boundary, absorb_harmonic, phi, psi, gphi, cpsi, h,
                              basis, q)


def vorticity(mesh: skfem.MeshTri, flux: FluxSource, *, intorder: int = 4) -> np.ndarray:
    """Vorticity ω = ∂q_y/∂x − ∂q_x/∂y at the vertices [W m⁻³] (lumped P1 projection).

    ω_i = [∫ q·curl v_i dx + ∮ (q·t) v_i ds] / ∫ v_i dx, t = (−n_y, n_x): for a
    smooth q the lumped projection of rot q; for a flux with tangential jumps
    (Raviart–Thomas) the distributional curl, jumps included.
    """
    basis = skfem.CellBasis(mesh, skfem.ElementTriP1(), intorder=intorder)
    src = _Flux(mesh, flux, intorder)
    q = src.cell(basis)
    b = skfem.asm(skfem.LinearForm(lambda v, w: w.q[0] * v.grad[1] - w.q[1] * v.grad[0]),
                  basis, q=q)
    bf = mesh.boundary_facets()
    fb = skfem.FacetBasis(mesh, skfem.ElementTriP1(), facets=bf, intorder=intorder)
    qf = src.facet(fb, bf)
    b += skfem.asm(skfem.LinearForm(lambda v, w: (w.q[1] * w.n[0] - w.q[0] * w.n[1]) * v),
                   fb, q=qf)
    mass = skfem.asm(skfem.LinearForm(lambda v, w: v), basis)
    return b / mass


def flux_decomposition(system: Any, state: Any, **kwargs: Any) -> HodgeDecomposition:
    """:func:`helmholtz_hodge` of a solved mixed system's flux ``state.flux``."""
    return helmholtz_hodge(system.problem.regions.mesh, (system.flux_basis, state.flux),
                           **kwargs)


@dataclass
class Backflow:
    """Cells where heat flows up the temperature gradient (q·∇T > 0).

    ``cells`` indices, ``area`` their total area [m²], ``fraction`` of the domain
    area, ``up_gradient_power`` = ∫ max(q·∇T, 0) dx [W K m⁻¹ per unit depth],
    ``alignment`` per cell q·∇T / (|q||∇T|) (−1: Fourier-like, +1: backflow).
    """

    cells: np.ndarray
    area: float
    fraction: float
    up_gradient_power: float
    alignment: np.ndarray

    def summary(self) -> dict[str, Any]:
        return {"cells": int(self.cells.size), "area": self.area, "fraction": self.fraction,
                "up_gradient_power": self.up_gradient_power,
                "max_alignment": float(self.alignment.max()) if self.alignment.size else 0.0}


def temperature_gradient(system: Any, state: Any) -> np.ndarray:
    """Cell-mean ∇T [K m⁻¹], shape (2, n_cells), independent of the flux.

    Degree ≥ 1: the mean of the DG gradient. Degree 0 (cell constants): the
    gradient of the lumped P1 projection of the cell values (area-weighted
    vertex averages), so that it is not built from q.
    """
    tb = system.temperature_basis
    mesh = system.problem.regions.mesh
    if system.problem.degree >= 1:
        g = tb.interpolate(state.temperature).grad
        return (g * tb.dx).sum(axis=2) / tb.dx.sum(axis=1)
    Tc = state.temperature[tb.element_dofs[0]]
    area = tb.dx.sum(axis=1)
    n = mesh.p.shape[1]
    num = np.bincount(mesh.t.ravel(), weights=np.tile(Tc * area, 3), minlength=n)
    den = np.bincount(mesh.t.ravel(), weights=np.tile(area, 3), minlength=n)
    Tv = num / den
    p1 = skfem.CellBasis(mesh, skfem.ElementTriP1(), intorder=1)
    return p1.interpolate(Tv).grad[:, :, 0]


def backflow(system: Any, state: Any, *, tolerance: float = 1e-8) -> Backflow:
    """Cells where q·∇T > tolerance·|q||∇T| (cell means of q and ∇T)."""
    from .postprocess import cell_averages

    _, q = cell_averages(system, state)
    g = temperature_gradient(system, state)
    area = system.flux_basis.dx.sum(axis=1)
    p = (q * g).sum(axis=0)
    mag = np.linalg.norm(q, axis=0) * np.linalg.norm(g, axis=0)
    align = np.where(mag > 0, p / np.where(mag > 0, mag, 1.0), 0.0)
    cells = np.nonzero(align > tolerance)[0]
    return Backflow(cells, float(area[cells].sum()), float(area[cells].sum() / area.sum()),
                    float((np.maximum(p, 0) * area).sum()), align)
