"""Kernel families of the case file's ``model.kernel`` table (:mod:`femheat.models.kernel`):
the keys each family takes, the CSV reader of tabulated kernels and the construction of
the radial kernel (Gaussian, Yukawa, power law, tabulated of any sign, gray BTE, MFP
spectrum from a CSV or a phono3py kappa hdf5 file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FemheatInputError

__all__ = ["KERNEL_FAMILIES", "build_kernel"]

#: kernel families and the keys of ``model.kernel`` each takes (besides ``family``)
KERNEL_FAMILIES = {
    "gaussian": {"length": "a [m]: g = exp(-r^2/2a^2)/((2 pi)^(d/2) a^d)"},
    "yukawa": {"length": "l [m]: symbol 1/(1 + l^2 k^2), steady GK with beta = 0"},
    "power_law": {"length": "core radius c [m]", "exponent": "decay exponent p > d"},
    "tabulated": {"file": "CSV of r [m], g(r), relative to the case file",
                  "length": "optional [m]: rescale so that sqrt(second moment) = length",
                  "allow_negative": "true: accept a sign-changing g (its symbol is checked)"},
    "gray_bte": {"length": "mean free path Lambda [m] (BENCHMARKS N6)",
                 "closure": "'energy' (default: 3(x/arctan x - 1)/x^2) or 'kinetic'"},
    "mfp_spectrum": {"file": "CSV of MFP [m], conductivity fraction; or a phono3py "
                             "kappa-m*.hdf5 (with temperature)",
                     "temperature": "K: the temperature of the phono3py file",
                     "closure": "'energy' (default) or 'kinetic'"},
}


def _read_table(path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Two numeric columns of a CSV file ('#' comments, an optional header line): r [m],
    g(r) of a tabulated kernel, or MFP [m], fraction of an MFP spectrum."""
    if not path.is_file():
        raise FemheatInputError(f"{where}: file {str(path)!r} does not exist (paths are "
                                "relative to the case file)")
    data = None
    for skip in (0, 1):
        try:
            data = np.loadtxt(path, delimiter=",", comments="#", skiprows=skip, ndmin=2)
            break
        except ValueError:
            continue
    if data is None or data.shape[1] != 2 or data.shape[0] < 2:
        raise FemheatInputError(f"{where}: {str(path)!r} must hold two numeric columns "
                                "(r [m], g(r); or MFP [m], fraction), comma separated, "
                                ">= 2 rows")
    return data[:, 0], data[:, 1]


def _mfp_kernel(spec: dict, dim: int, base: Path, where: str):
    """MFP-spectrum kernel from a CSV (MFP [m], fraction) or a phono3py kappa hdf5 file."""
    from ..kernels.mfp import MFPSpectrumKernel

    path = (base / spec["file"]).resolve()
    closure = spec.get("closure", "energy")
    if path.suffix in (".hdf5", ".h5"):
        from ..io.phono3py import read_kappa_hdf5

        data = read_kappa_hdf5(path)
        return data.mfp_kernel(data.temperature_index(spec["temperature"]), dim,
                               closure=closure)
    mfp, frac = _read_table(path, f"{where}.file")
    return MFPSpectrumKernel(mfp, frac, dim, closure)


def build_kernel(spec: dict, dim: int, base: Path):
    """The radial kernel of a parsed ``model.kernel`` table in the mesh dimension ``dim``
    (files relative to ``base``); errors name ``model.kernel``."""
    from ..kernels.functions import (GaussianKernel, PowerLawKernel, TabulatedKernel,
                                     YukawaKernel)

    family, where = spec["family"], "model.kernel"
    try:
        if family == "gaussian":
            return GaussianKernel(spec["length"], dim)
        if family == "yukawa":
            return YukawaKernel(spec["length"], dim)
        if family == "power_law":
            if not spec["exponent"] > dim:
                raise FemheatInputError(
                    f"{where}.exponent must exceed the mesh dimension d = {dim} (the "
                    f"kernel is not normalizable otherwise), got {spec['exponent']}")
            return PowerLawKernel(spec["length"], spec["exponent"], dim)
        if family == "gray_bte":
            from ..kernels.mfp import GrayBTEKernel

            return GrayBTEKernel(spec["length"], dim, spec.get("closure", "energy"))
        if family == "mfp_spectrum":
            return _mfp_kernel(spec, dim, base, where)
        r, g = _read_table((base / spec["file"]).resolve(), f"{where}.file")
        kernel = TabulatedKernel(r, g, dim, allow_negative=spec.get("allow_negative", False))
        return kernel.scaled(spec["length"]) if "length" in spec else kernel
    except FemheatInputError as exc:
        text = str(exc)
        raise FemheatInputError(text if text.startswith(where) else f"{where}: {text}") \
            from None
