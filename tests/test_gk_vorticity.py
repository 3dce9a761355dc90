r"""The GK viscous term in vorticity form (``viscous = "vorticity"``,
:mod:`femheat.assembly.vorticity`): BDM1 × P0 with a consistent P2 vorticity (degree 0;
RT0 × P0 with a lumped P1 one until 2026-12-06), BDM2 × P1DG with a P3 vorticity
(degree 1).

Proven here against exact solutions:

* the quasi-static temperature spectrum has no spurious slow modes (the strict xfail
  of the interior penalty in ``tests/test_gk_modes.py``), for β = 0 and 2, degree 0
  and 1;
* manufactured smooth solutions (steady cos mode, heterogeneous κ(x), l(x) strip)
  converge at O(h) in T and O(h²) in q at degree 0, O(h²) in T and O(h³) in q at
  degree 1,
  and the transient GK temperature is within 2× the Fourier model's error on the
  same mesh for l/h from 0.1 to 9.6;
* wall conditions: phonon Poiseuille flow between no-slip walls (cosh profile), with
  a slip length, and heat Couette flow driven by a prescribed tangential flux (sinh
  profile), each converging at O(h^(k+1)) in q and with the heat flow;
* a divergence-free vortex decays at the GK rate (1 + 2l²k²)/τ (G5) with the
  temperature uniform to round-off; energy is conserved to round-off; a Kapitza
  bilayer gives the series-resistance heat flow to round-off;
* what the form does not cover is refused before any work, naming the key.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg
import skfem
import skfem.helpers

import femheat as fh
from femheat.assembly import forms
from femheat.assembly.vorticity import vorticity_element
from femheat.errors import FemheatInputError
from femheat.physics.conditions import NoSlip, SlipLength, TangentialFlux
from femheat.physics.memory import MemoryMaterial
from tests.test_gk_temperature import _orders, _relative_l2, cos_mode, strip


def _square(n: int, length: float = 1.0, **boundaries):
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, length, n + 1),
                                     np.linspace(0, length, n + 1))
    boundaries = boundaries or {"walls": lambda x: np.ones(x.shape[1], dtype=bool)}
    return fh.RegionMesh.from_skfem(mesh, boundaries=boundaries)


def dense_flux_block(system) -> np.ndarray:
    """The flux block A = A₀ + Cᵀ M_ω⁻¹ C as a dense matrix (small meshes), formed or not
    (a consistent vorticity mass keeps ω an unknown in femheat's solves)."""
    if system.rotation is None or system.rotation[1].lumped:
        return system.resistance.toarray()
    C, mass = system.rotation
    return system.resistance_base.toarray() + C.T.toarray() @ np.linalg.solve(
        mass.matrix.toarray(), C.toarray())


# ------------------------------------------------------------------ spectrum
def quasi_static_rates(n: int, beta: int, viscous: str, ell2: float = 0.1,
                       degree: int = 0) -> np.ndarray:
    """Rates of dT/dt = −C⁻¹ B A⁻¹ Bᵀ T (τ = 0, insulated free-slip unit square)."""
    material = fh.Material(1.0, 1.0, 0.0, nonlocal_length=math.sqrt(ell2))
    problem = fh.HeatProblem(_square(n), {"domain": material}, {"walls": fh.Insulated()},
                             model="gk", degree=degree, beta=beta, viscous=viscous)
    system = fh.assemble(problem)
    free = system.free_dofs
    A = dense_flux_block(system)[np.ix_(free, free)]
    B = system.divergence[:, free].toarray()
    return np.sort(scipy.linalg.eigvalsh(B @ np.linalg.solve(A, B.T),
                                         system.capacity.toarray()))


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("beta", [0, 2])
def test_no_spurious_slow_temperature_modes(beta, degree):
    """Continuum rates K²/(1 + (1 + β)l²K²): slowest nonzero π²/(1 + (1 + β)π²l²) =
    4.9678 (β = 0) / 2.4916 (β = 2), all below 1/((1 + β)l²). Measured slowest nonzero
    discrete rate at n = 8, degree 0 (BDM1, P2 vorticity): 4.9798 / 2.4949 (fastest
    9.956 / 3.329; RT0 with a lumped P1 vorticity, before: 4.9479 / 2.4869); degree 1
    (BDM2, P3 vorticity):
    4.96724 / 2.49178 (the interior penalty at degree 0: 4.986 / 2.497 on projected
    jumps, 1.17 / 0.95 on the full tangential jumps)."""
    ell2 = 0.1
    physical = math.pi**2 / (1 + (1 + beta) * math.pi**2 * ell2)
    rates = quasi_static_rates(8, beta, "vorticity", ell2, degree)
    assert abs(rates[0]) <= 1e-10 * rates[-1], f"mean-temperature mode rate {rates[0]:.2e}"
    assert abs(rates[1] / physical - 1) <= 1e-2, (
        f"beta {beta}: slowest nonzero rate {rates[1]:.4f}, physical {physical:.4f}; "
        f"next {np.round(rates[2:5], 4)}")
    assert rates[-1] <= 1 / ((1 + beta) * ell2), f"fastest rate {rates[-1]:.4f}"


# ------------------------------------------------------ manufactured solutions
#: degree -> (cos-mode meshes, strip meshes, min T order, min q order, finest T, finest q)
CONVERGENCE = {0: ((16, 32, 64), (8, 16, 32), 0.9, 1.9, 0.02, 1e-3),
               1: ((8, 16, 32), (8, 16, 32), 1.9, 2.8, 1e-3, 3e-5)}


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("beta", [0, 2])
def test_steady_cos_mode_and_heterogeneous_strip_converge(beta, degree):
    """Degree 0 (BDM1 × P0 × consistent P2): T at O(h), q at O(h²); degree 1 (BDM2 ×
    P1DG × P3): T at O(h²), q at O(h³). Both with the penalty form's boundary model on
    the cos mode's Dirichlet walls (femheat.assembly.vorticity_open). Measured T / q
    relative L2 errors (β = 0): cos mode l = 0.2, degree 0, n = 16, 32, 64: 6.54e-2 /
    3.27e-2 / 1.64e-2 and 4.35e-3 / 1.09e-3 / 2.71e-4 (the interior penalty: 6.56e-2 …
    1.64e-2 and 4.93e-3 … 3.11e-4; with RT0 × P0, before, q at O(h): 5.7e-2 … 1.4e-2);
    degree 1, n = 8, 16, 32: 9.9e-3 / 2.5e-3 / 6.2e-4 and 8.3e-4 / 1.1e-4 / 1.3e-5
    (measured with ω = 0 on the walls, the model then; the interior penalty: 1.02e-2
    ... 6.5e-4 and 9.6e-4 ... 1.6e-5); strip κ = 1 + x/2, l = 0.05 + 0.1x, n = 8, 16,
    32: degree 0 5.1e-2 / 2.5e-2 / 1.3e-2 and 9.2e-3 / 2.3e-3 / 5.8e-4, degree 1
    1.9e-3 / 4.8e-4 / 1.2e-4 and 2.3e-4 / 2.9e-5 / 3.6e-6."""
    cos_meshes, strip_meshes, order_T, order_q, finest_T, finest_q = CONVERGENCE[degree]
    errs = [cos_mode("gk", n, degree, ell=0.2, beta=beta, rate=0.0, viscous="vorticity")
            for n in cos_meshes]
    errs_strip = [strip(n, degree, beta, viscous="vorticity") for n in strip_meshes]
    for name, e in (("cos mode", errs), ("strip", errs_strip)):
        eT, eq = [x[0] for x in e], [x[1] for x in e]
        assert min(_orders(eT)) >= order_T and min(_orders(eq)) >= order_q, (
            f"{name}, degree {degree}, beta {beta}: T errors {eT} orders {_orders(eT)}; "
            f"q errors {eq} orders {_orders(eq)}")
        assert eT[-1] <= finest_T and eq[-1] <= finest_q, (
            f"{name}: finest errors {eT[-1]}, {eq[-1]}")


def _centroid_error(n: int, viscous: str, ell: float = 0.2, beta: int = 2,
                    kappa: float = 1.5) -> float:
    """Steady cos mode φ = cos πx cos πy (source c K² φ, insulated walls, mean 0): the
    relative discrete l² error of the P0 cell values against T = φ at the centroids."""
    k2 = 2 * math.pi**2
    c0 = kappa / (1 + (1 + beta) * ell**2 * k2)
    problem = fh.HeatProblem(
        _square(n), {"domain": fh.Material(kappa, 2.0, 0.1, nonlocal_length=ell)},
        {"walls": fh.Insulated()},
        source=lambda x, t: c0 * k2 * np.cos(math.pi * x[0]) * np.cos(math.pi * x[1]),
        model="gk", degree=0, beta=beta, viscous=viscous)
    system = fh.assemble(problem)
    state = fh.solve_steady(system, mean_temperature=0.0)
    mesh = system.temperature_basis.mesh
    xc = mesh.p[:, mesh.t].mean(axis=1)
    exact = np.cos(math.pi * xc[0]) * np.cos(math.pi * xc[1])
    return float(np.linalg.norm(state.temperature - exact) / np.linalg.norm(exact))


def test_cell_means_superconverge_like_fourier():
    """The P0 cell values at the centroids converge at O(h²), as the Fourier model's do
    (RT0 × P0), because discrete gradients carry no viscous energy. Measured, l = 0.2,
    n = 8 / 16 / 32 / 64: vorticity 1.44e-2 / 3.65e-3 / 9.14e-4 / 2.29e-4 (order 2.0; RT0
    × P0 with a lumped P1 vorticity, before: 1.11e-2 / 2.79e-3 / 6.98e-4 / 1.75e-4);
    the interior penalty (BDM1 × P0) 1.23e-2 / 3.89e-3 / 1.53e-3 / 7.0e-4 (orders 1.7,
    1.3, 1.1: first order in the end; 7.6e-2 / 4.0e-2 / 2.1e-2 / 1.0e-2 with the
    penalty on the full tangential jumps)."""
    errors = [_centroid_error(n, "vorticity") for n in (8, 16, 32)]
    assert min(_orders(errors)) >= 1.9 and errors[-1] <= 1e-3, (
        f"centroid errors {errors} orders {_orders(errors)}")
    assert _centroid_error(32, "penalty") > 1.5 * errors[2]  # the first-order form


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("ell", [0.0125, 0.6])
def test_transient_temperature_matches_fourier(ell, degree):
    """Crank–Nicolson cos mode (τ = 0.1, t_end = 0.5), l/h = 0.1 (l = 0.0125, n = 8) to
    9.6 (l = 0.6, n = 16): measured GK / Fourier error ratios 0.999–1.000, order 1.0
    (degree 0) and 2.0 (degree 1)."""
    fourier = [cos_mode("fourier", n, degree)[0] for n in (8, 16)]
    for beta in (0, 2):
        gk = [cos_mode("gk", n, degree, ell=ell, beta=beta, viscous="vorticity")[0]
              for n in (8, 16)]
        ratio = [g / f for g, f in zip(gk, fourier)]
        assert max(ratio) <= 1.2 and _orders(gk)[0] >= 0.9 + degree, (
            f"l = {ell}, beta = {beta}: GK T errors {gk}, Fourier {fourier}, ratios {ratio}")


# ------------------------------------------------------------ wall conditions
CH_L, CH_W, CH_L_NL, CH_KAPPA = 2.0, 1.0, 0.3, 1.5


def channel(n: int, side_wall, top_wall=None, dT: float = 1.0, degree: int = 0):
    """[0, L] × [−W/2, W/2] (2n × n cells), T = dT, 0 at the ends (q·t = 0 there),
    ``side_wall`` on y = −W/2 (and on y = +W/2 unless ``top_wall``). Returns the system
    and the steady state."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, CH_L, 2 * n + 1),
                                     np.linspace(-CH_W / 2, CH_W / 2, n + 1))
    tol = 1e-9
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: x[0] < tol, "outlet": lambda x: x[0] > CH_L - tol,
        "bottom": lambda x: (x[1] < -CH_W / 2 + tol) & (x[0] > tol) & (x[0] < CH_L - tol),
        "top": lambda x: (x[1] > CH_W / 2 - tol) & (x[0] > tol) & (x[0] < CH_L - tol)})
    material = fh.Material(CH_KAPPA, 1.0, 0.0, nonlocal_length=CH_L_NL)
    walls = {"inlet": NoSlip(), "outlet": NoSlip(), "bottom": side_wall,
             "top": top_wall if top_wall is not None else side_wall}
    problem = fh.HeatProblem(
        regions, {"domain": material},
        {"inlet": fh.Temperature(dT), "outlet": fh.Temperature(0.0),
         "top": fh.Insulated(), "bottom": fh.Insulated()},
        model="gk", degree=degree, beta=2, walls=walls, viscous="vorticity")
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


def _flux_error(system, state, exact_qx) -> float:
    qb = system.flux_basis
    x = qb.global_coordinates().value
    exact = np.zeros_like(x)
    exact[0] = exact_qx(x[1])
    return _relative_l2(qb, qb.interpolate(state.flux).value, exact)


def _poiseuille(coefficient: float):
    """q_x(y) = κG(1 − A cosh(y/l)), A = 1/(cosh(W/2l) + C_s sinh(W/2l)), G = ΔT/L."""
    h = CH_W / (2 * CH_L_NL)
    a = 1.0 / (math.cosh(h) + coefficient * math.sinh(h))
    return lambda y: CH_KAPPA / CH_L * (1 - a * np.cosh(y / CH_L_NL))


@pytest.mark.parametrize("wall, coefficient", [(NoSlip(), 0.0), (SlipLength(0.5), 0.5)])
def test_poiseuille_flow_between_walls(wall, coefficient):
    """No-slip and slip-length (C_s = 0.5) walls, W/l = 3.33, ΔT = 1 K, n = 8, 16, 32:
    relative L2 flux errors 1.18e-1 / 5.83e-2 / 2.91e-2 (no-slip) and 6.0e-2 / 3.0e-2 /
    1.5e-2 (slip), order 1.0; the heat flow ∫ q_x dy = κG W (1 − (2A l/W) sinh(W/2l))
    to 2.7e-2 / 7.0e-3 / 1.8e-3 (no-slip) and 9.5e-3 / 2.4e-3 / 6.1e-4 (order 2).
    Degree 1: test_degree_one_walls_converge_at_third_order_in_q."""
    exact = _poiseuille(coefficient)
    h = CH_W / (2 * CH_L_NL)
    a = 1.0 / (math.cosh(h) + coefficient * math.sinh(h))
    flow = CH_KAPPA / CH_L * CH_W * (1 - 2 * a * CH_L_NL / CH_W * math.sinh(h))
    errors, flows = [], []
    for n in (8, 16, 32):
        system, state = channel(n, wall)
        errors.append(_flux_error(system, state, exact))
        flows.append(fh.boundary_heat_flow(system, state.flux)["outlet"])
    rel = [abs(f / flow - 1) for f in flows]
    assert min(_orders(errors)) >= 0.85 and errors[-1] <= 0.03, (
        f"{wall}: flux errors {errors} orders {_orders(errors)}")
    assert rel[-1] <= 3e-3 and min(_orders(rel)) >= 1.8, (
        f"{wall}: heat flows {flows} vs {flow}, relative errors {rel}")


def _hollow_cylinder():
    """cases/gk_hollow_cylinder.py: its polar annulus mesh and each boundary model's
    exact heat flow."""
    from tests.test_cases_gk import _load

    return _load("gk_hollow_cylinder")


@pytest.mark.parametrize("viscous, degree, model, t_order, h_order, t_last, h_last", [
    ("vorticity", 0, "gradient", 0.9, 1.8, 4e-2, 1e-3),
    ("vorticity", 1, "gradient", 1.85, 1.9, 8e-4, 5e-5),
    ("penalty", 0, "gradient", 0.8, 1.8, 0.15, 2.5e-3),
    ("penalty", 1, "gradient", 1.8, 1.9, 2e-3, 6e-5)])
def test_radial_flow_in_an_annulus_meets_each_boundary_model(viscous, degree, model,
                                                             t_order, h_order, t_last,
                                                             h_last):
    """T = 1 / 0 on the circles r = 1/2, 1, l = 0.2: each form converges to the exact
    solution of its boundary model (the case's ``exact_flow``), T = T(R₁) −
    (c/κ) ln(r/R₁): the gradient energy's (contact resistance) for both forms
    (femheat.assembly.vorticity_open; the vorticity form's Hodge conditions, Fourier's
    flow, before). Measured at nr = 4 / 8 / 16 cells across: vorticity T 1.3e-1 / 6.7e-2
    / 3.4e-2 and heat flow 1.3e-3 / 2.6e-4 / 5.3e-5 (degree 0; RT0 against Hodge, before:
    T 1.2e-1 … 3.0e-2), 9.6e-3 /
    2.5e-3 / 6.5e-4 (degree 1; heat flow 6.6e-4 / 1.7e-4 / 4.2e-5, the polygonal
    circles' O(h²)); penalty T 1.0e-2 / 2.7e-3 / 6.9e-4 at degree 1 (heat flow 6.9e-4 /
    1.7e-4 / 4.3e-5). The two models' heat flows differ by 1.1 / 4.2 / 14.8 % at
    l = 0.05 / 0.1 / 0.2 (cases/gk_hollow_cylinder.py, where the closed forms are
    derived)."""
    case = _hollow_cylinder()
    kappa, ell = 1.0, 0.2
    flow, t_inner = case.exact_flow(ell, kappa, inner=0.5, outer=1.0, drop=1.0, model=model)
    c = flow / (2 * np.pi)
    t_errors, h_errors = [], []
    for nr in (4, 8, 16):
        problem = fh.HeatProblem(
            case.annulus(nr, 0.5, 1.0),
            {"domain": fh.Material(kappa, 1.0, 0.1, nonlocal_length=ell)},
            {"inner": fh.Temperature(1.0), "outer": fh.Temperature(0.0)}, model="gk",
            degree=degree, viscous=viscous)
        system = fh.assemble(problem)
        state = fh.solve_steady(system)
        tb = system.temperature_basis
        T, x = tb.interpolate(state.temperature).value, tb.global_coordinates().value
        exact = t_inner - c / kappa * np.log(np.hypot(x[0], x[1]) / 0.5)
        t_errors.append(float(np.sqrt((((T - exact) ** 2) * tb.dx).sum()
                                      / ((exact ** 2) * tb.dx).sum())))
        h_errors.append(abs(fh.boundary_heat_flow(system, state.flux)["outer"] / flow - 1))
    t_orders, h_orders = np.array(_orders(t_errors)), np.array(_orders(h_errors))
    assert np.all(t_orders > t_order), f"T errors {t_errors}, orders {t_orders}"
    assert np.all(h_orders > h_order), f"heat flow errors {h_errors}, orders {h_orders}"
    assert t_errors[-1] < t_last and h_errors[-1] < h_last, (t_errors, h_errors)


def test_couette_flow_from_prescribed_tangential_flux():
    """Top wall q = (U, 0) (TangentialFlux), bottom no-slip, no temperature drop:
    q_x = U sinh((y + W/2)/l)/sinh(W/l), T = 0. Degree 0 (BDM1 × P0, consistent P2
    vorticity), n = 8 / 16 / 32: q 6.4e-3 / 1.6e-3 / 4.0e-4 (O(h²)); T, in units of
    U l/κ, largest 5.4e-3 / 3.0e-3 / 1.6e-3 and RMS 1.4e-3 / 5.3e-4 / 2.0e-4, in the
    corner cells where the driven wall meets the no-slip ends (the penalty form: q
    1.2e-2 … 8.0e-4, T largest 4.0e-2 … 9.7e-3, RMS 1.4e-2 … 3.3e-3; RT0 with the
    rotation-consistent lumped P1 vorticity, before: T = 0 to round-off, q at O(h))."""
    U = 2.0

    def exact(y):
        return U * np.sinh((y + CH_W / 2) / CH_L_NL) / math.sinh(CH_W / CH_L_NL)

    errors, largest = [], []
    for n in (8, 16, 32):
        system, state = channel(n, NoSlip(), top_wall=TangentialFlux((U, 0.0)), dT=0.0)
        errors.append(_flux_error(system, state, exact))
        largest.append(np.abs(state.temperature).max() / (U * CH_L_NL / CH_KAPPA))
    assert min(_orders(errors)) >= 1.9 and errors[-1] <= 5e-4, (
        f"Couette flux errors {errors} orders {_orders(errors)}")
    assert min(_orders(largest)) >= 0.8 and largest[-1] <= 2e-3, largest
    # the scalar form q.t (t counter-clockwise: -x on the top wall) is the same data
    _, vec = channel(8, NoSlip(), top_wall=TangentialFlux((U, 0.0)), dT=0.0)
    _, scal = channel(8, NoSlip(), top_wall=TangentialFlux(-U), dT=0.0)
    assert np.allclose(vec.flux, scal.flux, rtol=0, atol=1e-12 * U)


# --------------------------------------------------- vortex, energy, Kapitza
@pytest.mark.parametrize("degree", [0, 1])
def test_vortex_decays_at_the_gk_rate_with_uniform_temperature(degree):
    """ψ = sin kx sin ky on [0, π/k]² (free slip, insulated), q = curl ψ: div q = 0,
    ∇²q = −2k²q, so q ∝ exp(−(1 + 2l²k²)t/τ) and T stays uniform. The initial flux is
    curl ψ_h (ψ_h the P2 / P3 interpolant; in BDM1 / BDM2 exactly, discretely
    divergence-free),
    q_h = M⁻¹Cᵀψ_h; the L² projection of curl ψ is not divergence-free and would move T
    by O(h). Crank–Nicolson; measured amplitude error after one e-fold: 2.5e-5 /
    9.4e-6 at n = 16 / 32 (degree 0, BDM1 with a P2 vorticity; RT0 with P1 before:
    4.4e-3 / 1.1e-3), 5.6e-3 / 3.2e-4 at n = 2 / 4 (degree 1)."""
    k, tau, ell2 = 2.0, 0.5, 0.2
    rate = (1 + 2 * ell2 * k * k) / tau
    t_end = 1.0 / rate
    errors = []
    for n in ((16, 32) if degree == 0 else (2, 4)):
        regions = _square(n, math.pi / k)
        material = fh.Material(2.0, 3.0, tau, nonlocal_length=math.sqrt(ell2))
        problem = fh.HeatProblem(regions, {"domain": material}, {"walls": fh.Insulated()},
                                 model="gk", degree=degree, beta=2, viscous="vorticity")
        system = fh.assemble(problem)
        qb = system.flux_basis

        def vortex(x):
            return k * np.stack([np.sin(k * x[0]) * np.cos(k * x[1]),
                                 -np.cos(k * x[0]) * np.sin(k * x[1])])

        qe = vortex(qb.global_coordinates().value)
        norm = float((np.sum(qe * qe, axis=0) * qb.dx).sum())
        wb = skfem.Basis(qb.mesh, vorticity_element(degree), intorder=4 + 2 * degree)
        qb = skfem.Basis(qb.mesh, qb.elem, quadrature=(wb.X, wb.W))
        C = forms.flux_curl_coupling.assemble(qb, wb)
        M = skfem.BilinearForm(lambda u, v, w: skfem.helpers.dot(u, v)).assemble(qb)
        psi = np.sin(k * wb.doflocs[0]) * np.sin(k * wb.doflocs[1])
        flux = scipy.sparse.linalg.spsolve(M.tocsc(), C.T @ psi)
        T0 = fh.initial_state(system, temperature=300.0).temperature
        init = fh.State(0.0, T0, flux)
        for t, state in fh.theta_steps(system, t_end / 100, t_end, 0.5, init):
            pass
        q = qb.interpolate(state.flux).value
        amp = float((np.sum(q * qe, axis=0) * qb.dx).sum()) / norm
        errors.append(abs(amp / math.exp(-rate * t) - 1))
        assert np.ptp(state.temperature) <= 1e-10 * 300, "temperature not uniform"
    bound, ratio = (2e-5, 2.0) if degree == 0 else (2e-3, 3.0)
    assert errors[-1] <= bound and errors[0] / errors[1] >= ratio, f"amplitude errors {errors}"


def test_degree_one_walls_converge_at_third_order_in_q():
    """The Poiseuille and Couette channels of the tests above at degree 1, where ω is
    free on the walls and M_ω is therefore consistent. n = 4 / 8 / 16, relative L²
    errors of q, and of T (Couette: T = 0, its RMS in K):

    ========  =============================  ============================
    wall      q                              T
    ========  =============================  ============================
    no-slip   1.6e-3 / 2.1e-4 / 2.6e-5       1.6e-4 / 3.6e-5 / 7.1e-6
    slip      8.2e-4 / 1.1e-4 / 1.4e-5       2.0e-5 / 2.3e-6 / 2.4e-7
    Couette   1.7e-3 / 2.2e-4 / 2.8e-5       2.0e-4 / 4.3e-5 / 8.5e-6
    ========  =============================  ============================

    With the lumped P3 mass q converged at O(h²) and T at O(h^1.3) here (no-slip T
    2.2e-3 / 8.8e-4 / 3.3e-4, 46x the consistent mass's at n = 16): the row-sum
    weight of a wall node averages rot q over half a patch. The interior penalty's
    no-slip T: 5.5e-5 at n = 16 (3.9e-5 with the penalty on the full tangential jumps)."""
    U = 2.0
    cases = [
        ("no-slip", dict(side_wall=NoSlip()), _poiseuille(0.0), lambda x: 1 - x[0] / CH_L),
        ("slip", dict(side_wall=SlipLength(0.5)), _poiseuille(0.5), lambda x: 1 - x[0] / CH_L),
        ("couette", dict(side_wall=NoSlip(), top_wall=TangentialFlux((U, 0.0)), dT=0.0),
         lambda y: U * np.sinh((y + CH_W / 2) / CH_L_NL) / math.sinh(CH_W / CH_L_NL), None)]
    for name, kw, exact, temperature in cases:
        errors, t_errors = [], []
        for n in (4, 8, 16):
            system, state = channel(n, degree=1, **kw)
            assert not system.rotation[1].lumped
            errors.append(_flux_error(system, state, exact))
            tb = system.temperature_basis
            T = tb.interpolate(state.temperature).value
            if temperature is None:  # T = 0: RMS
                t_errors.append(float(np.sqrt((T**2 * tb.dx).sum() / tb.dx.sum())))
            else:
                t_errors.append(_relative_l2(tb, T, temperature(tb.global_coordinates().value)))
        assert min(_orders(errors)) >= 2.8 and errors[-1] <= 5e-5, (
            f"{name}: degree-1 flux errors {errors} orders {_orders(errors)}")
        assert min(_orders(t_errors)) >= 2.0 and t_errors[-1] <= 1e-5, (
            f"{name}: degree-1 T errors {t_errors} orders {_orders(t_errors)}")


@pytest.mark.parametrize("degree", [0, 1])
def test_energy_is_conserved_to_round_off(degree):
    """Insulated square, random initial flux, Crank–Nicolson: ∫C T changes by
    round-off only (every cell's balance is exact in the mixed form)."""
    rng = np.random.default_rng(3)
    material = fh.Material(1.0, 2.0, 0.1, nonlocal_length=0.2)
    problem = fh.HeatProblem(_square(8), {"domain": material}, {"walls": fh.Insulated()},
                             model="gk", degree=degree, beta=0, viscous="vorticity")
    system = fh.assemble(problem)
    init = fh.initial_state(system, temperature=1.0)
    flux = rng.standard_normal(system.flux_basis.N)
    flux[~np.isin(np.arange(flux.size), system.free_dofs)] = 0.0
    init = fh.State(0.0, init.temperature, flux)
    e = system.energy_weights
    e0 = float(e @ init.temperature)
    for _, state in fh.theta_steps(system, 0.01, 0.2, 0.5, init):
        assert abs(float(e @ state.temperature) - e0) <= 1e-12 * abs(e0)


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("ell_a", [0.1, 0.0])
def test_kapitza_bilayer_series_resistance(ell_a, degree):
    """Two layers (κ 1 and 3, l = ell_a and 0.3; l = 0 makes layer a an MCV region,
    its vertices stress-free) behind R_K = 0.2 m² K/W: the uniform flux
    ΔT / (L1/κ1 + R + L2/κ2) to round-off (it carries no vorticity)."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 2, 17), np.linspace(0, 0.5, 5))
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 1, "b": lambda x: x[0] > 1},
        boundaries={"left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], 2),
                    "sides": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 0.5)},
        interfaces={"gap": lambda x: np.isclose(x[0], 1)})
    problem = fh.HeatProblem(
        regions, {"a": fh.Material(1.0, nonlocal_length=ell_a),
                  "b": fh.Material(3.0, nonlocal_length=0.3)},
        {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "sides": fh.Insulated()},
        interfaces={"gap": fh.KapitzaResistance(0.2)}, model="gk", degree=degree,
        viscous="vorticity")
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    expected = 1.0 / (1 / 1.0 + 0.2 + 1 / 3.0) * 0.5
    assert abs(fh.boundary_heat_flow(system, state.flux)["right"] / expected - 1) <= 1e-10


# ------------------------------------------------------------------ refusals
def _problem(**kw):
    mesh = kw.pop("mesh", None)
    regions = fh.RegionMesh.from_skfem(
        mesh if mesh is not None else skfem.MeshTri.init_tensor(*[np.linspace(0, 1, 3)] * 2),
        boundaries={"walls": lambda x: np.ones(x.shape[1], dtype=bool)})
    material = kw.pop("material", fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.1))
    kw.setdefault("model", "gk")
    kw.setdefault("viscous", "vorticity")
    return fh.HeatProblem(regions, {"domain": material}, {"walls": fh.Insulated()}, **kw)


@pytest.mark.parametrize("kw, match", [
    (dict(viscous="hodge"), r"model\.viscous = 'hodge' is unknown"),
    (dict(penalty=4.0), r"model\.penalty = 4\.0 has no effect"),
    (dict(mesh=skfem.MeshQuad.init_tensor(*[np.linspace(0, 1, 3)] * 2)),
     r"triangle and tetrahedral meshes only"),
    (dict(material=fh.Material([[1.0, 0.3], [-0.3, 2.0]], 1.0, 0.1, nonlocal_length=0.1)),
     r"materials\.domain\.conductivity has an antisymmetric \(thermal Hall\) part: not "
     r"available with model\.viscous = 'vorticity'"),
    (dict(model="mcv"), r"model 'mcv' has none"),
    (dict(coordinates="axisymmetric", degree=1),
     r"viscous = 'vorticity' in \(r, z\) .* lowest order only .* degree = 1"),
    (dict(walls={"walls": fh.FreeSlip(normal=lambda x: x / np.linalg.norm(x, axis=0))}),
     r"walls\.walls: a smooth wall normal"),
])
def test_unsupported_input_is_refused_naming_the_key(kw, match):
    with pytest.raises(FemheatInputError, match=match):
        _problem(**kw)


def test_tensor_valued_conductivity_function_is_refused():
    def kappa(x):
        return np.stack([np.stack([1 + 0 * x[0], 0 * x[0]]), np.stack([0 * x[0], 2 + 0 * x[0]])])

    with pytest.raises(FemheatInputError, match="isotropic conductivity"):
        _problem(material=fh.Material(kappa, 1.0, 0.1, nonlocal_length=0.1))
    fh.assemble(_problem(material=fh.Material(kappa, 1.0, 0.1, nonlocal_length=0.1),
                         viscous="penalty"))  # the interior penalty takes it


@pytest.mark.parametrize("degree", [0, 1])
def test_iterative_solver_agrees_with_direct(degree):
    """MINRES with the auxiliary-space flux preconditioner on the formed (2D) vorticity
    operator: measured steady counts at n = 8 / 16 / 32, l/h = 2, rtol 1e-12: 52 / 56 /
    64 (degree 0, P1ᵈ space), 51 / 75 / 84 (degree 1, P2ᵈ), with M_ω⁻¹ replaced by the
    inverse of its blocks on each vertex and edge (VorticityMass.block_inverse; the
    P2 blocks are single DOFs, and the diagonal gives 52 / 56 and 53 / 76 at n = 8 / 16;
    the 56 / 74 / 96 and 104 / 180 / 195 recorded here before were older): it works,
    but 2D problems of this form factorize cheaply."""
    from femheat.solve.iterative import solve_steady_iterative

    n = 8
    x = np.linspace(0, 1, n + 1)
    regions = fh.RegionMesh.from_skfem(skfem.MeshTri.init_tensor(x, x), boundaries={
        "left": lambda p: np.isclose(p[0], 0), "right": lambda p: np.isclose(p[0], 1),
        "walls": lambda p: ~(np.isclose(p[0], 0) | np.isclose(p[0], 1))})
    system = fh.assemble(fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.05, nonlocal_length=2.0 / n)},
        {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "walls": fh.Insulated()},
        walls={"walls": NoSlip()}, model="gk", beta=2, degree=degree, viscous="vorticity",
        source=lambda x, t: 1.0 + 0 * x[0]))
    ref = fh.solve_steady(system)
    state, report = solve_steady_iterative(system, rtol=1e-12)
    assert np.abs(state.flux - ref.flux).max() < 1e-7 * np.abs(ref.flux).max()
    assert np.abs(state.temperature - ref.temperature).max() < 1e-7
    assert report.iterations[0] < 150, report.iterations


def _two_region(model, mats, degree=0):
    from tests.test_memory_gk import _two_region as two_region

    return two_region(model, mats, degree=degree, viscous="vorticity")


@pytest.mark.parametrize("degree", [0, 1])
def test_memory_model_with_one_mode_is_gk_in_frequency_domain(degree):
    """The memory model with a nonlocal length takes the same vorticity form: one mode
    equals GK (Kapitza interface, no-slip walls, two materials) to round-off."""
    from femheat.physics.memory import MemoryMaterial
    from femheat.solve.frequency import FrequencySolver

    gk = _two_region("gk", {"a": fh.Material(2.0, 1.0, 0.3, nonlocal_length=0.1),
                            "b": fh.Material(1.0, 2.0, 0.3, nonlocal_length=0.05)}, degree)
    mem = _two_region("memory", {
        "a": MemoryMaterial.from_modes([(2.0, 0.3)], 1.0, nonlocal_length=0.1),
        "b": MemoryMaterial.from_modes([(1.0, 0.3)], 2.0, nonlocal_length=0.05)}, degree)
    assert gk.flux_basis.N == mem.flux_basis.N
    assert type(gk.flux_basis.elem).__name__ == ["ElementTriBDM1G", "ElementTriBDM2G"][degree]
    for omega in (0.5, 7.0):
        x, y = FrequencySolver(gk).solve(omega), FrequencySolver(mem).solve(omega)
        assert np.abs(x.temperature - y.temperature).max() < 1e-11 * np.abs(x.temperature).max()
        assert np.abs(x.flux - y.flux).max() < 1e-11 * np.abs(x.flux).max()


def gk_thermal_wave(x: np.ndarray, omega: float, kappa: float, capacity: float,
                    tau: float, ell2: float, beta: float, length: float,
                    modes: list[tuple[float, float]] | None = None) -> np.ndarray:
    r"""Complex amplitude T̂(x) of the GK thermal wave in a slab 0 < x < ``length``
    driven by T̂_D = 1 at x = 0, insulated at x = ``length`` (q = 0).

    For q = q(x) eₓ the rotation vanishes and the viscous term is (1+β)l² q'':
    iωC T̂ + q̂' = 0 and (1 + iωτ) q̂ + κT̂' − L² q̂'' = 0 (L² = (1+β)l²) give
    T̂'' = k² T̂, k² = iωC(1 + iωτ)/(κ + iωC L²), q̂ = −(κ + iωCL²) T̂'/(1 + iωτ).
    The weak forms' natural condition at the heated face, T − (L²/κ) q' = T_D, is
    T̂(0) (1 + iωC L²/κ) = 1; so T̂ = cosh(k(length − x)) / ((1 + iωCL²/κ) cosh(k length)).
    With memory ``modes`` [(κₘ, τₘ)] (κ = Σκₘ, ``tau`` unused) κ/(1 + iωτ) becomes
    κ(ω) = Σκₘ/(1 + iωτₘ): k² = iωC / (κ(ω) (1 + iωCL²/κ))."""
    iw = 1j * omega
    L2 = (1 + beta) * ell2
    if modes is None:
        modes = [(kappa, tau)]
    kappa = sum(k for k, _ in modes)
    kappa_w = sum(k / (1 + iw * t) for k, t in modes)
    k = np.sqrt(iw * capacity / (kappa_w * (1 + iw * capacity * L2 / kappa)))
    return np.cosh(k * (length - x)) / ((1 + iw * capacity * L2 / kappa)
                                         * np.cosh(k * length))


#: the slab of the thermal-wave tests: κ, C, τ, l, β, ω
WAVE = dict(kappa=2.0, capacity=1.5, tau=0.05, ell2=0.01, beta=2, omega=6.0)


def wave_slab(n: int, dim: int, degree: int = 0, viscous: str = "vorticity",
              modes: list[tuple[float, float]] | None = None):
    """The assembled slab [0, 1] × [0, 1/4]^(d−1): T̂ = 1 at x = 0, insulated
    elsewhere, stress-free (the 1D wave has no rotation); GK, or the memory model
    with ``modes``."""
    xs, ys = np.linspace(0, 1, n + 1), np.linspace(0, 0.25, max(2, n // 4) + 1)
    mesh = (skfem.MeshTet.init_tensor(xs, ys, ys) if dim == 3
            else skfem.MeshTri.init_tensor(xs, ys))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], 1),
        "sides": lambda x: ~(np.isclose(x[0], 0) | np.isclose(x[0], 1))})
    ell = math.sqrt(WAVE["ell2"])
    material = (fh.Material(WAVE["kappa"], WAVE["capacity"], WAVE["tau"], nonlocal_length=ell)
                if modes is None else
                MemoryMaterial.from_modes(modes, WAVE["capacity"], nonlocal_length=ell))
    problem = fh.HeatProblem(
        regions, {"domain": material},
        {"left": fh.Temperature(1.0), "right": fh.Insulated(), "sides": fh.Insulated()},
        model="gk" if modes is None else "memory", degree=degree, beta=WAVE["beta"],
        viscous=viscous)
    return fh.assemble(problem)


def wave_error(system, modes: list[tuple[float, float]] | None = None) -> float:
    """Relative L2 error of the frequency solver's T̂ against :func:`gk_thermal_wave`."""
    from femheat.solve.frequency import FrequencySolver

    state = FrequencySolver(system).solve(WAVE["omega"])
    tb = system.temperature_basis
    exact = gk_thermal_wave(tb.global_coordinates().value[0], WAVE["omega"], WAVE["kappa"],
                            WAVE["capacity"], WAVE["tau"], WAVE["ell2"], WAVE["beta"], 1.0,
                            modes)
    T = (tb.interpolate(state.temperature.real).value
         + 1j * tb.interpolate(state.temperature.imag).value)
    return float(np.sqrt((np.abs(T - exact) ** 2 * tb.dx).sum()
                         / (np.abs(exact) ** 2 * tb.dx).sum()))


@pytest.mark.parametrize("degree", [0, 1])
def test_frequency_response_converges_to_the_gk_thermal_wave(degree):
    """The frequency solver keeps ω an unknown (complex augmented system) and its T̂
    converges to the analytic GK thermal wave at O(h^(k+1)) (measured degree 0:
    6.5e-2 / 3.2e-2 / 1.6e-2, order 1.00; degree 1: 2.1e-3 / 5.2e-4 / 1.3e-4, order
    2.00 at n = 8 / 16 / 32)."""
    errors = [wave_error(wave_slab(n, 2, degree)) for n in (8, 16, 32)]
    orders = np.array(_orders(errors))
    assert np.all(orders > degree + 0.9), f"T errors {errors}, orders {orders}"
    assert errors[-1] < [2e-2, 2e-4][degree], errors


@pytest.mark.parametrize("degree", [0, 1])
def test_frequency_augmented_solve_equals_the_formed_operator(degree, monkeypatch):
    """The augmented complex solve (default) and the formed Cᵀ M_ω⁻¹ C
    (FEMHEAT_VORTICITY_SOLVE=formed) give the same amplitudes to round-off, with
    prescribed fluxes (their lifting) and no-slip walls."""
    from femheat.solve.frequency import FrequencySolver

    system = _two_region("gk", {"a": fh.Material(2.0, 1.0, 0.3, nonlocal_length=0.1),
                                "b": fh.Material(1.0, 2.0, 0.3, nonlocal_length=0.05)},
                         degree)
    assert system.essential_dofs.size and system.rotation is not None
    augmented = FrequencySolver(system).solve(3.0)
    monkeypatch.setenv("FEMHEAT_VORTICITY_SOLVE", "formed")
    formed = FrequencySolver(system).solve(3.0)
    for a, b in [(augmented.flux, formed.flux), (augmented.temperature, formed.temperature)]:
        assert np.abs(a - b).max() <= 1e-10 * np.abs(b).max()


def test_case_file_vorticity_ribbon(tmp_path):
    """cases/ribbon_poiseuille.toml with model.viscous = "vorticity" (what the default
    takes) and q.t = 0 at the reservoirs (wall = "no_slip" on the Dirichlet ends):
    κ_eff/κ = 1 − (2l/W) tanh(W/2l) (BENCHMARKS G3) to 1e-5 (measured −3.9e-7 at the
    case's mesh; open ends, the case as shipped: −3.2e-6, test_cases_gk.py);
    summary and energy balance as for the default form. A bad value names the key."""
    from femheat.io.case import load_case
    from femheat.pipeline.runner import run_case
    from tests.conftest import ROOT

    text = (ROOT / "cases" / "ribbon_poiseuille.toml").read_text()
    text = text.replace('beta = 2 ', 'viscous = "vorticity"\nbeta = 2 ', 1)
    for end in ("left", "right"):
        text = text.replace(f"[boundaries.{end}]\n", f"[boundaries.{end}]\nwall = \"no_slip\"\n")
    path = tmp_path / "ribbon.toml"
    path.write_text(text)
    summary = run_case(load_case(path), tmp_path / "out")
    exact = 1 - (2 / 2.5) * np.tanh(1.25)
    keff = summary["heat_flow"]["right"]  # W/m for a 1 K drop, W = 2.5 um, kappa = 1
    assert keff == pytest.approx(exact, rel=1e-5)
    assert summary["energy_balance_relative_error"] < 1e-10
    path.write_text(text.replace('viscous = "vorticity"', 'viscous = "hodge"'))
    with pytest.raises(FemheatInputError, match=r"model\.viscous = 'hodge' is unknown"):
        load_case(path)

