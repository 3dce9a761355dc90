r"""First-principles parameters from phono3py's ``kappa-m*.hdf5`` (issue 13 item 4).

phono3py (relaxation-time approximation) writes per irreducible q-point and band λ the
mode heat capacity C_λ [eV K⁻¹], group velocity v_λ [THz Å], the imaginary part of the
self energy Γ_λ (``gamma``) [THz] and the mode conductivity [W m⁻¹ K⁻¹] (Voigt order xx,
yy, zz, yz, xz, xy)

.. math::
    \kappa_\lambda = \frac{u}{V}\,C_\lambda\,(\mathbf v_\lambda\otimes\mathbf v_\lambda)_{\star}
        \frac{1}{2\Gamma_\lambda},\qquad
    u = \frac{(\mathrm{THz\,Å})^2\,\mathrm{eV}}{\mathrm{Å^3\,THz}\,2\pi},\qquad
    \boldsymbol\kappa = \frac{\sum_\lambda \kappa_\lambda}{\sum_q w_q},

where (v⊗v)_⋆ is summed over the star of q (w_q points; for a q-point without symmetry it
is w_q v⊗v), V the primitive-cell volume [Å³] and Σw_q = N the number of grid points
(phono3py ``conductivity_RTA``: ``mode_kappa = gv_by_gv · cv / (g · 2) · conversion_factor``,
``conversion_factor = unit_to_WmK / volume``; ``kappa = mode_kappa.sum() / N``; modes
below phono3py's cut-off frequency are left at zero). The lifetime is
τ_λ = 1/(2·2πΓ_λ) [ps] with Γ = ``gamma`` (+ ``gamma_isotope`` when the file has it, as
phono3py adds it) and the mean free path Λ_λ = |v_λ| τ_λ (1 THz Å = 100 m s⁻¹).

From these, :class:`Phono3pyKappa` gives (per temperature index)

* κ (3 × 3 tensor) from the file's ``mode_kappa``, and, given the cell volume, the same
  from C, v, τ (:meth:`~Phono3pyKappa.kinetic_conductivity`);
* the κ-weighted relaxation time τ̄ = Σ κ_λ τ_λ / Σ κ_λ, κ_λ = tr κ_λ / 3 [s];
* the Guyer–Krumhansl length of the kinetic-collective-model average, l² = ⟨Λ²⟩_κ/5
  (β = 2, original GK) — the second moment of the MFP-spectrum kernel matched by seed 004
  eq. 34, l² = κ⁽²⁾/(2(1+β)κ⁽⁰⁾) per axis, with κ⁽²⁾/κ = (6/5)⟨Λ²⟩_κ (kinetic closure;
  (8/15)⟨Λ²⟩_κ with the energy closure of BENCHMARKS N6); seed 004 eq. 18 is the
  one-mode version l² = Π²/(γε), which this average generalizes over the spectrum;
* the cumulative MFP spectrum κ_c(Λ), its median MFP and the MFP-spectrum kernel
  (:class:`femheat.kernels.mfp.MFPSpectrumKernel`);
* all of it as GK material parameters (:meth:`~Phono3pyKappa.gk_parameters`).

h5py is imported when a file is read.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ..errors import FemheatInputError

__all__ = ["Phono3pyKappa", "read_kappa_hdf5", "UNIT_TO_WMK", "voigt_to_tensor"]

log = logging.getLogger(__name__)

THZ = 1e12
ANGSTROM = 1e-10
EV = 1.602176634e-19
#: phono3py's unit_to_WmK: (THz Å)²/Å³ · eV/THz /(2π) (the 2π from the lifetime definition)
UNIT_TO_WMK = (THZ * ANGSTROM) ** 2 / ANGSTROM**3 * EV / THZ / (2 * math.pi)
#: group velocity unit THz·Å in m/s
VELOCITY_TO_SI = THZ * ANGSTROM
_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def voigt_to_tensor(v: ArrayLike) -> np.ndarray:
    """(..., 6) Voigt (xx, yy, zz, yz, xz, xy) -> (..., 3, 3) symmetric tensor."""
    v = np.asarray(v, dtype=float)
    out = np.zeros(v.shape[:-1] + (3, 3))
    for c, (i, j) in enumerate(_VOIGT):
        out[..., i, j] = v[..., c]
        out[..., j, i] = v[..., c]
    return out


@dataclass
class Phono3pyKappa:
    """Arrays of a phono3py RTA ``kappa-m*.hdf5`` file in phono3py's units (module docstring).

    Attributes
    ----------
    temperature
        (nT,) [K].
    frequency
        (ngp, nb) [THz].
    gamma
        (nT, ngp, nb) [THz], isotope scattering included; τ = 1/(4πΓ) [ps].
    group_velocity
        (ngp, nb, 3) [THz Å].
    heat_capacity
        (nT, ngp, nb) [eV/K].
    mode_kappa
        (nT, ngp, nb, 6) [W/(m K)], weights included.
    weight
        (ngp,) q-point weights (Σ = number of grid points).
    mesh
        (3,) sampling mesh.
    kappa
        (nT, 6) [W/(m K)] as written by phono3py, or None.
    qpoint
        (ngp, 3) or None.
    volume
        Primitive-cell volume [Å³] if known (not stored in the file).
    path
        The file read.
    """

    temperature: np.ndarray
    frequency: np.ndarray
    gamma: np.ndarray
    group_velocity: np.ndarray
    heat_capacity: np.ndarray
    mode_kappa: np.ndarray
    weight: np.ndarray
    mesh: np.ndarray
    kappa: np.ndarray | None = None
    qpoint: np.ndarray | None = None
    volume: float | None = None
    path: str = ""

    # ------------------------------------------------------------- helpers
    def temperature_index(self, temperature: float) -> int:
        """Index of ``temperature`` [K] in the file (within 1e-6 K)."""
        i = int(np.argmin(np.abs(self.temperature - float(temperature))))
        if abs(self.temperature[i] - float(temperature)) > 1e-6:
            raise FemheatInputError(
                f"temperature {temperature!r} K is not in {self.path or 'the file'}; it has "
                f"{', '.join(f'{t:g}' for t in self.temperature)} K")
        return i

    def _it(self, it: int) -> int:
        if isinstance(it, bool) or not isinstance(it, (int, np.integer)) or \
                not -self.temperature.size <= it < self.temperature.size:
            raise FemheatInputError(f"temperature index must be an integer below "
                                    f"{self.temperature.size}, got {it!r}")
        return int(it)

    @property
    def grid_points(self) -> float:
        """N = Σ w_q, the number of q-points of the full mesh."""
        return float(self.weight.sum())

    def lifetime(self, it: int = 0) -> np.ndarray:
        """τ_λ = 1/(4πΓ_λ) [s], (ngp, nb); inf where Γ = 0 (those modes carry no κ)."""
        g = self.gamma[self._it(it)]
        with np.errstate(divide="ignore"):
            return np.where(g > 0, 1.0 / (4 * math.pi * np.where(g > 0, g, 1.0)) * 1e-12, np.inf)

    def speed(self) -> np.ndarray:
        """|v_λ| [m/s], (ngp, nb)."""
        return np.linalg.norm(self.group_velocity, axis=-1) * VELOCITY_TO_SI

    def mean_free_path(self, it: int = 0) -> np.ndarray:
        """Λ_λ = |v_λ| τ_λ [m], (ngp, nb) (0 for modes without lifetime or velocity)."""
        tau = self.lifetime(it)
        v = self.speed()
        return np.where(np.isfinite(tau) & (v > 0), v * np.where(np.isfinite(tau), tau, 0.0), 0.0)

    def mode_conductivity(self, it: int = 0) -> np.ndarray:
        """κ_λ = tr(mode_kappa_λ)/(3N) [W/(m K)], (ngp, nb); Σ κ_λ = tr κ / 3."""
        mk = self.mode_kappa[self._it(it)]
        return (mk[..., 0] + mk[..., 1] + mk[..., 2]) / (3.0 * self.grid_points)

    # ------------------------------------------------------------- results
    def conductivity(self, it: int = 0) -> np.ndarray:
        """κ = Σ mode_kappa / Σ w (3 × 3) [W/(m K)] (phono3py's ``kappa``)."""
        return voigt_to_tensor(self.mode_kappa[self._it(it)].sum(axis=(0, 1)) / self.grid_points)

    def kinetic_conductivity(self, it: int = 0, volume: float | None = None) -> np.ndarray:
        r"""κ = (u/(V N)) Σ_λ w_q C_λ v_λ⊗v_λ /(2Γ_λ) from C, v, Γ (3 × 3) [W/(m K)].

        Without the star of each q-point this equals phono3py's value for q-points
        whose star sum is w_q v⊗v (cubic averages differ off the diagonal only by the
        symmetrization). ``volume`` [Å³] defaults to :attr:`volume`.
        """
        vol = self.volume if volume is None else volume
        if vol is None or not (isinstance(vol, (int, float)) and math.isfinite(vol) and vol > 0):
            raise FemheatInputError(f"volume must be the primitive-cell volume in Å^3 (> 0), got "
                                    f"{vol!r}; the kappa hdf5 file does not store it")
        i = self._it(it)
        g = self.gamma[i]
        inv = np.where(g > 0, 1.0 / (2.0 * np.where(g > 0, g, 1.0)), 0.0)
        c = self.heat_capacity[i] * inv * self.weight[:, None]
        vv = np.einsum("qb,qbi,qbj->ij", c, self.group_velocity, self.group_velocity)
        return UNIT_TO_WMK / float(vol) * vv / self.grid_points

    def relaxation_time(self, it: int = 0) -> float:
        """κ-weighted mean lifetime τ̄ = Σ κ_λ τ_λ / Σ κ_λ [s]."""
        k = self.mode_conductivity(it)
        tau = self.lifetime(it)
        ok = np.isfinite(tau) & (k != 0)
        return float(np.sum(k[ok] * tau[ok]) / np.sum(k[ok]))

    def mean_square_mfp(self, it: int = 0) -> float:
        """⟨Λ²⟩_κ = Σ κ_λ Λ_λ² / Σ κ_λ [m²]."""
        k = self.mode_conductivity(it)
        lam = self.mean_free_path(it)
        return float(np.sum(k * lam**2) / np.sum(k))

    def gk_length(self, it: int = 0, beta: float = 2.0, closure: str = "kinetic") -> float:
        r"""Guyer–Krumhansl length l [m] from the MFP-spectrum kernel's second moment.

        l² = c⟨Λ²⟩_κ/(2(1+β)) with c = 6/5 (``closure="kinetic"``) or 8/15 (``"energy"``)
        (seed 004 eq. 34 applied to the kernel's κ⁽²⁾/κ). The default (kinetic, β = 2)
        is the kinetic-collective-model average l² = ⟨Λ²⟩_κ/5.
        """
        c = {"kinetic": 6.0 / 5.0, "energy": 8.0 / 15.0}.get(closure)
        if c is None:
            raise FemheatInputError(f"closure must be 'kinetic' or 'energy', got {closure!r}")
        if beta not in (0, 0.0, 2, 2.0):
            raise FemheatInputError(f"beta must be 0 or 2, got {beta!r}")
        return math.sqrt(c * self.mean_square_mfp(it) / (2.0 * (1.0 + beta)))

    def mfp_spectrum(self, it: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative conductivity κ_c(Λ) = Σ_{Λ_λ ≤ Λ} κ_λ: (sorted Λ [m], κ_c [W/(m K)])."""
        lam = self.mean_free_path(it).ravel()
        k = self.mode_conductivity(it).ravel()
        order = np.argsort(lam, kind="stable")
        return lam[order], np.cumsum(k[order])

    def median_mfp(self, it: int = 0) -> float:
        """Λ at which the cumulative conductivity reaches half of κ [m] (linear between modes)."""
        lam, cum = self.mfp_spectrum(it)
        return float(np.interp(0.5 * cum[-1], cum, lam))

    def gk_parameters(self, it: int = 0, beta: float = 2.0, closure: str = "kinetic") -> dict:
        """GK/MCV material parameters at temperature index ``it``, SI units: ``conductivity``
        (3 × 3 list), ``isotropic_conductivity`` (tr κ/3), ``relaxation_time`` (τ̄),
        ``nonlocal_length`` (:meth:`gk_length`), ``beta``, ``median_mfp``, ``temperature``
        — the values a ``[materials]`` table of the ``gk`` model takes."""
        kap = self.conductivity(it)
        return {"temperature": float(self.temperature[self._it(it)]),
                "conductivity": kap.tolist(),
                "isotropic_conductivity": float(np.trace(kap) / 3.0),
                "relaxation_time": self.relaxation_time(it),
                "nonlocal_length": self.gk_length(it, beta, closure), "beta": float(beta),
                "median_mfp": self.median_mfp(it)}

    def mfp_kernel(self, it: int = 0, dim: int = 3, bins: int = 24, closure: str = "energy"):
        """:class:`~femheat.kernels.mfp.MFPSpectrumKernel` of the binned spectrum.

        Modes are grouped in ``bins`` logarithmic MFP bins; each bin carries its κ fraction
        at its κ-weighted RMS mean free path (which keeps ⟨Λ²⟩_κ exact). Modes with
        Λ = 0 or κ_λ ≤ 0 are dropped (logged).
        """
        from ..kernels.mfp import MFPSpectrumKernel

        lam = self.mean_free_path(it).ravel()
        k = self.mode_conductivity(it).ravel()
        ok = (lam > 0) & (k > 0)
        if np.count_nonzero(~ok):
            log.info("mfp_kernel: %d modes without a positive MFP or conductivity dropped "
                     "(%.3g of kappa)", np.count_nonzero(~ok), float(np.sum(np.abs(k[~ok])) /
                                                                   np.sum(np.abs(k))))
        lam, k = lam[ok], k[ok]
        if lam.size == 0:
            raise FemheatInputError("mfp_kernel: no mode has a positive mean free path and "
                                    "conductivity")
        edges = np.geomspace(lam.min(), lam.max() * (1 + 1e-12), max(int(bins), 1) + 1)
        idx = np.clip(np.searchsorted(edges, lam, side="right") - 1, 0, edges.size - 2)
        kb = np.bincount(idx, weights=k, minlength=edges.size - 1)
        m2 = np.bincount(idx, weights=k * lam**2, minlength=edges.size - 1)
        keep = kb > 0
        return MFPSpectrumKernel(np.sqrt(m2[keep] / kb[keep]), kb[keep], dim, closure)


_REQUIRED = {
    # name: (ndim, description of the axes)
    "temperature": (1, "(temperatures,) in K"),
    "frequency": (2, "(ir_grid_points, bands) in THz"),
    "gamma": (3, "(temperatures, ir_grid_points, bands) in THz"),
    "group_velocity": (3, "(ir_grid_points, bands, 3) in THz*Angstrom"),
    "heat_capacity": (3, "(temperatures, ir_grid_points, bands) in eV/K"),
    "mode_kappa": (4, "(temperatures, ir_grid_points, bands, 6) in W/m-K"),
    "weight": (1, "(ir_grid_points,)"),
    "mesh": (1, "(3,)"),
}


def read_kappa_hdf5(path: str | Path, volume: float | None = None) -> Phono3pyKappa:
    """Read a phono3py RTA ``kappa-m*.hdf5`` file and check its datasets' shapes.

    Parameters
    ----------
    path
        The file.
    volume
        Primitive-cell volume [Å³], needed only by
        :meth:`Phono3pyKappa.kinetic_conductivity`.

    Raises
    ------
    FemheatInputError
        Missing file or dataset, or a dataset whose shape does not match the others
        (the message names the dataset and the expected axes).
    """
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise FemheatInputError("reading phono3py hdf5 files needs h5py (pip install h5py)") from exc
    path = Path(path)
    if not path.is_file():
        raise FemheatInputError(f"phono3py file {str(path)!r} does not exist")
    data: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:
            for name, (ndim, axes) in _REQUIRED.items():
                if name not in f:
                    raise FemheatInputError(
                        f"{path.name}: dataset {name!r} {axes} is missing (datasets present: "
                        f"{', '.join(sorted(f.keys()))}); is this a phono3py RTA kappa file?")
                data[name] = np.asarray(f[name][()], dtype=float)
                if data[name].ndim != ndim:
                    raise FemheatInputError(f"{path.name}: dataset {name!r} must be {axes}, got "
                                            f"shape {data[name].shape}")
            for name in ("kappa", "qpoint", "gamma_isotope"):
                if name in f:
                    data[name] = np.asarray(f[name][()], dtype=float)
    except OSError as exc:
        raise FemheatInputError(f"{path}: not a readable hdf5 file ({exc})") from None
    nt = data["temperature"].size
    ngp, nb = data["frequency"].shape
    expect = {"gamma": (nt, ngp, nb), "group_velocity": (ngp, nb, 3),
              "heat_capacity": (nt, ngp, nb), "mode_kappa": (nt, ngp, nb, 6),
              "weight": (ngp,), "mesh": (3,), "kappa": (nt, 6), "qpoint": (ngp, 3)}
    for name, shape in expect.items():
        if name in data and data[name].shape != shape:
            raise FemheatInputError(
                f"{path.name}: dataset {name!r} has shape {data[name].shape}, expected {shape} "
                f"({nt} temperatures, {ngp} irreducible q-points, {nb} bands)")
    if "gamma_isotope" in data:  # phono3py: Γ = Γ_ph-ph + Γ_iso in the RTA lifetime
        iso = data.pop("gamma_isotope")
        if iso.shape not in ((ngp, nb), (nt, ngp, nb)):
            raise FemheatInputError(f"{path.name}: dataset 'gamma_isotope' has shape {iso.shape}, "
                                    f"expected ({ngp}, {nb}) or ({nt}, {ngp}, {nb})")
        data["gamma"] = data["gamma"] + iso
    for name, arr in data.items():
        if not np.all(np.isfinite(arr)):
            raise FemheatInputError(f"{path.name}: dataset {name!r} holds NaN or inf values")
    if np.any(data["weight"] <= 0):
        raise FemheatInputError(f"{path.name}: dataset 'weight' must be > 0")
    if np.any(data["gamma"] < 0):
        raise FemheatInputError(f"{path.name}: dataset 'gamma' must be >= 0 (linewidths)")
    if volume is not None and not (isinstance(volume, (int, float)) and volume > 0):
        raise FemheatInputError(f"volume must be the primitive-cell volume in Å^3 (> 0), got "
                                f"{volume!r}")
    out = Phono3pyKappa(volume=None if volume is None else float(volume), path=str(path), **data)
    if out.kappa is not None:
        k = voigt_to_tensor(out.kappa)
        mine = np.array([out.conductivity(i) for i in range(nt)])
        scale = max(float(np.abs(k).max()), 1e-300)
        if float(np.abs(k - mine).max()) > 1e-6 * scale:
            log.warning("%s: 'kappa' differs from sum(mode_kappa)/sum(weight) by %.3g (relative)",
                        path.name, float(np.abs(k - mine).max()) / scale)
    return out
