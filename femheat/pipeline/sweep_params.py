"""The parameters of a sweep: value syntax, designs, key paths and point hashes.

A swept parameter is a case-file key path and its values (:class:`Axis`)::

    materials.matrix.conductivity=1,2,5          a list (each item a TOML value)
    interfaces.inclusion_surface.kapitza_resistance=log:1e-9:1e-6:7
                                                 7 values, log-spaced, both ends included
    mesh.parameters.volume_fraction=lin:0.1:0.4:4
                                                 4 values, evenly spaced, both ends included
    mesh.parameters.seed=range:0:20              the integers 0 ... 19 (Python's range;
                                                 range:START:STOP:STEP)
    mesh.parameters.thicknesses=[1e-6,2e-6],[2e-6,2e-6]
                                                 list items may be TOML arrays or tables
    model.type=fourier,mcv                       bare words are strings

A key path may index into an array: ``mesh.parameters.thicknesses.1=lin:1e-6:3e-6:3``.

Designs (:func:`design_points`): the full ``grid`` of all combinations (default),
or a Latin hypercube ``lhs`` of ``samples`` points with a ``seed``: every axis is
cut into ``samples`` equal strata (in log space for ``log:``) and each stratum is
hit exactly once; ``lin:A:B`` and ``log:A:B`` then need no count, lists and
ranges are sampled by index (each value equally often, up to one).

Each point is identified by :func:`point_hash`, the SHA-256 of the canonical JSON
of its whole case table and of the contents of the files that table names (mesh,
pygmsh script, per-facet value files): an identical point is the same hash
whatever the sweep it belongs to, so it is never computed twice.
"""

from __future__ import annotations

import atexit
import collections
import copy
import hashlib
import inspect
import json
import math
import re
import shutil
import tempfile
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..errors import FemheatInputError

__all__ = ["Axis", "DESIGNS", "parse_param", "make_axis", "latin_hypercube",
           "design_points", "get_path", "set_path", "point_hash", "geometry_key",
           "canonical_json", "check_mesh_table", "resolve_points", "validate_points",
           "check_quantity", "QUANTITIES", "shared_mesh"]

#: The designs :func:`design_points` knows.
DESIGNS = ("grid", "lhs")

_KINDS = ("values", "lin", "log", "range")
_SYNTAX = ("give KEY=VALUES with VALUES a list 1,2,5, lin:START:STOP:N, log:START:STOP:N "
           "or range:START:STOP[:STEP]")


def _nice(x: float) -> float:
    """``x`` rounded to 12 significant digits (0.30000000000000004 -> 0.3)."""
    return float(f"{x:.12g}")


@dataclass(frozen=True)
class Axis:
    """One swept case-file key and its values.

    Attributes
    ----------
    key
        The key path, e.g. ``"materials.matrix.conductivity"``.
    kind
        ``"values"`` (an explicit list), ``"lin"``/``"log"`` (``count`` points
        from ``start`` to ``stop``, both included; in a Latin hypercube the
        interval ``[start, stop]``) or ``"range"`` (integers, Python's ``range``).
    values
        The explicit values (``"values"`` and ``"range"``).
    """

    key: str
    kind: str
    values: tuple = ()
    start: float = 0.0
    stop: float = 0.0
    count: Optional[int] = None
    text: str = field(default="", compare=False)

    @property
    def continuous(self) -> bool:
        """True for ``lin``/``log`` (an interval), False for a list or a range."""
        return self.kind in ("lin", "log")

    def grid_values(self) -> list:
        """The values of this axis in a grid design."""
        if not self.continuous:
            return list(self.values)
        if self.count is None:
            raise FemheatInputError(
                f"--param {self.key}: {self.kind}:{self.start:g}:{self.stop:g} has no number "
                f"of points; a grid needs it: {self.kind}:{self.start:g}:{self.stop:g}:N (or "
                "use --design lhs --samples N)")
        if self.kind == "lin":
            vals = np.linspace(self.start, self.stop, self.count)
        else:
            vals = np.logspace(math.log10(self.start), math.log10(self.stop), self.count)
        return [_nice(v) for v in vals]

    def from_unit(self, u: np.ndarray) -> list:
        """Map numbers ``u`` in [0, 1) onto this axis (lin, log or by index)."""
        u = np.asarray(u, dtype=float)
        if self.kind == "lin":
            return [_nice(v) for v in self.start + u * (self.stop - self.start)]
        if self.kind == "log":
            lo, hi = math.log10(self.start), math.log10(self.stop)
            return [_nice(v) for v in 10.0 ** (lo + u * (hi - lo))]
        idx = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
        return [self.values[i] for i in idx]

    def describe(self) -> str:
        """The axis in the command-line syntax (for sweep.json)."""
        if self.text:
            return self.text
        if self.continuous:
            tail = "" if self.count is None else f":{self.count}"
            return f"{self.kind}:{self.start!r}:{self.stop!r}{tail}"
        return ",".join(json.dumps(v) for v in self.values)


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes."""
    items, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    items.append("".join(cur))
    return [i.strip() for i in items]


def _toml_value(item: str, key: str) -> Any:
    """One list item as a TOML value; a bare word that is not TOML is a string."""
    if not item:
        raise FemheatInputError(f"--param {key}: an empty value in the list; {_SYNTAX}")
    try:
        return tomllib.loads(f"v = {item}")["v"]
    except tomllib.TOMLDecodeError:
        if any(c in item for c in "[]{}\"'=") or item[0].isdigit() or item[0] in "+-.":
            raise FemheatInputError(
                f"--param {key}: {item!r} is not a TOML value (numbers 1e-9, strings, "
                "arrays [1, 2], tables {a = 1}); quote strings that look like numbers"
            ) from None
        return item


def _number(text: str, key: str, what: str) -> float:
    try:
        val = float(text)
    except ValueError:
        raise FemheatInputError(f"--param {key}: {what} {text!r} is not a number; "
                                f"{_SYNTAX}") from None
    if not math.isfinite(val):
        raise FemheatInputError(f"--param {key}: {what} must be finite, got {text!r}")
    return val


def _int(text: str, key: str, what: str, minimum: Optional[int] = None) -> int:
    try:
        val = int(text)
    except ValueError:
        raise FemheatInputError(f"--param {key}: {what} {text!r} is not an integer; "
                                f"{_SYNTAX}") from None
    if minimum is not None and val < minimum:
        raise FemheatInputError(f"--param {key}: {what} must be >= {minimum}, got {val}")
    return val


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key or any(not p for p in key.split(".")) \
            or any(c.isspace() for c in key):
        raise FemheatInputError(
            f"--param {key!r}: a key path is dot-separated case-file keys without spaces, "
            "e.g. materials.matrix.conductivity")
    return key


def _parse_values(key: str, spec: str) -> Axis:
    head, _, rest = spec.partition(":")
    if head in ("lin", "log") and rest:
        parts = rest.split(":")
        if len(parts) not in (2, 3):
            raise FemheatInputError(
                f"--param {key}={spec}: write {head}:START:STOP:N (N points, both ends "
                f"included) or, in a Latin hypercube, {head}:START:STOP")
        start = _number(parts[0], key, "START")
        stop = _number(parts[1], key, "STOP")
        count = _int(parts[2], key, "N", 1) if len(parts) == 3 else None
        if head == "log" and (start <= 0 or stop <= 0):
            raise FemheatInputError(
                f"--param {key}={spec}: log-spaced values need START > 0 and STOP > 0; use "
                "lin: for values that reach zero or below")
        return Axis(key, head, (), start, stop, count, text=spec)
    if head == "range" and rest:
        parts = rest.split(":")
        if len(parts) not in (2, 3):
            raise FemheatInputError(f"--param {key}={spec}: write range:START:STOP[:STEP] "
                                    "(integers START, START+STEP, ... below STOP)")
        ints = [_int(p, key, w) for p, w in zip(parts, ("START", "STOP", "STEP"))]
        if len(ints) == 3 and ints[2] == 0:
            raise FemheatInputError(f"--param {key}={spec}: STEP must not be 0")
        values = tuple(range(*ints))
        if not values:
            raise FemheatInputError(f"--param {key}={spec}: the range is empty (STOP is "
                                    "excluded, as in Python: range:0:5 is 0 ... 4)")
        return Axis(key, "range", values, text=spec)
    values = tuple(_toml_value(item, key) for item in _split_top(spec))
    return Axis(key, "values", values, text=spec)


def parse_param(text: str) -> Axis:
    """Parse one command-line ``--param KEY=VALUES`` (syntax in the module docstring)."""
    key, sep, spec = str(text).partition("=")
    key = key.strip()
    if not sep or not spec.strip():
        raise FemheatInputError(f"--param {text!r}: {_SYNTAX}, e.g. "
                                "materials.matrix.conductivity=1,2,5")
    return _parse_values(_check_key(key), spec.strip())


def make_axis(key: str, spec: Any) -> Axis:
    """An :class:`Axis` from the Python API: a sequence of values, a string in the
    command-line syntax (``"log:1e-9:1e-6:7"``, ``"1,2,5"``) or an :class:`Axis`."""
    _check_key(key)
    if isinstance(spec, Axis):
        if spec.key != key:
            raise FemheatInputError(f"params[{key!r}] is an Axis for {spec.key!r}")
        return spec
    if isinstance(spec, str):
        return _parse_values(key, spec.strip())
    if isinstance(spec, np.ndarray):
        spec = spec.tolist()
    if isinstance(spec, (list, tuple, range)):
        if len(spec) == 0:
            raise FemheatInputError(f"params[{key!r}] is empty; give at least one value")
        return Axis(key, "values", tuple(spec))
    raise FemheatInputError(
        f"params[{key!r}] = {spec!r}; give a list of values or a string such as "
        "'log:1e-9:1e-6:7'")


def latin_hypercube(samples: int, dimensions: int, seed: Optional[int] = None) -> np.ndarray:
    """A ``(samples, dimensions)`` Latin hypercube in [0, 1).

    Column ``j`` holds one number in each stratum ``[i/samples, (i+1)/samples)``,
    in a random order and at a random place inside the stratum; the same ``seed``
    gives the same design (NumPy's PCG64).
    """
    if samples < 1:
        raise FemheatInputError(f"--samples must be >= 1, got {samples}")
    rng = np.random.default_rng(seed)
    u = np.empty((samples, dimensions))
    for j in range(dimensions):
        u[:, j] = (rng.permutation(samples) + rng.random(samples)) / samples
    return u


def design_points(axes: Sequence[Axis], design: str = "grid", samples: Optional[int] = None,
                  seed: Optional[int] = None) -> list[dict[str, Any]]:
    """The points of a sweep: one ``{key: value}`` dict per point, in a fixed order.

    ``"grid"``: every combination, the last axis varying fastest. ``"lhs"``:
    :func:`latin_hypercube` of ``samples`` points mapped through each axis.
    """
    if not axes:
        raise FemheatInputError("a sweep needs at least one --param KEY=VALUES")
    keys = [a.key for a in axes]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise FemheatInputError(f"--param {dup[0]} is given twice; give each key once "
                                "with all its values")
    if design == "grid":
        if samples is not None:
            raise FemheatInputError("--samples is for --design lhs; a grid runs every "
                                    "combination of the values")
        grids = [a.grid_values() for a in axes]
        out: list[dict[str, Any]] = [{}]
        for a, vals in zip(axes, grids):
            out = [dict(p, **{a.key: v}) for p in out for v in vals]
        return out
    if design == "lhs":
        if samples is None:
            raise FemheatInputError("--design lhs needs --samples N (the number of points)")
        u = latin_hypercube(int(samples), len(axes), seed)
        cols = [a.from_unit(u[:, j]) for j, a in enumerate(axes)]
        return [{a.key: cols[j][i] for j, a in enumerate(axes)} for i in range(int(samples))]
    raise FemheatInputError(f"--design {design!r}; use one of {', '.join(DESIGNS)}")


# ------------------------------------------------------------------ key paths
def get_path(data: dict, key: str) -> Any:
    """The value at the dotted ``key`` of the case table ``data`` (KeyError if absent)."""
    cur: Any = data
    for part in key.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit() and \
                -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(key)
    return cur


def set_path(data: dict, key: str, value: Any) -> None:
    """Set the dotted ``key`` of the case table ``data`` to ``value`` in place.

    Missing tables on the way are created (the case parser then says whether
    the key is allowed); a part that crosses a value, or an array index out of
    range, raises :class:`~femheat.errors.FemheatInputError` naming the key.
    """
    parts = key.split(".")
    cur: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(parts[:i]) or "the case"
        if isinstance(cur, list):
            if not part.lstrip("-").isdigit() or not -len(cur) <= int(part) < len(cur):
                raise FemheatInputError(
                    f"--param {key}: {here} is an array of {len(cur)} entries; index it "
                    f"with 0 ... {len(cur) - 1}, not {part!r}")
            if last:
                cur[int(part)] = copy.deepcopy(value)
            else:
                cur = cur[int(part)]
            continue
        if not isinstance(cur, dict):
            raise FemheatInputError(
                f"--param {key}: {here} is a value ({cur!r}), not a table; sweep {here} "
                "itself or a key of a table")
        if last:
            cur[part] = copy.deepcopy(value)
        else:
            if part not in cur:
                cur[part] = {}
            cur = cur[part]


# --------------------------------------------------------------------- hashes
def canonical_json(data: Any) -> str:
    """Sorted, compact JSON (TOML dates as ISO text): equal tables give equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str)


def _referenced_files(data: Any, base: Path, where: str = "") -> Iterator[tuple[str, Path]]:
    """(key path, resolved path) of every file a case table names."""
    if isinstance(data, dict):
        for k, v in sorted(data.items()):
            here = f"{where}.{k}" if where else k
            if isinstance(v, str) and (k == "file" or here == "mesh.pygmsh"):
                yield here, (base / v).resolve()
            else:
                yield from _referenced_files(v, base, here)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _referenced_files(v, base, f"{where}.{i}")


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _digest(tag: str, data: Any, base: Path) -> str:
    h = hashlib.sha256(f"femheat-{tag}-v1\n".encode())
    h.update(canonical_json(data).encode())
    for where, path in _referenced_files(data, base):
        h.update(f"\n{where}={_file_digest(path)}".encode())
    return h.hexdigest()


def point_hash(data: dict, base: Path) -> str:
    """SHA-256 of a point's case table and of the contents of the files it names."""
    return _digest("point", data, Path(base))


def geometry_key(mesh_table: Any, base: Path) -> str:
    """Hash of a ``[mesh]`` table and its files: points with equal keys share a mesh."""
    return _digest("mesh", {"mesh": mesh_table}, Path(base))


def check_mesh_table(mesh: Any, base: Path) -> None:
    """The checks of a ``[mesh]`` table that need no meshing: keys, the file or the
    script exists, the builder exists and takes the given parameters."""
    from ..io.case.common import check_keys

    if not isinstance(mesh, dict):
        raise FemheatInputError(f"mesh must be a table, got {mesh!r}")
    check_keys(mesh, {"file", "builder", "pygmsh", "parameters"}, "mesh")
    params = mesh.get("parameters", {})
    if not isinstance(params, dict):
        raise FemheatInputError(f"mesh.parameters must be a table, got {params!r}")
    if "file" in mesh and "parameters" in mesh:
        raise FemheatInputError(
            "mesh.parameters: a mesh file (mesh.file) takes no parameters; they are the "
            "arguments of mesh.builder or of a mesh.pygmsh script")
    for key in ("file", "pygmsh"):
        if key in mesh:
            if not isinstance(mesh[key], str):
                raise FemheatInputError(f"mesh.{key} must be a path string, got {mesh[key]!r}")
            if not (Path(base) / mesh[key]).is_file():
                raise FemheatInputError(f"mesh.{key}: {(Path(base) / mesh[key]).resolve()} "
                                        "does not exist (paths are relative to the case file)")
    if "builder" in mesh:
        from ..mesh.geometry import BUILDERS  # gmsh itself is imported by the builders only

        name = mesh["builder"]
        if not isinstance(name, str) or name not in BUILDERS:
            raise FemheatInputError(f"mesh.builder = {name!r}; the builders are: "
                                    + ", ".join(BUILDERS))
        sig = inspect.signature(BUILDERS[name])
        try:
            sig.bind(path="mesh.msh", **{k: v for k, v in params.items() if k != "path"})
        except TypeError as exc:
            raise FemheatInputError(
                f"mesh.parameters: {exc} for builder {name!r}; its parameters are "
                + ", ".join(p for p in sig.parameters if p != "path")) from None


def resolve_points(base_table: Mapping, points: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The case table of every point: ``base_table`` with the point's values set."""
    out = []
    for p in points:
        data = copy.deepcopy(dict(base_table))
        for key, val in p.items():
            set_path(data, key, val)
        out.append(data)
    return out


# ------------------------------------------------------------- shared meshes
_MESHES: "collections.OrderedDict[str, Any]" = collections.OrderedDict()
_MESH_LOCK = threading.Lock()
_MESH_DIR: list[Path] = []


def _mesh_dir() -> Path:
    """A folder for the meshes this process builds, removed when it exits."""
    if not _MESH_DIR:  # not "femheat-*": keep_inputs would remove it after one point
        _MESH_DIR.append(Path(tempfile.mkdtemp(prefix="femheat_sweep_meshes-")))
        atexit.register(shutil.rmtree, _MESH_DIR[0], True)
    return _MESH_DIR[0]


def shared_mesh(mesh_table: Any, base: str | Path, keep: int = 4) -> Any:
    """The mesh of a ``[mesh]`` table, loaded or built once per process.

    Points whose ``[mesh]`` tables and mesh files are equal
    (:func:`~femheat.pipeline.sweep_params.geometry_key`) share one
    :class:`~femheat.mesh.regions.RegionMesh`; the ``keep`` most recent are kept.
    Returns None for a missing or malformed table (the case parser reports it).
    """
    if not isinstance(mesh_table, dict) or not isinstance(mesh_table.get("parameters", {}),
                                                          dict):
        return None
    key = geometry_key(mesh_table, Path(base))
    with _MESH_LOCK:
        if key in _MESHES:
            _MESHES.move_to_end(key)
            return _MESHES[key]
        from ..io.case.mesh import parse_mesh

        table = copy.deepcopy(mesh_table)
        if "file" not in table and "path" not in table.get("parameters", {}):
            table.setdefault("parameters", {})["path"] = str(_mesh_dir() / f"{key[:16]}.msh")
        regions = parse_mesh({"mesh": table}, Path(base))
        _MESHES[key] = regions
        while len(_MESHES) > keep:
            _MESHES.popitem(last=False)
        return regions


# ----------------------------------------------------------------- validation
class _MeshLater(BaseException):
    """Raised by :data:`_LATER` when the parser reaches the mesh (checked in the task)."""


class _Later:
    """Stands for a mesh not built up front: the parse stops where it is needed."""

    def __getattr__(self, name: str) -> Any:
        raise _MeshLater(name)


def _label(point: Mapping[str, Any], index: int) -> str:
    values = ", ".join(f"{k} = {v!r}" for k, v in point.items())
    return f"sweep point {index} ({values})"


def validate_points(points: Sequence[Mapping[str, Any]], tables: Sequence[dict],
                    base: Path, confirm: bool = False) -> None:
    """Parse every point as a case before anything is submitted.

    The first point's mesh is loaded (or built) here once; every point on that
    geometry gets every check of :func:`~femheat.io.case.parse_case`. A point on
    another generated geometry (a swept ``mesh.*`` key) gets the mesh-table
    checks of :func:`check_mesh_table` and every check that needs no mesh; its
    mesh-dependent checks run in its task. Warnings (plausibility) are issued once
    each. Raises :class:`~femheat.errors.FemheatInputError` naming the point and
    the key.
    """
    import warnings

    from ..io.case import parse_case

    keys = [geometry_key(t.get("mesh"), base) for t in tables]
    first_mesh: Any = None
    checked: set[str] = set()
    seen: dict[str, type] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, (point, data, key) in enumerate(zip(points, tables, keys)):
            digest = point_hash(data, base)
            if digest in checked:
                continue
            checked.add(digest)
            try:
                if isinstance(data.get("mesh"), dict):
                    check_mesh_table(data["mesh"], base)
                if key == keys[0] and first_mesh is None:
                    first_mesh = shared_mesh(data.get("mesh"), base)
                mesh = first_mesh if key == keys[0] else _Later()
                parse_case(data, base, None, confirm=confirm, mesh=mesh)
            except _MeshLater:
                pass
            except FemheatInputError as exc:
                raise FemheatInputError(f"{_label(point, i)}: {exc}") from None
            for w in caught:
                if issubclass(w.category, UserWarning):  # not the libraries' deprecations
                    seen.setdefault(str(w.message), w.category)
            caught.clear()
    for message, category in seen.items():
        warnings.warn(message, category, stacklevel=3)


#: Column names a sweep table can hold (see :func:`~femheat.pipeline.sweep.summary_row`).
QUANTITIES = ("energy_balance_relative_error", "dofs", "final_energy", "reached_time",
              "point_wall_s", "heat_flow.<boundary>",
              "interfaces.<name>.<heat_flow|mean_jump|mean_abs_jump|min_jump|max_jump>",
              "kappa_eff.<xx|xy|yy|...|principal_1...>", "wall_time.<assembly_s|solve_s|"
              "total_s|...>")

_QUANTITY = re.compile(
    r"^(energy_balance_relative_error|dofs|final_energy|reached_time|point_wall_s"
    r"|heat_flow\.[^.\s]+|interfaces\.[^.\s]+\.(heat_flow|mean_jump|mean_abs_jump|min_jump"
    r"|max_jump)|kappa_eff\.([xyz]{2}|principal_[123])|wall_time\.\w+)$")


def check_quantity(name: str) -> str:
    """Refuse a ``--plot`` quantity that no sweep table can hold."""
    if not isinstance(name, str) or not _QUANTITY.match(name):
        raise FemheatInputError(f"--plot {name!r} is not a quantity of the sweep table; "
                                f"use one of: {', '.join(QUANTITIES)}")
    return name
