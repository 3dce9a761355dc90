"""Smooth wall normals reconstructed from the boundary facets (femheat.mesh.normals).

* Exact on circles and spheres inscribed by the facets (inverse-length weights in 2D,
  Max's weights in 3D, linear interpolation on the facets, normalized).
* An ellipse: O(h²) (measured max angle error 2.5e-2 / 6.5e-3 / 1.6e-3 / 4.1e-4 at 32 /
  64 / 128 / 256 facets, the facet normals 0.15 … 0.019, O(h)); an ellipsoid in 3D:
  3.0e-2 / 1.3e-2 / 5.9e-3 (O(h) at the irregular vertices of the refined octahedron,
  4.6–6× below the facet normals).
* Corners and edges of the geometry stay sharp (no averaging across more than
  ``corner_angle``).
* The GK wire (BENCHMARKS G3) with free slip and a slip length on the reconstructed
  normal converges like the exact normal (O(h²)), through the API and a case file.
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import femheat as fh
from femheat.errors import FemheatInputError, RegionError
from femheat.mesh.normals import boundary_normal
from femheat.physics.conditions import FreeSlip, SlipLength, cylinder_normal


def _everywhere(x):
    return np.ones(x.shape[1], dtype=bool)


def _facet_points(regions, name, intorder=4):
    mesh = regions.mesh
    elem = skfem.ElementTriP1() if mesh.p.shape[0] == 2 else skfem.ElementTetP1()
    fb = skfem.FacetBasis(mesh, elem, facets=regions.boundary(name), intorder=intorder)
    return fb.global_coordinates().value, fb.normals.value


def _ellipse_normal(x, axes):
    n = x / np.asarray(axes, float).reshape((-1,) + (1,) * (x.ndim - 1)) ** 2
    return n / np.linalg.norm(n, axis=0)


@pytest.mark.parametrize("dim", [2, 3])
def test_exact_on_circles_and_spheres(dim):
    """Vertices on a circle (sphere) of centre c: the reconstructed normal at every facet
    quadrature point is (x − c)/|x − c| to round-off, where the facet normals are 7.6e-2
    (8.8e-2) off."""
    c = np.array([0.3, -1.2, 0.5][:dim])
    base = skfem.MeshTri.init_circle(3) if dim == 2 else skfem.MeshTet.init_ball(3)
    mesh = type(base)(base.p + c[:, None], base.t)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"wall": _everywhere})
    x, facet = _facet_points(regions, "wall")
    exact = (x - c[:, None, None]) / np.linalg.norm(x - c[:, None, None], axis=0)
    got = boundary_normal(regions, "wall")(x)
    assert got.shape == x.shape
    assert np.abs(got - exact).max() < 1e-12
    assert np.abs(facet - exact).max() > 0.05


def test_uneven_facets_on_a_circle():
    """Chords alternating between one and two units of angle (a fan of triangles): the
    inverse-length weights keep the normal exact (equal weights: an O(h) error)."""
    steps = np.tile([1.0, 2.0], 12)
    theta = np.concatenate([[0.0], np.cumsum(steps)[:-1]]) * 2 * np.pi / steps.sum()
    p = np.hstack([[[0.0], [0.0]], [np.cos(theta), np.sin(theta)]])
    k = np.arange(theta.size)
    mesh = skfem.MeshTri(p, np.stack([np.zeros_like(k), 1 + k, 1 + (k + 1) % k.size]))
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"wall": _everywhere})
    x, _ = _facet_points(regions, "wall")
    exact = x / np.linalg.norm(x, axis=0)
    assert np.abs(boundary_normal(regions, "wall")(x) - exact).max() < 1e-12


def test_ellipse_converges_at_second_order():
    """Max error of the normal on an ellipse (axes 1, 0.5) at 32 … 256 facets: O(h²),
    and 40× below the facet normals at 256."""
    errors, facet = [], []
    for nref in (3, 4, 5, 6):
        base = skfem.MeshTri.init_circle(nref)
        mesh = skfem.MeshTri(base.p * np.array([[1.0], [0.5]]), base.t)
        regions = fh.RegionMesh.from_skfem(mesh, boundaries={"wall": _everywhere})
        x, n_h = _facet_points(regions, "wall")
        exact = _ellipse_normal(x, (1.0, 0.5))
        errors.append(np.abs(boundary_normal(regions, "wall")(x) - exact).max())
        facet.append(np.abs(n_h - exact).max())
    orders = np.log2(np.divide(errors[:-1], errors[1:]))
    assert np.all(orders > 1.9), (errors, orders)
    assert errors[-1] < facet[-1] / 40, (errors, facet)


def test_ellipsoid_is_closer_than_the_facets():
    """Axes 1, 0.7, 0.5: the error falls under refinement and stays below a quarter of the
    facet normals' (measured 3.0e-2 / 1.3e-2 against 0.14 / 0.071)."""
    errors = []
    for nref in (3, 4):
        base = skfem.MeshTet.init_ball(nref)
        mesh = skfem.MeshTet(base.p * np.array([[1.0], [0.7], [0.5]]), base.t)
        regions = fh.RegionMesh.from_skfem(mesh, boundaries={"wall": _everywhere})
        x, n_h = _facet_points(regions, "wall", intorder=2)
        exact = _ellipse_normal(x, (1.0, 0.7, 0.5))
        err = np.abs(boundary_normal(regions, "wall")(x) - exact).max()
        assert err < 0.25 * np.abs(n_h - exact).max()
        errors.append(err)
    assert errors[1] < 0.5 * errors[0], errors


@pytest.mark.parametrize("dim", [2, 3])
def test_corners_stay_sharp(dim):
    """A square (cube): every facet keeps its own normal; a quarter annulus: the arcs get
    the circles' normals and the straight sides keep theirs, across the 90° corners."""
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, 4)] * dim)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"box": _everywhere})
    x, n_h = _facet_points(regions, "box")
    assert np.abs(boundary_normal(regions, "box")(x) - n_h).max() < 1e-14

    m = skfem.MeshTri.init_tensor(np.linspace(1, 2, 4), np.linspace(0, np.pi / 2, 9))
    mesh = skfem.MeshTri(np.array([m.p[0] * np.cos(m.p[1]), m.p[0] * np.sin(m.p[1])]), m.t)
    rad = lambda x: np.hypot(x[0], x[1])  # noqa: E731
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "outer": lambda x: rad(x) > 1.9, "inner": lambda x: rad(x) < 1.1,
        "ends": lambda x: (rad(x) > 1.1) & (rad(x) < 1.9)})
    for name, sign in (("outer", 1.0), ("inner", -1.0)):
        x, _ = _facet_points(regions, name)
        got = boundary_normal(regions, name)(x)
        assert np.abs(got - sign * x / rad(x)).max() < 1e-12, name
    x, n_h = _facet_points(regions, "ends")
    assert np.abs(boundary_normal(regions, "ends")(x) - n_h).max() < 1e-14


def test_bad_input():
    mesh = skfem.MeshTri.init_circle(2)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={"wall": _everywhere})
    with pytest.raises(RegionError, match=r"unknown boundary 'rim'.* 'wall'"):
        boundary_normal(regions, "rim")
    with pytest.raises(FemheatInputError, match=r"corner_angle must be between 0 and 90"):
        boundary_normal(regions, "wall", corner_angle=120)
    with pytest.raises(FemheatInputError, match=r"at least one boundary name"):
        boundary_normal(regions, [])
    normal = boundary_normal(regions, "wall")
    with pytest.raises(FemheatInputError, match=r"off those boundaries' facets.*wall conditions"):
        normal(np.array([[0.0], [0.0]]))
    quadratic = fh.RegionMesh.from_skfem(skfem.MeshTri2.init_circle(1),
                                         boundaries={"wall": _everywhere})
    with pytest.raises(FemheatInputError, match=r"linear triangles or tetrahedra, got MeshTri2"):
        boundary_normal(quadratic, "wall")


# ------------------------------------------------------------ GK walls (BENCHMARKS G3)
R, ELL = 1.0, 0.5


def _wire_ratio(cs=None):
    """κ_eff/κ of the wire with a slip length C_s l (None: free slip, 1)."""
    from scipy.special import i0, i1

    if cs is None:
        return 1.0
    a = R / ELL
    return 1 - (2 * ELL / R) * i1(a) / (i0(a) + cs * i1(a))


def _wire_error(regions, wall, cs=None) -> float:
    length = float(regions.metadata["parameters"]["length"])
    problem = fh.HeatProblem(regions, {"wire": fh.Material(1.0, nonlocal_length=ELL)},
                             {"hot": fh.Temperature(length), "cold": fh.Temperature(0.0),
                              "surface": fh.Insulated()}, model="gk",
                             walls={"surface": wall})
    system = fh.assemble(problem)
    flows = fh.boundary_heat_flow(system, fh.solve_steady(system).flux)
    return flows["cold"] / (np.pi * R**2) / _wire_ratio(cs) - 1


@pytest.fixture(scope="module")
def wire(tmp_path_factory):
    pytest.importorskip("gmsh")
    from femheat.mesh.geometry import build

    path = tmp_path_factory.mktemp("wire") / "wire.msh"
    return build("wire", path, radius=R, length=0.4, mesh_size=0.2)


def test_wire_walls_on_the_reconstructed_normal(wire):
    """G3 at h = R/5 (κ_eff/κ error): free slip -5.2e-3 (exact normal -6.4e-3; the facet
    normals lock: -1.8 %), slip length C_s = 1 -9.5e-3 (exact normal -1.02e-2). The
    slow study below checks the order. (With the penalty on the full tangential jumps
    free slip gave -5.9e-3 and the facet normals -10.4 %.)"""
    normal = boundary_normal(wire, "surface")
    free = _wire_error(wire, FreeSlip(normal=normal))
    slip = _wire_error(wire, SlipLength(1.0, normal=normal), cs=1.0)
    exact_free = _wire_error(wire, FreeSlip(normal=cylinder_normal()))
    assert -8e-3 < free < 0 and abs(free - exact_free) < 1.5e-3, (free, exact_free)
    assert -1.3e-2 < slip < 0, slip


@pytest.mark.slow
def test_wire_convergence_on_the_reconstructed_normal(tmp_path):
    """h = 0.2 / 0.14 / 0.1: free slip -5.9e-3 / -3.1e-3 / -1.65e-3, slip length
    -9.5e-3 / -5.0e-3 / -2.6e-3 (order 1.9, like the exact normal's)."""
    pytest.importorskip("gmsh")
    from femheat.mesh.geometry import build

    hs = np.array([0.2, 0.14, 0.1])
    free, slip = [], []
    for h in hs:
        regions = build("wire", tmp_path / f"wire_{h}.msh", radius=R, length=2 * h,
                        mesh_size=h)
        normal = boundary_normal(regions, "surface")
        free.append(_wire_error(regions, FreeSlip(normal=normal)))
        slip.append(_wire_error(regions, SlipLength(1.0, normal=normal), cs=1.0))
    for errs in (free, slip):
        order = np.polyfit(np.log(hs), np.log(np.abs(errs)), 1)[0]
        assert order > 1.8, (free, slip)


CASE = """
[mesh]
builder = "wire"
[mesh.parameters]
radius = 1.0
length = 0.4
mesh_size = 0.2
[model]
type = "gk"
[materials.wire]
conductivity = 1.0
nonlocal_length = 0.5
[boundaries.hot]
temperature = 300.4
[boundaries.cold]
temperature = 300.0
[boundaries.surface]
heat_flux = 0.0
{wall}
"""


def test_case_file_surface_normal(tmp_path, wire):
    """``surface_normal = "mesh"`` gives the wall the reconstructed normal: the same heat
    flow as the API (free slip by default, and with a slip length)."""
    pytest.importorskip("gmsh")
    from femheat.io.case import load_case

    for wall, cs in (('surface_normal = "mesh"', None),
                     ('slip_coefficient = 1.0\nsurface_normal = "mesh"', 1.0)):
        path = tmp_path / "wire.toml"
        path.write_text(CASE.format(wall=wall))
        case = load_case(path)
        regions = case.problem.regions
        condition = case.problem.walls["surface"]
        assert isinstance(condition, SlipLength if cs else FreeSlip)
        assert "boundary_normal('surface'" in repr(condition.normal)
        system = fh.assemble(case.problem)
        flows = fh.boundary_heat_flow(system, fh.solve_steady(system).flux)
        err = flows["cold"] / (np.pi * R**2) / _wire_ratio(cs) - 1
        api = _wire_error(regions, type(condition)(*([cs] if cs else []),
                                                   normal=boundary_normal(regions, "surface")),
                          cs=cs)
        assert abs(err - api) < 1e-10, (err, api)


def test_case_file_surface_normal_needs_a_gk_model(tmp_path):
    """On a model without walls the error names the case-file keys to remove."""
    pytest.importorskip("gmsh")
    from femheat.io.case import load_case

    path = tmp_path / "wire.toml"
    path.write_text(CASE.format(wall='surface_normal = "mesh"').replace(
        'type = "gk"', 'type = "mcv"').replace("nonlocal_length = 0.5", ""))
    with pytest.raises(FemheatInputError, match=r"wall conditions \['surface'\] need the gk "
                       r"model .* remove the keys .*surface_normal from \[boundaries\.surface\]"):
        load_case(path)


@pytest.mark.parametrize("spec, match", [
    ({"heat_flux": 0.0, "surface_normal": "smooth"},
     r"boundaries\.wall\.surface_normal = 'smooth'; the only value is \"mesh\""),
    ({"heat_flux": 0.0, "wall": "no_slip", "surface_normal": "mesh"},
     r"boundaries\.wall\.surface_normal .* a no-slip wall needs no normal"),
    ({"temperature": 300.0, "surface_normal": "mesh"},
     r"boundaries\.wall\.surface_normal: .* must be insulated: give heat_flux = 0 "
     r"\(got temperature = 300\.0\)"),
])
def test_case_file_surface_normal_bad_input(spec, match):
    from femheat.io.case.boundaries import parse_boundaries

    with pytest.raises(FemheatInputError, match=match):
        parse_boundaries({"boundaries": {"wall": spec}})


def test_faceted_curved_walls_are_warned_about():
    """With the penalty form, a free-slip (slip-length, tangential-flux) wall on a curved
    surface with the facet normals draws a warning naming it and the fix; flat walls,
    walls given a normal, no-slip walls, the vorticity form (which the default "auto"
    takes on this disc) and heat-crossing boundaries do not."""
    import warnings

    from femheat.physics.conditions import NoSlip, TangentialFlux

    disc = fh.RegionMesh.from_skfem(skfem.MeshTri.init_circle(3), boundaries={
        "hot": lambda x: x[0] < -0.9, "wall": lambda x: x[0] >= -0.9})
    square = fh.RegionMesh.from_skfem(
        skfem.MeshTri.init_tensor(*[np.linspace(0, 1, 5)] * 2),
        boundaries={"hot": lambda x: x[0] < 1e-9, "wall": lambda x: x[0] >= 1e-9})

    def user_warnings(regions, wall, condition=None, viscous="penalty", **options):
        problem = fh.HeatProblem(
            regions, {"domain": fh.Material(1.0, nonlocal_length=0.1)},
            {"hot": fh.Temperature(1.0), "wall": condition or fh.Insulated()}, model="gk",
            walls={"wall": wall}, viscous=viscous, **options)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fh.assemble(problem)
        return [w for w in caught if issubclass(w.category, UserWarning)]

    for wall in (FreeSlip(), SlipLength(1.0), TangentialFlux(1.0)):
        caught = user_warnings(disc, wall)
        assert len(caught) == 1, [str(w.message) for w in caught]
        message = str(caught[0].message)
        assert message.startswith("walls.wall: on a curved surface (facet normals turn by 11")
        assert f"{type(wall).__name__}(..., normal=fh.boundary_normal(regions, 'wall'))" in message
        assert 'surface_normal = "mesh"' in message
        assert caught[0].filename == __file__  # points at the caller of fh.assemble
    assert not user_warnings(disc, FreeSlip(normal=boundary_normal(disc, "wall")))
    assert not user_warnings(disc, NoSlip())
    assert not user_warnings(disc, FreeSlip(), viscous="vorticity")
    assert not user_warnings(disc, FreeSlip(), condition=fh.Temperature(0.0))
    assert not user_warnings(square, FreeSlip())
    assert not user_warnings(disc, FreeSlip(), viscous="auto")  # takes the vorticity form
