r"""Axisymmetric (r, z) mixed forms (issue 11 item 4): manufactured solution, conservation,
the axis, and bad input.

Manufactured solution on 0 ≤ r ≤ 1, 1/4 ≤ z ≤ 5/4 (κ = 1, Fourier, steady):
T = cos(πr²/2) sin(πz) (smooth through the axis: a function of r²), q = −∇T,
Q = ∇·q = −(1/r)∂_r(r ∂_r T) − ∂_zz T. Temperature given on r = 1 and on z = 1/4, 5/4;
nothing on the axis. Errors in the 2πr-weighted L² norm.

Measured (n × n × 2 triangles, n = 8, 16, 32): RT0×P0 rates T 0.995, 0.999; q 0.992,
0.998; RT1(BDM-type RT2)×P1DG rates T 1.994, 1.998; q 1.993, 1.996. Heat flows through
the boundaries balance the source to 2e-15 (relative).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.analysis.postprocess import boundary_heat_flow
from femheat.errors import BoundaryConditionError, FemheatInputError, MeshError
from femheat.physics.memory import MemoryMaterial
from femheat.solve.frequency import FrequencySolver
from femheat.solve.steady import solve_linear_steady

PI = np.pi


def _T(x):
    return np.cos(PI * x[0] ** 2 / 2) * np.sin(PI * x[1])


def _q(x):
    a = PI * x[0] ** 2 / 2
    return np.array([PI * x[0] * np.sin(a) * np.sin(PI * x[1]),
                     -PI * np.cos(a) * np.cos(PI * x[1])])


def _Q(x, t=0.0):
    a = PI * x[0] ** 2 / 2
    return (PI * (2 * np.sin(a) + PI * x[0] ** 2 * np.cos(a)) + PI ** 2 * np.cos(a)) \
        * np.sin(PI * x[1])


def _section(n, r0=0.0):
    mesh = skfem.MeshTri.init_tensor(np.linspace(r0, 1, n + 1), np.linspace(0.25, 1.25, n + 1))
    return fh.RegionMesh.from_skfem(mesh, boundaries={
        "outer": lambda x: x[0] > 1 - 1e-12,
        "ends": lambda x: (x[1] < 0.25 + 1e-12) | (x[1] > 1.25 - 1e-12),
        "axis": lambda x: x[0] < r0 + 1e-12})


def _mms(n, degree):
    rm = _section(n)
    exact = fh.Temperature(lambda x, t: _T(x))
    problem = fh.HeatProblem(rm, {"domain": fh.Material(1.0, 1.0, 0.0)},
                             {"outer": exact, "ends": exact}, source=_Q, model="fourier",
                             degree=degree, coordinates="axisymmetric")
    system = fh.assemble(problem)
    state = solve_linear_steady(system)
    tb, qb = system.temperature_basis, system.flux_basis
    x = tb.global_coordinates().value
    dV = 2 * PI * x[0] * tb.dx
    eT = np.sqrt(np.sum((tb.interpolate(state.temperature).value - _T(x)) ** 2 * dV))
    eq = np.sqrt(np.sum(((qb.interpolate(state.flux).value - _q(x)) ** 2).sum(0) * dV))
    flows = sum(boundary_heat_flow(system, state.flux).values())
    source = float(system.temperature_ones @ system.heat_load(0.0))
    return eT, eq, abs(flows - source) / abs(source)


@pytest.mark.parametrize("degree", [0, 1])
def test_radial_manufactured_solution_rates(degree):
    ns = np.array([6, 12, 24])
    errs = np.array([_mms(n, degree) for n in ns])
    expected = degree + 1
    for j, name in enumerate(("T", "q")):
        rate = np.polyfit(np.log(1.0 / ns), np.log(errs[:, j]), 1)[0]
        assert rate > expected - 0.1, f"{name} L2 rate {rate:.3f}, expected {expected}"
    # local conservation: boundary heat flows (W, 2πr ds) balance ∫Q 2πr dr dz
    assert errs[:, 2].max() < 1e-12, errs[:, 2]


def test_axis_is_natural_and_uniform_flux_is_exact():
    """A slab heated uniformly from below, T fixed on top, insulated outer wall: the
    solution is 1D in z (T linear). RT2×P1DG holds it exactly: q_z = g, q_r = 0 (also on
    the axis cells), and the top heat flow is g πR² [W]. (RT0×P0 cannot: its P0
    temperature against the weight r leaves an O(h) flux error in the axis cells,
    |q_r| ≤ 0.14 g pointwise, L² error O(h^1.4).)"""
    R, g = 1.0, 3.0
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, R, 7), np.linspace(0, 1, 5))
    rm = fh.RegionMesh.from_skfem(mesh, boundaries={
        "top": lambda x: x[1] > 1 - 1e-12, "bottom": lambda x: x[1] < 1e-12,
        "outer": lambda x: x[0] > R - 1e-12})  # axis facets left unnamed: allowed
    problem = fh.HeatProblem(rm, {"domain": fh.Material(2.0, 1.0, 0.0)},
                             {"top": fh.Temperature(0.0), "bottom": fh.HeatFlux(-g),
                              "outer": fh.Insulated()},
                             model="fourier", degree=1, coordinates="axisymmetric")
    system = fh.assemble(problem)
    state = solve_linear_steady(system)
    q = system.flux_basis.interpolate(state.flux).value
    assert np.abs(q[0]).max() < 1e-10 and np.abs(q[1] - g).max() < 1e-10
    flows = boundary_heat_flow(system, state.flux)
    assert flows["top"] == pytest.approx(g * PI * R ** 2, rel=1e-12)
    assert flows["bottom"] == pytest.approx(-g * PI * R ** 2, rel=1e-12)


def test_memory_single_mode_is_mcv_in_axisymmetric_frequency_domain():
    """The memory model takes its r-weighted mass from the same form set: one mode at
    τ equals MCV at τ (frequency domain, with a Kapitza interface)."""
    from femheat.mesh.geometry import layered_cylinder

    rm = layered_cylinder(1.0, [0.2, 1.0], axis_mesh_size=0.1, top_mesh_size=0.05,
                          mesh_size=0.2)
    bcs = {"top": fh.HeatFlux(lambda x, t: -np.exp(-x[0] ** 2)), "bottom": fh.Temperature(0.0),
           "outer": fh.Insulated()}
    kap = {"interface_1": fh.KapitzaResistance(0.05)}
    out = []
    for model, mats in (
            ("mcv", {"film": fh.Material(2.0, 1.0, 0.3), "substrate": fh.Material(1.0, 2.0, 0.3)}),
            ("memory", {"film": MemoryMaterial.from_modes([(2.0, 0.3)], 1.0),
                        "substrate": MemoryMaterial.from_modes([(1.0, 0.3)], 2.0)})):
        system = fh.assemble(fh.HeatProblem(rm, mats, bcs, kap, model=model,
                                            coordinates="axisymmetric"))
        out.append(FrequencySolver(system).solve(1.7).temperature)
    assert np.abs(out[0] - out[1]).max() < 1e-10 * np.abs(out[0]).max()


def test_axisymmetric_bad_input():
    mat = {"domain": fh.Material(1.0, 1.0, 0.0)}
    bcs = {"outer": fh.Temperature(1.0), "ends": fh.Temperature(1.0)}
    # a mesh crossing the axis
    with pytest.raises(MeshError, match=r"mesh\.coordinates.*r = x = -0\.5"):
        fh.HeatProblem(_section(4, r0=-0.5), mat, bcs, model="fourier",
                       coordinates="axisymmetric")
    # 3D mesh
    rm3 = fh.RegionMesh.from_skfem(skfem.MeshTet.init_tensor(*[np.linspace(0, 1, 2)] * 3),
                                   boundaries={"all": lambda x: x[0] > -1})
    with pytest.raises(MeshError, match=r"mesh\.coordinates.*2D mesh.*3D"):
        fh.HeatProblem(rm3, mat, {"all": fh.Temperature(1.0)}, model="fourier",
                       coordinates="axisymmetric")
    with pytest.raises(FemheatInputError, match="coordinates must be one of"):
        fh.HeatProblem(_section(4), mat, bcs, model="fourier", coordinates="polar")
    # a temperature on the axis is meaningless (the r-weighted term vanishes)
    with pytest.raises(BoundaryConditionError, match=r"boundaries\.axis lies on the axis"):
        fh.HeatProblem(_section(4), mat, {**bcs, "axis": fh.Temperature(1.0)},
                       model="fourier", coordinates="axisymmetric")
    # GK in (r, z) (tests/test_axisymmetric_gk.py) refuses what its forms do not cover
    with pytest.raises(FemheatInputError, match="isotropic"):
        fh.HeatProblem(_section(4), {"domain": fh.Material([[1.0, 0.0], [0.0, 2.0]], 1.0,
                                                           0.1, nonlocal_length=0.1)},
                       bcs, model="gk", coordinates="axisymmetric")


def test_case_file_coordinates_key(tmp_path):
    from femheat.io.case import parse_case

    base = {
        "mesh": {"builder": "layered_cylinder", "coordinates": "axisymmetric",
                 "parameters": {"radius": 1.0, "thicknesses": [0.5, 1.0],
                                "axis_mesh_size": 0.25, "mesh_size": 0.25}},
        "model": {"type": "fourier"},
        "materials": {"film": {"conductivity": 1.0, "heat_capacity": 1.0},
                      "substrate": {"conductivity": 1.0, "heat_capacity": 1.0}},
        "boundaries": {"top": {"temperature": 301.0}, "bottom": {"temperature": 300.0},
                       "outer": {"heat_flux": 0.0}},
    }
    case = parse_case(base, tmp_path)
    assert case.problem.axisymmetric
    bad = {**base, "mesh": {**base["mesh"], "coordinates": "spherical"}}
    with pytest.raises(FemheatInputError, match=r"mesh\.coordinates must be one of"):
        parse_case(bad, tmp_path)
    kernel = {**base, "model": {"type": "kernel",
                                "kernel": {"family": "gaussian", "length": 0.1}}}
    with pytest.raises(FemheatInputError, match=r"mesh\.coordinates.*not for model 'kernel'"):
        parse_case(kernel, tmp_path)


def test_readme_python_api_and_thermoreflectance_examples_run():
    """The README's Python API block (MCV composite: steady and a CN loop) and the
    thermoreflectance block that continues it run as written; the FDTR phase lags, the
    amplitude falls with frequency, and the TDTR ratio is positive and decays at long
    delays."""
    from tests.conftest import readme_snippet

    env = readme_snippet(r"import femheat as fh\n\nregions = fh.load_mesh")
    assert env["state"].time == pytest.approx(1e-8)
    env["np"] = np
    env = readme_snippet(r"from femheat.analysis import thermoreflectance as tr", env)
    assert np.all(env["fdtr"].phase < 0) and np.all(np.diff(env["fdtr"].amplitude) < 0)
    ratio = env["tr"].tdtr_signals(env["H"], env["delays"], 10e6, 80e6, 1e9).ratio
    assert np.all(ratio > 0) and np.all(np.diff(ratio[env["delays"] > 1e-9]) < 0)
