r"""User-supplied radial kernels: a tabulated profile and a Python callable.

Both are :class:`~femheat.kernels.radial.RadialKernel` subclasses whose mass,
symbol, moments and cut-off are computed numerically; their normalization in the
mesh dimension is applied or checked (:func:`_normalization`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import interpolate, optimize

from ..errors import FemheatInputError
from .radial import (RadialKernel, _check_dim, _check_length, _check_tol, _radial_integral,
                     sphere_area)

__all__ = ["CallableKernel", "TabulatedKernel"]


def _normalization(mass: float, dim: int, normalize: bool, rtol: float, what: str) -> float:
    """Scale making ∫ g dV = 1: 1/mass if ``normalize``, else 1 after checking the mass."""
    if not math.isfinite(mass) or mass <= 0:
        raise FemheatInputError(f"{what} has mass {mass!r}; it must be finite and > 0")
    if normalize:
        return 1.0 / mass
    if abs(mass - 1.0) > rtol:
        raise FemheatInputError(
            f"{what} is not normalized in {dim}D: ∫ g dV = {mass:.8g} (must be 1 within "
            f"rtol = {rtol:g}); fix it or pass normalize=True")
    return 1.0


class TabulatedKernel(RadialKernel):
    r"""Radial profile tabulated at radii r_i, interpolated by a monotone cubic (PCHIP).

    g is zero beyond the last radius. Unless ``normalize=False``, the table is scaled
    so that ∫ g dV = 1 in ``dim`` dimensions (the applied factor is kept in
    :attr:`scale`); with ``normalize=False`` a table off by more than ``rtol`` raises.

    Parameters
    ----------
    r
        Radii [m], strictly increasing, r_0 ≥ 0 (g is held constant below r_0).
    g
        Values [m⁻ᵈ] (or any unit when normalized), ≥ 0 unless ``allow_negative``.
    dim
        Dimension of the normalization.
    length
        Characteristic length [m]; default √(second moment).
    normalize, rtol
        See above.
    allow_negative
        Accept a sign-changing profile (e.g. a kernel extracted from correlations, or a
        model with a negative lobe). Such a kernel is flagged :attr:`signed`, and the
        :class:`~femheat.kernels.operator.NonlocalOperator` built on it checks that the
        total symbol ξ + (1−ξ)ĝ(k) stays positive
        (:func:`femheat.kernels.general.check_kernel_symbol`): it refuses an ill-posed
        kernel and warns for a marginal one. The cut-off radius is then r_max.
    """

    #: True for a profile with negative values (allow_negative=True)
    signed: bool = False

    def __init__(self, r: ArrayLike, g: ArrayLike, dim: int = 3, *, length: float | None = None,
                 normalize: bool = True, rtol: float = 1e-6, allow_negative: bool = False):
        self.dim = _check_dim(dim)
        r = np.asarray(r, dtype=float)
        g = np.asarray(g, dtype=float)
        if r.ndim != 1 or r.size < 2 or g.shape != r.shape:
            raise FemheatInputError(
                f"TabulatedKernel r and g must be 1D arrays of the same length >= 2, "
                f"got shapes {r.shape} and {g.shape}")
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(g))):
            raise FemheatInputError("TabulatedKernel r and g must be finite (no NaN/inf)")
        if r[0] < 0 or np.any(np.diff(r) <= 0):
            bad = int(np.argmax(np.diff(r) <= 0)) if np.any(np.diff(r) <= 0) else 0
            raise FemheatInputError(
                f"TabulatedKernel r must start at >= 0 and be strictly increasing; "
                f"r[{bad}] = {r[bad]:g}, r[{bad + 1}] = {r[min(bad + 1, r.size - 1)]:g}")
        if np.any(g < 0) and not allow_negative:
            raise FemheatInputError(
                f"TabulatedKernel g must be >= 0 (a negative kernel violates the second law), "
                f"min g = {g.min():g}; pass allow_negative=True for a sign-changing kernel "
                "whose operator is checked for well-posedness instead")
        self.signed = bool(np.any(g < 0))
        self._r = r
        self._spline = interpolate.PchipInterpolator(r, g, extrapolate=False)
        self.rmax = float(r[-1])
        self.scale = 1.0
        self.length = float(r[-1]) if length is None else _check_length(length, "TabulatedKernel length")
        self.scale = _normalization(float(self._mass_at(self.rmax)), self.dim, normalize,
                                    rtol, "TabulatedKernel g")
        if length is None:
            m2 = self.second_moment()
            self.length = math.sqrt(m2) if m2 > 0 else 0.25 * self.rmax
        self.smooth = False

    def scaled(self, length: float) -> "TabulatedKernel":
        s = _check_length(length, "length") / self.length
        return TabulatedKernel(self._r * s, self._spline(self._r) * self.scale * s ** (-self.dim),
                               self.dim, length=length, normalize=False, rtol=1e-3,
                               allow_negative=self.signed)

    def profile(self, r):
        r = np.asarray(r, dtype=float)
        rr = np.maximum(r, self._r[0])
        v = self._spline(np.minimum(rr, self.rmax))
        return np.where(r > self.rmax, 0.0, np.nan_to_num(v) * self.scale)

    def _mass_at(self, R: float) -> float:
        knots = np.unique(np.concatenate([[0.0], self._r[self._r < R], [R]]))
        w = sphere_area(self.dim)
        return _radial_integral(lambda s: w * s ** (self.dim - 1) * self.profile(s), knots)

    def radial_mass(self, r):
        r = np.atleast_1d(np.asarray(r, dtype=float))
        out = np.array([self._mass_at(min(float(x), self.rmax)) if x > 0 else 0.0 for x in r.ravel()])
        return out.reshape(r.shape)

    def _support(self) -> float:
        return self.rmax

    def _edges(self, rmax: float) -> np.ndarray:
        fine = np.linspace(0.0, self.rmax, 8)
        return np.unique(np.concatenate([[0.0], self._r, fine, [min(rmax, self.rmax)]]))

    def second_moment(self):
        w = sphere_area(self.dim)
        return _radial_integral(lambda s: w * s ** (self.dim + 1) * self.profile(s) / self.dim,
                                self._edges(self.rmax))

    def cutoff_radius(self, tol):
        tol = _check_tol(tol)
        if self.signed:  # the mass is not monotone in r: keep the whole table
            return self.rmax
        f = lambda x: (1.0 - self._mass_at(x)) - tol  # noqa: E731
        if f(self.rmax) > 0:
            return self.rmax
        if f(0.0) <= 0:
            return 0.0
        return float(optimize.brentq(f, 0.0, self.rmax, xtol=1e-12 * self.rmax))


class CallableKernel(RadialKernel):
    r"""User radial profile g(r) given as a Python callable (vectorized over r [m]).

    The mass ∫ g dV in ``dim`` dimensions is computed with adaptive quadrature; unless
    ``normalize=True`` (which rescales g, factor in :attr:`scale`) it must equal 1 within
    ``rtol`` or :class:`~femheat.errors.FemheatInputError` is raised with the measured
    mass. g must be bounded and non-negative.

    Parameters
    ----------
    profile
        Callable r -> g(r) [m⁻ᵈ].
    dim
        Dimension of the normalization.
    length
        Characteristic length [m] (sets quadrature orders and integration ranges).
    symbol
        Optional callable |k| -> ĝ(k); numerical Hankel transform otherwise.
    support
        Radius [m] beyond which g vanishes (default: numerical, up to 10⁴·length).
    """

    def __init__(self, profile: Callable[[np.ndarray], np.ndarray], dim: int = 3, *,
                 length: float, symbol: Callable[[np.ndarray], np.ndarray] | None = None,
                 support: float | None = None, normalize: bool = False, rtol: float = 1e-6):
        if not callable(profile):
            raise FemheatInputError(f"CallableKernel profile must be callable, got {profile!r}")
        if symbol is not None and not callable(symbol):
            raise FemheatInputError(f"CallableKernel symbol must be callable or None, got {symbol!r}")
        self.dim = _check_dim(dim)
        self.length = _check_length(length, "CallableKernel length")
        self._f = profile
        self._symbol = symbol
        self.support = None if support is None else _check_length(support, "CallableKernel support")
        self.scale = 1.0
        self.smooth = False
        probe = np.asarray(profile(self.length * np.array([0.0, 0.5, 1.0, 3.0])), dtype=float)
        if probe.shape != (4,) or not np.all(np.isfinite(probe)) or np.any(probe < 0):
            raise FemheatInputError(
                f"CallableKernel profile must return finite values >= 0 of the shape of r; "
                f"at r = [0, 0.5, 1, 3]·length it gave {probe!r}")
        self.scale = _normalization(float(self.radial_mass(self._support())[0]), self.dim,
                                    normalize, rtol, "CallableKernel profile")

    def scaled(self, length: float) -> "CallableKernel":
        s = _check_length(length, "length") / self.length
        f, sc, d = self._f, self.scale, self.dim
        sym = None if self._symbol is None else (lambda k: self._symbol(np.asarray(k) * s))
        return CallableKernel(lambda r: sc * s ** (-d) * np.asarray(f(np.asarray(r) / s), float), d,
                              length=length, symbol=sym,
                              support=None if self.support is None else self.support * s, rtol=1e-3)

    def profile(self, r):
        r = np.asarray(r, dtype=float)
        v = self.scale * np.asarray(self._f(r), dtype=float)
        if self.support is not None:
            v = np.where(r > self.support, 0.0, v)
        return v

    def _support(self) -> float:
        if self.support is not None:
            return self.support
        if not hasattr(self, "_supp"):
            L = self.length
            r = L * np.geomspace(1.0, 1e4, 200)
            w = sphere_area(self.dim)
            tail = w * r ** (self.dim - 1) * self.profile(r) * r
            big = np.nonzero(tail > 1e-16 * max(tail.max(), 1e-300))[0]
            self._supp = float(r[min(big[-1] + 1, r.size - 1)]) if big.size else 10 * L
        return self._supp

    def radial_mass(self, r):
        r = np.atleast_1d(np.asarray(r, dtype=float))
        w = sphere_area(self.dim)
        out = np.empty(r.shape)
        for i, ri in enumerate(r.ravel()):
            if ri <= 0:
                out.flat[i] = 0.0
                continue
            edges = self._edges(ri)
            edges = np.append(edges[edges < ri], ri)
            out.flat[i] = _radial_integral(lambda s: w * s ** (self.dim - 1) * self.profile(s), edges)
        return out

    def _edges(self, rmax: float) -> np.ndarray:
        L = self.length
        inner = L * np.geomspace(1e-6, 1.0, 25)
        outer = np.geomspace(L, max(rmax, 2 * L), 400)
        return np.unique(np.concatenate([[0.0], inner, outer]))

    def symbol(self, k):
        if self._symbol is not None:
            return np.asarray(self._symbol(np.abs(np.asarray(k, dtype=float))), dtype=float)
        return super().symbol(k)
