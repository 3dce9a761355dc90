r"""Iterative, block-preconditioned solves for large (3D) problems.

Direct factorizations of 3D H(div) systems fill in quickly. This path never
factorizes a large matrix: it runs MINRES on the *unreduced* symmetric systems

steady:     [[A, −Bᵀ], [−B, 0]]                  (q, T)
transient:  [[M/Δt + θA, −θBᵀ], [−θB, −C/Δt]]    (one θ-step)

written [[P, −cBᵀ], [−cB, −D]], preconditioned by the block-diagonal, symmetric
positive definite

.. math::

    \mathcal P^{-1} = \operatorname{diag}(\hat P^{-1},\; \hat S^{-1})

(block-diagonal preconditioning of saddle-point systems: Mardal & Winther,
"Preconditioning discretizations of systems of partial differential equations",
Numer. Linear Algebra Appl. 18, 2011). MINRES needs a symmetric positive
definite preconditioner; both blocks below are (the smoothers are applied as a
forward sweep, then a backward one).

**Temperature (Schur) block, Cahouet–Chabard type.** The Schur complement
S = D + c²B P⁻¹Bᵀ is approximated by the sum of the inverses of its two limits,

.. math::

    \hat S^{-1} = \mathrm{AMG}\big(D + c^2 B\, \tilde P_m^{-1} B^T\big)^{-1}
                + \big(D + c^2 W / (\theta\, b\, \nu)\big)^{-1},

the Darcy/MCV limit (P mass-like: P_m = M/Δt + θ(κ⁻¹q, v), P̃_m⁻¹ its inverse
by facet blocks, which keeps B P̃_m⁻¹Bᵀ as sparse as a DG Laplacian; one
smoothed-aggregation V-cycle) plus the Stokes-like limit of GK (P ≈ θ b ν times
a vector Laplacian on gradient fields, ν = l²/κ per cell, b = 1 + β (+ α, see
below), W the DG mass: inverted exactly cell by cell; absent where l = 0).
Cahouet & Chabard, Int. J. Numer. Meth. Fluids 8 (1988); Mardal, Tai &
Winther, SIAM J. Numer. Anal. 40 (2002) and Mardal & Winther (2011) for its
robustness in Darcy–Stokes (Brinkman) problems. Measured on 3D GK (BDM1 × P0,
η = 1) with an exact flux solve: the preconditioned Schur complement has a
condition number ≈ 7.6 for β = 2 and ≈ 22–25 for β = 0, from l/h ≈ 0.05 to
16; the spread is the discrete inf-sup constant of the tangential interior
penalty (≈ 1/η, :mod:`femheat.assembly.gk`).

**Steady GK: grad-div augmentation** (``grad_div`` = α, default 10): the flux
equation gains α l²/κ (∇·q, ∇·v) and the consistent load, an exact
augmented-Lagrangian step (the solution is unchanged, see
:func:`solve_steady_iterative`). It divides the β = 0 counts by ~2.5 and the
β = 2 counts by ~1.6, as the Schur complement of the augmented system is
closer to the mass matrix. Not used in θ-steps (there the energy balance
carries C/Δt T and the augmentation would break the symmetry); their counts
are lower anyway.

**Flux block.** Two choices (``flux_preconditioner``):

* ``"amg"``: one smoothed-aggregation V-cycle on P. Robust for Fourier/MCV
  (P is an H(div) mass-like matrix plus Kapitza/convection terms), *not* for
  GK: the interior-penalty viscous term ν(∇q, ∇v) + SIP has a near-kernel of
  smooth, tangentially continuous fields that aggregation on the H(div) DOFs
  does not see; the counts grow with l/h (3D: 221, 437, 595 at l/h = 0.2,
  0.4, 0.6).
* ``"auxiliary"``: one symmetric two-level auxiliary-space cycle (Xu, "The
  auxiliary space method and optimal multigrid preconditioning techniques for
  unstructured grids", Computing 56, 1996; for interior-penalty DG: Dobrev,
  Lazarov, Vassilevski & Zikatanov, Numer. Linear Algebra Appl. 13, 2006; for
  H(div)-DG Stokes/Brinkman in the same spirit as Hong, Kraus, Xu & Zikatanov,
  Numer. Math. 132, 2016). Continuous piecewise-linear vector fields are a
  subspace of BDM1, RT of order 1 and BDM2, so the auxiliary space V_c = P1ᵈ
  (minus the normal directions at vertices of walls with a prescribed normal
  flux) embeds exactly, Π: V_c → V_h (:func:`p1_embedding`). BDM2 (GK degree 1)
  holds complete P2, and there V_c = P2ᵈ (:func:`p2_embedding`, the default
  ``auxiliary_space="auto"``; the normal directions dropped per node are read
  from Π's rows of the fixed DOFs, :func:`_embedding_frames`): with P1ᵈ, a small
  part of BDM2, the cell smoother had to do more and the counts were 2-3× those
  of BDM1 (2D, l = 0.2, n = 8-32: steady 108-115, Crank–Nicolson 86-110); with
  P2ᵈ they are 32-67 and 28-48 (bounded to n = 64), and 3D (β = 2, l = 0.5, n = 3-8,
  rtol 1e-12) 62-90 / 43-53 against 176-226 / 122-187
  (``benchmarks/bench_gk_auxiliary.py``). With an exact coarse
  solve the 2D steady count would be ~30: the rest is smoothed aggregation on the
  P2 vector Laplacian with the grad-div augmentation. One application is

  .. math::

      x \leftarrow \mathrm{Sm}^{\to}(0, r);\quad
      x \leftarrow x + \Pi\,\mathrm{AMG}(\Pi^T P\, \Pi)^{-1}\Pi^T (r - P x);\quad
      x \leftarrow \mathrm{Sm}^{\leftarrow}(x, r).

  The smoother Sm is a multiplicative overlapping Schwarz sweep over cells
  (each cell's flux DOFs solved exactly, ``smoother="cell"``) or block
  Gauss–Seidel by facet (``"facet"``: cheaper per sweep, about 2x the
  iterations). It removes what P1ᵈ cannot represent (tangential jumps, paid for
  by the penalty σν/h). The Galerkin operator Πᵀ P Π is a conforming vector
  Laplacian (+ mass, + grad-div, + Nitsche walls), written in a normal/tangent
  frame per vertex so that it keeps d × d vertex blocks; smoothed aggregation
  (block form, evolution strength, energy-minimizing prolongation, the d
  constant fields as near-nullspace) solves it at a bounded cost. A bounded
  grad-div term needs no special (Arnold–Falk–Winther) smoother:
  |∇·q|² ≤ d|∇q|², so it is spectrally dominated by the viscous term.

``flux_preconditioner="auto"`` (default) takes ``"auxiliary"`` when some
material has l > 0 under the GK model and ``"amg"`` otherwise.

Measured (3D unit cube, BDM1 × P0, ``benchmarks/bench_gk_iterative.py``,
``benchmarks/README.md``): the steady GK counts stay at 43–55 (β = 0 and 2, l/h
from 1 to 8, n = 4 to 14, i.e. 40x more unknowns; also 43–54 for l/h from 0.2 to
16), against 461–1396 and growing with the former AMG flux block; at n = 14 (119k
unknowns) the solve takes 6 s against 146 s direct. Backward-Euler steps take
29–62 (flat at l/h = 8; slowly growing towards the non-augmented steady counts at
l/h = 1, as the Schur complement leaves the C/Δt-dominated regime). The counts
grow with the penalty η (≈ 85 at η = 4, ≈ 140 at η = 16; still h-independent).
The GK vorticity form (:mod:`femheat.assembly.vorticity`) takes the same path: in 2D
its formed operator; in 3D, where A = A₀ + Cᵀ M_ω⁻¹ C is not formed, MINRES applies
it through the kept M_ω and the flux preconditioner is built from A₀ + Cᵀ B C, B
the inverse of M_ω's blocks on each edge, face and cell
(:meth:`~femheat.assembly.rotation.VorticityMass.block_inverse`; spectrally
equivalent to M_ω⁻¹): T given on two faces (open boundaries, the gradient energy's
conditions since 2026-12-06), rtol 1e-12, steady 74 / 81 / 87 iterations at degree 0
(BDM1 with the second-order Nédélec vorticity, n = 4 / 6 / 8) and 69 / 77 / 88 / 91 at
degree 1 (BDM2 with the third-order one, n = 2 / 3 / 4 / 6), Crank–Nicolson steps
64–68 and 71–93 (``tests/test_gk_vorticity_3d*.py``). Before, with ω = 0 on the faces
that heat crosses and, at degree 1, a vorticity mass integrated by scikit-fem's
tetrahedral rule of order 6 (exact to degree 5 only, for a mass of degree 6), they were
340–367 (rtol 1e-12) and 517–1122 (1e-10; degree 1 then refused). In 2D 52–64 (degree 0) and
51–84 (degree 1, P2ᵈ space) from n = 8 to 32, with the vertex / edge blocks of the P2 /
P3 mass (the diagonal gives nearly the same: 52 / 56 and 53 / 76 at n = 8 / 16).
Known limitations: Kapitza interfaces declared ``tangential="free"`` leave
a tangential discontinuity that the continuous auxiliary space does not
represent (the solver converges, but the counts are not guaranteed to stay
bounded); the iterative path is for symmetric κ and linear problems.

The auxiliary-space flux preconditioner lives in :mod:`femheat.solve.auxiliary`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, minres

from ..assembly import forms
from ..assembly.rotation import RotationOperator
from ..errors import BoundaryConditionError, FemheatInputError, SolverError
from ..assembly.system import MixedSystem, block_diagonal_inverse
from .auxiliary import (_AuxiliarySpace, _amg, _auxiliary_degree, _block_size,  # noqa: F401
                        _blocks_aligned, _facet_block_inverse, p1_embedding, p2_embedding)
from .steady import State
from .timestepping import ThetaScheme

__all__ = ["IterativeReport", "solve_steady_iterative", "IterativeThetaScheme",
           "FLUX_PRECONDITIONERS", "SMOOTHERS", "AUXILIARY_SPACES", "p1_embedding",
           "p2_embedding"]

log = logging.getLogger(__name__)

#: Accepted values of ``flux_preconditioner`` (see the module docstring).
FLUX_PRECONDITIONERS = ("auto", "auxiliary", "amg")

#: Accepted values of ``smoother`` of the auxiliary-space cycle.
SMOOTHERS = ("cell", "facet")

#: Accepted values of ``auxiliary_space``: continuous P1ᵈ or P2ᵈ ("auto": P2ᵈ when the
#: flux space holds complete P2, i.e. BDM2, else P1ᵈ).
AUXILIARY_SPACES = ("auto", "p1", "p2")


@dataclass
class IterativeReport:
    """MINRES iteration counts of every solve, the flux preconditioner used, the
    grad-div augmentation α of a steady GK solve (0: none) and the auxiliary space
    ("p1", "p2"; "" without one)."""

    iterations: list[int] = field(default_factory=list)
    flux_preconditioner: str = ""
    grad_div: float = 0.0
    auxiliary_space: str = ""


# ------------------------------------------------------------ block solver
class _BlockSolver:
    """MINRES on [[P, −c Bᵀ], [−c B, −D]] with the block-diagonal preconditioner
    diag(P̂, Ŝ) of the module docstring."""

    def __init__(self, system: MixedSystem, P: sp.spmatrix, Pm: sp.spmatrix, c: float,
                 D: sp.spmatrix, theta: float, rtol: float, maxiter: int,
                 flux_preconditioner: str, sweeps: int, smoother: str,
                 stokes_factor: float, auxiliary: str = "auto",
                 operator: Optional[Callable[[np.ndarray], np.ndarray]] = None):
        """``P`` builds the flux preconditioner; ``operator`` (q ↦ P_true q) is the flux
        block MINRES applies when it differs from ``P`` (the 3D vorticity form: P with
        M_ω⁻¹ replaced by its block inverse, spectrally equivalent)."""
        free = system.free_dofs
        P, D = sp.csr_matrix(P), sp.csr_matrix(D)
        B = sp.csr_matrix(system.divergence[:, free])
        d = _block_size(system)
        aligned = _blocks_aligned(system)
        self.n = P.shape[0]
        if operator is None:
            self.K = sp.bmat([[P, -c * B.T], [-c * B, -D]], format="csr")
        else:
            n, cB = self.n, c * B

            def apply(x):
                q, T = x[:n], x[n:]
                return np.concatenate([operator(q) - cB.T @ T, -(cB @ q) - D @ T])
            self.K = LinearOperator((n + B.shape[0],) * 2, matvec=apply, dtype=float)
        S = (D + (c * c) * (B @ _facet_block_inverse(sp.csr_matrix(Pm), d, aligned) @ B.T)).tocsr()
        self.flux_preconditioner = flux_preconditioner
        self.auxiliary_space = ""
        if flux_preconditioner == "auxiliary":
            self._P = _AuxiliarySpace(system, P, sweeps, smoother, auxiliary)
            self.auxiliary_space = f"p{self._P.degree}"
        else:
            self._P = _amg(P)
        self._S = _amg(S)
        self._V = None
        nu = _viscosity(system)
        if nu is not None:
            tb = system.temperature_basis
            weight = (c * c) / (theta * _floored(stokes_factor * nu))
            V = D + forms.capacity.assemble(tb, heat_capacity=weight)
            self._V = block_diagonal_inverse(V, tb.element_dofs)
        self.rtol, self.maxiter = rtol, maxiter
        m = S.shape[0]
        self.M = LinearOperator((self.n + m, self.n + m), matvec=self._precondition,
                                dtype=float)

    def _precondition(self, x):
        x = np.ravel(x)
        y = self._S(x[self.n:])
        if self._V is not None:
            y = y + self._V @ x[self.n:]
        return np.concatenate([self._P(x[: self.n]), y])

    def solve(self, b: np.ndarray, x0: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        count = [0]

        def callback(_):
            count[0] += 1

        x, info = minres(self.K, b, x0=x0, M=self.M, rtol=self.rtol, maxiter=self.maxiter,
                         callback=callback)
        if info != 0 or not np.all(np.isfinite(x)):
            raise SolverError(
                f"MINRES did not reach rtol = {self.rtol:g} in {self.maxiter} iterations "
                f"(block-preconditioned iterative solver, flux preconditioner "
                f"{self.flux_preconditioner!r})")
        return x, count[0]


def _floored(weight: np.ndarray) -> np.ndarray:
    """A viscosity-like weight floored at 1e-8 of its largest value: where ν = l²/κ
    vanishes inside a material (an l ∝ distance to a wall) its reciprocal in the
    preconditioner's and the augmentation's cell blocks stays bounded, so they stay
    invertible (with 1e-300 a tetrahedral rule's point on the wall made them singular).
    Both are exact for any positive weight: the solution does not depend on it."""
    return np.maximum(weight, 1e-8 * float(np.max(weight)))


def _viscosity(system: MixedSystem) -> np.ndarray | None:
    """ν = l²/κ at the quadrature points (GK with some l > 0), else None; for an
    anisotropic κ the isotropic part l² tr(κ⁻¹)/d."""
    ell = system.fields.nonlocal_length
    if not system.model.viscous or not np.any(ell > 0):
        return None
    kinv = system.fields.resistivity
    return ell**2 * (kinv[0, 0] if system.fields.isotropic else np.trace(kinv) / kinv.shape[0])


def _mass_part(system: MixedSystem, dt: float | None, theta: float) -> sp.csr_matrix:
    """Mass-like part of the flux block, M/Δt + θ(κ⁻¹q, v), on the free DOFs."""
    qb = system.flux_basis
    R = system.forms.flux_mass.assemble(qb, kinv=system.fields.resistivity_coefficient)
    Pm = theta * R + (system.inertia / dt if dt else 0.0)
    free = system.free_dofs
    return sp.csr_matrix(Pm)[free][:, free]


def _options(system: MixedSystem, rtol, maxiter, flux_preconditioner, sweeps,
             smoother, grad_div=0.0, auxiliary_space="auto") -> str:
    """Validate the solver options; return the resolved flux preconditioner."""
    problem = system.problem
    if auxiliary_space not in AUXILIARY_SPACES:
        raise FemheatInputError(
            f"auxiliary_space = {auxiliary_space!r} is unknown; choose one of "
            f"{', '.join(AUXILIARY_SPACES)}")
    if auxiliary_space == "p2" and _auxiliary_degree(system) != 2:
        raise FemheatInputError(
            "auxiliary_space = 'p2' needs a flux space holding complete P2 (BDM2: the gk "
            "model at degree 1); use 'p1' or 'auto'")
    if not (isinstance(grad_div, (int, float)) and np.isfinite(grad_div) and grad_div >= 0):
        raise FemheatInputError(f"grad_div = {grad_div!r} must be a finite number >= 0")
    if not (isinstance(rtol, (int, float)) and np.isfinite(rtol) and 0 < rtol < 1):
        raise FemheatInputError(f"rtol = {rtol!r} must be a number in (0, 1)")
    if not (isinstance(maxiter, (int, np.integer)) and maxiter >= 1):
        raise FemheatInputError(f"maxiter = {maxiter!r} must be a positive integer")
    if not (isinstance(sweeps, (int, np.integer)) and sweeps >= 1):
        raise FemheatInputError(f"sweeps = {sweeps!r} must be a positive integer")
    if smoother not in SMOOTHERS:
        raise FemheatInputError(
            f"smoother = {smoother!r} is unknown; choose one of {', '.join(SMOOTHERS)}")
    if flux_preconditioner not in FLUX_PRECONDITIONERS:
        raise FemheatInputError(
            f"flux_preconditioner = {flux_preconditioner!r} is unknown; choose one of "
            f"{', '.join(FLUX_PRECONDITIONERS)}")
    if flux_preconditioner == "auto":
        gk = system.model.viscous and np.any(system.fields.nonlocal_length > 0)
        return "auxiliary" if gk else "amg"
    return flux_preconditioner


def _flux_block(system: MixedSystem):
    """(A as a sparse matrix, the unformed operator or None): the system's flux block;
    for the 3D vorticity form (:class:`~femheat.assembly.rotation.RotationOperator`)
    the sparse, spectrally equivalent A₀ + Cᵀ B C (B = M_ω's block inverse) the preconditioners are
    built from, and the operator MINRES applies (the true A)."""
    A = system.resistance
    if not isinstance(A, RotationOperator):
        return A.tocsr(), None
    return (A.base + A.C.T @ A.mass.block_inverse() @ A.C).tocsr(), A


def _kept_operator(system: MixedSystem, P: sp.csr_matrix, approx: sp.csr_matrix,
                   unformed, theta: float):
    """q ↦ the true flux block on the free DOFs: ``P``, built from :func:`_flux_block`'s
    sparse ``approx``imation, with θ (A_approx − A) removed (None where A is formed)."""
    if unformed is None:
        return None
    free = system.free_dofs
    true = unformed.block(free, free)
    base = (P - theta * approx[free][:, free]).tocsr()
    return lambda q: base @ q + theta * (true @ q)


def solve_steady_iterative(system: MixedSystem, rtol: float = 1e-10,
                           maxiter: int = 2000, flux_preconditioner: str = "auto",
                           sweeps: int = 1, smoother: str = "cell",
                           grad_div: float = 10.0, auxiliary_space: str = "auto"
                           ) -> tuple[State, IterativeReport]:
    r"""Steady solve by block-preconditioned MINRES (no factorization of large matrices).

    Solves [[A, −Bᵀ], [−B, 0]] (q, T) = (f, −F) on the free flux DOFs; see the
    module docstring for the preconditioner. Needs a boundary that fixes the
    temperature level; symmetric, linear problems only.

    GK (some l > 0): the flux equation is augmented by the energy balance,

    .. math::

        (A + B^T W_\gamma^{-1} B)\, q - B^T T = f + B^T W_\gamma^{-1} F ,
        \qquad W_\gamma = (\gamma^{-1} T, s),\ \gamma = \alpha\, l^2/\kappa ,

    which has the same solution (Bq = F), an augmented-Lagrangian step (Fortin &
    Glowinski 1983; Benzi & Olshanskii, SIAM J. Sci. Comput. 28, 2006). As
    ∇·q_h lies in the temperature space, Bᵀ W_γ⁻¹ B is exactly the grad-div
    form (γ ∇·q, ∇·v): the system becomes GK with β + α in place of β, whose
    Schur complement is closer to the mass matrix, (B A_γ⁻¹ Bᵀ)⁻¹ = S⁻¹ + W_γ⁻¹.
    Measured (3D cube, l/h = 0.2 to 16): 43–54 MINRES iterations at α = 10
    against 71–134 at α = 0; α ≈ 10–20 is the sweet spot (at α = 64 the
    flux block, whose near-kernel then includes divergence-free fields, starts
    to cost iterations again).

    Parameters
    ----------
    rtol
        MINRES tolerance on the preconditioned residual, relative to the right-hand side.
    maxiter
        Iteration limit; :class:`~femheat.errors.SolverError` if reached.
    flux_preconditioner
        ``"auto"`` (``"auxiliary"`` for GK with l > 0, else ``"amg"``),
        ``"auxiliary"`` or ``"amg"``.
    sweeps
        Smoothing sweeps before and after the auxiliary-space correction.
    smoother
        ``"cell"``: multiplicative overlapping Schwarz on the flux DOFs of each
        cell (default); ``"facet"``: block Gauss–Seidel, one block per facet
        (cheaper per sweep, about 3x more MINRES iterations at one sweep).
    grad_div
        α of the augmentation above (GK only; 0 switches it off).
    auxiliary_space
        ``"auto"`` (continuous P2ᵈ for BDM2, i.e. GK at degree 1, else P1ᵈ), ``"p1"``
        or ``"p2"``: the auxiliary space of the ``"auxiliary"`` flux preconditioner.
    """
    kind = _options(system, rtol, maxiter, flux_preconditioner, sweeps, smoother, grad_div,
                    auxiliary_space)
    if not system.problem.has_temperature_reference:
        raise BoundaryConditionError(
            "the iterative steady solver needs a temperature or convection boundary "
            "(the temperature level is otherwise undetermined)")
    if not system.symmetric or np.any(system.fields.cubic > 0):
        raise SolverError("the iterative solver handles symmetric, linear problems only")
    free, ess = system.free_dofs, system.essential_dofs
    A, unformed = _flux_block(system)
    B = system.divergence.tocsr()
    qd = system.essential_values(0.0)
    zero = sp.csr_matrix((system.n_temperature, system.n_temperature))
    lift = A[free][:, ess] if unformed is None else unformed.block(free, ess)
    rhs_q = system.flux_load(0.0)[free] - lift @ qd
    g = system.heat_load(0.0) - B[:, ess] @ qd
    Af = A[free][:, free]
    nu = _viscosity(system)
    alpha = float(grad_div) if nu is not None else 0.0
    if alpha > 0:
        tb = system.temperature_basis
        Wg = block_diagonal_inverse(forms.capacity.assemble(
            tb, heat_capacity=1.0 / _floored(alpha * nu)), tb.element_dofs)
        Bf = B[:, free]
        Af = (Af + Bf.T @ Wg @ Bf).tocsr()
        rhs_q = rhs_q + Bf.T @ (Wg @ g)
    # D = 0: the Schur block B P̃_m⁻¹ Bᵀ is SPD with a temperature boundary
    solver = _BlockSolver(system, Af, _mass_part(system, None, 1.0), 1.0,
                          zero, 1.0, rtol, maxiter, kind, sweeps, smoother,
                          1.0 + system.problem.beta + alpha, auxiliary_space,
                          _kept_operator(system, Af, A, unformed, 1.0))
    x, its = solver.solve(np.concatenate([rhs_q, -g]))
    q = np.zeros(system.n_flux)
    q[free], q[ess] = x[: free.size], qd
    log.info("iterative steady solve: %d MINRES iterations (%s flux preconditioner)",
             its, kind)
    return State(0.0, x[free.size:], q), IterativeReport([its], kind, alpha,
                                                         solver.auxiliary_space)


class IterativeThetaScheme:
    """θ-scheme whose steps are solved by block-preconditioned MINRES.

    Same equations and results as :class:`~femheat.solve.timestepping.ThetaScheme`
    (to the solver tolerance); the preconditioner (module docstring, with
    P = M/Δt + θA, c = θ, D = C/Δt) is built once per Δt and every step is
    warm-started from the previous state. ``report.iterations`` holds the
    iteration count of each step. Options as :func:`solve_steady_iterative`.
    """

    def __init__(self, system: MixedSystem, dt: float, theta: float = 0.5,
                 rtol: float = 1e-10, maxiter: int = 2000,
                 flux_preconditioner: str = "auto", sweeps: int = 1,
                 smoother: str = "cell", auxiliary_space: str = "auto"):
        dt, theta = ThetaScheme._validate(system, dt, theta)
        kind = _options(system, rtol, maxiter, flux_preconditioner, sweeps, smoother,
                        auxiliary_space=auxiliary_space)
        if not system.symmetric:
            raise SolverError("the iterative solver handles symmetric problems only")
        self.system, self.dt, self.theta = system, float(dt), float(theta)
        free = system.free_dofs
        A, unformed = _flux_block(system)
        P = (system.inertia / dt + theta * A).tocsr()
        self._free = free
        ess = system.essential_dofs
        # the lifting of prescribed fluxes, (M/Δt + θA)[free, ess], with the true A
        self._P_fe = P[free][:, ess]
        if unformed is not None:
            inertia, rotation = (system.inertia / dt)[free][:, ess].tocsr(), \
                unformed.block(free, ess)
            self._P_fe = LinearOperator(
                (free.size, ess.size), dtype=float,
                matvec=lambda x: inertia @ x + theta * (rotation @ x))
        Pf = P[free][:, free]
        self._solver = _BlockSolver(system, Pf, _mass_part(system, dt, theta),
                                    theta, system.capacity / dt, theta, rtol, maxiter,
                                    kind, sweeps, smoother, 1.0 + system.problem.beta,
                                    auxiliary_space,
                                    _kept_operator(system, Pf, A, unformed, theta))
        self.report = IterativeReport(flux_preconditioner=kind,
                                      auxiliary_space=self._solver.auxiliary_space)

    def step(self, state: State) -> State:
        sys, dt, th = self.system, self.dt, self.theta
        free, ess = self._free, sys.essential_dofs
        M, A, B, C = sys.inertia, sys.resistance, sys.divergence, sys.capacity
        q0, T0, t0 = state.flux, state.temperature, state.time
        t1 = t0 + dt
        f = th * sys.flux_load(t1) + (1 - th) * sys.flux_load(t0)
        F = th * sys.heat_load(t1) + (1 - th) * sys.heat_load(t0)
        qd = sys.essential_values(t1)
        h = M @ q0 / dt - (1 - th) * (A @ q0) + (1 - th) * (B.T @ T0) + f
        g = C @ T0 / dt + F - (1 - th) * (B @ q0)
        h = h[free] - self._P_fe @ qd
        g = g - th * (B[:, ess] @ qd)
        x, its = self._solver.solve(np.concatenate([h, -g]),
                                    x0=np.concatenate([q0[free], T0]))
        self.report.iterations.append(its)
        q = np.zeros_like(q0)
        q[free], q[ess] = x[: free.size], qd
        return State(t1, x[free.size:], q)
