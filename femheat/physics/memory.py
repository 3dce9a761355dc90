r"""Multi-mode memory materials (seed 004, eqs. 23–27).

The heat flux is a sum of M exponential memory modes,

.. math::

    q = \sum_m q_m, \qquad \tau_m \partial_t q_m + q_m = -\kappa_m \nabla T ,

equivalent to the Zwanzig memory kernel
q(t) = −∫₀^∞ Z(s) ∇T(t − s) ds with Z(s) = Σₘ (κₘ/τₘ) e^{−s/τₘ} [W m⁻¹ K⁻¹ s⁻¹].
The static conductivity is κ = Σₘ κₘ = ∫Z dt (eq. 27) and the frequency-dependent
one, for fields ∝ e^{iωt},

.. math::

    \kappa(\omega) = \sum_m \frac{\kappa_m}{1 + i\omega\tau_m} .

One mode is the Maxwell–Cattaneo–Vernotte law; all τₘ → 0 is Fourier's law.

:class:`MemoryMaterial` is a :class:`~femheat.physics.materials.Material` whose
``conductivity`` is Σκₘ and whose ``relaxation_time`` is the mean relaxation time
Σκₘτₘ/κ (the first moment of Z; what an MCV fit of the same material would give
at low frequency). Only the ``"memory"`` model (:mod:`femheat.models.memory`) reads
the modes; other models see the equivalent MCV material.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import FemheatInputError
from ..validation import positive
from .materials import Coefficient, Material

__all__ = ["MemoryMaterial", "Mode", "check_modes", "conductivity_spectrum",
           "material_modes"]

#: One memory mode: (κₘ [W m⁻¹ K⁻¹], τₘ [s]); each a number or a callable of x.
Mode = tuple[Coefficient, Coefficient]


def check_modes(modes: Iterable[Any], where: str) -> tuple[Mode, ...]:
    """Validate a list of modes: pairs (κₘ, τₘ) or mappings ``{conductivity,
    relaxation_time}``; constants must be finite and > 0 (errors name
    ``where[i].conductivity`` / ``where[i].relaxation_time``)."""
    out = []
    items = list(modes) if not isinstance(modes, (str, bytes)) else None
    if not items:
        raise FemheatInputError(
            f"{where} must be a non-empty list of modes {{conductivity, relaxation_time}}")
    for i, m in enumerate(items):
        here = f"{where}[{i}]"
        if isinstance(m, dict):
            extra = sorted(set(m) - {"conductivity", "relaxation_time"})
            if extra:
                raise FemheatInputError(
                    f"{here}: unknown key(s) {extra}; allowed: conductivity, relaxation_time")
            missing = [k for k in ("conductivity", "relaxation_time") if k not in m]
            if missing:
                raise FemheatInputError(f"{here}.{missing[0]} is missing")
            k, t = m["conductivity"], m["relaxation_time"]
        else:
            try:
                k, t = m
            except (TypeError, ValueError):
                raise FemheatInputError(
                    f"{here} must be a pair (conductivity, relaxation_time), got {m!r}") from None
        if not callable(k):
            k = float(positive(k, f"{here}.conductivity", "W/(m K)"))
        if not callable(t):
            t = float(positive(t, f"{here}.relaxation_time",
                               "s (a mode with tau = 0 is Fourier conduction: add its "
                               "kappa to another mode or use a small tau)"))
        out.append((k, t))
    return tuple(out)


@dataclass(frozen=True)
class MemoryMaterial(Material):
    """A material with M memory modes (κₘ, τₘ); build it with :meth:`from_modes`.

    ``conductivity`` must equal Σκₘ (it is the static conductivity, eq. 27).
    """

    modes: tuple = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        where = f"materials.{self.name}.modes" if self.name else "modes"
        modes = check_modes(self.modes, where)
        object.__setattr__(self, "modes", modes)
        if all(not callable(k) for k, _ in modes) and not callable(self.conductivity):
            total = sum(k for k, _ in modes)
            kappa = np.asarray(self.conductivity, dtype=float)
            if kappa.ndim == 0 and abs(float(kappa) - total) > 1e-12 * total:
                raise FemheatInputError(
                    f"{where}: the static conductivity {float(kappa)} W/(m K) is not the sum "
                    f"of the mode conductivities ({total}); omit conductivity or make them agree")

    @classmethod
    def from_modes(cls, modes: Sequence[Any], heat_capacity: Coefficient = 1.0,
                   name: str = "", nonlocal_length: Coefficient = 0.0) -> "MemoryMaterial":
        """A material from its modes: κ = Σκₘ, τ̄ = Σκₘτₘ/κ (constant modes) or
        position-dependent sums (callable modes). ``nonlocal_length`` l [m] adds the
        Guyer–Krumhansl term l²(∇²q + β∇∇·q) on the total flux (memory model)."""
        where = f"materials.{name}.modes" if name else "modes"
        ms = check_modes(modes, where)
        if all(not callable(k) and not callable(t) for k, t in ms):
            kappa = float(sum(k for k, _ in ms))
            tau = float(sum(k * t for k, t in ms)) / kappa
        else:
            def kappa(x):  # noqa: E306
                return sum(np.asarray(k(x) if callable(k) else k, dtype=float) for k, _ in ms)

            def tau(x):
                num = sum(np.asarray(k(x) if callable(k) else k, dtype=float)
                          * np.asarray(t(x) if callable(t) else t, dtype=float) for k, t in ms)
                return num / kappa(x)
        return cls(kappa, heat_capacity, tau, name=name, modes=ms,
                   nonlocal_length=nonlocal_length)

    @classmethod
    def from_prony(cls, fit: Any, heat_capacity: Coefficient = 1.0,
                   name: str = "", nonlocal_length: Coefficient = 0.0) -> "MemoryMaterial":
        """A material from a :class:`~femheat.analysis.prony.PronyFit` (its ``modes``)."""
        return cls.from_modes(fit.modes, heat_capacity, name, nonlocal_length)


def material_modes(material: Material) -> tuple[Mode, ...]:
    """The modes of any material: its own, or the single MCV mode (κ, τ) (τ may be 0)."""
    if isinstance(material, MemoryMaterial):
        return material.modes
    return ((material.conductivity, material.relaxation_time),)


def conductivity_spectrum(modes: Sequence[tuple[float, float]],
                          omega: np.ndarray | float) -> np.ndarray:
    """κ(ω) = Σₘ κₘ/(1 + iωτₘ) [W m⁻¹ K⁻¹] for constant modes, ω in rad/s."""
    w = np.asarray(omega, dtype=float)
    return sum(float(k) / (1.0 + 1j * w * float(t)) for k, t in modes)
