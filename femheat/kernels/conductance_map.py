r"""Kapitza conductance along an interface from a kernel (seed 004 eq. 41), for the mixed model.

Seed 004 writes the heat flux at a point r_AB of an abrupt interface S between materials
A and B as the interface integral of the kernel against the temperature jump (eq. 40),

.. math::

    \mathbf q(\mathbf r_{AB}) = -\int_S Z(\mathbf r_{AB},\mathbf r')\,
        \mathbf n_{AB}\,[T](\mathbf r')\,dS' ,
    \qquad [T] = T_B - T_A ,

which for a jump that is uniform over the kernel's range is the Kapitza law
q·n_AB = G_K(r_AB)(T_A − T_B) with the position-dependent conductance (eq. 41)

.. math::

    G_K(\mathbf r_{AB}) = \int_S Z(\mathbf r_{AB},\mathbf r')\,dS'
    \quad [\mathrm{W\,m^{-2}\,K^{-1}}].

G_K varies along S wherever the kernel sees the interface end (within a few kernel
ranges of an edge, a corner or a junction), or where κ varies. :func:`kapitza_conductance_map`
evaluates eq. 41 as facet averages (1/|f|)∫_f G_K dS with
:func:`femheat.kernels.moments.interface_conductance` (Z = √(κ(r)κ(r′)) g(|r − r′|), g the
radial profile normalized in the mesh dimension; on an interface between subdomains A
and B with constant κ_A, κ_B, Z = √(κ_A κ_B) g). :func:`kapitza_from_kernel` hands the
result to the mixed model as R_K = 1/G_K per facet:

.. code-block:: python

    from femheat.kernels import GaussianKernel
    from femheat.kernels.conductance_map import kapitza_from_kernel

    rk = kapitza_from_kernel(regions, "ab", GaussianKernel(a, 2), {"A": 2.0, "B": 2.0})
    problem = fh.HeatProblem(regions, materials, bcs, interfaces={"ab": rk})

Per facet, R_K = 1/⟨G_K⟩_f (the reciprocal of the facet average, not the average of
1/G_K): the lowest-order mixed element carries one normal flux per facet, and with this
choice its heat flow through the facet equals the kernel's, ∫_f G_K dS·(T_A − T_B), for a
uniform jump. The reduction of eq. 40 to eq. 41 is exact for a uniform jump and holds to
O(a²∂²[T]) for a jump that varies slowly on the kernel range a (measured in
``tests/test_kapitza_variable.py``).
"""

from __future__ import annotations

import logging
from typing import Callable, Mapping

import numpy as np

from ..errors import FemheatInputError
from ..physics.conditions import KapitzaResistance
from .functions import RadialKernel
from .moments import interface_conductance

__all__ = ["kapitza_conductance_map", "kapitza_from_kernel"]

log = logging.getLogger(__name__)

Conductivity = float | Mapping[str, float] | Callable[[np.ndarray], np.ndarray]


def kapitza_conductance_map(regions, interface: str, kernel: RadialKernel,
                            conductivity: Conductivity, *, degree: int = 12,
                            level: int = 2) -> np.ndarray:
    r"""Per-facet Kapitza conductance ⟨G_K⟩_f = (1/|f|)∫_f ∫_S Z dS′ dS [W m⁻² K⁻¹] (eq. 41).

    Parameters
    ----------
    regions
        :class:`~femheat.mesh.regions.RegionMesh` with the named interface.
    interface
        Interface name; the result is ordered as ``regions.interface(interface)``.
    kernel
        Radial kernel profile g normalized in the mesh dimension (e.g.
        ``GaussianKernel(a, dim)``, seed 004 eq. 37).
    conductivity
        κ [W m⁻¹ K⁻¹]: a scalar, subdomain name -> κ (Z = √(κ_A κ_B) g on the
        interface) or a callable of positions (d, ...).
    degree, level
        Composite Gauss rule on each facet (see
        :func:`~femheat.kernels.moments.interface_conductance`).

    Returns
    -------
    numpy.ndarray
        One G_K per facet, finite and > 0, ready for
        ``KapitzaResistance.from_conductance``.
    """
    G = np.asarray(interface_conductance(regions, interface, kernel, conductivity,
                                         degree=degree, level=level), dtype=float)
    bad = ~(np.isfinite(G) & (G > 0))
    if bad.any():
        first = int(np.nonzero(bad)[0][0])
        raise FemheatInputError(
            f"eq. 41 gives {int(bad.sum())} facet conductances of interface {interface!r} "
            f"that are not finite and > 0 (first: facet {first}, G_K = {G[first]:.6g} "
            "W/(m^2 K)); the kernel must be bounded and reach the interface (check its "
            "range and the conductivity)")
    log.debug("eq. 41 on %r: G_K from %.6g to %.6g W/(m^2 K) over %d facets",
              interface, G.min(), G.max(), G.size)
    return G


def kapitza_from_kernel(regions, interface: str, kernel: RadialKernel,
                        conductivity: Conductivity, *, tangential: str = "continuous",
                        degree: int = 12, level: int = 2) -> KapitzaResistance:
    """R_K = 1/⟨G_K⟩_f per facet from eq. 41, as a :class:`~femheat.physics.conditions.KapitzaResistance`.

    Arguments as for :func:`kapitza_conductance_map`; ``tangential`` as for
    ``KapitzaResistance`` (GK only).
    """
    G = kapitza_conductance_map(regions, interface, kernel, conductivity, degree=degree,
                                level=level)
    return KapitzaResistance.from_conductance(G, tangential)
