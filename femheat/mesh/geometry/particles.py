"""Particle composites: identical particles at a volume fraction, on a lattice or at random.

Placement is done by :mod:`femheat.mesh.packing`; the box and its particles are
drawn by :func:`~femheat.mesh.geometry.inclusions._inclusion_model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...errors import FemheatInputError
from ..packing import lattice_placement, random_placement
from .common import (_BOUNDARY_NAMES_3D, _flag, _lengths, _material_names, _mesh_path,
                     _positive)
from .inclusions import _inclusion_model

__all__ = ["particle_composite"]


_ARRANGEMENTS = ("lattice", "hexagonal", "random")


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays turned into Python numbers/lists (JSON-ready)."""
    if value is None or isinstance(value, str):
        return value
    return np.asarray(value).tolist()


_PARTICLE_NAMES = {"matrix": "matrix", "inclusion": "inclusion", "coating": "coating"}


def particle_composite(
    size: Sequence[float],
    volume_fraction: float,
    *,
    shape: str = "circle",
    arrangement: str = "lattice",
    n_per_side: int | Sequence[int] | None = None,
    n_particles: int | None = None,
    aspect_ratio: float | Sequence[float] = 1.0,
    orientation: float | Sequence[float] | str = 0.0,
    seed: int = 0,
    min_gap: float = 0.0,
    max_attempts: int = 20_000,
    coating_thickness: float | None = None,
    periodic: bool = False,
    mesh_size: float,
    interface_mesh_size: float | None = None,
    names: Mapping[str, str] | None = None,
    path: str | Path,
) -> Path:
    """A particle composite: identical particles at a target volume fraction in a box.

    2D (circles or ellipses) when ``size`` has two entries, 3D (spheres or
    ellipsoids) when it has three. Placement is done by
    :mod:`femheat.mesh.packing` (rules, gap tests and packing limits are described
    there); all particles share one size, computed from the volume fraction.

    Parameters
    ----------
    size
        Cell extents (lx, ly) or (lx, ly, lz) [m]; the cell is [0, lx] x ...
    volume_fraction
        Area (2D) or volume (3D) fraction of the inclusion cores, in (0, 1).
    shape
        ``"circle"``, ``"ellipse"`` (2D), ``"sphere"``, ``"ellipsoid"`` (3D).
    arrangement
        ``"lattice"`` (square in 2D, simple cubic in 3D; limits pi/4 and
        pi/6), ``"hexagonal"`` (2D, rows offset by half a pitch; limit
        pi/(2 sqrt 3), and pi/(8 sqrt 3) = 0.227 without wrapping) or
        ``"random"`` (random sequential addition; practical limits 0.50 in
        2D, 0.35 in 3D).
    n_per_side
        Lattices: particles along each axis (one integer or one per axis;
        hexagonal: (columns, even number of rows)).
    n_particles
        Random arrangement: number of particles.
    aspect_ratio
        Ellipse: major over minor semi-axis (>= 1). Ellipsoid: a/b with
        b = c, or a pair (a/c, b/c). Must be 1 for circles and spheres.
    orientation
        Angle of the major axis from x [degrees] (about z in 3D), three z-y-z
        Euler angles [degrees] (3D), or ``"random"`` (per particle, seeded).
    seed
        Seed of the random placement and orientations.
    min_gap
        Smallest gap between particles [m] (half of it to the cell faces);
        coatings count as part of the particles. For random packings a gap of
        about ``interface_mesh_size`` keeps the cells between particles well
        shaped.
    max_attempts
        Random arrangement: candidate positions tried per particle.
    coating_thickness
        Thickness of a coating shell around every particle [m] (default: no
        coating). Ellipse/ellipsoid coatings enlarge every semi-axis by it.
    periodic
        Mesh opposite faces node for node identically (particles are never
        wrapped across the cell).
    mesh_size
        Target element size away from the particle surfaces [m].
    interface_mesh_size
        Element size on the particle (and coating) surfaces [m], growing to
        ``mesh_size`` away from them (default: uniform ``mesh_size``).
    names
        Material names, a mapping with keys among ``"matrix"``,
        ``"inclusion"``, ``"coating"`` (defaults: the keys themselves).
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it
        whose ``"derived"`` entry holds the placed particles and the achieved
        volume fraction.

    Returns
    -------
    Path
        ``path``. Regions: matrix, inclusion (all particles one region) and
        coating (with a coating); interfaces ``"inclusion_surface"``
        (inclusion | matrix, or inclusion | coating) and ``"coating_surface"``
        (coating | matrix); boundaries ``"left"``/``"right"``,
        ``"bottom"``/``"top"`` and in 3D ``"front"``/``"back"``.

    Raises
    ------
    FemheatInputError
        Unknown shape, arrangement or material key, a volume fraction above
        the packing limit of the arrangement, a random placement that fails
        within its attempt budget, non-positive sizes.
    """
    path = _mesh_path(path)
    try:
        dim = len(size)  # type: ignore[arg-type]
    except TypeError:
        raise FemheatInputError(
            f"size = {size!r} must be 2 or 3 cell extents (lx, ly[, lz]) [m]") from None
    extent = _lengths("size", size)
    if dim not in (2, 3):
        raise FemheatInputError(f"size = {size!r} must have 2 (2D) or 3 (3D) entries [m]")
    mesh_size = _positive("mesh_size", mesh_size)
    h_near = None if interface_mesh_size is None else _positive(
        "interface_mesh_size", interface_mesh_size)
    t = 0.0 if coating_thickness is None else _positive("coating_thickness", coating_thickness)
    periodic = _flag("periodic", periodic)
    if arrangement not in _ARRANGEMENTS:
        raise FemheatInputError(
            f"arrangement = {arrangement!r} is unknown; use one of "
            + ", ".join(repr(a) for a in _ARRANGEMENTS))
    if names is not None and not isinstance(names, Mapping):
        raise FemheatInputError(
            f"names = {names!r} must be a mapping such as {{'matrix': 'epoxy', "
            "'inclusion': 'silica'}")
    given = dict(names or {})
    unknown = sorted(set(given) - set(_PARTICLE_NAMES))
    if unknown:
        raise FemheatInputError(
            f"names has unknown material keys {unknown}; the materials of a particle "
            f"composite are {sorted(_PARTICLE_NAMES)} (e.g. names = {{'matrix': 'epoxy'}})")
    mat_names = {**_PARTICLE_NAMES, **given}
    if t == 0:
        mat_names.pop("coating")
    facet_names = set(_BOUNDARY_NAMES_3D) | {"inclusion_surface", "coating_surface"}
    _material_names(mat_names, facet_names)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FemheatInputError(f"seed = {seed!r} must be an integer >= 0")
    common = dict(shape=shape, aspect_ratio=aspect_ratio, orientation=orientation,
                  min_gap=min_gap, coating_thickness=t, seed=seed)
    if arrangement == "random":
        if n_per_side is not None:
            raise FemheatInputError(
                "n_per_side is for lattices; give n_particles for arrangement = \"random\"")
        if n_particles is None:
            raise FemheatInputError(
                "arrangement = \"random\" needs n_particles (the number of particles)")
        placed = random_placement(extent, volume_fraction, n_particles,
                                  max_attempts=max_attempts, **common)
    else:
        if n_particles is not None:
            raise FemheatInputError(
                f"n_particles is for arrangement = \"random\"; give n_per_side for "
                f"arrangement = {arrangement!r}")
        if n_per_side is None:
            raise FemheatInputError(
                f"arrangement = {arrangement!r} needs n_per_side (particles along each axis)")
        lattice = "hexagonal" if arrangement == "hexagonal" else None
        placed = lattice_placement(extent, volume_fraction, n_per_side, lattice=lattice,
                                   **common)
    params = {
        "size": extent,
        "volume_fraction": float(volume_fraction),
        "shape": shape,
        "arrangement": arrangement,
        "n_per_side": _plain(n_per_side),
        "n_particles": _plain(n_particles),
        "aspect_ratio": _plain(aspect_ratio),
        "orientation": _plain(orientation),
        "seed": int(seed),
        "min_gap": float(min_gap),
        "max_attempts": int(max_attempts),
        "coating_thickness": coating_thickness if coating_thickness is None else t,
        "periodic": periodic,
        "mesh_size": mesh_size,
        "interface_mesh_size": h_near,
        "names": None if names is None else given,
    }
    return _inclusion_model(
        "particle_composite", params, extent, placed.centers, placed.semi_axes,
        placed.rotations, t, mat_names, mesh_size, h_near, periodic, path, placed.to_dict())
