r"""Boundaries that heat crosses in the 2D vorticity form: the interior penalty's model.

The vorticity form (:mod:`femheat.assembly.vorticity`) writes the viscous energy as
ν|rot q|² + (1+β)ν|∇·q|². For constant ν and q, v ∈ H¹ it differs from the gradient
energy ν|∇q|² + βν|∇·q|² of :mod:`femheat.assembly.gk` (DESIGN's GK) only by a boundary
integral (a null Lagrangian; t = (−n_y, n_x), a × b = a_x b_y − a_y b_x):

.. math::

    (\nabla q, \nabla v) = (\nabla\cdot q, \nabla\cdot v) + (\mathrm{rot}\,q,
    \mathrm{rot}\,v) - \oint_{\partial\Omega} q \times \partial_t v \,\mathrm{d}s .

On an impermeable flat wall the integral vanishes; where heat crosses a boundary it
does not, and leaving it out (with ω = 0 there) is another boundary model:
T − (1+β)ν∇·q = T_D and ω = 0, where the gradient energy has T − ν∂q_n/∂n − βν∇·q =
T_D and ν∂q_t/∂n = 0 (19 % apart in T on a square at l = 0.2,
``tests/test_gk_boundary_models.py``). On "open" boundaries (a Temperature, Convection
or nonzero HeatFlux condition and no wall condition) this module restores the
gradient energy's model:

* ω is free at the boundary's vorticity DOFs, and the ω equation takes the boundary
  trace back, (ν⁻¹ω, φ) = (q, curl φ) + ⟨q·t, φ⟩_open, so that ω = ν rot q with rot q
  the rotation inside the domain, tangential jumps between cells included
  (:func:`tangential_trace`);
* the flux block gains −ν S_h, the boundary integral in a form that stays symmetric
  and consistent for fluxes whose traces jump at the boundary vertices
  (:func:`boundary_rotation_form`):

.. math::

    S_h(q, v) = \sum_F \int_F \tfrac12 (v \times \partial_t q + q \times \partial_t v)
    \,\mathrm{d}s - \sum_P \tfrac12 ([v] \times \{q\} + [q] \times \{v\})
    + \tfrac12 W(q, v)|_{P_\mathrm{end}} - \tfrac12 W(q, v)|_{P_\mathrm{start}},

over the open facets F, the vertices P shared by two of them ([u] = u_{F₂} − u_{F₁}
along t, {u} the mean; Cartesian components, so corners between open sides need
nothing else) and the ends of each open stretch, where it meets a wall with normal
n_w, t_w = (−n_{w,y}, n_{w,x}): W = (v·n_w)(q·t_w) + (q·n_w)(v·t_w) if the wall holds
q·n_w = 0, W = −(v·t_w)(q·n_w) − (q·t_w)(v·n_w) if it is a no-slip wall that heat
crosses (q·t_w = 0). For the exact flux each W is v × q, and S_h(q, v) = Σ_F ∫_F
v × ∂_t q, which is what makes the discrete form consistent with −ν∇²q and the
gradient energy's natural conditions. (A tangential-flux wall that heat crosses holds
neither: with κ and l constant per material the data's part of the end term is
corrected by a load, :func:`.vorticity_crossed_walls.tangential_data_load`, with ν
varying too since 2026-12-08; where ν vanishes somewhere the end term is not
consistent, and a warning says so; so does a Kapitza interface with a free
tangential flux that ends inside a viscous region where it is not cut, ω = 0 on it,
whose jump breaks the vertex term where it meets an open boundary. One that cuts the
region apart, or a slit whose vorticity is cut, is itself an open boundary of each
side, whose chain the vertex terms follow consistently.)

On a no-slip wall that heat crosses ω is free and q·t = 0 holds weakly (the ω equation
without the trace). There the boundary integral leaves only the curvature term
∮ κ(q·n)(v·n) ds: its other parts are tested against v·t alone and shift the wall
vorticity, the multiplier of q·t = 0, not q or T. On a polygon the curvature sits at the
vertices, and :func:`sheared_wall_corners` adds S_h's vertex term there with each trace
replaced by its normal part. Without it a curved such wall had the condition
T − ν∂q_n/∂n − νκq_n − βν∇·q = T_D, and T stalled at 1.1e-2 (a Gaussian source in
a disc, ``tests/test_gk_vorticity_open.py``; with it O(h²), 2.7e-4 at degree 1).

Measured (``tests/test_gk_vorticity_open.py``): the vertex terms make the flux block
positive semidefinite (the facet integrals alone: lowest eigenvalue of the viscous
block against the flux mass −0.16 / −0.45 / −1.46 at n = 4 / 8 / 16, growing like
1/h; with them, round-off); a manufactured flow given both conditions' data converges
at O(h³) in q and O(h²) in T (2.36e-5 at n = 32, the penalty form 2.37e-5, also on
distorted meshes); a developed channel flow passes open ends undisturbed (T 2.3e-6
at n = 32, the penalty form 1.9e-5); the hollow cylinder's contact resistance
(``cases/gk_hollow_cylinder.py``) is met at O(h²). The discrete gradients still carry
no rotation energy inside the domain: T given on the edges of a square, l = L, the
slowest quasi-static rate is 0.909 α/l² (the penalty form's grid modes 0.377), and
grid modes along the open boundary, one cell deep, decay at ≥ 0.81 α/l² on distorted
meshes; the fastest rate, a boundary-layer mode, is the penalty form's (1.8558 against
1.8560 α/l²). Cost: ω is an unknown of every solve (the consistent mass, as next to
no-slip walls). (Figures at degree 1.)

The same terms act on interior facets, with the traces from one side (oriented
facets): where ν jumps between materials each viscosity level's interface to smaller ν
is an open boundary of that level (:mod:`.vorticity_levels`).

2D Cartesian, degree 0 (BDM1 × P0 × P2) and 1 (BDM2 × P1DG × P3). The degree-0 pair
needs complete linear fluxes: with RT0 (∇q = (∇·q/2) I, the former degree-0 pair) ∂_t q
on the boundary is not approximated, and with the boundary integral T converged at
orders falling to 0.6–0.7 by n = 32 on the manufactured flow; with BDM1 and a
consistent P2 vorticity, q converges at O(h²) (6.2e-5 at n = 32, the penalty form
6.8e-5) and T at O(h) (5.63e-3, the same). In 3D the integral is a surface form with
tangential derivatives on faces and jumps on edges (:mod:`.vorticity_open3d`, since
2026-12-06, with the edge form of the curvature term of no-slip walls that heat
crosses; also on the viscosity levels' interfaces). In (r, z) it is not implemented (ω = 0 there); only
the curvature term of no-slip walls that heat crosses is there
(:func:`sheared_wall_corners`, with the hoop curvature n_r/r).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import skfem
from skfem import BilinearForm
from skfem.generic_utils import OrientedBoundary
from skfem.helpers import grad, mul

from ..physics.conditions import NoSlip
from . import vorticity_open3d as open3d
from .vorticity_crossed_walls import (crossed_slip_walls, crossed_tangential_walls,
                                      facet_walls, heat_crosses)

__all__ = ["heat_crosses", "open_boundary_facets",
           "open_boundaries", "region_interface", "tangential_trace",
           "boundary_rotation_form", "sheared_wall_corners", "far_tangential_trace",
           "inner_cells"]


def open_boundary_facets(problem) -> np.ndarray:
    """Boundary facets that heat may cross and that carry no wall condition: where the
    vorticity form takes the gradient energy's boundary model (module doc; 3D:
    :mod:`.vorticity_open3d`), and the stress-free walls of anisotropic materials that
    :func:`.vorticity_anisotropic.isotropic_proxy` marks on its proxy problem
    (``opened_walls``). Empty in (r, z)."""
    rm = problem.regions
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return np.zeros(0, dtype=np.int64)
    slip = crossed_slip_walls(problem)
    parts = [rm.boundary(name) for name, bc in problem.boundary_conditions.items()
             if (name not in problem.walls or name in slip) and heat_crosses(bc)]
    # the stress-free walls of anisotropic materials (:mod:`.vorticity_anisotropic`)
    parts += [getattr(problem, "opened_walls", np.zeros(0, dtype=np.int64))]
    parts = [p for p in parts if p.size]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(parts))


def open_boundaries(problem, flux_element: skfem.Element, nu_cell: np.ndarray,
                    intorder: int, inside: np.ndarray | None = None,
                    interface: np.ndarray | None = None, cut=None,
                    end_data: list | None = None
                    ) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """(facets, ν S_h): the open boundary facets of ``problem`` and the boundary form the
    flux block loses there and at the corners of no-slip walls that heat crosses (None
    where there is neither). (r, z): no open facets (ω = 0 there), the no-slip walls'
    curvature term only; 3D: the terms of :mod:`.vorticity_open3d`.

    ``inside`` (a mask over the cells) restricts both to the boundary of that region,
    and ``interface`` (interior facets, oriented out of it:
    :func:`region_interface`) adds the facets between the region and the rest of the
    mesh as open facets (the viscosity levels of :mod:`.vorticity_levels`; a slit's
    facets in both orientations, with ``cut`` its
    :class:`~.vorticity_slit.SlitCut`, :mod:`.vorticity_slit`). The facets come back
    oriented (an :class:`~skfem.generic_utils.OrientedBoundary`) when ``interface``
    has any. ``end_data`` (2D) collects the end terms' data parts where open facets meet
    tangential-flux walls that heat crosses
    (:func:`.vorticity_crossed_walls.tangential_data_load`)."""
    facets = open_boundary_facets(problem)
    rm = problem.regions
    mesh = rm.mesh
    if mesh.dim() == 3:
        return _open_boundaries_3d(problem, flux_element, nu_cell, intorder, facets, inside,
                                   interface, cut, end_data)
    if inside is not None:
        facets = facets[inside[mesh.f2t[0, facets]]]
    axisymmetric = getattr(problem, "coordinates", "cartesian") == "axisymmetric"
    crossed = _crossed_walls(problem)
    sheared = sheared_walls(problem)
    if inside is not None:
        sheared = sheared[inside[mesh.f2t[0, sheared]]]
    form = (sheared_wall_corners(mesh, flux_element, sheared, nu_cell, axisymmetric, cut)
            if sheared.size else None)
    if interface is not None and len(interface):
        facets = OrientedBoundary(np.concatenate([facets, np.asarray(interface)]),
                                  np.concatenate([np.zeros(facets.size, dtype=int),
                                                  interface.ori]))
    if not len(facets):
        return facets, form
    ends = set(np.unique(mesh.facets[:, np.asarray(facets)]).tolist())
    held = set(crossed_tangential_walls(problem))
    for name in crossed:
        if (not isinstance(problem.walls[name], NoSlip) and name not in held
                and ends & set(np.unique(mesh.facets[:, rm.boundary(name)]).tolist())):
            warnings.warn(
                f"walls.{name}: a {type(problem.walls[name]).__name__} wall that heat "
                "crosses meets a boundary without wall condition; with the vorticity form "
                "the corner term there assumes q.n = 0 on the wall, which heat crossing it "
                "breaks (not consistent there); use viscous = 'penalty', or a no-slip wall",
                stacklevel=5)
    opened = set(np.asarray(facets).tolist())
    for name, interface_ in problem.interfaces.items():
        if (getattr(interface_, "tangential", "continuous") == "free"
                and not opened.issuperset(rm.interface(name).tolist())
                and ends & set(np.unique(mesh.facets[:, rm.interface(name)]).tolist())):
            warnings.warn(
                f"interfaces.{name}: a Kapitza interface with tangential = 'free' meets a "
                "boundary that heat crosses; with the vorticity form the vertex term there "
                "assumes a continuous flux trace, which the free tangential flux breaks "
                "(not consistent there); use viscous = 'penalty' or tangential = "
                "'continuous'", stacklevel=5)
    S = boundary_rotation_form(mesh, flux_element, facets, nu_cell, intorder, sheared,
                               inside, cut, ends=None if end_data is None else (
                                   end_data, facet_walls(problem, held)))
    return facets, S if form is None else (S + form).tocsr()


def sheared_walls(problem) -> np.ndarray:
    """The facets of no-slip walls that heat crosses, and of the tangential-flux ones
    (:func:`crossed_tangential_walls`): q·t held weakly by the ω equation."""
    held = crossed_tangential_walls(problem)
    parts = [problem.regions.boundary(n) for n in _crossed_walls(problem)
             if isinstance(problem.walls[n], NoSlip) or n in held]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def _crossed_walls(problem) -> list[str]:
    """The walls that heat may cross (but the slip-length ones, open boundaries)."""
    slip = crossed_slip_walls(problem)
    return [name for name in problem.walls if name in problem.boundary_conditions
            and heat_crosses(problem.boundary_conditions[name]) and name not in slip]


def _open_boundaries_3d(problem, flux_element, nu_cell, intorder, facets, inside=None,
                        interface=None, cut=None, end_data=None):
    """:func:`open_boundaries` in 3D (:mod:`.vorticity_open3d`)."""
    rm = problem.regions
    mesh = rm.mesh
    crossed = _crossed_walls(problem)
    sheared = sheared_walls(problem)
    if inside is not None:
        facets = facets[inside[mesh.f2t[0, facets]]]
        sheared = sheared[inside[mesh.f2t[0, sheared]]]
    if interface is not None and len(interface):
        facets = OrientedBoundary(np.concatenate([facets, np.asarray(interface)]),
                                  np.concatenate([np.zeros(facets.size, dtype=int),
                                                  interface.ori]))
    form = (open3d.sheared_wall_edges(rm.mesh, flux_element, sheared, nu_cell, cut)
            if sheared.size else None)
    if not len(facets):
        return facets, form
    ends = set(np.unique(rm.mesh.facets[:, np.asarray(facets)]).tolist())
    held = set(crossed_tangential_walls(problem))
    for name in crossed:
        if (not isinstance(problem.walls[name], NoSlip) and name not in held
                and ends & set(np.unique(rm.mesh.facets[:, rm.boundary(name)]).tolist())):
            warnings.warn(
                f"walls.{name}: a {type(problem.walls[name]).__name__} wall that heat "
                "crosses meets a boundary without wall condition; with the vorticity form "
                "the edge term there assumes q.n = 0 on the wall, which heat crossing it "
                "breaks (not consistent there); use viscous = 'penalty', or a no-slip wall",
                stacklevel=6)
    S = open3d.boundary_rotation_form(rm.mesh, flux_element, facets, nu_cell, intorder,
                                      sheared, inside, cut, ends=None if end_data is None else (
                                          end_data, facet_walls(problem, held)))
    return facets, S if form is None else (S + form).tocsr()


def region_interface(mesh: skfem.Mesh, inside: np.ndarray) -> OrientedBoundary:
    """The interior facets between the cells in ``inside`` (a mask over the cells) and the
    others, oriented so that their normals point out of the region."""
    f2t = mesh.f2t
    interior = f2t[1] >= 0
    first = inside[f2t[0]]
    second = np.where(interior, inside[np.maximum(f2t[1], 0)], first)
    facets = np.nonzero(first != second)[0]
    return OrientedBoundary(facets, np.where(first[facets], 0, 1))


def inner_cells(mesh: skfem.Mesh, facets: np.ndarray) -> np.ndarray:
    """The cell on the inner side of each of ``facets`` (its orientation's side where the
    facets are oriented, else the first)."""
    ori = getattr(facets, "ori", None)
    idx = np.asarray(facets, dtype=np.int64)
    return mesh.f2t[0, idx] if ori is None else mesh.f2t[ori, idx]


def nu_on_facets(nu, cells: np.ndarray, fb: skfem.FacetBasis) -> np.ndarray:
    """ν at the quadrature points of ``fb``: the cell mean ``nu[cells]`` of each facet's
    cell ``cells``, or ν itself where ``nu`` is a
    :class:`~.vorticity_graded.GradedViscosity` (ν varying inside a material)."""
    if isinstance(nu, np.ndarray):
        return nu[cells][:, None] + 0.0 * fb.dx
    return nu.on(fb)


def nu_at_vertices(nu, cells, vertices: np.ndarray) -> np.ndarray:
    """ν at mesh ``vertices``: the mean of the cell means ``nu`` of ``cells`` (an index
    array, or a tuple of them to average), or ν there (ν_h's nodal values) where ``nu``
    is a :class:`~.vorticity_graded.GradedViscosity`."""
    if not isinstance(nu, np.ndarray):
        return nu.at_vertices(vertices)
    cells = cells if isinstance(cells, tuple) else (cells,)
    return np.broadcast_to(sum(nu[c] for c in cells) / len(cells), np.shape(vertices))


def _cross(a, b):
    return a[0] * b[1] - a[1] * b[0]


def _tangent_derivative(u, t):
    """∂_t u = (∇u) t (flux elements with gradients: BDM1, BDM2)."""
    return mul(grad(u), t)


@BilinearForm
def _trace_form(q, phi, w):
    """⟨q·t, φ⟩, t = (−n_y, n_x)."""
    return (q.value[1] * w.n[0] - q.value[0] * w.n[1]) * phi


@BilinearForm
def _facet_form(q, v, w):
    """ν ½(v × ∂_t q + q × ∂_t v) on a boundary facet."""
    t = np.array([-w.n[1], w.n[0]])
    return 0.5 * w.nu * (_cross(v.value, _tangent_derivative(q, t))
                         + _cross(q.value, _tangent_derivative(v, t)))


def tangential_trace(mesh: skfem.MeshTri, flux_element: skfem.Element,
                     vorticity_element: skfem.Element, facets: np.ndarray,
                     intorder: int, cut=None) -> sp.csr_matrix:
    """The matrix ⟨q·t, φ_i⟩ over ``facets`` (rows: vorticity DOFs, columns: flux
    DOFs), added to the weak rotation C of open boundaries (3D: ⟨n × q, φ_i⟩,
    :func:`.vorticity_open3d.tangential_trace`); ``cut``: the vorticity space cut along
    a slit (:class:`~.vorticity_slit.SlitCut`)."""
    if mesh.dim() == 3:
        return open3d.tangential_trace(mesh, flux_element, vorticity_element, facets,
                                       intorder, cut)
    fq = skfem.FacetBasis(mesh, flux_element, facets=facets, intorder=intorder)
    fw = skfem.FacetBasis(mesh, vorticity_element, facets=facets, intorder=intorder)
    if cut is not None:
        fw = cut.cut(fw)
    return _trace_form.assemble(fq, fw).tocsr()


def far_tangential_trace(mesh: skfem.MeshTri, flux_element: skfem.Element,
                         vorticity_element: skfem.Element, facets: OrientedBoundary,
                         intorder: int, cut=None) -> sp.csr_matrix:
    """The matrix ⟨q_far·t, φ_i⟩ over interior ``facets`` oriented out of φ's side, q_far
    the flux trace from the other side and t φ's side's tangent (the viscosity levels'
    split vorticity, :mod:`.vorticity_levels`); ``cut``: the level's vorticity cut
    along a slit (:class:`~.vorticity_slit.SlitCut`)."""
    other = OrientedBoundary(np.asarray(facets), 1 - facets.ori)
    fw = skfem.FacetBasis(mesh, vorticity_element, facets=facets, intorder=intorder)
    if cut is not None:
        fw = cut.cut(fw)
    far = skfem.FacetBasis(mesh, flux_element, facets=other, intorder=intorder)
    # the trace form takes t (3D: n) from the flux basis' normals: the far side's is −t
    form = open3d.trace_form if mesh.dim() == 3 else _trace_form
    return (-form.assemble(far, fw)).tocsr()


def boundary_rotation_form(mesh: skfem.MeshTri, flux_element: skfem.Element,
                           facets: np.ndarray, nu_cell: np.ndarray, intorder: int,
                           sheared: np.ndarray = np.zeros(0, dtype=np.int64),
                           inside: np.ndarray | None = None, cut=None,
                           ends: tuple | None = None) -> sp.csr_matrix:
    """ν S_h(q, v) over the open ``facets`` (module doc), ν the cell mean ``nu_cell`` of
    each facet's cell (the mean of the two cells at a vertex term), or pointwise where
    ``nu_cell`` is a :class:`~.vorticity_graded.GradedViscosity`. At an end P of the
    open boundary the neighbouring boundary facet holds q·n_w = 0, or q·t_w = 0 if it
    is in ``sheared`` (a no-slip wall that heat crosses); the end term ±½ W(q, v) uses
    the symmetric form of v × q consistent with that condition (module doc).
    ``facets`` may be oriented (interior facets, traces and normals from the side the
    orientation names), and ``inside`` (a mask over the cells) limits the neighbouring
    boundary facets to those of that region; ``cut`` (a
    :class:`~.vorticity_slit.SlitCut`) tells the two sides of a slit apart at its
    vertices."""
    cells = inner_cells(mesh, facets)
    fb = skfem.FacetBasis(mesh, flux_element, facets=facets, intorder=intorder)
    if fb.basis[0][0].grad is None:  # RT0: no complete linear fields (module doc)
        raise TypeError(f"{type(flux_element).__name__} has no gradient")
    S = _facet_form.assemble(fb, nu=nu_on_facets(nu_cell, cells, fb))

    # the vertex terms: trace values at both ends of every facet
    vertex, downstream, values, dofs, _, pairs, _ = _facet_ends(mesh, flux_element, facets,
                                                                 cut)
    labels = vertex if cut is None else cut.label_of(cells[:, None], vertex)
    S = S + _end_terms(mesh, np.asarray(facets, dtype=np.int64), vertex, downstream,
                       values, dofs, nu_at_vertices(nu_cell, cells[:, None], vertex),
                       sheared, S.shape, inside, labels, ends)
    if not pairs:
        return S.tocsr()
    (f1, k1), (f2, k2) = (np.array(p).T for p in zip(*pairs))
    v1 = np.moveaxis(values[:, :, f1, k1], 2, 0)  # (np, nl, 2)
    v2 = np.moveaxis(values[:, :, f2, k2], 2, 0)
    jump = np.concatenate([v2, -v1], axis=1)  # on the stacked DOFs (F2's, then F1's)
    mean = 0.5 * np.concatenate([v2, v1], axis=1)
    stacked = np.concatenate([dofs[:, f2].T, dofs[:, f1].T], axis=1)  # (np, 2 nl)
    nu_p = nu_at_vertices(nu_cell, (cells[f1], cells[f2]), vertex[f1, k1])
    jxm = (jump[:, :, None, 0] * mean[:, None, :, 1]
           - jump[:, :, None, 1] * mean[:, None, :, 0])  # [v_i] × {q_j}
    block = -0.5 * nu_p[:, None, None] * (jxm + np.swapaxes(jxm, 1, 2))
    rows = np.broadcast_to(stacked[:, :, None], block.shape)
    cols = np.broadcast_to(stacked[:, None, :], block.shape)
    V = sp.csr_matrix((block.ravel(), (rows.ravel(), cols.ravel())), shape=S.shape)
    return (S + V).tocsr()


def _facet_ends(mesh: skfem.MeshTri, flux_element: skfem.Element, facets: np.ndarray,
                cut=None):
    """The flux traces at both ends of boundary ``facets``: (vertex (nf, 2) the vertex at
    each end, downstream (nf, 2) whether it is the facet's end along t, values (nl, 2,
    nf, 2) the local basis traces there from the facet's cell, dofs (nl, nf), n (2, nf)
    the outward normals, pairs [((f1, k1), (f2, k2))] the vertices shared by two of the
    facets, F1 the one the vertex ends (upstream along t), F2 the one it starts, and
    the number of flux DOFs); ``cut``: vertices are paired by their label on each
    side of a slit (:class:`~.vorticity_slit.SlitCut`)."""
    ends = skfem.FacetBasis(mesh, flux_element, facets=facets,
                            quadrature=(np.array([[0.0, 1.0]]), np.array([0.5, 0.5])))
    x = ends.global_coordinates().value  # (2, n_facets, 2)
    n = ends.normals[:, :, 0]
    t = np.array([-n[1], n[0]])
    ends_of = mesh.facets[:, np.asarray(facets, dtype=np.int64)]  # the facet's two vertices
    # which vertex sits at each quadrature point
    d0 = np.linalg.norm(x - mesh.p[:, ends_of[0]][:, :, None], axis=0)
    vertex = np.where(d0 < np.linalg.norm(x - mesh.p[:, ends_of[1]][:, :, None], axis=0),
                      ends_of[0][:, None], ends_of[1][:, None])  # (n_facets, 2)
    downstream = np.einsum("ifk,if->fk", x - x.mean(axis=2, keepdims=True), t) > 0
    values = np.stack([ends.basis[i][0].value for i in range(ends.Nbfun)])  # (nl, 2, nf, 2)
    key = vertex if cut is None else cut.label_of(np.asarray(ends.tind)[:, None], vertex)
    f_idx, k_idx = np.nonzero(np.ones_like(vertex, dtype=bool))
    upstream_of = {int(key[f, k]): (f, k) for f, k in zip(f_idx, k_idx) if downstream[f, k]}
    pairs = [(upstream_of[int(key[f, k])], (f, k)) for f, k in zip(f_idx, k_idx)
             if not downstream[f, k] and int(key[f, k]) in upstream_of]
    return vertex, downstream, values, ends.element_dofs, n, pairs, ends.N


def sheared_wall_corners(mesh: skfem.MeshTri, flux_element: skfem.Element,
                         facets: np.ndarray, nu_cell: np.ndarray,
                         axisymmetric: bool = False, cut=None) -> sp.csr_matrix:
    r"""ν S_h at the vertices between two facets of no-slip walls that heat crosses.

    With q·t = 0 on such a wall (weakly, through the ω equation) the boundary integral
    ∮ q × ∂_t v leaves, besides terms tested against v·t alone (which shift the wall
    vorticity, the constraint's multiplier, and not q or T), the curvature term
    ∮ κ (q·n)(v·n) ds: without it the vorticity form's condition there is
    T − ν∂q_n/∂n − νκ q_n − βν∇·q = T_D, not the gradient energy's. On a polygon the
    curvature sits at the vertices, where S_h's vertex term −½([v] × {q} + [q] × {v})
    with each trace replaced by its normal part (q·t = 0 on both facets) is

    .. math::

        \tfrac12 \sin\theta_P \big((q_1\cdot n_1)(v_2\cdot n_2)
        + (q_2\cdot n_2)(v_1\cdot n_1)\big),

    θ_P the turning angle from F₁'s normal n₁ to F₂'s n₂ (n₁ × n₂ = sin θ_P); zero
    along straight walls. Measured: a Gaussian source in a disc with T and no-slip
    given on its circle converges at O(h²) in T with it and stalls at 1.1e-2 without
    (``tests/test_gk_vorticity_open.py``).

    ``axisymmetric``: on a surface of revolution the term is ∮ 2H (q·n)(v·n) dS with
    the mean curvature 2H = κ_meridian + n_r/r and dS = 2πr ds: the vertex terms
    above times 2πr_P, and on every facet the hoop part 2π ∫_F n_r (q·n)(v·n) ds
    (a cylindrical shell with T and no-slip on both mantles then meets the GK contact
    resistance, ``tests/test_gk_vorticity_axisymmetric.py``). ``cut``: a slit's sides
    are told apart at its mouth (:class:`~.vorticity_slit.SlitCut`)."""
    facets = np.asarray(facets, dtype=np.int64)
    vertex, _, values, dofs, n, pairs, n_dofs = _facet_ends(mesh, flux_element, facets, cut)
    shape = (n_dofs, n_dofs)
    hoop = _hoop_curvature(mesh, flux_element, facets, nu_cell) if axisymmetric else None
    if not pairs:
        return sp.csr_matrix(shape) if hoop is None else hoop.tocsr()
    (f1, k1), (f2, k2) = (np.array(p).T for p in zip(*pairs))
    n1, n2 = n[:, f1], n[:, f2]
    sin_turn = _cross(n1, n2)  # (np,)
    a1 = np.einsum("lip,ip->pl", values[:, :, f1, k1], n1)  # (np, nl): v·n₁ on F₁
    a2 = np.einsum("lip,ip->pl", values[:, :, f2, k2], n2)
    cells = mesh.f2t[0, facets]
    nu_p = nu_at_vertices(nu_cell, (cells[f1], cells[f2]), vertex[f1, k1])
    if axisymmetric:  # dS = 2πr ds at the vertex
        shared = np.array([np.intersect1d(mesh.facets[:, facets[a]], mesh.facets[:, facets[b]])[0]
                           for a, b in zip(f1, f2)])
        nu_p = nu_p * 2 * np.pi * mesh.p[0, shared]
    w = (0.5 * nu_p * sin_turn)[:, None, None]
    blocks = [(f2, f1, w * a2[:, :, None] * a1[:, None, :]),   # test on F₂, trial on F₁
              (f1, f2, w * a1[:, :, None] * a2[:, None, :])]
    rows, cols, data = [], [], []
    for fi, fj, block in blocks:
        rows.append(np.broadcast_to(dofs[:, fi].T[:, :, None], block.shape).ravel())
        cols.append(np.broadcast_to(dofs[:, fj].T[:, None, :], block.shape).ravel())
        data.append(block.ravel())
    out = sp.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                        shape=shape)
    return out if hoop is None else (out + hoop).tocsr()


@BilinearForm
def _hoop_form(q, v, w):
    """2π ν n_r (q·n)(v·n) on a facet (the hoop curvature n_r/r times dS = 2πr ds)."""
    qn = q.value[0] * w.n[0] + q.value[1] * w.n[1]
    vn = v.value[0] * w.n[0] + v.value[1] * w.n[1]
    return 2 * np.pi * w.nu * w.n[0] * qn * vn


def _hoop_curvature(mesh, flux_element, facets, nu_cell) -> sp.csr_matrix:
    fb = skfem.FacetBasis(mesh, flux_element, facets=facets, intorder=2)
    return _hoop_form.assemble(fb, nu=nu_cell[mesh.f2t[0, facets]][:, None] + 0.0 * fb.dx)


def _end_terms(mesh, facets, vertex, downstream, values, dofs, nu_end, sheared, shape,
               inside=None, labels=None, ends=None):
    """½ν(W(P_end) − W(P_start)) at the vertices where the open boundary meets another
    boundary: W(q, v) = (v·n_w)(q·t_w) + (q·n_w)(v·t_w) next to an impermeable facet
    (exact q·n_w = 0, so W = v × q), −(v·t_w)(q·n_w) − (q·t_w)(v·n_w) next to a
    ``sheared`` one (q·t_w = 0), with n_w × t_w = 1 the neighbour's frame, ν
    ``nu_end`` (nf, 2) at each end of each facet; the
    neighbours are boundary facets of the region ``inside`` (a mask over the cells)
    where it is given; ``labels`` (default ``vertex``) tell the ends apart (the two sides
    of a slit). ``ends`` = (list, {facet: wall name}): where the neighbour is a
    tangential-flux wall, W's data part −(q·t_w)(v·n_w) with q·t_w = g is off the exact
    v × q by 2g(v·n_w); its correction (dofs, ±ν(v_i·n_w), P, n_w, wall) is appended
    to the list (:func:`tangential_data_load`)."""
    labels = vertex if labels is None else labels
    count = np.bincount(labels.ravel())
    f_idx, k_idx = np.nonzero(count[labels] == 1)
    if f_idx.size == 0:
        return sp.csr_matrix(shape)
    open_set = set(int(f) for f in facets)
    boundary = mesh.boundary_facets()
    if inside is not None:
        boundary = boundary[inside[mesh.f2t[0, boundary]]]
    others = boundary[[int(f) not in open_set for f in boundary]]
    neighbour = {}
    for g in others:
        for v in mesh.facets[:, g]:
            neighbour.setdefault(int(v), int(g))
    sheared = set(int(g) for g in sheared)
    rows, cols, data = [], [], []
    for f, k in zip(f_idx, k_idx):
        g = neighbour.get(int(vertex[f, k]))
        if g is None:
            continue
        a, b = mesh.p[:, mesh.facets[0, g]], mesh.p[:, mesh.facets[1, g]]
        tw = (b - a) / np.linalg.norm(b - a)
        nw = np.array([tw[1], -tw[0]])
        inside = mesh.p[:, mesh.t[:, mesh.f2t[0, g]]].mean(axis=1)
        if np.dot(nw, 0.5 * (a + b) - inside) < 0:  # outward
            nw = -nw
        tw = np.array([-nw[1], nw[0]])
        u = values[:, :, f, k]  # (nl, 2) traces at P from the open facet's cell
        un, ut = u @ nw, u @ tw
        W = np.outer(un, ut) + np.outer(ut, un)  # W[i, j]: test i, trial j
        if g in sheared:
            W = -W
        sign = 0.5 if downstream[f, k] else -0.5
        if ends is not None and g in ends[1]:
            ends[0].append((dofs[:, f].copy(), (2 * sign * nu_end[f, k] * un)[:, None],
                            mesh.p[:, [vertex[f, k]]], tw, nw, ends[1][g]))
        rows.append(np.repeat(dofs[:, f], dofs.shape[0]))
        cols.append(np.tile(dofs[:, f], dofs.shape[0]))
        data.append((sign * nu_end[f, k] * W).ravel())
    if not data:
        return sp.csr_matrix(shape)
    return sp.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                         shape=shape)
