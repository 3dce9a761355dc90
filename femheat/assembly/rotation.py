r"""The rotation part of the GK vorticity form as the solvers see it: the vorticity
mass M_ω (:class:`VorticityMass`, lumped or consistent) and, where M_ω is consistent,
the flux block A = A₀ + Cᵀ M_ω⁻¹ C applied from its factors (:class:`RotationOperator`),
with the error for consumers that need A as a matrix (:func:`not_formed`). The
operators themselves are assembled in :mod:`femheat.assembly.vorticity`.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import FemheatInputError, SolverError

__all__ = ["AMD_OR_RCM", "RotationOperator", "VorticityMass", "entity_labels", "formed_resistance",
           "not_formed"]

_WHERE = "model.viscous = 'vorticity'"


#: A :class:`VorticityMass` ordering: AMD on the augmented matrix's own numbering or
#: after a reverse Cuthill-McKee renumbering, whichever AMD predicts fewer flops for
#: (:func:`femheat.solve.augmented.amd_or_rcm_permutation`).
AMD_OR_RCM = "amd-or-rcm"


class VorticityMass:
    r"""The vorticity mass M_ω = (ν⁻¹ω, φ) (+ slip-length wall terms) on the active
    vorticity DOFs, and what the solvers need of it.

    Lumped (2D degree 1 in closed domains, (r, z): a positive diagonal, ``values``), ω
    can be eliminated and A = A₀ + Cᵀ M_ω⁻¹ C formed; consistent (2D degree 0 P2,
    degree 1 next to walls or boundaries that leave ω free, 3D Nédélec edges: a sparse
    SPD ``matrix``), M_ω⁻¹ is dense and ω stays an unknown of every solve
    (:func:`~femheat.solve.augmented.factorize_augmented`)."""

    def __init__(self, mass: np.ndarray | sp.spmatrix, ordering: Optional[str] = None,
                 groups: Optional[np.ndarray] = None):
        """``mass``: the diagonal ∫φ_i/ν of a lumped mass (ν⁻¹ in W K⁻¹ m⁻³), or a
        sparse symmetric positive definite matrix. ``ordering``: CHOLMOD's
        fill-reducing ordering for the augmented systems with this mass
        (:func:`~femheat.solve.augmented.factorize_augmented`): ``"amd"``,
        ``"nesdis"`` (nested dissection) or :data:`AMD_OR_RCM`; default AMD for a
        lumped mass, nested dissection for a consistent one. ``groups``: a label per
        DOF, equal for the DOFs of one mesh entity (vertex, edge, face, cell), for
        :meth:`block_inverse`."""
        if sp.issparse(mass):
            self.lumped, self.matrix = False, sp.csr_matrix(mass)
            self.values = None
        else:
            self.lumped, self.values = True, np.asarray(mass, dtype=float)
            if self.values.ndim != 1 or not np.all(self.values > 0):
                raise SolverError("a lumped vorticity mass needs positive values")
            self.matrix = sp.diags(self.values).tocsr()
        self.ordering = ordering or ("amd" if self.lumped else "nesdis")
        self.groups = None if groups is None else np.asarray(groups)
        if self.groups is not None and self.groups.shape != (self.size,):
            raise SolverError("a vorticity mass needs one group label per DOF")
        self._solve: Optional[Callable[[np.ndarray], np.ndarray]] = None

    @property
    def size(self) -> int:
        return self.matrix.shape[0]

    def block(self, scale: float = 1.0) -> sp.csr_matrix:
        """−M_ω/``scale``: the second diagonal block of the augmented matrix of
        K₀ + ``scale`` Cᵀ M_ω⁻¹ C."""
        return (-(1.0 / scale) * self.matrix).tocsr()

    def inverse_times(self, x: np.ndarray) -> np.ndarray:
        """M_ω⁻¹ x (one sparse Cholesky of M_ω, kept, when it is not lumped)."""
        if self.lumped:
            return x / self.values if np.ndim(x) == 1 else x / self.values[:, None]
        if self._solve is None:
            from ..solve.factorization import factorize  # the solver layer, on demand

            self._solve = factorize(self.matrix.tocsc(), symmetric=True)
        return self._solve(x)

    def block_inverse(self) -> sp.csr_matrix:
        """The inverse of M_ω's blocks within ``groups`` (its diagonal's without them):
        a sparse SPD matrix spectrally equivalent to M_ω⁻¹ that keeps the pattern of
        Cᵀ diag(M_ω)⁻¹ C. The diagonally scaled second-order Nédélec element mass has
        condition number 41 (the third-order one's global mass ~3000); with these
        blocks in place of the diagonal the iterative solver's 3D steady counts drop
        from 330–339 to 258–270 at degree 0 (``femheat.solve.iterative``)."""
        if self.groups is None:
            return sp.diags(1.0 / self.matrix.diagonal()).tocsr()
        from .system import block_diagonal_inverse  # (system imports this module)

        order = np.argsort(self.groups, kind="stable")
        labels = self.groups[order]
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        sizes = np.diff(np.r_[starts, labels.size])
        inverse = sp.csr_matrix(self.matrix.shape)
        for size in np.unique(sizes):  # the groups of one size at a time
            first = starts[sizes == size]
            inverse = inverse + block_diagonal_inverse(
                self.matrix, order[first[:, None] + np.arange(size)].T)
        return inverse.tocsr()

    def formed(self, left: sp.spmatrix, right: sp.spmatrix) -> sp.csr_matrix:
        """leftᵀ M_ω⁻¹ right as a sparse matrix (lumped only)."""
        if not self.lumped:
            raise SolverError("the consistent (3D) vorticity mass has a dense inverse; "
                              "keep ω as an unknown instead of forming Cᵀ M_ω⁻¹ C")
        return (left.T @ sp.diags(1.0 / self.values) @ right).tocsr()


class RotationOperator(spla.LinearOperator):
    """The flux block A = A₀ + Cᵀ M_ω⁻¹ C of the vorticity form applied but not formed:
    with a consistent M_ω (3D; 2D degree 1 with walls that leave ω free; M_ω⁻¹ is
    dense) ``MixedSystem.resistance`` itself; with a lumped one, the steady solves'
    operator where ω is kept. The θ-scheme and the
    steady solves keep ω as an unknown instead; everything that needs A as a matrix
    is refused, naming the fix. ``right`` (default C): a sub-block A[rows, cols] is
    A₀[rows, cols] + C[:, rows]ᵀ M_ω⁻¹ C[:, cols] (:meth:`block`)."""

    def __init__(self, base: sp.csr_matrix, C: sp.csr_matrix, mass: VorticityMass,
                 right: Optional[sp.csr_matrix] = None):
        super().__init__(dtype=float, shape=base.shape)
        self.base, self.C, self.mass = base, C, mass
        self.right = C if right is None else right

    def _matvec(self, x):
        return self.base @ x + self.C.T @ self.mass.inverse_times(self.right @ x)

    def _adjoint(self):
        return self

    def block(self, rows: np.ndarray, cols: np.ndarray) -> "RotationOperator":
        """A[rows][:, cols], applied from its factors (sliced once)."""
        return RotationOperator(self.base[rows][:, cols].tocsr(), self.C[:, rows].tocsr(),
                                self.mass, self.C[:, cols].tocsr())

    def __getitem__(self, key):
        raise not_formed("this operation")

    def diagonal(self) -> np.ndarray:
        """diag A₀ + Σ_k C_ki R_ki / m_k where M_ω is lumped (a square block); else the
        :func:`not_formed` error."""
        if not self.mass.lumped or self.shape[0] != self.shape[1]:
            raise not_formed("this operation")
        return self.base.diagonal() + np.asarray(
            self.C.multiply(self.right).T @ (1.0 / self.mass.values)).ravel()


def not_formed(what: str) -> FemheatInputError:
    """The error for a consumer that needs the formed flux block of a vorticity
    system with a consistent vorticity mass."""
    return FemheatInputError(
        f"{what} needs the flux block A as a matrix, which the vorticity form ({_WHERE}) "
        "does not form on tetrahedra, nor on triangles at degree 0, nor at degree 1 with "
        "no-slip, slip-length or tangential-flux walls or boundaries that heat crosses "
        "(its consistent vorticity mass has a dense inverse, so ω "
        "stays an unknown of steady, transient, frequency, memory and Landau runs and of "
        "frequency fits, direct or iterative); use viscous = 'penalty'")


def formed_resistance(system, what: str) -> sp.csr_matrix:
    """``system.resistance`` as a sparse matrix, or :func:`not_formed`'s error."""
    if isinstance(system.resistance, RotationOperator):
        raise not_formed(what)
    return system.resistance


def entity_labels(basis) -> np.ndarray:
    """A label per DOF of ``basis``: the mesh entity (vertex, edge, facet, cell) it
    belongs to (:class:`VorticityMass`'s groups; the copies of a slit's cut space,
    :mod:`.vorticity_slit`, one label each)."""
    dofs, mesh = basis.dofs, basis.mesh
    label = np.empty(basis.N, dtype=np.int64)
    offset = 0
    for name, count in (("nodal_dofs", mesh.p.shape[1]), ("edge_dofs", None),
                        ("facet_dofs", mesh.facets.shape[1]), ("interior_dofs", mesh.t.shape[1])):
        table = getattr(dofs, name)
        if table.size:
            label[table] = offset + np.arange(table.shape[1])[None, :]
        offset += table.shape[1] if count is None else count
    label[dofs.N:] = offset + np.arange(basis.N - dofs.N)  # a slit cut's copies, one each
    return label
