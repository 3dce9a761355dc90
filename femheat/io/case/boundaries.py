"""``[boundaries.NAME]``: temperature, heat flux or convection, and GK walls.

A GK wall on a curved surface may add ``surface_normal = "mesh"``: the wall then takes
the smooth normal reconstructed from its facets (:func:`femheat.mesh.normals.boundary_normal`),
set by :func:`mesh_normal_walls` once the mesh is read."""

from __future__ import annotations

from ...errors import FemheatInputError
from ...physics.conditions import (Convection, FreeSlip, HeatFlux, NoSlip, SlipLength,
                                   TangentialFlux, Temperature)
from .common import check_keys, number, table, value

__all__ = ["parse_boundaries", "mesh_normal_walls"]

_KINDS = {"temperature", "heat_flux", "convection"}


def _wall_flux(val, where: str) -> TangentialFlux:
    """wall_flux = g (2D: q.t, number or expression) or [gx, gy(, gz)] (tangential part)."""
    w = f"{where}.wall_flux"
    if isinstance(val, list):
        if len(val) not in (2, 3):
            raise FemheatInputError(
                f"{w} must be a number or expression (2D: q.t) or a list of 2 or 3 "
                f"components, got {len(val)} components")
        return TangentialFlux(tuple(value(c, f"{w}[{i}]") for i, c in enumerate(val)))
    return TangentialFlux(value(val, w))


def _wall(spec: dict, where: str):
    """GK wall condition of a boundary table: wall = "no_slip"|"free_slip",
    slip_coefficient or wall_flux."""
    given = [k for k in ("wall", "slip_coefficient", "wall_flux") if k in spec]
    if len(given) > 1:
        raise FemheatInputError(f"{where}: give one of wall, slip_coefficient or wall_flux, "
                                f"not {' and '.join(given)}")
    if "wall_flux" in spec:
        return _wall_flux(spec["wall_flux"], where)
    if "slip_coefficient" in spec:
        c = number(spec["slip_coefficient"], f"{where}.slip_coefficient")
        if not c > 0:
            raise FemheatInputError(
                f"{where}.slip_coefficient must be > 0, got {c}; use wall = \"no_slip\" for 0")
        return SlipLength(c)
    wall = spec.get("wall")
    if wall is None:
        return None
    walls = {"no_slip": NoSlip(), "free_slip": FreeSlip()}
    if wall not in walls:
        raise FemheatInputError(
            f"{where}.wall = {wall!r}; use \"no_slip\" or \"free_slip\" (or "
            "slip_coefficient = C_s for a slip length C_s*l, or wall_flux = g for a "
            "prescribed tangential flux)")
    return walls[wall]


def _convection(val, w: str) -> Convection:
    if not isinstance(val, dict):
        raise FemheatInputError(f"{w} must be a table with heat_transfer_coefficient "
                                "and ambient_temperature")
    check_keys(val, {"heat_transfer_coefficient", "ambient_temperature"}, w)
    for k in ("heat_transfer_coefficient", "ambient_temperature"):
        if k not in val:
            raise FemheatInputError(f"{w}.{k} is missing")
    h = number(val["heat_transfer_coefficient"], f"{w}.heat_transfer_coefficient")
    if not h > 0:
        raise FemheatInputError(f"{w}.heat_transfer_coefficient must be > 0 "
                                f"W/(m^2 K), got {h}; use heat_flux = 0 for insulated")
    return Convection(h, value(val["ambient_temperature"], f"{w}.ambient_temperature"))


def _surface_normal(spec: dict, wall, where: str) -> bool:
    """Whether the boundary asks for the mesh's smooth normal (surface_normal = "mesh")."""
    if "surface_normal" not in spec:
        return False
    w = f"{where}.surface_normal"
    if spec["surface_normal"] != "mesh":
        raise FemheatInputError(
            f"{w} = {spec['surface_normal']!r}; the only value is \"mesh\" (the smooth normal "
            "reconstructed from the wall's facets); remove the key for the facet normals")
    if isinstance(wall, NoSlip):
        raise FemheatInputError(
            f"{w} is for free-slip (the default), slip-length or tangential-flux walls on "
            "curved surfaces; a no-slip wall needs no normal (q = 0 whatever the normal): "
            "remove it")
    thermal = spec.get("heat_flux")
    if not (isinstance(thermal, (int, float)) and not isinstance(thermal, bool)
            and thermal == 0):
        given = ", ".join(f"{k} = {spec[k]!r}" for k in sorted(_KINDS) if k in spec)
        raise FemheatInputError(
            f"{w}: a wall given its smooth normal is made impermeable (q.n = 0) weakly, so "
            f"the boundary must be insulated: give heat_flux = 0 (got {given or 'nothing'}), "
            "or remove surface_normal")
    return True


def parse_boundaries(data: dict) -> tuple[dict, dict, set]:
    """(boundary conditions, GK walls, names of the walls that take the mesh's smooth
    normal); the first two name -> condition."""
    bcs, walls, smooth = {}, {}, set()
    for name, spec in table(data, "boundaries", "").items():
        where = f"boundaries.{name}"
        if not isinstance(spec, dict):
            raise FemheatInputError(f"{where} must be a table")
        check_keys(spec, _KINDS | {"wall", "slip_coefficient", "wall_flux", "surface_normal"},
                   where)
        wall = _wall(spec, where)
        if _surface_normal(spec, wall, where):
            smooth.add(name)
            wall = FreeSlip() if wall is None else wall  # free slip: every boundary's default
        if wall is not None:
            walls[name] = wall
        spec = {k: v for k, v in spec.items() if k in _KINDS}
        if len(spec) != 1:
            raise FemheatInputError(
                f"{where}: give exactly one of temperature (K), heat_flux (W/m^2, "
                "outward; 0 = insulated) or convection")
        (kind, val), = spec.items()
        if kind == "temperature":
            bcs[name] = Temperature(value(val, f"{where}.temperature"))
        elif kind == "heat_flux":
            bcs[name] = HeatFlux(value(val, f"{where}.heat_flux"))
        else:
            bcs[name] = _convection(val, f"{where}.convection")
    return bcs, walls, smooth


def mesh_normal_walls(walls: dict, smooth: set, regions) -> dict:
    """``walls`` with the reconstructed smooth normal of each boundary in ``smooth``
    (:func:`~femheat.mesh.normals.boundary_normal`)."""
    if not smooth:
        return walls
    from dataclasses import replace

    from ...mesh.normals import boundary_normal

    return {name: replace(wall, normal=boundary_normal(regions, name)) if name in smooth
            else wall for name, wall in walls.items()}
