"""Case files: a TOML description of a run, validated with key paths in every error.

A case names the mesh, the materials, the boundary and interface conditions, the
model, the time stepping and the outputs. Lengths in metres, temperatures in
kelvin, everything SI. Minimal example::

    title = "bilayer"
    # scale_free = true                     # values of order one, not a material's (a
    #                                       #   benchmark in scaled form): no warnings
    #                                       #   about implausible kappa, C, tau, l, R_K
    [mesh]
    file = "../meshes/layered_2d.msh"      # relative to the case file
    [model]
    type = "fourier"                        # a registered model: "fourier" | "mcv" | "gk" | ...
    degree = 0
    # gk only: beta = 2 (lap q + 2 grad div q) or 0 (lap q); penalty = 1.0;
    # viscous = "auto" (default: "vorticity" in 2D with constant l^2/kappa per material,
    #   l = 0 too, and no free Kapitza interface ending inside a viscous region, 2D and
    #   3D; else "penalty"), "penalty" or "vorticity"
    [materials.layer_1]
    conductivity = 150.0                    # W/(m K), scalar or [[kxx,kxy],[kyx,kyy]]
    heat_capacity = 1.66e6                  # J/(m^3 K)
    relaxation_time = 0.0                   # s
    nonlocal_length = 0.0                   # m (gk only)
    [interfaces.interface_1]
    kapitza_resistance = 1e-9               # m^2 K/W (or kapitza_conductance)
    tangential = "continuous"               # gk only: or "free"
    [boundaries.left]
    temperature = 310.0                     # K (number or expression in x, y, z, t)
    [boundaries.top]
    heat_flux = 0.0                         # outward q.n, W/m^2
    wall = "no_slip"                        # gk (or memory with nonlocal_length):
    #                                       #   "no_slip" | "free_slip" (default)
    # or slip_coefficient = 1.0             # gk only: q_t = -C_s l dq_t/dn
    # or wall_flux = 5e3                    # gk only: q.t = g (2D, t counter-clockwise),
    #                                       #   or [gx, gy, gz]: q_t = tangential part, W/m^2
    # surface_normal = "mesh"               # gk, curved insulated wall: smooth normal from
    #                                       #   the facets (not with no_slip)
    [boundaries.right]
    convection = {heat_transfer_coefficient = 1e4, ambient_temperature = 300.0}
    [source]
    value = "1e12*exp(-((x-1e-6)**2 + (y-1e-6)**2)/1e-14)"   # W/m^3
    [initial]
    temperature = 300.0                     # K, > 0 (required for a transient run)
    [time]                                  # omit for a steady run
    dt = 1e-10
    end = 1e-8
    theta = 0.5
    save_every = 10
    # confirm_steps = true                  # needed for more than 1e6 steps (or --yes)
    [output]
    png = true                              # TOML booleans only: "no" is refused
    profile = "x"                           # optional T(x) line plot
    [output.probes]                         # T(t) at points [m] -> probes.csv
    centre = [1e-6, 1e-6]
    [output.lines]                          # T(s, t) along segments -> line_NAME.csv
    midline = {from = [0.0, 1e-6], to = [2e-6, 1e-6], points = 50}

Absolute temperatures (boundary, ambient, initial) must be > 0 K; values that are
legal but almost surely unit mistakes (κ, C, τ, l, R_K far outside their physical
range) are warned about, naming the key and the ratio
(:mod:`femheat.physics.plausibility`); ``scale_free = true`` turns those warnings off
(the refusals stay) and is recorded in the run's resolved input. Everything that needs
no mesh is checked before the mesh is read or built.

``[mesh]`` may instead name a geometry builder of :mod:`femheat.mesh.geometry`:
``builder = "inclusions_2d"`` with its arguments under ``[mesh.parameters]``.

A ``[homogenization]`` section makes the case an effective-conductivity study of
a representative cell (:mod:`femheat.analysis.homogenization`) instead of a run: no
``[boundaries]``, ``[source]``, ``[initial]`` or ``[time]``; the cell faces are
loaded by unit gradients::

    [homogenization]
    boundary = "periodic"                   # or "mixed" (gk: mixed only)
    matrix = "matrix"                       # material of k_m (ratios, Kapitza radius)
    crossover = true                        # find R where kappa_eff = k_m
    [homogenization.sweep]                  # kappa_eff(R_K) table, CSV + PNG
    resistances = {from = 1e-9, to = 1e-5, points = 9}   # or a list, m^2 K/W
    interfaces = ["inclusion_surface"]      # default: all [interfaces]
    component = [0, 0]
    [homogenization.reference]              # closed form beside the FEM values
    model = "maxwell_garnett"               # Hasselman-Johnson / Nan 1997
    inclusion = "inclusion"
    radius = 2.5e-7                         # m (default: from the builder's parameters)
    [homogenization.fit]                    # inverse problem: R_K from a measured kappa_eff
    measured = 0.25                         # W/(m K)
    sigma = 0.005                           # 1 sigma, W/(m K)
"""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ...errors import FemheatInputError, PlausibilityError
from ...mesh.regions import RegionMesh
from ...physics import plausibility
from .boundaries import mesh_normal_walls, parse_boundaries
from .common import check_keys, table
from .homogenization import HomogenizationSettings, parse_homogenization
from .interfaces import parse_interfaces
from .materials import parse_materials
from .mesh import parse_coordinates, parse_mesh
from .model import parse_model
from .run import (OutputSettings, TimeSettings, parse_initial, parse_output, parse_source,
                  parse_time)

__all__ = ["Case", "TimeSettings", "OutputSettings", "HomogenizationSettings", "load_case",
           "parse_case", "read_case_table"]

_TOP = {"title", "description", "mesh", "model", "materials", "interfaces", "boundaries",
        "source", "initial", "time", "output", "homogenization", "frequency", "fit",
        "scale_free"}


@dataclass
class Case:
    """A validated case: the problem plus run settings.

    ``problem`` is built by the registered model (a
    :class:`~femheat.assembly.problem.HeatProblem` for the mixed models). For a
    ``[homogenization]`` study ``problem`` is None and ``homogenization`` holds
    the cell problem and the analyses to run.
    """

    title: str
    description: str
    path: Optional[Path]
    problem: Any
    initial_temperature: Any = 0.0
    initial_flux: Any = None
    time: Optional[TimeSettings] = None
    output: OutputSettings = field(default_factory=OutputSettings)
    raw: dict = field(default_factory=dict)
    homogenization: Optional[HomogenizationSettings] = None
    frequency: Optional[Any] = None  # FrequencySettings of a [frequency] study
    scale_free: bool = False  # `scale_free = true`: no plausibility warnings

    @property
    def model(self) -> str:
        """Name of the case's registered model."""
        if self.problem is not None:
            return self.problem.model
        return self.homogenization.cell["model"]


def parse_case(data: dict, base: Path = Path("."), path: Optional[Path] = None, *,
               confirm: bool = False, mesh: Optional[RegionMesh] = None) -> Case:
    """Build a :class:`Case` from the parsed TOML table ``data``, section by section.

    The model section is read first, so that the registered model decides which
    ``[model]`` and ``[materials]`` keys are allowed and builds the problem.
    Everything that needs no mesh is validated before the mesh is read or built
    (sections, output options, the plausibility checks of
    :mod:`femheat.physics.plausibility`: temperatures > 0 K, at most 10⁶ steps
    unless confirmed); the checks that need the mesh follow it.

    Parameters
    ----------
    confirm
        Confirms a run of more than 10⁶ time steps (``femheat run --yes``); the
        case can confirm it itself with ``[time] confirm_steps = true``.
    mesh
        The mesh of this case's ``[mesh]`` section, already loaded or built (a
        sweep shares one mesh among the points of one geometry); the caller
        vouches that it is that section's mesh, which is then not read again.
    """
    check_keys(data, _TOP, "case")
    scale_free = data.get("scale_free", False)
    if not isinstance(scale_free, bool):
        raise FemheatInputError(
            f"scale_free = {scale_free!r}: give a TOML boolean, true (the values are of "
            "order one, not a material's: no warnings about implausible conductivity, heat "
            "capacity, relaxation time, nonlocal length or Kapitza resistance) or false")
    quiet = plausibility.warnings_off() if scale_free else contextlib.nullcontext()
    with quiet:
        case = _parse_case(data, base, path, confirm=confirm, mesh=mesh)
    case.scale_free = scale_free
    return case


def _parse_case(data: dict, base: Path, path: Optional[Path], *, confirm: bool,
                mesh: Optional[RegionMesh]) -> Case:
    """:func:`parse_case` after the top-level keys are checked."""
    model, options = parse_model(data)
    coordinates = parse_coordinates(data)
    if coordinates != "cartesian":
        if model.family != "mixed" or "homogenization" in data:
            raise FemheatInputError(
                f"mesh.coordinates = {coordinates!r} is available for the mixed models "
                f"(fourier, mcv, memory) in runs and [frequency] studies; not for model "
                f"{model.name!r}" + (" in a [homogenization] study"
                                      if "homogenization" in data else ""))
        options = {**options, "coordinates": coordinates}
    transient = "time" in data
    materials = parse_materials(data, model, transient=transient)
    interfaces = parse_interfaces(data, base)
    title = str(data.get("title", path.stem if path else "case"))
    description = str(data.get("description", ""))
    if "homogenization" in data:
        if model.family != "mixed":
            raise FemheatInputError(
                f"[homogenization] cell problems use the mixed models (fourier, mcv, gk); "
                f"model.type = {model.name!r} is not one of them")
        clash = sorted({"boundaries", "source", "initial", "time"} & set(data))
        if clash:
            raise FemheatInputError(
                f"[{clash[0]}] is not used by a [homogenization] case: the cell faces are "
                "loaded by unit temperature gradients; remove it (or remove "
                "[homogenization] for an ordinary run)")
        parse_output(data, None, {"vtu", "png"})
        plausibility.check_before_mesh(materials=materials)
        regions = mesh if mesh is not None else parse_mesh(data, base)
        plausibility.check_with_mesh(regions, materials=materials, interfaces=interfaces)
        settings = parse_homogenization(data, regions, materials, interfaces, model.name,
                                        options)
        output = parse_output(data, regions.dim, {"vtu", "png"})
        return Case(title, description, path, None, output=output, raw=data,
                    homogenization=settings)
    frequency = None
    if "frequency" in data:
        from .frequency import parse_frequency

        clash = sorted({"time", "initial"} & set(data))
        if clash:
            raise FemheatInputError(
                f"[{clash[0]}] is not used by a [frequency] study (the time-periodic state "
                "needs no time stepping or initial state); remove it, or remove [frequency] "
                "for a transient run")
        if model.family not in ("mixed", "kernel"):
            raise FemheatInputError(
                f"frequency: model {model.name!r} has no frequency-domain solver; use "
                "fourier, mcv, gk, memory or kernel")
        frequency = parse_frequency(data)
        if frequency.fdtr is not None and coordinates != "axisymmetric":
            raise FemheatInputError(
                "frequency.fdtr: the Gaussian pump and probe act on an axisymmetric sample; "
                "set [mesh] coordinates = \"axisymmetric\" (builder = \"layered_cylinder\")")
    bcs, walls, smooth_walls = parse_boundaries(data)
    if frequency is not None and frequency.fdtr is not None:
        from ...analysis.thermoreflectance import gaussian_pump
        from ...physics.conditions import HeatFlux

        fd = frequency.fdtr
        if fd["surface"] in bcs:
            raise FemheatInputError(
                f"boundaries.{fd['surface']}: its condition is the pump of [frequency.fdtr]; "
                "remove it from [boundaries]")
        bcs = {**bcs, fd["surface"]: HeatFlux(gaussian_pump(fd["pump_power"],
                                                            fd["pump_radius"]))}
    source = parse_source(data)
    time = parse_time(data)
    T0, q0 = parse_initial(data, None)  # the flux's length is checked against the mesh
    if time is not None and "temperature" not in table(data, "initial", ""):
        raise PlausibilityError(
            "initial.temperature is missing: a transient run starts from it, and its "
            "default, 0 K, is not an absolute temperature; give [initial] temperature = "
            "... (K, number or expression of x, y, z)")
    parse_output(data, None)  # types before the mesh; probes inside it after
    # a [frequency] study reads boundary temperatures as amplitudes, not absolute T
    check = dict(boundary_conditions=bcs if frequency is None else {}, materials=materials,
                 initial_temperature=T0 if time is not None else None)
    plausibility.check_before_mesh(
        **check, dt=time.dt if time else None, end=time.end if time else None,
        confirmed=confirm or (time is not None and time.confirm_steps))
    regions = mesh if mesh is not None else parse_mesh(data, base)
    if q0 is not None and q0.size != regions.dim:
        raise FemheatInputError(
            f"initial.flux must have {regions.dim} components, got {list(q0)}")
    output = parse_output(data, regions.dim, regions=regions)
    for name in bcs:  # name the boundary before evaluating expressions on it
        if name not in regions.subdomains:  # a region held at T: the model decides
            regions.boundary(name)
    plausibility.check_with_mesh(regions, interfaces=interfaces, transient=time is not None,
                                 **check)
    walls = mesh_normal_walls(walls, smooth_walls, regions)
    problem = model.build_problem(regions=regions, materials=materials,
                                  boundary_conditions=bcs, interfaces=interfaces,
                                  source=source, walls=walls, options=options, base=base)
    if frequency is not None and frequency.fdtr is not None:  # before any assembly
        from ...analysis.thermoreflectance import check_fdtr_setup

        fd = frequency.fdtr
        check_fdtr_setup(problem.regions, problem.materials, frequency.frequencies,
                         fd["pump_radius"], fd["probe_radius"], fd["surface"],
                         where="frequency.fdtr")
    return Case(title, description, path, problem, T0, q0, time, output, data,
                frequency=frequency)


def read_case_table(path: str | Path) -> dict:
    """The TOML table of the case file ``path`` (UTF-8), not yet validated.

    Raises :class:`~femheat.errors.FemheatInputError` for a missing file, a
    folder, non-UTF-8 text or invalid TOML.
    """
    path = Path(path)
    if not path.exists():
        raise FemheatInputError(f"case file {str(path)!r} does not exist")
    if path.is_dir():
        raise FemheatInputError(
            f"case path {str(path)!r} is a folder; give a case file (.toml) in it, e.g. one "
            "listed by `femheat cases`")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FemheatInputError(
            f"case file {str(path)!r} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start}); TOML files must be UTF-8: re-save it as UTF-8") from None
    except OSError as exc:
        raise FemheatInputError(
            f"cannot read case file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FemheatInputError(f"{path}: invalid TOML: {exc}") from None


def load_case(path: str | Path, *, confirm: bool = False) -> Case:
    """Read and validate a TOML case file (UTF-8).

    ``confirm`` confirms a run of more than 10⁶ time steps (see :func:`parse_case`).
    """
    path = Path(path)
    return parse_case(read_case_table(path), path.parent, path, confirm=confirm)
