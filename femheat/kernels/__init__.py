"""Nonlocal kernel conduction (seed 004 eq. 35): q = −ξκ∇T − (1−ξ)∫Z(r,R)∇T(R) dR.

* :mod:`~femheat.kernels.functions` -- radial profiles g (Gaussian, Yukawa, power law,
  tabulated, callable), normalized in the mesh dimension, with symbols and moments;
* :mod:`~femheat.kernels.quadrature` -- cell-pair integrals W[K,K'] = ∫_K∫_K' g,
  singular rules for touching cells;
* :mod:`~femheat.kernels.operator` -- :class:`NonlocalOperator`, a(T, w) = Gᵀ S W S G T
  applied matrix-free (dense oracle, sparse cut-off, hierarchical matrix);
* :mod:`~femheat.kernels.moments` -- generalized conductivity tensors κ⁽ⁿ⁾ (seed 004
  eq. 36), equivalent Guyer–Krumhansl lengths, interface conductance (eq. 41);
* :mod:`~femheat.kernels.conductance_map` -- eq. 41 per facet of an interface, handed to
  the mixed model as a Kapitza resistance that varies along the interface;
* :mod:`~femheat.kernels.mfp` -- kernels from a mean-free-path spectrum (gray and
  spectral relaxation-time BTE, BENCHMARKS N6) as positive Yukawa mixtures;
* :mod:`~femheat.kernels.general` -- kernels that are not radial or not positive:
  the symbol check of sign-changing tables, point-pair tables Z(x, X) on 1D meshes.

Their pieces live in smaller modules, re-exported by the modules above and by
``hmatrix`` and ``solvers``: ``radial``/``tabulated`` (kernel base class, user kernels),
``simplex_rules``/``singular`` (reference rules, near-pair rules),
``cell_data``/``pairs``/``images``/``lattice`` (operator pieces),
``hmatrix_build``/``hmatrix_linalg`` (hierarchical matrix) and
``solver_base``/``well_posedness``/``krylov``/``transient`` (steady and transient solvers).

This subpackage is not imported by ``import femheat`` (it pulls in the quadrature
machinery); import it explicitly: ``from femheat.kernels import NonlocalOperator``.
"""

from __future__ import annotations

from .conductance_map import kapitza_conductance_map, kapitza_from_kernel
from .functions import (CallableKernel, GaussianKernel, PowerLawKernel, RadialKernel,
                        TabulatedKernel, YukawaKernel)
from .general import PairKernelOperator, check_kernel_symbol
from .mfp import GrayBTEKernel, MFPSpectrumKernel, YukawaMixtureKernel
from .moments import (equivalent_gk_length, gaussian_interface_conductance,
                      interface_conductance, kernel_moment, moment_tensors, truncated_moments)
from .operator import NonlocalOperator, cell_gradient
from .quadrature import CellPairQuadrature

__all__ = [
    "CallableKernel", "CellPairQuadrature", "GaussianKernel", "GrayBTEKernel",
    "MFPSpectrumKernel", "NonlocalOperator", "PairKernelOperator", "PowerLawKernel",
    "RadialKernel", "TabulatedKernel", "YukawaKernel", "YukawaMixtureKernel",
    "cell_gradient", "check_kernel_symbol",
    "equivalent_gk_length", "gaussian_interface_conductance", "interface_conductance",
    "kapitza_conductance_map", "kapitza_from_kernel", "kernel_moment", "moment_tensors",
    "truncated_moments",
]
