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
and the probe is a linear functional s = w·T̂ [K]: the mean temperature of a named
boundary (``"temperature:NAME"``,
:func:`~femheat.analysis.observables.boundary_mean_functional`) or, for FDTR
(``"fdtr"``, the default when the case has ``[frequency.fdtr]``), the Gaussian-probe
average ∫T̂ e^{−2r²/w₁²} 2πr dr / ∫e^{−2r²/w₁²} 2πr dr of the pumped surface of an
axisymmetric sample (:func:`~femheat.analysis.thermoreflectance.probe_functional`).
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

**Operator reuse** (``reuse=True``, the default). The ω-independent pieces (R, M with
Z = R + iωM, S = GᵀC⁻¹B, H = C⁻¹B, C⁻¹F, f, q_e, w; C and M_ω where the 3D vorticity
form keeps ω) are each multi-affine in p, 1/p, p² or 1/p² of every material/interface
number (:mod:`~femheat.inverse.affine`): they are assembled
at 2^m + m + 1 points once and interpolated exactly afterwards, and ∂_p K, ∂_p b,
∂_p c, ∂_p H are the exact derivatives of the interpolation (no assembly in the
Jacobian). Where a parameter is not (a spot radius, a thickness, a model impedance
Z(ω) of memory modes), or with
``reuse=False``, every evaluation re-parses and re-assembles the case and the operator
derivatives are the central differences of the assembled pieces at p(1 ± δ),
δ = 10⁻⁵ (two assemblies per parameter, no extra factorization; relative error δ² ≈
10⁻¹⁰ for κ⁻¹ and C⁻¹). A fit uses the tangent Jacobian by default
(``jacobian = "tangent"``).

**When the tangent solves are made** (``tangents``). With interpolated operators
(``"auto"`` then means ``"eager"``) the m tangent right-hand sides of a frequency are
formed right after its forward solve and solved in one call with the same
factorization, which is then dropped: one factorization is alive at a time. Keeping
all of them for a later Jacobian request (``"lazy"``, the re-assembling default,
whose operator derivatives cost two assemblies per parameter) holds 30 complex
factorizations per evaluation, and the next evaluation's until it replaces them (1.8
GB max RSS for a fit at 19.7k unknowns against 0.46 GB eager; benchmarks/README.md,
bench_fit_fdtr). The signal and its derivatives at recent points are kept (a few
numbers per frequency), so the Jacobian a fit asks for again at its best point costs
nothing. K(ω) is combined on a union pattern found once
(:class:`~femheat.solve.frequency.ReducedPattern`).

The case's setup checks (e.g. the FDTR penetration depth)
run once, at the initial values and the data's frequencies.
"""

from __future__ import annotations

import copy
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from ..errors import FemheatInputError, SolverError
from ..pipeline.sweep_params import set_path, shared_mesh
from ..solve.factorization import factorize
from ..solve.frequency import ReducedPattern, operator_snapshot, reduced_system
from .data import Dataset

log = logging.getLogger(__name__)

__all__ = ["FrequencyForward", "QUANTITIES"]

#: Signal of the complex probe s: phase arg s [rad] or amplitude |s|.
QUANTITIES = ("phase", "amplitude")

#: When the tangent solves are made: with every forward solve, on request, or eagerly
#: where the operator derivatives are interpolated (cheap).
TANGENTS = ("auto", "eager", "lazy")

Probe = Union[str, Callable[[Any], np.ndarray]]


def fit_snapshot(system: Any, w: Optional[np.ndarray] = None) -> dict[str, Any]:
    """The operator snapshot a fit interpolates and differentiates
    (:func:`~femheat.solve.frequency.operator_snapshot` with the probe ``w``). A system
    whose vorticity mass M_ω is consistent (the 3D GK vorticity form, and 2D degree 1
    with walls that leave ω free: Cᵀ M_ω⁻¹ C is dense) keeps ω as an unknown: the
    snapshot's R leaves that term out and holds C on the free and the prescribed flux
    DOFs (``"Cf"``, ``"Ce"``) and M_ω (``"Mw"``) as plain sparse items, each
    multi-affine in the material numbers on its own (M_ω in κ and 1/l², R in 1/κ). A
    lumped mass is formed into R as before."""
    rotation = getattr(system, "rotation", None)
    keep = rotation is not None and not rotation[1].lumped
    snap = operator_snapshot(system, w, keep_rotation=keep)
    if "rotation" in snap:
        Cf, Ce, mass = snap.pop("rotation")
        snap.update(Cf=Cf, Ce=Ce, Mw=mass.matrix)
    return snap


def _augmented(K0: sp.spmatrix, snap: Mapping[str, Any]) -> sp.csc_matrix:
    """[[K₀, C_fᵀ], [C_f, −M_ω]] of a snapshot that keeps ω (:func:`fit_snapshot`)."""
    Cf = snap["Cf"]
    return sp.bmat([[K0, Cf.T], [Cf, -snap["Mw"]]], format="csc")


def _probe_functional(system: Any, probe: Probe, fdtr: Optional[Mapping] = None
                      ) -> np.ndarray:
    """w with s = w·T̂: ``"temperature:NAME"`` (the mean over a boundary, or over a
    material region of that name), ``"fdtr"`` (the
    Gaussian-probe average of ``[frequency.fdtr]``,
    :func:`~femheat.analysis.thermoreflectance.probe_functional`) or a callable."""
    from ..analysis.observables import boundary_mean_functional, region_mean_functional

    if callable(probe):
        return np.asarray(probe(system))
    if probe == "fdtr":
        from ..analysis.thermoreflectance import probe_functional

        if fdtr is None:
            raise FemheatInputError("fit.probe = 'fdtr' needs a [frequency.fdtr] section "
                                    "(pump_radius, probe_radius) in the case")
        return probe_functional(system, fdtr["probe_radius"], fdtr["surface"])
    kind, _, name = str(probe).partition(":")
    if kind != "temperature" or not name:
        raise FemheatInputError(f"fit.probe = {probe!r}; use 'temperature:NAME' (the mean "
                                "temperature amplitude of a named boundary or material) or "
                                "'fdtr' (the Gaussian probe of [frequency.fdtr])")
    regions = system.problem.regions
    if name in regions.boundaries:
        return boundary_mean_functional(system, name)
    if name in regions.subdomains:
        return region_mean_functional(system, name)
    raise FemheatInputError(
        f"fit.probe = {probe!r}: {name!r} is neither a boundary nor a material of the "
        f"mesh; boundaries: {', '.join(sorted(regions.boundaries))}; materials: "
        f"{', '.join(sorted(regions.subdomains))}")


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
        ``"temperature:BOUNDARY"``, ``"fdtr"`` (the Gaussian probe of
        ``[frequency.fdtr]``; the default when the case has one, else
        ``"temperature:left"``) or a callable ``system -> w`` (s = w·T̂).
    quantity
        ``"phase"`` (arg s [rad]) or ``"amplitude"`` (|s|).
    step
        Relative δ of the operator differences of the tangent model (re-assembling
        forward models only).
    tangents
        ``"eager"`` (tangent solves with every forward solve), ``"lazy"`` (on a
        Jacobian request, the factorizations kept until then) or ``"auto"`` (eager
        with interpolated operators, else lazy); see the module docstring.
    reuse
        Interpolate the assembled operators between evaluations
        (:class:`~femheat.inverse.affine.MultiAffine`: 2^m + m + 1 assemblies once,
        exact where the operators are multi-affine in p, 1/p, p² or 1/p² of every
        parameter);
        where they are not, or with ``reuse=False``, every evaluation re-parses and
        re-assembles the case (and the tangent model two more per parameter).
    """

    table: dict
    base: Path
    keys: Sequence[str]
    datasets: Sequence[Dataset]
    probe: Optional[Probe] = None
    quantity: str = "phase"
    step: float = 1e-5
    reuse: bool = True
    tangents: str = "auto"
    solves: int = 0
    tangent_solves: int = 0
    assemblies: int = 0
    experiment: str = field(default="frequency", init=False)

    def __post_init__(self) -> None:
        from ..io.case import parse_case

        if self.tangents not in TANGENTS:
            raise FemheatInputError(f"tangents = {self.tangents!r}; use one of "
                                    f"{', '.join(TANGENTS)}")
        if self.quantity not in QUANTITIES:
            raise FemheatInputError(f"fit.quantity = {self.quantity!r}; use one of "
                                    f"{', '.join(QUANTITIES)}")
        self.table = {k: v for k, v in copy.deepcopy(dict(self.table)).items() if k != "fit"}
        self.base = Path(self.base)
        if "frequency" not in self.table:
            raise FemheatInputError("fit.experiment = 'frequency' needs a [frequency] case "
                                    "(the time-periodic state); add a [frequency] section")
        for d in self.datasets:
            if not np.all(d.x > 0):
                raise FemheatInputError(f"data set {d.name!r}: frequencies must be > 0 Hz, "
                                        f"got {d.x.min():g}")
        self.frequencies = np.unique(np.concatenate([d.x for d in self.datasets]))
        self.mesh = shared_mesh(self.table.get("mesh"), self.base)
        # every check now, at the data's frequencies (an FDTR sample must be 3 penetration
        # depths deep at the lowest one: data outside the model's range are refused)
        case = parse_case(self._at_frequencies(self.table, self.frequencies), self.base,
                          mesh=self.mesh)
        if self.probe is None:
            self.probe = "fdtr" if case.frequency.fdtr is not None else "temperature:left"
        from ..registry import get_model

        system = get_model(case.model).assemble(case.problem)
        _probe_functional(system, self.probe, case.frequency.fdtr)  # unknown names now
        # the flux dofs with a prescribed value (q·n of a flux condition): geometry only
        self._dofs = (np.asarray(system.free_dofs), np.asarray(system.essential_dofs))
        self._symmetric = bool(system.symmetric)  # complex symmetric K (no thermal Hall)
        rotation = getattr(system, "rotation", None)  # ω kept: the mass's ordering
        self._ordering = rotation[1].ordering if rotation is not None else None
        self._last: Optional[tuple] = None  # (key, snapshot, factorizations, s, ∂s/∂p)
        self.affine: Optional[Any] = None
        self._pattern: Optional[ReducedPattern] = None
        self._kept: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # p -> (s, ∂s/∂p)
        self._affine_tried = not self.reuse

    # ------------------------------------------------------------------ model
    def fitted_table(self, p: Sequence[float]) -> dict:
        """The case table with the values ``p`` at their key paths."""
        data = copy.deepcopy(self.table)
        for k, v in zip(self.keys, p):
            set_path(data, k, float(v))
        return data

    @staticmethod
    def _at_frequencies(table: dict, frequencies: np.ndarray) -> dict:
        data = copy.deepcopy(table)
        data["frequency"]["frequencies"] = [float(f) for f in frequencies]
        return data

    def system(self, p: Sequence[float]) -> Any:
        """The assembled system of the case with ``p`` set at the key paths."""
        return self._assemble(p)[0]

    def _assemble(self, p: Sequence[float]) -> tuple[Any, np.ndarray]:
        from ..io.case import parse_case
        from ..registry import get_model

        with warnings.catch_warnings():  # plausibility warnings: once, in __post_init__
            warnings.simplefilter("ignore")
            # the setup checks were made at the initial values (__post_init__); at other
            # values only the operators are wanted: checked at the highest frequency only
            table = self._at_frequencies(self.fitted_table(p), self.frequencies[-1:])
            case = parse_case(table, self.base, mesh=self.mesh)
        system = get_model(case.model).assemble(case.problem)
        self.assemblies += 1
        return system, _probe_functional(system, self.probe, case.frequency.fdtr)

    def snapshot(self, p: Sequence[float]) -> dict[str, Any]:
        """The ω-independent operators at p: interpolated (``reuse``) or assembled."""
        p = np.asarray(p, dtype=float)
        if not self._affine_tried:
            from .affine import MultiAffine, NotAffine

            self._affine_tried = True
            try:
                self.affine = MultiAffine(lambda x: fit_snapshot(*self._assemble(x)), p, self.keys)
            except NotAffine as exc:
                log.info("frequency fit: re-assembling per evaluation (%s)", exc)
        if self.affine is not None:
            return self.affine(p)
        return fit_snapshot(*self._assemble(p))

    def _eager(self) -> bool:
        """Whether the tangent solves are made with the forward solves (module docstring)."""
        if self.tangents == "auto":
            return self.affine is not None
        return self.tangents == "eager"

    def response(self, p: Sequence[float]) -> np.ndarray:
        """The complex probe s(f) [K] at :attr:`frequencies` (with the tangent
        derivatives when they are eager; else the factorizations are kept for them)."""
        p = np.asarray(p, dtype=float)
        key = p.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[3]
        if key in self._kept:
            return self._kept[key][0]
        snap = self.snapshot(p)
        eager = self._eager()
        dsnaps = [self._snapshot_derivative(p, j) for j in range(p.size)] if eager else None
        values = None
        if "impedance" not in snap:
            if self._pattern is None:
                self._pattern = ReducedPattern(snap)
            values = self._pattern.values(snap)
        solves, s = [], np.empty(self.frequencies.size, dtype=complex)
        ds = np.empty((self.frequencies.size, p.size), dtype=complex) if eager else None
        for i, f in enumerate(self.frequencies):
            pa = reduced_system(snap, 2 * np.pi * f)
            K = pa.K if values is None else self._pattern.matrix(values, pa.omega)
            rhs = np.asarray(pa.b, dtype=complex)
            if "Mw" in snap:  # ω kept: K₀ and b without Cᵀ M_ω⁻¹ C and its lifting
                K = _augmented(K, snap)
                rhs = np.concatenate([rhs, -(snap["Ce"] @ pa.qe).astype(complex)])
            try:
                solve = factorize(K, symmetric=self._symmetric, repeats=False,
                                  **({"ordering": self._ordering} if "Mw" in snap else {}))
            except SolverError as exc:
                raise SolverError(f"frequency fit: the solve at {f:g} Hz failed ({exc}) at "
                                  f"p = {p.tolist()}") from exc
            del K
            x = solve(rhs)  # q_f (and the vorticity y where ω is kept)
            q = self._full(x, pa.qe)
            T = pa.c - pa.H_dot(q)
            s[i] = complex(snap["w"] @ T)
            if eager:
                ds[i] = self._tangents(solve, snap, dsnaps, pa, x, q, T)
            else:
                solves.append((solve, x, q, T, pa))
        self.solves += 1
        self._last = (key, snap, solves, s, ds)
        if eager:
            self._keep(key, s, ds)
        return s

    def _keep(self, key: bytes, s: np.ndarray, ds: np.ndarray) -> None:
        """Remember s and ∂s/∂p at p (a few complex numbers per frequency): a fit asks
        for the Jacobian again at its best point after trying others."""
        self._kept[key] = (s, ds)
        while len(self._kept) > 32:
            self._kept.pop(next(iter(self._kept)))

    def _tangents(self, solve: Callable, snap: Mapping[str, Any], dsnaps: Sequence[Mapping],
                  pa: Any, x: np.ndarray, q: np.ndarray, T: np.ndarray) -> np.ndarray:
        """∂s/∂p_j at one frequency, all j: one solve with m right-hand sides. ``x`` is
        the forward solution: q_f, or (q_f, y) where ω is kept, whose tangent system is
        [[K₀, C_fᵀ], [C_f, −M_ω]] (∂q_f, ∂y) = (∂b − ∂K₀ q_f − ∂C_fᵀ y,
        −∂C_e q_e − C_e ∂q_e − ∂C_f q_f + ∂M_ω y)."""
        parts = [reduced_system(d, pa.omega) for d in dsnaps]
        n = self._dofs[0].size
        qf, y = x[:n], x[n:]
        rhs = np.empty((x.size, len(parts)), dtype=complex)
        for j, (d, dsnap) in enumerate(zip(parts, dsnaps)):
            db = (d.b0 - (d.Ze_dot(pa.qe) + pa.Ze_dot(d.qe))
                  - (d.Se @ pa.qe + pa.Se @ d.qe) / pa.iw)
            rhs[:n, j] = db - d.K_dot(qf)
            if y.size:
                rhs[:n, j] -= dsnap["Cf"].T @ y
                rhs[n:, j] = (-(dsnap["Ce"] @ pa.qe) - snap["Ce"] @ d.qe
                              - dsnap["Cf"] @ qf + dsnap["Mw"] @ y)
        dx = solve(rhs).reshape(rhs.shape)
        self.tangent_solves += len(parts)
        ds = np.empty(len(parts), dtype=complex)
        for j, (d, dsnap) in enumerate(zip(parts, dsnaps)):
            dT = d.c - d.H_dot(q) - pa.H_dot(self._full(dx[:n, j], d.qe))
            ds[j] = dsnap["w"] @ T + snap["w"] @ dT
        return ds

    def _full(self, x: np.ndarray, qe: np.ndarray) -> np.ndarray:
        """The whole flux from the free values (the first entries of ``x``) and q_e."""
        free, ess = self._dofs
        q = np.zeros(free.size + ess.size, dtype=complex)
        q[free] = x[:free.size]
        q[ess] = qe
        return q

    def _signal(self, s: np.ndarray) -> np.ndarray:
        return np.angle(s) if self.quantity == "phase" else np.abs(s)

    def _at_data(self, values: np.ndarray) -> np.ndarray:
        index = {f: i for i, f in enumerate(self.frequencies)}
        return np.concatenate([values[[index[f] for f in d.x]] for d in self.datasets])

    def __call__(self, p: Sequence[float]) -> np.ndarray:
        return self._at_data(self._signal(self.response(p)))

    def _snapshot_derivative(self, p: np.ndarray, j: int) -> dict[str, Any]:
        """∂(snapshot)/∂p_j: exact from the interpolation, else the central difference
        of two assemblies at p_j(1 ± δ) (module docstring)."""
        if self.affine is not None:
            return self.affine.derivative(p, j)
        h = self.step * (abs(p[j]) or 1.0)
        sides = []
        for sign in (1.0, -1.0):
            pp = p.copy()
            pp[j] += sign * h
            sides.append(fit_snapshot(*self._assemble(pp)))
        plus, minus = sides
        out: dict[str, Any] = {}
        for k in plus:
            if k == "impedance":
                out[k] = lambda om, a=plus[k], b=minus[k]: tuple(
                    (x - y) / (2 * h) for x, y in zip(a(om), b(om)))
            else:
                out[k] = (plus[k] - minus[k]) / (2 * h)
        return out

    def jacobian_p(self, p: Sequence[float]) -> np.ndarray:
        """∂signal/∂p at every data point, (points, parameters), by tangent-linear
        solves with the forward factorizations (module docstring); kept for a second
        request at the same p."""
        p = np.asarray(p, dtype=float)
        key = p.tobytes()
        if key in self._kept:
            s, ds = self._kept[key]
        else:
            s = self.response(p)
            key, snap, solves, _, ds = self._last
            if ds is None:
                dsnaps = [self._snapshot_derivative(p, j) for j in range(p.size)]
                ds = np.array([self._tangents(solve, snap, dsnaps, pa, x, q, T)
                               for solve, x, q, T, pa in solves]).reshape(s.size, p.size)
                self._last = (key, snap, [], s, ds)  # the factorizations are not needed
                self._keep(key, s, ds)
        if self.quantity == "phase":
            J = (ds / s[:, None]).imag
        else:
            J = (np.conj(s)[:, None] * ds).real / np.abs(s)[:, None]
        return np.vstack([J[[list(self.frequencies).index(f) for f in d.x]]
                          for d in self.datasets])
