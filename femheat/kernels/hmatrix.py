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
   of blocks.

Accuracy
--------
``tol`` is the relative Frobenius error allowed *in every admissible block*:
:math:`\|A_b - U_b V_b^T\|_F \le \mathrm{tol}\,\|A_b\|_F` (ACA runs to
``tol/10`` by its a-posteriori estimate, the SVD truncation uses the rest).
Near blocks are exact, hence :math:`\|A - H\|_F \le \mathrm{tol}\,\|A\|_F`
globally, and in practice :math:`\|Hx - Ax\| / \|Ax\| \lesssim \mathrm{tol}`
for the kernels above. ACA's estimate is heuristic: a block whose rank reaches
the cap (256, or its size) is kept and reported in :meth:`HMatrix.stats` and by
a warning.

Complexity
----------
Build :math:`O(k^2 n \log n)` flops and :math:`O(k\,n \log n)` kernel
evaluations, storage :math:`O(k\,n\log n + \text{leaf\_size}\cdot n)`,
product :math:`O(k\,n \log n)`.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import defaultdict
from typing import Callable

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from femheat.errors import FemheatInputError

__all__ = ["ClusterTree", "HMatrix"]

logger = logging.getLogger(__name__)

#: Signature of ``entries``: ``(rows, cols) -> A[rows][:, cols]``, shape ``(len(rows), len(cols))``.
BlockEntries = Callable[[NDArray[np.intp], NDArray[np.intp]], ArrayLike]
#: Signature of ``pair_entries``: ``(rows, cols) -> A[rows, cols]``, shape ``(len(rows),)``.
PairEntries = Callable[[NDArray[np.intp], NDArray[np.intp]], ArrayLike]

_ACA_SAFETY = 0.1        # ACA runs to tol * _ACA_SAFETY, the SVD truncation uses the rest
_MAX_RANK = 256          # rank cap of one far block
_CHUNK = 1 << 19         # blocks per ACA batch: sum of (rows + cols) per batch <= _CHUNK
_NEAR_CHUNK = 1 << 22    # entries per near-field evaluation batch (pair mode)
_ZERO_ROW_TRIES = 3      # consecutive vanishing residual rows before a block is declared done


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
        order = np.argsort(rows, kind="stable")
        self.U = np.ascontiguousarray(U[order])          # (B, m, r)
        self.Vt = np.ascontiguousarray(Vt[order])        # (B, r, m')
        self.rows = rows[order]                          # (B,) tree position of the row cluster start
        self.cols = cols[order]                          # (B,) ... of the column cluster start
        self.row_order = None                            # blocks are sorted by rows already
        self.row_bounds, self.row_unique = _segments(self.rows)
        self.col_order = np.argsort(self.cols, kind="stable")
        self.col_bounds, self.col_unique = _segments(self.cols[self.col_order])

    @property
    def nbytes(self) -> int:
        return int(self.U.nbytes + self.Vt.nbytes + self.rows.nbytes + self.cols.nbytes
                   + self.col_order.nbytes + self.row_bounds.nbytes + self.col_bounds.nbytes
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
        Assume ``A`` symmetric: build only the upper block triangle and apply
        its transpose for the lower one.
    pair_entries : callable, optional
        ``pair_entries(rows, cols)`` returns the entries ``A[rows[i], cols[i]]``
        of equal-length index arrays, shape ``(len(rows),)``. When given, the
        batched ACA evaluates the pivot rows/columns of all blocks of a batch
        in one call (much faster builds); otherwise ``entries`` is called once
        per block and pivot.

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
        ``leaf_size`` < 2, ``eta`` <= 0, non-callable or ill-shaped ``entries``.

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
                 symmetric: bool = True, pair_entries: PairEntries | None = None):
        pts, rad = _validate(points, entries, tol, radii, leaf_size, eta, pair_entries)
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
        self._aca_calls = 0
        self._aca_rank_sum = 0

        t0 = time.perf_counter()
        self.tree = ClusterTree(pts, rad, self.leaf_size)
        self.perm = self.tree.perm
        near, far = self._block_tree()
        t1 = time.perf_counter()
        self._near_diag, self._near_off = self._build_near(near)
        t2 = time.perf_counter()
        self._far: list[_FarGroup] = self._build_far(far)
        t3 = time.perf_counter()
        self._times = {"tree": t1 - t0, "near": t2 - t1, "far": t3 - t2, "total": t3 - t0}
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
            data = np.empty(nnz, dtype=np.float64)
            bounds = np.flatnonzero(np.r_[True, tt[1:] != tt[:-1]]) if tt.size else np.zeros(0, int)
            bounds = np.r_[bounds, tt.size]
            for b0, b1 in zip(bounds[:-1], bounds[1:]):
                tau = tt[b0]
                a, e = starts[tau], starts[tau + 1]
                pattern = np.concatenate([np.arange(starts[q], starts[q + 1]) for q in ss[b0:b1]])
                p0, p1 = indptr[a], indptr[e]
                indices[p0:p1] = np.tile(pattern, e - a)
                data[p0:p1] = self._call_entries(perm[a:e], perm[pattern]).ravel()
            mats.append(sp.csr_matrix((data, indices, indptr.astype(idx_dtype)), shape=(n, n)))
        return mats[0], (mats[1] if mats[1].nnz else None)

    def _eval_rows(self, r: NDArray, C: NDArray) -> NDArray[np.float64]:
        """Rows ``r[b]`` of blocks with column index sets ``C[b]`` (original indices)."""
        B, m2 = C.shape
        self._aca_calls += 1
        if self._pairs is not None:
            return self._call_pairs(np.repeat(r, m2), C.ravel()).reshape(B, m2)
        return np.stack([self._call_entries(r[b:b + 1], C[b])[0] for b in range(B)])

    def _eval_cols(self, R: NDArray, c: NDArray) -> NDArray[np.float64]:
        """Columns ``c[b]`` of blocks with row index sets ``R[b]`` (original indices)."""
        B, m = R.shape
        self._aca_calls += 1
        if self._pairs is not None:
            return self._call_pairs(R.ravel(), np.repeat(c, m)).reshape(B, m)
        return np.stack([self._call_entries(R[b], c[b:b + 1])[:, 0] for b in range(B)])

    def _build_far(self, far: dict) -> list[_FarGroup]:
        """Batched ACA + recompression of all admissible blocks, grouped by shape and rank."""
        perm = self.perm
        out: dict[tuple[int, int, int], list] = defaultdict(list)
        for (level, m, m2), (rows, cols) in sorted(far.items()):
            nb = len(rows)
            per = max(1, _CHUNK // (m + m2))
            for c0 in range(0, nb, per):
                r0, s0 = rows[c0:c0 + per], cols[c0:c0 + per]
                R = perm[r0[:, None] + np.arange(m)]
                C = perm[s0[:, None] + np.arange(m2)]
                for idx, U, Vt in self._aca(R, C):
                    self._aca_rank_sum += U.shape[0] * U.shape[2]
                    for rank, (Ur, Vr, sel) in self._recompress(U, Vt).items():
                        out[(m, m2, rank)].append((Ur, Vr, r0[idx[sel]], s0[idx[sel]]))
        groups = []
        for key in sorted(out):
            parts = out.pop(key)
            U = np.concatenate([p[0] for p in parts])
            Vt = np.concatenate([p[1] for p in parts])
            groups.append(_FarGroup(U, Vt, np.concatenate([p[2] for p in parts]),
                                    np.concatenate([p[3] for p in parts])))
        return groups

    def _aca(self, R: NDArray, C: NDArray) -> list[tuple[NDArray, NDArray, NDArray]]:
        """Batched ACA with partial pivoting on the blocks ``A[R[b]][:, C[b]]``.

        All blocks advance together, one pivot row and column per iteration;
        a block stops when ``||u_k|| ||v_k|| <= tol * _ACA_SAFETY * ||S_k||_F``
        (the squared Frobenius norm of the approximation ``S_k`` updated
        exactly, cross terms included), when ``_ZERO_ROW_TRIES`` residual rows
        in a row vanish, or at the rank cap. The work arrays are compacted when
        a fifth of their blocks has stopped, so every update runs on views.

        Returns
        -------
        list of (idx, U, Vt)
            Blocks ``idx`` (positions in ``R``) with ``A_b ~ U[b] @ Vt[b]``,
            ``U`` (len(idx), m, k), ``Vt`` (len(idx), k, m'); blocks that
            stopped earlier have zero trailing columns.
        """
        B, m = R.shape
        m2 = C.shape[1]
        kmax = min(m, m2, _MAX_RANK)
        eps2 = (self.tol * _ACA_SAFETY) ** 2
        K = min(16, kmax)
        ids = np.arange(B)                      # work position -> block in R, C
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
                if live.size:
                    self._unconverged += int(live.size)
                pieces.append((ids, U[:, :, :k], Vt[:, :k, :]))
                return pieces
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
                alive = np.ones(live.size, dtype=bool)
                live = np.arange(live.size)
                Bw = live.size
            ar = np.arange(Bw)
            full = live.size == Bw
            Uk, Vk = U[:, :, :k], Vt[:, :k, :]
            # residual pivot row
            if full:
                row = self._eval_rows(R[ids, piv], C[ids])
            else:
                row = np.zeros((Bw, m2))
                row[live] = self._eval_rows(R[ids[live], piv[live]], C[ids[live]])
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
                col = self._eval_cols(R[ids], C[ids, j])
            else:
                col = np.zeros((Bw, m))
                if g.size:
                    col[g] = self._eval_cols(R[ids[g]], C[ids[g], j[g]])
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

        ``U = Q_U R_U``, ``Vt^T = Q_V R_V`` (:func:`_cholesky_qr2`), SVD
        ``R_U R_V^T = W S Z^T``, keep the smallest rank ``r`` whose discarded
        singular values have relative Frobenius norm ``<= tol (1 - _ACA_SAFETY)``.
        """
        B, m, k = U.shape
        if k == 0:
            return {}
        Qu, Ru = _cholesky_qr2(U)
        Qv, Rv = _cholesky_qr2(Vt.transpose(0, 2, 1))
        W, sig, Zt = np.linalg.svd(Ru @ Rv.transpose(0, 2, 1))
        tail = np.cumsum((sig ** 2)[:, ::-1], axis=1)[:, ::-1]           # tail[b, r] = sum_{i>=r} s_i^2
        allowed = (self.tol * (1.0 - _ACA_SAFETY)) ** 2 * tail[:, 0]
        ranks = np.sum(tail > allowed[:, None], axis=1)                   # smallest r with tail[r] <= allowed
        groups = {}
        for r in np.unique(ranks):
            r = int(r)
            if r == 0:
                continue
            sel = np.flatnonzero(ranks == r)
            Ur = Qu[sel] @ (W[sel, :, :r] * sig[sel, None, :r])
            Vr = Zt[sel, :r, :] @ Qv[sel].transpose(0, 2, 1)
            groups[r] = (Ur, Vr, sel)
        return groups

    # ------------------------------------------------------------------ apply
    def _apply_tree(self, xp: NDArray[np.float64], transpose: bool) -> NDArray[np.float64]:
        """Product in tree order; ``xp`` of shape (n, k)."""
        y = self._near_diag.T @ xp if transpose else self._near_diag @ xp
        off = self._near_off
        if off is not None:
            if self.symmetric:
                y += off @ xp
                y += off.T @ xp
            else:
                y += (off.T @ xp) if transpose else (off @ xp)
        both = self.symmetric
        for g in self._far:
            B, m, r = g.U.shape
            m2 = g.Vt.shape[2]
            if both or not transpose:   # y[tau] += U (Vt x[sigma])
                xs = xp[g.cols[:, None] + np.arange(m2)]                    # (B, m2, k)
                contrib = g.U @ (g.Vt @ xs)                                  # (B, m, k)
                sums = np.add.reduceat(contrib, g.row_bounds, axis=0)
                y[g.row_unique[:, None] + np.arange(m)] += sums
            if both or transpose:       # y[sigma] += Vt^T (U^T x[tau])
                xt = xp[g.rows[:, None] + np.arange(m)]
                contrib = g.Vt.transpose(0, 2, 1) @ (g.U.transpose(0, 2, 1) @ xt)   # (B, m2, k)
                sums = np.add.reduceat(contrib[g.col_order], g.col_bounds, axis=0)
                y[g.col_unique[:, None] + np.arange(m2)] += sums
        return y

    def _apply(self, x: ArrayLike, transpose: bool) -> NDArray[np.float64]:
        x = np.asarray(x)
        if x.ndim not in (1, 2) or x.shape[0] != self.n:
            raise FemheatInputError(f"x must have shape ({self.n},) or ({self.n}, k), got {x.shape}")
        if np.iscomplexobj(x):
            return self._apply(x.real, transpose) + 1j * self._apply(x.imag, transpose)
        x2 = x.reshape(self.n, -1).astype(np.float64, copy=False)
        yp = self._apply_tree(np.ascontiguousarray(x2[self.perm]), transpose)
        y = np.empty_like(yp)
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
        """Dense ``(n, n)`` array of the approximation (for tests on small n)."""
        return self.matvec(np.eye(self.n))

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
            ``n``, ``depth``, ``leaf_size``, ``eta``, ``tol``, ``symmetric``;
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
            "tol": self.tol, "symmetric": self.symmetric,
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


def _cholesky_qr2(X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Batched thin QR ``X[b] = Q[b] @ R[b]`` by column-scaled Cholesky QR, twice.

    ``X`` has shape (B, m, k) with m >= k. Columns are scaled to unit norm
    first (ACA factors have geometrically decaying column norms), then
    ``G = X^T X = R^T R`` (Cholesky) and ``Q = X R^{-1}``, repeated once for
    orthogonality to machine precision (CholeskyQR2). Zero columns give zero
    columns of ``Q`` and zero rows/columns of ``R``. Blocks whose Gram matrix
    is numerically singular fall back to LAPACK QR. Only ``matmul`` on tall
    matrices and small (k, k) factorizations are used, which, unlike
    Householder QR, stay fast when the BLAS threads compete for busy cores.
    """
    B, m, k = X.shape
    nrm = np.sqrt(np.einsum("bmk,bmk->bk", X, X))
    live = nrm > 0
    Q = X * np.where(live, 1.0 / np.where(live, nrm, 1.0), 0.0)[:, None, :]
    R = np.zeros((B, k, k))
    R[:, np.arange(k), np.arange(k)] = nrm
    eye = np.eye(k)
    for sweep in range(2):
        G = Q.transpose(0, 2, 1) @ Q
        G[:, np.arange(k), np.arange(k)] += np.where(live, 0.0, 1.0)      # dead columns: G = I there
        if sweep and np.max(np.abs(G - eye)) < 1e-13:                      # orthonormal already
            break
        try:
            L = np.linalg.cholesky(G)
        except np.linalg.LinAlgError:
            return _householder_qr(X)
        Linv = np.linalg.solve(L, np.broadcast_to(eye, L.shape))          # L^{-1}, (B, k, k)
        if not np.all(np.isfinite(Linv)):
            return _householder_qr(X)
        Q = Q @ Linv.transpose(0, 2, 1)
        R = L.transpose(0, 2, 1) @ R
    return Q, R


def _householder_qr(X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Batched thin QR by LAPACK (fallback of :func:`_cholesky_qr2`)."""
    return np.linalg.qr(X)


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
