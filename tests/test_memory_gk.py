r"""Multi-mode memory with the Guyer–Krumhansl l² term on the total flux (issue 11 item 1).

τₘ∂ₜqₘ + qₘ = −κₘ(∇T − κ⁻¹l²(∇²q + β∇∇·q)), q = Σqₘ, C∂ₜT + ∇·q = Q. For a grating
T = T₀ + a(t)cos(kx) (curl-free flux, ∇²q = ∇∇·q = −k²q) the Laplace transform gives
q̂ = −κ_l(s)∇T̂ with

    κ_l(s) = κ(s)/(1 + L κ(s)/κ),  L = (1 + β)l²k²,  κ(s) = Σκₘ/(1 + sτₘ),

so â(s) = N(s)/(s N(s) + (k²/C) Kₙ(s)) with Kₙ = Σκₘ Π_{j≠m}(1 + sτⱼ),
N = Π(1 + sτₘ) + (L/κ)Kₙ: residues at the M + 1 roots give a(t) exactly; l = 0 is the
memory model's solution, one mode the GK (MCV + l) one. In the frequency domain a
source Q̂ cos(kx) gives T̂ = Q̂/(iωC + k²κ_l(iω)) cos(kx).

Measured (64 cells per half wavelength, BDM1 × P0, Crank–Nicolson dt = 0.02 s, l = 0.2,
β = 2): three-mode grating max |a_h − a| = 1.9e-4 (of a(0) = 1; the l² term itself
changes a(t) by 0.14); frequency amplitude error 1.8e-4 (relative) at ω = 0.3 and
3 rad/s (the memory-only response differs by 32 % and 22 %); one mode with l against
the gk model: amplitudes 1e-14, flux 7e-13 (relative), frequency domain 4e-13;
l → 0 against the memory model's RT0 × P0 run: max |Δa| = 4.1e-2, 3.4e-4, 1.0e-4 at
l = 0.1, 0.01, 0.001 (the floor is the difference of the two discretizations);
energy balance 1e-14.
"""

from __future__ import annotations

import numpy as np
import pytest

import femheat as fh
from femheat.errors import FemheatInputError
from femheat.physics.memory import MemoryMaterial
from femheat.solve.frequency import FrequencySolver
from tests.test_memory_modes import CAP, K, MODES, T0, _strip, exact_grating

ELL = 0.2
BETA = 2


def _kn_and_product(modes):
    P = np.polynomial.polynomial
    prod, kn = np.array([1.0]), np.array([0.0])
    for i, (kappa, _) in enumerate(modes):
        Ni = np.array([kappa])
        for j, (_, tau) in enumerate(modes):
            if j != i:
                Ni = P.polymul(Ni, [1.0, tau])
        kn = P.polyadd(kn, Ni)
    for _, tau in modes:
        prod = P.polymul(prod, [1.0, tau])
    return prod, kn


def exact_grating_gk(t, modes, ell, beta=BETA, k=K, cap=CAP):
    """a(t) of the memory + GK grating (module docstring), by residues."""
    P = np.polynomial.polynomial
    prod, kn = _kn_and_product(modes)
    kappa = sum(m[0] for m in modes)
    N = P.polyadd(prod, (1 + beta) * ell**2 * k**2 / kappa * kn)
    D = P.polyadd(P.polymul([0.0, 1.0], N), k * k / cap * kn)
    dD = P.polyder(D)
    return np.real(sum(P.polyval(s, N) / P.polyval(s, dD) * np.exp(s * t)
                       for s in P.polyroots(D)))


def kappa_l(omega, modes, ell, beta=BETA, k=K):
    kw = sum(kap / (1 + 1j * omega * tau) for kap, tau in modes)
    kappa = sum(m[0] for m in modes)
    return kw / (1 + (1 + beta) * ell**2 * k**2 * kw / kappa)


def _grating(model, material, t_end=2.0, dt=0.02):
    problem = fh.HeatProblem(_strip(), {"domain": material}, {"walls": fh.Insulated()},
                             model=model, beta=BETA)
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
    return system, np.array(times), np.array(amps), balance.max_relative_error, state


def test_exact_solution_reduces_to_memory_and_mcv():
    t = np.linspace(0, 3, 11)
    assert np.allclose(exact_grating_gk(t, MODES, 0.0), exact_grating(t, MODES), atol=1e-13)
    a = exact_grating_gk(np.array([0.0, 1e-6]), MODES, ELL)
    assert abs(a[0] - 1) < 1e-12 and abs(a[1] - a[0]) < 1e-9


def test_three_modes_with_nonlocal_length_match_exact_grating():
    mat = MemoryMaterial.from_modes(MODES, CAP, nonlocal_length=ELL)
    system, t, a, energy, state = _grating("memory", mat)
    assert system.flux_basis.elem.__class__.__name__.startswith("ElementTriBDM")
    exact = exact_grating_gk(t, MODES, ELL)
    err = np.abs(a - exact).max()
    assert err < 2e-3, f"max |a_h - a| = {err:.2e}"
    # the l² term is visible: the memory-only decay differs by far more than the error
    assert np.abs(exact - exact_grating(t, MODES)).max() > 20 * err
    assert energy < 1e-10
    assert np.allclose(state.modes.sum(axis=0), state.flux, rtol=0, atol=1e-13)


def test_nonlocal_length_to_zero_is_the_memory_model():
    """l → 0: the BDM1 × P0 run tends to the memory model's RT0 × P0 run (both within
    their discretization error of the same exact solution)."""
    _, t, a0, _, _ = _grating("memory", MemoryMaterial.from_modes(MODES, CAP))
    diffs = []
    for ell in (0.1, 0.01):
        _, _, a, _, _ = _grating("memory", MemoryMaterial.from_modes(MODES, CAP,
                                                                     nonlocal_length=ell))
        diffs.append(np.abs(a - a0).max())
    assert diffs[1] < 1e-3 and diffs[1] < 0.1 * diffs[0], diffs


def test_one_mode_with_nonlocal_length_is_gk_to_roundoff():
    tau, kappa = 0.3, 2.0
    _, _, a_gk, _, s_gk = _grating("gk", fh.Material(kappa, CAP, tau, nonlocal_length=ELL))
    system, _, a_m, e_m, s_m = _grating(
        "memory", MemoryMaterial.from_modes([(kappa, tau)], CAP, nonlocal_length=ELL))
    # the same interior penalty, so a run records the same discretization of the l² term
    assert fh.get_model("memory").has_viscous_term(system.problem)
    assert np.abs(a_m - a_gk).max() < 1e-12  # measured 3.2e-13
    assert np.abs(s_m.flux - s_gk.flux).max() < 1e-11 * np.abs(s_gk.flux).max()
    assert e_m < 1e-10


def _two_region(model, mats, degree=1, **options):
    import skfem

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 17), np.linspace(0, 0.5, 7))
    rm = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5},
        boundaries={"left": lambda x: x[0] < 1e-9, "right": lambda x: x[0] > 1 - 1e-9,
                    "tb": lambda x: (x[1] < 1e-9) | (x[1] > 0.5 - 1e-9)},
        interfaces={"mid": lambda x: np.abs(x[0] - 0.5) < 1e-9})
    problem = fh.HeatProblem(
        rm, mats, {"left": fh.Temperature(1.0), "right": fh.HeatFlux(0.4),
                   "tb": fh.Insulated()},
        interfaces={"mid": fh.KapitzaResistance(0.2)}, model=model, degree=degree, beta=0,
        walls={"tb": fh.NoSlip()}, **options)
    return fh.assemble(problem)


def test_one_mode_with_nonlocal_length_is_gk_in_frequency_domain():
    """Kapitza interface, no-slip walls, BDM2 × P1: Z(ω) = (κ/κ(ω))P + K_ext with the
    viscous term in K_ext is GK's A + iωM for one mode."""
    gk = _two_region("gk", {"a": fh.Material(2.0, 1.0, 0.3, nonlocal_length=0.1),
                            "b": fh.Material(1.0, 2.0, 0.3, nonlocal_length=0.05)})
    mem = _two_region("memory", {
        "a": MemoryMaterial.from_modes([(2.0, 0.3)], 1.0, nonlocal_length=0.1),
        "b": MemoryMaterial.from_modes([(1.0, 0.3)], 2.0, nonlocal_length=0.05)})
    for omega in (0.5, 7.0):
        x, y = FrequencySolver(gk).solve(omega), FrequencySolver(mem).solve(omega)
        assert np.abs(x.temperature - y.temperature).max() < 1e-11 * np.abs(x.temperature).max()
        assert np.abs(x.flux - y.flux).max() < 1e-11 * np.abs(x.flux).max()


@pytest.mark.parametrize("omega", [0.3, 3.0])
def test_memory_gk_frequency_response_matches_exact(omega):
    mat = MemoryMaterial.from_modes(MODES, CAP, nonlocal_length=ELL)
    problem = fh.HeatProblem(_strip(), {"domain": mat}, {"walls": fh.Insulated()},
                             source=lambda x, t: np.cos(K * x[0]), model="memory", beta=BETA)
    system = fh.assemble(problem)
    state = FrequencySolver(system).solve(omega)
    tb = system.temperature_basis
    c = np.cos(K * tb.global_coordinates().value[0])
    amp = complex((tb.interpolate(state.temperature).value * c * tb.dx).sum()
                  / (c * c * tb.dx).sum())
    exact = 1.0 / (1j * omega * CAP + K**2 * kappa_l(omega, MODES, ELL))
    assert abs(amp / exact - 1) < 2e-3, abs(amp / exact - 1)
    memory_only = 1.0 / (1j * omega * CAP + K**2 * kappa_l(omega, MODES, 0.0))
    assert abs(memory_only / exact - 1) > 0.05  # the l² term matters here


def test_memory_walls_need_a_nonlocal_length():
    mats = {"a": MemoryMaterial.from_modes([(2.0, 0.3)], 1.0),
            "b": MemoryMaterial.from_modes([(1.0, 0.3)], 2.0)}
    with pytest.raises(FemheatInputError, match="nonlocal_length"):
        _two_region("memory", mats)


def test_case_file_memory_with_nonlocal_length(tmp_path):
    """[materials.X] nonlocal_length beside modes, [model] beta/penalty: parsed and run."""
    from femheat.io.case import load_case
    from femheat.pipeline.runner import run_case
    from tests.conftest import ROOT

    text = (ROOT / "cases" / "memory_grating.toml").read_text()
    text = text.replace('type = "memory"', 'type = "memory"\nbeta = 0\npenalty = 2.0', 1)
    text = text.replace("[materials.layer_1]", "[materials.layer_1]\nnonlocal_length = 0.1", 1)
    path = tmp_path / "case.toml"
    path.write_text(text)
    case = load_case(path)
    mat = case.problem.materials["layer_1"]
    assert mat.nonlocal_length == 0.1 and case.problem.beta == 0
    summary = run_case(case, tmp_path / "out")
    assert summary["energy_balance_relative_error"] < 1e-10
