#!/usr/bin/env python
"""What a user waits for besides the numerics: ``import femheat`` and the flagship run.

* **import**: ``import femheat`` against ``import skfem`` (and a bare interpreter), each
  in a fresh interpreter started from the repository root (bytecode caching on, as for
  a user, whatever PYTHONDONTWRITEBYTECODE says), best of ``--repeats`` by
  process CPU time (user + system, less sensitive to other jobs than wall time) and by
  wall time; the modules that ``import femheat`` loads beyond ``import skfem``.
* **flagship**: ``python -m femheat run cases/composite_kapitza.toml`` (steady, 37k DOFs,
  VTU + PNG + summary) in a fresh process; the process wall and CPU time against the
  summary's ``wall_time`` (assembly, solve, VTU writing, pictures). "non-solve" =
  process wall time − (assembly + solve): interpreter start, imports, case and mesh
  reading, writing, rendering; the same in CPU time from the process's CPU time and the
  summary's ``cpu_time``.

Usage::

    python benchmarks/bench_startup.py                  # 7 import repeats, 3 flagship runs
    python benchmarks/bench_startup.py --quick --json /tmp/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "cases" / "composite_kapitza.toml"


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # bytecode caching as on a user's machine: with PYTHONDONTWRITEBYTECODE set (some
    # containers set it) every import of femheat's source tree compiles it again (~50 ms)
    # while the installed packages it is compared with load their .pyc files; the first
    # of the best-of repeats writes femheat's cache
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed_process(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process run from the repository root."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def import_times(repeats: int) -> dict:
    out: dict = {}
    stmts = {"bare": "pass", "skfem": "import skfem", "femheat": "import femheat"}
    best = {k: [float("inf"), float("inf")] for k in stmts}
    for _ in range(repeats):  # interleaved, so that load changes hit all three alike
        for key, stmt in stmts.items():
            wall, cpu = timed_process([sys.executable, "-c", stmt])
            best[key] = [min(best[key][0], wall), min(best[key][1], cpu)]
    for key, (wall, cpu) in best.items():
        out[f"{key}_wall_s"], out[f"{key}_cpu_s"] = wall, cpu
    out["femheat_over_skfem_cpu"] = best["femheat"][1] / best["skfem"][1]
    out["femheat_over_skfem_wall"] = best["femheat"][0] / best["skfem"][0]
    probe = ("import sys, skfem; a = set(sys.modules); import femheat; "
             "print(' '.join(sorted(m for m in set(sys.modules) - a "
             "if not m.startswith('femheat') and m.count('.') < 2)))")
    extra = subprocess.run([sys.executable, "-c", probe], check=True, cwd=ROOT, env=_env(),
                           capture_output=True, text=True).stdout.split()
    out["extra_packages"] = extra
    return out


def flagship(repeats: int) -> dict:
    best: dict | None = None
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="femheat-bench-") as tmp:
            wall, cpu = timed_process([sys.executable, "-m", "femheat", "run", str(FLAGSHIP),
                                       "-o", str(Path(tmp) / "out"), "-q"])
            summary = json.loads((Path(tmp) / "out" / "summary.json").read_text())
        times = summary["wall_time"]
        compute = times["assembly_s"] + times["solve_s"]
        row = {"process_wall_s": wall, "process_cpu_s": cpu, "dofs": summary["dofs"]["total"],
               **{k: float(v) for k, v in times.items()},
               "compute_s": compute, "non_solve_s": wall - compute,
               "before_assembly_s": wall - times["total_s"]}
        row["non_solve_over_solve"] = row["non_solve_s"] / compute
        ctimes = summary.get("cpu_time")
        if ctimes and "solve_s" in ctimes:  # the same in process CPU time (load-independent)
            ccompute = ctimes["assembly_s"] + ctimes["solve_s"]
            row.update(compute_cpu_s=ccompute, non_solve_cpu_s=cpu - ccompute,
                       non_solve_over_solve_cpu=(cpu - ccompute) / ccompute)
        if best is None or wall < best["process_wall_s"]:
            best = row
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 import repeats, 2 flagship runs")
    ap.add_argument("--repeats", type=int, default=None, help="import repeats (default 7)")
    ap.add_argument("--runs", type=int, default=None, help="flagship runs, best kept (default 3)")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 7)
    runs = args.runs or (2 if args.quick else 3)
    imp = import_times(repeats)
    print(f"import (best of {repeats}, CPU / wall s): bare {imp['bare_cpu_s']:.3f} / "
          f"{imp['bare_wall_s']:.3f}, skfem {imp['skfem_cpu_s']:.3f} / {imp['skfem_wall_s']:.3f}, "
          f"femheat {imp['femheat_cpu_s']:.3f} / {imp['femheat_wall_s']:.3f}; femheat/skfem "
          f"{imp['femheat_over_skfem_cpu']:.2f} (CPU), {imp['femheat_over_skfem_wall']:.2f} (wall); "
          f"modules beyond skfem's: {', '.join(imp['extra_packages']) or 'none'}", flush=True)
    flag = flagship(runs)
    print(f"flagship (best of {runs} by wall): process {flag['process_wall_s']:.2f} s wall, "
          f"{flag['process_cpu_s']:.2f} s CPU; assembly {flag['assembly_s']:.2f} s, solve "
          f"{flag['solve_s']:.2f} s, VTU {flag.get('write_s', float('nan')):.2f} s, pictures "
          f"{flag.get('pictures_s', float('nan')):.2f} s, before assembly (start, imports, case, "
          f"mesh) {flag['before_assembly_s']:.2f} s; non-solve / solve "
          f"{flag['non_solve_over_solve']:.2f} (wall), "
          f"{flag.get('non_solve_over_solve_cpu', float('nan')):.2f} (CPU)")
    if args.json:
        Path(args.json).write_text(json.dumps({"import": imp, "flagship": flag}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
