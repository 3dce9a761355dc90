r"""An anisotropic κ in the vorticity form: an isotropic part by the vorticity, the rest
by weak gradients of flux components (issue 16).

With a tensor κ the gradient energy of the GK flux equation (:mod:`femheat.assembly.gk`)
is Σ_k (N ∂_k q, ∂_k v), N = l²κ⁻¹ [m³ K W⁻¹], and no form built from div and curl
carries an anisotropic N (docs/gk_accuracy.md). Split it at its smallest eigenvalue:

.. math::

    N = \nu_v I + \sum_m r_m\, e_m e_m^\top ,\qquad
    \nu_v = l^2/\lambda_{\max}(\kappa),\quad r_m = \lambda_m(N) - \nu_v \ge 0 ,

so that Σ_k (N∂_k q, ∂_k v) = ν_v(∇q, ∇v) + Σ_m r_m (∇u_m, ∇w_m), u_m = e_m·q,
w_m = e_m·v: the isotropic part is the vorticity form of ν_v (one viscosity per
material, :mod:`.vorticity_levels`; its grad-div weight ν_v + βν̄, ν̄ = l² tr(κ⁻¹)/d the
penalty form's β weight), and each remainder the gradient energy of the scalar flux
component u_m, taken through its weak gradient G_m ∈ [P_{k+1}]^d, continuous on the
material's cells (one degree above ∇u_m's; the vorticity's P_{k+2} gave the same spectra
and orders with twice the unknowns):

.. math::

    (r_m^{-1}\sigma_m, \psi) = (G_m, \psi) = -(e_m\cdot q, \nabla\cdot\psi)
    + \langle e_m\cdot q, \psi\cdot n\rangle_{\partial\Omega_m} ,\qquad
    V_m = D_m^\top (M/r_m)^{-1} D_m ,

with σ_m = r_m G_m kept as an unknown next to ω (the same augmented structure,
:class:`~femheat.assembly.rotation.VorticityMass`). On no-slip walls the trace keeps only
its normal part (e_m·n)(q·n) (q·t = 0 there, as the ω equation holds it); on
:class:`~femheat.physics.conditions.TangentialFlux` walls (q_t = g) likewise, and the data
⟨(e_m·g) ψ·n⟩ join the ω equation's (:func:`.vorticity_walls.tangential_load`). No penalty:
the isotropic part's vorticity gives the discrete gradients no rotation energy, and
the remainders, squares of L² projections, add only what the projection sees.

Boundary model: the sum is the gradient energy of N only where the vorticity part is
ν_v|∇q|², so every impermeable stress-free boundary (no wall condition, or
:class:`~femheat.physics.conditions.FreeSlip`) that bounds an anisotropic material is
an open boundary of the vorticity part (ω free there, the boundary form of
:mod:`.vorticity_open`): the natural condition is then the gradient energy's
t·N∂_n q = 0 (with ω = 0 there, ν_v∂_n q_t = 0 and r_m(e_m·t)∂_n u_m = 0 would each
hold, two conditions where the physics has one, wherever κ's axes are oblique to the
wall).

Measured (``tests/test_gk_anisotropic.py``; unit square, n = 8, the quasi-static
spectrum, slowest nonzero decay rate against the physical bound κ_min π²/(1 + π²l²),
l = L, degree 1): κ = diag(1, 3) 0.9080 (the bound 0.9080; the penalty form 0.531),
on a jittered mesh 0.9080 (the penalty form 0.531), κ = R diag(1, 5)Rᵀ rotated by
0.5 rad 1.0108 (the penalty form 0.517); manufactured steady flows converge at
O(h^{k+1}) in T and O(h^{k+2}) in q with T errors 0.99–1.0× and q errors 0.83–0.98× the
penalty form's (docs/gk_accuracy.md).

In 3D as in 2D: the vorticity part in Nédélec fields, up to two remainder directions,
the weak gradients in vector P1 / P2 on tetrahedra, the stress-free faces open
boundaries of :mod:`.vorticity_open3d` (the insulated cube with κ = diag(1, 2, 3), l = L,
degree 1: slowest rate 0.9086 against the bound 0.9080, the penalty form 0.5725).

Not covered here (:func:`anisotropic_obstacle`; "auto" keeps the penalty form):
conductivity functions, a thermal Hall part, l varying inside an anisotropic material,
Kapitza interfaces with a free tangential flux, Landau–Khalatnikov terms, (r, z).
Slip-length walls (:func:`remainder_friction`) add the
remainders' share of the friction to the vorticity part's boundary mass.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem
from skfem import BilinearForm
from skfem.helpers import div, dot

from ..physics.conditions import FreeSlip, NoSlip, SlipLength, TangentialFlux
from .rotation import entity_labels
from .viscous_choice import constant_scalar
from .vorticity_crossed_walls import heat_crosses

__all__ = ["AnisotropicSplit", "anisotropic_splits", "anisotropic_obstacle",
           "isotropic_proxy", "remainder_blocks", "mean_viscosity_excess",
           "remainder_friction"]


@dataclass(frozen=True)
class AnisotropicSplit:
    """N = l²κ⁻¹ = ν_v I + Σ r_m e_m e_mᵀ of one material with a constant tensor κ."""

    kappa_v: float            # λ_max(κ) [W m⁻¹ K⁻¹]: ν_v = l²/kappa_v
    nu_v: float               # [m³ K W⁻¹]
    nu_mean: float            # l² tr(κ⁻¹)/d, the β term's weight
    directions: np.ndarray    # (d, m) unit eigenvectors e_m with r_m > 0
    weights: np.ndarray       # (m,) r_m


def _is_tensor(value) -> bool:
    return not callable(value) and not isinstance(value, str) and np.ndim(value) > 0


def anisotropic_splits(problem) -> dict[str, AnisotropicSplit]:
    """The split of every material whose conductivity is a constant tensor (empty when
    none is). Assumes :func:`anisotropic_obstacle` found nothing."""
    out = {}
    for name, mat in problem.materials.items():
        if not _is_tensor(mat.conductivity):
            continue
        kappa = np.asarray(mat.conductivity, dtype=float)
        ell = constant_scalar(mat.nonlocal_length)
        kinv = np.linalg.inv(kappa)
        lam, vec = np.linalg.eigh(0.5 * (kinv + kinv.T))
        nu = ell**2 * lam
        keep = nu - nu[0] > 1e-12 * max(nu[-1], 1e-300)
        out[name] = AnisotropicSplit(
            kappa_v=1.0 / lam[0], nu_v=float(nu[0]),
            nu_mean=float(ell**2 * np.trace(kinv) / kappa.shape[0]),
            directions=vec[:, keep], weights=(nu - nu[0])[keep])
    return out


def anisotropic_obstacle(problem) -> str | None:
    """What keeps an anisotropic κ out of the vorticity form (module doc), or None."""
    tensors = [n for n, m in problem.materials.items() if _is_tensor(m.conductivity)]
    if not tensors:
        return None
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return "an anisotropic conductivity in (r, z)"
    for name in tensors:
        mat = problem.materials[name]
        kappa = np.asarray(mat.conductivity, dtype=float)
        if np.abs(kappa - kappa.T).max() > 1e-12 * np.abs(kappa).max():
            return (f"materials.{name}.conductivity has an antisymmetric (thermal Hall) "
                    "part")
        if constant_scalar(mat.nonlocal_length) is None:
            return (f"materials.{name}: nonlocal_length varies inside a material with an "
                    "anisotropic conductivity")
        if (getattr(mat, "quartic", 0.0) or getattr(mat, "sextic", 0.0)
                or getattr(mat, "ordered", False)):
            return (f"materials.{name}: Landau-Khalatnikov terms with an anisotropic "
                    "conductivity")
    for name, wall in problem.walls.items():
        if not isinstance(wall, (NoSlip, FreeSlip, SlipLength, TangentialFlux)):
            return (f"walls.{name}: a {type(wall).__name__} wall with an anisotropic "
                    "conductivity")
    for name, rk in problem.interfaces.items():
        if getattr(rk, "tangential", "continuous") == "free":
            return (f"interfaces.{name}: a free tangential flux with an anisotropic "
                    "conductivity")
    return None


def _anisotropic_cells(problem) -> np.ndarray:
    """The cells of materials with a remainder (N not a multiple of I, l > 0)."""
    rm = problem.regions
    inside = np.zeros(rm.mesh.t.shape[1], dtype=bool)
    for name, split in anisotropic_splits(problem).items():
        if split.weights.size:
            inside[rm.subdomain(name)] = True
    return inside


def _stress_free_walls(problem) -> np.ndarray:
    """Boundary facets of anisotropic cells that are impermeable and stress-free (the
    vorticity part's open boundaries there, module doc)."""
    rm = problem.regions
    mesh = rm.mesh
    inside = _anisotropic_cells(problem)
    parts = []
    for name, bc in problem.boundary_conditions.items():
        wall = problem.walls.get(name)
        if heat_crosses(bc) or (wall is not None and not isinstance(wall, FreeSlip)):
            continue
        facets = rm.boundary(name)
        parts.append(facets[inside[mesh.f2t[0, facets]]])
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def isotropic_proxy(problem):
    """``problem`` with every constant tensor κ replaced by the scalar λ_max(κ) (so that
    ν = l²/κ is the split's ν_v) and the stress-free walls of those materials marked
    open (``opened_walls``, read by :func:`.vorticity_open.open_boundary_facets`): the
    problem the vorticity part is assembled for. ``problem`` itself where no κ is a
    tensor."""
    splits = anisotropic_splits(problem)
    if not splits:
        return problem
    proxy = copy.copy(problem)
    proxy.materials = {name: (dataclasses.replace(mat, conductivity=splits[name].kappa_v)
                              if name in splits else mat)
                       for name, mat in problem.materials.items()}
    proxy.opened_walls = _stress_free_walls(problem)
    return proxy


def mean_viscosity_excess(problem, qb: skfem.CellBasis) -> np.ndarray | None:
    """β(ν̄ − ν_v) at ``qb``'s points (zero off the anisotropic materials): what the
    grad-div weight (1+β)ν_v of the vorticity part lacks of ν_v + βν̄. None where no κ
    is a tensor or β = 0."""
    splits = anisotropic_splits(problem)
    if not splits or not problem.beta:
        return None
    excess = np.zeros(problem.regions.mesh.t.shape[1])
    for name, split in splits.items():
        excess[problem.regions.subdomain(name)] = problem.beta * (split.nu_mean - split.nu_v)
    cells = slice(None) if qb.tind is None else qb.tind
    return excess[cells][:, None] + 0.0 * qb.dx


def remainder_friction(problem, qb: skfem.CellBasis) -> sp.csr_matrix | None:
    """The remainders' share of the slip-length walls' friction,
    ⟨Σ_m (r_m/ℓ_s)(e_m·q_t)(e_m·v_t)⟩ with ℓ_s = C_s l, on the walls' facets of anisotropic
    materials (the vorticity part's boundary mass carries ν_v/ℓ_s): together the
    penalty form's ⟨(N/ℓ_s) q_t, v_t⟩ (:func:`~femheat.assembly.forms.wall_slip`), whose
    natural condition is t·N∂_n q + (N_tt/ℓ_s) q·t = 0 in 2D. None without such walls."""
    from . import forms

    splits = anisotropic_splits(problem)
    walls = {n: w for n, w in problem.walls.items() if isinstance(w, SlipLength)}
    if not splits or not walls:
        return None
    rm = problem.regions
    mesh = rm.mesh
    rest = np.zeros((mesh.t.shape[1], mesh.dim(), mesh.dim()))
    inside = np.zeros(mesh.t.shape[1], dtype=bool)
    for name, split in splits.items():
        if not split.weights.size:  # N a multiple of I, or l = 0: no remainder
            continue
        cells = rm.subdomain(name)
        rest[cells] = ((split.directions * split.weights) @ split.directions.T
                       / constant_scalar(problem.materials[name].nonlocal_length))
        inside[cells] = True
    out = sp.csr_matrix((qb.N, qb.N))
    for name, wall in walls.items():
        facets = rm.boundary(name)
        facets = facets[inside[mesh.f2t[0, facets]]]
        if not facets.size:
            continue
        fb = skfem.FacetBasis(mesh, qb.elem, facets=facets, intorder=2 * (problem.degree + 1))
        tensor = rest[mesh.f2t[0, facets]] / wall.coefficient  # (nf, d, d): Σ r e eᵀ/(C_s l)
        friction = np.moveaxis(tensor, 0, -1)[..., None] + 0.0 * fb.dx
        out = out + forms.wall_slip.assemble(fb, friction=friction)
    return out.tocsr()


@dataclass
class RemainderBlock:
    """One remainder r_m|∇(e_m·q)|² of one material: its coupling D (rows: the active
    DOFs of the weak gradient's space), its mass M/r_m there, the mesh entity of each
    active DOF and the material's cells; a part of the rotation like a viscosity level's
    (the fields :class:`~femheat.assembly.vorticity` stacks)."""

    C: sp.csr_matrix
    consistent: sp.csr_matrix
    groups: np.ndarray
    inside: np.ndarray
    elem: skfem.Element
    n_omega: int
    active: np.ndarray
    direction: np.ndarray  # e_m: a tangential-flux wall's data enter as ⟨(e_m·g) ψ·n⟩
    consistent_needed: bool = True
    cut: None = None

    @property
    def lumped(self) -> np.ndarray:
        return self.consistent.diagonal()


def _trace_form(direction: np.ndarray, normal_only: bool) -> BilinearForm:
    @BilinearForm
    def form(q, psi, w):
        qe = sum(direction[i] * q.value[i] for i in range(len(direction)))
        if normal_only:  # (e·n)(q·n): q·t = 0 on a no-slip wall
            en = sum(direction[i] * w.n[i] for i in range(len(direction)))
            qe = en * dot(q.value, w.n)
        return qe * dot(psi, w.n)
    return form


def _volume_form(direction: np.ndarray) -> BilinearForm:
    @BilinearForm
    def form(q, psi, w):
        return -sum(direction[i] * q.value[i] for i in range(len(direction))) * div(psi)
    return form


@BilinearForm
def _mass(u, v, w):
    return dot(u, v)


def remainder_blocks(problem, qb: skfem.CellBasis) -> list[RemainderBlock]:
    """The weak-gradient blocks of every anisotropic material and remainder direction
    (module doc): D_m with rows over the [P_{k+1}]^d DOFs of the material's cells, and
    the mass M/r_m."""
    from .vorticity_open import region_interface

    splits = anisotropic_splits(problem)
    if not splits:
        return []
    rm = problem.regions
    mesh = rm.mesh
    dim = mesh.dim()
    if dim == 3:
        scalar = skfem.ElementTetP1() if problem.degree == 0 else skfem.ElementTetP2()
    else:
        scalar = skfem.ElementTriP1() if problem.degree == 0 else skfem.ElementTriP2()
    elem = skfem.ElementVector(scalar, dim)
    intorder = 2 * (problem.degree + 1)
    no_slip = [rm.boundary(n) for n, w in problem.walls.items()
               if isinstance(w, (NoSlip, TangentialFlux))]  # q·t held: its normal part
    no_slip = np.unique(np.concatenate(no_slip)) if no_slip else np.zeros(0, dtype=np.int64)
    boundary = mesh.boundary_facets()
    blocks = []
    for name, split in splits.items():
        inside = np.zeros(mesh.t.shape[1], dtype=bool)
        inside[rm.subdomain(name)] = True
        cells = np.nonzero(inside)[0]
        pb = skfem.CellBasis(mesh, elem, elements=cells, intorder=intorder)
        qbm = skfem.CellBasis(mesh, qb.elem, elements=cells, intorder=intorder)
        mine = boundary[inside[mesh.f2t[0, boundary]]]
        walls = np.intersect1d(mine, no_slip)
        free = np.setdiff1d(mine, walls)
        interface = region_interface(mesh, inside)
        mass = _mass.assemble(pb).tocsr()
        active = np.unique(pb.element_dofs)
        labels = entity_labels(pb)[active]
        traces = [(skfem.FacetBasis(mesh, qb.elem, facets=facets, intorder=intorder),
                   skfem.FacetBasis(mesh, elem, facets=facets, intorder=intorder), normal_only)
                  for facets, normal_only in ((free, False), (walls, True), (interface, False))
                  if len(facets)]
        for direction, weight in zip(split.directions.T, split.weights):
            D = _volume_form(direction).assemble(qbm, pb)
            for fq, fp, normal_only in traces:
                D = D + _trace_form(direction, normal_only).assemble(fq, fp)
            blocks.append(RemainderBlock(
                C=sp.csr_matrix(D)[active], consistent=(mass[active][:, active] / weight).tocsr(),
                groups=labels, inside=inside, elem=elem, n_omega=pb.N, active=active,
                direction=direction))
    return blocks
