"""Synthetic FDTR phase data for cases/fdtr_fit.toml, and its fit (G_K and kappa_sub).

The data are the Gaussian-probe phase of the same Al/sapphire stack computed on a finer
mesh (cells at the axis and the top surface halved, growth 1.2 instead of 1.3) with the
true G_K = 1e8 W/(m^2 K), kappa_sub = 35 W/(m K), at 16 frequencies 20 kHz ... 20 MHz,
plus Gaussian phase noise of 0.1 deg. `femheat fit` then recovers G_K and kappa_sub on
the case's own mesh from G_K = 5e7, kappa_sub = 25.

Run:  python cases/fdtr_fit.py [--write-data] [-o results/fdtr_fit]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
KEYS = ("interfaces.interface_1.kapitza_conductance", "materials.substrate.conductivity")
TRUTH = (1e8, 35.0)
NOISE_DEG = 0.1  # deg
FREQUENCIES = np.logspace(np.log10(2e4), np.log10(2e7), 16)  # Hz


def refined(table: dict, refine: int = 2) -> dict:
    """The case table with the mesh ``refine`` x finer at the axis and the top surface."""
    mp = table["mesh"]["parameters"]
    mp["axis_mesh_size"] /= refine
    mp["top_mesh_size"] /= refine
    mp["growth"] = 1.2
    return table


def forward(keys=KEYS, frequencies=FREQUENCIES, refine: int = 1, table=None, **kw):
    """The FDTR phase forward model [rad] of the case (``refine`` > 1: finer mesh)."""
    from femheat.inverse import Dataset
    from femheat.inverse.frequency import FrequencyForward
    from femheat.io.case import read_case_table

    table = table or read_case_table(HERE / "fdtr_fit.toml")
    if refine > 1:
        table = refined(table, refine)
    f = np.asarray(frequencies, dtype=float)
    return FrequencyForward(table, HERE, list(keys), [Dataset.from_arrays(f, 0 * f)], **kw)


def synthetic(seed: int = 0, noise_deg: float = NOISE_DEG, truth=TRUTH, refine: int = 2):
    """(frequencies [Hz], noisy phase [deg], clean phase [deg]) on the finer mesh."""
    fine = forward(refine=refine, reuse=False)  # one evaluation: assemble it once
    clean = np.degrees(fine(np.asarray(truth, dtype=float)))
    rng = np.random.default_rng(seed)
    return FREQUENCIES, clean + noise_deg * rng.standard_normal(clean.size), clean


if __name__ == "__main__":
    from femheat.inverse import write_data
    from femheat.inverse.report import fit_case, write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-data", action="store_true",
                        help="regenerate cases/data/fdtr_phase.csv")
    parser.add_argument("-o", "--output", default="results/fdtr_fit")
    args = parser.parse_args()
    data = HERE / "data" / "fdtr_phase.csv"
    if args.write_data:
        f, y, _ = synthetic()
        write_data(data, f, y, "frequency [Hz], phase [deg], sigma [deg]", NOISE_DEG)
    result, fwd = fit_case(HERE / "fdtr_fit.toml", [data])
    write_report(result, fwd, args.output)
    for k, v, (lo, hi) in zip(result.keys, result.values, result.interval):
        print(f"{k} = {v:.4g} (95 %: {lo:.4g} ... {hi:.4g}), true {TRUTH[KEYS.index(k)]:g}")
