"""``[source]``, ``[initial]``, ``[time]`` and ``[output]``: what drives a run and
what it writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ...errors import FemheatInputError
from ...physics.expressions import compile_expression
from .common import check_keys, flag, integer, number, table, value

__all__ = ["TimeSettings", "OutputSettings", "parse_source", "parse_initial", "parse_time",
           "parse_output"]


@dataclass
class TimeSettings:
    """Transient settings: Δt [s], end time [s], θ, and how often to save."""

    dt: float
    end: float
    theta: float = 0.5
    save_every: int = 1


@dataclass
class OutputSettings:
    vtu: bool = True
    png: bool = True
    profile: Optional[str] = None  # "x", "y" or "z": 1D line plot along that axis
    profile_times: int = 6
    format: str = "vtu"  # "vtu" (one file per saved step, kill-safe) or "xdmf" (HDF5)


def parse_source(data: dict):
    """Q [W/m^3]: number or expression of x, y, z, t; None if absent."""
    src = table(data, "source", "")
    check_keys(src, {"value"}, "source")
    return value(src["value"], "source.value") if "value" in src else None


def parse_initial(data: dict, dim: int) -> tuple[Any, Any]:
    """(T0, q0): T0 a number or f(x); q0 None or a vector of ``dim`` numbers."""
    init = table(data, "initial", "")
    check_keys(init, {"temperature", "flux"}, "initial")
    T0 = init.get("temperature", 0.0)
    if isinstance(T0, str):
        f = compile_expression(T0, "initial.temperature")
        T0 = lambda x, f=f: f(x, 0.0)  # noqa: E731
    else:
        T0 = number(T0, "initial.temperature")
    q0 = init.get("flux")
    if isinstance(q0, list):
        if len(q0) != dim:
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
    check_keys(tt, {"dt", "end", "theta", "save_every"}, "time")
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
    return TimeSettings(dt, end, theta, every)


def parse_output(data: dict, dim: int, allowed: set | None = None) -> OutputSettings:
    """``[output]``: booleans must be TOML booleans; profile an axis of the mesh."""
    keys = allowed or {"vtu", "png", "profile", "profile_times", "format"}
    out = table(data, "output", "")
    check_keys(out, keys, "output")
    profile = out.get("profile")
    axes = ("x", "y", "z")[:dim]
    if profile is not None and profile not in axes:
        raise FemheatInputError(f"output.profile must be one of {', '.join(axes)}, "
                                f"got {profile!r}")
    times = integer(out.get("profile_times", 6), "output.profile_times", minimum=2)
    fmt = out.get("format", "vtu")
    if fmt not in ("vtu", "xdmf"):
        raise FemheatInputError(
            f"output.format = {fmt!r}; use \"vtu\" (a VTU file per saved step, safe against "
            "kills) or \"xdmf\" (one HDF5 file per run, fast for saving every step)")
    return OutputSettings(flag(out.get("vtu", True), "output.vtu"),
                          flag(out.get("png", True), "output.png"), profile, times, fmt)
