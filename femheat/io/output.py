"""Pre-flight checks of an output folder, and OS errors told in words.

:func:`check_output_dir` is called before any mesh is read or built: a run that
cannot write its results fails in a second, not after its assembly or its solve.
It writes nothing that stays (one probe file, removed at once) and creates no
folder. :func:`describe_os_error` turns an ``OSError`` (permission, full disk,
read-only file system) into one sentence naming the path and the fix.
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path
from typing import Optional

from ..errors import OutputError

__all__ = ["check_output_dir", "describe_os_error"]


def describe_os_error(exc: OSError, path: Optional[str | Path] = None,
                      action: str = "writing") -> str:
    """One sentence for ``exc``: what failed, on which path, and the fix.

    ``path`` is used when the error carries no file name (a failed ``write``
    on an open file has none), e.g. the output folder.
    """
    where = exc.filename if exc.filename is not None else path
    where = f" {where}" if where is not None else ""
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", -1):
        return (f"no space left on device {action}{where}; free space or choose another "
                "--output")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"permission denied {action}{where}; choose a folder you can write to "
                "(--output) or fix its permissions")
    if exc.errno == errno.EROFS:
        return f"read-only file system {action}{where}; choose another --output"
    return f"{exc.strerror or exc} {action}{where}"


def check_output_dir(path: str | Path) -> Path:
    """Make sure results can be written into folder ``path``; return it as a Path.

    The folder need not exist (the run creates it); then its nearest existing
    parent must be a writable folder. A tiny probe file is written there and
    removed at once; nothing else is created.

    Raises
    ------
    OutputError
        If ``path`` (or a parent) is an existing file, or the folder is not
        writable (permissions, read-only file system, full disk), naming the
        path and the fix.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(
            f"output path {str(path)!r} is an existing file, not a folder; choose a folder "
            "with --output (it is created if needed)")
    probe_dir = path
    while not probe_dir.exists():
        parent = probe_dir.parent
        if parent == probe_dir:
            break
        probe_dir = parent
    if probe_dir.exists() and not probe_dir.is_dir():
        raise OutputError(
            f"output path {str(path)!r} cannot be created: {str(probe_dir)!r} is a file; "
            "choose another --output")
    probe = probe_dir / f".femheat-write-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"femheat")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        target = path if probe_dir == path else f"{path} (in {probe_dir})"
        raise OutputError(describe_os_error(exc, target, "writing").replace(
            str(probe), str(target))) from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    return path
