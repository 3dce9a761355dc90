r"""Viscosity varying inside materials *and* jumping between them in the vorticity form:
graded levels over tiers of ν (since 2026-12-08).

Where κ or l is a function of position and ν = l²/κ also jumps between materials
(a graded phase in a composite, a graded film on a substrate), neither the single
graded vorticity of :mod:`.vorticity_graded` (ν_h continuous) nor the constant levels
of :mod:`.vorticity_levels` apply. The viscous subdomains (l > 0; those with l = 0 lie
in no level) form *phases*, the unions across which ν is continuous (to 1e-8). Where
two phases meet and ν is larger on one side all along their interface, or equal at
some points (touching) and larger elsewhere, that side is the *upper* phase there. A
phase's *tier* is 0 where no smaller ν lies beside it, else 1 + the largest tier below
it. Where ν changes side along an interface, or "larger than" runs around a loop of
phases, there are no tiers, and the lower envelope's levels below take over.

Level k spans the phases of tier ≥ k (R_k) with a continuous weight w_k: on the
tier-k phases w_k = ν − E_k, E_k = w₀ + … + w_{k−1} there, and on the higher ones an
extension c_k of it, λ_h (ν_h − E_k) with λ the discrete harmonic extension, phase by
phase in the order of tiers, of the ratios at the nodes shared with the phases done
(clipped to their range, which stays at or below 1: every weight ≥ 0, zero only where
ν touches across an interface). On each phase the weights sum to ν, so

.. math::

    \sum_m \int_{\Omega_m} \nu\,|\nabla q|^2 = \sum_k \int_{R_k} w_k\,|\nabla q|^2 ,

each term a graded Hodge energy on R_k with the closure terms of
:mod:`.vorticity_graded` (∇w_k from the nodal fields, n × ∇w_k continuous across
facets inside R_k), its vorticity split between phases (rot q jumps with ν), each
piece's ω equation taking the tangential trace from the upper side, as between the
pieces of :mod:`.vorticity_levels`, and R_k's interfaces open boundaries (trace from
its side). Ω_v's interface to l = 0 is an open boundary of every level there. Two
tiers (a matrix and its inclusions, a film and its substrate) give a base level on
every viscous cell and one level per upper phase.

Why tiers: at an interface Γ between a side U whose traces the pieces take and a side
L, the exact flux's traction balance ν_U ∂_n q_U = ν_L ∂_n q_L leaves the consistency
error ∫_Γ (ν_L − w)∂_n q_L·[v] in the level forms, w the weight on L of the levels
spanning Γ; it vanishes only if those levels carry all of L's ν at Γ (w = ν_L) and no
level on L alone is open at Γ. The levels of tier ≤ tier(L) span Γ and sum to ν_L on
L; those above it hold U alone. A first version (2026-12-06, reverted) had a base
level of constant c = min ν/2 with one continuous vorticity and a graded level on each
side of every jump: with flows whose gradient kinks at Γ as the true solution's does
it converged at O(h) in q; levels on both sides of a jump stay O(h) with constant ν
too (0.0050 / 0.0022 / 0.0010 at n = 4 / 8 / 16). The levels first asked for jumps of
5 % at least and refused touching ones; small jumps (1 + 1e-6) and touching ones
converge at full order (tests), and MINRES counts do not change (ratio 1.05: 37 / 53
/ 57 at n = 8 / 16 / 32, 1 + 1e-6: 37 / 53 / 56; 2D degree 1, rtol 1e-10).

The lower envelope's levels (no tiers). With F₀ the continuous
field λ_p ν_h on each phase p, λ_p the discrete harmonic extension over p of
min(ν)/ν_p at the nodes it shares with other phases (so F₀ = the smallest ν there),
a base level spans all the phases of a region with weight F₀ (ν itself on a phase
that is the lower side all along its interfaces), and every other phase p has a level
of its own, weight ν − F₀ ≥ 0, open at p's interfaces. At an interface the base
level carries the lower side's ν and the upper side's own level the jump; the lower
side's own level vanishes there, so the consistency condition above holds point by
point whichever side is upper. The base level's pieces take the traces from the side
of larger ν at each facet (the mean at its vertices). Where three phases meet at a
vertex, the middle one's own level is open on the facets to the top one with a
nonzero weight, the condition fails there, and the problem is refused (tiers meet it
there). With two phases and tiers the two constructions coincide.

In 2D ν may vanish at points and along lines inside a material where it is continuous
(one graded vorticity, the vorticity mass's 1/ν floored at 1e-8 of ν's scale,
:meth:`.GradedViscosity.inverse_on`; l ∝ distance to a wall or to a line through
cells converges at full order), in 3D on the boundary only (l ∝ x: q at O(h²) / O(h³)
at degree 0 / 1, within 1.01× of the penalty form's). Refused (:func:`graded_obstacle`,
"auto" keeps the penalty form): ν vanishing on whole cells of a material where it
varies, anywhere where it also jumps, and in 3D at an inner vertex or between a cell's
vertices (:func:`_dip`: ν below half its least vertex value at the order-6 rule's
points; l ∝ |x − 0.45|, zero through cells, gave q 1.22 (relative) at degree 0 on n = 4,
3.1e-3 / 5.8e-3 on n = 5 / 6, and O(h^2.4) at degree 1: 1/ν is not integrable across
such a cell and the rule's points decide the result; 2D takes it), a slit (a free Kapitza interface that ends inside a
viscous region) that branches, (r, z), an anisotropic κ, three phases meeting at a
vertex where there are no tiers, and regions R_k whose cells touch at a single vertex
(2D) or edge (3D) only. Slits that do not branch are cut
(:mod:`.vorticity_slit`) in each level's region. Free interfaces that cut the viscous
cells apart make regions of their own, each with its phases and levels, the
interface an open boundary of each side. ν is taken as continuous inside each
subdomain (its nodal values there, as with one graded vorticity). Measured
(``tests/test_gk_vorticity_graded_levels.py``; flows whose gradient kinks at the
interfaces): see the tests' docstrings and the README.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import skfem
from skfem.generic_utils import OrientedBoundary
from skfem.models.poisson import laplace, mass

from ..errors import FemheatInputError
from .viscous_choice import constant_scalar
from ..element.spaces import cell_side, evaluation_points
from .vorticity_graded import (_JUMP, GradedViscosity, LevelShare, _element, _nodal,
                               closure_form, nodal_extremes, varies_inside, viscosity_at)
from .vorticity_levels import (ViscosityLevel, ViscosityPiece, _free_facets, _groups,
                               region_pinch)
from .vorticity_slit import SlitCut, _region_slit
from .vorticity_open import region_interface

__all__ = ["graded_obstacle", "graded_plan"]


def _inviscid(material) -> bool:
    """True for a material with l = 0 (a constant): no viscous term."""
    return constant_scalar(material.nonlocal_length) == 0.0


def _subdomain_nodes(problem, basis: skfem.CellBasis | None, cells: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nodes, lowest, highest): the nodes of ν_h's ``basis`` on ``cells`` (the mesh's
    vertices where ``basis`` is None) and the lowest and highest ν = l²/κ at each from
    those cells."""
    lowest, highest = nodal_extremes(problem, basis, cells)
    dofs = problem.regions.mesh.t[:, cells] if basis is None else basis.element_dofs[:, cells]
    nodes = np.unique(dofs)
    return nodes, lowest[nodes], highest[nodes]


def _viscous_subdomains(problem, basis: skfem.CellBasis | None) -> list[tuple]:
    """(cells, nodes, lowest, highest) of each subdomain with l > 0: its cells and
    :func:`_subdomain_nodes` there."""
    rm = problem.regions
    return [(rm.subdomain(name),) + _subdomain_nodes(problem, basis, rm.subdomain(name))
            for name, material in problem.materials.items() if not _inviscid(material)]


@dataclass
class Phases:
    """The viscous subdomains grouped into phases (module doc): ``label`` the phase of
    each cell (−1: l = 0), ``tier`` each phase's tier, ``values`` its nodal ν
    (full-length arrays in the nodes' numbering)."""

    label: np.ndarray
    # 0 for phases with no smaller ν beside them, else 1 + the largest below; None where
    # ν changes side along an interface or around a loop (the lower envelope's levels)
    tier: np.ndarray | None
    values: list[np.ndarray]
    group: np.ndarray  # the viscous region (cut apart by free interfaces) of each phase
    regions: list[np.ndarray]  # those regions' cells (masks)
    unordered: str | None = None  # why ``tier`` is None


def _units(problem, basis: skfem.CellBasis | None) -> tuple[list[tuple], list]:
    """([(name, cells, nodes, lowest, highest, region)] for each viscous subdomain's part
    in each viscous region (free Kapitza interfaces cut the viscous cells into regions,
    :mod:`.vorticity_levels`; a slit does not), the regions' masks)."""
    rm = problem.regions
    mesh = rm.mesh
    named = [(name, rm.subdomain(name)) for name, m in problem.materials.items()
             if not _inviscid(m)]
    viscous = np.zeros(mesh.t.shape[1], dtype=bool)
    for _, cells in named:
        viscous[cells] = True
    # a free interface that ends inside a region (a slit) leaves it one region, whose
    # levels' vorticities are cut along it (:mod:`.vorticity_slit`)
    regions = _groups(mesh, viscous, _free_facets(problem)) or [viscous]
    region_of = np.full(mesh.t.shape[1], -1)
    for g, mask in enumerate(regions):
        region_of[mask] = g
    units = []
    for name, cells in named:
        for g in np.unique(region_of[cells]):
            part = cells[region_of[cells] == g]
            units.append((name, part) + _subdomain_nodes(problem, basis, part) + (g,))
    return units, regions


def _phases(problem, basis: skfem.CellBasis | None) -> Phases | str:
    """The phases of ``problem`` at the nodes of ``basis`` (the vertices where None), or
    why they cannot be built (module doc)."""
    rm = problem.regions
    units, regions = _units(problem, basis)
    names = [u[0] for u in units]
    n_nodes = rm.mesh.p.shape[1] if basis is None else basis.N
    values = []
    for _, _, nodes, low, high, _ in units:
        v = np.full(n_nodes, np.nan)
        v[nodes] = 0.5 * (low + high)
        values.append(v)
    # pairs of parts of one region sharing nodes: ν continuous there, or larger on one
    # side (parts of different regions meet only across free interfaces)
    parent = list(range(len(units)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    above = []  # (upper, lower) pairs
    unordered = None  # why the phases have no tiers, if they have none
    for i in range(len(units)):
        for j in range(i + 1, len(units)):
            shared = np.intersect1d(units[i][2], units[j][2])
            if units[i][5] != units[j][5] or not shared.size:
                continue
            vi, vj = values[i][shared], values[j][shared]
            with np.errstate(divide="ignore", invalid="ignore"):  # ν = 0 on both: equal
                ratio = np.where((vi == 0) & (vj == 0), 1.0, vi / vj)
            if np.all(np.abs(ratio - 1) <= _JUMP):
                parent[root(i)] = root(j)
            elif np.all(ratio >= 1 - _JUMP):  # larger on i's side, or equal (touching)
                above.append((i, j))
            elif np.all(ratio <= 1 + _JUMP):
                above.append((j, i))
            else:  # changing side along the interface: no tiers, the lower envelope
                unordered = (f"nu = l^2/kappa between materials.{names[i]} and "
                             f"materials.{names[j]} larger on one side along part of their "
                             f"interface and smaller along another (ratio "
                             f"{ratio.min():.3g} ... {ratio.max():.3g})")
    phase = np.array([root(i) for i in range(len(units))])
    ids, phase = np.unique(phase, return_inverse=True)
    for i, j in above:
        if phase[i] == phase[j]:
            return (f"nu = l^2/kappa jumps between materials.{names[i]} and "
                    f"materials.{names[j]}, which are also joined where it is continuous")
    # tiers: the longest chain of smaller ν below each phase (a loop has none)
    tier = np.zeros(ids.size, dtype=np.int64)
    for _ in range(ids.size + 1):
        before = tier.copy()
        for i, j in above:
            tier[phase[i]] = max(tier[phase[i]], tier[phase[j]] + 1)
        if np.array_equal(before, tier):
            break
    else:
        who = ", ".join(sorted({f"materials.{names[i]}" for i, _ in above}))
        unordered = (f"nu = l^2/kappa of {who} is larger on one side at one interface "
                     "and smaller at another around a loop")
    label = np.full(rm.mesh.t.shape[1], -1)
    phase_values = [np.full(n_nodes, np.nan) for _ in ids]
    group = np.zeros(ids.size, dtype=np.int64)
    for i, (_, cells, nodes, _, _, g) in enumerate(units):
        label[cells] = phase[i]
        phase_values[phase[i]][nodes] = values[i][nodes]
        group[phase[i]] = g
    return Phases(label, None if unordered else tier, phase_values, group, regions,
                  unordered)


def _continuous(lowest: np.ndarray, highest: np.ndarray) -> bool:
    """Whether ν's nodal spread between cells stays within 1e-8 of its largest value
    (ν one-valued at every node; relative to the largest, so that ν vanishing at a node
    reads as continuous there)."""
    finite = np.isfinite(highest)
    return bool(np.max(highest[finite] - lowest[finite]) <= _JUMP * np.max(highest[finite]))


def _dip(problem, cells: np.ndarray) -> np.ndarray | None:
    """A point of the tetrahedra ``cells`` where ν = l²/κ falls below half its least
    value at the cell's vertices (ν vanishing, or nearly, between the vertices: its
    weight 1/ν in the vorticity mass is then not integrable across the cell and the
    rule's points decide the result), or None. Sampled at the order-6 rule's points, in
    chunks of 20k cells (bounded memory on large meshes)."""
    mesh = problem.regions.mesh
    for start in range(0, cells.size, 20000):
        part = cells[start:start + 20000]
        x = evaluation_points(skfem.CellBasis(mesh, skfem.ElementTetP0(), intorder=6,
                                              elements=part))
        corners = viscosity_at(problem, cell_side(
            mesh, mesh.p[:, mesh.t[:, part]].transpose(0, 2, 1), part), part)
        low = viscosity_at(problem, x, part) < 0.5 * corners.min(axis=1, keepdims=True)
        if np.any(low):
            cell, point = np.argwhere(low)[0]
            return x[:, cell, point]
    return None


def graded_obstacle(problem) -> str | None:
    """Why ν = l²/κ varying inside a material cannot take the closure terms, with one
    graded vorticity (ν continuous, :mod:`.vorticity_graded`) or the graded levels (ν
    jumping between materials, module doc), or None."""
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return "(r, z) coordinates"
    rm = problem.regions
    try:
        _, lowest, highest = _nodal(problem, vertices_only=True)
        subdomains = _viscous_subdomains(problem, None)
    except ValueError:
        return "an anisotropic conductivity"
    if not subdomains:
        return "nu = l^2/kappa = 0 in every material (no viscous term)"
    continuous = _continuous(lowest, highest) and not _free_facets(problem).size
    scale = np.max(highest[np.isfinite(highest)])
    names = [name for name, m in problem.materials.items() if not _inviscid(m)]
    boundary = np.zeros(rm.mesh.p.shape[1], dtype=bool)
    boundary[rm.mesh.boundary_nodes()] = True
    for name, (cells, nodes, low, high) in zip(names, subdomains):
        if np.any(high - low > _JUMP * scale):  # ν_h is continuous per subdomain
            return (f"nu = l^2/kappa jumps inside materials.{name} (give each side a "
                    "subdomain of its own)")
        if rm.mesh.dim() == 3:  # measured: a zero through cells is erratic (module doc)
            dip = _dip(problem, cells)
            if dip is not None:
                return (f"nu = l^2/kappa falls between the vertices of a cell of "
                        f"materials.{name} below half its values at them, at "
                        f"{np.round(dip, 6).tolist()} (in 3D nu may vanish only on the "
                        "boundary; refine the mesh where it dips)")
        if np.all(low > _JUMP * scale):  # ν below 1e-8 of its largest reads as zero
            continue
        if not continuous:  # the phases' ratios of ν at shared nodes need ν > 0
            return ("nu = l^2/kappa vanishes somewhere where it varies inside a material "
                    "and jumps between materials")
        inner = nodes[(low <= _JUMP * scale) & ~boundary[nodes]]
        if rm.mesh.dim() == 3 and inner.size:
            return (f"nu = l^2/kappa vanishes inside materials.{name} at "
                    f"{np.round(rm.mesh.p[:, inner[0]], 6).tolist()} (in 3D it may vanish "
                    "only on the boundary)")
        at = np.full(rm.mesh.p.shape[1], np.inf)
        at[nodes] = low
        if np.any(at[rm.mesh.t[:, cells]].max(axis=0) <= _JUMP * scale):
            return (f"nu = l^2/kappa vanishes on whole cells of materials.{name}, where it "
                    "varies (give an l = 0 region a subdomain of its own)")
    if continuous:
        return None  # one graded vorticity (ν may vanish at points and along lines)
    phases = _phases(problem, None)
    if isinstance(phases, str):
        return phases
    masks = phases.regions + [phases.label == k for k in range(len(phases.values))]
    if phases.tier is None:  # the lower envelope's levels: one per phase and region
        triple = _triple_vertex(rm.mesh, phases.label)
        if triple is not None:
            return (f"{phases.unordered}, and three phases meet at the vertex "
                    f"{np.round(triple, 6).tolist()}")
    else:
        masks += [np.isin(phases.label, np.nonzero((phases.group == g)
                                                   & (phases.tier >= k))[0])
                  for g in range(len(phases.regions))
                  for k in range(1, phases.tier.max() + 1)]
    for mask in masks:
        pinched = region_pinch(rm.mesh, mask, "cells of one phase (or of the viscous ones)")
        if pinched is not None:
            return pinched
    free = _free_facets(problem)
    for mask in masks:  # a slit: each level's region is cut along it (.vorticity_slit)
        slit = _region_slit(rm.mesh, free, mask)
        try:
            if slit.size:
                SlitCut(rm.mesh, slit, mask)
        except ValueError as exc:  # the slit branches
            name = next(n for n, k in problem.interfaces.items() if k.tangential == "free"
                        and np.any(np.isin(rm.interface(n), slit)))
            return (f"interfaces.{name}: a Kapitza interface with a free tangential flux "
                    f"that ends inside a viscous region, cut only where it does not "
                    f"branch ({exc})")
    return None


def graded_plan(problem, qb: skfem.CellBasis, intorder: int, sheared: np.ndarray
                ) -> tuple[list[tuple[ViscosityLevel, GradedViscosity | None]],
                           sp.csr_matrix] | None:
    """The levels of the vorticity form where ν varies inside a material, each with its
    graded weight, and the closure terms R_h of them all (``qb`` the flux basis,
    ``sheared`` the facets of no-slip walls that heat crosses); None where ν does not
    vary inside a material, and where it cannot take the closure terms, with a warning
    there (one vorticity with ν's cell means models another closure)."""
    if not varies_inside(problem):
        return None
    reason = graded_obstacle(problem)
    if reason is not None:
        warnings.warn("model.viscous = 'vorticity': nu = l^2/kappa varies inside a material "
                      f"and {reason}: one vorticity with nu's cell means, another closure "
                      "than the gradient energy's (continuity of nu rot q); use viscous = "
                      "'penalty' for that model", stacklevel=5)
        return None
    mesh = problem.regions.mesh
    basis = skfem.CellBasis(mesh, _element(mesh.dim(), problem.degree))
    _, lowest, highest = _nodal(problem)
    if (_continuous(lowest, highest) and not _free_facets(problem).size
            and not any(_inviscid(m) for m in problem.materials.values())):
        # ν continuous (zero at points and along lines at most): one graded vorticity
        # (.vorticity_graded)
        graded = GradedViscosity(problem, basis, 0.5 * (lowest + highest))
        nu_cell = _cell_means(graded, qb)
        level = ViscosityLevel(nu_cell, nu_cell > 0, None, [ViscosityPiece(nu_cell > 0)],
                               single=True)
        return [(level, graded)], closure_form(qb, graded, intorder, sheared)
    phases = _phases(problem, basis)
    if isinstance(phases, str):  # the vertices passed, the higher-order nodes did not
        raise FemheatInputError(f"model.viscous = 'vorticity': {phases}; use viscous = "
                                "'penalty'")
    levels = []
    free = _free_facets(problem)  # slits: open boundaries of each side, no facet terms
    for g in range(len(phases.regions)):
        mine = np.nonzero(phases.group == g)[0]
        operators: dict = {}  # each phase's Laplacian and mass, assembled once
        if phases.tier is None:
            levels += _envelope_levels(problem, basis, qb, phases, mine, free, operators)
            continue
        below = np.zeros(basis.N)  # E_k: the extensions of the levels below, summed
        for k in range(phases.tier[mine].max() + 1):
            members = mine[phases.tier[mine] >= k]
            inside = np.isin(phases.label, members)
            own_tier = np.isin(phases.label, mine[phases.tier[mine] == k]).astype(float)
            higher = np.isin(phases.label, mine[phases.tier[mine] > k]).astype(float)
            extension = _extension(mesh, basis, phases, mine, k, below, operators)
            values = np.zeros(basis.N)
            for p in mine[phases.tier[mine] == k]:
                known = ~np.isnan(phases.values[p])
                values[known] = phases.values[p][known]
            terms = [(higher, extension)] + ([(-own_tier, below.copy())] if k else [])
            levels.append(_level(problem, basis, qb, inside, values, LevelShare(
                own_tier, terms, _vertex_cells(mesh, inside)),
                _pieces(mesh, phases, members, free)))
            below = below + extension
    closure = sum((closure_form(own, graded, intorder, sheared, level.inside, free)
                   for level, graded, own in levels), sp.csr_matrix((qb.N, qb.N)))
    return [(level, graded) for level, graded, _ in levels], closure.tocsr()


def _level(problem, basis: skfem.CellBasis, qb: skfem.CellBasis, inside: np.ndarray,
           values: np.ndarray, share: LevelShare, pieces: list[ViscosityPiece]
           ) -> tuple[ViscosityLevel, GradedViscosity, skfem.CellBasis]:
    """A graded level on the cells ``inside`` (a mask): its level, weight and flux basis
    there (with ``qb``'s quadrature)."""
    mesh = problem.regions.mesh
    cells = np.nonzero(inside)[0]
    graded = GradedViscosity(problem, basis, values, share)
    own = skfem.CellBasis(mesh, qb.elem, elements=cells, quadrature=(qb.X, qb.W))
    weight = np.zeros(mesh.t.shape[1])
    weight[cells] = _cell_means(graded, own)
    interface = None if inside.all() else region_interface(mesh, inside)
    return ViscosityLevel(weight, inside, interface, pieces), graded, own


def _extension(mesh: skfem.Mesh, basis: skfem.CellBasis, phases: Phases,
               mine: np.ndarray, k: int, below: np.ndarray, operators: dict
               ) -> np.ndarray:
    """The nodal values of level ``k``'s weight on the phases above tier k of one viscous
    region (``mine``; module doc): ν_h − E_k (``below``) on the tier-k phases' nodes,
    carried into each higher phase P, in the order of tiers, as λ_h (ν_h − E_k) with λ
    the discrete harmonic extension over P of the ratios at the nodes it shares with
    the phases done (clipped to their range: below 1, so every weight stays positive);
    zero elsewhere. ``operators`` keeps each phase's Laplacian and mass for the levels
    above."""
    out = np.zeros(basis.N)
    fixed = np.zeros(basis.N, dtype=bool)
    for p in mine[phases.tier[mine] == k]:
        known = ~np.isnan(phases.values[p])
        out[known], fixed[known] = phases.values[p][known] - below[known], True
    higher = mine[phases.tier[mine] > k]
    for p in higher[np.argsort(phases.tier[higher], kind="stable")]:
        budget = phases.values[p] - below  # ν_h − E_k on p's nodes (NaN off them)
        nodes = np.nonzero(~np.isnan(budget))[0]
        given, free = nodes[fixed[nodes]], nodes[~fixed[nodes]]
        if free.size:
            lam = _harmonic(mesh, basis, phases, p, given, out[given] / budget[given],
                            free, operators)
            out[free], fixed[free] = lam * budget[free], True
    return out


def _harmonic(mesh: skfem.Mesh, basis: skfem.CellBasis, phases: Phases, p: int,
              given: np.ndarray, ratio: np.ndarray, free: np.ndarray, operators: dict
              ) -> np.ndarray:
    """λ at phase ``p``'s ``free`` nodes: the discrete harmonic extension over p of
    ``ratio`` at its nodes ``given``, clipped to their range. ``operators`` keeps each
    phase's Laplacian and mass."""
    if p not in operators:
        own = skfem.CellBasis(mesh, basis.elem, elements=np.nonzero(phases.label == p)[0])
        operators[p] = (laplace.assemble(own).tocsr(), mass.assemble(own).tocsr())
    # a small mass term pulls parts of the phase that touch no given node to the mean
    # ratio (the Laplacian alone is singular there)
    L, M = operators[p]
    eps = 1e-9 * L.diagonal()[free].max() / M.diagonal()[free].max()
    A = (L + eps * M)[free][:, free]
    rhs = eps * (M[free] @ np.full(basis.N, ratio.mean())) - L[free][:, given] @ ratio
    return np.clip(spl.spsolve(A.tocsc(), rhs), ratio.min(), ratio.max())


def _envelope_levels(problem, basis: skfem.CellBasis, qb: skfem.CellBasis,
                     phases: Phases, mine: np.ndarray, free: np.ndarray, operators: dict
                     ) -> list[tuple]:
    """The levels of one viscous region (phases ``mine``) whose phases have no tiers
    (ν changes side along an interface, or around a loop; module doc): a base level on
    all of them with the lower envelope's weight F₀, λ_p ν_h on each phase p, λ_p the
    harmonic extension over p of min(ν)/ν_p at the nodes it shares with the others (ν
    itself on phases that are lower all along theirs), and on every other phase p a
    level of its own with weight ν − F₀, zero where p is the lower side."""
    mesh = problem.regions.mesh
    lowest, count = np.full(basis.N, np.inf), np.zeros(basis.N, dtype=np.int64)
    for p in mine:
        known = ~np.isnan(phases.values[p])
        lowest[known] = np.minimum(lowest[known], phases.values[p][known])
        count[known] += 1
    envelope, bottom = np.zeros(basis.N), []
    for p in mine:
        nodes = np.nonzero(~np.isnan(phases.values[p]))[0]
        given, inner = nodes[count[nodes] > 1], nodes[count[nodes] == 1]
        ratio = lowest[given] / phases.values[p][given]
        if np.all(ratio >= 1 - _JUMP):
            bottom.append(p)  # lower all along its interfaces: ν itself in the base
            continue
        envelope[given] = lowest[given]
        if inner.size:
            envelope[inner] = phases.values[p][inner] * _harmonic(
                mesh, basis, phases, p, given, ratio, inner, operators)
    inside = np.isin(phases.label, mine)
    base = np.isin(phases.label, bottom)
    values = np.zeros(basis.N)
    for p in bottom:
        known = ~np.isnan(phases.values[p])
        values[known] = phases.values[p][known]
    levels = [_level(problem, basis, qb, inside, values, LevelShare(
        base.astype(float), [((inside & ~base).astype(float), envelope)],
        _vertex_cells(mesh, inside)), _pieces(mesh, phases, mine, free))]
    for p in mine:
        if p in bottom:
            continue
        own = phases.label == p
        levels.append(_level(problem, basis, qb, own, np.nan_to_num(phases.values[p]),
                             LevelShare(own.astype(float), [(-own.astype(float), envelope)],
                                        _vertex_cells(mesh, own)),
                             _pieces(mesh, phases, np.array([p]), free)))
    return levels


def _triple_vertex(mesh: skfem.Mesh, label: np.ndarray) -> np.ndarray | None:
    """A vertex where cells of three phases or more meet (``label`` each cell's phase,
    −1 none), or None."""
    pairs = np.unique(np.stack([mesh.t.ravel(), np.tile(label, mesh.t.shape[0])]), axis=1)
    pairs = pairs[:, pairs[1] >= 0]
    counts = np.bincount(pairs[0], minlength=mesh.p.shape[1])
    hits = np.nonzero(counts >= 3)[0]
    return mesh.p[:, hits[0]] if hits.size else None


def _pieces(mesh: skfem.Mesh, phases: Phases, members: np.ndarray, free: np.ndarray
            ) -> list[ViscosityPiece]:
    """A level's pieces, one per phase of ``members`` (one viscous region), with the
    facets towards its other phases (not the ``free`` ones, a slit's, open boundaries
    of each side): ``own`` where this phase is the upper one (the higher tier), ``far``
    where the other is."""
    f2t = mesh.f2t
    interior = np.setdiff1d(np.nonzero(f2t[1] >= 0)[0], free)
    label = phases.label
    member = np.zeros(len(phases.values) + 1, dtype=bool)
    member[members] = True  # member[-1] (l = 0) stays False
    stacked = np.vstack(phases.values) if phases.tier is None else None
    pieces = []
    for p in members:
        inside = label == p
        a_in, b_in = inside[f2t[0, interior]], inside[f2t[1, interior]]
        other = np.where(a_in, label[f2t[1, interior]], label[f2t[0, interior]])
        sel = (a_in != b_in) & member[other]
        ori = np.where(a_in[sel], 0, 1)
        facets = interior[sel]
        if phases.tier is not None:
            far = phases.tier[label[f2t[1 - ori, facets]]] > phases.tier[p]
        else:  # the side of larger ν at the facet's vertices
            ends = mesh.facets[:, facets]
            far = (stacked[label[f2t[1 - ori, facets]][None, :], ends].mean(axis=0)
                   > stacked[p, ends].mean(axis=0))
        pieces.append(ViscosityPiece(
            inside,
            OrientedBoundary(facets[~far], ori[~far]) if np.any(~far) else None,
            OrientedBoundary(facets[far], ori[far]) if np.any(far) else None))
    return pieces


def _vertex_cells(mesh: skfem.Mesh, inside: np.ndarray) -> np.ndarray:
    """A cell of ``inside`` (a mask) at each mesh vertex it touches (0 elsewhere)."""
    cells = np.nonzero(inside)[0]
    out = np.zeros(mesh.p.shape[1], dtype=np.int64)
    out[mesh.t[:, cells].ravel()] = np.broadcast_to(cells, mesh.t[:, cells].shape).ravel()
    return out


def _cell_means(graded: GradedViscosity, basis: skfem.CellBasis) -> np.ndarray:
    """The mean of ``graded``'s weight on each cell of ``basis``."""
    return (graded.on(basis) * basis.dx).sum(axis=1) / basis.dx.sum(axis=1)
