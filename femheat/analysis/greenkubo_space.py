r"""Space-resolved heat-conduction kernel from binned equilibrium flux series (seed 004 eqs. 54–55c).

Seed 004 eq. 55c: :math:`\mathsf Z(\mathbf r,\mathbf R,t) = \frac{1}{k_BT_0^2}
\langle \mathbf j(\mathbf R,t)\otimes\mathbf j(\mathbf r,0)\rangle_{\rm eq}` [W m⁻⁴ K⁻¹ s⁻¹]
(a kernel *density*: ``j`` the local flux density), with the constitutive law (eq. 55b)
:math:`\mathbf j(\mathbf r,t) = -\int d^3R\int_0^\infty dt'\,\mathsf Z(\mathbf r,\mathbf R,t')\cdot
\nabla T(\mathbf R,t-t')`.

Binned data
-----------
A sample is cut along one axis (x) into slabs i of width Δx_i and cross-section A
(``bin_edges``, ``cross_section``; V_i = AΔx_i), and j_i(t) is the slab-averaged flux density
[W m⁻²] (LAMMPS ``fix ave/chunk`` with :func:`femheat.io.lammps.chunk_flux_density`). The
estimator of the kernel between slabs is

.. math::
    \mathsf Z_{ij}(t) = \frac{1}{k_BT_0^2}\langle \mathbf j_j(t)\otimes\mathbf j_i(0)\rangle
    \;[\mathrm{W\,m^{-4}\,K^{-1}\,s^{-1}}],\qquad
    \mathsf W_{ij} = V_j\int_0^{t_c}\mathsf Z_{ij}(t)\,dt \;[\mathrm{W\,m^{-1}\,K^{-1}}],

so that :math:`\mathbf j_i = -\sum_j \mathsf W_{ij}\nabla T_j` (the discrete eq. 35 with Z_D),
and the generalized conductivities (eq. 36, femheat's normalization of
:mod:`femheat.kernels.moments`: no minus sign, no 1/n!) along the bin axis are

.. math::
    \kappa^{(n)}(x_i) = \sum_j \mathsf W_{ij}\,(x_j - x_i)^n
    \;[\mathrm{W\,m^{-1}\,K^{-1}\,m^n}],

with the minimum-image distance in a periodic sample. The slab average integrates the kernel
over the transverse directions, so these are exactly the per-axis moments κ⁽ⁿ⁾_{..xx..} of
the 3D kernel. The equivalent Guyer–Krumhansl length is
:math:`l = \sqrt{\kappa^{(2)}/(2(1+\beta)\kappa^{(0)})}` (moments.py; eq. 34), and the
volume-weighted bin average of κ⁽⁰⁾ equals the bulk Green–Kubo κ of the summed series
(eqs. 52–53) identically. Error bars are standard errors over ``n_blocks`` time blocks.

Interface (eq. 41): the kernel integrated over a plane x = x_S,
:math:`G_K(x_i) = \int_S Z_D(x_i, \mathbf r')\,dS' \approx \mathsf W_{iS}/\Delta x_S`
[W m⁻² K⁻¹] (S the slab holding the plane).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError
from .correlation import block_correlations, channel_means, check_stationarity
from .greenkubo import BOLTZMANN, GreenKuboResult, _positive, green_kubo

__all__ = ["SpaceKernelResult", "space_resolved_kernel", "synthetic_binned_flux", "check_bins"]

log = logging.getLogger(__name__)


def check_bins(bin_edges: ArrayLike, sample_extent: tuple[float, float] | None = None) -> np.ndarray:
    """Validate slab edges [m]: strictly increasing, and tiling ``sample_extent`` = (lo, hi) if given."""
    e = np.asarray(bin_edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)):
        raise FemheatInputError(f"bin_edges must be a 1D array of at least 2 finite edges [m], got shape {e.shape}")
    if np.any(np.diff(e) <= 0):
        k = int(np.argmin(np.diff(e)))
        raise FemheatInputError(f"bin_edges must increase strictly; edges {k} and {k + 1} are {e[k]!r}, {e[k + 1]!r}")
    if sample_extent is not None:
        lo, hi = (float(v) for v in sample_extent)
        tol = 1e-9 * (hi - lo)
        if abs(e[0] - lo) > tol or abs(e[-1] - hi) > tol:
            raise FemheatInputError(
                f"bin_edges do not tile the sample: they span [{e[0]:.6g}, {e[-1]:.6g}] m but sample_extent is "
                f"[{lo:.6g}, {hi:.6g}] m; the bins must cover the sample exactly (no gap, no overhang)")
    return e


@dataclass(frozen=True)
class SpaceKernelResult:
    """Space-resolved kernel estimate (SI units; see the module docstring).

    ``weights`` W_ij [W m⁻¹ K⁻¹], shape (n_bins, n_bins) for one flux component or
    (n_bins, n_bins, c, c) for c; ``weights_error`` its block standard error;
    ``correlation`` Z_ij(t) [W m⁻⁴ K⁻¹ s⁻¹], shape (L+1, n_bins, n_bins[, c, c]) or None;
    ``moments[n]`` κ⁽ⁿ⁾(x_i) (n = 0, 1, 2) and ``moments_error[n]``, shape (n_bins[, c, c]);
    ``bulk`` the Green–Kubo result of the volume-averaged series (eqs. 51–53).
    """

    centers: np.ndarray
    widths: np.ndarray
    cross_section: float
    time: np.ndarray
    cutoff_time: float
    weights: np.ndarray
    weights_error: np.ndarray
    block_weights: np.ndarray
    correlation: np.ndarray | None
    moments: list[np.ndarray]
    moments_error: list[np.ndarray]
    block_moments: list[np.ndarray]
    bulk: GreenKuboResult
    beta: float

    def sample_moment(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Volume-averaged κ⁽ⁿ⁾ over the bins and its block standard error."""
        w = self.widths / self.widths.sum()
        val = np.einsum("i...,i->...", self.moments[n], w)
        bl = np.einsum("bi...,i->b...", self.block_moments[n], w)
        return val, bl.std(axis=0, ddof=1) / math.sqrt(bl.shape[0])

    def gk_length(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Sample-averaged equivalent GK length l = √(κ⁽²⁾/(2(1+β)κ⁽⁰⁾)) [m] and its block error
        (for c components: per diagonal component)."""
        w = self.widths / self.widths.sum()

        def length(k0, k2):
            if k0.ndim >= 2:
                k0, k2 = np.diagonal(k0, axis1=-2, axis2=-1), np.diagonal(k2, axis1=-2, axis2=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.sqrt(np.maximum(k2, 0) / (2 * (1 + self.beta) * k0))

        l0 = length(np.einsum("i...,i->...", self.moments[0], w), np.einsum("i...,i->...", self.moments[2], w))
        b0 = np.einsum("bi...,i->b...", self.block_moments[0], w)
        b2 = np.einsum("bi...,i->b...", self.block_moments[2], w)
        lb = np.array([length(x, y) for x, y in zip(b0, b2)])
        return l0, lb.std(axis=0, ddof=1) / math.sqrt(lb.shape[0])

    def interface_conductance(self, position: float) -> tuple[np.ndarray, np.ndarray]:
        """G_K(x_i) = W_iS/Δx_S [W m⁻² K⁻¹] for the plane x = ``position`` (eq. 41), and its error."""
        edges = np.concatenate([[self.centers[0] - self.widths[0] / 2], self.centers + self.widths / 2])
        if not edges[0] <= position <= edges[-1]:
            raise FemheatInputError(f"position {position!r} m is outside the binned sample "
                                    f"[{edges[0]:.6g}, {edges[-1]:.6g}] m")
        s = int(np.clip(np.searchsorted(edges, position, side="right") - 1, 0, self.widths.size - 1))
        return self.weights[:, s] / self.widths[s], self.weights_error[:, s] / self.widths[s]


def space_resolved_kernel(flux: ArrayLike, timestep: float, *, bin_edges: ArrayLike, cross_section: float,
                          temperature: float, periodic: bool = True,
                          sample_extent: tuple[float, float] | None = None,
                          correlation_time: float | None = None, n_blocks: int = 16,
                          cutoff_time: float | None = None, beta: float = 0.0,
                          moment_range: float | None = None, keep_correlation: bool = True,
                          check_stationarity_: bool = True, memory_bytes: float = 256e6) -> SpaceKernelResult:
    r"""Kernel Z_ij(t), Z_D weights, moments κ⁽⁰⁻²⁾ and the GK length from slab-binned fluxes.

    Parameters
    ----------
    flux
        Slab flux densities j_i(t) [W m⁻²], shape (N, n_bins) (one component, usually the
        one along the bin axis) or (N, n_bins, c).
    timestep
        Sampling interval Δt [s].
    bin_edges
        Slab edges along the bin axis [m], n_bins + 1 values.
    cross_section
        Slab cross-section A [m²] (V_i = A Δx_i).
    temperature
        T₀ [K].
    periodic
        Use minimum-image distances (periodic MD box of length edges[-1] − edges[0]).
    sample_extent
        (lo, hi) [m]: refuse bins that do not tile it.
    correlation_time, n_blocks, cutoff_time, check_stationarity_, memory_bytes
        As :func:`femheat.analysis.greenkubo.green_kubo`; t_c defaults to the bulk series' cutoff.
    beta
        GK β for the equivalent length (0: seed 004 form; 2: original GK, longitudinal fields).
    moment_range
        Only pairs with |x_j − x_i| ≤ moment_range [m] enter the moments (cuts the noise of
        far bins, whose weight grows as δⁿ); default: all.
    keep_correlation
        Store Z_ij(t) for all lags ((L+1)·(n_bins·c)² floats).
    """
    dt = _positive(timestep, "timestep")
    T0 = _positive(temperature, "temperature")
    A = _positive(cross_section, "cross_section")
    edges = check_bins(bin_edges, sample_extent)
    nb = edges.size - 1
    if not hasattr(flux, "shape"):
        flux = np.asarray(flux, dtype=float)
    if flux.ndim not in (2, 3):
        raise FemheatInputError(f"flux must have shape (n_samples, n_bins) or (n_samples, n_bins, c), got {flux.shape}")
    if flux.shape[1] != nb:
        raise FemheatInputError(f"flux has {flux.shape[1]} bins (axis 1) but bin_edges define {nb}: "
                                "they must match")
    c = 1 if flux.ndim == 2 else flux.shape[2]
    n = flux.shape[0]
    x = flux.reshape(n, nb * c)
    widths = np.diff(edges)
    centers = 0.5 * (edges[1:] + edges[:-1])
    Vb = A * widths
    Vtot = float(Vb.sum())
    # bulk series j_bulk = Σ V_i j_i / V (eq. 52): fixes the lags, t_c and the bulk κ
    jb = np.einsum("nic,i->nc", np.asarray(x, dtype=float).reshape(n, nb, c), Vb / Vtot)
    bulk = green_kubo(jb, dt, volume=Vtot, temperature=T0, correlation_time=correlation_time,
                      n_blocks=n_blocks, cutoff_time=cutoff_time, check_stationarity_=False)
    if check_stationarity_:
        check_stationarity(x, name="flux", n_blocks=n_blocks)
    L = bulk.time.size - 1
    kc = int(round(bulk.cutoff_time / dt))
    wts = np.full(kc + 1, dt)
    wts[0] = wts[-1] = 0.5 * dt
    if kc == 0:
        wts[:] = 0.0
    pref = 1.0 / (BOLTZMANN * T0 ** 2)
    mean = channel_means(x)
    keep = L + 1 if keep_correlation else kc + 1
    Wb, tot, cnt = [], np.zeros((keep, nb * c, nb * c)), np.zeros(L + 1)
    for bc in block_correlations(x, L, n_blocks=n_blocks, mean=mean, memory_bytes=memory_bytes):
        z = bc.sums[:kc + 1] / np.maximum(bc.counts[:kc + 1], 1)[:, None, None]
        # z[k, (i,b), (j,a)] = ⟨j_a(x_j,t) j_b(x_i,0)⟩
        Wb.append(pref * np.tensordot(wts, z, axes=(0, 0)))
        tot += bc.sums[:keep]
        cnt += bc.counts
        del z

    def shape(w):  # ((i,b), (j,a)) → (i, j, a, b), times V_j
        w = w.reshape(nb, c, nb, c).transpose(0, 2, 3, 1) * Vb[:, None, None]
        return w[..., 0, 0] if c == 1 else w

    Wblk = np.stack([shape(w) for w in Wb])
    # pooled estimate (all blocks' pairs at each lag), consistent with the bulk κ of eq. 53
    W = shape(pref * np.tensordot(wts, tot[:kc + 1] / cnt[:kc + 1, None, None], axes=(0, 0)))
    nbk = Wblk.shape[0]
    Werr = Wblk.std(axis=0, ddof=1) / math.sqrt(nbk)
    corr = None
    if keep_correlation:
        zt = (pref * tot / cnt[:, None, None]).reshape(L + 1, nb, c, nb, c).transpose(0, 1, 3, 4, 2)
        corr = zt[..., 0, 0] if c == 1 else zt
    delta = centers[None, :] - centers[:, None]
    if periodic:
        Lbox = edges[-1] - edges[0]
        delta = delta - Lbox * np.round(delta / Lbox)
    mask = np.ones_like(delta) if moment_range is None else (np.abs(delta) <= _positive(moment_range, "moment_range"))
    moms, merr, mblk = [], [], []
    for order in range(3):
        f = mask * delta ** order
        fb = f if c == 1 else f[:, :, None, None]
        mb = (Wblk * fb[None]).sum(axis=2)
        mblk.append(mb)
        moms.append((W * fb).sum(axis=1))
        merr.append(mb.std(axis=0, ddof=1) / math.sqrt(nbk))
    res = SpaceKernelResult(centers=centers, widths=widths, cross_section=A, time=bulk.time, cutoff_time=kc * dt,
                            weights=W, weights_error=Werr, block_weights=Wblk, correlation=corr, moments=moms,
                            moments_error=merr, block_moments=mblk, bulk=bulk, beta=float(beta))
    l, le = res.gk_length()
    log.info("space_resolved_kernel: %d bins × %d comp, %d samples, t_c = %.4g s, κ_bulk = %.6g, l = %s ± %s m",
             nb, c, n, kc * dt, bulk.isotropic_conductivity, l, le)
    return res


def synthetic_binned_flux(n_samples: int, timestep: float, *, bin_edges: ArrayLike, cross_section: float,
                          conductivity: float, relaxation_time: float, profile, temperature: float,
                          seed: int | None = None) -> np.ndarray:
    r"""Slab fluxes [W m⁻²] with a known kernel W_ij = κ g(x_j − x_i) Δx (periodic, uniform bins).

    Each slab flux is an Ornstein–Uhlenbeck process of time τ; the equal-time covariance is the
    circulant :math:`\langle j_ij_j\rangle = k_BT_0^2\kappa\,g(\delta_{ij})/(A\tau)` (minimum-image
    δ), so that W_ij = V_j τ⟨j_ij_j⟩/(k_BT_0²) = κ g(δ_ij)Δx. ``profile`` is the 1D kernel
    density g(s) [m⁻¹] with ∫g = 1 (the planar marginal of the 3D kernel: Gaussian
    e^{−s²/2a²}/(√(2π)a), Yukawa e^{−|s|/l}/(2l)); its circulant must be positive
    semidefinite (tiny negative eigenvalues are clipped).
    """
    from scipy.signal import lfilter

    edges = check_bins(bin_edges)
    w = np.diff(edges)
    if not np.allclose(w, w[0], rtol=1e-9):
        raise FemheatInputError("synthetic_binned_flux needs uniform bins")
    nb = w.size
    Lbox = edges[-1] - edges[0]
    s = np.arange(nb) * w[0]
    s = s - Lbox * np.round(s / Lbox)
    tau = _positive(relaxation_time, "relaxation_time")
    row = BOLTZMANN * _positive(temperature, "temperature") ** 2 * float(conductivity) \
        * np.asarray(profile(s), dtype=float) / (_positive(cross_section, "cross_section") * tau)
    lam = np.fft.fft(row).real
    if lam.min() < -1e-4 * lam.max():
        raise FemheatInputError("profile gives a covariance that is not positive semidefinite on these bins")
    root = np.sqrt(np.maximum(lam, 0.0))
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal((int(n_samples), nb))
    y = np.fft.ifft(np.fft.fft(xi, axis=1) * root, axis=1).real
    a = math.exp(-_positive(timestep, "timestep") / tau)
    drive = math.sqrt(1 - a * a) * y
    drive[0] = y[0]
    return lfilter([1.0], [1.0, -a], drive, axis=0)
