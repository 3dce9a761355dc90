"""3D Helmholtz–Hodge decomposition q = ∇φ + curl A + h (issue 14, item 1, 3D).

Analytic fields on the unit cube (simply connected, connected boundary, so the
harmonic space of both variants is trivial): each part is recovered at first
order in L² (∇P1 and curl N0 are piecewise constant), measured as the slope of
np.polyfit(log h, log err, 1) over three meshes; the norms add up to round-off
(exact orthogonality of the discrete parts); a 3D Fourier RT solution with a
constant κ has a zero vector potential and solenoidal part to round-off (the
discrete-gradient argument of femheat.analysis.hodge3d).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.analysis.hodge import flux_decomposition, helmholtz_hodge
from femheat.analysis.hodge3d import HodgeDecomposition3D, helmholtz_hodge_3d, vorticity_3d

PI = np.pi
C_VEC = np.array([1.0, 2.0, -1.0])


def cube(n):
    return skfem.MeshTet.init_tensor(*(np.linspace(0, 1, n + 1),) * 3)


def _sss(x):
    return np.sin(PI * x[0]) * np.sin(PI * x[1]) * np.sin(PI * x[2])


def grad_sss(x):  # ∇ψ, ψ = sin πx sin πy sin πz (zero on ∂Ω)
    s, c = np.sin(PI * x), np.cos(PI * x)
    return PI * np.stack([c[0] * s[1] * s[2], s[0] * c[1] * s[2], s[0] * s[1] * c[2]])


def grad_u(x):  # ∇u, u = cos πx cos πy cos πz + x y (free boundary values)
    s, c = np.sin(PI * x), np.cos(PI * x)
    return np.stack([-PI * s[0] * c[1] * c[2] + x[1], -PI * c[0] * s[1] * c[2] + x[0],
                     -PI * c[0] * c[1] * s[2]])


def curl_A(x):  # curl(ψ c) = ∇ψ × c: A × n = 0, curl A·n = 0 on ∂Ω
    return np.cross(grad_sss(x), C_VEC, axis=0)


def curl_sss(x):  # ω = curl(∇ψ × c) = (c·∇)∇ψ − c Δψ
    s, c = np.sin(PI * x), np.cos(PI * x)
    hess = PI**2 * np.array([
        [-s[0] * s[1] * s[2], c[0] * c[1] * s[2], c[0] * s[1] * c[2]],
        [c[0] * c[1] * s[2], -s[0] * s[1] * s[2], s[0] * c[1] * c[2]],
        [c[0] * s[1] * c[2], s[0] * c[1] * c[2], -s[0] * s[1] * s[2]]])
    lap = -3 * PI**2 * _sss(x)
    return np.einsum("ij...,j->i...", hess, C_VEC) - C_VEC.reshape(3, *([1] * x[0].ndim)) * lap


def _err(d, part, exact):
    X = d.basis.global_coordinates().value
    v = part if part.ndim == 3 else part[:, :, None]
    return d._l2(v - exact(X))


def _rate(hs, es):
    return np.polyfit(np.log(hs), np.log(es), 1)[0]


CASES = {  # (boundary, flux, exact gradient part, exact solenoidal part)
    "normal-mixture": ("normal", lambda x: grad_u(x) + curl_A(x), grad_u, curl_A),
    "tangential-mixture": ("tangential", lambda x: grad_sss(x) + curl_A(x), grad_sss, curl_A),
}


def _mixture_rates(case, ns, min_order):
    boundary, q, g, c = CASES[case]
    rows = []
    for n in ns:
        d = helmholtz_hodge(cube(n), q, boundary=boundary)
        assert isinstance(d, HodgeDecomposition3D)
        nr = d.norms
        defect = abs(nr["flux"] ** 2 - nr["gradient"] ** 2 - nr["solenoidal"] ** 2
                     - nr["harmonic"] ** 2) / nr["flux"] ** 2
        assert defect < 1e-11, f"norm identity defect {defect:.3e} at n = {n}"
        w = d.edge_basis.interpolate(d.vorticity).value
        X = d.basis.global_coordinates().value
        ew = d._l2(w - curl_sss(X)) / d._l2(curl_sss(X) + 0 * w)
        rows.append((1 / n, _err(d, d.gradient, g), _err(d, d.solenoidal, c),
                     nr["harmonic"], ew))
    hs, eg, ec, eh, ew = map(np.asarray, zip(*rows))
    og, oc, oh, ow = (_rate(hs, e) for e in (eg, ec, eh, ew))
    report = (f"{case}: h {hs.round(3).tolist()}, |∇φ−∇φ_h| {eg.round(4).tolist()} "
              f"(order {og:.2f}), |curl A−curl A_h| {ec.round(4).tolist()} (order {oc:.2f}), "
              f"|h| {eh.round(4).tolist()} (order {oh:.2f}), rel |ω−ω_h| "
              f"{ew.round(4).tolist()} (order {ow:.2f})")
    print(report)
    assert min(og, oc, oh) > min_order, report
    assert ow > min_order - 0.1, report


@pytest.mark.parametrize("case", list(CASES))
def test_cube_mixture_each_part_at_first_order(case):
    """Coarse meshes (pre-asymptotic: observed orders 0.85–0.94)."""
    _mixture_rates(case, (3, 5, 8), 0.8)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_cube_mixture_first_order_fine(case):
    _mixture_rates(case, (6, 12, 16), 0.9)


@pytest.mark.parametrize("boundary, field, part", [
    ("normal", grad_u, "solenoidal"), ("normal", curl_A, "gradient"),
    ("tangential", grad_sss, "solenoidal"), ("tangential", curl_A, "gradient")])
def test_cube_pure_fields_leave_other_part_at_discretization_level(boundary, field, part):
    """A pure gradient has no solenoidal part and a pure rotation no gradient part
    (on these symmetric meshes to round-off; in general up to an O(h) quadrature
    and projection error), and its own part converges at first order."""
    errs, other = [], []
    for n in (3, 6):
        d = helmholtz_hodge_3d(cube(n), field, boundary=boundary)
        own = "gradient" if part == "solenoidal" else "solenoidal"
        errs.append(_err(d, getattr(d, own), field))
        other.append(d.norms[part] / d.norms["flux"])
    o = np.log(errs[0] / errs[1]) / np.log(2)
    assert o > 0.8, (o, errs)
    assert other[1] < max(0.6 * other[0], 1e-12) and other[1] < 0.05, other


def test_tangential_variant_rigid_rotation_is_solenoidal():
    """q = e_z × (x − x_c): divergence-free with normal flux through the side
    faces. 'tangential' puts it all in curl A: (q, ∇v) = 0 exactly for v ∈ P1₀
    (q linear, exact quadrature), ∇φ = 0 to round-off; 'normal' must give the
    normal flux to ∇φ, a part of order one. Its vorticity ω = (0, 0, 2) is
    reproduced exactly (a constant lies in N0)."""
    q = lambda x: np.stack([-(x[1] - 0.5), x[0] - 0.5, 0 * x[2]])  # noqa: E731
    t3, t6 = (helmholtz_hodge_3d(cube(n), q, boundary="tangential") for n in (3, 6))
    assert t6.norms["gradient"] < 1e-12 * t6.norms["flux"], t6.norms
    assert t6.norms["harmonic"] < 0.6 * t3.norms["harmonic"], (t3.norms, t6.norms)
    n6 = helmholtz_hodge_3d(cube(6), q, boundary="normal")
    assert n6.norms["gradient"] > 0.3 * n6.norms["flux"]
    w = n6.edge_basis.interpolate(vorticity_3d(cube(6), q)).value  # ω = (0, 0, 2)
    assert np.allclose(w, np.array([0, 0, 2.0])[:, None, None], atol=1e-10)


def _fourier_3d(degree, kappa=2.0, n=3):
    mesh = cube(n)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "hot": lambda x: np.isclose(x[0], 0), "cold": lambda x: np.isclose(x[0], 1),
        "walls": lambda x: ~(np.isclose(x[0], 0) | np.isclose(x[0], 1))})
    bcs = {"hot": fh.Temperature(lambda x, t: 1.0 + np.sin(PI * x[1]) * x[2]),
           "cold": fh.Temperature(0.0), "walls": fh.Insulated()}
    problem = fh.HeatProblem(regions, {"domain": fh.Material(kappa, 1.0, 0.0)}, bcs,
                             source=lambda x, t: 10 * np.exp(-20 * ((x[0] - .3) ** 2
                                                                    + (x[1] - .6) ** 2
                                                                    + (x[2] - .4) ** 2)),
                             degree=degree)
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


@pytest.mark.parametrize("degree", [0, 1])
def test_fourier_3d_flux_has_zero_solenoidal_part(degree):
    """(κ⁻¹q_h, curl B) = 0 for B ∈ N0 with B × n = 0: A and curl A of
    boundary='normal' vanish to round-off for the 3D RT Fourier solutions."""
    system, state = _fourier_3d(degree)
    d = flux_decomposition(system, state)
    assert isinstance(d, HodgeDecomposition3D)
    nr = d.norms
    assert nr["solenoidal"] < 1e-12 * nr["flux"], nr
    assert np.abs(d.vector_potential).max() < 1e-12 * np.abs(d.flux_values).max()
    assert nr["gradient"] > 0.9 * nr["flux"]


def test_3d_absorb_harmonic_refused():
    with pytest.raises(fh.FemheatInputError, match="absorb_harmonic"):
        helmholtz_hodge(cube(2), grad_u, absorb_harmonic=True)
