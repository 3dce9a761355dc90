#!/usr/bin/env python
"""femheat's MCV path against a plain scikit-fem script of the same problem.

The problem (as in ``bench_mcv_step.py``): the unit square split into an n x n
tensor triangulation (2 n^2 triangles), RT0 flux x P0 temperature, kappa = C = 1,
tau = 1e-2 s, T = 1 / 0 on the left / right, insulated top and bottom, backward
Euler with dt = 1e-3 s and the temperature eliminated, i.e. one SPD solve with
K = M/dt + A + dt B^T C^-1 B per step.

femheat
    ``fh.assemble(problem)`` (assembly), ``fh.ThetaScheme(system, dt, 1)``
    (builds K and factorizes it: "factorization"), ``scheme.step`` x steps.
plain scikit-fem
    The script a scikit-fem user would write for this one problem: one
    ``BilinearForm`` dot(q, v) for the flux mass (A = Q/kappa, M = tau/kappa Q),
    div(q) s, T s, a ``FacetBasis`` load -T dot(v, n) on the left and right, the
    wall DOFs from ``get_dofs``; K as above, ``splu`` with femheat's symmetric
    SuperLU options (MMD on A + A^T, symmetric mode); a step is one right-hand
    side, one solve and the temperature update. By default it uses femheat's
    quadrature order (4, six points per triangle), so that both discretize the
    same problem identically (their energies are compared); "plain (default
    order)" is the same script with scikit-fem's default order (2, three points)
    and is timed for assembly only.

Each (n, variant) runs in its own subprocess, one after another, so that the
peak resident memory (``ru_maxrss``) is that run's alone:

* femheat with the automatic direct solver (CHOLMOD where scikit-sparse is
  installed), femheat with ``FEMHEAT_DIRECT_SOLVER=superlu``, and the plain
  script: assembly, factorization, best and median step, the total of the steps
  (default 100), peak RSS, final energy;
* "interleaved": femheat and the plain script alternated in one process --
  assembly (``--repeats`` times each, best kept; the plain script also at
  scikit-fem's default order), factorization (``--repeats`` times) and the
  steps (one femheat step, one plain step, ...): ratios that do not depend on
  the machine's load at one moment;
* "direct": femheat's eliminated operator factorized with CHOLMOD and with
  SuperLU alternately (``factorize(..., backend=...)``), best of
  ``--repeats``; three solves each (best kept), and the largest relative
  difference of the two solutions;
* "fenicsx", where an interpreter with dolfinx is found (``FEMHEAT_FENICSX_PYTHON``,
  else ``python3`` / ``/usr/bin/python3`` if it imports dolfinx; Debian 12:
  ``apt-get install python3-dolfinx``): the same problem in FEniCSx 0.5 with MUMPS
  (``benchmarks/fenicsx_mcv.py``: natural mixed form, one LU reused by every step;
  "fenicsx-ldlt": the symmetric indefinite form with MUMPS's LDLᵀ, its leanest), after
  a tiny run that fills its form-compiler cache. The report gives femheat /
  FEniCSx per step, for assembly + factorization + steps, for the whole process (wall,
  interpreter start and imports included) and for the peak memory, and the two final
  energies' relative difference (same mesh, same discretization: solver precision).

``--dim 3``: the same problem on the unit cube (n^3 cubes, 6 tetrahedra each, RT0 x P0,
insulated walls y, z = 0, 1).

Run from the repository root::

    .venv/bin/python benchmarks/bench_mcv_assembly.py                 # n = 125, 250
    .venv/bin/python benchmarks/bench_mcv_assembly.py --full          # n = 125, 250, 500
    .venv/bin/python benchmarks/bench_mcv_assembly.py --dim 3 --sizes 16 24 32
    .venv/bin/python benchmarks/bench_mcv_assembly.py --sizes 100 --steps 10 --markdown
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

# time every factorization from scratch (the best-of-N repeats would otherwise be
# answered by the shared symbolic/numeric cache of femheat.solve.factorization)
os.environ.setdefault("FEMHEAT_SYMBOLIC_CACHE", "0")

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's femheat, also in the subprocesses

KAPPA, CAPACITY, TAU, DT = 1.0, 1.0, 1e-2, 1e-3
ORDER = 4  # femheat.element.spaces.quadrature_order(0)
# femheat.solve.steady.factorize(symmetric=True) without CHOLMOD -- keep in sync.
SYM_SPLU = dict(permc_spec="MMD_AT_PLUS_A",
                options=dict(SymmetricMode=True, DiagPivotThresh=0.0))


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far [GB] (Linux: ru_maxrss in kB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        kb /= 1024
    return kb * 1024 / 1e9


def clock(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


#: 2 (the unit square) or 3 (the unit cube, ``--dim 3``; walls y, z = 0, 1)
DIM = 2


def square(n: int):
    """The n x n tensor triangulation of the unit square (n^3 cube split into 6 n^3
    tetrahedra where DIM = 3)."""
    import skfem

    x = np.linspace(0.0, 1.0, n + 1)
    return skfem.MeshTri.init_tensor(x, x) if DIM == 2 else skfem.MeshTet.init_tensor(x, x, x)


def on_walls(p):
    """y = 0, 1 (and z = 0, 1 in 3D): the insulated walls."""
    return np.any([np.isclose(p[k], 0.0) | np.isclose(p[k], 1.0)
                   for k in range(1, p.shape[0])], axis=0)


# ------------------------------------------------------------ plain scikit-fem
def plain_assemble(mesh, intorder: int | None = ORDER):
    """The plain script's assembly: bases, A, M, B, C, the boundary load, wall DOFs."""
    import skfem
    from skfem import BilinearForm, FacetBasis, LinearForm
    from skfem.helpers import div, dot

    @BilinearForm
    def flux_mass(q, v, w):
        return dot(q, v)

    @BilinearForm
    def divergence(q, s, w):
        return div(q) * s

    @BilinearForm
    def capacity(T, s, w):
        return T * s

    @LinearForm
    def temperature_load(v, w):
        return -w.T * dot(v, w.n)

    kw = {} if intorder is None else {"intorder": intorder}
    tri = mesh.dim() == 2
    qb = skfem.Basis(mesh, skfem.ElementTriRT0() if tri else skfem.ElementTetRT0(), **kw)
    tb = qb.with_element(skfem.ElementTriP0() if tri else skfem.ElementTetP0())
    Q = flux_mass.assemble(qb)
    A = Q / KAPPA
    M = (TAU / KAPPA) * Q
    del Q
    B = divergence.assemble(qb, tb)
    C = CAPACITY * capacity.assemble(tb)
    left = mesh.facets_satisfying(lambda p: np.isclose(p[0], 0.0), boundaries_only=True)
    right = mesh.facets_satisfying(lambda p: np.isclose(p[0], 1.0), boundaries_only=True)
    fb = FacetBasis(mesh, qb.elem, facets=np.concatenate([left, right]), **kw)
    T_b = np.zeros((left.size + right.size, fb.X.shape[-1]))
    T_b[: left.size] = 1.0
    f = temperature_load.assemble(fb, T=T_b)
    walls = mesh.facets_satisfying(on_walls, boundaries_only=True)
    ess = np.unique(qb.get_dofs(walls).all())
    return qb, tb, A, M, B, C, f, ess


def plain_scheme(qb, tb, A, M, B, C, f, ess):
    """Factorize the plain script's K; return ``step(q, T) -> (q, T)`` and the energy weights."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    free = np.setdiff1d(np.arange(qb.N), ess)
    Cinv = sp.diags(1.0 / C.diagonal())
    K = (M / DT + A + DT * (B.T @ Cinv @ B)).tocsr()[free][:, free]
    lu = splu(sp.csc_matrix(K), **SYM_SPLU)
    del K
    R = (M / DT).tocsr()[free]
    G = B.T.tocsr()[free]
    H = (Cinv @ B).tocsr()
    f_free = f[free]

    def step(q, T):  # q_D = 0 on the walls, no source
        q1 = np.zeros_like(q)
        q1[free] = lu.solve(R @ q + G @ T + f_free)
        return q1, T - DT * (H @ q1)

    return step, C.diagonal()


def plain_run(n: int, steps: int) -> dict:
    res: dict = {"variant": "plain", "n": n}
    mesh = square(n)
    res["assembly_s"], parts = clock(lambda: plain_assemble(mesh))
    qb, tb = parts[:2]
    res["unknowns"] = int(qb.N + tb.N)
    res["rss_after_assembly_gb"] = peak_rss_gb()
    res["factorization_s"], (step, weights) = clock(lambda: plain_scheme(*parts))
    del parts
    q, T = np.zeros(qb.N), np.zeros(tb.N)
    times = []
    for _ in range(steps):
        t, (q, T) = clock(lambda: step(q, T))
        times.append(t)
    res["step_best_s"], res["step_median_s"] = float(np.min(times)), float(np.median(times))
    res["steps_total_s"] = float(np.sum(times))
    res["energy"] = float(weights @ T)
    res["peak_rss_gb"] = peak_rss_gb()
    return res


# ------------------------------------------------------------------- femheat
def femheat_problem(mesh):
    import femheat as fh

    rm = fh.RegionMesh.from_skfem(mesh, boundaries={
        "left": lambda p: np.isclose(p[0], 0.0),
        "right": lambda p: np.isclose(p[0], 1.0),
        "walls": on_walls,
    })
    return fh.HeatProblem(
        rm, materials={"domain": fh.Material(KAPPA, CAPACITY, TAU)},
        boundary_conditions={"left": fh.Temperature(1.0), "right": fh.Temperature(0.0),
                             "walls": fh.Insulated()},
        model="mcv")


def femheat_run(n: int, steps: int) -> dict:
    import femheat as fh

    res: dict = {"variant": "femheat", "n": n,
                 "solver": fh.solve.steady.direct_solver()}
    if res["solver"] == "superlu":
        res["variant"] = "femheat (SuperLU)" if os.environ.get(
            "FEMHEAT_DIRECT_SOLVER") else "femheat"
    problem = femheat_problem(square(n))
    res["assembly_s"], system = clock(lambda: fh.assemble(problem))
    res["unknowns"] = int(system.ndofs)
    res["rss_after_assembly_gb"] = peak_rss_gb()
    res["factorization_s"], scheme = clock(lambda: fh.ThetaScheme(system, DT, theta=1.0))
    state = fh.State(0.0, np.zeros(system.n_temperature), np.zeros(system.n_flux))
    times = []
    for k in range(steps):
        t, state = clock(lambda: scheme.step(state))
        state.time = (k + 1) * DT
        times.append(t)
    res["step_best_s"], res["step_median_s"] = float(np.min(times)), float(np.median(times))
    res["steps_total_s"] = float(np.sum(times))
    res["energy"] = float(system.capacity.diagonal() @ state.temperature)
    res["peak_rss_gb"] = peak_rss_gb()
    return res


# ------------------------------------------------- interleaved, in one process
def interleaved(n: int, repeats: int, steps: int) -> dict:
    """femheat and the plain script alternated in one process: assembly, factorization, steps."""
    import femheat as fh

    mesh = square(n)
    problem = femheat_problem(mesh)
    runs = {"femheat": lambda: fh.assemble(problem),
            "plain": lambda: plain_assemble(mesh),
            "plain_default_order": lambda: plain_assemble(mesh, None)}
    times: dict = {k: [] for k in runs}
    for _ in range(repeats):
        for k, fn in runs.items():
            t, out = clock(fn)
            times[k].append(t)
            del out
            gc.collect()
    best = {f"{k}_assembly_s": float(np.min(v)) for k, v in times.items()}
    system, parts = fh.assemble(problem), plain_assemble(mesh)
    fact: dict = {"femheat": [], "plain": []}
    for _ in range(repeats):
        scheme = step = None
        gc.collect()
        t, scheme = clock(lambda: fh.ThetaScheme(system, DT, theta=1.0))
        fact["femheat"].append(t)
        t, (step, weights) = clock(lambda: plain_scheme(*parts))
        fact["plain"].append(t)
    best.update({f"{k}_factorization_s": float(np.min(v)) for k, v in fact.items()})
    state = fh.State(0.0, np.zeros(system.n_temperature), np.zeros(system.n_flux))
    q, T = np.zeros(system.n_flux), np.zeros(system.n_temperature)
    st: dict = {"femheat": [], "plain": []}
    for k in range(steps):
        t, state = clock(lambda: scheme.step(state))
        state.time = (k + 1) * DT
        st["femheat"].append(t)
        t, (q, T) = clock(lambda: step(q, T))
        st["plain"].append(t)
    for k, v in st.items():
        best[f"{k}_step_s"], best[f"{k}_step_median_s"] = float(np.min(v)), float(np.median(v))
        best[f"{k}_steps_total_s"] = float(np.sum(v))
    e_fh = float(system.capacity.diagonal() @ state.temperature)
    return {"variant": "interleaved", "n": n, "solver": fh.solve.steady.direct_solver(), **best,
            "energy_rel_diff": abs(e_fh - float(weights @ T)) / abs(e_fh)}


def direct_ratio(n: int, repeats: int) -> dict:
    import scipy.sparse as sp

    import femheat as fh
    from femheat.solve.steady import direct_solver, factorize

    system = fh.assemble(femheat_problem(square(n)))
    free = system.free_dofs
    M, A, B = system.inertia, system.resistance, system.divergence
    K = (M / DT + A + DT * (B.T @ system.capacity_inverse @ B)).tocsr()[free][:, free].tocsc()
    del system, M, A, B
    gc.collect()
    res: dict = {"variant": "direct", "n": n, "flux_unknowns": int(K.shape[0]),
                 "nnz": int(K.nnz)}
    try:
        direct_solver("cholmod")
    except ValueError as exc:
        res["skipped"] = str(exc)
        return res
    b = np.random.default_rng(1).standard_normal(K.shape[0])
    times: dict = {"cholmod": [], "superlu": []}
    solves: dict = {"cholmod": [], "superlu": []}
    x = {}
    for _ in range(repeats):
        for backend in times:
            t, solve = clock(lambda: factorize(K, True, backend=backend))
            times[backend].append(t)
            for _ in range(3):
                ts, x[backend] = clock(lambda: solve(b))
                solves[backend].append(ts)
            del solve
            gc.collect()
    for backend in times:
        res[f"{backend}_factorization_s"] = float(np.min(times[backend]))
        res[f"{backend}_solve_s"] = float(np.min(solves[backend]))
    res["factorization_ratio"] = res["superlu_factorization_s"] / res["cholmod_factorization_s"]
    res["solve_ratio"] = res["superlu_solve_s"] / res["cholmod_solve_s"]
    res["max_rel_diff"] = float(np.max(np.abs(x["cholmod"] - x["superlu"]))
                                / np.max(np.abs(x["superlu"])))
    return res


# ---------------------------------------------------------------------- driver
def fenicsx_python() -> str | None:
    """An interpreter that imports dolfinx, or None."""
    candidates = [os.environ.get("FEMHEAT_FENICSX_PYTHON"), "python3", "/usr/bin/python3"]
    for exe in filter(None, candidates):
        try:
            ok = subprocess.run([exe, "-c", "import dolfinx"], capture_output=True,
                                timeout=120).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return exe
    return None


FENICSX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fenicsx_mcv.py")


def worker(kind: str, n: int, steps: int, repeats: int) -> dict:
    if kind in ("femheat", "femheat-superlu"):
        return femheat_run(n, steps)
    if kind == "plain":
        return plain_run(n, steps)
    if kind == "interleaved":
        return interleaved(n, repeats, steps)
    return direct_ratio(n, repeats)


def spawn(kind: str, n: int, args) -> dict | None:
    env = dict(os.environ)
    if kind == "femheat-superlu":
        env["FEMHEAT_DIRECT_SOLVER"] = "superlu"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, str(n),
           "--steps", str(args.steps), "--repeats", str(args.repeats), "--dim", str(DIM)]
    if kind.startswith("fenicsx"):  # the same cells, through a file
        mesh = square(n)
        path = os.path.join(tempfile.gettempdir(), f"femheat-bench-mesh-{os.getpid()}.npz")
        np.savez(path, p=mesh.p, t=mesh.t)
        cmd = [args.fenicsx, FENICSX, str(n), str(args.steps), "--mesh", path]
        if kind == "fenicsx-ldlt":
            cmd.append("--symmetric")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    finally:
        if kind.startswith("fenicsx"):
            os.remove(path)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        print(f"n = {n}, {kind}: worker failed (exit {proc.returncode})\n{proc.stderr[-3000:]}",
              file=sys.stderr, flush=True)
        return None
    r = json.loads(line[-1][len("RESULT "):])
    r["wall_s"] = time.perf_counter() - t0
    return r


def fmt(v, spec):
    return "-" if v is None else spec.format(v)


def table(head, rows, markdown):
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    out = ["  ".join(h.rjust(w[i]) for i, h in enumerate(head))]
    return "\n".join(out + ["  ".join(r[i].rjust(w[i]) for i in range(len(head))) for r in rows])


def report(results, steps, markdown):
    runs = [r for r in results if r["variant"] not in ("interleaved", "direct")]
    plain = {r["n"]: r for r in runs if r["variant"] == "plain"}
    head = ["n", "variant", "solver", "unknowns", "assembly s", "factor. s", "step ms",
            "step med ms", f"{steps} steps s", "peak RSS GB", "asm / plain", "fact. / plain",
            "step / plain", "memory / plain", "energy rel. diff"]
    rows = []
    for r in runs:
        p = plain.get(r["n"])

        def ratio(key):
            return fmt(r[key] / p[key], "{:.2f}") if p and r is not p else "-"

        diff = (abs(r["energy"] - p["energy"]) / abs(p["energy"])) if p and r is not p else None
        rows.append([str(r["n"]), r["variant"], r.get("solver", "superlu"), f"{r['unknowns']:,}",
                     f"{r['assembly_s']:.3g}", f"{r['factorization_s']:.3g}",
                     f"{1e3 * r['step_best_s']:.3g}", f"{1e3 * r['step_median_s']:.3g}",
                     f"{r['steps_total_s']:.3g}", f"{r['peak_rss_gb']:.2f}",
                     ratio("assembly_s"), ratio("factorization_s"), ratio("step_best_s"),
                     ratio("peak_rss_gb"), fmt(diff, "{:.1e}")])
    print(f"\nfemheat vs the plain scikit-fem script (separate processes; {steps} steps)\n")
    print(table(head, rows, markdown))
    femheat = {r["n"]: r for r in runs if r["variant"] == "femheat"}
    pairs = [(femheat[r["n"]], r) for r in runs
             if r["variant"].startswith("fenicsx") and r["n"] in femheat]
    if pairs:
        print("\nfemheat against FEniCSx (separate processes; ratios femheat / FEniCSx, "
              "below 1 = femheat faster or smaller)\n")
        rows = []
        for f, x in pairs:
            work = [r["assembly_s"] + r["factorization_s"] + r["steps_total_s"] for r in (f, x)]
            rows.append([str(f["n"]), x["solver"], f"{f['unknowns']:,}", f"{x['unknowns']:,}",
                         f"{f['assembly_s'] / x['assembly_s']:.2f}",
                         f"{f['factorization_s'] / x['factorization_s']:.2f}",
                         f"{f['step_best_s'] / x['step_best_s']:.3f}",
                         f"{f['step_median_s'] / x['step_median_s']:.3f}",
                         f"{work[0]:.3g} / {work[1]:.3g} = {work[0] / work[1]:.3f}",
                         f"{f['wall_s']:.3g} / {x['wall_s']:.3g} = {f['wall_s'] / x['wall_s']:.3f}",
                         f"{f['peak_rss_gb']:.2f} / {x['peak_rss_gb']:.2f} = "
                         f"{f['peak_rss_gb'] / x['peak_rss_gb']:.2f}",
                         f"{abs(f['energy'] - x['energy']) / abs(x['energy']):.1e}"])
        print(table(["n", "FEniCSx solver", "femheat unk.", "FEniCSx unk.", "assembly",
                     "factorization",
                     "step (best)", "step (median)", "asm. + fact. + steps s",
                     "process wall s", "peak RSS GB", "energy rel. diff"], rows, markdown))
    inter = [r for r in results if r["variant"] == "interleaved"]
    if inter:
        print("\nfemheat and the plain script alternated in one process (best of the repeats; "
              "steps: best, median and total of the alternated steps)\n")
        rows = []
        for r in inter:
            rows.append([str(r["n"]), r["solver"]] + [
                f"{r[f'femheat_{k}']:.3g} / {r[f'plain_{k}']:.3g} = "
                f"{r[f'femheat_{k}'] / r[f'plain_{k}']:.2f}"
                for k in ("assembly_s", "factorization_s", "step_s", "step_median_s",
                          "steps_total_s")] + [
                f"{r['plain_default_order_assembly_s']:.3g}",
                f"{r['femheat_assembly_s'] / r['plain_default_order_assembly_s']:.2f}",
                f"{r['energy_rel_diff']:.1e}"])
        print(table(["n", "solver", "assembly s (femheat / plain)", "factorization s",
                     "step s (best)", "step s (median)", "all steps s",
                     "plain asm. default order s", "asm. femheat / default order",
                     "energy rel. diff"], rows, markdown))
    direct = [r for r in results if r["variant"] == "direct"]
    if direct:
        print("\nflux operator K: CHOLMOD vs SuperLU, alternated in one process "
              "(best of the repeats)\n")
        rows = []
        for r in direct:
            if "skipped" in r:
                rows.append([str(r["n"]), f"{r['flux_unknowns']:,}", f"{r['nnz']:,}"]
                            + ["-"] * 6 + [f"skipped: {r['skipped'][:60]}"])
                continue
            rows.append([str(r["n"]), f"{r['flux_unknowns']:,}", f"{r['nnz']:,}",
                         f"{r['cholmod_factorization_s']:.3g}",
                         f"{r['superlu_factorization_s']:.3g}",
                         f"{r['factorization_ratio']:.2f}",
                         f"{1e3 * r['cholmod_solve_s']:.3g}", f"{1e3 * r['superlu_solve_s']:.3g}",
                         f"{r['solve_ratio']:.2f}", f"{r['max_rel_diff']:.1e}"])
        print(table(["n", "flux unknowns", "nnz(K)", "CHOLMOD fact. s", "SuperLU fact. s",
                     "fact. SuperLU / CHOLMOD", "CHOLMOD solve ms", "SuperLU solve ms",
                     "solve SuperLU / CHOLMOD", "max rel. diff"], rows, markdown))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", help="n of the n x n meshes "
                    "(default 125 250; with --full 125 250 500)")
    ap.add_argument("--full", action="store_true", help="include n = 500 (1.25M unknowns)")
    ap.add_argument("--steps", type=int, default=100, help="time steps per run (default 100)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="alternations for the interleaved and direct-solver ratios (default 3)")
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["femheat", "femheat-superlu", "plain", "interleaved", "direct",
                             "fenicsx", "fenicsx-ldlt"],
                    help="runs to leave out")
    ap.add_argument("--dim", type=int, default=2, choices=(2, 3),
                    help="2: the unit square (default); 3: the unit cube, n^3 x 6 tetrahedra")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global DIM
    DIM = args.dim
    args.steps = max(3, args.steps)
    args.repeats = max(1, args.repeats)
    if args.worker:
        res = worker(args.worker[0], int(args.worker[1]), args.steps, args.repeats)
        print("RESULT " + json.dumps(res), flush=True)
        return 0
    sizes = args.sizes or ([125, 250, 500] if args.full else [125, 250])

    import scipy
    import skfem

    import femheat.solve.steady as steady

    info = (f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-fem {skfem.__version__}, "
            f"direct solver {steady.direct_solver()}, dim {DIM}, dt = {DT:g} s, theta = 1, "
            f"steps = {args.steps}, repeats = {args.repeats}")
    print(info, flush=True)
    results = []
    kinds = [k for k in ("interleaved", "femheat", "femheat-superlu", "plain", "direct",
                         "fenicsx", "fenicsx-ldlt") if k not in args.skip]
    wanted = [k for k in kinds if k.startswith("fenicsx")]
    args.fenicsx = fenicsx_python() if wanted else None
    if wanted and args.fenicsx is None:
        print("FEniCSx: no interpreter imports dolfinx (set FEMHEAT_FENICSX_PYTHON); "
              "skipped", flush=True)
        kinds = [k for k in kinds if k not in wanted]
    elif args.fenicsx:  # fill the form compiler's cache: the timed runs compile nothing
        tiny = os.path.join(tempfile.gettempdir(), f"femheat-bench-tiny-{os.getpid()}.npz")
        mesh = square(2)
        np.savez(tiny, p=mesh.p, t=mesh.t)
        for extra in ([], ["--symmetric"]):
            subprocess.run([args.fenicsx, FENICSX, "2", "2", "--mesh", tiny, *extra],
                           capture_output=True)
        os.remove(tiny)
        info += f", FEniCSx via {args.fenicsx}"
        print(f"FEniCSx via {args.fenicsx}", flush=True)
    for n in sizes:
        for kind in kinds:
            r = spawn(kind, n, args)
            if r is None:
                continue
            results.append(r)
            if "peak_rss_gb" in r:
                print(f"n = {n}, {r['variant']}: assembly {r['assembly_s']:.2f} s, factorization "
                      f"{r['factorization_s']:.2f} s, step {1e3 * r['step_best_s']:.1f} ms, "
                      f"peak RSS {r['peak_rss_gb']:.2f} GB ({r['wall_s']:.0f} s wall)", flush=True)
            else:
                print(f"n = {n}, {kind}: done ({r['wall_s']:.0f} s wall)", flush=True)
    report(results, args.steps, args.markdown)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"info": info, "rows": results}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
