r"""Assembled operators as multi-affine functions of the fit parameters: assemble once,
interpolate exactly afterwards.

The operators of a mixed heat problem depend on its material and interface numbers
through a few natural coordinates: the flux block A = Σ_m κ_m⁻¹ (q, v)_m + Σ_i R_i
(q·n, v·n)_i is affine in 1/κ_m [m K/W] and in R_K = 1/G_K [m² K/W], the inertia
(τκ⁻¹q, v) in τ [s] (and in 1/κ), the capacity block C⁻¹ in 1/C [m³ K/J], the loads in
a flux or temperature amplitude, the GK viscous term (ν∇q, ∇v), ν = l²/κ, in l² [m²]
and the 3D vorticity mass (ν⁻¹ω, τ) in κ and in 1/l². With g_j(p_j) ∈ {p_j, 1/p_j,
p_j², 1/p_j²} such a coordinate, chosen per item and parameter, every assembled item X
(a sparse matrix or a vector) is *multi-affine*:

.. math::

    X(p) = \sum_{c \in \{0,1\}^m} \Bigl(\prod_{j=1}^m t_j^{c_j} (1-t_j)^{1-c_j}\Bigr) X_c,
    \qquad t_j = \frac{g_j(p_j) - g_j(a_j)}{g_j(b_j) - g_j(a_j)},

exactly (to round-off), from the 2^m "corner" assemblies X_c at p_j ∈ {a_j, b_j}
(products like τ/κ of two free parameters included). The derivatives are exact too:
∂X/∂p_j = g_j'(p_j)/(g_j(b_j) − g_j(a_j)) Σ_c (∂W_c/∂t_j) X_c.

:class:`MultiAffine` builds the corners (a = p₀, b = ``ratio``·p₀), picks g_j per
item and parameter from one extra assembly at p_j = 1.5 a_j (whichever coordinate
predicts the item, to ``tolerance``; one item can be affine in κ while another is in
1/κ) and checks the whole interpolation at one more point where every parameter
changes; parameters that are not multi-affine in any coordinate (a spot radius, a
layer thickness, a temperature-dependent κ, l with a slip-length wall) raise
:class:`NotAffine`, and the caller re-assembles per evaluation instead. Cost:
2^m + m + 1 assemblies once, then none: an evaluation is a weighted sum of the stored
corner values (the constant items are stored once).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

__all__ = ["MultiAffine", "NotAffine", "MAX_PARAMETERS"]

log = logging.getLogger(__name__)

#: at most this many parameters (2^m corner assemblies)
MAX_PARAMETERS = 5

#: the natural coordinates tried per parameter: (name, g, g')
_COORDINATES: tuple[tuple[str, Callable, Callable], ...] = (
    ("p", lambda p: p, lambda p: np.ones_like(p)),
    ("1/p", lambda p: 1.0 / p, lambda p: -1.0 / (p * p)),
    ("p^2", lambda p: p * p, lambda p: 2.0 * p),
    ("1/p^2", lambda p: 1.0 / (p * p), lambda p: -2.0 / (p * p * p)),
)


class NotAffine(ValueError):
    """The assembled items are not multi-affine in a natural coordinate of every
    parameter (p, 1/p, p² or 1/p², chosen per item)."""


class _Item:
    """One assembled item over the corners: constant, or (corners, values) data."""

    def __init__(self, values: Sequence[Any]):
        first = values[0]
        if callable(first):
            raise NotAffine("the operators include a function of the frequency (a model "
                            "impedance Z(omega), e.g. memory modes), not assembled items")
        self.sparse = sp.issparse(first)
        if any(np.shape(v) != np.shape(first) for v in values[1:]):
            # e.g. the vorticity form's viscosity levels, whose number and vorticity
            # unknowns follow the order of the materials' l^2/kappa
            raise NotAffine("the operators' shapes change with the parameters (the "
                            "vorticity form's viscosity levels follow the order of the "
                            "materials' l^2/kappa)")
        if self.sparse:
            self.shape = first.shape
            csr = [sp.csr_matrix(v) for v in values]
            for m in csr:
                m.sort_indices()
            if all(np.array_equal(m.indptr, csr[0].indptr) and
                   np.array_equal(m.indices, csr[0].indices) for m in csr[1:]):
                # the usual case: one pattern at every corner (no union needed)
                data = np.array([m.data for m in csr])
                self._order = np.arange(data.shape[1])
                self._indices, self._indptr = csr[0].indices, csr[0].indptr
                self._finish(data)
                return
            mats = [sp.coo_matrix(v) for v in values]
            lin = [m.row.astype(np.int64) * self.shape[1] + m.col for m in mats]
            union = np.unique(np.concatenate(lin))
            data = np.zeros((len(mats), union.size), dtype=np.result_type(*mats))
            for k, (m, li) in enumerate(zip(mats, lin)):
                np.add.at(data[k], np.searchsorted(union, li), m.data)
            rows, cols = np.divmod(union, self.shape[1])
            pattern = sp.csr_matrix((np.arange(1, union.size + 1, dtype=float), (rows, cols)),
                                    shape=self.shape)
            self._order = pattern.data.astype(np.int64) - 1   # union -> csr order
            self._indices, self._indptr = pattern.indices, pattern.indptr
        else:
            data = np.array([np.asarray(v) for v in values])
        self._finish(data)

    def _finish(self, data: np.ndarray) -> None:
        scale = float(np.abs(data).max()) if data.size else 0.0
        scale = scale or 1.0
        self.constant = bool(data.size == 0 or
                             np.abs(data - data[0]).max() <= 1e-14 * scale)
        self.data = data[:1] if self.constant else data
        self.scale = scale

    def combine(self, weights: np.ndarray) -> Any:
        v = self.data[0] if self.constant else weights @ self.data
        if not self.sparse:
            return v
        return sp.csr_matrix((v[self._order], self._indices, self._indptr), shape=self.shape)

    def error(self, value: Any, weights: np.ndarray) -> float:
        """max |interpolated − value| / max |value over the corners|."""
        mine = self.combine(weights)
        diff = (mine - value) if self.sparse else (np.asarray(mine) - np.asarray(value))
        if (diff.nnz if self.sparse else diff.size) == 0:
            return 0.0
        d = abs(diff).max() if self.sparse else np.abs(diff).max()
        return float(d) / self.scale


class MultiAffine:
    """Exact interpolation of assembled items that are multi-affine in g_j(p_j).

    Parameters
    ----------
    build
        p -> {name: sparse matrix or array}, the assembled items at p (same names,
        shapes for every p).
    p0
        Lower corner a [SI]; the upper is ``ratio * p0`` (p₀ > 0).
    names
        Parameter names for the messages.
    ratio, tolerance
        Corner spacing; the largest relative interpolation error accepted by the
        checks (a non-affine dependence shows as ~1e-2, round-off as ~1e-14).

    Raises
    ------
    NotAffine
        When an item is affine in none of p, 1/p, p², 1/p² of a parameter, or the
        cross terms are not multi-affine (the message names the parameter or says so).
    """

    def __init__(self, build: Callable[[np.ndarray], Mapping[str, Any]], p0: ArrayLike,
                 names: Sequence[str], *, ratio: float = 2.0, tolerance: float = 1e-8):
        p0 = np.asarray(p0, dtype=float)
        m = p0.size
        if m > MAX_PARAMETERS:
            raise NotAffine(f"{m} parameters: more than {MAX_PARAMETERS} (2^m assemblies)")
        if not np.all(p0 > 0):
            raise NotAffine("the multi-affine interpolation needs positive parameters")
        self.m, self.names = m, list(names)
        self.a, self.b = p0.copy(), p0 * ratio
        self.bits = (np.arange(2 ** m)[:, None] >> np.arange(m)[None, :]) & 1
        corners = [dict(build(np.where(c, self.b, self.a))) for c in self.bits]
        self.items = {k: _Item([c[k] for c in corners]) for k in corners[0]}
        self.assemblies = len(corners)
        varying = [k for k, it in self.items.items() if not it.constant]
        #: per item, the index into _COORDINATES of each parameter's coordinate
        self._choice = {k: np.zeros(m, dtype=int) for k in self.items}
        for j in range(m):
            p = self.a.copy()
            p[j] *= 1.5
            actual = build(p)
            self.assemblies += 1
            for k in varying:
                errors = [self.items[k].error(actual[k], self._weights_t(
                    self._t_single(j, p[j], g))) for _, g, _ in _COORDINATES]
                best = int(np.argmin(errors))
                if errors[best] > tolerance:
                    raise NotAffine(
                        f"{self.names[j]}: the assembled operators ({k}) are affine in none "
                        "of " + ", ".join(c[0] for c in _COORDINATES) + " (relative errors "
                        + ", ".join(f"{e:.1e}" for e in errors) + ")")
                self._choice[k][j] = best
        check = self.a * (1.0 + 0.7 * (ratio - 1.0) * ((np.arange(m) % 3) / 2.0 + 0.25))
        actual = build(check)
        self.assemblies += 1
        err = max([self.items[k].error(actual[k], self._weights(check, k)) for k in varying]
                  or [0.0])
        if err > tolerance:
            raise NotAffine(f"the operators are not multi-affine in "
                            f"{', '.join(self.names)} jointly (relative error {err:.1e})")
        log.info("multi-affine operators in %s (%s): %d assemblies, %d of %d items vary",
                 ", ".join(self.names), ", ".join(
                     "/".join(sorted({_COORDINATES[c][0] for c in self._used(j)}) or "-")
                     for j in range(m)),
                 self.assemblies, len(varying), len(self.items))

    def _used(self, j: int) -> list[int]:
        """The coordinates (indices into _COORDINATES) of parameter j, one per item
        that depends on it."""
        return [c[j] for k, c in self._choice.items() if self._depends(k, j)]

    @property
    def coordinates(self) -> list[tuple[str, Callable, Callable]]:
        """Per parameter, the coordinate g_j of the items that depend on it (the first
        such item's where items differ, :meth:`item_coordinates`)."""
        return [_COORDINATES[(self._used(j) or [0])[0]] for j in range(self.m)]

    def item_coordinates(self, key: str) -> list[str]:
        """The coordinate names (``"p"``, ``"1/p"``, ``"p^2"``, ``"1/p^2"``) of item
        ``key``, one per parameter."""
        return [_COORDINATES[c][0] for c in self._choice[key]]

    def _depends(self, key: str, j: int) -> bool:
        """Whether item ``key`` changes between the corners that differ in p_j only."""
        it = self.items[key]
        if it.constant:
            return False
        lo = self.bits[:, j] == 0
        return bool(np.abs(it.data[lo] - it.data[~lo]).max() > 1e-14 * it.scale)

    def _t_single(self, j: int, pj: float, g: Callable) -> np.ndarray:
        """t with p_j alone moved off the lower corner, in coordinate g."""
        t = np.zeros(self.m)
        t[j] = (g(pj) - g(self.a[j])) / (g(self.b[j]) - g(self.a[j]))
        return t

    def _t(self, p: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
        """t_j and dt_j/dp_j in item ``key``'s coordinates."""
        t, dt = np.empty(p.size), np.empty(p.size)
        for j, c in enumerate(self._choice[key]):
            _, g, dg = _COORDINATES[c]
            span = g(self.b[j]) - g(self.a[j])
            t[j] = (g(p[j]) - g(self.a[j])) / span
            dt[j] = dg(p[j]) / span
        return t, dt

    def _weights_t(self, t: np.ndarray) -> np.ndarray:
        return np.prod(np.where(self.bits == 1, t, 1.0 - t), axis=1)

    def _weights(self, p: np.ndarray, key: str) -> np.ndarray:
        """The corner weights W_c(t(p)) of item ``key``."""
        return self._weights_t(self._t(np.asarray(p, dtype=float), key)[0])

    def _derivative_weights(self, p: np.ndarray, j: int, key: str) -> np.ndarray:
        """∂W_c/∂p_j of item ``key``."""
        t, dt = self._t(np.asarray(p, dtype=float), key)
        f = np.where(self.bits == 1, t, 1.0 - t)
        f[:, j] = np.where(self.bits[:, j] == 1, 1.0, -1.0)
        return np.prod(f, axis=1) * dt[j]

    def __call__(self, p: ArrayLike) -> dict[str, Any]:
        """The items at p."""
        p = np.asarray(p, dtype=float)
        return {k: it.combine(self._weights(p, k)) for k, it in self.items.items()}

    def derivative(self, p: ArrayLike, j: int) -> dict[str, Any]:
        """∂(items)/∂p_j at p (the constant items: zero)."""
        out = {}
        for k, it in self.items.items():
            if it.constant:
                out[k] = (sp.csr_matrix(it.shape, dtype=it.data.dtype) if it.sparse
                          else np.zeros_like(it.data[0]))
            else:
                out[k] = it.combine(self._derivative_weights(p, j, k))
        return out
