"""3D pictures, animations and the cavity case file (issue 14, items 4 and 6).

* A 3D three-layer stack (meshes/layered_3d.msh) with a large Kapitza resistance:
  ``femheat plot`` renders slices, a clip with streamlines and interface-jump maps
  (not blank: pixel statistics); the jump it maps is the interfaces VTU's; a slice
  through the body carries the jump as a step of the computed size; the 2D flux
  analysis is skipped with a log note.
* A transient 2D run animated to a GIF: one frame per saved step (or the documented
  subsample), frames not blank and all different, one colour range for the series.
* cases/gk_cavity_vortex.toml through ``femheat run`` and ``femheat plot`` finds
  the cavity vortex (winding +1); its Fourier variant has none.
"""

from __future__ import annotations

import json
import logging
import tomllib
from pathlib import Path

import meshio
import numpy as np
import pytest

from femheat.cli import main
from femheat.io.case import load_case, parse_case
from femheat.pipeline.runner import run_case
from femheat.visuals.plots import interface_jump_maps, plot_result, read_result, series
from tests.conftest import LAYERED_TABLES, ROOT

R_K = 1e-6  # m² K/W: the jump across interface_1 is about a quarter of the 1 K drop

STACK_3D = f"""title = "3D stack"
[mesh]
file = "{ROOT / 'meshes' / 'layered_3d.msh'}"
{LAYERED_TABLES}[boundaries.front]
heat_flux = 0.0
[boundaries.back]
heat_flux = 0.0
[interfaces.interface_1]
kapitza_resistance = {R_K}
[output]
png = false
"""



def with_capacity(tables: str, capacity: float = 1e6) -> str:
    """The case tables with ``heat_capacity`` [J/(m³ K)] beside every conductivity."""
    return "\n".join(line + (f"\nheat_capacity = {capacity}" if line.startswith("conductivity")
                             else "") for line in tables.splitlines()) + "\n"


TRANSIENT_2D = f"""title = "layers warming up"
[mesh]
file = "{ROOT / 'meshes' / 'layered_2d.msh'}"
{with_capacity(LAYERED_TABLES)}[initial]
temperature = "300"
[time]
dt = 2e-8
end = 1.4e-7
save_every = 1
[output]
png = false
"""


def pixel_stats(img: np.ndarray) -> tuple[float, int]:
    """(std of the RGB values in [0, 1], number of distinct colours)."""
    rgb = np.asarray(img)[..., :3]
    if rgb.dtype != np.uint8:
        rgb = (rgb * 255).round().astype(np.uint8)
    flat = rgb.reshape(-1, 3).astype(np.int64)
    return float(rgb.std() / 255), int(np.unique(flat[:, 0] * 65536 + flat[:, 1] * 256
                                                  + flat[:, 2]).size)


def assert_not_blank(png: Path) -> float:
    from PIL import Image

    std, colours = pixel_stats(np.asarray(Image.open(png).convert("RGB")))
    assert std > 0.02 and colours > 8, f"{png.name} looks blank (std {std:.4f}, {colours} colours)"
    return std


@pytest.fixture(scope="module")
def stack_3d(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack3d")
    (tmp / "case.toml").write_text(STACK_3D)
    out = tmp / "out"
    summary = run_case(load_case(tmp / "case.toml"), out)
    return out, summary


def test_plot_3d_result_renders_slices_clip_and_jump_maps(stack_3d, caplog):
    out, _ = stack_3d
    with caplog.at_level(logging.INFO, logger="femheat.visuals.plots"):
        res = plot_result(out, render=False)
    for f in ("plots/slices.png", "plots/clip.png", "plots/interface_jumps.png"):
        assert f in res["files"], res["files"]
        assert_not_blank(out / f)
    # 3D Helmholtz–Hodge numbers in flux_analysis.json; the vortex analysis stays 2D-only
    fa = json.loads((out / "flux_analysis.json").read_text())
    assert fa == res["flux_analysis"] and fa["dimension"] == 3 and fa["vortices"] is None
    for variant in ("hodge", "tangential"):
        n = fa[variant]["l2_norms"]
        assert n["flux"] > 0 and fa[variant]["orthogonality_defect"] < 1e-10, fa[variant]
        assert abs(sum(fa[variant]["fractions"].values()) - 1) < 1e-10
    assert np.isfinite(fa["vorticity_max"]) and fa["vorticity_max"] >= 0
    assert "plots/heat_flux.png" not in res["files"]
    assert "2D only: skipped for this 3D result" in caplog.text


def test_3d_jump_map_is_the_computed_jump(stack_3d):
    out, _ = stack_3d
    summary = json.loads((out / "summary.json").read_text())
    maps = interface_jump_maps(read_result(out))
    vtu = meshio.read(out / "interfaces_00000.vtu")
    ids = vtu.cell_data["interface_id"][0]
    assert sorted(maps) == sorted(int(i) for i in summary["interface_ids"])
    for i, m in maps.items():
        name = summary["interface_ids"][str(i)]
        np.testing.assert_array_equal(m["jump"], vtu.cell_data["temperature_jump"][0][ids == i])
        rep = summary["interfaces"][name]
        assert float(np.min(m["jump"])) == pytest.approx(rep["min_jump"], rel=1e-12, abs=1e-14)
        assert float(np.max(m["jump"])) == pytest.approx(rep["max_jump"], rel=1e-12, abs=1e-14)
        assert m["labels"] == ("y [m]", "z [m]")  # the interfaces are planes x = const
        assert m["triangles"].shape == (np.count_nonzero(ids == i), 3)
    big = summary["interfaces"]["interface_1"]["mean_jump"]
    assert big > 0.1  # a visible step


def test_slice_carries_the_interface_jump(stack_3d):
    """The z = ½ slice of the exploded mesh (what slices.png colours) steps by the
    computed jump at x = 1 µm."""
    from femheat.visuals.rendering import _read, _vtk
    from femheat.visuals.slices import _cut, slice_planes

    out, _ = stack_3d
    summary = json.loads((out / "summary.json").read_text())
    vtk = _vtk()
    grid = _read(vtk, out / "fields_00000.vtu")
    (origin, normal), = slice_planes(grid.GetBounds(), normals=[(0, 0, 1)])
    cut = _cut(vtk, grid, origin, normal)
    x = vtk.np.vtk_to_numpy(cut.GetPoints().GetData())
    T = vtk.np.vtk_to_numpy(cut.GetPointData().GetArray("temperature"))
    assert np.allclose(x[:, 2], origin[2])
    at = np.isclose(x[:, 0], 1e-6, rtol=0, atol=1e-12)  # the interface line in the slice
    assert at.sum() >= 4
    jump = summary["interfaces"]["interface_1"]["mean_jump"]
    # the cut keeps both sides' copies of each interface point: T_A and T_A − jump
    assert np.ptp(T[at]) == pytest.approx(jump, rel=1e-6)
    hot, cold = T[at].max(), T[at].min()
    assert np.all(np.isclose(T[at], hot, rtol=0, atol=1e-6 * jump)
                  | np.isclose(T[at], cold, rtol=0, atol=1e-6 * jump))


@pytest.fixture(scope="module")
def transient_2d(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("anim2d")
    (tmp / "case.toml").write_text(TRANSIENT_2D)
    out = tmp / "out"
    run_case(load_case(tmp / "case.toml"), out)
    return out


def gif_frames(path: Path) -> list[np.ndarray]:
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def test_gif_of_a_transient_run(transient_2d, capsys):
    out = transient_2d
    steps = series(out)
    assert len(steps) == 8
    code = main(["plot", str(out), "--animate", "--no-render", "--no-report"])
    text = capsys.readouterr().out
    assert code == 0 and "animation: 8 frames of 8 saved steps" in text, text
    frames = gif_frames(out / "plots" / "temperature.gif")
    assert len(frames) == len(steps)
    stats = [pixel_stats(f) for f in frames]
    assert all(std > 0.05 and colours > 8 for std, colours in stats), stats
    diffs = [float(np.abs(a.astype(int) - b.astype(int)).mean())
             for a, b in zip(frames, frames[1:])]
    assert min(diffs) > 0.05, diffs  # T rises and the time label changes
    if "no ffmpeg" in text:
        assert not (out / "plots" / "temperature.mp4").exists()


def test_animation_range_and_subsample(transient_2d, tmp_path):
    from femheat.visuals.animation import animate_result, frame_steps

    out = transient_2d
    res = animate_result(out, max_frames=3, out=tmp_path)
    assert res["frames"] == 3 and res["steps"] == 8 and res["step_indices"] == [0, 4, 7]
    assert len(gif_frames(tmp_path / "temperature.gif")) == 3
    temps = [meshio.read(out / f).point_data["temperature"] for _, f in series(out)]
    picked = [temps[k] for k in res["step_indices"]]
    assert res["scalar_range"] == [min(map(np.min, picked)), max(map(np.max, picked))]
    assert frame_steps(100, 60).size == 60 and frame_steps(5, 60).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.slow
def test_gif_of_a_3d_transient_run(tmp_path):
    case = with_capacity(STACK_3D) + ('[initial]\ntemperature = "300"\n'
                                      "[time]\ndt = 2e-7\nend = 8e-7\nsave_every = 1\n")
    (tmp_path / "case.toml").write_text(case)
    run_case(load_case(tmp_path / "case.toml"), tmp_path / "out")
    res = plot_result(tmp_path / "out", render=False, animate=True)
    frames = gif_frames(tmp_path / "out" / "plots" / "temperature.gif")
    assert len(frames) == res["animation"]["frames"] == 5
    assert all(pixel_stats(f)[0] > 0.05 for f in frames)
    assert min(float(np.abs(a.astype(int) - b.astype(int)).mean())
               for a, b in zip(frames, frames[1:])) > 0


def cavity_table(model: str) -> dict:
    table = tomllib.loads((ROOT / "cases" / "gk_cavity_vortex.toml").read_text())
    table["mesh"]["parameters"]["mesh_size"] = 0.125  # 632 triangles
    table["output"]["report"] = False
    if model == "fourier":
        table["model"]["type"] = "fourier"
        del table["boundaries"]["walls"]["wall"]
        del table["materials"]["domain"]["nonlocal_length"]
    return table


def test_cavity_case_file_gk_vortex(tmp_path, capsys):
    pytest.importorskip("pygmsh")
    text = (ROOT / "cases" / "gk_cavity_vortex.toml").read_text()
    text = text.replace('pygmsh = "../meshes/', f'pygmsh = "{ROOT / "meshes"}/')
    text = text.replace("mesh_size = 0.0625", "mesh_size = 0.125").replace("report = true",
                                                                        "report = false")
    (tmp_path / "cavity.toml").write_text(text)
    assert main(["run", str(tmp_path / "cavity.toml"), "-o", str(tmp_path / "gk"), "-q"]) == 0
    assert main(["plot", str(tmp_path / "gk"), "--no-render", "--no-report"]) == 0
    assert "flux: 1 vortices, 0 saddles, 1 eddies" in capsys.readouterr().out
    v = json.loads((tmp_path / "gk" / "flux_analysis.json").read_text())["vortices"]
    (e,) = v["eddy_list"]
    assert e["winding"] == 1 and e["sense"] == -1  # clockwise, flow in +x
    assert 1 < e["center"][0] < 2 and -1 < e["center"][1] < 0  # inside the cavity
    assert_not_blank(tmp_path / "gk" / "plots" / "heat_flux.png")


def test_cavity_case_file_fourier_has_no_vortex(tmp_path):
    pytest.importorskip("pygmsh")
    case = parse_case(cavity_table("fourier"), ROOT / "cases")
    run_case(case, tmp_path)
    v = plot_result(tmp_path, render=False)["flux_analysis"]["vortices"]
    assert (v["vortices"], v["eddies"]) == (0, 0), v


def test_rendered_slice_shows_the_computed_jump(stack_3d, tmp_path):
    """Read the jump back from the pixels: the z = ½ slice seen from above, each pixel's
    colour inverted through the inferno table; a line fitted to each layer's T(column)
    on either side of the white interface line steps by the computed jump."""
    from PIL import Image

    from femheat.visuals.rendering import _INFERNO
    from femheat.visuals.slices import render_slices

    out, _ = stack_3d
    summary = json.loads((out / "summary.json").read_text())
    T = meshio.read(out / "fields_00000.vtu").point_data["temperature"]
    lo, hi = float(T.min()), float(T.max())
    png = render_slices(out / "fields_00000.vtu", tmp_path / "top.png",
                        planes=[((2e-6, 5e-7, 5e-7), (0, 0, 1))], arrows=0, view=(0, 0, 1),
                        interfaces_vtu=out / "interfaces_00000.vtu", window_size=(1200, 500))
    img = np.asarray(Image.open(png).convert("RGB")).astype(float) / 255
    anchors, u = np.asarray(_INFERNO), np.linspace(0, 1, 256)
    lut = np.stack([np.interp(u, np.linspace(0, 1, len(anchors)), anchors[:, k])
                    for k in range(3)], axis=1)
    row = img[img.shape[0] // 2, : int(0.85 * img.shape[1])]  # left of the colour bar
    dist = np.linalg.norm(row[:, None, :] - lut[None], axis=2)
    on_map = dist.min(axis=1) < 0.02  # pixels showing T (not text, lines, background)
    T_pix = lo + (hi - lo) * u[dist.argmin(axis=1)]
    white = np.all(row > 0.97, axis=1)
    cols = np.flatnonzero(on_map)
    # layers: runs of T pixels split where white (an interface line) lies between them
    cuts = [i + 1 for i, (a, b) in enumerate(zip(cols, cols[1:]))
            if b - a > 1 and white[a + 1:b].any()]
    layers = [c for c in np.split(cols, cuts) if c.size > 20]
    assert len(layers) == 3, [(c[0], c[-1]) for c in layers]
    fits = [np.polyfit(c[3:-3], T_pix[c[3:-3]], 1) for c in layers]
    for k, name in enumerate(("interface_1", "interface_2")):
        at = 0.5 * (layers[k][-1] + layers[k + 1][0])
        rendered = np.polyval(fits[k], at) - np.polyval(fits[k + 1], at)
        computed = summary["interfaces"][name]["mean_jump"]
        # 256 colours over 1 K: a colour step is 4 mK
        assert rendered == pytest.approx(computed, abs=0.01 * (hi - lo)), (name, rendered)
