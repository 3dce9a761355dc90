"""Result files: VTU per saved step with PVD collections, history CSV, summary JSON.

Written as they are computed, and every file atomically (:mod:`femheat.io.atomic`:
temporary name, then rename): every saved step adds its VTU files and then
rewrites the PVD collections, so a PVD lists only complete VTU files, whatever
kills the run; each step appends one flushed line to ``history.csv``. Each VTU
records its time as VTK field data ``TimeValue`` (what ParaView reads). The
units of every field are in :data:`FIELD_UNITS`, in each VTU array (VTK's
``UNITS_LABEL``), in summary.json and in the XDMF header.

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
import time
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from ..analysis.postprocess import cell_averages, flux_at_vertices, interface_report, vertex_temperature
from ..assembly.system import MixedSystem
from ..solve.steady import State
from .atomic import write_text
from .vtu import VTUGrid

__all__ = ["VTKSeriesWriter", "HistoryWriter", "write_pvd", "write_summary", "write_vtu",
           "FIELD_UNITS"]

#: Units of the arrays femheat writes (VTU point/cell data, XDMF attributes).
FIELD_UNITS = {
    "temperature": "K", "temperature_mean": "K", "heat_flux": "W/m^2",
    "heat_flux_mean": "W/m^2", "heat_flux_magnitude": "W/m^2", "material_id": "1",
    "temperature_jump": "K", "normal_heat_flux": "W/m^2", "kapitza_resistance": "m^2 K/W",
    "interface_id": "1",
}

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
    write_text(path, "\n".join(lines))


def write_vtu(path: Path, mesh, time: Optional[float] = None) -> None:
    """Write a one-cell-type meshio mesh as VTU atomically; ``time`` goes into the VTK
    field data ``TimeValue`` (ParaView's per-file time). Series use
    :class:`~femheat.io.vtu.VTUGrid` directly, which encodes the geometry once."""
    (block,) = mesh.cells
    VTUGrid(mesh.points, block.data, block.type).write(
        path, mesh.point_data, {k: v[0] for k, v in mesh.cell_data.items()}, time,
        FIELD_UNITS)


class VTKSeriesWriter:
    """Write ``fields_NNNNN.vtu`` (+ ``interfaces_NNNNN.vtu``) and their ``.pvd`` files.

    The PVD collections are rewritten at most every :attr:`INDEX_INTERVAL` seconds,
    by :meth:`state_dict` (each restart file) and by :meth:`close`: they never list
    a file that is not complete.

    Parameters
    ----------
    system
        The assembled system whose states are written.
    directory
        Output folder (created).
    names
        ``"steps"`` (default): ``fields_NNNNN.vtu`` in a time series
        (``fields.pvd``); ``"loads"``: one ``fields_<label>.vtu`` per load case of
        a study (no PVD: the loads are not times).
    """

    #: Minimum wall time [s] between two rewrites of the PVD collections.
    INDEX_INTERVAL = 1.0

    def __init__(self, system: MixedSystem, directory: str | Path, names: str = "steps"):
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
        self.series = names == "steps"
        self._indexed_at = -1e300  # perf_counter of the last PVD rewrite
        self._vtu: Optional[VTUGrid] = None
        self._iface_vtu: Optional[VTUGrid] = None
        names = list(rm.interfaces)
        if names:
            facets = np.concatenate([rm.interface(n) for n in names])
            self._iface_cells = mesh.facets[:, facets].T
            self._iface_id = np.concatenate(
                [np.full(rm.interface(n).size, i, dtype=np.int32) for i, n in enumerate(names)])
            self._iface_points = np.zeros((mesh.p.shape[1], 3))
            self._iface_points[:, :d] = mesh.p.T

    def volume_fields(self, state: State) -> tuple[dict, dict]:
        """(point data, cell data) of the exploded volume mesh for ``state``."""
        sys = self.system
        d = sys.problem.regions.dim
        Tv = vertex_temperature(sys, state)  # (d+1, ne)
        qv = flux_at_vertices(sys, state.flux)  # (d, d+1, ne)
        Tm, qm = cell_averages(sys, state)
        point_data = {"temperature": Tv.T.ravel(),
                      "heat_flux": _pad3(qv.reshape(d, -1, order="F"))}
        cell_data = {"temperature_mean": Tm, "heat_flux_mean": _pad3(qm),
                     "heat_flux_magnitude": np.linalg.norm(qm, axis=0),
                     "material_id": self._region}
        return point_data, cell_data

    def interface_fields(self, state: State) -> Optional[dict]:
        """Cell data of the interface facets (None without interfaces)."""
        if not self.system.problem.regions.interfaces:
            return None
        reps = interface_report(self.system, state)
        return {"temperature_jump": np.concatenate([r.jump for r in reps.values()]),
                "normal_heat_flux": np.concatenate([r.normal_flux for r in reps.values()]),
                "kapitza_resistance": np.concatenate([r.facet_resistance
                                                      for r in reps.values()]),
                "interface_id": self._iface_id}

    def write(self, t: float, state: State, label: Optional[str] = None) -> Path:
        """Write one time level (or, for ``names="loads"``, the load case ``label``);
        returns the volume file's path."""
        d = self.system.problem.regions.dim
        point_data, cells = self.volume_fields(state)
        tag = f"{self.count:05d}" if self.series else str(label)
        name = f"fields_{tag}.vtu"
        if self._vtu is None:  # the geometry is encoded once for the whole series
            self._vtu = VTUGrid(self._points, self._cells, _VOLUME[d])
        self._vtu.write(self.dir / name, point_data, cells, t if self.series else None,
                        FIELD_UNITS)
        self._fields.append((t, name))
        iface = self.interface_fields(state)
        if iface is not None:
            iname = f"interfaces_{tag}.vtu"
            if self._iface_vtu is None:
                self._iface_vtu = VTUGrid(self._iface_points, self._iface_cells, _FACET[d])
            self._iface_vtu.write(self.dir / iname, None, iface, t if self.series else None,
                                  FIELD_UNITS)
            self._ifaces.append((t, iname))
        self.count += 1
        # the PVDs grow with the series: rewrite them at most every INDEX_INTERVAL s (they
        # may lag behind the VTU files, never run ahead of them); state_dict() and close()
        # bring them up to date
        if self.series and time.perf_counter() - self._indexed_at >= self.INDEX_INTERVAL:
            self._index()
        return self.dir / name

    def _index(self) -> None:
        """Rewrite the PVD collections from the files written so far."""
        self._indexed_at = time.perf_counter()
        if self.series and self._fields:
            write_pvd(self.dir / "fields.pvd", self._fields)
            if self._ifaces:
                write_pvd(self.dir / "interfaces.pvd", self._ifaces)

    def close(self) -> None:
        """Complete the PVD collections."""
        self._index()

    def __enter__(self) -> "VTKSeriesWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def files(self) -> list[str]:
        out = [f for _, f in self._fields] + [f for _, f in self._ifaces]
        if self.series and self._fields:
            out += ["fields.pvd"] + (["interfaces.pvd"] if self._ifaces else [])
        return out

    def state_dict(self) -> dict:
        """What a resumed run needs to continue the series (JSON-able); the index files
        are brought up to date first, so they list every step the restart file has."""
        self._index()
        return {"count": self.count, "fields": self._fields, "interfaces": self._ifaces}

    def restore(self, saved: dict) -> None:
        """Continue the series of a restart file; the PVDs are rewritten from it, so a
        file written after the restart point is dropped from them (and overwritten)."""
        self.count = int(saved["count"])
        self._fields = [(float(t), str(f)) for t, f in saved["fields"]]
        self._ifaces = [(float(t), str(f)) for t, f in saved["interfaces"]]
        if self.series:
            write_pvd(self.dir / "fields.pvd", self._fields)
            if self._ifaces:
                write_pvd(self.dir / "interfaces.pvd", self._ifaces)


class HistoryWriter:
    """Append one flushed CSV row per time step (time, energy, heat flows, jumps).

    ``resume_rows = n`` keeps the header and the first ``n`` rows of an existing
    file (those up to the restart point) and appends after them.
    """

    def __init__(self, path: str | Path, columns: list[str], resume_rows: Optional[int] = None):
        self.path = Path(path)
        if resume_rows is not None and self.path.exists():
            with open(self.path, newline="") as fh:
                lines = fh.read().splitlines(keepends=True)
            keep = "".join(line for line in lines[: resume_rows + 1] if line.endswith("\n"))
            write_text(self.path, keep)
            self._fh = open(self.path, "a", newline="")
            self._csv = csv.writer(self._fh)
        else:
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
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


def write_summary(path: str | Path, summary: dict, indent: Optional[int] = 2) -> None:
    """Write ``summary.json`` atomically."""
    write_text(Path(path), json.dumps(_jsonable(summary), indent=indent) + "\n")
