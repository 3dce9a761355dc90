"""Time steps of the GK vorticity form with ω kept as an unknown
(:mod:`femheat.solve.augmented`): the quasi-definite augmented factorization gives
the steps of the formed operator K₀ + Cᵀ diag(w) C to round-off, with every kind
of boundary data the form takes, on CHOLMOD's LDLᵀ and on SuperLU."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem

import femheat as fh
from femheat.errors import FemheatInputError, SolverError
from femheat.physics.conditions import NoSlip, SlipLength, TangentialFlux
from femheat.assembly.rotation import RotationOperator, VorticityMass
from femheat.solve.augmented import factorize_augmented
from femheat.solve.factorization import direct_solver


def _bilayer_system(degree: int = 0):
    """Two layers (κ 1 and 3, l 0.15 and 0.3) behind a Kapitza resistance, a heat
    source, T fixed on the left, a heat flux into the right end (essential flux
    DOFs), a slip-length floor and a ceiling with a prescribed tangential flux. Degree
    0 in (r, z), 0.5 ≤ r ≤ 2.5 (the lumped vorticity mass: the stream function rω in
    P1; the Cartesian degree-0 form keeps a consistent P2 vorticity), degree 1 in the
    plane (walls that leave ω free: a consistent P3 mass)."""
    x0 = 0.5 if degree == 0 else 0.0
    mesh = skfem.MeshTri.init_tensor(np.linspace(x0, x0 + 2, 17), np.linspace(0, 0.75, 7))
    tol = 1e-9
    regions = fh.RegionMesh.from_skfem(
        mesh, subdomains={"a": lambda x: x[0] < x0 + 1, "b": lambda x: x[0] > x0 + 1},
        boundaries={"left": lambda x: x[0] < x0 + tol, "right": lambda x: x[0] > x0 + 2 - tol,
                    "floor": lambda x: (x[1] < tol) & (x[0] > x0 + tol) & (x[0] < x0 + 2 - tol),
                    "ceiling": lambda x: (x[1] > 0.75 - tol) & (x[0] > x0 + tol)
                    & (x[0] < x0 + 2 - tol)},
        interfaces={"gap": lambda x: np.isclose(x[0], x0 + 1)})
    problem = fh.HeatProblem(
        regions, {"a": fh.Material(1.0, 2.0, 0.05, nonlocal_length=0.15),
                  "b": fh.Material(3.0, 1.0, 0.02, nonlocal_length=0.3)},
        {"left": fh.Temperature(1.0), "right": fh.HeatFlux(-0.5),
         "floor": fh.Insulated(), "ceiling": fh.Insulated()},
        interfaces={"gap": fh.KapitzaResistance(0.1)},
        walls={"left": NoSlip(), "floor": SlipLength(0.5), "ceiling": TangentialFlux(0.3)},
        source=lambda x, t: 1.0 + x[0] * x[1], model="gk", degree=degree, beta=2,
        viscous="vorticity", coordinates="axisymmetric" if degree == 0 else "cartesian")
    return fh.assemble(problem)


def _formed(system):
    """The system with A = A₀ + Cᵀ M_ω⁻¹ C formed densely (small meshes only): the
    reference where M_ω is consistent (degree 1 with walls that leave ω free) and has
    no sparse formed operator."""
    C, mass = system.rotation
    dense = system.resistance_base.toarray() + C.T.toarray() @ np.linalg.solve(
        mass.matrix.toarray(), C.toarray())
    return dataclasses.replace(system, resistance=sp.csr_matrix(dense), rotation=None,
                               resistance_base=None, _cache={})


def _march(system, theta: float, steps: int = 12):
    scheme = fh.ThetaScheme(system, 2e-3, theta, steps=steps)
    state = fh.initial_state(system, temperature=lambda x: 0.5 * np.cos(x[0]))
    for _ in range(steps):
        state = scheme.step(state)
    return scheme, state


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("backend", ["cholmod", "superlu"])
@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_augmented_steps_equal_the_formed_operators(monkeypatch, theta, backend, degree):
    if backend == "cholmod" and direct_solver("auto") != "cholmod":
        pytest.skip("scikit-sparse (CHOLMOD) not installed")
    monkeypatch.setenv("FEMHEAT_DIRECT_SOLVER", backend)
    system = _bilayer_system(degree)
    assert system.rotation is not None and system.essential_dofs.size > 0
    # degree 0: the lumped mass, formed on request; degree 1 (walls): consistent, so ω
    # is kept whatever the setting, and the reference is the dense formed operator
    assert system.rotation[1].lumped == (degree == 0)
    monkeypatch.setenv("FEMHEAT_VORTICITY_SOLVE", "formed")
    formed, reference = _march(system if degree == 0 else _formed(system), theta)
    if degree == 1:
        assert _march(system, theta)[0]._solve.augmented  # the setting cannot form it
    monkeypatch.setenv("FEMHEAT_VORTICITY_SOLVE", "augmented")
    augmented, state = _march(system, theta)
    assert not getattr(formed._solve, "augmented", False)
    assert augmented._solve.augmented and augmented._solve.backend == backend
    scale = np.abs(reference.flux).max()
    assert np.abs(state.flux - reference.flux).max() <= 1e-10 * scale
    assert np.abs(state.temperature - reference.temperature).max() <= 1e-10 * \
        np.abs(reference.temperature).max()
    assert scale > 0.05  # the run moved heat (max flux DOF: 0.08 at degree 1)


@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_augmented_steps_solve_nothing_with_the_vorticity_mass(monkeypatch, theta):
    """The explicit rotation −(1−θ)Cᵀ M_ω⁻¹ C qⁿ and the lifting θ Cᵀ M_ω⁻¹ C_e q_D
    enter through the augmented system's second block: a step makes no solve with the
    consistent M_ω (each cost ~18 % of a degree-0 step at n = 100; the steps equal the
    formed operator's, test above). The prescribed tangential flux's load solves once,
    at the first step (it does not change)."""
    system = _bilayer_system(1)
    mass = system.rotation[1]
    assert not mass.lumped and system.essential_dofs.size
    calls = []
    real = mass.inverse_times
    monkeypatch.setattr(mass, "inverse_times", lambda x: calls.append(1) or real(x))
    scheme = fh.ThetaScheme(system, 2e-3, theta, steps=4)
    state = scheme.step(fh.initial_state(system, temperature=lambda x: 0.5 * np.cos(x[0])))
    assert len(calls) == 1, calls  # the wall load
    for _ in range(3):
        state = scheme.step(state)
    assert len(calls) == 1, f"{len(calls) - 1} solves with M_omega in 3 steps"


@pytest.mark.parametrize("degree", [0, 1])
def test_steady_solve_with_the_augmented_factorization(monkeypatch, degree):
    """The augmented-Lagrangian steady solve factorizes K_r with ω kept: the same
    state as with the formed operator."""
    system = _bilayer_system(degree)
    monkeypatch.setenv("FEMHEAT_VORTICITY_SOLVE", "formed")
    reference = fh.solve_steady(system)
    monkeypatch.setenv("FEMHEAT_VORTICITY_SOLVE", "augmented")
    calls = []
    import femheat.solve.steady as steady
    real = steady.factorize_augmented
    monkeypatch.setattr(steady, "factorize_augmented",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    state = fh.solve_steady(system)
    assert calls, "the augmented factorization was not used"
    assert np.abs(state.flux - reference.flux).max() <= 1e-9 * np.abs(reference.flux).max()
    assert np.abs(state.temperature - reference.temperature).max() <= 1e-9 * \
        np.abs(reference.temperature).max()


def test_the_lumped_operator_is_formed_only_when_read(monkeypatch):
    """With a lumped M_ω, steady solves and steps keep ω and never form A = A₀ +
    Cᵀ M_ω⁻¹ C (assembly no longer pays for it); read, A is that sum, and the
    unformed operator's diagonal (the augmented Lagrangian's scaling) is A's."""
    monkeypatch.delenv("FEMHEAT_VORTICITY_SOLVE", raising=False)
    system = _bilayer_system(0)
    fh.solve_steady(system)
    _march(system, 1.0, steps=2)
    assert "resistance" not in vars(system)
    C, mass = system.rotation
    expected = (system.resistance_base + C.T @ sp.diags(1 / mass.values) @ C).toarray()
    unformed = RotationOperator(system.resistance_base, C, mass)
    free = system.free_dofs
    np.testing.assert_allclose(unformed.block(free, free).diagonal(),
                               np.diag(expected)[free], rtol=1e-13)
    assert np.abs(system.resistance.toarray() - expected).max() <= \
        1e-13 * np.abs(expected).max()
    assert "resistance" in vars(system)  # formed once, kept


def test_the_choice_is_refused_when_misspelt(monkeypatch):
    system = _bilayer_system()
    monkeypatch.setenv("FEMHEAT_VORTICITY_SOLVE", "elimnated")
    with pytest.raises(FemheatInputError,
                       match="FEMHEAT_VORTICITY_SOLVE = 'elimnated': use one of augmented, formed"):
        fh.ThetaScheme(system, 1e-3, 1.0, steps=100)
    monkeypatch.delenv("FEMHEAT_VORTICITY_SOLVE")
    assert fh.ThetaScheme(system, 1e-3, 1.0, steps=3)._solve.augmented  # the default
    if direct_solver("auto") == "cholmod":  # the factor choice (CHOLMOD orders it)
        monkeypatch.setenv("FEMHEAT_AUGMENTED_FACTOR", "cholesky")
        with pytest.raises(FemheatInputError,
                           match="FEMHEAT_AUGMENTED_FACTOR = 'cholesky': use one of auto, "
                                 "ldl, lu"):
            fh.ThetaScheme(system, 1e-3, 1.0, steps=3)


@pytest.mark.parametrize("factor", ["ldl", "lu"])
def test_factorize_augmented_solves_the_formed_system(monkeypatch, factor):
    """Both numeric factorizations of the augmented matrix where CHOLMOD orders it
    (``FEMHEAT_AUGMENTED_FACTOR``: simplicial LDLᵀ, or SuperLU's LU in CHOLMOD's
    order without pivoting), and SuperLU's own."""
    monkeypatch.setenv("FEMHEAT_AUGMENTED_FACTOR", factor)
    rng = np.random.default_rng(7)
    n, m = 40, 15
    R = sp.random(n, n, density=0.1, random_state=rng)
    K0 = (R @ R.T + sp.identity(n)).tocsc()
    C = sp.random(m, n, density=0.2, random_state=rng).tocsr()
    w = rng.uniform(0.1, 100.0, m)
    b = rng.standard_normal(n)
    x = spla.spsolve((K0 + C.T @ sp.diags(w) @ C).tocsc(), b)
    for backend in {"superlu", direct_solver("auto")}:
        lumped = factorize_augmented(K0, C, VorticityMass(1.0 / w), backend=backend)
        got = lumped(b)  # CHOLMOD: AMD with the ω block numbered first
        assert lumped.mode == (factor if backend == "cholmod" else None)
        assert np.abs(got - x).max() <= 1e-10 * np.abs(x).max()
        b2 = rng.standard_normal(m)
        x2 = spla.spsolve((K0 + C.T @ sp.diags(w) @ C).tocsc(), b + C.T @ (w * b2))
        assert np.abs(lumped(b, b2) - x2).max() <= 1e-10 * np.abs(x2).max()
        # a consistent (non-diagonal) mass, and the θ scaling: K₀ + θ Cᵀ M⁻¹ C
        R = sp.random(m, m, density=0.3, random_state=rng)
        M = (R @ R.T + sp.identity(m)).tocsr()
        x2 = spla.spsolve((K0 + 0.5 * C.T @ sp.csr_matrix(np.linalg.inv(M.toarray())) @ C)
                          .tocsc(), b)
        solve = factorize_augmented(K0, C, VorticityMass(M), 0.5, backend=backend)
        got = solve(b)
        assert np.abs(got - x2).max() <= 1e-10 * np.abs(x2).max()
        # a second-block right-hand side b2: (K₀ + θCᵀM⁻¹C)⁻¹ (b + θ Cᵀ M⁻¹ b2)
        b2 = rng.standard_normal(m)
        x3 = spla.spsolve((K0 + 0.5 * C.T @ sp.csr_matrix(np.linalg.inv(M.toarray())) @ C)
                          .tocsc(), b + 0.5 * C.T @ np.linalg.solve(M.toarray(), b2))
        got = solve(b, b2)
        assert np.abs(got - x3).max() <= 1e-10 * np.abs(x3).max()
    with pytest.raises(SolverError, match="positive values"):
        VorticityMass(np.r_[1.0 / w[:-1], 0.0])


@pytest.mark.skipif(direct_solver("auto") != "cholmod", reason="CHOLMOD not installed")
@pytest.mark.parametrize("factor", ["ldl", "lu"])
@pytest.mark.parametrize("ordering", ["amd", "nesdis", "amd-or-rcm"])
def test_augmented_analysis_is_shared_by_pattern(monkeypatch, ordering, factor):
    """A second augmented matrix of the same pattern (new values, as in a Newton
    iteration, a sweep's or a fit's next point) reuses the ordering and symbolic
    factor, and solves as a fresh analysis does; another pattern does not share."""
    from femheat.solve import factorization as fz

    monkeypatch.delenv(fz.SYMBOLIC_CACHE_ENV, raising=False)
    monkeypatch.setenv("FEMHEAT_AUGMENTED_FACTOR", factor)
    fz.SYMBOLIC.clear()
    rng = np.random.default_rng(11)
    n, m = 300, 90
    R = sp.random(n, n, density=0.02, random_state=rng)
    pattern = (R @ R.T + sp.identity(n)).tocsc()
    C = sp.random(m, n, density=0.05, random_state=rng).tocsr()
    b = rng.standard_normal(n)
    try:
        solves = []
        for scale in (1.0, 3.0):
            K0 = pattern.copy()
            K0.data = np.abs(K0.data) * scale + (K0.indices == np.repeat(
                np.arange(n), np.diff(K0.indptr))) * n * scale  # new values, same pattern
            w = rng.uniform(0.1, 10.0, m)
            mass = VorticityMass(1.0 / w, ordering=ordering)
            solve = factorize_augmented(K0, C, mass)
            x = spla.spsolve((K0 + C.T @ sp.diags(w) @ C).tocsc(), b)
            assert np.abs(solve(b) - x).max() <= 1e-10 * np.abs(x).max()
            solves.append(solve)
        assert [s.shared_symbolic for s in solves] == [False, True]
        assert [s.mode for s in solves] == [factor, factor]
        assert fz.SYMBOLIC.hits == 1 and fz.SYMBOLIC.misses == 1
        other = factorize_augmented(K0, C[:-1], VorticityMass(1.0 / w[:-1], ordering=ordering))
        assert not other.shared_symbolic
        monkeypatch.setenv(fz.SYMBOLIC_CACHE_ENV, "0")  # sharing off: analysed afresh
        assert not factorize_augmented(K0, C, mass).shared_symbolic
    finally:
        fz.SYMBOLIC.clear()


@pytest.mark.parametrize("degree", [0, 1])
@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_memory_model_steps_with_the_augmented_factorization(monkeypatch, theta, degree):
    """The memory model with a nonlocal length (two modes of one shape, the vorticity
    form, a Kapitza interface, a heat-flux end): its eliminated step keeps ω as an
    unknown too, with the formed operator's steps to round-off."""
    from femheat.physics.memory import MemoryMaterial
    from femheat.solve.memory import MemoryScheme
    from tests.test_memory_gk import _two_region

    system = _two_region("memory", {
        "a": MemoryMaterial.from_modes([(1.2, 0.3), (0.8, 0.05)], 1.0, nonlocal_length=0.1),
        "b": MemoryMaterial.from_modes([(0.6, 0.3), (0.4, 0.05)], 2.0, nonlocal_length=0.05)},
        degree=degree, viscous="vorticity")
    assert system.rotation is not None and system.essential_dofs.size > 0
    states = {}
    for choice in ("formed", "augmented"):
        monkeypatch.setenv("FEMHEAT_VORTICITY_SOLVE", choice)
        # a consistent M_ω (both degrees in the plane): the dense formed reference
        formed = choice == "formed" and not system.rotation[1].lumped
        scheme = MemoryScheme(_formed(system) if formed else system, 0.02, theta)
        assert getattr(scheme._solve, "augmented", False) == (choice == "augmented")
        state = system.model.initial_state(system, temperature=0.3)
        for _ in range(8):
            state = scheme.step(state)
        states[choice] = state
    a, b = states["formed"], states["augmented"]
    assert np.abs(a.flux).max() > 1e-3  # heat moved
    assert np.abs(b.flux - a.flux).max() <= 1e-10 * np.abs(a.flux).max()
    assert np.abs(b.temperature - a.temperature).max() <= 1e-10 * np.abs(a.temperature).max()


@pytest.mark.skipif(direct_solver("auto") != "cholmod", reason="CHOLMOD not installed")
def test_amd_numbers_the_vorticity_block_first():
    """AMD breaks ties by the numbering: on a structured square with free-slip walls
    (2D degree 0, the consistent P2 mass ordered by AMD) the augmented factor with the
    ω block first has fewer entries than with the flux block first (measured nnz(L):
    0.78x at n = 100, 0.83x at n = 24), and the same solution."""
    from sksparse.cholmod import analyze

    x = np.linspace(0, 1, 25)
    regions = fh.RegionMesh.from_skfem(skfem.MeshTri.init_tensor(x, x), boundaries={
        "walls": lambda p: np.ones(p.shape[1], dtype=bool)})
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.01, nonlocal_length=0.1)},
                             {"walls": fh.Insulated()}, model="gk", degree=0, beta=2)
    system = fh.assemble(problem)
    C, mass = system.rotation
    assert problem.viscous_form == "vorticity" and mass.ordering == "amd"
    free = system.free_dofs
    K0 = (system.resistance_base + system.inertia)[free][:, free].tocsc()
    Cf = C[:, free]

    def entries(blocks):
        A = sp.bmat(blocks, format="csc")
        return analyze(A, mode="simplicial", ordering_method="amd").cholesky(A).LD().nnz

    flux_first = entries([[K0, Cf.T], [Cf, mass.block(0.5)]])
    omega_first = entries([[mass.block(0.5), Cf], [Cf.T, K0]])
    assert omega_first <= 0.9 * flux_first, (omega_first, flux_first)
    b = np.random.default_rng(3).standard_normal(free.size)
    got = factorize_augmented(K0, Cf, mass, 0.5)(b)
    ref = factorize_augmented(K0, Cf, mass, 0.5, backend="superlu")(b)
    assert np.abs(got - ref).max() <= 1e-9 * np.abs(ref).max()


def _channel_3d(n: int) -> fh.MixedSystem:
    """The unit-cube channel of ``benchmarks/bench_gk.py --dim 3`` (no-slip side walls,
    T on the open ends, l = 0.1, β = 2), degree 0, the vorticity form."""
    mesh = skfem.MeshTet.init_tensor(*[np.linspace(0, 1, n + 1)] * 3)
    tol = 1e-9
    regions = fh.RegionMesh.from_skfem(mesh, boundaries={
        "inlet": lambda x: x[0] < tol, "outlet": lambda x: x[0] > 1 - tol,
        "walls": lambda x: (x[0] > tol) & (x[0] < 1 - tol)})
    problem = fh.HeatProblem(
        regions, {"domain": fh.Material(1.0, 1.0, 1e-2, nonlocal_length=0.1)},
        {"inlet": fh.Temperature(1.0), "outlet": fh.Temperature(0.0), "walls": fh.Insulated()},
        model="gk", walls={"walls": NoSlip()}, beta=2, viscous="vorticity",
        source=lambda x, t: np.sin(np.pi * x[1]) * x[2])
    return fh.assemble(problem)


@pytest.mark.skipif(direct_solver("auto") != "cholmod", reason="CHOLMOD not installed")
def test_dense_3d_factors_take_the_supernodal_lu(monkeypatch):
    """Where the augmented factor is dense (3D: 373 flops per entry at n = 6) the
    default is SuperLU's supernodal LU in CHOLMOD's order (2-5× faster than the
    simplicial LDLᵀ from n = 6 on, ``benchmarks/README.md``); 2D keeps the LDLᵀ. Steady
    solutions and time steps agree to round-off, and the steady one balances the heat
    (flux out of the ends = the source's heat)."""
    from femheat.solve import factorization as fz

    monkeypatch.setenv(fz.SYMBOLIC_CACHE_ENV, "0")
    monkeypatch.delenv("FEMHEAT_AUGMENTED_FACTOR", raising=False)
    system = _channel_3d(6)
    assert fh.ThetaScheme(system, 1e-3, 1.0, steps=2)._solve.mode == "lu"
    assert fh.ThetaScheme(_bilayer_system(1), 1e-3, 1.0, steps=2)._solve.mode == "ldl"
    results = {}
    for factor in ("ldl", "lu"):
        monkeypatch.setenv("FEMHEAT_AUGMENTED_FACTOR", factor)
        steady = fh.solve_steady(system)
        scheme = fh.ThetaScheme(system, 2e-3, 0.5, steps=3)
        assert scheme._solve.mode == factor
        state = fh.initial_state(system)
        for _ in range(3):
            state = scheme.step(state)
        results[factor] = (steady, state)
    (s0, t0), (s1, t1) = results["ldl"], results["lu"]
    for a, b in ((s0, s1), (t0, t1)):
        assert np.abs(a.flux - b.flux).max() <= 1e-10 * np.abs(a.flux).max()
        assert np.abs(a.temperature - b.temperature).max() <= 1e-10 * np.abs(
            a.temperature).max()
    assert np.abs(t1.flux).max() > 0 and np.abs(s1.temperature).max() > 0.5
