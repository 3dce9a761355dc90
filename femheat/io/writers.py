"""Result files: VTU per saved step with PVD collections, history CSV, summary JSON.

Written as they are computed: every saved step adds its VTU files and rewrites
the PVD collections atomically, and each step appends one flushed line to
``history.csv``, so an interrupted run keeps everything already done.

ParaView cannot read Raviart–Thomas coefficients, so the volume file stores
the fields on an *exploded* mesh (each cell has its own copies of its
vertices): point data hold the per-cell linear temperature (interface jumps
stay sharp) and the flux evaluated at each cell's vertices; cell data hold
cell means and the material id. Interface facets go to a second file with the
temperature jump T_A − T_B, the normal flux q·n_AB and R_K.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from ..analysis.postprocess import cell_averages, flux_at_vertices, interface_report, vertex_temperature
from ..assembly.system import MixedSystem
from ..solve.steady import State

__all__ = ["VTKSeriesWriter", "HistoryWriter", "write_pvd", "write_summary"]

_VOLUME = {2: "triangle", 3: "tetra"}
_FACET = {2: "line", 3: "triangle"}


def _pad3(v: np.ndarray) -> np.ndarray:
    """(d, n) vectors -> (n, 3) for VTK."""
    out = np.zeros((v.shape[1], 3))
    out[:, : v.shape[0]] = v.T
    return out


def write_pvd(path: Path, entries: Iterable[tuple[float, str]]) -> None:
    """Write a ParaView collection file atomically (temp file + rename)."""
    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
             "  <Collection>"]
    lines += [f'    <DataSet timestep="{t:.17g}" group="" part="0" file="{f}"/>'
              for t, f in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, path)


class VTKSeriesWriter:
    """Write ``fields_NNNNN.vtu`` (+ ``interfaces_NNNNN.vtu``) and their ``.pvd`` files.

    Parameters
    ----------
    system
        The assembled system whose states are written.
    directory
        Output folder (created).
    """

    def __init__(self, system: MixedSystem, directory: str | Path):
        self.system = system
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        rm = system.problem.regions
        mesh = rm.mesh
        d = rm.dim
        self._points = np.zeros((mesh.t.size, 3))
        self._points[:, :d] = mesh.p[:, mesh.t].reshape(d, -1, order="F").T
        self._cells = np.arange(mesh.t.size).reshape(-1, d + 1)
        self._region = rm.cell_region.astype(np.int32)
        self._fields: list[tuple[float, str]] = []
        self._ifaces: list[tuple[float, str]] = []
        self.count = 0
        names = list(rm.interfaces)
        if names:
            facets = np.concatenate([rm.interface(n) for n in names])
            self._iface_cells = mesh.facets[:, facets].T
            self._iface_id = np.concatenate(
                [np.full(rm.interface(n).size, i, dtype=np.int32) for i, n in enumerate(names)])
            self._iface_points = np.zeros((mesh.p.shape[1], 3))
            self._iface_points[:, :d] = mesh.p.T

    def write(self, t: float, state: State) -> Path:
        """Write one time level; returns the volume file's path."""
        import meshio

        sys = self.system
        d = sys.problem.regions.dim
        Tv = vertex_temperature(sys, state)  # (d+1, ne)
        qv = flux_at_vertices(sys, state.flux)  # (d, d+1, ne)
        Tm, qm = cell_averages(sys, state)
        point_data = {
            "temperature": Tv.T.ravel(),
            "heat_flux": _pad3(qv.reshape(d, -1, order="F")),
        }
        cell_data = {
            "temperature_mean": [Tm],
            "heat_flux_mean": [_pad3(qm)],
            "heat_flux_magnitude": [np.linalg.norm(qm, axis=0)],
            "material_id": [self._region],
        }
        name = f"fields_{self.count:05d}.vtu"
        meshio.write(self.dir / name,
                     meshio.Mesh(self._points, [(_VOLUME[d], self._cells)],
                                 point_data=point_data, cell_data=cell_data),
                     file_format="vtu")
        self._fields.append((t, name))
        write_pvd(self.dir / "fields.pvd", self._fields)

        if sys.problem.regions.interfaces:
            reps = interface_report(sys, state)
            jump = np.concatenate([r.jump for r in reps.values()])
            qn = np.concatenate([r.normal_flux for r in reps.values()])
            rk = np.concatenate([r.facet_resistance for r in reps.values()])
            iname = f"interfaces_{self.count:05d}.vtu"
            meshio.write(self.dir / iname,
                         meshio.Mesh(self._iface_points, [(_FACET[d], self._iface_cells)],
                                     cell_data={"temperature_jump": [jump],
                                                "normal_heat_flux": [qn],
                                                "kapitza_resistance": [rk],
                                                "interface_id": [self._iface_id]}),
                         file_format="vtu")
            self._ifaces.append((t, iname))
            write_pvd(self.dir / "interfaces.pvd", self._ifaces)
        self.count += 1
        return self.dir / name

    @property
    def files(self) -> list[str]:
        out = [f for _, f in self._fields] + [f for _, f in self._ifaces]
        out += ["fields.pvd"] + (["interfaces.pvd"] if self._ifaces else [])
        return out


class HistoryWriter:
    """Append one flushed CSV row per time step (time, energy, heat flows, jumps)."""

    def __init__(self, path: str | Path, columns: list[str]):
        self.path = Path(path)
        self._fh = open(self.path, "w", newline="")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(columns)
        self._fh.flush()

    def append(self, row: Iterable[float]) -> None:
        self._csv.writerow([f"{v:.12g}" for v in row])
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "HistoryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_summary(path: str | Path, summary: dict, indent: Optional[int] = 2) -> None:
    """Write ``summary.json`` atomically."""
    path = Path(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_jsonable(summary), indent=indent) + "\n")
    os.replace(tmp, path)
