"""Meshes from pygmsh geometry scripts, written by gmsh's own ``.msh`` writer.

A user's pygmsh script draws a geometry and names its regions with physical
groups in a function ``build(geom)`` (``geom``: a ``pygmsh.occ.Geometry`` or
``pygmsh.geo.Geometry``)::

    def build(geom):
        box = geom.add_rectangle([0, 0, 0], 1.0, 1.0)
        disk = geom.add_disk([0.5, 0.5, 0], 0.2)
        pieces = geom.boolean_fragments(box, disk)   # the circle becomes shared
        geom.add_physical(matrix_pieces, label="matrix")          # materials: dim
        geom.add_physical(circle, label="inclusion_surface")      # interface: dim - 1
        geom.add_physical(left_side, label="left")                # boundary: dim - 1
        ...

:func:`mesh_pygmsh` (a callable) or :func:`mesh_from_script` (a ``.py`` file;
the case file's ``[mesh] pygmsh = "file.py"``) holds femheat's gmsh lock (one
global gmsh state, shared with :mod:`femheat.mesh.geometry`), runs ``build``
in a fresh model, meshes, checks and writes with ``gmsh.write`` (format 4.1,
never meshio's writer, so every physical name survives), then reads the file
with :func:`femheat.mesh.regions.load_mesh`: top-dimension groups are
materials, (d-1)-groups boundaries (exterior) or interfaces (interior).

Checks (:class:`~femheat.errors.FemheatInputError`, or its subclass
:class:`~femheat.errors.MeshError`, naming the fix): physical groups exist,
are labelled and disjoint; every surface (2D) / volume (3D) and every exterior
curve / surface is in one; no exterior curve (surface) lies inside another
region (shapes overlapping or touching without ``boolean_fragments``); every
interface separates two different materials; the builders' mesh quality
limits. The sidecar ``<path>.json`` records the script, kernel, mesh options
and script parameters.

Lengths: the script draws in units of ``unit`` metres (1e-6: micrometres,
far above OpenCASCADE's 1e-7 tolerance); the mesh is written in metres (gmsh
``Mesh.ScalingFactor``). pygmsh is imported inside the functions only.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import logging
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import FemheatInputError, MeshError
from .geometry import common as _geometry
from .regions import RegionMesh, load_mesh

__all__ = ["KERNELS", "MESH_OPTIONS", "load_pygmsh_script", "mesh_from_script", "mesh_pygmsh"]

log = logging.getLogger(__name__)

#: pygmsh geometry kernels: OpenCASCADE (``pygmsh.occ``) and gmsh's built-in (``pygmsh.geo``).
KERNELS = ("occ", "geo")
#: Keyword arguments of :func:`mesh_pygmsh` that :func:`mesh_from_script` takes as mesh options.
MESH_OPTIONS = ("kernel", "dim", "mesh_size", "unit", "algorithm", "enforce_quality")
#: gmsh options a ``build`` commonly sets; restored afterwards when gmsh was already running.
_USER_OPTIONS = ("General.Terminal", "Mesh.Algorithm", "Mesh.Algorithm3D", "Mesh.MeshSizeMin",
                 "Mesh.MeshSizeMax", "Mesh.MeshSizeFactor", "Mesh.MeshSizeFromPoints",
                 "Mesh.MeshSizeFromCurvature", "Mesh.MeshSizeExtendFromBoundary")
_PIP = 'pip install "pygmsh>=7.1"'


def _import_pygmsh() -> Any:
    try:
        import pygmsh
    except ImportError as exc:
        raise FemheatInputError(
            f"meshing a pygmsh geometry needs pygmsh ({exc}); install it with: {_PIP} "
            '(or pip install "femheat[full]")') from None
    return pygmsh


def _json_value(value: Any) -> Any:
    """numpy values as lists/numbers, anything else JSON cannot hold as its repr."""
    return value.tolist() if hasattr(value, "tolist") else repr(value)


# --------------------------------------------------------------------- checks
def _check_groups(gmsh: Any, dim: int, who: str) -> dict[str, int]:
    """Physical groups present, labelled, disjoint and covering; return label -> dim."""
    what, facet = ("surface", "curve") if dim == 2 else ("volume", "surface")
    hint = (f"name each material with geom.add_physical({what}s, label='matrix') and each "
            f"boundary and interface with geom.add_physical({facet}s, label='left')")
    groups = gmsh.model.getPhysicalGroups()
    if not groups:
        raise FemheatInputError(f"{who}: the geometry has no physical groups; femheat reads "
                                f"regions only from physical groups: {hint}")
    labels: dict[str, int] = {}
    owner: dict[tuple[int, int], str] = {}
    for d, tag in groups:
        label = gmsh.model.getPhysicalName(d, tag)
        if not label:
            raise FemheatInputError(
                f"{who}: physical group {tag} of dimension {d} has no label; femheat addresses "
                "regions by name: geom.add_physical(entities, label='name')")
        if label in labels:
            raise FemheatInputError(
                f"{who}: the label {label!r} names two physical groups (dimensions "
                f"{labels[label]} and {d}); give each region its own name")
        labels[label] = d
        if d not in (dim, dim - 1):
            log.info("%s: physical group %r of dimension %d is ignored", who, label, d)
            continue
        for ent in gmsh.model.getEntitiesForPhysicalGroup(d, tag):
            key = (d, int(ent))
            if key in owner:
                raise FemheatInputError(
                    f"{who}: entity {key} is in the physical groups {owner[key]!r} and "
                    f"{label!r}; femheat regions are disjoint, put it in one of them")
            owner[key] = label
    if dim not in labels.values():
        raise FemheatInputError(f"{who}: no physical group of dimension {dim} (the materials); "
                                f"{hint}")
    top = [(dim, t) for _, t in gmsh.model.getEntities(dim)]
    loose = [t for d, t in top if (d, t) not in owner]
    if loose:
        box = np.round(gmsh.model.getBoundingBox(dim, loose[0]), 6).tolist()
        raise FemheatInputError(
            f"{who}: {what}s {loose} are in no physical group, so gmsh would drop their cells "
            f"(first one's bounding box {box} in drawing units); add each to a material with "
            f"geom.add_physical(..., label=...)")
    exterior = {t for _, t in gmsh.model.getBoundary(top, combined=True, oriented=False)}
    bare = sorted(t for t in exterior if (dim - 1, t) not in owner)
    if bare:
        box = np.round(gmsh.model.getBoundingBox(dim - 1, bare[0]), 6).tolist()
        raise FemheatInputError(
            f"{who}: exterior {facet}s {bare} are in no physical group (first one's bounding "
            f"box {box} in drawing units), so they could take no boundary condition; name "
            "them, e.g. geom.add_physical([...], label='left')")
    material = {t: owner[(d, t)] for d, t in top}
    for (d, e), label in owner.items():
        if d == dim - 1 and e not in exterior:
            sides = {material[t] for t in gmsh.model.getAdjacencies(d, e)[0] if t in material}
            if len(sides) != 2:
                raise MeshError(
                    f"{who}: interface {label!r} contains {facet} {e} with the materials "
                    f"{sorted(sides)} on its sides; an interface separates two materials: give "
                    f"the regions on its two sides different physical groups, or leave the "
                    f"{facet} out of {label!r}")
    return labels


def _check_conforming(gmsh: Any, dim: int, who: str) -> None:
    """No exterior facet entity may lie inside (or on) a region it does not bound.

    That is what shapes drawn overlapping or touching without
    ``boolean_fragments`` look like: each is meshed on its own, the mesh is not
    conforming and the shared curve/surface counts as exterior.
    """
    top = [t for _, t in gmsh.model.getEntities(dim)]
    boxes = {t: np.array(gmsh.model.getBoundingBox(dim, t)) for t in top}
    exterior = gmsh.model.getBoundary([(dim, t) for t in top], combined=True, oriented=False)
    for _, e in exterior:
        bounded = set(gmsh.model.getAdjacencies(dim - 1, e)[0].tolist())
        _, xyz, _ = gmsh.model.mesh.getNodes(dim - 1, e, includeBoundary=False)
        pts = np.asarray(xyz).reshape(-1, 3)
        pts = pts[:: max(1, len(pts) // 3)][:3]
        for t in top:
            b = boxes[t]
            tol = 1e-9 * float(np.max(b[3:] - b[:3]))
            near = np.all((pts >= b[:3] - tol) & (pts <= b[3:] + tol), axis=1)
            if t in bounded or not near.any():
                continue
            try:
                inside = gmsh.model.isInside(dim, t, pts[near].ravel().tolist())
            except Exception:  # an entity type gmsh cannot test: skip it
                log.debug("%s: gmsh cannot test points in entity (%d, %d)", who, dim, t)
                continue
            if inside > 0:
                names = ("curve", "surface") if dim == 2 else ("surface", "volume")
                raise MeshError(
                    f"{who}: exterior {names[0]} {e} lies inside or on {names[1]} {t}: shapes "
                    "overlap or touch without sharing their boundary, so the mesh is not "
                    "conforming; join them with geom.boolean_fragments(...) (OCC kernel) or "
                    "build them from shared curves (geo kernel)")


# ------------------------------------------------------------------ meshing
def mesh_pygmsh(
    build: Callable[[Any], None],
    path: str | Path,
    *,
    kernel: str = "occ",
    dim: int | None = None,
    mesh_size: float | None = None,
    unit: float = 1.0,
    algorithm: int | None = None,
    enforce_quality: bool = True,
    source: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> RegionMesh:
    """Mesh the geometry that ``build(geom)`` draws with pygmsh; write ``path`` and load it.

    Parameters
    ----------
    build
        ``build(geom)`` adds shapes to a ``pygmsh.occ.Geometry`` (or
        ``pygmsh.geo.Geometry``) and names regions with
        ``geom.add_physical(entities, label=...)``. It must not generate,
        write or finalize (femheat does that) nor run femheat's geometry
        builders (one gmsh session at a time). Mesh-size fields
        (``geom.add_boundary_layer``, ``geom.set_background_mesh``) and sizes
        on shapes are honoured, in drawing units.
    path
        Output ``.msh`` file (gmsh format 4.1, metres); a sidecar
        ``<path>.json`` is written beside it.
    kernel
        ``"occ"`` (OpenCASCADE: booleans, disks, boxes) or ``"geo"``.
    dim
        Mesh dimension, 2 (triangles) or 3 (tetrahedra); default the highest
        dimension of the drawn entities.
    mesh_size
        Largest element size [m] (gmsh ``Mesh.MeshSizeMax``); default gmsh's.
    unit
        Metres per drawing unit of ``build`` (1e-6: the script draws in µm).
    algorithm
        gmsh 2D (``Mesh.Algorithm``) or 3D (``Mesh.Algorithm3D``) algorithm number.
    enforce_quality
        Raise on degenerate cells (True) or only warn (False).
    source, parameters
        Provenance for the sidecar and ``metadata``: the script and the keyword
        arguments ``build`` was given (:func:`mesh_from_script` fills them).

    Returns
    -------
    RegionMesh
        Named subdomains, boundaries and interfaces from the physical groups;
        ``metadata`` holds ``"builder": "pygmsh"``, the ``"parameters"``,
        ``"derived"`` (pygmsh version, physical groups) and ``"quality"``.

    Raises
    ------
    FemheatInputError
        pygmsh missing (with the pip command), bad options, ``build`` failing,
        missing/unlabelled/overlapping physical groups, unnamed regions.
    MeshError
        Non-conforming shapes (no fragments), an interface inside one material,
        degenerate cells.
    """
    path = _geometry._mesh_path(path)
    if kernel not in KERNELS:
        raise FemheatInputError(f"kernel = {kernel!r} is unknown; use one of {KERNELS}")
    if dim is not None and (isinstance(dim, bool) or dim not in (2, 3)):
        raise FemheatInputError(f"dim = {dim!r} must be 2 (triangles) or 3 (tetrahedra)")
    if mesh_size is not None:
        mesh_size = _geometry._positive("mesh_size", mesh_size)
    unit = _geometry._positive("unit", unit)
    if algorithm is not None and (isinstance(algorithm, bool) or not isinstance(algorithm, int)):
        raise FemheatInputError(f"algorithm = {algorithm!r} must be a gmsh algorithm number")
    if not callable(build):
        raise FemheatInputError(f"build = {build!r} must be a function build(geom)")
    pygmsh = _import_pygmsh()
    who = source or getattr(build, "__qualname__", None) or repr(build)
    params = {"source": str(who), "kernel": kernel, "dim": dim, "mesh_size": mesh_size,
              "unit": unit, "algorithm": algorithm, "enforce_quality": enforce_quality,
              "script_parameters": json.loads(json.dumps(dict(parameters or {}),
                                                         default=_json_value))}

    with _geometry._session("pygmsh") as (gmsh, opt):
        for key in _USER_OPTIONS:  # remembered, so restored if gmsh was already running
            opt(key, gmsh.option.getNumber(key))
        if mesh_size is not None:
            opt("Mesh.MeshSizeMax", mesh_size / unit)
        geom = (pygmsh.occ if kernel == "occ" else pygmsh.geo).Geometry()
        try:
            build(geom)
            geom.synchronize()
        except FemheatInputError:
            raise
        except Exception as exc:
            raise FemheatInputError(
                f"{who}: build(geom) failed with the {kernel!r} kernel: "
                f"{type(exc).__name__}: {exc}") from exc
        drawn = [d for d, _ in gmsh.model.getEntities()]
        top = max(drawn, default=-1)
        if top < 2:
            raise FemheatInputError(
                f"{who}: build(geom) drew no surface or volume (highest entity dimension "
                f"{top}); femheat meshes 2D surfaces and 3D volumes")
        dim = top if dim is None else dim
        if dim > top:
            raise FemheatInputError(f"dim = {dim} but {who} drew nothing above dimension {top}")
        if algorithm is not None:
            opt("Mesh.Algorithm" if dim == 2 else "Mesh.Algorithm3D", algorithm)
        try:
            geom.generate_mesh(dim=dim)  # pygmsh's queues (groups, sizes, fields), then mesh
        except Exception as exc:
            raise MeshError(f"{who}: gmsh could not mesh the geometry: {exc}") from exc
        opt("General.Terminal", 0)
        labels = _check_groups(gmsh, dim, who)
        _check_conforming(gmsh, dim, who)
        derived = {"pygmsh_version": pygmsh.__version__, "physical_groups": labels}
        _geometry._finish(gmsh, opt, dim, unit, path, "pygmsh", params, derived,
                          enforce_quality=enforce_quality, generate=False)
    regions = load_mesh(path)
    spec = json.loads(_geometry.sidecar_path(path).read_text())
    regions.metadata.update({"builder": "pygmsh", "parameters": params,
                             "derived": spec["derived"], "quality": spec["quality"]})
    return regions


# ------------------------------------------------------------------ scripts
def _load_module(path: Path) -> Any:
    if path.suffix != ".py":
        raise FemheatInputError(
            f"pygmsh script {str(path)!r} must be a Python file ending in '.py'")
    if not path.is_file():
        raise FemheatInputError(f"pygmsh script {str(path)!r} does not exist; give the path of "
                                "a .py file that defines build(geom)")
    spec = importlib.util.spec_from_file_location(f"femheat_pygmsh_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        raise FemheatInputError(
            f"pygmsh script {str(path)!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _build_of(module: Any, path: Path) -> Callable[..., None]:
    build = getattr(module, "build", None)
    if not callable(build):
        raise FemheatInputError(
            f"pygmsh script {str(path)!r} defines no function build(geom); add one that draws "
            "the geometry on geom and names regions with geom.add_physical(..., label=...)")
    try:
        inspect.signature(build).bind(object())
    except TypeError:
        raise FemheatInputError(
            f"pygmsh script {str(path)!r}: build{inspect.signature(build)} must take the "
            "geometry as its one positional argument, build(geom, **parameters)") from None
    return build


def load_pygmsh_script(path: str | Path) -> Callable[..., None]:
    """Import the pygmsh script ``path`` and return its ``build(geom, **parameters)``.

    Raises
    ------
    FemheatInputError
        The file is missing, not ``.py``, fails to import, or has no ``build(geom)``.
    """
    path = Path(path)
    return _build_of(_load_module(path), path)


def mesh_from_script(script_path: str | Path, output_path: str | Path,
                     **parameters: Any) -> RegionMesh:
    """Mesh the geometry of a pygmsh script file (the case file's ``[mesh] pygmsh = "..."``).

    Parameters
    ----------
    script_path
        A ``.py`` file defining ``build(geom, **parameters)``. It may define
        ``MESH_DEFAULTS = {"unit": 1e-6, ...}``: defaults of the mesh options
        (the script knows its drawing unit and kernel).
    output_path
        Output ``.msh`` file (sidecar ``<output_path>.json`` beside it).
    **parameters
        The mesh options :data:`MESH_OPTIONS` (``kernel``, ``dim``,
        ``mesh_size`` [m], ``unit``, ``algorithm``, ``enforce_quality``) go to
        :func:`mesh_pygmsh`; every other key goes to ``build`` as a keyword.

    Returns
    -------
    RegionMesh
        As :func:`mesh_pygmsh`; ``metadata["parameters"]`` records the script,
        the options and the script parameters.
    """
    path = Path(script_path)
    module = _load_module(path)
    build = _build_of(module, path)
    defaults = getattr(module, "MESH_DEFAULTS", {})
    if not isinstance(defaults, Mapping) or set(defaults) - set(MESH_OPTIONS):
        raise FemheatInputError(
            f"pygmsh script {str(path)!r}: MESH_DEFAULTS = {defaults!r} must be a dict with "
            f"keys among {MESH_OPTIONS}")
    options = dict(defaults)
    options.update({k: v for k, v in parameters.items() if k in MESH_OPTIONS})
    rest = {k: v for k, v in parameters.items() if k not in MESH_OPTIONS}
    signature = inspect.signature(build)
    try:
        signature.bind(object(), **rest)
    except TypeError as exc:
        raise FemheatInputError(
            f"pygmsh script {str(path)!r}: {exc}; build{signature} takes those parameters and "
            f"the mesh options are {MESH_OPTIONS}") from None
    return mesh_pygmsh(functools.partial(build, **rest), output_path, source=str(path),
                       parameters=rest, **options)
