"""Numeric expressions in case files: ``"300 + 10*exp(-((x-5e-7)/1e-7)**2)"``.

An expression is a Python arithmetic expression in the coordinates ``x, y, z``
[m] and time ``t`` [s], using NumPy functions from a fixed list. Names outside
that list are refused when the case is read, with the key path in the message.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import FemheatInputError

__all__ = ["compile_expression", "FUNCTIONS"]

FUNCTIONS = {
    "pi": np.pi, "e": np.e, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh,
    "tanh": np.tanh, "arctan": np.arctan, "abs": np.abs, "minimum": np.minimum,
    "maximum": np.maximum, "where": np.where, "heaviside": np.heaviside,
}
VARIABLES = ("x", "y", "z", "t")


def compile_expression(text: str, where: str) -> Callable[[np.ndarray, float], np.ndarray]:
    """Compile ``text`` into ``f(x, t)`` with x of shape (d, ...)."""
    try:
        code = compile(text, f"<{where}>", "eval")
    except SyntaxError as exc:
        raise FemheatInputError(f"{where}: cannot parse expression {text!r}: {exc.msg}") from None
    bad = [n for n in code.co_names if n not in FUNCTIONS and n not in VARIABLES]
    if bad:
        raise FemheatInputError(
            f"{where}: unknown name(s) {bad} in {text!r}; use x, y, z, t and "
            f"{', '.join(sorted(FUNCTIONS))}")

    def f(x: np.ndarray, t: float = 0.0) -> np.ndarray:
        env = dict(FUNCTIONS)
        zero = np.zeros(x.shape[1:])
        env.update(x=x[0], y=x[1] if x.shape[0] > 1 else zero,
                   z=x[2] if x.shape[0] > 2 else zero, t=t)
        return np.asarray(eval(code, {"__builtins__": {}}, env), dtype=float) + zero

    f.__doc__ = text
    f.expression = text  # type: ignore[attr-defined]  (provenance)
    return f
