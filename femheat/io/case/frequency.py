"""``[frequency]``: a frequency-domain (time-periodic) study of a mixed model.

::

    [frequency]
    frequencies = {from = 1e3, to = 1e7, points = 25}   # Hz, log-spaced
    # or: frequencies = [1e3, 1e4, 1e5]

Boundary temperatures, normal fluxes, ambient temperatures and the source of the
usual sections are read as the (real) complex amplitudes of the drive at each
frequency; ``[time]`` and ``[initial]`` do not apply.

Thermoreflectance (``[mesh] coordinates = "axisymmetric"``;
:mod:`femheat.analysis.thermoreflectance`)::

    [frequency.fdtr]            # Gaussian pump on `surface`, probe-averaged T
    pump_radius = 5e-6          # w0, 1/e^2 radius, m (<= sample radius)
    probe_radius = 5e-6         # w1, m
    pump_power = 1.0            # W (amplitude of the modulated power; default 1)
    surface = "top"             # boundary heated and probed (default "top")
    [frequency.tdtr]            # needs [frequency.fdtr]; the sweep must cover the harmonics
    modulation_frequency = 10e6 # f_mod, Hz
    repetition_rate = 80e6      # f_rep, Hz
    max_frequency = 1e9         # f_max of the convergence factor, Hz
    delays = {from = 1e-10, to = 4e-9, points = 40}   # s (or a list)

The sample must be at least 3 penetration depths √(2κ/(Cω)) deep at the lowest
frequency; the pump sets the condition of ``surface`` (do not give one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ...errors import FemheatInputError
from ...solve.frequency import check_frequencies
from .common import check_keys, integer, number, table

__all__ = ["FrequencySettings", "parse_frequency"]


@dataclass
class FrequencySettings:
    """The frequencies f [Hz] of a ``[frequency]`` study."""

    frequencies: np.ndarray
    fdtr: Optional[dict] = None
    tdtr: Optional[dict] = None


def parse_frequency(data: dict) -> FrequencySettings:
    """Parse ``[frequency]`` (see the module docstring); errors name the key."""
    sec = table(data, "frequency", "")
    check_keys(sec, {"frequencies", "fdtr", "tdtr"}, "frequency")
    if "frequencies" not in sec:
        raise FemheatInputError(
            "frequency.frequencies is missing; give {from = Hz, to = Hz, points = n} "
            "(log-spaced) or a list of frequencies in Hz")
    val = sec["frequencies"]
    where = "frequency.frequencies"
    if isinstance(val, dict):
        check_keys(val, {"from", "to", "points"}, where)
        for k in ("from", "to", "points"):
            if k not in val:
                raise FemheatInputError(f"{where}.{k} is missing")
        lo, hi = number(val["from"], f"{where}.from"), number(val["to"], f"{where}.to")
        n = integer(val["points"], f"{where}.points", minimum=1)
        if lo <= 0:
            raise FemheatInputError(f"{where}.from must be > 0 Hz, got {lo}")
        if hi < lo or (n > 1 and hi == lo):
            raise FemheatInputError(f"{where}: need from < to (Hz), got {lo} and {hi}")
        freqs = np.logspace(np.log10(lo), np.log10(hi), n)
    elif isinstance(val, list):
        freqs = np.array([number(v, f"{where}[{i}]") for i, v in enumerate(val)])
    else:
        raise FemheatInputError(
            f"{where} must be a list of frequencies (Hz) or {{from, to, points}}, got {val!r}")
    freqs = check_frequencies(freqs, where)
    fdtr = _parse_fdtr(sec)
    tdtr = _parse_tdtr(sec, fdtr, freqs)
    return FrequencySettings(freqs, fdtr, tdtr)


def _positive(val, where: str, unit: str) -> float:
    v = number(val, where)
    if not np.isfinite(v) or v <= 0:
        raise FemheatInputError(f"{where} must be > 0 {unit}, got {val!r}")
    return v


def _parse_fdtr(sec: dict) -> Optional[dict]:
    if "fdtr" not in sec:
        return None
    t = table(sec, "fdtr", "frequency.")
    where = "frequency.fdtr"
    check_keys(t, {"pump_radius", "probe_radius", "pump_power", "surface"}, where)
    for k in ("pump_radius", "probe_radius"):
        if k not in t:
            raise FemheatInputError(f"{where}.{k} is missing (1/e^2 radius, m)")
    surface = t.get("surface", "top")
    if not isinstance(surface, str):
        raise FemheatInputError(f"{where}.surface must be a boundary name, got {surface!r}")
    return {"pump_radius": _positive(t["pump_radius"], f"{where}.pump_radius", "m"),
            "probe_radius": _positive(t["probe_radius"], f"{where}.probe_radius", "m"),
            "pump_power": number(t.get("pump_power", 1.0), f"{where}.pump_power"),
            "surface": surface}


def _parse_tdtr(sec: dict, fdtr: Optional[dict], freqs: np.ndarray) -> Optional[dict]:
    if "tdtr" not in sec:
        return None
    where = "frequency.tdtr"
    if fdtr is None:
        raise FemheatInputError(
            f"{where} needs [frequency.fdtr] (the pump and probe whose response it sums)")
    t = table(sec, "tdtr", "frequency.")
    keys = {"modulation_frequency", "repetition_rate", "max_frequency", "delays"}
    check_keys(t, keys, where)
    for k in sorted(keys):
        if k not in t:
            raise FemheatInputError(f"{where}.{k} is missing")
    out = {k: _positive(t[k], f"{where}.{k}", "Hz") for k in sorted(keys - {"delays"})}
    d = t["delays"]
    if isinstance(d, dict):
        check_keys(d, {"from", "to", "points"}, f"{where}.delays")
        delays = np.linspace(number(d.get("from"), f"{where}.delays.from"),
                             number(d.get("to"), f"{where}.delays.to"),
                             integer(d.get("points"), f"{where}.delays.points", minimum=1))
    elif isinstance(d, list):
        delays = np.array([number(v, f"{where}.delays[{i}]") for i, v in enumerate(d)])
    else:
        raise FemheatInputError(f"{where}.delays must be a list (s) or {{from, to, points}}")
    out["delays"] = delays
    from ...analysis.thermoreflectance import tdtr_harmonics

    _, fk = tdtr_harmonics(out["modulation_frequency"], out["repetition_rate"],
                           out["max_frequency"])
    need = np.abs(fk)
    if need.min() < freqs.min() * (1 - 1e-9) or need.max() > freqs.max() * (1 + 1e-9):
        raise FemheatInputError(
            f"frequency.frequencies ({freqs.min():.4g}-{freqs.max():.4g} Hz) must cover the "
            f"TDTR harmonics |f_mod + k f_rep| = {need.min():.4g}-{need.max():.4g} Hz of "
            f"[frequency.tdtr]; widen the sweep (or lower {where}.max_frequency)")
    return out
