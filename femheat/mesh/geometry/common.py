"""Shared machinery of the geometry builders: argument checks, the gmsh session, gmsh glue.

Argument checks (positive lengths in metres, flags, ``.msh`` paths, material
names), :func:`sidecar_path`, the drawing unit of a geometry (a power of ten
close to its size), the one-at-a-time gmsh session (:func:`_session`), naming
of box faces, physical groups, periodic faces, mesh-size fields, and
:func:`_finish` (mesh, quality check, ``.msh`` and JSON sidecar). gmsh is
imported only inside :func:`_session`.
"""

from __future__ import annotations

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
from ...validation import positive

__all__ = ["sidecar_path"]

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
