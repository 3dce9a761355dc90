"""Geometry builders and the shipped meshes: names, measures, orientation, bad input."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import femheat
from femheat.mesh import geometry
from femheat.errors import FemheatInputError, MeshError, RegionError
from femheat.mesh.regions import load_mesh
from tests.conftest import facet_measures, region_measure

MESHES = Path(__file__).resolve().parents[1] / "meshes"
A = 1e-6  # composite unit-cell side [m]
R = 0.3e-6  # inclusion radius [m]

BOX2 = ["left", "right", "bottom", "top"]
BOX3 = BOX2 + ["front", "back"]

EXPECTED = {
    "layered_2d": (["layer_1", "layer_2", "layer_3"], BOX2, ["interface_1", "interface_2"]),
    "layered_3d": (["layer_1", "layer_2", "layer_3"], BOX3, ["interface_1", "interface_2"]),
    "composite_2d": (["matrix", "inclusion"], BOX2, ["inclusion_surface"]),
    "inclusion_3d": (["matrix", "inclusion"], BOX3, ["inclusion_surface"]),
    "strip_2d": (["medium"], ["left", "right", "sides"], []),
}


@pytest.fixture(scope="module")
def shipped() -> dict[str, femheat.RegionMesh]:
    return {name: load_mesh(MESHES / f"{name}.msh") for name in EXPECTED}


# ------------------------------------------------------------ shipped meshes
@pytest.mark.parametrize("name", list(EXPECTED))
def test_shipped_mesh_names_exact(shipped, name):
    regions = shipped[name]
    subs, bnds, ifaces = EXPECTED[name]
    assert regions.subdomain_names == subs  # also the order: side A of interfaces
    assert sorted(regions.boundaries) == sorted(bnds)
    assert sorted(regions.interfaces) == sorted(ifaces)
    every = set(regions.subdomains) | set(regions.boundaries) | set(regions.interfaces)
    assert "gmsh:bounding_entities" not in every
    assert not any(n.startswith(("subdomain_", "facets_")) for n in every)
    assert regions.unassigned_boundary_facets().size == 0
    assert all(v.size > 0 for v in regions.boundaries.values())
    assert all(v.size > 0 for v in regions.interfaces.values())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_shipped_mesh_sidecar_and_size(name):
    path = MESHES / f"{name}.msh"
    spec = json.loads((MESHES / f"{name}.msh.json").read_text())
    assert spec["builder"] in {"layered_stack", "inclusions_2d", "inclusion_3d", "strip"}
    assert isinstance(spec["parameters"], dict)
    assert path.stat().st_size < 1.5e6


def test_layered_2d_measures(shipped):
    r = shipped["layered_2d"]
    for name, t in zip(["layer_1", "layer_2", "layer_3"], [1e-6, 2e-6, 1e-6]):
        assert region_measure(r, name) == pytest.approx(t * 1e-6, rel=1e-12)
    for name in ["interface_1", "interface_2"]:
        assert facet_measures(r, r.interface(name)).sum() == pytest.approx(1e-6, rel=1e-12)
        sign, sides = r.interface_orientation(name)
        assert np.all(np.abs(sign) == 1)
    assert r.interface_orientation("interface_1")[1] == ("layer_1", "layer_2")
    assert r.interface_orientation("interface_2")[1] == ("layer_2", "layer_3")
    # interface facets lie on x = 1 um and x = 3 um
    for name, x in [("interface_1", 1e-6), ("interface_2", 3e-6)]:
        nodes = np.unique(r.mesh.facets[:, r.interface(name)])
        assert np.allclose(r.mesh.p[0, nodes], x, rtol=0, atol=1e-15)
    assert facet_measures(r, r.boundary("left")).sum() == pytest.approx(1e-6, rel=1e-12)
    assert facet_measures(r, r.boundary("top")).sum() == pytest.approx(4e-6, rel=1e-12)


def test_layered_3d_measures(shipped):
    r = shipped["layered_3d"]
    assert r.dim == 3
    for name, t in zip(["layer_1", "layer_2", "layer_3"], [1e-6, 2e-6, 1e-6]):
        assert region_measure(r, name) == pytest.approx(t * 1e-12, rel=1e-12)
    for name in ["interface_1", "interface_2"]:
        assert facet_measures(r, r.interface(name)).sum() == pytest.approx(1e-12, rel=1e-12)
    for name, area in [("left", 1e-12), ("right", 1e-12), ("bottom", 4e-12),
                       ("top", 4e-12), ("front", 4e-12), ("back", 4e-12)]:
        assert facet_measures(r, r.boundary(name)).sum() == pytest.approx(area, rel=1e-12)
    assert r.interface_orientation("interface_2")[1] == ("layer_2", "layer_3")


def test_composite_2d_measures_and_orientation(shipped):
    r = shipped["composite_2d"]
    assert r.mesh.t.shape[1] < 15000
    total = region_measure(r, "matrix") + region_measure(r, "inclusion")
    assert total == pytest.approx(6e-12, rel=1e-12)
    exact = 6 * np.pi * R**2
    inc = region_measure(r, "inclusion")
    # inscribed polygons: slightly smaller than the circles, by O((h/r)^2)
    assert inc < exact
    assert inc == pytest.approx(exact, rel=5e-3)
    assert inc / 6e-12 == pytest.approx(0.283, abs=2e-3)  # area fraction
    length = facet_measures(r, r.interface("inclusion_surface")).sum()
    assert length == pytest.approx(6 * 2 * np.pi * R, rel=2e-3)
    # every interface node is on a circle of radius R about a cell centre
    nodes = np.unique(r.mesh.facets[:, r.interface("inclusion_surface")])
    x = r.mesh.p[:, nodes]
    cx = (np.floor(x / A) + 0.5) * A
    assert np.allclose(np.linalg.norm(x - cx, axis=0), R, rtol=1e-9)

    # sides (matrix, inclusion); sign * n points from the matrix into the inclusion
    sign, sides = r.interface_orientation("inclusion_surface")
    assert sides == ("matrix", "inclusion")
    facets = r.interface("inclusion_surface")
    f = r.mesh.facets[:, facets]
    p0, p1 = r.mesh.p[:, f[0]], r.mesh.p[:, f[1]]
    n = np.stack([p1[1] - p0[1], p0[0] - p1[0]])  # some normal of each facet
    c0 = r.mesh.p[:, r.mesh.t[:, r.mesh.f2t[0, facets]]].mean(axis=1)
    mid = 0.5 * (p0 + p1)
    n *= np.sign(np.sum(n * (mid - c0), axis=0))  # outward from f2t[0], as scikit-fem
    centre = (np.floor(mid / A) + 0.5) * A
    assert np.all(np.sum(sign * n * (centre - mid), axis=0) > 0)
    # the interface is refined: its facets are smaller than the bulk size
    assert np.median(facet_measures(r, facets)) < A / 20


def test_inclusion_3d_measures(shipped):
    r = shipped["inclusion_3d"]
    assert r.mesh.t.shape[1] < 20000
    total = region_measure(r, "matrix") + region_measure(r, "inclusion")
    assert total == pytest.approx(A**3, rel=1e-12)
    assert region_measure(r, "inclusion") == pytest.approx(4 / 3 * np.pi * R**3, rel=3e-2)
    area = facet_measures(r, r.interface("inclusion_surface")).sum()
    assert area == pytest.approx(4 * np.pi * R**2, rel=3e-2)
    assert r.interface_orientation("inclusion_surface")[1] == ("matrix", "inclusion")
    for name in BOX3:
        assert facet_measures(r, r.boundary(name)).sum() == pytest.approx(A**2, rel=1e-12)


def test_strip_is_structured(shipped):
    """500 x 5 square cells (h = 2 mm), two triangles each."""
    r = shipped["strip_2d"]
    assert r.mesh.t.shape[1] == 2 * 500 * 5
    xs = np.unique(np.round(r.mesh.p[0], 12))
    ys = np.unique(np.round(r.mesh.p[1], 12))
    assert xs.size == 501 and ys.size == 6
    assert np.allclose(np.diff(xs), 1 / 500, rtol=1e-9)
    assert np.allclose(np.diff(ys), 0.01 / 5, rtol=1e-9)
    assert r.boundary("left").size == 5 and r.boundary("right").size == 5
    assert r.boundary("sides").size == 1000
    assert region_measure(r, "medium") == pytest.approx(0.01, rel=1e-12)


def test_unknown_region_lists_names(shipped):
    r = shipped["composite_2d"]
    with pytest.raises(RegionError, match="'matrix'.*'inclusion'"):
        r.subdomain("matrx")
    with pytest.raises(RegionError, match="'left'"):
        r.boundary("west")
    with pytest.raises(KeyError, match="inclusion_surface"):
        r.interface("interface_1")


# ------------------------------------------------------------------ builders
needs_gmsh = pytest.mark.skipif(
    importlib.util.find_spec("gmsh") is None, reason="gmsh is not installed (femheat[full])"
)


def test_geometry_imports_without_gmsh():
    code = "import sys, femheat, femheat.mesh.geometry; assert 'gmsh' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_gmsh
def test_superlattice_repeated_names(tmp_path):
    r = geometry.build(
        "layered_stack", tmp_path / "sl.msh",
        thicknesses=[1e-9, 2e-9, 1e-9], height=1e-9, names=["A", "B", "A"], mesh_size=2.5e-10,
    )
    assert r.subdomain_names == ["A", "B"]
    assert sorted(r.interfaces) == ["interface_1", "interface_2"]
    assert region_measure(r, "A") == pytest.approx(2e-18, rel=1e-12)
    assert region_measure(r, "B") == pytest.approx(2e-18, rel=1e-12)
    assert r.interface_orientation("interface_2")[1] == ("A", "B")
    assert r.metadata["builder"] == "layered_stack"


@needs_gmsh
def test_single_layer_3d_has_no_interfaces(tmp_path):
    r = geometry.build("layered_stack", tmp_path / "one.msh", thicknesses=[2.0], height=1.0,
                       depth=0.5, mesh_size=0.5)
    assert r.subdomain_names == ["layer_1"]
    assert r.interfaces == {}
    assert sorted(r.boundaries) == sorted(BOX3)
    assert region_measure(r, "layer_1") == pytest.approx(1.0, rel=1e-12)


@needs_gmsh
@pytest.mark.parametrize(
    "builder, params",
    [
        ("layered_stack", dict(thicknesses=[1e-6, 1e-6], height=5e-7, mesh_size=2e-7)),
        ("inclusions_2d", dict(width=2e-6, height=1e-6, centers=[[5e-7, 5e-7], [1.5e-6, 5e-7]],
                               radii=[2e-7, 3e-7], mesh_size=2e-7, interface_mesh_size=8e-8)),
        ("inclusion_3d", dict(size=[1e-6, 1e-6, 1e-6], center=[5e-7, 5e-7, 5e-7],
                              radius=3e-7, mesh_size=3e-7)),
        ("strip", dict(length=1e-6, height=1e-8, n_length=20, n_height=2)),
    ],
)
def test_sidecar_regenerates_the_mesh(tmp_path, builder, params):
    first = geometry.build(builder, tmp_path / "a.msh", **params)
    spec = json.loads(geometry.sidecar_path(tmp_path / "a.msh").read_text())
    assert spec["builder"] == builder
    again = geometry.build(spec["builder"], tmp_path / "b.msh", **spec["parameters"])
    assert np.array_equal(first.mesh.p, again.mesh.p)
    assert np.array_equal(first.mesh.t, again.mesh.t)
    assert first.subdomain_names == again.subdomain_names
    assert first.unassigned_boundary_facets().size == 0


@needs_gmsh
def test_inclusions_2d_custom_names(tmp_path):
    r = geometry.build("inclusions_2d", tmp_path / "c.msh", width=1.0, height=1.0,
                       centers=[[0.5, 0.5]], radii=0.25, mesh_size=0.1,
                       matrix="silicon", inclusion="germanium")
    assert r.subdomain_names == ["silicon", "germanium"]
    assert r.interface_orientation("inclusion_surface")[1] == ("silicon", "germanium")


@pytest.mark.parametrize(
    "builder, params, match",
    [
        ("inclusions_2d", dict(width=2.0, height=1.0, centers=[[0.5, 0.5], [0.9, 0.5]],
                               radii=0.3, mesh_size=0.1), r"overlap.*centers or radii"),
        ("inclusions_2d", dict(width=2.0, height=1.0, centers=[[0.5, 0.5], [1.1, 0.5]],
                               radii=0.3, mesh_size=0.1), r"overlap or touch"),
        ("inclusions_2d", dict(width=2.0, height=1.0, centers=[[0.2, 0.5]],
                               radii=0.3, mesh_size=0.1), r"centers\[0\].*radii\[0\].*boundary"),
        ("inclusions_2d", dict(width=2.0, height=1.0, centers=[[0.5, 0.5]],
                               radii=0.5, mesh_size=0.1), r"touches"),
        ("inclusions_2d", dict(width=2.0, height=1.0, centers=[[0.5, 0.5]],
                               radii=[-0.1], mesh_size=0.1), r"radii\[0\]"),
        ("inclusions_2d", dict(width=2.0, height=1.0, centers=[[0.5, 0.5]],
                               radii=0.1, mesh_size=0.1, interface_mesh_size=0),
         r"interface_mesh_size"),
        ("inclusions_2d", dict(width=-2.0, height=1.0, centers=[[0.5, 0.5]],
                               radii=0.1, mesh_size=0.1), r"width"),
        ("layered_stack", dict(thicknesses=[1.0, -1.0], height=1.0, mesh_size=0.1),
         r"thicknesses\[1\]"),
        ("layered_stack", dict(thicknesses=[1.0], height=1.0, mesh_size=-0.1), r"mesh_size"),
        ("layered_stack", dict(thicknesses=[1.0, 1.0], height=1.0, depth=0.0, mesh_size=0.1),
         r"depth"),
        ("layered_stack", dict(thicknesses=[1.0, 1.0], height=1.0, names=["a"], mesh_size=0.1),
         r"names"),
        ("layered_stack", dict(thicknesses=[1.0], height=1.0, names=["left"], mesh_size=0.1),
         r"clash"),
        ("inclusion_3d", dict(size=[1.0, 1.0, 1.0], center=[0.5, 0.5, 0.5], radius=0.6,
                              mesh_size=0.1), r"radius"),
        ("strip", dict(length=1.0, height=0.1, n_length=0), r"n_length"),
    ],
)
def test_builders_refuse_bad_input(tmp_path, builder, params, match):
    with pytest.raises(FemheatInputError, match=match):
        geometry.build(builder, tmp_path / "bad.msh", **params)
    assert not (tmp_path / "bad.msh").exists()


@needs_gmsh
def test_unknown_builder_lists_builders(tmp_path):
    with pytest.raises(FemheatInputError, match="layered_stack.*inclusions_2d.*strip"):
        geometry.build("sphere", tmp_path / "x.msh")
    with pytest.raises(FemheatInputError, match="height"):
        geometry.build("strip", tmp_path / "x.msh", length=1.0, n_length=3)
    with pytest.raises(FemheatInputError, match="path"):
        geometry.strip(1.0, 0.1, n_length=3, path=tmp_path / "x.vtk")


# ---------------------------------------------------------------- bad files
def test_inverted_tetrahedron_is_refused(tmp_path):
    meshio = pytest.importorskip("meshio")
    points = np.array(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=float
    )
    good = [0, 1, 2, 3]  # positive volume
    inverted = [2, 1, 3, 4]  # (1, 2, 3, 4) has positive volume: one swap inverts it
    cells = np.array([good, inverted])
    p = points[cells]
    vol = np.linalg.det(np.stack([p[:, i + 1] - p[:, 0] for i in range(3)], axis=1))
    assert vol[0] > 0 and vol[1] < 0
    m = meshio.Mesh(
        points,
        [("tetra", cells)],
        cell_data={"gmsh:physical": [np.array([1, 1])], "gmsh:geometrical": [np.array([1, 1])]},
        field_data={"solid": np.array([1, 3])},
    )
    path = tmp_path / "inverted.msh"
    meshio.write(path, m, file_format="gmsh22", binary=False)
    with pytest.raises(MeshError, match="inverted"):
        load_mesh(path)
    # the same file with the cell fixed loads
    m.cells[0].data[1] = [1, 2, 3, 4]
    meshio.write(path, m, file_format="gmsh22", binary=False)
    assert load_mesh(path).subdomain_names == ["solid"]
