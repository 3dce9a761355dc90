"""``[interfaces.NAME]``: Kapitza resistance or conductance, GK tangential behaviour."""

from __future__ import annotations

import numpy as np

from ...errors import FemheatInputError
from ...physics.conditions import KapitzaResistance
from .common import check_keys, number, table

__all__ = ["parse_interfaces"]


def parse_interfaces(data: dict) -> dict[str, KapitzaResistance]:
    out: dict[str, KapitzaResistance] = {}
    for name, spec in table(data, "interfaces", "").items():
        where = f"interfaces.{name}"
        if not isinstance(spec, dict):
            raise FemheatInputError(f"{where} must be a table")
        check_keys(spec, {"kapitza_resistance", "kapitza_conductance", "tangential"}, where)
        tangential = spec.get("tangential", "continuous")
        if tangential not in ("continuous", "free"):
            raise FemheatInputError(
                f"{where}.tangential = {tangential!r}; use \"continuous\" or \"free\"")
        spec = {k: v for k, v in spec.items() if k != "tangential"}
        if len(spec) != 1:
            raise FemheatInputError(
                f"{where}: give exactly one of kapitza_resistance (m^2 K/W) or "
                "kapitza_conductance (W/(m^2 K))")
        if "kapitza_resistance" in spec:
            r = number(spec["kapitza_resistance"], f"{where}.kapitza_resistance")
            if r < 0 or not np.isfinite(r):
                raise FemheatInputError(
                    f"{where}.kapitza_resistance must be >= 0 m^2 K/W, got {r}")
            out[name] = KapitzaResistance(r, tangential)
        else:
            g = number(spec["kapitza_conductance"], f"{where}.kapitza_conductance")
            if not g > 0 or not np.isfinite(g):
                raise FemheatInputError(
                    f"{where}.kapitza_conductance must be > 0 W/(m^2 K), got {g}")
            out[name] = KapitzaResistance(1.0 / g, tangential)
    return out
