"""The fit of a case file end to end, and its report: JSON, PNG and the fitted case.

:func:`fit_case` reads the case's ``[fit]`` section (experiment, parameters,
options), checks everything that needs no solve (parameter paths, bounds, data
ranges, point counts), fits (:func:`~femheat.inverse.fit.fit`) and
:func:`write_report` writes into the output folder, each file atomically:

* ``fit.json``: values, standard deviations, 95 % intervals, covariance,
  correlation, χ², noise per data set, forward solves, warnings;
* ``fit.png``: data against fit with the residuals, sensitivity curves S_p(t) at the
  initial values (before the fit) and at the fit, and the correlation matrix;
* ``fitted.toml``: the case with the fitted values, ready for ``femheat run``.

``[fit]`` keys: ``experiment`` ("flash" | "grating" | "frequency"), ``parameters``
(see :mod:`~femheat.inverse.parameters`), ``jacobian`` ("auto" | "tangent" | "fd" |
"central" | "forward"), ``step`` (relative), ``monte_carlo`` (refits), ``seed``,
``collinearity``, and the observable's options (``rear``; ``period``, ``axis``;
``probe``, ``quantity`` of a ``[frequency]`` case, :mod:`~femheat.inverse.frequency`).
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..errors import FemheatInputError
from .data import Dataset, read_data
from .fit import FitResult, fit
from .forward import OBSERVABLES, CaseForward
from .parameters import FitParameter, parse_fit_parameters, resolve_parameters

__all__ = ["fit_case", "write_report", "dump_toml", "FIT_KEYS"]

FIT_KEYS = {"experiment", "parameters", "jacobian", "step", "monte_carlo", "seed",
            "collinearity", "rear", "period", "axis", "probe", "quantity", "reuse"}
_FREQUENCY_OPTIONS = ("probe", "quantity", "reuse")


def fit_case(case: str | Path | Mapping, data: Sequence[str | Path | Dataset], *,
             parameters: Optional[Sequence[FitParameter]] = None, base: Optional[Path] = None,
             **options: Any) -> tuple[FitResult, Any]:
    """Fit the case's ``[fit]`` parameters to the data files (or data sets).

    ``case`` is a case file or its table (then ``base`` is its folder);
    ``parameters`` replace those of ``[fit.parameters]``; ``options`` override the
    other ``[fit]`` keys. Returns the result and the forward model (for the report).
    """
    from ..io.case import read_case_table

    if isinstance(case, (str, Path)):
        table, base = read_case_table(case), Path(case).parent
    else:
        table, base = dict(case), Path(base or ".")
    spec = dict(table.get("fit", {}))
    if not isinstance(table.get("fit", {}), Mapping):
        raise FemheatInputError("fit must be a table ([fit])")
    spec.update({k: v for k, v in options.items() if v is not None})
    bad = sorted(set(spec) - FIT_KEYS)
    if bad:
        raise FemheatInputError(f"fit: unknown key(s) {bad}; allowed: {', '.join(sorted(FIT_KEYS))}")
    experiment = spec.get("experiment", "flash")
    if experiment not in OBSERVABLES and experiment != "frequency":
        raise FemheatInputError(f"fit.experiment = {experiment!r}; use one of "
                                f"{', '.join(OBSERVABLES)}, frequency")
    allowed = _FREQUENCY_OPTIONS if experiment == "frequency" else OBSERVABLES[experiment][1]
    wrong = sorted(set(spec) & (set(_FREQUENCY_OPTIONS) | {"rear", "period", "axis"})
                   - set(allowed))
    if wrong:
        raise FemheatInputError(f"fit: option(s) {wrong} do not apply to experiment "
                                f"{experiment!r}; its options: {', '.join(allowed)}")
    if parameters is None:
        parameters = parse_fit_parameters(spec.get("parameters", {}))
    params = resolve_parameters({k: v for k, v in table.items() if k != "fit"}, parameters)
    sets = [d if isinstance(d, Dataset) else read_data(d, experiment) for d in data]
    m = len(params)
    n = sum(d.x.size for d in sets)
    if n <= m:
        raise FemheatInputError(f"too few data points: {n} for {m} parameters "
                                f"({', '.join(p.key for p in params)})")
    obs_opts = {k: spec[k] for k in allowed if k in spec}
    keys = [p.key for p in params]
    if experiment == "frequency":
        from .frequency import FrequencyForward

        forward: Any = FrequencyForward(table, base, keys, sets, **obs_opts)
    else:
        forward = CaseForward(table, base, keys, sets, experiment, obs_opts)
    kw = {k: spec[k] for k in ("jacobian", "step", "monte_carlo", "seed", "collinearity")
          if k in spec}
    return fit(forward, sets, params, **kw), forward


# ----------------------------------------------------------------------- TOML
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise FemheatInputError(f"cannot write {v!r} to TOML")


def dump_toml(data: Mapping, prefix: str = "") -> str:
    """A case table as TOML text (tables as sections, arrays of tables inline)."""
    out = io.StringIO()
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    for k, v in scalars.items():
        out.write(f"{_key(k)} = {_value(v)}\n")
    for k, v in tables.items():
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        body = dump_toml(v, name)
        if any(not isinstance(x, Mapping) for x in v.values()) or not v:
            out.write(f"\n[{name}]\n")
        out.write(body)
    return out.getvalue()


# --------------------------------------------------------------------- report
def _plot(result: FitResult, path: Path, xlabel: str = "time [s]") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_path

    m = len(result.keys)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), dpi=110,
                             gridspec_kw={"height_ratios": [3, 2]})
    ax, axs, axr, axc = axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]
    for d, f, c in zip(result.datasets, result.fitted, plt.cm.tab10.colors):
        ax.plot(d.x, d.signal, ".", ms=3, color=c, label=f"{d.name} (data)")
        ax.plot(d.x, f, "-", lw=1.2, color=c, label=f"{d.name} (fit)")
        axr.plot(d.x, d.signal - f, ".", ms=3, color=c)
    ax.set_ylabel("signal [SI]")
    ax.set_title("data and fit")
    ax.legend(fontsize=7)
    axr.axhline(0, color="0.4", lw=0.6)
    axr.set_xlabel(xlabel)
    axr.set_ylabel("residual")
    short = [k.split(".")[-1] if k.count(".") else k for k in result.keys]
    for j, c in zip(range(m), plt.cm.tab10.colors):
        for i, d in enumerate(result.datasets):
            axs.plot(d.x, result.sensitivities_initial[i][:, j], "--", color=c, lw=1,
                     label=f"{short[j]} (initial)" if i == 0 else None)
            axs.plot(d.x, result.sensitivities[i][:, j], "-", color=c, lw=1.2,
                     label=f"{short[j]} (fit)" if i == 0 else None)
    axs.axhline(0, color="0.4", lw=0.6)
    axs.set_xlabel(xlabel)
    axs.set_ylabel("S_p = d ln(signal) / d ln(p)")
    axs.set_title("sensitivities")
    axs.legend(fontsize=7)
    im = axc.imshow(result.correlation, vmin=-1, vmax=1, cmap="RdBu_r")
    axc.set_xticks(range(m), short, rotation=30, fontsize=7)
    axc.set_yticks(range(m), short, fontsize=7)
    for i in range(m):
        for j in range(m):
            axc.text(j, i, f"{result.correlation[i, j]:+.2f}", ha="center", va="center",
                     fontsize=8)
    axc.set_title("correlation")
    if xlabel.startswith("frequency"):
        for a in (ax, axs, axr):
            a.set_xscale("log")
    fig.colorbar(im, ax=axc, shrink=0.8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_report(result: FitResult, forward: Optional[CaseForward], outdir: str | Path,
                 *, png: bool = True) -> dict[str, Path]:
    """Write ``fit.json``, ``fit.png`` and (with a case forward) ``fitted.toml``."""
    from ..io.atomic import write_text

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "fit.json"}
    body = result.to_dict()
    if forward is not None:
        body["experiment"] = forward.experiment
        body["forward_solves_case"] = forward.solves
        if hasattr(forward, "tangent_solves"):
            body["tangent_solves"] = forward.tangent_solves
    write_text(files["json"], json.dumps(body, indent=2, default=float) + "\n")
    if png:
        files["png"] = out / "fit.png"
        freq = getattr(forward, "experiment", "") == "frequency"
        _plot(result, files["png"], "frequency [Hz]" if freq else "time [s]")
    if forward is not None:
        table = forward.fitted_table(result.values)
        _absolute_paths(table, forward.base, out)
        files["case"] = out / "fitted.toml"
        head = "# femheat fit: " + ", ".join(f"{k} = {v:.6g}" for k, v in
                                             result.as_dict().items()) + "\n"
        write_text(files["case"], head + dump_toml(table))
    return files


def _absolute_paths(table: dict, base: Path, out: Path) -> None:
    """Make the files the case names (mesh file, pygmsh script) valid from ``out``."""
    import os

    mesh = table.get("mesh", {})
    for key in ("file", "pygmsh"):
        if isinstance(mesh.get(key), str):
            target = (base / mesh[key]).resolve()
            mesh[key] = os.path.relpath(target, out.resolve())
