"""Free parameters of a fit: case-file key paths, initial values, bounds, priors.

A parameter is named by its key path in the case table, as a sweep's
(:mod:`femheat.pipeline.sweep_params`): ``materials.medium.relaxation_time``,
``materials.layer_1.modes.0.conductivity``, ``interfaces.interface_1.kapitza_resistance``.
Its initial value is the case's value unless given. A parameter whose initial value
and lower bound are positive is fitted in ln p (the default for κ, C, τ, l, R_K),
which makes the steps relative and keeps it positive.

In a case file, a ``[fit]`` section names them (``femheat fit CASE --data FILE``)::

    [fit]
    experiment = "flash"                      # or "grating"
    [fit.parameters."materials.medium.relaxation_time"]
    bounds = [1e-8, 1e-4]                     # optional (default: (0, inf) for ln p)
    prior = {mean = 1e-6, sigma = 5e-7}       # optional Gaussian prior, SI units
    [fit.parameters."materials.medium.nonlocal_length"]
    initial = 5e-7                            # optional (default: the case's value)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..errors import FemheatInputError
from ..pipeline.sweep_params import get_path

__all__ = ["FitParameter", "numeric_paths", "resolve_parameters", "parse_fit_parameters"]

_SKIP = ("mesh", "time", "output", "fit", "title", "description")


@dataclass
class FitParameter:
    """One free parameter.

    Attributes
    ----------
    key
        Case-file key path (or any label, for a forward callable).
    initial
        Start value (SI); None: the case's value.
    lower, upper
        Bounds (SI).
    prior
        ``(mean, sigma)`` of a Gaussian prior (SI), or None.
    log
        Fit in ln p; None: when ``initial > 0`` and ``lower >= 0``.
    """

    key: str
    initial: Optional[float] = None
    lower: float = -math.inf
    upper: float = math.inf
    prior: Optional[tuple[float, float]] = None
    log: Optional[bool] = None

    def check(self) -> None:
        """Validate bounds, prior and scaling (errors name the key)."""
        k = self.key
        if self.initial is None or not math.isfinite(self.initial):
            raise FemheatInputError(f"fit.parameters.{k}: the initial value must be a finite "
                                    f"number, got {self.initial!r}")
        if not self.lower < self.upper:
            raise FemheatInputError(f"fit.parameters.{k}.bounds = [{self.lower:g}, "
                                    f"{self.upper:g}]: the lower bound must be below the upper")
        if not self.lower <= self.initial <= self.upper:
            raise FemheatInputError(
                f"fit.parameters.{k}: the initial value {self.initial:g} lies outside the "
                f"bounds [{self.lower:g}, {self.upper:g}]; widen the bounds or change the "
                "initial value")
        if self.log is None:
            self.log = self.initial > 0 and self.lower >= 0
        if self.log and (self.initial <= 0 or self.lower < 0):
            raise FemheatInputError(f"fit.parameters.{k}: a ln p fit needs initial > 0 and "
                                    f"lower >= 0, got {self.initial:g}, {self.lower:g}")
        if self.prior is not None:
            mean, sigma = self.prior
            if not (math.isfinite(mean) and sigma > 0):
                raise FemheatInputError(f"fit.parameters.{k}.prior: needs a finite mean and "
                                        f"sigma > 0, got mean = {mean!r}, sigma = {sigma!r}")

    # --- the fit variable z: ln p, or p / |p0| ---------------------------------------
    @property
    def scale(self) -> float:
        return 1.0 if self.log else (abs(self.initial) or 1.0)

    def to_z(self, p: float) -> float:
        return math.log(p) if self.log else p / self.scale

    def from_z(self, z: float) -> float:
        return math.exp(z) if self.log else z * self.scale

    def z_bounds(self) -> tuple[float, float]:
        if self.log:
            lo = math.log(self.lower) if self.lower > 0 else -math.inf
            hi = math.log(self.upper) if math.isfinite(self.upper) else math.inf
            return lo, hi
        return self.lower / self.scale, self.upper / self.scale


def numeric_paths(data: Any, where: str = "") -> Iterator[str]:
    """Key paths of every number in a case table (sections of the physics only)."""
    if isinstance(data, dict):
        for k, v in data.items():
            if not where and k in _SKIP:
                continue
            yield from numeric_paths(v, f"{where}.{k}" if where else k)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from numeric_paths(v, f"{where}.{i}")
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield where


def resolve_parameters(table: Mapping, parameters: Sequence[FitParameter]) -> list[FitParameter]:
    """Check each key against the case table and fill in the initial values.

    An unknown key raises :class:`~femheat.errors.FemheatInputError` listing the
    numeric key paths of the case.
    """
    keys = [p.key for p in parameters]
    if not keys:
        raise FemheatInputError("a fit needs at least one free parameter "
                                "([fit.parameters] or --param KEY)")
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise FemheatInputError(f"fit parameter {dup[0]} is given twice")
    valid = list(numeric_paths(dict(table)))
    out = []
    for p in parameters:
        try:
            value = get_path(dict(table), p.key)
        except KeyError:
            value = None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise FemheatInputError(
                f"fit parameter {p.key!r} is not a number of this case; the numeric key "
                f"paths are: {', '.join(valid)}")
        q = FitParameter(p.key, float(value) if p.initial is None else float(p.initial),
                         p.lower, p.upper, p.prior, p.log)
        q.check()
        out.append(q)
    return out


def _float(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FemheatInputError(f"{where} must be a number, got {v!r}")
    return float(v)


def parse_fit_parameters(table: Mapping[str, Any], where: str = "fit.parameters"
                         ) -> list[FitParameter]:
    """The ``[fit.parameters]`` table: ``{key path: {initial, bounds, prior, log}}``."""
    if not isinstance(table, Mapping):
        raise FemheatInputError(f"{where} must be a table of key paths")
    out = []
    for key, spec in table.items():
        here = f"{where}.{key}"
        if spec is True or spec == {}:
            spec = {}
        if not isinstance(spec, Mapping):
            raise FemheatInputError(f"{here} must be a table (initial, bounds, prior, log)")
        unknown = sorted(set(spec) - {"initial", "bounds", "prior", "log"})
        if unknown:
            raise FemheatInputError(f"{here}: unknown key(s) {unknown}; allowed: initial, "
                                    "bounds, prior, log")
        lo, hi = -math.inf, math.inf
        if "bounds" in spec:
            b = spec["bounds"]
            if not isinstance(b, list) or len(b) != 2:
                raise FemheatInputError(f"{here}.bounds must be [lower, upper], got {b!r}")
            lo, hi = _float(b[0], f"{here}.bounds"), _float(b[1], f"{here}.bounds")
        prior = None
        if "prior" in spec:
            pr = spec["prior"]
            if not isinstance(pr, Mapping) or set(pr) != {"mean", "sigma"}:
                raise FemheatInputError(f"{here}.prior must be {{mean = ..., sigma = ...}}")
            prior = (_float(pr["mean"], f"{here}.prior.mean"),
                     _float(pr["sigma"], f"{here}.prior.sigma"))
        init = _float(spec["initial"], f"{here}.initial") if "initial" in spec else None
        log = spec.get("log")
        if log is not None and not isinstance(log, bool):
            raise FemheatInputError(f"{here}.log must be true or false, got {log!r}")
        if lo == -math.inf and log is not False:
            lo = 0.0 if log or init is None or init > 0 else lo
        out.append(FitParameter(str(key), init, lo, hi, prior, log))
    return out


def as_array(parameters: Sequence[FitParameter]) -> np.ndarray:
    return np.array([p.initial for p in parameters], dtype=float)
