r"""Steady and transient solvers for nonlocal (kernel) heat conduction.

The operator is :class:`~femheat.kernels.operator.NonlocalOperator`: on P1
temperatures it applies the two-phase law (Eringen-type, seed 004 eq. 35)

.. math::

    q(r) = -\xi\,\kappa\nabla T(r) - (1-\xi)\int_\Omega Z(r,R)\,\nabla T(R)\,dR ,
    \qquad a(T,w) = \int_\Omega \nabla w\cdot(-q)\,dr ,

with ξ ∈ [0, 1] the local fraction. This module solves

* the steady problem  a(T, w) = (Q, w)  (:func:`solve_steady_nonlocal`), by
  preconditioned conjugate gradients on the applied operator -- never a
  matrix of the nonlocal part;
* the transient problem  (C ∂T/∂t, w) + a(T, w) = (Q, w), optionally with MCV
  memory on the flux, τ ∂q/∂t + q = q[T] (:class:`NonlocalTheta`,
  :func:`theta_steps_nonlocal`), by a θ-scheme whose per-step system is solved
  by conjugate gradients with a preconditioner factorized once.

Temperature conditions
----------------------
``temperature={name: value}`` fixes T (constant, or ``f(x)`` with ``x`` of
shape (d, n), metres) on the nodes of a named **boundary** or of a named
**subdomain**. Fixing T on a subdomain is the *volume constraint* of nonlocal
problems (Du, Gunzburger, Lehoucq & Zhou, SIAM Rev. 54, 667, 2012): a collar
at least ~4 kernel lengths wide around the region of interest carries the
exterior data that the kernel sees, so that truncating the kernel at the mesh
boundary does not perturb the solution inside. Unlisted boundaries are
insulated (natural condition: no heat crosses the mesh boundary). Dirichlet
nodes are eliminated.

Preconditioners
---------------
With symbols (per unit κ, wavenumber k) ĝ(k) of the radial kernel, the
operator has the symbol σ_A(k) = κk²(ξ + (1-ξ)ĝ(k)). Two spectrally motivated
preconditioners are offered, both factorized once:

``"local"``
    P = K_loc = (κ∇T, ∇w) (the Fourier stiffness). P⁻¹A has the symbol
    ξ + (1-ξ)ĝ(k) ∈ [ξ + (1-ξ) min ĝ, 1]: bounded for ξ > 0, but for ξ = 0 its
    condition number grows like (l/h)² for the Yukawa kernel.
``"gk"``
    P⁻¹ = K_loc⁻¹ + l_p² (κM_L)⁻¹, one Poisson solve plus one lumped-mass
    (diagonal) solve. Its symbol (1 + l_p²k²)/(κk²) is *exactly* the inverse of
    the Yukawa symbol κk²/(1 + l²k²) for l_p = l and ξ = 0 -- the steady
    Guyer-Krumhansl (β = 0) operator, seed 004 eq. 21 -- so the preconditioned
    spectrum is bounded under refinement. l_p is chosen by minimizing the
    symbol condition number of P⁻¹A over the mesh's wavenumber band.

``"auto"`` (default) picks the one with the smaller symbol condition number
over k ∈ [π/diam Ω, π√d/h] (measured iteration counts: see the module tests).

Ill-posedness
-------------
For ξ = 0 and a kernel whose symbol decays faster than k⁻², σ_A(k) → 0: the
steady problem is a first-kind integral equation (DESIGN "Numerical facts";
for the Gaussian kernel T̂ = Q̂ exp(a²k²/2)/(κk²)). Before solving, three numbers
are computed (:func:`assess_well_posedness`); ``check=False`` skips them:

* the *amplification* γ = max_{k ≤ k_h} σ_A(k) / σ_A(k_h) and the *grid response*
  ρ = ξ + (1-ξ)ĝ(k_h), with k_h = π√d/h the checkerboard mode of the mesh (h the
  mean edge length). γ = 1 for Fourier and Yukawa kernels (σ_A increases); for
  the Gaussian ρ = exp(-a²k_h²/2). When σ_A decreases (γ > 1) and ρ falls below
  the accuracy of the kernel quadrature (1e-3·``op.tol``; calibrated on
  Gaussian-kernel operators, whose generalized eigenvalues against K_loc were
  measured to go *negative* there: at a/h = 2 with tol = 1e-6 the smallest is
  -1.6e-9), the discrete operator is numerically singular and
  :class:`IllPosedError` is raised, naming the coarsest acceptable mesh; γ above
  ``ILL_CONDITIONED_AMPLIFICATION`` gives an :class:`IllConditionedWarning`;
* the *source width* σ_Q = sqrt(d ∫Q² / (2∫|∇Q|²)) (exact for Gaussian sources,
  also for several separated ones; small for sharp-edged sources). For a
  Gaussian kernel of length a, a Gaussian source with σ ≤ a has no steady
  solution (BENCHMARKS N3): σ_Q ≤ a raises :class:`IllPosedError`.

Transient problems are well posed for every ξ (the symbol C/Δt + θσ_A(k) is
bounded below), and are not checked.

Energy balance
--------------
Summing all nodal equations with w = 1 (G·1 = 0 for the cell gradient) gives
∫Q dV = Σ_Dirichlet H (steady) and d/dt ∫C T dV = ∫Q − Σ H (transient); the
heat flows H out of the Dirichlet regions are the reactions of their eliminated
rows. Both balances are reported; they close to the Krylov tolerance.

Modules: this one holds :func:`solve_steady_nonlocal` and re-exports the rest:
:mod:`femheat.kernels.well_posedness` (:func:`assess_well_posedness`),
:mod:`femheat.kernels.krylov` (conjugate gradients, preconditioner choice,
:class:`SolveReport`), :mod:`femheat.kernels.transient` (:class:`NonlocalTheta`,
:func:`theta_steps_nonlocal`) and :mod:`femheat.kernels.solver_base` (errors,
symbols, loads, temperature conditions).
"""

from __future__ import annotations

import logging
from typing import Mapping, Optional

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from ..errors import BoundaryConditionError, FemheatInputError
from ..solve.steady import factorize
from ..validation import finite_array
from .krylov import (PRECONDITIONERS, SolveReport, _choose_preconditioner, _kappa_nodal,
                     _MeanFree, _pcg, _restrict)
from .solver_base import (IllConditionedWarning, IllPosedError, Source, Value, _dirichlet,
                          _load, _regularization, _unit_forms)
from .transient import NonlocalTheta, theta_steps_nonlocal
from .well_posedness import ILL_CONDITIONED_AMPLIFICATION, WellPosedness, assess_well_posedness

__all__ = [
    "IllPosedError",
    "IllConditionedWarning",
    "WellPosedness",
    "SolveReport",
    "assess_well_posedness",
    "solve_steady_nonlocal",
    "NonlocalTheta",
    "theta_steps_nonlocal",
    "PRECONDITIONERS",
    "ILL_CONDITIONED_AMPLIFICATION",
]

log = logging.getLogger(__name__)


# ==================================================================== steady
def solve_steady_nonlocal(
        op, *, source: Source = None, temperature: Optional[Mapping[str, Value]] = None,
        mean_temperature: Optional[float] = None, preconditioner: str = "auto",
        tol: float = 1e-11, max_iterations: int = 2000, check: bool = True,
        initial_guess: Optional[ArrayLike] = None,
        regularization: float = 0.0) -> tuple[np.ndarray, SolveReport]:
    r"""Solve the steady nonlocal problem a(T, w) = (Q, w) for the P1 temperature.

    With ``regularization`` ε > 0 it solves the Tikhonov-regularized problem
    a(T, w) + ε(κ∇T, ∇w) = (Q, w) instead. For a pure smoothing kernel (ξ = 0) the
    steady problem is a first-kind equation: grid-scale modes see the fraction
    ĝ(k_h) of κ, and O(h²) consistency errors that reach them through the boundary of
    the temperature region are amplified by 1/ĝ(k_h) (measured: refining a Gaussian
    problem below h ≈ 0.8a makes the error *grow*). ε bounds that amplification by
    1/ε, at the price of a bias −ε/(ĝ(k) + ε) in each resolved mode k (the mode's
    symbol ĝ becomes ĝ + ε): for a Gaussian source of width σ and kernel length a
    the bias in T is O(ε) when σ² > 2a² (reported as
    ``report.well_posedness.regularization_bias``). ε = 1e-4 makes the N3 benchmark
    converge under refinement (tests/test_kernels_physics.py). It is the same form
    as a local fraction, ε ≈ ξ, without the (1 − ξ) reweighting of the kernel.

    Parameters
    ----------
    op
        :class:`~femheat.kernels.operator.NonlocalOperator` (two-phase law with
        local fraction ξ = ``op.local_fraction``).
    source
        Volumetric source Q [W m⁻³]: constant, callable ``f(x)`` (x of shape
        (d, ...), metres), n nodal values or one value per cell.
    temperature
        Region name -> T [K] (constant or ``f(x)``, x of shape (d, n)). A region
        is a boundary (its nodes) or a subdomain (all its nodes: a volume
        constraint). Other boundaries are insulated.
    mean_temperature
        Only without temperature regions (insulated or periodic): the
        volume-mean temperature [K]; ∫Q dV must then vanish.
    preconditioner
        ``"auto"``, ``"local"`` or ``"gk"`` (module docstring).
    tol
        Relative residual of conjugate gradients.
    max_iterations
        Iteration limit; :class:`~femheat.errors.SolverError` beyond it.
    check
        Run :func:`assess_well_posedness` first (default).
    initial_guess
        Optional starting temperature (length n).
    regularization
        Tikhonov weight ε ∈ [0, 0.1] (dimensionless), see above; 0 (default) solves
        the unregularized problem.

    Returns
    -------
    T : ndarray
        Nodal temperatures [K] on ``op.basis``.
    report : SolveReport
        Iterations, residual, preconditioner, energy balance, diagnosis.

    Raises
    ------
    IllPosedError
        For a first-kind (pure smoothing kernel) setup with no stable solution.
    BoundaryConditionError
        If the temperature level is undetermined, or the source of an insulated
        problem does not integrate to zero.
    SolverError
        If conjugate gradients do not converge.
    """
    n = op.basis.N
    eps = _regularization(regularization)
    b = _load(op, source)
    diag = assess_well_posedness(op, load=b, regularization=eps) if check else None
    fixed, values, owners = _dirichlet(op, temperature)
    K1, M = _unit_forms(op.basis)
    lumped = np.asarray(M.sum(axis=1)).ravel()
    name, lp, c_sym = _choose_preconditioner(op, preconditioner, eps)
    Kloc = op.local_stiffness().tocsr()
    if eps > 0:
        def apply(x):
            return op.apply(x) + eps * (Kloc @ x)
    else:
        apply = op.apply
    T = np.zeros(n)
    if initial_guess is not None:
        T = finite_array(initial_guess, "initial_guess").copy()
        if T.shape != (n,):
            raise FemheatInputError(f"initial_guess must have {n} values, got {T.shape}")
    heat = float(b.sum())
    if fixed.size == 0:
        if mean_temperature is None:
            raise BoundaryConditionError(
                "steady nonlocal problem without a temperature region: T is determined "
                "only up to a constant; fix T on a boundary or subdomain, or pass "
                "mean_temperature")
        scale = float(np.abs(b).sum()) + 1e-300
        if abs(heat) > 1e-8 * scale:
            raise BoundaryConditionError(
                f"insulated/periodic steady problem with net heat input {heat:.3e} W: a "
                "steady state exists only if the source integrates to zero")
        proj = _MeanFree(lumped)
        rhs = proj.dual(b)
        reg = Kloc + (1e-10 * Kloc.diagonal().mean() / lumped.mean()) * sp.diags(lumped)
        solveK = factorize(reg, symmetric=True)
        kap = _kappa_nodal(op, K1)
        if name == "gk":
            def precond(r):
                r = proj.dual(r)
                return proj.field(solveK(r) + lp**2 * r / (kap * lumped))
        else:
            def precond(r):
                return proj.field(solveK(proj.dual(r)))
        Tf, its, cond = _pcg(apply, rhs, precond, proj.field(T), tol, max_iterations,
                             "steady nonlocal solve")
        Tf = proj.field(Tf)
        w = lumped / lumped.sum()
        T = Tf + (float(mean_temperature) - float(w @ Tf))
        resid = rhs - apply(T)
        report = SolveReport(its, float(np.linalg.norm(resid) / (np.linalg.norm(rhs) + 1e-300)),
                             name, lp, cond, c_sym, heat, {}, abs(heat) / scale, [its], diag)
        return T, report
    free = np.setdiff1d(np.arange(n), fixed)
    if free.size == 0:
        raise BoundaryConditionError("every node has a prescribed temperature; nothing to solve")
    lift = np.zeros(n)
    lift[fixed] = values
    rhs = (b - apply(lift))[free]
    solveK = factorize(Kloc[free][:, free], symmetric=True)
    if name == "gk":
        kap = _kappa_nodal(op, K1)[free]
        mf = lumped[free]

        def precond(r):
            return solveK(r) + lp**2 * r / (kap * mf)
    else:
        precond = solveK
    mv = _restrict(apply, n, free)
    x0 = T[free] if initial_guess is not None else np.zeros(free.size)
    xf, its, cond = _pcg(mv, rhs, precond, x0, tol, max_iterations, "steady nonlocal solve")
    T = lift.copy()
    T[free] = xf
    AT = apply(T)
    reaction = b - AT  # heat flowing out through each node's region (W)
    resid = reaction[free]
    flows = {nm: float(reaction[d].sum()) for nm, d in owners.items()}
    total = sum(flows.values())
    balance = abs(heat - total) / (abs(heat) + sum(abs(v) for v in flows.values()) + 1e-300)
    report = SolveReport(its, float(np.linalg.norm(resid) / (np.linalg.norm(rhs) + 1e-300)),
                         name, lp, cond, c_sym, heat, flows, balance, [its], diag)
    log.info("steady nonlocal solve: %d CG iterations (%s), residual %.1e, balance %.1e",
             its, name, report.residual, balance)
    return T, report
