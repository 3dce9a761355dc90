"""Synthetic flash data for cases/flash_gk.toml, and its fit (l and tau of a GK slab).

The data are the rear-face rise of the same slab computed on a finer mesh (100 cells,
dt halved) with the true values tau = 1 us, l = 1 um, sampled at 60 times and given
Gaussian noise of 2 mK (1 % of the 0.2 K plateau). `femheat fit` then recovers l and
tau on the case's own mesh, starting from tau = 2 us, l = 0.5 um.

Run:  python cases/flash_fit.py [--write-data] [-o results/flash_fit]
      python cases/flash_fit.py --coverage 200   # coverage of the 95 % intervals (~25 min)
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
KEYS = ("materials.medium.relaxation_time", "materials.medium.nonlocal_length")
TRUTH = (1e-6, 1e-6)
NOISE = 2e-3  # K


def synthetic(seed: int = 0, noise: float = NOISE, points: int = 60,
              truth=TRUTH, refine: int = 2):
    """(times [s], noisy rise [K], clean rise [K]) on a mesh ``refine`` x finer."""
    from femheat.inverse import CaseForward, Dataset
    from femheat.io.case import read_case_table

    table = read_case_table(HERE / "flash_gk.toml")
    table["mesh"]["parameters"]["n_length"] *= refine
    table["time"]["dt"] /= refine
    times = np.linspace(0.2e-6, 2e-5, points)
    forward = CaseForward(table, HERE, KEYS, [Dataset.from_arrays(times, 0 * times)])
    clean = forward(truth)
    rng = np.random.default_rng(seed)
    return times, clean + noise * rng.standard_normal(times.size), clean


def coverage(draws: int, first_seed: int = 1000, block: int = 20):
    """Refit ``draws`` noise draws (seeds first_seed, first_seed + 1, ...) of the fine-mesh
    data with the case's [fit] and count, per parameter, the draws whose 95 % interval
    holds the truth: over all draws and per block of ``block`` consecutive seeds.
    Returns (hits (draws, 2) bool array, per-block counts (blocks, 2))."""
    from femheat.inverse import (CaseForward, Dataset, fit, parse_fit_parameters,
                                 resolve_parameters)
    from femheat.io.case import read_case_table

    t, _, y = synthetic(seed=0, noise=0.0)
    table = read_case_table(HERE / "flash_gk.toml")
    params = resolve_parameters({k: v for k, v in table.items() if k != "fit"},
                                parse_fit_parameters(table["fit"]["parameters"]))
    forward = CaseForward(table, HERE, list(KEYS), [Dataset.from_arrays(t, y)])
    hits = []
    for seed in range(first_seed, first_seed + draws):
        noise = NOISE * np.random.default_rng(seed).standard_normal(t.size)
        result = fit(forward, [Dataset.from_arrays(t, y + noise, NOISE, name=f"seed{seed}")],
                     params)
        hits.append(result.contains(TRUTH))
    hits = np.array(hits, dtype=bool)
    blocks = hits[: draws // block * block].reshape(-1, block, len(KEYS)).sum(axis=1)
    return hits, blocks


if __name__ == "__main__":
    from femheat.inverse import write_data
    from femheat.inverse.report import fit_case, write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-data", action="store_true",
                        help="regenerate cases/data/flash_gk.csv")
    parser.add_argument("-o", "--output", default="results/flash_fit")
    parser.add_argument("--coverage", type=int, metavar="DRAWS",
                        help="refit DRAWS noise draws and report the interval coverage")
    args = parser.parse_args()
    if args.coverage:
        hits, blocks = coverage(args.coverage)
        for i, key in enumerate(KEYS):
            print(f"{key}: {hits[:, i].sum()}/{len(hits)} in the 95 % interval "
                  f"({100 * hits[:, i].mean():.1f} %); per block of 20: {blocks[:, i].tolist()}")
        raise SystemExit(0)
    data = HERE / "data" / "flash_gk.csv"
    if args.write_data:
        t, y, _ = synthetic()
        write_data(data, t, y, "time [s], temperature_rise [K], sigma [K]", NOISE)
    result, forward = fit_case(HERE / "flash_gk.toml", [data])
    write_report(result, forward, args.output)
    for k, v, (lo, hi) in zip(result.keys, result.values, result.interval):
        print(f"{k} = {v:.4g} (95 %: {lo:.4g} ... {hi:.4g}), true {TRUTH[KEYS.index(k)]:g}")
