"""Case files: a TOML description of a run, validated with key paths in every error.

A case names the mesh, the materials, the boundary and interface conditions, the
model, the time stepping and the outputs. Lengths in metres, temperatures in
kelvin, everything SI. Minimal example::

    title = "bilayer"
    [mesh]
    file = "../meshes/layered_2d.msh"      # relative to the case file
    [model]
    type = "fourier"                        # "fourier" | "mcv" | "gk"
    degree = 0
    # gk only: beta = 2 (lap q + 2 grad div q) or 0 (lap q); penalty = 1.0
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
    wall = "no_slip"                        # gk only: "no_slip" | "free_slip" (default)
    # or slip_coefficient = 1.0             # gk only: q_t = -C_s l dq_t/dn
    [boundaries.right]
    convection = {heat_transfer_coefficient = 1e4, ambient_temperature = 300.0}
    [source]
    value = "1e12*exp(-((x-1e-6)**2 + (y-1e-6)**2)/1e-14)"   # W/m^3
    [initial]
    temperature = 300.0
    [time]                                  # omit for a steady run
    dt = 1e-10
    end = 1e-8
    theta = 0.5
    save_every = 10
    [output]
    png = true
    profile = "x"                           # optional T(x) line plot

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

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..physics.conditions import (Convection, FreeSlip, HeatFlux, NoSlip,
                         SlipLength, Temperature)
from ..errors import FemheatInputError
from ..physics.expressions import compile_expression
from .interfaces_section import _kapitza
from ..physics.materials import Material
from ..mesh.regions import RegionMesh, load_mesh
from ..assembly.system import MODELS, HeatProblem

__all__ = ["Case", "TimeSettings", "OutputSettings", "HomogenizationSettings", "load_case",
           "parse_case"]

_TOP = {"title", "description", "mesh", "model", "materials", "interfaces", "boundaries",
        "source", "initial", "time", "output", "homogenization"}


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


@dataclass
class HomogenizationSettings:
    """A ``[homogenization]`` study: the cell problem options and what to compute.

    ``cell`` holds the :class:`~femheat.analysis.homogenization.CellProblem` arguments
    (regions, materials, interfaces, model, degree, boundary, ...).
    """

    cell: dict
    matrix: Optional[str] = None
    crossover: bool = False
    sweep_resistances: Optional[np.ndarray] = None
    sweep_interfaces: Optional[list] = None
    component: tuple = (0, 0)
    reference: Optional[dict] = None
    fit_measured: Optional[float] = None
    fit_sigma: Optional[float] = None


@dataclass
class Case:
    """A validated case: the problem plus run settings.

    For a ``[homogenization]`` study ``problem`` is None and ``homogenization``
    holds the cell problem and the analyses to run.
    """

    title: str
    description: str
    path: Optional[Path]
    problem: Optional[HeatProblem]
    initial_temperature: Any = 0.0
    initial_flux: Any = None
    time: Optional[TimeSettings] = None
    output: OutputSettings = field(default_factory=OutputSettings)
    raw: dict = field(default_factory=dict)
    homogenization: Optional[HomogenizationSettings] = None


def _check_keys(table: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise FemheatInputError(
            f"{where}: unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")


def _table(data: dict, key: str, where: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise FemheatInputError(f"{where}{key} must be a table, got {value!r}")
    return value


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FemheatInputError(f"{where} must be a number, got {value!r}")
    return float(value)


def _value(value, where: str):
    """Number or expression string -> constant or f(x, t)."""
    if isinstance(value, str):
        return compile_expression(value, where)
    return _number(value, where)


def _coefficient(value, where: str):
    """Material coefficient: number, tensor (nested list) or expression of x."""
    if isinstance(value, str):
        f = compile_expression(value, where)
        return lambda x: f(x, 0.0)
    if isinstance(value, list):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise FemheatInputError(f"{where} must be a numeric tensor, got {value!r}") from None
        return arr
    return _number(value, where)


def _landau(spec: dict, where: str, name: str) -> Material:
    """materials.NAME.landau = {a, b, Gamma, lambda, zeta} (seed 000): κ = ζ/a, τ = Γ/a,
    l² = λ/a, quartic b/a."""
    clash = sorted({"conductivity", "relaxation_time", "nonlocal_length"} & set(spec))
    if clash:
        raise FemheatInputError(
            f"{where}: give either landau or {clash} (landau defines kappa, tau and l)")
    table = spec["landau"]
    if not isinstance(table, dict):
        raise FemheatInputError(f"{where}.landau must be a table {{a, b, Gamma, lambda, zeta}}")
    keys = {"a", "b", "Gamma", "lambda", "zeta"}
    _check_keys(table, keys, f"{where}.landau")
    missing = sorted(keys - set(table))
    if missing:
        raise FemheatInputError(f"{where}.landau: missing {missing}")
    v = {k: _number(table[k], f"{where}.landau.{k}") for k in keys}
    return Material.from_landau(v["a"], v["b"], v["Gamma"], v["lambda"], v["zeta"],
                                _coefficient(spec.get("heat_capacity", 1.0),
                                             f"{where}.heat_capacity"), name)


def _wall(spec: dict, where: str):
    """GK wall condition of a boundary table: wall = "no_slip"|"free_slip" or slip_coefficient."""
    if "wall" in spec and "slip_coefficient" in spec:
        raise FemheatInputError(f"{where}: give wall or slip_coefficient, not both")
    if "slip_coefficient" in spec:
        c = _number(spec["slip_coefficient"], f"{where}.slip_coefficient")
        if not c > 0:
            raise FemheatInputError(
                f"{where}.slip_coefficient must be > 0, got {c}; use wall = \"no_slip\" for 0")
        return SlipLength(c)
    wall = spec.get("wall")
    if wall is None:
        return None
    table = {"no_slip": NoSlip(), "free_slip": FreeSlip()}
    if wall not in table:
        raise FemheatInputError(
            f"{where}.wall = {wall!r}; use \"no_slip\" or \"free_slip\" (or "
            "slip_coefficient = C_s for a slip length C_s*l)")
    return table[wall]


def _mesh(data: dict, base: Path) -> RegionMesh:
    m = _table(data, "mesh", "")
    _check_keys(m, {"file", "builder", "parameters"}, "mesh")
    if "file" in m and "builder" in m:
        raise FemheatInputError("mesh: give either file or builder, not both")
    if "file" in m:
        path = (base / m["file"]).resolve()
        return load_mesh(path)
    if "builder" in m:
        from ..mesh.geometry import build  # gmsh is needed only here

        params = dict(_table(m, "parameters", "mesh."))
        out = params.pop("path", None)
        import tempfile

        target = Path(out) if out else Path(tempfile.mkdtemp(prefix="femheat-")) / "mesh.msh"
        return build(m["builder"], path=target, **params)
    raise FemheatInputError("mesh: give file = \"...msh\" or builder = \"...\"")


def parse_case(data: dict, base: Path = Path("."), path: Optional[Path] = None) -> Case:
    """Build a :class:`Case` from the parsed TOML table ``data``."""
    _check_keys(data, _TOP, "case")
    regions = _mesh(data, base)

    model = _table(data, "model", "")
    _check_keys(model, {"type", "degree", "beta", "penalty"}, "model")
    mtype = model.get("type", "mcv")
    if mtype not in MODELS:
        raise FemheatInputError(f"model.type = {mtype!r} is unknown; choose one of {MODELS}")
    degree = model.get("degree", 0)
    if not isinstance(degree, int) or isinstance(degree, bool):
        raise FemheatInputError(f"model.degree must be an integer, got {degree!r}")

    materials = {}
    for name, spec in _table(data, "materials", "").items():
        where = f"materials.{name}"
        if not isinstance(spec, dict):
            raise FemheatInputError(f"{where} must be a table")
        _check_keys(spec, {"conductivity", "heat_capacity", "relaxation_time",
                           "nonlocal_length", "landau"}, where)
        if "landau" in spec:
            materials[name] = _landau(spec, where, name)
            continue
        if "conductivity" not in spec:
            raise FemheatInputError(f"{where}.conductivity is missing (W/(m K))")
        materials[name] = Material(
            _coefficient(spec["conductivity"], f"{where}.conductivity"),
            _coefficient(spec.get("heat_capacity", 1.0), f"{where}.heat_capacity"),
            _coefficient(spec.get("relaxation_time", 0.0), f"{where}.relaxation_time"),
            name=name,
            nonlocal_length=_coefficient(spec.get("nonlocal_length", 0.0),
                                         f"{where}.nonlocal_length"))
        if mtype == "gk" and "nonlocal_length" not in spec:
            raise FemheatInputError(
                f"{where}.nonlocal_length is missing; the gk model needs l (m), "
                "0 for a region without hydrodynamic effects")
        if mtype in ("mcv", "gk") and data.get("time") and "relaxation_time" not in spec:
            raise FemheatInputError(
                f"{where}.relaxation_time is missing; the MCV model needs tau (s), "
                "or use model.type = \"fourier\"")

    interfaces = {name: _kapitza(spec, f"interfaces.{name}", base)
                  for name, spec in _table(data, "interfaces", "").items()}

    if "homogenization" in data:
        clash = sorted({"boundaries", "source", "initial", "time"} & set(data))
        if clash:
            raise FemheatInputError(
                f"[{clash[0]}] is not used by a [homogenization] case: the cell faces are "
                "loaded by unit temperature gradients; remove it (or remove "
                "[homogenization] for an ordinary run)")
        settings = _homogenization(data, regions, materials, interfaces, mtype, degree, model)
        out = _table(data, "output", "")
        _check_keys(out, {"vtu", "png"}, "output")
        output = OutputSettings(bool(out.get("vtu", True)), bool(out.get("png", True)))
        return Case(str(data.get("title", path.stem if path else "case")),
                    str(data.get("description", "")), path, None, output=output, raw=data,
                    homogenization=settings)

    bcs, walls = {}, {}
    kinds = {"temperature", "heat_flux", "convection"}
    for name, spec in _table(data, "boundaries", "").items():
        where = f"boundaries.{name}"
        if not isinstance(spec, dict):
            raise FemheatInputError(f"{where} must be a table")
        _check_keys(spec, kinds | {"wall", "slip_coefficient"}, where)
        wall = _wall(spec, where)
        if wall is not None:
            walls[name] = wall
        spec = {k: v for k, v in spec.items() if k in kinds}
        if len(spec) != 1:
            raise FemheatInputError(
                f"{where}: give exactly one of temperature (K), heat_flux (W/m^2, "
                "outward; 0 = insulated) or convection")
        (kind, value), = spec.items()
        if kind == "temperature":
            bcs[name] = Temperature(_value(value, f"{where}.temperature"))
        elif kind == "heat_flux":
            bcs[name] = HeatFlux(_value(value, f"{where}.heat_flux"))
        else:
            w = f"{where}.convection"
            if not isinstance(value, dict):
                raise FemheatInputError(f"{w} must be a table with heat_transfer_coefficient "
                                        "and ambient_temperature")
            _check_keys(value, {"heat_transfer_coefficient", "ambient_temperature"}, w)
            for k in ("heat_transfer_coefficient", "ambient_temperature"):
                if k not in value:
                    raise FemheatInputError(f"{w}.{k} is missing")
            h = _number(value["heat_transfer_coefficient"], f"{w}.heat_transfer_coefficient")
            if not h > 0:
                raise FemheatInputError(f"{w}.heat_transfer_coefficient must be > 0 "
                                        f"W/(m^2 K), got {h}; use heat_flux = 0 for insulated")
            bcs[name] = Convection(h, _value(value["ambient_temperature"],
                                             f"{w}.ambient_temperature"))

    src = _table(data, "source", "")
    _check_keys(src, {"value"}, "source")
    source = _value(src["value"], "source.value") if "value" in src else None

    init = _table(data, "initial", "")
    _check_keys(init, {"temperature", "flux"}, "initial")
    T0 = init.get("temperature", 0.0)
    if isinstance(T0, str):
        f = compile_expression(T0, "initial.temperature")
        T0 = lambda x, f=f: f(x, 0.0)  # noqa: E731
    else:
        T0 = _number(T0, "initial.temperature")
    q0 = init.get("flux")
    if isinstance(q0, list):
        if len(q0) != regions.dim:
            raise FemheatInputError(
                f"initial.flux must have {regions.dim} components, got {q0!r}")
        q0 = np.array([_number(v, f"initial.flux[{i}]") for i, v in enumerate(q0)])
    elif q0 is not None:
        raise FemheatInputError(f"initial.flux must be a list of numbers, got {q0!r}")

    time = None
    if "time" in data:
        tt = _table(data, "time", "")
        _check_keys(tt, {"dt", "end", "theta", "save_every"}, "time")
        for k in ("dt", "end"):
            if k not in tt:
                raise FemheatInputError(f"time.{k} is missing (s)")
        dt = _number(tt["dt"], "time.dt")
        if not dt > 0:
            raise FemheatInputError(f"time.dt must be > 0 s, got {dt}")
        end = _number(tt["end"], "time.end")
        if not end > 0:
            raise FemheatInputError(f"time.end must be > 0 s, got {end}")
        theta = _number(tt.get("theta", 0.5), "time.theta")
        if not 0.5 <= theta <= 1:
            raise FemheatInputError(
                f"time.theta must be in [0.5, 1] (0.5 Crank-Nicolson, 1 backward Euler; "
                f"smaller values are only conditionally stable), got {theta}")
        every = tt.get("save_every", 1)
        if not isinstance(every, int) or every < 1:
            raise FemheatInputError(f"time.save_every must be an integer >= 1, got {every!r}")
        time = TimeSettings(dt, end, theta, every)

    out = _table(data, "output", "")
    _check_keys(out, {"vtu", "png", "profile", "profile_times"}, "output")
    profile = out.get("profile")
    if profile is not None and profile not in ("x", "y", "z")[: regions.dim]:
        raise FemheatInputError(f"output.profile must be one of x, y{', z' if regions.dim == 3 else ''}, got {profile!r}")
    output = OutputSettings(bool(out.get("vtu", True)), bool(out.get("png", True)), profile,
                            int(out.get("profile_times", 6)))

    beta = model.get("beta", 2)
    if mtype != "gk" and "beta" in model:
        raise FemheatInputError(f"model.beta is a gk parameter; model.type is {mtype!r}")
    penalty = model.get("penalty", 1.0)
    if isinstance(penalty, bool) or not isinstance(penalty, (int, float)):
        raise FemheatInputError(f"model.penalty must be a number, got {penalty!r}")
    problem = HeatProblem(regions, materials, bcs, interfaces, source, mtype, degree,
                          beta=beta, walls=walls, penalty=float(penalty))
    return Case(str(data.get("title", path.stem if path else "case")),
                str(data.get("description", "")), path, problem, T0, q0, time, output, data)


def _resistance_list(value, where: str) -> np.ndarray:
    if isinstance(value, dict):
        _check_keys(value, {"from", "to", "points"}, where)
        for k in ("from", "to", "points"):
            if k not in value:
                raise FemheatInputError(f"{where}.{k} is missing")
        lo, hi = _number(value["from"], f"{where}.from"), _number(value["to"], f"{where}.to")
        n = value["points"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 2:
            raise FemheatInputError(f"{where}.points must be an integer >= 2, got {n!r}")
        if not 0 < lo < hi:
            raise FemheatInputError(
                f"{where}: need 0 < from < to (m^2 K/W, log-spaced), got {lo} and {hi}")
        return np.logspace(np.log10(lo), np.log10(hi), n)
    if not isinstance(value, list) or not value:
        raise FemheatInputError(
            f"{where} must be a list of resistances (m^2 K/W) or "
            "{from = ..., to = ..., points = ...}")
    out = np.array([_number(v, f"{where}[{i}]") for i, v in enumerate(value)])
    if np.any(out < 0):
        raise FemheatInputError(f"{where} must hold resistances >= 0 m^2 K/W")
    return out


def _homogenization(data: dict, regions: RegionMesh, materials: dict, interfaces: dict,
                    mtype: str, degree: int, model: dict) -> HomogenizationSettings:
    """Parse ``[homogenization]`` (see the module docstring)."""
    from ..analysis.homogenization import CELL_BOUNDARY_CONDITIONS

    h = _table(data, "homogenization", "")
    _check_keys(h, {"boundary", "axes", "matrix", "crossover", "sweep", "reference", "fit"},
                "homogenization")
    boundary = h.get("boundary", "periodic")
    if boundary not in CELL_BOUNDARY_CONDITIONS:
        raise FemheatInputError(
            f"homogenization.boundary = {boundary!r}; use one of {CELL_BOUNDARY_CONDITIONS}")
    axes = h.get("axes")
    if axes is not None and (not isinstance(axes, list) or not all(
            isinstance(a, int) and 0 <= a < regions.dim for a in axes)):
        raise FemheatInputError(
            f"homogenization.axes = {axes!r}; give a list of axes among "
            f"{list(range(regions.dim))}")
    matrix = h.get("matrix")
    if matrix is not None and matrix not in materials:
        raise FemheatInputError(
            f"homogenization.matrix = {matrix!r} is not a material of the case; the "
            f"materials are {sorted(materials)}")
    penalty = _number(model.get("penalty", 1.0), "model.penalty")
    cell = dict(regions=regions, materials=materials, interfaces=interfaces, model=mtype,
                degree=degree, boundary=boundary, beta=model.get("beta", 2),
                penalty=penalty, axes=axes)
    settings = HomogenizationSettings(cell, matrix, bool(h.get("crossover", False)))
    if settings.crossover and matrix is None:
        raise FemheatInputError("homogenization.crossover needs homogenization.matrix "
                                "(the material whose conductivity is k_m)")
    sweep = _table(h, "sweep", "homogenization.")
    _check_keys(sweep, {"resistances", "interfaces", "component"}, "homogenization.sweep")
    if sweep:
        if "resistances" not in sweep:
            raise FemheatInputError("homogenization.sweep.resistances is missing (m^2 K/W)")
        settings.sweep_resistances = _resistance_list(sweep["resistances"],
                                                      "homogenization.sweep.resistances")
    names = sweep.get("interfaces")
    if names is not None:
        if not isinstance(names, list) or any(n not in interfaces for n in names):
            raise FemheatInputError(
                f"homogenization.sweep.interfaces = {names!r}: each must be one of the "
                f"case's [interfaces] {sorted(interfaces)}")
    settings.sweep_interfaces = names
    comp = sweep.get("component", [0, 0])
    if (not isinstance(comp, list) or len(comp) != 2
            or not all(isinstance(c, int) and 0 <= c < regions.dim for c in comp)):
        raise FemheatInputError(
            f"homogenization.sweep.component = {comp!r}; give [i, j] with 0 <= i, j < "
            f"{regions.dim}")
    settings.component = tuple(comp)
    if (settings.sweep_resistances is not None or settings.crossover or "fit" in h) \
            and not interfaces:
        raise FemheatInputError(
            "homogenization sweep/crossover/fit vary Kapitza resistances, but the case has "
            "no [interfaces.NAME] table; add one (kapitza_resistance = 0 is allowed)")
    ref = _table(h, "reference", "homogenization.")
    if ref:
        _check_keys(ref, {"model", "inclusion", "radius", "volume_fraction"},
                    "homogenization.reference")
        if ref.get("model") != "maxwell_garnett":
            raise FemheatInputError(
                f"homogenization.reference.model = {ref.get('model')!r}; the available "
                "closed form is \"maxwell_garnett\" (= Hasselman-Johnson / Nan 1997)")
        if matrix is None:
            raise FemheatInputError("homogenization.reference needs homogenization.matrix")
        inc = ref.get("inclusion", "inclusion")
        if inc not in materials:
            raise FemheatInputError(
                f"homogenization.reference.inclusion = {inc!r} is not a material; the "
                f"materials are {sorted(materials)}")
        radius = ref.get("radius")
        if radius is None:
            radius = _builder_radius(regions)
        settings.reference = {
            "inclusion": inc,
            "radius": _number(radius, "homogenization.reference.radius"),
            "volume_fraction": (None if "volume_fraction" not in ref else _number(
                ref["volume_fraction"], "homogenization.reference.volume_fraction")),
        }
    fit = _table(h, "fit", "homogenization.")
    if fit:
        _check_keys(fit, {"measured", "sigma"}, "homogenization.fit")
        if "measured" not in fit:
            raise FemheatInputError("homogenization.fit.measured is missing (W/(m K))")
        settings.fit_measured = _number(fit["measured"], "homogenization.fit.measured")
        if "sigma" in fit:
            settings.fit_sigma = _number(fit["sigma"], "homogenization.fit.sigma")
    return settings


def _builder_radius(regions: RegionMesh) -> float:
    """Inclusion radius from the geometry builder's recorded parameters."""
    params = regions.metadata.get("parameters", {})
    derived = regions.metadata.get("derived", {})
    for key in ("radius", "radii"):
        if key in params:
            r = np.atleast_1d(params[key]).astype(float)
            if np.allclose(r, r[0]):
                return float(r[0])
    axes = derived.get("semi_axes") if isinstance(derived, dict) else None
    if axes is not None:
        a = np.asarray(axes, dtype=float)
        if np.allclose(a, a.flat[0]):
            return float(a.flat[0])
    raise FemheatInputError(
        "homogenization.reference.radius is missing and the mesh records no single "
        "inclusion radius; give radius = ... (m)")


def load_case(path: str | Path) -> Case:
    """Read and validate a TOML case file."""
    path = Path(path)
    if not path.exists():
        raise FemheatInputError(f"case file {str(path)!r} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise FemheatInputError(f"{path}: invalid TOML: {exc}") from None
    return parse_case(data, path.parent, path)
