r"""A ``[frequency]`` study of the nonlocal kernel model (``[model] type = "kernel"``).

Called by :func:`femheat.pipeline.frequency.run_frequency` (same summary, status and
provenance machinery). Per frequency f [Hz] it solves
(iωM_C + φ(iω)A)T̂ = b̂ (:class:`~femheat.kernels.frequency.KernelFrequencySolver`,
φ(s) = Σₘ wₘ/(1 + sτₘ) of ``model.memory`` or the single ``model.relaxation_time``),
with the case's source and boundary temperatures read as amplitudes, and writes:

* ``fields_fNNN.vtu`` + ``frequency.pvd`` ("time" = f in Hz): point data
  ``temperature_amplitude`` [K], ``temperature_phase`` [deg]; cell data
  ``heat_flux_real``, ``heat_flux_imag`` [W m⁻²] (q̂ = φ q[T̂], cell means),
  ``heat_flux_amplitude`` and ``material_id``;
* ``frequency.csv`` — per frequency, for each boundary and temperature region the
  amplitude and phase of its outward heat flow (W, W/m in 2D; 0 when insulated) and
  of its mean temperature (boundary-mass-weighted nodal T̂; subdomain regions: the
  capacity-weighted mean);
* ``bode.png`` and ``summary.json`` (``energy_balance_relative_error``: the largest
  |iω∫C T̂ + ΣH − ∫Q̂| over the frequencies, relative to the largest term; GMRES
  iterations per frequency).

Phases are in degrees relative to the drive (fields ∝ e^{iωt}: a lag is negative).
"""

from __future__ import annotations

import logging
import time as _time
from pathlib import Path
from typing import Callable

import numpy as np
import skfem

from ..io.writers import write_pvd, write_vtu

__all__ = ["kernel_sweep"]

log = logging.getLogger(__name__)

_CELL = {1: "line", 2: "triangle", 3: "tetra"}


def _mean_temperature(system) -> dict[str, Callable[[np.ndarray], complex]]:
    """Per boundary, T̂ ↦ ∫_Γ T̂ ds / |Γ| (P1 facet mass weights)."""
    rm, basis = system.problem.regions, system.basis
    out = {}
    for name in rm.boundaries:
        fb = skfem.FacetBasis(rm.mesh, basis.elem, facets=rm.boundary(name))
        w = skfem.LinearForm(lambda v, _: v).assemble(fb)
        out[name] = w / w.sum()
    e = system.energy_weights
    for name in system.problem.temperature:
        if name not in out:  # a subdomain held at T
            mask = np.zeros(system.n)
            mask[system.owners[name]] = e[system.owners[name]]
            out[name] = mask / mask.sum()
    return {k: (lambda T, w=w: complex(w @ T)) for k, w in out.items()}


def _write_vtu(system, out: Path, k: int, state) -> str:
    import meshio

    rm = system.problem.regions
    mesh, d = rm.mesh, rm.dim
    pts = np.zeros((mesh.p.shape[1], 3))
    pts[:, :d] = mesh.p.T
    q = state.flux
    q3r, q3i = np.zeros((q.shape[0], 3)), np.zeros((q.shape[0], 3))
    q3r[:, :d], q3i[:, :d] = q.real, q.imag
    T = state.temperature
    name = f"fields_f{k:03d}.vtu"
    write_vtu(out / name, meshio.Mesh(
        pts, [(_CELL[d], np.ascontiguousarray(mesh.t.T))],
        point_data={"temperature_amplitude": np.abs(T),
                    "temperature_phase": np.degrees(np.angle(T))},
        cell_data={"heat_flux_real": [q3r], "heat_flux_imag": [q3i],
                   "heat_flux_amplitude": [np.sqrt(np.sum(np.abs(q) ** 2, axis=1))],
                   "material_id": [rm.cell_region.astype(np.int32)]}), state.frequency)
    return name


def kernel_sweep(case, model, out: Path, summary: dict, progress) -> dict:
    """Solve and write every frequency of ``case.frequency``; return the summary."""
    from .frequency import _bode, finish_frequency_summary, write_frequency_table

    t0 = _time.perf_counter()
    system = model.assemble(case.problem)
    timings = {"assembly_s": _time.perf_counter() - t0}
    summary["dofs"] = model.dofs(system)
    summary["wall_time"] = timings
    solver = model.frequency_solver(system)
    means = _mean_temperature(system)
    freqs = case.frequency.frequencies
    rows, worst, its, vtus = [], 0.0, [], []
    ts = _time.perf_counter()
    for k, f in enumerate(freqs):
        st = solver.solve(2 * np.pi * float(f))
        obs = {f"heat_flow:{b}": v for b, v in st.heat_flow.items()}
        obs.update({f"temperature:{b}": fn(st.temperature) for b, fn in means.items()})
        worst = max(worst, st.balance)
        its.append(st.iterations)
        rows.append({"frequency": float(f), **obs})
        if case.output.vtu:
            vtus.append((st.frequency, _write_vtu(system, out, k, st)))
            write_pvd(out / "frequency.pvd", vtus)
        if progress:
            progress(k + 1, len(freqs))
    timings["solve_s"] = _time.perf_counter() - ts
    timings["per_frequency_s"] = timings["solve_s"] / len(freqs)
    keys = write_frequency_table(rows, out / "frequency.csv")
    files = list(summary["inputs_kept"]) + [n for _, n in vtus] + (
        ["frequency.pvd"] if vtus else []) + ["frequency.csv"]
    bcs = case.problem.temperature
    response = [f"heat_flow:{b}" if b in bcs else f"temperature:{b}" for b in means]
    if case.output.png and response:
        _bode(rows, response, out / "bode.png", case.title)
        files.append("bode.png")
    p = case.problem
    summary["kernel"] = {"family": p.info.get("kernel", {}).get("family"),
                         "method": system.operator.method,
                         "local_fraction": p.local_fraction,
                         "memory": solver.modes.as_list()}
    return finish_frequency_summary(summary, out, freqs, rows, worst, files, t0, case.title,
                                    gmres_iterations=its)

