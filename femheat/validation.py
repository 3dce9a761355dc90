"""Small validators used where data enters femheat (API calls and case files).

Each validator names the field (``where``), shows the offending value and says how
to fix it; none uses ``assert``.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .errors import FemheatInputError

__all__ = ["finite_array", "nonnegative", "positive", "spd_tensor", "setting"]


def _show(value) -> str:
    text = np.array2string(np.asarray(value), precision=6, threshold=8)
    return text if len(text) < 120 else text[:117] + "..."


def finite_array(value: ArrayLike, where: str) -> np.ndarray:
    """Return ``value`` as a float array, refusing NaN and infinities."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise FemheatInputError(f"{where} must be numeric, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise FemheatInputError(
            f"{where} contains NaN or infinite values ({_show(arr)}); give finite numbers"
        )
    return arr


def positive(value: ArrayLike, where: str, unit: str = "") -> np.ndarray:
    """Finite and strictly positive."""
    arr = finite_array(value, where)
    if np.any(arr <= 0):
        raise FemheatInputError(
            f"{where} must be > 0{' ' + unit if unit else ''}, got {_show(arr)}"
        )
    return arr


def nonnegative(value: ArrayLike, where: str, unit: str = "") -> np.ndarray:
    """Finite and >= 0."""
    arr = finite_array(value, where)
    if np.any(arr < 0):
        raise FemheatInputError(
            f"{where} must be >= 0{' ' + unit if unit else ''}, got {_show(arr)}"
        )
    return arr


def spd_tensor(value: ArrayLike, dim: int, where: str) -> np.ndarray:
    """Check a conductivity given as a scalar or a (dim, dim) tensor (possibly a field).

    The symmetric part must be positive definite (second law); an antisymmetric
    (thermal Hall) part is allowed. Returns the tensor broadcast to shape
    ``(dim, dim, ...)``.
    """
    arr = finite_array(value, where)
    if arr.ndim == 0 or (arr.shape[:2] != (dim, dim)):
        if arr.ndim == 0 or arr.shape[0] != dim:
            if np.any(arr <= 0):
                raise FemheatInputError(
                    f"{where} must be > 0 W/(m K), got {_show(arr)}"
                )
            return arr[None, None] * np.eye(dim).reshape((dim, dim) + (1,) * arr.ndim)
    if arr.shape[:2] != (dim, dim):
        raise FemheatInputError(
            f"{where} must be a scalar or a {dim}x{dim} tensor, got shape {arr.shape}"
        )
    sym = 0.5 * (arr + np.swapaxes(arr, 0, 1))
    flat = np.moveaxis(sym.reshape(dim, dim, -1), -1, 0)
    eig = np.linalg.eigvalsh(flat)
    if np.any(eig[:, 0] <= 0):
        raise FemheatInputError(
            f"{where}: the symmetric part of the conductivity tensor must be positive "
            f"definite (second law), smallest eigenvalue {eig[:, 0].min():.6g} W/(m K) "
            f"in {_show(arr if arr.ndim == 2 else arr[..., 0])}"
        )
    return arr


def theta_and_step(theta: ArrayLike, dt: ArrayLike, prefix: str = "") -> tuple[float, float]:
    """Validate a θ-scheme: 0.5 ≤ θ ≤ 1 (unconditionally stable) and Δt > 0 [s].

    ``prefix`` names where they came from (e.g. ``"time."`` for a case file).
    """
    theta = float(finite_array(theta, f"{prefix}theta"))
    if not 0.5 <= theta <= 1.0:
        raise FemheatInputError(
            f"{prefix}theta = {theta} gives a conditionally stable scheme; use 0.5 "
            "(Crank-Nicolson) to 1 (backward Euler)")
    dt = float(finite_array(dt, f"{prefix}dt"))
    if dt <= 0:
        raise FemheatInputError(f"{prefix}dt must be > 0 s, got {dt}")
    return theta, dt


def setting(env: str, choices: Sequence[str], given: Optional[str] = None,
            label: str = "") -> str:
    """One of ``choices`` (the first is the default): ``given`` if not None (an argument
    called ``label``), else the environment variable ``env``; case and surrounding
    spaces ignored, anything else refused naming where it came from."""
    raw = given if given is not None else os.environ.get(env, "")
    choice = raw.strip().lower() or choices[0]
    if choice not in choices:
        raise FemheatInputError(f"{env if given is None else label} = {choice!r}: use one "
                                f"of {', '.join(choices)}")
    return choice

