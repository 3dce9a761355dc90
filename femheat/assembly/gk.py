r"""Assembly of the Guyer–Krumhansl (phonon-hydrodynamic) flux operator.

For the law τ∂q/∂t + q = −κ∇T + l²(∇²q + β∇∇·q) the flux block of the mixed
system gains, with ν = l²/κ [m³ K W⁻¹] (a tensor l²κ⁻¹ for anisotropic κ, below),

* the broken viscous term Σ_K (ν∇q, ∇v)_K and the grad-div term β(ν∇·q, ∇·v),
* a symmetric interior penalty on every interior facet (tangential jumps; the
  normal component is continuous in H(div)), except on Kapitza interfaces
  declared ``tangential="free"`` and on facets of cells with l = 0: a flux with no
  gradient energy lies in H(div) alone, so the gradient energy holds no tangential
  condition there, and the viscous region's interface with such cells is an open
  boundary (ν∂q_t/∂n = 0 on its side; T − ν∂q_n/∂n − βν∇·q continuous). With the
  penalty kept there (before 2026-12-06) it held the viscous side's q_t to the other
  side's, which that side's H(div) flux relaxes only in a layer of cells: q reached
  the open-boundary solution at O(h^½) (a GK film on a Fourier layer, degree 1: 1.9e-3
  at n = 32, now 1.1e-5; ``tests/test_gk_vorticity_layers.py``),
* Nitsche terms on :class:`~femheat.physics.conditions.NoSlip` walls and, with their
  data q_t = g_t in the load (:func:`tangential_flux_load`), on
  :class:`~femheat.physics.conditions.TangentialFlux` walls; a Robin term on
  :class:`~femheat.physics.conditions.SlipLength` walls; other boundaries are
  stress-free (natural), which on an impermeable wall is free slip.

Where heat crosses a boundary with a prescribed temperature, the natural conditions
are T − ν∂q_n/∂n − βν∇·q = T_D and ν∂q_t/∂n = 0 (no wall condition). A developed
flow across a flat contact meets them; on a curved one they act as a contact
resistance: radial flow q = c/r e_r through a tube (∇²q = 0 in the bulk) has
∂q_r/∂r = −c/r², each wall temperature shifts by −νc/R², and the heat flow is
2πΔT/(ln(R₂/R₁)/κ + (l²/κ)(1/R₁² − 1/R₂²)), measured to 4e-5 (15 % below Fourier's
at l = 0.4 R₁; ``cases/gk_hollow_cylinder.py``). The vorticity form
(:mod:`femheat.assembly.vorticity`) has the same conditions in 2D
(:mod:`femheat.assembly.vorticity_open`); in 3D and in (r, z) it has
T − (1+β)ν∇·q = T_D and ω = 0 instead, which the radial flow meets (Fourier's heat
flow).

Anisotropic conductivity. In the Landau–Khalatnikov form (seed 000),
Γ∂q/∂t = −(a q − λ∇²q + ζ∇T), the free energy ½ q·a q + ½ λ ∂_k q·∂_k q gives
κ = ζa⁻¹; an anisotropic κ comes from a tensor a (ζ scalar). The gradient energy
is taken with the anisotropy of the bulk term, λ = l² a (one isotropic nonlocal
length l): ½ l² ∂_k q·a ∂_k q. Divided by ζ, the flux equation is
κ⁻¹(τ∂q/∂t + q) + ∇T − ∇·(l²κ⁻¹∇q) − ∇(βν̄∇·q) = 0, so the viscous term is
Σ_k(ν ∂_k q, ∂_k v) with the tensor ν = l²κ⁻¹ acting on the flux components,
ν_ij ∂_k q_j ∂_k v_i: symmetric positive semidefinite when κ is SPD
(Σ_k ∂_k q·κ⁻¹∂_k q ≥ 0), and with constant coefficients κ times the equation is
exactly τ∂q/∂t + q = −κ∇T + l²∇²q, the GK law with tensor κ and scalar τ, l. (An
isotropic λ, i.e. a scalar ν = λ/ζ, would instead make the length anisotropic,
l² ∝ κ.) The grad-div term sees only the scalar ∇·q, so its coefficient is a
scalar: βl²κ⁻¹∇∇·q would be neither symmetric nor H(div)-conforming (κ⁻¹v has no
continuous normal component). It takes the isotropic part of the resistivity,
ν̄ = l² tr(κ⁻¹)/d (the projection of l²κ⁻¹ onto multiples of I; l²/κ when κ is
isotropic): the law reads τ∂q/∂t + q = −κ∇T + l²∇²q + βν̄κ∇∇·q, i.e. along each
principal axis β is scaled by κ_i tr(κ⁻¹)/d (0.67 and 2.0 for κ = diag(1, 3));
β = 0 is exact. The facet terms carry the tensor: −⟨{ν(∇q)n}, [v]⟩ −
⟨{νᵀ(∇v)n}, [q]⟩ + ⟨σν_max[q], [v]⟩ with ν_max = ½(ν₀ + ν₁ + |ν₀ − ν₁|) (symmetric
parts, |·| the matrix absolute value), which bounds both sides' ν; no-slip
walls alike (penalty σν_s, ν_s the symmetric part); the weakly impermeable
wall's penalty uses n·ν_s n + βν̄ + (1 + β)(|K|/|F|)² n·κ⁻¹n; a slip length adds
⟨(l/C_s)κ⁻¹q_t, v_t⟩ (the tangential part of κ⁻¹(l∂q/∂n + q_t/C_s) vanishes).
The quadratic form sees only ν_s, so coercivity follows as in the isotropic case
with ν_s^½∇q in place of ν^½∇q. A thermal Hall (antisymmetric) part of κ is the
reactive Onsager coupling (a non-symmetric ζ, not the free energy); it is kept
in ν, so the law above holds exactly, and it makes the flux block
non-symmetric like the Darcy term (κ⁻¹q, v) already does: the adjoint terms use
νᵀ (adjoint consistency), the system is solved by LU, and the iterative solver
refuses it. Measured (``tests/test_gk_anisotropic.py``): κ = diag(1, 3), l = 0.1,
relative L2 orders T / q: 0.96 / 1.92 at degree 0 (n = 16 → 32), 1.90–1.94 / 3.0
at degree 1 (n = 8 → 16); full and Hall tensors alike; a problem rotated with
κ = R diag Rᵀ reproduces the axis-aligned solution to round-off (2D, 3D, all
wall kinds).

Curved walls. Imposing q·n_h = 0 strongly on flat facets whose normals n_h
jump from facet to facet locks the tangential flux (the Babuška–Sapondzhyan
paradox of slip on polygons): on a faceted wire a uniform axial flux crosses
the tilted facets, so it is not admissible, and free slip converges at O(h)
only. An insulated wall whose :class:`~femheat.physics.conditions.FreeSlip` or
:class:`~femheat.physics.conditions.SlipLength` condition carries the smooth normal n
of the true surface is instead impermeable in the weak sense (Urquiza, Garon &
Farinas, J. Comput. Phys. 256, 2014, for Stokes slip):

* its normal-flux DOFs are not fixed (:func:`weak_walls`);
* the flux block gains the symmetric Nitsche terms of the viscous traction,
  :func:`~femheat.assembly.forms.wall_impermeable`, with n and penalty
  η(1+β)σ_F(ν + κ⁻¹(|K|/|F|)²) (the factor 1 + β for the trace of the
  grad-div term; the κ⁻¹ part keeps the wall closed in the Darcy limit
  l → 0, where ν vanishes); the slip friction uses q_t = q − (q·n)n;
* the temperature term of the flux equation gains the wall part of ∫∇T·v,
  +⟨T, v·n_h⟩ (:func:`wall_coupling`, W), and with a P0 temperature its
  first-order trace correction :func:`~femheat.assembly.forms.wall_temperature_trace`;
* the energy equation is unchanged: heat crossing each facet is counted, so
  the wall's heat flow (the "leakage" ∫q_h·n_h, weakly zero) is reported by
  :func:`~femheat.analysis.postprocess.boundary_heat_flow` and the global balance closes.

The flux equation's temperature coupling is then −(B + W)ᵀT while the energy
equation keeps B: the saddle point is not symmetric. It cannot be: a
symmetric coupling either closes the polyhedral wall in the energy balance
(which locks exactly like the strong condition) or makes the flux depend on
the absolute temperature level (a constant T pushing on the tilted facets).
Measured on a wire (R = 1, l = 0.5, BDM1 × P0): free slip gives the uniform
flux to round-off (κ_eff error = the facets' area defect, O(h²)); slip length
C_s = 1 converges at O(h^1.9); see ``tests/test_gk_curved_walls.py``.

Axisymmetric (r, z) problems take the viscous, grad-div, penalty and wall forms from
:mod:`femheat.assembly.axisymmetric` (the hoop term q_r v_r/r, the 2πr measure on
cells and facets); the penalty scale is the same.

Penalty: σ_F = η (k+1)(k+d)/d · |∂K|/|K| (the mean over the two cells on
interior facets), k the polynomial degree of the flux space -- Shahbazi's
explicit trace-inequality bound (J. Comput. Phys. 205, 2005) times η. η ≥ 1 is
required (smaller values are refused) and is the default. Measured: the viscous
operator stays coercive down to η ≈ 0.2 on regular and distorted triangulations
(indefinite at η = 0.1), so η = 1 has a margin of ~5.

Projected jumps. On affine simplices the normal derivative (∇q)n of a flux of degree k
is a polynomial of degree k − 1 on each facet, so the two consistency terms see only
Π_{k−1}[q], the L²(F) projection of the tangential jump onto P_{k−1} (the mean for
BDM1, the linear part for BDM2; with the 2πr weight in (r, z)). The penalty therefore
acts on Π_{k−1}[q] alone, ⟨σν_max Π[q], Π[v]⟩ (Lehrenfeld & Schöberl, Comput. Methods
Appl. Mech. Engrg. 307, 2016, "projected jumps"): coercivity follows with the same σ,
and the form stays consistent. A penalty on the whole jump also stiffened the
grid-scale flux patterns that carry a temperature mode, which is what made those
modes slow (below); on walls (Nitsche) the penalty keeps the whole trace (projecting
it changed nothing measurable). Measured against the whole-jump penalty (unit square,
η = 1): slowest quasi-static rate 4.986 / 3.61 at degree 0 / 1 (1.17 / 1.42), 3D
4.997 / 3.26 (0.86 / 0.75); steady cos mode T at degree 0 0.65× at n = 64; the
heterogeneous strip's q at O(h²) (O(h^1.76)); a manufactured no-slip flow's T 0.30×
(degree 0) and 0.56× (degree 1) at n = 32; the G4 bump error independent of η
(−5.4e-3 at h0 = 0.05 for η = 1 and 4; it was a + bη, b ≈ 4.4e-3); free slip on a
faceted wire −1.8 % (−10.4 %). Costs: the same sparsity, assembly 1.08–1.19×
(the projection per facet; ``benchmarks/bench_gk_jumps.py``); the 3D iterative solver's
counts double (106–131 against 58–67, bounded: the P1 auxiliary space has no jumps
and the cell smoother takes the unpenalized linear part). Not better: a no-slip
channel's T at degree 1 (5.5e-5 against 3.9e-5 at n = 16), and the grid-scale modes
now decay up to d α/l² (19.9 against the saturation 10: the broken viscous energy of
a cell bounds only (∇·q)²/d), which costs no accuracy. Other cells (not affine): the
whole jump (:func:`projected_jump_degree`).

Spaces and temperature accuracy (issue 16): the flux space carries complete
polynomials one degree above the temperature's (BDM1 × P0, BDM2 × P1DG), because
the GK temperature error is bounded by ν/γ times the flux's broken-H¹ error; the
measurements and the candidates considered (penalty scaling, HDG, the vorticity
form, ...) are in ``docs/gk_accuracy.md``.

Remaining limitation: the penalty on the projected jumps still bounds γ, so
grid-scale temperature modes of the quasi-static operator decay at c(η) α/l² with
c ≈ 0.58 η^−0.4 (BDM1) / 0.36 η^−0.6 (BDM2): slower than the slowest physical mode
α π²/(L² + π² l²) once l > ~0.37 L / 0.24 L (unit square, mesh independent; 3.38 /
1.49 at η = 4 and l² = 0.1 against 4.97). With the whole-jump penalty c was ~0.12/η
(1.17 / 1.42 at η = 1; RT1 had 0.60 / 0.15), and rescaling it moved along rate ∝ 1/η
only (3.95 / 4.24 at η = 0.25, the edge of coercivity; ``benchmarks/README.md``).
Smooth data excite these modes only at the truncation level, so temperature errors
keep the optimal order with a constant insensitive to η (above); with a P0
temperature the cell means converge at O(h) in the end (1.5e-3 / 7.0e-4 at n = 32 /
64, l = 0.2; the vorticity form and Fourier's mixed method: O(h²)). Fluxes and heat
flows (κ_eff) are insensitive to η (tested for η from 1 to 64).
"""

from __future__ import annotations

import math
import warnings
from typing import Callable

import numpy as np
import scipy.sparse as sp
import skfem
from skfem.mapping import MappingAffine

from . import forms
from .batched import (AffineFacetTraces, FacetTraces, MatrixSum, affine_traces_apply,
                      cell_viscosity_blocks, interior_penalty_matrix, sum_matrices,
                      wall_no_slip_matrix)
from .axisymmetric import form_set
from ..physics.conditions import HeatFlux, NoSlip, SlipLength, TangentialFlux
from ..errors import FemheatInputError
from ..physics.materials import CoefficientFields, material_fields
from ..mesh.regions import RegionMesh

__all__ = ["gk_operator", "interior_penalty_matrix", "penalty_scale", "weak_walls",
           "wall_coupling", "surface_normal", "tangential_flux_load", "MIN_PENALTY"]

#: Smallest accepted penalty factor η (Shahbazi's sufficient value).
MIN_PENALTY = 1.0

#: A smooth normal more than this angle [degrees] from a facet normal draws a warning.
NORMAL_ANGLE_WARNING = 30.0


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


def _viscosities(f: CoefficientFields, tensor: bool) -> tuple[np.ndarray, np.ndarray]:
    """(ν, ν̄) from evaluated material fields: ν = l²κ⁻¹ [m³ K W⁻¹], the scalar field
    l²/κ for isotropic κ or else the tensor field (d, d, n, nq); ν̄ = l² tr(κ⁻¹)/d,
    its isotropic part, the coefficient of the grad-div term (module docstring)."""
    ell2, kinv = f.nonlocal_length**2, f.resistivity
    if not tensor:
        return ell2 * kinv[0, 0], ell2 * kinv[0, 0]
    return ell2[None, None] * kinv, ell2 * np.trace(kinv) / kinv.shape[0]


def _nu(problem, x: np.ndarray, cells: np.ndarray, tensor: bool = False) -> np.ndarray:
    """ν = l²κ⁻¹ at points x (d, n, nq) of the given cells (a tensor field if ``tensor``)."""
    f = material_fields(problem.regions, problem.materials, x, cells)
    return _viscosities(f, tensor)[0]


def _sym(a: np.ndarray) -> np.ndarray:
    return 0.5 * (a + np.swapaxes(a, 0, 1))


def _spd_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Symmetric tensor field ½(a_s + b_s + |a_s − b_s|) ≥ a_s and ≥ b_s (a_s, b_s the
    symmetric parts, |·| the matrix absolute value); max(a, b) for scalar fields."""
    if a.ndim <= 2:
        return np.maximum(a, b)
    sa, sb = _sym(a), _sym(b)
    lam, vec = np.linalg.eigh(np.moveaxis(sa - sb, (0, 1), (-2, -1)))
    absdiff = np.einsum("...ik,...k,...jk->...ij", vec, np.abs(lam), vec)
    return 0.5 * (sa + sb + np.moveaxis(absdiff, (-2, -1), (0, 1)))


def _normal_part(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """n·a_s n of a tensor field a (d, d, n, nq) with unit normals n (d, n, nq)."""
    return np.einsum("i...,ij...,j...->...", n, a, n)


def _field(values: np.ndarray, basis) -> np.ndarray:
    return np.repeat(np.asarray(values, dtype=float)[:, None], basis.X.shape[1], axis=1)


def _cell_moments(mesh: skfem.Mesh, cells: np.ndarray, fb: skfem.FacetBasis) -> dict:
    """Centroids x_K [m] and second moments mean_K r rᵀ [m²] (r = x − x_K) as facet fields.

    For a simplex with vertices p_v: mean r rᵀ = Σ_v r_v r_vᵀ / ((d+1)(d+2)).
    """
    d = mesh.p.shape[0]
    pv = mesh.p[:, mesh.t[:, cells]]  # (d, d+1, n)
    xk = pv.mean(axis=1)
    r = pv - xk[:, None]
    moment = np.einsum("ivn,jvn->ijn", r, r) / ((d + 1) * (d + 2))
    nq = fb.X.shape[1]
    return {"centroid": np.repeat(xk[:, :, None], nq, axis=2),
            "second_moment": np.repeat(moment[:, :, :, None], nq, axis=3)}


def faceted_curved_walls(problem) -> list[tuple[str, float]]:
    """The insulated slip and tangential-flux walls of ``problem`` without ``normal=``
    that lie on a curved surface (:func:`~femheat.mesh.normals.curved_turning`), with
    their median facet-normal turning [degrees]: there q·n_h = 0 facet by facet locks
    the tangential flux (free slip in a wire −10 % at h = R/5, O(h)). Linear Cartesian
    meshes only (where the remedies apply)."""
    from ..mesh.normals import curved_turning

    rm: RegionMesh = problem.regions
    if (getattr(problem, "coordinates", "cartesian") != "cartesian"
            or type(rm.mesh).__name__ not in ("MeshTri1", "MeshTet1")):
        return []
    out = []
    for name, wall in problem.walls.items():
        bc = problem.boundary_conditions.get(name)
        if (isinstance(wall, NoSlip) or getattr(wall, "normal", None) is not None
                or not (isinstance(bc, HeatFlux) and not callable(bc.value)
                        and np.all(np.asarray(bc.value) == 0))):
            continue  # no normal needed, given, or not available (heat crosses)
        turning = curved_turning(rm, name)
        if turning is not None:
            out.append((name, turning))
    return out


def weak_walls(problem) -> dict:
    """Walls whose impermeability is imposed weakly: name -> wall condition.

    These are the :class:`~femheat.physics.conditions.FreeSlip`,
    :class:`~femheat.physics.conditions.SlipLength` and
    :class:`~femheat.physics.conditions.TangentialFlux` walls given a smooth ``normal``;
    their normal-flux DOFs must not be fixed. Each must be insulated
    (``HeatFlux(0)``), which is checked here.
    """
    out = {}
    for name, wall in problem.walls.items():
        if getattr(wall, "normal", None) is None:
            continue
        bc = problem.boundary_conditions.get(name)
        if not (isinstance(bc, HeatFlux) and not callable(bc.value)
                and np.all(np.asarray(bc.value) == 0)):
            raise FemheatInputError(
                f"walls.{name}: a wall given a smooth normal is made impermeable "
                f"(q.n = 0) weakly, so its thermal condition must be insulated "
                f"(HeatFlux(0)), got {bc!r}; drop normal= to keep the facet normals")
        out[name] = wall
    return out


def surface_normal(wall, name: str, fb: skfem.FacetBasis) -> np.ndarray:
    """The wall's smooth normal at the quadrature points of ``fb``, checked.

    Refuses values that are not finite unit vectors of shape (d, n_facets,
    n_points) or that point into the body (n·n_h ≤ 0); warns when n is further
    than :data:`NORMAL_ANGLE_WARNING` degrees from a facet normal (a wrong
    surface, or facets too coarse for the curvature).
    """
    where = f"walls.{name}: {type(wall).__name__}.normal"
    x = fb.global_coordinates().value
    try:
        n = np.asarray(wall.normal(x), dtype=float)
    except FemheatInputError:
        raise
    except Exception as exc:  # the user's function failed on the points
        raise FemheatInputError(
            f"{where} failed on positions of shape {x.shape} ({type(exc).__name__}: {exc}); "
            "it must accept an array x of shape (d, ...) [m] and return the outward unit "
            "normals, shape (d, ...)") from exc
    if n.shape != x.shape:
        raise FemheatInputError(
            f"{where} returned shape {n.shape} for positions of shape {x.shape}; it must "
            "return one normal vector per point, shape (d, ...) like x")
    if not np.all(np.isfinite(n)):
        raise FemheatInputError(
            f"{where} returned NaN or infinite values (e.g. on the axis of a cylinder "
            "normal); check the surface's axis/centre")
    length = np.linalg.norm(n, axis=0)
    if np.any(np.abs(length - 1.0) > 1e-6):
        raise FemheatInputError(
            f"{where} must return unit vectors; lengths range from {length.min():.6g} "
            f"to {length.max():.6g}; divide by the norm (n / np.linalg.norm(n, axis=0))")
    cos = np.sum(n * fb.normals, axis=0)
    if np.any(cos <= 0):
        raise FemheatInputError(
            f"{where} points into the body on {int(np.any(cos <= 0, axis=1).sum())} of "
            f"{cos.shape[0]} facets; it must be the outward normal (e.g. "
            "sphere_normal(..., inward=True) on a hole or the inner wall of a shell)")
    angle = np.degrees(np.arccos(np.clip(cos.min(), -1, 1)))
    if angle > NORMAL_ANGLE_WARNING:
        warnings.warn(
            f"{where} is up to {angle:.0f} degrees from the facet normals: either it "
            "is not the normal of this surface or the mesh is too coarse for its "
            "curvature", stacklevel=3)
    return n


def wall_coupling(problem, qb: skfem.CellBasis, tb: skfem.CellBasis, order: int
                  ) -> sp.csr_matrix:
    """W = −⟨q·n_h, s⟩ on the weakly impermeable walls (n_T × n_q); zero without them.

    The flux equation's temperature term is −(B + W)ᵀT = −(T, ∇·v) + ⟨T, v·n_h⟩
    (:func:`~femheat.assembly.forms.wall_normal_flux`); the energy equation keeps B.
    """
    names = list(weak_walls(problem))
    if not names:
        return sp.csr_matrix((tb.N, qb.N))
    rm: RegionMesh = problem.regions
    facets = np.concatenate([rm.boundary(n) for n in names])
    fq = skfem.FacetBasis(rm.mesh, qb.elem, facets=facets, intorder=order)
    return forms.wall_normal_flux.assemble(fq, fq.with_element(tb.elem)).tocsr()


#: Interior facets per chunk of the interior-penalty assembly (bounds its transient memory).
FACET_CHUNK = 20000


def gk_operator(problem, qb: skfem.CellBasis, order: int, flux_degree: int) -> sp.csr_matrix:
    """The GK additions to the flux block A (see module docstring).

    Includes the flux-block terms of walls made impermeable weakly
    (:func:`weak_walls`); their temperature coupling is :func:`wall_coupling`.

    Parameters
    ----------
    problem
        A validated :class:`~femheat.assembly.system.HeatProblem` with ``model="gk"``.
    qb
        Flux basis (an element of :mod:`femheat.element.hdiv`, with gradients).
    order
        Quadrature order.
    flux_degree
        Polynomial degree k of the flux space (1 for BDM1, 2 for BDM2).
    """
    rm: RegionMesh = problem.regions
    mesh, elem = rm.mesh, qb.elem
    eta, beta = problem.penalty, problem.beta
    curved = faceted_curved_walls(problem)
    if curved:
        names = ", ".join(f"walls.{n}" for n, _ in curved)
        turn = ", ".join(f"{a:.2g}" for _, a in curved)
        warnings.warn(
            f"{names}: on a curved surface (facet normals turn by {turn} degrees at a "
            "vertex) the facet normals lock the tangential flux (errors O(h): free slip "
            "in a wire -10 % at h = R/5); give the surface normal, e.g. "
            f"{type(problem.walls[curved[0][0]]).__name__}(..., "
            f"normal=fh.boundary_normal(regions, {curved[0][0]!r})) (case file: "
            "surface_normal = \"mesh\"), or use viscous = 'vorticity'", stacklevel=5)
    fs = form_set(getattr(problem, "coordinates", "cartesian"))  # dx, or 2πr dr dz
    fields = material_fields(rm, problem.materials, qb)
    tensor = not fields.isotropic  # anisotropic κ: ν = l²κ⁻¹ is a tensor field
    nu, nu_mean = _viscosities(fields, tensor)
    G = MatrixSum(qb.N, max_level=2)
    if getattr(problem, "coordinates", "cartesian") == "cartesian":
        # per-cell blocks: the interior penalty adds each facet's one-sided blocks there
        blocks = cell_viscosity_blocks(qb, nu, beta * nu_mean if beta else None)
    else:  # the (r, z) forms carry 2πr and the hoop terms
        blocks = np.zeros((qb.nelems, qb.Nbfun, qb.Nbfun))
        G.add(fs.flux_viscosity.assemble(qb, nu=nu))
        if beta:
            G.add(fs.flux_grad_div.assemble(qb, nu=beta * nu_mean))
    weak = weak_walls(problem)
    if not np.any(nu > 0) and not weak:
        G.add_blocks(blocks, qb.element_dofs)
        return G.result()
    cell_sigma, facet_sigma = penalty_scale(mesh, flux_degree)

    # interior facets, minus Kapitza interfaces whose tangential flux is free
    interior = np.nonzero(mesh.f2t[1] >= 0)[0]
    free = [rm.interface(n) for n, k in problem.interfaces.items() if k.tangential == "free"]
    if free:
        interior = np.setdiff1d(interior, np.concatenate(free))
    # facets of cells without viscosity (l = 0): the viscous region's open boundary
    inviscid = ~np.any(np.reshape(np.abs(nu) > 0, (-1,) + nu.shape[-2:]), axis=(0, 2))
    interior = interior[~(inviscid[mesh.f2t[0, interior]] | inviscid[mesh.f2t[1, interior]])]
    if interior.size and np.any(nu > 0):
        # in chunks of facets: the two-sided facet bases (values and gradients of every
        # basis function at every point) cost ~60 kB per facet (BDM1, 3D), ~17 GB at
        # 290k facets (1M unknowns) in one piece; chunked, the peak is one chunk's
        # (BDM1 on affine cells: the traces come from the cell basis, no facet basis)
        axisymmetric = getattr(problem, "coordinates", "cartesian") == "axisymmetric"
        affine = AffineFacetTraces(qb) if affine_traces_apply(qb) else None
        projection = projected_jump_degree(qb, flux_degree)
        for part in np.array_split(interior, -(-interior.size // FACET_CHUNK)):
            if affine is not None:
                sides = affine(part, order)
            else:
                sides = FacetTraces.from_bases(
                    [skfem.InteriorFacetBasis(mesh, elem, facets=part, side=s, intorder=order)
                     for s in (0, 1)])
            xf = sides.x
            nu0 = _nu(problem, xf, mesh.f2t[0, part], tensor)
            nu1 = _nu(problem, xf, mesh.f2t[1, part], tensor)
            sigma = np.repeat(eta * facet_sigma[part][:, None], xf.shape[-1], axis=1)
            G.add(interior_penalty_matrix(
                sides, nu0, nu1, _spd_max(nu0, nu1), sigma,
                2 * np.pi * xf[0] if axisymmetric else None, cell_blocks=blocks,
                projection_degree=projection))
            del sides, xf, nu0, nu1, sigma
    else:
        affine = None

    G.add(_walls_matrix(problem, qb, order, tensor, cell_sigma, weak, affine))
    del affine
    G.add_blocks(blocks, qb.element_dofs)
    del blocks
    return G.result()


def projected_jump_degree(qb: skfem.CellBasis, flux_degree: int) -> int | None:
    """The degree k − 1 onto which the interior penalty projects the tangential jumps of
    a flux space of degree k on affine simplices (module docstring, "Projected jumps");
    None (full jumps) on other cells, where (∇q)n is not a polynomial of degree k − 1
    on a facet."""
    return flux_degree - 1 if isinstance(qb.mapping, MappingAffine) else None


def _walls_matrix(problem, qb: skfem.CellBasis, order: int, tensor: bool,
                  cell_sigma: np.ndarray, weak: dict,
                  affine: AffineFacetTraces | None = None) -> sp.csr_matrix:
    """The flux-block terms of every wall of ``problem`` (:func:`_wall_matrix`);
    ``affine``: the BDM1 traces of ``qb`` where they apply (batched no-slip walls)."""
    return sum_matrices([_wall_matrix(problem, qb, order, name, wall, tensor, cell_sigma, weak,
                                      affine) for name, wall in problem.walls.items()], qb.N)


def _wall_matrix(problem, qb: skfem.CellBasis, order: int, name: str, wall, tensor: bool,
                 cell_sigma: np.ndarray, weak: dict,
                 affine: AffineFacetTraces | None = None) -> sp.csr_matrix:
    """The flux-block terms of wall ``name`` (module docstring): Nitsche no-slip /
    tangential flux, a slip length's Robin term, weak impermeability with a smooth
    normal."""
    rm: RegionMesh = problem.regions
    mesh, elem = rm.mesh, qb.elem
    eta, beta = problem.penalty, problem.beta
    fs = form_set(getattr(problem, "coordinates", "cartesian"))
    facets = rm.boundary(name)
    if (affine is not None and isinstance(wall, (NoSlip, TangentialFlux)) and not tensor
            and name not in weak and fs.coordinates == "cartesian"):
        # BDM1 on affine cells, facet normals, scalar ν: batched from the cell basis
        traces = affine(facets, order, sides=(0,))
        cells = mesh.f2t[0, facets]
        f = material_fields(rm, problem.materials, traces.x, cells)
        sigma = np.repeat(eta * cell_sigma[cells][:, None], traces.dx.shape[1], axis=1)
        return wall_no_slip_matrix(traces, affine.normals, _viscosities(f, False)[0], sigma)
    G = sp.csr_matrix((qb.N, qb.N))
    fb = skfem.FacetBasis(mesh, elem, facets=facets, intorder=order)
    cells = mesh.f2t[0, facets]
    f = material_fields(rm, problem.materials, fb.global_coordinates().value, cells)
    nu_w, nu_w_mean = _viscosities(f, tensor)
    kinv_w = f.resistivity if tensor else f.resistivity[0, 0]
    normal = {}
    if name in weak:
        # tangential/normal are those of the true surface; q.n = 0 weakly (Nitsche)
        normal = {"n": surface_normal(wall, name, fb)}
        # penalty: Nitsche's σν, plus a Darcy part κ⁻¹(|K|/|F|)² that closes the
        # wall where l << h (the viscous terms then no longer do); a tensor enters
        # by its normal-normal part n·a_s n
        height = _field(_measures(mesh)[0][cells] / fb.dx.sum(axis=1), fb)
        scale = _field(eta * cell_sigma[cells], fb)
        if tensor:
            n = normal["n"]
            gamma = scale * (_normal_part(nu_w, n) + beta * nu_w_mean
                             + (1 + beta) * height**2 * _normal_part(kinv_w, n))
        else:
            gamma = _field(eta * (1 + beta) * cell_sigma[cells], fb) * (
                nu_w + kinv_w * height**2)
        G = G + forms.wall_impermeable.assemble(
            fb, nu=nu_w, nu_beta=beta * nu_w_mean, gamma=gamma, **normal)
        if problem.degree == 0:  # P0 temperature: its wall trace, from the flux
            G = G + forms.wall_temperature_trace.assemble(
                fb, kinv=f.resistivity, **_cell_moments(mesh, cells, fb))
    if isinstance(wall, (NoSlip, TangentialFlux)):
        G = G + fs.wall_no_slip.assemble(
            fb, nu=nu_w, sigma=_field(eta * cell_sigma[cells], fb), **normal)
    elif isinstance(wall, SlipLength):
        ell = f.nonlocal_length[None, None] if tensor else f.nonlocal_length
        friction = ell * kinv_w / wall.coefficient
        G = G + fs.wall_slip.assemble(fb, friction=friction, **normal)
    return G.tocsr()


def gk_wall_terms(problem, qb: skfem.CellBasis, order: int, flux_degree: int
                  ) -> sp.csr_matrix:
    """The flux-block terms of ``problem.walls`` alone, as :func:`gk_operator` adds
    them: what changing a problem's walls changes in A (homogenization cells, one set
    of walls per load axis)."""
    tensor = not material_fields(problem.regions, problem.materials, qb).isotropic
    cell_sigma, _ = penalty_scale(problem.regions.mesh, flux_degree)
    return _walls_matrix(problem, qb, order, tensor, cell_sigma, weak_walls(problem))


def tangential_flux_load(problem, qb: skfem.CellBasis, order: int, flux_degree: int
                         ) -> Callable[[float], np.ndarray] | None:
    """The flux-equation load of the :class:`~femheat.physics.conditions.TangentialFlux`
    walls at time t, :func:`~femheat.assembly.forms.wall_tangential_flux` (n_q,);
    None without such walls. Constant data are assembled once."""
    walls = [(n, w) for n, w in problem.walls.items() if isinstance(w, TangentialFlux)]
    if not walls:
        return None
    rm: RegionMesh = problem.regions
    mesh = rm.mesh
    tensor = not material_fields(rm, problem.materials, qb).isotropic
    fs = form_set(getattr(problem, "coordinates", "cartesian"))
    cell_sigma = penalty_scale(mesh, flux_degree)[0]
    parts = []
    for name, wall in walls:
        facets = rm.boundary(name)
        fb = skfem.FacetBasis(mesh, qb.elem, facets=facets, intorder=order)
        cells = mesh.f2t[0, facets]
        f = material_fields(rm, problem.materials, fb.global_coordinates().value, cells)
        where = (f"walls.{name}: TangentialFlux.value (case file: "
                 f"boundaries.{name}.wall_flux)")
        # the smooth normal of a weakly impermeable wall, else the facet normals
        normal = surface_normal(wall, name, fb) if wall.normal is not None else fb.normals
        parts.append((fb, wall, where, _viscosities(f, tensor)[0],
                      _field(problem.penalty * cell_sigma[cells], fb), normal))
    x = [fb.global_coordinates().value for fb, *_ in parts]
    steady = not any(w.time_dependent for _, w, *_ in parts)
    cache: dict = {}

    def load(t: float) -> np.ndarray:
        if steady and "f" in cache:
            return cache["f"]
        out = np.zeros(qb.N)
        for (fb, wall, where, nu, sigma, normal), xf in zip(parts, x):
            g = wall.tangential(xf, normal, t, where)
            out += fs.wall_tangential_flux.assemble(fb, nu=nu, sigma=sigma, flux=g,
                                                    n=normal)
        cache["f"] = out
        return out

    return load
