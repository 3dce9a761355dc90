"""Solver layer: steady (augmented Lagrangian, Newton), θ-scheme time stepping and
the iterative (MINRES) path for large 3D systems."""
