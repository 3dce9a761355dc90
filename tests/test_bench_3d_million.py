"""Smoke test of benchmarks/bench_3d_million.py at tiny n (slow: four subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_bench_3d_million_tiny(tmp_path):
    out = tmp_path / "r.jsonl"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_3d_million.py"),
                    "--mcv", "3", "--gk", "3", "--direct-max", "3", "3", "--steps", "2",
                    "--ref-dir", str(tmp_path), "--out", str(out)], check=True,
                   capture_output=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["model"], r["kind"]) for r in rows] == [
        ("mcv", "direct"), ("mcv", "iterative"), ("gk", "direct"), ("gk", "iterative")]
    assert not any("failed" in r for r in rows)
    for r in rows:
        assert r["peak"] >= r["peak_asm"] > 0 and r["balance"] < 1e-8
        assert r["step_balance"] < 1e-8
        if r["model"] == "mcv":  # the linear field is exact
            assert r["flow_err"] < 1e-7 and r["T_err"] < 1e-7
    assert rows[3]["rel_diff"] < 1e-6 and len(rows[3]["step_its"]) == 2
