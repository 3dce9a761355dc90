"""``[frequency]``: a frequency-domain (time-periodic) study of a mixed model.

::

    [frequency]
    frequencies = {from = 1e3, to = 1e7, points = 25}   # Hz, log-spaced
    # or: frequencies = [1e3, 1e4, 1e5]

Boundary temperatures, normal fluxes, ambient temperatures and the source of the
usual sections are read as the (real) complex amplitudes of the drive at each
frequency; ``[time]`` and ``[initial]`` do not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import FemheatInputError
from ...solve.frequency import check_frequencies
from .common import check_keys, integer, number, table

__all__ = ["FrequencySettings", "parse_frequency"]


@dataclass
class FrequencySettings:
    """The frequencies f [Hz] of a ``[frequency]`` study."""

    frequencies: np.ndarray


def parse_frequency(data: dict) -> FrequencySettings:
    """Parse ``[frequency]`` (see the module docstring); errors name the key."""
    sec = table(data, "frequency", "")
    check_keys(sec, {"frequencies"}, "frequency")
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
    return FrequencySettings(check_frequencies(freqs, where))
