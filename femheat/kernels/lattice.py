r"""Kernel matrices of lattice meshes applied by FFT convolution.

On a *lattice mesh* -- every vertex on x₀ + h∘n (n integer, h the per-axis spacing)
and every cell inside one lattice box, as from ``skfem.MeshTri.init_tensor`` or
``MeshTet.init_tensor`` with uniform spacing (2 triangles or 6 tetrahedra per box),
possibly with boxes left out -- a cell is fixed by its box n and its *type* τ (its
vertex pattern inside the box). For a translation-invariant kernel the pair
integrals depend only on the types and the box offset,

.. math::

    W[(\tau, n), (\sigma, n')] = \mathcal W_{\tau\sigma}(n - n'),

so (W ⊗ I_d)Y is a sum of τ_count² discrete convolutions, applied with real FFTs of
size N_k + m_k per axis (N_k boxes, m_k the kernel reach in boxes: linear
convolution without wrap-around) or exactly N_k on a periodic axis (circular
convolution, the displacement kernel folded modulo N_k, which *is* the lattice
sum Σ_j g(|x − y − jL|)). Storage is τ_count² spectra of the padded grid instead of
the nonzeros of W; a product costs O(τ_count·d·N log N). Long-range kernels need no
compression here: the displacement kernel covers the whole grid and the product is
exact to the pair quadrature.

Each 𝒲_τσ(D) is one entry of :class:`~femheat.kernels.quadrature.CellPairQuadrature`
(exact integrals or the centroid rule) between representative cells, so the operator
is the same as the cut-off or dense one up to the cut-off radius: entries are computed
for offsets whose cells come within r_c (all offsets for long-range kernels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft

from .quadrature import CellPairQuadrature

__all__ = ["Lattice", "detect_lattice", "LatticeConvolution"]


@dataclass
class Lattice:
    """Lattice structure of a simplex mesh.

    Attributes
    ----------
    origin
        x₀, shape (d,) [m].
    spacing
        h per axis, shape (d,) [m].
    boxes
        N per axis (number of lattice boxes).
    box
        Box index n of every cell, shape (d, ncells), int.
    cell_type
        Type τ of every cell, shape (ncells,), int in [0, ntypes).
    representative
        One cell index per type, shape (ntypes,).
    """

    origin: np.ndarray
    spacing: np.ndarray
    boxes: np.ndarray
    box: np.ndarray
    cell_type: np.ndarray
    representative: np.ndarray

    @property
    def ntypes(self) -> int:
        return int(self.representative.size)


def detect_lattice(p: np.ndarray, t: np.ndarray, rtol: float = 1e-9) -> Lattice | None:
    """The :class:`Lattice` of a mesh (vertices ``p`` (d, n), cells ``t`` (d+1, ncells)),
    or None when the vertices are not on a uniform lattice or a cell spans more than one
    lattice box."""
    p = np.asarray(p, dtype=float)
    t = np.asarray(t)
    d = p.shape[0]
    origin = p.min(axis=1)
    ext = p.max(axis=1) - origin
    spacing = np.empty(d)
    idx = np.empty(p.shape, dtype=np.int64)
    for k in range(d):
        if ext[k] <= 0:
            return None
        steps = np.diff(np.unique(p[k]))
        # coordinates that differ by round-off (gmsh writes scaled coordinates) are one
        # grid line: the rounding test below checks every vertex against the lattice
        steps = steps[steps > rtol * ext[k]]
        h = float(steps.min())
        nk = int(round(ext[k] / h))
        h = ext[k] / nk
        u = (p[k] - origin[k]) / h
        iu = np.rint(u)
        if np.max(np.abs(u - iu)) > 1e3 * rtol * max(nk, 1):
            return None
        spacing[k] = h
        idx[k] = iu.astype(np.int64)
    local = idx[:, t]  # (d, d+1, ncells)
    box = local.min(axis=1)
    off = local - box[:, None, :]
    if off.max() > 1:
        return None
    corner = np.zeros(off.shape[1:], dtype=np.int64)  # corner code per cell vertex
    for k in range(d):
        corner |= off[k] << k
    key = np.zeros(t.shape[1], dtype=np.int64)
    for v in range(off.shape[1]):
        key |= np.int64(1) << corner[v]
    _, first, cell_type = np.unique(key, return_index=True, return_inverse=True)
    boxes = idx.max(axis=1)
    return Lattice(origin, spacing, boxes, box, cell_type.ravel(), first)


class LatticeConvolution:
    r"""W ⊗ I_d of a lattice mesh as FFT convolutions (module docstring).

    Parameters
    ----------
    lattice
        The mesh's :class:`Lattice`.
    quadrature
        Pair rule on the mesh (cells in mesh order).
    reach
        Largest centroid distance [m] of coupled pairs (the kernel's cut-off radius
        plus the cell diameters); ``inf`` for every offset in the grid.
    period
        Per-axis period flags (True: circular convolution over exactly N_k boxes).
    workers
        Threads for scipy.fft.
    """

    def __init__(self, lattice: Lattice, quadrature: CellPairQuadrature, reach: float,
                 period: np.ndarray, workers: int = 1):
        self.lattice = lat = lattice
        self.workers = max(1, int(workers))
        d = lat.spacing.size
        h = lat.spacing
        N = lat.boxes
        periodic = np.asarray(period, dtype=bool)
        reach_boxes = np.array([math.ceil(reach / h[k]) if math.isfinite(reach) else N[k]
                                for k in range(d)], dtype=np.int64)
        m = np.where(periodic, reach_boxes, np.minimum(reach_boxes, N - 1))
        self.shape = tuple(int(N[k]) if periodic[k] else scipy.fft.next_fast_len(int(N[k] + m[k]), real=True)
                           for k in range(d))
        # displacement offsets D = n - n' within the reach (a ball of radius `reach`)
        grids = np.meshgrid(*[np.arange(-m[k], m[k] + 1) for k in range(d)], indexing="ij")
        D = np.stack([g.ravel() for g in grids])  # (d, nD)
        if math.isfinite(reach):
            D = D[:, np.linalg.norm(D * h[:, None], axis=0) <= reach]
        rep = lat.representative
        T = rep.size
        self.ntypes = T
        wrap = np.mod(D, np.array(self.shape)[:, None])  # index of D in the FFT grid
        flat = np.ravel_multi_index(tuple(wrap), self.shape)
        spectra = np.empty((T, T) + self.shape[:-1] + (self.shape[-1] // 2 + 1,), dtype=complex)
        neg = _negated(D)
        # W is symmetric, so W_στ(D) = W_τσ(−D). The dense oracle symmetrizes its entries,
        # W = (Q + Qᵀ)/2 with Q[K,K'] the pair rule; taking the transposed block from one
        # evaluation is only exact when the rule itself is symmetric to round-off
        # (CellPairQuadrature.symmetric). The float32 product rules (tol >= 1e-6) are not:
        # (K, K') and (K', K) round differently (~1e-7 of an entry), so there both orders are
        # evaluated and averaged, as the oracle does.
        symmetric = bool(getattr(quadrature, "symmetric", False))
        self.pair_blocks = 0
        for tau in range(T):
            for sig in range(tau, T):
                w = self._block(quadrature, tau, sig, D)
                if sig == tau:  # W_ττ(D) = W_ττ(−D) exactly (quadrature rounding aside)
                    w = 0.5 * (w + w[neg])
                elif not symmetric:
                    w = 0.5 * (w + self._block(quadrature, sig, tau, D)[neg])
                # the transposed block, W_στ(D) = W_τσ(−D)
                blocks = [(tau, sig, w)] if sig == tau else [(tau, sig, w), (sig, tau, w[neg])]
                for a, b, vals in blocks:
                    K = np.zeros(int(np.prod(self.shape)))
                    np.add.at(K, flat, vals)
                    spectra[a, b] = scipy.fft.rfftn(K.reshape(self.shape), workers=self.workers)
        self.spectra = spectra
        self.offsets = D.shape[1]
        self._where = [np.nonzero(lat.cell_type == tau)[0] for tau in range(T)]
        self._box_index = [tuple(lat.box[:, c]) for c in self._where]

    def _block(self, quadrature: CellPairQuadrature, tau: int, sig: int,
               D: np.ndarray) -> np.ndarray:
        """Q[(τ, n), (σ, n − D)] for every offset D: the representative of σ moved from its
        box to the box of the representative of τ, minus D."""
        lat = self.lattice
        rep = lat.representative
        h = lat.spacing
        lift = lat.box[:, rep[tau]] - lat.box[:, rep[sig]]
        shift = ((lift[:, None] - D) * h[:, None]).T
        self.pair_blocks += 1
        return quadrature.pair_values(np.full(D.shape[1], rep[tau]), np.full(D.shape[1], rep[sig]),
                                      transform=(np.eye(h.size), shift))

    @property
    def nbytes(self) -> int:
        return int(self.spectra.nbytes)

    def matvec(self, Y: np.ndarray) -> np.ndarray:
        """(W ⊗ I) Y for Y of shape (ncells, m) in mesh cell order."""
        Y = np.asarray(Y, dtype=float)
        ncol = Y.shape[1]
        d = len(self.shape)
        axes = tuple(range(d))
        hat = []
        for tau in range(self.ntypes):
            X = np.zeros(self.shape + (ncol,))
            X[self._box_index[tau]] = Y[self._where[tau]]
            hat.append(scipy.fft.rfftn(X, axes=axes, workers=self.workers))
        Z = np.empty_like(Y)
        for tau in range(self.ntypes):
            acc = self.spectra[tau, 0][..., None] * hat[0]
            for sig in range(1, self.ntypes):
                acc += self.spectra[tau, sig][..., None] * hat[sig]
            z = scipy.fft.irfftn(acc, s=self.shape, axes=axes, workers=self.workers)
            Z[self._where[tau]] = z[self._box_index[tau]]
        return Z


def _negated(D: np.ndarray) -> np.ndarray:
    """Index array mapping each offset column of D to the column holding −D (the offset set
    is symmetric by construction: a ball in a symmetric box)."""
    lo = D.min(axis=1)
    span = D.max(axis=1) - lo + 1
    code = np.ravel_multi_index(tuple(D - lo[:, None]), tuple(span))
    code_neg = np.ravel_multi_index(tuple(-D - lo[:, None]), tuple(span))
    order = np.argsort(code)
    return order[np.searchsorted(code[order], code_neg)]
