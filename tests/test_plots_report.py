"""`femheat plot`, the standard pictures and report.html (issue 14, items 4 and 5).

A three-layer Fourier run with a large Kapitza resistance writes its report
through ``[output] report = true``; the pictures are not blank, the plotted
interface jump is the computed one, and the page is opened in headless
Chromium (Debian package ``chromium``; .ci/run installs it), whose screenshot
must not be blank. The GK side-cavity solution written to VTU and analysed
from the files alone shows its vortex (winding +1).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from femheat.cli import main
from femheat.io.case import load_case
from femheat.pipeline.runner import run_case
from femheat.visuals.plots import interface_jumps, plot_result, read_result
from tests.conftest import LAYERED_TABLES, ROOT

CASE = f"""title = "three layers, report"
description = "Kapitza jumps between three layers"
[mesh]
file = "{ROOT / 'meshes' / 'layered_2d.msh'}"
{LAYERED_TABLES}[interfaces.interface_1]
kapitza_resistance = 4e-6
[output]
png = false
report = true
"""


def _not_blank(png: Path, min_std: float = 0.02) -> float:
    import matplotlib.image as mpimg

    img = mpimg.imread(png)[..., :3]
    std = float(img.std())
    assert std > min_std, f"{png.name} looks blank (pixel std {std:.4f})"
    rgb = (np.asarray(img) * 255).astype(np.int64).reshape(-1, 3)
    assert np.unique(rgb[:, 0] * 65536 + rgb[:, 1] * 256 + rgb[:, 2]).size > 8, png.name
    return std


@pytest.fixture(scope="module")
def layered_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layered")
    (tmp / "case.toml").write_text(CASE)
    out = tmp / "out"
    summary = run_case(load_case(tmp / "case.toml"), out)
    return out, summary


def test_run_writes_report_and_pictures(layered_run):
    out, summary = layered_run
    for f in ("report.html", "flux_analysis.json", "plots/temperature.png",
              "plots/heat_flux.png", "plots/potentials.png", "plots/interface_jumps.png"):
        assert f in summary["files"], (f, summary["files"])
        assert (out / f).exists(), f
    for png in (out / "plots").glob("*.png"):
        _not_blank(png)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["status"] == "completed" and "report.html" in on_disk["files"]
    fa = json.loads((out / "flux_analysis.json").read_text())
    assert fa["vortices"]["vortices"] == 0 and fa["vortices"]["eddies"] == 0
    page = (out / "report.html").read_text()
    assert "three layers, report" in page and "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_plotted_interface_jump_is_the_computed_one(layered_run):
    out, _ = layered_run
    summary = json.loads((out / "summary.json").read_text())
    plotted = interface_jumps(read_result(out))  # the data plot_result draws
    assert len(plotted) == len(summary["interfaces"]) == 2
    for i, (_, jumps, _) in plotted.items():
        rep = summary["interfaces"][summary["interface_ids"][str(i)]]
        assert min(jumps) == pytest.approx(rep["min_jump"], rel=1e-12, abs=1e-14)
        assert max(jumps) == pytest.approx(rep["max_jump"], rel=1e-12, abs=1e-14)
    # a visible step where R_K equals the bulk resistance
    assert abs(summary["interfaces"]["interface_1"]["mean_jump"]) > 0.1


def test_cli_plot(layered_run, capsys):
    out, _ = layered_run
    code = main(["plot", str(out), "--no-render"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "0 vortices" in cap.out and "report.html" in cap.out
    code = main(["plot", str(out / "nope")])
    assert code == 2 and "femheat: error:" in capsys.readouterr().err


def test_report_in_headless_chromium(layered_run, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    out, _ = layered_run
    shot = tmp_path / "page.png"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--window-size=1200,1600",
         f"--screenshot={shot}", (out / "report.html").resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), proc.stderr[-2000:]
    _not_blank(shot)
    assert "Uncaught" not in proc.stderr and "ERR_FILE_NOT_FOUND" not in proc.stderr, \
        proc.stderr[-2000:]


def test_gk_cavity_vortex_from_the_files(tmp_path):
    spec = importlib.util.spec_from_file_location("gk_cavity_vortex",
                                                  ROOT / "cases" / "gk_cavity_vortex.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    system, state = mod.solve("gk", h=1 / 12)
    import femheat as fh

    fh.get_model("gk").writer(system, tmp_path).write(0.0, state)
    r = read_result(tmp_path)
    assert r.dim == 2
    res = plot_result(tmp_path, render=False)
    v = res["flux_analysis"]["vortices"]
    assert (v["vortices"], v["eddies"], v["saddles"]) == (1, 1, 0), v
    (e,) = v["eddy_list"]
    assert e["winding"] == 1 and e["sense"] == -1 and e["center"][1] < 0
    _not_blank(tmp_path / "plots" / "heat_flux.png")


def test_vortex_history_over_a_series(tmp_path):
    """Counts per saved step: a series from rest (q = 0: no critical point) to the GK
    cavity flow and its half (one vortex each) → vortex_history.csv and its plot."""
    spec = importlib.util.spec_from_file_location("gk_cavity_vortex",
                                                  ROOT / "cases" / "gk_cavity_vortex.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    system, state = mod.solve("gk", h=1 / 8)
    import femheat as fh

    with fh.get_model("gk").writer(system, tmp_path) as writer:  # close() completes the PVD
        for t, s in ((0.0, 0.0), (1.0, 0.5), (2.0, 1.0)):
            writer.write(t, fh.State(t, s * state.temperature, s * state.flux))
    res = plot_result(tmp_path, render=False)
    assert "plots/vortex_history.png" in res["files"] and "vortex_history.csv" in res["files"]
    rows = np.loadtxt(tmp_path / "vortex_history.csv", delimiter=",", skiprows=1)
    assert rows[:, 0].tolist() == [0.0, 1.0, 2.0]
    assert rows[:, 1].tolist() == [0, 1, 1] and rows[:, 4].tolist() == [0, 1, 1]
    assert rows[1, 7] == pytest.approx(rows[2, 7], rel=1e-10)  # fractions scale-free
    _not_blank(tmp_path / "plots" / "vortex_history.png")


@pytest.mark.slow
def test_pyvista_render(layered_run):
    out, _ = layered_run
    res = plot_result(out, render=True)
    assert "plots/render.png" in res["files"]
    _not_blank(out / "plots" / "render.png")
