"""Case files that build their mesh with gmsh, and the 3D pipeline end to end.

Physics check (BENCHMARKS K1): a three-layer stack with two Kapitza interfaces
carries q = ΔT / (Σ Lᵢ/κᵢ + Σ R_K) and jumps R_K q, to 1e-10 — here through the
case-file → gmsh → solver → VTU route, in 2D and in 3D (degree 0 and 1).
"""

from __future__ import annotations

import tomllib

import meshio
import numpy as np
import pytest

from femheat.io.case import parse_case
from femheat.pipeline.runner import run_case
from tests.conftest import ROOT

LAYERS = (1e-6, 2e-6, 1e-6)
KAPPA = (150.0, 1.4, 40.0)
R_K = (1e-8, 5e-9)


def case_text(mesh_table: str, degree: int, extra_bcs: str = "") -> str:
    mats = "\n".join(f"[materials.layer_{i + 1}]\nconductivity = {k}\n" for i, k in enumerate(KAPPA))
    ifaces = "\n".join(f"[interfaces.interface_{i + 1}]\nkapitza_resistance = {r}\n"
                       for i, r in enumerate(R_K))
    return f"""
title = "stack"
{mesh_table}
[model]
type = "fourier"
degree = {degree}
{mats}
{ifaces}
[boundaries.left]
temperature = 301.0
[boundaries.right]
temperature = 300.0
[boundaries.top]
heat_flux = 0.0
[boundaries.bottom]
heat_flux = 0.0
{extra_bcs}
"""


def expected_flux() -> float:
    return 1.0 / (sum(L / k for L, k in zip(LAYERS, KAPPA)) + sum(R_K))


def test_case_with_gmsh_builder_reproduces_series_resistance(tmp_path):
    pytest.importorskip("gmsh")
    mesh = f"""
[mesh]
builder = "layered_stack"
[mesh.parameters]
thicknesses = {list(LAYERS)}
height = 1e-6
mesh_size = 2.5e-7
path = "{tmp_path / 'stack.msh'}"
"""
    case = parse_case(tomllib.loads(case_text(mesh, 0)), tmp_path)
    summary = run_case(case, tmp_path / "out")
    q = expected_flux()
    assert summary["heat_flow"]["right"] == pytest.approx(q * 1e-6, rel=1e-10)
    for i, r in enumerate(R_K):
        rep = summary["interfaces"][f"interface_{i + 1}"]
        assert rep["min_jump"] == pytest.approx(r * q, rel=1e-10)
        assert rep["max_jump"] == pytest.approx(r * q, rel=1e-10)


@pytest.mark.parametrize("degree", [0, 1])
def test_3d_stack_through_the_runner(tmp_path, degree):
    mesh = f'[mesh]\nfile = "{ROOT / "meshes" / "layered_3d.msh"}"\n'
    extra = "[boundaries.front]\nheat_flux = 0.0\n[boundaries.back]\nheat_flux = 0.0\n"
    case = parse_case(tomllib.loads(case_text(mesh, degree, extra)), tmp_path)
    summary = run_case(case, tmp_path)
    q = expected_flux()
    area = 1e-6 * 1e-6
    assert summary["heat_flow"]["right"] == pytest.approx(q * area, rel=1e-10)
    assert summary["heat_flow"]["left"] == pytest.approx(-q * area, rel=1e-10)
    for i, r in enumerate(R_K):
        rep = summary["interfaces"][f"interface_{i + 1}"]
        assert rep["mean_jump"] == pytest.approx(r * q, rel=1e-10)
        assert rep["max_jump_mismatch"] < 1e-9 * r * q  # round-off of a 3e-3 K jump at 301 K
    vol = meshio.read(tmp_path / "fields_00000.vtu")
    assert vol.cells[0].type == "tetra"
    T = vol.point_data["temperature"]
    assert T.min() == pytest.approx(300.0, abs=1e-9) and T.max() == pytest.approx(301.0, abs=1e-9)
    iface = meshio.read(tmp_path / "interfaces_00000.vtu")
    assert iface.cells[0].type == "triangle"
    jumps = iface.cell_data["temperature_jump"][0]
    np.testing.assert_allclose(np.sort(np.unique(np.round(jumps / (R_K[1] * q), 6))),
                               [1.0, R_K[0] / R_K[1]], rtol=1e-6)
    assert (tmp_path / "temperature.png").stat().st_size > 10_000
