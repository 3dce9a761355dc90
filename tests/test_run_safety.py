"""Runs never lose, corrupt or misreport a result (issue 17).

* SIGKILL at random moments (atomic writes slowed down by the fault-injection
  pause, so kills land inside writes): every file the PVD lists reads back, every
  visible VTU is complete, and ``resume`` finishes the run with results bitwise
  equal to an uninterrupted run;
* every exit path leaves the right status (completed, failed, interrupted by
  SIGINT/SIGTERM, killed);
* a folder with another run's results is refused unless overwritten or resumed;
* an interrupted homogenization sweep resumes computing only the missing points.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import meshio
import numpy as np
import pytest

from femheat.errors import FemheatInputError
from femheat.io.case import parse_case
from femheat.io.info import run_status
from femheat.pipeline.runner import run_case
from tests.conftest import ROOT


def _pulse_data(end: float = 0.02) -> dict:
    """The second-sound case, shortened: 160 CN steps, a VTU every 10."""
    data = tomllib.loads((ROOT / "cases" / "second_sound_pulse.toml").read_text())
    data["mesh"]["file"] = str(ROOT / "meshes" / "strip_2d.msh")
    data["time"].update(end=end, save_every=10)
    data["output"] = {"png": False, "profile": "x", "profile_times": 4}
    return data


def _write_toml(path: Path, data: dict) -> None:
    """A tiny TOML writer for the flat case tables used here."""
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return repr(v)

    lines = [f"{k} = {val(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for sec, tbl in data.items():
        if not isinstance(tbl, dict):
            continue
        plain = {k: v for k, v in tbl.items() if not isinstance(v, dict)}
        lines.append(f"[{sec}]")
        lines += [f"{k} = {val(v)}" for k, v in plain.items()]
        for sub, st in tbl.items():
            if isinstance(st, dict):
                lines.append(f"[{sec}.{sub}]")
                lines += [f"{k} = {val(v)}" for k, v in st.items()]
    path.write_text("\n".join(lines) + "\n")


def _vtu_arrays(path: Path) -> dict:
    m = meshio.read(path)
    out = {f"p:{k}": v for k, v in m.point_data.items()}
    out.update({f"c:{k}": v[0] for k, v in m.cell_data.items()})
    return out


def _pvd_files(path: Path) -> list[str]:
    return [d.get("file") for d in ET.parse(path).getroot().iter("DataSet")]


DRIVER = """
import sys
from femheat.io.case import load_case
from femheat.pipeline.runner import run_case
try:
    run_case(load_case(sys.argv[1]), sys.argv[2], mode=sys.argv[3])
except KeyboardInterrupt:
    sys.exit(130)
"""


def _start(case_file: Path, out: Path, pause: float = 0.0, mode: str = "new"):
    env = dict(os.environ, FEMHEAT_TEST_WRITE_PAUSE=str(pause), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(case_file), str(out), mode],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(path: Path, proc, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before {path.name} appeared: "
                                 f"{proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError(f"{path.name} did not appear in {timeout} s")
        time.sleep(0.02)


def _check_readable(out: Path) -> None:
    """Every file the PVD lists reads back; every visible VTU is complete."""
    if (out / "fields.pvd").exists():
        for name in _pvd_files(out / "fields.pvd"):
            assert (out / name).exists(), name
            _vtu_arrays(out / name)
    for vtu in out.glob("*.vtu"):  # hidden .part files are not matched
        _vtu_arrays(vtu)
    with open(out / "history.csv") as fh:
        rows = fh.read().split("\n")
    assert all(len(r.split(",")) == len(rows[0].split(",")) for r in rows[1:-1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    summary = run_case(parse_case(_pulse_data(), ROOT / "cases"), out)
    assert summary["status"] == "completed"
    return out, summary


def test_sigkill_then_resume_is_bitwise_identical(tmp_path, reference):
    ref, ref_summary = reference
    case_file = tmp_path / "pulse.toml"
    _write_toml(case_file, _pulse_data())
    rng = random.Random(17)
    for trial in range(3):
        out = tmp_path / f"trial{trial}"
        proc = _start(case_file, out, pause=0.03)
        _wait_for(out / f"fields_{rng.randint(1, 4):05d}.vtu", proc)
        time.sleep(rng.uniform(0.0, 0.1))  # often inside the next atomic write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "running" and run_status(summary) == "killed"
        _check_readable(out)
        with pytest.raises(FemheatInputError, match="--overwrite.*--resume"):
            run_case(parse_case(_pulse_data(), ROOT / "cases"), out)  # not silently reused
        resumed = run_case(parse_case(_pulse_data(), ROOT / "cases"), out, mode="resume")
        assert resumed["status"] == "completed" and "resumed_from" in resumed
        assert not list(out.glob(".*.part-*"))
        assert _pvd_files(out / "fields.pvd") == _pvd_files(ref / "fields.pvd")
        for name in _pvd_files(ref / "fields.pvd"):
            a, b = _vtu_arrays(ref / name), _vtu_arrays(out / name)
            assert a.keys() == b.keys()
            for k in a:
                assert np.array_equal(a[k], b[k]), (trial, name, k)  # bitwise
        assert (out / "history.csv").read_text() == (ref / "history.csv").read_text()
        assert resumed["energy_balance_relative_error"] == ref_summary[
            "energy_balance_relative_error"]
        assert resumed["final_energy"] == ref_summary["final_energy"]


def test_each_exit_path_leaves_the_right_status(tmp_path, monkeypatch):
    data = _pulse_data(end=0.005)
    # SIGINT (KeyboardInterrupt) in the time loop: interrupted, with the time reached
    def stop(done, total):
        if done == 7:
            raise KeyboardInterrupt

    out = tmp_path / "sigint"
    with pytest.raises(KeyboardInterrupt):
        run_case(parse_case(data, ROOT / "cases"), out, progress=stop)
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "interrupted" and s["signal"] == "SIGINT"
    assert s["reached_step"] == 7 and s["reached_time"] > 0
    _check_readable(out)
    # an error anywhere (here: in the steady solver): failed, with the message
    from femheat.models.mixed import MixedModel

    def broken(self, system, **options):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(MixedModel, "steady", broken)
    steady = dict(_pulse_data())
    del steady["time"]
    steady["boundaries"] = {"left": {"temperature": 301.0}, "right": {"temperature": 300.0},
                            "sides": {"heat_flux": 0.0}}
    out = tmp_path / "failed"
    with pytest.raises(RuntimeError, match="exploded"):
        run_case(parse_case(steady, ROOT / "cases"), out)
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "failed" and "solver exploded" in s["error"]
    monkeypatch.undo()
    # SIGTERM from outside: interrupted, signal recorded, files valid
    case_file = tmp_path / "pulse.toml"
    _write_toml(case_file, _pulse_data())
    out = tmp_path / "sigterm"
    proc = _start(case_file, out, pause=0.02)
    _wait_for(out / "fields_00002.vtu", proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "interrupted" and s["signal"] == "SIGTERM"
    _check_readable(out)
    assert not list(out.glob(".*.part-*"))


def test_overwrite_clears_only_the_previous_run(tmp_path):
    data = _pulse_data(end=0.0025)
    out = tmp_path / "out"
    run_case(parse_case(data, ROOT / "cases"), out)
    (out / "notes.txt").write_text("mine")
    (out / "fields_00099.vtu").write_text("stale")  # a file of an older, longer run
    with pytest.raises(FemheatInputError, match="holds the results of another run"):
        run_case(parse_case(data, ROOT / "cases"), out)
    s = run_case(parse_case(data, ROOT / "cases"), out, mode="overwrite")
    assert s["status"] == "completed"
    assert (out / "notes.txt").read_text() == "mine"  # not ours: kept
    assert not (out / "fields_00099.vtu").exists()
    assert sorted(p.name for p in out.glob("fields_*.vtu")) == sorted(
        _pvd_files(out / "fields.pvd"))
    # provenance
    assert s["provenance"]["femheat_version"] and s["provenance"]["pid"] == os.getpid()
    assert len(s["mesh_hash"]) == 64 and s["input"]["time"]["dt"] == pytest.approx(1.25e-4)
    assert s["units"]["temperature"] == "K" and s["material_ids"] == {0: "medium"}
    # each VTU records its time (ParaView's TimeValue field data)
    text = (out / "fields_00001.vtu").read_bytes()  # XML with a raw appended data block
    assert b'Name="TimeValue"' in text
    import pyvista as pv

    assert pv.read(out / "fields_00001.vtu").field_data["TimeValue"][0] == pytest.approx(
        10 * 1.25e-4)
    with pytest.raises(FemheatInputError, match="existing file"):
        run_case(parse_case(data, ROOT / "cases"), out / "notes.txt")
    changed = _pulse_data(end=0.0025)
    changed["materials"]["medium"]["conductivity"] = 2.0
    with pytest.raises(FemheatInputError, match="changed"):
        run_case(parse_case(changed, ROOT / "cases"), out, mode="resume")


def test_interrupted_sweep_resumes_only_missing_points(tmp_path, monkeypatch):
    data = tomllib.loads((ROOT / "cases" / "composite_cylinders_sweep.toml").read_text())
    data["mesh"]["parameters"].update(mesh_size=2.5e-7, interface_mesh_size=1.2e-7)
    data["homogenization"]["sweep"]["resistances"] = {"from": 1e-9, "to": 1e-6, "points": 5}
    for key in ("fit", "reference"):
        data["homogenization"].pop(key)
    data["homogenization"]["crossover"] = False
    data["output"] = {"png": False, "vtu": False}
    case = parse_case(data, ROOT / "cases")
    ref = run_case(case, tmp_path / "ref")

    from femheat.analysis.homogenization import CellProblem

    solve = CellProblem.solve
    calls, stop = [], [4]

    def counting(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == stop[0]:  # the main solve, then sweep points 0, 1; stop in point 2
            stop[0] = -1
            raise KeyboardInterrupt
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(CellProblem, "solve", counting)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_case(case, out)
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "interrupted"
    assert len((out / "sweep_points.csv").read_text().strip().split("\n")) == 1 + 2
    calls.clear()
    resumed = run_case(case, out, mode="resume")
    assert resumed["sweep_points_reused"] == 2
    assert len(calls) == 1 + 3  # the tensor, then only the three missing points
    assert resumed["sweep"]["kappa_eff"] == ref["sweep"]["kappa_eff"]


def test_xdmf_series_reloads_with_meshio_and_pyvista(tmp_path, reference):
    """[output] format = "xdmf": one HDF5 file per run; every field and time reloads
    with meshio's XDMF reader and pyvista, equal to the VTU series."""
    ref, _ = reference
    data = _pulse_data()
    data["output"]["format"] = "xdmf"
    out = tmp_path / "xdmf"
    s = run_case(parse_case(data, ROOT / "cases"), out)
    assert s["status"] == "completed" and "fields.h5" in s["files"]
    assert not list(out.glob("fields_*.vtu"))
    vtus = _pvd_files(ref / "fields.pvd")
    times = [float(d.get("timestep")) for d in
             ET.parse(ref / "fields.pvd").getroot().iter("DataSet")]
    with meshio.xdmf.TimeSeriesReader(out / "fields.xdmf") as reader:
        points, cells = reader.read_points_cells()
        assert reader.num_steps == len(vtus)
        for k in range(reader.num_steps):
            t, point_data, cell_data = reader.read_data(k)
            assert t == times[k]
            a = _vtu_arrays(ref / vtus[k])
            for name, arr in point_data.items():
                assert np.array_equal(arr, a[f"p:{name}"]), name
            for name, arr in cell_data.items():
                assert np.array_equal(arr[0], a[f"c:{name}"]), name
    import pyvista as pv

    reader = pv.get_reader(str(out / "fields.xdmf"))
    assert len(reader.time_values) == len(vtus)
    reader.set_active_time_value(reader.time_values[-1])
    grid = reader.read()
    grid = grid[0] if isinstance(grid, pv.MultiBlock) else grid
    assert {"temperature", "heat_flux", "material_id"} <= set(grid.array_names)
    np.testing.assert_array_equal(grid.point_data["temperature"],
                                  _vtu_arrays(ref / vtus[-1])["p:temperature"])


def test_probes_and_lines_are_written_per_step_and_survive_resume(tmp_path, reference):
    """[output.probes] / [output.lines]: one CSV row per step; the probe at the pulse
    centre equals the VTU temperature there; an interrupted run resumes the CSVs."""
    data = _pulse_data()
    data["output"]["probes"] = {"centre": [0.5, 0.005]}
    data["output"]["lines"] = {"axis": {"from": [0.3, 0.005], "to": [0.7, 0.005],
                                        "points": 41}}
    out = tmp_path / "probes"
    s = run_case(parse_case(data, ROOT / "cases"), out)
    assert {"probes.csv", "line_axis.csv"} <= set(s["files"])
    rows = np.loadtxt(out / "probes.csv", delimiter=",", skiprows=1)
    assert rows.shape == (s["time"]["steps"] + 1, 2)
    assert rows[0, 1] == pytest.approx(301.0, abs=2e-3)  # the initial pulse peak, 301 K
    hist = np.loadtxt(out / "history.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(rows[:, 0], hist[:, 0])
    line = np.loadtxt(out / "line_axis.csv", delimiter=",", skiprows=1)
    assert line.shape == (s["time"]["steps"] + 1, 42)
    assert line[0, 21] == pytest.approx(rows[0, 1], abs=1e-12)  # same point, same value

    def stop(done, total):
        if done == 55:
            raise KeyboardInterrupt

    out2 = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_case(parse_case(data, ROOT / "cases"), out2, progress=stop)
    run_case(parse_case(data, ROOT / "cases"), out2, mode="resume")
    for name in ("probes.csv", "line_axis.csv", "history.csv"):
        assert (out2 / name).read_text() == (out / name).read_text(), name
