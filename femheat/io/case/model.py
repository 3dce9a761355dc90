"""``[model]``: the model type (a name in :data:`femheat.registry.MODELS`) and
the options that model declares."""

from __future__ import annotations

from ...registry import Model, get_model
from .common import table

__all__ = ["parse_model"]


def parse_model(data: dict) -> tuple[Model, dict]:
    """(registered model, its validated options) from ``[model]`` (default type mcv)."""
    spec = table(data, "model", "")
    model = get_model(spec.get("type", "mcv"), "model.type")
    options = model.parse_options({k: v for k, v in spec.items() if k != "type"}, "model")
    return model, options
