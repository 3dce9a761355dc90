r"""Batched assembly of the viscous (Guyer–Krumhansl) flux operators.

scikit-fem assembles a bilinear form once per pair of local basis functions, so
each function's gradient and normal derivative is recomputed for every partner
(144 passes over the mesh for 3D BDM1). Here every local function's factors are
formed once and each cell's (facet's) local matrix comes from one batched matrix
product, in chunks of cells (facets) of at most ``chunk_entries`` local entries,
which bounds the transient memory. The forms of :mod:`femheat.assembly.forms`
(:func:`~femheat.assembly.forms.flux_viscosity`,
:func:`~femheat.assembly.forms.flux_grad_div`,
:func:`~femheat.assembly.forms.interior_penalty`,
:func:`~femheat.assembly.forms.flux_mass`) stay the definition: the matrices
here equal theirs to round-off (``tests/test_gk_assembly.py``). The penalty on
projected jumps (``projection_degree``, what :mod:`femheat.assembly.gk` uses on affine
simplices) is interior_penalty's consistency terms plus σν_max Σ_a M_a M_aᵀ over the
jumps' moments against an orthonormal facet basis (:func:`facet_orthonormal_basis`;
tested against that definition).

Three further savings for the interior penalty (``fh.assemble`` of a 2D BDM1 channel at
260k unknowns 2.25 → 1.05 s, 3D at 1.15M 50 → 19 s; ``benchmarks/README.md``):

* the facet traces of BDM1 on affine cells come from the cell basis
  (:class:`AffineFacetTraces`: u is affine on a cell) instead of two
  :class:`skfem.InteriorFacetBasis`, in a facet-major layout that the batched
  products read without transposing;
* each facet's blocks that couple a side with itself go into per-cell blocks, with
  the cell terms (:func:`cell_viscosity_blocks`), so the COO → CSR conversion sorts
  about half the entries;
* the pieces are summed as a binary tree (:class:`MatrixSum`), not each into the
  growing sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem
from skfem.mapping import MappingAffine

from ..mesh.normals import facet_normals

__all__ = ["FacetTraces", "AffineFacetTraces", "affine_traces_apply",
           "blocks_matrix", "cell_mass_matrix", "cell_viscosity_blocks", "cell_viscosity_matrix",
           "facet_orthonormal_basis", "interior_penalty_matrix",
           "MatrixSum", "sum_matrices", "wall_no_slip_matrix"]


def _times(nu, u):
    """ν acting on the component index of a stack u (m, d, ..., n, q)."""
    if np.ndim(nu) <= 2:
        return nu * u
    return np.einsum("ij...,mj...->mi...", nu, u)


def _per_entity(u: np.ndarray, axis: int) -> np.ndarray:
    """(m, ..., n, ...) -> (n, m, rest): one row per local function, per cell/facet n."""
    return np.ascontiguousarray(np.moveaxis(u, axis, 0)).reshape(u.shape[axis], u.shape[0], -1)


def _append(K: np.ndarray, dofs: np.ndarray, rows: list, cols: list, vals: list,
            col_dofs: np.ndarray | None = None) -> None:
    """Queue the local matrices K (n, m, k) of entities with row DOFs ``dofs`` (m, n)
    and column DOFs ``col_dofs`` (k, n; default ``dofs``)."""
    r = _index(dofs.T)
    c = r if col_dofs is None else _index(col_dofs.T)
    rows.append(np.broadcast_to(r[:, :, None], K.shape).ravel())
    cols.append(np.broadcast_to(c[:, None, :], K.shape).ravel())
    vals.append(K.ravel())


def _index(dofs: np.ndarray) -> np.ndarray:
    """DOF indices as int32 where they fit (what scipy's CSR keeps: int64 COO indices
    would be converted, a copy of every entry's indices)."""
    return dofs.astype(np.int32) if dofs.size and dofs.max() < 2**31 - 1 else dofs


def _to_csr(rows: list, cols: list, vals: list, N: int) -> sp.csr_matrix:
    if not vals:
        return sp.csr_matrix((N, N))
    return sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(N, N)).tocsr()


def blocks_matrix(blocks: np.ndarray, dofs: np.ndarray, N: int) -> sp.csr_matrix:
    """The N × N matrix of per-entity local matrices ``blocks`` (n, m, m), row = test
    function, on the DOFs ``dofs`` (m, n)."""
    rows, cols, vals = [], [], []
    _append(blocks, dofs, rows, cols, vals)
    return _to_csr(rows, cols, vals, N)


class MatrixSum:
    """A sum of sparse N × N matrices, merged as they come like the digits of a binary
    counter (two partial sums of the same level are added), so k pieces cost
    O(nnz log k) instead of the O(k nnz) of adding each to the growing sum, while at
    most the pieces of one level and their merge are held, not all of them at once."""

    def __init__(self, N: int, max_level: int | None = None):
        self.N = N
        # partial sums of at most 2**max_level pieces until result(): the caller frees
        # its own arrays first, so the largest merges meet a smaller footprint
        self.max_level = max_level
        self._stack: list = []  # (level, csr), levels decreasing

    def add(self, matrix) -> None:
        level, total = 0, sp.csr_matrix(matrix)
        while (self._stack and self._stack[-1][0] == level
               and (self.max_level is None or level < self.max_level)):
            total = self._stack.pop()[1] + total
            level += 1
        self._stack.append((level, total))

    def add_blocks(self, blocks: np.ndarray, dofs: np.ndarray,
                   chunk_entries: int = 4_000_000) -> None:
        """Add the per-entity local matrices ``blocks`` (n, m, m) on ``dofs`` (m, n)
        (:func:`blocks_matrix`), converted in pieces of at most ``chunk_entries``."""
        step = max(1, chunk_entries // max(1, blocks[0].size if len(blocks) else 1))
        for a in range(0, len(blocks), step):
            self.add(blocks_matrix(blocks[a:a + step], dofs[:, a:a + step], self.N))

    def result(self) -> sp.csr_matrix:
        """The sum; the pieces are merged smallest first and released as they go."""
        self._stack.sort(key=lambda item: item[1].nnz)
        total = sp.csr_matrix((self.N, self.N))
        while self._stack:
            total = self._stack.pop(0)[1] + total
        return total.tocsr()


def sum_matrices(matrices: list, N: int) -> sp.csr_matrix:
    """Σ matrices (N × N), through :class:`MatrixSum`."""
    acc = MatrixSum(N)
    for m in matrices:
        acc.add(m)
    return acc.result()


def cell_mass_matrix(basis, kinv, chunk_entries: int = 1_000_000) -> sp.csr_matrix:
    r"""Σ_K (A q, v)_K: the matrix of :func:`~femheat.assembly.forms.flux_mass` on the
    cell basis ``basis`` (Cartesian dx),

    K_ij = Σ_q dx (A φ_j)·φ_i,

    A = ``kinv`` a number, a scalar field (cells, points), the diagonal (d, cells,
    points) or the tensor (d, d, cells, points) acting on the flux components.
    """
    dx = basis.dx
    nloc, nel = basis.Nbfun, dx.shape[0]
    step = max(1, chunk_entries // (nloc * nloc))
    a = np.asarray(kinv, dtype=float)
    rows, cols, vals = [], [], []
    for start in range(0, nel, step):
        c = slice(start, min(start + step, nel))
        u = np.stack([basis.basis[i][0].value[:, c] for i in range(nloc)])  # (m, d, n, q)
        if a.ndim == 4:
            au = np.einsum("ij...,mj...->mi...", a[:, :, c], u)
        else:
            au = (a if a.ndim == 0 else a[..., c, :]) * u
        K = _per_entity(au * dx[c], 2) @ _per_entity(u, 2).transpose(0, 2, 1)
        # K[n, j(trial), i(test)] -> the matrix row is the test function
        _append(np.ascontiguousarray(K.transpose(0, 2, 1)), basis.element_dofs[:, c],
                rows, cols, vals)
    return _to_csr(rows, cols, vals, basis.N)


def cell_viscosity_blocks(basis, nu, nu_div=None, chunk_entries: int = 1_000_000
                          ) -> np.ndarray:
    r"""The local matrices (cells, m, m), row = test function, of
    Σ_K (ν∇q, ∇v)_K + (ν_div ∇·q, ∇·v): :func:`~femheat.assembly.forms.flux_viscosity`
    (``nu``) plus :func:`~femheat.assembly.forms.flux_grad_div` (``nu_div``, optional)
    on the cell basis ``basis`` of an element with gradients (:mod:`femheat.element.hdiv`),

    K_ij = Σ_q dx [ (ν ∇φ_j) : ∇φ_i + ν_div ∇·φ_j ∇·φ_i ],

    ν a scalar field (cells, points) or a tensor field (d, d, cells, points) acting on
    the flux components, ν_div a scalar field (Cartesian measure dx only).
    """
    dx = basis.dx
    nloc, nel = basis.Nbfun, dx.shape[0]
    step = max(1, chunk_entries // (nloc * nloc))
    out = np.empty((nel, nloc, nloc))
    constant = affine_traces_apply(basis)  # BDM1 on affine cells: ∇φ constant per cell
    for a in range(0, nel, step):
        c = slice(a, min(a + step, nel))
        w = dx[c]
        if constant:  # Σ_q dx ν ∇φ_j:∇φ_i = (Σ_q dx ν) ∇φ_j:∇φ_i, one point per cell
            w = w.sum(axis=1, keepdims=True)
            nu_c = nu if np.ndim(nu) == 0 else np.einsum("...nq,nq->...n", nu[..., c, :],
                                                         dx[c])[..., None] / w
            grad = np.stack([basis.basis[i][0].grad[:, :, c, :1] for i in range(nloc)])
            test = _per_entity(grad, 3)
            K = _per_entity(_times(nu_c, grad) * w, 3) @ test.transpose(0, 2, 1)
            if nu_div is not None:
                div = np.stack([basis.basis[i][0].div[c, :1] for i in range(nloc)])  # (m, n, 1)
                nd = nu_div if np.ndim(nu_div) == 0 else np.einsum(
                    "nq,nq->n", nu_div[c], dx[c])[:, None] / w
                dtest = _per_entity(div, 1)
                K += _per_entity(div * (nd * w), 1) @ dtest.transpose(0, 2, 1)
            out[c] = K.transpose(0, 2, 1)
            continue
        grad = np.stack([basis.basis[i][0].grad[:, :, c] for i in range(nloc)])  # (m,d,d,n,q)
        nu_c = nu if np.ndim(nu) == 0 else nu[..., c, :]
        test = _per_entity(grad, 3)
        K = _per_entity(_times(nu_c, grad) * w, 3) @ test.transpose(0, 2, 1)
        if nu_div is not None:
            div = np.stack([basis.basis[i][0].div[c] for i in range(nloc)])  # (m, n, q)
            nd = nu_div if np.ndim(nu_div) == 0 else nu_div[c]
            dtest = _per_entity(div, 1)
            K += _per_entity(div * (nd * w), 1) @ dtest.transpose(0, 2, 1)
        out[c] = K.transpose(0, 2, 1)  # K[n, j(trial), i(test)]: the row is the test
    return out


def cell_viscosity_matrix(basis, nu, nu_div=None, chunk_entries: int = 1_000_000
                          ) -> sp.csr_matrix:
    """The matrix of :func:`cell_viscosity_blocks` (same arguments)."""
    return blocks_matrix(cell_viscosity_blocks(basis, nu, nu_div, chunk_entries),
                         basis.element_dofs, basis.N)


@dataclass
class FacetTraces:
    """The two one-sided traces of a flux space on interior facets: what the interior
    penalty needs of :class:`skfem.InteriorFacetBasis` ``side=0, 1``, facet-major.

    ``values[s]`` (nf, m, d, nq) and ``normal_derivatives[s]`` (∇u)n (nf, m, d, nq) of
    the m local functions of side s's cell ``cells[s]`` (nf), ``dofs[s]`` (m, nf) their
    global DOFs;
    ``x`` (d, nf, nq) the quadrature points, ``dx`` (nf, nq) their weights [m^(d−1)];
    ``N`` the number of global DOFs.
    """

    values: list
    normal_derivatives: list
    cells: list
    dofs: list
    x: np.ndarray
    dx: np.ndarray
    N: int

    @classmethod
    def from_bases(cls, fbs) -> "FacetTraces":
        """From [InteriorFacetBasis(side=0), InteriorFacetBasis(side=1)] (any element
        with gradients, any mesh)."""
        n = fbs[0].normals.value
        values, derivatives = [], []
        for fb in fbs:
            u = np.stack([fb.basis[i][0].value for i in range(fb.Nbfun)])
            du = np.stack([np.einsum("ijfq,jfq->ifq", fb.basis[i][0].grad, n)
                           for i in range(fb.Nbfun)])
            values.append(np.ascontiguousarray(np.moveaxis(u, 2, 0)))
            derivatives.append(np.ascontiguousarray(np.moveaxis(du, 2, 0)))
        return cls(values, derivatives, [fb.tind for fb in fbs], [fb.element_dofs for fb in fbs],
                   fbs[0].global_coordinates().value, fbs[0].dx, fbs[0].N)


def affine_traces_apply(basis) -> bool:
    """Whether :class:`AffineFacetTraces` applies to the cell basis ``basis``: an
    element of polynomial degree 1 (BDM1, :mod:`femheat.element.hdiv`) on a mesh of
    affine simplices."""
    return (getattr(basis.elem, "space", None) == "bdm1"
            and isinstance(basis.mapping, MappingAffine)
            and getattr(basis.mesh.refdom, "__name__", "") in ("RefTri", "RefTet"))


class AffineFacetTraces:
    r"""The traces of a degree-1 flux space (BDM1) on interior facets, from the cell
    basis ``basis`` alone: ``AffineFacetTraces(basis)(facets, order)`` is a
    :class:`FacetTraces`.

    A BDM1 function u is affine on each (affine) cell K: u(x) = u(x_K) + ∇u (x − x_K),
    with ∇u constant and u(x_K) the cell mean of u (x_K the centroid), both read once
    from the cell basis already evaluated for the cell terms. Its traces at the facet
    quadrature points and (∇u)n follow without a facet basis (scikit-fem's maps every
    local function's value and gradient at every facet point, twice per facet). Equal
    to :meth:`FacetTraces.from_bases` of InteriorFacetBasis(..., intorder=order) to
    round-off (``tests/test_gk_assembly.py``). Requires :func:`affine_traces_apply`.
    """

    def __init__(self, basis):
        if not affine_traces_apply(basis):
            raise ValueError("AffineFacetTraces needs BDM1 on affine simplices")
        self.basis = basis
        w = basis.dx / basis.dx.sum(axis=1, keepdims=True)
        fields = [basis.basis[i][0] for i in range(basis.Nbfun)]
        # cell-major: (cells, m, d) means and (cells, m·d, d) gradients (∂_j u_i at [i, j])
        self.means = np.ascontiguousarray(np.stack(
            [(f.value * w).sum(axis=-1) for f in fields]).transpose(2, 0, 1))
        grads = np.stack([f.grad[..., 0] for f in fields])  # (m, d, d, cells)
        self.gradients = np.ascontiguousarray(grads.transpose(3, 0, 1, 2)).reshape(
            grads.shape[-1], -1, grads.shape[2])
        self.centroids = basis.mesh.p[:, basis.mesh.t].mean(axis=1)  # (d, cells)

    def __call__(self, facets: np.ndarray, order: int, sides: tuple = (0, 1)) -> FacetTraces:
        """The traces of ``sides`` (0: the facets' first cells, 1: their second; a
        boundary facet has side 0 only) at the points of a rule of order ``order``;
        :attr:`normals` of the last call: the facets' unit normals out of side 0 (d, nf)."""
        basis, mesh = self.basis, self.basis.mesh
        d, m = mesh.p.shape[0], basis.Nbfun
        X, W = skfem.quadrature.get_quadrature(mesh.brefdom, order)
        x = basis.mapping.G(X, find=facets)  # (d, nf, nq), scikit-fem's facet points
        dx = np.abs(basis.mapping.detDG(X, find=facets)) * W
        n, _ = facet_normals(mesh, facets, self.centroids)  # out of side 0
        self.normals = n

        values, derivatives, cells_of, dofs = [], [], [], []
        nf, nq = x.shape[1:]
        for side in sides:
            cells = mesh.f2t[side, facets]
            r = (x - self.centroids[:, cells, None]).transpose(1, 0, 2)  # (nf, d, nq)
            grad = self.gradients[cells]  # (nf, m·d, d)
            u = (grad @ r).reshape(nf, m, d, nq) + self.means[cells][..., None]
            du = (grad @ n.T[:, :, None]).reshape(nf, m, d, 1)
            values.append(u)
            derivatives.append(np.broadcast_to(du, u.shape))
            cells_of.append(cells)
            dofs.append(basis.element_dofs[:, cells])
        return FacetTraces(values, derivatives, cells_of, dofs, x, dx, basis.N)


def wall_no_slip_matrix(traces: FacetTraces, normals: np.ndarray, nu: np.ndarray,
                        sigma: np.ndarray) -> sp.csr_matrix:
    r"""The matrix of :func:`~femheat.assembly.forms.wall_no_slip` (Nitsche q_t = 0)
    on boundary facets, from their one-sided :class:`FacetTraces` (side 0), their unit
    outward ``normals`` (d, nf) and scalar fields ν, σ (nf, nq):

    K_ij = Σ_q dx [σν J_j·J_i − ν(∇u_j)n·J_i − ν(∇u_i)n·J_j],  J = u − (u·n)n,

    as Y + Yᵀ with Y = Jw (½σνJ − ν(∇u)n)ᵀ, one batched product per facet.
    """
    u, du = traces.values[0], traces.normal_derivatives[0]  # (nf, m, d, nq)
    n = normals.T[:, None, :, None]  # (nf, 1, d, 1)
    J = u - np.sum(u * n, axis=2, keepdims=True) * n
    shape = (u.shape[0], u.shape[1], -1)
    Jw = (J * traces.dx[:, None, None, :]).reshape(shape)
    X = (0.5 * sigma * nu)[:, None, None, :] * J - nu[:, None, None, :] * du
    Y = Jw @ X.reshape(shape).transpose(0, 2, 1)
    return blocks_matrix(np.ascontiguousarray(Y + Y.transpose(0, 2, 1)), traces.dofs[0],
                         traces.N)


def _times_facets(nu, u):
    """ν acting on the component index of facet-major u (nf, m, d, nq): ν a scalar
    field (nf, nq) or a tensor field (d, d, nf, nq)."""
    if np.ndim(nu) <= 2:
        return np.asarray(nu)[:, None, None, :] * u
    return np.einsum("ijfq,fmjq->fmiq", nu, u)


def facet_orthonormal_basis(x: np.ndarray, dx: np.ndarray, degree: int) -> np.ndarray:
    """An orthonormal basis of P_degree on each facet, ``degree`` 0 or 1, at its
    quadrature points ``x`` (d, nf, nq) with weights ``dx`` (nf, nq) [m^(d−1)]:
    Φ (nf, nq, m) with Σ_q dx Φ_a Φ_b = δ_ab (m = 1, or d for degree 1: 1 and the
    d − 1 tangential coordinates, orthonormalized by Cholesky of their Gram matrix).
    Weights that carry 2πr give the r-weighted basis of the (r, z) forms."""
    if degree not in (0, 1):
        raise ValueError(f"facet moments of degree {degree}: only 0 and 1 are implemented")
    nf, nq = dx.shape
    V = [np.ones((nf, nq))]
    if degree == 1:
        centred = np.moveaxis(x - x.mean(axis=2, keepdims=True), 0, 2)  # (nf, nq, d)
        # the facet's tangent frame: the d − 1 leading principal directions of its points
        frame = np.linalg.svd(centred, full_matrices=False)[2][:, :x.shape[0] - 1]
        V += list(np.einsum("fqd,ftd->tfq", centred, frame))
    V = np.stack(V, axis=-1)  # (nf, nq, m)
    gram = np.einsum("fqa,fq,fqb->fab", V, dx, V)
    L = np.linalg.cholesky(gram)
    return np.swapaxes(np.linalg.solve(L, np.swapaxes(V, 1, 2)), 1, 2)


def _project_on_facets(J: np.ndarray, dx: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """The L²(F) projection of facet-major traces J (nf, m, d, nq) onto the span of the
    orthonormal Φ (nf, nq, k) (:func:`facet_orthonormal_basis`), component-wise."""
    moments = np.einsum("fmdq,fq,fqk->fmdk", J, dx, phi)
    return np.einsum("fmdk,fqk->fmdq", moments, phi)


def interior_penalty_matrix(sides, nu0: np.ndarray, nu1: np.ndarray, nu_max: np.ndarray,
                            sigma: np.ndarray, measure: np.ndarray | None = None,
                            chunk_entries: int = 1_000_000,
                            cell_blocks: np.ndarray | None = None,
                            projection_degree: int | None = None) -> sp.csr_matrix:
    """The matrix of :func:`~femheat.assembly.forms.interior_penalty` on the two sides
    ``sides``: the :class:`FacetTraces` of a flux space on interior facets, or the pair
    [InteriorFacetBasis(side=0), InteriorFacetBasis(side=1)] (then equal to
    ``skfem.asm(interior_penalty, fbs, fbs, nu0=, nu1=, nu_max=, sigma=)``).

    scikit-fem evaluates a form once per pair of local basis functions, recomputing
    each one's normal derivative for every partner (144 passes over all facets for
    BDM1 in 2D); here every local function's jump J, ν(∇u)n and νᵀ(∇u)n is formed
    once and all pairs come from two batched matrix products per facet,
    K_ij = Σ_q dx [σ ν_max J_j·J_i − ½ ν(∇u_j)n·J_i − ½ νᵀ(∇u_i)n·J_j],
    over chunks of facets of at most ``chunk_entries`` local entries. ``measure`` (facet
    points, optional) multiplies dx: 2πr for the (r, z) form of
    :mod:`femheat.assembly.axisymmetric`, which is the Cartesian form times 2πr.

    ``projection_degree`` p (optional): the penalty takes the jumps' L²(F) projections
    onto P_p, σ ν_max Π_p J_j·Π_p J_i (projected jumps, Lehrenfeld & Schöberl, CMAME
    307, 2016); the two consistency terms keep the full jumps
    (:mod:`femheat.assembly.gk`, "Projected jumps").

    ``cell_blocks`` (cells, m, m), optional, the per-cell local matrices of the same
    flux space (:func:`cell_viscosity_blocks`): each facet's blocks coupling a side
    with itself are added there (in place) and only the blocks coupling the two sides
    are returned, which halves the entries the COO → CSR conversion sorts.
    """
    traces = sides if isinstance(sides, FacetTraces) else FacetTraces.from_bases(sides)
    dx = traces.dx
    if measure is not None:
        dx = dx * measure
    nloc = sum(u.shape[1] for u in traces.values)
    nf = dx.shape[0]
    step = max(1, chunk_entries // (nloc * nloc))
    dofs = np.concatenate(traces.dofs)  # (nloc, nf)

    scalar = np.ndim(nu0) <= 2
    rows, cols, vals = [], [], []
    for a in range(0, nf, step):
        f = slice(a, min(a + step, nf))
        jump, a_term, b_term = [], [], []
        for side in (0, 1):
            nu = (nu0 if side == 0 else nu1)[..., f, :]
            u = traces.values[side][f]
            du = traces.normal_derivatives[side][f]  # (∇u) n
            jump.append(u if side == 0 else -u)
            a_term.append(_times_facets(nu, du))
            if not scalar:
                b_term.append(_times_facets(np.swapaxes(nu, 0, 1), du))
        J, A = (np.concatenate(x, axis=1) for x in (jump, a_term))
        shape = (J.shape[0], nloc, -1)  # (facets, local functions, components × points)
        Jw = (J * dx[f][:, None, None, :]).reshape(shape)
        if projection_degree is None:
            P, Pw = J, Jw
        else:
            P = _project_on_facets(J, dx[f], facet_orthonormal_basis(
                traces.x[:, f], dx[f], projection_degree))
            Pw = (P * dx[f][:, None, None, :]).reshape(shape)
        if scalar:  # νᵀ = ν: K = Y + Yᵀ, Y = Pw (½σν_max P)ᵀ − Jw (½A)ᵀ
            S = (0.5 * sigma[f] * nu_max[f])[:, None, None, :] * P
            Y = Pw @ S.reshape(shape).transpose(0, 2, 1) \
                - Jw @ (0.5 * A).reshape(shape).transpose(0, 2, 1)
            K = Y + Y.transpose(0, 2, 1)
        else:
            S = _times_facets(nu_max[..., f, :], P) * sigma[f][:, None, None, :]
            K = Pw @ S.reshape(shape).transpose(0, 2, 1) \
                - 0.5 * (Jw @ A.reshape(shape).transpose(0, 2, 1)) \
                - 0.5 * (np.concatenate(b_term, axis=1).reshape(shape) @ Jw.transpose(0, 2, 1))
        if cell_blocks is None:
            _append(K, dofs[:, f], rows, cols, vals)
            continue
        m = traces.values[0].shape[1]
        d0, d1 = traces.dofs[0][:, f], traces.dofs[1][:, f]  # (m, facets)
        np.add.at(cell_blocks, traces.cells[0][f], K[:, :m, :m])
        np.add.at(cell_blocks, traces.cells[1][f], K[:, m:, m:])
        _append(K[:, :m, m:], d0, rows, cols, vals, d1)
        _append(K[:, m:, :m], d1, rows, cols, vals, d0)
    return _to_csr(rows, cols, vals, traces.N)
