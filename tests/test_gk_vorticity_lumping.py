r"""Rotation-consistent weights of a lumped P1 vorticity mass
(:func:`cartesian_rotation_weights` below), and the 2D
degree-0 channel temperatures they once made exact.

The row-sum weight ∫φ_i/ν makes the discrete vorticity of vertex i exact for a rigid
rotation only where the patch of i is symmetric about it. The (r, z) degree-0 form
(the stream function rω in P1, lumped) uses such weights; the Cartesian degree-0 form
did (RT0 × P0 with a lumped P1 vorticity) until it became BDM1 × P0 with a consistent P2
vorticity (femheat.assembly.vorticity). Proven here:

* the Cartesian closed form agrees with an independent computation (skfem's assembled
  coupling applied to the RT0 interpolant of the rotation) on a distorted mesh whose
  cells list their vertices clockwise and anticlockwise; so do the (r, z) weights with
  the assembled stream coupling C = Sᵀ M_r, and far from the axis they tend to the
  Cartesian ones;
* phonon Poiseuille flow between no-slip or slip-length walls, no-slip ends, degree 0:
  largest / RMS error of T at the centroids at n = 8 / 16 / 32, no-slip 8.3e-4 /
  4.5e-4 / 2.4e-4 and 2.9e-4 / 1.1e-4 / 4.2e-5, slip length 1.4e-4 / 4.3e-5 / 1.2e-5
  and 4.1e-5 / 8.8e-6 / 1.7e-6 (the penalty form: 5.5e-3 / 2.9e-3 / 1.5e-3 and 3.0e-3
  / 1.5e-3 / 7.6e-4, 4.3e-3 … 1.4e-3 and 2.1e-3 … 5.2e-4). The RT0 form with these
  weights was exact to round-off there (row sums left 2 % of the drop in the corner
  cells at every n);
* on a distorted channel mesh the RMS T error is 3.2e-4 / 1.3e-4 / 4.6e-5 at n = 8 / 16 /
  32 (O(h^1.4); RT0 with the weights: 6.3e-4 / 2.8e-4 / 1.4e-4, O(h); with row sums
  3.0e-3 / 1.8e-3 / 1.1e-3; the interior-penalty form: 3.2e-3 / 1.7e-3 / 8.6e-4).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse.linalg as spla
import skfem
from skfem.helpers import dot

import femheat as fh
from femheat.assembly import forms
from femheat.assembly.rt0_closed_forms import (p1_gradients, per_vertex_ratio,
                                               rotation_facet_fluxes)
from femheat.assembly.vorticity_axisymmetric import (cell_coupling, stream_coupling,
                                                     stream_rotation_weights)
from femheat.physics.conditions import NoSlip, SlipLength
from tests.test_gk_temperature import _orders
from tests.test_gk_vorticity import CH_KAPPA, CH_L, CH_L_NL, CH_W, channel


def cartesian_rotation_weights(mesh: skfem.MeshTri) -> np.ndarray:
    r"""γ_i [1] per vertex: the factor that makes the lumped P1 vorticity row of vertex
    i (with RT0 fluxes) exact for a rigid rotation about it. The former 2D degree-0
    form used these weights (until 2026-12-06); kept here as the reference the (r, z)
    weights tend to far from the axis.

    With R_i(x) = J(x − x_i) (J the rotation by π/2, rot R_i = 2), its RT0
    interpolant Π R_i and the lumped weight ∫φ_i,

    .. math::

        \gamma_i = \frac{(\Pi R_i, \mathrm{curl}\,\varphi_i)}{2\int\varphi_i} ,

    so that (ν⁻¹γ_i ∫φ_i) ω_i = (Π q, curl φ_i) returns ω_i = ν rot q for q = R_i.
    R_i is tangent to no facet through x_i (R_i · (x − x_i) = 0), so this holds at wall
    vertices and corners too, where no-slip data ⟨q·t, φ_i⟩ = 0 are exact for R_i.

    γ_i = 1 on patches symmetric about x_i (the inside of a structured mesh). It is not
    1 where the patch is lopsided: 3/2 at a right-angled corner held by a single cell,
    3/4 at one split by the diagonal (γ grows with the corner angle of a single cell:
    3 at 120°), and 0.87–1.18 on gmsh meshes. Where the row-sum weight is used there
    (γ = 1), ω at such a vertex is off by a fixed fraction however fine the mesh, and
    T by that fraction of ν rot q: at the corners of a no-slip channel 2 % of the
    temperature drop at every n (``tests/test_gk_vorticity_lumping.py``).

    The RT0 interpolant of a linear field is exact with facet midpoints:
    ∫_F R·n = |F| R(x_F)·n_F; on a cell ΠR = Σ_k F_k ψ_k, ψ_k = (x − p_k)/(2|K|)
    (unit outward flux through the facet opposite p_k), so
    ∫_K ΠR = Σ_k F_k (x_K − p_k)/2.
    """
    p, t = mesh.p, mesh.t
    grads = p1_gradients(mesh)
    corners = p[:, t]  # (2, 3, n)
    centroid = corners.mean(axis=1)
    flux = rotation_facet_fluxes(mesh)
    row = np.zeros((3, t.shape[1]))
    for i in range(3):  # R about local vertex i
        mean = 0.5 * (flux[i][None] * (centroid[:, None] - corners)).sum(axis=1)  # ∫_K ΠR
        row[i] = grads[1, i] * mean[0] - grads[0, i] * mean[1]  # curl φ_i · ∫_K ΠR
    return per_vertex_ratio(mesh, row)


def _distorted(mesh: skfem.MeshTri, shift: float, seed: int = 1) -> skfem.MeshTri:
    """Interior vertices moved by up to ``shift`` [m] in x and y (uniformly at
    random)."""
    rng = np.random.default_rng(seed)
    p = mesh.p.copy()
    inner = np.setdiff1d(np.arange(mesh.nvertices), mesh.boundary_nodes())
    p[:, inner] += shift * rng.uniform(-1, 1, (2, inner.size))
    return skfem.MeshTri(p, mesh.t)


def _rt0_interpolant(qb: skfem.CellBasis, field) -> np.ndarray:
    """RT0 DOFs of ``field``: its normal flux through every facet (a diagonal facet
    mass, each facet seen from one cell)."""
    fb = skfem.FacetBasis(qb.mesh, qb.elem, facets=np.arange(qb.mesh.nfacets), intorder=2)

    @skfem.BilinearForm
    def normal_mass(u, v, w):
        return dot(u, w.n) * dot(v, w.n)

    @skfem.LinearForm
    def normal_load(v, w):
        return dot(field(w.x), w.n) * dot(v, w.n)

    return spla.spsolve(normal_mass.assemble(fb).tocsc(), normal_load.assemble(fb))


def test_weights_agree_with_the_assembled_coupling_on_a_distorted_mesh():
    mesh = _distorted(skfem.MeshTri.init_tensor(np.linspace(0, 1, 7), np.linspace(0, 1, 7)),
                      0.2 / 6)
    t = mesh.t.copy()
    t[[1, 2], ::2] = t[[2, 1], ::2]  # every other cell clockwise
    mesh = skfem.MeshTri(mesh.p, t)
    gamma = cartesian_rotation_weights(mesh)
    qb = skfem.CellBasis(mesh, skfem.ElementTriRT0())
    wb = skfem.CellBasis(mesh, skfem.ElementTriP1(), quadrature=(qb.X, qb.W))
    C = forms.flux_curl_coupling.assemble(qb, wb).tocsr()
    patch = np.bincount(mesh.t.ravel(), np.tile(qb.dx.sum(axis=1) / 3, 3), mesh.nvertices)
    oracle = np.empty(mesh.nvertices)
    for i, (x0, y0) in enumerate(mesh.p.T):
        rotation = _rt0_interpolant(qb, lambda x: np.stack([-(x[1] - y0), x[0] - x0]))
        oracle[i] = (C[i] @ rotation)[0] / (2 * patch[i])
    assert np.abs(gamma - oracle).max() < 1e-12, np.abs(gamma - oracle).max()
    assert np.ptp(gamma) > 0.1  # the distortion is felt

    square = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    gamma = cartesian_rotation_weights(square)
    corner = {tuple(x): g for x, g in zip(square.p.T, gamma)}
    inner = np.setdiff1d(np.arange(square.nvertices), square.boundary_nodes())
    assert np.allclose(gamma[inner], 1.0, atol=1e-14)
    # the corner held by one cell, and the one its diagonal splits
    assert math.isclose(corner[(0.0, 1.0)], 1.5) and math.isclose(corner[(1.0, 0.0)], 1.5)
    assert math.isclose(corner[(0.0, 0.0)], 0.75) and math.isclose(corner[(1.0, 1.0)], 0.75)


def test_axisymmetric_weights_agree_with_the_assembled_stream_coupling():
    for r0, tol in ((0.0, 1e-12), (100.0, 1e-12)):
        mesh = _distorted(skfem.MeshTri.init_tensor(np.linspace(r0, r0 + 1, 6),
                                                    np.linspace(0, 1, 6)), 0.2 / 5)
        qb = skfem.CellBasis(mesh, skfem.ElementTriRT0(), intorder=4)
        blocks = cell_coupling(qb, p1_gradients(mesh))
        gamma = stream_rotation_weights(qb, blocks)
        C = stream_coupling(qb, blocks, np.arange(mesh.nvertices), mesh.nvertices)
        patch = np.bincount(mesh.t.ravel(), np.tile(qb.dx.sum(axis=1) / 3, 3),
                            mesh.nvertices)
        on_axis = mesh.p[0] < 1e-12
        assert np.all(np.isnan(gamma[on_axis])) and np.all(gamma[~on_axis] > 0)
        for i in np.nonzero(~on_axis)[0]:
            x0, y0 = mesh.p[:, i]
            rotation = _rt0_interpolant(qb, lambda x: np.stack([-(x[1] - y0), x[0] - x0]))
            oracle = (C[i] @ rotation)[0] / (2 * np.pi * 2 * patch[i])
            assert abs(gamma[i] - oracle) < tol, (i, gamma[i], oracle)
        if r0 > 0:  # far from the axis, 1/r is nearly constant on a patch
            cartesian = cartesian_rotation_weights(mesh)
            assert np.abs(gamma - cartesian).max() < 2e-3


def test_poiseuille_temperature_converges_next_to_the_walls():
    """Degree 0, no-slip / slip-length walls (module doc): the largest centroid error at
    O(h^0.9) / O(h^1.7–1.8), within 0.2x of the penalty form's."""
    for wall, order, last in ((NoSlip(), 0.85, 3e-4), (SlipLength(0.5), 1.6, 1.5e-5)):
        errors = []
        for n in (8, 16, 32):
            system, state = channel(n, wall)
            mesh = system.temperature_basis.mesh
            centroid = mesh.p[:, mesh.t].mean(axis=1)
            errors.append(np.abs(state.temperature - (1 - centroid[0] / CH_L)).max())
        assert min(_orders(errors)) >= order and errors[-1] <= last, (wall, errors)


def _distorted_channel(n: int, viscous: str = "vorticity") -> float:
    """RMS of T − (1 − x/L) at the centroids, Poiseuille flow between no-slip walls on
    a distorted 2n × n channel mesh."""
    mesh = _distorted(skfem.MeshTri.init_tensor(np.linspace(0, CH_L, 2 * n + 1),
                                                np.linspace(-CH_W / 2, CH_W / 2, n + 1)),
                      0.15 * CH_W / n)
    tol = 1e-9
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: x[0] < tol, "outlet": lambda x: x[0] > CH_L - tol,
        "sides": lambda x: (np.abs(x[1]) > CH_W / 2 - tol) & (x[0] > tol) & (x[0] < CH_L - tol)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(CH_KAPPA, 1.0, 0.0, nonlocal_length=CH_L_NL)},
        {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0), "sides": fh.Insulated()},
        model="gk", beta=2, viscous=viscous,
        walls={"inlet": NoSlip(), "outlet": NoSlip(), "sides": NoSlip()})
    system = fh.assemble(problem)
    T = fh.solve_steady(system).temperature
    centroid = mesh.p[:, mesh.t].mean(axis=1)
    return float(np.sqrt(np.mean((T - (1 - centroid[0] / CH_L)) ** 2)))


def test_distorted_channel_temperature_converges_at_first_order():
    errors = [_distorted_channel(n) for n in (8, 16, 32)]
    assert min(_orders(errors)) > 1.2 and errors[-1] < 7e-5, (
        f"RMS T errors {errors}, orders {_orders(errors)}")
