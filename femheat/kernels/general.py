r"""General tabulated kernels: sign-changing radial tables and kernels given per point pair
(issue 13 item 3), with their well-posedness checks.

Two ways a kernel leaves the radial, non-negative families of
:mod:`femheat.kernels.functions`:

* a **sign-changing radial table**, ``TabulatedKernel(r, g, allow_negative=True)``: the
  operator is translation invariant, and the steady and transient problems are well posed
  iff the total symbol of the two-phase law stays positive,

  .. math:: \sigma(k) = \xi + (1-\xi)\,\hat g(k) > 0 \quad\text{for all } k,

  (a plane wave T = e^{ik·x} has energy dissipation ∝ k²κσ(k)|T̂|²: σ < 0 is a mode that
  carries heat up its own gradient, against the second law, and makes a(T, T) indefinite).
  :func:`check_kernel_symbol` evaluates σ on 0 ≤ k ≤ k_max and raises
  :class:`~femheat.kernels.solver_base.IllPosedError` (with the wavenumber, the value
  and the local fraction that would fix it) when σ < −SYMBOL_NOISE, and warns
  :class:`~femheat.kernels.solver_base.IllConditionedWarning` when an interior minimum
  of σ falls below :data:`MARGINAL_SYMBOL`. :class:`NonlocalOperator` runs it for every
  :class:`~femheat.kernels.functions.TabulatedKernel` (a non-negative table can still
  have a negative transform), with k_max ≥ the mesh's resolvable wavenumber.

* a **point-pair kernel** Z(x, X) (:class:`PairKernelOperator`), not translation
  invariant and of any sign: a Python function Z(x, X) on 1D/2D/3D meshes (bounded
  kernels: the pair integrals are product Gauss rules), or on a 1D mesh a table given on
  a sample grid (x_i, X_j) and interpolated bilinearly, or per bin pair (the estimator
  :func:`femheat.analysis.greenkubo_space.space_resolved_kernel` gives W_ij with
  j_i = −Σ_j W_ij ∇T_j, i.e. Z = W_ij/Δx_j on bin i × bin j). The cell-pair matrix is

  .. math:: W[K,K'] = \int_K\int_{K'} Z(x, X)\,dX\,dx \quad [\mathrm{W\,m^{d-1}\,K^{-1}}]

  by a Gauss rule per cell (exact for the per-bin form when cells do not straddle bin
  edges), symmetrized (Onsager: Z(x, X) = Z(X, x) for a scalar 1D kernel; the relative
  antisymmetric part is reported, and warned above 5 %). Well-posedness is the spectrum
  of the assembled symmetric part: with D = diag(|K|κ_K) (κ_K the local conductivity),
  the eigenvalues λ of D^{−1/2}(ξD + (1−ξ)W)D^{−1/2} must be positive (refused below
  −:data:`SPECTRUM_NOISE`·λ_max, with the local fraction ξ ≥ −λ_min/(1 − λ_min) that
  would restore coercivity), and λ_min/λ_max below 1/:data:`ILL_CONDITIONED_AMPLIFICATION`
  warns (a steady solve amplifies such modes by λ_max/λ_min; transient runs are fine).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import skfem
from numpy.typing import ArrayLike

from ..errors import FemheatInputError
from .functions import RadialKernel, YukawaKernel
from .operator import NonlocalOperator
from .solver_base import IllConditionedWarning, IllPosedError
from .well_posedness import ILL_CONDITIONED_AMPLIFICATION

__all__ = ["MARGINAL_SYMBOL", "SPECTRUM_NOISE", "SYMBOL_NOISE", "PairKernelOperator",
           "SymbolCheck", "SpectrumCheck", "check_kernel_symbol"]

log = logging.getLogger(__name__)

#: an interior minimum of σ(k) = ξ + (1−ξ)ĝ(k) below this warns (marginally well posed)
MARGINAL_SYMBOL = 0.02
#: a pair operator's λ_min below −SPECTRUM_NOISE·λ_max is refused (between that and
#: λ_max/ILL_CONDITIONED_AMPLIFICATION it is warned as marginal)
SPECTRUM_NOISE = 1e-8
#: σ below −SYMBOL_NOISE is refused (the numerical transform of a table is accurate to ~1e-7)
SYMBOL_NOISE = 1e-5


@dataclass
class SymbolCheck:
    """Result of :func:`check_kernel_symbol`.

    Attributes
    ----------
    minimum
        min_k σ(k) on the checked range (dimensionless, σ(0) = 1).
    wavenumber
        k at the minimum [m⁻¹].
    k_max
        Largest wavenumber checked [m⁻¹].
    interior
        True when the minimum is an interior local minimum (not the decaying tail).
    """

    minimum: float
    wavenumber: float
    k_max: float
    interior: bool


def check_kernel_symbol(kernel: RadialKernel, local_fraction: float = 0.0, *,
                        k_max: float | None = None, n: int = 400) -> SymbolCheck:
    r"""Check σ(k) = ξ + (1−ξ)ĝ(k) > 0 for 0 ≤ k ≤ k_max (module docstring).

    Parameters
    ----------
    kernel
        A radial kernel (any sign).
    local_fraction
        ξ ∈ [0, 1].
    k_max
        Largest wavenumber [m⁻¹]; default 50/length.
    n
        Number of wavenumbers (geometric from 10⁻³/length).

    Raises
    ------
    IllPosedError
        If σ < −:data:`SYMBOL_NOISE` somewhere (the message gives k, σ and the ξ that would fix it).

    Warns
    -----
    IllConditionedWarning
        If an interior minimum of σ is below :data:`MARGINAL_SYMBOL`.
    """
    xi = float(local_fraction)
    L = float(kernel.length)
    kmax = 50.0 / L if k_max is None else float(k_max)
    k = np.concatenate([[0.0], np.geomspace(min(1e-3 / L, kmax / 10), kmax, n)])
    g = np.concatenate([np.asarray(kernel.symbol(k[i:i + 50]), dtype=float)
                        for i in range(0, k.size, 50)])
    if not np.all(np.isfinite(g)):
        raise FemheatInputError(f"{kernel!r}: its symbol could not be evaluated (non-finite "
                                "values); check the table")
    sigma = xi + (1.0 - xi) * g
    i = int(np.argmin(sigma))
    # a dip: the symbol rises again after its minimum (not the decaying tail)
    interior = 0 < i < k.size - 1 and float(sigma[i:].max()) > sigma[i] + MARGINAL_SYMBOL
    out = SymbolCheck(float(sigma[i]), float(k[i]), kmax, interior)
    if sigma[i] < -SYMBOL_NOISE:
        gmin = float(g[i])
        fix = -gmin / (1.0 - gmin)
        raise IllPosedError(
            f"{kernel!r} with local_fraction = {xi:g} is ill posed: the total symbol "
            f"xi + (1 - xi) g^(k) = {sigma[i]:.3g} < 0 at k = {k[i]:.4g} 1/m (wavelength "
            f"{2 * math.pi / max(k[i], 1e-300):.4g} m): a temperature wave of that length "
            "would carry heat up its own gradient (second law), and the steady operator is "
            f"indefinite. Use local_fraction > {fix:.3g}, or a kernel whose Fourier transform "
            "is positive")
    if interior and sigma[i] < MARGINAL_SYMBOL:
        warnings.warn(
            f"{kernel!r} with local_fraction = {xi:g} is marginally well posed: the total "
            f"symbol dips to {sigma[i]:.3g} at k = {k[i]:.4g} 1/m, so that mode is amplified "
            f"~{1 / max(sigma[i], 1e-300):.3g}x in steady solutions; a local fraction or a "
            "smoother table reduces it", IllConditionedWarning, stacklevel=3)
    return out


@dataclass
class SpectrumCheck:
    """Eigenvalues of the scaled symmetric cell-pair operator (:class:`PairKernelOperator`).

    Attributes
    ----------
    minimum, maximum
        λ_min, λ_max of D^{−1/2}(ξD + (1−ξ)W_sym)D^{−1/2}.
    asymmetry
        ‖W − Wᵀ‖_F / ‖W + Wᵀ‖_F of the table before symmetrization.
    """

    minimum: float
    maximum: float
    asymmetry: float


def _proxy_kernel(centroids: np.ndarray, W: np.ndarray) -> RadialKernel:
    """A Yukawa kernel of W's mean second moment per axis (∫Z s_x² = 2l²∫Z), for the
    solvers' symbol-based diagnostics and preconditioner choice only: the well-posedness
    of a pair kernel is decided by its spectrum (:meth:`PairKernelOperator._spectrum`), and
    a Yukawa proxy (symbol 1/(1 + l²k²), never smoothing) leaves that decision to it."""
    n, d = centroids.shape
    s2 = np.zeros((n, n))
    for k in range(d):
        s2 += (centroids[:, k][None, :] - centroids[:, k][:, None]) ** 2
    w = np.abs(W)
    m2 = float(np.sum(w * s2) / max(float(np.sum(w)), 1e-300)) / d
    diam = float(np.max(np.ptp(centroids, axis=0)))
    return YukawaKernel(max(math.sqrt(max(m2, 0.0) / 2.0), 1e-6 * max(diam, 1e-300)), d)


class PairKernelOperator(NonlocalOperator):
    r"""Nonlocal operator of a point-pair kernel Z(x, X) (table on 1D meshes, or function).

    q(x) = −ξκ(x)∇T(x) − (1−ξ)∫ Z(x, X) ∇T(X) dX (module docstring). It is a
    :class:`NonlocalOperator` (dense W), so the steady and transient solvers of
    :mod:`femheat.kernels.solvers` and :mod:`femheat.kernels.transient` take it.

    Parameters
    ----------
    mesh
        ``skfem.MeshLine`` (or a 1D RegionMesh) inside the table's extent; with
        ``function`` also a 2D/3D RegionMesh or scikit-fem mesh.
    positions
        Sample coordinates x_i [m], strictly increasing; with ``interpolation="bins"``
        the bin edges (m + 1 values for m × m values).
    values
        Z(x_i, X_j) [W m⁻² K⁻¹] (the 1D kernel density), any sign.
    function
        Instead of a table: Z(x, X) [W m⁻¹⁻ᵈ K⁻¹] for points x (d, n) and X (d, m),
        returning (n, m) (a scalar kernel, Z·I on ∇T); bounded.
    conductivity
        κ of the local part [W m⁻¹ K⁻¹] (scalar, callable or per-subdomain dict); default:
        the row integrals ∫Z(x, X) dX at the cell centroids (the local limit of the kernel).
    local_fraction
        ξ ∈ [0, 1].
    interpolation
        ``"linear"`` (bilinear on the sample grid) or ``"bins"`` (constant per bin pair).
    gauss_points
        Pair integrals exact for polynomials of degree 2·gauss_points − 1 per cell.
    check
        Run the spectrum check (refuse ill-posed, warn marginal).
    max_cells
        Largest mesh (the cell-pair matrix is dense).
    """

    def __init__(self, mesh, positions: ArrayLike | None = None, values: ArrayLike | None = None,
                 *, function: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 conductivity=None, local_fraction: float = 0.0, interpolation: str = "linear",
                 gauss_points: int = 4, check: bool = True, max_cells: int = 4000):
        m_ = getattr(mesh, "mesh", mesh)
        p, t = m_.p, m_.t
        d = p.shape[0]
        if function is not None:
            if positions is not None or values is not None:
                raise FemheatInputError("PairKernelOperator takes a table (positions, values) or "
                                        "a function, not both")
            if not callable(function):
                raise FemheatInputError(f"function must be callable Z(x, X), got {function!r}")
            self._table = None
            self._function = function
        else:
            self._function = None
            self._table = self._check_table(positions, values, interpolation, p)
        if t.shape[1] > max_cells:
            raise FemheatInputError(
                f"PairKernelOperator assembles a dense ncells² matrix; {t.shape[1]} cells exceed "
                f"max_cells = {max_cells}")
        elem = {1: skfem.ElementLineP1, 2: skfem.ElementTriP1, 3: skfem.ElementTetP1}[d]()
        basis = skfem.CellBasis(m_, elem, intorder=2 * int(gauss_points) - 1)
        xq = basis.mapping.F(basis.X)  # (d, ncells, nqp)
        wq = np.asarray(basis.dx)  # (ncells, nqp)
        W = self._pair_integrals(xq, wq)
        sym = 0.5 * (W + W.T)
        asym = float(np.linalg.norm(W - W.T) / max(np.linalg.norm(W + W.T), 1e-300))
        if asym > 0.05:
            warnings.warn(f"PairKernelOperator: the table's antisymmetric part is {asym:.1%} of "
                          "the symmetric one (Onsager symmetry Z(x, X) = Z(X, x) is expected "
                          "for a scalar kernel); only the symmetric part is used",
                          IllConditionedWarning, stacklevel=2)
        meas = wq.sum(axis=1)
        row = sym.sum(axis=1) / meas  # ∫_K ∫ Z dX dx / |K|: the local-limit κ_K
        if conductivity is None:
            mean_row = float(np.mean(row))
            if not mean_row > 0:
                raise IllPosedError(
                    f"PairKernelOperator: the kernel's mean integral ∫Z(x, X)dX = {mean_row:.3g} "
                    "W/(m K) is not positive; the kernel does not conduct heat")
            cond_arg = _PerCell(np.where(row > 0, row, mean_row))
        else:
            cond_arg = conductivity
        centroids = p[:, t].mean(axis=1).T
        super().__init__(mesh, cond_arg, _proxy_kernel(centroids, sym), local_fraction=1.0,
                         method="dense")
        xi = float(local_fraction)
        if not 0.0 <= xi <= 1.0:
            raise FemheatInputError(f"local_fraction must be in [0, 1], got {local_fraction!r}")
        self.local_fraction = xi
        self.method = "dense"
        s = self._s
        self._W = sym / np.outer(s, s)
        self._perm = None
        self.stats.update(method="pair table" if self._table else "pair function", nnz=sym.size,
                          asymmetry=asym)
        self.spectrum = self._spectrum(sym, asym) if check else None

    # ------------------------------------------------------------- pieces
    @staticmethod
    def _check_table(positions, values, interpolation: str, p: np.ndarray):
        if positions is None or values is None:
            raise FemheatInputError("PairKernelOperator needs positions and values (a table) "
                                    "or function=Z(x, X)")
        x = np.asarray(positions, dtype=float)
        Z = np.asarray(values, dtype=float)
        if interpolation not in ("linear", "bins"):
            raise FemheatInputError(f"interpolation must be 'linear' or 'bins', got "
                                    f"{interpolation!r}")
        m = x.size - (1 if interpolation == "bins" else 0)
        if x.ndim != 1 or m < 2 or Z.shape != (m, m):
            raise FemheatInputError(
                f"PairKernelOperator values must be ({m}, {m}) for {x.size} "
                f"{'bin edges' if interpolation == 'bins' else 'positions'}, got {Z.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(Z))):
            raise FemheatInputError("PairKernelOperator positions and values must be finite")
        if np.any(np.diff(x) <= 0):
            raise FemheatInputError("PairKernelOperator positions must be strictly increasing")
        if p.shape[0] != 1:
            raise FemheatInputError(f"a tabulated Z(x, X) needs a 1D mesh, got {p.shape[0]}D; "
                                    "give function=Z(x, X) on 2D/3D meshes")
        span = x[-1] - x[0]
        if p.min() < x[0] - 1e-9 * span or p.max() > x[-1] + 1e-9 * span:
            raise FemheatInputError(
                f"the mesh [{p.min():g}, {p.max():g}] m reaches outside the kernel table "
                f"[{x[0]:g}, {x[-1]:g}] m; Z(x, X) is not known there")
        return x, Z, interpolation

    def _pair_integrals(self, xq: np.ndarray, wq: np.ndarray) -> np.ndarray:
        """W[K,K'] = Σ_ab w_Ka w_K'b Z(x_Ka, x_K'b), in row blocks of cells."""
        d, n, nq = xq.shape
        flat = xq.reshape(d, n * nq)
        W = np.empty((n, n))
        step = max(1, 4_000_000 // (n * nq * nq))
        for k0 in range(0, n, step):
            k1 = min(n, k0 + step)
            rows = xq[:, k0:k1].reshape(d, -1)
            if self._function is None:
                z = self._evaluate(rows[0], flat[0])
            else:
                z = np.asarray(self._function(rows, flat), dtype=float)
                if z.shape != (rows.shape[1], flat.shape[1]) or not np.all(np.isfinite(z)):
                    raise FemheatInputError(
                        f"function Z(x, X) must return finite values of shape (n, m) for x of "
                        f"shape {rows.shape} and X of shape {flat.shape}; got {z.shape}")
            z = z.reshape(k1 - k0, nq, n, nq)
            W[k0:k1] = np.einsum("ka,kalb,lb->kl", wq[k0:k1], z, wq)
        return W

    def _evaluate(self, x: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Z at all pairs (x_a, X_b), shape (len(x), len(X))."""
        xs, Z, how = self._table
        if how == "bins":
            i = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, Z.shape[0] - 1)
            j = np.clip(np.searchsorted(xs, X, side="right") - 1, 0, Z.shape[1] - 1)
            return Z[np.ix_(i, j)]
        i = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, xs.size - 2)
        j = np.clip(np.searchsorted(xs, X, side="right") - 1, 0, xs.size - 2)
        u = np.clip((x - xs[i]) / (xs[i + 1] - xs[i]), 0.0, 1.0)[:, None]
        v = np.clip((X - xs[j]) / (xs[j + 1] - xs[j]), 0.0, 1.0)[None, :]
        I, J = np.ix_(i, j)
        return ((1 - u) * (1 - v) * Z[I, J] + u * (1 - v) * Z[I + 1, J]
                + (1 - u) * v * Z[I, J + 1] + u * v * Z[I + 1, J + 1])

    def _spectrum(self, sym: np.ndarray, asym: float) -> SpectrumCheck:
        d = self.measure * self.conductivity[:, 0, 0]
        r = 1.0 / np.sqrt(d)
        xi = self.local_fraction
        A = r[:, None] * sym * r[None, :]
        lam = np.linalg.eigvalsh(xi * np.eye(A.shape[0]) + (1 - xi) * A)
        lo, hi = float(lam[0]), float(lam[-1])
        out = SpectrumCheck(lo, hi, asym)
        if lo < -SPECTRUM_NOISE * abs(hi):
            la = float(np.linalg.eigvalsh(A)[0])
            fix = -la / (1.0 - la) if la < 1 else 1.0
            raise IllPosedError(
                f"PairKernelOperator with local_fraction = {xi:g} is ill posed: the symmetric "
                f"part of the assembled kernel operator has eigenvalue {lo:.3g} (largest "
                f"{hi:.3g}, relative to the local conductivity): some temperature-gradient "
                "pattern would carry heat up its own gradient (second law) and the steady "
                f"operator is not coercive. Use local_fraction > {fix:.3g}, or smooth the "
                "table (it may be noise at the bin scale)")
        if lo < hi / ILL_CONDITIONED_AMPLIFICATION:
            warnings.warn(
                f"PairKernelOperator: the kernel operator is marginally well posed "
                f"(eigenvalues {lo:.3g} ... {hi:.3g}, ratio {hi / max(lo, 1e-300):.3g} > "
                f"{ILL_CONDITIONED_AMPLIFICATION:g}); grid-scale modes are amplified in "
                "steady solutions", IllConditionedWarning, stacklevel=3)
        log.info("PairKernelOperator: eigenvalues %.3g ... %.3g, asymmetry %.2e", lo, hi, asym)
        return out


class _PerCell:
    """A conductivity given per cell (in mesh order), as the operator's callable κ(x)."""

    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values, dtype=float)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[-1] != self.values.size:
            raise FemheatInputError("per-cell conductivity evaluated off the cell centroids")
        return self.values
