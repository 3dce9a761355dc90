"""Mesh layer: meshes with named regions (:mod:`.regions`), quality checks,
inclusion packings, the gmsh geometry builders (:mod:`.geometry`) and meshes of users'
pygmsh scripts (:mod:`.pygmsh`)."""

from .regions import RegionMesh, load_mesh

__all__ = ["RegionMesh", "load_mesh"]
