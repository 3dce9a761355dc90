"""Cross-check of the bulk Green–Kubo estimators against sportran (cepstral analysis,
Ercole et al. 2017), an independent code, on the same synthetic series (issue 13).

sportran 1.0.0rc4 calls ``numpy.trapz``, removed in NumPy 2: the test supplies the alias
``numpy.trapezoid`` for its duration. Skipped when sportran is not installed."""

from __future__ import annotations

import numpy as np
import pytest

from femheat.analysis.greenkubo import cepstral_conductivity, green_kubo, synthetic_ou_flux
from femheat.io.lammps import HEAT_CURRENT_TO_SI

DT, TAU, V, T0 = 1e-15, 20e-15, 1e-26, 300.0


@pytest.fixture
def sportran(monkeypatch):
    if not hasattr(np, "trapz"):
        monkeypatch.setattr(np, "trapz", np.trapezoid, raising=False)
    return pytest.importorskip("sportran")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bulk_kappa_agrees_with_sportran(sportran, seed, capsys):
    j = synthetic_ou_flux(1 << 16, DT, conductivity=1.5 * np.eye(3), relaxation_time=TAU, volume=V,
                          temperature=T0, seed=seed)
    J_metal = j * V / HEAT_CURRENT_TO_SI["metal"]  # eV Å/ps, extensive
    hc = sportran.HeatCurrent(J_metal, UNITS="metal", DT_FS=DT * 1e15, TEMPERATURE=T0, VOLUME=V * 1e30)
    hcr = hc.resample(fstar_THz=40.0)
    hcr.cepstral_analysis()
    k_st, e_st = float(hcr.kappa), float(hcr.kappa_std)
    gk = green_kubo(j, DT, volume=V, temperature=T0, correlation_time=250 * DT)
    cep = cepstral_conductivity(j, DT, volume=V, temperature=T0, max_frequency=40e12)
    capsys.readouterr()
    assert abs(gk.isotropic_conductivity - k_st) <= 2 * np.hypot(gk.isotropic_error, e_st), (gk, k_st, e_st)
    assert abs(cep.conductivity - k_st) <= 2 * np.hypot(cep.error, e_st)
    assert cep.error == pytest.approx(e_st, rel=0.5)
