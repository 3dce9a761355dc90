r"""The GK vorticity form on curved walls meshed by flat facets: no smooth normal needed.

The interior penalty locks the tangential flux on a faceted curved wall (q·n_h = 0
facet by facet; the Babuška–Sapondzhyan paradox) and needs the true surface's normal
for O(h²) (``tests/test_gk_curved_walls.py``). The vorticity form's wall conditions act
on ω (ω = 0 stress-free, a boundary mass for a slip length) and it converges at O(h²)
with the facet normals:

* a free-slip wire (BENCHMARKS G3) carries the uniform flux: κ_eff over the faceted
  cross-section's area → κ at O(h²) (1.0064 / 1.0016 at h = 0.4 / 0.2; the penalty
  form with facet normals: 0.826 / 0.902, O(h));
* a slip-length wire (C_s = 1, R/l = 2) against the closed form: −2.5e-2 / −6.8e-3
  (O(h^1.9); the penalty form needs the smooth normal for −4.0e-2 / −1.0e-2). Its
  ends get ``NoSlip()`` (q·t = 0 holds there for developed flow; left stress-free,
  ω = 0 flattens the profile at the ends and a segment of length 2h never converges,
  measured +18 / +29 / +43 %);
* the transverse (swirl) mode of a disc: with ω = 0 on the circle its flux is
  J₁(kr) e_θ with (rJ₁(kr))' = kr J₀(kr) = 0 at r = 1, k = j₀,₁ (the penalty form's
  free slip ∂q_θ/∂r = 0 gives J₁'(k) = 0 instead: two models of a curved free-slip
  wall, as for heat crossing a curved boundary); the decay rate converges to
  (1 + l²k²)/τ at O(h²): −1.3e-3 / −3.7e-4 / −9.4e-5 (degree 0), 1.5e-3 / 3.6e-4 /
  8.9e-5 (degree 1) at 2 / 3 / 4 refinements (the penalty form with facet normals:
  4.7e-2 / 2.4e-2 / 1.2e-2).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem
from scipy.special import j1, jn_zeros

import femheat as fh
from femheat.errors import FemheatInputError
from femheat.physics.conditions import FreeSlip, NoSlip, SlipLength, sphere_normal
from tests.test_gk_curved_walls import _everywhere, _mode_rate, wire_ratio

R, ELL = 1.0, 0.5


@pytest.fixture(scope="module")
def wires(tmp_path_factory):
    from femheat.mesh.geometry import build

    pytest.importorskip("gmsh")
    tmp = tmp_path_factory.mktemp("wires")
    return {h: build("wire", tmp / f"wire_{h}.msh", radius=R, length=2 * h, mesh_size=h)
            for h in (0.4, 0.2)}


def _wire_flow(regions, wall) -> tuple[float, float]:
    """(heat flow through the cold end, its faceted area) for a gradient of 1 K/m, κ = 1."""
    length = float(regions.metadata["parameters"]["length"])
    problem = fh.HeatProblem(regions, {"wire": fh.Material(1.0, nonlocal_length=ELL)},
                             {"hot": fh.Temperature(length), "cold": fh.Temperature(0.0),
                              "surface": fh.Insulated()}, model="gk", degree=0,
                             viscous="vorticity",
                             walls={"surface": wall, "hot": NoSlip(), "cold": NoSlip()})
    system = fh.assemble(problem)
    flows = fh.boundary_heat_flow(system, fh.solve_steady(system).flux)
    fb = skfem.FacetBasis(regions.mesh, skfem.ElementTetP0(), facets=regions.boundary("cold"))
    return flows["cold"], float(fb.dx.sum())


def test_faceted_wire_free_slip_and_slip_length_converge_at_second_order(wires):
    free = []
    slip = []
    for h in (0.4, 0.2):
        flow, area = _wire_flow(wires[h], FreeSlip())
        free.append(abs(flow / area - 1))
        flow, _ = _wire_flow(wires[h], SlipLength(1.0))
        slip.append(abs(flow / (np.pi * R**2) / wire_ratio(R, ELL, 1.0) - 1))
    assert free[1] < 2.5e-3 and np.log2(free[0] / free[1]) > 1.7, free
    assert slip[1] < 1e-2 and np.log2(slip[0] / slip[1]) > 1.7, slip


@pytest.mark.parametrize("degree", [0, 1])
def test_disc_swirl_mode_meets_the_zero_vorticity_wall_at_second_order(degree):
    """Degree 0 on init_circle meshes (nref = 2 / 3 / 4): rate errors 2.5e-3 / 6.8e-4 /
    1.7e-4 with the rotation-consistent vorticity weights, 1.3e-3 / 3.7e-4 / 9.4e-5
    with the row-sum weights (the few irregular vertices of these meshes, γ up to 2,
    weigh in the eigenvalue). On gmsh discs (h = 0.2 / 0.1 / 0.05) the weights give
    5.6e-4 / 1.8e-4 / 4.7e-5 against 6.3e-4 / 1.9e-4 / 4.8e-5."""
    ell, tau = 0.1, 1.0
    k = jn_zeros(0, 1)[0]  # (r J1(kr))' = kr J0(kr) = 0 at r = 1: ω = 0 on the rim

    def shape(x):
        r = np.sqrt(x[0] ** 2 + x[1] ** 2)
        f = j1(k * r) / np.maximum(r, 1e-300)
        return np.array([-x[1] * f, x[0] * f])

    exact = (1 + ell**2 * k**2) / tau
    errors = []
    for nref in (2, 3, 4):
        regions = fh.RegionMesh.from_skfem(skfem.MeshTri.init_circle(nref),
                                           boundaries={"wall": _everywhere})
        system = fh.assemble(fh.HeatProblem(
            regions, {"domain": fh.Material(1.0, 1.0, tau, nonlocal_length=ell)},
            {"wall": fh.Insulated()}, model="gk", degree=degree, viscous="vorticity"))
        errors.append(abs(_mode_rate(system, exact, shape) / exact - 1))
    orders = np.log2(np.divide(errors[:-1], errors[1:]))
    assert np.all(orders > 1.8) and errors[-1] < (2e-4 if degree == 0 else 1.2e-4), (
        errors, orders)


def test_a_smooth_normal_is_refused_as_not_needed():
    regions = fh.RegionMesh.from_skfem(skfem.MeshTri.init_circle(1),
                                       boundaries={"wall": _everywhere})
    with pytest.raises(FemheatInputError, match=r"walls\.wall: .*not needed.*drop normal="):
        fh.HeatProblem(regions, {"domain": fh.Material(1.0, nonlocal_length=0.1)},
                       {"wall": fh.Insulated()}, model="gk", viscous="vorticity",
                       walls={"wall": FreeSlip(normal=sphere_normal((0.0, 0.0)))})
