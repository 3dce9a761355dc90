r"""Solves with K₀ + Cᵀ M_ω⁻¹ C through the quasi-definite augmented system.

The GK vorticity form (:mod:`femheat.assembly.vorticity`) adds to the flux
operator the rotation term Cᵀ M_ω⁻¹ C (C: weak rot onto the vorticity space, M_ω
its mass, :class:`~femheat.assembly.rotation.VorticityMass`: consistent P2 in 2D at
degree 0, lumped P3 at degree 1 in closed domains and consistent next to walls and
boundaries that leave ω free, the lumped stream mass in (r, z), consistent Nédélec in
3D; where it is consistent its inverse is dense and this is the only way).
Formed (2D), it couples each edge with every edge of the cells around its two
vertices: ~6× the entries of an MCV step operator and ~6× its Cholesky fill.
Keeping ω = M_ω⁻¹ C x as an unknown instead,

.. math::

    \begin{pmatrix} K_0 & C^\top \\ C & -M_\omega \end{pmatrix}
    \begin{pmatrix} x \\ -\omega \end{pmatrix} =
    \begin{pmatrix} b \\ 0 \end{pmatrix}
    \quad\Longleftrightarrow\quad (K_0 + C^\top M_\omega^{-1} C)\, x = b ,

gives a symmetric quasi-definite matrix (K₀ positive definite, the second block
negative definite): it has an LDLᵀ factorization for every symmetric ordering
(Vanderbei 1995), so CHOLMOD's simplicial LDLᵀ applies
without pivoting (AMD with the ω block numbered first for the 2D degree-0 P2 mass, AMD
or RCM + AMD in (r, z), nested dissection at degree 1 and in 3D). CHOLMOD's
supernodal factorization (dense BLAS kernels on blocks of columns) is Cholesky only,
so where the factor is dense (3D) the same matrix in CHOLMOD's order goes to
SuperLU's supernodal LU without pivoting, which computes the same factorization
(U = DLᵀ) 2–5× faster (:func:`augmented_factor`; 3D degree 0, n = 8: 2.05 s against
11.2 s). Without CHOLMOD, SuperLU's LU with its own ordering and pivoting. A
second-block right-hand side, ``solve(b, b2)``, gives
(K₀ + s CᵀM_ω⁻¹C)⁻¹(b + s CᵀM_ω⁻¹ b2) without a solve with M_ω: the θ-scheme and the
memory model take their explicit rotation and lifting that way.

Measured with the former 2D degree-0 pair (RT0 × P0, lumped P1 vorticity, until
2026-12-06) on the bench_gk channel (l = 0.1, β = 2, no-slip walls,
backward-Euler step operator, process CPU, ``benchmarks/bench_gk.py``, n = 50 to
250, three runs): a step costs 0.33–0.57× the formed operator's and the
factorization 0.40–0.66×, so the GK vorticity step is 1.4–2.7× an MCV step (formed:
2.6–6.0×).
The augmented factor has ~3× fewer entries than the Cholesky factor of the formed
operator (6.6M against 19.4M at n = 180, AMD). The θ-scheme, the memory model's
eliminated step (modes of one shape) and the steady augmented Lagrangian use it
whenever the system keeps the factors (:func:`kept_rotation`: always where M_ω is
consistent, by default where it is lumped); with a lumped mass the frequency solver
and the memory model's coupled modes factorize the formed operator. The ordering and
symbolic analysis are shared by sparsity pattern through
:data:`~femheat.solve.factorization.SYMBOLIC`, as :func:`~femheat.solve.factorization.factorize`
shares them (``FEMHEAT_SYMBOLIC_CACHE=0`` turns both off).
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..assembly.rotation import AMD_OR_RCM, VorticityMass
from ..errors import SolverError
from ..validation import setting
from .cholmod_mode import fill_statistics
from .factorization import (SYMBOLIC, SymbolicCache, _symmetric_permutation, direct_solver,
                            pattern_digest)

__all__ = ["AMD_OR_RCM", "amd_or_rcm_permutation", "factorize_augmented", "kept_rotation",
           "prefer_augmented", "augmented_factor", "AUGMENTED_FACTOR_ENV",
           "LU_FLOPS_PER_ENTRY", "VORTICITY_SOLVE_ENV"]

log = logging.getLogger(__name__)

#: Environment variable choosing how the vorticity form is solved.
VORTICITY_SOLVE_ENV = "FEMHEAT_VORTICITY_SOLVE"

#: Environment variable choosing the numeric factorization of the augmented matrix
#: where CHOLMOD orders it: ``"auto"`` (default, :func:`augmented_factor`), ``"ldl"``
#: (CHOLMOD's simplicial LDLᵀ) or ``"lu"`` (SuperLU's supernodal LU on CHOLMOD's
#: ordering, without pivoting).
AUGMENTED_FACTOR_ENV = "FEMHEAT_AUGMENTED_FACTOR"

#: Flops per factor entry (AMD's count on the augmented matrix) from which
#: :func:`augmented_factor` takes the supernodal LU. Measured (process CPU, one BLAS
#: thread, the steady augmented matrix of ``benchmarks/bench_gk.py``'s channel, the
#: LDLᵀ against the LU on the same nested-dissection or AMD ordering): 3D degree 0,
#: n = 6 / 8 / 12: 373 / 701 / 1846 flops per entry, 0.80 / 11.2 / 90.0 s against
#: 0.41 / 2.05 / 20.4 s; degree 1, n = 4 / 6: 293 / 719, 0.97 / 15.3 s against 0.44 /
#: 3.57 s; 2D degree 0, n = 50 / 100: 71 / 107, 0.13 / 0.64 s against 0.13 / 0.49 s;
#: degree 1, n = 25 / 50: 49 / 97, 0.034 / 0.27 s against 0.055 / 0.27 s. The
#: solves cost the same (3D) or up to 1.7× more with the LU (2D, n = 50: 5.7 against
#: 3.3 ms), so 2D keeps the LDLᵀ.
LU_FLOPS_PER_ENTRY = 200.0

#: What ``FEMHEAT_AUGMENTED_FACTOR`` accepts (the first is the default).
FACTORS = ("auto", "ldl", "lu")


def amd_or_rcm_permutation(K: sp.csc_matrix) -> Optional[np.ndarray]:
    """A fill-reducing ordering p of the structurally symmetric, sorted CSC ``K``
    (``K[p][:, p]`` is factorized in its natural order): AMD's on ``K`` as numbered,
    or AMD's after a reverse Cuthill-McKee renumbering, whichever has the smaller
    predicted flop count. None where libamd cannot be loaded.

    AMD breaks ties by the input numbering, and the row-by-row numbering of a
    structured mesh can mislead it: on the (r, z) pipe of ``benchmarks/bench_gk.py``
    (n = 180, the vorticity form's steady augmented matrix, 129k rows) its LDLᵀ
    factor has 10.5M entries, 6.8M after RCM, 5.9M with METIS nested dissection.
    Nested dissection costs more to compute than it saves in one factorization
    there (1.57 s analysis and factorization against 1.06 s for this choice, process
    CPU), while on a gmsh mesh RCM adds fill (8.4M → 9.0M) and is not taken.
    """
    first = fill_statistics(K)
    if first is None:
        return None
    stats, p = first
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    r = reverse_cuthill_mckee(sp.csr_matrix(K), symmetric_mode=True).astype(np.int64)
    second = fill_statistics(_symmetric_permutation(K, r))
    if second is not None and second[0].flops < stats.flops:
        return r[second[1]]
    return p


def augmented_factor(aug: sp.csc_matrix) -> str:
    """``"lu"`` or ``"ldl"``: the numeric factorization of the augmented matrix ``aug``
    where CHOLMOD orders it (``FEMHEAT_AUGMENTED_FACTOR`` forces one).

    CHOLMOD factorizes an indefinite matrix only column by column (its simplicial
    LDLᵀ; the supernodal factorization, dense BLAS kernels on blocks of columns, is
    Cholesky only). Where the factor is dense (3D: hundreds of flops per entry) that
    is 2-5× slower than SuperLU's supernodal LU of the same matrix in the same
    ordering, without pivoting: a quasi-definite matrix has an LDLᵀ factorization in
    every symmetric order, and LU without pivoting computes it (U = DLᵀ), at twice
    the stored entries. ``"lu"`` where AMD's factor of ``aug`` takes at least
    :data:`LU_FLOPS_PER_ENTRY` flops per entry."""
    choice = setting(AUGMENTED_FACTOR_ENV, FACTORS)
    if choice != "auto":
        return choice
    stats = fill_statistics(aug)
    if stats is None:
        return "ldl"
    return "lu" if stats[0].flops >= LU_FLOPS_PER_ENTRY * stats[0].lnz else "ldl"


def _supernodal_lu(A: sp.csc_matrix) -> Callable[[np.ndarray], np.ndarray]:
    """SuperLU's LU of the quasi-definite ``A`` in its own order, without pivoting
    (:func:`augmented_factor`)."""
    try:
        lu = spla.splu(A, permc_spec="NATURAL", diag_pivot_thresh=0.0,
                       options=dict(SymmetricMode=True))
    except RuntimeError as exc:  # an exactly zero pivot
        raise SolverError(f"augmented LU factorization failed ({exc})") from None

    def solve(b: np.ndarray) -> np.ndarray:
        if np.iscomplexobj(b):  # a real factor: the parts one by one
            return lu.solve(np.ascontiguousarray(b.real)) + 1j * lu.solve(
                np.ascontiguousarray(b.imag))
        return lu.solve(b)
    return solve


def prefer_augmented() -> bool:
    """Whether to factorize the augmented system (default) or the formed operator:
    ``FEMHEAT_VORTICITY_SOLVE`` = ``"augmented"`` or ``"formed"`` chooses."""
    return setting(VORTICITY_SOLVE_ENV, ("augmented", "formed")) == "augmented"


def kept_rotation(system) -> Optional[tuple[sp.csr_matrix, VorticityMass]]:
    """The system's rotation factors (C, M_ω) if its solves keep ω as an unknown, else
    None: always where M_ω is consistent, by default where it is lumped
    (``FEMHEAT_VORTICITY_SOLVE=formed`` factorizes the formed operator there)."""
    rotation = system.rotation
    if rotation is None or not system.symmetric:
        return None
    prefer = prefer_augmented()  # validates FEMHEAT_VORTICITY_SOLVE either way
    return rotation if prefer or not rotation[1].lumped else None


def factorize_augmented(K0: sp.spmatrix, C: sp.spmatrix, mass: VorticityMass,
                        scale: float = 1.0, backend: str | None = None
                        ) -> Callable[[np.ndarray], np.ndarray]:
    """``solve(b)`` = (K₀ + ``scale`` Cᵀ M_ω⁻¹ C)⁻¹ b from the augmented system
    [[K₀, Cᵀ], [C, −M_ω/scale]] (module doc); ``solve(b, b2)`` takes ``b2`` as the
    second block's right-hand side, i.e. returns (K₀ + s CᵀM_ω⁻¹C)⁻¹ (b + s CᵀM_ω⁻¹ b2),
    s = ``scale``, without a solve with M_ω.

    K₀ (n × n) symmetric positive definite, C (m × n), ``mass`` the vorticity mass
    M_ω (m × m, lumped or consistent), ``scale`` > 0 (θ in a θ-scheme). The returned
    function has the attributes ``backend`` ("cholmod" or "superlu"), ``mode``
    ("ldl" with CHOLMOD) and ``augmented`` = True, as
    :func:`~femheat.solve.factorization.factorize`'s. Raises :class:`SolverError`
    if the factorization fails.
    """
    if mass.size != C.shape[0] or not scale > 0:
        raise SolverError("factorize_augmented needs one vorticity mass row per row of C "
                          "and scale > 0")
    n, m = K0.shape[0], C.shape[0]
    solver = direct_solver(backend)
    # AMD breaks ties by the numbering: with the ω block first its factor of the 2D
    # degree-0 augmented matrix on a structured free-slip square has 22 % fewer entries
    # (nnz(L)/nnz 3.66 against 4.70 at n = 100, 4.80 against 5.88 at n = 200; the
    # factorization 1.14 s against 1.50 s) and the same on no-slip, open and gmsh ones
    first = solver == "cholmod" and mass.ordering == "amd"
    blocks = ([[mass.block(scale), C], [C.T, K0]] if first
              else [[K0, C.T], [C, mass.block(scale)]])
    aug = sp.bmat(blocks, format="csc")
    aug.sum_duplicates()
    flux = slice(m, m + n) if first else slice(0, n)
    omega = slice(0, m) if first else slice(n, n + m)
    shared, perm = False, None
    if solver == "cholmod":
        from sksparse.cholmod import CholmodError, analyze

        # the mass's ordering (VorticityMass.ordering): AMD for the 2D degree-0 lumped
        # mass; AMD or RCM + AMD (AMD_OR_RCM) in (r, z); nested dissection (METIS) at
        # degree 1 and for the 3D Nédélec mass: half the fill and 3.5-4.9x faster there
        # (n = 12, 16 cubes). The analysis (ordering and symbolic factor) is shared by
        # sparsity pattern (SYMBOLIC): a time loop's Newton iterations, a sweep's or a
        # fit's points factorize one pattern many times
        ordering = mass.ordering
        key = None
        if SymbolicCache.enabled():
            key = (f"augmented|{ordering}|{setting(AUGMENTED_FACTOR_ENV, FACTORS)}|"
                   f"{pattern_digest(aug)}")
            cached = SYMBOLIC.get(key)
            if cached is not None:
                symbolic, ordering, perm, mode = cached
                shared = True
        if not shared and ordering == AMD_OR_RCM:
            perm = amd_or_rcm_permutation(aug)
            ordering = "natural" if perm is not None else "amd"
        A = aug if perm is None else _symmetric_permutation(aug, perm)
        try:
            if not shared:
                try:
                    symbolic = analyze(A, mode="simplicial", ordering_method=ordering)
                except CholmodError:
                    if ordering in ("amd", "natural"):
                        raise
                    # e.g. CHOLMOD built without METIS; a matrix that is not
                    # quasi-definite fails again below and is reported
                    ordering = "amd"
                    symbolic = analyze(A, mode="simplicial", ordering_method=ordering)
                # dense factors (3D): SuperLU's supernodal LU in CHOLMOD's order
                mode = augmented_factor(A)
                if key is not None:
                    SYMBOLIC.put(key, (symbolic, ordering, perm, mode))
            if mode == "lu":
                p = symbolic.P()
                perm = p if perm is None else perm[p]
                inner = _supernodal_lu(_symmetric_permutation(aug, perm))
            else:
                inner = symbolic.cholesky(A)
        except CholmodError as exc:  # a zero pivot: not quasi-definite after all
            raise SolverError(f"augmented LDL^T factorization failed ({exc})") from None
    else:  # LU with partial pivoting (the second block is negative definite)
        try:
            inner = spla.splu(aug, permc_spec="MMD_AT_PLUS_A",
                              options=dict(SymmetricMode=True)).solve
        except RuntimeError as exc:
            raise SolverError(f"augmented LU factorization failed ({exc})") from None
        mode = None

    def solve(b: np.ndarray, b2: np.ndarray | None = None) -> np.ndarray:
        rhs = np.zeros((n + m,) + np.shape(b)[1:], dtype=np.result_type(b, float))
        rhs[flux] = b
        if b2 is not None:
            rhs[omega] = b2
        if perm is None:
            return inner(rhs)[flux]
        x = np.empty_like(rhs)
        x[perm] = inner(rhs[perm])
        return x[flux]
    solve.backend, solve.mode, solve.augmented = solver, mode, True
    solve.shared_symbolic = shared
    log.debug("augmented %d + %d factorization (%s %s)", n, m, solver, mode or "")
    return solve
