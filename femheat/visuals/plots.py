"""The standard picture set of a result folder (``femheat plot RESULT_DIR``).

Everything is read back from the files a run wrote (the last ``fields_NNNNN.vtu``,
``interfaces_NNNNN.vtu``, ``history.csv``, ``summary.json``), so any finished or
interrupted run can be plotted later. For 2D mixed results the flux is rebuilt
from the VTU's per-cell vertex values (exact for RT0/BDM1, whose fluxes are
linear in each cell; the vertex interpolant of higher degrees) and analysed with
:mod:`femheat.analysis.hodge` and :mod:`femheat.analysis.vortices`.

Pictures (PNG, in ``RESULT_DIR/plots/``), matplotlib (Agg) unless noted:

* ``temperature.png``: T on the exploded mesh (linear per cell, so Kapitza jumps
  show as steps), interfaces outlined, colorbar in K, axes in m;
* ``heat_flux.png``: |q| [W m⁻²], streamlines of q and arrows of the cell means,
  vortices (○) and saddles (×) of the flux, eddy separatrices;
* ``potentials.png``: stream function ψ [W m⁻¹] with its contours (the
  streamlines of the divergence-free part) and the vorticity ω [W m⁻³];
* ``interface_jumps.png``: T_A − T_B [K] along each interface (2D: against the
  coordinate along it, or the polar angle about its centre for a closed
  interface; 3D: a map per interface surface over its two longest extents, or
  over azimuth and polar angle for a closed surface);
* 3D runs: ``slices.png`` (three orthogonal planes through the centre, T
  discontinuous at interfaces, flux arrows, interfaces cut in white) and
  ``clip.png`` (the body cut open, streamlines of q), from
  :mod:`femheat.visuals.slices` (VTK); ``flux_analysis.json`` holds the 3D
  Helmholtz–Hodge norms and max vorticity (:mod:`femheat.analysis.hodge3d`);
  the vortex analysis stays 2D-only (a log note);
* ``temperature.gif`` (+ ``.mp4`` with ffmpeg) with ``animate=True``
  (``femheat plot --animate``): T over the saved steps, fixed colours
  (:mod:`femheat.visuals.animation`);
* ``history.png``: energy and boundary heat flows against time (transient runs);
* ``vortex_history.png`` (+ ``vortex_history.csv``): counts of vortices, saddles
  and eddies and the solenoidal energy fraction over the saved steps (2D runs);
* ``render.png``: the PyVista off-screen render (when PyVista is installed).

matplotlib and PyVista are imported inside the functions.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import FemheatInputError
from ..io.atomic import write_text

__all__ = ["ResultFields", "read_result", "flux_analysis", "plot_result", "interface_jumps",
           "interface_jump_maps", "series", "vortex_history"]

log = logging.getLogger(__name__)


@dataclass
class ResultFields:
    """The last saved state of a result folder, read from its VTU files.

    ``points`` (n_cells·(d+1), 3) and ``cells`` (n_cells, d+1) of the exploded mesh,
    ``temperature`` per exploded point [K], ``heat_flux`` per exploded point
    (3 components) [W m⁻²], ``heat_flux_mean`` per cell, ``interfaces`` the
    meshio mesh of the interface facets (or None), ``time`` [s].
    """

    folder: Path
    vtu: Path
    dim: int
    points: np.ndarray
    cells: np.ndarray
    temperature: np.ndarray
    heat_flux: np.ndarray
    heat_flux_mean: np.ndarray
    material_id: Optional[np.ndarray]
    interfaces: Any
    time: Optional[float]


def _last(folder: Path, stem: str) -> Optional[Path]:
    files = sorted(folder.glob(f"{stem}_*.vtu"))
    numbered = [f for f in files if f.stem.split("_")[-1].isdigit()]
    return (numbered or files or [None])[-1]


def read_result(folder: str | Path, vtu: Optional[str | Path] = None) -> ResultFields:
    """Read the last saved fields (or the file ``vtu``) of a folder written by ``femheat run``."""
    import meshio

    folder = Path(folder)
    vtu = _last(folder, "fields") if vtu is None else folder / vtu
    if vtu is None:
        raise FemheatInputError(
            f"{str(folder)!r} holds no fields_NNNNN.vtu; plot a folder written by "
            "`femheat run` with [output] vtu = true and format = \"vtu\"")
    m = meshio.read(vtu)
    block = m.cells[0]
    dim = 2 if block.type == "triangle" else 3
    cd = {k: v[0] for k, v in m.cell_data.items()}
    pd = m.point_data
    if "temperature" not in pd:
        raise FemheatInputError(f"{vtu.name} has no point field 'temperature'")
    q = pd.get("heat_flux")
    qm = cd.get("heat_flux_mean", cd.get("heat_flux"))
    if q is None:  # cell-constant flux (kernel model): repeat at the cell's points
        q = np.repeat(qm, block.data.shape[1], axis=0)
    iface_path = vtu.with_name(vtu.name.replace("fields_", "interfaces_"))
    iface = meshio.read(iface_path) if iface_path.exists() else None
    time = None
    summary = folder / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        time = s.get("reached_time") if s.get("analysis") != "steady" else 0.0
    return ResultFields(folder, vtu, dim, np.asarray(m.points), np.asarray(block.data),
                        np.asarray(pd["temperature"]), np.asarray(q), np.asarray(qm),
                        cd.get("material_id"), iface, time)


def _merged_mesh(r: ResultFields):
    """The skfem triangle (tetrahedral) mesh behind the exploded VTU mesh
    (duplicated points merged)."""
    import skfem

    xy = r.points[:, : r.dim]
    scale = max(float(np.ptp(xy)), 1e-300)
    key = np.round(xy / scale, 10)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    p = np.zeros((r.dim, uniq.shape[0]))
    p[:, inv.ravel()] = xy.T
    t = inv.ravel()[r.cells].T  # (d + 1, n_cells), the writer's cell order
    cls = skfem.MeshTri if r.dim == 2 else skfem.MeshTet
    mesh = cls(p, np.ascontiguousarray(t), sort_t=False)
    if not np.array_equal(mesh.t, t):  # keep the writer's vertex order per cell
        raise FemheatInputError("cannot rebuild the mesh of the VTU in its cell order")
    return mesh


def flux_analysis(r: ResultFields, flux_scale: Optional[float] = None) -> Optional[dict]:
    """Helmholtz–Hodge and vortex analysis of a result.

    2D: returns ``mesh``, ``qv`` (vertex flux), ``hodge`` (boundary="normal"),
    ``stream`` (the tangential-variant ψ, for streamlines and eddies),
    ``vorticity``, ``vortices`` (:class:`~femheat.analysis.vortices.VortexReport`)
    and ``summary`` (JSON-ready). ``flux_scale`` [W m⁻²]: see
    :func:`~femheat.analysis.vortices.critical_points` (round-off zeros).
    3D: ``mesh``, ``hodge`` and ``tangential``
    (:class:`~femheat.analysis.hodge3d.HodgeDecomposition3D`, both variants) and
    ``summary`` (their norms, energy fractions and the largest |curl q|);
    ``summary["vortices"]`` is None (critical points are 2D only).
    """
    if r.dim == 3:
        return _flux_analysis_3d(r)
    import skfem

    from ..analysis.hodge import helmholtz_hodge, vorticity
    from ..analysis.vortices import (VortexReport, closed_streamline_regions,
                                     critical_points, vertex_flux)

    mesh = _merged_mesh(r)
    basis = skfem.CellBasis(mesh, skfem.ElementVector(skfem.ElementTriP1DG()), intorder=2)
    dofs = np.zeros(basis.N)
    qx = r.heat_flux[:, :2].reshape(-1, 3, 2)  # (cell, vertex, component)
    for v in range(3):
        for c in range(2):
            dofs[basis.element_dofs[2 * v + c]] = qx[:, v, c]
    src = (basis, dofs)
    normal = helmholtz_hodge(mesh, src)
    tangential = helmholtz_hodge(mesh, src, boundary="tangential")
    qv = vertex_flux(mesh, src)
    omega = vorticity(mesh, src)
    rep = VortexReport(critical_points(mesh, qv, flux_scale=flux_scale),
                       closed_streamline_regions(mesh, tangential.stream_function, qv))
    summary = {"hodge": normal.summary(), "stream_function": tangential.summary(),
               "vorticity_range": [float(omega.min()), float(omega.max())],
               "vortices": rep.summary()}
    return {"mesh": mesh, "qv": qv, "hodge": normal, "stream": tangential.stream_function,
            "vorticity": omega, "vortices": rep, "summary": summary}


def _flux_analysis_3d(r: ResultFields) -> dict:
    """3D Helmholtz–Hodge (:mod:`femheat.analysis.hodge3d`) of the vertex-linear flux."""
    import skfem

    from ..analysis.hodge3d import helmholtz_hodge_3d

    mesh = _merged_mesh(r)
    basis = skfem.CellBasis(mesh, skfem.ElementVector(skfem.ElementTetDG(skfem.ElementTetP1())),
                            intorder=2)
    dofs = np.zeros(basis.N)
    qx = r.heat_flux[:, :3].reshape(-1, 4, 3)  # (cell, vertex, component)
    for v in range(4):
        for c in range(3):
            dofs[basis.element_dofs[3 * v + c]] = qx[:, v, c]
    normal = helmholtz_hodge_3d(mesh, (basis, dofs))
    tangential = helmholtz_hodge_3d(mesh, (basis, dofs), boundary="tangential")
    hs = normal.summary()
    summary = {"dimension": 3, "hodge": hs, "tangential": tangential.summary(),
               "vorticity_max": hs["vorticity_max"], "vortices": None}
    return {"mesh": mesh, "hodge": normal, "tangential": tangential, "summary": summary}


def interface_jumps(r: ResultFields) -> dict[int, tuple[np.ndarray, np.ndarray, str]]:
    """Per interface id: (coordinate along it, T_A − T_B per facet [K], axis label)."""
    out: dict[int, tuple[np.ndarray, np.ndarray, str]] = {}
    if r.interfaces is None:
        return out
    pts = np.asarray(r.interfaces.points)[:, : r.dim]
    facets = np.asarray(r.interfaces.cells[0].data)
    cd = {k: np.asarray(v[0]) for k, v in r.interfaces.cell_data.items()}
    ids = cd.get("interface_id", np.zeros(facets.shape[0], int))
    for i in np.unique(ids):
        sel = ids == i
        f = facets[sel]
        mid = pts[f].mean(axis=1)
        _, counts = np.unique(f, return_counts=True)
        closed = r.dim == 2 and np.all(counts == 2)
        if closed:  # a closed curve: the polar angle about its centre
            c = mid.mean(axis=0)
            s, label = np.degrees(np.arctan2(mid[:, 1] - c[1], mid[:, 0] - c[0])), "angle [deg]"
        else:  # an open curve or surface: the coordinate along its longest extent
            axis = int(np.argmax(np.ptp(mid, axis=0)))
            s, label = mid[:, axis], f"{'xyz'[axis]} [m]"
        order = np.argsort(s)
        out[int(i)] = (s[order], cd["temperature_jump"][sel][order], label)
    return out


def interface_jump_maps(r: ResultFields) -> dict[int, dict[str, Any]]:
    """Per interface id of a 3D result: the facets in two map coordinates and T_A − T_B.

    ``u``, ``v`` (per facet point; for a closed surface, per facet centre: azimuth
    and polar angle [deg] about its centre), ``triangles`` (facets as rows of point
    indices into ``u``/``v``, or None for a closed surface), ``jump`` per facet [K]
    (the interfaces VTU's ``temperature_jump``) and ``labels`` of the two axes.
    """
    out: dict[int, dict[str, Any]] = {}
    if r.interfaces is None or r.dim != 3:
        return out
    pts = np.asarray(r.interfaces.points)[:, :3]
    facets = np.asarray(r.interfaces.cells[0].data)
    cd = {k: np.asarray(v[0]) for k, v in r.interfaces.cell_data.items()}
    ids = cd.get("interface_id", np.zeros(facets.shape[0], int))
    for i in np.unique(ids):
        sel = ids == i
        f = facets[sel]
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        _, counts = np.unique(edges, axis=0, return_counts=True)
        if np.all(counts == 2):  # closed: angles of the facet centres about the centre
            mid = pts[f].mean(axis=1)
            d = mid - mid.mean(axis=0)
            u = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
            v = np.degrees(np.arccos(np.clip(d[:, 2] / np.linalg.norm(d, axis=1), -1, 1)))
            out[int(i)] = {"u": u, "v": v, "triangles": None,
                           "jump": cd["temperature_jump"][sel],
                           "labels": ("azimuth [deg]", "polar angle [deg]")}
            continue
        used, local = np.unique(f, return_inverse=True)
        axes = np.argsort(np.ptp(pts[used], axis=0))[::-1][:2]
        axes.sort()
        out[int(i)] = {"u": pts[used, axes[0]], "v": pts[used, axes[1]],
                       "triangles": local.reshape(f.shape), "jump": cd["temperature_jump"][sel],
                       "labels": tuple(f"{'xyz'[a]} [m]" for a in axes)}
    return out


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _temperature_png(r: ResultFields, path: Path) -> Path:
    import matplotlib.tri as mtri

    plt = _plt()
    tri = mtri.Triangulation(r.points[:, 0], r.points[:, 1], r.cells)
    fig, ax = plt.subplots(figsize=(7, 5))
    im = ax.tripcolor(tri, r.temperature, shading="gouraud", cmap="inferno")
    fig.colorbar(im, ax=ax, label="T [K]")
    if r.interfaces is not None:
        p = np.asarray(r.interfaces.points)
        for f in np.asarray(r.interfaces.cells[0].data):
            ax.plot(p[f, 0], p[f, 1], color="cyan", lw=1.2)
    ax.set(xlabel="x [m]", ylabel="y [m]", aspect="equal",
           title="temperature (linear per cell: interface jumps are steps)")
    fig.tight_layout()
    return _save(fig, path)


def _flux_png(r: ResultFields, fa: dict, path: Path) -> Path:
    import matplotlib.tri as mtri

    plt = _plt()
    mesh, qv = fa["mesh"], fa["qv"]
    tri = mtri.Triangulation(mesh.p[0], mesh.p[1], mesh.t.T)
    fig, ax = plt.subplots(figsize=(7, 5))
    mag = np.linalg.norm(r.heat_flux_mean[:, :2], axis=1)
    im = ax.tripcolor(tri, facecolors=mag, cmap="viridis")
    fig.colorbar(im, ax=ax, label="|q| [W/m²]")
    x0, x1, y0, y1 = mesh.p[0].min(), mesh.p[0].max(), mesh.p[1].min(), mesh.p[1].max()
    n = 80
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    U = mtri.LinearTriInterpolator(tri, qv[0])(X, Y)
    V = mtri.LinearTriInterpolator(tri, qv[1])(X, Y)
    if np.ma.count(U) > 0 and float(np.ma.max(np.hypot(U, V))) > 0:
        ax.streamplot(X, Y, U.filled(np.nan), V.filled(np.nan), color="white",
                      density=1.2, linewidth=0.7, arrowsize=0.7)
    step = max(1, mesh.t.shape[1] // 300)
    c = mesh.p[:, mesh.t].mean(axis=1)[:, ::step]
    qm = r.heat_flux_mean[::step, :2].T
    ax.quiver(c[0], c[1], qm[0], qm[1], color="orange", width=0.003)
    for cp in fa["vortices"].critical_points:
        ax.plot(*cp.x, "o" if cp.index > 0 else "x", color="red", ms=9, mfc="none", mew=2)
    for e in fa["vortices"].eddies:
        ax.tricontour(tri, fa["stream"], levels=[e.level], colors="red", linewidths=1.0)
    ax.set(xlabel="x [m]", ylabel="y [m]", aspect="equal", xlim=(x0, x1), ylim=(y0, y1),
           title="heat flux: streamlines, cell means; ○ vortex, × saddle")
    fig.tight_layout()
    return _save(fig, path)


def _potentials_png(fa: dict, path: Path) -> Path:
    import matplotlib.tri as mtri

    plt = _plt()
    mesh = fa["mesh"]
    tri = mtri.Triangulation(mesh.p[0], mesh.p[1], mesh.t.T)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    im = axes[0].tricontourf(tri, fa["stream"], 24, cmap="RdBu_r")
    axes[0].tricontour(tri, fa["stream"], 24, colors="k", linewidths=0.4)
    fig.colorbar(im, ax=axes[0], label="ψ [W/m]")
    axes[0].set_title("stream function (contours: streamlines)")
    w = fa["vorticity"]
    lim = max(float(np.abs(w).max()), 1e-300)
    im = axes[1].tripcolor(tri, w, shading="gouraud", cmap="PuOr", vmin=-lim, vmax=lim)
    fig.colorbar(im, ax=axes[1], label="ω = rot q [W/m³]")
    axes[1].set_title("vorticity")
    for ax in axes:
        ax.set(xlabel="x [m]", ylabel="y [m]", aspect="equal")
    fig.tight_layout()
    return _save(fig, path)


def _jumps_png(jumps: dict, names: dict, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (s, j, label) in jumps.items():
        ax.plot(s, j, ".-", label=names.get(str(i), f"interface {i}"))
        ax.set_xlabel(label)
    ax.set(ylabel="T_A − T_B [K]", title="temperature jump along the interfaces")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _jump_maps_png(maps: dict, names: dict, path: Path) -> Path:
    import matplotlib.tri as mtri

    plt = _plt()
    fig, axes = plt.subplots(1, len(maps), figsize=(5.2 * len(maps), 4.4), squeeze=False)
    for ax, (i, m) in zip(axes[0], maps.items()):
        if m["triangles"] is None:
            im = ax.scatter(m["u"], m["v"], c=m["jump"], s=12, cmap="coolwarm")
        else:
            tri = mtri.Triangulation(m["u"], m["v"], m["triangles"])
            im = ax.tripcolor(tri, facecolors=m["jump"], cmap="coolwarm", edgecolors="none")
            ax.set_aspect("equal")
        fig.colorbar(im, ax=ax, label="T_A − T_B [K]")
        ax.set(xlabel=m["labels"][0], ylabel=m["labels"][1],
               title=f"{names.get(str(i), f'interface {i}')}: mean jump "
                     f"{float(np.mean(m['jump'])):.4g} K")
    fig.suptitle("temperature jump over the interfaces")
    fig.tight_layout()
    return _save(fig, path)


def _pictures_3d(r: ResultFields, out: Path) -> list[Path]:
    """slices.png and clip.png of a 3D result (VTK); none, with a log note, without VTK."""
    try:
        from .slices import render_clip, render_slices
    except ImportError as exc:
        log.info("no 3D slices/clip (VTK is missing): %s", exc)
        return []
    iface = r.vtu.with_name(r.vtu.name.replace("fields_", "interfaces_"))
    iface = iface if iface.exists() else None
    t = r.time if len(series(r.folder)) > 1 else None  # a time label for transient runs
    return [render_slices(r.vtu, out / "slices.png", interfaces_vtu=iface, time=t),
            render_clip(r.vtu, out / "clip.png", interfaces_vtu=iface, time=t)]


def _history_png(csv_path: Path, path: Path) -> Optional[Path]:
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 3:
        return None
    head, data = rows[0], np.array(rows[1:], dtype=float)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    t = data[:, head.index("time")]
    axes[0].plot(t, data[:, head.index("energy")])
    axes[0].set(xlabel="t [s]", ylabel="E [J/m]", title="energy")
    for k, name in enumerate(head):
        if name.startswith(("heat_flow:", "interface_heat_flow:")):
            axes[1].plot(t, data[:, k], label=name)
    axes[1].set(xlabel="t [s]", ylabel="heat flow [W/m]", title="heat flows")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def series(folder: str | Path) -> list[tuple[float, str]]:
    """(time [s], file) of every saved step, from ``fields.pvd``."""
    import xml.etree.ElementTree as ET

    pvd = Path(folder) / "fields.pvd"
    if not pvd.exists():
        return []
    return [(float(d.get("timestep")), d.get("file"))
            for d in ET.parse(pvd).getroot().iter("DataSet")]


#: Columns of ``vortex_history.csv``.
HISTORY_COLUMNS = ("time", "vortices", "saddles", "nodes", "eddies", "total_index",
                   "eddy_area", "solenoidal_fraction")


def vortex_history(folder: str | Path, max_steps: int = 40) -> Optional[list[list[float]]]:
    """Vortex counts and statistics over a 2D run's saved steps → ``vortex_history.csv``.

    At most ``max_steps`` evenly spaced steps (always the first and the last) are
    analysed; returns the rows (columns :data:`HISTORY_COLUMNS`) or None (3D, or
    fewer than two saved steps).
    """
    folder = Path(folder)
    steps = series(folder)
    if len(steps) < 2:
        return None
    pick = np.unique(np.linspace(0, len(steps) - 1, min(max_steps, len(steps))).round()
                     .astype(int))
    results = [(steps[k][0], read_result(folder, steps[k][1])) for k in pick]
    if results[0][1].dim != 2:
        return None
    # one flux scale for the run: a step at rest has round-off zeros, not vortices
    scale = max(float(np.abs(r.heat_flux).max()) for _, r in results)
    rows = []
    for t, r in results:
        s = flux_analysis(r, scale)["summary"]
        v = s["vortices"]
        rows.append([t, v["vortices"], v["saddles"], v["nodes"], v["eddies"],
                     v["total_index"], v["eddy_area"],
                     s["hodge"]["fractions"]["solenoidal"]])
    text = ",".join(HISTORY_COLUMNS) + "\n" + "".join(
        ",".join(f"{x:.10g}" for x in row) + "\n" for row in rows)
    write_text(folder / "vortex_history.csv", text)
    return rows


def _vortex_history_png(rows: list[list[float]], path: Path) -> Path:
    plt = _plt()
    a = np.array(rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for k, name in ((1, "vortices"), (2, "saddles"), (4, "eddies")):
        axes[0].step(a[:, 0], a[:, k], where="post", label=name)
    axes[0].set(xlabel="t [s]", ylabel="count", title="critical points and eddies")
    axes[0].legend(fontsize=8)
    axes[1].plot(a[:, 0], a[:, 7], ".-")
    axes[1].set(xlabel="t [s]", ylabel="‖curl ψ‖²/‖q‖²",
                title="solenoidal energy fraction")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_result(folder: str | Path, *, render: bool = True,
                animate: bool = False) -> dict[str, Any]:
    """Render the standard picture set of a result folder into ``folder/plots``.

    Returns ``{"files": [relative paths], "flux_analysis": summary or None,
    "interface_jumps": {...}, "animation": ... or None}``; the flux analysis
    (3D: Helmholtz–Hodge norms and vorticity only, the vortex analysis is 2D
    only, with a log note) is also written to ``flux_analysis.json``. ``render`` adds the PyVista render (skipped with a log
    message when PyVista is missing). 3D results get ``slices.png`` and
    ``clip.png``. ``animate`` adds ``temperature.gif`` of a series of two or more
    saved steps (:func:`femheat.visuals.animation.animate_result`: at most 60
    frames, evenly subsampled; ``temperature.mp4`` as well when ffmpeg is on PATH).
    """
    r = read_result(folder)
    out = r.folder / "plots"
    out.mkdir(exist_ok=True)
    files: list[Path] = []
    names: dict = {}
    if (r.folder / "summary.json").exists():
        names = json.loads((r.folder / "summary.json").read_text()).get("interface_ids", {})
    if r.dim == 2:
        files.append(_temperature_png(r, out / "temperature.png"))
    else:
        files += _pictures_3d(r, out)
        log.info("vortex/critical-point analysis (and its flux pictures) is 2D only: "
                 "skipped for this 3D result; 3D Helmholtz-Hodge norms and vorticity go "
                 "to flux_analysis.json")
    fa = flux_analysis(r)
    if fa is not None:
        if r.dim == 2:
            files.append(_flux_png(r, fa, out / "heat_flux.png"))
            files.append(_potentials_png(fa, out / "potentials.png"))
        write_text(r.folder / "flux_analysis.json", json.dumps(fa["summary"], indent=2))
    jumps = interface_jumps(r)
    if jumps and r.dim == 3:
        files.append(_jump_maps_png(interface_jump_maps(r), names, out / "interface_jumps.png"))
    elif jumps:
        files.append(_jumps_png(jumps, names, out / "interface_jumps.png"))
    if (r.folder / "history.csv").exists():
        h = _history_png(r.folder / "history.csv", out / "history.png")
        if h is not None:
            files.append(h)
    if r.dim == 2 and len(series(r.folder)) >= 2:
        rows = vortex_history(r.folder)
        if rows:
            files.append(_vortex_history_png(rows, out / "vortex_history.png"))
            files.append(r.folder / "vortex_history.csv")
    anim = None
    if animate:
        from .animation import animate_result

        anim = animate_result(r.folder)
        if anim is not None:
            files += [anim["gif"]] + ([anim["mp4"]] if anim["mp4"] else [])
    if render:
        try:
            from .rendering import render_temperature

            iface = r.vtu.with_name(r.vtu.name.replace("fields_", "interfaces_"))
            files.append(render_temperature(r.vtu, out / "render.png",
                                            interfaces_vtu=iface if iface.exists() else None))
        except ImportError as exc:
            log.info("no PyVista render: %s", exc)
    rel = [str(f.relative_to(r.folder)) for f in files]
    log.info("plots: %s", ", ".join(rel))
    if anim is not None:
        anim = {k: (str(v.relative_to(r.folder)) if isinstance(v, Path) else v)
                for k, v in anim.items()}
    return {"files": rel, "flux_analysis": None if fa is None else fa["summary"],
            "interface_jumps": {k: v[1].tolist() for k, v in jumps.items()},
            "animation": anim}
