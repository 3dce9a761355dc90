r"""Guyer–Krumhansl physics: BENCHMARKS G1 (longitudinal grating), G5 (transverse
vortex), G4 (localized steady source, 2D analogue) and the limits l -> 0 and l = l(r).

GK law: tau dq/dt + q = -kappa grad T + l^2 (lap q + beta grad div q), with
C dT/dt + div q = Q. For a curl-free (temperature-driven) flux lap q = grad div q, so
a longitudinal mode feels (1 + beta) l^2; a div-free mode feels l^2 alone
(BENCHMARKS section 0, fact 1). G1 and G5 together pin l^2 and beta; G4 tests beta
on a steady sourced problem.

Discretization facts measured while writing these tests (degree 0 = BDM1 x P0,
degree 1 = BDM2 x P1DG, RT(order 1) x P1DG before issue 16; interior penalty eta = 4
unless stated, the default is 1):

* With complete P1 fluxes (BDM1, and RT of order 1 formerly at degree 1) modal rates
  converge at O(h^2), with an error constant that
  grows with eta (the viscous eigenvalue of sin(kx) e_x on a tensor grid with 32
  cells per wavelength is off by 1.4 % at eta = 4, 0.46 % at eta = 1). The
  BENCHMARKS G1 minimum of 16 elements per wavelength gives ~4 % rate errors; 0.2 %
  needs ~128 per wavelength (64 cells in the half-wavelength box). That is cheap
  here, so G1 and G5 use the strict BENCHMARKS tolerance.
* With RT of order 1 (complete P1 only) at degree 1 the temperature converged at
  O(nu h) only -- degree 1 was *less* accurate than degree 0 (G4, sourced strip: 19 %
  at nx = 128) -- because the temperature error of this Brinkman-like pair is nu times
  the flux's H1 error. BDM2 x P1DG gives O(h^2) (sourced strip, relative L2 of
  T_GK - T_F at eta = 1: 5.6e-3, 1.4e-3, 3.6e-4 at nx = 32, 64, 128; degree 0: 10.6 %,
  5.9 %, 3.1 %); see tests/test_gk_temperature.py. Independently, grid-scale
  temperature modes of the quasi-static operator decayed at ~0.12 alpha/(eta l^2), far
  slower than any physical mode, while the penalty acted on the whole tangential
  jump. It now acts on the jump's projection onto P_{k-1} (projected jumps,
  femheat.assembly.gk): at eta = 1 they decay at ~0.58 (degree 0) / 0.36 (degree 1)
  alpha/l^2, below the slowest physical rate only for l > ~0.37 L / 0.24 L
  (test_no_spurious_slow_temperature_modes; degree 1 stays a strict xfail). G4's
  error no longer depends on eta (table below).
* In G5 the temperature stays uniform to round-off only in the MCV limit l = 0; with
  l > 0 the penalty form's moves at O(h^2) (degree 1: 1.8e-3 / 4.2e-4 / 1.0e-4 K at
  n = 8 / 16 / 32; 1.5e-2 / 3.8e-3 / 9.8e-4 with full jumps), the vorticity form's at
  ~O(h^3.7) (degree 1) and O(h^2.8) (degree 0).
* Since 2026-12-06 the default viscous = "auto" takes the vorticity form at degree 0 as
  well as 1 on these closed boxes (G5 and the quasi-static spectrum); the penalty
  form's tests pin viscous = "penalty" or give a penalty factor (G1 at eta = 4).
* fh.EnergyBalance once reported a relative error of 1.0 for an exactly conserving run
  that starts from a uniform temperature behind insulated walls (every scale was
  round-off); it now has a floor of 1e-6 of the energy content. Regression test below.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import skfem
from scipy.optimize import curve_fit

import femheat as fh
from femheat.physics.conditions import NoSlip

T_REF = 300.0  # K; a temperature offset on purpose (round-off of EnergyBalance)


def _box(x_edges, y_edges, subdomains=None, boundaries=None, interfaces=None):
    mesh = skfem.MeshTri.init_tensor(np.asarray(x_edges, float), np.asarray(y_edges, float))
    if boundaries is None:
        boundaries = {"walls": lambda x: np.ones(x.shape[1], dtype=bool)}
    return fh.RegionMesh.from_skfem(mesh, subdomains=subdomains, boundaries=boundaries,
                                    interfaces=interfaces)


# =========================================================================== G1
# tau a'' + (1 + (1+beta) l^2 k^2) a' + alpha k^2 a = 0, a(0) = 1, a'(0) = 0.
G1_K = 2.0
G1_TAU = 1.0
G1_KAPPA = 2.0  # kappa = C = 2: alpha = 1 as in BENCHMARKS, but kappa != 1 so that
G1_CAP = 2.0    # a viscosity l^2 used without the 1/kappa of nu = l^2/kappa fails
G1_ALPHA = G1_KAPPA / G1_CAP
G1_NX = 64      # cells in the half wavelength pi/k: 128 per wavelength
G1_NY = 2       # square cells, H = 2 h
G1_DT = G1_TAU / 50


def g1_roots(beta: int, l2: float) -> tuple[complex, complex]:
    """Roots s of tau s^2 + b s + alpha k^2 = 0, b = 1 + (1+beta) l^2 k^2 (Re s < 0)."""
    b = 1.0 + (1 + beta) * l2 * G1_K**2
    c = G1_ALPHA * G1_K**2
    disc = complex(b * b - 4.0 * G1_TAU * c)
    r = np.sqrt(disc)
    return (-b + r) / (2 * G1_TAU), (-b - r) / (2 * G1_TAU)


def g1_exact(t: np.ndarray, beta: int, l2: float) -> np.ndarray:
    """a(t) with a(0) = 1, a'(0) = 0 (both regimes; real for real t)."""
    s1, s2 = g1_roots(beta, l2)
    return np.real((s1 * np.exp(s2 * t) - s2 * np.exp(s1 * t)) / (s1 - s2))


def g1_run(beta: int, l2: float, degree: int, t_end: float, nx: int = G1_NX,
           dt: float = G1_DT, penalty: float = 4.0):
    """Grating T = T0 + dT cos(kx), q = 0 in [0, pi/k] x [0, H], insulated free-slip walls.

    Returns times, the amplitude a(t) = (T - T0, cos kx)/(dT cos kx, cos kx)
    (temperature-basis quadrature) and the worst EnergyBalance error.
    """
    length = math.pi / G1_K
    h = length / nx
    regions = _box(np.linspace(0, length, nx + 1), np.linspace(0, G1_NY * h, G1_NY + 1))
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(G1_KAPPA, G1_CAP, G1_TAU, nonlocal_length=math.sqrt(l2))},
        {"walls": fh.Insulated()}, model="gk", degree=degree, beta=beta, penalty=penalty)
    system = fh.assemble(problem)
    tb = system.temperature_basis
    cosk = np.cos(G1_K * tb.global_coordinates().value[0])
    norm = float((cosk**2 * tb.dx).sum())
    dT = 2.0
    init = fh.initial_state(system, temperature=lambda x: T_REF + dT * np.cos(G1_K * x[0]))
    balance = fh.EnergyBalance(system, 0.5)
    times, amps = [], []
    for t, state in fh.theta_steps(system, dt, t_end, 0.5, init):
        balance.update(state)
        T = tb.interpolate(state.temperature).value
        times.append(t)
        amps.append(float(((T - T_REF) * cosk * tb.dx).sum()) / (dT * norm))
    return np.array(times), np.array(amps), balance.max_relative_error


def _fit_damped_cosine(t, a, gamma0, omega0):
    """Least-squares A exp(-Gamma t) cos(w t - phi); returns (Gamma, w)."""
    def f(t, A, G, w, phi):
        return A * np.exp(-G * t) * np.cos(w * t - phi)

    p, _ = curve_fit(f, t, a, p0=[1.0, gamma0, omega0, math.atan(gamma0 / omega0)])
    return p[1], p[2]


def test_g1_exact_rates_match_benchmark_numbers():
    """The closed form used below reproduces BENCHMARKS G1 (tau = alpha = 1, k = 2, beta = 2)."""
    for l2, gamma, omega in [(0.05, 0.8, 1.833030), (0.2, 1.7, 1.053565)]:
        s1, _ = g1_roots(2, l2)
        assert abs(-s1.real - gamma) < 1e-12 and abs(s1.imag - omega) < 5e-7, (l2, s1)
    # a(0) = 1, a'(0) = 0, and the ODE residual vanishes
    for beta, l2 in [(2, 0.05), (0, 1.0)]:
        t = np.linspace(0, 3, 7)
        e = 1e-5
        a, ap, am = g1_exact(t, beta, l2), g1_exact(t + e, beta, l2), g1_exact(t - e, beta, l2)
        d1, d2 = (ap - am) / (2 * e), (ap - 2 * a + am) / e**2
        b = 1 + (1 + beta) * l2 * G1_K**2
        res = G1_TAU * d2 + b * d1 + G1_ALPHA * G1_K**2 * a
        assert abs(a[0] - 1) < 1e-14 and abs(d1[0]) < 1e-8 and np.abs(res).max() < 1e-4


# Underdamped (second sound): b^2 < 4 tau alpha k^2 = 16 for all four.
#   beta=2, l2=0.05: Gamma 0.8, w 1.833030   beta=0, l2=0.05: Gamma 0.6, w 1.907878
#   beta=2, l2=0.20: Gamma 1.7, w 1.053565   beta=0, l2=0.20: Gamma 0.9, w 1.786057
@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("beta,l2", [(2, 0.05), (2, 0.2), (0, 0.05), (0, 0.2)])
def test_g1_underdamped_grating_rate_and_frequency(beta, l2, degree):
    s1, _ = g1_roots(beta, l2)
    gamma, omega = -s1.real, s1.imag
    assert omega > 0  # underdamped
    t_end = 2.0 * (2 * math.pi / omega)  # two periods
    t, a, energy = g1_run(beta, l2, degree, t_end)
    g_h, w_h = _fit_damped_cosine(t, a, gamma, omega)
    err_g, err_w = g_h / gamma - 1, w_h / omega - 1
    err_a = np.abs(a - g1_exact(t, beta, l2)).max()
    # BENCHMARKS G1 tolerance: 0.2 % on Gamma and w. Measured at 64 cells per half wave,
    # degree 0 / 1: |errors| <= 6.2e-4 / 6.6e-4 (largest for beta = 2, l2 = 0.2), and
    # max |a_h - a| = 1.3e-4; energy balance 1e-14.
    assert abs(err_g) <= 2e-3 and abs(err_w) <= 2e-3, (
        f"beta={beta} l2={l2} degree={degree}: Gamma {g_h:.6f} vs {gamma:.6f} ({err_g:.2e}), "
        f"w {w_h:.6f} vs {omega:.6f} ({err_w:.2e})")
    # a 0.2 % rate/phase error moves a(t) by at most ~0.2 % * max(t e^{-Gamma t}) Gamma
    assert err_a <= 2e-3, f"max |a_h - a| = {err_a:.2e}"
    assert energy <= 1e-10, f"energy balance {energy:.2e}"


# Overdamped: (beta=2, l2=1/2) and (beta=0, l2=3/2) share (1+beta) l2 = 3/2, b = 7, so
# a(t) is the same for both: slow rate (7 - sqrt(33))/2 = 0.627719, fast (7 + sqrt(33))/2.
# (Not (1+beta) l2 = alpha tau: then every cos(m k x) mode has slow rate exactly 1/tau and
# the higher modes, excited at O(h^2) by the projection, cannot be separated by a fit.)
G1_SLOW = (7 - math.sqrt(33)) / 2


@pytest.mark.parametrize("beta,l2", [(2, 0.5), (0, 1.5)])
def test_g1_overdamped_grating_slow_rate(beta, l2):
    """Slow decay rate within 0.2 %, from log a(t) on 1.5 <= t <= 4.

    The fast term is below 1e-5 of the slow one there. Later windows drift (measured
    rate error -5.2e-4, -6.5e-4, -9.4e-4 for t >= 1.5, 2.5, 4, beta = 2, nx = 64): the
    discretization has spurious temperature modes decaying at ~0.06/tau, far slower
    than any physical mode (see test_no_spurious_slow_temperature_modes), excited at
    O(h^2) by the projected initial condition.
    """
    s1, s2 = g1_roots(beta, l2)
    assert abs(-s1 - G1_SLOW) < 1e-12 and s1.imag == 0 and s2.imag == 0
    t, a, energy = g1_run(beta, l2, 0, 4.0)
    late = t >= 1.5
    rate = -np.polyfit(t[late], np.log(a[late]), 1)[0]
    err_rate = rate / G1_SLOW - 1
    err_a = np.abs(a - g1_exact(t, beta, l2)).max()
    assert abs(err_rate) <= 2e-3, (
        f"beta={beta} l2={l2}: slow rate {rate:.6f} vs {G1_SLOW:.6f} ({err_rate:.2e})")
    assert err_a <= 2e-3, f"max |a_h - a| = {err_a:.2e}"
    assert energy <= 1e-10, f"energy balance {energy:.2e}"


def test_g1_rate_converges_at_second_order():
    """Spatial order of the G1 decay-rate error (viscous-dominated case beta=2, l2=0.2).

    Measured (degree 0, dt = tau/100) Gamma / w errors: 9.9e-3 / -7.3e-3, 2.5e-3 / -1.8e-3,
    6.4e-4 / -4.0e-4 with 16, 32, 64 cells per half wavelength: order 2.0, the O(h^2)
    eigenvalue error of the P1 viscous operator (halving dt changes them by < 1e-4).
    """
    s1, _ = g1_roots(2, 0.2)
    errs = []
    for nx in (16, 32, 64):
        t, a, _ = g1_run(2, 0.2, 0, 2 * (2 * math.pi / s1.imag), nx=nx, dt=G1_TAU / 100)
        g_h, _ = _fit_damped_cosine(t, a, -s1.real, s1.imag)
        errs.append(abs(g_h / -s1.real - 1))
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert min(orders) >= 1.8, f"Gamma errors {errs}, orders {orders}"
    assert errs[-1] <= 1e-3, f"Gamma errors {errs}"


# Quasi-static GK (tau -> 0) on the insulated, free-slip unit square: dT/dt = -L T with
# L = C^-1 B A^-1 B^T. Each continuum mode cos(m pi x) cos(n pi y) decays at
# alpha K^2 / (1 + (1+beta) l^2 K^2), increasing in K, so every nonzero rate lies in
# [pi^2 alpha/(1 + pi^2 l^2), alpha/l^2) = [4.9678, 10) for alpha = 1, l^2 = 0.1, beta = 0.
QS_L2 = 0.1
QS_SLOWEST = math.pi**2 / (1 + math.pi**2 * QS_L2)


def quasi_static_problem(degree: int, n: int = 8, l2: float = QS_L2, kappa=1.0,
                         **options) -> fh.HeatProblem:
    regions = _box(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    material = fh.Material(kappa, 1.0, 0.0, nonlocal_length=math.sqrt(l2))
    return fh.HeatProblem(regions, {"domain": material}, {"walls": fh.Insulated()},
                          model="gk", degree=degree, beta=0, **options)


def quasi_static_rates(degree: int, n: int = 8, penalty: float | None = 4.0,
                       viscous: str = "penalty", l2: float = QS_L2, kappa=1.0) -> np.ndarray:
    options = {"viscous": viscous} if penalty is None else {"viscous": viscous,
                                                              "penalty": penalty}
    system = fh.assemble(quasi_static_problem(degree, n, l2, kappa, **options))
    free = system.free_dofs
    if sp.issparse(system.resistance):
        A = system.resistance[free][:, free].toarray()
    else:  # the vorticity form with ω an unknown: its Schur complement
        C, mass = system.rotation
        A = (system.resistance_base.toarray()
             + C.T.toarray() @ np.linalg.solve(mass.matrix.toarray(), C.toarray()))
        A = A[np.ix_(free, free)]
    B = system.divergence[:, free].toarray()
    S = B @ np.linalg.solve(A, B.T)
    return np.sort(scipy.linalg.eigvalsh(S, system.capacity.toarray()))


@pytest.mark.parametrize("degree", [0, 1])
def test_quasi_static_spectrum_physical_modes(degree):
    """The conserved mean (rate 0), the saturation alpha/l^2 and the slowest physical
    mode cos(pi x), rate 4.9678, are all in the discrete spectrum.

    Above the saturation: with projected jumps the penalty no longer holds the linear
    part of the tangential jumps, and the broken viscous energy of a cell bounds only
    (div q)^2/d, so grid-scale modes decay up to d alpha/l^2 (measured at eta = 4,
    n = 8 / 16: fastest 19.73 / 19.93 at degree 0, 16.79 / 16.89 at degree 1, against
    10; with full jumps 10 exactly). Faster decay of unresolved modes costs no
    accuracy (tests/test_gk_temperature.py)."""
    rates = quasi_static_rates(degree)
    assert abs(rates[0]) <= 1e-10 * rates[-1], f"mean-temperature mode rate {rates[0]:.2e}"
    saturation = rates[np.argmin(np.abs(rates - 1 / QS_L2))]
    assert abs(saturation * QS_L2 - 1) <= 2e-2, f"closest to {1 / QS_L2}: {saturation:.4f}"
    assert rates[-1] <= 2 * (1 + 1e-9) / QS_L2, f"fastest rate {rates[-1]:.4f}"
    nearest = rates[np.argmin(np.abs(rates - QS_SLOWEST))]
    assert abs(nearest / QS_SLOWEST - 1) <= 1e-2, f"closest to {QS_SLOWEST:.4f}: {nearest:.4f}"


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("l2", [QS_L2, 1.0])
def test_default_form_of_a_closed_box_has_no_spurious_slow_modes(degree, l2):
    """The insulated square with the default ``viscous = "auto"``: both forms model this
    problem alike, so the default takes the vorticity form (degree 0 too since
    2026-12-06), whose slowest nonzero rate is the physical one. Measured (n = 8):
    l^2 = 0.1 (physical 4.96719): degree 0 4.97975, degree 1 4.96724; l = L (physical
    0.90800): 0.90842 and 0.90800. The penalty form's (below): 4.986 / 3.61 and 0.58 /
    0.36."""
    assert quasi_static_problem(degree, l2=l2).viscous_form == "vorticity"
    assert quasi_static_problem(degree, penalty=4.0).viscous_form == "penalty"  # asked for
    rates = quasi_static_rates(degree, penalty=None, viscous="auto", l2=l2)
    physical = math.pi**2 / (1 + math.pi**2 * l2)
    assert abs(rates[0]) <= 1e-10 * rates[-1], f"mean-temperature mode rate {rates[0]:.2e}"
    assert abs(rates[1] / physical - 1) <= (1e-3 if degree else 3e-3), (
        f"degree {degree}: slowest nonzero rate {rates[1]:.5f} 1/s against the physical "
        f"{physical:.5f}; next ones {np.round(rates[2:6], 4)}")


SLOW_MODES_XFAIL = pytest.mark.xfail(strict=True, reason=(
    "femheat discretization defect: the interior penalty on the projected tangential "
    "jumps (sigma ~ eta/h) makes grid-scale temperature modes decay at ~0.58 (degree 0) "
    "/ 0.36 (degree 1) alpha/l^2 at eta = 1 (0.12 with full jumps), below the slowest "
    "physical rate alpha pi^2/(L^2 + pi^2 l^2) once l > ~0.37 L / 0.24 L; the "
    "vorticity form (viscous = 'auto' takes it where it models the same problem) has "
    "none (tests/test_gk_vorticity*.py)"))


@pytest.mark.parametrize("degree, l2", [(0, QS_L2), pytest.param(1, QS_L2, marks=SLOW_MODES_XFAIL),
                                        pytest.param(0, 1.0, marks=SLOW_MODES_XFAIL)])
def test_no_spurious_slow_temperature_modes(degree, l2):
    """No discrete quasi-static mode of the penalty form, at its default eta = 1, may
    decay much slower than every physical one.

    Measured slowest nonzero rates against the physical slowest (unit square, n = 8;
    mesh independent):

    * l^2 = 0.1 (physical 4.967): degree 0 4.986 (passes), degree 1 3.61;
    * l^2 = 1 (physical 0.908): degree 0 0.58, degree 1 0.36.

    The grid-scale modes decay at c(eta) alpha/l^2 with c ~ 0.58 eta^-0.4 (degree 0)
    and 0.36 eta^-0.6 (degree 1): at eta = 4 3.38 / 1.49 for l^2 = 0.1. With the
    penalty on the whole tangential jump (before projected jumps) c was ~0.12/eta:
    1.17 / 1.42 at eta = 1, 0.30 / 0.40 at eta = 4. Below the coercivity bound eta = 1
    (not accepted) the modes leave: physical rates from eta <= 1 at degree 0 and
    eta <= 0.5 at degree 1 (benchmarks/README.md). The vorticity form has none
    (slowest 4.967, test_default_form_of_a_closed_box_has_no_spurious_slow_modes).
    """
    rates = quasi_static_rates(degree, penalty=None, l2=l2)
    physical = math.pi**2 / (1 + math.pi**2 * l2)
    assert rates[1] >= 0.9 * physical, (
        f"degree {degree}, l^2 = {l2}: slowest nonzero decay rate {rates[1]:.4f} 1/s; every "
        f"physical mode decays at >= {physical:.4f} 1/s; next ones {np.round(rates[2:6], 4)}")


@pytest.mark.parametrize("degree, l2", [(0, QS_L2), (1, QS_L2), (0, 1.0),
                                        pytest.param(1, 1.0, marks=pytest.mark.xfail(
                                            strict=True, reason=(
                                                "femheat discretization defect of the penalty "
                                                "form with an anisotropic kappa: its grid-scale "
                                                "modes decay at 0.585x the slowest physical rate "
                                                "at l = L, degree 1; 'auto' takes the vorticity "
                                                "form, which has none (test below)")))])
def test_anisotropic_kappa_slow_modes(degree, l2):
    """κ = diag(1, 3) with the penalty form (asked for): its slowest nonzero
    quasi-static rate against the physical π²α_x/(1 + π²l²) (the mode cos πx; α_x = 1),
    n = 8, η = 1. Measured: l² = 0.1: 4.9928 / 4.9672 (degree 0 / 1, physical 4.9672);
    l² = 1: 0.8842 / 0.5313 (physical 0.9080). The isotropic κ = 1 of the same smaller
    eigenvalue: 4.9862 / 3.6121 and 0.5817 / 0.3618 (the tests above): its grid modes
    decay 1.5× slower. "auto" takes the vorticity form since 2026-12-09 (next test)."""
    kappa = np.diag([1.0, 3.0])
    assert quasi_static_problem(degree, l2=l2, kappa=kappa,
                                viscous="penalty").viscous_form == "penalty"
    rates = quasi_static_rates(degree, penalty=None, l2=l2, kappa=kappa)
    physical = math.pi**2 / (1 + math.pi**2 * l2)
    assert abs(rates[0]) <= 1e-10 * rates[-1], f"mean-temperature mode rate {rates[0]:.2e}"
    assert rates[1] >= 0.95 * physical, (
        f"degree {degree}, l^2 = {l2}, kappa = diag(1, 3): slowest nonzero decay rate "
        f"{rates[1]:.4f} 1/s; every physical mode decays at >= {physical:.4f} 1/s; next "
        f"ones {np.round(rates[2:6], 4)}")
    if l2 == QS_L2:  # the physical slowest mode itself is in the spectrum
        nearest = rates[np.argmin(np.abs(rates - physical))]
        assert abs(nearest / physical - 1) <= 1e-2, f"closest to {physical:.4f}: {nearest:.4f}"


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("l2", [QS_L2, 1.0])
def test_anisotropic_kappa_default_form_has_no_slow_modes(degree, l2):
    """κ = diag(1, 3): "auto" takes the vorticity form (ν_v = l²/3 by the vorticity, the
    remainder l²(1 − 1/3) e_x e_xᵀ by the weak gradient of q_x,
    :mod:`femheat.assembly.vorticity_anisotropic`), whose slowest nonzero rate is the
    physical one. Measured (n = 8): l² = 0.1: 5.0028 / 4.9672 (degree 0 / 1, physical
    4.9672); l² = 1: 0.9134 / 0.9080 (physical 0.9080). The penalty form: 0.8842 /
    0.5313 at l² = 1 (above)."""
    kappa = np.diag([1.0, 3.0])
    assert quasi_static_problem(degree, l2=l2, kappa=kappa).viscous_form == "vorticity"
    rates = quasi_static_rates(degree, penalty=None, viscous="auto", l2=l2, kappa=kappa)
    physical = math.pi**2 / (1 + math.pi**2 * l2)
    assert abs(rates[0]) <= 1e-10 * rates[-1], f"mean-temperature mode rate {rates[0]:.2e}"
    assert abs(rates[1] / physical - 1) <= (1e-3 if degree else 1e-2), (
        f"degree {degree}, l^2 = {l2}: slowest nonzero rate {rates[1]:.5f} 1/s against the "
        f"physical {physical:.5f}; next ones {np.round(rates[2:6], 4)}")


# =========================================================================== G5
# Stream-function vortex psi = q0 sin(kx) sin(ky) in [0, pi/k]^2:
# q = (d psi/dy, -d psi/dx) = q0 k (sin kx cos ky, -cos kx sin ky), div q = 0,
# lap q = -2 k^2 q  =>  q(t) = q(0) exp(-(1 + 2 l^2 k^2) t / tau), T uniform (any beta).
G5_K = 2.0
G5_Q0 = 3.0
G5_TAU, G5_KAPPA, G5_CAP = 0.5, 2.0, 3.0  # non-unit on purpose: the rate must not see kappa, C
G5_L2 = 0.2
G5_N = 64


def g5_flux(x):
    k = G5_K
    return G5_Q0 * k * np.stack([np.sin(k * x[0]) * np.cos(k * x[1]),
                                 -np.cos(k * x[0]) * np.sin(k * x[1])])


def g5_flux_gradient(x):
    """(grad q)_ij = d q_i / d x_j."""
    k, q0 = G5_K, G5_Q0
    c, s = np.cos, np.sin
    gx = [q0 * k * k * c(k * x[0]) * c(k * x[1]), -q0 * k * k * s(k * x[0]) * s(k * x[1])]
    gy = [q0 * k * k * s(k * x[0]) * s(k * x[1]), -q0 * k * k * c(k * x[0]) * c(k * x[1])]
    return np.array([gx, gy])


def g5_run(beta, l2, n, t_end, degree=0, dt=G5_TAU / 50, viscous="auto"):
    length = math.pi / G5_K
    regions = _box(np.linspace(0, length, n + 1), np.linspace(0, length, n + 1))
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(G5_KAPPA, G5_CAP, G5_TAU, nonlocal_length=math.sqrt(l2))},
        {"walls": fh.Insulated()}, model="gk", degree=degree, beta=beta, viscous=viscous)
    system = fh.assemble(problem)
    qb, tb = system.flux_basis, system.temperature_basis
    qe = g5_flux(qb.global_coordinates().value)
    norm = float((np.sum(qe * qe, axis=0) * qb.dx).sum())
    init = fh.initial_state(system, temperature=T_REF, flux=g5_flux)
    uniform = tb.project(lambda x: T_REF + 0.0 * x[0])
    e = system.energy_weights
    out = dict(t=[], amp=[], tdev=[], denergy=[])
    for t, state in fh.theta_steps(system, dt, t_end, 0.5, init):
        q = qb.interpolate(state.flux).value
        out["t"].append(t)
        out["amp"].append(float((np.sum(q * qe, axis=0) * qb.dx).sum()) / norm)
        out["tdev"].append(float(np.abs(state.temperature - uniform).max()))
        out["denergy"].append(float(e @ (state.temperature - init.temperature)))
    out = {key: np.array(v) for key, v in out.items()}
    out["energy"] = float(e @ init.temperature)
    return out


def test_g5_initial_field_is_free_slip_and_div_free():
    """q.n = 0 and zero tangential stress (grad q n).t = 0 on all four walls; div q = 0."""
    length = math.pi / G5_K
    s = np.linspace(0, length, 41)
    zero, full = np.zeros_like(s), np.full_like(s, length)
    walls = [(np.stack([zero, s]), (-1, 0)), (np.stack([full, s]), (1, 0)),
             (np.stack([s, zero]), (0, -1)), (np.stack([s, full]), (0, 1))]
    scale = G5_Q0 * G5_K * G5_K
    for x, n in walls:
        n = np.array(n, float)[:, None]
        tang = np.array([-n[1], n[0]])
        q, g = g5_flux(x), g5_flux_gradient(x)
        qn = np.sum(q * n, axis=0)
        stress_t = np.einsum("ip,ijp,j->p", np.broadcast_to(tang, q.shape), g, n[:, 0])
        assert np.abs(qn).max() <= 1e-14 * scale and np.abs(stress_t).max() <= 1e-14 * scale
    x = np.random.default_rng(1).uniform(0, length, (2, 50))
    g = g5_flux_gradient(x)
    assert np.abs(g[0, 0] + g[1, 1]).max() <= 1e-14 * scale
    # lap q = -2 k^2 q by central differences
    e = 1e-4
    lap = sum(g5_flux(x + e * d[:, None]) - 2 * g5_flux(x) + g5_flux(x - e * d[:, None])
              for d in np.eye(2)) / e**2
    assert np.abs(lap + 2 * G5_K**2 * g5_flux(x)).max() <= 1e-5 * scale * G5_K


@pytest.mark.parametrize("beta", [0, 2])
def test_g5_transverse_mode_rate(beta):
    """Decay rate (1 + 2 l^2 k^2)/tau for beta = 0 and 2 within 0.2 % (BENCHMARKS G5).

    Degree 0, 64 x 64 cells on the half-wavelength square, CN with dt = tau/50. Measured
    rate errors with the default (the vorticity form since 2026-12-06), beta = 0 and 2
    alike: 2.35e-4 / 2.26e-4 / 2.25e-4 at n = 16 / 32 / 64, the CN error (rate dt)^2/12
    = 2.3e-4 alone (curl P2 lies in BDM1: the discrete vortex is an eigenmode). The
    penalty form (beta = 0 / 2): 8.0e-3 / 1.3e-2 at n = 16, 2.2e-3 / 3.4e-3 at 32,
    7.1e-4 / 1.03e-3 at 64 (O(h^2) plus the CN error); its degree 1 gives the same
    errors at twice the cost (same complete-P1 viscous approximation).
    """
    rate = (1 + 2 * G5_L2 * G5_K**2) / G5_TAU
    r = g5_run(beta, G5_L2, G5_N, t_end=0.25)
    assert abs(r["amp"][0] - 1) <= 1e-3, f"projected amplitude {r['amp'][0]}"
    fitted = -np.polyfit(r["t"], np.log(r["amp"]), 1)[0]
    err = fitted / rate - 1
    assert abs(err) <= 2e-3, f"beta={beta}: rate {fitted:.6f} vs {rate:.6f} ({err:.2e})"
    # insulated walls: the total energy is conserved to round-off
    drift = np.abs(r["denergy"]).max() / r["energy"]
    assert drift <= 1e-13, f"relative energy drift {drift:.2e}"


def g5_discrete_curl_flux(mesh):
    """Callable for fh.initial_state: curl of the P1 interpolant of psi = q0 sin kx sin ky.

    A P0 vector field in BDM1 whose normal component is continuous (the tangential
    derivative of a continuous psi), zero on the walls (psi = 0 there) and exactly
    divergence-free, so its L2 projection returns it unchanged. scikit-fem passes the
    global quadrature points with shape (2, n_cells, n_points), cell by cell.
    """
    p = mesh.p[:, mesh.t]  # (2, 3, n_cells)
    psi = G5_Q0 * np.sin(G5_K * p[0]) * np.sin(G5_K * p[1])
    J = np.stack([p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]], axis=1)  # (2, 2, n): columns
    dpsi = np.stack([psi[1] - psi[0], psi[2] - psi[0]])  # J^T grad psi = dpsi
    grad = np.linalg.solve(np.moveaxis(J, -1, 0).transpose(0, 2, 1),
                           dpsi.T[:, :, None])[:, :, 0].T  # (2, n)

    def flux(x):
        assert x.shape[1] == mesh.t.shape[1], "expected the points of every cell in order"
        # every point lies in its own cell (barycentric coordinates >= 0)
        lam = np.linalg.solve(np.moveaxis(J, -1, 0)[:, None],
                              np.moveaxis(x - p[:, 0][:, :, None], 0, -1)[..., None])
        assert lam.min() >= -1e-12 and lam.sum(axis=2).max() <= 1 + 1e-12
        curl = np.stack([grad[1], -grad[0]])
        return np.repeat(curl[:, :, None], x.shape[2], axis=2)

    return flux


def test_g5_mcv_limit_temperature_stays_uniform_to_round_off():
    """l = 0, a discretely divergence-free vortex (curl of interpolated psi): the flux stays
    in ker B and T stays uniform to round-off. (The L2 projection of the exact vortex is
    not discretely div-free: max |div| ~ 1e-3 at n = 16, and T then moves by O(h^2).)"""
    n = 16
    length = math.pi / G5_K
    regions = _box(np.linspace(0, length, n + 1), np.linspace(0, length, n + 1))
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(G5_KAPPA, G5_CAP, G5_TAU, nonlocal_length=0.0)},
        {"walls": fh.Insulated()}, model="gk", degree=0)
    system = fh.assemble(problem)
    init = fh.initial_state(system, temperature=T_REF,
                            flux=g5_discrete_curl_flux(regions.mesh))
    div = np.abs(system.divergence @ init.flux).max()
    assert div <= 1e-13 * G5_Q0, f"max |B q0| = {div:.2e}"
    qmax = np.abs(fh.flux_at_vertices(system, init.flux)).max()
    assert 0.9 * G5_Q0 * G5_K < qmax <= G5_Q0 * G5_K, qmax  # a genuine vortex, |q| -> q0 k
    uniform = init.temperature.copy()
    amps = []
    for t, state in fh.theta_steps(system, G5_TAU / 50, 0.25, 0.5, init):
        dev = np.abs(state.temperature - uniform).max()
        assert dev <= 1e-13 * T_REF, f"t = {t:.3f}: max |T - T0| = {dev:.2e} K"
        amps.append(float(init.flux @ system.inertia @ state.flux))
    # MCV decay of the flux: exp(-t/tau) per step, Crank-Nicolson amplification
    dt = G5_TAU / 50
    g = (1 - dt / (2 * G5_TAU)) / (1 + dt / (2 * G5_TAU))
    ratio = np.array(amps[1:]) / np.array(amps[:-1])
    assert np.abs(ratio / g - 1).max() <= 1e-12, f"step ratios {ratio[:3]} vs {g}"


@pytest.mark.parametrize("viscous", ["auto", "penalty"])
def test_g5_temperature_deviation_converges(viscous):
    """With l > 0 the temperature is NOT uniform to round-off in the discrete problem.

    Two discretization effects move it: the L2 projection of the exact vortex is not
    discretely divergence-free (O(h^2)), and, in the penalty form, the discrete viscous
    force on the discrete vortex has a small gradient part (the "pressure" of an
    H(div)-DG Brinkman discretization, O(nu h)), which the temperature balances; the
    vorticity form (the default here since 2026-12-06) has none (curl P2 lies in BDM1).
    Measured max |T - T0| over t <= 0.25 (degree 0, beta = 2) at n = 16 / 32: default
    1.26e-4 / 1.82e-5 K (order 2.8); penalty form 2.94e-3 / 1.49e-3 K (order 0.98),
    against nu |lap q|max * 1 m = 4.8 K.
    """
    dev = [g5_run(2, G5_L2, n, t_end=0.25, viscous=viscous)["tdev"].max() for n in (16, 32)]
    order = math.log2(dev[0] / dev[1])
    scale = G5_L2 / G5_KAPPA * 2 * G5_K**2 * G5_Q0 * G5_K  # nu |lap q|max [K/m] x 1 m
    low, bound = (2.5, 1e-5) if viscous == "auto" else (0.9, 1e-3)
    assert order >= low and dev[1] <= bound * scale, (
        f"{viscous}: max |T - T0| = {dev} K at n = 16, 32: order {order:.2f}; nu|lap q| = "
        f"{scale:.3e}")


def test_g5_vortex_temperature_of_the_default_at_degree_1():
    """The insulated square at degree 1 is where ``viscous = "auto"`` takes the vorticity
    form, whose viscous force on a divergence-free flux is divergence-free (curl P3 lies
    in BDM2): T then moves only through the projection of the initial vortex.
    Measured max |T - T0| over t <= 0.25 (beta = 2) at n = 8 / 16 / 32: 7.0e-5 / 5.6e-6
    / 3.9e-7 K (order ~3.7), against the penalty form's 1.8e-3 / 4.2e-4 / 1.0e-4 K
    (order 2; 1.5e-2 / 3.8e-3 / 9.8e-4 K with the penalty on the full tangential
    jumps); the decay rates agree (error 2.3e-4, the Crank-Nicolson floor)."""
    rate = (1 + 2 * G5_L2 * G5_K**2) / G5_TAU
    dev = []
    for n in (8, 16):
        r = g5_run(2, G5_L2, n, t_end=0.25, degree=1)
        dev.append(r["tdev"].max())
        fitted = -np.polyfit(r["t"], np.log(r["amp"]), 1)[0]
        assert abs(fitted / rate - 1) <= 1e-3, f"n = {n}: rate {fitted:.6f} vs {rate:.6f}"
    order = math.log2(dev[0] / dev[1])
    assert order >= 3.0 and dev[1] <= 1e-5, (
        f"max |T - T0| = {dev} K at n = 8, 16: order {order:.2f} (penalty form: 1.8e-3, "
        "4.2e-4)")
    penalty = g5_run(2, G5_L2, 16, t_end=0.25, degree=1, viscous="penalty")["tdev"].max()
    assert penalty >= 30 * dev[1], (penalty, dev[1])


def test_energy_balance_with_uniform_initial_temperature():
    length = math.pi / G5_K
    regions = _box(np.linspace(0, length, 9), np.linspace(0, length, 9))
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(G5_KAPPA, G5_CAP, G5_TAU, nonlocal_length=0.3)},
        {"walls": fh.Insulated()}, model="gk", degree=0)
    system = fh.assemble(problem)
    balance = fh.EnergyBalance(system, 0.5)
    init = fh.initial_state(system, temperature=T_REF, flux=g5_flux)
    for _, state in fh.theta_steps(system, 0.05, 1.0, 0.5, init):
        balance.update(state)
    assert balance.max_relative_error <= 1e-10, (
        f"EnergyBalance {balance.max_relative_error:.3e}; residual {balance.residual:.3e} J/m, "
        f"scale {balance.scale:.3e} J/m, energy {balance.energy:.6e} J/m")


# =========================================================================== G4
# G4, 2D analogue. Steady: q + kappa grad T = l^2 (lap q + beta grad div q), div q = Q.
#
# Let T_F solve the Fourier problem, q_F = -kappa grad T_F, div q_F = Q. q_F is
# curl-free, so lap q_F = grad div q_F - curl curl q_F = grad Q and
#     l^2 (lap q_F + beta grad div q_F) = (1 + beta) l^2 grad Q.
# Hence q = q_F together with T = T_F + (1 + beta) l^2 Q / kappa (+ const) satisfies
# both GK equations, in any dimension: the GK flux is the Fourier flux and only
# grad T differs, by (1 + beta) l^2 grad Q / kappa. With T fixed on the boundary the
# constant is (1 + beta) l^2 Q(boundary) / kappa = O(e^-32) for a half-width of 8 sigma.
#
# Flux condition on the temperature boundary. The natural condition of the GK weak
# form there is T n - nu (grad q) n - beta nu (div q) n = T_D n (stress-free). Its
# normal part holds for q_F (q_F.t = 0 along the isothermal boundary, so
# d q_n/dn = div q = Q ~ 0), its tangential part d q_t/dn = 0 does not:
# d q_t/dn = -kappa d^2 T_F/(dn dt) != 0 away from the symmetry lines. The default
# stress-free wall therefore adds a boundary layer of width l whose harmonic
# temperature footprint shifts the centre by O(l^2 Q0 / (kappa L^2)), i.e. by
# O(sigma^2 / L^2) of the bump: measured -0.23 % of the beta = 0 bump, the same
# absolute shift for beta = 2 (test_g4_free_slip_boundary_shift). NoSlip (q_t = 0) is
# exactly what q_F satisfies on an isothermal boundary, so with it the relation is
# exact and the strict tests use it.
#
# Measured bump errors (T_GK - T_F)(0) / ((1 + beta) l^2 Q(0) / kappa) - 1, degree 0,
# NoSlip, g4_mesh(h0); beta = 0 / beta = 2 (the absolute error is the same for both:
# it comes from the l^2 grad q term, not from the beta term). The penalty form's
# penalty acts on the projected tangential jumps (femheat.assembly.gk), and eta no
# longer matters; the default ("auto") takes the vorticity form (BDM1 x P0 x P2),
# whose errors are 1.09-1.10x the penalty form's (2026-12-06, same machine: 3 solves
# 1.5 s against 0.9 s at h0 = 0.04):
#     h0     cells   penalty, eta = 1 (s)           eta = 4              vorticity
#     0.1     2212   -1.92e-2 / -6.4e-3  (0.3)   -1.90e-2 / -6.3e-3   -2.11e-2 / -7.0e-3
#     0.07    3740   -1.12e-2 / -3.7e-3  (0.6)   -1.11e-2 / -3.7e-3   -1.24e-2 / -4.1e-3
#     0.05    8180   -5.42e-3 / -1.8e-3  (1.8)   -5.37e-3 / -1.8e-3   -5.89e-3 / -2.0e-3
#     0.04   11432   -3.76e-3 / -1.3e-3  (3.3)   -3.72e-3 / -1.2e-3   -4.11e-3 / -1.4e-3
#     0.035  14156   -3.00e-3 / -1.0e-3  (3.0)   -2.98e-3 / -9.9e-4
#     0.025  31612   -1.44e-3 / -4.8e-4  (9.0)   -1.44e-3 / -4.8e-4
# Order ~2 in h0. With the penalty on the full tangential jump the error was
# a + b eta, a the column above and b ~ +4.4e-3 at h0 = 0.05: at eta = 1 the two
# nearly cancelled (-1.0e-3 at h0 = 0.05, -2.0e-4 at 0.025), at eta = 4 they did not
# (1.1e-2, 3.3e-3).
# The Fourier centre temperature alone is off by 1.3e-3 K (h0 = 0.1) to 1e-4 K (h0 =
# 0.025) against a sine-series solution; the same-mesh difference cancels most of it.
G4_KAPPA, G4_Q0, G4_SIGMA, G4_L = 2.0, 3.0, 0.5, 0.3
G4_HALF = 8 * G4_SIGMA


def g4_source(x):
    r2 = x[0] ** 2 + x[1] ** 2
    return G4_Q0 * np.exp(-r2 / (2 * G4_SIGMA**2)) / (2 * math.pi * G4_SIGMA**2)


def g4_mesh(h0: float, growth: float = 1.0) -> skfem.MeshTri:
    """Square [-8 sigma, 8 sigma]^2, refined (conforming, isotropic) to cell size
    h0 (1 + growth (r - sigma)/sigma) outside r = sigma and h0 inside.

    A graded init_tensor grid is *not* used: its long thin cells off the axes inflate
    the interior-penalty error of the viscous term (measured: ~10x larger GK centre
    error than this mesh at about the same cell count, eta = 4).
    """
    mesh = skfem.MeshTri.init_tensor(np.linspace(-G4_HALF, G4_HALF, 9),
                                     np.linspace(-G4_HALF, G4_HALF, 9))
    for _ in range(40):
        p = mesh.p[:, mesh.t]
        d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
        size = np.sqrt(np.abs(d1[0] * d2[1] - d1[1] * d2[0]))  # sqrt(2 |K|)
        r = np.sqrt((p.mean(axis=1) ** 2).sum(axis=0))
        target = h0 * (1 + growth * np.maximum(r - G4_SIGMA, 0) / G4_SIGMA)
        marked = np.nonzero(size > target)[0]
        if marked.size == 0:
            return mesh
        mesh = mesh.refined(marked)
    raise RuntimeError("refinement did not terminate")


def g4_solve(mesh, models, penalty, wall=NoSlip(), viscous="auto"):
    """Steady solves on one mesh; models = [("fourier", None), ("gk", beta), ...].

    Returns {model: cell-patch mean of T over the cells sharing the origin} and the
    exact patch mean of Q (temperature-basis quadrature), so that T(0) is compared
    with the exact value of the same functional (no O(h^2) point-evaluation error).
    """
    regions = fh.RegionMesh.from_skfem(
        mesh, boundaries={"outer": lambda x: np.ones(x.shape[1], dtype=bool)})
    centre = int(np.argmin((mesh.p**2).sum(axis=0)))
    assert np.allclose(mesh.p[:, centre], 0.0)
    patch = np.nonzero((mesh.t == centre).any(axis=0))[0]
    out = {}
    for model, beta in models:
        kw = {} if model == "fourier" else dict(beta=beta, penalty=penalty, viscous=viscous)
        if model == "gk" and wall is not None:
            kw["walls"] = {"outer": wall}
        problem = fh.HeatProblem(
            regions, {"domain": fh.Material(G4_KAPPA, nonlocal_length=G4_L)},
            {"outer": fh.Temperature(T_REF)}, source=lambda x, t: g4_source(x),
            model=model, degree=0, **kw)
        system = fh.assemble(problem)
        state = fh.solve_steady(system)
        tb = system.temperature_basis
        T = tb.interpolate(state.temperature).value[patch]
        dx = tb.dx[patch]
        out[(model, beta)] = float((T * dx).sum() / dx.sum())
    X = tb.global_coordinates().value[:, patch]
    q_patch = float((g4_source(X) * dx).sum() / dx.sum())
    return out, q_patch


def _g4_check(h0, penalty, tol, viscous="auto"):
    mesh = g4_mesh(h0)
    T, q_patch = g4_solve(mesh, [("fourier", None), ("gk", 0), ("gk", 2)], penalty,
                          viscous=viscous)
    errs = {}
    for beta in (0, 2):
        bump = T[("gk", beta)] - T[("fourier", None)]
        exact = (1 + beta) * G4_L**2 * q_patch / G4_KAPPA
        errs[beta] = bump / exact - 1
    msg = (f"{mesh.t.shape[1]} cells, eta={penalty}: bump errors beta=0 {errs[0]:.2e}, "
           f"beta=2 {errs[2]:.2e}")
    assert abs(errs[0]) <= tol and abs(errs[2]) <= tol, msg
    ratio = (T[("gk", 2)] - T[("fourier", None)]) / (T[("gk", 0)] - T[("fourier", None)])
    assert abs(ratio / 3 - 1) <= tol, f"beta=2 / beta=0 bump ratio {ratio:.5f} (exact 3); {msg}"
    return errs


def test_g4_source_bump_strict():
    """T_GK(0) - T_F(0) = (1 + beta) l^2 Q(0)/kappa within 0.5 % (BENCHMARKS G4), beta 0 and 2,
    and the beta = 2 bump is 3x the beta = 0 one, in both forms of the viscous term.
    Measured at h0 = 0.04 (11432 cells): the default (vorticity form) -4.1e-3 (beta =
    0), -1.4e-3 (beta = 2); the penalty form at eta = 1 -3.8e-3, -1.3e-3; table above."""
    _g4_check(0.04, penalty=1.0, tol=5e-3)
    _g4_check(0.04, penalty=1.0, tol=5e-3, viscous="penalty")


def test_g4_source_bump_does_not_depend_on_the_penalty():
    """h0 = 0.07, the penalty form: the bump errors at eta = 1 and 4 agree to 1 % of
    themselves (measured -1.12e-2 / -1.11e-2 for beta = 0), where the penalty on the
    full tangential jumps gave -2.5e-3 / +2.0e-2 (the error grew by b eta)."""
    one = _g4_check(0.07, penalty=1.0, tol=1.5e-2, viscous="penalty")
    four = _g4_check(0.07, penalty=4.0, tol=1.5e-2, viscous="penalty")
    for beta in (0, 2):
        assert abs(four[beta] - one[beta]) <= 2e-2 * abs(one[beta]), (beta, one, four)


@pytest.mark.slow
def test_g4_source_bump_large_penalty_strict():
    """The BENCHMARKS 0.5 % at eta = 4: h0 = 0.025, 31612 cells (measured -1.44e-3 for
    beta = 0, -4.8e-4 for beta = 2; 3.3e-3 / 1.1e-3 with full jumps)."""
    _g4_check(0.025, penalty=4.0, tol=5e-3)


def test_g4_free_slip_boundary_shift():
    """Stress-free (default) temperature boundary vs NoSlip: the centre shift is the same
    for beta = 0 and 2 (the correction flux is divergence-free, so the beta term does
    not act on it; exact also discretely since div BDM1 is in P0) and small,
    O(sigma^2/L^2) of the bump (measured -0.23 % of the beta = 0 bump on this mesh, h0 =
    0.1; the two shifts agree to 7e-13 of the bump)."""
    mesh = g4_mesh(0.1)
    models = [("gk", 0), ("gk", 2)]
    ns, q_patch = g4_solve(mesh, models, 1.0, wall=NoSlip())
    fs, _ = g4_solve(mesh, models, 1.0, wall=None)
    shift = {b: fs[("gk", b)] - ns[("gk", b)] for b in (0, 2)}
    bump0 = G4_L**2 * q_patch / G4_KAPPA
    assert abs(shift[0] - shift[2]) <= 1e-9 * bump0, f"shifts {shift}"
    assert abs(shift[0]) <= 1e-2 * bump0, f"free-slip shift {shift[0] / bump0:.2e} of the bump"


# ================================================================ l -> 0, l(r)
def _strip(nx, ny, height, split=None):
    subdomains = interfaces = None
    if split is not None:
        subdomains = {"a": lambda x: x[0] < split, "b": lambda x: x[0] > split}
        interfaces = {"ab": lambda x: np.isclose(x[0], split)}
    return _box(np.linspace(0, 1, nx + 1), np.linspace(0, height, ny + 1), subdomains,
                {"left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], 1),
                 "walls": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], height)},
                interfaces)


def _heated_strip(model, ell, regions, materials=None, theta=0.5, t_end=0.5):
    """Suddenly heated end x = 0 (T0 -> T0 + 100 K) of an insulated unit strip, degree 1."""
    materials = materials or {"domain": fh.Material(2.0, 4.0, 0.25, nonlocal_length=ell)}
    problem = fh.HeatProblem(
        regions, materials,
        {"left": fh.Temperature(T_REF + 100.0), "right": fh.Insulated(), "walls": fh.Insulated()},
        model=model, degree=1)
    system = fh.assemble(problem)
    balance = fh.EnergyBalance(system, theta)
    for _, state in fh.theta_steps(system, 0.005, t_end, theta,
                                   fh.initial_state(system, temperature=T_REF)):
        balance.update(state)
    return state.temperature, balance.max_relative_error


def test_gk_tends_to_mcv_as_l_vanishes():
    """GK with l = 1e-9 (domain size 1) reproduces the MCV law in the same space (GK
    with l = 0: every GK term vanishes; degree 1 = BDM2 x P1DG).

    The GK additions are nu = l^2/kappa times O(1/h^2) (viscous and penalty terms, the
    penalty ~ 160/h for eta = 4), i.e. a relative perturbation ~ l^2 sigma/h ~ 1e-12 for
    h = 1/64; together with round-off this justifies 1e-8 (measured 1.5e-13; a
    viscosity using l instead of l^2 would give 1e-4). The difference must also scale
    as l^2: measured 100x between l = 1e-5 and 1e-4.

    Model "mcv" itself uses Raviart-Thomas of order 1 x P1DG, a different flux space:
    on this step-heated strip (a sharp Crank-Nicolson thermal-wave front) the two
    differ by the discretization error at the front, measured rms 6.8 % and cell
    means up to 12 % of the 100 K step.
    """
    regions = _strip(64, 4, 1 / 16)
    T_ref, e_ref = _heated_strip("gk", 0.0, regions)
    T_mcv, e_mcv = _heated_strip("mcv", 0.0, regions)
    diff = {}
    for ell in (1e-9, 1e-5, 1e-4):
        T, e = _heated_strip("gk", ell, regions)
        diff[ell] = np.abs(T - T_ref).max() / 100.0
        assert e <= 1e-10, f"energy balance {e:.2e} at l = {ell}"
    assert e_mcv <= 1e-10 and e_ref <= 1e-10
    assert diff[1e-9] <= 1e-8, f"max |T_gk - T_(l=0)| / 100 K = {diff[1e-9]:.2e} at l = 1e-9"
    ratio = diff[1e-4] / diff[1e-5]
    assert abs(ratio / 100 - 1) <= 0.02, f"difference ratio l=1e-4 vs 1e-5: {ratio:.2f} (l^2: 100)"
    rms = float(np.sqrt(np.mean((T_ref - T_mcv) ** 2))) / 100.0
    assert rms <= 0.1, f"GK(l = 0) vs model mcv: rms difference {rms:.3f} of the step"


# Steady sourced strip with heterogeneous l: a 1D field q = (q(x), 0) has div q = Q
# and grad q = Q e_x e_x, so the variational GK law gives (any l(x), even piecewise)
#     T_GK - T_F = (1 + beta) l(x)^2 Q(x) / kappa,
# with a temperature jump (1 + beta)(l_a^2 - l_b^2) Q / kappa where l jumps.
S_KAPPA, S_Q0, S_XC, S_SIGMA = 2.0, 5.0, 0.5, 0.08
S_LA, S_LB, S_SPLIT = 0.03, 0.06, 0.5


def s_source(x):
    z = (x[0] - S_XC) / S_SIGMA
    return S_Q0 * np.exp(-z**2 / 2) / (math.sqrt(2 * math.pi) * S_SIGMA)


def s_ell(x):
    return 0.03 + 0.06 * x[0]


def _sourced_strip(kind, nx, degree, beta):
    """Fourier and GK steady temperatures on [0,1] x [0, 2/nx] (2 cells across)."""
    height = 2.0 / nx
    if kind == "subdomains":
        regions = _strip(nx, 2, height, split=S_SPLIT)
        materials = {"a": fh.Material(S_KAPPA, nonlocal_length=S_LA),
                     "b": fh.Material(S_KAPPA, nonlocal_length=S_LB)}
    else:
        regions = _strip(nx, 2, height)
        materials = {"domain": fh.Material(S_KAPPA, nonlocal_length=s_ell)}
    # no temperature offset here: D = T_GK - T_F ~ 1e-4 K is checked to 1e-8 relative
    bcs = {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "walls": fh.Insulated()}
    out = {}
    for model in ("fourier", "gk"):
        kw = dict(beta=beta) if model == "gk" else {}
        problem = fh.HeatProblem(regions, materials, bcs, source=lambda x, t: s_source(x),
                                 model=model, degree=degree, **kw)
        system = fh.assemble(problem)
        out[model] = (system, fh.solve_steady(system))
    return out


@pytest.mark.parametrize("kind", ["subdomains", "callable"])
@pytest.mark.parametrize("degree,tol", [(1, 1e-8), (0, 4e-3)])
def test_heterogeneous_length_sourced_strip_integrals(kind, degree, tol):
    r"""\int_a (T_GK - T_F) and \int_b (T_GK - T_F) over x < 1/2 and x > 1/2 equal
    (1 + beta) \int l^2 Q / kappa there.

    Pointwise, D = T_GK - T_F converges at O(h) with degree 0 and O(h^2) with degree 1
    (relative L2 error, callable l, eta = 1: 10.6 %, 5.9 %, 3.1 % and 5.6e-3, 1.4e-3,
    3.6e-4 at nx = 32, 64, 128; with RT of order 1, 19 % at nx = 128, eta = 4). Region integrals are sharper: testing the flux equation
    with v = ((x - c) 1_a + (1/2 - c) 1_b, 0), which has div v = 1_a, a constant
    gradient and no jumps, isolates \int_a D. Degree 1 reproduces them to round-off
    (measured <= 2e-10), degree 0 at O(h^2) (measured -1.9e-3 / -4.7e-4 for subdomains,
    -6.1e-4 / -3.5e-4 for the callable, at nx = 128; 4x larger at nx = 64).
    """
    nx, beta = 128, 2
    sol = _sourced_strip(kind, nx, degree, beta)
    tb = sol["gk"][0].temperature_basis
    X = tb.global_coordinates().value
    D = tb.interpolate(sol["gk"][1].temperature - sol["fourier"][1].temperature).value
    ell = np.where(X[0] < S_SPLIT, S_LA, S_LB) if kind == "subdomains" else s_ell(X)
    exact = (1 + beta) * ell**2 * s_source(X) / S_KAPPA
    for name, sel in (("x < 1/2", X[0] < S_SPLIT), ("x > 1/2", X[0] > S_SPLIT)):
        got, want = float((D * tb.dx * sel).sum()), float((exact * tb.dx * sel).sum())
        assert abs(got / want - 1) <= tol, (
            f"{kind}, degree {degree}: int D over {name} = {got:.8e}, exact {want:.8e} "
            f"({got / want - 1:.2e})")


def test_heterogeneous_length_interface_temperature_jump():
    """Two subdomains, l_a = 0.03 | l_b = 0.06 at the source peak: T_a - T_b =
    (1 + beta)(l_a^2 - l_b^2) Q(1/2)/kappa (Fourier: no jump). Degree 0 (reconstructed
    traces); measured error 3.5e-2, 1.6e-2, 5.7e-3, 1.6e-3 at nx = 32, 64, 128, 256."""
    beta = 2
    sol = _sourced_strip("subdomains", 128, 0, beta)
    exact = (1 + beta) * (S_LA**2 - S_LB**2) * float(s_source(np.array([[S_SPLIT]]))[0]) / S_KAPPA
    rep = {m: fh.interface_report(*sol[m])["ab"] for m in ("fourier", "gk")}
    assert rep["gk"].sides == ("a", "b")
    assert abs(rep["fourier"].mean_jump) <= 1e-12, rep["fourier"].mean_jump
    err = rep["gk"].mean_jump / exact - 1
    assert abs(err) <= 1e-2, f"jump {rep['gk'].mean_jump:.6e} vs {exact:.6e} ({err:.2e})"


@pytest.mark.parametrize("kind", ["subdomains", "callable"])
def test_heterogeneous_length_transient_conserves_energy(kind):
    """A heated strip with l(x) (two subdomains, or a callable) runs, conserves energy to
    1e-10 and differs from the homogeneous runs at either end value of l."""
    regions = _strip(64, 4, 1 / 16, split=0.5 if kind == "subdomains" else None)
    if kind == "subdomains":
        materials = {"a": fh.Material(2.0, 4.0, 0.25, nonlocal_length=0.02),
                     "b": fh.Material(2.0, 4.0, 0.25, nonlocal_length=0.08)}
    else:
        materials = {"domain": fh.Material(2.0, 4.0, 0.25,
                                           nonlocal_length=lambda x: 0.02 + 0.06 * x[0])}
    T, energy = _heated_strip("gk", None, regions, materials)  # measured 2e-15, 4e-15
    assert np.all(np.isfinite(T))
    assert energy <= 1e-10, f"{kind}: energy balance {energy:.2e}"
    homogeneous = _strip(64, 4, 1 / 16)
    for ell in (0.02, 0.08):
        T_h, _ = _heated_strip("gk", ell, homogeneous)
        # measured 8-11 K (of a 100 K step): l shapes the smoothed thermal-wave front
        assert np.abs(T - T_h).max() >= 1.0, f"{kind}: same as homogeneous l = {ell}"
