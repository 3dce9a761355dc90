r"""Frequency-domain solver (issue 11 item 3): BENCHMARKS M7 and the periodic limit of
a transient run.

M7 with fields ∝ e^{iωt} (femheat's convention; BENCHMARKS writes e^{−iωt}, the complex
conjugate): on a half-line with T̂(0) given, T̂ = T̂₀ e^{−γx},

    γ² = iω(1 + iωτ)/(α + (1 + β) iω l²),   Re γ > 0,

and q̂(0) = iωC T̂₀/γ. GK (l > 0): femheat's GK discretization imposes a temperature
boundary value on T − (1+β)(l²/κ)∇·q (the natural condition of its viscous term, the
"non-equilibrium temperature" of the wall), so the wave amplitude at the wall is
T̂₀ = T̂_D/(1 + (1 + β) iω l²/α); without that factor the GK amplitude is off by 12 %
and 28° for l = 0.3, ω = 2 — measured while writing this test and it is exactly this
factor. The test compares the heat flux at x = 0 and the temperature of the cell
column containing x = δ = 1/Re γ (against the exact cell average), domain 10 δ.

Measured (400 cells over 10 δ, RT0 x P0 or BDM1 x P0): MCV amplitude errors
≤ 7.4e-4, phase ≤ 0.06°; GK ≤ 5.2e-4, ≤ 0.03°. Transient (CN, 200 steps per period,
6 periods) against Re[T̂ e^{iωt}]: relative difference 2.8e-5 (MCV), 3.7e-5 (three modes).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.analysis.postprocess import boundary_heat_flow
from femheat.errors import FemheatInputError
from femheat.physics.memory import MemoryMaterial
from femheat.solve.frequency import FrequencySolver, check_frequencies


def _strip(L: float, n: int):
    H = 2 * L / n
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, L, n + 1), np.linspace(0, H, 3))
    rm = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: x[0] < 1e-12 * L, "right": lambda x: x[0] > L * (1 - 1e-12),
        "tb": lambda x: (x[1] < 1e-12 * H) | (x[1] > H * (1 - 1e-12))})
    return rm, H


def _m7(model, tau, l=0.0, beta=2, omega=2.0, kappa=2.0, C=2.0, degree=0, n=400):
    alpha = kappa / C
    g = np.sqrt(1j * omega * (1 + 1j * omega * tau) / (alpha + (1 + beta) * 1j * omega * l * l))
    g = g if g.real > 0 else -g
    delta = 1 / g.real
    rm, H = _strip(10 * delta, n)
    problem = fh.HeatProblem(
        rm, {"domain": fh.Material(kappa, C, tau, nonlocal_length=l)},
        {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "tb": fh.Insulated()},
        model=model, degree=degree, beta=beta)
    system = fh.assemble(problem)
    st = FrequencySolver(system).solve(omega)
    a0 = 1 / (1 + (1 + beta) * 1j * omega * l * l / alpha)
    flow = (boundary_heat_flow(system, st.flux.real)["left"]
            + 1j * boundary_heat_flow(system, st.flux.imag)["left"])
    q0, q0_exact = -flow / H, a0 * 1j * omega * C / g
    tb = system.temperature_basis
    mesh = rm.mesh
    xv = mesh.p[0, mesh.t]
    cells = np.nonzero((xv.min(0) <= delta) & (xv.max(0) > delta))[0]
    Tq = tb.interpolate(st.temperature).value
    T = (Tq[cells] * tb.dx[cells]).sum() / tb.dx[cells].sum()
    a, b = xv[:, cells].min(), xv[:, cells].max()
    T_exact = a0 * (np.exp(-g * a) - np.exp(-g * b)) / (g * (b - a))
    return q0 / q0_exact, T / T_exact


@pytest.mark.parametrize("model,tau,l,beta,degree", [
    ("mcv", 0.0, 0.0, 2, 0),   # Fourier limit: 45 degree phase
    ("mcv", 1.0, 0.0, 2, 0),
    ("gk", 1.0, 0.3, 2, 0),
    ("gk", 1.0, 0.3, 0, 0),
    ("gk", 1.0, 0.3, 2, 1),
])
def test_m7_periodic_half_space(model, tau, l, beta, degree):
    for ratio in _m7(model, tau, l, beta, degree=degree):
        assert abs(abs(ratio) - 1) < 5e-3, abs(ratio)
        assert abs(np.degrees(np.angle(ratio))) < 0.5, np.degrees(np.angle(ratio))


def _periodic_pair(material, model, omega=2 * np.pi, periods=6, steps=200):
    """Transient run driven by T(0, t) = cos(ωt) from rest vs Re[T̂ e^{iωt}]."""
    rm, _ = _strip(1.0, 40)
    bcs = {"left": fh.Temperature(lambda x, t: np.cos(omega * t) + 0 * x[0]),
           "right": fh.Temperature(0.0), "tb": fh.Insulated()}
    sys_t = fh.assemble(fh.HeatProblem(rm, {"domain": material}, bcs, model=model))
    m = fh.get_model(model)
    end = periods * 2 * np.pi / omega
    for t, state in m.transient(sys_t, end / (periods * steps), end, 0.5,
                                m.initial_state(sys_t, 0.0)):
        pass
    bcs_f = dict(bcs, left=fh.Temperature(1.0))
    sys_f = fh.assemble(fh.HeatProblem(rm, {"domain": material}, bcs_f, model=model))
    st = FrequencySolver(sys_f).solve(omega)
    periodic = np.real(st.temperature * np.exp(1j * omega * t))
    return np.abs(state.temperature - periodic).max() / np.abs(st.temperature).max()


@pytest.mark.parametrize("model,material", [
    ("mcv", fh.Material(1.0, 1.0, 0.05)),
    ("memory", MemoryMaterial.from_modes([(0.3, 0.01), (0.5, 0.05), (0.2, 0.3)], 1.0)),
])
def test_transient_reaches_the_frequency_solution(model, material):
    err = _periodic_pair(material, model)
    assert err < 2e-3, f"periodic transient vs frequency solver: {err:.2e}"


def test_memory_impedance_one_mode_is_mcv():
    rm, _ = _strip(1.0, 20)
    bcs = {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "tb": fh.Insulated()}
    out = []
    for model, mat in [("mcv", fh.Material(1.0, 1.0, 0.1)),
                       ("memory", MemoryMaterial.from_modes([(1.0, 0.1)], 1.0))]:
        s = fh.assemble(fh.HeatProblem(rm, {"domain": mat}, bcs, model=model))
        out.append(FrequencySolver(s).solve(3.0).temperature)
    assert np.abs(out[0] - out[1]).max() < 1e-13


def test_sweep_reuses_ordering_and_matches_fresh_solves():
    rm, _ = _strip(1.0, 20)
    bcs = {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "tb": fh.Insulated()}
    s = fh.assemble(fh.HeatProblem(rm, {"domain": fh.Material(1.0, 1.0, 0.1)}, bcs, model="mcv"))
    solver = FrequencySolver(s)
    sweep = [solver.solve(w).temperature for w in (1.0, 10.0, 100.0)]
    fresh = [FrequencySolver(s).solve(w).temperature for w in (1.0, 10.0, 100.0)]
    for a, b in zip(sweep, fresh):
        assert np.abs(a - b).max() < 1e-12 * np.abs(b).max()


def test_bad_frequencies_name_the_key():
    with pytest.raises(FemheatInputError, match="frequency.frequencies"):
        check_frequencies([1.0, 0.0])
    with pytest.raises(FemheatInputError, match="frequency.frequencies"):
        check_frequencies([-5.0])


# ----------------------------------------------------------------- femheat run
def test_frequency_case_runs_and_matches_m7(tmp_path):
    """cases/periodic_heating.toml through the runner: files, fields, table vs M7."""
    import csv

    import meshio

    from femheat.io.case import load_case
    from femheat.pipeline.runner import run_case
    from tests.conftest import ROOT

    out = tmp_path / "ph"
    summary = run_case(load_case(ROOT / "cases" / "periodic_heating.toml"), out)
    assert summary["status"] == "completed" and summary["analysis"] == "frequency"
    for f in ["fields_f000.vtu", "fields_f004.vtu", "frequency.pvd", "frequency.csv",
              "bode.png"]:
        assert (out / f).exists(), f
    m = meshio.read(out / "fields_f002.vtu")
    assert {"temperature_amplitude", "temperature_phase", "heat_flux_real",
            "heat_flux_imag"} <= set(m.point_data)
    assert {"temperature_mean_amplitude", "temperature_mean_phase",
            "heat_flux_amplitude"} <= set(m.cell_data)
    assert summary["energy_balance_relative_error"] < 1e-10
    rows = list(csv.DictReader(open(out / "frequency.csv")))
    assert len(rows) == 5
    height, kappa, cap, tau = 0.05, 2.0, 2.0, 0.2
    for r in rows:
        w = float(r["omega_rad_s"])
        g = np.sqrt(1j * w * (1 + 1j * w * tau) * cap / kappa)
        g = g if g.real > 0 else -g
        q0 = 1j * w * cap / g  # inward flux at x = 0 per unit T amplitude
        amp = float(r["heat_flow:left:amplitude"]) / height
        # outward heat flow = -q0 * height: phase shifted by 180 degrees
        phase = float(r["heat_flow:left:phase_deg"]) - 180.0
        dphase = (phase - np.degrees(np.angle(q0)) + 180) % 360 - 180
        assert abs(amp / abs(q0) - 1) < 5e-3 and abs(dphase) < 0.5, (w, amp, abs(q0), dphase)


@pytest.mark.parametrize("edit,key", [
    ("frequencies = {from = 0.05, to = 1.0, points = 5}",
     "frequency.frequencies.from"),
    ("frequencies = {from = 0.05, to = 1.0, points = 5}\n[time]\ndt = 0.1\nend = 1.0",
     r"\[time\] is not used by a \[frequency\] study"),
    ("frequencies = [1.0, -2.0]", r"frequency.frequencies"),
])
def test_frequency_case_bad_input(tmp_path, edit, key):
    from femheat.io.case import load_case
    from tests.conftest import ROOT

    text = (ROOT / "cases" / "periodic_heating.toml").read_text()
    if key == "frequency.frequencies.from":
        edit = "frequencies = {from = 0.0, to = 1.0, points = 5}"
    text = text.replace("frequencies = {from = 0.05, to = 1.0, points = 5}   # Hz", edit)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(FemheatInputError, match=key):
        load_case(path)
