"""Inclusion geometries: a box (rectangle) with circular or spherical inclusions.

Also the shared drawing of particles in a box (:func:`_inclusion_model`), used
by :func:`~femheat.mesh.geometry.particle_composite` as well.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...errors import FemheatInputError
from .common import (_BOUNDARY_NAMES_2D, _BOUNDARY_NAMES_3D, _box_faces, _check_exterior,
                     _finish, _flag, _lengths, _material_names, _mesh_path, _mesh_sizes,
                     _physical_groups, _positive, _scale, _session, _set_periodic)

__all__ = ["box_inclusions", "inclusion_3d", "inclusions_2d"]


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
