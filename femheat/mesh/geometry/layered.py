"""Layered geometries: stacks of layers along x (bilayer, multilayer, superlattice)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import FemheatInputError
from .common import (_BOUNDARY_NAMES_3D, _box_faces, _check_exterior, _finish, _flag, _in_box,
                     _lengths, _mesh_path, _mesh_sizes, _physical_groups, _positive,
                     _positive_int, _scale, _session, _set_periodic)

__all__ = ["layered_stack", "superlattice"]


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
