"""Run a :class:`~femheat.io.case.Case` end to end: assemble, solve, write, render.

The runner consumes the ``(t, State)`` stream of the time stepper; it writes
VTU/PVD files every ``save_every`` steps and a ``history.csv`` row every step
as they are computed, then ``summary.json`` and the PNG pictures. A
``summary.json`` with ``"status": "running"`` is written first; on Ctrl-C it
becomes ``"interrupted"`` with the time reached, and every file already written
(VTU, PVD, history) stays valid.
"""

from __future__ import annotations

import logging
import time as _time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..analysis.postprocess import (EnergyBalance, boundary_heat_flow, interface_heat_flow,
                       interface_report, vertex_temperature)
from ..io.case import Case
from ..io.writers import HistoryWriter, VTKSeriesWriter, write_summary
from ..assembly.system import MixedSystem, assemble
from ..solve.steady import State, solve_steady
from ..solve.timestepping import initial_state, step_count, theta_steps

__all__ = ["run_case", "steady_energy_balance"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def steady_energy_balance(system: MixedSystem, state: State) -> float:
    """Relative global balance |∫Q − ∮q·n| / max(|∫Q|, Σ|H_b|) of a steady state."""
    ones = system.temperature_basis.project(lambda x: 1.0 + 0.0 * x[0])
    source = float(ones @ system.heat_load(0.0))
    flows = boundary_heat_flow(system, state.flux)
    total = sum(flows.values())
    scale = max(abs(source), sum(abs(v) for v in flows.values()), 1e-300)
    return abs(source - total) / scale


def _mesh_summary(system: MixedSystem) -> dict:
    rm = system.problem.regions
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
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = _time.perf_counter()
    system = assemble(case.problem)
    t_asm = _time.perf_counter() - t0
    summary: dict = {
        "title": case.title, "status": "running", "model": case.problem.model,
        "degree": case.problem.degree, "mesh": _mesh_summary(system),
        "dofs": {"flux": system.n_flux, "temperature": system.n_temperature,
                 "total": system.ndofs},
        "case_file": str(case.path) if case.path else None,
    }
    write_summary(out / "summary.json", summary)
    writer = VTKSeriesWriter(system, out) if case.output.vtu else None
    timings = {"assembly_s": t_asm}

    if case.time is None:
        ts = _time.perf_counter()
        state = solve_steady(system)
        timings["solve_s"] = _time.perf_counter() - ts
        if writer:
            writer.write(0.0, state)
        if progress:
            progress(1, 1)
        summary["analysis"] = "steady"
        summary["energy_balance_relative_error"] = steady_energy_balance(system, state)
        if getattr(state, "newton", None) is not None:  # Landau quartic term
            summary["newton"] = state.newton.summary()
        profiles: list = []
    else:
        ts_ = case.time
        init = initial_state(system, case.initial_temperature, case.initial_flux)
        nsteps, dt = step_count(ts_.dt, ts_.end, init.time)
        balance = EnergyBalance(system, ts_.theta)
        bnames = list(system.problem.regions.boundaries)
        inames = list(system.problem.regions.interfaces)
        cols = (["time", "energy", "energy_balance_error"] + [f"heat_flow:{b}" for b in bnames]
                + [f"interface_heat_flow:{i}" for i in inames])
        want = set(np.linspace(0, nsteps, max(case.output.profile_times, 2)).round().astype(int))
        profiles = []
        ts = _time.perf_counter()
        try:
            with HistoryWriter(out / "history.csv", cols) as hist:
                stream = theta_steps(system, dt, ts_.end, ts_.theta, init)
                for n, (t, state) in enumerate(stream):
                    if n == 1:  # includes the factorization
                        timings["first_step_s"] = _time.perf_counter() - ts
                    rel = balance.update(state)
                    bf = boundary_heat_flow(system, state.flux)
                    jf = interface_heat_flow(system, state.flux)
                    hist.append([t, balance.energy, rel] + [bf[b] for b in bnames]
                                + [jf[i] for i in inames])
                    if writer and (n % ts_.save_every == 0 or n == nsteps):
                        writer.write(t, state)
                    if case.output.profile and n in want:
                        profiles.append((t, vertex_temperature(system, state)))
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

    summary["heat_flow"] = boundary_heat_flow(system, state.flux)
    summary["interfaces"] = {n: r.summary() for n, r in interface_report(system, state).items()}
    timings["total_s"] = _time.perf_counter() - t0
    summary["wall_time"] = timings
    files = list(writer.files) if writer else []
    if case.time is not None:
        files.append("history.csv")

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
        mesh = system.problem.regions.mesh
        xv = mesh.p[axis, mesh.t].T.ravel()  # matches vertex_temperature(...).T.ravel()
        order = np.argsort(xv, kind="stable")
        plot_profiles(xv[order], [(t, Tv.T.ravel()[order]) for t, Tv in profiles],
                      out / "profile.png", xlabel=f"{case.output.profile} [m]",
                      title=case.title)
        files.append("profile.png")
    summary["files"] = files
    summary["status"] = "completed"
    write_summary(out / "summary.json", summary)
    log.info("case %r done in %.2f s", case.title, timings["total_s"])
    return summary
