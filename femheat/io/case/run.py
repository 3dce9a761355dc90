"""``[source]``, ``[initial]``, ``[time]`` and ``[output]``: what drives a run and
what it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ...analysis.probes import LineProfile, locate_points
from ...errors import FemheatInputError
from ...physics.expressions import compile_expression
from .common import check_keys, flag, integer, number, table, value

__all__ = ["TimeSettings", "OutputSettings", "parse_source", "parse_initial", "parse_time",
           "parse_output"]


@dataclass
class TimeSettings:
    """Transient settings: Δt [s], end time [s], θ, how often to save, and whether more
    than 10⁶ steps were confirmed (``confirm_steps = true``)."""

    dt: float
    end: float
    theta: float = 0.5
    save_every: int = 1
    confirm_steps: bool = False


@dataclass
class OutputSettings:
    """``[output]``: which files a run writes.

    Attributes
    ----------
    vtu, png
        VTU/PVD fields and the PNG render.
    report
        After the run, the standard pictures (``plots/``) and ``report.html``.
    profile
        "x", "y" or "z": a T(axis) line plot; None for none.
    profile_times
        Number of times (>= 2) in that plot.
    probes
        Point probes ``name -> (d,)`` coordinates [m] (``[output.probes]``),
        written as a CSV time series (probes.csv).
    lines
        Line profiles ``name ->`` :class:`~femheat.analysis.probes.LineProfile`
        (``[output.lines]``), one CSV time series per line (line_NAME.csv).
    """

    vtu: bool = True
    png: bool = True
    profile: Optional[str] = None  # "x", "y" or "z": 1D line plot along that axis
    profile_times: int = 6
    probes: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)
    format: str = "vtu"  # "vtu" (one file per saved step, kill-safe) or "xdmf" (HDF5)
    report: bool = False  # report.html + plots/ (femheat.visuals.report) after the run


def parse_source(data: dict):
    """Q [W/m^3]: number or expression of x, y, z, t; None if absent."""
    src = table(data, "source", "")
    check_keys(src, {"value"}, "source")
    return value(src["value"], "source.value") if "value" in src else None


def parse_initial(data: dict, dim: Optional[int]) -> tuple[Any, Any]:
    """(T0, q0): T0 [K] a number or f(x); q0 [W/m^2] None or a vector of ``dim`` numbers
    (any length when ``dim`` is None: checked once the mesh is known)."""
    init = table(data, "initial", "")
    check_keys(init, {"temperature", "flux"}, "initial")
    T0 = init.get("temperature", 0.0)
    if isinstance(T0, str):
        f = compile_expression(T0, "initial.temperature")
        T0 = lambda x, f=f: f(x, 0.0)  # noqa: E731
        T0.__doc__ = f.__doc__  # the expression, for messages
    else:
        T0 = number(T0, "initial.temperature")
    q0 = init.get("flux")
    if isinstance(q0, list):
        if dim is not None and len(q0) != dim:
            raise FemheatInputError(f"initial.flux must have {dim} components, got {q0!r}")
        q0 = np.array([number(v, f"initial.flux[{i}]") for i, v in enumerate(q0)])
    elif q0 is not None:
        raise FemheatInputError(f"initial.flux must be a list of numbers, got {q0!r}")
    return T0, q0


def parse_time(data: dict) -> Optional[TimeSettings]:
    """``[time]`` or None for a steady run."""
    if "time" not in data:
        return None
    tt = table(data, "time", "")
    check_keys(tt, {"dt", "end", "theta", "save_every", "confirm_steps"}, "time")
    for k in ("dt", "end"):
        if k not in tt:
            raise FemheatInputError(f"time.{k} is missing (s)")
    dt = number(tt["dt"], "time.dt")
    if not dt > 0:
        raise FemheatInputError(f"time.dt must be > 0 s, got {dt}")
    end = number(tt["end"], "time.end")
    if not end > 0:
        raise FemheatInputError(f"time.end must be > 0 s, got {end}")
    theta = number(tt.get("theta", 0.5), "time.theta")
    if not 0.5 <= theta <= 1:
        raise FemheatInputError(
            f"time.theta must be in [0.5, 1] (0.5 Crank-Nicolson, 1 backward Euler; "
            f"smaller values are only conditionally stable), got {theta}")
    every = tt.get("save_every", 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise FemheatInputError(f"time.save_every must be an integer >= 1, got {every!r}")
    confirm = flag(tt.get("confirm_steps", False), "time.confirm_steps")
    return TimeSettings(dt, end, theta, every, confirm)


def _point(val: Any, where: str, dim: Optional[int]) -> np.ndarray:
    """A point [m]: a list of 2 or 3 numbers (``dim`` of them when the mesh is known)."""
    sizes = (dim,) if dim else (2, 3)
    if not isinstance(val, list) or len(val) not in sizes:
        want = f"{dim}" if dim else "2 or 3"
        raise FemheatInputError(f"{where} must be a list of {want} coordinates in m, "
                                f"got {val!r}")
    return np.array([number(v, f"{where}[{i}]") for i, v in enumerate(val)])


def _probes(out: dict, dim: Optional[int]) -> dict[str, np.ndarray]:
    probes = table(out, "probes", "output.")
    return {name: _point(val, f"output.probes.{name}", dim) for name, val in probes.items()}


def _lines(out: dict, dim: Optional[int]) -> dict[str, LineProfile]:
    lines = {}
    for name, spec in table(out, "lines", "output.").items():
        where = f"output.lines.{name}"
        if not isinstance(spec, dict):
            raise FemheatInputError(
                f"{where} must be a table {{from = [x, y], to = [x, y], points = 50}}, "
                f"got {spec!r}")
        check_keys(spec, {"from", "to", "points"}, where)
        for k in ("from", "to"):
            if k not in spec:
                raise FemheatInputError(f"{where}.{k} is missing (a point [x, y(, z)] in m)")
        start = _point(spec["from"], f"{where}.from", dim)
        end = _point(spec["to"], f"{where}.to", dim or start.size)
        if np.allclose(start, end):
            raise FemheatInputError(f"{where}: from and to are the same point {list(start)}")
        n = integer(spec.get("points", 50), f"{where}.points", minimum=2)
        lines[name] = LineProfile(start, end, n)
    return lines


def parse_output(data: dict, dim: Optional[int], allowed: set | None = None,
                 regions: Any = None) -> OutputSettings:
    """``[output]``: booleans must be TOML booleans; profile an axis of the mesh; probes
    and lines points of the mesh.

    With ``dim`` None (before the mesh is read) only the types are checked; with
    ``regions`` (a :class:`~femheat.mesh.regions.RegionMesh`) every probe and
    every line must lie inside the mesh.
    """
    keys = allowed or {"vtu", "png", "profile", "profile_times", "probes", "lines", "format",
                       "report"}
    out = table(data, "output", "")
    check_keys(out, keys, "output")
    profile = out.get("profile")
    axes = ("x", "y", "z")[:dim or 3]
    if profile is not None and profile not in axes:
        raise FemheatInputError(f"output.profile must be one of {', '.join(axes)}, "
                                f"got {profile!r}")
    times = integer(out.get("profile_times", 6), "output.profile_times", minimum=2)
    probes, lines = _probes(out, dim), _lines(out, dim)
    if regions is not None:
        for name, x in probes.items():
            locate_points(regions.mesh, x[:, None], f"output.probes.{name}")
        for name, line in lines.items():
            locate_points(regions.mesh, line.points(), f"output.lines.{name}")
    fmt = out.get("format", "vtu")
    if fmt not in ("vtu", "xdmf"):
        raise FemheatInputError(
            f"output.format = {fmt!r}; use \"vtu\" (a VTU file per saved step, safe against "
            "kills) or \"xdmf\" (one HDF5 file per run, fast for saving every step)")
    return OutputSettings(flag(out.get("vtu", True), "output.vtu"),
                          flag(out.get("png", True), "output.png"), profile, times,
                          probes, lines, fmt, flag(out.get("report", False), "output.report"))
