"""Hierarchical matrix for a long-range (power-law) kernel on a 2D triangle mesh: build, memory,
apply, accuracy and scaling, with the ratio against the dense oracle.

For each size N (cells of ``skfem.MeshTri.init_tensor`` on the unit square, k x k squares
cut in two, N = 2k²), one subprocess (so peak memory, ``ru_maxrss``, belongs to it alone)
builds ``femheat.kernels.hmatrix.HMatrix`` for the cell-pair matrix

    W[K, K'] = |K| |K'| g(|x_K - x_K'|),   g(r) = c/(2π) (r² + c²)^(-3/2)

(the 2D-normalized power law p = 3 with core c, ∫ g dA = 1; tail mass beyond r is
c/sqrt(r² + c²): long range, no useful cut-off), with the cell centroids as points and the
circumradii as ``radii``. ``--entries quadrature`` uses the true cell-pair integrals of
``femheat.kernels.quadrature.CellPairQuadrature`` with ``PowerLawKernel(c, 3, dim=2)``
instead (slower entries; same H-matrix).

Measured per size: build time (best of ``--build-repeats``) split into cluster/block tree, near field (dense leaf
blocks) and far field (batched ACA + recompression); storage (``HMatrix.nbytes``) and peak
RSS; apply time (best of ``--repeats`` products H @ v); accuracy on ``--sample-rows``
random rows, whose exact values W[i, :] @ v are computed directly; the growth per
doubling of N. At the largest size whose dense matrix fits in memory (``--dense-max``,
default: 8 N² <= 40 % of the available memory) a separate subprocess builds the dense
oracle and reports its build/apply time, its memory and the full relative error
||H v - W v|| / ||W v||.

    python benchmarks/bench_hmatrix.py                 # N = 25k, 50k, 100k, 200k
    python benchmarks/bench_hmatrix.py --quick         # N = 25k, 50k
    python benchmarks/bench_hmatrix.py --sizes 12500 25000 --tol 1e-8 --json /tmp/h.json
    python benchmarks/bench_hmatrix.py --build-repeats 3 --markdown   # the README table
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

# run_all.py (make bench) sets FEMHEAT_BENCH_CLOCK=cpu and one BLAS thread: process CPU time
# is what the code costs whatever else shares the cores; run by hand, wall time
_clock = time.process_time if os.environ.get("FEMHEAT_BENCH_CLOCK") == "cpu" else time.perf_counter


def mesh_data(ncells: int):
    """Centroids, areas, circumradii and the skfem mesh with about ``ncells`` triangles."""
    import numpy as np
    import skfem

    k = max(1, round(math.sqrt(ncells / 2)))
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, k + 1), np.linspace(0, 1, k + 1))
    v = mesh.p[:, mesh.t]                                   # (2, 3, N)
    cen = v.mean(axis=1).T                                   # (N, 2)
    e1, e2 = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
    area = 0.5 * np.abs(e1[0] * e2[1] - e1[1] * e2[0])
    radius = np.sqrt(((v - cen.T[:, None, :]) ** 2).sum(axis=0)).max(axis=0)
    return mesh, np.ascontiguousarray(cen), area, radius


def point_pair_entries(cen, area, c: float):
    """Block and pair entry functions of W[K, K'] = |K||K'| g(|x_K - x_K'|)."""
    import numpy as np

    x0, x1 = np.ascontiguousarray(cen[:, 0]), np.ascontiguousarray(cen[:, 1])
    pref = c / (2 * np.pi)
    c2 = c * c

    def pairs(i, j):
        d0 = x0[i] - x0[j]
        d1 = x1[i] - x1[j]
        r2 = d0 * d0 + d1 * d1 + c2
        return (pref * area[i] * area[j]) / (r2 * np.sqrt(r2))

    def block(i, j):
        d0 = x0[i][:, None] - x0[j][None, :]
        d1 = x1[i][:, None] - x1[j][None, :]
        r2 = d0 * d0 + d1 * d1 + c2
        return (pref * area[i][:, None] * area[j][None, :]) / (r2 * np.sqrt(r2))

    return block, pairs


def make_entries(kind: str, ncells: int, c: float, tol: float):
    mesh, cen, area, radius = mesh_data(ncells)
    if kind == "quadrature":
        from femheat.kernels.functions import PowerLawKernel
        from femheat.kernels.quadrature import CellPairQuadrature

        q = CellPairQuadrature(mesh.p, mesh.t, PowerLawKernel(c, 3.0, dim=2), tol=min(tol, 1e-6) * 0.1)
        return q.centroids, q.radius, q.entries, q.pair_values
    block, pairs = point_pair_entries(cen, area, c)
    return cen, radius, block, pairs


def one(n: int, args) -> dict:
    import numpy as np

    from femheat.kernels.hmatrix import HMatrix

    pts, radii, block, pairs = make_entries(args.entries, n, args.core, args.tol)
    n = len(pts)
    best = best_cpu = None
    for _ in range(args.build_repeats):   # best of a few builds: the cores are shared
        H = None
        t, c = _clock(), time.process_time()
        H = HMatrix(pts, block, tol=args.tol, radii=radii, pair_entries=pairs,
                    leaf_size=args.leaf_size, eta=args.eta, precision=args.precision, threads=args.threads)
        build, cpu = _clock() - t, time.process_time() - c
        if best is None or build < best[0]:
            best = (build, H.stats())
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    build, s = best
    rng = np.random.default_rng(0)
    v = rng.standard_normal(n)
    times = []
    for _ in range(args.repeats):
        t = _clock()
        y = H.matvec(v)
        times.append(_clock() - t)
    rows = np.sort(rng.choice(n, size=min(args.sample_rows, n), replace=False))
    exact = np.concatenate([block(rows[i:i + 10], np.arange(n)) @ v for i in range(0, len(rows), 10)])
    err = float(np.linalg.norm(y[rows] - exact) / np.linalg.norm(exact))
    res = {"N": n, "build_s": build, "build_cpu_s": best_cpu, "tree_s": s["time_tree"], "near_s": s["time_near"],
           "far_s": s["time_far"], "nbytes": s["nbytes"], "nbytes_near": s["nbytes_near"],
           "nbytes_far": s["nbytes_far"], "apply_s": min(times), "apply_median_s": float(np.median(times)),
           "rel_error_rows": err, "rank_mean": s["rank_mean"], "rank_max": s["rank_max"],
           "aca_rank_mean": s["aca_rank_mean"], "near_blocks": s["near_blocks"],
           "far_blocks": s["far_blocks"], "unconverged": s["unconverged"],
           "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if args.dense:
        idx = np.arange(n)
        t = _clock()
        A = np.empty((n, n))
        step = max(1, 2_000_000 // n)
        for i in range(0, n, step):
            A[i:i + step] = block(idx[i:i + step], idx)
        res["dense_build_s"] = _clock() - t
        res["dense_nbytes"] = A.nbytes
        dtimes = []
        for _ in range(args.repeats):
            t = _clock()
            ya = A @ v
            dtimes.append(_clock() - t)
        res["dense_apply_s"] = min(dtimes)
        res["rel_error_full"] = float(np.linalg.norm(y - ya) / np.linalg.norm(ya))
        res["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return res


def available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def run_child(n: int, args, dense: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", str(n), "--tol", str(args.tol), "--core", str(args.core),
           "--leaf-size", str(args.leaf_size), "--eta", str(args.eta), "--repeats", str(args.repeats),
           "--sample-rows", str(args.sample_rows), "--entries", args.entries,
           "--precision", args.precision, "--threads", str(args.threads),
           "--build-repeats", str(args.build_repeats)]
    if dense:
        cmd.append("--dense")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: list[dict], markdown: bool) -> str:
    head = ["N", "build s", "tree", "near", "far", "build CPU s", "MB", "peak RSS MB", "apply s",
            "rel. error", "rank mean/max", "build x", "CPU x", "MB x", "apply x"]
    rows = []
    prev = None
    for r in results:
        def growth(key):
            if prev is None:
                return "-"
            # growth per doubling of N (sizes need not be exact doublings)
            return f"{(r[key] / prev[key]) ** (math.log(2) / math.log(r['N'] / prev['N'])):.2f}"
        rows.append([f"{r['N']}", f"{r['build_s']:.1f}", f"{r['tree_s']:.2f}", f"{r['near_s']:.1f}",
                     f"{r['far_s']:.1f}", f"{r['build_cpu_s']:.1f}", f"{r['nbytes'] / 1e6:.0f}",
                     f"{r['peak_rss'] / 1e6:.0f}",
                     f"{r['apply_s']:.3f}", f"{r['rel_error_rows']:.1e}",
                     f"{r['rank_mean']:.1f}/{r['rank_max']}",
                     growth("build_s"), growth("build_cpu_s"), growth("nbytes"), growth("apply_s")])
        prev = r
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        w = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
        lines = ["  ".join(h.rjust(w[i]) for i, h in enumerate(head))]
        lines += ["  ".join(c.rjust(w[i]) for i, c in enumerate(row)) for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 200_000])
    ap.add_argument("--quick", action="store_true", help="N = 25k and 50k only")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--core", type=float, default=0.01, help="power-law core radius c (domain = unit square)")
    ap.add_argument("--leaf-size", type=int, default=64)
    ap.add_argument("--eta", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=5, help="timed products per size (best reported)")
    ap.add_argument("--build-repeats", type=int, default=1, help="builds per size (best reported)")
    ap.add_argument("--sample-rows", type=int, default=100)
    ap.add_argument("--entries", choices=("points", "quadrature"), default="points")
    ap.add_argument("--precision", choices=("auto", "single", "double"), default="auto")
    ap.add_argument("--threads", type=int, default=2, help="build threads of HMatrix")
    ap.add_argument("--dense-max", type=int, default=None,
                    help="largest N for the dense oracle (default: 8 N^2 <= 40%% of available memory; 0: none)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dense", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.child, args)))
        return 0
    sizes = [25_000, 50_000] if args.quick else args.sizes
    dense_max = args.dense_max
    if dense_max is None:
        dense_max = int(math.sqrt(0.4 * available_memory() / 8))
    results = []
    for n in sizes:
        r = run_child(n, args, dense=False)
        results.append(r)
        print(f"N = {r['N']}: build {r['build_s']:.1f} s, {r['nbytes'] / 1e6:.0f} MB, apply {r['apply_s']:.3f} s, "
              f"rel. error {r['rel_error_rows']:.1e}", file=sys.stderr, flush=True)
    print(f"power-law kernel p = 3, c = {args.core}, tol = {args.tol:g}, leaf_size = {args.leaf_size}, "
          f"eta = {args.eta}, entries = {args.entries}, precision = {args.precision}, "
          f"threads = {args.threads}; {os.cpu_count()} CPUs visible")
    print("growth columns: factor per doubling of N (O(N log N) gives about 2.1-2.2); wall times are "
          "noisy on shared cores, CPU time (all threads) measures the work")
    print(table(results, args.markdown))
    if len(results) > 2:
        import numpy as np

        logn = np.log([r["N"] for r in results])
        fit = {key: 2 ** np.polyfit(logn, np.log([r[key] for r in results]), 1)[0]
               for key in ("build_s", "build_cpu_s", "nbytes", "apply_s")}
        print(f"least-squares growth per doubling over all sizes: build {fit['build_s']:.2f} "
              f"(CPU time {fit['build_cpu_s']:.2f}), memory {fit['nbytes']:.2f}, apply {fit['apply_s']:.2f}")
    fits = [r for r in results if r["N"] <= dense_max]
    oracle = None
    if fits:
        n = max(fits, key=lambda r: r["N"])["N"]
        oracle = run_child(n, args, dense=True)
        print(f"\ndense oracle at N = {oracle['N']} ({oracle['dense_nbytes'] / 1e9:.2f} GB): "
              f"build {oracle['dense_build_s']:.1f} s, apply {oracle['dense_apply_s']:.3f} s; "
              f"H-matrix build {oracle['build_s']:.1f} s, apply {oracle['apply_s']:.3f} s, "
              f"{oracle['nbytes'] / 1e6:.0f} MB")
        print(f"ratios H/dense: build {oracle['build_s'] / oracle['dense_build_s']:.2f}, "
              f"apply {oracle['apply_s'] / oracle['dense_apply_s']:.3f}, "
              f"memory {oracle['nbytes'] / oracle['dense_nbytes']:.3f}; "
              f"full relative error ||Hv - Wv|| / ||Wv|| = {oracle['rel_error_full']:.2e}")
    else:
        print(f"\nno size fits the dense oracle (dense-max = {dense_max})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results, "oracle": oracle}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
