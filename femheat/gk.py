r"""Assembly of the Guyer–Krumhansl (phonon-hydrodynamic) flux operator.

For the law τ∂q/∂t + q = −κ∇T + l²(∇²q + β∇∇·q) the flux block of the mixed
system gains, with ν = l²/κ [m³ K W⁻¹],

* the broken viscous term Σ_K (ν∇q, ∇v)_K and the grad-div term β(ν∇·q, ∇·v),
* a symmetric interior penalty on every interior facet (tangential jumps; the
  normal component is continuous in H(div)), except on Kapitza interfaces
  declared ``tangential="free"``,
* Nitsche terms on :class:`~femheat.conditions.NoSlip` walls and a Robin term
  on :class:`~femheat.conditions.SlipLength` walls; other boundaries are
  stress-free (natural), which on an impermeable wall is free slip.

Penalty: σ_F = η (k+1)(k+d)/d · |∂K|/|K| (the mean over the two cells on
interior facets), k the polynomial degree of the flux space -- Shahbazi's
explicit trace-inequality bound (J. Comput. Phys. 205, 2005) times η. η ≥ 1 is
required (smaller values are refused) and is the default. Measured: the viscous
operator stays coercive down to η ≈ 0.2 on regular and distorted triangulations
(indefinite at η = 0.1), so η = 1 has a margin of ~5.

Known limitation: the tangential penalty bounds the discrete inf-sup constant
of the flux/temperature coupling by ~1/√η. Grid-scale temperature modes of the
quasi-steady GK operator therefore decay more slowly than the slowest physical
mode (by ~4× at η = 1, ~16× at η = 4, on 8×8 to 16×16 meshes with l/h ≈ 2.5),
and steady temperature errors grow with η; fluxes and heat flows (κ_eff) are
insensitive to η (tested for η from 1 to 64).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import skfem

from . import forms
from .conditions import NoSlip, SlipLength
from .materials import material_fields
from .mesh import RegionMesh

__all__ = ["gk_operator", "penalty_scale", "MIN_PENALTY"]

#: Smallest accepted penalty factor η (Shahbazi's sufficient value).
MIN_PENALTY = 1.0


def _measures(mesh: skfem.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Cell measures |K| and cell boundary measures |∂K|."""
    p, t, f = mesh.p, mesh.t, mesh.facets
    d = p.shape[0]
    J = np.stack([p[:, t[i + 1]] - p[:, t[0]] for i in range(d)], axis=1)
    vol = np.abs(np.linalg.det(np.moveaxis(J, -1, 0))) / math.factorial(d)
    if d == 2:
        fm = np.linalg.norm(p[:, f[1]] - p[:, f[0]], axis=0)
    else:
        fm = 0.5 * np.linalg.norm(np.cross((p[:, f[1]] - p[:, f[0]]).T,
                                           (p[:, f[2]] - p[:, f[0]]).T), axis=1)
    return vol, fm[mesh.t2f].sum(axis=0)


def penalty_scale(mesh: skfem.Mesh, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell (k+1)(k+d)/d |∂K|/|K| [m⁻¹] and per-facet mean over its cells."""
    d = mesh.p.shape[0]
    vol, bnd = _measures(mesh)
    cell = (degree + 1) * (degree + d) / d * bnd / vol
    f2t = mesh.f2t
    other = np.where(f2t[1] >= 0, f2t[1], f2t[0])
    return cell, 0.5 * (cell[f2t[0]] + cell[other])


def _nu(problem, x: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """ν = l²/κ at points x (d, n, nq) of the given cells."""
    f = material_fields(problem.regions, problem.materials, x, cells)
    return f.nonlocal_length**2 * f.resistivity[0, 0]


def _field(values: np.ndarray, basis) -> np.ndarray:
    return np.repeat(np.asarray(values, dtype=float)[:, None], basis.X.shape[1], axis=1)


def gk_operator(problem, qb: skfem.CellBasis, order: int, flux_degree: int) -> sp.csr_matrix:
    """The GK additions to the flux block A (see module docstring).

    Parameters
    ----------
    problem
        A validated :class:`~femheat.model.HeatProblem` with ``model="gk"``.
    qb
        Flux basis (an element of :mod:`femheat.elements`, with gradients).
    order
        Quadrature order.
    flux_degree
        Polynomial degree k of the flux space (1 for BDM1, 2 for RT of order 1).
    """
    rm: RegionMesh = problem.regions
    mesh, elem = rm.mesh, qb.elem
    eta, beta = problem.penalty, problem.beta
    x = qb.global_coordinates().value
    nu = _nu(problem, x, np.arange(mesh.t.shape[1]))
    G = forms.flux_viscosity.assemble(qb, nu=nu)
    if beta:
        G = G + forms.flux_grad_div.assemble(qb, nu=beta * nu)
    if not np.any(nu > 0):
        return G.tocsr()
    cell_sigma, facet_sigma = penalty_scale(mesh, flux_degree)

    # interior facets, minus Kapitza interfaces whose tangential flux is free
    interior = np.nonzero(mesh.f2t[1] >= 0)[0]
    free = [rm.interface(n) for n, k in problem.interfaces.items() if k.tangential == "free"]
    if free:
        interior = np.setdiff1d(interior, np.concatenate(free))
    if interior.size:
        fbs = [skfem.InteriorFacetBasis(mesh, elem, facets=interior, side=s, intorder=order)
               for s in (0, 1)]
        xf = fbs[0].global_coordinates().value
        nu0 = _nu(problem, xf, mesh.f2t[0, interior])
        nu1 = _nu(problem, xf, mesh.f2t[1, interior])
        G = G + skfem.asm(forms.interior_penalty, fbs, fbs, nu0=nu0, nu1=nu1,
                          nu_max=np.maximum(nu0, nu1),
                          sigma=_field(eta * facet_sigma[interior], fbs[0]))

    walls = problem.walls
    for name, wall in walls.items():
        facets = rm.boundary(name)
        fb = skfem.FacetBasis(mesh, elem, facets=facets, intorder=order)
        cells = mesh.f2t[0, facets]
        f = material_fields(rm, problem.materials, fb.global_coordinates().value, cells)
        nu_w = f.nonlocal_length**2 * f.resistivity[0, 0]
        if isinstance(wall, NoSlip):
            G = G + forms.wall_no_slip.assemble(
                fb, nu=nu_w, sigma=_field(eta * cell_sigma[cells], fb))
        elif isinstance(wall, SlipLength):
            friction = f.nonlocal_length * f.resistivity[0, 0] / wall.coefficient
            G = G + forms.wall_slip.assemble(fb, friction=friction)
    return G.tocsr()
