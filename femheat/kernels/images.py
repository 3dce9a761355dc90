r"""Periodic and mirror images of the nonlocal operator (see :mod:`femheat.kernels.operator`).

:class:`_ImageTerms` is a mixin of :class:`~femheat.kernels.operator.NonlocalOperator`
holding the checks of ``period=`` and ``mirror=`` and the assembly of the sparse
image couplings W_s[K, K'] = ∫_K∫_K' g(|x − (A y + b)|): periodic lattice
translations (A = I, b = n∘L) summed into one matrix, and for each planar mirror
wall the reflection R = I − 2nnᵀ with b = 2(c·n)n. It uses the attributes that
the operator sets (``dim``, ``mesh``, ``regions``, ``centroids``, ``period``,
``_mirrors``, ``_ext``, ``stats``) and its ``_cutoff_radius``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..errors import FemheatInputError
from .pairs import _affine_rows
from .quadrature import CellPairQuadrature

__all__: list[str] = []


class _ImageTerms:
    """Periodic and mirror image couplings of :class:`~femheat.kernels.operator.NonlocalOperator`."""

    # ------------------------------------------------------------ checks
    def _check_period(self, period):
        if period is None:
            return None
        d = self.dim
        if isinstance(period, (int, float)):
            period = [period] * d
        period = list(period)
        if len(period) != d:
            raise FemheatInputError(f"period must have {d} entries (None for a non-periodic axis), got {period!r}")
        lo, hi = self.mesh.p.min(axis=1), self.mesh.p.max(axis=1)
        out = np.zeros(d)
        for k, L in enumerate(period):
            if L is None:
                continue
            try:
                L = float(L)
            except (TypeError, ValueError):
                raise FemheatInputError(f"period[{k}] must be a length in m or None, got {L!r}") from None
            if not (math.isfinite(L) and L > 0):
                raise FemheatInputError(f"period[{k}] must be > 0 m, got {L!r}")
            if abs((hi[k] - lo[k]) - L) > 1e-9 * L:
                raise FemheatInputError(
                    f"period[{k}] = {L:g} m but the mesh spans {hi[k] - lo[k]:g} m along axis {k}; "
                    "mesh exactly one period of the box")
            out[k] = L
        return out if np.any(out > 0) else None

    def _check_mirrors(self, mirror):
        if not mirror:
            return []
        if isinstance(mirror, str):
            mirror = [mirror]
        out = []
        mesh = self.mesh
        scale = float(np.max(np.ptp(mesh.p, axis=1)))
        for name in mirror:
            facets = self.regions.boundary(name)
            if self.dim == 1:
                x0 = mesh.p[:, mesh.facets[:, facets]].reshape(1, -1)
                nrm, off = np.array([1.0]), float(x0[0, 0])
            else:
                pts = mesh.p[:, np.unique(mesh.facets[:, facets])].T
                cen = pts.mean(axis=0)
                _, sv, vt = np.linalg.svd(pts - cen, full_matrices=False)
                nrm = vt[-1]
                dev = np.abs((pts - cen) @ nrm).max()
                if dev > 1e-8 * scale:
                    raise FemheatInputError(
                        f"mirror boundary {name!r} is not planar (vertices deviate {dev:.3g} m from "
                        "the best-fit plane); mirror images are implemented for planar walls only")
                off = float(cen @ nrm)
            R = np.eye(self.dim) - 2.0 * np.outer(nrm, nrm)
            out.append((name, R, 2.0 * off * nrm))
        return out

    def _images(self) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """(A, shift b, is_mirror) for every periodic image and mirror plane."""
        out = []
        d = self.dim
        if self.period is not None:
            rc = self._cutoff_radius()
            ext = np.ptp(self.mesh.p, axis=1)
            hmax = 2 * float(np.max(np.linalg.norm(self.mesh.p[:, self.mesh.t] - self.centroids.T[:, None, :], axis=0)))
            ranges = []
            for k in range(d):
                L = self.period[k]
                if L > 0:
                    m = int(math.ceil((rc + ext[k] + hmax) / L))
                    ranges.append(range(-m, m + 1))
                else:
                    ranges.append(range(0, 1))
            for nvec in np.array(np.meshgrid(*ranges, indexing="ij")).reshape(d, -1).T:
                if np.any(nvec != 0):
                    out.append((np.eye(d), nvec * self.period, False))
        for _, R, b in self._mirrors:
            out.append((R, b, True))
        return out

    def _build_images(self, q: CellPairQuadrature, order: np.ndarray, rc: float, dense: bool) -> None:
        """Sparse image couplings W_s[K, K'] = ∫_K∫_K' g(|x − (A y + b)|), in q's cell order.

        Periodic images are summed into one matrix; each image matrix is symmetrized
        (exactly symmetric in exact arithmetic: the maps are isometric involutions or come
        in ± pairs), so the operator stays symmetric to round-off. Pairs are those within
        r_c of each other, for ``dense`` as well (lattice sums are truncated at r_c).
        """
        from scipy.spatial import cKDTree
        c = q.centroids
        tree = cKDTree(c)
        rmax = float(q.radius.max())
        n = q.ncells
        periodic = None
        for A, b, is_mirror in self._images():
            cimg = _affine_rows(c, A, b)
            lists = tree.query_ball_point(cimg, rc + 2 * rmax)
            lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n)
            if lens.sum() == 0:
                continue
            J = np.repeat(np.arange(n), lens)
            I = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=int(lens.sum()))
            vals = q.pair_values(I, J, transform=(A, b))
            M = sp.csr_matrix((vals, (I, J)), shape=(n, n))
            if is_mirror:
                M = (0.5 * (M + M.T)).tocsr()
                M.eliminate_zeros()
                self._ext.append((M, A))
                self.stats["nnz_images"] = self.stats.get("nnz_images", 0) + M.nnz
            else:
                periodic = M if periodic is None else periodic + M
        if periodic is not None:
            M = (0.5 * (periodic + periodic.T)).tocsr()
            M.eliminate_zeros()
            self._ext.append((M, None))
            self.stats["nnz_images"] = self.stats.get("nnz_images", 0) + M.nnz
