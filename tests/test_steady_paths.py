"""Which steady solver a mixed system takes (issue 19).

The augmented-Lagrangian (AL) solve factorizes the SPD operator A + r BᵀW⁻¹B once with
SuperLU's symmetric mode; the scaled LU of the saddle point (COLAMD, pivoting) is for
systems whose flux equation is not the transpose of the energy equation: a Hall
conductivity, or GK walls made impermeable weakly with a smooth normal (the facet trace
⟨T, v·n_h⟩ stays in the flux rows only, :mod:`femheat.assembly.gk`). Every other GK
system (no-slip, free slip and slip-length walls on facet normals) must stay on the AL
path: the LU costs several times more (6.5 s instead of 1.1 s at 80k GK unknowns,
benchmarks/README.md). The path is spied on, never timed.
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
import femheat.solve.steady as steady
from femheat.physics.conditions import FreeSlip, NoSlip, SlipLength


@pytest.fixture
def taken(monkeypatch):
    """Names of the steady solvers called, in order."""
    calls: list[str] = []
    for name in ("_augmented_lagrangian", "_saddle_lu"):
        original = getattr(steady, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(steady, name, spy)
    return calls


def _flat_normal(x):
    """Outward normal of the walls y = ±1/2, as a smooth-normal callable."""
    return np.stack([np.zeros_like(x[0]), np.sign(x[1])])


def _channel(model: str, wall=None, n: int = 6):
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(-0.5, 0.5, n + 1))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: np.isclose(x[0], 0), "outlet": lambda x: np.isclose(x[0], 1),
        "walls": lambda x: np.isclose(np.abs(x[1]), 0.5)})
    bcs = {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0), "walls": fh.Insulated()}
    kw = dict(model=model)
    if model == "gk":
        kw.update(walls={"walls": wall}, beta=2)
    mat = fh.Material(1.0, 1.0, 1e-2, nonlocal_length=0.2 if model == "gk" else 0.0)
    return fh.assemble(fh.HeatProblem(regions, {"domain": mat}, bcs, **kw))


@pytest.mark.parametrize("model, wall", [
    ("mcv", None), ("fourier", None), ("gk", NoSlip()), ("gk", FreeSlip()),
    ("gk", SlipLength(1.0))], ids=["mcv", "fourier", "gk-noslip", "gk-freeslip", "gk-sliplength"])
def test_symmetric_systems_take_the_augmented_lagrangian(taken, model, wall):
    """No smooth-normal wall: the system is symmetric and the AL path is taken."""
    system = _channel(model, wall)
    assert system.symmetric and system.wall_coupling is None
    state = fh.solve_steady(system)
    assert taken == ["_augmented_lagrangian"]
    assert np.all(np.isfinite(state.temperature))


@pytest.mark.parametrize("wall", [FreeSlip(normal=_flat_normal), SlipLength(1.0, normal=_flat_normal)],
                         ids=["freeslip-normal", "sliplength-normal"])
def test_smooth_normal_walls_take_the_saddle_point_lu(taken, wall):
    """A wall given a smooth normal keeps the facet trace in the flux rows only: the
    system is not symmetric and the LU path is taken."""
    system = _channel("gk", wall)
    assert not system.symmetric and system.wall_coupling is not None
    state = fh.solve_steady(system)
    assert taken == ["_saddle_lu"]
    assert np.all(np.isfinite(state.temperature))


def test_weak_and_strong_free_slip_agree_on_straight_walls(taken):
    """On straight walls the smooth normal is the facet normal: weak (LU) and strong (AL)
    free slip give the same temperatures (the uniform flux of the 1D conductor)."""
    weak = fh.solve_steady(_channel("gk", FreeSlip(normal=_flat_normal)))
    strong = fh.solve_steady(_channel("gk", FreeSlip()))
    assert taken == ["_saddle_lu", "_augmented_lagrangian"]
    np.testing.assert_allclose(weak.temperature, strong.temperature, atol=1e-6)
