r"""The GK vorticity form in 3D at degree 1: BDM2 × P1 DG with the third-order Nédélec
vorticity (femheat.element.hcurl.ElementTetN1Curl3: P3 → N1curl₃ → BDM2 → P1DG is
exact), kept as an unknown of every solve as at degree 0. Until 2026-12-06 the pair
was RT of order 1 × P1 DG with the second-order Nédélec vorticity: q at O(h²), and T
next to no-slip walls at O(h^1.3).

Proven here:

* the elements (Nédélec first kind of order 2 and 3): tangential traces continuous
  across every interior face of a mesh whose cells list their vertices in random
  orders (normal traces are not), fields of the space reproduced to round-off by the
  H(curl) projection;
* no spurious slow temperature modes: slowest nonzero quasi-static rate 4.9748 against
  the physical 4.967 (n = 2, l² = 0.1; the penalty form at degree 1: 1.42 in 2D), the
  fastest below 1/l²;
* the steady smooth cos mode converges at O(h²) in T and O(h^2.7) in q (T 1.81e-1 /
  4.90e-2, q 4.74e-2 / 7.24e-3 at n = 2 / 4, the faces open since 2026-12-06; with
  ω = 0 there before q 4.05e-2 / 6.58e-3 / 9.16e-4 at n = 2 / 4 / 8; with RT of order
  1: q 1.48e-1 / 3.92e-2 / 9.94e-3); the transient T equals the Fourier model's error
  (ratio 0.999; the penalty form 1.04–1.06);
* plane Poiseuille flow between no-slip and slip-length plates and Couette flow from a
  prescribed tangential flux at O(h^2.9) in q (heat flow: 2.0e-6 → 1.5e-7); T between
  no-slip plates at O(h²) (relative L² 4.9e-5 at n = 8, the penalty form 2.6e-4); the
  Kapitza bilayer's series flux to round-off; the frequency solver's T̂ at O(h²);
* the memory model with one mode per material, and a Landau material with b = 0, step
  as GK to round-off; the Landau energy identity holds to round-off;
* the iterative solver's counts stay bounded (steady 69 / 77 / 88 / 91 from n = 2 to
  6), since 2026-12-06, when the vorticity mass got an exact quadrature and the
  faces that heat crosses their open-boundary terms; it was refused before (517 →
  1122, and answers 5e-3 off);
* a laminate homogenization cell converges to the layer ODE at O(h^4.3) (4.8e-4 /
  2.4e-5 at n = 2 / 4; 5.9e-7 at n = 8; with RT of order 1: 5.7e-3 / 9.4e-4 / 8.9e-5).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import skfem
from skfem.helpers import curl, dot

import femheat as fh
from femheat.element.hcurl import ElementTetN1Curl2, ElementTetN1Curl3
from femheat.physics.conditions import NoSlip, SlipLength, TangentialFlux
from tests.test_gk_temperature import _orders, cos_mode
from tests.test_gk_vorticity_3d import (PL_ELL, PL_L, PL_W, _bilayer, _cube, _flux_error,
                                        _landau_cube, _memory_bilayer, _plates, _poiseuille,
                                        _smooth_start, _sourced_cube, quasi_static_rates)


def _scrambled_cube(n: int, seed: int = 1) -> skfem.MeshTet:
    """A structured cube whose cells list their vertices in random orders."""
    mesh = skfem.MeshTet.init_tensor(*[np.linspace(0, 1, n + 1)] * 3)
    rng = np.random.default_rng(seed)
    t = np.array([col[rng.permutation(4)] for col in mesh.t.T]).T
    return skfem.MeshTet(mesh.p, np.ascontiguousarray(t))


def _in_r2(X):
    """P1³ + x × (x e_z) ∈ R₂, and its curl."""
    u = np.stack([1 + X[1] - 2 * X[2] + X[0] * X[1], 0.5 * X[0] + 3 - X[0] ** 2, X[1] - X[0]])
    return u, np.stack([1 + 0 * X[0], -1 + 0 * X[0], -0.5 - 3 * X[0]])


def _in_r3(X):
    """P2³ + x × (xy e_z) ∈ R₃, and its curl."""
    x, y, z = X
    u = np.stack([x**2 + y * z + x * y**2, z**2 - x - x**2 * y, x * y])
    return u, np.stack([x - 2 * z, 0 * x, -1 - 4 * x * y - z])


@pytest.mark.parametrize("element, field, count", [
    (ElementTetN1Curl2, _in_r2, (2, 2, 0)), (ElementTetN1Curl3, _in_r3, (3, 6, 3))])
def test_nedelec_elements_are_conforming_and_exact(element, field, count):
    mesh = _scrambled_cube(3 if element is ElementTetN1Curl2 else 2)
    element = element()
    order = 2 * element.maxdeg
    basis = skfem.Basis(mesh, element, intorder=order)
    assert basis.N == (count[0] * mesh.edges.shape[1] + count[1] * mesh.facets.shape[1]
                       + count[2] * mesh.t.shape[1])
    x = np.random.default_rng(2).standard_normal(basis.N)
    sides = [skfem.InteriorFacetBasis(mesh, element, side=s, intorder=order).interpolate(x)
             for s in (0, 1)]
    n = skfem.InteriorFacetBasis(mesh, element, side=0, intorder=order).normals

    def tangential(u):
        return u - np.einsum("ieq,ieq->eq", u, n)[None] * n

    scale = np.abs(sides[0].value).max()
    assert np.abs(tangential(sides[0].value) - tangential(sides[1].value)).max() < 1e-12 * scale
    assert np.abs(np.einsum("ieq,ieq->eq", sides[0].value - sides[1].value, n)).max() > 1e-3
    jump = np.einsum("ieq,ieq->eq", sides[0].curl - sides[1].curl, n)
    assert np.abs(jump).max() < 1e-11 * scale

    @skfem.BilinearForm
    def hcurl(u, v, w):
        return dot(u, v) + dot(curl(u), curl(v))

    @skfem.LinearForm
    def load(v, w):
        u, cu = field(w.x)
        return dot(u, v) + dot(cu, curl(v))

    uh = basis.interpolate(np.linalg.solve(hcurl.assemble(basis).toarray(),
                                           load.assemble(basis)))
    u, cu = field(basis.global_coordinates().value)
    assert np.abs(uh.value - u).max() < 1e-9 and np.abs(uh.curl - cu).max() < 1e-9


def test_no_spurious_slow_temperature_modes_at_degree_1():
    ell2 = 0.1
    material = fh.Material(1.0, 1.0, 0.0, nonlocal_length=math.sqrt(ell2))
    system = fh.assemble(fh.HeatProblem(_cube(2), {"domain": material},
                                        {"walls": fh.Insulated()}, model="gk", degree=1,
                                        beta=0, viscous="vorticity"))
    assert isinstance(system.flux_basis.elem, fh.element.ElementTetBDM2)
    rates = quasi_static_rates(system)
    physical = math.pi**2 / (1 + math.pi**2 * ell2)
    assert abs(rates[0]) <= 1e-10 * rates[-1]
    assert abs(rates[1] / physical - 1) < 3e-3, (rates[1:4], physical)
    assert rates[-1] <= 1 / ell2


def test_cos_mode_converges_at_full_order():
    """Steady, the cube's faces carrying the natural temperature (open boundaries since
    2026-12-06, the gradient energy's condition), n = 2 / 4: T 1.809e-1 / 4.904e-2, q
    4.740e-2 / 7.236e-3 (the penalty form: T 1.833e-1 / 4.961e-2, q 5.371e-2 /
    8.711e-3; with ω = 0 there before, q 4.05e-2 / 6.58e-3 against that form's own
    data)."""
    steady = [cos_mode("gk", n, 1, ell=0.2, beta=2, dim=3, rate=0.0, viscous="vorticity")
              for n in (2, 4)]
    eT, eq = [e[0] for e in steady], [e[1] for e in steady]
    assert _orders(eT)[0] > 1.8 and _orders(eq)[0] > 2.6, (eT, eq)
    assert abs(eT[1] / 4.904e-2 - 1) < 0.01 and abs(eq[1] / 7.236e-3 - 1) < 0.01, (eT, eq)
    gk = cos_mode("gk", 4, 1, ell=0.2, beta=2, dim=3, viscous="vorticity")[0]
    fourier = cos_mode("fourier", 4, 1, dim=3)[0]
    assert gk / fourier < 1.02, (gk, fourier)


def test_walls_and_the_kapitza_bilayer():
    for wall, coefficient in ((NoSlip(), 0.0), (SlipLength(0.5), 0.5)):
        exact, flow = _poiseuille(coefficient)
        errors, flows = [], []
        for n in (4, 8):
            system, state, qb, q = _plates(n, wall, degree=1)
            errors.append(_flux_error(qb, q, exact(qb.global_coordinates().value[2])))
            flows.append(abs(fh.boundary_heat_flow(system, state.flux)["outlet"] / flow - 1))
        assert _orders(errors)[0] > 2.7 and errors[-1] < 4e-4, (wall, errors)
        assert flows[-1] < 5e-7 and flows[-1] < flows[0] / 10, (wall, flows)
    U, errors = 2.0, []
    for n in (4, 8):
        _, _, qb, q = _plates(n, NoSlip(), TangentialFlux((U, 0.0, 0.0)), dT=0.0, degree=1)
        z = qb.global_coordinates().value[2]
        errors.append(_flux_error(qb, q, U * np.sinh(z / PL_ELL) / math.sinh(PL_W / PL_ELL)))
    assert _orders(errors)[0] > 2.7 and errors[-1] < 6e-4, errors

    system = _bilayer(degree=1)
    state = fh.solve_steady(system)
    q = system.flux_basis.interpolate(state.flux).value
    assert np.abs(q[0] - 0.5).max() <= 1e-10 and np.abs(q[1:]).max() <= 1e-10
    tb = system.temperature_basis
    x = tb.global_coordinates().value[0]
    in_a = np.isin(np.arange(x.shape[0]), system.problem.regions.subdomains["a"])[:, None]
    exact = np.where(in_a, 1 - 0.5 * x, 1 - 0.5 * (1 + 0.2 + (x - 1) / 3))
    assert np.abs(tb.interpolate(state.temperature).value - exact).max() <= 1e-10


def test_plates_temperature_converges_at_second_order():
    """The no-slip plates of tests/test_gk_vorticity_3d.py at degree 1, T exact linear:
    relative L² T errors (volume RMS of the P1DG field) 1.96e-4 / 4.89e-5 at n = 4 / 8
    (order 2.0; largest 1.2e-3 / 4.8e-4, along the plates), 5x below the penalty
    form's 1.05e-3 / 2.6e-4. Until 2026-12-06 (RT of order 1 with the second-order
    Nédélec vorticity) a strict xfail: 1.6e-3 / 6.7e-4 / 3.8e-4 at n = 4 / 8 / 12,
    O(h^1.3), the mixed method's k − ½ where walls hold both flux components when the
    flux space is one order short (README, accuracy)."""
    errors = []
    for n in (4, 8):
        system, state, _, _ = _plates(n, NoSlip(), degree=1)
        tb = system.temperature_basis
        x = tb.global_coordinates().value[0]
        miss = tb.interpolate(state.temperature).value - (1 - x / PL_L)
        errors.append(math.sqrt(float((miss**2 * tb.dx).sum() / tb.dx.sum())))
    assert _orders(errors)[0] > 1.8 and errors[-1] < 8e-5, errors


def test_frequency_response_converges_at_second_order():
    from tests.test_gk_vorticity import wave_error, wave_slab

    errors = [wave_error(wave_slab(n, 3, degree=1)) for n in (4, 8)]
    assert _orders(errors)[0] > 1.9 and errors[-1] < 2e-3, errors


def test_memory_and_landau_models_step_as_gk():
    from femheat.solve.memory import memory_steps
    from tests.test_landau_transient import _audit

    walls = {"sides": NoSlip()}
    gk = _bilayer(tau=0.05, walls=walls, degree=1)
    mem = _memory_bilayer([(1.0, 0.05)], [(3.0, 0.05)], walls, degree=1)
    pairs = zip(fh.theta_steps(gk, 0.01, 0.05, 0.5, fh.initial_state(gk, 0.3)),
                memory_steps(mem, 0.01, 0.05, 0.5, mem.model.initial_state(mem, 0.3)))
    for (_, g), (_, m) in pairs:
        assert np.abs(g.flux - m.flux).max() <= 1e-10 * max(np.abs(g.flux).max(), 1e-300)
        assert np.abs(g.temperature - m.temperature).max() <= 1e-10

    lk = _landau_cube(fh.Material.from_landau(a=2.0, b=0.0, Gamma=0.1, lam=0.02, zeta=3.0,
                                              heat_capacity=1.5), n=2, degree=1)
    plain = _landau_cube(fh.Material(1.5, 1.5, 0.05, nonlocal_length=0.1), n=2, degree=1)
    newton = fh.LandauScheme(lk, 0.01, 0.5)
    newton.nonlinear, newton._solve = True, None  # force the Newton iteration
    state = _smooth_start(lk)
    for _, a in list(fh.theta_steps(plain, 0.01, 0.05, 0.5, _smooth_start(plain)))[1:]:
        state = newton.step(state)
        assert np.abs(a.flux - state.flux).max() <= 1e-10 * np.abs(a.flux).max()
    material = fh.Material.from_landau(a=1.0, b=1.0, Gamma=0.5, lam=0.01, zeta=1.0, c=0.2)
    system = _landau_cube(material, n=2, degree=1, bcs={
        "left": fh.HeatFlux(-0.5), "right": fh.Temperature(1.0), "walls": fh.Insulated()})
    _, residuals = _audit(system, 0.5, _smooth_start(system), 0.02, 0.1)
    assert residuals.max() < 1e-10, residuals


def test_iterative_solver_counts_stay_bounded_and_agree_with_direct():
    """MINRES with the auxiliary-space flux preconditioner (A₀ + Cᵀ B C, B the inverse
    of M_ω's edge, face and cell blocks) on BDM2 with the third-order Nédélec
    vorticity, T given on two faces (open boundaries since 2026-12-06): steady counts
    69 / 77 / 88 / 91 at n = 2 / 3 / 4 / 6 (rtol 1e-12), Crank–Nicolson steps 71–93
    at n = 2–4, the answers those of the direct solves (flux 1e-9 relative). It was
    refused before: with M_ω integrated by scikit-fem's tetrahedral rule of order 6
    (exact to degree 5 only, for a mass of degree 6: 4 null modes with ω free on a
    cube's faces) and ω = 0 on the faces that heat crosses, the counts grew (517 / 755
    / 969 / 1122 at n = 2 / 3 / 4 / 6 at rtol 1e-10) and the flux strayed by 5e-3;
    with the mass exact but ω = 0 there, 341 / 413 / 467 at n = 2 / 3 / 4."""
    from femheat.solve.iterative import IterativeThetaScheme, solve_steady_iterative

    counts = []
    for n in (2, 3):
        system = _sourced_cube(n, degree=1)
        ref = fh.solve_steady(system)
        state, report = solve_steady_iterative(system, rtol=1e-12)
        assert np.abs(state.flux - ref.flux).max() < 1e-7 * np.abs(ref.flux).max()
        assert np.abs(state.temperature - ref.temperature).max() < 1e-6
        counts.append(report.iterations[0])
    assert max(counts) < 100, counts
    system = _sourced_cube(2, degree=1)
    scheme, direct = (IterativeThetaScheme(system, 0.01, 0.5, rtol=1e-12),
                      fh.ThetaScheme(system, 0.01, 0.5))
    a = b = fh.initial_state(system, temperature=0.0)
    for _ in range(3):
        a, b = scheme.step(a), direct.step(b)
    assert np.abs(a.flux - b.flux).max() <= 1e-8 * np.abs(b.flux).max()
    assert max(scheme.report.iterations) < 100, scheme.report.iterations


def test_the_vorticity_mass_is_integrated_exactly():
    """The third-order Nédélec mass is a polynomial of degree 6 on each cell: with ω
    free on every face of a cube it has no null mode (scikit-fem's tetrahedral rule of
    order 6, exact to degree 5 only, left 4)."""
    x = np.linspace(0, 1, 3)
    regions = fh.RegionMesh.from_skfem(skfem.MeshTet.init_tensor(x, x, x),
                                       boundaries={"all": lambda p: np.ones(p.shape[1], bool)})
    system = fh.assemble(fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.3)},
        {"all": fh.Temperature(0.0)}, model="gk", degree=1, viscous="vorticity"))
    mass = system.rotation[1].matrix.toarray()
    eigenvalues = np.linalg.eigvalsh(mass)
    assert mass.shape[0] == 1158 and eigenvalues[0] > 1e-4 * eigenvalues[-1], eigenvalues[:5]


def test_laminate_cell_converges_fast():
    from femheat.analysis.homogenization import homogenize
    from tests.test_homogenization_gk3d import LAMINATE, _laminate, laminate_ode

    errors = [abs(homogenize(_laminate(n), LAMINATE, model="gk", boundary="mixed",
                             viscous="vorticity", degree=1, axes=[0]).conductivity[0, 0]
                  / laminate_ode() - 1) for n in (2, 4)]
    assert errors[1] < 1e-4 and np.log2(errors[0] / errors[1]) > 3.5, errors
