r"""The discrete nonlocal conduction operator on P1 temperatures.

Constitutive law (seed 004 eq. 35, two-phase form):

.. math::
    \mathbf q(\mathbf r) = -\xi\,\kappa(\mathbf r)\nabla T(\mathbf r)
        - (1-\xi)\int_V Z(\mathbf r,\mathbf R)\,\nabla T(\mathbf R)\,dR,
    \qquad Z(\mathbf r,\mathbf R) = S(\mathbf r)\,g(|\mathbf r-\mathbf R|)\,S(\mathbf R),

with S = κ^{1/2} (the symmetric square root of the conductivity tensor, a scalar
√κ for isotropic media), g a unit-mass radial profile
(:mod:`femheat.kernels.functions`) and ξ ∈ [0, 1] the local fraction. This Z is
symmetric, Z(r,R) = Z(R,r)ᵀ, and for an inhomogeneous scalar κ(r) it is the
geometric mean form √(κ(r)κ(R))·g. A homogeneous medium sees κ ĝ(k) for a plane
wave e^{ik·x}.

Discretization (``DESIGN.md``, "Nonlocal kernel"): T is P1, so ∇T is constant per cell
and the weak form of −∇·q is

.. math::
    a(T, w) = \xi\int\kappa\nabla T\cdot\nabla w
        + (1-\xi)\sum_{K,K'} (S_K\nabla w_K)\cdot W[K,K']\,(S_{K'}\nabla T_{K'})
        = \xi\,G^T M_\kappa G\,T + (1-\xi)\,G^T S\,(W\otimes I_d)\,S\,G\,T \quad [\mathrm W\,\mathrm K^{-1}\cdot\mathrm K],

where G is the sparse cell-gradient operator, M_κ = diag(|K| κ_K), κ and S are
evaluated at cell centroids (cell-constant), and W[K,K'] = ∫_K∫_K' g(|x−y|) dx dy
(:mod:`femheat.kernels.quadrature`). GᵀWG is applied, never formed.

W is built by one of three methods:

``"dense"``
    every entry; the test oracle, refused above ``max_dense_cells`` cells.
``"cutoff"``
    pairs whose cells come within the kernel's cut-off radius r_c(tol) (mass of g
    beyond r_c below ``tol``); stored as the upper triangle of a symmetric CSR matrix
    (float64 values, int32 indices) in a spatially sorted cell order, assembled in
    chunks with a bin search (no global pair list). For rapidly decaying kernels.
``"hmatrix"``
    :class:`femheat.kernels.hmatrix.HMatrix` with exact near blocks and ACA far blocks,
    relative accuracy ``tol``. For long-range kernels (power laws).
``"fft"``
    lattice meshes only (uniform ``init_tensor`` grids, 2 triangles or 6 tetrahedra per
    box, boxes may be missing): W is a sum of discrete convolutions over the lattice
    boxes, applied with real FFTs (:mod:`femheat.kernels.lattice`). Memory and cost no
    longer grow with the number of neighbours, which makes 3D Gaussian kernels of many
    cells and exact long-range kernels affordable; periodic axes are exact circular
    convolutions. Not with ``mirror`` or ``kernel_length``.
``"auto"``
    ``"hmatrix"`` when :meth:`RadialKernel.is_long_range` at ``tol`` (cut-off beyond
    30 lengths), ``"cutoff"`` otherwise.

Boundaries
----------
By default the kernel is **truncated at the body boundary**: cells outside the mesh
contribute nothing (no image, no reflection), as in seed 004 eq. 39 and BENCHMARKS N4.
``mirror=[names]`` adds, for each listed boundary, the image of the body reflected in
that wall: with the even extension T(Rx) of the temperature, ∇T_ext = R∇T, so the
image term is (S∇w)·W_R[K,K'] R (S∇T) with W_R[K,K'] = ∫_K∫_K' g(|x − R y|) and
R = I − 2nnᵀ (symmetric, so the operator stays symmetric). Only first images, one per
listed wall, are added (images of images are not), and only **planar** walls are
accepted (a curved boundary raises :class:`~femheat.errors.FemheatInputError`).
``period=(L_x, L_y[, L_z])`` (``None`` for a non-periodic axis) makes the kernel
periodic with the lattice sum Σ_n g(|x − y − n∘L|) over all images within r_c, so
modes on a box that spans one period see the exact lattice symbol.

Position-dependent range
------------------------
``kernel_length=a(x)`` (callable of positions (d, ...) in metres) replaces the
constant length of the kernel family by the symmetric Paciorek-type form
g_{KK'}(r) = (a_K a_K'/ā²)^{d/2} g_ā(r), ā² = (a_K² + a_K'²)/2, which is symmetric and,
for the Gaussian, a positive-semidefinite kernel; it has unit mass only where a is
locally constant.

Helpers: :mod:`femheat.kernels.cell_data` (cell gradient G, κ per cell),
:mod:`femheat.kernels.pairs` (cut-off pair search) and :mod:`femheat.kernels.images`
(periodic and mirror images, a mixin of :class:`NonlocalOperator`).
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import skfem
from numpy.typing import ArrayLike
from scipy.sparse.linalg import LinearOperator

from ..errors import FemheatInputError
from .cell_data import _as_regions, _conductivity_per_cell, cell_gradient
from .functions import RadialKernel, TabulatedKernel
from .images import _ImageTerms
from .lattice import LatticeConvolution, detect_lattice
from .pairs import _Growable, _spatial_order, neighbour_pairs
from .quadrature import CellPairQuadrature, check_rule

__all__ = ["NonlocalOperator", "cell_gradient", "neighbour_pairs"]

log = logging.getLogger(__name__)

_METHODS = ("auto", "dense", "cutoff", "hmatrix", "fft")
#: bins per search radius in the cut-off pair search (finer bins: fewer wasted candidates)
_BINS_PER_RADIUS = {1: 2, 2: 6, 3: 3}
_ELEMENT = {1: skfem.ElementLineP1, 2: skfem.ElementTriP1, 3: skfem.ElementTetP1}


# ---------------------------------------------------------------- operator
class NonlocalOperator(_ImageTerms):
    r"""Nonlocal conduction operator a(T, w) on P1 temperatures (see module docstring).

    Parameters
    ----------
    regions
        :class:`~femheat.mesh.regions.RegionMesh` (2D triangles or 3D tetrahedra) or a scikit-fem
        mesh (``MeshLine1`` is accepted for 1D studies).
    conductivity
        κ [W m⁻¹ K⁻¹]: scalar, (d, d) symmetric tensor (anisotropic kernel
        Z = κ^{1/2} g κ^{1/2}), callable κ(x) of positions (d, ...) returning
        (...) or (d, d, ...), or a dict {subdomain name: any of these or a
        :class:`~femheat.physics.materials.Material`}. Evaluated at cell centroids.
    kernel
        Radial profile g normalized in the mesh dimension.
    local_fraction
        ξ ∈ [0, 1] of the two-phase law q = −ξκ∇T − (1−ξ)∫Z∇T.
    method
        ``"auto"``, ``"dense"``, ``"cutoff"`` or ``"hmatrix"`` (module docstring).
    tol
        Requested relative accuracy: kernel mass neglected by the cut-off, per-entry
        quadrature accuracy, and H-matrix block accuracy.
    quadrature
        ``"exact"`` (default): W[K,K'] = ∫_K∫_K' g integrated to ``tol``;
        ``"centroid"``: W[K,K'] = |K||K'| g(|c_K − c_K'|), for kernels smooth at r = 0
        (Gaussian). Exact cell integrals widen the kernel by the cells' second moments
        (an O(h²) error of the operator on smooth fields); the centroid rule does not
        (:mod:`femheat.kernels.quadrature`), and it is the accurate choice for steady
        problems with a smoothing kernel (ξ = 0), where that widening is amplified.
    period
        Per-axis period [m] (``None`` for non-periodic axes) of a periodic box; the
        mesh must span exactly one period along those axes.
    mirror
        Names of planar insulated walls across which image contributions are added.
    kernel_length
        Callable a(x) [m] for a position-dependent range (module docstring).
    max_dense_cells
        Largest mesh accepted by ``method="dense"``.
    threads
        Worker threads for the cut-off assembly (numpy releases the GIL) and the FFTs.
    hmatrix_options
        Extra keyword arguments for :class:`~femheat.kernels.hmatrix.HMatrix`
        (``leaf_size``, ``eta``).

    Attributes
    ----------
    n
        Number of P1 unknowns (vertices).
    basis
        The P1 ``skfem.CellBasis``.
    gradient
        G, CSR (d·ncells, n).
    measure
        Cell measures [mᵈ].
    conductivity
        κ per cell, (ncells, d, d).
    stats
        Build information (method, pairs, timings, bytes).
    """

    def __init__(self, regions, conductivity, kernel: RadialKernel, *, local_fraction: float = 0.0,
                 method: str = "auto", tol: float = 1e-6, quadrature: str = "exact",
                 period: Sequence[float | None] | None = None, mirror: Sequence[str] | None = None,
                 kernel_length: Callable[[np.ndarray], np.ndarray] | None = None,
                 max_dense_cells: int = 8000, threads: int = 2, hmatrix_options: dict | None = None):
        t_start = time.perf_counter()
        self.regions = _as_regions(regions)
        mesh = self.regions.mesh
        self.mesh = mesh
        self.dim = d = mesh.p.shape[0]
        if not isinstance(kernel, RadialKernel):
            raise FemheatInputError(f"kernel must be a femheat.kernels RadialKernel, got {type(kernel).__name__}")
        if kernel.dim != d:
            raise FemheatInputError(
                f"kernel is normalized in {kernel.dim}D but the mesh is {d}D; build it with dim={d}")
        self.kernel = kernel
        try:
            xi = float(local_fraction)
        except (TypeError, ValueError):
            raise FemheatInputError(f"local_fraction must be a number in [0, 1], got {local_fraction!r}") from None
        if not (0.0 <= xi <= 1.0):
            raise FemheatInputError(f"local_fraction ξ must be in [0, 1], got {local_fraction!r}")
        self.local_fraction = xi
        if method not in _METHODS:
            raise FemheatInputError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
        try:
            tol = float(tol)
        except (TypeError, ValueError):
            raise FemheatInputError(f"tol must be a number in (0, 0.1], got {tol!r}") from None
        if not (0.0 < tol <= 0.1):
            raise FemheatInputError(f"tol must be in (0, 0.1], got {tol!r}")
        self.tol = tol
        if isinstance(kernel, TabulatedKernel) or getattr(kernel, "signed", False):
            # a user table (of any sign) may have a negative Fourier transform: refuse an
            # indefinite total symbol, warn a marginal one (femheat.kernels.general)
            from .general import check_kernel_symbol

            h = float((np.mean(cell_gradient(mesh)[1]) * math.factorial(d)) ** (1.0 / d))
            check_kernel_symbol(kernel, xi, k_max=max(50.0 / kernel.length,
                                                      math.pi * math.sqrt(d) / h))
        self.quadrature = check_rule(quadrature, kernel)
        self.threads = max(1, int(threads))

        self.n = mesh.p.shape[1]
        self.ncells = mesh.t.shape[1]
        self.gradient, self.measure = cell_gradient(mesh)
        self.centroids = mesh.p[:, mesh.t].mean(axis=1).T  # (ncells, d)
        kappa = _conductivity_per_cell(conductivity, self.regions, self.centroids)
        self.conductivity = kappa
        iso = np.allclose(kappa, kappa[:, :1, :1] * np.eye(d), rtol=0, atol=1e-14 * np.max(np.abs(kappa)))
        self._isotropic = bool(iso)
        if iso:
            self._s = np.sqrt(kappa[:, 0, 0])
        else:
            w, V = np.linalg.eigh(kappa)
            self._S = np.einsum("nij,nj,nkj->nik", V, np.sqrt(w), V)

        cell_len = None
        if kernel_length is not None:
            if not callable(kernel_length):
                raise FemheatInputError("kernel_length must be a callable a(x) returning lengths in metres")
            cell_len = np.asarray(kernel_length(self.centroids.T), dtype=float)
            if cell_len.shape != (self.ncells,):
                cell_len = np.broadcast_to(cell_len, (self.ncells,)).copy()
        self._cell_len = cell_len
        self.period = self._check_period(period)
        self._mirrors = self._check_mirrors(mirror)

        if method == "auto":
            method = "hmatrix" if kernel.is_long_range(tol) else "cutoff"
        self.method = method
        self.stats: dict = {"method": method, "ncells": self.ncells, "n": self.n}
        self._W = None
        self._ext: list[tuple[sp.csr_matrix, np.ndarray | None]] = []
        if xi < 1.0:
            self._build(method, max_dense_cells, hmatrix_options or {})
        self.stats["time_build"] = time.perf_counter() - t_start
        log.info("NonlocalOperator(%s): %d cells, %.2f s, %.1f MB", method, self.ncells,
                 self.stats["time_build"], self.nbytes / 1e6)

    @property
    def basis(self) -> skfem.CellBasis:
        """The P1 ``skfem.CellBasis`` of the mesh (created on first use)."""
        if getattr(self, "_basis", None) is None:
            self._basis = skfem.CellBasis(self.mesh, _ELEMENT[self.dim]())
        return self._basis

    # ------------------------------------------------------------ build
    def _quadrature(self, order: np.ndarray | None = None) -> CellPairQuadrature:
        t = self.mesh.t if order is None else self.mesh.t[:, order]
        cl = self._cell_len if (order is None or self._cell_len is None) else self._cell_len[order]
        return CellPairQuadrature(self.mesh.p, t, self.kernel, self.tol, cell_length=cl,
                                  rule=self.quadrature)

    def _cutoff_radius(self) -> float:
        k = self.kernel
        if self._cell_len is not None:
            k = k.scaled(float(self._cell_len.max()))
        return float(k.cutoff_radius(self.tol))

    def _build(self, method: str, max_dense: int, hopts: dict) -> None:
        t0 = time.perf_counter()
        if method == "dense":
            if self.ncells > max_dense:
                raise FemheatInputError(
                    f"method='dense' is the test oracle and holds ncells² = {self.ncells**2:.3g} "
                    f"entries; {self.ncells} cells exceed max_dense_cells={max_dense}. Use "
                    "method='cutoff' (rapidly decaying kernels) or 'hmatrix' (long-range)")
            q = self._quadrature()
            n = self.ncells
            W = np.empty((n, n))
            step = max(1, 2_000_000 // n)
            for i0 in range(0, n, step):
                rows = np.arange(i0, min(n, i0 + step))
                W[rows] = q.entries(rows, np.arange(n))
            W = 0.5 * (W + W.T)
            self._W = W
            self._perm = None
            self.stats["nnz"] = W.size
            if self.period is not None or self._mirrors:
                self._build_images(q, np.arange(n), self._cutoff_radius(), dense=True)
            q.release_points()
        elif method == "cutoff":
            self._build_cutoff()
        elif method == "fft":
            self._build_fft()
        else:
            try:
                from .hmatrix import HMatrix
            except ImportError as exc:  # pragma: no cover - hmatrix module ships with femheat
                raise FemheatInputError("method='hmatrix' needs femheat.kernels.hmatrix") from exc
            if self.period is not None:
                raise FemheatInputError("period= is implemented for method='dense' and 'cutoff' only")
            q = self._quadrature()
            H = HMatrix(self.centroids, q.entries, tol=self.tol, radii=q.radius,
                        pair_entries=q.pair_values, symmetric=True, **hopts)
            self._W = H
            self._perm = None
            self.stats.update({"hmatrix": H.stats()})
            if self._mirrors:
                self._build_images(q, np.arange(self.ncells), self._cutoff_radius(), dense=False)
        self.stats["time_W"] = time.perf_counter() - t0

    def _build_cutoff(self) -> None:
        rc = self._cutoff_radius()
        if not math.isfinite(rc):
            raise FemheatInputError(
                f"{self.kernel!r} has no finite cut-off radius at tol={self.tol:g}; use method='hmatrix'")
        c = self.centroids
        radius0 = np.max(np.linalg.norm(self.mesh.p[:, self.mesh.t] - c.T[:, None, :], axis=0), axis=0)
        R = (rc + 2 * radius0.max()) * (1 + 1e-9)
        m = _BINS_PER_RADIUS[self.dim]
        order, _, _ = _spatial_order(c, R / m)
        q = self._quadrature(order)
        cs = q.centroids
        n = self.ncells
        t0 = time.perf_counter()
        chunk = int(np.clip(500_000 // max(1, self._est_neighbours(R)), 256, 50_000))
        gen = neighbour_pairs(cs, q.radius, rc, R / m, chunk=chunk, m=m)

        counts = np.zeros(n, dtype=np.int64)
        est = int(1.1 * n * (self._est_neighbours(rc + 2 * float(q.radius.mean())) + 1) / 2) + 1024
        buf = _Growable(est)
        npairs = 0

        def work(block):
            i0, i1, rows, cols = block
            return i0, i1, rows, cols.astype(np.int32), q.pair_values(rows, cols)

        def store(res):
            nonlocal npairs
            i0, i1, rows, cols, vals = res
            counts[i0:i1] += np.bincount(rows - i0, minlength=i1 - i0)
            buf.append(cols, vals)
            npairs += cols.size

        if self.threads > 1:
            with ThreadPoolExecutor(self.threads) as ex:
                pending = []
                for block in gen:
                    pending.append(ex.submit(work, block))
                    if len(pending) > 2 * self.threads:
                        store(pending.pop(0).result())
                for f in pending:
                    store(f.result())
        else:
            for block in gen:
                store(work(block))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        idx_dtype = np.int32 if npairs < 2**31 - 1 else np.int64
        indices, data = buf.finish()
        indices = indices.astype(idx_dtype, copy=False)
        U = sp.csr_matrix((data, indices, indptr.astype(idx_dtype)), shape=(n, n))
        U.has_sorted_indices = True
        self._W = U
        self._diag = U.diagonal()
        self._perm = order
        self._split = self._row_split(U)
        self.stats.update({"nnz_upper": int(npairs), "cutoff_radius": rc,
                           "neighbours_mean": 2.0 * npairs / n - 1.0,
                           "time_pairs_and_quadrature": time.perf_counter() - t0})
        if self.period is not None or self._mirrors:
            self._build_images(q, order, rc, dense=False)
        q.release_points()

    def _build_fft(self) -> None:
        lat = detect_lattice(self.mesh.p, self.mesh.t)
        if lat is None:
            raise FemheatInputError(
                "method='fft' needs a lattice mesh (vertices on a uniform grid, each cell inside "
                "one grid box, e.g. skfem.MeshTri/MeshTet.init_tensor with uniform spacing); use "
                "method='cutoff' or 'hmatrix' for this mesh")
        if self._mirrors:
            raise FemheatInputError("method='fft' does not take mirror walls; use method='cutoff'")
        if self._cell_len is not None:
            raise FemheatInputError("method='fft' needs a translation-invariant kernel; a "
                                    "position-dependent kernel_length needs method='cutoff'")
        q = self._quadrature()
        rc = self._cutoff_radius()
        reach = rc + 2 * float(q.radius.max()) + float(np.linalg.norm(lat.spacing))
        periodic = np.zeros(self.dim, bool) if self.period is None else self.period > 0
        conv = LatticeConvolution(lat, q, reach, periodic, workers=self.threads)
        q.release_points()
        self._W = conv
        self._perm = None
        self.stats.update({"lattice_types": conv.ntypes, "fft_shape": conv.shape,
                           "offsets": conv.offsets, "cutoff_radius": rc})

    def _est_neighbours(self, rc: float) -> int:
        vol = float(np.sum(self.measure))
        ext = np.ptp(self.centroids, axis=0)
        dens = self.ncells / max(vol, 1e-300)
        ball = {1: 2 * rc, 2: math.pi * rc**2, 3: 4 / 3 * math.pi * rc**3}[self.dim]
        return int(max(1, min(self.ncells, dens * ball))) if np.all(ext > 0) else self.ncells

    @staticmethod
    def _row_split(U: sp.csr_matrix):
        """Two row blocks of about equal nnz, for a threaded symmetric product."""
        n = U.shape[0]
        half = int(np.searchsorted(U.indptr, U.nnz // 2))
        half = min(max(half, 1), n - 1) if n > 1 else n
        out = []
        for i0, i1 in ((0, half), (half, n)):
            a, b = U.indptr[i0], U.indptr[i1]
            blk = sp.csr_matrix((U.data[a:b], U.indices[a:b], (U.indptr[i0:i1 + 1] - a)),
                                shape=(i1 - i0, n), copy=False)
            out.append((i0, i1, blk))
        return out

    # ------------------------------------------------------------ apply
    def _scale(self, Y: np.ndarray) -> np.ndarray:
        """Y -> S Y per cell (S = κ^{1/2})."""
        if self._isotropic:
            return Y * self._s.reshape((-1,) + (1,) * (Y.ndim - 1))
        return np.einsum("nij,nj...->ni...", self._S, Y)

    def _apply_W(self, Y: np.ndarray) -> np.ndarray:
        """Z = (W ⊗ I_d) Y for Y of shape (ncells, d) or (ncells, d, k)."""
        shp = Y.shape
        Y2 = Y.reshape(shp[0], -1)
        perm = self._perm
        Yp = Y2 if perm is None else Y2[perm]
        W = self._W
        if isinstance(W, np.ndarray):
            Z = W @ Yp
        elif sp.issparse(W):
            Z = self._sym_apply(Yp)
        else:
            Z = W.matvec(Yp)
        for M, A in self._ext:
            if A is None:
                Z = Z + M @ Yp
            else:
                Ya = np.einsum("ij,nj...->ni...", A, Yp.reshape((Yp.shape[0],) + shp[1:]))
                Z = Z + M @ Ya.reshape(Yp.shape)
        if perm is not None:
            out = np.empty_like(Z)
            out[perm] = Z
            Z = out
        return Z.reshape(shp)

    def _sym_apply(self, Y: np.ndarray) -> np.ndarray:
        """(U + Uᵀ − diag U) Y with U the stored upper triangle, two threads."""
        U = self._W
        if self.threads > 1 and U.nnz > 200_000:
            def part(blk):
                i0, i1, Ub = blk
                lo = Ub @ Y  # rows i0:i1
                up = Ub.T @ Y[i0:i1]  # contributes to all rows
                return i0, i1, lo, up
            with ThreadPoolExecutor(2) as ex:
                res = list(ex.map(part, self._split))
            Z = res[0][3] + res[1][3]
            for i0, i1, lo, _ in res:
                Z[i0:i1] += lo
        else:
            Z = U @ Y + U.T @ Y
        Z -= self._diag[:, None] * Y
        return Z

    def cell_gradients(self, T: ArrayLike) -> np.ndarray:
        """∇T per cell, shape (ncells, d) [K m⁻¹] (or (ncells, d, k) for T of shape (n, k))."""
        T = np.asarray(T, dtype=float)
        g = self.gradient @ T
        if T.ndim == 1:
            return g.reshape(self.dim, self.ncells).T
        return np.moveaxis(g.reshape(self.dim, self.ncells, -1), 0, 1)

    def nonlocal_cell_flux(self, T: ArrayLike) -> np.ndarray:
        """Σ_K' S_K W[K,K'] S_K' ∇T_K', shape (ncells, d) [W m⁻¹·mᵈ... = W mᵈ⁻¹ /m]."""
        return self._scale(self._apply_W(self._scale(self.cell_gradients(T))))

    def apply(self, T: ArrayLike) -> np.ndarray:
        r"""a(T, φ_i) for all P1 basis functions φ_i [W] (T in K).

        T may be (n,) or (n, k) (several right-hand sides).
        """
        T = np.asarray(T, dtype=float)
        if T.shape[0] != self.n:
            raise FemheatInputError(f"T must have {self.n} vertex values (first axis), got shape {T.shape}")
        grads = self.cell_gradients(T)  # (ncells, d[, k])
        out = 0.0
        if self.local_fraction > 0:
            loc = self._local_flux_density(grads) * self.measure.reshape((-1,) + (1,) * (grads.ndim - 1))
            out = self.local_fraction * loc
        if self.local_fraction < 1:
            out = out + (1 - self.local_fraction) * self._scale(self._apply_W(self._scale(grads)))
        flat = np.moveaxis(out, 1, 0).reshape((self.dim * self.ncells,) + T.shape[1:])
        return self.gradient.T @ flat

    __call__ = apply

    def _local_flux_density(self, grads: np.ndarray) -> np.ndarray:
        if self._isotropic:
            return grads * self.conductivity[:, 0, 0].reshape((-1,) + (1,) * (grads.ndim - 1))
        return np.einsum("nij,nj...->ni...", self.conductivity, grads)

    def flux(self, T: ArrayLike) -> np.ndarray:
        r"""Cell-average heat flux (1/|K|)∫_K q, shape (ncells, d) [W m⁻²].

        q_K = −ξ κ_K ∇T_K − (1−ξ) S_K Σ_K' W[K,K'] S_K' ∇T_K' / |K|.
        """
        T = np.asarray(T, dtype=float)
        if T.shape != (self.n,):
            raise FemheatInputError(f"T must have shape ({self.n},), got {T.shape}")
        grads = self.cell_gradients(T)
        q = np.zeros_like(grads)
        if self.local_fraction > 0:
            q -= self.local_fraction * self._local_flux_density(grads)
        if self.local_fraction < 1:
            q -= (1 - self.local_fraction) * self.nonlocal_cell_flux(T) / self.measure[:, None]
        return q

    def local_stiffness(self) -> sp.csr_matrix:
        r"""∫ κ∇T·∇w on P1 (κ cell-constant at centroids) = Gᵀ diag(|K|κ_K) G [W K⁻¹]."""
        d, n = self.dim, self.ncells
        kap = self.conductivity * self.measure[:, None, None]
        rows = (np.arange(d)[:, None, None] * n + np.arange(n)[None, None, :])
        cols = (np.arange(d)[None, :, None] * n + np.arange(n)[None, None, :])
        rows, cols = np.broadcast_arrays(rows, cols)
        vals = np.moveaxis(kap, 0, -1)  # (d, d, n)
        M = sp.csr_matrix((vals.ravel(), (rows.ravel(), cols.ravel())), shape=(d * n, d * n))
        return (self.gradient.T @ M @ self.gradient).tocsr()

    def mass(self) -> sp.csr_matrix:
        """P1 mass matrix ∫ T w [m^d] (multiply by ρc for the capacity matrix)."""
        from skfem.models.poisson import mass
        return mass.assemble(self.basis).tocsr()

    def aslinearoperator(self) -> LinearOperator:
        """The operator T -> a(T, ·) as a symmetric scipy LinearOperator."""
        return LinearOperator((self.n, self.n), matvec=self.apply, matmat=self.apply,
                              rmatvec=self.apply, dtype=float)

    def dense_matrix(self) -> np.ndarray:
        """The full n × n matrix of a (tests and small problems only)."""
        if self.n > 6000:
            raise FemheatInputError(f"dense_matrix is for small problems; n = {self.n} > 6000")
        return self.apply(np.eye(self.n))

    @property
    def nbytes(self) -> int:
        """Memory held by W, its images and the gradient operator [bytes]."""
        total = 0
        W = self._W
        if isinstance(W, np.ndarray):
            total += W.nbytes
        elif sp.issparse(W):
            total += W.data.nbytes + W.indices.nbytes + W.indptr.nbytes
        elif W is not None:
            total += int(W.nbytes)
        for M, _ in self._ext:
            total += M.data.nbytes + M.indices.nbytes + M.indptr.nbytes
        G = self.gradient
        return total + G.data.nbytes + G.indices.nbytes + G.indptr.nbytes

    def __repr__(self) -> str:
        return (f"NonlocalOperator({self.kernel!r}, method={self.method!r}, ncells={self.ncells}, "
                f"ξ={self.local_fraction:g}, quadrature={self.quadrature!r}, {self.nbytes / 1e6:.1f} MB)")
