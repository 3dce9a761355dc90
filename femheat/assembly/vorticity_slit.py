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
single-valued where it ends inside the region (:class:`SlitCut`). In 2D (continuous
P2 / P3) the copies are those of the slit's vertices but the tips and of the slit
facets' edge DOFs; in 3D (first-kind Nédélec, no vertex DOFs) those of the slit's
edges but the front and of its faces. The slit's facets, oriented
out of each side, are then open boundaries of the cracked region: each side's ω
equation takes that side's trace (⟨q·t, φ⟩, ⟨n × q, φ⟩) and the flux block the
boundary form of :mod:`.vorticity_open` / :mod:`.vorticity_open3d`, whose vertex
(edge) terms pair the facet ends (edges) of one side, the cut's copies telling the
sides apart, and at a tip (the front) the last facet of one side with the first of
the other, where the boundary folds back.

Cartesian, constant κ and l: one viscosity level (one ν on every cell), or since
2026-12-07 several (:mod:`.vorticity_levels`: each level's vorticity is cut along the
slit's facets inside its region, whose interface to smaller ν counts as the
region's boundary: a slit that reaches it is cut there like one that reaches the
mesh's boundary); where ν varies inside materials (since 2026-12-08) each graded
level's (:mod:`.vorticity_graded_levels`), the closure terms' facet terms left off
the slit's facets (open boundaries of both sides). Measured:
``tests/test_gk_vorticity_slit.py`` (an edge crack with a layer of larger, smaller or
zero ν beside it, or along a jump of ν, κ and l constant or varying: q at O(h³), T at
O(h²), within 1 % of the penalty form's T; with ω = 0 on the slit q stalled at
1.1e-2).
"""

from __future__ import annotations

import warnings

import numpy as np
import skfem
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import FemheatInputError
from .vorticity_levels import _distinct, _free_facets, _material_nu, _piecewise

__all__ = ["SlitCut", "facet_dofs", "slit_cut", "slit_obstacle", "warn_stress_free"]


class SlitCut:
    """The cut of a mesh's vorticity space along the ``slit`` facets (interior facets).

    The slit's *entities* are its vertices in 2D (continuous P2 / P3: their nodal
    DOFs) and its edges in 3D (first-kind Nédélec: their edge DOFs). Each entity of
    two slit facets, or of one on the mesh's boundary, is cut: the cells on one side
    of it take a second copy of its DOFs; the others (the tips in 2D, the front in 3D)
    stay single-valued. Each slit facet's own DOFs (2D edge DOFs, 3D face DOFs) get a
    copy taken by its side-1 cell. Raises ValueError where the slit branches (an entity
    of more than two slit facets) or an entity's cells do not fall in two sides."""

    def __init__(self, mesh: skfem.Mesh, slit: np.ndarray, inside: np.ndarray | None = None):
        """``inside`` (a mask over the cells): the cut of a viscosity level's region
        (:mod:`.vorticity_levels`), whose interface counts as its boundary; default the
        whole mesh."""
        self.mesh = mesh
        self.dim = mesh.dim()
        self.slit = np.unique(np.asarray(slit, dtype=np.int64))
        # facet → entities, entity → cells
        f2x = mesh.facets if self.dim == 2 else mesh.f2e
        t2x = mesh.t if self.dim == 2 else mesh.t2e
        n_entities = mesh.p.shape[1] if self.dim == 2 else mesh.edges.shape[1]
        what = "vertex" if self.dim == 2 else "edge"
        count = np.bincount(f2x[:, self.slit].ravel(), minlength=n_entities)
        if np.any(count > 2):
            raise ValueError(f"a free interface branches inside a viscous region (a {what} "
                             f"of {int(count.max())} of its facets)")
        n_cells = mesh.t.shape[1]
        inside = np.ones(n_cells, dtype=bool) if inside is None else np.asarray(inside)
        f2t = mesh.f2t
        first = inside[f2t[0]]
        second = np.where(f2t[1] >= 0, inside[np.maximum(f2t[1], 0)], False)
        on_boundary = np.zeros(n_entities, dtype=bool)  # the region's boundary
        on_boundary[f2x[:, first != second]] = True
        candidates = np.nonzero(count > 0)[0]
        cut = candidates[(count[candidates] == 2) | on_boundary[candidates]]
        cells_in = np.tile(np.arange(n_cells), t2x.shape[0])
        keep = inside[cells_in]
        x2t = coo_matrix((np.ones(int(keep.sum())), (t2x.ravel()[keep], cells_in[keep])),
                         shape=(n_entities, n_cells)).tocsr()
        # the cells of each cut entity that take its copy: the side without its first
        # cell, cells joined across the facets at the entity but the slit's
        self.copy: dict[tuple[int, int], int] = {}
        slit_set = set(self.slit.tolist())
        for k, x in enumerate(cut):
            cells = x2t.indices[x2t.indptr[x]:x2t.indptr[x + 1]]
            side = _sides(cells, mesh.t2f, slit_set)
            if side is None:
                where = (mesh.p[:, x] if self.dim == 2
                         else mesh.p[:, mesh.edges[:, x]].mean(axis=1))
                raise ValueError(f"the cells at the {what} near {np.round(where, 6).tolist()} "
                                 "do not fall in two sides of the slit")
            for c in cells[side != side[0]]:
                self.copy[(int(c), int(x))] = n_entities + k
        self.f2x = f2x
        self.cut_entities = cut

    def label_of(self, cells: np.ndarray, entities: np.ndarray) -> np.ndarray:
        """The labels of mesh ``entities`` (vertices in 2D, edges in 3D) seen from
        ``cells`` (broadcast): the copy's label (≥ the number of such entities) where
        the cell takes it, else the entity."""
        cells, entities = np.broadcast_arrays(np.asarray(cells), np.asarray(entities))
        out = entities.copy()
        for idx in zip(*np.nonzero(np.isin(entities, self.cut_entities))):
            out[idx] = self.copy.get((int(cells[idx]), int(entities[idx])),
                                     int(entities[idx]))
        return out

    def _tables(self, basis: skfem.AbstractBasis) -> tuple[np.ndarray, np.ndarray]:
        """(the entities' DOFs, the facets' DOFs) of ``basis``'s element."""
        dofs = basis.dofs
        return (dofs.nodal_dofs if self.dim == 2 else dofs.edge_dofs), dofs.facet_dofs

    def _numbering(self, basis: skfem.AbstractBasis) -> tuple[dict, dict, int]:
        """(the copies of each cut entity's DOFs, of each slit facet's DOFs, the cut
        space's size): the copies follow the original DOFs, entities first."""
        entity, facet = self._tables(basis)
        N = int(basis.dofs.N)
        n_x, n_f = entity.shape[0], (facet.shape[0] if facet.size else 0)
        new_entity = {int(x): N + n_x * k + np.arange(n_x)
                      for k, x in enumerate(self.cut_entities)}
        base = N + n_x * len(self.cut_entities)
        new_facet = {int(f): base + n_f * k + np.arange(n_f) for k, f in enumerate(self.slit)}
        return new_entity, new_facet, base + n_f * len(self.slit)

    def cut(self, basis: skfem.AbstractBasis) -> skfem.AbstractBasis:
        """``basis`` (a cell or facet basis of the vorticity element on the mesh) with
        its DOFs renumbered on the cut space (``basis.N`` grows)."""
        entity, facet = self._tables(basis)
        new_entity, new_facet, n_total = self._numbering(basis)
        cells = (np.arange(basis.element_dofs.shape[1]) if basis.tind is None
                 else np.asarray(basis.tind))
        moves = [(c, entity[:, x], new_entity[x]) for (c, x) in self.copy]
        if facet.size:
            moves += [(int(c), facet[:, f], new_facet[int(f)])
                      for f, c in zip(self.slit, self.mesh.f2t[1, self.slit])]
        return _renumber(basis, cells, moves, n_total)

    def boundary_dofs(self, basis: skfem.CellBasis, facets: np.ndarray) -> np.ndarray:
        """The cut space's DOFs on boundary ``facets``, seen from each facet's cell (its
        entities' DOFs, their copies where the cell takes them, and its own)."""
        new_entity, _, _ = self._numbering(basis)
        entity, facet = self._tables(basis)
        out = [np.zeros(0, dtype=np.int64)]
        for g in np.asarray(facets, dtype=np.int64):
            c = int(self.mesh.f2t[0, g])
            for x in self.f2x[:, g]:
                x = int(x)
                out.append(new_entity[x] if (c, x) in self.copy else entity[:, x])
            if facet.size:
                out.append(facet[:, g])
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


def slit_cut(problem, inside: np.ndarray | None = None) -> SlitCut | None:
    """The cut of ``problem``'s single vorticity (or, ``inside`` a viscosity level's
    region, of that level's, :mod:`.vorticity_levels`) along the free Kapitza
    interfaces that end inside it, where it applies (:func:`slit_obstacle` finds
    nothing against it), else None."""
    free = _free_facets(problem)
    if not free.size:
        return None
    if inside is None:
        return _cut_or_reason(problem)[0]
    slit = _region_slit(problem.regions.mesh, free, inside)
    return SlitCut(problem.regions.mesh, slit, inside) if slit.size else None


def slit_obstacle(problem) -> str | None:
    """Why the vorticity of ``problem`` cannot be cut along its free Kapitza interfaces
    (module doc: Cartesian, constant κ and l, no branching), or None."""
    return _cut_or_reason(problem)[1]


def _region_slit(mesh: skfem.Mesh, free: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The ``free`` facets with the region ``inside`` (a mask over the cells) on both
    sides."""
    a, b = mesh.f2t[0, free], mesh.f2t[1, free]
    return free[(b >= 0) & inside[a] & inside[np.maximum(b, 0)]]


def _cut_or_reason(problem) -> tuple[SlitCut | None, str | None]:
    """(the single vorticity's cut or None, None) or (None, why not): :func:`slit_cut`,
    :func:`slit_obstacle`; with several ν (0 included) the levels' regions are cut,
    each by :func:`slit_cut` with its region."""
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return None, "in Cartesian coordinates only"
    if not _piecewise(problem):
        return None, "with constant scalar kappa and l only"
    nu = _material_nu(problem)
    mesh, free = problem.regions.mesh, _free_facets(problem)
    try:
        if np.all(nu > 0) and _distinct(nu).size == 1:
            return SlitCut(mesh, free), None
        from .vorticity_levels import viscosity_levels

        for level in viscosity_levels(problem, nu):
            slit = _region_slit(mesh, free, level.inside)
            if slit.size and not level.single:
                SlitCut(mesh, slit, level.inside)
    except FemheatInputError as exc:  # the levels themselves cannot be built (pinched)
        return None, f"only where the viscosity levels can be built ({exc})"
    except ValueError as exc:  # the slit branches
        return None, f"only where it does not branch ({exc})"
    return None, None


def facet_dofs(basis: skfem.CellBasis, facets: np.ndarray, cut: SlitCut | None) -> np.ndarray:
    """The DOFs of the vorticity ``basis`` on boundary ``facets`` (on the cut space
    where ``cut``)."""
    if cut is None:
        return basis.get_dofs(facets=facets).all()
    return cut.boundary_dofs(basis, facets)


def warn_stress_free(mesh: skfem.Mesh, names: list[str], facets: list[np.ndarray],
                     cells: np.ndarray) -> None:
    """Warn where free Kapitza interfaces (``names``, their not-opened ``facets``) run
    between two viscous ``cells`` (a mask) and keep ω = 0: a slit the vorticity is not
    cut along (several ν, ν varying, a branching slit), another model than the gradient
    energy's, which ``"auto"`` leaves to the penalty form."""
    for name, part in zip(names, facets):
        a, b = mesh.f2t[0, part], mesh.f2t[1, part]
        if np.any((b >= 0) & cells[a] & cells[np.maximum(b, 0)]):
            warnings.warn(f"interfaces.{name}: model.viscous = 'vorticity' holds omega = 0 "
                          "on this free interface where it ends inside the viscous region "
                          "(a slit with several values of nu = l^2/kappa, nu varying, or "
                          "branching): another model than the gradient energy's open "
                          "boundary; use viscous = 'penalty'", stacklevel=5)
