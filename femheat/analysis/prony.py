r"""Prony (sum-of-exponentials) representation of a memory kernel (issue 11 item 2).

A Zwanzig memory function sampled in time, or a complex conductivity sampled in
frequency, is fitted by M positive exponential modes,

.. math::

    Z(t) = \sum_m \frac{\kappa_m}{\tau_m} e^{-t/\tau_m}
    \quad [\mathrm{W\,m^{-1}\,K^{-1}\,s^{-1}}], \qquad
    \kappa(\omega) = \int_0^\infty Z(t) e^{-i\omega t} dt
    = \sum_m \frac{\kappa_m}{1 + i\omega\tau_m},

with κₘ > 0, τₘ > 0, so that the static conductivity κ = ∫Z dt = Σκₘ (seed 004
eq. 27) and the modes are directly a
:class:`~femheat.physics.memory.MemoryMaterial` (``MemoryMaterial.from_prony``).

Method: (1) non-negative least squares (:func:`scipy.optimize.nnls`) for the mode
amplitudes on a log-spaced τ grid, which needs no starting guess and returns a
sparse spectrum; adjacent non-zero grid amplitudes are merged into one mode
(amplitude-weighted mean of log τ). (2) Nonlinear refinement of all (κₘ, τₘ) with
:func:`scipy.optimize.least_squares` in the variables log κₘ, log τₘ (positivity
by construction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import least_squares, nnls

from ..errors import FemheatInputError
from ..validation import finite_array

__all__ = ["PronyFit", "fit_memory_function", "fit_conductivity_spectrum",
           "memory_function"]

log = logging.getLogger(__name__)


@dataclass
class PronyFit:
    """Result of a Prony fit.

    Attributes
    ----------
    modes
        [(κₘ [W m⁻¹ K⁻¹], τₘ [s]), ...], τ ascending.
    residual
        Relative RMS misfit ‖fit − data‖₂ / ‖data‖₂ on the samples.
    conductivity
        κ = ∫Z dt = Σκₘ [W m⁻¹ K⁻¹].
    """

    modes: list[tuple[float, float]]
    residual: float
    conductivity: float

    def memory_function(self, t: ArrayLike) -> np.ndarray:
        """Z(t) = Σ (κₘ/τₘ) e^{−t/τₘ}."""
        return memory_function(self.modes, t)

    def spectrum(self, omega: ArrayLike) -> np.ndarray:
        """κ(ω) = Σ κₘ/(1 + iωτₘ), ω in rad/s."""
        w = np.asarray(omega, dtype=float)
        return sum(k / (1.0 + 1j * w * t) for k, t in self.modes)


def memory_function(modes, t: ArrayLike) -> np.ndarray:
    """Z(t) = Σₘ (κₘ/τₘ) e^{−t/τₘ} of a list of modes (κₘ, τₘ)."""
    tt = np.asarray(t, dtype=float)
    return sum((k / tau) * np.exp(-tt / tau) for k, tau in modes)


def _grid(lo: float, hi: float, n: int) -> np.ndarray:
    return np.logspace(np.log10(lo), np.log10(hi), n)


def _merge(taus: np.ndarray, amps: np.ndarray, keep: Optional[int],
           threshold: float) -> list[tuple[float, float]]:
    """Clusters of adjacent non-zero NNLS amplitudes -> modes (κ, τ)."""
    nz = amps > 0
    clusters, cur = [], []
    for i in range(amps.size):
        if nz[i]:
            cur.append(i)
        elif cur:
            clusters.append(cur)
            cur = []
    if cur:
        clusters.append(cur)
    modes = []
    for c in clusters:
        a = amps[c]
        modes.append((float(a.sum()), float(np.exp(np.sum(a * np.log(taus[c])) / a.sum()))))
    total = sum(k for k, _ in modes)
    modes = [m for m in modes if m[0] > threshold * total] or modes
    if keep is not None and len(modes) > keep:
        modes = sorted(modes, key=lambda m: -m[0])[:keep]
    if keep is not None and len(modes) < keep:  # split the largest in log tau
        while len(modes) < keep:
            modes.sort(key=lambda m: -m[0])
            k, t = modes.pop(0)
            modes += [(k / 2, t / 1.5), (k / 2, t * 1.5)]
    return sorted(modes, key=lambda m: m[1])


def _refine(modes, residual_fn, scale: float):
    p0 = np.log(np.array(modes, dtype=float)).ravel()  # [log k1, log t1, ...]

    def fun(p):
        ms = np.exp(p).reshape(-1, 2)
        return residual_fn(ms) / scale

    sol = least_squares(fun, p0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                        max_nfev=2000 * p0.size)
    ms = np.exp(sol.x).reshape(-1, 2)
    order = np.argsort(ms[:, 1])
    return [(float(k), float(t)) for k, t in ms[order]]


def _check_modes_arg(n_modes, where: str) -> Optional[int]:
    if n_modes is None:
        return None
    if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < 1:
        raise FemheatInputError(f"{where} must be a positive integer, got {n_modes!r}")
    return int(n_modes)


def fit_memory_function(t: ArrayLike, Z: ArrayLike, n_modes: Optional[int] = None, *,
                        tau_range: Optional[tuple[float, float]] = None,
                        grid_points: int = 200, threshold: float = 1e-4) -> PronyFit:
    """Fit Z(t) ≈ Σ (κₘ/τₘ) e^{−t/τₘ} with κₘ, τₘ > 0.

    Parameters
    ----------
    t
        Sample times [s], ≥ 0, at least 2 distinct.
    Z
        Memory function samples [W m⁻¹ K⁻¹ s⁻¹].
    n_modes
        Number of modes; default: as many as the NNLS spectrum has clusters
        carrying more than ``threshold`` of κ.
    tau_range
        (τ_min, τ_max) of the NNLS grid; default from the sampling: from a tenth of
        the smallest positive time step to ten times the last time.
    grid_points
        Size of the log-spaced τ grid.
    """
    tt = finite_array(t, "prony.t").ravel()
    zz = finite_array(Z, "prony.Z").ravel()
    if tt.size != zz.size or tt.size < 2:
        raise FemheatInputError(
            f"prony: t and Z need the same length >= 2, got {tt.size} and {zz.size}")
    if np.any(tt < 0):
        raise FemheatInputError("prony.t must be >= 0 s")
    keep = _check_modes_arg(n_modes, "prony.n_modes")
    if tau_range is None:
        steps = np.diff(np.unique(tt))
        tau_range = (0.1 * float(steps.min()), 10.0 * float(tt.max()))
    taus = _grid(*tau_range, grid_points)
    E = np.exp(-tt[:, None] / taus[None, :]) / taus[None, :]  # columns: unit-κ modes
    scale = float(np.linalg.norm(zz)) or 1.0
    amps, _ = nnls(E / scale, zz / scale, maxiter=50 * grid_points)
    modes = _merge(taus, amps, keep, threshold)

    def res(ms):
        return memory_function(ms, tt) - zz

    modes = _refine(modes, res, scale)
    r = float(np.linalg.norm(res(modes)) / scale)
    log.info("prony fit of Z(t): %d modes, relative residual %.2e", len(modes), r)
    return PronyFit(modes, r, float(sum(k for k, _ in modes)))


def fit_conductivity_spectrum(omega: ArrayLike, kappa: ArrayLike,
                              n_modes: Optional[int] = None, *,
                              tau_range: Optional[tuple[float, float]] = None,
                              grid_points: int = 200, threshold: float = 1e-4) -> PronyFit:
    """Fit κ(ω) ≈ Σ κₘ/(1 + iωτₘ) (convention e^{iωt}) with κₘ, τₘ > 0.

    Parameters
    ----------
    omega
        Angular frequencies [rad/s], > 0.
    kappa
        Complex conductivity samples [W m⁻¹ K⁻¹] (Im κ ≤ 0 for this convention).
    n_modes, tau_range, grid_points, threshold
        As in :func:`fit_memory_function`; the default τ grid spans
        0.1/ω_max … 10/ω_min.
    """
    w = finite_array(omega, "prony.omega").ravel()
    if np.any(w <= 0):
        raise FemheatInputError(f"prony.omega must be > 0 rad/s, got min {w.min()}")
    k = np.asarray(kappa, dtype=complex).ravel()
    if k.size != w.size or not np.all(np.isfinite(k)):
        raise FemheatInputError("prony: kappa must be finite, one value per omega")
    keep = _check_modes_arg(n_modes, "prony.n_modes")
    if tau_range is None:
        tau_range = (0.1 / float(w.max()), 10.0 / float(w.min()))
    taus = _grid(*tau_range, grid_points)
    A = 1.0 / (1.0 + 1j * w[:, None] * taus[None, :])
    Ar = np.vstack([A.real, A.imag])
    b = np.concatenate([k.real, k.imag])
    scale = float(np.linalg.norm(b)) or 1.0
    amps, _ = nnls(Ar / scale, b / scale, maxiter=50 * grid_points)
    modes = _merge(taus, amps, keep, threshold)

    def res(ms):
        fit = sum(kk / (1.0 + 1j * w * tt) for kk, tt in ms)
        return np.concatenate([(fit - k).real, (fit - k).imag])

    modes = _refine(modes, res, scale)
    r = float(np.linalg.norm(res(modes)) / scale)
    log.info("prony fit of kappa(omega): %d modes, relative residual %.2e", len(modes), r)
    return PronyFit(modes, r, float(sum(kk for kk, _ in modes)))
