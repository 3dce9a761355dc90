"""Point probes and line profiles (femheat.analysis.probes): exact on a linear
temperature at degree 1, CSV time series with one flushed row per state, and the
[output.probes]/[output.lines] case-file tables."""

from __future__ import annotations

import csv
import tomllib
from types import SimpleNamespace

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.analysis.probes import (LineProfile, ProbeWriter, line_temperature,
                                     probe_temperature)
from femheat.io.case import parse_case
from tests.conftest import LAYERED_TABLES, ROOT, strip_regions


def exact(x: np.ndarray) -> np.ndarray:
    return 301.0 - np.asarray(x)[0]  # K, on [0, 1] x [0, 0.25], T(0) = 301, T(1) = 300


@pytest.fixture(scope="module")
def linear_steady():
    regions = strip_regions()
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0)},
        {"left": fh.Temperature(301.0), "right": fh.Temperature(300.0), "walls": fh.Insulated()},
        degree=1)
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


def test_probes_and_lines_are_exact_for_a_linear_temperature(linear_steady):
    system, state = linear_steady
    pts = np.array([[0.0, 0.123, 0.5, 0.77, 1.0], [0.0, 0.2, 0.125, 0.01, 0.25]])
    T = probe_temperature(system, state, pts)
    np.testing.assert_allclose(T, exact(pts), rtol=0, atol=1e-10)
    assert probe_temperature(system, state, np.array([0.3, 0.1])) == pytest.approx(300.7, abs=1e-10)
    s, Tl = line_temperature(system, state, [0.0, 0.1], [1.0, 0.2], points=11)
    assert s[-1] == pytest.approx(np.hypot(1.0, 0.1))
    np.testing.assert_allclose(Tl, 301.0 - np.linspace(0, 1, 11), rtol=0, atol=1e-10)


def test_kernel_style_p1_system():
    """A system with a P1 ``basis`` (the kernel model's layout) and a plain vector."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 6), np.linspace(0, 0.5, 4))
    basis = skfem.Basis(mesh, skfem.ElementTriP1())
    T = 301.0 - 2.0 * mesh.p[0] + 3.0 * mesh.p[1]
    system = SimpleNamespace(basis=basis)
    pts = np.array([[0.11, 0.5, 0.93], [0.07, 0.25, 0.4]])
    np.testing.assert_allclose(probe_temperature(system, T, pts),
                               301.0 - 2.0 * pts[0] + 3.0 * pts[1], atol=1e-12)


def test_point_outside_the_mesh_is_named(linear_steady):
    system, state = linear_steady
    with pytest.raises(fh.FemheatInputError, match=r"probe: the point \[1\.5, 0\.1\] m lies "
                                                  r"outside the mesh \(bounding box \[0, 1\]"):
        probe_temperature(system, state, np.array([[0.5, 1.5], [0.1, 0.1]]))


def test_probe_writer_appends_rows_and_resumes(tmp_path, linear_steady):
    system, state = linear_steady
    probes = {"a": [0.25, 0.1], "b": [0.75, 0.2]}
    lines = {"mid": LineProfile(np.array([0.0, 0.125]), np.array([1.0, 0.125]), 5)}
    with ProbeWriter(tmp_path, system, probes, lines) as w:
        for t in (0.0, 0.5, 1.0):
            w.write(t, state)
            rows = list(csv.reader(open(tmp_path / "probes.csv")))
            assert float(rows[-1][0]) == t  # flushed at once
    assert w.files == ["probes.csv", "line_mid.csv"]
    rows = list(csv.reader(open(tmp_path / "probes.csv")))
    assert rows[0] == ["time", "temperature:a", "temperature:b"] and len(rows) == 4
    np.testing.assert_allclose(np.array(rows[1:], float)[:, 1:], [[300.75, 300.25]] * 3,
                               atol=1e-9)
    line = list(csv.reader(open(tmp_path / "line_mid.csv")))
    assert line[0][0] == "time" and line[0][1].startswith("s=0.0") and len(line[0]) == 6
    np.testing.assert_allclose(np.array(line[1], float)[1:], 301 - np.linspace(0, 1, 5),
                               atol=1e-9)
    # resume after t = 0.5: the t = 1 row is dropped, new rows follow
    with ProbeWriter(tmp_path, system, probes, lines, resume_time=0.5) as w:
        w.write(0.75, state)
    times = [float(r[0]) for r in list(csv.reader(open(tmp_path / "probes.csv")))[1:]]
    assert times == [0.0, 0.5, 0.75]


CASE = f"""
[mesh]
file = "{ROOT / 'meshes' / 'layered_2d.msh'}"
{LAYERED_TABLES}[output.probes]
centre = [2e-6, 0.5e-6]
[output.lines]
axis = {{from = [0.0, 0.5e-6], to = [4e-6, 0.5e-6], points = 21}}
"""


@pytest.mark.parametrize("edit, match", [
    (("centre = [2e-6, 0.5e-6]", "centre = [5e-6, 0.5e-6]"),
     r"output\.probes\.centre: the point \[5e-06, 5e-07\] m lies outside the mesh"),
    (("centre = [2e-6, 0.5e-6]", "centre = [2e-6, 0.5e-6, 0.0]"),
     r"output\.probes\.centre must be a list of 2 coordinates"),
    (("centre = [2e-6, 0.5e-6]", 'centre = "middle"'), r"output\.probes\.centre must be a list"),
    (("to = [4e-6, 0.5e-6]", "to = [4e-6, 2e-6]"),
     r"output\.lines\.axis: the point \[.*\] m lies outside the mesh"),
    (("points = 21", "points = 1"), r"output\.lines\.axis\.points must be an integer >= 2"),
    (("points = 21", "points = 21, step = 2"), r"output\.lines\.axis: unknown key\(s\) \['step'\]"),
    (("from = [0.0, 0.5e-6], ", ""), r"output\.lines\.axis\.from is missing"),
])
def test_case_file_probes_and_lines(tmp_path, edit, match):
    text = CASE
    c = parse_case(tomllib.loads(text), tmp_path)
    np.testing.assert_allclose(c.output.probes["centre"], [2e-6, 0.5e-6])
    assert c.output.lines["axis"].n == 21
    assert edit[0] in text
    with pytest.raises(fh.FemheatInputError, match=match):
        parse_case(tomllib.loads(text.replace(*edit)), tmp_path)
