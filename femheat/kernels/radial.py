r"""The base class of the radial kernels and the radial integrals they share.

:class:`RadialKernel` is the interface of every profile g(r) [m⁻ᵈ] of unit mass in
the mesh dimension d (see :mod:`femheat.kernels.functions` for the families), with
numerical defaults for the radial mass M(r), the cut-off radius, the second moment,
the symbol ĝ(k) (Hankel transform) and the potential H (ΔH = g). Also here: the
argument checks, the area ω_d of the unit sphere and the Gauss–Legendre radial
integral used by those defaults.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import interpolate, optimize, special

from ..errors import FemheatInputError

__all__ = ["RadialKernel", "sphere_area"]


def sphere_area(dim: int) -> float:
    """Area ω_d of the unit sphere in d dimensions (2, 2π, 4π for d = 1, 2, 3)."""
    return {1: 2.0, 2: 2.0 * math.pi, 3: 4.0 * math.pi}[dim]


def _check_dim(dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim not in (1, 2, 3):
        raise FemheatInputError(f"kernel dim must be 1, 2 or 3 (the mesh dimension), got {dim!r}")
    return int(dim)


def _check_length(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FemheatInputError(f"{name} must be a positive length in metres, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise FemheatInputError(f"{name} must be a finite length > 0 m, got {value!r}")
    return v


def _check_tol(tol) -> float:
    try:
        t = float(tol)
    except (TypeError, ValueError):
        raise FemheatInputError(f"tol must be a number in (0, 1), got {tol!r}") from None
    if not (0.0 < t < 1.0):
        raise FemheatInputError(f"tol must be in (0, 1), got {tol!r}")
    return t


# Gauss–Legendre nodes on [0, 1] used by the numerical radial transforms.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


def _radial_integral(f: Callable[[np.ndarray], np.ndarray], edges: np.ndarray) -> float:
    """∫ f(r) dr over consecutive intervals ``edges`` with 24-point Gauss–Legendre each."""
    a, b = edges[:-1, None], edges[1:, None]
    r = a + (b - a) * _GL_X
    return float(np.sum(f(r) * (b - a) * _GL_W))


class RadialKernel(ABC):
    """Radial profile g(r) [m⁻ᵈ] of unit mass in ``dim`` dimensions.

    Attributes
    ----------
    dim
        Dimension of the normalization (that of the mesh): 1, 2 or 3.
    length
        Characteristic length [m] (a for the Gaussian, l for Yukawa, c for the power law).
    singularity
        ``None`` for bounded profiles, ``"log"`` (2D Yukawa) or ``"1/r"`` (3D Yukawa).
    """

    dim: int
    length: float
    singularity: str | None = None
    #: True when g is analytic (no kink or singularity at r = 0): product Gauss rules
    #: converge exponentially for every cell pair.
    smooth: bool = True

    # ----------------------------------------------------------- required
    @abstractmethod
    def profile(self, r: ArrayLike) -> np.ndarray:
        """g(r) [m⁻ᵈ] at distances r ≥ 0 [m]."""

    @abstractmethod
    def scaled(self, length: float) -> "RadialKernel":
        """The same family with characteristic length ``length`` [m]."""

    # ----------------------------------------------------------- defaults
    def profile_r2(self, r2: np.ndarray) -> np.ndarray:
        """g as a function of the squared distance r² [m²] (avoids a square root)."""
        return self.profile(np.sqrt(r2))

    def _support(self) -> float:
        """Radius beyond which the numerical transforms stop [m]."""
        rc = self.cutoff_radius(1e-14)
        return rc if math.isfinite(rc) else 1e4 * self.length

    def _edges(self, rmax: float) -> np.ndarray:
        """Graded radial intervals on [0, rmax] for numerical integrals."""
        L = self.length
        inner = L * np.geomspace(1e-8, 1.0, 33)
        outer = np.geomspace(L, max(rmax, 2 * L), 600)
        return np.unique(np.concatenate([[0.0], inner, outer]))

    def radial_mass(self, r: ArrayLike) -> np.ndarray:
        """M(r) = ∫_{|s|<r} g ds, fraction of the kernel within radius r (numerical)."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        w = sphere_area(self.dim)
        out = np.empty_like(r)
        for i, ri in enumerate(r.ravel()):
            if ri <= 0:
                out.flat[i] = 0.0
                continue
            edges = self._edges(ri)
            edges = edges[edges < ri]
            edges = np.append(edges, ri)
            out.flat[i] = _radial_integral(lambda s: w * s ** (self.dim - 1) * self.profile(s), edges)
        return out

    def cutoff_radius(self, tol: float) -> float:
        """r_c [m] such that the mass of g beyond r_c is at most ``tol``.

        ``inf`` when no finite radius exists (heavy tails)."""
        tol = _check_tol(tol)
        f = lambda r: (1.0 - float(np.atleast_1d(self.radial_mass(r))[0])) - tol  # noqa: E731
        lo, hi = 0.0, self.length
        while f(hi) > 0:
            lo, hi = hi, 2 * hi
            if hi > 1e8 * self.length:
                return math.inf
        return float(optimize.brentq(f, lo, hi, xtol=1e-12 * self.length, rtol=1e-10))

    def second_moment(self) -> float:
        """∫ g(|s|) s_x² ds per axis [m²] = (1/d) ∫ g r² dV (numerical by default)."""
        w = sphere_area(self.dim)
        rmax = self._support()
        return _radial_integral(lambda s: w * s ** (self.dim + 1) * self.profile(s) / self.dim,
                                self._edges(rmax))

    def symbol(self, k: ArrayLike) -> np.ndarray:
        """ĝ(k) = ∫ g(|s|) e^{-ik·s} ds at wavenumbers |k| [m⁻¹] (numerical Hankel transform).

        1D: 2∫₀^∞ g cos(kr) dr; 2D: 2π∫ g J₀(kr) r dr; 3D: 4π∫ g sin(kr)/(kr) r² dr.
        """
        k = np.asarray(k, dtype=float)
        rmax = self._support()
        edges = self._edges(rmax)
        if k.size:
            # resolve the oscillation: at least 8 intervals per wavelength
            n = int(min(2e5, 8 * np.max(np.abs(k)) * rmax / (2 * np.pi) + 1))
            if n > edges.size:
                edges = np.unique(np.concatenate([edges, np.linspace(0, rmax, n)]))
        a, b = edges[:-1, None], edges[1:, None]
        r = (a + (b - a) * _GL_X).ravel()
        wr = ((b - a) * _GL_W).ravel() * sphere_area(self.dim) * r ** (self.dim - 1) * self.profile(r)
        kr = np.abs(k).reshape(-1, 1) * r[None, :]
        if self.dim == 1:
            j = np.cos(kr)
        elif self.dim == 2:
            j = special.j0(kr)
        else:
            j = np.sinc(kr / np.pi)
        return (j @ wr).reshape(k.shape)

    def potential(self, r: ArrayLike) -> np.ndarray:
        r"""H(r) [m^{2-d}] with ΔH = g and H(0) = 0 (numerical by default).

        H(r) = ∫₀^r M(s)/(ω_d s^{d−1}) ds, with ω_d the area of the unit sphere.
        """
        r = np.asarray(r, dtype=float)
        if not hasattr(self, "_h_table"):
            rmax = 4.0 * self._support()
            grid = np.unique(np.concatenate([[0.0], self.length * np.geomspace(1e-6, 1.0, 60),
                                             np.geomspace(self.length, rmax, 400)]))
            a, b = grid[:-1, None], grid[1:, None]
            s = a + (b - a) * _GL_X[::3]
            ws = (b - a) * _GL_W[::3] * (24 / 8)
            xg, wg = np.polynomial.legendre.leggauss(8)
            s = a + (b - a) * 0.5 * (xg + 1)
            ws = (b - a) * 0.5 * wg
            m = np.asarray(self.radial_mass(s.ravel()), dtype=float).reshape(s.shape)
            m /= sphere_area(self.dim)
            h = np.concatenate([[0.0], np.cumsum(np.sum(ws * m / s ** (self.dim - 1), axis=1))])
            self._h_table = (interpolate.CubicSpline(grid, h), rmax, float(h[-1]),
                             float(self.radial_mass(np.array([rmax]))[0]) / sphere_area(self.dim))
        spline, rmax, hmax, mmax = self._h_table
        inside = spline(np.minimum(r, rmax))
        # beyond the table the mass is ~ mmax: H' = mmax / r^{d-1}
        big = np.maximum(r, rmax)
        if self.dim == 1:
            tail = (big - rmax) * mmax
        elif self.dim == 2:
            tail = mmax * np.log(big / rmax)
        else:
            tail = mmax * (1 / rmax - 1 / big)
        return np.where(r > rmax, hmax + tail, inside)

    def smoothness_length(self, distance: np.ndarray) -> np.ndarray:
        """Length over which g varies near ``distance`` [m] (sets quadrature orders)."""
        return np.full(np.shape(distance), self.length)

    def is_long_range(self, tol: float) -> bool:
        """True when the cut-off radius at ``tol`` exceeds 30 characteristic lengths."""
        rc = self.cutoff_radius(tol)
        return not math.isfinite(rc) or rc > 30.0 * self.length

    def __repr__(self) -> str:
        return f"{type(self).__name__}(length={self.length:g}, dim={self.dim})"
