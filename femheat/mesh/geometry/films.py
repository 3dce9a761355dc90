"""Films and ribbons: thin film on a substrate, channel, structured strip, cylindrical wire."""

from __future__ import annotations

from pathlib import Path

from ...errors import FemheatInputError
from .common import (_BOUNDARY_NAMES_3D, _box_faces, _check_exterior, _finish, _flag, _in_box,
                     _material_names, _mesh_path, _mesh_sizes, _physical_groups, _positive,
                     _positive_int, _refine_near, _scale, _session, _set_periodic,
                     _uniform_size)

__all__ = ["channel", "strip", "thin_film", "wire"]


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
