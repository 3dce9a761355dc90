r"""A layered cylinder in axisymmetric (r, z) coordinates: the FDTR/TDTR sample.

A stack of layers (transducer film / substrate / optional buried layers), radius R,
meshed in its meridian section 0 ≤ r ≤ R, −D ≤ z ≤ 0 (x = r, y = z; the top
surface, where pump and probe act, is z = 0) by a structured triangle mesh graded
towards the axis and towards the top surface. No gmsh is needed: the mesh is a
tensor product of two graded 1D grids, and the layer interfaces are grid lines, so
they are tagged interior facets (a Kapitza resistance is one facet term there).

Named regions (the conventions of :mod:`femheat.mesh.geometry`):

* subdomains: the layer names, top to bottom (default ``"film"``, ``"substrate"``
  for two layers, ``"layer_1"`` ... otherwise);
* boundaries: ``"top"`` (z = 0), ``"bottom"`` (z = −D), ``"outer"`` (r = R),
  ``"axis"`` (r = 0: needs no condition in an axisymmetric problem);
* interfaces: ``"interface_1"`` (between layers 1 and 2), ``"interface_2"`` ...

Use it with ``HeatProblem(..., coordinates="axisymmetric")`` or ``[mesh] builder =
"layered_cylinder"``, ``coordinates = "axisymmetric"`` in a case file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import skfem

from ...errors import FemheatInputError
from ..regions import RegionMesh

__all__ = ["layered_cylinder", "graded_coordinates"]

log = logging.getLogger(__name__)


def graded_coordinates(length: float, first: float, growth: float, largest: float,
                       uniform: float = 0.0) -> np.ndarray:
    """Points 0 = s₀ < s₁ < … < s_n = ``length`` [m]: spacing ``first`` up to
    ``uniform``, then growing geometrically by ``growth`` up to ``largest``."""
    pts = [0.0]
    h = first
    while pts[-1] < length:
        pts.append(pts[-1] + h)
        if pts[-1] >= uniform:
            h = min(h * growth, largest)
    s = np.array(pts)
    if len(s) > 2 and s[-1] - length > 0.5 * (s[-1] - s[-2]):
        s = s[:-1]  # the last step overshoots by more than half: drop it
    s = s * (length / s[-1])
    return s


def _layer_grid(thicknesses: Sequence[float], first: float, growth: float, largest: float,
                min_cells: int) -> tuple[np.ndarray, list[int]]:
    """Depth coordinates 0 … D graded from the top, with every layer boundary a node."""
    z, h, counts = [0.0], first, []
    for t in thicknesses:
        local = [0.0]
        hh = h
        while local[-1] < t:
            local.append(local[-1] + hh)
            hh = min(hh * growth, largest)
        loc = np.array(local)
        if len(loc) > 2 and loc[-1] - t > 0.5 * (loc[-1] - loc[-2]):
            loc = loc[:-1]
        if len(loc) - 1 < min_cells:
            loc = np.linspace(0.0, t, min_cells + 1)
        loc = loc * (t / loc[-1])
        counts.append(len(loc) - 1)
        z.extend((z[-1] + loc[1:]).tolist())
        h = min(max(loc[-1] - loc[-2], h), largest)
    return np.array(z), counts


def _positive(value, where: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FemheatInputError(f"layered_cylinder: {where} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise FemheatInputError(f"layered_cylinder: {where} must be > 0 (m), got {value!r}")
    return v


def layered_cylinder(radius: float, thicknesses: Sequence[float],
                     layer_names: Optional[Sequence[str]] = None, *,
                     mesh_size: Optional[float] = None, top_mesh_size: Optional[float] = None,
                     axis_mesh_size: Optional[float] = None, uniform_radius: float = 0.0,
                     growth: float = 1.2, min_layer_cells: int = 2,
                     path: Optional[str | Path] = None) -> RegionMesh:
    """Mesh the (r, z) section of a layered cylinder (see the module docstring).

    Parameters
    ----------
    radius
        R [m], the outer radius of the sample.
    thicknesses
        Layer thicknesses [m], top (transducer film) to bottom (substrate, or a
        buried layer under it).
    layer_names
        Subdomain names, top to bottom.
    mesh_size
        Largest cell size [m] (default R/10).
    top_mesh_size
        Cell height at the top surface [m] (default: a quarter of the thinnest layer,
        at most ``mesh_size``); heights grow by ``growth`` with depth.
    axis_mesh_size
        Cell width at the axis [m] (default R/200); constant up to ``uniform_radius``
        (e.g. the pump spot radius), then growing by ``growth``.
    growth
        Geometric growth factor of neighbouring cell sizes (> 1).
    min_layer_cells
        Fewest cells across a layer.
    path
        Accepted for the :func:`femheat.mesh.geometry.build` registry; the mesh is
        structured and cheap, so nothing is written.

    Returns
    -------
    RegionMesh
        With ``metadata["builder"] = "layered_cylinder"``, its parameters and the
        interface depths ``metadata["interface_depths"]`` [m].
    """
    R = _positive(radius, "radius")
    if isinstance(thicknesses, (int, float)) or len(thicknesses) == 0:
        raise FemheatInputError(
            "layered_cylinder: thicknesses must be a non-empty list of layer thicknesses "
            f"(m), top to bottom, got {thicknesses!r}")
    t = [_positive(v, f"thicknesses[{i}]") for i, v in enumerate(thicknesses)]
    n = len(t)
    if layer_names is None:
        layer_names = ["film", "substrate"] if n == 2 else [f"layer_{i + 1}" for i in range(n)]
    names = [str(s) for s in layer_names]
    if len(names) != n or len(set(names)) != n:
        raise FemheatInputError(
            f"layered_cylinder: layer_names must be {n} distinct names (one per layer), "
            f"got {list(layer_names)!r}")
    clash = sorted(set(names) & {"top", "bottom", "outer", "axis"})
    if clash:
        raise FemheatInputError(f"layered_cylinder: layer names {clash} clash with boundary "
                                "names; rename the layers")
    hmax = _positive(mesh_size if mesh_size is not None else R / 10, "mesh_size")
    htop = _positive(top_mesh_size if top_mesh_size is not None
                     else min(min(t) / 4, hmax), "top_mesh_size")
    hax = _positive(axis_mesh_size if axis_mesh_size is not None else R / 200,
                    "axis_mesh_size")
    g = float(growth)
    if not np.isfinite(g) or g < 1.0:
        raise FemheatInputError(f"layered_cylinder: growth must be >= 1, got {growth!r}")
    if float(uniform_radius) < 0 or float(uniform_radius) > R:
        raise FemheatInputError(
            f"layered_cylinder: uniform_radius must be in [0, radius = {R:g}] m, "
            f"got {uniform_radius!r}")
    r = graded_coordinates(R, min(hax, R), g, max(hmax, hax), float(uniform_radius))
    depth, counts = _layer_grid(t, htop, g, max(hmax, htop), int(min_layer_cells))
    z = -depth[::-1]
    mesh = skfem.MeshTri.init_tensor(r, z)
    bounds = np.concatenate([[0.0], np.cumsum(t)])  # depths of layer boundaries
    D = float(bounds[-1])
    tol = 1e-9 * max(R, D)
    subdomains = {name: (lambda x, a=bounds[i], b=bounds[i + 1]: (-x[1] > a) & (-x[1] < b))
                  for i, name in enumerate(names)}
    boundaries = {
        "top": lambda x: np.abs(x[1]) < tol,
        "bottom": lambda x: np.abs(x[1] + D) < tol,
        "outer": lambda x: np.abs(x[0] - R) < tol,
        "axis": lambda x: np.abs(x[0]) < tol,
    }
    interfaces = {f"interface_{i + 1}": (lambda x, d=bounds[i + 1]: np.abs(x[1] + d) < tol)
                  for i in range(n - 1)}
    rm = RegionMesh.from_skfem(mesh, subdomains, boundaries, interfaces)
    rm.metadata.update({
        "builder": "layered_cylinder",
        "parameters": {"radius": R, "thicknesses": t, "layer_names": names,
                       "mesh_size": hmax, "top_mesh_size": htop, "axis_mesh_size": hax,
                       "uniform_radius": float(uniform_radius), "growth": g},
        "interface_depths": bounds[1:-1].tolist(), "depth": D,
        "cells_per_layer": counts, "radial_cells": len(r) - 1})
    log.info("layered_cylinder: %d x %d grid (%d triangles), layers %s cells deep",
             len(r) - 1, len(z) - 1, mesh.t.shape[1], counts)
    return rm
