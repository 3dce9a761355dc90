"""The command line: one error contract (rc 2, `femheat: error:`, the key named, no
traceback, nothing written), --debug, --version, python -m femheat, info, cases,
models, -v/-q after the subcommand, and the confirmation of very long runs."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import femheat
from femheat.cli import main
from tests.conftest import LAYERED_TABLES, ROOT

MESH = ROOT / "meshes" / "layered_2d.msh"

CASE = f"""title = "three layers"
[mesh]
file = "{MESH}"
{LAYERED_TABLES}[interfaces.interface_1]
kapitza_resistance = 1e-8
[output]
png = false
vtu = false
"""


def write_case(tmp_path: Path, text: str = CASE, edits=(), name: str = "case.toml") -> Path:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def assert_refused(code: int, err: str, out_dir: Path, *needles: str) -> None:
    assert code == 2, err
    assert err.startswith("femheat: error:") or "\nfemheat: error:" in err, err
    assert "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out_dir.exists() or not any(out_dir.iterdir()), list(out_dir.iterdir())


# ------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("edits, needles", [
    ([("png = false", 'png = "no"')], ["output.png", "'no'"]),
    ([("vtu = false", 'vtu = "false"')], ["output.vtu", "'false'"]),
    ([("vtu = false", 'vtu = false\nprofile_times = "five"')], ["output.profile_times", "five"]),
    ([("vtu = false", "vtu = false\nprofile_times = 1")], ["output.profile_times", ">= 2"]),
    ([("vtu = false", "vtu = false\nprofile_times = 0")], ["output.profile_times", ">= 2"]),
    ([("temperature = 301.0", 'temperature = "sqrt(x - 1)"')],
     ["boundaries.left.temperature evaluates to NaN at"]),
    ([("temperature = 300.0", "temperature = -20.0")],
     ["boundaries.right.temperature = -20 K", "> 0 K"]),
    ([("temperature = 300.0", 'temperature = "300 - 1e9*x"')],
     ["boundaries.right.temperature", "> 0 K"]),
    ([("[output]", '[output.probes]\nfar = [1.0, 1.0]\n[output]')],
     ["output.probes.far", "outside the mesh"]),
    ([(f'file = "{MESH}"', f'file = "{MESH.parent / "nope.msh"}"')],
     ["nope.msh", "does not exist"]),
])
def test_bad_case_is_refused_with_its_key(tmp_path, capsys, edits, needles):
    case = write_case(tmp_path, edits=edits)
    out = tmp_path / "out"
    code, _, err = run_cli(["run", case, "-o", out, "-q"], capsys)
    assert_refused(code, err, out, *needles)


@pytest.mark.parametrize("content, needles", [
    ("garbage text\n", ["bad.msh", "not a gmsh .msh file"]),
    (None, ["bad.msh", "truncated or corrupt"]),  # the first 3000 bytes of a real mesh
    (b"\x00\x01\xff\xfe\x00", ["bad.msh", "truncated or corrupt"]),
])
def test_unreadable_mesh_is_refused(tmp_path, capsys, content, needles):
    bad = tmp_path / "bad.msh"
    if content is None:
        bad.write_bytes(MESH.read_bytes()[:3000])
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    case = write_case(tmp_path, edits=[(str(MESH), str(bad))])
    out = tmp_path / "out"
    code, _, err = run_cli(["run", case, "-o", out, "-q"], capsys)
    assert_refused(code, err, out, *needles)
    assert "reshape" not in err and "SystemExit" not in err


def test_non_utf8_case_and_folder_and_output_file(tmp_path, capsys):
    out = tmp_path / "out"
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('title = "café"\n'.encode("latin-1"))
    code, _, err = run_cli(["run", latin, "-o", out, "-q"], capsys)
    assert_refused(code, err, out, "latin1.toml", "not UTF-8")

    code, _, err = run_cli(["run", ROOT / "cases", "-o", out, "-q"], capsys)
    assert_refused(code, err, out, "is a folder")

    afile = tmp_path / "results.txt"
    afile.write_text("keep me")
    code, _, err = run_cli(["run", write_case(tmp_path), "-o", afile, "-q"], capsys)
    assert_refused(code, err, out, "results.txt", "existing file")
    assert afile.read_text() == "keep me"


def _fail_open(errnum: int):
    real = os.open

    def fake(path, *args, **kwargs):
        if ".femheat-write-test" in str(path):
            raise OSError(errnum, os.strerror(errnum), str(path))
        return real(path, *args, **kwargs)

    return fake


@pytest.mark.parametrize("errnum, needles", [
    (errno.EACCES, ["permission denied writing", "out"]),
    (errno.ENOSPC, ["no space left on device writing", "out", "--output"]),
    (errno.EROFS, ["read-only file system", "out"]),
])
def test_unwritable_output_is_refused_before_the_mesh(tmp_path, capsys, monkeypatch,
                                                      errnum, needles):
    import femheat.io.case.mesh as case_mesh
    import femheat.io.output as output

    monkeypatch.setattr(output.os, "open", _fail_open(errnum))
    monkeypatch.setattr(case_mesh, "load_mesh", lambda *a, **k: pytest.fail("mesh read"))
    out = tmp_path / "out"
    code, _, err = run_cli(["run", write_case(tmp_path), "-o", out, "-q"], capsys)
    assert_refused(code, err, out, *needles)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_output_folder(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = run_cli(["run", write_case(tmp_path), "-o", ro / "out", "-q"], capsys)
    finally:
        ro.chmod(0o755)
    assert_refused(code, err, ro / "out", "permission denied", "ro")


def test_full_disk_during_the_run(tmp_path, capsys, monkeypatch):
    import femheat.pipeline.runner as runner

    def full(case, out, progress=None, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "run_case", full)
    out = tmp_path / "out"
    code, _, err = run_cli(["run", write_case(tmp_path), "-o", out, "-q"], capsys)
    assert code == 2 and "Traceback" not in err
    assert f"femheat: error: no space left on device writing {out}; free space or choose " \
           "another --output" in err


def test_internal_error_and_debug(tmp_path, capsys, monkeypatch):
    import femheat.pipeline.runner as runner

    def broken(case, out, progress=None, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(runner, "run_case", broken)
    case = write_case(tmp_path)
    code, _, err = run_cli(["run", case, "-o", tmp_path / "out", "-q"], capsys)
    assert code == 1 and "Traceback" not in err
    assert "femheat: internal error: ZeroDivisionError: boom (run with --debug" in err
    for argv in (["--debug", "run", case], ["run", case, "--debug"]):
        with pytest.raises(ZeroDivisionError):
            main([str(a) for a in argv] + ["-o", str(tmp_path / "out"), "-q"])
    with pytest.raises(femheat.FemheatInputError, match="output.png"):
        main(["run", str(write_case(tmp_path, edits=[("png = false", 'png = "no"')])),
              "-o", str(tmp_path / "out"), "--debug"])


def test_absurd_kapitza_resistance_names_the_interface(tmp_path, capsys):
    case = write_case(tmp_path, edits=[("kapitza_resistance = 1e-8", "kapitza_resistance = 1e6")])
    code, _, err = run_cli(["run", case, "-o", tmp_path / "out", "-q"], capsys)
    assert code == 2 and "Traceback" not in err
    # the plausibility warning before the solve, and the solver's error names it again
    assert "femheat: warning: interfaces.interface_1.kapitza_resistance = 1e+06 m^2 K/W is " \
           "2.5e+11x the bulk resistance" in err
    error = err[err.index("femheat: error:"):]
    assert "interfaces.interface_1.kapitza_resistance = 1e+06" in error


# ------------------------------------------------------------------ long runs
TRANSIENT = re.sub(r"(conductivity = [\d.]+\n)", r"\1heat_capacity = 1.6e6\n", CASE).replace(
    "[output]", """[initial]
temperature = 300.0
[time]
dt = 1e-12
end = 1e-5
[output]""")


def test_more_than_a_million_steps_needs_confirmation(tmp_path, capsys, monkeypatch):
    import femheat.io.case.mesh as case_mesh
    import femheat.pipeline.runner as runner

    ran = []

    def fake_run(case, out, progress=None, **kwargs):  # stop here: do not run 1e7 steps
        ran.append(case.time)
        return {"dofs": {"total": 1}, "wall_time": {"total_s": 0.0},
                "energy_balance_relative_error": 0.0, "heat_flow": {}, "interfaces": {}}

    monkeypatch.setattr(runner, "run_case", fake_run)
    real_load = case_mesh.load_mesh
    monkeypatch.setattr(case_mesh, "load_mesh", lambda *a, **k: pytest.fail("mesh read"))
    out = tmp_path / "out"
    code, _, err = run_cli(["run", write_case(tmp_path, TRANSIENT), "-o", out, "-q"], capsys)
    assert_refused(code, err, out, "time.end / time.dt", "1e+07 time steps", "--yes",
                   "confirm_steps = true")
    assert not ran
    monkeypatch.setattr(case_mesh, "load_mesh", real_load)
    code, _, err = run_cli(["run", write_case(tmp_path, TRANSIENT), "-o", out, "-q", "--yes"],
                           capsys)
    assert code == 0, err
    confirmed = TRANSIENT.replace("end = 1e-5", "end = 1e-5\nconfirm_steps = true")
    code, _, err = run_cli(["run", write_case(tmp_path, confirmed), "-o", out, "-q"], capsys)
    assert code == 0, err
    assert len(ran) == 2 and ran[1].confirm_steps


# ------------------------------------------------------------- command line
def test_version_and_python_m(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"femheat {femheat.__version__}"
    proc = subprocess.run([sys.executable, "-m", "femheat", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"femheat {femheat.__version__}"


def test_usage_error_is_rc_2(capsys):
    code, _, err = run_cli(["frobnicate"], capsys)
    assert code == 2 and "invalid choice" in err


def test_info_mesh(capsys):
    code, out, err = run_cli(["info", ROOT / "meshes" / "composite_2d.msh", "-q"], capsys)
    assert code == 0, err
    assert "2D, 4602 triangles" in out
    assert "matrix" in out and "inclusion" in out and "left" in out
    assert "inclusion_surface" in out and "between matrix (side A) and inclusion (side B)" in out
    assert "h_min" in out and "h_max" in out and "bounding box: [0, 3e-06] x [0, 2e-06] m" in out
    assert "quality: min angle" in out


def test_run_then_info_result_and_killed(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(["run", write_case(tmp_path), "-o", out, "-v"], capsys)
    assert code == 0, err
    assert "three layers" in stdout
    code, info, err = run_cli(["info", out], capsys)
    assert code == 0, err
    assert "status: completed" in info and "model: fourier" in info and "DOFs:" in info
    assert "energy balance relative error" in info and "heat flow out of left" in info
    assert "wall time" in info
    # a summary left "running" by a process that no longer exists -> killed
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    summary = json.loads((out / "summary.json").read_text())
    import socket

    summary.update(status="running", pid=dead.pid, host=socket.gethostname())
    (out / "summary.json").write_text(json.dumps(summary))
    code, info, _ = run_cli(["info", out], capsys)
    assert code == 0 and "status: killed" in info and str(dead.pid) in info


def test_run_status():
    import socket

    from femheat.io.info import run_status

    me = socket.gethostname()
    assert run_status({"status": "completed"}) == "completed"
    assert run_status({"status": "running", "pid": os.getpid(), "host": me}) == "running"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert run_status({"status": "running", "pid": dead.pid, "host": me}) == "killed"
    assert run_status({"status": "running", "pid": dead.pid}) == "killed"
    # cannot be checked from here: left as written
    assert run_status({"status": "running", "pid": dead.pid, "host": me + "-other"}) == "running"
    assert run_status({"status": "running"}) == "running"


def test_info_on_a_folder_without_summary(tmp_path, capsys):
    code, _, err = run_cli(["info", tmp_path], capsys)
    assert code == 2 and "no summary.json" in err


def test_cases_lists_every_case_file(capsys):
    code, out, err = run_cli(["cases"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    files = sorted(p.name for p in (ROOT / "cases").iterdir() if p.suffix in (".toml", ".py"))
    assert [line.split()[0] for line in lines] == files
    table = {line.split()[0]: line for line in lines}
    assert "Composite with Kapitza interfaces" in table["composite_kapitza.toml"]
    assert "fourier" in table["composite_kapitza.toml"]
    assert "mcv, transient" in table["second_sound_pulse.toml"]
    assert "script" in table["hot_spot.py"] and "hot spot" in table["hot_spot.py"]


def test_models(capsys):
    code, out, _ = run_cli(["models"], capsys)
    assert code == 0
    for name, model in femheat.MODELS.items():
        assert any(line.startswith(name) and model.description in line
                   for line in out.splitlines()), name
        for key in model.options:
            assert f"[model] {key}:" in out
    assert "[model] beta:" in out


@pytest.mark.parametrize("argv", [["-q", "models"], ["models", "-q"], ["models", "-v"],
                                  ["-v", "cases"], ["cases", "-v", "-q"]])
def test_verbosity_flags_before_or_after_the_subcommand(capsys, argv):
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err and out


def test_progress_bar_is_throttled_and_silent_in_logs():
    """The run's step bar draws at most every 0.1 s on a terminal (2000 steps in a few
    ms: the opening and the closing draw), and nothing where standard error is a file
    or a pipe (a batch job's log); it used to redraw once per step in both."""
    import io

    pytest.importorskip("tqdm")
    from femheat.cli import _progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    import time

    for stream in (Terminal(), io.StringIO()):
        bar, progress = _progress_bar(False, "step", "case", file=stream)
        start = time.monotonic()
        for done in range(1, 2001):
            progress(done, 2000)
        # a loaded machine may stretch the loop: one draw more per 0.1 s it took
        allowed = 2 + int((time.monotonic() - start) / 0.1) if stream.isatty() else 0
        bar.close()
        text = stream.getvalue()
        assert text.count("\r") <= allowed, text[-300:]
        if stream.isatty():
            assert "2000/2000" in text
        else:
            assert text == ""
