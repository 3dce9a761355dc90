r"""Experiment observables of transient runs: flash (heat pulse) and transient grating.

Both are functionals of the temperature recorded at every time step of a case's
transient run, for every model of the mixed family (Fourier, MCV, GK, multi-mode
memory), with whatever Kapitza interfaces the case has:

* **Flash / heat pulse** (Parker et al., J. Appl. Phys. 32, 1679, 1961). A slab
  0 < x < L, insulated, absorbs a pulse of areal energy Q [J m⁻²] in a front layer
  0 < x < g at t = 0 (the case's initial temperature ``T0 + Q/(C g)`` there); the
  observable is the rise of the mean rear-face temperature,
  ΔT(t) = ⟨T⟩_rear(t) − ⟨T⟩_rear(0) [K]. For Fourier conduction

      ΔT(t) = Q/(C L) [1 + 2 Σₙ (−1)ⁿ sinc(nπg/L) exp(−n²π²αt/L²)],  α = κ/C,

  with sinc(u) = sin(u)/u (g → 0 is Parker's series). With q(0) = 0 each cosine
  mode aₙ cos(nπx/L) follows τ aₙ'' + (1 + (1+β) l² kₙ²) aₙ' + α kₙ² aₙ = 0,
  aₙ'(0) = 0, kₙ = nπ/L, for MCV (l = 0) and GK with free-slip side walls:
  :func:`slab_modal_rise` is that exact solution (the telegraph equation's).
* **Transient grating** of period Λ: the decay trace a(t) of the grating amplitude,
  the projection of T − T̄ on cos(2πx/Λ) [K], on a half-period box with
  impermeable free-slip walls (the infinite grating by symmetry).

:func:`transient_trace` runs a case and records any linear functional of T; the
two observables are that with the functional of the rear face
(:func:`boundary_mean_functional`) or of the grating mode
(:func:`grating_mode_functional`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import skfem
from numpy.typing import ArrayLike

from ..errors import FemheatInputError

__all__ = ["Trace", "transient_trace", "boundary_mean_functional", "region_mean_functional",
           "grating_mode_functional",
           "flash_rear_face", "grating_decay", "parker_rise", "slab_modal_rise"]


@dataclass
class Trace:
    """A recorded observable: ``signal`` [``unit``] at ``time`` [s]."""

    time: np.ndarray
    signal: np.ndarray
    quantity: str = "signal"
    unit: str = ""
    info: dict = field(default_factory=dict)

    def at(self, times: ArrayLike) -> np.ndarray:
        """The signal linearly interpolated at ``times`` [s] (within the run)."""
        times = np.asarray(times, dtype=float)
        lo, hi = self.time[0], self.time[-1]
        if np.any(times < lo - 1e-12 * max(hi, 1.0)) or np.any(times > hi * (1 + 1e-12)):
            raise FemheatInputError(
                f"times {times.min():g} ... {times.max():g} s lie outside the run "
                f"{lo:g} ... {hi:g} s; raise time.end or trim the data")
        return np.interp(times, self.time, self.signal)


def _check_transient(case: Any, what: str) -> None:
    if getattr(case, "time", None) is None or case.problem is None:
        raise FemheatInputError(f"{what}: the case needs a [time] section (a transient run)")


def transient_trace(case: Any, functional: np.ndarray, *, quantity: str = "signal",
                    unit: str = "K", subtract_initial: bool = False,
                    system: Any = None) -> Trace:
    """Run ``case`` (a :class:`~femheat.io.case.Case` with ``[time]``) and record
    ``functional @ T`` at t = 0 and at every step.

    ``system`` may be the case's already assembled system (reused as is).
    """
    from ..registry import get_model

    _check_transient(case, "transient_trace")
    model = get_model(case.model)
    if system is None:
        system = model.assemble(case.problem)
    ts = case.time
    state = model.initial_state(system, case.initial_temperature, case.initial_flux)
    times, values = [0.0], [float(functional @ state.temperature)]
    for t, state in model.transient(system, ts.dt, ts.end, ts.theta, state):
        times.append(float(t))
        values.append(float(functional @ state.temperature))
    signal = np.array(values)
    if subtract_initial:
        signal = signal - signal[0]
    return Trace(np.array(times), signal, quantity, unit, {"dofs": model.dofs(system)})


def boundary_mean_functional(system: Any, boundary: str) -> np.ndarray:
    """w with w·T = (1/|Γ|) ∫_Γ T ds, the mean of the (DG) temperature trace on
    the named boundary Γ (from its cells' side)."""
    regions = system.problem.regions
    facets = regions.boundary(boundary)
    tb = system.temperature_basis
    fb = skfem.FacetBasis(regions.mesh, tb.elem, facets=facets, intorder=4)

    @skfem.LinearForm
    def one(v, w):
        return v

    return one.assemble(fb) / float(fb.dx.sum())


def region_mean_functional(system: Any, region: str) -> np.ndarray:
    """w with w·T = (1/|Ω_r|) ∫_{Ω_r} T dx, the mean temperature of the named material
    region Ω_r (a transducer layer's volume-averaged temperature, for instance). With a
    piecewise-constant temperature and C uniform on Ω_r, iωC|Ω_r| times this mean is
    the net heat flow into Ω_r (the discrete energy balance of a frequency run), so it
    converges as the normal fluxes do, faster than a boundary trace."""
    regions = system.problem.regions
    cells = regions.subdomain(region)
    tb = system.temperature_basis
    cb = skfem.CellBasis(regions.mesh, tb.elem, elements=cells, intorder=2 * tb.elem.maxdeg)

    @skfem.LinearForm
    def one(v, w):
        return v

    return one.assemble(cb) / float(cb.dx.sum())


def grating_mode_functional(system: Any, period: float, axis: int = 0) -> np.ndarray:
    """w with w·T = ∫ T cos(kx) dx / ∫ cos²(kx) dx, k = 2π/Λ: the amplitude of the
    grating mode of period Λ = ``period`` [m] along ``axis`` (the mean drops out on a
    half-period box)."""
    if not period > 0:
        raise FemheatInputError(f"grating period must be > 0 m, got {period!r}")
    tb = system.temperature_basis
    k = 2.0 * np.pi / period
    c = np.cos(k * tb.global_coordinates().value[axis])

    @skfem.LinearForm
    def project(v, w):
        return v * np.cos(k * w.x[axis])

    return project.assemble(tb) / float((c * c * tb.dx).sum())


def flash_rear_face(case: Any, rear: str = "right", *, system: Any = None) -> Trace:
    """Rear-face temperature rise ΔT(t) = ⟨T⟩_rear(t) − ⟨T⟩_rear(0) [K] of a flash run.

    ``case`` is a slab (e.g. the ``strip`` builder: front ``left``, rear ``right``)
    whose initial temperature holds the absorbed pulse (see the module docstring).
    """
    from ..registry import get_model

    _check_transient(case, "flash_rear_face")
    if system is None:
        system = get_model(case.model).assemble(case.problem)
    w = boundary_mean_functional(system, rear)
    return transient_trace(case, w, quantity="rear-face temperature rise", unit="K",
                           subtract_initial=True, system=system)


def grating_decay(case: Any, period: Optional[float] = None, axis: int = 0, *,
                  system: Any = None) -> Trace:
    """Transient-grating decay trace a(t) [K] of period Λ [m].

    ``period`` defaults to twice the extent of the mesh along ``axis`` (the
    half-period box of cases/thermal_grating.toml).
    """
    from ..registry import get_model

    _check_transient(case, "grating_decay")
    if system is None:
        system = get_model(case.model).assemble(case.problem)
    if period is None:
        x = case.problem.regions.mesh.p[axis]
        period = 2.0 * float(x.max() - x.min())
    w = grating_mode_functional(system, period, axis)
    trace = transient_trace(case, w, quantity="grating amplitude", unit="K", system=system)
    trace.info["period"] = period
    return trace


# ------------------------------------------------------------- exact references
def slab_modal_rise(t: ArrayLike, length: float, diffusivity: float, *,
                    relaxation_time: float = 0.0, nonlocal_length: float = 0.0,
                    beta: float = 2.0, layer: float = 0.0, areal_energy: float = 1.0,
                    heat_capacity: float = 1.0, terms: int = 400,
                    coefficients: Optional[ArrayLike] = None) -> np.ndarray:
    r"""Exact rear-face rise ΔT(t) [K] of an insulated slab after a front pulse.

    Each cosine mode aₙ(t) cos(kₙx), kₙ = nπ/L, solves
    τ aₙ'' + (1 + (1+β) l² kₙ²) aₙ' + α kₙ² aₙ = 0, aₙ(0) = 2 Q/(C L) sinc(kₙ g),
    aₙ'(0) = 0 (q(0) = 0): Fourier (τ = l = 0), MCV (telegraph equation) and GK
    with free-slip side walls. ΔT(L, t) = Σₙ≥1 (−1)ⁿ (aₙ(t) − aₙ(0)), i.e.
    Q/(C L) + Σₙ (−1)ⁿ aₙ(t) for the front layer (T(L, 0) = 0).

    Parameters
    ----------
    length, diffusivity
        L [m] and α = κ/C [m² s⁻¹].
    relaxation_time, nonlocal_length, beta
        τ [s], l [m], β of the GK law.
    layer
        Absorbing depth g [m] of the pulse (0: a surface pulse).
    areal_energy, heat_capacity
        Q [J m⁻²] and C [J m⁻³ K⁻¹].
    coefficients
        The initial amplitudes aₙ(0) [K], n = 1, 2, ... of any other pulse shape
        (then ``layer``, ``areal_energy``, ``terms`` are not used).
    """
    t = np.asarray(t, dtype=float)
    if coefficients is not None:
        a0 = np.asarray(coefficients, dtype=float)
        n = np.arange(1, a0.size + 1)
        k = n * np.pi / length
    else:
        n = np.arange(1, terms + 1)
        k = n * np.pi / length
        a0 = 2.0 * areal_energy / (heat_capacity * length) * np.sinc(k * layer / np.pi)
    tau = relaxation_time
    damping = 1.0 + (1.0 + beta) * nonlocal_length**2 * k**2
    stiffness = diffusivity * k**2
    tt = t[:, None]
    if tau <= 0.0:
        shape = np.exp(-stiffness / damping * tt)
    else:
        b, c = damping / tau, stiffness / tau
        disc = np.sqrt((b * b - 4 * c).astype(complex))
        r1, r2 = (-b + disc) / 2, (-b - disc) / 2
        same = np.abs(r1 - r2) < 1e-12 * np.abs(r1)
        r2 = np.where(same, r2 * (1 + 1e-9), r2)
        shape = ((r2 * np.exp(r1 * tt) - r1 * np.exp(r2 * tt)) / (r2 - r1)).real
    if coefficients is not None:
        return ((shape - 1.0) * ((-1.0) ** n * a0)).sum(axis=1)
    # T(L, 0) = 0 for g < L: the rise is the plateau Q/(C L) plus the decaying modes
    return areal_energy / (heat_capacity * length) + (shape * ((-1.0) ** n * a0)).sum(axis=1)


def parker_rise(t: ArrayLike, length: float, diffusivity: float, *, layer: float = 0.0,
                areal_energy: float = 1.0, heat_capacity: float = 1.0,
                terms: int = 400) -> np.ndarray:
    """Parker's series for the Fourier rear-face rise ΔT(t) [K] (see module docstring)."""
    t = np.asarray(t, dtype=float)
    n = np.arange(1, terms + 1)
    rise = areal_energy / (heat_capacity * length)
    s = ((-1.0) ** n * np.sinc(n * layer / length)
         * np.exp(-(n * np.pi / length) ** 2 * diffusivity * t[:, None])).sum(axis=1)
    return rise * (1.0 + 2.0 * s)
