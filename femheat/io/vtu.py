"""VTK XML unstructured-grid files (``.vtu``) written directly, geometry encoded once.

A time series writes the same points and cells at every saved step; meshio's
writer re-encodes and re-compresses them (and every field) with zlib each time,
which cost ~45 ms per step on a 12.5k-unknown run, 8–10× the step itself.
:class:`VTUGrid` encodes the geometry once and, per step, writes only the field
arrays: by default as raw little-endian bytes in VTK's ``<AppendedData
encoding="raw">`` block (no base64, no compression: float fields compress by ~10 %
and zlib dominated the cost). The files are standard VTK XML
(``header_type="UInt64"``), read by ParaView, VTK, PyVista and meshio, and written
atomically (:mod:`femheat.io.atomic`). Each array may carry its units the way VTK
stores them (the ``UNITS_LABEL`` information key of the array).

With ``compression="zlib"`` every array is inline, zlib-compressed (level 1,
32 KiB blocks, VTK's ``vtkZLibDataCompressor`` layout) and base64-encoded --
smaller files at a few ms more per step; the geometry is still compressed once.
"""

from __future__ import annotations

import base64
import zlib
from xml.sax.saxutils import escape
from pathlib import Path
from typing import Mapping, Optional

import numpy as np

from .atomic import atomic_path

__all__ = ["VTUGrid", "VTK_CELL_TYPES"]

#: meshio cell names -> VTK cell type ids.
VTK_CELL_TYPES = {"vertex": 1, "line": 3, "triangle": 5, "quad": 9, "tetra": 10,
                  "hexahedron": 12, "wedge": 13}

_VTK_TYPES = {np.dtype(np.float64): "Float64", np.dtype(np.float32): "Float32",
              np.dtype(np.int64): "Int64", np.dtype(np.int32): "Int32",
              np.dtype(np.int16): "Int16", np.dtype(np.int8): "Int8",
              np.dtype(np.uint64): "UInt64", np.dtype(np.uint32): "UInt32",
              np.dtype(np.uint8): "UInt8"}

_BLOCK = 32768


def _encode(data: np.ndarray, compression: Optional[str]) -> bytes:
    """The text of a ``format="binary"`` DataArray: base64 of a UInt64 header and the
    little-endian bytes (VTK's inline binary layout), zlib-compressed in blocks
    when ``compression == "zlib"``."""
    raw = np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<"), copy=False).tobytes()
    if compression is None:
        return base64.b64encode(np.uint64(len(raw)).tobytes() + raw)
    blocks = [raw[i:i + _BLOCK] for i in range(0, len(raw), _BLOCK)] or [b""]
    packed = [zlib.compress(b, 1) for b in blocks]
    last = len(blocks[-1]) if raw else 0
    header = np.array([len(blocks), _BLOCK, last] + [len(p) for p in packed], dtype="<u8")
    return base64.b64encode(header.tobytes()) + base64.b64encode(b"".join(packed))


def _attributes(name: Optional[str], data: np.ndarray) -> tuple[str, np.ndarray]:
    """The DataArray attributes (type, name, components) and the flat array to store."""
    data = np.asarray(data)
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    if data.dtype not in _VTK_TYPES:
        data = data.astype(np.float64)
    comps = 1 if data.ndim == 1 else int(np.prod(data.shape[1:]))
    attrs = f'type="{_VTK_TYPES[data.dtype]}"'
    if name is not None:
        attrs += f' Name="{name}"'
    if comps > 1:
        attrs += f' NumberOfComponents="{comps}"'
    return attrs, data.reshape(-1)


def _unit(unit: Optional[str]) -> bytes:
    """VTK's own record of an array's units (``vtkDataArray::UNITS_LABEL``), read back
    by VTK >= 9 (ParaView, PyVista) and ignored by readers that do not know it."""
    if not unit:
        return b""
    return (f'<InformationKey name="UNITS_LABEL" location="vtkDataArray">{escape(unit)}'
            "</InformationKey>\n").encode()


def _array(name: Optional[str], data: np.ndarray, compression: Optional[str],
           unit: Optional[str] = None) -> list[bytes]:
    """An inline ``format="binary"`` DataArray element."""
    attrs, flat = _attributes(name, data)
    return [f'<DataArray {attrs} format="binary">'.encode(), _encode(flat, compression),
            b"\n" + _unit(unit) if unit else b"", b"</DataArray>\n"]


class _Appended:
    """DataArray elements of ``format="appended"`` and the raw block they point into:
    per array a UInt64 byte count and the little-endian bytes."""

    def __init__(self, start: int = 0):
        self.offset = start
        self.elements: list[bytes] = []
        self.blocks: list[bytes] = []

    def add(self, name: Optional[str], data: np.ndarray, unit: Optional[str] = None) -> None:
        attrs, flat = _attributes(name, data)
        raw = np.ascontiguousarray(flat).astype(flat.dtype.newbyteorder("<"), copy=False)
        raw = raw.tobytes()
        element = f'<DataArray {attrs} format="appended" offset="{self.offset}"'
        self.elements.append(f"{element}/>\n".encode() if not unit else
                             f"{element}>\n".encode() + _unit(unit) + b"</DataArray>\n")
        self.blocks += [np.uint64(len(raw)).tobytes(), raw]
        self.offset += 8 + len(raw)


class VTUGrid:
    """A fixed unstructured grid; :meth:`write` saves one set of fields on it.

    Parameters
    ----------
    points
        Node coordinates, shape (n_points, d), d ≤ 3 (padded to 3 for VTK).
    cells
        Connectivity, shape (n_cells, nodes per cell), one cell type.
    cell_type
        meshio's name of the cell type (``"triangle"``, ``"tetra"``, ``"line"``…).
    compression
        None (raw binary, the default) or ``"zlib"``.
    """

    def __init__(self, points: np.ndarray, cells: np.ndarray, cell_type: str,
                 compression: Optional[str] = None):
        if compression not in (None, "zlib"):
            raise ValueError(f"compression must be None or 'zlib', got {compression!r}")
        if cell_type not in VTK_CELL_TYPES:
            raise ValueError(f"unsupported cell type {cell_type!r}")
        pts = np.zeros((len(points), 3))
        pts[:, : np.shape(points)[1]] = points
        cells = np.asarray(cells, dtype=np.int64)
        self.n_points, self.n_cells = pts.shape[0], cells.shape[0]
        self.compression = compression
        offsets = np.arange(1, self.n_cells + 1, dtype=np.int64) * cells.shape[1]
        types = np.full(self.n_cells, VTK_CELL_TYPES[cell_type], dtype=np.uint8)
        geometry = (("Points", None, pts), ("Cells", "connectivity", cells.reshape(-1)),
                    ("Cells", "offsets", offsets), ("Cells", "types", types))
        if compression is None:  # raw appended block; the fields follow the geometry
            app = _Appended()
            for _, name, data in geometry:
                app.add(name, data)
            elements = app.elements
            self._geometry_raw = b"".join(app.blocks)
        else:
            elements = [b"".join(_array(name, data, compression)) for _, name, data in geometry]
            self._geometry_raw = b""
        self._geometry = b"".join([b"<Points>\n", elements[0], b"</Points>\n<Cells>\n",
                                   *elements[1:], b"</Cells>\n"])

    def write(self, path: str | Path, point_data: Mapping[str, np.ndarray] | None = None,
              cell_data: Mapping[str, np.ndarray] | None = None,
              time: Optional[float] = None, units: Mapping[str, str] | None = None) -> None:
        """Write the grid with ``point_data`` / ``cell_data`` (arrays of shape (n,) or
        (n, k)) to ``path`` atomically; ``time`` [s] becomes the VTK field data
        ``TimeValue`` (ParaView's time of the file); ``units`` maps array names to
        unit strings, stored as each array's VTK ``UNITS_LABEL``."""
        units = units or {}
        c = self.compression
        head = ('<?xml version="1.0"?>\n<VTKFile type="UnstructuredGrid" version="1.0" '
                'byte_order="LittleEndian" header_type="UInt64"'
                + (' compressor="vtkZLibDataCompressor"' if c else "") + ">\n<UnstructuredGrid>\n")
        parts = [head.encode()]
        if time is not None:
            parts.append(('<FieldData>\n<DataArray type="Float64" Name="TimeValue" '
                          f'NumberOfTuples="1" format="ascii">{float(time):.17g}</DataArray>\n'
                          "</FieldData>\n").encode())
        parts.append(f'<Piece NumberOfPoints="{self.n_points}" '
                     f'NumberOfCells="{self.n_cells}">\n'.encode())
        parts.append(self._geometry)
        app = _Appended(len(self._geometry_raw)) if c is None else None
        for tag, data, n in (("PointData", point_data, self.n_points),
                             ("CellData", cell_data, self.n_cells)):
            if not data:
                continue
            parts.append(f"<{tag}>\n".encode())
            for name, arr in data.items():
                arr = np.asarray(arr)
                if arr.shape[0] != n:
                    raise ValueError(f"{tag} {name!r}: {arr.shape[0]} values for {n} entries")
                if app is None:
                    parts += _array(name, arr, c, units.get(name))
                else:
                    app.add(name, arr, units.get(name))
                    parts.append(app.elements[-1])
            parts.append(f"</{tag}>\n".encode())
        parts.append(b"</Piece>\n</UnstructuredGrid>\n")
        if app is not None:
            parts += [b'<AppendedData encoding="raw">\n_', self._geometry_raw, *app.blocks,
                      b"\n</AppendedData>\n"]
        parts.append(b"</VTKFile>\n")
        with atomic_path(Path(path)) as tmp:
            with open(tmp, "wb") as fh:
                fh.writelines(parts)
