"""Critical points, winding numbers and closed-streamline eddies (issue 14, items 2 and 6).

Analytic fields first (a rigid rotation: one centre, area π and circulation 4π
at second order; Taylor–Green cells: four centres and a saddle; a pure strain:
one saddle and no eddy), then the side-cavity case of cases/gk_cavity_vortex.py:
the Guyer–Krumhansl solution has one clockwise recirculation vortex of winding
number +1 in the cavity, the Fourier solution of the same geometry none.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import skfem

from femheat.analysis.hodge import flux_decomposition, helmholtz_hodge, vorticity
from femheat.analysis.vortices import (_areas, _superlevel_fraction, closed_streamline_regions,
                                       critical_points, vortex_analysis, winding_number)

from conftest import ROOT

PI = np.pi


def _cavity():
    spec = importlib.util.spec_from_file_location("gk_cavity_vortex",
                                                  ROOT / "cases" / "gk_cavity_vortex.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def box(n, lo=-1.0, hi=1.0):
    return skfem.MeshTri.init_tensor(np.linspace(lo, hi, n + 1), np.linspace(lo, hi, n + 1))


def test_rigid_rotation_eddy_area_and_circulation_second_order():
    """ψ = 1 − r², q = curl ψ = (−2y, 2x) in [−1, 1]²: the eddy is the unit disc
    (level 0 at the edge midpoints), area π, Γ = ∫ rot q = 4π, winding +1."""
    ns = (8, 16, 32)
    ea, ec = [], []
    for n in ns:
        m = box(n)
        psi, qv = 1 - (m.p**2).sum(axis=0), np.stack([-2 * m.p[1], 2 * m.p[0]])
        (e,) = closed_streamline_regions(m, psi, qv)
        assert (e.sense, e.winding) == (1, 1) and e.level == pytest.approx(0, abs=1e-14)
        ea.append(abs(e.area - PI))
        ec.append(abs(e.circulation - 4 * PI))
        (c,) = critical_points(m, qv)
        assert (c.kind, c.index) == ("vortex", 1) and np.allclose(c.x, 0, atol=1e-12)
    for name, e in (("area", ea), ("circulation", ec)):
        k = np.polyfit(np.log(1 / np.array(ns)), np.log(e), 1)[0]
        assert k > 1.9, f"{name}: errors {e}, observed order {k:.2f}"


def test_taylor_green_cells_four_vortices_one_saddle():
    """ψ = sin 2πx sin 2πy: centres at (¼|¾, ¼|¾), a saddle at the middle; total index 3;
    eddies turn with the sign of ψ and their circulations with their sense."""
    m = box(16, 0.0, 1.0)
    x, y = m.p
    psi = np.sin(2 * PI * x) * np.sin(2 * PI * y)
    qv = 2 * PI * np.stack([np.sin(2 * PI * x) * np.cos(2 * PI * y),
                            -np.cos(2 * PI * x) * np.sin(2 * PI * y)])
    cps = critical_points(m, qv)
    kinds = sorted(c.kind for c in cps)
    assert kinds == ["saddle"] + ["vortex"] * 4, kinds
    saddle = next(c for c in cps if c.kind == "saddle")
    assert saddle.index == -1 and np.allclose(saddle.x, 0.5, atol=1e-9)
    eddies = closed_streamline_regions(m, psi, qv)
    assert sorted(e.winding for e in eddies) == [1, 1, 1, 1], [e.summary() for e in eddies]
    for e in eddies:
        assert np.sign(e.circulation) == e.sense
        # each cell: area 1/4, Γ = ∫ −∇²ψ = 8 (to the P1 discretization error)
        assert e.area == pytest.approx(0.25, rel=3e-2)
        assert abs(e.circulation) == pytest.approx(8.0, rel=3e-2)


def test_strain_has_one_saddle_and_no_eddy():
    """q = ∇(x² − y²) = (2x, −2y), a Fourier-like field: index −1, ψ = 2xy (tangential
    Hodge stream function) has no interior extremum."""
    m = box(9)
    q = lambda x: np.stack([2 * x[0], -2 * x[1]])  # noqa: E731
    (c,) = critical_points(m, q(m.p))
    assert (c.kind, c.index) == ("saddle", -1)
    d = helmholtz_hodge(m, q, boundary="tangential")
    assert closed_streamline_regions(m, d.stream_function, q(m.p)) == []
    assert winding_number(m, q(m.p), np.arange(m.t.shape[1])) == -1


@pytest.fixture(scope="module")
def cavity():
    mod = _cavity()
    out = {}
    for model in ("gk", "fourier"):
        system, state = mod.solve(model, h=1 / 12)
        hodge = flux_decomposition(system, state, boundary="tangential")
        out[model] = (system, state, hodge, vortex_analysis(system, state, hodge=hodge))
    return out


def test_gk_cavity_has_one_recirculation_vortex(cavity):
    system, state, hodge, rep = cavity["gk"]
    (v,) = rep.vortices
    assert v.index == 1 and v.x[1] < 0 and 1.0 < v.x[0] < 2.0, v  # inside the cavity
    assert [c.kind for c in rep.critical_points] == ["vortex"]
    (e,) = rep.eddies
    assert e.sense == -1 and e.winding == 1  # clockwise under a flow in +x
    assert e.circulation < 0 and 0.2 < e.area < 1.0
    assert np.linalg.norm(e.center - v.x) < 0.1
    # Stokes: Γ = ∫ rot q over the eddy, from the vorticity field, within 15 %
    m = system.problem.regions.mesh
    w = vorticity(m, (system.flux_basis, state.flux))
    s, lev = e.sense * hodge.stream_function, e.sense * e.level
    mark = np.zeros(m.p.shape[1], bool)
    mark[e.vertices] = True
    touch = np.nonzero(mark[m.t].any(axis=0))[0]
    frac = _superlevel_fraction(s[m.t[:, touch]], lev)
    stokes = (frac * _areas(m)[touch] * w[m.t[:, touch]].mean(axis=0)).sum()
    assert e.circulation == pytest.approx(stokes, rel=0.15)
    # steady, source-free: div q_h = 0, so the gradient part vanishes to round-off
    assert hodge.norms["gradient"] < 1e-12 * hodge.norms["flux"]


def test_fourier_cavity_has_no_vortex(cavity):
    system, state, hodge, rep = cavity["fourier"]
    assert rep.vortices == [] and rep.eddies == []
    assert all(c.index == -1 for c in rep.critical_points)
    s = rep.summary()
    assert (s["vortices"], s["eddies"]) == (0, 0)


@pytest.mark.slow
def test_gk_cavity_vortex_converges():
    """The vortex centre and the eddy circulation settle under refinement."""
    mod = _cavity()
    res = []
    for h in (1 / 8, 1 / 12, 1 / 16, 1 / 24):
        system, state = mod.solve("gk", h=h)
        rep = vortex_analysis(system, state)
        (v,), (e,) = rep.vortices, rep.eddies
        res.append((v.x, e.circulation, e.winding))
    assert all(r[2] == 1 for r in res)
    steps = [np.linalg.norm(res[i + 1][0] - res[i][0]) for i in range(3)]
    assert steps[-1] < steps[0], steps
    gam = [r[1] for r in res]
    assert abs(gam[-1] - gam[-2]) < abs(gam[1] - gam[0]), gam


def test_round_off_zeros_are_not_critical_points():
    """A field at round-off level (a run at rest) has zeros everywhere, none of them
    critical points once the run's flux scale is given; alone it is its own scale."""
    m = box(8)
    noise = 1e-15 * np.random.default_rng(0).standard_normal((2, m.p.shape[1]))
    assert critical_points(m, noise, flux_scale=1.0) == []
    assert len(critical_points(m, noise)) > 0
