r"""Viscosity varying inside materials *and* jumping between them in the vorticity form:
a base level on every viscous cell and one graded level per phase of larger ν (since
2026-12-08).

Where κ or l is a function of position and ν = l²/κ also jumps between materials
(a graded phase in a composite, a graded film on a substrate), neither the single
graded vorticity of :mod:`.vorticity_graded` (ν_h continuous) nor the constant levels
of :mod:`.vorticity_levels` apply. The viscous subdomains (l > 0; those with l = 0 lie
in no level) form *phases*, the unions across which ν is continuous. Where two phases
meet ν must be larger on one side all along their interface, by 5 % at least: the
*upper* phase there. Each phase must be upper on all its jumps or on none (two tiers:
a graded matrix with inclusions or a graded film on a substrate of either order; a
phase between a smaller and a larger one is refused). With A the upper phases, B the
others and c_h a continuous Lagrange function on the viscous cells (ν_h's space),
c_h = ν_h on B and, on A, c_h = λ_h ν_h with λ the discrete harmonic extension of
ν_B/ν_A from A's interfaces with B (clipped to the range of those ratios),

.. math::

    \sum_m \int_{\Omega_m} \nu\,|\nabla q|^2
    = \int_{\Omega_v} w_0\,|\nabla q|^2 + \sum_{a \in A} \int_{\Omega_a} (\nu - c_h)\,|\nabla q|^2,
    \qquad w_0 = \nu \text{ on } B,\ c_h \text{ on } A .

w₀ is continuous (c_h = ν_B at the interfaces), so the base level is a graded Hodge
energy on the viscous cells Ω_v with the closure terms of :mod:`.vorticity_graded`
(∇w₀ = ∇ν_h on B, ∇c_h on A; n × ∇w₀ continuous across facets); its vorticity is split
between phases (rot q jumps with ν), each piece's ω equation taking the tangential
trace from the upper side, as between the pieces of :mod:`.vorticity_levels`. Each
upper phase has a graded level of weight ν − c_h ≥ ν(1 − 1/1.05) > 0, its own
vorticity, the closure terms in ∇(ν_h − c_h) and its interfaces open boundaries
(trace from its side). Ω_v's interface to l = 0 is an open boundary of every level
there.

Why the two tiers: at an interface Γ between a side U whose traces the pieces take and
a side L, the exact flux's traction balance ν_U ∂_n q_U = ν_L ∂_n q_L leaves the
consistency error ∫_Γ (ν_L − w)∂_n q_L·[v] in every level form, w the weight on L of
the levels spanning Γ; it vanishes only if those levels carry all of L's ν at Γ (w =
ν_L) and no level on L alone is open at Γ. A first version (2026-12-06, reverted) had a
base level of constant c = min ν/2 with one continuous vorticity and a graded level on
each side of every jump: with flows whose gradient kinks at Γ as the true solution's
does it converged at O(h) in q; levels on both sides of a jump stay O(h) with constant
ν too (0.0050 / 0.0022 / 0.0010 at n = 4 / 8 / 16).

Refused (:func:`graded_obstacle`, "auto" keeps the penalty form): ν vanishing inside
a material where it varies, a slit (a free Kapitza interface that ends inside a
viscous region) that branches, (r, z), an anisotropic κ, a jump smaller than 5 % or
changing side along an interface, three tiers of ν, and phases whose cells touch at
a single vertex (2D) or edge (3D) only. Slits that do not branch are cut
(:mod:`.vorticity_slit`) in each level's region.
Free interfaces that cut the viscous cells apart (since 2026-12-08) make regions of
their own, each with its phases and levels, the interface an open boundary of each
side. ν is taken as continuous inside each subdomain (its nodal values there, as with one
graded vorticity). Measured (``tests/test_gk_vorticity_graded.py``; flows whose
gradient kinks at the interface): see the tests' docstrings and the README.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import skfem
from skfem import BilinearForm
from skfem.generic_utils import OrientedBoundary
from skfem.helpers import dot, grad

from ..physics.materials import material_fields
from .viscous_choice import constant_scalar
from .vorticity_graded import (_JUMP, GradedViscosity, LevelShare, _element, _nodal,
                               closure_form, varies_inside)
from ..errors import FemheatInputError
from .vorticity_levels import (ViscosityLevel, ViscosityPiece, _free_facets, _groups,
                               region_pinch, uncut_free_interface)
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
    mesh = problem.regions.mesh
    if basis is None:
        dofs, n = mesh.t[:, cells], mesh.p.shape[1]
        x = mesh.p[:, dofs].transpose(0, 2, 1)
    else:
        dofs, n = basis.element_dofs[:, cells], basis.N
        x = basis.doflocs[:, dofs].transpose(0, 2, 1)
    fields = material_fields(problem.regions, problem.materials, x, cells=cells)
    if not fields.isotropic:
        raise ValueError("an anisotropic conductivity has no scalar viscosity")
    kinv = fields.resistivity[0, 0]
    nu = np.broadcast_to(fields.nonlocal_length, kinv.shape) ** 2 * kinv
    lowest, highest = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(lowest, dofs.T.ravel(), nu.ravel())
    np.maximum.at(highest, dofs.T.ravel(), nu.ravel())
    nodes = np.unique(dofs)
    return nodes, lowest[nodes], highest[nodes]


def _viscous_subdomains(problem, basis: skfem.CellBasis | None) -> list[tuple]:
    """(cells, nodes, lowest, highest) of each subdomain with l > 0: its cells and
    :func:`_subdomain_nodes` there."""
    rm = problem.regions
    return [(rm.subdomain(name),) + _subdomain_nodes(problem, basis, rm.subdomain(name))
            for name, material in problem.materials.items() if not _inviscid(material)]


_MARGIN = 1.05  # the least ratio of ν across a jump between phases (module doc)


@dataclass
class Phases:
    """The viscous subdomains grouped into phases (module doc): ``label`` the phase of
    each cell (−1: l = 0), ``upper`` whether each phase is an upper one, ``values`` its
    nodal ν (full-length arrays in the nodes' numbering)."""

    label: np.ndarray
    upper: np.ndarray
    values: list[np.ndarray]
    group: np.ndarray  # the viscous region (cut apart by free interfaces) of each phase
    regions: list[np.ndarray]  # those regions' cells (masks)


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
    for i in range(len(units)):
        for j in range(i + 1, len(units)):
            shared = np.intersect1d(units[i][2], units[j][2])
            if units[i][5] != units[j][5] or not shared.size:
                continue
            ratio = values[i][shared] / values[j][shared]
            if np.all(np.abs(ratio - 1) <= _JUMP):
                parent[root(i)] = root(j)
            elif np.all(ratio >= _MARGIN):
                above.append((i, j))
            elif np.all(ratio <= 1 / _MARGIN):
                above.append((j, i))
            else:
                return (f"nu = l^2/kappa between materials.{names[i]} and "
                        f"materials.{names[j]} neither continuous nor larger on one side by "
                        f"{_MARGIN - 1:.0%} all along their interface (ratio "
                        f"{ratio.min():.3g} ... {ratio.max():.3g})")
    phase = np.array([root(i) for i in range(len(units))])
    ids, phase = np.unique(phase, return_inverse=True)
    upper = np.zeros(ids.size, dtype=bool)
    lower = np.zeros(ids.size, dtype=bool)
    for i, j in above:
        if phase[i] == phase[j]:
            return (f"nu = l^2/kappa jumps between materials.{names[i]} and "
                    f"materials.{names[j]}, which are also joined where it is continuous")
        upper[phase[i]] = lower[phase[j]] = True
    if np.any(upper & lower):
        k = int(np.nonzero(upper & lower)[0][0])
        who = ", ".join(f"materials.{names[i]}" for i in np.nonzero(phase == k)[0])
        return (f"nu = l^2/kappa of {who} lies between its neighbours' (three tiers of "
                "nu; the graded levels take two)")
    label = np.full(rm.mesh.t.shape[1], -1)
    phase_values = [np.full(n_nodes, np.nan) for _ in ids]
    group = np.zeros(ids.size, dtype=np.int64)
    for i, (_, cells, nodes, _, _, g) in enumerate(units):
        label[cells] = phase[i]
        phase_values[phase[i]][nodes] = values[i][nodes]
        group[phase[i]] = g
    return Phases(label, upper, phase_values, group, regions)


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
    for _, _, low, _ in subdomains:
        if not np.all(low > 0):
            return "nu = l^2/kappa vanishes somewhere where it varies inside a material"
    if not subdomains:
        return "nu = l^2/kappa = 0 in every material (no viscous term)"
    if (np.max((highest - lowest) / np.maximum(highest, 1e-300)) <= _JUMP
            and not _free_facets(problem).size):
        return None  # continuous: one graded vorticity
    phases = _phases(problem, None)
    if isinstance(phases, str):
        return phases
    masks = phases.regions + [phases.label == k for k in range(phases.upper.size)]
    for mask in masks:
        pinched = region_pinch(rm.mesh, mask, "cells of one phase (or of the viscous ones)")
        if pinched is not None:
            return pinched
    free = _free_facets(problem)
    try:  # a slit: each level's region is cut along it (:mod:`.vorticity_slit`)
        for mask in masks:
            slit = _region_slit(rm.mesh, free, mask)
            if slit.size:
                SlitCut(rm.mesh, slit, mask)
    except ValueError as exc:  # the slit branches
        name = uncut_free_interface(problem) or "a free interface"
        return f"interfaces.{name}: a slit cut only where it does not branch ({exc})"
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
    phases = _phases(problem, basis)
    if isinstance(phases, str):  # the vertices passed, the higher-order nodes did not
        raise FemheatInputError(f"model.viscous = 'vorticity': {phases}; use viscous = "
                                "'penalty'")
    viscous = phases.label >= 0
    if (np.max((highest - lowest) / np.maximum(highest, 1e-300)) <= _JUMP and viscous.all()
            and not _free_facets(problem).size):
        # ν continuous and positive: one graded vorticity (.vorticity_graded)
        graded = GradedViscosity(problem, basis, 0.5 * (lowest + highest))
        nu_cell = _cell_means(graded, qb)
        level = ViscosityLevel(nu_cell, nu_cell > 0, None, [ViscosityPiece(nu_cell > 0)],
                               single=True)
        return [(level, graded)], closure_form(qb, graded, intorder, sheared)
    levels = []
    for g, region in enumerate(phases.regions):
        mine = np.nonzero(phases.group == g)[0]
        c = _extension(mesh, basis, phases, mine)
        upper_cells = region & phases.upper[np.maximum(phases.label, 0)]
        lower_values = np.zeros(basis.N)
        for k in mine[~phases.upper[mine]]:
            known = ~np.isnan(phases.values[k])
            lower_values[known] = phases.values[k][known]
        levels.append(_level(problem, basis, qb, region, lower_values, LevelShare(
            (region & ~upper_cells).astype(float), upper_cells.astype(float), c,
            _vertex_cells(mesh, region)), _base_pieces(mesh, phases, mine,
                                                       _free_facets(problem))))
        for k in mine[phases.upper[mine]]:
            inside = phases.label == k
            levels.append(_level(problem, basis, qb, inside,
                                 np.nan_to_num(phases.values[k]),
                                 LevelShare(inside.astype(float), -inside.astype(float), c,
                                            _vertex_cells(mesh, inside)),
                                 [ViscosityPiece(inside)]))
    free = _free_facets(problem)  # slits: open boundaries of each side, no facet terms
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
               mine: np.ndarray) -> np.ndarray:
    """c_h's nodal values on the phases ``mine`` (one viscous region; module doc): ν_h on
    the lower phases, λ_h ν_h on the upper ones, λ the discrete harmonic extension of
    the ratios at their interfaces."""
    c = np.zeros(basis.N)
    fixed = np.zeros(basis.N, dtype=bool)
    for k in mine[~phases.upper[mine]]:
        known = ~np.isnan(phases.values[k])
        c[known], fixed[known] = phases.values[k][known], True
    laplace = BilinearForm(lambda u, v, w: dot(grad(u), grad(v)))
    mass = BilinearForm(lambda u, v, w: u * v)
    for k in mine[phases.upper[mine]]:
        nu = phases.values[k]
        nodes = np.nonzero(~np.isnan(nu))[0]
        given, free = nodes[fixed[nodes]], nodes[~fixed[nodes]]
        ratio = c[given] / nu[given]
        if free.size:
            own = skfem.CellBasis(mesh, basis.elem,
                                  elements=np.nonzero(phases.label == k)[0])
            L = laplace.assemble(own).tocsr()
            # a small mass term pulls parts of the phase that touch no lower phase to
            # the mean ratio (the Laplacian alone is singular there)
            M = mass.assemble(own).tocsr()
            eps = 1e-9 * L.diagonal()[free].max() / M.diagonal()[free].max()
            A = (L + eps * M)[free][:, free]
            rhs = eps * (M[free] @ np.full(basis.N, ratio.mean())) - L[free][:, given] @ ratio
            c[free] = np.clip(spl.spsolve(A.tocsc(), rhs), ratio.min(), ratio.max()) * nu[free]
    return c


def _base_pieces(mesh: skfem.Mesh, phases: Phases, mine: np.ndarray, free: np.ndarray
                 ) -> list[ViscosityPiece]:
    """The base level's pieces in one viscous region, one per phase of ``mine``, with
    the facets towards the region's other phases (not the ``free`` ones, a slit's, open
    boundaries of each side): ``own`` where this phase is the upper one, ``far`` where
    the other is."""
    f2t = mesh.f2t
    interior = np.setdiff1d(np.nonzero(f2t[1] >= 0)[0], free)
    label = phases.label
    pieces = []
    for k in mine:
        inside = label == k
        a_in, b_in = inside[f2t[0, interior]], inside[f2t[1, interior]]
        other = np.where(a_in, label[f2t[1, interior]], label[f2t[0, interior]])
        sel = (a_in != b_in) & (other >= 0)
        sel[sel] = phases.group[other[sel]] == phases.group[k]
        ori = np.where(a_in[sel], 0, 1)
        facets = interior[sel]
        far = ~phases.upper[k] & phases.upper[label[f2t[1 - ori, facets]]]
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
