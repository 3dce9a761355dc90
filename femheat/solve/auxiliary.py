"""Auxiliary-space preconditioning of the flux block for the iterative solver.

The flux spaces (RT/BDM) contain continuous vector Lagrange fields exactly: Π maps
continuous P1ᵈ (or P2ᵈ for BDM2) into the flux space, so an AMG V-cycle on ΠᵀPΠ plus a
local smoother (cell or facet blocks) on the flux space is a mesh-independent
preconditioner of the flux block P of :mod:`femheat.solve.iterative` (Hiptmair–Xu).
Here: the embeddings, the local frames that align vertex blocks with the
auxiliary space, the cell subdomains of the smoother and the cycle itself.

pyamg is imported here only (``pip install pyamg``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem

from ..assembly.system import MixedSystem, block_diagonal_inverse
from ..errors import SolverError

__all__ = ["p1_embedding", "p2_embedding"]


def _pyamg():
    try:
        import pyamg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverError("the iterative solver needs pyamg: pip install pyamg") from exc
    return pyamg


def _amg(matrix: sp.spmatrix, near_nullspace: np.ndarray | None = None):
    pyamg = _pyamg()
    ml = pyamg.smoothed_aggregation_solver(sp.csr_matrix(matrix), B=near_nullspace,
                                           max_coarse=500)
    return ml.aspreconditioner(cycle="V")


# ------------------------------------------------------------ auxiliary space
def p1_embedding(system: MixedSystem) -> sp.csr_matrix:
    """Π: continuous P1ᵈ vector fields → the flux space (exact inclusion).

    Columns are numbered vertex-major, ``d * vertex + component`` (as
    ``skfem.ElementVector(ElementTetP1())``). A P1ᵈ field u is continuous, so
    it lies in BDM1 and in RT of order 1; its coefficients are the flux DOF
    functionals applied to u: on each facet F, ∫_F u·n_F λ_v ds (n_F outward
    from the facet's first cell, v the facet's vertices in global order, see
    :mod:`femheat.element.hdiv`), and for RT the interior moments J⁻¹∫_K u dx.
    """
    qb = system.flux_basis
    mesh = qb.mesh
    p, t, f = mesh.p, mesh.t, mesh.facets
    d, nv = p.shape
    dofs = qb.dofs
    if dofs.facet_dofs.shape[0] != d or dofs.interior_dofs.shape[0] not in (0, d):
        return _local_embedding(qb)
    if d == 3:
        cross = np.cross((p[:, f[1]] - p[:, f[0]]).T, (p[:, f[2]] - p[:, f[0]]).T).T
        measure = 0.5 * np.linalg.norm(cross, axis=0)
        normal = cross / (2 * measure)
    else:
        edge = p[:, f[1]] - p[:, f[0]]
        measure = np.linalg.norm(edge, axis=0)
        normal = np.vstack([edge[1], -edge[0]]) / measure
    first = mesh.f2t[0]
    outward = (p[:, f].mean(axis=1) - p[:, t[:, first]].mean(axis=1)) * normal
    normal = normal * np.sign(outward.sum(axis=0))
    verts = np.sort(f, axis=0)
    # ∫_F λ_i λ_j ds = |F| (1 + δ_ij) / (d (d + 1))
    rows, cols, vals = [], [], []
    for j in range(d):
        dof = dofs.facet_dofs[j]
        for k in range(d):
            weight = measure * (1.0 + (j == k)) / (d * (d + 1))
            for c in range(d):
                rows.append(dof)
                cols.append(d * verts[k] + c)
                vals.append(normal[c] * weight)
    if dofs.interior_dofs.shape[0]:
        J = np.moveaxis(qb.mapping.A, -1, 0)  # (nel, d, d)
        Jinv = np.linalg.inv(J)
        vol = np.abs(np.linalg.det(J)) / np.prod(np.arange(1, d + 1))
        for i in range(d):  # interior DOF i of each cell
            dof = dofs.interior_dofs[i]
            for w in range(d + 1):
                for c in range(d):
                    rows.append(dof)
                    cols.append(d * t[w] + c)
                    vals.append(Jinv[:, i, c] * vol / (d + 1))
    rows, cols, vals = (np.concatenate([np.ravel(a) for a in x]) for x in (rows, cols, vals))
    # every facet DOF was written once per facet (first cell); duplicates cannot occur
    return sp.csr_matrix((vals, (rows, cols)), shape=(qb.N, d * nv))


def _local_embedding(qb, degree: int = 1) -> sp.csr_matrix:
    """Π for any flux space containing Pₖᵈ (k = ``degree``; e.g. BDM2 and k = 1 or 2):
    the coefficients of each nodal field φ_w e_c (φ_w the continuous Lagrange Pₖ basis,
    numbered as scikit-fem's ``ElementTriP1/P2``/``ElementTetP1/P2``), cell by cell,
    from the local L² projection (exact, as the field lies in the local space); a
    DOF shared by m cells gets m equal values, each weighted 1/m. Columns are
    ``d * node + component``."""
    mesh = qb.mesh
    d = mesh.p.shape[0]
    lagrange = {(2, 1): skfem.ElementTriP1, (2, 2): skfem.ElementTriP2,
                (3, 1): skfem.ElementTetP1, (3, 2): skfem.ElementTetP2}[(d, degree)]()
    ab = qb.with_element(lagrange)
    hats = np.array([b[0].value for b in ab.basis])  # (n_nodes_local, nel, nq)
    phi = np.array([b[0].value for b in qb.basis])  # (nloc, d, nel, nq)
    M = np.einsum("acen,bcen,en->eab", phi, phi, qb.dx)
    R = np.einsum("acen,wen,en->eawc", phi, hats, qb.dx).reshape(M.shape[0], M.shape[1], -1)
    coef = np.linalg.solve(M, R)  # (nel, nloc, n_nodes_local d)
    ed = qb.element_dofs  # (nloc, nel)
    share = np.bincount(ed.ravel(), minlength=qb.N)
    rows = np.broadcast_to(ed.T[:, :, None], coef.shape)
    cols = (d * ab.element_dofs.T[:, None, :, None] + np.arange(d)[None, None, None, :]).reshape(
        mesh.t.shape[1], 1, -1)
    cols = np.broadcast_to(cols, coef.shape)
    vals = coef / share[rows]
    keep = np.abs(coef) > 1e-12 * np.abs(coef).max()
    return sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(qb.N, d * ab.N))


def p2_embedding(system: MixedSystem) -> sp.csr_matrix:
    """Π: continuous P2ᵈ vector fields → a flux space containing complete P2 (BDM2).

    Exact inclusion, from the cell-local L² projection; columns ``d * node +
    component`` with the nodes of scikit-fem's ``ElementTriP2``/``ElementTetP2``
    (vertices, then facet (2D) or edge (3D) midpoints)."""
    if _auxiliary_degree(system) != 2:
        raise SolverError("continuous P2 fields lie in the flux space only for BDM2 "
                          "(the gk model at degree 1)")
    return _local_embedding(system.flux_basis, 2)


def _auxiliary_degree(system: MixedSystem) -> int:
    """2 if the flux space holds complete P2 (BDM2: d·dim P2 local DOFs), else 1."""
    qb = system.flux_basis
    d = qb.mesh.p.shape[0]
    return 2 if qb.element_dofs.shape[0] == d * (d + 1) * (d + 2) // 2 else 1


def _embedding_frames(system: MixedSystem, Pi: sp.csr_matrix, tol: float = 0.2
                      ) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_vertex_frames`, for any nodal auxiliary space, read from Π itself.

    For each node w, the rows of the essential (prescribed q·n) flux DOFs restricted to
    the node's d columns are the directions that move those DOFs (the facet normal on
    a flat wall); Σ of their normalized outer products gives, by eigenvectors, the
    directions dropped (eigenvalue above ``tol`` times the largest).
    """
    d = system.flux_basis.mesh.p.shape[0]
    nodes = Pi.shape[1] // d
    N = np.zeros((nodes, d, d))
    if system.essential_dofs.size:
        E = Pi.tocsr()[system.essential_dofs].tocoo()
        node, comp = E.col // d, E.col % d
        key, where = np.unique(E.row.astype(np.int64) * nodes + node, return_inverse=True)
        vec = np.zeros((key.size, d))
        np.add.at(vec, (where, comp), E.data)
        vec /= np.maximum(np.linalg.norm(vec, axis=1), 1e-300)[:, None]
        np.add.at(N, key % nodes, np.einsum("ni,nj->nij", vec, vec))
    lam, Q = np.linalg.eigh(N)  # ascending; the identity frame where N = 0
    return Q, lam <= tol * lam[:, -1:]


def _vertex_frames(system: MixedSystem, tol: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal frame per vertex and which of its directions the auxiliary space keeps.

    Returns Q (n_vertices, d, d), columns = directions, and keep (n_vertices, d).
    On vertices of facets whose normal flux is prescribed (essential DOFs), the
    normal directions (eigenvectors of Σ n nᵀ over those facets with eigenvalue
    above ``tol`` times the largest) are dropped: the auxiliary field must not
    move the eliminated DOFs. Elsewhere all d components are kept.
    """
    qb = system.flux_basis
    mesh = qb.mesh
    d, nv = mesh.p.shape
    N = np.zeros((nv, d, d))
    if system.essential_dofs.size:
        fixed = np.zeros(qb.N, dtype=bool)
        fixed[system.essential_dofs] = True
        facets = np.nonzero(fixed[qb.dofs.facet_dofs].all(axis=0))[0]
        p, f = mesh.p, mesh.facets[:, facets]
        if d == 3:
            nrm = np.cross((p[:, f[1]] - p[:, f[0]]).T, (p[:, f[2]] - p[:, f[0]]).T).T
        else:
            edge = p[:, f[1]] - p[:, f[0]]
            nrm = np.vstack([edge[1], -edge[0]])
        nrm = nrm / np.linalg.norm(nrm, axis=0)
        outer = np.einsum("in,jn->nij", nrm, nrm)
        for k in range(d):
            np.add.at(N, f[k], outer)
    lam, Q = np.linalg.eigh(N)  # ascending; the identity frame where N = 0
    return Q, lam <= tol * lam[:, -1:]


def _blocks_aligned(system: MixedSystem) -> bool:
    """True if the free flux DOFs form consecutive groups of d (one per facet/cell)."""
    d = _block_size(system)
    free = system.free_dofs
    if free.size % d:
        return False
    g = free.reshape(-1, d)
    return bool(np.all(g[:, 0] % d == 0) and np.all(np.diff(g, axis=1) == 1))


def _cell_subdomains(system: MixedSystem, P: sp.csr_matrix):
    """Overlapping cell subdomains for pyamg's multiplicative Schwarz smoother.

    Each subdomain is the free flux DOFs of one cell (sorted), with the inverse
    of its diagonal block of P (row-major), as ``pyamg.relaxation.relaxation.
    schwarz`` expects. Essential DOFs are left out of the blocks.
    """
    N = P.shape[0]
    local = np.full(system.n_flux, N, dtype=np.int64)  # N marks an eliminated DOF
    local[system.free_dofs] = np.arange(N)
    ed = np.sort(local[system.flux_basis.element_dofs], axis=0).T  # (nel, nloc)
    valid = ed < N
    idx = np.where(valid, ed, 0)
    nel, nloc = ed.shape
    rows = np.repeat(idx, nloc, axis=1).ravel()
    cols = np.tile(idx, (1, nloc)).ravel()
    blocks = np.asarray(P[rows, cols]).reshape(nel, nloc, nloc)
    both = valid[:, :, None] & valid[:, None, :]
    eye = np.broadcast_to(np.eye(nloc, dtype=bool), blocks.shape)
    blocks = np.where(both, blocks, np.where(eye, 1.0, 0.0))
    inv = np.linalg.inv(blocks)
    count = valid.sum(axis=1)
    sub = ed[valid].astype(np.int32)
    ptr = np.concatenate([[0], np.cumsum(count)]).astype(np.int32)
    inv_data = inv[both]  # valid DOFs lead each sorted row, so this is row-major
    inv_ptr = np.concatenate([[0], np.cumsum(count**2)]).astype(np.int32)
    return sub, ptr, inv_data, inv_ptr


class _AuxiliarySpace:
    """One symmetric two-level auxiliary-space cycle for the flux block (module docstring)."""

    def __init__(self, system: MixedSystem, P: sp.csr_matrix, sweeps: int = 1,
                 smoother: str = "cell", auxiliary: str = "auto"):
        pyamg = _pyamg()
        from pyamg.relaxation.relaxation import block_gauss_seidel, gauss_seidel, schwarz

        d = system.flux_basis.mesh.p.shape[0]
        # Pₖᵈ in a frame per node (normal/tangential on walls with prescribed q·n);
        # the dropped directions get a decoupled diagonal row so that the coarse
        # matrix keeps its d x d node blocks (BSR) for the AMG
        self.degree = _auxiliary_degree(system) if auxiliary == "auto" else int(auxiliary[1])
        if self.degree == 1:
            embed = p1_embedding(system).tocsr()
            Q, keep = _vertex_frames(system)
        else:
            embed = p2_embedding(system).tocsr()
            Q, keep = _embedding_frames(system, embed)
        nv = embed.shape[1] // d
        r = (d * np.arange(nv)[:, None, None] + np.arange(d)[None, :, None]
             + np.zeros((1, 1, d), dtype=int))
        frames = sp.csr_matrix((Q.ravel(), (r.ravel(), np.swapaxes(r, 1, 2).ravel())),
                               shape=(d * nv, d * nv))
        Pi = (embed[system.free_dofs] @ frames).tocsr()
        full = (Pi.T @ P @ Pi).tocsr()
        keep = keep.ravel()
        K = sp.diags(keep.astype(float))
        self.Pi = (Pi @ K).tocsr()
        self.PiT = self.Pi.T.tocsr()
        Ac = (K @ full @ K + sp.diags(np.where(keep, 0.0, np.abs(full.diagonal()) + 1e-300)))
        constants = (frames.T @ np.kron(np.ones((nv, 1)), np.eye(d))) * keep[:, None]
        self._coarse = pyamg.smoothed_aggregation_solver(
            sp.bsr_matrix(Ac, blocksize=(d, d)), B=constants, strength="evolution",
            smooth="energy", max_coarse=500).aspreconditioner(cycle="V")
        P = sp.csr_matrix(P, dtype=float)
        P.sort_indices()
        self.P, self.sweeps = P, sweeps
        if smoother == "cell":
            sub, ptr, inv, inv_ptr = _cell_subdomains(system, P)

            def smooth(x, r, sweep):
                schwarz(self.P, x, r, iterations=self.sweeps, subdomain=sub,
                        subdomain_ptr=ptr, inv_subblock=inv, inv_subblock_ptr=inv_ptr,
                        sweep=sweep)
        elif _blocks_aligned(system):
            m = _block_size(system)
            Pb = P.tobsr(blocksize=(m, m))
            diag = Pb.indices == np.repeat(np.arange(Pb.shape[0] // m), np.diff(Pb.indptr))
            Dinv = np.linalg.inv(Pb.data[diag])

            def smooth(x, r, sweep):
                block_gauss_seidel(Pb, x, r, iterations=self.sweeps, sweep=sweep,
                                   blocksize=m, Dinv=Dinv)
        else:  # pragma: no cover - every shipped flux space is aligned
            def smooth(x, r, sweep):
                gauss_seidel(self.P, x, r, iterations=self.sweeps, sweep=sweep)
        self._smooth = smooth

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=float).ravel()
        x = np.zeros_like(r)
        self._smooth(x, r, "forward")
        x += self.Pi @ self._coarse(self.PiT @ (r - self.P @ x))
        self._smooth(x, r, "backward")
        return x


def _block_size(system: MixedSystem) -> int:
    """DOFs per facet of the flux space (d for BDM1/RT, 3 (2D) or 6 (3D) for BDM2);
    cell interiors hold as many (or none)."""
    return system.flux_basis.dofs.facet_dofs.shape[0]


def _facet_block_inverse(matrix: sp.csr_matrix, d: int, aligned: bool) -> sp.csr_matrix:
    """Inverse of the d × d diagonal blocks (one per facet); the diagonal if not aligned."""
    if not aligned:
        return sp.diags(1.0 / matrix.diagonal()).tocsr()
    n = matrix.shape[0]
    groups = np.arange(n).reshape(-1, d).T  # (d, n/d), like element_dofs
    return block_diagonal_inverse(matrix, groups)
