"""Fast paths give the results of the general ones: compact κ⁻¹ fields in ``flux_mass``,
constant materials stored per cell, and the CHOLMOD direct solver against SuperLU."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import skfem

import femheat as fh
from femheat.assembly import forms
from femheat.errors import FemheatInputError
from femheat.physics.materials import expand_resistivity, material_fields
from femheat.solve.steady import direct_solver, factorize
from tests.conftest import strip_regions

HAS_CHOLMOD = direct_solver("auto") == "cholmod"
needs_cholmod = pytest.mark.skipif(
    not HAS_CHOLMOD, reason="scikit-sparse (CHOLMOD) is not installed: only SuperLU to test")


def _relative(a: sp.spmatrix, b: sp.spmatrix) -> float:
    return float(abs(a - b).max() / abs(b).max())


@pytest.mark.parametrize("dim", [2, 3])
def test_scalar_and_diagonal_flux_mass_equal_the_tensor_path(dim):
    """(κ⁻¹q, v) from a scalar field, a diagonal and the full tensor: the same matrix."""
    if dim == 2:
        mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 7), np.linspace(0, 1, 5))
        elem = skfem.ElementTriRT0()
    else:
        mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 4),) * 3)
        elem = skfem.ElementTetRT0()
    qb = skfem.Basis(mesh, elem, intorder=4)
    x = qb.global_coordinates().value
    scalar = 1.0 / (1.0 + x[0] ** 2 + 0.5 * x[1])  # (nelems, nqp)
    reference = forms.flux_mass.assemble(qb, kinv=expand_resistivity(scalar, dim))
    assert _relative(forms.flux_mass.assemble(qb, kinv=scalar), reference) < 1e-14
    diagonal = np.stack([scalar * (1 + i) for i in range(dim)])  # (d, nelems, nqp)
    reference = forms.flux_mass.assemble(qb, kinv=expand_resistivity(diagonal, dim))
    assert _relative(forms.flux_mass.assemble(qb, kinv=diagonal), reference) < 1e-14
    # a number is a constant scalar field
    ones = forms.flux_mass.assemble(qb, kinv=np.ones(x.shape[1:]))
    assert _relative(forms.flux_mass.assemble(qb, kinv=2.0), 2.0 * ones) < 1e-14


def _two_materials(mats):
    regions = strip_regions(n=10, split=0.5)
    x = skfem.Basis(regions.mesh, skfem.ElementTriRT0(), intorder=4).global_coordinates().value
    return regions, x


@pytest.mark.parametrize("name, mats, kind", [
    ("numbers", {"a": fh.Material(2.0, 3.0, 0.1), "b": fh.Material(5.0, 1.0, 0.2)},
     "isotropic"),
    ("diagonal tensor", {"a": fh.Material([[2.0, 0.0], [0.0, 4.0]], 3.0, 0.1),
                         "b": fh.Material(5.0, 1.0, 0.2)}, "diagonal"),
    ("full tensor", {"a": fh.Material([[2.0, 0.5], [0.5, 4.0]], 3.0, 0.1),
                     "b": fh.Material(5.0, 1.0, 0.2)}, "full"),
    ("functions", {"a": fh.Material(lambda x: 1 + x[0] ** 2, 3.0, 0.1),
                   "b": fh.Material(5.0, lambda x: 1 + x[1], 0.2)}, "isotropic"),
])
def test_material_fields_compact_forms(name, mats, kind):
    """The compact κ⁻¹ field expands to κ⁻¹ of each material; constants are per cell."""
    regions, x = _two_materials(mats)
    f = material_fields(regions, mats, x)
    ndim = {"isotropic": 2, "diagonal": 3, "full": 4}[kind]
    assert f.resistivity_coefficient.ndim == ndim
    assert f.cellwise == (name != "functions")
    for region, mat in mats.items():
        c = regions.subdomains[region]
        k = np.asarray(mat.conductivity(x[:, c]) if callable(mat.conductivity)
                       else mat.conductivity, dtype=float)
        full = f.resistivity[:, :, c]
        if k.shape == (2, 2):
            expected = np.linalg.inv(k)[:, :, None, None] * np.ones(full.shape[2:])
        else:
            expected = np.eye(2)[:, :, None, None] / np.broadcast_to(k, full.shape[2:])
        assert np.allclose(full, expected, rtol=1e-14, atol=0)
        assert np.allclose(f.inertia[:, :, c], mat.relaxation_time * expected, rtol=1e-14, atol=0)
        q = np.stack([x[0, c], 1 + x[1, c]])
        got = f.resistivity_times(np.stack([x[0], 1 + x[1]]))[:, c]
        assert np.allclose(got, np.einsum("ij...,j...->i...", expected, q), rtol=1e-14, atol=0)


def _mcv_system(materials=None, **kw):
    regions = strip_regions(n=16, split=0.5)
    materials = materials or {"a": fh.Material(2.0, 3.0, 0.05), "b": fh.Material(5.0, 1.0, 0.02)}
    problem = fh.HeatProblem(
        regions, materials,
        {"left": fh.Temperature(1.0), "right": fh.Convection(10.0, 0.0), "walls": fh.Insulated()},
        interfaces={"ab": fh.KapitzaResistance(0.01)}, **kw)
    return fh.assemble(problem)


def test_inertia_is_tau_times_resistivity_where_tau_is_one_number():
    """M = τA is taken when τ is one number: the same M as a separately assembled one."""
    same = {"a": fh.Material(2.0, 3.0, 0.05), "b": fh.Material(5.0, 1.0, 0.05)}
    system = _mcv_system(same)
    qb = system.flux_basis
    M = forms.flux_mass.assemble(qb, kinv=system.fields.inertia)
    assert _relative(system.inertia, M) < 1e-14
    assert system.fields.cellwise


@needs_cholmod
def test_cholmod_and_superlu_give_the_same_solution():
    """The SPD flux operator: CHOLMOD and SuperLU agree to 1e-10 (relative)."""
    system = _mcv_system()
    scheme_free = system.free_dofs
    K = (system.inertia / 1e-3 + system.resistance
         + 1e-3 * (system.divergence.T @ system.capacity_inverse @ system.divergence))
    K = sp.csr_matrix(K)[scheme_free][:, scheme_free]
    b = np.random.default_rng(0).standard_normal(K.shape[0])
    chol, lu = factorize(K, True, backend="cholmod"), factorize(K, True, backend="superlu")
    assert chol.backend == "cholmod" and lu.backend == "superlu"
    x1, x2 = chol(b), lu(b)
    assert np.max(np.abs(x1 - x2)) <= 1e-10 * np.max(np.abs(x2))
    assert np.max(np.abs(K @ x1 - b)) <= 1e-10 * np.max(np.abs(b))


@needs_cholmod
@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_time_stepping_is_the_same_with_either_solver(monkeypatch, theta):
    """MCV θ-steps with CHOLMOD and with SuperLU forced: the same states to 1e-10."""
    states = {}
    for backend in ("cholmod", "superlu"):
        monkeypatch.setenv("FEMHEAT_DIRECT_SOLVER", backend)
        system = _mcv_system()
        states[backend] = [s for _, s in fh.theta_steps(system, 2e-3, 2e-2, theta)][-1]
    a, b = states["cholmod"], states["superlu"]
    assert np.max(np.abs(a.temperature - b.temperature)) <= 1e-10 * np.max(np.abs(b.temperature))
    assert np.max(np.abs(a.flux - b.flux)) <= 1e-10 * np.max(np.abs(b.flux))
    energy = system.energy_weights
    assert abs(energy @ a.temperature - energy @ b.temperature) <= 1e-12 * abs(
        energy @ b.temperature)


@needs_cholmod
def test_steady_solve_is_the_same_with_either_solver(monkeypatch):
    states = {}
    for backend in ("cholmod", "superlu"):
        monkeypatch.setenv("FEMHEAT_DIRECT_SOLVER", backend)
        states[backend] = fh.solve_steady(_mcv_system())
    a, b = states["cholmod"], states["superlu"]
    assert np.max(np.abs(a.temperature - b.temperature)) <= 1e-10 * np.max(np.abs(b.temperature))


def test_superlu_can_be_forced_and_bad_names_are_refused(monkeypatch):
    K = sp.diags([2.0, 3.0, 4.0]).tocsc()
    monkeypatch.setenv("FEMHEAT_DIRECT_SOLVER", "superlu")
    solve = factorize(K, True)
    assert solve.backend == "superlu"
    assert np.allclose(solve(np.ones(3)), [0.5, 1 / 3, 0.25])
    monkeypatch.setenv("FEMHEAT_DIRECT_SOLVER", "mumps")
    with pytest.raises(FemheatInputError, match="FEMHEAT_DIRECT_SOLVER"):
        factorize(K, True)
    monkeypatch.delenv("FEMHEAT_DIRECT_SOLVER")
    assert factorize(K, True).backend == ("cholmod" if HAS_CHOLMOD else "superlu")
    assert factorize(K, False).backend == "superlu"  # general LU: SuperLU always


def test_symmetric_indefinite_matrices_still_solve():
    """Symmetric but indefinite: CHOLMOD's LDLᵀ (small) or SuperLU's symmetric mode (where
    CHOLMOD's supernodal LLᵀ finds it not positive definite) -- the solution either way."""
    rng = np.random.default_rng(2)
    n = 3000
    R = sp.random(n, n, density=2e-3, random_state=rng)
    K = (R + R.T + sp.diags(np.where(np.arange(n) % 2, 10.0, -10.0))).tocsc()
    b = rng.standard_normal(n)
    for matrix, rhs in ((sp.diags([2.0, -3.0, 4.0]).tocsc(), np.ones(3)), (K, b)):
        x = factorize(matrix, True)(rhs)
        assert np.max(np.abs(matrix @ x - rhs)) <= 1e-9 * np.max(np.abs(rhs))


def test_without_scikit_sparse_superlu_is_used(monkeypatch):
    """Where scikit-sparse is missing, "auto" falls back to SuperLU and "cholmod" says why."""
    from femheat.solve import factorization

    monkeypatch.setattr(factorization, "_cholmod", lambda: None)
    monkeypatch.delenv("FEMHEAT_DIRECT_SOLVER", raising=False)
    assert direct_solver() == "superlu"
    assert factorize(sp.diags([2.0, 4.0]).tocsc(), True).backend == "superlu"
    with pytest.raises(FemheatInputError, match="scikit-sparse is not installed"):
        direct_solver("cholmod")


@pytest.mark.parametrize("dim", [2, 3])
def test_lowest_order_elements_store_cell_constants_once(dim):
    """femheat's RT0 and P0 give scikit-fem's basis values, divergences and gradients
    bit for bit, on cell and facet bases, while the RT0 divergence and the P0 gradient
    are views of one value per cell (stride 0 along the points)."""
    from femheat.element import lowest

    if dim == 2:
        mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 6), np.linspace(0, 1, 4))
        pairs = [(lowest.ElementTriRT0(), skfem.ElementTriRT1()),
                 (lowest.ElementTriP0(), skfem.ElementTriP0())]
    else:
        mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 3),) * 3)
        pairs = [(lowest.ElementTetRT0(), skfem.ElementTetRT1()),
                 (lowest.ElementTetP0(), skfem.ElementTetP0())]
    mesh = mesh.with_boundaries({"left": lambda x: x[0] < 1e-9})
    for lean, plain in pairs:
        for make in (lambda e: skfem.Basis(mesh, e, intorder=4),
                     lambda e: skfem.FacetBasis(mesh, e, facets="left", intorder=4)):
            a, b = make(lean), make(plain)
            for fa, fb in zip(a.basis, b.basis):
                (fa,), (fb,) = fa, fb
                assert np.array_equal(np.asarray(fa), np.asarray(fb))
                for key in ("div", "grad"):
                    va, vb = getattr(fa, key), getattr(fb, key)
                    if vb is None:
                        assert va is None
                        continue
                    assert va.shape == vb.shape and np.array_equal(va, vb), key
                    assert va.strides[-1] == 0, f"{type(lean).__name__}.{key} is stored per point"


def test_assembled_system_drops_the_quadrature_point_caches():
    """After fh.assemble the bases hold no cached coordinates or cell sizes (scikit-fem
    fills them in every form assembly); asked again, they are recomputed identically."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda x: x[0] < 1e-9, "rest": lambda x: x[0] > 1e-9})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.1)},
                             {"left": fh.Temperature(1.0), "rest": fh.Insulated()},
                             source=lambda x, t: x[0] * (1 + t))
    system = fh.assemble(problem)
    for basis in (system.flux_basis, system.temperature_basis):
        assert basis._global_coordinates is None and basis._mesh_parameters is None
    fresh = skfem.Basis(mesh, type(system.flux_basis.elem)(), intorder=4)
    assert np.array_equal(system.flux_basis.global_coordinates().value,
                          fresh.global_coordinates().value)
    # the time-dependent source still reads its points
    f1, f2 = system.heat_load(0.0), system.heat_load(1.0)
    assert np.allclose(f2, 2 * f1) and np.abs(f1).max() > 0
