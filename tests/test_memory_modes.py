r"""Multi-mode memory (seed 004 eqs. 23–27; issue 11 item 1).

q = Σₘqₘ, τₘ∂qₘ/∂t + qₘ = −κₘ∇T, C∂T/∂t + ∇·q = 0. For a grating T = T₀ + a(t)cos(kx)
with q(0) = 0 the Laplace transform of the amplitude is

    â(s) = 1/(s + k²κ(s)/C),   κ(s) = Σₘ κₘ/(1 + sτₘ),

a rational function N(s)/D(s) with N = Πₘ(1 + sτₘ), so a(t) = Σⱼ N(sⱼ)/D'(sⱼ) e^{sⱼt}
over the M + 1 roots of D (the exact modal solution).

Measured (64 cells per half wavelength, RT0 x P0, Crank–Nicolson dt = 0.02 s):
three modes: max |a_h − a| = 1.9e-4 (tolerance 2e-3 = 0.2 % of a(0)); one mode vs
the MCV model: 8e-15; shared-shape elimination vs the coupled mode system: 1e-15;
energy balance ~1e-14.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.assembly.memory import mode_operators
from femheat.errors import FemheatInputError
from femheat.physics.memory import MemoryMaterial, conductivity_spectrum

K = 2.0
CAP = 2.0
MODES = [(0.5, 0.05), (1.0, 0.3), (0.5, 1.5)]
T0 = 300.0


def exact_grating(t: np.ndarray, modes, k: float = K, cap: float = CAP) -> np.ndarray:
    """a(t) by residues of 1/(s + k² κ(s)/C) (see module docstring)."""
    P = np.polynomial.polynomial
    N = np.array([1.0])
    for _, tau in modes:
        N = P.polymul(N, [1.0, tau])
    D = P.polymul([0.0, 1.0], N)
    for i, (kappa, _) in enumerate(modes):
        Ni = np.array([1.0])
        for j, (_, tau) in enumerate(modes):
            if j != i:
                Ni = P.polymul(Ni, [1.0, tau])
        D = P.polyadd(D, k * k / cap * kappa * Ni)
    dD = P.polyder(D)
    return np.real(sum(P.polyval(s, N) / P.polyval(s, dD) * np.exp(s * t)
                       for s in P.polyroots(D)))


def _strip(nx: int = 64):
    length = math.pi / K
    h = length / nx
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, length, nx + 1), np.linspace(0, 2 * h, 3))
    return fh.RegionMesh.from_skfem(
        mesh, boundaries={"walls": lambda x: np.ones(x.shape[1], dtype=bool)})


def grating(model: str, material, t_end: float = 2.0, dt: float = 0.02):
    problem = fh.HeatProblem(_strip(), {"domain": material}, {"walls": fh.Insulated()},
                             model=model)
    system = fh.assemble(problem)
    m = fh.get_model(model)
    init = m.initial_state(system, lambda x: T0 + 2.0 * np.cos(K * x[0]))
    balance = fh.EnergyBalance(system, 0.5)
    tb = system.temperature_basis
    c = np.cos(K * tb.global_coordinates().value[0])
    norm = float((c * c * tb.dx).sum())
    times, amps = [], []
    for t, state in m.transient(system, dt, t_end, 0.5, init):
        balance.update(state)
        T = tb.interpolate(state.temperature).value
        times.append(t)
        amps.append(float(((T - T0) * c * tb.dx).sum()) / (2.0 * norm))
    return np.array(times), np.array(amps), balance.max_relative_error, state


def test_exact_grating_solution_is_right():
    """a(0) = 1, a'(0) = 0 (q(0) = 0), and one mode gives the MCV telegraph roots."""
    t = np.array([0.0, 1e-6])
    a = exact_grating(t, MODES)
    assert abs(a[0] - 1) < 1e-12 and abs(a[1] - a[0]) < 1e-9
    # one mode: tau a'' + a' + alpha k^2 a = 0
    tau, alpha = 1.0, 1.0
    s = np.roots([tau, 1.0, alpha * K**2]).astype(complex)
    tt = np.linspace(0, 3, 7)
    mcv = np.real((s[0] * np.exp(s[1] * tt) - s[1] * np.exp(s[0] * tt)) / (s[0] - s[1]))
    assert np.allclose(exact_grating(tt, [(2.0, tau)]), mcv, atol=1e-13)


def test_one_mode_is_mcv_to_roundoff():
    mat = fh.Material(2.0, CAP, 1.0)
    _, a_mcv, _, s_mcv = grating("mcv", mat)
    _, a1, e1, s1 = grating("memory", MemoryMaterial.from_modes([(2.0, 1.0)], CAP))
    _, a2, _, _ = grating("memory", mat)  # a plain material is its single mode
    assert np.abs(a1 - a_mcv).max() < 1e-13 and np.abs(a2 - a_mcv).max() < 1e-13
    assert np.abs(s1.flux - s_mcv.flux).max() < 1e-12 * np.abs(s_mcv.flux).max()
    assert e1 < 1e-10


def test_three_mode_grating_matches_exact_modal_solution():
    t, a, energy, state = grating("memory", MemoryMaterial.from_modes(MODES, CAP))
    err = np.abs(a - exact_grating(t, MODES)).max()
    assert err < 2e-3, f"max |a_h - a| = {err:.2e}"  # measured 1.9e-4
    assert energy < 1e-10
    assert state.modes.shape[0] == 3
    assert np.allclose(state.modes.sum(axis=0), state.flux, rtol=0, atol=1e-13)


def _two_region(mats, coupled=None, theta=0.5, model="memory"):
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 21), np.linspace(0, 0.5, 6))
    rm = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5},
        boundaries={"left": lambda x: x[0] < 1e-9, "right": lambda x: x[0] > 1 - 1e-9,
                    "tb": lambda x: (x[1] < 1e-9) | (x[1] > 0.5 - 1e-9)},
        interfaces={"mid": lambda x: np.abs(x[0] - 0.5) < 1e-9})
    problem = fh.HeatProblem(
        rm, mats, {"left": fh.Temperature(1.0),
                   "right": fh.HeatFlux(lambda x, t: 0 * x[0] + 0.3 * t), "tb": fh.Insulated()},
        interfaces={"mid": fh.KapitzaResistance(0.2)}, model=model)
    system = fh.assemble(problem)
    m = fh.get_model(model)
    if coupled is not None:
        system._cache["memory"] = mode_operators(system, coupled)
    balance = fh.EnergyBalance(system, theta)
    for _, state in m.transient(system, 0.01, 0.5, theta, m.initial_state(system, 0.0)):
        balance.update(state)
    return state, balance.max_relative_error


def test_elimination_equals_coupled_mode_system_with_kapitza_and_fluxes():
    """The one-system elimination is exact: same states as solving all mode fluxes."""
    mat = MemoryMaterial.from_modes(MODES, CAP)
    s1, e1 = _two_region({"a": mat, "b": mat}, coupled=False)
    s2, e2 = _two_region({"a": mat, "b": mat}, coupled=True)
    assert np.abs(s1.temperature - s2.temperature).max() < 1e-12
    assert np.abs(s1.modes - s2.modes).max() < 1e-12
    assert max(e1, e2) < 1e-10
    # different spectra per region: the coupled route, still conservative
    s3, e3 = _two_region({"a": mat, "b": fh.Material(3.0, 1.0, 0.2)})
    assert s3.modes.shape[0] == 3 and e3 < 1e-10


def test_vanishing_relaxation_times_give_fourier():
    fm = [(0.5, 1e-7), (1.0, 3e-7)]
    mem = MemoryMaterial.from_modes(fm, 2.0)
    s1, _ = _two_region({"a": mem, "b": mem}, theta=1.0)
    four = fh.Material(1.5, 2.0)
    s2, _ = _two_region({"a": four, "b": four}, theta=1.0, model="fourier")
    assert np.abs(s1.temperature - s2.temperature).max() < 1e-6  # O(tau/dt); measured 7e-8


def test_static_conductivity_and_spectrum():
    mat = MemoryMaterial.from_modes(MODES, CAP, name="x")
    assert mat.conductivity == pytest.approx(2.0)
    assert mat.relaxation_time == pytest.approx((0.5 * 0.05 + 0.3 + 0.5 * 1.5) / 2.0)
    w = np.array([0.0, 1.0, 10.0])
    direct = sum(k / (1 + 1j * w * t) for k, t in MODES)
    assert np.allclose(conductivity_spectrum(MODES, w), direct, rtol=1e-15)


@pytest.mark.parametrize("modes,key", [
    ([(1.0, 0.0)], "materials.x.modes[0].relaxation_time"),
    ([(1.0, 1.0), (-1.0, 1.0)], "materials.x.modes[1].conductivity"),
    ([(1.0, -2.0)], "materials.x.modes[0].relaxation_time"),
    ([], "materials.x.modes"),
])
def test_bad_modes_name_the_key(modes, key):
    with pytest.raises(FemheatInputError, match=key.replace("[", r"\[").replace("]", r"\]")):
        MemoryMaterial.from_modes(modes, 1.0, name="x")


def test_conductivity_must_be_the_sum_of_modes():
    with pytest.raises(FemheatInputError, match="sum of the mode conductivities"):
        MemoryMaterial(3.0, 1.0, 0.1, name="x", modes=[(1.0, 0.1)])


def test_case_file_modes_run(tmp_path):
    from femheat.io.case import load_case
    from femheat.pipeline.runner import run_case
    from tests.conftest import ROOT

    case = load_case(ROOT / "cases" / "memory_grating.toml")
    mat = case.problem.materials["layer_1"]
    assert isinstance(mat, MemoryMaterial) and len(mat.modes) == 3
    summary = run_case(case, tmp_path / "out")
    assert summary["energy_balance_relative_error"] < 1e-10
    assert summary["memory_modes"] == 3
    assert summary["memory_spectra"]["layer_1"]["static_conductivity"] == pytest.approx(2.0)


def test_case_file_bad_mode_names_key(tmp_path):
    from femheat.io.case import load_case
    from tests.conftest import ROOT

    text = (ROOT / "cases" / "memory_grating.toml").read_text().replace(
        "relaxation_time = 0.3}", "relaxation_time = -0.3}")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(FemheatInputError, match=r"materials\.layer_1\.modes\[1\]\.relaxation_time"):
        load_case(path)
