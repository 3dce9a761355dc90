"""Forward models built from case files: p -> the observable at the data points.

:class:`CaseForward` sets the free parameters at their key paths in a copy of the
case table, parses it (every check of :func:`~femheat.io.case.parse_case`, the
mesh loaded once and shared), runs the transient and records the experiment's
observable (:mod:`femheat.analysis.observables`), interpolated at the data's
times. Several experiments (one case and its data sets each) share the free
parameters through :class:`JointForward`.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from ..errors import FemheatInputError
from ..pipeline.sweep_params import set_path, shared_mesh
from .data import Dataset
from .parameters import FitParameter, resolve_parameters

__all__ = ["CaseForward", "JointForward", "OBSERVABLES"]

log = logging.getLogger(__name__)


def _flash(case: Any, options: Mapping[str, Any]):
    from ..analysis.observables import flash_rear_face

    return flash_rear_face(case, options.get("rear", "right"))


def _grating(case: Any, options: Mapping[str, Any]):
    from ..analysis.observables import grating_decay

    return grating_decay(case, options.get("period"), int(options.get("axis", 0)))


#: Experiment type -> observable (case, options) -> Trace; options of the [fit] section.
OBSERVABLES: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "flash": (_flash, ("rear",)),
    "grating": (_grating, ("period", "axis")),
}


@dataclass
class CaseForward:
    """The observable of one case at the points of its data sets.

    Parameters
    ----------
    table
        The case table (``io.case.read_case_table``); a ``[fit]`` section is ignored.
    base
        Folder of the case file (relative paths).
    keys
        Key paths of the free parameters, in the fit's order.
    datasets
        The measured data sets this case must reproduce (their ``x`` are times [s]).
    experiment
        ``"flash"`` or ``"grating"`` (:data:`OBSERVABLES`).
    options
        The observable's options (``rear``; ``period``, ``axis``).
    """

    table: dict
    base: Path
    keys: Sequence[str]
    datasets: Sequence[Dataset]
    experiment: str = "flash"
    options: Mapping[str, Any] = field(default_factory=dict)
    solves: int = 0

    def __post_init__(self) -> None:
        from ..io.case import parse_case

        if self.experiment not in OBSERVABLES:
            raise FemheatInputError(f"fit.experiment = {self.experiment!r}; the case-file "
                                    f"observables are {', '.join(OBSERVABLES)} (any other "
                                    "experiment: pass a forward callable to fit())")
        allowed = OBSERVABLES[self.experiment][1]
        bad = sorted(set(self.options) - set(allowed))
        if bad:
            raise FemheatInputError(f"fit: unknown option(s) {bad} for experiment "
                                    f"{self.experiment!r}; allowed: {', '.join(allowed)}")
        self.table = {k: v for k, v in copy.deepcopy(dict(self.table)).items() if k != "fit"}
        self.base = Path(self.base)
        self.mesh = shared_mesh(self.table.get("mesh"), self.base)
        case = parse_case(copy.deepcopy(self.table), self.base, mesh=self.mesh)  # checks now
        if case.time is None:
            raise FemheatInputError(f"fit.experiment = {self.experiment!r} needs a transient "
                                    "case: add a [time] section")
        end = case.time.end
        for d in self.datasets:
            if d.x.min() < 0 or d.x.max() > end * (1 + 1e-9):
                raise FemheatInputError(
                    f"data set {d.name!r}: times {d.x.min():g} ... {d.x.max():g} s lie outside "
                    f"the model's range 0 ... time.end = {end:g} s; raise time.end to at least "
                    f"{d.x.max():g} s or trim the data")

    def case(self, p: Sequence[float]):
        """The parsed case with the parameters ``p`` set at their key paths."""
        from ..io.case import parse_case

        with warnings.catch_warnings():  # plausibility warnings: once, in __post_init__
            warnings.simplefilter("ignore")
            return parse_case(self.fitted_table(p), self.base, mesh=self.mesh)

    def trace(self, p: Sequence[float]):
        """The observable's whole :class:`~femheat.analysis.observables.Trace` at ``p``.

        The :data:`CACHE_SIZE` most recently used traces of the process are kept by
        (case table with ``p`` set, folder, observable): fits of the same case (noise
        draws of one study, the same fit from the API and the CLI) solve each point
        once, e.g. the initial values and their finite-difference neighbours."""
        data = self.fitted_table(p)
        key = json.dumps([data, str(self.base.resolve()), self.experiment, dict(self.options)],
                         sort_keys=True, default=str)
        if key in _TRACES:
            _TRACES[key] = _TRACES.pop(key)  # most recently used last
            return _TRACES[key]
        observable = OBSERVABLES[self.experiment][0]
        trace = observable(self.case(p), self.options)
        self.solves += 1
        if len(_TRACES) >= CACHE_SIZE:
            _TRACES.pop(next(iter(_TRACES)))
        _TRACES[key] = trace
        return trace

    def __call__(self, p: Sequence[float]) -> np.ndarray:
        trace = self.trace(p)
        return np.concatenate([trace.at(d.x) for d in self.datasets])

    def fitted_table(self, p: Sequence[float]) -> dict:
        """The case table with the fitted values at their key paths."""
        data = copy.deepcopy(self.table)
        for k, v in zip(self.keys, p):
            set_path(data, k, float(v))
        return data


#: transient traces kept per process (least recently used dropped first)
CACHE_SIZE = 128
_TRACES: dict[str, Any] = {}


class JointForward:
    """Several experiments sharing the free parameters: their signals concatenated."""

    def __init__(self, parts: Sequence[Callable[[np.ndarray], np.ndarray]]):
        self.parts = list(parts)

    def __call__(self, p: Sequence[float]) -> np.ndarray:
        return np.concatenate([np.ravel(f(p)) for f in self.parts])

    @property
    def solves(self) -> int:
        return sum(getattr(f, "solves", 0) for f in self.parts)


def case_parameters(table: Mapping, parameters: Sequence[FitParameter]) -> list[FitParameter]:
    """:func:`~femheat.inverse.parameters.resolve_parameters` on a case table."""
    return resolve_parameters({k: v for k, v in table.items() if k != "fit"}, parameters)
