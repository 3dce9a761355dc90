"""CHOLMOD's supernodal or simplicial factorization (femheat.solve.factorization).

Both modes give the same solution to 1e-12 relative; the mode used is recorded on the
solve function (``solve.mode``, like ``solve.backend``); ``FEMHEAT_CHOLMOD_MODE``
overrides the automatic choice; the shared symbolic analysis is kept per mode; the
choice follows the cost model (a sparse 2D factor followed by many solves goes
simplicial, a dense 3D-like one supernodal); time loops pass their step count."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import femheat as fh
from femheat.errors import FemheatInputError
from femheat.solve import factorization as fz
from femheat.solve.factorization import SYMBOLIC, FillStatistics, factorize
from tests.test_shared_factorization import laplacian

pytestmark = pytest.mark.skipif(fz._cholmod() is None, reason="scikit-sparse not installed")


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.delenv(fz.SYMBOLIC_CACHE_ENV, raising=False)
    monkeypatch.delenv(fz.CHOLMOD_MODE_ENV, raising=False)
    monkeypatch.delenv(fz.DIRECT_SOLVER_ENV, raising=False)
    SYMBOLIC.clear()
    yield
    SYMBOLIC.clear()


def channel(n: int = 12, model: str = "mcv") -> fh.MixedSystem:
    import skfem

    x = np.linspace(0.0, 1.0, n + 1)
    regions = fh.RegionMesh.from_skfem(skfem.MeshTri.init_tensor(x, x), boundaries={
        "left": lambda p: np.isclose(p[0], 0.0), "right": lambda p: np.isclose(p[0], 1.0),
        "walls": lambda p: np.isclose(p[1], 0.0) | np.isclose(p[1], 1.0)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 1e-2)},
        {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "walls": fh.Insulated()},
        model=model)
    return fh.assemble(problem)


@pytest.mark.parametrize("share", [True, False])
def test_both_modes_give_the_same_solution(monkeypatch, share):
    K = laplacian(30, 1.0 + np.random.default_rng(0).random(900))
    b = np.random.default_rng(1).standard_normal(900)
    x = {}
    for mode in ("supernodal", "simplicial"):
        monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, mode)
        solve = factorize(K, True, share_symbolic=share)
        assert solve.backend == "cholmod" and solve.mode == mode
        x[mode] = solve(b)
    ref = x["supernodal"]
    assert np.linalg.norm(x["simplicial"] - ref) <= 1e-12 * np.linalg.norm(ref)
    assert np.linalg.norm(K @ ref - b) <= 1e-10 * np.linalg.norm(b)
    # several right-hand sides at once, as one
    B = np.stack([b, 2 * b], axis=1)
    assert np.allclose(solve(B)[:, 1], 2 * x["simplicial"], rtol=1e-13, atol=0)


def test_superlu_has_no_mode():
    assert factorize(laplacian(8), True, backend="superlu").mode is None
    assert factorize(laplacian(8), False).mode is None


def test_the_environment_overrides_the_choice(monkeypatch):
    K = laplacian(10)
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "Simplicial")
    assert factorize(K, True, solves=1).mode == "simplicial"
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "supernodal")
    assert factorize(K, True, solves=10_000).mode == "supernodal"
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "auto")
    assert factorize(K, True).mode in ("supernodal", "simplicial")
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "multifrontal")
    with pytest.raises(FemheatInputError, match="FEMHEAT_CHOLMOD_MODE"):
        factorize(K, True)


def test_the_symbolic_cache_is_kept_per_mode(monkeypatch):
    K1, K2, K3 = (laplacian(20, s) for s in (1.0, 2.0, 3.0))  # one pattern
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "simplicial")
    a = factorize(K1, True)
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "supernodal")
    b = factorize(K2, True)
    c = factorize(K3, True)
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "simplicial")
    d = factorize(K3, True)
    assert [s.mode for s in (a, b, c, d)] == ["simplicial", "supernodal", "supernodal",
                                              "simplicial"]
    assert [s.shared_symbolic for s in (a, b, c, d)] == [False, False, True, True]
    assert SYMBOLIC.hits == 2 and SYMBOLIC.misses == 2
    rhs = np.ones(400)
    assert np.allclose(c(rhs), d(rhs), rtol=1e-12, atol=0)


def test_a_kept_numeric_factor_is_kept_per_mode(monkeypatch):
    K = laplacian(12)
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "simplicial")
    kept = [factorize(K, True) for _ in range(3)]
    assert kept[2] is kept[1]
    monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, "supernodal")
    other = factorize(K, True)
    assert other is not kept[1] and other.mode == "supernodal"


def test_fill_statistics_count_the_factor():
    K = laplacian(25)
    out = fz.fill_statistics(K)
    if out is None:
        pytest.skip("libamd cannot be loaded")
    stats, p = out
    assert stats.n == 625 and np.array_equal(np.sort(p), np.arange(625))
    from sksparse.cholmod import analyze

    Kp = fz._symmetric_permutation(K, p)
    assert abs(Kp - K[p][:, p]).max() == 0
    L = analyze(Kp, mode="simplicial", ordering_method="natural").cholesky(Kp).L()
    # AMD's counts are exact or slight upper bounds
    assert L.nnz <= stats.lnz <= 1.05 * L.nnz
    assert stats.flops >= stats.lnz - stats.n


def test_the_rule_follows_the_factor_density_and_the_solve_count():
    # a 2D flux operator (n = 250: 187 500 unknowns, 3.6 M factor entries, 51 flops/entry)
    flat = FillStatistics(187_500, 3.64e6, 1.86e8)
    # a 3D one (MCV on tetrahedra, 95 200 unknowns, 715 flops per factor entry)
    deep = FillStatistics(95_200, 2.04e7, 1.46e10)
    assert fz.choose_cholmod_mode(flat, 100) == "simplicial"
    assert fz.choose_cholmod_mode(deep, 1) == "supernodal"
    assert fz.choose_cholmod_mode(deep, 1000) == "supernodal"
    # a factor with ~170 flops per entry (2D, n = 500) goes supernodal for one solve
    # and simplicial for a long run, whose solves then dominate
    big = FillStatistics(750_000, 2.34e7, 3.95e9)
    assert fz.choose_cholmod_mode(big, 1) == "supernodal"
    assert fz.choose_cholmod_mode(big, 1000) == "simplicial"


def test_without_libamd_auto_is_supernodal_with_cholmods_ordering(monkeypatch):
    K = laplacian(15)
    b = np.arange(225.0)
    ref = factorize(K, True, share_symbolic=False)(b)
    monkeypatch.setattr(fz, "fill_statistics", lambda K: None)
    solve = factorize(K, True, share_symbolic=False, solves=1000)
    assert solve.mode == "supernodal"
    assert np.allclose(solve(b), ref, rtol=1e-12, atol=0)


@pytest.fixture
def solve_counts(monkeypatch) -> list:
    """The ``solves`` each mode choice is made for, in order (a spy on the cost model)."""
    seen = []
    real = fz.choose_cholmod_mode

    def spy(stats, solves=1):
        seen.append(solves)
        return real(stats, solves)

    monkeypatch.setattr(fz, "choose_cholmod_mode", spy)
    return seen


def test_time_loops_pass_their_step_count(solve_counts):
    system = channel(10)
    seen = solve_counts
    SYMBOLIC.clear()
    states = list(fh.theta_steps(system, 1e-3, 7e-3, theta=1.0))
    assert len(states) == 8
    assert seen == [7] or fz.fill_statistics(sp.identity(3, format="csc")) is None
    seen.clear()
    fh.ThetaScheme(system, 1e-3, 1.0)
    assert seen in ([fz.STEPPING_SOLVES], [])


def test_the_steady_solve_passes_its_iteration_count(solve_counts):
    """The augmented-Lagrangian steady solve factorizes K_r for AL_SOLVES solves (and
    its temperature recovery for one); it takes about that many iterations."""
    from femheat.solve.steady import AL_SOLVES

    fh.solve_steady(channel(10))
    if fz.fill_statistics(sp.identity(3, format="csc")) is not None:
        assert solve_counts == [AL_SOLVES, 1]
    assert 2 <= AL_SOLVES <= 10


def test_time_stepping_is_the_same_in_both_modes(monkeypatch):
    system = channel(12)
    final = {}
    for mode in ("supernodal", "simplicial"):
        monkeypatch.setenv(fz.CHOLMOD_MODE_ENV, mode)
        SYMBOLIC.clear()
        scheme = fh.ThetaScheme(system, 1e-3, 0.5, steps=20)
        assert scheme._solve.mode == mode
        *_, (t, state) = fh.theta_steps(system, 1e-3, 2e-2, theta=0.5)
        final[mode] = np.concatenate([state.flux, state.temperature])
    ref = final["supernodal"]
    assert np.linalg.norm(final["simplicial"] - ref) <= 1e-12 * np.linalg.norm(ref)


def _cube_gk(n: int = 3) -> fh.MixedSystem:
    import skfem

    from femheat.physics.conditions import NoSlip

    x = np.linspace(0.0, 1.0, n + 1)
    regions = fh.RegionMesh.from_skfem(skfem.MeshTet.init_tensor(x, x, x), boundaries={
        "left": lambda p: np.isclose(p[0], 0.0), "right": lambda p: np.isclose(p[0], 1.0),
        "walls": lambda p: ~(np.isclose(p[0], 0.0) | np.isclose(p[0], 1.0))})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 1e-2, nonlocal_length=0.2)},
        {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "walls": fh.Insulated()},
        walls={"walls": NoSlip()}, model="gk", viscous="penalty")  # an SPD flux block
    return fh.assemble(problem)


@pytest.mark.parametrize("share", [True, False])
def test_nested_dissection_gives_the_same_solution(share):
    """The 3D ordering (nested dissection, supernodal) against AMD on a 3D GK step
    operator: the same solution to 1e-12; the permutation is shared by pattern."""
    system = _cube_gk()
    free = system.free_dofs
    K = (system.inertia / 1e-3 + system.resistance).tocsr()[free][:, free]
    b = np.random.default_rng(2).standard_normal(free.size)
    amd = factorize(K, True, share_symbolic=share)(b)
    solve = factorize(K, True, share_symbolic=share, ordering="nesdis")
    assert solve.backend == "cholmod" and solve.mode == "supernodal"
    x = solve(b)
    assert np.linalg.norm(x - amd) <= 1e-12 * np.linalg.norm(amd)
    assert np.linalg.norm(K @ x - b) <= 1e-10 * np.linalg.norm(b)
    if share:
        assert any(key.startswith("nesdis|") for key in SYMBOLIC._store)


def test_time_loops_and_steady_solves_order_3d_meshes_by_nested_dissection(monkeypatch):
    calls = []
    real = fz.factorize

    def spy(*args, **kw):
        calls.append(kw.get("ordering", fz.CHOLMOD_ORDERING))
        return real(*args, **kw)

    import femheat.solve.steady as steady
    import femheat.solve.timestepping as timestepping
    monkeypatch.setattr(timestepping, "factorize", spy)
    monkeypatch.setattr(steady, "factorize", spy)
    cube, square = _cube_gk(), channel(8)
    fh.ThetaScheme(cube, 1e-3, 1.0)
    fh.solve_steady(cube)
    assert calls[:2] == ["nesdis", "nesdis"], calls
    calls.clear()
    fh.ThetaScheme(square, 1e-3, 1.0)
    fh.solve_steady(square)
    assert calls[:2] == ["amd", "amd"], calls
