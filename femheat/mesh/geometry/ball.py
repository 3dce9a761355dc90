"""Ball sectors: an octant or 1/48 wedge of a ball, graded towards its centre."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import FemheatInputError
from .common import (_check_exterior, _finish, _material_names, _mesh_path,
                     _physical_groups, _positive, _scale, _session, _uniform_size)

__all__ = ["ball_sector"]


_SECTORS = ("octant", "wedge")


def ball_sector(
    radius: float,
    *,
    mesh_size: float,
    center_mesh_size: float | None = None,
    grading: float = 0.3,
    sector: str = "octant",
    material: str = "medium",
    path: str | Path,
) -> Path:
    """A sector of the ball |x| ≤ radius bounded by symmetry planes through its centre.

    For problems with a point-symmetric solution about the origin (a localized
    source in an infinite medium: the flux is radial), the planes are exact
    symmetry walls (q·n = 0; for the Guyer–Krumhansl model also stress-free),
    so a sector of the ball replaces the whole ball at a fraction of the cost.
    The mesh is graded towards the centre: the element size grows linearly
    with the distance r from the origin,

        h(r) = min(mesh_size, center_mesh_size + grading · r),

    (a gmsh ``Distance``/``Threshold`` size field), so a source of width σ
    is resolved with ``center_mesh_size`` ≲ σ/5 while the far field stays coarse.

    Parameters
    ----------
    radius
        Ball radius R [m]; the centre is the origin.
    mesh_size
        Largest element size [m] (reached far from the centre and on the sphere).
    center_mesh_size
        Element size at the centre [m], ≤ ``mesh_size`` (default: uniform
        ``mesh_size``).
    grading
        Growth rate dh/dr of the element size away from the centre
        (dimensionless, in (0, 1]).
    sector
        ``"octant"``: x, y, z ≥ 0 (1/8 of the ball, three symmetry planes);
        ``"wedge"``: 0 ≤ z ≤ y ≤ x (1/48 of the ball, the fundamental domain of
        the symmetry group of the cube; planes z = 0, y = z and x = y, dihedral
        angles 45°, 60° and 90°).
    material
        Material name of the sector.
    path
        Output ``.msh`` file; a sidecar ``<path>.json`` is written beside it.

    Returns
    -------
    Path
        ``path``. Region ``material`` (``"medium"``); boundaries ``"sphere"``
        (the spherical surface |x| = R, polyhedral after meshing) and
        ``"symmetry"`` (all the planes through the origin). The origin is a
        mesh vertex.

    Raises
    ------
    FemheatInputError
        Non-positive lengths, ``center_mesh_size > mesh_size``, a grading
        outside (0, 1], an unknown sector, or a mesh size not below the radius.
    """
    path = _mesh_path(path)
    radius = _positive("radius", radius)
    mesh_size = _positive("mesh_size", mesh_size)
    if mesh_size >= radius:
        raise FemheatInputError(
            f"mesh_size = {mesh_size:g} must be smaller than radius = {radius:g} [m] "
            "(the sphere would not be resolved)")
    h0 = None if center_mesh_size is None else _positive("center_mesh_size", center_mesh_size)
    if h0 is not None and h0 > mesh_size:
        raise FemheatInputError(
            f"center_mesh_size = {h0:g} exceeds mesh_size = {mesh_size:g} [m]; the mesh "
            "is graded from the centre outwards, so give center_mesh_size <= mesh_size")
    if isinstance(grading, bool) or np.ndim(grading) != 0 or not (
            math.isfinite(float(grading)) and 0 < float(grading) <= 1):
        raise FemheatInputError(
            f"grading = {grading!r} must be a number in (0, 1] (growth of the element "
            "size per unit distance from the centre)")
    grading = float(grading)
    if sector not in _SECTORS:
        raise FemheatInputError(
            f"sector = {sector!r} is unknown; choose 'octant' (x, y, z >= 0) or 'wedge' "
            "(0 <= z <= y <= x)")
    _material_names({"material": material}, {"sphere", "symmetry"})
    s = _scale(radius)
    params = {"radius": radius, "mesh_size": mesh_size, "center_mesh_size": h0,
              "grading": grading, "sector": sector, "material": material}

    with _session("ball_sector") as (gmsh, opt):
        occ = gmsh.model.occ
        R = radius / s
        a = 1.5 * R  # the cutter reaches beyond the ball
        ball = occ.addSphere(0, 0, 0, R)
        if sector == "octant":
            cutter = occ.addBox(0, 0, 0, a, a, a)
        else:  # tetrahedron {0 <= z <= y <= x <= a}
            pts = [occ.addPoint(*c) for c in
                   ((0, 0, 0), (a, 0, 0), (a, a, 0), (a, a, a))]
            edge = {}
            for i in range(4):
                for j in range(i + 1, 4):
                    edge[i, j] = occ.addLine(pts[i], pts[j])

            def face(i: int, j: int, k: int) -> int:
                loop = occ.addCurveLoop([edge[i, j], edge[j, k], edge[i, k]])
                return occ.addPlaneSurface([loop])

            cutter = occ.addVolume([occ.addSurfaceLoop(
                [face(0, 1, 2), face(0, 1, 3), face(0, 2, 3), face(1, 2, 3)])])
        out, _ = occ.intersect([(3, ball)], [(3, cutter)])
        occ.synchronize()
        vols = [t for d, t in out if d == 3]
        if len(vols) != 1:
            raise RuntimeError(f"geometry builder bug: ball sector volumes {out}")
        faces: dict[str, list[int]] = {"sphere": [], "symmetry": []}
        for _, tag in gmsh.model.getBoundary([(3, vols[0])], oriented=False):
            kind = gmsh.model.getType(2, tag)
            faces["sphere" if kind == "Sphere" else "symmetry"].append(tag)
        if len(faces["sphere"]) != 1 or len(faces["symmetry"]) != 3:
            raise RuntimeError(f"geometry builder bug: ball sector faces {faces}")
        _check_exterior(gmsh, 3, faces)
        centre = [t for _, t in gmsh.model.getEntitiesInBoundingBox(
            -1e-6 * R, -1e-6 * R, -1e-6 * R, 1e-6 * R, 1e-6 * R, 1e-6 * R, 0)]
        if len(centre) != 1:
            raise RuntimeError(f"geometry builder bug: ball sector centre points {centre}")
        h_out = mesh_size / s
        if h0 is None:
            _uniform_size(gmsh, opt, h_out)
        else:
            f = gmsh.model.mesh.field
            dist = f.add("Distance")
            f.setNumbers(dist, "PointsList", centre)
            thr = f.add("Threshold")
            f.setNumber(thr, "InField", dist)
            f.setNumber(thr, "SizeMin", h0 / s)
            f.setNumber(thr, "SizeMax", h_out)
            f.setNumber(thr, "DistMin", 0.0)
            f.setNumber(thr, "DistMax", max((h_out - h0 / s) / grading, 1e-12 * R))
            f.setAsBackgroundMesh(thr)
            opt("Mesh.MeshSizeExtendFromBoundary", 0)
            opt("Mesh.MeshSizeFromPoints", 0)
            opt("Mesh.MeshSizeFromCurvature", 0)
            opt("Mesh.MeshSizeMax", h_out)
        _physical_groups(gmsh, 3, {material: vols}, faces)
        return _finish(gmsh, opt, 3, s, path, "ball_sector", params)
