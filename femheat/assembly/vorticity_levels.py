r"""Piecewise-constant viscosity in the vorticity form (2D, and 3D since 2026-12-06): the
gradient energy as a sum of Hodge energies over the viscosity's level sets.

Where ν = l²/κ jumps between materials, the gradient energy of
:mod:`femheat.assembly.gk` (DESIGN's GK) has the interface conditions of a continuous
flux, [q] = 0, with a continuous traction, [−T n + ν∂q/∂n + βν(∇·q) n] = 0; T jumps
by [ν∂q_n/∂n] and ν rot q by −[ν]∂q_n/∂t. One Hodge energy with one continuous ω
(:mod:`femheat.assembly.vorticity`) holds [ν rot q] = 0 and
[T − (1+β)ν∇·q] = 0 instead: another model (a two-layer slab, l = 0.3 | 0.12,
κ = 1 | 2: 2.4 % in q and 2.8 % in T at every mesh, ``tests/test_gk_vorticity_layers.py``).

With the distinct positive values ν₁ < ν₂ < … < ν_m of the materials and the regions
R_k = {ν ≥ ν_k} (R₁ the whole domain, or the cells with l > 0 where materials have
l = 0), the gradient energy is

.. math::

    \sum_i \nu_i \int_{\Omega_i} |\nabla q|^2
    = \sum_k (\nu_k - \nu_{k-1}) \int_{R_k} |\nabla q|^2 ,\qquad \nu_0 = 0,

and each term is a constant-viscosity gradient energy on the region R_k, which
:mod:`femheat.assembly.vorticity_open` writes as a Hodge energy exactly: its own
vorticity ω_k = (ν_k − ν_{k−1}) rot q on R_k (continuous P2 / P3 there, weight
1/(ν_k − ν_{k−1}) in its mass), with the region's interface to smaller ν as an *open*
boundary of R_k (ω_k free, the trace ⟨q·t, φ⟩ from R_k's side, and the boundary form
−(ν_k − ν_{k−1}) S_h with its vertex and end terms), and the domain's own walls and
boundaries where they bound R_k as they bound the domain. Every part is the
constant-ν construction, symmetric positive semidefinite, and the sum is consistent
with the gradient energy's interface conditions; ω is one vector of the levels'
stacked vorticities, so solvers see one (C, M_ω) pair (M_ω block diagonal).

Materials with l = 0 lie in no level: their flux lies in H(div) alone, the gradient
energy holds no tangential condition next to them, and R₁'s interface with them is an
open boundary like the others (a GK film on a Fourier layer converges at O(h^(k+2)) in
q and O(h^(k+1)) in T; one vorticity with ω = 0 on those cells held ω = 0 at the
interface, another model, 2.8e-2 away in q at every mesh).

Kapitza interfaces declared ``tangential = "free"`` leave each side's tangential flux
free (the penalty form drops its facet terms there): where they cut the viscous cells
apart, each part is a viscous region of its own with its own levels, and the
interface is an open boundary of both sides (layered slabs with R = 0.5 at full order
in T and q, also where the interface meets boundaries that heat crosses). A free
interface that ends inside a viscous region (a slit) cannot be built so (one
continuous vorticity cannot take two values along it): the vorticity is cut along it
instead (:mod:`.vorticity_slit`, since 2026-12-07, 2D and 3D), the single one with one
ν, and with several ν each level's whose region holds the slit (the region's
interface counting as its boundary), and the slit is an open boundary of each side.
Where ν varies inside materials the graded levels of :mod:`.vorticity_graded_levels`
are cut the same way (since 2026-12-08).

Used on Cartesian meshes (2D; 3D since 2026-12-06, the open boundaries' terms then
those of :mod:`.vorticity_open3d`, the vorticity a first-kind Nédélec field per
level and piece, and the check for parts of a region that touch made on edges)
where every material has a constant scalar κ and l and ν takes more than one value
(0 included) or free interfaces cut the viscous cells apart (3D, extruded layered
slabs: ``tests/test_gk_vorticity_layers3d.py``). Elsewhere
(:func:`viscosity_levels` returns one level) one ω remains: with the closure terms of
:mod:`.vorticity_graded` where ν varies continuously inside materials, else with the
cell mean of ν (:mod:`femheat.assembly.vorticity`), whose closure differs from the
gradient energy by terms in ∇ν. Cost: one more vorticity field on each region of
larger ν.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp
import skfem
from scipy.sparse.csgraph import connected_components
from skfem.generic_utils import OrientedBoundary

from ..errors import FemheatInputError
from .viscous_choice import constant_scalar
from .vorticity_open import region_interface

__all__ = ["ViscosityLevel", "viscosity_levels", "level_obstacle", "uncut_free_interface",
           "free_interfaces_open", "region_pinch"]

_REL = 1e-9  # relative spread below which two cell viscosities are the same value


@dataclass
class ViscosityPiece:
    """The cells of one level where ν has one value (``inside``, a mask) and the facets
    between them and the level's other pieces, oriented out of the piece: rot q jumps
    there with ν, so the level's vorticity is split there, and both sides' ω equations
    take the tangential trace ⟨q·t, φ⟩ from the side of larger ν: ``own`` the facets
    where that is this piece, ``far`` those where it is the other (module doc)."""

    inside: np.ndarray
    own: Optional[OrientedBoundary] = None
    far: Optional[OrientedBoundary] = None


@dataclass
class ViscosityLevel:
    """One term of the sum (module doc): ``weight`` the per-cell viscosity of its Hodge
    energy (ν_k − ν_{k−1} on the region, 0 outside; the cell mean of ν for the single
    level), ``inside`` the region's cells (a mask), ``interface`` the facets between
    the region and the rest, oriented out of it (open boundaries of the level),
    ``pieces`` the region's parts of one ν each; ``single``: the one vorticity of
    :mod:`femheat.assembly.vorticity`, zero on cells without viscosity."""

    weight: np.ndarray
    inside: np.ndarray
    interface: Optional[OrientedBoundary]
    pieces: list[ViscosityPiece]
    single: bool = False


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of positive ``values``, those within a relative 1e-9 merged."""
    values = np.sort(values)
    keep = np.concatenate([[True], values[1:] > values[:-1] * (1 + _REL)])
    return values[keep]


def _piecewise(problem) -> bool:
    """True if the levels apply to ``problem`` (module doc): Cartesian (2D, and 3D since
    2026-12-06), every material's κ and l constant scalars."""
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return False
    for mat in problem.materials.values():
        kappa, ell = constant_scalar(mat.conductivity), constant_scalar(mat.nonlocal_length)
        if kappa is None or ell is None:
            return False
    return True


def _free_facets(problem) -> np.ndarray:
    """The facets of the Kapitza interfaces declared ``tangential = "free"``."""
    free = [problem.regions.interface(n) for n, k in problem.interfaces.items()
            if k.tangential == "free"]
    return np.concatenate(free) if free else np.zeros(0, dtype=np.int64)


def _parts(mesh: skfem.Mesh, viscous: np.ndarray, free: np.ndarray) -> np.ndarray:
    """A label per cell: viscous cells joined across interior facets other than
    ``free`` share one."""
    f2t = mesh.f2t
    joined = np.nonzero(f2t[1] >= 0)[0]
    joined = joined[~np.isin(joined, free)]
    joined = joined[viscous[f2t[0, joined]] & viscous[f2t[1, joined]]]
    n = mesh.t.shape[1]
    graph = sp.coo_matrix((np.ones(joined.size), (f2t[0, joined], f2t[1, joined])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _slit(mesh: skfem.Mesh, viscous: np.ndarray, free: np.ndarray, part: np.ndarray
          ) -> np.ndarray:
    """Which of the ``free`` facets have one viscous part on both sides (a slit)."""
    a, b = mesh.f2t[0, free], mesh.f2t[1, free]
    both = (b >= 0) & viscous[a] & viscous[np.maximum(b, 0)]
    return both & (part[a] == part[np.maximum(b, 0)])


def _groups(mesh: skfem.Mesh, viscous: np.ndarray, free: np.ndarray) -> list[np.ndarray] | None:
    """The viscous cells as independent viscous regions (masks): one, or where free
    interfaces cut the viscous cells apart, one per part (cells joined across the other
    interior facets); None where a free interface does not cut (it ends inside a part,
    a slit: one continuous vorticity cannot take two values along it)."""
    if not free.size:
        return [viscous]
    part = _parts(mesh, viscous, free)
    if np.any(_slit(mesh, viscous, free, part)):
        return None
    return [viscous & (part == p) for p in np.unique(part[viscous])]


def _regions(mesh: skfem.Mesh, nu_cell: np.ndarray, free: np.ndarray
             ) -> tuple[list[np.ndarray], bool] | None:
    """(the viscous regions the levels are built on, whether free interfaces cut them
    apart: :func:`_groups`, one region where a free interface is a slit), or None where
    the single vorticity stays (no viscous cell, or one ν on every cell and no cutting
    free interface)."""
    viscous = nu_cell > 0
    if not viscous.any():
        return None
    groups = _groups(mesh, viscous, free)
    cut = groups is not None and free.size > 0
    if _distinct(nu_cell[viscous]).size == 1 and viscous.all() and not cut:
        return None
    return (groups if groups is not None else [viscous]), cut


def viscosity_levels(problem, nu_cell: np.ndarray) -> list[ViscosityLevel]:
    """The viscosity levels of ``problem`` (module doc), ``nu_cell`` the cell means of
    ν = l²/κ: one level (the single vorticity) unless ν is piecewise constant with
    more than one value (0 included) or free Kapitza interfaces cut the viscous cells
    apart; then, in each viscous region, one per positive value there, the first on
    every cell of the region."""
    mesh = problem.regions.mesh
    viscous = nu_cell > 0
    single = [ViscosityLevel(nu_cell, viscous, None, [ViscosityPiece(viscous)], single=True)]
    free = _free_facets(problem)
    plan = _regions(mesh, nu_cell, free) if _piecewise(problem) else None
    if plan is None:
        return single
    # a free interface that ends inside (a slit) leaves one region, whose levels'
    # vorticities are cut along it (:mod:`.vorticity_slit`)
    groups = plan[0]
    values = _distinct(nu_cell[viscous])
    pinched = _pinched(mesh, nu_cell, groups)
    if pinched is not None:
        raise FemheatInputError(pinched)
    # the value index of each cell, −1 where ν = 0 (in no level)
    tag = np.where(viscous, np.searchsorted(values * (1 + _REL), nu_cell), -1)
    f2t = mesh.f2t
    interior = np.nonzero(f2t[1] >= 0)[0]
    interior = interior[~np.isin(interior, free)]
    levels = []
    for group in groups:
        below = 0.0
        present = np.unique(tag[group])  # the value indices in this region
        for k in present:
            value = values[k]
            inside = group & (tag >= k)
            interface = None
            if not inside.all():
                interface = region_interface(mesh, inside)
            pieces = []
            for j in present[present >= k]:
                mine = group & (tag == j)
                # facets between this piece and another of the level, oriented out of it
                a_in, b_in = mine[f2t[0, interior]], mine[f2t[1, interior]]
                other = np.where(a_in, inside[f2t[1, interior]], inside[f2t[0, interior]])
                sel = (a_in != b_in) & other
                ori = np.where(a_in[sel], 0, 1)
                facets = interior[sel]
                higher = tag[f2t[1 - ori, facets]] > j  # the other side has the larger ν
                pieces.append(ViscosityPiece(
                    mine,
                    OrientedBoundary(facets[~higher], ori[~higher]) if np.any(~higher) else None,
                    OrientedBoundary(facets[higher], ori[higher]) if np.any(higher) else None))
            levels.append(ViscosityLevel(np.where(inside, value - below, 0.0), inside,
                                         interface, pieces))
            below = value
    return levels


def _pinched(mesh: skfem.Mesh, nu_cell: np.ndarray, groups: list[np.ndarray]) -> str | None:
    """Why the levels cannot be built (a region R_k of one of the viscous ``groups``
    whose interface passes a vertex (2D) or an edge (3D) more than once: two of its
    parts touch at a point or along an edge), or None."""
    for group in groups:
        values = _distinct(nu_cell[group])
        for value in values if not group.all() else values[1:]:
            pinched = region_pinch(mesh, group & (nu_cell >= value * (1 - _REL)))
            if pinched is not None:
                return pinched
    return None


def region_pinch(mesh: skfem.Mesh, inside: np.ndarray,
                 who: str = "materials of larger nu = l^2/kappa") -> str | None:
    """Why the region ``inside`` (a mask over the cells) cannot be a level's: its
    interface passes a vertex (2D) or an edge (3D) more than once (two of its parts
    touch there), or None; ``who`` names its cells in the message."""
    dim = mesh.dim()
    facets = np.asarray(region_interface(mesh, inside))
    entities = mesh.facets[:, facets] if dim == 2 else mesh.f2e[:, facets]
    count = np.bincount(entities.ravel(), minlength=(mesh.p.shape[1] if dim == 2
                                                     else mesh.edges.shape[1]))
    if not np.any(count > 2):
        return None
    where = int(np.argmax(count))
    x = mesh.p[:, where] if dim == 2 else mesh.p[:, mesh.edges[:, where]].mean(axis=1)
    what = "a single vertex" if dim == 2 else "an edge"
    return (f"model.viscous = 'vorticity': {who} touch at {what} near "
            f"{np.round(x, 6).tolist()} (the interface of their region passes it twice); "
            "refine or change the mesh there, or use viscous = 'penalty'")


def uncut_free_interface(problem) -> str | None:
    """The name of a free Kapitza interface (``tangential = "free"``) that does not cut
    the viscous cells apart (it ends inside a viscous region: a slit), where the levels
    keep ω = 0 on it; None if there is none (also where the levels do not apply)."""
    free = _free_facets(problem)
    if not free.size or not _piecewise(problem):
        return None
    rm = problem.regions
    viscous = _material_nu(problem) > 0
    slit = free[_slit(rm.mesh, viscous, free, _parts(rm.mesh, viscous, free))]
    for name, k in problem.interfaces.items():
        if k.tangential == "free" and np.any(np.isin(rm.interface(name), slit)):
            return name
    return None


def free_interfaces_open(problem) -> bool:
    """True if ``problem`` has free Kapitza interfaces and the vorticity form makes them
    open boundaries of each side: the levels where they cut the viscous cells apart
    (Cartesian, constant κ and l), the cut vorticity of :mod:`.vorticity_slit` where
    they are slits (one ν)."""
    free = _free_facets(problem)
    if not free.size or not _piecewise(problem):
        return False
    plan = _regions(problem.regions.mesh, _material_nu(problem), free)
    if plan is not None and plan[1]:
        return True
    from .vorticity_slit import slit_obstacle  # slits whose vorticity is cut

    return slit_obstacle(problem) is None


def _material_nu(problem) -> np.ndarray:
    """The cell values of ν = l²/κ from constant materials (:func:`_piecewise`)."""
    rm = problem.regions
    nu_cell = np.zeros(rm.mesh.t.shape[1])
    for name, mat in problem.materials.items():
        nu_cell[rm.subdomain(name)] = constant_scalar(mat.nonlocal_length) ** 2 / constant_scalar(
            mat.conductivity)
    return nu_cell


def level_obstacle(problem) -> str | None:
    """Why the levels of ``problem`` cannot be built (see :func:`viscosity_levels`), from
    its materials' constant ν, or None (also where they do not apply)."""
    if not _piecewise(problem):
        return None
    nu_cell = _material_nu(problem)
    plan = _regions(problem.regions.mesh, nu_cell, _free_facets(problem))
    return None if plan is None else _pinched(problem.regions.mesh, nu_cell, plan[0])
