r"""The vorticity form of the GK viscous term in (r, z) coordinates
(:mod:`femheat.assembly.vorticity_axisymmetric`: RT0 × P0, the stream function ψ = rω
in continuous P1, S ψ = "(1/r) curl ψ" exactly divergence-free for the (r, z)
divergence).

Measured (tables in the test docstrings):

* quasi-static temperature modes of an insulated free-slip cylinder: slowest nonzero
  rate 4.9566 (β = 0) / 2.4891 (β = 2) against the physical 4.9672 / 2.4918; the
  interior penalty in (r, z): 1.179 / 0.954 (its grid-scale modes);
* a pipe's Poiseuille flow (no-slip and slip-length walls): q at O(h), the heat flow
  at O(h²);
* a spherical shell with T given on both spheres: the Hodge model's heat flow is
  Fourier's, 4πκΔT/(1/R₁ − 1/R₂), met at O(h²) (the interior penalty's LK model gives
  36 % less at l/R₁ = 0.4);
* an axial Couette flow between cylinders driven by a tangential flux: q at O(h);
* a decaying toroidal vortex with uniform temperature at the GK rate;
* a layered rod with a Kapitza interface (series heat flow; memory model = GK in the
  frequency domain);
* an FDTR sample tending to MCV on the same mesh at O(l²).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg
import skfem
from scipy.special import i0, i1, j0, j1, jn_zeros, k0

import femheat as fh
from femheat.assembly import axisymmetric as axi
from femheat.physics.conditions import NoSlip, SlipLength, TangentialFlux
from femheat.solve.factorization import direct_solver
from tests.test_gk_temperature import _orders
from tests.test_gk_vorticity_3d import quasi_static_rates

TOL = 1e-9


def _cylinder(n: int, radius: float = 1.0, height: float = 1.0, inner: float = 0.0,
              aspect: int = 1) -> fh.RegionMesh:
    """[inner, radius] × [0, height], n × aspect·n squares cut in two; boundaries
    "axis" (r = 0) or "inner", "outer", and the ends "bottom", "top" (without the
    corners' vertical facets)."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(inner, radius, n + 1),
                                     np.linspace(0, height, aspect * n + 1))
    side = {"axis" if inner == 0 else "inner": lambda x: x[0] < inner + TOL,
            "outer": lambda x: x[0] > radius - TOL}
    between = lambda x: (x[0] > inner + TOL) & (x[0] < radius - TOL)  # noqa: E731
    return fh.RegionMesh.from_skfem(mesh, boundaries={
        **side, "bottom": lambda x: (x[1] < TOL) & between(x),
        "top": lambda x: (x[1] > height - TOL) & between(x)})


def _weighted_l2(basis, values, exact) -> float:
    """Relative L² error in the 2πr measure (vector or scalar fields)."""
    x = basis.global_coordinates().value
    dV = 2 * np.pi * x[0] * basis.dx
    err, ref = (values - exact) ** 2, exact ** 2
    if err.ndim == 3:
        err, ref = err.sum(axis=0), ref.sum(axis=0)
    return float(np.sqrt((err * dV).sum() / (ref * dV).sum()))


# ------------------------------------------------------------------ spectrum
def _rates(n: int, beta: int, viscous: str, ell2: float = 0.1) -> np.ndarray:
    """Rates of dT/dt = −C⁻¹ B A⁻¹ Bᵀ T (τ = 0), unit cylinder, insulated free-slip."""
    material = fh.Material(1.0, 1.0, 0.0, nonlocal_length=math.sqrt(ell2))
    problem = fh.HeatProblem(
        _cylinder(n), {"domain": material},
        {b: fh.Insulated() for b in ("outer", "bottom", "top")}, model="gk", degree=0,
        beta=beta, viscous=viscous, coordinates="axisymmetric")
    return quasi_static_rates(fh.assemble(problem))


@pytest.mark.parametrize("beta", [0, 2])
def test_no_spurious_slow_temperature_modes_in_rz(beta):
    """Continuum rates K²/(1 + (1 + β)l²K²), K² = α² + m²π² (α a zero of J₁): slowest
    nonzero π²/(1 + (1 + β)π²l²) = 4.9672 (β = 0) / 2.4918 (β = 2), the next
    (α = 3.8317, m = 0) 5.949 / 3.000, all below 1/((1 + β)l²). Measured at n = 8:
    4.9566, 5.928 / 2.4891, 2.712. The interior penalty on projected jumps: 4.992 /
    2.498, physical too at this l (with the penalty on the full tangential jumps 1.179
    / 0.954, a cluster of grid-scale modes below the physical one); its fastest rates
    exceed the saturation (19.65 / 3.98, tests/test_gk_modes.py)."""
    ell2 = 0.1
    physical = math.pi**2 / (1 + (1 + beta) * math.pi**2 * ell2)
    rates = _rates(8, beta, "vorticity", ell2)
    assert abs(rates[0]) <= 1e-10 * rates[-1], f"mean-temperature mode rate {rates[0]:.2e}"
    assert abs(rates[1] / physical - 1) <= 1e-2, (
        f"beta {beta}: slowest nonzero rate {rates[1]:.4f}, physical {physical:.4f}; "
        f"next {np.round(rates[2:5], 4)}")
    assert rates[-1] <= 1 / ((1 + beta) * ell2), f"fastest rate {rates[-1]:.4f}"
    penalty = _rates(8, beta, "penalty", ell2)
    assert abs(penalty[1] / physical - 1) <= 1e-2, (
        f"penalty form: slowest nonzero rate {penalty[1]:.4f}, physical {physical:.4f}")


def test_stream_fields_are_divergence_free_and_orthogonal_to_gradients():
    """B S = 0 exactly (S ψ = M_r⁻¹Cᵀψ, M_r the 2πr-weighted RT0 mass, on all flux
    DOFs: a no-slip wall's stream values drive a flux through it), and with stress-free
    walls (ψ = 0 there) C vanishes on the discrete temperature gradients M_r⁻¹BᵀT of
    the free DOFs: both to round-off on a perturbed section touching the axis."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 7), np.linspace(0, 1, 7))
    rng = np.random.default_rng(0)
    p = mesh.p.copy()
    interior = (p[0] > TOL) & (p[0] < 1 - TOL) & (p[1] > TOL) & (p[1] < 1 - TOL)
    p[:, interior] += 0.04 * rng.uniform(-1, 1, (2, int(interior.sum())))
    regions = fh.RegionMesh.from_skfem(skfem.MeshTri(p, mesh.t), boundaries={
        "axis": lambda x: x[0] < TOL, "rest": lambda x: x[0] > TOL})
    on_axis = regions.mesh.p[0] < TOL
    for walls in ({"rest": NoSlip()}, {}):
        problem = fh.HeatProblem(
            regions, {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.3)},
            {"rest": fh.Insulated()}, model="gk", degree=0, viscous="vorticity",
            walls=walls, coordinates="axisymmetric")
        system = fh.assemble(problem)
        C, _ = system.rotation
        M = axi.flux_mass.assemble(system.flux_basis, kinv=1.0).tocsc()
        scale = abs(C).max()
        if walls:  # ψ on every vertex off the axis
            assert C.shape[0] == int((~on_axis).sum())
            S = scipy.sparse.linalg.spsolve(M, C.T.toarray())
            assert np.abs(system.divergence @ S).max() <= 1e-12 * scale, "B S != 0"
            continue
        free = system.free_dofs  # insulated: the boundary fluxes are held at zero
        B = system.divergence[:, free]
        grads = scipy.sparse.linalg.spsolve(M[free][:, free], B.T.toarray())
        residual = np.abs(C[:, free] @ grads).max()
        assert residual <= 1e-12 * scale * np.abs(grads).max(), residual


# ------------------------------------------------------------------ flows
R_PIPE, L_PIPE, ELL, KAPPA = 1.0, 2.0, 0.3, 1.0


def _pipe(n: int, wall, viscous: str = "vorticity"):
    """A pipe of radius 1 and length 2 (n × 2n), T = 1 / 0 on the ends (no-slip there:
    q·t = q_r = 0 for developed flow), ``wall`` on the mantle."""
    regions = _cylinder(n, R_PIPE, L_PIPE, aspect=2)
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(KAPPA, 1.0, 0.0, nonlocal_length=ELL)},
        {"bottom": fh.Temperature(1.0), "top": fh.Temperature(0.0),
         "outer": fh.Insulated()}, model="gk", degree=0, beta=2,
        walls={"bottom": NoSlip(), "top": NoSlip(), "outer": wall}, viscous=viscous,
        coordinates="axisymmetric")
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


@pytest.mark.parametrize("wall, slip", [(NoSlip(), 0.0), (SlipLength(0.5), 0.5)])
def test_poiseuille_flow_in_a_pipe(wall, slip):
    """q_z(r) = κG(1 − A I₀(r/l)), A = 1/(I₀(R/l) + C_s I₁(R/l)), G = ΔT/L; heat flow
    κG(πR² − 2πA lR I₁(R/l)); T linear. R/l = 3.33, n = 8 / 16 / 32: flux errors
    9.6e-2 / 4.7e-2 / 2.4e-2 (no-slip), 5.6e-2 / 2.8e-2 / 1.4e-2 (C_s = 0.5); heat
    flow 1.7e-2 / 4.5e-3 / 1.1e-3 and 6.8e-3 / 1.7e-3 / 4.3e-4 (O(h²)); T at the
    cell centroids (2πr-weighted L², absolute, ΔT = 1) 8.6e-4 / 2.2e-4 / 5.4e-5 and
    7.8e-4 / 2.0e-4 / 4.9e-5 (O(h²)), at most 4.1e-3 / 2.0e-3 / 1.0e-3. With row-sum
    vorticity weights (not rotation-consistent) the no-slip T kept 0.02 in the corner
    cells where the mantle meets the no-slip ends at every n, and its L² error was
    3.9e-3 / 1.5e-3 / 6.8e-4."""
    a = 1.0 / (i0(R_PIPE / ELL) + slip * i1(R_PIPE / ELL))
    grad = 1.0 / L_PIPE
    flow = KAPPA * grad * (math.pi * R_PIPE**2 - 2 * math.pi * a * ELL * R_PIPE
                           * i1(R_PIPE / ELL))
    errors, flows, t_errors, t_max = [], [], [], []
    for n in (8, 16, 32):
        system, state = _pipe(n, wall)
        qb, tb = system.flux_basis, system.temperature_basis
        x = qb.global_coordinates().value
        exact = np.stack([0 * x[0], KAPPA * grad * (1 - a * i0(x[0] / ELL))])
        errors.append(_weighted_l2(qb, qb.interpolate(state.flux).value, exact))
        flows.append(abs(fh.boundary_heat_flow(system, state.flux)["top"] / flow - 1))
        centroids = tb.mesh.p[:, tb.mesh.t].mean(axis=1)
        volume = system.energy_weights  # ∫_K 2πr dr dz (C = 1)
        miss = state.temperature - (1 - centroids[1] / L_PIPE)
        t_errors.append(float(np.sqrt((miss**2 * volume).sum() / volume.sum())))
        t_max.append(float(np.abs(miss).max()))
    assert min(_orders(errors)) >= 0.9 and errors[-1] <= 0.03, (
        f"{wall}: flux errors {errors}, orders {_orders(errors)}")
    assert min(_orders(flows)) >= 1.8 and flows[-1] <= 2e-3, (
        f"{wall}: heat flows {flows} vs {flow}, orders {_orders(flows)}")
    assert min(_orders(t_errors)) >= 1.8 and t_errors[-1] <= 1e-4, (
        f"{wall}: centroid T errors {t_errors}, orders {_orders(t_errors)}")
    assert min(_orders(t_max)) >= 0.9 and t_max[-1] <= 1.5e-3, (
        f"{wall}: largest centroid T errors {t_max}, orders {_orders(t_max)}")


@pytest.mark.skipif(direct_solver("auto") != "cholmod", reason="CHOLMOD not installed")
def test_pipe_is_ordered_by_amd_after_rcm_where_that_predicts_less_work(monkeypatch):
    """The (r, z) degree-0 augmented matrix takes AMD after a reverse Cuthill-McKee
    renumbering when AMD's own tie-breaking on the structured pipe mesh is poor
    (femheat.solve.augmented.amd_or_rcm_permutation): a factor with fewer entries
    than AMD's on the same matrix (n = 24: 122k against 151k; 1.3 % fewer at n = 12,
    34 % at the benchmark's n = 180), and the same steady solution as nested
    dissection."""
    import scipy.sparse as sp
    from sksparse.cholmod import analyze

    from femheat.solve import augmented, steady
    from femheat.solve.cholmod_mode import fill_statistics
    from femheat.solve.factorization import _symmetric_permutation

    seen = []
    real = steady.factorize_augmented

    def spy(K0, C, mass, *args, **kwargs):
        seen.append((K0, C, mass))
        return real(K0, C, mass, *args, **kwargs)

    monkeypatch.setattr(steady, "factorize_augmented", spy)
    system, state = _pipe(24, NoSlip())
    K0, C, mass = seen[-1]
    assert mass.ordering == augmented.AMD_OR_RCM
    aug = sp.bmat([[K0, C.T], [C, mass.block()]], format="csc")
    aug.sum_duplicates()
    chosen = augmented.amd_or_rcm_permutation(aug)
    amd = fill_statistics(aug)[1]
    assert sorted(chosen) == list(range(aug.shape[0])) and not np.array_equal(chosen, amd)

    def entries(p):
        A = _symmetric_permutation(aug, p)
        return analyze(A, mode="simplicial", ordering_method="natural").cholesky(A) \
            .L_D()[0].nnz

    assert entries(chosen) <= 0.9 * entries(amd), (entries(chosen), entries(amd))
    monkeypatch.setattr(mass, "ordering", "nesdis")  # the ordering it replaced
    other = fh.solve_steady(system)
    assert np.abs(other.temperature - state.temperature).max() <= 1e-10
    assert np.abs(other.flux - state.flux).max() <= 1e-10 * np.abs(state.flux).max()


def _shell(n: int, inner: float = 0.5, outer: float = 1.0) -> fh.RegionMesh:
    """Meridian half-annulus of a spherical shell: n cells across, 4n around."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(inner, outer, n + 1),
                                     np.linspace(0, np.pi, 4 * n + 1))
    rho, theta = mesh.p
    p = np.stack([rho * np.sin(theta), rho * np.cos(theta)])
    p[0, np.abs(p[0]) < TOL] = 0.0
    h = (outer - inner) / n
    return fh.RegionMesh.from_skfem(skfem.MeshTri(p, mesh.t), boundaries={
        "inner": lambda x: np.hypot(x[0], x[1]) < inner + 0.01 * h,
        "outer": lambda x: np.hypot(x[0], x[1]) > outer - h / 2,
        "axis": lambda x: x[0] < TOL})


def test_curved_no_slip_walls_that_heat_crosses_meet_the_contact_resistance():
    """No-slip walls on the mantles of a cylindrical shell (R₁ = 1 < r < 2, 0 < z <
    1/2, T = 1 / 0, l = 0.2) and on the spheres of the spherical shell above: with the
    curvature term ∮ 2H (q·n)(v·n) dS (hoop n_r/r on every facet, the meridian turning
    at the vertices; vorticity_open.sheared_wall_corners) the vorticity form meets the
    gradient energy's contact resistance, as the penalty form does. Measured heat flow
    errors (cylinder, n = 8 / 16 / 32 across): 3.0e-3 / 7.5e-4 / 1.9e-4; without the
    term it conducted Fourier's 4.53 against 4.344 (+4.3 %). Sphere (closed form:
    Fourier's times 1/(1 + 2ν(1/R₁³ − 1/R₂³)(1/R₁ − 1/R₂)⁻¹) = 0.641026, n = 4 / 8 /
    16): −0.37510 / −0.36307 / −0.36000 against −0.358974 (O(h²)); the penalty form
    −0.39534 / −0.37763 / −0.36863 (O(h))."""
    kappa, ell, r1, r2, height = 1.0, 0.2, 1.0, 2.0, 0.5
    nu = ell**2 / kappa
    exact = 2 * np.pi * height / (np.log(r2 / r1) / kappa + nu * (1 / r1**2 - 1 / r2**2))
    errors = []
    for n in (8, 16, 32):
        mesh = skfem.MeshTri.init_tensor(np.linspace(r1, r2, n + 1),
                                         np.linspace(0, height, n // 4 + 1))
        regions = fh.RegionMesh.from_skfem(mesh, boundaries={
            "inner": lambda x: np.isclose(x[0], r1), "outer": lambda x: np.isclose(x[0], r2),
            "caps": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], height)})
        problem = fh.HeatProblem(
            regions, {"domain": fh.Material(kappa, nonlocal_length=ell)},
            {"inner": fh.Temperature(1.0), "outer": fh.Temperature(0.0),
             "caps": fh.Insulated()}, model="gk", degree=0, beta=2, viscous="vorticity",
            walls={"inner": NoSlip(), "outer": NoSlip()}, coordinates="axisymmetric")
        system = fh.assemble(problem)
        flow = fh.boundary_heat_flow(system, fh.solve_steady(system).flux)["outer"]
        errors.append(abs(flow / exact - 1))
    assert min(_orders(errors)) >= 1.8 and errors[-1] <= 3e-4, (errors, _orders(errors))

    fourier = 4 * np.pi * kappa / (1 / 0.5 - 1 / 1.0)
    ratio = 1 / (1 + 2 * nu * kappa * (1 / 0.5**3 - 1) / (1 / 0.5 - 1)) - 1
    deficits = []
    for n in (4, 8, 16):
        problem = fh.HeatProblem(
            _shell(n), {"domain": fh.Material(kappa, 1.0, 0.1, nonlocal_length=ell)},
            {"inner": fh.Temperature(1.0), "outer": fh.Temperature(0.0)}, model="gk",
            degree=0, viscous="vorticity", coordinates="axisymmetric",
            walls={"inner": NoSlip(), "outer": NoSlip()})
        system = fh.assemble(problem)
        flow = fh.boundary_heat_flow(system, fh.solve_steady(system).flux)["outer"]
        deficits.append(flow / fourier - 1)
    gaps = np.abs(np.array(deficits) - ratio)
    assert min(_orders(gaps)) >= 1.8 and gaps[-1] <= 2e-3, (deficits, ratio)


@pytest.mark.parametrize("viscous", ["vorticity", "penalty"])
def test_spherical_shell_meets_each_boundary_model(viscous):
    """T = 1 / 0 on spheres of radii 1/2 and 1, l = 0.2 (l/R₁ = 0.4). The flux c/ρ² e_ρ
    is curl- and divergence-free, so the Hodge model (vorticity form) conducts
    Fourier's 4πκ/(1/R₁ − 1/R₂) with Fourier's T; the interior penalty's LK model has
    the contact resistance of T − ν∂q_n/∂n = T_D (README: 36 % less heat). Measured
    at n = 4 / 8 / 16: vorticity heat flow −4.2e-2 / −1.1e-2 / −2.9e-3 (O(h²)), T
    1.5e-1 / 7.5e-2 / 3.8e-2 (O(h), P0 against the exact field); penalty −0.407 /
    −0.374 / −0.363."""
    kappa, ell = 1.0, 0.2
    fourier = 4 * np.pi * kappa / (1 / 0.5 - 1 / 1.0)
    flows, t_errors = [], []
    for n in (4, 8, 16):
        problem = fh.HeatProblem(
            _shell(n), {"domain": fh.Material(kappa, 1.0, 0.1, nonlocal_length=ell)},
            {"inner": fh.Temperature(1.0), "outer": fh.Temperature(0.0)}, model="gk",
            degree=0, viscous=viscous, coordinates="axisymmetric")
        system = fh.assemble(problem)
        state = fh.solve_steady(system)
        flows.append(fh.boundary_heat_flow(system, state.flux)["outer"] / fourier - 1)
        tb = system.temperature_basis
        x = tb.global_coordinates().value
        exact = (1 / np.hypot(x[0], x[1]) - 1) / (1 / 0.5 - 1)
        t_errors.append(_weighted_l2(tb, tb.interpolate(state.temperature).value, exact))
    if viscous == "penalty":
        assert -0.40 < flows[-1] < -0.33, f"LK model's heat flow deficit {flows}"
        return
    assert min(_orders(np.abs(flows))) >= 1.8 and abs(flows[-1]) <= 4e-3, (
        f"heat flow errors {flows}, orders {_orders(np.abs(flows))}")
    assert min(_orders(t_errors)) >= 0.9 and t_errors[-1] <= 0.05, (
        f"T errors {t_errors}, orders {_orders(t_errors)}")


def test_axial_couette_flow_from_prescribed_tangential_flux():
    """Between cylinders R₁ = 1/2 and R₂ = 1: the inner wall carries q_z = U
    (TangentialFlux), the outer is no-slip, no temperature drop: q_z = a I₀(r/l) +
    b K₀(r/l) with q_z(R₁) = U, q_z(R₂) = 0, T = 0. Measured flux errors at n = 8 / 16 /
    32: 1.12e-1 / 5.6e-2 / 2.8e-2; T in L² (2πr) relative to U l/κ: 2.1e-4 /
    6.7e-5 / 2.0e-5, at most 1.8e-3 / 1.1e-3 / 6.3e-4. With row-sum vorticity weights
    T kept 0.068 U l/κ in the corner cells where the driven wall meets the no-slip ends
    at every n (L²: 1.6e-2 / 7.3e-3 / 3.6e-3)."""
    r1, r2, ell, U = 0.5, 1.0, 0.2, 2.0
    a, b = np.linalg.solve([[i0(r1 / ell), k0(r1 / ell)], [i0(r2 / ell), k0(r2 / ell)]],
                           [U, 0.0])
    errors, t_errors = [], []
    for n in (8, 16, 32):
        regions = _cylinder(n, r2, 1.0, inner=r1, aspect=2)
        problem = fh.HeatProblem(
            regions, {"domain": fh.Material(1.0, 1.0, 0.1, nonlocal_length=ell)},
            {"inner": fh.Insulated(), "outer": fh.Insulated(),
             "bottom": fh.Temperature(0.0), "top": fh.Temperature(0.0)}, model="gk",
            degree=0, walls={"inner": TangentialFlux((0.0, U)), "outer": NoSlip(),
                             "bottom": NoSlip(), "top": NoSlip()},
            viscous="vorticity", coordinates="axisymmetric")
        system = fh.assemble(problem)
        state = fh.solve_steady(system)
        qb, tb = system.flux_basis, system.temperature_basis
        x = qb.global_coordinates().value
        exact = np.stack([0 * x[0], a * i0(x[0] / ell) + b * k0(x[0] / ell)])
        errors.append(_weighted_l2(qb, qb.interpolate(state.flux).value, exact))
        xt = tb.global_coordinates().value
        dV = 2 * np.pi * xt[0] * tb.dx
        t_errors.append(float(np.sqrt((tb.interpolate(state.temperature).value**2 * dV).sum()
                                      / dV.sum())) / (U * ell))
    assert min(_orders(errors)) >= 0.9 and errors[-1] <= 0.03, (
        f"flux errors {errors}, orders {_orders(errors)}")
    assert min(_orders(t_errors)) >= 1.5 and t_errors[-1] <= 5e-5, (
        f"T errors {t_errors}, orders {_orders(t_errors)}")


# ------------------------------------------------------------------ transient
def test_toroidal_vortex_decays_at_the_gk_rate_with_uniform_temperature():
    """Stokes stream function ψ = r J₁(αr) sin(πz), α = j₁,₁ (unit cylinder,
    insulated, free slip): q = (1/r) curl ψ = (π J₁(αr) cos πz, −α J₀(αr) sin πz) is
    divergence-free, ω = ν rot q vanishes on every wall and ∇²q = −K²q, K² = α² + π²,
    so q ∝ exp(−(1 + l²K²)t/τ) and T stays uniform. The initial flux is S ψ_h (ψ_h the
    P1 interpolant), discretely divergence-free, so T stays uniform to round-off.
    Crank–Nicolson, 100 steps to one e-fold; measured amplitude errors 1.0e-2 /
    2.5e-3 at n = 12 / 24, T uniform to the last bit (with the pointwise grad-div
    form instead of the cell divergences, T moves)."""
    alpha = jn_zeros(1, 1)[0]
    tau, ell2 = 0.5, 0.02
    rate = (1 + ell2 * (alpha**2 + np.pi**2)) / tau
    t_end = 1.0 / rate
    errors = []
    for n in (12, 24):
        material = fh.Material(2.0, 3.0, tau, nonlocal_length=math.sqrt(ell2))
        problem = fh.HeatProblem(
            _cylinder(n), {"domain": material},
            {b: fh.Insulated() for b in ("outer", "bottom", "top")}, model="gk",
            degree=0, beta=2, viscous="vorticity", coordinates="axisymmetric")
        system = fh.assemble(problem)
        qb = system.flux_basis
        C, _ = system.rotation
        mesh = qb.mesh
        active = ~((mesh.p[0] < TOL) | (mesh.p[0] > 1 - TOL) | (mesh.p[1] < TOL)
                   | (mesh.p[1] > 1 - TOL))
        assert C.shape[0] == int(active.sum())
        r, z = mesh.p[:, active]
        psi = r * j1(alpha * r) * np.sin(np.pi * z)
        M = axi.flux_mass.assemble(qb, kinv=1.0).tocsc()
        flux = scipy.sparse.linalg.spsolve(M, C.T @ psi)
        x = qb.global_coordinates().value
        qe = np.stack([np.pi * j1(alpha * x[0]) * np.cos(np.pi * x[1]),
                       -alpha * j0(alpha * x[0]) * np.sin(np.pi * x[1])])
        dV = 2 * np.pi * x[0] * qb.dx
        norm = float((np.sum(qe * qe, axis=0) * dV).sum())
        T0 = fh.initial_state(system, temperature=300.0).temperature
        state = fh.State(0.0, T0, flux)
        for _, state in fh.theta_steps(system, t_end / 100, t_end, 0.5, state):
            pass
        q = qb.interpolate(state.flux).value
        amp = float((np.sum(q * qe, axis=0) * dV).sum()) / norm
        errors.append(abs(amp / math.exp(-rate * state.time) - 1))
        assert np.ptp(state.temperature) <= 1e-10 * 300, "temperature not uniform"
    assert errors[-1] <= 1e-2 and errors[0] / errors[1] >= 3, f"amplitude errors {errors}"


def test_transient_energy_balance_in_rz():
    """A heated top, no-slip mantle, Crank–Nicolson: the stored energy equals the heat
    that crossed the boundaries to round-off."""
    from femheat.analysis.postprocess import EnergyBalance

    problem = fh.HeatProblem(
        _cylinder(6), {"domain": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.3)},
        {"outer": fh.Insulated(), "top": fh.HeatFlux(lambda x, t: -np.exp(-4 * x[0]**2)),
         "bottom": fh.Temperature(0.0)},
        model="gk", degree=0, walls={"outer": NoSlip()}, viscous="vorticity",
        coordinates="axisymmetric")
    system = fh.assemble(problem)
    audit = EnergyBalance(system, 0.5)
    for _, state in fh.theta_steps(system, 0.02, 0.4, 0.5, fh.initial_state(system, 0.0)):
        audit.update(state)
    assert audit.max_relative_error < 1e-10


def test_layered_rod_with_kapitza_interface_and_memory_model_in_frequency():
    """An axially layered rod (κ = 2 / 1, l = 0.1 / 0.05, R_K = 0.3 between), T = 1 / 0
    on the ends. With a stress-free mantle the flux is uniform and axial, curl- and
    divergence-free, so the Hodge model conducts the series value πR²ΔT/(L₁/κ₁ + R_K +
    L₂/κ₂). On 4 × 8 squares: 6.50e-5 above it, the Fourier model's 6.53e-5 (the
    (r, z) mixed method's own consistency error: div(r v) is not constant on a cell;
    the interior penalty: 9.2e-4). With a no-slip mantle the memory model with one
    mode and the same l equals GK in the frequency domain to round-off."""
    from femheat.physics.memory import MemoryMaterial
    from femheat.solve.frequency import FrequencySolver

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 2, 9))
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[1] < 1, "b": lambda x: x[1] > 1},
        boundaries={"axis": lambda x: x[0] < TOL, "outer": lambda x: x[0] > 1 - TOL,
                    "bottom": lambda x: x[1] < TOL, "top": lambda x: x[1] > 2 - TOL},
        interfaces={"ab": lambda x: np.abs(x[1] - 1) < TOL})

    def system(model, mats, walls):
        problem = fh.HeatProblem(
            regions, mats, {"outer": fh.Insulated(), "bottom": fh.Temperature(1.0),
                            "top": fh.Temperature(0.0)},
            interfaces={"ab": fh.KapitzaResistance(0.3)}, model=model, degree=0,
            walls=walls, viscous="vorticity", coordinates="axisymmetric")
        return fh.assemble(problem)

    materials = {"a": fh.Material(2.0, 1.0, 0.3, nonlocal_length=0.1),
                 "b": fh.Material(1.0, 2.0, 0.3, nonlocal_length=0.05)}
    stress_free = system("gk", materials, {})
    flow = fh.boundary_heat_flow(stress_free, fh.solve_steady(stress_free).flux)["top"]
    series = np.pi / (1 / 2.0 + 0.3 + 1 / 1.0)
    assert abs(flow / series - 1) <= 1e-4, (flow, series)
    walls = {"outer": NoSlip(), "bottom": NoSlip(), "top": NoSlip()}
    gk = system("gk", materials, walls)
    mem = system("memory", {
        "a": MemoryMaterial.from_modes([(2.0, 0.3)], 1.0, nonlocal_length=0.1),
        "b": MemoryMaterial.from_modes([(1.0, 0.3)], 2.0, nonlocal_length=0.05)}, walls)
    no_slip = fh.boundary_heat_flow(gk, fh.solve_steady(gk).flux)["top"]
    assert no_slip < 0.97 * series, (no_slip, series)  # the wall holds the flux back
    for omega in (0.5, 7.0):
        x, y = FrequencySolver(gk).solve(omega), FrequencySolver(mem).solve(omega)
        assert np.abs(x.temperature - y.temperature).max() < 1e-11 * np.abs(x.temperature).max()
        assert np.abs(x.flux - y.flux).max() < 1e-11 * np.abs(x.flux).max()


def test_fdtr_sample_tends_to_mcv_at_second_order_in_l():
    """FDTR on an 80 nm GK film over a substrate behind a Kapitza interface (the
    stack of tests/test_axisymmetric_gk.py, coarse graded mesh, f = 0.1 and 20 MHz),
    the vorticity form at degree 0 through ``fdtr_problem(..., viscous=...)``. On the
    same RT0 × P0 mesh the MCV model is the l = 0 limit; the probe response approaches
    it at O(l²): amplitude 1.3e-4 / 1.3e-6 and phase 2.1e-2° / 2.1e-4° at l = 10 / 1 nm.
    (The interior-penalty form, BDM1 × P0, differs from MCV's RT0 by its
    discretization: 0.9-1.0 % and 0.17° at both l.)"""
    import warnings

    from femheat.analysis import thermoreflectance as tr
    from tests.test_thermoreflectance import FILM, RK, SUBSTRATE, W0, W1, _sample

    f = np.array([1e5, 2e7])
    depth = 3.2 * tr.penetration_depth(*SUBSTRATE, f[0])
    regions = _sample(depth + W0, depth, [FILM[0]], ["film", "substrate"], fine=False)

    def response(model, ell):
        mats = {"film": fh.Material(FILM[1], FILM[2], 1e-9, nonlocal_length=ell),
                "substrate": fh.Material(*SUBSTRATE, 1e-15, nonlocal_length=0.0)}
        options = {"viscous": "vorticity"} if model == "gk" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # l = 0 in the substrate
            problem = tr.fdtr_problem(regions, mats, {"interface_1": fh.KapitzaResistance(RK)},
                                      pump_radius=W0, degree=0, model=model, **options)
        system = fh.assemble(problem)
        result = tr.fdtr_sweep(system, f, W1, pump_radius=W0)
        return result.amplitude, result.phase

    amp0, phase0 = response("mcv", 0.0)
    gaps = []
    for ell in (1e-8, 1e-9):
        amp, phase = response("gk", ell)
        gaps.append((np.abs(amp / amp0 - 1).max(), np.abs(phase - phase0).max()))
    (a10, p10), (a1, p1) = gaps
    assert 30 < a10 / a1 < 300 and 30 < p10 / p1 < 300, gaps  # O(l²): 100x per decade
    assert a10 < 1e-3 and p10 < 0.05, gaps
