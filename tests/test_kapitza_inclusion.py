"""BENCHMARKS K3: one circular (2D) / spherical (3D) inclusion with a Kapitza interface.

An inclusion of radius a and conductivity k_i in a matrix k_m, interface
resistance R, far field T = -G x. With r, θ measured from the centre and
cos θ = x/r the exact field is

    T_i = -A G r cos θ,       T_m = -G (r + B a^d / r^(d-1)) cos θ,
    2D: B = (R k_i k_m - a k_i + a k_m) / (R k_i k_m + a k_i + a k_m),
    3D: B = (R k_i k_m - a k_i + a k_m) / (2 R k_i k_m + a k_i + 2 a k_m),
    k_i A = k_m (1 - (d-1) B)           (flux continuity),

and on r = a the temperature jumps by T_i - T_m = G a (1 + B - A) cos θ
(= R q_r, q_r = k_i A G cos θ the radial flux).

The exact matrix field T_m is imposed on the whole outer boundary, so a box of
a few a is enough. Three independent measurements, none of which is the
quantity the solver imposes:

* B, the dipole strength: least-squares fit (volume weighted, i.e. the L²
  fit over the region) of the FE cell means of T - T_uniform in the matrix
  cells with centroid r < 3a, against the cell means of the dipole function
  -G a^d x / r^d computed by quadrature on the same cells (plus a free
  constant, which comes out ~0);
* A, the interior gradient: ⟨q_x⟩ over the inclusion cells = k_i A G (the
  exact interior flux is uniform); ⟨q_y⟩ must vanish;
* the jump: least-squares amplitude J of ``interface_report(...).jump``
  (T_A - T_B from the traces of the degree-1 DG temperature on both sides,
  sides (A, B) = (matrix, inclusion), so T_A - T_B = -G a (1 + B - A) cos θ)
  against cos θ at the facet centroids, weighted by facet measure. The
  amplitude of ``expected_jump`` (R q·n_AB of the discrete flux) is checked
  too, but the Kapitza law T_A - T_B = R q·n is what the discrete facet term
  imposes, so only the traces test it independently. (Degree 1 only: at
  degree 0 with no source the reconstructed traces satisfy it to round-off,
  an algebraic identity of RT0 x P0 and the cell reconstruction, so degree 0
  is not used here.)

Tolerances (BENCHMARKS K3): B and A within 0.5 %, jump within 1 %. The interface
is a polygon/polyhedron inscribed in the circle/sphere, so every measured
quantity carries an O(h²) geometric error (the inscribed polyhedron's volume
deficit is ~0.4 % at h_Γ = a/10 in 3D); the convergence study checks that
order in 2D. The full-accuracy 3D run (h_Γ = a/10, degree 1, ~24k
tetrahedra, ~2 min CPU and ~4 GB per case) is marked slow; the default run keeps a coarse 3D check with
tolerances set by its measured geometric error.

Cases: R = 0 (perfect contact), R = a/k_i (k' = k_i/(1 + R k_i/a) = k_i/2),
R large enough that k' < k_m (the inclusion acts as a poorer conductor than
the matrix although k_i = 10 k_m; B changes sign), and a poorly conducting
inclusion k_i = k_m/10.
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.mesh import geometry

RADIUS = 1.0  # a [m]
K_M = 1.0  # matrix conductivity [W/(m K)]
GRADIENT = 1.0  # G [K/m]
NAME = "inclusion_surface"

# (k_i, R): perfect contact, R = a/k_i, k' = k_i/21 < k_m, and k_i < k_m
CASES = {
    "perfect": (10.0, 0.0),
    "R=a/ki": (10.0, 0.1),
    "kprime<km": (10.0, 2.0),
    "ki<km": (0.1, 1.0),
}

TOL_B = 5e-3
TOL_A = 5e-3
TOL_JUMP = 1e-2


def exact_coefficients(dim: int, k_i: float, R: float, a: float = RADIUS,
                       k_m: float = K_M) -> tuple[float, float]:
    """Dipole strength B and interior gradient factor A of BENCHMARKS K3."""
    if dim == 2:
        B = (R * k_i * k_m - a * k_i + a * k_m) / (R * k_i * k_m + a * k_i + a * k_m)
    else:
        B = (R * k_i * k_m - a * k_i + a * k_m) / (2 * R * k_i * k_m + a * k_i + 2 * a * k_m)
    return B, k_m * (1.0 - (dim - 1) * B) / k_i


# ---------------------------------------------------------------- meshes
_MESHES: dict = {}


def _mesh(tmp_path_factory, dim: int, half: float, h: float, h_interface: float):
    """Box [0, 2 half a]^d with the inclusion at its centre; built once per module."""
    key = (dim, half, h, h_interface)
    if key not in _MESHES:
        path = tmp_path_factory.mktemp("k3") / f"inclusion_{dim}d.msh"
        side = 2 * half * RADIUS
        center = [half * RADIUS] * dim
        if dim == 2:
            regions = geometry.build("inclusions_2d", path, width=side, height=side,
                                     centers=[center], radii=RADIUS, mesh_size=h * RADIUS,
                                     interface_mesh_size=h_interface * RADIUS)
        else:
            regions = geometry.build("inclusion_3d", path, size=[side] * 3, center=center,
                                     radius=RADIUS, mesh_size=h * RADIUS,
                                     interface_mesh_size=h_interface * RADIUS)
        _MESHES[key] = (regions, np.asarray(center))
    return _MESHES[key]


def _far_field(dim: int, center: np.ndarray, B: float):
    """Exact matrix temperature T_m(x) = -G x' (1 + B a^d / r^d), x' = x - centre."""
    def T(x, t=0.0):
        xr = x - center.reshape((dim,) + (1,) * (x.ndim - 1))
        r2 = (xr ** 2).sum(axis=0)
        return -GRADIENT * xr[0] * (1.0 + B * RADIUS ** dim / r2 ** (dim / 2))
    return T


def _solve(regions, center, dim, k_i, R, degree=1):
    B, _ = exact_coefficients(dim, k_i, R)
    T_m = _far_field(dim, center, B)
    problem = fh.HeatProblem(
        regions,
        materials={"matrix": fh.Material(K_M), "inclusion": fh.Material(k_i)},
        boundary_conditions={name: fh.Temperature(T_m) for name in regions.boundaries},
        interfaces={NAME: fh.KapitzaResistance(R)},
        model="fourier",
        degree=degree,
    )
    system = fh.assemble(problem)
    return system, fh.solve_steady(system)


def _measure(system, state, center, k_i) -> dict:
    """Measured B, A, transverse flux and jump amplitudes (see module docstring)."""
    rm = system.problem.regions
    mesh, dim, a, G = rm.mesh, rm.dim, RADIUS, GRADIENT
    T_avg, q_avg = fh.cell_averages(system, state)

    # cell means of the uniform and dipole parts by quadrature on the same cells
    p0 = skfem.ElementTriP0() if dim == 2 else skfem.ElementTetP0()
    cb = skfem.CellBasis(mesh, p0, intorder=6)
    xr = cb.global_coordinates().value - center[:, None, None]
    r = np.sqrt((xr ** 2).sum(axis=0))
    vol = cb.dx.sum(axis=1)
    uniform = (-G * xr[0] * cb.dx).sum(axis=1) / vol
    dipole = (-G * a ** dim * xr[0] / r ** dim * cb.dx).sum(axis=1) / vol

    centroid = mesh.p[:, mesh.t].mean(axis=1) - center[:, None]
    rc = np.linalg.norm(centroid, axis=0)
    matrix, inclusion = rm.subdomain("matrix"), rm.subdomain("inclusion")
    ring = matrix[rc[matrix] < 3 * a]
    w = np.sqrt(vol[ring])
    design = np.column_stack([np.ones(ring.size), dipole[ring]]) * w[:, None]
    (offset, B), *_ = np.linalg.lstsq(design, (T_avg[ring] - uniform[ring]) * w, rcond=None)

    v_inc = vol[inclusion]
    mean_q = (q_avg[:, inclusion] * v_inc).sum(axis=1) / v_inc.sum()

    rep = fh.interface_report(system, state)[NAME]
    fc = mesh.p[:, mesh.facets[:, rep.facets]].mean(axis=1) - center[:, None]
    cos = fc[0] / np.linalg.norm(fc, axis=0)
    m = rep.facet_measure
    J = float((m * rep.jump * cos).sum() / (m * cos * cos).sum())
    J_flux = float((m * rep.expected_jump * cos).sum() / (m * cos * cos).sum())
    return dict(B=float(B), offset=float(offset), A=float(mean_q[0] / (k_i * G)),
                transverse=float(np.abs(mean_q[1:]).max() / (k_i * G)), J=J, J_flux=J_flux,
                sides=rep.sides, h_interface=float(m.mean() if dim == 2 else np.sqrt(m.mean())),
                volume_ratio=float(v_inc.sum() / (np.pi * a ** 2 if dim == 2
                                                  else 4 / 3 * np.pi * a ** 3)))


def _exact_jump(dim, k_i, R, sides) -> float:
    """Amplitude of T_A - T_B ∝ cos θ for the report's sides (A, B)."""
    B, A = exact_coefficients(dim, k_i, R)
    inside_minus_outside = GRADIENT * RADIUS * (1.0 + B - A)
    assert set(sides) == {"matrix", "inclusion"}, sides
    return inside_minus_outside if sides[0] == "inclusion" else -inside_minus_outside


def _check(dim, k_i, R, got, tol_B=TOL_B, tol_A=TOL_A, tol_jump=TOL_JUMP):
    B, A = exact_coefficients(dim, k_i, R)
    label = f"{dim}D k_i={k_i} R={R}"
    eB = (got["B"] - B) / abs(B)
    eA = (got["A"] - A) / abs(A)
    assert abs(eB) <= tol_B, f"{label}: B = {got['B']:.6f}, exact {B:.6f} (rel. err {eB:.2e})"
    assert abs(eA) <= tol_A, f"{label}: A = {got['A']:.6f}, exact {A:.6f} (rel. err {eA:.2e})"
    assert abs(got["offset"]) <= 1e-3 * GRADIENT * RADIUS, f"{label}: offset {got['offset']:.2e}"
    assert got["transverse"] <= 1e-3 * abs(A), (
        f"{label}: transverse mean flux {got['transverse']:.2e} k_i G (A = {A:.4f})")
    assert got["sides"] == ("matrix", "inclusion"), got["sides"]
    J = _exact_jump(dim, k_i, R, got["sides"])
    if R == 0:  # perfect contact: the traces must agree up to the discretisation error
        assert abs(got["J"]) <= tol_jump * GRADIENT * RADIUS, (
            f"{label}: perfect contact but jump amplitude {got['J']:.2e} K")
        assert got["J_flux"] == 0.0
    else:
        eJ = (got["J"] - J) / abs(J)
        eJf = (got["J_flux"] - J) / abs(J)
        assert abs(eJ) <= tol_jump, (
            f"{label}: jump amplitude (traces) {got['J']:.6f}, exact {J:.6f} (rel. err {eJ:.2e})")
        assert abs(eJf) <= tol_jump, (
            f"{label}: jump amplitude (R q.n) {got['J_flux']:.6f}, exact {J:.6f} "
            f"(rel. err {eJf:.2e})")


# ---------------------------------------------------------------- 2D
MESH_2D = dict(half=3.0, h=0.5, h_interface=0.05)


@pytest.mark.parametrize("case", list(CASES))
def test_circular_inclusion_2d(case, tmp_path_factory):
    k_i, R = CASES[case]
    regions, center = _mesh(tmp_path_factory, 2, **MESH_2D)
    system, state = _solve(regions, center, 2, k_i, R)
    _check(2, k_i, R, _measure(system, state, center, k_i))


def test_circular_inclusion_2d_converges(tmp_path_factory):
    """Errors in A, B and the jump ~ h_Γ² (the inscribed polygon limits them to O(h²))."""
    k_i, R = CASES["R=a/ki"]
    B, A = exact_coefficients(2, k_i, R)
    hs, errors = [], {"A": [], "B": [], "jump": []}
    for hi in (0.2, 0.1, 0.05):
        regions, center = _mesh(tmp_path_factory, 2, half=3.0, h=4 * hi, h_interface=hi)
        system, state = _solve(regions, center, 2, k_i, R)
        got = _measure(system, state, center, k_i)
        J = _exact_jump(2, k_i, R, got["sides"])
        hs.append(got["h_interface"])  # mean interface facet length
        errors["A"].append(abs(got["A"] - A) / A)
        errors["B"].append(abs(got["B"] - B) / abs(B))
        errors["jump"].append(abs(got["J"] - J) / abs(J))
    orders = {k: np.polyfit(np.log(hs), np.log(e), 1)[0] for k, e in errors.items()}
    msg = "; ".join(f"{k}: errors {', '.join('%.2e' % v for v in e)}, order {orders[k]:.2f}"
                    for k, e in errors.items())
    msg += f" at h_Γ = {', '.join('%.3f' % h for h in hs)} (expected order 2)"
    for k, e in errors.items():
        assert np.all(np.diff(e) < 0), msg
        assert orders[k] >= 1.7, msg


# ---------------------------------------------------------------- 3D
# coarse: h_Γ = a/5, the inscribed polyhedron lacks ~1.3 % of the sphere's volume,
# which shows up in B (and, through the traces, in the jump); A is insensitive.
MESH_3D_COARSE = dict(half=2.0, h=0.8, h_interface=0.2)
MESH_3D_FINE = dict(half=2.0, h=0.6, h_interface=0.1)


@pytest.mark.parametrize("case", ["R=a/ki", "kprime<km"])
def test_spherical_inclusion_3d_coarse(case, tmp_path_factory):
    """Coarse sphere (h_Γ = a/5): A within the K3 0.5 %; B and the jump, which
    see the ~1.4 % volume deficit of the inscribed polyhedron, within 2.5 % / 4 %
    (measured ~1.1 % / ~2.2 %; 0.34 % / 0.53 % at h_Γ = a/10, the slow test)."""
    k_i, R = CASES[case]
    regions, center = _mesh(tmp_path_factory, 3, **MESH_3D_COARSE)
    system, state = _solve(regions, center, 3, k_i, R)
    got = _measure(system, state, center, k_i)
    deficit = 1.0 - got["volume_ratio"]
    assert 0.005 < deficit < 0.02, f"coarse polyhedral sphere lacks {deficit:.2%} of its volume"
    _check(3, k_i, R, got, tol_B=2.5e-2, tol_A=TOL_A, tol_jump=4e-2)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["R=a/ki", "kprime<km"])
def test_spherical_inclusion_3d(case, tmp_path_factory):
    k_i, R = CASES[case]
    regions, center = _mesh(tmp_path_factory, 3, **MESH_3D_FINE)
    system, state = _solve(regions, center, 3, k_i, R)
    _check(3, k_i, R, _measure(system, state, center, k_i))
