r"""Radial nonlocal kernels g(r), normalized in the dimension of the mesh.

Seed 004 (eq. 35) writes the nonlocal constitutive law as

.. math::  \mathbf q(\mathbf r) = -\int_V Z(\mathbf r, \mathbf R)\,\nabla T(\mathbf R)\,dR,

and femheat factors the kernel as :math:`Z(\mathbf r,\mathbf R) =
K^{1/2}(\mathbf r)\, g(|\mathbf r-\mathbf R|)\, K^{1/2}(\mathbf R)` with κ = K the
(possibly tensor, possibly position dependent) conductivity [W m⁻¹ K⁻¹] and g a
*radial profile* [m⁻ᵈ] of unit mass in the dimension d of the mesh,

.. math::  \int_{\mathbb R^d} g(|\mathbf s|)\, d^d s = 1 .

This module holds the profiles. Each one provides

* ``profile(r)``: g(r) [m⁻ᵈ];
* ``symbol(k)``: ĝ(k) = ∫ g(|s|) e^{-i k·s} ds (dimensionless, ĝ(0) = 1), so that a
  plane wave T = e^{i k·x} in an unbounded homogeneous medium sees the effective
  conductivity κ(k) = κ ĝ(k);
* ``radial_mass(r)``: M(r) = ∫_{|s|<r} g ds, the fraction of the kernel within r;
* ``cutoff_radius(tol)``: r_c with 1 − M(r_c) ≤ tol (``inf`` if g has no finite one);
* ``second_moment()``: ∫ g s_x² ds per axis [m²] (``inf`` if it diverges);
* ``potential(r)``: H(r) with ΔH = g (radial Laplacian in d dimensions) and H(0) = 0,
  used by the singular cell-pair quadrature;
* ``scaled(length)``: the same family with another characteristic length.

Families
--------
=====================  ===========================================================  ===================
kernel                 g(r)                                                         ĝ(k)
=====================  ===========================================================  ===================
:class:`GaussianKernel`  exp(−r²/2a²)/((2π)^{d/2} aᵈ)  (seed 004 eq. 37 is d = 3)     exp(−a²k²/2)
:class:`YukawaKernel`    1D e^{−|x|/l}/(2l); 2D K₀(r/l)/(2πl²); 3D e^{−r/l}/(4πl²r)  1/(1 + l²k²)
:class:`PowerLawKernel`  C (r² + c²)^{−p/2}, p > d                                   2^{1−ν}(kc)^ν K_ν(kc)/Γ(ν), ν=(p−d)/2
:class:`TabulatedKernel` monotone (PCHIP) spline through (r_i, g_i), 0 beyond r_max    numerical Hankel transform
:class:`CallableKernel`  user function, normalization checked numerically            given or numerical
=====================  ===========================================================  ===================

The Yukawa symbol is exactly the steady Guyer–Krumhansl law with β = 0
(``DESIGN.md``, "Numerical facts"); the Gaussian second moment a² matches GK with
a = √2·l for β = 0 and a = √6·l for β = 2 on longitudinal fields (see
:mod:`femheat.kernels.moments`).

This module defines the analytic families (Gaussian, Yukawa, power law); the base
class :class:`RadialKernel` and the shared radial integrals are in
:mod:`femheat.kernels.radial`, :class:`TabulatedKernel` and :class:`CallableKernel`
in :mod:`femheat.kernels.tabulated`. All are importable from here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import interpolate, optimize, special

from ..errors import FemheatInputError
from .radial import (RadialKernel, _check_dim, _check_length, _check_tol,
                     _radial_integral, sphere_area)  # _radial_integral: used by moments
from .tabulated import CallableKernel, TabulatedKernel

__all__ = [
    "RadialKernel",
    "GaussianKernel",
    "YukawaKernel",
    "PowerLawKernel",
    "TabulatedKernel",
    "CallableKernel",
    "sphere_area",
]


_EIN_SPLINE = None


def _ein(x: np.ndarray) -> np.ndarray:
    """Ein(x) = ∫₀^x (1 − e^{−t})/t dt = E₁(x) + ln x + γ for x ≥ 0, fast (spline on [0, 40]).

    scipy's exp1 costs ~300 ns per value; the cubic spline on 8001 nodes is accurate to
    ~1e-12 and ~10x faster. Beyond 40, E₁ < 1e-19 is dropped.
    """
    global _EIN_SPLINE
    if _EIN_SPLINE is None:
        g = np.linspace(0.0, 40.0, 8001)
        gs = np.where(g > 0, g, 1.0)
        v = np.where(g > 0, special.exp1(gs) + np.log(gs) + np.euler_gamma, 0.0)
        _EIN_SPLINE = interpolate.CubicSpline(g, v)
    x = np.asarray(x, dtype=float)
    big = x > 40.0
    out = _EIN_SPLINE(np.minimum(x, 40.0))
    if np.any(big):
        out = np.where(big, np.log(np.where(big, x, 1.0)) + np.euler_gamma, out)
    return out


_Y2_SPLINE = None


def _yukawa2d_potential(x: np.ndarray) -> np.ndarray:
    """2π·H for the 2D Yukawa kernel with l = 1: K₀(x) + ln(x/2) + γ, divided by 2π.

    Evaluated as x²·F(ln x) with F a cubic spline on ln x ∈ [ln 1e-3, ln 50] (4000 nodes,
    relative accuracy ~1e-12; scipy's k0 costs ~50 ns per value and dominated the
    singular quadrature), the series −(x²/4)(ln(x/2) + γ − 1) + O(x⁴ ln x) below 1e-3
    and ln(x/2) + γ above 50 (K₀ < 1e-22 there).
    """
    global _Y2_SPLINE
    lo, hi = 1e-3, 50.0
    if _Y2_SPLINE is None:
        t = np.linspace(math.log(lo), math.log(hi), 4000)
        xx = np.exp(t)
        val = (special.k0(xx) + np.log(xx / 2) + np.euler_gamma) / xx**2
        _Y2_SPLINE = interpolate.CubicSpline(t, val)
    x = np.asarray(x, dtype=float)
    mid = (x >= lo) & (x <= hi)
    xm = np.clip(x, lo, hi)
    out = xm * xm * _Y2_SPLINE(np.log(xm))
    if not np.all(mid):
        xs = np.where(x < lo, x, 0.0)
        ser = -(xs * xs / 4) * (np.log(np.where(xs > 0, xs, 1.0) / 2) + np.euler_gamma - 1)
        big = np.log(np.maximum(x, hi) / 2) + np.euler_gamma
        out = np.where(x < lo, ser, np.where(x > hi, big, out))
    return out / (2 * math.pi)


class GaussianKernel(RadialKernel):
    r"""Gaussian profile (seed 004 eq. 37 in d = 3), normalized in ``dim`` dimensions.

    .. math:: g(r) = \frac{e^{-r^2/2a^2}}{(2\pi)^{d/2} a^d},\qquad
              \hat g(k) = e^{-a^2k^2/2},\qquad \int g\,s_x^2 = a^2 .

    Parameters
    ----------
    a
        Nonlocal range a [m] (> 0). Second-moment matching with Guyer–Krumhansl gives
        a = √2·l for β = 0 (seed 004 after eq. 37) and a = √6·l for β = 2 on
        longitudinal fields.
    dim
        Dimension of the normalization (that of the mesh).
    """

    def __init__(self, a: float, dim: int = 3):
        self.length = _check_length(a, "GaussianKernel a")
        self.dim = _check_dim(dim)
        self._c = (2 * math.pi) ** (-self.dim / 2) * self.length ** (-self.dim)
        self._s = -0.5 / self.length**2

    @property
    def a(self) -> float:
        return self.length

    def scaled(self, length: float) -> "GaussianKernel":
        return GaussianKernel(length, self.dim)

    def profile(self, r):
        r = np.asarray(r, dtype=float)
        return self._c * np.exp(self._s * r * r)

    def profile_r2(self, r2):
        return self._c * np.exp(self._s * r2)

    def symbol(self, k):
        k = np.asarray(k, dtype=float)
        return np.exp(-0.5 * (self.length * k) ** 2)

    def radial_mass(self, r):
        x = np.asarray(r, dtype=float) / self.length
        if self.dim == 1:
            return special.erf(x / math.sqrt(2))
        if self.dim == 2:
            return -np.expm1(-0.5 * x * x)
        return special.erf(x / math.sqrt(2)) - math.sqrt(2 / math.pi) * x * np.exp(-0.5 * x * x)

    def cutoff_radius(self, tol):
        tol = _check_tol(tol)
        if self.dim == 1:
            return float(math.sqrt(2) * self.length * special.erfcinv(tol))
        if self.dim == 2:
            return float(self.length * math.sqrt(-2 * math.log(tol)))
        return super().cutoff_radius(tol)

    def second_moment(self):
        return self.length**2

    def potential(self, r):
        r = np.asarray(r, dtype=float)
        a = self.length
        if self.dim == 1:
            return 0.5 * (r * special.erf(r / (math.sqrt(2) * a))
                          + math.sqrt(2 / math.pi) * a * np.expm1(-0.5 * (r / a) ** 2))
        z = 0.5 * (r / a) ** 2
        if self.dim == 2:
            # H = Ein(z)/(4π), Ein(z) = ∫0^z (1-e^-t)/t dt = E1(z) + ln z + γ
            small = z < 0.05
            zs = np.where(small, z, 0.0)
            series = zs - zs**2 / 4 + zs**3 / 18 - zs**4 / 96 + zs**5 / 600 - zs**6 / 4320
            zl = np.where(small, 1.0, z)
            big = special.exp1(zl) + np.log(zl) + np.euler_gamma
            return np.where(small, series, big) / (4 * math.pi)
        # 3D: H = [sqrt(2/π)/a − erf(r/√2a)/r]/(4π)
        x = r / (math.sqrt(2) * a)
        small = x < 0.05
        xs = np.where(small, x, 0.0)
        # erf(x)/x = 2/sqrt(pi) (1 - x²/3 + x⁴/10 - x⁶/42)
        ser = 2 / math.sqrt(math.pi) * (xs**2 / 3 - xs**4 / 10 + xs**6 / 42 - xs**8 / 216)
        xl = np.where(small, 1.0, x)
        big = 2 / math.sqrt(math.pi) - special.erf(xl) / xl
        return np.where(small, ser, big) / (4 * math.pi * math.sqrt(2) * a)


class YukawaKernel(RadialKernel):
    r"""Exponential (1D) / Yukawa (2D, 3D) profile: the Green's function of 1 − l²Δ.

    .. math::
        g_{1D} = \frac{e^{-|x|/l}}{2l},\quad g_{2D} = \frac{K_0(r/l)}{2\pi l^2},\quad
        g_{3D} = \frac{e^{-r/l}}{4\pi l^2 r},\qquad \hat g(k) = \frac{1}{1+l^2k^2}.

    κ ĝ(k) = κ/(1 + l²k²) is exactly steady Guyer–Krumhansl with β = 0 (seed 004 eq. 21),
    and ∫ g s_x² = 2l². The 2D profile is log-singular and the 3D one 1/r-singular at r = 0;
    the cell-pair quadrature treats touching pairs with singular rules.

    Parameters
    ----------
    l
        Nonlocal (GK) length l [m] (> 0).
    dim
        Dimension of the normalization.
    """

    def __init__(self, l: float, dim: int = 3):  # noqa: E741
        self.length = _check_length(l, "YukawaKernel l")
        self.dim = _check_dim(dim)
        self.singularity = {1: None, 2: "log", 3: "1/r"}[self.dim]
        self.smooth = False  # kink (1D) or singularity at r = 0
        if self.dim == 3:
            # H = r/(8πl²) − r²/(24πl³) + r³/(96πl⁴) + O(r⁴): the odd (cusp) terms are
            # integrated semi-analytically on touching faces
            self._h_cusp = (1.0 / (8 * math.pi * self.length**2), 1.0 / (96 * math.pi * self.length**4))

    @property
    def l(self) -> float:  # noqa: E743
        return self.length

    def scaled(self, length: float) -> "YukawaKernel":
        return YukawaKernel(length, self.dim)

    def profile(self, r):
        r = np.asarray(r, dtype=float)
        l = self.length  # noqa: E741
        if self.dim == 1:
            return np.exp(-r / l) / (2 * l)
        if self.dim == 2:
            with np.errstate(divide="ignore"):
                return special.k0(r / l) / (2 * math.pi * l * l)
        with np.errstate(divide="ignore"):
            return np.exp(-r / l) / (4 * math.pi * l * l * r)

    def symbol(self, k):
        k = np.asarray(k, dtype=float)
        return 1.0 / (1.0 + (self.length * k) ** 2)

    def radial_mass(self, r):
        x = np.asarray(r, dtype=float) / self.length
        if self.dim == 1:
            return -np.expm1(-x)
        if self.dim == 2:
            xs = np.where(x > 0, x, 1.0)
            return np.where(x > 0, 1.0 - xs * special.k1(xs), 0.0)
        return 1.0 - (1.0 + x) * np.exp(-x)

    def cutoff_radius(self, tol):
        tol = _check_tol(tol)
        if self.dim == 1:
            return float(-self.length * math.log(tol))
        f = lambda x: (1.0 - float(self.radial_mass(x * self.length))) - tol  # noqa: E731
        hi = 1.0
        while f(hi) > 0:
            hi *= 2
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-12)) * self.length

    def second_moment(self):
        return 2.0 * self.length**2

    def potential(self, r):
        r = np.asarray(r, dtype=float)
        l = self.length  # noqa: E741
        x = r / l
        if self.dim == 1:
            # H'' = g, H(0) = H'(0) = 0
            return 0.5 * l * (x + np.expm1(-x))
        if self.dim == 2:
            # H = [K0(x) + ln(x/2) + γ]/(2π), tabulated (see _yukawa2d_potential)
            return _yukawa2d_potential(x)
        # 3D: H = (e^{−x} − 1)/(4π r) + 1/(4π l)
        small = x < 1e-4
        xs = np.where(small, 1.0, x)
        big = (np.expm1(-xs) / xs + 1.0) / (4 * math.pi * l)
        ser = (x / 2 - x * x / 6) / (4 * math.pi * l)
        return np.where(small, ser, big)

    def smoothness_length(self, distance):
        return np.minimum(np.asarray(distance, dtype=float), self.length)

    def _psi3(self, r):
        """3D only: Ψ with Δ₂Ψ = H (2D radial Laplacian), Ψ(0) = 0, used on coplanar faces.

        Ψ = [l·Ein(r/l) − r]/(4π) + r²/(16π l), Ein(z) = ∫₀^z (1 − e^{−t})/t dt.
        """
        l = self.length  # noqa: E741
        x = np.asarray(r, dtype=float) / l
        out = x * (x / 4 - 1.0)
        out += _ein(x)
        small = x < 0.02
        if np.any(small):
            # l·Ein(x) − r + r²/(4l) = l(x³/18 − x⁴/96 + x⁵/600 − …): avoid the cancellation
            xs = x[small]
            out[small] = xs**3 * (1 / 18 - xs / 96 + xs**2 / 600 - xs**3 / 4320)
        return out * (l / (4 * math.pi))


class PowerLawKernel(RadialKernel):
    r"""Long-range algebraic profile, normalized in ``dim`` dimensions.

    .. math::
        g(r) = \frac{\Gamma(p/2)}{\pi^{d/2}\,\Gamma\!\left(\frac{p-d}{2}\right)}
               \frac{c^{\,p-d}}{(r^2+c^2)^{p/2}},\qquad
        \hat g(k) = \frac{2^{1-\nu}}{\Gamma(\nu)}(kc)^{\nu}K_\nu(kc),\ \nu=\frac{p-d}{2}.

    Normalizable only for p > d; the second moment ∫ g s_x² = c²/(p − d − 2) is finite
    only for p > d + 2 (``inf`` otherwise). The tail mass beyond r is the regularized
    incomplete beta function I_{c²/(r²+c²)}(ν, d/2), so cut-offs are long: use the
    hierarchical operator (``method="hmatrix"``) for these kernels.

    Parameters
    ----------
    c
        Core radius c [m] (> 0).
    p
        Decay exponent (> dim).
    dim
        Dimension of the normalization.
    """

    def __init__(self, c: float, p: float, dim: int = 3):
        self.length = _check_length(c, "PowerLawKernel c")
        self.dim = _check_dim(dim)
        try:
            p = float(p)
        except (TypeError, ValueError):
            raise FemheatInputError(f"PowerLawKernel p must be a number > dim, got {p!r}") from None
        if not math.isfinite(p) or p <= self.dim:
            raise FemheatInputError(
                f"PowerLawKernel p must exceed dim = {self.dim} for the kernel to be normalizable "
                f"(∫ (r²+c²)^(-p/2) dV diverges otherwise), got p = {p!r}")
        self.p = p
        self.nu = 0.5 * (p - self.dim)
        self._c = (math.gamma(p / 2) / (math.pi ** (self.dim / 2) * math.gamma(self.nu))
                   * self.length ** (p - self.dim))

    def scaled(self, length: float) -> "PowerLawKernel":
        return PowerLawKernel(length, self.p, self.dim)

    def profile(self, r):
        r = np.asarray(r, dtype=float)
        return self._c * (r * r + self.length**2) ** (-0.5 * self.p)

    def profile_r2(self, r2):
        return self._c * (r2 + self.length**2) ** (-0.5 * self.p)

    def symbol(self, k):
        z = np.abs(np.asarray(k, dtype=float)) * self.length
        zs = np.where(z > 0, z, 1.0)
        val = 2 ** (1 - self.nu) / math.gamma(self.nu) * zs**self.nu * special.kv(self.nu, zs)
        return np.where(z > 0, val, 1.0)

    def radial_mass(self, r):
        r = np.asarray(r, dtype=float)
        return special.betainc(self.dim / 2, self.nu, r * r / (r * r + self.length**2))

    def cutoff_radius(self, tol):
        tol = _check_tol(tol)
        # tail = I_{c²/(r²+c²)}(ν, d/2) = tol
        u = float(special.betaincinv(self.nu, self.dim / 2, tol))
        if u <= 0:
            return math.inf
        return float(self.length * math.sqrt(max(1.0 / u - 1.0, 0.0)))

    def second_moment(self):
        if self.p <= self.dim + 2:
            return math.inf
        return self.length**2 / (self.p - self.dim - 2)

    def _support(self) -> float:
        return self.cutoff_radius(1e-12) if math.isfinite(self.cutoff_radius(1e-12)) else 1e6 * self.length

    def smoothness_length(self, distance):
        return np.maximum(self.length, np.asarray(distance, dtype=float) / 2)
