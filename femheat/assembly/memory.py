r"""Operators of the multi-mode memory law (:mod:`femheat.physics.memory`).

Each mode m obeys, tested with v in H(div),

.. math::

    (\tau_m\kappa_m^{-1}\dot q_m, v) + (\kappa_m^{-1} q_m, v)
    + \langle R\, q\cdot n, v\cdot n\rangle - (T, \nabla\cdot v) = f(v),
    \qquad q = \sum_m q_m,

the Kapitza/convective facet terms K_ext (and any model flux operator) acting on the
total flux, because the temperature jump they represent is one for all modes.

Two cases (decided by :func:`mode_operators`):

* **shared shape** -- every τₘ is constant in space and κₘ = wₘ κ(x) with constant
  weights wₘ (Σwₘ = 1): all mode mass matrices are multiples of one matrix
  P = (κ⁻¹q, v), Pₘ = P/wₘ. This is the usual case (the Prony modes of one
  material, or a single MCV material). The θ-scheme then eliminates the modes
  exactly and each step solves one system in the total flux
  (:mod:`femheat.solve.memory`).
* **general** -- modes of different spatial shape (materials with different
  spectra, position-dependent τₘ): per-mode matrices Pₘ = (κₘ⁻¹q, v) and
  Tₘ = (τₘκₘ⁻¹q, v); the step solves for all mode fluxes together (M times the
  flux unknowns).

Materials with fewer modes than the largest spectrum are padded by splitting
their last mode into identical halves, which changes nothing (two modes with the
same τ are one mode with the summed κ).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import scipy.sparse as sp

from ..physics.materials import Material, material_fields
from ..element.spaces import evaluation_points
from ..physics.memory import Mode, material_modes
from .rotation import RotationOperator

__all__ = ["ModeOperators", "mode_operators", "padded_modes"]

log = logging.getLogger(__name__)


def _scaled(k, s: float):
    if callable(k):
        return lambda x: s * np.asarray(k(x), dtype=float)
    return s * np.asarray(k, dtype=float) if np.ndim(k) else s * float(k)


def padded_modes(modes: tuple[Mode, ...], count: int) -> list[Mode]:
    """``modes`` extended to ``count`` by halving the last one (an exact identity)."""
    out = list(modes)
    while len(out) < count:
        k, t = out.pop()
        out += [(_scaled(k, 0.5), t), (_scaled(k, 0.5), t)]
    return out


@dataclass
class ModeOperators:
    """Assembled mode operators of a :class:`~femheat.assembly.system.MixedSystem`.

    Attributes
    ----------
    count
        M, the number of modes (after padding).
    shared
        True in the shared-shape case (exact one-system elimination).
    weights, times
        Shared case: wₘ = κₘ/κ and τₘ [s], shape (M,).
    bulk
        P = (κ⁻¹ q, v), κ = Σκₘ (n_q × n_q).
    external
        K_ext = A − P: Kapitza, convection and model flux operators (n_q × n_q); for
        the vorticity form with a consistent M_ω (3D; 2D degree 1 with walls) a
        :class:`~femheat.assembly.rotation.RotationOperator` (A₀ − P applied with
        Cᵀ M_ω⁻¹ C, never formed).
    resistance, inertia
        General case: Pₘ = (κₘ⁻¹q, v) and Tₘ = (τₘκₘ⁻¹q, v) per mode.
    external_base
        The GK vorticity form: K_ext without its rotation part, A₀ − P (what the
        solvers that keep ω form); None for the other models.
    """

    count: int
    shared: bool
    bulk: sp.csr_matrix
    external: sp.csr_matrix | RotationOperator
    weights: Optional[np.ndarray] = None
    times: Optional[np.ndarray] = None
    resistance: list = field(default_factory=list)
    inertia: list = field(default_factory=list)
    external_base: Optional[sp.csr_matrix] = None

    def split(self, flux: np.ndarray) -> np.ndarray:
        """Mode fluxes (M, n_q) of a total flux in the steady (Fourier) proportion,
        qₘ = κₘκ⁻¹q: Pₘqₘ = Pq per mode, the last mode taking the remainder so that
        Σqₘ = q exactly."""
        if self.shared:
            return self.weights[:, None] * flux[None, :]
        from scipy.sparse.linalg import splu

        rhs = self.bulk @ flux
        out = np.empty((self.count, flux.size))
        for m in range(self.count - 1):
            out[m] = splu(sp.csc_matrix(self.resistance[m])).solve(rhs)
        out[-1] = flux - out[:-1].sum(axis=0)
        return out


def mode_operators(system, coupled: bool = False) -> ModeOperators:
    """The mode operators of an assembled system whose materials carry modes.

    ``coupled=True`` takes the general (coupled mode fluxes) route even when the
    modes share one shape (for tests and comparisons)."""
    problem, qb = system.problem, system.flux_basis
    rm = problem.regions
    spectra = {n: material_modes(m) for n, m in problem.materials.items()}
    count = max(len(s) for s in spectra.values())
    padded = {n: padded_modes(s, count) for n, s in spectra.items()}
    x = evaluation_points(qb)
    kinv = system.fields.resistivity
    forms = system.forms
    P = forms.flux_mass.assemble(qb, kinv=kinv).tocsr()
    base = None if system.rotation is None else (system.resistance_base - P).tocsr()
    if isinstance(system.resistance, RotationOperator):  # consistent M_ω: unformed
        external = RotationOperator(base, system.resistance.C, system.resistance.mass)
    else:
        external = (system.resistance - P).tocsr()
    kinvs, taus = [], []
    for m in range(count):
        mats = {n: Material(padded[n][m][0], 1.0, padded[n][m][1], name=n)
                for n in padded}
        f = material_fields(rm, mats, x)
        kinvs.append(f.resistivity)
        taus.append(f.relaxation_time)
    shared = not coupled and all(np.all(t == t.flat[0]) for t in taus)
    weights = np.empty(count)
    if shared:
        ref = kinv[0, 0]
        for m in range(count):
            w = ref / kinvs[m][0, 0]
            weights[m] = w.flat[0]
            if not np.allclose(kinvs[m] * weights[m], kinv, rtol=1e-12, atol=0):
                shared = False
                break
    if shared:
        log.info("memory: %d modes of one shape (weights %s): exact single-system "
                 "elimination", count, np.array2string(weights, precision=4))
        return ModeOperators(count, True, P, external, weights,
                             np.array([t.flat[0] for t in taus]), external_base=base)
    log.info("memory: %d modes of different spatial shape: coupled mode fluxes "
             "(%d x n_q unknowns)", count, count)
    res = [forms.flux_mass.assemble(qb, kinv=k).tocsr() for k in kinvs]
    ine = [forms.flux_mass.assemble(qb, kinv=k * t[None, None]).tocsr()
           for k, t in zip(kinvs, taus)]
    return ModeOperators(count, False, P, external, resistance=res, inertia=ine,
                         external_base=base)
