"""Slowest quasi-static GK temperature modes: interior penalty (η scan) against a mixed
vorticity (Hodge-Laplacian) form.

Quasi-static GK (τ → 0) on the insulated, free-slip unit square, κ = C = 1, l² = 0.1,
β = 0 or 2: dT/dt = −L T with L = C⁻¹ B A⁻¹ Bᵀ (``tests/test_gk_modes.py``). Every
continuum mode cos(mπx) cos(nπy) decays at K²/(1 + (1 + β) l² K²), so the slowest nonzero
physical rate is π²/(1 + (1 + β) π² l²) (4.968 for β = 0, 2.492 for β = 2) and every rate
is below 1/((1 + β) l²). This prints the three slowest nonzero discrete rates of

* ``ip``: femheat's penalty form (BDM1 × P0 at degree 0, BDM2 × P1 DG at degree 1, the
  symmetric interior penalty of ``femheat.assembly.gk`` on the jumps' projection onto
  P_{k−1}) for penalty factors η from 0.25 (below the accepted minimum 1, measured
  coercive down to ≈ 0.2) to 4;
* ``ip-full``: the same with the penalty on the whole tangential jump (femheat before
  projected jumps; ``projected_jump_degree`` switched off here);
* ``hodge``: a prototype (not in femheat) for constant l: the viscous term written as
  ν rot·rot + (1 + β)ν div·div with a continuous vorticity ω = ν rot q in P_{k+1}
  Lagrange (P2 with BDM1, P3 with BDM2), ω = 0 on the walls (free slip on flat walls):
  (ν⁻¹ω, φ) − (q, curl φ) = 0, (curl ω, v) + (κ⁻¹q, v) + ((1 + β)ν ∇·q, ∇·v) − (T, ∇·v)
  = 0, ω eliminated densely. ∇²q = ∇∇·q − curl rot q makes it the GK law for constant l.
  No penalty: the discrete complex curl P_{k+1} ⊂ BDM_{k+1}, div BDM_{k+1} = P_k makes
  L = μ/(1 + (1 + β) ν μ) over the eigenvalues μ of the mixed Darcy Laplacian.

    python benchmarks/bench_gk_modes.py            # n = 8, 16, β = 0 and 2 (~4 min)
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import scipy.linalg
import skfem
from skfem import BilinearForm
from skfem.helpers import div

L2 = 0.1


def system_for(degree: int, n: int, penalty: float, beta: int, ell2: float,
               projected: bool = True):
    import femheat as fh
    import femheat.assembly.gk as gk_assembly
    import femheat.models.gk as gk

    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    regions = fh.RegionMesh.from_skfem(
        mesh, boundaries={"walls": lambda x: np.ones(x.shape[1], bool)})
    material = fh.Material(1.0, 1.0, 0.0, nonlocal_length=math.sqrt(ell2))
    low, gk.MIN_PENALTY = gk.MIN_PENALTY, 0.0  # measure below the accepted minimum too
    jumps = gk_assembly.projected_jump_degree
    if not projected:
        gk_assembly.projected_jump_degree = lambda qb, k: None
    try:
        problem = fh.HeatProblem(regions, {"domain": material}, {"walls": fh.Insulated()},
                                 model="gk", degree=degree, beta=beta, penalty=penalty,
                                 viscous="penalty")
        return fh.assemble(problem)
    finally:
        gk.MIN_PENALTY = low
        gk_assembly.projected_jump_degree = jumps


def rates(system, A: np.ndarray) -> np.ndarray:
    free = system.free_dofs
    A = A[np.ix_(free, free)]
    B = system.divergence[:, free].toarray()
    S = B @ np.linalg.solve(A, B.T)
    return np.sort(scipy.linalg.eigvalsh(S, system.capacity.toarray()))


@BilinearForm
def curl_coupling(phi, v, w):
    """(curl φ, v), curl φ = (∂_y φ, −∂_x φ)."""
    return phi.grad[1] * v.value[0] - phi.grad[0] * v.value[1]


@BilinearForm
def vorticity_mass(omega, phi, w):
    return omega * phi / w.nu


@BilinearForm
def grad_div(q, v, w):
    return w.nu * div(q) * div(v)


def hodge_rates(degree: int, n: int, beta: int) -> np.ndarray:
    system = system_for(degree, n, 1.0, beta, 1e-30)  # the Darcy block alone
    qb = system.flux_basis
    nu = L2 + 0 * qb.dx  # κ = 1
    wb = qb.with_element(skfem.ElementTriP2() if degree == 0 else skfem.ElementTriP3())
    inner = wb.complement_dofs(wb.get_dofs())  # ω = 0 on the walls
    M = vorticity_mass.assemble(wb, nu=nu).toarray()[np.ix_(inner, inner)]
    C = curl_coupling.assemble(wb, qb).toarray()[:, inner]
    A = (system.resistance.toarray() + grad_div.assemble(qb, nu=(1 + beta) * nu).toarray()
         + C @ np.linalg.solve(M, C.T))
    return rates(system, A)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--betas", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--penalties", type=float, nargs="+", default=[0.25, 0.5, 1.0, 4.0])
    args = parser.parse_args()
    print("| β | degree | n | form | η | slowest nonzero rates | physical slowest |")
    print("|---:|---:|---:|---|---:|---|---:|")
    for beta in args.betas:
        physical = math.pi**2 / (1 + (1 + beta) * math.pi**2 * L2)
        for degree in (0, 1):
            for n in args.sizes:
                rows = [(form, eta, rates(s, s.resistance.toarray()))
                        for form, projected in (("ip", True), ("ip-full", False))
                        for eta in args.penalties
                        for s in [system_for(degree, n, eta, beta, L2, projected)]]
                rows.append(("hodge", "—", hodge_rates(degree, n, beta)))
                for form, eta, r in rows:
                    print(f"| {beta} | {degree} | {n} | {form} | {eta} | "
                          f"{', '.join(f'{x:.3f}' for x in r[1:4])} | {physical:.3f} |", flush=True)


if __name__ == "__main__":
    main()
