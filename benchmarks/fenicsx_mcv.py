#!/usr/bin/env python3
"""The MCV benchmark problem of ``bench_mcv_assembly.py`` written in FEniCSx (dolfinx 0.5).

Run by ``bench_mcv_assembly.py`` under an interpreter that has dolfinx (Debian 12:
``apt-get install python3-dolfinx``, then ``/usr/bin/python3``); femheat's virtual
environment does not need it. Same mesh (the n x n tensor triangulation of
``skfem.MeshTri.init_tensor``: points x-major, each square cut along its rising
diagonal), same discretization (RT lowest order x DG0), same data (kappa = C = 1,
tau = 1e-2 s, T = 1 / 0 on the left / right, q.n = 0 on the top and bottom), backward
Euler with dt = 1e-3 s, so the final energies agree to solver precision.

Written as a FEniCSx user would: the natural mixed form on the mixed space,

    ((tau/dt + 1)/kappa q, v) - (T, div v) + (div q, s) + (C/dt T, s)
        = (tau/(kappa dt) q_old, v) + (C/dt T_old, s) - <T_b, v.n>,

one matrix assembled with the wall condition, factorized once by MUMPS (PETSc KSP
"preonly" + LU), then per step one vector assembly and one solve.

Phases (wall time, one MPI process): ``jit_s`` (compiling the forms, FFCx + the C
compiler; zero when the cache is warm: the caller runs a tiny problem first),
``assembly_s`` (function space, forms, boundary condition, matrix), ``factorization_s``
(KSP set-up: MUMPS analysis and factorization), ``step_best_s`` / ``step_median_s`` /
``steps_total_s``, ``peak_rss_gb`` (ru_maxrss), ``energy`` (C ∫T dx at the end).

    python3 benchmarks/fenicsx_mcv.py N STEPS        # prints one "RESULT {json}" line
    python3 benchmarks/fenicsx_mcv.py N STEPS --mesh mesh.npz --symmetric

``--mesh``: skfem's ``p`` and ``t`` in an .npz (2D or 3D; the caller writes it, so that
both codes see the same cells; left x = 0, right x = 1, walls on the other faces).
``--symmetric``: the energy equation multiplied by −1, a symmetric indefinite matrix
factorized by MUMPS LDLᵀ (PETSc "cholesky") instead of LU.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

KAPPA, CAPACITY, TAU, DT = 1.0, 1.0, 1e-2, 1e-3


def square(n: int):
    """skfem.MeshTri.init_tensor(linspace(0, 1, n + 1), ...) as a dolfinx mesh."""
    import ufl
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    x = np.linspace(0.0, 1.0, n + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    points = np.stack([X.ravel(), Y.ravel()], axis=1)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b = i * (n + 1) + j, i * (n + 1) + j + 1
    c, d = (i + 1) * (n + 1) + j + 1, (i + 1) * (n + 1) + j
    cells = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                            np.stack([a, d, c], -1).reshape(-1, 3)]).astype(np.int64)
    domain = ufl.Mesh(ufl.VectorElement("Lagrange", "triangle", 1))
    return dmesh.create_mesh(MPI.COMM_WORLD, cells, points, domain)


def run(n: int, steps: int, mesh_file: str | None = None, symmetric: bool = False) -> dict:
    import ufl
    from dolfinx import fem
    from dolfinx import mesh as dmesh
    from dolfinx.fem.petsc import (apply_lifting, assemble_matrix, assemble_vector,
                                   create_vector, set_bc)
    from petsc4py import PETSc

    res: dict = {"variant": "fenicsx (LDLT)" if symmetric else "fenicsx", "n": n,
                 "solver": "mumps LDLT" if symmetric else "mumps LU"}
    msh = square(n) if mesh_file is None else from_file(mesh_file)
    t0 = time.perf_counter()
    cell = msh.ufl_cell()
    W = fem.FunctionSpace(msh, ufl.MixedElement([ufl.FiniteElement("RT", cell, 1),
                                                 ufl.FiniteElement("DG", cell, 0)]))
    q, T = ufl.TrialFunctions(W)
    v, s = ufl.TestFunctions(W)
    old = fem.Function(W)
    q_old, T_old = ufl.split(old)
    fdim = msh.topology.dim - 1
    dim = msh.topology.dim
    left = dmesh.locate_entities_boundary(msh, fdim, lambda x: np.isclose(x[0], 0.0))
    tags = dmesh.meshtags(msh, fdim, left, np.full(left.size, 1, dtype=np.int32))
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tags)
    normal = ufl.FacetNormal(msh)
    # the energy equation times -1 makes the matrix symmetric (indefinite): MUMPS LDLT
    sign = -1.0 if symmetric else 1.0
    a = ((TAU / DT + 1.0) / KAPPA * ufl.inner(q, v) - T * ufl.div(v)
         + sign * (ufl.div(q) * s + CAPACITY / DT * T * s)) * ufl.dx
    L = (TAU / (KAPPA * DT) * ufl.inner(q_old, v) + sign * CAPACITY / DT * T_old * s) * ufl.dx \
        - 1.0 * ufl.inner(v, normal) * ds(1)
    t1 = time.perf_counter()
    a_form, L_form = fem.form(a), fem.form(L)
    t2 = time.perf_counter()
    res["jit_s"] = t2 - t1
    Q, _ = W.sub(0).collapse()
    # y = 0, 1 (and z = 0, 1 in 3D), plane by plane: a facet is marked when all its
    # vertices satisfy the marker, and a left-face triangle at the cube's edge has each
    # vertex on y = 0 or z = 0 without lying on either plane
    walls = np.unique(np.concatenate([
        dmesh.locate_entities_boundary(msh, fdim, lambda x, k=k, c=c: np.isclose(x[k], c))
        for k in range(1, dim) for c in (0.0, 1.0)]))
    dofs = fem.locate_dofs_topological((W.sub(0), Q), fdim, walls)
    bc = fem.dirichletbc(fem.Function(Q), dofs, W.sub(0))
    A = assemble_matrix(a_form, bcs=[bc])
    A.assemble()
    if symmetric:
        A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    res["assembly_s"] = (t1 - t0) + (time.perf_counter() - t2)
    res["unknowns"] = int(W.dofmap.index_map.size_global * W.dofmap.index_map_bs)
    res["rss_after_assembly_gb"] = peak_rss_gb()

    t = time.perf_counter()
    ksp = PETSc.KSP().create(msh.comm)
    ksp.setOperators(A)
    ksp.setType("preonly")
    pc = ksp.getPC()
    pc.setType("cholesky" if symmetric else "lu")
    pc.setFactorSolverType("mumps")
    ksp.setUp()
    res["factorization_s"] = time.perf_counter() - t

    b = create_vector(L_form)
    new = fem.Function(W)
    times, loads = [], []
    for _ in range(steps):
        t = time.perf_counter()
        with b.localForm() as local:
            local.set(0.0)
        assemble_vector(b, L_form)
        apply_lifting(b, [a_form], [[bc]])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        set_bc(b, [bc])
        loads.append(time.perf_counter() - t)
        ksp.solve(b, new.vector)
        new.x.scatter_forward()
        old.x.array[:] = new.x.array
        times.append(time.perf_counter() - t)
    res["step_best_s"], res["step_median_s"] = float(np.min(times)), float(np.median(times))
    res["steps_total_s"] = float(np.sum(times))
    res["step_load_median_s"] = float(np.median(loads))  # right-hand side (of the step)
    res["energy"] = float(fem.assemble_scalar(fem.form(CAPACITY * old.sub(1) * ufl.dx)))
    res["peak_rss_gb"] = peak_rss_gb()
    res["reason"] = int(ksp.getConvergedReason())
    return res


def from_file(path: str):
    """A mesh from an .npz of skfem's ``p`` (dim, points) and ``t`` (dim + 1, cells)."""
    import ufl
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    data = np.load(path)
    p, t = data["p"], data["t"]
    cell = "triangle" if p.shape[0] == 2 else "tetrahedron"
    domain = ufl.Mesh(ufl.VectorElement("Lagrange", cell, 1))
    return dmesh.create_mesh(MPI.COMM_WORLD, np.ascontiguousarray(t.T, dtype=np.int64),
                             np.ascontiguousarray(p.T), domain)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("steps", type=int)
    ap.add_argument("--mesh", help="an .npz of skfem's p and t (default: the n x n square)")
    ap.add_argument("--symmetric", action="store_true",
                    help="the symmetric (indefinite) form, factorized by MUMPS LDLT")
    args = ap.parse_args()
    import dolfinx

    res = run(args.n, args.steps, args.mesh, args.symmetric)
    res["dolfinx"] = dolfinx.__version__
    print("RESULT " + json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
