"""Materials: conductivity, volumetric heat capacity and relaxation time.

Units are SI throughout:

=================  ======  ====================  =============================
name               symbol  unit                  meaning
=================  ======  ====================  =============================
conductivity       κ       W m⁻¹ K⁻¹             scalar or (d, d) tensor
heat_capacity      C = ρc  J m⁻³ K⁻¹             volumetric heat capacity
relaxation_time    τ       s                     MCV flux relaxation (0: Fourier)
nonlocal_length    l       m                     Guyer–Krumhansl length (0: MCV)
quartic            b/a     m⁴ W⁻²                Landau–Khalatnikov |q|²q term
=================  ======  ====================  =============================

Each coefficient is a constant or a callable of position ``x`` (shape
``(d, ...)``, metres) returning an array of shape ``x.shape[1:]`` (scalars) or
``(d, d) + x.shape[1:]`` (tensors). Graded, anisotropic κ(r) -- the input of
transformation-thermotics designs -- is therefore as easy as a constant.

The symmetric part of κ must be positive definite (second law). An
antisymmetric part (thermal Hall effect, κ_ij(B) = κ_ji(−B)) is allowed; it
makes the flux block non-symmetric, which the LU-based solvers handle.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Callable, Mapping, Union

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError, RegionError
from ..validation import nonnegative, positive, spd_tensor

__all__ = ["Material", "CoefficientFields", "material_fields"]

Coefficient = Union[float, ArrayLike, Callable[[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class Material:
    """A heat-conducting material.

    Parameters
    ----------
    conductivity
        κ [W m⁻¹ K⁻¹]: scalar, (d, d) tensor, or callable of position.
    heat_capacity
        C = ρc [J m⁻³ K⁻¹]; required for transient runs, unused in steady ones.
    relaxation_time
        τ [s] of the Maxwell–Cattaneo–Vernotte law τ ∂q/∂t + q = −κ∇T;
        0 gives Fourier's law.
    nonlocal_length
        l [m] of the Guyer–Krumhansl law τ∂q/∂t + q = −κ∇T + l²(∇²q + β∇∇·q);
        used by the ``"gk"`` model only.
    quartic
        b/a [m⁴ W⁻²] of the Landau–Khalatnikov law
        τq̇ + q + (b/a)|q|²q = −κ∇T + l²∇²q (seed 000); ``"gk"`` model only,
        solved by Newton's method. See :meth:`from_landau`.
    name
        Optional label used in error messages.

    Only κ, C and τ may be given by position; ``name``, ``nonlocal_length`` and
    ``quartic`` are keyword-only, so ``Material(κ, C, τ, l)`` is refused instead
    of reading l as a name.
    """

    conductivity: Coefficient
    heat_capacity: Coefficient = 1.0
    relaxation_time: Coefficient = 0.0
    _: KW_ONLY  # Material(κ, C, τ, l) would silently drop l: name it
    name: str = ""
    nonlocal_length: Coefficient = 0.0
    quartic: float = 0.0

    def __post_init__(self) -> None:
        where = f"materials.{self.name}" if self.name else "material"
        if not callable(self.conductivity):
            arr = np.asarray(self.conductivity, dtype=float) if not isinstance(
                self.conductivity, str) else self.conductivity
            if isinstance(arr, str):
                raise FemheatInputError(f"{where}.conductivity must be numeric, got {arr!r}")
            if arr.ndim == 0:
                positive(arr, f"{where}.conductivity", "W/(m K)")
            elif arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.shape[0] in (2, 3):
                spd_tensor(arr, arr.shape[0], f"{where}.conductivity")
            else:
                raise FemheatInputError(
                    f"{where}.conductivity must be a scalar or a 2x2/3x3 tensor, "
                    f"got shape {arr.shape}"
                )
        if not callable(self.heat_capacity):
            positive(self.heat_capacity, f"{where}.heat_capacity", "J/(m^3 K)")
        if not callable(self.relaxation_time):
            nonnegative(self.relaxation_time, f"{where}.relaxation_time", "s")
        if not callable(self.nonlocal_length):
            nonnegative(self.nonlocal_length, f"{where}.nonlocal_length", "m")
        nonnegative(self.quartic, f"{where}.quartic",
                    "m^4/W^2 (b < 0 makes the Landau free energy unbounded below)")

    @classmethod
    def from_landau(cls, a: float, b: float, Gamma: float, lam: float, zeta: float,
                    heat_capacity: Coefficient = 1.0, name: str = "") -> "Material":
        """A material from Landau–Khalatnikov coefficients (seed 000, eq. S3).

        With the free energy a|q|²/2 + b|q|⁴/4 + λ|∇q|²/2, dissipation Γ and
        coupling ζ: κ = ζ/a, τ = Γ/a, l² = λ/a and the quartic term b/a.

        Parameters
        ----------
        a, b, Gamma, lam, zeta
            Landau coefficients; a > 0, ζ > 0, and b, Γ, λ ≥ 0 (b < 0 would make
            the free energy unbounded below).
        """
        where = f"materials.{name}.landau" if name else "landau"
        a_ = float(positive(a, f"{where}.a"))
        zeta_ = float(positive(zeta, f"{where}.zeta"))
        b_ = float(nonnegative(b, f"{where}.b", "(b < 0: free energy unbounded below)"))
        g_ = float(nonnegative(Gamma, f"{where}.Gamma"))
        l_ = float(nonnegative(lam, f"{where}.lambda"))
        return cls(zeta_ / a_, heat_capacity, g_ / a_, name=name,
                   nonlocal_length=float(np.sqrt(l_ / a_)), quartic=b_ / a_)


def _evaluate(coef: Coefficient, x: np.ndarray) -> np.ndarray:
    if callable(coef):
        return np.asarray(coef(x), dtype=float)
    return np.asarray(coef, dtype=float)


@dataclass
class CoefficientFields:
    """Material coefficients evaluated at quadrature points.

    Arrays have shape ``(nelems, nqp)`` for scalars and ``(d, d, nelems, nqp)``
    for tensors, ready to be passed to scikit-fem forms as keyword fields.
    """

    resistivity: np.ndarray  # κ⁻¹ [m K W⁻¹]
    inertia: np.ndarray  # τ κ⁻¹ [s m K W⁻¹]
    heat_capacity: np.ndarray  # C [J m⁻³ K⁻¹]
    relaxation_time: np.ndarray  # τ [s]
    symmetric: bool  # False when κ has an antisymmetric (Hall) part
    nonlocal_length: np.ndarray  # l [m]
    isotropic: bool  # True when every κ is a scalar multiple of the identity
    cubic: np.ndarray  # (b/a) κ⁻¹, the coefficient of |q|²q in the flux equation


def material_fields(
    regions, materials: Mapping[str, Material], x: np.ndarray,
    cells: np.ndarray | None = None,
) -> CoefficientFields:
    """Evaluate the materials of each named subdomain at points ``x``.

    Parameters
    ----------
    regions
        The :class:`~femheat.mesh.regions.RegionMesh`.
    materials
        Subdomain name -> :class:`Material`; every subdomain needs one and every
        key must be a subdomain.
    x
        Points, shape ``(d, n, nqp)``: for each of n cells a set of points.
    cells
        The cell each row of ``x`` belongs to (its material is used); default
        all cells of the mesh in order. Facet terms pass the cell on one side.
    """
    known = regions.subdomain_names
    unknown = [k for k in materials if k not in regions.subdomains]
    if unknown:
        raise RegionError(
            f"materials given for unknown subdomain(s) {unknown}; the mesh has "
            f"subdomains: {', '.join(map(repr, known))}"
        )
    missing = [k for k in known if k not in materials]
    if missing:
        raise RegionError(
            f"no material for subdomain(s) {missing}; add them under [materials]"
        )
    d, ne, nq = x.shape
    region = regions.cell_region if cells is None else regions.cell_region[cells]
    kinv = np.zeros((d, d, ne, nq))
    tkinv = np.zeros((d, d, ne, nq))
    cap = np.zeros((ne, nq))
    tau = np.zeros((ne, nq))
    ell = np.zeros((ne, nq))
    cubic = np.zeros((ne, nq))
    symmetric = isotropic = True
    for i, name in enumerate(known):
        mat = materials[name]
        rows = np.nonzero(region == i)[0]
        if rows.size == 0:
            continue
        xs = x[:, rows]
        where = f"materials.{name}"
        k = _evaluate(mat.conductivity, xs)
        if k.ndim == 0 or k.shape == xs.shape[1:]:
            k = positive(np.broadcast_to(k, xs.shape[1:]), f"{where}.conductivity", "W/(m K)")
            ki = np.eye(d)[:, :, None, None] / k[None, None]
        else:
            if k.shape[:2] != (d, d):
                raise FemheatInputError(
                    f"{where}.conductivity must be a scalar or a {d}x{d} tensor on a "
                    f"{d}D mesh, got shape {k.shape[:2]}"
                )
            k = np.broadcast_to(k.reshape((d, d) + k.shape[2:] + (1,) * (4 - k.ndim)),
                                (d, d) + xs.shape[1:])
            spd_tensor(k, d, f"{where}.conductivity")
            if not np.allclose(k, np.swapaxes(k, 0, 1), rtol=1e-13, atol=0):
                symmetric = False
            diag = np.einsum("ii...->i...", k)
            if not (np.allclose(k - np.eye(d)[:, :, None, None] * diag[0], 0.0)):
                isotropic = False
            ki = np.moveaxis(np.linalg.inv(np.moveaxis(k, (0, 1), (-2, -1))), (-2, -1), (0, 1))
        t = nonnegative(np.broadcast_to(_evaluate(mat.relaxation_time, xs), xs.shape[1:]),
                        f"{where}.relaxation_time", "s")
        c = positive(np.broadcast_to(_evaluate(mat.heat_capacity, xs), xs.shape[1:]),
                     f"{where}.heat_capacity", "J/(m^3 K)")
        length = nonnegative(np.broadcast_to(_evaluate(mat.nonlocal_length, xs), xs.shape[1:]),
                             f"{where}.nonlocal_length", "m")
        kinv[:, :, rows] = ki
        tkinv[:, :, rows] = ki * t[None, None]
        cap[rows] = c
        tau[rows] = t
        ell[rows] = length
        cubic[rows] = mat.quartic * np.trace(ki) / d
    return CoefficientFields(kinv, tkinv, cap, tau, symmetric, ell, isotropic, cubic)
