r"""Axisymmetric (r, z) forms of the mixed heat equations (issue 11 item 4).

A body of revolution about the z axis is meshed in its meridian half-plane
(x[0] = r ≥ 0, x[1] = z). Fields independent of the azimuth have the divergence

.. math::

    \nabla\cdot q = \frac{1}{r}\frac{\partial (r q_r)}{\partial r}
                    + \frac{\partial q_z}{\partial z}
                  = \partial_r q_r + \partial_z q_z + \frac{q_r}{r},

and every integral over the body is ∫ (…) 2πr dr dz. The mixed weak form is the
Cartesian one (:mod:`femheat.assembly.forms`) with the measure 2πr: each volume
and facet form below is its Cartesian namesake times 2π r, r = ``w.x[0]``, except
the divergence, which gains the hoop term,

.. math::

    (\nabla\cdot q, s)_{2\pi r} = \int 2\pi\,(r\,\nabla_{rz}\cdot q + q_r)\, s\; dr\,dz
                                = \int 2\pi\, \bigl(\partial_r (r q_r) + r\,\partial_z q_z\bigr)\,s\; dr\,dz .

With the weight 2π, the assembled matrices are the true three-dimensional ones:
heat flows come out in W, stored energy in J, exactly as for a 3D mesh.

**The axis.** On r = 0 the boundary terms ⟨T, 2πr v·n⟩ vanish identically, so
the axis needs no boundary condition from the user: symmetry is natural, and the
integrals are exact (the weight vanishes there, nothing is singular). Assembly sets
the axis flux degrees of freedom to q_r = 0, the symmetric field's value: without it
RT0×P0 leaves an O(1) pointwise (O(h) in L²) spurious q_r in the axis cells. Energy is
still conserved cell by cell: the divergence form integrates exactly to the
2πr-weighted facet fluxes.

**Guyer–Krumhansl in (r, z).** For an axisymmetric flux without swirl,
q = (q_r, 0, q_z), the 3D gradient ∇q has the meridian components ∂_r q_r, ∂_z q_r,
∂_r q_z, ∂_z q_z and the hoop component (∇q)_θθ = q_r/r, so the vector Laplacian's
r-component carries −q_r/r²,

.. math::

    (\nabla^2 q)_r = \frac{1}{r}\partial_r(r\,\partial_r q_r) + \partial_{zz} q_r
                     - \frac{q_r}{r^2}, \qquad
    (\nabla^2 q)_z = \frac{1}{r}\partial_r(r\,\partial_r q_z) + \partial_{zz} q_z ,

and the viscous energy ∫ν ∇q:∇v dV of the Cartesian form is, restricted to such fields,

.. math::

    (\nu\nabla q, \nabla v)_{2\pi r} = \int 2\pi\,\nu\,\Bigl(r\,\nabla_{rz} q :
       \nabla_{rz} v + \frac{q_r v_r}{r}\Bigr)\, dr\, dz ,
    \qquad
    \beta(\nu\nabla\cdot q, \nabla\cdot v)_{2\pi r} = \int 2\pi\,\beta\nu\,
       \frac{(r\nabla_{rz}\cdot q + q_r)(r\nabla_{rz}\cdot v + v_r)}{r}\, dr\, dz

(:func:`flux_viscosity`, :func:`flux_grad_div`). The hoop term has no derivative, so
integration by parts leaves the Cartesian facet terms, with the measure 2πr ds: the
interior penalty and the Nitsche wall terms are their Cartesian namesakes times 2πr
(σ ~ 1/h unchanged). On the axis the q_r = 0 DOFs (above) make q_r/r bounded in the
axis cells; the boundary term ⟨ν(∇q)n, v⟩ 2πr vanishes there, so ∂_r q_z = 0 is
natural. Not available in (r, z): an anisotropic κ (its ν_θθ is not given by the
meridian tensor), walls given a smooth ``normal`` (weak impermeability) and the
Landau quartic term; :class:`~femheat.models.gk.GKModel` refuses them.

Units as in :mod:`femheat.assembly.forms`, with one more length from the measure.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from skfem import BilinearForm, LinearForm
from skfem.helpers import ddot, div, grad

from . import forms as cartesian
from ..errors import FemheatInputError, MeshError

__all__ = ["COORDINATES", "FormSet", "form_set", "axisymmetric", "divergence",
           "flux_mass", "capacity", "normal_resistance", "boundary_temperature",
           "heat_source", "normal_flux", "flux_viscosity", "flux_grad_div",
           "interior_penalty", "wall_no_slip", "wall_slip", "wall_tangential_flux",
           "check_coordinates", "axis_vertices", "axis_facets", "axis_boundaries",
           "AXIS_TOLERANCE"]

COORDINATES = ("cartesian", "axisymmetric")

#: nodes with r < −AXIS_TOLERANCE · (mesh size) are refused; nodes within it of
#: r = 0 are on the axis
AXIS_TOLERANCE = 1e-9


def axisymmetric(form):
    r"""The 2πr-weighted version of a Cartesian ``BilinearForm``/``LinearForm``:
    integrand × 2π ``w.x[0]``.

    Every coefficient keyword of the original form is used unchanged.
    """
    f = form.form
    if isinstance(form, BilinearForm):
        out = BilinearForm(lambda u, v, w: 2 * np.pi * w.x[0] * f(u, v, w))
    elif isinstance(form, LinearForm):
        out = LinearForm(lambda v, w: 2 * np.pi * w.x[0] * f(v, w))
    else:
        raise TypeError(f"axisymmetric() needs a BilinearForm or LinearForm, got {form!r}")
    out.__doc__ = (f"{getattr(f, '__name__', 'form')} with the axisymmetric measure 2πr "
                   f"dr dz.\n\n{f.__doc__ or ''}")
    return out


@BilinearForm
def divergence(q, s, w):
    r"""Axisymmetric :math:`(\nabla\cdot q, s) = \int 2\pi (r\,\partial_r q_r + r\,\partial_z q_z
    + q_r)\, s\, dr\, dz`.

    Assemble with ``ubasis`` = flux basis (components (q_r, q_z)), ``vbasis`` =
    temperature basis, as :func:`femheat.assembly.forms.divergence`.
    """
    return 2 * np.pi * (w.x[0] * div(q) + q.value[0]) * s


flux_mass = axisymmetric(cartesian.flux_mass)
capacity = axisymmetric(cartesian.capacity)
normal_resistance = axisymmetric(cartesian.normal_resistance)
boundary_temperature = axisymmetric(cartesian.boundary_temperature)
heat_source = axisymmetric(cartesian.heat_source)
normal_flux = axisymmetric(cartesian.normal_flux)
interior_penalty = axisymmetric(cartesian.interior_penalty)
wall_no_slip = axisymmetric(cartesian.wall_no_slip)
wall_slip = axisymmetric(cartesian.wall_slip)
wall_tangential_flux = axisymmetric(cartesian.wall_tangential_flux)


@BilinearForm
def flux_viscosity(q, v, w):
    r"""Axisymmetric GK viscous term :math:`\int 2\pi\nu\,(r\,\nabla q:\nabla v
    + q_r v_r/r)\, dr\,dz`, ``w.nu`` = l²/κ [m³ K W⁻¹] (a scalar field).

    The second part is the hoop component (∇q)_θθ = q_r/r of the 3D gradient: its
    Euler–Lagrange term is the −q_r/r² of the vector Laplacian (module docstring).
    """
    return 2 * np.pi * w.nu * (w.x[0] * ddot(grad(q), grad(v))
                               + q.value[0] * v.value[0] / w.x[0])


@BilinearForm
def flux_grad_div(q, v, w):
    r"""Axisymmetric grad-div term :math:`\int 2\pi\nu_\beta\,(r\nabla\cdot q + q_r)
    (r\nabla\cdot v + v_r)/r\; dr\,dz`, i.e. (ν_β ∇·q, ∇·v) with the axisymmetric
    divergence and the measure 2πr; ``w.nu`` = βl²/κ [m³ K W⁻¹]."""
    dq = w.x[0] * div(q) + q.value[0]
    dv = w.x[0] * div(v) + v.value[0]
    return 2 * np.pi * w.nu * dq * dv / w.x[0]


@dataclass(frozen=True)
class FormSet:
    """The forms the mixed assembly uses, for one coordinate system.

    ``cartesian``: :mod:`femheat.assembly.forms` (dx); ``axisymmetric``: this
    module (2πr dr dz). Assembly, post-processing and the memory model take their
    forms from here (``system.forms``), so each term is written once.
    """

    coordinates: str
    flux_mass: BilinearForm
    divergence: BilinearForm
    capacity: BilinearForm
    normal_resistance: BilinearForm
    boundary_temperature: LinearForm
    heat_source: LinearForm
    normal_flux: LinearForm
    flux_viscosity: BilinearForm
    flux_grad_div: BilinearForm
    interior_penalty: BilinearForm
    wall_no_slip: BilinearForm
    wall_slip: BilinearForm
    wall_tangential_flux: LinearForm


_NAMES = ("flux_mass", "divergence", "capacity", "normal_resistance",
          "boundary_temperature", "heat_source", "normal_flux", "flux_viscosity",
          "flux_grad_div", "interior_penalty", "wall_no_slip", "wall_slip",
          "wall_tangential_flux")
_SETS = {
    "cartesian": FormSet("cartesian", *(getattr(cartesian, n) for n in _NAMES)),
    "axisymmetric": FormSet("axisymmetric", *(globals()[n] for n in _NAMES)),
}


def form_set(coordinates: str = "cartesian") -> FormSet:
    """The :class:`FormSet` of ``coordinates`` ("cartesian" or "axisymmetric")."""
    try:
        return _SETS[coordinates]
    except (KeyError, TypeError):
        raise FemheatInputError(
            f"coordinates must be one of {', '.join(map(repr, COORDINATES))}, "
            f"got {coordinates!r}") from None


def check_coordinates(regions, coordinates: str, where: str = "mesh.coordinates") -> None:
    """Refuse an unknown coordinate system, or a mesh an axisymmetric run cannot use.

    An axisymmetric mesh is two-dimensional, (r, z) = (x[0], x[1]), with every node
    at r ≥ 0 (to within ``AXIS_TOLERANCE`` times the mesh diameter).
    """
    form_set(coordinates)
    if coordinates != "axisymmetric":
        return
    mesh = regions.mesh
    if mesh.dim() != 2:
        raise MeshError(
            f"{where} = 'axisymmetric' needs a 2D mesh of the meridian half-plane "
            f"(x = r, y = z); this mesh is {mesh.dim()}D. Mesh the (r, z) section, or "
            "use coordinates = 'cartesian' for a 3D body")
    r = mesh.p[0]
    size = float(np.ptp(mesh.p, axis=1).max())
    if r.min() < -AXIS_TOLERANCE * size:
        i = int(np.argmin(r))
        raise MeshError(
            f"{where} = 'axisymmetric': the mesh crosses the axis, node {i} is at "
            f"r = x = {r[i]:.6g} m < 0 ({int(np.sum(r < -AXIS_TOLERANCE * size))} nodes "
            "at r < 0); the axis is x = 0 and the meridian section must lie at x >= 0: "
            "shift or cut the mesh")


def axis_vertices(mesh) -> np.ndarray:
    """Boolean mask of the mesh's vertices on the axis r = 0 (|r| ≤ ``AXIS_TOLERANCE``
    times the mesh diameter)."""
    return np.abs(mesh.p[0]) <= AXIS_TOLERANCE * float(np.ptp(mesh.p, axis=1).max())


def axis_facets(regions) -> np.ndarray:
    """Boundary facets lying on the axis r = 0 (both vertices at |r| ≤ tolerance)."""
    mesh = regions.mesh
    bnd = np.nonzero(mesh.f2t[1] == -1)[0]
    return bnd[axis_vertices(mesh)[mesh.facets[:, bnd]].all(axis=0)]


def axis_boundaries(regions) -> list[str]:
    """Names of the boundaries whose facets all lie on the axis."""
    axis = set(axis_facets(regions).tolist())
    return [n for n in regions.boundaries
            if regions.boundary(n).size and set(regions.boundary(n).tolist()) <= axis]

