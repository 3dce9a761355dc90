r"""The Guyer–Krumhansl viscous term in vorticity (Hodge-Laplacian) form, 2D and 3D.

An alternative to the interior-penalty discretization of :mod:`femheat.assembly.gk`
(HeatProblem option ``viscous = "vorticity"``; the default ``"auto"`` takes it where
both model the same problem, :mod:`femheat.assembly.viscous_choice`). With
∇²q = ∇∇·q − curl rot q (rot q = ∂_x q_y − ∂_y q_x [W m⁻³], curl ω = (∂_y ω, −∂_x ω))
the GK law τ∂q/∂t + q = −κ∇T + l²(∇²q + β∇∇·q) has the energy form

.. math::

    (\kappa^{-1}(\tau\partial_t q + q), v) + (\omega, \mathrm{rot}\,v)
    + ((1+\beta)\nu\,\nabla\cdot q, \nabla\cdot v) - (T, \nabla\cdot v) = \dots,
    \qquad \omega = \nu\,\mathrm{rot}\,q ,

ν = l²/κ [m³ K W⁻¹]; ω [K] plays for the rotation the part T plays for the
divergence. Discretized with the exact sequences P2 → BDM1 → P0 (degree 0) and
P3 → BDM2 → P1DG (degree 1; curl P_{k+2} ⊂ flux space, ∇· flux space = T space): ω in
continuous P2 / P3 defined weakly by

.. math::

    (\nu^{-1}\omega, \varphi)_h + \langle (\ell_s/\nu)\,\omega, \varphi\rangle_h
    = (q, \mathrm{curl}\,\varphi) + \langle g_t, \varphi\rangle ,

(∫ rot q φ = (q, curl φ) + ∮(q·t)φ, t = (−n_y, n_x)). At degree 1 in a closed domain
(no wall or boundary that leaves ω free) the mass (·,·)_h is the row-sum lumped
(diagonal) one — ∫_K φ_i/ν_K, positive for P3 (|K|/30 at the vertices, 3|K|/40 at the
edge nodes, 9|K|/20 inside) — so ω is eliminated exactly: the flux block gains the
sparse, symmetric positive semidefinite

.. math::

    V = C^\top M_\omega^{-1} C + (1+\beta)(\nu\,\nabla\cdot q, \nabla\cdot v),
    \qquad C_{ij} = (\psi_j, \mathrm{curl}\,\varphi_i),

and the flux load −Cᵀ M_ω⁻¹ G (G_i = ⟨g_t, φ_i⟩, prescribed tangential flux).
At degree 0 the P2 mass is always consistent (its row sums vanish at the vertices), and
ω an unknown of every solve as in 3D (below); the RT0 × P0 pair before 2026-12-06 is
in docs/gk_accuracy.md.
At degree 1 with walls that leave ω free (no-slip, slip-length, tangential-flux), and
with boundaries that heat crosses (below), the P3 mass is consistent instead, and ω
stays an unknown as in 3D (below): the row-sum weight of a wall node averages rot q over
half a patch, and with the lumped mass q converged at O(h²) and T at O(h^1.3) next to
such walls (the consistent mass: O(h³) and O(h^2.2),
``test_degree_one_walls_converge_at_third_order_in_q``).

In 3D the rotation is the curl and ω a vector in Nédélec's first-kind space, with the
penalty form's flux pairs: of second order with BDM1 × P0 (degree 0,
:class:`~femheat.element.hcurl.ElementTetN1Curl2`; P2 → N1curl₂ → BDM1 → P0 is exact:
∇×N1curl₂ is the divergence-free part of RT of order 1, which is BDM1's, the
piecewise-linear fields with continuous normal component, since RT₁'s x·P̃₁ part has
a nonzero divergence), of third order with BDM2 × P1 DG (degree 1,
:class:`~femheat.element.hcurl.ElementTetN1Curl3`; P3 → N1curl₃ → BDM2 → P1DG).
(ν⁻¹ω, τ) + ⟨(ℓ_s/ν)ω_t, τ_t⟩ = (q, ∇×τ) + ⟨n × g, τ⟩. The Nédélec mass cannot be
lumped (the diagonal exact for constant
fields has zero or negative edge weights on ordinary meshes,
``benchmarks/bench_gk_vorticity_3d.py``), so M_ω stays consistent and ω an unknown of
every solve: the system's flux block is a
:class:`~femheat.assembly.rotation.RotationOperator` (A₀ + Cᵀ M_ω⁻¹ C applied, never
formed), the θ-scheme and the steady augmented Lagrangian factorize
[[K₀, Cᵀ], [C, −M_ω/θ]] (:mod:`femheat.solve.augmented`), the memory model's steps
too (coupled modes: one ω for the total flux), the frequency solver the complex
[[K₀(ω), Cᵀ], [C, −M_ω]] (:mod:`femheat.solve.frequency`), the iterative solver
applies it and preconditions with A₀ + Cᵀ diag(M_ω)⁻¹ C, the frequency fits interpolate
C and M_ω as items of their own (:func:`~femheat.inverse.frequency.fit_snapshot`), and
what needs A as a matrix (indexing A, a formed operator snapshot) is refused.

Wall conditions live in the ω equation, no penalty (in 3D on ω's tangential part):

* no-slip (q·t = 0) and :class:`~femheat.physics.conditions.TangentialFlux` (q·t = g):
  ω is free at the wall's vertices and ⟨q·t, φ⟩ is data (natural);
* :class:`~femheat.physics.conditions.SlipLength` (q_t = −C_s l ∂q_t/∂n): the wall
  energy ½⟨(ν/ℓ_s)q_t²⟩, ℓ_s = C_s l, becomes the boundary mass ⟨(ℓ_s/ν)ω, φ⟩ =
  ⟨(C_s κ/l)ω, φ⟩ (minimizing over the wall's tangential trace); C_s → 0 is no-slip,
  C_s → ∞ free slip;
* boundaries that heat crosses (a Temperature, Convection or nonzero HeatFlux
  condition) without a wall condition, in 2D: ω is free there, and the
  boundary integral by which ν|∇q|² and ν(|rot q|² + |∇·q|²) differ is added
  (:mod:`femheat.assembly.vorticity_open`), so that the form has the interior
  penalty's natural conditions T − ν∂q_n/∂n − βν∇·q = T_D, ν∂q_t/∂n = 0 (a developed
  channel flow passes open ends undisturbed; the hollow-cylinder case's contact
  resistance);
* every other boundary (no wall condition, or
  :class:`~femheat.physics.conditions.FreeSlip`), and, where the levels of
  :mod:`.vorticity_levels` (or the cut of :mod:`.vorticity_slit`) do not make them open
  boundaries, Kapitza interfaces declared ``tangential="free"`` and the vorticity DOFs
  of cells with l = 0 are
  stress-free: ω = 0 there (on an impermeable flat wall this is free slip, ∂q_t/∂n = 0). In
  (r, z) this includes boundaries that heat crosses (in 3D too before 2026-12-06, when
  :mod:`.vorticity_open3d` gave them the gradient energy's terms), where ω = 0 and
  T − (1+β)ν∇·q = T_D are *not* the interior penalty's conditions: give inlets of
  developed channel flows :class:`~femheat.physics.conditions.NoSlip` there
  (docs/gk_accuracy.md).

Why: discrete gradients carry no viscous energy. The flux space splits into curl P_k
(divergence-free) and its L²-orthogonal complement, on which C vanishes; with
constant coefficients and free-slip walls the two parts decouple, and the
quasi-static temperature modes decay at μ/(1 + (1 + β)νμ) over the eigenvalues μ of
the mixed Darcy operator of the pair, i.e. every discrete rate lies below the
saturation α/((1+β)l²) and the slowest one converges to the physical one. The
interior penalty instead penalizes the tangential jumps of discrete gradients, and
its grid-scale temperature modes decay at ~0.58 / 0.36 α/l² at degree 0 / 1 (η = 1,
projected jumps; ~0.12α/(ηl²) on whole jumps; ``tests/test_gk_modes.py``).
The mass lumping does not enter that argument (C vanishes on the complement whatever
M_ω is), and it holds in 3D (slowest rate 5.03 against the physical 4.97 at n = 3, degree
0; the penalty form: 0.88, ``tests/test_gk_vorticity_3d.py``).

Cost: the system keeps V's rotation part in its factors (``MixedSystem.rotation``), so
that time loops can keep ω as an unknown and factorize a sparser quasi-definite matrix
(:mod:`femheat.solve.augmented`); with a lumped M_ω the formed A is built only if
something reads ``MixedSystem.resistance`` (steps and steady solves do not). At degree
0 the flux space is the interior penalty's (BDM1), with the P2 vorticity as unknown
(costs against the penalty form: ``benchmarks/bench_gk_auto.py --degree 0``). At
degree 1 the flux space is the interior penalty's (BDM2): on the bench_gk channel,
n = 25–100 (13k–211k unknowns, no-slip walls: the consistent mass), a step costs
0.64–0.68× the penalty form's and a steady solve 0.91–1.05×. In 3D (the same BDM
pairs, 2 and 3 Nédélec unknowns per edge and face) a step costs 1.8–2.9× the penalty
form's and a steady solve 2.6–4.0× (``bench_gk.py --dim 3``, benchmarks/README.md; the
augmented matrix by SuperLU's supernodal LU, :func:`~femheat.solve.augmented.augmented_factor`).

Accuracy and limits (measured in ``tests/test_gk_vorticity.py`` and
``tests/test_gk_vorticity_lumping.py``): at degree 0 (BDM1 × P0 × P2) T converges at O(h)
and q at O(h²) in L² (steady cos mode, l = 0.2, n = 16 / 32 / 64: T 6.54e-2 / 3.27e-2
/ 1.64e-2, q 4.35e-3 / 1.09e-3 / 2.71e-4; the penalty form 6.56e-2 … 1.64e-2 and
4.93e-3 … 3.11e-4); the P0 values at the cell centroids superconverge at O(h²) like the
Fourier model's (1.44e-2 / 3.65e-3 / 9.14e-4 at n = 8 / 16 / 32; the penalty form: O(h)
in the end); on irregular meshes the max-norm T error converges (gmsh channel above);
next to no-slip walls the largest T error is O(h^0.9) (structured Poiseuille channel
8.3e-4 / 4.5e-4 / 2.4e-4 at n = 8 / 16 / 32, the penalty form 5.5e-3 / 2.9e-3 /
1.5e-3), the mixed method's known suboptimality there (below). The former RT0 × P0
pair's studies (lumping weights, rows mixed with their neighbours, shear-exact wall
weights) are in docs/gk_accuracy.md. At degree 1
T converges at O(h²) and q at O(h³) (errors 0.96× / 0.83×
the penalty form's), and next to no-slip, slip and tangential-flux walls q at O(h³)
and T at O(h^2.2) with the consistent mass (no-slip channel at n = 16: T 7.1e-6,
the penalty form's 5.5e-5). In 3D T converges at O(h) / O(h²) and q at O(h^1.85) /
O(h^2.6–2.9) at degree 0 / 1, below the penalty form's errors (figures in
docs/gk_accuracy.md; ``tests/test_gk_vorticity_3d.py``,
``tests/test_gk_vorticity_3d_degree1.py``). Walls that hold both flux components cost this mixed
method half an order in the energy norm (Arnold, Falk & Gopalakrishnan, M3AS 22,
1250024, 2012; in 3D arXiv:2603.14026); with BDM fluxes, one order above the
temperature's, T keeps its full order (not with the former RT fluxes: their wall
studies are in docs/gk_accuracy.md).
The Hodge energy ν|rot q|² + (1+β)ν|∇·q|² equals the Landau–Khalatnikov gradient energy
ν|∇q|² + βν|∇·q|² of :mod:`femheat.assembly.gk` for constant ν up to boundary terms that
vanish on flat walls with q·n = 0; where ν varies the two closures differ by terms in
∇ν. Where it is piecewise constant (constant κ and l in every material, with
several values of ν or some materials with l = 0) the
form is built on the viscosity levels of :mod:`.vorticity_levels` (one vorticity per
level and per material of the level, the interfaces to smaller ν, l = 0 included, open
boundaries of the level), which is the gradient energy's interface model: q and the
traction continuous, and no tangential condition next to l = 0. Where it varies
inside a material, continuous and positive (l(r), κ(r); since 2026-12-07), the flux
block gains the closure terms of :mod:`.vorticity_graded` and the masses weigh ν
pointwise: the gradient energy again; where it also jumps between materials (since
2026-12-08) on the graded levels of :mod:`.vorticity_graded_levels`. Elsewhere (ν
varying and vanishing or meeting a slit, or jumping in ways the graded
levels do not take, where only an explicit ``viscous = "vorticity"`` takes this form;
(r, z)) one vorticity with ν its cell mean in M_ω holds continuity of ν rot q and
(weakly) of q·t instead, and ω = 0 next to cells with l = 0.
Cartesian triangles and tetrahedra, degree 0 and 1, and (r, z) triangles at degree 0
(:mod:`femheat.assembly.vorticity_axisymmetric`: ω carried by the stream function rω),
an isotropic κ, or a constant symmetric tensor (its smallest eigenvalue's part
here, on an isotropic proxy problem, the rest as weak gradients of flux components,
:mod:`.vorticity_anisotropic`). Curved walls need no smooth normal: the wall conditions act on ω, and
free-slip and slip-length walls meshed by flat facets converge at O(h²) (a wire, a
disc's swirl mode, ``tests/test_gk_vorticity_curved.py``; the penalty form locks there
without the true normal), so ``normal=`` is refused as not needed (and for a
:class:`~femheat.physics.conditions.TangentialFlux` wall as not available: its data
follow the facets, O(h^½) in T at degree 1 on a circular Couette annulus, exact at
degree 0). On a curved wall ω = 0 is a different free-slip model from the penalty form's
∂q_t/∂n = 0 (they differ by the curvature term q_t/R; a disc's swirl mode has J₀(k) = 0
here, J₁'(k) = 0 there). The Landau–Khalatnikov terms run as with the penalty form, the
gradient energy λ|∇q|² taken as its Hodge form λ(|rot q|² + |∇·q|²) (the same on flat
impermeable walls); where M_ω is consistent Newton's Jacobian solves keep ω (A₀ +
θJ(q) augmented, LU where a < 0 makes it indefinite). Nonlinear Poiseuille flow
against solve_bvp to 9e-4 (2D degree 0), 1e-5 (degree 1) and 8.2e-6 (3D degree 0, order 3), the
discrete energy identity to round-off for a > 0 and a < 0, a 2D disc vortex with a
no-slip rim relaxing to its radial profile at O(h^(k+1)) (``tests/test_landau*.py``,
``tests/test_gk_vorticity_3d.py``). The vorticity mass and the flux block applied from
its factors, as the solvers use them, live in :mod:`femheat.assembly.rotation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp
import skfem
from skfem import BilinearForm, LinearForm
from skfem.generic_utils import OrientedBoundary

from . import forms
from . import vorticity_axisymmetric as rz
from .rt0_closed_forms import p1_gradients
from .axisymmetric import axis_vertices
from .rotation import (AMD_OR_RCM, RotationOperator, VorticityMass, entity_labels,
                       formed_resistance, not_formed)
from ..errors import FemheatInputError
from ..mesh.regions import RegionMesh
from ..element.hcurl import ElementTetN1Curl2, ElementTetN1Curl3
from ..physics.conditions import NoSlip, SlipLength, TangentialFlux
from ..physics.materials import material_fields
from .viscous_choice import (VISCOUS_CHOICES, VISCOUS_FORMS, WHERE_VORTICITY as _WHERE,
                             check_vorticity, viscous_form, vorticity_obstacles)
from .vorticity_walls import tangential_edge_mass, tangential_load, wall_lengths
from .vorticity_anisotropic import (isotropic_proxy, remainder_blocks, mean_viscosity_excess,
                                    remainder_friction)
from .vorticity_graded import GradedViscosity
from .vorticity_graded_levels import graded_plan
from .vorticity_slit import SlitCut, facet_dofs, slit_cut, warn_stress_free
from .vorticity_levels import ViscosityLevel, ViscosityPiece, viscosity_levels
from .vorticity_crossed_walls import crossed_slip_walls, slip_friction, tangential_data_load
from .vorticity_open import (far_tangential_trace, inner_cells, open_boundaries,
                             sheared_walls, tangential_trace)

__all__ = ["VISCOUS_FORMS", "VISCOUS_CHOICES", "RotationOperator", "VorticityMass",
           "check_vorticity", "formed_resistance", "not_formed", "vorticity_element",
           "vorticity_obstacles", "vorticity_operator", "uses_vorticity", "viscous_form"]

def uses_vorticity(problem) -> bool:
    """True if ``problem`` gets the vorticity form of the viscous term (asked for, or
    chosen by ``viscous = "auto"``:
    :func:`~femheat.assembly.viscous_choice.viscous_form`)."""
    return viscous_form(problem) == "vorticity"


def vorticity_element(degree: int, dim: int = 2, axisymmetric: bool = False) -> skfem.Element:
    """The vorticity space of the flux pair at ``degree``: continuous P2 with BDM1
    (degree 0; P1 with RT0 in (r, z), ``axisymmetric``, as the stream function rω),
    continuous P3 with BDM2 (degree 1); in 3D first-kind Nédélec of second order with
    BDM1 (degree 0) and of third order with BDM2 (degree 1,
    :mod:`femheat.element.hcurl`). Its curl is the flux space's divergence-free part."""
    if dim == 3:
        return ElementTetN1Curl2() if degree == 0 else ElementTetN1Curl3()
    if degree == 0:
        return skfem.ElementTriP1() if axisymmetric else skfem.ElementTriP2()
    return skfem.ElementTriP3()


@LinearForm
def _lumped_mass(phi, w):
    return w.weight * phi


@BilinearForm
def _weighted_mass(omega, phi, w):
    """(w.weight ω, φ) of scalar fields: the consistent 2D vorticity mass."""
    return w.weight * omega * phi


def vorticity_operator(problem, qb: skfem.CellBasis, order: int
                       ) -> tuple[sp.csr_matrix, Optional[Callable[[float], np.ndarray]],
                                  Optional[tuple[sp.csr_matrix, VorticityMass]]]:
    """(G, load, rotation): the grad-div part G of the viscous flux block (with the
    boundary form of open boundaries, :mod:`.vorticity_open`), the load of
    prescribed tangential fluxes (None without
    :class:`~femheat.physics.conditions.TangentialFlux` walls) and the rotation part
    as its factors (C, M_ω): V = G + Cᵀ M_ω⁻¹ C on the active vorticity DOFs (None
    where no cell is viscous); see the module docstring. A solver may keep ω =
    M_ω⁻¹ C q as an unknown instead of forming Cᵀ M_ω⁻¹ C, whose pattern (each flux
    DOF with those of its vertices' patches) fills ~3x more in a factorization
    (:func:`~femheat.solve.augmented.factorize_augmented`); where M_ω is consistent it must
    (3D; 2D degree 0; 2D degree 1 with walls or open boundaries that leave ω free).
    ``qb`` is the flux basis (BDM1 at degree 0, BDM2 at degree 1) of a 2D Cartesian
    triangle mesh or a tetrahedral one, or RT0 in (r, z)
    (:mod:`.vorticity_axisymmetric`: closed forms); assembled by quadrature.
    """
    # an anisotropic κ: ν_v's part on an isotropic proxy, weak gradients for the rest
    anisotropic, problem = problem, isotropic_proxy(problem)
    rm: RegionMesh = problem.regions
    mesh = rm.mesh
    fields = material_fields(rm, problem.materials, qb)
    if not fields.isotropic:  # a conductivity function returning a tensor
        raise FemheatInputError(
            f"{_WHERE} needs an isotropic conductivity, but a material's conductivity "
            "evaluates to a tensor; return a scalar, or use viscous = 'penalty'")
    kinv = fields.resistivity[0, 0]
    ell = np.broadcast_to(fields.nonlocal_length, kinv.shape)
    nu = ell**2 * kinv
    area = qb.dx.sum(axis=1)
    nu_int = (nu * qb.dx).sum(axis=1)  # ∫_K ν
    nu_cell = nu_int / area
    degree, dim = problem.degree, mesh.dim()
    axisymmetric = getattr(problem, "coordinates", "cartesian") == "axisymmetric"
    if axisymmetric:  # on the cell divergences of B (:mod:`.vorticity_axisymmetric`)
        G = rz.grad_div(qb, (1 + problem.beta) * nu)
    else:
        excess = mean_viscosity_excess(anisotropic, qb)  # β(ν̄ − ν_v), anisotropic κ
        G = forms.flux_grad_div.assemble(
            qb, nu=(1 + problem.beta) * nu + (0.0 if excess is None else excess)).tocsr()
    if not np.any(nu_cell > 0):
        return G, None, None
    # one vorticity per viscosity level (one, unless ν is piecewise constant with
    # several values: :mod:`.vorticity_levels`); ν varying inside a material: graded
    # levels with the closure terms in ∇ν (:mod:`.vorticity_graded_levels`)
    plan = graded_plan(problem, qb, order, sheared_walls(problem))
    if plan is None:
        levels = [(level, None) for level in viscosity_levels(problem, nu_cell)]
    else:
        levels, closure = plan
        G = (G + closure).tocsr()
    parts, ends = [], []  # ends: the tangential data's end terms (vorticity_open)
    remainders = remainder_blocks(anisotropic, qb)  # an anisotropic κ's weak gradients
    for level, graded in levels:
        # a slit in the single vorticity: its space cut there (:mod:`.vorticity_slit`)
        cut = slit_cut(problem, None if level.single else level.inside)
        interface = level.interface
        if cut is not None:  # the slit's facets, oriented out of each side: open
            parts_ = [(cut.slit, np.zeros(cut.slit.size, int)),
                      (cut.slit, np.ones(cut.slit.size, int))]
            if interface is not None:
                parts_.insert(0, (np.asarray(interface), interface.ori))
            interface = OrientedBoundary(*map(np.concatenate, zip(*parts_)))
        # boundaries that heat crosses, and the level's interface to smaller ν: ω free,
        # the gradient energy's model (vorticity_open)
        opened, open_form = open_boundaries(
            problem, qb.elem, level.weight if graded is None else graded, order,
            None if level.single else level.inside, interface, cut, ends)
        if open_form is not None:
            G = (G - open_form).tocsr()
        parts += [_level_rotation(problem, qb, order, level, piece, opened, graded,
                                  cut, consistent=bool(remainders))
                  for piece in level.pieces]
    parts += remainders  # the same fields as a level's (RemainderBlock)
    # slip-length walls: an anisotropic κ's remainders, and the Robin term where heat crosses
    for friction in (remainder_friction(anisotropic, qb), slip_friction(problem, qb, order)):
        if friction is not None:
            G = (G + friction).tocsr()
    C = sp.vstack([part.C for part in parts]).tocsr()
    # 2D: consistent where one level needs it (degree 0 P2: its row sums vanish at the
    # vertices; degree 1 where ω is free on a wall or an open boundary); 3D: the
    # Nédélec mass; (r, z): the lumped stream mass
    if dim == 3 or (not axisymmetric and any(part.consistent_needed for part in parts)):
        # the DOFs of one mesh entity and piece share a group (the preconditioner's
        # block inverse of M_ω, VorticityMass.block_inverse)
        offsets = np.cumsum([0] + [part.groups.max(initial=-1) + 1 for part in parts[:-1]])
        omega_mass = VorticityMass(sp.block_diag([part.consistent for part in parts]).tocsr(),
                                   # 2D degree 0 (BDM1, P2): AMD solves the augmented
                                   # steady system 17–24 % faster than nested dissection
                                   # at the same factorization time (channel, n = 100, 180)
                                   "amd" if degree == 0 and dim == 2 else None,
                                   np.concatenate([part.groups + off for part, off
                                                   in zip(parts, offsets)]))
    else:
        # degree 1 (BDM2, P3): nested dissection gives the augmented factor 24 % less
        # fill than AMD at the same factorization time (n = 100); (r, z) degree 0: AMD's
        # factor of the bench_gk pipe has 1.8x the fill of nested dissection's (n = 180),
        # so AMD after RCM where that predicts less work (AMD_OR_RCM)
        omega_mass = VorticityMass(np.concatenate([part.lumped for part in parts]),
                                   "nesdis" if degree > 0 else AMD_OR_RCM)
    load = tangential_load(problem, parts, order, C, omega_mass,
                            2 * np.pi if axisymmetric else 1.0)
    data = tangential_data_load(problem, qb.elem, nu_cell, order, ends, plan is not None)
    if data is not None:  # tangential-flux walls that heat crosses
        load = data if load is None else _sum_loads(load, data)
    return G, load, (C, omega_mass)


def _sum_loads(first: Callable[[float], np.ndarray], second: Callable[[float], np.ndarray]
               ) -> Callable[[float], np.ndarray]:
    """t ↦ first(t) + second(t)."""
    return lambda t: first(t) + second(t)


@dataclass
class _LevelRotation:
    """One piece of a viscosity level: its share of the rotation (:func:`_level_rotation`)."""

    C: sp.csr_matrix              # (q, curl φ) (+ open traces) on its active ω DOFs
    consistent: sp.csr_matrix | None  # its consistent mass there (2D Cartesian, 3D)
    lumped: np.ndarray            # its lumped mass there
    consistent_needed: bool       # 2D: ω free on a wall or an open boundary, or degree 0
    active: np.ndarray            # its active DOFs in the vorticity element's numbering
    elem: skfem.Element
    n_omega: int
    inside: np.ndarray | None     # its region (None: the whole mesh)
    groups: np.ndarray | None = None  # the mesh entity of each active DOF
    cut: SlitCut | None = None    # its space cut along a slit (:mod:`.vorticity_slit`)


def _level_rotation(problem, qb: skfem.CellBasis, order: int, level: ViscosityLevel,
                    piece: ViscosityPiece, opened: np.ndarray,
                    graded: GradedViscosity | None = None, cut: SlitCut | None = None,
                    consistent: bool = False) -> _LevelRotation:
    """C and M_ω of one piece of a viscosity level (:mod:`.vorticity_levels`): the
    single vorticity of the module doc for ``level.single``, else the Hodge energy of
    the piece's cells with the level's ``opened`` facets that bound it open, and its
    facets towards the level's other pieces taking the tangential trace from the side
    of larger ν (:class:`~.vorticity_levels.ViscosityPiece`); ``graded``: ν_h weighs
    the masses pointwise (:mod:`.vorticity_graded`); ``cut``: the vorticity space cut
    along a slit (:mod:`.vorticity_slit`); ``consistent``: the consistent mass in 2D
    whatever the walls (next to an anisotropic κ's weak gradients, which need it)."""
    rm: RegionMesh = problem.regions
    mesh = rm.mesh
    degree, dim = problem.degree, mesh.dim()
    axisymmetric = getattr(problem, "coordinates", "cartesian") == "axisymmetric"
    nu_cell = level.weight
    region = not level.single
    inside = piece.inside if region else None
    if region and len(opened):  # the level's open facets that bound this piece
        mine = inside[inner_cells(mesh, opened)]
        ori = getattr(opened, "ori", np.zeros(len(opened), dtype=int))
        opened = OrientedBoundary(np.asarray(opened)[mine], ori[mine])

    def bounding(facets: np.ndarray) -> np.ndarray:
        """Those of the boundary ``facets`` that bound the level's region."""
        return facets if inside is None else facets[inside[mesh.f2t[0, facets]]]

    # walls where ω is free (no-slip, slip length, tangential flux); slip-length walls
    # that heat crosses are open boundaries (in ``opened``)
    facets_of = {}
    slip_open = crossed_slip_walls(problem)
    for name, wall in problem.walls.items():
        if isinstance(wall, (NoSlip, TangentialFlux, SlipLength)) and name not in slip_open:
            facets_of[name] = bounding(rm.boundary(name))
    held = (np.concatenate(list(facets_of.values())) if facets_of
            else np.zeros(0, dtype=np.int64))

    elem = vorticity_element(degree, dim, axisymmetric)
    # (r, z) degree 0: P1 on the vertices, its masses in closed form (∫_K φ_i = |K|/3)
    closed = degree == 0 and dim == 2 and axisymmetric
    cells = np.nonzero(inside)[0] if region else None
    if region:
        qb = skfem.CellBasis(mesh, qb.elem, elements=cells, quadrature=(qb.X, qb.W))
    wb = None if closed else skfem.CellBasis(mesh, elem, quadrature=(qb.X, qb.W),
                                             elements=cells)
    if cut is not None:
        wb = cut.cut(wb)
    n_omega = mesh.p.shape[1] if closed else wb.N
    # (ν⁻¹ω, φ) with ν its cell mean; ν_K = 0 makes ω = 0 on K. 2D degree 1: row-sum
    # lumped, ∫_K φ_i / ν_K, positive for P3 (|K|/30 at the vertices, 3|K|/40 on the
    # edges, 9|K|/20 inside), consistent where ω is free on a wall or an open boundary;
    # 2D degree 0: the consistent P2 mass; (r, z): the lumped stream mass; 3D: the
    # consistent Nédélec mass (module docstring)
    viscous = nu_cell > 0
    inv_nu = np.where(viscous, 1.0 / np.where(viscous, nu_cell, 1.0), 0.0)
    cell_weight = inv_nu[cells] if region else inv_nu
    needed = dim == 2 and not axisymmetric and (degree == 0 or held.size or len(opened)
                                                 or region or consistent)
    consistent = None
    if dim == 3:
        # degree 1: a mass of degree 6; scikit-fem's tetrahedral order 6 is exact to 5
        mb = wb if degree == 0 else skfem.CellBasis(mesh, elem, intorder=7, elements=cells)
        mb = mb if cut is None or mb is wb else cut.cut(mb)
        consistent = forms.edge_mass.assemble(mb, weight=_inverse(cell_weight, mb, graded))
        mass = consistent.diagonal()
    elif axisymmetric:  # the stream function ψ = rω, zero on the axis
        blocks = rz.cell_coupling(qb, p1_gradients(mesh))
        mass = rz.rotation_consistent(rz.stream_mass(mesh, inv_nu),
                                      rz.stream_rotation_weights(qb, blocks))
    else:
        weight = _inverse(cell_weight, qb, graded)
        mass = _lumped_mass.assemble(wb, weight=weight)
        if needed:  # a single level's closed domain at degree 1 keeps the lumped mass
            consistent = _weighted_mass.assemble(wb, weight=weight)
    fixed = np.zeros(n_omega, dtype=bool)
    if region:  # DOFs off the region are not the level's
        fixed[:] = True
        fixed[np.unique(wb.element_dofs)] = False
    else:
        fixed[np.unique((mesh.t if closed else wb.element_dofs)[:, ~viscous])] = True
    if axisymmetric:
        fixed |= axis_vertices(mesh)

    # stress-free boundaries (no wall condition, FreeSlip) and free interfaces that are
    # not open boundaries of the levels: ω = 0 (3D: its tangential components, the edge
    # DOFs there)
    stress_free = np.setdiff1d(bounding(mesh.boundary_facets()),
                               np.concatenate([held, np.asarray(opened, dtype=np.int64)]))
    free_ifaces = [np.setdiff1d(rm.interface(n), np.asarray(opened, dtype=np.int64))
                   for n, k in problem.interfaces.items() if k.tangential == "free"]
    warn_stress_free(mesh, [n for n, k in problem.interfaces.items() if k.tangential == "free"],
                     free_ifaces, inside if region else viscous)
    for facets in [stress_free, *free_ifaces]:
        if facets.size:
            fixed[mesh.facets[:, facets] if closed else facet_dofs(wb, facets, cut)] = True

    # slip length: boundary mass ⟨(C_s κ/l) ω, φ⟩, lumped (∫_F φ_i > 0 for P1, P3);
    # 3D: ⟨(C_s κ/l) ω_t, τ_t⟩ on the edges, consistent
    for name, wall in problem.walls.items():
        if not isinstance(wall, SlipLength) or not facets_of.get(name, np.zeros(0)).size:
            continue
        facets = facets_of[name]
        f_cells = mesh.f2t[0, facets]
        fb = skfem.FacetBasis(mesh, elem, facets=facets, intorder=max(order, 3))
        fb = fb if cut is None else cut.cut(fb)
        coef = wall.coefficient * (wall_lengths(problem, fb) * inv_nu[f_cells][:, None]
                                   if graded is None else graded.kappa_over_l(fb))
        if dim == 3:
            wall_mass = tangential_edge_mass.assemble(fb, weight=_points(coef, fb))
            consistent = consistent + wall_mass
            mass += wall_mass.diagonal()
        elif axisymmetric:  # per facet (the lumped stream mass)
            mass += rz.stream_wall_mass(mesh, facets, (coef * fb.dx).sum(1) / fb.dx.sum(1))
        else:
            mass += _lumped_mass.assemble(fb, weight=_points(coef, fb))
            if consistent is not None:
                consistent = consistent + _weighted_mass.assemble(
                    fb, weight=_points(coef, fb))

    if consistent is not None and dim == 2:
        mass_diag = consistent.diagonal()  # which DOFs are active
    else:
        mass_diag = mass
    active = ~fixed & (mass_diag > 0)
    if axisymmetric:
        C = rz.stream_coupling(qb, blocks, np.where(active, np.cumsum(active) - 1, -1),
                               int(active.sum()))
    else:
        coupling = forms.flux_edge_curl_coupling if dim == 3 else forms.flux_curl_coupling
        C = coupling.assemble(qb, wb).tocsr()[active]
        C.eliminate_zeros()
    if len(opened):
        C = (C + tangential_trace(mesh, qb.elem, elem, opened, order, cut)[active]).tocsr()
    if region and piece.own is not None:
        C = (C + tangential_trace(mesh, qb.elem, elem, piece.own, order, cut)[active]).tocsr()
    if region and piece.far is not None:
        C = (C + far_tangential_trace(mesh, qb.elem, elem, piece.far, order, cut)[active]
             ).tocsr()
    return _LevelRotation(
        C=C, consistent=None if consistent is None else consistent.tocsr()[active][:, active],
        lumped=mass[active], consistent_needed=bool(needed), active=np.nonzero(active)[0],
        elem=elem, n_omega=n_omega, inside=inside,
        groups=None if wb is None else entity_labels(wb)[active], cut=cut)


def _inverse(cell_weight: np.ndarray, basis, graded) -> np.ndarray:
    """The mass weight 1/ν at ``basis``' points: ``cell_weight`` per cell, or pointwise."""
    return _points(cell_weight, basis) if graded is None else graded.inverse_on(basis)


def _points(values: np.ndarray, basis) -> np.ndarray:
    """Per-cell (or per-facet) ``values`` at ``basis``' points; pointwise ones as given."""
    return values[:, None] + 0.0 * basis.dx if values.ndim == 1 else values
