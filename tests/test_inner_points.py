"""Sources (mixed models and kernel solvers) and initial fields given piecewise by
coordinates (femheat.element.spaces.inner_points): scikit-fem's tetrahedral rules of
order 5, 6 and 8 put quadrature points on the cells' edges and faces, where
``np.where(z > 0.5, ...)`` took the other side's value; femheat evaluates user
functions at those points pulled 1e-9 of the cell into it."""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.element.spaces import inner_points


def _film(dim: int, degree: int, n: int) -> fh.MixedSystem:
    cls = skfem.MeshTet if dim == 3 else skfem.MeshTri
    mesh = cls.init_tensor(*(np.linspace(0, 1, n + 1),) * dim)
    regions = fh.RegionMesh.from_skfem(
        mesh, boundaries={"all": lambda x: np.ones(x.shape[1], bool)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.0)},
                             {"all": fh.Temperature(0.0)}, model="fourier", degree=degree,
                             source=lambda x, t: np.where(x[-1] > 0.5, 1.0, 0.0))
    return fh.assemble(problem)


@pytest.mark.parametrize("dim, degree", [(3, 1), (3, 0), (2, 1)])
def test_a_film_source_puts_its_heat_in(dim, degree):
    """1 W/m³ on z > 1/2 of the unit cube: 0.5 W to round-off (3D degree 1, whose order-6
    rule has points on the edges, put 0.49699 / 0.49849 W in at n = 4 / 8 before), and
    an initial temperature given the same way integrates to 0.5."""
    for n in (4, 8):
        system = _film(dim, degree, n)
        assert abs(system.heat_load(0.0).sum() - 0.5) < 1e-12
        state = fh.initial_state(system, temperature=lambda x: np.where(x[-1] > 0.5, 1.0, 0.0))
        tb = system.temperature_basis
        assert abs((tb.interpolate(state.temperature).value * tb.dx).sum() - 0.5) < 1e-12


def test_inner_points_move_only_boundary_points_and_only_a_little():
    """Points on a cell's boundary move 1e-9 of the cell towards its centroid, into the
    cell; interior points (every point of the 2D rules used) stay where they are."""
    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 3),) * 3)
    basis = skfem.CellBasis(mesh, skfem.ElementTetP1(), intorder=6)
    x, exact = inner_points(basis), basis.global_coordinates().value
    moved = np.abs(x - exact).max(axis=(0, 1)) > 0
    barycentric = np.vstack([1 - basis.X.sum(axis=0), basis.X])
    assert np.array_equal(moved, barycentric.min(axis=0) < 1e-12) and moved.any()
    assert np.abs(x - exact).max() < 1e-9
    # inside: each moved point's barycentric coordinates in its own cell are positive
    local = mesh.mapping().invF(x, tind=np.arange(mesh.t.shape[1]))
    lam = np.concatenate([1 - local.sum(axis=0)[None], local])
    assert lam.min() > 0
    tri = skfem.CellBasis(skfem.MeshTri.init_tensor(*(np.linspace(0, 1, 3),) * 2),
                          skfem.ElementTriP1(), intorder=6)
    assert np.array_equal(inner_points(tri), tri.global_coordinates().value)


def test_the_kernel_models_source_load_puts_its_heat_in():
    """The kernel solvers' source load (order-6 rule, points on the edges in 3D) takes
    each cell's side too: 1 W/m³ on z > 1/2 of the unit cube puts 0.5 W in."""
    from types import SimpleNamespace

    from femheat.kernels.solver_base import _load

    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 5),) * 3)
    op = SimpleNamespace(basis=skfem.CellBasis(mesh, skfem.ElementTetP1()))
    b = _load(op, lambda x: np.where(x[2] > 0.5, 1.0, 0.0))
    assert abs(b.sum() - 0.5) < 1e-12, b.sum()


@pytest.mark.parametrize("model, degree", [("fourier", 1), ("mcv", 1), ("gk", 0)])
def test_a_conductivity_that_jumps_inside_a_material(model, degree):
    """κ = 1 below z = 1/2 and 4 above, given as one material's function of position,
    against the same layers as two subdomains (3D, n = 4, T = 0 on z = 0, a source):
    the same temperatures to round-off (Fourier and MCV at degree 1: 2.7e-3 apart
    before materials were evaluated at inner points, the order-6 rule's face points
    taking the other layer's κ). Under GK "auto" keeps the penalty form there, whose
    ν_h would smooth the jump (the reason names the material), and a penalty solve of
    the function is the two subdomains' to 1e-3 (its facet terms weigh ν by cell
    within a material and by side across an interface)."""
    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 5),) * 3)
    boundaries = {"bottom": lambda x: np.isclose(x[2], 0),
                  "rest": lambda x: ~np.isclose(x[2], 0)}
    ell = 0.2 if model == "gk" else 0.0
    options = dict(model=model, degree=degree, source=lambda x, t: 1.0 + x[0],
                   **({"viscous": "penalty"} if model == "gk" else {}))
    bcs = {"bottom": fh.Temperature(0.0), "rest": fh.Insulated()}
    jump = fh.Material(lambda x: np.where(x[2] < 0.5, 1.0, 4.0), 1.0, 0.0,
                       nonlocal_length=ell)
    one = fh.HeatProblem(fh.RegionMesh.from_skfem(mesh, boundaries=boundaries),
                         {"domain": jump}, bcs, **options)
    two = fh.HeatProblem(fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[2] < 0.5, "b": lambda x: x[2] > 0.5},
        boundaries=boundaries), {"a": fh.Material(1.0, 1.0, 0.0, nonlocal_length=ell),
                                 "b": fh.Material(4.0, 1.0, 0.0, nonlocal_length=ell)},
        bcs, **options)
    T1, T2 = (fh.solve_steady(fh.assemble(p)).temperature for p in (one, two))
    gap = np.abs(T1 - T2).max() / np.abs(T2).max()
    assert gap < (1e-3 if model == "gk" else 1e-12), gap
    if model == "gk":
        auto = fh.HeatProblem(one.regions, {"domain": jump}, bcs, model="gk", degree=degree)
        assert auto.viscous_form == "penalty"
        from femheat.assembly.viscous_choice import auto_reason

        assert "jumps inside materials.domain" in auto_reason(auto)
