r"""The nonlocal kernel model's route through the pipeline: problem, system, states, audit.

The registered model ``"kernel"`` (:mod:`femheat.models.kernel`) reads a case file
into a :class:`KernelProblem`; this module turns it into a :class:`KernelSystem`
(the :class:`~femheat.kernels.operator.NonlocalOperator`, the P1 basis, the loads and
the temperature constraints), solves it (:func:`steady_state`) or streams
``(t, state)`` pairs of the θ-scheme (:func:`theta_steps_kernel`), and audits the
energy balance (:class:`KernelEnergyBalance`).

Law and discrete equations (P1 temperature T, nodal values; per unit depth in 2D):

.. math::
    \mathbf q = -\xi\kappa\nabla T - (1-\xi)\int Z\,\nabla T\,dR, \qquad
    M_C\dot T + A T = b + (\text{reactions of the constrained nodes}),

with A T = a(T, φ_i) (:meth:`NonlocalOperator.apply`, W), M_C the P1 capacity matrix
(J K⁻¹) and b_i = ∫Q φ_i (W). With MCV memory τ ∂q/∂t + q = q[T] the conduction term
is −(q, ∇φ_i) (:class:`~femheat.kernels.solvers.NonlocalTheta`).

Heat flows
----------
A temperature condition eliminates the rows of its nodes (a boundary's facet nodes,
or every node of a subdomain: a volume constraint). The heat flowing *out* of the
body through region b is the reaction of those rows, the residual of the discrete
equation summed over the region's nodes (the consistent boundary flux of a Galerkin
method):

.. math::
    H_b = -\sum_{i\in b} r_i, \qquad
    r = M_C\frac{T^{n+1}-T^n}{\Delta t} + c_f A T^{\theta} - c_m (q^n, \nabla\varphi)
        - b^{\theta} \quad [\mathrm W],

(steady: r = (A + εK_loc)T − b). A node shared by two regions belongs to the first
listed. Boundaries without a temperature condition are insulated: the weak form has
no boundary term there, so no heat crosses them (H = 0).

Energy balance
--------------
Summing the equations of all nodes (test function w = 1; G·1 = 0, so the conduction
term drops out) gives, per step,

.. math::  E^{n+1} - E^n = \Delta t\,\Big(S^\theta - \sum_b H_b\Big)
           + \Delta t \sum_{i\ \mathrm{free}} r_i,\qquad E = \int C T\,dV = e\cdot T,

with S = ∫Q dV. The audit recomputes r from the states (independently of the
stepper), accumulates ΔE − Δt(S − ΣH) and divides by the energy scale of the run; it
vanishes when the free rows are solved (conjugate gradients to 1e-12) and the heat
flows are the consistent ones.
"""

from __future__ import annotations

import inspect
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import numpy as np
import scipy.sparse as sp
import skfem

from ..assembly.forms import heat_source
from ..element.spaces import evaluation_points, inner_points
from ..errors import FemheatInputError
from ..mesh.regions import RegionMesh
from ..physics.materials import Material
from .functions import RadialKernel
from .operator import NonlocalOperator
from .solvers import (IllConditionedWarning, NonlocalTheta, SolveReport,
                      solve_steady_nonlocal)

__all__ = ["KernelProblem", "KernelSystem", "KernelState", "KernelEnergyBalance",
           "assemble_kernel", "steady_state", "initial_kernel_state", "theta_steps_kernel",
           "cell_flux", "steady_balance", "at_time"]

log = logging.getLogger(__name__)

#: Gauss order of callable sources (as the kernel solvers: narrow Gaussians).
LOAD_INTORDER = 6


@dataclass
class KernelProblem:
    """A nonlocal kernel conduction problem on a mesh with named regions.

    Built and validated by :class:`femheat.models.kernel.KernelModel` from a case file.

    Parameters
    ----------
    regions
        Mesh with named subdomains and boundaries.
    materials
        Subdomain name -> :class:`~femheat.physics.materials.Material` (κ, C).
    kernel
        Radial profile g normalized in the mesh dimension.
    temperature
        Region name (boundary, or subdomain = volume constraint) -> T [K]: constant or
        ``f(x)`` (x of shape (d, n), metres). Other boundaries are insulated.
    source
        Q [W m⁻³]: constant, ``f(x)`` or ``f(x, t)``; None for none.
    local_fraction
        ξ ∈ [0, 1] of the two-phase law.
    relaxation_time
        τ [s] of the MCV memory on the kernel flux (transient runs); 0: none.
    quadrature, method, tolerance
        Cell-pair rule, operator method (already resolved: ``"fft"`` on lattices for
        ``"auto"``) and accuracy of :class:`~femheat.kernels.operator.NonlocalOperator`.
    regularization
        Tikhonov weight ε of the steady solve.
    mirror, period
        Planar insulated walls with image contributions; per-axis period [m] (None:
        not periodic) of a periodic kernel.
    preconditioner
        Steady conjugate-gradient preconditioner: ``"auto"``, ``"local"`` or ``"gk"``.
    info
        What the case file asked for (kernel table, requested method, boundary), for
        ``summary.json``.
    """

    regions: RegionMesh
    materials: dict[str, Material]
    kernel: RadialKernel
    temperature: dict[str, Any] = field(default_factory=dict)
    source: Any = None
    local_fraction: float = 0.0
    relaxation_time: float = 0.0
    quadrature: str = "exact"
    method: str = "auto"
    tolerance: float = 1e-6
    regularization: float = 0.0
    mirror: tuple[str, ...] = ()
    period: Optional[tuple[Optional[float], ...]] = None
    preconditioner: str = "auto"
    info: dict = field(default_factory=dict)
    #: memory modes (:class:`~femheat.kernels.memory_modes.MemoryModes`) of
    #: ``model.memory``; None: the single τ of ``relaxation_time``
    memory: Any = None

    #: the registered model's name (``Case.model``)
    model = "kernel"


@dataclass
class KernelState:
    """One state of a kernel run.

    Attributes
    ----------
    time
        t [s].
    temperature
        P1 nodal temperatures [K], shape (n,).
    flux
        MCV memory flux per cell (ncells, d) [W m⁻²] when τ > 0, else None (the flux
        follows T: :func:`cell_flux`).
    heat_flow
        Heat flowing out through each temperature region and boundary [W, W m⁻¹ in 2D]
        (over the step that ended at ``time``; at the initial state the quasi-static
        value, without the capacity term of the constrained rows).
    source
        ∫Q dV [W] (θ-weighted over the step).
    residual
        Σ of the discrete equations' residuals over the free nodes [W].
    report
        The steady :class:`~femheat.kernels.solvers.SolveReport` (None in transients).
    warnings
        Conditioning warnings of the steady solve (their text).
    """

    time: float
    temperature: np.ndarray
    flux: Optional[np.ndarray] = None
    heat_flow: dict = field(default_factory=dict)
    source: float = 0.0
    residual: float = 0.0
    report: Optional[SolveReport] = None
    warnings: list = field(default_factory=list)


def _takes_time(fun: Callable) -> bool:
    try:
        return len(inspect.signature(fun).parameters) >= 2
    except (TypeError, ValueError):
        return False


def _capacity(problem: KernelProblem):
    """C per cell (constants) or a callable of the quadrature points (d, ncells, nq)."""
    rm = problem.regions
    values = {name: m.heat_capacity for name, m in problem.materials.items()}
    if not any(callable(v) for v in values.values()):
        out = np.empty(rm.mesh.t.shape[1])
        for name, v in values.items():
            out[rm.subdomains[name]] = float(v)
        return out

    def field_(x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape[1:])
        for name, v in values.items():
            cells = rm.subdomains[name]
            out[cells] = v(x[:, cells]) if callable(v) else float(v)
        return out

    return field_


class KernelSystem:
    """The assembled kernel problem: operator, P1 basis, loads and constraints.

    Attributes
    ----------
    problem
        The :class:`KernelProblem`.
    operator
        The :class:`~femheat.kernels.operator.NonlocalOperator` (its ``method`` is the
        one actually used).
    basis
        The P1 ``skfem.CellBasis``.
    owners
        Temperature region -> the nodes whose reactions it reports (first listed wins).
    fixed, values
        All constrained nodes and their temperatures [K].
    build_s
        Wall time of the operator build [s].
    """

    def __init__(self, problem: KernelProblem):
        t0 = time.perf_counter()
        self.problem = problem
        kappa = {name: m.conductivity for name, m in problem.materials.items()}
        self.operator = NonlocalOperator(
            problem.regions, kappa, problem.kernel, local_fraction=problem.local_fraction,
            method=problem.method, tol=problem.tolerance, quadrature=problem.quadrature,
            period=problem.period, mirror=list(problem.mirror) or None)
        self.build_s = time.perf_counter() - t0
        self.basis = self.operator.basis
        self.n = self.basis.N
        self.owners, self.fixed, self.values = self._constraints()
        #: T_ref [K]: the solvers work on T − T_ref (A·1 = 0), so that conjugate gradients
        #: resolve the temperature *differences* and not the level (300 K offsets)
        self.reference = float(np.mean(self.values)) if self.fixed.size else 0.0
        self.free = np.setdiff1d(np.arange(self.n), self.fixed)
        src = problem.source
        self.timed_source = callable(src) and _takes_time(src)
        self._load0: Optional[np.ndarray] = None
        self._mass: Optional[sp.csr_matrix] = None
        self.stepper: Optional[NonlocalTheta] = None

    # ------------------------------------------------------------ constraints
    def _region_dofs(self, name: str) -> np.ndarray:
        rm = self.problem.regions
        if name in rm.boundaries:
            return np.unique(self.basis.get_dofs(rm.boundaries[name]).all())
        return np.unique(self.basis.element_dofs[:, rm.subdomains[name]])

    def _constraints(self):
        values = np.full(self.n, np.nan)
        owners: dict[str, np.ndarray] = {}
        for name, value in self.problem.temperature.items():
            dofs = self._region_dofs(name)
            dofs = dofs[np.isnan(values[dofs])]
            if callable(value):
                v = np.broadcast_to(np.asarray(value(self.basis.doflocs[:, dofs]), float),
                                    (dofs.size,))
            else:
                v = np.full(dofs.size, float(value))
            if not np.all(np.isfinite(v)):
                raise FemheatInputError(f"boundaries.{name}.temperature produced non-finite "
                                        "values at the nodes")
            values[dofs] = v
            owners[name] = dofs
        fixed = np.nonzero(~np.isnan(values))[0]
        return owners, fixed, values[fixed]

    def shifted_temperature(self, reference: float) -> dict[str, Any]:
        """The temperature conditions minus ``reference`` [K]."""
        def shift(v):
            if not callable(v):
                return float(v) - reference

            def f(x: np.ndarray) -> np.ndarray:
                return np.asarray(v(x), dtype=float) - reference

            return f

        return {k: shift(v) for k, v in self.problem.temperature.items()}

    # ------------------------------------------------------------ data
    def source_at(self, t: float):
        """Q as the solvers take it: None, a constant or ``f(x)`` frozen at time t."""
        src = self.problem.source
        if callable(src) and self.timed_source:
            return at_time(src, t)
        return src

    def load(self, t: float = 0.0) -> np.ndarray:
        """b_i = ∫ Q(x, t) φ_i dV [W] (the kernel solvers' quadrature)."""
        if self._load0 is not None and not self.timed_source:
            return self._load0
        src = self.source_at(t)
        if src is None:
            b = np.zeros(self.n)
        elif callable(src):
            basis = skfem.CellBasis(self.basis.mesh, self.basis.elem, intorder=LOAD_INTORDER)
            x = inner_points(basis)  # points on the cells' faces nudged inside
            b = heat_source.assemble(basis, source=np.broadcast_to(src(x), x.shape[1:]))
        else:
            q = float(src)
            b = skfem.LinearForm(lambda v, w: q * v).assemble(self.basis)
        if not self.timed_source:
            self._load0 = b
        return b

    @property
    def capacity(self):
        """C = ρc [J m⁻³ K⁻¹] per cell, or a callable of positions (d, ncells, nq)."""
        return _capacity(self.problem)

    @property
    def capacity_matrix(self) -> sp.csr_matrix:
        """M_C = (C u, v) on the P1 basis [J K⁻¹] (as :class:`NonlocalTheta` builds it)."""
        if self._mass is None:
            cap = self.capacity
            X = evaluation_points(self.basis)
            c = cap(X) if callable(cap) else np.repeat(cap[:, None], X.shape[-1], axis=1)
            self._mass = skfem.BilinearForm(lambda u, v, w: w.c * u * v).assemble(
                self.basis, c=np.broadcast_to(c, X.shape[1:])).tocsr()
        return self._mass

    @property
    def energy_weights(self) -> np.ndarray:
        """e_i = ∫ C φ_i dV [J K⁻¹]: E = e·T = ∫ C T dV."""
        return np.asarray(self.capacity_matrix.sum(axis=1)).ravel()

    def flow_load(self, q: np.ndarray) -> np.ndarray:
        """(q, ∇φ_i) [W] for a cell-constant flux q (ncells, d)."""
        op = self.operator
        return op.gradient.T @ (q * op.measure[:, None]).T.ravel()

    def heat_flows(self, reaction: np.ndarray) -> dict[str, float]:
        """Outflow per boundary (0 if insulated) and per temperature region from r."""
        out = {name: 0.0 for name in self.problem.regions.boundaries}
        for name, dofs in self.owners.items():
            out[name] = -float(reaction[dofs].sum()) + 0.0  # + 0.0: no "-0" in history.csv
        return out


def assemble_kernel(problem: KernelProblem) -> KernelSystem:
    """Build the operator (the expensive part) and the constraints."""
    return KernelSystem(problem)


# ====================================================================== steady
def steady_state(system: KernelSystem) -> KernelState:
    """Solve a(T, w) + ε(κ∇T, ∇w) = (Q, w) with the temperature constraints.

    Raises :class:`~femheat.kernels.solvers.IllPosedError` (a
    :class:`~femheat.errors.FemheatInputError`) for a first-kind setup with no stable
    solution, with the reason and the fixes.
    """
    p, op = system.problem, system.operator
    ref = system.reference
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        T, report = solve_steady_nonlocal(
            op, source=system.source_at(0.0), temperature=system.shifted_temperature(ref),
            preconditioner=p.preconditioner, regularization=p.regularization)
    notes = []
    for w in caught:  # pass them on, in the case file's words for the conditioning one
        if issubclass(w.category, IllConditionedWarning):
            notes.append(str(w.message))
            warnings.warn(f"{w.message} (case file: model.local_fraction, "
                          "model.regularization)", w.category, stacklevel=2)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    b = system.load(0.0)
    AT = op.apply(T)
    if p.regularization > 0:
        AT = AT + p.regularization * (op.local_stiffness() @ T)
    T = T + ref
    r = AT - b
    return KernelState(0.0, T, None, system.heat_flows(r), float(b.sum()),
                       float(r[system.free].sum()), report, notes)


def steady_balance(state: KernelState) -> float:
    """|∫Q − ΣH| / max(|∫Q|, Σ|H|) of a steady state (= |Σ_free r| / scale)."""
    total = sum(state.heat_flow.values())
    scale = max(abs(state.source), sum(abs(v) for v in state.heat_flow.values()), 1e-300)
    return abs(state.source - total) / scale


# =================================================================== transient
def initial_kernel_state(system: KernelSystem, temperature: Any = 0.0,
                         flux: Any = None, t: float = 0.0) -> KernelState:
    """Nodal T(x, 0) (constraints applied) and, with memory, the initial cell flux.

    ``flux``: None (q = 0), a vector of d components [W m⁻²] or ``f(x)`` at the cell
    centroids. Without memory (τ = 0) the flux follows T and cannot be given.
    """
    op = system.operator
    if callable(temperature):
        T = np.asarray(temperature(system.basis.doflocs), dtype=float)
        T = np.broadcast_to(T, (system.n,)).copy()
    else:
        T = np.full(system.n, float(temperature))
    if not np.all(np.isfinite(T)):
        raise FemheatInputError("initial.temperature produced non-finite values")
    T[system.fixed] = system.values
    q = None
    if system.problem.relaxation_time > 0:
        d = op.dim
        if flux is None:
            q = np.zeros((op.ncells, d))
        elif callable(flux):
            q = np.asarray(flux(op.centroids.T), dtype=float).reshape(d, -1).T.copy()
        else:
            vec = np.asarray(flux, dtype=float)
            if vec.shape != (d,) or not np.all(np.isfinite(vec)):
                raise FemheatInputError(
                    f"initial.flux must be {d} finite numbers [W/m^2], got {vec.tolist()}")
            q = np.tile(vec, (op.ncells, 1))
    elif flux is not None:
        raise FemheatInputError(
            "initial.flux is given but model.relaxation_time = 0: without memory the "
            "kernel flux follows the temperature; remove initial.flux or set "
            "model.relaxation_time > 0 s")
    # quasi-static heat flows at t0: -(q, grad phi) - b without the capacity term
    b = system.load(t)
    cond = -system.flow_load(q) if q is not None else op.apply(T - system.reference)
    return KernelState(t, T, q, system.heat_flows(cond - b), float(b.sum()), 0.0)


def theta_steps_kernel(system: KernelSystem, dt: float, end: float, theta: float,
                       initial: KernelState) -> Iterator[tuple[float, KernelState]]:
    """Yield ``(t, state)`` of the θ-scheme from ``initial`` (yielded first) to ``end``.

    Each step is :class:`~femheat.kernels.solvers.NonlocalTheta` (constraints held
    constant in time, MCV memory τ from the problem); the reactions of the constrained
    rows are recomputed from consecutive states (module docstring).
    """
    p, op = system.problem, system.operator
    tau = p.relaxation_time
    ref = system.reference if system.fixed.size else float(np.mean(initial.temperature))
    stepper = NonlocalTheta(op, system.capacity, dt, theta, source=p.source if
                            system.timed_source else system.source_at(0.0),
                            temperature=system.shifted_temperature(ref),
                            relaxation_time=tau)
    system.stepper = stepper
    Mc = system.capacity_matrix
    cf, cm, th = stepper.cf, stepper.cm, stepper.theta
    q0 = initial.flux if (tau > 0 and initial.flux is not None) else "zero"
    prev: Optional[KernelState] = None
    prev_T = initial.temperature - ref
    b_prev = system.load(initial.time)
    for t, T in stepper.run(initial.temperature - ref, end, t_start=initial.time,
                            initial_flux=q0):
        op_T = T  # T − T_ref: the conduction term sees differences only
        T = T + ref
        q = stepper.flux.copy() if tau > 0 else None
        if prev is None:
            state = KernelState(t, T, q, dict(initial.heat_flow), initial.source, 0.0)
        else:
            b_new = system.load(t)
            b_th = th * b_new + (1 - th) * b_prev
            b_prev = b_new
            step = t - prev.time
            T_th = th * op_T + (1 - th) * prev_T
            r = Mc @ (op_T - prev_T) / step + cf * op.apply(T_th) - b_th
            if tau > 0:
                r -= cm * system.flow_load(prev.flux)
            state = KernelState(t, T, q, system.heat_flows(r), float(b_th.sum()),
                                float(r[system.free].sum()))
        prev, prev_T = state, op_T
        yield t, state


class KernelEnergyBalance:
    """Energy bookkeeping of a kernel θ-scheme run (module docstring).

    Checks E(tⁿ) − E(t⁰) = Σ Δt (S^θ − Σ_b H_b) with E = ∫C T dV. The relative error
    is the residual over the largest of |ΔE|, the cumulative |source| and |outflow|,
    ∫C|T⁰ − T̄⁰| (the scale of an insulated run) and 1e-6 ∫C|T|.
    """

    def __init__(self, system: KernelSystem, theta: float):
        self.system, self.theta = system, theta
        self._prev: Optional[float] = None
        self.residual = 0.0
        self.scale = 0.0
        self.energy0: Optional[float] = None
        self.energy = 0.0
        self.max_relative_error = 0.0
        self._e = system.energy_weights

    @property
    def time(self) -> float | None:
        """Time of the last state fed to :meth:`update` (None before the first)."""
        return self._prev

    def update(self, state: KernelState) -> float:
        """Feed the next state; return the current relative balance error."""
        e = self._e
        E = float(e @ state.temperature)
        if self._prev is None:
            self.energy0, self._expected, self._src, self._out = E, 0.0, 0.0, 0.0
            self._T0 = state.temperature.copy()
            mean = E / float(e.sum())
            self._variation = float(e @ np.abs(state.temperature - mean))
        else:
            dt = state.time - self._prev
            src = dt * state.source
            out = dt * sum(state.heat_flow.values())
            self._expected += src - out
            self._src += abs(src)
            self._out += abs(out)
        self._prev = state.time
        dE = float(e @ (state.temperature - self._T0))  # not E - E0: keeps the digits
        self.residual = dE - self._expected
        floor = 1e-6 * float(np.abs(e) @ np.abs(state.temperature))
        self.scale = max(abs(dE), self._src, self._out, self._variation, floor, 1e-300)
        rel = abs(self.residual) / self.scale
        self.max_relative_error = max(self.max_relative_error, rel)
        self.energy = E
        return rel


def cell_flux(system: KernelSystem, state: KernelState) -> np.ndarray:
    """Cell-mean heat flux (ncells, d) [W m⁻²]: the memory flux, or q[T] =
    −ξκ∇T − (1−ξ) S Σ W S ∇T / |K| (the law's flux; without the ε term of a
    regularized steady solve)."""
    if state.flux is not None:
        return state.flux
    return system.operator.flux(state.temperature)


def at_time(f: Callable[[np.ndarray, float], np.ndarray], t: float
            ) -> Callable[[np.ndarray], np.ndarray]:
    """x -> f(x, t): a function of x alone (one parameter, so that the kernel solvers
    do not take it for a time-dependent one)."""
    def frozen(x: np.ndarray) -> np.ndarray:
        return f(x, t)

    return frozen
