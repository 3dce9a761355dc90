"""Pictures of results: off-screen PyVista renders, matplotlib line profiles and sweep plots.

PyVista and matplotlib are imported inside the functions, so ``import femheat``
does not need them. Rendering reads the VTU files written by
:class:`femheat.io.writers.VTKSeriesWriter`, i.e. exactly what ParaView shows.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

__all__ = ["render_temperature", "plot_profiles", "plot_sweep"]

log = logging.getLogger(__name__)


def _pyvista():
    # Without an X display, render through EGL (Mesa's libEGL renders off-screen
    # on the CPU) instead of letting VTK try, and warn about, an X connection.
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista as pv

    pv.OFF_SCREEN = True
    return pv


def render_temperature(fields_vtu: str | Path, png: str | Path, *,
                       interfaces_vtu: Optional[str | Path] = None,
                       title: str = "", arrows: int = 400,
                       window_size: Sequence[int] = (1400, 1000)) -> Path:
    """Render the temperature with the heat-flux field over it to a PNG.

    The temperature is drawn on the exploded mesh (linear per cell), so Kapitza
    jumps show as sharp steps; interfaces are outlined; arrows show the cell-mean
    heat flux direction, length proportional to magnitude (about ``arrows`` of them).

    Parameters
    ----------
    fields_vtu
        A ``fields_NNNNN.vtu`` file.
    png
        Output image path.
    interfaces_vtu
        Optional matching ``interfaces_NNNNN.vtu`` to outline the interfaces.
    """
    pv = _pyvista()
    grid = pv.read(str(fields_vtu))
    flat = np.ptp(grid.points[:, 2]) == 0
    p = pv.Plotter(off_screen=True, window_size=list(window_size))
    p.set_background("white")
    bar = dict(title="T [K]", color="black", vertical=True, position_x=0.86,
               position_y=0.15, height=0.7, fmt=_bar_format(grid["temperature"]))
    if flat:
        p.add_mesh(grid, scalars="temperature", cmap="inferno", scalar_bar_args=bar,
                   show_edges=False)
    else:
        p.add_mesh(grid.extract_surface(algorithm="dataset_surface"), scalars="temperature", cmap="inferno",
                   scalar_bar_args=bar, opacity=0.55)  # let the flux arrows show
    if arrows:
        glyphs = _flux_glyphs(pv, grid, arrows, flat)
        if glyphs is not None:
            p.add_mesh(glyphs, color="deepskyblue", show_scalar_bar=False)
    if interfaces_vtu is not None and Path(interfaces_vtu).exists():
        iface = pv.read(str(interfaces_vtu))
        p.add_mesh(iface, color="white", line_width=2, show_scalar_bar=False)
    if flat:
        p.view_xy()
    else:
        p.view_isometric()
    if title:
        p.add_title(title, font_size=10, color="black")
    png = Path(png)
    p.screenshot(str(png))
    p.close()
    return png


def _bar_format(values: np.ndarray) -> str:
    """Enough significant digits to tell the labels apart (a 15 mK rise on 300 K)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    span, size = hi - lo, max(abs(lo), abs(hi))
    digits = 4 if span <= 0 or size <= 0 else int(np.ceil(np.log10(size / span))) + 3
    return f"%.{min(max(digits, 4), 12)}g"


def _flux_glyphs(pv, grid, arrows: int, flat: bool):
    """Arrows of the cell-mean flux on a regular lattice (independent of mesh grading)."""
    from scipy.spatial import cKDTree

    centers = np.asarray(grid.cell_centers().points)
    # mixed models write the cell mean as heat_flux_mean; the kernel model's P1 flux is
    # cell-constant and written as heat_flux
    key = "heat_flux_mean" if "heat_flux_mean" in grid.cell_data else "heat_flux"
    q = np.asarray(grid.cell_data[key])
    mag = np.linalg.norm(q, axis=1)
    if mag.max() <= 0:
        return None
    lo, hi = centers.min(axis=0), centers.max(axis=0)
    ext = np.where(hi - lo > 0, hi - lo, 0.0)
    ndim = 2 if flat else 3
    spacing = (np.prod(ext[:ndim]) / arrows) ** (1.0 / ndim)
    axes = [np.arange(lo[i] + spacing / 2, hi[i], spacing) if ext[i] > 0 else np.array([lo[i]])
            for i in range(3)]
    lattice = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    dist, idx = cKDTree(centers).query(lattice)
    keep = dist < spacing
    pts = pv.PolyData(lattice[keep])
    pts["q"] = q[idx[keep]]
    return pts.glyph(orient="q", scale="q", factor=0.9 * spacing / mag.max())


def plot_profiles(x: np.ndarray, profiles: Sequence[tuple[float, np.ndarray]], png: str | Path,
                  *, reference: Optional[Sequence[tuple[float, np.ndarray]]] = None,
                  xlabel: str = "x [m]", ylabel: str = "T [K]", title: str = "") -> Path:
    """Line plot of temperature profiles at several times (1D-like cases).

    ``profiles`` and ``reference`` are sequences of ``(t, values at x)``; the
    reference (e.g. an analytic solution) is dashed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(len(profiles), 1)))
    for c, (t, y) in zip(colors, profiles):
        ax.plot(x, y, color=c, lw=1.5, label=f"t = {t:.3g} s")
    for c, (t, y) in zip(colors, reference or []):
        ax.plot(x, y, color=c, lw=1, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    png = Path(png)
    fig.savefig(png)
    plt.close(fig)
    return png


def _number(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _log_scale(values: Sequence[float]) -> bool:
    """Log axis for positive values spanning more than two decades."""
    vals = [v for v in values if v is not None and np.isfinite(v)]
    return bool(vals) and min(vals) > 0 and max(vals) / min(vals) > 100


def plot_sweep(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], quantity: str,
               png: str | Path, *, title: str = "") -> Optional[Path]:
    """Plot ``quantity`` of a sweep table versus its swept ``keys``.

    One swept key: a line through the completed points. A grid of several keys:
    one line per combination of the other keys versus the first. Points off a
    grid (a Latin hypercube): one scatter panel per key. Axes spanning more than
    two decades are logarithmic; non-numeric values are placed by their order.
    Returns None (and logs why) when no completed row holds a number for
    ``quantity``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r.get("status") == "completed"
            and _number(r.get(quantity)) is not None]
    if not done:
        have = sorted({k for r in rows for k, v in r.items() if _number(v) is not None
                       and k not in keys and k != "point"})
        log.warning("no completed point has a number for %r: no plot; numeric columns: %s",
                    quantity, ", ".join(have) or "none")
        return None

    def axis_values(key: str) -> tuple[list[float], Optional[list[str]]]:
        raw = [r.get(key) for r in done]
        if all(_number(v) is not None for v in raw):
            return [float(v) for v in raw], None
        labels = list(dict.fromkeys(json.dumps(v, default=str) for v in raw))
        return [float(labels.index(json.dumps(v, default=str))) for v in raw], labels

    y = [float(r[quantity]) for r in done]
    others = list(keys[1:])
    combos = list(dict.fromkeys(tuple(json.dumps(r.get(k), default=str) for k in others)
                                for r in done))
    xs, labels = axis_values(keys[0])
    per_combo = len(done) / max(len(combos), 1)
    grid = len(keys) == 1 or (len(combos) < len(done) and per_combo >= 2)
    panels = [keys[0]] if grid else list(keys)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), dpi=120,
                             squeeze=False)
    if grid:
        ax = axes[0, 0]
        colors = plt.cm.viridis(np.linspace(0, 0.9, max(len(combos), 1)))
        for c, combo in zip(colors, combos):
            sel = [i for i, r in enumerate(done)
                   if tuple(json.dumps(r.get(k), default=str) for k in others) == combo]
            sel.sort(key=lambda i: xs[i])
            label = ", ".join(f"{'.'.join(k.split('.')[-2:])} = {json.loads(v)}"
                              for k, v in zip(others, combo)) or None
            ax.plot([xs[i] for i in sel], [y[i] for i in sel], "o-", color=c, lw=1.5,
                    ms=4, label=label)
        if len(combos) > 1:
            ax.legend(fontsize=7, ncol=1 + len(combos) // 12)
    for ax, key in zip(axes[0], panels):
        xk, lk = (xs, labels) if key == keys[0] else axis_values(key)
        if not grid:
            ax.scatter(xk, y, s=14, c="C0")
        if lk:
            ax.set_xticks(range(len(lk)), lk, rotation=30, fontsize=7)
        elif _log_scale(xk):
            ax.set_xscale("log")
        if _log_scale(y):
            ax.set_yscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(quantity)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    png = Path(png)
    fig.savefig(png)
    plt.close(fig)
    return png
