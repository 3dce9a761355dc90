"""Linear solvers for the assembled mixed system: steady state and factorizations.

Direct sparse factorizations go through :func:`~femheat.solve.factorization.factorize`
(re-exported here). The eliminated flux operator of the time stepper and the
augmented-Lagrangian flux operator are symmetric positive definite for symmetric
κ; they get a supernodal Cholesky factorization (CHOLMOD) where it is installed,
else SuperLU's symmetric mode, with the symbolic analysis shared between matrices
of one sparsity pattern (the points of a parameter sweep). Non-symmetric (thermal
Hall) operators and the indefinite steady saddle-point system use SuperLU's
general LU.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
import skfem

from ..assembly import forms
from ..assembly.rotation import RotationOperator, VorticityMass
from ..element.spaces import inner_points, quadrature_order
from .augmented import factorize_augmented, kept_rotation
from .factorization import (CHOLMOD_ORDERING, DIRECT_SOLVER_ENV, _cholmod,  # noqa: F401
                            direct_solver, factorize, ordering_for)
from ..errors import BoundaryConditionError, SolverError
from ..assembly.system import MixedSystem, block_diagonal_inverse
from ..physics.plausibility import suspicious_values

__all__ = ["State", "AugmentedLagrangian", "factorize", "direct_solver", "solve_steady",
           "solve_linear_steady", "consistent_flux", "dg_mass_inverse", "DIRECT_SOLVER_ENV"]

log = logging.getLogger(__name__)


@dataclass
class State:
    """Solution at one time: DOF vectors of the DG temperature and the RT flux.

    Attributes
    ----------
    time
        t [s] (0 for a steady solution).
    temperature
        Coefficients of T [K] in ``system.temperature_basis``.
    flux
        Coefficients of q [W m⁻²] in ``system.flux_basis``.
    """

    time: float
    temperature: np.ndarray
    flux: np.ndarray


def _saddle_point(system: MixedSystem, A_full: sp.spmatrix | None = None
                  ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Symmetrically scaled steady saddle-point matrix S K S and the scaling S.

    Unscaled, the flux block grows like 1/size relative to B in 3D, so on a
    nanometre mesh cond(K) reaches ~1e21 and the solution loses digits. With q
    scaled by diag(A)^(-1/2) and T by the inverse row norms of the scaled B, the
    condition number no longer depends on the length unit.
    """
    free, ess = system.free_dofs, system.essential_dofs
    A = (system.resistance if A_full is None else sp.csr_matrix(A_full))[free][:, free]
    B = system.divergence[:, free]
    G = system.gradient[:, free]
    dq = 1.0 / np.sqrt(np.abs(A.diagonal()))
    Bs = B @ sp.diags(dq)
    rows = np.sqrt(np.asarray(Bs.multiply(Bs).sum(axis=1)).ravel())
    dT = 1.0 / np.where(rows > 0, rows, 1.0)
    S = np.concatenate([dq, dT])
    K = sp.bmat([[A, -G.T], [-B, None]], format="csr")
    K = (sp.diags(S) @ K @ sp.diags(S)).tocsc()
    return K, free, ess, S


def solve_steady(system: MixedSystem, mean_temperature: float | None = None,
                 tol: float = 1e-10, max_iterations: int = 30) -> State:
    """Solve the steady problem A q + N(q) − Bᵀ T = f, B q = F (τ plays no role),
    through the steady entry point of the system's registered model.

    N(q) = (b/a)κ⁻¹|q|²q is the Landau–Khalatnikov quartic term; when a material
    has one, Newton's method is used (``tol`` on the relative flux update,
    ``max_iterations``), starting from the linear solution, and the convergence
    history is kept on the returned state as ``state.newton``
    (:class:`NewtonReport`). Without it, one linear solve.

    Parameters
    ----------
    mean_temperature
        Only for problems whose boundaries all prescribe the heat flux: the
        volume-mean temperature [K] that fixes the otherwise free constant. The
        sources must then balance the boundary flux (∫Q dx = ∮ g ds); the
        imbalance is reported as :class:`~femheat.errors.BoundaryConditionError`.

    Raises
    ------
    BoundaryConditionError
        If no boundary fixes the temperature level and no ``mean_temperature``
        is given, or if a given ``mean_temperature`` meets unbalanced fluxes.
    SolverError
        If Newton's method does not converge in ``max_iterations``.
    """
    return system.model.steady(system, mean_temperature=mean_temperature, tol=tol,
                               max_iterations=max_iterations)


def solve_linear_steady(system: MixedSystem, mean_temperature: float | None = None) -> State:
    """One linear steady solve A q − Bᵀ T = f, B q = F (no Landau quartic term).

    The steady entry point of the linear mixed models; see :func:`solve_steady`
    for ``mean_temperature`` and the errors.
    """
    reference = system.problem.has_temperature_reference
    if not reference and mean_temperature is None:
        raise BoundaryConditionError(
            "steady problem with only heat-flux boundaries: the temperature is "
            "determined only up to a constant; give one boundary a temperature or "
            "convection condition, pass mean_temperature, or run a transient"
        )
    if reference and mean_temperature is not None:
        raise BoundaryConditionError(
            "mean_temperature is only for problems whose boundaries all prescribe the "
            "heat flux; here a boundary already fixes the temperature")
    return _linear_steady(system, None, None, mean_temperature)


def _linear_steady(system: MixedSystem, A_full: sp.spmatrix | None,
                   extra_load: np.ndarray | None, mean_temperature: float | None) -> State:
    """One steady solve with flux block ``A_full`` (default A) and flux load f + ``extra_load``.

    Symmetric flux blocks use the augmented-Lagrangian (iterated penalty)
    method below; non-symmetric ones (thermal Hall) a scaled LU of the saddle
    point.
    """
    if A_full is not None:
        A = A_full if isinstance(A_full, RotationOperator) else sp.csr_matrix(A_full)
    elif system.symmetric and kept_rotation(system) is not None \
            and "resistance" not in vars(system):
        # the vorticity form, ω kept: A applied from A₀, C, M_ω (not formed for this)
        A = RotationOperator(system.resistance_base, *system.rotation)
    else:
        A = system.resistance
    try:
        if system.symmetric:
            return _augmented_lagrangian(system, A, extra_load, mean_temperature)
        return _saddle_lu(system, A, extra_load, mean_temperature)
    except SolverError as exc:  # name the input that may have made the system singular
        hint = suspicious_values(system.problem)
        if hint:
            raise SolverError(f"{exc}; {hint}") from exc
        raise


def _loads(system: MixedSystem, A: sp.csr_matrix, extra_load):
    free, ess = system.free_dofs, system.essential_dofs
    qd = system.essential_values(0.0)
    f = system.flux_load(0.0) if extra_load is None else system.flux_load(0.0) + extra_load
    block = A.block(free, ess) if isinstance(A, RotationOperator) else A[free][:, ess]
    rhs_q = f[free] - block @ qd  # (3D vorticity form: applied, A not formed)
    g = system.heat_load(0.0) - system.divergence[:, ess] @ qd  # B_free q = g
    return qd, rhs_q, g


def _volume_weights(tb) -> np.ndarray:
    """∫ s dx for every temperature basis function s (the mean-temperature constraint)."""
    return forms.heat_source.assemble(tb, source=np.ones(tb.dx.shape))


#: Quadrature order added to estimate the source's quadrature error (:func:`_check_balance`).
BALANCE_EXTRA_ORDER = 4


def source_quadrature_error(system: MixedSystem) -> float:
    """|∫Q dx by the system's quadrature − ∫Q dx by one BALANCE_EXTRA_ORDER orders higher|
    [W]: how far a source that balances analytically can miss the balance discretely (on
    a distorted or unstructured mesh ~1e-7 of the heat put in at the default order)."""
    problem, tb = system.problem, system.temperature_basis
    if problem.source is None:
        return 0.0
    from ..physics.conditions import evaluate  # as the system's heat_load evaluates Q

    fine = skfem.Basis(tb.mesh, tb.elem,
                       intorder=quadrature_order(problem.degree) + BALANCE_EXTRA_ORDER)
    Q = np.asarray(evaluate(problem.source, inner_points(fine), 0.0))
    high = float(system.forms.heat_source.assemble(fine, source=np.broadcast_to(
        Q, fine.dx.shape)).sum())
    return abs(high - float(system.heat_load(0.0).sum()))


def _check_balance(system: MixedSystem, imbalance: float, scale: float) -> None:
    """Refuse a pure-flux steady problem whose heat input does not balance: beyond
    1e-8 of the heat moved and beyond twice the source's quadrature error (a source that
    balances analytically is accepted on any mesh; the residue is then removed)."""
    if abs(imbalance) <= 1e-8 * scale + 1e-300:
        return
    allowed = 1e-8 * scale + 2.0 * source_quadrature_error(system)
    if abs(imbalance) > allowed:
        raise BoundaryConditionError(
            f"sources and prescribed boundary fluxes do not balance (residual "
            f"{imbalance:.3e} W, above the {allowed:.1e} W the source's quadrature can "
            "explain): with heat-flux conditions only, a steady state exists only if the "
            "heat put in equals the heat taken out")


def _is_diagonal(M: sp.spmatrix) -> bool:
    return M.nnz == M.shape[0] and np.all(sp.csr_matrix(M).indices == np.arange(M.shape[0]))


def _norm(x: np.ndarray) -> float:
    """Euclidean norm without BLAS: a threaded BLAS call per iteration costs more than
    the sum itself on a loaded machine (measured 25 ms per call with 2 threads)."""
    return math.sqrt(float(np.einsum("i,i->", x, x)))


#: Solves with K_r one steady solve takes (measured 4–6 augmented-Lagrangian iterations
#: on 2D MCV and GK channels, n = 50–180): the factorization is chosen for as many.
AL_SOLVES = 6


class AugmentedLagrangian:
    """Iterated penalty (Fortin & Glowinski) for A q − Bᵀ T = f, B q = g.

    K_r = A + r BᵀW⁻¹B (W the block-diagonal DG mass) is symmetric positive
    definite, so it gets the same fast symmetric factorization as the time
    stepper, once; every right-hand side then costs a few back-substitutions.
    Iterating in residual form,

        q ← q + K_r⁻¹ (f + BᵀT − A q + Bᵀ W_r (g − B q)),   T ← T + W_r (g − B q),

    with W_r = r W⁻¹, converges to round-off for every r > 0 (the residual form
    also refines away the conditioning of K_r = A + BᵀW_rB). The error of the
    smoothest temperature mode contracts by 1/(1 + μ), μ = r λ_min(W⁻¹BA⁻¹Bᵀ); as
    λ_min is ~(h/L)² smaller than the cell-scale ratio of the blocks, r is that
    ratio times n_T^(2/d) ~ (L/h)² and ρ. The temperature is
    then recovered from the flux equation, B Bᵀ T = B (A q − f), so that it is
    not polluted by the r·ε noise of its updates.

    Parameters
    ----------
    A
        Symmetric positive definite flux block (free flux DOFs only), sparse or (3D
        vorticity form) a :class:`~femheat.assembly.rotation.RotationOperator`.
    B
        Divergence block (n_T × n_q).
    W_inverse
        Inverse of the DG mass matrix (block diagonal).
    dim
        Spatial dimension (sets the n_T^(2/d) factor of the penalty).
    mean_weights
        ``∫ s dx`` of every temperature basis function, for problems in which Bᵀ
        annihilates constants (no temperature reference): the temperature is then
        fixed by its volume mean.
    temperature_solver
        A :meth:`temperature_solver` of an instance with the same ``B`` and
        ``mean_weights`` to reuse (its factorization does not depend on A).
    schur_diagonal
        mean diag(BᵀW⁻¹B), if known (it depends on B only: a resistance sweep
        computes it once); see :attr:`schur_diagonal`.
    rotation
        (A₀, C, M_ω) with A = A₀ + Cᵀ M_ω⁻¹ C (free DOFs; the GK vorticity form, M_ω a
        :class:`~femheat.assembly.rotation.VorticityMass`): K_r is then factorized as
        the augmented system of :func:`~femheat.solve.augmented.factorize_augmented`
        with K₀ = A₀ + r BᵀW⁻¹B.
    """

    def __init__(self, A: sp.spmatrix | RotationOperator, B: sp.spmatrix,
                 W_inverse: sp.spmatrix, *,
                 mean_weights: np.ndarray | None = None, rho: float = 1e2, dim: int = 2,
                 temperature_solver: Callable[[np.ndarray], np.ndarray] | None = None,
                 schur_diagonal: float | None = None,
                 rotation: tuple[sp.spmatrix, sp.spmatrix, VorticityMass] | None = None):
        unformed = isinstance(A, RotationOperator)  # applied from its factors (3D)
        self.A = A if unformed else sp.csr_matrix(A)
        diag_A = (A.base if unformed and not A.mass.lumped else self.A).diagonal()
        self.B = sp.csr_matrix(B)
        self.W_inverse = W_inverse
        self.mean_weights = mean_weights
        # One penalty r = ρ·(mean diag A)/(mean diag BᵀW⁻¹B)·(n_T)^(2/d): the first
        # factor balances the blocks cell by cell (∝ h²), the second lifts the
        # smoothest temperature mode, whose Schur eigenvalue is ~(h/L)² smaller,
        # so that every mode contracts by ~1/ρ per iteration.
        if schur_diagonal is None:
            schur_diagonal = float(np.mean(self.B.multiply(W_inverse.diagonal()[:, None])
                                           .multiply(self.B).sum(axis=0))) \
                if _is_diagonal(W_inverse) else \
                float(np.mean((self.B.T @ W_inverse @ self.B).diagonal()))
        self.schur_diagonal = schur_diagonal
        n_T = max(int(self.B.shape[0]), 1)
        self.r = r = rho * float(np.mean(diag_A)) / schur_diagonal \
            * n_T ** (2.0 / dim)
        self.W_penalty = (r * W_inverse).tocsr()
        self.BtW = (self.B.T @ self.W_penalty).tocsr()
        if rotation is None:
            self.solve_flux = factorize(self.A + self.BtW @ self.B, symmetric=True,
                                        solves=AL_SOLVES, ordering=ordering_for(dim))
        else:
            A0, C, mass = rotation
            self.solve_flux = factorize_augmented(A0 + self.BtW @ self.B, C, mass)
        self._temperature = temperature_solver
        self._absB = abs(self.B)

    def temperature_solver(self) -> Callable[[np.ndarray], np.ndarray]:
        """``solve(rhs)`` for B Bᵀ T = rhs; cached.

        Where Bᵀ annihilates constants (``mean_weights`` given), B Bᵀ is singular
        with the constants as null space and every right-hand side B(·) is
        orthogonal to them, so one temperature DOF is grounded and the symmetric
        factorization of the rest is used; :meth:`solve` then shifts the mean.
        """
        if self._temperature is None:
            BBt = (self.B @ self.B.T).tocsr()
            if self.mean_weights is None:
                self._temperature = factorize(BBt, symmetric=True)
            else:
                solve = factorize(BBt[1:, 1:], symmetric=True)
                self._temperature = lambda b: np.concatenate([[0.0], solve(b[1:])])
        return self._temperature

    def solve(self, f: np.ndarray, g: np.ndarray, mean_temperature: float = 0.0,
              max_iterations: int = 300, tol: float = 1e-14
              ) -> tuple[np.ndarray, np.ndarray, int]:
        """Solve for one right-hand side; returns (q, T, iterations).

        ``mean_temperature`` is used only with ``mean_weights``.
        """
        A, B, BtW, Wr = self.A, self.B, self.BtW, self.W_penalty
        q = np.zeros(A.shape[0])
        T = np.zeros(B.shape[0])
        previous = np.inf
        for k in range(1, max_iterations + 1):
            RT = g - B @ q
            dq = self.solve_flux(f + B.T @ T - A @ q + BtW @ RT)
            q += dq
            RT = g - B @ q
            T += Wr @ RT
            scale = _norm(self._absB @ np.abs(q)) + _norm(g) + 1e-300
            update = _norm(dq) / (_norm(q) + 1e-300)
            # converged: divergence satisfied and the update is at round-off (small, or
            # no longer shrinking once below 1e-9)
            if _norm(RT) <= 10 * tol * scale and (
                    update <= 1e-12 or (update <= 1e-9 and update > 0.5 * previous)):
                break
            previous = update
        else:
            raise SolverError(
                f"steady augmented-Lagrangian iteration did not converge in {max_iterations} "
                f"iterations (divergence residual {_norm(RT) / scale:.1e})")
        log.info("steady solve: %d augmented-Lagrangian iterations", k)
        # temperature from the flux equation: B Bᵀ T = B (A q − f)
        T = self.temperature_solver()(B @ (A @ q - f))
        if self.mean_weights is not None:
            w = self.mean_weights
            T += mean_temperature - float(w @ T) / float(w.sum())
        return q, T, k


def dg_mass_inverse(tb: skfem.CellBasis) -> sp.csr_matrix:
    """Inverse of the unit-weight mass matrix of a discontinuous space, cell by cell."""
    W = forms.capacity.assemble(tb, heat_capacity=np.ones(tb.dx.shape))
    return block_diagonal_inverse(W, tb.element_dofs)


def _augmented_lagrangian(system: MixedSystem, A: sp.csr_matrix, extra_load,
                          mean_temperature) -> State:
    """Steady solve of a symmetric system with :class:`AugmentedLagrangian`."""
    free = system.free_dofs
    tb = system.temperature_basis
    qd, rhs_q, g = _loads(system, A, extra_load)
    weights = None
    if mean_temperature is not None:  # all boundaries prescribe q·n: 1ᵀ B q = 0
        _check_balance(system, float(np.sum(g)), float(np.abs(g).sum()))
        weights = _volume_weights(tb)
        # B q has zero sum here, so the residue the check accepted (round-off, or the
        # source's quadrature error) is removed, spread as a uniform density; left in g,
        # the divergence residual could not fall below it and the iteration stalled
        g = g - weights * (float(np.sum(g)) / float(weights.sum()))
    rotation, kept = None, None
    if not isinstance(A, RotationOperator) and A is vars(system).get("resistance"):
        kept = kept_rotation(system)
    if kept is not None:  # the GK vorticity form: ω kept as an unknown
        C, mass = kept
        rotation = (system.resistance_base[free][:, free], C[:, free], mass)
    elif isinstance(A, RotationOperator):  # ω kept; or A₀ + J of a Newton step (3D)
        rotation = (A.base[free][:, free], A.C[:, free], A.mass)
    Af = A.block(free, free) if isinstance(A, RotationOperator) else A[free][:, free]
    al = AugmentedLagrangian(Af, system.divergence[:, free],
                             dg_mass_inverse(tb), mean_weights=weights,
                             dim=system.problem.regions.dim, rotation=rotation)
    q, T, _ = al.solve(rhs_q, g, 0.0 if mean_temperature is None else mean_temperature)
    out = np.zeros(system.n_flux)
    out[free] = q
    out[system.essential_dofs] = qd
    return State(0.0, T, out)


def _saddle_lu(system: MixedSystem, A: sp.csr_matrix, extra_load, mean_temperature) -> State:
    """Scaled LU of the saddle point with iterative refinement (non-symmetric A)."""
    K, free, ess, S = _saddle_point(system, A)
    qd, rhs_q, g = _loads(system, A, extra_load)
    b = S * np.concatenate([rhs_q, -g])
    if mean_temperature is not None:
        # Lagrange multiplier λ for ∫T dx = T̄ |Ω|; λ absorbs a flux imbalance
        vol = _volume_weights(system.temperature_basis)
        w = np.concatenate([np.zeros(free.size), S[free.size:] * vol])
        K = sp.bmat([[K, sp.csc_matrix(w[:, None])], [sp.csr_matrix(w[None, :]), None]],
                    format="csc")
        b = np.concatenate([b, [mean_temperature * vol.sum()]])
    solve = factorize(K, symmetric=False)
    y = solve(b)
    for _ in range(2):  # iterative refinement: the saddle point is indefinite
        y += solve(b - K @ y)
    if mean_temperature is not None:
        lam, y = y[-1], y[:-1]
        _check_balance(system, float(lam * vol.sum()),
                       float(np.abs(g).sum() + np.abs(system.divergence[:, ess] @ qd).sum()))
    x = S * y
    q = np.zeros(system.n_flux)
    q[free] = x[: free.size]
    q[ess] = qd
    return State(0.0, x[free.size:], q)


def consistent_flux(system: MixedSystem, temperature: np.ndarray, t: float) -> np.ndarray:
    """Fourier flux of a temperature field: solve A q = Bᵀ T + f(t) with q·n prescribed.

    This is the flux that makes the constitutive equation hold exactly at time
    t; time stepping starts Fourier runs from it so that Crank–Nicolson does not
    carry an inconsistent initial flux along as a (−1)ⁿ oscillation.
    """
    free, ess = system.free_dofs, system.essential_dofs
    A, G = system.resistance, system.gradient
    qd = system.essential_values(t)
    rhs = (G.T @ temperature + system.flux_load(t))[free] - A[free][:, ess] @ qd
    q = np.zeros(system.n_flux)
    q[free] = factorize(A[free][:, free], system.symmetric)(rhs)
    q[ess] = qd
    return q
