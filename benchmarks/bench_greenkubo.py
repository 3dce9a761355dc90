"""Chunked FFT correlation of binned flux series: time and peak memory (issue 13).

Correlates m bins × N samples (all m² pairs, L lags) with
:func:`femheat.analysis.correlation.block_correlations`, the series held in a disk memmap so
that the resident memory is the estimator's own: segment spectra (budget ``--memory-mb``)
plus the accumulated cross-spectrum 16 m² (n_fft/2+1) bytes. Prints the wall time, the
peak resident memory growth (``ru_maxrss``) and the cost per sample·pair.

    python benchmarks/bench_greenkubo.py --bins 256 --samples 1000000 --lags 200
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import numpy as np

from femheat.analysis.correlation import block_correlations


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bins", type=int, default=256)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--lags", type=int, default=200)
    ap.add_argument("--blocks", type=int, default=16)
    ap.add_argument("--memory-mb", type=float, default=128.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "flux.f64")
        x = np.memmap(path, dtype=np.float64, mode="w+", shape=(a.samples, a.bins))
        rng = np.random.default_rng(0)
        for s in range(0, a.samples, 65536):
            x[s:s + 65536] = rng.standard_normal((min(65536, a.samples - s), a.bins))
        x.flush()
        del x
        x = np.memmap(path, dtype=np.float64, mode="r", shape=(a.samples, a.bins))
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        acc = np.zeros((a.lags + 1, a.bins, a.bins))
        for bc in block_correlations(x, a.lags, n_blocks=a.blocks, memory_bytes=a.memory_mb * 1e6):
            acc += bc.sums
        dt = time.perf_counter() - t0
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data_mb = a.samples * a.bins * 8 / 1e6
    print(f"bins={a.bins} samples={a.samples} lags={a.lags} blocks={a.blocks} (series {data_mb:.0f} MB on disk)")
    print(f"time {dt:.2f} s  ({dt / (a.samples * a.bins ** 2) * 1e9:.3f} ns per sample·pair)")
    print(f"peak RSS growth {rss1 - rss0:.0f} MB (peak RSS {rss1:.0f} MB; output (L+1)·m² = "
          f"{(a.lags + 1) * a.bins ** 2 * 8 / 1e6:.0f} MB ×2 incl. the benchmark's accumulator)")


if __name__ == "__main__":
    main()
