"""Transient Landau–Khalatnikov law (seed 000 eq. 1) for a > 0 and a < 0.

Γ∂q/∂t = −(aq + b|q|²q + c|q|⁴q − λ∇²q + ζ∇T), C∂T/∂t + ∇·q = Q, stepped by
:class:`femheat.LandauScheme` (implicit midpoint / backward Euler, Newton per step).
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import skfem
from scipy.integrate import solve_bvp

import femheat as fh
from femheat.analysis.landau import LandauEnergyBalance
from femheat.io.case import parse_case
from femheat.physics.conditions import FreeSlip, sphere_normal
from tests.conftest import ROOT


def square(material, n=8, bcs=None, L=1.0, viscous="penalty"):
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, L, n + 1), np.linspace(0, L, n + 1))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], L),
        "walls": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], L)})
    bcs = bcs or {"left": fh.Insulated(), "right": fh.Insulated(), "walls": fh.Insulated()}
    return fh.assemble(fh.HeatProblem(regions, {"domain": material}, bcs, model="gk", beta=0,
                                      viscous=viscous))


def noise(system, amplitude=0.01, seed=1):
    state = fh.initial_state(system, 0.0, None)
    state.flux[:] = amplitude * np.random.default_rng(seed).standard_normal(state.flux.size)
    state.flux[system.essential_dofs] = 0.0
    return state


def smooth_start(system):
    return fh.initial_state(system, lambda x: np.cos(np.pi * x[0]) + x[1],
                            lambda x: np.stack([np.sin(np.pi * x[1]), 0.5 * x[0] ** 2]))


def test_b_zero_equals_gk_stepper_to_roundoff():
    """(i) a > 0, b = 0: the Landau material is GK with κ = ζ/a, τ = Γ/a, l² = λ/a; the
    model's transient equals the GK θ-scheme, and the Newton path of LandauScheme
    (forced, N ≡ 0) reproduces it to round-off."""
    lk = fh.Material.from_landau(a=2.0, b=0.0, Gamma=0.1, lam=0.02, zeta=3.0,
                                 heat_capacity=1.5)
    gk = fh.Material(1.5, 1.5, 0.05, nonlocal_length=0.1)
    s_lk, s_gk = square(lk), square(gk)
    ref = list(fh.theta_steps(s_gk, 0.01, 0.1, 0.5, smooth_start(s_gk)))
    run = list(s_lk.model.transient(s_lk, 0.01, 0.1, 0.5, smooth_start(s_lk)))
    newton = fh.LandauScheme(s_lk, 0.01, 0.5)
    newton.nonlinear, newton._solve = True, None  # force the Newton iteration
    state = smooth_start(s_lk)
    for (_, a), (_, b) in zip(ref[1:], run[1:]):
        state = newton.step(state)
        scale = np.abs(a.flux).max()
        assert np.abs(a.flux - b.flux).max() <= 1e-13 * scale
        assert np.abs(a.flux - state.flux).max() <= 1e-12 * scale
        assert np.abs(a.temperature - state.temperature).max() <= 1e-12
        assert state.newton.converged


def _audit(system, theta, initial, dt, end):
    balance = LandauEnergyBalance(system, theta)
    residuals, rates = [], []
    for _, state in fh.landau_steps(system, dt, end, theta, initial):
        balance.update(state)
        residuals.append(balance.history_values()[3])
        rates.append(balance.history_values()[1])
    balance.rates = np.array(rates[1:])
    return balance, np.array(residuals[1:])


@pytest.mark.parametrize("viscous", ["penalty", "vorticity"])
@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_energy_identity_per_step_a_positive(theta, viscous):
    """(ii) a > 0 with b, c > 0, a hot wall and a prescribed heat flux (boundary work
    through natural and essential DOFs): the identity holds at every step to round-off;
    backward Euler's numerical dissipation is positive and reported, the midpoint's zero.
    The vorticity form's dissipation carries its Hodge energy ν|rot q|² + ν|∇·q|²."""
    mat = fh.Material.from_landau(a=1.0, b=2.0, Gamma=0.2, lam=0.01, zeta=1.0, c=0.5)
    system = square(mat, bcs={"left": fh.HeatFlux(-0.5), "right": fh.Temperature(1.0),
                              "walls": fh.Insulated()}, viscous=viscous)
    balance, res = _audit(system, theta, smooth_start(system), 0.02, 0.2)
    assert res.max() < 1e-10, res
    summary = balance.summary()["landau_energy_identity"]
    assert abs(summary["boundary_work"]) > 1e-3
    if theta == 0.5:
        assert summary["numerical_dissipation"] == 0.0
    else:
        assert summary["numerical_dissipation"] > 1e-6
    assert balance.max_relative_error < 1e-10


@pytest.mark.parametrize("viscous", ["penalty", "vorticity"])
@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_energy_identity_per_step_a_negative(theta, viscous):
    """(ii) a < 0 (ordered phase, insulated): the "dissipation" (1/ζ)∫(a|q|² + b|q|⁴ + ...)
    changes sign (negative while the flux orders, positive while the noise smooths out),
    and the identity holds to round-off at every step."""
    mat = fh.Material.from_landau(a=-1.0, b=1.0, Gamma=1.0, lam=0.01, zeta=1.0, c=0.2)
    system = square(mat, viscous=viscous)
    balance, res = _audit(system, theta, noise(system, 0.1), 0.1, 2.0)
    assert res.max() < 1e-10, res
    assert balance.rates.min() < 0 < balance.rates.max()  # a|q|² < 0 drives the ordering


def _vortex(nrefs, a=-1.0, b=1.0, lam=0.04, viscous="penalty"):
    """The insulated disc: free-slip rim with the circle's normal (penalty form), or a
    no-slip rim (``viscous = "vorticity"``, which takes no smooth normal)."""
    mesh = skfem.MeshTri.init_circle(nrefs)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"rim": lambda x: np.ones(x.shape[1], bool)})
    mat = fh.Material.from_landau(a=a, b=b, Gamma=1.0, lam=lam, zeta=1.0)
    wall = (FreeSlip(normal=sphere_normal((0.0, 0.0))) if viscous == "penalty"
            else fh.NoSlip())
    problem = fh.HeatProblem(regions, {"domain": mat}, {"rim": fh.Insulated()}, model="gk",
                             beta=0, walls={"rim": wall}, viscous=viscous)
    system = fh.assemble(problem)
    xi = np.sqrt(lam / -a)

    def q0(x):
        r = np.hypot(x[0], x[1]) + 1e-300
        f = 0.8 * np.tanh(r / xi) / r
        return np.stack([-x[1] * f, x[0] * f])

    state = None
    for _, state in fh.landau_steps(system, 0.5, 15.0, 1.0, fh.initial_state(system, 0.0, q0)):
        pass
    return system, state


def _radial_profile(a=-1.0, b=1.0, lam=0.04, R=1.0, no_slip=False):
    """λ(q'' + q'/r − q/r²) = a q + b q³, q ~ r at 0, q'(R) = 0 (free slip) or
    q(R) = 0 (``no_slip``)."""
    r0 = 1e-4
    r = np.linspace(r0, R, 400)

    def rhs(r, y):
        return np.vstack([y[1], (a * y[0] + b * y[0] ** 3) / lam - y[1] / r + y[0] / r**2])

    guess = np.vstack([np.tanh(r / 0.2), 1 / 0.2 / np.cosh(r / 0.2) ** 2])
    sol = solve_bvp(rhs, lambda ya, yb: np.array([ya[0] - r0 * ya[1],
                                                  yb[0] if no_slip else yb[1]]),
                    r, guess, tol=1e-9, max_nodes=200_000)
    assert sol.success
    return sol.sol


@pytest.mark.parametrize("viscous", ["penalty", "vorticity"])
def test_disc_vortex_relaxes_to_the_radial_profile(viscous):
    """(iv) q = q_θ(r) e_θ in an insulated disc (free-slip rim with the circle's normal;
    the vorticity form: a no-slip rim) relaxes to the solve_bvp profile; the L2 error
    falls with h (measured nrefs = 3 / 4: penalty BDM1 8.0e-3 / 2.0e-3, order 2.0;
    vorticity BDM1 with a P2 vorticity 1.8e-2 / 4.3e-3, order 2.1 (RT0 with P1, before:
    1.7e-1 / 8.4e-2, order 0.99); at degree 1 (BDM2, 16 s) 1.4e-2 / 3.3e-3, order 2.0)."""
    profile = _radial_profile(no_slip=viscous == "vorticity")
    errors, hs = [], []
    for nrefs in (3, 4):
        system, state = _vortex(nrefs, viscous=viscous)
        qb = system.flux_basis
        x = qb.global_coordinates().value
        r = np.hypot(x[0], x[1])
        qt = profile(np.maximum(r, 1e-4))[0]
        exact = np.stack([-x[1] / np.maximum(r, 1e-12) * qt, x[0] / np.maximum(r, 1e-12) * qt])
        qh = qb.interpolate(state.flux).value
        err = np.sqrt(np.sum(np.sum((qh - exact) ** 2, axis=0) * qb.dx))
        norm = np.sqrt(np.sum(np.sum(exact**2, axis=0) * qb.dx))
        errors.append(err / norm)
        hs.append(system.problem.regions.mesh.params().max()
                  if hasattr(system.problem.regions.mesh, "params") else 2.0 ** -nrefs)
    rate = np.log(errors[0] / errors[1]) / np.log(2.0)
    assert errors[1] < 0.01 and rate > 1.8, (errors, rate)
    print(f"disc vortex L2 errors {errors}, rate {rate:.2f}")


def test_landau_bad_input_is_refused():
    with pytest.raises(fh.FemheatInputError, match=r"landau.b must be > 0 when a < 0"):
        fh.Material.from_landau(a=-1.0, b=0.0, Gamma=1.0, lam=0.0, zeta=1.0)
    with pytest.raises(fh.FemheatInputError, match=r"landau.c"):
        fh.Material.from_landau(a=-1.0, b=1.0, Gamma=1.0, lam=0.0, zeta=1.0, c=-1.0)
    with pytest.raises(fh.FemheatInputError, match=r"landau.Gamma must be > 0 when a < 0"):
        fh.Material.from_landau(a=-1.0, b=1.0, Gamma=0.0, lam=0.0, zeta=1.0)
    system = square(fh.Material.from_landau(a=-1.0, b=1.0, Gamma=1.0, lam=0.01, zeta=1.0))
    with pytest.raises(fh.FemheatInputError, match=r"steady solve .* a < 0 is ill-posed"):
        fh.solve_steady(system)


CASE = f"""
[mesh]
file = "{ROOT / 'meshes' / 'strip_2d.msh'}"
[model]
type = "gk"
beta = 0
[materials.medium]
heat_capacity = 2.0
landau = {{a = -1.0, b = 1.0, c = 0.5, Gamma = 1.0, lambda = 0.02, zeta = 4.0}}
[boundaries.left]
heat_flux = 0.0
[boundaries.right]
heat_flux = 0.0
[boundaries.sides]
heat_flux = 0.0
"""


def test_case_table_landau_block(tmp_path):
    """[materials.X] landau = {a, b, c, Gamma, lambda, zeta}: a < 0 accepted (the
    material is ordered), bad values refused naming the key."""
    case = parse_case(tomllib.loads(CASE + "[time]\ndt = 0.1\nend = 1.0\n[initial]\ntemperature = 1.0\n"), tmp_path)
    mat = case.problem.materials["medium"]
    assert mat.ordered and mat.quartic == 1.0 and mat.sextic == 0.5
    assert mat.conductivity == pytest.approx(4.0) and mat.relaxation_time == pytest.approx(1.0)
    with pytest.raises(fh.FemheatInputError, match=r"materials.medium.landau.b must be > 0"):
        parse_case(tomllib.loads(CASE.replace("b = 1.0", "b = 0.0")), tmp_path)
    with pytest.raises(fh.FemheatInputError, match=r"materials.medium.landau.c"):
        parse_case(tomllib.loads(CASE.replace("c = 0.5", "c = -0.5")), tmp_path)


def test_thermal_domains_case_writes_statistics(tmp_path):
    """The thermal_domains case (small): domains.csv with coarsening statistics, the
    energy identity to round-off over the midpoint run."""
    import csv
    import importlib.util

    spec = importlib.util.spec_from_file_location("thermal_domains",
                                                  ROOT / "cases" / "thermal_domains.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    summary = mod.run(tmp_path, n=8, end=6.0, dt=0.5, every=2)
    rows = list(csv.DictReader(open(tmp_path / "domains.csv")))
    assert len(rows) == 6 and {"domains", "wall_length", "vortices", "length_scale"} <= set(rows[0])
    assert int(rows[-1]["domains"]) >= 1 and float(rows[-1]["ordered_fraction"]) > 0.3
    assert summary["landau_energy_identity"]["max_relative_residual"] < 1e-10
