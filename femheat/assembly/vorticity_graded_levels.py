r"""Viscosity varying inside materials *and* jumping between them in the vorticity form:
a base level of constant viscosity and one graded level per material (since 2026-12-07).

Where κ or l is a function of position and ν = l²/κ also jumps between materials
(a graded phase in a composite, a graded film on a substrate), neither the single
graded vorticity of :mod:`.vorticity_graded` (ν_h continuous) nor the constant levels
of :mod:`.vorticity_levels` apply. With Ω_m the cells of subdomain m, Ω_v those of the
viscous ones (l > 0; subdomains with l = 0 lie in no level) and c = ½ min ν over Ω_v,

.. math::

    \sum_m \int_{\Omega_m} \nu\,|\nabla q|^2
    = c \int_{\Omega_v} |\nabla q|^2 + \sum_m \int_{\Omega_m} (\nu - c)\,|\nabla q|^2 .

The first term is a constant-ν Hodge energy on Ω_v with one continuous vorticity: it
holds the tangential flux continuous across the materials (Kapitza interfaces with a
continuous tangential flux included), with Ω_v's interface to l = 0 an open boundary
(:mod:`.vorticity_open`). Each other term is a graded Hodge energy on Ω_m with a
vorticity of its own, weight ν − c ≥ c > 0, the closure terms of
:mod:`.vorticity_graded` inside Ω_m (ν_h interpolated from m's cells, so n × ∇ν_h is
continuous across Ω_m's inner facets) and Ω_m's interfaces to the rest open
boundaries of Ω_m (ω free, the trace from m's side, the boundary form with ν − c
pointwise from m's side). Each term is an identity for fields in H¹(Ω_m) (the
construction of :mod:`.vorticity_levels` with a graded weight), so the sum models the
gradient energy's problem, and every part is symmetric positive semidefinite. Cost:
one more vorticity field per material. Where ν is continuous (no jump) the single
graded vorticity stays.

Refused (:func:`graded_obstacle`, "auto" keeps the penalty form): ν vanishing inside
a material where it varies, a free tangential flux at a Kapitza interface, (r, z), an
anisotropic κ, and subdomains whose cells touch at a single vertex (2D) or edge (3D)
only. ν is taken as continuous inside each subdomain (its nodal values there, as
with one graded vorticity). Measured (``tests/test_gk_vorticity_graded.py``): two
materials with κ and l varying and ν jumping between them (or l = 0 in one), a flow
that meets the interface conditions, degree 1: q at O(h³), T at O(h²), q 4.35e-6 and
T 9.46e-5 at n = 16 against the penalty form's 4.87e-6 and 9.97e-5; 3D degree 1 q
1.48e-4, T 8.99e-4 at n = 4 against 1.89e-4, 9.43e-4; the flux block minus the Darcy
mass positive semidefinite to round-off.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import skfem

from ..physics.materials import material_fields
from .viscous_choice import constant_scalar
from .vorticity_graded import (_JUMP, GradedViscosity, _element, _nodal, closure_form,
                               varies_inside)
from .vorticity_levels import ViscosityLevel, ViscosityPiece, region_pinch
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


def graded_obstacle(problem) -> str | None:
    """Why ν = l²/κ varying inside a material cannot take the closure terms, with one
    graded vorticity (ν continuous, :mod:`.vorticity_graded`) or a base level and one
    graded level per subdomain (ν jumping between them, module doc), or None."""
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return "(r, z) coordinates"
    for name, interface in problem.interfaces.items():
        if getattr(interface, "tangential", "continuous") == "free":
            return (f"interfaces.{name}: a free tangential flux where nu = l^2/kappa "
                    "varies inside a material")
    rm = problem.regions
    try:
        _, lowest, highest = _nodal(problem, vertices_only=True)
        inside = []
        for name, material in problem.materials.items():
            if _inviscid(material):
                continue
            cells = rm.subdomain(name)
            _, low, _ = _subdomain_nodes(problem, None, cells)
            if not np.all(low > 0):
                return "nu = l^2/kappa vanishes somewhere where it varies inside a material"
            inside.append(cells)
    except ValueError:
        return "an anisotropic conductivity"
    if not inside:
        return "nu = l^2/kappa = 0 in every material (no viscous term)"
    if np.max((highest - lowest) / np.maximum(highest, 1e-300)) <= _JUMP:
        return None  # continuous: one graded vorticity
    masks = [np.isin(np.arange(rm.mesh.t.shape[1]), c) for c in inside]
    for mask in [np.logical_or.reduce(masks)] + masks:
        pinched = region_pinch(rm.mesh, mask, "cells of one subdomain (or of the viscous "
                               "ones)")
        if pinched is not None:
            return pinched
    return None


def graded_plan(problem, qb: skfem.CellBasis, intorder: int, sheared: np.ndarray
                ) -> tuple[list[tuple[ViscosityLevel, GradedViscosity | None]],
                           sp.csr_matrix] | None:
    """The levels of the vorticity form where ν varies inside a material, each with its
    graded viscosity (None: a constant weight), and the closure terms R_h of them all
    (``qb`` the flux basis, ``sheared`` the facets of no-slip walls that heat crosses);
    None where ν does not vary inside a material, and where it cannot take the closure
    terms, with a warning there (one vorticity with ν's cell means models another
    closure)."""
    if not varies_inside(problem):
        return None
    reason = graded_obstacle(problem)
    if reason is not None:
        warnings.warn("model.viscous = 'vorticity': nu = l^2/kappa varies inside a material "
                      f"and {reason}: one vorticity with nu's cell means, another closure "
                      "than the gradient energy's (continuity of nu rot q); use viscous = "
                      "'penalty' for that model", stacklevel=5)
        return None
    rm = problem.regions
    mesh = rm.mesh
    n_cells = mesh.t.shape[1]
    basis = skfem.CellBasis(mesh, _element(mesh.dim(), problem.degree))
    _, lowest, highest = _nodal(problem)
    viscous = np.zeros(n_cells, dtype=bool)
    for name, material in problem.materials.items():
        viscous[rm.subdomain(name)] = not _inviscid(material)
    if np.max((highest - lowest) / np.maximum(highest, 1e-300)) <= _JUMP and viscous.all():
        # ν continuous and positive: one graded vorticity (.vorticity_graded)
        graded = GradedViscosity(problem, basis, 0.5 * (lowest + highest))
        nu_cell = _cell_means(graded, qb)
        level = ViscosityLevel(nu_cell, nu_cell > 0, None, [ViscosityPiece(nu_cell > 0)],
                               single=True)
        return [(level, graded)], closure_form(qb, graded, intorder, sheared)
    # a base level of constant c on the viscous cells, one graded level per subdomain
    parts = []
    for name, material in problem.materials.items():
        if _inviscid(material):
            continue
        cells = rm.subdomain(name)
        nodes, low, high = _subdomain_nodes(problem, basis, cells)
        values = np.zeros(basis.N)
        values[nodes] = 0.5 * (low + high)
        parts.append((cells, values, low.min()))
    c = 0.5 * min(p[2] for p in parts)
    base = ViscosityLevel(np.where(viscous, c, 0.0), viscous,
                          None if viscous.all() else region_interface(mesh, viscous),
                          [ViscosityPiece(viscous)], single=bool(viscous.all()))
    levels: list[tuple[ViscosityLevel, GradedViscosity | None]] = [(base, None)]
    closure = sp.csr_matrix((qb.N, qb.N))
    for cells, values, _ in parts:
        inside = np.zeros(n_cells, dtype=bool)
        inside[cells] = True
        graded = GradedViscosity(problem, basis, values, offset=c)
        own = skfem.CellBasis(mesh, qb.elem, elements=cells, quadrature=(qb.X, qb.W))
        closure = closure + closure_form(own, graded, intorder, sheared, inside)
        weight = np.zeros(n_cells)
        weight[cells] = _cell_means(graded, own)
        levels.append((ViscosityLevel(weight, inside, region_interface(mesh, inside),
                                      [ViscosityPiece(inside)]), graded))
    return levels, closure.tocsr()


def _cell_means(graded: GradedViscosity, basis: skfem.CellBasis) -> np.ndarray:
    """The mean of ``graded``'s weight on each cell of ``basis``."""
    return (graded.on(basis) * basis.dx).sum(axis=1) / basis.dx.sum(axis=1)
