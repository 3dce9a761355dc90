"""Plausibility checks: values that are legal in form but almost surely unit mistakes.

Every threshold lives in :data:`THRESHOLDS` with its reason. Three actions:

* **refuse** (:class:`~femheat.errors.PlausibilityError`): an absolute temperature
  T ≤ 0 K (boundary temperature, convection ambient temperature, initial
  temperature; constants directly, expressions at the mesh nodes and boundary
  facet midpoints at t = 0);
* **confirm**: more than 10⁶ time steps (end/dt) are refused unless confirmed
  (``femheat run --yes`` or ``[time] confirm_steps = true``);
* **warn** (:class:`~femheat.errors.PlausibilityWarning` through
  :func:`warnings.warn`): κ, C, τ outside their physical ranges, a nonlocal
  length l larger than the mesh, a Kapitza resistance R_K > 100 L/κ_min (the
  interface would dominate the bulk resistance of the whole sample by more than
  100×, L the mesh's largest extent) or 0 < R_K < 10⁻¹² m² K/W. Each warning
  names the key path and the ratio that looks wrong.

The case-file layer (:mod:`femheat.io.case`) calls :func:`check_before_mesh`
after parsing (before any mesh is read or built) and :func:`check_with_mesh`
once the mesh is known; :func:`check_problem` runs both on a problem built
through the Python API. :func:`suspicious_values` lists the values that may
explain a singular factorization (for the solver's error message).

The checks are for SI case files. Scale-free runs (values of order one, as in the
benchmark reproductions) trigger the warnings by design; a case file that declares
``scale_free = true`` runs its checks inside :func:`warnings_off`, which keeps the
refusals and the step-count confirmation. Refusals apply to case files only, not to
API calls (where dimensionless temperatures such as 0 and 1 are common).
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional

import numpy as np

from ..errors import FemheatInputError, PlausibilityError, PlausibilityWarning

__all__ = ["Threshold", "THRESHOLDS", "MAX_STEPS", "check_step_count", "check_before_mesh",
           "check_with_mesh", "check_problem", "suspicious_values", "warnings_off"]


@dataclass(frozen=True)
class Threshold:
    """A plausible range ``[low, high]`` (None: unbounded) and why."""

    low: Optional[float]
    high: Optional[float]
    unit: str
    action: str  # "refuse", "confirm" or "warn"
    reason: str


#: The thresholds of every check, with their reasons (one table: change them here).
THRESHOLDS: dict[str, Threshold] = {
    "temperature": Threshold(
        0.0, None, "K", "refuse",
        "absolute temperature: T <= 0 K is at or below absolute zero (a value in degC?)"),
    "time_steps": Threshold(
        None, 1e6, "steps", "confirm",
        "end/dt above 1e6 steps runs for hours and writes a long history; usually dt "
        "or end is in the wrong unit"),
    "conductivity": Threshold(
        1e-3, 1e4, "W/(m K)", "warn",
        "gases and aerogels ~1e-2, diamond ~2e3, pure crystals at their low-temperature "
        "peak ~1e4; outside: W/(cm K), mW/(m K) or a dimensionless run"),
    "heat_capacity": Threshold(
        1e4, 1e8, "J/(m^3 K)", "warn",
        "C = rho c of solids and liquids is 1e6..4e6 J/(m^3 K); far outside suggests "
        "J/(kg K) or J/(cm^3 K), or a dimensionless run"),
    "relaxation_time": Threshold(
        0.0, 1e-3, "s", "warn",
        "phonon relaxation times are 1e-13..1e-9 s at room temperature, ~1e-6 s in "
        "cryogenic second-sound crystals; > 1 ms suggests ns or ps given as s, or a "
        "dimensionless run"),
    "nonlocal_length": Threshold(
        0.0, 1.0, "x mesh extent", "warn",
        "l larger than the whole sample makes the nonlocal term dominate everywhere "
        "(l and the mesh in different units?)"),
    "kapitza_resistance": Threshold(
        1e-12, 1e2, "m^2 K/W (high: x L/kappa_min)", "warn",
        "measured R_K are 1e-10..1e-6 m^2 K/W; below 1e-12 the interface has no effect, "
        "above 100 L/kappa_min it carries > 100x the bulk resistance of the whole "
        "sample (m^2 K/W vs m^2 K/GW?)"),
}

#: More end/dt steps than this need a confirmation.
MAX_STEPS: int = int(THRESHOLDS["time_steps"].high)


#: True inside :func:`warnings_off` (per thread and task: a context variable).
_WARNINGS_OFF: ContextVar[bool] = ContextVar("femheat_plausibility_warnings_off",
                                             default=False)


@contextmanager
def warnings_off() -> Iterator[None]:
    """Within this block the warn-level checks return their messages without issuing
    a :class:`~femheat.errors.PlausibilityWarning`; refusals and the step-count
    confirmation still apply. For scale-free cases (``scale_free = true``), whose
    κ = C = τ = 1 are deliberate. Unlike :func:`warnings.catch_warnings` it changes no
    global state, so concurrent threads keep their own warnings."""
    token = _WARNINGS_OFF.set(True)
    try:
        yield
    finally:
        _WARNINGS_OFF.reset(token)


def _warn(message: str) -> str:
    if not _WARNINGS_OFF.get():
        warnings.warn(message, PlausibilityWarning, stacklevel=3)
    return message


def _where(x: np.ndarray) -> str:
    names = "xyz"[: x.size]
    return f"({', '.join(names)}) = ({', '.join(f'{v:.4g}' for v in x)}) m"


# ------------------------------------------------------------------ time steps
def check_step_count(dt: float, end: float, confirmed: bool = False,
                     where: str = "time") -> int:
    """Number of steps end/dt; refuse more than :data:`MAX_STEPS` unless ``confirmed``.

    Parameters
    ----------
    dt, end
        Time step and end time [s] (both > 0, checked by the parser).
    confirmed
        True for ``femheat run --yes`` or ``[time] confirm_steps = true``.
    """
    n = max(1, math.ceil(end / dt * (1 - 1e-12)))
    if n > MAX_STEPS and not confirmed:
        raise PlausibilityError(
            f"{where}.end / {where}.dt = {end:g} s / {dt:g} s = {n:.3g} time steps, more "
            f"than {MAX_STEPS:.0e}: check the units of {where}.dt and {where}.end; to run "
            f"it anyway, confirm with `femheat run --yes` or `confirm_steps = true` in [{where}]")
    return n


# ---------------------------------------------------------------- temperatures
def _temperature_sources(boundary_conditions: Mapping[str, Any] | None,
                         initial_temperature: Any) -> list[tuple[str, Optional[str], Any]]:
    """(key path, boundary name or None for the initial field, value) of every absolute
    temperature of a case."""
    from .conditions import Convection, Temperature

    out: list[tuple[str, Optional[str], Any]] = []
    for name, bc in (boundary_conditions or {}).items():
        if isinstance(bc, Temperature):
            out.append((f"boundaries.{name}.temperature", name, bc.value))
        elif isinstance(bc, Convection):
            out.append((f"boundaries.{name}.convection.ambient_temperature", name,
                        bc.ambient_temperature))
    if initial_temperature is not None:
        out.append(("initial.temperature", None, initial_temperature))
    return out


def _refuse_temperature(where: str, values: np.ndarray, x: Optional[np.ndarray],
                        expression: str = "") -> None:
    """Refuse non-finite values and values <= 0 K of the temperature at ``where``."""
    values = np.asarray(values, dtype=float).ravel()
    expr = f" (expression {expression!r})" if expression else ""

    def at(i: int) -> str:
        return f" at {_where(x[:, i])}, t = 0 s" if x is not None else ""

    bad = ~np.isfinite(values)
    if np.any(bad):
        i = int(np.argmax(bad))
        shown = "NaN" if np.isnan(values[i]) else f"{values[i]:g}"
        raise FemheatInputError(
            f"{where} evaluates to {shown}{at(i)}{expr}; the expression must be finite "
            "everywhere on its region")
    if np.any(values <= 0):
        i = int(np.argmin(values))
        raise PlausibilityError(
            f"{where} = {values[i]:g} K{at(i)}{expr}: absolute temperatures must be > 0 K "
            "(temperatures are in kelvin: 0 degC = 273.15 K)")


def _evaluate(where: str, value: Callable, x: np.ndarray, t: Optional[float],
              scalar: bool = True) -> np.ndarray:
    """``value(x, t)`` (or ``value(x)`` if ``t`` is None) with errors naming ``where``."""
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(value(x, t) if t is not None else value(x), dtype=float)
        return np.broadcast_to(out, x.shape[1:]) if scalar else out
    except FemheatInputError:
        raise
    except Exception as exc:  # an expression such as "1/0", or a user's callable
        raise FemheatInputError(
            f"{where} cannot be evaluated{' at t = 0 s' if t is not None else ''}: "
            f"{type(exc).__name__}: {exc}") from None


# ------------------------------------------------------------------- materials
def _constant(value: Any) -> Optional[np.ndarray]:
    if callable(value) or value is None:
        return None
    return np.asarray(value, dtype=float)


def _scalar_range(arr: np.ndarray) -> tuple[float, float]:
    """(min, max) of a scalar field, or of the eigenvalues of the symmetric part of a
    (d, d, ...) tensor field."""
    arr = np.asarray(arr, dtype=float)
    if arr.ndim >= 2 and arr.shape[0] == arr.shape[1] and arr.shape[0] in (2, 3):
        d = arr.shape[0]
        sym = 0.5 * (arr + np.swapaxes(arr, 0, 1))
        eig = np.linalg.eigvalsh(np.moveaxis(sym.reshape(d, d, -1), -1, 0))
        return float(eig.min()), float(eig.max())
    return float(np.min(arr)), float(np.max(arr))


def _check_range(where: str, key: str, lo: float, hi: float) -> list[str]:
    th = THRESHOLDS[key]
    out = []
    if th.low is not None and lo < th.low and not (th.low == 0 and lo == 0):
        out.append(_warn(
            f"{where} = {lo:g} {th.unit} is {th.low / lo if lo > 0 else math.inf:.2g}x below "
            f"the plausible range [{th.low:g}, {th.high:g}] {th.unit}: {th.reason}"))
    if th.high is not None and hi > th.high:
        out.append(_warn(
            f"{where} = {hi:g} {th.unit} is {hi / th.high:.2g}x above the plausible range "
            f"[{th.low:g}, {th.high:g}] {th.unit}: {th.reason}"))
    return out


def _material_values(material: Any, transient: bool):
    """(key, value) pairs of a material that the range checks look at."""
    yield "conductivity", material.conductivity
    if transient:
        yield "heat_capacity", material.heat_capacity
    yield "relaxation_time", material.relaxation_time


# -------------------------------------------------------------------- entries
def check_before_mesh(*, boundary_conditions: Mapping[str, Any] | None = None,
                      initial_temperature: Any = None,
                      materials: Mapping[str, Any] | None = None,
                      dt: Optional[float] = None, end: Optional[float] = None,
                      confirmed: bool = False) -> list[str]:
    """Checks that need no mesh: constants only.

    Refuses constant temperatures ≤ 0 K and more than 10⁶ steps unless
    ``confirmed``; warns on constant κ, τ (and C when ``dt`` is given, i.e. a
    transient run; a steady run does not use C) outside their ranges.

    Parameters
    ----------
    boundary_conditions
        Boundary name -> Temperature, HeatFlux or Convection.
    initial_temperature
        T0 [K] of a transient run (number or f(x)); None for a steady run.
    materials
        Subdomain name -> :class:`~femheat.physics.materials.Material`.
    dt, end
        Time step and end time [s] of a transient run.
    confirmed
        Whether more than 10⁶ steps were confirmed.

    Returns
    -------
    list of str
        The warnings issued (also given to :func:`warnings.warn`).
    """
    if dt is not None and end is not None:
        check_step_count(dt, end, confirmed)
    for where, _, value in _temperature_sources(boundary_conditions, initial_temperature):
        c = _constant(value)
        if c is not None:
            _refuse_temperature(where, c, None)
    issued: list[str] = []
    for name, mat in (materials or {}).items():
        for key, value in _material_values(mat, dt is not None):
            c = _constant(value)
            if c is not None:
                issued += _check_range(f"materials.{name}.{key}", key, *_scalar_range(c))
    return issued


def _length_scale(regions: Any) -> float:
    """Largest extent of the mesh's bounding box [m]."""
    return float(np.max(np.ptp(regions.mesh.p, axis=1)))


def _conductivity_bounds(regions: Any, materials: Mapping[str, Any]) -> dict[str, tuple]:
    """name -> (min, max) of κ (eigenvalues of the symmetric part) over the subdomain."""
    mesh = regions.mesh
    out = {}
    for name, mat in materials.items():
        value = mat.conductivity
        if callable(value):
            cells = regions.subdomains.get(name, np.arange(mesh.t.shape[1]))
            x = mesh.p[:, mesh.t[:, cells]].mean(axis=1)
            with np.errstate(all="ignore"):
                value = value(x)
        out[name] = _scalar_range(np.asarray(value, dtype=float))
    return out


def _kapitza_ratios(regions: Any, materials: Mapping[str, Any],
                    interfaces: Mapping[str, Any]) -> tuple[float, float, dict[str, float]]:
    """(L, κ_min, name -> R_K κ_min / L) for the interfaces with R_K > 0."""
    L = _length_scale(regions)
    bounds = _conductivity_bounds(regions, materials)
    kmin = min((lo for lo, _ in bounds.values()), default=math.nan)
    ratios = {}
    for n, r in interfaces.items():
        if getattr(r, "variable", False):  # the largest R_K along the interface
            from .kapitza import interface_resistance

            rk = float(np.max(interface_resistance(regions, n, r)))
        else:
            rk = float(r.resistance)
        if rk > 0:
            ratios[n] = rk * kmin / L
    return L, kmin, ratios


def check_with_mesh(regions: Any, *, boundary_conditions: Mapping[str, Any] | None = None,
                    initial_temperature: Any = None,
                    materials: Mapping[str, Any] | None = None,
                    interfaces: Mapping[str, Any] | None = None,
                    transient: bool = False) -> list[str]:
    """Checks that need the mesh (``regions``, a :class:`~femheat.mesh.regions.RegionMesh`).

    Refuses temperature expressions that are ≤ 0 K or not finite at t = 0 on
    the nodes and facet midpoints of their boundary (the initial temperature:
    at the mesh nodes); warns on κ, τ (and C if ``transient``) given as
    expressions and outside their ranges at the cell centroids, on a nonlocal
    length l larger than the mesh's largest extent L, and on Kapitza
    resistances R_K with R_K κ_min / L > 100 or 0 < R_K < 10⁻¹² m² K/W.

    Returns
    -------
    list of str
        The warnings issued.
    """
    mesh = regions.mesh
    for where, bname, value in _temperature_sources(boundary_conditions, initial_temperature):
        if not callable(value):
            continue
        if bname is None:
            x = mesh.p
            vals = _evaluate(where, value, x, None)
        elif bname in regions.subdomains and bname not in regions.boundaries:
            # a temperature held on a whole region (the kernel model's volume constraint)
            nodes = np.unique(mesh.t[:, regions.subdomains[bname]])
            x = mesh.p[:, nodes]
            vals = _evaluate(where, value, x, 0.0)
        else:
            facets = regions.boundary(bname)
            nodes = np.unique(mesh.facets[:, facets])
            x = np.hstack([mesh.p[:, nodes], mesh.p[:, mesh.facets[:, facets]].mean(axis=1)])
            vals = _evaluate(where, value, x, 0.0)
        _refuse_temperature(where, vals, x, getattr(value, "__doc__", None) or "")

    issued: list[str] = []
    materials = materials or {}
    for name, mat in materials.items():
        cells = regions.subdomains.get(name, np.arange(mesh.t.shape[1]))
        xc = mesh.p[:, mesh.t[:, cells]].mean(axis=1)
        for key, value in _material_values(mat, transient):
            if callable(value):
                vals = _evaluate(f"materials.{name}.{key}", value, xc, None,
                                 scalar=key != "conductivity")
                issued += _check_range(f"materials.{name}.{key}", key, *_scalar_range(vals))
    L = _length_scale(regions)
    for name, mat in materials.items():
        value = mat.nonlocal_length
        cells = regions.subdomains.get(name, np.arange(mesh.t.shape[1]))
        lv = np.asarray(value(mesh.p[:, mesh.t[:, cells]].mean(axis=1)) if callable(value)
                        else value, dtype=float)
        lmax = float(np.max(lv)) if lv.size else 0.0
        if lmax > THRESHOLDS["nonlocal_length"].high * L:
            issued.append(_warn(
                f"materials.{name}.nonlocal_length = {lmax:g} m is {lmax / L:.3g}x the "
                f"mesh's largest extent L = {L:g} m: "
                f"{THRESHOLDS['nonlocal_length'].reason}"))
    if interfaces and materials:
        L, kmin, ratios = _kapitza_ratios(regions, materials, interfaces)
        th = THRESHOLDS["kapitza_resistance"]
        for name, ratio in ratios.items():
            r = ratio * L / kmin  # the (largest) R_K of the interface
            where = f"interfaces.{name}.kapitza_resistance"
            if r < th.low:
                issued.append(_warn(
                    f"{where} = {r:g} m^2 K/W is {th.low / r:.2g}x below {th.low:g} m^2 K/W "
                    f"(R_K kappa_min / L = {ratio:.3g}): {th.reason}"))
            elif ratio > th.high:
                issued.append(_warn(
                    f"{where} = {r:g} m^2 K/W is {ratio:.3g}x the bulk resistance "
                    f"L/kappa_min = {L / kmin:.3g} m^2 K/W of the whole sample (L = {L:.3g} m, "
                    f"kappa_min = {kmin:.3g} W/(m K)), more than {th.high:g}x: {th.reason}"))
    return issued


def check_problem(problem: Any, *, initial_temperature: Any = None,
                  dt: Optional[float] = None, end: Optional[float] = None,
                  confirmed: bool = False) -> list[str]:
    """Run :func:`check_before_mesh` and :func:`check_with_mesh` on a problem built
    through the Python API (a :class:`~femheat.assembly.problem.HeatProblem` or any
    object with ``regions``, ``materials``, ``interfaces`` and
    ``boundary_conditions``). Returns the warnings issued."""
    bcs = getattr(problem, "boundary_conditions", None)
    materials = getattr(problem, "materials", None)
    issued = check_before_mesh(boundary_conditions=bcs, initial_temperature=initial_temperature,
                               materials=materials, dt=dt, end=end, confirmed=confirmed)
    issued += check_with_mesh(problem.regions, boundary_conditions=bcs,
                              initial_temperature=initial_temperature, materials=materials,
                              interfaces=getattr(problem, "interfaces", None),
                              transient=dt is not None)
    return issued


def suspicious_values(problem: Any) -> str:
    """The values of ``problem`` that may make its system numerically singular, as
    one sentence ("" if none): Kapitza resistances with R_K κ_min / L > 100 and
    conductivities outside their range. Used in the solver's error message."""
    try:
        regions, materials = problem.regions, problem.materials
        interfaces = getattr(problem, "interfaces", {}) or {}
        notes = []
        if interfaces:
            L, kmin, ratios = _kapitza_ratios(regions, materials, interfaces)
            for name, ratio in sorted(ratios.items(), key=lambda kv: -kv[1]):
                if ratio > THRESHOLDS["kapitza_resistance"].high:
                    notes.append(
                        f"interfaces.{name}.kapitza_resistance = "
                        f"{float(interfaces[name].resistance):g} m^2 K/W is {ratio:.3g}x the "
                        f"bulk resistance L/kappa_min = {L / kmin:.3g} m^2 K/W of the sample")
        th = THRESHOLDS["conductivity"]
        for name, (lo, hi) in _conductivity_bounds(regions, materials).items():
            if lo < th.low or hi > th.high:
                notes.append(f"materials.{name}.conductivity spans {lo:g}..{hi:g} W/(m K)")
    except Exception:  # a hint must never hide the solver's own error
        return ""
    return ("suspicious input: " + "; ".join(notes)) if notes else ""
