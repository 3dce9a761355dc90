r"""Frequency domain for the nonlocal kernel law (seed 004 eqs. 45–46; issue 11 item 3).

For fields X(x, t) = Re[X̂(x) e^{iωt}] the memory modes of
:mod:`femheat.kernels.memory_modes` give q̂ = φ(iω) q[T̂], φ(s) = Σₘ wₘ/(1 + sτₘ),
and the P1 Galerkin equations C ∂T/∂t + A T = b become one complex system per ω,

.. math::
    \bigl(i\omega M_C + \phi(i\omega)\,A\bigr)\hat T = \hat b ,

with A T = a(T, φᵢ) (:meth:`NonlocalOperator.apply`, real, symmetric, positive
semi-definite, independent of ω: only the scalars iω and φ change), M_C the P1
capacity matrix [J K⁻¹] and b̂ᵢ = ∫Q̂ φᵢ dV [W]. Temperature conditions are complex
amplitudes T̂ [K] on their nodes (eliminated rows). The system is complex symmetric;
it is solved by GMRES on the applied operator, preconditioned by the sparse complex
factorization of P = iωM_C + φβK_loc (β chosen, as in the θ-scheme, to minimize the
symbol condition number of P⁻¹S over the mesh's wavenumber band).

For a grating Q̂ cos(kx) on a periodic body the exact response is
T̂ = Q̂ cos(kx)/(iωC + φ(iω)σ_A(k)), σ_A(k) = κk²(ξ + (1−ξ)ĝ(k)).

Heat flows out of temperature regions are the reactions
H_b = −Σ_{i∈b} rᵢ, r = (iωM_C + φA)T̂ − b̂ [W, W m⁻¹ in 2D], and the balance
iω∫C T̂ + Σ_b H_b − ∫Q̂ = 0 closes to the Krylov tolerance.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import numpy as np
import scipy.sparse.linalg as spla

from ..errors import FemheatInputError, SolverError
from ..validation import finite_array
from .memory_modes import MemoryModes
from .solver_base import _band, _operator_symbol, _symbol_condition, _unit_forms

__all__ = ["KernelFrequencyState", "KernelFrequencySolver", "kernel_frequency_sweep"]

log = logging.getLogger(__name__)


@dataclass
class KernelFrequencyState:
    """Complex amplitudes at ω [rad/s]; ``time`` is f = ω/2π [Hz] (writers' label).

    Attributes
    ----------
    temperature
        Nodal T̂ [K], complex (n,).
    flux
        Cell-mean q̂ = φ q[T̂] [W m⁻²], complex (ncells, d).
    heat_flow
        Complex outflow per boundary and temperature region [W, W m⁻¹ in 2D].
    balance
        |iω e·T̂ + ΣH − ∫Q̂| / max(ω e·|T̂|, Σ|H|, Σ|b̂ᵢ|).
    iterations
        GMRES iterations.
    """

    omega: float
    temperature: np.ndarray
    flux: np.ndarray
    heat_flow: dict = field(default_factory=dict)
    balance: float = 0.0
    iterations: int = 0

    @property
    def frequency(self) -> float:
        return self.omega / (2 * math.pi)

    @property
    def time(self) -> float:
        return self.frequency


class KernelFrequencySolver:
    """Time-periodic states of an assembled :class:`~femheat.kernels.pipeline.KernelSystem`.

    Parameters
    ----------
    system
        The kernel system (operator, capacity, loads, constraints).
    modes
        Memory modes (default: those of the problem, else the single τ of
        ``problem.relaxation_time``).
    tol, max_iterations
        GMRES relative tolerance and iteration limit per frequency.
    """

    def __init__(self, system, modes: Optional[MemoryModes] = None, tol: float = 1e-10,
                 max_iterations: int = 400):
        self.system = system
        p = system.problem
        if modes is None:
            modes = getattr(p, "memory", None) or MemoryModes.single(p.relaxation_time)
        self.modes = modes
        self.tol, self.max_iterations = tol, max_iterations
        op = system.operator
        self.op = op
        self.Mc = system.capacity_matrix
        self.Kloc = op.local_stiffness().tocsr()
        self.free, self.fixed = system.free, system.fixed
        if self.free.size == 0:
            raise FemheatInputError("every node has a prescribed temperature; nothing to solve")
        self.b = system.load(0.0).astype(complex)
        self.lift = np.zeros(system.n, dtype=complex)
        self.lift[self.fixed] = system.values
        K1, M = _unit_forms(op.basis)
        self._kap = float(self.Kloc.diagonal().sum() / K1.diagonal().sum())
        self._cap = float(self.Mc.diagonal().sum() / M.diagonal().sum())
        self._k = _band(op)
        self._sA = _operator_symbol(op, self._k)
        self.e = np.asarray(self.Mc.sum(axis=1)).ravel()

    def _apply(self, x: np.ndarray) -> np.ndarray:
        """A x for complex x (A is real)."""
        return self.op.apply(x.real) + 1j * self.op.apply(x.imag)

    def _beta(self, omega: float, phi: complex) -> float:
        if self._sA is None:
            return 1.0
        num = 1j * omega * self._cap + phi * self._kap * self._sA
        best = (1.0, math.inf)
        for beta in np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 41)]):
            den = 1j * omega * self._cap + phi * self._kap * beta * self._k**2
            r = np.abs(num / den)
            cond = _symbol_condition(r)
            if cond < best[1] * (1 - 1e-9):
                best = (float(beta), cond)
        return best[0]

    def solve(self, omega: float) -> KernelFrequencyState:
        """The complex amplitudes at ω [rad/s] > 0."""
        omega = float(finite_array(omega, "frequency.omega"))
        if omega <= 0:
            raise FemheatInputError(f"frequency: omega must be > 0 rad/s, got {omega}")
        phi = complex(self.modes.factor(1j * omega))
        free, n = self.free, self.system.n
        Mc = self.Mc

        def full(x: np.ndarray) -> np.ndarray:
            return 1j * omega * (Mc @ x) + phi * self._apply(x)

        rhs = (self.b - full(self.lift))[free]
        beta = self._beta(omega, phi)
        P = (1j * omega * Mc + (phi * beta) * self.Kloc).tocsc()[free][:, free]
        lu = spla.splu(P.tocsc())

        def mv(xf: np.ndarray) -> np.ndarray:
            x = np.zeros(n, dtype=complex)
            x[free] = xf
            return full(x)[free]

        nf = free.size
        A = spla.LinearOperator((nf, nf), matvec=mv, dtype=complex)
        Minv = spla.LinearOperator((nf, nf), matvec=lu.solve, dtype=complex)
        its = [0]

        def count(_):
            its[0] += 1

        xf, info = spla.gmres(A, rhs, M=Minv, rtol=self.tol, atol=0.0, restart=60,
                              maxiter=self.max_iterations, callback=count,
                              callback_type="pr_norm")
        if info != 0 or not np.all(np.isfinite(xf)):
            raise SolverError(f"kernel frequency solve at omega = {omega:g} rad/s did not "
                              f"converge (GMRES info {info})")
        T = self.lift.copy()
        T[free] = xf
        r = full(T) - self.b
        flows = {name: 0j for name in self.system.problem.regions.boundaries}
        for name, dofs in self.system.owners.items():
            flows[name] = -complex(r[dofs].sum())
        stored = 1j * omega * complex(self.e @ T)
        src = complex(self.b.sum())
        H = sum(flows.values())
        scale = max(omega * float(self.e @ np.abs(T)), sum(abs(v) for v in flows.values()),
                    float(np.abs(self.b).sum()), 1e-300)
        bal = abs(stored + H - src) / scale
        q = phi * (np.asarray(self.op.flux(T.real)) + 1j * np.asarray(self.op.flux(T.imag)))
        log.info("kernel frequency solve at %g Hz: %d GMRES iterations (beta %.2g)",
                 omega / (2 * math.pi), its[0], beta)
        return KernelFrequencyState(omega, T, q, flows, bal, its[0])


def kernel_frequency_sweep(system, frequencies: Iterable[float],
                           modes: Optional[MemoryModes] = None
                           ) -> Iterator[KernelFrequencyState]:
    """Yield the state at each frequency f [Hz] (ω = 2πf), the operator built once."""
    from ..solve.frequency import check_frequencies

    solver = KernelFrequencySolver(system, modes)
    for f in check_frequencies(frequencies):
        yield solver.solve(2 * math.pi * float(f))

