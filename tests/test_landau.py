"""Landau–Khalatnikov materials (seed 000) and the quartic flux law solved by Newton.

κ = ζ/a, τ = Γ/a, l² = λ/a; the quartic term b gives
τq̇ + q + (b/a)|q|²q = −κ∇T + l²∇²q.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import skfem
from scipy.integrate import solve_bvp

import femheat as fh
from femheat.io.case import parse_case
from femheat.physics.conditions import NoSlip
from tests.conftest import ROOT


def slab(material, L=1.0, H=0.2, dT=3.0, n=10, **kw):
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, L, n + 1), np.linspace(0, H, 3))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], L),
        "walls": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], H)})
    problem = fh.HeatProblem(regions, {"domain": material},
                             {"left": fh.Temperature(dT), "right": fh.Temperature(0.0),
                              "walls": fh.Insulated()}, model="gk", **kw)
    return fh.assemble(problem)


def test_landau_coefficients_map_to_kappa_tau_l():
    m = fh.Material.from_landau(a=2.0, b=0.5, Gamma=1e-3, lam=0.08, zeta=3.0)
    assert m.conductivity == pytest.approx(1.5)
    assert m.relaxation_time == pytest.approx(5e-4)
    assert m.nonlocal_length == pytest.approx(0.2)
    assert m.quartic == pytest.approx(0.25)


@pytest.mark.parametrize("b", [0.5, 5.0])
def test_uniform_flux_solves_the_cubic_law(b):
    """Uniform q (no viscous term): q + (b/a) q³ = κ ΔT/L, the real root, to 1e-10;
    Newton converges quadratically."""
    kappa, dT = 2.0, 3.0
    system = slab(fh.Material.from_landau(a=1.0, b=b, Gamma=0.0, lam=0.01, zeta=kappa), dT=dT)
    state = fh.solve_steady(system)
    roots = np.roots([b, 0.0, 1.0, -kappa * dT])
    exact = roots[np.abs(roots.imag) < 1e-12].real.max()
    assert fh.boundary_heat_flow(system, state.flux)["right"] / 0.2 == pytest.approx(exact, rel=1e-10)
    rep = state.newton
    assert rep.converged and rep.residuals[-1] < 1e-11
    u = np.array(rep.updates)
    tail = u[(u > 1e-12) & (u < 1e-1)]
    assert np.all(tail[1:] < 10 * tail[:-1] ** 2), f"not quadratic: {u}"


def test_b_zero_reproduces_linear_gk_exactly():
    lk = fh.Material.from_landau(a=4.0, b=0.0, Gamma=0.0, lam=0.16, zeta=8.0)
    gk = fh.Material(2.0, nonlocal_length=0.2)
    s1, s2 = slab(lk, walls={"walls": NoSlip()}), slab(gk, walls={"walls": NoSlip()})
    q1, q2 = fh.solve_steady(s1).flux, fh.solve_steady(s2).flux
    np.testing.assert_allclose(q1, q2, rtol=0, atol=1e-13 * np.abs(q2).max())


@pytest.mark.parametrize("viscous, degree, rel", [
    ("penalty", 0, 2e-3), ("vorticity", 0, 2e-3), ("vorticity", 1, 5e-5)])
def test_nonlinear_poiseuille_against_bvp(viscous, degree, rel):
    """Channel: q + c q³ − l² q'' = κG, q(±W/2) = 0 (no-slip), solved by scipy's
    solve_bvp; κ_eff within 0.2 % (measured: penalty −3.3e-4; vorticity form, with
    q·t = 0 at the open ends, 9.0e-4 at degree 0 and −1.1e-5 at degree 1)."""
    W, L, ell, c, kappa = 1.0, 1.0, 0.2, 0.5, 1.0
    mat = fh.Material.from_landau(a=1.0, b=c, Gamma=0.0, lam=ell**2, zeta=kappa)
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, L, 5), np.linspace(-W / 2, W / 2, 49))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: np.isclose(x[0], 0), "outlet": lambda x: np.isclose(x[0], L),
        "walls": lambda x: np.isclose(np.abs(x[1]), W / 2)})
    G = 2.0
    walls = {"walls": NoSlip()}
    if viscous == "vorticity":  # developed flow at the ends: q·t = 0 (not ω = 0)
        walls.update(inlet=NoSlip(), outlet=NoSlip())
    problem = fh.HeatProblem(regions, {"domain": mat},
                             {"inlet": fh.Temperature(G * L), "outlet": fh.Temperature(0.0),
                              "walls": fh.Insulated()}, model="gk", walls=walls,
                             viscous=viscous, degree=degree)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    H = fh.boundary_heat_flow(system, state.flux)["outlet"]
    y = np.linspace(-W / 2, W / 2, 201)
    sol = solve_bvp(lambda y, u: np.vstack([u[1], (u[0] + c * u[0] ** 3 - kappa * G) / ell**2]),
                    lambda a, b: np.array([a[0], b[0]]), y, np.zeros((2, y.size)), tol=1e-8,
                    max_nodes=100_000)
    assert sol.success
    yy = np.linspace(-W / 2, W / 2, 4001)
    exact = np.trapezoid(sol.sol(yy)[0], yy)
    assert H == pytest.approx(exact, rel=rel), (H, exact)
    assert state.newton.converged


def test_newton_non_convergence_raises():
    system = slab(fh.Material.from_landau(a=1.0, b=50.0, Gamma=0.0, lam=0.01, zeta=2.0))
    with pytest.raises(fh.SolverError, match=r"Newton's method did not converge in 2 iterations"):
        fh.solve_steady(system, max_iterations=2)


def test_linear_theta_scheme_refuses_landau_terms():
    """The linear θ-scheme refuses b > 0 (it would drop the term) and points to the
    Landau stepper, which model.transient picks by itself."""
    system = slab(fh.Material.from_landau(a=1.0, b=1.0, Gamma=1.0, lam=0.01, zeta=2.0))
    with pytest.raises(fh.FemheatInputError, match=r"LandauScheme"):
        fh.ThetaScheme(system, 0.1, 1.0)


def test_landau_bad_input_and_case_table(tmp_path):
    with pytest.raises(fh.FemheatInputError, match=r"landau.b must be >= 0"):
        fh.Material.from_landau(a=1.0, b=-1.0, Gamma=0.0, lam=0.0, zeta=1.0)
    with pytest.raises(fh.FemheatInputError, match=r"landau.a = 0 is the critical point"):
        fh.Material.from_landau(a=0.0, b=1.0, Gamma=0.0, lam=0.0, zeta=1.0)
    text = f"""
[mesh]
file = "{ROOT / 'meshes' / 'strip_2d.msh'}"
[model]
type = "gk"
beta = 0
[materials.medium]
heat_capacity = 2.0
landau = {{a = 2.0, b = 0.0, Gamma = 1.0, lambda = 0.02, zeta = 4.0}}
[boundaries.left]
temperature = 2.0
[boundaries.right]
temperature = 1.0
[boundaries.sides]
heat_flux = 0.0
wall = "no_slip"
"""
    case = parse_case(tomllib.loads(text), tmp_path)
    mat = case.problem.materials["medium"]
    assert (mat.conductivity, mat.relaxation_time, mat.nonlocal_length) == pytest.approx((2.0, 0.5, 0.1))
    with pytest.raises(fh.FemheatInputError, match=r"give either landau or \['conductivity'\]"):
        parse_case(tomllib.loads(text.replace("heat_capacity = 2.0", "conductivity = 1.0")), tmp_path)
    with pytest.raises(fh.FemheatInputError, match=r"landau: missing \['zeta'\]"):
        parse_case(tomllib.loads(text.replace(", zeta = 4.0", "")), tmp_path)


def test_case_run_reports_newton_convergence(tmp_path):
    """A steady Landau case writes its Newton history to summary.json; the heat flow
    solves the cubic law for the uniform flux of the strip."""
    from femheat.pipeline.runner import run_case

    text = f"""
[mesh]
file = "{ROOT / 'meshes' / 'strip_2d.msh'}"
[model]
type = "gk"
[materials.medium]
landau = {{a = 1.0, b = 0.5, Gamma = 0.0, lambda = 1e-4, zeta = 2.0}}
[boundaries.left]
temperature = 4.0
[boundaries.right]
temperature = 1.0
[boundaries.sides]
heat_flux = 0.0
[output]
png = false
vtu = false
"""
    summary = run_case(parse_case(tomllib.loads(text), tmp_path), tmp_path)
    newton = summary["newton"]
    # round-off level on this 5000-cell mesh (the inner steady solves stop at ~1e-12)
    assert newton["converged"] and newton["residuals"][-1] < 1e-9
    roots = np.roots([0.5, 0.0, 1.0, -2.0 * 3.0])  # q + (b/a) q^3 = kappa dT/L, L = 1
    exact = roots[np.abs(roots.imag) < 1e-12].real.max()
    assert summary["heat_flow"]["right"] / 0.01 == pytest.approx(exact, rel=1e-9)
