"""Pictures of results: off-screen VTK renders, matplotlib line profiles and sweep plots.

VTK (installed with PyVista) and matplotlib are imported inside the functions, so
``import femheat`` does not need them. Rendering reads the VTU files written by
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


#: matplotlib's "inferno" at 17 evenly spaced points (linear in between: within 7/255)
_INFERNO = (
    (0.0015, 0.0005, 0.0139), (0.0423, 0.0281, 0.1411), (0.1293, 0.0473, 0.2908),
    (0.2383, 0.0366, 0.3964), (0.3415, 0.0623, 0.4294), (0.4412, 0.0993, 0.4316),
    (0.5409, 0.1347, 0.4151), (0.6401, 0.1714, 0.3811), (0.7357, 0.2159, 0.3302),
    (0.8224, 0.2752, 0.2661), (0.8943, 0.3534, 0.1936), (0.9470, 0.4492, 0.1153),
    (0.9784, 0.5579, 0.0349), (0.9879, 0.6753, 0.0653), (0.9746, 0.7977, 0.2063),
    (0.9476, 0.9174, 0.4107), (0.9884, 0.9984, 0.6449))


def _vtk():
    """The VTK modules of an off-screen render, imported on first use.

    VTK directly rather than ``pyvista.plotting``, which imports matplotlib.pyplot
    (about 2 s of CPU time before the first pixel; issue 19). Without an X display,
    render through EGL (Mesa's libEGL renders off-screen on the CPU) instead of
    letting VTK try, and warn about, an X connection.
    """
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    from types import SimpleNamespace

    import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text)
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backend)
    from vtkmodules import (vtkCommonCore, vtkCommonDataModel, vtkFiltersCore,
                            vtkFiltersGeometry, vtkFiltersSources, vtkIOImage, vtkIOXML,
                            vtkRenderingAnnotation, vtkRenderingCore)
    from vtkmodules.util import numpy_support

    return SimpleNamespace(core=vtkCommonCore, data=vtkCommonDataModel, filters=vtkFiltersCore,
                           geometry=vtkFiltersGeometry, sources=vtkFiltersSources,
                           image=vtkIOImage, xml=vtkIOXML, annotation=vtkRenderingAnnotation,
                           render=vtkRenderingCore, np=numpy_support)


def _read(vtk, path: str | Path):
    """The unstructured grid of a .vtu file."""
    reader = vtk.xml.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    return reader.GetOutput()


def render_temperature(fields_vtu: str | Path, png: str | Path, *,
                       interfaces_vtu: Optional[str | Path] = None,
                       title: str = "", arrows: int = 400,
                       window_size: Sequence[int] = (1400, 1000)) -> Path:
    """Render the temperature with the heat-flux field over it to a PNG.

    The temperature is drawn on the exploded mesh (linear per cell), so Kapitza
    jumps show as sharp steps; interfaces are outlined; arrows show the cell-mean
    heat flux direction, length proportional to magnitude (about ``arrows`` of them).
    3D results show the boundary surface, half transparent, from an isometric view.

    Parameters
    ----------
    fields_vtu
        A ``fields_NNNNN.vtu`` file.
    png
        Output image path.
    interfaces_vtu
        Optional matching ``interfaces_NNNNN.vtu`` to outline the interfaces.
    """
    vtk = _vtk()
    grid = _read(vtk, fields_vtu)
    points = vtk.np.vtk_to_numpy(grid.GetPoints().GetData()).astype(float)
    temperature = vtk.np.vtk_to_numpy(grid.GetPointData().GetArray("temperature"))
    flat = np.ptp(points[:, 2]) == 0
    grid.GetPointData().SetActiveScalars("temperature")

    lo, hi = _range(temperature)
    lut = _lut(vtk, lo, hi)

    renderer = vtk.render.vtkRenderer()
    renderer.SetBackground(1.0, 1.0, 1.0)
    if flat:
        source = grid
    else:
        surface = vtk.geometry.vtkDataSetSurfaceFilter()
        surface.SetInputData(grid)
        surface.Update()
        source = surface.GetOutput()
    mapper = vtk.render.vtkDataSetMapper()
    mapper.SetInputData(source)
    mapper.SetLookupTable(lut)
    mapper.SetScalarRange(lo, hi)
    mapper.SetScalarModeToUsePointData()
    field = vtk.render.vtkActor()
    field.SetMapper(mapper)
    if not flat:
        field.GetProperty().SetOpacity(0.55)  # let the flux arrows show
    renderer.AddActor(field)

    renderer.AddViewProp(_colorbar(vtk, lut, "T [K]", _bar_format(temperature), window_size))

    if arrows:
        glyphs = _flux_glyphs(vtk, grid, arrows, flat)
        if glyphs is not None:
            gm = vtk.render.vtkPolyDataMapper()
            gm.SetInputConnection(glyphs.GetOutputPort())
            gm.ScalarVisibilityOff()
            ga = vtk.render.vtkActor()
            ga.SetMapper(gm)
            ga.GetProperty().SetColor(0.0, 0.749, 1.0)  # deepskyblue
            renderer.AddActor(ga)
    if interfaces_vtu is not None and Path(interfaces_vtu).exists():
        im = vtk.render.vtkDataSetMapper()
        im.SetInputData(_read(vtk, interfaces_vtu))
        im.ScalarVisibilityOff()
        ia = vtk.render.vtkActor()
        ia.SetMapper(im)
        ia.GetProperty().SetColor(1.0, 1.0, 1.0)
        ia.GetProperty().SetLineWidth(2)
        renderer.AddActor(ia)

    camera = renderer.GetActiveCamera()
    centre = 0.5 * (points.min(axis=0) + points.max(axis=0))
    camera.SetFocalPoint(*centre)
    if flat:
        camera.SetPosition(centre[0], centre[1], centre[2] + 1.0)
        camera.SetViewUp(0.0, 1.0, 0.0)
    else:
        camera.SetPosition(*(centre + 1.0))
        camera.SetViewUp(0.0, 0.0, 1.0)
    renderer.ResetCamera()
    if title:
        renderer.AddViewProp(_label(vtk, title, window_size))

    png = Path(png)
    _snapshot(vtk, renderer, window_size, png)
    return png


def _range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of ``values``, widened when they are all equal (a colour range)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 1e-12
    return lo, hi


def _lut(vtk, lo: float, hi: float):
    """matplotlib's "inferno" as a 256-entry VTK lookup table over [lo, hi]."""
    lut = vtk.core.vtkLookupTable()
    lut.SetNumberOfTableValues(256)
    lut.Build()
    anchors = np.asarray(_INFERNO)
    xs = np.linspace(0, 1, len(anchors))
    for i, x in enumerate(np.linspace(0, 1, 256)):
        lut.SetTableValue(i, *(float(np.interp(x, xs, anchors[:, k])) for k in range(3)), 1.0)
    lut.SetTableRange(lo, hi)
    return lut


def _colorbar(vtk, lut, title: str, label_format: str, window_size: Sequence[int]):
    """A vertical colour bar at the right edge, black text, titled with its unit."""
    bar = vtk.annotation.vtkScalarBarActor()
    bar.SetLookupTable(lut)
    bar.SetTitle(title)
    bar.SetLabelFormat(label_format)
    bar.SetOrientationToVertical()
    bar.SetPosition(0.86, 0.15)
    bar.SetWidth(0.08)
    bar.SetHeight(0.7)
    bar.SetNumberOfLabels(5)
    bar.SetMaximumNumberOfColors(256)
    bar.UnconstrainedFontSizeOn()
    font = max(12, int(0.02 * window_size[1]))
    for text in (bar.GetTitleTextProperty(), bar.GetLabelTextProperty()):
        _black(text, font)
    return bar


def _black(text, size: int) -> None:
    text.SetFontSize(size)
    text.SetColor(0.0, 0.0, 0.0)
    text.SetItalic(False)
    text.SetBold(False)
    text.SetShadow(False)


def _label(vtk, text: str, window_size: Sequence[int], y: float = 0.97):
    """A centred line of black text near the top of the picture."""
    label = vtk.render.vtkTextActor()
    label.SetInput(text)
    prop = label.GetTextProperty()
    prop.SetColor(0.0, 0.0, 0.0)
    prop.SetFontSize(max(12, int(0.022 * window_size[1])))
    prop.SetJustificationToCentered()
    prop.SetVerticalJustificationToTop()
    label.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    label.GetPositionCoordinate().SetValue(0.5, y)
    return label


def _snapshot(vtk, renderer, window_size: Sequence[int],
              png: Optional[str | Path] = None) -> np.ndarray:
    """Render ``renderer`` off-screen; the RGB image (rows top to bottom), also as ``png``."""
    window = vtk.render.vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetMultiSamples(0)  # 8x MSAA costs ~0.4 s of CPU in a software (Mesa) render
    window.SetSize(int(window_size[0]), int(window_size[1]))
    window.AddRenderer(renderer)
    window.Render()
    shot = vtk.render.vtkWindowToImageFilter()
    shot.SetInput(window)
    shot.ReadFrontBufferOff()
    shot.Update()
    if png is not None:
        writer = vtk.image.vtkPNGWriter()
        writer.SetFileName(str(png))
        writer.SetInputConnection(shot.GetOutputPort())
        writer.Write()
    image = shot.GetOutput()
    w, h, _ = image.GetDimensions()
    rgb = vtk.np.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, -1)[::-1, :, :3]
    window.Finalize()
    return np.ascontiguousarray(rgb)


def _bar_format(values: np.ndarray) -> str:
    """Enough significant digits to tell the labels apart (a 15 mK rise on 300 K)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    span, size = hi - lo, max(abs(lo), abs(hi))
    digits = 4 if span <= 0 or size <= 0 else int(np.ceil(np.log10(size / span))) + 3
    return f"%.{min(max(digits, 4), 12)}g"


def _cell_flux_key(cell_data) -> Optional[str]:
    """Name of the cell-mean flux array: mixed models write ``heat_flux_mean``; the kernel
    model's P1 flux is cell-constant and written as ``heat_flux``; None if neither."""
    for key in ("heat_flux_mean", "heat_flux"):
        if cell_data.HasArray(key):
            return key
    return None


def _flux_glyphs(vtk, grid, arrows: int, flat: bool):
    """Arrows of the cell-mean flux on a regular lattice (independent of mesh grading)."""
    cd = grid.GetCellData()
    key = _cell_flux_key(cd)
    if key is None:
        return None
    centres = vtk.filters.vtkCellCenters()
    centres.SetInputData(grid)
    centres.VertexCellsOff()
    centres.Update()
    centers = vtk.np.vtk_to_numpy(centres.GetOutput().GetPoints().GetData()).astype(float)
    q = vtk.np.vtk_to_numpy(cd.GetArray(key)).reshape(len(centers), -1).astype(float)
    if q.shape[1] < 3:
        q = np.hstack([q, np.zeros((q.shape[0], 3 - q.shape[1]))])
    mag = np.linalg.norm(q, axis=1)
    if mag.size == 0 or mag.max() <= 0:
        return None
    lo, hi = centers.min(axis=0), centers.max(axis=0)
    ext = np.where(hi - lo > 0, hi - lo, 0.0)
    # a lattice in the directions the cells span (2D, a slice plane, or 3D)
    ndim = int(np.count_nonzero(ext > 0))
    if ndim == 0:
        return None
    spacing = (np.prod(ext[ext > 0]) / arrows) ** (1.0 / ndim)
    axes = [np.arange(lo[i] + spacing / 2, hi[i], spacing) if ext[i] > 0 else np.array([lo[i]])
            for i in range(3)]
    # per lattice box, the cell whose centre is nearest to the box centre (no KD-tree:
    # scipy.spatial costs more to import than the search takes)
    shape = [len(a) for a in axes]
    k = np.stack([np.clip(np.floor((centers[:, i] - lo[i]) / spacing), 0, shape[i] - 1)
                  if ext[i] > 0 else np.zeros(len(centers)) for i in range(3)]).astype(np.int64)
    box = np.ravel_multi_index(tuple(k), shape)
    lattice = np.stack([axes[i][k[i]] for i in range(3)], axis=1)
    dist = np.linalg.norm(centers - lattice, axis=1)
    order = np.lexsort((dist, box))
    first = order[np.r_[True, box[order][1:] != box[order][:-1]]]
    pts = vtk.core.vtkPoints()
    pts.SetData(vtk.np.numpy_to_vtk(np.ascontiguousarray(lattice[first]), deep=True))
    vec = vtk.np.numpy_to_vtk(np.ascontiguousarray(q[first]), deep=True)
    vec.SetName("q")
    poly = vtk.data.vtkPolyData()
    poly.SetPoints(pts)
    poly.GetPointData().SetVectors(vec)
    arrow = vtk.sources.vtkArrowSource()
    glyph = vtk.filters.vtkGlyph3D()
    glyph.SetInputData(poly)
    glyph.SetSourceConnection(arrow.GetOutputPort())
    glyph.SetVectorModeToUseVector()
    glyph.SetScaleModeToScaleByVector()
    glyph.OrientOn()
    glyph.SetScaleFactor(0.9 * spacing / mag.max())
    glyph.Update()
    return glyph


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
