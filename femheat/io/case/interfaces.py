"""The ``[interfaces.NAME]`` section of a case file: Kapitza resistance per interface.

::

    [interfaces.interface_1]
    kapitza_resistance = 1e-9                     # m^2 K/W, constant along the interface
    # or an expression in x, y, z [m] (evaluated at t = 0), varying along the interface:
    # kapitza_resistance = "1e-9*(1 + 0.5*sin(2*pi*y/1e-6))"
    # or one value per facet, in the order regions.interface(NAME) lists the facets,
    # from a file relative to the case file (.npy, or .csv with one value per line):
    # kapitza_resistance = {file = "rk.npy"}
    # kapitza_conductance (W/(m^2 K)) takes the same three forms instead
    tangential = "continuous"                     # gk only: or "free"

Numbers are checked here; expressions when read (syntax, names) and, like per-facet
values, against the mesh when the problem is created (facet count, NaN, negative values),
always with the key ``interfaces.NAME.kapitza_resistance`` (or ``kapitza_conductance``)
in the message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FemheatInputError
from ...physics.conditions import KapitzaResistance
from ...physics.expressions import compile_expression

__all__ = ["KEYS", "parse_interface", "parse_interfaces"]

#: Keys of an ``[interfaces.NAME]`` table.
KEYS = ("kapitza_resistance", "kapitza_conductance", "tangential")

_UNITS = {"kapitza_resistance": "m^2 K/W", "kapitza_conductance": "W/(m^2 K)"}


class _Expression:
    """x -> f(x, 0): a case-file expression of position, evaluated at t = 0."""

    def __init__(self, text: str, where: str):
        self.expression = text
        self._f = compile_expression(text, where)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._f(x, 0.0)

    def __repr__(self) -> str:
        return repr(self.expression)


def _per_facet_file(value: dict, where: str, base: Path) -> np.ndarray:
    """``{file = "rk.npy"}`` or ``{file = "rk.csv"}``: one value per facet."""
    unknown = sorted(set(value) - {"file"})
    if unknown or "file" not in value or not isinstance(value["file"], str):
        raise FemheatInputError(
            f"{where} = {value!r}; a table must be {{file = \"values.npy\"}} or "
            "{file = \"values.csv\"}: one value per facet of the interface")
    path = (base / value["file"]).resolve()
    if not path.is_file():
        raise FemheatInputError(f"{where}.file: {path} does not exist (paths are relative to "
                                "the case file)")
    try:
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif path.suffix == ".csv":
            arr = np.loadtxt(path, delimiter=",", comments="#", ndmin=1)
        else:
            raise FemheatInputError(
                f"{where}.file = {value['file']!r}: use a .npy file or a .csv file with one "
                "value per line")
        arr = np.asarray(arr, dtype=float)
    except FemheatInputError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise FemheatInputError(
            f"{where}.file: cannot read numbers from {path}: {exc}; write one value per "
            "facet (.npy: a 1D float array; .csv: one number per line, '#' comments)"
        ) from None
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1 or not arr.size:
        raise FemheatInputError(
            f"{where}.file: {path} holds an array of shape {arr.shape}; give one value per "
            "facet (a 1D array, or one column)")
    return arr


def parse_interface(spec, where: str, base: Path = Path(".")) -> KapitzaResistance:
    """Parse one ``[interfaces.NAME]`` table (``where`` = ``"interfaces.NAME"``)."""
    if not isinstance(spec, dict):
        raise FemheatInputError(f"{where} must be a table")
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise FemheatInputError(
            f"{where}: unknown key(s) {unknown}; allowed: {', '.join(sorted(KEYS))}")
    tangential = spec.get("tangential", "continuous")
    if tangential not in ("continuous", "free"):
        raise FemheatInputError(
            f"{where}.tangential = {tangential!r}; use \"continuous\" or \"free\"")
    given = [k for k in _UNITS if k in spec]
    if len(given) != 1:
        raise FemheatInputError(
            f"{where}: give exactly one of kapitza_resistance (m^2 K/W) or "
            "kapitza_conductance (W/(m^2 K))")
    key = given[0]
    value, at = spec[key], f"{where}.{key}"
    if isinstance(value, str):
        value = _Expression(value, at)
    elif isinstance(value, dict):
        value = _per_facet_file(value, at, base)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FemheatInputError(
            f"{at} must be a number ({_UNITS[key]}), an expression in x, y, z (a string) "
            f"or {{file = \"values.npy\"}} with one value per facet, got {value!r}")
    else:
        value = float(value)
        if key == "kapitza_resistance" and not (np.isfinite(value) and value >= 0):
            raise FemheatInputError(f"{at} must be >= 0 m^2 K/W, got {value}")
        if key == "kapitza_conductance" and not (np.isfinite(value) and value > 0):
            raise FemheatInputError(f"{at} must be > 0 W/(m^2 K), got {value}")
    if key == "kapitza_conductance":
        return KapitzaResistance.from_conductance(value, tangential)
    return KapitzaResistance(value, tangential)


def parse_interfaces(data: dict, base: Path = Path(".")) -> dict[str, KapitzaResistance]:
    """Every ``[interfaces.NAME]`` table of a case (file paths relative to ``base``)."""
    tables = data.get("interfaces", {})
    if not isinstance(tables, dict):
        raise FemheatInputError(f"interfaces must be a table, got {tables!r}")
    return {name: parse_interface(spec, f"interfaces.{name}", base)
            for name, spec in tables.items()}
