"""The homogenization cases run end to end and agree with the closed forms (BENCHMARKS K1, K3)."""

from __future__ import annotations

import importlib.util
import json
import tomllib

import numpy as np
import pytest

from femheat.io.case import load_case, parse_case
from femheat.cli import main
from femheat.analysis.conductance import maxwell_garnett
from femheat.errors import FemheatInputError
from femheat.pipeline.runner import run_case
from tests.conftest import ROOT


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "cases" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cylinder_sweep_case(tmp_path, capsys):
    """κ_eff(R_K) within 1 % of Hasselman–Johnson at every point; crossover and fit."""
    assert main(["run", str(ROOT / "cases" / "composite_cylinders_sweep.toml"),
                 "-o", str(tmp_path), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "kappa_eff" in printed and "crossover" in printed and "fitted R_K" in printed
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["status"] == "completed" and s["analysis"] == "homogenization"
    # the conservation audit every analysis writes under one key (and prints)
    assert s["energy_balance_relative_error"] < 1e-10
    assert "energy balance error" in printed
    sweep = s["sweep"]
    rel = np.array(sweep["kappa_eff"]) / np.array(sweep["reference"]) - 1
    assert np.all(np.abs(rel) < 0.01), rel
    # the tensor of a square array is isotropic and symmetric
    h = s["homogenization"]
    k = np.array(h["conductivity"])
    assert abs(k[0, 0] / k[1, 1] - 1) < 1e-4 and abs(k[0, 1]) < 1e-5 * k[0, 0]
    assert h["asymmetry"] < 1e-8
    # crossover where the fibres stop helping: a (k_i - k_m)/(k_i k_m)
    assert abs(s["crossover"]["relative_difference"]) < 0.01, s["crossover"]
    assert s["crossover"]["kapitza_radius"] == pytest.approx(s["crossover"]["resistance"] * 0.2)
    # the fit reproduces the measured value and its R_K brackets the crossover side
    fit = s["fit"]
    assert fit["predicted"][0] == pytest.approx(0.25, rel=1e-8)
    assert 1e-7 < fit["resistance"] < s["crossover"]["resistance"]
    assert 0 < fit["standard_error"] < fit["resistance"]
    for name in ("sweep.csv", "sweep_points.csv", "sweep.png", "fields_x.vtu", "fields_y.vtu",
                 "temperature_x.png", "case.toml", "mesh.msh"):
        assert (tmp_path / name).exists(), name
    assert not (tmp_path / "fields.pvd").exists()  # load cases are not a time series
    # the interface file carries the case's R_K and jumps = R_K q·n (not the R = 0 bulk)
    import meshio

    iface = meshio.read(tmp_path / "interfaces_x.vtu")
    np.testing.assert_allclose(iface.cell_data["kapitza_resistance"][0], 1e-8)
    assert np.abs(iface.cell_data["temperature_jump"][0]).max() > 0


def test_sphere_composite_case_coarse(tmp_path):
    """The 3D case (coarsened for CI): symmetric, near-isotropic tensor near Nan 1997."""
    data = tomllib.loads((ROOT / "cases" / "sphere_composite_3d.toml").read_text())
    data["mesh"]["parameters"].update(mesh_size=1.6e-7, interface_mesh_size=8e-8)
    data["homogenization"]["sweep"]["resistances"] = [1e-9, 1e-6]
    data["output"] = {"png": False}
    case = parse_case(data, ROOT / "cases")
    s = run_case(case, tmp_path)
    h = s["homogenization"]
    k = np.array(h["conductivity"])
    assert h["asymmetry"] < 1e-8
    assert s["energy_balance_relative_error"] < 1e-10
    ev = np.array(h["principal_conductivities"])
    assert ev.min() > 0 and ev.max() / ev.min() - 1 < 0.03, ev  # finite random cell
    # MG with the mesh's own (polygonal, 4 % short) inclusion volume; the rest is the
    # O(h^2) error of RT1 x P0 on this coarse mesh and the random arrangement
    f = h["volume_fractions"]["inclusion"]
    mg = float(maxwell_garnett(f, 1.4, 150.0, dim=3, radius=s["reference"]["radius"],
                               resistance=1e-8))
    assert abs(np.trace(k) / 3 / mg - 1) < 0.04, (np.trace(k) / 3, mg)
    # interfaces: at R_K = 1e-6 the spheres hinder conduction (a < a_c)
    sw = s["sweep"]
    assert sw["kappa_eff"][1] < 1.4 < sw["kappa_eff"][0]


@pytest.mark.slow
def test_sphere_composite_case_full(tmp_path):
    s = run_case(load_case(ROOT / "cases" / "sphere_composite_3d.toml"), tmp_path)
    h = s["homogenization"]
    ev = np.array(h["principal_conductivities"])
    assert ev.max() / ev.min() - 1 < 0.02, ev
    # against MG with the mesh's own (polygonal) inclusion volume fraction
    f = h["volume_fractions"]["inclusion"]
    ref = s["reference"]
    mg = float(maxwell_garnett(f, 1.4, 150.0, dim=3, radius=ref["radius"], resistance=1e-8))
    assert abs(ev.mean() / mg - 1) < 0.02, (ev.mean(), mg)


def test_superlattice_period_script(tmp_path):
    sl = _load("superlattice_period")
    summary = sl.run(tmp_path, periods=[1e-9, 1e-7, 1e-5])
    assert summary["max_relative_error_cross_plane"] < 1e-10, summary
    assert summary["max_relative_error_in_plane"] < 1e-10, summary
    rows = np.genfromtxt(tmp_path / "superlattice.csv", delimiter=",", names=True)
    # interface-dominated at p << p*: κ ≈ p/(2 R_K); bulk at p >> p*
    assert rows["kappa_cross_plane"][0] == pytest.approx(1e-9 / (2 * sl.RESISTANCE), rel=0.01)
    bulk = 2 / (1 / sl.KAPPA_A + 1 / sl.KAPPA_B)
    assert 0.95 * bulk < rows["kappa_cross_plane"][-1] < bulk  # p = 20 p*
    assert (tmp_path / "superlattice.png").stat().st_size > 20_000


def test_homogenization_case_bad_input():
    base = tomllib.loads((ROOT / "cases" / "composite_cylinders_sweep.toml").read_text())
    base["mesh"] = {"file": str(ROOT / "meshes" / "composite_2d.msh")}
    bad = json.loads(json.dumps(base))
    bad["boundaries"] = {"left": {"temperature": 1.0}}
    with pytest.raises(FemheatInputError, match=r"\[boundaries\] is not used"):
        parse_case(bad)
    bad = json.loads(json.dumps(base))
    bad["homogenization"]["matrix"] = "epoxy"
    with pytest.raises(FemheatInputError, match="homogenization.matrix = 'epoxy'"):
        parse_case(bad)
    bad = json.loads(json.dumps(base))
    bad["homogenization"]["sweep"]["resistances"] = {"from": 1e-6, "to": 1e-9, "points": 3}
    with pytest.raises(FemheatInputError, match="from < to"):
        parse_case(bad)
    bad = json.loads(json.dumps(base))
    bad["homogenization"]["boundary"] = "dirichlet"
    with pytest.raises(FemheatInputError, match="homogenization.boundary"):
        parse_case(bad)
    bad = json.loads(json.dumps(base))
    bad["homogenization"]["reference"]["model"] = "bruggeman"
    with pytest.raises(FemheatInputError, match="maxwell_garnett"):
        parse_case(bad)
