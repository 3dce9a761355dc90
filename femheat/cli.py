"""Command line: ``femheat run CASE [-o OUT]``, ``femheat sweep CASE --param KEY=VALUES``,
``femheat fit CASE --data FILE``,
``femheat info MESH|RESULT_DIR``, ``femheat plot RESULT_DIR``, ``femheat cases``,
``femheat models``, ``femheat --version``.

The only module that parses arguments, prints and exits. Its error contract:

* every failure the user can cause (bad input, a singular system, an output
  folder that cannot be written, a full disk) ends as ``femheat: error: ...``
  on stderr with exit code 2 and no traceback;
* an unexpected internal exception ends as ``femheat: internal error: ...``
  with exit code 1;
* ``--debug`` (before or after the subcommand) re-raises instead, to show the
  traceback; Ctrl-C ends with 130.

Warnings of the library (plausibility checks, solver hints) are printed as
``femheat: warning: ...``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

from .errors import FemheatInputError, SolverError

__all__ = ["main"]

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130


def _progress_bar(quiet: bool, unit: str, desc: str, file=None):
    """(tqdm bar or None, callback ``progress(done, total)``); tqdm is optional.

    The bar is drawn on ``file`` (default standard error) only where that is a terminal
    (tqdm's ``disable=None``), so logs of batch runs do not collect a redraw per step,
    and at most every 0.1 s (tqdm's ``mininterval``: the callback counts steps with
    ``update``, which throttles, not ``refresh``, which draws every time)."""
    bar = None
    if not quiet:
        try:
            from tqdm import tqdm

            bar = tqdm(total=0, unit=unit, desc=desc, leave=True, disable=None, file=file)
        except ImportError:
            pass

    def progress(done: int, total: int) -> None:
        if bar is not None and not bar.disable:
            bar.total = total
            bar.update(done - bar.n)

    return bar, progress


def _run(args: argparse.Namespace) -> int:
    from .io.case import load_case
    from .io.output import check_output_dir
    from .pipeline.runner import run_case

    from .pipeline.output import prepare_output

    out = Path(args.output) if args.output else Path("results") / Path(args.case).stem
    args.output_dir = out  # for error messages
    mode = "overwrite" if args.overwrite else "resume" if args.resume else "new"
    check_output_dir(out)  # before any mesh is read or built
    prepare_output(out, mode, check_only=True)  # another run's results: refuse early
    case = load_case(args.case, confirm=args.yes)
    bar, progress = _progress_bar(args.quiet, "step", case.title)

    try:
        summary = run_case(case, out, progress, mode=mode, command=args.command_line)
    finally:
        if bar is not None:
            bar.close()
    if summary.get("analysis") == "homogenization":
        _print_homogenization(summary)
        print(f"results in {out}/ (summary.json, fields.pvd, ...)")
        return EXIT_OK
    print(f"{case.title}: {summary['dofs']['total']} DOFs, "
          f"{summary['wall_time']['total_s']:.2f} s, energy balance error "
          f"{summary['energy_balance_relative_error']:.2e}")
    if summary.get("analysis") == "frequency":
        fr = summary["frequency"]["frequencies_Hz"]
        print(f"  {len(fr)} frequencies, {fr[0]:.4g} to {fr[-1]:.4g} Hz: amplitude/phase in "
              "fields_fNNN.vtu, frequency.csv, bode.png")
        print(f"results in {out}/ (summary.json, frequency.csv, ...)")
        return EXIT_OK
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
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    from .pipeline.sweep import run_sweep
    from .pipeline.sweep_params import parse_param

    out = Path(args.output) if args.output else Path("results") / f"{Path(args.case).stem}-sweep"
    args.output_dir = out  # for error messages
    axes = [parse_param(p) for p in args.param]
    mode = "overwrite" if args.overwrite else "resume" if args.resume else "reuse"
    if not args.verbose:  # the scheduler's INFO chatter; its warnings still show
        logging.getLogger("distributed").setLevel(logging.WARNING)
    bar, progress = _progress_bar(args.quiet, "point", "sweep")

    try:
        result = run_sweep(args.case, axes, out, client=args.scheduler, design=args.design,
                           samples=args.samples, seed=args.seed, mode=mode,
                           retries=args.retries, workers=args.workers, serial=args.serial,
                           plot=args.plot, confirm=args.yes, progress=progress,
                           command=args.command_line)
    finally:
        if bar is not None:
            bar.close()
    bad = [r for r in result.rows if r.get("status") != "completed"]
    for r in bad:
        values = ", ".join(f"{a.key} = {r.get(a.key)!r}" for a in axes)
        print(f"femheat: warning: point {r['point']} ({values}) {r.get('status')}: "
              f"{r.get('error') or 'no error recorded'}", file=sys.stderr)
    print(f"sweep of {len(result.rows)} points: {result.computed} computed, {result.reused} "
          f"reused, {len(result.rows) - len(bad)} completed, {len(bad)} not")
    print(f"results in {out}/ ({', '.join(result.files)}; one folder per point in points/)")
    return EXIT_OK


def _fit_param(text: str):
    """``KEY`` or ``KEY=LOW:HIGH`` (bounds) of ``femheat fit --param``."""
    from .inverse.parameters import FitParameter

    key, sep, spec = text.partition("=")
    if not sep:
        return FitParameter(key.strip(), lower=0.0)
    try:
        lo, hi = (float(v) for v in spec.split(":"))
    except ValueError:
        raise FemheatInputError(f"--param {text!r}: write KEY or KEY=LOW:HIGH (bounds, SI), "
                                "e.g. materials.medium.relaxation_time=1e-8:1e-4") from None
    return FitParameter(key.strip(), lower=lo, upper=hi)


def _fit(args: argparse.Namespace) -> int:
    from .inverse.report import fit_case, write_report
    from .io.output import check_output_dir

    out = Path(args.output) if args.output else Path("results") / f"{Path(args.case).stem}-fit"
    args.output_dir = out
    check_output_dir(out)
    params = [_fit_param(p) for p in args.param] if args.param else None
    result, forward = fit_case(args.case, args.data, parameters=params,
                               monte_carlo=args.monte_carlo, seed=args.seed,
                               jacobian=args.jacobian)
    files = write_report(result, forward, out, png=not args.no_plot)
    for k, v, s, (lo, hi) in zip(result.keys, result.values, result.std, result.interval):
        print(f"  {k} = {v:.6g} +- {s:.2g}  (95 %: {lo:.6g} ... {hi:.6g})")
    print(f"chi2 = {result.chi2:.4g} for {result.dof} degrees of freedom, "
          f"{result.forward_solves} forward solves")
    print(f"results in {out}/ ({', '.join(p.name for p in files.values())})")
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    from .io.info import describe_mesh, describe_result

    path = Path(args.path)
    if not path.exists():
        raise FemheatInputError(f"{str(path)!r} does not exist; give a .msh file or a "
                                "result folder")
    lines = describe_result(path) if path.is_dir() else describe_mesh(path)
    print("\n".join(lines))
    return EXIT_OK


def _plot(args: argparse.Namespace) -> int:
    from .visuals.plots import plot_result
    from .visuals.report import write_report

    path = Path(args.path)
    if not path.is_dir():
        raise FemheatInputError(f"{str(path)!r} is not a result folder; give the folder "
                                "written by `femheat run`")
    res = plot_result(path, render=not args.no_render, animate=args.animate)
    files = res["files"]
    if not args.no_report:
        files.append(write_report(path, res).name)
    fa = res["flux_analysis"]
    if fa is not None and fa.get("vortices") is None:
        print("flux (3D): Hodge energy fractions " + ", ".join(
            f"{k} {val:.3g}" for k, val in fa["hodge"]["fractions"].items())
            + f"; max |curl q| {fa['vorticity_max']:.3g} W/m^3")
    elif fa is not None:
        v = fa["vortices"]
        print(f"flux: {v['vortices']} vortices, {v['saddles']} saddles, {v['eddies']} eddies; "
              f"Hodge energy fractions " + ", ".join(
                  f"{k} {val:.3g}" for k, val in fa["hodge"]["fractions"].items()))
    anim = res.get("animation")
    if anim is not None:
        print(f"animation: {anim['frames']} frames of {anim['steps']} saved steps, T from "
              f"{anim['scalar_range'][0]:.6g} to {anim['scalar_range'][1]:.6g} K"
              + (f"; {anim['mp4_note']}" if anim["mp4_note"] else ""))
    print(f"wrote {', '.join(files)} in {path}/")
    return EXIT_OK


def _cases(args: argparse.Namespace) -> int:
    from .io.info import list_cases

    for name, kind, title in list_cases(args.folder):
        print(f"{name:32s} {kind:24s} {title}")
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    from .io.info import list_models

    print("\n".join(list_models()))
    return EXIT_OK


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


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    # -v/-q/--debug are accepted before and after the subcommand (SUPPRESS: a
    # subcommand that does not repeat them leaves the main parser's value)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log progress details")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bar")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
    parser = argparse.ArgumentParser(
        prog="femheat", parents=[common],
        description="Non-Fourier heat conduction with scikit-fem")
    parser.add_argument("--version", action="version", version=f"femheat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", parents=[common], help="run a TOML case file")
    run.add_argument("case", help="path to the case file (.toml)")
    run.add_argument("-o", "--output", help="output folder (default results/CASE)")
    again = run.add_mutually_exclusive_group()
    again.add_argument("--overwrite", action="store_true",
                       help="replace the results of an earlier run in the output folder")
    again.add_argument("--resume", action="store_true",
                       help="continue the run in the output folder: a transient run from its "
                            "last saved step, a study from its last computed point")
    run.add_argument("-y", "--yes", action="store_true",
                     help="confirm a run of more than 1e6 time steps")
    run.set_defaults(handler=_run)
    sweep = sub.add_parser(
        "sweep", parents=[common], help="run a case over a grid or sample of parameters",
        description="Run a case for every point of a parameter sweep, each point a Dask "
                    "task, into OUT/points/<hash>/; gather OUT/results.csv and .parquet. "
                    "Completed identical points are reused, so a rerun computes only "
                    "what is missing.")
    sweep.add_argument("case", help="path to the case file (.toml)")
    sweep.add_argument("-p", "--param", action="append", required=True, metavar="KEY=VALUES",
                       help="a case-file key path and its values: 1,2,5 | lin:START:STOP:N | "
                            "log:START:STOP:N | range:START:STOP[:STEP] (repeat for more "
                            "keys)")
    sweep.add_argument("-o", "--output", help="sweep folder (default results/CASE-sweep)")
    sweep.add_argument("--design", choices=("grid", "lhs"), default="grid",
                       help="every combination (grid, default) or a Latin hypercube (lhs)")
    sweep.add_argument("--samples", type=int, help="number of points of --design lhs")
    sweep.add_argument("--seed", type=int, help="random seed of --design lhs")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster (tcp://host:8786) instead of a "
                            "local one")
    where.add_argument("--workers", type=int,
                       help="worker processes of the local cluster (default: one per core)")
    where.add_argument("--serial", action="store_true",
                       help="run the points one after another in this process (no Dask)")
    sweep.add_argument("--retries", type=int, default=1,
                       help="retries of a point whose worker died or that raised an "
                            "unexpected error (default 1)")
    again = sweep.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the sweep in the output folder (it must be this sweep)")
    again.add_argument("--overwrite", action="store_true",
                       help="recompute every point, even those already completed")
    sweep.add_argument("--plot", metavar="QUANTITY",
                       help="plot a table column (e.g. heat_flow.right, kappa_eff.xx) "
                            "versus the swept keys")
    sweep.add_argument("-y", "--yes", action="store_true",
                       help="confirm runs of more than 1e6 time steps")
    sweep.set_defaults(handler=_sweep)
    fitp = sub.add_parser(
        "fit", parents=[common], help="fit case-file parameters to measured data",
        description="Fit the parameters of the case's [fit] section (or --param) to CSV "
                    "data by nonlinear least squares; write fit.json, fit.png and "
                    "fitted.toml (the case with the fitted values).")
    fitp.add_argument("case", help="path to the case file (.toml) with a [fit] section")
    fitp.add_argument("--data", action="append", required=True, metavar="FILE",
                      help="CSV data with units in the header, e.g. 'time [s], "
                           "temperature_rise [K]' (repeat for several data sets)")
    fitp.add_argument("-p", "--param", action="append", metavar="KEY[=LOW:HIGH]",
                      help="a free parameter by its case-file key path (replaces "
                           "[fit.parameters]; repeat)")
    fitp.add_argument("-o", "--output", help="output folder (default results/CASE-fit)")
    fitp.add_argument("--monte-carlo", type=int, metavar="N",
                      help="also refit N resampled noise realisations")
    fitp.add_argument("--seed", type=int, help="random seed of --monte-carlo")
    fitp.add_argument("--jacobian", choices=("central", "forward"),
                      help="finite differences of the Jacobian (default central)")
    fitp.add_argument("--no-plot", action="store_true", help="do not write fit.png")
    fitp.set_defaults(handler=_fit)
    info = sub.add_parser("info", parents=[common],
                          help="describe a mesh (.msh) or a result folder")
    info.add_argument("path", help="a gmsh .msh file or a folder written by femheat run")
    info.set_defaults(handler=_info)
    plot = sub.add_parser("plot", parents=[common],
                          help="render the standard pictures and report.html of a result folder")
    plot.add_argument("path", help="a folder written by femheat run")
    plot.add_argument("--no-render", action="store_true", help="skip the PyVista render")
    plot.add_argument("--no-report", action="store_true", help="do not write report.html")
    plot.add_argument("--animate", action="store_true",
                      help="also write plots/temperature.gif (T over the saved steps, at most "
                           "60 frames; temperature.mp4 too when ffmpeg is on PATH)")
    plot.set_defaults(handler=_plot)
    cases = sub.add_parser("cases", parents=[common], help="list the shipped cases")
    cases.add_argument("folder", nargs="?", help="cases folder (default: the shipped one)")
    cases.set_defaults(handler=_cases)
    models = sub.add_parser("models", parents=[common],
                            help="list the registered models and their [model] options")
    models.set_defaults(handler=_models)
    return parser


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show library warnings as one line ``femheat: warning: ...`` each."""
    with warnings.catch_warnings():
        def show(message, category, filename, lineno, file=None, line=None):
            print(f"femheat: warning: {message}", file=sys.stderr)

        warnings.showwarning = show
        yield


def _error(exc: BaseException, args: argparse.Namespace) -> tuple[int, str]:
    """(exit code, message) for an exception that ended a command."""
    from .io.output import describe_os_error

    if isinstance(exc, (FemheatInputError, SolverError)):
        return EXIT_USER, f"femheat: error: {exc}"
    if isinstance(exc, OSError):
        where = getattr(args, "output_dir", None)
        return EXIT_USER, f"femheat: error: {describe_os_error(exc, where)}"
    if isinstance(exc, MemoryError):
        return EXIT_USER, ("femheat: error: out of memory; use a coarser mesh, a lower "
                           "[model] degree or a machine with more memory")
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SystemExit):
        what = f"a library called sys.exit({exc.code!r})"
    return EXIT_INTERNAL, (f"femheat: internal error: {what} (run with --debug for the "
                           "traceback; please report)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        args.command_line = ["femheat", *(sys.argv[1:] if argv is None else argv)]
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USER
    for flag in ("verbose", "quiet", "debug"):
        setattr(args, flag, bool(getattr(args, flag, False)))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        with _warnings_to_stderr():
            return args.handler(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("femheat: interrupted; the steps already computed are on disk "
              "(summary.json says how far the run got)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`; results are on disk
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (Exception, SystemExit) as exc:
        if args.debug:
            raise
        code, message = _error(exc, args)
        print(message, file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
