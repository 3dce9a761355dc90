"""Shared fixtures: small named meshes built with scikit-fem (no gmsh needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skfem

import femheat as fh

ROOT = Path(__file__).resolve().parents[1]


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
