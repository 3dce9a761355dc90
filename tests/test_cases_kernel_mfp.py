"""Case-file kernels of issue 13: ``gray_bte`` and ``mfp_spectrum`` (CSV or a phono3py
kappa hdf5 file) families, and sign-changing tables (``allow_negative``) whose symbol is
checked when the case is read."""

from __future__ import annotations

import math
import tomllib
import warnings

import numpy as np
import pytest

from femheat.errors import FemheatInputError
from femheat.io.case import parse_case
from femheat.kernels.mfp import GrayBTEKernel, MFPSpectrumKernel
from femheat.kernels.solvers import IllConditionedWarning
from femheat.pipeline.runner import run_case
from tests.conftest import ROOT

FILM = ROOT / "cases" / "film_size_effect.toml"
LAM = 1e-7


def _data(kernel: dict) -> dict:
    data = tomllib.loads(FILM.read_text())
    data["model"]["kernel"] = kernel
    data["model"]["tolerance"] = 1e-8
    data["output"] = {"png": False}
    return data


def test_gray_bte_film_runs_and_is_below_bulk(tmp_path):
    data = _data({"family": "gray_bte", "length": LAM})
    case = parse_case(data, tmp_path)
    assert isinstance(case.problem.kernel, GrayBTEKernel)
    assert case.problem.kernel.mfp == LAM and case.problem.kernel.closure == "energy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        summary = run_case(case, tmp_path / "out")
    p = data["mesh"]["parameters"]
    drop = 300.0 - data["boundaries"]["right"]["temperature"]
    ratio = summary["heat_flow"]["right"] * p["length"] / (150.0 * drop * p["height"])
    assert 0.3 < ratio < 1.0, ratio  # truncated at the faces: below bulk


def test_mfp_spectrum_from_csv_and_phono3py(tmp_path):
    np.savetxt(tmp_path / "mfp.csv", np.column_stack([[1e-8, 1e-7], [0.25, 0.75]]),
               delimiter=",", header="mfp,fraction", comments="")
    case = parse_case(_data({"family": "mfp_spectrum", "file": "mfp.csv",
                             "closure": "kinetic"}), tmp_path)
    k = case.problem.kernel
    assert isinstance(k, MFPSpectrumKernel) and k.closure == "kinetic"
    assert k.second_moment() == pytest.approx(1.2 * (0.25e-16 + 0.75e-14), rel=1e-6)
    h5py = pytest.importorskip("h5py")
    from tests.test_phono3py import _arrays, _write

    _write(tmp_path / "kappa-m444.hdf5", *_arrays(seed=1, gray=True))
    assert h5py is not None
    case = parse_case(_data({"family": "mfp_spectrum", "file": "kappa-m444.hdf5",
                             "temperature": 200.0}), tmp_path)
    lam = 30 * 100 * 1e-12 / (4 * math.pi * 0.3)
    assert case.problem.kernel.second_moment() == pytest.approx(8 / 15 * lam**2, rel=1e-6)
    with pytest.raises(FemheatInputError, match=r"model\.kernel\.temperature is missing"):
        parse_case(_data({"family": "mfp_spectrum", "file": "kappa-m444.hdf5"}), tmp_path)


def test_sign_changing_table_in_case_file(tmp_path):
    a = 1.4142135623730953e-7
    r = np.linspace(0, 10 * a, 400)
    gauss = lambda s, w: np.exp(-s**2 / (2 * w * w)) / w**2  # noqa: E731 (2D)
    np.savetxt(tmp_path / "dog.csv", np.column_stack([r, 1.5 * gauss(r, a) - 0.5 * gauss(r, 2 * a)]),
               delimiter=",")
    with pytest.raises(FemheatInputError, match=r"g must be >= 0.*allow_negative"):
        parse_case(_data({"family": "tabulated", "file": "dog.csv"}), tmp_path)
    case = parse_case(_data({"family": "tabulated", "file": "dog.csv", "allow_negative": True}),
                      tmp_path)
    assert case.problem.kernel.signed
    # non-negative in space, negative symbol: refused when the case is read
    np.savetxt(tmp_path / "bad.csv", np.column_stack([r, 4 * gauss(r, a) - gauss(r, a / 2)]),
               delimiter=",")
    with pytest.raises(FemheatInputError, match=r"model\.kernel: .*ill posed.*local_fraction >"):
        parse_case(_data({"family": "tabulated", "file": "bad.csv"}), tmp_path)
    with pytest.raises(FemheatInputError, match=r"closure = 'diffuse' is unknown"):
        parse_case(_data({"family": "gray_bte", "length": LAM, "closure": "diffuse"}), tmp_path)
