"""The output folder of a run: ownership, truthful status and restart files.

* :func:`prepare_output` checks the folder before any work (a file in the way, no
  write permission), removes the temporary files of a killed writer, and refuses
  a folder that holds another run's results unless told to overwrite (which
  removes that run's files, and only those) or resume;
* :class:`RunGuard` makes ``summary.json`` tell the truth on every exit path:
  ``completed`` (written by the runner), ``failed`` with the error, or
  ``interrupted`` (Ctrl-C, SIGTERM) with the signal;
* :func:`save_restart` / :func:`load_restart`: ``restart.npz`` with the state,
  its time and step, the energy bookkeeping and the file series, written
  atomically at every save.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import FemheatInputError
from ..io.atomic import atomic_path, remove_partials
from ..io.info import run_status
from ..io.output import check_output_dir
from ..io.writers import write_summary

__all__ = ["prepare_output", "RunGuard", "RunTerminated", "save_restart", "load_restart",
           "RESULT_PATTERNS"]

log = logging.getLogger(__name__)

#: Files a femheat run writes (what ``overwrite`` removes; nothing else is touched).
RESULT_PATTERNS = ("summary.json", "history.csv", "restart.npz", "fields_*.vtu",
                   "interfaces_*.vtu", "fields.pvd", "interfaces.pvd", "temperature*.png",
                   "profile.png", "sweep.csv", "sweep_points.csv", "sweep.png", "case.toml",
                   "mesh.msh", "mesh.msh.json", "probes.csv", "line_*.csv", "fields.xdmf",
                   "interfaces.xdmf", "fields.h5")


class RunTerminated(KeyboardInterrupt):
    """SIGTERM during a run: handled like Ctrl-C (files kept, status interrupted)."""


def prepare_output(out: Path, mode: str, check_only: bool = False) -> Optional[dict]:
    """Check and claim the output folder; return the previous run's summary (resume).

    Raises :class:`~femheat.errors.FemheatInputError` before any work is done if
    the path is a file, the folder is not writable, it holds another run's
    results and ``mode`` is ``"new"``, another live process writes into it, or
    there is nothing to resume. ``check_only=True`` makes these checks and
    changes nothing (the CLI calls it before reading the case).
    """
    from .runner import MODES

    if mode not in MODES:
        raise FemheatInputError(f"mode = {mode!r}; use one of {', '.join(MODES)}")
    check_output_dir(out)
    if check_only and not out.exists():
        return None
    out.mkdir(parents=True, exist_ok=True)
    if not check_only:
        stale = remove_partials(out)
        if stale:
            log.info("removed partial files of a killed run: %s", ", ".join(stale))
    previous = None
    summary_path = out / "summary.json"
    if summary_path.exists():
        try:
            previous = json.loads(summary_path.read_text())
        except (ValueError, OSError):
            previous = {"status": "unreadable"}
    ours = sorted({p for pattern in RESULT_PATTERNS for p in out.glob(pattern)})
    status = run_status(previous) if previous else "unknown"
    if status == "running":
        raise FemheatInputError(
            f"output folder {str(out)!r} belongs to a run that is still going (pid "
            f"{previous.get('pid')}); wait for it or choose another "
            "--output")
    if mode == "new" and ours:
        raise FemheatInputError(
            f"output folder {str(out)!r} holds the results of another run (status: "
            f"{status}); use --overwrite to replace them, --resume to continue that run, "
            "or choose another --output")
    if check_only:
        if mode == "resume" and previous is None:
            raise FemheatInputError(
                f"nothing to resume in {str(out)!r} (no summary.json); run without --resume")
        return previous
    if mode == "overwrite":
        for p in ours:
            p.unlink()
        return None
    if mode == "resume" and previous is None:
        raise FemheatInputError(
            f"nothing to resume in {str(out)!r} (no summary.json); run without --resume")
    return previous


class RunGuard:
    """Context manager that writes the final status of a run into ``summary.json``.

    SIGTERM is turned into :class:`RunTerminated` for the duration (main thread
    only), so the files are closed and the status says ``interrupted``.
    """

    def __init__(self, out: Path, summary: dict):
        self.out, self.summary = out, summary
        self._old = None

    def _terminate(self, signum, frame):  # noqa: ARG002
        raise RunTerminated("SIGTERM")

    def __enter__(self) -> "RunGuard":
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, self._terminate)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
        if exc_type is None:
            return False
        if issubclass(exc_type, KeyboardInterrupt):
            self.summary.update(status="interrupted",
                                signal="SIGTERM" if issubclass(exc_type, RunTerminated)
                                else "SIGINT")
        else:
            self.summary.update(status="failed", error=f"{exc_type.__name__}: {exc}")
        try:
            write_summary(self.out / "summary.json", self.summary)
        except OSError:  # e.g. the disk filled up: the error itself is what matters
            log.warning("could not write the final status to %s", self.out / "summary.json")
        return False


def save_restart(out: Path, model: Any, state: Any, step: int, origin: float, balance: Any,
                 writer: Any, profiles: list) -> None:
    """Write ``restart.npz`` atomically (nothing for a model without restart support)."""
    try:
        arrays = model.state_arrays(state)
    except NotImplementedError:
        return
    bal = dict(balance.state_dict())
    T0 = bal.pop("T0")
    meta = {"time": state.time, "step": step, "origin": origin, "balance": bal,
            "writer": writer.state_dict() if writer else None,
            "profile_times": [t for t, _ in profiles]}
    payload = {f"state_{k}": np.asarray(v) for k, v in arrays.items()}
    if T0 is not None:
        payload["balance_T0"] = np.asarray(T0)
    if profiles:
        payload["profiles"] = np.stack([p for _, p in profiles])
    payload["meta"] = np.array(json.dumps(meta))
    with atomic_path(out / "restart.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)


def load_restart(out: Path) -> dict:
    """Read ``restart.npz`` (see :func:`save_restart`)."""
    path = out / "restart.npz"
    if not path.exists():
        raise FemheatInputError(
            f"cannot resume {str(out)!r}: no restart.npz (the run saved no step, or its "
            "model cannot restart); use --overwrite to start again")
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k[6:]: data[k] for k in data.files if k.startswith("state_")}
        balance = dict(meta["balance"])
        balance["T0"] = data["balance_T0"] if "balance_T0" in data.files else None
        profiles = ([(t, p) for t, p in zip(meta["profile_times"], data["profiles"])]
                    if "profiles" in data.files else [])
    return {"time": float(meta["time"]), "step": int(meta["step"]),
            "origin": float(meta["origin"]), "arrays": arrays, "balance": balance,
            "writer": meta["writer"], "profiles": profiles}
