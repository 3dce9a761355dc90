"""Boundary conditions, interface conditions and volumetric sources.

Sign convention: n is the outward unit normal, so a boundary heat flux
``q·n > 0`` removes heat from the body. Values are constants or callables
``f(x, t)`` of position (shape ``(d, ...)``, metres) and time (seconds).

In the mixed formulation a prescribed **temperature** is a natural condition
(it enters the flux equation as −⟨T_D, v·n⟩), a prescribed **normal heat flux**
is essential (it fixes the Raviart–Thomas degrees of freedom on the boundary),
and **convection** q·n = h (T − T∞) is the same facet term as a Kapitza
resistance, with R = 1/h towards an ambient reservoir at T∞.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from ..errors import FemheatInputError
from ..validation import finite_array, nonnegative, positive

__all__ = [
    "NoSlip",
    "FreeSlip",
    "SlipLength",
    "WallCondition",
    "cylinder_normal",
    "sphere_normal",
    "Temperature",
    "HeatFlux",
    "Insulated",
    "Convection",
    "KapitzaResistance",
    "BoundaryCondition",
    "evaluate",
]

Value = Union[float, Callable[[np.ndarray, float], np.ndarray]]


def evaluate(value: Value, x: np.ndarray, t: float) -> np.ndarray:
    """Evaluate a constant or ``f(x, t)`` at points ``x``, broadcast to ``x.shape[1:]``."""
    if callable(value):
        out = np.asarray(value(x, t), dtype=float)
    else:
        out = np.asarray(value, dtype=float)
    return np.broadcast_to(out, x.shape[1:])


def _check(value: Value, where: str) -> Value:
    if not callable(value):
        finite_array(value, where)
    return value


@dataclass(frozen=True)
class Temperature:
    """Prescribed temperature T = T_D [K] on a boundary."""

    value: Value

    def __post_init__(self) -> None:
        _check(self.value, "Temperature.value")

    @property
    def time_dependent(self) -> bool:
        return callable(self.value)


@dataclass(frozen=True)
class HeatFlux:
    """Prescribed outward normal heat flux q·n = g [W m⁻²] (g > 0 removes heat)."""

    value: Value = 0.0

    def __post_init__(self) -> None:
        _check(self.value, "HeatFlux.value")

    @property
    def time_dependent(self) -> bool:
        return callable(self.value)


def Insulated() -> HeatFlux:
    """Adiabatic wall, q·n = 0."""
    return HeatFlux(0.0)


@dataclass(frozen=True)
class Convection:
    """Newton cooling q·n = h (T − T∞).

    Parameters
    ----------
    heat_transfer_coefficient
        h [W m⁻² K⁻¹], > 0 (use :func:`Insulated` for h = 0).
    ambient_temperature
        T∞ [K], constant or ``f(x, t)``.
    """

    heat_transfer_coefficient: float
    ambient_temperature: Value

    def __post_init__(self) -> None:
        positive(self.heat_transfer_coefficient, "Convection.heat_transfer_coefficient",
                 "W/(m^2 K); use an insulated wall for h = 0")
        _check(self.ambient_temperature, "Convection.ambient_temperature")

    @property
    def time_dependent(self) -> bool:
        return callable(self.ambient_temperature)


@dataclass(frozen=True)
class KapitzaResistance:
    """Interface (Kapitza) resistance R_K = 1/G_K [m² K W⁻¹].

    Across the interface from side A to side B the normal flux is continuous and
    the temperature jumps: T_A − T_B = R_K q·n_AB. ``R_K = 0`` is perfect contact.

    ``tangential`` matters for the Guyer–Krumhansl model only: ``"continuous"``
    (default) couples the tangential flux across the interface through the
    viscous term, as in a single medium; ``"free"`` decouples it, each side
    seeing a stress-free (free-slip) wall, so the tangential flux may jump.
    """

    resistance: float
    tangential: str = "continuous"

    def __post_init__(self) -> None:
        nonnegative(self.resistance, "KapitzaResistance.resistance", "m^2 K/W")
        if self.tangential not in ("continuous", "free"):
            raise FemheatInputError(
                f"KapitzaResistance.tangential = {self.tangential!r}; use 'continuous' "
                "(the GK viscous coupling acts across the interface) or 'free' (each "
                "side is stress-free: tangential flux may jump)")

    @classmethod
    def from_conductance(cls, conductance: float) -> "KapitzaResistance":
        """From a Kapitza conductance G_K [W m⁻² K⁻¹]."""
        return cls(1.0 / float(positive(conductance, "kapitza_conductance", "W/(m^2 K)")))


BoundaryCondition = Union[Temperature, HeatFlux, Convection]


# ------------------------------------------------ Guyer–Krumhansl wall conditions
# They act on the tangential flux only; the normal flux is set by the thermal
# condition of the same boundary (HeatFlux(0) for an impermeable wall), except on
# an insulated wall given the smooth normal of a curved surface (see FreeSlip).
SurfaceNormal = Callable[[np.ndarray], np.ndarray]


def _check_normal(normal, where: str):
    if normal is not None and not callable(normal):
        raise FemheatInputError(
            f"{where}.normal must be a function x -> n(x) of positions x (shape (d, ...), "
            f"metres) returning outward unit normals (shape (d, ...)), or None for the "
            f"facet normals of the mesh; got {normal!r}. For a wire or sphere use "
            "femheat.physics.conditions.cylinder_normal(...) or sphere_normal(...)")
    return normal


@dataclass(frozen=True)
class NoSlip:
    """Tangential flux vanishes at the wall, q_t = 0 (imposed by Nitsche's method).

    No smooth normal is needed: q = 0 on the wall whatever the normal, so a
    faceted (polygonal) curved wall converges at the full order already.
    """


@dataclass(frozen=True)
class FreeSlip:
    r"""No tangential stress, ∂q_t/∂n = 0 (natural; the default of every boundary).

    Parameters
    ----------
    normal
        Optional outward unit normal n(x) of the *true* (curved) wall surface:
        a function of positions ``x`` (shape ``(d, ...)``, metres) returning
        unit vectors of the same shape (dimensionless). Give it on a curved
        insulated wall (cylinder, sphere, circle) meshed by flat facets.

        Without it, q·n_h = 0 is imposed strongly with the facet normals n_h of
        the mesh; where n_h jumps from facet to facet this locks the tangential
        flux (the Babuška–Sapondzhyan paradox of slip on polygons) and free-slip
        results converge only at O(h). With it, the wall is impermeable in the
        weak (Nitsche) sense with the smooth normal (Urquiza, Garon & Farinas,
        J. Comput. Phys. 256, 2014): the flux block gains

        .. math::

            -\langle \sigma_{nn}(q), v\cdot n\rangle
            -\langle \sigma_{nn}(v), q\cdot n\rangle
            + \langle \gamma\, q\cdot n, v\cdot n\rangle,
            \qquad \sigma_{nn}(q) = \nu\,((\nabla q)n)\cdot n + \beta\nu\,\nabla\cdot q

        (ν = l²/κ [m³ K W⁻¹]; penalty γ = η(1+β)σ_F(ν + κ⁻¹(|K|/|F|)²)
        [m² K W⁻¹] with σ_F ~ 1/h the facet scale of :mod:`femheat.assembly.gk`), the
        flux equation keeps the wall term ⟨T, v·n_h⟩ of ∫∇T·v (plus, for a P0
        temperature, its trace from the flux), and the energy equation counts
        the heat that crosses the wall facets. That heat flow (reported by
        :func:`femheat.boundary_heat_flow`) is the discretization error of the
        weak condition; it vanishes at O(h²) (measured in
        ``tests/test_gk_curved_walls.py``). See :mod:`femheat.assembly.gk`. The wall's
        thermal condition must be insulated (``HeatFlux(0)``).
    """

    normal: SurfaceNormal | None = None

    def __post_init__(self) -> None:
        _check_normal(self.normal, "FreeSlip")


@dataclass(frozen=True)
class SlipLength:
    """Slip wall q_t = −C_s l ∂q_t/∂n (n outward; Alvarez, Jou & Sellitto 2009).

    Parameters
    ----------
    coefficient
        C_s > 0 (dimensionless): slip length C_s·l in units of the local
        nonlocal length. C_s → 0 is no-slip (use :class:`NoSlip`), C_s → ∞
        free slip.
    normal
        Optional outward unit normal n(x) of the true curved wall (see
        :class:`FreeSlip`): the wall is then impermeable in the weak sense and
        the tangential flux q_t = q − (q·n)n of the slip condition uses n.
    """

    coefficient: float
    normal: SurfaceNormal | None = None

    def __post_init__(self) -> None:
        positive(self.coefficient, "SlipLength.coefficient",
                 "(dimensionless; use NoSlip for 0)")
        _check_normal(self.normal, "SlipLength")


def _unit(vector, where: str, dim: int | None = None) -> np.ndarray:
    v = finite_array(vector, where)
    if v.ndim != 1 or (dim is not None and v.size != dim) or v.size not in (2, 3):
        raise FemheatInputError(
            f"{where} must be a vector of {dim or '2 or 3'} numbers, got {vector!r}")
    norm = np.linalg.norm(v)
    if norm == 0:
        raise FemheatInputError(f"{where} must be nonzero, got {vector!r}")
    return v / norm


def cylinder_normal(axis=(1.0, 0.0, 0.0), point=(0.0, 0.0, 0.0)) -> SurfaceNormal:
    """Outward normal of a circular cylinder (3D) with the given axis through ``point`` [m].

    n(x) = r/|r|, r = (x − p) − ((x − p)·a) a, a the unit axis. The default
    matches :func:`femheat.mesh.geometry.wire` (axis along x through the origin).
    Use it as ``FreeSlip(normal=cylinder_normal())``.
    """
    a = _unit(axis, "cylinder_normal axis", 3)
    p = finite_array(point, "cylinder_normal point")
    if p.shape != (3,):
        raise FemheatInputError(f"cylinder_normal point must be 3 numbers, got {point!r}")

    def normal(x: np.ndarray) -> np.ndarray:
        r = np.asarray(x, dtype=float) - p.reshape((3,) + (1,) * (np.ndim(x) - 1))
        r = r - np.einsum("i...,i->...", r, a)[None] * a.reshape((3,) + (1,) * (r.ndim - 1))
        return r / np.linalg.norm(r, axis=0)

    return normal


def sphere_normal(center=(0.0, 0.0, 0.0), inward: bool = False) -> SurfaceNormal:
    """Normal (x − c)/|x − c| of a sphere (3D) or circle (2D, give 2 numbers) of centre c [m].

    ``inward=True`` flips it, for a hole or the inner wall of an annulus or
    shell, whose outward normal points towards the centre.
    """
    c = finite_array(center, "sphere_normal center")
    if c.shape not in ((2,), (3,)):
        raise FemheatInputError(f"sphere_normal center must be 2 or 3 numbers, got {center!r}")
    sign = -1.0 if inward else 1.0

    def normal(x: np.ndarray) -> np.ndarray:
        r = np.asarray(x, dtype=float) - c.reshape((c.size,) + (1,) * (np.ndim(x) - 1))
        return sign * r / np.linalg.norm(r, axis=0)

    return normal


WallCondition = Union[NoSlip, FreeSlip, SlipLength]
