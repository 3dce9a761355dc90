"""Periodic cells: twin facets of opposite faces and the flux DOFs tied across them.

Used by the cell problems of :mod:`femheat.analysis.homogenization`: a cell built by
a geometry builder names its faces ``left``/``right``, ``bottom``/``top`` and
``front``/``back`` (:data:`FACES`); :func:`periodic_facet_pairs` finds each minus-face
facet's translated twin, :func:`_periodic_map` the matrix P with q = P q_master that
makes the normal flux continuous across the periodic boundary.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import skfem

from ..errors import MeshError
from ..mesh.regions import RegionMesh

__all__ = ["FACES", "periodic_facet_pairs"]

#: Face names of the builders: (minus, plus) per axis.
FACES = (("left", "right"), ("bottom", "top"), ("front", "back"))
_FACES = FACES


def _cell_extent(regions: RegionMesh) -> tuple[np.ndarray, np.ndarray]:
    p = regions.mesh.p
    return p.min(axis=1), p.max(axis=1)


def periodic_facet_pairs(regions: RegionMesh, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Facets of the minus face of ``axis`` and their translated twins on the plus face.

    Returns ``(minus, plus)`` facet index arrays, ``plus[i]`` being ``minus[i]``
    shifted by the cell length along ``axis``.

    Raises
    ------
    MeshError
        If a face is missing or the two faces are not meshed identically.
    """
    lo_name, hi_name = _FACES[axis]
    for name in (lo_name, hi_name):
        if name not in regions.boundaries:
            raise MeshError(
                f"a periodic cell needs boundaries named {_FACES[axis]} normal to axis "
                f"{axis}; the mesh has {sorted(regions.boundaries)} (use a builder's cell "
                "or name the faces so)")
    mesh = regions.mesh
    lo, hi = _cell_extent(regions)
    fl, fh = regions.boundary(lo_name), regions.boundary(hi_name)
    cl = mesh.p[:, mesh.facets[:, fl]].mean(axis=1)
    ch = mesh.p[:, mesh.facets[:, fh]].mean(axis=1)
    ch[axis] -= hi[axis] - lo[axis]
    scale = float(np.max(hi - lo))
    if fl.size != fh.size:
        raise MeshError(
            f"faces {lo_name!r} ({fl.size} facets) and {hi_name!r} ({fh.size}) are not meshed "
            "alike, so the cell cannot be periodic; mesh it with periodic=True (gmsh "
            "setPeriodic) or use boundary='mixed'")
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(ch.T).query(cl.T)
    if dist.size and (dist.max() > 1e-9 * scale or np.unique(idx).size != idx.size):
        raise MeshError(
            f"faces {lo_name!r} and {hi_name!r} are not meshed alike (facet centroids differ "
            f"by up to {dist.max():.3e} m after translation), so the cell cannot be periodic; "
            "mesh it with periodic=True (gmsh setPeriodic) or use boundary='mixed'")
    return fl, fh[idx]


def _normal_moments(qb: skfem.CellBasis, facets: np.ndarray, axis: int, nmom: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Moments ∫_f (φ·n) ψ_p ds of the flux basis on ``facets`` (outward n).

    ψ = 1, the tangential coordinates (x − x_f)_k, k ≠ axis, and (for quadratic
    normal traces, BDM2) their products: translation invariant, so moments of twin
    facets are comparable. Returns
    (moments (n_local, n_facets, nmom), global dofs (n_local, n_facets)).
    """
    fb = skfem.FacetBasis(qb.mesh, qb.elem, facets=facets, intorder=4)
    x = fb.global_coordinates().value  # (d, nf, nq)
    xc = (x * fb.dx).sum(axis=2) / fb.dx.sum(axis=1)
    tangential = [k for k in range(qb.mesh.dim()) if k != axis]
    lin = [x[k] - xc[k][:, None] for k in tangential]
    psi = [np.ones_like(x[0])] + lin + [lin[i] * lin[j] for i in range(len(lin))
                                        for j in range(i, len(lin))]
    psi = psi[:nmom]
    n = fb.normals.value
    out = np.empty((len(fb.basis), facets.size, nmom))
    for i, phi in enumerate(fb.basis):
        trace = np.einsum("dfq,dfq->fq", phi[0].value, n)
        for p, s in enumerate(psi):
            out[i, :, p] = (trace * s * fb.dx).sum(axis=1)
    return out, fb.element_dofs


def _facet_matrix(moments: np.ndarray, dofs: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Per-facet matrices [facet, moment, own DOF] from the cell-local moments."""
    nf, nfd = own.shape[1], own.shape[0]
    M = np.zeros((nf, moments.shape[2], nfd))
    for j in range(nfd):
        hit = dofs == own[j][None, :]  # (n_local, nf): which local function is DOF j
        M[:, :, j] = np.einsum("lf,lfp->fp", hit, moments)
    return M


def _periodic_map(qb: skfem.CellBasis, axes: Sequence[int],
                  pairs: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> sp.csr_matrix:
    """P with q = P q_master: flux DOFs of each plus-face facet tied to its twin.

    Normal flux continuity across the periodic boundary, q·n_out(plus) =
    −q·n_out(minus) on twin facets, is imposed moment by moment against the facet
    trace space (dimension = facet DOFs per facet), which is exact for RT/BDM.
    """
    fdofs = qb.dofs.facet_dofs  # (nfd, n_facets)
    nfd = fdofs.shape[0]
    N = qb.N
    rows, cols, vals = [], [], []
    slave = np.zeros(N, dtype=bool)
    for axis in axes:
        fl, fh = pairs[axis]
        ml, dl = _normal_moments(qb, fl, axis, nfd)
        mh, dh = _normal_moments(qb, fh, axis, nfd)
        own_l, own_h = fdofs[:, fl], fdofs[:, fh]
        Ml, Mh = _facet_matrix(ml, dl, own_l), _facet_matrix(mh, dh, own_h)
        cond = np.linalg.cond(Mh)
        if not np.all(np.isfinite(cond)) or cond.max() > 1e10:
            raise MeshError("periodic twin facets have a singular normal-trace map; the "
                            "flux element is not supported for periodic cells")
        C = -np.linalg.solve(Mh, Ml)  # (nf, nfd, nfd): q_plus = C q_minus
        slave[own_h.ravel()] = True
        rows.append(np.repeat(own_h.T, nfd, axis=1).ravel())  # [f, i, j] -> own_h[i, f]
        cols.append(np.tile(own_l.T, (1, nfd)).ravel())
        vals.append(C.ravel())
    master = np.nonzero(~slave)[0]
    index = np.full(N, -1)
    index[master] = np.arange(master.size)
    rows.append(master)
    cols.append(master)
    vals.append(np.ones(master.size))
    r = np.concatenate(rows)
    c = index[np.concatenate(cols)]
    if np.any(c < 0):
        raise MeshError("a periodic twin facet lies on two periodic faces; the cell's faces "
                        "must be plane and axis-aligned")
    return sp.csr_matrix((np.concatenate(vals), (r, c)), shape=(N, master.size))
