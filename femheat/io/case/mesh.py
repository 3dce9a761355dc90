"""``[mesh]``: a ``.msh`` file, a geometry builder, or a user's pygmsh script, with
its parameters.

``pygmsh = "script.py"`` (relative to the case file) names a file that defines
``build(geom, **parameters)``; it is meshed by
:func:`femheat.mesh.pygmsh.mesh_from_script` through gmsh's own writer, so the
physical groups (materials, boundaries, interfaces) keep their names.

``coordinates = "axisymmetric"`` (default ``"cartesian"``) reads a 2D mesh as the
(r, z) section of a body of revolution, x = r ≥ 0 (:mod:`femheat.assembly.axisymmetric`);
``builder = "layered_cylinder"`` makes such a mesh for FDTR/TDTR samples."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ...errors import FemheatInputError
from ...mesh.regions import RegionMesh, load_mesh
from .common import check_keys, table

__all__ = ["parse_mesh", "parse_coordinates"]


def parse_coordinates(data: dict) -> str:
    """``[mesh] coordinates``: "cartesian" (default) or "axisymmetric"."""
    from ...assembly.axisymmetric import COORDINATES

    value = table(data, "mesh", "").get("coordinates", "cartesian")
    if value not in COORDINATES:
        raise FemheatInputError(
            f"mesh.coordinates must be one of {', '.join(map(repr, COORDINATES))}, "
            f"got {value!r}")
    return value


def parse_mesh(data: dict, base: Path) -> RegionMesh:
    """Load or build the mesh; file paths are relative to the case file's folder."""
    m = table(data, "mesh", "")
    check_keys(m, {"file", "builder", "pygmsh", "parameters", "coordinates"}, "mesh")
    given = sorted({"file", "builder", "pygmsh"} & set(m))
    if len(given) > 1:
        raise FemheatInputError(f"mesh: give one of file, builder or pygmsh, not {given}")
    if "file" in m:
        if not isinstance(m["file"], str):
            raise FemheatInputError(f"mesh.file must be a path string, got {m['file']!r}")
        return load_mesh((base / m["file"]).resolve())
    if "builder" in m:
        from ...mesh.geometry import build  # gmsh is needed only here

        params = dict(table(m, "parameters", "mesh."))
        out = params.pop("path", None)
        target = Path(out) if out else Path(tempfile.mkdtemp(prefix="femheat-")) / "mesh.msh"
        return build(m["builder"], path=target, **params)
    if "pygmsh" in m:
        from ...mesh.pygmsh import mesh_from_script  # pygmsh/gmsh are needed only here

        if not isinstance(m["pygmsh"], str):
            raise FemheatInputError(f"mesh.pygmsh must be a path string, got {m['pygmsh']!r}")
        params = dict(table(m, "parameters", "mesh."))
        out = params.pop("path", None)
        target = Path(out) if out else Path(tempfile.mkdtemp(prefix="femheat-")) / "mesh.msh"
        return mesh_from_script((base / m["pygmsh"]).resolve(), target, **params)
    raise FemheatInputError(
        "mesh: give file = \"...msh\", builder = \"...\" or pygmsh = \"script.py\"")
