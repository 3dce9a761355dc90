"""Bulk Green–Kubo from flux series: synthetic Ornstein–Uhlenbeck validation, error-bar
coverage, cepstral estimate, memory modes, LAMMPS readers and bad input (issue 13)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femheat.analysis.correlation import block_correlations, check_stationarity
from femheat.analysis.greenkubo import (BOLTZMANN, cepstral_conductivity, fit_memory_modes, green_kubo,
                                        synthetic_ou_flux)
from femheat.errors import FemheatInputError
from femheat.io.lammps import (HEAT_CURRENT_TO_SI, TIME_TO_SI, chunk_flux_density, read_ave_chunk,
                               read_ave_time)

DT, TAU, V, T0 = 1e-15, 20e-15, 1e-26, 300.0


def _exact(kappa, tau=TAU, dt=DT):
    """Trapezoidal Green–Kubo integral of the AR(1) correlation σ² aᵏ (exact on the grid)."""
    x = dt / (2 * tau)
    return kappa * x / math.tanh(x)


def test_block_correlations_match_direct_sums():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((700, 3))
    L = 15
    blocks = list(block_correlations(x, L, n_blocks=3, segment=40))
    tot = sum(b.sums for b in blocks)
    y = x - x.mean(axis=0)
    ref = np.array([y[:700 - k].T @ y[k:] for k in range(L + 1)])
    np.testing.assert_allclose(tot, ref, atol=1e-10)
    np.testing.assert_array_equal(sum(b.counts for b in blocks), 700 - np.arange(L + 1))


def test_ou_kappa_and_tau_within_error_bars_across_seeds():
    """κ (isotropic and per component) and τ of a synthetic OU flux fall within 2σ of the truth
    for at least 8 of 10 fixed seeds: the reported error bars have the right size."""
    kap = np.diag([1.0, 2.0, 1.5])
    hits_k = hits_t = hits_c = 0
    rel = []
    for seed in range(10):
        j = synthetic_ou_flux(1 << 15, DT, conductivity=kap, relaxation_time=TAU, volume=V,
                              temperature=T0, seed=seed)
        r = green_kubo(j, DT, volume=V, temperature=T0, correlation_time=200 * DT)
        ex = _exact(np.diag(kap))
        hits_k += abs(r.isotropic_conductivity - ex.mean()) <= 2 * r.isotropic_error
        hits_c += int(np.sum(np.abs(np.diag(r.conductivity) - ex) <= 2 * np.diag(r.conductivity_error)))
        hits_t += abs(r.relaxation_time - TAU) <= 2 * r.relaxation_time_error
        rel.append(r.isotropic_error / ex.mean())
        assert r.running_conductivity.shape == (201, 3, 3)
        assert abs(r.conductivity[0, 1]) < 4 * r.conductivity_error[0, 1] + 1e-12
    assert hits_k >= 8, f"isotropic κ within 2σ for {hits_k}/10 seeds"
    assert hits_c >= 24, f"κ components within 2σ for {hits_c}/30"
    assert hits_t >= 8, f"τ within 2σ for {hits_t}/10 seeds"
    assert 0.01 < np.mean(rel) < 0.2  # error bars neither vanishing nor useless


def test_memory_function_is_the_exponential_and_units():
    """Z(0) = V/(k_B T²)⟨j²⟩ = κ/τ and Z(t)/Z(0) = e^(−t/τ) within its error bars."""
    j = synthetic_ou_flux(1 << 15, DT, conductivity=2.0, relaxation_time=TAU, volume=V, temperature=T0, seed=3)
    r = green_kubo(j, DT, volume=V, temperature=T0, correlation_time=150 * DT)
    z0 = V / (BOLTZMANN * T0 ** 2) * np.mean((j - j.mean()) ** 2)
    assert r.memory_function[0, 0, 0] == pytest.approx(z0, rel=1e-3)
    assert r.memory_function[0, 0, 0] == pytest.approx(2.0 / TAU, rel=0.1)
    k = np.arange(0, 60)
    zt = r.memory_function[k, 0, 0]
    expect = r.memory_function[0, 0, 0] * np.exp(-k * DT / TAU)
    assert np.mean(np.abs(zt - expect) <= 3 * r.memory_function_error[k, 0, 0] + 1e-9 * expect[0]) > 0.9


def test_total_current_equals_density_times_volume():
    j = synthetic_ou_flux(1 << 14, DT, conductivity=1.0, relaxation_time=TAU, volume=V, temperature=T0, seed=1)
    a = green_kubo(j, DT, volume=V, temperature=T0, correlation_time=200 * DT)
    b = green_kubo(j * V, DT, volume=V, temperature=T0, correlation_time=200 * DT, flux_kind="current")
    np.testing.assert_allclose(a.conductivity, b.conductivity, rtol=1e-12)


def test_cepstral_agrees_with_truth_and_direct_integral():
    kap = 1.5 * np.eye(3)
    hits = 0
    for seed in range(10):
        j = synthetic_ou_flux(1 << 15, DT, conductivity=kap, relaxation_time=TAU, volume=V, temperature=T0,
                              seed=seed)
        c = cepstral_conductivity(j, DT, volume=V, temperature=T0, max_frequency=40e12)
        hits += abs(c.conductivity - _exact(1.5)) <= 2 * c.error
        assert 0.01 < c.error / 1.5 < 0.2
    assert hits >= 7, f"cepstral κ within 2σ for {hits}/10 seeds"


def test_memory_modes_of_a_two_mode_flux():
    """Z = Σ κ_m/τ_m e^(−t/τ_m): the NNLS modes sum to κ within the Green–Kubo error bar and
    the κ-weighted mean τ is near Σκ_mτ_m/κ."""
    kaps, taus = [1.0, 0.5], [5e-15, 40e-15]
    j = synthetic_ou_flux(1 << 16, DT, conductivity=kaps, relaxation_time=taus, volume=V, temperature=T0,
                          seed=7)
    r = green_kubo(j, DT, volume=V, temperature=T0, correlation_time=300 * DT)
    km, tm = fit_memory_modes(r)
    assert km.sum() == pytest.approx(r.isotropic_conductivity, abs=3 * r.isotropic_error)
    assert abs(r.isotropic_conductivity - 1.5) <= 2.5 * r.isotropic_error
    assert np.sum(km * tm) / km.sum() == pytest.approx((1.0 * 5 + 0.5 * 40) / 1.5 * 1e-15, rel=0.35)


# ---------------------------------------------------------------------------- LAMMPS files

def test_lammps_ave_time_metal_units_roundtrip(tmp_path):
    j = synthetic_ou_flux(1 << 14, DT, conductivity=np.eye(3), relaxation_time=TAU, volume=V,
                          temperature=T0, seed=2)
    J_metal = j * V / HEAT_CURRENT_TO_SI["metal"]
    md_dt = 0.0005  # ps
    every = round(DT / (md_dt * TIME_TO_SI["metal"]))
    p = tmp_path / "J0Jt.dat"
    with open(p, "w") as fh:
        fh.write("# Time-averaged data for fix JJ\n# TimeStep c_flux[1] c_flux[2] c_flux[3]\n")
        for n, row in enumerate(J_metal):
            fh.write(f"{n * every} {row[0]:.17g} {row[1]:.17g} {row[2]:.17g}\n")
    d = read_ave_time(p)
    assert d.columns == ["c_flux[1]", "c_flux[2]", "c_flux[3]"]
    t = d.time(md_dt, "metal")
    assert t[1] == pytest.approx(DT)
    J = np.column_stack([d.column(f"c_flux[{i}]") for i in (1, 2, 3)]) * HEAT_CURRENT_TO_SI["metal"]
    a = green_kubo(J, t[1] - t[0], volume=V, temperature=T0, correlation_time=200 * DT, flux_kind="current")
    b = green_kubo(j, DT, volume=V, temperature=T0, correlation_time=200 * DT)
    np.testing.assert_allclose(a.conductivity, b.conductivity, rtol=1e-9, atol=1e-12)
    with pytest.raises(FemheatInputError, match="c_flux\\[4\\]"):
        d.column("c_flux[4]")


def test_lammps_ave_chunk_reader(tmp_path):
    p = tmp_path / "chunks.dat"
    txt = ["# Chunk-averaged data for fix jc and group all", "# Timestep Number-of-chunks Total-count",
           "# Chunk Coord1 Ncount v_jx"]
    for step in (0, 10):
        txt.append(f"{step} 3 30")
        for c in range(3):
            txt.append(f"  {c + 1} {0.5 + c} 10 {step + c * 0.1}")
    p.write_text("\n".join(txt) + "\n")
    d = read_ave_chunk(p)
    assert d.data.shape == (2, 3, 3) and d.columns == ["Coord1", "Ncount", "v_jx"]
    np.testing.assert_allclose(d.column("v_jx")[1], [10, 10.1, 10.2])
    jd = chunk_flux_density(d.column("v_jx"), d.column("Ncount"), 2.0)
    np.testing.assert_allclose(jd[1], 5 * np.array([10, 10.1, 10.2]))
    bad = tmp_path / "bad.dat"
    bad.write_text("\n".join(txt[:3] + ["0 3 30", " 1 0.5 10 0", " 2 1.5 10 0", " 3 2.5 10 0",
                                        "10 2 30", " 1 0.5 10 0", " 2 1.5 10 0"]) + "\n")
    with pytest.raises(FemheatInputError, match="bins must be fixed"):
        read_ave_chunk(bad)


# ---------------------------------------------------------------------------- bad input

def test_too_short_series_says_how_long_is_needed():
    j = np.random.default_rng(0).standard_normal((1000, 3))
    with pytest.raises(FemheatInputError, match=r"flux has 1000 samples.*needs at least .* = 6400 samples"):
        green_kubo(j, DT, volume=V, temperature=T0, correlation_time=100 * DT, n_blocks=16)


def test_drift_is_detected():
    j = synthetic_ou_flux(1 << 14, DT, conductivity=1.0, relaxation_time=TAU, volume=V, temperature=T0, seed=4)
    ramp = np.linspace(0, 3, j.shape[0])[:, None] * j.std()
    with pytest.raises(FemheatInputError, match="flux is not stationary: its mean drifts"):
        green_kubo(j + ramp, DT, volume=V, temperature=T0, correlation_time=200 * DT)
    heating = j * np.linspace(1, 2, j.shape[0])[:, None]
    with pytest.raises(FemheatInputError, match="variance drifts"):
        green_kubo(heating, DT, volume=V, temperature=T0, correlation_time=200 * DT)
    r = green_kubo(j + ramp, DT, volume=V, temperature=T0, correlation_time=200 * DT, check_stationarity_=False)
    assert np.isfinite(r.isotropic_conductivity)
    assert check_stationarity(j)["mean_t"] < 8


@pytest.mark.parametrize("kw, match", [
    ({"volume": -1.0}, "volume"), ({"temperature": 0.0}, "temperature"), ({"n_blocks": 1}, "n_blocks"),
    ({"flux_kind": "watts"}, "flux_kind"), ({"correlation_time": -1.0}, "correlation_time"),
])
def test_bad_arguments_are_named(kw, match):
    j = np.random.default_rng(0).standard_normal((8000, 3))
    args = {"volume": V, "temperature": T0, "correlation_time": 50 * DT} | kw
    with pytest.raises(FemheatInputError, match=match):
        green_kubo(j, DT, **args)


def test_nonfinite_and_misshapen_flux():
    j = np.random.default_rng(0).standard_normal((8000, 3))
    j[5, 1] = np.nan
    with pytest.raises(FemheatInputError, match="NaN"):
        green_kubo(j, DT, volume=V, temperature=T0, correlation_time=50 * DT)
    with pytest.raises(FemheatInputError, match="flux must have shape"):
        green_kubo(np.zeros((10, 2, 2)), DT, volume=V, temperature=T0)
