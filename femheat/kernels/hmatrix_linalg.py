"""Small dense linear algebra of the H-matrix, kept on the calling thread.

Tall-skinny BLAS products (recompression, far-field products) are issued in
slices small enough for OpenBLAS to run them serially (:func:`_sliced_bmm`,
:func:`_serial_matmul`, :func:`_serial_gram`); the thin QR of stacked ACA factors
is a Cholesky QR with a Householder fallback (:func:`_implicit_qr`); and
:func:`_release_freed_memory` returns freed heap memory to the OS after a build.
Used by :mod:`femheat.kernels.hmatrix` and :mod:`femheat.kernels.hmatrix_build`.
"""

from __future__ import annotations

import ctypes

import numpy as np
from numpy.typing import NDArray

__all__: list[str] = []

_BLAS_SERIAL = 200_000   # m*n*k of one BLAS gemm below which OpenBLAS stays single-threaded
_BLAS_SERIAL_GEMV = 8192  # m*n of one BLAS gemv below which OpenBLAS stays single-threaded


def _sliced_bmm(a: NDArray, b: NDArray, r: int, contract: bool) -> NDArray:
    """Stacked product ``a @ b`` of a thin operand with a long factor, in slices of
    the long dimension, so that every BLAS call stays on the calling thread.

    ``contract=True``: ``a`` (B, k, L) @ ``b`` (B, L, r) summed over slices of L;
    ``contract=False``: ``a`` (B, k, r) @ ``b`` (B, r, L) computed in slices of L.
    OpenBLAS threads gemv/gemm calls above a size threshold; on the thin
    products of an H-matrix that costs more than it gains, and when other
    processes load the cores a threaded call can take 100 times longer.
    """
    L = b.shape[1] if contract else b.shape[2]
    step = max(64, _BLAS_SERIAL_GEMV // max(r * a.shape[1], 1))
    if L <= step:
        return a @ b
    if contract:
        out = a[:, :, :step] @ b[:, :step]
        for s0 in range(step, L, step):
            out += a[:, :, s0:s0 + step] @ b[:, s0:s0 + step]
        return out
    out = np.empty(a.shape[:2] + (L,), dtype=np.result_type(a, b))
    for s0 in range(0, L, step):
        np.matmul(a, b[:, :, s0:s0 + step], out=out[:, :, s0:s0 + step])
    return out


def _serial_matmul(X: NDArray[np.float64], C: NDArray[np.float64]) -> NDArray[np.float64]:
    """Stacked ``X @ C`` for tall ``X`` (B, m, k), ``C`` (B, k, q), in row slices.

    Each BLAS call gets at most ~``_BLAS_SERIAL`` multiply-adds, so OpenBLAS runs
    it on the calling thread: its threaded kernels on tall-skinny products are
    slower than serial ones, dramatically so when other processes load the cores.
    """
    B, m, k = X.shape
    q = C.shape[2]
    budget = _BLAS_SERIAL_GEMV if min(k, q) == 1 else _BLAS_SERIAL
    rows = max(32, budget // max(k * q, 1))
    if m <= rows:
        return X @ C
    out = np.empty((B, m, q))
    for a in range(0, m, rows):
        np.matmul(X[:, a:a + rows], C, out=out[:, a:a + rows])
    return out


def _serial_gram(X: NDArray[np.float64]) -> NDArray[np.float64]:
    """Stacked ``X^T X`` for tall ``X`` (B, m, k), summed over row slices (see :func:`_serial_matmul`)."""
    B, m, k = X.shape
    rows = max(32, (_BLAS_SERIAL_GEMV if k == 1 else _BLAS_SERIAL) // max(k * k, 1))
    G = np.zeros((B, k, k))
    for a in range(0, m, rows):
        Xa = X[:, a:a + rows]
        G += Xa.transpose(0, 2, 1) @ Xa
    return G


def _implicit_qr(X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Triangular factor of the thin QR ``X[b] = Q[b] R[b]`` without forming ``Q``.

    ``X`` (B, m, k), m >= k. Columns are scaled to unit norm (``X = X_s D``;
    ACA factors have geometrically decaying column norms), ``X_s^T X_s = L L^T``
    (Cholesky QR), so ``R = L^T D`` and ``Q = X R^+`` with ``R^+ = D^+ L^{-T}``.
    Returns ``(R, R^+)``; zero columns give zero rows of ``R`` and ``R^+``.
    One Cholesky pass leaves ``Q`` orthonormal to about ``eps cond(L)^2``;
    blocks where the bound ``eps (||L||_F ||L^{-1}||_F)^2`` exceeds 1e-6 (or
    whose Gram matrix is not numerically positive definite) are redone by
    Householder QR. Orthonormality to 1e-6 is all the SVD truncation needs:
    its error is multiplied by ``||Q_U||_2 ||Q_V||_2``.
    """
    B, m, k = X.shape
    nrm = np.sqrt(np.einsum("bmk,bmk->bk", X, X))
    live = nrm > 0
    dinv = np.where(live, 1.0 / np.where(live, nrm, 1.0), 0.0)
    G = _serial_gram(X) * dinv[:, :, None] * dinv[:, None, :]              # dead rows/columns: 0
    G[:, np.arange(k), np.arange(k)] = 1.0                                  # unit diagonal (dead: identity)
    eps = np.finfo(np.float64).eps
    try:
        L = np.linalg.cholesky(G)
        Linv = _tril_inv(L)
        kappa = np.sqrt(np.einsum("bij,bij->b", L, L) * np.einsum("bij,bij->b", Linv, Linv))
        bad = ~np.isfinite(kappa) | (eps * kappa ** 2 > 1e-6)
    except np.linalg.LinAlgError:
        L = np.zeros_like(G)
        Linv = np.zeros_like(G)
        bad = np.ones(B, dtype=bool)
    R = L.transpose(0, 2, 1) * nrm[:, None, :]
    Rp = dinv[:, :, None] * Linv.transpose(0, 2, 1)
    if np.any(bad):
        idx = np.flatnonzero(bad)
        Rb = np.linalg.qr(X[idx], mode="r")
        R[idx] = Rb
        Rp[idx] = np.linalg.pinv(Rb, rcond=1e-14)
    return R, Rp


def _tril_inv(L: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverses of stacked lower-triangular (B, k, k) matrices by forward substitution.

    k vectorized steps over the batch; much cheaper than per-matrix LAPACK calls
    for the small k (<= a few dozen) of ACA factors.
    """
    B, k, _ = L.shape
    d = 1.0 / L[:, np.arange(k), np.arange(k)]                             # (B, k)
    Li = np.zeros_like(L)
    for i in range(k):
        row = -(L[:, i, :i, None] * Li[:, :i, :]).sum(axis=1) if i else np.zeros((B, k))
        row[:, i] += 1.0
        Li[:, i, :] = row * d[:, i, None]
    return Li


def _release_freed_memory() -> None:
    """Hand memory freed by the build back to the OS (glibc ``malloc_trim``; no-op elsewhere).

    The ACA batches leave thousands of freed medium-sized arrays in the heap;
    glibc keeps such memory, so without this the resident size after a build
    exceeds the H-matrix's own storage by a third (measured at n = 2e5).
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc
        pass
