"""Helmholtz–Hodge decomposition of a 3D heat flux: scalar and vector heat potentials.

A heat flux q [W m⁻²] on a tetrahedral domain Ω splits L²-orthogonally into

    q = ∇φ + curl A + h,

a gradient part with the scalar heat potential φ [W m⁻¹] (continuous P1,
H¹-conforming), a solenoidal part with the vector heat potential A [W m⁻¹]
in the lowest-order Nédélec space N0 (``skfem.ElementTetN0``, H(curl)-
conforming) and a harmonic remainder h. The spaces form the exact sequence
P1 –grad→ N0 –curl→ RT0 –div→ P0 of the flux spaces, and both potentials are L²
projections on the flux's own mesh:

    (∇φ, ∇v) = (q, ∇v)                              for all v,
    (curl A, curl B) + (∇p, B) = (q, curl B)         for all B,
    (A, ∇s) = 0                                      for all s.

The curl-curl operator has the gradients ∇P1 as its kernel; the Lagrange
multiplier p ∈ P1 imposes the discrete Coulomb gauge (A is orthogonal to every
discrete gradient, "div A = 0" weakly). Taking B = ∇s gives (∇p, ∇s) =
(q, curl ∇s) = 0, so p = 0 exactly and the first equation is the plain
Galerkin projection: (q − curl A, curl B) = 0 for every B, without the O(ε)
consistency error a regularisation (curl A, curl B) + ε(A, B) would leave.
Instead of the indefinite saddle point, the equivalent SPD system
(C + G W Gᵀ) A = b is solved by Jacobi-preconditioned CG (C curl-curl, G the
gauge coupling, W the inverse lumped P1 mass: the discrete Hodge Laplacian
curl curl − grad div): the added grad-div term vanishes at the solution,
which is the gauged projection exactly (proof in :func:`_solve_vector`).

``boundary="normal"`` (default)
    φ ∈ H¹/ℝ (Neumann, mean zero), A × n = 0 on ∂Ω (boundary edges removed,
    multiplier p = 0 on ∂Ω). curl A · n = 0, so ∇φ carries all of the normal
    flux and h lies in the Neumann fields {div h = curl h = 0, h·n = 0}, whose
    dimension is the first Betti number (handles/tunnels): h → 0 in a domain
    without tunnels (a cube, a ball, a layered stack).
``boundary="tangential"``
    φ = 0 on ∂Ω, A natural (all edges and vertices; p's constant is inert).
    curl A carries the whole normal flux, ∇φ is normal to the boundary and h
    lies in the Dirichlet fields {h × n = 0}, of dimension (boundary components
    − 1): h → 0 unless Ω encloses cavities.

In a domain where that harmonic space is not trivial (a solid torus for
"normal", a cube with an interior cavity for "tangential") the discrete
harmonic fields lie in the kernel of the gauged system; the right-hand side
is orthogonal to them and CG from zero returns the solution without them, so
they stay in h (no ``absorb_harmonic`` in 3D).

Orthogonality: ∫ ∇φ·curl A = ∮ φ (curl A·n) ds, zero in both variants (A × n = 0
makes curl A·n = 0; or φ = 0), and h ⊥ ∇φ, h ⊥ curl A by the two Galerkin
projections, so ‖q‖² = ‖∇φ‖² + ‖curl A‖² + ‖h‖² to round-off.

**What is exactly zero for Fourier.** The discrete flux of the mixed method is a
discrete gradient: (κ⁻¹q_h, v) = (T_h, div v) + boundary terms for all v in the
flux test space. For B ∈ N0 with B × n = 0, curl B is an RT0 field (in every
RT_k and BDM_k space) with zero normal trace and div curl B = 0, so
(κ⁻¹q_h, curl B) = 0. With a constant κ the right-hand side of the "normal"
curl-curl projection vanishes, and so do A and the solenoidal part, to round-off.

Vorticity ω = curl q [W m⁻³] is the N0 L² projection of the distributional curl,

    (ω, B) = (q, curl B) + ∮_∂Ω (n × q)·B ds        for all B ∈ N0,

exact in the limit for smooth fields and including the tangential jumps of a
Raviart–Thomas flux.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem
from skfem.helpers import cross, curl, dot, grad

from .hodge import BOUNDARY_VARIANTS, FluxSource, PartNorms, _Flux

__all__ = ["HodgeDecomposition3D", "helmholtz_hodge_3d", "vorticity_3d",
           "laplace", "curl_curl", "gauge", "vector_mass"]

log = logging.getLogger(__name__)


@skfem.BilinearForm
def laplace(u, v, w):
    """(∇u, ∇v): the scalar-potential projection."""
    return dot(grad(u), grad(v))


@skfem.BilinearForm
def curl_curl(u, v, w):
    """(curl u, curl v) for u, v ∈ N0: the vector-potential projection."""
    return dot(curl(u), curl(v))


@skfem.BilinearForm
def gauge(u, v, w):
    """(∇u, v), u ∈ P1 (multiplier), v ∈ N0: the discrete Coulomb gauge coupling."""
    return dot(grad(u), v)


@skfem.BilinearForm
def vector_mass(u, v, w):
    """(u, v) for u, v ∈ N0."""
    return dot(u, v)


@skfem.LinearForm
def _flux_grad(v, w):
    return dot(w.q, grad(v))


@skfem.LinearForm
def _flux_curl(v, w):
    return dot(w.q, curl(v))


@skfem.LinearForm
def _flux_trace(v, w):
    """∮ (n × q)·v ds: the boundary term of the distributional curl."""
    return dot(cross(w.n, w.q), v)


@skfem.LinearForm
def _unit(v, w):
    return v


@dataclass
class HodgeDecomposition3D(PartNorms):
    """The parts of q = ∇φ + curl A + h on one tetrahedral mesh.

    Attributes
    ----------
    potential
        φ at the mesh vertices [W m⁻¹] (continuous P1).
    vector_potential
        The N0 coefficients of A (edge integrals of A·t) [W].
    gradient, solenoidal
        ∇φ and curl A per cell, shape (3, n_cells) [W m⁻²] (piecewise constant).
    harmonic
        h = q − ∇φ − curl A at the quadrature points, (3, n_cells, n_q) [W m⁻²].
    vorticity
        The N0 coefficients of ω = curl q (projection, see the module docstring).
    norms
        L² norms ``flux``, ``gradient``, ``solenoidal``, ``harmonic`` [W m⁻¹·m^½].
    """

    mesh: skfem.MeshTet
    boundary: str
    potential: np.ndarray
    vector_potential: np.ndarray
    gradient: np.ndarray
    solenoidal: np.ndarray
    harmonic: np.ndarray
    vorticity: np.ndarray
    basis: skfem.CellBasis = field(repr=False)
    edge_basis: skfem.CellBasis = field(repr=False)
    flux_values: np.ndarray = field(repr=False)
    absorb_harmonic: bool = False

    @property
    def vorticity_values(self) -> np.ndarray:
        """ω at the quadrature points, shape (3, n_cells, n_q) [W m⁻³]."""
        return self.edge_basis.interpolate(self.vorticity).value

    @property
    def vector_potential_values(self) -> np.ndarray:
        """A at the quadrature points, shape (3, n_cells, n_q) [W m⁻¹]."""
        return self.edge_basis.interpolate(self.vector_potential).value

    def summary(self) -> dict[str, Any]:
        """Norms, potential ranges and the largest |ω|, for flux_analysis.json."""
        n = self.norms
        scale = max(n["flux"], 1e-300)
        w = np.linalg.norm(self.vorticity_values, axis=0)
        a = np.linalg.norm(self.vector_potential_values, axis=0)
        return {"boundary": self.boundary, "dimension": 3,
                "l2_norms": n, "fractions": {k: (v / scale) ** 2 for k, v in n.items()
                                             if k != "flux"},
                "orthogonality_defect": abs(n["flux"] ** 2 - n["gradient"] ** 2
                                            - n["solenoidal"] ** 2 - n["harmonic"] ** 2)
                / scale**2,
                "potential_range": [float(self.potential.min()), float(self.potential.max())],
                "vector_potential_max": float(a.max()),
                "vorticity_max": float(w.max()),
                "vorticity_l2": float(np.sqrt((w**2 * self.edge_basis.dx).sum()))}


def _pin(n: int, keep: np.ndarray) -> sp.csr_matrix:
    """Prolongation from the unknowns ``keep`` to all n DOFs (others zero)."""
    return sp.csr_matrix((np.ones(keep.size), (keep, np.arange(keep.size))),
                         shape=(n, keep.size))


def _solve_scalar(K: sp.spmatrix, b: np.ndarray, mass: np.ndarray,
                  free: np.ndarray | None) -> np.ndarray:
    """K u = b with u = 0 off ``free`` (Dirichlet) or with ∫u = 0 (free None)."""
    if free is not None:
        P = _pin(K.shape[0], free)
        return P @ spla.spsolve((P.T @ K @ P).tocsc(), P.T @ b)
    A = sp.bmat([[K, mass[:, None]], [mass[None, :], None]], format="csc")
    return spla.spsolve(A, np.concatenate([b, [0.0]]))[:-1]


def _cg(S: sp.spmatrix, b: np.ndarray, what: str, rtol: float = 1e-13) -> np.ndarray:
    """Jacobi-preconditioned CG to a relative residual rtol (SolverError otherwise)."""
    from ..errors import SolverError

    if not np.any(b):
        return np.zeros_like(b)
    S = S.tocsr()
    d = S.diagonal()
    x, info = spla.cg(S, b, rtol=rtol, atol=0.0, M=sp.diags(1.0 / d),
                      maxiter=max(2000, 20 * int(np.cbrt(b.size)) ** 2))
    res = np.linalg.norm(S @ x - b) / np.linalg.norm(b)
    if info != 0 and res > 10 * rtol:
        raise SolverError(f"{what}: CG did not converge (relative residual {res:.3e} > "
                          f"{rtol:g} after info = {info})")
    return x


def _solve_vector(C: sp.spmatrix, G: sp.spmatrix, b: np.ndarray, w: np.ndarray,
                  edges: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """The gauged curl-curl projection on the given edges and multiplier vertices.

    Solves (C + G W Gᵀ) A = b, W = diag(1/w) (inverse lumped P1 mass), the
    discrete Hodge Laplacian curl curl − grad div: SPD on the complement of the
    harmonic fields, so CG applies. Exact, not a regularisation: with D the
    discrete gradient (∇s = D s in N0), Dᵀ C = 0, Dᵀ b = (q, curl ∇s) = 0 and
    Dᵀ G = K (the P1 stiffness, nonsingular on ``verts``), so Dᵀ of the system
    gives K W Gᵀ A = 0, i.e. the gauge Gᵀ A = (A, ∇s) = 0, and then C A = b: the
    Lagrange-multiplier saddle point's solution (its p = 0), without the
    indefinite solve. Discrete harmonic fields B (curl B = 0, B ⊥ ∇P1) are
    in the kernel but b ⊥ B, and CG from zero never leaves the range.
    """
    PA, Pp = _pin(C.shape[0], edges), _pin(G.shape[1], verts)
    Gr = PA.T @ G @ Pp
    S = PA.T @ C @ PA + Gr @ sp.diags(1.0 / w[verts]) @ Gr.T
    return PA @ _cg(S, PA.T @ b, "vector heat potential (curl-curl)")


def vorticity_3d(mesh: skfem.MeshTet, flux: FluxSource, *, intorder: int = 4) -> np.ndarray:
    """N0 coefficients of ω = curl q [W m⁻³]: (ω, B) = (q, curl B) + ∮ (n × q)·B ds."""
    eb = skfem.CellBasis(mesh, skfem.ElementTetN0(), intorder=intorder)
    src = _Flux(mesh, flux, intorder)
    b = skfem.asm(_flux_curl, eb, q=src.cell(eb))
    bf = mesh.boundary_facets()
    fb = skfem.FacetBasis(mesh, skfem.ElementTetN0(), facets=bf, intorder=intorder)
    b += skfem.asm(_flux_trace, fb, q=src.facet(fb, bf))
    return _cg(skfem.asm(vector_mass, eb), b, "vorticity (N0 mass)")


def helmholtz_hodge_3d(mesh: skfem.MeshTet, flux: FluxSource, *, boundary: str = "normal",
                       intorder: int = 4) -> HodgeDecomposition3D:
    """Helmholtz–Hodge decomposition q = ∇φ + curl A + h on a tetrahedral mesh.

    Parameters
    ----------
    mesh
        A scikit-fem tetrahedral mesh (the flux's own mesh).
    flux
        Either a callable ``q(x)`` returning shape (3, ...) for points x of shape
        (3, ...) [W m⁻²], or a pair ``(flux_basis, dofs)`` of a scikit-fem vector
        basis (Raviart–Thomas, BDM, vector DG) and its DOF vector.
    boundary
        ``"normal"`` (φ Neumann, A × n = 0) or ``"tangential"`` (φ = 0, A
        natural); see the module docstring.
    intorder
        Quadrature order of the projections.
    """
    from ..errors import FemheatInputError

    if boundary not in BOUNDARY_VARIANTS:
        raise FemheatInputError(f"boundary = {boundary!r}; choose one of {BOUNDARY_VARIANTS}")
    if mesh.p.shape[0] != 3 or mesh.t.shape[0] != 4:
        raise FemheatInputError("helmholtz_hodge_3d needs a tetrahedral mesh; this one has "
                                f"dimension {mesh.p.shape[0]} and {mesh.t.shape[0]} "
                                "vertices per cell")
    basis = skfem.CellBasis(mesh, skfem.ElementTetP1(), intorder=intorder)
    eb = skfem.CellBasis(mesh, skfem.ElementTetN0(), intorder=intorder)
    src = _Flux(mesh, flux, intorder)
    q = src.cell(basis)  # (3, ne, nq), the same points as eb's
    K, mass = skfem.asm(laplace, basis), skfem.asm(_unit, basis)
    C, G = skfem.asm(curl_curl, eb), skfem.asm(gauge, basis, eb)  # G: (n_edges, n_verts)
    bgrad, bcurl = skfem.asm(_flux_grad, basis, q=q), skfem.asm(_flux_curl, eb, q=q)
    nv, ned = mesh.p.shape[1], mesh.edges.shape[1]
    bnodes = mesh.boundary_nodes()
    inner_v = np.setdiff1d(np.arange(nv), bnodes)
    if boundary == "normal":
        phi = _solve_scalar(K, bgrad, mass, None)
        inner_e = np.setdiff1d(np.arange(ned), mesh.boundary_edges())
        A = _solve_vector(C, G, bcurl, mass, inner_e, inner_v)
    else:
        phi = _solve_scalar(K, bgrad, mass, inner_v)
        A = _solve_vector(C, G, bcurl, mass, np.arange(ned), np.arange(nv))
    gphi = basis.interpolate(phi).grad[:, :, 0]
    curlA = eb.interpolate(A).curl[:, :, 0]
    h = q - gphi[:, :, None] - curlA[:, :, None]
    bf = mesh.boundary_facets()
    fb = skfem.FacetBasis(mesh, skfem.ElementTetN0(), facets=bf, intorder=intorder)
    bw = bcurl + skfem.asm(_flux_trace, fb, q=src.facet(fb, bf))
    omega = _cg(skfem.asm(vector_mass, eb), bw, "vorticity (N0 mass)")
    d = HodgeDecomposition3D(mesh, boundary, phi, A, gphi, curlA, h, omega, basis, eb, q)
    log.info("Helmholtz–Hodge 3D (%s): %s", boundary,
             ", ".join(f"|{k}| {v:.3e}" for k, v in d.norms.items()))
    return d
