r"""Temperature jumps at interfaces as distributional gradients (seed 004 eqs. 38–41).

At an abrupt interface Γ between materials A and B the temperature may jump.
Seed 004 (eq. 38) writes the jump as a distributional gradient,

.. math::

    \nabla T = \{\nabla T\}_{\text{regular}} + [T]\,\mathbf n_{AB}\,\delta_\Gamma ,
    \qquad [T] = T_B - T_A ,

so that the kernel law (eq. 35) acquires an interface term (eqs. 39–40):

.. math::

    \mathbf q(\mathbf r) = -\int_{V_A+V_B} Z(\mathbf r,\mathbf R)\,\nabla T(\mathbf R)\,dR
                           -\int_\Gamma Z(\mathbf r,\mathbf r')\,\mathbf n_{AB}\,[T](\mathbf r')\,dS' .

For a uniform jump across a planar interface the normal flux is the Kapitza law
q·n_AB = −G_K [T] with the kernel-derived conductance (eq. 41)

.. math::

    G_K(\mathbf r) = \int_\Gamma Z(\mathbf r,\mathbf r')\,dS'
    \quad [\mathrm{W\,m^{-2}\,K^{-1}}],

which for the Gaussian kernel (seed 004 eq. 37, normalized in the mesh dimension
d = 2 or 3) and an infinite plane is G_K = κ/(√(2π) a): the planar marginal of a
d-dimensional Gaussian is the 1D Gaussian, g₁(0) = 1/(√(2π) a)
(:func:`femheat.kernels.moments.gaussian_interface_conductance`;
:func:`femheat.kernels.moments.interface_conductance` integrates any kernel).

Discretization (:class:`InterfaceKernelOperator`). The mesh is split along the
tagged interfaces (:func:`split_mesh`): every node on Γ gets a second copy used
by the cells of side B, so the P1 space carries T_A and T_B independently and
[T] is linear on each interface facet. The generalized gradient of a P1 field
is then (cell gradients ∇T_K, facet-point jumps [T](y_q) n_f), and the bilinear
form a(T, w) = ∫∫ ∇w(r)·Z(r,R)∇T(R) extends by facet–cell blocks
∫_K ∫_f Z and facet–facet blocks ∫_f ∫_f' Z. All blocks are formed densely by
tensor Gauss quadrature, so this operator is meant for small meshes (up to a few
thousand cells: at most ``MAX_DENSE_POINTS`` quadrature points) and bounded kernels
(``kernel.singularity is None``, e.g. the Gaussian). Without interfaces it agrees
with kernel-core's dense ``NonlocalOperator`` to 7e-9 (independent quadratures; see
the tests). It exposes the same protocol as
:class:`~femheat.kernels.operator.NonlocalOperator` (``basis``, ``apply``,
``flux``, ``local_stiffness``, ``kernel``, ``local_fraction``, ``regions``), so
:func:`~femheat.kernels.solvers.solve_steady_nonlocal` and
:class:`~femheat.kernels.solvers.NonlocalTheta` solve with it unchanged.

Conductivity: one scalar κ per subdomain; Z(r, R) = √(κ(r)κ(R)) g(|r − R|), and on
the interface κ is √(κ_A κ_B). The local part of a two-phase law (ξ > 0) acts on the
regular gradient only: across Γ heat is carried by the kernel, so a split interface
with ξ > 0 has a resistance (with ξ = 0 a jump is nearly free -- the kernel cannot tell
it from a steep ramp -- and the steady problem is even worse conditioned).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np
import scipy.sparse as sp
import skfem
from skfem.helpers import dot, grad

from ..errors import FemheatInputError, MeshError
from ..mesh.regions import RegionMesh
from ..validation import finite_array, positive

__all__ = [
    "SplitMesh",
    "split_mesh",
    "InterfaceKernelOperator",
]

log = logging.getLogger(__name__)

Conductivity = Union[float, Mapping[str, float]]

#: Largest number of cell-quadrature points for which the dense blocks are formed.
MAX_DENSE_POINTS = 40_000


# ================================================================ mesh splitting
@dataclass
class SplitMesh:
    """A mesh cut open along interfaces (side-B copies of the interface nodes).

    Attributes
    ----------
    regions
        The split :class:`~femheat.mesh.regions.RegionMesh`: same cells (same order) and
        subdomains, boundaries carried over, interfaces removed (they are now two
        facets each, named ``"<name>:A"`` and ``"<name>:B"`` boundaries).
    parent
        For every node of the split mesh, the node of the original mesh.
    facet_pairs
        Name -> (nf, 2) facet indices of the split mesh: (side-A facet, side-B facet).
    normals
        Name -> (d, nf) unit normals n_AB (from side A to side B).
    sides
        Name -> (A, B) subdomain names.
    """

    regions: RegionMesh
    parent: np.ndarray
    facet_pairs: dict
    normals: dict
    sides: dict


def split_mesh(regions: RegionMesh, interfaces: Sequence[str]) -> SplitMesh:
    """Duplicate the nodes of the named interfaces for the cells of side B.

    Side A is the first subdomain of the pair (see
    :meth:`~femheat.mesh.regions.RegionMesh.interface_orientation`). Interfaces must not
    meet each other; an interface node is copied once, for side B.

    Raises
    ------
    RegionError
        For an unknown interface name.
    MeshError
        If two interfaces share nodes.
    """
    mesh = regions.mesh
    p, t = mesh.p, mesh.t.copy()
    new_p = [p]
    parent = list(range(p.shape[1]))
    used = np.zeros(p.shape[1], dtype=bool)
    sides, normals_old, facets_old = {}, {}, {}
    copy_of: dict[str, np.ndarray] = {}
    for name in interfaces:
        facets = regions.interface(name)
        sign, (a, b) = regions.interface_orientation(name)
        nodes = np.unique(mesh.facets[:, facets])
        if np.any(used[nodes]):
            raise MeshError(f"interface {name!r} shares nodes with another split interface; "
                            "split interfaces must not meet")
        used[nodes] = True
        start = len(parent)
        mapping = np.full(p.shape[1], -1, dtype=np.int64)
        mapping[nodes] = np.arange(start, start + nodes.size)
        new_p.append(p[:, nodes])
        parent.extend(nodes.tolist())
        cells_b = regions.subdomain(b)
        tb = t[:, cells_b]
        hit = mapping[tb] >= 0
        tb[hit] = mapping[tb[hit]]
        t[:, cells_b] = tb
        copy_of[name] = mapping
        sides[name] = (a, b)
        # normals of the original facets, oriented A -> B
        fb = skfem.FacetBasis(mesh, _p1(mesh), facets=facets, intorder=1)
        n = fb.normals.value[:, :, 0] * sign[None, :]
        normals_old[name] = n
        facets_old[name] = facets
    P = np.hstack(new_p)
    new_mesh = type(mesh)(P, t)
    # locate facets of the split mesh by their (sorted) node tuples
    key = {tuple(sorted(col)): i for i, col in enumerate(new_mesh.facets.T)}

    def find(nodes: np.ndarray) -> np.ndarray:
        return np.array([key[tuple(sorted(col))] for col in nodes.T], dtype=np.int64)

    pairs, normals = {}, {}
    for name in interfaces:
        facets = facets_old[name]
        fa = mesh.facets[:, facets]
        fbn = copy_of[name][fa]
        pairs[name] = np.stack([find(fa), find(fbn)], axis=1)
        normals[name] = normals_old[name]

    def carry(facets: np.ndarray) -> np.ndarray:
        """Facets of the split mesh for original facets: each keeps the nodes of its
        first cell (f2t[0]), i.e. side A's copy for an interior facet of side A."""
        cells = mesh.f2t[0, facets]
        old = mesh.facets[:, facets]
        local = np.argmax(mesh.t[:, cells][None, :, :] == old[:, None, :], axis=1)
        return find(t[local, cells])

    boundaries = {bname: carry(facets) for bname, facets in regions.boundaries.items()}
    for name in interfaces:
        boundaries[f"{name}:A"] = pairs[name][:, 0]
        boundaries[f"{name}:B"] = pairs[name][:, 1]
    interfaces_new = {k: carry(v) for k, v in regions.interfaces.items() if k not in interfaces}
    split = RegionMesh(new_mesh, {k: v.copy() for k, v in regions.subdomains.items()},
                       boundaries, interfaces_new,
                       dict(regions.metadata, split_interfaces=list(interfaces)))
    return SplitMesh(split, np.asarray(parent, dtype=np.int64), pairs, normals, sides)


def _p1(mesh: skfem.Mesh) -> skfem.Element:
    return skfem.ElementTriP1() if mesh.p.shape[0] == 2 else skfem.ElementTetP1()


def _kappa_cells(regions: RegionMesh, conductivity: Conductivity) -> np.ndarray:
    nt = regions.mesh.t.shape[1]
    if isinstance(conductivity, Mapping):
        kap = np.full(nt, np.nan)
        for name, value in conductivity.items():
            kap[regions.subdomain(name)] = float(
                positive(value, f"conductivity.{name}", "W/(m K)"))
        if np.any(np.isnan(kap)):
            missing = [n for n in regions.subdomain_names if n not in conductivity]
            raise FemheatInputError(f"conductivity has no value for subdomain(s) {missing}")
        return kap
    return np.full(nt, float(positive(conductivity, "conductivity", "W/(m K)")))


def _facet_points(mesh: skfem.Mesh, facets: np.ndarray, intorder: int):
    fb = skfem.FacetBasis(mesh, _p1(mesh), facets=facets, intorder=intorder)
    return fb.global_coordinates().value, fb.dx, fb


def _check_kernel(kernel) -> None:
    if getattr(kernel, "singularity", None) is not None:
        raise FemheatInputError(
            f"{kernel!r} is singular at r = 0 ({kernel.singularity}); the dense interface "
            "quadrature needs a bounded kernel (Gaussian, power law, tabulated)")


# ================================================================== the operator
class InterfaceKernelOperator:
    r"""Dense nonlocal operator with temperature jumps on tagged interfaces.

    Same protocol as :class:`~femheat.kernels.operator.NonlocalOperator` on the
    split mesh (module docstring): ``apply(T)`` returns

    .. math::

        a(T,\varphi_i) = \xi\,(\kappa\nabla T,\nabla\varphi_i)
          + (1-\xi)\,\mathcal G^T \mathcal W \mathcal G\,T ,

    where 𝒢 maps T to the generalized gradient (cell gradients, and [T]n at the
    interface quadrature points) and 𝒲 holds the cell–cell, cell–facet and
    facet–facet kernel integrals (with the quadrature weights). The local part
    acts on the regular gradient only: across Γ heat is carried by the kernel.

    Parameters
    ----------
    regions
        Mesh with named subdomains and the interfaces to split.
    conductivity
        Scalar κ or subdomain name -> κ [W m⁻¹ K⁻¹].
    kernel
        Bounded radial kernel (e.g. :class:`~femheat.kernels.functions.GaussianKernel`
        with ``dim`` equal to the mesh dimension).
    interfaces
        Names of the interfaces that carry a temperature jump.
    local_fraction
        ξ ∈ [0, 1] of the two-phase law.
    intorder
        Gauss order of the cell and facet rules (4: 6 points per triangle).

    Attributes
    ----------
    split
        The :class:`SplitMesh`.
    regions, basis, n, kernel, local_fraction
        As for ``NonlocalOperator`` (on the split mesh).
    """

    def __init__(self, regions: RegionMesh, conductivity: Conductivity, kernel,
                 interfaces: Sequence[str] = (), *, local_fraction: float = 0.0,
                 intorder: int = 4):
        _check_kernel(kernel)
        xi = float(finite_array(local_fraction, "local_fraction"))
        if not 0.0 <= xi <= 1.0:
            raise FemheatInputError(f"local_fraction must lie in [0, 1], got {xi}")
        if int(kernel.dim) != regions.dim:
            raise FemheatInputError(
                f"kernel normalized in {kernel.dim} dimensions on a {regions.dim}D mesh; "
                f"create it with dim={regions.dim}")
        self.kernel, self.local_fraction = kernel, xi
        self.split = split_mesh(regions, list(interfaces))
        self.regions = self.split.regions
        mesh = self.regions.mesh
        self.basis = skfem.CellBasis(mesh, _p1(mesh), intorder=intorder)
        self.n = self.basis.N
        d = mesh.p.shape[0]
        self.dim = d
        kap_cell = _kappa_cells(self.regions, conductivity)
        self._kappa_cell = kap_cell
        nt = mesh.t.shape[1]
        X = self.basis.global_coordinates().value  # (d, nt, nq)
        wq = self.basis.dx  # (nt, nq)
        if X.shape[1] * X.shape[2] > MAX_DENSE_POINTS:
            raise FemheatInputError(
                f"{nt} cells x {X.shape[2]} points exceed the dense interface operator's "
                f"limit ({MAX_DENSE_POINTS} points); use a coarser mesh or a lower intorder")
        self.volumes = wq.sum(axis=1)
        # cell gradients: (d, nt, n) as d sparse matrices (nt, n)
        rows, cols, vals = [], [], [[] for _ in range(d)]
        for i in range(self.basis.Nbfun):
            g = self.basis.basis[i][0].grad[:, :, 0]  # (d, nt)
            rows.append(np.arange(nt))
            cols.append(self.basis.element_dofs[i])
            for c in range(d):
                vals[c].append(g[c])
        r_, c_ = np.concatenate(rows), np.concatenate(cols)
        self.grad_ops = [sp.csr_matrix((np.concatenate(vals[c]), (r_, c_)), shape=(nt, self.n))
                         for c in range(d)]
        # interface points: jumps [T] = T_B − T_A at facet quadrature points
        jump_rows, pts, wts, nrm, kap_f = [], [], [], [], []
        for name in interfaces:
            pairs = self.split.facet_pairs[name]
            XA, wA, fbA = _facet_points(mesh, pairs[:, 0], intorder)
            XB, _, fbB = _facet_points(mesh, pairs[:, 1], intorder)
            if not np.allclose(XA, XB, atol=1e-9 * self.regions.h):
                raise MeshError(f"interface {name!r}: the facet quadrature points of the two "
                                "sides do not coincide")
            PA = _point_values(fbA, self.n)
            PB = _point_values(fbB, self.n)
            jump_rows.append(PB - PA)
            pts.append(XA.reshape(d, -1))
            wts.append(wA.ravel())
            nq = XA.shape[2]
            nrm.append(np.repeat(self.split.normals[name], nq, axis=1))
            a, b = self.split.sides[name]
            ka = kap_cell[self.regions.subdomain(a)][0]
            kb = kap_cell[self.regions.subdomain(b)][0]
            kap_f.append(np.full(XA.shape[1] * nq, math.sqrt(ka * kb)))
        if interfaces:
            self.jump = sp.vstack(jump_rows).tocsr()  # (nfq, n)
            self.facet_points = np.hstack(pts)
            self.facet_weights = np.concatenate(wts)
            self.facet_normals = np.hstack(nrm)
            kap_fq = np.concatenate(kap_f)
        else:
            self.jump = sp.csr_matrix((0, self.n))
            self.facet_points = np.zeros((d, 0))
            self.facet_weights = np.zeros(0)
            self.facet_normals = np.zeros((d, 0))
            kap_fq = np.zeros(0)
        # dense blocks over all points: cells (nt*nq) then facet points
        cp = X.reshape(d, -1)
        cw = (wq * np.sqrt(kap_cell)[:, None]).ravel()
        allp = np.hstack([cp, self.facet_points])
        allw = np.concatenate([cw, self.facet_weights * np.sqrt(kap_fq)])
        nq = X.shape[2]
        ncq = nt * nq
        nfq = self.facet_points.shape[1]
        # aggregation: cell points -> their cell, facet points -> themselves
        agg = sp.csr_matrix(
            (np.ones(ncq + nfq),
             (np.concatenate([np.repeat(np.arange(nt), nq), nt + np.arange(nfq)]),
              np.arange(ncq + nfq))), shape=(nt + nfq, ncq + nfq))
        W = _aggregated_kernel(kernel, allp, allw, agg)
        self.W = W  # generalized-gradient kernel (ncells + nfq)^2
        self._K_regular = self._stiffness(kap_cell)
        self._nt = nt

    # ------------------------------------------------------------------ pieces
    def _stiffness(self, kap_cell: np.ndarray) -> sp.csr_matrix:
        field_ = np.repeat(kap_cell[:, None], self.basis.X.shape[-1], axis=1)
        return skfem.BilinearForm(lambda u, v, w: w.k * dot(grad(u), grad(v))).assemble(
            self.basis, k=field_).tocsr()

    def generalized_gradient(self, T: np.ndarray) -> np.ndarray:
        """(ncells + nfq, d): cell gradients ∇T_K [K m⁻¹] and facet-point [T] n_AB [K]."""
        gc = np.stack([G @ T for G in self.grad_ops], axis=1)
        gf = (self.jump @ T)[:, None] * self.facet_normals.T
        return np.vstack([gc, gf])

    def _kernel_apply(self, T: np.ndarray) -> np.ndarray:
        U = self.generalized_gradient(T)
        V = self.W @ U  # (ncells + nfq, d)
        nt = self._nt
        out = sum(G.T @ V[:nt, c] for c, G in enumerate(self.grad_ops))
        if self.jump.shape[0]:
            out = out + self.jump.T @ np.einsum("ij,ji->i", V[nt:], self.facet_normals)
        return out

    # ------------------------------------------------------------------ protocol
    def apply(self, T: np.ndarray) -> np.ndarray:
        """a(T, φ_i) [W] for nodal temperatures T [K] (length n)."""
        T = np.asarray(T, dtype=float)
        out = (1 - self.local_fraction) * self._kernel_apply(T)
        if self.local_fraction:
            out = out + self.local_fraction * (self._K_regular @ T)
        return out

    def flux(self, T: np.ndarray) -> np.ndarray:
        """Cell-average heat flux (ncells, d) [W m⁻²] (−(1/|K|)∫_K of the law)."""
        U = self.generalized_gradient(T)
        V = (self.W @ U)[: self._nt] / self.volumes[:, None]
        q = -(1 - self.local_fraction) * V
        if self.local_fraction:
            q -= self.local_fraction * self._kappa_cell[:, None] * U[: self._nt]
        return q

    def interface_flux(self, T: np.ndarray) -> np.ndarray:
        """Normal heat flux q·n_AB [W m⁻²] at the interface quadrature points (eq. 40).

        The kernel part only (the local part is not defined on a jump).
        """
        U = self.generalized_gradient(T)
        V = (self.W @ U)[self._nt:]
        wk = self.facet_weights
        return -(1 - self.local_fraction) * np.einsum("ij,ji->i", V, self.facet_normals) / wk

    def local_stiffness(self) -> sp.csr_matrix:
        """Fourier stiffness (κ∇T, ∇w) on the split mesh plus the local Kapitza term
        Σ_Γ ⟨G_K [T], [w]⟩ with the kernel's G_K (for preconditioning)."""
        if not self.jump.shape[0]:
            return self._K_regular
        nt = self._nt
        Wff = self.W[nt:, nt:]
        nn = self.facet_normals.T @ self.facet_normals
        gk = (Wff * nn).sum(axis=1) / self.facet_weights  # G_K at each point, times weight
        pen = self.jump.T @ sp.diags(gk * self.facet_weights) @ self.jump
        return (self._K_regular + pen).tocsr()

    def interface_conductance(self) -> np.ndarray:
        """G_K = ∫_Γ Z dS' at each interface quadrature point [W m⁻² K⁻¹] (eq. 41)."""
        nt = self._nt
        Wff = self.W[nt:, nt:]
        nn = self.facet_normals.T @ self.facet_normals
        return (Wff * nn).sum(axis=1) / self.facet_weights

    @property
    def nbytes(self) -> int:
        return int(self.W.nbytes)

    def __repr__(self) -> str:
        return (f"InterfaceKernelOperator({self.basis.N} dofs, {self._nt} cells, "
                f"{self.jump.shape[0]} interface points, xi={self.local_fraction})")


def _point_values(fb: skfem.FacetBasis, n: int) -> sp.csr_matrix:
    """(nf*nq, n): P1 values at the facet quadrature points (of the facet's own cell)."""
    rows, cols, vals = [], [], []
    nf, nq = fb.dx.shape
    for i in range(fb.Nbfun):
        v = fb.basis[i][0].value  # (nf, nq)
        dofs = fb.element_dofs[i]  # (nf,)
        rows.append(np.arange(nf * nq))
        cols.append(np.repeat(dofs, nq))
        vals.append(v.ravel())
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(nf * nq, n))


def _aggregated_kernel(kernel, pts: np.ndarray, w: np.ndarray, agg: sp.csr_matrix,
                       chunk: int = 512) -> np.ndarray:
    """agg · [w_i g(|x_i − x_j|) w_j] · aggᵀ, formed by row chunks (dense result)."""
    m = pts.shape[1]
    aggT = agg.T.tocsr()
    out = np.zeros((agg.shape[0], agg.shape[0]))
    for s in range(0, m, chunk):
        d = np.linalg.norm(pts[:, s:s + chunk, None] - pts[:, None, :], axis=0)
        block = kernel.profile(d) * (w[s:s + chunk, None] * w[None, :])
        out += agg[:, s:s + chunk] @ (aggT.T @ block.T).T
    return 0.5 * (out + out.T)
