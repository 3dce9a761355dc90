r"""Physics of the nonlocal-kernel solvers (femheat.kernels.solvers / .interfaces).

BENCHMARKS section 5: N5 (Yukawa kernel == steady GK with beta = 0, the cross-module
check), N2 (grating decay with the Gaussian kernel, with and without MCV memory), N3
(Gaussian source, 2D analogue), N4 (in the film case, tests at the bottom), the
ill-posed steady setup, the limits xi = 1 (Fourier) and tau -> 0 (memoryless), energy
balances, preconditioned iteration counts under refinement, and the kernel-derived
interface conductance of seed 004 eqs. 38-41.

Measured facts that shaped these tests (numbers quoted in each test):

* N5. The kernel side is exact to ~1e-10 on a 1D periodic line (P1, 800 cells). femheat's
  GK P0 temperature, per triangle, is off by O(h) on a sourced 1D-like mode (the penalty
  form, BDM1 x P0 and RT x P1DG alike: 3.2e-3, 1.6e-3, 8.1e-4 for nx = 200, 400, 800 at
  eta = 1, four times that at eta = 4; the default vorticity form alike): the two
  triangles of each square carry opposite errors. Their mean converges at O(h^2) (2.1e-5 at nx = 400),
  so N5's 1e-4 is met on square (interval) means. In 2D on a periodic lattice the FFT
  operator needs the singular K0 quadrature only once per cell-type pair and offset: the
  kernel side is exact to 4.5e-7 on 256^2 boxes and GK - kernel is 7.9e-5 (slow test); on
  an unstructured disk the build limits the mesh (percent-level test).
* N3 (2D analogue), xi = 0. Two errors, both measured: (1) exact cell integrals widen the
  kernel by the cells' second moments (1.7-2.9 % on the coarsest usable meshes); the
  centroid rule has no such widening (3x smaller error, nodally exact in 1D). (2) Without
  regularization the error *grows* under refinement below h ~ 0.8a (0.69 % at h = 0.5,
  1.3 % at 0.4, 27 % at 0.33, centroid rule): smooth O(h^2) consistency errors leak through
  the edge of the temperature region into grid-scale modes whose response is
  e^{-a^2 k_h^2/2}; below h ~ 0.7a the operator is numerically singular (indefinite,
  smallest generalized eigenvalue against K_loc -1.6e-9 at a/h = 2, tol = 1e-6) and refused.
  A Tikhonov term eps (kappa grad T, grad w), eps = 1e-4, bounds the amplification by 1/eps
  at a bias of ~2e-4: then N3 converges at O(h^2), 0.25 % at h = 0.3 (BENCHMARKS: 0.5 %).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import skfem
from scipy import special
from scipy.special import exp1

import femheat as fh
from femheat.kernels.functions import GaussianKernel, YukawaKernel
from femheat.kernels.interfaces import InterfaceKernelOperator
from femheat.kernels.moments import gaussian_interface_conductance, interface_conductance
from femheat.kernels.operator import NonlocalOperator
from femheat.kernels.solvers import (IllConditionedWarning, IllPosedError, NonlocalTheta,
                                     assess_well_posedness, solve_steady_nonlocal,
                                     theta_steps_nonlocal)


def _box(x_edges, y_edges, **kw):
    mesh = skfem.MeshTri.init_tensor(np.asarray(x_edges, float), np.asarray(y_edges, float))
    kw.setdefault("boundaries", {"outer": lambda x: np.ones(x.shape[1], dtype=bool)})
    return fh.RegionMesh.from_skfem(mesh, **kw)


# ============================================================================ N5
# Periodic line of period L, zero-mean Gaussian source (images below 1e-7).
# Exact: T^(k) = Q^(k) (1 + l^2 k^2) / (kappa k^2) for both models (beta = 0).
N5_L, N5_KAPPA, N5_L_NL, N5_SIGMA, N5_Q0 = 1.0, 2.0, 0.05, 1.0 / 12, 1e3


def _n5_source(x):
    mean = N5_SIGMA * math.sqrt(2 * math.pi) / N5_L * math.erf(N5_L / (2 * math.sqrt(2) * N5_SIGMA))
    return N5_Q0 * (np.exp(-(x[0] - N5_L / 2) ** 2 / (2 * N5_SIGMA**2)) - mean)


def _n5_exact(x: np.ndarray) -> np.ndarray:
    """Zero-mean periodic solution by the (converged) cosine series of the source."""
    m = 4096
    c = np.fft.rfft(_n5_source(np.arange(m)[None, :] / m * N5_L)) / m
    k = 2 * np.pi * np.arange(c.size) / N5_L
    that = np.zeros_like(c)
    that[1:] = c[1:] * (1 + N5_L_NL**2 * k[1:] ** 2) / (N5_KAPPA * k[1:] ** 2)
    w = np.full(c.size, 2.0)
    w[0] = w[-1] = 1.0
    return np.real((w * that) @ np.exp(1j * np.outer(k, np.ravel(x)))).reshape(np.shape(x))


def _n5_gk_cell_means(regions, source):
    """GK (beta = 0, BDM1 x P0, l = N5_L_NL, the default form: the vorticity form since
    2026-12-06) on insulated walls, zero mean: (temperature basis, cell-mean
    temperatures)."""
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(N5_KAPPA, nonlocal_length=N5_L_NL)},
        {"outer": fh.Insulated()}, source=lambda x, t: source(x), model="gk", degree=0,
        beta=0, penalty=1.0)
    system = fh.assemble(problem)
    state = fh.solve_steady(system, mean_temperature=0.0)
    tb = system.temperature_basis
    return tb, (tb.interpolate(state.temperature).value * tb.dx).sum(axis=1) / tb.dx.sum(axis=1)


def _n5_gk_profile(nx: int) -> np.ndarray:
    """GK (beta = 0, eta = 1, BDM1 x P0) on an insulated strip [0, L] x [0, 2L/nx]: mean T over
    each x-interval. Insulated free-slip walls at x = 0, L are the symmetry planes of the
    periodic (even) solution; the strip's fields depend on x only."""
    ny = 2
    regions = _box(np.linspace(0, N5_L, nx + 1), np.linspace(0, ny * N5_L / nx, ny + 1))
    tb, vals = _n5_gk_cell_means(regions, _n5_source)
    xc = tb.mesh.p[0, tb.mesh.t].mean(axis=0)
    bins = np.minimum((xc / N5_L * nx).astype(int), nx - 1)
    area = np.bincount(bins, tb.dx.sum(axis=1), nx)
    return np.bincount(bins, vals * tb.dx.sum(axis=1), nx) / area


def test_n5_yukawa_kernel_equals_steady_gk_beta0():
    """BENCHMARKS N5: the Yukawa kernel (1D: e^{-|x|/l}/(2l), the planar marginal of the 2D/3D
    one) and femheat's GK solver (beta = 0, same l) give the same periodic temperature, to
    1e-4 relative (of max |T|) in the x-interval means.

    Kernel: P1 on 800 cells, periodic lattice sum, GK-symbol preconditioner (4 iterations).
    GK: BDM1 x P0 (the default vorticity form), on insulated strips of 400/800/1600 x 2
    squares. Measured: kernel vs exact 2.9e-10; GK - kernel 2.1e-5, 5.2e-6, 1.3e-6 (order
    2.00; the penalty form at eta = 1 the same to three digits). Error budget: the
    kernel side is exact to round-off here, the difference is GK's O(h^2) discretization
    error. Per triangle, GK's P0 values differ from the interval mean by up to 2.5e-3
    (nx = 400, O(h); the penalty form 2.3e-3): the two triangles of a square have their
    centroids h/3 apart along the gradient. The comparison is therefore made on interval
    means (cell averages over squares).
    """
    mesh = skfem.MeshLine(np.linspace(0, N5_L, 801))
    op = NonlocalOperator(mesh, N5_KAPPA, YukawaKernel(N5_L_NL, 1), period=(N5_L,), tol=1e-10)
    T, report = solve_steady_nonlocal(op, source=_n5_source, mean_temperature=0.0)
    assert report.preconditioner == "gk" and report.iterations <= 8, report
    x = op.basis.doflocs[0]
    profiles = {}
    for nx in (400, 800, 1600):
        # interval means of the P1 kernel solution: exact by the midpoint value, since every
        # interval lies inside one kernel cell (1600) or is a union of them (trapezoid)
        if nx <= 800:
            per = 800 // nx
            cell_means = 0.5 * (T[:-1] + T[1:])
            kern = cell_means.reshape(nx, per).mean(axis=1)
        else:
            kern = np.interp((np.arange(nx) + 0.5) / nx * N5_L, x, T)
        profiles[nx] = (_n5_gk_profile(nx), kern)
    scale = float(np.abs(profiles[400][1]).max())
    # kernel vs exact interval means (composite Simpson on 4 sub-intervals)
    fine = _n5_exact(np.linspace(0, N5_L, 4 * 400 + 1))
    w = np.array([1, 4, 2, 4, 1]) / 12.0
    exact400 = np.array([w @ fine[4 * i:4 * i + 5] for i in range(400)])
    err_kernel = float(np.abs(profiles[400][1] - exact400).max() / scale)
    diffs = []
    for nx in (400, 800, 1600):
        gk, kern = profiles[nx]
        diffs.append(float(np.abs(gk - kern).max() / scale))
    order = math.log2(diffs[0] / diffs[1]), math.log2(diffs[1] / diffs[2])
    msg = (f"kernel vs exact {err_kernel:.1e}; GK - kernel {diffs[0]:.2e}, {diffs[1]:.2e}, "
           f"{diffs[2]:.2e} (observed orders {order[0]:.2f}, {order[1]:.2f})")
    assert err_kernel <= 1e-6, msg
    assert max(diffs) <= 1e-4, msg
    assert min(order) >= 1.8, msg


# 2D periodic box: Gaussian source at the centre minus its mean, exact box means by a
# converged 2D Fourier series. Kernel: P1, lattice FFT operator with the exact periodic
# lattice sum. GK: BDM1 x P0 (the default form) on the insulated square (free-slip walls are the
# symmetry planes of the even periodic solution), compared on lattice-box means.
N5P_MEAN = (N5_SIGMA * math.sqrt(2 * math.pi) / N5_L * math.erf(N5_L / (2 * math.sqrt(2) * N5_SIGMA))) ** 2


def _n5p_source(x):
    r2 = (x[0] - N5_L / 2) ** 2 + (x[1] - N5_L / 2) ** 2
    return N5_Q0 * (np.exp(-r2 / (2 * N5_SIGMA**2)) - N5P_MEAN)


def _n5p_box_means(values, centroids, n):
    """Means over the n x n lattice boxes of per-cell values (two equal triangles per box)."""
    ib = np.minimum((centroids / N5_L * n).astype(int), n - 1)
    out = np.zeros((n, n))
    np.add.at(out, (ib[0], ib[1]), values / 2)
    return out - out.mean()


def _n5p_exact(n: int, m: int = 1024) -> np.ndarray:
    x = np.arange(m) / m * N5_L
    X, Y = np.meshgrid(x, x, indexing="ij")
    c = np.fft.fft2(_n5p_source(np.array([X, Y]))) / m**2
    k = 2 * np.pi * np.fft.fftfreq(m, d=N5_L / m)
    KX, KY = np.meshgrid(k, k, indexing="ij")
    K2 = KX**2 + KY**2
    that = np.zeros_like(c)
    that[K2 > 0] = c[K2 > 0] * (1 + N5_L_NL**2 * K2[K2 > 0]) / (N5_KAPPA * K2[K2 > 0])
    h = N5_L / n
    box = np.sinc(KX * h / (2 * np.pi)) * np.sinc(KY * h / (2 * np.pi))  # box averaging
    E = np.exp(1j * np.outer(k, (np.arange(n) + 0.5) * h))
    vals = np.real(E.T @ (that * box) @ E)
    return vals - vals.mean()


def _n5p_profiles(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exact, kernel, GK) box means on the n x n lattice."""
    e = np.linspace(0, N5_L, n + 1)
    mesh = skfem.MeshTri.init_tensor(e, e)
    op = NonlocalOperator(mesh, N5_KAPPA, YukawaKernel(N5_L_NL, 2), period=(N5_L, N5_L),
                          tol=1e-10, method="fft")
    T, _ = solve_steady_nonlocal(op, source=_n5p_source, mean_temperature=0.0, tol=1e-12)
    kern = _n5p_box_means(T[mesh.t].mean(axis=0), mesh.p[:, mesh.t].mean(axis=1), n)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"outer": lambda x: np.ones(x.shape[1], bool)})
    tb, vals = _n5_gk_cell_means(regions, _n5p_source)
    gk = _n5p_box_means(vals, tb.mesh.p[:, tb.mesh.t].mean(axis=1), n)
    return _n5p_exact(n), kern, gk


def test_n5_periodic_2d_coarse():
    """N5 in 2D, periodic unit box (l = 0.05, sigma = 1/12) on 64 x 64 boxes (~5 s): measured
    kernel vs exact 2.6e-5, GK vs exact 1.25e-3 with the default (vorticity) form, 8.2e-4
    with the penalty form (GK's O(h^2) error dominates; 3.1e-4 / 2.0e-4 at 128^2, 7.9e-5 /
    5.1e-5 at 256^2); the slow test below meets the BENCHMARKS 1e-4."""
    ex, kern, gk = _n5p_profiles(64)
    scale = float(np.abs(ex).max())
    e_k = float(np.abs(kern - ex).max() / scale)
    cross = float(np.abs(gk - kern).max() / scale)
    assert e_k <= 5e-5 and cross <= 1.4e-3, (e_k, cross)


@pytest.mark.slow
def test_n5_periodic_2d_meets_benchmark():
    """BENCHMARKS N5 in 2D: Yukawa kernel (log-singular K0, exact periodic lattice sum by FFT)
    and femheat's GK (beta = 0, same l) on 128^2 and 256^2 boxes (65k and 131k triangles;
    GK's direct solve ~2 min at 256^2). Measured GK - kernel 3.1e-4 and 7.9e-5 (order 2.0;
    the default vorticity form; the penalty form 2.0e-4 and 5.1e-5), kernel vs exact 1.8e-6
    and 4.5e-7: the kernel side is exact to ~1e-6, and the two modules agree to 1e-4 on box
    means (GK's P0 values differ between the two triangles of a box at O(h), as in 1D)."""
    diffs, e_ks = [], []
    for n in (128, 256):
        ex, kern, gk = _n5p_profiles(n)
        scale = float(np.abs(ex).max())
        e_ks.append(float(np.abs(kern - ex).max() / scale))
        diffs.append(float(np.abs(gk - kern).max() / scale))
    order = math.log2(diffs[0] / diffs[1])
    assert diffs[1] <= 1e-4 and max(e_ks) <= 1e-5 and order >= 1.7, (diffs, e_ks, order)


def _collared_disk_operator(refinements: int, r_in: float, r_out: float, kap: float, ell: float):
    """2D Yukawa operator (tol 1e-4) on a disk r < r_out with a "bulk" r < r_in and a "collar"."""
    mesh = skfem.MeshTri.init_circle(refinements).scaled(r_out)
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"bulk": lambda x: np.hypot(*x) < r_in,
                          "collar": lambda x: np.hypot(*x) >= r_in},
        boundaries={"outer": lambda x: np.ones(x.shape[1], dtype=bool)})
    return NonlocalOperator(regions, kap, YukawaKernel(ell, 2), tol=1e-4)


def test_n5_two_dimensional_yukawa_matches_gk_bump():
    """N5 in 2D (the log-singular K0 kernel through kernel-core's singular quadrature):
    Gaussian source (sigma = 1) in a disk, exact T = T_F + l^2 Q/kappa imposed on a collar of
    8 l around the bulk r < 3 (volume constraint), l = 0.2. Both modules are compared with the
    same exact field in the bulk r < 2 (cell averages over the GK cells): measured kernel
    1.17e-2 (P1 at h = 0.52, the kernel build limits the mesh; l is resolved by ~0.4 cells),
    GK 4.75e-3 (4x finer disk), cross 1.25e-2. The strict 1e-4 check is the 1D test above.
    CG: 19 iterations with the GK preconditioner, 33 with the local one.
    """
    kap, sig, ell, r_in = 1.0, 1.0, 0.2, 3.0
    r_out = r_in + 8 * ell

    def q(x):
        return np.exp(-(x[0] ** 2 + x[1] ** 2) / (2 * sig**2)) / (2 * math.pi * sig**2)

    def t_f(x):
        u = np.maximum((x[0] ** 2 + x[1] ** 2) / (2 * sig**2), 1e-300)
        return (-np.log(u) - exp1(u)) / (4 * math.pi * kap)

    def exact(x):
        return t_f(x) + ell**2 * q(x) / kap

    op = _collared_disk_operator(4, r_in, r_out, kap, ell)
    T, rep = solve_steady_nonlocal(op, source=q, temperature={"collar": exact})
    _, rep_local = solve_steady_nonlocal(op, source=q, temperature={"collar": exact},
                                         preconditioner="local")
    assert rep.preconditioner == "gk" and rep.iterations < rep_local.iterations, (rep, rep_local)
    assert rep.energy_balance <= 1e-10, rep
    # GK on the bulk disk, NoSlip wall (q_t = 0 holds for the radial exact flux) and the
    # natural-condition temperature T_D = T - nu dq_r/dr = T_F(R) + (l^2/kappa) q_r(R)/R
    gmesh = skfem.MeshTri.init_circle(5).scaled(r_in)
    gregions = fh.RegionMesh.from_skfem(gmesh, boundaries={"outer": lambda x: np.ones(x.shape[1], bool)})
    q_r = (1 - math.exp(-r_in**2 / (2 * sig**2))) / (2 * math.pi * r_in)
    t_d = float(t_f(np.array([[r_in], [0.0]]))[0]) + ell**2 / kap * q_r / r_in
    from femheat.physics.conditions import NoSlip

    problem = fh.HeatProblem(gregions, {"domain": fh.Material(kap, nonlocal_length=ell)},
                             {"outer": fh.Temperature(t_d)}, source=lambda x, t: q(x), model="gk",
                             degree=0, beta=0, penalty=1.0, walls={"outer": NoSlip()})
    system = fh.assemble(problem)
    T_gk = fh.solve_steady(system).temperature
    tb = system.temperature_basis
    X, dx = tb.global_coordinates().value, tb.dx
    inside = np.hypot(*gmesh.p[:, gmesh.t].mean(axis=1)) < 2 * sig
    exact_c = (exact(X) * dx).sum(1) / dx.sum(1)
    kern_c = ((op.basis.probes(X.reshape(2, -1)) @ T).reshape(X.shape[1:]) * dx).sum(1) / dx.sum(1)
    scale = float(np.abs(exact_c[inside]).max())
    e_gk = float(np.abs(T_gk - exact_c)[inside].max() / scale)
    e_k = float(np.abs(kern_c - exact_c)[inside].max() / scale)
    cross = float(np.abs(kern_c - T_gk)[inside].max() / scale)
    msg = f"GK vs exact {e_gk:.2e}, kernel vs exact {e_k:.2e}, cross {cross:.2e}"
    assert e_gk <= 8e-3 and e_k <= 3e-2 and cross <= e_gk + e_k + 1e-12, msg


@pytest.mark.slow
def test_n5_two_dimensional_yukawa_converges():
    """The 2D Yukawa setup above under uniform refinement (init_circle 3, 4, 5: 256, 1024,
    4096 cells; ~55 s, mostly the K0 quadrature): the kernel's bulk error falls at O(h^2) toward
    the exact (= GK) field. Measured 6.1e-2, 2.0e-2, 4.8e-3 (orders 1.6, 2.0); CG iterations
    with the GK preconditioner 10, 19, 22."""
    kap, sig, ell, r_in = 1.0, 1.0, 0.2, 3.0

    def q(x):
        return np.exp(-(x[0] ** 2 + x[1] ** 2) / (2 * sig**2)) / (2 * math.pi * sig**2)

    def exact(x):
        u = np.maximum((x[0] ** 2 + x[1] ** 2) / (2 * sig**2), 1e-300)
        return (-np.log(u) - exp1(u)) / (4 * math.pi * kap) + ell**2 * q(x) / kap

    errs, its = [], []
    for nref in (3, 4, 5):
        op = _collared_disk_operator(nref, r_in, r_in + 8 * ell, kap, ell)
        T, rep = solve_steady_nonlocal(op, source=q, temperature={"collar": exact})
        p = op.basis.doflocs
        sel = np.hypot(*p) < 2 * sig
        errs.append(float(np.abs(T - exact(p))[sel].max() / np.abs(exact(p)[sel]).max()))
        its.append(rep.iterations)
    order = math.log2(errs[1] / errs[2])
    msg = f"errors {errs}, last order {order:.2f}, CG iterations {its}"
    assert order >= 1.7 and errs[-1] <= 6e-3 and max(its) <= 30, msg


# ================================================================ preconditioners
@pytest.mark.parametrize("xi", [0.0, 0.2])
def test_yukawa_iterations_bounded_under_refinement(xi):
    """The GK-symbol preconditioner P^-1 = K^-1 + l_p^2 (kappa M_L)^-1 keeps the CG count
    bounded under refinement. Measured, nx = 100, 200, 400, 800, 1600: xi = 0: "gk" 7, 6, 5, 4,
    4 (symbol condition 1.00), "local" 26, 38, 54, 68, 77 (symbol condition 1 + l^2 k_h^2:
    242 ... 6.2e4); xi = 0.2: both 9-11 (symbol conditions <= 4.9 = 1/xi), "auto" picks the
    one with the smaller symbol condition (gk at nx = 100, local above)."""
    counts = {"gk": [], "local": [], "auto": []}
    for nx in (100, 200, 400, 800, 1600):
        mesh = skfem.MeshLine(np.linspace(0, N5_L, nx + 1))
        op = NonlocalOperator(mesh, N5_KAPPA, YukawaKernel(N5_L_NL, 1), period=(N5_L,),
                              local_fraction=xi, tol=1e-8)
        for pc in counts:
            _, rep = solve_steady_nonlocal(op, source=_n5_source, mean_temperature=0.0,
                                           preconditioner=pc)
            counts[pc].append(rep.iterations)
    msg = f"xi = {xi}: CG iterations for nx = 100..1600: {counts}"
    best = min(counts["gk"][-1], counts["local"][-1])
    assert counts["auto"][-1] <= best + 2, msg
    assert max(counts["auto"]) - min(counts["auto"]) <= 6, msg
    if xi == 0:
        assert max(counts["gk"]) <= 10, msg
        assert counts["local"][-1] >= 2 * counts["local"][0], msg


def test_gaussian_two_phase_iterations_bounded_2d():
    """Gaussian kernel, xi = 0.3, 2D box (n = 8, 16, 24 per side): bounded preconditioned
    iterations (symbol condition <= 1/xi; measured "local" 11, 11, 11, "gk" 10, 12, 13;
    "auto" 10, 11, 11)."""
    counts = []
    for n in (8, 16, 24):
        regions = _box(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
        op = NonlocalOperator(regions, 1.0, GaussianKernel(0.15, 2), local_fraction=0.3)
        _, rep = solve_steady_nonlocal(op, source=lambda x: np.sin(np.pi * x[0]) + 0 * x[1],
                                       temperature={"outer": 0.0})
        counts.append((rep.iterations, rep.preconditioner))
    its = [c[0] for c in counts]
    assert max(its) <= 20 and its[-1] <= its[0] + 6, f"iterations {counts}"


# ============================================================================ N2
def _grating(ka: float, tau: float, nx: int = 64, steps_per_rate: float = 0.02,
             dim: int = 1):
    """Amplitude history of T = cos(kx) on a periodic box, Gaussian kernel (xi = 0)."""
    L, kap, cap = 1.0, 1.0, 1.0
    k = 2 * np.pi / L
    a = ka / k
    if dim == 1:
        mesh = skfem.MeshLine(np.linspace(0, L, nx + 1))
        period = (L,)
    else:
        mesh = _box(np.linspace(0, L, nx + 1), np.linspace(0, L / 8, nx // 8 + 1))
        period = (L, L / 8)
    op = NonlocalOperator(mesh, kap, GaussianKernel(a, dim), period=period,
                          tol=1e-10 if dim == 1 else 1e-8)
    rate0 = kap / cap * k**2 * math.exp(-ka**2 / 2)
    stepper = NonlocalTheta(op, cap, steps_per_rate / rate0, 0.5, relaxation_time=tau)
    M = op.mass()
    phi = np.cos(k * op.basis.doflocs[0])
    norm = float(phi @ M @ phi)
    t_end = 1.0 / rate0 if tau == 0 else 4 * tau
    ts, amp = [], []
    for t, T in stepper.run(lambda x: np.cos(k * x[0]), t_end):
        ts.append(t)
        amp.append(float(phi @ M @ T) / norm)
    return np.array(ts), np.array(amp), rate0, stepper


@pytest.mark.parametrize("ka", [1.0, 2.0, 3.0])
def test_n2_gaussian_grating_rate(ka):
    """N2: a(t) = exp(-alpha k^2 exp(-a^2 k^2/2) t) within 0.2 % in rate, Crank-Nicolson,
    dt = 0.02/rate (measured 3.3e-5 for ka = 1, 2, 3: the CN error (rate dt)^2/12; the
    periodic P1 kernel operator with consistent mass is O((kh)^4) on a grating)."""
    ts, amp, rate0, stepper = _grating(ka, 0.0)
    rate = -math.log(amp[-1] / amp[0]) / ts[-1]
    assert abs(rate / rate0 - 1) <= 2e-3, f"ka = {ka}: rate error {rate / rate0 - 1:.2e}"
    assert stepper.report().energy_balance <= 1e-10, stepper.report()
    assert max(stepper.iterations) <= 5, stepper.iterations


def test_n2_gaussian_grating_rate_2d():
    """N2 on a 2D periodic box (Gaussian kernel normalized in 2D, lattice sums in x and y),
    ka = 1, 24 cells per wavelength: measured rate error 2.7e-5 (time stepping)."""
    ts, amp, rate0, _ = _grating(1.0, 0.0, nx=24, dim=2)
    rate = -math.log(amp[-1] / amp[0]) / ts[-1]
    assert abs(rate / rate0 - 1) <= 2e-3, f"2D rate error {rate / rate0 - 1:.2e}"


@pytest.mark.parametrize("tau", [0.05, 0.5])
def test_n2_mcv_memory_damped_oscillator(tau):
    """N2 with MCV memory on the kernel flux: tau a'' + a' + alpha k^2 e^{-a^2k^2/2} a = 0,
    a(0) = 1, a'(0) = 0 (q(0) = 0); ka = 2, rate0 = 5.34: tau = 0.05 overdamped, 0.5
    underdamped (second sound). Measured max |a - a_exact| 5.8e-5 and 1.5e-5, energy balance
    ~1e-16."""
    ts, amp, rate0, stepper = _grating(2.0, tau)
    r1, r2 = np.roots([tau, 1.0, rate0])
    exact = np.real((r2 * np.exp(r1 * ts) - r1 * np.exp(r2 * ts)) / (r2 - r1))
    err = float(np.abs(amp - exact).max())
    assert err <= 2e-3 * float(np.abs(exact).max()), f"tau = {tau}: max error {err:.2e}"
    assert stepper.report().energy_balance <= 1e-10


def test_memory_tau_to_zero_reproduces_memoryless():
    """tau -> 0: c_f -> 1, c_m -> 0, the memory scheme is the memoryless one (difference
    O(tau/dt); measured 3.5e-11 at tau = 1e-9 dt), on a 2D Dirichlet problem with a source."""
    regions = _box(np.linspace(0, 1, 9), np.linspace(0, 1, 9))
    op = NonlocalOperator(regions, 1.0, GaussianKernel(0.15, 2), local_fraction=0.2)
    kw = dict(source=lambda x: 1.0 + x[0], temperature={"outer": 300.0})
    dt = 0.01
    runs = []
    for tau in (0.0, 1e-9 * dt):
        *_, (t, T) = theta_steps_nonlocal(op, 2.0, dt, 0.2, 0.5, 300.0, relaxation_time=tau,
                                          initial_flux="equilibrium", **kw)
        runs.append(T)
    diff = float(np.abs(runs[0] - runs[1]).max() / np.abs(runs[0] - 300).max())
    assert diff <= 1e-8, f"tau -> 0 difference {diff:.1e}"


# ============================================================================ N3
N3_SIGMA, N3_A = 1.0, 0.6


def _n3_setup(half: float, h: float, tol: float = 1e-10, xi: float = 0.0,
              quadrature: str = "centroid"):
    s = math.sqrt(N3_SIGMA**2 - N3_A**2)

    def exact(x):
        u = np.maximum((x[0] ** 2 + x[1] ** 2) / (2 * s**2), 1e-300)
        return (-np.log(u) - exp1(u)) / (4 * math.pi)

    def source(x):
        return np.exp(-(x[0] ** 2 + x[1] ** 2) / (2 * N3_SIGMA**2)) / (2 * math.pi * N3_SIGMA**2)

    inner = half - 4 * N3_A
    n = int(round(2 * half / h))
    edges = np.linspace(-half, half, n + 1)
    regions = _box(edges, edges, subdomains={
        "bulk": lambda x: (np.abs(x[0]) < inner) & (np.abs(x[1]) < inner),
        "collar": lambda x: (np.abs(x[0]) > inner) | (np.abs(x[1]) > inner)})
    op = NonlocalOperator(regions, 1.0, GaussianKernel(N3_A, 2), tol=tol, local_fraction=xi,
                          quadrature=quadrature)
    return op, source, exact, inner


def _n3_error(h: float, quadrature: str = "centroid", eps: float = 1e-4) -> tuple[float, object]:
    """Max |T - T_exact| / max |T_exact| over r >= sigma/2 inside the collar (BENCHMARKS N3)."""
    op, source, exact, inner = _n3_setup(5.2, h, quadrature=quadrature)
    T, rep = solve_steady_nonlocal(op, source=source, temperature={"collar": exact},
                                   regularization=eps)
    p = op.basis.doflocs
    r = np.hypot(*p)
    sel = (r >= N3_SIGMA / 2) & (np.abs(p[0]) < inner) & (np.abs(p[1]) < inner)
    err = float(np.abs(T - exact(p))[sel].max() / np.abs(exact(p)[sel]).max())
    return err, rep


def test_n3_gaussian_source_2d_meets_benchmark():
    """N3, 2D analogue: Q = Q0 e^{-r^2/2sigma^2}/(2 pi sigma^2), Gaussian kernel (2D, a = 0.6,
    xi = 0): T(r) = Q0/(4 pi kappa) [-ln u - E1(u)], u = r^2/(2 s^2), s^2 = sigma^2 - a^2 (the
    Fourier solution of a source of width s), exact T imposed on a collar 4a wide, box 10.4
    sigma. Centroid-rule operator with Tikhonov regularization eps = 1e-4 on h = 0.3 (a/h = 2):
    measured 2.5e-3 (BENCHMARKS: 0.5 %); the regularization's estimated bias is 2e-4.

    Without regularization this mesh is refused as numerically singular (next tests), and on
    the coarsest mesh that is accepted the error does not fall below 0.6 %: refining makes it
    grow, because O(h^2) consistency errors reach the grid-scale modes (response
    e^{-a^2 k_h^2/2}) through the edge of the temperature region.
    """
    err, rep = _n3_error(0.3)
    assert err <= 5e-3, f"N3 2D error {err:.2e} (measured 2.53e-3)"
    assert rep.well_posedness.regularization_bias <= 5e-4, rep.well_posedness
    assert rep.energy_balance <= 1e-10, rep


def test_n3_centroid_rule_beats_exact_cell_integrals():
    """Exact cell integrals widen the Gaussian by the cells' second moments (a^2 -> a^2 +
    O(h^2)); the steady first-kind problem amplifies that: on h = 0.3 the exact-entry operator
    is off by 7.9e-3, the centroid rule by 2.5e-3 (same regularization)."""
    e_exact, _ = _n3_error(0.3, quadrature="exact")
    e_centroid, _ = _n3_error(0.3)
    assert e_exact >= 2.5 * e_centroid, (e_exact, e_centroid)


@pytest.mark.slow
def test_n3_gaussian_source_2d_converges():
    """N3 2D under refinement (centroid rule, eps = 1e-4): 4.5e-3, 2.5e-3, 1.05e-3 at h = 0.4,
    0.3, 0.2 (observed order ~2)."""
    hs = np.array([0.4, 0.3, 0.2])
    errs = np.array([_n3_error(h)[0] for h in hs])
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert order >= 1.6 and errs[-1] <= 1.5e-3, (errs, order)


def test_centroid_rule_is_nodally_exact_in_1d():
    """Uniform 1D periodic grid, Gaussian kernel (a = 0.03, L = 1), xi = 0, eps = 0, zero-mean
    Gaussian source (sigma = 1/12): with the centroid rule the sinc^2 factors of P1 stiffness
    and load cancel, so nodal values are exact up to aliases of the kernel symbol; exact cell
    integrals carry the O(k^2 h^2/12) widening. Measured at 50 cells (a/h = 1.5): 5.1e-8 vs
    2.5e-3 relative."""
    a, sigma, L = 0.03, 1.0 / 12, 1.0
    mean = sigma * math.sqrt(2 * math.pi) / L * math.erf(L / (2 * math.sqrt(2) * sigma))

    def source(x):
        return np.exp(-(x[0] - L / 2) ** 2 / (2 * sigma**2)) - mean

    m = 4096
    c = np.fft.rfft(source(np.arange(m)[None, :] / m * L)) / m
    k = 2 * np.pi * np.arange(c.size) / L
    that = np.zeros_like(c)
    keep = (k > 0) & (k < 150.0)  # exp(-(sigma^2 - a^2) k^2 / 2) < 1e-20 beyond
    that[keep] = c[keep] * np.exp(a**2 * k[keep] ** 2 / 2) / k[keep] ** 2
    wts = np.full(c.size, 2.0)
    wts[0] = wts[-1] = 1.0
    errs = {}
    for rule in ("centroid", "exact"):
        mesh = skfem.MeshLine(np.linspace(0, L, 51))
        op = NonlocalOperator(mesh, 1.0, GaussianKernel(a, 1), period=(L,), tol=1e-12,
                              quadrature=rule)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IllConditionedWarning)
            T, _ = solve_steady_nonlocal(op, source=source, mean_temperature=0.0, tol=1e-13)
        x = op.basis.doflocs[0]
        ex = np.real((wts * that) @ np.exp(1j * np.outer(k, x)))
        ex -= np.mean(ex[:-1])
        T = T - np.mean(T[:-1])
        errs[rule] = float(np.abs(T - ex).max() / np.abs(ex).max())
    assert errs["centroid"] <= 1e-6 and errs["exact"] >= 1e-3, errs


def _n3_error_3d(n: int) -> tuple[float, float, object]:
    """BENCHMARKS N3 proper (3D): box [-5, 5]^3 (10 sigma) of n^3 lattice boxes (6 tetrahedra
    each), exact T = Q0 erf(r/(sqrt2 s))/(4 pi kappa r) on a collar 4a wide, centroid rule
    applied by FFT, eps = 1e-4. Returns (max error for r >= sigma/2, error of T(0), report)."""
    s = math.sqrt(N3_SIGMA**2 - N3_A**2)
    half, inner = 5.0, 5.0 - 4 * N3_A

    def exact(x):
        r = np.maximum(np.sqrt((x**2).sum(axis=0)), 1e-12)
        return special.erf(r / (math.sqrt(2) * s)) / (4 * math.pi * r)

    def source(x):
        return np.exp(-(x**2).sum(axis=0) / (2 * N3_SIGMA**2)) / (2 * math.pi * N3_SIGMA**2) ** 1.5

    e = np.linspace(-half, half, n + 1)
    regions = fh.RegionMesh.from_skfem(skfem.MeshTet.init_tensor(e, e, e), subdomains={
        "bulk": lambda x: np.abs(x).max(axis=0) < inner,
        "collar": lambda x: np.abs(x).max(axis=0) > inner})
    op = NonlocalOperator(regions, 1.0, GaussianKernel(N3_A, 3), tol=1e-8, quadrature="centroid",
                          method="fft")
    T, rep = solve_steady_nonlocal(op, source=source, temperature={"collar": exact},
                                   regularization=1e-4)
    p = op.basis.doflocs
    r = np.sqrt((p**2).sum(axis=0))
    ex = exact(p)
    sel = (r >= N3_SIGMA / 2) & (np.abs(p).max(axis=0) < inner)
    i0 = int(np.argmin(r))
    return (float(np.abs(T - ex)[sel].max() / np.abs(ex[sel]).max()),
            float(abs(T[i0] - ex[i0]) / ex[i0]), rep)


def test_n3_gaussian_source_3d_coarse():
    """N3 in 3D on 20^3 boxes (48k tetrahedra, h = 0.5 = 0.83a; ~5 s): measured 1.46e-2 for
    r >= sigma/2 and 1.6e-2 at r = 0; the slow study meets the BENCHMARKS 0.5 %."""
    err, err0, rep = _n3_error_3d(20)
    assert err <= 2e-2 and err0 <= 2e-2, (err, err0)
    assert rep.energy_balance <= 1e-9, rep


@pytest.mark.slow
def test_n3_gaussian_source_3d_meets_benchmark():
    """N3 in 3D: 6.3e-3 and 3.5e-3 (T(0): 7.2e-3, 4.0e-3) on 30^3 and 40^3 boxes (162k and
    384k tetrahedra, 23 s and 48 s with the FFT operator): order 2.0, within the BENCHMARKS
    0.5 % at h = 0.25."""
    (e1, _, _), (e2, z2, _) = _n3_error_3d(30), _n3_error_3d(40)
    order = math.log(e1 / e2) / math.log(40 / 30)
    assert e2 <= 5e-3 and z2 <= 5e-3 and order >= 1.7, (e1, e2, z2, order)


@pytest.mark.parametrize("eps, match", [(-1e-4, r"regularization = -0.0001"),
                                        ("x", r"regularization must be a number"),
                                        (0.5, r"must lie in \[0, 0.1\]")])
def test_bad_regularization(eps, match):
    op, source, exact, _ = _n3_setup(3.0, 0.5)
    with pytest.raises(fh.FemheatInputError, match=match):
        solve_steady_nonlocal(op, source=source, temperature={"collar": exact}, regularization=eps)


def test_n3_fine_mesh_is_refused_as_numerically_singular():
    """xi = 0 Gaussian on h = 0.25 (a/h = 2.4) without regularization: the finest mode's
    response exp(-a^2 k_h^2/2) ~ 1e-17 lies below the quadrature accuracy, the discrete
    operator is indefinite (measured); the solver raises IllPosedError naming the coarsest
    acceptable mesh and the regularization."""
    op, source, exact, _ = _n3_setup(2.0, 0.25, quadrature="exact")
    with pytest.raises(IllPosedError, match="numerically singular.*regularization.*coarsen the mesh"):
        solve_steady_nonlocal(op, source=source, temperature={"collar": exact})


def test_ill_posed_source_narrower_than_kernel_raises():
    """sigma <= a with xi = 0 has no steady solution (N3): refused before solving, with the
    reason and the fixes; the same setup with a local fraction xi = 0.2 solves."""
    regions = _box(np.linspace(-2, 2, 17), np.linspace(-2, 2, 17))
    narrow = lambda x: np.exp(-(x[0] ** 2 + x[1] ** 2) / (2 * 0.4**2))  # noqa: E731
    op = NonlocalOperator(regions, 1.0, GaussianKernel(0.6, 2))
    with pytest.raises(IllPosedError, match="first-kind integral equation") as info:
        solve_steady_nonlocal(op, source=narrow, temperature={"outer": 0.0})
    text = str(info.value)
    assert "local_fraction" in text and "transient" in text and "widen the source" in text
    diag = assess_well_posedness(op, narrow, raise_errors=False)
    assert abs(diag.source_width / 0.4 - 1) < 0.1 and diag.smoothing, diag
    op2 = NonlocalOperator(regions, 1.0, GaussianKernel(0.6, 2), local_fraction=0.2)
    T, rep = solve_steady_nonlocal(op2, source=narrow, temperature={"outer": 0.0})
    assert np.all(np.isfinite(T)) and rep.energy_balance <= 1e-10


def test_transient_is_well_posed_for_pure_gaussian():
    """The same xi = 0 setup that the steady solver refuses runs as a transient (symbol
    C/dt + theta sigma_A(k) is bounded below) and conserves energy."""
    regions = _box(np.linspace(-2, 2, 17), np.linspace(-2, 2, 17))
    op = NonlocalOperator(regions, 1.0, GaussianKernel(0.6, 2))
    stepper = NonlocalTheta(op, 1.0, 0.05, 0.5,
                            source=lambda x: np.exp(-(x[0] ** 2 + x[1] ** 2) / (2 * 0.4**2)),
                            temperature={"outer": 0.0})
    *_, (t, T) = stepper.run(0.0, 1.0)
    assert np.all(np.isfinite(T)) and T.max() > 0
    assert stepper.report().energy_balance <= 1e-10, stepper.report()


# ================================================================ limits, balance
def test_local_fraction_one_is_fourier_exactly():
    """xi = 1: the operator is the P1 Fourier stiffness, and the steady solution equals a
    direct sparse solve of it (one CG iteration with the local preconditioner)."""
    regions = _box(np.linspace(0, 1, 13), np.linspace(0, 2, 9))
    op = NonlocalOperator(regions, 3.0, GaussianKernel(0.2, 2), local_fraction=1.0)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(op.n)
    K = op.local_stiffness()
    assert np.abs(op.apply(v) - K @ v).max() <= 1e-12 * np.abs(K @ v).max()
    src = lambda x: 1e3 * np.sin(3 * x[0]) * x[1]  # noqa: E731
    T, rep = solve_steady_nonlocal(op, source=src, temperature={"outer": 1.0})
    from femheat.kernels.solvers import _load

    b = _load(op, src)
    bnd = np.unique(regions.mesh.facets[:, regions.boundary("outer")])
    free = np.setdiff1d(np.arange(op.n), bnd)
    ref = np.ones(op.n)
    from scipy.sparse.linalg import spsolve

    ref[free] = spsolve(K[free][:, free].tocsc(), b[free] - K[free][:, bnd] @ np.ones(bnd.size))
    assert np.abs(T - ref).max() <= 1e-10 * np.abs(ref - 1).max()
    assert rep.iterations == 1 and rep.energy_balance <= 1e-12, rep


def test_energy_balance_steady_and_transient_with_two_temperature_regions():
    """Steady: the source equals the heat leaving through the two Dirichlet boundaries
    (reactions) to 1e-10; transient: dE/dt = Q - H every step to 1e-10."""
    regions = _box(np.linspace(0, 1, 17), np.linspace(0, 0.5, 9), boundaries={
        "left": lambda x: np.isclose(x[0], 0), "right": lambda x: np.isclose(x[0], 1),
        "walls": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 0.5)})
    op = NonlocalOperator(regions, 2.0, GaussianKernel(0.1, 2), local_fraction=0.1)
    src = lambda x: 50.0 * np.exp(-((x[0] - 0.3) ** 2 + (x[1] - 0.25) ** 2) / 0.02)  # noqa: E731
    T, rep = solve_steady_nonlocal(op, source=src, temperature={"left": 300.0, "right": 310.0})
    flows = rep.boundary_heat_flow
    assert set(flows) == {"left", "right"}
    assert abs(rep.heat_source - sum(flows.values())) <= 1e-10 * (abs(rep.heat_source) + sum(
        abs(v) for v in flows.values())), rep
    assert rep.energy_balance <= 1e-10
    stepper = NonlocalTheta(op, 1e2, 1e-3, 0.5, source=src,
                            temperature={"left": 300.0, "right": 310.0}, relaxation_time=2e-3)
    for _ in stepper.run(305.0, 0.02):
        pass
    assert stepper.report().energy_balance <= 1e-10, stepper.report()


def test_bad_input_is_refused():
    regions = _box(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    op = NonlocalOperator(regions, 1.0, GaussianKernel(0.3, 2), local_fraction=0.5)
    with pytest.raises(fh.FemheatInputError, match="preconditioner"):
        solve_steady_nonlocal(op, source=1.0, temperature={"outer": 0.0}, preconditioner="amg")
    with pytest.raises(fh.RegionError, match="unknown temperature region 'top'"):
        solve_steady_nonlocal(op, source=1.0, temperature={"top": 0.0})
    with pytest.raises(fh.BoundaryConditionError, match="mean_temperature"):
        solve_steady_nonlocal(op, source=0.0)
    with pytest.raises(fh.BoundaryConditionError, match="net heat input"):
        solve_steady_nonlocal(op, source=1.0, mean_temperature=0.0)
    with pytest.raises(fh.FemheatInputError, match="theta"):
        NonlocalTheta(op, 1.0, 0.1, theta=0.3)
    with pytest.raises(fh.FemheatInputError, match="relaxation_time"):
        NonlocalTheta(op, 1.0, 0.1, relaxation_time=-1.0)
    with pytest.raises(fh.FemheatInputError, match="source has shape"):
        solve_steady_nonlocal(op, source=np.ones(7), temperature={"outer": 0.0})
    with pytest.raises(fh.SolverError, match="did not converge in 2 iterations"):
        solve_steady_nonlocal(op, source=lambda x: np.sin(9 * x[0]), temperature={"outer": 0.0},
                              max_iterations=2, preconditioner="gk")


# ===================================================== interfaces (eqs. 38-41)
def _bilayer(n: int = 24, half: float = 0.5):
    mesh = skfem.MeshTri.init_tensor(np.linspace(-half, half, n + 1), np.linspace(-half, half, n + 1))
    return fh.RegionMesh.from_skfem(
        mesh, subdomains={"A": lambda x: x[0] < 0, "B": lambda x: x[0] > 0},
        boundaries={"left": lambda x: np.isclose(x[0], -half),
                    "right": lambda x: np.isclose(x[0], half),
                    "walls": lambda x: np.isclose(np.abs(x[1]), half)},
        interfaces={"ab": lambda x: np.isclose(x[0], 0)})


def test_uniform_jump_flux_is_kernel_conductance():
    """Seed 004 eqs. 40-41: for T = T_A on side A, T_B on side B (no regular gradient) the
    interface flux is q.n_AB = -G_K (T_B - T_A) with G_K = int_Gamma Z dS'; for the Gaussian
    on a segment of length H: kappa/(sqrt(2 pi) a) (erf((H/2-y)/(sqrt2 a)) + erf((H/2+y)/(sqrt2 a)))/2
    (measured agreement 8.5e-9, quadrature), -> kappa/(sqrt(2 pi) a) for an infinite plane."""
    regions = _bilayer()
    kap, a, H = 2.0, 0.1, 1.0
    op = InterfaceKernelOperator(regions, kap, GaussianKernel(a, 2), ["ab"])
    side_b = np.unique(op.basis.element_dofs[:, op.regions.subdomain("B")])
    T = np.full(op.n, 301.0)
    T[side_b] = 300.0
    qn = op.interface_flux(T)
    y = op.facet_points[1]
    ref = np.array([gaussian_interface_conductance(kap, a, extent=[(H / 2 + yy, H / 2 - yy)])
                    for yy in y])
    assert np.abs(qn / ref - 1).max() <= 1e-6
    G = interface_conductance(regions, "ab", GaussianKernel(a, 2), kap)
    mid = np.abs(regions.mesh.p[1, regions.mesh.facets[:, regions.interface("ab")]].mean(axis=0)) < 0.1
    assert np.abs(G[mid] / gaussian_interface_conductance(kap, a) - 1).max() <= 2e-3
    # the regular gradient vanishes in every cell: the flux is the interface term alone
    assert np.abs(op.generalized_gradient(T)[: op.basis.mesh.t.shape[1]]).max() == 0.0


def test_interface_operator_quadrature_and_split_consistency():
    """Without interfaces the dense interface operator equals kernel-core's dense
    NonlocalOperator (independent quadratures; measured 7e-9). Split along Gamma (xi = 0.3:
    the local part acts on the regular gradient only, so only the kernel carries heat across
    Gamma): symmetric, A 1 = 0, energy balance closed, and the interface now has a
    resistance: the jump follows the drop (T_A > T_B) and the heat flow falls (measured
    0.736 vs 0.827 W/m)."""
    regions = _bilayer(16)
    kern = GaussianKernel(0.15, 2)
    split = InterfaceKernelOperator(regions, 1.0, kern, ["ab"], local_fraction=0.3)
    plain = InterfaceKernelOperator(regions, 1.0, kern, [], local_fraction=0.3)
    ref = NonlocalOperator(regions, 1.0, kern, method="dense", local_fraction=0.3, tol=1e-8)
    rng = np.random.default_rng(2)
    v = rng.standard_normal(plain.n)
    dev = np.abs(plain.apply(v) - ref.apply(v)).max() / np.abs(ref.apply(v)).max()
    assert dev <= 1e-6, f"dense interface quadrature vs kernel-core: {dev:.1e}"
    x, y = rng.standard_normal(split.n), rng.standard_normal(split.n)
    assert abs(x @ split.apply(y) - y @ split.apply(x)) <= 1e-12 * abs(x @ split.apply(x))
    assert np.abs(split.apply(np.ones(split.n))).max() <= 1e-12
    bc = {"left": 1.0, "right": 0.0}
    T1, r1 = solve_steady_nonlocal(split, temperature=bc)
    T0, r0 = solve_steady_nonlocal(plain, temperature=bc)
    jump = split.jump @ T1  # T_B - T_A
    h1, h0 = r1.boundary_heat_flow["right"], -r1.boundary_heat_flow["left"]
    assert np.all(jump < 0) and abs(h1 - h0) <= 1e-10 * abs(h1), (jump.max(), h1, h0)
    assert r1.boundary_heat_flow["right"] < 0.95 * r0.boundary_heat_flow["right"]
    assert r1.energy_balance <= 1e-10 and r1.iterations <= 40, r1


# ======================================================================== cases
def test_case_film_size_effect(tmp_path):
    """cases/film_size_effect.py: kappa_eff/kappa of a film with the kernel truncated at its
    faces against BENCHMARKS N4 (0.2 %), and the steady-solve cross-check."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "cases" / "film_size_effect.py"
    spec = importlib.util.spec_from_file_location("film_size_effect", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    summary = mod.run(tmp_path, ratios=[0.5, 1.0, 2.0, 10.0])
    assert summary["max_relative_error_vs_N4"] <= 2e-3, summary
    assert abs(summary["steady_solve_kappa_ratio"] / summary["steady_solve_reference"] - 1) <= 2e-3
    assert (tmp_path / "kappa_eff.csv").exists() and (tmp_path / "film.png").exists()


def test_case_hot_spot(tmp_path):
    """cases/hot_spot.py: peak temperature rise of a nanoscale Gaussian heater, kernel (xi = 0,
    Gaussian a = sqrt2 l) vs Fourier vs GK (beta = 0): ordering and closed forms."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "cases" / "hot_spot.py"
    spec = importlib.util.spec_from_file_location("hot_spot", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        summary = mod.run(tmp_path)
    rise = summary["peak_rise_K"]
    assert rise["fourier"] < rise["gk_beta0"] and rise["fourier"] < rise["kernel"], summary
    for model, err in summary["peak_error_vs_closed_form"].items():
        assert abs(err) <= summary["tolerance"][model], (model, summary)
    assert (tmp_path / "profiles.csv").exists() and (tmp_path / "hot_spot.png").exists()


def test_readme_kernel_example():
    """The README's nonlocal-kernel snippet runs as written; the steady balance closes and
    the transient (started at 300 K) stays below the steady profile."""
    from tests.conftest import readme_snippet

    env = readme_snippet(r"import numpy as np\nimport skfem\nimport femheat as fh\n"
                         r"from femheat.kernels")
    T, T_end, report = env["T"], env["T_end"], env["report"]
    assert report.energy_balance < 1e-10 and report.iterations < 40, report
    assert 300.0 < T_end.max() < T.max()
    assert env["equivalent_gk_length"](env["kernel"], beta=0) == pytest.approx(1e-7, rel=1e-2)
