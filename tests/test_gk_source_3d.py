r"""BENCHMARKS G4 in 3D: Guyer–Krumhansl, steady Gaussian source in an infinite medium.

Q(r) = Q0 exp(-r^2/(2 sigma^2))/((2 pi)^(3/2) sigma^3). The flux is curl-free, so
lap q = grad div q = grad Q and the GK flux is the Fourier flux (radial),

    q_r(r) = Q0/(4 pi r^2) [erf(r/(sqrt 2 sigma)) - sqrt(2/pi) (r/sigma) exp(-r^2/(2 sigma^2))],
    T_GK(r) = Q0 erf(r/(sqrt 2 sigma))/(4 pi kappa r) + ((1 + beta) l^2/kappa) Q(r),

kappa = Q0 = sigma = 1, l = 0.4 (BENCHMARKS G4 values: T(0.05) = 0.09390606 for beta = 2,
0.07361348 for beta = 0; T(0) = 0.0634936 (1 + 0.16 (1 + beta))).

Domain: the wedge 0 <= z <= y <= x of the ball R = 8 sigma, 1/48 of it
(:func:`femheat.mesh.geometry.ball_sector`), graded towards the origin with
h(r) = min(2 f, 0.1 f + 0.2 f r); f = 1 has 446 cells, f = 0.32 7569.

Boundary conditions, and why they are exact:

* symmetry planes: ``Insulated`` (q.n = 0, essential) and stress-free (the default wall).
  For the radial flux (grad q) n = (q_r/r) n is normal to a plane through the origin,
  so the tangential traction vanishes: free slip is exact, and the planes are flat, so
  the O(h) defect of free slip on a *faceted curved* wall does not arise.
* sphere: ``Temperature`` with the exact natural data. On a GK boundary a prescribed
  temperature is the natural condition of the weak form,
  T n - nu (grad q) n - beta nu (div q) n = T_D n  (nu = l^2/kappa).
  For the radial flux its tangential part vanishes on a sphere (stress-free is exact,
  no wall condition needed; q.n is not constrained, so no faceted-wall defect either:
  the flux converges at O(h^1.7)); its normal part, with d q_r/dr = Q - 2 q_r/r, gives
      T_D = T - nu ((1 + beta) Q - 2 q_r/r) = T_Fourier(R) + 2 nu q_r(R)/R.
  Imposing T(R) instead shifts the whole temperature by -2 nu q_r(R)/R = -5.0e-5, 0.07 %
  of T(0) but 2.9e-3 in relative L2 (tested below). NoSlip on the sphere (q_t = 0, also
  true for the exact flux) changes q by 0.15 % and T(0) by 2e-4 relative at f = 0.8.

T(0): the wedge has exactly one cell at the origin; its P0 temperature is compared with
the exact mean of T over that cell (quadrature), the same functional, so there is no
O(h^2) point-evaluation error (the errors against the point value T(0) are within 25 %
of the ones below). L2: the relative error ||T_h - T|| / ||T|| over the meshed sector,
cell by cell with a degree-6 quadrature of the exact T.

Measured (degree 0 = BDM1 x P0, eta = 1, the penalty on projected jumps; Fourier =
RT0 x P0 for reference):

    f     cells  GK DOFs  T(0) err b=0  b=2       Fourier   L2 b=0   b=2      |q-q_F|/|q_F|
    1     446    3641     1.17e-5   9.20e-6   8.96e-3   3.76e-2  3.94e-2  1.60e-2
    0.63  1271   10067    -6.30e-4  -4.94e-4  3.12e-3   2.54e-2  2.67e-2  6.84e-3
    0.4   4104   31464    -2.66e-4  -2.08e-4  1.46e-3   1.72e-2  1.81e-2  3.11e-3
    0.32  7569   57225    -1.94e-4  -1.52e-4  9.23e-4   1.39e-2  1.47e-2  2.04e-3

Orders: T(0) 1.7 over f = 0.63, 0.4, 0.32 (at f = 1 the GK error crosses zero),
Fourier T(0) 1.96, flux 1.80, L2 0.87.

The default since 2026-12-06 ("auto": the vorticity form in 3D, its open-boundary
terms on the sphere), measured 2026-12-07 (beta = 0; cell means: the error of the P0
values against T's cell means):

    f     T(0) err   L2       cell means  |q-q_F|/|q_F|   penalty form: T(0)  cell means
    0.63  -1.73e-3   2.54e-2  6.53e-4     5.53e-3         -6.30e-4   1.32e-3
    0.4   -7.49e-4   1.72e-2  2.90e-4     2.43e-3         -2.66e-4   8.41e-4
    0.32  -5.10e-4   1.39e-2  1.95e-4     1.60e-3         -1.94e-4   6.87e-4

T(0) order 1.7 (2.7x the penalty form's error, within the BENCHMARKS 0.5 %), the flux
0.78x the penalty form's, and the cell means superconverge at O(h^1.8) (1.95e-4, below
Fourier's 6.2e-4) where the penalty form's stall at O(h^0.9): the grid-scale
temperature noise of the penalty form (below) is gone. With the penalty on the whole tangential jump
(GK s = assembly + solve of one GK problem on 2 busy shared cores, SuperLU):

    f     cells  GK DOFs  GK s   T(0) err b=0  b=2      Fourier   L2 b=0   b=2      |q-q_F|/|q_F|
    1     446    3641     1.7    4.16e-3  3.26e-3  8.97e-3   4.01e-2  4.17e-2  2.03e-2
    0.8   702    5658     2.2    2.80e-3  2.20e-3  5.91e-3   3.33e-2  3.45e-2  1.35e-2
    0.63  1271   10067    4.7    1.90e-3  1.49e-3  3.12e-3   2.73e-2  2.85e-2  8.80e-3
    0.5   2242   17464    7.0    1.89e-3  1.48e-3  2.30e-3   2.27e-2  2.36e-2  6.05e-3
    0.4   4104   31464    15.5   1.36e-3  1.06e-3  1.46e-3   1.93e-2  1.99e-2  4.27e-3
    0.32  7569   57225    50     8.14e-4  6.38e-4  9.23e-4   1.54e-2  1.60e-2  2.75e-3

(orders T(0) 1.33, flux 1.73, L2 0.82).

The BENCHMARKS T(0) tolerance (0.5 %) is met on every mesh for beta = 0 and 2. Relative
L2 <= 1e-3 is NOT achievable with this pair: a P0 temperature has an O(h) interpolation
error (Fourier RT0 x P0 alike: 1.37e-2 at f = 0.32), 1e-3 would need ~15x finer cells
(~1e7 cells). Even against the cell means of T (the superconvergent quantity of a mixed
method; Fourier 6.2e-4 at f = 0.32, order 1.8) GK stayed at 6.7e-3 (order ~0.6) with the
penalty on the whole tangential jump: grid-scale temperature noise in 1 < r < 4, where
l/h ~ 1-2.5, about proportional to eta (3.5x at eta = 4) -- the penalty/inf-sup
limitation of femheat.assembly.gk (not re-measured with projected jumps). Degree 1 meets it:
BDM2 x P1DG (since issue 16) gives L2 3.65e-3, 2.32e-3, 1.43e-3, 9.4e-4 at f = 1, 0.8, 0.63,
0.5 (beta = 0; beta = 2 within 5 %; order 2.0), while the former degree-1 pair RT2 x P1DG
was no better than P0: L2 2.6e-2, 1.9e-2, 1.6e-2 at f = 1, 0.63, 0.4.

Discrete identity (tested): div BDM1 = P0 = the temperature space, so the beta term acts
on div q_h = Pi_0 Q only; the GK fluxes for beta = 0 and 2 coincide to round-off and
T_h(beta = 2) - T_h(beta = 0) = 2 nu Pi_0 Q exactly, the discrete image of the exact
T_GK(beta = 2) - T_GK(beta = 0) = 2 nu Q.

Cost: SuperLU fill grows fast in 3D (f = 0.32: 57k DOFs, 30-50 s per solve, ~3 GB at
110k DOFs, which did not finish in 25 min on this machine). The wedge is what makes the
study affordable: an octant at the same f has ~3.8x the cells and a larger T(0) error
(7.1e-3 at f = 1, beta = 0; the wedge's sharp edges refine the centre).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import skfem
from scipy.special import erf

import femheat as fh
from femheat.mesh import geometry
from femheat.physics.conditions import NoSlip
from femheat.errors import FemheatInputError

pytest.importorskip("gmsh")

KAPPA = Q0 = SIGMA = 1.0
ELL = 0.4
NU = ELL**2 / KAPPA
RADIUS = 8 * SIGMA
BASE = (0.1, 0.2, 2.0)  # centre size, grading, largest size at f = 1 (times f)
T0_TOL = 5e-3  # BENCHMARKS G4


# ------------------------------------------------------------------ exact solution
def source(x):
    r2 = (x**2).sum(axis=0)
    return Q0 * np.exp(-r2 / (2 * SIGMA**2)) / ((2 * math.pi) ** 1.5 * SIGMA**3)


def t_fourier(x):
    r = np.sqrt((x**2).sum(axis=0))
    safe = np.where(r > 1e-8, r, 1.0)
    centre = Q0 * math.sqrt(2 / math.pi) / (4 * math.pi * KAPPA * SIGMA)
    return np.where(r > 1e-8, Q0 * erf(safe / (math.sqrt(2) * SIGMA)) / (4 * math.pi * KAPPA * safe),
                    centre)


def t_exact(x, beta):
    return t_fourier(x) + (1 + beta) * NU * source(x)


def q_radial(r):
    u = np.asarray(r, dtype=float) / SIGMA
    safe = np.where(u > 1e-6, u, 1.0)
    far = Q0 / (4 * math.pi * SIGMA**2 * safe**2) * (
        erf(safe / math.sqrt(2)) - math.sqrt(2 / math.pi) * safe * np.exp(-safe**2 / 2))
    return np.where(u > 1e-6, far, Q0 * u / (3 * (2 * math.pi) ** 1.5 * SIGMA**2))


def q_exact(x):
    r = np.sqrt((x**2).sum(axis=0))
    return q_radial(r) * x / np.where(r > 0, r, 1.0)


def t_sphere(x):
    """Exact natural data on the sphere: T_D = T_F + 2 nu q_r/r (module docstring)."""
    r = np.sqrt((x**2).sum(axis=0))
    return t_fourier(x) + 2 * NU * q_radial(r) / r


def test_exact_solution_matches_benchmark_values():
    """The closed forms above reproduce the BENCHMARKS G4 table (8 digits)."""
    r = np.array([0.05, 0.5, 1.0, 3.0])
    x = np.vstack([r, 0 * r, 0 * r])
    np.testing.assert_allclose(t_exact(x, 2), [0.09390606, 0.08784020, 0.07281191, 0.02679278],
                               atol=6e-9)
    np.testing.assert_allclose(t_exact(x, 0), [0.07361348, 0.06990966, 0.06048844, 0.02656707],
                               atol=6e-9)
    # q = -kappa dT_F/dr and div q = Q (finite differences)
    h = 1e-5
    rr = np.array([0.3, 1.0, 2.5])
    dT = (t_fourier(np.vstack([rr + h, 0 * rr, 0 * rr]))
          - t_fourier(np.vstack([rr - h, 0 * rr, 0 * rr]))) / (2 * h)
    np.testing.assert_allclose(q_radial(rr), -KAPPA * dT, rtol=1e-8)
    div = ((rr + h) ** 2 * q_radial(rr + h) - (rr - h) ** 2 * q_radial(rr - h)) / (2 * h * rr**2)
    np.testing.assert_allclose(div, source(np.vstack([rr, 0 * rr, 0 * rr])), rtol=1e-7)


# ------------------------------------------------------------------ FEM helpers
def g4_mesh(directory, f: float, sector: str = "wedge") -> fh.RegionMesh:
    h0, g, hmax = (b * f for b in BASE)
    return geometry.build("ball_sector", directory / f"g4_{sector}_{f}.msh", radius=RADIUS,
                          mesh_size=hmax, center_mesh_size=h0, grading=g, sector=sector)


def g4_solve(regions, model="gk", beta=0, ell=ELL, wall=None, sphere_temperature=None):
    """Steady solve; the sphere gets t_sphere (GK) or t_fourier (Fourier) by default."""
    if sphere_temperature is None:
        sphere_temperature = t_fourier if model == "fourier" else t_sphere
    kw = {} if model == "fourier" else dict(beta=beta, penalty=1.0)
    if wall is not None:
        kw["walls"] = {"sphere": wall}
    problem = fh.HeatProblem(
        regions, {"medium": fh.Material(KAPPA, nonlocal_length=ell)},
        {"sphere": fh.Temperature(lambda x, t: sphere_temperature(x)),
         "symmetry": fh.Insulated()},
        source=lambda x, t: source(x), model=model, degree=0, **kw)
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


def _quadrature(mesh):
    qb = skfem.Basis(mesh, skfem.ElementTetP0(), intorder=6)
    return qb.global_coordinates().value, qb.dx


def temperature_errors(system, state, beta):
    """(T(0) error of the origin cell's mean, relative L2 error, cell-mean error) of P0 T."""
    mesh = system.problem.regions.mesh
    X, dx = _quadrature(mesh)
    Te = t_exact(X, beta)
    vol = dx.sum(axis=1)
    means = (Te * dx).sum(axis=1) / vol
    origin = np.nonzero(np.linalg.norm(mesh.p, axis=0) < 1e-12)[0]
    cell = np.nonzero(np.isin(mesh.t, origin).any(axis=0))[0]
    assert cell.size == 1  # the wedge's corner
    T = state.temperature
    norm = math.sqrt((Te**2 * dx).sum())
    return (float(T[cell[0]] / means[cell[0]] - 1),
            math.sqrt((((T[:, None] - Te) ** 2) * dx).sum()) / norm,
            math.sqrt(((T - means) ** 2 * vol).sum()) / norm)


def flux_values(system, state):
    qb = skfem.Basis(system.problem.regions.mesh, system.flux_basis.elem, intorder=6)
    return qb.interpolate(state.flux).value, qb


def flux_error(system, state, other=None):
    """||q_h - q_F|| / ||q_F|| (or ||q_h - other_h|| / ||q_F||)."""
    q, qb = flux_values(system, state)
    ref = q_exact(qb.global_coordinates().value)
    diff = q - (ref if other is None else flux_values(*other)[0])
    return math.sqrt(((diff**2).sum(axis=0) * qb.dx).sum() / ((ref**2).sum(axis=0) * qb.dx).sum())


# ------------------------------------------------------------------ builder
def test_ball_sector_geometry(tmp_path):
    """Octant and wedge: names, volume (faceted sphere), facets on the
    planes and the sphere, the origin a vertex, grading, exact regeneration from the sidecar."""
    for sector, fraction, planes in (
            ("octant", 8, lambda c: np.abs(c)),
            ("wedge", 48, lambda c: np.abs(np.stack([c[2], c[1] - c[2], c[0] - c[1]])))):
        r = geometry.build("ball_sector", tmp_path / f"{sector}.msh", radius=2.0, mesh_size=0.5,
                           center_mesh_size=0.05, grading=0.3, sector=sector)
        assert r.subdomain_names == ["medium"]
        assert sorted(r.boundaries) == ["sphere", "symmetry"]
        assert r.unassigned_boundary_facets().size == 0
        mesh = r.mesh
        p, t = mesh.p, mesh.t
        vol = np.abs(np.linalg.det(np.stack([p[:, t[i + 1]] - p[:, t[0]] for i in range(3)],
                                            axis=1).transpose(2, 0, 1))) / 6
        exact = 4 / 3 * math.pi * 2.0**3 / fraction
        # inscribed polyhedral sphere, edges ~ h = 0.5: deficit O((h/R)^2) (-2.1 % octant)
        assert -0.5 * (0.5 / 2.0) ** 2 < vol.sum() / exact - 1 < 0, (sector, vol.sum() / exact)
        sph = p[:, mesh.facets[:, r.boundary("sphere")]]
        np.testing.assert_allclose(np.linalg.norm(sph, axis=0), 2.0, rtol=1e-9)
        sym = p[:, mesh.facets[:, r.boundary("symmetry")]]  # (3, 3 vertices, n)
        on_plane = (planes(sym) < 1e-9).all(axis=1).any(axis=0)
        assert on_plane.all(), f"{sector}: {np.count_nonzero(~on_plane)} facets off the planes"
        radius = np.linalg.norm(p, axis=0)
        assert radius.min() == 0.0
        centre = np.isin(t, np.argmin(radius)).any(axis=0)
        edges = np.linalg.norm(p[:, t[[0, 0, 0, 1, 1, 2]]] - p[:, t[[1, 2, 3, 2, 3, 3]]], axis=0)
        near, far = edges[:, centre].mean(), edges[:, radius[t].mean(axis=0) > 1.5].mean()
        assert 0.02 < near < 0.1 and far > 4 * near, (sector, near, far)
    spec = json.loads(geometry.sidecar_path(tmp_path / "wedge.msh").read_text())
    assert spec["builder"] == "ball_sector" and spec["parameters"]["sector"] == "wedge"
    again = geometry.build("ball_sector", tmp_path / "again.msh", **spec["parameters"])
    assert np.array_equal(again.mesh.p, mesh.p) and np.array_equal(again.mesh.t, mesh.t)


@pytest.mark.parametrize("params, match", [
    (dict(radius=-1.0, mesh_size=0.5), r"radius"),
    (dict(radius=1.0, mesh_size=1.5), r"mesh_size.*smaller than radius"),
    (dict(radius=1.0, mesh_size=0.5, center_mesh_size=0.6), r"center_mesh_size.*exceeds"),
    (dict(radius=1.0, mesh_size=0.5, center_mesh_size=0.0), r"center_mesh_size"),
    (dict(radius=1.0, mesh_size=0.5, center_mesh_size=0.1, grading=0.0), r"grading"),
    (dict(radius=1.0, mesh_size=0.5, center_mesh_size=0.1, grading=1.5), r"grading"),
    (dict(radius=1.0, mesh_size=0.5, sector="half"), r"sector.*octant.*wedge"),
    (dict(radius=1.0, mesh_size=0.5, material="sphere"), r"clash"),
])
def test_ball_sector_refuses_bad_input(tmp_path, params, match):
    with pytest.raises(FemheatInputError, match=match):
        geometry.build("ball_sector", tmp_path / "bad.msh", **params)
    assert not (tmp_path / "bad.msh").exists()


# ------------------------------------------------------------------ G4, default run
@pytest.fixture(scope="module")
def g4_coarse(tmp_path_factory):
    """f = 0.8: 702 cells, 5658 GK DOFs, ~2 s per GK solve."""
    regions = g4_mesh(tmp_path_factory.mktemp("g4"), 0.8)
    return regions, {beta: g4_solve(regions, beta=beta) for beta in (0, 2)}


def test_g4_3d_centre_temperature(g4_coarse):
    """T(0) within the BENCHMARKS 0.5 % for beta = 0 and 2 (measured 2.80e-3 and 2.20e-3
    at f = 0.8); relative L2 measured 3.33e-2 / 3.45e-2 (P0 temperature: O(h), see the
    module docstring: the BENCHMARKS 1e-3 is out of reach of this pair)."""
    _, sols = g4_coarse
    errs = {beta: temperature_errors(*sols[beta], beta) for beta in (0, 2)}
    msg = ", ".join(f"beta={b}: T(0) {e[0]:.2e}, L2 {e[1]:.2e}" for b, e in errs.items())
    assert all(abs(e[0]) <= T0_TOL for e in errs.values()), msg
    assert all(e[1] <= 4e-2 for e in errs.values()), msg


def test_g4_3d_beta_acts_only_through_the_source(g4_coarse):
    """q_h is the same for beta = 0 and 2 and T_h(2) - T_h(0) = 2 nu Pi_0 Q, to round-off
    (div BDM1 = P0: the discrete image of T_GK(2) - T_GK(0) = 2 nu Q); measured 1e-13 / 1e-14."""
    _, sols = g4_coarse
    (s0, st0), (s2, st2) = sols[0], sols[2]
    q_diff = flux_error(s0, st0, other=(s2, st2))
    tb = s0.temperature_basis
    pi0_q = s0.heat_load(0.0) / tb.dx.sum(axis=1)  # (Q, 1_K)/|K| with the solver's quadrature
    dT = st2.temperature - st0.temperature
    assert q_diff <= 1e-10, q_diff
    np.testing.assert_allclose(dT, 2 * NU * pi0_q, rtol=1e-8, atol=1e-12 * np.abs(dT).max())


def test_g4_3d_flux_is_the_fourier_flux(g4_coarse):
    """q_GK = q_F: ||q_h - q_F|| / ||q_F|| = 1.35e-2 at f = 0.8 (order 1.7, slow study), and
    the GK flux differs from the l = 0 (Darcy, same BDM1 x P0 space) flux by 1.05e-2, the
    size of that flux's own error (8.5e-3): the nonlocal term leaves q alone to
    discretization accuracy."""
    regions, sols = g4_coarse
    system, state = sols[0]
    darcy = g4_solve(regions, ell=0.0, sphere_temperature=t_fourier)
    err, err_darcy = flux_error(system, state), flux_error(*darcy)
    diff = flux_error(system, state, other=darcy)
    msg = f"GK {err:.2e}, l=0 {err_darcy:.2e}, GK - (l=0) {diff:.2e}"
    assert err <= 1.6e-2 and err_darcy <= 1e-2 and diff <= 1.3e-2, msg


def test_g4_3d_sphere_conditions(g4_coarse):
    """The outer sphere (module docstring): (a) imposing T(R) without the viscous normal
    stress 2 nu q_r/R shifts T uniformly by that amount (-5.0e-5 predicted; -5.03e-5 to
    -5.01e-5 measured: the facets lie inside the sphere, where q_r/r is larger) and leaves q
    unchanged but for that variation (7.1e-6 relative); (b)
    NoSlip instead of the exact stress-free condition changes q by 0.15 % and keeps T(0)
    within 0.5 % (measured 3.01e-3 vs 2.80e-3)."""
    regions, sols = g4_coarse
    system, state = sols[0]
    plain = g4_solve(regions, sphere_temperature=t_fourier)
    shift = plain[1].temperature - state.temperature
    predicted = -2 * NU * float(q_radial(RADIUS)) / RADIUS
    assert np.all(np.abs(shift / predicted - 1) < 3e-2), (shift.min(), shift.max(), predicted)
    assert flux_error(system, state, other=plain) < 2e-5  # measured 7.1e-6
    no_slip = g4_solve(regions, wall=NoSlip())
    t0 = temperature_errors(*no_slip, 0)[0]
    dq = flux_error(system, state, other=no_slip)
    assert abs(t0) <= T0_TOL and dq <= 3e-3, (t0, dq)


# ------------------------------------------------------------------ G4, convergence
@pytest.mark.slow
def test_g4_3d_convergence(tmp_path):
    """f = 1, 0.63, 0.4, 0.32 (446 to 7569 cells, 3.6k to 57k GK DOFs; ~1 min on 2 shared
    cores), the default form (the vorticity form since 2026-12-06). Measured (module
    docstring tables): T(0) -5.1e-4 (beta = 0) / -4.0e-4 (beta = 2) at f = 0.32, order
    1.7 over the three finer meshes (the penalty form -1.9e-4 / -1.5e-4); L2 1.39e-2 /
    1.46e-2, order 0.87 (P0: the BENCHMARKS 1e-3 is not met); cell means 1.95e-4, order
    1.8 (the penalty form 6.9e-4, 0.9); flux 1.60e-3, order 1.82 (2.04e-3)."""
    fs = np.array([1.0, 0.63, 0.4, 0.32])
    rows = []
    for f in fs:
        regions = g4_mesh(tmp_path, float(f))
        row = {}
        for beta in (0, 2):
            system, state = g4_solve(regions, beta=beta)
            row[beta] = temperature_errors(system, state, beta)
            if beta == 0:
                row["q"] = flux_error(system, state)
                row["dofs"] = system.ndofs
        fourier = g4_solve(regions, model="fourier")
        row["F"] = temperature_errors(*fourier, -1)[0]
        row["cells"] = regions.mesh.t.shape[1]
        rows.append(row)

    def order(values, sizes=fs):
        return float(np.polyfit(np.log(sizes), np.log(np.abs(values)), 1)[0])

    t0 = {b: np.array([r[b][0] for r in rows]) for b in (0, 2)}
    l2 = {b: np.array([r[b][1] for r in rows]) for b in (0, 2)}
    means = np.array([r[0][2] for r in rows])
    q = np.array([r["q"] for r in rows])
    table = "\n".join(
        f"f={f:.2f} cells={r['cells']} dofs={r['dofs']}: T(0) {r[0][0]:.2e} / {r[2][0]:.2e} "
        f"(Fourier {r['F']:.2e}), L2 {r[0][1]:.2e} / {r[2][1]:.2e}, cell means "
        f"{r[0][2]:.2e}, flux {r['q']:.2e}"
        for f, r in zip(fs, rows))
    orders = (f"orders: T(0) {order(t0[0]):.2f} / {order(t0[2]):.2f}, L2 {order(l2[0]):.2f} / "
              f"{order(l2[2]):.2f}, cell means {order(means[1:], fs[1:]):.2f}, flux "
              f"{order(q):.2f}")
    msg = f"{table}\n{orders}"
    for b in (0, 2):
        assert np.all(np.abs(t0[b]) <= T0_TOL), msg          # BENCHMARKS 0.5 % on every mesh
        assert abs(t0[b][-1]) <= 6e-4, msg                    # measured 5.1e-4 / 4.0e-4
        assert order(t0[b][1:], fs[1:]) >= 1.1, msg           # measured 1.7
        assert order(l2[b]) >= 0.7 and l2[b][-1] <= 1.6e-2, msg  # 0.87; 1.39e-2 / 1.46e-2
    assert order(q) >= 1.5 and q[-1] <= 2.0e-3, msg           # 1.82; 1.60e-3
    # no grid-scale noise: the cell means superconverge (the penalty form: O(h^0.9))
    assert order(means[1:], fs[1:]) >= 1.5 and means[-1] <= 2.5e-4, msg  # 1.8; 1.95e-4


# ------------------------------------------------------------ degree 1 (BDM2 x P1 DG)
def _g4_degree_one_l2(regions, beta):
    """Relative L2 error of the P1 DG temperature of a degree-1 GK solve."""
    problem = fh.HeatProblem(
        regions, {"medium": fh.Material(KAPPA, nonlocal_length=ELL)},
        {"sphere": fh.Temperature(lambda x, t: t_sphere(x)), "symmetry": fh.Insulated()},
        source=lambda x, t: source(x), model="gk", degree=1, beta=beta, penalty=1.0)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    tb = skfem.Basis(regions.mesh, system.temperature_basis.elem, intorder=6)
    Te = t_exact(tb.global_coordinates().value, beta)
    err = tb.interpolate(state.temperature).value - Te
    return math.sqrt((err**2 * tb.dx).sum() / (Te**2 * tb.dx).sum()), flux_error(system, state)


@pytest.mark.parametrize("beta", [0, 2])
def test_g4_3d_degree_one_temperature_l2(g4_coarse, beta):
    """Degree 1 (BDM2 x P1 DG) on the f = 0.8 wedge (16.9k DOFs, ~20 s per solve): L2
    2.32e-3 (beta = 0) / 2.37e-3 (beta = 2), flux 1.2e-3. Measured at f = 1, 0.63: L2
    3.65e-3, 1.43e-3 (beta = 0; order 2.0); RT of order 1, the degree-1 flux before
    issue 16: 2.6e-2, 1.9e-2. f = 0.5: see the slow test."""
    l2, q = _g4_degree_one_l2(g4_coarse[0], beta)
    assert l2 <= 3e-3 and q <= 1.5e-3, f"beta {beta}: L2 {l2:.3e}, flux {q:.3e}"


@pytest.mark.slow
@pytest.mark.parametrize("beta", [0, 2])
def test_g4_3d_degree_one_meets_benchmark_l2_slow(tmp_path, beta):
    """BENCHMARKS G4's relative L2 <= 1e-3 with degree 1 at f = 0.5 (2242 cells, 52.9k
    DOFs, ~60 s per solve on 2 shared cores): measured 9.43e-4 (beta = 0) / 9.84e-4
    (beta = 2), flux 2.9e-4."""
    l2, q = _g4_degree_one_l2(g4_mesh(tmp_path, 0.5), beta)
    assert l2 <= 1e-3, f"beta {beta}: L2 {l2:.3e}, flux {q:.3e}"
