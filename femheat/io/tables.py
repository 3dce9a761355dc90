"""Tidy tables: one row per record, written atomically as CSV and Parquet.

Cells are typed per column for Parquet (bool, int64, float64, else string); the
CSV holds the same values (floats by ``repr``, so they read back exactly; empty
for missing; ``true``/``false``; lists and tables as JSON). pyarrow is imported
only here, and a missing pyarrow skips the Parquet file with a warning.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from .atomic import atomic_path, write_text

__all__ = ["write_tables"]

log = logging.getLogger(__name__)


def _cell(v: Any) -> str:
    if hasattr(v, "item") and hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0:
        v = v.item()  # a NumPy scalar
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (int, str)):
        return str(v)
    return json.dumps(v, default=str)


def _arrow_column(values: list) -> Any:
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, pa.int64())
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else v if isinstance(v, str) else _cell(v)
                     for v in values], pa.string())


def write_tables(rows: Sequence[Mapping], columns: Sequence[str], folder: str | Path,
                 stem: str = "results") -> list[str]:
    """Write ``STEM.csv`` and ``STEM.parquet`` (if pyarrow is installed) into ``folder``,
    atomically; return the file names written.

    ``rows`` are dicts; ``columns`` orders them (a missing key is an empty cell).
    """
    out = Path(folder)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in columns])
    write_text(out / f"{stem}.csv", buf.getvalue())
    files = [f"{stem}.csv"]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        log.warning("pyarrow is not installed: no %s.parquet (pip install pyarrow)", stem)
        return files
    table = pa.table({c: _arrow_column([r.get(c) for r in rows]) for c in columns})
    with atomic_path(out / f"{stem}.parquet") as tmp:
        pq.write_table(table, tmp)
    return files + [f"{stem}.parquet"]
