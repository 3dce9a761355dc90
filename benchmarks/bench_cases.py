#!/usr/bin/env python
"""Wall time of the shipped Python case scripts (``cases/*.py`` with a ``run(out)``).

The unit tests check what these cases compute, never how long they take (a
timed assertion fails on a loaded machine); their cost is measured here::

    .venv/bin/python benchmarks/bench_cases.py                    # hot_spot, film_size_effect
    .venv/bin/python benchmarks/bench_cases.py --cases hot_spot --repeats 3

Each case runs ``--repeats`` times into a temporary folder; the best and the
median wall time [s] are printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

# run_all.py (make bench) sets FEMHEAT_BENCH_CLOCK=cpu and one BLAS thread: process CPU time
# is what the code costs whatever else shares the cores; run by hand, wall time
_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter

ROOT = Path(__file__).resolve().parents[1]
KWARGS = {"film_size_effect": {"ratios": [0.5, 1.0, 2.0, 10.0]}}


def run_once(name: str) -> float:
    """Wall time [s] of one ``cases/<name>.py`` ``run(out)`` call."""
    path = ROOT / "cases" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = _clock()
        mod.run(Path(tmp), **KWARGS.get(name, {}))
        return _clock() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["hot_spot", "film_size_effect"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="hot_spot only")
    ap.add_argument("--json", metavar="FILE", help="write the times to FILE")
    args = ap.parse_args()
    if args.quick:
        args.cases = ["hot_spot"]
    out = {}
    for name in args.cases:
        times = [run_once(name) for _ in range(max(args.repeats, 1))]
        out[name] = {"best_s": min(times), "median_s": statistics.median(times)}
        print(f"{name:20s} best {min(times):7.2f} s   median {statistics.median(times):7.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
