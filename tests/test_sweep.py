"""Parameter sweeps on Dask (femheat.pipeline.sweep): a real 2-worker LocalCluster on a
three-layer steady case. The heat flow of every point matches the series formula; the
cluster's table equals the serial one and the Parquet table equals the CSV; a point
that fails at run time is recorded while the others complete; a rerun computes only
the missing points; a killed worker is retried, and a point that kills every worker
ends as "killed"; bad keys, values and syntax are refused (rc 2) before anything
runs; Latin hypercubes are reproducible and stratified."""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import shutil
import signal
import tempfile
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from femheat.cli import main
from femheat.errors import FemheatInputError
from femheat.pipeline import sweep_params as sp
from tests.conftest import LAYERED_TABLES, ROOT

distributed = pytest.importorskip("distributed")
pq = pytest.importorskip("pyarrow.parquet")

from femheat.pipeline.sweep import local_cluster, run_point, run_sweep  # noqa: E402
from femheat.pipeline.sweep_dask import _attempt_counts  # noqa: E402

MESH = ROOT / "meshes" / "layered_2d.msh"  # layers 1, 2, 1 um along x, 1 um high

CASE = f"""title = "three layers"
[mesh]
file = "{MESH}"
{LAYERED_TABLES}[interfaces.interface_1]
kapitza_resistance = 1e-8
[output]
png = false
vtu = false
"""

KEY = "materials.layer_2.conductivity"
VALUES = [0.5, 1.0, 2.0, 4.0]


def series_heat_flow(k2: float, k1: float = 1.0, k3: float = 1.0, r: float = 1e-8) -> float:
    """ΔT H / (L1/κ1 + R + L2/κ2 + L3/κ3) [W/m] through the three layers."""
    return 1.0 * 1e-6 / (1e-6 / k1 + r + 2e-6 / k2 + 1e-6 / k3)


@pytest.fixture(scope="module")
def client():
    cluster = local_cluster(2)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def case_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("case") / "layers.toml"
    path.write_text(CASE)
    return path


@pytest.fixture(scope="module")
def done(client, case_file, tmp_path_factory):
    """One completed 4-point sweep on the cluster (copied by the tests that change it)."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    return out, run_sweep(case_file, {KEY: VALUES}, out, client=client, plot="heat_flow.right")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- point runners
def _fail_third(task):
    """Make the third point invalid where only the run can notice it."""
    if task.index == 2:
        task = copy.deepcopy(task)
        task.case["materials"]["layer_2"]["conductivity"] = -1.0
    return run_point(task)


def _kill_workers(task):
    """SIGKILL the worker: point 0 on its first attempt only, point 1 on every attempt."""
    marker = Path(task.folder).parent / f"killed-{task.index}"
    if task.index == 1 or (task.index == 0 and not marker.exists()):
        with open(marker, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return run_point(task)


def _die_after_finishing(task):
    """Point 0, first attempt: finish the point, then SIGKILL the worker as soon as
    the end of the run is logged, before its result can reach the scheduler (the
    killing thread outlives the task: only one point may be swept with this)."""
    marker = Path(task.folder).parent / f"finished-then-died-{task.index}"
    if task.index != 0 or marker.exists():
        return run_point(task)
    marker.write_text(f"{os.getpid()}\n")
    log = Path(task.folder) / "attempts.log"
    ends = log.read_text().count(" end ")

    def kill_after_the_end_line():
        while log.read_text().count(" end ") == ends:
            time.sleep(1e-4)
        os.kill(os.getpid(), signal.SIGKILL)

    row = run_point(task)
    threading.Thread(target=kill_after_the_end_line, daemon=True).start()
    return row


def _kill_point_0s_worker(task):
    """Point 1, first attempt: wait until point 0 has finished and the client has had
    a second to gather its row, then SIGKILL the worker that ran point 0 (and holds
    its result), which may be point 1's own."""
    marker = Path(task.folder).parent / f"killed-{task.index}"
    if task.index != 1 or marker.exists():
        return run_point(task)
    logs = [p for p in Path(task.folder).parent.glob("*/attempts.log")
            if p.parent != Path(task.folder)]
    while not logs or " end " not in logs[0].read_text():
        time.sleep(1e-2)
        logs = [p for p in Path(task.folder).parent.glob("*/attempts.log")
                if p.parent != Path(task.folder)]
    log0 = logs[0]
    time.sleep(1.0)
    pid = int(log0.read_text().split()[2].rsplit(":", 1)[1])
    marker.write_text(f"{pid}\n")
    os.kill(pid, signal.SIGKILL)
    return run_point(task)


# ----------------------------------------------------------------------- tests
def test_cluster_sweep_matches_series_formula_and_serial_run(done, case_file, tmp_path):
    out, result = done
    assert result.computed == 4 and result.reused == 0
    rows = read_csv(out / "results.csv")
    assert [float(r[KEY]) for r in rows] == VALUES
    for r in rows:
        assert r["status"] == "completed", r["error"]
        expected = series_heat_flow(float(r[KEY]))
        assert math.isclose(float(r["heat_flow.right"]), expected, rel_tol=1e-9), r
        assert math.isclose(float(r["heat_flow.left"]), -expected, rel_tol=1e-9)
        assert float(r["energy_balance_relative_error"]) < 1e-10
        assert float(r["interfaces.interface_1.mean_jump"]) == pytest.approx(1e-8 * expected
                                                                             / 1e-6)
        summary = json.loads((out / r["folder"] / "summary.json").read_text())
        assert summary["status"] == "completed"
        assert json.loads((out / r["folder"] / "point.json").read_text())["hash"] == r["hash"]
    assert (out / "results_heat_flow.right.png").stat().st_size > 0
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "completed" and manifest["counts"] == {"completed": 4}

    serial = run_sweep(case_file, {KEY: VALUES}, tmp_path / "serial", serial=True)
    for a, b in zip(result.rows, serial.rows):
        assert a["hash"] == b["hash"]
        for col in ("heat_flow.right", "heat_flow.left", "interfaces.interface_1.mean_jump",
                    "energy_balance_relative_error", "dofs"):
            assert a[col] == pytest.approx(b[col], rel=1e-12, abs=1e-18), col


def _cache_counts() -> tuple[int, int]:
    from femheat.solve.factorization import SYMBOLIC
    return SYMBOLIC.hits, SYMBOLIC.misses


def test_workers_share_the_factorization_pattern(done, client):
    """Each worker analyses each sparsity pattern once: its later points reuse the
    symbolic factorizations. A point factorizes two matrices, one of which does not
    depend on the swept conductivity: from a worker's third point on, its numeric
    factor is reused whole, without a symbolic lookup. Hence per
    worker running k points: 2 misses, and at least k - 1 hits. The split of the
    points between the workers is Dask's choice (2/2, 3/1 or 4/0)."""
    _, result = done
    pids = client.run(os.getpid)
    counts = client.run(_cache_counts)
    ran = {address: sum(row["worker"].endswith(f":{pid}") for row in result.rows)
           for address, pid in pids.items()}
    assert sum(ran.values()) == len(VALUES), (ran, [r["worker"] for r in result.rows])
    for address, k in ran.items():
        hits, misses = counts[address]
        assert misses == (2 if k else 0), (address, k, counts)
        assert hits >= k - 1, (address, k, counts)


def test_parquet_table_equals_csv(done):
    out, _ = done
    csv_rows = read_csv(out / "results.csv")
    table = pq.read_table(out / "results.parquet")
    assert table.column_names == list(csv_rows[0])
    for c_row, p_row in zip(csv_rows, table.to_pylist()):
        for col, val in p_row.items():
            text = c_row[col]
            if val is None:
                assert text == "", col
            elif isinstance(val, bool):
                assert text == ("true" if val else "false"), col
            elif isinstance(val, (int, float)):
                assert float(text) == val, col  # repr round-trips exactly
            else:
                assert text == val, col


def test_failing_point_is_recorded_and_the_others_complete(client, case_file, tmp_path):
    result = run_sweep(case_file, {KEY: VALUES}, tmp_path / "out", client=client,
                       runner=_fail_third)
    status = result.column("status")
    assert status == ["completed", "completed", "failed", "completed"]
    error = result.rows[2]["error"]
    assert "materials.layer_2.conductivity" in error and "-1" in error
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert rows[2]["status"] == "failed" and rows[2]["error"] == error
    assert rows[2]["heat_flow.right"] == ""
    summary = json.loads((tmp_path / "out" / rows[2]["folder"] / "summary.json").read_text())
    assert summary["status"] == "failed" and "conductivity" in summary["error"]
    # a rerun retries the failed point only (here it now succeeds)
    again = run_sweep(case_file, {KEY: VALUES}, tmp_path / "out", client=client)
    assert (again.computed, again.reused) == (1, 3)
    assert again.column("status") == ["completed"] * 4


def test_rerun_computes_only_missing_points(done, client, case_file, tmp_path):
    src, first = done
    out = tmp_path / "out"
    shutil.copytree(src, out)
    gone = out / first.rows[1]["folder"]
    shutil.rmtree(gone)
    kept = {r["folder"]: (out / r["folder"] / "summary.json").read_bytes()
            for r in first.rows if r["point"] != 1}
    result = run_sweep(case_file, {KEY: VALUES}, out, client=client, mode="resume")
    assert (result.computed, result.reused) == (1, 3)
    assert result.column("reused") == [True, False, True, True]
    for folder, text in kept.items():  # untouched: not run again
        assert (out / folder / "summary.json").read_bytes() == text
    assert json.loads((gone / "summary.json").read_text())["status"] == "completed"
    rows = read_csv(out / "results.csv")
    assert [r["status"] for r in rows] == ["completed"] * 4
    assert [float(r["heat_flow.right"]) for r in rows] == \
        [float(r["heat_flow.right"]) for r in read_csv(src / "results.csv")]
    # nothing left to do: a plain rerun reuses every point
    assert run_sweep(case_file, {KEY: VALUES}, out, serial=True).computed == 0
    # --resume of another sweep is refused, naming the fix
    with pytest.raises(FemheatInputError, match="other points"):
        run_sweep(case_file, {KEY: [3.0]}, out, serial=True, mode="resume")


def test_killed_worker_is_retried_then_reported(client, case_file, tmp_path):
    out = tmp_path / "out"
    result = run_sweep(case_file, {KEY: VALUES[:3]}, out, client=client,
                       runner=_kill_workers)
    assert result.column("status") == ["completed", "killed", "completed"]
    for r in (result.rows[0], result.rows[2]):
        assert r["heat_flow.right"] == pytest.approx(series_heat_flow(r[KEY]), rel=1e-9)
    # point 0 killed its worker once and was retried; point 1 killed two (retries=1)
    assert len((out / "points" / "killed-0").read_text().split()) == 1
    assert len((out / "points" / "killed-1").read_text().split()) == 2
    assert "KilledWorker: 2 worker(s) died" in result.rows[1]["error"]
    events = [line.split()[1] for line in
              (out / result.rows[1]["folder"] / "attempts.log").read_text().splitlines()]
    assert events == ["start", "start"]  # two runs, both cut short
    summary = json.loads((out / result.rows[1]["folder"] / "summary.json").read_text())
    assert summary["status"] == "killed"
    assert not list(out.rglob(".*.part-*"))  # no half-written file anywhere
    assert [r["status"] for r in read_csv(out / "results.csv")] == \
        ["completed", "killed", "completed"]
    # a rerun computes only the killed point (it kills again: nothing else reruns)
    again = run_sweep(case_file, {KEY: VALUES[:3]}, out, client=client, retries=0,
                      runner=_kill_workers)
    assert (again.computed, again.reused) == (1, 2)
    assert again.column("status") == ["completed", "killed", "completed"]


def test_a_gathered_point_is_not_recomputed_when_its_worker_dies(client, case_file,
                                                                tmp_path):
    """The sweep lets go of each result once gathered. Otherwise a worker that dies
    still holding it makes the scheduler run the point again on another worker,
    where the run outlives the sweep and rewrites the point's folder while a rerun
    reads it (a rerun that recomputed a completed point, stop 41's CI)."""
    out = tmp_path / "out"
    result = run_sweep(case_file, {KEY: VALUES[:2]}, out, client=client,
                       runner=_kill_point_0s_worker)
    assert result.column("status") == ["completed", "completed"]
    assert (out / "points" / "killed-1").exists()
    time.sleep(2.0)  # a rerun of point 0 would have started by now
    log0 = (out / result.rows[0]["folder"] / "attempts.log").read_text()
    assert [line.split()[1] for line in log0.splitlines()] == ["start", "end"], log0


def test_a_worker_dying_after_its_point_finished_is_not_blamed(client, case_file, tmp_path):
    """The scheduler may hear of the death before the finish and report the point
    as killed; its attempts.log has the end of the run, so it is resubmitted."""
    out = tmp_path / "out"  # one point: no other point may start before the kill
    result = run_sweep(case_file, {KEY: VALUES[:1]}, out, client=client, retries=0,
                       runner=_die_after_finishing)
    assert result.column("status") == ["completed"]
    assert (out / "points" / "finished-then-died-0").exists()
    for r in result.rows:
        assert r["heat_flow.right"] == pytest.approx(series_heat_flow(r[KEY]), rel=1e-9)


def test_attempt_accounting_counts_runs_without_an_end():
    log = ["a1 start h:1 t", "a1 end h:1 t", "b2 start h:2 t", "b2 start h:3 t",
           "b2 end h:3 t", "c3 start h:4 t"]
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "attempts.log").write_text("\n".join(log) + "\n")
        assert _attempt_counts(folder, "a1") == (0, 1)  # finished: not blamed
        assert _attempt_counts(folder, "b2") == (1, 2)  # one of two runs cut short
        assert _attempt_counts(folder, "c3") == (1, 1)
        assert _attempt_counts(folder, "d4") == (0, 0)  # never started: waited
    assert _attempt_counts("/nonexistent/folder", "a1") == (0, 0)


def test_cli_sweep_on_a_running_scheduler(client, case_file, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["sweep", str(case_file), "-p", "interfaces.interface_1.kapitza_resistance="
                 "log:1e-9:1e-7:3", "-o", str(out), "--scheduler",
                 client.scheduler.address, "--plot", "interfaces.interface_1.mean_jump", "-q"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "sweep of 3 points: 3 computed, 0 reused, 3 completed" in cap.out
    rows = read_csv(out / "results.csv")
    for r in rows:
        rk = float(r["interfaces.interface_1.kapitza_resistance"])
        assert float(r["heat_flow.right"]) == pytest.approx(series_heat_flow(2.0, r=rk),
                                                            rel=1e-9)
    assert (out / "results_interfaces.interface_1.mean_jump.png").exists()


@pytest.mark.parametrize("param, needles", [
    ("materials.layer_2.conductivty=1,2", ["materials.layer_2", "conductivty",
                                           "allowed: conductivity"]),
    ("material.layer_2.conductivity=1,2", ["material", "allowed:", "materials"]),
    ("materials.layer_2.conductivity=1,-2", ["materials.layer_2.conductivity", "-2"]),
    ("materials.layer_2.conductivity=1,abc", ["materials.layer_2.conductivity", "'abc'"]),
    ("interfaces.interface_9.kapitza_resistance=1e-9", ["interface_9", "interface_1"]),
    ("materials.layer_2.conductivity.x=1", ["materials.layer_2.conductivity", "not a table"]),
    ("materials.layer_2.conductivity=log:0:1:3", ["materials.layer_2.conductivity", "START"]),
    ("materials.layer_2.conductivity", ["KEY=VALUES"]),
    ("mesh.parameters.thickness=1", ["mesh"]),
])
def test_bad_parameters_are_refused_before_anything_runs(case_file, tmp_path, capsys, param,
                                                         needles):
    out = tmp_path / "never"
    code = main(["sweep", str(case_file), "-p", param, "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("femheat: error:") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out.exists()  # nothing written, nothing submitted


def test_bad_sweep_options_are_refused(case_file, tmp_path, capsys):
    for argv, needle in [(["--design", "lhs"], "--samples"),
                         (["--samples", "3"], "--design lhs"),
                         (["--plot", "heat_flux.right"], "--plot"),
                         (["--retries", "-1"], "--retries")]:
        code = main(["sweep", str(case_file), "-p", f"{KEY}=1,2", "-o",
                     str(tmp_path / "never"), "-q", *argv])
        err = capsys.readouterr().err
        assert code == 2 and needle in err, (argv, err)
    assert not (tmp_path / "never").exists()


def test_latin_hypercube_is_reproducible_and_stratified():
    axes = [sp.parse_param("a=lin:0.1:1.1"), sp.parse_param("b=log:1e-9:1e-5"),
            sp.parse_param("c=range:0:10")]
    n = 10
    first = sp.design_points(axes, "lhs", n, seed=7)
    assert first == sp.design_points(axes, "lhs", n, seed=7)
    assert first != sp.design_points(axes, "lhs", n, seed=8)
    a = np.array([p["a"] for p in first])
    b = np.log10([p["b"] for p in first])
    for strata in (np.floor((a - 0.1) / 1.0 * n), np.floor((b + 9) / 4 * n)):
        assert sorted(strata.astype(int)) == list(range(n))  # each bin hit exactly once
    assert sorted(p["c"] for p in first) == list(range(10))
    u = sp.latin_hypercube(25, 4, seed=1)
    assert all(sorted(np.floor(u[:, j] * 25).astype(int)) == list(range(25))
               for j in range(4))


def test_builder_mesh_swept_serially(tmp_path):
    """A swept geometry key: each point builds its own mesh (gmsh), kept in its folder."""
    pytest.importorskip("gmsh")
    text = CASE.replace(f'file = "{MESH}"', 'builder = "layered_stack"\n[mesh.parameters]\n'
                        'thicknesses = [1e-6, 1e-6]\nheight = 5e-7\nmesh_size = 2.5e-7')
    text = text.replace("[materials.layer_3]\nconductivity = 1.0\n", "")
    case = tmp_path / "built.toml"
    case.write_text(text)
    result = run_sweep(case, {"mesh.parameters.thicknesses.1": [1e-6, 3e-6]},
                       tmp_path / "out", serial=True)
    for r in result.rows:
        L2 = r["mesh.parameters.thicknesses.1"]
        expected = 5e-7 / (1e-6 + 1e-8 + L2 / 2.0)
        assert r["heat_flow.right"] == pytest.approx(expected, rel=1e-9)
        assert (tmp_path / "out" / r["folder"] / "mesh.msh").exists()
    assert result.rows[0]["dofs"] != result.rows[1]["dofs"]


def test_summary_row_of_a_homogenization_study():
    from femheat.pipeline.sweep import summary_row

    row = summary_row({"status": "completed", "energy_balance_relative_error": 1e-15,
                       "homogenization": {"conductivity": [[0.3, 0.0], [0.0, 0.25]],
                                          "principal_conductivities": [0.25, 0.3]},
                       "wall_time": {"total_s": 1.5}})
    assert row["kappa_eff.xx"] == 0.3 and row["kappa_eff.yy"] == 0.25
    assert row["kappa_eff.xy"] == 0.0 and row["kappa_eff.principal_2"] == 0.3
    assert row["wall_time.total_s"] == 1.5 and row["status"] == "completed"


def test_values_syntax_and_point_hash(tmp_path):
    assert sp.parse_param("k=1,2.5,[1,2]").grid_values() == [1, 2.5, [1, 2]]
    assert sp.parse_param("k=lin:0.1:1:10").grid_values()[2] == 0.3
    assert sp.parse_param("k=log:1e-9:1e-6:4").grid_values() == [1e-9, 1e-8, 1e-7, 1e-6]
    assert sp.parse_param("k=range:0:20:5").grid_values() == [0, 5, 10, 15]
    assert sp.parse_param("model.type=fourier,mcv").grid_values() == ["fourier", "mcv"]
    grid = sp.design_points([sp.parse_param("a=1,2"), sp.parse_param("b=3,4,5")])
    assert len(grid) == 6 and grid[1] == {"a": 1, "b": 4}
    data = {"mesh": {"file": "m.msh"}, "materials": {"x": {"conductivity": 1.0}}}
    (tmp_path / "m.msh").write_text("one")
    h = sp.point_hash(data, tmp_path)
    assert h == sp.point_hash(json.loads(json.dumps(data)), tmp_path)
    (tmp_path / "m.msh").write_text("two")  # the mesh file is part of the identity
    assert sp.point_hash(data, tmp_path) != h
    thick = {"mesh": {"parameters": {"thicknesses": [1, 2]}}}
    sp.set_path(thick, "mesh.parameters.thicknesses.1", 5)
    assert thick["mesh"]["parameters"]["thicknesses"] == [1, 5]
    with pytest.raises(FemheatInputError, match="index it with 0 ... 1"):
        sp.set_path(thick, "mesh.parameters.thicknesses.2", 5)


def test_a_folder_in_use_is_refused(case_file, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps(
        {"status": "running", "pid": os.getpid(), "host": socket.gethostname()}))
    with pytest.raises(FemheatInputError, match="still going"):
        run_sweep(case_file, {KEY: [1.0]}, out, serial=True)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text("{}")
    with pytest.raises(FemheatInputError, match="holds a femheat run"):
        run_sweep(case_file, {KEY: [1.0]}, run_dir, serial=True)
    with pytest.raises(FemheatInputError, match="nothing to resume"):
        run_sweep(case_file, {KEY: [1.0]}, tmp_path / "new", serial=True, mode="resume")


def test_readme_sweep_example_runs(tmp_path):
    """The README's Dask sweep snippet runs as written (a scratch folder holding links to
    cases/ and meshes/): three R_K points, the heat flow falling as R_K grows."""
    from tests.conftest import readme_snippet

    for name in ("cases", "meshes"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = readme_snippet(r"from dask.distributed import Client, LocalCluster", cwd=tmp_path)
    flows = env["result"].column("heat_flow.right")
    assert env["result"].count("completed") == 3 and flows[0] > flows[1] > flows[2] > 0
    assert (tmp_path / "results" / "rk" / "results.csv").exists()
