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
    "OutputError",
    "PlausibilityError",
    "PlausibilityWarning",
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


class OutputError(FemheatInputError):
    """An output folder that cannot be used: a file, not writable, or its disk full."""


class PlausibilityError(FemheatInputError):
    """A value that is legal in form but not physically possible (T <= 0 K), or a run
    so long that it must be confirmed (more than 10⁶ time steps)."""


class PlausibilityWarning(UserWarning):
    """A legal value that is almost surely a unit mistake (κ, C, τ, l or R_K many
    decades outside the physical range); see :mod:`femheat.physics.plausibility`."""
