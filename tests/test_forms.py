"""femheat's weak forms used from a plain scikit-fem script (the README example)."""

from __future__ import annotations

import numpy as np
import pytest

import femheat as fh
from tests.conftest import readme_snippet, strip_regions


def test_readme_forms_example_solves_a_poisson_problem():
    """The README snippet runs as written and converges to the Poisson solution."""
    env = readme_snippet(r"import numpy as np\nfrom skfem import Basis")
    tb, x, qb = env["tb"], env["x"], env["qb"]
    T = x[qb.N:]
    # -div(2 grad T) = 1 on the unit square, T = 0 on the boundary: T(1/2, 1/2) = 0.0736713 / 2
    centre = tb.probes(np.array([[0.5], [0.5]])) @ T
    assert centre[0] == pytest.approx(0.0736713532814 / 2, rel=2e-2)


def test_readme_gk_example_runs():
    """The README's GK snippet runs as written (from the repository root)."""
    env = readme_snippet(r"import femheat as fh\nfrom femheat.physics.conditions")
    system_flow = env["state"].flux
    assert np.all(np.isfinite(system_flow))
    assert env["landau"].nonlocal_length == pytest.approx(0.2e-6)


def test_mcv_with_a_fourier_region_warns_under_crank_nicolson():
    regions = strip_regions(split=0.5)
    problem = fh.HeatProblem(
        regions, {"a": fh.Material(1.0, 1.0, 0.1), "b": fh.Material(1.0, 1.0, 0.0)},
        {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "walls": fh.Insulated()})
    system = fh.assemble(problem)
    with pytest.warns(RuntimeWarning, match=r"tau = 0 in some material"):
        fh.ThetaScheme(system, 0.01, 0.5)
