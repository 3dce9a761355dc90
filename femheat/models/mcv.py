"""Maxwell–Cattaneo–Vernotte: τ ∂q/∂t + q = −κ∇T (second sound at c = √(κ/(Cτ)))."""

from ..registry import register
from .mixed import MixedModel

__all__ = ["MCVModel"]


class MCVModel(MixedModel):
    """τ ∂q/∂t + q = −κ∇T: the flux mass M = (τκ⁻¹q, v) joins the flux block."""

    name = "mcv"
    description = "Maxwell-Cattaneo-Vernotte: tau dq/dt + q = -kappa grad T"
    has_inertia = True
    transient_material_keys = {
        "relaxation_time": "the MCV model needs tau (s), or use model.type = \"fourier\""}


register(MCVModel())
