r"""Nonlocal kernel conduction (seed 004 eq. 35) as a registered model, ``type = "kernel"``.

Constitutive law (two-phase form, Eringen-type), on P1 temperatures:

.. math::
    \mathbf q(\mathbf r) = -\xi\,\kappa\nabla T(\mathbf r)
        - (1-\xi)\int_V Z(\mathbf r,\mathbf R)\,\nabla T(\mathbf R)\,dR,
    \qquad Z = \kappa^{1/2}\,g(|\mathbf r-\mathbf R|)\,\kappa^{1/2},

optionally with MCV memory τ ∂q/∂t + q = q[T] (transient runs). The numerics are
:mod:`femheat.kernels` (operator, solvers); the route through the pipeline is
:mod:`femheat.kernels.pipeline`; the fields are written by
:class:`femheat.io.kernel_writer.KernelSeriesWriter`.

Case file::

    [model]
    type = "kernel"
    kernel = {family = "gaussian", length = 1.414e-7}   # m; normalized in the mesh dimension
    # family = "yukawa" (length l; = steady GK with beta = 0), "power_law" (length c,
    # exponent p > d), "tabulated" (file = "g.csv": columns r [m], g(r) [any unit,
    # normalized]; relative to the case file; optional length rescales the table so
    # that sqrt(second moment) = length; allow_negative = true for a sign-changing g,
    # refused if xi + (1 - xi) g^(k) < 0 somewhere), "gray_bte" (length = mean free
    # path; closure = "energy" | "kinetic", BENCHMARKS N6), "mfp_spectrum" (file = CSV of
    # MFP [m], conductivity fraction, or a phono3py kappa-m*.hdf5 with temperature [K])
    local_fraction = 0.0       # xi in [0, 1]: q = -xi kappa grad T - (1 - xi) int Z grad T
    relaxation_time = 0.0      # tau [s]: MCV memory on the kernel flux (transient runs)
    memory = [{weight = 0.4, relaxation_time = 0.0}, {weight = 0.6, relaxation_time = 1e-11}]
                               # several modes Z = sum w_m Z_D e^(-t/tau_m)/tau_m (weights
                               # > 0 summing to 1, tau_m >= 0 s); not with relaxation_time
    quadrature = "exact"       # cell-pair rule; "centroid" for kernels smooth at r = 0
    method = "auto"            # "fft" on lattice meshes, else "cutoff" (decaying) or
                               # "hmatrix" (long-range); or "dense", "cutoff", "hmatrix", "fft"
    regularization = 0.0       # Tikhonov eps in [0, 0.1] of the steady solve (xi = 0)
    boundary = "truncate"      # kernel at the body's boundary: "truncate" | "mirror" | "periodic"
    mirror = ["top"]           # boundary = "mirror": planar insulated walls (default: all
                               # boundaries without a temperature condition)
    periodic_axes = ["x"]      # boundary = "periodic": default every axis; period = mesh extent
    tolerance = 1e-6           # operator accuracy: kernel mass beyond the cut-off, quadrature
    preconditioner = "auto"    # steady conjugate gradients: "auto" | "local" | "gk"

Materials: ``conductivity`` (W/(m K): number, symmetric tensor or expression of x, y, z;
per subdomain, Z = √(κ(r)κ(R)) g between subdomains) and ``heat_capacity`` (J/(m³ K),
transient runs). The memory time is one number for the body, ``model.relaxation_time``
(the kernel solvers take one τ); ``materials.NAME.relaxation_time`` is refused.

Boundaries: ``temperature`` (K, constant in time: a number or an expression of x, y,
z) on a named boundary, or on a named **subdomain** (a volume constraint: every node
of the subdomain, the way nonlocal problems carry exterior data); ``heat_flux = 0``
or no entry: insulated. A nonzero ``heat_flux``, ``convection``, GK ``wall`` and
``[interfaces]`` (Kapitza) are refused: the kernel solvers do not implement them.

Everything is validated when the case is read, before anything is assembled or
written; errors name the key path (``model.kernel.length must be > 0 m, ...``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import BoundaryConditionError, FemheatInputError, RegionError
from ..physics.conditions import Convection, HeatFlux, Temperature
from ..registry import Model, register
from .kernel_families import KERNEL_FAMILIES, build_kernel

__all__ = ["KernelModel", "KERNEL_FAMILIES", "KERNEL_METHODS", "KERNEL_BOUNDARIES"]

KERNEL_METHODS = ("auto", "dense", "cutoff", "hmatrix", "fft")
KERNEL_BOUNDARIES = ("truncate", "mirror", "periodic")
_QUADRATURES = ("exact", "centroid")
_PRECONDITIONERS = ("auto", "local", "gk")
_MAX_DENSE = 8000


def _number(val: Any, where: str, unit: str = "") -> float:
    if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
        raise FemheatInputError(f"{where} must be a finite number{' in ' + unit if unit else ''}, "
                                f"got {val!r}")
    return float(val)


def _choice(val: Any, allowed: tuple, where: str) -> str:
    if val not in allowed:
        raise FemheatInputError(f"{where} = {val!r} is unknown; choose one of "
                                f"{', '.join(repr(a) for a in allowed)}")
    return val


def _names(val: Any, where: str) -> tuple[str, ...]:
    if isinstance(val, str):
        val = [val]
    if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
        raise FemheatInputError(f"{where} must be a list of names, got {val!r}")
    return tuple(val)


def _uses_time(f: Any) -> bool:
    """True if a case-file expression (its text is the docstring) names t; a Python
    callable taking (x, t) is taken to depend on t."""
    text = getattr(f, "__doc__", None)
    if isinstance(text, str):
        try:
            return "t" in compile(text, "<expression>", "eval").co_names
        except SyntaxError:
            return True
    from ..kernels.pipeline import _takes_time

    return _takes_time(f)


def _static(f: Any) -> Any:
    """An expression f(x, t) that does not name t becomes f(x)."""
    if callable(f) and not _uses_time(f):
        from ..kernels.pipeline import _takes_time

        if _takes_time(f):
            from ..kernels.pipeline import at_time

            return at_time(f, 0.0)
    return f


class KernelModel(Model):
    """Nonlocal kernel conduction on P1 temperatures (module docstring)."""

    name = "kernel"
    family = "kernel"
    description = ("nonlocal kernel: q = -xi kappa grad T - (1 - xi) int Z grad T dR, "
                   "optional MCV memory tau")
    options = {
        "kernel": "{family, length [m], exponent (power_law), file (tabulated, mfp_spectrum), "
                  "closure (gray_bte, mfp_spectrum), temperature (phono3py file), "
                  "allow_negative (tabulated)}",
        "local_fraction": "xi in [0, 1]",
        "relaxation_time": "tau [s]: MCV memory on the kernel flux",
        "memory": "[{weight, relaxation_time [s]}, ...]: memory modes (weights sum to 1)",
        "quadrature": "'exact' or 'centroid'",
        "method": "'auto' ('fft' on lattice meshes), 'dense', 'cutoff', 'hmatrix', 'fft'",
        "regularization": "Tikhonov eps in [0, 0.1] of the steady solve",
        "boundary": "'truncate', 'mirror' or 'periodic'",
        "mirror": "boundary = 'mirror': planar insulated walls",
        "periodic_axes": "boundary = 'periodic': axes ('x', 'y', 'z')",
        "tolerance": "operator accuracy in (0, 0.1]",
        "preconditioner": "steady CG: 'auto', 'local' or 'gk'",
    }
    material_keys = {
        "conductivity": "kappa, W/(m K): number, symmetric tensor or expression of x, y, z",
        "heat_capacity": "C = rho c, J/(m^3 K) (transient runs)",
        "relaxation_time": "refused: the kernel memory is model.relaxation_time",
    }
    transient_material_keys = {
        "heat_capacity": "a transient kernel run needs C = rho c (J/(m^3 K))"}
    fields = ("temperature", "heat_flux", "heat_flux_magnitude", "material_id")

    # ------------------------------------------------------------- case file
    def parse_options(self, table: Mapping[str, Any], where: str) -> dict:
        """Validate ``[model]`` (types, ranges, choices); the kernel is built later,
        when the mesh dimension and the case folder are known (:meth:`build_problem`)."""
        unknown = sorted(set(table) - set(self.options))
        if unknown:
            raise FemheatInputError(
                f"{where}: unknown key(s) {unknown} for model 'kernel'; allowed: type, "
                f"{', '.join(sorted(self.options))}")
        if "kernel" not in table:
            raise FemheatInputError(
                f"{where}.kernel is missing; give e.g. kernel = {{family = \"gaussian\", "
                "length = 1.4e-7}")
        out: dict[str, Any] = {"kernel": self._parse_kernel(table["kernel"], f"{where}.kernel")}
        xi = _number(table.get("local_fraction", 0.0), f"{where}.local_fraction")
        if not 0.0 <= xi <= 1.0:
            raise FemheatInputError(f"{where}.local_fraction must be in [0, 1], got {xi}")
        tau = _number(table.get("relaxation_time", 0.0), f"{where}.relaxation_time", "s")
        if tau < 0:
            raise FemheatInputError(f"{where}.relaxation_time must be >= 0 s, got {tau}")
        memory = None
        if "memory" in table:
            from ..kernels.memory_modes import parse_memory

            if "relaxation_time" in table:
                raise FemheatInputError(
                    f"{where}.memory and {where}.relaxation_time are both given; one mode "
                    "{weight = 1, relaxation_time = tau} is relaxation_time = tau: keep one")
            memory = parse_memory(table["memory"], f"{where}.memory")
        eps = _number(table.get("regularization", 0.0), f"{where}.regularization")
        if not 0.0 <= eps <= 0.1:
            raise FemheatInputError(f"{where}.regularization must be in [0, 0.1], got {eps}")
        tol = _number(table.get("tolerance", 1e-6), f"{where}.tolerance")
        if not 0.0 < tol <= 0.1:
            raise FemheatInputError(f"{where}.tolerance must be in (0, 0.1], got {tol}")
        boundary = _choice(table.get("boundary", "truncate"), KERNEL_BOUNDARIES,
                           f"{where}.boundary")
        for key, needs in (("mirror", "mirror"), ("periodic_axes", "periodic")):
            if key in table and boundary != needs:
                raise FemheatInputError(f"{where}.{key} needs {where}.boundary = {needs!r}, "
                                        f"got {boundary!r}")
        out.update(
            local_fraction=xi, relaxation_time=tau, regularization=eps, tolerance=tol,
            memory=memory,
            boundary=boundary,
            quadrature=_choice(table.get("quadrature", "exact"), _QUADRATURES,
                               f"{where}.quadrature"),
            method=_choice(table.get("method", "auto"), KERNEL_METHODS, f"{where}.method"),
            preconditioner=_choice(table.get("preconditioner", "auto"), _PRECONDITIONERS,
                                   f"{where}.preconditioner"),
            mirror=_names(table["mirror"], f"{where}.mirror") if "mirror" in table else None,
            periodic_axes=(_names(table["periodic_axes"], f"{where}.periodic_axes")
                           if "periodic_axes" in table else None))
        return out

    @staticmethod
    def _parse_kernel(spec: Any, where: str) -> dict:
        if not isinstance(spec, dict):
            raise FemheatInputError(f"{where} must be a table {{family = ..., length = ...}}, "
                                    f"got {spec!r}")
        family = _choice(spec.get("family"), tuple(KERNEL_FAMILIES), f"{where}.family")
        allowed = set(KERNEL_FAMILIES[family]) | {"family"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise FemheatInputError(f"{where}: unknown key(s) {unknown} for family {family!r}; "
                                    f"allowed: {', '.join(sorted(allowed))}")
        out: dict[str, Any] = {"family": family}
        required = ["file"] if family in ("tabulated", "mfp_spectrum") else ["length"]
        if family == "power_law":
            required.append("exponent")
        if family == "mfp_spectrum" and str(spec.get("file", "")).endswith((".hdf5", ".h5")):
            required.append("temperature")
        for key in required:
            if key not in spec:
                raise FemheatInputError(
                    f"{where}.{key} is missing ({KERNEL_FAMILIES[family][key]})")
        if "length" in spec:
            length = _number(spec["length"], f"{where}.length", "m")
            if not length > 0:
                raise FemheatInputError(f"{where}.length must be > 0 m, got {length}")
            out["length"] = length
        if "exponent" in spec:
            out["exponent"] = _number(spec["exponent"], f"{where}.exponent")
        if "closure" in spec:
            out["closure"] = _choice(spec["closure"], ("energy", "kinetic"), f"{where}.closure")
        if "allow_negative" in spec:
            if not isinstance(spec["allow_negative"], bool):
                raise FemheatInputError(f"{where}.allow_negative must be true or false, got "
                                        f"{spec['allow_negative']!r}")
            out["allow_negative"] = spec["allow_negative"]
        if "temperature" in spec:
            out["temperature"] = _number(spec["temperature"], f"{where}.temperature", "K")
        if "file" in spec:
            if not isinstance(spec["file"], str):
                raise FemheatInputError(f"{where}.file must be a path string, got {spec['file']!r}")
            out["file"] = spec["file"]
        return out

    def build_problem(self, *, regions, materials, boundary_conditions, interfaces,
                      source=None, walls=None, options=None, base=Path("."), **_):
        """Check the case's sections against the mesh and the kernel solvers, build the
        kernel, resolve the method; returns a
        :class:`~femheat.kernels.pipeline.KernelProblem`."""
        from ..kernels.pipeline import KernelProblem

        opts = dict(options or {})
        if interfaces:
            name = next(iter(interfaces))
            raise FemheatInputError(
                f"interfaces.{name}: Kapitza interfaces are not wired into the kernel model "
                "(femheat.kernels.interfaces.InterfaceKernelOperator is available from "
                "Python only); remove [interfaces] for perfect contact between subdomains")
        if walls:
            raise FemheatInputError(
                f"boundaries.{next(iter(walls))}: wall conditions act on the GK flux; the "
                "kernel model takes temperature conditions only (insulated elsewhere)")
        self._check_materials(regions, materials)
        temperature = self._temperatures(regions, boundary_conditions)
        kernel = self._kernel(opts["kernel"], regions.dim, Path(base))
        from ..kernels.functions import TabulatedKernel

        if isinstance(kernel, TabulatedKernel):  # user table: refuse a negative symbol now
            from ..kernels.general import check_kernel_symbol

            try:
                check_kernel_symbol(kernel, opts["local_fraction"])
            except FemheatInputError as exc:
                raise type(exc)(f"model.kernel: {exc}") from None
        from ..kernels.quadrature import check_rule

        try:
            check_rule(opts["quadrature"], kernel)
        except FemheatInputError as exc:
            raise FemheatInputError(f"model.quadrature: {exc}") from None
        mirror, period = self._boundary(regions, opts, temperature)
        method, lattice = self._method(regions, opts, kernel, mirror, period)
        info = {"kernel": dict(opts["kernel"]), "method_requested": opts["method"],
                "lattice": lattice, "boundary": opts["boundary"]}
        return KernelProblem(
            regions, dict(materials), kernel, temperature, _static(source),
            opts["local_fraction"], opts["relaxation_time"], opts["quadrature"], method,
            opts["tolerance"], opts["regularization"], mirror, period,
            opts["preconditioner"], info, opts.get("memory"))

    # ------------------------------------------------------------- checks
    @staticmethod
    def _check_materials(regions, materials) -> None:
        subs = list(regions.subdomains)
        for name, mat in materials.items():
            if name not in regions.subdomains:
                raise RegionError(f"materials.{name}: the mesh has no subdomain {name!r}; its "
                                  f"subdomains: {', '.join(repr(s) for s in subs)}")
            tau = mat.relaxation_time
            if callable(tau) or np.any(np.asarray(tau) != 0):
                raise FemheatInputError(
                    f"materials.{name}.relaxation_time: the kernel model takes one memory "
                    "time for the body; set model.relaxation_time (s) instead")
        missing = [s for s in subs if s not in materials]
        if missing:
            raise RegionError(f"materials: no material for subdomain {missing[0]!r}; give "
                              f"[materials.{missing[0]}] (subdomains: "
                              f"{', '.join(repr(s) for s in subs)})")

    @staticmethod
    def _temperatures(regions, bcs) -> dict[str, Any]:
        """Region -> constant or f(x); insulated boundaries dropped; the rest refused."""
        out: dict[str, Any] = {}
        known = list(regions.boundaries) + list(regions.subdomains)
        for name, bc in bcs.items():
            where = f"boundaries.{name}"
            if name not in regions.boundaries and name not in regions.subdomains:
                raise RegionError(
                    f"{where}: the mesh has no boundary or subdomain {name!r}; it has "
                    f"{', '.join(repr(k) for k in known) or 'none'}")
            if isinstance(bc, Temperature):
                value = bc.value
                if callable(value) and _uses_time(value):
                    raise BoundaryConditionError(
                        f"{where}.temperature depends on t; the kernel solvers hold "
                        "temperatures constant in time: give a function of x, y, z")
                out[name] = _static(value)
            elif isinstance(bc, HeatFlux) and not callable(bc.value) and bc.value == 0:
                if name not in regions.boundaries:
                    raise RegionError(f"{where}: heat_flux needs a boundary; {name!r} is a "
                                      "subdomain")
                continue  # insulated: the natural condition of the weak form
            else:
                kind = "convection" if isinstance(bc, Convection) else "a nonzero heat_flux"
                raise BoundaryConditionError(
                    f"{where}: {kind} is not implemented for the nonlocal kernel law; use "
                    "temperature (on a boundary or a subdomain collar) or heat_flux = 0 "
                    "(insulated)")
        return out

    @staticmethod
    def _kernel(spec: dict, dim: int, base: Path):
        return build_kernel(spec, dim, base)

    @staticmethod
    def _boundary(regions, opts: dict, temperature: dict):
        """(mirror walls, period) of the kernel's boundary treatment."""
        mesh, d = regions.mesh, regions.dim
        if opts["boundary"] == "mirror":
            walls = opts["mirror"]
            if walls is None:
                walls = tuple(b for b in regions.boundaries if b not in temperature)
            if not walls:
                raise FemheatInputError("model.boundary = 'mirror' needs insulated boundaries; "
                                        "every boundary has a temperature condition")
            scale = float(np.max(np.ptp(mesh.p, axis=1)))
            for wall in walls:
                if wall not in regions.boundaries:
                    raise RegionError(f"model.mirror: unknown boundary {wall!r}; the mesh has "
                                      f"{', '.join(repr(b) for b in regions.boundaries)}")
                if wall in temperature:
                    raise FemheatInputError(
                        f"model.mirror: {wall!r} has a temperature condition; mirror images "
                        "(the even extension of T) belong to insulated walls")
                pts = mesh.p[:, np.unique(mesh.facets[:, regions.boundaries[wall]])].T
                dev = np.abs((pts - pts.mean(0)) @ np.linalg.svd(
                    pts - pts.mean(0), full_matrices=False)[2][-1]).max()
                if dev > 1e-8 * scale:
                    raise FemheatInputError(f"model.mirror: boundary {wall!r} is not planar "
                                            "(images are implemented for planar walls only)")
            return walls, None
        if opts["boundary"] == "periodic":
            axes = opts["periodic_axes"] or ("x", "y", "z")[:d]
            for ax in axes:
                if ax not in ("x", "y", "z")[:d]:
                    raise FemheatInputError(f"model.periodic_axes: {ax!r} is not an axis of "
                                            f"the {d}D mesh; use {', '.join('xyz'[:d])}")
            ext = np.ptp(mesh.p, axis=1)
            return (), tuple(float(ext[k]) if "xyz"[k] in axes else None for k in range(d))
        return (), None

    @staticmethod
    def _method(regions, opts: dict, kernel, mirror, period) -> tuple[str, bool]:
        """The operator method actually used: ``"auto"`` is ``"fft"`` on lattice meshes."""
        from ..kernels.lattice import detect_lattice

        mesh = regions.mesh
        lattice = detect_lattice(mesh.p, mesh.t) is not None
        method = opts["method"]
        if method == "auto":
            if lattice and not mirror:
                method = "fft"
            else:
                method = "hmatrix" if kernel.is_long_range(opts["tolerance"]) else "cutoff"
        if method == "fft" and not lattice:
            raise FemheatInputError(
                "model.method = 'fft' needs a lattice mesh (vertices on a uniform grid, two "
                "triangles or six tetrahedra per box, e.g. the 'strip' builder); use 'auto'")
        if method == "fft" and mirror:
            raise FemheatInputError("model.method = 'fft' does not take mirror walls; use "
                                    "'cutoff' or 'auto'")
        if method == "hmatrix" and period is not None:
            raise FemheatInputError(
                "model.boundary = 'periodic' needs method 'fft' (lattice mesh), 'cutoff' or "
                "'dense'; this kernel/mesh resolves to 'hmatrix'")
        if method == "dense" and mesh.t.shape[1] > _MAX_DENSE:
            raise FemheatInputError(
                f"model.method = 'dense' holds ncells^2 entries; {mesh.t.shape[1]} cells "
                f"exceed {_MAX_DENSE}: use 'auto'")
        return method, lattice

    def validate(self, problem) -> None:
        """Refuse the mixed models' :class:`~femheat.assembly.problem.HeatProblem`: the
        kernel model's problem is a :class:`~femheat.kernels.pipeline.KernelProblem`."""
        from ..kernels.pipeline import KernelProblem

        if not isinstance(problem, KernelProblem):
            raise FemheatInputError(
                f"model = 'kernel' is not a mixed (RT-DG) model, so a {type(problem).__name__} "
                "cannot use it; give [model] type = \"kernel\" in a case file, or use "
                "femheat.kernels (NonlocalOperator, solve_steady_nonlocal) from Python")

    # ------------------------------------------------------------- pipeline
    def assemble(self, problem):
        from ..kernels.pipeline import assemble_kernel

        return assemble_kernel(problem)

    def steady(self, system, **options: Any):
        from ..kernels.pipeline import steady_state

        return steady_state(system)

    def initial_state(self, system, temperature: Any = 0.0, flux: Any = None):
        from ..kernels.pipeline import initial_kernel_state

        return initial_kernel_state(system, temperature, flux)

    @staticmethod
    def _unused_regularization(system, run: str) -> None:
        """Warn that ``model.regularization`` (the Tikhonov ε of steady solves) is not
        used by a ``run`` (transient or frequency) solve, which C ∂T/∂t (iωC) keeps well
        posed; it used to be dropped silently."""
        eps = system.problem.regularization
        if eps > 0:
            warnings.warn(
                f"model.regularization = {eps:g} is not used by this {run} run: it is the "
                "Tikhonov weight of steady solves, and the heat capacity term keeps a "
                f"{run} solve well posed without it; remove it", UserWarning, stacklevel=3)

    def transient(self, system, dt: float, end: float, theta: float,
                  initial, origin=None) -> Iterator[tuple[float, Any]]:
        if origin is not None:  # no restart files are written for this model
            raise NotImplementedError("the kernel model cannot resume a run")
        self._unused_regularization(system, "transient")
        if system.problem.memory is not None:
            from ..kernels.memory_steps import theta_steps_kernel_modes

            return theta_steps_kernel_modes(system, dt, end, theta, initial)
        from ..kernels.pipeline import theta_steps_kernel

        return theta_steps_kernel(system, dt, end, theta, initial)

    def frequency_solver(self, system):
        """The :class:`~femheat.kernels.frequency.KernelFrequencySolver` of ``system``."""
        from ..kernels.frequency import KernelFrequencySolver

        self._unused_regularization(system, "frequency")
        return KernelFrequencySolver(system)

    def energy_balance(self, system, theta: float):
        from ..kernels.pipeline import KernelEnergyBalance

        return KernelEnergyBalance(system, theta)

    def steady_energy_balance(self, system, state) -> float:
        from ..kernels.pipeline import steady_balance

        return steady_balance(state)

    def dofs(self, system) -> dict:
        return {"temperature": system.n, "total": system.n}

    def boundary_heat_flow(self, system, state) -> dict[str, float]:
        """Outflow through each named boundary and temperature region [W, W/m in 2D]."""
        return dict(state.heat_flow)

    def interface_heat_flow(self, system, state) -> dict[str, float]:
        """NaN per mesh interface: the nonlocal law passes heat at a distance, so no
        facet flux is defined (the mixed models report ∫ q·n there)."""
        return {name: math.nan for name in system.problem.regions.interfaces}

    def interface_summary(self, system, state) -> dict:
        return {}

    def vertex_temperature(self, system, state) -> np.ndarray:
        """T at each cell's vertices, (d + 1, cells) [K] (continuous P1)."""
        return state.temperature[system.problem.regions.mesh.t]

    def writer(self, system, directory: str | Path, format: str = "vtu"):
        if format != "vtu":
            raise FemheatInputError(
                f"output.format = {format!r} is not available for the kernel model; use "
                "\"vtu\"")
        from ..io.kernel_writer import KernelSeriesWriter

        return KernelSeriesWriter(system, directory)

    def summary_extras(self, system, state) -> dict:
        """Kernel, operator, moments, solver statistics and the well-posedness report."""
        from ..kernels.moments import equivalent_gk_length
        from ..kernels.solvers import assess_well_posedness

        p, op = system.problem, system.operator
        mu2 = float(p.kernel.second_moment())
        stats = {k: v for k, v in op.stats.items()
                 if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        kernel = {**p.info["kernel"], "dimension": p.regions.dim,
                  "characteristic_length": float(p.kernel.length),
                  "local_fraction": p.local_fraction, "relaxation_time": p.relaxation_time,
                  "memory": p.memory.as_list() if p.memory is not None else None,
                  "quadrature": p.quadrature, "method_requested": p.info["method_requested"],
                  "method": op.method, "lattice_mesh": p.info["lattice"],
                  "boundary": p.info["boundary"], "mirror": list(p.mirror),
                  "period": list(p.period) if p.period else None,
                  "tolerance": p.tolerance, "regularization": p.regularization,
                  "second_moment_m2": _json_float(mu2),
                  "equivalent_gk_length_m": (
                      {"beta0": equivalent_gk_length(p.kernel, 0),
                       "beta2": equivalent_gk_length(p.kernel, 2)}
                      if math.isfinite(mu2) else None),
                  "operator": {"build_s": system.build_s, "memory_MB": op.nbytes / 1e6,
                               **stats}}
        out: dict[str, Any] = {"kernel": kernel}
        report = getattr(state, "report", None)
        if report is not None:  # steady
            out["well_posedness"] = {"analysis": "steady", "well_posed": True,
                                     **_json_dict(asdict(report.well_posedness)),
                                     "warnings": list(state.warnings)}
            out["solver"] = _json_dict({
                "iterations": report.iterations, "residual": report.residual,
                "preconditioner": report.preconditioner,
                "preconditioner_length": report.preconditioner_length,
                "condition_estimate": report.condition_estimate,
                "symbol_condition": report.symbol_condition,
                "energy_balance": report.energy_balance})
        elif system.stepper is not None:  # transient
            diag = assess_well_posedness(op, system.source_at(0.0), raise_errors=False,
                                         regularization=p.regularization)
            its = system.stepper.iterations
            out["well_posedness"] = {
                "analysis": "transient", "well_posed": True,
                "reason": "C/dt + theta sigma_A(k) is bounded below for every xi",
                "steady_diagnosis": _json_dict(asdict(diag))}
            out["solver"] = _json_dict({
                "iterations_total": int(sum(its)), "iterations_per_step_mean":
                float(np.mean(its)) if its else 0.0, "iterations_per_step_max":
                int(max(its, default=0)), "preconditioner": "mass+stiffness",
                "preconditioner_beta": system.stepper.beta,
                "stepper_energy_balance": max(system.stepper.energy_errors, default=0.0)})
        return out


def _json_float(v: Any) -> Any:
    """Finite floats stay; inf -> "inf", nan -> None (summary.json stays strict JSON)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        return float(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")
    return v


def _json_dict(d: Mapping[str, Any]) -> dict:
    return {k: _json_float(v) for k, v in d.items()}


register(KernelModel())
