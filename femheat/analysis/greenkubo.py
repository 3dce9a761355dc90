r"""Bulk Green–Kubo conductivity and memory function from an equilibrium heat-flux series.

Seed 004 eqs. 1c and 51: with :math:`\mathbf j(t)` the **volume-averaged heat-flux density**
[W m⁻²] of a sample of volume V at temperature T₀ (eq. 52),

.. math::
    \boldsymbol\kappa = \frac{V}{k_B T_0^2}\int_0^\infty
        \langle \mathbf j(t)\otimes\mathbf j(0)\rangle\,dt
    = \int_0^\infty \mathsf Z(t)\,dt, \qquad
    \mathsf Z(t) = \frac{V}{k_B T_0^2}\langle \mathbf j(t)\otimes\mathbf j(0)\rangle
    \;[\mathrm{W\,m^{-1}\,K^{-1}\,s^{-1}}].

:math:`\mathsf Z(t)` is the (local, spatially integrated) memory function of the
multi-mode model: :math:`\mathbf q(t) = -\int_0^\infty \mathsf Z(t')\nabla T(t-t')\,dt'`; a
sum of exponentials :math:`\mathsf Z = \sum_m (\kappa_m/\tau_m)e^{-t/\tau_m}` is the
multi-mode MCV law :math:`\tau_m\dot{\mathbf q}_m + \mathbf q_m = -\kappa_m\nabla T`
(seed 004 eqs. 23–26). MD codes often print the **total heat current**
:math:`\mathbf J = V\mathbf j` [W m] (LAMMPS ``compute heat/flux``); pass
``flux_kind="current"`` and the same V: then κ = 1/(V k_B T₀²) ∫⟨J(t)⊗J(0)⟩dt.

Estimators
----------
* :func:`green_kubo`: FFT correlation (:mod:`.correlation`), trapezoidal running integral
  κ(t), error bars from ``n_blocks`` contiguous blocks (standard error of the block means),
  and the cutoff t_c = 2 t₀, where t₀ is the first lag at which the ACF's trace is within
  one standard error of zero (the signal has sunk into the noise; beyond 2t₀ the residual
  tail is below the error bar for any exponential-like decay). A plateau check (κ(t) stays
  within its error bar on [t_c, 2t_c]) is reported.
* :func:`cepstral_conductivity`: the cepstral method (Ercole, Marcolongo & Baroni, Sci. Rep.
  7, 15835 (2017)): the log-periodogram is Fourier-filtered with the number of cepstral
  coefficients P* chosen by the Akaike criterion; its error bar is analytic.

Relaxation time: τ = tr κ / tr Z(0) [s] — the exact τ of a single-mode (MCV) memory, and
for several modes the ratio Σκ_m / Σ(κ_m/τ_m).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special

from ..errors import FemheatInputError
from .correlation import _as_2d, block_correlations, channel_means, check_stationarity, required_samples

__all__ = [
    "BOLTZMANN",
    "GreenKuboResult",
    "CepstralResult",
    "green_kubo",
    "cepstral_conductivity",
    "fit_memory_modes",
    "synthetic_ou_flux",
]

log = logging.getLogger(__name__)

#: Boltzmann constant [J K⁻¹] (exact, SI 2019)
BOLTZMANN = 1.380649e-23


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FemheatInputError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise FemheatInputError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _flux_scale(flux_kind: str, volume: float) -> float:
    """Factor turning the input series into the volume-averaged flux density [W m⁻²]."""
    if flux_kind == "density":
        return 1.0
    if flux_kind == "current":
        return 1.0 / volume
    raise FemheatInputError(f"flux_kind must be 'density' (W m⁻²) or 'current' (total J = V j, W m), "
                            f"got {flux_kind!r}")


def _lags(n: int, timestep: float, correlation_time: float | None, n_blocks: int, name: str) -> int:
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (int, np.integer)) or n_blocks < 2:
        raise FemheatInputError(f"n_blocks must be an integer >= 2, got {n_blocks!r}")
    if correlation_time is None:
        L = max(1, n // (4 * n_blocks))
    else:
        ct = _positive(correlation_time, "correlation_time")
        L = int(math.ceil(ct / timestep - 1e-9))
    need = required_samples(L, n_blocks)
    if n < need:
        raise FemheatInputError(
            f"{name} has {n} samples, too short for correlation_time = {L * timestep:.4g} s ({L} lags) with "
            f"n_blocks = {n_blocks}: needs at least n_blocks·4·lags = {need} samples "
            f"({need * timestep:.4g} s of trajectory at timestep {timestep:.4g} s); run longer, "
            "or lower correlation_time or n_blocks")
    return L


@dataclass(frozen=True)
class GreenKuboResult:
    r"""Bulk Green–Kubo estimate (SI units).

    Attributes
    ----------
    time
        Lags t_k = k Δt [s], shape (L+1,).
    memory_function
        Z(t) = V/(k_B T₀²)⟨j(t)⊗j(0)⟩ [W m⁻¹ K⁻¹ s⁻¹], shape (L+1, d, d).
    memory_function_error
        Block standard error of Z(t), same shape.
    running_conductivity
        κ(t) = ∫₀ᵗ Z [W m⁻¹ K⁻¹] (trapezoid), shape (L+1, d, d).
    running_error
        Block standard error of κ(t).
    conductivity, conductivity_error
        κ(t_c) and its standard error [W m⁻¹ K⁻¹], shape (d, d).
    cutoff_time
        t_c [s] (see the module docstring).
    relaxation_time, relaxation_time_error
        τ = tr κ / tr Z(0) [s] and its block standard error.
    block_conductivity
        κ(t_c) of each block, shape (n_blocks, d, d).
    plateau
        True if κ(t) stays within its error bar on [t_c, min(2t_c, t_max)].
    stationarity
        The drift statistics of :func:`.correlation.check_stationarity` (empty if skipped).
    """

    time: np.ndarray
    memory_function: np.ndarray
    memory_function_error: np.ndarray
    running_conductivity: np.ndarray
    running_error: np.ndarray
    conductivity: np.ndarray
    conductivity_error: np.ndarray
    cutoff_time: float
    relaxation_time: float
    relaxation_time_error: float
    block_conductivity: np.ndarray
    plateau: bool
    volume: float
    temperature: float
    stationarity: dict = field(default_factory=dict)

    @property
    def isotropic_conductivity(self) -> float:
        """tr κ / d [W m⁻¹ K⁻¹]."""
        return float(np.trace(self.conductivity) / self.conductivity.shape[0])

    @property
    def isotropic_error(self) -> float:
        """Block standard error of tr κ / d [W m⁻¹ K⁻¹]."""
        tr = np.trace(self.block_conductivity, axis1=1, axis2=2) / self.conductivity.shape[0]
        return float(tr.std(ddof=1) / math.sqrt(len(tr)))


def _trapz_running(z: np.ndarray, dt: float) -> np.ndarray:
    out = np.zeros_like(z)
    out[1:] = np.cumsum(0.5 * (z[1:] + z[:-1]), axis=0) * dt
    return out


def _cutoff_index(ctr: np.ndarray, ctr_err: np.ndarray, L: int) -> tuple[int, bool]:
    """2·(first lag with |tr C| ≤ its standard error), capped at L; False if there is none."""
    below = np.nonzero(np.abs(ctr[1:]) <= ctr_err[1:])[0]
    if below.size == 0:
        return L, False
    k0 = int(below[0]) + 1
    return min(2 * k0, L), True


def green_kubo(flux: ArrayLike, timestep: float, *, volume: float, temperature: float,
               correlation_time: float | None = None, n_blocks: int = 16, flux_kind: str = "density",
               cutoff_time: float | None = None, check_stationarity_: bool = True,
               memory_bytes: float = 256e6) -> GreenKuboResult:
    r"""Green–Kubo conductivity tensor, running integral, memory function and error bars.

    Parameters
    ----------
    flux
        Heat-flux series, shape (N, d) (or (N,) for one component): the volume-averaged flux
        density j [W m⁻²] (``flux_kind="density"``) or the total current J = V j [W m]
        (``flux_kind="current"``). A memmap is read in segments.
    timestep
        Sampling interval Δt [s].
    volume
        Sample volume V [m³].
    temperature
        Equilibrium temperature T₀ [K].
    correlation_time
        Longest lag t_max [s] (default N Δt/(4 n_blocks)); the series must be at least
        ``n_blocks · 4 · t_max/Δt`` samples long.
    n_blocks
        Number of contiguous blocks for the error bars (≥ 2).
    cutoff_time
        Integrate to this time [s] instead of the automatic t_c.
    check_stationarity_
        Refuse a drifting series (:func:`.correlation.check_stationarity`).
    memory_bytes
        Memory budget of the FFT batches [bytes].

    Returns
    -------
    GreenKuboResult
    """
    dt = _positive(timestep, "timestep")
    V = _positive(volume, "volume")
    T0 = _positive(temperature, "temperature")
    x = _as_2d(flux, "flux")
    n, d = x.shape
    if not np.all(np.isfinite(np.asarray(x[: min(n, 1 << 16)], dtype=float))):
        raise FemheatInputError("flux contains NaN or inf values")
    scale = _flux_scale(flux_kind, V)
    L = _lags(n, dt, correlation_time, n_blocks, "flux")
    stat = check_stationarity(x, name="flux", n_blocks=n_blocks) if check_stationarity_ else {}
    pref = V / (BOLTZMANN * T0 ** 2) * scale ** 2
    mean = channel_means(x)
    blocks = []
    tot = np.zeros((L + 1, d, d))
    cnt = np.zeros(L + 1)
    for bc in block_correlations(x, L, n_blocks=n_blocks, mean=mean, memory_bytes=memory_bytes):
        # sums[k, a, b] = Σ x_a(n) x_b(n+k) = ⟨j_b(t) j_a(0)⟩ · count → transpose to Z_ab(t)
        zt = np.swapaxes(bc.sums, 1, 2)
        tot += zt
        cnt += bc.counts
        blocks.append(pref * zt / np.maximum(bc.counts, 1)[:, None, None])
    Zb = np.stack(blocks)  # (nb, L+1, d, d)
    Z = pref * tot / cnt[:, None, None]
    nb = Zb.shape[0]
    Zerr = Zb.std(axis=0, ddof=1) / math.sqrt(nb)
    kb = np.stack([_trapz_running(z, dt) for z in Zb])
    K = _trapz_running(Z, dt)
    Kerr = kb.std(axis=0, ddof=1) / math.sqrt(nb)
    if cutoff_time is not None:
        kc = min(int(round(_positive(cutoff_time, "cutoff_time") / dt)), L)
        found = True
    else:
        ztr = np.trace(Zb, axis1=2, axis2=3)
        kc, found = _cutoff_index(ztr.mean(axis=0), ztr.std(axis=0, ddof=1) / math.sqrt(nb), L)
        if not found:
            warnings.warn(f"green_kubo: the flux autocorrelation has not decayed into the noise within "
                          f"correlation_time = {L * dt:.4g} s; κ is integrated to the end and may be "
                          "truncated: increase correlation_time", RuntimeWarning, stacklevel=2)
    ktr = np.trace(K, axis1=1, axis2=2)
    etr = np.trace(Kerr, axis1=1, axis2=2)
    k2 = min(2 * kc, L)
    plateau = bool(np.all(np.abs(ktr[kc:k2 + 1] - ktr[kc]) <= etr[kc:k2 + 1])) if k2 > kc else found
    kap = K[kc]
    kap_b = kb[:, kc]
    z0 = np.trace(Z[0])
    tau = float(np.trace(kap) / z0) if z0 > 0 else float("nan")
    tau_b = np.trace(kap_b, axis1=1, axis2=2) / np.trace(Zb[:, 0], axis1=1, axis2=2)
    tau_err = float(tau_b.std(ddof=1) / math.sqrt(nb))
    log.info("green_kubo: N=%d d=%d lags=%d blocks=%d t_c=%.4g s κ=%.6g±%.2g W/mK τ=%.4g±%.2g s plateau=%s",
             n, d, L, nb, kc * dt, np.trace(kap) / d, np.trace(Kerr[kc]) / d, tau, tau_err, plateau)
    return GreenKuboResult(
        time=np.arange(L + 1) * dt, memory_function=Z, memory_function_error=Zerr,
        running_conductivity=K, running_error=Kerr, conductivity=kap, conductivity_error=Kerr[kc],
        cutoff_time=kc * dt, relaxation_time=tau, relaxation_time_error=tau_err,
        block_conductivity=kap_b, plateau=plateau, volume=V, temperature=T0, stationarity=stat)


# ----------------------------------------------------------------------------------------------
# cepstral analysis
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CepstralResult:
    """Cepstral estimate of the isotropic conductivity (SI units).

    ``conductivity`` ± ``error`` [W m⁻¹ K⁻¹]; ``n_coefficients`` P* (Akaike);
    ``frequency`` [Hz] and ``filtered_log_psd`` the smoothed log-spectrum (of j, in
    ln(W² m⁻⁴ s)); ``aic`` the Akaike curve over P = 1 … len(aic).
    """

    conductivity: float
    error: float
    n_coefficients: int
    frequency: np.ndarray
    filtered_log_psd: np.ndarray
    aic: np.ndarray


def cepstral_conductivity(flux: ArrayLike, timestep: float, *, volume: float, temperature: float,
                          flux_kind: str = "density", max_frequency: float | None = None,
                          n_coefficients: int | None = None) -> CepstralResult:
    r"""Isotropic κ by cepstral analysis of the flux periodogram.

    With the ℓ columns of ``flux`` taken as equivalent (isotropy; one column: ℓ = 1), the
    averaged periodogram :math:`\hat S_k = \frac{1}{\ell}\sum_a \frac{\Delta t}{N}|\hat x_a(f_k)|^2`
    is :math:`S(f_k)\,\xi_k` with :math:`\xi_k\sim\chi^2_{2\ell}/2\ell`, so
    :math:`\log\hat S_k = \log S_k + \log\xi_k` with
    :math:`E\log\xi = \psi(\ell)-\log\ell`, :math:`\operatorname{var}\log\xi = \psi'(\ell)`.
    The cepstral coefficients :math:`\hat C_n` (inverse DFT of the even extension of
    :math:`\log\hat S`, N′ points) are kept for n < P*, P* minimizing
    :math:`\mathrm{AIC}(P) = \frac{N'}{2\psi'(\ell)}\big(2\sum_{n=P}^{N'/2-1}\hat C_n^2+\hat C_{N'/2}^2\big) + 2P`;
    then :math:`\hat L_0 = \hat C_0 + 2\sum_{n=1}^{P^*-1}\hat C_n - \psi(\ell) + \log\ell`,
    :math:`\operatorname{var}\hat L_0 = \psi'(\ell)(4P^*-2)/N'` and, since S(0) = 2∫₀^∞C,

    .. math:: \kappa = \frac{V}{2k_BT_0^2}\,e^{\hat L_0}, \qquad \sigma_\kappa = \kappa\,\sigma_{L_0}.

    ``max_frequency`` [Hz] keeps only f ≤ f* (a low-pass: fewer coefficients needed when the
    spectrum has structure at high frequency that does not matter for S(0)).
    """
    dt = _positive(timestep, "timestep")
    V = _positive(volume, "volume")
    T0 = _positive(temperature, "temperature")
    x = np.asarray(_as_2d(flux, "flux"), dtype=float)
    n, ell = x.shape
    if n < 64:
        raise FemheatInputError(f"flux has {n} samples; the cepstral estimate needs at least 64")
    x = (x - x.mean(axis=0)) * _flux_scale(flux_kind, V)
    xf = np.fft.rfft(x, axis=0)
    S = (dt / n) * (np.abs(xf) ** 2).mean(axis=1)
    freq = np.fft.rfftfreq(n, dt)
    if max_frequency is not None:
        fmax = _positive(max_frequency, "max_frequency")
        keep = int(np.searchsorted(freq, fmax, side="right"))
        if keep < 16:
            raise FemheatInputError(f"max_frequency = {fmax:g} Hz keeps only {keep} frequencies; raise it")
        S, freq = S[:keep], freq[:keep]
    K = S.size
    Np = 2 * (K - 1)
    if np.any(S[1:] <= 0):
        raise FemheatInputError("flux periodogram has zero entries: a constant or periodic series?")
    S[0] = S[1]  # the mean is removed, so the f = 0 bin carries no information
    logS = np.log(S)
    C = np.fft.irfft(logS, n=Np)
    bias = special.digamma(ell) - math.log(ell)
    var1 = float(special.polygamma(1, ell))
    half = Np // 2
    sq = C[:half + 1] ** 2
    # tail[P] = 2 Σ_{n=P}^{half-1} C_n² + C_half²
    tail = np.empty(half + 1)
    tail[half] = sq[half]
    tail[:half] = sq[half] + 2.0 * np.cumsum(sq[:half][::-1])[::-1]
    P = np.arange(1, half + 1)
    aic = Np / (2.0 * var1) * tail[1:half + 1] + 2.0 * P
    if n_coefficients is None:
        Pstar = int(P[np.argmin(aic)])
    else:
        Pstar = int(n_coefficients)
        if not 1 <= Pstar <= half:
            raise FemheatInputError(f"n_coefficients must be in [1, {half}], got {n_coefficients!r}")
    L0 = C[0] + 2.0 * C[1:Pstar].sum() - bias
    sL = math.sqrt(var1 * (4 * Pstar - 2) / Np)
    kap = V / (2.0 * BOLTZMANN * T0 ** 2) * math.exp(L0)
    Cf = C.copy()
    Cf[Pstar:Np - Pstar + 1] = 0.0
    flt = np.fft.rfft(Cf).real[:K] - bias
    log.info("cepstral_conductivity: N=%d ℓ=%d K=%d P*=%d κ=%.6g±%.2g W/mK", n, ell, K, Pstar, kap, kap * sL)
    return CepstralResult(conductivity=kap, error=kap * sL, n_coefficients=Pstar, frequency=freq,
                          filtered_log_psd=flt, aic=aic)


# ----------------------------------------------------------------------------------------------
# memory modes (local NNLS; femheat.analysis.prony, when present, is the general tool)
# ----------------------------------------------------------------------------------------------

def fit_memory_modes(result: GreenKuboResult, *, n_candidates: int = 40,
                     relaxation_times: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Non-negative exponential modes of the isotropic memory function (a Prony-type fit).

    Fits :math:`\operatorname{tr}\mathsf Z(t)/d \approx \sum_m (\kappa_m/\tau_m)e^{-t/\tau_m}`
    on 0 ≤ t ≤ t_c by non-negative least squares over candidate τ's (log-spaced from Δt to
    t_c, or ``relaxation_times`` [s]); returns the modes with κ_m > 0 as ``(kappa_m [W m⁻¹ K⁻¹],
    tau_m [s])``, ready for the multi-mode MCV model (Σκ_m ≈ κ, seed 004 eqs. 23–26).

    This is a small local hook: the project's general Prony tool (``femheat.analysis.prony``,
    developed separately) should replace it where available.
    """
    t = result.time
    kc = max(int(round(result.cutoff_time / (t[1] - t[0]))), 2)
    d = result.conductivity.shape[0]
    z = np.trace(result.memory_function, axis1=1, axis2=2)[:kc + 1] / d
    tt = t[:kc + 1]
    if relaxation_times is None:
        taus = np.logspace(math.log10(t[1]), math.log10(max(t[kc], 2 * t[1])), int(n_candidates))
    else:
        taus = np.asarray(relaxation_times, dtype=float).ravel()
        if taus.size == 0 or np.any(~np.isfinite(taus)) or np.any(taus <= 0):
            raise FemheatInputError(f"relaxation_times must be positive and finite, got {relaxation_times!r}")
    A = np.exp(-tt[:, None] / taus[None, :]) / taus[None, :]
    w = np.full(tt.size, 1.0)
    w[0] = w[-1] = 0.5
    sw = np.sqrt(w * (tt[1] - tt[0]))
    kap, _ = optimize.nnls(A * sw[:, None], z * sw)
    keep = kap > 1e-12 * max(kap.max(), 1e-300)
    return kap[keep], taus[keep]


# ----------------------------------------------------------------------------------------------
# synthetic data
# ----------------------------------------------------------------------------------------------

def synthetic_ou_flux(n_samples: int, timestep: float, *, conductivity: ArrayLike,
                      relaxation_time: float | ArrayLike, volume: float, temperature: float,
                      seed: int | None = None) -> np.ndarray:
    r"""Flux-density series [W m⁻²] of independent Ornstein–Uhlenbeck modes with a known κ and τ.

    Mode m (tensor κ_m, time τ_m) is the exact AR(1) discretization
    :math:`\mathbf j_{n+1} = a\mathbf j_n + \sqrt{1-a^2}\,\Sigma_m^{1/2}\boldsymbol\xi_n`,
    :math:`a = e^{-\Delta t/\tau_m}`, stationary covariance
    :math:`\Sigma_m = k_BT_0^2\kappa_m/(V\tau_m)`, so
    :math:`\langle\mathbf j(t)\otimes\mathbf j(0)\rangle = \sum_m\Sigma_m e^{-|t|/\tau_m}` and
    the Green–Kubo integral is Σκ_m (the trapezoid on the grid gives
    :math:`\kappa_m\frac{\Delta t}{2\tau_m}\coth\frac{\Delta t}{2\tau_m} = \kappa_m(1+O(\Delta t^2/\tau_m^2))`).

    ``conductivity``: a scalar, a (d, d) SPD tensor, or a list of them (one per mode, with
    ``relaxation_time`` a list of the same length). Returns shape (n_samples, d) (d = 1 for
    scalars).
    """
    from scipy.signal import lfilter

    dt = _positive(timestep, "timestep")
    V = _positive(volume, "volume")
    T0 = _positive(temperature, "temperature")
    taus = np.atleast_1d(np.asarray(relaxation_time, dtype=float))
    kaps = np.asarray(conductivity, dtype=float)
    if taus.size == 1 and not (kaps.ndim in (1, 3) and kaps.shape[0] > 1):
        kaps = kaps[None]
    if kaps.shape[0] != taus.size:
        raise FemheatInputError(f"conductivity gives {kaps.shape[0]} modes but relaxation_time {taus.size}")
    kaps = np.array([np.atleast_2d(k) for k in kaps])
    d = kaps.shape[1]
    rng = np.random.default_rng(seed)
    out = np.zeros((int(n_samples), d))
    for km, tm in zip(kaps, taus):
        tm = _positive(tm, "relaxation_time")
        cov = BOLTZMANN * T0 ** 2 * km / (V * tm)
        Lc = np.linalg.cholesky(0.5 * (cov + cov.T))
        a = math.exp(-dt / tm)
        xi = rng.standard_normal((int(n_samples), d)) @ Lc.T
        x0 = xi[0].copy()  # stationary start
        drive = math.sqrt(1 - a * a) * xi
        drive[0] = x0
        out += lfilter([1.0], [1.0, -a], drive, axis=0)
    return out
