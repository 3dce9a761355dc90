"""Point probes and line profiles of the temperature, and their CSV time series.

A case file declares them under ``[output]``::

    [output.probes]                       # T at points [m]
    centre = [1.5e-6, 1.0e-6]
    [output.lines]                        # T along segments, ``points`` samples
    midline = {from = [0.0, 1e-6], to = [3e-6, 1e-6], points = 50}

The temperature is evaluated in the cell that contains each point (found with
scikit-fem's ``Mesh.element_finder``): the discontinuous (DG) temperature of the
mixed models (``system.temperature_basis``) or the nodal P1 temperature of a
kernel system (``system.basis``). On a cell boundary, where a DG temperature
may jump (e.g. at a Kapitza interface), the value of one of the cells is taken.

:class:`ProbeWriter` locates the points once and appends one flushed CSV row
per call: ``probes.csv`` (``time`` and one column per probe, K) and one
``line_NAME.csv`` per line (``time`` and one column per sample, named by its
arc length ``s`` [m] from the line's start).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from ..errors import FemheatInputError

__all__ = ["LineProfile", "locate_points", "probe_matrix", "probe_temperature",
           "line_temperature", "ProbeWriter"]


@dataclass(frozen=True)
class LineProfile:
    """A straight segment sampled at ``n`` equally spaced points.

    Attributes
    ----------
    start, end
        End points [m], shape (d,).
    n
        Number of samples (>= 2), both ends included.
    """

    start: np.ndarray
    end: np.ndarray
    n: int = 50

    def points(self) -> np.ndarray:
        """Sample coordinates [m], shape (d, n)."""
        s = np.linspace(0.0, 1.0, self.n)
        a, b = np.asarray(self.start, float), np.asarray(self.end, float)
        return a[:, None] + (b - a)[:, None] * s[None, :]

    def arc_length(self) -> np.ndarray:
        """Distance [m] of every sample from ``start``, shape (n,)."""
        length = float(np.linalg.norm(np.asarray(self.end, float) - np.asarray(self.start, float)))
        return np.linspace(0.0, length, self.n)


def locate_points(mesh: Any, points: ArrayLike, where: str = "point") -> np.ndarray:
    """Index of the cell containing each point (``points`` shape (d, n), metres).

    Raises
    ------
    FemheatInputError
        If a point lies outside the mesh, naming ``where``, the point and the
        mesh's bounding box.
    """
    x = np.asarray(points, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] != mesh.p.shape[0]:
        raise FemheatInputError(
            f"{where}: points need {mesh.p.shape[0]} coordinates (the mesh is "
            f"{mesh.p.shape[0]}D), got {x.shape[0]}")
    finder = mesh.element_finder()
    try:
        return np.asarray(finder(*x), dtype=np.int64)
    except ValueError:
        pass
    for i in range(x.shape[1]):  # name the first point outside
        try:
            finder(*x[:, i:i + 1])
        except ValueError:
            lo, hi = mesh.p.min(axis=1), mesh.p.max(axis=1)
            box = " x ".join(f"[{a:.4g}, {b:.4g}]" for a, b in zip(lo, hi))
            raise FemheatInputError(
                f"{where}: the point {[float(f'{v:.6g}') for v in x[:, i]]} m lies outside "
                f"the mesh (bounding box {box} m); move it inside") from None
    raise FemheatInputError(f"{where}: cannot locate the points in the mesh")


def _temperature_basis(system: Any):
    basis = getattr(system, "temperature_basis", None)
    if basis is None:
        basis = getattr(system, "basis", None)
    if basis is None:
        raise TypeError(f"{type(system).__name__} has neither temperature_basis (mixed "
                        "models) nor basis (kernel model)")
    return basis


def _temperature_vector(state: Any) -> np.ndarray:
    return np.asarray(getattr(state, "temperature", state), dtype=float)


def probe_matrix(system: Any, points: ArrayLike, where: str = "probe") -> sp.csr_matrix:
    """Sparse P (n_points × n_T) with ``P @ T`` the temperature [K] at ``points``
    (shape (d, n), metres). Build it once, apply it per step."""
    basis = _temperature_basis(system)
    x = np.asarray(points, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    locate_points(basis.mesh, x, where)  # names a point outside the mesh
    return sp.csr_matrix(basis.probes(x))


def probe_temperature(system: Any, state: Any, points: ArrayLike) -> np.ndarray:
    """Temperature [K] at ``points`` (shape (d, n) or (d,), metres), shape (n,).

    ``system`` is a mixed system (DG temperature in ``temperature_basis``) or a
    kernel system (P1 temperature in ``basis``); ``state`` has a ``temperature``
    coefficient vector (or is that vector).
    """
    return probe_matrix(system, points) @ _temperature_vector(state)


def line_temperature(system: Any, state: Any, start: ArrayLike, end: ArrayLike,
                     points: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(arc length s [m], T(s) [K]) at ``points`` equally spaced samples of the
    segment from ``start`` to ``end`` [m]."""
    line = LineProfile(np.asarray(start, float), np.asarray(end, float), int(points))
    return line.arc_length(), probe_temperature(system, state, line.points())


class ProbeWriter:
    """Append the probe and line temperatures of each state to CSV files.

    Parameters
    ----------
    directory
        Output folder (must exist).
    system
        The assembled system (mixed or kernel).
    probes
        ``name -> (d,)`` point [m]; written to ``probes.csv``.
    lines
        ``name ->`` :class:`LineProfile`; one ``line_NAME.csv`` each.
    resume_time
        Continue existing files: rows later than this time [s] are dropped
        (they belong to steps that will be recomputed) and new rows appended.
        None starts new files.

    Each :meth:`write` appends one row per file and flushes it, so an interrupted
    run leaves every complete row readable. ``files`` lists the file names.
    """

    def __init__(self, directory: str | Path, system: Any,
                 probes: Optional[Mapping[str, ArrayLike]] = None,
                 lines: Optional[Mapping[str, LineProfile]] = None, *,
                 resume_time: Optional[float] = None):
        self.directory = Path(directory)
        self._targets: list[tuple[sp.csr_matrix, Any, Any]] = []  # (P, file, csv writer)
        self.files: list[str] = []
        probes = dict(probes or {})
        if probes:
            x = np.stack([np.asarray(v, dtype=float) for v in probes.values()], axis=1)
            P = probe_matrix(system, x, f"output.probes ({', '.join(probes)})")
            self._open("probes.csv", ["time"] + [f"temperature:{n}" for n in probes], P,
                       resume_time)
        for name, line in dict(lines or {}).items():
            P = probe_matrix(system, line.points(), f"output.lines.{name}")
            cols = ["time"] + [f"s={s:.6e}" for s in line.arc_length()]
            self._open(f"line_{name}.csv", cols, P, resume_time)

    def _open(self, name: str, columns: list[str], P: sp.csr_matrix,
              resume_time: Optional[float]) -> None:
        path = self.directory / name
        if resume_time is not None and path.exists():
            _truncate_after(path, resume_time)
            fh = open(path, "a", newline="")
            writer = csv.writer(fh)
        else:
            fh = open(path, "w", newline="")
            writer = csv.writer(fh)
            writer.writerow(columns)
            fh.flush()
        self._targets.append((P, fh, writer))
        self.files.append(name)

    def write(self, t: float, state: Any) -> None:
        """Append the temperatures [K] of ``state`` at time ``t`` [s]."""
        T = _temperature_vector(state)
        for P, fh, writer in self._targets:
            writer.writerow([f"{t:.12g}"] + [f"{v:.12g}" for v in P @ T])
            fh.flush()

    def close(self) -> None:
        for _, fh, _ in self._targets:
            fh.close()
        self._targets = []

    def __enter__(self) -> "ProbeWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _truncate_after(path: Path, time: float) -> None:
    """Keep the header and the rows with time <= ``time`` (and only complete rows)."""
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    keep = lines[:1]
    for line in lines[1:]:
        if not line.endswith("\n"):
            break  # a partial last row
        try:
            t = float(line.split(",", 1)[0])
        except ValueError:
            break
        if t > time * (1 + 1e-12) + 1e-300:
            break
        keep.append(line)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(keep))
    os.replace(tmp, path)
