"""Space-resolved Green–Kubo kernel (seed 004 eqs. 54–55c) from slab-binned flux series:
recovery of a known Gaussian / Yukawa kernel's integral, second moment, GK length and
interface conductance (eq. 41) within the reported error bars; bad input (issue 13)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femheat.analysis.greenkubo_space import space_resolved_kernel, synthetic_binned_flux
from femheat.errors import FemheatInputError
from femheat.kernels.moments import gaussian_interface_conductance

DT, TAU, T0, A = 1e-15, 10e-15, 300.0, 1e-18
NB, DX, KAP = 32, 1e-9, 2.0
EDGES = np.arange(NB + 1) * DX
FAC = (DT / (2 * TAU)) / math.tanh(DT / (2 * TAU))  # trapezoid on the AR(1) grid


def gauss(a):
    return lambda s: np.exp(-s ** 2 / (2 * a * a)) / (math.sqrt(2 * math.pi) * a)


def yukawa(l):
    return lambda s: np.exp(-np.abs(s) / l) / (2 * l)


def _targets(g):
    s = np.arange(NB) * DX
    s = s - NB * DX * np.round(s / (NB * DX))
    return KAP * FAC * np.sum(g(s)) * DX, KAP * FAC * np.sum(g(s) * s ** 2) * DX


def _run(g, seed, n=1 << 16, **kw):
    j = synthetic_binned_flux(n, DT, bin_edges=EDGES, cross_section=A, conductivity=KAP, relaxation_time=TAU,
                              profile=g, temperature=T0, seed=seed)
    return space_resolved_kernel(j, DT, bin_edges=EDGES, cross_section=A, temperature=T0,
                                 correlation_time=120 * DT, **kw)


def test_gaussian_kernel_integral_second_moment_and_length_within_error_bars():
    a = 3 * DX
    k0, k2 = _targets(gauss(a))
    assert k2 == pytest.approx(KAP * a * a, rel=2e-3)  # the sampled kernel is the continuum one
    z0, z2, zl, rel2 = [], [], [], []
    for seed in range(4):
        r = _run(gauss(a), seed, moment_range=4 * a)
        m0, e0 = r.sample_moment(0)
        m2, e2 = r.sample_moment(2)
        m1, e1 = r.sample_moment(1)
        l, le = r.gk_length()
        z0.append((m0 - k0) / e0)
        z2.append((m2 - k2) / e2)
        zl.append((l - math.sqrt(k2 / (2 * k0))) / le)
        rel2.append(e2 / k2)
        assert abs(m1) <= 3 * e1  # no drift term in the bulk
        # eq. 53: the bin average of the full κ⁽⁰⁾ is the bulk Green–Kubo κ of the summed series
        full = np.einsum("ij,i->", r.weights, r.widths / r.widths.sum())
        assert full == pytest.approx(r.bulk.isotropic_conductivity, rel=1e-9)
    assert sum(abs(z) <= 2 for z in z0) >= 3, z0
    assert sum(abs(z) <= 2 for z in z2) >= 3, z2
    assert sum(abs(z) <= 2 for z in zl) >= 3, zl
    assert max(rel2) < 0.5


def test_yukawa_kernel_second_moment_is_2l2():
    l = 2 * DX
    k0, k2 = _targets(yukawa(l))
    assert k2 == pytest.approx(2 * KAP * l * l, rel=0.02)
    z0, z2 = [], []
    for seed in range(4):
        r = _run(yukawa(l), seed=seed, moment_range=8 * l)
        m0, e0 = r.sample_moment(0)
        m2, e2 = r.sample_moment(2)
        z0.append((m0 - k0) / e0)
        z2.append((m2 - k2) / e2)
    assert sum(abs(z) <= 2 for z in z0) >= 3 and sum(abs(z) <= 2 for z in z2) >= 3, (z0, z2)
    assert r.correlation.shape == (121, NB, NB)
    # Z_ij(0) V_j τ/… : the equal-time kernel is the Yukawa profile
    W = r.weights
    prof = np.array([np.mean(np.diag(np.roll(W, k, axis=1))) for k in range(4)]) / DX
    np.testing.assert_allclose(prof, KAP * FAC * yukawa(l)(np.arange(4) * DX), rtol=0.15)


def test_interface_conductance_profile_eq41():
    a = 3 * DX
    r = _run(gauss(a), seed=5, keep_correlation=False)
    G, Ge = r.interface_conductance(16.5 * DX)
    z = np.abs(r.centers - 16.5 * DX)
    ref = np.array([gaussian_interface_conductance(KAP * FAC, a, zz) for zz in z])
    near = z <= a
    # the errors of one column W_iS share the noise of j_S: compare the mean over the near bins
    # with the mean error bar (the fully correlated bound)
    assert abs(np.mean(G[near] - ref[near])) <= 2.5 * np.mean(Ge[near])
    assert np.mean(Ge[near] / ref[near]) < 0.25


def test_vector_components():
    """(N, n_bins, c) input gives (n_bins, n_bins, c, c) weights; two independent copies of the
    same kernel have no cross terms."""
    a = 3 * DX
    j1 = synthetic_binned_flux(1 << 14, DT, bin_edges=EDGES, cross_section=A, conductivity=KAP,
                               relaxation_time=TAU, profile=gauss(a), temperature=T0, seed=1)
    j2 = synthetic_binned_flux(1 << 14, DT, bin_edges=EDGES, cross_section=A, conductivity=KAP,
                               relaxation_time=TAU, profile=gauss(a), temperature=T0, seed=2)
    r = space_resolved_kernel(np.stack([j1, j2], axis=2), DT, bin_edges=EDGES, cross_section=A, temperature=T0,
                              correlation_time=60 * DT, n_blocks=8)
    assert r.weights.shape == (NB, NB, 2, 2)
    m0, e0 = r.sample_moment(0)
    assert abs(m0[0, 1]) <= 4 * e0[0, 1] and m0[0, 0] == pytest.approx(KAP, rel=0.3)
    l, le = r.gk_length()
    assert l.shape == (2,)


def test_bins_that_do_not_tile_the_sample():
    j = np.random.default_rng(0).standard_normal((4000, NB))
    with pytest.raises(FemheatInputError, match="do not tile the sample"):
        space_resolved_kernel(j, DT, bin_edges=EDGES, cross_section=A, temperature=T0,
                              sample_extent=(0.0, 40 * DX), correlation_time=10 * DT)
    bad = EDGES.copy()
    bad[5] = bad[4]
    with pytest.raises(FemheatInputError, match="bin_edges must increase strictly"):
        space_resolved_kernel(j, DT, bin_edges=bad, cross_section=A, temperature=T0)


def test_mismatched_shapes_and_short_series():
    j = np.random.default_rng(0).standard_normal((4000, NB - 1))
    with pytest.raises(FemheatInputError, match="flux has 31 bins.*bin_edges define 32"):
        space_resolved_kernel(j, DT, bin_edges=EDGES, cross_section=A, temperature=T0)
    j = np.random.default_rng(0).standard_normal((1000, NB))
    with pytest.raises(FemheatInputError, match="needs at least"):
        space_resolved_kernel(j, DT, bin_edges=EDGES, cross_section=A, temperature=T0, correlation_time=100 * DT)
    with pytest.raises(FemheatInputError, match="cross_section"):
        space_resolved_kernel(j, DT, bin_edges=EDGES, cross_section=0.0, temperature=T0)


def test_drift_in_one_bin_is_detected():
    j = synthetic_binned_flux(1 << 14, DT, bin_edges=EDGES, cross_section=A, conductivity=KAP,
                              relaxation_time=TAU, profile=gauss(3 * DX), temperature=T0, seed=3)
    j[:, 7] *= np.linspace(1.0, 2.0, j.shape[0])
    with pytest.raises(FemheatInputError, match="flux is not stationary.*channel 7"):
        space_resolved_kernel(j, DT, bin_edges=EDGES, cross_section=A, temperature=T0, correlation_time=60 * DT)
