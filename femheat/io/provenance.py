"""Provenance of a run: what produced a result folder, recorded in summary.json.

* :func:`provenance`: femheat and Python versions, the direct solver (CHOLMOD or
  SuperLU), the command line, host, pid and start time (the pid and host let
  ``femheat info`` tell a live run from a killed one);
* :func:`resolved_input`: every parameter of the case after defaults, as JSON;
* :func:`input_hash`: a hash of that resolved input and the mesh, which a
  resumed run must match;
* :func:`mesh_hash`: SHA-256 of the mesh's points, cells and region tags;
* :func:`keep_inputs`: copies the case file, and a mesh generated into a
  temporary folder, into the output folder (and removes that temporary folder).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..assembly.viscous_choice import constant_scalar
from ..assembly.vorticity_levels import free_interfaces_open
from ..assembly.vorticity_crossed_walls import (crossed_slip_walls,
                                                crossed_tangential_walls, heat_crosses)
from ..mesh.regions import RegionMesh
from ..registry import get_model

__all__ = ["provenance", "resolved_input", "input_hash", "mesh_hash", "keep_inputs"]


def provenance(command: list[str] | None = None) -> dict:
    from .. import __version__
    from ..solve.factorization import cholmod_mode
    from ..solve.steady import direct_solver

    solver = direct_solver()
    return {"femheat_version": __version__, "python": platform.python_version(),
            "direct_solver": solver,
            "cholmod_mode": cholmod_mode() if solver == "cholmod" else None,
            "command": list(sys.argv if command is None else command),
            "host": socket.gethostname(), "pid": os.getpid(),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def mesh_hash(regions: RegionMesh) -> str:
    """SHA-256 of the points, the cells and the named regions of a mesh."""
    h = hashlib.sha256()
    mesh = regions.mesh
    h.update(np.ascontiguousarray(mesh.p, dtype=float).tobytes())
    h.update(np.ascontiguousarray(mesh.t, dtype=np.int64).tobytes())
    for kind in ("subdomains", "boundaries", "interfaces"):
        for name, idx in sorted(getattr(regions, kind).items()):
            h.update(f"{kind}:{name}".encode())
            h.update(np.ascontiguousarray(idx, dtype=np.int64).tobytes())
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """A JSON-able description of a parameter (callables by their expression)."""
    if callable(value):
        return {"expression": getattr(value, "expression", None) or getattr(
            value, "__name__", "callable")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"kind": type(value).__name__}
        out.update({f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if not f.name.startswith("_")})
        return out
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)  # e.g. a kernel object: its parameters in its repr


def resolved_input(case: Any) -> dict:
    """Every parameter of a case after defaults (materials, conditions, model options,
    time and output settings) as JSON-able data."""
    out: dict = {"title": case.title}
    if getattr(case, "scale_free", False):  # only when set: earlier runs' hashes hold
        out["scale_free"] = True
    problem = case.problem
    if problem is not None:
        fields = {f.name for f in dataclasses.fields(problem)} if dataclasses.is_dataclass(
            problem) else set(vars(problem))
        out["problem"] = {k: _plain(getattr(problem, k)) for k in sorted(fields)
                          if k != "regions"}
        if "viscous" in out["problem"] and hasattr(problem, "viscous_form"):
            # the form used, not "auto": a run's record (and input hash) names the
            # discretization, so it changes only where "auto" changed the form
            out["problem"]["viscous"] = problem.viscous_form
            if (problem.viscous_form == "penalty"
                    and get_model(problem.model).has_viscous_term(problem)):
                # the interior penalty acts on projected jumps since issue 16 (not on
                # the whole tangential jump): a run started before must not resume
                out["problem"]["penalty_jumps"] = "projected"
            if (get_model(problem.model).has_viscous_term(problem)
                    and any(constant_scalar(getattr(m, "nonlocal_length", None)) == 0.0
                            for m in problem.materials.values())):
                # next to materials with l = 0 both forms leave the tangential flux
                # free since 2026-12-06 (an open boundary of the viscous region): a
                # run started before must not resume
                out["problem"]["inviscid_interfaces"] = "open"
            if problem.viscous_form == "vorticity" and free_interfaces_open(problem):
                # the vorticity form's free Kapitza interfaces are open boundaries of
                # each side since 2026-12-06 (were stress-free, ω = 0)
                out["problem"]["free_interfaces"] = "open"
            if (problem.viscous_form == "vorticity" and problem.regions.dim == 3
                    and any(heat_crosses(bc) for bc in problem.boundary_conditions.values())):
                # the 3D vorticity form's boundaries that heat crosses take the gradient
                # energy's conditions since 2026-12-06 (were ω = 0 and T − (1+β)ν∇·q =
                # T_D; no-slip ones gained their edges' curvature term)
                out["problem"]["crossed_boundaries"] = "gradient"
            if problem.viscous_form == "vorticity" and crossed_tangential_walls(problem):
                # tangential-flux walls that heat crosses are held like no-slip ones
                # with their data's boundary-integral load since 2026-12-07
                out["problem"]["crossed_tangential_walls"] = "gradient"
            if problem.viscous_form == "vorticity" and crossed_slip_walls(problem):
                # slip-length walls that heat crosses are open boundaries with the
                # slip's Robin term since 2026-12-07 (were held walls with ω's slip mass)
                out["problem"]["crossed_slip_walls"] = "open"
    if case.homogenization is not None:
        cell = {k: v for k, v in case.homogenization.cell.items() if k != "regions"}
        hom = dataclasses.asdict(dataclasses.replace(case.homogenization, cell={}))
        hom["cell"] = _plain(cell)
        out["homogenization"] = _plain(hom)
    out["initial"] = {"temperature": _plain(case.initial_temperature),
                      "flux": _plain(case.initial_flux)}
    out["time"] = _plain(case.time)
    out["output"] = _plain(case.output)
    return out


def input_hash(case: Any, regions: RegionMesh) -> str:
    """Hash of the resolved input and the mesh: a resumed run must match it."""
    text = json.dumps(resolved_input(case), sort_keys=True, default=str)
    return hashlib.sha256((text + mesh_hash(regions)).encode()).hexdigest()


def keep_inputs(case: Any, regions: RegionMesh, out: Path) -> list[str]:
    """Copy the case file and a generated mesh (builder/pygmsh) into ``out``; a mesh
    generated into femheat's temporary folder is moved, and that folder removed."""
    files = []
    if case.path is not None and Path(case.path).exists():
        shutil.copyfile(case.path, out / "case.toml")
        files.append("case.toml")
    src = regions.metadata.get("path") or regions.metadata.get("source")
    src = Path(src) if isinstance(src, str) else None
    mesh_spec = (case.raw or {}).get("mesh", {})
    generated = isinstance(mesh_spec, dict) and "file" not in mesh_spec
    if generated and src is not None and src.suffix == ".msh" and src.exists():
        shutil.copyfile(src, out / "mesh.msh")
        files.append("mesh.msh")
        sidecar = src.with_name(src.name + ".json")
        if sidecar.exists():
            shutil.copyfile(sidecar, out / "mesh.msh.json")
            files.append("mesh.msh.json")
        tmp = Path(tempfile.gettempdir()).resolve()
        folder = src.resolve().parent
        if folder.parent == tmp and folder.name.startswith("femheat-"):
            shutil.rmtree(folder, ignore_errors=True)
    return files
