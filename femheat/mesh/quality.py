"""Mesh quality: angles, aspect ratios and cell measures of simplex meshes.

Measures (all vectorized; ~1 s for 1e6 cells):

* **minimum angle** -- 2D: the smallest interior angle of each triangle
  (60 degrees for an equilateral one); 3D: the smallest *dihedral* angle of
  each tetrahedron (70.53 degrees for a regular one). Slivers and needles
  have angles near 0.
* **aspect ratio** -- normalized so that the equilateral triangle and the
  regular tetrahedron have 1. 2D: ``l_max / (2 sqrt 3 r_in)`` (longest edge
  over inradius); 3D: the inverse radius ratio ``R_circ / (3 r_in)``.
  Degenerate cells have an infinite aspect ratio.
* **cell measure** -- area [m^2] or volume [m^3].

:func:`mesh_quality` reports these for a :class:`~femheat.mesh.regions.RegionMesh`;
:func:`check_mesh_quality` raises :class:`~femheat.errors.MeshError`, naming
the worst cell, its material and its location, when the mesh is worse than
given limits. The geometry builders run the check on every mesh they write
(with :data:`DEFAULT_LIMITS`) and store :meth:`MeshQuality.summary` in the
mesh's JSON sidecar under ``"quality"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import MeshError

__all__ = [
    "DEFAULT_LIMITS",
    "MeshQuality",
    "check_mesh_quality",
    "mesh_quality",
    "raise_if_poor",
    "simplex_quality",
]

#: Default limits of :func:`check_mesh_quality` per dimension: (min angle [deg], max aspect).
#: They flag degenerate output (needles, slivers), not merely mediocre cells:
#: gmsh's Delaunay meshes have min angles of ~20-30 deg (2D) and min dihedral
#: angles of ~5-15 deg (3D).
DEFAULT_LIMITS: dict[int, tuple[float, float]] = {2: (5.0, 20.0), 3: (1.0, 50.0)}


@dataclass(frozen=True)
class MeshQuality:
    """Quality figures of a triangle (2D) or tetrahedron (3D) mesh.

    Attributes
    ----------
    dim
        Spatial dimension.
    n_cells
        Number of cells.
    min_angle_deg
        Smallest triangle angle (2D) or dihedral angle (3D) [degrees].
    max_aspect_ratio
        Largest aspect ratio (1 for equilateral/regular cells).
    mean_aspect_ratio
        Mean aspect ratio.
    min_cell_measure, max_cell_measure
        Smallest and largest cell area [m^2] or volume [m^3].
    worst_angle_cell
        Index of the cell with the smallest angle.
    worst_angle_location
        Centroid of that cell [m].
    worst_aspect_cell
        Index of the cell with the largest aspect ratio.
    worst_aspect_location
        Centroid of that cell [m].
    subdomain_min_angle_deg
        Smallest angle per material region [degrees].
    cell_min_angle_deg
        Smallest angle of every cell [degrees], shape (n_cells,).
    cell_aspect_ratio
        Aspect ratio of every cell, shape (n_cells,).
    """

    dim: int
    n_cells: int
    min_angle_deg: float
    max_aspect_ratio: float
    mean_aspect_ratio: float
    min_cell_measure: float
    max_cell_measure: float
    worst_angle_cell: int
    worst_angle_location: tuple[float, ...]
    worst_aspect_cell: int
    worst_aspect_location: tuple[float, ...]
    subdomain_min_angle_deg: dict[str, float] = field(default_factory=dict)
    cell_min_angle_deg: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    cell_aspect_ratio: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def summary(self) -> dict[str, Any]:
        """The scalar figures as a JSON-ready dict (per-cell arrays left out)."""

        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {
            "dim": self.dim,
            "n_cells": self.n_cells,
            "angle": "triangle angle" if self.dim == 2 else "dihedral angle",
            "min_angle_deg": num(self.min_angle_deg),
            "max_aspect_ratio": num(self.max_aspect_ratio),
            "mean_aspect_ratio": num(self.mean_aspect_ratio),
            "min_cell_measure": self.min_cell_measure,
            "max_cell_measure": self.max_cell_measure,
            "worst_angle_cell": self.worst_angle_cell,
            "worst_angle_location": list(self.worst_angle_location),
            "worst_aspect_cell": self.worst_aspect_cell,
            "worst_aspect_location": list(self.worst_aspect_location),
            "subdomain_min_angle_deg": {k: num(v) for k, v in
                                        self.subdomain_min_angle_deg.items()},
        }


# ---------------------------------------------------------------- measures
def _triangle_figures(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(min angle [deg], aspect ratio, area) of triangles; p (2 or 3, n), t (3, nc)."""
    x = [p[:, t[i]] for i in range(3)]
    e = [x[(i + 2) % 3] - x[(i + 1) % 3] for i in range(3)]  # edge opposite vertex i
    length = np.stack([np.linalg.norm(v, axis=0) for v in e])  # (3, nc)
    if p.shape[0] == 2:
        area = 0.5 * np.abs(e[2][0] * e[1][1] - e[2][1] * e[1][0])
    else:
        area = 0.5 * np.linalg.norm(np.cross(e[2], e[1], axis=0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # angle at vertex i between the edges (i -> i+1) and (i -> i+2)
        cosines = []
        for i in range(3):
            a = x[(i + 1) % 3] - x[i]
            b = x[(i + 2) % 3] - x[i]
            cosines.append(np.sum(a * b, axis=0) / (length[(i + 2) % 3] * length[(i + 1) % 3]))
        ang = np.degrees(np.arccos(np.clip(np.stack(cosines), -1.0, 1.0)))
        min_angle = np.nan_to_num(ang.min(axis=0), nan=0.0)
        aspect = length.max(axis=0) * length.sum(axis=0) / (4.0 * math.sqrt(3.0) * area)
    aspect = np.where(area > 0, aspect, np.inf)
    return min_angle, aspect, area


def _tetra_figures(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(min dihedral angle [deg], aspect ratio, volume) of tetrahedra; p (3, n), t (4, nc)."""
    x = [p[:, t[i]] for i in range(4)]
    vol = np.abs(np.einsum("ij,ij->j", x[1] - x[0], np.cross(x[2] - x[0], x[3] - x[0], axis=0))) / 6
    # face i is opposite vertex i; its normal, oriented away from vertex i
    normals, areas = [], []
    for i in range(4):
        a, b, c = (x[k] for k in range(4) if k != i)
        n = np.cross(b - a, c - a, axis=0)
        n *= np.where(np.sum(n * (a - x[i]), axis=0) < 0, -1.0, 1.0)
        norm = np.linalg.norm(n, axis=0)
        areas.append(0.5 * norm)
        with np.errstate(divide="ignore", invalid="ignore"):
            normals.append(n / norm)
    dihedral = []
    for i in range(4):
        for j in range(i + 1, 4):
            cos = -np.sum(normals[i] * normals[j], axis=0)
            dihedral.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    min_angle = np.nan_to_num(np.stack(dihedral).min(axis=0), nan=0.0)
    # circumradius from the products of opposite edge lengths
    def edge(i: int, j: int) -> np.ndarray:
        return np.linalg.norm(x[i] - x[j], axis=0)

    pa = edge(0, 1) * edge(2, 3)
    pb = edge(0, 2) * edge(1, 3)
    pc = edge(0, 3) * edge(1, 2)
    prod = (pa + pb + pc) * (pa + pb - pc) * (pa - pb + pc) * (-pa + pb + pc)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_circ = np.sqrt(np.maximum(prod, 0.0)) / (24.0 * vol)
        r_in = 3.0 * vol / np.sum(areas, axis=0)
        aspect = r_circ / (3.0 * r_in)
    aspect = np.where(vol > 0, aspect, np.inf)
    return min_angle, aspect, vol


def simplex_quality(
    p: np.ndarray,
    t: np.ndarray,
    subdomains: Mapping[str, np.ndarray] | None = None,
) -> MeshQuality:
    """Quality of the simplex mesh with nodes ``p`` (d, n) [m] and cells ``t`` (d + 1, nc).

    Parameters
    ----------
    p
        Node coordinates, shape (2, n) or (3, n) [m].
    t
        Cell connectivity: triangles (3, nc) or tetrahedra (4, nc).
    subdomains
        Optional material name -> cell indices, for the per-region angles.
    """
    p = np.asarray(p, dtype=float)
    t = np.asarray(t, dtype=np.int64)
    if t.shape[0] == 3:
        min_angle, aspect, measure = _triangle_figures(p, t)
    elif t.shape[0] == 4 and p.shape[0] == 3:
        min_angle, aspect, measure = _tetra_figures(p, t)
    else:
        raise MeshError(
            f"mesh quality needs triangles or tetrahedra; got cells with {t.shape[0]} nodes "
            f"in {p.shape[0]}D")
    nc = t.shape[1]
    if nc == 0:
        raise MeshError("the mesh has no cells")
    centroid = p[:, t].mean(axis=1)
    ia = int(np.argmin(min_angle))
    ib = int(np.argmax(aspect))
    per = {name: float(min_angle[np.asarray(cells, dtype=np.int64)].min())
           for name, cells in (subdomains or {}).items() if len(cells)}
    return MeshQuality(
        dim=t.shape[0] - 1,
        n_cells=nc,
        min_angle_deg=float(min_angle[ia]),
        max_aspect_ratio=float(aspect[ib]),
        mean_aspect_ratio=float(np.mean(aspect)),
        min_cell_measure=float(measure.min()),
        max_cell_measure=float(measure.max()),
        worst_angle_cell=ia,
        worst_angle_location=tuple(float(v) for v in centroid[:, ia]),
        worst_aspect_cell=ib,
        worst_aspect_location=tuple(float(v) for v in centroid[:, ib]),
        subdomain_min_angle_deg=per,
        cell_min_angle_deg=min_angle,
        cell_aspect_ratio=aspect,
    )


def mesh_quality(regions: Any) -> MeshQuality:
    """Quality report of a :class:`~femheat.mesh.regions.RegionMesh` (or a scikit-fem mesh).

    Parameters
    ----------
    regions
        A ``RegionMesh`` (per-material angles included) or a
        ``skfem.MeshTri1``/``MeshTet1``.

    Returns
    -------
    MeshQuality
    """
    mesh = getattr(regions, "mesh", regions)
    return simplex_quality(mesh.p, mesh.t, getattr(regions, "subdomains", None))


def _owner(cell: int, subdomains: Mapping[str, np.ndarray] | None) -> str:
    for name, cells in (subdomains or {}).items():
        if np.any(np.asarray(cells) == cell):
            return f" in {name!r}"
    return ""


def _where(loc: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in loc) + ") m"


def acceptable(quality: MeshQuality) -> bool:
    """True if ``quality`` passes :data:`DEFAULT_LIMITS` (what :func:`raise_if_poor` checks)."""
    angle, aspect = DEFAULT_LIMITS[quality.dim]
    return bool(quality.min_angle_deg >= angle and quality.max_aspect_ratio <= aspect)


def raise_if_poor(
    quality: MeshQuality,
    min_angle_deg: float | None = None,
    max_aspect: float | None = None,
    subdomains: Mapping[str, np.ndarray] | None = None,
    source: str = "mesh",
) -> None:
    """Raise :class:`MeshError` if ``quality`` breaks the limits.

    ``None`` limits take :data:`DEFAULT_LIMITS`; ``subdomains`` (name -> cell
    indices) names the material of the worst cell, ``source`` the mesh.
    """
    default_angle, default_aspect = DEFAULT_LIMITS[quality.dim]
    angle_limit = default_angle if min_angle_deg is None else float(min_angle_deg)
    aspect_limit = default_aspect if max_aspect is None else float(max_aspect)
    kind = "triangle angle" if quality.dim == 2 else "dihedral angle"
    if not quality.min_angle_deg >= angle_limit:
        c = quality.worst_angle_cell
        raise MeshError(
            f"{source}: degenerate cells, smallest {kind} {quality.min_angle_deg:.3g} deg < "
            f"{angle_limit:g} deg (min_angle_deg) at cell {c}{_owner(c, subdomains)}, "
            f"centroid {_where(quality.worst_angle_location)}; "
            f"{np.count_nonzero(quality.cell_min_angle_deg < angle_limit)} cells are below the "
            "limit. Refine the mesh there (smaller mesh_size/interface_mesh_size) or widen "
            "narrow gaps (min_gap) and thin layers")
    if not quality.max_aspect_ratio <= aspect_limit:
        c = quality.worst_aspect_cell
        raise MeshError(
            f"{source}: degenerate cells, largest aspect ratio {quality.max_aspect_ratio:.3g} > "
            f"{aspect_limit:g} (max_aspect) at cell {c}{_owner(c, subdomains)}, "
            f"centroid {_where(quality.worst_aspect_location)}; "
            f"{np.count_nonzero(quality.cell_aspect_ratio > aspect_limit)} cells exceed the "
            "limit. Refine the mesh there or widen narrow gaps and thin layers")


def check_mesh_quality(
    regions: Any,
    min_angle_deg: float | None = None,
    max_aspect: float | None = None,
) -> MeshQuality:
    """Quality report of ``regions``; raise if the mesh is degenerate.

    Parameters
    ----------
    regions
        A :class:`~femheat.mesh.regions.RegionMesh` or a scikit-fem simplex mesh.
    min_angle_deg
        Smallest acceptable triangle angle (2D) or dihedral angle (3D)
        [degrees]; default :data:`DEFAULT_LIMITS` (5 in 2D, 1 in 3D).
    max_aspect
        Largest acceptable aspect ratio; default 20 (2D), 50 (3D).

    Returns
    -------
    MeshQuality
        The report, when the mesh passes.

    Raises
    ------
    MeshError
        Naming the worst cell (index, material, centroid in metres), its
        angle or aspect ratio and the number of cells beyond the limit.
    """
    quality = mesh_quality(regions)
    raise_if_poor(quality, min_angle_deg, max_aspect, getattr(regions, "subdomains", None))
    return quality
