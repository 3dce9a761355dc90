"""Shared fixtures: small named meshes built with scikit-fem (no gmsh needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import skfem

import femheat as fh

ROOT = Path(__file__).resolve().parents[1]

#: Case-file tables of the three-layer stack of ``meshes/layered_2d.msh`` (κ = 1, 2, 1
#: W/(m K), 301 K | 300 K, insulated top and bottom), without [mesh]: the base of the
#: case-file tests (bad input, CLI, probes), which add or edit lines.
LAYERED_TABLES = """
[model]
type = "fourier"
[materials.layer_1]
conductivity = 1.0
[materials.layer_2]
conductivity = 2.0
[materials.layer_3]
conductivity = 1.0
[boundaries.left]
temperature = 301.0
[boundaries.right]
temperature = 300.0
[boundaries.top]
heat_flux = 0.0
[boundaries.bottom]
heat_flux = 0.0
"""


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs one worker per core, at most 4) each worker
    gets one BLAS/OpenMP thread: the workers already share the cores, and N workers of N
    threads each oversubscribe them. Set before the workers start, which inherit the
    environment."""
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")


def readme_snippet(start: str, env: dict | None = None, cwd: Path = ROOT) -> dict:
    """Run the README's ```python block whose code starts with the regex ``start``, as
    written, from ``cwd`` (default the repository root); return its namespace. ``env``
    continues the namespace of an earlier block."""
    import re

    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(" + start + r".*?)```", text, re.S)
    assert code, f"README example starting with {start!r} not found"
    env = {} if env is None else env
    old = os.getcwd()
    try:
        os.chdir(cwd)
        exec(code.group(1), env)  # noqa: S102 - our own README
    finally:
        os.chdir(old)
    return env


def strip_regions(n: int = 8, length: float = 1.0, height: float = 0.25, split: float | None = None):
    """Rectangle [0, L] x [0, H] with left/right/walls boundaries, optionally two layers."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, length, n + 1), np.linspace(0, height, 3))
    subs = None
    ifaces = None
    if split is not None:
        subs = {"a": lambda x: x[0] < split, "b": lambda x: x[0] > split}
        ifaces = {"ab": lambda x: np.isclose(x[0], split)}
    return fh.RegionMesh.from_skfem(
        mesh, subdomains=subs,
        boundaries={"left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], length),
                    "walls": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], height)},
        interfaces=ifaces)


@pytest.fixture
def strip():
    return strip_regions()


@pytest.fixture
def bilayer():
    return strip_regions(split=0.5)


# -------------------------------------------------------------- mesh measures
def cell_measures(regions: fh.RegionMesh) -> np.ndarray:
    """Unsigned area (2D) or volume (3D) of every cell [m^2 or m^3]."""
    p, t = regions.mesh.p, regions.mesh.t
    d = regions.dim
    J = np.stack([p[:, t[i + 1]] - p[:, t[0]] for i in range(d)], axis=1)
    return np.abs(np.linalg.det(np.moveaxis(J, -1, 0))) / (2 if d == 2 else 6)


def facet_measures(regions: fh.RegionMesh, facets: np.ndarray) -> np.ndarray:
    """Length (2D) or area (3D) of the given facets [m or m^2]."""
    p, f = regions.mesh.p, regions.mesh.facets[:, facets]
    if regions.dim == 2:
        return np.linalg.norm(p[:, f[1]] - p[:, f[0]], axis=0)
    return 0.5 * np.linalg.norm(
        np.cross(p[:, f[1]] - p[:, f[0]], p[:, f[2]] - p[:, f[0]], axis=0), axis=0
    )


def region_measure(regions: fh.RegionMesh, name: str) -> float:
    return float(cell_measures(regions)[regions.subdomain(name)].sum())
