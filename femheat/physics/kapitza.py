r"""Kapitza resistance along an interface: evaluation and validation on the mesh.

A :class:`~femheat.physics.conditions.KapitzaResistance` holds R_K [m² K W⁻¹] as a
number, a function ``f(x) -> R_K`` or one value per facet. This module turns it into
values at points of the interface facets, for the facet term of the mixed model

.. math::

    \sum_\Gamma \langle R_K(\mathbf x)\, q\cdot n,\ v\cdot n\rangle_\Gamma ,
    \qquad T_A - T_B = R_K(\mathbf x)\, q\cdot n_{AB},

and checks the values where the mesh is first known (``HeatProblem`` and
``CellProblem`` creation), so that a wrong array length, a NaN or a negative value is
reported with the key ``interfaces.NAME.kapitza_resistance`` (or
``kapitza_conductance``), the facet it occurs on and the fix, before anything is
assembled, instead of surfacing as a numpy error inside assembly.

A per-facet value is constant on its facet; a function is evaluated at the points
asked for (the facet quadrature points in assembly, the facet midpoints in
:func:`~femheat.analysis.postprocess.interface_report`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Mapping

import numpy as np
import skfem

from ..errors import FemheatInputError
from .conditions import KapitzaResistance

if TYPE_CHECKING:
    from ..mesh.regions import RegionMesh

__all__ = ["interface_points", "facet_midpoints", "interface_resistance",
           "check_interfaces"]

log = logging.getLogger(__name__)


def facet_midpoints(regions: RegionMesh, facets: np.ndarray) -> np.ndarray:
    """Vertex means of ``facets``, shape (d, n_facets) [m]."""
    mesh = regions.mesh
    return mesh.p[:, mesh.facets[:, facets]].mean(axis=1)


def interface_points(regions: RegionMesh, name: str, intorder: int) -> np.ndarray:
    """Facet quadrature points of interface ``name``, shape (d, n_facets, n_points) [m].

    The points of an ``InteriorFacetBasis`` of order ``intorder`` on the facets in
    ``regions.interface(name)`` order (those at which assembly evaluates R_K).
    """
    mesh = regions.mesh
    ib = skfem.InteriorFacetBasis(mesh, type(mesh).elem(), facets=regions.interface(name),
                                  intorder=intorder)
    return ib.global_coordinates().value


def _where(kapitza: KapitzaResistance, name: str) -> str:
    return f"interfaces.{name}.{kapitza.key}"


def _fix(kapitza: KapitzaResistance) -> str:
    if kapitza.given_as == "conductance":
        return "give finite conductances > 0 W/(m^2 K)"
    return "give finite resistances >= 0 m^2 K/W (0 is perfect contact)"


def _show_point(x: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in x) + ")"


def _check_values(values: np.ndarray, kapitza: KapitzaResistance, name: str,
                  regions: RegionMesh, facets: np.ndarray, what: str) -> None:
    """Refuse NaN, infinite or negative R_K with how many, and where the first one is."""
    bad_nan = ~np.isfinite(values)
    bad_neg = np.isfinite(values) & (values < 0)
    if not (bad_nan.any() or bad_neg.any()):
        return
    flat = values.reshape(facets.size, -1)
    bad = (bad_nan | bad_neg).reshape(facets.size, -1)
    first = int(np.nonzero(bad.any(axis=1))[0][0])
    value = flat[first][bad[first]][0]
    mid = facet_midpoints(regions, facets[[first]])[:, 0]
    total = values.size
    nbad = int(bad.sum())
    if kapitza.given_as == "conductance":
        with np.errstate(divide="ignore"):
            shown = f"G_K = {1.0 / value:.6g} W/(m^2 K)"
        kind = "not finite and > 0"
    else:
        shown = f"R_K = {value:.6g} m^2 K/W"
        kind = ("NaN or infinite" if not bad_neg.any() else
                "negative" if not bad_nan.any() else "NaN, infinite or negative")
    raise FemheatInputError(
        f"{_where(kapitza, name)}: {nbad} of {total} {what} are {kind} (first on facet "
        f"{first} of the interface, midpoint {_show_point(mid)} m: {shown}); "
        f"{_fix(kapitza)}")


def interface_resistance(regions: RegionMesh, name: str, kapitza: KapitzaResistance,
                         points: np.ndarray | None = None) -> np.ndarray:
    """R_K [m² K W⁻¹] of interface ``name`` at points of its facets, validated.

    Parameters
    ----------
    regions
        The mesh and its named interfaces.
    name
        Interface name (its facets in ``regions.interface(name)`` order).
    kapitza
        The interface's resistance (number, function or per-facet values).
    points
        Positions [m] of shape (d, n_facets, n_points) on those facets (e.g. a facet
        basis's quadrature points), or None for the facet midpoints.

    Returns
    -------
    numpy.ndarray
        Shape (n_facets, n_points), or (n_facets,) when ``points`` is None.

    Raises
    ------
    FemheatInputError
        Per-facet values of the wrong length; a function that raises, returns the
        wrong shape, NaN or negative values; NaN or negative per-facet values. The
        message names ``interfaces.NAME.kapitza_resistance`` (or
        ``kapitza_conductance``), how many values are bad and the first facet's
        index and midpoint.
    """
    facets = regions.interface(name)
    nf = facets.size
    midpoints = points is None
    x = facet_midpoints(regions, facets)[:, :, None] if midpoints else np.asarray(points)
    if x.ndim != 3 or x.shape[1] != nf:
        raise FemheatInputError(
            f"interface_resistance: points must have shape (d, {nf}, n) for the {nf} facets "
            f"of {name!r}, got {x.shape}")
    R = kapitza.resistance
    where = _where(kapitza, name)
    if isinstance(R, float):
        out = np.full(x.shape[1:], R)
    elif isinstance(R, np.ndarray):
        if R.size != nf:
            raise FemheatInputError(
                f"{where}: {R.size} per-facet values given, but interface {name!r} has {nf} "
                f"facets; give one value per facet, in the order regions.interface({name!r}) "
                "lists them")
        _check_values(R, kapitza, name, regions, facets, "facet values")
        out = np.repeat(R[:, None], x.shape[2], axis=1)
    else:
        try:
            val = np.asarray(R(x), dtype=float)
        except FemheatInputError:
            raise
        except Exception as exc:
            raise FemheatInputError(
                f"{where}: the function f(x) -> {'G_K' if kapitza.given_as == 'conductance' else 'R_K'} "
                f"failed on points x of shape {x.shape} (d, facets, points per facet; "
                f"metres): {type(exc).__name__}: {exc}") from exc
        if val.shape not in ((), x.shape[1:]):
            raise FemheatInputError(
                f"{where}: the function returned shape {val.shape} for points x of shape "
                f"{x.shape}; return one value per point, shape {x.shape[1:]} (x[0], x[1] "
                "... are arrays of that shape), or a scalar")
        out = np.broadcast_to(val, x.shape[1:]).astype(float)
        _check_values(out, kapitza, name, regions, facets,
                      "values (at facet points)")
    return out[:, 0] if midpoints else out


def check_interfaces(regions: RegionMesh, interfaces: Mapping[str, KapitzaResistance],
                     intorder: int | None = None) -> None:
    """Validate every variable R_K against the mesh, before anything is assembled.

    Per-facet values: length and values. Functions: evaluated at the facet
    midpoints and, if ``intorder`` is given, at the facet quadrature points of that
    order (the points assembly uses). Constant R_K were checked when created.
    """
    for name, kap in interfaces.items():
        if not isinstance(kap, KapitzaResistance) or not kap.variable:
            continue
        interface_resistance(regions, name, kap)
        if intorder is not None and callable(kap.resistance):
            interface_resistance(regions, name, kap, interface_points(regions, name, intorder))
        log.debug("interface %r: variable Kapitza resistance checked", name)
