r"""Kernels from a mean-free-path spectrum: gray and spectral relaxation-time BTE (BENCHMARKS N6).

The steady response of an isotropic gray phonon gas (relaxation-time Boltzmann equation,
mean free path Λ = |v|τ [m], energy-defined temperature) to a temperature grating of
wavenumber k is the effective conductivity (BENCHMARKS N6; Maznev, Johnson & Nelson,
PRB 84, 195206 (2011))

.. math::
    \frac{\kappa(k)}{\kappa} = S_E(k\Lambda) = \frac{3}{x^2}\Bigl(\frac{x}{\arctan x} - 1\Bigr),
    \qquad x = k\Lambda,

with S_E = 1 − (4/15)x² + … and S_E ≈ 6/(πx) in the ballistic limit. The *kinetic*
suppression function (flux driven by the local ∇T, no energy-consistent temperature;
the one used by MFP-reconstruction work) is S_K(x) = 3(x − arctan x)/x³ = 1 − (3/5)x² + ….

Both are Stieltjes functions of x², i.e. positive superpositions of Yukawa symbols
1/(1 + t²x²), which gives the real-space kernel in every dimension d:

.. math::
    S(x) = \int_0^1 \frac{\rho(t)\,dt}{1 + t^2x^2},\qquad
    \rho_E(t) = \frac{3}{\operatorname{artanh}^2 t + \pi^2/4},\qquad \rho_K(t) = 3t^2,

(ρ_E by Stieltjes inversion: Im S_E(x) on x² = −s − i0; ∫ρ_E = 1, ∫ρ_E t² = 4/15), so

.. math:: g(r) = \int_0^1 \rho(t)\,Y_{t\Lambda}(r)\,dt \quad [\mathrm m^{-d}],

Y_l the unit-mass Yukawa profile of :class:`~femheat.kernels.functions.YukawaKernel`
(1D e^{−|x|/l}/(2l), 2D K₀(r/l)/(2πl²), 3D e^{−r/l}/(4πl²r)). The kernel is non-negative
and its planar marginal is the 1D kernel with the same symbol, so a 1D slab or grating
sees exactly the 3D response. The t-integral is a composite Gauss rule in v = artanh t
(geometric panels down to v = 10⁻⁴ so that S is resolved to x ≈ 10⁴; 96 nodes,
|S_mix/S − 1| ≤ 5·10⁻⁸ for x ≤ 10³, measured), and the weights are renormalized to unit
mass. A spectrum of mean free paths Λ_m carrying the conductivity fractions f_m = κ_m/κ
is the superposition κ(k)/κ = Σ_m f_m S(kΛ_m) (:class:`MFPSpectrumKernel`): exact for
the kinetic closure, the standard suppression-function approximation for the energy one.

Near r = 0 the small-l components add up to a stronger singularity than one Yukawa's
(2D ~1/r, 3D ~1/r²; integrable): the cell-pair quadrature integrates touching pairs
through the potential H (ΔH = g), which stays bounded. A mixture of more than 8
components evaluates its profile, radial mass, potential and Ψ from log–log cubic
splines of the sums (6000 nodes on [10⁻⁶ l_min, 50 l_max]; relative accuracy 1e-10,
measured), so the cost per evaluation does not grow with the number of components.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError
from .functions import YukawaKernel
from .radial import RadialKernel, _check_dim, _check_length, _check_tol

#: mixtures with more components are evaluated from log–log splines of the sums
_TABULATE_ABOVE = 8
_TABLE_NODES = 6000

__all__ = ["CLOSURES", "GrayBTEKernel", "MFPSpectrumKernel", "YukawaMixtureKernel",
           "gray_bte_suppression"]

#: closures of the gray suppression function
CLOSURES = ("energy", "kinetic")


def gray_bte_suppression(x: ArrayLike, closure: str = "energy") -> np.ndarray:
    r"""κ(k)/κ of the gray relaxation-time BTE at x = kΛ (dimensionless).

    ``"energy"``: 3(x/arctan x − 1)/x² (BENCHMARKS N6); ``"kinetic"``: 3(x − arctan x)/x³.
    Series below x = 10⁻³ (1 − (4/15)x² resp. 1 − (3/5)x²).
    """
    _closure(closure)
    x = np.abs(np.asarray(x, dtype=float))
    small = x < 1e-3
    xs = np.where(small, 1.0, x)
    if closure == "energy":
        big = 3.0 * (xs / np.arctan(xs) - 1.0) / xs**2
        ser = 1.0 - (4.0 / 15.0) * x**2 + (44.0 / 315.0) * x**4
    else:
        big = 3.0 * (xs - np.arctan(xs)) / xs**3
        ser = 1.0 - 0.6 * x**2 + (3.0 / 7.0) * x**4
    return np.where(small, ser, big)


def _closure(closure: str) -> str:
    if closure not in CLOSURES:
        raise FemheatInputError(f"closure = {closure!r} is unknown; choose one of "
                                f"{', '.join(repr(c) for c in CLOSURES)}")
    return closure


def _gray_rule(closure: str, points: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Nodes t_j ∈ (0, 1) and weights w_j (Σw = 1) with S(x) ≈ Σ w_j/(1 + t_j²x²)."""
    edges = np.concatenate([[0.0], np.geomspace(1e-4, 2.0, 9), [4.0, 8.0, 18.0]])
    x0, w0 = np.polynomial.legendre.leggauss(points)
    a, b = edges[:-1, None], edges[1:, None]
    v = (a + (b - a) * (x0 + 1) / 2).ravel()
    wv = ((b - a) * w0 / 2).ravel()
    t = np.tanh(v)
    if closure == "energy":
        w = wv * 3.0 / (np.cosh(v) ** 2 * (v**2 + math.pi**2 / 4))
    else:
        w = wv * 3.0 * t**2 / np.cosh(v) ** 2
    return t, w / w.sum()


class YukawaMixtureKernel(RadialKernel):
    r"""Positive superposition of Yukawa profiles, g = Σ_j w_j Y_{l_j} (Σ w_j = 1).

    .. math:: \hat g(k) = \sum_j \frac{w_j}{1 + l_j^2k^2},\qquad
              \int g\,s_x^2 = 2\sum_j w_j l_j^2 .

    The characteristic length is the largest l_j. Every quantity the quadrature needs
    (profile, radial mass, potential, the 3D cusp terms) is the weighted sum of the
    components' closed forms (tabulated above 8 components, module docstring), so
    touching cell pairs are integrated as accurately as for one Yukawa kernel.

    Parameters
    ----------
    lengths
        Component lengths l_j [m] (> 0).
    weights
        Component weights w_j ≥ 0 (normalized to Σ w_j = 1).
    dim
        Dimension of the normalization (that of the mesh).
    """

    def __init__(self, lengths: ArrayLike, weights: ArrayLike, dim: int = 3):
        self.dim = _check_dim(dim)
        lengths = np.atleast_1d(np.asarray(lengths, dtype=float))
        weights = np.atleast_1d(np.asarray(weights, dtype=float))
        if lengths.ndim != 1 or lengths.shape != weights.shape or lengths.size == 0:
            raise FemheatInputError(
                f"YukawaMixtureKernel lengths and weights must be 1D arrays of one length, "
                f"got shapes {lengths.shape} and {weights.shape}")
        if not (np.all(np.isfinite(lengths)) and np.all(lengths > 0)):
            raise FemheatInputError(f"YukawaMixtureKernel lengths must be finite and > 0 m, "
                                    f"got min {np.min(lengths)!r}")
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.sum() > 0):
            raise FemheatInputError("YukawaMixtureKernel weights must be finite, >= 0 and not "
                                    "all zero")
        keep = weights > 0
        self.lengths = lengths[keep]
        self.weights = weights[keep] / weights[keep].sum()
        self._parts = [YukawaKernel(float(lj), self.dim) for lj in self.lengths]
        self.singularity = self._parts[0].singularity
        self.smooth = False
        self.length = float(self.lengths.max())
        #: shortest length carrying ≥ 0.1 % of the weight: sets the touching-pair face rules
        self.quadrature_length = float(self.lengths[self.weights >= 1e-3].min())
        if self.dim == 3:
            self._h_cusp = tuple(float(sum(w * p._h_cusp[i] for w, p in zip(self.weights, self._parts)))
                                 for i in range(2))

    def _exact(self, method: str, r: np.ndarray) -> np.ndarray:
        out = np.zeros(r.shape)
        for w, p in zip(self.weights, self._parts):
            out = out + w * getattr(p, method)(r)
        return out

    def _sum(self, method: str, r) -> np.ndarray:
        """Σ_j w_j f_j(r); with many components from a log–log spline of the sum on
        [10⁻⁶ l_min, 50 l_max] (every f here is positive for r > 0 and a smooth function
        of ln r; relative accuracy ~1e-9), the exact sum outside that range."""
        r = np.asarray(r, dtype=float)
        if self.weights.size <= _TABULATE_ABOVE:
            return self._exact(method, r)
        spline, lo, hi = self._table(method)
        inside = (r >= lo) & (r <= hi)
        out = np.empty(r.shape)
        out[inside] = np.exp(spline(np.log(r[inside])))
        if not np.all(inside):
            out[~inside] = self._exact(method, r[~inside])
        return out

    def _table(self, method: str):
        cache = self.__dict__.setdefault("_tables", {})
        if method not in cache:
            from scipy.interpolate import CubicSpline

            lo, hi = 1e-6 * float(self.lengths.min()), 50.0 * float(self.lengths.max())
            u = np.linspace(math.log(lo), math.log(hi), _TABLE_NODES)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                f = self._exact(method, np.exp(u))
            cache[method] = (CubicSpline(u, np.log(np.maximum(f, 1e-300))), lo, hi)
        return cache[method]

    def scaled(self, length: float) -> "YukawaMixtureKernel":
        s = _check_length(length, "length") / self.length
        return YukawaMixtureKernel(self.lengths * s, self.weights, self.dim)

    def profile(self, r):
        with np.errstate(over="ignore", invalid="ignore"):
            return self._sum("profile", r)

    def symbol(self, k):
        k = np.asarray(k, dtype=float)
        return np.sum(self.weights / (1.0 + np.multiply.outer(k**2, self.lengths**2)), axis=-1)

    def radial_mass(self, r):
        return self._sum("radial_mass", r)

    def potential(self, r):
        return self._sum("potential", r)

    def _psi3(self, r):
        return self._sum("_psi3", r)

    def second_moment(self):
        return float(2.0 * np.sum(self.weights * self.lengths**2))

    def cutoff_radius(self, tol):
        tol = _check_tol(tol)
        # the mass beyond r is Σ_j w_j (1 − M_j(r)) ≤ tol if each tail is ≤ tol/(n w_j)
        n = self.weights.size
        return float(max(p.cutoff_radius(min(tol / (n * w), 0.5))
                         for w, p in zip(self.weights, self._parts)))

    def smoothness_length(self, distance):
        return np.minimum(np.asarray(distance, dtype=float), float(self.lengths.max()))

    def _support(self) -> float:
        return self.cutoff_radius(1e-14)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.lengths.size} components, "
                f"length={self.length:g}, dim={self.dim})")


class GrayBTEKernel(YukawaMixtureKernel):
    r"""Gray relaxation-time BTE kernel of mean free path Λ (module docstring, BENCHMARKS N6).

    ĝ(k) = S(kΛ) with S the ``closure``'s suppression function (``"energy"``: N6,
    1 − (4/15)(kΛ)² + …; ``"kinetic"``: 3(x − arctan x)/x³), realized as a positive
    mixture of 96 Yukawa profiles of lengths tΛ, t ∈ (0, 1). Second moment per axis
    (8/15)Λ² (energy) or (6/5)Λ² (kinetic); equivalent GK length (β = 0)
    l = √(4/15)·Λ resp. √(3/5)·Λ.

    Parameters
    ----------
    mfp
        Mean free path Λ [m].
    dim
        Dimension of the normalization.
    closure
        ``"energy"`` (default) or ``"kinetic"``.
    """

    def __init__(self, mfp: float, dim: int = 3, closure: str = "energy"):
        self.mfp = _check_length(mfp, "GrayBTEKernel mfp")
        self.closure = _closure(closure)
        t, w = _gray_rule(closure)
        super().__init__(self.mfp * t, w, dim)

    def scaled(self, length: float) -> "GrayBTEKernel":
        s = _check_length(length, "length") / self.length
        return GrayBTEKernel(self.mfp * s, self.dim, self.closure)

    def exact_symbol(self, k: ArrayLike) -> np.ndarray:
        """The closed-form S(kΛ) (the mixture reproduces it to ~5e-8)."""
        return gray_bte_suppression(np.asarray(k, dtype=float) * self.mfp, self.closure)

    def __repr__(self) -> str:
        return f"GrayBTEKernel(mfp={self.mfp:g}, dim={self.dim}, closure={self.closure!r})"


class MFPSpectrumKernel(YukawaMixtureKernel):
    r"""Spectral superposition of gray kernels: κ(k)/κ = Σ_m f_m S(kΛ_m).

    Parameters
    ----------
    mfp
        Mean free paths Λ_m [m] (> 0), e.g. the bins of a cumulative MFP spectrum
        (:func:`femheat.io.phono3py.mfp_spectrum`).
    fractions
        Conductivity fractions f_m = κ_m/κ ≥ 0 (normalized to Σ f_m = 1).
    dim, closure
        As :class:`GrayBTEKernel`.
    """

    def __init__(self, mfp: ArrayLike, fractions: ArrayLike, dim: int = 3, closure: str = "energy"):
        mfp = np.atleast_1d(np.asarray(mfp, dtype=float))
        fractions = np.atleast_1d(np.asarray(fractions, dtype=float))
        if mfp.ndim != 1 or mfp.shape != fractions.shape or mfp.size == 0:
            raise FemheatInputError(f"MFPSpectrumKernel mfp and fractions must be 1D arrays of one "
                                    f"length, got shapes {mfp.shape} and {fractions.shape}")
        if not (np.all(np.isfinite(mfp)) and np.all(mfp > 0)):
            raise FemheatInputError("MFPSpectrumKernel mfp must be finite and > 0 m")
        if not (np.all(np.isfinite(fractions)) and np.all(fractions >= 0) and fractions.sum() > 0):
            raise FemheatInputError("MFPSpectrumKernel fractions must be finite, >= 0, not all 0")
        self.closure = _closure(closure)
        self.mfp = mfp
        self.fractions = fractions / fractions.sum()
        t, w = _gray_rule(closure)
        keep = self.fractions > 0
        lengths = np.outer(mfp[keep], t).ravel()
        weights = np.outer(self.fractions[keep], w).ravel()
        super().__init__(lengths, weights, dim)

    def scaled(self, length: float) -> "MFPSpectrumKernel":
        s = _check_length(length, "length") / self.length
        return MFPSpectrumKernel(self.mfp * s, self.fractions, self.dim, self.closure)

    def exact_symbol(self, k: ArrayLike) -> np.ndarray:
        """Σ_m f_m S(kΛ_m) in closed form."""
        k = np.asarray(k, dtype=float)
        return np.sum(self.fractions * gray_bte_suppression(np.multiply.outer(k, self.mfp),
                                                            self.closure), axis=-1)

    def __repr__(self) -> str:
        return (f"MFPSpectrumKernel({self.mfp.size} MFPs, length={self.length:g}, dim={self.dim}, "
                f"closure={self.closure!r})")
