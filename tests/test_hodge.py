"""Helmholtz–Hodge decomposition, vorticity and backflow (issue 14, item 1).

Analytic fields on a square (simply connected) and an annulus (one hole): each
part is recovered at first order in L² (∇P1 and curl P1 are piecewise
constant), the potentials at second order at the vertices; a Fourier RT
solution has a stream function and interior vorticity that vanish to round-off
(the discrete curl of a discrete gradient, see femheat.analysis.hodge).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem
from scipy.spatial import Delaunay

import femheat as fh
from femheat.analysis.hodge import (backflow, boundary_components, flux_decomposition,
                                    helmholtz_hodge, vorticity)
from femheat.physics.conditions import NoSlip

PI = np.pi
A_IN, B_OUT = 0.5, 1.0


def square(n):
    return skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))


def annulus(n):
    """Annulus A_IN < r < B_OUT: a polar point grid, Delaunay, the hole cut out."""
    nr, nt = n, int(round(2 * PI * (A_IN + B_OUT) / 2 / ((B_OUT - A_IN) / n)))
    r, t = np.meshgrid(np.linspace(A_IN, B_OUT, nr + 1), np.linspace(0, 2 * PI, nt,
                                                                     endpoint=False))
    p = np.vstack([(r * np.cos(t)).ravel(), (r * np.sin(t)).ravel()])
    tri = Delaunay(p.T).simplices.T
    c = p[:, tri].mean(axis=1)
    tri = tri[:, np.hypot(c[0], c[1]) > A_IN]
    return skfem.MeshTri(p, np.ascontiguousarray(tri))


def grad_u(x):  # u = sin(πx) cos(πy) + x
    return np.stack([PI * np.cos(PI * x[0]) * np.cos(PI * x[1]) + 1.0,
                     -PI * np.sin(PI * x[0]) * np.sin(PI * x[1])])


def stream(x):  # s = sin(πx) sin(πy): zero on the square's boundary
    return np.sin(PI * x[0]) * np.sin(PI * x[1])


def curl_s(x):
    return np.stack([PI * np.sin(PI * x[0]) * np.cos(PI * x[1]),
                     -PI * np.cos(PI * x[0]) * np.sin(PI * x[1])])


def vortex(x):  # the harmonic (Neumann) field of the annulus: curl(−log r)
    r2 = x[0] ** 2 + x[1] ** 2
    return np.stack([-x[1], x[0]]) / r2


def annulus_stream(x):  # s = (r² − a²)(b² − r²), zero on both circles
    r2 = x[0] ** 2 + x[1] ** 2
    return (r2 - A_IN**2) * (B_OUT**2 - r2)


def annulus_curl(x):  # curl s = s'(r²) (2y, −2x)
    r2 = x[0] ** 2 + x[1] ** 2
    ds = (B_OUT**2 - r2) - (r2 - A_IN**2)
    return ds * np.stack([2 * x[1], -2 * x[0]])


def annulus_grad(x):  # u = x y + x
    return np.stack([x[1] + 1.0, x[0]])


def _err(d, part, exact):
    X = d.basis.global_coordinates().value
    v = part if part.ndim == 3 else part[:, :, None]
    return d._l2(v - exact(X))


def _order(hs, errs):
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


def test_square_mixture_each_part_at_first_order():
    """q = ∇u + curl s on the unit square: ∇φ → ∇u, curl ψ → curl s, h → 0, all O(h);
    ψ → s at the vertices at O(h²); exact discrete Pythagoras."""
    ns = (8, 16, 32)
    eg, es, eh, epsi = [], [], [], []
    for n in ns:
        m = square(n)
        d = helmholtz_hodge(m, lambda x: grad_u(x) + curl_s(x))
        eg.append(_err(d, d.gradient, grad_u))
        es.append(_err(d, d.solenoidal, curl_s))
        eh.append(d.norms["harmonic"])
        epsi.append(np.abs(d.stream_function - stream(m.p)).max())
        nrm = d.norms
        assert nrm["flux"] ** 2 == pytest.approx(
            nrm["gradient"] ** 2 + nrm["solenoidal"] ** 2 + nrm["harmonic"] ** 2, rel=1e-12)
    hs = 1.0 / np.array(ns)
    for name, e, want in (("gradient", eg, 0.95), ("solenoidal", es, 0.95),
                          ("harmonic", eh, 0.95), ("stream function", epsi, 1.9)):
        k = _order(hs, e)
        assert k > want, f"{name}: errors {e}, observed order {k:.2f}"


@pytest.mark.parametrize("field, part", [(grad_u, "gradient"), (curl_s, "solenoidal")])
def test_square_pure_fields_leave_other_parts_at_discretization_level(field, part):
    m = square(32)
    d = helmholtz_hodge(m, field)
    n = d.norms
    other = "solenoidal" if part == "gradient" else "gradient"
    assert n[part] == pytest.approx(n["flux"], rel=1e-2)
    assert n[other] < 2e-2 * n["flux"], n


def test_rigid_rotation_on_a_disc():
    """q = ω/2 (−y, x) on the unit disc is tangent to the circle: all solenoidal,
    ψ = ω(1 − r²)/4 (here ω = 2), vorticity 2 at every vertex."""
    m = skfem.MeshTri.init_circle(4)
    rot = lambda x: np.stack([-x[1], x[0]])  # noqa: E731
    d = helmholtz_hodge(m, rot)
    r2 = (m.p**2).sum(axis=0)
    on = np.isclose(r2, 1.0)
    assert np.abs(d.stream_function - (1 - r2) / 2)[~on].max() < 2e-2
    assert d.norms["gradient"] < 1e-2 * d.norms["flux"]
    w = vorticity(m, rot)
    assert np.allclose(w, 2.0, rtol=1e-10, atol=1e-10)  # linear q: the lumped projection is exact


def test_annulus_harmonic_mixture():
    """On the annulus (one hole) q = ∇u + curl s + c·h_N: the three parts are recovered
    at first order; with absorb_harmonic the harmonic field goes into ψ, whose value on
    the inner circle then is −log(a)·c relative to the outer one."""
    ns = (4, 8, 16)
    c = 0.7
    q = lambda x: annulus_grad(x) + annulus_curl(x) + c * vortex(x)  # noqa: E731
    errs = {"gradient": [], "solenoidal": [], "harmonic": []}
    for n in ns:
        m = annulus(n)
        assert len(boundary_components(m)) == 2
        d = helmholtz_hodge(m, q, intorder=6)
        errs["gradient"].append(_err(d, d.gradient, annulus_grad))
        errs["solenoidal"].append(_err(d, d.solenoidal, annulus_curl))
        errs["harmonic"].append(_err(d, d.harmonic, lambda x: c * vortex(x)))
    hs = 1.0 / np.array(ns)
    for name, e in errs.items():
        k = _order(hs, e)
        assert k > 0.9, f"{name}: errors {e}, observed order {k:.2f}"
    d = helmholtz_hodge(annulus(16), q, absorb_harmonic=True, intorder=6)
    # the remainder is now only the projection error of q (O(h)), not the field c·h_N
    assert d.norms["harmonic"] < 0.05 * d.norms["flux"], d.norms
    inner = boundary_components(d.mesh)[1]
    psi_in = d.stream_function[inner].mean()
    assert psi_in == pytest.approx(-np.log(A_IN) * c, rel=2e-2)


def test_tangential_variant_stream_function_of_channel_flow():
    """boundary='tangential': ψ carries the through-flow; for a uniform flow (1, 0)
    ψ = y + const exactly, no gradient or harmonic part."""
    m = square(6)
    d = helmholtz_hodge(m, lambda x: np.stack([1.0 + 0 * x[0], 0 * x[1]]),
                        boundary="tangential")
    assert np.allclose(d.stream_function - d.stream_function.mean(),
                       m.p[1] - m.p[1].mean(), atol=1e-12)
    assert d.norms["gradient"] < 1e-12 and d.norms["harmonic"] < 1e-12


def _fourier(degree, kappa=2.0, n=8):
    mesh = square(n)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], 1),
        "walls": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 1)})
    bcs = {"left": fh.Temperature(lambda x, t: 1.0 + np.sin(PI * x[1])),
           "right": fh.Temperature(0.0), "walls": fh.Insulated()}
    problem = fh.HeatProblem(regions, {"domain": fh.Material(kappa, 1.0, 0.0)}, bcs,
                             source=lambda x, t: 10 * np.exp(-20 * ((x[0] - .3) ** 2
                                                                    + (x[1] - .6) ** 2)),
                             degree=degree)
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


@pytest.mark.parametrize("degree", [0, 1])
def test_fourier_flux_has_zero_stream_function_and_interior_vorticity(degree):
    """(κ⁻¹q_h, curl χ) = 0 for χ ∈ P1₀: ψ (boundary='normal') and ω at interior
    vertices vanish to round-off for the RT0 and RT1 Fourier solutions."""
    system, state = _fourier(degree)
    mesh = system.problem.regions.mesh
    d = flux_decomposition(system, state)
    qmax = np.abs(d.flux_values).max()
    assert np.abs(d.stream_function).max() < 1e-12 * qmax, np.abs(d.stream_function).max()
    assert d.norms["solenoidal"] < 1e-12 * d.norms["flux"]
    w = vorticity(mesh, (system.flux_basis, state.flux))
    interior = np.setdiff1d(np.arange(mesh.p.shape[1]), mesh.boundary_nodes())
    assert np.abs(w[interior]).max() < 1e-10 * qmax / 0.125, np.abs(w[interior]).max()
    assert backflow(system, state).up_gradient_power >= 0.0


def test_gk_flux_has_vorticity_and_fourier_none_backflow():
    """A GK channel with no-slip walls (Poiseuille-like): rot q ≠ 0 near the walls, and
    its stream function is not zero (the Fourier solution's is)."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 9), np.linspace(-.5, .5, 9))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: np.isclose(x[0], 0), "outlet": lambda x: np.isclose(x[0], 1),
        "walls": lambda x: np.isclose(np.abs(x[1]), .5)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.0,
                                                             nonlocal_length=0.2)},
                             {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0),
                              "walls": fh.Insulated()}, model="gk", walls={"walls": NoSlip()})
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    d = flux_decomposition(system, state)
    assert d.norms["solenoidal"] > 0.05 * d.norms["flux"], d.norms
    w = vorticity(mesh, (system.flux_basis, state.flux))
    upper = mesh.p[1] > 0.3
    lower = mesh.p[1] < -0.3
    # q_x falls towards the walls: ∂q_x/∂y < 0 above, > 0 below, so ω = −∂q_x/∂y
    assert w[upper].mean() > 0 and w[lower].mean() < 0
    assert backflow(system, state).cells.size == 0


def test_bad_variant_refused():
    with pytest.raises(fh.FemheatInputError, match="boundary = 'both'"):
        helmholtz_hodge(square(2), grad_u, boundary="both")
