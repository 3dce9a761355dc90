r"""Slits in the vorticity form: a vorticity cut along a free Kapitza interface that
ends inside a viscous region.

A Kapitza interface declared ``tangential = "free"`` leaves each side's tangential
flux free: the gradient energy (:mod:`femheat.assembly.gk`, whose penalty form drops
its facet terms there) holds no tangential condition across it, so it is an open
boundary of each side (ν∂q_t/∂n = 0 on both, q·n continuous, T jumping by R q·n).
Where such an interface cuts the viscous cells apart, each part gets its own
vorticity (:mod:`.vorticity_levels`). Where it ends inside them (a slit, a crack), one
vorticity on the region cannot take two values along it; until 2026-12-07 it was held
at ω = 0 there, another model, and ``"auto"`` kept the penalty form.

Here the vorticity space is cut instead: its DOFs on the slit get a second copy,
taken by the cells of one side, so ω is continuous everywhere but across the slit and
single-valued where it ends inside the region. In 2D (:class:`SlitCut`, continuous P2
/ P3) the copies are those of the slit's vertices but the tips and of the slit
facets' edge DOFs; in 3D (:class:`SlitCut3D`, first-kind Nédélec, no vertex DOFs)
those of the slit's edges but the front and of its faces. The slit's facets, oriented
out of each side, are then open boundaries of the cracked region: each side's ω
equation takes that side's trace (⟨q·t, φ⟩, ⟨n × q, φ⟩) and the flux block the
boundary form of :mod:`.vorticity_open` / :mod:`.vorticity_open3d`, whose vertex
(edge) terms pair the facet ends (edges) of one side, the cut's copies telling the
sides apart, and at a tip (the front) the last facet of one side with the first of
the other, where the boundary folds back.

One viscosity level (one ν on every cell, constant κ and l, Cartesian); elsewhere
slits keep ω = 0 and ``"auto"`` the penalty form. Measured:
``tests/test_gk_vorticity_slit.py``.
"""

from __future__ import annotations

import numpy as np
import skfem
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .vorticity_levels import _distinct, _free_facets, _material_nu, _piecewise

__all__ = ["SlitCut", "facet_dofs", "slit_cut", "slit_obstacle"]


class SlitCut:
    """The cut of a 2D mesh's scalar vorticity space along the ``slit`` facets (interior
    facets): which cells take a second copy of each slit vertex (all but the tips, the
    vertices of one slit facet that lie inside the mesh) and of each slit facet (its
    side-1 cell). Raises ValueError where the slit branches (a vertex of more than two
    slit facets) or a slit vertex's cells do not fall in two sides."""

    def __init__(self, mesh: skfem.MeshTri, slit: np.ndarray):
        self.mesh = mesh
        self.slit = np.unique(np.asarray(slit, dtype=np.int64))
        facets = mesh.facets[:, self.slit]
        count = np.bincount(facets.ravel(), minlength=mesh.p.shape[1])
        if np.any(count > 2):
            raise ValueError("a free interface branches inside a viscous region (a vertex "
                             f"of {int(count.max())} of its facets)")
        on_boundary = np.zeros(mesh.p.shape[1], dtype=bool)
        on_boundary[mesh.facets[:, mesh.boundary_facets()]] = True
        vertices = np.nonzero(count > 0)[0]
        cut = vertices[(count[vertices] == 2) | on_boundary[vertices]]
        self.tips = vertices[(count[vertices] == 1) & ~on_boundary[vertices]]
        # the cells of each cut vertex that take its copy: the side without the
        # vertex's first cell, joined across the facets at the vertex but the slit's
        self.vertex_copy: dict[tuple[int, int], int] = {}
        slit_set = set(self.slit.tolist())
        t2f = mesh.t2f
        n_vertices = mesh.p.shape[1]
        n_cells = mesh.t.shape[1]
        v2t = coo_matrix((np.ones(mesh.t.size), (mesh.t.ravel(),
                                                  np.tile(np.arange(n_cells), mesh.t.shape[0]))),
                         shape=(n_vertices, n_cells)).tocsr()
        for k, v in enumerate(cut):
            cells = v2t.indices[v2t.indptr[v]:v2t.indptr[v + 1]]
            side = _sides(cells, t2f, slit_set)
            if side is None:
                raise ValueError(f"the cells at vertex {np.round(mesh.p[:, v], 6).tolist()} "
                                 "do not fall in two sides of the slit")
            for c in cells[side != side[0]]:
                self.vertex_copy[(int(c), int(v))] = n_vertices + k
        self.n_copies = len(cut)
        self.cut_vertices = cut

    def vertex_of(self, cells: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        """The vertex labels of ``vertices`` seen from ``cells`` (broadcast): the copy's
        label (≥ the number of mesh vertices) where the cell takes it."""
        cells, vertices = np.broadcast_arrays(np.asarray(cells), np.asarray(vertices))
        out = vertices.copy()
        for idx in zip(*np.nonzero(np.isin(vertices, self.cut_vertices))):
            out[idx] = self.vertex_copy.get((int(cells[idx]), int(vertices[idx])),
                                            int(vertices[idx]))
        return out

    def cut(self, basis: skfem.AbstractBasis) -> skfem.AbstractBasis:
        """``basis`` (a cell or facet basis of the vorticity element on the mesh) with
        its DOFs renumbered on the cut space: the copies of the slit vertices' nodal DOFs
        and of the slit facets' edge DOFs follow the original ones (``basis.N`` grows)."""
        nodal, edge = basis.dofs.nodal_dofs, basis.dofs.facet_dofs
        new_vertex, new_edge, n_total = self._numbering(basis)
        cells = (np.arange(basis.element_dofs.shape[1]) if basis.tind is None
                 else np.asarray(basis.tind))
        side1 = self.mesh.f2t[1, self.slit]
        moves = [(c, nodal[:, v], new_vertex[v]) for (c, v) in self.vertex_copy]
        if edge.size:
            moves += [(int(c), edge[:, f], new_edge[int(f)]) for f, c in zip(self.slit, side1)]
        return _renumber(basis, cells, moves, n_total)

    def _numbering(self, basis: skfem.AbstractBasis) -> tuple[dict, dict, int]:
        """(the copies of each cut vertex's nodal DOFs, of each slit facet's edge DOFs,
        the cut space's size): the copies follow the original DOFs, vertices first."""
        dofs = basis.dofs
        N, n_nodal = int(dofs.N), dofs.nodal_dofs.shape[0]
        n_edge = dofs.facet_dofs.shape[0] if dofs.facet_dofs.size else 0
        new_vertex = {int(v): N + n_nodal * k + np.arange(n_nodal)
                      for k, v in enumerate(self.cut_vertices)}
        base = N + n_nodal * self.n_copies
        new_edge = {int(f): base + n_edge * k + np.arange(n_edge)
                    for k, f in enumerate(self.slit)}
        return new_vertex, new_edge, base + n_edge * len(self.slit)

    def boundary_dofs(self, basis: skfem.CellBasis, facets: np.ndarray) -> np.ndarray:
        """The cut space's DOFs on boundary ``facets``, seen from each facet's cell (its
        vertices' nodal DOFs, their copies where the cell takes them, and its edge
        DOFs)."""
        new_vertex, _, _ = self._numbering(basis)
        nodal, edge = basis.dofs.nodal_dofs, basis.dofs.facet_dofs
        out = [np.zeros(0, dtype=np.int64)]
        for g in np.asarray(facets, dtype=np.int64):
            c = int(self.mesh.f2t[0, g])
            for v in self.mesh.facets[:, g]:
                v = int(v)
                out.append(new_vertex[v] if (c, v) in self.vertex_copy else nodal[:, v])
            if edge.size:
                out.append(edge[:, g])
        return np.unique(np.concatenate(out))


class SlitCut3D:
    """The cut of a tetrahedral mesh's Nédélec vorticity space along the ``slit`` faces
    (interior facets): which cells take a second copy of each slit edge's DOFs (all but
    the front, the edges of one slit face inside the mesh) and of each slit face's DOFs
    (its side-1 cell). Raises ValueError where the slit branches (an edge of more than
    two slit faces) or a slit edge's cells do not fall in two sides."""

    def __init__(self, mesh: skfem.MeshTet, slit: np.ndarray):
        self.mesh = mesh
        self.slit = np.unique(np.asarray(slit, dtype=np.int64))
        edges = mesh.f2e[:, self.slit]
        count = np.bincount(edges.ravel(), minlength=mesh.edges.shape[1])
        if np.any(count > 2):
            raise ValueError("a free interface branches inside a viscous region (an edge "
                             f"of {int(count.max())} of its faces)")
        on_boundary = np.zeros(mesh.edges.shape[1], dtype=bool)
        on_boundary[mesh.f2e[:, mesh.boundary_facets()]] = True
        candidates = np.nonzero(count > 0)[0]
        cut = candidates[(count[candidates] == 2) | on_boundary[candidates]]
        self.front = candidates[(count[candidates] == 1) & ~on_boundary[candidates]]
        self.edge_copy: dict[tuple[int, int], int] = {}
        slit_set = set(self.slit.tolist())
        t2f = mesh.t2f
        n_edges, n_cells = mesh.edges.shape[1], mesh.t.shape[1]
        e2t = coo_matrix((np.ones(mesh.t2e.size), (mesh.t2e.ravel(),
                                                   np.tile(np.arange(n_cells), 6))),
                         shape=(n_edges, n_cells)).tocsr()
        for k, e in enumerate(cut):
            cells = e2t.indices[e2t.indptr[e]:e2t.indptr[e + 1]]
            side = _sides(cells, t2f, slit_set)
            if side is None:
                raise ValueError("the cells at the edge near "
                                 f"{np.round(mesh.p[:, mesh.edges[:, e]].mean(axis=1), 6).tolist()}"
                                 " do not fall in two sides of the slit")
            for c in cells[side != side[0]]:
                self.edge_copy[(int(c), int(e))] = n_edges + k
        self.cut_edges = cut
        self.n_copies = len(cut)

    def edge_of(self, cells: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """The labels of mesh ``edges`` seen from ``cells`` (broadcast): the copy's
        label (≥ the number of mesh edges) where the cell takes it."""
        cells, edges = np.broadcast_arrays(np.asarray(cells), np.asarray(edges))
        out = edges.copy()
        for idx in zip(*np.nonzero(np.isin(edges, self.cut_edges))):
            out[idx] = self.edge_copy.get((int(cells[idx]), int(edges[idx])), int(edges[idx]))
        return out

    def _numbering(self, basis: skfem.AbstractBasis) -> tuple[dict, dict, int]:
        dofs = basis.dofs
        N, n_edge, n_face = int(dofs.N), dofs.edge_dofs.shape[0], dofs.facet_dofs.shape[0]
        new_edge = {int(e): N + n_edge * k + np.arange(n_edge)
                    for k, e in enumerate(self.cut_edges)}
        base = N + n_edge * self.n_copies
        new_face = {int(f): base + n_face * k + np.arange(n_face)
                    for k, f in enumerate(self.slit)}
        return new_edge, new_face, base + n_face * len(self.slit)

    def cut(self, basis: skfem.AbstractBasis) -> skfem.AbstractBasis:
        """``basis`` (a cell or facet basis of the Nédélec element on the mesh) on the cut
        space (:meth:`SlitCut.cut`)."""
        edge, face = basis.dofs.edge_dofs, basis.dofs.facet_dofs
        new_edge, new_face, n_total = self._numbering(basis)
        cells = (np.arange(basis.element_dofs.shape[1]) if basis.tind is None
                 else np.asarray(basis.tind))
        side1 = self.mesh.f2t[1, self.slit]
        moves = [(c, edge[:, e], new_edge[e]) for (c, e) in self.edge_copy]
        moves += [(int(c), face[:, f], new_face[int(f)]) for f, c in zip(self.slit, side1)]
        return _renumber(basis, cells, moves, n_total)

    def boundary_dofs(self, basis: skfem.CellBasis, facets: np.ndarray) -> np.ndarray:
        """The cut space's DOFs on boundary ``facets``, seen from each facet's cell."""
        new_edge, _, _ = self._numbering(basis)
        edge, face = basis.dofs.edge_dofs, basis.dofs.facet_dofs
        out = [np.zeros(0, dtype=np.int64)]
        for g in np.asarray(facets, dtype=np.int64):
            c = int(self.mesh.f2t[0, g])
            for e in self.mesh.f2e[:, g]:
                e = int(e)
                out.append(new_edge[e] if (c, e) in self.edge_copy else edge[:, e])
            out.append(face[:, g])
        return np.unique(np.concatenate(out))


def _sides(cells: np.ndarray, t2f: np.ndarray, slit: set) -> np.ndarray | None:
    """A side label per cell of ``cells`` (those around a slit vertex or edge): cells
    sharing a facet that is not in ``slit`` are on one side; None unless two sides."""
    pairs = []
    for a in range(len(cells)):
        for b in range(a + 1, len(cells)):
            shared = set(t2f[:, cells[a]].tolist()) & set(t2f[:, cells[b]].tolist())
            if shared and not shared & slit:
                pairs.append((a, b))
    graph = coo_matrix((np.ones(len(pairs)), tuple(np.array(pairs).T.reshape(2, -1))),
                       shape=(len(cells), len(cells)))
    n_sides, side = connected_components(graph, directed=False)
    return side if n_sides == 2 else None


def _renumber(basis, cells: np.ndarray, moves, n_total: int):
    """``basis`` with the global DOFs ``old`` of each cell ``c`` in ``moves`` [(c, old,
    new)] replaced by ``new``, on a space of ``n_total`` DOFs."""
    element_dofs = basis.element_dofs.copy()
    touched = {int(c) for c, _, _ in moves}
    columns: dict[int, list[int]] = {}
    for e in np.nonzero(np.isin(cells, list(touched)))[0]:
        columns.setdefault(int(cells[e]), []).append(int(e))
    for c, old, new in moves:
        for e in columns.get(int(c), ()):
            for g, h in zip(old, new):
                element_dofs[element_dofs[:, e] == g, e] = h
    basis._element_dofs = element_dofs  # scikit-fem's cache of the property
    basis.__class__ = _cut_class(type(basis))
    basis._cut_n = n_total
    return basis


_CUT_CLASSES: dict[type, type] = {}


def _cut_class(cls: type) -> type:
    """``cls`` (a scikit-fem basis class) with ``N`` the cut space's size."""
    if getattr(cls, "_is_cut", False):
        return cls
    if cls not in _CUT_CLASSES:
        _CUT_CLASSES[cls] = type(f"Cut{cls.__name__}", (cls,), {
            "_is_cut": True, "N": property(lambda self: self._cut_n)})
    return _CUT_CLASSES[cls]


def slit_cut(problem) -> SlitCut | SlitCut3D | None:
    """The cut of ``problem``'s single vorticity along its free Kapitza interfaces where
    it applies (:func:`slit_obstacle` finds nothing against it), else None."""
    if not _free_facets(problem).size or slit_obstacle(problem) is not None:
        return None
    mesh = problem.regions.mesh
    return (SlitCut if mesh.dim() == 2 else SlitCut3D)(mesh, _free_facets(problem))


def slit_obstacle(problem) -> str | None:
    """Why the vorticity of ``problem`` cannot be cut along its free Kapitza interfaces
    (module doc: Cartesian, constant κ and l, one ν > 0 on every cell, no branching),
    or None."""
    mesh = problem.regions.mesh
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return "in Cartesian coordinates only"
    if not _piecewise(problem):
        return "with constant scalar kappa and l only"
    nu = _material_nu(problem)
    if not np.all(nu > 0) or _distinct(nu).size != 1:
        return "with one value of nu = l^2/kappa > 0 on every cell only"
    try:
        (SlitCut if mesh.dim() == 2 else SlitCut3D)(mesh, _free_facets(problem))
    except ValueError as exc:
        return str(exc)
    return None


def facet_dofs(basis: skfem.CellBasis, facets: np.ndarray, cut: SlitCut | None) -> np.ndarray:
    """The DOFs of the vorticity ``basis`` on boundary ``facets`` (on the cut space
    where ``cut``)."""
    if cut is None:
        return basis.get_dofs(facets=facets).all()
    return cut.boundary_dofs(basis, facets)
