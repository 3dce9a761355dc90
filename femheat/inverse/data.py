"""Measured data sets: CSV files with units in the header.

The first line names the columns with their units in brackets; the values are
converted to SI::

    time [us], temperature_rise [mK], sigma [mK]
    0.0, 0.0, 0.5
    0.5, 12.1, 0.5

Column convention per experiment type (the first column is the independent
variable, the second the signal, an optional third column ``sigma`` the 1σ noise
of each point in the signal's unit):

=========  =====================================  ============================
type       columns                                 model observable
=========  =====================================  ============================
flash      ``time [s]``, ``temperature_rise [K]``  rear-face rise ΔT(t)
grating    ``time [s]``, ``amplitude [K]``          grating amplitude a(t)
frequency  ``frequency [Hz]``, ``phase [deg]``      phase lag (forward callable)
=========  =====================================  ============================

Units accepted: s, ms, us, µs, ns, ps; K, mK, uK; Hz, kHz, MHz, GHz; rad, deg;
``1`` or ``-`` for dimensionless columns.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError

__all__ = ["Dataset", "read_data", "UNITS", "EXPERIMENTS"]

#: Unit -> (dimension, factor to SI).
UNITS = {
    "s": ("time", 1.0), "ms": ("time", 1e-3), "us": ("time", 1e-6), "µs": ("time", 1e-6),
    "ns": ("time", 1e-9), "ps": ("time", 1e-12),
    "K": ("temperature", 1.0), "mK": ("temperature", 1e-3), "uK": ("temperature", 1e-6),
    "Hz": ("frequency", 1.0), "kHz": ("frequency", 1e3), "MHz": ("frequency", 1e6),
    "GHz": ("frequency", 1e9), "rad": ("angle", 1.0), "deg": ("angle", np.pi / 180),
    "1": ("dimensionless", 1.0), "-": ("dimensionless", 1.0),
}

#: Experiment type -> (independent variable dimension, signal dimension).
EXPERIMENTS = {"flash": ("time", "temperature"), "grating": ("time", "temperature"),
               "frequency": ("frequency", "angle")}

_HEADER = re.compile(r"^\s*([^\[\]]+?)\s*\[\s*([^\]]+?)\s*\]\s*$")


@dataclass
class Dataset:
    """One measured curve: ``signal`` (SI) at ``x`` (SI), optional 1σ ``sigma``.

    ``name`` labels the set in reports; ``columns`` are the header's names.
    """

    x: np.ndarray
    signal: np.ndarray
    sigma: Optional[np.ndarray] = None
    name: str = "data"
    columns: tuple[str, str] = ("x", "signal")
    units: tuple[str, str] = ("", "")

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float).ravel()
        self.signal = np.asarray(self.signal, dtype=float).ravel()
        where = f"data set {self.name!r}"
        if self.x.shape != self.signal.shape:
            raise FemheatInputError(f"{where}: x has {self.x.size} values, the signal "
                                    f"{self.signal.size}; give one signal value per x")
        if not (np.all(np.isfinite(self.x)) and np.all(np.isfinite(self.signal))):
            bad = int(np.flatnonzero(~(np.isfinite(self.x) & np.isfinite(self.signal)))[0])
            raise FemheatInputError(f"{where}: row {bad + 1} holds a non-finite value; "
                                    "remove it")
        if self.sigma is not None:
            s = np.broadcast_to(np.asarray(self.sigma, dtype=float), self.x.shape).copy()
            if not np.all(s > 0):
                raise FemheatInputError(f"{where}: sigma must be > 0 everywhere, got min "
                                        f"{s.min():g}")
            self.sigma = s

    @classmethod
    def from_arrays(cls, x: ArrayLike, signal: ArrayLike, sigma: ArrayLike | None = None,
                    name: str = "data") -> "Dataset":
        """A data set from arrays already in SI units."""
        return cls(np.asarray(x), np.asarray(signal), sigma, name)


def _column(text: str, path: Path, index: int) -> tuple[str, str, float]:
    m = _HEADER.match(text)
    if not m:
        raise FemheatInputError(
            f"{path}: column {index + 1} header {text.strip()!r} has no unit; write it as "
            "'name [unit]', e.g. 'time [s], temperature_rise [K]'")
    name, unit = m.group(1), m.group(2)
    if unit not in UNITS:
        raise FemheatInputError(f"{path}: column {name!r} has unit {unit!r}; use one of "
                                + ", ".join(UNITS))
    return name, unit, UNITS[unit][1]


def read_data(path: str | Path, experiment: Optional[str] = None) -> Dataset:
    """Read a CSV data set with units in its header (see the module docstring).

    ``experiment`` (``"flash"``, ``"grating"``, ``"frequency"``) checks that the
    columns have the dimensions of that experiment's convention.
    """
    path = Path(path)
    if not path.is_file():
        raise FemheatInputError(f"data file {str(path)!r} does not exist")
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise FemheatInputError(f"{path}: empty data file; the first line is the header")
    header = [_column(h, path, i) for i, h in enumerate(rows[0])]
    if len(header) not in (2, 3):
        raise FemheatInputError(f"{path}: {len(header)} columns; give x, signal and "
                                "optionally sigma (in the signal's dimension)")
    if experiment is not None:
        if experiment not in EXPERIMENTS:
            raise FemheatInputError(f"experiment {experiment!r}; use one of "
                                    + ", ".join(EXPERIMENTS))
        want = EXPERIMENTS[experiment]
        got = tuple(UNITS[u][0] for _, u, _ in header[:2])
        if got != want:
            raise FemheatInputError(
                f"{path}: a {experiment} data set has columns of {want[0]} and {want[1]}; "
                f"the header gives {got[0]} ({header[0][1]}) and {got[1]} ({header[1][1]})")
    if len(header) == 3 and UNITS[header[2][1]][0] != UNITS[header[1][1]][0]:
        raise FemheatInputError(f"{path}: the sigma column must have the signal's dimension "
                                f"({header[1][1]}), got {header[2][1]}")
    try:
        values = np.array([[float(v) for v in r] for r in rows[1:]], dtype=float)
    except ValueError as exc:
        raise FemheatInputError(f"{path}: {exc}; every row after the header holds numbers"
                                ) from None
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] != len(header):
        raise FemheatInputError(f"{path}: every row must hold {len(header)} numbers")
    scale = np.array([h[2] for h in header])
    values = values * scale
    sigma = values[:, 2] if len(header) == 3 else None
    return Dataset(values[:, 0], values[:, 1], sigma, name=path.stem,
                   columns=(header[0][0], header[1][0]), units=("SI", "SI"))


def write_data(path: str | Path, x: ArrayLike, signal: ArrayLike, header: str,
               sigma: ArrayLike | None = None) -> None:
    """Write a data set in the reader's format (SI units), atomically."""
    from ..io.atomic import write_text

    cols = [np.asarray(x, float), np.asarray(signal, float)]
    if sigma is not None:
        cols.append(np.broadcast_to(np.asarray(sigma, float), cols[0].shape))
    lines = [header] + [", ".join(f"{v:.12g}" for v in row) for row in zip(*cols)]
    write_text(path, "\n".join(lines) + "\n")
