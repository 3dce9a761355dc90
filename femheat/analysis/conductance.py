r"""Interface conductance analysis: κ_eff(R_K) sweeps, crossover, inverse fits.

Built on :class:`~femheat.analysis.homogenization.CellProblem`, which assembles a cell
once; every further Kapitza resistance re-factorizes only the flux block.

Closed forms (BENCHMARKS K3). An inclusion of radius a and conductivity k_i
behind a Kapitza resistance R in a matrix k_m acts, outside, like a perfectly
bonded inclusion of conductivity

.. math::  k' = \frac{k_i}{1 + R k_i / a},

so Maxwell–Garnett with k' gives the effective conductivity (identical to
Hasselman & Johnson 1987 and Nan et al. 1997):

.. math::

    \text{2D:}\ \frac{\kappa_{\mathrm{eff}}}{k_m} = \frac{k' + k_m + f(k' - k_m)}{k' + k_m - f(k' - k_m)},
    \qquad
    \text{3D:}\ \frac{\kappa_{\mathrm{eff}}}{k_m} = \frac{k' + 2k_m + 2f(k' - k_m)}{k' + 2k_m - f(k' - k_m)}.

The Kapitza radius is a_K = R k_m [m]. Inclusions raise κ_eff only while
k' > k_m, i.e. below the crossover resistance R_c = a (k_i − k_m)/(k_i k_m)
(equivalently a > a_c = R k_i k_m/(k_i − k_m)).

For a cell loaded by a unit gradient, the exact derivative of the effective
conductivity with respect to a resistance scaling the selected interfaces is

.. math::  \frac{\partial \kappa_{jj}}{\partial R} = -\frac{1}{|\Omega|}\sum_\Gamma \int_\Gamma (q\cdot n)^2 ds,

which holds for the discrete mixed solution too (A is symmetric); the fits use it.

Sweeps, crossovers and fits set one constant R on the selected interfaces: it
**replaces** their R_K, also where the cell's own R_K varies along an interface
(:class:`~femheat.physics.conditions.KapitzaResistance` given as a function or per
facet). Interfaces not selected keep their own R_K, variable or not, and the
derivative above (over the selected interfaces, with the unit-resistance term
⟨q·n, q·n⟩_Γ) stays exact.
"""

from __future__ import annotations

import csv
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import FemheatInputError, SolverError
from .homogenization import CellProblem

__all__ = [
    "effective_inclusion_conductivity",
    "maxwell_garnett",
    "crossover_resistance_theory",
    "ResistanceSweep",
    "sweep_resistance",
    "Crossover",
    "crossover_resistance",
    "ResistanceFit",
    "fit_resistance",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- closed forms
def effective_inclusion_conductivity(inclusion_conductivity: float, radius: float,
                                     resistance: float | np.ndarray) -> np.ndarray:
    """k' = k_i/(1 + R k_i/a) [W m⁻¹ K⁻¹]: the coated-equivalent inclusion (dipole term)."""
    k_i = float(inclusion_conductivity)
    return k_i / (1.0 + np.asarray(resistance, dtype=float) * k_i / float(radius))


def maxwell_garnett(volume_fraction: float, matrix_conductivity: float,
                    inclusion_conductivity: float, *, dim: int, radius: float = 1.0,
                    resistance: float | np.ndarray = 0.0) -> np.ndarray:
    """Maxwell–Garnett κ_eff [W m⁻¹ K⁻¹] of cylinders (dim=2) or spheres (dim=3).

    With ``resistance`` R > 0 the inclusion conductivity is replaced by
    k' = k_i/(1 + R k_i/a) (Hasselman–Johnson 1987 / Nan et al. 1997).
    """
    if dim not in (2, 3):
        raise FemheatInputError(f"dim = {dim!r}; use 2 (cylinders) or 3 (spheres)")
    f, km = float(volume_fraction), float(matrix_conductivity)
    kp = effective_inclusion_conductivity(inclusion_conductivity, radius, resistance)
    c = dim - 1  # 1 for cylinders, 2 for spheres
    return km * (kp + c * km + c * f * (kp - km)) / (kp + c * km - f * (kp - km))


def crossover_resistance_theory(matrix_conductivity: float, inclusion_conductivity: float,
                                radius: float) -> float:
    """R_c = a (k_i − k_m)/(k_i k_m) [m² K W⁻¹], where k' = k_m and inclusions stop helping."""
    km, ki = float(matrix_conductivity), float(inclusion_conductivity)
    if ki <= km:
        raise FemheatInputError(
            f"inclusion_conductivity = {ki} <= matrix_conductivity = {km}: such inclusions "
            "never raise the conductivity, there is no crossover")
    return float(radius) * (ki - km) / (ki * km)


# ----------------------------------------------------------------------- helpers
def _component(cell: CellProblem, component: tuple[int, int]) -> tuple[int, int]:
    i, j = (int(c) for c in component)
    if j not in cell.axes or not 0 <= i < cell.regions.dim:
        raise FemheatInputError(
            f"component = {component!r}: column {j} is not a loaded axis ({cell.axes}) or "
            f"row {i} is outside the dimension {cell.regions.dim}")
    return i, j


def _selected(cell: CellProblem, interfaces: Sequence[str] | None) -> list[str]:
    names = list(cell.kapitza) if interfaces is None else list(interfaces)
    if not names:
        raise FemheatInputError(
            "the cell has no Kapitza interface to vary; pass interfaces={name: R} to "
            "CellProblem (R may be 0)")
    for n in names:
        cell.resistances({n: 0.0})  # validates the name
    return names


def _kappa(cell: CellProblem, names: Sequence[str], R: float, ij: tuple[int, int],
           derivative: bool = False) -> tuple[float, float]:
    """κ_ij(R) with all ``names`` at R, and ∂κ_jj/∂R (exact) when asked."""
    result = cell.solve({n: R for n in names}, reports=False)
    i, j = ij
    value = float(result.conductivity[i, j])
    if not derivative:
        return value, np.nan
    q = result.loads[cell.axes.index(j)].state.flux
    dk = -sum(float(q @ (cell.interface_matrices[n] @ q)) for n in names) / cell.volume
    return value, dk


def _positive_array(name: str, values) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise FemheatInputError(f"{name} = {values!r} must be numbers") from None
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise FemheatInputError(f"{name} = {values!r} must be finite and >= 0")
    return a


# ------------------------------------------------------------------------ sweeps
@dataclass
class ResistanceSweep:
    """κ_eff over a range of Kapitza resistances.

    Attributes
    ----------
    resistances
        R_K [m² K W⁻¹], one per point.
    conductivity
        κ_eff tensors, shape (n, d, d) [W m⁻¹ K⁻¹].
    component
        (i, j) of the tensor tabulated and plotted.
    matrix_conductivity
        k_m [W m⁻¹ K⁻¹] used for κ_eff/k_m and the Kapitza radius, if given.
    reference
        Closed-form κ_eff at each R (e.g. :func:`maxwell_garnett`), if given.
    seconds
        Wall time of each point (factorization + solves) [s].
    setup_seconds
        Assembly time of the cell problem (paid once) [s].
    """

    resistances: np.ndarray
    conductivity: np.ndarray
    component: tuple[int, int]
    matrix_conductivity: float | None = None
    reference: np.ndarray | None = None
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    setup_seconds: float = 0.0
    reference_function: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def values(self) -> np.ndarray:
        i, j = self.component
        return self.conductivity[:, i, j]

    @property
    def kapitza_radius(self) -> np.ndarray:
        """a_K = R_K k_m [m]."""
        if self.matrix_conductivity is None:
            raise FemheatInputError("give matrix_conductivity to get Kapitza radii")
        return self.resistances * self.matrix_conductivity

    def crossing(self) -> float | None:
        """R where κ_eff crosses k_m, interpolated in log R between sweep points (or None)."""
        if self.matrix_conductivity is None:
            raise FemheatInputError("give matrix_conductivity to locate the crossover")
        y = self.values / self.matrix_conductivity - 1.0
        R = self.resistances
        for k in range(len(R) - 1):
            if y[k] == 0.0:
                return float(R[k])
            if y[k] * y[k + 1] < 0 and R[k] > 0 and R[k + 1] > 0:
                t = y[k] / (y[k] - y[k + 1])
                return float(np.exp(np.log(R[k]) + t * (np.log(R[k + 1]) - np.log(R[k]))))
        return None

    def table(self) -> dict[str, np.ndarray]:
        """Columns of :meth:`to_csv`, with units in the names."""
        R = self.resistances
        with np.errstate(divide="ignore"):
            G = np.where(R > 0, 1.0 / np.where(R > 0, R, 1.0), np.inf)
        cols = {"kapitza_resistance_m2K_per_W": R, "kapitza_conductance_W_per_m2K": G,
                "kappa_eff_W_per_mK": self.values}
        if self.matrix_conductivity is not None:
            cols["kapitza_radius_m"] = self.kapitza_radius
            cols["kappa_eff_over_kappa_m"] = self.values / self.matrix_conductivity
        if self.reference is not None:
            cols["reference_W_per_mK"] = self.reference
            cols["relative_difference"] = self.values / self.reference - 1.0
        cols["seconds"] = self.seconds
        return cols

    def to_csv(self, path: str | Path) -> Path:
        """Write the sweep table as CSV (one row per resistance)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cols = self.table()
        from ..io.atomic import atomic_path

        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(list(cols))
            for row in zip(*cols.values()):
                w.writerow([f"{v:.12g}" for v in row])
        return path

    def plot(self, path: str | Path, *, title: str | None = None,
             reference_label: str = "Maxwell-Garnett / Hasselman-Johnson",
             crossover: float | None = None) -> Path:
        """κ_eff (over k_m if known) versus R_K on a log axis, with the reference curve.

        ``crossover`` marks R_c (e.g. from :func:`crossover_resistance`); by default
        it is interpolated between the sweep points.
        """
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        R = self.resistances
        scale = self.matrix_conductivity or 1.0
        ylabel = r"$\kappa_{\rm eff}/\kappa_m$" if self.matrix_conductivity \
            else r"$\kappa_{\rm eff}$ [W m$^{-1}$ K$^{-1}$]"
        pos = R > 0
        fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
        if self.reference_function is not None and np.count_nonzero(pos) > 1:
            grid = np.logspace(np.log10(R[pos].min()), np.log10(R[pos].max()), 200)
            ax.plot(grid, np.asarray(self.reference_function(grid)) / scale, "-",
                    color="0.3", label=reference_label)
        elif self.reference is not None:
            ax.plot(R[pos], self.reference[pos] / scale, "-", color="0.3", label=reference_label)
        ax.plot(R[pos], self.values[pos] / scale, "o", color="C3", label="femheat (FEM)")
        if self.matrix_conductivity:
            ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
            rc = self.crossing() if crossover is None else crossover
            if rc is not None:
                ax.axvline(rc, color="C0", lw=0.8, ls="--",
                           label=f"crossover R = {rc:.3g} m$^2$K/W")
        ax.set_xscale("log")
        ax.set_xlabel(r"Kapitza resistance $R_K$ [m$^2$ K W$^{-1}$]")
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(frameon=False)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return path


def sweep_resistance(cell: CellProblem, resistances, *,
                     interfaces: Sequence[str] | None = None,
                     component: tuple[int, int] = (0, 0),
                     matrix_conductivity: float | None = None,
                     reference: Callable[[np.ndarray], np.ndarray] | None = None,
                     done: Mapping[int, tuple[np.ndarray, float]] | None = None,
                     on_point: Callable[[int, float, np.ndarray, float], None] | None = None
                     ) -> ResistanceSweep:
    """κ_eff for each R_K in ``resistances`` (applied to all selected interfaces).

    The cell is assembled once; each point re-factorizes only the flux block.

    Parameters
    ----------
    cell
        The assembled cell problem.
    resistances
        R_K values [m² K W⁻¹] (≥ 0), e.g. ``np.logspace(-10, -6, 9)``.
    interfaces
        Names of the interfaces that get R_K (default: all of the cell's).
    component
        Tensor entry tabulated (default κ_xx).
    matrix_conductivity
        k_m, for κ_eff/k_m, the Kapitza radius and the crossover.
    reference
        ``reference(R) -> κ`` closed form to tabulate beside the FEM values.
    done
        Points already computed (index -> (κ tensor, seconds)), e.g. by an
        interrupted sweep: they are not solved again.
    on_point
        ``on_point(k, R_k, κ_k, seconds)`` after each new point, so that a caller
        can store it at once.
    """
    R = _positive_array("resistances", resistances)
    names = _selected(cell, interfaces)
    ij = _component(cell, component)
    dim = cell.regions.dim
    kappa = np.empty((R.size, dim, dim))
    seconds = np.empty(R.size)
    for k, r in enumerate(R):
        if done is not None and k in done:
            kappa[k], seconds[k] = done[k]
            continue
        t0 = time.perf_counter()
        kappa[k] = cell.solve({n: float(r) for n in names}, reports=False).conductivity
        seconds[k] = time.perf_counter() - t0
        log.info("R_K = %.3e: kappa_eff = %.6g (%.2f s)", r, kappa[k][ij], seconds[k])
        if on_point is not None:
            on_point(k, float(r), kappa[k], float(seconds[k]))
    ref = None if reference is None else np.asarray(reference(R), dtype=float)
    return ResistanceSweep(R, kappa, ij, matrix_conductivity, ref, seconds,
                           cell.assembly_time, reference)


# --------------------------------------------------------------------- crossover
@dataclass
class Crossover:
    """Resistance at which κ_eff = k_m (inclusions stop helping).

    Attributes
    ----------
    resistance
        R_c [m² K W⁻¹].
    kapitza_radius
        a_K = R_c k_m [m] at the crossover.
    solves
        Number of cell solves used.
    """

    resistance: float
    kapitza_radius: float
    solves: int


def crossover_resistance(cell: CellProblem, matrix_conductivity: float, *,
                         bracket: tuple[float, float] | None = None,
                         interfaces: Sequence[str] | None = None,
                         component: tuple[int, int] = (0, 0), rtol: float = 1e-8
                         ) -> Crossover:
    """Solve κ_eff(R) = k_m for R with the FEM model (Brent's method in log R).

    Parameters
    ----------
    bracket
        (R_lo, R_hi) with κ_eff(R_lo) > k_m > κ_eff(R_hi); default: decades around
        the cell size over k_m, searched until the sign changes.

    Raises
    ------
    FemheatInputError
        If κ_eff does not cross k_m (e.g. inclusions less conducting than the matrix).
    """
    km = float(matrix_conductivity)
    names = _selected(cell, interfaces)
    ij = _component(cell, component)
    count = [0]

    def g(logR: float) -> float:
        count[0] += 1
        return _kappa(cell, names, float(np.exp(logR)), ij)[0] / km - 1.0

    if bracket is None:
        L = float(np.max(cell.lengths))
        lo, hi = np.log(1e-4 * L / km), np.log(1e2 * L / km)
    else:
        lo, hi = (np.log(float(b)) for b in bracket)
    glo, ghi = g(lo), g(hi)
    if not (glo > 0 > ghi):
        raise FemheatInputError(
            f"kappa_eff does not cross matrix_conductivity = {km} between R = "
            f"{np.exp(lo):.3e} (kappa_eff/k_m - 1 = {glo:+.3e}) and {np.exp(hi):.3e} "
            f"({ghi:+.3e}) m^2 K/W; inclusions that conduct worse than the matrix never "
            "help, otherwise widen the bracket")
    from scipy.optimize import brentq  # lazy: scipy.optimize costs ~0.6 s at import

    logR = brentq(g, lo, hi, xtol=rtol, rtol=rtol)
    Rc = float(np.exp(logR))
    return Crossover(Rc, Rc * km, count[0])


# --------------------------------------------------------------------- inverse fit
@dataclass
class ResistanceFit:
    """A Kapitza resistance fitted to measured effective conductivities.

    Attributes
    ----------
    resistance
        Best-fit R_K [m² K W⁻¹].
    standard_error
        1σ uncertainty of R_K [m² K W⁻¹] (linearized, from the measurement
        uncertainties, or from the residual scatter when none were given).
    conductance, conductance_error
        G_K = 1/R_K and its 1σ [W m⁻² K⁻¹].
    predicted
        κ_eff of each cell at the fitted R_K [W m⁻¹ K⁻¹].
    residuals
        predicted − measured [W m⁻¹ K⁻¹].
    chi_square
        Σ (residual/σ)² (σ = 1 if no uncertainties were given).
    iterations
        Gauss–Newton iterations.
    """

    resistance: float
    standard_error: float
    predicted: np.ndarray
    residuals: np.ndarray
    chi_square: float
    iterations: int

    @property
    def conductance(self) -> float:
        return 1.0 / self.resistance

    @property
    def conductance_error(self) -> float:
        return self.standard_error / self.resistance ** 2


def fit_resistance(cells: CellProblem | Sequence[CellProblem], measured, sigma=None, *,
                   interfaces: Sequence[str] | None = None,
                   component: tuple[int, int] = (0, 0), initial: float | None = None,
                   tol: float = 1e-10, max_iterations: int = 50) -> ResistanceFit:
    """Fit one R_K (shared by all cells) to measured κ_eff, with its uncertainty.

    Minimizes χ² = Σᵢ ((κᵢ(R) − mᵢ)/σᵢ)² over log R by Gauss–Newton with the
    exact derivative ∂κ/∂R = −Σ_Γ‖q·n‖²/|Ω| (module docstring). One cell and one
    measurement is the inverse problem κ_eff(R) = m (a root); several cells
    (e.g. several volume fractions or particle sizes measured on one material
    pair) make it a least-squares fit. The 1σ error is
    σ_R = R·(JᵀΣ⁻¹J)^(-1/2) with J = ∂κ/∂log R, scaled by √(χ²/(n−1)) when no
    σᵢ are given.

    Raises
    ------
    FemheatInputError
        If a measured value lies outside what any R ≥ 0 can give (above the
        perfect-contact value), or shapes do not match.
    SolverError
        If Gauss–Newton does not converge.
    """
    cells = [cells] if isinstance(cells, CellProblem) else list(cells)
    m = np.atleast_1d(np.asarray(measured, dtype=float))
    if m.size != len(cells) or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise FemheatInputError(
            f"measured = {measured!r} must hold one positive kappa_eff per cell "
            f"({len(cells)} cells)")
    if sigma is None:
        s = np.ones_like(m)
    else:
        s = np.atleast_1d(np.asarray(sigma, dtype=float)) * np.ones_like(m)
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise FemheatInputError(f"sigma = {sigma!r} must be positive uncertainties")
    names = [_selected(c, interfaces) for c in cells]
    ijs = [_component(c, component) for c in cells]
    if ijs[0][0] != ijs[0][1]:
        raise FemheatInputError("fit_resistance fits a diagonal component (i, i)")

    def model(R: float) -> tuple[np.ndarray, np.ndarray]:
        out = [_kappa(c, n, R, ij, derivative=True) for c, n, ij in zip(cells, names, ijs)]
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])

    k0, _ = model(0.0)
    above = m > k0 * (1 + 1e-12)
    if np.any(above):
        i = int(np.argmax(above))
        raise FemheatInputError(
            f"measured[{i}] = {m[i]:.6g} W/(m K) exceeds the perfect-contact value "
            f"{k0[i]:.6g} of that cell: no Kapitza resistance >= 0 explains it (check the "
            "material data or the geometry)")
    if initial is None:  # start at the Kapitza radius scale of the cells
        L = min(float(np.min(c.lengths)) for c in cells)
        initial = 0.1 * L / float(np.max(k0))
    logR = np.log(float(initial))
    prev = np.inf
    for it in range(1, max_iterations + 1):
        R = float(np.exp(logR))
        k, dk = model(R)
        r = (k - m) / s
        J = R * dk / s  # ∂r/∂log R
        chi2 = float(r @ r)
        step = -float(J @ r) / float(J @ J)
        step = float(np.clip(step, -3.0, 3.0))  # at most ~20x per iteration
        logR += step
        if abs(step) < tol or (abs(step) < 1e-6 and chi2 >= prev):
            break
        prev = chi2
    else:
        raise SolverError(
            f"fit_resistance did not converge in {max_iterations} Gauss-Newton "
            f"iterations (last step {step:.2e} in log R)")
    R = float(np.exp(logR))
    k, dk = model(R)
    r = (k - m) / s
    J = R * dk / s
    chi2 = float(r @ r)
    var_logR = 1.0 / float(J @ J)
    if sigma is None:
        if m.size > 1:
            var_logR *= chi2 / (m.size - 1)
        else:
            var_logR = np.nan
            warnings.warn("fit_resistance: one measurement and no sigma: the fit is exact "
                          "and its uncertainty undefined; pass sigma", stacklevel=2)
    return ResistanceFit(R, R * float(np.sqrt(var_logR)), k, k - m, chi2, it)
