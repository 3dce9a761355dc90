"""Bad input is refused before any solve, with the field named in the message."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.io.case import parse_case
from femheat.cli import main
from tests.conftest import LAYERED_TABLES

BCS = {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0), "walls": fh.Insulated()}


def problem(regions, **kw):
    args = dict(materials={"domain": fh.Material(1.0, 1.0, 0.1)}, boundary_conditions=BCS)
    args.update(kw)
    return fh.HeatProblem(regions, **args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(conductivity=-1.0), r"conductivity must be > 0"),
    (dict(conductivity=float("nan")), r"conductivity contains NaN"),
    (dict(conductivity=1.0, heat_capacity=0.0), r"heat_capacity must be > 0"),
    (dict(conductivity=1.0, heat_capacity=float("nan")), r"heat_capacity contains NaN"),
    (dict(conductivity=1.0, relaxation_time=-1e-9), r"relaxation_time must be >= 0"),
    (dict(conductivity=[[1.0, 0.0], [0.0, -2.0]]), r"positive definite"),
    (dict(conductivity=[[1.0, 3.0], [3.0, 1.0]]), r"positive definite"),
    (dict(conductivity=[[1.0, 2.0, 3.0]]), r"scalar or a 2x2/3x3 tensor"),
])
def test_material_values_refused(kwargs, match):
    with pytest.raises(fh.FemheatInputError, match=match):
        fh.Material(**kwargs, name="matrix")


def test_material_message_names_the_key():
    with pytest.raises(fh.FemheatInputError, match=r"materials\.matrix\.conductivity"):
        fh.Material(-2.0, name="matrix")


def test_hall_conductivity_is_allowed_and_flagged_non_symmetric(strip):
    kappa = [[1.0, 0.4], [-0.4, 1.0]]  # antisymmetric (thermal Hall) part, SPD symmetric part
    system = fh.assemble(problem(strip, materials={"domain": fh.Material(kappa)}))
    assert not system.symmetric
    state = fh.solve_steady(system)
    flows = fh.boundary_heat_flow(system, state.flux)
    assert abs(sum(flows.values())) < 1e-12 * abs(flows["left"])


def test_callable_conductivity_checked_at_quadrature_points(strip):
    mat = fh.Material(lambda x: 1.0 - 2.0 * x[0])  # negative for x > 0.5
    with pytest.raises(fh.FemheatInputError, match=r"materials\.domain\.conductivity must be > 0"):
        fh.assemble(problem(strip, materials={"domain": mat}))


def test_unknown_and_missing_regions(bilayer):
    mats = {"a": fh.Material(1.0), "b": fh.Material(2.0)}
    with pytest.raises(fh.RegionError, match=r"unknown subdomain 'c'.*'a', 'b'"):
        problem(bilayer, materials={**mats, "c": fh.Material(1.0)})
    with pytest.raises(fh.RegionError, match=r"no material for subdomain\(s\) \['b'\]"):
        problem(bilayer, materials={"a": fh.Material(1.0)})
    with pytest.raises(fh.RegionError, match=r"unknown boundary 'top'.*'left'"):
        problem(bilayer, materials=mats, boundary_conditions={**BCS, "top": fh.Insulated()})
    with pytest.raises(fh.RegionError, match=r"unknown interface 'ba'.*'ab'"):
        problem(bilayer, materials=mats, interfaces={"ba": fh.KapitzaResistance(1.0)})


def test_interface_the_mesh_does_not_resolve_is_refused():
    """A condition on an interface with no facets (its selector misses the mesh lines:
    here x = 0.3 on a grid of spacing 0.25) is refused when the problem is made, naming
    the interface; it failed deep in the post-processing before."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 0.3, "b": lambda x: x[0] > 0.3},
        boundaries={"all": lambda x: np.ones(x.shape[1], dtype=bool)},
        interfaces={"gap": lambda x: np.isclose(x[0], 0.3)})
    with pytest.raises(fh.FemheatInputError, match=r"interfaces\.gap: no facet of the mesh"):
        fh.HeatProblem(regions, {"a": fh.Material(1.0), "b": fh.Material(2.0)},
                       {"all": fh.Temperature(0.0)},
                       interfaces={"gap": fh.KapitzaResistance(1e-3)})


def test_boundary_without_condition(strip):
    with pytest.raises(fh.BoundaryConditionError, match=r"boundary 'walls' has no condition"):
        problem(strip, boundary_conditions={"left": fh.Temperature(1.0), "right": fh.Temperature(0.0)})


def test_unnamed_exterior_facets_refused():
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"left": lambda x: np.isclose(x[0], 0)})
    with pytest.raises(fh.BoundaryConditionError, match=r"exterior facets belong to no named boundary"):
        fh.HeatProblem(regions, {"domain": fh.Material(1.0)}, {"left": fh.Temperature(0.0)})


def test_steady_with_only_flux_conditions_refused(strip):
    bcs = {"left": fh.HeatFlux(-1.0), "right": fh.HeatFlux(1.0), "walls": fh.Insulated()}
    system = fh.assemble(problem(strip, boundary_conditions=bcs))
    with pytest.raises(fh.BoundaryConditionError, match=r"only heat-flux boundaries"):
        fh.solve_steady(system)


@pytest.mark.parametrize("value, match", [
    (dict(dt=0.0), r"time\.dt must be > 0"),
    (dict(dt=-1e-3), r"time\.dt must be > 0"),
    (dict(dt=float("nan")), r"time\.dt contains NaN"),
    (dict(theta=0.3), r"time\.theta = 0\.3 gives a conditionally stable scheme"),
    (dict(t_end=-1.0), r"time\.end must be later"),
])
def test_time_stepping_refused(strip, value, match):
    system = fh.assemble(problem(strip))
    args = dict(dt=0.01, t_end=0.1, theta=0.5)
    args.update(value)
    with pytest.raises(fh.FemheatInputError, match=match):
        next(iter(fh.theta_steps(system, args["dt"], args["t_end"], args["theta"])))


def test_crank_nicolson_with_dt_much_larger_than_tau_warns(strip):
    system = fh.assemble(problem(strip, materials={"domain": fh.Material(1.0, 1.0, 1e-4)}))
    with pytest.warns(RuntimeWarning, match=r"Crank-Nicolson with dt"):
        fh.ThetaScheme(system, 0.01, 0.5)


def test_bad_model_degree_and_values(strip):
    with pytest.raises(fh.FemheatInputError, match=r"model = 'cattaneo' is unknown"):
        problem(strip, model="cattaneo")
    with pytest.raises(fh.FemheatInputError, match=r"model = 'kernel' is not a mixed"):
        problem(strip, model="kernel")  # registered, but not a HeatProblem model
    with pytest.raises(fh.FemheatInputError, match=r"degree = 3 is not available"):
        problem(strip, degree=3)
    with pytest.raises(fh.FemheatInputError, match=r"HeatFlux.value contains NaN"):
        fh.HeatFlux(float("nan"))
    with pytest.raises(fh.FemheatInputError, match=r"heat_transfer_coefficient must be > 0"):
        fh.Convection(0.0, 300.0)
    with pytest.raises(fh.FemheatInputError, match=r"KapitzaResistance.resistance must be >= 0"):
        fh.KapitzaResistance(-1e-9)
    with pytest.raises(fh.FemheatInputError, match=r"source contains NaN"):
        problem(strip, source=float("nan"))


def test_degenerate_cells_refused():
    p = np.array([[0.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    t = np.array([[0, 1, 2], [0, 1, 3]]).T  # first triangle has zero area
    with pytest.raises(fh.MeshError, match=r"degenerate cells"):
        fh.RegionMesh.from_skfem(skfem.MeshTri(p, t))


# ----------------------------------------------------------------- case files
def _case(tmp_path, text: str):
    import tomllib

    return parse_case(tomllib.loads(text), tmp_path)


MESH = """
[mesh]
file = "{mesh}"
"""


@pytest.fixture
def mesh_file(tmp_path):
    from tests.conftest import ROOT

    return ROOT / "meshes" / "layered_2d.msh"


BASE = LAYERED_TABLES


@pytest.mark.parametrize("edit, match", [
    (("conductivity = 2.0", "conductivity = -2.0"), r"materials\.layer_2\.conductivity must be > 0"),
    (("conductivity = 2.0", "conductivty = 2.0"), r"materials\.layer_2: unknown key\(s\) \['conductivty'\]"),
    (("[materials.layer_3]", "[materials.layer_9]"), r"unknown subdomain\(s\)|unknown subdomain 'layer_9'"),
    (("[boundaries.top]\nheat_flux = 0.0", ""), r"boundary 'top' has no condition"),
    (("heat_flux = 0.0\n[boundaries.bottom]", "heat_flux = 0.0\nflux = 1.0\n[boundaries.bottom]"),
     r"boundaries\.top: unknown key\(s\) \['flux'\]"),
    (("temperature = 301.0", "temperature = \"1 + foo(x)\""), r"boundaries\.left\.temperature: unknown name\(s\) \['foo'\]"),
    (("type = \"fourier\"", "type = \"cattaneo\""), r"model\.type = 'cattaneo' is unknown"),
])
def test_case_file_errors_name_the_key(tmp_path, mesh_file, edit, match):
    text = MESH.format(mesh=mesh_file) + BASE
    old, new = edit
    assert old in text
    with pytest.raises(fh.FemheatInputError, match=match):
        _case(tmp_path, text.replace(old, new, 1))


@pytest.mark.parametrize("time_table, match", [
    ("dt = 0.0\nend = 1.0", r"time\.dt must be > 0"),
    ("dt = 0.1", r"time\.end is missing"),
    ("dt = 0.1\nend = 1.0\ntheta = 0.2", r"time\.theta must be in \[0\.5, 1\]"),
    ("dt = 0.1\nend = 1.0\nsave_every = 0", r"time\.save_every must be an integer >= 1"),
])
def test_case_time_errors(tmp_path, mesh_file, time_table, match):
    text = MESH.format(mesh=mesh_file) + BASE + "\n[time]\n" + time_table + "\n"
    with pytest.raises(fh.FemheatInputError, match=match):
        _case(tmp_path, text)


def test_mcv_transient_needs_relaxation_time(tmp_path, mesh_file):
    text = MESH.format(mesh=mesh_file) + BASE.replace('"fourier"', '"mcv"') + "\n[time]\ndt = 0.1\nend = 1.0\n"
    with pytest.raises(fh.FemheatInputError, match=r"materials\.layer_1\.relaxation_time is missing"):
        _case(tmp_path, text)


def test_missing_mesh_file(tmp_path):
    with pytest.raises(fh.MeshError, match=r"does not exist"):
        _case(tmp_path, MESH.format(mesh=tmp_path / "nope.msh") + BASE)


def test_cli_reports_error_and_exit_code(tmp_path, mesh_file, capsys):
    case = tmp_path / "bad.toml"
    case.write_text(MESH.format(mesh=mesh_file) + BASE.replace("conductivity = 2.0", "conductivity = nan"))
    code = main(["run", str(case), "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "materials.layer_2.conductivity" in err and "NaN" in err


def test_overlapping_boundaries_refused():
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    with pytest.raises(fh.MeshError, match=r"boundaries 'left' and 'all' share 4 facets"):
        fh.RegionMesh.from_skfem(mesh, boundaries={
            "left": lambda x: np.isclose(x[0], 0), "all": lambda x: x[0] > -1})


# ------------------------------------------- issue 17: no escape from the error contract
def test_garbage_and_truncated_meshes_raise_mesh_error(tmp_path):
    garbage = tmp_path / "garbage.msh"
    garbage.write_text("this is not a mesh\n")
    with pytest.raises(fh.MeshError, match=r"garbage\.msh.*not a gmsh \.msh file"):
        fh.load_mesh(garbage)  # meshio itself would call sys.exit(1)
    from tests.conftest import ROOT

    for size in (3000, 100_000):
        cut = tmp_path / f"cut_{size}.msh"
        cut.write_bytes((ROOT / "meshes" / "composite_2d.msh").read_bytes()[:size])
        with pytest.raises(fh.MeshError, match=r"truncated or corrupt") as info:
            fh.load_mesh(cut)
        assert "reshape" not in str(info.value)
    with pytest.raises(fh.MeshError, match=r"is a folder"):
        fh.load_mesh(tmp_path)


def test_case_file_must_be_utf8_and_a_file(tmp_path):
    from femheat.io.case import load_case

    bad = tmp_path / "latin1.toml"
    bad.write_bytes("title = 'caf\u00e9'\n".encode("latin-1"))
    with pytest.raises(fh.FemheatInputError, match=r"latin1\.toml.*not UTF-8 text \(byte 0xe9"):
        load_case(bad)
    with pytest.raises(fh.FemheatInputError, match=r"is a folder"):
        load_case(tmp_path)


@pytest.mark.parametrize("output, match", [
    ('png = "no"', r"output\.png must be true or false \(no quotes\), got 'no'"),
    ('vtu = "false"', r"output\.vtu must be true or false \(no quotes\), got 'false'"),
    ('profile_times = "five"', r"output\.profile_times must be an integer, got 'five'"),
    ("profile_times = 1", r"output\.profile_times must be an integer >= 2, got 1"),
    ("profile_times = -3", r"output\.profile_times must be an integer >= 2, got -3"),
])
def test_output_options_are_typed(tmp_path, mesh_file, output, match):
    with pytest.raises(fh.FemheatInputError, match=match):
        _case(tmp_path, MESH.format(mesh=mesh_file) + BASE + "[output]\n" + output + "\n")


def test_non_finite_boundary_values_name_the_boundary(strip):
    def later_nan(x, t):
        return np.where(t > 0, np.nan, 1.0) + 0 * x[0]

    system = fh.assemble(problem(strip, boundary_conditions={
        "left": fh.Temperature(later_nan), "right": fh.Temperature(0.0), "walls": fh.Insulated()}))
    with pytest.raises(fh.FemheatInputError,
                       match=r"boundaries\.left\.temperature evaluates to NaN at \(x, y\) = "
                             r"\(0, .*\) m, t = 0\.01 s"):
        list(fh.theta_steps(system, 0.01, 0.02, 1.0))
    system = fh.assemble(problem(strip, boundary_conditions={
        "left": fh.HeatFlux(later_nan), "right": fh.Temperature(0.0), "walls": fh.Insulated()}))
    with pytest.raises(fh.FemheatInputError, match=r"boundaries\.left\.heat_flux evaluates to NaN"):
        list(fh.theta_steps(system, 0.01, 0.02, 1.0))


def test_check_output_dir(tmp_path):
    from femheat.errors import OutputError
    from femheat.io.output import check_output_dir

    deep = tmp_path / "a" / "b" / "c"
    assert check_output_dir(deep) == deep
    assert not (tmp_path / "a").exists() and list(tmp_path.iterdir()) == []
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"'.*f' is an existing file"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(OutputError, match=r"is a file"):
        check_output_dir(tmp_path / "f" / "sub")


def test_material_arguments_after_tau_are_keyword_only():
    """Material(κ, C, τ, l) would have put l into the name: it is refused."""
    with pytest.raises(TypeError):
        fh.Material(1.0, 1.0, 1e-9, 0.2e-6)
    mat = fh.Material(1.0, 1.0, 1e-9, nonlocal_length=0.2e-6)
    assert mat.nonlocal_length == 0.2e-6 and mat.name == ""


def test_gk_with_zero_length_everywhere_warns(strip):
    """A "gk" run whose materials all have l = 0 is the MCV law: said, not silent."""
    bcs = {n: fh.Insulated() for n in strip.boundaries}
    with pytest.warns(UserWarning, match="nonlocal_length = 0 in every material"):
        fh.HeatProblem(strip, {"domain": fh.Material(1.0, 1.0, 1e-3)}, bcs, model="gk")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fh.HeatProblem(strip, {"domain": fh.Material(1.0, 1.0, 1e-3, nonlocal_length=0.1)},
                       bcs, model="gk")


def test_models_come_from_the_registry():
    """Every registered model is a case-file type; unknown names list the registered ones."""
    from femheat.registry import MODELS, get_model

    assert {"fourier", "mcv", "gk", "kernel"} <= set(MODELS)
    assert fh.MODELS is MODELS
    with pytest.raises(fh.FemheatInputError, match="'fourier', 'mcv', 'gk'"):
        get_model("cattaneo")
    for name, model in MODELS.items():
        assert model.name == name and model.description
