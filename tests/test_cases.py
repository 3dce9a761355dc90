"""The shipped cases run end to end and their results agree with physics.

* Flagship composite: the heat flow equals the Hasselman–Johnson /
  Maxwell–Garnett estimate for a periodic array of cylinders behind a Kapitza
  resistance (BENCHMARKS K3; the insulated strip of whole unit cells is exactly
  the periodic array by mirror symmetry), and the reported interface jumps obey
  T_A − T_B = R_K q·n.
* Second-sound pulse: the written temperature matches the telegraph-equation
  solution for a Gaussian pulse (BENCHMARKS M4) and the fronts sit at ±c t.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import meshio
import numpy as np
import pytest

from femheat.io.case import load_case
from femheat.cli import main
from femheat.pipeline.runner import run_case
from tests.conftest import ROOT


def hasselman_johnson_2d(k_m, k_i, radius, R_K, f):
    """κ_eff/κ_m of cylinders with interface resistance: Maxwell–Garnett with k' = k_i/(1 + R_K k_i/a)."""
    kp = k_i / (1 + R_K * k_i / radius)
    return (kp + k_m + f * (kp - k_m)) / (kp + k_m - f * (kp - k_m))


@pytest.fixture(scope="module")
def flagship(tmp_path_factory):
    out = tmp_path_factory.mktemp("flagship")
    case = load_case(ROOT / "cases" / "composite_kapitza.toml")
    return case, run_case(case, out), out


def test_flagship_heat_flow_matches_hasselman_johnson(flagship):
    case, summary, _ = flagship
    mats = case.problem.materials
    k_m, k_i = mats["matrix"].conductivity, mats["inclusion"].conductivity
    R_K = case.problem.interfaces["inclusion_surface"].resistance
    a, f = 0.3e-6, 6 * np.pi * 0.3e-6**2 / (3e-6 * 2e-6)
    width, height, dT = 3e-6, 2e-6, 1.0
    kappa_eff = summary["heat_flow"]["right"] * width / (height * dT)
    estimate = hasselman_johnson_2d(k_m, k_i, a, R_K, f)
    # MG is exact to O(f^4) for square arrays; the polygonal circles lose 0.2 % of area
    assert kappa_eff / k_m == pytest.approx(estimate, rel=5e-3), (kappa_eff / k_m, estimate)
    # the interfaces cost conductivity: perfect contact would give much more
    assert kappa_eff / k_m < 0.8 * hasselman_johnson_2d(k_m, k_i, a, 0.0, f)
    assert summary["heat_flow"]["left"] == pytest.approx(-summary["heat_flow"]["right"], rel=1e-10)
    assert summary["energy_balance_relative_error"] < 1e-10


def test_flagship_interface_jumps_obey_kapitza_law(flagship):
    _, summary, _ = flagship
    rep = summary["interfaces"]["inclusion_surface"]
    assert rep["sides"] == ["matrix", "inclusion"]
    # jumps of either sign (heat enters a particle on one side, leaves on the other)
    assert rep["max_jump"] > 0.05 and rep["min_jump"] < -0.05
    # trace difference of the P1DG temperature vs R_K q.n at facet centroids: the
    # Kapitza law holds weakly (tested against v.n), pointwise up to O(h^2); 2.8 %
    # of the largest jump on the shipped mesh
    assert rep["max_jump_mismatch"] < 0.05 * rep["max_jump"]
    # a closed interface passes no net heat in steady state
    assert abs(rep["heat_flow"]) < 1e-9 * abs(summary["heat_flow"]["right"])


def test_flagship_outputs_open_in_paraview_formats(flagship):
    _, summary, out = flagship
    assert summary["status"] == "completed"
    for name in summary["files"]:
        assert (out / name).stat().st_size > 0, name
    tree = ET.parse(out / "fields.pvd")
    files = [d.attrib["file"] for d in tree.iter("DataSet")]
    assert files == ["fields_00000.vtu"]
    vol = meshio.read(out / files[0])
    assert {"temperature", "heat_flux"} <= set(vol.point_data)
    assert {"temperature_mean", "heat_flux_mean", "material_id"} <= set(vol.cell_data)
    T = vol.point_data["temperature"]
    # P1DG is not maximum-principle preserving: small over/undershoots at h ~ a/12
    assert 300.0 - 1e-3 < T.min() and T.max() < 301.0 + 1e-3
    iface = meshio.read(out / "interfaces_00000.vtu")
    assert "temperature_jump" in iface.cell_data
    assert (out / "temperature.png").stat().st_size > 20_000
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["dofs"]["total"] == summary["dofs"]["total"] > 0
    for key in ("model", "mesh", "wall_time", "energy_balance_relative_error", "heat_flow", "interfaces"):
        assert key in on_disk


def telegraph_gaussian(x, t, x0, w, kappa, C, tau):
    """T − T₀ for T(x,0) = exp(−((x−x0)/w)²), q(x,0) = 0 on the infinite line (BENCHMARKS M1/M4).

    T = (1/π) ∫ T̂₀(k) a_k(t) cos(k(x−x0)) dk with T̂₀ = w√π exp(−w²k²/4) and
    a_k the modal solution of τa'' + a' + αk²a = 0, a(0) = 1, a'(0) = 0.
    """
    alpha = kappa / C
    k = np.linspace(0, 12 / w, 6001)  # k = 0 carries the mean; a_0 = 1
    g = np.sqrt((1 - 4 * alpha * tau * k**2).astype(complex)) / (2 * tau)
    a = (np.exp(-t / (2 * tau)) * (np.cosh(g * t) + np.sinh(g * t) / (2 * tau * g))).real
    Tk = w * np.sqrt(np.pi) * np.exp(-(w * k) ** 2 / 4) * a
    integrand = Tk[None, :] * np.cos(np.outer(x - x0, k))
    return np.trapezoid(integrand, k, axis=1) / np.pi


def test_second_sound_pulse_matches_telegraph_solution(tmp_path):
    case = load_case(ROOT / "cases" / "second_sound_pulse.toml")
    summary = run_case(case, tmp_path)
    mat = case.problem.materials["medium"]
    kappa, C, tau = mat.conductivity, mat.heat_capacity, mat.relaxation_time
    t_end = case.time.end
    files = [d.attrib for d in ET.parse(tmp_path / "fields.pvd").iter("DataSet")]
    last = files[-1]
    assert float(last["timestep"]) == pytest.approx(t_end)
    vol = meshio.read(tmp_path / last["file"])
    x = vol.points[:, 0]
    T = vol.point_data["temperature"] - 300.0  # per-cell linear field at each cell's vertices
    ref = telegraph_gaussian(x, t_end, 0.5, 0.02, kappa, C, tau)
    err = np.sqrt(np.mean((T - ref) ** 2)) / np.sqrt(np.mean(ref**2))
    # BENCHMARKS M4: L2 <= 1 % once the pulse width holds >= 10 cells (here 10, degree 1)
    assert err < 0.01, f"relative L2 error {err:.4f}"
    order = np.argsort(x)
    xc, T = x[order], T[order]
    # fronts (pulse maxima) at 0.5 ± c t
    c = np.sqrt(kappa / (C * tau))
    left = xc[np.argmax(np.where(xc < 0.5, T, -np.inf))]
    right = xc[np.argmax(np.where(xc > 0.5, T, -np.inf))]
    travel = c * t_end
    assert abs((0.5 - left) - travel) < 0.02 * travel
    assert abs((right - 0.5) - travel) < 0.02 * travel
    # insulated: energy conserved, and every history row says so
    assert summary["energy_balance_relative_error"] < 1e-10
    with open(tmp_path / "history.csv") as fh_:
        rows = list(csv.DictReader(fh_))
    assert len(rows) == summary["time"]["steps"] + 1
    energy = np.array([float(r["energy"]) for r in rows])
    assert np.ptp(energy) < 1e-12 * energy[0]
    assert (tmp_path / "profile.png").exists()


def test_cli_runs_a_case(tmp_path, capsys):
    code = main(["run", str(ROOT / "cases" / "second_sound_pulse.toml"), "-o", str(tmp_path), "-q"])
    assert code == 0
    assert "energy balance error" in capsys.readouterr().out
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "completed"


def test_interrupted_run_keeps_what_it_computed(tmp_path):
    """Ctrl-C after 100 steps: the saved VTU files, the PVD and the history stay valid."""
    case = load_case(ROOT / "cases" / "second_sound_pulse.toml")

    def stop_at_100(done, total):
        if done == 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_case(case, tmp_path, stop_at_100)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["reached_time"] == pytest.approx(100 * case.time.dt)
    assert summary["energy_balance_relative_error"] < 1e-10
    listed = [d.attrib["file"] for d in ET.parse(tmp_path / "fields.pvd").iter("DataSet")]
    assert len(listed) == summary["saved_steps"] == 3  # steps 0, 40, 80
    for name in listed:
        assert meshio.read(tmp_path / name).point_data["temperature"].size > 0
    with open(tmp_path / "history.csv") as fh_:
        assert len(list(csv.DictReader(fh_))) == 101
