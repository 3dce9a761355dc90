"""Parameter sweeps on Dask: every point an independent, resumable run.

``run_sweep(case, {"materials.matrix.conductivity": [1, 2, 5]}, "out")`` sets the
values at their case-file key paths (syntax and designs:
:mod:`~femheat.pipeline.sweep_params`), refuses a bad key or value *before any
task is submitted* (every point is parsed as a case first, naming the point and
the key), and runs each point with :func:`~femheat.pipeline.runner.run_case` as
one Dask task on a ``dask.distributed`` cluster: a
:func:`local_cluster` sized to the machine (one process and one BLAS thread per
worker) or the cluster of a given ``Client`` or scheduler address. The folder::

    out/sweep.json               the sweep (case, axes, points), its status and pid
    out/points/<hash>/           one femheat run per point: point.json (hash, values,
                                 case table), summary.json, row.json, its files
    out/results.csv, .parquet    one row per point: values, status, quantities, error
    out/results_<quantity>.png   with plot=QUANTITY

Fault tolerance, resumption:

* a point is identified by :func:`~femheat.pipeline.sweep_params.point_hash`; a
  point whose folder holds that hash and a ``completed`` summary is reused, so a
  rerun of an interrupted sweep (or of a larger one) computes only what is missing;
* a point that fails (bad value found at run time, singular system) records
  ``failed`` and its error and the others go on; an unexpected exception is
  retried ``retries`` times (``Client.submit(retries=...)``);
* a worker that dies (segfault, out of memory, SIGKILL) is replaced by its nanny;
  Dask reports the death to the sweep as ``KilledWorker`` (:func:`local_cluster`
  sets the scheduler's ``allowed-failures`` to 0), and the sweep resubmits the
  point until it has killed ``retries + 1`` workers, when its row says ``killed``.
  Only deaths while the point *ran* count (each start and each end is logged in
  the point's ``attempts.log``): a point that merely waited on a dying worker, or
  had finished on it just before it died, is resubmitted without penalty, which
  Dask's own counter cannot tell apart;
* every file (tables, summaries, manifests) is written atomically.

The Dask side (cluster, tasks, the accounting of worker deaths) is in
:mod:`~femheat.pipeline.sweep_dask`.

Work is shared where the science allows: within a worker process, points with the
same ``[mesh]`` table and mesh files share one loaded or built mesh.
"""

from __future__ import annotations

import collections
import copy
import json
import logging
import os
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Union

from ..errors import FemheatInputError, SolverError
from ..io.atomic import write_text
from ..io.info import run_status
from ..io.tables import write_tables
from .sweep_dask import BLAS_ENV, local_cluster, run_dask
from .sweep_params import (Axis, check_quantity, design_points, make_axis, point_hash,
                           resolve_points, shared_mesh, validate_points)

if TYPE_CHECKING:  # dask is imported only when a sweep runs on it
    from dask.distributed import Client

__all__ = ["run_sweep", "run_point", "PointTask", "SweepResult", "local_cluster",
           "summary_row", "MODES", "BLAS_ENV"]

log = logging.getLogger(__name__)

#: ``"reuse"`` (default: reuse completed identical points), ``"resume"`` (the same,
#: but the folder must hold this very sweep), ``"overwrite"`` (recompute every point).
MODES = ("reuse", "resume", "overwrite")


_LEAD = ["point", "hash", "status"]
_TAIL = ["reused", "point_wall_s", "worker", "folder", "error", "warnings"]
_INTERFACE_STATS = ("heat_flow", "mean_jump", "mean_abs_jump", "min_jump", "max_jump")


# ---------------------------------------------------------------- one point
@dataclass
class PointTask:
    """Everything a worker needs to run one point (plain, picklable data)."""

    index: int
    hash: str
    params: dict
    case: dict
    base: str
    folder: str
    case_file: Optional[str] = None
    confirm: bool = False
    command: Optional[list] = None

    def row(self, **extra: Any) -> dict:
        """The leading columns of this point's row."""
        return {"point": self.index, "hash": self.hash, **self.params,
                "folder": self.folder, **extra}


def summary_row(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The table columns of one run's ``summary.json``.

    Names follow the summary's own key paths: ``status``, ``error``,
    ``energy_balance_relative_error``, ``dofs``, ``heat_flow.<boundary>``,
    ``interfaces.<name>.<heat_flow|mean_jump|mean_abs_jump|min_jump|max_jump>``,
    ``kappa_eff.<xx|xy|...>`` and ``kappa_eff.principal_<k>`` (homogenization),
    ``final_energy`` and ``reached_time`` (transient), ``wall_time.<phase>`` [s].
    """
    row: dict[str, Any] = {"status": run_status(dict(summary))}
    if isinstance(summary.get("dofs"), dict):
        row["dofs"] = summary["dofs"].get("total")
    if "energy_balance_relative_error" in summary:
        row["energy_balance_relative_error"] = summary["energy_balance_relative_error"]
    for name, val in (summary.get("heat_flow") or {}).items():
        row[f"heat_flow.{name}"] = val
    for name, rep in (summary.get("interfaces") or {}).items():
        for stat in _INTERFACE_STATS:
            if isinstance(rep, dict) and stat in rep:
                row[f"interfaces.{name}.{stat}"] = rep[stat]
    hom = summary.get("homogenization") or {}
    for i, line in enumerate(hom.get("conductivity") or []):
        for j, val in enumerate(line):
            row[f"kappa_eff.{'xyz'[i]}{'xyz'[j]}"] = val
    for k, val in enumerate(hom.get("principal_conductivities") or []):
        row[f"kappa_eff.principal_{k + 1}"] = val
    for key in ("final_energy", "reached_time"):
        if key in summary:
            row[key] = summary[key]
    for key, val in (summary.get("wall_time") or {}).items():
        row[f"wall_time.{key}"] = val
    if summary.get("error"):
        row["error"] = summary["error"]
    return {k: v.item() if hasattr(v, "item") and not isinstance(v, (list, dict)) else v
            for k, v in row.items()}  # NumPy scalars -> Python numbers


def _claim(folder: Path) -> None:
    """Make ``folder`` ready for a new attempt at its point.

    The scheduler runs one copy of a task at a time and the sweep lock keeps other
    sweeps out, so an earlier attempt's summary (failed, killed, or ``running``
    from a dead worker on another host) is stale: it is removed, and run_case
    removes the rest of that attempt's files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "row.json"):
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            pass


def run_point(task: PointTask) -> dict:
    """Run one sweep point into its folder; return its table row.

    A user error found at run time (:class:`~femheat.errors.FemheatInputError`,
    :class:`~femheat.errors.SolverError`) gives a ``failed`` row with the message;
    any other exception propagates, so that Dask retries the point.
    """
    from ..io.case import parse_case
    from ..io.writers import write_summary
    from .runner import run_case

    t0 = time.perf_counter()
    folder = Path(task.folder)
    _claim(folder)
    write_text(folder / "point.json", json.dumps(
        {"hash": task.hash, "point": task.index, "params": task.params,
         "case_file": task.case_file, "base": task.base, "case": task.case},
        indent=2, default=str) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            mesh = shared_mesh(task.case.get("mesh"), task.base)
            case = parse_case(task.case, Path(task.base), None, confirm=task.confirm,
                              mesh=mesh)
            summary = run_case(case, folder, mode="overwrite", command=task.command)
        except (FemheatInputError, SolverError) as exc:
            path = folder / "summary.json"
            summary = json.loads(path.read_text()) if path.exists() else {}
            summary.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                           pid=os.getpid(), host=socket.gethostname())
            write_summary(path, summary)
            log.info("sweep point %d failed: %s", task.index, exc)
    messages = list(dict.fromkeys(str(w.message) for w in caught
                                  if issubclass(w.category, UserWarning)))
    row = task.row(**summary_row(summary))
    row.update(point_wall_s=time.perf_counter() - t0, worker=f"{socket.gethostname()}:"
               f"{os.getpid()}", warnings="; ".join(messages) or None)
    write_text(folder / "row.json", json.dumps(row, default=str) + "\n")
    return row


def _finished_row(task: PointTask) -> Optional[dict]:
    """The row of a point computed before (same hash, completed), else None."""
    folder = Path(task.folder)
    try:
        point = json.loads((folder / "point.json").read_text())
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    if point.get("hash") != task.hash or summary.get("status") != "completed":
        return None
    try:
        row = json.loads((folder / "row.json").read_text())
    except (OSError, ValueError):
        row = summary_row(summary)
    row.update(task.row(), reused=True)
    return row


# ------------------------------------------------------------------- results
@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the rows (in point order) and the counts."""

    outdir: Path
    columns: list[str]
    rows: list[dict]
    computed: int = 0
    reused: int = 0
    files: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Number of rows with this status (``completed``, ``failed``, ``killed``...)."""
        return sum(r.get("status") == status for r in self.rows)

    def column(self, name: str) -> list:
        """One column of the table, in point order."""
        return [r.get(name) for r in self.rows]


def _columns(rows: Sequence[Mapping], keys: Sequence[str]) -> list[str]:
    middle: dict[str, None] = {}
    fixed = set(_LEAD) | set(keys) | set(_TAIL)
    for r in rows:
        middle.update((k, None) for k in r if k not in fixed)
    return _LEAD + list(keys) + list(middle) + _TAIL


# --------------------------------------------------------------------- sweep
def _case_table(case: Any, base: Optional[str | Path]) -> tuple[dict, Path, Optional[str]]:
    if isinstance(case, Mapping):
        return copy.deepcopy(dict(case)), Path(base or ".").resolve(), None
    from ..io.case import read_case_table

    path = Path(case)
    return read_case_table(path), Path(base or path.parent).resolve(), str(path.resolve())


def _lock(out: Path, mode: str, hashes: list[str]) -> Optional[dict]:
    """Check the sweep folder; return the previous sweep.json (or None)."""
    from ..io.output import check_output_dir

    if mode not in MODES:
        raise FemheatInputError(f"mode = {mode!r}; use one of {', '.join(MODES)}")
    check_output_dir(out)
    if (out / "summary.json").exists():
        raise FemheatInputError(
            f"output folder {str(out)!r} holds a femheat run, not a sweep; choose another "
            "--output")
    previous = None
    if (out / "sweep.json").exists():
        try:
            previous = json.loads((out / "sweep.json").read_text())
        except (OSError, ValueError):
            previous = {"status": "unreadable"}
        if run_status(previous) == "running":
            raise FemheatInputError(
                f"output folder {str(out)!r} belongs to a sweep that is still going (pid "
                f"{previous.get('pid')} on {previous.get('host')}); wait for it or choose "
                "another --output")
    if mode == "resume":
        if previous is None:
            raise FemheatInputError(f"nothing to resume in {str(out)!r} (no sweep.json); "
                                    "run without --resume")
        if [p.get("hash") for p in previous.get("points", [])] != hashes:
            raise FemheatInputError(
                f"the sweep in {str(out)!r} has other points than this one; run without "
                "--resume to run this sweep there (identical points are reused)")
    return previous


Params = Union[Mapping[str, Any], Sequence[Axis]]


def run_sweep(case: str | Path | Mapping[str, Any], params: Params, outdir: str | Path, *,
              client: Client | str | None = None, design: str = "grid",
              samples: Optional[int] = None,
              seed: Optional[int] = None, mode: str = "reuse", retries: int = 1,
              workers: Optional[int] = None, serial: bool = False,
              plot: Optional[str] = None, base: Optional[str | Path] = None,
              confirm: bool = False, progress: Optional[Callable[[int, int], None]] = None,
              runner: Callable[[PointTask], dict] = run_point,
              command: Optional[list[str]] = None) -> SweepResult:
    """Run a parameter sweep of a case; write one folder per point and the tables.

    Parameters
    ----------
    case
        A case file (TOML) or its parsed table (then ``base`` is the folder its
        relative paths start from, default the working folder).
    params
        ``{key path: values}`` (a list, or a string such as ``"log:1e-9:1e-6:7"``)
        or a sequence of :class:`~femheat.pipeline.sweep_params.Axis`.
    outdir
        The sweep folder (layout in the module docstring).
    client
        A ``dask.distributed.Client``, a scheduler address, or None for a
        :func:`local_cluster` of ``workers`` processes (closed at the end).
    design, samples, seed
        ``"grid"`` (every combination) or ``"lhs"`` (Latin hypercube of
        ``samples`` points, reproducible with ``seed``).
    mode
        One of :data:`MODES`.
    retries
        Retries of a point whose task raised an unexpected exception; with a
        local cluster also of a point whose worker died.
    serial
        Run the points one after another in this process, without Dask.
    plot
        A quantity column (e.g. ``"heat_flow.right"``) to plot versus the axes.
    progress
        ``progress(done, total)`` after each finished point.
    runner
        The function run for each point (default :func:`run_point`); it must be
        importable by the workers.

    Raises
    ------
    FemheatInputError
        Before anything is submitted or written: a bad key path, value, design or
        quantity, naming the point and the key; a folder that is not a sweep's or
        whose sweep is still going.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise FemheatInputError(f"--retries must be an integer >= 0, got {retries!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise FemheatInputError(f"--workers must be an integer >= 1, got {workers!r}")
    data, base_dir, case_file = _case_table(case, base)
    axes = list(params) if not isinstance(params, Mapping) else \
        [make_axis(k, v) for k, v in params.items()]
    axes = [a if isinstance(a, Axis) else make_axis(*a) for a in axes]
    keys = [a.key for a in axes]
    points = design_points(axes, design, samples, seed)
    tables = resolve_points(data, points)
    validate_points(points, tables, base_dir, confirm)
    if plot is not None:
        check_quantity(plot)
    out = Path(outdir)
    hashes = [point_hash(t, base_dir) for t in tables]
    _lock(out, mode, hashes)
    tasks = [PointTask(i, h, dict(p), t, str(base_dir), str(out / "points" / h[:16]),
                       case_file, confirm, command)
             for i, (p, t, h) in enumerate(zip(points, tables, hashes))]
    manifest: dict[str, Any] = {
        "status": "running", "pid": os.getpid(), "host": socket.gethostname(),
        "case_file": case_file, "base": str(base_dir), "design": design,
        "samples": samples, "seed": seed, "retries": retries,
        "params": {a.key: a.describe() for a in axes},
        "points": [{"point": t.index, "hash": t.hash, "folder": f"points/{t.hash[:16]}",
                    "params": t.params} for t in tasks],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (out / "points").mkdir(parents=True, exist_ok=True)
    write_text(out / "sweep.json", json.dumps(manifest, indent=2, default=str) + "\n")

    rows: dict[int, dict] = {}
    if mode != "overwrite":
        for t in tasks:
            row = _finished_row(t)
            if row is not None:
                rows[t.index] = row
    reused = len(rows)
    todo: dict[str, list[PointTask]] = {}
    for t in tasks:
        if t.index not in rows:
            todo.setdefault(t.hash, []).append(t)
    log.info("sweep of %d points: %d reused, %d to compute", len(tasks), reused, len(todo))
    result = SweepResult(out, [], [], 0, reused)
    last_write = [time.monotonic()]

    def record(task_rows: list[PointTask], row: dict) -> None:
        for t in task_rows:
            rows[t.index] = dict(row, **t.row(), reused=row.get("reused", False))
        result.computed += 1
        if progress:
            progress(len(rows), len(tasks))
        if time.monotonic() - last_write[0] > 2.0:  # a crash keeps the table this fresh
            _finish(tasks, rows, keys, out, result, None)
            last_write[0] = time.monotonic()

    if progress:
        progress(len(rows), len(tasks))
    status = "failed"
    try:
        if serial:
            _run_serial(todo, runner, retries, record)
        else:
            run_dask(todo, runner, retries, record, client, workers)
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        _finish(tasks, rows, keys, out, result, plot)
        manifest.update(status=status, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        computed=result.computed, reused=reused,
                        counts=dict(collections.Counter(r["status"] for r in result.rows)),
                        files=result.files)
        write_text(out / "sweep.json", json.dumps(manifest, indent=2, default=str) + "\n")
    return result


def _run_serial(todo: Mapping[str, list[PointTask]], runner: Callable, retries: int,
                record: Callable) -> None:
    for group in todo.values():
        for attempt in range(retries + 1):
            try:
                row = runner(group[0])
                break
            except Exception as exc:  # what Dask's retries would do
                row = group[0].row(status="failed", error=f"{type(exc).__name__}: {exc}")
                log.warning("sweep point %d raised %s (attempt %d of %d)", group[0].index,
                            exc, attempt + 1, retries + 1)
        record(group, row)


def _finish(tasks: Sequence[PointTask], rows: Mapping[int, dict], keys: Sequence[str],
            out: Path, result: SweepResult, plot: Optional[str]) -> None:
    """Write the tables (points not yet run are ``pending``) and the plot."""
    table = [dict(rows.get(t.index) or t.row(status="pending")) for t in tasks]
    for r in table:
        r["folder"] = os.path.relpath(r["folder"], out) if r.get("folder") else None
        r.setdefault("reused", False)
    columns = _columns(table, keys)
    result.rows, result.columns = table, columns
    result.files = write_tables(table, columns, out)
    if plot:
        from ..visuals.rendering import plot_sweep

        png = out / f"results_{plot}.png"
        if plot_sweep(table, keys, plot, png):
            result.files.append(png.name)
