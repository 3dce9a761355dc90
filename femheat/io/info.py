"""What ``femheat info``, ``femheat cases`` and ``femheat models`` report.

Each function returns text lines (the CLI prints them) or plain data; none prints.

* :func:`describe_mesh` -- regions with their cell and facet counts, interfaces
  with their two sides, sizes, bounding box and quality of a ``.msh`` file;
* :func:`describe_result` -- the status and the figures of a result folder
  (its ``summary.json``);
* :func:`run_status` -- the truthful status of a summary: a ``"running"``
  summary whose process is gone (killed) is reported as ``"killed"``;
* :func:`list_cases` -- the shipped cases, one line each;
* :func:`list_models` -- the registered models and their ``[model]`` options.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import tomllib
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import FemheatInputError

__all__ = ["run_status", "process_alive", "describe_mesh", "read_summary", "describe_result",
           "find_cases_dir", "list_cases", "list_models"]


# ------------------------------------------------------------------ run status
def process_alive(pid: int) -> bool:
    """True if a process with this id exists on this host (signal 0 probe)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


def run_status(summary: dict) -> str:
    """The status of the run that wrote ``summary`` (a parsed summary.json).

    ``summary["status"]`` as written (``"completed"``, ``"failed"``,
    ``"interrupted"``, ...), except that ``"running"`` becomes ``"killed"`` when the
    recorded process (``summary["pid"]``) no longer lives on this host
    (``summary["host"]``, compared with :func:`socket.gethostname`). A summary
    without a pid, or written on another host, keeps ``"running"`` (it cannot
    be checked from here).
    """
    status = str(summary.get("status", "unknown"))
    if status != "running":
        return status
    pid = summary.get("pid")
    host = summary.get("host")
    if pid is None or (host is not None and host != socket.gethostname()):
        return status
    return "running" if process_alive(pid) else "killed"


# ----------------------------------------------------------------------- mesh
def _fmt(x: float) -> str:
    return f"{x:.4g}"


def describe_mesh(path: str | Path) -> list[str]:
    """Lines describing the gmsh mesh ``path``: regions (cells/facets), interfaces
    (facets, side A -> side B), sizes h_min/h_max [m], bounding box [m] and quality."""
    from ..mesh.quality import acceptable, mesh_quality
    from ..mesh.regions import load_mesh

    regions = load_mesh(path)
    mesh = regions.mesh
    d = regions.dim
    edges = mesh.edges if d == 3 else mesh.facets
    lengths = np.linalg.norm(mesh.p[:, edges[0]] - mesh.p[:, edges[1]], axis=0)
    lo, hi = mesh.p.min(axis=1), mesh.p.max(axis=1)
    cell = "triangles" if d == 2 else "tetrahedra"
    facet = "edges" if d == 2 else "triangles"
    lines = [f"{path}: {d}D, {mesh.t.shape[1]} {cell}, {mesh.p.shape[1]} vertices, "
             f"{mesh.facets.shape[1]} facets"]
    lines.append("subdomains (materials):")
    for name, cells in regions.subdomains.items():
        lines.append(f"  {name:20s} {cells.size:8d} {cell}")
    lines.append("boundaries:")
    for name, facets in regions.boundaries.items():
        lines.append(f"  {name:20s} {facets.size:8d} {facet}")
    unnamed = regions.unassigned_boundary_facets().size
    if unnamed:
        lines.append(f"  (unnamed)            {unnamed:8d} {facet}: give them a physical group")
    lines.append("interfaces:" if regions.interfaces else "interfaces: none")
    for name in regions.interfaces:
        _, (a, b) = regions.interface_orientation(name)
        lines.append(f"  {name:20s} {regions.interfaces[name].size:8d} {facet}, "
                     f"between {a} (side A) and {b} (side B)")
    lines.append(f"sizes: h_min {_fmt(lengths.min())} m, h_max {_fmt(lengths.max())} m "
                 "(edge lengths)")
    lines.append("bounding box: " + " x ".join(f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(lo, hi))
                 + " m")
    q = mesh_quality(regions)
    angle = "min angle" if d == 2 else "min dihedral angle"
    lines.append(f"quality: {angle} {q.min_angle_deg:.2f} deg, aspect ratio max "
                 f"{q.max_aspect_ratio:.3g} (mean {q.mean_aspect_ratio:.3g}), cell "
                 f"{'area' if d == 2 else 'volume'} {q.min_cell_measure:.3g} .. "
                 f"{q.max_cell_measure:.3g} m^{d}"
                 + ("" if acceptable(q) else "  POOR: remesh (see femheat.mesh.quality)"))
    return lines


# --------------------------------------------------------------------- result
def read_summary(folder: str | Path) -> dict:
    """The parsed ``summary.json`` of a result folder (errors name the file)."""
    path = Path(folder) / "summary.json"
    if not path.exists():
        raise FemheatInputError(
            f"{str(folder)!r} holds no summary.json: not a femheat result folder (give the "
            "folder a `femheat run` wrote, or a .msh file)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FemheatInputError(f"{path} is not valid JSON ({exc}); the run that wrote it "
                                "was probably killed while writing it") from None


def describe_result(folder: str | Path) -> list[str]:
    """Lines describing the run whose results are in ``folder``: status (with
    :func:`run_status`), model, DOFs, wall times, energy balance, heat flows."""
    s = read_summary(folder)
    status = run_status(s)
    lines = [f"{s.get('title', folder)} ({folder})"]
    line = f"  status: {status}"
    if status == "killed":
        line += (f" (summary.json says running, but process {s.get('pid')} on "
                 f"{s.get('host', 'this host')} is gone)")
    lines.append(line)
    for key in ("error", "message"):
        if s.get(key):
            lines.append(f"  {key}: {s[key]}")
    if "reached_time" in s:
        lines.append(f"  reached t = {s['reached_time']:.6g} s")
    model = s.get("model")
    if model:
        degree = f" (degree {s['degree']})" if s.get("degree") is not None else ""
        lines.append(f"  model: {model}{degree}, analysis: {s.get('analysis', '?')}")
    dofs = s.get("dofs")
    if isinstance(dofs, dict) and dofs:
        parts = ", ".join(f"{k} {v}" for k, v in dofs.items() if k != "total")
        lines.append(f"  DOFs: {dofs.get('total', '?')}" + (f" ({parts})" if parts else ""))
    mesh = s.get("mesh")
    if isinstance(mesh, dict) and "cells" in mesh:
        lines.append(f"  mesh: {mesh.get('dimension', '?')}D, {mesh['cells']} cells"
                     + (f", {mesh['source']}" if mesh.get("source") else ""))
    t = s.get("time")
    if isinstance(t, dict):
        lines.append(f"  time: dt {t.get('dt')} s to {t.get('end')} s, "
                     f"{t.get('steps')} steps, {t.get('saved')} saved")
    wall = s.get("wall_time")
    if isinstance(wall, dict) and wall:
        parts = ", ".join(f"{k.removesuffix('_s')} {v:.3g} s" for k, v in wall.items()
                          if k != "total_s" and isinstance(v, (int, float)))
        total = wall.get("total_s")
        lines.append("  wall time: " + (f"{total:.3g} s" if total is not None else "?")
                     + (f" ({parts})" if parts else ""))
    if s.get("energy_balance_relative_error") is not None:
        lines.append(f"  energy balance relative error: "
                     f"{s['energy_balance_relative_error']:.2e}")
    unit = "W/m" if isinstance(mesh, dict) and mesh.get("dimension") == 2 else "W"
    for name, value in (s.get("heat_flow") or {}).items():
        lines.append(f"  heat flow out of {name}: {value: .6e} {unit}")
    for name, rep in (s.get("interfaces") or {}).items():
        if isinstance(rep, dict) and "heat_flow" in rep:
            sides = " -> ".join(rep.get("sides", []))
            lines.append(f"  interface {name} ({sides}): heat flow {rep['heat_flow']:.6e}, "
                         f"mean |T_A - T_B| {rep.get('mean_abs_jump', float('nan')):.4e} K")
    h = s.get("homogenization")
    if isinstance(h, dict) and "principal_conductivities" in h:
        lines.append("  kappa_eff principal values: "
                     + ", ".join(f"{v:.6e}" for v in h["principal_conductivities"])
                     + " W/(m K)")
    files = s.get("files")
    if files:
        lines.append(f"  files: {len(files)} ({', '.join(files[:6])}"
                     + (", ..." if len(files) > 6 else "") + ")")
    return lines


# ---------------------------------------------------------------------- cases
def find_cases_dir(start: Optional[str | Path] = None) -> Optional[Path]:
    """The shipped ``cases/`` folder: beside the package (a source checkout or an
    editable install), else ``cases/`` in the current folder; None if neither."""
    candidates = [Path(start)] if start else []
    candidates += [Path(__file__).resolve().parents[2] / "cases", Path.cwd() / "cases"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def _toml_line(path: Path) -> tuple[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        return "(unreadable)", f"cannot read: {exc}"
    model = data.get("model", {}).get("type", "mcv") if isinstance(data.get("model"), dict) \
        else "?"
    kind = "homogenization" if "homogenization" in data else \
        "transient" if "time" in data else "steady"
    return f"{model}, {kind}", str(data.get("title", path.stem))


def _script_line(path: Path) -> tuple[str, str]:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (SyntaxError, UnicodeDecodeError, OSError) as exc:
        return "script", f"cannot read: {exc}"
    return "script", (doc.strip().splitlines() or [""])[0]


def list_cases(folder: Optional[str | Path] = None) -> list[tuple[str, str, str]]:
    """(file name, kind, title) of every case in ``folder`` (default
    :func:`find_cases_dir`): TOML cases with their model and analysis, Python
    case scripts (``kind = "script"``) with their docstring's first line."""
    root = Path(folder) if folder else find_cases_dir()
    if root is None or not root.is_dir():
        raise FemheatInputError(
            f"no cases folder found{f' at {str(folder)!r}' if folder else ''}: run from the "
            "femheat source tree or give the folder (femheat cases PATH)")
    out = []
    for path in sorted(root.iterdir()):
        if path.suffix == ".toml":
            out.append((path.name, *_toml_line(path)))
        elif path.suffix == ".py" and not path.name.startswith("_"):
            out.append((path.name, *_script_line(path)))
    return out


# --------------------------------------------------------------------- models
def list_models() -> list[str]:
    """One line per registered model (name: description), then its ``[model]``
    options, indented."""
    from ..registry import MODELS

    lines = []
    for name, model in MODELS.items():
        lines.append(f"{name:8s} {model.description}")
        for key, meaning in dict(model.options).items():
            lines.append(f"           [model] {key}: {meaning}")
    return lines
