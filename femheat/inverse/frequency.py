r"""Frequency-domain forward model from a case file, with tangent-linear derivatives.

:class:`FrequencyForward` fits the phase (or amplitude) of a probe quantity of a
``[frequency]`` case (any model with a frequency-domain solver: Fourier, MCV, GK,
memory, with Kapitza interfaces) at the data's frequencies. Per frequency
ω = 2πf the mixed system is reduced to the flux (:mod:`femheat.solve.frequency`),

.. math::

    K(\omega)\,\hat q_f = b(\omega), \qquad
    K = \bigl(Z(\omega) + G^T (i\omega C)^{-1} B\bigr)_{ff}, \qquad
    \hat T = c - (i\omega)^{-1} H \hat q, \quad c = (i\omega C)^{-1}\hat F,\ H = C^{-1}B,

(``f`` the free flux dofs; ``b`` holds the loads and the prescribed normal fluxes),
and the probe is a linear functional s = w·T̂ [K] (default: the mean temperature of
a named boundary, :func:`~femheat.analysis.observables.boundary_mean_functional`).
The signal is arg s [rad] (``quantity = "phase"``; a lag is negative) or |s| [K].

**Tangent-linear derivatives.** For a parameter p (any case key path),
differentiating K q̂_f = b gives one extra solve with the factorization of K
already made for the forward solve:

.. math::

    K\, \partial_p \hat q_f = \partial_p b - (\partial_p K)\,\hat q_f, \qquad
    \partial_p \hat T = \partial_p c - (i\omega)^{-1}(\partial_p H\,\hat q + H\,\partial_p \hat q),

    \partial_p s = \partial_p w \cdot \hat T + w \cdot \partial_p \hat T, \qquad
    \partial_p \arg s = \operatorname{Im}(\partial_p s / s), \quad
    \partial_p |s| = \operatorname{Re}(\bar s\, \partial_p s)/|s| .

The operator derivatives ∂_p K, ∂_p b, ∂_p c, ∂_p H are the central differences of
the *assembled* operators at p(1 ± δ), δ = 10⁻⁵ (two assemblies per parameter, no
extra factorization): exact for operators affine in p (τ in M = (τκ⁻¹q, v), a
Kapitza resistance R_K, a boundary flux amplitude), with relative error δ² ≈ 10⁻¹⁰
for κ⁻¹ and C⁻¹. A fit uses them by default (``jacobian = "tangent"``).

Geometry is Cartesian here; an axisymmetric FDTR model plugs in by passing its own
probe (``probe=callable(system) -> w``) or its own forward callable to
:func:`~femheat.inverse.fit.fit`.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from ..errors import FemheatInputError, SolverError
from ..pipeline.sweep_params import set_path, shared_mesh
from .data import Dataset

__all__ = ["FrequencyForward", "QUANTITIES"]

#: Signal of the complex probe s: phase arg s [rad] or amplitude |s|.
QUANTITIES = ("phase", "amplitude")

Probe = Union[str, Callable[[Any], np.ndarray]]


def _probe_functional(system: Any, probe: Probe) -> np.ndarray:
    """w with s = w·T̂: ``"temperature:NAME"`` (boundary mean) or a callable."""
    from ..analysis.observables import boundary_mean_functional

    if callable(probe):
        return np.asarray(probe(system))
    kind, _, name = str(probe).partition(":")
    if kind != "temperature" or not name:
        raise FemheatInputError(f"fit.probe = {probe!r}; use 'temperature:BOUNDARY' (the mean "
                                "temperature amplitude of a named boundary)")
    return boundary_mean_functional(system, name)


@dataclass
class _Parts:
    """The reduced complex system of one frequency (see the module docstring), its
    ω-independent pieces kept apart so that their differences in p do not cancel
    against the large G^T C⁻¹ B/(iω) term: K = Z + S/(iω), b = b₀ − Z_e q_e − S_e q_e/(iω)."""

    Z: sp.csr_matrix        # Z(ω)_ff
    S: sp.csr_matrix        # (G^T C⁻¹ B)_ff
    Ze: sp.csr_matrix       # Z(ω)_fe
    Se: sp.csr_matrix       # (G^T C⁻¹ B)_fe
    b0: np.ndarray          # (f + G^T c)_f
    c: np.ndarray
    H: sp.csr_matrix        # (iω)⁻¹ C⁻¹ B
    qe: np.ndarray          # prescribed flux values
    iw: complex

    @property
    def K(self) -> sp.csr_matrix:
        return (self.Z + self.S / self.iw).tocsr()

    @property
    def b(self) -> np.ndarray:
        return self.b0 - self.Ze @ self.qe - (self.Se @ self.qe) / self.iw


def _parts(system: Any, omega: float, cache: dict) -> _Parts:
    """The pieces of K, b, c, H/(iω) of ``system`` at ω [rad/s]."""
    free, ess = system.free_dofs, system.essential_dofs
    if "S" not in cache:
        B, G = system.divergence, system.gradient
        Cinv = system.capacity_inverse
        S = (G.T @ Cinv @ B).tocsr()
        cache.update(S=S[free][:, free].tocsr(), Se=S[free][:, ess].tocsr(),
                     H=(Cinv @ B).tocsr(), Cinv=Cinv, Gt=sp.csr_matrix(G.T),
                     f=system.flux_load(0.0), F=system.heat_load(0.0),
                     qe=np.asarray(system.essential_values(0.0), dtype=complex))
    iw = 1j * omega
    Z = sp.csr_matrix(system.model.flux_impedance(system, omega))[free]
    c = cache["Cinv"] @ cache["F"] / iw
    b0 = (cache["f"] + cache["Gt"] @ c)[free]
    return _Parts(Z[:, free].tocsr(), cache["S"], Z[:, ess].tocsr(), cache["Se"], b0, c,
                  (cache["H"] / iw).tocsr(), cache["qe"], iw)


@dataclass
class FrequencyForward:
    """Phase (or amplitude) of a probe of a ``[frequency]`` case at the data's frequencies.

    Parameters
    ----------
    table, base
        The case table (with ``[frequency]``; its frequency list is not used: the
        data's are) and the folder of the case file.
    keys
        Key paths of the free parameters, in the fit's order.
    datasets
        Data sets whose ``x`` are frequencies f [Hz] (> 0).
    probe
        ``"temperature:BOUNDARY"`` or a callable ``system -> w`` (s = w·T̂).
    quantity
        ``"phase"`` (arg s [rad]) or ``"amplitude"`` (|s|).
    step
        Relative δ of the operator differences of the tangent model.
    """

    table: dict
    base: Path
    keys: Sequence[str]
    datasets: Sequence[Dataset]
    probe: Probe = "temperature:left"
    quantity: str = "phase"
    step: float = 1e-5
    solves: int = 0
    tangent_solves: int = 0
    experiment: str = field(default="frequency", init=False)

    def __post_init__(self) -> None:
        from ..io.case import parse_case

        if self.quantity not in QUANTITIES:
            raise FemheatInputError(f"fit.quantity = {self.quantity!r}; use one of "
                                    f"{', '.join(QUANTITIES)}")
        self.table = {k: v for k, v in copy.deepcopy(dict(self.table)).items() if k != "fit"}
        self.base = Path(self.base)
        if "frequency" not in self.table:
            raise FemheatInputError("fit.experiment = 'frequency' needs a [frequency] case "
                                    "(the time-periodic state); add a [frequency] section")
        self.mesh = shared_mesh(self.table.get("mesh"), self.base)
        case = parse_case(copy.deepcopy(self.table), self.base, mesh=self.mesh)  # checks now
        from ..registry import get_model

        system = get_model(case.model).assemble(case.problem)
        _probe_functional(system, self.probe)  # an unknown boundary is named now
        for d in self.datasets:
            if not np.all(d.x > 0):
                raise FemheatInputError(f"data set {d.name!r}: frequencies must be > 0 Hz, "
                                        f"got {d.x.min():g}")
        self.frequencies = np.unique(np.concatenate([d.x for d in self.datasets]))
        self._last: Optional[tuple[bytes, Any, list, list]] = None

    # ------------------------------------------------------------------ model
    def fitted_table(self, p: Sequence[float]) -> dict:
        """The case table with the values ``p`` at their key paths."""
        data = copy.deepcopy(self.table)
        for k, v in zip(self.keys, p):
            set_path(data, k, float(v))
        return data

    def system(self, p: Sequence[float]) -> Any:
        """The assembled system of the case with ``p`` set at the key paths."""
        from ..io.case import parse_case
        from ..registry import get_model

        with warnings.catch_warnings():  # plausibility warnings: once, in __post_init__
            warnings.simplefilter("ignore")
            case = parse_case(self.fitted_table(p), self.base, mesh=self.mesh)
        return get_model(case.model).assemble(case.problem)

    def response(self, p: Sequence[float]) -> np.ndarray:
        """The complex probe s(f) [K] at :attr:`frequencies` (factorizations kept)."""
        from ..solve.factorization import factorize

        p = np.asarray(p, dtype=float)
        key = p.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[3]
        system = self.system(p)
        w = _probe_functional(system, self.probe)
        cache: dict = {}
        solves, s = [], []
        for f in self.frequencies:
            pa = _parts(system, 2 * np.pi * f, cache)
            try:
                solve = factorize(pa.K, symmetric=system.symmetric)
            except SolverError as exc:
                raise SolverError(f"frequency fit: the solve at {f:g} Hz failed ({exc}) at "
                                  f"p = {p.tolist()}") from exc
            qf = solve(np.asarray(pa.b, dtype=complex))
            q = self._full(system, qf, pa.qe)
            s.append(complex(w @ (pa.c - pa.H @ q)))
            solves.append((solve, qf, q, pa))
        self.solves += 1
        s = np.array(s)
        self._last = (key, (system, w), solves, s)
        return s

    @staticmethod
    def _full(system: Any, qf: np.ndarray, qe: np.ndarray) -> np.ndarray:
        q = np.zeros(system.n_flux, dtype=complex)
        q[system.free_dofs] = qf
        q[system.essential_dofs] = qe
        return q

    def _signal(self, s: np.ndarray) -> np.ndarray:
        return np.angle(s) if self.quantity == "phase" else np.abs(s)

    def _at_data(self, values: np.ndarray) -> np.ndarray:
        index = {f: i for i, f in enumerate(self.frequencies)}
        return np.concatenate([values[[index[f] for f in d.x]] for d in self.datasets])

    def __call__(self, p: Sequence[float]) -> np.ndarray:
        return self._at_data(self._signal(self.response(p)))

    def jacobian_p(self, p: Sequence[float]) -> np.ndarray:
        """∂signal/∂p at every data point, (points, parameters), by tangent-linear
        solves with the forward factorizations (module docstring)."""
        p = np.asarray(p, dtype=float)
        s = self.response(p)
        (system, w), solves = self._last[1], self._last[2]
        iw = 2j * np.pi * self.frequencies
        J = np.empty((self.frequencies.size, p.size))
        for j in range(p.size):
            h = self.step * (abs(p[j]) or 1.0)
            sides = []
            for sign in (1.0, -1.0):
                pp = p.copy()
                pp[j] += sign * h
                sys_ = self.system(pp)
                sides.append((sys_, _probe_functional(sys_, self.probe), {}))
            ds = np.empty(self.frequencies.size, dtype=complex)
            for i, (solve, qf, q, pa) in enumerate(solves):
                plus, minus = (_parts(x[0], iw[i].imag, x[2]) for x in sides)
                dZ, dS = (plus.Z - minus.Z) / (2 * h), (plus.S - minus.S) / (2 * h)
                dK = dZ + dS / pa.iw
                db = ((plus.b0 - minus.b0) - (plus.Ze @ plus.qe - minus.Ze @ minus.qe)
                      - (plus.Se @ plus.qe - minus.Se @ minus.qe) / pa.iw) / (2 * h)
                dqf = solve(np.asarray(db - dK @ qf, dtype=complex))
                self.tangent_solves += 1
                dq = self._full(system, dqf, (plus.qe - minus.qe) / (2 * h))
                T = pa.c - pa.H @ q
                dT = (plus.c - minus.c) / (2 * h) - ((plus.H - minus.H) / (2 * h)) @ q \
                    - pa.H @ dq
                dw = (sides[0][1] - sides[1][1]) / (2 * h)
                ds[i] = dw @ T + w @ dT
            if self.quantity == "phase":
                J[:, j] = (ds / s).imag
            else:
                J[:, j] = (np.conj(s) * ds).real / np.abs(s)
        return np.vstack([J[[list(self.frequencies).index(f) for f in d.x]]
                          for d in self.datasets])
