"""Regenerate the meshes shipped in this folder (needs gmsh: ``pip install femheat[full]``).

Usage::

    python meshes/build_meshes.py              # all meshes
    python meshes/build_meshes.py composite_2d # only some

Each mesh ``NAME.msh`` gets a sidecar ``NAME.msh.json`` with the builder and
its parameters (SI units, metres), so ``femheat.mesh.geometry.build(builder, path,
**parameters)`` regenerates it. The table below is the single source of the
shipped geometries.
"""

from __future__ import annotations

import sys
from pathlib import Path

from femheat.mesh import geometry

HERE = Path(__file__).resolve().parent

A = 1e-6  # unit-cell side of the composite [m]

MESHES: dict[str, tuple[str, dict]] = {
    # tri-layer film, 1 um / 2 um / 1 um along x, 1 um high
    "layered_2d": (
        "layered_stack",
        dict(thicknesses=[1e-6, 2e-6, 1e-6], height=1e-6, mesh_size=1e-7),
    ),
    # the same stack as a 3D slab, 1 um deep; coarse
    "layered_3d": (
        "layered_stack",
        dict(thicknesses=[1e-6, 2e-6, 1e-6], height=1e-6, depth=1e-6, mesh_size=2.5e-7),
    ),
    # flagship: 3 x 2 square array of unit cells (side a), one circular inclusion of
    # radius 0.3 a centred in each cell: area fraction pi 0.09 = 0.283
    "composite_2d": (
        "inclusions_2d",
        dict(
            width=3 * A,
            height=2 * A,
            # rounded to the picometre so that the sidecar shows 2.5e-06, not 2.4999999999999998e-06
            centers=[
                [round((i + 0.5) * A, 12), round((j + 0.5) * A, 12)]
                for j in range(2)
                for i in range(3)
            ],
            radii=0.3 * A,
            mesh_size=A / 12,
            interface_mesh_size=A / 30,
        ),
    ),
    # one sphere (radius 0.3 a) centred in a cube of side a; coarse
    "inclusion_3d": (
        "inclusion_3d",
        dict(
            size=[A, A, A],
            center=[0.5 * A, 0.5 * A, 0.5 * A],
            radius=0.3 * A,
            mesh_size=A / 8,
            interface_mesh_size=A / 16,
        ),
    ),
    # 1D-like strip for second-sound runs: 500 x 5 square cells (h = 2 mm). Cells must
    # be close to isotropic: on triangles stretched across the propagation direction
    # the RT0 wave speed carries an O(h_transverse) error (2.2 % at 4:1).
    "strip_2d": ("strip", dict(length=1.0, height=0.01, n_length=500, n_height=5)),
}


def main(argv: list[str]) -> int:
    names = argv or list(MESHES)
    unknown = [n for n in names if n not in MESHES]
    if unknown:
        print(f"unknown mesh {unknown}; choose from {list(MESHES)}", file=sys.stderr)
        return 2
    for name in names:
        builder, params = MESHES[name]
        path = HERE / f"{name}.msh"
        regions = geometry.build(builder, path, **params)
        size_kb = path.stat().st_size / 1024
        print(
            f"{path.name}: {regions.mesh.t.shape[1]} cells, {regions.mesh.p.shape[1]} "
            f"nodes, {size_kb:.0f} KiB; subdomains {regions.subdomain_names}, "
            f"boundaries {list(regions.boundaries)}, interfaces {list(regions.interfaces)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
