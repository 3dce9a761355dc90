r"""Hierarchical matrix (H-matrix) for dense kernel matrices, built by ACA.

A kernel matrix :math:`A_{ij} = \int_{K_i}\int_{K_j} Z(x - y)\,dx\,dy` over mesh
cells is dense, but its blocks that couple well-separated groups of cells are
numerically low rank when the kernel is smooth away from the origin
(asymptotically smooth kernels: :math:`\log r`, :math:`r^{-p}`, Yukawa, ...).
:class:`HMatrix` stores

* the *near field* (blocks between neighbouring leaf clusters) exactly, as
  sparse CSR matrices, and
* the *far field* (admissible blocks) as low-rank products :math:`U V^T`,
  compressed by adaptive cross approximation (ACA) with partial pivoting and
  recompressed by QR + SVD truncation,

so that storage, build and matrix-vector product cost :math:`O(k\,n \log n)`
for rank :math:`k` instead of :math:`O(n^2)`.

Algorithm
---------
1. **Cluster tree.** The points (cell centroids) are split recursively at the
   median of the longest bounding-box axis into a balanced binary tree of
   uniform depth :math:`L = \lceil \log_2(n/\text{leaf\_size}) \rceil`; all
   clusters of one level hold :math:`\lfloor n/2^l \rfloor` or
   :math:`\lceil n/2^l \rceil` points, so the blocks of a level come in at most
   four shapes and are processed together. Cluster boxes are padded by the cell
   ``radii``, so that a box contains its cells, not only their centroids.
2. **Block tree.** A block :math:`\tau \times \sigma` is admissible when
   :math:`\min(\operatorname{diam}\tau, \operatorname{diam}\sigma) \le
   \eta\,\operatorname{dist}(\tau, \sigma)` (box diameters and distance);
   admissible blocks become far blocks, inadmissible leaf blocks near blocks,
   the others are subdivided. In symmetric mode only blocks with
   :math:`\tau \le \sigma` are built; the lower triangle is applied as the
   transpose, which halves build time and storage.
3. **Near field.** Near blocks are evaluated with ``entries`` (one call per
   leaf row cluster, all its near column clusters concatenated) and stored in
   CSR matrices in tree order.
4. **Far field.** All admissible blocks of one shape are compressed together by
   a *batched* ACA with partial pivoting: each iteration evaluates one residual
   row and one residual column of every unconverged block (one ``pair_entries``
   call for all blocks when it is given), and stops a block when
   :math:`\|u_k\|\|v_k\| \le \epsilon\,\|S_k\|_F` (:math:`S_k` the current
   approximation, its Frobenius norm updated exactly). The factors are then
   recompressed: :math:`U = Q_U R_U`, :math:`V = Q_V R_V`, SVD of
   :math:`R_U R_V^T`, truncated to the smallest rank whose discarded singular
   values have relative Frobenius norm below the target.
5. **Matrix-vector product.** The near field is one or two sparse products;
   the far blocks are stored grouped by (rows, columns, rank) as stacked 3D
   arrays, so a product is two batched ``matmul`` calls per group and a
   segmented sum, a few hundred large calls in all, independent of the number
   of blocks. From n = 20 000 on, the near field runs on a second thread
   (scipy's sparse products release the GIL) while the far field is applied.

The build distributes near-field row clusters and ACA batches over ``threads``
workers (default 2); numpy releases the GIL in the array work, so this pays
when the entries are expensive (cell-pair quadrature).

Tall-skinny BLAS products (recompression, far-field products) are issued in
slices small enough for OpenBLAS to run them on the calling thread: its
threaded kernels gain nothing on such shapes and, when other processes load
the cores, a threaded call can take a hundred times longer.

Accuracy
--------
``tol`` is the relative Frobenius error allowed *in every admissible block*:
:math:`\|A_b - U_b V_b^T\|_F \le \mathrm{tol}\,\|A_b\|_F` (ACA runs to
``0.3 tol`` by its a-posteriori estimate, the SVD truncation to ``0.7 tol``).
Near blocks are exact, hence :math:`\|A - H\|_F \le \mathrm{tol}\,\|A\|_F`
globally, and in practice :math:`\|Hx - Ax\| / \|Ax\| \lesssim \mathrm{tol}`
for the kernels above (usually well below: the criterion is blockwise, and far
blocks carry a small part of the norm). Single-precision storage (the default
for ``tol >= 1e-4``) adds a relative error of order 1e-7. ACA's estimate is
heuristic: a block whose rank reaches the cap (256, or its size) is kept and
reported in :meth:`HMatrix.stats` and by a warning.

Complexity
----------
Build :math:`O(k^2 n \log n)` flops and :math:`O(k\,n \log n)` kernel
evaluations, storage :math:`O(k\,n\log n + \text{leaf\_size}\cdot n)`,
product :math:`O(k\,n \log n)`.

Modules: the build (cluster tree, block tree, near field, ACA) is in
:mod:`femheat.kernels.hmatrix_build`, the serial BLAS slices and thin QR in
:mod:`femheat.kernels.hmatrix_linalg`; this module holds :class:`HMatrix` (storage,
products, statistics) and re-exports :class:`ClusterTree`.
"""

from __future__ import annotations

import logging
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from ..errors import FemheatInputError
from .hmatrix_build import _MAX_RANK, ClusterTree, _FarGroup, _HMatrixBuild
from .hmatrix_linalg import _release_freed_memory, _sliced_bmm

__all__ = ["ClusterTree", "HMatrix"]

logger = logging.getLogger(__name__)

#: Signature of ``entries``: ``(rows, cols) -> A[rows][:, cols]``, shape ``(len(rows), len(cols))``.
BlockEntries = Callable[[NDArray[np.intp], NDArray[np.intp]], ArrayLike]
#: Signature of ``pair_entries``: ``(rows, cols) -> A[rows, cols]``, shape ``(len(rows),)``.
PairEntries = Callable[[NDArray[np.intp], NDArray[np.intp]], ArrayLike]

_SINGLE_TOL = 1e-4       # precision="auto" stores in float32 for tol >= this (see HMatrix docstring)
_THREADED_APPLY_N = 20_000   # from this n on, products overlap the near and far fields on 2 threads


class HMatrix(_HMatrixBuild):
    r"""Hierarchical-matrix approximation of a dense kernel matrix.

    Parameters
    ----------
    points : (n, d) array_like
        Cluster coordinates [m], one per row/column of the matrix (cell
        centroids for a cell-pair matrix).
    entries : callable
        ``entries(rows, cols)`` returns the exact block ``A[rows][:, cols]``
        as an array of shape ``(len(rows), len(cols))``; ``rows``, ``cols``
        are integer index arrays (any length).
    tol : float
        Relative Frobenius accuracy of every compressed block,
        :math:`\|A_b - H_b\|_F \le \mathrm{tol}\,\|A_b\|_F`, hence
        :math:`\|A - H\|_F \le \mathrm{tol}\,\|A\|_F`; in ``(0, 1)``.
    radii : (n,) array_like, optional
        Half-extent of each cell [m] (e.g. circumradius); cluster boxes are
        padded by it so that admissibility accounts for the cells' extent.
        Default: zero (points).
    leaf_size : int
        Largest cluster stored in dense near blocks (>= 2).
    eta : float
        Admissibility parameter (> 0): a block is compressed when
        ``min(diam(tau), diam(sigma)) <= eta * dist(tau, sigma)``. Larger
        ``eta`` admits closer blocks (less near field, higher ranks).
    symmetric : bool
        Assume ``A`` symmetric: ``entries`` is evaluated on the upper block
        triangle only (diagonal leaf blocks in full), whose transpose is
        applied for the lower one; ``rmatvec`` equals ``matvec``.
    pair_entries : callable, optional
        ``pair_entries(rows, cols)`` returns the entries ``A[rows[i], cols[i]]``
        of equal-length index arrays, shape ``(len(rows),)``. When given, the
        batched ACA evaluates the pivot rows/columns of all blocks of a batch
        in one call (much faster builds); otherwise ``entries`` is called once
        per block and pivot.
    precision : {"auto", "single", "double"}
        Storage and product precision of the near entries and far factors.
        ``"single"`` (float32, unit roundoff 6e-8) halves memory and product
        time and adds a relative error of order 1e-7 to ``H x``; ``"auto"``
        uses it for ``tol >= 1e-4`` only, because that rounding error is
        rough (cell to cell) and a difference operator applied afterwards
        amplifies it: for the nonlocal form ``G^T W G T`` with smooth ``T`` on
        20 000 triangles it became 1.4e-6 (float64 at ``tol=1e-6``: 1.2e-8).
        The build always runs in float64; products return float64.
    threads : int
        Worker threads of the build (>= 1): near-field row clusters and ACA
        batches are distributed over them, which pays when the entries are
        expensive (cell-pair quadrature: about 1.5x on 2 cores) and is neutral
        for cheap ones. With more than one,
        ``entries``/``pair_entries`` are called from several threads at once
        and must be thread-safe (pure numpy functions are). The result does
        not depend on it.

    Attributes
    ----------
    shape : tuple of int
        ``(n, n)``.
    nbytes : int
        Storage of the near and far fields and the index arrays [bytes].
    tree : ClusterTree
        The cluster tree.

    Raises
    ------
    FemheatInputError
        Non-finite or ill-shaped ``points``/``radii``, ``tol`` outside (0, 1),
        ``leaf_size`` < 2, ``eta`` <= 0, unknown ``precision``, ``threads`` < 1, non-callable
        or ill-shaped ``entries``/``pair_entries``.

    Notes
    -----
    Build cost :math:`O(k^2 n\log n)`, storage and product :math:`O(k\,n\log n)`
    for block rank :math:`k` (:math:`k` grows like :math:`|\log \mathrm{tol}|^{d}`).
    Build statistics are logged (``logging`` INFO) and returned by :meth:`stats`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((2000, 2))
    >>> def entries(i, j):
    ...     r = np.linalg.norm(x[i][:, None] - x[j][None], axis=-1)
    ...     return 1.0 / np.sqrt(r**2 + 1e-2)
    >>> H = HMatrix(x, entries, tol=1e-6)
    >>> y = H.matvec(np.ones(2000))
    """

    def __init__(self, points: ArrayLike, entries: BlockEntries, *, tol: float = 1e-6,
                 radii: ArrayLike | None = None, leaf_size: int = 64, eta: float = 2.0,
                 symmetric: bool = True, pair_entries: PairEntries | None = None,
                 precision: str = "auto", threads: int = 2):
        pts, rad = _validate(points, entries, tol, radii, leaf_size, eta, pair_entries)
        if precision not in ("auto", "single", "double"):
            raise FemheatInputError(f"precision must be 'auto', 'single' or 'double', got {precision!r}")
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
            raise FemheatInputError(f"threads must be an integer >= 1, got {threads!r}")
        self.threads = int(threads)
        if precision == "auto":
            precision = "single" if tol >= _SINGLE_TOL else "double"
        self.precision = precision
        self._store = np.dtype(np.float32 if precision == "single" else np.float64)
        self.n = pts.shape[0]
        self.shape = (self.n, self.n)
        self.dtype = np.dtype(np.float64)
        self.tol = float(tol)
        self.eta = float(eta)
        self.leaf_size = int(leaf_size)
        self.symmetric = bool(symmetric)
        self._entries = entries
        self._pairs = pair_entries
        self._unconverged = 0
        self._aca_rank_sum = 0
        self._pool: ThreadPoolExecutor | None = None

        t0 = time.perf_counter()
        self.tree = ClusterTree(pts, rad, self.leaf_size)
        self.perm = self.tree.perm
        near, far = self._block_tree()
        t1 = time.perf_counter()
        # far field first: its transient working memory then does not add to the near field
        self._far: list[_FarGroup] = self._build_far(far)
        _release_freed_memory()
        t2 = time.perf_counter()
        self._near_diag, self._near_off = self._build_near(near)
        _release_freed_memory()
        t3 = time.perf_counter()
        self._times = {"tree": t1 - t0, "far": t2 - t1, "near": t3 - t2, "total": t3 - t0}
        self._nnear = len(near[0])
        self._nfar = sum(len(t) for t, _ in far.values())
        if self._unconverged:
            warnings.warn(f"HMatrix: ACA reached the rank cap ({_MAX_RANK}) in {self._unconverged} "
                          f"far block(s) before tol={self.tol:g}; their accuracy is not guaranteed "
                          "(increase leaf_size or decrease eta)", RuntimeWarning, stacklevel=2)
        s = self.stats()
        logger.info("HMatrix n=%d: %d near / %d far blocks, ranks %s..%s (mean %.1f), %.1f MB "
                    "(%.3g of dense), build %.2f s (tree %.2f, near %.2f, far %.2f)",
                    self.n, s["near_blocks"], s["far_blocks"], s["rank_min"], s["rank_max"],
                    s["rank_mean"], s["nbytes"] / 1e6, s["compression"], s["time_total"],
                    s["time_tree"], s["time_near"], s["time_far"])

    # ------------------------------------------------------------------ apply
    def _apply_tree(self, xp: NDArray, transpose: bool) -> NDArray:
        """Product in tree order; ``xp`` of shape (n, k).

        For large ``n`` the near field (sparse products, which release the GIL)
        runs on a second thread while this one does the far field.
        """
        if self.n < _THREADED_APPLY_N:
            y = self._near_product(xp, transpose)
            y += self._far_product(xp, transpose)
            return y
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hmatrix")
        near = self._pool.submit(self._near_product, xp, transpose)
        y = self._far_product(xp, transpose)
        y += near.result()
        return y

    def _near_product(self, xp: NDArray, transpose: bool) -> NDArray:
        y = self._near_diag.T @ xp if transpose else self._near_diag @ xp
        off = self._near_off
        if off is not None:
            if self.symmetric:
                y += off @ xp
                y += off.T @ xp
            else:
                y += (off.T @ xp) if transpose else (off @ xp)
        return y

    def _far_product(self, xp: NDArray, transpose: bool) -> NDArray:
        """Far-field product; clusters are contiguous, so the gathers and scatters are
        window views of ``xp`` and ``y`` (row clusters of one group are disjoint)."""
        y = np.zeros_like(xp)
        both = self.symmetric
        for g in self._far:
            m, r = g.U.shape[1], g.U.shape[2]
            m2 = g.Vt.shape[2]
            if both or not transpose:   # y[tau] += U (Vt x[sigma])
                xs = sliding_window_view(xp, m2, axis=0)[g.cols]            # (B, k, m2)
                z = _sliced_bmm(xs, g.Vt.transpose(0, 2, 1), r, contract=True)     # (B, k, r)
                contrib = _sliced_bmm(z, g.U.transpose(0, 2, 1), r, contract=False)[g.row_order]
                yw = sliding_window_view(y, m, axis=0, writeable=True)
                yw[g.row_unique] += np.add.reduceat(contrib, g.row_bounds, axis=0)
            if both or transpose:       # y[sigma] += Vt^T (U^T x[tau])
                xt = sliding_window_view(xp, m, axis=0)[g.rows]              # (B, k, m)
                z = _sliced_bmm(xt, g.U, r, contract=True)                   # (B, k, r)
                contrib = _sliced_bmm(z, g.Vt, r, contract=False)[g.col_order]   # (B, k, m2)
                yw = sliding_window_view(y, m2, axis=0, writeable=True)
                yw[g.col_unique] += np.add.reduceat(contrib, g.col_bounds, axis=0)
        return y

    def _apply(self, x: ArrayLike, transpose: bool) -> NDArray[np.float64]:
        x = np.asarray(x)
        if x.ndim not in (1, 2) or x.shape[0] != self.n:
            raise FemheatInputError(f"x must have shape ({self.n},) or ({self.n}, k), got {x.shape}")
        if np.iscomplexobj(x):
            return self._apply(x.real, transpose) + 1j * self._apply(x.imag, transpose)
        x2 = x.reshape(self.n, -1).astype(np.float64, copy=False)
        yp = self._apply_tree(np.ascontiguousarray(x2[self.perm], dtype=self._store), transpose)
        y = np.empty(yp.shape)
        y[self.perm] = yp
        return y.reshape(x.shape)

    def matvec(self, x: ArrayLike) -> NDArray[np.float64]:
        """Product :math:`H x` for ``x`` of shape (n,) or (n, k).

        Cost :math:`O(k\\,n\\log n)`: one or two sparse products for the near
        field and two batched ``matmul`` per far-block group.
        """
        return self._apply(x, transpose=False)

    def rmatvec(self, x: ArrayLike) -> NDArray[np.float64]:
        """Product :math:`H^T x` for ``x`` of shape (n,) or (n, k)."""
        return self._apply(x, transpose=True)

    def __matmul__(self, x: ArrayLike) -> NDArray[np.float64]:
        return self.matvec(x)

    def aslinearoperator(self) -> LinearOperator:
        """The H-matrix as a :class:`scipy.sparse.linalg.LinearOperator` (float64)."""
        return LinearOperator(self.shape, matvec=self.matvec, rmatvec=self.rmatvec,
                              matmat=self.matvec, rmatmat=self.rmatvec, dtype=np.float64)

    def todense(self) -> NDArray[np.float64]:
        """Dense ``(n, n)`` array of the approximation (for tests on small n), :math:`O(n^2)`."""
        Ap = self._near_diag.toarray().astype(np.float64)
        if self._near_off is not None:
            Ap += self._near_off.toarray()
            if self.symmetric:
                Ap += self._near_off.T.toarray()
        for g in self._far:
            m, m2 = g.U.shape[1], g.Vt.shape[2]
            for r0, c0, blk in zip(g.rows, g.cols, g.U @ g.Vt):
                Ap[r0:r0 + m, c0:c0 + m2] += blk
                if self.symmetric:
                    Ap[c0:c0 + m2, r0:r0 + m] += blk.T
        A = np.empty(Ap.shape)
        A[np.ix_(self.perm, self.perm)] = Ap
        return A

    # ------------------------------------------------------------------ info
    @property
    def nbytes(self) -> int:
        """Storage of near field, far factors and index arrays [bytes]."""
        return self._near_nbytes() + self._far_nbytes() + int(self.perm.nbytes)

    def _near_nbytes(self) -> int:
        tot = 0
        for mat in (self._near_diag, self._near_off):
            if mat is not None:
                tot += mat.data.nbytes + mat.indices.nbytes + mat.indptr.nbytes
        return int(tot)

    def _far_nbytes(self) -> int:
        return int(sum(g.nbytes for g in self._far))

    def stats(self) -> dict:
        """Build statistics.

        Returns
        -------
        dict
            ``n``, ``depth``, ``leaf_size``, ``eta``, ``tol``, ``symmetric``,
            ``precision``;
            ``near_blocks``, ``far_blocks`` (built blocks: upper triangle only
            in symmetric mode), ``rank_min``/``rank_mean``/``rank_max`` (over
            far blocks, after recompression), ``aca_rank_mean`` (before it),
            ``unconverged`` (blocks at the rank cap);
            ``nbytes``, ``nbytes_near``, ``nbytes_far`` [bytes],
            ``compression`` (``nbytes`` over the dense ``8 n^2``);
            ``time_tree``, ``time_near``, ``time_far``, ``time_total`` [s].
        """
        ranks = np.concatenate([np.full(g.U.shape[0], g.U.shape[2]) for g in self._far]) \
            if self._far else np.zeros(0)
        nb = self.nbytes
        return {
            "n": self.n, "depth": self.tree.depth, "leaf_size": self.leaf_size, "eta": self.eta,
            "tol": self.tol, "symmetric": self.symmetric, "precision": self.precision,
            "near_blocks": int(self._nnear), "far_blocks": int(self._nfar),
            "far_groups": len(self._far),
            "rank_min": int(ranks.min()) if ranks.size else 0,
            "rank_mean": float(ranks.mean()) if ranks.size else 0.0,
            "rank_max": int(ranks.max()) if ranks.size else 0,
            "aca_rank_mean": self._aca_rank_sum / self._nfar if self._nfar else 0.0,
            "unconverged": int(self._unconverged),
            "nbytes": nb, "nbytes_near": self._near_nbytes(), "nbytes_far": self._far_nbytes(),
            "compression": nb / (8.0 * self.n * self.n) if self.n else 0.0,
            "time_tree": self._times["tree"], "time_near": self._times["near"],
            "time_far": self._times["far"], "time_total": self._times["total"],
        }

    def __repr__(self) -> str:
        s = self.stats()
        return (f"HMatrix(n={self.n}, tol={self.tol:g}, {s['near_blocks']} near / {s['far_blocks']} "
                f"far blocks, ranks <= {s['rank_max']}, {s['nbytes'] / 1e6:.1f} MB)")


def _validate(points: ArrayLike, entries: object, tol: float, radii: ArrayLike | None,
              leaf_size: int, eta: float, pair_entries: object) -> tuple[NDArray, NDArray]:
    """Check the constructor arguments; return float64 points and radii."""
    try:
        pts = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FemheatInputError(f"points must be a real (n, d) array: {exc}") from None
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[0] < 1 or not 1 <= pts.shape[1] <= 3:
        raise FemheatInputError(f"points must have shape (n, d) with n >= 1 and d in 1..3, "
                                f"got {np.shape(points)}")
    if not np.all(np.isfinite(pts)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(pts), axis=1))[0])
        raise FemheatInputError(f"points contains NaN or inf (first at row {bad}: {pts[bad]})")
    if not callable(entries):
        raise FemheatInputError(f"entries must be callable (rows, cols) -> block, got {type(entries).__name__}")
    if pair_entries is not None and not callable(pair_entries):
        raise FemheatInputError(f"pair_entries must be callable (rows, cols) -> values or None, "
                                f"got {type(pair_entries).__name__}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)) \
            or not np.isfinite(tol) or not 0.0 < tol < 1.0:
        raise FemheatInputError(f"tol must be a relative accuracy in (0, 1), got {tol!r}")
    if isinstance(leaf_size, bool) or not isinstance(leaf_size, (int, np.integer)) or leaf_size < 2:
        raise FemheatInputError(f"leaf_size must be an integer >= 2, got {leaf_size!r}")
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating, np.integer)) \
            or not np.isfinite(eta) or eta <= 0:
        raise FemheatInputError(f"eta must be a finite number > 0, got {eta!r}")
    n = pts.shape[0]
    if radii is None:
        rad = np.zeros(n)
    else:
        try:
            rad = np.asarray(radii, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise FemheatInputError(f"radii must be a real array of shape ({n},): {exc}") from None
        if rad.shape != (n,):
            raise FemheatInputError(f"radii must have shape ({n},) like points, got {rad.shape}")
        if not np.all(np.isfinite(rad)) or np.any(rad < 0):
            raise FemheatInputError("radii must be finite and >= 0 (cell half-extents in m), "
                                    f"got min {np.nanmin(rad) if rad.size else 0:g} with "
                                    f"{int(np.sum(~np.isfinite(rad)))} non-finite value(s)")
    return pts, rad
