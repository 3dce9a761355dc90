r"""Well-posedness of steady nonlocal problems (see :mod:`femheat.kernels.solvers`).

:func:`assess_well_posedness` computes the amplification γ = max σ_A(k)/σ_A(k_h),
the grid response ρ = ξ + (1−ξ)ĝ(k_h) at k_h = π√d/h and the source width σ_Q,
and raises :class:`~femheat.kernels.solver_base.IllPosedError` or warns
:class:`~femheat.kernels.solver_base.IllConditionedWarning` accordingly.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .solver_base import (IllConditionedWarning, IllPosedError, Source, _dim, _load,
                          _local_fraction, _mesh_scales, _operator_symbol, _regularization,
                          _unit_forms)

__all__ = ["ILL_CONDITIONED_AMPLIFICATION", "WellPosedness", "assess_well_posedness"]

#: γ above which an :class:`IllConditionedWarning` is issued.
ILL_CONDITIONED_AMPLIFICATION = 1e3


@dataclass
class WellPosedness:
    """Diagnosis of a steady nonlocal problem (see :mod:`femheat.kernels.solvers`).

    Attributes
    ----------
    amplification
        γ = max_{k≤k_h} σ_A(k)/σ_A(k_h) (1 for Fourier and Yukawa kernels).
    grid_response
        ρ = ξ + (1−ξ)ĝ(k_h): the finest mode's conductivity relative to κ.
    resolvable_wavenumber
        k_h = π√d/h [m⁻¹], h the mean edge length (checkerboard mode).
    source_width
        σ_Q = sqrt(d ∫Q²/(2∫|∇Q|²)) [m] (inf for a uniform source, nan if none).
    kernel_length
        The kernel's characteristic length [m].
    smoothing
        True if ξ = 0 and the kernel symbol decays faster than k⁻² (the steady
        problem is then a first-kind integral equation).
    regularization
        The Tikhonov weight ε (0: none).
    regularization_bias
        ε/(ξ + (1−ξ)ĝ(k_Q) + ε) at k_Q = 2/σ_Q: the estimated relative change of the
        source-scale part of the solution caused by ε (0 without regularization).
    """

    amplification: float
    grid_response: float
    resolvable_wavenumber: float
    source_width: float
    kernel_length: float
    smoothing: bool
    regularization: float = 0.0
    regularization_bias: float = 0.0


def _is_smoothing(op) -> bool:
    """ξ = 0 and k²ĝ(k) → 0 (symbol faster than k⁻²): the steady operator is compact."""
    if _local_fraction(op) > 0:
        return False
    L = float(op.kernel.length)
    s = _operator_symbol(op, np.array([10.0, 100.0]) / L)
    if s is None:
        return False
    s = s * L**2
    return bool(s[1] <= 0.1 * s[0] + 1e-300 and s[1] < 1e-2)


def _grid_wavenumber(op) -> float:
    """k_h = π√d/h: the checkerboard mode along a cell diagonal, h the mean edge [m⁻¹]."""
    return math.pi * math.sqrt(_dim(op)) / _mesh_scales(op)[0]


def _response(op, kmax: float, eps: float = 0.0) -> tuple[float, float]:
    """(γ, ρ): γ = max_{k≤k_h} σ_A(k)/σ_A(k_h); ρ = ξ + (1−ξ)ĝ(k_h) + ε = σ_A(k_h)/(κk_h²)."""
    _, diam = _mesh_scales(op)
    band = np.geomspace(math.pi / diam, kmax, 400)
    sA = _operator_symbol(op, band, eps)
    if sA is None:
        warnings.warn(
            f"the symbol of {op.kernel!r} cannot be evaluated, so the conditioning of the "
            "steady operator is not checked (only the source width is); give the kernel "
            "a symbol (CallableKernel(..., symbol=...)) to enable the check",
            IllConditionedWarning, stacklevel=4)
        return 1.0, 1.0
    rho = float(sA[-1] / kmax**2)
    return float(sA.max() / max(sA[-1], 1e-300)), rho


def _singular_level(op) -> float:
    """ρ below which quadrature errors of W (relative ``op.tol``) reach the grid modes'
    eigenvalues. Calibrated on the Gaussian kernel: W entries accurate to tol move the
    generalized eigenvalues of (A, K_loc) by ~1e-3·tol (P1 triangles, a/h = 1.2 to 2.4)."""
    return 1e-3 * float(getattr(op, "tol", 1e-6)) + 1e-13


def _source_width(op, b: np.ndarray) -> float:
    """σ_Q from the lumped L2 projection of the load: sqrt(d QᵀMQ / (2 QᵀKQ))."""
    if not np.any(b):
        return math.nan
    K1, M = _unit_forms(op.basis)
    lumped = np.asarray(M.sum(axis=1)).ravel()
    q = b / lumped
    num = float(q @ (K1 @ q))
    den = float(q @ (M @ q))
    if num <= 1e-14 * den / _mesh_scales(op)[1] ** 2:
        return math.inf
    return math.sqrt(_dim(op) * den / (2 * num))


def assess_well_posedness(op, source: Source = None, *, load: Optional[np.ndarray] = None,
                          regularization: float = 0.0,
                          raise_errors: bool = True) -> WellPosedness:
    """Diagnose a steady nonlocal problem before solving it.

    Three numbers are computed from the kernel symbol and the source (module
    docstring): the amplification γ = max_{k≤k_h} σ_A(k)/σ_A(k_h), the grid
    response ρ = ξ + (1−ξ)ĝ(k_h) at k_h = π√d/h, and the source width σ_Q.

    Parameters
    ----------
    op
        The :class:`~femheat.kernels.operator.NonlocalOperator`.
    source
        Q [W m⁻³] as for :func:`solve_steady_nonlocal` -- used for the
        source-width test.
    load
        The assembled load vector b_i = ∫Qφ_i [W] instead of ``source``.
    regularization
        Tikhonov weight ε of :func:`solve_steady_nonlocal`; it lifts the grid
        response to ρ + ε (the source-width test is unaffected: with σ_Q ≤ a the
        regularized answer would be all bias).
    raise_errors
        Raise :class:`IllPosedError` / warn :class:`IllConditionedWarning`
        (default) or only return the diagnosis.

    Returns
    -------
    WellPosedness

    Raises
    ------
    IllPosedError
        * ξ = 0, a smoothing kernel and a source no wider than the kernel
          (σ_Q ≤ length): no steady solution exists (BENCHMARKS N3);
        * a decreasing operator symbol (γ > 1) whose grid response ρ lies below
          the accuracy of the operator (1e-3·``op.tol``): the discrete operator is
          numerically singular (measured: indefinite) on this mesh.
    """
    eps = _regularization(regularization)
    kh = _grid_wavenumber(op)
    gamma, rho = _response(op, kh, eps)
    length = float(op.kernel.length)
    b = _load(op, source) if load is None else np.asarray(load, dtype=float)
    width = _source_width(op, b)
    smoothing = _is_smoothing(op)
    bias = 0.0
    if eps > 0 and math.isfinite(width) and width > 0:
        kq = np.array([2.0 / width])
        s_q = _operator_symbol(op, kq, eps)
        bias = math.nan if s_q is None else float(eps * kq[0] ** 2 / s_q[0])
    diag = WellPosedness(gamma, rho, kh, width, length, smoothing, eps, bias)
    if not raise_errors:
        return diag
    fixes = ("add a local fraction (local_fraction = xi > 0, two-phase law "
             "q = -xi kappa grad T - (1 - xi) int Z grad T) or run a transient problem "
             "(well posed for any xi)")
    regularize = ("a Tikhonov regularization (solve_steady_nonlocal(..., regularization=1e-4): "
                  "bias ~eps/g^(k) on resolved modes)")
    if smoothing and np.isfinite(width) and width <= length:
        raise IllPosedError(
            f"steady problem with a pure smoothing kernel (local_fraction = 0, kernel "
            f"length {length:.3g} m) and a source of width {width:.3g} m <= the kernel "
            "length: the steady equation is a first-kind integral equation whose solution "
            "T^ = Q^/(kappa k^2 g^(k)) does not exist when the source is narrower than the "
            f"kernel (BENCHMARKS N3); {fixes}, or widen the source beyond {length:.3g} m")
    level = _singular_level(op)
    if gamma > 1.0 + 1e-9 and rho < level:
        h = _mesh_scales(op)[0]
        hmin = _coarsest_acceptable_h(op, level, eps)
        raise IllPosedError(
            f"steady nonlocal operator is numerically singular on this mesh: the finest "
            f"resolvable mode (k = pi sqrt(d)/h = {kh:.3g} 1/m) sees the fraction "
            f"rho = {rho:.2e} of the local conductivity, below the accuracy of the kernel "
            f"quadrature ({level:.1e}), so the discrete operator is indefinite and the "
            f"solution would be noise; {fixes}, {regularize}, or coarsen the mesh (mean edge "
            f"length >= {hmin:.3g} m; now {h:.3g} m)")
    if gamma > ILL_CONDITIONED_AMPLIFICATION:
        warnings.warn(
            f"steady nonlocal operator is ill-conditioned on this mesh: the finest "
            f"resolvable mode is damped by gamma = {gamma:.2e} relative to the strongest, "
            f"and fine-scale errors in the data are amplified by that factor; a local "
            f"fraction xi > 0, {regularize} or a coarser mesh helps", IllConditionedWarning,
            stacklevel=3)
    return diag


def _coarsest_acceptable_h(op, level: float, eps: float = 0.0) -> float:
    """Smallest mean edge length [m] whose grid response stays above ``level``."""
    h0, diam = _mesh_scales(op)
    d = _dim(op)
    for h in np.geomspace(h0, diam, 400):
        s = _operator_symbol(op, np.array([math.pi * math.sqrt(d) / h]), eps)
        if s is not None and s[0] / (math.pi * math.sqrt(d) / h) ** 2 >= level:
            return float(h)
    return diam
