r"""Viscosity varying inside a material in the vorticity form: the closure terms in ∇ν.

Where κ or l is a function of position, ν = l²/κ varies inside a material and the
Hodge energy ν(|rot q|² + (1+β)|∇·q|²) of :mod:`femheat.assembly.vorticity` is no longer
the gradient energy ν|∇q|² + βν|∇·q|² of :mod:`femheat.assembly.gk` up to boundary
terms. Pointwise (Cartesian indices, summed; rot the curl in 3D)

.. math::

    \partial_j q_i \partial_j v_i = \mathrm{rot}\,q\cdot\mathrm{rot}\,v
    + \nabla\cdot q\,\nabla\cdot v
    + \partial_j(q_i\partial_i v_j) - \partial_i(q_i\,\nabla\cdot v),

and with the weight ν the last two terms integrate to the boundary form of
:mod:`.vorticity_open` / :mod:`.vorticity_open3d` (now with ν pointwise) plus

.. math::

    R(q, v) = \int (q\cdot g)\,\nabla\cdot v - g\cdot\big((q\cdot\nabla) v\big),
    \qquad g = \nabla\nu .

R is not symmetric: R(q, v) − R(v, q) = ∫ g·∇×(q × v) = −Σ_K ∮_∂K (n × g)·(q × v),
a sum over facets of (n × g)·[q × v] in which n × g, ν's tangential derivative, is
continuous where ν is. For the flux element's broken gradients the form consistent
with −∇·(ν∇q) for the exact flux is the one with the derivatives on q, and its
symmetric version is

.. math::

    R_h(q, v) = \sum_K \int_K \tfrac12\big(\rho(q, v) + \rho(v, q)\big)
    + \sum_{F\ \mathrm{interior}} \int_F \tfrac12 (n_F\times g)\cdot
      \big(\{q\}\times[v] + \{v\}\times[q]\big),

ρ the integrand of R, [u] = u₀ − u₁ and {u} the mean across F, n_F out of side 0: for
the exact flux ([q] = 0) R_h(q, v) = R(v, q) − ½∮_∂Ω (n × g)·(q × v), and the boundary
remainder cancels the one the boundary form leaves when ν varies along it (on
impermeable walls q × v is normal and it vanishes). The same construction as the
edge and vertex terms of the constant-ν boundary forms, one dimension up.

The flux block is then the gradient energy's, so the vorticity form and the penalty
form model the same problem and ``"auto"`` takes the vorticity form where ν is
positive and continuous inside each subdomain
(:func:`~.vorticity_graded_levels.graded_obstacle`; where it also jumps between
subdomains, on graded levels over tiers of ν, :mod:`.vorticity_graded_levels`). The
forms take the materials' ν itself (the vorticity mass's weight 1/ν, the boundary
forms at their points, vertices and edges; positive wherever its interpolant may not
be) and g = ∇ν by fourth-order one-sided differences of it inside each cell
(:meth:`GradedViscosity.exact_gradient`; n × ∇ν is continuous across facets inside a
material, which R_h needs). The gradient
of ν_h, its continuous Lagrange interpolant (P2 / P3 in 2D at degree 0 / 1, P2 in 3D),
served until 2026-12-08 and is kept where ν is not finite at the differences' points; in 3D at
degree 1 it differed from the gradient of the ν the mass sees by O(h²), and with ν
varying steeply q lost its constant: ν ∝ e^(−6x), n = 4, q 9.5e-4 against the
penalty form's 1.10e-4 (with ∇ν: 1.07e-4); l ∝ (x + 0.05), 5.2e-4 against 1.16e-4
(1.03e-4). The levels' extensions (:mod:`.vorticity_graded_levels`) are nodal fields,
their weights and gradients both from ν_h's basis.
Piecewise-constant ν (materials with constant κ and l) stays with the viscosity
levels of :mod:`.vorticity_levels`, where g is a measure on the interfaces and the
levels' open boundaries are this construction. Measured:
``tests/test_gk_vorticity_graded.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem
from skfem import BilinearForm
from skfem.helpers import div, dot, grad, mul

from ..physics.materials import material_fields
from ..element.spaces import cell_side, evaluation_points
from .viscous_choice import constant_scalar

__all__ = ["GradedViscosity", "LevelShare", "closure_form", "field_at", "nodal_extremes",
           "varies_inside", "viscosity_at"]

_JUMP = 1e-8  # relative spread of ν at a node between cells above which ν jumps there
#: the least weight 1/w sees, relative to the weight's scale (:meth:`GradedViscosity.inverse_on`)
_FLOOR = 1e-8


@dataclass
class GradedViscosity:
    """ν = l²/κ [m³ K W⁻¹] of ``problem`` where it varies inside a material: its values
    where the forms need them, and the gradient of ν_h, its interpolant in continuous
    Lagrange ``basis`` (nodal ``values``), where they need ∇ν (:func:`closure_form`).
    Values come from the materials themselves, not from ν_h, which may dip below zero
    between its nodes where ν varies on the scale of a cell (a P2 interpolant on two
    cells across a factor-80 variation reached −1.8e-3 against a minimum 1.1e-3, and the
    flux block lost its positivity with 1/ν_h in the vorticity mass)."""

    problem: object
    basis: skfem.CellBasis
    values: np.ndarray
    #: None for ν itself; a level's weight a ν + Σ b_i F_i otherwise
    #: (:mod:`.vorticity_graded_levels`)
    share: "LevelShare | None" = None

    def _lengths(self, x: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(l, κ⁻¹) at points ``x`` (d, n, nq) of the n ``cells``."""
        f = material_fields(self.problem.regions, self.problem.materials, x, cells=cells)
        kinv = f.resistivity[0, 0]
        return np.broadcast_to(f.nonlocal_length, kinv.shape), kinv

    def exact(self, x: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """The weight (ν, or a level's share of it) at points ``x`` (d, n, nq) of the n
        ``cells``."""
        nu = viscosity_at(self.problem, x, cells)
        if self.share is None:
            return nu
        return self.share.weigh(nu, cells, lambda field: field_at(self.basis, field, x, cells))

    def on(self, basis: skfem.AbstractBasis) -> np.ndarray:
        """The weight at the quadrature points of ``basis`` (a cell or facet basis of the
        mesh)."""
        if self.share is None:
            return self.exact(evaluation_points(basis), basis.tind)
        nu = viscosity_at(self.problem, evaluation_points(basis), basis.tind)
        own = basis.with_element(self.basis.elem)
        return self.share.weigh(nu, basis.tind,
                                lambda field: own.interpolate(field).value)

    @functools.cached_property
    def scale(self) -> float:
        """The largest nodal magnitude of the weight's fields (ν_h, a level's F_i)."""
        fields = [self.values] + ([f for _, f in self.share.terms] if self.share else [])
        return float(max(np.nanmax(np.abs(f)) if f.size else 0.0 for f in fields))

    def inverse_on(self, basis: skfem.AbstractBasis) -> np.ndarray:
        """1/w at the quadrature points of ``basis`` (the vorticity mass), w floored at
        1e-8 of :attr:`scale`: where ν vanishes at a point or along a line inside a
        material, or a level's weight vanishes where ν touches across an interface or
        at the lower side of a jump (:mod:`.vorticity_graded_levels`, where its
        interpolated part may dip O(h^(k+1)) below zero between nodes), the mass stays
        positive and bounded; the weight it drops is below 1e-8 of ν."""
        return 1.0 / np.maximum(self.on(basis), _FLOOR * self.scale)

    def kappa_over_l(self, basis: skfem.AbstractBasis) -> np.ndarray:
        """κ/l = l/ν [W m⁻² K⁻¹] at the quadrature points of ``basis`` (a slip-length
        wall's coefficient, :mod:`.vorticity`; l over a level's weight, floored as in
        :meth:`inverse_on`)."""
        ell, _ = self._lengths(evaluation_points(basis), basis.tind)
        return ell * self.inverse_on(basis)

    def gradient(self, basis: skfem.AbstractBasis) -> np.ndarray:
        """∇ν (a level's a∇ν + b∇c_h) at the quadrature points of ``basis``: the
        materials' ν differentiated (:meth:`exact_gradient`), as the vorticity mass
        weighs by the materials' ν, and the levels' nodal fields' gradients."""
        g = self.exact_gradient(basis)
        if self.share is None:
            return g
        own = basis.with_element(self.basis.elem)
        return self.share.gradient(g, basis.tind, lambda field: own.interpolate(field).grad)

    def exact_gradient(self, basis: skfem.AbstractBasis) -> np.ndarray:
        """∇ν (d, n, nq) [m² K W⁻¹] at the quadrature points of ``basis``: the materials'
        ν = l²/κ differentiated inside each point's cell (its material), ∇ν_h of the
        nodal interpolant where a value is not finite. ∇ν_h alone (P2 in 3D) differed
        from the gradient of the ν that the vorticity mass sees by O(h²): with
        ν ∝ e^(−6x), 3D degree 1, q was 8.6× the penalty form's error at n = 4, now
        0.97× (module doc).

        Directional derivatives along the d + 1 directions from the point towards
        m_j = (centroid + vertex j)/2, each by the fourth-order one-sided difference
        (−25f₀ + 48f₁ − 36f₂ + 16f₃ − 3f₄)/(12s) with step s = 1e-3 of the cell's size
        (truncation ~1e-12 relative, round-off ~1e-12), and the gradient their least-
        squares fit (the d + 1 directions span space wherever the point lies). The
        stencil stays in the closed cell: the points on the cells' faces and edges of
        the tetrahedral rules, and on the domain's boundary, see ν only where the
        material defines it (central differences there evaluated l outside the domain,
        which an l ∝ x refused as negative). Where a jump of ν inside the material lies
        between the vertices ("auto" reads ν there as graded) a stencil can cross it
        and its slope would be J/s: where the fourth- and second-order slopes of a
        direction differ by more than 1e-6 of ν's scale on the cell over s, the point
        takes ∇ν_h (a cube with κ = where(x < 0.45, 1, 3), degree 0, n = 8: T was 0.41
        off with central differences, now within 5.2e-3 of the penalty form's)."""
        mesh = basis.mesh
        cells = np.arange(mesh.t.shape[1]) if basis.tind is None else basis.tind
        vertices = mesh.p[:, mesh.t[:, cells]]  # (d, d + 1, n)
        targets = 0.5 * (vertices + vertices.mean(axis=1, keepdims=True))
        step = 1e-3 * np.ptp(vertices, axis=1).max(axis=0)[:, None]  # (n, 1)
        x = basis.global_coordinates().value  # (d, n, nq)

        def weight(points):
            return viscosity_at(self.problem, points, cells)

        directions, slopes, seconds = [], [], []
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            centre = weight(x)
            size = np.abs(centre).max(axis=1)  # ν's scale on each cell
            for j in range(vertices.shape[1]):
                u = targets[:, j, :, None] - x
                u = u / np.linalg.norm(u, axis=0)
                f = [weight(x + k * step * u) for k in (1, 2, 3, 4)]
                slopes.append((-25 * centre + 48 * f[0] - 36 * f[1] + 16 * f[2] - 3 * f[3])
                              / (12 * step))
                # second order from the same points: O(s² ν⁽³⁾) apart where ν is smooth,
                # O(J/s) where a jump J of ν (inside the material, between the
                # vertices) lies inside the stencil
                seconds.append((-3 * centre + 4 * f[0] - f[1]) / (2 * step))
                size = np.maximum(size, np.abs(f).max(axis=(0, 2)))
                directions.append(u)
            jumps = np.any(np.abs(np.array(slopes) - np.array(seconds)) * step
                           > 1e-6 * size[:, None], axis=0)
            U = np.moveaxis(np.array(directions), (0, 1), (-2, -1))  # (n, nq, d+1, d)
            D = np.moveaxis(np.array(slopes), 0, -1)[..., None]  # (n, nq, d+1, 1)
            normal = np.einsum("...ji,...jk->...ik", U, U)
            out = np.moveaxis(np.linalg.solve(normal, np.einsum("...ji,...jk->...ik", U, D))
                              [..., 0], -1, 0)
        bad = ~np.all(np.isfinite(out), axis=0) | jumps
        if np.any(bad):
            own = basis.with_element(self.basis.elem)
            nodal = own.interpolate(self.values).grad
            out[:, bad] = nodal[:, bad]
        return out

    def at_vertices(self, vertices: np.ndarray) -> np.ndarray:
        """The weight at mesh ``vertices`` (from the nodal values)."""
        vertices = np.asarray(vertices)
        dofs = self.basis.nodal_dofs[0][vertices]
        if self.share is None:
            return self.values[dofs]
        return self.share.at_nodes(self.values[dofs], dofs, self.share.vertex_cell[vertices])

    def on_edges(self, edges: np.ndarray, s: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """The weight (ne, nq) at the points s ∈ [0, 1] (nq,) of mesh ``edges`` (ne, 2),
        from the first vertex to the second, each edge in one of ``cells``."""
        p = self.basis.mesh.p
        a, b = p[:, edges[:, 0]], p[:, edges[:, 1]]
        x = a[:, :, None] + (b - a)[:, :, None] * np.asarray(s)[None, None, :]
        return self.exact(x, cells)


@dataclass
class LevelShare:
    """A graded level's weight a ν + Σ_i b_i F_i (:mod:`.vorticity_graded_levels`):
    per-cell factors ``a`` and, in ``terms``, (b_i, the nodal values of F_i), F_i
    continuous Lagrange functions in :class:`GradedViscosity`'s basis (the extensions
    of the lower levels' weights), and ``vertex_cell`` a cell of the level at each mesh
    vertex (the weight's nodal values are one-valued there)."""

    a: np.ndarray
    terms: list[tuple[np.ndarray, np.ndarray]]
    vertex_cell: np.ndarray

    def weigh(self, nu: np.ndarray, cells: np.ndarray, interpolate) -> np.ndarray:
        """a ν + Σ b_i F_i for ``nu`` (n, nq) on ``cells`` (n,); ``interpolate(F)`` gives
        a nodal field's values there (asked only where some b_i ≠ 0)."""
        out = self.a[cells][:, None] * nu
        for b, field in self.terms:
            factor = b[cells][:, None]
            if np.any(factor != 0):
                out = out + factor * interpolate(field)
        return out

    def gradient(self, values_gradient: np.ndarray, cells: np.ndarray, interpolate
                 ) -> np.ndarray:
        """a ∇ν_h + Σ b_i ∇F_i from ∇ν_h (d, n, nq) on ``cells``; ``interpolate(F)`` the
        gradient of a nodal field there."""
        out = self.a[cells][None, :, None] * values_gradient
        for b, field in self.terms:
            factor = b[cells][None, :, None]
            if np.any(factor != 0):
                out = out + factor * interpolate(field)
        return out

    def at_nodes(self, nu: np.ndarray, dofs: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """The weight from nodal values: ν_h's ``nu`` at ``dofs``, each in one of
        ``cells``."""
        out = self.a[cells] * nu
        for b, field in self.terms:
            out = out + b[cells] * field[dofs]
        return out


def field_at(basis: skfem.CellBasis, field: np.ndarray, x: np.ndarray, cells: np.ndarray
             ) -> np.ndarray:
    """The Lagrange function of nodal values ``field`` (in ``basis``) at points ``x``
    (d, n, nq) of the n ``cells``."""
    local = basis.mesh.mapping().invF(x, tind=cells)
    dofs = basis.element_dofs[:, cells]
    return sum(basis.elem.lbasis(local, i)[0] * field[dofs[i]][:, None]
               for i in range(dofs.shape[0]))


def varies_inside(problem) -> bool:
    """True if some material's conductivity or nonlocal length is not a constant
    scalar (a function of position, an expression, a tensor)."""
    return any(constant_scalar(m.conductivity) is None
               or constant_scalar(m.nonlocal_length) is None
               for m in problem.materials.values())


def _element(dim: int, degree: int) -> skfem.Element:
    if dim == 3:
        return skfem.ElementTetP2()
    return skfem.ElementTriP2() if degree == 0 else skfem.ElementTriP3()


def _nodal(problem, vertices_only: bool = False
           ) -> tuple[skfem.CellBasis | None, np.ndarray, np.ndarray]:
    """(basis, lowest, highest): the Lagrange basis of ν_h and, at each of its nodes,
    the lowest and highest ν = l²/κ of the cells that share it (``vertices_only``: at
    the mesh's vertices, no basis; the cheap check of :func:`graded_obstacle`, which
    "auto" asks each time a problem's form is read)."""
    mesh = problem.regions.mesh
    basis = None if vertices_only else skfem.CellBasis(mesh, _element(mesh.dim(),
                                                                      problem.degree))
    return (basis,) + nodal_extremes(problem, basis)


def viscosity_at(problem, x: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
    """ν = l²/κ [m³ K W⁻¹] of ``problem``'s materials at points ``x`` (d, n, k) of the n
    ``cells`` (default all), each point in its cell's material; ValueError for an
    anisotropic κ (no scalar viscosity)."""
    fields = material_fields(problem.regions, problem.materials, x, cells=cells)
    if not fields.isotropic:
        raise ValueError("an anisotropic conductivity has no scalar viscosity")
    kinv = fields.resistivity[0, 0]
    return np.broadcast_to(fields.nonlocal_length, kinv.shape) ** 2 * kinv


def nodal_extremes(problem, basis: skfem.CellBasis | None,
                   cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest): at each node of the Lagrange ``basis`` (the mesh's vertices
    where it is None), the least and largest ν over ``cells`` (default all) that share
    it, each from its cell's side (:func:`cell_side`); ±inf at nodes of no such cell."""
    mesh = problem.regions.mesh
    cells = np.arange(mesh.t.shape[1]) if cells is None else cells
    if basis is None:
        dofs, n = mesh.t[:, cells], mesh.p.shape[1]
        x = mesh.p[:, dofs].transpose(0, 2, 1)
    else:
        dofs, n = basis.element_dofs[:, cells], basis.N  # (nb, ncells)
        x = basis.doflocs[:, dofs].transpose(0, 2, 1)  # (dim, ncells, nb)
    nu = viscosity_at(problem, cell_side(mesh, x, cells), cells)
    lowest, highest = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(lowest, dofs.T.ravel(), nu.ravel())
    np.maximum.at(highest, dofs.T.ravel(), nu.ravel())
    return lowest, highest


def _cross(a, b):
    """a × b over the first axis: a scalar in 2D, a vector in 3D."""
    if a.shape[0] == 2:
        return a[0] * b[1] - a[1] * b[0]
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def _rho(a, b, g):
    """(a·g)(∇·b) − g·((a·∇)b): the integrand of R (module doc)."""
    return dot(a.value, g) * div(b) - dot(g, mul(grad(b), a.value))


@BilinearForm
def _closure_cells(q, v, w):
    """½(ρ(q, v) + ρ(v, q)) with g = ``w.g``."""
    return 0.5 * (_rho(q, v, w.g) + _rho(v, q, w.g))


@BilinearForm
def _closure_facets(q, v, w):
    """½ (n × g)·({q} × [v] + {v} × [q]) on interior facets, ``w.ng`` = n × g with n out
    of side 0 (assembled over both sides' bases, ``w.idx``)."""
    side_q, side_v = w.idx
    sign_q = 1.0 if side_q == 0 else -1.0
    sign_v = 1.0 if side_v == 0 else -1.0
    # {q} × [v] = ½ s_v q × v and {v} × [q] = −½ s_q q × v (one side each)
    c = _cross(q.value, v.value)
    ng = w.ng
    return 0.25 * (sign_v - sign_q) * (np.sum(ng * c, axis=0) if ng.ndim == 3 else ng * c)


@BilinearForm
def _sheared_wall(q, v, w):
    """½((q·n)(g_τ·v) + (v·n)(g_τ·q)) on a no-slip wall that heat crosses."""
    n, g = w.n, w.g
    g_t = g - dot(g, n) * n
    return 0.5 * (dot(q.value, n) * dot(g_t, v.value) + dot(v.value, n) * dot(g_t, q.value))


def closure_form(qb: skfem.CellBasis, nu: GradedViscosity, intorder: int,
                 sheared: np.ndarray = np.zeros(0, dtype=np.int64),
                 inside: np.ndarray | None = None,
                 cut: np.ndarray = np.zeros(0, dtype=np.int64)) -> sp.csr_matrix:
    """R_h(q, v) of the module doc on the DOFs of the flux basis ``qb`` (its facet terms
    at ``intorder``), with the wall term on the ``sheared`` boundary facets (no-slip
    walls that heat crosses, module doc); ``inside`` (a mask over the cells): on that
    region only (its cells, the facets between two of them and its ``sheared`` ones),
    ``qb`` then the basis of its cells; ``cut``: interior facets that bound both sides
    (a slit's), without facet terms."""
    mesh, flux_element = qb.mesh, qb.elem
    R = _closure_cells.assemble(qb, g=nu.gradient(qb))
    interior = np.setdiff1d(np.nonzero(mesh.f2t[1] >= 0)[0], cut)
    if inside is not None:
        interior = interior[inside[mesh.f2t[0, interior]] & inside[mesh.f2t[1, interior]]]
        sheared = sheared[inside[mesh.f2t[0, sheared]]]
    if len(sheared):
        fb = skfem.FacetBasis(mesh, flux_element, facets=sheared, intorder=intorder)
        R = R + _sheared_wall.assemble(fb, g=nu.gradient(fb))
    if interior.size:
        sides = [skfem.InteriorFacetBasis(mesh, flux_element, facets=interior, side=s,
                                          intorder=intorder) for s in (0, 1)]
        n = sides[0].normals
        g = nu.gradient(sides[0])
        facet_part = skfem.asm(_closure_facets, sides, sides, ng=_cross(n, g))
        # (n × g)·({q} × [v]) = q_n ([v] × (n × g))·n: the facet's normal traces, which
        # only its own DOFs carry, against the DOFs of the cells on both sides, so every
        # entry couples DOFs of one cell; the pairs of the two sides' other DOFs come out
        # as round-off (1e-15 relative) and would triple the fill of the factors
        R = R + facet_part.multiply(_cell_pattern(qb))
    return R.tocsr()


def _cell_pattern(basis: skfem.CellBasis) -> sp.csr_matrix:
    """The DOF pairs that share a cell of ``basis`` (ones)."""
    dofs = basis.element_dofs
    nb, nc = dofs.shape
    rows = np.broadcast_to(dofs[:, None, :], (nb, nb, nc)).ravel()
    cols = np.broadcast_to(dofs[None, :, :], (nb, nb, nc)).ravel()
    pattern = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(basis.N, basis.N))
    pattern.data[:] = 1.0
    return pattern
