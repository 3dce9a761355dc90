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

one complex sparse solve per frequency. The GK vorticity form
(:mod:`femheat.assembly.vorticity`, Z = A₀ + Cᵀ M_ω⁻¹ C + iωM) keeps the vorticity
as an unknown here as in the θ-scheme: the complex symmetric augmented system
[[K₀(ω), Cᵀ], [C, −M_ω]] is factorized (SuperLU on CHOLMOD's ordering, nested
dissection in 3D), which needs no formed Cᵀ M_ω⁻¹ C (in 3D there is none: M_ω⁻¹
is dense). A sweep reuses the assembled blocks and,
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
from typing import Any, Iterable, Iterator, Mapping, Optional

import numpy as np
import scipy.sparse as sp

from ..assembly.rotation import formed_resistance, not_formed
from ..errors import FemheatInputError, SolverError
from ..validation import finite_array
from .augmented import kept_rotation
from .factorization import factorize, ordering_for
from .landau import landau_active

__all__ = ["FrequencyState", "FrequencySolver", "frequency_sweep", "check_frequencies",
           "operator_snapshot", "ReducedSystem", "reduced_system", "ReducedPattern"]

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


def _standard_impedance(system: Any) -> bool:
    """Whether Z(ω) = R + iωM (the mixed family's own ``flux_impedance``)."""
    from ..models.mixed import MixedModel

    return type(system.model).flux_impedance is MixedModel.flux_impedance


def operator_snapshot(system: Any, w: Optional[np.ndarray] = None,
                      keep_rotation: bool = False) -> dict[str, Any]:
    r"""The ω-independent pieces of the reduced system (module docstring), each linear in
    the assembled operators: R, M (Z = R + iωM) split into free/essential columns,
    S = GᵀC⁻¹B, H = C⁻¹B, C⁻¹F, f, the prescribed fluxes and an optional probe w (a
    linear functional of T). Models whose Z(ω) is not R + iωM (memory modes) keep
    their ``flux_impedance``. :func:`reduced_system` builds one frequency from it; the
    fits of :mod:`femheat.inverse.frequency` interpolate and differentiate it.

    ``keep_rotation`` (a vorticity-form system whose solves keep ω,
    :func:`~femheat.solve.augmented.kept_rotation`): R (or a model's Z) leaves out
    Cᵀ M_ω⁻¹ C and the snapshot's
    ``"rotation"`` holds (C_f, C_e, M_ω), the columns of C on the free and the
    prescribed flux DOFs; otherwise a 3D vorticity system (no formed A) is refused."""
    rotation = kept_rotation(system) if keep_rotation else None
    if rotation is None:  # a formed snapshot: R holds Cᵀ M_ω⁻¹ C
        formed_resistance(system, "operator_snapshot without keep_rotation")
    free, ess = system.free_dofs, system.essential_dofs
    B, G = system.divergence, system.gradient
    Cinv = system.capacity_inverse
    S = sp.csr_matrix(G.T @ Cinv @ B)[free]
    CF = Cinv @ system.heat_load(0.0)
    out: dict[str, Any] = dict(
        Sff=S[:, free].tocsr(), Sfe=S[:, ess].tocsr(), H=sp.csr_matrix(Cinv @ B),
        CF=np.asarray(CF, dtype=float), GtCF=np.asarray(G.T @ CF)[free],
        f=np.asarray(system.flux_load(0.0))[free],
        qe=np.asarray(system.essential_values(0.0), dtype=float),
        w=None if w is None else np.asarray(w))
    if _standard_impedance(system):
        R = sp.csr_matrix(system.resistance if rotation is None
                          else system.resistance_base)[free]
        M = sp.csr_matrix(system.inertia)[free]
        out.update(Rff=R[:, free].tocsr(), Rfe=R[:, ess].tocsr(), Mff=M[:, free].tocsr(),
                   Mfe=M[:, ess].tocsr())
    else:
        def impedance(omega: float) -> tuple[sp.csr_matrix, sp.csr_matrix]:
            Z = system.model.flux_impedance(system, omega, rotation is not None)
            Z = sp.csr_matrix(Z)[free]
            return Z[:, free].tocsr(), Z[:, ess].tocsr()

        out["impedance"] = impedance
    if rotation is not None:
        C, mass = rotation
        out["rotation"] = (C[:, free].tocsr(), C[:, ess].tocsr(), mass)
    return out


class ReducedSystem:
    """The reduced complex system of one frequency (see the module docstring):
    K = Z + S/(iω), b = b₀ − Z_e q_e − S_e q_e/(iω); linear in the snapshot, so the
    parts of a snapshot's derivative are the derivatives of the parts.

    The sparse pieces are formed only when asked for (``Z``, ``Ze``, ``H``, ``K``);
    the products ``K_dot``, ``Ze_dot`` and ``H_dot`` apply them by matrix-vector
    products of the snapshot's own matrices, without forming sums."""

    def __init__(self, snap: Mapping[str, Any], omega: float):
        self.snap = snap
        self.omega = float(omega)
        self.iw = 1j * self.omega
        self.S = snap["Sff"]        # (G^T C⁻¹ B)_ff
        self.Se = snap["Sfe"]       # (G^T C⁻¹ B)_fe
        self.qe = snap["qe"]        # prescribed flux values
        self.c = snap["CF"] / self.iw
        self.b0 = snap["f"] + snap["GtCF"] / self.iw   # (f + G^T c)_f
        self._Z: Optional[tuple[sp.csr_matrix, sp.csr_matrix]] = None
        self._H: Optional[sp.csr_matrix] = None

    def _impedance(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        if self._Z is None:
            snap, iw = self.snap, self.iw
            if "impedance" in snap:
                self._Z = snap["impedance"](self.omega)
            else:
                self._Z = ((snap["Rff"] + iw * snap["Mff"]).tocsr(),
                           (snap["Rfe"] + iw * snap["Mfe"]).tocsr())
        return self._Z

    @property
    def Z(self) -> sp.csr_matrix:
        """Z(ω)_ff."""
        return self._impedance()[0]

    @property
    def Ze(self) -> sp.csr_matrix:
        """Z(ω)_fe."""
        return self._impedance()[1]

    @property
    def H(self) -> sp.csr_matrix:
        """(iω)⁻¹ C⁻¹ B."""
        if self._H is None:
            self._H = (self.snap["H"] / self.iw).tocsr()
        return self._H

    @property
    def K(self) -> sp.csr_matrix:
        """K as a sparse matrix (formed Cᵀ M_ω⁻¹ C of a lumped vorticity mass included;
        refused for a consistent one)."""
        K = (self.Z + self.S / self.iw).tocsr()
        if "rotation" in self.snap:
            Cf, _, mass = self.snap["rotation"]
            if not mass.lumped:
                raise not_formed("the reduced frequency-domain matrix K")
            K = (K + mass.formed(Cf, Cf)).tocsr()
        return K

    @property
    def b_base(self) -> np.ndarray:
        """b without the rotation part of the lifting (that of Cᵀ M_ω⁻¹ C_e q_e)."""
        return self.b0 - self._Z_dot(self.qe, "fe", False) - (self.Se @ self.qe) / self.iw

    @property
    def b(self) -> np.ndarray:
        return self.b0 - self.Ze_dot(self.qe) - (self.Se @ self.qe) / self.iw

    def _Z_dot(self, x: np.ndarray, part: str, rotation: bool = True) -> np.ndarray:
        snap = self.snap
        if "impedance" in snap:
            out = self._impedance()[part == "fe"] @ x
        else:
            out = snap[f"R{part}"] @ x + self.iw * (snap[f"M{part}"] @ x)
        if rotation and "rotation" in snap:
            Cf, Ce, mass = snap["rotation"]
            out = out + Cf.T @ mass.inverse_times((Cf if part == "ff" else Ce) @ x)
        return out

    def K_dot(self, x: np.ndarray) -> np.ndarray:
        """K x."""
        return self._Z_dot(x, "ff") + (self.S @ x) / self.iw

    def Ze_dot(self, x: np.ndarray) -> np.ndarray:
        """Z(ω)_fe x."""
        return self._Z_dot(x, "fe")

    def H_dot(self, q: np.ndarray) -> np.ndarray:
        """(iω)⁻¹ C⁻¹ B q."""
        return (self.snap["H"] @ q) / self.iw


def reduced_system(snap: Mapping[str, Any], omega: float) -> ReducedSystem:
    """The pieces of K, b, c, H/(iω) of a snapshot at ω [rad/s]."""
    return ReducedSystem(snap, omega)


class ReducedPattern:
    """K(ω) = R_ff + iω M_ff + S_ff/(iω) for snapshots whose three matrices keep one
    sparsity pattern each (the snapshots of one mesh: assembled or interpolated):
    the union pattern in CSC order and the position of every stored entry in it are
    found once, so a frequency costs one complex combination of three value
    vectors (no sparse sums, no CSR -> CSC conversion).

    :meth:`values` returns None for a snapshot with other patterns (or a model
    impedance); the caller then forms ``ReducedSystem.K``."""

    KEYS = ("Rff", "Mff", "Sff")

    def __init__(self, snap: Mapping[str, Any]):
        mats = [sp.csr_matrix(snap[k]) for k in self.KEYS]
        self.shape = mats[0].shape
        nrow, ncol = self.shape
        lins, srcs = [], []
        for m in mats:
            pos = sp.csr_matrix((np.arange(1, m.nnz + 1, dtype=float), m.indices, m.indptr),
                                shape=m.shape).tocsc()
            col = np.repeat(np.arange(ncol, dtype=np.int64), np.diff(pos.indptr))
            lins.append(col * nrow + pos.indices)
            srcs.append(pos.data.astype(np.int64) - 1)
        union = np.unique(np.concatenate(lins))
        cols, rows = np.divmod(union, nrow)
        self.nnz = int(union.size)
        index = np.int32 if max(self.nnz, nrow) < 2 ** 31 - 1 else np.int64
        self.indptr = np.searchsorted(cols, np.arange(ncol + 1)).astype(index)
        self.indices = rows.astype(index)
        self._maps = [(src, np.searchsorted(union, lin)) for src, lin in zip(srcs, lins)]
        self._patterns = [(m.indptr.copy(), m.indices.copy()) for m in mats]

    def values(self, snap: Mapping[str, Any]) -> Optional[tuple[np.ndarray, ...]]:
        """R_ff, M_ff, S_ff of ``snap`` on the union pattern, or None if the patterns
        differ from the first snapshot's."""
        if "impedance" in snap or "rotation" in snap:
            return None
        out = []
        for k, (ptr, ind), (src, dst) in zip(self.KEYS, self._patterns, self._maps):
            m = snap[k]
            if not (sp.isspmatrix_csr(m) and m.shape == self.shape
                    and np.array_equal(m.indptr, ptr) and np.array_equal(m.indices, ind)):
                return None
            data = m.data[src]
            if np.iscomplexobj(data):
                out.append(np.bincount(dst, data.real, self.nnz)
                           + 1j * np.bincount(dst, data.imag, self.nnz))
            else:
                out.append(np.bincount(dst, data, self.nnz))
        return tuple(out)

    def matrix(self, values: tuple[np.ndarray, ...], omega: float) -> sp.csc_matrix:
        """K(ω) (CSC, sorted indices) from :meth:`values`."""
        iw = 1j * omega
        r, m, s = values
        K = sp.csc_matrix((r + iw * m + s / iw, self.indices, self.indptr), shape=self.shape)
        K.has_sorted_indices = True
        return K


class FrequencySolver:
    """Solve the time-periodic state of an assembled mixed system at given ω.

    Parameters
    ----------
    system
        A :class:`~femheat.assembly.system.MixedSystem` (Fourier, MCV, GK, memory).
    """

    def __init__(self, system):
        self.system = system
        if landau_active(system):
            raise FemheatInputError(
                "a frequency-domain run linearizes about q = 0; Landau-Khalatnikov "
                "materials with b > 0, c > 0 or a < 0 are nonlinear or ordered there "
                "(no frequency response): use a transient run, or b = 0 for a frequency "
                "study")
        # ω-independent, built once; the vorticity form keeps ω an unknown
        self._snapshot = operator_snapshot(system, keep_rotation=True)
        self._ordering = ordering_for(system.problem.regions.dim)

    def solve(self, omega: float) -> FrequencyState:
        """The complex amplitudes at ω [rad/s] > 0."""
        omega = float(finite_array(omega, "frequency.omega"))
        if omega <= 0:
            raise FemheatInputError(f"frequency: omega must be > 0 rad/s, got {omega}")
        sys = self.system
        red = reduced_system(self._snapshot, omega)
        try:
            if "rotation" in self._snapshot:
                x = self._solve_augmented(red)
            else:
                solve = factorize(red.K, symmetric=sys.symmetric, ordering=self._ordering)
                x = solve(np.asarray(red.b, dtype=complex))
        except SolverError as exc:
            raise SolverError(f"frequency-domain solve at omega = {omega:g} rad/s failed "
                              f"({exc}); check the boundary conditions and material "
                              "data") from exc
        if not np.all(np.isfinite(x)):
            raise SolverError(f"frequency-domain solve at omega = {omega:g} rad/s produced "
                              "non-finite values")
        q = np.zeros(sys.n_flux, dtype=complex)
        q[sys.free_dofs], q[sys.essential_dofs] = x, red.qe
        T = red.c - red.H @ q
        return FrequencyState(omega, T, q)

    def _solve_augmented(self, red: ReducedSystem) -> np.ndarray:
        r"""x = q_f from [[K₀, C_fᵀ], [C_f, −M_ω]] (x, y) = (b₀, −C_e q_e), K₀ = K
        without Cᵀ M_ω⁻¹ C: the second row gives y = M_ω⁻¹ (C_f x + C_e q_e) (the
        vorticity), the first K₀x + C_fᵀ y = b₀, the reduced system with its lifting."""
        Cf, Ce, mass = self._snapshot["rotation"]
        K0 = (red.Z + red.S / red.iw).tocsr()
        aug = sp.bmat([[K0, Cf.T], [Cf, mass.block()]], format="csc")
        rhs = np.concatenate([np.asarray(red.b_base, dtype=complex),
                              -(Ce @ red.qe).astype(complex)])
        solve = factorize(aug, symmetric=True, ordering=mass.ordering)
        return solve(rhs)[:Cf.shape[1]]


def frequency_sweep(system, frequencies: Iterable[float]) -> Iterator[FrequencyState]:
    """Yield the :class:`FrequencyState` at each frequency f [Hz] (ω = 2πf)."""
    solver = FrequencySolver(system)
    for f in check_frequencies(frequencies):
        yield solver.solve(2 * np.pi * float(f))
