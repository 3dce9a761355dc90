"""Pictures inside 3D results: slices and clips, flux glyphs and streamlines (VTK, off-screen).

Both read a ``fields_NNNNN.vtu`` written by femheat (the exploded mesh: every cell
has its own copies of its vertices), so a plane through it carries the
temperature linear per cell and a Kapitza jump stays a sharp step on the slice.

* :func:`render_slices`: planes through the body (by default the three
  orthogonal planes through the centre of its bounding box), coloured by T, with
  arrows of the cell-mean heat flux on each plane and the interfaces cut by the
  planes drawn as white lines;
* :func:`render_clip`: the body with the half on the normal's side of a plane
  removed (by default y < centre; the viewer looks at the cut face), and
  streamlines of the heat flux traced through the whole body, drawn where the
  clip removed the material.

Every picture has a colour bar "T [K]" and axes labelled in a length unit chosen
from the body's size (m, mm, µm or nm). ``scalar_range`` fixes the colours (an
animation uses one range for every frame); ``time`` [s] adds a time label.
VTK is imported inside the functions (:func:`femheat.visuals.rendering._vtk`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .rendering import (_bar_format, _black, _cell_flux_key, _colorbar, _flux_glyphs, _label,
                        _lut, _range, _read, _snapshot, _vtk)

__all__ = ["length_unit", "slice_planes", "render_slices", "render_clip", "slice_image",
           "time_label"]

log = logging.getLogger(__name__)

_UNITS = ((1.0, "m"), (1e-3, "mm"), (1e-6, "µm"), (1e-9, "nm"))


def length_unit(extent: float) -> tuple[float, str]:
    """(metres per unit, unit name) for axes of a body ``extent`` metres across.

    The largest of m, mm, µm, nm in which the extent is at least 0.1 unit.
    """
    for scale, name in _UNITS:
        if extent >= 0.1 * scale:
            return scale, name
    return _UNITS[-1]


def time_label(t: float) -> str:
    """``"t = 1.25 µs"``: the time [s] with an SI prefix."""
    for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"), (1e-12, "ps")):
        if abs(t) >= scale:
            return f"t = {t / scale:.4g} {name}"
    return f"t = {t:.4g} s"


def slice_planes(bounds: ArrayLike, normals: Optional[Sequence[ArrayLike]] = None,
                 origins: Optional[Sequence[ArrayLike]] = None
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (origin, unit normal) of each slice plane.

    Parameters
    ----------
    bounds
        (xmin, xmax, ymin, ymax, zmin, zmax) of the body [m].
    normals
        Plane normals (default: x, y and z).
    origins
        A point of each plane [m] (default: the centre of ``bounds`` for every plane).
    """
    b = np.asarray(bounds, dtype=float).reshape(3, 2)
    centre = b.mean(axis=1)
    normals = np.eye(3) if normals is None else np.atleast_2d(np.asarray(normals, dtype=float))
    if normals.shape[1] != 3 or np.any(np.linalg.norm(normals, axis=1) == 0):
        raise ValueError(f"normals must be non-zero 3-vectors, got {normals.tolist()}")
    if origins is None:
        origins = np.tile(centre, (len(normals), 1))
    origins = np.atleast_2d(np.asarray(origins, dtype=float))
    if origins.shape != normals.shape:
        raise ValueError(f"origins must give one 3D point per normal ({len(normals)}), got "
                         f"{origins.tolist()}")
    return [(o, n / np.linalg.norm(n)) for o, n in zip(origins, normals)]


def _plane(vtk, origin: np.ndarray, normal: np.ndarray):
    plane = vtk.data.vtkPlane()
    plane.SetOrigin(*map(float, origin))
    plane.SetNormal(*map(float, normal))
    return plane


def _cut(vtk, data, origin: np.ndarray, normal: np.ndarray):
    """The intersection of ``data`` with a plane (polygons, point and cell data kept)."""
    cutter = vtk.filters.vtkCutter()
    cutter.SetInputData(data)
    cutter.SetCutFunction(_plane(vtk, origin, normal))
    cutter.GenerateTrianglesOn()
    cutter.Update()
    return cutter.GetOutput()


def _actor(vtk, data, lut=None, rng: Optional[tuple[float, float]] = None,
           color: Sequence[float] = (0.0, 0.0, 0.0), width: float = 1.0, opacity: float = 1.0):
    mapper = vtk.render.vtkDataSetMapper()
    mapper.SetInputData(data)
    if lut is not None:
        mapper.SetLookupTable(lut)
        mapper.SetScalarRange(*rng)
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray("temperature")
        mapper.InterpolateScalarsBeforeMappingOn()  # colours from the table, not RGB blends
        mapper.ScalarVisibilityOn()
    else:
        mapper.ScalarVisibilityOff()
    actor = vtk.render.vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    if lut is None:
        prop.SetColor(*color)
    prop.SetLineWidth(width)
    prop.SetOpacity(opacity)
    return actor


def _glyph_actor(vtk, data, arrows: int):
    glyphs = _flux_glyphs(vtk, data, arrows, False)
    if glyphs is None:
        return None
    mapper = vtk.render.vtkPolyDataMapper()
    mapper.SetInputConnection(glyphs.GetOutputPort())
    mapper.ScalarVisibilityOff()
    actor = vtk.render.vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(0.0, 0.749, 1.0)  # deepskyblue
    return actor


def _axes(vtk, renderer, bounds: np.ndarray, window_size: Sequence[int]):
    """Axes along the outer edges of the bounding box, three labels each, in a length
    unit that suits the body (the labels are the coordinates divided by the unit)."""
    scale, unit = length_unit(float(np.max(bounds[1::2] - bounds[::2])))
    axes = vtk.annotation.vtkCubeAxesActor2D()
    axes.SetBounds(*map(float, bounds))
    axes.SetRanges(*map(float, bounds / scale))
    axes.UseRangesOn()
    axes.SetCamera(renderer.GetActiveCamera())
    axes.SetXLabel(f"x [{unit}]")
    axes.SetYLabel(f"y [{unit}]")
    axes.SetZLabel(f"z [{unit}]")
    axes.SetLabelFormat("%.3g")
    axes.SetNumberOfLabels(3)
    axes.SetFlyModeToOuterEdges()
    axes.SetFontFactor(1.3)
    axes.ScalingOff()
    axes.GetProperty().SetColor(0.0, 0.0, 0.0)
    font = max(11, int(0.016 * window_size[1]))
    _black(axes.GetAxisTitleTextProperty(), font)
    _black(axes.GetAxisLabelTextProperty(), font)
    return axes, unit


def _outline(vtk, grid):
    """The 12 edges of the bounding box."""
    from vtkmodules.vtkFiltersModeling import vtkOutlineFilter

    f = vtkOutlineFilter()
    f.SetInputData(grid)
    f.Update()
    return f.GetOutput()


def _camera(renderer, bounds: np.ndarray, direction: Sequence[float]) -> None:
    """Look at the centre of ``bounds`` from ``direction``, z up (y up looking along z)."""
    centre = 0.5 * (bounds[::2] + bounds[1::2])
    direction = np.asarray(direction, dtype=float)
    if direction.shape != (3,) or not np.linalg.norm(direction) > 0:
        raise ValueError(f"view must be a non-zero 3-vector, got {direction.tolist()}")
    camera = renderer.GetActiveCamera()
    camera.SetFocalPoint(*centre)
    camera.SetPosition(*(centre + direction))
    vertical = abs(direction[2]) > 0.99 * np.linalg.norm(direction)
    camera.SetViewUp(*((0.0, 1.0, 0.0) if vertical else (0.0, 0.0, 1.0)))
    renderer.ResetCamera()
    camera.Zoom(0.85)  # room for the axes' labels


def _scene(vtk, grid, temperature: np.ndarray, scalar_range, title: str, time,
           window_size: Sequence[int]):
    renderer = vtk.render.vtkRenderer()
    renderer.SetBackground(1.0, 1.0, 1.0)
    lo, hi = _range(temperature) if scalar_range is None else map(float, scalar_range)
    lut = _lut(vtk, lo, hi)
    renderer.AddViewProp(_colorbar(vtk, lut, "T [K]", _bar_format(np.array([lo, hi])),
                                   window_size))
    if title:
        renderer.AddViewProp(_label(vtk, title, window_size))
    if time is not None:
        renderer.AddViewProp(_label(vtk, time_label(float(time)), window_size,
                                    y=0.92 if title else 0.97))
    return renderer, lut, (lo, hi)


def _load(vtk, fields_vtu):
    grid = _read(vtk, fields_vtu)
    if grid.GetNumberOfCells() == 0:
        raise ValueError(f"{fields_vtu}: no cells")
    temperature = vtk.np.vtk_to_numpy(grid.GetPointData().GetArray("temperature"))
    bounds = np.array(grid.GetBounds())
    return grid, temperature, bounds


def _slices_renderer(vtk, fields_vtu, *, planes, interfaces_vtu, arrows, scalar_range,
                     title, time, window_size, view=(1.0, -1.3, 0.9)):
    grid, temperature, bounds = _load(vtk, fields_vtu)
    renderer, lut, rng = _scene(vtk, grid, temperature, scalar_range, title, time, window_size)
    planes = slice_planes(bounds) if planes is None else planes
    interfaces = (_read(vtk, interfaces_vtu) if interfaces_vtu is not None
                  and Path(interfaces_vtu).exists() else None)
    for origin, normal in planes:
        cut = _cut(vtk, grid, origin, normal)
        if cut.GetNumberOfCells() == 0:
            log.info("slice through %s with normal %s misses the body", origin, normal)
            continue
        renderer.AddActor(_actor(vtk, cut, lut, rng))
        if arrows:
            glyphs = _glyph_actor(vtk, cut, arrows)
            if glyphs is not None:
                renderer.AddActor(glyphs)
        if interfaces is not None:
            lines = _cut(vtk, interfaces, origin, normal)
            if lines.GetNumberOfCells():
                renderer.AddActor(_actor(vtk, lines, color=(1.0, 1.0, 1.0), width=3.0))
    renderer.AddActor(_actor(vtk, _outline(vtk, grid), color=(0.3, 0.3, 0.3)))
    axes, _ = _axes(vtk, renderer, bounds, window_size)
    renderer.AddViewProp(axes)
    _camera(renderer, bounds, view)
    return renderer


def render_slices(fields_vtu: str | Path, png: str | Path, *,
                  planes: Optional[Sequence[tuple[ArrayLike, ArrayLike]]] = None,
                  interfaces_vtu: Optional[str | Path] = None, arrows: int = 120,
                  scalar_range: Optional[tuple[float, float]] = None, title: str = "",
                  time: Optional[float] = None, view: ArrayLike = (1.0, -1.3, 0.9),
                  window_size: Sequence[int] = (1200, 900)) -> Path:
    """Slices of a 3D result coloured by the (discontinuous) temperature, to a PNG.

    Parameters
    ----------
    fields_vtu
        A ``fields_NNNNN.vtu`` file of a 3D run.
    png
        Output image path.
    planes
        (origin [m], normal) per plane; default :func:`slice_planes` (x, y, z through
        the centre).
    interfaces_vtu
        The matching ``interfaces_NNNNN.vtu``: its cuts are drawn as white lines.
    arrows
        About how many flux arrows per plane (cell-mean flux, length ∝ |q|); 0: none.
    scalar_range
        Colour range [K] (default: the file's min and max).
    time
        Time [s] to print (a time label with its unit).
    view
        Direction from the body's centre to the camera (z is up; y is up when
        looking along z).
    """
    vtk = _vtk()
    planes = None if planes is None else [(np.asarray(o, float), np.asarray(n, float))
                                          for o, n in planes]
    renderer = _slices_renderer(vtk, fields_vtu, planes=planes, interfaces_vtu=interfaces_vtu,
                                arrows=arrows, scalar_range=scalar_range, title=title,
                                time=time, window_size=window_size, view=view)
    png = Path(png)
    _snapshot(vtk, renderer, window_size, png)
    return png


def slice_image(fields_vtu: str | Path, *, scalar_range: Optional[tuple[float, float]] = None,
                time: Optional[float] = None, title: str = "", arrows: int = 60,
                interfaces_vtu: Optional[str | Path] = None,
                window_size: Sequence[int] = (800, 600)) -> np.ndarray:
    """The :func:`render_slices` picture as an RGB array (rows top to bottom): a frame."""
    vtk = _vtk()
    renderer = _slices_renderer(vtk, fields_vtu, planes=None, interfaces_vtu=interfaces_vtu,
                                arrows=arrows, scalar_range=scalar_range, title=title,
                                time=time, window_size=window_size)
    return _snapshot(vtk, renderer, window_size)


def _merged_flux(vtk, grid):
    """The mesh with coincident points merged and the cell-mean flux averaged to its
    points (what a streamline integrator can walk through)."""
    clean = vtk.filters.vtkStaticCleanUnstructuredGrid()
    clean.SetInputData(grid)
    clean.Update()
    merged = clean.GetOutput()
    cd = merged.GetCellData()
    key = _cell_flux_key(cd)
    if key is None:
        return None
    c2p = vtk.filters.vtkCellDataToPointData()
    c2p.SetInputData(merged)
    c2p.ProcessAllArraysOff()
    c2p.AddCellDataArray(key)
    c2p.PassCellDataOff()
    c2p.Update()
    out = c2p.GetOutput()
    out.GetPointData().SetActiveVectors(key)
    return out


def _streamlines(vtk, grid, bounds: np.ndarray, seeds_per_axis: int):
    from vtkmodules.vtkFiltersFlowPaths import vtkStreamTracer

    merged = _merged_flux(vtk, grid)
    if merged is None:
        return None
    lo, hi = bounds[::2], bounds[1::2]
    axes = [np.linspace(lo[i] + 0.1 * (hi[i] - lo[i]), hi[i] - 0.1 * (hi[i] - lo[i]),
                        seeds_per_axis) for i in range(3)]
    seeds = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    pts = vtk.core.vtkPoints()
    pts.SetData(vtk.np.numpy_to_vtk(np.ascontiguousarray(seeds), deep=True))
    source = vtk.data.vtkPolyData()
    source.SetPoints(pts)
    tracer = vtkStreamTracer()
    tracer.SetInputData(merged)
    tracer.SetSourceData(source)
    tracer.SetIntegrationDirectionToBoth()
    tracer.SetIntegratorTypeToRungeKutta45()
    tracer.SetMaximumPropagation(3.0 * float(np.linalg.norm(hi - lo)))
    tracer.SetInitialIntegrationStep(0.2)
    tracer.SetComputeVorticity(False)
    tracer.Update()
    return tracer.GetOutput()


def render_clip(fields_vtu: str | Path, png: str | Path, *,
                origin: Optional[ArrayLike] = None, normal: ArrayLike = (0.0, -1.0, 0.0),
                streamlines: bool = True, seeds_per_axis: int = 5,
                interfaces_vtu: Optional[str | Path] = None,
                scalar_range: Optional[tuple[float, float]] = None, title: str = "",
                time: Optional[float] = None,
                window_size: Sequence[int] = (1200, 900)) -> Path:
    """A 3D result with one side of a plane removed, plus streamlines of the heat flux.

    The half on the ``normal`` side of the plane through ``origin`` (default: the
    centre) is removed; the rest shows T (discontinuous at interfaces) on its
    surface and cut face. Streamlines of q (the cell means averaged to the merged
    vertices, traced both ways from ``seeds_per_axis``³ seeds on a lattice) are
    drawn in the removed half, in front of the cut face.
    """
    vtk = _vtk()
    from vtkmodules.vtkFiltersGeneral import vtkTableBasedClipDataSet

    grid, temperature, bounds = _load(vtk, fields_vtu)
    renderer, lut, rng = _scene(vtk, grid, temperature, scalar_range, title, time, window_size)
    centre = 0.5 * (bounds[::2] + bounds[1::2])
    origin = centre if origin is None else np.asarray(origin, dtype=float)
    normal = np.asarray(normal, dtype=float)
    if normal.shape != (3,) or not np.linalg.norm(normal) > 0:
        raise ValueError(f"normal must be a non-zero 3-vector, got {normal.tolist()}")
    normal = normal / np.linalg.norm(normal)
    clip = vtkTableBasedClipDataSet()
    clip.SetInputData(grid)
    clip.SetClipFunction(_plane(vtk, origin, normal))
    clip.InsideOutOn()  # keep n·(x − origin) < 0
    clip.Update()
    surface = vtk.geometry.vtkDataSetSurfaceFilter()
    surface.SetInputData(clip.GetOutput())
    surface.Update()
    renderer.AddActor(_actor(vtk, surface.GetOutput(), lut, rng))
    if interfaces_vtu is not None and Path(interfaces_vtu).exists():
        lines = _cut(vtk, _read(vtk, interfaces_vtu), origin, normal)
        if lines.GetNumberOfCells():
            renderer.AddActor(_actor(vtk, lines, color=(1.0, 1.0, 1.0), width=3.0))
    n_lines = 0
    if streamlines:
        lines = _streamlines(vtk, grid, bounds, seeds_per_axis)
        if lines is not None and lines.GetNumberOfCells():
            front = vtk.filters.vtkClipPolyData()
            front.SetInputData(lines)
            front.SetClipFunction(_plane(vtk, origin, normal))
            front.Update()  # keeps n·(x − origin) > 0: the removed half
            n_lines = front.GetOutput().GetNumberOfCells()
            renderer.AddActor(_actor(vtk, front.GetOutput(), color=(0.0, 0.749, 1.0),
                                     width=2.5))
    log.info("clip: %d streamline pieces in the removed half", n_lines)
    renderer.AddActor(_actor(vtk, _outline(vtk, grid), color=(0.3, 0.3, 0.3)))
    axes, _ = _axes(vtk, renderer, bounds, window_size)
    renderer.AddViewProp(axes)
    side = np.cross(normal, (0.0, 0.0, 1.0))
    if np.linalg.norm(side) < 1e-6:
        side = np.array([1.0, 0.0, 0.0])
    _camera(renderer, bounds, normal - 0.6 * side / np.linalg.norm(side) + (0, 0, 0.6))
    png = Path(png)
    _snapshot(vtk, renderer, window_size, png)
    return png
