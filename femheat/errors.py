"""Domain exceptions of femheat.

Every exception subclasses a built-in (as PyVista does), so callers can catch
``ValueError`` for bad input and ``RuntimeError`` for solver failures without
importing femheat. Messages name the offending field, its value and the fix.
"""

from __future__ import annotations

__all__ = [
    "FemheatInputError",
    "MeshError",
    "RegionError",
    "BoundaryConditionError",
    "SolverError",
]


class FemheatInputError(ValueError):
    """Invalid user input (material data, case file entry, solver option)."""


class MeshError(FemheatInputError):
    """A mesh that cannot be used: inverted or degenerate cells, unsupported cells."""


class RegionError(FemheatInputError, KeyError):
    """An unknown or missing named region (subdomain, boundary or interface)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class BoundaryConditionError(FemheatInputError):
    """A boundary left without a condition, or a condition that makes the problem ill-posed."""


class SolverError(RuntimeError):
    """A linear solve that failed or produced non-finite values."""
