"""Meshes with named regions: materials (subdomains), boundaries and interfaces.

A :class:`RegionMesh` wraps a scikit-fem simplex mesh together with the gmsh
physical names of its regions:

* **subdomains** -- cells, one name per material region;
* **boundaries** -- exterior facets (where boundary conditions are applied);
* **interfaces** -- interior facets between two regions (where a Kapitza
  resistance may act).

Meshes are read from gmsh ``.msh`` files with meshio, not through
``skfem.Mesh.load``: that route adds a spurious ``gmsh:bounding_entities``
subdomain, and pygmsh's in-memory meshes are known to scramble subdomain
indices. Names are looked up with :meth:`RegionMesh.subdomain`,
:meth:`RegionMesh.boundary` and :meth:`RegionMesh.interface`; an unknown name
raises :class:`~femheat.errors.RegionError` listing the names that exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import skfem

from ..errors import MeshError, RegionError

__all__ = ["RegionMesh", "load_mesh"]

log = logging.getLogger(__name__)

_CELL = {2: ("triangle", skfem.MeshTri1), 3: ("tetra", skfem.MeshTet1)}
_FACET = {2: "line", 3: "triangle"}

RegionSpec = Mapping[str, "np.ndarray | Callable[[np.ndarray], np.ndarray]"]


@dataclass
class RegionMesh:
    """A scikit-fem mesh plus named subdomains, boundaries and interfaces.

    Attributes
    ----------
    mesh
        ``skfem.MeshTri1`` (2D) or ``skfem.MeshTet1`` (3D); coordinates in metres.
    subdomains
        Material region name -> cell indices. Every cell belongs to exactly one.
    boundaries
        Boundary name -> exterior facet indices.
    interfaces
        Interface name -> interior facet indices.
    metadata
        Free-form provenance (source file, builder parameters).
    """

    mesh: skfem.Mesh
    subdomains: dict[str, np.ndarray]
    boundaries: dict[str, np.ndarray] = field(default_factory=dict)
    interfaces: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        nt = self.mesh.t.shape[1]
        region = np.full(nt, -1, dtype=np.int64)
        for i, (name, cells) in enumerate(self.subdomains.items()):
            cells = np.asarray(cells, dtype=np.int64)
            self.subdomains[name] = cells
            if np.any(region[cells] >= 0):
                raise MeshError(f"subdomain {name!r} overlaps another subdomain")
            region[cells] = i
        if np.any(region < 0):
            raise MeshError(
                f"{np.count_nonzero(region < 0)} cells belong to no named subdomain; "
                "give every surface (2D) or volume (3D) a gmsh physical group"
            )
        self.cell_region = region
        exterior = self.mesh.f2t[1] == -1
        owner = np.full(self.mesh.facets.shape[1], -1, dtype=np.int64)
        names = list(self.boundaries)
        for i, (name, facets) in enumerate(list(self.boundaries.items())):
            facets = np.asarray(facets, dtype=np.int64)
            if not np.all(exterior[facets]):
                raise MeshError(
                    f"boundary {name!r} contains interior facets; name it as an "
                    "interface or keep only exterior curves/surfaces in it"
                )
            taken = owner[facets] >= 0
            if np.any(taken):
                other = names[owner[facets][taken][0]]
                raise MeshError(
                    f"boundaries {other!r} and {name!r} share {taken.sum()} facets, so those "
                    "would get two conditions; make the regions disjoint (with predicates, "
                    "use a tolerance relative to the mesh size)")
            owner[facets] = i
            self.boundaries[name] = facets
        for name, facets in list(self.interfaces.items()):
            facets = np.asarray(facets, dtype=np.int64)
            if np.any(exterior[facets]):
                raise MeshError(
                    f"interface {name!r} contains exterior facets; an interface must "
                    "lie between two cells"
                )
            self.interfaces[name] = facets

    # ------------------------------------------------------------------ lookup
    @property
    def dim(self) -> int:
        """Spatial dimension (2 or 3)."""
        return self.mesh.p.shape[0]

    @property
    def subdomain_names(self) -> list[str]:
        return list(self.subdomains)

    def _lookup(self, table: dict, kind: str, name: str) -> np.ndarray:
        try:
            return table[name]
        except KeyError:
            known = ", ".join(repr(n) for n in table) or "none"
            raise RegionError(
                f"unknown {kind} {name!r}; the mesh has {kind}s: {known}"
            ) from None

    def subdomain(self, name: str) -> np.ndarray:
        """Cell indices of the named material region."""
        return self._lookup(self.subdomains, "subdomain", name)

    def boundary(self, name: str) -> np.ndarray:
        """Exterior facet indices of the named boundary."""
        return self._lookup(self.boundaries, "boundary", name)

    def interface(self, name: str) -> np.ndarray:
        """Interior facet indices of the named interface."""
        return self._lookup(self.interfaces, "interface", name)

    def interface_orientation(self, name: str) -> tuple[np.ndarray, tuple[str, str]]:
        """Orientation of an interface: sign per facet and the (A, B) side names.

        Side A is the subdomain listed first in :attr:`subdomains`. The sign is
        +1 where scikit-fem's facet normal (outward from ``f2t[0]``) points from
        A to B and -1 otherwise, so ``sign * n`` is the normal n_AB.
        """
        facets = self.interface(name)
        r0 = self.cell_region[self.mesh.f2t[0, facets]]
        r1 = self.cell_region[self.mesh.f2t[1, facets]]
        a = np.minimum(r0, r1)
        b = np.maximum(r0, r1)
        sign = np.where(r0 <= r1, 1.0, -1.0)
        names = self.subdomain_names
        pairs, counts = np.unique(np.stack([a, b]), axis=1, return_counts=True)
        main = pairs[:, np.argmax(counts)]
        return sign, (names[main[0]], names[main[1]])

    def unassigned_boundary_facets(self) -> np.ndarray:
        """Exterior facets that belong to no named boundary."""
        exterior = np.nonzero(self.mesh.f2t[1] == -1)[0]
        named = (
            np.concatenate(list(self.boundaries.values()))
            if self.boundaries
            else np.zeros(0, dtype=np.int64)
        )
        return np.setdiff1d(exterior, named)

    @property
    def h(self) -> float:
        """Largest edge length [m]."""
        e = self.mesh.edges if self.dim == 3 else self.mesh.facets
        return float(np.max(np.linalg.norm(self.mesh.p[:, e[0]] - self.mesh.p[:, e[1]], axis=0)))

    def __repr__(self) -> str:
        return (
            f"RegionMesh({type(self.mesh).__name__}, {self.mesh.t.shape[1]} cells, "
            f"subdomains={self.subdomain_names}, boundaries={list(self.boundaries)}, "
            f"interfaces={list(self.interfaces)})"
        )

    # ------------------------------------------------------------ construction
    @classmethod
    def from_skfem(
        cls,
        mesh: skfem.Mesh,
        subdomains: RegionSpec | None = None,
        boundaries: RegionSpec | None = None,
        interfaces: RegionSpec | None = None,
    ) -> "RegionMesh":
        """Name the regions of a mesh built in a scikit-fem script.

        Each region is given as indices or as a predicate on midpoints
        (``lambda x: x[0] < 0.5``), the same convention as
        ``skfem.Mesh.with_subdomains``/``with_boundaries``. Without
        ``subdomains`` the whole mesh is one region called ``"domain"``.
        """
        mesh = _check_cells(mesh)
        cell_mid = mesh.p[:, mesh.t].mean(axis=1)
        facet_mid = mesh.p[:, mesh.facets].mean(axis=1)
        exterior = mesh.f2t[1] == -1

        def select(spec, mid, allowed):
            out = {}
            for name, s in (spec or {}).items():
                if callable(s):
                    idx = np.nonzero(np.asarray(s(mid), dtype=bool) & allowed)[0]
                else:
                    idx = np.asarray(s, dtype=np.int64)
                out[name] = idx
            return out

        subs = select(subdomains, cell_mid, np.ones(mesh.t.shape[1], bool))
        if not subs:
            subs = {"domain": np.arange(mesh.t.shape[1])}
        return cls(
            mesh,
            subs,
            select(boundaries, facet_mid, exterior),
            select(interfaces, facet_mid, ~exterior),
        )


def _check_cells(mesh: skfem.Mesh) -> skfem.Mesh:
    """Refuse degenerate simplices (zero measure)."""
    p, t = mesh.p, mesh.t
    d = p.shape[0]
    vol = _signed_measure(p, t)
    scale = np.max(np.ptp(p, axis=1)) if p.size else 1.0
    if np.any(np.abs(vol) <= 1e-14 * scale**d):
        bad = np.nonzero(np.abs(vol) <= 1e-14 * scale**d)[0]
        raise MeshError(
            f"{bad.size} degenerate cells (zero {'area' if d == 2 else 'volume'}), "
            f"first at index {bad[0]}; remesh the geometry"
        )
    return mesh


def _signed_measure(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    d = p.shape[0]
    J = np.stack([p[:, t[i + 1]] - p[:, t[0]] for i in range(d)], axis=1)  # (d, d, n)
    return np.linalg.det(np.moveaxis(J, -1, 0))


def load_mesh(path: str | Path) -> RegionMesh:
    """Read a gmsh ``.msh`` file whose physical groups name the regions.

    Physical groups of the top dimension become subdomains (materials); those
    of one dimension lower become boundaries when all their facets are on the
    exterior and interfaces when all are interior. Cells must be linear
    triangles (2D) or tetrahedra (3D) with consistent orientation.

    Parameters
    ----------
    path
        The ``.msh`` file (written by gmsh, any format version meshio reads).
    """
    path = Path(path)
    m = _read_meshio(path)
    types = {c.type for c in m.cells}
    dim = 3 if "tetra" in types else 2 if "triangle" in types else None
    if dim is None:
        raise MeshError(
            f"{path}: no triangle or tetra cells (found {sorted(types)}); femheat "
            "needs a 2D triangle or 3D tetrahedral mesh of linear cells"
        )
    cell_type, mesh_cls = _CELL[dim]
    facet_type = _FACET[dim]
    if "gmsh:physical" not in m.cell_data:
        raise MeshError(
            f"{path}: the mesh has no gmsh physical groups; name the materials, "
            "boundaries and interfaces with physical groups in gmsh"
        )
    names_by_tag: dict[tuple[int, int], str] = {
        (int(v[1]), int(v[0])): k for k, v in m.field_data.items()
    }

    def gather(ctype: str):
        conn, tags = [], []
        for block, phys in zip(m.cells, m.cell_data["gmsh:physical"]):
            if block.type == ctype:
                conn.append(block.data)
                tags.append(np.asarray(phys, dtype=np.int64))
        if not conn:
            return np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.vstack(conn), np.concatenate(tags)

    cells, cell_tags = gather(cell_type)
    fcells, fcell_tags = gather(facet_type)

    points = np.asarray(m.points, dtype=float)
    if dim == 2:
        if points.shape[1] == 3 and np.any(np.abs(points[:, 2]) > 1e-12 * np.ptp(points)):
            raise MeshError(f"{path}: triangles are not in the z = 0 plane")
        points = points[:, :2]
    # drop points not used by any cell and renumber
    used = np.unique(cells)
    renum = -np.ones(points.shape[0], dtype=np.int64)
    renum[used] = np.arange(used.size)
    p = points[used].T.copy()
    t = renum[cells].T.copy()

    vol = _signed_measure(p, t)
    scale = np.max(np.ptp(p, axis=1))
    tiny = np.abs(vol) <= 1e-14 * scale**dim
    if np.any(tiny):
        raise MeshError(
            f"{path}: {tiny.sum()} degenerate cells (zero measure), first at cell "
            f"{np.nonzero(tiny)[0][0]}; remesh the geometry"
        )
    npos, nneg = np.count_nonzero(vol > 0), np.count_nonzero(vol < 0)
    if dim == 3 and nneg:
        raise MeshError(
            f"{path}: {nneg} inverted tetrahedra (negative volume), first at cell "
            f"{np.nonzero(vol < 0)[0][0]}; the mesh is tangled, remesh it"
        )
    if dim == 2 and npos and nneg:
        minority = vol < 0 if nneg < npos else vol > 0
        raise MeshError(
            f"{path}: {minority.sum()} inverted triangles (orientation opposite to "
            f"the rest), first at cell {np.nonzero(minority)[0][0]}; remesh it"
        )

    mesh = mesh_cls(p, t)

    subdomains: dict[str, np.ndarray] = {}
    for tag in np.unique(cell_tags):
        name = names_by_tag.get((dim, int(tag)), f"subdomain_{tag}")
        subdomains[name] = np.nonzero(cell_tags == tag)[0]

    boundaries: dict[str, np.ndarray] = {}
    interfaces: dict[str, np.ndarray] = {}
    if fcells.size:
        if np.any(renum[fcells] < 0):
            raise MeshError(f"{path}: a tagged facet uses a node that no cell uses; a surface or volume probably lacks a physical group")
        ftags_idx = _match_facets(mesh, renum[fcells].T)
        if np.any(ftags_idx < 0):
            raise MeshError(
                f"{path}: {np.count_nonzero(ftags_idx < 0)} tagged "
                f"{facet_type} elements are not facets of the mesh; mesh the "
                "geometry as one conforming (fragmented) model"
            )
        exterior = mesh.f2t[1] == -1
        for tag in np.unique(fcell_tags):
            name = names_by_tag.get((dim - 1, int(tag)), f"facets_{tag}")
            facets = np.unique(ftags_idx[fcell_tags == tag])
            ext = exterior[facets]
            if np.all(ext):
                boundaries[name] = facets
            elif not np.any(ext):
                interfaces[name] = facets
            else:
                raise MeshError(
                    f"{path}: physical group {name!r} mixes exterior and interior "
                    "facets; split it into a boundary and an interface"
                )
    # order subdomains by gmsh tag so "side A" of an interface is reproducible
    return RegionMesh(mesh, subdomains, boundaries, interfaces, {"source": str(path)})


def _read_meshio(path: Path):
    """meshio's reading of ``path``, with every failure turned into a :class:`MeshError`.

    meshio calls ``sys.exit(1)`` (``SystemExit``, which ``except Exception`` does not
    catch) and prints to the terminal when no reader accepts a file, and a truncated
    file ends in whatever numpy raises while parsing it (a reshape error); none of
    that reaches the user.
    """
    import contextlib
    import io

    import meshio

    if not path.exists():
        raise MeshError(f"mesh file {str(path)!r} does not exist")
    if path.is_dir():
        raise MeshError(f"mesh path {str(path)!r} is a folder; give a gmsh .msh file")
    fix = ("regenerate it with gmsh (physical groups naming the regions; for the shipped "
           "meshes: python meshes/build_meshes.py) or check the path")
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            if path.suffix == ".msh":
                # the gmsh reader itself: meshio.read would first try ANSYS's .msh
                # reader and print its failure
                from meshio import gmsh

                return gmsh.read(str(path))
            return meshio.read(path)
    except meshio.ReadError as exc:
        why = str(exc).rstrip(". ") or "not a gmsh .msh file"
        raise MeshError(f"cannot read mesh file {str(path)!r}: {why}; {fix}") from None
    except (SystemExit, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise MeshError(
            f"cannot read mesh file {str(path)!r}: meshio knows no reader for it "
            f"(format {path.suffix or 'unknown'}); {fix}") from None
    except MemoryError:
        raise
    except OSError as exc:
        raise MeshError(f"cannot read mesh file {str(path)!r}: {exc.strerror or exc}") from None
    except Exception as exc:  # truncated or corrupt content: numpy/struct/unicode errors
        log.debug("meshio failed on %s: %r", path, exc)
        raise MeshError(
            f"cannot read mesh file {str(path)!r}: it is truncated or corrupt (not a "
            f"complete gmsh .msh file); {fix}") from None


def _match_facets(mesh: skfem.Mesh, facets: np.ndarray) -> np.ndarray:
    """Index in ``mesh.facets`` of each column of ``facets`` (-1 where absent).

    Rows are compared whole (``np.unique`` over columns), so there is no limit on
    the number of nodes.
    """
    ref = np.sort(mesh.facets, axis=0)
    qry = np.sort(facets, axis=0)
    _, inverse = np.unique(np.hstack([ref, qry]), axis=1, return_inverse=True)
    inverse = inverse.ravel()
    lookup = np.full(inverse.max() + 1, -1, dtype=np.int64)
    lookup[inverse[: ref.shape[1]]] = np.arange(ref.shape[1])
    return lookup[inverse[ref.shape[1]:]]
