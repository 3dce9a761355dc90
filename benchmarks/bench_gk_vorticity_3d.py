"""The GK vorticity form in 3D, a prototype study (not in femheat): RT0 × P0 with a
Nédélec (N0) vorticity kept as an unknown.

In 2D femheat's ``viscous = "vorticity"`` eliminates a mass-lumped P1 / P3 vorticity
(:mod:`femheat.assembly.vorticity`). In 3D the vorticity lives on edges (N0, the
exact sequence N0 → RT0 → P0: curl N0 ⊂ RT0), and its mass cannot be lumped, so the
flux operator K₀ + Cᵀ M_ω⁻¹ C would be dense: ω has to stay an unknown of every solve.
This script measures what that form would give, before anyone builds it:

1. **spectrum**: the slowest nonzero quasi-static temperature rates on the insulated,
   free-slip unit cube (κ = C = 1, l² = 0.1, β = 0; ``tests/test_gk_modes.py``'s
   problem in 3D), against femheat's interior penalty (BDM1 × P0, η = 1) and the
   physical π²/(1 + π² l²) = 4.967;
2. **accuracy**: a steady manufactured solution T = φ = cos πx cos πy cos πz,
   q = −c∇φ + q_v with the divergence-free q_v = curl(0, 0, sin πx sin πy) (driven by
   a flux body force), l = 0.2, β = 2; relative L² errors of T and q and their orders
   (and, for the curl-free part alone, femheat's interior penalty on the same meshes);
3. **lumping**: the diagonal ("DEC") N0 mass that is exact for constant fields cell by
   cell, Σ_e d_e e eᵀ = |K| I, has zero or negative edge weights on the usual meshes;
4. **cost**: the backward-Euler step operator factorized with ω kept
   ([[K₀, Cᵀ], [C, −M_ω/θ]], CHOLMOD simplicial LDLᵀ) against femheat's interior-penalty
   step factorization (BDM1, supernodal Cholesky) on the same mesh.

    python benchmarks/bench_gk_vorticity_3d.py            # ~1-2 min
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem
from skfem import BilinearForm, LinearForm
from skfem.helpers import dot

import femheat as fh
from bench_gk_modes import rates  # the quasi-static rates of a flux block A


def _cube(n: int) -> fh.RegionMesh:
    mesh = skfem.MeshTet.init_tensor(*[np.linspace(0, 1, n + 1)] * 3)
    return fh.RegionMesh.from_skfem(mesh, boundaries={"walls": lambda x: np.ones(x.shape[1], bool)})


@BilinearForm
def curl_coupling(q, tau, w):
    """(q, curl τ) for an RT0 flux q (trial) and an N0 vorticity τ (test)."""
    return dot(q.value, tau.curl)


@BilinearForm
def vorticity_mass(omega, tau, w):
    return dot(omega.value, tau.value) / w.nu


@BilinearForm
def grad_div(q, v, w):
    return w.nu * q.div * v.div


def vorticity_blocks(system, nu: float, beta: int):
    """(G, C, M): grad-div, the weak curl onto the inner edges, their mass (ω_t = 0 on
    the walls: stress-free, free slip on the flat walls)."""
    qb = system.flux_basis
    wb = skfem.Basis(qb.mesh, skfem.ElementTetN0(), quadrature=(qb.X, qb.W))
    inner = wb.complement_dofs(wb.get_dofs())
    G = grad_div.assemble(qb, nu=(1 + beta) * nu + 0 * qb.dx)
    C = curl_coupling.assemble(qb, wb).tocsr()[inner]
    M = vorticity_mass.assemble(wb, nu=nu + 0 * qb.dx).tocsr()[inner][:, inner]
    return G, C, M


def _darcy(n: int, bc=None):
    """femheat's MCV (RT0 × P0) system on the cube: the κ⁻¹ mass, B, C_T, bases."""
    regions = _cube(n)
    problem = fh.HeatProblem(regions, {"domain": fh.Material(1.0, 1.0, 0.0)},
                             {"walls": bc or fh.Insulated()}, model="mcv", degree=0)
    return fh.assemble(problem)


# ----------------------------------------------------------------- 1. spectrum
def slowest_rates(system, A: np.ndarray) -> tuple[np.ndarray, float]:
    """The three slowest nonzero rates and the fastest (bench_gk_modes.rates)."""
    r = rates(system, A)
    return r[1:4], r[-1]


def spectrum(n: int, ell2: float = 0.1) -> dict:
    s = _darcy(n)
    G, C, M = vorticity_blocks(s, ell2, 0)
    A = s.resistance.toarray() + G.toarray() + C.T.toarray() @ np.linalg.solve(M.toarray(),
                                                                                C.toarray())
    vort, vmax = slowest_rates(s, A)
    problem = fh.HeatProblem(_cube(n), {"domain": fh.Material(1.0, 1.0, 0.0,
                                                               nonlocal_length=math.sqrt(ell2))},
                             {"walls": fh.Insulated()}, model="gk", degree=0, beta=0)
    p = fh.assemble(problem)
    pen, pmax = slowest_rates(p, p.resistance.toarray())
    return dict(n=n, vorticity=vort, vorticity_max=vmax, penalty=pen, penalty_max=pmax,
                physical=math.pi**2 / (1 + math.pi**2 * ell2), saturation=1 / ell2)


# ----------------------------------------------------------------- 2. accuracy
ELL, BETA, KAPPA = 0.2, 2, 1.0
K2 = 3 * math.pi**2
C0 = KAPPA / (1 + (1 + BETA) * ELL**2 * K2)


def _phi(x):
    return np.prod(np.cos(math.pi * x), axis=0)


def _grad_phi(x):
    c, s = np.cos(math.pi * x), np.sin(math.pi * x)
    return -math.pi * np.stack([s[0] * c[1] * c[2], c[0] * s[1] * c[2], c[0] * c[1] * s[2]])


def _q_vortex(x):
    """curl(0, 0, sin πx sin πy): divergence free, q·n = 0 and ω_t = 0 on the walls,
    ∇²q_v = −2π² q_v."""
    s, c = np.sin(math.pi * x), np.cos(math.pi * x)
    return math.pi * np.stack([s[0] * c[1], -c[0] * s[1], 0 * x[2]])


def _exact_flux(x, vortex: float):
    return -C0 * _grad_phi(x) + vortex * _q_vortex(x)


def _relative_l2(basis, values, exact) -> float:
    diff, norm = (values - exact) ** 2, exact**2
    if diff.ndim == 3:
        diff, norm = diff.sum(axis=0), norm.sum(axis=0)
    return math.sqrt(float((diff * basis.dx).sum()) / float((norm * basis.dx).sum()))


@LinearForm
def _body_force(v, w):
    return dot(w.f, v.value)


def manufactured(n: int, vortex: float) -> tuple[float, float]:
    """Relative L² errors (T, q) of the prototype. Temperature walls carry its natural
    condition T − (1+β)ν∇·q = (c/κ)φ (ω_t = 0 there)."""
    nu = ELL**2 / KAPPA
    s = _darcy(n, fh.Temperature(lambda x, t: (C0 / KAPPA) * _phi(x)))
    G, C, M = vorticity_blocks(s, nu, BETA)
    qb, tb = s.flux_basis, s.temperature_basis
    x = qb.global_coordinates().value
    f = s.flux_load(0.0) + _body_force.assemble(
        qb, f=vortex * (1 + 2 * math.pi**2 * ELL**2) / KAPPA * _q_vortex(x))
    src = LinearForm(lambda v, w: C0 * K2 * _phi(w.x) * v).assemble(tb)
    A0 = s.resistance + G
    B = s.divergence
    nq, nw, nt = qb.N, C.shape[0], tb.N
    K = sp.bmat([[A0, C.T, -B.T], [C, -M, None], [-B, None, None]], format="csc")
    rhs = np.concatenate([f, np.zeros(nw), -src])
    u = spla.spsolve(K, rhs)
    q, T = u[:nq], u[nq + nw:]
    eT = _relative_l2(tb, tb.interpolate(T).value, _phi(tb.global_coordinates().value))
    eq = _relative_l2(qb, qb.interpolate(q).value, _exact_flux(x, vortex))
    return eT, eq


def penalty_cos_mode(n: int) -> tuple[float, float]:
    """femheat's interior penalty (BDM1 × P0) on the curl-free part alone (its natural
    wall temperature (c/κ)(1 + 2π²l²)φ, as ``tests/test_gk_temperature.py``)."""
    wall = (C0 / KAPPA) * (1 + 2 * math.pi**2 * ELL**2)
    problem = fh.HeatProblem(_cube(n), {"domain": fh.Material(KAPPA, nonlocal_length=ELL)},
                             {"walls": fh.Temperature(lambda x, t: wall * _phi(x))},
                             source=lambda x, t: C0 * K2 * _phi(x), model="gk", degree=0,
                             beta=BETA)
    s = fh.assemble(problem)
    state = fh.solve_steady(s)
    qb, tb = s.flux_basis, s.temperature_basis
    eT = _relative_l2(tb, tb.interpolate(state.temperature).value,
                      _phi(tb.global_coordinates().value))
    eq = _relative_l2(qb, qb.interpolate(state.flux).value,
                      _exact_flux(qb.global_coordinates().value, 0.0))
    return eT, eq


# ----------------------------------------------------------------- 3. lumping
_LOCAL_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))


def dec_weights(mesh: skfem.MeshTet) -> tuple[float, float, int, int]:
    """Per-cell d_e with Σ_e d_e e eᵀ = |K| I (exact for constant fields) and their
    sums per edge: (min cell weight / |K|^(1/3), min edge weight, edges with weight
    <= 0, edges)."""
    p, t = mesh.p, mesh.t
    E = np.stack([p[:, t[b]] - p[:, t[a]] for a, b in _LOCAL_EDGES])  # (6, 3, nt)
    vol = np.abs(np.einsum("ik,ik->k", np.cross(E[0].T, E[2].T).T, E[3])) / 6  # p1-p0, p2-p0, p3-p0
    pairs = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
    lhs = np.stack([[E[e, i] * E[e, j] for e in range(6)] for i, j in pairs]).transpose(2, 0, 1)
    rhs = np.stack([vol if i == j else 0 * vol for i, j in pairs], axis=1)
    d = np.linalg.solve(lhs, rhs[..., None])[..., 0]  # (nt, 6)
    edges = {tuple(sorted(e)): k for k, e in enumerate(mesh.edges.T)}
    index = np.array([[edges[tuple(sorted((t[a, k], t[b, k])))] for a, b in _LOCAL_EDGES]
                      for k in range(t.shape[1])])
    D = np.bincount(index.ravel(), d.ravel(), minlength=mesh.edges.shape[1])
    return (float((d / vol[:, None] ** (1 / 3)).min()), float(D.min()), int((D <= 1e-14).sum()),
            int(D.size))


def lumping() -> list[tuple[str, tuple]]:
    tensor = skfem.MeshTet.init_tensor(*[np.linspace(0, 1, 6)] * 3)
    rng = np.random.default_rng(0)
    pts = tensor.p.copy()
    inner = ~np.any((pts < 1e-9) | (pts > 1 - 1e-9), axis=0)
    pts[:, inner] += 0.04 * rng.standard_normal((3, int(inner.sum())))
    return [("tensor 5^3", dec_weights(tensor)),
            ("tensor 5^3, inner nodes moved by 0.2 h", dec_weights(skfem.MeshTet(pts, tensor.t))),
            ("init_ball(2)", dec_weights(skfem.MeshTet.init_ball(2)))]


# ----------------------------------------------------------------- 4. cost
def cost(n: int, dt: float = 1e-3, tau: float = 1e-2, ell: float = 0.1) -> dict:
    from sksparse.cholmod import cholesky

    nu = ell**2
    s = _darcy(n)
    G, C, M = vorticity_blocks(s, nu, 2)
    free = s.free_dofs
    # backward Euler, T eliminated: K₀ = (τ/dt + 1)κ⁻¹M_q + G + dt Bᵀ C_T⁻¹ B
    Ct_inv = sp.diags(1.0 / s.capacity.diagonal())
    K0 = ((1 + tau / dt) * s.resistance + G + dt * s.divergence.T @ Ct_inv @ s.divergence)
    K0 = K0.tocsr()[free][:, free]
    aug = sp.bmat([[K0, C[:, free].T], [C[:, free], -M]], format="csc")
    t0 = time.process_time()
    f = cholesky(aug, mode="simplicial", ordering_method="amd")
    t_aug = time.process_time() - t0
    nnz_aug = f.LD().nnz
    problem = fh.HeatProblem(_cube(n), {"domain": fh.Material(1.0, 1.0, tau, nonlocal_length=ell)},
                             {"walls": fh.Insulated()}, model="gk", degree=0, beta=2)
    p = fh.assemble(problem)
    t0 = time.process_time()
    fh.ThetaScheme(p, dt, 1.0)
    t_pen = time.process_time() - t0
    return dict(n=n, vorticity_unknowns=int(K0.shape[0] + M.shape[0]),
                penalty_unknowns=int(p.flux_basis.N), vorticity_factor_s=t_aug,
                vorticity_factor_nnz=int(nnz_aug), penalty_factor_s=t_pen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spectrum", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--accuracy", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--cost", type=int, nargs="+", default=[8, 12, 16])
    args = parser.parse_args()

    print("1. slowest nonzero quasi-static rates (beta = 0, l^2 = 0.1; physical 4.967, "
          "every rate below 10)")
    print("| n | vorticity (N0 kept) | its fastest | interior penalty (eta = 1) | its fastest |")
    print("|---:|---|---:|---|---:|")
    for n in args.spectrum:
        r = spectrum(n)
        print(f"| {n} | {', '.join(f'{x:.3f}' for x in r['vorticity'])} | "
              f"{r['vorticity_max']:.3f} | {', '.join(f'{x:.3f}' for x in r['penalty'])} | "
              f"{r['penalty_max']:.3f} |", flush=True)

    print("\n2. steady manufactured solution, l = 0.2, beta = 2: relative L2 errors")
    print("| n | T (cos + vortex) | q (cos + vortex) | T (cos) | q (cos) | "
          "penalty T (cos) | penalty q (cos) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for n in args.accuracy:
        rows.append((n, *manufactured(n, 1.0), *manufactured(n, 0.0), *penalty_cos_mode(n)))
        print("| " + " | ".join([str(n)] + [f"{v:.3e}" for v in rows[-1][1:]]) + " |", flush=True)
    for i in range(len(rows) - 1):
        h = math.log(rows[i + 1][0] / rows[i][0])
        orders = [math.log(rows[i][k] / rows[i + 1][k]) / h for k in range(1, 7)]
        print(f"| orders {rows[i][0]}->{rows[i + 1][0]} | " + " | ".join(f"{o:.2f}" for o in orders)
              + " |")

    print("\n3. diagonal N0 mass exact for constant fields cell by cell")
    print("| mesh | min cell weight / |K|^(1/3) | min edge weight | edges with weight <= 0 |")
    print("|---|---:|---:|---:|")
    for name, (dmin, Dmin, bad, total) in lumping():
        print(f"| {name} | {dmin:.3g} | {Dmin:.3g} | {bad} of {total} |")

    print("\n4. backward-Euler step factorization (process CPU)")
    print("| n | vorticity unknowns (q + omega) | LDL^T s | factor nnz | penalty BDM1 unknowns "
          "| penalty s | vorticity/penalty |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.cost:
        c = cost(n)
        print(f"| {n} | {c['vorticity_unknowns']:,} | {c['vorticity_factor_s']:.2f} | "
              f"{c['vorticity_factor_nnz']:,} | {c['penalty_unknowns']:,} | "
              f"{c['penalty_factor_s']:.2f} | "
              f"{c['vorticity_factor_s'] / c['penalty_factor_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
