r"""The 3D vorticity form where ν = l²/κ jumps between materials: the viscosity levels
of femheat.assembly.vorticity_levels on tetrahedra (since 2026-12-06), each level's
interface to smaller ν an open boundary with the 3D terms of
femheat.assembly.vorticity_open3d.

Reference: the layered slab of tests/test_gk_vorticity_layers.py (layers along y,
insulated stress-free sides x = 0, 1, T_D = cos πx on top and 0 at the bottom),
extruded along z between insulated stress-free walls z = 0, H: its flux (u(y) sin πx,
w(y) cos πx, 0) has ∇×q ∥ e_z, so n × ω = 0 holds on those walls and the 2D solution is
the 3D one. Relative L2 errors; the figures are in each test's docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import skfem

import femheat as fh
from femheat.assembly.viscous_choice import auto_reason
from tests.test_gk_vorticity_layers import ON_FOURIER, PI, THREE, TWO, Layers

HEIGHT = 0.25  # the extrusion, one cell deep


def _slab3d(n: int, edges, layers, resistance: float = 0.0, degree: int = 1,
            viscous: str = "auto", free: bool = False) -> fh.HeatProblem:
    """The extruded slab, n cells across the unit width and per unit height, one deep."""
    ys = np.concatenate([np.linspace(a, b, round(n * (b - a)) + 1)[:-1]
                         for a, b in zip(edges[:-1], edges[1:])] + [[edges[-1]]])
    mesh = skfem.MeshTet.init_tensor(np.linspace(0, 1, n + 1), ys, np.array([0.0, HEIGHT]))
    names = [f"layer{i}" for i in range(len(layers))]
    subdomains = {name: (lambda x, a=a, b=b: (x[1] > a) & (x[1] < b))
                  for name, a, b in zip(names, edges[:-1], edges[1:])}
    interfaces = ({f"if{i}": (lambda x, y=y: np.isclose(x[1], y))
                   for i, y in enumerate(edges[1:-1])} if resistance or free else None)
    top, bottom = edges[-1], edges[0]
    rm = fh.RegionMesh.from_skfem(mesh, subdomains=subdomains, interfaces=interfaces,
                                  boundaries={
        "top": lambda x: np.isclose(x[1], top), "bottom": lambda x: np.isclose(x[1], bottom),
        "sides": lambda x: ~(np.isclose(x[1], top) | np.isclose(x[1], bottom))})
    materials = {name: fh.Material(kappa, 1.0, 0.0, nonlocal_length=ell)
                 for name, (kappa, ell) in zip(names, layers)}
    return fh.HeatProblem(
        rm, materials, {"top": fh.Temperature(lambda x, t: np.cos(PI * x[0])),
                        "bottom": fh.Temperature(0.0), "sides": fh.Insulated()},
        interfaces={name: fh.KapitzaResistance(resistance, tangential="free" if free
                                               else "continuous")
                    for name in interfaces or {}},
        model="gk", degree=degree, viscous=viscous)


def slab3d_errors(n: int, edges, layers, resistance: float = 0.0, degree: int = 1,
                  viscous: str = "auto", free: bool = False) -> tuple[float, float]:
    """Relative L2 errors (T, q) of the steady extruded slab against :class:`Layers`."""
    problem = _slab3d(n, edges, layers, resistance, degree, viscous, free)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    mesh = problem.regions.mesh
    # order 7: scikit-fem's tetrahedral rules of order 5 and 6 put points on the cells'
    # faces, where the reference cannot tell the sides of an interface apart
    qb = skfem.CellBasis(mesh, system.flux_basis.elem, intorder=7)
    tb = skfem.CellBasis(mesh, system.temperature_basis.elem, intorder=7)
    x = qb.global_coordinates().value
    T_ex, q2 = Layers(edges, layers, resistance, free)(x[0], x[1])
    q_ex = np.concatenate([q2, np.zeros((1,) + q2.shape[1:])])
    dq = qb.interpolate(state.flux).value - q_ex
    dT = tb.interpolate(state.temperature).value - T_ex
    return (math.sqrt(np.sum(dT**2 * tb.dx) / np.sum(T_ex**2 * tb.dx)),
            math.sqrt(np.sum((dq**2).sum(0) * qb.dx) / np.sum((q_ex**2).sum(0) * qb.dx)))


def _orders(errs):
    return [round(math.log2(a / b), 2) for a, b in zip(errs[:-1], errs[1:])]


@pytest.mark.parametrize("case, resistance, degree, free", [
    (TWO, 0.0, 1, False), (TWO, 0.5, 1, False), (TWO, 0.0, 0, False),
    (THREE, 0.0, 1, False), (ON_FOURIER, 0.0, 1, False),
    (TWO, 0.5, 1, True)])
def test_layers_converge_at_full_order(case, resistance, degree, free):
    """Two layers (l = 0.3 | 0.12, κ = 1 | 2), with R = 0.5 at the interface, three
    layers (three levels) and a GK film on a Fourier layer (l = 0), n = 4 / 8 (the
    orders of the 2D slab at these meshes: q 2.69, T 1.97). Measured, T / q:

    * two layers, degree 1: 2.67e-2 / 6.81e-3 (1.97), 4.56e-3 / 7.10e-4 (2.68); the
      penalty form 2.75e-2 / 7.07e-3, 5.67e-3 / 9.46e-4; with R = 0.5: 6.78e-3,
      7.14e-4 at n = 8 (penalty 7.08e-3, 9.58e-4);
    * degree 0: 0.219 / 0.111 (0.98), 3.38e-2 / 9.82e-3 (1.78); penalty 0.112, 1.30e-2;
    * three layers: 2.41e-2 / 6.16e-3, 3.67e-3 / 5.23e-4 (2.81); penalty 7.03e-3,
      7.42e-4;
    * on a Fourier layer: 2.77e-2 / 7.06e-3, 2.83e-3 / 3.87e-4 (2.87); penalty
      7.95e-3, 5.51e-4;
    * two layers behind a free Kapitza interface (R = 0.5, no tangential traction on
      either side: each side its own viscous region): 2.68e-2 / 6.84e-3, 4.51e-3 /
      7.00e-4; penalty 7.03e-3, 9.22e-4."""
    errs = np.array([slab3d_errors(n, *case, resistance, degree, "vorticity", free)
                     for n in (4, 8)])
    t_order, q_order = _orders(errs[:, 0]), _orders(errs[:, 1])
    assert t_order[-1] > degree + 0.9 and q_order[-1] > degree + 1.6, (
        f"T errors {errs[:, 0]} (orders {t_order}), q errors {errs[:, 1]} (orders "
        f"{q_order})")
    penalty = slab3d_errors(8, *case, resistance, degree, "penalty", free)
    assert errs[-1, 0] <= penalty[0] and errs[-1, 1] <= 0.8 * penalty[1], (errs[-1], penalty)


def test_auto_takes_the_levels_in_3d():
    """Several constant l²/κ (l = 0 included) in 3D: "auto" takes the vorticity form
    with its levels (until 2026-12-06 the penalty form)."""
    for case in (TWO, THREE, ON_FOURIER):
        problem = _slab3d(2, *case)
        assert problem.viscous_form == "vorticity", auto_reason(problem)
    from femheat.assembly.vorticity_levels import viscosity_levels

    problem = _slab3d(2, *THREE)
    system = fh.assemble(problem)
    nu_cell = np.zeros(problem.regions.mesh.t.shape[1])
    for name, (kappa, ell) in zip(("layer0", "layer1", "layer2"), THREE[1]):
        nu_cell[problem.regions.subdomain(name)] = ell**2 / kappa
    assert len(viscosity_levels(problem, nu_cell)) == 3
    assert system.rotation is not None


@pytest.mark.parametrize("case", [TWO, THREE, ON_FOURIER])
def test_flux_block_is_positive_semidefinite(case):
    """The levels' flux block minus the Darcy mass κ⁻¹(q, v): no negative eigenvalue
    against that mass beyond round-off (degree 1, n = 2; the Darcy mass that of the
    same slab at l = 1e-6)."""
    system = fh.assemble(_slab3d(2, *case, viscous="vorticity"))
    C, mass = system.rotation
    free = system.free_dofs
    darcy = fh.assemble(_slab3d(2, case[0], [(k, 1e-6) for k, _ in case[1]],
                                viscous="vorticity")).resistance_base.toarray()
    darcy = darcy[np.ix_(free, free)]
    full = (system.resistance_base.toarray()
            + C.T.toarray() @ np.linalg.solve(mass.matrix.toarray(), C.toarray()))
    V = full[np.ix_(free, free)] - darcy
    eig = scipy.linalg.eigvalsh(0.5 * (V + V.T), darcy)
    assert eig[0] > -1e-9 * eig[-1], f"lowest {eig[0]:.3e}, largest {eig[-1]:.3e}"


def test_pinched_materials_keep_the_penalty_form_in_3d():
    """Materials of larger ν touching along an edge (a 2 × 2 checkerboard in x, y,
    extruded along z): the level's region passes that edge twice, so "auto" keeps the
    penalty form and an explicit vorticity form is refused with the location (the 2D
    test: tests/test_gk_vorticity_layers.py)."""
    x = np.linspace(0, 1, 5)
    rm = fh.RegionMesh.from_skfem(skfem.MeshTet.init_tensor(x, x, np.linspace(0, 1, 3)),
                                  subdomains={
                                      "a": lambda p: (p[0] - 0.5) * (p[1] - 0.5) > 0,
                                      "b": lambda p: (p[0] - 0.5) * (p[1] - 0.5) < 0},
                                  boundaries={"walls": lambda p: np.ones(p.shape[1], bool)})
    materials = {"a": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.3),
                 "b": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.1)}
    auto = fh.HeatProblem(rm, materials, {"walls": fh.Insulated()}, model="gk")
    assert auto.viscous_form == "penalty"
    with pytest.raises(fh.FemheatInputError, match=r"touch at an edge near \[0\.5, 0\.5, "):
        fh.assemble(fh.HeatProblem(rm, materials, {"walls": fh.Insulated()}, model="gk",
                                   viscous="vorticity"))
