"""3D convergence rates on a manufactured anisotropic, graded steady solution.

Unit cube, κ(x) = [[1 + x², 0.2, 0], [0.2, 2 + sin y, 0.1], [0, 0.1, 1.5 + z]] (SPD),
T = sin(πx) cos(πy) (1 + z) + x y z, q = −κ∇T, Q = ∇·q (sympy). Temperature is
prescribed on all faces but the top, where the exact normal flux is prescribed.

Degree 0 (RT1 × P0) must converge at O(h) and degree 1 (femheat's own
tetrahedral ``ElementTetRT2`` × P1 DG) at O(h²) in both T and q; the observed
order is the slope of np.polyfit(log h, log err, 1).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem
import sympy as sp

import femheat as fh

_x, _y, _z = sp.symbols("x y z", real=True)
_K = sp.Matrix([[1 + _x**2, sp.Rational(1, 5), 0],
                [sp.Rational(1, 5), 2 + sp.sin(_y), sp.Rational(1, 10)],
                [0, sp.Rational(1, 10), sp.Rational(3, 2) + _z]])
_T = sp.sin(sp.pi * _x) * sp.cos(sp.pi * _y) * (1 + _z) + _x * _y * _z
_grad = sp.Matrix([sp.diff(_T, v) for v in (_x, _y, _z)])
_q = -_K * _grad
_Q = sum(sp.diff(_q[i], v) for i, v in enumerate((_x, _y, _z)))
_f = {name: sp.lambdify((_x, _y, _z), e, "numpy")
      for name, e in dict(T=_T, qx=_q[0], qy=_q[1], qz=_q[2], Q=_Q).items()}


def kappa(x):
    one, zero = np.ones_like(x[0]), np.zeros_like(x[0])
    return np.array([[1 + x[0] ** 2, 0.2 * one, zero],
                     [0.2 * one, 2 + np.sin(x[1]), 0.1 * one],
                     [zero, 0.1 * one, 1.5 + x[2]]])


def T_exact(x, t=0.0):
    return _f["T"](*x) + 0.0 * x[0]


def q_exact(x):
    return np.array([_f[k](*x) + 0.0 * x[0] for k in ("qx", "qy", "qz")])


FACES = {
    "x0": lambda x: np.isclose(x[0], 0), "x1": lambda x: np.isclose(x[0], 1),
    "y0": lambda x: np.isclose(x[1], 0), "y1": lambda x: np.isclose(x[1], 1),
    "z0": lambda x: np.isclose(x[2], 0), "top": lambda x: np.isclose(x[2], 1),
}


def _errors(n: int, degree: int):
    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, n + 1),) * 3)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries=FACES)
    bcs = {k: fh.Temperature(T_exact) for k in FACES}
    bcs["top"] = fh.HeatFlux(lambda x, t: q_exact(x)[2])
    problem = fh.HeatProblem(regions, {"domain": fh.Material(kappa)}, bcs,
                             source=lambda x, t: _f["Q"](*x) + 0.0 * x[0],
                             model="fourier", degree=degree)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    tb, qb = system.temperature_basis, system.flux_basis
    eT = np.sqrt(((tb.interpolate(state.temperature).value
                   - T_exact(tb.global_coordinates().value)) ** 2 * tb.dx).sum())
    dq = qb.interpolate(state.flux).value - q_exact(qb.global_coordinates().value)
    eq = np.sqrt(((dq**2).sum(axis=0) * qb.dx).sum())
    return 1.0 / n, eT, eq


@pytest.mark.parametrize("degree, ns, min_order", [(0, (2, 3, 4, 6), 0.9), (1, (2, 3, 4, 5), 1.8)],
                         ids=["degree0", "degree1"])
def test_3d_manufactured_convergence_rates(degree, ns, min_order):
    hs, eT, eq = map(np.asarray, zip(*[_errors(n, degree) for n in ns]))
    oT = np.polyfit(np.log(hs), np.log(eT), 1)[0]
    oq = np.polyfit(np.log(hs), np.log(eq), 1)[0]
    report = (f"3D degree {degree}: h = {hs.round(4).tolist()}, L2(T) = {eT.tolist()}, "
              f"L2(q) = {eq.tolist()}, observed orders T {oT:.3f}, q {oq:.3f}")
    assert oT > min_order and oq > min_order, report
    assert np.all(np.diff(eT) < 0) and np.all(np.diff(eq) < 0), report


@pytest.mark.slow
@pytest.mark.parametrize("degree, ns, min_order", [(0, (4, 6, 8, 12), 0.95), (1, (4, 6, 8, 10), 1.93)],
                         ids=["degree0", "degree1"])
def test_3d_convergence_rates_on_finer_meshes(degree, ns, min_order):
    """Asymptotic orders: tighter bounds on meshes up to 10-12 cells per side."""
    test_3d_manufactured_convergence_rates(degree, ns, min_order)
