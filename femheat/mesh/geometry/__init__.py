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
``layered_cylinder``       (r, z) section of a layered cylinder (FDTR/TDTR sample),
                           structured, graded to the axis and the top; no gmsh
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

Modules: :mod:`~femheat.mesh.geometry.common` (argument checks, gmsh session
and glue, :func:`sidecar_path`), :mod:`~femheat.mesh.geometry.layered`,
:mod:`~femheat.mesh.geometry.inclusions`, :mod:`~femheat.mesh.geometry.particles`,
:mod:`~femheat.mesh.geometry.films` (thin film, channel, strip, wire) and
:mod:`~femheat.mesh.geometry.ball`; this package re-exports every builder.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Callable

from ...errors import FemheatInputError
from ..regions import RegionMesh, load_mesh
from .ball import ball_sector
# the private gmsh helpers stay reachable here for other gmsh-based mesh sources
from .common import sidecar_path  # noqa: F401
from .cylinder import layered_cylinder
from .films import channel, strip, thin_film, wire
from .inclusions import box_inclusions, inclusion_3d, inclusions_2d
from .layered import layered_stack, superlattice
from .particles import particle_composite

__all__ = [
    "BUILDERS",
    "ball_sector",
    "box_inclusions",
    "build",
    "channel",
    "inclusion_3d",
    "inclusions_2d",
    "layered_cylinder",
    "layered_stack",
    "particle_composite",
    "sidecar_path",
    "strip",
    "superlattice",
    "thin_film",
    "wire",
]


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
    "layered_cylinder": layered_cylinder,
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
    if isinstance(out, RegionMesh):  # a structured builder (no gmsh, nothing written)
        out.metadata.update({"builder": name, "parameters": params})
        return out
    regions = load_mesh(out)
    spec = json.loads(sidecar_path(out).read_text())
    regions.metadata.update({"builder": name, "parameters": params})
    for key in ("derived", "quality"):
        if key in spec:
            regions.metadata[key] = spec[key]
    return regions
