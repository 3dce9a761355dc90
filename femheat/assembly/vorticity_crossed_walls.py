r"""Walls that heat crosses in the vorticity form, where their own conditions add to
the open boundary's (:mod:`.vorticity_open`, :mod:`.vorticity_open3d`; since 2026-12-07).

* :class:`~femheat.physics.conditions.SlipLength` walls that heat crosses
  (q_t = −C_s l ∂q_t/∂n) are open boundaries whose flux block also takes the slip's
  Robin term ⟨l/(C_s κ) q_t, v_t⟩ (:func:`slip_friction`, the penalty form's
  :func:`~femheat.assembly.forms.wall_slip`): the gradient energy's conditions there
  are an open boundary's with the tangential traction ν∂q_t/∂n = −(l/(C_s κ)) q_t.
  A manufactured flow with κ and l varying converges at O(h³) in q and O(h²) in T at
  degree 1 in 2D and 3D (2D, n = 16: q 2.00e-6, T 9.45e-5; the penalty form 2.13e-6,
  9.65e-5; ``tests/test_gk_vorticity_graded.py``); without the Robin term q stays at
  0.21. (Before, ω took the insulated wall's slip mass there, and the end terms
  assumed q·n = 0.)
* :class:`~femheat.physics.conditions.TangentialFlux` walls that heat crosses (κ and l
  constant per material) are held like no-slip walls that heat crosses, with their
  data's part of the boundary integral as a flux load (:func:`tangential_data_load`):
  q at O(h³) and T at O(h²) on manufactured flows in 2D and 3D
  (``tests/test_gk_vorticity_open.py``, ``tests/test_gk_vorticity_open3d.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem
from skfem import LinearForm
from skfem.helpers import dot, grad, mul

from ..physics.conditions import HeatFlux, SlipLength, TangentialFlux
from . import vorticity_open3d as open3d

__all__ = ["heat_crosses", "crossed_slip_walls", "slip_friction", "crossed_tangential_walls",
           "facet_walls", "tangential_data_load"]


def heat_crosses(bc) -> bool:
    """True if heat may cross a boundary with condition ``bc`` (anything but a
    constant zero HeatFlux)."""
    if isinstance(bc, HeatFlux) and not callable(bc.value):
        return bool(np.any(np.asarray(bc.value, dtype=float) != 0.0))
    return True


def crossed_slip_walls(problem) -> list[str]:
    """The :class:`~femheat.physics.conditions.SlipLength` walls that heat crosses
    (Cartesian): open boundaries of the vorticity form whose flux block also takes the
    slip's Robin term ⟨l/(C_s κ) q_t, v_t⟩ (:func:`slip_friction`). The gradient
    energy's conditions there are those of an open boundary, T − ν∂q_n/∂n − βν∇·q
    = T_D, with the tangential traction ν∂q_t/∂n = −(l/(C_s κ)) q_t in place of zero."""
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return []
    return [name for name, wall in problem.walls.items()
            if isinstance(wall, SlipLength) and name in problem.boundary_conditions
            and heat_crosses(problem.boundary_conditions[name])]


def slip_friction(problem, qb: skfem.CellBasis, order: int) -> sp.csr_matrix | None:
    """⟨l/(C_s κ) q_t, v_t⟩ on the slip-length walls that heat crosses
    (:func:`crossed_slip_walls`; the penalty form's term,
    :func:`~femheat.assembly.forms.wall_slip`), None without them."""
    from ..physics.materials import material_fields
    from . import forms

    names = crossed_slip_walls(problem)
    if not names:
        return None
    rm = problem.regions
    out = sp.csr_matrix((qb.N, qb.N))
    for name in names:
        facets = rm.boundary(name)
        fb = skfem.FacetBasis(rm.mesh, qb.elem, facets=facets, intorder=order)
        f = material_fields(rm, problem.materials, fb.global_coordinates().value,
                            rm.mesh.f2t[0, facets])
        friction = f.nonlocal_length * f.resistivity[0, 0] / problem.walls[name].coefficient
        out = out + forms.wall_slip.assemble(fb, friction=friction)
    return out.tocsr()


def crossed_tangential_walls(problem) -> list[str]:
    """The :class:`~femheat.physics.conditions.TangentialFlux` walls that heat crosses
    where the vorticity form gives them the gradient energy's conditions (Cartesian; κ
    and l constant in each material, or where ν varies, on the closure terms of
    :mod:`.vorticity_graded` since 2026-12-08): held like no-slip walls that heat
    crosses (ω free, q_τ = g weakly through the ω equation's data, the curvature term),
    with the data's part of the boundary integral as a flux load
    (:func:`tangential_data_load`)."""
    from .vorticity_graded import varies_inside

    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return []
    if varies_inside(problem):
        from .vorticity_graded_levels import graded_obstacle

        if graded_obstacle(problem) is not None:
            return []
    return [name for name, wall in problem.walls.items()
            if isinstance(wall, TangentialFlux) and name in problem.boundary_conditions
            and heat_crosses(problem.boundary_conditions[name])]


def facet_walls(problem, names) -> dict[int, str]:
    """Boundary facet → the name of the wall among ``names`` it belongs to."""
    return {int(f): name for name in names for f in problem.regions.boundary(name)}


@LinearForm
def _data_part(v, w):
    """g·∇_Γ(v·n) = n·(∇v)g on a flat facet (g tangential)."""
    return dot(w.n, mul(grad(v), w.g))


def tangential_data_load(problem, flux_element: skfem.Element, nu_cell: np.ndarray,
                         intorder: int, ends: list, graded: bool = False):
    r"""The flux load of the tangential data g (q_τ = g) of the tangential-flux walls
    that heat crosses (:func:`crossed_tangential_walls`) as a function of time t, or
    None.

    The boundary integral by which the gradient energy and the Hodge form differ is,
    in the convention of :func:`.vorticity_open.boundary_rotation_form` and
    :func:`.vorticity_open3d.boundary_rotation_form` (whose open parts are the forms with
    the derivatives on q for the exact flux), ν∮ B(v, q), B(v, q) = n_j v_i ∂_i q_j −
    (v·n)∇·q (2D: −v × ∂_t q). On such a wall, with q = q_n n + g on a flat facet,
    B(v, q) = v_τ·∇_Γ q_n − (v·n)∇_Γ·g. The first part is tested by v_τ (the wall
    vorticity, the constraint's multiplier, absorbs it; at edges and vertices it leaves
    the curvature term, as on no-slip walls); the second is data,

    .. math::

        L(v) = \sum_F \nu \int_F (\nabla_\Gamma\cdot g)\, v\cdot n_F
        = \sum_F \nu \Big(\oint_{\partial F} (g\cdot m)\, v\cdot n_F
        - \int_F g\cdot\nabla_\Gamma (v\cdot n_F)\Big)

    (m the facet's outward conormal; the second form needs no derivative of the
    data). Where the wall meets an open boundary, the rim (2D: end) term ½W of the open
    boundary's form (q·τ = q·b = 0 assumed) is off the exact one by the data's part,
    corrected by ν∫(g·b)(v·n_w) (2D: ±νg(v·n_w), the ``ends`` collected there). ν: the
    cell value ``nu_cell`` of each wall facet's cell.

    Where ν varies (``graded``: the levels of :mod:`.vorticity_graded_levels`, whose
    weights sum to ν), ν is taken at the points from the wall facet's side, and the
    load gains −∫(g·∇_Γν)(v·n), the rest of
    ∫ν(∇_Γ·g)(v·n) by parts, and +∫(g·∇_Γν_h)(v·n), what the closure terms' wall
    part ½((q·n)(∇_Γν_h·v) + (v·n)(∇_Γν_h·q)) adds to their boundary remainder
    −½∮(n × ∇ν_h)·(q × v) for the exact flux (q_τ = g): with ν_h's gradient in both they
    cancel, so ν at the points is all that changes."""
    names = crossed_tangential_walls(problem)
    if not names:
        return None
    rm = problem.regions
    mesh = rm.mesh
    # points: (DOFs, coefficients (nl, nq), points (d, nq), direction, normal, wall):
    # out[DOFs] += coefficients @ (g(points)·direction)
    pieces, points = [], list(ends)
    for name in names:
        facets = rm.boundary(name)
        cells = mesh.f2t[0, facets]
        fb = skfem.FacetBasis(mesh, flux_element, facets=facets, intorder=intorder)
        nu_f = nu_cell[cells]
        if graded:  # ν at the points (module doc)
            pieces.append((fb, name, _nu_at(problem, fb.global_coordinates().value, cells)))
        else:
            pieces.append((fb, name, nu_f[:, None] + 0.0 * fb.dx))
        if mesh.dim() == 2:  # ν[(g·t)(v·n)] at both ends of each facet, v from its cell
            from .vorticity_open import _facet_ends  # (that module imports this one)

            vertex, downstream, values, dofs, n, _, _ = _facet_ends(mesh, flux_element, facets)
            t = np.array([-n[1], n[0]])
            nu_end = (_nu_at(problem, mesh.p[:, vertex], cells) if graded
                      else np.repeat(nu_f[:, None], 2, axis=1))
            for f in range(len(facets)):
                for k in range(2):
                    sign = 1.0 if downstream[f, k] else -1.0
                    coefficient = sign * nu_end[f, k] * (values[:, :, f, k] @ n[:, f])
                    points.append((dofs[:, f].copy(), coefficient[:, None],
                                   mesh.p[:, [vertex[f, k]]], t[:, f], n[:, f], name))
        else:  # ν∮(g·m)(v·n) over each face's edges
            edges, s, gw, values, dofs, n, tau, length, _ = open3d._edge_traces(
                mesh, flux_element, facets, 3)
            lo, hi = mesh.p[:, edges[..., 0]], mesh.p[:, edges[..., 1]]  # (3, nf, 3)
            along = lo[..., None] + s * (hi - lo)[..., None]  # (3, nf, 3 edges, nq)
            nu_edges = (_nu_at(problem, along.reshape(3, -1, s.size), np.repeat(cells, 3))
                        .reshape(len(facets), 3, s.size) if graded
                        else np.broadcast_to(nu_f[:, None, None], (len(facets), 3, s.size)))
            for f in range(len(facets)):
                for k in range(3):
                    nu_e = nu_edges[f, k]
                    coefficient = np.einsum("liq,i->lq", values[:, :, f, k, :], n[:, f]) \
                        * (nu_e * gw * length[f, k])[None, :]
                    points.append((dofs[:, f].copy(), coefficient, along[:, f, k],
                                   np.cross(tau[:, f, k], n[:, f]), n[:, f], name))
    n_dofs = pieces[0][0].N
    steady = not any(problem.walls[name].time_dependent for name in names)
    cache: dict = {}

    def data(name: str, x: np.ndarray, n: np.ndarray, t: float) -> np.ndarray:
        where = f"walls.{name}: TangentialFlux.value (case file: boundaries.{name}.wall_flux)"
        return problem.walls[name].tangential(x, n, t, where)

    def load(t: float) -> np.ndarray:
        if steady and "f" in cache:
            return cache["f"]
        out = np.zeros(n_dofs)
        for fb, name, nu in pieces:
            x, n = fb.global_coordinates().value, fb.normals
            out -= _data_part.assemble(fb, g=nu[None] * data(name, x, n, t))
        for dofs, coefficient, x, direction, normal, name in points:
            g = data(name, x, np.broadcast_to(normal[:, None], x.shape), t)
            np.add.at(out, dofs, coefficient @ (direction @ g))
        cache["f"] = out
        return out

    return load


def _nu_at(problem, x: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """ν = l²/κ at points ``x`` (d, n, nq) from the materials of the n ``cells``."""
    from ..physics.materials import material_fields

    f = material_fields(problem.regions, problem.materials, x, cells=cells)
    kinv = f.resistivity[0, 0]
    return np.broadcast_to(f.nonlocal_length, kinv.shape) ** 2 * kinv
