"""``[homogenization]``: an effective-conductivity study of a representative cell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ...errors import FemheatInputError
from ...mesh.regions import RegionMesh
from .common import check_keys, number, table

__all__ = ["HomogenizationSettings", "parse_homogenization"]


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



def _resistance_list(value, where: str) -> np.ndarray:
    if isinstance(value, dict):
        check_keys(value, {"from", "to", "points"}, where)
        for k in ("from", "to", "points"):
            if k not in value:
                raise FemheatInputError(f"{where}.{k} is missing")
        lo, hi = number(value["from"], f"{where}.from"), number(value["to"], f"{where}.to")
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
    out = np.array([number(v, f"{where}[{i}]") for i, v in enumerate(value)])
    if np.any(out < 0):
        raise FemheatInputError(f"{where} must hold resistances >= 0 m^2 K/W")
    return out


def parse_homogenization(data: dict, regions: RegionMesh, materials: dict, interfaces: dict,
                         mtype: str, options: dict) -> HomogenizationSettings:
    """Parse ``[homogenization]`` (see the module docstring)."""
    from ...analysis.homogenization import CELL_BOUNDARY_CONDITIONS

    h = table(data, "homogenization", "")
    check_keys(h, {"boundary", "axes", "matrix", "crossover", "sweep", "reference", "fit"},
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
    cell = dict(regions=regions, materials=materials, interfaces=interfaces, model=mtype,
                boundary=boundary, axes=axes, **options)
    settings = HomogenizationSettings(cell, matrix, bool(h.get("crossover", False)))
    if settings.crossover and matrix is None:
        raise FemheatInputError("homogenization.crossover needs homogenization.matrix "
                                "(the material whose conductivity is k_m)")
    sweep = table(h, "sweep", "homogenization.")
    check_keys(sweep, {"resistances", "interfaces", "component"}, "homogenization.sweep")
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
    ref = table(h, "reference", "homogenization.")
    if ref:
        check_keys(ref, {"model", "inclusion", "radius", "volume_fraction"},
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
            "radius": number(radius, "homogenization.reference.radius"),
            "volume_fraction": (None if "volume_fraction" not in ref else number(
                ref["volume_fraction"], "homogenization.reference.volume_fraction")),
        }
    fit = table(h, "fit", "homogenization.")
    if fit:
        check_keys(fit, {"measured", "sigma"}, "homogenization.fit")
        if "measured" not in fit:
            raise FemheatInputError("homogenization.fit.measured is missing (W/(m K))")
        settings.fit_measured = number(fit["measured"], "homogenization.fit.measured")
        if "sigma" in fit:
            settings.fit_sigma = number(fit["sigma"], "homogenization.fit.sigma")
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
