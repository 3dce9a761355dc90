"""VTU/PVD series of the nonlocal kernel model: continuous P1 fields on the mesh itself.

Unlike the mixed models (:class:`femheat.io.writers.VTKSeriesWriter`, which explodes
the mesh for discontinuous fields), the kernel model's temperature is continuous P1,
so the file holds the mesh's own vertices and cells:

* point data ``temperature`` [K], the nodal values;
* cell data ``heat_flux`` [W m⁻²], the cell mean of q = −ξκ∇T − (1−ξ)∫Z∇T
  (:func:`femheat.kernels.pipeline.cell_flux`; the MCV memory flux when τ > 0), padded
  to three components; ``heat_flux_magnitude`` [W m⁻²]; ``material_id`` (index of the
  subdomain in the mesh's order).

Each :meth:`KernelSeriesWriter.write` adds ``fields_NNNNN.vtu`` and rewrites
``fields.pvd`` atomically, so an interrupted run keeps every file written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .writers import write_pvd, write_vtu

__all__ = ["KernelSeriesWriter"]

_VOLUME = {2: "triangle", 3: "tetra"}


class KernelSeriesWriter:
    """Write ``fields_NNNNN.vtu`` per saved state and the ``fields.pvd`` collection.

    Parameters
    ----------
    system
        The assembled :class:`~femheat.kernels.pipeline.KernelSystem`.
    directory
        Output folder (created).
    """

    def __init__(self, system: Any, directory: str | Path):
        self.system = system
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        rm = system.problem.regions
        mesh = rm.mesh
        self._dim = rm.dim
        self._points = np.zeros((mesh.p.shape[1], 3))
        self._points[:, : rm.dim] = mesh.p.T
        self._cells = np.ascontiguousarray(mesh.t.T)
        self._region = rm.cell_region.astype(np.int32)
        self._fields: list[tuple[float, str]] = []
        self.count = 0

    def write(self, t: float, state: Any) -> Path:
        """Write one state; returns the file's path."""
        import meshio

        from ..kernels.pipeline import cell_flux

        q = np.asarray(cell_flux(self.system, state))  # (ncells, d)
        q3 = np.zeros((q.shape[0], 3))
        q3[:, : self._dim] = q
        name = f"fields_{self.count:05d}.vtu"
        write_vtu(self.dir / name,
                  meshio.Mesh(self._points, [(_VOLUME[self._dim], self._cells)],
                              point_data={"temperature": np.asarray(state.temperature)},
                              cell_data={"heat_flux": [q3],
                                         "heat_flux_magnitude": [np.linalg.norm(q, axis=1)],
                                         "material_id": [self._region]}),
                  t)
        self._fields.append((t, name))
        write_pvd(self.dir / "fields.pvd", self._fields)
        self.count += 1
        return self.dir / name

    @property
    def files(self) -> list[str]:
        """Names of the files written so far (the VTU series and the PVD)."""
        return [f for _, f in self._fields] + (["fields.pvd"] if self._fields else [])
