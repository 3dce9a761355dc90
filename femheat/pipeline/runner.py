"""Run a :class:`~femheat.io.case.Case` end to end, for every registered model.

The route is the same for every model: the case's model is looked up in
:mod:`femheat.registry`, which assembles the problem, solves it (steady) or
streams ``(t, state)`` pairs (transient), audits the energy balance, reports
heat flows and interfaces and writes the fields. Every analysis writes its
conservation audit under one key, ``energy_balance_relative_error``.

Runs never lose, corrupt or misreport a result:

* every file is written atomically (:mod:`femheat.io.atomic`); the PVD lists
  only complete VTU files; ``history.csv`` gets one flushed row per step;
* a restart file (``restart.npz``: state, time, step, the energy bookkeeping and
  the series written so far) is kept at every save, so ``mode="resume"``
  continues a transient run from its last saved step and repeats the
  uninterrupted run bitwise (same step times, same operators);
* ``summary.json`` says ``"running"`` (with pid and host) only while the run
  lives: a normal end writes ``"completed"``, an exception ``"failed"`` with its
  message, Ctrl-C or SIGTERM ``"interrupted"`` with the time reached; a run
  killed by SIGKILL is recognised later from its dead pid (``femheat info``);
* a folder holding another run's results is refused unless ``mode`` is
  ``"overwrite"`` (which first removes that run's files) or ``"resume"``;
* provenance: femheat version, command line, resolved input, mesh hash; the
  case file and a generated mesh are copied into the folder.
"""

from __future__ import annotations

import logging
import math
import time as _time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..io.case import Case
from ..io.provenance import input_hash, keep_inputs, mesh_hash, provenance, resolved_input
from ..io.writers import FIELD_UNITS, HistoryWriter, write_summary
from ..mesh.regions import RegionMesh
from ..registry import Model, get_model
from ..solve.timestepping import step_count
from .output import RunGuard, load_restart, prepare_output, save_restart

__all__ = ["run_case", "mesh_summary", "MODES"]

#: What to do with a folder that holds another run's results.
MODES = ("new", "overwrite", "resume")

#: Minimum wall time [s] between two restart files (one is always written at the
#: last step): saving every step of a fast run should not be dominated by restarts.
RESTART_INTERVAL = 1.0

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


def run_case(case: Case, outdir: str | Path, progress: Optional[Progress] = None, *,
             mode: str = "new", command: Optional[list[str]] = None) -> dict:
    """Run ``case`` and write its results into ``outdir``; return the summary dict.

    Parameters
    ----------
    progress
        Optional callback ``progress(done, total)`` called after each time step.
    mode
        ``"new"`` (refuse a folder holding another run's results), ``"overwrite"``
        (remove that run's files first) or ``"resume"`` (continue it: a transient
        run from its last saved step, a study from its last computed point).
    command
        The command line to record (default ``sys.argv``).
    """
    out = Path(outdir)
    previous = prepare_output(out, mode)
    if case.homogenization is not None:  # an effective-conductivity study
        from .studies import run_homogenization

        return run_homogenization(case, out, progress, previous=previous, command=command)
    if getattr(case, "frequency", None) is not None:  # a time-periodic study
        from .frequency import run_frequency

        return run_frequency(case, out, progress, command=command)
    model = get_model(case.problem.model)
    regions = case.problem.regions
    summary: dict = {
        "title": case.title, "status": "running", "model": model.name,
        "degree": getattr(case.problem, "degree", None), "mesh": mesh_summary(regions),
        "case_file": str(case.path) if case.path else None,
        "provenance": provenance(command), "mesh_hash": mesh_hash(regions),
        "input_hash": input_hash(case, regions), "input": resolved_input(case),
        "units": FIELD_UNITS,
        "material_ids": dict(enumerate(regions.subdomain_names)),
        "interface_ids": dict(enumerate(regions.interfaces)),
    }
    restart = None
    if previous is not None and mode == "resume":
        if previous.get("input_hash") != summary["input_hash"]:
            from ..errors import FemheatInputError

            raise FemheatInputError(
                f"cannot resume {str(out)!r}: the case or its mesh changed since that run "
                "started (input hash differs); use --overwrite to start it again")
        restart = load_restart(out) if case.time is not None else None
    summary.update(pid=summary["provenance"]["pid"], host=summary["provenance"]["host"])
    summary["inputs_kept"] = keep_inputs(case, regions, out)
    with RunGuard(out, summary):
        return _run(case, model, out, summary, progress, restart)


def _run(case: Case, model: Model, out: Path, summary: dict,
         progress: Optional[Progress], restart: Optional[dict]) -> dict:
    write_summary(out / "summary.json", summary)
    t0, c0 = _time.perf_counter(), _time.process_time()
    system = model.assemble(case.problem)
    timings = {"assembly_s": _time.perf_counter() - t0}
    cpu = {"assembly_s": _time.process_time() - c0}  # process CPU: robust on shared cores
    summary["dofs"] = model.dofs(system)
    summary["wall_time"] = timings
    summary["cpu_time"] = cpu
    write_summary(out / "summary.json", summary)
    writer = model.writer(system, out, case.output.format) if case.output.vtu else None
    probes = _probe_writer(case, system, out, restart)

    if case.time is None:
        ts, cs = _time.perf_counter(), _time.process_time()
        state = model.steady(system)
        timings["solve_s"] = _time.perf_counter() - ts
        cpu["solve_s"] = _time.process_time() - cs
        if writer:
            tw = _time.perf_counter()
            writer.write(0.0, state)
            timings["write_s"] = _time.perf_counter() - tw
        if probes:
            probes.write(0.0, state)
        if progress:
            progress(1, 1)
        summary["analysis"] = "steady"
        summary["energy_balance_relative_error"] = model.steady_energy_balance(system, state)
        profiles: list = []
    else:
        try:
            state, profiles = _transient(case, model, system, writer, summary, timings, out,
                                         progress, restart, probes)
        finally:
            if probes:
                probes.close()
            if writer is not None and hasattr(writer, "close"):
                writer.close()
    summary.update(model.summary_extras(system, state))
    summary["heat_flow"] = model.boundary_heat_flow(system, state)
    summary["interfaces"] = model.interface_summary(system, state)
    files = list(summary["inputs_kept"]) + (list(writer.files) if writer else [])
    if probes:
        files += probes.files
    if case.time is not None:
        files += ["history.csv"] + (["restart.npz"] if (out / "restart.npz").exists() else [])
    tp = _time.perf_counter()
    pictures = _pictures(case, model, system, state, writer, profiles, out)
    if pictures:
        timings["pictures_s"] = _time.perf_counter() - tp
    files += pictures
    timings["total_s"] = _time.perf_counter() - t0
    cpu["total_s"] = _time.process_time() - c0
    summary["files"] = files
    summary["status"] = "completed"
    write_summary(out / "summary.json", summary)
    if case.output.report and writer and case.output.format == "vtu":  # issue 14
        from ..visuals.report import run_report

        summary["files"] += run_report(out)
        write_summary(out / "summary.json", summary)
    log.info("case %r done in %.2f s", case.title, timings["total_s"])
    return summary


def _probe_writer(case: Case, system: Any, out: Path, restart: Optional[dict]):
    """The point-probe / line-profile CSV writer of ``[output.probes]``/``[output.lines]``."""
    if not (case.output.probes or case.output.lines):
        return None
    from ..analysis.probes import ProbeWriter

    return ProbeWriter(out, system, case.output.probes, case.output.lines,
                       resume_time=None if restart is None else restart["time"])


def _transient(case: Case, model: Model, system: Any, writer: Any, summary: dict,
               timings: dict, out: Path, progress: Optional[Progress],
               restart: Optional[dict], probes: Any = None) -> tuple[Any, list]:
    """Stream the θ-scheme states into the writers; return the last state and profiles.

    With a ``restart`` (from :func:`~femheat.pipeline.output.load_restart`) the run
    continues after its last saved step, with the same step times, energy
    bookkeeping and file series as the uninterrupted run.
    """
    ts_ = case.time
    balance = model.energy_balance(system, ts_.theta)
    if restart is None:
        init = model.initial_state(system, case.initial_temperature, case.initial_flux)
        origin, first, profiles = (init.time, 0), 0, []
    else:
        init = model.state_from_arrays(system, restart["time"], restart["arrays"])
        origin, first = (restart["origin"], restart["step"]), restart["step"]
        balance.restore(restart["balance"])
        if writer:
            writer.restore(restart["writer"])
        profiles = restart["profiles"]
        summary["resumed_from"] = {"time": restart["time"], "step": first}
    nsteps, dt = step_count(ts_.dt, ts_.end, origin[0])
    regions = case.problem.regions
    bnames, inames = list(regions.boundaries), list(regions.interfaces)
    cols = (["time", "energy", "energy_balance_error"] + [f"heat_flow:{b}" for b in bnames]
            + [f"interface_heat_flow:{i}" for i in inames]
            + list(getattr(balance, "history_columns", ())))
    extra = getattr(balance, "history_values", lambda: [])
    want = set(np.linspace(0, nsteps, max(case.output.profile_times, 2)).round().astype(int))
    ts = _time.perf_counter()
    state, reached, last_restart = init, first, -math.inf
    summary["time"] = {"dt": dt, "end": ts_.end, "theta": ts_.theta, "steps": nsteps}
    try:
        with HistoryWriter(out / "history.csv", cols,
                           resume_rows=None if restart is None else first + 1) as hist:
            stream = model.transient(system, dt, ts_.end, ts_.theta, init,
                                     None if restart is None else origin)
            for k, (t, state) in enumerate(stream):
                n = first + k
                if k == 1:  # includes the factorization
                    timings["first_step_s"] = _time.perf_counter() - ts
                if k == 0 and restart is not None:
                    continue  # step `first` is already in the files
                rel = balance.update(state)
                bf = model.boundary_heat_flow(system, state)
                jf = model.interface_heat_flow(system, state) if inames else {}
                hist.append([t, balance.energy, rel] + [bf[b] for b in bnames]
                            + [jf[i] for i in inames] + extra())
                if probes:
                    probes.write(t, state)
                if case.output.profile and n in want:
                    profiles.append((t, model.vertex_temperature(system, state)))
                if n % ts_.save_every == 0 or n == nsteps:
                    if writer:
                        writer.write(t, state)
                    now = _time.perf_counter()
                    if n == nsteps or now - last_restart >= RESTART_INTERVAL:
                        save_restart(out, model, state, n, origin[0], balance, writer,
                                     profiles)
                        last_restart = now
                reached = n
                if progress and n:
                    progress(n, nsteps)
    except BaseException:
        # everything written so far stays valid; say how far the run got
        summary.update(reached_time=balance.time, reached_step=reached,
                       energy_balance_relative_error=balance.max_relative_error,
                       saved_steps=writer.count if writer else 0)
        raise
    timings["time_stepping_s"] = _time.perf_counter() - ts
    summary["analysis"] = "transient"
    summary["time"]["saved"] = writer.count if writer else 0
    summary["energy_balance_relative_error"] = balance.max_relative_error
    summary["final_energy"] = balance.energy
    if hasattr(balance, "summary"):  # e.g. the Landau-Khalatnikov energy identity
        summary.update(balance.summary())
    return state, profiles


def _pictures(case: Case, model: Model, system: Any, state: Any, writer: Any,
              profiles: list, out: Path) -> list[str]:
    """The temperature render and the T(x) profile plot; returns the file names."""
    files: list[str] = []
    if case.output.png and writer:
        import tempfile

        from ..visuals.rendering import render_temperature

        title = (case.title if case.time is None
                 else f"{case.title}  (t = {state.time:.3g} s)")
        if case.output.format == "vtu":
            last = out / f"fields_{writer.count - 1:05d}.vtu"
            iface = out / f"interfaces_{writer.count - 1:05d}.vtu"
            render_temperature(last, out / "temperature.png",
                               interfaces_vtu=iface if iface.exists() else None, title=title)
        else:  # XDMF series: render the last state from a scratch VTU
            with tempfile.TemporaryDirectory(prefix="femheat-render-") as scratch:
                last = model.writer(system, scratch).write(state.time, state)
                iface = Path(scratch) / "interfaces_00000.vtu"
                render_temperature(last, out / "temperature.png",
                                   interfaces_vtu=iface if iface.exists() else None,
                                   title=title)
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
