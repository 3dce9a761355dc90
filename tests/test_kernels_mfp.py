"""Kernels from a mean-free-path spectrum (issue 13 item 3, BENCHMARKS N6): the gray
relaxation-time BTE kernel and its spectral superposition."""

from __future__ import annotations

import math

import numpy as np
import pytest
import skfem

from femheat.errors import FemheatInputError
from femheat.kernels import NonlocalOperator
from femheat.kernels.mfp import (GrayBTEKernel, MFPSpectrumKernel, YukawaMixtureKernel,
                                 gray_bte_suppression)
from femheat.kernels.transient import NonlocalTheta

N6_VALUES = {0.1: 0.997347, 1.0: 0.819719, 3.0: 0.467278, 10.0: 0.173925}


def test_n6_closed_form_values_and_small_x():
    x = np.array(list(N6_VALUES))
    assert np.allclose(gray_bte_suppression(x), list(N6_VALUES.values()), rtol=0, atol=6e-7)
    xs = np.array([1e-4, 9e-4, 1.1e-3, 0.01])
    for closure, c2 in (("energy", 4 / 15), ("kinetic", 3 / 5)):
        s = gray_bte_suppression(xs, closure)
        assert np.allclose(s, 1 - c2 * xs**2, rtol=0, atol=1e-8), closure
    big = 1e4
    assert gray_bte_suppression(big) == pytest.approx(6 / (math.pi * big), rel=1e-3)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("closure", ["energy", "kinetic"])
def test_gray_kernel_mixture_reproduces_symbol_mass_and_moment(dim, closure):
    lam = 2e-7
    k = GrayBTEKernel(lam, dim, closure)
    kk = np.array([0.0, 0.1, 1.0, 3.0, 10.0, 100.0]) / lam
    assert np.allclose(k.symbol(kk) / k.exact_symbol(kk), 1.0, rtol=0, atol=1e-7)
    # unit mass in the mesh dimension, second moment (8/15) Λ² resp. (6/5) Λ² per axis
    rc = k.cutoff_radius(1e-12)
    assert float(k.radial_mass(np.array([rc]))[0]) == pytest.approx(1.0, abs=1e-10)
    m2 = {"energy": 8 / 15, "kinetic": 6 / 5}[closure] * lam**2
    assert k.second_moment() == pytest.approx(m2, rel=1e-7)
    assert np.all(k.profile(np.geomspace(1e-3, 20, 30) * lam) > 0)


def test_spectral_superposition_symbol():
    mfp = np.array([1e-8, 1e-7, 1e-6])
    f = np.array([0.2, 0.5, 0.3])
    k = MFPSpectrumKernel(mfp, f, 1)
    kk = np.geomspace(1e4, 1e9, 12)
    expect = sum(fi * gray_bte_suppression(kk * li) for fi, li in zip(f, mfp))
    assert np.allclose(k.symbol(kk), expect, rtol=1e-6, atol=0)
    assert np.allclose(k.exact_symbol(kk), expect, rtol=1e-12)
    one = MFPSpectrumKernel([3e-7], [1.0], 2)
    assert np.allclose(one.symbol(kk), GrayBTEKernel(3e-7, 2).symbol(kk), rtol=1e-12)


def test_bad_mfp_input():
    with pytest.raises(FemheatInputError, match="closure"):
        GrayBTEKernel(1e-7, 3, "diffuse")
    with pytest.raises(FemheatInputError, match="mfp"):
        GrayBTEKernel(-1.0, 3)
    with pytest.raises(FemheatInputError, match="fractions"):
        MFPSpectrumKernel([1e-7, 2e-7], [0.5, -0.5], 3)
    with pytest.raises(FemheatInputError, match="shapes"):
        YukawaMixtureKernel([1e-7, 2e-7], [1.0], 3)


@pytest.mark.parametrize("ka", [1.0, 3.0])
def test_n6_gray_bte_grating_rate(ka):
    """N6 with the N2 grating: T = cos(kx) on a periodic 1D box decays at
    Γ = α k² S_E(kΛ) (the planar marginal of the 3D kernel has the same symbol);
    Crank–Nicolson, dt = 0.02/Γ, 64 cells: measured rate error 5.4e-5 (kΛ = 1) and
    4.6e-5 (kΛ = 3) against the 0.2 % tolerance of N2."""
    L, kap, cap = 1.0, 1.0, 1.0
    k = 2 * math.pi / L
    mesh = skfem.MeshLine(np.linspace(0, L, 65))
    op = NonlocalOperator(mesh, kap, GrayBTEKernel(ka / k, 1), period=(L,), tol=1e-10)
    rate0 = kap / cap * k**2 * float(gray_bte_suppression(ka))
    stepper = NonlocalTheta(op, cap, 0.02 / rate0, 0.5)
    M = op.mass()
    phi = np.cos(k * op.basis.doflocs[0])
    norm = float(phi @ M @ phi)
    ts, amp = [], []
    for t, T in stepper.run(lambda x: np.cos(k * x[0]), 1.0 / rate0):
        ts.append(t)
        amp.append(float(phi @ M @ T) / norm)
    rate = -math.log(amp[-1] / amp[0]) / ts[-1]
    assert abs(rate / rate0 - 1) <= 2e-3, f"kΛ = {ka}: rate error {rate / rate0 - 1:.2e}"


@pytest.mark.slow
def test_n6_gray_bte_grating_rate_2d():
    """N6 on a 2D periodic box (the 2D mixture, its ~1/r singularity through the potential
    at touching pairs), kΛ = 1, 24 cells per wavelength: measured rate error 4.2e-4
    (build 18 s: 96 components from the tabulated sums)."""
    import femheat as fh

    L, ka = 1.0, 1.0
    k = 2 * math.pi / L
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, L, 25), np.linspace(0, L / 8, 4))
    box = fh.RegionMesh.from_skfem(mesh, boundaries={"outer": lambda x: np.ones(x.shape[1], bool)})
    op = NonlocalOperator(box, 1.0, GrayBTEKernel(ka / k, 2), period=(L, L / 8), tol=1e-8,
                          method="cutoff")
    rate0 = k**2 * float(gray_bte_suppression(ka))
    stepper = NonlocalTheta(op, 1.0, 0.02 / rate0, 0.5)
    M = op.mass()
    phi = np.cos(k * op.basis.doflocs[0])
    norm = float(phi @ M @ phi)
    ts, amp = [], []
    for t, T in stepper.run(lambda x: np.cos(k * x[0]), 1.0 / rate0):
        ts.append(t)
        amp.append(float(phi @ M @ T) / norm)
    rate = -math.log(amp[-1] / amp[0]) / ts[-1]
    assert abs(rate / rate0 - 1) <= 2e-3, f"2D rate error {rate / rate0 - 1:.2e}"


def test_mixture_pair_integrals_are_the_sum_of_the_components():
    """The cell-pair quadrature of a mixture equals Σ w_j W[Y_{l_j}] (2D, touching pairs
    through the potential, tol 1e-8): measured 3.6e-8 relative to the largest entry."""
    from femheat.kernels import CellPairQuadrature, YukawaKernel

    m = skfem.MeshTri.init_tensor(np.linspace(0, 1, 4), np.linspace(0, 1, 4))
    idx = np.arange(m.t.shape[1])
    mix = YukawaMixtureKernel([0.3, 0.7, 2.0], [0.2, 0.5, 0.3], 2)
    W = CellPairQuadrature(m.p, m.t, mix, 1e-8).entries(idx, idx)
    ref = sum(w * CellPairQuadrature(m.p, m.t, YukawaKernel(l, 2), 1e-8).entries(idx, idx)
              for w, l in zip(mix.weights, mix.lengths))
    assert np.abs(W - ref).max() <= 2e-7 * np.abs(ref).max()
