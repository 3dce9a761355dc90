r"""Boundaries that heat crosses in the 3D vorticity form: the gradient energy's model.

The 3D analogue of :mod:`.vorticity_open`. For q, v ∈ H¹ (Cartesian indices, summed)

.. math::

    (\nabla q, \nabla v) = (\nabla\cdot q, \nabla\cdot v) + (\nabla\times q,
    \nabla\times v) + \oint_{\partial\Omega} B(q, v)\,\mathrm{d}S, \qquad
    B(q, v) = n_j q_i \partial_i v_j - (q\cdot n)\,\nabla\cdot v,

the divergence of (q·∇)v − q ∇·v. B holds tangential derivatives only: B = Σ_j a_j(q)·∇v_j
with a_j(q) = n_j q − (q·n) e_j, and a_j(q)·n = 0. On a flat face B = q_τ·∇_Γ v_n −
q_n ∇_Γ·v_τ. On boundaries that heat crosses (no wall condition, :func:`open_faces`) the
form restores the gradient energy's model, as in 2D:

* ω is free on the open faces and the ω equation takes the boundary trace back,
  (ν⁻¹ω, φ) = (q, ∇×φ) + ⟨n × q, φ⟩_open, so that ω = ν∇×q inside the domain
  (:func:`tangential_trace`);
* the flux block gains ν S_h, the boundary integral in a symmetric form consistent for
  fluxes whose traces jump across the edges between boundary faces
  (:func:`boundary_rotation_form`).

Integrating B by parts on a face F with outward conormal m on ∂F and τ its boundary's
tangent (counter-clockwise about n, m = τ × n) gives ∫_F B(q, v) = ∫_F B(v, q) −
∮_∂F (q × v)·τ. For the exact flux q the discrete form must be Σ_F ∫_F B(v, q) (the
derivatives on q; that is what makes it consistent with −ν∇²q and the natural
condition T − ν∂q_n/∂n − βν∇·q = T_D, ν∂q_τ/∂n = 0). So

.. math::

    S_h(q, v) = \sum_F \int_F \tfrac12\big(B(q, v) + B(v, q)\big)
    + \sum_e \int_e \tfrac12\big(\{q\}\times[v] + \{v\}\times[q]\big)\cdot\tau_1
    + \sum_{e \in \mathrm{rim}} \int_e \tfrac12 W(q, v),

the middle sum over the edges shared by two open faces F₁, F₂ ([u] = u₁ − u₂, {u} the
mean, the traces from each face's cell, τ₁ F₁'s tangent), the last over the rim edges
where an open face meets another boundary face with outward normal n_w, b = τ × n_w:
W = −(q·b)(v·n_w) − (v·b)(q·n_w) where that face holds q·n_w = 0, W = (q·n_w)(v·b) +
(v·n_w)(q·b) on a no-slip wall that heat crosses (q·τ = q·b = 0). For the exact flux
each W is (q × v)·τ. Cartesian components: edges where open faces meet at an angle
need nothing else.

The same terms act on a viscosity level's interface to smaller ν (oriented interior
faces, traces from the level's side, :mod:`.vorticity_levels`), whose rim edges meet
the region's walls. Measured: ``tests/test_gk_vorticity_open3d.py`` and
``tests/test_gk_vorticity_layers3d.py`` (see their docstrings).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem
from skfem import BilinearForm
from skfem.helpers import dot, mul

__all__ = ["tangential_trace", "trace_form", "boundary_rotation_form", "sheared_wall_edges"]


@BilinearForm
def trace_form(q, phi, w):
    """⟨n × q, φ⟩ for a flux q (trial) and a Nédélec field φ (test)."""
    n, u = w.n, q.value
    cross = np.array([n[1] * u[2] - n[2] * u[1], n[2] * u[0] - n[0] * u[2],
                      n[0] * u[1] - n[1] * u[0]])
    return dot(cross, phi.value)


def _b(q, v, n):
    """B(q, v) = n_j q_i ∂_i v_j − (q·n) ∇·v (module doc)."""
    grad_v = v.grad
    return dot(n, mul(grad_v, q.value)) - dot(q.value, n) * (grad_v[0, 0] + grad_v[1, 1]
                                                           + grad_v[2, 2])


@BilinearForm
def _face_form(q, v, w):
    """ν ½(B(q, v) + B(v, q)) on a boundary face."""
    return 0.5 * w.nu * (_b(q, v, w.n) + _b(v, q, w.n))


def tangential_trace(mesh: skfem.MeshTet, flux_element: skfem.Element,
                     vorticity_element: skfem.Element, facets: np.ndarray,
                     intorder: int, cut=None) -> sp.csr_matrix:
    """The matrix ⟨n × q, φ_i⟩ over ``facets`` (rows: vorticity DOFs, columns: flux
    DOFs), added to the weak curl C of open boundaries; ``cut``: the vorticity space
    cut along a slit (:class:`~.vorticity_slit.SlitCut`)."""
    fq = skfem.FacetBasis(mesh, flux_element, facets=facets, intorder=intorder)
    fw = skfem.FacetBasis(mesh, vorticity_element, facets=facets, intorder=intorder)
    if cut is not None:
        fw = cut.cut(fw)
    return trace_form.assemble(fq, fw).tocsr()


def _edge_traces(mesh: skfem.MeshTet, flux_element: skfem.Element, facets: np.ndarray,
                 points: int):
    """The flux traces on the three edges of each of ``facets`` from the facet's cell.

    Returns (edges (nf, 3, 2) the global vertices of each edge, sorted; s (nq,) the
    Gauss points on [0, 1] from the lower vertex to the higher; values (nl, 3, nf, 3,
    nq) the local basis traces (component, facet, edge, point), dofs (nl, nf), n (3, nf)
    the outward normals, tau (3, nf, 3) each edge's tangent counter-clockwise about n,
    length (nf, 3), and the number of flux DOFs)."""
    g, gw = np.polynomial.legendre.leggauss(points)
    s = 0.5 * (g + 1.0)
    corners = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # reference facet vertices
    local = [(0, 1), (1, 2), (2, 0)]
    X = np.concatenate([corners[:, [a]] + s[None, :] * (corners[:, [b]] - corners[:, [a]])
                        for a, b in local] + [corners], axis=1)
    fb = skfem.FacetBasis(mesh, flux_element, facets=facets,
                          quadrature=(X, np.full(X.shape[1], 1.0 / X.shape[1])))
    x = fb.global_coordinates().value  # (3, nf, 3 nq + 3)
    nq = points
    # which mesh vertex each reference corner landed on
    fv = mesh.facets[:, facets]  # (3, nf)
    at = x[:, :, 3 * nq:]  # (3, nf, 3)
    dist = np.linalg.norm(at[:, :, :, None] - mesh.p[:, fv].transpose(0, 2, 1)[:, :, None, :],
                          axis=0)  # (nf, corner, vertex)
    corner_vertex = np.take_along_axis(fv.T, dist.argmin(axis=2), axis=1)  # (nf, 3)
    values = np.stack([fb.basis[i][0].value[:, :, :3 * nq] for i in range(fb.Nbfun)])
    values = values.reshape(values.shape[0], 3, len(facets), 3, nq)
    n = fb.normals[:, :, 0]
    centroid = mesh.p[:, fv].mean(axis=1)  # (3, nf)
    edges = np.empty((len(facets), 3, 2), dtype=np.int64)
    tau = np.empty((3, len(facets), 3))
    length = np.empty((len(facets), 3))
    for k, (a, b) in enumerate(local):
        va, vb = corner_vertex[:, a], corner_vertex[:, b]
        lo, hi = np.minimum(va, vb), np.maximum(va, vb)
        edges[:, k] = np.stack([lo, hi], axis=1)
        d = mesh.p[:, hi] - mesh.p[:, lo]
        length[:, k] = np.linalg.norm(d, axis=0)
        d = d / length[:, k]
        m = np.cross(d.T, n.T).T  # d × n
        outward = np.einsum("if,if->f", m, 0.5 * (mesh.p[:, lo] + mesh.p[:, hi]) - centroid)
        tau[:, :, k] = np.where(outward > 0, 1.0, -1.0) * d
        # the points run from corner a to b: reverse where a is the higher vertex
        flip = va > vb
        values[:, :, flip, k, :] = values[:, :, flip, k, ::-1]
    return edges, s, gw * 0.5, values, fb.element_dofs, n, tau, length, fb.N


def _cross(a, b):
    """a × b over the first axis."""
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def _nu_on_edges(nu, cells: tuple, edges: np.ndarray, s: np.ndarray) -> np.ndarray:
    """ν (ne, nq) at the points ``s`` of ``edges`` (ne, 2): the mean of the cell means
    ``nu`` of ``cells``, or ν itself along the edge where ``nu`` is a
    :class:`~.vorticity_graded.GradedViscosity`."""
    if not isinstance(nu, np.ndarray):
        return nu.on_edges(edges, s, cells[0])
    return np.broadcast_to((sum(nu[c] for c in cells) / len(cells))[:, None],
                           (len(edges), len(s)))


def nu_on_facets(nu, cells, fb):
    """:func:`.vorticity_open.nu_on_facets` (imported here: that module imports this)."""
    from .vorticity_open import nu_on_facets as on_facets

    return on_facets(nu, cells, fb)


def _inner_cells(mesh: skfem.Mesh, facets) -> np.ndarray:
    """:func:`.vorticity_open.inner_cells` (imported here: that module imports this)."""
    from .vorticity_open import inner_cells

    return inner_cells(mesh, facets)


def _edge_keys(mesh: skfem.MeshTet, edges: np.ndarray, cells: np.ndarray, cut=None
               ) -> np.ndarray:
    """A key per face edge (``edges`` (nf, 3, 2), sorted vertex pairs, of faces whose
    traces come from ``cells``): the vertex pair, or where ``cut`` (a
    :class:`~.vorticity_slit.SlitCut`) is given the edge's label on that side of the
    slit."""
    n = mesh.p.shape[1]
    key = edges[:, :, 0] * n + edges[:, :, 1]
    if cut is None:
        return key
    known = mesh.edges[0] * n + mesh.edges[1]  # scikit-fem sorts each edge's vertices
    order = np.argsort(known)
    index = order[np.searchsorted(known[order], key)]
    return cut.label_of(np.asarray(cells)[:, None], index)


def _edge_pairs(key: np.ndarray):
    """((f₁, k₁, f₂, k₂), (f, k)) from the faces' edge keys (nf, 3; :func:`_edge_keys`):
    the edges shared by two of the faces (face and local edge on each side) and those
    of one face only (the rim)."""
    key = np.asarray(key).ravel()
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    starts = np.nonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))[0]
    counts = np.diff(np.append(starts, sorted_keys.size))
    pair = starts[counts == 2]
    f1, k1 = np.divmod(order[pair], 3)
    f2, k2 = np.divmod(order[pair + 1], 3)
    return (f1, k1, f2, k2), np.divmod(order[starts[counts == 1]], 3)


def _assembled(dofs: np.ndarray, blocks, shape: tuple[int, int]) -> sp.csr_matrix:
    """The sum of ``blocks`` [(f_a, f_b, block (ne, nl, nl))], each block's rows the
    DOFs of face f_a's cell (test), its columns those of f_b's (trial)."""
    rows, cols, data = [], [], []
    for f_a, f_b, block in blocks:
        rows.append(np.broadcast_to(dofs[:, f_a].T[:, :, None], block.shape).ravel())
        cols.append(np.broadcast_to(dofs[:, f_b].T[:, None, :], block.shape).ravel())
        data.append(block.ravel())
    if not data:
        return sp.csr_matrix(shape)
    return sp.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                         shape=shape)


def boundary_rotation_form(mesh: skfem.MeshTet, flux_element: skfem.Element,
                           facets: np.ndarray, nu_cell: np.ndarray, intorder: int,
                           sheared: np.ndarray = np.zeros(0, dtype=np.int64),
                           inside: np.ndarray | None = None, cut=None,
                           ends: tuple | None = None) -> sp.csr_matrix:
    """−ν S_h(q, v) over the open boundary ``facets`` (module doc; the sign of
    :func:`.vorticity_open.boundary_rotation_form`: the form the flux block loses), ν the
    cell mean ``nu_cell`` of each face's cell (the mean of the two at an edge), or
    pointwise where ``nu_cell`` is a :class:`~.vorticity_graded.GradedViscosity`. A rim
    edge's other face holds q·n_w = 0, or q·τ = q·b = 0 if it is in ``sheared`` (a
    no-slip wall that heat crosses). ``facets`` may be oriented (interior facets of a
    viscosity level's region, :mod:`.vorticity_levels`: traces and normals from the side
    the orientation names), and ``inside`` (a mask over the cells) limits the rim
    edges' other faces to the boundary faces of that region; ``cut`` (a
    :class:`~.vorticity_slit.SlitCut`) tells a slit's sides apart at its edges.
    ``ends`` = (list, {facet: wall name}): where the rim edge's other face is a
    tangential-flux wall that heat crosses, W's data part (v·n_w)(q·b) with q·b = g·b
    is off the exact (q × v)·τ by 2(g·b)(v·n_w); the correction's data (the open face's
    DOFs, ν(v_i·n_w) times the edge weights (nl, nq), the points (3, nq), b, the wall)
    are appended to the list (:func:`.vorticity_crossed_walls.tangential_data_load`)."""
    cells = _inner_cells(mesh, facets)
    fb = skfem.FacetBasis(mesh, flux_element, facets=facets, intorder=intorder)
    if fb.basis[0][0].grad is None:
        raise TypeError(f"{type(flux_element).__name__} has no gradient")
    S = -_face_form.assemble(fb, nu=nu_on_facets(nu_cell, cells, fb))
    # 3 Gauss points: exact for the products of BDM2 traces on an edge
    edges, s, gw, values, dofs, _, tau, length, _ = _edge_traces(mesh, flux_element, facets,
                                                                3)
    nl = values.shape[0]
    (f1, k1, f2, k2), (f, k) = _edge_pairs(_edge_keys(mesh, edges, cells, cut))
    blocks = []
    # edges shared by two open faces: ½({q} × [v] + {v} × [q])·τ₁
    if f1.size:
        u1 = values[:, :, f1, k1, :]  # (nl, 3, ne, nq)
        u2 = values[:, :, f2, k2, :]
        t1 = tau[:, f1, k1][:, :, None]  # (3, ne, 1)
        weight = gw[None, :] * length[f1, k1][:, None]  # (ne, nq)
        weight = weight * _nu_on_edges(nu_cell, (cells[f1], cells[f2]), edges[f1, k1], s)
        # stacked DOFs (F1's, then F2's): mean ½u, jump u₁ or −u₂
        mean = 0.5 * np.concatenate([u1, u2])
        jump = np.concatenate([u1, -u2])
        # X[a, b] = ½ ∫ (mean_b × jump_a + mean_a × jump_b)·τ₁ (test a, trial b),
        # (mean_b × jump_a)·τ = jump_a · (τ × mean_b)
        t_cross_mean = _cross(np.broadcast_to(t1, (3,) + mean.shape[2:])[:, None],
                              mean.transpose(1, 0, 2, 3))  # (3, 2nl, ne, nq)
        m_ab = np.einsum("aien,iben,en->eab", jump, t_cross_mean, weight)
        block = 0.5 * (m_ab + np.swapaxes(m_ab, 1, 2))
        stacked_f = [f1, f2]
        blocks += [(stacked_f[ia], stacked_f[ib],
                    -block[:, ia * nl:(ia + 1) * nl, ib * nl:(ib + 1) * nl])
                   for ia in range(2) for ib in range(2)]

    # rim edges: ½ W(q, v) with the other boundary face's normal
    if f.size:
        wall_normal, is_sheared, wall_face = _rim_neighbours(
            mesh, np.asarray(facets, dtype=np.int64), edges[f, k], sheared, inside)
        known = ~np.isnan(wall_normal[0])
        f, k, wall_normal, is_sheared, wall_face = f[known], k[known], wall_normal[:, known], \
            is_sheared[known], wall_face[known]
        if f.size:
            u = values[:, :, f, k, :]  # (nl, 3, ne, nq)
            t = tau[:, f, k]
            b = _cross(t, wall_normal)  # (3, ne)
            un = np.einsum("lien,ie->len", u, wall_normal)
            ub = np.einsum("lien,ie->len", u, b)
            weight = gw[None, :] * length[f, k][:, None] \
                * _nu_on_edges(nu_cell, (cells[f],), edges[f, k], s)
            # impermeable: W = −(q·b)(v·n_w) − (v·b)(q·n_w); sheared: the opposite sign
            W = -(np.einsum("aen,ben,en->eab", un, ub, weight)
                  + np.einsum("aen,ben,en->eab", ub, un, weight))
            W = np.where(is_sheared[:, None, None], -W, W)
            blocks.append((f, f, -0.5 * W))
            if ends is not None:
                lo, hi = mesh.p[:, edges[f, k, 0]], mesh.p[:, edges[f, k, 1]]
                for e in np.nonzero([int(g) in ends[1] for g in wall_face])[0]:
                    x = lo[:, [e]] + s[None, :] * (hi - lo)[:, [e]]
                    ends[0].append((dofs[:, f[e]].copy(), un[:, e, :] * weight[e][None, :],
                                    x, b[:, e], wall_normal[:, e], ends[1][int(wall_face[e])]))
    return (S + _assembled(dofs, blocks, S.shape)).tocsr()


def _rim_neighbours(mesh: skfem.MeshTet, facets: np.ndarray, edges: np.ndarray,
                    sheared: np.ndarray, inside: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rim ``edges`` (ne, 2) of the open ``facets``: the outward normal of the other
    boundary face at each (3, ne; NaN where there is none), whether that face is in
    ``sheared``, and the face (−1 where none); the boundary faces of the region
    ``inside`` (a mask over the cells) where it is given."""
    open_set = set(facets.tolist())
    boundary = mesh.boundary_facets()
    if inside is not None:
        boundary = boundary[inside[mesh.f2t[0, boundary]]]
    others = boundary[[int(g) not in open_set for g in boundary]]
    owner = {}
    for g in others:
        a, b, c = sorted(int(v) for v in mesh.facets[:, g])
        for e in ((a, b), (b, c), (a, c)):
            owner.setdefault(e, int(g))
    sheared_set = set(np.asarray(sheared).tolist())
    normal = np.full((3, len(edges)), np.nan)
    flag = np.zeros(len(edges), dtype=bool)
    face = np.full(len(edges), -1, dtype=np.int64)
    for i, (a, b) in enumerate(edges):
        g = owner.get((int(a), int(b)))
        if g is None:
            continue
        p = mesh.p[:, mesh.facets[:, g]]
        nw = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        nw /= np.linalg.norm(nw)
        inside = mesh.p[:, mesh.t[:, mesh.f2t[0, g]]].mean(axis=1)
        if np.dot(nw, p.mean(axis=1) - inside) < 0:
            nw = -nw
        normal[:, i] = nw
        flag[i] = g in sheared_set
        face[i] = g
    return normal, flag, face


def sheared_wall_edges(mesh: skfem.MeshTet, flux_element: skfem.Element,
                       facets: np.ndarray, nu_cell: np.ndarray, cut=None) -> sp.csr_matrix:
    r"""−ν S_h on the edges between two faces of no-slip walls that heat crosses.

    With q·τ = 0 on such a wall (weakly, through the ω equation) the boundary integral
    leaves, besides terms tested against tangential v alone (which shift the wall
    vorticity, the constraint's multiplier, and not q or T), its curvature part: on a
    smooth wall ∮ 2H (q·n)(v·n) dS, 2H the mean curvature; without it the condition
    there is T − ν∂q_n/∂n − 2Hν q_n − βν∇·q = T_D, not the gradient energy's. On faceted
    walls it sits on the edges, where S_h's edge term with each trace replaced by its
    normal part (q_i = a_i n_i, v_i = b_i n_i on F_i) is

    .. math::

        -\tfrac12 \int_e (a_1 b_2 + a_2 b_1)\,(n_1\times n_2)\cdot\tau_1\,\mathrm{d}l,

    zero between coplanar faces (the 2D analogue: :func:`.vorticity_open.sheared_wall_corners`).
    Returned with the sign of :func:`boundary_rotation_form` (the form the flux block
    loses)."""
    edges, s, gw, values, dofs, n, tau, length, n_dofs = _edge_traces(mesh, flux_element,
                                                                     facets, 3)
    (f1, k1, f2, k2), _ = _edge_pairs(_edge_keys(mesh, edges, _inner_cells(mesh, facets), cut))
    if not f1.size:
        return sp.csr_matrix((n_dofs, n_dofs))
    n1, n2 = n[:, f1], n[:, f2]
    turn = np.einsum("ie,ie->e", _cross(n1, n2), tau[:, f1, k1])  # (n₁ × n₂)·τ₁
    a1 = np.einsum("lien,ie->len", values[:, :, f1, k1, :], n1)  # (nl, ne, nq)
    a2 = np.einsum("lien,ie->len", values[:, :, f2, k2, :], n2)
    cells = _inner_cells(mesh, facets)
    nu_e = _nu_on_edges(nu_cell, (cells[f1], cells[f2]), edges[f1, k1], s)  # (ne, nq)
    weight = (gw[None, :] * length[f1, k1][:, None]) * nu_e * (0.5 * turn)[:, None]
    return _assembled(dofs, [(f2, f1, np.einsum("aen,ben,en->eab", a2, a1, weight)),
                             (f1, f2, np.einsum("aen,ben,en->eab", a1, a2, weight))],
                      (n_dofs, n_dofs))
