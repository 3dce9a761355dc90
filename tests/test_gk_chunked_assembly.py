"""The interior-penalty assembly runs in chunks of facets (bounded transient memory at
~1M unknowns, benchmarks/bench_3d_million.py): the operator is the one-piece one."""

import numpy as np
import pytest
import skfem

import femheat as fh
import femheat.assembly.gk as gk
from femheat.physics.conditions import NoSlip


def _system(dim: int):
    x = np.linspace(0, 1, 4)
    mesh = skfem.MeshTet.init_tensor(x, x, x) if dim == 3 else skfem.MeshTri.init_tensor(x, x)
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "hot": lambda x: x[0] < 1e-9, "cold": lambda x: x[0] > 1 - 1e-9,
        "walls": lambda x: (x[0] > 1e-9) & (x[0] < 1 - 1e-9)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 0.05, nonlocal_length=0.4)},
        {"hot": fh.Temperature(1.0), "cold": fh.Temperature(0.0), "walls": fh.Insulated()},
        model="gk", beta=2, walls={"walls": NoSlip()}, viscous="penalty")
    return fh.assemble(problem)


@pytest.mark.parametrize("dim", [2, 3])
def test_chunked_interior_penalty_equals_one_piece(monkeypatch, dim):
    monkeypatch.setattr(gk, "FACET_CHUNK", 10**9)
    whole = _system(dim).resistance.tocsr()
    monkeypatch.setattr(gk, "FACET_CHUNK", 7)  # many uneven chunks
    chunked = _system(dim).resistance.tocsr()
    assert chunked.shape == whole.shape
    assert abs(chunked - whole).max() <= 1e-14 * abs(whole).max()
