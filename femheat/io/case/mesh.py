"""``[mesh]``: a ``.msh`` file or a geometry builder with its parameters."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ...errors import FemheatInputError
from ...mesh.regions import RegionMesh, load_mesh
from .common import check_keys, table

__all__ = ["parse_mesh"]


def parse_mesh(data: dict, base: Path) -> RegionMesh:
    """Load or build the mesh; file paths are relative to the case file's folder."""
    m = table(data, "mesh", "")
    check_keys(m, {"file", "builder", "parameters"}, "mesh")
    if "file" in m and "builder" in m:
        raise FemheatInputError("mesh: give either file or builder, not both")
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
    raise FemheatInputError("mesh: give file = \"...msh\" or builder = \"...\"")
