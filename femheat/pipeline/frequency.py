"""Run a ``[frequency]`` case: the time-periodic state at each frequency.

The frequency counterpart of :mod:`femheat.pipeline.runner` (same status,
provenance and atomic-file machinery). It writes, as each frequency is solved:

* ``fields_fNNN.vtu`` (+ ``frequency.pvd``, whose "time" is the frequency in Hz):
  point data ``temperature_amplitude`` [K], ``temperature_phase`` [deg],
  ``heat_flux_real``, ``heat_flux_imag`` [W m⁻²]; cell data
  ``temperature_mean_amplitude``, ``temperature_mean_phase``,
  ``heat_flux_amplitude`` (√(|q̂ₓ|² + |q̂ᵧ|² …)) and ``material_id``;
* ``frequency.csv`` — one row per frequency: for each boundary the amplitude and
  phase of its heat flow (outward, W or W/m) and of its mean temperature (the
  cells along it, facet-weighted), and each interface's heat flow;
* ``bode.png`` — amplitude and phase versus frequency of each boundary's response
  (the heat flow of temperature-driven boundaries, the temperature of the others);
* ``summary.json`` — the same table, and ``energy_balance_relative_error``: the
  largest |iω∫C T̂ + ∮q̂·n − ∫Q̂| over the frequencies, relative to the largest term;
* with ``[frequency.fdtr]`` (axisymmetric sample) the column ``probe_temperature`` (the
  Gaussian-probe average of the surface temperature, K) in the table and the Bode plot;
  with ``[frequency.tdtr]`` also ``tdtr.csv`` (delay, in-phase, out-of-phase, ratio
  −V_in/V_out, from the same sweep) and ``summary["tdtr"]``
  (:mod:`femheat.analysis.thermoreflectance`).

Phases are in degrees relative to the drive (fields ∝ e^{iωt}, so a lag is negative).
"""

from __future__ import annotations

import io
import logging
import time as _time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import skfem

from ..analysis.postprocess import boundary_heat_flow, interface_heat_flow
from ..io.atomic import write_text
from ..io.provenance import input_hash, keep_inputs, mesh_hash, provenance, resolved_input
from ..io.writers import FIELD_UNITS, VTKSeriesWriter, write_pvd, write_summary, write_vtu
from ..physics.conditions import Temperature
from ..registry import get_model
from ..solve.frequency import FrequencySolver, FrequencyState
from ..solve.steady import State
from .output import RunGuard

__all__ = ["run_frequency", "frequency_observables"]

log = logging.getLogger(__name__)


def _complex(fn, system, flux) -> dict[str, complex]:
    re, im = fn(system, flux.real), fn(system, flux.imag)
    return {k: complex(re[k], im[k]) for k in re}


def _boundary_temperature(system) -> dict[str, Callable[[np.ndarray], complex]]:
    """Per boundary, T̂ ↦ facet-weighted mean of the adjacent cells' mean T̂."""
    rm, tb = system.problem.regions, system.temperature_basis
    dx = tb.dx
    out = {}
    for name in rm.boundaries:
        facets = rm.boundary(name)
        fb = skfem.FacetBasis(rm.mesh, tb.elem, facets=facets, intorder=2)
        w = fb.dx.sum(axis=1)
        cells = rm.mesh.f2t[0, facets]
        out[name] = (cells, w / w.sum())

    def mean(name: str, T: np.ndarray) -> complex:
        cells, w = out[name]
        Tq = tb.interpolate(T.real).value + 1j * tb.interpolate(T.imag).value
        cm = (Tq[cells] * dx[cells]).sum(axis=1) / dx[cells].sum(axis=1)
        return complex(np.sum(w * cm))

    return {n: (lambda T, n=n: mean(n, T)) for n in rm.boundaries}


def frequency_observables(system, state: FrequencyState) -> dict[str, complex]:
    """Complex boundary heat flows (``heat_flow:b``), boundary mean temperatures
    (``temperature:b``) and interface heat flows (``interface_heat_flow:i``)."""
    if "freq_bt" not in system._cache:
        system._cache["freq_bt"] = _boundary_temperature(system)
    bt = system._cache["freq_bt"]
    out = {f"heat_flow:{k}": v
           for k, v in _complex(boundary_heat_flow, system, state.flux).items()}
    out.update({f"temperature:{k}": f(state.temperature) for k, f in bt.items()})
    if system.problem.regions.interfaces:
        out.update({f"interface_heat_flow:{k}": v
                    for k, v in _complex(interface_heat_flow, system, state.flux).items()})
    return out


def _balance(system, state: FrequencyState, ones: np.ndarray) -> float:
    stored = 1j * state.omega * complex(system.energy_weights @ state.temperature)
    flows = sum(_complex(boundary_heat_flow, system, state.flux).values())
    src = complex(ones @ system.heat_load(0.0))
    scale = max(abs(stored), abs(flows), abs(src), 1e-300)
    return abs(stored + flows - src) / scale


class _FrequencyWriter:
    """Amplitude/phase VTU files, one per frequency, and ``frequency.pvd``."""

    def __init__(self, system, out: Path):
        self.vtk = VTKSeriesWriter(system, out, names="loads")
        self.out, self.entries = out, []

    def write(self, k: int, state: FrequencyState) -> str:
        import meshio

        w = self.vtk
        pr, cr = w.volume_fields(State(state.frequency, state.temperature.real, state.flux.real))
        pi, ci = w.volume_fields(State(state.frequency, state.temperature.imag, state.flux.imag))
        Tv = pr["temperature"] + 1j * pi["temperature"]
        Tm = cr["temperature_mean"] + 1j * ci["temperature_mean"]
        qmag = np.sqrt(np.sum(cr["heat_flux_mean"] ** 2 + ci["heat_flux_mean"] ** 2, axis=1))
        point = {"temperature_amplitude": np.abs(Tv),
                 "temperature_phase": np.degrees(np.angle(Tv)),
                 "heat_flux_real": pr["heat_flux"], "heat_flux_imag": pi["heat_flux"]}
        cell = {"temperature_mean_amplitude": np.abs(Tm),
                "temperature_mean_phase": np.degrees(np.angle(Tm)),
                "heat_flux_amplitude": qmag, "material_id": cr["material_id"]}
        d = w.system.problem.regions.dim
        name = f"fields_f{k:03d}.vtu"
        cell_type = {2: "triangle", 3: "tetra"}[d]
        write_vtu(self.out / name, meshio.Mesh(w._points, [(cell_type, w._cells)],
                                               point_data=point,
                                               cell_data={k_: [v] for k_, v in cell.items()}),
                  state.frequency)
        self.entries.append((state.frequency, name))
        write_pvd(self.out / "frequency.pvd", self.entries)
        return name

    @property
    def files(self) -> list[str]:
        return [f for _, f in self.entries] + (["frequency.pvd"] if self.entries else [])


def write_frequency_table(rows: list[dict], path: Path) -> list[str]:
    """``frequency.csv``: per frequency f [Hz] and ω [rad/s], the amplitude and phase
    [deg] of every complex observable of ``rows`` (dicts with a ``"frequency"`` key);
    returns the observables' names."""
    keys = [k for k in rows[0] if k != "frequency"]
    header = ["frequency_Hz", "omega_rad_s"] + [f"{k}:{p}" for k in keys
                                                 for p in ("amplitude", "phase_deg")]
    lines = [",".join(header)]
    for r in rows:
        vals = [r["frequency"], 2 * np.pi * r["frequency"]]
        for k in keys:
            vals += [abs(r[k]), float(np.degrees(np.angle(r[k])))]
        lines.append(",".join(f"{v:.12g}" for v in vals))
    write_text(path, "\n".join(lines) + "\n")
    return keys


def amplitude_phase_table(rows: list[dict]) -> list[dict]:
    """``rows`` for summary.json: each complex observable as its amplitude and phase [deg]."""
    return [{k: (v if k == "frequency" else {"amplitude": abs(v),
                                              "phase_deg": float(np.degrees(np.angle(v)))})
             for k, v in r.items()} for r in rows]


def finish_frequency_summary(summary: dict, out: Path, freqs, rows: list[dict], worst: float,
                             files: list[str], t0: float, title: str, **extra: Any) -> dict:
    """Complete and write summary.json of a frequency study: the frequencies, the
    amplitude/phase table (and ``extra`` entries of ``summary["frequency"]``), the worst
    energy residual, the files, the total time and status "completed"."""
    summary["frequency"] = {"frequencies_Hz": [float(f) for f in freqs], **extra,
                            "table": amplitude_phase_table(rows)}
    summary["energy_balance_relative_error"] = worst
    summary["wall_time"]["total_s"] = _time.perf_counter() - t0
    summary["files"] = files
    summary["status"] = "completed"
    write_summary(out / "summary.json", summary)
    log.info("frequency study %r: %d frequencies in %.2f s", title, len(freqs),
             summary["wall_time"]["total_s"])
    return summary


def _bode(rows: list[dict], keys: list[str], png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = np.array([r["frequency"] for r in rows])
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 6), dpi=120, sharex=True)
    for key in keys:
        z = np.array([r[key] for r in rows])
        a1.loglog(f, np.abs(z), marker="o", ms=3, label=key)
        a2.semilogx(f, np.degrees(np.angle(z)), marker="o", ms=3, label=key)
    a1.set_ylabel("amplitude")
    a2.set_ylabel("phase [deg]")
    a2.set_xlabel("frequency [Hz]")
    for a in (a1, a2):
        a.grid(alpha=0.3, which="both")
    a1.legend(fontsize=7)
    if title:
        a1.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    from ..io.atomic import write_bytes

    write_bytes(png, buf.getvalue())


def _write_tdtr(out: Path, summary: dict, tdtr: dict, freqs, probe) -> str:
    """TDTR lock-in signals from the sweep's probe response -> ``tdtr.csv``."""
    from ..analysis.thermoreflectance import interpolate_response, tdtr_signals

    sig = tdtr_signals(interpolate_response(freqs, probe), tdtr["delays"],
                       tdtr["modulation_frequency"], tdtr["repetition_rate"],
                       tdtr["max_frequency"])
    lines = ["delay_s,in_phase,out_of_phase,ratio"] + [
        ",".join(f"{v:.12g}" for v in row)
        for row in zip(sig.delays, sig.in_phase, sig.out_of_phase, sig.ratio)]
    write_text(out / "tdtr.csv", "\n".join(lines) + "\n")
    summary["tdtr"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                       for k, v in tdtr.items()}
    summary["tdtr"].update(in_phase=sig.in_phase.tolist(),
                           out_of_phase=sig.out_of_phase.tolist(), ratio=sig.ratio.tolist())
    return "tdtr.csv"


def run_frequency(case, outdir: str | Path, progress: Optional[Callable[[int, int], None]] = None,
                  *, command: Optional[list[str]] = None) -> dict:
    """Run the ``[frequency]`` study of ``case`` into ``outdir``; return the summary."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    model = get_model(case.problem.model)
    regions = case.problem.regions
    from .runner import mesh_summary

    summary: dict[str, Any] = {
        "title": case.title, "status": "running", "analysis": "frequency", "model": model.name,
        "degree": getattr(case.problem, "degree", None), "mesh": mesh_summary(regions),
        "case_file": str(case.path) if case.path else None,
        "provenance": provenance(command), "mesh_hash": mesh_hash(regions),
        "input_hash": input_hash(case, regions), "input": resolved_input(case),
        "units": FIELD_UNITS, "material_ids": dict(enumerate(regions.subdomain_names))}
    summary.update(pid=summary["provenance"]["pid"], host=summary["provenance"]["host"])
    summary["inputs_kept"] = keep_inputs(case, regions, out)
    with RunGuard(out, summary):
        return _sweep(case, model, out, summary, progress)


def _sweep(case, model, out: Path, summary: dict, progress) -> dict:
    write_summary(out / "summary.json", summary)
    if model.family == "kernel":  # nonlocal kernel: P1 temperatures, no mixed blocks
        from .kernel_frequency import kernel_sweep

        return kernel_sweep(case, model, out, summary, progress)
    t0 = _time.perf_counter()
    system = model.assemble(case.problem)
    timings = {"assembly_s": _time.perf_counter() - t0}
    summary["dofs"] = model.dofs(system)
    summary["wall_time"] = timings
    solver = FrequencySolver(system)
    writer = _FrequencyWriter(system, out) if case.output.vtu else None
    ones = system.temperature_ones
    freqs = case.frequency.frequencies
    fdtr = getattr(case.frequency, "fdtr", None)
    probe = None
    if fdtr is not None:
        from ..analysis.thermoreflectance import probe_functional

        probe = probe_functional(system, fdtr["probe_radius"], fdtr["surface"])
    rows, worst = [], 0.0
    ts = _time.perf_counter()
    for k, f in enumerate(freqs):
        st = solver.solve(2 * np.pi * float(f))
        obs = frequency_observables(system, st)
        if probe is not None:
            obs = {"probe_temperature": complex(probe @ st.temperature), **obs}
        worst = max(worst, _balance(system, st, ones))
        rows.append({"frequency": float(f), **obs})
        if writer:
            writer.write(k, st)
        if progress:
            progress(k + 1, len(freqs))
    timings["solve_s"] = _time.perf_counter() - ts
    timings["per_frequency_s"] = timings["solve_s"] / len(freqs)
    keys = write_frequency_table(rows, out / "frequency.csv")
    files = list(summary["inputs_kept"]) + (writer.files if writer else []) + ["frequency.csv"]
    bcs = case.problem.boundary_conditions
    response = [f"heat_flow:{b}" if isinstance(bcs.get(b), Temperature) else f"temperature:{b}"
                for b in case.problem.regions.boundaries]
    if probe is not None:
        response = ["probe_temperature"]
        tdtr = getattr(case.frequency, "tdtr", None)
        if tdtr is not None:
            files.append(_write_tdtr(out, summary, tdtr, freqs,
                                     np.array([r["probe_temperature"] for r in rows])))
    if case.output.png:
        _bode(rows, response, out / "bode.png", case.title)
        files.append("bode.png")
    return finish_frequency_summary(summary, out, freqs, rows, worst, files, t0, case.title)
