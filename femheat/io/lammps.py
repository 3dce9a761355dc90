r"""Readers for LAMMPS ``fix ave/time`` and ``fix ave/chunk`` output, and unit conversion of
heat currents to SI.

``fix ave/time`` (scalar mode) writes one line per output step::

    # Time-averaged data for fix JJ
    # TimeStep c_flux[1] c_flux[2] c_flux[3]
    0 1.2 -0.3 0.7

``fix ave/chunk`` writes a header line per output step followed by one row per chunk::

    # Chunk-averaged data for fix jc and group all
    # Timestep Number-of-chunks Total-count
    # Chunk Coord1 Ncount v_jx
    1000 20 8000
      1 0.25 400 0.013
      ...

The per-atom heat current :math:`\mathbf J_a = e_a\mathbf v_a - \mathsf S_a\mathbf v_a` summed
over all atoms is what ``compute heat/flux`` prints (the **total current** J = V j, in
energy·velocity units). ``fix ave/chunk`` by default prints the per-atom *average* of a value
in each chunk, so the flux density of bin i is :math:`j_i = N_i\,\bar J_i / V_i`
(:func:`chunk_flux_density`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError

__all__ = ["AveTimeData", "AveChunkData", "read_ave_time", "read_ave_chunk", "HEAT_CURRENT_TO_SI",
           "TIME_TO_SI", "LENGTH_TO_SI", "heat_current_to_si", "chunk_flux_density"]

log = logging.getLogger(__name__)

#: energy·velocity unit of a LAMMPS heat current in W·m (metal: eV Å/ps; real: kcal/mol Å/fs)
HEAT_CURRENT_TO_SI = {
    "si": 1.0,
    "metal": 1.602176634e-19 * 1e-10 / 1e-12,
    "real": 4184.0 / 6.02214076e23 * 1e-10 / 1e-15,
}
#: LAMMPS time unit in s
TIME_TO_SI = {"si": 1.0, "metal": 1e-12, "real": 1e-15}
#: LAMMPS length unit in m
LENGTH_TO_SI = {"si": 1.0, "metal": 1e-10, "real": 1e-10}


def _units(units: str) -> str:
    if units not in HEAT_CURRENT_TO_SI:
        raise FemheatInputError(f"units must be one of {sorted(HEAT_CURRENT_TO_SI)} (LAMMPS unit style), "
                                f"got {units!r}")
    return units


def heat_current_to_si(values: ArrayLike, units: str) -> np.ndarray:
    """Convert a LAMMPS heat current (energy·velocity) to W·m for ``units`` = metal/real/si."""
    return np.asarray(values, dtype=float) * HEAT_CURRENT_TO_SI[_units(units)]


@dataclass(frozen=True)
class AveTimeData:
    """``fix ave/time`` output: ``steps`` (n,), ``columns`` names, ``data`` (n, n_columns)."""

    steps: np.ndarray
    columns: list[str]
    data: np.ndarray

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise FemheatInputError(f"column {name!r} not in the file; columns are {self.columns}")
        return self.data[:, self.columns.index(name)]

    def time(self, md_timestep: float, units: str) -> np.ndarray:
        """Times [s] from the step numbers and the MD timestep (in the LAMMPS time unit)."""
        return (self.steps - self.steps[0]) * float(md_timestep) * TIME_TO_SI[_units(units)]


@dataclass(frozen=True)
class AveChunkData:
    """``fix ave/chunk`` output: ``steps`` (n,), ``columns`` per-chunk names, ``data``
    (n, n_chunks, n_columns)."""

    steps: np.ndarray
    columns: list[str]
    data: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """(n, n_chunks) array of one column."""
        if name not in self.columns:
            raise FemheatInputError(f"column {name!r} not in the file; columns are {self.columns}")
        return self.data[:, :, self.columns.index(name)]


def _open_lines(path):
    if not os.path.isfile(path):
        raise FemheatInputError(f"LAMMPS output file {os.fspath(path)!r} does not exist")
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read().splitlines()


def read_ave_time(path: str | os.PathLike) -> AveTimeData:
    """Read a scalar-mode ``fix ave/time`` file (column names from the last ``#`` header line)."""
    lines = _open_lines(path)
    header = [ln[1:].split() for ln in lines if ln.startswith("#")]
    if not header:
        raise FemheatInputError(f"{os.fspath(path)}: no '#' header line: not a fix ave/time file")
    cols = header[-1]
    rows = [ln.split() for ln in lines if ln.strip() and not ln.startswith("#")]
    if not rows:
        raise FemheatInputError(f"{os.fspath(path)}: no data lines")
    width = len(cols)
    for i, r in enumerate(rows):
        if len(r) != width:
            hint = " (vector mode?: only scalar mode is supported)" if len(r) == 2 else ""
            raise FemheatInputError(f"{os.fspath(path)}: data line {i + 1} has {len(r)} fields, header "
                                    f"{cols} has {width}{hint}")
    arr = np.array(rows, dtype=float)
    return AveTimeData(steps=arr[:, 0].astype(np.int64), columns=cols[1:], data=arr[:, 1:])


def read_ave_chunk(path: str | os.PathLike) -> AveChunkData:
    """Read a ``fix ave/chunk`` file; every output step must have the same number of chunks."""
    lines = _open_lines(path)
    header = [ln[1:].split() for ln in lines if ln.startswith("#")]
    if len(header) < 3:
        raise FemheatInputError(f"{os.fspath(path)}: expected three '#' header lines of fix ave/chunk")
    cols = header[2][1:]  # drop "Chunk"
    data = [ln.split() for ln in lines if ln.strip() and not ln.startswith("#")]
    steps, blocks, i = [], [], 0
    while i < len(data):
        head = data[i]
        if len(head) < 2:
            raise FemheatInputError(f"{os.fspath(path)}: malformed step header {head}")
        step, nch = int(float(head[0])), int(float(head[1]))
        rows = data[i + 1:i + 1 + nch]
        if len(rows) < nch or any(len(r) != len(cols) + 1 for r in rows):
            raise FemheatInputError(f"{os.fspath(path)}: step {step} announces {nch} chunks of "
                                    f"{len(cols) + 1} fields but the rows do not match (truncated file?)")
        if blocks and nch != blocks[0].shape[0]:
            raise FemheatInputError(f"{os.fspath(path)}: step {step} has {nch} chunks, the first step had "
                                    f"{blocks[0].shape[0]}: bins must be fixed (use 'units reduced' or a "
                                    "fixed box for compute chunk/atom bin/1d)")
        steps.append(step)
        blocks.append(np.array(rows, dtype=float)[:, 1:])
        i += 1 + nch
    if not blocks:
        raise FemheatInputError(f"{os.fspath(path)}: no data")
    return AveChunkData(steps=np.array(steps, dtype=np.int64), columns=cols, data=np.stack(blocks))


def chunk_flux_density(mean_current: ArrayLike, counts: ArrayLike, bin_volume: ArrayLike,
                       units: str = "si") -> np.ndarray:
    r"""Bin flux density j_i = N_i J̄_i / V_i [W m⁻²] from ``fix ave/chunk`` per-atom averages.

    ``mean_current``: per-atom average heat current per chunk (LAMMPS energy·velocity units),
    shape (n, n_bins[, d]); ``counts``: the ``Ncount`` column, (n, n_bins); ``bin_volume``:
    V_i [m³], scalar or (n_bins,).
    """
    J = heat_current_to_si(mean_current, units)
    N = np.asarray(counts, dtype=float)
    Vb = np.asarray(bin_volume, dtype=float)
    if N.shape != J.shape[:2]:
        raise FemheatInputError(f"counts has shape {N.shape}, mean_current {J.shape}: they must agree on "
                                "(n_steps, n_bins)")
    if np.any(Vb <= 0):
        raise FemheatInputError(f"bin_volume must be positive, got {bin_volume!r}")
    if Vb.ndim and Vb.shape != (J.shape[1],):
        raise FemheatInputError(f"bin_volume has shape {Vb.shape}, expected ({J.shape[1]},) or a scalar")
    f = N / Vb
    return J * (f[..., None] if J.ndim == 3 else f)
