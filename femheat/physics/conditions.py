"""Boundary conditions, interface conditions and volumetric sources.

Sign convention: n is the outward unit normal, so a boundary heat flux
``q·n > 0`` removes heat from the body. Values are constants or callables
``f(x, t)`` of position (shape ``(d, ...)``, metres) and time (seconds).

In the mixed formulation a prescribed **temperature** is a natural condition
(it enters the flux equation as −⟨T_D, v·n⟩), a prescribed **normal heat flux**
is essential (it fixes the Raviart–Thomas degrees of freedom on the boundary),
and **convection** q·n = h (T − T∞) is the same facet term as a Kapitza
resistance, with R = 1/h towards an ambient reservoir at T∞.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

import numpy as np

from ..errors import FemheatInputError
from ..validation import finite_array, nonnegative, positive

__all__ = [
    "NoSlip",
    "FreeSlip",
    "SlipLength",
    "TangentialFlux",
    "WallCondition",
    "cylinder_normal",
    "sphere_normal",
    "Temperature",
    "HeatFlux",
    "Insulated",
    "Convection",
    "KapitzaResistance",
    "ResistanceValue",
    "BoundaryCondition",
    "evaluate",
]

Value = Union[float, Callable[[np.ndarray, float], np.ndarray]]


def evaluate(value: Value, x: np.ndarray, t: float) -> np.ndarray:
    """Evaluate a constant or ``f(x, t)`` at points ``x``, broadcast to ``x.shape[1:]``."""
    if callable(value):
        out = np.asarray(value(x, t), dtype=float)
    else:
        out = np.asarray(value, dtype=float)
    return np.broadcast_to(out, x.shape[1:])


def _check(value: Value, where: str) -> Value:
    if not callable(value):
        finite_array(value, where)
    return value


@dataclass(frozen=True)
class Temperature:
    """Prescribed temperature T = T_D [K] on a boundary."""

    value: Value

    def __post_init__(self) -> None:
        _check(self.value, "Temperature.value")

    @property
    def time_dependent(self) -> bool:
        return callable(self.value)


@dataclass(frozen=True)
class HeatFlux:
    """Prescribed outward normal heat flux q·n = g [W m⁻²] (g > 0 removes heat)."""

    value: Value = 0.0

    def __post_init__(self) -> None:
        _check(self.value, "HeatFlux.value")

    @property
    def time_dependent(self) -> bool:
        return callable(self.value)


def Insulated() -> HeatFlux:
    """Adiabatic wall, q·n = 0."""
    return HeatFlux(0.0)


@dataclass(frozen=True)
class Convection:
    """Newton cooling q·n = h (T − T∞).

    Parameters
    ----------
    heat_transfer_coefficient
        h [W m⁻² K⁻¹], > 0 (use :func:`Insulated` for h = 0).
    ambient_temperature
        T∞ [K], constant or ``f(x, t)``.
    """

    heat_transfer_coefficient: float
    ambient_temperature: Value

    def __post_init__(self) -> None:
        positive(self.heat_transfer_coefficient, "Convection.heat_transfer_coefficient",
                 "W/(m^2 K); use an insulated wall for h = 0")
        _check(self.ambient_temperature, "Convection.ambient_temperature")

    @property
    def time_dependent(self) -> bool:
        return callable(self.ambient_temperature)


#: R_K [m² K W⁻¹] of an interface: a number, a function ``f(x) -> R_K`` of positions
#: ``x`` (shape ``(d, ...)``, metres) returning an array of shape ``x.shape[1:]``, or one
#: value per facet of the interface (in the order ``regions.interface(name)`` lists them).
ResistanceValue = Union[float, Callable[[np.ndarray], np.ndarray], np.ndarray]


class _Reciprocal:
    """x -> 1/G(x): a resistance function from a conductance function."""

    def __init__(self, conductance: Callable[[np.ndarray], np.ndarray]):
        self.conductance = conductance

    def __call__(self, x: np.ndarray) -> np.ndarray:
        g = np.asarray(self.conductance(x), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / g

    def __eq__(self, other) -> bool:
        return isinstance(other, _Reciprocal) and other.conductance == self.conductance

    def __hash__(self) -> int:
        return hash((_Reciprocal, self.conductance))

    @property
    def expression(self) -> str | None:
        inner = getattr(self.conductance, "expression", None)
        return f"1/({inner})" if inner else None

    def __repr__(self) -> str:
        return f"1/{self.conductance!r}"


@dataclass(frozen=True)
class KapitzaResistance:
    """Interface (Kapitza) resistance R_K = 1/G_K [m² K W⁻¹].

    Across the interface from side A to side B the normal flux is continuous and
    the temperature jumps: T_A − T_B = R_K q·n_AB. ``R_K = 0`` is perfect contact.

    ``resistance`` is a number (constant along the interface), a function
    ``f(x) -> R_K`` of positions ``x`` (shape ``(d, ...)``, metres; return shape
    ``x.shape[1:]`` or a scalar), evaluated at the facet quadrature points, or a 1D
    array with one value per facet of the interface, in the order
    ``regions.interface(name)`` returns them (R_K constant on each facet). Values
    must be finite and >= 0. A function or array is checked against the mesh when
    the :class:`~femheat.assembly.system.HeatProblem` (or the homogenization
    ``CellProblem``) is created, with the interface named in the message
    (:func:`femheat.physics.kapitza.interface_resistance`).

    ``tangential`` matters for the Guyer–Krumhansl model only: ``"continuous"``
    (default) couples the tangential flux across the interface through the
    viscous term, as in a single medium; ``"free"`` decouples it, each side
    seeing a stress-free (free-slip) wall, so the tangential flux may jump.

    ``given_as`` (``"resistance"`` or ``"conductance"``) records which quantity the
    user gave, so that messages name ``kapitza_conductance`` for values that came
    through :meth:`from_conductance`.
    """

    resistance: ResistanceValue
    tangential: str = "continuous"
    given_as: str = field(default="resistance", repr=False)

    def __post_init__(self) -> None:
        value = self.resistance
        if not callable(value):
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise FemheatInputError(
                    f"KapitzaResistance.resistance = {value!r}; give a number [m^2 K/W], "
                    "a function f(x) -> R_K of positions x (shape (d, ...), metres) or "
                    "one value per facet of the interface") from None
            if arr.ndim == 0:  # the constant fast path: a plain float, as always
                object.__setattr__(self, "resistance", float(
                    nonnegative(arr, "KapitzaResistance.resistance", "m^2 K/W")))
            elif arr.ndim == 1 and arr.size:
                arr = arr.copy()
                arr.setflags(write=False)
                object.__setattr__(self, "resistance", arr)
            else:
                raise FemheatInputError(
                    f"KapitzaResistance.resistance has shape {arr.shape}; per-facet values "
                    "must be a 1D array with one R_K [m^2 K/W] per facet of the interface")
        if self.tangential not in ("continuous", "free"):
            raise FemheatInputError(
                f"KapitzaResistance.tangential = {self.tangential!r}; use 'continuous' "
                "(the GK viscous coupling acts across the interface) or 'free' (each "
                "side is stress-free: tangential flux may jump)")
        if self.given_as not in ("resistance", "conductance"):
            raise FemheatInputError(
                f"KapitzaResistance.given_as = {self.given_as!r}; use 'resistance' or "
                "'conductance'")

    @property
    def variable(self) -> bool:
        """True if R_K varies along the interface (a function or per-facet values)."""
        return not isinstance(self.resistance, float)

    @property
    def per_facet(self) -> bool:
        """True if R_K is given as one value per facet."""
        return isinstance(self.resistance, np.ndarray)

    @classmethod
    def from_conductance(cls, conductance: ResistanceValue,
                         tangential: str = "continuous") -> "KapitzaResistance":
        """From a Kapitza conductance G_K [W m⁻² K⁻¹]: R_K = 1/G_K.

        ``conductance`` takes the same three forms as ``resistance``: a number
        (> 0), a function ``x -> G_K`` or one value per facet (finite and > 0,
        checked against the mesh with the interface named, like a resistance).
        """
        if callable(conductance):
            return cls(_Reciprocal(conductance), tangential, "conductance")
        try:
            arr = np.asarray(conductance, dtype=float)
        except (TypeError, ValueError):
            raise FemheatInputError(
                f"kapitza_conductance = {conductance!r}; give a number [W/(m^2 K)], a "
                "function f(x) -> G_K or one value per facet of the interface") from None
        if arr.ndim == 0:
            return cls(1.0 / float(positive(arr, "kapitza_conductance", "W/(m^2 K)")),
                       tangential)
        if arr.ndim != 1 or not arr.size:
            raise FemheatInputError(
                f"kapitza_conductance has shape {arr.shape}; per-facet values must be a 1D "
                "array with one G_K [W/(m^2 K)] per facet of the interface")
        with np.errstate(divide="ignore", invalid="ignore"):
            return cls(1.0 / arr, tangential, "conductance")

    @property
    def key(self) -> str:
        """The case-file key of the quantity given: kapitza_resistance or kapitza_conductance."""
        return f"kapitza_{self.given_as}"

    def describe(self) -> float | dict:
        """JSON-ready description: R_K [m² K W⁻¹] if constant, else its form and range."""
        r = self.resistance
        if isinstance(r, float):
            return r
        if isinstance(r, np.ndarray):
            return {"per_facet": int(r.size), "min": float(r.min()), "max": float(r.max()),
                    "given_as": self.given_as}
        name = getattr(r, "expression", None) or (
            f"{getattr(r, '__module__', '')}.{r.__qualname__}" if hasattr(r, "__qualname__")
            else repr(r))
        return {"function": name, "given_as": self.given_as}

    def __eq__(self, other) -> bool:
        if not isinstance(other, KapitzaResistance):
            return NotImplemented
        a, b = self.resistance, other.resistance
        same = (np.array_equal(a, b) if isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                else (type(a) is type(b) and a == b))
        return bool(same) and self.tangential == other.tangential \
            and self.given_as == other.given_as

    def __hash__(self) -> int:
        r = self.resistance
        key = r.tobytes() if isinstance(r, np.ndarray) else r
        return hash((key, self.tangential, self.given_as))


BoundaryCondition = Union[Temperature, HeatFlux, Convection]


# ------------------------------------------------ Guyer–Krumhansl wall conditions
# They act on the tangential flux only; the normal flux is set by the thermal
# condition of the same boundary (HeatFlux(0) for an impermeable wall), except on
# an insulated wall given the smooth normal of a curved surface (see FreeSlip).
SurfaceNormal = Callable[[np.ndarray], np.ndarray]


def _check_normal(normal, where: str):
    if normal is not None and not callable(normal):
        raise FemheatInputError(
            f"{where}.normal must be a function x -> n(x) of positions x (shape (d, ...), "
            f"metres) returning outward unit normals (shape (d, ...)), or None for the "
            f"facet normals of the mesh; got {normal!r}. For a wire or sphere use "
            "femheat.physics.conditions.cylinder_normal(...) or sphere_normal(...)")
    return normal


@dataclass(frozen=True)
class NoSlip:
    """Tangential flux vanishes at the wall, q_t = 0 (imposed by Nitsche's method).

    No smooth normal is needed: q = 0 on the wall whatever the normal, so a
    faceted (polygonal) curved wall converges at the full order already.
    """


@dataclass(frozen=True)
class FreeSlip:
    r"""No tangential stress, ∂q_t/∂n = 0 (natural; the default of every boundary).

    Parameters
    ----------
    normal
        Optional outward unit normal n(x) of the *true* (curved) wall surface:
        a function of positions ``x`` (shape ``(d, ...)``, metres) returning
        unit vectors of the same shape (dimensionless). Give it on a curved
        insulated wall (cylinder, sphere, circle) meshed by flat facets.

        Without it, q·n_h = 0 is imposed strongly with the facet normals n_h of
        the mesh; where n_h jumps from facet to facet this locks the tangential
        flux (the Babuška–Sapondzhyan paradox of slip on polygons) and free-slip
        results converge only at O(h). With it, the wall is impermeable in the
        weak (Nitsche) sense with the smooth normal (Urquiza, Garon & Farinas,
        J. Comput. Phys. 256, 2014): the flux block gains

        .. math::

            -\langle \sigma_{nn}(q), v\cdot n\rangle
            -\langle \sigma_{nn}(v), q\cdot n\rangle
            + \langle \gamma\, q\cdot n, v\cdot n\rangle,
            \qquad \sigma_{nn}(q) = \nu\,((\nabla q)n)\cdot n + \beta\nu\,\nabla\cdot q

        (ν = l²/κ [m³ K W⁻¹]; penalty γ = η(1+β)σ_F(ν + κ⁻¹(|K|/|F|)²)
        [m² K W⁻¹] with σ_F ~ 1/h the facet scale of :mod:`femheat.assembly.gk`), the
        flux equation keeps the wall term ⟨T, v·n_h⟩ of ∫∇T·v (plus, for a P0
        temperature, its trace from the flux), and the energy equation counts
        the heat that crosses the wall facets. That heat flow (reported by
        :func:`femheat.boundary_heat_flow`) is the discretization error of the
        weak condition; it vanishes at O(h²) (measured in
        ``tests/test_gk_curved_walls.py``). See :mod:`femheat.assembly.gk`. The wall's
        thermal condition must be insulated (``HeatFlux(0)``).
    """

    normal: SurfaceNormal | None = None

    def __post_init__(self) -> None:
        _check_normal(self.normal, "FreeSlip")


@dataclass(frozen=True)
class SlipLength:
    """Slip wall q_t = −C_s l ∂q_t/∂n (n outward; Alvarez, Jou & Sellitto 2009).

    Parameters
    ----------
    coefficient
        C_s > 0 (dimensionless): slip length C_s·l in units of the local
        nonlocal length. C_s → 0 is no-slip (use :class:`NoSlip`), C_s → ∞
        free slip.
    normal
        Optional outward unit normal n(x) of the true curved wall (see
        :class:`FreeSlip`): the wall is then impermeable in the weak sense and
        the tangential flux q_t = q − (q·n)n of the slip condition uses n.
    """

    coefficient: float
    normal: SurfaceNormal | None = None

    def __post_init__(self) -> None:
        positive(self.coefficient, "SlipLength.coefficient",
                 "(dimensionless; use NoSlip for 0)")
        _check_normal(self.normal, "SlipLength")


@dataclass(frozen=True)
class TangentialFlux:
    r"""Prescribed tangential flux at the wall, q_t = g_t (Nitsche, as :class:`NoSlip`
    with data): a heat "Couette" wall.

    Parameters
    ----------
    value
        g [W m⁻²]: a vector of d components (numbers or functions ``f(x, t)`` of
        positions x (shape ``(d, ...)``, metres) and time t (s)), or one function
        returning shape ``(d, ...)``; its tangential part g_t = g − (g·n)n is imposed
        (the normal part is ignored). In 2D also a scalar, or a function returning
        shape ``x.shape[1:]``: g = q·t with t = (−n_y, n_x), the tangent that runs
        counter-clockwise around the domain (n outward): +x on a bottom wall,
        −x on a top wall.
    normal
        Optional outward unit normal n(x) of the true curved wall (see
        :class:`FreeSlip`): the wall is then impermeable in the weak sense, and the
        data g_t (in 2D g t with t = (−n_y, n_x)) and the Nitsche terms use the
        smooth n, so the driven flux turns with the surface (interior-penalty form;
        the wall must be insulated).

    The flux block gains the terms of :func:`~femheat.assembly.forms.wall_no_slip`
    and the flux equation the load
    :func:`~femheat.assembly.forms.wall_tangential_flux`,

    .. math::

        \langle \sigma \nu_s\, g_t, v_t\rangle - \langle (\nabla v) n, \nu\, g_t\rangle ,

    (ν = l²κ⁻¹, σ ~ 1/h the penalty scale of :mod:`femheat.assembly.gk`). The normal
    component is set by the thermal condition of the boundary (insulated for a
    wall). Without ``normal``, g_t and q_t use the facet normals, so on a curved
    faceted wall the data are those of the polygon: the imposed direction turns at
    every vertex, and each turn is a small driven-lid corner whose temperature
    singularity keeps the temperature at O(h^½) (a circular Couette annulus,
    ``tests/test_gk_tangential_flux.py``). ``TangentialFlux(0)`` is :class:`NoSlip`.
    """

    value: Value | tuple
    normal: SurfaceNormal | None = None

    def __post_init__(self) -> None:
        _check_normal(self.normal, "TangentialFlux")
        v = self.value
        if isinstance(v, (list, tuple)):
            if len(v) not in (2, 3):
                raise FemheatInputError(
                    f"TangentialFlux.value must have 2 or 3 components (one per axis), "
                    f"got {len(v)}")
            for i, c in enumerate(v):
                _check(c, f"TangentialFlux.value[{i}]")
            object.__setattr__(self, "value", tuple(v))
        elif not callable(v):
            arr = finite_array(v, "TangentialFlux.value")
            if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (2, 3)):
                raise FemheatInputError(
                    f"TangentialFlux.value must be a number (2D: q.t), or a vector of 2 or "
                    f"3 components, got shape {arr.shape}")
            if arr.ndim == 1:
                object.__setattr__(self, "value", tuple(float(c) for c in arr))

    @property
    def time_dependent(self) -> bool:
        v = self.value
        return any(callable(c) for c in v) if isinstance(v, tuple) else callable(v)

    def tangential(self, x: np.ndarray, n: np.ndarray, t: float, where: str) -> np.ndarray:
        """g_t [W m⁻²] at points ``x`` (d, ...) with outward unit normals ``n`` (d, ...)."""
        d = x.shape[0]
        v = self.value
        if isinstance(v, tuple):
            if len(v) != d:
                raise FemheatInputError(
                    f"{where} has {len(v)} components on a {d}D mesh; give {d}")
            g = np.stack([evaluate(c, x, t) for c in v])
        else:
            g = np.asarray(v(x, t) if callable(v) else v, dtype=float)
            if g.shape != x.shape:
                if d != 2:
                    raise FemheatInputError(
                        f"{where}: a scalar tangential flux (q.t) is defined in 2D only; "
                        f"give a vector of {d} components whose tangential part is imposed")
                try:
                    g = np.broadcast_to(g, x.shape[1:])
                except ValueError:
                    raise FemheatInputError(
                        f"{where} returned shape {g.shape} for positions of shape {x.shape}; "
                        f"return q.t (shape {x.shape[1:]}) or a vector (shape {x.shape})"
                    ) from None
                g = g[None] * np.stack([-n[1], n[0]])
        if not np.all(np.isfinite(g)):
            raise FemheatInputError(f"{where} is not finite at t = {t:g} s")
        return g - np.sum(g * n, axis=0)[None] * n


def _unit(vector, where: str, dim: int | None = None) -> np.ndarray:
    v = finite_array(vector, where)
    if v.ndim != 1 or (dim is not None and v.size != dim) or v.size not in (2, 3):
        raise FemheatInputError(
            f"{where} must be a vector of {dim or '2 or 3'} numbers, got {vector!r}")
    norm = np.linalg.norm(v)
    if norm == 0:
        raise FemheatInputError(f"{where} must be nonzero, got {vector!r}")
    return v / norm


def cylinder_normal(axis=(1.0, 0.0, 0.0), point=(0.0, 0.0, 0.0)) -> SurfaceNormal:
    """Outward normal of a circular cylinder (3D) with the given axis through ``point`` [m].

    n(x) = r/|r|, r = (x − p) − ((x − p)·a) a, a the unit axis. The default
    matches :func:`femheat.mesh.geometry.wire` (axis along x through the origin).
    Use it as ``FreeSlip(normal=cylinder_normal())``.
    """
    a = _unit(axis, "cylinder_normal axis", 3)
    p = finite_array(point, "cylinder_normal point")
    if p.shape != (3,):
        raise FemheatInputError(f"cylinder_normal point must be 3 numbers, got {point!r}")

    def normal(x: np.ndarray) -> np.ndarray:
        r = np.asarray(x, dtype=float) - p.reshape((3,) + (1,) * (np.ndim(x) - 1))
        r = r - np.einsum("i...,i->...", r, a)[None] * a.reshape((3,) + (1,) * (r.ndim - 1))
        return r / np.linalg.norm(r, axis=0)

    return normal


def sphere_normal(center=(0.0, 0.0, 0.0), inward: bool = False) -> SurfaceNormal:
    """Normal (x − c)/|x − c| of a sphere (3D) or circle (2D, give 2 numbers) of centre c [m].

    ``inward=True`` flips it, for a hole or the inner wall of an annulus or
    shell, whose outward normal points towards the centre.
    """
    c = finite_array(center, "sphere_normal center")
    if c.shape not in ((2,), (3,)):
        raise FemheatInputError(f"sphere_normal center must be 2 or 3 numbers, got {center!r}")
    sign = -1.0 if inward else 1.0

    def normal(x: np.ndarray) -> np.ndarray:
        r = np.asarray(x, dtype=float) - c.reshape((c.size,) + (1,) * (np.ndim(x) - 1))
        return sign * r / np.linalg.norm(r, axis=0)

    return normal


WallCondition = Union[NoSlip, FreeSlip, SlipLength, TangentialFlux]
