"""Models: one module per constitutive model, each registered once in
:mod:`femheat.registry` (import order = listing order)."""

from . import fourier, mcv, gk, kernel, memory  # noqa: F401  (registration)

__all__: list[str] = []
