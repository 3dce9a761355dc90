"""viscous = "auto" (femheat.assembly.viscous_choice): the vorticity form only where the
penalty and vorticity forms model the same continuous problem, the penalty form wherever
they differ or the vorticity form would be less accurate; explicit choices are kept.

The physics of the choice is tested where it matters: the default's quasi-static
spectrum on the insulated square (tests/test_gk_modes.py), the orders of a manufactured
no-slip flow in both forms (tests/test_gk_channel.py) and the grating case file's
record (tests/test_cases_gk.py)."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.assembly.viscous_choice import auto_reason
from femheat.io.case import parse_case
from femheat.physics.conditions import FreeSlip, NoSlip, SlipLength, TangentialFlux


def _square(n=4, dim=2, split=False, slit=False):
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, n + 1)] * dim)
    subdomains = {"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5} if split else None
    interfaces = ({"mid": lambda x: np.isclose(x[0], 0.5) & (x[1] < (0.5 if slit else 2))}
                  if split else None)
    return fh.RegionMesh.from_skfem(
        mesh, subdomains=subdomains, interfaces=interfaces,
        boundaries={"left": lambda x: np.isclose(x[0], 0),
                    "rest": lambda x: ~np.isclose(x[0], 0)})


def _strips(n=6):
    """The unit square in three strips a | b | c across x."""
    mesh = skfem.MeshTri.init_tensor(*[np.linspace(0, 1, n + 1)] * 2)
    return fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 1 / 3, "b": lambda x: (x[0] > 1 / 3)
                          & (x[0] < 2 / 3), "c": lambda x: x[0] > 2 / 3},
        boundaries={"left": lambda x: np.isclose(x[0], 0),
                    "rest": lambda x: ~np.isclose(x[0], 0)})


def _ring(n=6):
    """The unit square around a hole (the middle ninth, l = 0 there): a the left column,
    b the bottom right, c the rest, each pair meeting along one spoke."""
    mesh = skfem.MeshTri.init_tensor(*[np.linspace(0, 1, n + 1)] * 2)

    def hole(x):
        return (np.abs(x[0] - 0.5) < 1 / 6) & (np.abs(x[1] - 0.5) < 1 / 6)

    return fh.RegionMesh.from_skfem(
        mesh, subdomains={"hole": hole, "a": lambda x: x[0] < 1 / 3,
                          "b": lambda x: (x[0] > 1 / 3) & (x[1] < 1 / 3),
                          "c": lambda x: (x[0] > 1 / 3) & (x[1] > 1 / 3) & ~hole(x)},
        boundaries={"left": lambda x: np.isclose(x[0], 0),
                    "rest": lambda x: ~np.isclose(x[0], 0)})


def _ring_materials():
    """ν = 2 on a, 1 on b and 0.5 + 6(y − 1/3) on c: a > b > c > a around the ring."""
    return {"hole": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.0),
            "a": fh.Material(lambda x: 0.5 + 0 * x[0], 1.0, 0.1, nonlocal_length=1.0),
            "b": fh.Material(lambda x: 1.0 + 0 * x[0], 1.0, 0.1, nonlocal_length=1.0),
            "c": fh.Material(lambda x: 1 / (0.5 + 6 * (x[1] - 1 / 3)), 1.0, 0.1,
                             nonlocal_length=1.0)}


def _problem(regions=None, materials=None, bcs=None, **options):
    regions = regions if regions is not None else _square()
    if materials is None:
        materials = {name: fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2)
                     for name in regions.subdomain_names}
    bcs = bcs if bcs is not None else {"left": fh.Insulated(), "rest": fh.Insulated()}
    options = {"model": "gk", "degree": 1, **options}
    return fh.HeatProblem(regions, materials, bcs, **options)


@pytest.mark.parametrize("degree", [0, 1])
def test_auto_takes_the_vorticity_form_where_both_model_the_same_problem(degree):
    """Closed and walled 2D boxes at degree 0 and 1 with one l^2/kappa: every wall
    condition, several subdomains with one viscosity (no Kapitza resistance), beta = 0."""
    assert _problem(degree=degree).viscous_form == "vorticity"
    assert _problem(walls={"rest": NoSlip()}, beta=0, degree=degree).viscous_form == "vorticity"
    split = _square(split=True)
    same_nu = {"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
               "b": fh.Material(8.0, 3.0, 0.2, nonlocal_length=0.4)}  # l^2/kappa = 0.02
    assert _problem(split, same_nu, degree=degree).viscous_form == "vorticity"
    assert auto_reason(_problem(degree=degree)) is None


@pytest.mark.parametrize("degree", [0, 1])
def test_auto_takes_the_vorticity_form_for_memory_with_a_nonlocal_length(degree):
    """The memory model's l² term acts on its total flux with the same two forms; one
    mode is GK, and with a nonlocal length in 2D "auto" takes the same form
    for both (a no-slip channel with T given at its ends: one mode equals GK to
    round-off after 10 Crank–Nicolson steps)."""
    from femheat.physics.memory import MemoryMaterial

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 9), np.linspace(0, 0.5, 5))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: x[0] < 1e-9, "right": lambda x: x[0] > 1 - 1e-9,
        "tb": lambda x: (x[0] > 1e-9) & (x[0] < 1 - 1e-9)})
    bcs = {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "tb": fh.Insulated()}
    common = dict(degree=degree, walls={"tb": NoSlip()})
    gk = fh.HeatProblem(regions, {"domain": fh.Material(2.0, 1.0, 0.3, nonlocal_length=0.1)},
                        bcs, model="gk", **common)
    memory = fh.HeatProblem(
        regions, {"domain": MemoryMaterial.from_modes([(2.0, 0.3)], 1.0, nonlocal_length=0.1)},
        bcs, model="memory", **common)
    assert gk.viscous_form == memory.viscous_form == "vorticity"
    states = []
    for problem in (gk, memory):
        system = fh.assemble(problem)
        scheme, state = fh.ThetaScheme(system, 0.05, 0.5), fh.initial_state(system)
        for _ in range(10):
            state = scheme.step(state)
        states.append(state)
    a, b = states
    assert np.abs(a.temperature - b.temperature).max() <= 1e-12 * np.abs(a.temperature).max()
    assert np.abs(a.flux - b.flux).max() <= 1e-12 * np.abs(a.flux).max()


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("bc", [fh.Temperature(301.0), fh.HeatFlux(5.0),
                                fh.Convection(10.0, 300.0)])
def test_auto_takes_the_vorticity_form_where_heat_crosses_a_boundary(bc, degree):
    """In 2D the vorticity form models the penalty form's conditions where heat crosses
    a boundary (femheat.assembly.vorticity_open, tests/test_gk_vorticity_open.py), with
    or without a no-slip wall there."""
    bcs = {"left": bc, "rest": fh.Insulated()}
    assert _problem(bcs=bcs, degree=degree).viscous_form == "vorticity"
    problem = _problem(bcs=bcs, walls={"left": NoSlip()}, degree=degree)
    assert problem.viscous_form == "vorticity"
    # slip-length walls that heat crosses: open boundaries with the slip's Robin term
    # since 2026-12-07 (tests/test_gk_vorticity_graded.py)
    for cube in (_square(), _square(2, dim=3)):
        problem = _problem(cube, bcs=bcs, walls={"left": SlipLength(0.5)}, degree=degree)
        assert problem.viscous_form == "vorticity", auto_reason(problem)
    # tangential-flux walls that heat crosses, κ and l constant: held with the data's
    # load since 2026-12-07 (tests/test_gk_vorticity_open.py, ..._open3d.py)
    problem = _problem(bcs=bcs, walls={"left": TangentialFlux(0.5)}, degree=degree)
    assert problem.viscous_form == "vorticity", auto_reason(problem)
    problem = _problem(_square(2, dim=3), bcs=bcs, degree=degree,
                       walls={"left": TangentialFlux([0.0, 0.5, 0.0])})
    assert problem.viscous_form == "vorticity", auto_reason(problem)


@pytest.mark.parametrize("change", [
    dict(regions=_square(split=True),
         materials={"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.2)}),
    dict(regions=_square(split=True), interfaces={"mid": fh.KapitzaResistance(1e-3)}),
    dict(regions=_square(split=True),
         materials={"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.0)}),
    dict(regions=_square(split=True),
         interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}),
    dict(regions=_square(split=True, slit=True),
         interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}),
    dict(regions=_square(2, dim=3, split=True, slit=True),
         interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}),
    dict(regions=_square(split=True, slit=True),
         materials={"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.2)},
         interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}),
    dict(materials={"domain": fh.Material(lambda x: 1 + x[0], 1.0, 0.1,
                                          nonlocal_length=lambda x: 0.2 + 0.1 * x[1])}),
    dict(regions=_square(2, dim=3),
         materials={"domain": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2)}),
    dict(regions=_square(split=True),
         materials={"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2)},
         interfaces={"mid": fh.KapitzaResistance(1e-3)}),
    dict(regions=_square(split=True),
         materials={"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2)},
         interfaces={"mid": fh.KapitzaResistance(1e-3)}),
    dict(regions=_square(split=True),
         materials={"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.0)}),
    dict(regions=_square(split=True),
         materials={"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2)},
         interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}),
    dict(regions=_square(split=True, slit=True),
         materials={"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2)},
         interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")}),
    # three tiers of ν where it varies (since 2026-12-08)
    dict(regions=_strips(),
         materials={name: fh.Material(lambda x: 1 + 0 * x[0], 1.0, 0.1, nonlocal_length=ell)
                    for name, ell in (("a", 0.3), ("b", 0.2), ("c", 0.1))}),
    # tangential-flux walls that heat crosses where ν varies (since 2026-12-08)
    dict(bcs={"left": fh.Temperature(301.0), "rest": fh.Insulated()},
         walls={"left": TangentialFlux(0.5)},
         materials={"domain": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2)}),
    dict(regions=_square(2, dim=3), bcs={"left": fh.Temperature(301.0), "rest": fh.Insulated()},
         walls={"left": TangentialFlux([0.0, 0.5, 0.0])},
         materials={"domain": fh.Material(2.0, 1.0, 0.1,
                                          nonlocal_length=lambda x: 0.2 + 0.1 * x[1])}),
    dict(regions=_square(2, dim=3, split=True),
         materials={"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.3)}),
    # ν larger on a's side along part of the interface, on b's along the rest, and a
    # loop of jumps around a ring (the lower envelope's levels)
    dict(regions=_square(split=True),
         materials={"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(lambda x: 1 + x[1], 1.0, 0.1, nonlocal_length=0.2)}),
    dict(regions=_ring(), materials=_ring_materials()),
    # ν vanishing on a wall (2D, and 3D since 2026-12-06; its vorticity mass floored)
    dict(materials={"domain": fh.Material(2.0, 1.0, 0.1,
                                          nonlocal_length=lambda x: 0.2 * x[0])}),
    dict(regions=_square(2, dim=3), materials={"domain": fh.Material(
        2.0, 1.0, 0.1, nonlocal_length=lambda x: 0.2 * x[0])}),
    # a constant symmetric tensor κ (2D, since 2026-12-09: its isotropic part by the
    # vorticity, the rest by weak gradients, femheat.assembly.vorticity_anisotropic),
    # next to an isotropic material and with a no-slip wall
    dict(regions=_square(split=True),
         materials={"a": fh.Material([[2.0, 0.7], [0.7, 1.0]], 1.0, 0.1, nonlocal_length=0.2),
                    "b": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.3)},
         walls={"rest": NoSlip()}),
])
def test_auto_takes_the_vorticity_form_across_materials(change):
    """Since 2026-12-06 materials of different constant l²/κ (l = 0 too), Kapitza
    interfaces whose tangential flux is continuous, and free ones that cut the viscous
    region apart keep the vorticity form (its viscosity levels,
    femheat.assembly.vorticity_levels; tests/test_gk_vorticity_layers.py); since
    2026-12-07 so do l(r) and κ(r) where ν = l²/κ is positive (the closure terms of
    femheat.assembly.vorticity_graded; since 2026-12-08 where ν also jumps between
    subdomains, l = 0 included, graded levels over tiers of ν,
    femheat.assembly.vorticity_graded_levels; tests/test_gk_vorticity_graded.py and
    ..._graded_levels.py; where ν changes side along an interface or around a loop,
    the lower envelope's levels), and slits with several
    l^2/kappa (each level's vorticity cut, tests/test_gk_vorticity_slit.py)."""
    problem = _problem(**change)
    assert problem.viscous_form == "vorticity", auto_reason(problem)


@pytest.mark.filterwarnings("ignore:model 'gk' with nonlocal_length = 0")
@pytest.mark.parametrize("change, reason", [
    (dict(bcs={"left": fh.Temperature(301.0), "rest": fh.Insulated()},
          walls={"left": FreeSlip()}),
     r"boundaries\.left: heat crosses it and it has a FreeSlip wall"),
    (dict(penalty=4.0), r"model\.penalty = 4\.0 given"),
    (dict(materials={"domain": fh.Material([[2.0, 0.5], [-0.5, 1.0]], 1.0, 0.1,
                                           nonlocal_length=0.2)}),
     r"materials\.domain\.conductivity has an antisymmetric \(thermal Hall\) part"),
    (dict(materials={side: fh.Material([[2.0, 0.0], [0.0, 1.0]], 1.0, 0.1,
                                       nonlocal_length=0.2) for side in "ab"},
          interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")},
          regions=_square(split=True)),
     r"interfaces\.mid: a free tangential flux with an anisotropic conductivity"),
    (dict(materials={"domain": fh.Material(2.0, 1.0, 0.1, nonlocal_length=lambda x:
                                           0.2 * np.maximum(x[0] - 0.5, 0))}),
     r"materials: nu = l\^2/kappa vanishes on whole cells of materials\.domain"),
    (dict(materials={"domain": fh.Material(lambda x: np.where(x[0] < 0.5, 1.0, 3.0), 1.0,
                                           0.1, nonlocal_length=0.2)}),
     r"materials: nu = l\^2/kappa jumps inside materials\.domain \(give each side a "
     r"subdomain of its own\)"),
    # in 3D ν may vanish on the boundary only: not at an inner vertex, and not between
    # the vertices (a plane x = 0.45 through cells: q 1.22 at n = 4, degree 0)
    (dict(regions=_square(2, dim=3), materials={"domain": fh.Material(
        2.0, 1.0, 0.1, nonlocal_length=lambda x: 0.2 * np.abs(x[0] - 0.5))}),
     r"materials: nu = l\^2/kappa vanishes inside materials\.domain at \[0\.5, .*\] "
     r"\(in 3D it may vanish only on the boundary\)"),
    (dict(regions=_square(4, dim=3), materials={"domain": fh.Material(
        2.0, 1.0, 0.1, nonlocal_length=lambda x: 0.2 * np.abs(x[0] - 0.45))}),
     r"materials: nu = l\^2/kappa falls between the vertices of a cell of "
     r"materials\.domain below half its values at them, at \[0\.4"),
    (dict(regions=_square(4, dim=3), materials={"domain": fh.Material(
        2.0, 1.0, 0.1, nonlocal_length=lambda x: 0.2 * np.abs(x[0] - 0.45) + 1e-3)}),
     r"falls between the vertices of a cell of materials\.domain"),
    (dict(materials={"domain": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.0)}),
     r"nu = l\^2/kappa = 0 in every material"),
    # ν jumping between graded materials around a loop (no tiers; the lower envelope's
    # levels, femheat.assembly.vorticity_graded_levels) with three phases at a vertex
    (dict(regions=_ring(), materials=dict(_ring_materials(),
                                          hole=_ring_materials()["c"])),
     r"materials\.a, materials\.b, materials\.c is larger on one side at one interface "
     r"and smaller at another around a loop, and three phases meet at the vertex "
     r"\[0\.333333, 0\.333333\]"),
    (dict(walls={"rest": FreeSlip(normal=lambda x: np.stack([0 * x[0], 1 + 0 * x[0]]))}),
     r"a wall with a smooth surface normal"),
    (dict(model="memory", materials={"domain": fh.Material(2.0, 1.0, 0.1)}),
     r"model 'memory' without the viscous term"),
])
def test_auto_keeps_the_penalty_form_and_says_why(change, reason):
    """Where nu varies inside a material and vanishes there or jumps between materials
    in ways the graded levels do not take, where it vanishes everywhere, where κ has a
    thermal Hall part or is a tensor next to a free Kapitza interface, a free-slip wall lets heat through, a smooth wall normal or a penalty factor
    is given, and for other models, "auto" is the penalty form; the reason names the
    key."""
    problem = _problem(**change)
    assert problem.viscous == "auto" and problem.viscous_form == "penalty"
    assert re.search(reason, auto_reason(problem)), auto_reason(problem)


def test_auto_keeps_the_penalty_form_in_rz():
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "axis": lambda x: np.isclose(x[0], 0), "rest": lambda x: ~np.isclose(x[0], 0)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.2)},
                             {"rest": fh.Insulated()}, model="gk", degree=1,
                             coordinates="axisymmetric")
    assert problem.viscous_form == "penalty" and "(r, z)" in auto_reason(problem)


@pytest.mark.parametrize("degree", [0, 1])
def test_auto_takes_the_vorticity_form_in_3d(degree):
    """One nu (two materials with one l^2/kappa, a continuous Kapitza interface between
    them), any wall, closed or where heat crosses a boundary (with its open-boundary
    terms since 2026-12-06, femheat.assembly.vorticity_open3d;
    tests/test_gk_vorticity_open3d.py): the 3D vorticity form models the penalty form's
    problem without its grid-scale modes."""
    cube = _square(2, dim=3)
    assert _problem(cube, degree=degree).viscous_form == "vorticity"
    assert _problem(cube, walls={"rest": NoSlip()}, degree=degree).viscous_form == "vorticity"
    for bc in (fh.Temperature(301.0), fh.HeatFlux(5.0), fh.Convection(10.0, 300.0)):
        bcs = {"left": bc, "rest": fh.Insulated()}
        assert _problem(cube, bcs=bcs, degree=degree).viscous_form == "vorticity"
        problem = _problem(cube, bcs=bcs, walls={"left": NoSlip()}, degree=degree)
        assert problem.viscous_form == "vorticity", auto_reason(problem)
    split = _square(2, dim=3, split=True)
    same_nu = {"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
               "b": fh.Material(8.0, 3.0, 0.2, nonlocal_length=0.4)}  # l^2/kappa = 0.02
    problem = _problem(split, same_nu, interfaces={"mid": fh.KapitzaResistance(1e-3)},
                       walls={"left": SlipLength(0.5)}, degree=degree)
    assert problem.viscous_form == "vorticity", auto_reason(problem)
    # several l^2/kappa (l = 0 too) and free interfaces that cut the viscous cells apart:
    # the viscosity levels in 3D since 2026-12-06 (tests/test_gk_vorticity_layers3d.py)
    for change in (dict(materials={"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
                                   "b": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.0)}),
                   dict(materials={"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
                                   "b": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.2)}),
                   dict(interfaces={"mid": fh.KapitzaResistance(1e-3, tangential="free")})):
        problem = _problem(split, degree=degree, **change)
        assert problem.viscous_form == "vorticity", auto_reason(problem)


def test_explicit_forms_are_kept_and_unknown_ones_refused():
    assert _problem(viscous="penalty").viscous_form == "penalty"
    assert _problem(degree=0, viscous="vorticity").viscous_form == "vorticity"
    with pytest.raises(fh.FemheatInputError, match=r"model\.viscous = 'hodge' is unknown; use "
                                                   r"'auto' \(the default"):
        _problem(viscous="hodge")
    with pytest.raises(fh.FemheatInputError, match=r"model\.viscous = 'vorticity' discretizes"):
        fh.HeatProblem(_square(), {"domain": fh.Material(1.0, 1.0, 0.1)},
                       {"left": fh.Insulated(), "rest": fh.Insulated()}, model="mcv",
                       viscous="vorticity")


CASE = """
[mesh]
builder = "strip"
[mesh.parameters]
length = 1.0
height = 0.5
n_length = 4
n_height = 2
[model]
type = "gk"
degree = 1
{viscous}
[materials.medium]
conductivity = 1.0
nonlocal_length = 0.1
[boundaries.left]
heat_flux = 0.0
[boundaries.right]
heat_flux = 0.0
[boundaries.sides]
heat_flux = 0.0
"""


@pytest.mark.parametrize("line, form", [("", "vorticity"), ('viscous = "auto"', "vorticity"),
                                         ('viscous = "penalty"', "penalty")])
def test_case_file_default_is_auto(tmp_path, line, form):
    case = parse_case(tomllib.loads(CASE.format(viscous=line)), tmp_path)
    assert case.problem.viscous == (line.split('"')[1] if line else "auto")
    assert case.problem.viscous_form == form
    from femheat.io.provenance import resolved_input

    # the penalty form's record names its projected jumps (a run begun with the full
    # jumps must not resume with them); the vorticity form's and MCV's records do not
    recorded = resolved_input(case)["problem"]
    assert recorded["viscous"] == form
    assert recorded.get("penalty_jumps") == ("projected" if form == "penalty" else None)
    mcv = parse_case(tomllib.loads(CASE.format(viscous="").replace('"gk"', '"mcv"').replace(
        "degree = 1", "degree = 0").replace("nonlocal_length = 0.1", "relaxation_time = 1e-11")),
        tmp_path)
    assert "penalty_jumps" not in resolved_input(mcv)["problem"]
    assert "inviscid_interfaces" not in recorded


@pytest.mark.parametrize("viscous", ["auto", "penalty"])
def test_runs_next_to_l0_materials_record_their_open_interface(tmp_path, viscous):
    """Next to a material with l = 0 both forms leave the tangential flux free since
    2026-12-06, so the resolved input (and the input hash a resumed run must match)
    says so."""
    from femheat.io.provenance import resolved_input

    text = f"""
[mesh]
builder = "layered_stack"
[mesh.parameters]
thicknesses = [0.5, 0.5]
height = 0.5
mesh_size = 0.25
[model]
type = "gk"
viscous = "{viscous}"
[materials.layer_1]
conductivity = 1.0
nonlocal_length = 0.1
[materials.layer_2]
conductivity = 2.0
nonlocal_length = 0.0
[boundaries.left]
temperature = 301.0
[boundaries.right]
temperature = 300.0
[boundaries.top]
heat_flux = 0.0
[boundaries.bottom]
heat_flux = 0.0
"""
    case = parse_case(tomllib.loads(text), tmp_path)
    assert case.problem.viscous_form == ("penalty" if viscous == "penalty" else "vorticity")
    assert resolved_input(case)["problem"]["inviscid_interfaces"] == "open"
    assert "free_interfaces" not in resolved_input(case)["problem"]


def test_vorticity_runs_with_free_interfaces_record_them_open():
    """The vorticity form's free Kapitza interfaces that cut the viscous region apart
    are open boundaries of each side since 2026-12-06 (were ω = 0), 2D slits since
    2026-12-07 (its vorticity cut there): the resolved input says so; a slit with
    several ν (ω = 0, as before) and the penalty form record nothing new."""
    from types import SimpleNamespace

    from femheat.io.provenance import resolved_input

    def record(regions, **options):
        problem = _problem(regions, interfaces={
            "mid": fh.KapitzaResistance(1e-3, tangential="free")}, **options)
        case = SimpleNamespace(title="t", problem=problem, homogenization=None,
                               initial_temperature=None, initial_flux=None, time=None,
                               output=None)
        return resolved_input(case)["problem"].get("free_interfaces")

    assert record(_square(split=True)) == "open"
    assert record(_square(split=True), viscous="penalty") is None
    assert record(_square(split=True, slit=True), viscous="vorticity") == "open"
    layers = {"a": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.2),
              "b": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.2)}
    # a slit with several nu: each level's vorticity cut since 2026-12-07
    assert record(_square(split=True, slit=True), materials=layers,
                  viscous="vorticity") == "open"
    graded = {"a": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2),
              "b": fh.Material(lambda x: 1 + x[0], 1.0, 0.1, nonlocal_length=0.2)}
    assert record(_square(split=True, slit=True), materials=graded,
                  viscous="vorticity") is None  # nu varying: the slit keeps omega = 0
    # 3D: the levels since 2026-12-06
    assert record(_square(2, dim=3, split=True), viscous="vorticity") == "open"


def test_3d_vorticity_runs_where_heat_crosses_record_the_new_conditions():
    """Since 2026-12-06 the 3D vorticity form gives boundaries that heat crosses the
    gradient energy's conditions (were ω = 0, T − (1+β)ν∇·q = T_D): a run begun
    before must not resume, so the resolved input says so; closed 3D domains, the
    penalty form and 2D record nothing new."""
    from types import SimpleNamespace

    from femheat.io.provenance import resolved_input

    def record(regions, bcs, **options):
        case = SimpleNamespace(title="t", problem=_problem(regions, bcs=bcs, **options),
                               homogenization=None, initial_temperature=None,
                               initial_flux=None, time=None, output=None)
        return resolved_input(case)["problem"].get("crossed_boundaries")

    crossed = {"left": fh.Temperature(301.0), "rest": fh.Insulated()}
    assert record(_square(2, dim=3), crossed) == "gradient"
    assert record(_square(2, dim=3), None) is None
    assert record(_square(2, dim=3), crossed, viscous="penalty") is None
    assert record(_square(), crossed) is None


def test_vorticity_runs_with_slip_walls_that_heat_crosses_record_them():
    """Since 2026-12-07 a slip-length wall that heat crosses is an open boundary of the
    vorticity form with the slip's Robin term (was a held wall with ω's slip mass):
    such runs record it, so one begun before refuses --resume."""
    from types import SimpleNamespace

    from femheat.io.provenance import resolved_input

    def record(bcs, **options):
        case = SimpleNamespace(title="t", problem=_problem(bcs=bcs, **options),
                               homogenization=None, initial_temperature=None,
                               initial_flux=None, time=None, output=None)
        return resolved_input(case)["problem"].get("crossed_slip_walls")

    crossed = {"left": fh.Temperature(301.0), "rest": fh.Insulated()}
    slip = {"left": SlipLength(0.5)}
    assert record(crossed, walls=slip) == "open"
    assert record(crossed, walls=slip, viscous="penalty") is None
    assert record(None, walls=slip) is None  # insulated: a held wall, as before


def test_run_summary_counts_the_vorticity_unknowns():
    """The vorticity form's active ω DOFs are in the summary's DOF count (degree 0: the
    consistent P2 mass; degree 1 in a closed box: the lumped P3 one); the penalty form
    has none."""
    from femheat.registry import get_model

    for degree, viscous in ((0, "auto"), (1, "auto"), (0, "penalty")):
        system = fh.assemble(_problem(degree=degree, viscous=viscous))
        dofs = get_model("gk").dofs(system)
        assert ("vorticity" in dofs) == (viscous == "auto"), dofs
        assert dofs["total"] == sum(v for k, v in dofs.items() if k != "total")
        if viscous == "auto":
            assert dofs["vorticity"] == system.rotation[1].size > 0
