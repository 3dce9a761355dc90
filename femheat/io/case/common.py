"""Helpers shared by the case-file section parsers: every error names its key path."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import FemheatInputError
from ...physics.expressions import compile_expression

__all__ = ["check_keys", "table", "number", "value", "coefficient", "flag", "integer"]


def check_keys(tbl: dict, allowed: set, where: str) -> None:
    """Refuse keys outside ``allowed`` (typos would otherwise be ignored silently)."""
    unknown = sorted(set(tbl) - set(allowed))
    if unknown:
        raise FemheatInputError(
            f"{where}: unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")


def table(data: dict, key: str, where: str) -> dict:
    """``data[key]`` as a table ({} if absent); ``where`` is the parent's path + '.'."""
    val = data.get(key, {})
    if not isinstance(val, dict):
        raise FemheatInputError(f"{where}{key} must be a table, got {val!r}")
    return val


def number(val: Any, where: str) -> float:
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise FemheatInputError(f"{where} must be a number, got {val!r}")
    return float(val)


def integer(val: Any, where: str, minimum: int | None = None) -> int:
    if isinstance(val, bool) or not isinstance(val, int):
        raise FemheatInputError(f"{where} must be an integer, got {val!r}")
    if minimum is not None and val < minimum:
        raise FemheatInputError(f"{where} must be an integer >= {minimum}, got {val!r}")
    return val


def flag(val: Any, where: str) -> bool:
    """A TOML boolean; strings such as "no" or "false" are refused, not read as true."""
    if not isinstance(val, bool):
        raise FemheatInputError(f"{where} must be true or false (no quotes), got {val!r}")
    return val


def value(val: Any, where: str):
    """Number or expression string -> constant or f(x, t)."""
    if isinstance(val, str):
        return compile_expression(val, where)
    return number(val, where)


def coefficient(val: Any, where: str):
    """Material coefficient: number, tensor (nested list) or expression of x."""
    if isinstance(val, str):
        f = compile_expression(val, where)

        def coef(x):
            return f(x, 0.0)

        coef.expression = val  # type: ignore[attr-defined]  (provenance)
        return coef
    if isinstance(val, list):
        try:
            arr = np.asarray(val, dtype=float)
        except (TypeError, ValueError):
            raise FemheatInputError(f"{where} must be a numeric tensor, got {val!r}") from None
        return arr
    return number(val, where)
