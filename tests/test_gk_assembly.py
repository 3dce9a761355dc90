"""The batched assembly of the GK viscous term (:mod:`femheat.assembly.batched`: the
interior penalty and the cell terms) against scikit-fem's pairwise one."""

from __future__ import annotations

import numpy as np
import pytest
import skfem

from femheat.assembly import forms


@pytest.mark.parametrize("tensor", [False, True])
@pytest.mark.parametrize("dim, element", [(2, "ElementTriBDM1G"), (2, "ElementTriBDM2G"),
                                          (3, "ElementTetBDM1")])
def test_interior_penalty_matrix_equals_pairwise_assembly(dim, element, tensor):
    """femheat.assembly.batched.interior_penalty_matrix (batched per facet, in chunks) is the
    matrix scikit-fem assembles pair by pair from forms.interior_penalty (measured
    agreement 1e-16 relative; 5-10x faster), scalar and tensor ν."""
    import femheat.element.hdiv as hdiv
    from femheat.assembly.batched import interior_penalty_matrix

    rng = np.random.default_rng(0)
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, 5 if dim == 2 else 3)] * dim)
    interior = np.nonzero(mesh.f2t[1] >= 0)[0]
    fbs = [skfem.InteriorFacetBasis(mesh, getattr(hdiv, element)(), facets=interior, side=s,
                                    intorder=4) for s in (0, 1)]
    shape = ((dim, dim) if tensor else ()) + fbs[0].dx.shape
    nu0, nu1, nu_max = (rng.random(shape) for _ in range(3))
    sigma = rng.random(fbs[0].dx.shape)
    expected = skfem.asm(forms.interior_penalty, fbs, fbs, nu0=nu0, nu1=nu1, nu_max=nu_max,
                         sigma=sigma)
    got = interior_penalty_matrix(fbs, nu0, nu1, nu_max, sigma, chunk_entries=3000)
    assert abs(got - expected).max() <= 1e-13 * abs(expected).max()


@pytest.mark.parametrize("tensor", [False, True])
@pytest.mark.parametrize("dim, element", [(2, "ElementTriBDM1G"), (2, "ElementTriBDM2G"),
                                          (3, "ElementTetBDM1"), (3, "ElementTetBDM2")])
def test_cell_viscosity_matrix_equals_pairwise_assembly(dim, element, tensor):
    """femheat.assembly.batched.cell_viscosity_matrix (batched per cell, in chunks) is
    flux_viscosity + flux_grad_div as scikit-fem assembles them pair by pair, for
    scalar and (non-symmetric) tensor ν on a distorted mesh, with and without the
    grad-div term."""
    import femheat.element.hdiv as hdiv
    from femheat.assembly.batched import cell_viscosity_matrix

    rng = np.random.default_rng(1)
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, 5 if dim == 2 else 3) ** 1.3] * dim)
    basis = skfem.Basis(mesh, getattr(hdiv, element)(), intorder=4)
    nu = rng.random(((dim, dim) if tensor else ()) + basis.dx.shape)
    nu_div = rng.random(basis.dx.shape)
    viscous = skfem.asm(forms.flux_viscosity, basis, nu=nu)
    grad_div = skfem.asm(forms.flux_grad_div, basis, nu=nu_div)
    for got, expected in [(cell_viscosity_matrix(basis, nu, chunk_entries=2000), viscous),
                          (cell_viscosity_matrix(basis, nu, nu_div), viscous + grad_div)]:
        assert abs(got - expected).max() <= 1e-13 * abs(expected).max()


def test_gk_operator_is_the_same_in_facet_chunks(monkeypatch):
    """The interior-penalty facets are assembled in chunks (FACET_CHUNK) to bound the
    transient memory; any chunking gives the same operator to round-off (two materials,
    a Kapitza interface, no-slip walls)."""
    import femheat as fh
    import femheat.assembly.gk as gk
    from femheat.physics.conditions import NoSlip

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 9), np.linspace(0, 1, 7))
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5},
        boundaries={"walls": lambda x: np.ones(x.shape[1], dtype=bool)},
        interfaces={"mid": lambda x: np.isclose(x[0], 0.5)})
    problem = fh.HeatProblem(
        regions, {"a": fh.Material(1.0, 1.0, 0.1, nonlocal_length=0.1),
                  "b": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.3)},
        {"walls": fh.Insulated()}, interfaces={"mid": fh.KapitzaResistance(0.1)},
        model="gk", walls={"walls": NoSlip()}, viscous="penalty")
    whole = fh.assemble(problem).resistance
    monkeypatch.setattr(gk, "FACET_CHUNK", 7)
    chunked = fh.assemble(problem).resistance
    assert abs(whole - chunked).max() <= 1e-13 * abs(whole).max()


def test_interior_penalty_matrix_with_the_axisymmetric_measure():
    """(r, z): the form of femheat.assembly.axisymmetric is the Cartesian one times 2πr;
    the batched assembly with measure = 2πr equals scikit-fem's pairwise one."""
    import femheat.element.hdiv as hdiv
    from femheat.assembly import axisymmetric
    from femheat.assembly.batched import interior_penalty_matrix

    rng = np.random.default_rng(1)
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 2, 6))
    interior = np.nonzero(mesh.f2t[1] >= 0)[0]
    fbs = [skfem.InteriorFacetBasis(mesh, hdiv.ElementTriBDM1G(), facets=interior, side=s,
                                    intorder=4) for s in (0, 1)]
    nu0, nu1, sigma = (rng.random(fbs[0].dx.shape) for _ in range(3))
    expected = skfem.asm(axisymmetric.interior_penalty, fbs, fbs, nu0=nu0, nu1=nu1,
                         nu_max=np.maximum(nu0, nu1), sigma=sigma)
    r = fbs[0].global_coordinates().value[0]
    got = interior_penalty_matrix(fbs, nu0, nu1, np.maximum(nu0, nu1), sigma, 2 * np.pi * r)
    assert abs(got - expected).max() <= 1e-13 * abs(expected).max()


@pytest.mark.parametrize("dim, element", [(2, "ElementTriBDM1G"), (3, "ElementTetBDM1")])
def test_affine_facet_traces_equal_the_facet_bases(dim, element):
    """BDM1 on affine cells: the interior-facet traces read from the cell basis
    (AffineFacetTraces: cell mean + constant gradient) equal scikit-fem's two
    InteriorFacetBasis sides (points, weights, values, (∇u)n, DOFs, cells) on a graded
    mesh, and so does the interior-penalty matrix, with the one-sided blocks folded
    into per-cell blocks or not."""
    import femheat.element.hdiv as hdiv
    from femheat.assembly.batched import (AffineFacetTraces, FacetTraces, blocks_matrix,
                                          interior_penalty_matrix, sum_matrices)

    rng = np.random.default_rng(3)
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, 6 if dim == 2 else 4) ** 1.4] * dim)
    basis = skfem.Basis(mesh, getattr(hdiv, element)(), intorder=3)
    interior = np.nonzero(mesh.f2t[1] >= 0)[0]
    fbs = [skfem.InteriorFacetBasis(mesh, getattr(hdiv, element)(), facets=interior, side=s,
                                    intorder=3) for s in (0, 1)]
    expected, got = FacetTraces.from_bases(fbs), AffineFacetTraces(basis)(interior, 3)
    assert np.array_equal(got.x, expected.x) and np.array_equal(got.dx, expected.dx)
    for s in (0, 1):
        for name in ("values", "normal_derivatives"):
            a, b = getattr(expected, name)[s], getattr(got, name)[s]
            assert np.abs(a - b).max() <= 1e-13 * np.abs(a).max(), (name, s)
        assert np.array_equal(got.dofs[s], expected.dofs[s])
        assert np.array_equal(got.cells[s], expected.cells[s])

    nu = rng.random((dim, dim) + expected.dx.shape)  # a non-symmetric tensor ν
    sigma = rng.random(expected.dx.shape)
    reference = interior_penalty_matrix(fbs, nu, nu[::-1], nu + nu[::-1], sigma)
    blocks = np.zeros((mesh.nelements, basis.Nbfun, basis.Nbfun))
    coupling = interior_penalty_matrix(got, nu, nu[::-1], nu + nu[::-1], sigma,
                                       chunk_entries=5000, cell_blocks=blocks)
    folded = sum_matrices([coupling, blocks_matrix(blocks, basis.element_dofs, basis.N)],
                          basis.N)
    assert abs(folded - reference).max() <= 1e-13 * abs(reference).max()


@pytest.mark.parametrize("dim, element", [(2, "ElementTriBDM1G"), (2, "ElementTriBDM2G"),
                                          (3, "ElementTetBDM1")])
def test_cell_mass_matrix_equals_pairwise_assembly(dim, element):
    """femheat.assembly.batched.cell_mass_matrix is forms.flux_mass as scikit-fem
    assembles it pair by pair, for a number, a scalar, a diagonal and a full tensor
    coefficient, in chunks, on a graded mesh."""
    import femheat.element.hdiv as hdiv
    from femheat.assembly.batched import cell_mass_matrix

    rng = np.random.default_rng(4)
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, 5 if dim == 2 else 3) ** 1.3] * dim)
    basis = skfem.Basis(mesh, getattr(hdiv, element)(), intorder=4)
    for shape in [(), basis.dx.shape, (dim,) + basis.dx.shape, (dim, dim) + basis.dx.shape]:
        kinv = rng.random(shape) if shape else 0.7
        expected = skfem.asm(forms.flux_mass, basis, kinv=kinv)
        got = cell_mass_matrix(basis, kinv, chunk_entries=700)
        assert abs(got - expected).max() <= 1e-13 * abs(expected).max(), len(shape)


@pytest.mark.parametrize("dim", [2, 3])
def test_gk_operator_is_the_same_without_the_affine_traces(monkeypatch, dim):
    """The GK flux block assembled through the affine BDM1 traces and per-cell blocks
    equals the one through scikit-fem's interior facet bases (the route of curved
    cells and BDM2): two materials, a Kapitza interface, an anisotropic κ, no-slip
    walls."""
    import femheat as fh
    import femheat.assembly.batched as batched
    from femheat.physics.conditions import NoSlip

    edges = [np.linspace(0, 1, 7 if dim == 2 else 4) ** 1.2] * dim
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(*edges)
    half = edges[0][len(edges[0]) // 2]
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < half, "b": lambda x: x[0] > half},
        boundaries={"walls": lambda x: np.ones(x.shape[1], dtype=bool)},
        interfaces={"mid": lambda x: np.isclose(x[0], half)})
    kappa = np.diag(np.arange(1.0, dim + 1)) + 0.2
    problem = fh.HeatProblem(
        regions, {"a": fh.Material(kappa, 1.0, 0.1, nonlocal_length=0.1),
                  "b": fh.Material(2.0, 1.0, 0.1, nonlocal_length=0.3)},
        {"walls": fh.Insulated()}, interfaces={"mid": fh.KapitzaResistance(0.1)},
        model="gk", beta=2, walls={"walls": NoSlip()}, viscous="penalty")
    affine = fh.assemble(problem).resistance
    monkeypatch.setattr(batched, "affine_traces_apply", lambda basis: False)
    import femheat.assembly.gk as gk
    monkeypatch.setattr(gk, "affine_traces_apply", lambda basis: False)
    bases = fh.assemble(problem).resistance
    assert abs(affine - bases).max() <= 1e-13 * abs(bases).max()


@pytest.mark.parametrize("dim, element", [(2, "ElementTriBDM1G"), (3, "ElementTetBDM1")])
def test_wall_no_slip_matrix_equals_pairwise_assembly(dim, element):
    """The batched Nitsche no-slip wall (one-sided affine traces) is forms.wall_no_slip
    as scikit-fem assembles it pair by pair on a FacetBasis, scalar ν and σ varying
    over the points, on a graded mesh."""
    import femheat.element.hdiv as hdiv
    from femheat.assembly.batched import AffineFacetTraces, wall_no_slip_matrix

    rng = np.random.default_rng(5)
    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0, 1, 6 if dim == 2 else 4) ** 1.4] * dim)
    elem = getattr(hdiv, element)()
    basis = skfem.Basis(mesh, elem, intorder=3)
    wall = mesh.boundary_facets()
    fb = skfem.FacetBasis(mesh, elem, facets=wall, intorder=3)
    nu, sigma = rng.random(fb.dx.shape), rng.random(fb.dx.shape)
    expected = forms.wall_no_slip.assemble(fb, nu=nu, sigma=sigma)
    traces = AffineFacetTraces(basis)
    one_sided = traces(wall, 3, sides=(0,))
    assert np.array_equal(one_sided.x, fb.global_coordinates().value)
    got = wall_no_slip_matrix(one_sided, traces.normals, nu, sigma)
    assert abs(got - expected).max() <= 1e-13 * abs(expected).max()


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_facet_orthonormal_basis(dim, degree, weighted):
    """The facet basis of the projected jumps is orthonormal in the (2πr-weighted) L²(F)
    product, reproduces P_degree on every facet and leaves a remainder orthogonal to
    it (a quadratic x_0² here)."""
    from femheat.assembly.batched import _project_on_facets, facet_orthonormal_basis

    mesh = (skfem.MeshTri if dim == 2 else skfem.MeshTet).init_tensor(
        *[np.linspace(0.5, 1.5, 4)] * dim)
    fb = skfem.FacetBasis(mesh, skfem.ElementTriP1() if dim == 2 else skfem.ElementTetP1(),
                          facets=np.arange(mesh.facets.shape[1]), intorder=4)
    x = fb.global_coordinates().value  # (d, nf, nq)
    dx = fb.dx * (2 * np.pi * x[0] if weighted else 1.0)
    phi = facet_orthonormal_basis(x, dx, degree)
    assert phi.shape == dx.shape + (1 if degree == 0 else dim,)
    gram = np.einsum("fqa,fq,fqb->fab", phi, dx, phi)
    assert np.abs(gram - np.eye(phi.shape[-1])).max() < 1e-10
    linear = 1.0 + 2.0 * x[0] - x[-1] if degree == 1 else np.full(x.shape[1:], 3.0)
    field = np.stack([linear, x[0] ** 2])[None].transpose(2, 0, 1, 3)  # (nf, 1, 2, nq)
    projected = _project_on_facets(field, dx, phi)
    assert np.abs(projected[:, 0, 0] - linear).max() < 1e-12 * np.abs(linear).max()
    remainder = field[:, 0, 1] - projected[:, 0, 1]
    assert np.abs(np.einsum("fq,fq,fqk->fk", remainder, dx, phi)).max() < 1e-13


@pytest.mark.parametrize("element, degree", [("ElementTriBDM1G", 0), ("ElementTriBDM2G", 1)])
def test_projected_interior_penalty_equals_its_definition(element, degree):
    """interior_penalty_matrix(projection_degree=p): the consistency terms of
    forms.interior_penalty (σ = 0, pairwise) plus σν_max Σ_a M_a M_aᵀ with the jumps'
    moments M_a = ∫_F [φ] ψ_a against Legendre polynomials ψ_a of degree ≤ p in the
    arc length of each facet (built from its end points here)."""
    import femheat.element.hdiv as hdiv
    from femheat.assembly.batched import interior_penalty_matrix

    rng = np.random.default_rng(2)
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 4))
    mesh = mesh.translated((0.1, 0.2)).scaled((1.0, 1.3))
    interior = np.nonzero(mesh.f2t[1] >= 0)[0]
    fbs = [skfem.InteriorFacetBasis(mesh, getattr(hdiv, element)(), facets=interior, side=s,
                                    intorder=5) for s in (0, 1)]
    nf = interior.size
    nu0, nu1 = (np.repeat(rng.random(nf)[:, None], fbs[0].dx.shape[1], axis=1) for _ in "01")
    nu_max = np.maximum(nu0, nu1)
    sigma = np.repeat(1 + rng.random(nf)[:, None], fbs[0].dx.shape[1], axis=1)
    consistency = skfem.asm(forms.interior_penalty, fbs, fbs, nu0=nu0, nu1=nu1,
                            nu_max=nu_max, sigma=0 * sigma).toarray()
    a, b = mesh.p[:, mesh.facets[0, interior]], mesh.p[:, mesh.facets[1, interior]]
    x = fbs[0].global_coordinates().value
    length = np.linalg.norm(b - a, axis=0)
    s = np.einsum("dfq,df->fq", x - a[:, :, None], (b - a) / length) / length[:, None]
    legendre = [np.ones_like(s), np.sqrt(3.0) * (2 * s - 1)][:degree + 1]
    penalty = np.zeros_like(consistency)
    for side_i, fi in enumerate(fbs):
        for side_j, fj in enumerate(fbs):
            sign = (1 if side_i == 0 else -1) * (1 if side_j == 0 else -1)
            for i in range(fi.Nbfun):
                ui = fi.basis[i][0].value  # (d, nf, nq)
                for j in range(fj.Nbfun):
                    uj = fj.basis[j][0].value
                    block = 0.0
                    for psi in legendre:
                        w = fbs[0].dx * psi / np.sqrt(length)[:, None]
                        block = block + np.einsum("dfq,fq,dfp,fp->f", ui, w, uj, w)
                    np.add.at(penalty, (fi.element_dofs[i], fj.element_dofs[j]),
                              sign * sigma[:, 0] * nu_max[:, 0] * block)
    expected = consistency + penalty
    got = interior_penalty_matrix(fbs, nu0, nu1, nu_max, sigma, chunk_entries=3000,
                                  projection_degree=degree).toarray()
    assert np.abs(got - expected).max() <= 1e-12 * np.abs(expected).max()
    full = interior_penalty_matrix(fbs, nu0, nu1, nu_max, sigma).toarray()
    assert np.abs(full - expected).max() > 1e-3 * np.abs(expected).max()  # not the full jumps
