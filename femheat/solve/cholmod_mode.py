"""Which of CHOLMOD's numeric factorizations, supernodal or simplicial, a matrix gets:
the fill statistics of its AMD ordering and a cost model fitted to femheat's operators.

Used by :func:`femheat.solve.factorization.factorize` (its module docstring explains
the choice and the measurements); split from it to keep each module small.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import logging
import os
from typing import NamedTuple, Optional

import numpy as np
import scipy.sparse as sp

from ..validation import setting

__all__ = ["CHOLMOD_MODE_ENV", "cholmod_mode", "FillStatistics", "fill_statistics",
           "CHOLMOD_COST", "SIMPLICIAL_MARGIN", "choose_cholmod_mode"]

log = logging.getLogger(__name__)

#: Environment variable that picks CHOLMOD's numeric factorization: ``"supernodal"``,
#: ``"simplicial"`` or unset/``"auto"`` (chosen per matrix by :func:`choose_cholmod_mode`).
CHOLMOD_MODE_ENV = "FEMHEAT_CHOLMOD_MODE"

_MODES = ("auto", "supernodal", "simplicial")


def _cholmod():
    """scikit-sparse's CHOLMOD module, or None where it is not installed."""
    try:
        from sksparse import cholmod
    except ImportError:
        return None
    return cholmod


def cholmod_mode(mode: str | None = None) -> str:
    """CHOLMOD's factorization requested by ``mode`` or, if None, ``FEMHEAT_CHOLMOD_MODE``:
    ``"auto"`` (default), ``"supernodal"`` or ``"simplicial"``."""
    return setting(CHOLMOD_MODE_ENV, _MODES, mode, "mode")


class FillStatistics(NamedTuple):
    """Size of the Cholesky factor of a matrix in approximate-minimum-degree order."""

    n: int          #: dimension
    lnz: float      #: nonzeros of L, diagonal included
    flops: float    #: multiply-subtract pairs of the numeric factorization (LDLᵀ)


_LIBAMD: list = []  # [ctypes library or None], loaded once


def _libamd():
    """SuiteSparse's AMD (the library CHOLMOD orders with), or None where it cannot be loaded."""
    if not _LIBAMD:
        lib = None
        names = [ctypes.util.find_library("amd")]
        cholmod = _cholmod()
        if cholmod is not None:  # wheels ship their own copy next to the extension
            here = os.path.dirname(os.path.dirname(os.path.abspath(cholmod.__file__)))
            names += sorted(glob.glob(os.path.join(here, "*sparse*.libs", "libamd*")))
        for name in filter(None, names):
            try:
                lib = ctypes.CDLL(name)
                fn = lib.amd_l_order
            except (OSError, AttributeError):
                lib = None
                continue
            i64 = np.ctypeslib.ndpointer(np.int64, flags="C_CONTIGUOUS")
            f64 = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
            fn.restype = ctypes.c_int64
            fn.argtypes = [ctypes.c_int64, i64, i64, i64, f64, f64]
            break
        _LIBAMD.append(lib)
    return _LIBAMD[0]


def fill_statistics(K: sp.csc_matrix) -> Optional[tuple[FillStatistics, np.ndarray]]:
    """AMD ordering of the (structurally symmetric, sorted CSC) ``K`` and its factor's size.

    Returns ``(FillStatistics, p)`` with ``K[p][:, p]`` the ordered matrix, from
    SuiteSparse's ``amd_l_order`` with CHOLMOD's defaults (dense rows > 10 √n,
    aggressive absorption); its ``lnz`` and flop count are exact for this ordering
    up to AMD's approximate degrees (slight upper bounds). None where libamd cannot
    be loaded.
    """
    lib = _libamd()
    n = K.shape[0]
    if lib is None or n == 0:
        return None
    p = np.empty(n, dtype=np.int64)
    control = np.array([10.0, 1.0, 0.0, 0.0, 0.0])
    info = np.zeros(20)
    status = lib.amd_l_order(n, np.ascontiguousarray(K.indptr, dtype=np.int64),
                             np.ascontiguousarray(K.indices, dtype=np.int64), p, control, info)
    if status < 0:  # out of memory or invalid: CHOLMOD orders by itself
        log.debug("amd_l_order failed (status %d)", status)
        return None
    return FillStatistics(n, float(info[9]) + n, float(info[11])), p


#: Cost model of CHOLMOD's two factorizations [s]: coefficients of (flops, nnz(L), n) for the
#: symbolic analysis + numeric factorization and for one back-substitution. Fitted (non-
#: negative least squares on relative errors) to 19 operators femheat builds -- MCV and GK
#: θ-scheme flux operators, 2D (2 200-750 000 unknowns) and 3D tetrahedra (2 200-186 000)
#: -- with one OpenBLAS thread, process CPU time (``benchmarks/bench_cholmod_mode.py``,
#: benchmarks/README.md). The fit is within -35…+50 % of a measured factorization and
#: -50…+80 % of a (noisier) solve, but the choice is robust: with
#: :data:`SIMPLICIAL_MARGIN`, for 1, 10, 100 and 1000 solves it picks the measured cheaper
#: mode in 71 of the 76 (operator, count) pairs; the other five lie near the break-even,
#: where the pick costs 1.10-1.51× the other. Another BLAS (the reference one: supernodal
#: ~2-4× slower) would move the break-even.
CHOLMOD_COST = {
    "supernodal": {"factor": (3.77e-11, 6.59e-08, 2.01e-06), "solve": (2.23e-12, 0.0, 1.60e-07)},
    "simplicial": {"factor": (1.72e-09, 0.0, 7.77e-07), "solve": (4.94e-13, 1.55e-09, 3.40e-08)},
}


#: The simplicial factorization is chosen only where its modelled cost is below this
#: fraction of the supernodal one: it is memory-bound, and its time varied 1.4× between
#: runs on a shared machine (7.3-10.3 s at 750 000 2D unknowns) where the supernodal one
#: varied 1.25× (2.5-3.1 s); and a run that stops early has paid the factorization in
#: full. Near the break-even CHOLMOD's own (supernodal) choice is kept.
SIMPLICIAL_MARGIN = 0.8


def choose_cholmod_mode(stats: FillStatistics, solves: int = 1) -> str:
    """``"simplicial"`` or ``"supernodal"``: the one with the smaller modelled cost of one
    factorization followed by ``solves`` back-substitutions (:data:`CHOLMOD_COST`),
    simplicial only if it saves at least 20 % (:data:`SIMPLICIAL_MARGIN`).

    The supernodal factorization runs dense BLAS kernels on column blocks: it wins where
    the factor is dense (many flops per stored entry: large 2D meshes, GK's BDM1
    operators, any 3D mesh), and its solves are then as fast or faster; the simplicial
    LDLᵀ has no block overhead, so on a sparse factor (2D MCV) its factorization is as
    fast or faster and its back-substitution 2-3× faster.
    """
    def cost(mode: str) -> float:
        c = CHOLMOD_COST[mode]
        x = (stats.flops, stats.lnz, stats.n)
        return float(np.dot(c["factor"], x) + max(int(solves), 1) * np.dot(c["solve"], x))

    return ("simplicial" if cost("simplicial") < SIMPLICIAL_MARGIN * cost("supernodal")
            else "supernodal")
