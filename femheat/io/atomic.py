"""Atomic files: every result file is written under a temporary name and renamed.

``os.replace`` is atomic on POSIX and Windows file systems, so a reader (ParaView,
a resumed run, a sweep gatherer) sees either the old complete file or the new
complete one, never a truncated file, whatever kills the writer (SIGKILL, a full
disk, a power cut of the process). Temporary files are hidden (leading dot) and
carry the writer's pid; :func:`remove_partials` deletes those a killed run left.

Fault injection for tests: with the environment variable
``FEMHEAT_TEST_WRITE_PAUSE`` set to a number of seconds, every atomic write
pauses that long between writing the temporary file and renaming it, so a kill
test can hit the inside of a write reliably.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_text", "write_bytes", "remove_partials", "partial_name"]

_MARK = ".part-"


def partial_name(path: Path) -> Path:
    """The hidden temporary name of ``path`` for this process."""
    return path.parent / f".{path.name}{_MARK}{os.getpid()}"


def _pause() -> None:
    pause = os.environ.get("FEMHEAT_TEST_WRITE_PAUSE")
    if pause:
        time.sleep(float(pause))


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to ``path``.

    On any exception (including KeyboardInterrupt) the temporary file is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = partial_name(path)
    try:
        yield tmp
        _pause()
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def remove_partials(directory: str | Path) -> list[str]:
    """Delete the temporary files of killed writers in ``directory``; return their names."""
    out = []
    for p in Path(directory).glob(f".*{_MARK}*"):
        try:
            p.unlink()
            out.append(p.name)
        except OSError:
            pass
    return out
