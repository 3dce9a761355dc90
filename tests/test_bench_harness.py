"""The benchmark harness's logic (issue 19): drift check and README sections.

Pure logic on synthetic result documents; no benchmark runs here (``make bench`` does
that, ``make bench-check`` compares).
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from tests.conftest import ROOT


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


run_all = _load("run_all")
report = _load("report")


def _doc(ratios: dict[str, dict[str, float]], **tables) -> dict:
    return {"schema": 1, "mode": "quick", "created": "2026-12-04 12:00:00",
            "machine": {"cpus": 2, "machine": "x86_64", "python": "3.11"},
            "calibration": {"dgemm_gflops": 10.0, "copy_gbs": 8.0, "spmv_gflops": 1.2,
                            "spmv_nnz": 100},
            "benchmarks": {name: {"ratios": r, "tables": tables.get(name, []), "wall_s": 1.0,
                                  "command": f"python benchmarks/bench_{name}.py --quick"}
                           for name, r in ratios.items()}}


def test_drift_flags_40_percent_and_passes_10_percent():
    recorded = _doc({"gk": {"steady GK/MCV, n=50": 5.0, "step GK/MCV, n=50": 9.0},
                     "kernels": {"rel. error FFT vs dense, 7938 cells": 1.35e-10}})
    new = _doc({"gk": {"steady GK/MCV, n=50": 7.0,          # +40 %: drift
                       "step GK/MCV, n=50": 9.0 * 0.9},     # -10 %: kept
                "kernels": {"rel. error FFT vs dense, 7938 cells": 1.89e-8}})  # x140: drift
    drifted, kept, missing, added = run_all.compare(recorded, new, tolerance=0.3)
    assert [(d.benchmark, d.ratio) for d in drifted] == [
        ("gk", "steady GK/MCV, n=50"), ("kernels", "rel. error FFT vs dense, 7938 cells")]
    assert drifted[0].change == pytest.approx(0.4)
    assert "gk: steady GK/MCV, n=50 = 7, recorded 5 (+40%)" == str(drifted[0])
    assert [(d.ratio, round(d.change, 6)) for d in kept] == [("step GK/MCV, n=50", -0.1)]
    assert missing == [] and added == []
    # a 40 % improvement is a stale record too; a 10 % one is within the noise
    faster = _doc({"gk": {"steady GK/MCV, n=50": 3.0, "step GK/MCV, n=50": 9.9}})
    drifted, kept, _, _ = run_all.compare(recorded, faster)
    assert [d.ratio for d in drifted] == ["steady GK/MCV, n=50"]
    assert [d.ratio for d in kept] == ["step GK/MCV, n=50"]


def test_drift_reports_missing_and_new_ratios_and_skips_benchmarks_not_run():
    recorded = _doc({"gk": {"steady GK/MCV, n=50": 5.0, "steady GK/MCV, n=100": 9.5},
                     "hmatrix": {"apply H/dense, N=25088": 0.3}})
    new = _doc({"gk": {"steady GK/MCV, n=50": 5.1, "steady GK/MCV, n=180": 10.0}})
    drifted, kept, missing, added = run_all.compare(recorded, new)
    assert drifted == [] and [d.ratio for d in kept] == ["steady GK/MCV, n=50"]
    assert missing == ["gk: steady GK/MCV, n=100"]
    assert added == ["gk: steady GK/MCV, n=180"]
    # zero records: any nonzero value is a drift, zero is not
    zero = run_all.Drift("x", "y", 0.0, 0.0)
    assert zero.change == 0.0 and run_all.Drift("x", "y", 0.0, 1e-9).change == float("inf")


def test_check_exit_code(tmp_path, capsys):
    rec, new = tmp_path / "results.json", tmp_path / "latest.json"
    rec.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=50": 5.0}})))
    new.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=50": 5.4}})))
    assert run_all.check(rec, new, 0.3) == 0
    new.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=50": 7.0}})))
    assert run_all.check(rec, new, 0.3) == 1
    out = capsys.readouterr().out
    assert "DRIFT  gk: steady GK/MCV, n=50 = 7, recorded 5 (+40%)" in out
    new.write_text(json.dumps(_doc({})))  # nothing compared: not a pass
    assert run_all.check(rec, new, 0.3) == 1


def test_time_drift_on_a_machine_running_at_another_speed_is_unconfirmed(tmp_path, capsys):
    """A time ratio that moved while the calibration says the machine ran 2x slower is
    reported, not failed (unless --strict); a deterministic ratio fails regardless."""
    rec, new = tmp_path / "results.json", tmp_path / "latest.json"
    rec.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=50": 5.0,
                                           "peak memory GK/MCV, n=50": 1.76}})))
    slow = _doc({"gk": {"steady GK/MCV, n=50": 7.0, "peak memory GK/MCV, n=50": 1.76}})
    slow["calibration"].update(dgemm_gflops=5.0, copy_gbs=4.0)
    new.write_text(json.dumps(slow))
    assert run_all.check(rec, new, 0.3) == 0
    out = capsys.readouterr().out
    assert "drift? gk: steady GK/MCV, n=50 = 7, recorded 5 (+40%)" in out
    assert "unconfirmed" in out
    assert run_all.check(rec, new, 0.3, strict=True) == 1
    slow["benchmarks"]["gk"]["ratios"]["peak memory GK/MCV, n=50"] = 2.5  # +42 %
    new.write_text(json.dumps(slow))
    assert run_all.check(rec, new, 0.3) == 1
    assert "DRIFT  gk: peak memory GK/MCV, n=50 = 2.5" in capsys.readouterr().out
    # the calibration taken right before a benchmark decides for its ratios
    fast = _doc({"gk": {"steady GK/MCV, n=50": 7.0, "peak memory GK/MCV, n=50": 1.76}})
    fast["calibration"].update(dgemm_gflops=5.0)                     # run start: slow
    fast["benchmarks"]["gk"]["calibration"] = dict(_doc({})["calibration"])  # before gk: as then
    recorded = json.loads(rec.read_text())
    recorded["benchmarks"]["gk"]["calibration"] = dict(_doc({})["calibration"])
    rec.write_text(json.dumps(recorded))
    new.write_text(json.dumps(fast))
    assert run_all.check(rec, new, 0.3) == 1
    assert run_all.is_exact("rel. error FFT vs dense, 4050 cells")
    assert run_all.is_exact("MINRES its, n=4, beta=2, l/h=2")
    assert not run_all.is_exact("step GK/MCV, n=50")


def test_time_drift_is_confirmed_by_a_rerun(tmp_path, capsys):
    """bench-check re-runs a benchmark whose time ratio drifted: a drift the re-run repeats
    fails, one it does not (noise) passes; deterministic drifts fail without a re-run."""
    rec, new = tmp_path / "results.json", tmp_path / "latest.json"
    rec.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=50": 5.0, "step GK/MCV, n=50": 9.0},
                                    "hmatrix": {"memory H/dense, N=25088": 0.049}})))
    new.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=50": 7.0, "step GK/MCV, n=50": 9.1},
                                    "hmatrix": {"memory H/dense, N=25088": 0.049}})))
    calls = []

    def rerun(value):
        def run(name):
            calls.append(name)
            return {"steady GK/MCV, n=50": value, "step GK/MCV, n=50": 9.0}
        return run

    assert run_all.check(rec, new, 0.3, rerun=rerun(5.3)) == 0  # the re-run is back: noise
    assert calls == ["gk"]
    assert "noise  gk: steady GK/MCV, n=50 = 7, recorded 5 (+40%); re-run 5.3, not confirmed" \
        in capsys.readouterr().out
    assert run_all.check(rec, new, 0.3, rerun=rerun(6.9)) == 1  # the re-run repeats it
    assert "DRIFT  gk: steady GK/MCV, n=50 = 7, recorded 5 (+40%); re-run 6.9, confirmed" \
        in capsys.readouterr().out
    # off the other way in the re-run: the measurement is noise, not a move of the code
    assert run_all.check(rec, new, 0.3, rerun=rerun(3.0)) == 0
    calls.clear()
    new.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=50": 5.0, "step GK/MCV, n=50": 9.0},
                                    "hmatrix": {"memory H/dense, N=25088": 0.07}})))
    assert run_all.check(rec, new, 0.3, rerun=rerun(5.0)) == 1 and calls == []


def test_record_takes_the_median_of_several_runs(tmp_path):
    paths = []
    for i, v in enumerate([5.0, 9.0, 6.0]):
        p = tmp_path / f"run{i}.json"
        p.write_text(json.dumps(_doc({"gk": {"steady GK/MCV, n=100": v, "peak memory GK/MCV, n=100": 2.7}})))
        paths.append(p)
    out = tmp_path / "results.json"
    doc = run_all.record(paths, out)
    assert json.loads(out.read_text()) == doc
    assert doc["benchmarks"]["gk"]["ratios"] == {"steady GK/MCV, n=100": 6.0,
                                                 "peak memory GK/MCV, n=100": 2.7}
    assert doc["benchmarks"]["gk"]["ratio_runs"]["steady GK/MCV, n=100"] == [5.0, 9.0, 6.0]
    text = report.benchmark_section("gk", doc["benchmarks"]["gk"], doc)
    assert "each the median of 3 runs" in text and "* steady GK/MCV, n=100: **6** (5, 9, 6)" in text


def test_report_rewrites_marked_sections_only():
    table = {"title": "GK vs MCV", "head": ["n", "steady GK/MCV"], "rows": [["50", "5.2"]]}
    doc = _doc({"gk": {"steady GK/MCV, n=50": 5.2}}, gk=[table])
    text = ("# Benchmarks\n\nhand-written text stays\n\n"
            "<!-- bench:gk -->\nold typed table | 2.6 |\n<!-- /bench:gk -->\n\n"
            "between sections\n\n<!-- bench:calibration -->\n<!-- /bench:calibration -->\n"
            "<!-- bench:nosuch -->\nkept\n<!-- /bench:nosuch -->\ntail\n")
    new, changed, unknown = report.rewrite_sections(text, report.sections(doc))
    assert changed == ["gk", "calibration"] and unknown == ["nosuch"]
    assert new.startswith("# Benchmarks\n\nhand-written text stays\n\n<!-- bench:gk -->\n")
    assert "old typed table" not in new
    assert "| n | steady GK/MCV |\n|---:|---:|\n| 50 | 5.2 |" in new
    assert "* steady GK/MCV, n=50: **5.2**" in new
    assert "\n<!-- /bench:gk -->\n\nbetween sections\n" in new
    assert "dgemm (n = 1000) **10.0 GFLOP/s**" in new
    assert "<!-- bench:nosuch -->\nkept\n<!-- /bench:nosuch -->\ntail\n" in new
    # idempotent: a second pass changes nothing
    again, changed, _ = report.rewrite_sections(new, report.sections(doc))
    assert again == new and changed == []


def test_report_check_mode(tmp_path):
    doc = _doc({"gk": {"steady GK/MCV, n=50": 5.2}})
    results = tmp_path / "results.json"
    results.write_text(json.dumps(doc))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench:gk -->\ntyped\n<!-- /bench:gk -->\n")
    assert report.main(["--results", str(results), "--readme", str(readme), "--check"]) == 1
    assert readme.read_text() == "<!-- bench:gk -->\ntyped\n<!-- /bench:gk -->\n"
    assert report.main(["--results", str(results), "--readme", str(readme)]) == 0
    assert report.main(["--results", str(results), "--readme", str(readme), "--check"]) == 0
