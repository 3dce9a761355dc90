"""The Guyer–Krumhansl cases run and agree with the closed forms (BENCHMARKS G1, G3)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from femheat.case import load_case
from femheat.runner import run_case
from tests.conftest import ROOT


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "cases" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ribbon_sweep_matches_closed_form(tmp_path):
    ribbon = _load("ribbon_poiseuille")
    summary = ribbon.run(tmp_path, ratios=[0.5, 2.5, 20.0])
    assert summary["max_relative_error_kappa_eff"] < 1e-3, summary
    assert summary["max_profile_error"] < 5e-3, summary
    assert (tmp_path / "ribbon.png").stat().st_size > 20_000
    assert len((tmp_path / "kappa_eff.csv").read_text().splitlines()) == 1 + 6


def test_ribbon_case_file(tmp_path):
    case = load_case(ROOT / "cases" / "ribbon_poiseuille.toml")
    summary = run_case(case, tmp_path)
    width = 2.5e-6
    keff = summary["heat_flow"]["right"] * width / (width * 1.0)
    exact = 1 - (2 / 2.5) * np.tanh(1.25)
    assert keff == pytest.approx(exact, rel=1e-3)
    assert json.loads((tmp_path / "summary.json").read_text())["model"] == "gk"
