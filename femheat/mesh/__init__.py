"""Mesh layer: meshes with named regions (:mod:`.regions`), quality checks,
inclusion packings and the gmsh/pygmsh geometry builders (:mod:`.geometry`)."""

from .regions import RegionMesh, load_mesh

__all__ = ["RegionMesh", "load_mesh"]
