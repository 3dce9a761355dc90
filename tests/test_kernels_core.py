"""Nonlocal kernels (seed 004 eq. 35–41): profiles, cell-pair quadrature, operator, moments.

BENCHMARKS.md section 5: N1 (moments and symbols), N2 (grating decay rate with the
Gaussian kernel on a periodic box), N4 (film κ_eff with the kernel truncated at the
boundary); plus exactness checks of the singular quadrature against independent
references and agreement of the compressed operators with the dense oracle.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import skfem
from scipy import integrate, special

import femheat as fh
from femheat.errors import FemheatInputError, RegionError
from femheat.kernels import (CallableKernel, CellPairQuadrature, GaussianKernel, NonlocalOperator,
                             PowerLawKernel, TabulatedKernel, YukawaKernel, equivalent_gk_length,
                             gaussian_interface_conductance, interface_conductance, kernel_moment,
                             moment_tensors, truncated_moments)
from femheat.kernels.functions import RadialKernel

# ---------------------------------------------------------------------------- profiles

KERNELS = [GaussianKernel(0.7, d) for d in (1, 2, 3)] + [YukawaKernel(0.5, d) for d in (1, 2, 3)] \
    + [PowerLawKernel(0.3, 6.5, d) for d in (1, 2, 3)]


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_profile_normalization_and_symbol(kernel):
    """∫ g dV = 1 in the kernel's dimension, and the closed-form symbol equals the
    numerical Hankel transform of the profile (1D cosine, 2D J0, 3D sinc)."""
    mass = RadialKernel.radial_mass(kernel, [kernel._support()])[0]
    assert mass == pytest.approx(1.0, abs=1e-9)
    k = np.array([0.0, 0.3, 1.0, 2.5, 6.0]) / kernel.length
    numeric = RadialKernel.symbol(kernel, k)
    np.testing.assert_allclose(numeric, kernel.symbol(k), atol=1e-9)
    # second moment = −ĝ''(0) per axis, from the symbol by finite differences
    eps = 1e-3 / kernel.length
    fd = -(kernel.symbol(np.array([eps]))[0] - 1.0) * 2 / eps**2
    assert fd == pytest.approx(kernel.second_moment(), rel=1e-4)
    # cut-off radius: mass beyond it equals tol
    rc = kernel.cutoff_radius(1e-6)
    assert 1 - float(np.atleast_1d(kernel.radial_mass(rc))[0]) == pytest.approx(1e-6, rel=1e-5)


def test_tabulated_and_callable_match_gaussian():
    """A Gaussian given as a table (monotone spline) or as a callable reproduces the
    closed-form symbol; the table is normalized automatically, the callable checked."""
    a = 0.4
    g = GaussianKernel(a, 2)
    r = np.linspace(0, 7 * a, 400)
    tab = TabulatedKernel(r, 5.0 * g.profile(r), dim=2)  # wrong scale on purpose
    assert tab.scale == pytest.approx(0.2, rel=1e-6)
    k = np.array([0.5, 2.0, 5.0])
    np.testing.assert_allclose(tab.symbol(k), g.symbol(k), atol=2e-6)
    assert tab.second_moment() == pytest.approx(a * a, rel=1e-5)
    call = CallableKernel(g.profile, 2, length=a)
    np.testing.assert_allclose(call.symbol(k), g.symbol(k), atol=1e-9)
    with pytest.raises(FemheatInputError, match=r"not normalized in 2D: ∫ g dV = 2"):
        CallableKernel(lambda s: 2 * g.profile(s), 2, length=a)


def test_yukawa_is_steady_gk_beta0():
    """Yukawa symbol 1/(1 + l²k²) and the potential H solve ΔH = g (radial Laplacian)."""
    for d in (1, 2, 3):
        y = YukawaKernel(0.3, d)
        r = np.array([0.05, 0.2, 0.7])
        e = 1e-4
        H = y.potential
        lap = (H(r + e) - 2 * H(r) + H(r - e)) / e**2 + (d - 1) / r * (H(r + e) - H(r - e)) / (2 * e)
        np.testing.assert_allclose(lap, y.profile(r), rtol=1e-5)
        assert y.potential(np.array([0.0]))[0] == 0.0


@pytest.mark.parametrize("make, match", [
    (lambda: GaussianKernel(0.0, 2), r"GaussianKernel a must be a finite length > 0"),
    (lambda: GaussianKernel(float("nan"), 2), r"GaussianKernel a must be a finite length > 0"),
    (lambda: GaussianKernel(1.0, 4), r"kernel dim must be 1, 2 or 3"),
    (lambda: YukawaKernel(-1.0, 3), r"YukawaKernel l must be a finite length > 0"),
    (lambda: PowerLawKernel(0.1, 2.0, 2), r"p must exceed dim = 2 for the kernel to be normalizable"),
    (lambda: TabulatedKernel([0, 2, 1], [1, 1, 0], 2), r"strictly increasing"),
    (lambda: TabulatedKernel([0, 1, 2], [1, -1, 0], 2), r"g must be >= 0"),
    (lambda: TabulatedKernel([0, 1, 2], [1, float("nan"), 0], 2), r"finite"),
    (lambda: CallableKernel("g", 2, length=1.0), r"profile must be callable"),
    (lambda: GaussianKernel(1.0, 2).cutoff_radius(0.0), r"tol must be in \(0, 1\)"),
])
def test_bad_kernel_input(make, match):
    with pytest.raises(FemheatInputError, match=match):
        make()


# ---------------------------------------------------------------------------- moments (N1)

def test_moments_of_gaussian_and_gk_lengths():
    """κ⁽⁰⁾ = κ, κ⁽¹⁾ = 0, κ⁽²⁾_ijkl = κ a² δ_ij δ_kl (seed 004 after eq. 37), κ⁽⁴⁾_xxxx = 3κa⁴;
    equivalent GK lengths a/√2 (β = 0) and a/√6 (β = 2, longitudinal)."""
    kap, a = 2.5, 0.3
    k0, k1, k2, k3, k4 = moment_tensors(GaussianKernel(a, 3), kap, 4)
    np.testing.assert_allclose(k0, kap * np.eye(3))
    assert np.all(k1 == 0) and np.all(k3 == 0)
    np.testing.assert_allclose(k2, kap * a**2 * np.einsum("ij,kl->ijkl", np.eye(3), np.eye(3)), atol=1e-15)
    assert k4[0, 0, 0, 0, 0, 0] == pytest.approx(3 * kap * a**4)
    assert k4[0, 0, 0, 0, 1, 1] == pytest.approx(kap * a**4)
    assert equivalent_gk_length(GaussianKernel(a, 3)) == pytest.approx(a / math.sqrt(2))
    assert equivalent_gk_length(GaussianKernel(a, 3), beta=2) == pytest.approx(a / math.sqrt(6))
    assert equivalent_gk_length(YukawaKernel(0.2, 2)) == pytest.approx(0.2)
    # numerical moments of a tabulated profile agree with the closed forms
    r = np.linspace(0, 8 * a, 600)
    tab = TabulatedKernel(r, GaussianKernel(a, 2).profile(r), 2)
    assert kernel_moment(tab, 4) == pytest.approx(3 * a**4, rel=1e-4)
    assert kernel_moment(YukawaKernel(0.2, 3), 4) == pytest.approx(24 * 0.2**4)


@pytest.mark.parametrize("kl, simplified, full, gauss2, gauss6", [
    (0.05, 0.997506, 0.992556, 0.997503, 0.992528),
    (0.2, 0.961538, 0.892857, 0.960789, 0.886920),
    (0.5, 0.800, 0.571429, 0.778801, 0.472367),
    (1.0, 0.5, 0.25, 0.367879, 0.049787),
])
def test_n1_symbols(kl, simplified, full, gauss2, gauss6):
    """BENCHMARKS N1: κ(k)/κ for Yukawa (= simplified GK), Yukawa with l√3 (full GK,
    longitudinal) and the Gaussians matched at β = 0 and β = 2."""
    l = 1.0  # noqa: E741
    k = np.array([kl / l])
    assert YukawaKernel(l, 3).symbol(k)[0] == pytest.approx(simplified, abs=1e-6)
    assert YukawaKernel(math.sqrt(3) * l, 3).symbol(k)[0] == pytest.approx(full, abs=1e-6)
    assert GaussianKernel(math.sqrt(2) * l, 3).symbol(k)[0] == pytest.approx(gauss2, abs=1e-6)
    assert GaussianKernel(math.sqrt(6) * l, 3).symbol(k)[0] == pytest.approx(gauss6, abs=1e-6)


def square_regions(n=20, L=1.0, H=1.0, **kw):
    m = skfem.MeshTri.init_tensor(np.linspace(0, L, n + 1), np.linspace(0, H, int(round(n * H / L)) + 1))
    return fh.RegionMesh.from_skfem(m, **kw)


def test_truncated_moments_near_a_wall():
    """With the kernel truncated at the boundary, κ⁽⁰⁾_xx = κ(1 + erf(z/√2a))/2 and
    κ⁽¹⁾_xxy = κ a e^{−z²/2a²}/√(2π) at distance z from a flat wall; bulk values far away."""
    kap, a = 2.0, 0.05
    op = NonlocalOperator(square_regions(40), kap, GaussianKernel(a, 2), local_fraction=1.0)
    bulk = truncated_moments(op, [0.5, 0.5], 2)
    assert bulk[0][0, 0] == pytest.approx(kap, rel=1e-10)
    assert abs(bulk[1][0, 0, 1]) < 1e-12
    assert bulk[2][0, 0, 0, 0] == pytest.approx(kap * a * a, rel=1e-8)
    z = 0.03
    wall = truncated_moments(op, [0.5, z], 1)
    assert wall[0][0, 0] == pytest.approx(kap * (1 + special.erf(z / (math.sqrt(2) * a))) / 2, rel=1e-10)
    assert wall[1][0, 0, 1] == pytest.approx(kap * a * math.exp(-z * z / (2 * a * a)) / math.sqrt(2 * math.pi),
                                             rel=1e-8)


@pytest.mark.parametrize("z", [0.0, 0.02, 0.07])
def test_eq41_interface_conductance_closed_form(z):
    """Eq. 41 for a uniform Gaussian interface kernel on a planar interface:
    G_K = κ e^{−z²/2a²}/(√(2π)a), numerically over the mesh's interface facets."""
    regions = square_regions(20, subdomains={"A": lambda x: x[0] < 0.5, "B": lambda x: x[0] > 0.5},
                             interfaces={"AB": lambda x: np.isclose(x[0], 0.5)})
    a = 0.05
    num = interface_conductance(regions, "AB", GaussianKernel(a, 2), 3.0, [0.5 + z, 0.5])
    assert num == pytest.approx(gaussian_interface_conductance(3.0, a, z), rel=1e-9)


def test_eq41_in_3d():
    m = skfem.MeshTet.init_tensor(*([np.linspace(0, 1, 7)] * 3))
    regions = fh.RegionMesh.from_skfem(m, subdomains={"A": lambda x: x[2] < 0.5, "B": lambda x: x[2] > 0.5},
                                       interfaces={"AB": lambda x: np.isclose(x[2], 0.5)})
    a = 0.06
    num = interface_conductance(regions, "AB", GaussianKernel(a, 3), 1.5, [0.5, 0.5, 0.5], degree=12, level=1)
    assert num == pytest.approx(1.5 / (math.sqrt(2 * math.pi) * a), rel=1e-8)


# ---------------------------------------------------------------------------- quadrature

def _square_reference_2d(g):
    """∫_{[0,1]²}∫_{[0,1]²} g(|x−y|) = ∫_{[-1,1]²} g(|u|)(1−|u₁|)(1−|u₂|) du, polar about 0."""
    f = lambda r, th: g(r) * (1 - r * np.cos(th)) * (1 - r * np.sin(th)) * r  # noqa: E731
    v, _ = integrate.dblquad(f, 0, np.pi / 4, 0, lambda th: 1 / np.cos(th), epsabs=1e-14, epsrel=1e-12)
    return 8 * v


def _cube_reference_3d(g):
    """Same in 3D, Duffy-collapsed pyramids u = u₁(1, s, t): the 1/r singularity cancels."""
    xg, wg = np.polynomial.legendre.leggauss(40)
    xg, wg = (xg + 1) / 2, wg / 2
    s, t = np.meshgrid(xg, xg, indexing="ij")
    ws = np.outer(wg, wg)
    rho = np.sqrt(1 + s**2 + t**2)
    f = lambda u: np.sum(ws * g(u * rho) * (1 - u) * (1 - u * s) * (1 - u * t)) * u * u  # noqa: E731
    v, _ = integrate.quad(f, 0, 1, epsabs=1e-15, epsrel=1e-12, limit=200)
    return 24 * v


@pytest.mark.parametrize("kernel", [GaussianKernel(0.3, 2), YukawaKernel(0.3, 2), YukawaKernel(2.0, 2)], ids=repr)
def test_pair_integrals_on_a_split_square(kernel):
    """Σ_{K,K'} W over the two triangles of the unit square (self and edge-touching pairs,
    log-singular for 2D Yukawa) equals the independent polar reference to 1e-7."""
    p = np.array([[0, 1, 1, 0], [0, 0, 1, 1]], float)
    t = np.array([[0, 1, 2], [0, 2, 3]]).T
    q = CellPairQuadrature(p, t, kernel, tol=1e-8)
    W = q.entries([0, 1], [0, 1])
    assert W.sum() == pytest.approx(_square_reference_2d(kernel.profile), rel=1e-7)
    assert W[0, 1] == pytest.approx(W[1, 0], rel=1e-13)


@pytest.mark.parametrize("kernel", [YukawaKernel(0.3, 3), YukawaKernel(2.0, 3)], ids=repr)
def test_pair_integrals_on_a_split_cube(kernel):
    """The 6 tetrahedra of a cube: self, face-, edge- and vertex-touching pairs of the
    1/r-singular 3D Yukawa kernel sum to the Duffy reference within 1e-7."""
    m = skfem.MeshTet.init_tensor(np.array([0, 1.0]), np.array([0, 1.0]), np.array([0, 1.0]))
    q = CellPairQuadrature(m.p, m.t, kernel, tol=1e-8)
    n = m.t.shape[1]
    W = q.entries(np.arange(n), np.arange(n))
    assert W.sum() == pytest.approx(_cube_reference_3d(kernel.profile), rel=1e-7)
    np.testing.assert_allclose(W, W.T, rtol=1e-10)


def test_singular_self_term_vs_polar_reference():
    """W[K,K] of one triangle for the log-singular 2D Yukawa kernel against an independent
    evaluation: inner integral in polar coordinates about x via the radial mass
    Φ(x) = (1/2π)∫ M(ρ(θ)) dθ, outer integral with a composite rule. Agreement 1e-7 (the
    reference converges to ~1e-9 with 240 angular points, the H-form rule to 2e-8)."""
    from femheat.kernels.quadrature import simplex_rule
    kern = YukawaKernel(0.4, 2)
    v = np.array([[0.0, 0.0], [1.0, 0.1], [0.3, 0.8]])
    q = CellPairQuadrature(v.T, np.array([[0], [1], [2]]), kern, tol=1e-9)
    W = q.entries([0], [0])[0, 0]
    x, w = simplex_rule(2, 19, 2)
    area = 0.5 * abs(np.linalg.det(v[1:] - v[0]))
    X = v[0] + x @ (v[1:] - v[0])
    # many angular points: near an edge M(ρ(θ)) has features of width ~ distance/l
    xg, wg = np.polynomial.legendre.leggauss(240)
    phi = np.zeros(len(X))
    for i, xp in enumerate(X):
        ang = np.sort(np.arctan2(*(v - xp).T[::-1]))
        ang = np.append(ang, ang[0] + 2 * np.pi)
        for a0, a1 in zip(ang[:-1], ang[1:]):
            th = 0.5 * (a1 - a0) * xg + 0.5 * (a1 + a0)
            d = np.stack([np.cos(th), np.sin(th)], 1)
            rho = np.full(th.size, np.inf)
            for e0, e1 in ((0, 1), (1, 2), (2, 0)):  # ray/edge intersections
                A = np.stack([d, np.broadcast_to(v[e0] - v[e1], d.shape)], axis=2)
                sol = np.linalg.solve(A, np.broadcast_to(v[e0] - xp, d.shape)[..., None])[..., 0]
                ok = (sol[:, 0] > 0) & (sol[:, 1] >= -1e-12) & (sol[:, 1] <= 1 + 1e-12)
                rho = np.where(ok, np.minimum(rho, sol[:, 0]), rho)
            phi[i] += 0.5 * (a1 - a0) * wg @ kern.radial_mass(rho) / (2 * np.pi)
    ref = area * (w @ phi)
    assert W == pytest.approx(ref, rel=1e-7)


# ---------------------------------------------------------------------------- operator

def strip(n=20, L=1.0, H=0.6):
    return square_regions(n, L, H, boundaries={"bottom": lambda x: np.isclose(x[1], 0),
                                               "top": lambda x: np.isclose(x[1], H),
                                               "left": lambda x: np.isclose(x[0], 0)})


@pytest.mark.parametrize("kernel, tol", [(GaussianKernel(0.1, 2), 1e-4), (GaussianKernel(0.1, 2), 1e-7),
                                         (YukawaKernel(0.06, 2), 1e-5)], ids=repr)
def test_cutoff_agrees_with_dense(kernel, tol):
    """Cut-off (sparse upper triangle, sorted cells) vs dense oracle on random T:
    relative error of a(T, ·) within the requested tol; both symmetric with zero row sums."""
    regions = strip(16)
    rng = np.random.default_rng(1)
    dense = NonlocalOperator(regions, 2.0, kernel, method="dense", tol=tol)
    cut = NonlocalOperator(regions, 2.0, kernel, method="cutoff", tol=tol)
    T = rng.standard_normal((dense.n, 3))
    a, b = dense.apply(T), cut.apply(T)
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < tol
    A = cut.dense_matrix()
    np.testing.assert_allclose(A, A.T, atol=1e-13 * np.abs(A).max())
    np.testing.assert_allclose(A.sum(axis=1), 0, atol=1e-12 * np.abs(A).max())
    assert cut.nbytes < dense.nbytes


def test_hmatrix_agrees_with_dense():
    """Long-range power-law kernel: 'auto' picks the hierarchical matrix, which agrees with
    the dense oracle to the requested accuracy."""
    pytest.importorskip("femheat.kernels.hmatrix")
    regions = strip(16)
    kern = PowerLawKernel(0.05, 3.5, 2)
    tol = 1e-6
    dense = NonlocalOperator(regions, 1.0, kern, method="dense", tol=tol)
    hm = NonlocalOperator(regions, 1.0, kern, method="auto", tol=tol)
    assert hm.method == "hmatrix"
    T = np.random.default_rng(2).standard_normal(dense.n)
    a, b = dense.apply(T), hm.apply(T)
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 10 * tol


@pytest.mark.parametrize("a_over_d, expected", [(0.1, 0.920212), (0.5, 0.609548), (1.0, 0.368746)])
def test_n4_film_truncated_kernel(a_over_d, expected):
    """BENCHMARKS N4: T = −Gx on a 2D strip of thickness d with the Gaussian truncated at the
    walls; the cross-section average of q_x gives κ_eff/κ = erf(d/√2a) − √2a/(√π d)(1 − e^{−d²/2a²})
    within 0.2 % (2D = 3D film: only the 1D marginal of g normal to the walls enters)."""
    d, h, tol = 1.0, 0.1, 1e-8
    a = a_over_d * d
    kern = GaussianKernel(a, 2)
    nx = int(math.ceil((2 * kern.cutoff_radius(tol) + 4 * h) / h))
    regions = square_regions(nx, nx * h, d)
    kap, G = 3.0, 2.0
    op = NonlocalOperator(regions, kap, kern, method="cutoff", tol=tol)
    q = op.flux(-G * regions.mesh.p[0])
    mid = np.abs(op.centroids[:, 0] - nx * h / 2) < h
    keff = np.sum(q[mid, 0] * op.measure[mid]) / np.sum(op.measure[mid]) / (kap * G)
    exact = special.erf(d / (math.sqrt(2) * a)) - math.sqrt(2) * a / (math.sqrt(math.pi) * d) * (
        1 - math.exp(-d * d / (2 * a * a)))
    assert exact == pytest.approx(expected, abs=1e-6)
    assert keff == pytest.approx(exact, rel=2e-3)
    assert keff == pytest.approx(exact, rel=1e-6)  # what the quadrature actually delivers


@pytest.mark.parametrize("ka", [0.5, 1.0, 2.0, 3.0])
def test_n2_grating_rate_periodic(ka):
    """BENCHMARKS N2: on a periodic box (lattice-summed kernel), the Rayleigh quotient of
    (a, mass) for T = e^{ikx} gives the decay rate κk²exp(−a²k²/2)/C within 0.2 % up to ka = 3."""
    lam, kap, nx = 1.0, 2.0, 64
    k = 2 * math.pi / lam
    a = ka / k
    Ly = max(a, lam / nx)
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, lam, nx + 1), np.array([0.0, Ly]))
    op = NonlocalOperator(fh.RegionMesh.from_skfem(mesh), kap, GaussianKernel(a, 2), method="cutoff",
                          tol=1e-8, period=(lam, Ly))
    M = op.mass()
    x = mesh.p[0]
    c, s = np.cos(k * x), np.sin(k * x)
    rate = (c @ op.apply(c) + s @ op.apply(s)) / (c @ (M @ c) + s @ (M @ s))
    assert rate == pytest.approx(kap * k**2 * math.exp(-0.5 * (a * k) ** 2), rel=2e-3)


def test_anisotropic_tensor_kernel_on_periodic_box():
    """Z = K^{1/2} g K^{1/2}: on a periodic box a uniform gradient sees q = −K∇T exactly
    (the lattice-summed kernel has unit mass); callable and dict inputs give the same."""
    th = 0.4
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    K = R @ np.diag([3.0, 0.5]) @ R.T
    regions = square_regions(12)
    grad = np.array([-2.0, 1.0])
    T = regions.mesh.p.T @ grad
    ops = [NonlocalOperator(regions, K, GaussianKernel(0.15, 2), method=m, tol=1e-8, period=(1.0, 1.0))
           for m in ("cutoff", "dense")]
    ops.append(NonlocalOperator(regions, {"domain": K}, GaussianKernel(0.15, 2), tol=1e-8, period=(1.0, 1.0)))
    ops.append(NonlocalOperator(regions, lambda x: np.multiply.outer(K, np.ones(x.shape[1:])),
                                GaussianKernel(0.15, 2), tol=1e-8, period=(1.0, 1.0)))
    for op in ops:
        np.testing.assert_allclose(op.flux(T), np.broadcast_to(-K @ grad, (op.ncells, 2)), rtol=1e-6, atol=1e-6)


def test_two_phase_law_and_local_stiffness():
    """q = −ξκ∇T − (1−ξ)∫Z∇T: ξ = 1 is exactly the local P1 stiffness; the operator is
    linear in ξ."""
    regions = strip(10)
    kern = GaussianKernel(0.1, 2)
    T = np.random.default_rng(3).standard_normal(regions.mesh.p.shape[1])
    op1 = NonlocalOperator(regions, 2.0, kern, local_fraction=1.0)
    np.testing.assert_allclose(op1.apply(T), op1.local_stiffness() @ T, rtol=1e-12, atol=1e-12)
    lap = skfem.asm(skfem.models.poisson.laplace, op1.basis) * 2.0
    np.testing.assert_allclose(op1.local_stiffness().toarray(), lap.toarray(), atol=1e-12)
    op0 = NonlocalOperator(regions, 2.0, kern, local_fraction=0.0, method="dense")
    op3 = NonlocalOperator(regions, 2.0, kern, local_fraction=0.3, method="dense")
    np.testing.assert_allclose(op3.apply(T), 0.3 * op1.apply(T) + 0.7 * op0.apply(T), rtol=1e-10, atol=1e-12)


def test_mirror_images_at_planar_walls():
    """mirror=['bottom', 'top'] adds first images across both film walls: κ_eff becomes
    (1/d)∫₀^d ½[erf((2d−y)/√2a) + erf((y+d)/√2a)] dy, and the operator stays symmetric."""
    d, a, h = 1.0, 0.5, 0.1
    kern = GaussianKernel(a, 2)
    nx = int(math.ceil((2 * kern.cutoff_radius(1e-8) + 4 * h) / h))
    regions = square_regions(nx, nx * h, d, boundaries={"bottom": lambda x: np.isclose(x[1], 0),
                                                         "top": lambda x: np.isclose(x[1], d)})
    op = NonlocalOperator(regions, 1.0, kern, tol=1e-8, mirror=["bottom", "top"])
    q = op.flux(-regions.mesh.p[0])
    mid = np.abs(op.centroids[:, 0] - nx * h / 2) < h
    keff = np.sum(q[mid, 0] * op.measure[mid]) / np.sum(op.measure[mid])
    s = math.sqrt(2) * a
    exact = integrate.quad(lambda y: 0.5 * (special.erf((2 * d - y) / s) + special.erf((y + d) / s)), 0, d)[0] / d
    assert keff == pytest.approx(exact, rel=1e-6)
    small = NonlocalOperator(strip(6), 1.0, GaussianKernel(0.1, 2), tol=1e-6, mirror=["bottom"])
    A = small.dense_matrix()
    np.testing.assert_allclose(A, A.T, atol=1e-13 * np.abs(A).max())


def test_inhomogeneous_kernel_is_symmetric():
    """√(κ(r)κ(R)) g with a position-dependent range a(r) (Paciorek form) stays symmetric;
    a constant a(r) reproduces the plain kernel."""
    regions = strip(8)
    kern = GaussianKernel(0.1, 2)
    op = NonlocalOperator(regions, lambda x: 1 + x[0] ** 2, kern, method="dense",
                          kernel_length=lambda x: 0.08 + 0.05 * x[1])
    A = op.dense_matrix()
    np.testing.assert_allclose(A, A.T, atol=1e-13 * np.abs(A).max())
    plain = NonlocalOperator(regions, 1.0, kern, method="dense", tol=1e-8)
    const = NonlocalOperator(regions, 1.0, kern, method="dense", tol=1e-8,
                             kernel_length=lambda x: np.full(x.shape[1], 0.1))
    T = regions.mesh.p[0] ** 2
    np.testing.assert_allclose(const.apply(T), plain.apply(T), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs, match", [
    (dict(local_fraction=1.5), r"local_fraction ξ must be in \[0, 1\], got 1.5"),
    (dict(local_fraction="x"), r"local_fraction must be a number"),
    (dict(method="fast"), r"method must be one of 'auto', 'dense', 'cutoff', 'hmatrix', 'fft'"),
    (dict(tol=0.0), r"tol must be in \(0, 0.1\]"),
    (dict(conductivity={"matrix": 1.0}), r"unknown subdomain 'matrix'; the mesh has subdomains: 'domain'"),
    (dict(conductivity=-1.0), r"conductivity must be positive definite"),
    (dict(conductivity=[[1.0, 0.5], [-0.5, 1.0]]), r"must be a symmetric tensor"),
    (dict(mirror=["nowhere"]), r"unknown boundary 'nowhere'"),
    (dict(period=(0.5, None)), r"period\[0\] = 0.5 m but the mesh spans 1 m"),
    (dict(kernel=GaussianKernel(0.1, 3)), r"kernel is normalized in 3D but the mesh is 2D"),
    (dict(method="dense", max_dense_cells=10), r"method='dense' is the test oracle"),
    (dict(quadrature="gauss"), r"quadrature must be one of 'exact', 'centroid', got 'gauss'"),
    (dict(quadrature="centroid", kernel=YukawaKernel(0.2, 2)),
     r"quadrature = 'centroid' needs a kernel bounded and smooth at r = 0; YukawaKernel"),
])
def test_bad_operator_input(kwargs, match):
    regions = square_regions(4, boundaries={"bottom": lambda x: np.isclose(x[1], 0)})
    args = dict(conductivity=1.0, kernel=GaussianKernel(0.2, 2))
    args.update(kwargs)
    cond, kern = args.pop("conductivity"), args.pop("kernel")
    with pytest.raises(FemheatInputError, match=match):
        NonlocalOperator(regions, cond, kern, **args)


def test_mirror_refuses_curved_wall():
    m = skfem.MeshTri.init_circle(3)
    regions = fh.RegionMesh.from_skfem(m, boundaries={"rim": lambda x: np.ones(x.shape[1], bool)})
    with pytest.raises(FemheatInputError, match=r"mirror boundary 'rim' is not planar"):
        NonlocalOperator(regions, 1.0, GaussianKernel(0.2, 2), mirror=["rim"])
    with pytest.raises(RegionError):
        NonlocalOperator(regions, {"domain": 1.0, "extra": 2.0}, GaussianKernel(0.2, 2))


def test_cutoff_agrees_with_dense_3d_and_1d():
    """The bin search and the quadrature in 3D (tetrahedra) and 1D (intervals, with the
    exact overlap reduction for the kinked exponential kernel) match the dense oracle;
    the 1D periodic grating reproduces the exponential kernel's symbol 1/(1 + l²k²)."""
    m = skfem.MeshTet.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 0.8, 4), np.linspace(0, 0.6, 4))
    regions = fh.RegionMesh.from_skfem(m)
    T = np.random.default_rng(4).standard_normal(m.p.shape[1])
    kern = GaussianKernel(0.15, 3)
    a = NonlocalOperator(regions, 1.5, kern, method="dense", tol=1e-6).apply(T)
    b = NonlocalOperator(regions, 1.5, kern, method="cutoff", tol=1e-6).apply(T)
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-6
    line = skfem.MeshLine(np.linspace(0, 1, 81))
    T1 = np.random.default_rng(5).standard_normal(81)
    for kern in (GaussianKernel(0.05, 1), YukawaKernel(0.05, 1)):
        a = NonlocalOperator(line, 1.0, kern, method="dense", tol=1e-8).apply(T1)
        b = NonlocalOperator(line, 1.0, kern, method="cutoff", tol=1e-8).apply(T1)
        # random T is mostly high-frequency, which the Gaussian damps: the truncation error
        # (1e-8 of the kernel mass) shows up amplified relative to |a(T)|
        assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-6
        per = NonlocalOperator(line, 1.0, kern, method="cutoff", tol=1e-10, period=(1.0,))
        k = 2 * np.pi
        x = line.p[0]
        c, s = np.cos(k * x), np.sin(k * x)
        M = per.mass()
        rate = (c @ per.apply(c) + s @ per.apply(s)) / (c @ (M @ c) + s @ (M @ s))
        assert rate == pytest.approx(k**2 * kern.symbol(np.array([k]))[0], rel=2e-3)


def test_n4_wire_truncated_kernel(tmp_path):
    """BENCHMARKS N4, wire: T = −Gx along a cylinder of radius R (3D Gaussian truncated at
    the surface, periodic along the axis): κ_eff/κ = (1/πR²)∫ g(s) A_ov(s) 2πs ds = 0.614247
    for a/R = 0.5. Measured −3.2e-3 (h = 0.3R) and −1.5e-3 (h = 0.2R), following the
    polygonal cross-section's area deficit (1.1e-2, 5.2e-3): within 0.2 % at h = 0.2R."""
    from scipy import integrate

    from femheat.mesh.geometry import build

    pytest.importorskip("gmsh")
    R, a, L = 1.0, 0.5, 0.5

    def g(s):
        return np.exp(-s * s / (2 * a * a)) / (2 * np.pi * a * a)

    def overlap(s):
        return 2 * R * R * np.arccos(s / (2 * R)) - s / 2 * np.sqrt(4 * R * R - s * s)

    exact = integrate.quad(lambda s: g(s) * overlap(s) * 2 * np.pi * s, 0, 2 * R,
                           epsabs=1e-13)[0] / (np.pi * R * R)
    assert exact == pytest.approx(0.614247, abs=1e-6)
    errors = []
    for h in (0.3, 0.2):
        regions = build("wire", tmp_path / f"w{h}.msh", radius=R, length=L, mesh_size=h)
        op = NonlocalOperator(regions, 2.0, GaussianKernel(a, 3), method="cutoff", tol=1e-6,
                              period=(L, None, None))
        q = op.flux(-3.0 * regions.mesh.p[0])  # G = 3 K/m
        keff = float(np.sum(q[:, 0] * op.measure) / np.sum(op.measure)) / (2.0 * 3.0)
        errors.append(keff / exact - 1)
    assert abs(errors[1]) < 2e-3 and abs(errors[1]) < abs(errors[0]), errors


# ------------------------------------------------------------------ lattice FFT operator
@pytest.mark.parametrize("kernel, quadrature, period", [
    (GaussianKernel(0.15, 2), "exact", None), (GaussianKernel(0.15, 2), "centroid", None),
    (GaussianKernel(0.15, 2), "centroid", (1.0, None)), (YukawaKernel(0.1, 2), "exact", (1.0, None)),
    (PowerLawKernel(0.05, 3.5, 2), "exact", None)], ids=repr)
def test_fft_agrees_with_dense(kernel, quadrature, period):
    """method='fft' on an init_tensor mesh (2 cell types) equals the dense oracle: measured
    1e-15 without periodicity (same pair rule, every offset inside the reach), 1e-10 with it
    (the dense path truncates the lattice sum at r_c, the FFT folds it exactly). The long-range
    power law is exact too (the convolution covers every offset, no compression)."""
    m = skfem.MeshTri.init_tensor(np.linspace(0, 1, 13), np.linspace(0, 0.7, 13))
    regions = fh.RegionMesh.from_skfem(m)
    dense = NonlocalOperator(regions, 1.0, kernel, method="dense", tol=1e-8, quadrature=quadrature,
                             period=period)
    fft = NonlocalOperator(regions, 1.0, kernel, method="fft", tol=1e-8, quadrature=quadrature,
                           period=period)
    T = np.random.default_rng(7).standard_normal((dense.n, 2))
    a, b = dense.apply(T), fft.apply(T)
    assert np.abs(a - b).max() <= 1e-8 * np.abs(a).max(), np.abs(a - b).max() / np.abs(a).max()
    assert fft.stats["lattice_types"] == 2
    A = fft.dense_matrix()
    np.testing.assert_allclose(A, A.T, atol=1e-13 * np.abs(A).max())


def _lattice_mesh(dim: int):
    """A small lattice mesh inside the kernel's reach (the dense oracle has no cut-off)."""
    if dim == 1:
        return skfem.MeshLine(np.linspace(0, 1, 41))
    if dim == 2:
        return skfem.MeshTri.init_tensor(np.linspace(0, 1, 11), np.linspace(0, 0.7, 8))
    e = np.linspace(0, 1, 5)
    return skfem.MeshTet.init_tensor(e, e, np.linspace(0, 0.75, 4))


def _reordered(mesh, ordering: str, rng):
    """The same mesh with its cells listed in another order ("cells"), and also with each
    cell's vertices in a random order ("cells+vertices"): other representatives per type."""
    if ordering == "as built":
        return mesh
    t = mesh.t[:, rng.permutation(mesh.t.shape[1])]
    if ordering == "cells+vertices":
        t = np.stack([t[rng.permutation(t.shape[0]), j] for j in range(t.shape[1])], axis=1)
    return type(mesh)(mesh.p, t)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("quadrature, tol", [("exact", 1e-4), ("exact", 1e-8), ("centroid", 1e-4)])
@pytest.mark.parametrize("ordering", ["as built", "cells", "cells+vertices"])
def test_fft_equals_dense_to_roundoff(dim, quadrature, tol, ordering):
    """The lattice FFT operator is the dense oracle to round-off (<= 1e-12 relative), in 1D,
    2D and 3D, for both pair rules, with the float32 product rules (tol >= 1e-6) and float64,
    whatever order mesh.t lists the cells and their vertices in. A Gaussian whose cut-off
    exceeds the mesh: every offset is in the FFT's reach, so nothing but rounding differs.
    The transposed type-pair block is taken from one evaluation only where the pair rule is
    symmetric to round-off (a 2-evaluation average otherwise, as the oracle does): taking it
    from the float32 rule gave 7e-8 here and 1.9e-8 on the bench_kernels mesh (issue 19).

    The float32 rules are round-off equal at their own precision only: their weighted
    sums over quadrature points are BLAS sgemv products, whose rounding on AVX-512
    machines depends on a pair's row within its batch, and the FFT operator batches its
    representative pairs differently from the oracle (measured 4.7e-11 / 8.6e-11 in 2D /
    3D there, ≤ 1e-12 on the machines this test was written on; an einsum makes it
    1e-12 everywhere but costs 2–10× on that product). So they are held to 1e-9, the
    float64 rules to 1e-12."""
    mesh = _reordered(_lattice_mesh(dim), ordering, np.random.default_rng(3))
    regions = fh.RegionMesh.from_skfem(mesh)
    kern = GaussianKernel(0.4 if dim == 3 else 0.3, dim)
    dense = NonlocalOperator(regions, 1.0, kern, method="dense", tol=tol, quadrature=quadrature)
    fft = NonlocalOperator(regions, 1.0, kern, method="fft", tol=tol, quadrature=quadrature)
    assert fft.stats["cutoff_radius"] > np.linalg.norm(np.ptp(mesh.p, axis=1))
    assert fft.stats["lattice_types"] == {1: 1, 2: 2, 3: 6}[dim]
    T = np.random.default_rng(1).standard_normal(dense.n)
    a, b = dense.apply(T), fft.apply(T)
    err = np.linalg.norm(a - b) / np.linalg.norm(a)
    float32_rule = quadrature == "exact" and tol >= 1e-6
    assert err <= (1e-9 if float32_rule else 1e-12), err
    ntypes = fft.stats["lattice_types"]
    blocks = ntypes * (ntypes + 1) // 2
    symmetric = quadrature == "centroid" or tol < 1e-6
    assert fft._W.pair_blocks == (blocks if symmetric else ntypes**2)


def test_fft_on_3d_lattice_with_missing_boxes():
    """Six tetrahedron types per box, and a lattice mesh with one octant of boxes removed
    (an L-shaped body: the kernel is truncated at the re-entrant walls too): FFT = dense."""
    e = np.linspace(0, 1, 5)
    m = skfem.MeshTet.init_tensor(e, e, e)
    c = m.p[:, m.t].mean(axis=1)
    m = m.remove_elements(np.nonzero((c[0] > 0.5) & (c[1] > 0.5) & (c[2] > 0.5))[0])
    regions = fh.RegionMesh.from_skfem(m)
    kern = GaussianKernel(0.2, 3)
    dense = NonlocalOperator(regions, 1.0, kern, method="dense", quadrature="centroid")
    fft = NonlocalOperator(regions, 1.0, kern, method="fft", quadrature="centroid")
    T = np.random.default_rng(8).standard_normal(dense.n)
    a, b = dense.apply(T), fft.apply(T)
    assert fft.stats["lattice_types"] == 6
    assert np.abs(a - b).max() <= 1e-6 * np.abs(a).max()


def test_lattice_detection_and_fft_refusals():
    from femheat.kernels.lattice import detect_lattice
    m = skfem.MeshTri.init_tensor(np.linspace(0, 2, 5), np.linspace(0, 1, 3))
    lat = detect_lattice(m.p, m.t)
    np.testing.assert_allclose(lat.spacing, [0.5, 0.5])
    assert lat.ntypes == 2 and tuple(lat.boxes) == (4, 2)
    graded = skfem.MeshTri.init_tensor(np.array([0, 0.1, 0.3, 1.0]), np.linspace(0, 1, 3))
    assert detect_lattice(graded.p, graded.t) is None
    assert detect_lattice(skfem.MeshTri.init_circle(2).p, skfem.MeshTri.init_circle(2).t) is None
    regions = fh.RegionMesh.from_skfem(graded)
    with pytest.raises(FemheatInputError, match=r"method='fft' needs a lattice mesh"):
        NonlocalOperator(regions, 1.0, GaussianKernel(0.2, 2), method="fft")
    square = square_regions(4, boundaries={"bottom": lambda x: np.isclose(x[1], 0)})
    with pytest.raises(FemheatInputError, match=r"method='fft' does not take mirror walls"):
        NonlocalOperator(square, 1.0, GaussianKernel(0.2, 2), method="fft", mirror=["bottom"])
    with pytest.raises(FemheatInputError, match=r"position-dependent kernel_length"):
        NonlocalOperator(square, 1.0, GaussianKernel(0.2, 2), method="fft",
                         kernel_length=lambda x: 0.1 + 0 * x[0])
