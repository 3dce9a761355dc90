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
"""

from __future__ import annotations

import inspect
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Optional, Union

import numpy as np
import scipy.sparse as sp
import skfem
from numpy.typing import ArrayLike
from skfem.helpers import dot, grad

from ..errors import BoundaryConditionError, FemheatInputError, RegionError, SolverError
from ..solve.steady import factorize
from ..validation import finite_array, theta_and_step

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

#: Steady preconditioners (see the module docstring).
PRECONDITIONERS = ("auto", "local", "gk")

#: γ above which an :class:`IllConditionedWarning` is issued.
ILL_CONDITIONED_AMPLIFICATION = 1e3

Source = Union[None, float, ArrayLike, Callable[..., np.ndarray]]
Value = Union[float, Callable[[np.ndarray], np.ndarray]]


class IllPosedError(FemheatInputError):
    """A steady nonlocal problem without a (numerically) stable solution.

    Raised for a first-kind integral equation -- pure smoothing kernel (ξ = 0)
    -- whose source is narrower than the kernel or whose mesh resolves modes the
    operator annihilates to round-off. The message names the reason and the fixes:
    a local fraction ξ > 0, a coarser mesh, a transient run, a wider source.
    """


class IllConditionedWarning(UserWarning):
    """A steady nonlocal problem that is solvable but amplifies fine-scale data."""


# =============================================================== small helpers
def _mesh(op):
    return op.basis.mesh


def _dim(op) -> int:
    return int(_mesh(op).p.shape[0])


def _unit_forms(basis: skfem.CellBasis) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Unit stiffness (∇u, ∇v) and consistent mass (u, v) on the P1 basis."""
    from skfem.models.poisson import laplace, mass

    return laplace.assemble(basis).tocsr(), mass.assemble(basis).tocsr()


def _mesh_scales(op) -> tuple[float, float]:
    """(h, diam): mean edge length and domain diameter [m] (periodic: the period)."""
    m = _mesh(op)
    p = m.p
    e = {1: m.t, 2: m.facets, 3: getattr(m, "edges", None)}[p.shape[0]]
    h = float(np.mean(np.linalg.norm(p[:, e[0]] - p[:, e[1]], axis=0)))
    diam = float(np.linalg.norm(p.max(axis=1) - p.min(axis=1)))
    return h, diam


def _symbol(op, k: np.ndarray) -> Optional[np.ndarray]:
    """ĝ(k) of the operator's kernel, or None where it cannot be evaluated.

    Every :class:`~femheat.kernels.functions.RadialKernel` has a symbol (closed form
    or numerical Hankel transform). A user callable's transform may fail or return
    non-finite values (e.g. a non-integrable tail); the symbol-based diagnostics
    (preconditioner choice, well-posedness estimate) are then skipped and the
    defaults used, which is documented in :func:`assess_well_posedness`.
    """
    try:
        s = np.asarray(op.kernel.symbol(np.asarray(k, dtype=float)), dtype=float)
    except (ValueError, FloatingPointError, OverflowError):
        return None
    return s if np.all(np.isfinite(s)) else None


def _local_fraction(op) -> float:
    return float(getattr(op, "local_fraction", 0.0))


def _operator_symbol(op, k: np.ndarray, eps: float = 0.0) -> Optional[np.ndarray]:
    """σ_A(k)/κ = k² (ξ + (1-ξ) ĝ(k) + ε), ε the Tikhonov regularization."""
    g = _symbol(op, k)
    if g is None:
        return None
    xi = _local_fraction(op)
    return k**2 * (xi + (1 - xi) * g + eps)


def _symbol_condition(ratio: np.ndarray) -> float:
    ratio = np.abs(ratio)
    lo = float(ratio.min())
    return math.inf if lo <= 0 else float(ratio.max()) / lo


def _regularization(value) -> float:
    """Validated Tikhonov weight ε ∈ [0, 0.1] (dimensionless, relative to κ)."""
    try:
        eps = float(value)
    except (TypeError, ValueError):
        raise FemheatInputError(f"regularization must be a number in [0, 0.1], got {value!r}") from None
    if not (0.0 <= eps <= 0.1):
        raise FemheatInputError(
            f"regularization = {value!r}; it is the dimensionless weight eps of the added "
            "eps*kappa*(grad T, grad w) and must lie in [0, 0.1] (1e-4 is typical: its bias "
            "on resolved modes is ~eps/g^(k))")
    return eps


def _band(op, n: int = 400) -> np.ndarray:
    """Wavenumbers [m⁻¹] from π/diam to the checkerboard mode π√d/h."""
    h, diam = _mesh_scales(op)
    return np.geomspace(math.pi / diam, math.pi * math.sqrt(_dim(op)) / h, n)


def _takes_time(fun: Callable) -> bool:
    try:
        params = [p for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2


#: Gauss order of the source quadrature (sources are often narrow Gaussians).
LOAD_INTORDER = 6


def _load(op, source: Source, t: float = 0.0) -> np.ndarray:
    """b_i = ∫ Q φ_i dV [W] for a constant, callable ``f(x)``/``f(x, t)``, nodal
    (length n) or cell (length ncells) source Q [W m⁻³]."""
    basis = op.basis
    if callable(source):
        basis = skfem.CellBasis(basis.mesh, basis.elem, intorder=LOAD_INTORDER)
    if source is None:
        return np.zeros(basis.N)
    if callable(source):
        timed = _takes_time(source)

        @skfem.LinearForm
        def form(v, w):
            val = source(w.x, t) if timed else source(w.x)
            return np.broadcast_to(val, w.x.shape[1:]) * v

        b = form.assemble(basis)
    else:
        arr = finite_array(source, "source")
        ncells = _mesh(op).t.shape[1]
        if arr.ndim == 0:
            b = skfem.LinearForm(lambda v, w: float(arr) * v).assemble(basis)
        elif arr.shape == (basis.N,):
            _, M = _unit_forms(basis)
            b = M @ arr
        elif arr.shape == (ncells,):
            field_ = np.repeat(arr[:, None], basis.X.shape[-1], axis=1)
            b = skfem.LinearForm(lambda v, w: w.q * v).assemble(basis, q=field_)
        else:
            raise FemheatInputError(
                f"source has shape {arr.shape}; give a constant, a callable f(x), "
                f"{basis.N} nodal values or {ncells} cell values [W m^-3]")
    if not np.all(np.isfinite(b)):
        raise FemheatInputError("source produced non-finite values")
    return np.asarray(b, dtype=float)


def _region_dofs(op, name: str) -> np.ndarray:
    """P1 dofs of a named boundary (facet nodes) or subdomain (cell nodes)."""
    regions = getattr(op, "regions", None)
    if regions is None:
        raise FemheatInputError("the operator carries no named regions; cannot look up "
                                f"temperature region {name!r}")
    basis = op.basis
    if name in regions.boundaries:
        return np.unique(basis.get_dofs(regions.boundaries[name]).all())
    if name in regions.subdomains:
        return np.unique(basis.element_dofs[:, regions.subdomains[name]])
    known = ", ".join(repr(n) for n in list(regions.boundaries) + list(regions.subdomains))
    raise RegionError(f"unknown temperature region {name!r}; the mesh has boundaries and "
                      f"subdomains: {known or 'none'}")


def _dirichlet(op, temperature: Optional[Mapping[str, Value]]
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(dofs, values, owner dofs per name) of the temperature conditions.

    A node in several regions belongs to the first one listed (its reaction is
    reported there)."""
    if not temperature:
        return np.zeros(0, dtype=np.int64), np.zeros(0), {}
    basis = op.basis
    values = np.full(basis.N, np.nan)
    owners: dict[str, np.ndarray] = {}
    for name, value in temperature.items():
        dofs = _region_dofs(op, name)
        dofs = dofs[np.isnan(values[dofs])]
        if callable(value):
            x = basis.doflocs[:, dofs]
            v = np.broadcast_to(np.asarray(value(x), dtype=float), (dofs.size,))
        else:
            v = np.full(dofs.size, float(finite_array(value, f"temperature.{name}")))
        if not np.all(np.isfinite(v)):
            raise FemheatInputError(f"temperature.{name} produced non-finite values")
        values[dofs] = v
        owners[name] = dofs
    fixed = np.nonzero(~np.isnan(values))[0]
    return fixed, values[fixed], owners


# ====================================================== well-posedness analysis
@dataclass
class WellPosedness:
    """Diagnosis of a steady nonlocal problem (see the module docstring).

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


# ================================================================ Krylov core
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


# ================================================================= transient
def _capacity_matrix(op, heat_capacity, lumped: bool) -> sp.csr_matrix:
    """(C u, v) on the P1 basis, C = ρc [J m⁻³ K⁻¹] constant, ``f(x)`` or per cell."""
    basis = op.basis
    if callable(heat_capacity):
        field_ = heat_capacity(basis.global_coordinates().value)
    else:
        arr = finite_array(heat_capacity, "heat_capacity")
        if arr.ndim == 0:
            field_ = np.full(basis.X.shape[-1:], float(arr))[None, :].repeat(
                _mesh(op).t.shape[1], axis=0)
        elif arr.shape == (_mesh(op).t.shape[1],):
            field_ = np.repeat(arr[:, None], basis.X.shape[-1], axis=1)
        else:
            raise FemheatInputError(
                f"heat_capacity has shape {arr.shape}; give a constant, f(x) or one value "
                f"per cell ({_mesh(op).t.shape[1]}) [J m^-3 K^-1]")
    field_ = np.broadcast_to(np.asarray(field_, dtype=float),
                             (_mesh(op).t.shape[1], basis.X.shape[-1]))
    if not np.all(field_ > 0):
        raise FemheatInputError("heat_capacity must be > 0 J/(m^3 K) everywhere")
    Mc = skfem.BilinearForm(lambda u, v, w: w.c * u * v).assemble(basis, c=field_).tocsr()
    if lumped:
        Mc = sp.diags(np.asarray(Mc.sum(axis=1)).ravel()).tocsr()
    return Mc


class NonlocalTheta:
    r"""θ-scheme for C ∂T/∂t + a(T) = Q, optionally with MCV memory on the flux.

    Memoryless (τ = 0), for a step Δt with T_θ = θTⁿ⁺¹ + (1−θ)Tⁿ:

    .. math::

        (M_C/\Delta t + \theta A)\,T^{n+1} = (M_C/\Delta t - (1-\theta)A)\,T^n + b_\theta .

    With memory, the flux q (one vector per cell, the cell-gradient space of
    P1) obeys τ ∂q/∂t + q = q[T], where q[T] = ``op.flux(T)`` is the
    (two-phase) flux law, and the energy balance is (C ∂T/∂t, w) = (Q, w) +
    (q, ∇w). The θ-scheme for the flux,
    τ(qⁿ⁺¹ − qⁿ)/Δt + q_θ = q[T_θ], gives q_θ explicitly:

    .. math::

        q_\theta = c_m q^n + c_f\,q[T_\theta], \qquad
        c_f = \frac{\theta\Delta t}{\theta\Delta t + \tau},\quad
        c_m = \frac{\tau}{\theta\Delta t + \tau},

    and since (q[T], ∇w) = −a(T, w), eliminating q leaves a T-only system per step

    .. math::

        (M_C/\Delta t + \theta c_f A)\,T^{n+1}
        = (M_C/\Delta t - (1-\theta) c_f A)\,T^n + b_\theta + c_m (q^n, \nabla w),

    then qⁿ⁺¹ = (q_θ − (1−θ)qⁿ)/θ. For τ → 0, c_f → 1 and c_m → 0: the
    memoryless scheme. For a grating T = cos(kx) this is the damped oscillator
    τa'' + a' + α k²(ξ + (1−ξ)ĝ(k)) a = 0 (BENCHMARKS N2). θ = 1/2
    (Crank–Nicolson) is second order; θ = 1 (backward Euler) damps.

    Each step is one conjugate-gradient solve preconditioned by
    P = M_C/Δt + θ c_f β K_loc, factorized once; β ∈ [0, 1] minimizes the symbol
    condition number of P⁻¹(M_C/Δt + θ c_f A) (β = 0, the mass, suits smoothing
    kernels; β = 1 suits Fourier-like ones). The system is symmetric positive
    definite for every ξ: transient problems are well posed.

    Parameters
    ----------
    op
        The :class:`~femheat.kernels.operator.NonlocalOperator`.
    heat_capacity
        C = ρc [J m⁻³ K⁻¹]: constant, ``f(x)`` or per cell.
    dt
        Time step Δt [s].
    theta
        1/2 (Crank–Nicolson) to 1 (backward Euler).
    source
        Q [W m⁻³]: as for :func:`solve_steady_nonlocal`; a callable may take
        ``(x, t)``.
    temperature
        Region name -> constant-in-time T [K] (constant or ``f(x)``).
    relaxation_time
        τ [s] of the flux memory (0: none).
    lumped
        Lump the capacity matrix (first-order consistent; default consistent).
    tol, max_iterations
        Conjugate-gradient controls per step.
    """

    def __init__(self, op, heat_capacity, dt: float, theta: float = 0.5, *,
                 source: Source = None, temperature: Optional[Mapping[str, Value]] = None,
                 relaxation_time: float = 0.0, lumped: bool = False, tol: float = 1e-12,
                 max_iterations: int = 500):
        theta, dt = theta_and_step(theta, dt)
        tau = float(finite_array(relaxation_time, "relaxation_time"))
        if tau < 0:
            raise FemheatInputError(f"relaxation_time must be >= 0 s, got {tau}")
        self.op, self.dt, self.theta, self.tau = op, dt, theta, tau
        self.tol, self.max_iterations = tol, max_iterations
        self.source = source
        self._timed = callable(source) and _takes_time(source)
        self._b_const = None if self._timed else _load(op, source)
        n = op.basis.N
        self.n = n
        self.Mc = _capacity_matrix(op, heat_capacity, lumped)
        self.cf = theta * dt / (theta * dt + tau)
        self.cm = tau / (theta * dt + tau)
        self.fixed, self.values, self.owners = _dirichlet(op, temperature)
        self.free = np.setdiff1d(np.arange(n), self.fixed)
        Kloc = op.local_stiffness().tocsr()
        self.beta, self.symbol_condition = self._choose_beta()
        P = (self.Mc / dt + (theta * self.cf * self.beta) * Kloc).tocsr()
        self._solveP = factorize(P[self.free][:, self.free], symmetric=True)
        self.iterations: list[int] = []
        self.energy_errors: list[float] = []
        self.boundary_heat_flow: dict[str, float] = {nm: 0.0 for nm in self.owners}
        self.flux: Optional[np.ndarray] = None

    def _choose_beta(self) -> tuple[float, float]:
        K1, M = _unit_forms(self.op.basis)
        kap = float(self.op.local_stiffness().diagonal().sum() / K1.diagonal().sum())
        cap = float(self.Mc.diagonal().sum() / M.diagonal().sum())
        band = _band(self.op)
        sA = _operator_symbol(self.op, band)
        if sA is None:
            return 1.0, math.nan
        c = cap / self.dt
        w = self.theta * self.cf * kap
        num = c + w * sA
        best = (1.0, _symbol_condition(num / (c + w * band**2)))
        for beta in np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 81)]):
            cond = _symbol_condition(num / (c + w * beta * band**2))
            if cond < best[1] * (1 - 1e-9):
                best = (float(beta), cond)
        return best

    def _b(self, t: float) -> np.ndarray:
        return self._b_const if self._b_const is not None else _load(self.op, self.source, t)

    def _flux_load(self, q: np.ndarray) -> np.ndarray:
        """(q, ∇w) for a cell-constant flux q of shape (ncells, d)."""
        basis = self.op.basis
        qf = np.repeat(q.T[:, :, None], basis.X.shape[-1], axis=2)
        return skfem.LinearForm(lambda v, w: dot(w.q, grad(v))).assemble(basis, q=qf)

    def run(self, T0: Union[float, ArrayLike, Callable[[np.ndarray], np.ndarray]],
            t_end: float, t_start: float = 0.0,
            initial_flux: Union[str, ArrayLike] = "zero"
            ) -> Iterator[tuple[float, np.ndarray]]:
        """Yield ``(t, T)`` from ``t_start`` (the initial state first) to ``t_end``.

        Parameters
        ----------
        T0
            Initial temperature [K]: constant, ``f(x)`` or n nodal values
            (Dirichlet nodes are overwritten with their prescribed values).
        t_end
            Final time [s]; the number of steps is round((t_end − t_start)/Δt).
        initial_flux
            With memory only: ``"zero"`` (q = 0, default), ``"equilibrium"``
            (q = q[T0]) or an array (ncells, d) [W m⁻²].
        """
        op, n = self.op, self.n
        basis = op.basis
        if callable(T0):
            T = np.asarray(T0(basis.doflocs), dtype=float).copy()
        else:
            arr = finite_array(T0, "T0")
            T = np.full(n, float(arr)) if arr.ndim == 0 else arr.copy()
        if T.shape != (n,) or not np.all(np.isfinite(T)):
            raise FemheatInputError(f"T0 must give {n} finite nodal values")
        T[self.fixed] = self.values
        steps = max(1, int(round((float(t_end) - t_start) / self.dt)))
        if abs(steps * self.dt - (t_end - t_start)) > 1e-9 * max(abs(t_end - t_start), 1e-300):
            log.info("t_end %g s is not a multiple of dt; running %d steps to %g s",
                     t_end, steps, t_start + steps * self.dt)
        memory = self.tau > 0
        if memory:
            ncells, d = _mesh(op).t.shape[1], _dim(op)
            if isinstance(initial_flux, str):
                if initial_flux == "zero":
                    q = np.zeros((ncells, d))
                elif initial_flux == "equilibrium":
                    q = np.asarray(op.flux(T), dtype=float)
                else:
                    raise FemheatInputError(
                        f"initial_flux = {initial_flux!r}; use 'zero', 'equilibrium' or an "
                        f"array of shape ({ncells}, {d})")
            else:
                q = finite_array(initial_flux, "initial_flux").reshape(ncells, d).copy()
            self.flux = q
        dt, th, cf, cm = self.dt, self.theta, self.cf, self.cm
        free = self.free
        Mc = self.Mc
        t = t_start
        yield t, T.copy()
        b_old = self._b(t)
        last = None
        for _ in range(steps):
            t_new = t + dt
            b_new = self._b(t_new) if self._timed else b_old
            b_th = th * b_new + (1 - th) * b_old
            # increment form: (M/dt + θ c_f A) ΔT = b_θ + c_m (qⁿ, ∇w) − c_f A Tⁿ, so that the
            # Krylov tolerance is relative to the change, not to the temperature level
            rhs = b_th - cf * op.apply(T)
            if memory:
                rhs = rhs + cm * self._flux_load(self.flux)

            def apply_full(x):
                return Mc @ x / dt + (th * cf) * op.apply(x)

            mv = _restrict(apply_full, n, free)
            guess = np.zeros(free.size) if last is None else last
            xf, its, _ = _pcg(mv, rhs[free], self._solveP, guess, self.tol,
                              self.max_iterations, f"time step to t = {t_new:.4g} s")
            last = xf
            self.iterations.append(its)
            dT = np.zeros(n)
            dT[free] = xf
            T_new = T + dT
            # energy balance: reactions of the Dirichlet rows are the outflows
            full = apply_full(dT) - rhs
            dE = float(np.sum(Mc @ dT)) / dt
            S = float(b_th.sum())
            H = 0.0
            for nm, dofs in self.owners.items():
                h = -float(full[dofs].sum())
                self.boundary_heat_flow[nm] = h
                H += h
            scale = float(np.abs(Mc @ dT).sum()) / dt + abs(S) + abs(H) + 1e-300
            self.energy_errors.append(abs(dE - S + H) / scale)
            if memory:
                T_th = th * T_new + (1 - th) * T
                q_th = cm * self.flux + cf * np.asarray(op.flux(T_th), dtype=float)
                self.flux = (q_th - (1 - th) * self.flux) / th
            T, t, b_old = T_new, t_new, b_new
            yield t, T.copy()

    def report(self) -> SolveReport:
        """Iteration counts and the worst per-step energy balance so far."""
        its = self.iterations
        return SolveReport(int(sum(its)), math.nan, "mass+stiffness", 0.0, math.nan,
                           self.symbol_condition, 0.0, dict(self.boundary_heat_flow),
                           max(self.energy_errors, default=0.0), list(its))


def theta_steps_nonlocal(op, heat_capacity, dt: float, t_end: float, theta: float = 0.5,
                         T0: Union[float, ArrayLike, Callable] = 0.0, **kwargs
                         ) -> Iterator[tuple[float, np.ndarray]]:
    """Generator yielding ``(t, T)`` of a :class:`NonlocalTheta` run (initial state first).

    ``kwargs`` are those of :class:`NonlocalTheta` (``source``, ``temperature``,
    ``relaxation_time``, ...) plus ``initial_flux`` of :meth:`NonlocalTheta.run`.
    Use the class directly to read the iteration counts and energy balance.
    """
    initial_flux = kwargs.pop("initial_flux", "zero")
    stepper = NonlocalTheta(op, heat_capacity, dt, theta, **kwargs)
    yield from stepper.run(T0, t_end, initial_flux=initial_flux)
