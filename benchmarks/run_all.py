#!/usr/bin/env python
"""Run every benchmark with its baseline and write one JSON of ratios and figures.

Each benchmark script runs in its own subprocess (and spawns its own children, one per
size, as before), with ``--quick`` or its full sizes and ``--json``; this script then
keeps, per benchmark:

* ``ratios``: dimensionless figures taken *within one run* (femheat against the
  baseline the script times next to it, or a deterministic quantity: an iteration
  count, an error, a memory ratio). These are what ``--check`` compares with the
  recorded run; absolute times on shared cores are not comparable between runs;
* ``figures``: absolute times, sizes and memory, for the tables;
* ``tables``: the Markdown tables of ``benchmarks/README.md`` (``report.py`` writes
  them into the marked sections);
* ``raw``: the script's own JSON.

A machine calibration (a dgemm, a memory copy and a sparse matrix-vector product) is
recorded with each run, so a drift can be told apart from a different machine.

Usage::

    python benchmarks/run_all.py --quick                    # ~10 min on 2 shared cores
    python benchmarks/run_all.py                            # full sizes (an hour or more)
    python benchmarks/run_all.py --quick --only gk kernels  # some benchmarks
    python benchmarks/run_all.py --check                    # latest run vs the record

``make bench`` writes ``benchmarks/results-latest.json``; ``make bench-check`` compares
it with the committed ``benchmarks/results.json`` (a ratio that moved by more than
``--tolerance``, 30 %, fails and is named) and checks that the README tables are the
recorded JSON's; ``make bench-record`` accepts the latest run as the record.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECORDED = HERE / "results.json"
LATEST = HERE / "results-latest.json"
TOLERANCE = 0.30
SCHEMA = 1
#: the scripts time process CPU with one BLAS/OpenMP thread: on shared cores a ratio of
#: CPU times is what the code costs, while wall times move with whatever else runs
CLOCK_ENV = {"FEMHEAT_BENCH_CLOCK": "cpu", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
             "MKL_NUM_THREADS": "1",
             # every factorization from scratch: the benchmarks repeat identical ones for
             # their best-of timings, which the shared symbolic/numeric cache would answer
             # from memory (bench_sweep_symbolic.py measures that cache)
             "FEMHEAT_SYMBOLIC_CACHE": "0"}


# ------------------------------------------------------------------ drift check (pure)
#: time ratios are checked from these sizes on; smaller problems (n = 50: a 27 ms MCV
#: factorization, a 1.7 ms step; 20k-cell kernel builds of ~1 s) are in the tables only:
#: their CPU-time ratios spread 1.6-2.6x between runs of the same tree on shared cores
MIN_CHECKED_N = 100
MIN_CHECKED_CELLS = 40_000

#: ratios that do not depend on timing (errors, memory, iteration counts, κ): a drift of
#: these is a change of the code's result, whatever the machine's load
EXACT = ("rel. error", "memory", "MINRES its", "kappa/", "growth")


def is_exact(ratio: str) -> bool:
    """Whether a ratio is deterministic (see :data:`EXACT`) rather than a time ratio."""
    return any(tag in ratio for tag in EXACT)


@dataclass
class Drift:
    """One ratio compared with its recorded value."""

    benchmark: str
    ratio: str
    recorded: float
    new: float

    @property
    def exact(self) -> bool:
        return is_exact(self.ratio)

    @property
    def change(self) -> float:
        """Relative change new/recorded − 1 (inf when the record is 0 and the new is not)."""
        if self.recorded == 0:
            return 0.0 if self.new == 0 else math.inf
        return self.new / self.recorded - 1.0

    def __str__(self) -> str:
        return (f"{self.benchmark}: {self.ratio} = {self.new:.4g}, recorded {self.recorded:.4g} "
                f"({self.change:+.0%})")


def compare(recorded: dict, new: dict, tolerance: float = TOLERANCE
            ) -> tuple[list[Drift], list[Drift], list[str], list[str]]:
    """Compare the ratios of two result documents.

    Returns (drifted, kept, missing, added): ratios whose relative change exceeds
    ``tolerance`` (either way: a recorded figure that no longer holds is stale whether
    the code got slower or faster), those within it, "benchmark: ratio" names recorded
    but absent from ``new`` (a benchmark not run, or a size not measured), and names new
    in ``new``. Benchmarks that ``new`` did not run at all are skipped.
    """
    drifted: list[Drift] = []
    kept: list[Drift] = []
    missing: list[str] = []
    added: list[str] = []
    old_b = recorded.get("benchmarks", {})
    new_b = new.get("benchmarks", {})
    for name, res in new_b.items():
        old_r = old_b.get(name, {}).get("ratios", {})
        new_r = res.get("ratios", {})
        for key, value in new_r.items():
            if key not in old_r:
                added.append(f"{name}: {key}")
                continue
            d = Drift(name, key, float(old_r[key]), float(value))
            (drifted if not abs(d.change) <= tolerance else kept).append(d)
        missing += [f"{name}: {key}" for key in old_r if key not in new_r]
    return drifted, kept, missing, added


# ------------------------------------------------------------------ calibration
def calibration() -> dict:
    """The machine's speed on three kernels that bound femheat's work (best of a few):
    dgemm (compute; run with the benchmarks' single BLAS thread), a memory copy
    (bandwidth) and a CSR sparse matrix-vector product (the solvers' memory-bound inner
    loop)."""
    import numpy as np
    import scipy.sparse as sp

    def best(f, k):
        ts = []
        for _ in range(k):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return min(ts)

    rng = np.random.default_rng(0)
    n = 1000
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    t_gemm = best(lambda: a @ b, 5)
    x = np.ones(32 * 2**20)  # 256 MB
    y = np.empty_like(x)
    t_copy = best(lambda: np.copyto(y, x), 5)
    m = 700  # 5-point Laplacian on a 700 x 700 grid: 490k rows, 2.4M nonzeros
    d = sp.diags([-1.0, -1.0, 4.0, -1.0, -1.0], [-m, -1, 0, 1, m], shape=(m * m, m * m), format="csr")
    v = rng.standard_normal(m * m)
    t_spmv = best(lambda: d @ v, 20)
    return {"dgemm_gflops": 2 * n**3 / t_gemm / 1e9,
            "copy_gbs": 2 * x.nbytes / t_copy / 1e9,
            "spmv_gflops": 2 * d.nnz / t_spmv / 1e9,
            "spmv_nnz": int(d.nnz)}


def machine() -> dict:
    info = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "node": platform.node()}
    for mod in ("numpy", "scipy", "skfem"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - informative only
            pass
    try:
        info["load_average"] = list(os.getloadavg())
    except OSError:
        pass
    return info


# ------------------------------------------------------------------ extraction helpers
def _table(title: str, head: list[str], rows: list[list]) -> dict:
    return {"title": title, "head": head, "rows": [[_fmt(v) for v in r] for r in rows]}


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 1e-2:
        return f"{v:.3g}"
    return f"{v:.2e}"


def extract_mcv(raw: dict) -> dict:
    ratios, rows, full = {}, [], []
    for r in raw["rows"]:
        n = r["n"]
        step = r["step_best_s"] / r["p1_step_best_s"]
        per_unk = step * r["p1_unknowns"] / r["femheat_unknowns"]
        fact = r["factorization_s"] / r["p1_factorization_s"]
        if n >= MIN_CHECKED_N:
            ratios[f"step femheat/P1, n={n}"] = step
            ratios[f"step per unknown femheat/P1, n={n}"] = per_unk
            ratios[f"factorization femheat/P1, n={n}"] = fact
        rows.append([n, r["femheat_unknowns"], r["p1_unknowns"], r["assembly_s"],
                     r["factorization_s"], 1e3 * r["step_best_s"], r["p1_factorization_s"],
                     1e3 * r["p1_step_best_s"], r["peak_rss_gb"], step, per_unk, fact])
        if "full_colamd_factorization_s" in r:
            fc = r["full_colamd_factorization_s"] / r["factorization_s"]
            sc = r["full_colamd_step_best_s"] / r["step_best_s"]
            fm = r["full_mmd_factorization_s"] / r["factorization_s"]
            # (table only: one build and a few steps each, too noisy for the drift check)
            full.append([n, r["femheat_unknowns"], fc, sc, fm,
                         max(r["full_colamd_rel_diff"], r["full_mmd_rel_diff"])])
    tables = [_table("femheat MCV backward-Euler step vs scikit-fem P1 Fourier backward Euler "
                     "(same mesh)",
                     ["n", "femheat unk.", "P1 unk.", "assembly s", "factor. s", "step ms",
                      "P1 factor. s", "P1 step ms", "peak RSS GB", "step femheat/P1",
                      "per unknown", "factor. femheat/P1"], rows)]
    if full:
        tables.append(_table("Eliminated SPD flux operator vs the full saddle point",
                             ["n", "femheat unk.", "factor. COLAMD-full/elim",
                              "step COLAMD-full/elim", "factor. MMD-full/elim",
                              "max rel. diff"], full))
    return {"ratios": ratios, "tables": tables}


def extract_gk(raw: dict) -> dict:
    ratios, rows, vrows, frows = {}, [], [], []
    for pair in raw["rows"]:
        m, g = pair["mcv"], pair["gk"]
        n = m["n"]
        v = pair.get("gkv")
        if "frequency_s" in m:  # one frequency-domain solve (results before it lack it)
            fv = v["frequency_s"] if v is not None else float("nan")
            if n >= MIN_CHECKED_N:
                ratios[f"frequency GK/MCV, n={n}"] = g["frequency_s"] / m["frequency_s"]
                if v is not None:
                    ratios[f"frequency GK-vorticity/MCV, n={n}"] = fv / m["frequency_s"]
            frows.append([n, m["frequency_s"], g["frequency_s"], fv,
                          g["frequency_s"] / m["frequency_s"], fv / m["frequency_s"]])
        step, steady = g["step_s"] / m["step_s"], g["steady_s"] / m["steady_s"]
        mem = g["peak_rss_gb"] / m["peak_rss_gb"]
        asm = g["assembly_s"] / m["assembly_s"]
        if n >= MIN_CHECKED_N:
            ratios[f"step GK/MCV, n={n}"] = step
            ratios[f"steady GK/MCV, n={n}"] = steady
            ratios[f"factorization GK/MCV, n={n}"] = g["factorization_s"] / m["factorization_s"]
            ratios[f"assembly GK/MCV, n={n}"] = asm
        ratios[f"peak memory GK/MCV, n={n}"] = mem
        rows.append([n, m["unknowns"], g["unknowns"], m["assembly_s"], g["assembly_s"],
                     m["steady_s"], g["steady_s"], m["factorization_s"], g["factorization_s"],
                     1e3 * m["step_s"], 1e3 * g["step_s"], m["peak_rss_gb"], g["peak_rss_gb"],
                     asm, step, steady, mem])
        if v is not None:
            vstep, vsteady = v["step_s"] / m["step_s"], v["steady_s"] / m["steady_s"]
            vasm = v["assembly_s"] / m["assembly_s"]
            if n >= MIN_CHECKED_N:
                ratios[f"step GK-vorticity/MCV, n={n}"] = vstep
                ratios[f"steady GK-vorticity/MCV, n={n}"] = vsteady
                ratios[f"assembly GK-vorticity/MCV, n={n}"] = vasm
            vrows.append([n, v["unknowns"], v["assembly_s"], v["steady_s"],
                          v["factorization_s"], 1e3 * v["step_s"], v["peak_rss_gb"], vasm,
                          vstep, vsteady, v["peak_rss_gb"] / m["peak_rss_gb"],
                          v["step_s"] / g["step_s"]])
    tables = [_table(
        "Guyer–Krumhansl (BDM1 × P0, l = 0.1, β = 2, no-slip walls) vs MCV (RT0 × P0)",
        ["n", "MCV unk.", "GK unk.", "MCV asm s", "GK asm s", "MCV steady s", "GK steady s",
         "MCV fact. s", "GK fact. s", "MCV step ms", "GK step ms", "MCV GB", "GK GB",
         "asm GK/MCV", "step GK/MCV", "steady GK/MCV", "GB GK/MCV"], rows)]
    if vrows:
        tables.append(_table(
            "GK with viscous = \"vorticity\" (BDM1 × P0, consistent P2 vorticity) vs MCV and the "
            "interior penalty", ["n", "GKv unk.", "GKv asm s", "GKv steady s", "GKv fact. s",
                                 "GKv step ms", "GKv GB", "asm GKv/MCV", "step GKv/MCV",
                                 "steady GKv/MCV", "GB GKv/MCV", "step GKv/GK"], vrows))
    if frows:
        tables.append(_table(
            "One frequency-domain solve (f = 10 Hz: operator snapshot, complex "
            "factorization, solve; the vorticity form keeps ω)",
            ["n", "MCV s", "GK s", "GKv s", "GK/MCV", "GKv/MCV"], frows))
    return {"ratios": ratios, "tables": tables}


def extract_kernels(raw: dict) -> dict:
    ratios: dict = {}
    d = raw["dense"]
    n = d["ncells"]
    ratios[f"rel. error cut-off vs dense, {n} cells"] = raw["err_femheat"]
    ratios[f"rel. error FFT vs dense, {n} cells"] = raw["err_fft"]
    ratios[f"rel. error centroid baseline vs dense, {n} cells"] = raw["err_baseline"]
    acc = [["cut-off (exact pairs)", raw["err_femheat"], d["build_s"] / raw["femheat_dense"]["build_s"],
            d["nbytes"] / raw["femheat_dense"]["nbytes"]],
           ["FFT (lattice)", raw["err_fft"], d["build_s"] / raw["fft_dense"]["build_s"],
            d["nbytes"] / raw["fft_dense"]["nbytes"]],
           ["baseline (centroid rule)", raw["err_baseline"], d["build_s"] / raw["baseline_dense"]["build_s"],
            d["nbytes"] / raw["baseline_dense"]["nbytes"]]]
    rows, frows = [], []
    for (f, b), t in zip(raw["rows"], raw["fft"]):
        c = f["ncells"]
        row = [c, f["neighbours"], f["build_s"], f["build_cpu_s"], f["nbytes"] / 1e9,
               f["rss_gb"], f["apply_s"]]
        timed = c >= MIN_CHECKED_CELLS
        if b:
            if timed:
                ratios[f"cut-off build speed-up over baseline, {c} cells"] = b["build_s"] / f["build_s"]
                ratios[f"cut-off apply speed-up over baseline, {c} cells"] = b["apply_s"] / f["apply_s"]
            ratios[f"baseline/cut-off memory, {c} cells"] = b["nbytes"] / f["nbytes"]
            row += [b["build_s"], b["build_cpu_s"], b["nbytes"] / 1e9, b["apply_s"],
                    b["build_s"] / f["build_s"], b["build_cpu_s"] / f["build_cpu_s"],
                    b["apply_s"] / f["apply_s"]]
        else:
            row += [None] * 7
        rows.append(row)
        if timed:
            ratios[f"FFT build speed-up over cut-off, {c} cells"] = f["build_s"] / t["build_s"]
            ratios[f"FFT apply speed-up over cut-off, {c} cells"] = f["apply_s"] / t["apply_s"]
        ratios[f"cut-off/FFT memory, {c} cells"] = f["nbytes"] / t["nbytes"]
        frows.append([c, t["build_s"], f["build_s"] / t["build_s"], t["nbytes"] / 1e9,
                      f["nbytes"] / t["nbytes"], t["apply_s"], f["apply_s"] / t["apply_s"]])
    return {"ratios": ratios, "tables": [
        _table(f"Accuracy against the dense oracle ({n} cells, a/h = {d['a_over_h']:.2f}, "
               f"tol = {raw['tol']:g}): relative error of a(T, ·) on random T",
               ["operator", "rel. error", "dense/this build", "dense/this memory"], acc),
        _table("Cut-off operator vs the numpy/scipy baseline (KD-tree pairs, centroid rule, "
               "full CSR)",
               ["cells", "neighbours", "build s", "build CPU s", "W GB", "peak RSS GB", "apply s",
                "base build s", "base CPU s", "base W GB", "base apply s", "build speed-up",
                "CPU speed-up", "apply speed-up"], rows),
        _table("Lattice FFT operator on the same meshes",
               ["cells", "FFT build s", "cut-off/FFT build", "W GB", "cut-off/FFT memory",
                "FFT apply s", "cut-off/FFT apply"], frows)]}


def extract_hmatrix(raw: dict) -> dict:
    ratios, rows = {}, []
    res = raw["results"]
    prev = None
    for r in res:
        grow = "—"
        if prev is not None:
            k = math.log(2) / math.log(r["N"] / prev["N"])
            ratios[f"memory growth per doubling, N={prev['N']}->{r['N']}"] = (r["nbytes"] / prev["nbytes"]) ** k
            grow = f"{(r['build_cpu_s'] / prev['build_cpu_s']) ** k:.2f}"
        rows.append([r["N"], r["build_s"], r["build_cpu_s"], r["nbytes"] / 1e6, r["peak_rss"] / 1e6,
                     r["apply_s"], r["rel_error_rows"], f"{r['rank_mean']:.1f}/{r['rank_max']}", grow])
        ratios[f"rel. error (100 rows), N={r['N']}"] = r["rel_error_rows"]
        prev = r
    tables = [_table(f"H-matrix, power-law kernel, tol = {raw['args']['tol']:g}",
                     ["N", "build s", "build CPU s", "MB", "peak RSS MB", "apply s", "rel. error",
                      "rank mean/max", "CPU x per doubling"], rows)]
    o = raw.get("oracle")
    if o:
        n = o["N"]
        ratios[f"apply H/dense, N={n}"] = o["apply_s"] / o["dense_apply_s"]
        ratios[f"build H/dense, N={n}"] = o["build_s"] / o["dense_build_s"]
        ratios[f"memory H/dense, N={n}"] = o["nbytes"] / o["dense_nbytes"]
        ratios[f"rel. error full, N={n}"] = o["rel_error_full"]
        tables.append(_table("Against the dense oracle (same process)",
                             ["N", "dense GB", "dense build s", "dense apply s", "H build s",
                              "H apply s", "build H/dense", "apply H/dense", "memory H/dense",
                              "rel. error"],
                             [[n, o["dense_nbytes"] / 1e9, o["dense_build_s"], o["dense_apply_s"],
                               o["build_s"], o["apply_s"], o["build_s"] / o["dense_build_s"],
                               o["apply_s"] / o["dense_apply_s"], o["nbytes"] / o["dense_nbytes"],
                               o["rel_error_full"]]]))
    return {"ratios": ratios, "tables": tables}


def extract_homogenization(raw: list) -> dict:
    ratios, rows = {}, []
    for r in raw:
        c = r["cell"]
        # the mean per point of the whole sweep, timed on the script's clock like the others
        ex, sc, pl = r.get("extra_R_mean_s", r["extra_R_median_s"]), r["scratch_s"], r["plain_per_R_s"]
        ratios[f"extra R_K / from scratch, {c}"] = ex / sc
        ratios[f"plain loop / extra R_K, {c}"] = pl / ex
        ratios[f"kappa/MG (meshed fraction), {c}"] = r["kappa_iso"] / r["mg_mesh"]
        rows.append([c, r["cells"], r["flux_dofs"], r["first_solve_s"], ex, sc, pl, ex / sc, pl / ex,
                     r["kappa_iso"], r["kappa_iso"] / r["mg_mesh"]])
    return {"ratios": ratios, "tables": [_table(
        "Periodic cells: an extra R_K against a from-scratch κ_eff and the plain loop",
        ["cell", "cells", "flux DOFs", "1st solve s", "extra R_K s", "from scratch s",
         "plain per R_K s", "extra/scratch", "plain/extra", "κ mean", "κ/MG"], rows)]}


def extract_gk_iterative(raw: list) -> dict:
    ratios, rows = {}, []
    for res in raw:
        n, beta, d, it = res["n"], res["beta"], res["direct"], res["iterative"]
        for row in it["rows"]:
            lh = row["ell"] * n
            tag = f"n={n}, beta={beta}, l/h={lh:.3g}"
            ratios[f"MINRES its, {tag}"] = row["steady_its"]
            first = row["ell"] == 0.5
            if d and first:
                ratios[f"iterative/direct steady, n={n}, beta={beta}"] = row["steady_s"] / d["steady_s"]
            rows.append([beta, n, f"{row['ell']:.3g}", f"{lh:.3g}", row["unknowns"], row["steady_its"],
                         row.get("baseline_its"), row["steady_s"],
                         d["steady_s"] if (d and first) else None,
                         "/".join(map(str, row["step_its"])), row.get("rel_diff")])
    return {"ratios": ratios, "tables": [_table(
        "3D GK, MINRES with the auxiliary-space preconditioner vs SuperLU",
        ["β", "n", "l", "l/h", "unknowns", "MINRES its", "baseline its", "iter. solve s",
         "direct solve s", "BE step its", "rel. diff"], rows)]}


def extract_startup(raw: dict) -> dict:
    i, f = raw["import"], raw["flagship"]
    ratios = {"import femheat / import skfem (CPU)": i["femheat_over_skfem_cpu"]}
    if "non_solve_over_solve_cpu" in f:
        ratios["flagship non-solve / solve (CPU)"] = f["non_solve_over_solve_cpu"]
    return {"ratios": ratios, "tables": [
        _table("import femheat against import skfem (fresh interpreters, best of several)",
               ["", "CPU s", "wall s"],
               [["bare interpreter", i["bare_cpu_s"], i["bare_wall_s"]],
                ["import skfem", i["skfem_cpu_s"], i["skfem_wall_s"]],
                ["import femheat", i["femheat_cpu_s"], i["femheat_wall_s"]],
                ["femheat/skfem", i["femheat_over_skfem_cpu"], i["femheat_over_skfem_wall"]]]),
        _table("Flagship run (femheat run cases/composite_kapitza.toml), best of several by wall "
               "time",
               ["DOFs", "process wall s", "before assembly wall s", "assembly wall s",
                "solve wall s", "VTU wall s", "PNG wall s", "non-solve/solve (wall)",
                "process CPU s", "assembly + solve CPU s", "non-solve/solve (CPU)"],
               [[f["dofs"], f["process_wall_s"], f["before_assembly_s"], f["assembly_s"],
                 f["solve_s"], f.get("write_s"), f.get("pictures_s"), f["non_solve_over_solve"],
                 f["process_cpu_s"], f.get("compute_cpu_s"), f.get("non_solve_over_solve_cpu")]])]}


def extract_mcv_assembly(raw: dict) -> dict:
    """bench_mcv_assembly.py: femheat's MCV path against a plain scikit-fem script."""
    ratios, rows, inter = {}, [], []
    by = {}
    for r in raw["rows"]:
        by.setdefault(r["n"], {})[r["variant"]] = r
    for n, v in sorted(by.items()):
        i, f, p = v.get("interleaved"), v.get("femheat"), v.get("plain")
        if i:
            asm = i["femheat_assembly_s"] / i["plain_assembly_s"]
            fact = i["femheat_factorization_s"] / i["plain_factorization_s"]
            step = i["femheat_step_s"] / i["plain_step_s"]
            if n >= 2 * MIN_CHECKED_N:  # n = 125: a 50 ms factorization, 3 ms steps
                ratios[f"assembly femheat/plain (interleaved), n={n}"] = asm
                ratios[f"factorization femheat/plain (interleaved), n={n}"] = fact
                ratios[f"step femheat/plain (interleaved), n={n}"] = step
            inter.append([n, i["femheat_assembly_s"], i["plain_assembly_s"], asm,
                          i["femheat_factorization_s"], i["plain_factorization_s"], fact,
                          1e3 * i["femheat_step_s"], 1e3 * i["plain_step_s"], step,
                          i["energy_rel_diff"]])
        if f and p:
            mem = f["peak_rss_gb"] / p["peak_rss_gb"]
            ratios[f"peak memory femheat/plain, n={n}"] = mem
            rows.append([n, f["unknowns"], f.get("solver", ""), f["assembly_s"], p["assembly_s"],
                         f["factorization_s"], p["factorization_s"], 1e3 * f["step_best_s"],
                         1e3 * p["step_best_s"], f["peak_rss_gb"], p["peak_rss_gb"], mem,
                         abs(f["energy"] / p["energy"] - 1)])
    tables = []
    fenicsx = []  # FEniCSx 0.5 + MUMPS where an interpreter with dolfinx was found
    for n, v in sorted(by.items()):
        f = v.get("femheat")
        for variant, label in (("fenicsx", "LU"), ("fenicsx (LDLT)", "LDLT")):
            x = v.get(variant)
            if not (f and x):
                continue
            work = [r["assembly_s"] + r["factorization_s"] + r["steps_total_s"] for r in (f, x)]
            step, mem = f["step_best_s"] / x["step_best_s"], f["peak_rss_gb"] / x["peak_rss_gb"]
            if n >= 2 * MIN_CHECKED_N:  # n = 125: millisecond steps, 0.15 GB processes
                ratios[f"step femheat/FEniCSx MUMPS {label}, n={n}"] = step
                ratios[f"assembly+factorization+steps femheat/FEniCSx MUMPS {label}, "
                       f"n={n}"] = work[0] / work[1]
                ratios[f"peak memory femheat/FEniCSx MUMPS {label}, n={n}"] = mem
            fenicsx.append([n, label, f["unknowns"], x["assembly_s"], x["factorization_s"],
                            1e3 * x["step_best_s"], x["peak_rss_gb"], step, work[0] / work[1],
                            f["wall_s"] / x["wall_s"], mem,
                            abs(f["energy"] / x["energy"] - 1)])
    if fenicsx:
        tables.append(_table(
            "femheat against FEniCSx 0.5 + MUMPS (benchmarks/fenicsx_mcv.py, natural mixed "
            "form; separate processes)",
            ["n", "MUMPS", "unknowns", "FEniCSx asm s", "FEniCSx fact. s", "FEniCSx step ms",
             "FEniCSx GB", "step femheat/FEniCSx", "asm+fact+steps femheat/FEniCSx",
             "process wall femheat/FEniCSx", "memory femheat/FEniCSx", "energy rel. diff"],
            fenicsx))
    return {"ratios": ratios, "tables": [
        _table("femheat and the plain scikit-fem script alternated in one process (best of the "
               "repeats)",
               ["n", "femheat asm s", "plain asm s", "asm femheat/plain", "femheat fact. s",
                "plain fact. s", "fact. femheat/plain", "femheat step ms", "plain step ms",
                "step femheat/plain", "energy rel. diff"], inter),
        _table("Separate processes (peak memory of each run alone)",
               ["n", "unknowns", "solver", "femheat asm s", "plain asm s", "femheat fact. s",
                "plain fact. s", "femheat step ms", "plain step ms", "femheat GB", "plain GB",
                "memory femheat/plain", "energy rel. diff"], rows)] + tables}


def extract_memory_modes(raw: dict) -> dict:
    """bench_memory.py: a Crank–Nicolson step with M = 8 memory modes against M = 1."""
    runs = raw["runs"]
    return {"ratios": {f"step M=8 / M=1 (median), n={raw['n']}": raw["median_ratio"]},
            "tables": [
        _table(f"Memory model, n = {raw['n']} ({raw['flux_dofs']:,} flux + "
               f"{raw['temperature_dofs']:,} temperature DOFs), {raw['steps']} alternated "
               "Crank–Nicolson steps",
               ["modes", "setup s", "step best ms", "step median ms"],
               [[int(M), r["setup_s"], 1e3 * r["step_best_s"], 1e3 * r["step_median_s"]]
                for M, r in runs.items()] + [["M=8 / M=1", None, raw["best_ratio"],
                                              raw["median_ratio"]]])]}


def extract_fit_fdtr(raw: dict) -> dict:
    """bench_fit_fdtr.py: the FDTR fit with operators reused against re-assembling."""
    u, r, a = raw["unknowns"], raw["reuse"], raw["reassemble"]
    return {"ratios": {f"fit re-assemble / reuse, {u} unknowns": raw["ratio"]}, "tables": [
        _table(f"FDTR fit (3 parameters, {raw['frequencies']} frequencies, tangent Jacobian), "
               f"{u:,} unknowns",
               ["fit", "CPU s", "forward solves", "case evaluations", "assemblies"],
               [["operators reused", r["cpu_s"], r["forward_solves"], r["case_evaluations"],
                 r["assemblies"]],
                ["re-assembled", a["cpu_s"], a["forward_solves"], a["case_evaluations"],
                 a["assemblies"]],
                ["re-assembled / reused", raw["ratio"], None, None, None],
                ["fitted values, max rel. difference", raw["max_relative_difference"], None,
                 None, None]])]}


def extract_cases(raw: dict) -> dict:
    return {"ratios": {}, "tables": [_table("Case scripts (wall time, no baseline)",
                                            ["case", "best s", "median s"],
                                            [[k, v["best_s"], v["median_s"]] for k, v in raw.items()])]}


@dataclass
class Benchmark:
    script: str
    quick: list[str]
    full: list[str]
    extract: Callable[[object], dict]
    env: dict | None = None


BENCHMARKS: dict[str, Benchmark] = {
    "startup": Benchmark("bench_startup.py", ["--quick"], [], extract_startup),
    "mcv_step": Benchmark("bench_mcv_step.py", ["--quick"], [], extract_mcv),
    "gk": Benchmark("bench_gk.py", ["--quick"], [], extract_gk),
    "kernels": Benchmark("bench_kernels.py", ["--quick", "--threads", "1"], ["--threads", "1"],
                         extract_kernels),
    "hmatrix": Benchmark("bench_hmatrix.py", ["--quick", "--repeats", "10"],
                         ["--repeats", "10"], extract_hmatrix),
    "homogenization": Benchmark("bench_homogenization.py",
                                ["--quick", "--cells", "2d", "--resistances", "1e-8", "1e-6",
                                 "1e-4", "--repeats", "1", "--plain-points", "2"],
                                ["--full"], extract_homogenization),
    "gk_iterative": Benchmark("bench_gk_iterative.py", ["--quick"], [], extract_gk_iterative),
    "cases": Benchmark("bench_cases.py", ["--quick"], [], extract_cases),
    "mcv_assembly": Benchmark("bench_mcv_assembly.py",
                              ["--sizes", "125", "250", "--steps", "20", "--repeats", "2",
                               "--skip", "femheat-superlu", "direct"], ["--full"],
                              extract_mcv_assembly),
    "memory_modes": Benchmark("bench_memory.py", ["--quick"], [], extract_memory_modes),
    # the fit's reuse path shares the symbolic factorization between frequencies by
    # design: measured with the cache on, as users run it
    "fit_fdtr": Benchmark("bench_fit_fdtr.py", ["--refine", "1.5", "--frequencies", "15"],
                          ["--refine", "3", "--frequencies", "30"], extract_fit_fdtr,
                          env={"FEMHEAT_SYMBOLIC_CACHE": "1"}),
}


def calibrate() -> dict:
    """:func:`calibration` in a fresh process with the benchmarks' thread settings."""
    return json.loads(subprocess.run([sys.executable, __file__, "--calibrate"], check=True,
                                     capture_output=True, text=True,
                                     env={**os.environ, **CLOCK_ENV}).stdout)


def run_one(name: str, quick: bool, logdir: Path) -> dict:
    b = BENCHMARKS[name]
    cal = calibrate()  # the machine's speed right before this benchmark (load changes)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, str(HERE / b.script), *(b.quick if quick else b.full),
               "--json", str(out)]
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(CLOCK_ENV)
        env.update(b.env or {})
        t0 = time.perf_counter()
        log = logdir / f"{name}.log"
        with open(log, "w") as fh:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - t0
        if proc.returncode or not out.exists():
            raise RuntimeError(f"{name}: {' '.join(cmd)} failed (exit {proc.returncode}); see {log}")
        raw = json.loads(out.read_text())
    res = b.extract(raw)
    res.update(command=" ".join(["python", f"benchmarks/{b.script}", *(b.quick if quick else b.full)]),
               wall_s=wall, calibration=cal, raw=raw)
    return res


def speeds(recorded_cal: dict, latest_cal: dict) -> dict:
    """Calibration speeds latest/recorded (dgemm, copy, SpMV) where both have them."""
    return {k: latest_cal[k] / recorded_cal[k] for k in ("dgemm_gflops", "copy_gbs", "spmv_gflops")
            if recorded_cal.get(k) and latest_cal.get(k)}


def same_speed(recorded: dict, latest: dict, benchmark: str | None = None,
               tolerance: float = TOLERANCE) -> bool:
    """Whether the machine ran as fast as at the record (every calibration speed within
    ``tolerance`` of 1): the calibration taken right before ``benchmark`` in both runs
    when both have one, else the run's; True when there is nothing to compare."""
    rb = recorded.get("benchmarks", {}).get(benchmark, {}) if benchmark else {}
    lb = latest.get("benchmarks", {}).get(benchmark, {}) if benchmark else {}
    if rb.get("calibration") and lb.get("calibration"):
        sp = speeds(rb["calibration"], lb["calibration"])
    else:
        sp = speeds(recorded.get("calibration", {}), latest.get("calibration", {}))
    return all(abs(v - 1) <= tolerance for v in sp.values())


def check(recorded_path: Path, latest_path: Path, tolerance: float, strict: bool = False,
          rerun: Callable[[str], dict] | None = None) -> int:
    """Print the comparison; 1 when a ratio drifted (or nothing could be compared).

    A drift of a deterministic ratio (:func:`is_exact`) always fails. A time ratio on
    these shared cores can move by more than ``tolerance`` between two runs of the same
    tree (CPU-time ratios of the quick sizes spread 1.3–2.5× over runs at load 5–9), so a
    time-ratio drift is confirmed before it fails: with ``rerun`` (benchmark name -> its
    new ratios; ``make bench-check`` re-runs the benchmark) it fails when the re-run drifts
    the same way too; without it, when the machine ran as fast as at the record (the
    calibrations taken right before that benchmark agree within ``tolerance``).
    ``strict``: every drift fails.
    """
    recorded = json.loads(recorded_path.read_text())
    latest = json.loads(latest_path.read_text())
    drifted, kept, missing, added = compare(recorded, latest, tolerance)
    sp = speeds(recorded.get("calibration", {}), latest.get("calibration", {}))
    if sp:
        print("calibration at the start (latest / recorded): "
              + ", ".join(f"{k} {v:.2f}" for k, v in sp.items()))
    verdict: dict[int, str] = {}
    timed = [d for d in drifted if not (d.exact or strict)]
    again: dict[str, dict] = {}
    if rerun is not None:
        for name in dict.fromkeys(d.benchmark for d in timed):
            print(f"  re-running {name} to confirm {sum(d.benchmark == name for d in timed)} "
                  "time-ratio drift(s) ...", flush=True)
            try:
                again[name] = rerun(name)
            except Exception as exc:  # noqa: BLE001 - then the drift stands
                print(f"  {name}: re-run failed ({exc})")
    for d in drifted:
        if d.exact or strict:
            verdict[id(d)] = "DRIFT "
        elif rerun is not None:
            value = again.get(d.benchmark, {}).get(d.ratio)
            if value is None:
                verdict[id(d)] = "DRIFT "
                continue
            c = Drift(d.benchmark, d.ratio, d.recorded, float(value)).change
            same = abs(c) > tolerance and (c > 0) == (d.change > 0)
            verdict[id(d)] = "DRIFT " if same else "noise "
            d.confirmation = float(value)  # type: ignore[attr-defined]
        else:
            verdict[id(d)] = ("DRIFT " if same_speed(recorded, latest, d.benchmark, tolerance)
                              else "drift?")
    for d in kept:
        print(f"  ok     {d}")
    for d in drifted:
        extra = ""
        if hasattr(d, "confirmation"):
            extra = f"; re-run {d.confirmation:.4g}" + (", confirmed" if verdict[id(d)] == "DRIFT "
                                                       else ", not confirmed")
        print(f"  {verdict[id(d)]} {d}{extra}")
    if any(v == "drift?" for v in verdict.values()):
        print(f"  drift? = a time ratio that moved while the machine ran more than {tolerance:.0%} "
              "faster or slower than at the record: unconfirmed (re-run, or --strict)")
    for m in missing:
        print(f"  not measured in the latest run: {m}")
    for a in added:
        print(f"  new (not recorded): {a}")
    failing = [d for d in drifted if verdict[id(d)] == "DRIFT "]
    print(f"{len(drifted)} of {len(drifted) + len(kept)} ratios drifted by more than "
          f"{tolerance:.0%}, {len(failing)} failing ({_short(recorded_path)} vs {_short(latest_path)})")
    return 1 if failing or not (drifted or kept) else 0


def record(paths: list[Path], out: Path) -> dict:
    """Write the record from one or more runs of the same tree: the last run's figures and
    tables, each ratio the median over the runs that measured it (with all the values in
    ``ratio_runs``). One run of a time ratio is a noisy sample on shared cores; the median
    of a few is what later runs are compared with."""
    docs = [json.loads(Path(p).read_text()) for p in paths]
    modes = {d.get("mode") for d in docs}
    if len(modes) > 1:
        raise SystemExit(f"runs of different modes cannot be merged: {sorted(map(str, modes))}")
    base = docs[-1]
    for name, res in base["benchmarks"].items():
        runs = {}
        for key in res["ratios"]:
            values = [d["benchmarks"][name]["ratios"][key] for d in docs
                      if key in d.get("benchmarks", {}).get(name, {}).get("ratios", {})]
            runs[key] = values
            res["ratios"][key] = float(statistics.median(values))
        res["ratio_runs"] = runs
    base["recorded_from"] = [d.get("created") for d in docs]
    out.write_text(json.dumps(base, indent=1) + "\n")
    return base


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="quick sizes (~10 min on 2 shared cores)")
    ap.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run these benchmarks")
    ap.add_argument("--skip", nargs="+", choices=sorted(BENCHMARKS), default=[],
                    help="do not run these benchmarks")
    ap.add_argument("--out", type=Path, default=LATEST, help=f"result JSON (default {LATEST.name})")
    ap.add_argument("--check", action="store_true",
                    help="compare --out (the latest run) with --recorded instead of running")
    ap.add_argument("--recorded", type=Path, default=RECORDED)
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    ap.add_argument("--no-confirm", action="store_true",
                    help="with --check: do not re-run a benchmark to confirm a time-ratio drift "
                         "(the calibration decides instead)")
    ap.add_argument("--strict", action="store_true",
                    help="with --check: time-ratio drifts fail even when the machine's "
                         "calibration differs from the record's")
    ap.add_argument("--reextract", type=Path, metavar="FILE",
                    help="recompute the ratios and tables of FILE from its raw figures (after "
                         "changing an extractor; nothing is run)")
    ap.add_argument("--record", type=Path, nargs="+", metavar="RUN",
                    help="write --recorded from these runs (the last one's tables, each ratio "
                         "the median over the runs)")
    ap.add_argument("--calibrate", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.calibrate:
        print(json.dumps(calibration()))
        return 0
    if args.record:
        doc = record(args.record, args.recorded)
        print(f"wrote {_short(args.recorded)} from {len(args.record)} run(s) "
              f"({', '.join(map(str, doc['recorded_from']))})")
        return 0
    if args.reextract:
        doc = json.loads(args.reextract.read_text())
        for name, res in doc["benchmarks"].items():
            res.update(BENCHMARKS[name].extract(res["raw"]))
        args.reextract.write_text(json.dumps(doc, indent=1) + "\n")
        return 0
    if args.check:
        latest = json.loads(args.out.read_text())
        quick = latest.get("mode") == "quick"
        logdir = args.out.parent / "logs"
        logdir.mkdir(parents=True, exist_ok=True)
        rerun = None if args.no_confirm else (lambda name: run_one(name, quick, logdir)["ratios"])
        return check(args.recorded, args.out, args.tolerance, args.strict, rerun)
    names = [n for n in (args.only or BENCHMARKS) if n not in args.skip]
    logdir = args.out.parent / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    doc = {"schema": SCHEMA, "mode": "quick" if args.quick else "full", "clock": CLOCK_ENV,
           "created": time.strftime("%Y-%m-%d %H:%M:%S %z"), "machine": machine(),
           "calibration": calibrate(), "benchmarks": {}}
    cal = doc["calibration"]
    print(f"calibration: dgemm {cal['dgemm_gflops']:.1f} GFLOP/s, copy {cal['copy_gbs']:.1f} GB/s, "
          f"SpMV {cal['spmv_gflops']:.2f} GFLOP/s", flush=True)
    t0 = time.perf_counter()
    failed = []
    for name in names:
        try:
            res = run_one(name, args.quick, logdir)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            print(f"{name}: FAILED ({exc})", flush=True)
            failed.append(name)
            continue
        doc["benchmarks"][name] = res
        print(f"{name}: {res['wall_s']:.0f} s, " + "; ".join(
            f"{k} {v:.3g}" for k, v in list(res["ratios"].items())[:4]), flush=True)
    doc["wall_s"] = time.perf_counter() - t0
    try:
        doc["machine"]["load_average_end"] = list(os.getloadavg())
    except OSError:
        pass
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out} ({doc['wall_s'] / 60:.1f} min)")
    if args.out != args.recorded and args.recorded.exists():
        check(args.recorded, args.out, args.tolerance)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
