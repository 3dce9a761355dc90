"""Shared symbolic (and repeated numeric) factorizations (femheat.solve.factorization).

Matrices with one sparsity pattern and new values -- the points of an R_K,
conductivity or frequency sweep -- reuse the first one's ordering and symbolic
analysis and give the same solutions to round-off as unshared factorizations; a
matrix met a third time with the same values reuses its kept factorization; a
serial R_K sweep reuses the pattern at every point after the first and its heat
flows equal the series formula and the unshared run's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from femheat.solve import factorization as fz
from femheat.solve.factorization import SYMBOLIC, factorize
from tests.conftest import LAYERED_TABLES, ROOT

BACKENDS = ["superlu"] + (["cholmod"] if fz._cholmod() is not None else [])


def laplacian(n: int, scale: np.ndarray | float = 1.0) -> sp.csc_matrix:
    """SPD 2D five-point Laplacian on n x n nodes, with a positive shift."""
    d = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    eye = sp.identity(n)
    K = sp.kron(d, eye) + sp.kron(eye, d) + 0.1 * sp.identity(n * n)
    D = sp.diags(np.broadcast_to(scale, (n * n,)))
    return sp.csc_matrix(D @ K @ D)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.delenv(fz.SYMBOLIC_CACHE_ENV, raising=False)
    SYMBOLIC.clear()
    yield
    SYMBOLIC.clear()


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_pattern_reuses_the_symbolic_factorization(backend):
    rng = np.random.default_rng(1)
    n = 40
    K1 = laplacian(n)
    K2 = laplacian(n, 1.0 + rng.random(n * n))  # same pattern, new values
    b = rng.standard_normal(n * n)
    first = factorize(K1, True, backend)
    second = factorize(K2, True, backend)
    assert first.backend == second.backend == backend
    assert not first.shared_symbolic and second.shared_symbolic
    assert SYMBOLIC.hits == 1 and SYMBOLIC.misses == 1
    unshared = factorize(K2, True, backend, share_symbolic=False)
    x, y = second(b), unshared(b)
    assert np.max(np.abs(x - y)) <= 1e-12 * np.max(np.abs(y))
    assert np.max(np.abs(K2 @ x - b)) <= 1e-10 * np.max(np.abs(b))
    other = factorize(laplacian(n + 1), True, backend)  # another pattern: no reuse
    assert not other.shared_symbolic


def test_superlu_first_factorization_equals_a_shared_one_bitwise():
    """SuperLU's first factorization of a pattern runs the arithmetic of the later ones
    that reuse its ordering, so a result does not depend on what the process factorized
    before (a run resumed in a warm process equals a fresh one, tests/test_run_safety.py,
    without CHOLMOD too). Real SPD and complex symmetric. Factorizing the first matrix
    with SuperLU's own MMD ordering differed from the shared path in the last bits."""
    rng = np.random.default_rng(2)
    K = laplacian(40, 1.0 + rng.random(1600))
    for A in (K, sp.csc_matrix(K + 3j * sp.identity(1600))):
        b = rng.standard_normal(1600) * (1 + 0.5j if A.dtype.kind == "c" else 1)
        cold = factorize(A, True, "superlu")
        warm = factorize(A, True, "superlu")
        assert not cold.shared_symbolic and warm.shared_symbolic
        assert np.array_equal(cold(b), warm(b))
        SYMBOLIC.clear()


def test_complex_symmetric_frequency_matrices_share_the_ordering():
    n = 30
    K = laplacian(n)
    b = np.ones(n * n, dtype=complex)
    for omega in (1.0, 10.0, 100.0):
        A = sp.csc_matrix(K + 1j * omega * sp.identity(n * n))
        solve = factorize(A, True)
        assert solve.shared_symbolic == (omega != 1.0)
        x = solve(b)
        assert np.max(np.abs(A @ x - b)) <= 1e-10


def test_a_repeated_matrix_is_factorized_twice_then_kept():
    K = laplacian(20)
    b = np.arange(400.0)
    solves = [factorize(K, True) for _ in range(4)]
    assert solves[0] is not solves[1]  # met once: not kept
    assert solves[2] is solves[1] and solves[3] is solves[1]
    assert SYMBOLIC.numeric_hits == 2
    assert np.allclose(solves[3](b), solves[0](b), rtol=1e-13, atol=0)
    other = factorize(laplacian(20, 2.0), True)  # same pattern, new values: new factor
    assert other is not solves[1] and other.shared_symbolic


def test_the_cache_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(fz.SYMBOLIC_CACHE_ENV, "0")
    K = laplacian(10)
    assert not any(factorize(K, True).shared_symbolic for _ in range(3))
    assert len(SYMBOLIC) == 0 and SYMBOLIC.numeric_hits == 0


def test_serial_r_k_sweep_shares_the_pattern_and_matches_the_unshared_run(tmp_path, monkeypatch):
    """Each point after the first reuses the flux operator's pattern and the temperature
    block's factorization; the heat flows equal ΔT H/(L1/κ1 + R + L2/κ2 + L3/κ3) and the
    unshared sweep's to 1e-12."""
    from femheat.pipeline.sweep import run_sweep

    case = tmp_path / "layers.toml"
    case.write_text(f'[mesh]\nfile = "{ROOT / "meshes" / "layered_2d.msh"}"\n{LAYERED_TABLES}'
                    "[interfaces.interface_1]\nkapitza_resistance = 1e-8\n"
                    "[output]\npng = false\nvtu = false\n")
    values = [1e-9, 1e-8, 1e-7, 1e-6]
    key = "interfaces.interface_1.kapitza_resistance"
    shared = run_sweep(case, {key: values}, tmp_path / "on", serial=True)
    assert SYMBOLIC.hits >= len(values) - 1
    assert SYMBOLIC.numeric_hits >= len(values) - 2
    monkeypatch.setenv(fz.SYMBOLIC_CACHE_ENV, "0")
    plain = run_sweep(case, {key: values}, tmp_path / "off", serial=True)
    for r, a, b in zip(values, shared.rows, plain.rows):
        expected = 1.0 * 1e-6 / (1e-6 / 1.0 + r + 2e-6 / 2.0 + 1e-6 / 1.0)
        assert math.isclose(a["heat_flow.right"], expected, rel_tol=1e-9)
        assert a["heat_flow.right"] == pytest.approx(b["heat_flow.right"], rel=1e-12)
        assert a["interfaces.interface_1.mean_jump"] == pytest.approx(
            b["interfaces.interface_1.mean_jump"], rel=1e-12)


def test_the_cached_permutation_gathers_the_permuted_matrix():
    """_Permutation.apply(K) is K[p][:, p] (CSC, sorted, same index dtype) for every
    matrix with the first one's pattern; a non-repeating factorization keeps nothing."""
    rng = np.random.default_rng(4)
    n = 15
    K1 = laplacian(n)
    K1.sort_indices()
    p = rng.permutation(n * n)
    perm = fz._Permutation(K1, p)
    K2 = sp.csc_matrix(K1 + 1j * sp.diags(rng.random(n * n)) @ abs(K1))
    K2 = sp.csc_matrix((K2.data, K2.indices, K2.indptr), shape=K2.shape)
    assert K2.nnz == K1.nnz and np.array_equal(K2.indices, K1.indices)
    got, ref = perm.apply(K2), sp.csc_matrix(K2[p][:, p])
    ref.sort_indices()
    assert got.has_sorted_indices and got.indices.dtype == ref.indices.dtype
    assert np.array_equal(got.indptr, ref.indptr) and np.array_equal(got.indices, ref.indices)
    assert np.array_equal(got.data, ref.data)
    for _ in range(3):
        factorize(K2, True, repeats=False)
    assert len(SYMBOLIC._numeric) == 0


@pytest.mark.skipif(fz._cholmod() is None, reason="CHOLMOD not installed")
def test_complex_symmetric_orderings_give_the_same_solution():
    """SuperLU's symmetric mode on CHOLMOD's AMD ordering (the default where CHOLMOD is
    the backend; nested dissection for 3D meshes) and on its own MMD ordering solve a
    complex symmetric system alike."""
    n = 30
    A = sp.csc_matrix(laplacian(n) + 0.3j * sp.identity(n * n))
    b = np.linspace(1, 2, n * n) + 0j
    x = factorize(A, True, "cholmod")(b)
    y = factorize(A, True, "superlu")(b)
    assert np.max(np.abs(x - y)) <= 1e-12 * np.max(np.abs(y))
    assert any(k.startswith("superlu-sym|cholmod-amd|") for k in SYMBOLIC._store)
    z = factorize(A, True, "cholmod", ordering="nesdis")(b)  # a 3D mesh's ordering
    assert np.max(np.abs(z - y)) <= 1e-12 * np.max(np.abs(y))
    assert any(k.startswith("superlu-sym|cholmod-nesdis|") for k in SYMBOLIC._store)
