"""A 3-parameter FDTR fit (G_K, kappa_sub, kappa_film) over 30 frequencies on an
axisymmetric mesh: CPU time and forward solves with the operators reused between
evaluations (femheat.inverse.affine: 2^3 + 3 + 1 assemblies once, then interpolation
and exact operator derivatives), against the same fit re-assembling the case per
evaluation (and twice per parameter for the tangent Jacobian), in one run.

The sample is cases/fdtr_fit.toml with the mesh refined ``--refine`` times at the axis
and the top surface (refine 3: ~50k unknowns); the data are the model's own phase at
G_K = 1e8, kappa_sub = 35, kappa_film = 200 plus 0.1 deg noise; the fit starts from
(5e7, 25, 150). Process CPU time, OPENBLAS_NUM_THREADS=1 (set before numpy).

``--gk``: the sample is a Guyer–Krumhansl stack instead (degree 1, BDM2 × P1DG,
l = 10 nm in the film, 100 nm in the substrate) and the third parameter is the
substrate's nonlocal length l (truth 100 nm, start 60 nm) in place of the film's κ:
the viscous term is affine in l², the coordinate the interpolation picks for it.

Run:  python benchmarks/bench_fit_fdtr.py [--refine 3] [--frequencies 30] [--repeats 1] [--gk]
          [--json OUT]
"""

from __future__ import annotations

import os

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["interfaces.interface_1.kapitza_conductance", "materials.substrate.conductivity",
        "materials.film.conductivity"]
TRUTH = np.array([1e8, 35.0, 200.0])
START = np.array([5e7, 25.0, 150.0])
#: --gk: the substrate's nonlocal length replaces the film's conductivity
GK_KEYS = KEYS[:2] + ["materials.substrate.nonlocal_length"]
GK_TRUTH = np.array([1e8, 35.0, 1e-7])
GK_START = np.array([5e7, 25.0, 6e-8])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refine", type=float, default=3.0)
    parser.add_argument("--frequencies", type=int, default=30)
    parser.add_argument("--json", default=None)
    parser.add_argument("--gk", action="store_true",
                        help="a GK stack, fitting the substrate's nonlocal length")
    parser.add_argument("--repeats", type=int, default=1,
                        help="pairs of fits, the order alternating (reuse first, then "
                             "re-assemble first, ...); the ratio reported is the median")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's femheat, not an installed one
    sys.path.insert(0, str(ROOT / "cases"))
    import fdtr_fit

    from femheat.inverse import Dataset, FitParameter, fit
    from femheat.io.case import read_case_table
    from femheat.solve.factorization import SYMBOLIC

    table = fdtr_fit.refined(read_case_table(ROOT / "cases" / "fdtr_fit.toml"), args.refine)
    keys, truth, start = KEYS, TRUTH, START
    if args.gk:
        keys, truth, start = GK_KEYS, GK_TRUTH, GK_START
        table["model"] = {"type": "gk", "degree": 1, "beta": 2}
        table["materials"]["film"]["nonlocal_length"] = 1e-8
        table["materials"]["substrate"]["nonlocal_length"] = float(truth[2])
    f = np.logspace(np.log10(2e4), np.log10(2e7), args.frequencies)
    noise = np.radians(0.1)
    warnings.simplefilter("ignore")
    clean = fdtr_fit.forward(keys, f, table=table, reuse=False)(truth)
    y = clean + noise * np.random.default_rng(0).standard_normal(f.size)
    data = [Dataset.from_arrays(f, y, noise)]
    params = [FitParameter(k, v, v / 100, v * 100) for k, v in zip(keys, start)]
    out: dict = {"frequencies": int(f.size), "model": "gk" if args.gk else "fourier",
                 "keys": keys, "load_average_start": os.getloadavg()[0]}
    results = {}
    cpu: dict = {"reuse": [], "reassemble": []}
    for rep in range(args.repeats):
        for reuse in ((True, False) if rep % 2 == 0 else (False, True)):
            SYMBOLIC.clear()  # each fit computes its own ordering (no head start)
            fwd = fdtr_fit.forward(keys, f, table=table, reuse=reuse)
            t0 = time.process_time()
            r = fit(fwd, data, params)
            name = "reuse" if reuse else "reassemble"
            cpu[name].append(time.process_time() - t0)
            results[name] = r
            out[name] = {"cpu_s": cpu[name][-1], "forward_solves": r.forward_solves,
                         "case_evaluations": fwd.solves, "assemblies": fwd.assemblies,
                         "tangent_solves": fwd.tangent_solves, "values": r.values.tolist(),
                         "interpolated": fwd.affine is not None,
                         "interval_95": r.interval.tolist()}
            out["unknowns"] = int(fwd._dofs[0].size + fwd._dofs[1].size
                                  + fwd.snapshot(r.values)["CF"].size)
    ratios = [b / a for a, b in zip(cpu["reuse"], cpu["reassemble"])]
    for name in cpu:
        out[name]["cpu_s"] = float(np.median(cpu[name]))
        out[name]["cpu_s_each"] = cpu[name]
    out["ratio"] = float(np.median(ratios))
    out["ratios"] = ratios
    out["load_average_end"] = os.getloadavg()[0]
    out["max_relative_difference"] = float(np.abs(results["reuse"].values
                                                  / results["reassemble"].values - 1).max())
    text = json.dumps(out, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return out


if __name__ == "__main__":
    main()
