"""3D MCV and GK up to ~1M unknowns: iterative (MINRES) against direct (CHOLMOD / SuperLU).

Unit cube, n³ × 6 tetrahedra (``skfem.MeshTet.init_tensor``), κ = C = 1, τ = 0.05 s,
T = 1 / 0 on x = 0 / 1, the other four faces insulated:

* **MCV**: RT0 × P0 (≈ 18 n³ unknowns; n = 40: 1.15M), no source. The steady state
  is Fourier's linear field T = 1 − x, q = (1, 0, 0), which RT0 × P0 reproduces
  exactly (q_h = q, T_h = the cell means): checked are the heat flows through
  x = 0 and x = 1 (exactly ∓κ · area = ∓1) and max |T_h − (1 − x_centroid)|.
* **GK**: degree 0 (BDM1 × P0, ≈ 42.6 n³ unknowns; n = 30: 1.15M), l = 2/n (l/h = 2),
  β = 2, no-slip walls, penalty η = 1, unit source (as ``bench_gk_iterative.py``).
  Checked: the steady energy balance |∫Q − ∮q·n| / ∫Q, and where the direct solve
  ran too, max |q_it − q_direct| / max |q_direct|.

Each (model, n, solver) runs in its own subprocess, so ``ru_maxrss`` is that run's
alone. Measured per run: unknowns, assembly time (``fh.assemble``), resident set
after assembly ("RSS asm") and the peak up to then ("peak asm"), and the peak of
the whole run ("peak"). Iterative runs (``femheat.solve.iterative`` defaults,
rtol 1e-10): ``solve_steady_iterative`` (MINRES iterations, time with the
preconditioner setup), ``IterativeThetaScheme`` backward Euler (Δt = 0.01 s,
θ = 1) from T = 0, q = 0: setup time, iterations and time of each step, and the
relative energy-balance error of the steps (``femheat.EnergyBalance``). Direct runs
(small n): ``fh.solve_steady`` and ``fh.ThetaScheme`` (its factorization time,
then the steps); the direct solver is femheat's default (CHOLMOD where
scikit-sparse is installed, else SuperLU). Times: process CPU time and wall time.

A child that fails (memory limit, kill) is recorded with the stage it reached (each
child's stages go live to ``<ref-dir>/<model>_<n>_<kind>.log``).
Every child runs under an address-space limit (``--mem-limit-gb``, default 18)
so that an oversized run stops with a MemoryError instead of taking the machine.

    python benchmarks/bench_3d_million.py        # MCV n = 10, 20, 30, 40; GK n = 8, 12, 20, 30 (~1 h)
    python benchmarks/bench_3d_million.py --mcv 10 20 --gk 8 12 --direct-max 12 12
    python benchmarks/bench_3d_million.py --mcv 40 --gk 30 --direct-max 0 0 --out /tmp/r.jsonl
    python benchmarks/bench_3d_million.py --report /tmp/r.jsonl      # markdown table only
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
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's femheat, also in the subprocesses
os.environ.setdefault("FEMHEAT_SYMBOLIC_CACHE", "0")

_STAGE = {"stage": "start"}


def stage(name: str) -> None:
    _STAGE["stage"] = name
    print(f"[{time.strftime('%H:%M:%S')}] stage {name}  peak {peak_gb():.2f} GB",
          file=sys.stderr, flush=True)


def rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**3


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


class Clock:
    """Process CPU and wall seconds of a block."""

    def __enter__(self):
        self.c, self.w = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu = time.process_time() - self.c
        self.wall = time.perf_counter() - self.w


def system_for(model: str, n: int):
    import numpy as np
    import skfem

    import femheat as fh

    x = np.linspace(0, 1, n + 1)
    mesh = skfem.MeshTet.init_tensor(x, x, x)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "hot": lambda x: x[0] < 1e-9, "cold": lambda x: x[0] > 1 - 1e-9,
        "walls": lambda x: (x[0] > 1e-9) & (x[0] < 1 - 1e-9)})
    bcs = {"hot": fh.Temperature(1.0), "cold": fh.Temperature(0.0), "walls": fh.Insulated()}
    if model == "mcv":
        problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.05)}, bcs,
                                 model="mcv")
    else:
        from femheat.physics.conditions import NoSlip

        problem = fh.HeatProblem(
            regions, {"domain": fh.Material(1.0, 1.0, 0.05, nonlocal_length=2.0 / n)}, bcs,
            source=lambda x, t: 1.0 + 0 * x[0], model="gk", beta=2,
            walls={"walls": NoSlip()})
    return fh.assemble(problem), mesh


def checks(model: str, system, mesh, state) -> dict:
    import numpy as np

    import femheat as fh
    from femheat.analysis.postprocess import steady_energy_balance

    flows = fh.boundary_heat_flow(system, state.flux)
    out = {"flow_hot": flows["hot"], "flow_cold": flows["cold"], "flow_walls": flows["walls"],
           "balance": steady_energy_balance(system, state)}
    if model == "mcv":
        xc = mesh.p[0, mesh.t].mean(axis=0)
        out["T_err"] = float(np.abs(state.temperature - (1.0 - xc)).max())
        out["flow_err"] = max(abs(flows["hot"] + 1.0), abs(flows["cold"] - 1.0))
    return out


def steps_run(scheme, system, n_steps: int) -> dict:
    import femheat as fh

    state = fh.initial_state(system)
    bal = fh.EnergyBalance(system, 1.0)
    bal.update(state)
    cpu, wall = [], []
    for _ in range(n_steps):
        with Clock() as c:
            state = scheme.step(state)
        cpu.append(c.cpu)
        wall.append(c.wall)
        bal.update(state)
    return {"step_cpu": cpu, "step_wall": wall, "step_balance": bal.max_relative_error}


def child(model: str, n: int, kind: str, n_steps: int, ref_dir: str) -> dict:
    import numpy as np

    import femheat as fh

    res = {"model": model, "n": n, "kind": kind}
    stage("assembly")
    with Clock() as c:
        system, mesh = system_for(model, n)
    gc.collect()
    res.update(assembly_cpu=c.cpu, assembly_wall=c.wall, unknowns=int(system.ndofs),
               flux_dofs=int(system.n_flux), cells=int(mesh.t.shape[1]),
               rss_asm=rss_gb(), peak_asm=peak_gb())
    print(f"unknowns {res['unknowns']}", file=sys.stderr, flush=True)
    ref = os.path.join(ref_dir, f"q_{model}_{n}.npy")
    if kind == "direct":
        stage("direct steady")
        with Clock() as c:
            state = fh.solve_steady(system)
        res.update(steady_cpu=c.cpu, steady_wall=c.wall, peak_steady=peak_gb())
        res.update(checks(model, system, mesh, state))
        np.save(ref, state.flux)
        del state
        gc.collect()
        stage("direct factorization")
        with Clock() as c:
            scheme = fh.ThetaScheme(system, 0.01, 1.0)
        res.update(setup_cpu=c.cpu, setup_wall=c.wall, peak_setup=peak_gb())
        stage("direct steps")
        res.update(steps_run(scheme, system, n_steps))
    else:
        from femheat.solve.iterative import IterativeThetaScheme, solve_steady_iterative

        stage("iterative steady")
        with Clock() as c:
            state, report = solve_steady_iterative(system)
        res.update(steady_cpu=c.cpu, steady_wall=c.wall, steady_its=report.iterations[0],
                   peak_steady=peak_gb())
        res.update(checks(model, system, mesh, state))
        if os.path.exists(ref):
            q = np.load(ref)
            res["rel_diff"] = float(np.abs(state.flux - q).max() / np.abs(q).max())
        del state, report
        gc.collect()
        stage("iterative theta setup")
        with Clock() as c:
            scheme = IterativeThetaScheme(system, 0.01, 1.0)
        res.update(setup_cpu=c.cpu, setup_wall=c.wall, peak_setup=peak_gb())
        stage("iterative steps")
        res.update(steps_run(scheme, system, n_steps))
        res["step_its"] = list(scheme.report.iterations)
    res["peak"] = peak_gb()
    stage("done")
    return res


def run_child(model: str, n: int, kind: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", model, str(n), kind, args.ref_dir,
           "--steps", str(args.steps), "--mem-limit-gb", str(args.mem_limit_gb)]
    t = time.perf_counter()
    log = os.path.join(args.ref_dir, f"{model}_{n}_{kind}.log")  # the stages, live
    with open(log, "w") as err:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                  timeout=args.child_timeout)
            rc, stdout = proc.returncode, proc.stdout
        except subprocess.TimeoutExpired:  # the child is killed
            rc, stdout = f"timeout {args.child_timeout:g} s", ""
    with open(log) as err:
        stderr = err.read()
    lines = stdout.strip().splitlines()
    if rc == 0 and lines:
        res = json.loads(lines[-1])
    else:
        stages = [ln for ln in stderr.splitlines() if "stage" in ln]
        tail = stderr.strip().splitlines()[-3:]
        size = [ln.split()[1] for ln in stderr.splitlines() if ln.startswith("unknowns ")]
        res = {"model": model, "n": n, "kind": kind, "failed": rc,
               **({"unknowns": int(size[0])} if size else {}),
               "stage": stages[-1] if stages else "?", "error": "; ".join(tail).replace("|", "/")}
    res["child_wall"] = time.perf_counter() - t
    return res


def fmt_table(rows: list[dict]) -> str:
    head = ("model", "n", "unknowns", "solver", "asm s (cpu/wall)", "RSS asm GB",
            "peak asm GB", "steady its", "steady s (cpu/wall)", "θ setup s (cpu/wall)",
            "BE step its", "BE step s (cpu/wall)", "peak GB", "check")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "failed" in r:
            size = f"{r['unknowns']:,}" if "unknowns" in r else "—"
            out.append(f"| {r['model'].upper()} | {r['n']} | {size} | "
                       f"{r['kind']} | **stopped** ({r['failed']}) at {r['stage']}: "
                       f"{r['error'][:160]} |" + " |" * (len(head) - 5))
            continue
        step_c = sorted(r["step_cpu"])[len(r["step_cpu"]) // 2]
        step_w = sorted(r["step_wall"])[len(r["step_wall"]) // 2]
        if r["model"] == "mcv":
            chk = f"flow err {r['flow_err']:.1e}, T err {r['T_err']:.1e}"
        else:
            chk = f"balance {r['balance']:.1e}"
            if "rel_diff" in r:
                chk += f", vs direct {r['rel_diff']:.1e}"
        chk += f", BE balance {r['step_balance']:.1e}"
        out.append("| " + " | ".join(str(v) for v in (
            r["model"].upper(), r["n"], f"{r['unknowns']:,}", r["kind"],
            f"{r['assembly_cpu']:.1f} / {r['assembly_wall']:.1f}", f"{r['rss_asm']:.2f}",
            f"{r['peak_asm']:.2f}", r.get("steady_its", "direct"),
            f"{r['steady_cpu']:.1f} / {r['steady_wall']:.1f}",
            f"{r['setup_cpu']:.1f} / {r['setup_wall']:.1f}",
            "/".join(map(str, r["step_its"])) if "step_its" in r else "direct",
            f"{step_c:.2f} / {step_w:.2f}", f"{r['peak']:.2f}", chk)) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcv", type=int, nargs="*", default=[10, 20, 30, 40],
                        help="MCV refinements n (≈ 18 n³ unknowns)")
    parser.add_argument("--gk", type=int, nargs="*", default=[8, 12, 20, 30],
                        help="GK refinements n (≈ 42 n³ unknowns)")
    parser.add_argument("--direct-max", type=int, nargs=2, default=[40, 12],
                        metavar=("MCV", "GK"), help="largest n with a direct run")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--mem-limit-gb", type=float, default=18.0)
    parser.add_argument("--child-timeout", type=float, default=3600.0,
                        help="seconds before a child is killed and recorded as stopped "
                             "(under a tight --mem-limit-gb a native allocation failure "
                             "was seen to spin instead of raising)")
    parser.add_argument("--ref-dir", default="/tmp/bench_3d_million")
    parser.add_argument("--out", help="append each run's JSON record to this file")
    parser.add_argument("--report", help="print the table of a JSON-lines file and exit")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        with open(args.report) as f:
            print(fmt_table([json.loads(ln) for ln in f if ln.strip()]))
        return
    if args.child:
        lim = int(args.mem_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        model, n, kind, ref_dir = args.child
        print(json.dumps(child(model, int(n), kind, args.steps, ref_dir)))
        return
    os.makedirs(args.ref_dir, exist_ok=True)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {platform.node()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()}", file=sys.stderr)
    rows = []
    for model, sizes, dmax in (("mcv", args.mcv, args.direct_max[0]),
                               ("gk", args.gk, args.direct_max[1])):
        for n in sizes:
            for kind in (("direct", "iterative") if n <= dmax else ("iterative",)):
                res = run_child(model, n, kind, args)
                rows.append(res)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(res) + "\n")
                print(f"{model} n={n} {kind}: "
                      + ("FAILED " + res["stage"] if "failed" in res else
                         f"{res['unknowns']:,} unknowns, peak {res['peak']:.2f} GB")
                      + f", {res['child_wall']:.0f} s", file=sys.stderr, flush=True)
    print(fmt_table(rows))


if __name__ == "__main__":
    main()
