"""Run a ``[homogenization]`` case: κ_eff tensor, R_K sweep, crossover and fit.

The study counterpart of :mod:`femheat.pipeline.runner`. It writes into the output folder,
as each result is computed:

* ``summary.json`` — status first ``"running"``, then the tensor, principal
  conductivities, dissipation and flux shares, interface jump statistics,
  timings, and the sweep/crossover/fit results;
* ``fields_x.vtu``, ``fields_y.vtu`` ... — the temperature and flux of the load
  case along each axis (named by the load, not disguised as times) and the
  matching ``interfaces_x.vtu``;
* ``temperature_x.png`` ... — one picture per load case;
* ``sweep_points.csv`` — one row per R_K point as soon as it is computed (an
  interrupted study resumes from it, computing only the missing points), then
  ``sweep.csv`` and ``sweep.png`` — κ_eff(R_K) with the closed-form reference.

Status, provenance and atomic files as in :mod:`femheat.pipeline.runner`.
"""

from __future__ import annotations

import logging
import time as _time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

import csv

from ..io.case import Case
from ..io.provenance import input_hash, keep_inputs, mesh_hash, provenance, resolved_input
from ..analysis.conductance import (crossover_resistance, crossover_resistance_theory, fit_resistance,
                          maxwell_garnett, sweep_resistance)
from ..analysis.homogenization import CellProblem
from ..errors import FemheatInputError
from ..io.writers import FIELD_UNITS, VTKSeriesWriter, write_summary
from .output import RunGuard

__all__ = ["run_homogenization", "cell_energy_balance"]

log = logging.getLogger(__name__)


def _scalar_conductivity(material, where: str) -> float:
    """κ of an isotropic, constant material [W m⁻¹ K⁻¹] (closed forms need one number)."""
    k = material.conductivity
    if callable(k):
        raise FemheatInputError(f"{where}: the closed-form reference needs a constant "
                                "conductivity, not an expression")
    k = np.asarray(k, dtype=float)
    if k.ndim == 0:
        return float(k)
    if k.ndim == 2 and k.shape[0] == k.shape[1] and np.allclose(k, k[0, 0] * np.eye(k.shape[0])):
        return float(k[0, 0])
    raise FemheatInputError(f"{where}: the closed-form reference needs an isotropic "
                            f"(scalar) conductivity, got {k.tolist()}")


def _reference(case: Case, cell: CellProblem) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    ref = case.homogenization.reference
    if ref is None:
        return None
    mats = case.homogenization.cell["materials"]
    km = _scalar_conductivity(mats[case.homogenization.matrix], "homogenization.matrix")
    ki = _scalar_conductivity(mats[ref["inclusion"]], "homogenization.reference.inclusion")
    f = ref["volume_fraction"]
    if f is None:
        derived = cell.regions.metadata.get("derived") or {}
        f = derived.get("volume_fraction", cell.volume_fractions[ref["inclusion"]])
    ref.update(matrix_conductivity=km, inclusion_conductivity=ki, volume_fraction=float(f))
    dim = cell.regions.dim
    return lambda R: maxwell_garnett(f, km, ki, dim=dim, radius=ref["radius"], resistance=R)


def cell_energy_balance(cell: CellProblem, result) -> float:
    """Conservation audit of a cell study: max over the load cases of
    |Σ_K ∫_K (∇·q − Q)| / H_j, the net heat leaving the cell over the heat flow
    H_j = |⟨q_j⟩| |Ω| / L_j through a face normal to the applied gradient
    (periodic faces and Kapitza interfaces pass heat on without loss)."""
    sysm = cell.system
    ones = sysm.temperature_ones
    extent = np.ptp(cell.regions.mesh.p, axis=1)
    volume = float(np.prod(extent))
    worst = 0.0
    for lc in result.loads:
        net = float(ones @ (sysm.divergence @ lc.state.flux - sysm.heat_load(0.0)))
        flow = abs(float(lc.mean_flux[lc.axis])) * volume / float(extent[lc.axis])
        worst = max(worst, abs(net) / max(flow, 1e-300))
    return worst


def _sweep_points(path: Path, resistances: np.ndarray, dim: int) -> dict:
    """Points of an interrupted sweep: index -> (κ tensor, seconds), matching R_K."""
    done: dict = {}
    if not path.exists():
        return done
    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            if len(row) != 3 + dim * dim or not row[0].isdigit():
                continue  # header, or a line cut by a kill
            k, r = int(row[0]), float(row[1])
            if k < resistances.size and np.isclose(r, resistances[k], rtol=1e-12, atol=0):
                done[k] = (np.array([float(v) for v in row[2:-1]]).reshape(dim, dim),
                           float(row[-1]))
    return done


def run_homogenization(case: Case, outdir: str | Path,
                       progress: Optional[Callable[[int, int], None]] = None, *,
                       previous: Optional[dict] = None,
                       command: Optional[list[str]] = None) -> dict:
    """Run the ``[homogenization]`` study of ``case``; return the summary dict.

    ``previous`` is the summary of the run in ``outdir`` to resume (the runner's
    :func:`~femheat.pipeline.output.prepare_output` checked the folder): the sweep
    then computes only the points missing from ``sweep_points.csv``.
    """
    settings = case.homogenization
    if settings is None:
        raise ValueError("run_homogenization needs a case with a [homogenization] section")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    rm = settings.cell["regions"]
    identity = input_hash(case, rm)
    if previous is not None and previous.get("input_hash") != identity:
        raise FemheatInputError(
            f"cannot resume {str(out)!r}: the case or its mesh changed since that run "
            "started (input hash differs); use --overwrite to start it again")
    head = {"title": case.title, "status": "running", "analysis": "homogenization",
            "provenance": provenance(command), "mesh_hash": mesh_hash(rm),
            "input_hash": identity, "input": resolved_input(case), "units": FIELD_UNITS,
            "case_file": str(case.path) if case.path else None}
    head.update(pid=head["provenance"]["pid"], host=head["provenance"]["host"])
    head["inputs_kept"] = keep_inputs(case, rm, out)
    with RunGuard(out, head):
        return _study(case, settings, out, head, progress, previous is not None)


def _study(case: Case, settings, out: Path, summary: dict,
           progress: Optional[Callable[[int, int], None]], resume: bool) -> dict:
    t0 = _time.perf_counter()
    write_summary(out / "summary.json", summary)
    cell = CellProblem(**settings.cell)
    rm = cell.regions
    summary.update({
        "title": case.title, "status": "running", "analysis": "homogenization",
        "model": cell.model, "degree": cell.problem.degree, "boundary": cell.boundary,
        "mesh": {"dimension": rm.dim, "cells": int(rm.mesh.t.shape[1]),
                 "subdomains": {n: int(c.size) for n, c in rm.subdomains.items()},
                 "interfaces": list(rm.interfaces), "source": rm.metadata.get("source"),
                 "quality": rm.metadata.get("quality")},
        "dofs": {"flux": cell.system.n_flux, "temperature": cell.system.n_temperature,
                 "total": cell.system.ndofs},
    })
    write_summary(out / "summary.json", summary)
    total = 1 + (settings.sweep_resistances is not None) + settings.crossover \
        + (settings.fit_measured is not None)
    done = 0

    result = cell.solve()
    summary["homogenization"] = result.summary()
    summary["energy_balance_relative_error"] = cell_energy_balance(cell, result)
    files: list[str] = list(summary["inputs_kept"])
    if case.output.vtu:
        writer = VTKSeriesWriter(cell.system_at(result.resistances), out, names="loads")
        for lc in result.loads:
            writer.write(0.0, lc.state, label="xyz"[lc.axis])
        files += list(writer.files)
        if case.output.png:
            from ..visuals.rendering import render_temperature

            for lc in result.loads:
                axis = "xyz"[lc.axis]
                iface = out / f"interfaces_{axis}.vtu"
                png = out / f"temperature_{axis}.png"
                render_temperature(out / f"fields_{axis}.vtu", png,
                                   interfaces_vtu=iface if iface.exists() else None,
                                   title=f"{case.title}: unit gradient along {axis}")
                files.append(png.name)
    done += 1
    if progress:
        progress(done, total)
    write_summary(out / "summary.json", summary)

    km = None
    if settings.matrix is not None:
        km = _scalar_conductivity(settings.cell["materials"][settings.matrix],
                                  "homogenization.matrix")
        summary["matrix_conductivity"] = km
    reference = _reference(case, cell)
    if reference is not None:
        summary["reference"] = dict(settings.reference, model="maxwell_garnett")
        R0 = cell.resistances()
        if len(set(R0.values())) == 1 and isinstance(next(iter(R0.values())), float):
            i, j = settings.component
            val = float(reference(np.array([next(iter(R0.values()))]))[0])
            summary["reference"]["kappa_eff_at_case_resistance"] = val
            summary["reference"]["relative_difference"] = \
                float(result.conductivity[i, j]) / val - 1.0 if i == j else None

    sweep = None
    if settings.sweep_resistances is not None:
        points = out / "sweep_points.csv"
        dim = rm.dim
        known = _sweep_points(points, settings.sweep_resistances, dim) if resume else {}
        if not resume or not points.exists():
            with open(points, "w", newline="") as fh:
                csv.writer(fh).writerow(
                    ["index", "resistance_m2K_per_W"]
                    + [f"kappa_{'xyz'[i]}{'xyz'[j]}_W_per_mK" for i in range(dim)
                       for j in range(dim)] + ["seconds"])
        summary["sweep_points_reused"] = len(known)

        def store(k: int, r: float, kappa: np.ndarray, seconds: float) -> None:
            with open(points, "a", newline="") as fh:  # one flushed row per point
                csv.writer(fh).writerow([k, f"{r:.17g}"] + [f"{v:.17g}" for v in kappa.ravel()]
                                        + [f"{seconds:.6g}"])

        sweep = sweep_resistance(cell, settings.sweep_resistances,
                                 interfaces=settings.sweep_interfaces,
                                 component=settings.component, matrix_conductivity=km,
                                 reference=reference, done=known, on_point=store)
        files.append(points.name)
        files.append(sweep.to_csv(out / "sweep.csv").name)
        summary["sweep"] = {
            "component": list(settings.component),
            "resistances": sweep.resistances.tolist(),
            "kappa_eff": sweep.values.tolist(),
            "reference": None if sweep.reference is None else sweep.reference.tolist(),
            "seconds_per_point": sweep.seconds.tolist(),
            "setup_seconds": sweep.setup_seconds,
            "crossing_interpolated": sweep.crossing() if km else None,
        }
        done += 1
        if progress:
            progress(done, total)
        write_summary(out / "summary.json", summary)

    rc = None
    if settings.crossover:
        c = crossover_resistance(cell, km, interfaces=settings.sweep_interfaces,
                                 component=settings.component)
        rc = c.resistance
        summary["crossover"] = {"resistance": c.resistance, "kapitza_radius": c.kapitza_radius,
                                "solves": c.solves}
        if settings.reference is not None:
            th = crossover_resistance_theory(km, settings.reference["inclusion_conductivity"],
                                             settings.reference["radius"])
            summary["crossover"]["theory_resistance"] = th
            summary["crossover"]["relative_difference"] = c.resistance / th - 1.0
        done += 1
        if progress:
            progress(done, total)
        write_summary(out / "summary.json", summary)
    if sweep is not None and case.output.png:
        files.append(sweep.plot(out / "sweep.png", title=case.title, crossover=rc).name)

    if settings.fit_measured is not None:
        fit = fit_resistance(cell, settings.fit_measured, settings.fit_sigma,
                             interfaces=settings.sweep_interfaces,
                             component=settings.component)
        summary["fit"] = {"measured": settings.fit_measured, "sigma": settings.fit_sigma,
                          "resistance": fit.resistance, "standard_error": fit.standard_error,
                          "conductance": fit.conductance,
                          "conductance_error": fit.conductance_error,
                          "kapitza_radius": fit.resistance * km if km else None,
                          "predicted": fit.predicted.tolist(), "iterations": fit.iterations}
        done += 1
        if progress:
            progress(done, total)

    summary["wall_time"] = {"assembly_s": cell.assembly_time,
                            "total_s": _time.perf_counter() - t0}
    summary["files"] = files
    summary["status"] = "completed"
    write_summary(out / "summary.json", summary)
    log.info("homogenization case %r done in %.2f s", case.title,
             summary["wall_time"]["total_s"])
    return summary
