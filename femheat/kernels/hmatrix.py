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
"""

from __future__ import annotations

import ctypes
import logging
import time
import warnings
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import scipy.sparse as sp
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from ..errors import FemheatInputError

__all__ = ["ClusterTree", "HMatrix"]

logger = logging.getLogger(__name__)

#: Signature of ``entries``: ``(rows, cols) -> A[rows][:, cols]``, shape ``(len(rows), len(cols))``.
BlockEntries = Callable[[NDArray[np.intp], NDArray[np.intp]], ArrayLike]
#: Signature of ``pair_entries``: ``(rows, cols) -> A[rows, cols]``, shape ``(len(rows),)``.
PairEntries = Callable[[NDArray[np.intp], NDArray[np.intp]], ArrayLike]

_ACA_SAFETY = 0.3        # ACA runs to tol * _ACA_SAFETY, the SVD truncation uses the rest
_MAX_RANK = 256          # rank cap of one far block
_CHUNK = 1 << 19         # blocks per ACA batch: sum of (rows + cols) per batch <= _CHUNK
_ZERO_ROW_TRIES = 3      # consecutive vanishing residual rows before a block is declared done
_SINGLE_TOL = 1e-4       # precision="auto" stores in float32 for tol >= this (see HMatrix docstring)
_THREADED_APPLY_N = 20_000   # from this n on, products overlap the near and far fields on 2 threads


class ClusterTree:
    """Balanced binary cluster tree of points, in level order.

    Parameters
    ----------
    points : (n, d) ndarray
        Cluster coordinates [m] (cell centroids).
    radii : (n,) ndarray
        Half-extent of each item [m]; bounding boxes are padded by it.
    leaf_size : int
        Largest number of points in a leaf.

    Attributes
    ----------
    perm : (n,) ndarray of int
        Tree order: ``points[perm]`` lists the points cluster by cluster; every
        cluster is a contiguous range of this order.
    depth : int
        Number of levels below the root; all leaves are at level ``depth``.
    starts : list of ndarray
        ``starts[l]`` (length ``2**l + 1``): cluster ``c`` of level ``l`` holds
        tree positions ``starts[l][c]:starts[l][c + 1]``. The children of
        cluster ``c`` are clusters ``2c`` and ``2c + 1`` of level ``l + 1``.
    lo, hi : list of ndarray
        ``lo[l]``, ``hi[l]`` (shape ``(2**l, d)``): padded bounding boxes.

    Notes
    -----
    Median splits along the longest box axis, :math:`O(n \\log n)`.
    """

    def __init__(self, points: NDArray[np.float64], radii: NDArray[np.float64], leaf_size: int):
        n, d = points.shape
        self.depth = max(0, int(np.ceil(np.log2(max(n, 1) / leaf_size)))) if n > leaf_size else 0
        perm = np.arange(n)
        starts = [np.array([0, n])]
        for _ in range(self.depth):
            s = starts[-1]
            new = np.empty(2 * (len(s) - 1) + 1, dtype=np.int64)
            new[0::2] = s
            for c in range(len(s) - 1):
                a, b = s[c], s[c + 1]
                half = (b - a) // 2
                new[2 * c + 1] = a + half
                if half == 0:
                    continue
                idx = perm[a:b]
                x = points[idx]
                axis = int(np.argmax(x.max(axis=0) - x.min(axis=0)))
                order = np.argpartition(x[:, axis], half)
                perm[a:b] = idx[order]
            starts.append(new)
        self.perm = perm
        self.starts = starts
        xp = points[perm]
        rp = radii[perm][:, None]
        self.lo, self.hi = [], []
        for s in starts:
            lo = np.full((len(s) - 1, d), np.inf)
            hi = np.full((len(s) - 1, d), -np.inf)
            nonempty = s[1:] > s[:-1]
            if n:
                lo[nonempty] = np.minimum.reduceat(xp - rp, s[:-1][nonempty], axis=0)
                hi[nonempty] = np.maximum.reduceat(xp + rp, s[:-1][nonempty], axis=0)
            self.lo.append(lo)
            self.hi.append(hi)

    def sizes(self, level: int) -> NDArray[np.int64]:
        """Number of points of each cluster of ``level``."""
        return np.diff(self.starts[level])


class _FarGroup:
    """Far blocks of equal shape and rank, stacked for batched products."""

    __slots__ = ("U", "Vt", "rows", "cols", "row_order", "row_bounds", "row_unique",
                 "col_order", "col_bounds", "col_unique")

    def __init__(self, U: NDArray, Vt: NDArray, rows: NDArray, cols: NDArray):
        self.U = U                                       # (B, m, r), C-contiguous
        self.Vt = Vt                                     # (B, r, m'), C-contiguous
        self.rows = rows                                 # (B,) tree position of the row cluster start
        self.cols = cols                                 # (B,) ... of the column cluster start
        self.row_order = np.argsort(rows, kind="stable")
        self.row_bounds, self.row_unique = _segments(rows[self.row_order])
        self.col_order = np.argsort(cols, kind="stable")
        self.col_bounds, self.col_unique = _segments(cols[self.col_order])

    @property
    def nbytes(self) -> int:
        return int(self.U.nbytes + self.Vt.nbytes + self.rows.nbytes + self.cols.nbytes
                   + self.row_order.nbytes + self.col_order.nbytes
                   + self.row_bounds.nbytes + self.col_bounds.nbytes
                   + self.row_unique.nbytes + self.col_unique.nbytes)


def _segments(sorted_keys: NDArray) -> tuple[NDArray, NDArray]:
    """Start indices of runs of equal keys in a sorted array, and the keys."""
    if sorted_keys.size == 0:
        return np.zeros(0, dtype=np.int64), sorted_keys
    bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return bounds, sorted_keys[bounds]


class HMatrix:
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

    # ------------------------------------------------------------------ build
    def _block_tree(self) -> tuple[tuple[NDArray, NDArray], dict]:
        """Admissible (far) blocks per (level, shape) and the inadmissible leaf pairs."""
        tree = self.tree
        t = np.zeros(1, dtype=np.int64)
        s = np.zeros(1, dtype=np.int64)
        far: dict[tuple[int, int, int], tuple[list, list]] = defaultdict(lambda: ([], []))
        near = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        for level in range(tree.depth + 1):
            lo, hi = tree.lo[level], tree.hi[level]
            diam = np.linalg.norm(hi - lo, axis=1)
            gap = np.maximum(0.0, np.maximum(lo[s] - hi[t], lo[t] - hi[s]))
            dist = np.linalg.norm(gap, axis=1)
            adm = (np.minimum(diam[t], diam[s]) <= self.eta * dist) & (dist > 0)
            sizes = tree.sizes(level)
            starts = tree.starts[level]
            ta, sa = t[adm], s[adm]
            for key in set(zip(sizes[ta].tolist(), sizes[sa].tolist())):
                sel = (sizes[ta] == key[0]) & (sizes[sa] == key[1])
                rows, cols = far[(level, *key)]
                rows.append(starts[ta[sel]])
                cols.append(starts[sa[sel]])
            t, s = t[~adm], s[~adm]
            if level == tree.depth:
                near = (t, s)
                break
            ct = np.stack([2 * t, 2 * t, 2 * t + 1, 2 * t + 1], axis=1).ravel()
            cs = np.stack([2 * s, 2 * s + 1, 2 * s, 2 * s + 1], axis=1).ravel()
            keep = ct <= cs if self.symmetric else np.ones(ct.shape, bool)
            t, s = ct[keep], cs[keep]
        far_arrays = {k: (np.concatenate(r), np.concatenate(c)) for k, (r, c) in far.items()}
        return near, far_arrays

    def _call_entries(self, rows: NDArray, cols: NDArray) -> NDArray[np.float64]:
        block = np.asarray(self._entries(rows, cols), dtype=np.float64)
        if block.shape != (len(rows), len(cols)):
            raise FemheatInputError(
                f"entries(rows, cols) must return an array of shape (len(rows), len(cols)) = "
                f"{(len(rows), len(cols))}, got {block.shape}")
        return block

    def _call_pairs(self, rows: NDArray, cols: NDArray) -> NDArray[np.float64]:
        vals = np.asarray(self._pairs(rows, cols), dtype=np.float64)
        if vals.shape != (len(rows),):
            raise FemheatInputError(
                f"pair_entries(rows, cols) must return an array of shape (len(rows),) = "
                f"{(len(rows),)}, got {vals.shape}")
        return vals

    def _build_near(self, near: tuple[NDArray, NDArray]) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        """Near field as CSR matrices in tree order: diagonal blocks, off-diagonal blocks."""
        tree, n, perm = self.tree, self.n, self.perm
        starts = tree.starts[tree.depth]
        t, s = near
        diag = t == s
        mats = []
        for sel in (diag, ~diag):
            tt, ss = t[sel], s[sel]
            order = np.lexsort((ss, tt))
            tt, ss = tt[order], ss[order]
            size_s = starts[ss + 1] - starts[ss]
            # row pattern length of each row cluster
            nleaf = len(starts) - 1
            rowlen = np.bincount(tt, weights=size_s, minlength=nleaf).astype(np.int64)
            leaf_sizes = np.diff(starts)
            nnz_row = np.repeat(rowlen, leaf_sizes)
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(nnz_row, out=indptr[1:])
            nnz = int(indptr[-1])
            idx_dtype = np.int32 if max(nnz, n) < 2**31 - 1 else np.int64
            indices = np.empty(nnz, dtype=idx_dtype)
            data = np.empty(nnz, dtype=self._store)
            bounds = np.flatnonzero(np.r_[True, tt[1:] != tt[:-1]]) if tt.size else np.zeros(0, int)
            bounds = np.r_[bounds, tt.size]

            def fill(b0: int, b1: int) -> None:
                """Row cluster tt[b0] with its near column clusters ss[b0:b1] (disjoint slices)."""
                tau = tt[b0]
                a, e = starts[tau], starts[tau + 1]
                pattern = np.concatenate([np.arange(starts[q], starts[q + 1]) for q in ss[b0:b1]])
                p0, p1 = indptr[a], indptr[e]
                indices[p0:p1] = np.tile(pattern, e - a)
                data[p0:p1] = self._call_entries(perm[a:e], perm[pattern]).ravel()

            if self.threads > 1 and len(bounds) > 2:
                with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="hmatrix-build") as ex:
                    list(ex.map(fill, bounds[:-1], bounds[1:]))
            else:
                for b0, b1 in zip(bounds[:-1], bounds[1:]):
                    fill(b0, b1)
            mats.append(sp.csr_matrix((data, indices, indptr.astype(idx_dtype)), shape=(n, n)))
        return mats[0], (mats[1] if mats[1].nnz else None)

    def _eval_rows(self, r: NDArray, C: NDArray) -> NDArray[np.float64]:
        """Rows ``r[b]`` of blocks with column index sets ``C[b]`` (original indices)."""
        B, m2 = C.shape
        if self._pairs is not None:
            return self._call_pairs(np.repeat(r, m2), C.ravel()).reshape(B, m2)
        return np.stack([self._call_entries(r[b:b + 1], C[b])[0] for b in range(B)])

    def _eval_cols(self, R: NDArray, c: NDArray) -> NDArray[np.float64]:
        """Columns ``c[b]`` of blocks with row index sets ``R[b]`` (original indices)."""
        B, m = R.shape
        if self._pairs is not None:
            return self._call_pairs(R.ravel(), np.repeat(c, m)).reshape(B, m)
        return np.stack([self._call_entries(R[b], c[b:b + 1])[:, 0] for b in range(B)])

    def _build_far(self, far: dict) -> list[_FarGroup]:
        """Batched ACA + recompression of all admissible blocks, grouped by shape and rank.

        The batches are independent; with ``threads > 1`` they run on a thread
        pool (numpy releases the GIL in the array work and in the entries'
        vectorized arithmetic). The result does not depend on ``threads``.
        """
        tasks = []
        for (level, m, m2), (rows, cols) in sorted(far.items()):
            per = max(1, _CHUNK // (m + m2))
            tasks += [(m, m2, rows[c0:c0 + per], cols[c0:c0 + per]) for c0 in range(0, len(rows), per)]
        if self.threads > 1 and len(tasks) > 1:
            with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="hmatrix-build") as ex:
                results = list(ex.map(lambda task: self._far_batch(*task), tasks))
        else:
            results = [self._far_batch(*task) for task in tasks]
        out: dict[tuple[int, int, int], list] = defaultdict(list)
        for parts, rank_sum, unconverged in results:
            self._aca_rank_sum += rank_sum
            self._unconverged += unconverged
            for key, *part in parts:
                out[key].append(part)
        del results
        groups = []
        for key in sorted(out):           # one group at a time: transient memory <= one group
            parts = out.pop(key)
            U = np.concatenate([p[0] for p in parts])
            for p in parts:
                p[0] = None
            Vt = np.concatenate([p[1] for p in parts])
            groups.append(_FarGroup(U, Vt, np.concatenate([p[2] for p in parts]),
                                    np.concatenate([p[3] for p in parts])))
            del parts, U, Vt
        return groups

    def _far_batch(self, m: int, m2: int, r0: NDArray, s0: NDArray) -> tuple[list, int, int]:
        """ACA + recompression of one batch of (m, m') blocks with row/column cluster
        starts ``r0``, ``s0``: ``([((m, m', rank), U, Vt, rows, cols), ...], sum of ACA
        ranks, blocks at the rank cap)``, factors in the storage precision."""
        R = self.perm[r0[:, None] + np.arange(m)]
        C = self.perm[s0[:, None] + np.arange(m2)]
        pieces, unconverged = self._aca(R, C)
        parts = []
        rank_sum = 0
        for idx, U, Vt in pieces:
            rank_sum += U.shape[0] * U.shape[2]
            for rank, (Ur, Vr, sel) in self._recompress(U, Vt).items():
                parts.append(((m, m2, rank), np.ascontiguousarray(Ur, dtype=self._store),
                              np.ascontiguousarray(Vr, dtype=self._store),
                              r0[idx[sel]], s0[idx[sel]]))
        return parts, rank_sum, unconverged

    def _aca(self, R: NDArray, C: NDArray) -> tuple[list[tuple[NDArray, NDArray, NDArray]], int]:
        """Batched ACA with partial pivoting on the blocks ``A[R[b]][:, C[b]]``.

        All blocks advance together, one pivot row and column per iteration;
        a block stops when ``||u_k|| ||v_k|| <= tol * _ACA_SAFETY * ||S_k||_F``
        (the squared Frobenius norm of the approximation ``S_k`` updated
        exactly, cross terms included), when ``_ZERO_ROW_TRIES`` residual rows
        in a row vanish, or at the rank cap. The work arrays are compacted when
        a fifth of their blocks has stopped, so every update runs on views.

        Returns
        -------
        pieces : list of (idx, U, Vt)
            Blocks ``idx`` (positions in ``R``) with ``A_b ~ U[b] @ Vt[b]``,
            ``U`` (len(idx), m, k), ``Vt`` (len(idx), k, m'); blocks that
            stopped earlier have zero trailing columns.
        unconverged : int
            Number of blocks stopped by the rank cap.
        """
        B, m = R.shape
        m2 = C.shape[1]
        kmax = min(m, m2, _MAX_RANK)
        eps2 = (self.tol * _ACA_SAFETY) ** 2
        K = min(16, kmax)
        ids = np.arange(B)                      # work position -> block in R, C
        Rw, Cw = R, C                           # R[ids], C[ids]
        U = np.zeros((B, m, K))
        Vt = np.zeros((B, K, m2))
        norm2 = np.zeros(B)
        used = np.zeros((B, m), dtype=bool)
        piv = np.zeros(B, dtype=np.int64)
        tries = np.zeros(B, dtype=np.int64)
        alive = np.ones(B, dtype=bool)
        pieces = []
        k = 0
        while True:
            live = np.flatnonzero(alive)
            if live.size == 0 or k == kmax:
                pieces.append((ids, U[:, :, :k], Vt[:, :k, :]))
                return pieces, int(live.size)
            Bw = len(ids)
            if live.size < 0.8 * Bw or k == K:      # compact and/or grow the work arrays
                dead = np.flatnonzero(~alive)
                if dead.size:
                    pieces.append((ids[dead], U[dead, :, :k], Vt[dead, :k, :]))
                K2 = min(2 * K, kmax) if k == K else K
                U2 = np.zeros((live.size, m, K2))
                U2[:, :, :k] = U[live, :, :k]
                V2 = np.zeros((live.size, K2, m2))
                V2[:, :k, :] = Vt[live, :k, :]
                U, Vt, K = U2, V2, K2
                ids, norm2, used, piv, tries = ids[live], norm2[live], used[live], piv[live], tries[live]
                Rw, Cw = Rw[live], Cw[live]
                alive = np.ones(live.size, dtype=bool)
                live = np.arange(live.size)
                Bw = live.size
            ar = np.arange(Bw)
            full = live.size == Bw
            Uk, Vk = U[:, :, :k], Vt[:, :k, :]
            # residual pivot row
            if full:
                row = self._eval_rows(Rw[ar, piv], Cw)
            else:
                row = np.zeros((Bw, m2))
                row[live] = self._eval_rows(Rw[live, piv[live]], Cw[live])
            if k:
                row -= np.einsum("bk,bkj->bj", Uk[ar, piv], Vk)
            used[live, piv[live]] = True
            j = np.argmax(np.abs(row), axis=1)
            pv = row[ar, j]
            ok = alive & (np.abs(pv) > 1e-300 + 1e-14 * np.sqrt(norm2 / (m * m2)))
            bad = np.flatnonzero(alive & ~ok)
            if bad.size:                         # vanishing residual row: try the next unused row
                tries[bad] += 1
                nxt = np.argmin(used[bad], axis=1)
                stop = used[bad, nxt] | (tries[bad] >= _ZERO_ROW_TRIES)
                piv[bad] = nxt
                alive[bad[stop]] = False
            g = np.flatnonzero(ok)
            tries[g] = 0
            v = row / np.where(ok, pv, 1.0)[:, None]
            v[~ok] = 0.0
            # residual pivot column
            if g.size == Bw:
                col = self._eval_cols(Rw, Cw[ar, j])
            else:
                col = np.zeros((Bw, m))
                if g.size:
                    col[g] = self._eval_cols(Rw[g], Cw[g, j[g]])
            if k:
                col -= np.einsum("bmk,bk->bm", Uk, Vk[ar, :, j])
                col[~ok] = 0.0
                cross = (np.einsum("bm,bmk->bk", col, Uk) * np.einsum("bkj,bj->bk", Vk, v)).sum(1)
            else:
                cross = 0.0
            U[:, :, k] = col
            Vt[:, k, :] = v
            step2 = np.einsum("bm,bm->b", col, col) * np.einsum("bj,bj->b", v, v)
            norm2 += 2.0 * cross + step2
            piv[g] = np.argmax(np.where(used[g], -1.0, np.abs(col[g])), axis=1)
            done = (step2[g] <= eps2 * norm2[g]) | np.all(used[g], axis=1)
            alive[g[done]] = False
            k += 1

    def _recompress(self, U: NDArray, Vt: NDArray) -> dict[int, tuple[NDArray, NDArray, NDArray]]:
        """QR + SVD truncation of stacked factors; blocks grouped by their new rank.

        With ``U = Q_U R_U`` and ``Vt^T = Q_V R_V`` (thin QR, :func:`_implicit_qr`),
        SVD ``R_U R_V^T = W S Z^T``; the kept rank ``r`` is the smallest whose
        discarded singular values have relative Frobenius norm
        ``<= tol (1 - _ACA_SAFETY)``, and the new factors are
        ``Q_U W_r S_r`` and ``Q_V Z_r``, computed as ``U (R_U^+ W_r S_r)`` and
        ``V (R_V^+ Z_r)``: four tall products in all, the rest on (k, k) matrices.
        """
        B, m, k = U.shape
        if k == 0:
            return {}
        V = Vt.transpose(0, 2, 1)
        Ru, Ru_pinv = _implicit_qr(U)
        Rv, Rv_pinv = _implicit_qr(V)
        W, sig, Zt = np.linalg.svd(Ru @ Rv.transpose(0, 2, 1))
        tail = np.cumsum((sig ** 2)[:, ::-1], axis=1)[:, ::-1]           # tail[b, r] = sum_{i>=r} s_i^2
        allowed = (self.tol * (1.0 - _ACA_SAFETY)) ** 2 * tail[:, 0]
        ranks = np.sum(tail > allowed[:, None], axis=1)                   # smallest r with tail[r] <= allowed
        rmax = int(ranks.max())
        if rmax == 0:
            return {}
        PU = _serial_matmul(U, Ru_pinv @ (W[:, :, :rmax] * sig[:, None, :rmax]))       # (B, m, rmax)
        PV = _serial_matmul(V, Rv_pinv @ Zt[:, :rmax, :].transpose(0, 2, 1))           # (B, m', rmax)
        groups = {}
        for r in np.unique(ranks):
            r = int(r)
            if r == 0:
                continue
            sel = np.flatnonzero(ranks == r)
            groups[r] = (PU[sel, :, :r], PV[sel, :, :r].transpose(0, 2, 1), sel)
        return groups

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
