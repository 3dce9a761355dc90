"""A square cell with a square array of circular inclusions, drawn with pygmsh (OCC kernel).

The geometry of :func:`femheat.mesh.geometry.particle_composite` with
``shape="circle"``, ``arrangement="lattice"`` (and of
:func:`femheat.mesh.geometry.inclusions_2d` at the lattice centres): a cell
[0, width]², ``n_per_side``² equal circles of radius
a = width·sqrt(f/(π n²)) centred at ((i + ½) p, (j + ½) p), p = width/n.

Regions (the names femheat's builders use): materials ``"matrix"`` and
``"inclusion"`` (all circles), interface ``"inclusion_surface"`` (all circles,
shared by matrix and inclusion through ``boolean_fragments``), boundaries
``"left"`` (x = 0), ``"right"``, ``"bottom"`` (y = 0), ``"top"``.

Mesh it with femheat (lengths in metres; drawn in micrometres, see
``MESH_DEFAULTS``)::

    from femheat.mesh.pygmsh import mesh_from_script
    regions = mesh_from_script("meshes/composite_pygmsh.py", "cell.msh",
                               width=2e-6, volume_fraction=0.3, n_per_side=2,
                               interface_mesh_size=3e-8, mesh_size=8e-8)

``interface_mesh_size`` refines along the circles with a pygmsh boundary-layer
field (Distance + Threshold) that grows with slope ½ away from them, capped by
the mesh option ``mesh_size``, as the builders' ``interface_mesh_size`` does.
"""

from __future__ import annotations

import math

import gmsh
from pygmsh.occ.dummy import Dummy

UNIT = 1e-6  # metres per drawing unit: OCC's 1e-7 tolerance stays far below µm features
MESH_DEFAULTS = {"unit": UNIT, "kernel": "occ"}


def build(geom, *, width: float = 2e-6, volume_fraction: float = 0.30, n_per_side: int = 2,
          interface_mesh_size: float | None = None) -> None:
    """Draw the cell on ``geom`` (a ``pygmsh.occ.Geometry``) and name its regions.

    Parameters
    ----------
    width
        Cell side [m].
    volume_fraction
        Area fraction f of the circles, below the square-lattice limit π/4.
    n_per_side
        Circles along each side.
    interface_mesh_size
        Element size on the circles [m] (default: no refinement).
    """
    n = int(n_per_side)
    if not 0 < volume_fraction < math.pi / 4 or n < 1 or width <= 0:
        raise ValueError(f"need width > 0, n_per_side >= 1 and 0 < volume_fraction < pi/4; "
                         f"got {width}, {n_per_side}, {volume_fraction}")
    w = width / UNIT
    pitch = w / n
    a = w * math.sqrt(volume_fraction / (math.pi * n * n))
    centres = [((i + 0.5) * pitch, (j + 0.5) * pitch) for i in range(n) for j in range(n)]

    box = geom.add_rectangle([0.0, 0.0, 0.0], w, w)
    disks = [geom.add_disk([x, y, 0.0], a) for x, y in centres]
    pieces = geom.boolean_fragments(box, disks)  # one conforming model: circles shared
    geom.synchronize()

    def inside_a_circle(piece) -> bool:
        x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(*piece.dim_tag)
        return any(abs(0.5 * (x0 + x1) - x) < 1e-6 * w and abs(0.5 * (y0 + y1) - y) < 1e-6 * w
                   and x1 - x0 < 2 * a * (1 + 1e-6) for x, y in centres)

    surfaces = [p for p in pieces if p.dim == 2]
    inclusion = [p for p in surfaces if inside_a_circle(p)]
    matrix = [p for p in surfaces if not inside_a_circle(p)]
    circles = sorted({t for _, t in gmsh.model.getBoundary([p.dim_tag for p in inclusion],
                                                           oriented=False)})
    eps = 1e-6 * w

    def side(x0: float, y0: float, x1: float, y1: float) -> list:
        ents = gmsh.model.getEntitiesInBoundingBox(x0 - eps, y0 - eps, -eps,
                                                   x1 + eps, y1 + eps, eps, 1)
        return [Dummy(1, t) for _, t in ents]

    geom.add_physical(matrix, label="matrix")
    geom.add_physical(inclusion, label="inclusion")
    geom.add_physical([Dummy(1, t) for t in circles], label="inclusion_surface")
    geom.add_physical(side(0, 0, 0, w), label="left")
    geom.add_physical(side(w, 0, w, w), label="right")
    geom.add_physical(side(0, 0, w, 0), label="bottom")
    geom.add_physical(side(0, w, w, w), label="top")

    if interface_mesh_size is not None:
        h = interface_mesh_size / UNIT
        field = geom.add_boundary_layer(
            lcmin=h, lcmax=w, distmin=0.5 * h, distmax=0.5 * h + 2.0 * (w - h),
            edges_list=[Dummy(1, t) for t in circles],
            num_points_per_curve=int(min(max(4 * math.sqrt(2) * a / h, 200), 20000)))
        geom.set_background_mesh([field], operator="Min")
        # the size comes from the field alone (and the cap Mesh.MeshSizeMax)
        gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
