"""Benchmark: the cost of saving every time step (VTU series vs XDMF + HDF5).

The second-sound case (MCV, RT2 x P1DG, 500 x 5 squares, Crank-Nicolson) run for
``--steps`` steps through the full pipeline (``run_case``: history, energy audit,
restart files) three ways in one process, interleaved ``--repeat`` times:

* ``none``: fields saved only at the first and last step (the baseline);
* ``vtu``: a VTU file (+ PVD) at every step;
* ``xdmf``: every step into one HDF5 file indexed by an XDMF file.

Prints the median process CPU time of each (one BLAS thread: the other jobs on a
shared machine do not enter it; writes to the page cache do) and the ratios
vtu/none and xdmf/none, then the same for wall time.
Issue 17's target: saving every step costs at most ~1.5x the baseline.
``--height-cells N`` widens the strip to N square cells across (same cell size,
N/5 times the unknowns; the strip is built with gmsh instead of the shipped mesh).

    python benchmarks/bench_output.py [--steps 200] [--repeat 3] [--height-cells 5]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy: CPU time = this process's work

import argparse
import statistics
import tempfile
import time
import tomllib
from pathlib import Path

from femheat.io.case import parse_case
from femheat.pipeline.runner import run_case

ROOT = Path(__file__).resolve().parents[1]


MESH = ROOT / "meshes" / "strip_2d.msh"


def case(steps: int, fmt: str | None):
    data = tomllib.loads((ROOT / "cases" / "second_sound_pulse.toml").read_text())
    data["mesh"]["file"] = str(MESH)
    dt = data["time"]["dt"]
    data["time"].update(end=steps * dt, save_every=1 if fmt else steps)
    data["output"] = {"png": False, "format": fmt or "vtu"}
    return parse_case(data, ROOT / "cases")


def timed(steps: int, fmt: str | None) -> tuple[float, float]:
    """(CPU s, wall s) of one run."""
    c = case(steps, fmt)
    with tempfile.TemporaryDirectory() as out:
        t0, c0 = time.perf_counter(), time.process_time()
        run_case(c, Path(out) / "run")
        return time.process_time() - c0, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--height-cells", type=int, default=5)
    args = ap.parse_args()
    global MESH
    tmp = tempfile.TemporaryDirectory()
    if args.height_cells != 5:
        from femheat.mesh import geometry

        MESH = Path(tmp.name) / "strip.msh"
        geometry.build("strip", MESH, length=1.0, height=0.002 * args.height_cells,
                       n_length=500, n_height=args.height_cells)
    times: dict[str, list[tuple[float, float]]] = {"none": [], "vtu": [], "xdmf": []}
    timed(10, None)  # warm-up: imports, caches
    for _ in range(args.repeat):
        for key, fmt in (("none", None), ("vtu", "vtu"), ("xdmf", "xdmf")):
            times[key].append(timed(args.steps, fmt))
    print(f"# saving every step, {args.steps} steps, 500 x {args.height_cells} squares, "
          f"median of {args.repeat} (interleaved)")
    for i, clock in enumerate(("CPU", "wall")):
        med = {k: statistics.median(v[i] for v in vals) for k, vals in times.items()}
        for k, v in med.items():
            print(f"{clock:>4s} {k:>5s}: {v:7.2f} s  ({v / args.steps * 1e3:.1f} ms/step)")
        print(f"{clock:>4s} ratio vtu/none  = {med['vtu'] / med['none']:.2f}")
        print(f"{clock:>4s} ratio xdmf/none = {med['xdmf'] / med['none']:.2f}")

if __name__ == "__main__":
    main()
