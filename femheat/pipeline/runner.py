"""Run a :class:`~femheat.io.case.Case` end to end, for every registered model.

The route is the same for every model: the case's model is looked up in
:mod:`femheat.registry`, which assembles the problem, solves it (steady) or
streams ``(t, state)`` pairs (transient), audits the energy balance, reports
heat flows and interfaces and writes the fields. The runner writes VTU/PVD
files every ``save_every`` steps and a ``history.csv`` row every step as they
are computed, then ``summary.json`` and the PNG pictures. A ``summary.json``
with ``"status": "running"`` is written first; on Ctrl-C it becomes
``"interrupted"`` with the time reached, and every file already written (VTU,
PVD, history) stays valid.

Every analysis writes its conservation audit under one key,
``energy_balance_relative_error``.
"""

from __future__ import annotations

import logging
import time as _time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..io.case import Case
from ..io.writers import HistoryWriter, write_summary
from ..mesh.regions import RegionMesh
from ..registry import Model, get_model
from ..solve.timestepping import step_count

__all__ = ["run_case", "mesh_summary"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def mesh_summary(regions: RegionMesh) -> dict:
    """Sizes and region names of a mesh, for summary.json."""
    rm = regions
    return {"dimension": rm.dim, "cells": int(rm.mesh.t.shape[1]),
            "vertices": int(rm.mesh.p.shape[1]), "h_max": rm.h,
            "subdomains": {n: int(c.size) for n, c in rm.subdomains.items()},
            "boundaries": list(rm.boundaries), "interfaces": list(rm.interfaces),
            "source": rm.metadata.get("source")}


def run_case(case: Case, outdir: str | Path, progress: Optional[Progress] = None) -> dict:
    """Run ``case`` and write its results into ``outdir``; return the summary dict.

    Parameters
    ----------
    progress
        Optional callback ``progress(done, total)`` called after each time step.
    """
    if case.homogenization is not None:  # an effective-conductivity study
        from .studies import run_homogenization

        return run_homogenization(case, outdir, progress)
    model = get_model(case.problem.model)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = _time.perf_counter()
    system = model.assemble(case.problem)
    t_asm = _time.perf_counter() - t0
    summary: dict = {
        "title": case.title, "status": "running", "model": model.name,
        "degree": getattr(case.problem, "degree", None),
        "mesh": mesh_summary(case.problem.regions),
        "dofs": model.dofs(system),
        "case_file": str(case.path) if case.path else None,
    }
    write_summary(out / "summary.json", summary)
    writer = model.writer(system, out) if case.output.vtu else None
    timings = {"assembly_s": t_asm}

    if case.time is None:
        ts = _time.perf_counter()
        state = model.steady(system)
        timings["solve_s"] = _time.perf_counter() - ts
        if writer:
            writer.write(0.0, state)
        if progress:
            progress(1, 1)
        summary["analysis"] = "steady"
        summary["energy_balance_relative_error"] = model.steady_energy_balance(system, state)
        profiles: list = []
    else:
        state, profiles = _transient(case, model, system, writer, summary, timings, out,
                                     progress)
    summary.update(model.summary_extras(system, state))
    summary["heat_flow"] = model.boundary_heat_flow(system, state)
    summary["interfaces"] = model.interface_summary(system, state)
    timings["total_s"] = _time.perf_counter() - t0
    summary["wall_time"] = timings
    files = list(writer.files) if writer else []
    if case.time is not None:
        files.append("history.csv")
    files += _pictures(case, model, system, state, writer, profiles, out)
    summary["files"] = files
    summary["status"] = "completed"
    write_summary(out / "summary.json", summary)
    log.info("case %r done in %.2f s", case.title, timings["total_s"])
    return summary


def _transient(case: Case, model: Model, system: Any, writer: Any, summary: dict,
               timings: dict, out: Path, progress: Optional[Progress]) -> tuple[Any, list]:
    """Stream the θ-scheme states into the writers; return the last state and profiles."""
    ts_ = case.time
    init = model.initial_state(system, case.initial_temperature, case.initial_flux)
    nsteps, dt = step_count(ts_.dt, ts_.end, init.time)
    balance = model.energy_balance(system, ts_.theta)
    regions = case.problem.regions
    bnames, inames = list(regions.boundaries), list(regions.interfaces)
    cols = (["time", "energy", "energy_balance_error"] + [f"heat_flow:{b}" for b in bnames]
            + [f"interface_heat_flow:{i}" for i in inames])
    want = set(np.linspace(0, nsteps, max(case.output.profile_times, 2)).round().astype(int))
    profiles: list = []
    ts = _time.perf_counter()
    state = init
    try:
        with HistoryWriter(out / "history.csv", cols) as hist:
            stream = model.transient(system, dt, ts_.end, ts_.theta, init)
            for n, (t, state) in enumerate(stream):
                if n == 1:  # includes the factorization
                    timings["first_step_s"] = _time.perf_counter() - ts
                rel = balance.update(state)
                bf = model.boundary_heat_flow(system, state)
                jf = model.interface_heat_flow(system, state) if inames else {}
                hist.append([t, balance.energy, rel] + [bf[b] for b in bnames]
                            + [jf[i] for i in inames])
                if writer and (n % ts_.save_every == 0 or n == nsteps):
                    writer.write(t, state)
                if case.output.profile and n in want:
                    profiles.append((t, model.vertex_temperature(system, state)))
                if progress and n:
                    progress(n, nsteps)
    except KeyboardInterrupt:
        # everything written so far stays valid; say how far the run got
        summary.update(status="interrupted", reached_time=balance.time,
                       energy_balance_relative_error=balance.max_relative_error,
                       saved_steps=writer.count if writer else 0)
        write_summary(out / "summary.json", summary)
        raise
    timings["time_stepping_s"] = _time.perf_counter() - ts
    summary["analysis"] = "transient"
    summary["time"] = {"dt": dt, "end": ts_.end, "theta": ts_.theta, "steps": nsteps,
                       "saved": writer.count if writer else 0}
    summary["energy_balance_relative_error"] = balance.max_relative_error
    summary["final_energy"] = balance.energy
    return state, profiles


def _pictures(case: Case, model: Model, system: Any, state: Any, writer: Any,
              profiles: list, out: Path) -> list[str]:
    """The temperature render and the T(x) profile plot; returns the file names."""
    files: list[str] = []
    if case.output.png and writer:
        from ..visuals.rendering import render_temperature

        last = out / f"fields_{writer.count - 1:05d}.vtu"
        iface = out / f"interfaces_{writer.count - 1:05d}.vtu"
        render_temperature(last, out / "temperature.png",
                           interfaces_vtu=iface if iface.exists() else None,
                           title=case.title if case.time is None
                           else f"{case.title}  (t = {state.time:.3g} s)")
        files.append("temperature.png")
    if case.output.profile and profiles:
        from ..visuals.rendering import plot_profiles

        axis = "xyz".index(case.output.profile)
        mesh = case.problem.regions.mesh
        xv = mesh.p[axis, mesh.t].T.ravel()  # matches vertex_temperature(...).T.ravel()
        order = np.argsort(xv, kind="stable")
        plot_profiles(xv[order], [(t, Tv.T.ravel()[order]) for t, Tv in profiles],
                      out / "profile.png", xlabel=f"{case.output.profile} [m]",
                      title=case.title)
        files.append("profile.png")
    return files
