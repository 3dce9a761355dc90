"""Materials: conductivity, volumetric heat capacity and relaxation time.

Units are SI throughout:

=================  ======  ====================  =============================
name               symbol  unit                  meaning
=================  ======  ====================  =============================
conductivity       κ       W m⁻¹ K⁻¹             scalar or (d, d) tensor
heat_capacity      C = ρc  J m⁻³ K⁻¹             volumetric heat capacity
relaxation_time    τ       s                     MCV flux relaxation (0: Fourier)
nonlocal_length    l       m                     Guyer–Krumhansl length (0: MCV)
quartic            b/|a|   m⁴ W⁻²                Landau–Khalatnikov |q|²q term
sextic             c/|a|   m⁸ W⁻⁴                Landau–Khalatnikov |q|⁴q term
=================  ======  ====================  =============================

A Landau–Khalatnikov material with a < 0 (``ordered``; the thermal-domain phase
of seed 000) keeps the positive scales κ = ζ/|a|, τ = Γ/|a|, l² = λ/|a| (seed 000:
τ = Γ/|a|) and flips the sign of its linear term:
τq̇ − q + (b/|a|)|q|²q + (c/|a|)|q|⁴q = −κ∇T + l²∇²q.

Each coefficient is a constant or a callable of position ``x`` (shape
``(d, ...)``, metres) returning an array of shape ``x.shape[1:]`` (scalars) or
``(d, d) + x.shape[1:]`` (tensors). Graded, anisotropic κ(r) -- the input of
transformation-thermotics designs -- is therefore as easy as a constant.

The symmetric part of κ must be positive definite (second law). An
antisymmetric part (thermal Hall effect, κ_ij(B) = κ_ji(−B)) is allowed; it
makes the flux block non-symmetric, which the LU-based solvers handle.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, replace
from typing import TYPE_CHECKING, Callable, Mapping, Union

import numpy as np
from numpy.typing import ArrayLike

from ..element.spaces import evaluation_points
from ..errors import FemheatInputError, RegionError
from ..validation import finite_array, nonnegative, positive, spd_tensor

if TYPE_CHECKING:
    import skfem

__all__ = ["Material", "CoefficientFields", "material_fields", "expand_resistivity",
           "apply_resistivity"]

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
        b/|a| [m⁴ W⁻²] of the Landau–Khalatnikov law
        τq̇ ± q + (b/|a|)|q|²q + (c/|a|)|q|⁴q = −κ∇T + l²∇²q (seed 000); ``"gk"``
        model only, solved by Newton's method (steady) or by
        :class:`~femheat.solve.landau.LandauScheme` (transient). See :meth:`from_landau`.
    sextic
        c/|a| [m⁸ W⁻⁴] of the same law (the c|q|⁶/6 term of seed 000 eq. 1).
    ordered
        True for Landau a < 0: the sign of the linear term is −q (ordered phase,
        thermal domains); transient runs only.
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
    sextic: float = 0.0
    ordered: bool = False

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
        nonnegative(self.sextic, f"{where}.sextic",
                    "m^8/W^4 (c < 0 makes the Landau free energy unbounded below)")
        if self.ordered and not self.quartic > 0:
            raise FemheatInputError(
                f"{where}: an ordered Landau material (a < 0) needs quartic = b/|a| > 0, "
                f"got {self.quartic}: with b <= 0 the free energy a|q|^2/2 + b|q|^4/4 is "
                "unbounded below")

    @classmethod
    def from_landau(cls, a: float, b: float, Gamma: float, lam: float, zeta: float,
                    heat_capacity: Coefficient = 1.0, name: str = "", c: float = 0.0
                    ) -> "Material":
        """A material from Landau–Khalatnikov coefficients (seed 000, eqs. 1 and S3).

        Free energy density F = a|q|²/2 + b|q|⁴/4 + c|q|⁶/6 + λ|∇q|²/2 + ζq·∇T and
        Γ∂q/∂t = −∂F/∂q: Γq̇ = −(aq + b|q|²q + c|q|⁴q − λ∇²q + ζ∇T). The material
        stores the scales κ = ζ/|a|, τ = Γ/|a|, l² = λ/|a|, b/|a|, c/|a| and, for
        a < 0, ``ordered=True`` (the linear term becomes −q).

        Parameters
        ----------
        a
            Linear Landau coefficient, units of ζ/κ (ζ's unit × m K W⁻¹): a > 0 the
            MCV/GK phase, a < 0 the ordered (thermal-domain) phase; a = 0 (the
            critical point) is refused.
        b, c
            Quartic and sextic coefficients, ≥ 0; b > 0 when a < 0 (else the free
            energy is unbounded below).
        Gamma
            Khalatnikov coefficient Γ ≥ 0; > 0 when a < 0 (the ordered law has no
            unique instantaneous solution).
        lam
            Gradient coefficient λ ≥ 0.
        zeta
            Coupling ζ > 0.
        c
            Sextic coefficient (keyword; default 0).
        """
        where = f"materials.{name}.landau" if name else "landau"
        a_ = float(finite_array(a, f"{where}.a"))
        if a_ == 0:
            raise FemheatInputError(
                f"{where}.a = 0 is the critical point, where kappa = zeta/a and tau = "
                "Gamma/a are undefined; give a > 0 (MCV/GK phase) or a < 0 (ordered phase)")
        zeta_ = float(positive(zeta, f"{where}.zeta"))
        c_ = float(nonnegative(c, f"{where}.c", "(c < 0: free energy unbounded below)"))
        g_ = float(nonnegative(Gamma, f"{where}.Gamma"))
        l_ = float(nonnegative(lam, f"{where}.lambda"))
        if a_ > 0:
            b_ = float(nonnegative(b, f"{where}.b", "(b < 0: free energy unbounded below)"))
        else:
            b_ = float(finite_array(b, f"{where}.b"))
            if b_ <= 0:
                raise FemheatInputError(
                    f"{where}.b must be > 0 when a < 0, got {b_}: the free energy "
                    "a|q|^2/2 + b|q|^4/4 is then unbounded below (no ordered state)")
            if g_ <= 0:
                raise FemheatInputError(
                    f"{where}.Gamma must be > 0 when a < 0, got {g_}: without the "
                    "relaxation term the ordered flux law has no unique solution")
        scale = abs(a_)
        return cls(zeta_ / scale, heat_capacity, g_ / scale, name=name,
                   nonlocal_length=float(np.sqrt(l_ / scale)), quartic=b_ / scale,
                   sextic=c_ / scale, ordered=a_ < 0)


def _evaluate(coef: Coefficient, x: np.ndarray) -> np.ndarray:
    if callable(coef):
        return np.asarray(coef(x), dtype=float)
    return np.asarray(coef, dtype=float)


def expand_resistivity(coefficient: np.ndarray, dim: int) -> np.ndarray:
    """The full ``(d, d, n, nqp)`` tensor of a compact κ⁻¹ field.

    ``coefficient`` is a scalar field ``(n, nqp)``, a diagonal ``(d, n, nqp)`` or
    already the full tensor ``(d, d, n, nqp)`` (returned as it is).
    """
    c = np.asarray(coefficient)
    if c.ndim == 2:
        return np.eye(dim)[:, :, None, None] * c[None, None]
    if c.ndim == 3:
        out = np.zeros((dim, dim) + c.shape[1:])
        for i in range(dim):
            out[i, i] = c[i]
        return out
    return c


def apply_resistivity(coefficient: np.ndarray, q: np.ndarray) -> np.ndarray:
    """κ⁻¹ q at quadrature points for a compact κ⁻¹ field; ``q`` has shape ``(d, n, nqp)``."""
    c = np.asarray(coefficient)
    if c.ndim == q.ndim - 1:  # scalar field
        return c[None] * q
    if c.ndim == q.ndim:  # diagonal
        return c * q
    return np.einsum("ij...,j...->i...", c, q)


@dataclass
class CoefficientFields:
    """Material coefficients evaluated at quadrature points.

    Scalars have shape ``(nelems, nqp)``. κ⁻¹ and τκ⁻¹ are kept in the most
    compact form that represents every material exactly
    (:attr:`resistivity_coefficient`, :attr:`inertia_coefficient`): a scalar
    field ``(nelems, nqp)`` where every κ is a number, the diagonal
    ``(d, nelems, nqp)`` where every κ tensor is diagonal, the full tensor
    ``(d, d, nelems, nqp)`` otherwise. :func:`femheat.assembly.forms.flux_mass`
    takes any of the three; :attr:`resistivity` and :attr:`inertia` expand them
    to the full tensor for code that needs it.

    Where every coefficient is a constant per material (:attr:`cellwise`), the
    arrays are read-only broadcast views of one value per cell: one number per
    cell in memory, not one per quadrature point.
    """

    resistivity_coefficient: np.ndarray  # κ⁻¹ [m K W⁻¹], compact
    inertia_coefficient: np.ndarray  # τ κ⁻¹ [s m K W⁻¹], compact
    heat_capacity: np.ndarray  # C [J m⁻³ K⁻¹]
    relaxation_time: np.ndarray  # τ [s]
    symmetric: bool  # False when κ has an antisymmetric (Hall) part
    nonlocal_length: np.ndarray  # l [m]
    isotropic: bool  # True when every κ is a scalar multiple of the identity
    cubic: np.ndarray  # b/ζ = (b/|a|) κ⁻¹, the coefficient of |q|²q in the flux equation
    dim: int = 2  # spatial dimension d
    cellwise: bool = False  # True when every coefficient is constant in each cell
    quintic: np.ndarray | None = None  # c/ζ, the coefficient of |q|⁴q
    ordering: np.ndarray | None = None  # 2|a|/ζ where Landau a < 0, else 0

    @property
    def nonlinear(self) -> bool:
        """True when a Landau–Khalatnikov |q|²q or |q|⁴q term is present."""
        return bool(np.any(self.cubic > 0) or (self.quintic is not None
                                                and np.any(self.quintic > 0)))

    @property
    def ordered(self) -> bool:
        """True when some Landau material has a < 0 (flux block term (a/ζ)q, a < 0)."""
        return self.ordering is not None and bool(np.any(self.ordering > 0))

    @property
    def resistivity(self) -> np.ndarray:
        """κ⁻¹ [m K W⁻¹] as the full tensor ``(d, d, nelems, nqp)``."""
        return expand_resistivity(self.resistivity_coefficient, self.dim)

    @property
    def inertia(self) -> np.ndarray:
        """τκ⁻¹ [s m K W⁻¹] as the full tensor ``(d, d, nelems, nqp)``."""
        return expand_resistivity(self.inertia_coefficient, self.dim)

    def resistivity_times(self, q: np.ndarray) -> np.ndarray:
        """κ⁻¹ q [K m⁻¹] for a flux ``q`` [W m⁻²] at the quadrature points, ``(d, nelems, nqp)``."""
        return apply_resistivity(self.resistivity_coefficient, q)

    def cell_values(self, name: str) -> np.ndarray | None:
        """One value per cell of a :attr:`cellwise` field (e.g. ``"relaxation_time"``),
        or ``None`` when the field varies inside cells."""
        if not self.cellwise:
            return None
        return np.asarray(getattr(self, name))[..., 0]

    def without_inertia(self) -> "CoefficientFields":
        """The same fields with τ = 0 (Fourier's law: τ plays no role)."""
        return replace(self,
                       inertia_coefficient=np.broadcast_to(0.0, self.inertia_coefficient.shape),
                       relaxation_time=np.broadcast_to(0.0, self.relaxation_time.shape))


def _inverse_conductivity(k: np.ndarray, d: int, npts: int, where: str):
    """κ⁻¹ of one material and its kind: ("isotropic" | "diagonal" | "full", array,
    symmetric, isotropic). ``k`` is a constant (``npts == 0``) or evaluated at points
    (trailing axes = the point axes, ``npts`` of them)."""
    if k.ndim == npts:  # scalar (constant or field)
        k = positive(k, f"{where}.conductivity", "W/(m K)")
        return "isotropic", 1.0 / k, True, True
    if k.shape[:2] != (d, d):
        raise FemheatInputError(
            f"{where}.conductivity must be a scalar or a {d}x{d} tensor on a "
            f"{d}D mesh, got shape {k.shape[:2]}"
        )
    spd_tensor(k, d, f"{where}.conductivity")
    off = ~np.eye(d, dtype=bool)
    diag = np.stack([k[i, i] for i in range(d)])
    isotropic = bool(np.allclose(k - np.eye(d).reshape((d, d) + (1,) * (k.ndim - 2)) * diag[0],
                                 0.0))
    if not np.any(k[off]):  # diagonal: κ⁻¹ is the reciprocal of the diagonal
        return "diagonal", 1.0 / diag, True, isotropic
    symmetric = bool(np.allclose(k, np.swapaxes(k, 0, 1), rtol=1e-13, atol=0))
    ki = np.moveaxis(np.linalg.inv(np.moveaxis(k, (0, 1), (-2, -1))), (-2, -1), (0, 1))
    return "full", ki, symmetric, isotropic


def _as_kind(ki: np.ndarray, kind: str, target: str, d: int, npts: int) -> np.ndarray:
    """Convert a compact κ⁻¹ (``kind``) to the ``target`` kind (leading axes only)."""
    if kind == target:
        return ki
    if target == "diagonal":  # from isotropic
        return np.broadcast_to(ki, (d,) + np.shape(ki))
    eye = np.eye(d).reshape((d, d) + (1,) * npts)
    if kind == "isotropic":
        return eye * ki
    return eye * ki[:, None]  # diagonal -> full: ki[i] on (i, i)


def material_fields(
    regions, materials: Mapping[str, Material], x: np.ndarray | skfem.CellBasis,
    cells: np.ndarray | None = None,
) -> CoefficientFields:
    """Evaluate the materials of each named subdomain at points ``x``.

    Constant coefficients are validated and inverted once per material, not per
    point; a function of position is evaluated at the points of that material's
    cells only.

    Parameters
    ----------
    regions
        The :class:`~femheat.mesh.regions.RegionMesh`.
    materials
        Subdomain name -> :class:`Material`; every subdomain needs one and every
        key must be a subdomain.
    x
        Points, shape ``(d, n, nqp)``: for each of n cells a set of points; or
        the scikit-fem basis whose quadrature points they are (its points are
        then computed only if a coefficient is a function of position).
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
    # every coefficient a constant: fields with one value per cell
    cellwise = not any(callable(c) for m in materials.values()
                       for c in (m.conductivity, m.heat_capacity, m.relaxation_time,
                                 m.nonlocal_length))
    if hasattr(x, "global_coordinates"):  # a basis: its points only if needed
        d, ne, nq = x.mesh.dim(), x.nelems, x.X.shape[-1]
        # off the cells' faces: a function that jumps inside a material takes each
        # cell's side (scikit-fem's tetrahedral rules of order 5, 6, 8 have points there)
        x = None if cellwise else evaluation_points(x)
    else:
        d, ne, nq = x.shape
    region = regions.cell_region if cells is None else regions.cell_region[cells]
    present = []
    for i, name in enumerate(known):
        rows = np.nonzero(region == i)[0]
        if rows.size:
            present.append((name, slice(None) if rows.size == ne else rows))
    pts = () if cellwise else (nq,)
    npts = 0 if cellwise else 2  # point axes of an evaluated coefficient
    symmetric = isotropic = True
    parts = []
    for name, rows in present:
        mat = materials[name]
        xs = None if cellwise else x[:, rows]
        shape = () if cellwise else xs.shape[1:]
        where = f"materials.{name}"
        k = _evaluate(mat.conductivity, xs)
        if k.ndim == 0 or k.shape == shape:
            k = np.broadcast_to(k, shape)
        elif k.shape[:2] != (d, d):
            raise FemheatInputError(
                f"{where}.conductivity must be a scalar or a {d}x{d} tensor on a "
                f"{d}D mesh, got shape {k.shape[:2]}")
        elif not cellwise:
            k = np.broadcast_to(k.reshape((d, d) + k.shape[2:] + (1,) * (4 - k.ndim)),
                                (d, d) + shape)
        kind, ki, sym, iso = _inverse_conductivity(k, d, npts, where)
        symmetric &= sym
        isotropic &= iso

        def value(coef):
            return np.broadcast_to(_evaluate(coef, xs), shape)

        t = nonnegative(value(mat.relaxation_time), f"{where}.relaxation_time", "s")
        c = positive(value(mat.heat_capacity), f"{where}.heat_capacity", "J/(m^3 K)")
        length = nonnegative(value(mat.nonlocal_length), f"{where}.nonlocal_length", "m")
        parts.append((rows, kind, ki, t, c, length, mat.quartic,
                      getattr(mat, "sextic", 0.0), getattr(mat, "ordered", False)))
    kinds = ("isotropic", "diagonal", "full")
    target = max((p[1] for p in parts), key=kinds.index, default="isotropic")
    lead = {"isotropic": (), "diagonal": (d,), "full": (d, d)}[target]
    size = (ne,) + pts
    kinv = np.zeros(lead + size)
    tkinv = np.zeros(lead + size)
    cap, tau, ell, cubic, quintic, ordering = (np.zeros(size) for _ in range(6))
    for rows, kind, ki, t, c, length, quartic, sextic, ordered in parts:
        ki = _as_kind(ki, kind, target, d, npts)
        if target == "isotropic":
            mean = ki
        elif target == "diagonal":
            mean = ki.sum(axis=0) / d
        else:
            mean = np.einsum("ii...->...", ki) / d
        if cellwise:  # a constant: one value for the cells of the material
            ki = ki[..., None]
        idx = (slice(None),) * len(lead) + (rows,)
        kinv[idx] = ki
        tkinv[idx] = ki * t
        cap[rows] = c
        tau[rows] = t
        ell[rows] = length
        cubic[rows] = quartic * mean
        quintic[rows] = sextic * mean
        if ordered:
            ordering[rows] = 2.0 * mean
    if cellwise:  # one value per cell, read as (..., nelems, nqp) without copying
        kinv, tkinv, cap, tau, ell, cubic, quintic, ordering = (
            np.broadcast_to(a[..., None], a.shape + (nq,))
            for a in (kinv, tkinv, cap, tau, ell, cubic, quintic, ordering))
    return CoefficientFields(kinv, tkinv, cap, tau, symmetric, ell, isotropic, cubic,
                             dim=d, cellwise=cellwise, quintic=quintic, ordering=ordering)
