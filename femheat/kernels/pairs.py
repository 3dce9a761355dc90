r"""Cell-pair search and storage for the cut-off assembly of the nonlocal operator.

:func:`neighbour_pairs` yields, in CSR order and in chunks, the upper-triangle pairs
of cells whose centroids lie within r_c + r_i + r_j of each other (a bin search on
points sorted by :func:`_spatial_order`, no global pair list); :class:`_Growable`
stores the (index, value) entries with amortized growth; :func:`_affine_rows` maps
points by y -> A y + b (periodic and mirror images).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["neighbour_pairs"]


def _affine_rows(X: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """X @ A.T + b row-wise, per component (numpy's (n, d) @ (d, d) is slow for small d)."""
    out = np.empty_like(X)
    for k in range(X.shape[1]):
        out[:, k] = sum(A[k, j] * X[:, j] for j in range(X.shape[1]))
    return out + b


def _spatial_order(c: np.ndarray, binsize: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort points by (z, y, x) bins of size ``binsize``: returns order, bin coords, bin counts."""
    lo = c.min(axis=0)
    ib = np.floor((c - lo) / binsize).astype(np.int64)
    nb = ib.max(axis=0) + 1
    key = np.zeros(c.shape[0], dtype=np.int64)
    for k in range(c.shape[1] - 1, -1, -1):
        key = key * nb[k] + ib[:, k]
    # within a bin keep a stable order by x
    order = np.lexsort((c[:, 0], key))
    return order, ib[order], nb


def neighbour_pairs(c: np.ndarray, radius_of: np.ndarray, rc: float, binsize: float, *,
                    chunk: int = 20000, m: int = 2):
    """Yield (i0, i1, rows, cols) blocks of the upper-triangle pairs i ≤ j, i0 ≤ i < i1, of
    points ``c`` (already in bin order, see :func:`_spatial_order`, with the same ``binsize``)
    with |c_i − c_j| ≤ rc + r_i + r_j, where r is ``radius_of``.

    Rows come in increasing order and, within a row, columns increase, so the blocks
    concatenate into CSR order. Cost O(n·(neighbours)), memory O(chunk·neighbours).
    """
    n, d = c.shape
    b = float(binsize)
    if b * m < rc + 2.0 * radius_of.max() * (1 - 1e-12):
        raise ValueError("binsize too small for the search radius")
    lo = c.min(axis=0)
    ib = np.floor((c - lo) / b).astype(np.int64)
    nb = ib.max(axis=0) + 1
    key = np.zeros(n, dtype=np.int64)
    stride = np.ones(d, dtype=np.int64)
    for k in range(1, d):
        stride[k] = stride[k - 1] * nb[k - 1]
    key = ib @ stride
    if np.any(np.diff(key) < 0):
        raise RuntimeError("neighbour_pairs needs points sorted by bin")
    nbins = int(np.prod(nb))
    start = np.searchsorted(key, np.arange(nbins + 1))
    # row offsets (non-x axes), upper half in lexicographic (z, y) order
    offs = []
    if d == 1:
        offs = [()]
    else:
        rng = range(-(m + 1), m + 2)
        grids = np.array(np.meshgrid(*([list(rng)] * (d - 1)), indexing="ij")).reshape(d - 1, -1).T
        for o in grids:
            # lexicographic >= 0 with the most significant axis last (z, then y)
            rev = o[::-1]
            nz = np.nonzero(rev)[0]
            if nz.size and rev[nz[0]] < 0:
                continue
            gap = np.maximum(np.abs(o) - 1, 0)
            rem = m * m - float(gap @ gap)
            if rem < 0:
                continue
            offs.append(tuple(int(v) for v in o))
    offs.sort(key=lambda o: o[::-1])  # increasing bin key order
    widths = []
    for o in offs:
        gap = np.maximum(np.abs(np.array(o, dtype=float)) - 1, 0) if o else np.zeros(0)
        widths.append(int(math.floor(math.sqrt(m * m - float(gap @ gap)))) + 1)
    rad = radius_of
    cc = [np.ascontiguousarray(c[:, k]) for k in range(d)]
    for i0 in range(0, n, chunk):
        i1 = min(n, i0 + chunk)
        idx = np.arange(i0, i1)
        bi = ib[i0:i1]
        los, his = [], []
        for o, w in zip(offs, widths):
            rowbin = bi.copy()
            valid = np.ones(i1 - i0, dtype=bool)
            for k, ok in enumerate(o, start=1):
                rowbin[:, k] += ok
                valid &= (rowbin[:, k] >= 0) & (rowbin[:, k] < nb[k])
            x0 = np.clip(rowbin[:, 0] - w, 0, nb[0] - 1)
            x1 = np.clip(rowbin[:, 0] + w, 0, nb[0] - 1)
            base = rowbin[:, 1:] @ stride[1:] if d > 1 else np.zeros(i1 - i0, dtype=np.int64)
            lo_ = np.where(valid, start[np.where(valid, base + x0, 0)], 0)
            hi_ = np.where(valid, start[np.where(valid, base + x1 + 1, 0)], 0)
            if all(v == 0 for v in o):
                lo_ = np.maximum(lo_, idx)  # upper triangle incl. the diagonal
            los.append(lo_)
            his.append(np.maximum(hi_, lo_))
        los = np.stack(los, axis=1).ravel()
        his = np.stack(his, axis=1).ravel()
        lens = his - los
        total = int(lens.sum())
        rowlens = lens.reshape(i1 - i0, len(offs)).sum(axis=1)
        csum = np.cumsum(lens) - lens
        cols = np.arange(total, dtype=np.int64)
        cols -= np.repeat(csum - los, lens)
        dist2 = np.zeros(total)
        for k in range(d):
            dk = np.repeat(cc[k][i0:i1], rowlens)
            dk -= cc[k].take(cols)
            dk *= dk
            dist2 += dk
        lim = np.repeat(rc + rad[i0:i1], rowlens)
        lim += rad.take(cols)
        lim *= lim
        keep = dist2 <= lim
        rows = np.repeat(idx, rowlens)
        yield i0, i1, rows[keep], cols[keep]


class _Growable:
    """Append-only (int32 index, float64 value) storage with amortized growth."""

    def __init__(self, capacity: int):
        self.idx = np.empty(max(capacity, 16), dtype=np.int32)
        self.val = np.empty(max(capacity, 16), dtype=np.float64)
        self.size = 0

    def append(self, idx: np.ndarray, val: np.ndarray) -> None:
        k = idx.size
        if self.size + k > self.idx.size:
            cap = max(self.size + k, int(1.5 * self.idx.size))
            for name in ("idx", "val"):
                old = getattr(self, name)
                new = np.empty(cap, dtype=old.dtype)
                new[:self.size] = old[:self.size]
                setattr(self, name, new)
        self.idx[self.size:self.size + k] = idx
        self.val[self.size:self.size + k] = val
        self.size += k

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored arrays, shrunk in place (realloc, no copy)."""
        idx, val = self.idx, self.val
        self.idx = self.val = None
        idx.resize(self.size, refcheck=False)
        val.resize(self.size, refcheck=False)
        return idx, val
