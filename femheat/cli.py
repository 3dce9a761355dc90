"""Command line: ``femheat run CASE [-o OUT]``.

The only module that parses arguments, prints and exits.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import FemheatInputError, SolverError

__all__ = ["main"]


def _run(args: argparse.Namespace) -> int:
    from .io.case import load_case
    from .pipeline.runner import run_case

    case = load_case(args.case)
    out = Path(args.output) if args.output else Path("results") / Path(args.case).stem
    bar = None
    if not args.quiet:
        try:
            from tqdm import tqdm

            bar = tqdm(total=0, unit="step", desc=case.title, leave=True)
        except ImportError:  # tqdm is optional
            pass

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        summary = run_case(case, out, progress)
    finally:
        if bar is not None:
            bar.close()
    if summary.get("analysis") == "homogenization":
        _print_homogenization(summary)
        print(f"results in {out}/ (summary.json, fields.pvd, ...)")
        return 0
    print(f"{case.title}: {summary['dofs']['total']} DOFs, "
          f"{summary['wall_time']['total_s']:.2f} s, energy balance error "
          f"{summary['energy_balance_relative_error']:.2e}")
    if "newton" in summary:
        n = summary["newton"]
        print(f"  Newton: converged in {n['iterations']} iterations, final relative "
              f"residual {n['residuals'][-1]:.2e}")
    for name, value in summary["heat_flow"].items():
        print(f"  heat flow out of {name:>12s}: {value: .6e}")
    for name, rep in summary["interfaces"].items():
        a, b = rep["sides"]
        print(f"  interface {name} ({a} -> {b}): T_A - T_B from {rep['min_jump']:.4e} to "
              f"{rep['max_jump']:.4e} K (mean |jump| {rep['mean_abs_jump']:.4e} K), "
              f"heat flow {rep['heat_flow']:.6e}")
    print(f"results in {out}/ (summary.json, fields.pvd, ...)")
    return 0


def _print_homogenization(summary: dict) -> None:
    h = summary["homogenization"]
    print(f"{summary['title']}: {summary['dofs']['total']} DOFs, {h['boundary']} cell, "
          f"{summary['wall_time']['total_s']:.2f} s, energy balance error "
          f"{summary['energy_balance_relative_error']:.2e}")
    print("  kappa_eff [W/(m K)] =")
    for row in h["conductivity"]:
        print("    [" + "  ".join(f"{v: .6e}" for v in row) + "]")
    print("  principal values: " + ", ".join(f"{v:.6e}" for v in h["principal_conductivities"]))
    for load in h["loads"]:
        shares = ", ".join(f"{k} {100 * v:.1f}%" for k, v in load["dissipation_share"].items())
        print(f"  gradient along {'xyz'[load['axis']]}: dissipation {shares}")
    ref = summary.get("reference", {})
    if ref.get("relative_difference") is not None:
        print(f"  Maxwell-Garnett/Hasselman-Johnson: {ref['kappa_eff_at_case_resistance']:.6e}"
              f" (FEM {100 * ref['relative_difference']:+.3f}%)")
    if "sweep" in summary:
        print(f"  R_K sweep: {len(summary['sweep']['resistances'])} points -> sweep.csv, sweep.png")
    if "crossover" in summary:
        c = summary["crossover"]
        print(f"  crossover (kappa_eff = k_m): R_K = {c['resistance']:.4e} m^2 K/W, "
              f"Kapitza radius {c['kapitza_radius']:.4e} m")
    if "fit" in summary:
        f = summary["fit"]
        print(f"  fitted R_K = {f['resistance']:.4e} +- {f['standard_error']:.2e} m^2 K/W "
              f"(G_K = {f['conductance']:.4e} W/(m^2 K))")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="femheat", description="Non-Fourier heat conduction with scikit-fem")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a TOML case file")
    run.add_argument("case", help="path to the case file (.toml)")
    run.add_argument("-o", "--output", help="output folder (default results/CASE)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except (FemheatInputError, SolverError) as exc:
        print(f"femheat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("femheat: interrupted; the steps already computed are on disk "
              "(summary.json says how far the run got)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`; results are on disk
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
