"""XDMF + HDF5 time series: one ``fields.h5`` per run, indexed by ``fields.xdmf``.

For long transient runs saved at every step, one VTU file per step costs more than
the step itself (XML, base64, zlib). :class:`XDMFSeriesWriter` writes the same
fields as :class:`~femheat.io.writers.VTKSeriesWriter` (exploded volume mesh,
interface facets) as raw HDF5 datasets, the mesh once, and rewrites the small XML
index atomically after each step, so the index lists only steps whose data are
written and flushed. ParaView opens ``fields.xdmf`` (and ``interfaces.xdmf``)
with its XDMF reader; meshio's ``xdmf.TimeSeriesReader`` reads them too.

HDF5 itself is not crash-proof: a SIGKILL in the middle of an HDF5 write can
damage the file's metadata. The VTU series is the default for that reason; the
XDMF series is for speed (``[output] format = "xdmf"``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np

from ..assembly.system import MixedSystem
from ..solve.steady import State
from .atomic import write_text
from .writers import FIELD_UNITS, VTKSeriesWriter

__all__ = ["XDMFSeriesWriter"]

_TOPOLOGY = {2: "Triangle", 3: "Tetrahedron"}
_FACET_TOPOLOGY = {2: "Polyline", 3: "Triangle"}


def _item(h5name: str, path: str, array: np.ndarray) -> str:
    kind = "Int" if np.issubdtype(array.dtype, np.integer) else "Float"
    dims = " ".join(str(n) for n in array.shape)
    return (f'<DataItem Dimensions="{dims}" NumberType="{kind}" '
            f'Precision="{array.dtype.itemsize}" Format="HDF">{h5name}:{path}</DataItem>')


#: Fields that do not change between steps: stored once, referenced by every step.
_STATIC = {("cell", "material_id"): "/mesh/material_id",
           ("interface", "interface_id"): "/interfaces/interface_id"}


class XDMFSeriesWriter(VTKSeriesWriter):
    """Time series in ``fields.h5`` + ``fields.xdmf`` (+ ``interfaces.xdmf``).

    Same constructor, ``write``, ``files``, ``state_dict`` and ``restore`` as
    :class:`~femheat.io.writers.VTKSeriesWriter` (steps only). The XML index is
    rewritten at most every :attr:`INDEX_INTERVAL` seconds and by :meth:`close`.
    """

    def __init__(self, system: MixedSystem, directory: str | Path):
        super().__init__(system, directory, names="steps")
        import h5py

        self._h5path = self.dir / "fields.h5"
        self._h5 = h5py.File(self._h5path, "a")
        self._put("mesh/points", self._points)
        self._put("mesh/cells", self._cells.astype(np.int64))
        if system.problem.regions.interfaces:
            self._put("interfaces/points", self._iface_points)
            self._put("interfaces/cells", self._iface_cells.astype(np.int64))
        self._h5.flush()
        self._static_written: set[tuple[str, str]] = set()
        self._shapes: dict[str, tuple] = {}

    def _put(self, path: str, array: np.ndarray) -> None:
        if path in self._h5:
            del self._h5[path]
        self._h5.create_dataset(path, data=np.ascontiguousarray(array))

    def _static(self, group: str, name: str) -> Optional[str]:
        """HDF5 path of a field that never changes (region ids), written once; else None."""
        if (group, name) not in _STATIC:
            return None
        return _STATIC[(group, name)]

    def _put_step(self, step: str, fields: dict[str, dict[str, np.ndarray]]) -> None:
        """One group per step, one dataset per time-dependent field; constant fields
        (region ids) go once to their static path."""
        if step in self._h5:  # a resumed run rewrites the steps after its restart file
            del self._h5[step]
        g = self._h5.create_group(step)
        for group, data in fields.items():
            sub = None
            for k, v in data.items():
                static = self._static(group, k)
                if static is not None:
                    if (group, k) not in self._static_written:
                        self._put(static.lstrip("/"), v)
                        self._static_written.add((group, k))
                    continue
                if sub is None:
                    sub = g.create_group(group)
                sub.create_dataset(k, data=np.ascontiguousarray(v))

    def write(self, t: float, state: State, label: Optional[str] = None) -> Path:
        point_data, cell_data = self.volume_fields(state)
        step = f"step_{self.count:05d}"
        iface = self.interface_fields(state)
        fields = {"point": point_data, "cell": cell_data}
        if iface is not None:
            fields["interface"] = iface
        self._put_step(step, fields)
        self._h5.flush()
        self._fields.append((t, step))
        if iface is not None:
            self._ifaces.append((t, step))
        self._shapes = {"point": {k: v for k, v in point_data.items()},
                        "cell": {k: v for k, v in cell_data.items()},
                        "interface": iface or {}}
        self.count += 1
        # the XML index grows with the series: rewrite it at most every INDEX_INTERVAL s
        # (it may lag behind the HDF5 data, never run ahead of it); close() completes it
        if time.perf_counter() - self._indexed_at >= self.INDEX_INTERVAL:
            self._index()
        return self.dir / "fields.xdmf"

    def _grid(self, t: float, step: str, mesh: str, topology: str, cells: np.ndarray,
              points: np.ndarray, attrs: list[tuple[str, str, np.ndarray]]) -> str:
        h5 = self._h5path.name
        out = [f'<Grid Name="{step}" GridType="Uniform">', f'<Time Value="{t:.17g}"/>',
               f'<Topology TopologyType="{topology}" NumberOfElements="{cells.shape[0]}">',
               _item(h5, f"/{mesh}/cells", cells), "</Topology>",
               '<Geometry GeometryType="XYZ">', _item(h5, f"/{mesh}/points", points),
               "</Geometry>"]
        for group, name, arr in attrs:
            center = "Node" if group == "point" else "Cell"
            kind = "Vector" if arr.ndim == 2 else "Scalar"
            path = self._static(group, name) or f"/{step}/{group}/{name}"
            out += [f'<Attribute Name="{name}" AttributeType="{kind}" Center="{center}">',
                    _item(h5, path, arr), "</Attribute>"]
        out.append("</Grid>")
        return "\n".join(out)

    def _document(self, grids: list[str], name: str) -> str:
        units = ", ".join(f"{k} [{u}]" for k, u in FIELD_UNITS.items())
        return "\n".join(['<?xml version="1.0"?>', f"<!-- femheat; units: {units} -->",
                          '<Xdmf Version="3.0">', "<Domain>",
                          f'<Grid Name="{name}" GridType="Collection" '
                          'CollectionType="Temporal">', *grids, "</Grid>", "</Domain>",
                          "</Xdmf>", ""])

    def _index(self) -> None:
        self._indexed_at = time.perf_counter()
        if not self._shapes:
            return
        d = self.system.problem.regions.dim
        attrs = [("point", k, v) for k, v in self._shapes["point"].items()] + \
                [("cell", k, v) for k, v in self._shapes["cell"].items()]
        grids = [self._grid(t, step, "mesh", _TOPOLOGY[d], self._cells, self._points, attrs)
                 for t, step in self._fields]
        write_text(self.dir / "fields.xdmf", self._document(grids, "fields"))
        if self._ifaces:
            iattrs = [("interface", k, v) for k, v in self._shapes["interface"].items()]
            grids = [self._grid(t, step, "interfaces", _FACET_TOPOLOGY[d], self._iface_cells,
                                self._iface_points, iattrs) for t, step in self._ifaces]
            write_text(self.dir / "interfaces.xdmf", self._document(grids, "interfaces"))

    @property
    def files(self) -> list[str]:
        return ["fields.h5", "fields.xdmf"] + (["interfaces.xdmf"] if self._ifaces else [])

    def restore(self, saved: dict) -> None:
        """Continue a series from a restart file: steps after it are rewritten."""
        self.count = int(saved["count"])
        self._fields = [(float(t), str(f)) for t, f in saved["fields"]]
        self._ifaces = [(float(t), str(f)) for t, f in saved["interfaces"]]

    def close(self) -> None:
        """Complete the index and close the HDF5 file."""
        if self._h5:
            self._index()
            self._h5.close()

    def __del__(self) -> None:
        try:
            self._h5.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
