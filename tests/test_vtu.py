"""The direct VTU writer (femheat.io.vtu): files read back bit-equal by meshio and by
VTK's own XML reader (pyvista), raw and zlib-compressed, 2D and 3D, point and cell
data, scalar and vector, with the TimeValue field data and each array's units (VTK's
UNITS_LABEL); a run's VTU carries the units of FIELD_UNITS; bad shapes are refused."""

from __future__ import annotations

import numpy as np
import pytest

from femheat.io.vtu import VTUGrid

meshio = pytest.importorskip("meshio")


def grid(dim: int):
    rng = np.random.default_rng(dim)
    if dim == 2:
        points = rng.random((7, 2))
        cells = np.array([[0, 1, 2], [2, 3, 4], [4, 5, 6]])
        return points, cells, "triangle"
    points = rng.random((8, 3))
    cells = np.array([[0, 1, 2, 3], [4, 5, 6, 7]])
    return points, cells, "tetra"


@pytest.mark.parametrize("compression", [None, "zlib"])
@pytest.mark.parametrize("dim", [2, 3])
def test_round_trip_through_meshio_and_vtk(tmp_path, dim, compression):
    points, cells, kind = grid(dim)
    rng = np.random.default_rng(5)
    point_data = {"temperature": rng.standard_normal(len(points)),
                  "heat_flux": rng.standard_normal((len(points), 3))}
    cell_data = {"temperature_mean": rng.standard_normal(len(cells)),
                 "material_id": np.arange(len(cells), dtype=np.int32)}
    vtu = VTUGrid(points, cells, kind, compression)
    path = tmp_path / "f.vtu"
    for t in (0.5, 1.25):  # the same grid object writes several steps
        point_data["temperature"] = point_data["temperature"] + t
        vtu.write(path, point_data, cell_data, time=t,
                  units={"temperature": "K", "heat_flux": "W/m^2"})
        m = meshio.read(path)
        assert np.array_equal(m.points[:, :dim], points)
        assert np.array_equal(m.cells[0].data, cells) and m.cells[0].type == kind
        for k, v in point_data.items():
            assert np.array_equal(m.point_data[k], v), k
        for k, v in cell_data.items():
            assert np.array_equal(m.cell_data[k][0], v), k
        assert m.cell_data["material_id"][0].dtype == np.int32
    pv = pytest.importorskip("pyvista")
    g = pv.read(path)
    assert g.n_points == len(points) and g.n_cells == len(cells)
    assert np.array_equal(g.point_data["heat_flux"], point_data["heat_flux"])
    assert np.array_equal(g.cell_data["temperature_mean"], cell_data["temperature_mean"])
    assert float(g.field_data["TimeValue"][0]) == 1.25
    # units: VTK's UNITS_LABEL of each array, as VTK's own XML writer stores them
    import vtk

    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    pdata = reader.GetOutput().GetPointData()
    key = vtk.vtkDataArray.UNITS_LABEL()
    assert pdata.GetArray("temperature").GetInformation().Get(key) == "K"
    assert pdata.GetArray("heat_flux").GetInformation().Get(key) == "W/m^2"
    assert not reader.GetOutput().GetCellData().GetArray("material_id").GetInformation().Has(key)


def test_bad_input_is_refused(tmp_path):
    points, cells, kind = grid(2)
    with pytest.raises(ValueError, match="compression"):
        VTUGrid(points, cells, kind, "gzip")
    with pytest.raises(ValueError, match="cell type"):
        VTUGrid(points, cells, "polygon")
    with pytest.raises(ValueError, match="temperature"):
        VTUGrid(points, cells, kind).write(tmp_path / "x.vtu", {"temperature": np.ones(3)})
    assert not (tmp_path / "x.vtu").exists()


def test_run_output_carries_units(tmp_path):
    """Every array of a run's volume and interface VTU has the unit of FIELD_UNITS."""
    vtk = pytest.importorskip("vtk")
    import femheat as fh
    from femheat.io.writers import FIELD_UNITS
    from tests.conftest import strip_regions

    regions = strip_regions(split=0.5)
    problem = fh.HeatProblem(regions, {"a": fh.Material(1.0), "b": fh.Material(2.0)},
                             {"left": fh.Temperature(1.0), "right": fh.Temperature(0.0),
                              "walls": fh.Insulated()},
                             interfaces={"ab": fh.KapitzaResistance(0.1)}, model="fourier")
    system = fh.assemble(problem)
    with fh.get_model("fourier").writer(system, tmp_path) as writer:
        writer.write(0.0, fh.solve_steady(system))
    key = vtk.vtkDataArray.UNITS_LABEL()
    for name in ("fields_00000.vtu", "interfaces_00000.vtu"):
        reader = vtk.vtkXMLUnstructuredGridReader()
        reader.SetFileName(str(tmp_path / name))
        reader.Update()
        out = reader.GetOutput()
        seen = 0
        for data in (out.GetPointData(), out.GetCellData()):
            for i in range(data.GetNumberOfArrays()):
                array = data.GetArray(i)
                assert array.GetInformation().Get(key) == FIELD_UNITS[array.GetName()]
                seen += 1
        assert seen >= 4, name
