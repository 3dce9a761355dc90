"""Fourier's law q = −κ∇T, in the mixed RT–DG form (τ is ignored)."""

from ..registry import register
from .mixed import MixedModel

__all__ = ["FourierModel"]


class FourierModel(MixedModel):
    """q = −κ∇T. The flux has no inertia: the semi-discrete system is an index-1 DAE
    whose initial flux is the consistent one, −κ∇T(0)."""

    name = "fourier"
    description = "Fourier: q = -kappa grad T"
    has_inertia = False


register(FourierModel())
