r"""The 2D vorticity form where heat crosses a boundary (femheat.assembly.vorticity_open).

In 2D the vorticity form keeps ω free on boundaries with a Temperature,
Convection or nonzero HeatFlux condition and no wall condition, and adds the boundary
integral by which ν|∇q|² and ν(|rot q|² + |∇·q|²) differ. It then models DESIGN's GK
(the interior penalty's gradient energy) there: T − ν∂q_n/∂n − βν∇·q = T_D and
ν∂q_t/∂n = 0, instead of its former T − (1+β)ν∇·q = T_D and ω = 0.

Measured at degree 1 (unit square, l = 0.3, κ = 1, relative L2 errors at n = 4 / 8 /
16 / 32; degree 0 in its own test) on a
manufactured flow that satisfies neither condition homogeneously (both are given as
data, with a body force in the flux equation):

* vorticity form: q 1.25e-4 / 1.56e-5 / 1.95e-6 / 2.43e-7 (order 3.00), T 1.51e-3 /
  3.78e-4 / 9.45e-5 / 2.36e-5 (order 2.00); interior penalty q 1.39e-4 … 2.83e-7, T
  1.52e-3 … 2.37e-5. On interior vertices moved by up to 0.25 h: q order 3.0, T 1.9.
* Without the boundary integral and with ω = 0 (the former model) the errors stay at
  0.5 (q) and 0.04 (T): it is a different problem.
* Quasi-static rates with T given on the whole boundary (l = L, β = 0, n = 8): slowest
  0.909 α/l² (the penalty form: 0.377), fastest 1.8558 α/l², a boundary-layer mode of
  both forms (penalty 1.8560): the same continuous problem.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg
import skfem
import sympy
from skfem import BilinearForm, LinearForm
from skfem.helpers import dot, mul

import femheat as fh
from femheat.physics.conditions import NoSlip, TangentialFlux


def _square(n: int, distort: float = 0.0) -> fh.RegionMesh:
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    if distort:
        rng = np.random.default_rng(0)
        inner = ~np.isin(np.arange(mesh.p.shape[1]), mesh.boundary_nodes())
        mesh = skfem.MeshTri(mesh.p + inner * distort / n * rng.uniform(-1, 1, mesh.p.shape),
                             mesh.t)
    return fh.RegionMesh.from_skfem(mesh, boundaries={"edge": lambda x: np.ones(x.shape[1], bool)})


def _manufactured(ell: float, beta: int, kappa: float = 1.0, sheared: bool = False):
    """Callables (q, T, f, Q, g_N) of the flow q = (sin(1.3x + 0.7y) + xy,
    cos(0.9x − 1.4y) + x²/2) (``sheared``: q_y times x, so that q·t = 0 on x = 0),
    T = e^{x/2} cos 1.1y + xy: f = κ⁻¹q − ν(∇²q + β∇∇·q) + ∇T the body force of the flux
    equation, Q = ∇·q, and g_N = ν(∇q)n + βν(∇·q)n − Tn the boundary traction (both
    natural conditions' data)."""
    x, y = sympy.symbols("x y")
    nu = ell**2 / kappa
    q = sympy.Matrix([sympy.sin(1.3 * x + 0.7 * y) + x * y,
                      (sympy.cos(0.9 * x - 1.4 * y) + x**2 / 2) * (x if sheared else 1)])
    T = sympy.exp(x / 2) * sympy.cos(1.1 * y) + x * y
    div = sympy.diff(q[0], x) + sympy.diff(q[1], y)
    lap = sympy.Matrix([sympy.diff(c, x, 2) + sympy.diff(c, y, 2) for c in q])
    f = q / kappa - nu * (lap + beta * sympy.Matrix([sympy.diff(div, x), sympy.diff(div, y)])) \
        + sympy.Matrix([sympy.diff(T, x), sympy.diff(T, y)])

    def fn(e):
        g = sympy.lambdify((x, y), e, "numpy")
        return lambda X: np.broadcast_to(np.asarray(g(X[0], X[1]), dtype=float), X.shape[1:])

    q_, f_ = [fn(c) for c in q], [fn(c) for c in f]
    grad_q = [[fn(sympy.diff(q[i], v)) for v in (x, y)] for i in range(2)]
    T_, Q_ = fn(T), fn(div)

    def traction(X, n):
        G = np.array([[g(X) for g in row] for row in grad_q])
        return nu * mul(G, n) + (beta * nu * Q_(X) - T_(X)) * n

    return (lambda X: np.array([c(X) for c in q_]), T_,
            lambda X: np.array([c(X) for c in f_]), Q_, traction)


def _manufactured_errors(n: int, viscous: str, beta: int = 0, ell: float = 0.3,
                         distort: float = 0.0, sheared: bool = False,
                         degree: int = 1) -> tuple[float, float]:
    """Relative L2 errors (q, T) of a steady solve of femheat's assembled operators
    with the manufactured loads (module doc); ``sheared``: x = 0 is a no-slip wall that
    heat crosses (its load the normal traction only), the other sides open."""
    q_ex, T_ex, force, source, traction = _manufactured(ell, beta, sheared=sheared)
    mesh = _square(n, distort).mesh
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: np.isclose(x[0], 0), "rest": lambda x: ~np.isclose(x[0], 0)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=ell)},
        {"left": fh.Temperature(0.0), "rest": fh.Temperature(0.0)},
        walls={"left": NoSlip()} if sheared else {}, model="gk", degree=degree, beta=beta,
        viscous=viscous)
    system = fh.assemble(problem)
    qb = skfem.CellBasis(mesh, system.flux_basis.elem, intorder=8)
    tb = skfem.CellBasis(mesh, system.temperature_basis.elem, intorder=8)
    walled = regions.boundary("left") if sheared else np.zeros(0, dtype=np.int64)
    fb = skfem.FacetBasis(mesh, system.flux_basis.elem, intorder=8,
                          facets=np.setdiff1d(mesh.boundary_facets(), walled))
    load = (LinearForm(lambda v, w: dot(force(w.x), v)).assemble(qb)
            + LinearForm(lambda v, w: dot(traction(w.x, w.n), v)).assemble(fb))
    if sheared:
        fw = skfem.FacetBasis(mesh, system.flux_basis.elem, facets=walled, intorder=8)
        load += LinearForm(lambda v, w: dot(traction(w.x, w.n), w.n)
                           * dot(v, w.n)).assemble(fw)
    heat = LinearForm(lambda s, w: source(w.x) * s).assemble(tb)
    B = system.divergence
    if system.rotation is not None:  # ω kept as an unknown (consistent P3 mass)
        C, mass = system.rotation
        K = sp.bmat([[system.resistance_base, C.T, -B.T], [C, -mass.matrix, None],
                     [-B, None, None]]).tocsc()
        n_omega = C.shape[0]
    else:
        K = sp.bmat([[system.resistance, -B.T], [-B, None]]).tocsc()
        n_omega = 0
    sol = scipy.sparse.linalg.spsolve(K, np.concatenate([load, np.zeros(n_omega), -heat]))
    q, T = sol[:qb.N], sol[qb.N + n_omega:]
    X = qb.global_coordinates().value
    qh, Th = qb.interpolate(q).value, tb.interpolate(T).value
    qe, Te = q_ex(X), T_ex(X)
    eq = np.sqrt((((qh - qe) ** 2).sum(0) * qb.dx).sum() / ((qe**2).sum(0) * qb.dx).sum())
    eT = np.sqrt((((Th - Te) ** 2) * qb.dx).sum() / ((Te**2) * qb.dx).sum())
    return float(eq), float(eT)


def test_degree_zero_meets_the_manufactured_flow():
    """BDM1 × P0 with a consistent P2 vorticity: q at O(h²), T at O(h), as the penalty
    form (n = 4 / 8 / 16: q 4.0e-3 / 1.0e-3 / 2.5e-4, T 4.5e-2 / 2.3e-2 / 1.1e-2; the
    penalty form q 4.3e-3 / 1.1e-3 / 2.7e-4, T the same to 3 digits)."""
    errors = [_manufactured_errors(n, "vorticity", degree=0) for n in (4, 8, 16)]
    eq, eT = [e[0] for e in errors], [e[1] for e in errors]
    penalty = _manufactured_errors(16, "penalty", degree=0)
    assert min(_orders(eq)) >= 1.85 and min(_orders(eT)) >= 0.95, (eq, eT)
    assert eq[-1] <= penalty[0] and eT[-1] <= 1.01 * penalty[1], (errors[-1], penalty)


def test_open_boundary_meeting_a_no_slip_wall_that_heat_crosses():
    """x = 0 a no-slip wall with T given (q·t = 0, q·n free), the other sides open: the
    end terms at its corners take W = −(v·t_w)(q·n_w) − (q·t_w)(v·n_w). Measured q / T
    at n = 4 … 32: 1.76e-4 … 3.46e-7 (order 3.00) / 1.51e-3 … 2.36e-5 (order 2.00); the
    penalty form 1.99e-4 … 4.05e-7 / 1.52e-3 … 2.38e-5. With the impermeable-wall end
    terms there instead the errors grow to 0.87 / 0.37 at n = 16."""
    errors = [_manufactured_errors(n, "vorticity", sheared=True) for n in (4, 8, 16)]
    eq, eT = [e[0] for e in errors], [e[1] for e in errors]
    assert min(_orders(eq)) >= 2.75 and min(_orders(eT)) >= 1.85 and eT[-1] <= 1.2e-4, (
        f"q errors {eq} orders {_orders(eq)}; T errors {eT} orders {_orders(eT)}")


def _orders(errors):
    return [math.log2(a / b) for a, b in zip(errors, errors[1:])]


@pytest.mark.parametrize("beta, distort", [(0, 0.0), (2, 0.25)])
def test_manufactured_flow_with_both_natural_conditions_converges(beta, distort):
    """q at O(h³), T at O(h²), within 1.1x of the interior penalty's T error (module
    doc: 2.36e-5 against 2.37e-5 at n = 32)."""
    errors = [_manufactured_errors(n, "vorticity", beta, distort=distort) for n in (4, 8, 16)]
    eq, eT = [e[0] for e in errors], [e[1] for e in errors]
    assert min(_orders(eq)) >= 2.75 and min(_orders(eT)) >= 1.85, (
        f"q errors {eq} orders {_orders(eq)}; T errors {eT} orders {_orders(eT)}")
    penalty = _manufactured_errors(16, "penalty", beta, distort=distort)
    assert eT[-1] <= 1.1 * penalty[1] and eq[-1] <= 1.1 * penalty[0], (errors[-1], penalty)


def _rates(n: int, viscous: str, ell: float = 1.0) -> np.ndarray:
    """Quasi-static rates (τ = 0, β = 0) on the unit square with T = 0 on its edges."""
    problem = fh.HeatProblem(
        _square(n), {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=ell)},
        {"edge": fh.Temperature(0.0)}, model="gk", degree=1, beta=0, viscous=viscous)
    return quasi_static_rates(fh.assemble(problem))


def quasi_static_rates(system) -> np.ndarray:
    """The quasi-static decay rates of ``system`` (τ = 0): the eigenvalues of
    B A⁻¹ Bᵀ against the capacity, A the flux block (formed densely where the vorticity
    form keeps ω: small meshes only), ascending."""
    B = system.divergence.toarray()
    if system.rotation is not None:
        C, mass = system.rotation
        A = system.resistance_base.toarray() + C.T.toarray() @ np.linalg.solve(
            mass.matrix.toarray(), C.toarray())
    else:
        A = system.resistance.toarray()
    return np.sort(scipy.linalg.eigvalsh(B @ np.linalg.solve(A, B.T),
                                         system.capacity.toarray()))


def test_open_square_spectrum_is_the_penalty_forms_without_its_slow_modes():
    """T = 0 on the edges, l = L: the fastest (boundary-layer) rates of both forms agree
    to 1e-3 (1.8558 against 1.8560 α/l²), so both discretize one problem; the vorticity
    form's slowest rate is 0.909 α/l², the penalty form's grid modes 0.377."""
    vorticity, penalty = _rates(8, "vorticity"), _rates(8, "penalty")
    assert abs(vorticity[-1] / penalty[-1] - 1) <= 1e-3, (vorticity[-1], penalty[-1])
    assert vorticity[0] >= 0.85, f"slowest rate {vorticity[0]:.4f}; next {vorticity[1:4]}"
    assert penalty[0] <= 0.5  # documents the penalty form's modes (tests/test_gk_modes.py)


@pytest.mark.parametrize("distort", [0.0, 0.3])
def test_viscous_block_is_positive_semidefinite(distort):
    """The flux block with the boundary integral, its vertex and its end terms (the
    square open at x = 0, 1 and insulated free-slip at y = 0, 1; l = 0.2, κ = 1) minus
    the Darcy mass κ⁻¹(q, v) has no negative eigenvalue against that mass beyond
    round-off: the boundary integral on the facets alone gives −0.16 / −0.45 / −1.46 at
    n = 4 / 8 / 16 (growing like 1/h: the first attempt's modes)."""
    mesh = _square(6, distort).mesh
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "ends": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1),
        "sides": lambda x: ~(np.isclose(x[0], 0) | np.isclose(x[0], 1))})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.2)},
        {"ends": fh.Temperature(0.0), "sides": fh.Insulated()}, model="gk", degree=1,
        beta=0, viscous="vorticity")
    system = fh.assemble(problem)
    C, mass = system.rotation
    free = system.free_dofs
    qb = system.flux_basis
    darcy = BilinearForm(lambda u, v, w: dot(u, v)).assemble(qb).toarray()[np.ix_(free, free)]
    full = (system.resistance_base.toarray()
            + C.T.toarray() @ np.linalg.solve(mass.matrix.toarray(), C.toarray()))
    viscous = full[np.ix_(free, free)] - darcy
    lowest = scipy.linalg.eigvalsh(viscous, darcy)[0]
    assert lowest >= -1e-9, lowest


# ------------------------------------------------------------ developed channel flow
CH_L, CH_W, CH_KAPPA, CH_ELL = 2.0, 1.0, 1.5, 0.2


def _developed_flux(y):
    """q_x = κG(1 − cosh(y/l)/cosh(W/2l)), G = 1/L: the developed flow for a 1 K drop."""
    return CH_KAPPA / CH_L * (1 - np.cosh(y / CH_ELL) / math.cosh(CH_W / (2 * CH_ELL)))


def _open_channel(n: int, viscous: str, inlet: str = "temperature"):
    """[0, L] × [−W/2, W/2], no-slip walls, T = 1 / 0 at the open ends (no wall
    condition there; or, ``inlet = "flux"``, the developed flux given at x = 0): steady
    heat flow and the relative L2 error of T against the developed flow T = 1 − x/L,
    q_x = κG(1 − cosh(y/l)/cosh(W/2l))."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, CH_L, 2 * n + 1),
                                     np.linspace(-CH_W / 2, CH_W / 2, n + 1))
    tol = 1e-9
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: x[0] < tol, "outlet": lambda x: x[0] > CH_L - tol,
        "sides": lambda x: (np.abs(x[1]) > CH_W / 2 - tol) & (x[0] > tol)
        & (x[0] < CH_L - tol)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(CH_KAPPA, 1.0, 0.0, nonlocal_length=CH_ELL)},
        {"inlet": (fh.Temperature(1.0) if inlet == "temperature"
                   else fh.HeatFlux(lambda x, t: -_developed_flux(x[1]))),
         "outlet": fh.Temperature(0.0),
         "sides": fh.Insulated()}, walls={"sides": NoSlip()}, model="gk", degree=1, beta=2,
        viscous=viscous)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    tb = system.temperature_basis
    T, X = tb.interpolate(state.temperature).value, tb.global_coordinates().value
    exact = 1 - X[0] / CH_L
    error = np.sqrt((((T - exact) ** 2) * tb.dx).sum() / ((exact**2) * tb.dx).sum())
    flow = fh.boundary_heat_flow(system, state.flux)["outlet"]
    return flow, float(error)


def test_developed_channel_flow_passes_the_open_ends_undisturbed():
    """The developed profile satisfies the gradient energy's conditions at the open ends
    (T = T_D, ∂q_t/∂n = 0) but not ω = 0: with the former model the ends needed a
    no-slip condition (tests/test_gk_vorticity.py, test_case_file_vorticity_ribbon).
    Measured at n = 4 / 8 / 16 / 32: heat flow against κG W(1 − (2l/W) tanh(W/2l))
    −1.2e-5 / −7.2e-7 / −3.0e-8 / −1.0e-9, T 2.9e-4 / 6.3e-5 / 1.2e-5 / 2.3e-6; the
    penalty form −6.6e-4 … −2.0e-7 and 1.3e-3 … 1.9e-5."""
    G = 1.0 / CH_L
    exact = CH_KAPPA * G * CH_W * (1 - (2 * CH_ELL / CH_W) * math.tanh(CH_W / (2 * CH_ELL)))
    runs = [_open_channel(n, "vorticity") for n in (4, 8, 16)]
    flow, eT = [abs(r[0] / exact - 1) for r in runs], [r[1] for r in runs]
    assert min(_orders(flow)) >= 3.5 and min(_orders(eT)) >= 2.0, (flow, eT)
    penalty = _open_channel(16, "penalty")
    assert eT[-1] <= 0.25 * penalty[1] and flow[-1] <= 5e-8, (eT[-1], penalty, flow)


def test_developed_channel_flow_from_a_prescribed_inflow():
    """The developed flux given at the inlet (HeatFlux, an essential q·n lifted into the
    boundary terms and the ω equation), T = 0 at the outlet: T = 1 − x/L. Measured at
    n = 4 / 8 / 16: 3.7e-4 / 7.4e-5 / 1.4e-5 (the penalty form 1.6e-3 / 3.5e-4 /
    8.1e-5)."""
    eT = [_open_channel(n, "vorticity", inlet="flux")[1] for n in (4, 8, 16)]
    assert min(_orders(eT)) >= 2.0 and eT[-1] <= 2e-5, eT


def test_auto_takes_the_vorticity_form_where_heat_crosses_a_boundary():
    """2D degree 1 with T given at the boundary: "auto" now takes the vorticity form
    (one ν, no Kapitza interface); the penalty form's answer agrees to the
    discretization error (square with T = φ on the edges, heat flow to 1e-4)."""
    problem = fh.HeatProblem(
        _square(8), {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.3)},
        {"edge": fh.Temperature(lambda x, t: np.sin(2 * x[0]) + x[1] ** 2)}, model="gk",
        degree=1)
    assert problem.viscous_form == "vorticity"
    flows = {}
    for viscous in ("auto", "penalty"):
        problem = fh.HeatProblem(
            _square(16), {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.3)},
            {"edge": fh.Temperature(lambda x, t: np.sin(2 * x[0]) + x[1] ** 2)},
            source=lambda x, t: 1.0 + 0 * x[0], model="gk", degree=1, viscous=viscous)
        system = fh.assemble(problem)
        state = fh.solve_steady(system)
        flows[viscous] = fh.boundary_heat_flow(system, state.flux)["edge"]
    assert abs(flows["auto"] / flows["penalty"] - 1) <= 1e-4, flows


def test_inconsistent_corners_warn():
    """Where no consistent end or vertex term exists, assembly says so and names the
    key: a tangential-flux wall that heat crosses next to an open side where ν varies
    and vanishes on whole cells (no closure terms there; ν vanishing along an edge only
    takes them in 2D since 2026-12-08, no warning; its q·n ≠ 0 and q·t ≠ 0; with κ and l
    constant its data's load makes it consistent since 2026-12-07, with ν varying and
    positive since 2026-12-08), and a Kapitza interface with a free tangential flux that
    ends inside the viscous region where ν vanishes (a slit, ω = 0 on it) meeting an
    open side (its trace jumps; where ν varies and stays positive it is cut since
    2026-12-08). A free interface that cuts the region apart is an
    open boundary of each side, whose chains the vertex terms join consistently
    (tests/test_gk_vorticity_layers.py), and so is a slit with one ν or several since
    2026-12-07 (its vorticity cut, tests/test_gk_vorticity_slit.py): no warning. Nor
    does a slip-length wall that heat crosses since 2026-12-07 (an open boundary with
    the slip's Robin term, tests/test_gk_vorticity_graded.py)."""
    from femheat.physics.conditions import SlipLength, TangentialFlux

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5},
        interfaces={"mid": lambda x: np.isclose(x[0], 0.5)},
        boundaries={"left": lambda x: np.isclose(x[0], 0),
                    "rest": lambda x: ~np.isclose(x[0], 0)})
    material = fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.2)
    common = dict(model="gk", degree=1, viscous="vorticity")
    bcs = {"left": fh.Temperature(1.0), "rest": fh.Temperature(0.0)}
    graded = fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2)
    # ν zero on whole cells (y < 1/2): no closure terms, no data load
    vanishing = fh.Material(lambda x: 1 + x[0], 1.0, 0.1,
                            nonlocal_length=lambda x: 0.4 * np.maximum(x[1] - 0.5, 0))
    with pytest.warns(UserWarning, match=r"walls\.left: a TangentialFlux wall that heat "
                                         r"crosses"):  # ν vanishing: no data load there
        fh.assemble(fh.HeatProblem(regions, {"a": vanishing, "b": vanishing}, bcs,
                                   walls={"left": TangentialFlux(0.5)}, **common))
    # ν zero along the edge y = 0 only (2D, since 2026-12-08): the closure terms and the
    # data load take it, no warning
    edge = fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=lambda x: 0.2 * x[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fh.assemble(fh.HeatProblem(regions, {"a": edge, "b": edge}, bcs,
                                   walls={"left": TangentialFlux(0.5)}, **common))
    slit = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5},
        interfaces={"mid": lambda x: np.isclose(x[0], 0.5) & (x[1] < 0.5)},
        boundaries={"left": lambda x: np.isclose(x[0], 0),
                    "rest": lambda x: ~np.isclose(x[0], 0)})
    with pytest.warns(UserWarning, match=r"interfaces\.mid: a Kapitza interface with "
                                         r"tangential = 'free'"):
        fh.assemble(fh.HeatProblem(
            slit, {"a": vanishing, "b": vanishing}, bcs,
            interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}, **common))
    # one ν, or several (each level's vorticity cut along the slit since 2026-12-07), or
    # ν varying (since 2026-12-08)
    other = fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2)
    for first, second in ((material, other), (graded, graded)):  # held, the data's load
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            fh.assemble(fh.HeatProblem(regions, {"a": first, "b": second}, bcs,
                                       walls={"left": TangentialFlux(0.5)}, **common))
    for rm, first, second in ((regions, material, material), (slit, material, material),
                              (slit, material, other), (slit, graded, graded)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            fh.assemble(fh.HeatProblem(
                rm, {"a": first, "b": second}, bcs,
                interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}, **common))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fh.assemble(fh.HeatProblem(regions, {"a": material, "b": material}, bcs,
                                   walls={"left": SlipLength(0.5)}, **common))


# ------------------------------------------- a curved no-slip wall that heat crosses
DISC_R, DISC_SIGMA, DISC_ELL = 3.0, 1.0, 0.2


def _disc_source(x):
    return np.exp(-(x[0] ** 2 + x[1] ** 2) / (2 * DISC_SIGMA**2)) / (2 * math.pi * DISC_SIGMA**2)


def _disc_exact(x):
    """The radial GK solution of a Gaussian source (κ = 1, β = 0): T = T_F + l²Q/κ, T_F
    the 2D Fourier potential, q = q_r(r) e_r (rot q = 0, so ∇²q = ∇Q)."""
    from scipy.special import exp1

    u = np.maximum((x[0] ** 2 + x[1] ** 2) / (2 * DISC_SIGMA**2), 1e-300)
    return (-np.log(u) - exp1(u)) / (4 * math.pi) + DISC_ELL**2 * _disc_source(x)


def _disc_problem(refine: int, degree: int, viscous: str) -> fh.HeatProblem:
    """The disc r < 3 with T and a no-slip wall on its circle (q·t = 0 holds for the
    radial flux): the gradient energy's condition T − ν∂q_r/∂r = T_D gives
    T_D = T_F(R) + ν q_r(R)/R (∂q_r/∂r = Q − q_r/r, Q(R) folded into T)."""
    mesh = skfem.MeshTri.init_circle(refine).scaled(DISC_R)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"circle": lambda x: np.ones(x.shape[1], bool)})
    q_r = (1 - math.exp(-DISC_R**2 / (2 * DISC_SIGMA**2))) / (2 * math.pi * DISC_R)
    t_d = (float(_disc_exact(np.array([[DISC_R], [0.0]]))[0])
           - DISC_ELL**2 * _disc_source(np.array([DISC_R, 0.0])) + DISC_ELL**2 * q_r / DISC_R)
    return fh.HeatProblem(regions, {"domain": fh.Material(1.0, nonlocal_length=DISC_ELL)},
                          {"circle": fh.Temperature(t_d)}, source=lambda x, t: _disc_source(x),
                          model="gk", degree=degree, beta=0, walls={"circle": NoSlip()},
                          viscous=viscous)


def _disc_error(refine: int, degree: int, viscous: str) -> float:
    """Largest cell-mean T error in r < 2, relative to the largest |T| there."""
    system = fh.assemble(_disc_problem(refine, degree, viscous))
    tb = system.temperature_basis
    X, dx = tb.global_coordinates().value, tb.dx
    mean = (tb.interpolate(fh.solve_steady(system).temperature).value * dx).sum(1) / dx.sum(1)
    exact = (_disc_exact(X) * dx).sum(1) / dx.sum(1)
    inside = np.hypot(*tb.mesh.p[:, tb.mesh.t].mean(axis=1)) < 2 * DISC_SIGMA
    return float(np.abs(mean - exact)[inside].max() / np.abs(exact[inside]).max())


@pytest.mark.parametrize("degree", [0, 1])
def test_curved_no_slip_wall_that_heat_crosses(degree):
    """On a curved no-slip wall that heat crosses, ∮ q × ∂_t v leaves the curvature term
    ∮ κ(q·n)(v·n), on the faceted circle the vertex terms of sheared_wall_corners.
    Measured (init_circle 3 / 4 / 5): degree 0 3.1e-2 / 7.8e-3 / 1.9e-3, degree 1
    7.9e-3 / 1.6e-3 / 2.7e-4; without them 1.9e-2 / 9.2e-3 / 1.1e-2 and 3.3e-3 /
    9.9e-3 / 1.1e-2, stalled at the other condition's ν q_r/R (7e-4 K of 0.06 K). The
    penalty form: 2.5e-2 / 5.5e-3 / 9.6e-4 (degree 0), 2.9e-3 / 1.0e-3 / 1.0e-3
    (degree 1, stalled)."""
    errors = [_disc_error(refine, degree, "vorticity") for refine in (3, 4, 5)]
    orders = _orders(errors)
    assert min(orders) >= 1.8 and errors[-1] <= (2.5e-3 if degree == 0 else 4e-4), (
        f"degree {degree}: errors {errors}, orders {orders}")


def test_curved_no_slip_wall_keeps_the_block_semidefinite():
    """The corner terms subtract ν sin θ_P (q·n)(v·n) on a convex wall; the flux block
    less the Darcy mass stays positive semidefinite (init_circle(2), degree 1)."""
    system = fh.assemble(_disc_problem(2, 1, "vorticity"))
    C, mass = system.rotation
    free = system.free_dofs
    darcy = BilinearForm(lambda u, v, w: dot(u, v)).assemble(system.flux_basis).toarray()
    darcy = darcy[np.ix_(free, free)]
    full = (system.resistance_base.toarray()
            + C.T.toarray() @ np.linalg.solve(mass.matrix.toarray(), C.toarray()))
    lowest = scipy.linalg.eigvalsh(full[np.ix_(free, free)] - darcy, darcy)[0]
    assert lowest >= -1e-9, lowest


def _tangential_errors(n: int, viscous: str, degree: int = 1, beta: int = 0
                       ) -> tuple[float, float]:
    """Relative L² errors (q, T): the module doc's flow, x = 0 a tangential-flux wall
    (q·t = g from the flow) with T given, the other sides open."""
    from tests.test_gk_vorticity_graded import steady_errors

    q_ex, T_ex, force, source, traction = _manufactured(0.3, beta)
    mesh = _square(n).mesh
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: np.isclose(x[0], 0), "rest": lambda x: ~np.isclose(x[0], 0)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.3)},
        {"left": fh.Temperature(0.0), "rest": fh.Temperature(0.0)},
        walls={"left": TangentialFlux(lambda x, t: -q_ex(x)[1])},  # t = (0, −1) there
        model="gk", degree=degree, beta=beta, viscous=viscous, source=lambda x, t: source(x))
    system = fh.assemble(problem)
    qb = skfem.CellBasis(mesh, system.flux_basis.elem, intorder=8)
    tb = skfem.CellBasis(mesh, system.temperature_basis.elem, intorder=8)
    walled = regions.boundary("left")
    fb = skfem.FacetBasis(mesh, qb.elem, intorder=8,
                          facets=np.setdiff1d(mesh.boundary_facets(), walled))
    fw = skfem.FacetBasis(mesh, qb.elem, facets=walled, intorder=8)
    load = (LinearForm(lambda v, w: dot(force(w.x), v)).assemble(qb)
            + LinearForm(lambda v, w: dot(traction(w.x, w.n), v)).assemble(fb)
            + LinearForm(lambda v, w: dot(traction(w.x, w.n), w.n) * dot(v, w.n)).assemble(fw))
    return steady_errors(system, load, qb, tb, q_ex, T_ex)


@pytest.mark.parametrize("degree, sizes, want", [(1, (4, 8, 16), (2.9, 1.95)),
                                                 (0, (8, 16, 32), (1.9, 0.95))])
def test_tangential_flux_wall_that_heat_crosses(monkeypatch, degree, sizes, want):
    """x = 0 a tangential-flux wall (q·t = g from the flow) with T given, the other
    sides open: held like a no-slip wall that heat crosses, with the data's part of the
    boundary integral, ν∫(∂_t g) v·n, as a flux load and the end terms where the wall
    meets the open sides corrected by ±νg(v·n_w)
    (femheat.assembly.vorticity_crossed_walls.tangential_data_load). Degree 1, n = 4 / 8 / 16: q 1.24e-4 / 1.56e-5 / 1.94e-6
    (order 3.0), T 1.51e-3 / 3.78e-4 / 9.45e-5 (2.0); the penalty form q 2.25e-6, T
    9.50e-5 (β = 2 the same to 3 digits). Degree 0, n = 8 / 16 / 32: q 9.98e-4 / 2.49e-4
    / 6.18e-5, T 5.63e-3 at n = 32; the penalty form 6.83e-5, 5.63e-3. Without the load
    (the form before, held with the data in the ω equation alone) or without the end
    correction, q stays at 0.09."""
    import femheat.assembly.vorticity as vorticity

    errors = [_tangential_errors(n, "vorticity", degree) for n in sizes]
    eq, eT = [e[0] for e in errors], [e[1] for e in errors]
    assert min(_orders(eq)) >= want[0] and min(_orders(eT)) >= want[1], (
        f"q errors {eq} orders {_orders(eq)}; T errors {eT} orders {_orders(eT)}")
    penalty = _tangential_errors(sizes[-1], "penalty", degree)
    assert eq[-1] <= penalty[0] and eT[-1] <= 1.01 * penalty[1], (errors[-1], penalty)
    if degree == 1:
        monkeypatch.setattr(vorticity, "tangential_data_load", lambda *args: None)
        assert _tangential_errors(8, "vorticity", 1)[0] > 0.05
