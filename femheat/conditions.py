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

from .errors import FemheatInputError
from .validation import finite_array, nonnegative, positive

__all__ = [
    "NoSlip",
    "FreeSlip",
    "SlipLength",
    "WallCondition",
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
# condition of the same boundary (HeatFlux(0) for an impermeable wall).
@dataclass(frozen=True)
class NoSlip:
    """Tangential flux vanishes at the wall, q_t = 0 (imposed by Nitsche's method)."""


@dataclass(frozen=True)
class FreeSlip:
    """No tangential stress, ∂q_t/∂n = 0 (natural; the default of every boundary)."""


@dataclass(frozen=True)
class SlipLength:
    """Slip wall q_t = −C_s l ∂q_t/∂n (n outward; Alvarez, Jou & Sellitto 2009).

    Parameters
    ----------
    coefficient
        C_s > 0 (dimensionless): slip length C_s·l in units of the local
        nonlocal length. C_s → 0 is no-slip (use :class:`NoSlip`), C_s → ∞
        free slip.
    """

    coefficient: float

    def __post_init__(self) -> None:
        positive(self.coefficient, "SlipLength.coefficient",
                 "(dimensionless; use NoSlip for 0)")


WallCondition = Union[NoSlip, FreeSlip, SlipLength]
