r"""Wall data of the vorticity form (:mod:`femheat.assembly.vorticity`): the 3D
slip-length wall mass on the vorticity's tangential part, and the flux load of
:class:`~femheat.physics.conditions.TangentialFlux` walls, ⟨q·t, φ⟩ = ⟨g·t, φ⟩ taken as
data in the ω equation (one block per viscosity level, :mod:`.vorticity_levels`)."""

from __future__ import annotations

import numpy as np
import skfem
from skfem import BilinearForm, LinearForm
from skfem.helpers import dot

from ..mesh.regions import RegionMesh
from ..physics.materials import material_fields
from ..physics.conditions import TangentialFlux

__all__ = ["tangential_edge_mass", "tangential_load", "wall_lengths"]


@LinearForm
def _wall_data(phi, w):
    return w.g * phi


@LinearForm
def _wall_data_3d(tau, w):
    return dot(w.ng, tau.value)


@LinearForm
def _remainder_data(psi, w):
    """⟨(e·g) ψ·n⟩: an anisotropic κ's weak gradient of e·q, whose wall trace is e·g
    there (:mod:`.vorticity_anisotropic`)."""
    return w.eg * dot(psi.value, w.n)


@BilinearForm
def tangential_edge_mass(omega, tau, w):
    """(w.weight ω_t, τ_t) on a wall, ω_t = ω − (ω·n)n."""
    return w.weight * (dot(omega.value, tau.value)
                       - dot(omega.value, w.n) * dot(tau.value, w.n))


def tangential_load(problem, parts, order, C, omega_mass, scale=1.0):
    """The flux load −Cᵀ M_ω⁻¹ G of the TangentialFlux walls, G_i = ⟨g·t, φ_i⟩ (2D),
    ⟨n × g, τ_i⟩ (3D), times ``scale`` (2π in (r, z), where φ_i is the stream
    function's basis), with one block of G per viscosity level (``parts``, each over
    the wall facets that bound its region)."""
    walls = [(n, w) for n, w in problem.walls.items() if isinstance(w, TangentialFlux)]
    if not walls:
        return None
    rm: RegionMesh = problem.regions
    pieces = []
    for part in parts:
        for name, wall in walls:
            facets = rm.boundary(name)
            if part.inside is not None:
                facets = facets[part.inside[rm.mesh.f2t[0, facets]]]
            if not facets.size:
                continue
            fb = skfem.FacetBasis(rm.mesh, part.elem, facets=facets,
                                  intorder=order + part.elem.maxdeg - 1)
            if getattr(part, "cut", None) is not None:  # a slit's cut space
                fb = part.cut.cut(fb)
            where = f"walls.{name}: TangentialFlux.value (case file: boundaries.{name}.wall_flux)"
            pieces.append((part, fb, wall, where, fb.global_coordinates().value))
    steady = not any(w.time_dependent for _, _, w, *_ in pieces)
    cache: dict = {}

    def load(t: float) -> np.ndarray:
        if steady and "f" in cache:
            return cache["f"]
        G = {id(part): np.zeros(part.n_omega) for part in parts}
        for part, fb, wall, where, xf in pieces:
            n = fb.normals
            g = wall.tangential(xf, n, t, where)
            if getattr(part, "direction", None) is not None:  # a weak gradient of e·q
                G[id(part)] += _remainder_data.assemble(
                    fb, eg=np.einsum("i,i...->...", part.direction, g))
            elif n.shape[0] == 3:  # ⟨n × g, τ⟩ on the Nédélec edges
                G[id(part)] += _wall_data_3d.assemble(fb, ng=np.cross(n, g, axis=0))
            else:
                G[id(part)] += _wall_data.assemble(fb, g=-g[0] * n[1] + g[1] * n[0])  # g·t
        stacked = np.concatenate([G[id(part)][part.active] for part in parts])
        out = -(C.T @ omega_mass.inverse_times(scale * stacked))
        cache["f"] = out
        return out

    return load


def wall_lengths(problem, basis: skfem.FacetBasis) -> np.ndarray:
    """l [m] at the quadrature points of ``basis`` (a facet basis of the mesh), from each
    facet's cell's material (a slip-length wall's vorticity mass, :mod:`.vorticity`)."""
    f = material_fields(problem.regions, problem.materials,
                        basis.global_coordinates().value, basis.tind)
    return np.broadcast_to(f.nonlocal_length, basis.dx.shape)
