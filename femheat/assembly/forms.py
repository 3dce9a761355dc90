r"""Weak forms of the mixed temperature–flux heat equations.

Every form is a public scikit-fem ``BilinearForm``/``LinearForm`` that any
model needing the term reuses, and that a scikit-fem user can assemble in a
script of their own. Coefficients arrive as keyword fields at assembly time
(``w.kinv``, ``w.resistance``...), exactly as in ``skfem.models``.

The mixed system for flux q ∈ H(div) (Raviart–Thomas) and temperature T
(discontinuous) reads, for all test functions v and s,

.. math::

    (\tau\kappa^{-1}\partial_t q, v) + (\kappa^{-1} q, v)
      + \sum_{\Gamma} \langle R\, q\cdot n, v\cdot n\rangle_\Gamma
      - (T, \nabla\cdot v) = -\langle T_D, v\cdot n\rangle_{\Gamma_D}
                             -\langle T_\infty, v\cdot n\rangle_{\Gamma_h}

    (C\,\partial_t T, s) + (\nabla\cdot q, s) = (Q, s)

where Γ runs over Kapitza interfaces (R = R_K) and convective boundaries
(R = 1/h). Units: q [W m⁻²], T [K], κ [W m⁻¹ K⁻¹], τ [s], C [J m⁻³ K⁻¹],
Q [W m⁻³], R [m² K W⁻¹].
"""

from __future__ import annotations

import numpy as np
from skfem import BilinearForm, LinearForm
from skfem.helpers import ddot, div, dot, grad, jump, mul

__all__ = [
    "flux_mass",
    "divergence",
    "capacity",
    "normal_resistance",
    "boundary_temperature",
    "heat_source",
    "normal_flux",
    "flux_moment",
    "flux_viscosity",
    "flux_grad_div",
    "flux_curl_coupling",
    "flux_edge_curl_coupling",
    "edge_mass",
    "interior_penalty",
    "wall_no_slip",
    "wall_tangential_flux",
    "wall_slip",
    "wall_impermeable",
    "wall_normal_flux",
    "wall_temperature_trace",
    "cubic_flux_residual",
    "cubic_flux_jacobian",
    "landau_flux_residual",
    "landau_flux_jacobian",
    "landau_coefficients",
]


@BilinearForm
def flux_mass(q, v, w):
    r"""Weighted flux mass :math:`(A q, v)` with a coefficient field ``w.kinv`` = A.

    With A = κ⁻¹ [m K W⁻¹] this is the resistive (Darcy) term of Fourier's law;
    with A = τκ⁻¹ it is the flux inertia of the Maxwell–Cattaneo–Vernotte law.
    ``kinv`` is a number or a scalar field ``(nelems, nqp)`` (isotropic κ), the
    diagonal ``(d, nelems, nqp)`` (κ diagonal in the coordinate axes) or the full
    tensor ``(d, d, nelems, nqp)``; the compact forms give the same matrix as the
    full tensor at a fraction of the cost.
    """
    k = np.asarray(w.kinv)
    if k.ndim <= 2:
        return k * dot(q, v)
    if k.ndim == 3:
        qa, va = np.asarray(q), np.asarray(v)
        return sum(k[i] * qa[i] * va[i] for i in range(k.shape[0]))
    return dot(mul(k, q), v)


@BilinearForm
def divergence(q, s, w):
    r""":math:`(\nabla\cdot q, s)` coupling flux (trial) to temperature (test).

    Assemble with ``ubasis`` = flux basis, ``vbasis`` = temperature basis; the
    result B (n_T × n_q) gives the energy balance ``C Ṫ + B q = F`` and its
    transpose gives −(T, ∇·v) in the flux equation.
    """
    return div(q) * s


@BilinearForm
def capacity(T, s, w):
    r"""Heat-capacity mass :math:`(C T, s)`, ``w.heat_capacity`` = C [J m⁻³ K⁻¹].

    Block diagonal for a discontinuous temperature space, so it is inverted
    cell by cell.
    """
    return w.heat_capacity * T * s


@BilinearForm
def normal_resistance(q, v, w):
    r"""Facet resistance :math:`\langle R\, q\cdot n, v\cdot n\rangle` on tagged facets.

    On an interior facet between materials A and B it imposes the Kapitza
    temperature jump T_A − T_B = R_K q·n_AB without splitting the mesh; on a
    boundary facet with R = 1/h it is convection q·n = h (T − T∞).
    ``w.resistance`` [m² K W⁻¹] is a facet field. The product is independent of
    the sign of n, so either side's normal may be used.
    """
    return w.resistance * dot(q, w.n) * dot(v, w.n)


@LinearForm
def boundary_temperature(v, w):
    r"""Natural temperature condition :math:`-\langle T_b, v\cdot n\rangle`.

    ``w.temperature`` [K] is the prescribed boundary temperature T_D, or the
    ambient T∞ on a convective boundary.
    """
    return -w.temperature * dot(v, w.n)


@LinearForm
def heat_source(s, w):
    r"""Volumetric heat source :math:`(Q, s)`, ``w.source`` = Q [W m⁻³]."""
    return w.source * s


@LinearForm
def normal_flux(v, w):
    r"""Prescribed normal flux load :math:`\langle g, v\cdot n\rangle`, ``w.flux`` = g [W m⁻²].

    Used with ``normal_resistance`` (R = 1) to project g onto the boundary
    degrees of freedom of the flux space.
    """
    return w.flux * dot(v, w.n)


@LinearForm
def flux_moment(v, w):
    r"""Volume integral of one flux component :math:`(e, v)`, ``w.direction`` = e.

    Assembled once, its dot product with the flux coefficients is ∫ q·e dx
    [W m⁻² · m^d]: the mean flux of a representative cell (homogenization).
    """
    return dot(w.direction, v)


def _times(nu, u):
    """ν u for a scalar field ν (shape (n, nq)) or a tensor field (d, d, n, nq) acting
    on the first (flux-component) index of a vector u or a gradient (∇u)ᵢⱼ = ∂ⱼuᵢ."""
    if np.ndim(nu) <= 2:
        return nu * u
    return np.einsum("ij...,j...->i...", nu, u)


def _sym(nu):
    """Symmetric part of a tensor field (a scalar field unchanged)."""
    return nu if np.ndim(nu) <= 2 else 0.5 * (nu + np.swapaxes(nu, 0, 1))


@BilinearForm
def flux_viscosity(q, v, w):
    r"""Guyer–Krumhansl "viscous" term :math:`\sum_k (\nu\, \partial_k q, \partial_k v)`,
    ``w.nu`` = l²κ⁻¹.

    ν [m³ K W⁻¹] is a scalar field (isotropic κ) or a tensor field (d, d, ...)
    acting on the flux components, ν_ij ∂_k q_j ∂_k v_i (anisotropic κ, see
    :mod:`femheat.assembly.gk`); (∇q)ᵢⱼ = ∂ⱼqᵢ.
    """
    return ddot(_times(w.nu, grad(q)), grad(v))


@BilinearForm
def flux_grad_div(q, v, w):
    r"""Grad-div term :math:`(\nu_\beta \nabla\cdot q, \nabla\cdot v)`, ``w.nu`` = β l²/κ.

    β = 2 gives Guyer and Krumhansl's ∇²q + 2∇∇·q; β = 0 the form of seed 004
    eq. 19. Conforming in H(div): no facet terms.
    """
    return w.nu * div(q) * div(v)


def _normal_derivative(u, n):
    """(∇u) n, i.e. Σⱼ ∂ⱼuᵢ nⱼ -- not skfem's ``dot(grad(u), n)``, which contracts
    the first index and gives (∇u)ᵀn."""
    return mul(grad(u), n)


@BilinearForm
def interior_penalty(q, v, w):
    r"""Symmetric interior penalty for (ν∇q, ∇v) on interior facets.

    .. math::

        -\langle\{\nu\,(\nabla q) n\}, [v]\rangle
        -\langle\{\nu\,(\nabla v) n\}, [q]\rangle
        + \langle\sigma\,\nu_{max} [q], [v]\rangle

    with [v] = v₀ − v₁ (side 0 is the facet's first cell, n points out of it)
    and {·} the mean of both sides. Assemble with
    ``asm(interior_penalty, [fb0, fb1], [fb0, fb1], nu0=..., nu1=..., nu_max=...,
    sigma=...)`` where ``fbᵢ = InteriorFacetBasis(..., side=i)``. For an
    H(div)-conforming q only the tangential jump is nonzero.

    ν may be a tensor field (anisotropic κ): the second term is then
    ⟨{(∇v)n}, ν[q]⟩ = ⟨{νᵀ(∇v)n}, [q]⟩, the boundary term of the volume form
    integrated by parts on q, so the form stays adjoint-consistent when ν has
    an antisymmetric (thermal Hall) part, and ``nu_max`` must be a symmetric
    tensor bounding the symmetric parts of both sides' ν.
    """
    side_q, side_v = w.idx
    nu_q = w.nu0 if side_q == 0 else w.nu1
    nu_v = w.nu0 if side_v == 0 else w.nu1
    jq, jv = jump(w, q, v)
    return (w.sigma * dot(_times(w.nu_max, jq), jv)
            - 0.5 * dot(_times(nu_q, _normal_derivative(q, w.n)), jv)
            - 0.5 * dot(_normal_derivative(v, w.n), _times(nu_v, jq)))


def _tangential(u, n):
    return u - dot(u, n) * n


@BilinearForm
def wall_no_slip(q, v, w):
    r"""Nitsche no-slip wall, tangential q = 0:

    .. math::

        -\langle \nu (\nabla q)n, v_t\rangle - \langle \nu (\nabla v)n, q_t\rangle
        + \langle \sigma \nu q_t, v_t\rangle .

    The normal component is set by the thermal condition of the boundary. A
    tensor ν (anisotropic κ) enters as ν(∇q)n·v_t, (∇v)n·νq_t and the
    penalty σ ν_s q_t·v_t with ν_s the symmetric part of ν.
    """
    qt, vt = _tangential(q, w.n), _tangential(v, w.n)
    return (w.sigma * dot(_times(_sym(w.nu), qt), vt)
            - dot(_times(w.nu, _normal_derivative(q, w.n)), vt)
            - dot(_normal_derivative(v, w.n), _times(w.nu, qt)))


@LinearForm
def wall_tangential_flux(v, w):
    r"""Data of a Nitsche wall q_t = g_t (``w.flux`` = g_t [W m⁻²], tangential):

    .. math::

        \langle \sigma \nu_s\, g_t, v_t\rangle - \langle (\nabla v) n, \nu\, g_t\rangle ,

    the right-hand side that goes with :func:`wall_no_slip` (``w.nu``, ``w.sigma`` as
    there; ν_s the symmetric part of a tensor ν). With g_t = 0 it vanishes (no-slip).
    """
    return (w.sigma * dot(_times(_sym(w.nu), w.flux), _tangential(v, w.n))
            - dot(_normal_derivative(v, w.n), _times(w.nu, w.flux)))


@BilinearForm
def wall_slip(q, v, w):
    r"""Slip-length wall q_t = −C_s l ∂q_t/∂n: :math:`\langle \nu/(C_s l)\, q_t, v_t\rangle`.

    ``w.friction`` = ν/(C_s l) = l/(C_s κ) [m² K W⁻¹]. C_s → ∞ is free slip.
    q_t = q − (q·n)n uses ``w.n``: the facet normal, or the smooth normal of a
    curved wall passed as the keyword field ``n=`` at assembly. A tensor
    friction l κ⁻¹/C_s (anisotropic κ) gives ⟨(l/C_s) κ⁻¹q_t, v_t⟩: the
    tangential part of κ⁻¹(l ∂q/∂n + q_t/C_s) vanishes on the wall.
    """
    return dot(_times(w.friction, _tangential(q, w.n)), _tangential(v, w.n))


def _normal_stress(u, n, nu, nu_beta, transpose=False):
    """σ_nn(u) = n·ν(∇u)n + βν ∇·u: the normal-normal part of the GK "stress"
    ν∇u + βν(∇·u)I whose divergence is the viscous force of the flux equation
    (``transpose``: n·νᵀ(∇u)n, its adjoint for a tensor ν)."""
    nn = _times(np.swapaxes(nu, 0, 1) if transpose and np.ndim(nu) > 2 else nu,
                _normal_derivative(u, n))
    return dot(nn, n) + nu_beta * div(u)


@BilinearForm
def wall_impermeable(q, v, w):
    r"""Weak (Nitsche) impermeable wall q·n = 0 with a given normal ``w.n``:

    .. math::

        -\langle \sigma_{nn}(q), v\cdot n\rangle
        -\langle \sigma_{nn}(v), q\cdot n\rangle
        + \langle \gamma\, q\cdot n, v\cdot n\rangle,
        \qquad \sigma_{nn}(u) = \nu\,((\nabla u)n)\cdot n + \nu_\beta \nabla\cdot u .

    σ_nn is the normal-normal part of the GK "stress" ν∇u + ν_β(∇·u)I whose
    divergence is the viscous force of the flux equation; the first term is
    the normal part of the boundary term −⟨ν(∇q)n + ν_β(∇·q)n, v⟩ of the
    integrated-by-parts viscous and grad-div terms (consistency), the second
    makes the form symmetric (adjoint-consistent: n·νᵀ(∇v)n for a tensor ν),
    the third is the penalty. ``w.nu`` = l²/κ (or the tensor l²κ⁻¹),
    ``w.nu_beta`` = βl²/κ [m³ K W⁻¹], ``w.gamma`` [m² K W⁻¹] the penalty
    (:func:`femheat.assembly.gk.gk_operator` uses η(1+β)σ_F(ν + κ⁻¹(|K|/|F|)²): the
    Nitsche scaling of :func:`wall_no_slip` plus a part that keeps the wall
    closed in the Darcy limit l → 0). On a curved wall meshed by flat facets
    pass the smooth outward normal of the true surface as the keyword field
    ``n=``. The temperature's part of the wall traction is
    :func:`wall_normal_flux` (and, for a piecewise-constant temperature,
    :func:`wall_temperature_trace`).
    """
    qn, vn = dot(q, w.n), dot(v, w.n)
    return (w.gamma * qn * vn
            - _normal_stress(q, w.n, w.nu, w.nu_beta) * vn
            - _normal_stress(v, w.n, w.nu, w.nu_beta, transpose=True) * qn)


@BilinearForm
def wall_normal_flux(q, s, w):
    r"""Wall flux :math:`-\langle q\cdot n, s\rangle` (``w.n`` the facet normal by default).

    Assemble with ``ubasis`` = flux ``FacetBasis``, ``vbasis`` = temperature
    ``FacetBasis`` on the same facets, giving W (n_T × n_q). With the
    divergence block B = (∇·q, s), the temperature term of the flux equation
    on a wall whose normal flux is not fixed is −(B + W)ᵀT = −(T, ∇·v) +
    ⟨T, v·n⟩: the boundary term of ∫∇T·v that vanishes where v·n = 0 is
    imposed strongly. The energy equation keeps B (the heat crossing every
    facet is counted).
    """
    return -dot(q, w.n) * s


@BilinearForm
def wall_temperature_trace(q, v, w):
    r"""Wall trace of a cell-wise constant temperature, from the flux:
    :math:`\langle T_q - \bar T_q, v\cdot n\rangle`.

    With T in P0 the flux equation sees the cell mean T_K on a wall facet: a
    first-order error of the trace. Darcy's law ∇T = −A q (A = κ⁻¹
    [m K W⁻¹], ``w.kinv``, shape (d, d, ...)) with the cell's linear flux
    gives the quadratic temperature T_q(x) = −A q_K·r − ½ r·A(∇q)r,
    r = x − x_K, q_K = q − (∇q)r the flux at the centroid ``w.centroid`` [m];
    its cell mean is T̄_q = −½ A∇q : ``w.second_moment`` (the cell mean of
    r rᵀ [m²]). This form adds the difference T_q − T̄_q on the wall, so the
    wall rows of a weakly impermeable wall are exact for linear Darcy fluxes
    (BDM1 × P0). Units: K × W m⁻² · m² per test function, as every term of
    the flux equation.
    """
    r = w.x - w.centroid
    Aq = mul(w.kinv, q - mul(grad(q), r))
    AG = mul(w.kinv, grad(q))
    trace = -dot(Aq, r) - 0.5 * dot(r, mul(AG, r)) + 0.5 * ddot(AG, w.second_moment)
    return trace * dot(v, w.n)


@LinearForm
def cubic_flux_residual(v, w):
    r"""Landau–Khalatnikov quartic term :math:`(\gamma |q_0|^2 q_0, v)` at the iterate ``w.q0``.

    ``w.gamma`` = (b/a) κ⁻¹ [m⁵ K W⁻³]; from the free energy term b|q|⁴/4.
    """
    return w.gamma * dot(w.q0, w.q0) * dot(w.q0, v)


@BilinearForm
def cubic_flux_jacobian(u, v, w):
    r"""Its Newton derivative :math:`(\gamma (|q_0|^2 u + 2 (q_0\cdot u) q_0), v)` (symmetric)."""
    return w.gamma * (dot(w.q0, w.q0) * dot(u, v) + 2 * dot(w.q0, u) * dot(w.q0, v))


@LinearForm
def landau_flux_residual(v, w):
    r"""Landau–Khalatnikov nonlinear flux term
    :math:`((\gamma_3 |q_0|^2 + \gamma_5 |q_0|^4) q_0, v)` at ``w.q0`` [K m⁻¹ · W m⁻²·m²].

    ``w.gamma`` = b/ζ [m⁵ K W⁻³] and ``w.gamma5`` = c/ζ [m⁹ K W⁻⁵]: the derivative of
    the free energy terms b|q|⁴/4 + c|q|⁶/6 (seed 000 eq. 1), divided by ζ.
    """
    s = dot(w.q0, w.q0)
    return (w.gamma + w.gamma5 * s) * s * dot(w.q0, v)


def landau_coefficients(gamma, gamma5, q0) -> dict:
    """Quadrature-point fields of :func:`landau_flux_jacobian` at the flux ``q0``:
    α = (γ₃ + γ₅s)s and β = 2γ₃ + 4γ₅s, s = |q₀|² (computed once, not per DOF pair)."""
    q = np.asarray(q0)
    s = sum(q[i] * q[i] for i in range(q.shape[0]))
    return {"alpha": (gamma + gamma5 * s) * s, "beta": 2 * gamma + 4 * gamma5 * s, "q0": q}


@BilinearForm
def landau_flux_jacobian(u, v, w):
    r"""Derivative of :func:`landau_flux_residual` at q₀ (symmetric positive
    semidefinite, cell-local): :math:`(\alpha\, u\cdot v + \beta (q_0\cdot u)(q_0\cdot v))`
    with α = (γ₃ + γ₅s)s, β = 2γ₃ + 4γ₅s, s = |q₀|², from :func:`landau_coefficients`."""
    ua, va, q = np.asarray(u), np.asarray(v), w.q0
    d = q.shape[0]
    uv = sum(ua[i] * va[i] for i in range(d))
    qu = sum(q[i] * ua[i] for i in range(d))
    qv = sum(q[i] * va[i] for i in range(d))
    return w.alpha * uv + w.beta * qu * qv


@BilinearForm
def flux_curl_coupling(q, phi, w):
    r"""Weak rotation :math:`(q, \mathrm{curl}\,\varphi)`, curl φ = (∂_yφ, −∂_xφ), for a
    flux q (trial) and a continuous scalar φ (test, 2D).

    By parts, ∫ rot q φ = (q, curl φ) + ∮ (q·t) φ with rot q = ∂_x q_y − ∂_y q_x and
    t = (−n_y, n_x): the vorticity form of :mod:`femheat.assembly.vorticity`.
    """
    return q.value[0] * phi.grad[1] - q.value[1] * phi.grad[0]


@BilinearForm
def flux_edge_curl_coupling(q, tau, w):
    r"""Weak curl :math:`(q, \nabla\times\tau)` for a flux q (trial) and a Nédélec
    (edge) field τ (test, 3D).

    By parts, ∫ (∇×q)·τ = (q, ∇×τ) + ∮ (n × q)·τ: the 3D vorticity form of
    :mod:`femheat.assembly.vorticity`.
    """
    return dot(q.value, tau.curl)


@BilinearForm
def edge_mass(omega, tau, w):
    """(w.weight ω, τ) of Nédélec (edge) fields."""
    return w.weight * dot(omega.value, tau.value)
