"""Plausibility checks (femheat.physics.plausibility): T <= 0 K refused, more than 1e6
steps refused unless confirmed, and one warning per implausible value naming its key
path and the ratio that looks wrong."""

from __future__ import annotations

import tomllib
import warnings

import pytest

import femheat as fh
from femheat.errors import PlausibilityError, PlausibilityWarning
from femheat.io.case import parse_case
from femheat.physics import plausibility
from tests.conftest import ROOT

LAYERED = ROOT / "meshes" / "layered_2d.msh"  # 4 um x 1 um, three layers, two interfaces
STRIP = ROOT / "meshes" / "strip_2d.msh"      # 1 m x 0.01 m, one material "medium"

BASE = f"""
[mesh]
file = "{LAYERED}"
[model]
type = "mcv"
[materials.layer_1]
conductivity = 1.0
heat_capacity = 1.6e6
relaxation_time = 1e-10
[materials.layer_2]
conductivity = 2.0
heat_capacity = 1.6e6
relaxation_time = 1e-10
[materials.layer_3]
conductivity = 1.0
heat_capacity = 1.6e6
relaxation_time = 1e-10
[interfaces.interface_1]
kapitza_resistance = 1e-8
[boundaries.left]
temperature = 301.0
[boundaries.right]
convection = {{heat_transfer_coefficient = 1e5, ambient_temperature = 300.0}}
[boundaries.top]
heat_flux = 0.0
[boundaries.bottom]
heat_flux = 0.0
[initial]
temperature = 300.0
[time]
dt = 1e-10
end = 1e-8
"""


def case(tmp_path, *edits, text=BASE, **kwargs):
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse_case(tomllib.loads(text), tmp_path, **kwargs)


def test_plausible_case_gives_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        case(tmp_path)


def test_thresholds_table_has_a_reason_for_each():
    for key, th in plausibility.THRESHOLDS.items():
        assert th.action in ("refuse", "confirm", "warn") and len(th.reason) > 20, key
    assert plausibility.MAX_STEPS == 10**6


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("edit, match", [
    (("temperature = 301.0", "temperature = 0.0"), r"boundaries\.left\.temperature = 0 K"),
    (("temperature = 301.0", "temperature = -20.0"), r"boundaries\.left\.temperature = -20 K"),
    (("ambient_temperature = 300.0", "ambient_temperature = -1.0"),
     r"boundaries\.right\.convection\.ambient_temperature = -1 K"),
    (("temperature = 300.0\n[time]", "temperature = -5.0\n[time]"),
     r"initial\.temperature = -5 K"),
    (("ambient_temperature = 300.0", 'ambient_temperature = "301 - 1e8*x"'),
     r"boundaries\.right\.convection\.ambient_temperature = -99 K at \(x, y\) = \(4e-06"),
    (("temperature = 300.0\n[time]", 'temperature = "300 - 1e8*x"\n[time]'),
     r"initial\.temperature = -100 K at \(x, y\) = \(4e-06, .*\) m, t = 0 s"),
    (("ambient_temperature = 300.0", 'ambient_temperature = "300*cos(1e7*y)"'),
     r"boundaries\.right\.convection\.ambient_temperature = -?\d.* K at"),
    (("[initial]\ntemperature = 300.0\n", ""), r"initial\.temperature is missing"),
])
def test_absolute_temperatures_at_or_below_zero_refused(tmp_path, edit, match):
    with pytest.raises(PlausibilityError, match=match):
        case(tmp_path, edit)


def test_constant_temperatures_refused_before_the_mesh(tmp_path, monkeypatch):
    import femheat.io.case.mesh as case_mesh

    monkeypatch.setattr(case_mesh, "load_mesh", lambda *a, **k: pytest.fail("mesh read"))
    with pytest.raises(PlausibilityError, match=r"boundaries\.left\.temperature = -3 K"):
        case(tmp_path, ("temperature = 301.0", "temperature = -3.0"))


def test_non_finite_expression_names_the_boundary(tmp_path):
    with pytest.raises(fh.FemheatInputError,
                       match=r"boundaries\.left\.temperature evaluates to NaN at \(x, y\)"):
        case(tmp_path, ("temperature = 301.0", 'temperature = "300 + sqrt(x - 1)"'))
    with pytest.raises(fh.FemheatInputError, match=r"initial\.temperature cannot be evaluated"):
        case(tmp_path, ("temperature = 300.0\n[time]", 'temperature = "300 + 1/0"\n[time]'))


def test_step_count_needs_confirmation_before_the_mesh(tmp_path, monkeypatch):
    import femheat.io.case.mesh as case_mesh

    real = case_mesh.load_mesh
    monkeypatch.setattr(case_mesh, "load_mesh", lambda *a, **k: pytest.fail("mesh read"))
    long = ("dt = 1e-10", "dt = 1e-15")  # 1e7 steps
    with pytest.raises(PlausibilityError,
                       match=r"time\.end / time\.dt = 1e-08 s / 1e-15 s = 1e\+07 time steps.*"
                             r"femheat run --yes.*confirm_steps = true"):
        case(tmp_path, long)
    monkeypatch.setattr(case_mesh, "load_mesh", real)
    assert case(tmp_path, long, confirm=True).time.dt == 1e-15
    c = case(tmp_path, long, ("end = 1e-8", "end = 1e-8\nconfirm_steps = true"))
    assert c.time.confirm_steps
    with pytest.raises(fh.FemheatInputError, match=r"time\.confirm_steps must be true or false"):
        case(tmp_path, ("end = 1e-8", 'end = 1e-8\nconfirm_steps = "yes"'))
    assert plausibility.check_step_count(1.0, 1e6) == 10**6  # exactly 1e6 is allowed


# ------------------------------------------------------------------- warnings
@pytest.mark.parametrize("edit, match", [
    (("conductivity = 2.0", "conductivity = 2e-5"),
     r"materials\.layer_2\.conductivity = 2e-05 W/\(m K\) is 50x below"),
    (("conductivity = 2.0", "conductivity = 2e6"),
     r"materials\.layer_2\.conductivity = 2e\+06 W/\(m K\) is 2e\+02x above"),
    (("conductivity = 2.0", "conductivity = [[2e6, 0.0], [0.0, 2.0]]"),
     r"materials\.layer_2\.conductivity = 2e\+06 W/\(m K\) is 2e\+02x above"),
    (("conductivity = 2.0", 'conductivity = "2 + 1e12*x"'),
     r"materials\.layer_2\.conductivity = .* W/\(m K\) is .*x above"),
    (("heat_capacity = 1.6e6\nrelaxation_time = 1e-10\n[materials.layer_2]",
      "heat_capacity = 1.6e3\nrelaxation_time = 1e-10\n[materials.layer_2]"),
     r"materials\.layer_1\.heat_capacity = 1600 J/\(m\^3 K\) is 6\.2x below"),
    (("heat_capacity = 1.6e6\nrelaxation_time = 1e-10\n[materials.layer_2]",
      "heat_capacity = 1.6e9\nrelaxation_time = 1e-10\n[materials.layer_2]"),
     r"materials\.layer_1\.heat_capacity = 1\.6e\+09 J/\(m\^3 K\) is 16x above"),
    (("relaxation_time = 1e-10\n[materials.layer_3]",
      "relaxation_time = 0.05\n[materials.layer_3]"),
     r"materials\.layer_2\.relaxation_time = 0\.05 s is 50x above"),
    (("kapitza_resistance = 1e-8", "kapitza_resistance = 1e-3"),
     r"interfaces\.interface_1\.kapitza_resistance = 0\.001 m\^2 K/W is 250x the bulk "
     r"resistance L/kappa_min = 4e-06 m\^2 K/W"),
    (("kapitza_resistance = 1e-8", "kapitza_resistance = 1e-14"),
     r"interfaces\.interface_1\.kapitza_resistance = 1e-14 m\^2 K/W is 1e\+02x below 1e-12"),
])
def test_implausible_values_warn_with_key_and_ratio(tmp_path, edit, match):
    with pytest.warns(PlausibilityWarning, match=match):
        case(tmp_path, edit)


def test_heat_capacity_of_a_steady_run_is_not_checked(tmp_path):
    text = BASE.split("[initial]")[0].replace("heat_capacity = 1.6e6", "heat_capacity = 1.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        case(tmp_path, text=text)


def test_nonlocal_length_larger_than_the_mesh_warns(tmp_path):
    text = f"""
[mesh]
file = "{STRIP}"
[model]
type = "gk"
[materials.medium]
conductivity = 1.0
nonlocal_length = 3.0
[boundaries.left]
temperature = 301.0
[boundaries.right]
temperature = 300.0
[boundaries.sides]
heat_flux = 0.0
"""
    with pytest.warns(PlausibilityWarning,
                      match=r"materials\.medium\.nonlocal_length = 3 m is 3x the mesh's "
                            r"largest extent L = 1 m"):
        case(tmp_path, text=text)


def test_check_problem_and_solver_hint(bilayer):
    problem = fh.HeatProblem(
        bilayer, {"a": fh.Material(1.0), "b": fh.Material(2.0)},
        {"left": fh.Temperature(301.0), "right": fh.Temperature(300.0), "walls": fh.Insulated()},
        interfaces={"ab": fh.KapitzaResistance(1e3)})
    with pytest.warns(PlausibilityWarning, match=r"interfaces\.ab\.kapitza_resistance = 1000"):
        issued = plausibility.check_problem(problem)
    assert len(issued) == 1 and "1e+03x" in issued[0]  # R_K kappa_min / L = 1e3 * 1 / 1
    hint = plausibility.suspicious_values(problem)
    assert hint.startswith("suspicious input: interfaces.ab.kapitza_resistance = 1000")
    with pytest.raises(PlausibilityError, match=r"boundaries\.left\.temperature = 0 K"):
        plausibility.check_before_mesh(boundary_conditions={"left": fh.Temperature(0.0)})


# ------------------------------------------------------------------ scale_free
SCALED = (("conductivity = 2.0", "conductivity = 2e-5"),
          ("heat_capacity = 1.6e6\nrelaxation_time = 1e-10\n[materials.layer_2]",
           "heat_capacity = 1.0\nrelaxation_time = 1e-10\n[materials.layer_2]"),
          ("relaxation_time = 1e-10\n[materials.layer_3]",
           "relaxation_time = 0.05\n[materials.layer_3]"))


def test_scale_free_case_turns_the_warnings_off_and_keeps_the_refusals(tmp_path):
    """`scale_free = true`: the three implausible values above give no warning (each
    does without it), the case is the same otherwise and records the flag; T <= 0 K
    and the step count are still refused; a non-boolean is refused with the fix."""
    with pytest.warns(PlausibilityWarning) as record:
        plain = case(tmp_path, *SCALED)
    assert len(record) == 3, [str(w.message) for w in record]
    scaled_text = "scale_free = true\n" + BASE
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        scaled = case(tmp_path, *SCALED, text=scaled_text)
    assert scaled.scale_free and not plain.scale_free
    assert scaled.problem.materials["layer_2"].conductivity == 2e-5
    from femheat.io.provenance import resolved_input

    assert resolved_input(scaled)["scale_free"] is True
    assert "scale_free" not in resolved_input(plain)  # earlier runs' input hashes hold
    with pytest.raises(PlausibilityError, match=r"boundaries\.left\.temperature"):
        case(tmp_path, ("temperature = 301.0", "temperature = -1.0"), text=scaled_text)
    with pytest.raises(PlausibilityError, match=r"confirm_steps = true"):
        case(tmp_path, ("dt = 1e-10", "dt = 1e-15"), text=scaled_text)
    with pytest.raises(fh.FemheatInputError, match=r"scale_free = 'yes': give a TOML boolean"):
        case(tmp_path, text='scale_free = "yes"\n' + BASE)
    # outside the block the warnings are back (a context variable, not a global filter)
    with pytest.warns(PlausibilityWarning):
        case(tmp_path, *SCALED[:1])


@pytest.mark.parametrize("name", ["frequency_mcv_fit", "grating_two_mode", "memory_grating",
                                  "periodic_heating", "second_sound_pulse", "thermal_grating"])
def test_shipped_scale_free_cases_load_without_warnings(name):
    """The benchmark reproductions with kappa = C = tau ~ 1 declare it and load quietly;
    without the key the same text warns (so the key, not the values, silences them)."""
    from femheat.io.case import load_case

    path = ROOT / "cases" / f"{name}.toml"
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        assert load_case(path).scale_free
    text = path.read_text().replace("scale_free = true", "scale_free = false", 1)
    with pytest.warns(PlausibilityWarning):
        parse_case(tomllib.loads(text), path.parent, path)
