r"""Generalized conductivity tensors κ⁽ⁿ⁾ (seed 004 eq. 36) and interface conductance (eq. 41).

Normalization
-------------
femheat defines the n-th moment tensor of a kernel Z at a point r as

.. math::
    \kappa^{(n)}_{ij\,k_1\dots k_n}(\mathbf r) = \int_V Z_{ij}(\mathbf r,\mathbf R)\,
        \delta_{k_1}\cdots\delta_{k_n}\,dR, \qquad \boldsymbol\delta = \mathbf R-\mathbf r,

**without** a 1/n! (as the seed's eq. 36) and without the seed's leading minus sign,
which with δ = R − r would make κ⁽⁰⁾ = −κ. Expanding ∇T(R) about r then gives the
seed's eq. 33 with the factorial in the series (BENCHMARKS N1 writes the 1/2 of the
second-order term explicitly):

.. math::
    q_i = -\sum_{n\ge 0}\frac{1}{n!}\,\kappa^{(n)}_{ij\,k_1\dots k_n}
          \partial_{k_1}\cdots\partial_{k_n}\partial_j T .

Units: κ⁽ⁿ⁾ is in W m⁻¹ K⁻¹ · mⁿ. With Z = κ^{1/2} g κ^{1/2} in the bulk of a homogeneous
medium, κ⁽⁰⁾ = κ, κ⁽¹⁾ = 0, κ⁽²⁾_{ijkl} = κ_ij μ₂ δ_kl with μ₂ = ∫ g s_x² (= a² for the
Gaussian, so κ⁽²⁾ = κa², seed 004 after eq. 37; = 2l² for Yukawa). Near a boundary where
the kernel is truncated, κ⁽⁰⁾ < κ and κ⁽¹⁾ ≠ 0 (:func:`truncated_moments`).

Equivalent Guyer–Krumhansl length
---------------------------------
For curl-free (temperature-driven) fields GK gives q = −κ∇T − (1+β)κl²∇ΔT (BENCHMARKS
N1), while the kernel gives q = −κ∇T − (κ⁽²⁾/2κ⁽⁰⁾)κ∇ΔT, so matching the O(k²) term,

.. math:: l = \sqrt{\kappa^{(2)}/(2(1+\beta)\kappa^{(0)})} = \sqrt{\mu_2/(2(1+\beta))},

i.e. a = √2·l for β = 0 (seed 004 after eq. 37) and a = √6·l for β = 2 on longitudinal
fields (``DESIGN.md``, "The β term matters"). The match is only O(k²).

Interface conductance (eq. 41)
------------------------------
For an interface kernel Z(r_AB, r′) on a surface S, G_K(r_AB) = ∫_S Z(r_AB, r′) dS′
[W m⁻² K⁻¹]. For Z = κ g with g the d-dimensional Gaussian of range a and a planar S
at distance z from r_AB, the surface integral of g is its 1D marginal normal to the
plane, so

.. math:: G_K = \frac{\kappa}{\sqrt{2\pi}\,a}\,e^{-z^2/2a^2}

in 2D (line interface, 2D Gaussian) and 3D (plane, 3D Gaussian, seed eq. 37) alike:
the in-plane Gaussian factors integrate to one.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError
from .functions import GaussianKernel, RadialKernel, YukawaKernel, _radial_integral, sphere_area

__all__ = [
    "kernel_moment",
    "moment_tensors",
    "truncated_moments",
    "equivalent_gk_length",
    "interface_conductance",
    "gaussian_interface_conductance",
]


def _check_order(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise FemheatInputError(f"moment order n must be an integer >= 0, got {n!r}")
    return int(n)


def kernel_moment(kernel: RadialKernel, n: int) -> float:
    r"""Per-axis moment μ_n = ∫ g(|s|) s_xⁿ dᵈs [mⁿ] of a radial profile (0 for odd n).

    Gaussian: a^n (n−1)!!; Yukawa: n! lⁿ (from ĝ = 1/(1 + l²k²)); otherwise
    numerical: μ_n = ⟨ω_xⁿ⟩ ω_d ∫ g r^{n+d−1} dr with the sphere average
    ⟨ω_xⁿ⟩ = (n−1)!!/(d(d+2)⋯(d+n−2)). ``inf`` if the moment diverges.
    """
    n = _check_order(n)
    if n % 2:
        return 0.0
    if n == 0:
        return 1.0
    if isinstance(kernel, GaussianKernel):
        return kernel.length**n * float(np.prod(np.arange(n - 1, 0, -2)))
    if isinstance(kernel, YukawaKernel):
        return float(math.factorial(n)) * kernel.length**n
    if n == 2:
        return float(kernel.second_moment())
    d = kernel.dim
    avg = float(np.prod(np.arange(n - 1, 0, -2))) / float(np.prod(d + np.arange(0, n - 1, 2)))
    p = getattr(kernel, "p", None)
    if p is not None and p <= d + n:
        return math.inf
    rmax = kernel._support()
    val = _radial_integral(lambda r: sphere_area(d) * r ** (n + d - 1) * kernel.profile(r),
                           kernel._edges(rmax))
    return avg * val


def _isotropic_tensor(d: int, n: int) -> np.ndarray:
    """Σ over pairings of δ products, shape (d,)*n (zero for odd n)."""
    if n == 0:
        return np.ones(())
    out = np.zeros((d,) * n)
    if n % 2:
        return out
    eye = np.eye(d)

    def pairings(idx):
        if not idx:
            yield []
            return
        first = idx[0]
        for k in range(1, len(idx)):
            rest = idx[1:k] + idx[k + 1:]
            for p in pairings(rest):
                yield [(first, idx[k])] + p

    letters = "abcdefghijklmnop"[:n]
    for p in pairings(list(range(n))):
        spec = ",".join(letters[i] + letters[j] for i, j in p) + "->" + letters
        out += np.einsum(spec, *([eye] * len(p)))
    return out


def moment_tensors(kernel: RadialKernel, conductivity: ArrayLike, order: int = 2) -> list[np.ndarray]:
    r"""Bulk tensors [κ⁽⁰⁾, …, κ⁽ᵒʳᵈᵉʳ⁾] for Z = κ^{1/2} g κ^{1/2} in a homogeneous medium.

    κ⁽ⁿ⁾_{ij k₁…kₙ} = κ_ij · μ_n/(n−1)!! · Σ_pairings δ…δ (zero for odd n); shapes
    (d, d) + (d,)*n [W m⁻¹ K⁻¹ mⁿ]. For the Gaussian, κ⁽²⁾_{ijkl} = κ_ij a² δ_kl.
    """
    order = _check_order(order)
    if order > 8:
        raise FemheatInputError(f"moment order must be <= 8, got {order}")
    d = kernel.dim
    kap = np.asarray(conductivity, dtype=float)
    if kap.ndim == 0:
        kap = kap * np.eye(d)
    if kap.shape != (d, d) or not np.all(np.isfinite(kap)):
        raise FemheatInputError(f"conductivity must be a finite scalar or {d}x{d} tensor, got {kap!r}")
    out = []
    for n in range(order + 1):
        if n % 2:
            out.append(np.zeros((d, d) + (d,) * n))
            continue
        mu = kernel_moment(kernel, n)
        dfact = float(np.prod(np.arange(n - 1, 0, -2))) if n else 1.0
        out.append(np.multiply.outer(kap, _isotropic_tensor(d, n) * (mu / dfact)))
    return out


def truncated_moments(operator, point: ArrayLike, order: int = 2, *, degree: int = 8,
                      level: int = 2) -> list[np.ndarray]:
    r"""κ⁽ⁿ⁾(r) of a :class:`~femheat.kernels.operator.NonlocalOperator`'s kernel at ``point``.

    κ⁽ⁿ⁾_{ij k…}(r) = S(r)_{ia} [Σ_K ∫_K g(|R−r|) δ_k⋯ dR] S_K,aj with the kernel truncated
    at the body boundary (cells only), S = κ^{1/2} per cell, and r's own cell giving S(r).
    Integrated with a composite rule (``degree``, ``level``) per cell; meant for smooth
    kernels (the Gaussian) and for tests of boundary effects.
    """
    from .quadrature import simplex_rule

    order = _check_order(order)
    op = operator
    r = np.asarray(point, dtype=float).ravel()
    d = op.dim
    if r.shape != (d,):
        raise FemheatInputError(f"point must have {d} coordinates, got {r.shape}")
    x, w = simplex_rule(d, degree, level)
    mesh = op.mesh
    v = np.moveaxis(mesh.p[:, mesh.t], 0, -1)  # (d+1, n, d)
    J = np.stack([v[i + 1] - v[0] for i in range(d)], axis=1)  # (n, d, d)
    pts = v[0][:, None, :] + np.einsum("qj,njk->nqk", x, J)  # (n, q, d)
    delta = pts - r
    g = op.kernel.profile(np.linalg.norm(delta, axis=2)) * (w * op.measure[:, None])  # (n, q)
    # S per cell
    if op._isotropic:
        S = op._s[:, None, None] * np.eye(d)
    else:
        S = op._S
    # the cell containing r (nearest centroid as fallback)
    own = int(np.argmin(np.linalg.norm(op.centroids - r, axis=1)))
    Sr = S[own]
    out = []
    for n in range(order + 1):
        mom = g
        letters = "klmnopqr"[:n]
        if n:
            spec = "nq," + ",".join(f"nq{c}" for c in letters) + f"->n{letters}"
            mom = np.einsum(spec, g, *([delta] * n))
        else:
            mom = g.sum(axis=1)
        inner = np.einsum(f"n{letters},naj->aj{letters}", mom, S)
        out.append(np.einsum("ia,aj...->ij...", Sr, inner))
    return out


def equivalent_gk_length(kernel: RadialKernel, beta: float = 0.0) -> float:
    r"""Guyer–Krumhansl length l [m] with the same O(k²) symbol: l = √(μ₂/(2(1+β))).

    β = 0: l = a/√2 for the Gaussian (seed 004 after eq. 37); β = 2 on longitudinal
    (curl-free) fields: l = a/√6 (``DESIGN.md``, "The β term matters").
    """
    try:
        beta = float(beta)
    except (TypeError, ValueError):
        raise FemheatInputError(f"beta must be a number >= 0, got {beta!r}") from None
    if not math.isfinite(beta) or beta < 0:
        raise FemheatInputError(f"beta must be >= 0, got {beta!r}")
    mu2 = kernel.second_moment()
    if not math.isfinite(mu2):
        raise FemheatInputError(f"{kernel!r} has an infinite second moment: no equivalent GK length")
    return math.sqrt(mu2 / (2.0 * (1.0 + beta)))


def gaussian_interface_conductance(conductivity: float, a: float, distance: float = 0.0,
                                   extent: Sequence[tuple[float, float]] | None = None) -> float:
    r"""Closed form of eq. 41 for Z = κ g_Gauss over a planar interface [W m⁻² K⁻¹].

    .. math::

        G_K = \frac{\kappa}{\sqrt{2\pi}\,a}\,e^{-z^2/2a^2}
              \prod_j \tfrac12\Big[\operatorname{erf}\frac{s_j^+}{\sqrt2 a}
                                   + \operatorname{erf}\frac{s_j^-}{\sqrt2 a}\Big]

    Parameters
    ----------
    conductivity
        κ [W m⁻¹ K⁻¹].
    a
        Gaussian length [m] (seed 004 eq. 37; a = √2 l for GK with β = 0).
    distance
        z, from the point to the plane [m] (2D or 3D alike).
    extent
        For a finite (segment/rectangle) interface: per in-plane direction, the
        distances (s⁻, s⁺) [m] from the point's projection to the two edges;
        ``None`` for an infinite line/plane (the product is then 1).
    """
    kap = float(conductivity)
    if not (math.isfinite(kap) and kap > 0):
        raise FemheatInputError(f"conductivity must be > 0 W/(m K), got {conductivity!r}")
    if not (math.isfinite(float(a)) and float(a) > 0):
        raise FemheatInputError(f"a must be > 0 m, got {a!r}")
    z = float(distance)
    g = kap * math.exp(-0.5 * (z / a) ** 2) / (math.sqrt(2 * math.pi) * a)
    for lo, hi in extent or ():
        g *= 0.5 * (math.erf(hi / (math.sqrt(2) * a)) + math.erf(lo / (math.sqrt(2) * a)))
    return g


def interface_conductance(regions, interface: str, kernel: RadialKernel,
                          conductivity: float | Mapping[str, float] | Callable[[np.ndarray], np.ndarray],
                          point: ArrayLike | None = None, *, degree: int = 12,
                          level: int = 2) -> float | np.ndarray:
    r"""Eq. 41: G_K(r_AB) = ∫_S Z(r_AB, r′) dS′ over a named interface [W m⁻² K⁻¹].

    Z(r, r′) = √(κ(r)κ(r′)) g(|r − r′|) with g the radial profile ``kernel`` (normalized
    in the mesh dimension d, so g integrated over the (d−1)-dimensional interface has
    units m⁻¹). The facets (segments in 2D, triangles in 3D) are integrated with
    composite Gauss rules (``degree``, ``level`` subdivisions).

    Parameters
    ----------
    conductivity
        κ: a scalar, a callable of positions (d, ...), or subdomain name -> κ, in which
        case Z = √(κ_A κ_B) g on the interface between subdomains A and B.
    point
        r_AB, shape (d,) (returns a float) or (d, m) (returns m values). ``None``:
        the facet averages (1/|f|)∫_f G_K dS of every facet of the interface, in the
        order of ``regions.interface(interface)``.
    """
    from .quadrature import simplex_rule

    facets = regions.interface(interface)
    mesh = regions.mesh
    d = mesh.p.shape[0]
    if kernel.dim != d:
        raise FemheatInputError(f"kernel is normalized in {kernel.dim}D but the mesh is {d}D")
    if isinstance(conductivity, Mapping):
        _, sides = regions.interface_orientation(interface)
        for name in sides:
            if name not in conductivity:
                raise FemheatInputError(
                    f"conductivity has no value for subdomain {name!r} (a side of {interface!r})")
        conductivity = math.sqrt(float(conductivity[sides[0]]) * float(conductivity[sides[1]]))
    verts = np.moveaxis(mesh.p[:, mesh.facets[:, facets]], 0, -1)  # (d, nf, d): vertex first
    x, w = simplex_rule(d - 1, degree, level)
    E = np.stack([verts[i + 1] - verts[0] for i in range(d - 1)], axis=1)  # (nf, d-1, d)
    pts = verts[0][:, None, :] + np.einsum("qj,njk->nqk", x, E)  # (nf, nq, d)
    if d == 2:
        meas = np.linalg.norm(E[:, 0], axis=1)
    else:
        meas = 0.5 * np.linalg.norm(np.cross(E[:, 0], E[:, 1]), axis=1)
    weights = (w[None, :] * meas[:, None]).ravel()  # (nf*nq,)
    src = pts.reshape(-1, d)
    if callable(conductivity):
        k_src = np.asarray(conductivity(src.T), dtype=float).ravel()
    else:
        kap = float(conductivity)
        if not (math.isfinite(kap) and kap > 0):
            raise FemheatInputError(f"conductivity must be > 0 W/(m K), got {conductivity!r}")
        k_src = np.full(src.shape[0], kap)

    def at(targets: np.ndarray) -> np.ndarray:  # targets (m, d)
        out = np.empty(targets.shape[0])
        k_t = np.asarray(conductivity(targets.T), dtype=float).ravel() \
            if callable(conductivity) else np.full(targets.shape[0], k_src[0])
        for s in range(0, targets.shape[0], 1024):
            dist = np.linalg.norm(targets[s:s + 1024, None, :] - src[None, :, :], axis=2)
            out[s:s + 1024] = (kernel.profile(dist) * np.sqrt(k_src)) @ weights
        return out * np.sqrt(k_t)

    if point is None:  # facet averages
        vals = at(src).reshape(pts.shape[:2])
        return (vals * w[None, :]).sum(axis=1) / w.sum()
    r = np.asarray(point, dtype=float)
    if r.shape == (d,):
        return float(at(r[None, :])[0])
    if r.ndim != 2 or r.shape[0] != d:
        raise FemheatInputError(f"point must have shape ({d},) or ({d}, m), got {r.shape}")
    return at(r.T)
