"""A channel with a square side cavity in its lower wall, drawn with pygmsh (gmsh's geo kernel).

The geometry of ``cases/gk_cavity_vortex.py``: a channel [0, 3] x [0, 1] (drawing
units, ``unit`` metres each; the case uses 1 m) with the cavity [1, 2] x [-1, 0]
below its mouth. One material ``"domain"``; boundaries ``"inlet"`` (x = 0),
``"outlet"`` (x = 3) and ``"walls"`` (every other exterior edge, cavity included).

Mesh it with femheat (``[mesh] pygmsh = "../meshes/gk_cavity_pygmsh.py"`` in
``cases/gk_cavity_vortex.toml``)::

    from femheat.mesh.pygmsh import mesh_from_script
    regions = mesh_from_script("meshes/gk_cavity_pygmsh.py", "cavity.msh", mesh_size=0.1)
"""

from __future__ import annotations

MESH_DEFAULTS = {"unit": 1.0, "kernel": "geo"}


def build(geom, *, length: float = 3.0, height: float = 1.0, cavity_start: float = 1.0,
          cavity_width: float = 1.0, depth: float = 1.0) -> None:
    """Draw the channel and its cavity as one polygon on ``geom`` and name its regions.

    Parameters
    ----------
    length, height
        Channel length and height [drawing units].
    cavity_start, cavity_width, depth
        The cavity's left edge, width and depth below the channel floor [drawing units].
    """
    a, b = cavity_start, cavity_start + cavity_width
    if not (0 < a < b < length and height > 0 and depth > 0):
        raise ValueError(f"need 0 < cavity_start < cavity_start + cavity_width < length and "
                         f"height, depth > 0; got {length}, {height}, {cavity_start}, "
                         f"{cavity_width}, {depth}")
    corners = [(0.0, 0.0), (a, 0.0), (a, -depth), (b, -depth), (b, 0.0), (length, 0.0),
               (length, height), (0.0, height)]
    points = [geom.add_point([x, y, 0.0]) for x, y in corners]
    lines = [geom.add_line(points[i], points[(i + 1) % len(points)])
             for i in range(len(points))]
    loop = geom.add_curve_loop(lines)
    surface = geom.add_plane_surface(loop)
    geom.add_physical([surface], label="domain")
    geom.add_physical([lines[7]], label="inlet")     # (0, height) -> (0, 0)
    geom.add_physical([lines[5]], label="outlet")    # (length, 0) -> (length, height)
    geom.add_physical([lines[i] for i in (0, 1, 2, 3, 4, 6)], label="walls")
