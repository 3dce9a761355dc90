"""Convergence rates on a manufactured heterogeneous, anisotropic steady solution.

Unit square, kappa(x) = [[1 + x^2, 0.2], [0.2, 2 + sin y]] (SPD, graded and
anisotropic, passed as a callable returning shape (2, 2, ...)),
T = sin(pi x) cos(pi y) + x y, q = -kappa grad T, Q = div q (sympy).

The mixed pairs RT1 x P0 (degree 0) and RT2 x P1DG (degree 1) have L2 errors
O(h^(k+1)) in both T and q; the observed order is the slope of
np.polyfit(log h, log err, 1) over four uniformly refined meshes. Errors are
measured at the quadrature points of system.temperature_basis and
system.flux_basis (order 2(k+1)+2, enough to resolve the exact fields).

Variants: temperature prescribed on all four sides (the natural condition),
and prescribed normal flux q.n on two sides (the essential condition on the
Raviart-Thomas degrees of freedom).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem
import sympy as sp
from scipy.integrate import quad

import femheat as fh

_x, _y = sp.symbols("x y", real=True)
_K = sp.Matrix([[1 + _x**2, sp.Rational(1, 5)], [sp.Rational(1, 5), 2 + sp.sin(_y)]])
_T = sp.sin(sp.pi * _x) * sp.cos(sp.pi * _y) + _x * _y
_q = -_K * sp.Matrix([sp.diff(_T, _x), sp.diff(_T, _y)])
_Q = sp.simplify(sp.diff(_q[0], _x) + sp.diff(_q[1], _y))

_T_f = sp.lambdify((_x, _y), _T, "numpy")
_qx_f = sp.lambdify((_x, _y), _q[0], "numpy")
_qy_f = sp.lambdify((_x, _y), _q[1], "numpy")
_Q_f = sp.lambdify((_x, _y), _Q, "numpy")


def kappa(x):
    one = np.ones_like(x[0])
    return np.array([[1.0 + x[0] ** 2, 0.2 * one], [0.2 * one, 2.0 + np.sin(x[1])]])


def T_exact(x, t=0.0):
    return _T_f(x[0], x[1]) + 0.0 * x[0]


def q_exact(x):
    return np.array([_qx_f(x[0], x[1]) + 0.0 * x[0], _qy_f(x[0], x[1]) + 0.0 * x[0]])


def source(x, t):
    return _Q_f(x[0], x[1]) + 0.0 * x[0]


def test_manufactured_solution_is_consistent():
    """The sympy data satisfy div(-kappa grad T) = Q and kappa is SPD on the square."""
    residual = sp.simplify(
        sp.diff(-(_K[0, 0] * sp.diff(_T, _x) + _K[0, 1] * sp.diff(_T, _y)), _x)
        + sp.diff(-(_K[1, 0] * sp.diff(_T, _x) + _K[1, 1] * sp.diff(_T, _y)), _y) - _Q)
    assert residual == 0
    pts = np.random.default_rng(0).uniform(0, 1, size=(2, 200))
    k = np.moveaxis(kappa(pts), -1, 0)
    assert np.all(np.linalg.eigvalsh(k)[:, 0] > 0.9)
    np.testing.assert_allclose(k[:, 0, 0], 1 + pts[0] ** 2)


def _mesh(level: int) -> skfem.MeshTri:
    base = skfem.MeshTri.init_tensor(np.linspace(0.0, 1.0, 5), np.linspace(0.0, 1.0, 5))
    return base.refined(level) if level else base


SIDES = {
    "left": lambda x: np.isclose(x[0], 0.0),
    "right": lambda x: np.isclose(x[0], 1.0),
    "bottom": lambda x: np.isclose(x[1], 0.0),
    "top": lambda x: np.isclose(x[1], 1.0),
}


def _flux_bc(side):
    """Prescribed outward normal flux g = q.n from the exact flux."""
    if side == "right":
        return fh.HeatFlux(lambda x, t: q_exact(x)[0])
    if side == "top":
        return fh.HeatFlux(lambda x, t: q_exact(x)[1])
    raise ValueError(side)


def _errors(level: int, degree: int, flux_sides=()):
    regions = fh.RegionMesh.from_skfem(_mesh(level), boundaries=SIDES)
    bcs = {name: (_flux_bc(name) if name in flux_sides else fh.Temperature(T_exact))
           for name in SIDES}
    problem = fh.HeatProblem(regions, materials={"domain": fh.Material(kappa)},
                             boundary_conditions=bcs, source=source, model="fourier",
                             degree=degree)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    tb, qb = system.temperature_basis, system.flux_basis
    xt = tb.global_coordinates().value
    eT = np.sqrt(((tb.interpolate(state.temperature).value - T_exact(xt)) ** 2 * tb.dx).sum())
    xq = qb.global_coordinates().value
    dq = qb.interpolate(state.flux).value - q_exact(xq)
    eq = np.sqrt(((dq**2).sum(axis=0) * qb.dx).sum())
    return regions.h, eT, eq, system, state


@pytest.mark.parametrize(
    "degree, min_order",
    [(0, 0.9), (1, 1.8)],
    ids=["degree0", "degree1"],
)
@pytest.mark.parametrize(
    "flux_sides",
    [(), ("right", "top")],
    ids=["temperature-bc", "heat-flux-bc"],
)
def test_manufactured_convergence_rates(degree, min_order, flux_sides):
    hs, eT, eq = [], [], []
    for level in range(4):
        h, e1, e2, system, state = _errors(level, degree, flux_sides)
        hs.append(h)
        eT.append(e1)
        eq.append(e2)
    hs, eT, eq = map(np.asarray, (hs, eT, eq))
    oT = np.polyfit(np.log(hs), np.log(eT), 1)[0]
    oq = np.polyfit(np.log(hs), np.log(eq), 1)[0]
    report = (f"degree {degree}, flux sides {flux_sides}: h = {hs.round(5).tolist()}, "
              f"L2(T) = {eT.tolist()}, L2(q) = {eq.tolist()}, "
              f"observed orders T {oT:.3f}, q {oq:.3f} (expected {degree + 1})")
    assert oT > min_order and oq > min_order, report
    assert np.all(np.diff(eT) < 0) and np.all(np.diff(eq) < 0), report

    if flux_sides:
        # the essential condition: heat flow through a prescribed-flux side equals
        # the integral of the prescribed q.n (its L2 projection preserves the mean)
        flows = fh.boundary_heat_flow(system, state.flux)
        exact_right = quad(lambda y: float(q_exact(np.array([1.0, y]))[0]), 0, 1,
                           epsabs=1e-13)[0]
        exact_top = quad(lambda x: float(q_exact(np.array([x, 1.0]))[1]), 0, 1,
                         epsabs=1e-13)[0]
        # the facet projection is exact on P_k; with h = 1/32 the quadrature of the
        # smooth g is accurate far beyond this tolerance
        assert abs(flows["right"] - exact_right) <= 1e-8 * (1 + abs(exact_right)), (
            f"right: {flows['right']!r} vs {exact_right!r}")
        assert abs(flows["top"] - exact_top) <= 1e-8 * (1 + abs(exact_top)), (
            f"top: {flows['top']!r} vs {exact_top!r}")
    # global conservation of the steady solution: sum of outflows = int Q
    flows = fh.boundary_heat_flow(system, state.flux)
    total_q = float(system.temperature_basis.project(lambda x: 1.0 + 0.0 * x[0])
                    @ system.heat_load(0.0))
    assert abs(sum(flows.values()) - total_q) <= 1e-10 * max(1.0, abs(total_q))
