r"""Chunked FFT cross-correlation of long multichannel time series, with block statistics.

The estimators of :mod:`femheat.analysis.greenkubo` (bulk Green–Kubo) and
:mod:`femheat.analysis.greenkubo_space` (space-resolved kernel, seed 004 eqs. 54–55c) both
need, for a series :math:`x_i(n)` of ``m`` channels and ``N`` samples, the lagged sums

.. math::
    S^{(b)}_{ij}(k) = \sum_{n \in \text{block } b,\; n+k<N} x_i(n)\, x_j(n+k),
    \qquad k = 0, \dots, L,

over ``n_blocks`` contiguous time blocks ``b`` (the block estimates give the error bars).
Each block is cut into segments of ``S`` samples; a segment ``a = x[s:s+S]`` and its
extension ``c = x[s:s+S+L]`` are Fourier transformed with ``n_fft ≥ S + L`` (no circular
wrap for lags ≤ L), and the cross-spectra :math:`\sum_{\rm seg}\overline{A_i(f)}C_j(f)` are
accumulated per frequency as one batched matrix product (BLAS), then inverted once per
block. Memory is bounded by ``m² (n_fft/2+1)`` complex numbers plus one batch of segment
spectra, independent of ``N``; ``x`` may be a :class:`numpy.memmap` (read segment by
segment). Cost: ``m² · N/S · n_fft/2`` complex multiply–adds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy import fft as sfft

from ..errors import FemheatInputError

__all__ = ["BlockCorrelation", "block_correlations", "channel_means", "check_stationarity",
           "required_samples"]

log = logging.getLogger(__name__)

#: minimum block length in units of the longest lag
BLOCK_FACTOR = 4


@dataclass(frozen=True)
class BlockCorrelation:
    """Lagged sums of one time block: ``sums[k, i, j] = Σ_n x_i(n) x_j(n+k)`` (mean removed),
    ``counts[k]`` terms each; ``start, stop`` the block's sample range."""

    index: int
    start: int
    stop: int
    sums: np.ndarray
    counts: np.ndarray


def required_samples(max_lag: int, n_blocks: int) -> int:
    """Shortest series for ``max_lag`` lags and ``n_blocks`` blocks: ``n_blocks · 4 · max_lag``."""
    return int(n_blocks) * BLOCK_FACTOR * max(int(max_lag), 1)


def _as_2d(x, name: str) -> np.ndarray:
    if not hasattr(x, "shape"):
        x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise FemheatInputError(f"{name} must have shape (n_samples, n_channels), got {x.shape}")
    return x


def channel_means(x, *, chunk: int = 1 << 16) -> np.ndarray:
    """Mean of each channel, read in chunks of ``chunk`` samples (works on memmaps)."""
    x = _as_2d(x, "x")
    acc = np.zeros(x.shape[1])
    for s in range(0, x.shape[0], chunk):
        acc += np.asarray(x[s:s + chunk], dtype=float).sum(axis=0)
    return acc / x.shape[0]


def check_stationarity(x, *, name: str = "flux", n_blocks: int = 16, threshold: float = 8.0,
                       chunk: int = 1 << 16) -> dict[str, float]:
    r"""Refuse a series whose mean or variance drifts: a non-equilibrium trajectory.

    The series is cut into ``n_blocks`` blocks; the block means :math:`m_b` and the logs of
    the block variances :math:`\log v_b` are each regressed linearly on the block index.
    Block averages of a stationary series with correlation time ≪ block length are nearly
    independent, so the slope's t statistic (slope / its standard error from the residuals,
    ``n_blocks − 2`` degrees of freedom) is O(1); ``|t| > threshold`` (default 8, a false
    alarm probability below 1e-5 per channel) raises :class:`FemheatInputError` naming
    ``name``, the channel, and the drift per block in units of the series' standard deviation.

    Returns the largest |t| of the mean and of the log-variance regressions.
    """
    x = _as_2d(x, name)
    n, m = x.shape
    if n < 2 * n_blocks:
        return {"mean_t": 0.0, "variance_t": 0.0}
    bl = n // n_blocks
    means = np.empty((n_blocks, m))
    var = np.empty((n_blocks, m))
    for b in range(n_blocks):
        seg = np.asarray(x[b * bl:(b + 1) * bl], dtype=float)
        means[b] = seg.mean(axis=0)
        var[b] = seg.var(axis=0)
    if np.any(var <= 0):
        raise FemheatInputError(f"{name} has a channel that is constant over a block: no fluctuations "
                                "to correlate (check the column selection)")
    b = np.arange(n_blocks) - (n_blocks - 1) / 2.0
    sbb = float(b @ b)

    def tstat(y):
        slope = b @ (y - y.mean(axis=0)) / sbb
        res = y - y.mean(axis=0) - np.outer(b, slope)
        se = np.sqrt((res ** 2).sum(axis=0) / (n_blocks - 2) / sbb)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, slope / se, np.where(slope != 0, np.inf, 0.0))
        return slope, t

    slope_m, t_m = tstat(means)
    slope_v, t_v = tstat(np.log(var))
    sd = np.sqrt(var.mean(axis=0))
    if np.max(np.abs(t_m)) > threshold:
        c = int(np.argmax(np.abs(t_m)))
        raise FemheatInputError(
            f"{name} is not stationary: its mean drifts by {slope_m[c] / sd[c]:.3g} standard deviations "
            f"per block of {bl} samples in channel {c} (t = {t_m[c]:.1f} > {threshold:g} over {n_blocks} "
            "blocks); equilibrate longer, drop the transient, or pass check_stationarity=False")
    if np.max(np.abs(t_v)) > threshold:
        c = int(np.argmax(np.abs(t_v)))
        raise FemheatInputError(
            f"{name} is not stationary: its variance drifts by {100 * np.expm1(slope_v[c]):.3g}% per block of "
            f"{bl} samples in channel {c} (t = {t_v[c]:.1f} > {threshold:g}); the temperature is probably "
            "drifting (thermostat off without equilibration?); pass check_stationarity=False to override")
    return {"mean_t": float(np.max(np.abs(t_m))), "variance_t": float(np.max(np.abs(t_v)))}


def block_correlations(x, max_lag: int, *, n_blocks: int, mean: np.ndarray | None = None,
                       segment: int | None = None, memory_bytes: float = 256e6,
                       ) -> Iterator[BlockCorrelation]:
    """Yield the lagged sums of each time block (see the module docstring).

    Parameters
    ----------
    x
        Series, shape ``(N, m)`` (array or memmap; read in segments).
    max_lag
        Largest lag ``L`` [samples].
    n_blocks
        Number of contiguous blocks; the last one takes the remainder.
    mean
        Channel means to subtract (default: computed in a first pass).
    segment
        Segment length ``S`` [samples]; default ``max(2L, 256)``.
    memory_bytes
        Budget for one batch of segment spectra (the accumulated cross-spectrum,
        ``16 m² (n_fft/2+1)`` bytes, comes on top).
    """
    x = _as_2d(x, "x")
    n, m = x.shape
    L = int(max_lag)
    if mean is None:
        mean = channel_means(x)
    S = int(segment) if segment else max(2 * L, 256)
    nfft = sfft.next_fast_len(S + L + 1, real=True)
    nf = nfft // 2 + 1
    per_seg = 4 * 16 * m * nf  # spectra of a and c, plus their real stacked copies
    batch = max(1, int(memory_bytes // per_seg))
    bl = n // n_blocks
    lags = np.arange(L + 1)
    log.debug("block_correlations: N=%d m=%d L=%d blocks=%d S=%d nfft=%d batch=%d", n, m, L, n_blocks,
              S, nfft, batch)
    for b in range(n_blocks):
        s0 = b * bl
        s1 = n if b == n_blocks - 1 else (b + 1) * bl
        starts = list(range(s0, s1, S))
        acc_r = np.zeros((nf, m, m))
        acc_i = np.zeros((nf, m, m))
        for i0 in range(0, len(starts), batch):
            group = starts[i0:i0 + batch]
            A = np.zeros((len(group), nfft, m))
            C = np.zeros((len(group), nfft, m))
            for g, s in enumerate(group):
                e = min(s + S, s1)
                A[g, :e - s] = np.asarray(x[s:e], dtype=float) - mean
                e2 = min(s + S + L, n)
                C[g, :e2 - s] = np.asarray(x[s:e2], dtype=float) - mean
            Af = sfft.rfft(A, n=nfft, axis=1)  # (g, nf, m)
            Cf = sfft.rfft(C, n=nfft, axis=1)
            del A, C
            # acc[f] += Σ_g conj(A[g, f, :])ᵀ C[g, f, :], as two real batched products (BLAS dgemm;
            # NumPy's stacked complex matmul is several times slower):
            # Re = ArᵀCr + AiᵀCi, Im = ArᵀCi − AiᵀCr
            left = np.ascontiguousarray(np.concatenate([Af.real, Af.imag], axis=0).transpose(1, 2, 0))
            right = np.ascontiguousarray(np.concatenate([Cf.real, Cf.imag], axis=0).transpose(1, 0, 2))
            del Af, Cf
            g2 = right.shape[1] // 2
            acc_r += np.matmul(left, right)
            right = np.concatenate([right[:, g2:], -right[:, :g2]], axis=1)
            acc_i += np.matmul(left, right)
            del left, right
        sums = sfft.irfft(acc_r + 1j * acc_i, n=nfft, axis=0)[:L + 1]
        del acc_r, acc_i
        counts = np.maximum(0, np.minimum(s1, n - lags) - s0).astype(float)
        yield BlockCorrelation(b, s0, s1, sums, counts)
