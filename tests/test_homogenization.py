"""Homogenization (κ_eff tensors) and interface-conductance analysis.

Proven against: the series/parallel formulas of a superlattice (exact for the
mixed method, BENCHMARKS K1), Maxwell–Garnett with k' = k_i/(1 + R k_i/a) for
square/cubic arrays (BENCHMARKS K3, 1 %), a homogeneous anisotropic tensor
(exact), the Hill–Mandel identity D = |Ω| G·κ_eff G (round-off), the exact
derivative ∂κ/∂R (finite differences), the crossover R_c = a(k_i − k_m)/(k_i k_m),
and O(h²) convergence of κ_eff.
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.mesh import geometry
from femheat.analysis.conductance import (crossover_resistance, crossover_resistance_theory,
                                 fit_resistance, maxwell_garnett, sweep_resistance)
from femheat.analysis.homogenization import CellProblem, homogenize

KM, KI = 1.0, 10.0
MATS = {"matrix": fh.Material(KM, 1.0), "inclusion": fh.Material(KI, 1.0)}


def box_faces(dim: int, lengths) -> dict:
    names = ("left", "right", "bottom", "top", "front", "back")
    out = {}
    for axis in range(dim):
        for side, value in ((0, 0.0), (1, lengths[axis])):
            out[names[2 * axis + side]] = (
                lambda x, a=axis, v=value: np.isclose(x[a], v, atol=1e-12 * max(lengths)))
    return out


@pytest.fixture(scope="module")
def square_cell(tmp_path_factory):
    """One circle (f = 0.2) centred in a periodic unit cell: a square array."""
    path = tmp_path_factory.mktemp("cells") / "square.msh"
    a = float(np.sqrt(0.2 / np.pi))
    geometry.particle_composite([1.0, 1.0], 0.2, n_per_side=1, periodic=True,
                                mesh_size=0.04, interface_mesh_size=0.015, path=path)
    return fh.load_mesh(path), a


# ------------------------------------------------------------- exact benchmarks
@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("depth", [None, 0.3])
def test_superlattice_series_and_parallel(tmp_path, degree, depth):
    """Cross-plane κ = series formula with R_K, in-plane κ = parallel formula (1e-10)."""
    period, n = [0.2, 0.3], 3
    path = tmp_path / "sl.msh"
    geometry.superlattice(period, n, names=("A", "B"), height=0.4, depth=depth,
                          mesh_size=0.1 if depth is None else 0.2, periodic=True, path=path)
    rm = fh.load_mesh(path)
    k = {"A": 2.0, "B": 0.5}
    R = 0.05
    ifaces = {name: R for name in rm.interfaces}
    n_if = len(ifaces)
    assert n_if == 2 * n - 1
    # the periodic cell also has the wrap-around interface at x = 0 ~ L (B | A): its
    # contact is perfect here (not a named interface), so n_if resistances in series
    L = n * sum(period)
    series = L / (n * (period[0] / k["A"] + period[1] / k["B"]) + n_if * R)
    parallel = (period[0] * k["A"] + period[1] * k["B"]) / sum(period)
    mats = {m: fh.Material(v, 1.0) for m, v in k.items()}
    for boundary in ("periodic", "mixed"):
        h = homogenize(rm, mats, ifaces, degree=degree, boundary=boundary)
        kap = h.conductivity
        assert abs(kap[0, 0] / series - 1) < 1e-10, (boundary, kap[0, 0], series)
        for j in range(1, rm.dim):
            assert abs(kap[j, j] / parallel - 1) < 1e-10, (boundary, kap[j, j], parallel)
        off = kap - np.diag(np.diag(kap))
        assert np.abs(off).max() < 1e-10 * parallel
        # every interface carries q = series (unit gradient) and jumps by R q·n_AB,
        # measured from the reconstructed temperature traces
        for name, rep in h.loads[0].interfaces.items():
            np.testing.assert_allclose(np.abs(rep.normal_flux), series, rtol=1e-9)
            np.testing.assert_allclose(rep.jump, R * rep.normal_flux, rtol=1e-8)


def test_homogeneous_anisotropic_tensor_is_exact():
    """A homogeneous anisotropic material: periodic κ_eff = κ to round-off, any mesh."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 7), np.linspace(0, 2, 9))
    rm = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 0.5 + 0.2 * x[1], "b": lambda x: x[0] > 0.5 + 0.2 * x[1]},
        boundaries=box_faces(2, [1.0, 2.0]))
    K = np.array([[3.0, 1.2], [1.2, 1.0]])
    mats = {"a": fh.Material(K, 1.0), "b": fh.Material(K, 1.0)}
    for degree in (0, 1):
        h = homogenize(rm, mats, degree=degree)
        np.testing.assert_allclose(h.conductivity, K, rtol=0, atol=1e-12)
    # mixed boundary conditions (insulated sides) suppress the transverse flux the
    # off-diagonal coupling drives: a different, smaller number (why periodic is the
    # default for cells without mirror symmetry)
    hm = homogenize(rm, mats, boundary="mixed")
    assert K[0, 0] - K[0, 1] ** 2 / K[1, 1] < hm.conductivity[0, 0] < 0.99 * K[0, 0], \
        hm.conductivity


@pytest.mark.parametrize("a_over_aK", [0.1, 1.0, 10.0])
def test_square_array_matches_maxwell_garnett(square_cell, a_over_aK):
    """Square array of cylinders, f = 0.2, k_i/k_m = 10: κ_eff within 1 % of MG(k')."""
    rm, a = square_cell
    R = a / (a_over_aK * KM)
    h = homogenize(rm, MATS, {"inclusion_surface": R}, degree=1)
    mg = float(maxwell_garnett(0.2, KM, KI, dim=2, radius=a, resistance=R))
    kap = h.conductivity
    assert abs(kap[0, 0] / mg - 1) < 0.01 and abs(kap[1, 1] / mg - 1) < 0.01, (kap, mg)
    # square symmetry: isotropic tensor, symmetric, positive definite
    assert h.anisotropy < 1e-3, h.anisotropy
    assert h.asymmetry < 1e-8
    assert np.all(h.eigenvalues > 0)
    # Hill–Mandel: the dissipation parts add up to |Ω| κ_jj exactly
    for lc in h.loads:
        assert abs(lc.total_dissipation - kap[lc.axis, lc.axis]) < 1e-9 * kap[lc.axis, lc.axis]
        shares = lc.dissipation_share()
        assert abs(sum(shares.values()) - 1) < 1e-12
        assert set(shares) == {"matrix", "inclusion", "inclusion_surface"}
        assert abs(sum(lc.flux_share.values()) - 1) < 1e-12


def test_periodic_and_mixed_agree_on_a_symmetric_cell(square_cell):
    rm, a = square_cell
    R = {"inclusion_surface": 0.3 * a}
    hp = homogenize(rm, MATS, R, degree=1, boundary="periodic")
    hm = homogenize(rm, MATS, R, degree=1, boundary="mixed")
    np.testing.assert_allclose(np.diag(hp.conductivity), np.diag(hm.conductivity), rtol=2e-4)


def test_simple_cubic_spheres_match_maxwell_garnett(tmp_path):
    """Simple-cubic spheres, f = 0.2: κ_eff within 1 % of Nan 1997 / MG(k') (3D; measured
    −1.8e-4 at a/a_K = 0.5 and −5.6e-3 at 10), symmetric, isotropic, positive definite."""
    path = tmp_path / "sc.msh"
    f = 0.2
    a = float((3 * f / (4 * np.pi)) ** (1 / 3))
    geometry.particle_composite([1.0, 1.0, 1.0], f, shape="sphere", n_per_side=1,
                                periodic=True, mesh_size=0.12, interface_mesh_size=0.05,
                                path=path)
    rm = fh.load_mesh(path)
    for a_over_aK in (0.5, 10.0):
        R = a / (a_over_aK * KM)
        h = homogenize(rm, MATS, {"inclusion_surface": R}, degree=0)
        mg = float(maxwell_garnett(f, KM, KI, dim=3, radius=a, resistance=R))
        err = np.diag(h.conductivity) / mg - 1
        assert np.all(np.abs(err) < 0.01), (a_over_aK, err)
        assert h.anisotropy < 0.01, h.anisotropy  # cubic symmetry: isotropic tensor
        assert h.asymmetry < 1e-8 and np.all(h.eigenvalues > 0)


def test_kappa_eff_converges_at_second_order(tmp_path):
    """κ_eff of the square array (R > 0, degree 0) converges at O(h²)."""
    f, R = 0.2, 0.1
    a = float(np.sqrt(f / np.pi))
    values, hs = [], []
    for h in (0.08, 0.04, 0.02, 0.01):
        path = tmp_path / f"c{h}.msh"
        geometry.particle_composite([1.0, 1.0], f, n_per_side=1, mesh_size=h, path=path)
        rm = fh.load_mesh(path)
        values.append(CellProblem(rm, MATS, {"inclusion_surface": R}, boundary="mixed",
                                  axes=[0]).solve(reports=False).conductivity[0, 0])
        hs.append(h)
    v = np.array(values)
    # Richardson-free: successive differences shrink like h^p
    diffs = np.abs(np.diff(v))
    order = np.polyfit(np.log(hs[1:]), np.log(diffs), 1)[0]
    assert 1.6 < order < 2.6, f"observed order {order:.2f} (values {v})"
    mg = float(maxwell_garnett(f, KM, KI, dim=2, radius=a, resistance=R))
    assert abs(v[-1] / mg - 1) < 2e-3, (v[-1], mg)


# ------------------------------------------------------ interface conductance
def test_exact_derivative_fit_and_crossover(square_cell):
    rm, a = square_cell
    cell = CellProblem(rm, MATS, {"inclusion_surface": 0.0}, boundary="mixed", axes=[0])
    names = ["inclusion_surface"]
    from femheat.analysis.conductance import _kappa

    R = 0.2 * a
    k, dk = _kappa(cell, names, R, (0, 0), derivative=True)
    eps = 1e-4 * R
    fd = (_kappa(cell, names, R + eps, (0, 0))[0] - _kappa(cell, names, R - eps, (0, 0))[0]) / (2 * eps)
    assert abs(dk / fd - 1) < 1e-6, (dk, fd)

    # crossover: FEM root vs the closed form (MG crosses k_m exactly where k' = k_m)
    c = crossover_resistance(cell, KM)
    theory = crossover_resistance_theory(KM, KI, a)
    assert abs(c.resistance / theory - 1) < 0.01, (c.resistance, theory)
    assert c.kapitza_radius == pytest.approx(c.resistance * KM)

    # inverse fit: data from MG at a known R (the model error is the fit error)
    R_true = 0.5 * a
    target = float(maxwell_garnett(0.2, KM, KI, dim=2, radius=a, resistance=R_true))
    fit = fit_resistance(cell, target, sigma=0.005 * target)
    assert abs(fit.resistance / R_true - 1) < 0.02, (fit.resistance, R_true)
    # 1σ from the measurement error: σ_R = σ_κ / |∂κ/∂R|
    _, dk_fit = _kappa(cell, names, fit.resistance, (0, 0), derivative=True)
    assert fit.standard_error == pytest.approx(0.005 * target / abs(dk_fit), rel=1e-6)
    with pytest.raises(fh.FemheatInputError, match="perfect-contact"):
        fit_resistance(cell, 10.0, sigma=0.1)


def test_sweep_table_csv_and_plot(square_cell, tmp_path):
    rm, a = square_cell
    cell = CellProblem(rm, MATS, {"inclusion_surface": 0.0}, boundary="mixed", axes=[0])
    R = a * np.logspace(-2, 1, 4)
    sw = sweep_resistance(cell, R, matrix_conductivity=KM,
                          reference=lambda r: maxwell_garnett(0.2, KM, KI, dim=2, radius=a,
                                                              resistance=r))
    assert np.all(np.diff(sw.values) < 0)  # more resistance, less conduction
    assert np.all(np.abs(sw.values / sw.reference - 1) < 0.01)
    rc = sw.crossing()
    assert rc is not None and a * 0.1 < rc < a * 10
    csv = sw.to_csv(tmp_path / "sweep.csv")
    rows = csv.read_text().splitlines()
    assert len(rows) == 1 + R.size and rows[0].startswith("kapitza_resistance_m2K_per_W")
    back = np.loadtxt(csv, delimiter=",", skiprows=1)
    np.testing.assert_allclose(back[:, 2], sw.values, rtol=1e-11)
    png = sw.plot(tmp_path / "sweep.png")
    assert png.stat().st_size > 10_000


def test_gk_cell_homogeneous_and_local_limit(square_cell):
    """GK cells (mixed BCs): uniform medium gives κ; l → 0 gives the Fourier tensor."""
    rm, a = square_cell
    gk = {"matrix": fh.Material(KM, 1.0, nonlocal_length=0.05),
          "inclusion": fh.Material(KM, 1.0, nonlocal_length=0.05)}
    h = homogenize(rm, gk, model="gk", boundary="mixed", degree=0)
    np.testing.assert_allclose(np.diag(h.conductivity), KM, rtol=1e-10)
    tiny = {n: fh.Material(m.conductivity, 1.0, nonlocal_length=1e-7) for n, m in MATS.items()}
    hg = homogenize(rm, tiny, {"inclusion_surface": 0.1}, model="gk", boundary="mixed")
    hf = homogenize(rm, MATS, {"inclusion_surface": 0.1}, boundary="mixed")
    # GK runs on BDM1 x P0, Fourier on RT1 x P0: they differ by the discretization
    # error only (both are within 0.1 % of each other at this mesh)
    np.testing.assert_allclose(np.diag(hg.conductivity), np.diag(hf.conductivity), rtol=1e-3)
    assert "viscous" in hg.loads[0].dissipation


def _inclusion_strip(cells: int, n: int):
    """A row of ``cells`` unit cells along x, each with a square inclusion
    (0.3, 0.7)² behind a Kapitza interface ``surface``; n × n triangles per cell."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, cells, cells * n + 1),
                                     np.linspace(0, 1, n + 1))

    def local(x):
        return x[0] - np.floor(x[0] + 1e-12)

    def inside(x):
        f = local(x)
        return (f > 0.3) & (f < 0.7) & (x[1] > 0.3) & (x[1] < 0.7)

    def surface(x):
        f, y = local(x), x[1]
        on_x = (np.isclose(f, 0.3) | np.isclose(f, 0.7)) & (y > 0.3 - 1e-9) & (y < 0.7 + 1e-9)
        on_y = (np.isclose(y, 0.3) | np.isclose(y, 0.7)) & (f > 0.3 - 1e-9) & (f < 0.7 + 1e-9)
        return on_x | on_y

    faces = box_faces(2, [float(cells), 1.0])
    return fh.RegionMesh.from_skfem(
        mesh, subdomains={"inclusion": inside, "matrix": lambda x: ~inside(x)},
        boundaries=faces, interfaces={"surface": surface})


def middle_cell_flux(problem: fh.HeatProblem, cells: int) -> float:
    """∫ q_x over the middle unit cell (cells//2 < x < cells//2 + 1) of a strip of
    ``cells`` cells: the steady solve of ``problem``."""
    system = fh.assemble(problem)
    qb = system.flux_basis
    q = qb.interpolate(fh.solve_steady(system).flux).value[0]
    x = qb.global_coordinates().value[0]
    middle = (x > cells // 2) & (x < cells // 2 + 1)
    return float((q * qb.dx * middle).sum())


#: GK materials with different κ and l (the viscous term couples the cells)
GK_CELL = {"matrix": fh.Material(1.0, 1.0, nonlocal_length=0.2),
           "inclusion": fh.Material(0.3, 1.0, nonlocal_length=0.1)}


@pytest.mark.parametrize("viscous, degree, rtol", [
    ("penalty", 0, 2e-5), ("vorticity", 0, 1e-8), ("vorticity", 1, 1e-8)])
def test_gk_mixed_cell_is_the_periodic_problem(viscous, degree, rtol):
    """A GK cell with mirror symmetry (square inclusion, heterogeneous κ and l, a
    Kapitza interface): the mixed cell problem (T on the faces normal to the load, q·t
    = 0 there, free slip on the others) gives the mean flux of the middle cell of a
    strip of seven cells, i.e. the periodic problem (measured 3e-6 penalty, 2e-10
    vorticity). With the faces normal to the load left stress-free instead (the
    penalty form's ν∂q/∂n = 0, or ω = 0) it is off by ~5e-4: the test sees the
    condition."""
    n, R = 20, 0.05
    cell = homogenize(_inclusion_strip(1, n), GK_CELL, {"surface": R}, model="gk",
                      boundary="mixed", degree=degree, viscous=viscous)
    kappa = cell.conductivity
    assert kappa[0, 0] == pytest.approx(kappa[1, 1], rel=1e-10)  # the square's symmetry

    def middle_flux(cells: int, ends):
        regions = _inclusion_strip(cells, n)
        problem = fh.HeatProblem(
            regions, GK_CELL, {"left": fh.Temperature(0.0), "right": fh.Temperature(-cells),
                               "bottom": fh.Insulated(), "top": fh.Insulated()},
            interfaces={"surface": fh.KapitzaResistance(R)}, model="gk", degree=degree,
            viscous=viscous, walls=ends)
        return middle_cell_flux(problem, cells)

    no_slip_ends = {"left": fh.NoSlip(), "right": fh.NoSlip()}
    strip = middle_flux(7, no_slip_ends)
    assert kappa[0, 0] == pytest.approx(strip, rel=rtol), (kappa[0, 0], strip)
    stress_free = middle_flux(1, {})
    assert abs(stress_free / strip - 1) > 1e-4, (stress_free, strip)


def test_gk_vorticity_cell_sweep_matches_fresh_cells():
    """A Kapitza sweep of a vorticity-form GK cell (per-axis flux blocks plus R_K A_Γ)
    equals cells assembled afresh at each R_K, and κ falls with R_K."""
    regions = _inclusion_strip(1, 10)
    cell = CellProblem(regions, GK_CELL, {"surface": 0.0}, model="gk", boundary="mixed",
                       viscous="vorticity")
    values = []
    for R in (0.01, 0.1, 1.0):
        swept = cell.solve({"surface": R}).conductivity
        fresh = homogenize(regions, GK_CELL, {"surface": R}, model="gk", boundary="mixed",
                           viscous="vorticity").conductivity
        np.testing.assert_allclose(swept, fresh, rtol=1e-12, atol=1e-14)
        values.append(swept[0, 0])
    assert values[0] > values[1] > values[2]


# -------------------------------------------------------------------- bad input
def test_bad_input(square_cell, tmp_path):
    rm, a = square_cell
    with pytest.raises(fh.FemheatInputError, match="boundary = 'bogus'"):
        CellProblem(rm, MATS, boundary="bogus")
    with pytest.raises(fh.FemheatInputError, match="gk"):
        CellProblem(rm, MATS, model="gk", boundary="periodic")
    with pytest.raises(fh.RegionError, match="nosuch"):
        CellProblem(rm, MATS, {"nosuch": 1.0})
    cell = CellProblem(rm, MATS, {"inclusion_surface": 0.0}, boundary="mixed", axes=[0])
    with pytest.raises(fh.FemheatInputError, match="not a Kapitza interface"):
        cell.solve({"other": 1.0})
    with pytest.raises(fh.FemheatInputError, match="resistances.inclusion_surface"):
        cell.solve({"inclusion_surface": -1.0})
    with pytest.raises(fh.FemheatInputError, match="resistances"):
        sweep_resistance(cell, [1.0, np.nan])
    with pytest.raises(fh.FemheatInputError, match="axes"):
        CellProblem(rm, MATS, axes=[2])
    # faces not meshed alike cannot be periodic
    path = tmp_path / "np.msh"
    geometry.inclusions_2d(1.0, 1.0, [[0.3, 0.6]], 0.2, mesh_size=0.1,
                           interface_mesh_size=0.03, path=path)
    with pytest.raises(fh.MeshError, match="periodic=True"):
        CellProblem(fh.load_mesh(path), MATS, boundary="periodic")
    # a mesh without the cell faces
    strip = fh.RegionMesh.from_skfem(
        skfem.MeshTri.init_tensor(np.linspace(0, 1, 3), np.linspace(0, 1, 3)),
        boundaries={"ends": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1),
                    "sides": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], 1)})
    with pytest.raises(fh.MeshError, match="left"):
        CellProblem(strip, {"domain": fh.Material(1.0, 1.0)})


def test_readme_homogenization_example(tmp_path):
    """The README's homogenization snippet runs as written (in a scratch folder)."""
    from tests.conftest import readme_snippet

    env = readme_snippet(r"import numpy as np\nimport femheat as fh\nfrom femheat\.mesh "
                         r"import geometry", cwd=tmp_path)
    k = env["result"].conductivity
    a = float(np.sqrt(0.2 / np.pi)) * 1e-6
    mg = float(maxwell_garnett(0.2, 1.0, 10.0, dim=2, radius=a, resistance=1e-8))
    assert abs(k[0, 0] / mg - 1) < 0.01 and abs(k[1, 1] / mg - 1) < 0.01, (k, mg)
    assert env["fit"].predicted[0] == pytest.approx(1.2, rel=1e-8)
    theory = crossover_resistance_theory(1.0, 10.0, a)
    assert abs(env["crossover"].resistance / theory - 1) < 0.01
    assert (tmp_path / "sweep.csv").exists() and (tmp_path / "sweep.png").exists()
