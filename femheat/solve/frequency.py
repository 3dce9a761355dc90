r"""Frequency domain: the time-periodic steady state of the mixed models (seed 004,
eqs. 45–46; issue 11 item 3).

For fields X(x, t) = Re[X̂(x) e^{iωt}] the semi-discrete mixed system
M q̇ + A q − GᵀT = f, C Ṫ + B q = F becomes

.. math::

    Z(\omega)\, \hat q - G^T \hat T = \hat f, \qquad
    i\omega C \hat T + B \hat q = \hat F ,

with the model's flux impedance Z(ω) (:meth:`~femheat.models.mixed.MixedModel.flux_impedance`):
A + iωM for Fourier/MCV/GK (M = (τκ⁻¹q, v), A with Kapitza, convection and the GK
viscous term), (κ/κ(ω)) P + K_ext for the memory model with
κ(ω) = Σκₘ/(1 + iωτₘ). C is block diagonal (DG), so T̂ is eliminated exactly,

.. math::

    \bigl(Z(\omega) + G^T (i\omega C)^{-1} B\bigr)\hat q
      = \hat f + G^T (i\omega C)^{-1}\hat F, \qquad
    \hat T = (i\omega C)^{-1}(\hat F - B\hat q),

one complex sparse solve per frequency. A sweep reuses the assembled blocks and,
for symmetric systems, the fill-reducing ordering of the first factorization
(the sparsity pattern is the same at every ω: the shared symbolic factorization
of :mod:`femheat.solve.factorization`), so later frequencies skip the ordering
step.

Amplitudes are the case's boundary temperatures, normal fluxes and sources,
read as (real) complex amplitudes; amplitude |X̂| and phase arg X̂ (degrees,
relative to the drive) are what the writers report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import scipy.sparse as sp

from ..errors import FemheatInputError, SolverError
from ..validation import finite_array
from .factorization import factorize

__all__ = ["FrequencyState", "FrequencySolver", "frequency_sweep", "check_frequencies"]

log = logging.getLogger(__name__)


@dataclass
class FrequencyState:
    """Complex amplitudes at angular frequency ``omega`` [rad/s].

    ``time`` is the frequency f = ω/2π [Hz] so that writers that label states by
    ``time`` label them by frequency.
    """

    omega: float
    temperature: np.ndarray
    flux: np.ndarray

    @property
    def frequency(self) -> float:
        return self.omega / (2 * np.pi)

    @property
    def time(self) -> float:
        return self.frequency


def check_frequencies(values: Iterable[float], where: str = "frequency.frequencies"
                      ) -> np.ndarray:
    """Frequencies [Hz] as a float array; refuses f ≤ 0 and non-finite values."""
    f = finite_array(list(values), where).ravel()
    if f.size == 0:
        raise FemheatInputError(f"{where} is empty; give at least one frequency in Hz")
    if np.any(f <= 0):
        raise FemheatInputError(
            f"{where} must be > 0 Hz (the steady state f = 0 is a steady run), "
            f"got {f[f <= 0][0]!r}")
    return f


class FrequencySolver:
    """Solve the time-periodic state of an assembled mixed system at given ω.

    Parameters
    ----------
    system
        A :class:`~femheat.assembly.system.MixedSystem` (Fourier, MCV, GK, memory).
    """

    def __init__(self, system):
        self.system = system
        model = system.model
        if np.any(system.fields.cubic > 0):
            raise FemheatInputError(
                "the Landau-Khalatnikov quartic term (b > 0) is nonlinear and has no "
                "frequency response; use b = 0 for a frequency study")
        B, G = system.divergence, system.gradient
        tb = system.temperature_basis
        self._Cinv = system.capacity_inverse
        self._S = (G.T @ self._Cinv @ B).tocsr()  # G^T C^-1 B
        self._H = (self._Cinv @ B).tocsr()
        self._Gt = sp.csr_matrix(G.T)
        self._impedance = model.flux_impedance
        self._ntemp = tb.N

    def solve(self, omega: float) -> FrequencyState:
        """The complex amplitudes at ω [rad/s] > 0."""
        omega = float(finite_array(omega, "frequency.omega"))
        if omega <= 0:
            raise FemheatInputError(f"frequency: omega must be > 0 rad/s, got {omega}")
        sys = self.system
        Z = self._impedance(sys, omega)
        K = (Z + self._S / (1j * omega)).tocsr()
        free, ess = sys.free_dofs, sys.essential_dofs
        CF = self._Cinv @ sys.heat_load(0.0) / (1j * omega)
        rhs = (sys.flux_load(0.0) + self._Gt @ CF)[free]
        qd = sys.essential_values(0.0).astype(complex)
        if qd.size:
            rhs = rhs - K[free][:, ess] @ qd
        try:
            solve = factorize(K[free][:, free], symmetric=sys.symmetric)
            x = solve(np.asarray(rhs, dtype=complex))
        except SolverError as exc:
            raise SolverError(f"frequency-domain solve at omega = {omega:g} rad/s failed "
                              f"({exc}); check the boundary conditions and material "
                              "data") from exc
        if not np.all(np.isfinite(x)):
            raise SolverError(f"frequency-domain solve at omega = {omega:g} rad/s produced "
                              "non-finite values")
        q = np.zeros(sys.n_flux, dtype=complex)
        q[free], q[ess] = x, qd
        T = CF - self._H @ q / (1j * omega)
        return FrequencyState(omega, T, q)


def frequency_sweep(system, frequencies: Iterable[float]) -> Iterator[FrequencyState]:
    """Yield the :class:`FrequencyState` at each frequency f [Hz] (ω = 2πf)."""
    solver = FrequencySolver(system)
    for f in check_frequencies(frequencies):
        yield solver.solve(2 * np.pi * float(f))
