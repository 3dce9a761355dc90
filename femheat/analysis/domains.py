r"""Thermal domains (seed 000): regions of aligned heat flux in the ordered phase.

In the ordered phase of the Landau–Khalatnikov law (a < 0, b > 0) the flux takes
the magnitude |q| = √(−a/b) (or the root of a + b s² + c s⁴ = 0) and a direction
that varies from region to region. Here a cell belongs to an *ordered* cell class
when |q̄_K| ≥ ``threshold`` (default half the ordered magnitude), and its flux
direction is binned into ``sectors`` equal angular sectors (4: ±x, ±y, like a
four-state clock model). A *domain* is a connected set (cells sharing a facet) of
ordered cells in the same sector; *walls* are the interior facets between cells of
different classes, their total length [m] the wall length. Vortices are the
critical points of winding number +1 of :func:`femheat.analysis.vortices.critical_points`.

Coarsening statistics: the mean domain area A(t) = (ordered area)/(domain count)
[m²] and the length scale L(t) = (total area)/(wall length) [m]; for
non-conserved XY/Ising coarsening L grows like t^{1/2}.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .postprocess import cell_averages
from .vortices import critical_points, vertex_flux

__all__ = ["DomainStatistics", "ordered_magnitude", "domain_statistics", "write_statistics"]


@dataclass
class DomainStatistics:
    """Domain statistics of one flux field (2D)."""

    time: float  # [s]
    domains: int  # connected regions of aligned ordered flux
    wall_length: float  # [m]
    mean_domain_area: float  # [m²]
    length_scale: float  # area / wall length [m]
    ordered_fraction: float  # area fraction with |q| ≥ threshold
    vortices: int  # interior critical points of kind "vortex" (index +1, rotating)
    antivortices: int  # interior critical points of index −1 (saddles)
    mean_magnitude: float  # area mean of |q| [W m⁻²]


def ordered_magnitude(a: float, b: float, c: float = 0.0) -> float:
    """|q| of the ordered phase [W m⁻²]: √(−a/b), or with c > 0 the positive root
    s² = (−b + √(b² − 4ac))/(2c) of a + b s² + c s⁴ = 0 (a < 0, b > 0, c ≥ 0)."""
    if not (a < 0 < b) or c < 0:
        raise ValueError(f"ordered phase needs a < 0 < b and c >= 0, got a={a}, b={b}, c={c}")
    s2 = -a / b if c == 0 else (-b + np.sqrt(b * b - 4 * a * c)) / (2 * c)
    return float(np.sqrt(s2))


def _system_magnitude(system: Any) -> float:
    """The ordered magnitude of a system's Landau materials (largest over materials)."""
    out = 0.0
    for mat in system.problem.materials.values():
        if getattr(mat, "ordered", False):  # stored as b/|a|, c/|a|: a = −1 in those units
            out = max(out, ordered_magnitude(-1.0, mat.quartic, mat.sextic))
    return out


def domain_statistics(system: Any, state: Any, *, sectors: int = 4,
                      threshold: Optional[float] = None) -> DomainStatistics:
    """Domains, walls and vortices of the flux of ``state`` (module docstring).

    Parameters
    ----------
    system, state
        A solved 2D mixed system and one of its states.
    sectors
        Number of direction classes (≥ 2).
    threshold
        |q| [W m⁻²] below which a cell is disordered; default half the ordered
        magnitude of the system's Landau materials (or of the largest cell flux).
    """
    mesh = system.problem.regions.mesh
    if mesh.dim() != 2:
        raise ValueError("domain statistics are defined for 2D meshes")
    if sectors < 2:
        raise ValueError(f"sectors must be >= 2, got {sectors}")
    q = cell_averages(system, state)[1]
    mag = np.linalg.norm(q, axis=0)
    if threshold is None:
        ref = _system_magnitude(system) or float(mag.max())
        threshold = 0.5 * ref
    area = system.flux_basis.dx.sum(axis=1)
    angle = np.mod(np.arctan2(q[1], q[0]) + np.pi / sectors, 2 * np.pi)
    cls = np.floor(angle / (2 * np.pi / sectors)).astype(int) % sectors
    ordered = mag >= threshold
    cls[~ordered] = -1
    f2t = mesh.f2t
    inner = np.nonzero(f2t[1] >= 0)[0]
    c0, c1 = f2t[0, inner], f2t[1, inner]
    same = (cls[c0] == cls[c1]) & (cls[c0] >= 0)
    n = mesh.t.shape[1]
    graph = sp.coo_matrix((np.ones(same.sum()), (c0[same], c1[same])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    count = np.unique(labels[ordered]).size
    p = mesh.p
    length = np.linalg.norm(p[:, mesh.facets[1, inner]] - p[:, mesh.facets[0, inner]], axis=0)
    wall = float(length[cls[c0] != cls[c1]].sum())
    total = float(area.sum())
    cps = critical_points(mesh, vertex_flux(mesh, (system.flux_basis, state.flux)),
                          flux_scale=threshold)
    kinds = [c.kind for c in cps]
    return DomainStatistics(
        time=float(state.time), domains=int(count), wall_length=wall,
        mean_domain_area=float(area[ordered].sum() / count) if count else 0.0,
        length_scale=total / wall if wall > 0 else float(np.sqrt(total)),
        ordered_fraction=float(area[ordered].sum() / total),
        vortices=kinds.count("vortex"), antivortices=kinds.count("saddle"),
        mean_magnitude=float((mag * area).sum() / total))


def write_statistics(rows: Iterable[DomainStatistics], path: str | Path) -> Path:
    """Write the statistics over time to a CSV file (one row per time)."""
    import io

    from ..io.atomic import write_text

    path = Path(path)
    names = list(DomainStatistics.__dataclass_fields__)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([asdict(r)[k] for k in names])
    write_text(path, buf.getvalue())
    return path
