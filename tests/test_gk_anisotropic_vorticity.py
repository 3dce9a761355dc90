r"""An anisotropic κ in the vorticity form (issue 16; :mod:`femheat.assembly.vorticity_anisotropic`).

N = l²κ⁻¹ = ν_v I + Σ r_m e_m e_mᵀ: the vorticity form of ν_v = l²/λ_max(κ) and the
gradient energies r_m|∇(e_m·q)|² through weak gradients onto continuous [P_{k+1}]²,
no penalty. Checked here: the weak gradient is exact for linear fluxes (interfaces
included); no slow grid-scale temperature modes with κ's axes oblique to the mesh and
to the walls; stress-free walls oblique to κ's axes carry the gradient energy's
condition t·N∂_n q = 0 (the penalty form's), which ω = 0 there would not; a developed
channel flow between no-slip walls with an oblique κ (exact); two layers whose κ differ
(exact); in 3D the spectrum and a manufactured flow with κ oblique to every face; the
refusals. The convergence on manufactured flows and the transient
criterion against the Fourier model are in ``tests/test_gk_anisotropic.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import skfem

import femheat as fh
import femheat.assembly.vorticity_anisotropic as va
from femheat.errors import FemheatInputError
from femheat.physics.conditions import KapitzaResistance, NoSlip, SlipLength, TangentialFlux

from tests.test_gk_anisotropic import _relative_l2
from tests.test_gk_modes import quasi_static_rates


def _rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


OBLIQUE = _rotation(0.5) @ np.diag([1.0, 5.0]) @ _rotation(0.5).T


def _everywhere(x):
    return np.ones(x.shape[1], dtype=bool)


def _square(n: int, jitter: float = 0.0) -> skfem.MeshTri:
    mesh = skfem.MeshTri.init_tensor(*(np.linspace(0, 1, n + 1),) * 2)
    if jitter:
        p = mesh.p.copy()
        inner = ~(np.isclose(p, 0) | np.isclose(p, 1)).any(axis=0)
        p[:, inner] += jitter / n * np.random.default_rng(1).uniform(-1, 1, (2, inner.sum()))
        mesh = skfem.MeshTri(p, mesh.t)
    return mesh


def _steady_errors(problem: fh.HeatProblem, temperature, flux) -> tuple[str, float, float]:
    """(the form, relative L² errors of T and q) of ``problem``'s steady solution against
    the exact ``temperature(x)`` and ``flux(x)``."""
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    tb, qb = system.temperature_basis, system.flux_basis
    return (problem.viscous_form,
            _relative_l2(tb, tb.interpolate(state.temperature).value,
                         temperature(tb.global_coordinates().value)),
            _relative_l2(qb, qb.interpolate(state.flux).value,
                         flux(qb.global_coordinates().value)))


# ------------------------------------------------------------------ weak gradients
@pytest.mark.parametrize("degree", [0, 1])
def test_weak_gradient_energy_is_exact_for_linear_fluxes(degree):
    """Two materials with different tensors side by side, a linear flux (in BDM1 and
    BDM2): each block's energy qᵀ Dᵀ(M/r)⁻¹D q equals r|∇(e·q)|² times the material's
    area to round-off, so the traces on the boundary and on the interface (from each
    material's side) are signed and placed right."""
    mesh = _square(4)
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"left": lambda x: x[0] < 0.5, "right": lambda x: x[0] > 0.5},
        boundaries={"walls": _everywhere})
    kappas = {"left": np.diag([1.0, 3.0]), "right": OBLIQUE}
    problem = fh.HeatProblem(
        regions, {n: fh.Material(k, nonlocal_length=0.3) for n, k in kappas.items()},
        {"walls": fh.Temperature(0.0)}, model="gk", degree=degree)
    assert problem.viscous_form == "vorticity"
    qb = fh.assemble(problem).flux_basis
    slope = np.array([[2.0, 3.0], [1.0, -2.0]])  # q = q0 + slope x

    def linear(x):
        return np.array([1.0, -1.0])[:, None, None] + np.einsum("ij,j...->i...", slope, x)

    q = qb.project(linear)
    blocks = va.remainder_blocks(problem, qb)
    assert len(blocks) == 2  # one remainder direction per material in 2D
    splits = va.anisotropic_splits(problem)
    for block, (name, split) in zip(blocks, splits.items()):
        e, r = split.directions[:, 0], split.weights[0]
        Dq = block.C @ q
        energy = float(Dq @ spla.spsolve(block.consistent.tocsc(), Dq))
        area = 0.5
        exact = r * float(np.sum((e @ slope) ** 2)) * area
        assert abs(energy / exact - 1) < 1e-10, (name, energy, exact)


# ------------------------------------------------------------------ spectra
@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("case", ["oblique", "jittered"])
def test_no_slow_modes_with_kappa_oblique_to_the_mesh(degree, case):
    """Insulated free-slip unit square, l = L, n = 8: every physical rate is at least
    κ_min π²/(1 + π²l²) = 0.9080 (the flux block is at most κ_min⁻¹ times the isotropic
    one), and so is every discrete rate of the vorticity form. Measured slowest:
    κ = R diag(1, 5)Rᵀ (0.5 rad) 1.0758 / 1.0108 (degree 0 / 1; the penalty form 0.769
    / 0.517); κ = diag(1, 3) on a jittered mesh 0.9140 / 0.9080 (the penalty form 0.833
    / 0.531)."""
    kappa = OBLIQUE if case == "oblique" else np.diag([1.0, 3.0])
    mesh = _square(8, jitter=0.3 if case == "jittered" else 0.0)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"walls": _everywhere})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(kappa, 1.0, 0.0, nonlocal_length=1.0)},
                             {"walls": fh.Insulated()}, model="gk", degree=degree, beta=0)
    assert problem.viscous_form == "vorticity"
    rates = _rates(fh.assemble(problem))
    bound = math.pi**2 / (1 + math.pi**2)
    assert rates[1] >= bound * (1 - 1e-4), (
        f"{case}, degree {degree}: slowest nonzero rate {rates[1]:.4f} below the bound "
        f"{bound:.4f}; next {np.round(rates[2:5], 4)}")


def _rates(system) -> np.ndarray:
    """The quasi-static rates (the generalized eigenvalues of B A⁻¹Bᵀ and C)."""
    import scipy.linalg

    free = system.free_dofs
    C, mass = system.rotation
    A = (system.resistance_base.toarray()
         + C.T.toarray() @ np.linalg.solve(mass.matrix.toarray(), C.toarray()))[np.ix_(free, free)]
    B = system.divergence[:, free].toarray()
    return np.sort(scipy.linalg.eigvalsh(B @ np.linalg.solve(A, B.T), system.capacity.toarray()))


def test_oblique_free_slip_walls_carry_the_gradient_energy_condition(monkeypatch):
    """κ oblique to the walls of an insulated square (l² = 0.1, degree 1, n = 8): the
    slowest physical mode's rate is near the penalty form's (the gradient energy's wall
    condition t·N∂_n q = 0): 6.2314 against the penalty form's nearest 6.2272 (6.8e-4;
    n = 4 / 16: 2.6e-4 / 3.9e-4; the eigenvalues themselves move by 2e-3 between n = 8
    and 16: the corners make them converge at ~O(h^0.8)). With ω = 0 on the walls (the
    isotropic vorticity form's stress-free model, which adds ν_v∂_n q_t = 0 to
    r(e·t)∂_n(e·q) = 0 where the physics has the one condition) it is 6.2464, 3.1e-3 off
    (n = 16: 1.75e-3)."""
    auto = quasi_static_rates(1, 8, penalty=None, viscous="auto", l2=0.1, kappa=OBLIQUE)
    penalty = quasi_static_rates(1, 8, penalty=None, viscous="penalty", l2=0.1, kappa=OBLIQUE)
    nearest = penalty[np.argmin(np.abs(penalty - auto[1]))]
    monkeypatch.setattr(va, "_stress_free_walls", lambda problem: np.zeros(0, dtype=np.int64))
    closed = quasi_static_rates(1, 8, penalty=None, viscous="auto", l2=0.1, kappa=OBLIQUE)
    apart, apart_closed = abs(auto[1] / nearest - 1), abs(closed[1] / nearest - 1)
    assert apart < 1e-3 and apart_closed > 3 * apart, (auto[1], closed[1], nearest)


# ------------------------------------------------------------------ exact flows
def _channel(n: int, degree: int, viscous: str, kappa=OBLIQUE, ell: float = 0.2,
             slip: float | None = None):
    """Developed flow along x between no-slip walls y = 0, 1 (length 2), T given at the
    ends. With q = (u(y), 0) the flux equation's x part is (κ⁻¹)_xx(u − l²u'') = G and its
    y part ∂_yT = −(κ⁻¹)_yx(u − l²u''): u = (G/(κ⁻¹)_xx)(1 − c cosh((y − ½)/l)),
    T = −Gx − ((κ⁻¹)_yx/(κ⁻¹)_xx) G y, exact at the ends (∂_x q = 0 there); no slip:
    c = 1/cosh(1/(2l)); slip-length walls (``slip`` = C_s), whose condition
    t·N∂_n q + (N_tt/(C_s l)) q·t = 0 reads u = C_s l ∂u/∂(inward normal) since N∂_n q
    has the tangential part N_xx ∂_n u: c = 1/(cosh h + C_s sinh h), h = 1/(2l)."""
    kinv = np.linalg.inv(kappa)
    amplitude = 1.0 / kinv[0, 0]
    h = 0.5 / ell
    c = 1 / (np.cosh(h) + (slip or 0.0) * np.sinh(h))

    def u(y):
        return amplitude * (1 - c * np.cosh((y - 0.5) / ell))

    def temperature(x):
        return -x[0] - kinv[1, 0] / kinv[0, 0] * x[1]

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 2, 2 * n + 1), np.linspace(0, 1, n + 1))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "ends": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 2),
        "sides": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 1)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(kappa, nonlocal_length=ell)},
                             {"ends": fh.Temperature(lambda x, t: temperature(x)),
                              "sides": fh.Insulated()},
                             model="gk", degree=degree, beta=2, viscous=viscous,
                             walls={"sides": NoSlip() if slip is None else SlipLength(slip)})
    return _steady_errors(problem, temperature, lambda x: np.stack([u(x[1]), 0 * x[1]]))


def _check_against_the_penalty_form(run, degree: int, meshes, slack: float = 1.05) -> None:
    """``run(n, viscous)`` → (form, T error, q error): "auto" takes the vorticity form,
    converges at orders k+1 / k+2 on the last pair of ``meshes`` (less 0.1), and its
    errors on the finest mesh are at most ``slack`` times the penalty form's."""
    runs = [run(n, "auto") for n in meshes]
    assert all(r[0] == "vorticity" for r in runs)
    eT, eq = [r[1] for r in runs], [r[2] for r in runs]
    oT = [math.log2(eT[i] / eT[i + 1]) for i in range(len(eT) - 1)]
    oq = [math.log2(eq[i] / eq[i + 1]) for i in range(len(eq) - 1)]
    _, pT, pq = run(meshes[-1], "penalty")
    assert oT[-1] >= degree + 1 - 0.1 and oq[-1] >= degree + 2 - 0.1, (eT, oT, eq, oq)
    assert eT[-1] <= slack * pT and eq[-1] <= slack * pq, (eT[-1], pT, eq[-1], pq)


@pytest.mark.parametrize("degree, meshes", [(0, (8, 16, 32)), (1, (4, 8, 16))])
def test_oblique_kappa_channel_between_no_slip_walls(degree, meshes):
    """The developed channel flow with κ oblique to the walls (:func:`_channel`; the
    remainder's trace keeps only its normal part on the no-slip walls). Measured T / q:
    degree 0, n = 8 / 16 / 32: 2.76e-2 / 1.38e-2 / 6.90e-3, 1.03e-2 / 2.57e-3 / 6.42e-4
    (the penalty form 7.09e-3 and 1.28e-3 at n = 32); degree 1, n = 4 / 8 / 16: 1.83e-4 /
    3.50e-5 / 6.13e-6, 4.12e-3 / 5.13e-4 / 6.26e-5 (the penalty form 1.05e-4 and
    9.82e-5 at n = 16)."""
    _check_against_the_penalty_form(lambda n, viscous: _channel(n, degree, viscous),
                                    degree, meshes, slack=1.0)


def test_two_layers_with_different_tensors():
    """Layers y < ½ (κ = diag(1, 3)) and y > ½ (κ = diag(1, ½)), l = 0.2, β = 0: the same
    N_xx = l² but ν_v = l²/3 and l² (two viscosity levels) and remainders along x and y.
    The flow q = (cos πx, 0) has T = −(1 + π²l²) sin(πx)/π in both, and the natural end
    temperature T − l²∂_x q_x. Degree 1, n = 4 / 8 / 16: T and q converge at orders 2 and
    3 (measured T 1.77e-2 / 4.45e-3 / 1.12e-3, q 2.01e-3 / 2.51e-4 / 3.13e-5)."""
    ell = 0.2
    gain = 1 + math.pi**2 * ell**2

    def temperature(x):
        return -gain * np.sin(math.pi * x[0]) / math.pi

    def end_temperature(x, t):  # T − l² ∂_x q_x
        return temperature(x) + ell**2 * math.pi * np.sin(math.pi * x[0])

    errors = []
    for n in (4, 8, 16):
        regions = fh.RegionMesh.from_skfem(_square(n), subdomains={
            "low": lambda x: x[1] < 0.5, "high": lambda x: x[1] > 0.5}, boundaries={
            "ends": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1),
            "sides": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 1)})
        problem = fh.HeatProblem(
            regions, {"low": fh.Material(np.diag([1.0, 3.0]), nonlocal_length=ell),
                      "high": fh.Material(np.diag([1.0, 0.5]), nonlocal_length=ell)},
            {"ends": fh.Temperature(end_temperature), "sides": fh.Insulated()},
            source=lambda x, t: -math.pi * np.sin(math.pi * x[0]), model="gk", degree=1,
            beta=0)
        form, *pair = _steady_errors(problem, temperature,
                                     lambda x: np.stack([np.cos(math.pi * x[0]), 0 * x[0]]))
        assert form == "vorticity"
        errors.append(pair)
    for j, expected in ((0, 2), (1, 3)):
        orders = [math.log2(errors[i][j] / errors[i + 1][j]) for i in range(2)]
        assert min(orders) >= expected - 0.15, (errors, orders)


@pytest.mark.parametrize("degree, meshes", [(0, (8, 16, 32)), (1, (4, 8, 16))])
def test_oblique_kappa_channel_between_slip_length_walls(degree, meshes):
    """The same channel between slip-length walls, C_s = 0.5 (the remainder's friction
    ⟨Σ(r_m/ℓ_s)(e_m·q_t)(e_m·v_t)⟩ next to the vorticity part's boundary mass). Measured
    T / q: degree 0, n = 8 / 16 / 32: 2.76e-2 / 1.38e-2 / 6.90e-3, 7.61e-3 / 1.78e-3 /
    4.15e-4 (the penalty form 6.99e-3, 6.64e-4 at n = 32); degree 1, n = 4 / 8 / 16:
    3.01e-4 / 5.86e-5 / 1.07e-5, 2.61e-3 / 3.41e-4 / 4.09e-5 (the penalty form 7.60e-5,
    5.92e-5 at n = 16)."""
    _check_against_the_penalty_form(
        lambda n, viscous: _channel(n, degree, viscous, slip=0.5), degree, meshes)


@pytest.mark.parametrize("degree, meshes", [(0, (8, 16, 32)), (1, (4, 8, 16))])
def test_oblique_kappa_channel_driven_by_a_tangential_flux(degree, meshes):
    """The channel with q·t = g₀ = 0.7 prescribed on the bottom wall (TangentialFlux; the
    remainder's trace there is (e·n)(q·n) + e·g) and a no-slip top, T dropping along x:
    u = u_p + A cosh(y/l) + B sinh(y/l), u_p = G/(κ⁻¹)_xx, u(0) = g₀, u(1) = 0, T as in
    :func:`_channel`. Measured T / q: degree 0, n = 8 / 16 / 32: 2.76e-2 / 1.38e-2 /
    6.90e-3, 6.84e-3 / 1.70e-3 / 4.26e-4 (the penalty form 7.01e-3, 8.52e-4 at n = 32);
    degree 1, n = 4 / 8 / 16: 1.39e-4 / 2.68e-5 / 4.71e-6, 2.76e-3 / 3.46e-4 / 4.23e-5
    (the penalty form 8.21e-5, 6.63e-5 at n = 16)."""
    _check_against_the_penalty_form(lambda n, viscous: _couette(n, degree, viscous),
                                    degree, meshes)


def _couette(n: int, degree: int, viscous: str, kappa=OBLIQUE, ell: float = 0.2,
             g0: float = 0.7):
    kinv = np.linalg.inv(kappa)
    up = 1.0 / kinv[0, 0]
    a = g0 - up
    b = -(up + a * np.cosh(1 / ell)) / np.sinh(1 / ell)

    def u(y):
        return up + a * np.cosh(y / ell) + b * np.sinh(y / ell)

    def temperature(x):
        return -x[0] - kinv[1, 0] / kinv[0, 0] * x[1]

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 2, 2 * n + 1), np.linspace(0, 1, n + 1))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "ends": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 2),
        "bottom": lambda x: np.isclose(x[1], 0), "top": lambda x: np.isclose(x[1], 1)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(kappa, nonlocal_length=ell)},
                             {"ends": fh.Temperature(lambda x, t: temperature(x)),
                              "bottom": fh.Insulated(), "top": fh.Insulated()},
                             model="gk", degree=degree, beta=2, viscous=viscous,
                             walls={"bottom": TangentialFlux(g0), "top": NoSlip()})
    return _steady_errors(problem, temperature, lambda x: np.stack([u(x[1]), 0 * x[1]]))


# ------------------------------------------------------------------ refusals
def _problem(kappa, materials=None, **options):
    regions = fh.RegionMesh.from_skfem(_square(2), boundaries={"walls": _everywhere})
    materials = materials or {"domain": fh.Material(kappa, nonlocal_length=0.2)}
    return fh.HeatProblem(regions, materials, {"walls": fh.Temperature(0.0)}, model="gk",
                          **options)


@pytest.mark.parametrize("options, kappa, key", [
    ({}, [[1.0, 0.5], [-0.5, 2.0]], "Hall"),
    ({"materials": {"domain": fh.Material(np.diag([1.0, 3.0]),
                                           nonlocal_length=lambda x: 0.1 + 0.1 * x[0])}},
     None, "materials.domain: nonlocal_length varies"),
    ({"materials": {"domain": fh.Material(np.diag([1.0, 3.0]), nonlocal_length=0.2,
                                           quartic=1.0)}},
     None, "materials.domain: Landau-Khalatnikov terms"),
])
def test_what_the_anisotropic_vorticity_form_does_not_take(options, kappa, key):
    """"auto" keeps the penalty form, and an explicit ``viscous = "vorticity"`` is refused
    naming the key: a thermal Hall part, l varying inside an anisotropic material,
    Landau-Khalatnikov terms."""
    assert _problem(kappa, **options).viscous_form == "penalty"
    with pytest.raises(FemheatInputError, match=key):
        _problem(kappa, viscous="vorticity", **options)


def test_free_kapitza_interface_keeps_the_penalty_form():
    """A Kapitza interface with a free tangential flux next to an anisotropic κ: the
    penalty form (named by the explicit option's error)."""
    regions = fh.RegionMesh.from_skfem(
        _square(4), subdomains={"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5},
        interfaces={"mid": lambda x: np.isclose(x[0], 0.5)}, boundaries={"walls": _everywhere})
    material = fh.Material(np.diag([1.0, 3.0]), nonlocal_length=0.2)
    options = dict(interfaces={"mid": KapitzaResistance(1e-3, tangential="free")}, model="gk")
    problem = fh.HeatProblem(regions, {"a": material, "b": material},
                             {"walls": fh.Temperature(0.0)}, **options)
    assert problem.viscous_form == "penalty"
    with pytest.raises(FemheatInputError, match="interfaces.mid"):
        fh.HeatProblem(regions, {"a": material, "b": material},
                       {"walls": fh.Temperature(0.0)}, viscous="vorticity", **options)


# ------------------------------------------------------------------ 3D
def _cube(n: int) -> fh.RegionMesh:
    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, n + 1),) * 3)
    return fh.RegionMesh.from_skfem(mesh, boundaries={"walls": _everywhere})


@pytest.mark.parametrize("degree, n", [(0, 3), (1, 2)])
def test_3d_no_slow_modes(degree, n):
    """The insulated free-slip cube, κ = diag(1, 2, 3), l = L: the vorticity form's slowest
    rate is above the physical bound κ_min π²/(1 + π²l²) = 0.9080 (measured 0.9377 at
    degree 0, n = 3, 0.9244 at n = 4; 0.9086 at degree 1, n = 2); the penalty form's grid
    modes decay at 0.9144 / 0.5725 (0.8486 at degree 0, n = 4)."""
    problem = fh.HeatProblem(_cube(n), {"domain": fh.Material(np.diag([1.0, 2.0, 3.0]), 1.0,
                                                              0.0, nonlocal_length=1.0)},
                             {"walls": fh.Insulated()}, model="gk", degree=degree, beta=0)
    assert problem.viscous_form == "vorticity"
    rates = _rates(fh.assemble(problem))
    bound = math.pi**2 / (1 + math.pi**2)
    assert rates[1] >= bound * (1 - 1e-4), (rates[1], bound, np.round(rates[2:5], 4))


def _rotation3d() -> np.ndarray:
    c, s = math.cos(0.5), math.sin(0.5)
    c4, s4 = math.cos(0.4), math.sin(0.4)
    return (np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
            @ np.array([[1, 0, 0], [0, c4, -s4], [0, s4, c4]]))


def _cube_flow(n: int, degree: int, viscous: str, ell: float = 0.2, beta: int = 2):
    """Manufactured steady flow in the cube with κ = R diag(1, 2, 4) Rᵀ (axes oblique to
    every face): φ = Π cos πx_i, q = −κ∇φ, T = φ − l²∇²φ + βν̄∇·q, and on each face the
    natural temperature T_D = φ − l²(∇²φ − ∂_nnφ) (module doc of
    tests/test_gk_anisotropic.py). Relative L² errors (T, q)."""
    kappa = _rotation3d() @ np.diag([1.0, 2.0, 4.0]) @ _rotation3d().T
    nu_mean = ell**2 * np.trace(np.linalg.inv(kappa)) / 3
    pi = math.pi

    def phi(x):
        return np.prod(np.cos(pi * x), axis=0)

    def grad_phi(x):
        c, s = np.cos(pi * x), np.sin(pi * x)
        return np.stack([-pi * s[i] * np.prod([c[j] for j in range(3) if j != i], axis=0)
                         for i in range(3)])

    def hess(x):
        c, s = np.cos(pi * x), np.sin(pi * x)
        H = np.empty((3, 3) + x.shape[1:])
        for i in range(3):
            for j in range(3):
                H[i, j] = (-pi**2 * np.prod(c, axis=0) if i == j
                           else pi**2 * s[i] * s[j] * c[3 - i - j])
        return H

    def div_q(x):
        return -np.einsum("ij,ij...->...", kappa, hess(x))

    def temperature(x):
        H = hess(x)
        return phi(x) - ell**2 * np.trace(H) + beta * nu_mean * div_q(x)

    def face_temperature(x, t):
        H = hess(x)
        on = [np.isclose(x[i], 0) | np.isclose(x[i], 1) for i in range(3)]
        normal = np.where(on[0], H[0, 0], np.where(on[1], H[1, 1], H[2, 2]))
        return phi(x) - ell**2 * (np.trace(H) - normal)

    problem = fh.HeatProblem(_cube(n), {"domain": fh.Material(kappa, nonlocal_length=ell)},
                             {"walls": fh.Temperature(face_temperature)},
                             source=lambda x, t: div_q(x), model="gk", degree=degree,
                             beta=beta, viscous=viscous)
    return _steady_errors(problem, temperature,
                          lambda x: -np.einsum("ij,j...->i...", kappa, grad_phi(x)))


@pytest.mark.parametrize("degree, meshes", [(0, (3, 6)), (1, (2, 4))])
def test_3d_oblique_kappa_manufactured_flow(degree, meshes):
    """κ oblique to every face of the cube, T given on the faces (open boundaries, the
    3D boundary terms of femheat.assembly.vorticity_open3d), β = 2, l = 0.2. Measured T /
    q (orders): degree 0, n = 3 / 6: 3.393e-1 / 1.746e-1 (0.96), 1.111e-1 / 3.120e-2
    (1.83); the penalty form 1.758e-1 and 4.520e-2 at n = 6; degree 1, n = 2 / 4:
    1.651e-1 / 4.454e-2 (1.89), 4.271e-2 / 6.239e-3 (2.78); the penalty form 4.557e-2
    and 7.892e-3 at n = 4 (coarse meshes: the orders are still rising)."""
    runs = [_cube_flow(n, degree, "auto") for n in meshes]
    assert all(r[0] == "vorticity" for r in runs)
    oT = math.log2(runs[0][1] / runs[1][1])
    oq = math.log2(runs[0][2] / runs[1][2])
    _, pT, pq = _cube_flow(meshes[-1], degree, "penalty")
    assert oT >= degree + 1 - 0.2 and oq >= degree + 2 - 0.4, (runs, oT, oq)
    assert runs[-1][1] <= pT and runs[-1][2] <= pq, (runs[-1], pT, pq)


def test_an_isotropic_tensor_is_the_scalar():
    """κ = 2 I given as a tensor has no remainder: the same discrete problem as κ = 2 (its
    stress-free walls are not opened, so a curved wall keeps the scalar form's ω = 0),
    T equal to round-off on a disc."""
    regions = fh.RegionMesh.from_skfem(skfem.MeshTri.init_circle(3),
                                       boundaries={"wall": _everywhere})
    temperatures = []
    for kappa in (2.0, 2.0 * np.eye(2)):
        problem = fh.HeatProblem(regions, {"domain": fh.Material(kappa, 1.0, 0.1,
                                                                 nonlocal_length=0.3)},
                                 {"wall": fh.Insulated()}, source=lambda x, t: x[0],
                                 model="gk", degree=1)
        assert problem.viscous_form == "vorticity"
        temperatures.append(fh.solve_steady(fh.assemble(problem),
                                            mean_temperature=0.0).temperature)
    assert np.abs(temperatures[1] - temperatures[0]).max() <= 1e-12 * np.abs(
        temperatures[0]).max()


def _forms_apart(make_problem) -> tuple[list[float], list[float]]:
    """Relative L² distances between the steady temperatures of "auto" (which must take
    the vorticity form) and the penalty form for ``make_problem(n, viscous)``, n = 6, 12,
    24, and their orders."""
    distances = []
    for n in (6, 12, 24):
        fields = []
        for viscous, form in (("auto", "vorticity"), ("penalty", "penalty")):
            problem = make_problem(n, viscous)
            assert problem.viscous_form == form
            system = fh.assemble(problem)
            tb = system.temperature_basis
            fields.append(tb.interpolate(fh.solve_steady(system).temperature).value)
        distances.append(float(np.sqrt(((fields[0] - fields[1]) ** 2 * tb.dx).sum()
                                       / (fields[1] ** 2 * tb.dx).sum())))
    return distances, [math.log2(distances[i] / distances[i + 1]) for i in range(2)]


def test_next_to_a_material_without_viscosity_and_between_slip_walls():
    """An anisotropic material (l = 0.3) beside one with l = 0 and another tensor (its
    remainder empty, its viscosity level zero), slip-length walls along both, T given at
    the ends, a source: the vorticity form and the penalty form model the same problem,
    so their temperatures approach each other at the discretization's order. Measured
    relative L² distance at degree 1, n = 6 / 12 / 24: 1.01e-3 / 2.76e-4 / 7.17e-5."""
    materials = {"a": fh.Material(np.diag([1.0, 3.0]), 1.0, 0.1, nonlocal_length=0.3),
                 "b": fh.Material(np.diag([2.0, 1.0]), 1.0, 0.1, nonlocal_length=0.0)}

    def make(n, viscous):
        regions = fh.RegionMesh.from_skfem(
            _square(n), subdomains={"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5},
            boundaries={"ends": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1),
                        "sides": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 1)})
        return fh.HeatProblem(regions, materials,
                              {"ends": fh.Temperature(lambda x, t: x[0]),
                               "sides": fh.Insulated()},
                              source=lambda x, t: 3 * np.sin(3 * x[1]), model="gk", degree=1,
                              walls={"sides": SlipLength(0.5)}, viscous=viscous)

    distances, orders = _forms_apart(make)
    assert min(orders) >= 1.7 and distances[-1] < 2e-4, (distances, orders)


def test_tangential_flux_wall_that_heat_crosses():
    """κ = [[2, ½], [½, 1]], T given on the bottom wall with q·t = ½ sin πx there
    (TangentialFlux: the vorticity part's data and end terms, the remainder's trace
    (e·n)(q·n) + e·g), T and no slip on the top, insulated free-slip sides, a source:
    the forms model the same problem, and their temperatures approach each other at the
    discretization's order. Measured relative L² distance at degree 1, n = 6 / 12 / 24:
    1.10e-3 / 3.05e-4 / 8.98e-5 (orders 1.85, 1.76; κ = diag(1, 3): 2.22, 2.14)."""
    def make(n, viscous):
        regions = fh.RegionMesh.from_skfem(_square(n), boundaries={
            "bottom": lambda x: np.isclose(x[1], 0), "top": lambda x: np.isclose(x[1], 1),
            "sides": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1)})
        return fh.HeatProblem(
            regions, {"domain": fh.Material([[2.0, 0.5], [0.5, 1.0]], 1.0, 0.1,
                                            nonlocal_length=0.2)},
            {"bottom": fh.Temperature(0.0), "top": fh.Temperature(1.0),
             "sides": fh.Insulated()}, source=lambda x, t: 2 * np.cos(math.pi * x[0]),
            model="gk", degree=1, viscous=viscous,
            walls={"bottom": TangentialFlux(lambda x, t: 0.5 * np.sin(math.pi * x[0])),
                   "top": NoSlip()})

    distances, orders = _forms_apart(make)
    assert min(orders) >= 1.6 and distances[-1] < 1.5e-4, (distances, orders)


@pytest.mark.parametrize("degree", [0, 1])
def test_iterative_solver_agrees_with_the_direct_solve(degree):
    """The iterative steady solver (MINRES, the rotation part applied from its factors,
    the weak gradients among them) agrees with the direct solve, in 53 iterations at
    rtol 1e-10 (degree 0 and 1, n = 8, κ oblique, T given at the ends)."""
    from femheat.solve.iterative import solve_steady_iterative

    regions = fh.RegionMesh.from_skfem(_square(8), boundaries={
        "ends": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1),
        "sides": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 1)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(OBLIQUE, 1.0, 0.1,
                                                             nonlocal_length=0.2)},
                             {"ends": fh.Temperature(lambda x, t: x[0]),
                              "sides": fh.Insulated()},
                             source=lambda x, t: np.sin(3 * x[1]), model="gk", degree=degree)
    assert problem.viscous_form == "vorticity"
    system = fh.assemble(problem)
    direct = fh.solve_steady(system)
    state, report = solve_steady_iterative(system, rtol=1e-10)
    scale = np.abs(direct.temperature).max()
    assert np.abs(state.temperature - direct.temperature).max() < 1e-7 * scale
    assert max(report.iterations) < 100, report
