"""Sparse direct factorizations, with the symbolic work shared between matrices.

:func:`factorize` is the one entry point of every direct solve. Symmetric
(positive definite) matrices get a Cholesky factorization (CHOLMOD, supernodal or
simplicial, through scikit-sparse) where it is installed, and otherwise SuperLU with a
symmetric minimum-degree ordering on A + Aᵀ in its symmetric mode; both give the
same solution to round-off. Complex symmetric matrices (frequency domain) and
those CHOLMOD finds indefinite go to SuperLU's symmetric mode; where CHOLMOD is
the backend, with CHOLMOD's AMD ordering of the pattern instead of SuperLU's MMD
(less fill, faster: benchmarks/README.md, bench_fit_fdtr). The environment variable
``FEMHEAT_DIRECT_SOLVER=superlu`` forces SuperLU (``cholmod`` requires CHOLMOD).
Non-symmetric (thermal Hall) operators and indefinite systems use SuperLU's
general LU.

Supernodal or simplicial
------------------------
CHOLMOD factorizes either supernodally (dense BLAS kernels on blocks of columns) or
column by column (simplicial LDLᵀ). Which is cheaper depends on the factor and on
how many solves follow. On the MCV flux operators in 2D (RT0: 15-30 factor entries
per row, 15-170 flops per entry) the simplicial factorization is as fast or faster
up to ~250 000 unknowns and its back-substitution 2-3× faster at every size, but the
supernodal one factorizes 3× faster at 500 000-750 000 unknowns; on the GK operators
(BDM1, 100-210 entries per row) and on any 3D operator (tetrahedra: hundreds of flops
per entry) the supernodal factorization is 2-20× faster and its solves as fast or
faster. A time loop factorizes once and solves every step, so :func:`factorize`
takes the number of solves expected (``solves``; the θ-scheme, memory and Landau
steppers pass their step count, one-shot steady solves nothing) and
:func:`choose_cholmod_mode` picks the mode of least modelled cost, factorization +
``solves`` × solve (simplicial only where it saves 20 %), from the factor's size
given by SuiteSparse's AMD (``amd_l_order``: nnz(L) and the flop count): a linear
model in (flops, nnz(L), n) fitted to measurements (:data:`CHOLMOD_COST`,
benchmarks/README.md). The AMD ordering computed for these statistics is the one
CHOLMOD is given (it factorizes ``K[p][:, p]`` in natural order), so the ordering is
not computed twice and both modes eliminate in the same order.
``FEMHEAT_CHOLMOD_MODE=supernodal|simplicial`` forces a mode; where libamd cannot be
loaded the choice is CHOLMOD's supernodal default with its own AMD ordering. The
mode used is ``solve.mode``.

Shared symbolic factorization
-----------------------------
A factorization is an ordering and a symbolic analysis (which depend only on the
sparsity pattern) followed by the numeric elimination (which depends on the
values). The points of a parameter sweep over values -- a Kapitza resistance, a
conductivity, a time step, a relaxation time -- assemble matrices with the same
pattern and different values, so :class:`SymbolicCache` keeps the symbolic part of
recent patterns, keyed by a digest of (shape, column pointers, row indices, value
kind): a later matrix with that pattern skips the fill-reducing ordering and the
analysis. For CHOLMOD the cached object is the analysed factor
(``cholmod.analyze``, one per mode; each matrix then calls ``factor.cholesky(K)``)
and the AMD ordering with its statistics; for
SuperLU's symmetric mode it is the column permutation of the pattern (minimum
degree, computed by an incomplete factorization that keeps no fill: ``_mmd_ordering``),
with which every matrix of the pattern, the first included, is factorized under the
``NATURAL`` ordering. The numbers are the same as an unshared factorization's, and
bitwise the same whether or not the cache held the pattern.

Some matrices of a sweep do not change at all between points (the temperature
block of the augmented-Lagrangian solver depends on the mesh only, not on R_K):
a matrix whose pattern *and values* were factorized before is factorized once
more and then kept, so from its third request on it costs a digest of its values
(a few ms). Matrices seen once are never kept, so a sweep holds no extra numeric
factors of the matrices that change.

One cache lives in each process (:data:`SYMBOLIC`), so every point of a sweep
that runs in the same worker shares it; ``FEMHEAT_SYMBOLIC_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from typing import Any, Callable, NamedTuple, Optional

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spilu, splu

from ..errors import FemheatInputError, SolverError
from ..validation import setting
from .cholmod_mode import (CHOLMOD_COST, CHOLMOD_MODE_ENV, SIMPLICIAL_MARGIN, FillStatistics,
                           choose_cholmod_mode, cholmod_mode, fill_statistics)

__all__ = ["factorize", "direct_solver", "SymbolicCache", "SYMBOLIC", "DIRECT_SOLVER_ENV",
           "SYMBOLIC_CACHE_ENV", "CHOLMOD_ORDERING", "ordering_for", "CHOLMOD_MODE_ENV",
           "cholmod_mode",
           "choose_cholmod_mode", "fill_statistics", "FillStatistics", "STEPPING_SOLVES",
           "CHOLMOD_COST", "SIMPLICIAL_MARGIN",
           "pattern_digest", "values_digest"]

log = logging.getLogger(__name__)

#: Environment variable that picks the backend of symmetric factorizations:
#: ``"cholmod"``, ``"superlu"`` or unset/``"auto"`` (CHOLMOD where installed).
DIRECT_SOLVER_ENV = "FEMHEAT_DIRECT_SOLVER"

#: Environment variable: ``0`` turns the shared symbolic factorization off.
SYMBOLIC_CACHE_ENV = "FEMHEAT_SYMBOLIC_CACHE"

#: Fill-reducing ordering given to CHOLMOD. Approximate minimum degree: on the 2D
#: flux operators of the benchmarks METIS nested dissection saves ~5 % fill but its
#: ordering costs more than the whole AMD factorization (benchmarks/README.md).
CHOLMOD_ORDERING = "amd"


def ordering_for(dim: int) -> str:
    """The CHOLMOD fill-reducing ordering for the flux operators of a ``dim``-D mesh:
    AMD in 2D (above), METIS nested dissection ("nesdis") in 3D, where it gives
    0.5–0.63× AMD's fill and 2.3–2.7× faster supernodal factorizations of the GK
    step operators (BDM1 n = 12, 16; BDM2 n = 8 cubes; MCV: the same time, half the
    fill)."""
    return "nesdis" if dim == 3 else CHOLMOD_ORDERING

#: Back-substitutions assumed to follow a factorization made for time stepping when the
#: caller does not know its step count (a :class:`~femheat.solve.timestepping.ThetaScheme`
#: built by hand, the nonlocal steppers whose step count comes with ``run``).
STEPPING_SOLVES = 100

_BACKENDS = ("auto", "cholmod", "superlu")
_SUPERLU_SYMMETRIC = dict(SymmetricMode=True, DiagPivotThresh=0.0)


def _cholmod():
    """scikit-sparse's CHOLMOD module, or None where it is not installed."""
    try:
        from sksparse import cholmod
    except ImportError:  # optional: SuperLU is the fallback
        return None
    return cholmod


def direct_solver(backend: str | None = None) -> str:
    """The backend :func:`factorize` uses for symmetric matrices: ``"cholmod"`` or ``"superlu"``.

    ``backend`` (or, if None, the environment variable ``FEMHEAT_DIRECT_SOLVER``)
    is ``"auto"`` (CHOLMOD where scikit-sparse is installed, else SuperLU),
    ``"cholmod"`` or ``"superlu"``.
    """
    choice = setting(DIRECT_SOLVER_ENV, _BACKENDS, backend, "backend")
    if choice == "superlu":
        return "superlu"
    if _cholmod() is None:
        if choice == "cholmod":
            raise FemheatInputError(
                "the CHOLMOD direct solver was requested but scikit-sparse is not installed "
                "(pip install 'scikit-sparse<0.5' with SuiteSparse's headers, e.g. Debian's "
                "libsuitesparse-dev); unset FEMHEAT_DIRECT_SOLVER to use SuperLU")
        return "superlu"
    return "cholmod"


def values_digest(K: sp.csc_matrix, pattern: str) -> str:
    """A digest of the stored values of ``K`` added to its pattern digest."""
    h = hashlib.blake2b(digest_size=20)
    h.update(pattern.encode())
    h.update(np.ascontiguousarray(K.data).tobytes())
    return h.hexdigest()


def pattern_digest(K: sp.csc_matrix, tag: str = "") -> str:
    """A digest of the sparsity pattern of a CSC matrix with sorted indices.

    Two matrices with equal digests have the same shape, the same stored entries
    and the same value kind (real/complex); ``tag`` separates users of one pattern
    (backend, symmetric mode).
    """
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{tag}|{K.shape}|{K.dtype.kind}|{K.nnz}".encode())
    h.update(np.ascontiguousarray(K.indptr, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(K.indices, dtype=np.int32).tobytes())
    return h.hexdigest()


class SymbolicCache:
    """Least-recently-used store of symbolic factorizations, keyed by sparsity pattern.

    Parameters
    ----------
    maxsize
        Entries kept: per pattern an ordering and, for CHOLMOD, the AMD statistics
        (one entry) and the symbolic factor of each mode used (one entry per mode:
        O(nnz(L)) integers, no values).

    Attributes ``hits`` and ``misses`` count lookups since the last :meth:`clear`.
    """

    def __init__(self, maxsize: int = 16, numeric_maxsize: int = 2):
        self.maxsize = int(maxsize)
        self.numeric_maxsize = int(numeric_maxsize)
        self._store: OrderedDict[str, Any] = OrderedDict()
        self._numeric: OrderedDict[str, Any] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.numeric_hits = 0

    @staticmethod
    def enabled() -> bool:
        """False where ``FEMHEAT_SYMBOLIC_CACHE`` is ``0``/``off``/``false``."""
        value = os.environ.get(SYMBOLIC_CACHE_ENV, "1").strip().lower()
        return value not in ("0", "off", "false", "no")

    def get(self, key: str, count: bool = True) -> Optional[Any]:
        """The item stored under ``key`` or None; ``count=False``: not counted in
        ``hits``/``misses`` (auxiliary data such as the ordering statistics)."""
        with self._lock:
            item = self._store.get(key)
            if item is None:
                self.misses += count
                return None
            self._store.move_to_end(key)
            self.hits += count
            return item

    def put(self, key: str, item: Any) -> None:
        with self._lock:
            self._store[key] = item
            self._store.move_to_end(key)
            while len(self._store) > self.maxsize:
                self._store.popitem(last=False)

    def numeric(self, key: str) -> Optional[Any]:
        """A kept numeric factorization of the matrix with digest ``key``, or None.

        Records ``key``: the caller should :meth:`keep` its factorization when
        :meth:`seen_before` says the same matrix came before.
        """
        with self._lock:
            item = self._numeric.get(key)
            if item is not None:
                self._numeric.move_to_end(key)
                self.numeric_hits += 1
            return item

    def seen_before(self, key: str) -> bool:
        """Whether a matrix with values digest ``key`` was factorized before (and note it)."""
        with self._lock:
            seen = key in self._seen
            self._seen[key] = None
            self._seen.move_to_end(key)
            while len(self._seen) > 64:
                self._seen.popitem(last=False)
            return seen

    def keep(self, key: str, item: Any) -> None:
        with self._lock:
            self._numeric[key] = item
            while len(self._numeric) > self.numeric_maxsize:
                self._numeric.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
            self._numeric.clear()
            self._seen.clear()
            self.hits = self.misses = self.numeric_hits = 0

    def __len__(self) -> int:
        return len(self._store)


#: The process-wide cache :func:`factorize` uses.
SYMBOLIC = SymbolicCache()


def _checked(solve: Callable[[np.ndarray], np.ndarray], dtype=float
             ) -> Callable[[np.ndarray], np.ndarray]:
    def checked(b: np.ndarray) -> np.ndarray:
        x = solve(np.asarray(b, dtype=dtype))
        if not np.all(np.isfinite(x)):
            raise SolverError("linear solve produced non-finite values; the system is "
                              "singular or badly scaled")
        return x

    checked.backend = getattr(solve, "backend", "superlu")
    checked.mode = getattr(solve, "mode", None)
    checked.shared_symbolic = getattr(solve, "shared_symbolic", False)
    return checked


class _CholmodPlan(NamedTuple):
    mode: str                       # "supernodal" or "simplicial"
    perm: Optional[np.ndarray]      # AMD or nested-dissection ordering (None: CHOLMOD's own)
    stats: Optional[FillStatistics]
    ordering: str = CHOLMOD_ORDERING  # the name of ``perm``'s ordering


def _cholmod_plan(K: sp.csc_matrix, key: Optional[str], solves: int,
                  ordering: str = CHOLMOD_ORDERING) -> _CholmodPlan:
    """The ordering and the factorization mode of ``K`` (its AMD statistics shared by
    pattern digest ``key``; None: not shared). ``ordering`` other than AMD (nested
    dissection in 3D): that permutation, shared likewise, and the supernodal mode
    unless ``FEMHEAT_CHOLMOD_MODE`` names one (3D factors are large)."""
    requested = cholmod_mode()
    if ordering != CHOLMOD_ORDERING:
        perm = SYMBOLIC.get(f"{ordering}|{key}", count=False) if key is not None else None
        if perm is None:
            perm = _cholmod_ordering(K, ordering)
            if key is not None:
                SYMBOLIC.put(f"{ordering}|{key}", perm)
        return _CholmodPlan("supernodal" if requested == "auto" else requested, perm, None,
                            ordering)
    ordered = SYMBOLIC.get(f"amd|{key}", count=False) if key is not None else None
    if ordered is None:
        ordered = fill_statistics(K) or (None, None)
        if key is not None:
            SYMBOLIC.put(f"amd|{key}", ordered)
    stats, perm = ordered
    if requested != "auto":
        mode = requested
    elif stats is None:  # no libamd: CHOLMOD's own choice for a sparse factor
        mode = "supernodal"
    else:
        mode = choose_cholmod_mode(stats, solves)
    return _CholmodPlan(mode, perm, stats)


def _symmetric_permutation(K: sp.csc_matrix, p: np.ndarray) -> sp.csc_matrix:
    """``K[p][:, p]`` for a structurally symmetric CSC matrix (columns taken, rows renumbered)."""
    Kp = K[:, p]
    pinv = np.empty_like(p)
    pinv[p] = np.arange(p.size, dtype=p.dtype)
    Kp = sp.csc_matrix((Kp.data, pinv[Kp.indices].astype(Kp.indices.dtype), Kp.indptr),
                       shape=K.shape)
    Kp.has_sorted_indices = False
    Kp.sort_indices()
    return Kp


def _cholmod_solve(K: sp.csc_matrix, key: Optional[str], plan: _CholmodPlan):
    """CHOLMOD's ``solve_A`` in ``plan.mode``, the symbolic analysis shared by pattern
    digest ``key`` (None: not shared); None if the matrix is not positive definite.

    With an AMD ordering in the plan, CHOLMOD factorizes ``K[p][:, p]`` in its natural
    order (the ordering is not computed twice)."""
    cholmod = _cholmod()
    share = key is not None
    key = f"cholmod|{plan.mode}|{plan.ordering}|{key}"
    symbolic = SYMBOLIC.get(key) if share else None
    p = plan.perm
    A = K if p is None else _symmetric_permutation(K, p)
    try:
        if symbolic is None:
            symbolic = cholmod.analyze(A, mode=plan.mode, ordering_method=(
                CHOLMOD_ORDERING if p is None else "natural"))
            if share:
                SYMBOLIC.put(key, symbolic)
            reused = False
        else:
            reused = True
        factor = symbolic.cholesky(A)
    except cholmod.CholmodNotPositiveDefiniteError:
        log.debug("CHOLMOD: matrix not positive definite; SuperLU's symmetric mode instead")
        return None
    del A

    if p is None:
        def solve(b: np.ndarray) -> np.ndarray:
            return factor.solve_A(b)
    else:
        def solve(b: np.ndarray) -> np.ndarray:
            b = np.asarray(b)
            x = np.empty(b.shape, dtype=np.result_type(b.dtype, K.dtype))
            x[p] = factor.solve_A(b[p])
            return x

    solve.backend = "cholmod"
    solve.mode = plan.mode
    solve.shared_symbolic = reused
    return solve


class _Permutation:
    """The symmetric permutation K[p][:, p] of one sparsity pattern as a gather of the
    values: the permuted pattern and ``order`` (permuted CSC data = K.data[order]) are
    computed once from the positions, so a later matrix with the pattern costs one
    indexing of its values instead of two sparse row/column selections (~1.7 ms of
    a ~40 ms complex factorization at 12k unknowns)."""

    def __init__(self, K: sp.csc_matrix, p: np.ndarray):
        self.p = p
        pos = sp.csc_matrix((np.arange(1, K.nnz + 1, dtype=float), K.indices, K.indptr),
                            shape=K.shape)
        permuted = sp.csc_matrix(pos[p][:, p])
        permuted.sort_indices()
        self.order = permuted.data.astype(np.int64) - 1
        self.indices, self.indptr = permuted.indices, permuted.indptr
        self.shape = K.shape
        if permuted.nnz != K.nnz:  # pragma: no cover - K is canonical (factorize)
            self.order = None

    def apply(self, K: sp.csc_matrix) -> sp.csc_matrix:
        """K[p][:, p] in CSC with sorted indices, for K with the pattern of the first."""
        if self.order is None:
            return sp.csc_matrix(K[self.p][:, self.p])
        out = sp.csc_matrix((K.data[self.order], self.indices, self.indptr), shape=self.shape)
        out.has_sorted_indices = True
        return out


def _cholmod_ordering(K: sp.csc_matrix, ordering: str = CHOLMOD_ORDERING) -> np.ndarray:
    """CHOLMOD's fill-reducing ordering (default :data:`CHOLMOD_ORDERING`) of the pattern
    of a structurally symmetric K, real or complex: p with K[p][:, p] the ordered
    matrix. Without METIS in CHOLMOD, "nesdis" falls back to AMD."""
    pattern = sp.csc_matrix((np.ones(K.nnz), K.indices, K.indptr), shape=K.shape)
    pattern = sp.csc_matrix(pattern + pattern.T + sp.identity(K.shape[0], format="csc"))
    cholmod = _cholmod()
    try:
        return np.asarray(cholmod.analyze(pattern, ordering_method=ordering).P())
    except cholmod.CholmodError:
        if ordering == CHOLMOD_ORDERING:
            raise
        return np.asarray(cholmod.analyze(pattern, ordering_method=CHOLMOD_ORDERING).P())


def _mmd_ordering(K: sp.csc_matrix) -> np.ndarray:
    """SuperLU's minimum-degree ordering on A + Aᵀ (after its elimination-tree
    postorder) as p with K[p][:, p] the ordered matrix, without a full factorization:
    an incomplete factorization that drops every off-diagonal entry computes the same
    column permutation (about a sixth of the LU's time on a 120k RT0 system).

    The first factorization of a pattern is therefore the same arithmetic as every later
    one that reuses the ordering (the permuted matrix, ``NATURAL``): results do not
    depend on what was factorized before in the process (a run resumed in a warm process
    equals a fresh run bitwise). Factorizing with ``MMD_AT_PLUS_A`` directly, then
    reusing its permutation, differed in the last bits (1e-13 of T)."""
    try:
        ilu = spilu(K, permc_spec="MMD_AT_PLUS_A", drop_tol=1e300, fill_factor=1.0,
                    options=_SUPERLU_SYMMETRIC)
        perm = ilu.perm_c
    except RuntimeError:  # a zero pivot in the diagonal-only factor
        perm = splu(K, permc_spec="MMD_AT_PLUS_A", options=_SUPERLU_SYMMETRIC).perm_c
    return np.argsort(perm)


def _superlu_symmetric(K: sp.csc_matrix, key: Optional[str], ordering: str = "mmd",
                       cholmod_ordering: str = CHOLMOD_ORDERING):
    """SuperLU in symmetric mode; the fill-reducing ordering shared by pattern digest.

    ``ordering`` ``"mmd"``: SuperLU's minimum degree on A + Aᵀ; ``"cholmod"``:
    CHOLMOD's (``cholmod_ordering``: AMD, or nested dissection for 3D meshes) on the
    same pattern, computed by CHOLMOD's analysis and given to SuperLU as a symmetric
    permutation (AMD: ~10 % less fill and ~35 % less time than MMD on the complex
    FDTR matrices of benchmarks/README.md)."""
    share = key is not None
    if ordering == "cholmod":
        ordering = f"cholmod-{cholmod_ordering}"
    key = f"superlu-sym|{ordering}|{key}"
    cached = SYMBOLIC.get(key) if share else None
    if cached is None:
        if ordering == "mmd":
            cached = _Permutation(K, _mmd_ordering(K))
        else:
            cached = _Permutation(K, _cholmod_ordering(K, cholmod_ordering))
        if share:
            SYMBOLIC.put(key, cached)
        reused = False
    else:
        reused = True
    p = cached.p
    lu = splu(cached.apply(K), permc_spec="NATURAL", options=_SUPERLU_SYMMETRIC)

    def solve(b: np.ndarray) -> np.ndarray:
        b = np.asarray(b)
        x = np.empty(b.shape, dtype=np.result_type(b.dtype, K.dtype))
        x[p] = lu.solve(b[p])
        return x

    solve.backend, solve.shared_symbolic = "superlu", reused
    return solve


def factorize(matrix: sp.spmatrix, symmetric: bool,
              backend: str | None = None, *, share_symbolic: bool | None = None,
              solves: int | None = None, repeats: bool = True,
              ordering: str = CHOLMOD_ORDERING) -> Callable[[np.ndarray], np.ndarray]:
    """Factorize once and return ``solve(b)``; raises :class:`SolverError` if singular.

    Parameters
    ----------
    matrix
        Square sparse matrix, real or complex.
    symmetric
        True for a symmetric (positive definite) matrix: Cholesky with CHOLMOD where
        installed and the matrix is real (only the lower triangle is read), else
        SuperLU in symmetric mode with a minimum-degree ordering on A + Aᵀ (CHOLMOD's
        AMD ordering where CHOLMOD is the backend). A matrix CHOLMOD finds not
        positive definite goes to SuperLU. False: SuperLU's
        general LU (COLAMD).
    backend
        ``"auto"``, ``"cholmod"`` or ``"superlu"`` for symmetric matrices; default the
        environment variable ``FEMHEAT_DIRECT_SOLVER`` (see :func:`direct_solver`).
    share_symbolic
        Reuse (and store) the ordering and symbolic analysis of an earlier matrix
        with the same sparsity pattern (:data:`SYMBOLIC`); default True unless
        ``FEMHEAT_SYMBOLIC_CACHE=0``. Symmetric matrices only: COLAMD's LU pivots
        on values.
    solves
        How many solves are expected to follow (a time loop: its step count; default 1,
        a one-shot solve). With CHOLMOD it picks the supernodal or the simplicial
        factorization, whichever the cost model of :func:`choose_cholmod_mode` finds
        cheaper for one factorization and that many solves, unless
        ``FEMHEAT_CHOLMOD_MODE`` names one.
    repeats
        Whether the same matrix (pattern and values) may be factorized again: then
        its values are digested to find or keep a numeric factorization. False
        skips the digest (a few ms per 10⁵ complex entries) for callers whose
        matrices never repeat, e.g. a fit's K(ω, p) at new parameters.
    ordering
        CHOLMOD's fill-reducing ordering of a symmetric matrix: ``"amd"`` (the
        default) or ``"nesdis"`` (nested dissection, for 3D meshes: :func:`ordering_for`);
        a complex symmetric matrix takes it too (as SuperLU's symmetric permutation).

    The returned function has attributes ``backend`` (the solver used), ``mode``
    (CHOLMOD's ``"supernodal"`` or ``"simplicial"``; None for SuperLU) and
    ``shared_symbolic`` (True when the symbolic work came from the cache). With
    sharing on, a matrix factorized twice before (same pattern, same values, same
    mode) is not factorized again: the kept factorization is returned.
    """
    K = sp.csc_matrix(matrix)
    K.sum_duplicates()  # canonical: sorted indices, no duplicate entries
    share = SymbolicCache.enabled() if share_symbolic is None else bool(share_symbolic)
    complex_ = np.iscomplexobj(K.data)
    solver = direct_solver(backend)
    pkey = vkey = None
    if share:
        pkey = pattern_digest(K)
    plan = None
    if symmetric and not complex_ and solver == "cholmod":
        plan = _cholmod_plan(K, pkey, 1 if solves is None else int(solves), ordering)
    if share and repeats:
        vkey = values_digest(K, f"{pkey}|{symmetric}|{solver}|{plan and plan.mode}")
        kept = SYMBOLIC.numeric(vkey)
        if kept is not None:
            return kept
    solve = _factorize(K, symmetric, plan, pkey, solver, ordering)
    if vkey is not None and SYMBOLIC.seen_before(vkey):
        SYMBOLIC.keep(vkey, solve)
    return solve


def _factorize(K: sp.csc_matrix, symmetric: bool, plan: Optional[_CholmodPlan],
               pkey: Optional[str], solver: str, ordering: str = CHOLMOD_ORDERING
               ) -> Callable[[np.ndarray], np.ndarray]:
    try:
        if plan is not None:
            solve = _cholmod_solve(K, pkey, plan)
            if solve is not None:
                return _checked(solve)
        if symmetric:
            solve = _superlu_symmetric(K, pkey, "cholmod" if solver == "cholmod" else "mmd",
                                       ordering)
        else:
            solve = splu(K, permc_spec="COLAMD").solve
    except RuntimeError as exc:
        raise SolverError(f"sparse factorization failed ({exc}); the system is singular "
                          "-- check boundary conditions and material data") from exc
    return _checked(solve, K.dtype)
