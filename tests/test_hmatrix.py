"""Hierarchical matrix (femheat.kernels.hmatrix): accuracy against the dense matrix,
O(n log n) storage, symmetric/non-symmetric agreement, and bad input."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from femheat.errors import FemheatInputError

hm = importlib.import_module("femheat.kernels.hmatrix")
HMatrix = hm.HMatrix


def radial(points: np.ndarray, profile, self_value: float):
    """Block and pair entry functions of A_ij = profile(|x_i - x_j|), A_ii = self_value."""
    cols = [np.ascontiguousarray(points[:, a]) for a in range(points.shape[1])]

    def pairs(i, j):
        r2 = sum((c[i] - c[j]) ** 2 for c in cols)
        with np.errstate(divide="ignore"):
            vals = profile(np.sqrt(r2))
        return np.where(i == j, self_value, vals)

    def block(i, j):
        ii, jj = np.meshgrid(i, j, indexing="ij")
        return pairs(ii.ravel(), jj.ravel()).reshape(len(i), len(j))

    return block, pairs


def log_kernel(r):
    return -np.log(r)


def smooth_power(r, p=1.5, c=0.01):
    return (r ** 2 + c ** 2) ** (-p / 2)


def inverse_distance(r):
    return 1.0 / r


def points_2d(n, seed=0):
    return np.random.default_rng(seed).random((n, 2))


def points_3d(n, seed=1):
    return np.random.default_rng(seed).random((n, 3))


CASES = {
    "2d-log": (points_2d, log_kernel, 6.0),
    "2d-power": (points_2d, smooth_power, 1.0 / 0.01 ** 1.5),
    "3d-1/r": (points_3d, inverse_distance, 60.0),
}


@pytest.fixture(scope="module")
def dense_cases():
    """Points, entry functions and the dense matrix of each kernel (n = 3000)."""
    out = {}
    for name, (make, profile, self_value) in CASES.items():
        x = make(3000)
        block, pairs = radial(x, profile, self_value)
        idx = np.arange(len(x))
        out[name] = (x, block, pairs, block(idx, idx))
    return out


def rel_error(H, A, rng, k=3):
    X = rng.standard_normal((A.shape[0], k))
    return np.linalg.norm(H.matvec(X) - A @ X) / np.linalg.norm(A @ X)


@pytest.mark.parametrize("tol", [1e-4, 1e-6, 1e-8])
@pytest.mark.parametrize("case", list(CASES))
def test_matvec_error_within_tol(dense_cases, case, tol):
    x, block, pairs, A = dense_cases[case]
    H = HMatrix(x, block, tol=tol, pair_entries=pairs)
    err = rel_error(H, A, np.random.default_rng(3))
    s = H.stats()
    assert s["far_blocks"] > 50 and s["compression"] < (0.7 if case.startswith("3d") else 0.35), s
    assert err <= tol, f"{case}: ||Hx - Ax|| / ||Ax|| = {err:.3e} > tol = {tol:g}"
    # the guarantee is on the Frobenius norm of the whole matrix
    fro = np.linalg.norm(H.todense() - A) / np.linalg.norm(A) if tol == 1e-6 else 0.0
    assert fro <= tol, f"{case}: ||H - A||_F / ||A||_F = {fro:.3e} > tol = {tol:g}"


def test_error_decreases_with_tol(dense_cases):
    x, block, pairs, A = dense_cases["2d-power"]
    errs = [rel_error(HMatrix(x, block, tol=t, pair_entries=pairs), A, np.random.default_rng(0))
            for t in (1e-3, 1e-5, 1e-7)]
    assert errs[0] > 10 * errs[1] > 100 * errs[2], errs


def test_block_only_entries_match_pair_entries(dense_cases):
    """Without pair_entries the ACA calls entries block by block: same result."""
    x, block, pairs, A = dense_cases["2d-power"]
    x, A = x[:1500], A[:1500, :1500]
    Hb = HMatrix(x, block, tol=1e-6)
    Hp = HMatrix(x, block, tol=1e-6, pair_entries=pairs)
    v = np.random.default_rng(1).standard_normal(len(x))
    assert np.allclose(Hb.matvec(v), Hp.matvec(v), rtol=0, atol=1e-12 * np.abs(A @ v).max())
    assert Hb.stats()["rank_mean"] == Hp.stats()["rank_mean"]


def test_symmetric_and_full_modes_agree(dense_cases):
    x, block, pairs, A = dense_cases["3d-1/r"]
    Hs = HMatrix(x, block, tol=1e-6, pair_entries=pairs, symmetric=True)
    Hn = HMatrix(x, block, tol=1e-6, pair_entries=pairs, symmetric=False)
    v = np.random.default_rng(2).standard_normal(len(x))
    ys, yn = Hs.matvec(v), Hn.matvec(v)
    assert np.linalg.norm(ys - yn) <= 1e-6 * np.linalg.norm(A @ v)
    # symmetric mode builds only the upper block triangle: about half the blocks and bytes
    ss, sn = Hs.stats(), Hn.stats()
    assert ss["far_blocks"] < 0.55 * sn["far_blocks"]
    assert ss["nbytes"] < 0.6 * sn["nbytes"]
    assert np.linalg.norm(Hs.rmatvec(v) - ys) == 0.0


def test_nonsymmetric_matrix_and_transpose(dense_cases):
    """A_ij = w_j g(|x_i - x_j|) is not symmetric: matvec and rmatvec against A and A^T."""
    x, block, pairs, A = dense_cases["2d-power"]
    w = 1.0 + np.random.default_rng(4).random(len(x))
    H = HMatrix(x, lambda i, j: block(i, j) * w[j], tol=1e-6, symmetric=False,
                pair_entries=lambda i, j: pairs(i, j) * w[j])
    Aw = A * w
    v = np.random.default_rng(5).standard_normal(len(x))
    assert np.linalg.norm(H.matvec(v) - Aw @ v) <= 1e-6 * np.linalg.norm(Aw @ v)
    assert np.linalg.norm(H.rmatvec(v) - Aw.T @ v) <= 1e-6 * np.linalg.norm(Aw.T @ v)
    op = H.aslinearoperator()
    assert op.shape == (len(x), len(x))
    assert np.allclose(op @ v, H.matvec(v)) and np.allclose(op.T @ v, H.rmatvec(v))


def test_single_precision_storage():
    """float32 storage halves the bytes and adds an error of order 1e-7, not more."""
    x = points_2d(3000, seed=8)
    block, pairs = radial(x, smooth_power, 1.0 / 0.01 ** 1.5)
    idx = np.arange(len(x))
    A = block(idx, idx)
    Hs = HMatrix(x, block, tol=1e-6, pair_entries=pairs, precision="single")
    Hd = HMatrix(x, block, tol=1e-6, pair_entries=pairs, precision="double")
    assert HMatrix(x, block, tol=1e-4, pair_entries=pairs).precision == "single"
    assert HMatrix(x, block, tol=1e-6, pair_entries=pairs).precision == "double"
    assert 0.45 < Hs.nbytes / Hd.nbytes < 0.6
    es, ed = rel_error(Hs, A, np.random.default_rng(9)), rel_error(Hd, A, np.random.default_rng(9))
    assert ed < es < 5e-7, (es, ed)
    assert Hs.matvec(np.ones(len(x))).dtype == np.float64


@pytest.mark.parametrize("symmetric", [True, False])
def test_threaded_product_equals_serial(dense_cases, monkeypatch, symmetric):
    """Large problems overlap near and far fields on two threads: same result, (n, k) too."""
    x, block, pairs, A = dense_cases["2d-log"]
    H = HMatrix(x, block, tol=1e-6, pair_entries=pairs, symmetric=symmetric, precision="double")
    X = np.random.default_rng(6).standard_normal((len(x), 3))
    serial = H.matvec(X), H.rmatvec(X)
    monkeypatch.setattr(hm, "_THREADED_APPLY_N", 0)
    threaded = H.matvec(X), H.rmatvec(X)
    assert np.allclose(serial[0], threaded[0], rtol=1e-14, atol=0)
    assert np.allclose(serial[1], threaded[1], rtol=1e-14, atol=0)
    assert np.linalg.norm(threaded[0] - A @ X) <= 1e-6 * np.linalg.norm(A @ X)


def test_build_threads_do_not_change_the_result(dense_cases):
    x, block, pairs, A = dense_cases["3d-1/r"]
    v = np.random.default_rng(10).standard_normal(len(x))
    y1 = HMatrix(x, block, tol=1e-6, pair_entries=pairs, threads=1).matvec(v)
    y2 = HMatrix(x, block, tol=1e-6, pair_entries=pairs, threads=2).matvec(v)
    assert np.array_equal(y1, y2)


def test_storage_grows_like_n_log_n():
    """Bytes per point grow by less than 1.5x from n to 4n (dense would grow 4x)."""
    per_point = []
    for n in (4000, 16000):
        x = points_2d(n, seed=7)
        block, pairs = radial(x, smooth_power, 1.0 / 0.01 ** 1.5)
        H = HMatrix(x, block, tol=1e-6, pair_entries=pairs)
        per_point.append(H.nbytes / n)
    growth = per_point[1] / per_point[0]
    assert 1.0 < growth < 1.5, f"bytes per point {per_point}: growth {growth:.2f} from n to 4n"


def test_radii_pad_the_cluster_boxes():
    """Cells as large as the domain make every block inadmissible: H is the exact matrix."""
    x = points_2d(600)
    block, pairs = radial(x, smooth_power, 1.0 / 0.01 ** 1.5)
    idx = np.arange(len(x))
    A = block(idx, idx)
    H = HMatrix(x, block, tol=1e-3, radii=np.full(len(x), 2.0), pair_entries=pairs, leaf_size=32,
                precision="double")
    assert H.stats()["far_blocks"] == 0
    assert np.allclose(H.todense(), A, rtol=1e-14, atol=0)
    H0 = HMatrix(x, block, tol=1e-3, pair_entries=pairs, leaf_size=32)
    assert H0.stats()["far_blocks"] > 0


def test_small_problem_is_one_dense_block_and_matvec_shapes():
    x = points_2d(50)
    block, _ = radial(x, log_kernel, 6.0)
    H = HMatrix(x, block, precision="double")
    A = block(np.arange(50), np.arange(50))
    assert H.stats()["depth"] == 0 and H.stats()["far_blocks"] == 0
    X = np.random.default_rng(0).standard_normal((50, 4))
    assert np.allclose(H.matvec(X), A @ X, rtol=1e-13)
    assert np.allclose(H @ X[:, 0], A @ X[:, 0], rtol=1e-13)
    with pytest.raises(FemheatInputError, match=r"x must have shape \(50,\)"):
        H.matvec(np.ones(49))


def test_matrix_without_low_rank_structure_warns_and_stays_exact():
    """Symmetric noise has full-rank far blocks: ACA runs to the rank cap, says so, and the
    full-rank cross approximation still reproduces the blocks."""
    n = 700
    rng = np.random.default_rng(11)
    A = rng.standard_normal((n, n))
    A = A + A.T
    x = points_2d(n)
    with pytest.warns(RuntimeWarning, match=r"ACA reached the rank cap .* far block"):
        H = HMatrix(x, lambda i, j: A[np.ix_(i, j)], tol=1e-6, leaf_size=32, precision="double")
    assert H.stats()["unconverged"] > 0
    assert np.linalg.norm(H.todense() - A) <= 1e-8 * np.linalg.norm(A)


@pytest.mark.parametrize("kwargs, match", [
    (dict(tol=0.0), r"tol must be .* got 0\.0"),
    (dict(tol=-1e-6), r"tol must be"),
    (dict(tol=float("nan")), r"tol must be"),
    (dict(tol=1.5), r"tol must be"),
    (dict(radii=np.ones(99)), r"radii must have shape \(100,\).*\(99,\)"),
    (dict(radii=-np.ones(100)), r"radii must be finite and >= 0"),
    (dict(leaf_size=1), r"leaf_size must be an integer >= 2"),
    (dict(eta=0.0), r"eta must be"),
    (dict(pair_entries="abc"), r"pair_entries must be callable"),
    (dict(precision="half"), r"precision must be 'auto', 'single' or 'double', got 'half'"),
    (dict(threads=0), r"threads must be an integer >= 1, got 0"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    x = points_2d(100)
    block, _ = radial(x, log_kernel, 6.0)
    with pytest.raises(FemheatInputError, match=match):
        HMatrix(x, block, **kwargs)


def test_bad_points_and_entries():
    x = points_2d(100)
    block, _ = radial(x, log_kernel, 6.0)
    bad = x.copy()
    bad[17, 1] = np.nan
    with pytest.raises(FemheatInputError, match=r"points contains NaN.*row 17"):
        HMatrix(bad, block)
    with pytest.raises(FemheatInputError, match=r"points must have shape \(n, d\)"):
        HMatrix(np.zeros((10, 4)), block)
    with pytest.raises(FemheatInputError, match=r"entries must be callable"):
        HMatrix(x, None)
    with pytest.raises(FemheatInputError, match=r"entries\(rows, cols\) must return .* shape"):
        HMatrix(x, lambda i, j: np.zeros(len(i)), leaf_size=16)
    with pytest.raises(ValueError):  # FemheatInputError is a ValueError
        HMatrix(x, block, tol=0)
