r"""The vorticity form of the Guyer–Krumhansl viscous term in axisymmetric (r, z)
coordinates, lowest order (RT0 × P0, the stream function in continuous P1).

For a flux without swirl, q = (q_r, 0, q_z), the 3D curl is azimuthal,
∇×q = −(rot q) e_θ with rot q = ∂_r q_z − ∂_z q_r, and the Hodge energy of
:mod:`femheat.assembly.vorticity` is, with the measure 2πr dr dz,

.. math::

    \int 2\pi\,\nu\,\bigl((\mathrm{rot}\,q)^2 + (1+\beta)(\nabla\cdot q)^2\bigr)\,r\,dr\,dz ,
    \qquad \nabla\cdot q = \partial_r q_r + \partial_z q_z + q_r/r .

The grad-div part takes the cell divergences that the temperature equation sees (the
rows of B, :func:`~femheat.assembly.axisymmetric.divergence`): with D_K = ∫_K ∇·q dV
(dV = 2πr dr dz) and V_K = ∫_K dV,

.. math::

    G = D^\top \operatorname{diag}\bigl((1+\beta)\textstyle\int_K \nu\,dV / V_K^2\bigr) D ,

the Cartesian lowest-order grad-div term (where ∇·q is constant on a cell). In (r, z)
the pointwise divergence of an RT0 field is not: div(r q)/r varies across the cell,
and the form :func:`~femheat.assembly.axisymmetric.flux_grad_div` taken pointwise
would couple the divergence-free fields below to the temperature (the decaying
toroidal vortex of the tests, which leaves T uniform to the last bit, then spreads
it by 0.13 K of 300 K in one e-fold at n = 12).

The rotation part keeps the Cartesian exact sequence by a change of variable: the
vorticity ω = ν rot q is carried by the Stokes stream function ψ = r ω, continuous P1,
zero on the axis (ω is odd in r) and on stress-free boundaries. Its weak definition
(ν⁻¹ω, φ)_{2πr} = (rot q, φ)_{2πr} with φ = ψ/r reads

.. math::

    2\pi\!\int \frac{\psi\,\psi_i}{\nu\, r}\, dr\,dz
    = 2\pi\!\int q\cdot\mathrm{curl}\,\psi_i\, dr\,dz + 2\pi\!\oint (q\cdot t)\,\psi_i\, ds ,

the Cartesian equation with the weight 1/r moved into the mass. The field
(1/r) curl ψ is the axisymmetric "curl" of ω e_θ: its 2πr-weighted divergence
∂_r(r v_r) + r ∂_z v_z = div(r v) vanishes. Discretely, S ψ ∈ RT0 with facet fluxes
[ψ]_F / r_F (r_F the facet's mid-radius; curl ψ has the fluxes [ψ]_F) is exactly
divergence-free for the (r, z) divergence of RT0 (∫_K div(r v) = Σ_F r_F · flux_F), and
the coupling is C = Sᵀ M_r, M_r = (ψ_j, ψ_k)_{2πr} the r-weighted RT0 mass on the flux
basis's own quadrature: the flux mass with constant κ, up to the factor κ⁻¹. So, as
in Cartesian coordinates, C vanishes on the discrete temperature gradients
(M_r⁻¹Bᵀ T: C M_r⁻¹ Bᵀ = (B S)ᵀ = 0) and those carry no viscous energy: no spurious
slow temperature modes (``tests/test_gk_vorticity_axisymmetric.py``). C is not the
continuous 2π(q, curl ψ_i) exactly: S ψ takes 1/r at each facet's midpoint, an
O(h²) relative defect per row. At lowest order that is below the RT0 error (q at O(h),
the heat flow at O(h²) on a pipe); at degree 1 the same construction (BDM2, ψ in P3,
r-weighted BDM2 moments) left T at O(h^1.3) next to no-slip walls, so (r, z) stays
lowest order (README, limits).

The mass is lumped by the vertex rule, ∫_K f ≈ |K|/3 Σ f(vertex):
(M_ω)_ii = 2π Σ_K |K| / (3 ν_K r_i), positive at every vertex off the axis, times the
rotation-consistent factor γ_i of :func:`stream_rotation_weights` (as in Cartesian
coordinates: exact ψ for a rigid rotation about the vertex; without it a pipe's T kept
0.02 of the drop in the corner cells where the no-slip mantle meets no-slip ends). A
slip-length wall adds the lumped boundary mass 2π Σ_F (C_s κ/l)|F| / (2 r_i), and a
prescribed tangential flux the data 2π⟨g_t, ψ_i⟩ (unweighted ds), both as in the
Cartesian form with φ = ψ/r.

With the weight 2π the matrices are those of the 3D body, as everywhere in
:mod:`femheat.assembly.axisymmetric`.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import skfem

from .axisymmetric import axis_vertices
from .axisymmetric import divergence as axisymmetric_divergence
from .rt0_closed_forms import (lumped_vertex_mass, per_vertex_ratio, rotation_facet_fluxes,
                               rt0_local_facets)

__all__ = ["cell_coupling", "rotation_consistent", "grad_div", "stream_coupling", "stream_mass", "stream_rotation_weights",
           "stream_wall_mass"]


def _over_radius(mesh: skfem.Mesh, patch: np.ndarray) -> np.ndarray:
    """2π ``patch`` / r_i per vertex, 0 on the axis (where the stream function is held
    at zero)."""
    axis = axis_vertices(mesh)
    return np.where(axis, 0.0, 2 * np.pi * patch / np.where(axis, 1.0, mesh.p[0]))


def grad_div(qb: skfem.CellBasis, nu: np.ndarray) -> sp.csr_matrix:
    """G = Dᵀ diag(∫_K ν dV / V_K²) D on the RT0 basis ``qb`` (module docstring);
    ``nu`` = (1+β)l²/κ at the quadrature points [m³ K W⁻¹]."""
    p0 = skfem.CellBasis(qb.mesh, skfem.ElementTriP0(), quadrature=(qb.X, qb.W))
    D = axisymmetric_divergence.assemble(qb, p0).tocsr()  # (cells, flux DOFs)
    dV = 2 * np.pi * qb.global_coordinates().value[0] * qb.dx
    volume, nu_int = dV.sum(axis=1), (nu * dV).sum(axis=1)
    return (D.T @ sp.diags(nu_int / volume**2) @ D).tocsr()


def cell_coupling(qb: skfem.CellBasis, grads: np.ndarray) -> np.ndarray:
    """C_K^{(r)} = (S λ_i, ψ_j)_{2πr, K} per cell, (cells, i, j), ``grads`` the P1
    gradients per cell (2, 3, cells); see :func:`stream_coupling`."""
    mesh = qb.mesh
    p = mesh.p
    values = np.stack([qb.basis[j][0].value for j in range(3)])  # (3, 2, cells, points)
    r = qb.global_coordinates().value[0]
    dx = qb.dx
    means = (values * dx).sum(axis=-1)  # ∫_K ψ_j, (3, 2, cells)
    local = grads[1][:, None] * means[None, :, 0] - grads[0][:, None] * means[None, :, 1]
    gram = np.einsum("mdkp,jdkp,kp->kmj", values, values, dx)  # M_K, (cells, 3, 3)
    gram_r = np.einsum("mdkp,jdkp,kp->kmj", values, values, 2 * np.pi * r * dx)
    a = np.linalg.solve(gram, np.transpose(local, (2, 1, 0)))  # (cells, m, i): M_K a = C_Kᵀ
    facets = mesh.facets[:, mesh.t2f]  # (2, 3, cells): facet m of each cell
    radius = p[0][facets].mean(axis=0).T  # r_F, (cells, 3)
    on_axis = axis_vertices(mesh)[facets].all(axis=0).T  # axis facets (cells, 3)
    a = np.where(on_axis[:, :, None], 0.0, a / np.where(on_axis, 1.0, radius)[:, :, None])
    return np.einsum("kmi,kmj->kij", a, gram_r)  # (cells, i, j)


def stream_coupling(qb: skfem.CellBasis, coupling: np.ndarray, rows: np.ndarray,
                    n_rows: int) -> sp.csr_matrix:
    """C = Sᵀ M_r on the RT0 flux basis ``qb`` of an (r, z) triangle mesh, from its
    cell blocks ``coupling`` (:func:`cell_coupling`): row ``rows[i]`` for vertex i (−1:
    not an unknown), ``n_rows`` rows; see the module docstring. Cell by cell: curl λ_i = Σ_m
    a_im ψ_m on K (a = C_K M_K⁻¹ with the Cartesian C_K = (ψ_j, curl λ_i)_K and M_K =
    (ψ_m, ψ_j)_K, so the orientation signs come from the basis itself); S λ_i = Σ_m
    (a_im / r_{F_m}) ψ_m; C_K^{(r)} = (S λ_i, ψ_j)_{2πr, K}."""
    row = rows[qb.mesh.t.T][:, :, None]  # (cells, i, 1)
    keep = np.broadcast_to(row >= 0, coupling.shape)
    rr = np.broadcast_to(row, coupling.shape)[keep]
    cc = np.broadcast_to(qb.element_dofs.T[:, None, :], coupling.shape)[keep]
    C = sp.csr_matrix((coupling[keep], (rr, cc)), shape=(n_rows, qb.N))
    C.eliminate_zeros()
    return C


def stream_rotation_weights(qb: skfem.CellBasis, coupling: np.ndarray) -> np.ndarray:
    r"""γ_i per vertex, the (r, z) twin of the Cartesian rotation-consistent weights of
    the former 2D degree-0 form (``tests/test_gk_vorticity_lumping.py``): the row of C
    (its cell blocks ``coupling``, :func:`cell_coupling`) applied to the RT0
    interpolant of the rotation R_i about vertex i (rot R_i = 2,
    so ψ_i = 2ν r_i and the lumped row should read 2π · 2 Σ_K |K|/3),

    .. math::

        \gamma_i = \frac{(C\,\Pi R_i)_i}{2\pi \cdot 2 \sum_K |K|/3} .

    NaN on the axis (ψ = 0 there)."""
    mesh = qb.mesh
    flux = rotation_facet_fluxes(mesh)  # (i, k, cells)
    opposite, sign = rt0_local_facets(qb)  # (j, cells)
    dofs = sign[None] * np.take_along_axis(flux, opposite[None], axis=1)  # (i, j, cells)
    row = np.einsum("kij,ijk->ik", coupling, dofs) / (2 * np.pi)
    gamma = per_vertex_ratio(mesh, row)
    return np.where(axis_vertices(mesh), np.nan, gamma)


def stream_mass(mesh: skfem.Mesh, inv_nu: np.ndarray) -> np.ndarray:
    """The lumped (ν⁻¹ω, φ)_{2πr} on the stream-function DOFs: 2π Σ_K |K| ν_K⁻¹ /
    (3 r_i) per vertex [W K⁻¹ m⁻²]; zero on the axis (fixed there)."""
    return _over_radius(mesh, lumped_vertex_mass(mesh, inv_nu))


def stream_wall_mass(mesh: skfem.Mesh, facets: np.ndarray, coefficient: np.ndarray
                     ) -> np.ndarray:
    """The lumped slip-length wall mass 2π Σ_F c_F |F| / (2 r_i) on ``facets``,
    ``coefficient`` c_F = C_s κ/l per facet [W K⁻¹ m⁻²]."""
    p = mesh.p
    ends = mesh.facets[:, facets]
    length = np.linalg.norm(p[:, ends[1]] - p[:, ends[0]], axis=0)
    patch = np.bincount(ends.ravel(), np.tile(coefficient * length / 2.0, 2),
                        minlength=mesh.nvertices)
    return _over_radius(mesh, patch)


def rotation_consistent(mass: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """The lumped vertex weights ``mass`` scaled by the rotation-consistent factors
    ``gamma`` (:func:`stream_rotation_weights`; :mod:`femheat.assembly.vorticity`'s module
    doc); a vertex whose factor is not positive (a patch too distorted, or on the axis,
    NaN) keeps its weight."""
    kept = ~(gamma > 0)
    if np.any(kept & (mass > 0)):
        warnings.warn(f"{int(np.sum(kept & (mass > 0)))} vertices have patches so distorted "
                      "that their rotation-consistent vorticity weight is not positive; "
                      "they keep the row-sum weight", stacklevel=3)
    return np.where(kept, mass, gamma * mass)
