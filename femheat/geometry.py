"""Geometry builders: gmsh meshes with named materials, boundaries and interfaces.

Each builder draws a parametric geometry with the gmsh OpenCASCADE kernel
(``gmsh.model.occ``), fragments it into one conforming model (materials share
their interface curves/surfaces, so interfaces are tagged interior facets),
names every region with a gmsh physical group, meshes it with linear
triangles (2D) or tetrahedra (3D), writes a ``.msh`` file (format 4.1) and a
JSON sidecar ``<path>.json`` holding the builder name and its parameters, so
that a mesh can be regenerated exactly::

    import inspect
import json
    from femheat import geometry
    spec = json.loads(open("meshes/composite_2d.msh.json").read())
    geometry.build(spec["builder"], "composite_2d.msh", **spec["parameters"])

Naming conventions (the names :func:`femheat.load_mesh` returns):

* materials (surfaces in 2D, volumes in 3D): ``"layer_1"`` ... or user names,
  ``"matrix"``/``"inclusion"``, ``"medium"``;
* boundaries (exterior curves/surfaces): ``"left"`` (x = 0), ``"right"``
  (x = max), ``"bottom"`` (y = 0), ``"top"`` (y = max), and in 3D
  ``"front"`` (z = 0), ``"back"`` (z = max);
* interfaces (interior curves/surfaces between two materials):
  ``"interface_1"`` ..., ``"inclusion_surface"``.

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
import math
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .errors import FemheatInputError
from .validation import positive
from .mesh import RegionMesh, load_mesh

__all__ = [
    "BUILDERS",
    "build",
    "inclusion_3d",
    "inclusions_2d",
    "layered_stack",
    "sidecar_path",
    "strip",
]

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


def _mesh_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix != ".msh":
        raise FemheatInputError(
            f"path = {str(path)!r} must end in '.msh' (gmsh picks the format from it)"
        )
    return path


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


def _embed_inclusions(gmsh, dim: int, box: int, tools: list[int]):
    """Fragment ``box`` by the inclusion entities; return (matrix, inclusions, interfaces).

    The interfaces are the boundary entities of the inclusions (they are interior
    because the builders keep inclusions away from the box faces).
    """
    _, out_map = gmsh.model.occ.fragment([(dim, box)], [(dim, t) for t in tools])
    gmsh.model.occ.synchronize()
    inc = sorted({t for m in out_map[1:] for d, t in m if d == dim})
    mat = sorted({t for d, t in out_map[0] if d == dim} - set(inc))
    if len(inc) != len(tools) or len(mat) != 1:
        raise RuntimeError(f"geometry builder bug: matrix {mat}, inclusions {inc}")
    surfaces = sorted(
        {t for _, t in gmsh.model.getBoundary([(dim, t) for t in inc], oriented=False)})
    return mat, inc, surfaces


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
) -> None:
    """Size h_near on the entities ``tags`` (dim - 1), growing to h away from them."""
    f = gmsh.model.mesh.field
    dist = f.add("Distance")
    f.setNumbers(dist, "CurvesList" if dim == 2 else "SurfacesList", tags)
    f.setNumber(dist, "Sampling", 200 if dim == 2 else 60)
    thr = f.add("Threshold")
    f.setNumber(thr, "InField", dist)
    f.setNumber(thr, "SizeMin", h_near)
    f.setNumber(thr, "SizeMax", h)
    f.setNumber(thr, "DistMin", 0.5 * h_near)
    # slope of the size ramp 1/2: smooth grading from h_near to h
    f.setNumber(thr, "DistMax", 0.5 * h_near + 2.0 * abs(h - h_near))
    f.setAsBackgroundMesh(thr)
    opt("Mesh.MeshSizeExtendFromBoundary", 0)
    opt("Mesh.MeshSizeFromPoints", 0)
    opt("Mesh.MeshSizeFromCurvature", 0)
    opt("Mesh.MeshSizeMax", max(h, h_near))


def _finish(
    gmsh: Any,
    opt: Callable[[str, float], None],
    dim: int,
    scale: float,
    path: Path,
    builder: str,
    parameters: dict[str, Any],
) -> Path:
    """Mesh, write ``path`` in metres and the JSON sidecar; return ``path``."""
    gmsh.model.mesh.generate(dim)
    opt("Mesh.ScalingFactor", scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    gmsh.write(str(path))
    # one parameter a line: readable and diff-friendly
    entries = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in parameters.items())
    text = (
        "{\n"
        f'  "builder": {json.dumps(builder)},\n'
        f'  "parameters": {{\n{entries}\n  }},\n'
        f'  "gmsh_version": {json.dumps(gmsh.__version__)}\n'
        "}\n"
    )
    json.loads(text)  # well-formed by construction
    sidecar_path(path).write_text(text)
    return path


# ------------------------------------------------------------------- builders
def layered_stack(
    thicknesses: Sequence[float],
    height: float,
    *,
    depth: float | None = None,
    names: Sequence[str] | None = None,
    mesh_size: float,
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
    try:
        t = [float(x) for x in thicknesses]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise FemheatInputError(
            f"thicknesses = {thicknesses!r} must be a sequence of positive lengths [m]"
        ) from None
    if not t:
        raise FemheatInputError("thicknesses is empty; give at least one layer thickness")
    t = [_positive(f"thicknesses[{i}]", x) for i, x in enumerate(t)]
    height = _positive("height", height)
    depth = None if depth is None else _positive("depth", depth)
    mesh_size = _positive("mesh_size", mesh_size)
    n = len(t)
    if names is None:
        layer_names = [f"layer_{i + 1}" for i in range(n)]
    else:
        layer_names = [str(s) for s in names]
        if len(layer_names) != n:
            raise FemheatInputError(
                f"names has {len(layer_names)} entries but thicknesses has {n}; give one "
                "name per layer"
            )
        if any(not s for s in layer_names):
            raise FemheatInputError(f"names = {layer_names!r} contains an empty name")
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
    params = {
        "thicknesses": t,
        "height": height,
        "depth": depth,
        "names": None if names is None else layer_names,
        "mesh_size": mesh_size,
    }

    with _session("layered_stack") as (gmsh, opt):
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
        for i in range(1, n):
            lo = [xs[i]] + [0.0] * (dim - 1)
            hi = [xs[i]] + ext[1:]
            tags = _in_box(gmsh, dim - 1, lo, hi, eps)
            if not tags:
                raise RuntimeError(f"geometry builder bug: no interface at x = {x[i]}")
            facets[f"interface_{i}"] = tags
        _physical_groups(gmsh, dim, materials, facets)
        _uniform_size(gmsh, opt, mesh_size / s)
        return _finish(gmsh, opt, dim, s, path, "layered_stack", params)


def _check_inclusion_size(name: str, value: float | None, mesh_size: float) -> float:
    return mesh_size if value is None else _positive(name, value)


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
    try:
        c = np.asarray(centers, dtype=float)
    except (TypeError, ValueError):
        raise FemheatInputError(f"centers = {centers!r} must be an (N, 2) array [m]") from None
    if c.ndim == 1 and c.size == 2:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] == 0 or not np.all(np.isfinite(c)):
        raise FemheatInputError(
            f"centers must be a non-empty (N, 2) array of finite coordinates [m]; got "
            f"shape {c.shape}"
        )
    nc = c.shape[0]
    if np.ndim(radii) == 0:
        r = np.full(nc, _positive("radii", radii))
    else:
        r = np.array([_positive(f"radii[{i}]", v) for i, v in enumerate(radii)])  # type: ignore[union-attr]
        if r.size != nc:
            raise FemheatInputError(
                f"radii has {r.size} entries but centers has {nc}; give one radius per "
                "centre or a single radius"
            )
    names = {"matrix": matrix, "inclusion": inclusion}
    for key, val in names.items():
        if not isinstance(val, str) or not val:
            raise FemheatInputError(f"{key} = {val!r} must be a non-empty name")
    if matrix == inclusion:
        raise FemheatInputError(
            f"matrix and inclusion are both {matrix!r}; give the two materials distinct names"
        )
    reserved = set(_BOUNDARY_NAMES_2D) | {"inclusion_surface"}
    if {matrix, inclusion} & reserved:
        raise FemheatInputError(
            f"matrix/inclusion names must differ from {sorted(reserved)}"
        )
    tol = 1e-9 * max(width, height)
    for i in range(nc):
        gaps = (c[i, 0], width - c[i, 0], c[i, 1], height - c[i, 1])
        if min(gaps) - r[i] <= tol:
            raise FemheatInputError(
                f"inclusion {i} (centers[{i}] = {c[i].tolist()}, radii[{i}] = {r[i]:g}) "
                f"touches or crosses the boundary of [0, {width:g}] x [0, {height:g}]; "
                "move it inside or shrink it"
            )
    for i in range(nc):
        for j in range(i + 1, nc):
            d = float(np.hypot(*(c[i] - c[j])))
            if d - (r[i] + r[j]) <= tol:
                raise FemheatInputError(
                    f"inclusions {i} and {j} overlap or touch (centers {c[i].tolist()} "
                    f"and {c[j].tolist()}, radii {r[i]:g} + {r[j]:g} >= distance {d:g}); "
                    "change centers or radii"
                )
    s = _scale(max(width, height))
    params = {
        "width": width,
        "height": height,
        "centers": c.tolist(),
        "radii": r.tolist(),
        "mesh_size": mesh_size,
        "interface_mesh_size": interface_mesh_size if interface_mesh_size is None else h_near,
        "matrix": matrix,
        "inclusion": inclusion,
    }

    with _session("inclusions_2d") as (gmsh, opt):
        occ = gmsh.model.occ
        ext = [width / s, height / s]
        box = occ.addRectangle(0, 0, 0, ext[0], ext[1])
        disks = [occ.addDisk(ci[0] / s, ci[1] / s, 0, ri / s, ri / s) for ci, ri in zip(c, r)]
        mat, inc, circles = _embed_inclusions(gmsh, 2, box, disks)
        eps = 1e-6 * max(ext)
        facets = _box_faces(gmsh, 2, ext, eps)
        _check_exterior(gmsh, 2, facets)
        facets["inclusion_surface"] = circles
        _physical_groups(gmsh, 2, {matrix: mat, inclusion: inc}, facets)
        if interface_mesh_size is None:
            _uniform_size(gmsh, opt, mesh_size / s)
        else:
            _refine_near(gmsh, opt, 2, circles, mesh_size / s, h_near / s)
        return _finish(gmsh, opt, 2, s, path, "inclusions_2d", params)


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
    s = _scale(max(sz))
    params = {
        "size": sz,
        "center": ct,
        "radius": radius,
        "mesh_size": mesh_size,
        "interface_mesh_size": interface_mesh_size if interface_mesh_size is None else h_near,
    }

    with _session("inclusion_3d") as (gmsh, opt):
        occ = gmsh.model.occ
        ext = [v / s for v in sz]
        box = occ.addBox(0, 0, 0, *ext)
        ball = occ.addSphere(ct[0] / s, ct[1] / s, ct[2] / s, radius / s)
        mat, inc, sphere = _embed_inclusions(gmsh, 3, box, [ball])
        eps = 1e-6 * max(ext)
        facets = _box_faces(gmsh, 3, ext, eps)
        _check_exterior(gmsh, 3, facets)
        facets["inclusion_surface"] = sphere
        _physical_groups(gmsh, 3, {"matrix": mat, "inclusion": inc}, facets)
        if interface_mesh_size is None:
            _uniform_size(gmsh, opt, mesh_size / s)
        else:
            _refine_near(gmsh, opt, 3, sphere, mesh_size / s, h_near / s)
        return _finish(gmsh, opt, 3, s, path, "inclusion_3d", params)


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
        return _finish(gmsh, opt, 2, s, path, "strip", params)


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
        faces = {"hot": [], "cold": [], "surface": []}
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


# ------------------------------------------------------------------- registry
BUILDERS: dict[str, Callable[..., Path]] = {
    "layered_stack": layered_stack,
    "inclusions_2d": inclusions_2d,
    "inclusion_3d": inclusion_3d,
    "strip": strip,
    "wire": wire,
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
        The loaded mesh; ``metadata`` holds the builder name and parameters.
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
    regions.metadata.update({"builder": name, "parameters": params})
    return regions
