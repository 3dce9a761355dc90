"""Geometry builders: gmsh meshes with named materials, boundaries and interfaces.

Each builder draws a parametric geometry with the gmsh OpenCASCADE kernel
(``gmsh.model.occ``), fragments it into one conforming model (materials share
their interface curves/surfaces, so interfaces are tagged interior facets),
names every region with a gmsh physical group, meshes it with linear
triangles (2D) or tetrahedra (3D), checks the mesh quality
(:mod:`femheat.mesh.quality`; degenerate output raises
:class:`~femheat.errors.MeshError`), writes a ``.msh`` file (format 4.1) and a
JSON sidecar ``<path>.json`` holding the builder name, its parameters, the
derived geometry (e.g. placed particles and the achieved volume fraction) and
the quality report, so that a mesh can be regenerated exactly::

    import json
    from ... import geometry
    spec = json.loads(open("meshes/composite_2d.msh.json").read())
    geometry.build(spec["builder"], "composite_2d.msh", **spec["parameters"])

The builders (all registered in :data:`BUILDERS`):

========================== ==================================================
``layered_stack``          layers along x (bilayer, multilayer), 2D or 3D
``superlattice``           N periods of a layer sequence (a ``layered_stack``)
``inclusions_2d``          rectangle with circular inclusions at given centres
``inclusion_3d``           box with one spherical inclusion
``box_inclusions``         box with spherical inclusions at given centres
``particle_composite``     circles/ellipses/spheres/ellipsoids at a volume
                           fraction, on a lattice or randomly packed, coated
                           or not (placement: :mod:`femheat.mesh.packing`)
``thin_film``              film on a substrate with a heater line on top
``channel``                2D ribbon with refined side walls
``strip``                  structured rectangle for 1D-like runs
``wire``                   cylindrical wire (3D)
``ball_sector``            octant or 1/48 wedge of a ball, graded to its centre
========================== ==================================================

Naming conventions (the names :func:`femheat.load_mesh` returns):

* materials (surfaces in 2D, volumes in 3D): ``"layer_1"`` ... or user names,
  ``"matrix"``/``"inclusion"``/``"coating"``, ``"film"``/``"substrate"``,
  ``"medium"``, ``"channel"``, ``"wire"``;
* boundaries (exterior curves/surfaces): ``"left"`` (x = 0), ``"right"``
  (x = max), ``"bottom"`` (y = 0), ``"top"`` (y = max), and in 3D
  ``"front"`` (z = 0), ``"back"`` (z = max); ``"heater"`` (thin film);
  ``"inlet"``, ``"outlet"``, ``"walls"`` (channel); ``"sides"`` (strip);
  ``"hot"``, ``"cold"``, ``"surface"`` (wire); ``"sphere"``, ``"symmetry"``
  (ball sector);
* interfaces (interior curves/surfaces between two materials):
  ``"interface_1"`` ..., ``"inclusion_surface"``, ``"coating_surface"``,
  ``"film_substrate"``.

Periodic meshes (``periodic=True``): opposite faces of the cell are meshed
node for node identically (``gmsh.model.mesh.setPeriodic`` with a
translation), so every facet on ``"left"`` has a twin on ``"right"``
translated by the cell length, and likewise bottom/top and front/back.
Inclusions are never wrapped across the cell: they must lie strictly inside.

All lengths are in metres. gmsh is imported only inside the builders, so
femheat itself imports without it (``pip install femheat[full]`` adds it).

Internally a geometry is drawn in units of a power of ten close to its size
(micrometre geometries are drawn in micrometres, away from OpenCASCADE's
1e-7 confusion tolerance) and scaled back to metres when the mesh is written
(gmsh option ``Mesh.ScalingFactor``).
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .. import quality as _quality
from ...errors import FemheatInputError, MeshError
from ..regions import RegionMesh, load_mesh
from ..packing import lattice_placement, random_placement
from ...validation import positive

__all__ = [
    "BUILDERS",
    "ball_sector",
    "box_inclusions",
    "build",
    "channel",
    "inclusion_3d",
    "inclusions_2d",
    "layered_stack",
    "particle_composite",
    "sidecar_path",
    "strip",
    "superlattice",
    "thin_film",
    "wire",
]

log = logging.getLogger(__name__)

_LOCK = threading.Lock()  # the gmsh API is one global state: one build at a time

_BOUNDARY_NAMES_2D = ("left", "right", "bottom", "top")
_BOUNDARY_NAMES_3D = ("left", "right", "bottom", "top", "front", "back")


# ----------------------------------------------------------------- validation
def _positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0 (a length in metres), or an error naming ``name``."""
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise FemheatInputError(f"{name} = {value!r} must be a positive number (metres)")
    return float(positive(value, name, "m"))


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise FemheatInputError(f"{name} = {value!r} must be an integer >= 1")
    return int(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise FemheatInputError(f"{name} = {value!r} must be true or false")
    return bool(value)


def _mesh_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix != ".msh":
        raise FemheatInputError(
            f"path = {str(path)!r} must end in '.msh' (gmsh picks the format from it)"
        )
    return path


def _lengths(name: str, value: Any, count: int | None = None) -> list[float]:
    """A sequence of positive lengths [m] (``count`` of them if given)."""
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError):
        raise FemheatInputError(
            f"{name} = {value!r} must be a sequence of positive lengths [m]") from None
    if count is not None and len(out) != count:
        raise FemheatInputError(f"{name} = {value!r} must have {count} entries [m]")
    if not out:
        raise FemheatInputError(f"{name} is empty; give at least one length [m]")
    return [_positive(f"{name}[{i}]", v) for i, v in enumerate(out)]


def _material_names(names: Mapping[str, str], reserved: set[str]) -> None:
    """Material names must be non-empty, distinct and not boundary/interface names."""
    for key, val in names.items():
        if not isinstance(val, str) or not val:
            raise FemheatInputError(f"{key} = {val!r} must be a non-empty name")
    values = list(names.values())
    if len(set(values)) != len(values):
        raise FemheatInputError(
            f"material names {dict(names)} repeat a name; give each material its own name")
    clash = sorted(set(values) & reserved)
    if clash:
        raise FemheatInputError(
            f"material names {clash} clash with the boundary/interface names "
            f"{sorted(reserved)}; rename the materials")


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar of a mesh file: ``<path>.json`` (``a.msh`` -> ``a.msh.json``)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _scale(extent: float) -> float:
    """Power of ten at or below ``extent``: the drawing unit of the geometry."""
    return 10.0 ** math.floor(math.log10(extent))


# ------------------------------------------------------------------ gmsh glue
@contextmanager
def _session(name: str) -> Iterator[tuple[Any, Callable[[str, float], None]]]:
    """A gmsh session with one fresh model; always finalized (or restored).

    If the caller already runs gmsh, its state is kept: the builder works in a
    model of its own, removed afterwards, and the options it set are restored.
    Yields the ``gmsh`` module and ``opt(key, value)``, which sets a numeric
    gmsh option and remembers its previous value.
    """
    import gmsh

    with _LOCK:
        owner = not gmsh.isInitialized()
        saved: dict[str, float] = {}
        previous_model = None
        if owner:
            gmsh.initialize(interruptible=False)
        else:
            previous_model = gmsh.model.getCurrent()

        def opt(key: str, value: float) -> None:
            if key not in saved:
                saved[key] = gmsh.option.getNumber(key)
            gmsh.option.setNumber(key, value)

        try:
            opt("General.Terminal", 0)
            opt("General.NumThreads", 1)  # reproducible meshes
            opt("Mesh.MshFileVersion", 4.1)
            opt("Mesh.Binary", 0)
            opt("Mesh.SaveAll", 0)  # only elements in physical groups
            opt("Mesh.ElementOrder", 1)
            opt("Mesh.ScalingFactor", 1.0)
            opt("Mesh.RandomSeed", 1)
            gmsh.model.add(f"femheat_{name}")
            yield gmsh, opt
        finally:
            if owner:
                gmsh.finalize()
            else:
                gmsh.model.remove()
                for key, value in saved.items():
                    gmsh.option.setNumber(key, value)
                if previous_model:
                    gmsh.model.setCurrent(previous_model)


def _in_box(gmsh: Any, dim: int, lo: Sequence[float], hi: Sequence[float], eps: float) -> list[int]:
    """Tags of the dim-entities whose bounding box lies in [lo - eps, hi + eps]."""
    lo3 = list(lo) + [0.0] * (3 - len(lo))
    hi3 = list(hi) + [0.0] * (3 - len(hi))
    ents = gmsh.model.getEntitiesInBoundingBox(
        lo3[0] - eps, lo3[1] - eps, lo3[2] - eps,
        hi3[0] + eps, hi3[1] + eps, hi3[2] + eps, dim,
    )
    return sorted(t for d, t in ents if d == dim)


def _embed_inclusions(
    gmsh: Any, dim: int, box: int, cores: list[int], shells: list[int] | None = None
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Fragment ``box`` by inclusion cores (and optional coating shells around them).

    Returns ``(matrix, inclusions, coatings, inclusion_surfaces,
    coating_surfaces)`` as entity tags; the surfaces are interior because the
    builders keep inclusions away from the box faces.
    """
    shells = shells or []
    tools = [(dim, t) for t in cores + shells]
    _, out_map = gmsh.model.occ.fragment([(dim, box)], tools)
    gmsh.model.occ.synchronize()
    n = len(cores)
    inc = sorted({t for m in out_map[1:1 + n] for d, t in m if d == dim})
    outer = sorted({t for m in out_map[1 + n:] for d, t in m if d == dim})
    coat = sorted(set(outer) - set(inc))
    mat = sorted({t for d, t in out_map[0] if d == dim} - set(inc) - set(coat))
    if len(inc) != n or len(mat) != 1 or len(coat) != len(shells):
        raise RuntimeError(
            f"geometry builder bug: matrix {mat}, inclusions {inc}, coatings {coat}")

    def boundary(tags: list[int]) -> set[int]:
        return {t for _, t in gmsh.model.getBoundary([(dim, t) for t in tags], oriented=False)}

    inner = boundary(inc)
    shell_faces = boundary(coat) - inner if coat else set()
    return mat, inc, coat, sorted(inner), sorted(shell_faces)


def _box_faces(gmsh: Any, dim: int, extent: Sequence[float], eps: float) -> dict[str, list[int]]:
    """Exterior boundary entities of the box [0, extent] by side name.

    ``dim`` is the model dimension (2: faces are curves, 3: surfaces).
    """
    names = _BOUNDARY_NAMES_2D if dim == 2 else _BOUNDARY_NAMES_3D
    out: dict[str, list[int]] = {}
    for axis in range(dim):
        for side, coord in ((0, 0.0), (1, extent[axis])):
            lo = [0.0] * dim
            hi = list(extent)
            lo[axis] = hi[axis] = coord
            out[names[2 * axis + side]] = _in_box(gmsh, dim - 1, lo, hi, eps)
    return out


def _check_exterior(gmsh: Any, dim: int, boundaries: dict[str, list[int]]) -> None:
    """Every exterior boundary entity must be named (an internal consistency check)."""
    top = gmsh.model.getEntities(dim)
    exterior = {t for _, t in gmsh.model.getBoundary(top, combined=True, oriented=False)}
    named = {t for tags in boundaries.values() for t in tags}
    if exterior != named:
        raise RuntimeError(
            f"geometry builder bug: exterior entities {sorted(exterior)} but named "
            f"{sorted(named)}"
        )
    for name, tags in boundaries.items():
        if not tags:
            raise RuntimeError(f"geometry builder bug: boundary {name!r} has no entity")


def _physical_groups(
    gmsh: Any,
    dim: int,
    materials: dict[str, list[int]],
    facets: dict[str, list[int]],
) -> None:
    """Name materials (dim) and boundaries/interfaces (dim - 1), tags in given order."""
    for tag, (name, ents) in enumerate(materials.items(), start=1):
        gmsh.model.addPhysicalGroup(dim, sorted(set(ents)), tag=tag, name=name)
    for tag, (name, ents) in enumerate(facets.items(), start=1):
        gmsh.model.addPhysicalGroup(dim - 1, sorted(set(ents)), tag=tag, name=name)


def _set_periodic(
    gmsh: Any, dim: int, extent: Sequence[float], faces: dict[str, list[int]], axes: Sequence[int]
) -> None:
    """Mesh the high face of each axis in ``axes`` as a translated copy of the low face.

    ``faces`` maps the side names of :func:`_box_faces` to entity tags; the
    entities of opposite sides are paired by their bounding boxes.
    """
    names = _BOUNDARY_NAMES_2D if dim == 2 else _BOUNDARY_NAMES_3D
    eps = 1e-6 * max(extent)
    for axis in axes:
        masters, slaves = faces[names[2 * axis]], faces[names[2 * axis + 1]]
        shift = np.zeros(3)
        shift[axis] = extent[axis]
        boxes = {t: np.array(gmsh.model.getBoundingBox(dim - 1, t)) for t in masters}
        pairs = []
        for tag in slaves:
            bb = np.array(gmsh.model.getBoundingBox(dim - 1, tag)) - np.tile(shift, 2)
            match = [m for m, mb in boxes.items() if np.all(np.abs(mb - bb) < eps)]
            if len(match) != 1:
                raise RuntimeError(
                    f"geometry builder bug: no periodic twin of {names[2 * axis + 1]} "
                    f"entity {tag} on {names[2 * axis]}")
            pairs.append((tag, match[0]))
        if len(pairs) != len(masters):
            raise RuntimeError(
                f"geometry builder bug: {names[2 * axis]} has {len(masters)} entities, "
                f"{names[2 * axis + 1]} {len(slaves)}")
        affine = [1, 0, 0, shift[0], 0, 1, 0, shift[1], 0, 0, 1, shift[2], 0, 0, 0, 1]
        gmsh.model.mesh.setPeriodic(
            dim - 1, [s for s, _ in pairs], [m for _, m in pairs], [float(v) for v in affine])


def _uniform_size(gmsh: Any, opt: Callable[[str, float], None], h: float) -> None:
    opt("Mesh.MeshSizeMax", h)
    opt("Mesh.MeshSizeMin", 0.0)
    opt("Mesh.MeshSizeFromCurvature", 0)
    gmsh.model.mesh.setSize(gmsh.model.getEntities(0), h)


def _refine_near(
    gmsh: Any,
    opt: Callable[[str, float], None],
    dim: int,
    tags: list[int],
    h: float,
    h_near: float,
    dist_min: float | None = None,
) -> None:
    """Size h_near within ``dist_min`` of the entities ``tags`` (dim - 1), growing to h.

    ``dist_min`` defaults to ``h_near / 2``; the size then grows with slope
    1/2 (smooth grading) up to ``h``.
    """
    dist_min = 0.5 * h_near if dist_min is None else dist_min
    # sample the entities finely enough that the distance is accurate to ~h_near/2
    boxes = np.array([gmsh.model.getBoundingBox(dim - 1, t) for t in tags])
    diag = float(np.linalg.norm(boxes[:, 3:] - boxes[:, :3], axis=1).max())
    f = gmsh.model.mesh.field
    dist = f.add("Distance")
    f.setNumbers(dist, "CurvesList" if dim == 2 else "SurfacesList", tags)
    if dim == 2:
        sampling = int(np.clip(2 * diag / h_near, 200, 20000))
    else:
        sampling = int(np.clip(diag / h_near, 60, 150))
    f.setNumber(dist, "Sampling", sampling)
    thr = f.add("Threshold")
    f.setNumber(thr, "InField", dist)
    f.setNumber(thr, "SizeMin", h_near)
    f.setNumber(thr, "SizeMax", h)
    f.setNumber(thr, "DistMin", dist_min)
    f.setNumber(thr, "DistMax", dist_min + 2.0 * abs(h - h_near))
    f.setAsBackgroundMesh(thr)
    opt("Mesh.MeshSizeExtendFromBoundary", 0)
    opt("Mesh.MeshSizeFromPoints", 0)
    opt("Mesh.MeshSizeFromCurvature", 0)
    opt("Mesh.MeshSizeMax", max(h, h_near))


def _gmsh_cells(gmsh: Any, dim: int, scale: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """Nodes [m], cells and material name -> cell indices of the meshed model."""
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    lookup = np.full(int(node_tags.max()) + 1, -1, dtype=np.int64)
    lookup[node_tags.astype(np.int64)] = np.arange(node_tags.size)
    p = coords.reshape(-1, 3)[:, :dim].T * scale
    etype = 2 if dim == 2 else 4
    blocks, groups, start = [], {}, 0
    for d, ptag in gmsh.model.getPhysicalGroups(dim):
        name = gmsh.model.getPhysicalName(d, ptag)
        for ent in gmsh.model.getEntitiesForPhysicalGroup(d, ptag):
            _, nodes = gmsh.model.mesh.getElementsByType(etype, ent)
            cells = lookup[np.asarray(nodes, dtype=np.int64)].reshape(-1, dim + 1)
            blocks.append(cells)
            groups.setdefault(name, []).append(np.arange(start, start + cells.shape[0]))
            start += cells.shape[0]
    t = np.vstack(blocks).T if blocks else np.zeros((dim + 1, 0), dtype=np.int64)
    return p, t, {k: np.concatenate(v) for k, v in groups.items()}


def _finish(
    gmsh: Any,
    opt: Callable[[str, float], None],
    dim: int,
    scale: float,
    path: Path,
    builder: str,
    parameters: dict[str, Any],
    derived: dict[str, Any] | None = None,
    enforce_quality: bool = True,
    generate: bool = True,
) -> Path:
    """Mesh, check quality, write ``path`` in metres and the JSON sidecar; return ``path``.

    Raises :class:`~femheat.errors.MeshError` (writing nothing) when the mesh
    is degenerate by :data:`femheat.mesh.quality.DEFAULT_LIMITS`; with
    ``enforce_quality=False`` (structured meshes stretched on purpose) it
    warns instead. ``generate=False`` keeps a mesh the caller already
    generated (:mod:`femheat.mesh.pygmsh`).
    """
    if generate:
        gmsh.model.mesh.generate(dim)
    p, t, groups = _gmsh_cells(gmsh, dim, scale)
    report = _quality.simplex_quality(p, t, groups)
    if dim == 3 and not _quality.acceptable(report):
        # gmsh's default tetrahedral optimizer can leave a sliver (seen at the pole of
        # OCC spheres); Netgen's optimizer removes it. Only then, so meshes that pass
        # stay exactly as before.
        gmsh.model.mesh.optimize("Netgen")
        p, t, groups = _gmsh_cells(gmsh, dim, scale)
        report = _quality.simplex_quality(p, t, groups)
        if _quality.acceptable(report):
            derived = dict(derived or {}, optimizer="Netgen")
    try:
        _quality.raise_if_poor(report, subdomains=groups,
                               source=f"{builder} mesh for {path.name}")
    except MeshError as exc:
        if enforce_quality:
            raise
        warnings.warn(str(exc), stacklevel=3)
    opt("Mesh.ScalingFactor", scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    gmsh.write(str(path))
    # one parameter a line: readable and diff-friendly
    entries = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in parameters.items())
    extra = ""
    if derived:
        extra += f'  "derived": {json.dumps(derived)},\n'
    extra += f'  "quality": {json.dumps(report.summary())},\n'
    text = (
        "{\n"
        f'  "builder": {json.dumps(builder)},\n'
        f'  "parameters": {{\n{entries}\n  }},\n'
        f"{extra}"
        f'  "gmsh_version": {json.dumps(gmsh.__version__)}\n'
        "}\n"
    )
    json.loads(text)  # well-formed by construction
    sidecar_path(path).write_text(text)
    log.info("%s: %s, %d cells, min angle %.1f deg, max aspect %.2f", builder, path,
             report.n_cells, report.min_angle_deg, report.max_aspect_ratio)
    return path


def _mesh_sizes(
    gmsh: Any, opt: Callable[[str, float], None], dim: int, near: list[int], h: float,
    h_near: float | None,
) -> None:
    """Uniform size ``h``, or ``h_near`` on the entities ``near`` grading to ``h``."""
    if h_near is None or not near:
        _uniform_size(gmsh, opt, h)
    else:
        _refine_near(gmsh, opt, dim, near, h, h_near)


# ------------------------------------------------------------------- layered
def _layered(
    builder: str,
    params: dict[str, Any],
    t: list[float],
    layer_names: list[str],
    height: float,
    depth: float | None,
    mesh_size: float,
    interface_mesh_size: float | None,
    periodic: bool,
    path: Path,
) -> Path:
    """Draw and mesh layers of thicknesses ``t`` along x (shared by the stack builders)."""
    n = len(t)
    facet_names = set(_BOUNDARY_NAMES_3D) | {f"interface_{i + 1}" for i in range(n - 1)}
    clash = sorted(set(layer_names) & facet_names)
    if clash:
        raise FemheatInputError(
            f"names {clash} clash with the boundary/interface names; rename the layers"
        )
    dim = 2 if depth is None else 3
    x = np.concatenate([[0.0], np.cumsum(t)])
    length = float(x[-1])
    extent_si = [length, height] + ([depth] if depth is not None else [])
    s = _scale(max(extent_si))

    with _session(builder) as (gmsh, opt):
        occ = gmsh.model.occ
        xs = x / s
        ext = [e / s for e in extent_si]
        tools = []
        for i in range(n):
            if dim == 2:
                tag = occ.addRectangle(xs[i], 0, 0, xs[i + 1] - xs[i], ext[1])
            else:
                tag = occ.addBox(xs[i], 0, 0, xs[i + 1] - xs[i], ext[1], ext[2])
            tools.append((dim, tag))
        if n > 1:
            _, out_map = occ.fragment(tools[:1], tools[1:])
        else:
            out_map = [[tools[0]]]
        occ.synchronize()
        eps = 1e-6 * max(ext)
        materials: dict[str, list[int]] = {}
        for i, children in enumerate(out_map):
            materials.setdefault(layer_names[i], []).extend(t_ for d, t_ in children if d == dim)
        facets = _box_faces(gmsh, dim, ext, eps)
        _check_exterior(gmsh, dim, facets)
        interfaces: list[int] = []
        for i in range(1, n):
            lo = [xs[i]] + [0.0] * (dim - 1)
            hi = [xs[i]] + ext[1:]
            tags = _in_box(gmsh, dim - 1, lo, hi, eps)
            if not tags:
                raise RuntimeError(f"geometry builder bug: no interface at x = {x[i]}")
            facets[f"interface_{i}"] = tags
            interfaces += tags
        _physical_groups(gmsh, dim, materials, facets)
        h_near = None if interface_mesh_size is None else interface_mesh_size / s
        _mesh_sizes(gmsh, opt, dim, interfaces, mesh_size / s, h_near)
        if periodic:
            _set_periodic(gmsh, dim, ext, facets, range(dim))
        return _finish(gmsh, opt, dim, s, path, builder, params,
                       {"interface_x": x[1:-1].tolist(), "length": length})


def _layer_names(
    names: Sequence[str] | None, n: int, default: Sequence[str], what: str = "thicknesses"
) -> list[str]:
    if names is None:
        names = default
    if isinstance(names, str):
        raise FemheatInputError(f"names = {names!r} must be a sequence of names, one per layer")
    out = [str(v) for v in names]
    if len(out) != n:
        raise FemheatInputError(
            f"names has {len(out)} entries but {what} has {n}; give one name per layer")
    if any(not v for v in out):
        raise FemheatInputError(f"names = {out!r} contains an empty name")
    return out


def layered_stack(
    thicknesses: Sequence[float],
    height: float,
    *,
    depth: float | None = None,
    names: Sequence[str] | None = None,
    mesh_size: float,
    interface_mesh_size: float | None = None,
    periodic: bool = False,
    path: str | Path,
) -> Path:
    """Layers stacked along x: a bilayer, multilayer or superlattice.

    Layer i occupies x in [sum(t[:i]), sum(t[:i+1])], y in [0, height]
    (and z in [0, depth] in 3D).

    Parameters
    ----------
    thicknesses
        Layer thicknesses along x [m], each > 0.
    height
        Extent along y [m].
    depth
        Extent along z [m]; given, the stack is a 3D box meshed with
        tetrahedra, otherwise a 2D rectangle meshed with triangles.
    names
        Material name of each layer (default ``"layer_1"`` ... ``"layer_N"``).
        Repeated names share one physical group, e.g. ``["A", "B", "A"]``.
    mesh_size
        Target element size [m].
    interface_mesh_size
        Element size on the interfaces [m], growing to ``mesh_size`` away
        from them (default: uniform ``mesh_size``).
    periodic
        Mesh opposite faces (left/right, bottom/top, front/back) node for
        node identically, for periodic boundary conditions.
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Regions: the layer names; interfaces ``"interface_1"`` ...
        ``"interface_{N-1}"`` (between layer i and i+1); boundaries
        ``"left"`` (x = 0), ``"right"`` (x = L), ``"bottom"``, ``"top"`` (y)
        and in 3D ``"front"`` (z = 0), ``"back"`` (z = depth).
    """
    path = _mesh_path(path)
    t = _lengths("thicknesses", thicknesses)
    height = _positive("height", height)
    depth = None if depth is None else _positive("depth", depth)
    mesh_size = _positive("mesh_size", mesh_size)
    h_near = None if interface_mesh_size is None else _positive(
        "interface_mesh_size", interface_mesh_size)
    periodic = _flag("periodic", periodic)
    n = len(t)
    layer_names = _layer_names(names, n, [f"layer_{i + 1}" for i in range(n)])
    params = {
        "thicknesses": t,
        "height": height,
        "depth": depth,
        "names": None if names is None else layer_names,
        "mesh_size": mesh_size,
        "interface_mesh_size": h_near,
        "periodic": periodic,
    }
    return _layered("layered_stack", params, t, layer_names, height, depth, mesh_size,
                    h_near, periodic, path)


def superlattice(
    period: Sequence[float],
    n_periods: int,
    *,
    names: Sequence[str] = ("A", "B"),
    height: float,
    depth: float | None = None,
    mesh_size: float,
    interface_mesh_size: float | None = None,
    periodic: bool = False,
    path: str | Path,
) -> Path:
    """A superlattice: ``n_periods`` repetitions of the layer sequence ``period`` along x.

    A convenience over :func:`layered_stack`: the layers are
    ``period * n_periods`` with names ``names * n_periods`` (each material one
    region).

    Parameters
    ----------
    period
        Thicknesses of the layers of one period [m], e.g. ``[t_A, t_B]``.
    n_periods
        Number of periods N.
    names
        Material name of each layer of the period (default ``("A", "B")``).
    height, depth, mesh_size, interface_mesh_size, periodic, path
        As in :func:`layered_stack`.

    Returns
    -------
    Path
        ``path``. Regions: the distinct ``names``; interfaces
        ``"interface_1"`` ... ``"interface_{N p - 1}"`` for p layers a period
        (2N - 1 for a bilayer period), numbered along x; boundaries as in
        :func:`layered_stack`.
    """
    path = _mesh_path(path)
    per = _lengths("period", period)
    n_periods = _positive_int("n_periods", n_periods)
    layer_names = _layer_names(names, len(per), ("A", "B"), what="period")
    height = _positive("height", height)
    depth = None if depth is None else _positive("depth", depth)
    mesh_size = _positive("mesh_size", mesh_size)
    h_near = None if interface_mesh_size is None else _positive(
        "interface_mesh_size", interface_mesh_size)
    periodic = _flag("periodic", periodic)
    params = {
        "period": per,
        "n_periods": n_periods,
        "names": layer_names,
        "height": height,
        "depth": depth,
        "mesh_size": mesh_size,
        "interface_mesh_size": h_near,
        "periodic": periodic,
    }
    return _layered("superlattice", params, per * n_periods, layer_names * n_periods, height,
                    depth, mesh_size, h_near, periodic, path)


# ---------------------------------------------------------------- inclusions
def _check_inclusion_size(name: str, value: float | None, mesh_size: float) -> float:
    return mesh_size if value is None else _positive(name, value)


def _centers_radii(centers: Any, radii: Any, dim: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        c = np.asarray(centers, dtype=float)
    except (TypeError, ValueError):
        raise FemheatInputError(
            f"centers = {centers!r} must be an (N, {dim}) array [m]") from None
    if c.ndim == 1 and c.size == dim:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != dim or c.shape[0] == 0 or not np.all(np.isfinite(c)):
        raise FemheatInputError(
            f"centers must be a non-empty (N, {dim}) array of finite coordinates [m]; got "
            f"shape {c.shape}"
        )
    nc = c.shape[0]
    if np.ndim(radii) == 0:
        r = np.full(nc, _positive("radii", radii))
    else:
        r = np.array([_positive(f"radii[{i}]", v) for i, v in enumerate(radii)])
        if r.size != nc:
            raise FemheatInputError(
                f"radii has {r.size} entries but centers has {nc}; give one radius per "
                "centre or a single radius"
            )
    return c, r


def _check_disjoint(c: np.ndarray, r: np.ndarray, extent: Sequence[float], periodic: bool) -> None:
    """Inclusions strictly inside the box and pairwise disjoint, or an error naming them."""
    tol = 1e-9 * max(extent)
    box = " x ".join(f"[0, {v:g}]" for v in extent)
    ext = np.asarray(extent)
    wall = np.minimum(c, ext - c).min(axis=1) - r
    for i in np.nonzero(wall <= tol)[0][:1]:
        note = (" (periodic = True: inclusions are not wrapped across the cell, so each "
                "must lie strictly inside it)" if periodic else "")
        raise FemheatInputError(
            f"inclusion {i} (centers[{i}] = {c[i].tolist()}, radii[{i}] = {r[i]:g}) "
            f"touches or crosses the boundary of {box}{note}; move it inside or shrink it"
        )
    i, j = np.triu_indices(c.shape[0], 1)
    d = np.linalg.norm(c[i] - c[j], axis=1)
    bad = np.nonzero(d - (r[i] + r[j]) <= tol)[0]
    if bad.size:
        a, b = int(i[bad[0]]), int(j[bad[0]])
        raise FemheatInputError(
            f"inclusions {a} and {b} overlap or touch (centers {c[a].tolist()} "
            f"and {c[b].tolist()}, radii {r[a]:g} + {r[b]:g} >= distance {d[bad[0]]:g}); "
            "change centers or radii"
        )


def _draw_particle(occ: Any, dim: int, c: np.ndarray, a: np.ndarray, rot: np.ndarray) -> int:
    """Draw one circle/ellipse (2D surface) or sphere/ellipsoid (3D volume); return its tag."""
    if dim == 2:
        angle = math.atan2(rot[1, 0], rot[0, 0])
        rx, ry = float(a[0]), float(a[1])
        if ry > rx:
            rx, ry, angle = ry, rx, angle + 0.5 * math.pi
        tag = occ.addDisk(float(c[0]), float(c[1]), 0.0, rx, ry)
        if rx != ry and angle != 0.0:
            occ.rotate([(2, tag)], float(c[0]), float(c[1]), 0.0, 0.0, 0.0, 1.0, angle)
        return tag
    if np.all(a == a[0]):
        return occ.addSphere(float(c[0]), float(c[1]), float(c[2]), float(a[0]))
    tag = occ.addSphere(0.0, 0.0, 0.0, 1.0)
    occ.dilate([(3, tag)], 0.0, 0.0, 0.0, float(a[0]), float(a[1]), float(a[2]))
    affine = np.hstack([rot, np.asarray(c, dtype=float)[:, None]]).ravel()
    occ.affineTransform([(3, tag)], [float(v) for v in affine])
    return tag


def _inclusion_model(
    builder: str,
    params: dict[str, Any],
    extent_si: Sequence[float],
    centers: np.ndarray,
    semi_axes: np.ndarray,
    rotations: np.ndarray,
    coating: float,
    names: Mapping[str, str],
    mesh_size: float,
    interface_mesh_size: float | None,
    periodic: bool,
    path: Path,
    derived: dict[str, Any] | None = None,
) -> Path:
    """Draw and mesh a box with particles (shared by the inclusion builders).

    ``names`` maps ``"matrix"``, ``"inclusion"`` (and ``"coating"``) to
    material names; lengths in metres.
    """
    dim = len(extent_si)
    s = _scale(max(extent_si))
    with _session(builder) as (gmsh, opt):
        occ = gmsh.model.occ
        ext = [v / s for v in extent_si]
        box = occ.addRectangle(0, 0, 0, *ext) if dim == 2 else occ.addBox(0, 0, 0, *ext)
        cores = [_draw_particle(occ, dim, c / s, a / s, q)
                 for c, a, q in zip(centers, semi_axes, rotations)]
        shells = [_draw_particle(occ, dim, c / s, (a + coating) / s, q)
                  for c, a, q in zip(centers, semi_axes, rotations)] if coating > 0 else []
        mat, inc, coat, inner, outer = _embed_inclusions(gmsh, dim, box, cores, shells)
        eps = 1e-6 * max(ext)
        facets = _box_faces(gmsh, dim, ext, eps)
        _check_exterior(gmsh, dim, facets)
        facets["inclusion_surface"] = inner
        materials = {names["matrix"]: mat, names["inclusion"]: inc}
        if coat:
            facets["coating_surface"] = outer
            materials[names["coating"]] = coat
        _physical_groups(gmsh, dim, materials, facets)
        h_near = None if interface_mesh_size is None else interface_mesh_size / s
        _mesh_sizes(gmsh, opt, dim, inner + outer, mesh_size / s, h_near)
        if periodic:
            _set_periodic(gmsh, dim, ext, facets, range(dim))
        return _finish(gmsh, opt, dim, s, path, builder, params, derived)


def _identity(n: int, dim: int) -> np.ndarray:
    return np.broadcast_to(np.eye(dim), (n, dim, dim))


def inclusions_2d(
    width: float,
    height: float,
    centers: Sequence[Sequence[float]],
    radii: float | Sequence[float],
    *,
    mesh_size: float,
    interface_mesh_size: float | None = None,
    matrix: str = "matrix",
    inclusion: str = "inclusion",
    periodic: bool = False,
    path: str | Path,
) -> Path:
    """A rectangle [0, width] x [0, height] with circular inclusions.

    Parameters
    ----------
    width, height
        Extent of the rectangle along x and y [m].
    centers
        Inclusion centres, shape (N, 2) [m].
    radii
        Inclusion radii [m]: one per centre, or one for all.
    mesh_size
        Target element size away from the inclusion surfaces [m].
    interface_mesh_size
        Element size on the inclusion surfaces [m] (default ``mesh_size``);
        the size grows smoothly to ``mesh_size`` away from them.
    matrix, inclusion
        Material names of the matrix and of the inclusions (all inclusions
        form one region).
    periodic
        Mesh left/right and bottom/top node for node identically.
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Regions: ``matrix`` and ``inclusion`` (in that order, so an
        interface orientation is (matrix, inclusion)); interface
        ``"inclusion_surface"`` (all circles); boundaries ``"left"``,
        ``"right"``, ``"bottom"``, ``"top"``.

    Raises
    ------
    FemheatInputError
        Non-positive sizes, inclusions that overlap or touch each other, or
        that touch or cross the rectangle's boundary.
    """
    path = _mesh_path(path)
    width = _positive("width", width)
    height = _positive("height", height)
    mesh_size = _positive("mesh_size", mesh_size)
    h_near = _check_inclusion_size("interface_mesh_size", interface_mesh_size, mesh_size)
    periodic = _flag("periodic", periodic)
    c, r = _centers_radii(centers, radii, 2)
    names = {"matrix": matrix, "inclusion": inclusion}
    _material_names(names, set(_BOUNDARY_NAMES_2D) | {"inclusion_surface"})
    _check_disjoint(c, r, [width, height], periodic)
    params = {
        "width": width,
        "height": height,
        "centers": c.tolist(),
        "radii": r.tolist(),
        "mesh_size": mesh_size,
        "interface_mesh_size": interface_mesh_size if interface_mesh_size is None else h_near,
        "matrix": matrix,
        "inclusion": inclusion,
        "periodic": periodic,
    }
    return _inclusion_model(
        "inclusions_2d", params, [width, height], c, np.repeat(r[:, None], 2, axis=1),
        _identity(c.shape[0], 2), 0.0, names, mesh_size, None if interface_mesh_size is None
        else h_near, periodic, path)


def box_inclusions(
    size: Sequence[float],
    centers: Sequence[Sequence[float]],
    radii: float | Sequence[float],
    *,
    mesh_size: float,
    interface_mesh_size: float | None = None,
    matrix: str = "matrix",
    inclusion: str = "inclusion",
    periodic: bool = False,
    path: str | Path,
) -> Path:
    """A box [0, sx] x [0, sy] x [0, sz] with spherical inclusions.

    Parameters
    ----------
    size
        Box extents (sx, sy, sz) [m].
    centers
        Sphere centres, shape (N, 3) [m].
    radii
        Sphere radii [m]: one per centre, or one for all.
    mesh_size
        Target element size away from the spheres [m].
    interface_mesh_size
        Element size on the spheres [m] (default: uniform ``mesh_size``).
    matrix, inclusion
        Material names of the matrix and of the spheres (one region).
    periodic
        Mesh opposite faces node for node identically.
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Regions ``matrix``, ``inclusion``; interface
        ``"inclusion_surface"``; boundaries ``"left"``/``"right"`` (x),
        ``"bottom"``/``"top"`` (y), ``"front"``/``"back"`` (z).

    Raises
    ------
    FemheatInputError
        Non-positive sizes, spheres that overlap or touch each other, or
        that touch or cross the box (also with ``periodic=True``: spheres
        are not wrapped across the cell).
    """
    path = _mesh_path(path)
    sz = _lengths("size", size, 3)
    mesh_size = _positive("mesh_size", mesh_size)
    h_near = None if interface_mesh_size is None else _positive(
        "interface_mesh_size", interface_mesh_size)
    periodic = _flag("periodic", periodic)
    c, r = _centers_radii(centers, radii, 3)
    names = {"matrix": matrix, "inclusion": inclusion}
    _material_names(names, set(_BOUNDARY_NAMES_3D) | {"inclusion_surface"})
    _check_disjoint(c, r, sz, periodic)
    params = {
        "size": sz,
        "centers": c.tolist(),
        "radii": r.tolist(),
        "mesh_size": mesh_size,
        "interface_mesh_size": h_near,
        "matrix": matrix,
        "inclusion": inclusion,
        "periodic": periodic,
    }
    return _inclusion_model(
        "box_inclusions", params, sz, c, np.repeat(r[:, None], 3, axis=1),
        _identity(c.shape[0], 3), 0.0, names, mesh_size, h_near, periodic, path)


def inclusion_3d(
    size: Sequence[float],
    center: Sequence[float],
    radius: float,
    *,
    mesh_size: float,
    interface_mesh_size: float | None = None,
    path: str | Path,
) -> Path:
    """A box [0, sx] x [0, sy] x [0, sz] with one spherical inclusion.

    The one-sphere case of :func:`box_inclusions`.

    Parameters
    ----------
    size
        Box extents (sx, sy, sz) [m].
    center
        Sphere centre (x, y, z) [m].
    radius
        Sphere radius [m].
    mesh_size
        Target element size away from the sphere [m].
    interface_mesh_size
        Element size on the sphere [m] (default ``mesh_size``).
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Regions ``"matrix"``, ``"inclusion"``; interface
        ``"inclusion_surface"``; boundaries ``"left"``/``"right"`` (x),
        ``"bottom"``/``"top"`` (y), ``"front"``/``"back"`` (z).

    Raises
    ------
    FemheatInputError
        Non-positive sizes, or a sphere that touches or crosses the box.
    """
    path = _mesh_path(path)
    try:
        sz = [float(v) for v in size]  # type: ignore[union-attr]
        ct = [float(v) for v in center]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise FemheatInputError(
            f"size = {size!r} and center = {center!r} must be 3 lengths each [m]"
        ) from None
    if len(sz) != 3:
        raise FemheatInputError(f"size = {size!r} must have 3 entries (sx, sy, sz) [m]")
    if len(ct) != 3 or not all(math.isfinite(v) for v in ct):
        raise FemheatInputError(f"center = {center!r} must be 3 finite coordinates [m]")
    sz = [_positive(f"size[{i}]", v) for i, v in enumerate(sz)]
    radius = _positive("radius", radius)
    mesh_size = _positive("mesh_size", mesh_size)
    h_near = _check_inclusion_size("interface_mesh_size", interface_mesh_size, mesh_size)
    gap = min(min(ct[i], sz[i] - ct[i]) for i in range(3))
    if gap - radius <= 1e-9 * max(sz):
        raise FemheatInputError(
            f"the sphere (center = {ct}, radius = {radius:g}) touches or crosses the box "
            f"[0, {sz[0]:g}] x [0, {sz[1]:g}] x [0, {sz[2]:g}] (parameter size/center/"
            "radius); move it inside or shrink it"
        )
    params = {
        "size": sz,
        "center": ct,
        "radius": radius,
        "mesh_size": mesh_size,
        "interface_mesh_size": interface_mesh_size if interface_mesh_size is None else h_near,
    }
    return _inclusion_model(
        "inclusion_3d", params, sz, np.array([ct]), np.full((1, 3), radius), _identity(1, 3),
        0.0, {"matrix": "matrix", "inclusion": "inclusion"}, mesh_size,
        None if interface_mesh_size is None else h_near, False, path)


_ARRANGEMENTS = ("lattice", "hexagonal", "random")


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays turned into Python numbers/lists (JSON-ready)."""
    if value is None or isinstance(value, str):
        return value
    return np.asarray(value).tolist()


_PARTICLE_NAMES = {"matrix": "matrix", "inclusion": "inclusion", "coating": "coating"}


def particle_composite(
    size: Sequence[float],
    volume_fraction: float,
    *,
    shape: str = "circle",
    arrangement: str = "lattice",
    n_per_side: int | Sequence[int] | None = None,
    n_particles: int | None = None,
    aspect_ratio: float | Sequence[float] = 1.0,
    orientation: float | Sequence[float] | str = 0.0,
    seed: int = 0,
    min_gap: float = 0.0,
    max_attempts: int = 20_000,
    coating_thickness: float | None = None,
    periodic: bool = False,
    mesh_size: float,
    interface_mesh_size: float | None = None,
    names: Mapping[str, str] | None = None,
    path: str | Path,
) -> Path:
    """A particle composite: identical particles at a target volume fraction in a box.

    2D (circles or ellipses) when ``size`` has two entries, 3D (spheres or
    ellipsoids) when it has three. Placement is done by
    :mod:`femheat.mesh.packing` (rules, gap tests and packing limits are described
    there); all particles share one size, computed from the volume fraction.

    Parameters
    ----------
    size
        Cell extents (lx, ly) or (lx, ly, lz) [m]; the cell is [0, lx] x ...
    volume_fraction
        Area (2D) or volume (3D) fraction of the inclusion cores, in (0, 1).
    shape
        ``"circle"``, ``"ellipse"`` (2D), ``"sphere"``, ``"ellipsoid"`` (3D).
    arrangement
        ``"lattice"`` (square in 2D, simple cubic in 3D; limits pi/4 and
        pi/6), ``"hexagonal"`` (2D, rows offset by half a pitch; limit
        pi/(2 sqrt 3), and pi/(8 sqrt 3) = 0.227 without wrapping) or
        ``"random"`` (random sequential addition; practical limits 0.50 in
        2D, 0.35 in 3D).
    n_per_side
        Lattices: particles along each axis (one integer or one per axis;
        hexagonal: (columns, even number of rows)).
    n_particles
        Random arrangement: number of particles.
    aspect_ratio
        Ellipse: major over minor semi-axis (>= 1). Ellipsoid: a/b with
        b = c, or a pair (a/c, b/c). Must be 1 for circles and spheres.
    orientation
        Angle of the major axis from x [degrees] (about z in 3D), three z-y-z
        Euler angles [degrees] (3D), or ``"random"`` (per particle, seeded).
    seed
        Seed of the random placement and orientations.
    min_gap
        Smallest gap between particles [m] (half of it to the cell faces);
        coatings count as part of the particles. For random packings a gap of
        about ``interface_mesh_size`` keeps the cells between particles well
        shaped.
    max_attempts
        Random arrangement: candidate positions tried per particle.
    coating_thickness
        Thickness of a coating shell around every particle [m] (default: no
        coating). Ellipse/ellipsoid coatings enlarge every semi-axis by it.
    periodic
        Mesh opposite faces node for node identically (particles are never
        wrapped across the cell).
    mesh_size
        Target element size away from the particle surfaces [m].
    interface_mesh_size
        Element size on the particle (and coating) surfaces [m], growing to
        ``mesh_size`` away from them (default: uniform ``mesh_size``).
    names
        Material names, a mapping with keys among ``"matrix"``,
        ``"inclusion"``, ``"coating"`` (defaults: the keys themselves).
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it
        whose ``"derived"`` entry holds the placed particles and the achieved
        volume fraction.

    Returns
    -------
    Path
        ``path``. Regions: matrix, inclusion (all particles one region) and
        coating (with a coating); interfaces ``"inclusion_surface"``
        (inclusion | matrix, or inclusion | coating) and ``"coating_surface"``
        (coating | matrix); boundaries ``"left"``/``"right"``,
        ``"bottom"``/``"top"`` and in 3D ``"front"``/``"back"``.

    Raises
    ------
    FemheatInputError
        Unknown shape, arrangement or material key, a volume fraction above
        the packing limit of the arrangement, a random placement that fails
        within its attempt budget, non-positive sizes.
    """
    path = _mesh_path(path)
    try:
        dim = len(size)  # type: ignore[arg-type]
    except TypeError:
        raise FemheatInputError(
            f"size = {size!r} must be 2 or 3 cell extents (lx, ly[, lz]) [m]") from None
    extent = _lengths("size", size)
    if dim not in (2, 3):
        raise FemheatInputError(f"size = {size!r} must have 2 (2D) or 3 (3D) entries [m]")
    mesh_size = _positive("mesh_size", mesh_size)
    h_near = None if interface_mesh_size is None else _positive(
        "interface_mesh_size", interface_mesh_size)
    t = 0.0 if coating_thickness is None else _positive("coating_thickness", coating_thickness)
    periodic = _flag("periodic", periodic)
    if arrangement not in _ARRANGEMENTS:
        raise FemheatInputError(
            f"arrangement = {arrangement!r} is unknown; use one of "
            + ", ".join(repr(a) for a in _ARRANGEMENTS))
    if names is not None and not isinstance(names, Mapping):
        raise FemheatInputError(
            f"names = {names!r} must be a mapping such as {{'matrix': 'epoxy', "
            "'inclusion': 'silica'}")
    given = dict(names or {})
    unknown = sorted(set(given) - set(_PARTICLE_NAMES))
    if unknown:
        raise FemheatInputError(
            f"names has unknown material keys {unknown}; the materials of a particle "
            f"composite are {sorted(_PARTICLE_NAMES)} (e.g. names = {{'matrix': 'epoxy'}})")
    mat_names = {**_PARTICLE_NAMES, **given}
    if t == 0:
        mat_names.pop("coating")
    facet_names = set(_BOUNDARY_NAMES_3D) | {"inclusion_surface", "coating_surface"}
    _material_names(mat_names, facet_names)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FemheatInputError(f"seed = {seed!r} must be an integer >= 0")
    common = dict(shape=shape, aspect_ratio=aspect_ratio, orientation=orientation,
                  min_gap=min_gap, coating_thickness=t, seed=seed)
    if arrangement == "random":
        if n_per_side is not None:
            raise FemheatInputError(
                "n_per_side is for lattices; give n_particles for arrangement = \"random\"")
        if n_particles is None:
            raise FemheatInputError(
                "arrangement = \"random\" needs n_particles (the number of particles)")
        placed = random_placement(extent, volume_fraction, n_particles,
                                  max_attempts=max_attempts, **common)
    else:
        if n_particles is not None:
            raise FemheatInputError(
                f"n_particles is for arrangement = \"random\"; give n_per_side for "
                f"arrangement = {arrangement!r}")
        if n_per_side is None:
            raise FemheatInputError(
                f"arrangement = {arrangement!r} needs n_per_side (particles along each axis)")
        lattice = "hexagonal" if arrangement == "hexagonal" else None
        placed = lattice_placement(extent, volume_fraction, n_per_side, lattice=lattice,
                                   **common)
    params = {
        "size": extent,
        "volume_fraction": float(volume_fraction),
        "shape": shape,
        "arrangement": arrangement,
        "n_per_side": _plain(n_per_side),
        "n_particles": _plain(n_particles),
        "aspect_ratio": _plain(aspect_ratio),
        "orientation": _plain(orientation),
        "seed": int(seed),
        "min_gap": float(min_gap),
        "max_attempts": int(max_attempts),
        "coating_thickness": coating_thickness if coating_thickness is None else t,
        "periodic": periodic,
        "mesh_size": mesh_size,
        "interface_mesh_size": h_near,
        "names": None if names is None else given,
    }
    return _inclusion_model(
        "particle_composite", params, extent, placed.centers, placed.semi_axes,
        placed.rotations, t, mat_names, mesh_size, h_near, periodic, path, placed.to_dict())


# --------------------------------------------------------- films and ribbons
def thin_film(
    film_thickness: float,
    substrate_thickness: float,
    width: float,
    heater_width: float,
    *,
    depth: float | None = None,
    film: str = "film",
    substrate: str = "substrate",
    mesh_size: float,
    film_mesh_size: float | None = None,
    path: str | Path,
) -> Path:
    """A thin film on a substrate with a heater line centred on the film's top surface.

    The substrate fills y in [0, t_s], the film y in [t_s, t_s + t_f], both
    x in [0, width] (and z in [0, depth] in 3D). The heater is the part
    x in [(width - heater_width)/2, (width + heater_width)/2] of the top
    surface (in 3D a strip across the whole depth), as used in 3-omega and
    thermoreflectance set-ups.

    Parameters
    ----------
    film_thickness
        Film thickness t_f [m].
    substrate_thickness
        Substrate thickness t_s [m].
    width
        Extent along x [m].
    heater_width
        Width of the heater line [m], 0 < heater_width < width.
    depth
        Extent along z [m]; given, the model is 3D (tetrahedra).
    film, substrate
        Material names.
    mesh_size
        Element size deep in the substrate [m].
    film_mesh_size
        Element size in the film [m] (default ``min(mesh_size,
        film_thickness / 2)``, two cells across the film); the size grows
        smoothly to ``mesh_size`` below the film.
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Regions ``film``, ``substrate`` (in that order); interface
        ``"film_substrate"``; boundaries ``"heater"`` (the heater line),
        ``"top"`` (the rest of the film's top surface), ``"left"`` (x = 0),
        ``"right"`` (x = width), ``"bottom"`` (y = 0) and in 3D ``"front"``
        (z = 0), ``"back"`` (z = depth).
    """
    path = _mesh_path(path)
    tf = _positive("film_thickness", film_thickness)
    ts = _positive("substrate_thickness", substrate_thickness)
    width = _positive("width", width)
    hw = _positive("heater_width", heater_width)
    if hw >= width * (1 - 1e-9):
        raise FemheatInputError(
            f"heater_width = {hw:g} m must be smaller than width = {width:g} m (the heater "
            "is a line on part of the top surface)")
    depth = None if depth is None else _positive("depth", depth)
    mesh_size = _positive("mesh_size", mesh_size)
    hf = min(mesh_size, 0.5 * tf) if film_mesh_size is None else _positive(
        "film_mesh_size", film_mesh_size)
    names = {"film": film, "substrate": substrate}
    _material_names(names, set(_BOUNDARY_NAMES_3D) | {"heater", "film_substrate"})
    dim = 2 if depth is None else 3
    height = ts + tf
    extent_si = [width, height] + ([depth] if depth is not None else [])
    s = _scale(max(extent_si))
    params = {
        "film_thickness": tf,
        "substrate_thickness": ts,
        "width": width,
        "heater_width": hw,
        "depth": depth,
        "film": film,
        "substrate": substrate,
        "mesh_size": mesh_size,
        "film_mesh_size": film_mesh_size if film_mesh_size is None else hf,
    }

    with _session("thin_film") as (gmsh, opt):
        occ = gmsh.model.occ
        ext = [v / s for v in extent_si]
        x0, x1 = 0.5 * (width - hw) / s, 0.5 * (width + hw) / s
        ys, yt = ts / s, height / s

        def block(xa: float, xb: float, ya: float, yb: float) -> int:
            if dim == 2:
                return occ.addRectangle(xa, ya, 0, xb - xa, yb - ya)
            return occ.addBox(xa, ya, 0, xb - xa, yb - ya, ext[2])

        sub = block(0, ext[0], 0, ys)
        # the film in three pieces so that the heater edge is a geometric vertex/edge
        pieces = [block(0, x0, ys, yt), block(x0, x1, ys, yt), block(x1, ext[0], ys, yt)]
        _, out_map = occ.fragment([(dim, sub)], [(dim, p) for p in pieces])
        occ.synchronize()
        film_ents = sorted({t for m in out_map[1:] for d, t in m if d == dim})
        sub_ents = sorted({t for d, t in out_map[0] if d == dim} - set(film_ents))
        eps = 1e-6 * max(ext)
        faces = _box_faces(gmsh, dim, ext, eps)
        _check_exterior(gmsh, dim, faces)
        lo_h = [x0, yt] + ([0.0] if dim == 3 else [])
        hi_h = [x1, yt] + ([ext[2]] if dim == 3 else [])
        heater = _in_box(gmsh, dim - 1, lo_h, hi_h, eps)
        top = sorted(set(faces["top"]) - set(heater))
        lo_i = [0.0, ys] + ([0.0] if dim == 3 else [])
        hi_i = [ext[0], ys] + ([ext[2]] if dim == 3 else [])
        iface = _in_box(gmsh, dim - 1, lo_i, hi_i, eps)
        if len(heater) != 1 or len(top) != 2 or not iface:
            raise RuntimeError(
                f"geometry builder bug: heater {heater}, top {top}, interface {iface}")
        facets = {"heater": heater, "top": top, "left": faces["left"],
                  "right": faces["right"], "bottom": faces["bottom"]}
        if dim == 3:
            facets.update(front=faces["front"], back=faces["back"])
        facets["film_substrate"] = iface
        _physical_groups(gmsh, dim, {film: film_ents, substrate: sub_ents}, facets)
        # film size within the film (distance <= t_f from its top), graded below it
        _refine_near(gmsh, opt, dim, heater + top, mesh_size / s, hf / s, dist_min=tf / s)
        return _finish(gmsh, opt, dim, s, path, "thin_film", params)


def channel(
    width: float,
    length: float,
    *,
    mesh_size: float,
    wall_mesh_size: float | None = None,
    material: str = "channel",
    periodic: bool = False,
    path: str | Path,
) -> Path:
    """A 2D ribbon (channel) [0, length] x [0, width] with refined side walls.

    Unlike :func:`strip` (structured, for 1D-like runs), the channel is an
    unstructured triangle mesh graded towards its walls, where GK flux
    boundary layers (width ~ the nonlocal length) need resolution.

    Parameters
    ----------
    width
        Channel width along y [m] (walls at y = 0 and y = width).
    length
        Channel length along x [m].
    mesh_size
        Element size on the centre line [m].
    wall_mesh_size
        Element size on the walls [m], growing to ``mesh_size`` towards the
        centre (default: uniform ``mesh_size``).
    material
        Material name of the channel.
    periodic
        Mesh ``"inlet"`` and ``"outlet"`` node for node identically (a
        periodic channel section).
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Region ``material`` (``"channel"``); boundaries ``"inlet"``
        (x = 0), ``"outlet"`` (x = length) and ``"walls"`` (y = 0 and
        y = width).
    """
    path = _mesh_path(path)
    width = _positive("width", width)
    length = _positive("length", length)
    mesh_size = _positive("mesh_size", mesh_size)
    h_wall = None if wall_mesh_size is None else _positive("wall_mesh_size", wall_mesh_size)
    periodic = _flag("periodic", periodic)
    _material_names({"material": material}, {"inlet", "outlet", "walls"})
    s = _scale(max(width, length))
    params = {"width": width, "length": length, "mesh_size": mesh_size,
              "wall_mesh_size": h_wall, "material": material, "periodic": periodic}

    with _session("channel") as (gmsh, opt):
        occ = gmsh.model.occ
        ext = [length / s, width / s]
        surf = occ.addRectangle(0, 0, 0, ext[0], ext[1])
        occ.synchronize()
        faces = _box_faces(gmsh, 2, ext, 1e-6 * max(ext))
        _check_exterior(gmsh, 2, faces)
        walls = faces["bottom"] + faces["top"]
        facets = {"inlet": faces["left"], "outlet": faces["right"], "walls": walls}
        _physical_groups(gmsh, 2, {material: [surf]}, facets)
        _mesh_sizes(gmsh, opt, 2, walls, mesh_size / s,
                    None if h_wall is None else h_wall / s)
        if periodic:
            _set_periodic(gmsh, 2, ext, faces, [0])
        return _finish(gmsh, opt, 2, s, path, "channel", params)


def strip(
    length: float,
    height: float,
    *,
    n_length: int,
    n_height: int = 1,
    path: str | Path,
) -> Path:
    """A structured triangle mesh of [0, length] x [0, height] for 1D-like runs.

    The rectangle is split into ``n_length`` x ``n_height`` equal cells, each
    cut into two triangles (gmsh transfinite meshing), so fields that depend
    on x only are represented exactly as in a 1D mesh of ``n_length`` cells.

    Parameters
    ----------
    length
        Extent along x [m].
    height
        Extent along y [m].
    n_length
        Number of cells along x.
    n_height
        Number of cells along y.
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Region ``"medium"``; boundaries ``"left"`` (x = 0),
        ``"right"`` (x = length) and ``"sides"`` (y = 0 and y = height).

    Warns
    -----
    UserWarning
        When the cells are stretched beyond :data:`femheat.mesh.quality.DEFAULT_LIMITS`
        (e.g. more than ~11:1); the mesh is still written, since stretched
        cells can be intended here.
    """
    path = _mesh_path(path)
    length = _positive("length", length)
    height = _positive("height", height)
    n_length = _positive_int("n_length", n_length)
    n_height = _positive_int("n_height", n_height)
    s = _scale(max(length, height))
    params = {"length": length, "height": height, "n_length": n_length, "n_height": n_height}

    with _session("strip") as (gmsh, opt):
        occ = gmsh.model.occ
        ext = [length / s, height / s]
        surf = occ.addRectangle(0, 0, 0, ext[0], ext[1])
        occ.synchronize()
        eps = 1e-6 * max(ext)
        sides = _box_faces(gmsh, 2, ext, eps)
        _check_exterior(gmsh, 2, sides)
        facets = {
            "left": sides["left"],
            "right": sides["right"],
            "sides": sides["bottom"] + sides["top"],
        }
        for tag in sides["bottom"] + sides["top"]:
            gmsh.model.mesh.setTransfiniteCurve(tag, n_length + 1)
        for tag in sides["left"] + sides["right"]:
            gmsh.model.mesh.setTransfiniteCurve(tag, n_height + 1)
        gmsh.model.mesh.setTransfiniteSurface(surf, arrangement="Left")
        _physical_groups(gmsh, 2, {"medium": [surf]}, facets)
        # cells stretched on purpose (1D-like runs): the quality report only warns
        return _finish(gmsh, opt, 2, s, path, "strip", params, enforce_quality=False)


def wire(
    radius: float,
    length: float,
    *,
    mesh_size: float,
    path: str | Path,
) -> Path:
    """A cylindrical wire along x (tetrahedra): x in [0, length], y² + z² ≤ radius².

    Parameters
    ----------
    radius
        Wire radius R [m].
    length
        Wire length [m].
    mesh_size
        Target element size [m] (curvature is resolved by the size alone).
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Region ``"wire"``; boundaries ``"hot"`` (x = 0), ``"cold"``
        (x = length) and ``"surface"`` (the lateral surface).
    """
    path = _mesh_path(path)
    radius = _positive("radius", radius)
    length = _positive("length", length)
    mesh_size = _positive("mesh_size", mesh_size)
    s = _scale(max(radius, length))
    params = {"radius": radius, "length": length, "mesh_size": mesh_size}

    with _session("wire") as (gmsh, opt):
        occ = gmsh.model.occ
        vol = occ.addCylinder(0, 0, 0, length / s, 0, 0, radius / s)
        occ.synchronize()
        eps = 1e-6 * max(radius, length) / s
        faces: dict[str, list[int]] = {"hot": [], "cold": [], "surface": []}
        for _, tag in gmsh.model.getEntities(2):
            x0, _, _, x1, _, _ = gmsh.model.getBoundingBox(2, tag)
            if x1 - x0 < eps:
                faces["hot" if abs(x0) < eps else "cold"].append(tag)
            else:
                faces["surface"].append(tag)
        if not all(faces.values()):
            raise RuntimeError(f"geometry builder bug: wire faces {faces}")
        _uniform_size(gmsh, opt, mesh_size / s)
        _physical_groups(gmsh, 3, {"wire": [vol]}, faces)
        return _finish(gmsh, opt, 3, s, path, "wire", params)


_SECTORS = ("octant", "wedge")


def ball_sector(
    radius: float,
    *,
    mesh_size: float,
    center_mesh_size: float | None = None,
    grading: float = 0.3,
    sector: str = "octant",
    material: str = "medium",
    path: str | Path,
) -> Path:
    """A sector of the ball |x| ≤ radius bounded by symmetry planes through its centre.

    For problems with a point-symmetric solution about the origin (a localized
    source in an infinite medium: the flux is radial), the planes are exact
    symmetry walls (q·n = 0; for the Guyer–Krumhansl model also stress-free),
    so a sector of the ball replaces the whole ball at a fraction of the cost.
    The mesh is graded towards the centre: the element size grows linearly
    with the distance r from the origin,

        h(r) = min(mesh_size, center_mesh_size + grading · r),

    (a gmsh ``Distance``/``Threshold`` size field), so a source of width σ
    is resolved with ``center_mesh_size`` ≲ σ/5 while the far field stays coarse.

    Parameters
    ----------
    radius
        Ball radius R [m]; the centre is the origin.
    mesh_size
        Largest element size [m] (reached far from the centre and on the sphere).
    center_mesh_size
        Element size at the centre [m], ≤ ``mesh_size`` (default: uniform
        ``mesh_size``).
    grading
        Growth rate dh/dr of the element size away from the centre
        (dimensionless, in (0, 1]).
    sector
        ``"octant"``: x, y, z ≥ 0 (1/8 of the ball, three symmetry planes);
        ``"wedge"``: 0 ≤ z ≤ y ≤ x (1/48 of the ball, the fundamental domain of
        the symmetry group of the cube; planes z = 0, y = z and x = y, dihedral
        angles 45°, 60° and 90°).
    material
        Material name of the sector.
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Region ``material`` (``"medium"``); boundaries ``"sphere"``
        (the spherical surface |x| = R, polyhedral after meshing) and
        ``"symmetry"`` (all the planes through the origin). The origin is a
        mesh vertex.

    Raises
    ------
    FemheatInputError
        Non-positive lengths, ``center_mesh_size > mesh_size``, a grading
        outside (0, 1], an unknown sector, or a mesh size not below the radius.
    """
    path = _mesh_path(path)
    radius = _positive("radius", radius)
    mesh_size = _positive("mesh_size", mesh_size)
    if mesh_size >= radius:
        raise FemheatInputError(
            f"mesh_size = {mesh_size:g} must be smaller than radius = {radius:g} [m] "
            "(the sphere would not be resolved)")
    h0 = None if center_mesh_size is None else _positive("center_mesh_size", center_mesh_size)
    if h0 is not None and h0 > mesh_size:
        raise FemheatInputError(
            f"center_mesh_size = {h0:g} exceeds mesh_size = {mesh_size:g} [m]; the mesh "
            "is graded from the centre outwards, so give center_mesh_size <= mesh_size")
    if isinstance(grading, bool) or np.ndim(grading) != 0 or not (
            math.isfinite(float(grading)) and 0 < float(grading) <= 1):
        raise FemheatInputError(
            f"grading = {grading!r} must be a number in (0, 1] (growth of the element "
            "size per unit distance from the centre)")
    grading = float(grading)
    if sector not in _SECTORS:
        raise FemheatInputError(
            f"sector = {sector!r} is unknown; choose 'octant' (x, y, z >= 0) or 'wedge' "
            "(0 <= z <= y <= x)")
    _material_names({"material": material}, {"sphere", "symmetry"})
    s = _scale(radius)
    params = {"radius": radius, "mesh_size": mesh_size, "center_mesh_size": h0,
              "grading": grading, "sector": sector, "material": material}

    with _session("ball_sector") as (gmsh, opt):
        occ = gmsh.model.occ
        R = radius / s
        a = 1.5 * R  # the cutter reaches beyond the ball
        ball = occ.addSphere(0, 0, 0, R)
        if sector == "octant":
            cutter = occ.addBox(0, 0, 0, a, a, a)
        else:  # tetrahedron {0 <= z <= y <= x <= a}
            pts = [occ.addPoint(*c) for c in
                   ((0, 0, 0), (a, 0, 0), (a, a, 0), (a, a, a))]
            edge = {}
            for i in range(4):
                for j in range(i + 1, 4):
                    edge[i, j] = occ.addLine(pts[i], pts[j])

            def face(i: int, j: int, k: int) -> int:
                loop = occ.addCurveLoop([edge[i, j], edge[j, k], edge[i, k]])
                return occ.addPlaneSurface([loop])

            cutter = occ.addVolume([occ.addSurfaceLoop(
                [face(0, 1, 2), face(0, 1, 3), face(0, 2, 3), face(1, 2, 3)])])
        out, _ = occ.intersect([(3, ball)], [(3, cutter)])
        occ.synchronize()
        vols = [t for d, t in out if d == 3]
        if len(vols) != 1:
            raise RuntimeError(f"geometry builder bug: ball sector volumes {out}")
        faces: dict[str, list[int]] = {"sphere": [], "symmetry": []}
        for _, tag in gmsh.model.getBoundary([(3, vols[0])], oriented=False):
            kind = gmsh.model.getType(2, tag)
            faces["sphere" if kind == "Sphere" else "symmetry"].append(tag)
        if len(faces["sphere"]) != 1 or len(faces["symmetry"]) != 3:
            raise RuntimeError(f"geometry builder bug: ball sector faces {faces}")
        _check_exterior(gmsh, 3, faces)
        centre = [t for _, t in gmsh.model.getEntitiesInBoundingBox(
            -1e-6 * R, -1e-6 * R, -1e-6 * R, 1e-6 * R, 1e-6 * R, 1e-6 * R, 0)]
        if len(centre) != 1:
            raise RuntimeError(f"geometry builder bug: ball sector centre points {centre}")
        h_out = mesh_size / s
        if h0 is None:
            _uniform_size(gmsh, opt, h_out)
        else:
            f = gmsh.model.mesh.field
            dist = f.add("Distance")
            f.setNumbers(dist, "PointsList", centre)
            thr = f.add("Threshold")
            f.setNumber(thr, "InField", dist)
            f.setNumber(thr, "SizeMin", h0 / s)
            f.setNumber(thr, "SizeMax", h_out)
            f.setNumber(thr, "DistMin", 0.0)
            f.setNumber(thr, "DistMax", max((h_out - h0 / s) / grading, 1e-12 * R))
            f.setAsBackgroundMesh(thr)
            opt("Mesh.MeshSizeExtendFromBoundary", 0)
            opt("Mesh.MeshSizeFromPoints", 0)
            opt("Mesh.MeshSizeFromCurvature", 0)
            opt("Mesh.MeshSizeMax", h_out)
        _physical_groups(gmsh, 3, {material: vols}, faces)
        return _finish(gmsh, opt, 3, s, path, "ball_sector", params)


# ------------------------------------------------------------------- registry
BUILDERS: dict[str, Callable[..., Path]] = {
    "layered_stack": layered_stack,
    "superlattice": superlattice,
    "inclusions_2d": inclusions_2d,
    "inclusion_3d": inclusion_3d,
    "box_inclusions": box_inclusions,
    "particle_composite": particle_composite,
    "thin_film": thin_film,
    "channel": channel,
    "strip": strip,
    "wire": wire,
    "ball_sector": ball_sector,
}


def build(name: str, path: str | Path, **params: Any) -> RegionMesh:
    """Run the builder ``name`` with ``params``, write ``path`` and load it.

    Parameters
    ----------
    name
        A key of :data:`BUILDERS`.
    path
        Output ``.msh`` file [a sidecar ``<path>.json`` is written beside it].
    **params
        The builder's parameters (lengths in metres), e.g. the
        ``"parameters"`` of a sidecar file.

    Returns
    -------
    RegionMesh
        The loaded mesh; ``metadata`` holds the builder name and parameters,
        the sidecar's ``"derived"`` geometry (e.g. ``volume_fraction`` and
        the placed particles of a particle composite) and its ``"quality"``
        report.
    """
    try:
        builder = BUILDERS[name]
    except (KeyError, TypeError):
        raise FemheatInputError(
            f"unknown geometry builder {name!r}; the builders are: "
            + ", ".join(repr(k) for k in BUILDERS)
        ) from None
    try:
        inspect.signature(builder).bind(path=path, **params)
    except TypeError as exc:  # unknown or missing parameter
        raise FemheatInputError(
            f"builder {name!r}: {exc}; its signature is {name}{inspect.signature(builder)}"
        ) from None
    out = builder(path=path, **params)
    regions = load_mesh(out)
    spec = json.loads(sidecar_path(out).read_text())
    regions.metadata.update({"builder": name, "parameters": params})
    for key in ("derived", "quality"):
        if key in spec:
            regions.metadata[key] = spec[key]
    return regions
