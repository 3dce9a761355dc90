"""Regenerate the lattice meshes of the nonlocal-kernel cases (needs only scikit-fem and meshio).

Usage::

    python meshes/kernel_lattices.py              # all meshes
    python meshes/kernel_lattices.py hot_spot_lattice

A *lattice mesh* (uniform ``skfem.MeshTri.init_tensor`` grid, two triangles per box)
lets the kernel model apply its operator by FFT convolution (``method = "auto"`` picks
it). The regions are named with gmsh physical groups, written in gmsh's 2.2 format by
meshio, so :func:`femheat.load_mesh` reads them like any gmsh mesh. Each ``NAME.msh``
gets a sidecar ``NAME.msh.json`` with the generator and its parameters (SI units).

``hot_spot_lattice``
    The square of ``cases/hot_spot.py``'s kernel run: half-width R + 4a with R = 3σ =
    600 nm, a = √2·100 nm; 55 × 55 boxes (h = 42.4 nm = 0.2997 a); subdomain
    ``"bulk"`` = cells whose centroid lies within r < R, ``"collar"`` = the rest (the
    volume constraint carrying the exact far field); boundary ``"outer"``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import skfem

HERE = Path(__file__).resolve().parent

SIGMA = 200e-9  # m, heater width of the hot-spot study
A = math.sqrt(2) * 100e-9  # m, Gaussian kernel length
R_EDGE = 3 * SIGMA  # m, radius of the bulk region


def write_msh(path: Path, mesh: skfem.MeshTri, subdomains: dict[str, np.ndarray],
              boundaries: dict[str, np.ndarray], parameters: dict, generator: str) -> Path:
    """Write a triangle mesh with named cell and boundary-facet groups (gmsh 2.2, ASCII)."""
    import meshio

    tags: dict[str, list[int]] = {}
    cell_tag = np.zeros(mesh.t.shape[1], dtype=np.int64)
    for i, (name, cells) in enumerate(subdomains.items(), start=1):
        cell_tag[cells] = i
        tags[name] = [i, 2]
    if np.any(cell_tag == 0):
        raise ValueError("every cell needs a subdomain")
    lines, line_tag = [], []
    for j, (name, facets) in enumerate(boundaries.items(), start=len(subdomains) + 1):
        lines.append(mesh.facets[:, facets].T)
        line_tag.append(np.full(facets.size, j, dtype=np.int64))
        tags[name] = [j, 1]
    t = mesh.t.copy()  # gmsh readers expect one orientation: make every triangle positive
    e1, e2 = mesh.p[:, t[1]] - mesh.p[:, t[0]], mesh.p[:, t[2]] - mesh.p[:, t[0]]
    neg = e1[0] * e2[1] - e1[1] * e2[0] < 0
    t[1:, neg] = t[2:0:-1, neg]
    points = np.zeros((mesh.p.shape[1], 3))
    points[:, :2] = mesh.p.T
    lines_all, ltag = np.vstack(lines), np.concatenate(line_tag)
    out = meshio.Mesh(points, [("line", lines_all), ("triangle", t.T)],
                      cell_data={"gmsh:physical": [ltag, cell_tag],
                                 "gmsh:geometrical": [ltag, cell_tag]},
                      field_data={k: np.array(v) for k, v in tags.items()})
    meshio.write(path, out, file_format="gmsh22", binary=False)
    Path(str(path) + ".json").write_text(json.dumps(
        {"builder": generator, "parameters": parameters,
         "derived": {"cells": int(mesh.t.shape[1]), "vertices": int(mesh.p.shape[1]),
                     "subdomain_cells": {k: int(v.size) for k, v in subdomains.items()}}},
        indent=2) + "\n")
    return path


def hot_spot_lattice(path: Path, h: float = 0.3 * A) -> Path:
    """The collared square of the hot-spot study (see the module docstring)."""
    half = R_EDGE + 4 * A
    n = int(math.ceil(2 * half / h))
    edges = np.linspace(-half, half, n + 1)
    mesh = skfem.MeshTri.init_tensor(edges, edges)
    centroid = mesh.p[:, mesh.t].mean(axis=1)
    inside = np.hypot(centroid[0], centroid[1]) < R_EDGE
    exterior = np.nonzero(mesh.f2t[1] == -1)[0]
    return write_msh(path, mesh, {"bulk": np.nonzero(inside)[0],
                                  "collar": np.nonzero(~inside)[0]},
                     {"outer": exterior},
                     {"half_width": half, "boxes": n, "radius_bulk": R_EDGE, "requested_h": h},
                     "meshes/kernel_lattices.py:hot_spot_lattice")


MESHES = {"hot_spot_lattice": hot_spot_lattice}


def main(names: list[str]) -> None:
    for name in names or list(MESHES):
        if name not in MESHES:
            raise SystemExit(f"unknown mesh {name!r}; choose from {', '.join(MESHES)}")
        MESHES[name](HERE / f"{name}.msh")


if __name__ == "__main__":
    main(sys.argv[1:])
