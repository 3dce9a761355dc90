"""Fit of l and tau to the flash data (cases/flash_gk.toml): wall time and forward solves,
against the same fit whose forward model rebuilds the mesh (gmsh) at every evaluation.

The parameters change the assembled operators, so both assemble per evaluation; the
reuse measured here is the mesh (``CaseForward`` parses with the shared mesh).

Run:  python benchmarks/bench_fit.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> dict:
    from femheat.inverse import read_data
    from femheat.inverse.forward import CaseForward
    from femheat.inverse.report import fit_case

    data = read_data(ROOT / "cases" / "data" / "flash_gk.csv", "flash")
    from femheat.inverse import forward as forward_module

    forward_module._TRACES.clear()
    t0 = time.perf_counter()
    result, fwd = fit_case(ROOT / "cases" / "flash_gk.toml", [data])
    shared = time.perf_counter() - t0
    original = CaseForward.case

    def rebuild(self, p):  # no shared mesh: build it again per evaluation
        mesh, self.mesh = self.mesh, None
        try:
            return original(self, p)
        finally:
            self.mesh = mesh

    CaseForward.case = rebuild
    from femheat.inverse import forward as forward_module

    forward_module._TRACES.clear()  # solve every point again (the process's trace cache)
    try:
        t0 = time.perf_counter()
        result2, _ = fit_case(ROOT / "cases" / "flash_gk.toml", [data])
        rebuilt = time.perf_counter() - t0
    finally:
        CaseForward.case = original
    assert np.allclose(result.values, result2.values, rtol=1e-8)
    out = {"forward_solves": result.forward_solves, "fit_s": shared,
           "fit_rebuild_mesh_s": rebuilt, "ratio": rebuilt / shared}
    for k, v in out.items():
        print(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}")
    return out


if __name__ == "__main__":
    main()
