"""phono3py kappa-m*.hdf5 reader (issue 13 item 4): a synthetic file with phono3py's layout
and its RTA mode_kappa formula; κ, τ̄, GK length, MFP spectrum and kernel; bad files."""

from __future__ import annotations

import math

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from femheat.errors import FemheatInputError  # noqa: E402
from femheat.io.phono3py import read_kappa_hdf5, voigt_to_tensor  # noqa: E402
from femheat.kernels.mfp import GrayBTEKernel  # noqa: E402

EV, VOL = 1.602176634e-19, 40.0  # J/eV, Å^3
NT, NGP, NB = 3, 10, 6


def _arrays(seed=0, gray=False):
    rng = np.random.default_rng(seed)
    c = rng.uniform(1e-5, 8.6e-5, (NT, NGP, NB))  # eV/K (k_B = 8.6e-5 eV/K per mode)
    v = rng.normal(0.0, 40.0, (NGP, NB, 3))  # THz Å (= 100 m/s)
    g = rng.uniform(0.05, 2.0, (NT, NGP, NB))  # THz
    if gray:  # one speed, one lifetime: Λ the same for every mode
        v = 30.0 * v / np.linalg.norm(v, axis=-1, keepdims=True)
        g = np.full_like(g, 0.3)
    w = rng.integers(1, 9, NGP).astype(float)
    return c, v, g, w


def _mode_kappa(c, v, g, w):
    """phono3py RTA: unit_to_WmK / V · C · w v⊗v / (2Γ), unit_to_WmK with the 1/(2π)."""
    unit = (1e12 * 1e-10) ** 2 / 1e-30 * EV / 1e12 / (2 * math.pi)
    vv = np.einsum("qbi,qbj->qbij", v, v) * w[:, None, None, None]
    full = unit / VOL * c[..., None, None] * vv[None] / (2 * g)[..., None, None]
    idx = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
    return np.stack([full[..., i, j] for i, j in idx], axis=-1)


def _write(path, c, v, g, w, drop=None, reshape=None, iso=None):
    mk = _mode_kappa(c, v, g if iso is None else g + iso, w)
    data = {"temperature": np.array([100.0, 200.0, 300.0]), "frequency": np.ones((NGP, NB)),
            "gamma": g, "group_velocity": v, "heat_capacity": c, "mode_kappa": mk,
            "kappa": mk.sum(axis=(1, 2)) / w.sum(), "weight": w, "mesh": np.array([4, 4, 4]),
            "qpoint": np.zeros((NGP, 3))}
    if iso is not None:
        data["gamma_isotope"] = iso
    if reshape:
        data[reshape] = data[reshape][..., :-1]
    with h5py.File(path, "w") as f:
        for k, val in data.items():
            if k != drop:
                f.create_dataset(k, data=val)
    return path


def _by_hand(c, v, g, w, it):
    """κ in SI straight from C, v, τ: Σ w C v⊗v τ /(V N)."""
    tau = 1e-12 / (4 * math.pi * g[it])  # s
    vs = v * 100.0  # m/s
    kap = np.einsum("qb,qbi,qbj->ij", c[it] * EV * tau * w[:, None], vs, vs)
    return kap / (VOL * 1e-30 * w.sum())


def test_reader_reproduces_kappa_by_hand(tmp_path):
    arrs = _arrays()
    data = read_kappa_hdf5(_write(tmp_path / "kappa-m444.hdf5", *arrs), volume=VOL)
    for it in range(NT):
        ref = _by_hand(*arrs, it)
        scale = np.abs(ref).max()
        assert np.abs(data.conductivity(it) - ref).max() <= 1e-10 * scale
        assert np.abs(data.kinetic_conductivity(it) - ref).max() <= 1e-10 * scale
        assert np.abs(voigt_to_tensor(data.kappa[it]) - ref).max() <= 1e-10 * scale
    c, v, g, w = arrs
    it = data.temperature_index(200.0)
    tau = 1e-12 / (4 * math.pi * g[it])
    lam = np.linalg.norm(v, axis=-1) * 100.0 * tau
    kl = np.einsum("qb,qb->qb", c[it] * tau * w[:, None], np.sum(v * v, axis=-1))  # ∝ κ_λ
    assert data.relaxation_time(it) == pytest.approx(np.sum(kl * tau) / kl.sum(), rel=1e-12)
    l2 = np.sum(kl * lam**2) / kl.sum()
    assert data.gk_length(it) == pytest.approx(math.sqrt(l2 / 5), rel=1e-12)
    assert data.gk_length(it, beta=0, closure="energy") == pytest.approx(
        math.sqrt(4 * l2 / 15), rel=1e-12)
    lam_s, cum = data.mfp_spectrum(it)
    assert np.all(np.diff(lam_s) >= 0) and np.all(np.diff(cum) >= 0)
    assert cum[-1] == pytest.approx(np.trace(data.conductivity(it)) / 3, rel=1e-12)
    par = data.gk_parameters(it)
    assert par["nonlocal_length"] == data.gk_length(it) and par["temperature"] == 200.0
    assert par["isotropic_conductivity"] == pytest.approx(cum[-1], rel=1e-12)
    assert lam_s[0] <= par["median_mfp"] <= lam_s[-1]
    half = np.interp(par["median_mfp"], lam_s, cum)
    assert half == pytest.approx(0.5 * cum[-1], rel=0.2)
    kern = data.mfp_kernel(it, dim=1, bins=8)
    assert kern.second_moment() == pytest.approx(8 / 15 * l2, rel=1e-6)  # ⟨Λ²⟩ kept per bin


def test_gray_file_gives_the_gray_kernel(tmp_path):
    arrs = _arrays(seed=1, gray=True)
    data = read_kappa_hdf5(_write(tmp_path / "k.hdf5", *arrs))
    lam = 30 * 100 * 1e-12 / (4 * math.pi * 0.3)
    assert np.allclose(data.mean_free_path(0), lam, rtol=1e-12)
    kern = data.mfp_kernel(0, dim=3)
    k = np.array([0.1, 1.0, 10.0]) / lam
    assert np.allclose(kern.symbol(k), GrayBTEKernel(lam, 3).symbol(k), rtol=1e-9)
    assert data.gk_length(0, beta=0, closure="energy") == pytest.approx(
        math.sqrt(4 / 15) * lam, rel=1e-12)


@pytest.mark.parametrize("drop", ["gamma", "mode_kappa", "weight", "group_velocity"])
def test_missing_dataset_is_named(tmp_path, drop):
    path = _write(tmp_path / "k.hdf5", *_arrays(), drop=drop)
    with pytest.raises(FemheatInputError, match=f"'{drop}'.*missing"):
        read_kappa_hdf5(path)


@pytest.mark.parametrize("name", ["heat_capacity", "group_velocity", "mode_kappa", "kappa"])
def test_wrong_shape_is_named(tmp_path, name):
    path = _write(tmp_path / "k.hdf5", *_arrays(), reshape=name)
    with pytest.raises(FemheatInputError, match=f"'{name}'.*shape"):
        read_kappa_hdf5(path)


def test_other_bad_input(tmp_path):
    with pytest.raises(FemheatInputError, match="does not exist"):
        read_kappa_hdf5(tmp_path / "nope.hdf5")
    data = read_kappa_hdf5(_write(tmp_path / "k.hdf5", *_arrays()))
    with pytest.raises(FemheatInputError, match="volume"):
        data.kinetic_conductivity(0)
    with pytest.raises(FemheatInputError, match="250.0 K is not in"):
        data.temperature_index(250.0)
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(FemheatInputError, match="not a readable hdf5"):
        read_kappa_hdf5(tmp_path / "text.hdf5")


def test_isotope_scattering_is_added(tmp_path):
    c, v, g, w = _arrays(seed=3)
    iso = np.full((NGP, NB), 0.1)
    data = read_kappa_hdf5(_write(tmp_path / "k.hdf5", c, v, g, w, iso=iso), volume=VOL)
    ref = _by_hand(c, v, g + iso, w, 1)
    assert np.abs(data.conductivity(1) - ref).max() <= 1e-10 * np.abs(ref).max()
    assert np.abs(data.kinetic_conductivity(1) - ref).max() <= 1e-10 * np.abs(ref).max()
