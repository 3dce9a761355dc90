r"""The 3D vorticity form where heat crosses a boundary (femheat.assembly.vorticity_open3d).

On boundaries with a Temperature, Convection or nonzero HeatFlux condition and no wall
condition the 3D vorticity form keeps ω free and adds the boundary integral by which
ν|∇q|² and ν(|∇×q|² + |∇·q|²) differ, with its edge terms: it then models DESIGN's GK
(the interior penalty's gradient energy) there, T − ν∂q_n/∂n − βν∇·q = T_D and
ν∂q_τ/∂n = 0, as in 2D (tests/test_gk_vorticity_open.py). Until 2026-12-06 it held
ω = 0 there, another model (T − (1+β)ν∇·q = T_D), and "auto" kept the penalty form.

Measured on a manufactured flow that satisfies neither condition homogeneously (both
given as data, with a body force in the flux equation; unit cube, l = 0.3, κ = 1,
relative L2 errors): see each test's docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import skfem
import sympy
from skfem import BilinearForm, LinearForm
from skfem.helpers import dot, mul

import femheat as fh
from femheat.physics.conditions import FreeSlip, NoSlip, TangentialFlux
from tests.test_gk_vorticity_graded import steady_errors
from tests.test_gk_vorticity_3d import PL_ELL, PL_H, PL_KAPPA, PL_L, PL_W, _flux_error, \
    _poiseuille


def _orders(errors):
    return [round(math.log2(a / b), 2) for a, b in zip(errors, errors[1:])]


def _manufactured(ell: float, beta: int, sheared: bool):
    """Callables (q, T, f, Q, g_N) of q = (sin(1.3x + 0.7y − 0.4z) + xy,
    cos(0.9x − 1.4y + 0.3z) + x²/2, sin(0.5x + 0.8y + 1.1z) + yz) (``sheared``: q_y and
    q_z times x, so that q·t = 0 on x = 0), T = e^{x/2} cos 1.1y + xz: f = κ⁻¹q −
    ν(∇²q + β∇∇·q) + ∇T (κ = 1), Q = ∇·q, and g_N = ν(∇q)n + βν(∇·q)n − Tn."""
    x, y, z = X = sympy.symbols("x y z")
    nu = ell**2
    s = x if sheared else 1
    q = sympy.Matrix([sympy.sin(1.3 * x + 0.7 * y - 0.4 * z) + x * y,
                      (sympy.cos(0.9 * x - 1.4 * y + 0.3 * z) + x**2 / 2) * s,
                      (sympy.sin(0.5 * x + 0.8 * y + 1.1 * z) + y * z) * s])
    T = sympy.exp(x / 2) * sympy.cos(1.1 * y) + x * z
    return flow_callables(X, q, T, 1.0, nu, beta)


def flow_callables(X, q, T, kappa: float, nu: float, beta: int):
    """Callables (q, T, f, Q, g_N) of the sympy flow ``q``, ``T`` in the variables ``X``
    with constant κ and ν: f = κ⁻¹q − ν(∇²q + β∇∇·q) + ∇T, Q = ∇·q and the traction
    g_N(x, n) = ν(∇q)n + βν(∇·q)n − Tn."""
    dim = len(X)
    div = sum(sympy.diff(q[i], X[i]) for i in range(dim))
    lap = sympy.Matrix([sum(sympy.diff(c, v, 2) for v in X) for c in q])
    f = q / kappa - nu * (lap + beta * sympy.Matrix([sympy.diff(div, v) for v in X])) \
        + sympy.Matrix([sympy.diff(T, v) for v in X])

    def fn(e):
        g = sympy.lambdify(X, e, "numpy")
        return lambda P: np.broadcast_to(np.asarray(g(*P), dtype=float), P.shape[1:])

    q_, f_ = [fn(c) for c in q], [fn(c) for c in f]
    grad_q = [[fn(sympy.diff(q[i], v)) for v in X] for i in range(dim)]
    T_, Q_ = fn(T), fn(div)

    def traction(P, n):
        G = np.array([[g(P) for g in row] for row in grad_q])
        return nu * mul(G, n) + (beta * nu * Q_(P) - T_(P)) * n

    return (lambda P: np.array([c(P) for c in q_]), T_,
            lambda P: np.array([c(P) for c in f_]), Q_, traction)


def manufactured_errors(n: int, viscous: str, degree: int, beta: int = 0, ell: float = 0.3,
                        sheared: bool = False, tangential: bool = False
                        ) -> tuple[float, float]:
    """Relative L2 errors (q, T) of femheat's steady solve with the manufactured loads:
    T = 0 given on every face (the traction's −Tn carries T); ``sheared``: x = 0 a
    no-slip wall that heat crosses (its load the normal traction only); ``tangential``:
    x = 0 a tangential-flux wall that heat crosses, q_τ given from the flow."""
    q_ex, T_ex, force, source, traction = _manufactured(ell, beta, sheared)
    walls = ({"left": NoSlip()} if sheared else
             {"left": TangentialFlux(lambda x, t: q_ex(x))} if tangential else {})
    sheared = sheared or tangential
    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, n + 1),) * 3)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: np.isclose(x[0], 0), "rest": lambda x: ~np.isclose(x[0], 0)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=ell)},
        {"left": fh.Temperature(0.0), "rest": fh.Temperature(0.0)},
        walls=walls, model="gk", degree=degree, beta=beta,
        viscous=viscous, source=lambda x, t: source(x))
    system = fh.assemble(problem)
    qb = skfem.CellBasis(mesh, system.flux_basis.elem, intorder=6)
    walled = regions.boundary("left") if sheared else np.zeros(0, dtype=np.int64)
    fb = skfem.FacetBasis(mesh, qb.elem, intorder=6,
                          facets=np.setdiff1d(mesh.boundary_facets(), walled))
    load = (LinearForm(lambda v, w: dot(force(w.x), v)).assemble(qb)
            + LinearForm(lambda v, w: dot(traction(w.x, w.n), v)).assemble(fb))
    if sheared:
        fw = skfem.FacetBasis(mesh, qb.elem, facets=walled, intorder=6)
        load += LinearForm(lambda v, w: dot(traction(w.x, w.n), w.n)
                           * dot(v, w.n)).assemble(fw)
    tb = skfem.CellBasis(mesh, system.temperature_basis.elem, intorder=6)
    return steady_errors(system, load, qb, tb, q_ex, T_ex)


@pytest.mark.parametrize("degree, beta", [(1, 0), (0, 2)])
def test_manufactured_flow_with_both_natural_conditions_converges(degree, beta):
    """T = 0 and the traction given on every face of the cube (all open), n = 2 / 4:
    degree 1 (β = 0): q 7.05e-4 / 9.35e-5 (order 2.91), T 7.80e-3 / 1.95e-3 (2.00);
    the penalty form q 7.94e-4 / 1.11e-4, T 7.83e-3 / 1.96e-3 (at n = 6: 2.80e-5 /
    8.65e-4 against 3.39e-5 / 8.70e-4). Degree 0 (β = 2), n = 2 / 4: q 1.28e-2 /
    3.34e-3 (1.94), T 9.37e-2 / 4.72e-2 (0.99); the penalty form q 1.52e-2 / 4.44e-3,
    T 9.37e-2 / 4.73e-2."""
    errors = [manufactured_errors(n, "vorticity", degree, beta) for n in (2, 4)]
    eq, eT = [e[0] for e in errors], [e[1] for e in errors]
    want_q, want_T = (2.75, 1.9) if degree == 1 else (1.8, 0.9)
    assert _orders(eq)[0] >= want_q and _orders(eT)[0] >= want_T, (
        f"q errors {eq} orders {_orders(eq)}; T errors {eT} orders {_orders(eT)}")
    penalty = manufactured_errors(4, "penalty", degree, beta)
    assert eq[-1] <= penalty[0] and eT[-1] <= 1.01 * penalty[1], (errors[-1], penalty)


def test_open_faces_meeting_a_no_slip_wall_that_heat_crosses():
    """x = 0 a no-slip wall with T given (q·t = 0, q·n free), the other faces open: the
    rim edges there take W = (q·n_w)(v·b) + (v·n_w)(q·b). Degree 1, n = 2 / 4: q
    1.47e-3 / 1.86e-4 (order 2.98), T 7.80e-3 / 1.95e-3 (2.00); the penalty form q
    1.98e-3 / 2.71e-4, T 7.92e-3 / 1.98e-3."""
    errors = [manufactured_errors(n, "vorticity", 1, sheared=True) for n in (2, 4)]
    eq, eT = [e[0] for e in errors], [e[1] for e in errors]
    assert _orders(eq)[0] >= 2.75 and _orders(eT)[0] >= 1.9, (
        f"q errors {eq} orders {_orders(eq)}; T errors {eT} orders {_orders(eT)}")
    penalty = manufactured_errors(4, "penalty", 1, sheared=True)
    assert eq[-1] <= 1.1 * penalty[0] and eT[-1] <= 1.01 * penalty[1], (errors[-1], penalty)


def _viscous_block_lowest(n: int, degree: int, case: str, distort: float = 0.0) -> float:
    """Lowest eigenvalue of the flux block minus the Darcy mass, against that mass
    (l = 0.2, κ = 1, β = 0): T given at x = 0, 1; the other faces open (``open``),
    insulated and stress-free (``rim``) or no-slip walls that heat crosses
    (``sheared``)."""
    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, n + 1),) * 3)
    if distort:
        rng = np.random.default_rng(0)
        inner = ~np.isin(np.arange(mesh.p.shape[1]), mesh.boundary_nodes())
        mesh = skfem.MeshTet(mesh.p + inner * distort / n * rng.uniform(-1, 1, mesh.p.shape),
                             mesh.t)

    def ends(x):
        return np.isclose(x[0], 0) | np.isclose(x[0], 1)

    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"ends": ends,
                                                         "sides": lambda x: ~ends(x)})
    sides = fh.Insulated() if case == "rim" else fh.Temperature(0.0)
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.2)},
        {"ends": fh.Temperature(0.0), "sides": sides},
        walls={"sides": NoSlip()} if case == "sheared" else {}, model="gk",
        degree=degree, beta=0, viscous="vorticity")
    system = fh.assemble(problem)
    C, mass = system.rotation
    free = system.free_dofs
    darcy = BilinearForm(lambda u, v, w: dot(u, v)).assemble(
        system.flux_basis).toarray()[np.ix_(free, free)]
    full = (system.resistance_base.toarray()
            + C.T.toarray() @ np.linalg.solve(mass.matrix.toarray(), C.toarray()))
    return float(scipy.linalg.eigvalsh(full[np.ix_(free, free)] - darcy, darcy)[0])


@pytest.mark.parametrize("case", ["open", "rim", "sheared"])
def test_viscous_block_is_positive_semidefinite(case):
    """With the face integrals, the edge terms between open faces and the rim terms the
    flux block minus the Darcy mass has no negative eigenvalue against that mass beyond
    round-off (measured |λ_min| ≤ 3e-13 at degree 0, n = 2 / 3, also with interior
    vertices moved by up to h/4, and degree 1, n = 2). The face integrals alone, all
    faces open: −0.19 / −0.34 / −0.53 at n = 2 / 3 / 4, growing like 1/h."""
    for degree, n, distort in ((0, 3, 0.0), (0, 2, 0.25), (1, 2, 0.0)):
        lowest = _viscous_block_lowest(n, degree, case, distort)
        assert lowest >= -1e-9, (degree, n, distort, lowest)


def _open_plates(n: int, viscous: str, degree: int):
    """Flow between no-slip plates z = 0, W with T = 1, 0 on the open ends x = 0, L (no
    wall condition there) and stress-free sides y = 0, H: the developed flow passes
    the ends undisturbed (its ∂q/∂x = 0 meets the natural condition). Returns the
    relative L2 flux error and the heat flow's relative error."""
    L, H, W = PL_L, PL_H, PL_W
    mesh = skfem.MeshTet.init_tensor(np.linspace(0, L, n + 1),
                                     np.linspace(0, H, max(n // 4, 1) + 1),
                                     np.linspace(0, W, n + 1))
    tol = 1e-9

    def ends(x):
        return (x[0] < tol) | (x[0] > L - tol)

    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: x[0] < tol, "outlet": lambda x: x[0] > L - tol,
        "plates": lambda x: ((x[2] < tol) | (x[2] > W - tol)) & ~ends(x),
        "sides": lambda x: ((x[1] < tol) | (x[1] > H - tol)) & ~ends(x)
        & (x[2] > tol) & (x[2] < W - tol)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(PL_KAPPA, nonlocal_length=PL_ELL)},
        {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0),
         "plates": fh.Insulated(), "sides": fh.Insulated()},
        walls={"plates": NoSlip(), "sides": FreeSlip()}, model="gk", degree=degree,
        beta=2, viscous=viscous)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    qb = system.flux_basis
    exact, flow = _poiseuille(0.0)
    q = qb.interpolate(state.flux).value
    error = _flux_error(qb, q, exact(qb.global_coordinates().value[2]))
    return error, abs(fh.boundary_heat_flow(system, state.flux)["outlet"] / flow - 1)


@pytest.mark.parametrize("degree", [0, 1])
def test_developed_flow_passes_the_open_ends_undisturbed(degree):
    """The open ends meet no-slip plates and free-slip sides along rim edges (W =
    −(q·b)(v·n_w) − (v·b)(q·n_w)). Flux / heat flow errors at n = 4 / 8: degree 0
    2.85e-2 / 7.63e-3 and 3.9e-4 / 2.9e-5 (the penalty form 4.64e-2 / 1.45e-2 and
    2.4e-2 / 7.4e-3); degree 1 1.94e-3 / 2.61e-4 and 1.8e-6 / 2.8e-7 (the penalty form
    3.91e-3 / 5.67e-4 and 4.3e-4 / 3.4e-5)."""
    errors = {v: [_open_plates(n, v, degree) for n in (4, 8)] for v in ("vorticity",
                                                                       "penalty")}
    q, flow = ([e[i] for e in errors["vorticity"]] for i in (0, 1))
    want_q, want_flow = (1.8, 5e-5) if degree == 0 else (2.7, 5e-7)
    assert _orders(q)[0] >= want_q and flow[-1] <= want_flow, errors
    assert q[-1] <= 0.6 * errors["penalty"][-1][0], errors


# ------------------------------------------ a curved no-slip wall that heat crosses
BALL_R, BALL_SIGMA, BALL_ELL = 3.0, 1.0, 0.2


def _ball_source(x):
    return (np.exp(-(x**2).sum(0) / (2 * BALL_SIGMA**2))
            / ((2 * math.pi) ** 1.5 * BALL_SIGMA**3))


def _ball_fourier(r):
    """The Fourier potential of the unit Gaussian source (κ = 1), erf(r/√2σ)/(4πr)."""
    from scipy.special import erf

    r = np.maximum(r, 1e-12)
    return erf(r / (math.sqrt(2) * BALL_SIGMA)) / (4 * math.pi * r)


def _ball_problem(refine: int, degree: int, viscous: str) -> fh.HeatProblem:
    """The ball r < 3 with T and a no-slip wall on its sphere (q·τ = 0 holds for the
    radial flux): the radial GK solution is T = T_F + l²Q/κ (∇×q = 0, ∇²q = ∇Q), and
    the gradient energy's T − ν∂q_r/∂r = T_D with ∂q_r/∂r = Q − 2q_r/r gives
    T_D = T_F(R) + 2νq_r(R)/R (β = 0)."""
    from scipy.special import erf

    mesh = skfem.MeshTet.init_ball(refine).scaled(BALL_R)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "sphere": lambda x: np.ones(x.shape[1], bool)})
    u = BALL_R / BALL_SIGMA
    inside = erf(u / math.sqrt(2)) - math.sqrt(2 / math.pi) * u * math.exp(-u * u / 2)
    q_r = inside / (4 * math.pi * BALL_R**2)
    t_d = float(_ball_fourier(BALL_R)) + 2 * BALL_ELL**2 * q_r / BALL_R
    return fh.HeatProblem(regions, {"domain": fh.Material(1.0, nonlocal_length=BALL_ELL)},
                          {"sphere": fh.Temperature(t_d)},
                          source=lambda x, t: _ball_source(x), model="gk", degree=degree,
                          beta=0, walls={"sphere": NoSlip()}, viscous=viscous)


def _ball_error(refine: int, degree: int = 1) -> float:
    """The mean T error [K] over the cells in r < 2 (signed)."""
    system = fh.assemble(_ball_problem(refine, degree, "vorticity"))
    tb = system.temperature_basis
    x, dx = tb.global_coordinates().value, tb.dx
    T = tb.interpolate(fh.solve_steady(system).temperature).value
    exact = _ball_fourier(np.sqrt((x**2).sum(0))) + BALL_ELL**2 * _ball_source(x)
    cells = np.sqrt((tb.mesh.p[:, tb.mesh.t].mean(axis=1) ** 2).sum(0)) < 2 * BALL_SIGMA
    return float(((T - exact) * dx)[cells].sum() / dx[cells].sum())


@pytest.mark.parametrize("degree", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_curved_no_slip_wall_that_heat_crosses(degree):
    """On a sphere with T and no-slip given, the boundary integral leaves the curvature
    term ∮ 2H (q·n)(v·n) dS, on the faceted sphere the edge terms of
    sheared_wall_edges. Mean T error in r < 2 (init_ball 1 / 2 / 3; T ≈ 0.066 K at
    the centre), O(h²) from one side: degree 0 −4.98e-3 / −1.52e-3 / −4.08e-4 K,
    degree 1 −3.46e-3 / −8.09e-4 / −1.87e-4 (its finest mesh takes ~3 min: slow).
    Without the edge terms −4.71e-3 / −1.29e-3 / −1.78e-4 and −3.30e-3 / −6.26e-4 /
    +2.20e-5: on the finest mesh 2.3e-4 K above, which is the other condition's offset
    2νq_r/R = 2.3e-4 K."""
    errors = [_ball_error(refine, degree) for refine in (1, 2, 3)]
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    assert all(e < 0 for e in errors) and all(3.0 <= r <= 5.0 for r in ratios), (
        errors, ratios)
    assert abs(errors[-1]) < (4.5e-4 if degree == 0 else 2.2e-4), errors


@pytest.mark.parametrize("degree", [0, 1])
def test_open_faces_meeting_a_tangential_flux_wall_that_heat_crosses(monkeypatch, degree):
    """x = 0 a tangential-flux wall (q_τ = g from the flow) with T given, the other faces
    open: held like a no-slip wall, with the data's part of the boundary integral,
    ν∫(∇_Γ·g) v·n, as a flux load (its face and edge integrals) and the rim terms where
    the wall meets the open faces corrected by ν∫(g·b)(v·n_w)
    (femheat.assembly.vorticity_crossed_walls.tangential_data_load). n = 2 / 4: degree 0 q
    1.26e-2 / 3.29e-3 (order 1.93), T 9.37e-2 / 4.72e-2, the penalty form q 4.36e-3;
    degree 1 q 6.98e-4 / 9.26e-5 (2.91), T 7.80e-3 / 1.95e-3 (2.00), the penalty form q
    1.13e-4, T 1.96e-3. Without the load q stays at 0.14."""
    import femheat.assembly.vorticity as vorticity

    errors = [manufactured_errors(n, "vorticity", degree, tangential=True) for n in (2, 4)]
    eq, eT = [e[0] for e in errors], [e[1] for e in errors]
    want = (2.85, 1.95) if degree else (1.85, 0.95)
    assert _orders(eq)[0] >= want[0] and _orders(eT)[0] >= want[1], (eq, eT)
    penalty = manufactured_errors(4, "penalty", degree, tangential=True)
    assert eq[-1] <= penalty[0] and eT[-1] <= 1.01 * penalty[1], (errors[-1], penalty)
    if degree == 1:
        monkeypatch.setattr(vorticity, "tangential_data_load", lambda *args: None)
        assert manufactured_errors(2, "vorticity", 1, tangential=True)[0] > 0.05
