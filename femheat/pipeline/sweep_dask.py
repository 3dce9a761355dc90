"""Running sweep points on ``dask.distributed``: the cluster, the tasks, the deaths.

:func:`run_dask` submits one task per point (:func:`_execute`, which logs the
start and the end of each run in the point's ``attempts.log``) and records the
rows as they finish; a ``KilledWorker`` is resubmitted until the point has
killed ``retries + 1`` workers *while it ran* (:func:`_attempt_counts`). The
fault-tolerance rules are those of :mod:`femheat.pipeline.sweep`.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

from ..errors import FemheatInputError

if TYPE_CHECKING:  # dask is imported only when a sweep runs on it
    from dask.distributed import LocalCluster

    from .sweep import PointTask

__all__ = ["local_cluster", "run_dask", "BLAS_ENV"]

log = logging.getLogger("femheat.pipeline.sweep")

#: One BLAS/OpenMP thread per worker process: the workers are the parallelism.
BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_cluster(workers: Optional[int] = None, **kwargs: Any) -> LocalCluster:
    """A ``dask.distributed.LocalCluster`` for sweeps.

    One worker process per core (or ``workers``), one thread each, one BLAS
    thread each (:data:`BLAS_ENV` in the workers' environment), the scheduler
    and its HTTP server on 127.0.0.1. A worker death is reported at once
    (``allowed-failures`` 0): :func:`run_sweep` decides on retries, and does not
    blame a point that only waited on the dying worker (Dask's default
    ``worker-saturation`` keeps one point in reserve on each worker, which hides
    the scheduler's round trip). ``kwargs`` go to ``LocalCluster``.
    """
    dask, _ = _dask()
    from dask.distributed import LocalCluster

    n = int(workers) if workers else _cpu_count()
    options = dict(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                   dashboard_address=None, env=dict(BLAS_ENV))
    options.update(kwargs)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        return LocalCluster(**options)


def _dask() -> tuple[Any, tuple[Any, Any]]:
    """``dask`` and ``(KilledWorker, as_completed)``, or a clear error without them."""
    try:
        import dask
        from dask.distributed import KilledWorker, as_completed
    except ImportError:
        raise FemheatInputError(
            "femheat sweep runs its points on dask.distributed, which is not installed: "
            "pip install 'dask[distributed]' (or femheat[full]), or run with --serial"
        ) from None
    return dask, (KilledWorker, as_completed)


def _connect(client: Any, workers: Optional[int]) -> tuple[Any, list]:
    """(client, things to close) for a Client, a scheduler address or None."""
    from dask.distributed import Client, LocalCluster

    if client is None:
        cluster = local_cluster(workers)
        c = Client(cluster)
        return c, [c, cluster]
    if isinstance(client, str):
        try:
            c = Client(client, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise FemheatInputError(
                f"cannot reach the Dask scheduler at {client!r} ({exc}); start one "
                "(`dask scheduler`, `dask worker ADDRESS`) or leave out --scheduler to run "
                "on a local cluster") from None
        return c, [c]
    return client, []


def _failed_future(exc: BaseException, task: PointTask, kills: int) -> dict:
    """The row of a point whose task erred (retries spent) or that killed its workers."""
    from dask.distributed import KilledWorker

    killed = isinstance(exc, KilledWorker)
    error = (f"KilledWorker: {kills} worker(s) died while running this point (out of "
             "memory? a crash in a compiled library?); see the workers' logs" if killed
             else f"{type(exc).__name__}: {exc}")
    status = "killed" if killed else "failed"
    path = Path(task.folder) / "summary.json"
    try:  # make the point's own summary tell the truth too
        summary = json.loads(path.read_text()) if path.exists() else {}
        summary.update(status=status, error=error)
        from ..io.writers import write_summary

        write_summary(path, summary)
    except (OSError, ValueError):
        pass
    return task.row(status=status, error=error)



def _execute(runner: Callable[[PointTask], dict], task: PointTask, submission: str) -> dict:
    """The Dask task of one point: log its start and its end in ``attempts.log``.

    A worker killed while the point ran leaves a ``start`` line without its
    ``end``; a point that finished (or raised) writes both, so a worker that dies
    *after* it (before its finish reached the scheduler, which then reports the
    point as killed too) is not blamed on it.
    """
    folder = Path(task.folder)
    folder.mkdir(parents=True, exist_ok=True)
    _log_attempt(folder, submission, "start")
    try:
        return runner(task)
    finally:
        _log_attempt(folder, submission, "end")


def _log_attempt(folder: Path, submission: str, event: str) -> None:
    with open(folder / "attempts.log", "a") as fh:
        fh.write(f"{submission} {event} {socket.gethostname()}:{os.getpid()} "
                 f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\n")


def _attempt_counts(folder: Union[str, Path], submission: str) -> tuple[int, int]:
    """``(deaths, starts)`` of ``submission`` from the point's ``attempts.log``.

    ``deaths`` counts starts without an end: runs cut short by the death of
    their worker. No log means no start: the sweep folder must be shared with
    the workers (as for the point results); without it a dying point is
    resubmitted up to 10 times before its row says ``killed``.
    """
    try:
        lines = (Path(folder) / "attempts.log").read_text().splitlines()
    except OSError:
        return 0, 0
    events = collections.Counter(tuple(line.split(" ", 2)[:2]) for line in lines)
    starts, ends = events[(submission, "start")], events[(submission, "end")]
    return max(starts - ends, 0), starts


def run_dask(todo: Mapping[str, list[PointTask]], runner: Callable, retries: int,
              record: Callable, client: Any, workers: Optional[int]) -> None:
    """Submit one task per point and record each as it finishes (see the module doc)."""
    if not todo:
        return
    dask, (KilledWorker, as_completed) = _dask()

    pending: dict = {}
    kills: collections.Counter = collections.Counter()
    waits: collections.Counter = collections.Counter()
    queue = as_completed()
    # An in-process LocalCluster drops a nanny whose worker has not come back within
    # lost-worker-timeout (15 s): too short for a worker restarting on a busy machine.
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1 hour"}):
        c, close = _connect(client, workers)

        def submit(h: str, group: list[PointTask]) -> None:
            sid = uuid.uuid4().hex[:12]
            Path(group[0].folder).mkdir(parents=True, exist_ok=True)  # for attempts.log
            fut = c.submit(_execute, runner, group[0], sid,
                           key=f"femheat-point-{h[:16]}-{sid}", pure=False, retries=retries)
            pending[fut] = (h, group, sid)
            queue.add(fut)

        try:
            for h, group in todo.items():
                submit(h, group)
            for fut in queue:
                h, group, sid = pending.pop(fut)
                try:
                    # A result lost with its worker after the finish was announced
                    # is computed again: result() waits for it (status may be back
                    # to "pending" here, so it is not tested).
                    row = fut.result()
                except Exception as exc:  # the runner's error, or KilledWorker
                    if isinstance(exc, KilledWorker):
                        died, _ = _attempt_counts(group[0].folder, sid)
                        kills[h] += died
                        waits[h] += not died
                        if kills[h] <= retries and waits[h] <= 10:
                            log.warning("sweep point %d: its worker died (%d of %d "
                                        "allowed); resubmitted", group[0].index,
                                        kills[h], retries)
                            submit(h, group)
                            continue
                    record(group, _failed_future(exc, group[0], kills[h]))
                    continue
                # Let go of the result at once: a worker that dies holding a result
                # still wanted makes the scheduler run the point again elsewhere, a
                # run that may outlive the sweep and rewrite the point's folder
                # while a later sweep reads it.
                c.cancel([fut])
                record(group, row)
        finally:
            for fut in pending:
                fut.cancel()
            for thing in close:
                thing.close()
