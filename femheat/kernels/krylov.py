r"""Krylov core of the nonlocal solvers and the steady preconditioners.

Preconditioned conjugate gradients with a Lanczos condition estimate
(:func:`_pcg`), restriction to free nodes, the mean-free projection of problems
without temperature regions, and the choice between the ``"local"`` (K_loc) and
``"gk"`` (K_loc⁻¹ + l_p²(κM_L)⁻¹) preconditioners by their symbol condition
number (module docstring of :mod:`femheat.kernels.solvers`). Also the
:class:`SolveReport` of a solve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp

from ..errors import FemheatInputError, SolverError
from .solver_base import _band, _operator_symbol, _symbol_condition
from .well_posedness import WellPosedness

__all__ = ["PRECONDITIONERS", "SolveReport"]

#: Steady preconditioners (see :mod:`femheat.kernels.solvers`).
PRECONDITIONERS = ("auto", "local", "gk")


@dataclass
class SolveReport:
    """What a nonlocal solve did.

    Attributes
    ----------
    iterations
        Conjugate-gradient iterations (steady) or their total over all steps.
    residual
        Final relative residual ‖b − A T‖/‖b‖ on the free nodes (recomputed).
    preconditioner
        ``"local"``, ``"gk"`` (steady) or ``"mass+stiffness"`` (transient).
    preconditioner_length
        l_p [m] of the ``"gk"`` preconditioner (0 for the others).
    condition_estimate
        Lanczos estimate λ_max/λ_min of the preconditioned operator, from the
        conjugate-gradient coefficients (a lower bound of the true value).
    symbol_condition
        The condition number predicted from the kernel symbol for the chosen
        preconditioner over k ∈ [π/diam, π√d/h] (nan if the kernel has no symbol).
    heat_source
        ∫Q dV [W] (per unit depth in 2D).
    boundary_heat_flow
        Heat flow out of each temperature region [W], the reaction of its rows.
    energy_balance
        |∫Q − Σ H| / (|∫Q| + Σ|H|) (steady); the largest per-step value of
        |dE/dt − ∫Q + ΣH| / scale (transient).
    iteration_history
        Iterations per solve (one entry in steady runs).
    well_posedness
        The :class:`WellPosedness` diagnosis (steady).
    """

    iterations: int
    residual: float
    preconditioner: str
    preconditioner_length: float = 0.0
    condition_estimate: float = math.nan
    symbol_condition: float = math.nan
    heat_source: float = 0.0
    boundary_heat_flow: dict = field(default_factory=dict)
    energy_balance: float = 0.0
    iteration_history: list = field(default_factory=list)
    well_posedness: Optional[WellPosedness] = None


def _pcg(matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray,
         precond: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float,
         max_iterations: int, what: str) -> tuple[np.ndarray, int, float]:
    """Preconditioned conjugate gradients; returns (x, iterations, Lanczos cond).

    Stops when ‖r‖ ≤ tol ‖b‖; raises :class:`SolverError` otherwise, or if the
    operator or the preconditioner is not positive definite.
    """
    x = x0.copy()
    r = b - matvec(x)
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return np.zeros_like(b), 0, 1.0
    z = precond(r)
    p = z.copy()
    rz = float(r @ z)
    alphas: list[float] = []
    betas: list[float] = []
    it = 0
    res = float(np.linalg.norm(r)) / bnorm
    while res > tol:
        if it >= max_iterations:
            raise SolverError(
                f"{what}: conjugate gradients did not converge in {max_iterations} "
                f"iterations (relative residual {res:.2e} > {tol:.1e}); the problem is "
                "ill-conditioned -- try preconditioner='gk' or 'local', a local fraction "
                "xi > 0, a coarser mesh, or a larger max_iterations")
        it += 1
        Ap = matvec(p)
        pAp = float(p @ Ap)
        if not pAp > 0 or rz < 0:
            raise SolverError(
                f"{what}: the operator or the preconditioner is not positive definite "
                f"(p.Ap = {pAp:.3e}, r.z = {rz:.3e}) at iteration {it}; check the kernel "
                "(a conductivity kernel must have a nonnegative symbol) and the "
                "temperature conditions")
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        res = float(np.linalg.norm(r)) / bnorm
        alphas.append(alpha)
        if res <= tol:
            break
        z = precond(r)
        rz_new = float(r @ z)
        beta = rz_new / rz
        betas.append(beta)
        rz = rz_new
        p = z + beta * p
    return x, it, _lanczos_condition(alphas, betas)


def _lanczos_condition(alphas: list[float], betas: list[float]) -> float:
    """λ_max/λ_min of the Lanczos tridiagonal built from CG coefficients."""
    m = len(alphas)
    if m == 0:
        return 1.0
    a = np.asarray(alphas)
    bt = np.asarray(betas[: m - 1])
    diag = 1.0 / a
    diag[1:] += bt / a[:-1]
    off = np.sqrt(np.maximum(bt, 0.0)) / a[:-1]
    from scipy.linalg import eigvalsh_tridiagonal

    ev = eigvalsh_tridiagonal(diag, off) if m > 1 else diag
    lo = float(ev.min())
    return math.inf if lo <= 0 else float(ev.max()) / lo


def _restrict(op_apply: Callable[[np.ndarray], np.ndarray], n: int, free: np.ndarray):
    """x_F ↦ (A [x_F; 0])_F."""

    def mv(xf: np.ndarray) -> np.ndarray:
        x = np.zeros(n)
        x[free] = xf
        return op_apply(x)[free]

    return mv


class _MeanFree:
    """Projection onto zero-(mass-)mean vectors for problems without Dirichlet nodes."""

    def __init__(self, weights: np.ndarray):
        self.w = weights / weights.sum()

    def field(self, x: np.ndarray) -> np.ndarray:  # remove the weighted mean of a field
        return x - float(self.w @ x)

    def dual(self, r: np.ndarray) -> np.ndarray:  # remove the mean of a load
        return r - r.sum() * self.w


def _kappa_nodal(op, K1: sp.csr_matrix) -> np.ndarray:
    """Nodal conductivity estimate diag(K_loc)/diag(K_1) [W m⁻¹ K⁻¹]."""
    d1 = K1.diagonal()
    dk = op.local_stiffness().diagonal()
    kap = np.where(d1 > 0, dk / np.where(d1 > 0, d1, 1.0), np.nan)
    fill = np.nanmean(kap) if np.any(np.isfinite(kap)) else 1.0
    return np.where(np.isfinite(kap), kap, fill)


def _gk_length(op, eps: float = 0.0) -> tuple[float, float]:
    """(l_p, symbol condition) minimizing cond of (1 + l_p²k²)(ξ + (1-ξ)ĝ(k) + ε)."""
    band = _band(op)
    sA = _operator_symbol(op, band, eps)
    if sA is None:
        L = float(op.kernel.length)
        return L, math.nan
    base = sA / band**2
    L = float(op.kernel.length)
    best = (0.0, _symbol_condition(base))
    for lp in np.geomspace(1e-2 * L, 1e2 * L, 161):
        c = _symbol_condition(base * (1 + lp**2 * band**2))
        if c < best[1]:
            best = (float(lp), c)
    return best


def _choose_preconditioner(op, requested: str, eps: float = 0.0) -> tuple[str, float, float]:
    """(name, l_p, predicted symbol condition)."""
    if requested not in PRECONDITIONERS:
        raise FemheatInputError(
            f"preconditioner = {requested!r} is unknown; choose one of "
            f"{', '.join(PRECONDITIONERS)}")
    band = _band(op)
    sA = _operator_symbol(op, band, eps)
    c_local = math.nan if sA is None else _symbol_condition(sA / band**2)
    lp, c_gk = _gk_length(op, eps)
    if requested == "local":
        return "local", 0.0, c_local
    if requested == "gk":
        return "gk", lp, c_gk
    if sA is None:
        return "local", 0.0, math.nan
    return ("gk", lp, c_gk) if c_gk < 0.8 * c_local else ("local", 0.0, c_local)
