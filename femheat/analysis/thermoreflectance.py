r"""Thermoreflectance observables: FDTR and TDTR on an axisymmetric sample (issue 11
item 5).

**FDTR.** A Gaussian pump of power P [W] (the amplitude of its modulated part) and
1/e² radius w₀ [m], modulated at f, heats the top surface z = 0 of an (r, z) sample:

.. math::

    q\cdot n = -\frac{2P}{\pi w_0^2}\, e^{-2r^2/w_0^2}\qquad [\mathrm{W\,m^{-2}}],

(outward normal, so heating is negative), and a probe of 1/e² radius w₁ reads the
Gaussian-weighted surface temperature

.. math::

    \hat T_{probe}(\omega) = \frac{\int_0^R \hat T(r, 0)\, e^{-2r^2/w_1^2}\, 2\pi r\, dr}
                                   {\int_0^R e^{-2r^2/w_1^2}\, 2\pi r\, dr}\qquad [\mathrm K].

Amplitude |T̂_probe| and phase arg T̂_probe (fields ∝ e^{iωt}; a lag is negative) versus
f are the FDTR data. :func:`fdtr_sweep` computes them with the frequency-domain solver
(:class:`~femheat.solve.frequency.FrequencySolver`: one complex solve per frequency, the
assembled blocks reused), for any mixed model (Fourier, MCV, multi-mode memory) with
Kapitza interfaces. :func:`fdtr_problem` states the usual sample: pump on ``top``,
``bottom`` held at the ambient (T̂ = 0), ``outer`` insulated.

**TDTR** (Cahill, Rev. Sci. Instrum. 75, 5119 (2004)). A pulse train at the repetition
rate f_rep, modulated at f_mod, read by a lock-in at f_mod at delay t_d after each pump
pulse:

.. math::

    Z(t_d) = \sum_{k=-M}^{M} H(\omega_0 + k\omega_s)\, e^{ik\omega_s t_d}\,
             e^{-\pi (k f_{rep}/f_{max})^2},\qquad
    V_{in} = \mathrm{Re}\,Z,\quad V_{out} = \mathrm{Im}\,Z,\quad
    \text{ratio} = -V_{in}/V_{out},

ω₀ = 2πf_mod, ω_s = 2πf_rep, H(−ω) = H(ω)* the probe response of one FDTR sweep, the
Gaussian factor Cahill's convergence factor (a pulse of width ~1/f_max), M =
⌈2 f_max/f_rep⌉. :func:`tdtr_signals` evaluates the sum from one sweep, interpolated
in log f (:func:`interpolate_response`: cubic splines of log|H| and the unwrapped phase),
so a few tens of solves serve hundreds of harmonics.

Units: SI throughout (m, W, K, s, Hz).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError
from ..validation import finite_array

__all__ = ["gaussian_pump", "penetration_depth", "check_fdtr_setup", "fdtr_problem",
           "probe_functional", "FDTRResult", "fdtr_sweep", "tdtr_harmonics",
           "interpolate_response", "TDTRSignals", "tdtr_signals", "tdtr_sweep_frequencies",
           "DEPTH_FACTOR"]

log = logging.getLogger(__name__)

#: the sample must be at least this many penetration depths deep at the lowest frequency
DEPTH_FACTOR = 3.0


def _positive(value, where: str, unit: str) -> float:
    v = float(finite_array(value, where))
    if v <= 0:
        raise FemheatInputError(f"{where} must be > 0 {unit}, got {value!r}")
    return v


def gaussian_pump(power: float, radius: float) -> Callable[[np.ndarray, float], np.ndarray]:
    """Outward normal flux q·n(r) = −2P/(πw₀²) exp(−2r²/w₀²) [W m⁻²] of a Gaussian pump
    of power ``power`` = P [W] and 1/e² radius ``radius`` = w₀ [m], as ``f(x, t)`` for
    :class:`~femheat.physics.conditions.HeatFlux` (r = x[0])."""
    P = float(finite_array(power, "fdtr.pump_power"))
    w0 = _positive(radius, "fdtr.pump_radius", "m")
    peak = 2.0 * P / (math.pi * w0 * w0)

    def flux(x: np.ndarray, t: float = 0.0) -> np.ndarray:
        return -peak * np.exp(-2.0 * x[0] ** 2 / (w0 * w0))

    return flux


def penetration_depth(conductivity: float, heat_capacity: float, frequency: float) -> float:
    """Thermal penetration depth δ = √(2κ/(Cω)) [m] at f [Hz] (ω = 2πf)."""
    return math.sqrt(2.0 * conductivity / (heat_capacity * 2.0 * math.pi * frequency))


def _scalar_conductivity(value, x: np.ndarray) -> float:
    """The largest conductivity [W/(m K)] of a coefficient at points x (eigenvalue for a
    tensor)."""
    v = np.asarray(value(x) if callable(value) else value, dtype=float)
    if v.ndim >= 2 and v.shape[0] == v.shape[1] and v.shape[0] in (2, 3):
        m = v.reshape(v.shape[0], v.shape[1], -1)
        return float(max(np.linalg.eigvalsh(0.5 * (m[..., i] + m[..., i].T)).max()
                         for i in range(m.shape[-1])))
    return float(np.max(v))


def check_fdtr_setup(regions, materials: Mapping, frequencies: ArrayLike,
                     pump_radius: float, probe_radius: float,
                     surface: str = "top", where: str = "fdtr") -> np.ndarray:
    """Refuse an FDTR/TDTR setup the (r, z) sample cannot represent; return f [Hz].

    * f ≤ 0 or non-finite (``{where}.frequencies``);
    * a pump or probe spot larger than the sample radius R = max r
      (``{where}.pump_radius``, ``{where}.probe_radius``);
    * a sample shallower than ``DEPTH_FACTOR`` penetration depths √(2κ/(Cω)) at the
      lowest frequency, for the materials at the bottom of the mesh (the message says
      how deep it must be).
    """
    from ..solve.frequency import check_frequencies

    f = check_frequencies(frequencies, f"{where}.frequencies")
    w0 = _positive(pump_radius, f"{where}.pump_radius", "m")
    w1 = _positive(probe_radius, f"{where}.probe_radius", "m")
    mesh = regions.mesh
    regions.boundary(surface)
    R = float(mesh.p[0].max())
    for key, w in (("pump_radius", w0), ("probe_radius", w1)):
        if w > R:
            raise FemheatInputError(
                f"{where}.{key} = {w:.4g} m is larger than the sample radius R = {R:.4g} m "
                f"(the largest r of the mesh); make the sample at least a few spot radii "
                f"wide (R >= {3 * w:.3g} m) or the spot smaller")
    ztop = float(mesh.p[1, np.unique(mesh.facets[:, regions.boundary(surface)])].max())
    zbot = float(mesh.p[1].min())
    depth = ztop - zbot
    bottom_cells = np.nonzero((mesh.p[1, mesh.t] <= zbot + 1e-9 * depth).any(axis=0))[0]
    delta = 0.0
    for name, mat in materials.items():
        cells = np.intersect1d(regions.subdomain(name), bottom_cells)
        if cells.size == 0:
            continue
        x = mesh.p[:, mesh.t[:, cells]].mean(axis=1)
        k = _scalar_conductivity(mat.conductivity, x)
        C = float(np.min(np.asarray(mat.heat_capacity(x) if callable(mat.heat_capacity)
                                    else mat.heat_capacity, dtype=float)))
        delta = max(delta, penetration_depth(k, C, float(f.min())))
    if depth < DEPTH_FACTOR * delta:
        raise FemheatInputError(
            f"{where}.frequencies: the sample is {depth:.4g} m deep, but the thermal "
            f"penetration depth sqrt(2 kappa/(C omega)) of the bottom material at the "
            f"lowest frequency {f.min():.4g} Hz is {delta:.4g} m; the sample must be at "
            f"least {DEPTH_FACTOR:g} penetration depths = {DEPTH_FACTOR * delta:.4g} m deep "
            f"(a thicker substrate), or raise the lowest frequency to "
            f"{f.min() * (DEPTH_FACTOR * delta / depth) ** 2:.4g} Hz")
    if R < w0 + DEPTH_FACTOR * delta:
        warnings.warn(
            f"{where}: the sample radius {R:.4g} m is less than the pump radius plus "
            f"{DEPTH_FACTOR:g} penetration depths ({w0 + DEPTH_FACTOR * delta:.4g} m) at "
            f"{f.min():.4g} Hz: the insulated outer wall may bias the low frequencies",
            stacklevel=2)
    return f


def fdtr_problem(regions, materials: Mapping, interfaces: Optional[Mapping] = None, *,
                 pump_power: float = 1.0, pump_radius: float, model: str = "fourier",
                 degree: int = 0, surface: str = "top", bottom: str = "bottom",
                 **options):
    """The FDTR sample as an axisymmetric :class:`~femheat.assembly.problem.HeatProblem`.

    The Gaussian pump (:func:`gaussian_pump`) on ``surface``; ``bottom`` at the ambient
    temperature (amplitude T̂ = 0); every other boundary but the axis insulated.
    ``materials`` and ``interfaces`` (name -> KapitzaResistance) as for HeatProblem;
    ``options`` go to it too (the GK ones: ``beta``, ``penalty``, ``viscous``,
    ``walls``).
    """
    from ..assembly.axisymmetric import axis_boundaries
    from ..assembly.problem import HeatProblem
    from ..physics.conditions import HeatFlux, Temperature

    regions.boundary(surface)
    regions.boundary(bottom)
    axis = set(axis_boundaries(regions))
    bcs = {n: HeatFlux(0.0) for n in regions.boundaries if n not in axis}
    bcs[surface] = HeatFlux(gaussian_pump(pump_power, pump_radius))
    bcs[bottom] = Temperature(0.0)
    return HeatProblem(regions, materials, bcs, dict(interfaces or {}), model=model,
                       degree=degree, coordinates="axisymmetric", **options)


def probe_functional(system, probe_radius: float, surface: str = "top") -> np.ndarray:
    """Row vector p with p·T̂ = T̂_probe: the Gaussian (1/e² radius w₁ [m]) average of
    the temperature trace on ``surface`` with the measure 2πr ds (see module docstring).

    The trace of the discontinuous temperature is taken from the cell under each facet.
    """
    import skfem
    from skfem import LinearForm

    if not getattr(system.problem, "axisymmetric", False):
        raise FemheatInputError(
            "probe_functional: the thermoreflectance observables need an axisymmetric "
            "problem (mesh.coordinates = 'axisymmetric')")
    w1 = _positive(probe_radius, "fdtr.probe_radius", "m")
    rm, tb = system.problem.regions, system.temperature_basis
    fb = skfem.FacetBasis(rm.mesh, tb.elem, facets=rm.boundary(surface),
                          intorder=tb.quadrature[0].shape[0] + 8)

    @LinearForm
    def weight(s, w):
        return np.exp(-2.0 * w.x[0] ** 2 / (w1 * w1)) * 2.0 * np.pi * w.x[0] * s

    p = weight.assemble(fb)
    total = float(p @ system.temperature_ones)
    return p / total


@dataclass
class FDTRResult:
    """FDTR response: f [Hz] and the complex probe temperature T̂_probe [K] per f."""

    frequencies: np.ndarray
    response: np.ndarray

    @property
    def amplitude(self) -> np.ndarray:
        """|T̂_probe| [K]."""
        return np.abs(self.response)

    @property
    def phase(self) -> np.ndarray:
        """arg T̂_probe [deg] (a lag is negative)."""
        return np.degrees(np.angle(self.response))


def fdtr_sweep(system, frequencies: ArrayLike, probe_radius: float, surface: str = "top",
               pump_radius: Optional[float] = None) -> FDTRResult:
    """Probe temperature T̂_probe(f) of an assembled axisymmetric system (e.g. of
    :func:`fdtr_problem`) at each f [Hz]: one complex solve per frequency, the blocks
    and the symbolic ordering reused. With ``pump_radius`` the setup is validated
    (:func:`check_fdtr_setup`) before any solve."""
    from ..solve.frequency import FrequencySolver, check_frequencies

    problem = system.problem
    if pump_radius is not None:
        f = check_fdtr_setup(problem.regions, problem.materials, frequencies, pump_radius,
                             probe_radius, surface)
    else:
        f = check_frequencies(frequencies, "fdtr.frequencies")
    p = probe_functional(system, probe_radius, surface)
    solver = FrequencySolver(system)
    out = np.array([p @ solver.solve(2.0 * np.pi * fk).temperature for fk in f])
    log.info("fdtr: %d frequencies %.3g-%.3g Hz", f.size, f.min(), f.max())
    return FDTRResult(f, out)


def tdtr_harmonics(modulation_frequency: float, repetition_rate: float,
                   max_frequency: float) -> tuple[np.ndarray, np.ndarray]:
    """(k, f_k) of the TDTR sum: k = −M … M, f_k = f_mod + k f_rep [Hz] (signed),
    M = ⌈2 f_max/f_rep⌉."""
    fm = _positive(modulation_frequency, "tdtr.modulation_frequency", "Hz")
    fr = _positive(repetition_rate, "tdtr.repetition_rate", "Hz")
    fx = _positive(max_frequency, "tdtr.max_frequency", "Hz")
    if fm >= fr / 2:
        raise FemheatInputError(
            f"tdtr.modulation_frequency = {fm:g} Hz must be below half the repetition rate "
            f"({fr / 2:g} Hz)")
    M = int(math.ceil(2.0 * fx / fr))
    k = np.arange(-M, M + 1)
    return k, fm + k * fr


def interpolate_response(frequencies: ArrayLike, response: ArrayLike
                         ) -> Callable[[np.ndarray], np.ndarray]:
    """H(f) for f > 0 from a sweep: cubic splines of log|H| and the unwrapped phase in
    log f. Refuses frequencies outside the sweep (no extrapolation)."""
    from scipy.interpolate import CubicSpline

    f = np.asarray(frequencies, dtype=float)
    H = np.asarray(response, dtype=complex)
    order = np.argsort(f)
    f, H = f[order], H[order]
    lf = np.log(f)
    amp = CubicSpline(lf, np.log(np.abs(H)))
    ph = CubicSpline(lf, np.unwrap(np.angle(H)))

    def H_of(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.min() < f[0] * (1 - 1e-12) or x.max() > f[-1] * (1 + 1e-12):
            raise FemheatInputError(
                f"tdtr: the sweep covers {f[0]:.4g}-{f[-1]:.4g} Hz, but the TDTR sum needs "
                f"{x.min():.4g}-{x.max():.4g} Hz; extend tdtr.frequencies (or lower "
                "max_frequency)")
        lx = np.log(x)
        return np.exp(amp(lx) + 1j * ph(lx))

    return H_of


@dataclass
class TDTRSignals:
    """Lock-in signals versus delay t_d [s]: in-phase V_in, out-of-phase V_out (in K per
    W of modulated pump power, i.e. the units of H) and the ratio −V_in/V_out."""

    delays: np.ndarray
    in_phase: np.ndarray
    out_of_phase: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        return -self.in_phase / self.out_of_phase


def tdtr_signals(response: Callable[[np.ndarray], np.ndarray], delays: ArrayLike,
                 modulation_frequency: float, repetition_rate: float,
                 max_frequency: float) -> TDTRSignals:
    """Cahill's sum (module docstring) with ``response`` = H(f) for f > 0 [Hz] (e.g.
    :func:`interpolate_response` of an :func:`fdtr_sweep`), at ``delays`` t_d [s]."""
    td = finite_array(delays, "tdtr.delays").ravel()
    k, fk = tdtr_harmonics(modulation_frequency, repetition_rate, max_frequency)
    H = np.asarray(response(np.abs(fk)), dtype=complex)
    H = np.where(fk < 0, np.conj(H), H)
    weight = np.exp(-math.pi * (k * float(repetition_rate) / float(max_frequency)) ** 2)
    phase = np.exp(2j * math.pi * float(repetition_rate) * np.outer(td, k))
    Z = phase @ (weight * H)
    return TDTRSignals(td, Z.real, Z.imag)


def tdtr_sweep_frequencies(modulation_frequency: float, repetition_rate: float,
                           max_frequency: float, points: int = 40) -> np.ndarray:
    """Log-spaced sweep frequencies [Hz] covering every |f_mod + k f_rep| of the sum."""
    _, fk = tdtr_harmonics(modulation_frequency, repetition_rate, max_frequency)
    a = np.abs(fk)
    return np.logspace(np.log10(a.min()), np.log10(a.max()), int(points))

