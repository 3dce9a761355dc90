"""Particle placement for composite geometries: lattices and random packings.

Pure numpy (no gmsh): :func:`femheat.mesh.geometry.particle_composite` draws what
this module places. A particle is a circle or ellipse (2D), a sphere or
ellipsoid (3D), given by its centre ``c``, semi-axes ``a`` and rotation
``R``: the points ``c + R diag(a) u`` with ``|u| <= 1``. An optional coating
is the same shape with every semi-axis enlarged by the coating thickness
(a uniform shell for circles and spheres; for ellipses and ellipsoids the
shell is exactly that thick on the axes and thinner in between).

Rules every placement obeys (the coating counts as part of the particle):

* two particles are at least ``min_gap`` apart (Euclidean distance between
  the shapes), and never touch, even for ``min_gap = 0``;
* a particle keeps at least ``min_gap / 2`` from every cell face, so the
  periodic images of a cell are also ``min_gap`` apart. Particles are never
  cut by, or wrapped across, the cell boundary.

Gap tests. For circles and spheres the gap is exact,
``|c_i - c_j| - r_i - r_j``. For ellipses and ellipsoids it is bounded from
below by the separating-axis formula for convex bodies::

    gap >= max_u ( |u . (c_j - c_i)| - h_i(u) - h_j(u) ),   h(u) = |diag(a) R^T u|

(``h`` is the support function), maximized over 360 directions on a half
circle (2D) or 2000 on a half sphere (3D). Every direction gives a separating
slab, so the bound never over-estimates the gap: the test is conservative. It
is sharp to ~1e-5 |c_j - c_i| in 2D and ~5e-4 |c_j - c_i| in 3D. The gap to a
cell face is exact (the half-extent of a rotated ellipse along axis k is
``h(e_k)``).

Packing limits (volume fraction of touching particles, :data:`PACKING_LIMITS`):
square lattice of circles pi/4 = 0.785, hexagonal lattice pi/(2 sqrt 3) =
0.907, simple cubic lattice of spheres pi/6 = 0.524. Because particles are
not wrapped across the cell, a hexagonal lattice in a rectangular cell is
limited further to pi/(8 sqrt 3) = 0.227 (its rows are offset by half a
pitch, so every vertical cell face passes a quarter pitch from some centre).
Random placement starts with random sequential addition (RSA: each particle
at the first of up to ``max_attempts`` uniformly drawn positions that keeps
the gaps). RSA alone jams near 0.547 (disks) and 0.38 (spheres), and well
below that in small cells, where the walls take room; particles that find no
free position are therefore put at random and the overlaps relaxed: each
sweep pushes both particles of every offending pair apart along their
separating direction by half the missing gap (walls by clipping), up to 3000
sweeps. The result is certified by the gap tests above. The practical limits
of this implementation are :data:`RANDOM_PACKING_LIMITS` (0.50 in 2D, 0.35 in
3D, coating included), refused above: 50 circles at 0.50 and 50 spheres at
0.35, both with a gap of 0.005 of the cell side, are placed for every seed
tried. Elongated ellipses/ellipsoids pack less densely under the
conservative gap test (aspect ratio 2 ellipsoids at 0.35 fail for some seeds);
a placement that fails raises :class:`~femheat.errors.FemheatInputError`
naming the parameters to change.

All particles of a placement have the same shape and size, computed from the
target volume fraction, so the achieved volume fraction equals the target up
to round-off for lattices and random packings alike
(:attr:`Placement.volume_fraction` recomputes it from the placed geometry).

The gap functions, rotations and the moves of random placement live in
:mod:`femheat.mesh.packing_geometry` (re-exported here).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError
from .packing_geometry import (_core_semi_axes, _directions, _half_extents, _measure,
                               _random_rotations, _relax, _rotation_2d, _rotation_zyz,
                               _sequential_addition, _support, _violations, boundary_gaps,
                               pair_gaps)

__all__ = [
    "PACKING_LIMITS",
    "RANDOM_PACKING_LIMITS",
    "SHAPES",
    "Placement",
    "boundary_gaps",
    "lattice_placement",
    "pair_gaps",
    "random_placement",
]

log = logging.getLogger(__name__)

#: Shape name -> spatial dimension.
SHAPES: dict[str, int] = {"circle": 2, "ellipse": 2, "sphere": 3, "ellipsoid": 3}

#: Volume fraction of touching circles/spheres per (shape, lattice).
PACKING_LIMITS: dict[tuple[str, str], float] = {
    ("circle", "square"): math.pi / 4,
    ("circle", "hexagonal"): math.pi / (2 * math.sqrt(3)),
    ("sphere", "cubic"): math.pi / 6,
}

#: Largest volume fraction accepted for random placement, by dimension.
RANDOM_PACKING_LIMITS: dict[int, float] = {2: 0.50, 3: 0.35}


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class Placement:
    """Particles placed in the cell [0, size[0]] x ... (lengths in metres).

    Attributes
    ----------
    size
        Cell extents [m], length 2 or 3.
    shape
        ``"circle"``, ``"ellipse"``, ``"sphere"`` or ``"ellipsoid"``.
    arrangement
        ``"square"``, ``"hexagonal"``, ``"cubic"`` or ``"random"``.
    centers
        Particle centres, shape (N, d) [m].
    semi_axes
        Semi-axes of the particle cores, shape (N, d) [m].
    rotations
        Rotation matrices, shape (N, d, d): particle i is
        ``centers[i] + rotations[i] @ diag(semi_axes[i]) @ u``, ``|u| <= 1``.
    coating_thickness
        Coating thickness [m] (0: no coating).
    min_gap
        The gap the placement was asked to respect [m].
    """

    size: tuple[float, ...]
    shape: str
    arrangement: str
    centers: np.ndarray
    semi_axes: np.ndarray
    rotations: np.ndarray
    coating_thickness: float = 0.0
    min_gap: float = 0.0

    @property
    def dim(self) -> int:
        return len(self.size)

    @property
    def n_particles(self) -> int:
        return int(self.centers.shape[0])

    @property
    def outer_semi_axes(self) -> np.ndarray:
        """Semi-axes including the coating, shape (N, d) [m]."""
        return self.semi_axes + self.coating_thickness

    @property
    def cell_measure(self) -> float:
        """Area (2D, m^2) or volume (3D, m^3) of the cell."""
        return float(np.prod(self.size))

    @property
    def volume_fraction(self) -> float:
        """Core (inclusion) area/volume fraction of the placed particles (exact)."""
        return float(_measure(self.semi_axes).sum() / self.cell_measure)

    @property
    def coating_fraction(self) -> float:
        """Coating-shell area/volume fraction (0 without a coating)."""
        if self.coating_thickness == 0:
            return 0.0
        return float(
            (_measure(self.outer_semi_axes) - _measure(self.semi_axes)).sum() / self.cell_measure
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (centres, semi-axes, rotations, fractions, gaps)."""
        gaps = pair_gaps(self)
        return {
            "shape": self.shape,
            "arrangement": self.arrangement,
            "n_particles": self.n_particles,
            "volume_fraction": self.volume_fraction,
            "coating_fraction": self.coating_fraction,
            "min_pair_gap": float(gaps.min()) if gaps.size else None,
            "min_boundary_gap": float(boundary_gaps(self).min()),
            "centers": self.centers.tolist(),
            "semi_axes": self.semi_axes.tolist(),
            "rotations": self.rotations.tolist(),
        }


# ------------------------------------------------------------------ inputs
def _size(size: ArrayLike) -> tuple[float, ...]:
    try:
        s = tuple(float(v) for v in size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise FemheatInputError(
            f"size = {size!r} must be 2 or 3 cell extents (lx, ly[, lz]) [m]") from None
    if len(s) not in (2, 3):
        raise FemheatInputError(
            f"size = {size!r} must have 2 (2D) or 3 (3D) entries [m], got {len(s)}")
    for k, v in enumerate(s):
        if not (math.isfinite(v) and v > 0):
            raise FemheatInputError(f"size[{k}] = {v!r} must be a positive length [m]")
    return s


def _shape(shape: str, dim: int) -> str:
    if shape not in SHAPES:
        raise FemheatInputError(
            f"shape = {shape!r} is unknown; use one of {sorted(SHAPES)}")
    if SHAPES[shape] != dim:
        fits = [k for k, v in SHAPES.items() if v == dim]
        raise FemheatInputError(
            f"shape = {shape!r} is {SHAPES[shape]}D but size has {dim} entries; use "
            f"{' or '.join(repr(k) for k in fits)} for a {dim}D cell"
        )
    return shape


def _fraction(volume_fraction: float) -> float:
    if isinstance(volume_fraction, bool) or np.ndim(volume_fraction) != 0:
        raise FemheatInputError(
            f"volume_fraction = {volume_fraction!r} must be a number in (0, 1)")
    phi = float(volume_fraction)
    if not (0 < phi < 1):
        raise FemheatInputError(
            f"volume_fraction = {phi!r} must lie in (0, 1) (inclusion area or volume "
            "over cell area or volume)")
    return phi


def _nonnegative(name: str, value: float) -> float:
    if isinstance(value, bool) or np.ndim(value) != 0 or not math.isfinite(float(value)):
        raise FemheatInputError(f"{name} = {value!r} must be a length >= 0 [m]")
    if float(value) < 0:
        raise FemheatInputError(f"{name} = {value!r} must be >= 0 [m]")
    return float(value)


def _axis_ratios(shape: str, dim: int, aspect_ratio: float | Sequence[float]) -> np.ndarray:
    """Relative semi-axes of the particle (largest first along the local x axis)."""
    if shape in ("circle", "sphere"):
        if np.any(np.asarray(aspect_ratio, dtype=float) != 1.0):
            raise FemheatInputError(
                f"aspect_ratio = {aspect_ratio!r} needs shape = "
                f"{'ellipse' if dim == 2 else 'ellipsoid'!r}; circles and spheres have 1")
        return np.ones(dim)
    try:
        ar = np.atleast_1d(np.asarray(aspect_ratio, dtype=float))
    except (TypeError, ValueError):
        raise FemheatInputError(f"aspect_ratio = {aspect_ratio!r} must be numeric") from None
    allowed = (1,) if dim == 2 else (1, 2)
    if ar.ndim != 1 or ar.size not in allowed or not np.all(np.isfinite(ar)):
        raise FemheatInputError(
            f"aspect_ratio = {aspect_ratio!r}: give "
            + ("one ratio a/b >= 1 (major over minor semi-axis)" if dim == 2 else
               "a ratio a/b (spheroid, b = c) or a pair (a/c, b/c)")
        )
    if dim == 2 and ar[0] < 1:
        raise FemheatInputError(
            f"aspect_ratio = {ar[0]!r} must be >= 1 (major over minor semi-axis); turn "
            "the ellipse with orientation instead")
    if np.any(ar <= 0):
        raise FemheatInputError(f"aspect_ratio = {aspect_ratio!r} must be > 0")
    if dim == 2:
        return np.array([ar[0], 1.0])
    return np.array([ar[0], 1.0, 1.0]) if ar.size == 1 else np.array([ar[0], ar[1], 1.0])


def _rotations(
    n: int, dim: int, orientation: float | Sequence[float] | str, rng: np.random.Generator | None
) -> np.ndarray:
    """Rotation matrices (n, d, d) from an orientation spec (degrees, or ``"random"``)."""
    if isinstance(orientation, str):
        if orientation != "random":
            raise FemheatInputError(
                f"orientation = {orientation!r}: give an angle in degrees, 3 Euler angles "
                "(z-y-z, degrees, 3D) or \"random\"")
        if rng is None:
            rng = np.random.default_rng(0)
        return _random_rotations(n, dim, rng)
    try:
        ang = np.atleast_1d(np.asarray(orientation, dtype=float))
    except (TypeError, ValueError):
        raise FemheatInputError(
            f"orientation = {orientation!r} must be numeric (degrees) or \"random\"") from None
    if ang.ndim != 1 or ang.size not in ((1,) if dim == 2 else (1, 3)) or not np.all(
            np.isfinite(ang)):
        raise FemheatInputError(
            f"orientation = {orientation!r}: give one angle (degrees, about z)"
            + (" or 3 Euler angles (z-y-z, degrees)" if dim == 3 else "") + " or \"random\"")
    rad = np.radians(ang)
    if dim == 2:
        rot = _rotation_2d(rad[0])
    elif rad.size == 1:
        rot = _rotation_zyz(rad[0], 0.0, 0.0)
    else:
        rot = _rotation_zyz(*rad)
    return np.broadcast_to(rot, (n, dim, dim)).copy()


# ----------------------------------------------------------------- lattices
def _lattice_counts(n_per_side: int | Sequence[int], dim: int) -> tuple[int, ...]:
    if np.ndim(n_per_side) == 0:
        raw: tuple[Any, ...] = (n_per_side,) * dim
    else:
        raw = tuple(n_per_side)  # type: ignore[arg-type]
    if len(raw) != dim or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in raw):
        raise FemheatInputError(
            f"n_per_side = {n_per_side!r} must be an integer >= 1 or {dim} of them "
            "(particles along each axis)")
    return tuple(int(v) for v in raw)


def lattice_placement(
    size: ArrayLike,
    volume_fraction: float,
    n_per_side: int | Sequence[int],
    *,
    shape: str = "circle",
    lattice: str | None = None,
    aspect_ratio: float | Sequence[float] = 1.0,
    orientation: float | Sequence[float] | str = 0.0,
    min_gap: float = 0.0,
    coating_thickness: float = 0.0,
    seed: int = 0,
) -> Placement:
    """Identical particles on a lattice filling the cell.

    Parameters
    ----------
    size
        Cell extents (lx, ly) or (lx, ly, lz) [m].
    volume_fraction
        Area (2D) or volume (3D) fraction of the particle cores, in (0, 1).
    n_per_side
        Particles along each axis (one integer for all axes, or one per
        axis). For ``lattice="hexagonal"`` the second count is the number of
        rows and must be even (the row offset repeats every two rows).
    shape
        ``"circle"``/``"ellipse"`` (2D) or ``"sphere"``/``"ellipsoid"`` (3D).
    lattice
        ``"square"`` (2D, default) or ``"hexagonal"`` (2D: rows offset by
        half a pitch, regular when ``ly/ny = (sqrt 3/2) lx/nx``), ``"cubic"``
        (3D, default). Centres of the square/cubic lattice are at
        ``(i + 1/2) l_k / n_k``; hexagonal rows at ``(i + 1/4 + (j mod 2)/2)
        lx/nx``, ``(j + 1/2) ly/ny``.
    aspect_ratio
        Ellipse: major over minor semi-axis (>= 1). Ellipsoid: a/b with
        b = c (spheroid), or a pair (a/c, b/c).
    orientation
        Angle of the major axis from x [degrees] (3D: about z), three z-y-z
        Euler angles [degrees] (3D), or ``"random"`` (drawn with ``seed``).
    min_gap
        Smallest allowed gap between particles [m] (half of it to the cell
        faces; see the module notes).
    coating_thickness
        Coating shell thickness [m]; the coating counts in the gap tests.
    seed
        Seed of the random orientations (used only with ``"random"``).

    Returns
    -------
    Placement

    Raises
    ------
    FemheatInputError
        A volume fraction above the packing limit of the lattice (pi/4
        square, pi/(2 sqrt 3) hexagonal, pi/6 simple cubic), or above the
        largest one these particles, gap and coating allow in this cell
        (stated in the message).
    """
    s = _size(size)
    dim = len(s)
    shape = _shape(shape, dim)
    phi = _fraction(volume_fraction)
    g = _nonnegative("min_gap", min_gap)
    t = _nonnegative("coating_thickness", coating_thickness)
    default = "square" if dim == 2 else "cubic"
    lattice = default if lattice is None else lattice
    allowed = ("square", "hexagonal") if dim == 2 else ("cubic",)
    if lattice not in allowed:
        raise FemheatInputError(
            f"lattice = {lattice!r} is not available in {dim}D; use "
            + " or ".join(repr(k) for k in allowed))
    n = _lattice_counts(n_per_side, dim)
    if lattice == "hexagonal" and n[1] % 2:
        raise FemheatInputError(
            f"n_per_side = {n_per_side!r}: a hexagonal lattice needs an even number of "
            f"rows (got {n[1]}) so that the cell repeats periodically")
    pitch = [s[k] / n[k] for k in range(dim)]
    grids = np.meshgrid(*[np.arange(v) for v in n], indexing="ij")
    idx = np.stack([gr.ravel() for gr in grids], axis=1).astype(float)
    if lattice == "hexagonal":
        centers = np.stack([(idx[:, 0] + 0.25 + 0.5 * (idx[:, 1] % 2)) * pitch[0],
                            (idx[:, 1] + 0.5) * pitch[1]], axis=1)
    else:
        centers = (idx + 0.5) * np.asarray(pitch)
    count = centers.shape[0]
    ratios = _axis_ratios(shape, dim, aspect_ratio)
    rng = np.random.default_rng(seed)
    rot = _rotations(count, dim, orientation, rng)
    cell = float(np.prod(s))

    def placement(fraction: float) -> Placement:
        a = _core_semi_axes(ratios, fraction * cell / count)
        return Placement(s, shape, lattice, centers, np.tile(a, (count, 1)), rot, t, g)

    limit = PACKING_LIMITS.get(("circle" if dim == 2 else "sphere", lattice))
    out = placement(phi)
    pair, wall = _violations(out, g)
    if min(pair, wall) >= 0:
        log.debug("lattice placement: %d %s, volume fraction %.6g", count, shape, phi)
        return out
    # largest feasible fraction, by bisection on the size (the gaps shrink monotonically)
    lo, hi = 0.0, phi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if mid > 0 and min(_violations(placement(mid), g)) >= 0:
            lo = mid
        else:
            hi = mid
    why = []
    if limit is not None and phi >= limit:
        formula = {"square": "pi/4", "hexagonal": "pi/(2 sqrt 3)", "cubic": "pi/6"}[lattice]
        why.append(f"the {lattice} lattice packing limit is {limit:.4f} ({formula} for "
                   "touching circles/spheres)")
    if lattice == "hexagonal":
        why.append("particles are not wrapped across the cell, so the half-pitch row "
                   "offset limits a hexagonal cell to pi/(8 sqrt 3) = 0.2267")
    why.append(
        f"with {count} {shape}s, min_gap = {g:g} m (min_gap/2 to the cell faces), "
        f"coating_thickness = {t:g} m in this {'x'.join(f'{v:g}' for v in s)} m cell the "
        f"largest feasible volume_fraction is {lo:.4f}")
    raise FemheatInputError(
        f"volume_fraction = {phi:g} is too high for a {lattice} lattice: " + "; ".join(why)
        + "; lower volume_fraction, min_gap or coating_thickness"
        + (" (a square lattice reaches pi/4)" if lattice == "hexagonal" else ""))


# ------------------------------------------------------------------ random
def random_placement(
    size: ArrayLike,
    volume_fraction: float,
    n_particles: int,
    *,
    shape: str = "circle",
    aspect_ratio: float | Sequence[float] = 1.0,
    orientation: float | Sequence[float] | str = 0.0,
    min_gap: float = 0.0,
    coating_thickness: float = 0.0,
    seed: int = 0,
    max_attempts: int = 20_000,
) -> Placement:
    """Identical particles at random, non-overlapping positions.

    Particles are placed one after the other at uniformly random positions
    where they keep ``min_gap`` from the particles already placed and
    ``min_gap / 2`` from the cell faces (random sequential addition); those
    that find no position within ``max_attempts`` tries are put at random
    and the overlaps relaxed (see the module notes). The result depends only
    on the arguments (``numpy.random.default_rng(seed)``).

    Parameters
    ----------
    size
        Cell extents (lx, ly) or (lx, ly, lz) [m].
    volume_fraction
        Area (2D) or volume (3D) fraction of the particle cores, in (0, 1);
        at most :data:`RANDOM_PACKING_LIMITS` (0.50 in 2D, 0.35 in 3D),
        coating included.
    n_particles
        Number of particles.
    shape, aspect_ratio, orientation, min_gap, coating_thickness
        As in :func:`lattice_placement` (``"random"`` orientations are drawn
        per particle).
    seed
        Seed of the random generator.
    max_attempts
        Candidate positions tried per particle before giving up.

    Returns
    -------
    Placement

    Raises
    ------
    FemheatInputError
        A volume fraction above the practical random limit, a particle that
        does not fit in the cell, or a particle that could not be placed
        within ``max_attempts`` tries.
    """
    s = _size(size)
    dim = len(s)
    shape = _shape(shape, dim)
    phi = _fraction(volume_fraction)
    g = _nonnegative("min_gap", min_gap)
    t = _nonnegative("coating_thickness", coating_thickness)
    if isinstance(n_particles, bool) or not isinstance(n_particles, (int, np.integer)) \
            or n_particles < 1:
        raise FemheatInputError(f"n_particles = {n_particles!r} must be an integer >= 1")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, (int, np.integer)) \
            or max_attempts < 1:
        raise FemheatInputError(f"max_attempts = {max_attempts!r} must be an integer >= 1")
    n = int(n_particles)
    ratios = _axis_ratios(shape, dim, aspect_ratio)
    cell = float(np.prod(s))
    a = _core_semi_axes(ratios, phi * cell / n)
    outer = a + t
    total = float(_measure(outer)) * n / cell
    limit = RANDOM_PACKING_LIMITS[dim]
    if total > limit * (1 + 1e-12):
        raise FemheatInputError(
            f"volume_fraction = {phi:g} (with the coating {total:.4g}) exceeds the practical "
            f"limit {limit} of random placement in {dim}D (random sequential addition jams "
            f"near {0.547 if dim == 2 else 0.38}); lower volume_fraction or "
            "coating_thickness, or use arrangement = \"lattice\"")
    rng = np.random.default_rng(seed)
    rot = _rotations(n, dim, orientation, rng)
    outer_all = np.tile(outer, (n, 1))
    u = _directions(dim) if shape in ("ellipse", "ellipsoid") else None
    h_all = None if u is None else _support(outer_all, rot, u)
    half = _half_extents(outer_all, rot)
    tol = 1e-9 * max(s)
    lo = half + 0.5 * g + 2 * tol
    hi = np.asarray(s) - half - 0.5 * g - 2 * tol
    if np.any(hi <= lo):
        raise FemheatInputError(
            f"a particle (semi-axes {outer.tolist()} m with coating, min_gap/2 = "
            f"{0.5 * g:g} m to the faces) does not fit in the {s} m cell; lower "
            "volume_fraction or use more, smaller particles (n_particles)")
    need = g if g > 0 else 2 * tol
    centers, deferred = _sequential_addition(lo, hi, outer, h_all, u, need, max_attempts, rng)
    if deferred:
        log.debug("random placement: %d of %d particles deferred to relaxation",
                  len(deferred), n)
        centers = _relax(centers, lo, hi, outer, h_all, u, need)
        if centers is None:
            raise FemheatInputError(
                f"random placement failed: {len(deferred)} of {n} particles found no free "
                f"position in max_attempts = {max_attempts} tries and overlap relaxation did "
                f"not separate them (volume_fraction = {phi:g}, min_gap = {g:g} m, seed = "
                f"{seed}); lower volume_fraction or min_gap, use more particles, change the "
                "seed or use arrangement = \"lattice\"")
    out = Placement(s, shape, "random", centers, np.tile(a, (n, 1)), rot, t, g)
    if min(_violations(out, g)) < 0:  # certify with the independent gap functions
        raise FemheatInputError(
            f"random placement failed the final gap check (volume_fraction = {phi:g}, "
            f"min_gap = {g:g} m, seed = {seed}); change the seed or lower volume_fraction")
    log.debug("random placement: %d %s, volume fraction %.6g", n, shape, out.volume_fraction)
    return out
