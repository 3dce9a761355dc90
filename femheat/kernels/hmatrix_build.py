r"""Build of the H-matrix: cluster tree, block tree, near field and batched ACA.

:class:`ClusterTree` (balanced binary tree of the points, padded boxes), the far
block groups (:class:`_FarGroup`), and :class:`_HMatrixBuild`, the mixin of
:class:`~femheat.kernels.hmatrix.HMatrix` that builds the block tree (admissibility
min(diam τ, diam σ) ≤ η dist(τ, σ)), the exact near field (CSR in tree order) and
the far field by batched ACA with partial pivoting and QR + SVD recompression
(algorithm and accuracy: :mod:`femheat.kernels.hmatrix`). It uses the attributes
that HMatrix sets (``tree``, ``perm``, ``n``, ``tol``, ``eta``, ``symmetric``,
``threads``, ``_entries``, ``_pairs``, ``_store``, ``_aca_rank_sum``,
``_unconverged``).
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..errors import FemheatInputError
from .hmatrix_linalg import _implicit_qr, _serial_matmul

__all__ = ["ClusterTree"]

_ACA_SAFETY = 0.3        # ACA runs to tol * _ACA_SAFETY, the SVD truncation uses the rest
_MAX_RANK = 256          # rank cap of one far block
_CHUNK = 1 << 19         # blocks per ACA batch: sum of (rows + cols) per batch <= _CHUNK
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


class _HMatrixBuild:
    """Block tree, near field and batched ACA of :class:`~femheat.kernels.hmatrix.HMatrix`."""

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
